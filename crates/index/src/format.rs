//! The on-disk form of an [`Index`]: its packed tables as they are in memory, little-endian, so
//! loading is one copy with checks instead of a rebuild.
//!
//! Layout (all integers little-endian): `TOCSIDX\0`, version `u32` (2), parts `u32` (11), count
//! `n` `u64`, CRC-32 `u32` of everything after the 32-byte header, 4 zero bytes; `n` hashes of
//! four `u64`; `n` ids `u64`; then per part, `2^primary + 1` offsets `u32`, `n` slots `u32` and
//! `n` residuals `u8`.

use crate::Bits;
use crate::index::{Index, PARTS, Table};

const MAGIC: &[u8; 8] = b"TOCSIDX\0";
const VERSION: u32 = 2;
const HEADER: usize = 32;

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
    /// The checksum or the tables contradict the file (a damaged file).
    #[error("index file is damaged: {0}")]
    Damaged(&'static str),
}

fn offsets_len(primary: u32) -> usize {
    (1 << primary) + 1
}

/// Bytes of the whole file for `n` hashes, or `None` past `usize`.
fn file_len(n: usize) -> Option<usize> {
    let tables = PARTS.iter().map(|p| offsets_len(p.primary) * 4).sum::<usize>();
    n.checked_mul(32 + 8 + PARTS.len() * 5)?.checked_add(HEADER + tables)
}

impl Index {
    /// The on-disk form, with removed hashes left out and recent inserts packed in.
    pub fn to_bytes(&self) -> Vec<u8> {
        if !self.is_fully_packed() {
            return self.packed_copy().to_bytes();
        }
        let n = self.hashes.len();
        let mut out = Vec::with_capacity(file_len(n).expect("an index in memory fits its file in memory"));
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        out.extend_from_slice(&(PARTS.len() as u32).to_le_bytes());
        out.extend_from_slice(&(n as u64).to_le_bytes());
        out.extend_from_slice(&[0; 8]); // the checksum goes here once the body is written
        for h in &self.hashes {
            for w in h {
                out.extend_from_slice(&w.to_le_bytes());
            }
        }
        for id in &self.ids {
            out.extend_from_slice(&id.to_le_bytes());
        }
        for table in &self.tables {
            for v in table.offsets.iter().chain(&table.slots) {
                out.extend_from_slice(&v.to_le_bytes());
            }
            out.extend_from_slice(&table.residuals);
        }
        let crc = crc32fast::hash(&out[HEADER..]);
        out[24..28].copy_from_slice(&crc.to_le_bytes());
        out
    }

    /// Reads the on-disk form. A checksum over the body refuses damaged files; the offsets and
    /// slots are checked so that no file, however made, can send a search out of bounds.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, FormatError> {
        if bytes.len() < HEADER || &bytes[..8] != MAGIC {
            return Err(FormatError::NotAnIndex);
        }
        let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
        let version = u32_at(8);
        if version != VERSION {
            return Err(FormatError::Version(version));
        }
        if u32_at(12) as usize != PARTS.len() {
            return Err(FormatError::Damaged("part count"));
        }
        let n = u64::from_le_bytes(bytes[16..24].try_into().expect("8 bytes"));
        let n = usize::try_from(n).ok().filter(|&n| u32::try_from(n).is_ok()).ok_or(FormatError::Damaged("hash count"))?;
        let expected = file_len(n).ok_or(FormatError::Damaged("hash count"))?;
        if bytes.len() != expected {
            return Err(FormatError::Length { actual: bytes.len(), expected });
        }
        if crc32fast::hash(&bytes[HEADER..]) != u32_at(24) {
            return Err(FormatError::Damaged("checksum"));
        }
        let mut at = HEADER;
        let mut take = |len: usize| {
            let part = &bytes[at..at + len];
            at += len;
            part
        };
        let u64s = |b: &[u8]| -> Vec<u64> { b.chunks_exact(8).map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes"))).collect() };
        let u32s = |b: &[u8]| -> Vec<u32> { b.chunks_exact(4).map(|c| u32::from_le_bytes(c.try_into().expect("4 bytes"))).collect() };
        let word = |c: &[u8], w: usize| u64::from_le_bytes(c[w * 8..w * 8 + 8].try_into().expect("8 bytes"));
        let hashes: Vec<Bits> = take(n * 32).chunks_exact(32).map(|c| [word(c, 0), word(c, 1), word(c, 2), word(c, 3)]).collect();
        let ids = u64s(take(n * 8));
        let mut tables = Vec::with_capacity(PARTS.len());
        for p in &PARTS {
            let offsets = u32s(take(offsets_len(p.primary) * 4));
            let slots = u32s(take(n * 4));
            let residuals = take(n).to_vec();
            if offsets[0] != 0 || offsets[offsets.len() - 1] as usize != n || offsets.windows(2).any(|w| w[0] > w[1]) {
                return Err(FormatError::Damaged("table offsets"));
            }
            if slots.iter().fold(0, |m, &s| m.max(s)) as usize >= n && n > 0 {
                return Err(FormatError::Damaged("table slots"));
            }
            tables.push(Table { offsets, slots, residuals });
        }
        Ok(Self::from_tables(hashes, ids, tables))
    }
}
