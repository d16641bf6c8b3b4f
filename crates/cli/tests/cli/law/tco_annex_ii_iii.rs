//! TCO Annex II and III: the platform's feedback and its inability answers name both file references, the time of receipt, the measure taken, the provider's Member State, authorised person and contact point, every ground that applies and what must be clarified.

use crate::orders::{Pair, token};

fn state_platform_particulars(pair: &Pair) {
    let stated = pair.cli_on_platform(&[
        "legal",
        "set",
        "--member-state",
        "IE",
        "--representative",
        "A. Murphy, head of trust and safety",
        "--email",
        "tco@videohost.example",
    ]);
    assert_eq!(stated.code, 0, "{}", stated.stderr);
}

#[test]
fn feedback_names_the_references_the_receipt_the_measure_and_who_answers() {
    let pair = Pair::start();
    state_platform_particulars(&pair);
    let id = pair.issue_many(&["https://media.videohost.example/v/1.jpg", "https://elsewhere.example/page"]);
    let order = pair.wait_for(&id, "partially_executed");
    let feedback = order["timeline"].as_array().expect("timeline").iter().find(|e| e["event"] == "feedback").expect("feedback").clone();
    let particulars = &feedback["detail"]["particulars"];
    assert_eq!(particulars["authority_reference"], "NL-2026-0042", "{feedback}");
    assert!(particulars["addressee_reference"].as_str().expect("reference").contains("videohost log entry"), "{particulars}");
    assert_eq!(particulars["received_at"].as_i64(), pair.order_on_platform(&id)["received_at"].as_i64());
    assert_eq!(particulars["provider"], "videohost");
    assert_eq!(particulars["member_state"], "IE");
    assert_eq!(particulars["authorised_person"], "A. Murphy, head of trust and safety");
    assert_eq!(particulars["contact_email"], "tco@videohost.example");
    assert_eq!(particulars["measure"], "access_disabled_in_all_member_states");
    let targets = feedback["detail"]["targets"].as_array().expect("targets").clone();
    let error = targets.iter().find(|t| t["action"] == "manifest_error").expect("the manifest error");
    assert!(error["note"].as_str().expect("a note").contains("elsewhere.example is not a host videohost serves"), "{error}");
}

#[test]
fn an_inability_answer_names_every_ground_that_applies_and_what_must_be_clarified() {
    let pair = Pair::start();
    state_platform_particulars(&pair);
    assert_eq!(pair.cli_on_platform(&["peer", "policy", "police-nl", "review"]).code, 0);
    let operator = token(pair.platform_dir.path(), "tns-desk", "operator");
    let server = format!("http://{}", pair.platform_listen);
    let id = pair.issue("https://videohost.example/watch?v=404");
    pair.wait_state(true, &id, "received");
    let args = [
        "order",
        "inability",
        &id,
        "--ground",
        "manifest_error",
        "--also",
        "insufficient_information",
        "--also",
        "manifest_error",
        "--explanation",
        "No video has this id.",
        "--clarification-needed",
        "Which video is meant: its title or upload date?",
        "--server",
        &server,
        "--token",
        &operator,
    ];
    let answered = crate::helpers::tocsin_in(pair.platform_dir.path(), &args);
    assert_eq!(answered.code, 0, "{}", answered.stderr);
    let order = pair.wait_state(false, &id, "unable");
    let inability = order["timeline"].as_array().expect("timeline").iter().find(|e| e["event"] == "inability").expect("answer").clone();
    let detail = &inability["detail"];
    assert_eq!(detail["ground"], "manifest_error");
    assert_eq!(detail["also"], serde_json::json!(["insufficient_information"]), "the main ground is not repeated: {detail}");
    assert_eq!(detail["clarification_needed"], "Which video is meant: its title or upload date?");
    assert_eq!(detail["particulars"]["authorised_person"], "A. Murphy, head of trust and safety");
    assert_eq!(detail["particulars"]["authority_reference"], "NL-2026-0042");
    assert!(detail["particulars"]["measure"].is_null(), "nothing was removed");
}
