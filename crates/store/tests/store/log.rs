//! The Merkle log as stored: what is appended is what is read back, the stored head is the tree
//! of the stored entries, and it survives reopening and concurrent writers.

use tocsin_ledger::{inclusion_proof, leaf_hash, root, verify_inclusion};
use tocsin_store::Store;

use crate::helpers::Fresh;

async fn appended_entries_read_back_and_the_head_is_their_tree(fresh: &Fresh) {
    let store = Store::open(fresh.url()).await.expect("opens");
    assert_eq!(store.log_head().await.expect("head"), (0, tocsin_ledger::Hash::empty()));
    let data: Vec<Vec<u8>> = (0..20).map(|i| format!("{{\"event\":\"account.created\",\"n\":{i}}}").into_bytes()).collect();
    for (i, d) in data.iter().enumerate() {
        let appended = store.append_log(d).await.expect("appends");
        assert_eq!((appended.index, appended.size), (i as u64, i as u64 + 1));
    }
    let leaves: Vec<_> = data.iter().map(|d| leaf_hash(d)).collect();
    let (size, head) = store.log_head().await.expect("head");
    assert_eq!((size, head), (20, root(&leaves)));
    assert_eq!(store.log_entries(0, 100).await.expect("entries"), data, "clipped to the size");
    assert_eq!(store.log_entries(5, 7).await.expect("entries"), data[5..7]);
    let proof = inclusion_proof(&leaves, 13).expect("in range");
    verify_inclusion(&leaves[13], 13, size, &proof, &head).expect("entry 13 is in the stored tree");

    // Reopened, the log is where it was and grows from there.
    store.close().await;
    let store = Store::open(fresh.url()).await.expect("reopens");
    assert_eq!(store.log_head().await.expect("head"), (20, head));
    assert_eq!(store.append_log(b"after reopening").await.expect("appends").index, 20);
    store.close().await;
}

mod append_and_read {
    use super::*;
    crate::on_both!(appended_entries_read_back_and_the_head_is_their_tree);
}

async fn concurrent_writers_get_distinct_indexes_and_one_consistent_tree(fresh: &Fresh) {
    let store = Store::open(fresh.url()).await.expect("opens");
    let mut tasks = Vec::new();
    for writer in 0..4 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut got = Vec::new();
            for n in 0..15 {
                got.push(store.append_log(format!("writer {writer} entry {n}").as_bytes()).await.expect("appends").index);
            }
            got
        }));
    }
    let mut indexes = Vec::new();
    for task in tasks {
        indexes.extend(task.await.expect("writer finished"));
    }
    indexes.sort_unstable();
    assert_eq!(indexes, (0..60).collect::<Vec<u64>>(), "every index once");
    let entries = store.log_entries(0, 60).await.expect("entries");
    let leaves: Vec<_> = entries.iter().map(|d| leaf_hash(d)).collect();
    assert_eq!(store.log_head().await.expect("head"), (60, root(&leaves)));
    store.close().await;
}

mod concurrent_writers {
    use super::*;
    crate::on_both!(concurrent_writers_get_distinct_indexes_and_one_consistent_tree);
}
