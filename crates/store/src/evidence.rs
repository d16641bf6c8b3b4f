//! Evidence: what the platform preserved of each blocked URL (content-addressed blobs live in
//! the data folder; their metadata and hashes here), and the stay-down bank the hashes feed,
//! each entry with the order as its provenance.

use sqlx::Row;

use crate::messages::{Block, block_from, now_ms};
use tocsin_model::{BankName, Labels, Signal, SignalType};

use crate::banks::{NewSignal, Provenance};
use crate::{Store, StoreError};

/// Six months, in milliseconds: how long preserved content is kept (TCO Art. 6(2)).
pub const RETENTION_MS: i64 = 183 * 86_400_000;

/// How many times fetching a blocked URL's content is tried before it is left as failed.
pub const PRESERVATION_ATTEMPTS: i64 = 5;

/// What was preserved of one URL (or why nothing was).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence {
    /// The order.
    pub order_id: String,
    /// The canonical URL.
    pub url: String,
    /// `preserved`, or `failed` with `error`.
    pub status: String,
    /// SHA-256 of the content, hex (the blob's name).
    pub sha256: Option<String>,
    /// MD5 of the content, hex.
    pub md5: Option<String>,
    /// Bytes.
    pub size: Option<i64>,
    /// As the origin gave it.
    pub content_type: Option<String>,
    /// PDQ hash, hex, for images.
    pub pdq: Option<String>,
    /// PDQ quality, 0 to 100.
    pub pdq_quality: Option<i64>,
    /// When it was fetched, Unix milliseconds.
    pub fetched_at: i64,
    /// Kept until, Unix milliseconds.
    pub retain_until: Option<i64>,
    /// Why it could not be preserved.
    pub error: Option<String>,
}

impl Store {
    /// Blocks whose content has not been preserved yet: never tried, or failed fewer than
    /// [`PRESERVATION_ATTEMPTS`] times and due again at `now` (Unix ms).
    pub async fn blocks_to_preserve(&self, now: i64) -> Result<Vec<Block>, StoreError> {
        let rows = sqlx::query(
            "SELECT b.url, b.order_id, b.reference, b.legal_basis, b.authority, b.blocked_at, b.confidential, b.confidential_until, b.kind \
             FROM blocks b LEFT JOIN evidence e ON e.order_id = b.order_id AND e.url = b.url \
             WHERE e.url IS NULL OR (e.status = 'failed' AND e.attempts < $1 AND e.next_attempt_at <= $2) ORDER BY b.blocked_at",
        )
        .bind(PRESERVATION_ATTEMPTS)
        .bind(now)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(block_from).collect()
    }

    /// Records what was preserved and adds its hashes to the stay-down bank (a hash already in
    /// the bank keeps its first provenance), with a log entry, in one transaction.
    /// A failed attempt is kept with its reason and tried again after 1, 2, 4, 8 seconds (until
    /// [`PRESERVATION_ATTEMPTS`] run out; an origin restarting is back by then); a success
    /// replaces it.
    /// `tell` is a message to queue in the same transaction (id, peer, URL, kind, JWS): the
    /// hashes for the authority that issued the order.
    pub async fn record_evidence(&self, e: &Evidence, tell: Option<(&str, &str, &str, &str, &str)>) -> Result<(), StoreError> {
        let at = now_ms();
        let mut tx = self.pool.begin().await?;
        let earlier = sqlx::query("SELECT attempts FROM evidence WHERE order_id = $1 AND url = $2")
            .bind(&e.order_id)
            .bind(&e.url)
            .fetch_optional(&mut *tx)
            .await?
            .map(|r| r.try_get::<i64, _>(0))
            .transpose()?;
        sqlx::query("DELETE FROM evidence WHERE order_id = $1 AND url = $2").bind(&e.order_id).bind(&e.url).execute(&mut *tx).await?;
        let attempts = earlier.unwrap_or(0) + 1;
        let next_attempt_at = (e.status == "failed" && attempts < PRESERVATION_ATTEMPTS).then(|| at + (1000 << (attempts - 1)));
        sqlx::query(
            "INSERT INTO evidence (order_id, url, status, sha256, md5, size, content_type, pdq, pdq_quality, fetched_at, retain_until, error, \
             attempts, next_attempt_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(&e.order_id)
        .bind(&e.url)
        .bind(&e.status)
        .bind(&e.sha256)
        .bind(&e.md5)
        .bind(e.size)
        .bind(&e.content_type)
        .bind(&e.pdq)
        .bind(e.pdq_quality)
        .bind(e.fetched_at)
        .bind(e.retain_until)
        .bind(&e.error)
        .bind(attempts)
        .bind(next_attempt_at)
        .execute(&mut *tx)
        .await?;
        // Into the stay-down bank, with the order as provenance. The hashes were computed here,
        // so a malformed one is this node's fault.
        let mut signals = Vec::new();
        for (kind, value) in [(SignalType::Sha256, &e.sha256), (SignalType::Md5, &e.md5), (SignalType::Pdq, &e.pdq)] {
            let Some(value) = value else { continue };
            let signal = Signal::new(kind, value).map_err(|_| StoreError::Inconsistent("a computed hash is malformed"))?;
            signals.push(NewSignal::active(signal, Labels::default()));
        }
        if !signals.is_empty() {
            let provenance = Provenance { source: "order".into(), reference: e.order_id.clone(), detail: e.url.clone() };
            let (_, banked) = self.add_signals_in(&mut tx, BankName::STAY_DOWN, &signals, &provenance, at).await?;
            self.append_in(&mut tx, banked.to_string().as_bytes()).await?;
        }
        let entry = serde_json::json!({
            "type": if e.status == "preserved" { "evidence.preserved" } else { "evidence.failed" },
            "order": e.order_id, "url_sha256": crate::messages::url_digest(&e.url), "sha256": e.sha256, "md5": e.md5, "pdq": e.pdq, "error": e.error, "attempt": attempts, "at": at,
        });
        self.append_in(&mut tx, entry.to_string().as_bytes()).await?;
        if let Some(message) = tell {
            crate::messages::queue_message(&mut tx, message, at).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Preserved content whose retention has run out at `now` (Unix ms): order, URL, SHA-256.
    pub async fn expired_evidence(&self, now: i64) -> Result<Vec<(String, String, String)>, StoreError> {
        let rows = sqlx::query("SELECT order_id, url, sha256 FROM evidence WHERE status = 'preserved' AND retain_until < $1")
            .bind(now)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?))).collect()
    }

    /// Marks preserved content as expired (its blob deleted), with a log entry; whether another
    /// piece of evidence still keeps the same content (its blob must then stay).
    pub async fn expire_evidence(&self, order_id: &str, url: &str, sha256: &str) -> Result<bool, StoreError> {
        let at = now_ms();
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE evidence SET status = 'expired' WHERE order_id = $1 AND url = $2 AND status = 'preserved'")
            .bind(order_id)
            .bind(url)
            .execute(&mut *tx)
            .await?;
        let still_kept = sqlx::query("SELECT 1 FROM evidence WHERE sha256 = $1 AND status = 'preserved'")
            .bind(sha256)
            .fetch_optional(&mut *tx)
            .await?
            .is_some();
        let entry = serde_json::json!({
            "type": "evidence.expired", "order": order_id, "url_sha256": crate::messages::url_digest(url), "sha256": sha256, "at": at,
        });
        self.append_in(&mut tx, entry.to_string().as_bytes()).await?;
        tx.commit().await?;
        Ok(still_kept)
    }

    /// What was preserved for an order.
    pub async fn evidence(&self, order_id: &str) -> Result<Vec<Evidence>, StoreError> {
        let rows = sqlx::query(
            "SELECT order_id, url, status, sha256, md5, size, content_type, pdq, pdq_quality, fetched_at, retain_until, error \
             FROM evidence WHERE order_id = $1 ORDER BY url",
        )
        .bind(order_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Evidence {
                    order_id: r.try_get(0)?,
                    url: r.try_get(1)?,
                    status: r.try_get(2)?,
                    sha256: r.try_get(3)?,
                    md5: r.try_get(4)?,
                    size: r.try_get(5)?,
                    content_type: r.try_get(6)?,
                    pdq: r.try_get(7)?,
                    pdq_quality: r.try_get(8)?,
                    fetched_at: r.try_get(9)?,
                    retain_until: r.try_get(10)?,
                    error: r.try_get(11)?,
                })
            })
            .collect()
    }
}
