//! SHA-256 hashes and the two domain-separated hashing rules of RFC 9162 §2.1.1.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};

/// A SHA-256 hash: a leaf hash, a subtree hash or a tree's root.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Hash(pub [u8; 32]);

impl Hash {
    /// The root of the empty tree: SHA-256 of nothing.
    pub fn empty() -> Self {
        Self(Sha256::digest([]).into())
    }
}

/// The hash of a leaf: `SHA-256(0x00 || data)`.
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0x00]);
    h.update(data);
    Hash(h.finalize().into())
}

/// The hash of an interior node: `SHA-256(0x01 || left || right)`. The prefixes keep a leaf from
/// passing for a node (second-preimage attacks on the tree).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([0x01]);
    h.update(left.0);
    h.update(right.0);
    Hash(h.finalize().into())
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({self})")
    }
}

/// Why a text is not a hash.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a hash is 64 hex digits")]
pub struct HashParseError;

impl FromStr for Hash {
    type Err = HashParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.as_bytes();
        if s.len() != 64 {
            return Err(HashParseError);
        }
        let digit = |c: u8| (c as char).to_digit(16).ok_or(HashParseError);
        let mut out = [0u8; 32];
        for (i, pair) in s.chunks_exact(2).enumerate() {
            // Two hex digits make a byte.
            out[i] = (digit(pair[0])? * 16 + digit(pair[1])?) as u8;
        }
        Ok(Self(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_read_back_what_they_print_and_refuse_anything_else() {
        let h = leaf_hash(b"entry");
        assert_eq!(h.to_string().parse::<Hash>(), Ok(h));
        assert_eq!(h.to_string().to_uppercase().parse::<Hash>(), Ok(h));
        for bad in ["", "00", &"0".repeat(63), &"0".repeat(65), &"g".repeat(64), &format!("{}é", "0".repeat(62))] {
            assert_eq!(bad.parse::<Hash>(), Err(HashParseError), "{bad:?}");
        }
    }

    #[test]
    fn leaves_and_nodes_hash_apart() {
        // A node's 64 bytes given as a leaf's data must not give the node's hash.
        let (a, b) = (leaf_hash(b"a"), leaf_hash(b"b"));
        let concatenated: Vec<u8> = a.0.iter().chain(&b.0).copied().collect();
        assert_ne!(leaf_hash(&concatenated), node_hash(&a, &b));
    }
}
