//! The on-disk form: what is saved is what is found after loading, and damage is refused.

use proptest::prelude::*;
use tocsin_index::{Bits, FormatError, Index, LoadError};

use crate::helpers::{brute_force, hash_list};

proptest! {
    #![proptest_config(ProptestConfig { cases: 8, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn a_saved_index_answers_after_loading_as_before(
        bank in prop::collection::vec(any::<[u64; 4]>(), 0..300),
        later in prop::collection::vec(any::<[u64; 4]>(), 0..50),
        queries in prop::collection::vec(any::<[u64; 4]>(), 1..4),
    ) {
        let mut pairs: Vec<(u64, Bits)> = bank.iter().enumerate().map(|(i, h)| (i as u64, *h)).collect();
        let mut index = Index::from_pairs(pairs.iter().copied());
        for id in (0..bank.len() as u64).step_by(3) {
            index.remove(id);
        }
        pairs.retain(|(id, _)| id % 3 != 0);
        for (i, h) in later.iter().enumerate() {
            index.insert(1_000 + i as u64, *h);
            pairs.push((1_000 + i as u64, *h));
        }
        let loaded = Index::from_bytes(&index.to_bytes()).expect("loads");
        prop_assert_eq!(loaded.len(), pairs.len());
        // Queries near stored hashes too, so that matches are found, not only misses.
        let near: Vec<Bits> = pairs.iter().take(3).map(|(_, h)| [h[0] ^ 0xff, h[1], h[2], h[3]]).collect();
        for q in queries.iter().chain(&near) {
            for r in [0, 8, 31, 63] {
                prop_assert_eq!(loaded.search(q, r), brute_force(&pairs, q, r));
            }
        }
    }
}

#[test]
fn damaged_or_foreign_files_are_refused_with_the_reason() {
    let haystack = hash_list("haystack.txt");
    let bytes = Index::from_pairs(haystack.iter().enumerate().map(|(i, h)| (i as u64, *h))).to_bytes();
    assert!(Index::from_bytes(&bytes).is_ok());

    assert_eq!(Index::from_bytes(b"PNG and other things").err(), Some(FormatError::NotAnIndex));
    let mut newer = bytes.clone();
    newer[8] = 9;
    assert_eq!(Index::from_bytes(&newer).err(), Some(FormatError::Version(9)));
    assert!(matches!(Index::from_bytes(&bytes[..bytes.len() - 1]), Err(FormatError::Length { .. })));
    // Any flipped bit past the header, in a hash, an id or a table, fails the checksum.
    for at in [32, 32 + haystack.len() * 32, bytes.len() - 1] {
        let mut flipped = bytes.clone();
        flipped[at] ^= 1;
        assert_eq!(Index::from_bytes(&flipped).err(), Some(FormatError::Damaged("checksum")), "byte {at}");
    }
}

#[test]
fn a_file_with_a_good_checksum_but_a_slot_out_of_range_is_refused() {
    let haystack = hash_list("haystack.txt");
    // One hash: the first table (keyed by 18 bits) has one group, its residual byte then its slot.
    let mut bytes = Index::from_pairs([(7, haystack[0])]).to_bytes();
    let slot = 32 + 40 + ((1 << 18) + 1) * 4 + 1;
    assert_eq!(bytes[slot..slot + 4], 0u32.to_le_bytes(), "the only slot is 0");
    bytes[slot..slot + 4].copy_from_slice(&1u32.to_le_bytes());
    let crc = crc32fast::hash(&bytes[32..]);
    bytes[24..28].copy_from_slice(&crc.to_le_bytes());
    assert_eq!(Index::from_bytes(&bytes).err(), Some(FormatError::Damaged("table slots")));
}

#[test]
fn a_stream_yields_one_index_and_leaves_what_follows() {
    let haystack = hash_list("haystack.txt");
    let index = Index::from_pairs(haystack.iter().enumerate().map(|(i, h)| (i as u64, *h)));
    let mut stream = index.to_bytes();
    stream.extend_from_slice(b"next section");
    let mut reader = &stream[..];
    let loaded = Index::read_from(&mut reader).expect("loads");
    assert_eq!(reader, b"next section", "nothing past the index is consumed");
    assert_eq!(loaded.search(&haystack[7], 0), index.search(&haystack[7], 0));

    let cut = &stream[..stream.len() / 2];
    assert!(matches!(Index::read_from(&mut &cut[..]), Err(LoadError::Format(FormatError::Truncated))));
    assert!(matches!(Index::read_from(&mut &cut[..10]), Err(LoadError::Format(FormatError::NotAnIndex))));
}
