//! Banks: signals kept once per bank with their first provenance, state changes with reasons,
//! change numbers that only grow (what the matcher and subscribers follow), every change logged.

use tocsin_model::{BankAction, Labels, Signal, SignalState, SignalType};
use tocsin_store::{NewBank, NewSignal, Provenance, Store, StoreError};

use crate::helpers::Fresh;

fn pdq(fill: char) -> Signal {
    Signal::new(SignalType::Pdq, &fill.to_string().repeat(64)).expect("a PDQ hash")
}

fn by(account: &str) -> Provenance {
    Provenance { source: "account".into(), reference: account.into(), detail: String::new() }
}

fn log_types(entries: &[Vec<u8>]) -> Vec<String> {
    entries
        .iter()
        .map(|e| serde_json::from_slice::<serde_json::Value>(e).expect("JSON")["type"].as_str().expect("type").to_owned())
        .collect()
}

/// A video's vPDQ features at every frame for `seconds` at 30 frames a second.
fn vpdq(seconds: u64, fill: char) -> Signal {
    let frames: Vec<String> =
        (0..seconds * 30).map(|i| format!("{},{},{}.{:03}", fill.to_string().repeat(64), 50 + i % 50, i / 30, i % 30 * 33)).collect();
    Signal::new(SignalType::Vpdq, &frames.join(";")).expect("vPDQ features")
}

async fn a_whole_videos_features_are_one_signal_kept_once_per_bank(fresh: &Fresh) {
    let store = Store::open(fresh.url()).await.expect("opens");
    // 11 minutes at 30 frames a second: about 1.4 MB, beyond what PostgreSQL can index.
    let long = vpdq(660, 'c');
    assert!(long.value().len() > 1_000_000);
    let batch = [NewSignal::active(long.clone(), Labels::default()), NewSignal::active(vpdq(2, 'd'), Labels::default())];
    let added = store.add_signals("stay-down", &batch, &by("alice")).await.expect("added");
    assert_eq!((added.added, added.known), (2, 0));
    let again = store.add_signals("stay-down", &batch[..1], &by("bob")).await.expect("added");
    assert_eq!((again.added, again.known), (0, 1), "the same features are the same signal");
    let found = store.signals_matching(&long).await.expect("query");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].signal, long, "read back whole");
    store.close().await;
}

async fn signals_are_kept_once_with_their_first_provenance_and_changes_are_numbered(fresh: &Fresh) {
    let store = Store::open(fresh.url()).await.expect("opens");
    let stay_down = store.bank("stay-down").await.expect("query").expect("every node has the stay-down bank");
    assert_eq!(stay_down.action, BankAction::Block);
    let new = NewBank {
        name: "gifct".parse().expect("name"),
        description: "shared".into(),
        action: BankAction::Review,
        pdq_threshold: 24,
        video: Default::default(),
    };
    let bank = store.create_bank(&new, "", "admin").await.expect("made");
    assert_eq!((bank.pdq_threshold, bank.created_by.as_str()), (24, "admin"));
    assert!(matches!(store.create_bank(&new, "", "admin").await, Err(StoreError::Refused(_))), "a name is taken once");

    let labels = Labels { tags: vec!["x".into()], ..Labels::default() };
    let batch = [
        NewSignal::active(pdq('a'), labels.clone()),
        NewSignal::active(pdq('b'), Labels::default()),
        NewSignal::active(pdq('a'), Labels::default()),
    ];
    let added = store.add_signals("gifct", &batch, &by("alice")).await.expect("added");
    assert_eq!((added.added, added.known), (2, 1), "a repeat within the batch counts as known");
    let again = store.add_signals("gifct", &[NewSignal::active(pdq('a'), Labels::default())], &by("bob")).await.expect("added");
    assert_eq!((again.added, again.known), (0, 1));
    assert!(matches!(store.add_signals("nope", &batch, &by("alice")).await, Err(StoreError::NotFound(_))));

    let signals = store.bank_signals("gifct", 0, 100).await.expect("list");
    assert_eq!(signals.len(), 2);
    let a = signals.iter().find(|s| s.signal == pdq('a')).expect("a");
    assert_eq!((a.provenance.reference.as_str(), &a.labels), ("alice", &labels), "the first provenance and labels stay");
    assert!(signals.windows(2).all(|w| w[0].seq < w[1].seq), "in change order");

    let disputed = store.set_signal_state("gifct", a.num, SignalState::Disputed, "carol", "a cartoon").await.expect("disputed");
    assert!(disputed.seq > signals.iter().map(|s| s.seq).max().expect("some"), "a change takes a later number");
    assert!(matches!(store.set_signal_state("gifct", a.num, SignalState::Disputed, "carol", "again").await, Err(StoreError::Refused(_))));
    assert!(matches!(store.set_signal_state("gifct", 99_999, SignalState::Withdrawn, "carol", "x").await, Err(StoreError::NotFound(_))));
    assert!(
        matches!(store.set_signal_state("stay-down", a.num, SignalState::Withdrawn, "carol", "x").await, Err(StoreError::NotFound(_))),
        "numbers belong to their bank"
    );

    let changed = store.signal_keys(signals[1].seq, 100).await.expect("changes");
    assert_eq!(
        changed.iter().map(|s| (s.num, s.state)).collect::<Vec<_>>(),
        [(a.num, SignalState::Disputed)],
        "only what changed after the cursor"
    );
    assert_eq!(store.signals_matching(&pdq('b')).await.expect("query").len(), 1);
    let counts = store.bank_counts().await.expect("counts");
    assert_eq!(counts.get("gifct"), Some(&[1, 1, 0]));

    let (size, _) = store.log_head().await.expect("head");
    let types = log_types(&store.log_entries(0, size).await.expect("entries"));
    assert_eq!(types, ["bank.created", "bank.signals_added", "bank.signals_added", "bank.signal_state"], "refusals leave no entry");
    store.close().await;
}

async fn imported_signals_keep_the_state_and_provenance_their_file_gives(fresh: &Fresh) {
    let store = Store::open(fresh.url()).await.expect("opens");
    let new = NewBank {
        name: "copy".parse().expect("name"),
        description: String::new(),
        action: BankAction::Block,
        pdq_threshold: 31,
        video: Default::default(),
    };
    store.create_bank(&new, "", "admin").await.expect("made");
    let order =
        Provenance { source: "order".into(), reference: "01M8NBJZ9R3XRCERC33TX8ZJ43".into(), detail: "https://x.example/1.jpg".into() };
    let row = NewSignal { signal: pdq('c'), labels: Labels::default(), state: SignalState::Withdrawn, provenance: Some(order.clone()) };
    store.add_signals("copy", &[row], &by("importer")).await.expect("added");
    let kept = &store.bank_signals("copy", 0, 10).await.expect("list")[0];
    assert_eq!((kept.state, &kept.provenance), (SignalState::Withdrawn, &order));
    store.close().await;
}

mod keeping_signals {
    use super::*;
    crate::on_both!(signals_are_kept_once_with_their_first_provenance_and_changes_are_numbered);
}

mod keeping_videos {
    use super::*;
    crate::on_both!(a_whole_videos_features_are_one_signal_kept_once_per_bank);
}

mod importing_signals {
    use super::*;
    crate::on_both!(imported_signals_keep_the_state_and_provenance_their_file_gives);
}
