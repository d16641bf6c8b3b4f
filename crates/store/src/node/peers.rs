//! Peers: the other nodes this node trusts, each with the key its administrator confirmed by
//! fingerprint. Messages are only accepted from these keys. Adding and removing a peer are log
//! entries in the same transaction.

use sqlx::Row;
use tocsin_wire::Jwk;

use crate::node::accounts::now;
use crate::{Store, StoreError, check_account_name};

/// A confirmed peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    /// Its name, as its `/.well-known/tocsin` gives it; unique among peers.
    pub name: String,
    /// Its base URL.
    pub url: String,
    /// Its key's fingerprint (RFC 7638 thumbprint), as the administrator confirmed it.
    pub fingerprint: String,
    /// Its key.
    pub jwk: Jwk,
    /// The parts it says it plays (authority, platform, operator, oversight).
    pub roles: Vec<String>,
    /// When it was added, Unix seconds.
    pub added_at: i64,
    /// `auto`: its removal orders are executed at once (if it is an authority); `review`: they
    /// wait for a reviewer.
    pub policy: String,
    /// How far its clock was ahead of this node's (negative: behind) at the last delivery,
    /// milliseconds; `None` until a message has been delivered to it.
    pub clock_skew_ms: Option<i64>,
}

/// The policies a peer may have.
pub const POLICIES: [&str; 2] = ["auto", "review"];

impl Store {
    /// Adds a peer; refused if its name or key is already a peer's, or its name is not well
    /// formed, or the fingerprint is not its key's.
    pub async fn add_peer(&self, name: &str, url: &str, jwk: &Jwk, roles: &[String], policy: &str) -> Result<Peer, StoreError> {
        if !POLICIES.contains(&policy) {
            return Err(StoreError::Refused(format!("policy {policy:?}: auto or review")));
        }
        check_account_name(name)
            .map_err(|_| StoreError::Refused(format!("peer name {name:?}: 1 to 64 letters, digits, '-', '_' or '.'")))?;
        let fingerprint = jwk.thumbprint();
        let jwk_json = serde_json::to_string(jwk).map_err(|e| StoreError::Refused(e.to_string()))?;
        let added_at = now();
        let mut tx = self.pool.begin().await?;
        let taken = sqlx::query("SELECT name FROM peers WHERE name = $1 OR fingerprint = $2")
            .bind(name)
            .bind(&fingerprint)
            .fetch_optional(&mut *tx)
            .await?;
        if let Some(row) = taken {
            let existing: String = row.try_get(0)?;
            return Err(StoreError::Refused(format!("already a peer: {existing:?} has this name or key")));
        }
        let inserted =
            sqlx::query("INSERT INTO peers (name, url, fingerprint, jwk, roles, added_at, policy) VALUES ($1, $2, $3, $4, $5, $6, $7)")
                .bind(name)
                .bind(url)
                .bind(&fingerprint)
                .bind(&jwk_json)
                .bind(roles.join(","))
                .bind(added_at)
                .bind(policy)
                .execute(&mut *tx)
                .await;
        match inserted {
            Ok(_) => {}
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                return Err(StoreError::Refused(format!("already a peer: {name:?} or its key")));
            }
            Err(e) => return Err(e.into()),
        }
        let entry = serde_json::json!({
            "type": "peer.added", "peer": name, "url": url, "fingerprint": fingerprint, "roles": roles, "policy": policy, "at": added_at,
        });
        self.append_in(&mut tx, entry.to_string().as_bytes()).await?;
        tx.commit().await?;
        Ok(Peer {
            name: name.to_owned(),
            url: url.to_owned(),
            fingerprint,
            jwk: jwk.clone(),
            roles: roles.to_vec(),
            added_at,
            policy: policy.to_owned(),
            clock_skew_ms: None,
        })
    }

    /// Records how far a peer's clock is from this node's, as the last delivery measured it (not
    /// a log entry: an observation, not a decision).
    pub async fn set_peer_clock_skew(&self, fingerprint: &str, skew_ms: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE peers SET clock_skew_ms = $1 WHERE fingerprint = $2")
            .bind(skew_ms)
            .bind(fingerprint)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Every peer, by name.
    pub async fn peers(&self) -> Result<Vec<Peer>, StoreError> {
        let rows = sqlx::query("SELECT name, url, fingerprint, jwk, roles, added_at, policy, clock_skew_ms FROM peers ORDER BY name")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(peer_from).collect()
    }

    /// The peer whose key has `fingerprint`, if any.
    pub async fn peer_by_fingerprint(&self, fingerprint: &str) -> Result<Option<Peer>, StoreError> {
        let row =
            sqlx::query("SELECT name, url, fingerprint, jwk, roles, added_at, policy, clock_skew_ms FROM peers WHERE fingerprint = $1")
                .bind(fingerprint)
                .fetch_optional(&self.pool)
                .await?;
        row.as_ref().map(peer_from).transpose()
    }

    /// Sets how this node treats a peer's removal orders (`auto` or `review`), with a log entry.
    pub async fn set_peer_policy(&self, name: &str, policy: &str) -> Result<(), StoreError> {
        if !POLICIES.contains(&policy) {
            return Err(StoreError::Refused(format!("policy {policy:?}: auto or review")));
        }
        check_account_name(name).map_err(|_| StoreError::Refused(format!("no peer {name:?}")))?;
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query("UPDATE peers SET policy = $1 WHERE name = $2").bind(policy).bind(name).execute(&mut *tx).await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::Refused(format!("no peer {name:?}")));
        }
        let entry = serde_json::json!({ "type": "peer.policy", "peer": name, "policy": policy, "at": now() });
        self.append_in(&mut tx, entry.to_string().as_bytes()).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Removes a peer: its messages are refused from now on. Refused if there is none by that name.
    pub async fn remove_peer(&self, name: &str) -> Result<(), StoreError> {
        check_account_name(name).map_err(|_| StoreError::Refused(format!("no peer {name:?}")))?;
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query("DELETE FROM peers WHERE name = $1").bind(name).execute(&mut *tx).await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::Refused(format!("no peer {name:?}")));
        }
        let entry = serde_json::json!({ "type": "peer.removed", "peer": name, "at": now() });
        self.append_in(&mut tx, entry.to_string().as_bytes()).await?;
        tx.commit().await?;
        Ok(())
    }
}

fn peer_from(row: &sqlx::any::AnyRow) -> Result<Peer, StoreError> {
    let jwk: String = row.try_get(3)?;
    let roles: String = row.try_get(4)?;
    Ok(Peer {
        name: row.try_get(0)?,
        url: row.try_get(1)?,
        fingerprint: row.try_get(2)?,
        jwk: serde_json::from_str(&jwk).map_err(|_| StoreError::Inconsistent("a stored peer key is not a JWK"))?,
        roles: roles.split(',').filter(|r| !r.is_empty()).map(str::to_owned).collect(),
        added_at: row.try_get(5)?,
        policy: row.try_get(6)?,
        clock_skew_ms: row.try_get(7)?,
    })
}
