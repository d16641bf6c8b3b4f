//! The 256-bit PDQ hash value: its bit layout, hex form and Hamming distance.

use std::fmt;
use std::str::FromStr;

/// A 256-bit PDQ hash.
///
/// Bit `k` (`k = i * 16 + j` for DCT coefficient `(i, j)`) is bit `k % 64` of word `k / 64`.
/// The text form is the reference's: 64 lowercase hex digits, the big-endian hex of
/// `sum(bit_k * 2^k)`, so DCT coefficient `(0, 0)` is the lowest bit of the last digit.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct PdqHash([u64; 4]);

/// Why a string is not a PDQ hash.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseHashError {
    /// The text is not 64 characters long.
    #[error("a PDQ hash is 64 hex digits, got {0} characters")]
    Length(usize),
    /// A character is not a hex digit.
    #[error("a PDQ hash is 64 hex digits, found {found:?} at position {position}")]
    NotHex {
        /// The offending character.
        found: char,
        /// Its 0-based character position.
        position: usize,
    },
}

impl PdqHash {
    /// Number of bits in a hash.
    pub const BITS: u32 = 256;

    /// Builds a hash from its four 64-bit words, least significant word first.
    pub const fn from_words(words: [u64; 4]) -> Self {
        Self(words)
    }

    /// The four 64-bit words, least significant first (bit `k` is `words[k / 64] >> (k % 64)`).
    pub const fn words(&self) -> [u64; 4] {
        self.0
    }

    /// The hash as 32 bytes in the order of its hex form (most significant byte first).
    pub fn to_be_bytes(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        for (chunk, word) in out.chunks_exact_mut(8).zip(self.0.iter().rev()) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
        out
    }

    /// Builds a hash from 32 bytes in the order of its hex form.
    pub fn from_be_bytes(bytes: [u8; 32]) -> Self {
        let mut words = [0u64; 4];
        for (word, chunk) in words.iter_mut().rev().zip(bytes.chunks_exact(8)) {
            let mut b = [0u8; 8];
            b.copy_from_slice(chunk);
            *word = u64::from_be_bytes(b);
        }
        Self(words)
    }

    /// Whether bit `k` (0..256) is set.
    pub const fn bit(&self, k: usize) -> bool {
        (self.0[k / 64] >> (k % 64)) & 1 == 1
    }

    /// Sets bit `k` (0..256).
    pub(crate) fn set_bit(&mut self, k: usize) {
        self.0[k / 64] |= 1 << (k % 64);
    }

    /// Hamming distance: the number of bits that differ.
    pub const fn distance(&self, other: &Self) -> u32 {
        (self.0[0] ^ other.0[0]).count_ones()
            + (self.0[1] ^ other.0[1]).count_ones()
            + (self.0[2] ^ other.0[2]).count_ones()
            + (self.0[3] ^ other.0[3]).count_ones()
    }

    /// Number of set bits.
    pub const fn count_ones(&self) -> u32 {
        self.0[0].count_ones() + self.0[1].count_ones() + self.0[2].count_ones() + self.0[3].count_ones()
    }
}

impl fmt::Display for PdqHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for word in self.0.iter().rev() {
            write!(f, "{word:016x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for PdqHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PdqHash({self})")
    }
}

impl FromStr for PdqHash {
    type Err = ParseHashError;

    /// Parses 64 hex digits, either case; nothing else is accepted (no prefix, no spaces).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let count = s.chars().count();
        if count != 64 || s.len() != 64 {
            return Err(ParseHashError::Length(count));
        }
        let mut bytes = [0u8; 32];
        for (position, c) in s.chars().enumerate() {
            let nibble = c.to_digit(16).ok_or(ParseHashError::NotHex { found: c, position })?;
            // `to_digit(16)` is at most 15, so the cast cannot truncate.
            bytes[position / 2] |= (nibble as u8) << if position % 2 == 0 { 4 } else { 0 };
        }
        Ok(Self::from_be_bytes(bytes))
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for PdqHash {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for PdqHash {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dct_coefficient_zero_is_the_lowest_bit_of_the_last_hex_digit() {
        let mut h = PdqHash::default();
        h.set_bit(0);
        assert_eq!(h.to_string(), format!("{}1", "0".repeat(63)));
        let mut h = PdqHash::default();
        h.set_bit(255);
        assert_eq!(h.to_string(), format!("8{}", "0".repeat(63)));
        let mut h = PdqHash::default();
        h.set_bit(16); // word 1 of 16 bits, bit 0: the last digit of the second-to-last group of four
        assert_eq!(h.to_string(), format!("{}00010000", "0".repeat(56)));
    }

    #[test]
    fn hex_round_trips_and_accepts_upper_case() {
        let text = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";
        let h: PdqHash = text.parse().expect("valid");
        assert_eq!(h.to_string(), text);
        let upper: PdqHash = text.to_uppercase().parse().expect("valid");
        assert_eq!(upper, h);
        assert_eq!(PdqHash::from_be_bytes(h.to_be_bytes()), h);
    }

    #[test]
    fn malformed_hex_is_rejected_with_the_reason() {
        assert_eq!("abc".parse::<PdqHash>(), Err(ParseHashError::Length(3)));
        let bad = format!("{}g", "0".repeat(63));
        assert_eq!(bad.parse::<PdqHash>(), Err(ParseHashError::NotHex { found: 'g', position: 63 }));
        let multibyte = format!("{}é", "0".repeat(62));
        assert!(multibyte.parse::<PdqHash>().is_err());
    }

    #[test]
    fn distance_counts_differing_bits() {
        let a = PdqHash::from_words([0, 0, 0, 0]);
        let b = PdqHash::from_words([1, u64::MAX, 0, 1 << 63]);
        assert_eq!(a.distance(&b), 66);
        assert_eq!(b.distance(&b), 0);
        assert_eq!(b.count_ones(), 66);
    }
}
