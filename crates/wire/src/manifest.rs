//! The manifest of an answer package: every file a platform sends in answer to a data request,
//! with its size and SHA-256 before and after encryption, signed by the platform's node key as a
//! compact JWS. The requesting node checks the signature against the key it confirmed for that
//! peer, and each file against the manifest, before it gives an investigator anything; the
//! signature also lets anyone holding the platform's public key check the package later.

use serde::{Deserialize, Serialize};

use crate::age::Recipient;
use crate::jws::{JwsError, sign_compact, verify_compact};
use crate::{Jwk, Ulid};

/// The most files one package holds.
pub const MAX_FILES: usize = 1000;

/// One file of a package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestFile {
    /// Its name: what the investigator's copy is called. One path component, no controls.
    pub name: String,
    /// Its size in bytes, in clear.
    pub size: u64,
    /// The SHA-256 of its content in clear, lower-case hex.
    pub sha256: String,
    /// The SHA-256 of the age file that carries it (`NAME.age`), lower-case hex: checkable
    /// without the key.
    pub age_sha256: String,
}

/// What a package holds, as the platform signs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// The data request it answers.
    pub request_id: Ulid,
    /// The recipient every file is encrypted to (`age1...`): the requesting node's.
    pub recipient: String,
    /// When the platform sealed it, Unix ms by its clock.
    pub sealed_at: u64,
    /// The files.
    pub files: Vec<ManifestFile>,
}

/// Why a manifest is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ManifestError {
    /// The signature does not verify, or the JWS is malformed.
    #[error(transparent)]
    Jws(#[from] JwsError),
    /// The payload is not a manifest.
    #[error("not a manifest: {0}")]
    Shape(String),
    /// A field breaks the rules.
    #[error("the manifest's {0}")]
    Field(String),
}

fn is_hex_digest(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Whether `name` can be a file's name on the investigator's disk as it is: one path component,
/// not `.` or `..`, no separators, controls or hidden characters, at most 255 bytes.
pub fn is_safe_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && name != "."
        && name != ".."
        && !name.contains(['/', '\\'])
        && !name.chars().any(|c| c.is_control() || tocsin_model::is_hidden_control(c))
}

impl Manifest {
    /// Checks every field: 1 to [`MAX_FILES`] files with safe, distinct names and digests, and a
    /// recipient that is one.
    pub fn check(&self) -> Result<(), ManifestError> {
        let bad = |what: String| Err(ManifestError::Field(what));
        if self.files.is_empty() || self.files.len() > MAX_FILES {
            return bad(format!("files: 1 to {MAX_FILES}"));
        }
        if Recipient::parse(&self.recipient).is_err() {
            return bad("recipient: not an age1... recipient".to_owned());
        }
        let mut names: Vec<&str> = Vec::with_capacity(self.files.len());
        for file in &self.files {
            if !is_safe_name(&file.name) {
                return bad(format!(
                    "file name {:?}: one path component, no control characters",
                    file.name.chars().take(80).collect::<String>()
                ));
            }
            if !is_hex_digest(&file.sha256) || !is_hex_digest(&file.age_sha256) {
                return bad(format!("file {:?}: digests are 64 lower-case hex digits", file.name));
            }
            names.push(&file.name);
        }
        names.sort_unstable();
        if let Some(pair) = names.windows(2).find(|w| w[0] == w[1]) {
            return bad(format!("file {:?} is named twice", pair[0]));
        }
        Ok(())
    }
}

/// Signs `manifest` with the platform's node key (`kid` its fingerprint).
pub fn sign_manifest(manifest: &Manifest, kid: &str, sign: impl FnOnce(&[u8]) -> [u8; 64]) -> String {
    let payload = serde_json::to_vec(manifest).unwrap_or_default();
    sign_compact(kid, &payload, sign)
}

/// Verifies a signed manifest with the platform's key and checks its fields.
pub fn verify_manifest(jws: &str, key: &Jwk) -> Result<Manifest, ManifestError> {
    let verified = verify_compact(jws.trim(), key)?;
    let manifest: Manifest = serde_json::from_slice(&verified.payload).map_err(|e| ManifestError::Shape(e.to_string()))?;
    manifest.check()?;
    Ok(manifest)
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::{Signer, SigningKey};

    use super::*;
    use crate::age::PackageIdentity;

    fn manifest() -> Manifest {
        Manifest {
            request_id: Ulid::new(1_796_601_600_000, [4; 10]),
            recipient: PackageIdentity::from_secret([3; 32]).recipient().to_string(),
            sealed_at: 1_796_601_700_000,
            files: vec![
                ManifestFile { name: "subscriber.csv".to_owned(), size: 48, sha256: "a".repeat(64), age_sha256: "b".repeat(64) },
                ManifestFile { name: "logins.bin".to_owned(), size: 307_200, sha256: "c".repeat(64), age_sha256: "d".repeat(64) },
            ],
        }
    }

    fn platform() -> (SigningKey, Jwk) {
        let key = SigningKey::from_bytes(&[8; 32]);
        let jwk = Jwk::ed25519(&key.verifying_key().to_bytes());
        (key, jwk)
    }

    #[test]
    fn a_signed_manifest_verifies_with_the_platforms_key_only() {
        let (key, jwk) = platform();
        let jws = sign_manifest(&manifest(), &jwk.thumbprint(), |m| key.sign(m).to_bytes());
        assert_eq!(verify_manifest(&jws, &jwk), Ok(manifest()));
        let other = Jwk::ed25519(&SigningKey::from_bytes(&[9; 32]).verifying_key().to_bytes());
        assert!(matches!(verify_manifest(&jws, &other), Err(ManifestError::Jws(JwsError::Signature))));
    }

    #[test]
    fn unsafe_names_repeated_names_and_bad_digests_are_refused() {
        for name in ["", ".", "..", "../etc/passwd", "a/b", "a\\b", "a\u{0}b", "a\u{202e}b", &"x".repeat(256)] {
            let mut m = manifest();
            m.files[0].name = name.to_owned();
            assert!(m.check().is_err(), "{name:?}");
        }
        let mut twice = manifest();
        twice.files[1].name = "subscriber.csv".to_owned();
        assert!(twice.check().expect_err("refused").to_string().contains("named twice"));
        let mut upper = manifest();
        upper.files[0].sha256 = "A".repeat(64);
        assert!(upper.check().is_err());
        let mut empty = manifest();
        empty.files.clear();
        assert!(empty.check().is_err());
        let mut stranger = manifest();
        stranger.recipient = "age1nope".to_owned();
        assert!(stranger.check().is_err());
    }

    /// An implementation of JOSE other than this crate's (Python's jwcrypto, Debian's
    /// python3-jwcrypto, which `scripts/test` installs) verifies the signature with the
    /// platform's JWK as its identity document publishes it, and refuses a changed payload.
    #[test]
    fn jwcrypto_verifies_the_manifest_with_the_published_key() {
        use std::io::Write;
        use std::process::{Command, Stdio};
        let (key, jwk) = platform();
        let jws = sign_manifest(&manifest(), &jwk.thumbprint(), |m| key.sign(m).to_bytes());
        let script = "import json, sys\n\
            from jwcrypto import jwk, jws\n\
            key = jwk.JWK(**json.loads(sys.argv[1]))\n\
            token = jws.JWS()\n\
            token.deserialize(sys.stdin.read().strip())\n\
            token.verify(key, alg='EdDSA')\n\
            sys.stdout.write(token.payload.decode())\n";
        let check = |compact: &str| {
            let mut child = Command::new("/usr/bin/python3")
                .args(["-c", script, &serde_json::to_string(&jwk).expect("json")])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("python3 runs");
            child.stdin.take().expect("stdin").write_all(compact.as_bytes()).expect("writes");
            child.wait_with_output().expect("ends")
        };
        let out = check(&jws);
        assert!(out.status.success(), "jwcrypto (scripts/test installs python3-jwcrypto): {}", String::from_utf8_lossy(&out.stderr));
        let read: Manifest = serde_json::from_slice(&out.stdout).expect("the payload is the manifest");
        assert_eq!(read, manifest());
        // The same signature over another payload: jwcrypto refuses it too.
        let parts: Vec<&str> = jws.split('.').collect();
        let mut changed = manifest();
        changed.files[0].size += 1;
        let forged = format!("{}.{}.{}", parts[0], crate::base64url_encode(&serde_json::to_vec(&changed).expect("json")), parts[2]);
        assert!(!check(&forged).status.success(), "a changed manifest must not verify");
    }
}
