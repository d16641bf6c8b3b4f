//! The check an outside reviewer makes of a log as a node serves it: every entry present and in
//! order, each entry's data matching the leaf hash served with it, and all of them making the
//! signed root. `tocsin log verify` and the console's log page both run it.

use crate::{Hash, leaf_hash, root};

/// Something wrong with a served log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LogFault {
    /// Entries `from..=to` were not served (dropped from the log).
    #[error("entries {from} to {to}: missing (dropped from the log)")]
    Missing {
        /// The first missing index.
        from: u64,
        /// The last missing index.
        to: u64,
    },
    /// The entry's data does not hash to the leaf hash served with it.
    #[error("entry {0}: its data does not match the leaf hash written with it (rewritten)")]
    Rewritten(u64),
    /// More or fewer entries than the head counts.
    #[error("the log serves {served} entries, its head says {size}")]
    Count {
        /// Entries served.
        served: u64,
        /// The head's size.
        size: u64,
    },
    /// The entries make another root than the signed one.
    #[error("the entries do not make the signed root (an entry and its leaf hash were rewritten together)")]
    Root,
}

/// The check, fed the served entries in order, page by page.
#[derive(Debug, Default)]
pub struct Audit {
    leaves: Vec<Hash>,
    next: u64,
    faults: Vec<LogFault>,
}

impl Audit {
    /// A check with nothing read yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The index the next entry should have.
    pub fn next(&self) -> u64 {
        self.next
    }

    /// Checks one served entry: its index, and its data against the leaf hash served with it.
    pub fn entry(&mut self, index: u64, data: &[u8], served_leaf: &Hash) {
        if index > self.next {
            self.faults.push(LogFault::Missing { from: self.next, to: index - 1 });
        }
        let leaf = leaf_hash(data);
        if leaf != *served_leaf {
            self.faults.push(LogFault::Rewritten(index));
        }
        self.leaves.push(leaf);
        self.next = self.next.max(index + 1);
    }

    /// Entries read so far.
    pub fn len(&self) -> u64 {
        self.leaves.len() as u64
    }

    /// Whether no entry was read.
    pub fn is_empty(&self) -> bool {
        self.leaves.is_empty()
    }

    /// Every fault found, given the signed head's size and root (none: the log is what the head
    /// says).
    pub fn finish(mut self, size: u64, signed_root: &Hash) -> Vec<LogFault> {
        if self.leaves.len() as u64 != size {
            self.faults.push(LogFault::Count { served: self.leaves.len() as u64, size });
        } else if root(&self.leaves) != *signed_root {
            self.faults.push(LogFault::Root);
        }
        self.faults
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(n: u64) -> (Vec<Vec<u8>>, Hash) {
        let data: Vec<Vec<u8>> = (0..n).map(|i| format!("entry {i}").into_bytes()).collect();
        let leaves: Vec<Hash> = data.iter().map(|d| leaf_hash(d)).collect();
        (data, root(&leaves))
    }

    #[test]
    fn a_whole_log_passes_and_each_kind_of_tampering_is_named() {
        let (data, signed) = log(5);
        let mut audit = Audit::new();
        for (i, d) in data.iter().enumerate() {
            audit.entry(i as u64, d, &leaf_hash(d));
        }
        assert_eq!(audit.finish(5, &signed), vec![]);

        let mut dropped = Audit::new();
        for i in [0u64, 1, 3, 4] {
            dropped.entry(i, &data[i as usize], &leaf_hash(&data[i as usize]));
        }
        assert_eq!(dropped.finish(5, &signed), vec![LogFault::Missing { from: 2, to: 2 }, LogFault::Count { served: 4, size: 5 }]);

        let mut rewritten = Audit::new();
        for (i, d) in data.iter().enumerate() {
            let served = if i == 3 { b"forged".to_vec() } else { d.clone() };
            rewritten.entry(i as u64, &served, &leaf_hash(d));
        }
        assert_eq!(rewritten.finish(5, &signed), vec![LogFault::Rewritten(3), LogFault::Root]);

        let mut both = Audit::new();
        for (i, d) in data.iter().enumerate() {
            let served = if i == 1 { b"forged".to_vec() } else { d.clone() };
            both.entry(i as u64, &served, &leaf_hash(&served));
        }
        assert_eq!(both.finish(5, &signed), vec![LogFault::Root]);
    }
}
