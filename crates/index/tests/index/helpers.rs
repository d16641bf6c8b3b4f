//! Reference hash lists and a brute-force oracle.

use std::path::PathBuf;

use tocsin_hash::pdq::PdqHash;
use tocsin_index::{Bits, Match, distance};

/// The hashes of a file below `tests/data/pdq/reg-test-input`, one per line.
pub fn hash_list(name: &str) -> Vec<Bits> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/pdq/reg-test-input").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines().map(|l| l.trim().parse::<PdqHash>().unwrap_or_else(|e| panic!("{l}: {e}")).words()).collect()
}

/// What any index must return: every `(id, hash)` within `radius`, sorted by distance, then id.
pub fn brute_force(pairs: &[(u64, Bits)], query: &Bits, radius: u32) -> Vec<Match> {
    let mut out: Vec<Match> =
        pairs.iter().map(|(id, h)| Match { distance: distance(h, query), id: *id }).filter(|m| m.distance <= radius).collect();
    out.sort_unstable();
    out
}
