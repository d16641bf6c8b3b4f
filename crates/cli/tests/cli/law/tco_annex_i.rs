//! TCO Annex I: an order carries sections A (Member States, the provider's legal representative and contact point), D (cross-border, who gets the copy), E (the authority's type, representative and contact), F and G (the court and the time to challenge), from particulars stated once for the node and each peer.

use crate::orders::Pair;

#[test]
fn an_order_carries_every_annex_i_section_from_particulars_stated_once() {
    let pair = Pair::start();
    let id = pair.issue("https://media.videohost.example/v/1.jpg");
    pair.wait_for(&id, "executed");
    let annex = pair.order_on_platform(&id)["order"]["annex"].clone();
    assert_eq!(annex["issuing_member_state"], "NL", "{annex}");
    assert_eq!(annex["provider"]["member_state"], "IE");
    assert_eq!(annex["provider"]["legal_representative"], "Videohost Ireland Ltd, Dublin");
    assert_eq!(annex["provider"]["contact_point"], "tco@videohost.example");
    assert_eq!(annex["cross_border"], true, "section D");
    assert_eq!(annex["provider"]["state_authority"], "Coimisiún na Meán, tco@cnam.example");
    assert_eq!(annex["authority"]["authority_type"], "law_enforcement");
    assert_eq!(annex["authority"]["representative"], "J. de Vries, head of the internet referral unit");
    assert_eq!(annex["authority"]["email"], "iru@police-nl.example");
    assert_eq!(annex["authority"]["contact_point"], "+31 70 000 0000, day and night", "section F");
    assert_eq!(annex["authority"]["redress_body"], "Rechtbank Den Haag, administrative law section");
    assert_eq!(annex["authority"]["redress_deadline"], "six weeks from the order's receipt");
    let shown = pair.cli_on_authority(&pair.issuer, &["legal", "show", "--peer", "videohost"]);
    assert!(shown.stdout.contains("member_state: IE"), "{}", shown.stdout);
}

#[test]
fn a_removal_order_is_refused_until_the_particulars_it_needs_are_stated_and_bad_ones_change_nothing() {
    let pair = Pair::start();
    let bad = pair.cli_on_authority(&pair.admin, &["legal", "set", "--member-state", "UK", "--email", "nobody"]);
    assert_ne!(bad.code, 0);
    assert!(bad.stderr.contains("member_state") && bad.stderr.contains("email"), "both named: {}", bad.stderr);
    let issuer = pair.cli_on_authority(&pair.issuer, &["legal", "set", "--member-state", "FR"]);
    assert!(issuer.stderr.contains("403"), "an admin's act: {}", issuer.stderr);
    let shown = pair.cli_on_authority(&pair.issuer, &["legal", "show"]);
    assert!(shown.stdout.contains("member_state: NL"), "unchanged: {}", shown.stdout);

    // A platform whose Member State is not known cannot get a removal order.
    let cleared = pair.cli_on_authority(&pair.admin, &["legal", "set", "--peer", "videohost", "--contact-point", "x"]);
    assert_eq!(cleared.code, 0, "{}", cleared.stderr);
    let db = crate::helpers::Database::sqlite(pair.authority_dir.path());
    db.execute("DELETE FROM legal_details WHERE subject <> 'self'", &[]);
    let refused = pair.cli_on_authority(
        &pair.issuer,
        &["order", "issue", "--to", "videohost", "--url", "https://videohost.example/page", "--reason", "incite", "--statement", "x"],
    );
    assert!(refused.stderr.contains("provider_member_state") && refused.stderr.contains("section A"), "{}", refused.stderr);
    let log = crate::orders::log_types(&pair.authority, &pair.admin);
    assert!(log.iter().filter(|t| *t == "legal.details_set").count() >= 3, "{log:?}");
}

#[test]
fn an_order_goes_in_a_language_the_platform_designated_and_keeps_the_url_as_written_with_where_exactly() {
    let pair = Pair::start();
    assert_eq!(pair.cli_on_authority(&pair.admin, &["legal", "set", "--peer", "videohost", "--languages", "en,ga"]).code, 0);
    let french = pair.cli_on_authority(
        &pair.issuer,
        &[
            "order",
            "issue",
            "--to",
            "videohost",
            "--url",
            "https://videohost.example/page",
            "--reason",
            "incite",
            "--statement",
            "x",
            "--language",
            "fr",
        ],
    );
    assert!(french.stderr.contains("the platform designated en, ga (Art. 15(2))"), "{}", french.stderr);
    let written = "https://VideoHost.example/watch?v=abc#t=192";
    let id = pair.issue_with(&[written], &["--location", "from 03:12, the speaker in black"]);
    let order = pair.wait_for(&id, "executed")["order"].clone();
    assert_eq!(order["targets"][0]["url"], "https://videohost.example/watch?v=abc");
    assert_eq!(order["targets"][0]["as_written"], written, "the platform sees what the authority wrote");
    assert_eq!(order["location"], "from 03:12, the speaker in black");
    assert_eq!(order["annex"]["provider"]["languages"], serde_json::json!(["en", "ga"]));
}

#[test]
fn an_order_from_an_older_node_without_the_new_fields_is_still_received_and_executed() {
    use tocsin_model::Ulid;
    use tocsin_wire::Kind;
    let pair = Pair::start();
    let now = crate::orders::now_ms();
    let id = Ulid::new(now, [11; 10]);
    // As a node of this protocol before issue 16 wrote it: no statement, no Annex sections.
    let body = serde_json::json!({
        "id": id.to_string(), "kind": "removal_order", "reference": "OLD-1", "issuing_authority": "police-nl",
        "addressee": "videohost", "issued_at": now, "targets": [{"url": "https://media.videohost.example/v/1.jpg"}],
        "reasons": ["incite"], "legal_basis": "Art. 3", "provider_may_be_told": true, "redress": "Art. 9", "language": "en",
    });
    let jws = pair.as_authority(Kind::RemovalOrder, id, &pair.platform_jwk.thumbprint(), body);
    let (status, reply) = pair.post_inbox(&jws);
    assert_eq!(status, 201, "{reply}");
    let order = pair.wait_state(true, &id.to_string(), "executed");
    assert!(order["order"]["annex"].is_null() && order["order"]["statement"] == "", "{order}");
}
