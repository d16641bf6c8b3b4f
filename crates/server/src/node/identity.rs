//! The node's keys: its Ed25519 signing key, and its package key (an age X25519 identity that
//! answers to its data requests are encrypted to). Each is made on first start, kept in the data
//! folder readable by the node's user only, and the same on every later start.

use std::io::Write;
use std::path::{Path, PathBuf};

use ed25519_dalek::SigningKey;
use tocsin_wire::Jwk;
use tocsin_wire::age::{PackageIdentity, Recipient};

/// The key file's name in the data folder.
pub const KEY_FILE: &str = "node.key";
/// The package key file's name in the data folder: an age identity file, as `age-keygen` writes
/// one, so that an investigator can also decrypt a package with the stock `age -d -i`.
pub const PACKAGE_KEY_FILE: &str = "package.key";

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
    /// The package key file holds no age identity.
    #[error("{path}: no AGE-SECRET-KEY-1... line; move it aside to make a new package key (packages sent to the old one are lost)")]
    NotAPackageKey {
        /// The file.
        path: PathBuf,
    },
    /// The operating system gave no randomness.
    #[error("no randomness for a new key: {0}")]
    Random(String),
}

/// The node's signing key and package key. Its `Debug` form shows only the public halves.
pub struct Identity {
    key: SigningKey,
    package: PackageIdentity,
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
                Ok(Self { key: SigningKey::from_bytes(&seed), package: package_key(data)? })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut seed = [0u8; 32];
                getrandom::fill(&mut seed).map_err(|e| IdentityError::Random(e.to_string()))?;
                write_private(&path, &seed).map_err(io(&path))?;
                Ok(Self { key: SigningKey::from_bytes(&seed), package: package_key(data)? })
            }
            Err(e) => Err(io(&path)(e)),
        }
    }

    /// Reads the key from `data`, if there is one (never makes a signing key; makes the package
    /// key beside one that lacks it, as a node of an earlier version does).
    pub fn load(data: &Path) -> Result<Option<Self>, IdentityError> {
        let path = data.join(KEY_FILE);
        match std::fs::read(&path) {
            Ok(bytes) => {
                let seed: [u8; 32] =
                    bytes.as_slice().try_into().map_err(|_| IdentityError::NotAKey { path: path.clone(), len: bytes.len() })?;
                Ok(Some(Self { key: SigningKey::from_bytes(&seed), package: package_key(data)? }))
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

    /// The package key, which decrypts what platforms send this node.
    pub fn package(&self) -> &PackageIdentity {
        &self.package
    }

    /// The recipient platforms encrypt this node's packages to.
    pub fn package_recipient(&self) -> Recipient {
        self.package.recipient()
    }
}

/// Reads the package key from `data`, or makes one there if there is none.
fn package_key(data: &Path) -> Result<PackageIdentity, IdentityError> {
    let path = data.join(PACKAGE_KEY_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => PackageIdentity::from_file(&text).map_err(|_| IdentityError::NotAPackageKey { path }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut secret = [0u8; 32];
            getrandom::fill(&mut secret).map_err(|e| IdentityError::Random(e.to_string()))?;
            let identity = PackageIdentity::from_secret(secret);
            let created = crate::node::time::rfc3339_ms(crate::node::time::now_ms() as i64);
            write_private(&path, identity.to_file(&created).as_bytes()).map_err(|source| IdentityError::Io { path, source })?;
            Ok(identity)
        }
        Err(source) => Err(IdentityError::Io { path, source }),
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
    fn the_package_key_is_made_once_kept_private_and_read_back() {
        let dir = tempfile::tempdir().expect("temp dir");
        let first = Identity::load_or_create(dir.path()).expect("made");
        let again = Identity::load(dir.path()).expect("read").expect("there");
        assert_eq!(first.package_recipient(), again.package_recipient());
        let file = std::fs::read_to_string(dir.path().join(PACKAGE_KEY_FILE)).expect("package key file");
        assert!(file.contains(&format!("# public key: {}\n", first.package_recipient())), "{}", file.lines().next().unwrap_or(""));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(PACKAGE_KEY_FILE)).expect("file").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // A node of an earlier version, with a signing key only, gets its package key.
        std::fs::remove_file(dir.path().join(PACKAGE_KEY_FILE)).expect("removed");
        let upgraded = Identity::load(dir.path()).expect("read").expect("there");
        assert_eq!(upgraded.jwk(), first.jwk(), "the same node");
        assert!(dir.path().join(PACKAGE_KEY_FILE).exists());
        // A damaged package key is refused, not replaced.
        std::fs::write(dir.path().join(PACKAGE_KEY_FILE), b"# public key: age1...\n").expect("write");
        let err = Identity::load_or_create(dir.path()).expect_err("refused");
        assert!(err.to_string().contains("no AGE-SECRET-KEY-1"), "{err}");
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
        let identity = Identity { key: SigningKey::from_bytes(&seed), package: PackageIdentity::from_secret([1; 32]) };
        assert_eq!(identity.jwk().x, "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo");
    }
}
