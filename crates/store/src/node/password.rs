//! Account passwords: checked against a length policy, hashed with Argon2id (PHC strings), and
//! verified in constant work whether or not the account exists.
//!
//! Hashing takes tens of milliseconds of CPU by design; callers on an async runtime run these
//! functions on a blocking thread.

use std::sync::OnceLock;

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash as Phc;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

use crate::StoreError;

/// The fewest characters a password may have (NIST SP 800-63B asks for at least 8; staff
/// accounts here can order content removed, so more).
pub const MIN_PASSWORD_CHARS: usize = 12;
/// The most characters a password may have (long enough for any passphrase, short enough that
/// hashing cannot be used to burn CPU).
pub const MAX_PASSWORD_CHARS: usize = 256;

/// A password hash as stored: an Argon2id PHC string (`$argon2id$v=19$m=...`), made only by
/// [`PasswordHash::new`] or read back from the database.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl std::fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A hash is not the password, but it can be attacked offline: keep it out of logs.
        f.write_str("PasswordHash(<hidden>)")
    }
}

impl PasswordHash {
    /// Hashes `password` with Argon2id and a fresh random salt, after checking its length.
    pub fn new(password: &str) -> Result<Self, StoreError> {
        check_policy(password)?;
        let hash = Argon2::default()
            .hash_password(password.as_bytes())
            .map_err(|e| StoreError::Refused(format!("password could not be hashed: {e}")))?;
        Ok(Self(hash.to_string()))
    }

    /// The PHC string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub(crate) fn from_stored(phc: String) -> Self {
        Self(phc)
    }

    /// Whether `password` is the one this hash was made from. A stored string that does not
    /// parse never matches.
    pub fn verify(&self, password: &str) -> bool {
        match Phc::new(&self.0) {
            Ok(parsed) => Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok(),
            Err(_) => false,
        }
    }
}

/// Checks `password` against the stored hash, or, when there is none (no such account, or an
/// account without a password), spends the same work on a fixed hash and answers no, so that
/// timing does not tell which accounts exist.
pub fn verify_or_waste(stored: Option<&PasswordHash>, password: &str) -> bool {
    match stored {
        Some(hash) => hash.verify(password),
        None => {
            static DECOY: OnceLock<Option<PasswordHash>> = OnceLock::new();
            if let Some(decoy) = DECOY.get_or_init(|| PasswordHash::new("decoy password, never matched").ok()) {
                decoy.verify(password);
            }
            false
        }
    }
}

fn check_policy(password: &str) -> Result<(), StoreError> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(StoreError::Refused(format!("password: at least {MIN_PASSWORD_CHARS} characters")));
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(StoreError::Refused(format!("password: at most {MAX_PASSWORD_CHARS} characters")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_is_argon2id_and_matches_only_its_password() {
        let hash = PasswordHash::new("correct horse battery").expect("hashed");
        assert!(hash.as_str().starts_with("$argon2id$v=19$"), "{}", hash.as_str());
        assert!(hash.verify("correct horse battery"));
        assert!(!hash.verify("correct horse battery "));
        assert!(!hash.verify(""));
    }

    #[test]
    fn two_hashes_of_one_password_differ_by_their_salt() {
        let a = PasswordHash::new("correct horse battery").expect("hashed");
        let b = PasswordHash::new("correct horse battery").expect("hashed");
        assert_ne!(a, b);
        assert!(a.verify("correct horse battery") && b.verify("correct horse battery"));
    }

    #[test]
    fn short_and_overlong_passwords_are_refused() {
        assert!(matches!(PasswordHash::new("elevenchars"), Err(StoreError::Refused(_))));
        assert!(PasswordHash::new("twelve chars").is_ok());
        assert!(matches!(PasswordHash::new(&"x".repeat(MAX_PASSWORD_CHARS + 1)), Err(StoreError::Refused(_))));
    }

    #[test]
    fn a_damaged_stored_hash_never_matches() {
        let damaged = PasswordHash::from_stored("$argon2id$v=19$garbage".to_owned());
        assert!(!damaged.verify("anything at all"));
        assert!(!verify_or_waste(None, "decoy password, never matched"));
    }

    #[test]
    fn debug_output_hides_the_hash() {
        let hash = PasswordHash::new("correct horse battery").expect("hashed");
        assert_eq!(format!("{hash:?}"), "PasswordHash(<hidden>)");
    }
}
