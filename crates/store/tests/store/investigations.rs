//! Data requests in the store: an authority's copy is timed by the platform's receipt, a request
//! that waits for validation queues nothing, a platform answers or refuses once, a preservation
//! request is extended once and lapses once, and a threat report is acknowledged once.

use tocsin_store::{Incoming, NewRequest, RequestEffect, RequestFile, Store};

use crate::helpers::Fresh;

const PLATFORM: &str = "platform-fingerprint";
const AUTHORITY: &str = "authority-fingerprint";
const HOUR: i64 = 3_600_000;

fn fields(id: &str, kind: &str, emergency: bool) -> String {
    serde_json::json!({
        "id": id, "kind": kind, "reference": "EPOC-1", "issuing_authority": "police-nl", "addressee": "videohost",
        "issued_at": 1_790_000_000_000_u64, "categories": ["subscriber"], "identifiers": [{"type": "account", "value": "user-4411"}],
        "offence": "Art. 5", "legal_basis": "Regulation (EU) 2023/1543", "emergency": emergency.then_some("A threat to life."),
    })
    .to_string()
}

fn incoming<'a>(id: &'a str, peer: &'a str, kind: &'a str, request: RequestEffect<'a>) -> Incoming<'a> {
    Incoming {
        peer,
        id,
        kind,
        jws: "a.signed.message",
        received_at: 1_790_000_000_500,
        order: None,
        feedback: None,
        withdrawal: None,
        transition: None,
        bank: None,
        information: None,
        hold: None,
        notice: None,
        request: Some(request),
    }
}

async fn an_authority_times_its_request_by_the_receipt_and_a_waiting_one_stays_home(fresh: &Fresh) {
    let store = Store::open(fresh.url()).await.expect("opens");
    let (waiting, sent) = ("01M8NBJZ9R3XRCERC33TX8ZJ71", "01M8NBJZ9R3XRCERC33TX8ZJ72");
    let new = |id: &'static str, body: &'static str| NewRequest {
        id,
        peer: PLATFORM,
        kind: "production",
        reference: "EPOC-1",
        body,
        issued_by: "desk-1",
    };
    let waiting_body = Box::leak(fields(waiting, "production", false).into_boxed_str());
    store.issue_request(new(waiting, waiting_body), None, None, None).await.expect("issued");
    assert_eq!(store.due_messages(i64::MAX, 10).await.expect("outbox").len(), 0, "nothing leaves before validation");
    let sent_body = Box::leak(fields(sent, "production", true).into_boxed_str());
    store.issue_request(new(sent, sent_body), None, Some((sent, "http://127.0.0.1:9/", "a.signed.message")), None).await.expect("issued");
    assert_eq!(store.due_messages(i64::MAX, 10).await.expect("outbox").len(), 1);
    store.delivered(sent, "a.signed.receipt", 1_790_000_000_500, None).await.expect("delivered");
    let (row, _) = store.data_request(sent).await.expect("read").expect("there");
    assert_eq!(
        (row.state.as_str(), row.received_at, row.deadline_at),
        ("delivered", Some(1_790_000_000_500), Some(1_790_000_000_500 + 8 * HOUR))
    );
    store
        .validate_request(waiting, "judge", waiting_body, (waiting, "http://127.0.0.1:9/", "a.signed.message"), None)
        .await
        .expect("validated");
    assert!(store.validate_request(waiting, "judge", waiting_body, (waiting, "http://127.0.0.1:9/", "x"), None).await.is_err(), "once");
    assert_eq!(store.due_messages(i64::MAX, 10).await.expect("outbox").len(), 1, "the validated one; the other was delivered");

    // The answer's manifest names two files; the request is answered once both are held.
    let files = [("a.csv", "aa"), ("b.bin", "bb")].map(|(name, h)| RequestFile {
        name: name.to_owned(),
        size: 1,
        sha256: h.repeat(32),
        age_sha256: h.repeat(32),
        stored: false,
    });
    let answer = RequestEffect::Answered { request_id: sent, manifest: "a.signed.manifest", files: &files };
    store.receive(incoming("01M8NBJZ9R3XRCERC33TX8ZJ73", PLATFORM, "data_answer", answer), |_| "r".to_owned()).await.expect("received");
    assert_eq!(store.package_files_to_fetch().await.expect("read").len(), 2);
    assert!(!store.package_file_stored(sent, "a.csv").await.expect("stored"));
    assert!(store.package_file_stored(sent, "b.bin").await.expect("stored"), "the last file completes it");
    assert_eq!(store.data_request(sent).await.expect("read").expect("there").0.state, "answered");
    // A second answer, or one from another peer, is refused and changes nothing.
    let again = RequestEffect::Answered { request_id: sent, manifest: "another", files: &files };
    assert!(store.receive(incoming("01M8NBJZ9R3XRCERC33TX8ZJ74", PLATFORM, "data_answer", again), |_| "r".to_owned()).await.is_err());
    let stranger = RequestEffect::Refused { request_id: waiting, refusal: "{}", ground: "not_stored" };
    assert!(
        store.receive(incoming("01M8NBJZ9R3XRCERC33TX8ZJ75", "someone-else", "data_refusal", stranger), |_| "r".to_owned()).await.is_err()
    );
    assert_eq!(store.data_request(sent).await.expect("read").expect("there").0.manifest.as_deref(), Some("a.signed.manifest"));
    store.close().await;
}

async fn a_platform_answers_once_and_a_preservation_is_extended_once_and_lapses_once(fresh: &Fresh) {
    let store = Store::open(fresh.url()).await.expect("opens");
    let (production, preservation) = ("01M8NBJZ9R3XRCERC33TX8ZJ81", "01M8NBJZ9R3XRCERC33TX8ZJ82");
    for (id, kind) in [(production, "production"), (preservation, "preservation")] {
        let body = fields(id, kind, false);
        let received = RequestEffect::Received {
            kind,
            reference: "EPOC-1",
            body: &body,
            recipient: "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p",
            deadline_at: (kind == "production").then_some(1_790_000_000_500 + 240 * HOUR),
            objection_until: None,
            lapses_at: (kind == "preservation").then_some(1_790_000_000_500 + 60 * 24 * HOUR),
            webhook: Some((if kind == "production" { "d1" } else { "d2" }, "http://127.0.0.1:9/hook", "{}", "sig")),
        };
        store.receive(incoming(id, AUTHORITY, "data_request", received), |_| "r".to_owned()).await.expect("received");
    }
    assert_eq!(store.due_webhooks(i64::MAX, 10).await.expect("queue").len(), 2, "each preservation call is queued with its receipt");
    let file = RequestFile { name: "a.csv".to_owned(), size: 3, sha256: "aa".repeat(32), age_sha256: "bb".repeat(32), stored: true };
    assert!(store.stage_request_file(preservation, &file).await.is_err(), "a preservation request is not answered with data");
    store.stage_request_file(production, &file).await.expect("staged");
    store.answer_request(production, "a.signed.manifest", 1, ("m1", "http://127.0.0.1:9/", "jws"), 0).await.expect("answered");
    assert!(store.answer_request(production, "again", 1, ("m2", "http://127.0.0.1:9/", "jws"), 0).await.is_err(), "once");
    assert!(store.refuse_request(production, "{}", "not_stored", ("m3", "http://127.0.0.1:9/", "jws")).await.is_err(), "answered");

    let extend = RequestEffect::Extended { request_id: preservation };
    store
        .receive(incoming("01M8NBJZ9R3XRCERC33TX8ZJ83", AUTHORITY, "request_extension", extend), |_| "r".to_owned())
        .await
        .expect("extended");
    let twice = RequestEffect::Extended { request_id: preservation };
    assert!(
        store.receive(incoming("01M8NBJZ9R3XRCERC33TX8ZJ84", AUTHORITY, "request_extension", twice), |_| "r".to_owned()).await.is_err()
    );
    let lapses = store.data_request(preservation).await.expect("read").expect("there").0.lapses_at.expect("lapses");
    assert_eq!(lapses, 1_790_000_000_500 + 90 * 24 * HOUR);
    assert!(store.lapsing_requests(lapses - 1).await.expect("read").is_empty());
    assert_eq!(store.lapsing_requests(lapses).await.expect("read").len(), 1);
    assert!(store.lapse_request(preservation, None).await.expect("lapsed"));
    assert!(!store.lapse_request(preservation, None).await.expect("read"), "once");
    assert_eq!(store.next_lapse().await.expect("read"), None);
    store.close().await;
}

async fn a_threat_report_is_kept_once_and_acknowledged_once(fresh: &Fresh) {
    let store = Store::open(fresh.url()).await.expect("opens");
    let threat = RequestEffect::Threat {
        body: r#"{"url":"https://videohost.example/x"}"#,
        webhook: Some(("d2", "http://127.0.0.1:9/hook", "{}", "sig")),
    };
    let message = incoming("01M8NBJZ9R3XRCERC33TX8ZJ91", PLATFORM, "threat_report", threat);
    store.receive(message, |_| "r".to_owned()).await.expect("received");
    assert_eq!(store.receive(message, |_| "other".to_owned()).await.expect("again").receipt, "r", "a repeat changes nothing");
    assert_eq!(store.due_webhooks(i64::MAX, 10).await.expect("queue").len(), 1, "the escalation call, once");
    assert_eq!(store.open_threat_reports().await.expect("count"), 1);
    store.acknowledge_threat("01M8NBJZ9R3XRCERC33TX8ZJ91", "desk-1").await.expect("acknowledged");
    assert!(store.acknowledge_threat("01M8NBJZ9R3XRCERC33TX8ZJ91", "desk-2").await.is_err());
    assert_eq!(store.open_threat_reports().await.expect("count"), 0);
    store.close().await;
}

mod timed_by_receipt {
    use super::*;
    crate::on_both!(an_authority_times_its_request_by_the_receipt_and_a_waiting_one_stays_home);
}

mod answered_once {
    use super::*;
    crate::on_both!(a_platform_answers_once_and_a_preservation_is_extended_once_and_lapses_once);
}

mod threats {
    use super::*;
    crate::on_both!(a_threat_report_is_kept_once_and_acknowledged_once);
}
