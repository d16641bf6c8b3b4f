//! The Merkle log's mathematics, as RFC 9162 (Certificate Transparency 2.0) defines it: leaf and
//! node hashes, the tree hash of a list of leaves, inclusion and consistency proofs and their
//! verification, and a compact tree that appends leaves keeping only O(log n) hashes.
//!
//! Every state change of a node becomes a leaf; an outside reviewer who holds a signed tree head
//! can check that an entry is in the log (inclusion) and that a later log extends an earlier one
//! without rewriting it (consistency). The crate does no I/O.

mod audit;
mod hash;
mod proof;
mod tree;

pub use audit::{Audit, LogFault};
pub use hash::{Hash, HashParseError, leaf_hash, node_hash};
pub use proof::{ProofError, consistency_proof, inclusion_proof, verify_consistency, verify_inclusion};
pub use tree::{CompactTree, root};
