//! Message ids: ULIDs (48-bit millisecond time, 80 random bits, 26 characters of Crockford's
//! base32), so that ids sort by the time they were made and never need a central counter.

use std::fmt;

const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A ULID. Made from a time and caller-supplied randomness (this crate does no I/O), or parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ulid(u128);

/// Why a string is not a ULID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UlidError {
    /// Not 26 characters.
    #[error("a ULID has 26 characters")]
    Length,
    /// A character outside Crockford's base32 (I, L, O and U are not used).
    #[error("{0:?} is not a character of a ULID")]
    Character(char),
    /// More than 128 bits (the first character is above 7).
    #[error("the ULID is out of range")]
    Overflow,
}

impl Ulid {
    /// The ULID of time `unix_ms` (only its low 48 bits) with `random` as its 80 random bits.
    pub fn new(unix_ms: u64, random: [u8; 10]) -> Self {
        let mut low = [0u8; 16];
        low[6..].copy_from_slice(&random);
        Self(u128::from(unix_ms & 0xffff_ffff_ffff) << 80 | u128::from_be_bytes(low))
    }

    /// When it was made, Unix milliseconds.
    pub fn unix_ms(self) -> u64 {
        (self.0 >> 80) as u64
    }
}

impl fmt::Display for Ulid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = [0u8; 26];
        for (i, c) in out.iter_mut().enumerate() {
            let shift = 5 * (25 - i);
            *c = ALPHABET[((self.0 >> shift) & 31) as usize];
        }
        f.write_str(std::str::from_utf8(&out).map_err(|_| fmt::Error)?)
    }
}

impl std::str::FromStr for Ulid {
    type Err = UlidError;

    /// Case-insensitive, as the spec asks; `I`/`L` read as 1 and `O` as 0 are refused rather
    /// than guessed, so that one id has one spelling on the wire.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.len() != 26 {
            return Err(UlidError::Length);
        }
        let mut value = 0u128;
        for (i, c) in s.chars().enumerate() {
            let digit = ALPHABET.iter().position(|&a| a == c.to_ascii_uppercase() as u8).ok_or(UlidError::Character(c))?;
            if i == 0 && digit > 7 {
                return Err(UlidError::Overflow);
            }
            value = value << 5 | digit as u128;
        }
        Ok(Self(value))
    }
}

impl serde::Serialize for Ulid {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Ulid {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_extremes_spell_as_the_spec_says() {
        assert_eq!(Ulid::new(0, [0; 10]).to_string(), "00000000000000000000000000");
        assert_eq!(Ulid::new(u64::MAX, [0xff; 10]).to_string(), "7ZZZZZZZZZZZZZZZZZZZZZZZZZ");
        assert_eq!("7ZZZZZZZZZZZZZZZZZZZZZZZZZ".parse::<Ulid>(), Ok(Ulid::new(0xffff_ffff_ffff, [0xff; 10])));
    }

    #[test]
    fn time_is_kept_and_orders_ids() {
        let early = Ulid::new(1_700_000_000_000, [0xff; 10]);
        let late = Ulid::new(1_700_000_000_001, [0; 10]);
        assert_eq!(early.unix_ms(), 1_700_000_000_000);
        assert!(early < late && early.to_string() < late.to_string());
        assert_eq!(late.to_string().parse::<Ulid>(), Ok(late));
        assert_eq!(late.to_string().to_lowercase().parse::<Ulid>(), Ok(late));
    }

    #[test]
    fn bad_spellings_are_refused_with_the_reason() {
        assert_eq!("0000000000000000000000000".parse::<Ulid>(), Err(UlidError::Length));
        assert_eq!("0000000000000000000000000U".parse::<Ulid>(), Err(UlidError::Character('U')));
        assert_eq!("8ZZZZZZZZZZZZZZZZZZZZZZZZZ".parse::<Ulid>(), Err(UlidError::Overflow));
        assert_eq!("00000000000000000000000é0".parse::<Ulid>(), Err(UlidError::Character('é')));
    }
}
