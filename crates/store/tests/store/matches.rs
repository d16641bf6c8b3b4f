//! Scan matches: a `review` verdict waits for a moderator, other verdicts are only recorded;
//! a decision is made once and logged; matches are counted per bank.

use tocsin_store::{NewMatch, Store, StoreError};

use crate::helpers::Fresh;

fn new<'a>(id: &'a str, verdict: &'a str, banks: &'a [String]) -> NewMatch<'a> {
    NewMatch {
        id,
        source: "scan",
        verdict,
        account: "uploads",
        sha256: Some("ab".repeat(32).leak()),
        content_type: Some("image/jpeg"),
        matches: "[]",
        banks,
    }
}

async fn a_review_match_waits_for_one_decision_which_is_logged(fresh: &Fresh) {
    let store = Store::open(fresh.url()).await.expect("opens");
    let both = ["gifct".to_owned(), "stay-down".to_owned()];
    let one = ["stay-down".to_owned()];
    let review = store.record_match(new("01M8NBJZ9R3XRCERC33TX8ZJ41", "review", &both)).await.expect("recorded");
    assert_eq!(review.status, "pending");
    let block = store.record_match(new("01M8NBJZ9R3XRCERC33TX8ZJ42", "block", &one)).await.expect("recorded");
    assert_eq!(block.status, "recorded", "a block needs no moderator");
    let queue = store.scan_matches(true, 100).await.expect("queue");
    assert_eq!(queue.iter().map(|m| m.id.as_str()).collect::<Vec<_>>(), ["01M8NBJZ9R3XRCERC33TX8ZJ41"]);
    assert!(store.match_content_pending(&"ab".repeat(32)).await.expect("query"));
    assert_eq!(store.matches_per_bank().await.expect("counts"), vec![("stay-down".to_owned(), 2), ("gifct".to_owned(), 1)]);

    let (size, _) = store.log_head().await.expect("head");
    assert!(matches!(store.decide_match(&review.id, "maybe", "mod", "r").await, Err(StoreError::Refused(_))));
    assert!(matches!(store.decide_match(&block.id, "confirmed", "mod", "r").await, Err(StoreError::Refused(_))), "not waiting");
    assert!(matches!(store.decide_match("01M8NBJZ9R3XRCERC33TX8ZJ49", "confirmed", "mod", "r").await, Err(StoreError::NotFound(_))));
    assert_eq!(store.log_head().await.expect("head").0, size, "refusals log nothing");
    let decided = store.decide_match(&review.id, "cleared", "mod", "a news report").await.expect("decided");
    assert_eq!(decided.status, "cleared");
    assert_eq!(decided.decided.as_ref().map(|(by, _, why)| (by.as_str(), why.as_str())), Some(("mod", "a news report")));
    assert!(matches!(store.decide_match(&review.id, "confirmed", "mod", "r").await, Err(StoreError::Refused(_))), "decided once");
    let entries = store.log_entries(size, size + 1).await.expect("entries");
    let entry: serde_json::Value = serde_json::from_slice(&entries[0]).expect("JSON");
    assert_eq!((entry["type"].as_str(), entry["decision"].as_str()), (Some("match.decided"), Some("cleared")));
    assert!(store.scan_matches(true, 100).await.expect("queue").is_empty());
    assert!(!store.match_content_pending(&"ab".repeat(32)).await.expect("query"));
    assert_eq!(store.scan_matches(false, 100).await.expect("all").len(), 2);
    store.close().await;
}

mod deciding_matches {
    use super::*;
    crate::on_both!(a_review_match_waits_for_one_decision_which_is_logged);
}
