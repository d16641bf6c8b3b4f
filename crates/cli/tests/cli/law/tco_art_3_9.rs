//! TCO Art. 3(9): the issuing authority records that a removal order became final, and tells the competent authority of the provider's Member State when that is another node.

use crate::law::StateAuthority;
use crate::orders::Pair;

#[test]
fn a_final_order_is_recorded_once_and_the_authority_of_the_platforms_member_state_is_told() {
    let pair = Pair::start();
    let ireland = StateAuthority::start(&pair);
    let id = pair.issue("https://media.videohost.example/v/1.jpg");
    pair.wait_for(&id, "executed");
    let bad = pair.cli_on_authority(&pair.issuer, &["order", "final", &id, "--basis", "forgotten", "--note", "x"]);
    assert_ne!(bad.code, 0, "an unknown basis");
    let recorded =
        pair.cli_on_authority(&pair.issuer, &["order", "final", &id, "--basis", "unappealed", "--note", "No appeal by 2027-01-20."]);
    assert_eq!(recorded.code, 0, "{}", recorded.stderr);
    let again = pair.cli_on_authority(&pair.issuer, &["order", "final", &id, "--basis", "unappealed", "--note", "again"]);
    assert!(again.stderr.contains("final already"), "{}", again.stderr);
    let order = pair.order_on_authority(&id);
    let event = order["timeline"].as_array().expect("timeline").iter().find(|e| e["event"] == "final").cloned().expect("recorded");
    assert_eq!(event["detail"]["told"], "cnam", "{event}");

    let finals = ireland.wait_for_lines(&["order", "finals"]);
    let line = finals.lines().next().expect("one");
    for field in ["police-nl", "NL-2026-0042", "videohost", "IE", "unappealed", "No appeal by 2027-01-20."] {
        assert!(line.contains(field), "{field:?} in {line}");
    }

    // Withdrawn orders do not become final.
    let withdrawn = pair.issue("https://videohost.example/page");
    pair.wait_for(&withdrawn, "executed");
    assert_eq!(pair.cli_on_authority(&pair.issuer, &["order", "withdraw", &withdrawn, "--reason", "issued in error"]).code, 0);
    let refused = pair.cli_on_authority(&pair.issuer, &["order", "final", &withdrawn, "--basis", "unappealed", "--note", "x"]);
    assert!(refused.stderr.contains("still stands"), "{}", refused.stderr);
}
