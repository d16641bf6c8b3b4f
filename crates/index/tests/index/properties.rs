//! For random and clustered banks, before and after changes, the index answers exactly what a
//! brute-force comparison answers.

use proptest::prelude::*;
use tocsin_index::{Bits, Index, Strategy as Search};

use crate::helpers::brute_force;

/// Flips `n` distinct bits chosen by `seed`.
fn flip(mut h: Bits, n: u32, mut seed: u64) -> Bits {
    let mut flipped = 0u32;
    let mut done = [0u64; 4];
    while flipped < n {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        let bit = (seed >> 56) as usize; // 0..256
        if done[bit / 64] >> (bit % 64) & 1 == 0 {
            done[bit / 64] |= 1 << (bit % 64);
            h[bit / 64] ^= 1 << (bit % 64);
            flipped += 1;
        }
    }
    h
}

fn bits() -> impl Strategy<Value = Bits> {
    any::<[u64; 4]>()
}

/// A bank as real ones are: many near variants (0 to 40 bits off) of a few base pictures,
/// plus unrelated hashes.
fn clustered(size: usize) -> impl Strategy<Value = Vec<Bits>> {
    (prop::collection::vec(bits(), 1..6), any::<u64>()).prop_map(move |(bases, seed)| {
        (0..size as u64)
            .map(|i| {
                let s = seed ^ i.wrapping_mul(0x9e37_79b9_7f4a_7c15);
                if i % 5 == 0 {
                    flip(bases[0], 128, s) // far from everything
                } else {
                    flip(bases[(s % bases.len() as u64) as usize], (s >> 32) as u32 % 41, s)
                }
            })
            .collect()
    })
}

const RADII: [u32; 7] = [0, 1, 15, 16, 31, 32, 63];

fn check(pairs: &[(u64, Bits)], index: &Index, queries: &[Bits]) -> Result<(), TestCaseError> {
    for r in RADII {
        let want: Vec<_> = queries.iter().map(|q| brute_force(pairs, q, r)).collect();
        for strategy in [Search::Auto, Search::MultiIndex, Search::Scan] {
            for (q, want) in queries.iter().zip(&want) {
                prop_assert_eq!(&index.search_using(q, r, strategy), want, "{:?} radius {}", strategy, r);
            }
        }
    }
    Ok(())
}

/// Queries: some stored hashes moved by 0 to 35 bits, and some random ones.
fn queries_near(bank: &[Bits], random: &[Bits], seed: u64) -> Vec<Bits> {
    let mut q: Vec<Bits> =
        (0..12u64).map(|k| flip(bank[(seed.wrapping_add(k * 7919) % bank.len() as u64) as usize], (k * 3) as u32, seed ^ k)).collect();
    q.extend_from_slice(random);
    q
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_banks_answer_as_brute_force(bank in prop::collection::vec(bits(), 1..600), random in prop::collection::vec(bits(), 3), seed: u64) {
        let pairs: Vec<(u64, Bits)> = bank.iter().enumerate().map(|(i, h)| (i as u64 / 2, *h)).collect();
        let index = Index::from_pairs(pairs.iter().copied());
        check(&pairs, &index, &queries_near(&bank, &random, seed))?;
    }

    #[test]
    fn clustered_banks_answer_as_brute_force_after_inserts_and_removals(
        bank in clustered(1500),
        later in clustered(300),
        random in prop::collection::vec(bits(), 2),
        seed: u64,
    ) {
        let mut pairs: Vec<(u64, Bits)> = bank.iter().enumerate().map(|(i, h)| (i as u64, *h)).collect();
        let mut index = Index::from_pairs(pairs.iter().copied());
        check(&pairs, &index, &queries_near(&bank, &random, seed))?;

        // A day's changes: a third of the ids withdrawn, new hashes added (some under old ids).
        for id in (0..bank.len() as u64).filter(|id| (id ^ seed) % 3 == 0) {
            prop_assert_eq!(index.remove(id), 1);
        }
        pairs.retain(|(id, _)| (id ^ seed) % 3 != 0);
        for (i, h) in later.iter().enumerate() {
            let id = if i % 4 == 0 { i as u64 } else { 10_000 + i as u64 };
            index.insert(id, *h);
            pairs.push((id, *h));
        }
        prop_assert_eq!(index.len(), pairs.len());
        check(&pairs, &index, &queries_near(&later, &random, seed))?;
    }
}
