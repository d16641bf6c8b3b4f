//! TCO Art. 3(7): after force majeure or de facto impossibility, the platform tells the authority the grounds have ceased; the hour runs again from then on both nodes, and the order is executed.

use tocsin_model::Ulid;
use tocsin_wire::Kind;

use crate::orders::{Pair, token};

/// The platform's operator, by token.
struct Operator(String);

impl Operator {
    fn run(&self, pair: &Pair, args: &[&str]) -> crate::helpers::Run {
        let server = format!("http://{}", pair.platform_listen);
        crate::helpers::tocsin_in(pair.platform_dir.path(), &[args, &["--server", &server, "--token", &self.0]].concat())
    }
}

/// Two nodes whose platform holds the authority's orders for review, so that its operator can
/// answer before they are executed.
fn held_for_review() -> (Pair, Operator) {
    let pair = Pair::start();
    assert_eq!(pair.cli_on_platform(&["peer", "policy", "police-nl", "review"]).code, 0);
    let operator = Operator(token(pair.platform_dir.path(), "tns-desk", "operator"));
    (pair, operator)
}

#[test]
fn after_force_majeure_the_platform_resumes_and_the_hour_runs_again_from_then_on_both_nodes() {
    let (pair, operator) = held_for_review();
    let on_platform = |args: &[&str]| operator.run(&pair, args);

    let id = pair.issue("https://media.videohost.example/v/1.jpg");
    let first = pair.wait_state(true, &id, "received");
    pair.wait_state(false, &id, "delivered");
    let answered = on_platform(&["order", "inability", &id, "--ground", "force_majeure", "--explanation", "Our data centre is flooded."]);
    assert_eq!(answered.code, 0, "{}", answered.stderr);
    pair.wait_state(false, &id, "unable");
    let clarified = pair.cli_on_authority(&pair.issuer, &["order", "clarify", &id, "--text", "x"]);
    assert_ne!(clarified.code, 0, "force majeure is not clarified, it ceases");

    std::thread::sleep(std::time::Duration::from_millis(1100));
    let resumed = on_platform(&["order", "resume", &id, "--explanation", "Power and network are back."]);
    assert_eq!(resumed.code, 0, "{}", resumed.stderr);
    let platform = pair.order_on_platform(&id);
    assert_eq!(platform["state"], "received");
    let restarted = platform["received_at"].as_i64().expect("received");
    assert!(restarted >= first["received_at"].as_i64().expect("received") + 1000, "the hour runs from the end of the grounds: {platform}");
    assert_eq!(platform["deadline_at"].as_i64(), Some(restarted + 3_600_000));
    assert!(platform["timeline"].as_array().expect("timeline").iter().any(|e| e["event"] == "grounds_ceased"));

    let authority = pair.wait_state(false, &id, "delivered");
    let at_authority = authority["received_at"].as_i64().expect("received");
    assert!((at_authority - restarted).abs() < 1000, "both copies count from the same moment: {at_authority} and {restarted}");
    assert_eq!(authority["overdue"], false);
    let event = authority["timeline"].as_array().expect("timeline").iter().find(|e| e["event"] == "grounds_ceased").cloned();
    assert_eq!(event.expect("the authority's timeline")["detail"]["explanation"], "Power and network are back.");

    // Resumed once only; executed after review, within the new hour.
    assert_ne!(on_platform(&["order", "resume", &id, "--explanation", "again"]).code, 0, "not unable any more");
    assert_eq!(on_platform(&["order", "accept", &id, "--reason", "Terrorist content."]).code, 0);
    let done = pair.wait_for(&id, "executed");
    assert!(done["removed_at"].as_i64().expect("removed") >= at_authority);
    pair.verify_both_logs();
}

#[test]
fn only_the_platform_says_the_grounds_ceased_and_only_for_force_majeure_or_impossibility() {
    let (pair, operator) = held_for_review();
    let on_platform = |args: &[&str]| operator.run(&pair, args);

    let id = pair.issue("https://media.videohost.example/v/1.jpg");
    pair.wait_state(true, &id, "received");
    assert_eq!(on_platform(&["order", "inability", &id, "--ground", "manifest_error", "--explanation", "No such video."]).code, 0);
    let refused = on_platform(&["order", "resume", &id, "--explanation", "x"]);
    assert!(refused.stderr.contains("force majeure"), "a manifest error is clarified, not resumed: {}", refused.stderr);
    let issuer = pair.cli_on_authority(&pair.issuer, &["order", "resume", &id, "--explanation", "x"]);
    assert!(issuer.stderr.contains("403"), "an authority's issuer does not resume: {}", issuer.stderr);

    // The authority cannot send a platform's message.
    let body = serde_json::json!({ "order_id": id, "explanation": "forged" });
    let forged = pair.as_authority(Kind::GroundsCeased, Ulid::new(crate::orders::now_ms(), [9; 10]), &pair.platform_jwk.thumbprint(), body);
    let (status, reply) = pair.post_inbox(&forged);
    assert_eq!(status, 403, "{reply}");
    assert_eq!(pair.order_on_platform(&id)["state"], "unable", "a refused message changes nothing");
}

/// The platform's clock moved `offset` ahead (libfaketime).
fn clock_ahead(offset: &'static str) -> [(&'static str, &'static str); 3] {
    [("LD_PRELOAD", crate::orders::LIBFAKETIME), ("FAKETIME", offset), ("FAKETIME_DONT_FAKE_MONOTONIC", "1")]
}

#[test]
fn the_deadline_warnings_run_again_for_the_new_hour() {
    assert!(std::path::Path::new(crate::orders::LIBFAKETIME).exists(), "scripts/test installs faketime");
    let (mut pair, operator) = held_for_review();
    let id = pair.issue("https://media.videohost.example/v/1.jpg");
    pair.wait_state(true, &id, "received");
    let warnings = |pair: &Pair| {
        let order = pair.order_on_platform(&id);
        order["timeline"].as_array().expect("timeline").iter().filter(|e| e["event"] == "deadline_warning").count()
    };
    let wait_warnings = |pair: &Pair, n: usize| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while warnings(pair) < n {
            assert!(std::time::Instant::now() < deadline, "not {n} warnings within 30 s: {}", pair.order_on_platform(&id));
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    };
    // 35 minutes on: the 30-minute warning of the first hour.
    pair.restart_platform_with(&clock_ahead("+35m"));
    wait_warnings(&pair, 1);
    let answered =
        operator.run(&pair, &["order", "inability", &id, "--ground", "technical_impossibility", "--explanation", "Storage offline."]);
    assert_eq!(answered.code, 0, "{}", answered.stderr);
    assert_eq!(operator.run(&pair, &["order", "resume", &id, "--explanation", "Storage back."]).code, 0);
    // The new hour has only just begun: no warning yet for it.
    std::thread::sleep(std::time::Duration::from_millis(1500));
    assert_eq!(warnings(&pair), 1, "the first hour's warning does not stand for the second");
    // Thirty-five minutes into the new hour: its own 30-minute warning.
    pair.restart_platform_with(&clock_ahead("+70m"));
    wait_warnings(&pair, 2);
}
