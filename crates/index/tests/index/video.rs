//! Video matching: Meta's percentages for its shipped vPDQ hash files, and the video index giving
//! exactly the brute force's shares for videos that share many near frames.

use std::path::PathBuf;

use proptest::prelude::*;
use tocsin_hash::pdq::PdqHash;
use tocsin_index::video::{Frame, Shares, VideoIndex, shares};

/// A vPDQ hash file in Meta's C++ form (`frame,quality,hex,timestamp` a line).
fn vpdq_file(name: &str) -> Vec<Frame> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/vpdq/sample-hashes").join(format!("{name}.txt"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .map(|l| {
            let fields: Vec<&str> = l.split(',').collect();
            let bits = fields[2].parse::<PdqHash>().unwrap_or_else(|e| panic!("{l}: {e}")).words();
            Frame { bits, quality: fields[1].parse().unwrap_or_else(|e| panic!("{l}: {e}")) }
        })
        .collect()
}

/// Percentages as Meta's `match-hashes-brute` prints them (`%0.2f`).
fn printed(s: Shares) -> (String, String) {
    (format!("{:.2}", s.query_percent()), format!("{:.2}", s.target_percent()))
}

#[test]
fn the_shipped_files_match_with_metas_percentages_at_distance_31_and_quality_50() {
    let grey = vpdq_file("pattern-sd-grey-bar");
    let cases = [
        ("pattern-sd-with-small-logo-bar", "99.51", "99.51"),
        ("pattern-sd-with-large-logo-bar", "0.97", "0.97"),
        ("doorknob-hd-no-bar", "0.00", "0.00"),
    ];
    let targets: Vec<Vec<Frame>> = cases.iter().map(|(name, ..)| vpdq_file(name)).collect();
    let index = VideoIndex::build(50, targets.iter().enumerate().map(|(i, f)| (i as u64, &f[..]))).expect("fits");
    let found = index.search(&grey, 31);
    for (i, (name, query, target)) in cases.iter().enumerate() {
        let brute = shares(&grey, &targets[i], 31, 50);
        assert_eq!(printed(brute), (query.to_string(), target.to_string()), "{name} by brute force");
        let indexed =
            found.iter().find(|m| m.video == i as u64).map_or(Shares { target_frames: brute.target_frames, ..brute }, |m| m.shares);
        assert_eq!(printed(indexed), (query.to_string(), target.to_string()), "{name} through the index");
    }
    assert!(!found.iter().any(|m| m.video == 2), "the doorknob shares no frame with the pattern");
}

/// Flips `n` bits of `h` picked by `seed`, possibly the same bit twice (so at most `n`).
fn nudge(mut h: [u64; 4], n: u32, mut seed: u64) -> [u64; 4] {
    for _ in 0..n {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        let bit = (seed >> 56) as usize;
        h[bit / 64] ^= 1 << (bit % 64);
    }
    h
}

/// Videos made of near copies of a few scenes, with mixed qualities: many frames of each match
/// many frames of the others, as re-encodes of one clip do.
fn videos() -> impl Strategy<Value = Vec<Vec<Frame>>> {
    (prop::collection::vec(any::<[u64; 4]>(), 1..4), prop::collection::vec((1usize..40, any::<u64>()), 1..12)).prop_map(
        |(scenes, shapes)| {
            shapes
                .into_iter()
                .map(|(len, seed)| {
                    (0..len as u64)
                        .map(|i| {
                            let s = seed ^ i.wrapping_mul(0x9e37_79b9_7f4a_7c15);
                            let scene = scenes[(s % scenes.len() as u64) as usize];
                            Frame { bits: nudge(scene, (s >> 40) as u32 % 40, s), quality: [30, 49, 50, 80, 100][(s >> 20) as usize % 5] }
                        })
                        .collect()
                })
                .collect()
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn the_index_gives_the_brute_forces_shares_for_every_video_it_finds(bank in videos(), query in videos(), radius in 0u32..32) {
        let query = &query[0];
        let index = VideoIndex::build(50, bank.iter().enumerate().map(|(i, f)| (i as u64, &f[..]))).expect("fits");
        let found = index.search(query, radius);
        for (i, target) in bank.iter().enumerate() {
            let want = shares(query, target, radius, 50);
            match found.iter().find(|m| m.video == i as u64) {
                Some(m) => {
                    prop_assert_eq!(m.shares, want, "video {}", i);
                    // The frames it names are the query's trusted frames near some frame of it.
                    let hits: Vec<u32> = (0..query.len() as u32)
                        .filter(|&q| {
                            let f = &query[q as usize];
                            f.quality >= 50 && target.iter().any(|t| t.quality >= 50 && tocsin_index::distance(&t.bits, &f.bits) <= radius)
                        })
                        .collect();
                    prop_assert_eq!(&m.query_hits, &hits, "video {}", i);
                }
                None => prop_assert_eq!(want.query_matched, 0, "video {} was missed", i),
            }
        }
        // Removing and adding again changes nothing.
        let mut changed = index.clone();
        prop_assert!(changed.remove(0));
        changed.insert(0, &bank[0]).expect("fits");
        prop_assert_eq!(changed.search(query, radius), found);
    }
}
