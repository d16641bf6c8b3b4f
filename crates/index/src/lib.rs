//! Exact search in Hamming space over 256-bit hashes (PDQ): every stored hash within a radius of
//! the query, with its distance.
//!
//! Two strategies give the same answers: [`scan`], a brute-force XOR and popcount over every
//! hash (vectorised for the CPU at hand), and the multi-index in [`Index`], which cuts each hash
//! into 11 parts and by the (generalised) pigeonhole principle only looks at hashes that agree
//! with the query to within a few bits on some part (exact for radii up to 31, PDQ's match
//! threshold). The crate does no I/O.

mod big;
mod format;
mod index;
pub mod scan;
pub mod video;

pub use format::{FormatError, LoadError};
pub use index::{Index, IndexStats, Strategy};

/// A 256-bit hash as four 64-bit words, least significant first (the layout of
/// `tocsin_hash::pdq::PdqHash::words`).
pub type Bits = [u64; 4];

/// Number of bits that differ between two hashes.
#[inline(always)]
pub fn distance(a: &Bits, b: &Bits) -> u32 {
    (a[0] ^ b[0]).count_ones() + (a[1] ^ b[1]).count_ones() + (a[2] ^ b[2]).count_ones() + (a[3] ^ b[3]).count_ones()
}

/// A stored hash found near a query. Ordered by distance, then id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Match {
    /// Hamming distance to the query.
    pub distance: u32,
    /// The id the hash was stored under.
    pub id: u64,
}

/// Deterministic pseudo-random hashes for unit tests (xorshift64).
#[cfg(test)]
pub(crate) fn test_hashes(seed: u64, count: usize) -> Vec<Bits> {
    let mut x = seed.max(1);
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    (0..count).map(|_| [next(), next(), next(), next()]).collect()
}
