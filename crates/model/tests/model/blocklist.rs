//! Blocklist domains: one canonical spelling, DNS's rules, and clear refusals.

use tocsin_model::{BlocklistError, DomainName, EntryState, RpzAction};

#[test]
fn domains_take_the_canonical_form_of_url_hosts() {
    for (input, want) in [
        ("Propaganda.Example", "propaganda.example"),
        ("propaganda.example.", "propaganda.example"),
        ("  www..propaganda.example ", "www.propaganda.example"),
        ("bücher.example", "xn--bcher-kva.example"),
        ("_dmarc.example", "_dmarc.example"),
    ] {
        assert_eq!(input.parse::<DomainName>().expect(input).as_str(), want, "{input}");
    }
}

#[test]
fn what_is_not_a_blockable_domain_is_refused_with_the_reason() {
    for (input, why) in [
        ("", "empty"),
        ("https://propaganda.example/", "without scheme"),
        ("propaganda.example:8080", "without scheme"),
        ("192.0.2.7", "an IP address"),
        ("0x7f.1", "an IP address"),
        ("example", "top-level domain alone"),
        ("-bad.example", "not starting or ending with '-'"),
        (&format!("{}.example", "a".repeat(64)), "1 to 63"),
        ("a b.example", "spaces"),
    ] {
        let err = input.parse::<DomainName>().expect_err(input);
        assert!(matches!(err, BlocklistError::Domain { .. }), "{input}: {err}");
        assert!(err.to_string().contains(why), "{input}: {err}");
    }
}

#[test]
fn actions_and_states_read_their_names_and_nothing_else() {
    assert_eq!("nxdomain".parse::<RpzAction>(), Ok(RpzAction::Nxdomain));
    assert_eq!("stop_page".parse::<RpzAction>().map(RpzAction::as_str), Ok("stop_page"));
    assert!("drop".parse::<RpzAction>().is_err());
    assert_eq!("lifted".parse::<EntryState>(), Ok(EntryState::Lifted));
    assert!("gone".parse::<EntryState>().is_err());
}

#[test]
fn public_suffixes_are_known_by_the_public_suffix_list() {
    for suffix in ["co.uk", "github.io", "com.au", "gouv.fr", "blogspot.com"] {
        assert!(suffix.parse::<DomainName>().expect(suffix).is_public_suffix(), "{suffix}");
    }
    for site in ["propaganda.co.uk", "someone.github.io", "videohost.example", "example.com", "police.gouv.fr"] {
        assert!(!site.parse::<DomainName>().expect(site).is_public_suffix(), "{site}");
    }
    let domain: DomainName = "propaganda.example".parse().expect("a domain");
    assert!(domain.covers("propaganda.example") && domain.covers("cdn.propaganda.example"));
    assert!(!domain.covers("notpropaganda.example") && !domain.covers("example"));
}
