//! Compact JWS (RFC 7515 §7.1) with Ed25519 signatures (RFC 8037 §3.1): the one signature format
//! on messages between nodes. Only `alg: Ed25519` (RFC 9864's fully specified name) and
//! `alg: EdDSA` (RFC 8037's, which RFC 9864 deprecates; both name Ed25519 over the key's curve)
//! are accepted, so no header can choose a weaker algorithm or none; a `crit` header is refused,
//! since no extension is understood. Nodes speaking `tocsin/0.1` still sign with `EdDSA`, since
//! nodes of that version released before this one accept nothing else; they will sign with
//! `Ed25519` from the protocol version after it (docs/protocol.md).

use ed25519_dalek::{Signature, Verifier};
use serde_json::Value;

use crate::base64url::{decode, encode};
use crate::{Jwk, KeyError};

/// Why a compact JWS does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JwsError {
    /// Not three base64url parts, or a header that is not a JSON object.
    #[error("not a compact JWS: {0}")]
    Malformed(&'static str),
    /// A header naming another algorithm, or extensions (`crit`).
    #[error("only alg Ed25519 or EdDSA without crit is accepted")]
    Algorithm,
    /// The key is not an Ed25519 public key.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// The signature does not match the key and the signed bytes.
    #[error("the signature does not verify")]
    Signature,
}

/// A JWS whose signature verified: its protected header and its payload.
#[derive(Debug, Clone, PartialEq)]
pub struct Verified {
    /// The protected header.
    pub header: serde_json::Map<String, Value>,
    /// The payload bytes.
    pub payload: Vec<u8>,
}

/// Signs `payload` under a protected header of `alg: EdDSA` and `kid` (the signer's key
/// fingerprint); `sign` makes the Ed25519 signature of the bytes it is given.
pub fn sign_compact(kid: &str, payload: &[u8], sign: impl FnOnce(&[u8]) -> [u8; 64]) -> String {
    let header = serde_json::json!({ "alg": "EdDSA", "kid": kid });
    let signing_input = format!("{}.{}", encode(header.to_string().as_bytes()), encode(payload));
    let signature = sign(signing_input.as_bytes());
    format!("{signing_input}.{}", encode(&signature))
}

/// The protected header of a compact JWS, read before its signature is checked: only to learn
/// which key (`kid`) should check it.
pub fn unverified_header(jws: &str) -> Result<serde_json::Map<String, Value>, JwsError> {
    let header = jws.split('.').next().ok_or(JwsError::Malformed("empty"))?;
    let bytes = decode(header).map_err(|_| JwsError::Malformed("the header is not base64url"))?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(JwsError::Malformed("the header is not a JSON object")),
    }
}

/// The `alg` values accepted: RFC 9864's fully specified name, and RFC 8037's polymorphic one
/// (the key is always an Ed25519 JWK, so it means the same here).
pub const ACCEPTED_ALGORITHMS: [&str; 2] = ["Ed25519", "EdDSA"];

/// Checks a compact JWS with `key`: three parts, `alg` one of [`ACCEPTED_ALGORITHMS`], no `crit`,
/// a signature over the first two parts that `key` made.
pub fn verify_compact(jws: &str, key: &Jwk) -> Result<Verified, JwsError> {
    let parts: Vec<&str> = jws.split('.').collect();
    let [header_b64, payload_b64, signature_b64] = parts[..] else { return Err(JwsError::Malformed("not three parts")) };
    let header = unverified_header(jws)?;
    let alg = header.get("alg").and_then(Value::as_str);
    if !alg.is_some_and(|a| ACCEPTED_ALGORITHMS.contains(&a)) || header.contains_key("crit") {
        return Err(JwsError::Algorithm);
    }
    let verifying_key = key.verifying_key()?;
    let signature: [u8; 64] = decode(signature_b64)
        .ok()
        .and_then(|s| s.try_into().ok())
        .ok_or(JwsError::Malformed("the signature is not 64 bytes of base64url"))?;
    let payload = decode(payload_b64).map_err(|_| JwsError::Malformed("the payload is not base64url"))?;
    let signing_input = &jws[..header_b64.len() + 1 + payload_b64.len()];
    verifying_key.verify(signing_input.as_bytes(), &Signature::from_bytes(&signature)).map_err(|_| JwsError::Signature)?;
    Ok(Verified { header, payload })
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::{Signer, SigningKey};

    use super::*;

    /// RFC 8037 appendix A.1 (the private key) and A.4 (the JWS it makes).
    const RFC_D: &str = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";
    const RFC_JWS: &str = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";

    fn rfc_key() -> SigningKey {
        SigningKey::from_bytes(&decode(RFC_D).expect("base64url").try_into().expect("32 bytes"))
    }

    #[test]
    fn the_rfc_8037_example_verifies_and_signing_it_again_gives_the_same_bytes() {
        let key = rfc_key();
        let jwk = Jwk::ed25519(&key.verifying_key().to_bytes());
        assert_eq!(jwk.x, "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo");
        let verified = verify_compact(RFC_JWS, &jwk).expect("verifies");
        assert_eq!(verified.payload, b"Example of Ed25519 signing");
        // Ed25519 is deterministic: the same signing input gives the RFC's signature.
        let (input, signature) = RFC_JWS.rsplit_once('.').expect("three parts");
        assert_eq!(encode(&key.sign(input.as_bytes()).to_bytes()), signature);
    }

    #[test]
    fn a_signed_payload_verifies_and_any_change_or_other_key_fails() {
        let key = SigningKey::from_bytes(&[9; 32]);
        let jwk = Jwk::ed25519(&key.verifying_key().to_bytes());
        let jws = sign_compact(&jwk.thumbprint(), br#"{"hello":"peer"}"#, |m| key.sign(m).to_bytes());
        let verified = verify_compact(&jws, &jwk).expect("verifies");
        assert_eq!(verified.payload, br#"{"hello":"peer"}"#);
        assert_eq!(verified.header["kid"], jwk.thumbprint());

        let (header, rest) = jws.split_once('.').expect("parts");
        let (_, signature) = rest.split_once('.').expect("parts");
        let other_payload = format!("{header}.{}.{signature}", encode(br#"{"hello":"world"}"#));
        assert_eq!(verify_compact(&other_payload, &jwk), Err(JwsError::Signature));
        let stranger = Jwk::ed25519(&SigningKey::from_bytes(&[10; 32]).verifying_key().to_bytes());
        assert_eq!(verify_compact(&jws, &stranger), Err(JwsError::Signature));
    }

    #[test]
    fn other_algorithms_extensions_and_broken_shapes_are_refused() {
        let key = SigningKey::from_bytes(&[9; 32]);
        let jwk = Jwk::ed25519(&key.verifying_key().to_bytes());
        let with_header = |header: &str| {
            let input = format!("{}.{}", encode(header.as_bytes()), encode(b"x"));
            format!("{input}.{}", encode(&key.sign(input.as_bytes()).to_bytes()))
        };
        assert_eq!(verify_compact(&with_header(r#"{"alg":"none"}"#), &jwk), Err(JwsError::Algorithm));
        assert_eq!(verify_compact(&with_header(r#"{"alg":"HS256"}"#), &jwk), Err(JwsError::Algorithm));
        assert_eq!(verify_compact(&with_header(r#"{"alg":"EdDSA","crit":["exp"]}"#), &jwk), Err(JwsError::Algorithm));
        assert_eq!(verify_compact(&with_header(r#"{"alg":"Ed448"}"#), &jwk), Err(JwsError::Algorithm));
        assert_eq!(verify_compact(&with_header(r#"{"alg":"ed25519"}"#), &jwk), Err(JwsError::Algorithm));
        assert_eq!(verify_compact(&with_header(r#"{"alg":["Ed25519"]}"#), &jwk), Err(JwsError::Algorithm));
        assert_eq!(verify_compact(&with_header(r#"{"alg":"Ed25519","crit":["b64"]}"#), &jwk), Err(JwsError::Algorithm));
        assert!(verify_compact(&with_header(r#"{"alg":"EdDSA"}"#), &jwk).is_ok());
        assert!(verify_compact(&with_header(r#"{"alg":"Ed25519"}"#), &jwk).is_ok(), "RFC 9864's name for the same algorithm");
        for broken in ["", "a.b", "a.b.c.d", "eyJhbGciOiJFZERTQSJ9..", "W10.e30.AAAA", "!!.e30.AAAA"] {
            assert!(matches!(verify_compact(broken, &jwk), Err(JwsError::Malformed(_))), "{broken:?}");
        }
    }
}
