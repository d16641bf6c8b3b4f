//! The node's Ed25519 signing key: made on first start, kept in the data folder readable by the
//! node's user only, the same on every later start.

use std::io::Write;
use std::path::{Path, PathBuf};

use ed25519_dalek::SigningKey;
use tocsin_wire::Jwk;

/// The key file's name in the data folder.
pub const KEY_FILE: &str = "node.key";

/// Why the node's key could not be read or made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IdentityError {
    /// The file system refused.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// The key file is not a key (damaged, or not ours).
    #[error("{path}: not a node key ({len} bytes, expected 32); move it aside to make a new identity")]
    NotAKey {
        /// The file.
        path: PathBuf,
        /// Its length.
        len: usize,
    },
    /// The operating system gave no randomness.
    #[error("no randomness for a new key: {0}")]
    Random(String),
}

/// The node's signing key. Its `Debug` form shows only the public half.
pub struct Identity {
    key: SigningKey,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Identity({})", self.jwk().thumbprint())
    }
}

impl Identity {
    /// Reads the key from `data`, or makes one there if there is none.
    pub fn load_or_create(data: &Path) -> Result<Self, IdentityError> {
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| IdentityError::Io { path, source }
        };
        std::fs::create_dir_all(data).map_err(io(data))?;
        let path = data.join(KEY_FILE);
        match std::fs::read(&path) {
            Ok(bytes) => {
                let seed: [u8; 32] =
                    bytes.as_slice().try_into().map_err(|_| IdentityError::NotAKey { path: path.clone(), len: bytes.len() })?;
                Ok(Self { key: SigningKey::from_bytes(&seed) })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut seed = [0u8; 32];
                getrandom::fill(&mut seed).map_err(|e| IdentityError::Random(e.to_string()))?;
                write_private(&path, &seed).map_err(io(&path))?;
                Ok(Self { key: SigningKey::from_bytes(&seed) })
            }
            Err(e) => Err(io(&path)(e)),
        }
    }

    /// Reads the key from `data`, if there is one (never makes one).
    pub fn load(data: &Path) -> Result<Option<Self>, IdentityError> {
        let path = data.join(KEY_FILE);
        match std::fs::read(&path) {
            Ok(bytes) => {
                let seed: [u8; 32] =
                    bytes.as_slice().try_into().map_err(|_| IdentityError::NotAKey { path: path.clone(), len: bytes.len() })?;
                Ok(Some(Self { key: SigningKey::from_bytes(&seed) }))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(IdentityError::Io { path, source }),
        }
    }

    /// Signs `message` with the node's key.
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        use ed25519_dalek::Signer;
        self.key.sign(message).to_bytes()
    }

    /// The public key as a JWK.
    pub fn jwk(&self) -> Jwk {
        Jwk::ed25519(&self.key.verifying_key().to_bytes())
    }
}

/// Writes `bytes` to `path` readable by the owner only, all or nothing: a temporary file made
/// with mode 0600, synced, then renamed over `path`.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        // The rename is durable only once the folder is synced.
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_made_once_kept_private_and_read_back() {
        let dir = tempfile::tempdir().expect("temp dir");
        let first = Identity::load_or_create(dir.path()).expect("made");
        let again = Identity::load_or_create(dir.path()).expect("read");
        assert_eq!(first.jwk(), again.jwk());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(KEY_FILE)).expect("key file").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let other = tempfile::tempdir().expect("temp dir");
        assert_ne!(Identity::load_or_create(other.path()).expect("made").jwk(), first.jwk(), "each node its own key");
    }

    #[test]
    fn a_damaged_key_file_is_refused_not_replaced() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join(KEY_FILE), b"short").expect("write");
        let err = Identity::load_or_create(dir.path()).expect_err("refused");
        assert!(err.to_string().contains("not a node key (5 bytes"), "{err}");
        assert_eq!(std::fs::read(dir.path().join(KEY_FILE)).expect("still there"), b"short");
    }

    #[test]
    fn the_rfc_8032_test_key_gives_the_rfc_8037_public_key() {
        // RFC 8037 appendix A.1: the private key `d` and its public key `x`.
        let seed: [u8; 32] =
            tocsin_wire::base64url_decode("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A").expect("b64").try_into().expect("32");
        let identity = Identity { key: SigningKey::from_bytes(&seed) };
        assert_eq!(identity.jwk().x, "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo");
    }
}
