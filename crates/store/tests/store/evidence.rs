//! TCO Art. 6(2) in the store: content past its six months is due for deletion unless the
//! authority that sent the order holds it, and only that authority holds or releases it.

use tocsin_store::{Evidence, Hold, Incoming, NewOrder, Store};

use crate::helpers::Fresh;

const AUTHORITY: &str = "authority-fingerprint";
const ORDER: &str = "01M8NBJZ9R3XRCERC33TX8ZJ71";

fn message<'a>(peer: &'a str, id: &'a str, order: Option<NewOrder<'a>>, hold: Option<Hold<'a>>) -> Incoming<'a> {
    Incoming {
        peer,
        id,
        kind: if order.is_some() { "removal_order" } else { "preservation_request" },
        jws: "a.signed.message",
        received_at: 1_790_000_000_000,
        order,
        feedback: None,
        withdrawal: None,
        transition: None,
        bank: None,
        information: None,
        hold,
        notice: None,
        request: None,
    }
}

async fn held_content_outlives_its_six_months_until_released(fresh: &Fresh) {
    let store = Store::open(fresh.url()).await.expect("opens");
    let order = NewOrder { id: ORDER, kind: "removal_order", reference: "R-1", body: "{}", issued_at: 1_789_999_999_000 };
    store.receive(message(AUTHORITY, ORDER, Some(order), None), |_| "r".to_owned()).await.expect("received");
    let evidence = Evidence {
        order_id: ORDER.to_owned(),
        url: "https://videohost.example/v/1.jpg".to_owned(),
        status: "preserved".to_owned(),
        sha256: Some("ab".repeat(32)),
        md5: Some("cd".repeat(16)),
        size: Some(3),
        content_type: None,
        pdq: None,
        pdq_quality: None,
        vpdq: None,
        fetched_at: 1_790_000_000_100,
        retain_until: Some(1_790_000_000_200),
        error: None,
        related_data: Some(r#"{"account":"user-4411"}"#.to_owned()),
    };
    store.record_evidence(&evidence, None).await.expect("recorded");
    let due = |store: &Store| {
        let store = store.clone();
        async move { store.expired_evidence(1_800_000_000_000).await.expect("read").len() }
    };
    assert_eq!(due(&store).await, 1, "past its six months");
    let kept = store.evidence(ORDER).await.expect("read");
    assert_eq!(kept[0].related_data.as_deref(), Some(r#"{"account":"user-4411"}"#), "related data kept with the content");

    let hold = Hold { order_id: ORDER, reason: "Proceedings 26/4411", release: false };
    let stranger = store.receive(message("someone-else", "01M8NBJZ9R3XRCERC33TX8ZJ72", None, Some(hold)), |_| "r".to_owned()).await;
    assert!(stranger.is_err(), "only the order's authority holds its content");
    assert_eq!(due(&store).await, 1, "a refused hold changes nothing");
    store.receive(message(AUTHORITY, "01M8NBJZ9R3XRCERC33TX8ZJ73", None, Some(hold)), |_| "r".to_owned()).await.expect("held");
    assert_eq!(due(&store).await, 0, "held");
    let (reason, _, released) = store.preservation_hold(ORDER).await.expect("read").expect("a hold");
    assert_eq!((reason.as_str(), released), ("Proceedings 26/4411", None));

    let release = Hold { order_id: ORDER, reason: "Case closed", release: true };
    store.receive(message(AUTHORITY, "01M8NBJZ9R3XRCERC33TX8ZJ74", None, Some(release)), |_| "r".to_owned()).await.expect("released");
    assert_eq!(due(&store).await, 1, "released: due again");
    let again = store.receive(message(AUTHORITY, "01M8NBJZ9R3XRCERC33TX8ZJ75", None, Some(release)), |_| "r".to_owned()).await;
    assert!(again.is_err(), "nothing left to release");
    store.close().await;
}

mod holds {
    use super::*;
    crate::on_both!(held_content_outlives_its_six_months_until_released);
}
