//! The on-disk form of an [`Index`]: its packed tables as they are in memory, little-endian, so
//! that loading is one read straight into the tables, a checksum and a few checks, with no
//! rebuild and no second copy.
//!
//! Layout (all integers little-endian): `TOCSIDX\0`, version `u32` (3), parts `u32` (11), count
//! `n` `u64`, CRC-32 `u32` of everything after the 32-byte header, 4 zero bytes; `n` hashes of
//! four `u64`; `n` ids `u64`; then per part, `2^primary + 1` offsets `u32` and the `5 n` bytes of
//! its groups (each group's residuals, then its slots as `u32`).

use std::borrow::Cow;
use std::io::{self, Read, Write};

use crate::Bits;
use crate::big::Big;
use crate::index::{Index, PARTS, POSTING, Table};

const MAGIC: &[u8; 8] = b"TOCSIDX\0";
const VERSION: u32 = 3;
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
    /// The data ends before the header says it does.
    #[error("index file ends early")]
    Truncated,
    /// The checksum or the tables contradict the file (a damaged file).
    #[error("index file is damaged: {0}")]
    Damaged(&'static str),
}

/// Why an index could not be read from a stream.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// The stream failed.
    #[error("reading the index: {0}")]
    Io(#[from] io::Error),
    /// The stream is not a sound index.
    #[error(transparent)]
    Format(#[from] FormatError),
}

fn offsets_len(primary: u32) -> usize {
    (1 << primary) + 1
}

/// Bytes of the whole file for `n` hashes, or `None` past `usize`.
fn file_len(n: usize) -> Option<usize> {
    let tables = PARTS.iter().map(|p| offsets_len(p.primary) * 4).sum::<usize>();
    n.checked_mul(32 + 8 + PARTS.len() * POSTING)?.checked_add(HEADER + tables)
}

/// Element types stored as little-endian words: on little-endian machines their memory is the
/// file's bytes, elsewhere each word is swapped.
trait Words: bytemuck::Pod {
    fn swap_words(values: &mut [Self]);
}

impl Words for u8 {
    fn swap_words(_: &mut [Self]) {}
}

impl Words for u32 {
    fn swap_words(values: &mut [Self]) {
        values.iter_mut().for_each(|v| *v = v.swap_bytes());
    }
}

impl Words for u64 {
    fn swap_words(values: &mut [Self]) {
        values.iter_mut().for_each(|v| *v = v.swap_bytes());
    }
}

impl Words for Bits {
    fn swap_words(values: &mut [Self]) {
        u64::swap_words(bytemuck::cast_slice_mut(values));
    }
}

/// The file bytes of `values`: their own memory on little-endian machines.
fn le_bytes<T: Words>(values: &[T]) -> Cow<'_, [u8]> {
    if cfg!(target_endian = "little") {
        Cow::Borrowed(bytemuck::cast_slice(values))
    } else {
        let mut copy = values.to_vec();
        T::swap_words(&mut copy);
        Cow::Owned(bytemuck::cast_slice(&copy).to_vec())
    }
}

/// Reads `len` values straight into their vector, feeding the checksum.
fn read_values<T: Words>(r: &mut impl Read, len: usize, crc: &mut crc32fast::Hasher) -> Result<Big<T>, LoadError> {
    let mut values = Big::zeroed(len);
    let bytes: &mut [u8] = bytemuck::cast_slice_mut(&mut values);
    r.read_exact(bytes)
        .map_err(|e| if e.kind() == io::ErrorKind::UnexpectedEof { FormatError::Truncated.into() } else { LoadError::Io(e) })?;
    crc.update(bytes);
    if cfg!(target_endian = "big") {
        T::swap_words(&mut values);
    }
    Ok(values)
}

impl Index {
    /// Writes the on-disk form, with removed hashes left out and recent inserts packed in.
    pub fn write_to(&self, w: &mut impl Write) -> io::Result<()> {
        if !self.is_fully_packed() {
            return self.packed_copy().write_to(w);
        }
        let mut sections = vec![le_bytes(&self.hashes), le_bytes(&self.ids)];
        for table in &self.tables {
            sections.extend([le_bytes(&table.offsets), Cow::Borrowed(&table.groups[..])]);
        }
        let mut crc = crc32fast::Hasher::new();
        sections.iter().for_each(|s| crc.update(s));
        let mut header = Vec::with_capacity(HEADER);
        header.extend_from_slice(MAGIC);
        header.extend_from_slice(&VERSION.to_le_bytes());
        header.extend_from_slice(&(PARTS.len() as u32).to_le_bytes());
        header.extend_from_slice(&(self.hashes.len() as u64).to_le_bytes());
        header.extend_from_slice(&crc.finalize().to_le_bytes());
        header.extend_from_slice(&[0; 4]);
        w.write_all(&header)?;
        sections.iter().try_for_each(|s| w.write_all(s))
    }

    /// The on-disk form in memory (see [`Index::write_to`]).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write_to(&mut out).expect("writing to memory cannot fail");
        out
    }

    /// Reads one index in its on-disk form from `r`, and nothing after it. A checksum over the
    /// body refuses damaged files; the offsets and slots are checked so that no file, however
    /// made, can send a search out of bounds.
    pub fn read_from(r: &mut impl Read) -> Result<Self, LoadError> {
        let mut header = [0u8; HEADER];
        r.read_exact(&mut header)
            .map_err(|e| if e.kind() == io::ErrorKind::UnexpectedEof { FormatError::NotAnIndex.into() } else { LoadError::Io(e) })?;
        let n = Self::check_header(&header)?;
        let mut crc = crc32fast::Hasher::new();
        let hashes: Big<Bits> = read_values(r, n, &mut crc)?;
        let ids: Big<u64> = read_values(r, n, &mut crc)?;
        let mut tables = Vec::with_capacity(PARTS.len());
        for p in &PARTS {
            let offsets: Big<u32> = read_values(r, offsets_len(p.primary), &mut crc)?;
            let groups: Big<u8> = read_values(r, n * POSTING, &mut crc)?;
            tables.push(Table { offsets, groups });
        }
        if crc.finalize().to_le_bytes() != header[24..28] {
            return Err(FormatError::Damaged("checksum").into());
        }
        for table in &tables {
            let offsets = &table.offsets;
            if offsets[0] != 0 || offsets[offsets.len() - 1] as usize != n || offsets.windows(2).any(|w| w[0] > w[1]) {
                return Err(FormatError::Damaged("table offsets").into());
            }
            // Each group's slots follow its residuals: the largest slot must name a hash.
            let mut largest = 0;
            for w in offsets.windows(2) {
                let (a, b) = (w[0] as usize, w[1] as usize);
                let slots = &table.groups[POSTING * a + (b - a)..POSTING * b];
                largest = slots.chunks_exact(4).fold(largest, |m, s| m.max(u32::from_le_bytes(s.try_into().expect("4 bytes"))));
            }
            if n > 0 && largest as usize >= n {
                return Err(FormatError::Damaged("table slots").into());
            }
        }
        Ok(Self::from_tables(hashes, ids, tables))
    }

    /// Reads the on-disk form from memory; the bytes must be exactly one index.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, FormatError> {
        let header: &[u8; HEADER] = bytes.get(..HEADER).and_then(|h| h.try_into().ok()).ok_or(FormatError::NotAnIndex)?;
        let n = Self::check_header(header)?;
        let expected = file_len(n).ok_or(FormatError::Damaged("hash count"))?;
        if bytes.len() != expected {
            return Err(FormatError::Length { actual: bytes.len(), expected });
        }
        Self::read_from(&mut &bytes[..]).map_err(|e| match e {
            LoadError::Format(e) => e,
            // Reading from memory fails only at the end, which the length check rules out.
            LoadError::Io(_) => FormatError::Truncated,
        })
    }

    /// The hash count, if the header is one this build reads.
    fn check_header(header: &[u8; HEADER]) -> Result<usize, FormatError> {
        if &header[..8] != MAGIC {
            return Err(FormatError::NotAnIndex);
        }
        let u32_at = |at: usize| u32::from_le_bytes(header[at..at + 4].try_into().expect("4 bytes"));
        let version = u32_at(8);
        if version != VERSION {
            return Err(FormatError::Version(version));
        }
        if u32_at(12) as usize != PARTS.len() {
            return Err(FormatError::Damaged("part count"));
        }
        let n = u64::from_le_bytes(header[16..24].try_into().expect("8 bytes"));
        let n = usize::try_from(n).ok().filter(|&n| u32::try_from(n).is_ok() && file_len(n).is_some());
        n.ok_or(FormatError::Damaged("hash count"))
    }
}
