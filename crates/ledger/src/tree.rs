//! Tree hashes: the recursive definition over a list of leaves, and a compact tree that appends.

use crate::{Hash, node_hash};

/// The largest power of two below `n` (`n >= 2`): where RFC 9162 splits a tree of `n` leaves.
pub(crate) fn split(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (63 - (n - 1).leading_zeros())
}

/// The tree hash (RFC 9162 §2.1.1, `MTH`) of the leaves whose leaf hashes are given.
pub fn root(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => Hash::empty(),
        1 => leaves[0],
        n => {
            // In range: `split(n) < n`.
            let k = split(n as u64) as usize;
            node_hash(&root(&leaves[..k]), &root(&leaves[k..]))
        }
    }
}

/// A tree that grows by appending, keeping only the roots of its perfect subtrees (one per set
/// bit of the size): enough to give the root after every append, as a log's writer needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompactTree {
    size: u64,
    /// Roots of the perfect subtrees, largest (leftmost) first.
    peaks: Vec<Hash>,
}

impl CompactTree {
    /// The empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// A tree rebuilt from its size and peaks (as kept by a store), if they agree: one peak per
    /// set bit of the size.
    pub fn from_parts(size: u64, peaks: Vec<Hash>) -> Option<Self> {
        (size.count_ones() as usize == peaks.len()).then_some(Self { size, peaks })
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The peaks, largest first (for a store to keep).
    pub fn peaks(&self) -> &[Hash] {
        &self.peaks
    }

    /// Appends a leaf by its leaf hash.
    pub fn push(&mut self, leaf: Hash) {
        let mut carry = leaf;
        let mut size = self.size;
        // Each trailing one bit of the size is a peak of the same height as `carry`: merge.
        while size & 1 == 1 {
            let left = self.peaks.pop().expect("one peak per set bit of the size");
            carry = node_hash(&left, &carry);
            size >>= 1;
        }
        self.peaks.push(carry);
        self.size += 1;
    }

    /// The tree hash of all the leaves so far.
    pub fn root(&self) -> Hash {
        let mut peaks = self.peaks.iter().rev();
        let Some(&last) = peaks.next() else { return Hash::empty() };
        peaks.fold(last, |right, left| node_hash(left, &right))
    }
}
