//! The authority's blocklist: entries for domains (resolvers) and URLs (gates, search engines),
//! each with its legal basis, reference, orders, who added it and when, the next review date and
//! a state. Adding, lifting and every review are log entries in the same transaction, and each
//! change bumps the serial the RPZ feed's SOA carries, so resolvers see that the zone changed.

pub mod notices;

use sqlx::Row;
use tocsin_model::{EntryState, RpzAction};

use crate::node::record::now_ms;
use crate::{Store, StoreError};

/// A blocklist entry as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockEntry {
    /// Its id (a ULID).
    pub id: String,
    /// `domain` or `url`.
    pub kind: String,
    /// The canonical domain or URL.
    pub target: String,
    /// For a domain: its subdomains too.
    pub subdomains: bool,
    /// What resolvers answer, when the entry says (else the node's default).
    pub action: Option<RpzAction>,
    /// The law the block rests on.
    pub legal_basis: String,
    /// The authority's reference.
    pub reference: String,
    /// Orders the block follows from (ids).
    pub orders: Vec<String>,
    /// The account that added it.
    pub added_by: String,
    /// Unix ms.
    pub added_at: i64,
    /// When it must be checked again, Unix ms.
    pub next_review: i64,
    /// Where it stands.
    pub state: EntryState,
    /// When it was lifted or expired, by whom and why.
    pub ended: Option<(i64, String, String)>,
    /// When it ends on its own, Unix ms.
    pub expires_at: Option<i64>,
    /// `terrorism`, `child_sexual_abuse` or `other`.
    pub reason: String,
    /// For the grounds of LCEN Art. 6-1: the prior removal request, JSON.
    pub removal_request: Option<String>,
}

/// An entry to add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewBlockEntry {
    /// A new ULID.
    pub id: String,
    /// `domain` or `url`.
    pub kind: &'static str,
    /// The canonical domain or URL.
    pub target: String,
    /// For a domain: its subdomains too.
    pub subdomains: bool,
    /// What resolvers answer, if not the node's default.
    pub action: Option<RpzAction>,
    /// The law the block rests on.
    pub legal_basis: String,
    /// The authority's reference.
    pub reference: String,
    /// Orders the block follows from.
    pub orders: Vec<String>,
    /// Unix ms of the first review.
    pub next_review: i64,
    /// When it ends on its own, Unix ms.
    pub expires_at: Option<i64>,
    /// `terrorism`, `child_sexual_abuse` or `other`.
    pub reason: &'static str,
    /// For the grounds of LCEN Art. 6-1: the prior removal request, JSON.
    pub removal_request: Option<String>,
}

const COLUMNS: &str = "id, kind, target, subdomains, action, legal_basis, reference, orders, added_by, added_at, next_review, state, ended_at, ended_by, end_reason, expires_at, reason, removal_request";

fn entry_from(r: &sqlx::any::AnyRow) -> Result<BlockEntry, StoreError> {
    let bad = |what: &'static str| move |_| StoreError::Inconsistent(what);
    let action: Option<String> = r.try_get(4)?;
    let orders: String = r.try_get(7)?;
    let ended_at: Option<i64> = r.try_get(12)?;
    Ok(BlockEntry {
        id: r.try_get(0)?,
        kind: r.try_get(1)?,
        target: r.try_get(2)?,
        subdomains: r.try_get::<i64, _>(3)? != 0,
        action: action.map(|a| a.parse()).transpose().map_err(bad("a stored action is unknown"))?,
        legal_basis: r.try_get(5)?,
        reference: r.try_get(6)?,
        orders: serde_json::from_str(&orders).map_err(|_| StoreError::Inconsistent("stored orders are malformed"))?,
        added_by: r.try_get(8)?,
        added_at: r.try_get(9)?,
        next_review: r.try_get(10)?,
        state: r.try_get::<String, _>(11)?.parse().map_err(bad("a stored entry state is unknown"))?,
        ended: match ended_at {
            Some(at) => {
                Some((at, r.try_get::<Option<String>, _>(13)?.unwrap_or_default(), r.try_get::<Option<String>, _>(14)?.unwrap_or_default()))
            }
            None => None,
        },
        expires_at: r.try_get(15)?,
        reason: r.try_get(16)?,
        removal_request: r.try_get(17)?,
    })
}

async fn bump_serial(tx: &mut sqlx::Transaction<'_, sqlx::Any>) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar("UPDATE blocklist_serial SET serial = serial + 1 WHERE id = 1 RETURNING serial").fetch_one(&mut **tx).await?)
}

impl Store {
    /// Adds an entry; refused when the target is blocked already (naming that entry). Logged.
    pub async fn add_block_entry(&self, new: &NewBlockEntry, by: &str) -> Result<BlockEntry, StoreError> {
        let at = now_ms();
        let mut tx = self.pool.begin().await?;
        let existing = sqlx::query("SELECT id FROM blocklist WHERE kind = $1 AND target = $2 AND state = 'active'")
            .bind(new.kind)
            .bind(&new.target)
            .fetch_optional(&mut *tx)
            .await?;
        if let Some(row) = existing {
            let id: String = row.try_get(0)?;
            return Err(StoreError::Refused(format!("{} is blocked already, by entry {id}", new.target)));
        }
        let orders = serde_json::to_string(&new.orders).map_err(|e| StoreError::Refused(e.to_string()))?;
        sqlx::query(&format!(
            "INSERT INTO blocklist ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'active', NULL, NULL, NULL, $12, $13, $14)"
        ))
        .bind(&new.id)
        .bind(new.kind)
        .bind(&new.target)
        .bind(i64::from(new.subdomains))
        .bind(new.action.map(RpzAction::as_str))
        .bind(&new.legal_basis)
        .bind(&new.reference)
        .bind(&orders)
        .bind(by)
        .bind(at)
        .bind(new.next_review)
        .bind(new.expires_at)
        .bind(new.reason)
        .bind(&new.removal_request)
        .execute(&mut *tx)
        .await?;
        let serial = bump_serial(&mut tx).await?;
        let entry = serde_json::json!({
            "type": "blocklist.added", "id": new.id, "kind": new.kind, "target": new.target, "subdomains": new.subdomains,
            "legal_basis": new.legal_basis, "reference": new.reference, "orders": new.orders, "by": by, "at": at, "serial": serial,
            "next_review": new.next_review, "expires_at": new.expires_at, "reason": new.reason,
            "removal_request": new.removal_request.as_deref().and_then(|r| serde_json::from_str::<serde_json::Value>(r).ok()),
        });
        self.append_in(&mut tx, entry.to_string().as_bytes()).await?;
        tx.commit().await?;
        self.block_entry(&new.id).await?.ok_or(StoreError::Inconsistent("an entry just added is missing"))
    }

    /// Every entry, newest first.
    pub async fn block_entries(&self) -> Result<Vec<BlockEntry>, StoreError> {
        let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM blocklist ORDER BY added_at DESC, id DESC")).fetch_all(&self.pool).await?;
        rows.iter().map(entry_from).collect()
    }

    /// One entry.
    pub async fn block_entry(&self, id: &str) -> Result<Option<BlockEntry>, StoreError> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM blocklist WHERE id = $1")).bind(id).fetch_optional(&self.pool).await?;
        row.as_ref().map(entry_from).transpose()
    }

    /// Lifts an active entry, with who and why. Logged; refused when it is not active.
    pub async fn lift_block_entry(&self, id: &str, by: &str, reason: &str) -> Result<BlockEntry, StoreError> {
        let at = now_ms();
        let mut tx = self.pool.begin().await?;
        self.lift_in(&mut tx, id, by, reason, at).await?;
        tx.commit().await?;
        self.block_entry(id).await?.ok_or(StoreError::Inconsistent("a lifted entry is missing"))
    }

    async fn lift_in(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        id: &str,
        by: &str,
        reason: &str,
        at: i64,
    ) -> Result<(), StoreError> {
        let state: Option<String> =
            sqlx::query_scalar("SELECT state FROM blocklist WHERE id = $1").bind(id).fetch_optional(&mut **tx).await?;
        match state.as_deref() {
            None => return Err(StoreError::NotFound(format!("no blocklist entry {id}"))),
            Some("active") => {}
            Some(other) => return Err(StoreError::Refused(format!("entry {id} is {other} already"))),
        }
        sqlx::query("UPDATE blocklist SET state = 'lifted', ended_at = $1, ended_by = $2, end_reason = $3 WHERE id = $4")
            .bind(at)
            .bind(by)
            .bind(reason)
            .bind(id)
            .execute(&mut **tx)
            .await?;
        let serial = bump_serial(tx).await?;
        let entry = serde_json::json!({"type": "blocklist.lifted", "id": id, "by": by, "reason": reason, "at": at, "serial": serial});
        self.append_in(tx, entry.to_string().as_bytes()).await?;
        Ok(())
    }

    /// Records a review of an active entry: `keep` sets the next review to `next_review`; `lift`
    /// lifts it. Logged; refused when the entry is not active.
    pub async fn review_block_entry(&self, id: &str, by: &str, keep: bool, note: &str, next_review: i64) -> Result<BlockEntry, StoreError> {
        let at = now_ms();
        let mut tx = self.pool.begin().await?;
        let state: Option<String> =
            sqlx::query_scalar("SELECT state FROM blocklist WHERE id = $1").bind(id).fetch_optional(&mut *tx).await?;
        match state.as_deref() {
            None => return Err(StoreError::NotFound(format!("no blocklist entry {id}"))),
            Some("active") => {}
            Some(other) => return Err(StoreError::Refused(format!("entry {id} is {other}: only active entries are reviewed"))),
        }
        let outcome = if keep { "keep" } else { "lift" };
        sqlx::query("INSERT INTO blocklist_reviews (entry_id, at, by_account, outcome, note) VALUES ($1, $2, $3, $4, $5)")
            .bind(id)
            .bind(at)
            .bind(by)
            .bind(outcome)
            .bind(note)
            .execute(&mut *tx)
            .await?;
        let entry = serde_json::json!({"type": "blocklist.reviewed", "id": id, "outcome": outcome, "note": note, "by": by, "at": at, "next_review": keep.then_some(next_review)});
        self.append_in(&mut tx, entry.to_string().as_bytes()).await?;
        if keep {
            sqlx::query("UPDATE blocklist SET next_review = $1 WHERE id = $2").bind(next_review).bind(id).execute(&mut *tx).await?;
        } else {
            self.lift_in(&mut tx, id, by, note, at).await?;
        }
        tx.commit().await?;
        self.block_entry(id).await?.ok_or(StoreError::Inconsistent("a reviewed entry is missing"))
    }

    /// The active domain entry that blocks `host` (itself, or a parent listed with its
    /// subdomains), if any; the most specific when several do.
    pub async fn blocking_entry(&self, host: &str) -> Result<Option<BlockEntry>, StoreError> {
        // The host and each parent: a.b.example, b.example, example.
        let mut names = vec![host];
        let mut rest = host;
        while let Some((_, parent)) = rest.split_once('.') {
            names.push(parent);
            rest = parent;
        }
        for (i, name) in names.iter().enumerate() {
            let row = sqlx::query(&format!("SELECT {COLUMNS} FROM blocklist WHERE kind = 'domain' AND state = 'active' AND target = $1"))
                .bind(*name)
                .fetch_optional(&self.pool)
                .await?;
            if let Some(entry) = row.as_ref().map(entry_from).transpose()?
                && (i == 0 || entry.subdomains)
            {
                return Ok(Some(entry));
            }
        }
        Ok(None)
    }

    /// Marks active entries whose end date has passed as expired, each with a log entry dated
    /// its end; returns how many.
    pub async fn expire_block_entries(&self, now: i64) -> Result<u64, StoreError> {
        let rows = sqlx::query("SELECT id, expires_at FROM blocklist WHERE state = 'active' AND expires_at <= $1")
            .bind(now)
            .fetch_all(&self.pool)
            .await?;
        let due: Vec<(String, i64)> = rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect::<Result<_, StoreError>>()?;
        for (id, at) in &due {
            let mut tx = self.pool.begin().await?;
            let moved = sqlx::query(
                "UPDATE blocklist SET state = 'expired', ended_at = $1, ended_by = 'tocsin', end_reason = 'its end date passed' WHERE id = $2 AND state = 'active'",
            )
            .bind(at)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            if moved.rows_affected() == 1 {
                let serial = bump_serial(&mut tx).await?;
                let entry = serde_json::json!({"type": "blocklist.expired", "id": id, "at": at, "serial": serial});
                self.append_in(&mut tx, entry.to_string().as_bytes()).await?;
            }
            tx.commit().await?;
        }
        Ok(due.len() as u64)
    }

    /// The RPZ serial and the active domain entries, read together.
    pub async fn rpz_contents(&self) -> Result<(i64, Vec<BlockEntry>), StoreError> {
        let mut tx = self.pool.begin().await?;
        let serial: i64 = sqlx::query_scalar("SELECT serial FROM blocklist_serial WHERE id = 1").fetch_one(&mut *tx).await?;
        let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM blocklist WHERE kind = 'domain' AND state = 'active' ORDER BY target"))
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok((serial, rows.iter().map(entry_from).collect::<Result<_, _>>()?))
    }

    /// Records the qualified person's recommendation on an entry. Logged.
    pub async fn recommend(
        &self,
        id: &str,
        entry_id: &str,
        recommendation: &str,
        reasons: &str,
        by: &str,
    ) -> Result<Recommendation, StoreError> {
        let at = now_ms();
        let mut tx = self.pool.begin().await?;
        if sqlx::query("SELECT 1 FROM blocklist WHERE id = $1").bind(entry_id).fetch_optional(&mut *tx).await?.is_none() {
            return Err(StoreError::NotFound(format!("no blocklist entry {entry_id}")));
        }
        sqlx::query("INSERT INTO recommendations (id, entry_id, recommendation, reasons, by_account, at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(id)
            .bind(entry_id)
            .bind(recommendation)
            .bind(reasons)
            .bind(by)
            .bind(at)
            .execute(&mut *tx)
            .await?;
        let entry = serde_json::json!({"type": "oversight.recommendation", "id": id, "entry": entry_id, "recommendation": recommendation, "reasons": reasons, "by": by, "at": at});
        self.append_in(&mut tx, entry.to_string().as_bytes()).await?;
        tx.commit().await?;
        self.recommendation(id).await?.ok_or(StoreError::Inconsistent("a recommendation just made is missing"))
    }

    /// The authority's answer to a recommendation; an accepted `lift` lifts the entry in the same
    /// transaction. Logged; refused when it was answered already.
    pub async fn answer_recommendation(&self, id: &str, accepted: bool, note: &str, by: &str) -> Result<Recommendation, StoreError> {
        let at = now_ms();
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query("SELECT entry_id, recommendation, answer FROM recommendations WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("no recommendation {id}")))?;
        let (entry_id, recommendation, answer): (String, String, Option<String>) = (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
        if let Some(answer) = answer {
            return Err(StoreError::Refused(format!("recommendation {id} was answered already ({answer})")));
        }
        let answer = if accepted { "accepted" } else { "declined" };
        sqlx::query("UPDATE recommendations SET answer = $1, answer_note = $2, answered_by = $3, answered_at = $4 WHERE id = $5")
            .bind(answer)
            .bind(note)
            .bind(by)
            .bind(at)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let entry = serde_json::json!({"type": "oversight.answer", "id": id, "entry": entry_id, "recommendation": recommendation, "answer": answer, "note": note, "by": by, "at": at});
        self.append_in(&mut tx, entry.to_string().as_bytes()).await?;
        if accepted && recommendation == "lift" {
            self.lift_in(&mut tx, &entry_id, by, &format!("recommendation {id} accepted: {note}"), at).await?;
        }
        tx.commit().await?;
        self.recommendation(id).await?.ok_or(StoreError::Inconsistent("an answered recommendation is missing"))
    }

    /// Every recommendation, newest first.
    pub async fn recommendations(&self) -> Result<Vec<Recommendation>, StoreError> {
        let rows =
            sqlx::query(&format!("SELECT {REC_COLUMNS} FROM recommendations ORDER BY at DESC, id DESC")).fetch_all(&self.pool).await?;
        rows.iter().map(recommendation_from).collect()
    }

    /// One recommendation.
    pub async fn recommendation(&self, id: &str) -> Result<Option<Recommendation>, StoreError> {
        let row =
            sqlx::query(&format!("SELECT {REC_COLUMNS} FROM recommendations WHERE id = $1")).bind(id).fetch_optional(&self.pool).await?;
        row.as_ref().map(recommendation_from).transpose()
    }
}

/// A recommendation of the qualified person, with the authority's answer if given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recommendation {
    /// Its id (a ULID).
    pub id: String,
    /// The entry it is about.
    pub entry_id: String,
    /// `lift`, `amend` or `keep`.
    pub recommendation: String,
    /// Why.
    pub reasons: String,
    /// The oversight account.
    pub by: String,
    /// Unix ms.
    pub at: i64,
    /// `accepted` or `declined`, with the note, who answered and when.
    pub answer: Option<(String, String, String, i64)>,
}

const REC_COLUMNS: &str = "id, entry_id, recommendation, reasons, by_account, at, answer, answer_note, answered_by, answered_at";

fn recommendation_from(r: &sqlx::any::AnyRow) -> Result<Recommendation, StoreError> {
    let answer: Option<String> = r.try_get(6)?;
    Ok(Recommendation {
        id: r.try_get(0)?,
        entry_id: r.try_get(1)?,
        recommendation: r.try_get(2)?,
        reasons: r.try_get(3)?,
        by: r.try_get(4)?,
        at: r.try_get(5)?,
        answer: match answer {
            Some(a) => Some((
                a,
                r.try_get::<Option<String>, _>(7)?.unwrap_or_default(),
                r.try_get::<Option<String>, _>(8)?.unwrap_or_default(),
                r.try_get::<Option<i64>, _>(9)?.unwrap_or_default(),
            )),
            None => None,
        },
    })
}
