//! Canonical URLs: the examples of Google's Safe Browsing documentation ("URLs and Hashing",
//! v4; the same list as the v2 protocol spec quoted in legal-requirements §7), Punycode against
//! RFC 3492 and the IANA IDN test domains, and properties every canonical form must have.

use proptest::prelude::*;
use tocsin_model::{CanonicalUrl, UrlError, punycode_label};

fn canonical(input: &[u8]) -> String {
    CanonicalUrl::parse(input).unwrap_or_else(|e| panic!("{}: {e}", String::from_utf8_lossy(input))).to_string()
}

/// Every example of the Safe Browsing documentation's canonicalisation section.
const SAFE_BROWSING: &[(&[u8], &str)] = &[
    (b"http://host/%25%32%35", "http://host/%25"),
    (b"http://host/%25%32%35%25%32%35", "http://host/%25%25"),
    (b"http://host/%2525252525252525", "http://host/%25"),
    (b"http://host/asdf%25%32%35asd", "http://host/asdf%25asd"),
    (b"http://host/%%%25%32%35asd%%", "http://host/%25%25%25asd%25%25"),
    (b"http://www.google.com/", "http://www.google.com/"),
    (
        b"http://%31%36%38%2e%31%38%38%2e%39%39%2e%32%36/%2E%73%65%63%75%72%65/%77%77%77%2E%65%62%61%79%2E%63%6F%6D/",
        "http://168.188.99.26/.secure/www.ebay.com/",
    ),
    (
        b"http://195.127.0.11/uploads/%20%20%20%20/.verify/.eBaysecure=updateuserdataxplimnbqmn-xplmvalidateinfoswqpcmlx=hgplmcx/",
        "http://195.127.0.11/uploads/%20%20%20%20/.verify/.eBaysecure=updateuserdataxplimnbqmn-xplmvalidateinfoswqpcmlx=hgplmcx/",
    ),
    (
        b"http://host%23.com/%257Ea%2521b%2540c%2523d%2524e%25f%255E00%252611%252A22%252833%252944_55%252B",
        "http://host%23.com/~a!b@c%23d$e%25f^00&11*22(33)44_55+",
    ),
    (b"http://3279880203/blah", "http://195.127.0.11/blah"),
    (b"http://www.google.com/blah/..", "http://www.google.com/"),
    (b"www.google.com/", "http://www.google.com/"),
    (b"www.google.com", "http://www.google.com/"),
    (b"http://www.evil.com/blah#frag", "http://www.evil.com/blah"),
    (b"http://www.GOOgle.com/", "http://www.google.com/"),
    (b"http://www.google.com.../", "http://www.google.com/"),
    (b"http://www.google.com/foo\tbar\rbaz\n2", "http://www.google.com/foobarbaz2"),
    (b"http://www.google.com/q?", "http://www.google.com/q?"),
    (b"http://www.google.com/q?r?", "http://www.google.com/q?r?"),
    (b"http://www.google.com/q?r?s", "http://www.google.com/q?r?s"),
    (b"http://evil.com/foo#bar#baz", "http://evil.com/foo"),
    (b"http://evil.com/foo;", "http://evil.com/foo;"),
    (b"http://evil.com/foo?bar;", "http://evil.com/foo?bar;"),
    (b"http://\x01\x80.com/", "http://%01%80.com/"),
    (b"http://notrailingslash.com", "http://notrailingslash.com/"),
    (b"http://www.gotaport.com:1234/", "http://www.gotaport.com/"),
    (b"  http://www.google.com/  ", "http://www.google.com/"),
    (b"http:// leadingspace.com/", "http://%20leadingspace.com/"),
    (b"http://%20leadingspace.com/", "http://%20leadingspace.com/"),
    (b"%20leadingspace.com/", "http://%20leadingspace.com/"),
    (b"https://www.securesite.com/", "https://www.securesite.com/"),
    (b"http://host.com/ab%23cd", "http://host.com/ab%23cd"),
    (b"http://host.com//twoslashes?more//slashes", "http://host.com/twoslashes?more//slashes"),
];

#[test]
fn every_safe_browsing_example_canonicalises_as_documented() {
    let mut wrong = Vec::new();
    for (input, want) in SAFE_BROWSING {
        let got = canonical(input);
        if got != *want {
            wrong.push(format!("{} -> {got}, want {want}", String::from_utf8_lossy(input)));
        }
    }
    assert!(wrong.is_empty(), "{} of {} wrong:\n{}", wrong.len(), SAFE_BROWSING.len(), wrong.join("\n"));
}

#[test]
fn dots_around_and_between_host_labels_are_stripped_and_collapsed() {
    for input in ["http://..www..google...com../", "http://.www.google.com./", "http://www.google.com.:80/"] {
        assert_eq!(canonical(input.as_bytes()), "http://www.google.com/", "{input}");
    }
}

#[test]
fn ipv4_in_every_legal_encoding_becomes_dotted_decimal() {
    for input in ["http://0xc37f000b/", "http://0303.0177.0.013/", "http://195.8323083/", "http://195.127.11/", "http://0xC3.0x7F.0.11/"] {
        assert_eq!(canonical(input.as_bytes()), "http://195.127.0.11/", "{input}");
    }
    // Out of range for an address: a name, kept as it is.
    assert_eq!(canonical(b"http://256.1.1.1/"), "http://256.1.1.1/");
    assert_eq!(canonical(b"http://4294967296/"), "http://4294967296/");
}

#[test]
fn ipv6_hosts_are_compressed_and_mapped_ipv4_becomes_ipv4() {
    assert_eq!(canonical(b"http://[2001:0DB8:0000::1]/x"), "http://[2001:db8::1]/x");
    assert_eq!(canonical(b"http://[2001:db8::1]:8443/x"), "http://[2001:db8::1]/x");
    assert_eq!(canonical(b"http://[::ffff:1.2.3.4]/"), "http://1.2.3.4/");
    assert_eq!(canonical(b"http://[64:ff9b::1.2.3.4]/"), "http://1.2.3.4/");
    // A bracketed host is judged once dots and port are gone, so a canonical form reads the same
    // again (found by the fixed-point property: `.[]\x0e` once gave `[]%0E`, then `[]`).
    assert_eq!(canonical(b"http://.[2001:DB8::1]./x"), "http://[2001:db8::1]/x");
    let odd = canonical(b".[]\x0e");
    assert_eq!(canonical(odd.as_bytes()), odd);
}

#[test]
fn user_info_and_ports_are_dropped_and_parts_are_reachable() {
    let url = CanonicalUrl::parse("HTTPS://user:secret@Media.Example.ORG:443/a/./b/../c.jpg?size=large#top").expect("parses");
    assert_eq!(url.as_str(), "https://media.example.org/a/c.jpg?size=large");
    assert_eq!((url.scheme(), url.host(), url.path_and_query()), ("https", "media.example.org", "/a/c.jpg?size=large"));
}

#[test]
fn international_hosts_become_punycode_as_browsers_send_them() {
    assert_eq!(canonical("http://München.example/".as_bytes()), "http://xn--mnchen-3ya.example/");
    assert_eq!(canonical("http://пример.рф/путь".as_bytes()), "http://xn--e1afmkfd.xn--p1ai/%D0%BF%D1%83%D1%82%D1%8C");
    // The same host typed percent-escaped arrives at the same form.
    assert_eq!(canonical(b"http://m%C3%BCnchen.example/"), "http://xn--mnchen-3ya.example/");
}

#[test]
fn punycode_matches_rfc_3492_and_the_iana_test_domains() {
    for (label, want) in [
        ("bücher", "bcher-kva"),
        ("münchen", "mnchen-3ya"),
        ("пример", "e1afmkfd"),
        ("рф", "p1ai"),
        ("测试", "0zwm56d"),
        ("테스트", "9t4b11yi5a"),
        ("испытание", "80akhbyknj4f"),
        ("-> $1.00 <-", "-> $1.00 <--"), // RFC 3492 §7.1 (R): basic code points only
    ] {
        assert_eq!(punycode_label(label), want, "{label}");
    }
}

#[test]
fn what_cannot_be_ordered_is_refused_with_the_reason() {
    assert_eq!(CanonicalUrl::parse(" \t\n"), Err(UrlError::Empty));
    assert_eq!(CanonicalUrl::parse("ftp://files.example/x"), Err(UrlError::Scheme("ftp".to_owned())));
    assert_eq!(CanonicalUrl::parse("javascript://alert(1)"), Err(UrlError::Scheme("javascript".to_owned())));
    // Written without "//", a scheme is still a scheme, not a host and a port.
    for (url, scheme) in [
        ("javascript:alert(1)", "javascript"),
        (" JavaScript:alert(document.cookie)", "javascript"),
        ("java%73cript:alert(1)", "javascript"),
        ("data:text/html,<script>alert(1)</script>", "data"),
        ("data:image/png;base64,iVBORw0KGgo=", "data"),
        ("mailto:desk@police.example", "mailto"),
        ("vbscript:msgbox", "vbscript"),
    ] {
        assert_eq!(CanonicalUrl::parse(url), Err(UrlError::Scheme(scheme.to_owned())), "{url}");
    }
    // A host with a port is a host; user info is read after a scheme and "//" only.
    assert_eq!(canonical(b"videohost.example:8080/v/1.jpg"), "http://videohost.example/v/1.jpg");
    assert_eq!(canonical(b"http://user:secret@videohost.example/v"), "http://videohost.example/v");
    assert_eq!(canonical(b"localhost:/x"), "http://localhost/x");
    assert_eq!(CanonicalUrl::parse("http:///path"), Err(UrlError::NoHost));
    assert_eq!(CanonicalUrl::parse("http://...:80/"), Err(UrlError::NoHost));
    assert_eq!(CanonicalUrl::parse(vec![b'a'; tocsin_model::MAX_URL_BYTES + 1]), Err(UrlError::TooLong));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// Canonicalising a canonical URL changes nothing, and the result is printable ASCII with
    /// no fragment, no space and no unescaped percent sign.
    #[test]
    fn canonical_forms_are_fixed_points_in_plain_ascii(input in proptest::collection::vec(any::<u8>(), 0..80)) {
        let Ok(first) = CanonicalUrl::parse(&input) else { return Ok(()) };
        let text = first.as_str();
        prop_assert!(text.bytes().all(|b| b.is_ascii_graphic()), "{text:?}");
        prop_assert!(!text.contains('#'));
        prop_assert!(text.starts_with("http://") || text.starts_with("https://"));
        prop_assert!(first.path_and_query().starts_with('/'));
        let again = CanonicalUrl::parse(text).expect("a canonical URL parses");
        prop_assert_eq!(again.as_str(), text);
    }

    /// Escaping any byte of the path with `%XX` names the same URL.
    #[test]
    fn an_escaped_spelling_is_the_same_url(path in "[a-zA-Z0-9/._~-]{0,30}", at in 0usize..30) {
        let plain = format!("http://example.org/{path}");
        let bytes = plain.as_bytes();
        let i = "http://example.org/".len() + at.min(path.len().saturating_sub(1));
        if i < bytes.len() {
            let escaped = format!("{}%{:02x}{}", &plain[..i], bytes[i], &plain[i + 1..]);
            prop_assert_eq!(CanonicalUrl::parse(&escaped).expect("parses"), CanonicalUrl::parse(&plain).expect("parses"));
        }
    }
}

fn expressions(url: &str) -> std::collections::BTreeSet<String> {
    CanonicalUrl::parse(url).expect("parses").expressions().into_iter().collect()
}

fn set(items: &[&str]) -> std::collections::BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// The lookup expressions of the Safe Browsing documentation's examples ("Suffix/prefix
/// expressions"): exactly those for short hosts and paths, a superset for long ones (Tocsin
/// takes every host suffix and more folders than Safe Browsing's four).
#[test]
fn a_url_is_looked_up_under_every_host_suffix_and_path_prefix_as_safe_browsing_does() {
    assert_eq!(
        expressions("http://a.b.c/1/2.html?param=1"),
        set(&["a.b.c/1/2.html?param=1", "a.b.c/1/2.html", "a.b.c/", "a.b.c/1/", "b.c/1/2.html?param=1", "b.c/1/2.html", "b.c/", "b.c/1/"])
    );
    let long = expressions("http://a.b.c.d.e.f.g/1.html");
    for e in ["a.b.c.d.e.f.g/1.html", "a.b.c.d.e.f.g/", "c.d.e.f.g/1.html", "c.d.e.f.g/", "f.g/1.html", "f.g/"] {
        assert!(long.contains(e), "{e} in {long:?}");
    }
    assert!(!long.iter().any(|e| e.starts_with("g/")), "a top-level domain alone is never an expression: {long:?}");
    assert_eq!(expressions("http://1.2.3.4/1/"), set(&["1.2.3.4/1/", "1.2.3.4/"]), "an IP address is looked up as itself only");
    assert_eq!(expressions("http://example.co.uk/"), set(&["example.co.uk/", "co.uk/"]));
}

/// What an order names is found however the request spells it: with any query when the order
/// has none, through escapes, dot segments and doubled slashes; with its own query only when it
/// names one; and a folder covers what is below it.
#[test]
fn an_entry_covers_every_spelling_of_its_url_and_nothing_beside_it() {
    let entry = CanonicalUrl::parse("https://media.videohost.example/v/1.jpg").expect("parses").expression();
    for request in [
        "https://media.videohost.example/v/1.jpg",
        "http://MEDIA.videohost.example:8080/v/1.jpg?x=1",
        "https://media.videohost.example/v/1.jpg?",
        "https://media.videohost.example/v/1.jpg?utm_source=mail&utm_medium=x",
        "https://media.videohost.example//v//1.jpg",
        "https://media.videohost.example/v/./1.jpg",
        "https://media.videohost.example/v/x/../1.jpg",
        "https://media.videohost.example/%76/%31.jpg",
        "https://media.videohost.example/v/1.jpg#top",
    ] {
        assert!(CanonicalUrl::parse(request).expect("parses").expressions().contains(&entry), "{request} is covered");
    }
    for request in
        ["https://media.videohost.example/v/1.jpg2", "https://media.videohost.example/v/10.jpg", "https://media.videohost.example/v/"]
    {
        assert!(!CanonicalUrl::parse(request).expect("parses").expressions().contains(&entry), "{request} is not covered");
    }
    let with_query = CanonicalUrl::parse("https://videohost.example/watch?v=abc").expect("parses").expression();
    assert!(CanonicalUrl::parse("https://videohost.example/watch?v=abc").expect("parses").expressions().contains(&with_query));
    assert!(!CanonicalUrl::parse("https://videohost.example/watch?v=abd").expect("parses").expressions().contains(&with_query));
    let folder = CanonicalUrl::parse("https://videohost.example/u/alice/").expect("parses").expression();
    assert!(CanonicalUrl::parse("https://videohost.example/u/alice/p/7?x").expect("parses").expressions().contains(&folder));
    assert!(!CanonicalUrl::parse("https://videohost.example/u/alicex").expect("parses").expressions().contains(&folder));
}

proptest! {
    /// A URL's own entry is always among its expressions, and a path of any depth gives a bounded
    /// number of them.
    #[test]
    fn a_url_is_always_covered_by_its_own_entry(input in proptest::collection::vec(any::<u8>(), 0..200)) {
        let Ok(url) = CanonicalUrl::parse(&input) else { return Ok(()) };
        let all = url.expressions();
        prop_assert!(all.contains(&url.expression()), "{} in {:?}", url.expression(), all);
        let hosts = url.host().split('.').count();
        prop_assert!(all.len() <= hosts * (2 + tocsin_model::MAX_DIRECTORY_PREFIXES));
    }
}
