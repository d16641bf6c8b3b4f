//! Orders as the figures read them: the time from a platform's receipt to its removal, counted
//! for removal orders carried out and for nothing else.

use tocsin_store::{Execution, Incoming, NewOrder, Store};

use crate::helpers::Fresh;

const AUTHORITY: &str = "authority-fingerprint";

async fn receive(store: &Store, id: &str, kind: &str, received_at: i64) {
    let order = NewOrder { id, kind, reference: "R-1", body: "{}", issued_at: received_at - 5 };
    let message = Incoming {
        peer: AUTHORITY,
        id,
        kind,
        jws: "a.signed.message",
        received_at,
        order: Some(order),
        feedback: None,
        withdrawal: None,
        transition: None,
        bank: None,
        information: None,
        hold: None,
        notice: None,
        request: None,
    };
    store.receive(message, |_| "a.signed.receipt".to_owned()).await.expect("received");
}

async fn execute(store: &Store, id: &str, feedback_id: &str) {
    let execution = Execution {
        order_id: id,
        state: "executed",
        detail: serde_json::json!([]),
        blocks: Vec::new(),
        feedback: (feedback_id, AUTHORITY, "http://127.0.0.1:9/", "feedback", "a.signed.feedback"),
        webhooks: Vec::new(),
    };
    store.execute_order(&execution).await.expect("executed");
}

async fn only_removal_orders_carried_out_count_from_their_receipt(fresh: &Fresh) {
    let store = Store::open(fresh.url()).await.expect("opens");
    // Received in the past, so that the time to removal is known to be at least this long.
    let received_at = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_millis() as i64 - 90_000;
    receive(&store, "01M8NBJZ9R3XRCERC33TX8ZJ41", "removal_order", received_at).await;
    receive(&store, "01M8NBJZ9R3XRCERC33TX8ZJ42", "removal_order", received_at).await;
    receive(&store, "01M8NBJZ9R3XRCERC33TX8ZJ43", "referral", received_at).await;
    assert_eq!(store.removal_times().await.expect("times"), vec![], "nothing carried out yet");
    execute(&store, "01M8NBJZ9R3XRCERC33TX8ZJ41", "01M8NBJZ9R3XRCERC33TX8ZJ51").await;
    // A referral removed after review has no legal hour: it is not counted.
    execute(&store, "01M8NBJZ9R3XRCERC33TX8ZJ43", "01M8NBJZ9R3XRCERC33TX8ZJ53").await;
    let times = store.removal_times().await.expect("times");
    assert_eq!(times.len(), 1, "{times:?}: the open order and the referral do not count");
    let (peer, ms) = &times[0];
    assert_eq!(peer, AUTHORITY);
    assert!((90_000..600_000).contains(ms), "{ms} ms from receipt to removal");
    store.close().await;
}

mod removal_times {
    use super::*;
    crate::on_both!(only_removal_orders_carried_out_count_from_their_receipt);
}

async fn a_final_order_is_noted_and_what_another_node_says_is_found_by_kind(fresh: &Fresh) {
    let store = Store::open(fresh.url()).await.expect("opens");
    receive(&store, "01M8NBJZ9R3XRCERC33TX8ZJ91", "removal_order", 1_790_000_000_000).await;
    store.note_and_maybe_tell("01M8NBJZ9R3XRCERC33TX8ZJ91", "final", r#"{"basis":"unappealed"}"#, None).await.expect("noted");
    let (_, events) = store.order("01M8NBJZ9R3XRCERC33TX8ZJ91").await.expect("read").expect("the order");
    assert!(events.iter().any(|e| e.event == "final"));
    let kinds = store.inbox_of_kind("removal_order").await.expect("read");
    assert_eq!(kinds.len(), 1);
    assert_eq!((kinds[0].0.as_str(), kinds[0].2), (AUTHORITY, 1_790_000_000_000));
    assert!(store.inbox_of_kind("order_final").await.expect("read").is_empty());
    store.close().await;
}

mod finality {
    use super::*;
    crate::on_both!(a_final_order_is_noted_and_what_another_node_says_is_found_by_kind);
}
