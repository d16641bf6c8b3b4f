//! Base64url without padding (RFC 4648 §5), the encoding of JOSE.

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
/// RFC 4648 section 4's alphabet, which the age format uses (unpadded, canonical, as here).
const STANDARD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Encodes `bytes` as base64url without padding.
pub fn encode(bytes: &[u8]) -> String {
    encode_with(ALPHABET, bytes)
}

/// Standard base64 (RFC 4648 section 4) without padding.
pub(crate) fn encode_standard(bytes: &[u8]) -> String {
    encode_with(STANDARD, bytes)
}

fn encode_with(alphabet: &[u8; 64], bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], chunk.get(1).copied().unwrap_or(0), chunk.get(2).copied().unwrap_or(0)];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        // A chunk of k bytes makes k + 1 characters.
        for i in 0..=chunk.len() {
            out.push(char::from(alphabet[(n >> (18 - 6 * i) & 63) as usize]));
        }
    }
    out
}

/// Why a text is not base64url.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not base64url without padding")]
pub struct DecodeError;

/// Decodes base64url without padding; refuses padding, other alphabets and non-canonical ends.
pub fn decode(text: &str) -> Result<Vec<u8>, DecodeError> {
    decode_with(ALPHABET, text)
}

/// Standard base64 (RFC 4648 section 4) without padding, canonical only.
pub(crate) fn decode_standard(text: &str) -> Result<Vec<u8>, DecodeError> {
    decode_with(STANDARD, text)
}

fn decode_with(alphabet: &[u8; 64], text: &str) -> Result<Vec<u8>, DecodeError> {
    let value = |c: u8| alphabet.iter().position(|&a| a == c).map(|p| p as u32).ok_or(DecodeError);
    let text = text.as_bytes();
    if text.len() % 4 == 1 {
        return Err(DecodeError);
    }
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    for chunk in text.chunks(4) {
        let mut n = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            n |= value(c)? << (18 - 6 * i);
        }
        let bytes = n.to_be_bytes();
        let keep = chunk.len() - 1;
        // Bits past the last whole byte must be zero, so each byte string has one encoding.
        if bytes[1 + keep..].iter().any(|&b| b != 0) {
            return Err(DecodeError);
        }
        out.extend_from_slice(&bytes[1..1 + keep]);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rfc_4648_vectors_encode_and_decode() {
        // RFC 4648 §10, without the padding.
        for (plain, coded) in
            [("", ""), ("f", "Zg"), ("fo", "Zm8"), ("foo", "Zm9v"), ("foob", "Zm9vYg"), ("fooba", "Zm9vYmE"), ("foobar", "Zm9vYmFy")]
        {
            assert_eq!(encode(plain.as_bytes()), coded);
            assert_eq!(decode(coded).as_deref(), Ok(plain.as_bytes()));
        }
        assert_eq!(encode(&[0xfb, 0xff]), "-_8", "the URL-safe alphabet");
    }

    #[test]
    fn padding_other_alphabets_and_loose_ends_are_refused() {
        for bad in ["Zg==", "Zm9v+", "Zm9v/w", "Z", "Zh", "Zm9"] {
            assert_eq!(decode(bad), Err(DecodeError), "{bad}");
        }
    }
}
