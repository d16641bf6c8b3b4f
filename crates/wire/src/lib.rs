//! What nodes say to each other on the wire: a node's public key as a JWK (RFC 8037, `OKP` /
//! `Ed25519`) and its thumbprint (RFC 7638), which is the key's fingerprint everywhere Tocsin
//! shows one; the signed tree head of a node's Merkle log; and messages, a JSON envelope signed
//! as a compact JWS (EdDSA) and named by a ULID.

pub mod age;
mod base64url;
pub mod body;
mod jws;
pub mod manifest;
mod message;
mod tree_head;

pub use base64url::{DecodeError, decode as base64url_decode, encode as base64url_encode};
pub use body::{Body, BodyError};
pub use jws::{ACCEPTED_ALGORITHMS, JwsError, Verified, sign_compact, unverified_header, verify_compact};
pub use message::{Envelope, Kind, Message, MessageError, PROTOCOL_VERSION, open, seal, stored, verify};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
pub use tocsin_model::{Ulid, UlidError};
pub use tree_head::{TreeHead, TreeHeadError};

/// An Ed25519 public key as a JSON Web Key (RFC 8037 §2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Jwk {
    /// Key type: always `OKP`.
    pub kty: String,
    /// Curve: always `Ed25519`.
    pub crv: String,
    /// The 32-byte public key, base64url without padding.
    pub x: String,
}

impl Jwk {
    /// The JWK of an Ed25519 public key.
    pub fn ed25519(public_key: &[u8; 32]) -> Self {
        Self { kty: "OKP".to_owned(), crv: "Ed25519".to_owned(), x: encode(public_key) }
    }

    /// The RFC 7638 thumbprint: base64url of the SHA-256 of the required members in
    /// lexicographic order, without spaces.
    pub fn thumbprint(&self) -> String {
        // The members are base64url and fixed names, so no JSON escaping is needed.
        let canonical = format!(r#"{{"crv":"{}","kty":"{}","x":"{}"}}"#, self.crv, self.kty, self.x);
        encode(&Sha256::digest(canonical.as_bytes()))
    }
}

/// Why a JWK cannot check signatures.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// Not `OKP` / `Ed25519`, or `x` is not 32 bytes of base64url naming a curve point.
    #[error("the key is not an Ed25519 public key")]
    NotEd25519,
}

impl Jwk {
    /// The key, ready to check signatures.
    pub fn verifying_key(&self) -> Result<ed25519_dalek::VerifyingKey, KeyError> {
        if self.kty != "OKP" || self.crv != "Ed25519" {
            return Err(KeyError::NotEd25519);
        }
        let x: [u8; 32] = base64url::decode(&self.x).ok().and_then(|x| x.try_into().ok()).ok_or(KeyError::NotEd25519)?;
        ed25519_dalek::VerifyingKey::from_bytes(&x).map_err(|_| KeyError::NotEd25519)
    }
}

use base64url::encode;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rfc_8037_example_key_has_the_rfc_thumbprint() {
        // RFC 8037 appendix A.2 (public key) and A.3 (its thumbprint).
        let x = decode_x("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo");
        let jwk = Jwk::ed25519(&x);
        assert_eq!(jwk.x, "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo");
        assert_eq!(jwk.thumbprint(), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
        let json = serde_json::to_string(&jwk).expect("serialises");
        assert_eq!(json, r#"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#);
    }

    #[test]
    fn another_key_has_another_thumbprint() {
        let mut x = decode_x("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo");
        x[31] ^= 1;
        assert_ne!(Jwk::ed25519(&x).thumbprint(), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
    }

    fn decode_x(text: &str) -> [u8; 32] {
        base64url_decode(text).expect("base64url").try_into().expect("32 bytes")
    }
}
