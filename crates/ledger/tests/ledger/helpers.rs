//! Small makers shared by the tests.

use tocsin_ledger::{Hash, leaf_hash};

/// A hash from its hex text.
pub fn h(hex: &str) -> Hash {
    hex.parse().expect("64 hex digits")
}

/// Leaf hashes of `n` distinct entries.
pub fn leaves(n: usize) -> Vec<Hash> {
    (0..n).map(|i| leaf_hash(format!("entry {i}").as_bytes())).collect()
}
