//! Referrals are not a procedure of the TCO Regulation: content removed on one is removed under the platform's terms, and neither the order nor the notice cites removal-order redress.

use crate::orders::Pair;

#[test]
fn content_removed_on_a_referral_is_shown_as_removed_under_the_platforms_terms() {
    let pair = Pair::start();
    let id = pair.issue_with(&["https://media.videohost.example/v/1.jpg"], &["--referral"]);
    pair.wait_state(true, &id, "received");
    let order = pair.order_on_platform(&id);
    let redress = order["order"]["redress"].as_str().expect("redress");
    assert!(redress.contains("not a removal order") && !redress.contains("Art. 9"), "{redress}");
    assert_eq!(pair.cli_on_platform(&["order", "list"]).code, 0);
    let moderator = crate::orders::token(pair.platform_dir.path(), "moderator", "reviewer");
    let server = format!("http://{}", pair.platform_listen);
    let accepted = crate::helpers::tocsin_in(
        pair.platform_dir.path(),
        &["order", "accept", &id, "--reason", "Against our terms.", "--server", &server, "--token", &moderator],
    );
    assert_eq!(accepted.code, 0, "{}", accepted.stderr);
    pair.wait_for(&id, "executed");
    let (status, _, page) = pair.gate("/v1/gate/notice?url=https%3A%2F%2Fmedia.videohost.example%2Fv%2F1.jpg");
    assert_eq!(status, 451);
    for needed in ["terms of service", "not a removal order", "police-nl"] {
        assert!(page.contains(needed), "{needed:?} missing: {page}");
    }
    for wrong in ["Art. 9", "Art. 4", "Regulation (EU) 2021/784", "on a removal order of"] {
        assert!(!page.contains(wrong), "{wrong:?} does not apply to a referral: {page}");
    }

    // A removal order on the same content is named before the referral.
    let ordered = pair.issue("https://media.videohost.example/v/1.jpg");
    pair.wait_for(&ordered, "executed");
    let (_, _, page) = pair.gate("/v1/gate/notice?url=https%3A%2F%2Fmedia.videohost.example%2Fv%2F1.jpg");
    assert!(page.contains("Art. 9") && page.contains("on a removal order"), "{page}");
}
