//! The qualified person's notices in the store: each oversight peer's place in the log moves
//! once per round (a second worker with the same start queues nothing), and received notices are
//! kept with the message.

use tocsin_store::{Incoming, Store};

use crate::helpers::Fresh;

const OVERSIGHT: &str = "oversight-fingerprint";

async fn each_change_is_queued_once_and_kept_where_it_arrives(fresh: &Fresh) {
    let store = Store::open(fresh.url()).await.expect("opens");
    assert_eq!(store.oversight_cursor(OVERSIGHT).await.expect("read"), 0);
    let message = || vec![("01M8NBJZ9R3XRCERC33TX8ZJ81".to_owned(), "http://127.0.0.1:9/".to_owned(), "a.signed.notice".to_owned())];
    store.tell_oversight(OVERSIGHT, 0, 5, &message()).await.expect("told");
    assert_eq!(store.oversight_cursor(OVERSIGHT).await.expect("read"), 5);
    store.tell_oversight(OVERSIGHT, 0, 5, &message()).await.expect("a second worker changes nothing");
    assert_eq!(store.due_messages(i64::MAX, 10).await.expect("read").len(), 1, "queued once");
    store.tell_oversight(OVERSIGHT, 5, 9, &[]).await.expect("moved on");
    assert_eq!(store.oversight_cursor(OVERSIGHT).await.expect("read"), 9);

    let notice = Incoming {
        peer: "authority-fingerprint",
        id: "01M8NBJZ9R3XRCERC33TX8ZJ82",
        kind: "blocklist_notice",
        jws: "a.signed.message",
        received_at: 1_790_000_000_000,
        order: None,
        feedback: None,
        withdrawal: None,
        transition: None,
        bank: None,
        information: None,
        hold: None,
        notice: Some((3, r#"{"type":"blocklist.added","target":"propaganda.example"}"#)),
        request: None,
    };
    store.receive(notice, |_| "r".to_owned()).await.expect("kept");
    let kept = store.blocklist_notices().await.expect("read");
    assert_eq!(kept.len(), 1);
    assert_eq!((kept[0].log_index, kept[0].peer.as_str()), (3, "authority-fingerprint"));
    store.close().await;
}

mod cursors {
    use super::*;
    crate::on_both!(each_change_is_queued_once_and_kept_where_it_arrives);
}
