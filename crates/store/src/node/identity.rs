//! The key a database's log belongs to: recorded at the first start, checked at every start, so
//! that neither a new key over an old log nor a new log under an old key happens by accident.

use sqlx::Row;

use crate::{Store, StoreError};

/// What the database says of the node's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyBinding {
    /// A new database: no log yet, bound to no key.
    Unbound,
    /// A database made before keys were recorded, with a log: bound at its next start.
    Legacy,
    /// Bound to the key with this fingerprint.
    Bound(String),
}

impl Store {
    /// The key this database is bound to.
    pub async fn key_binding(&self) -> Result<KeyBinding, StoreError> {
        let row = sqlx::query("SELECT fingerprint FROM node_identity WHERE id = 1").fetch_optional(&self.pool).await?;
        Ok(match row {
            None => KeyBinding::Unbound,
            Some(r) => match r.try_get::<String, _>(0)? {
                f if f.is_empty() => KeyBinding::Legacy,
                f => KeyBinding::Bound(f),
            },
        })
    }

    /// Binds an unbound or legacy database to the key `fingerprint`; refused if it is bound to
    /// another key already (a race with another process, or a mistake). `restarted`: the node
    /// starts a new log under a key that had one (its database lost), which the new log's first
    /// entry then says; a first start needs no entry, its log begins with its own history.
    pub async fn bind_key(&self, fingerprint: &str, at: i64, restarted: bool) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        let current = sqlx::query("SELECT fingerprint FROM node_identity WHERE id = 1").fetch_optional(&mut *tx).await?;
        match current.map(|r| r.try_get::<String, _>(0)).transpose()? {
            Some(f) if f == fingerprint => return Ok(()),
            Some(f) if !f.is_empty() => return Err(StoreError::Refused(format!("the database is bound to key {f}"))),
            Some(_) => {
                sqlx::query("UPDATE node_identity SET fingerprint = $1, bound_at = $2 WHERE id = 1")
                    .bind(fingerprint)
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
            }
            None => {
                sqlx::query("INSERT INTO node_identity (id, fingerprint, bound_at) VALUES (1, $1, $2)")
                    .bind(fingerprint)
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        if restarted {
            let entry = serde_json::json!({
                "type": "node.log_restarted", "fingerprint": fingerprint, "at": at,
                "note": "a new log under this key: the database holding the earlier one was lost",
            });
            self.append_in(&mut tx, entry.to_string().as_bytes()).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
