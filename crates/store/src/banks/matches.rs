//! Scan matches: every scan or lookup that matched a bank, kept with its verdict and matches.
//! Those a `review` bank flagged wait for a moderator, who confirms or clears them; the decision
//! is a log entry in the same transaction. Counting them by bank gives the matches per bank.

use sqlx::Row;

use crate::node::record::now_ms;
use crate::{Store, StoreError};

/// A match to record.
#[derive(Debug, Clone)]
pub struct NewMatch<'a> {
    /// Its id (a ULID).
    pub id: &'a str,
    /// `scan` (content sent) or `lookup` (hashes sent).
    pub source: &'a str,
    /// The overall verdict: `block`, `review` or `report`.
    pub verdict: &'a str,
    /// The account that asked.
    pub account: &'a str,
    /// SHA-256 of the scanned content, hex (scans only).
    pub sha256: Option<&'a str>,
    /// The content type the scan named.
    pub content_type: Option<&'a str>,
    /// The matches, as the API answered them (JSON).
    pub matches: &'a str,
    /// The banks matched.
    pub banks: &'a [String],
}

/// A recorded match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanMatch {
    /// Its id (a ULID).
    pub id: String,
    /// Unix ms.
    pub at: i64,
    /// `scan` or `lookup`.
    pub source: String,
    /// `block`, `review` or `report`.
    pub verdict: String,
    /// The account that asked.
    pub account: String,
    /// SHA-256 of the scanned content.
    pub sha256: Option<String>,
    /// Its content type.
    pub content_type: Option<String>,
    /// The matches (JSON).
    pub matches: String,
    /// `pending` (waiting for a moderator), `recorded` (no review asked), `confirmed`, `cleared`.
    pub status: String,
    /// Who decided, when, and why.
    pub decided: Option<(String, i64, String)>,
}

const COLUMNS: &str = "id, at, source, verdict, account, sha256, content_type, matches, status, decided_by, decided_at, reason";

fn from_row(r: &sqlx::any::AnyRow) -> Result<ScanMatch, StoreError> {
    let decided_by: Option<String> = r.try_get(9)?;
    let decided = match decided_by {
        Some(by) => Some((by, r.try_get::<i64, _>(10)?, r.try_get::<Option<String>, _>(11)?.unwrap_or_default())),
        None => None,
    };
    Ok(ScanMatch {
        id: r.try_get(0)?,
        at: r.try_get(1)?,
        source: r.try_get(2)?,
        verdict: r.try_get(3)?,
        account: r.try_get(4)?,
        sha256: r.try_get(5)?,
        content_type: r.try_get(6)?,
        matches: r.try_get(7)?,
        status: r.try_get(8)?,
        decided,
    })
}

impl Store {
    /// Records a match; one a `review` verdict gives waits for a moderator.
    pub async fn record_match(&self, m: NewMatch<'_>) -> Result<ScanMatch, StoreError> {
        let status = if m.verdict == "review" { "pending" } else { "recorded" };
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO scan_matches (id, at, source, verdict, account, sha256, content_type, matches, status) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(m.id)
        .bind(now_ms())
        .bind(m.source)
        .bind(m.verdict)
        .bind(m.account)
        .bind(m.sha256)
        .bind(m.content_type)
        .bind(m.matches)
        .bind(status)
        .execute(&mut *tx)
        .await?;
        let mut banks: Vec<&String> = m.banks.iter().collect();
        banks.sort_unstable();
        banks.dedup();
        for bank in banks {
            sqlx::query("INSERT INTO scan_match_banks (match_id, bank) VALUES ($1, $2)").bind(m.id).bind(bank).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        self.scan_match(m.id).await?.ok_or(StoreError::Inconsistent("a match just recorded is missing"))
    }

    /// One match.
    pub async fn scan_match(&self, id: &str) -> Result<Option<ScanMatch>, StoreError> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM scan_matches WHERE id = $1")).bind(id).fetch_optional(&self.pool).await?;
        row.as_ref().map(from_row).transpose()
    }

    /// The latest `limit` matches, newest first; only those waiting for a moderator (oldest
    /// first, as a queue) when `pending`.
    pub async fn scan_matches(&self, pending: bool, limit: i64) -> Result<Vec<ScanMatch>, StoreError> {
        let sql = if pending {
            format!("SELECT {COLUMNS} FROM scan_matches WHERE status = 'pending' ORDER BY at, id LIMIT $1")
        } else {
            format!("SELECT {COLUMNS} FROM scan_matches ORDER BY at DESC, id DESC LIMIT $1")
        };
        let rows = sqlx::query(&sql).bind(limit).fetch_all(&self.pool).await?;
        rows.iter().map(from_row).collect()
    }

    /// A moderator's decision on a waiting match (`confirmed` or `cleared`), logged; refused
    /// when the match is not waiting.
    pub async fn decide_match(&self, id: &str, decision: &str, by: &str, reason: &str) -> Result<ScanMatch, StoreError> {
        if !matches!(decision, "confirmed" | "cleared") {
            return Err(StoreError::Refused(format!("decision {decision:?}: confirmed or cleared")));
        }
        let at = now_ms();
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query(
            "UPDATE scan_matches SET status = $1, decided_by = $2, decided_at = $3, reason = $4 WHERE id = $5 AND status = 'pending'",
        )
        .bind(decision)
        .bind(by)
        .bind(at)
        .bind(reason)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if done == 0 {
            let exists = sqlx::query("SELECT status FROM scan_matches WHERE id = $1").bind(id).fetch_optional(&mut *tx).await?;
            return Err(match exists {
                Some(row) => StoreError::Refused(format!("match {id} is not waiting for review ({})", row.try_get::<String, _>(0)?)),
                None => StoreError::NotFound(format!("no match {id}")),
            });
        }
        let entry = serde_json::json!({"type": "match.decided", "id": id, "decision": decision, "by": by, "reason": reason, "at": at});
        self.append_in(&mut tx, entry.to_string().as_bytes()).await?;
        tx.commit().await?;
        self.scan_match(id).await?.ok_or(StoreError::Inconsistent("a match just decided is missing"))
    }

    /// Whether another match still waiting holds content with this SHA-256 (so its copy for the
    /// moderators is still needed).
    pub async fn match_content_pending(&self, sha256: &str) -> Result<bool, StoreError> {
        let row = sqlx::query("SELECT 1 FROM scan_matches WHERE sha256 = $1 AND status = 'pending' LIMIT 1")
            .bind(sha256)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.is_some())
    }

    /// Matches recorded per bank, most first.
    pub async fn matches_per_bank(&self) -> Result<Vec<(String, i64)>, StoreError> {
        let rows = sqlx::query("SELECT bank, COUNT(*) FROM scan_match_banks GROUP BY bank ORDER BY COUNT(*) DESC, bank")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
    }
}
