//! A signed tree head: the size and root of a node's Merkle log at a moment, signed with the
//! node's Ed25519 key, so that an outside reviewer can hold the node to it later.

use ed25519_dalek::{Signature, Verifier};
use serde::{Deserialize, Serialize};

use crate::Jwk;
use crate::base64url::{decode, encode};

/// A tree head as served by `GET /v1/log/head` and saved by reviewers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TreeHead {
    /// Number of entries.
    pub size: u64,
    /// The tree's root, 64 hex digits.
    pub root: String,
    /// When the head was signed, Unix milliseconds.
    pub timestamp: u64,
    /// Ed25519 signature of [`TreeHead::message`], base64url.
    pub signature: String,
}

/// Why a tree head does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TreeHeadError {
    /// The root is not 64 hex digits.
    #[error("the root is not a SHA-256 hash in hex")]
    Root,
    /// The key is not an Ed25519 JWK.
    #[error("the node's key is not an Ed25519 public key")]
    Key,
    /// The signature is malformed or does not match.
    #[error("the signature does not verify with the node's key")]
    Signature,
}

fn root_bytes(hex: &str) -> Result<[u8; 32], TreeHeadError> {
    let hex = hex.as_bytes();
    if hex.len() != 64 {
        return Err(TreeHeadError::Root);
    }
    let mut out = [0u8; 32];
    for (i, pair) in hex.chunks_exact(2).enumerate() {
        let text = std::str::from_utf8(pair).map_err(|_| TreeHeadError::Root)?;
        out[i] = u8::from_str_radix(text, 16).map_err(|_| TreeHeadError::Root)?;
    }
    Ok(out)
}

impl TreeHead {
    /// The bytes signed: a fixed label, then size, root and timestamp (big-endian), so that no
    /// other message of the node can pass for a tree head.
    pub fn message(size: u64, root: &[u8; 32], timestamp: u64) -> Vec<u8> {
        let mut m = b"tocsin tree head v1\n".to_vec();
        m.extend_from_slice(&size.to_be_bytes());
        m.extend_from_slice(root);
        m.extend_from_slice(&timestamp.to_be_bytes());
        m
    }

    /// A head from its parts and the signature of its message.
    pub fn new(size: u64, root: &[u8; 32], timestamp: u64, signature: &[u8; 64]) -> Self {
        let root = root.iter().map(|b| format!("{b:02x}")).collect();
        Self { size, root, timestamp, signature: encode(signature) }
    }

    /// The root as bytes.
    pub fn root_bytes(&self) -> Result<[u8; 32], TreeHeadError> {
        root_bytes(&self.root)
    }

    /// Checks the signature with the node's public key.
    pub fn verify(&self, key: &Jwk) -> Result<(), TreeHeadError> {
        let key = key.verifying_key().map_err(|_| TreeHeadError::Key)?;
        let sig: [u8; 64] = decode(&self.signature).ok().and_then(|s| s.try_into().ok()).ok_or(TreeHeadError::Signature)?;
        let message = Self::message(self.size, &self.root_bytes()?, self.timestamp);
        key.verify(&message, &Signature::from_bytes(&sig)).map_err(|_| TreeHeadError::Signature)
    }
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::{Signer, SigningKey};

    use super::*;

    #[test]
    fn a_signed_head_verifies_and_any_change_breaks_it() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let jwk = Jwk::ed25519(&key.verifying_key().to_bytes());
        let root = [0xab; 32];
        let head = TreeHead::new(42, &root, 1_700_000_000_000, &key.sign(&TreeHead::message(42, &root, 1_700_000_000_000)).to_bytes());
        head.verify(&jwk).expect("verifies");
        let changed = [
            TreeHead { size: 43, ..head.clone() },
            TreeHead { timestamp: head.timestamp + 1, ..head.clone() },
            TreeHead { root: format!("ac{}", &head.root[2..]), ..head.clone() },
        ];
        for other in changed {
            assert_eq!(other.verify(&jwk), Err(TreeHeadError::Signature), "{other:?}");
        }
        let stranger = Jwk::ed25519(&SigningKey::from_bytes(&[8; 32]).verifying_key().to_bytes());
        assert_eq!(head.verify(&stranger), Err(TreeHeadError::Signature));
        assert_eq!(TreeHead { root: "zz".into(), ..head }.verify(&jwk), Err(TreeHeadError::Root));
    }
}
