//! The on-disk form of an [`Index`]: its packed tables as they are in memory, little-endian, so
//! loading is one pass of copying with checks instead of a rebuild.
//!
//! Layout (all integers little-endian): `TOCSIDX\0`, version `u32` (1), words `u32` (16), count
//! `n` `u64`; `n` hashes of four `u64`; `n` ids `u64`; then per word, 65,537 offsets `u32` and
//! `n` postings `u32`.

use crate::Bits;
use crate::index::{Index, Packed, WORDS};

const MAGIC: &[u8; 8] = b"TOCSIDX\0";
const VERSION: u32 = 1;

/// Why bytes are not an index.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FormatError {
    /// The bytes do not start with the index signature.
    #[error("not a Tocsin index file")]
    NotAnIndex,
    /// A version this build cannot read.
    #[error("index format version {0}, this build reads version {VERSION}")]
    Version(u32),
    /// Shorter or longer than its header says.
    #[error("index file is {actual} bytes, its header implies {expected}")]
    Length {
        /// Bytes given.
        actual: usize,
        /// Bytes the header implies.
        expected: usize,
    },
    /// The tables contradict themselves (a damaged file).
    #[error("index file is damaged: {0}")]
    Damaged(&'static str),
}

fn offsets_len() -> usize {
    (1 << 16) + 1
}

impl Index {
    /// The on-disk form, with removed hashes left out and recent inserts packed in.
    pub fn to_bytes(&self) -> Vec<u8> {
        if !self.is_fully_packed() {
            return self.packed_copy().to_bytes();
        }
        let n = self.hashes.len();
        let mut out = Vec::with_capacity(24 + n * 40 + WORDS * (offsets_len() + n) * 4);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        out.extend_from_slice(&(WORDS as u32).to_le_bytes());
        out.extend_from_slice(&(n as u64).to_le_bytes());
        for h in &self.hashes {
            for w in h {
                out.extend_from_slice(&w.to_le_bytes());
            }
        }
        for id in &self.ids {
            out.extend_from_slice(&id.to_le_bytes());
        }
        for table in &self.packed {
            for v in table.offsets.iter().chain(&table.postings) {
                out.extend_from_slice(&v.to_le_bytes());
            }
        }
        out
    }

    /// Reads the on-disk form, checking every offset and posting so that a damaged file is
    /// refused rather than searched wrongly.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, FormatError> {
        if bytes.len() < 24 || &bytes[..8] != MAGIC {
            return Err(FormatError::NotAnIndex);
        }
        let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
        let version = u32_at(8);
        if version != VERSION {
            return Err(FormatError::Version(version));
        }
        if u32_at(12) as usize != WORDS {
            return Err(FormatError::Damaged("word count"));
        }
        let n = u64::from_le_bytes(bytes[16..24].try_into().expect("8 bytes"));
        let n = usize::try_from(n).ok().filter(|&n| u32::try_from(n).is_ok()).ok_or(FormatError::Damaged("hash count"))?;
        let expected = n
            .checked_mul(40 + WORDS * 4)
            .and_then(|x| x.checked_add(24 + WORDS * offsets_len() * 4))
            .ok_or(FormatError::Damaged("hash count"))?;
        if bytes.len() != expected {
            return Err(FormatError::Length { actual: bytes.len(), expected });
        }
        let u64s = |from: usize, count: usize| -> Vec<u64> {
            bytes[from..from + count * 8].chunks_exact(8).map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes"))).collect()
        };
        let u32s = |from: usize, count: usize| -> Vec<u32> {
            bytes[from..from + count * 4].chunks_exact(4).map(|c| u32::from_le_bytes(c.try_into().expect("4 bytes"))).collect()
        };
        let words = u64s(24, n * 4);
        let hashes: Vec<Bits> = words.chunks_exact(4).map(|c| [c[0], c[1], c[2], c[3]]).collect();
        let ids = u64s(24 + n * 32, n);
        let mut at = 24 + n * 40;
        let mut packed = Vec::with_capacity(WORDS);
        for w in 0..WORDS {
            let offsets = u32s(at, offsets_len());
            at += offsets_len() * 4;
            let postings = u32s(at, n);
            at += n * 4;
            if offsets[0] != 0 || offsets[offsets_len() - 1] as usize != n || offsets.windows(2).any(|p| p[0] > p[1]) {
                return Err(FormatError::Damaged("table offsets"));
            }
            // Every posting must name a hash whose word `w` is the bucket's value; this also
            // rules out postings past the end.
            for v in 0..1usize << 16 {
                for &slot in &postings[offsets[v] as usize..offsets[v + 1] as usize] {
                    let ok = hashes.get(slot as usize).is_some_and(|h| usize::from(crate::index::word(h, w)) == v);
                    if !ok {
                        return Err(FormatError::Damaged("table postings"));
                    }
                }
            }
            packed.push(Packed { offsets, postings });
        }
        Ok(Self::from_packed(hashes, ids, packed))
    }
}
