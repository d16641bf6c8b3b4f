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
