//! TCO Art. 3(8): manifest errors, in a whole order or in part of a partially executed one, are clarified by the authority; the hour runs again from the clarification's receipt on both nodes.

use std::time::{Duration, Instant};

use crate::orders::Pair;

#[test]
fn a_partially_executed_order_is_clarified_and_both_copies_are_due_an_hour_from_the_clarifications_receipt() {
    let pair = Pair::start();
    let id = pair.issue_many(&["https://media.videohost.example/v/1.jpg", "https://elsewhere.example/page"]);
    let before = pair.wait_for(&id, "partially_executed");
    let first = before["received_at"].as_i64().expect("received");
    std::thread::sleep(Duration::from_millis(1100));
    let clarified =
        pair.cli_on_authority(&pair.issuer, &["order", "clarify", &id, "--text", "The page is also at videohost.example/page."]);
    assert_eq!(clarified.code, 0, "{}", clarified.stderr);

    // The authority's copy takes the platform's time of receipt of the clarification.
    let deadline = Instant::now() + Duration::from_secs(30);
    let (authority, platform_receipt) = loop {
        let authority = pair.order_on_authority(&id);
        let events = authority["timeline"].as_array().expect("timeline").clone();
        if let Some(e) = events.iter().find(|e| e["event"] == "clarification_received") {
            break (authority, e["detail"]["received_at"].as_i64().expect("received_at"));
        }
        assert!(Instant::now() < deadline, "no receipt for the clarification within 30 s: {authority}");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(platform_receipt >= first + 1000, "{authority}");
    let platform = pair.order_on_platform(&id);
    let clarification_at =
        platform["timeline"].as_array().expect("timeline").iter().find(|e| e["event"] == "clarification").expect("clarified")["at"]
            .as_i64()
            .expect("at");
    assert_eq!(platform_receipt, clarification_at, "one moment, the platform's");
    assert_eq!(platform["deadline_at"].as_i64(), Some(platform_receipt + 3_600_000), "{platform}");

    // The platform executes it again: the served target stays blocked, the other is still an error.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let order = pair.order_on_authority(&id);
        let feedbacks = order["timeline"].as_array().expect("timeline").iter().filter(|e| e["event"] == "feedback").count();
        if order["state"] == "partially_executed" && feedbacks == 2 {
            assert_eq!(order["received_at"].as_i64(), Some(platform_receipt), "due from the clarification: {order}");
            assert_eq!(order["deadline_at"].as_i64(), Some(platform_receipt + 3_600_000));
            break;
        }
        assert!(Instant::now() < deadline, "not answered again within 30 s: {order}");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(pair.gate("/v1/gate/check?url=https%3A%2F%2Fmedia.videohost.example%2Fv%2F1.jpg").0, 403);
    let executed = pair.cli_on_authority(&pair.issuer, &["order", "clarify", &pair.issue("https://videohost.example/page"), "--text", "x"]);
    assert_ne!(executed.code, 0, "an order executed in full has nothing to clarify");
}
