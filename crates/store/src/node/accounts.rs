//! Accounts, their roles and their API tokens. Tokens are shown once, when made, and kept only
//! as SHA-256 hashes (they are 256 random bits, so a fast hash is enough); every change is a log
//! entry in the same transaction.

use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::{PasswordHash, Store, StoreError};

/// The roles an account may hold (issue 4): admin, issuer (authority staff), operator (platform
/// staff), reviewer, oversight, auditor (reads the log).
pub const ROLES: [&str; 7] = ["admin", "issuer", "operator", "reviewer", "oversight", "auditor", "validator"];

/// An account as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// Its name, unique on the node.
    pub name: String,
    /// Its roles, from [`ROLES`].
    pub roles: Vec<String>,
    /// Whether it has been disabled (its tokens then stop working).
    pub disabled: bool,
}

/// A token just made: the secret (shown this once) and when it stops working.
#[derive(Clone, PartialEq, Eq)]
pub struct NewToken {
    /// The bearer token.
    pub secret: String,
    /// Unix seconds.
    pub expires_at: i64,
}

impl std::fmt::Debug for NewToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Secrets never reach logs, even through a stray `{:?}`.
        write!(f, "NewToken {{ secret: <hidden>, expires_at: {} }}", self.expires_at)
    }
}

pub(crate) fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

fn token_hash(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// How log entries name a token: the first 8 bytes of its hash in hex, never the secret.
fn token_label(secret: &str) -> String {
    token_hash(secret)[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// Checks an account name: 1 to 64 ASCII letters, digits, `-`, `_` or `.` (so that it is safe in
/// a URL path, a log entry and any database).
pub fn check_account_name(name: &str) -> Result<(), StoreError> {
    let ok = !name.is_empty() && name.len() <= 64 && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    if ok { Ok(()) } else { Err(StoreError::Refused(format!("account name {name:?}: 1 to 64 letters, digits, '-', '_' or '.'"))) }
}

fn check_roles(roles: &[&str]) -> Result<(), StoreError> {
    if roles.is_empty() {
        return Err(StoreError::Refused("an account needs at least one role".to_owned()));
    }
    match roles.iter().find(|r| !ROLES.contains(r)) {
        Some(bad) => Err(StoreError::Refused(format!("unknown role {bad:?}: use one of {}", ROLES.join(", ")))),
        None => Ok(()),
    }
}

impl Store {
    /// Makes an account, with a password if one is given; refused if the name is taken or a
    /// role unknown.
    pub async fn create_account(&self, name: &str, roles: &[&str], password: Option<&PasswordHash>) -> Result<Account, StoreError> {
        check_account_name(name)?;
        check_roles(roles)?;
        let mut tx = self.pool.begin().await?;
        let taken = sqlx::query("SELECT id FROM accounts WHERE name = $1").bind(name).fetch_optional(&mut *tx).await?;
        if taken.is_some() {
            return Err(StoreError::Refused(format!("account {name:?} exists")));
        }
        let inserted = sqlx::query("INSERT INTO accounts (name, roles, disabled, created_at, password_hash) VALUES ($1, $2, 0, $3, $4)")
            .bind(name)
            .bind(roles.join(","))
            .bind(now())
            .bind(password.map(|p| p.as_str().to_owned()))
            .execute(&mut *tx)
            .await;
        match inserted {
            Ok(_) => {}
            // Two requests for one name at once on PostgreSQL: the loser meets the unique index.
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                return Err(StoreError::Refused(format!("account {name:?} exists")));
            }
            Err(e) => return Err(e.into()),
        }
        let entry = format!(
            r#"{{"type":"account.created","account":"{name}","roles":"{}","password":{},"at":{}}}"#,
            roles.join(","),
            password.is_some(),
            now()
        );
        self.append_in(&mut tx, entry.as_bytes()).await?;
        tx.commit().await?;
        Ok(Account { name: name.to_owned(), roles: roles.iter().map(|r| (*r).to_owned()).collect(), disabled: false })
    }

    /// Disables an account: its tokens stop working. Refused if unknown or already disabled.
    pub async fn disable_account(&self, name: &str) -> Result<(), StoreError> {
        check_account_name(name)?;
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query("UPDATE accounts SET disabled = 1 WHERE name = $1 AND disabled = 0").bind(name).execute(&mut *tx).await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::Refused(format!("no enabled account {name:?}")));
        }
        let entry = format!(r#"{{"type":"account.disabled","account":"{name}","at":{}}}"#, now());
        self.append_in(&mut tx, entry.as_bytes()).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Sets (or replaces) an account's password; refused if there is no such account.
    pub async fn set_password(&self, name: &str, password: &PasswordHash) -> Result<(), StoreError> {
        check_account_name(name)?;
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query("UPDATE accounts SET password_hash = $1 WHERE name = $2")
            .bind(password.as_str())
            .bind(name)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::Refused(format!("no account {name:?}")));
        }
        // A new password ends every session and token the account had: whoever knew the old
        // one (the reason to change it, often) keeps nothing it gave them.
        let ended = sqlx::query(
            "UPDATE tokens SET revoked_at = $1 WHERE revoked_at IS NULL AND account_id = (SELECT id FROM accounts WHERE name = $2)",
        )
        .bind(now())
        .bind(name)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let entry = format!(r#"{{"type":"account.password_set","account":"{name}","tokens_revoked":{ended},"at":{}}}"#, now());
        self.append_in(&mut tx, entry.as_bytes()).await?;
        tx.commit().await?;
        Ok(())
    }

    /// For signing in: the enabled account called `name` and its password hash, if it has
    /// one. A name that is not well formed is simply not found.
    pub async fn sign_in_lookup(&self, name: &str) -> Result<Option<(Account, Option<PasswordHash>)>, StoreError> {
        if check_account_name(name).is_err() {
            return Ok(None);
        }
        let row = sqlx::query("SELECT name, roles, disabled, password_hash FROM accounts WHERE name = $1 AND disabled = 0")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let hash: Option<String> = row.try_get(3)?;
        Ok(Some((account_from(&row)?, hash.map(PasswordHash::from_stored))))
    }

    /// Every account, by name.
    pub async fn accounts(&self) -> Result<Vec<Account>, StoreError> {
        let rows = sqlx::query("SELECT name, roles, disabled FROM accounts ORDER BY name").fetch_all(&self.pool).await?;
        rows.iter().map(account_from).collect()
    }

    /// Makes a token for `account`, valid for `lifetime` seconds.
    pub async fn create_token(&self, account: &str, lifetime: i64) -> Result<NewToken, StoreError> {
        check_account_name(account)?;
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| StoreError::Refused(format!("no randomness: {e}")))?;
        let secret = format!("tocsin_{}", tocsin_wire::base64url_encode(&bytes));
        let expires_at = now().saturating_add(lifetime);
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query("SELECT id FROM accounts WHERE name = $1").bind(account).fetch_optional(&mut *tx).await?;
        let Some(row) = row else { return Err(StoreError::Refused(format!("no account {account:?}"))) };
        let id: i64 = row.try_get(0)?;
        sqlx::query("INSERT INTO tokens (account_id, token_hash, created_at, expires_at) VALUES ($1, $2, $3, $4)")
            .bind(id)
            .bind(token_hash(&secret))
            .bind(now())
            .bind(expires_at)
            .execute(&mut *tx)
            .await?;
        let short = token_label(&secret);
        let entry =
            format!(r#"{{"type":"token.created","account":"{account}","token":"{short}","expires_at":{expires_at},"at":{}}}"#, now());
        self.append_in(&mut tx, entry.as_bytes()).await?;
        tx.commit().await?;
        Ok(NewToken { secret, expires_at })
    }

    /// The account a bearer token belongs to, if the token is known, unexpired and unrevoked
    /// and the account is not disabled.
    pub async fn authenticate(&self, secret: &str) -> Result<Option<Account>, StoreError> {
        let row = sqlx::query(
            "SELECT a.name, a.roles, a.disabled FROM tokens t JOIN accounts a ON a.id = t.account_id \
             WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND t.expires_at > $2 AND a.disabled = 0",
        )
        .bind(token_hash(secret))
        .bind(now())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(account_from).transpose()
    }

    /// Revokes a token; refused if it is unknown or already revoked.
    pub async fn revoke_token(&self, secret: &str) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query("UPDATE tokens SET revoked_at = $1 WHERE token_hash = $2 AND revoked_at IS NULL")
            .bind(now())
            .bind(token_hash(secret))
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::Refused("no such live token".to_owned()));
        }
        let short = token_label(secret);
        let entry = format!(r#"{{"type":"token.revoked","token":"{short}","at":{}}}"#, now());
        self.append_in(&mut tx, entry.as_bytes()).await?;
        tx.commit().await?;
        Ok(())
    }
}

fn account_from(row: &sqlx::any::AnyRow) -> Result<Account, StoreError> {
    let roles: String = row.try_get(1)?;
    Ok(Account {
        name: row.try_get(0)?,
        roles: roles.split(',').filter(|r| !r.is_empty()).map(str::to_owned).collect(),
        disabled: row.try_get::<i64, _>(2)? != 0,
    })
}
