//! TCO Art. 3(2) records: information sent through Tocsin is dated by the platform's receipt,
//! information given otherwise by the day stated (never a future one), and received
//! information is kept with its message.

use tocsin_store::{Given, Incoming, Store};

use crate::helpers::Fresh;

const PLATFORM: &str = "platform-fingerprint";

async fn information_is_dated_by_the_receipt_or_by_the_day_stated(fresh: &Fresh) {
    let store = Store::open(fresh.url()).await.expect("opens");
    assert_eq!(store.informed_at(PLATFORM).await.expect("read"), None);
    let sent = Given::Sent { id: "01M8NBJZ9R3XRCERC33TX8ZJ61", url: "http://127.0.0.1:9/", jws: "a.signed.message" };
    store.record_procedure_information(PLATFORM, sent, "tocsin", "One hour from receipt.", "desk-1").await.expect("recorded");
    assert_eq!(store.informed_at(PLATFORM).await.expect("read"), None, "not given until the platform has it");
    store.delivered("01M8NBJZ9R3XRCERC33TX8ZJ61", "a.signed.receipt", 1_790_000_000_000, None).await.expect("delivered");
    assert_eq!(store.informed_at(PLATFORM).await.expect("read"), Some(1_790_000_000_000), "dated by the receipt");

    let letter = Given::Otherwise { id: "01M8NBJZ9R3XRCERC33TX8ZJ62", at: 1_780_000_000_000 };
    store.record_procedure_information(PLATFORM, letter, "letter NL-2026-7", "By post.", "desk-1").await.expect("recorded");
    assert_eq!(store.informed_at(PLATFORM).await.expect("read"), Some(1_780_000_000_000), "the earliest counts");
    let future = Given::Otherwise { id: "01M8NBJZ9R3XRCERC33TX8ZJ63", at: i64::MAX / 2 };
    assert!(store.record_procedure_information(PLATFORM, future, "letter", "Later.", "desk-1").await.is_err(), "no future date");
    let records = store.procedure_information(PLATFORM).await.expect("read");
    assert_eq!(records.iter().map(|r| r.means.as_str()).collect::<Vec<_>>(), ["tocsin", "letter NL-2026-7"]);

    let message = Incoming {
        peer: "authority-fingerprint",
        id: "01M8NBJZ9R3XRCERC33TX8ZJ64",
        kind: "procedure_information",
        jws: "a.signed.message",
        received_at: 1_790_000_000_500,
        order: None,
        feedback: None,
        withdrawal: None,
        transition: None,
        bank: None,
        information: Some("From the authority."),
        hold: None,
        notice: None,
        request: None,
    };
    store.receive(message, |_| "a.signed.receipt".to_owned()).await.expect("received");
    let received = store.procedure_information("authority-fingerprint").await.expect("read");
    assert_eq!(received.len(), 1);
    assert_eq!((received[0].side.as_str(), received[0].given_at), ("received", Some(1_790_000_000_500)));
    assert_eq!(store.informed_at("authority-fingerprint").await.expect("read"), None, "received is not given");
    store.close().await;
}

mod dated {
    use super::*;
    crate::on_both!(information_is_dated_by_the_receipt_or_by_the_day_stated);
}
