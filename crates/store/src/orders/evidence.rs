//! Evidence: what the platform preserved of each blocked URL (content-addressed blobs live in
//! the data folder; their metadata and hashes here), and the stay-down bank the hashes feed,
//! each entry with the order as its provenance.

use sqlx::Row;

use crate::node::record::now_ms;
use crate::orders::{Block, block_from};
use tocsin_model::{BankName, Labels, Signal, SignalType};

use crate::banks::{NewSignal, Provenance};
use crate::{Store, StoreError};

/// How long preserved content is kept, in calendar months from the removal (TCO Art. 6(2)),
/// unless the issuing authority asks for longer.
pub const RETENTION_MONTHS: i64 = 6;

/// Until when content removed at `removed_at` (Unix ms) is kept: the end of the day six calendar
/// months later, so that the period never ends early whatever the months' lengths.
pub fn retain_until(removed_at: i64) -> i64 {
    tocsin_model::calendar::end_of_day_months_after(removed_at, RETENTION_MONTHS)
}

/// How long a failing fetch is tried again, from its first attempt: an origin down for a night
/// still has its content preserved.
pub const PRESERVATION_RETRY_MS: i64 = 48 * 3_600_000;

/// The longest wait between two attempts.
pub const PRESERVATION_MAX_BACKOFF_MS: i64 = 3_600_000;

/// Failed attempts after which the escalation webhook hears that preservation keeps failing
/// (1 + 2 + 4 seconds of retries: an origin restarting is back by then).
pub const PRESERVATION_ALERT_AFTER: i64 = 4;

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
    /// vPDQ features, for videos (a `vpdq` signal's canonical value).
    pub vpdq: Option<String>,
    /// When it was fetched, Unix milliseconds.
    pub fetched_at: i64,
    /// Kept until, Unix milliseconds.
    pub retain_until: Option<i64>,
    /// Why it could not be preserved.
    pub error: Option<String>,
    /// What the platform's own systems hold on it (upload time, account), JSON, as its
    /// preservation webhook answered (or `{"error": ...}`); `None` without a webhook.
    pub related_data: Option<String>,
}

impl Store {
    /// Blocks whose content has not been preserved yet: never tried, or failed and due again at
    /// `now` (Unix ms).
    pub async fn blocks_to_preserve(&self, now: i64) -> Result<Vec<Block>, StoreError> {
        let rows = sqlx::query(
            "SELECT b.url, b.order_id, b.reference, b.legal_basis, b.authority, b.blocked_at, b.confidential, b.confidential_until, b.kind \
             FROM blocks b LEFT JOIN evidence e ON e.order_id = b.order_id AND e.url = b.url \
             WHERE e.url IS NULL OR (e.status = 'failed' AND e.next_attempt_at IS NOT NULL AND e.next_attempt_at <= $1) \
             ORDER BY b.blocked_at",
        )
        .bind(now)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(block_from).collect()
    }

    /// Records what was preserved and adds its hashes to the stay-down bank (a hash already in
    /// the bank keeps its first provenance), with a log entry, in one transaction; the number of
    /// attempts so far. A failed attempt is kept with its reason and tried again after 1, 2, 4,
    /// 8... seconds, at most an hour apart, for [`PRESERVATION_RETRY_MS`] from the first; a
    /// success replaces it.
    /// `tell` is a message to queue in the same transaction (id, peer, URL, kind, JWS): the
    /// hashes for the authority that issued the order.
    pub async fn record_evidence(&self, e: &Evidence, tell: Option<(&str, &str, &str, &str, &str)>) -> Result<i64, StoreError> {
        let at = now_ms();
        let mut tx = self.pool.begin().await?;
        let earlier = sqlx::query("SELECT attempts, first_attempt_at, alerted FROM evidence WHERE order_id = $1 AND url = $2")
            .bind(&e.order_id)
            .bind(&e.url)
            .fetch_optional(&mut *tx)
            .await?
            .map(|r| Ok::<_, StoreError>((r.try_get::<i64, _>(0)?, r.try_get::<Option<i64>, _>(1)?, r.try_get::<i64, _>(2)?)))
            .transpose()?;
        sqlx::query("DELETE FROM evidence WHERE order_id = $1 AND url = $2").bind(&e.order_id).bind(&e.url).execute(&mut *tx).await?;
        let attempts = earlier.map_or(0, |(n, _, _)| n) + 1;
        let first_attempt_at = earlier.and_then(|(_, first, _)| first).unwrap_or(e.fetched_at);
        let alerted = earlier.map_or(0, |(_, _, alerted)| alerted);
        let wait = (1000_i64 << (attempts - 1).clamp(0, 30)).min(PRESERVATION_MAX_BACKOFF_MS);
        let next_attempt_at = (e.status == "failed" && at + wait - first_attempt_at <= PRESERVATION_RETRY_MS).then_some(at + wait);
        sqlx::query(
            "INSERT INTO evidence (order_id, url, status, sha256, md5, size, content_type, pdq, pdq_quality, fetched_at, retain_until, error, \
             attempts, next_attempt_at, first_attempt_at, alerted, related_data, vpdq) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)",
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
        .bind(first_attempt_at)
        .bind(alerted)
        .bind(&e.related_data)
        .bind(&e.vpdq)
        .execute(&mut *tx)
        .await?;
        // Into the stay-down bank, with the order as provenance. The hashes were computed here,
        // so a malformed one is this node's fault.
        let mut signals = Vec::new();
        for (kind, value) in
            [(SignalType::Sha256, &e.sha256), (SignalType::Md5, &e.md5), (SignalType::Pdq, &e.pdq), (SignalType::Vpdq, &e.vpdq)]
        {
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
            "order": e.order_id, "url_sha256": crate::node::record::url_digest(&e.url), "sha256": e.sha256, "md5": e.md5, "pdq": e.pdq,
            "vpdq_sha256": e.vpdq.as_deref().map(crate::node::record::sha256_hex), "error": e.error, "attempt": attempts,
            "gave_up": e.status == "failed" && next_attempt_at.is_none(), "at": at,
        });
        self.append_in(&mut tx, entry.to_string().as_bytes()).await?;
        if let Some(message) = tell {
            crate::node::record::queue_message(&mut tx, message, at).await?;
        }
        tx.commit().await?;
        Ok(attempts)
    }

    /// Marks that preserving `url` for `order_id` keeps failing and queues `webhook` (the
    /// escalation webhook's call), with a log entry, once per piece of evidence: whether it was
    /// the first time.
    pub async fn preservation_failing(
        &self,
        order_id: &str,
        url: &str,
        webhook: Option<(&str, &str, &str, &str)>,
    ) -> Result<bool, StoreError> {
        let at = now_ms();
        let mut tx = self.pool.begin().await?;
        let marked = sqlx::query("UPDATE evidence SET alerted = 1 WHERE order_id = $1 AND url = $2 AND status = 'failed' AND alerted = 0")
            .bind(order_id)
            .bind(url)
            .execute(&mut *tx)
            .await?;
        if marked.rows_affected() != 1 {
            return Ok(false);
        }
        if let Some(call) = webhook {
            crate::node::record::queue_webhook(&mut tx, call, at).await?;
        }
        let entry = serde_json::json!({
            "type": "evidence.failing", "order": order_id, "url_sha256": crate::node::record::url_digest(url), "at": at,
        });
        self.append_in(&mut tx, entry.to_string().as_bytes()).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The issuing authority's request that an order's content be kept beyond six months (for
    /// its own or a court's proceedings), or its release: applied in the transaction that keeps
    /// the message from `peer`, only to an order received from that peer.
    pub(crate) async fn apply_hold(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        peer: &str,
        hold: &Hold<'_>,
        at: i64,
    ) -> Result<(), StoreError> {
        let from = sqlx::query("SELECT peer FROM orders WHERE id = $1 AND side = 'received'")
            .bind(hold.order_id)
            .fetch_optional(&mut **tx)
            .await?
            .map(|r| r.try_get::<String, _>(0))
            .transpose()?;
        if from.as_deref() != Some(peer) {
            return Err(StoreError::Refused(format!("no order {} from this peer", hold.order_id)));
        }
        if hold.release {
            let released = sqlx::query(
                "UPDATE preservation_holds SET released_at = $1, release_reason = $2 WHERE order_id = $3 AND released_at IS NULL",
            )
            .bind(at)
            .bind(hold.reason)
            .bind(hold.order_id)
            .execute(&mut **tx)
            .await?;
            if released.rows_affected() != 1 {
                return Err(StoreError::Refused(format!("order {} has no preservation hold to release", hold.order_id)));
            }
        } else {
            sqlx::query("DELETE FROM preservation_holds WHERE order_id = $1").bind(hold.order_id).execute(&mut **tx).await?;
            sqlx::query("INSERT INTO preservation_holds (order_id, peer, reason, requested_at) VALUES ($1, $2, $3, $4)")
                .bind(hold.order_id)
                .bind(peer)
                .bind(hold.reason)
                .bind(at)
                .execute(&mut **tx)
                .await?;
        }
        let event = if hold.release { "preservation_released" } else { "preservation_held" };
        crate::node::record::add_event(tx, hold.order_id, at, event, &serde_json::json!({ "reason": hold.reason }).to_string()).await?;
        let entry = serde_json::json!({ "type": format!("evidence.{}", if hold.release { "released" } else { "held" }), "order": hold.order_id, "at": at });
        self.append_in(tx, entry.to_string().as_bytes()).await?;
        Ok(())
    }

    /// The preservation hold on an order, if one was ever asked for: (reason, asked at,
    /// released at).
    pub async fn preservation_hold(&self, order_id: &str) -> Result<Option<(String, i64, Option<i64>)>, StoreError> {
        let row = sqlx::query("SELECT reason, requested_at, released_at FROM preservation_holds WHERE order_id = $1")
            .bind(order_id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?))).transpose()
    }

    /// Preserved content whose retention has run out at `now` (Unix ms): order, URL, SHA-256.
    pub async fn expired_evidence(&self, now: i64) -> Result<Vec<(String, String, String)>, StoreError> {
        // Content the issuing authority asked to keep stays until it releases it (Art. 6(2)).
        let rows = sqlx::query(
            "SELECT order_id, url, sha256 FROM evidence WHERE status = 'preserved' AND retain_until < $1 \
             AND order_id NOT IN (SELECT order_id FROM preservation_holds WHERE released_at IS NULL)",
        )
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
            "type": "evidence.expired", "order": order_id, "url_sha256": crate::node::record::url_digest(url), "sha256": sha256, "at": at,
        });
        self.append_in(&mut tx, entry.to_string().as_bytes()).await?;
        tx.commit().await?;
        Ok(still_kept)
    }

    /// What was preserved for an order.
    pub async fn evidence(&self, order_id: &str) -> Result<Vec<Evidence>, StoreError> {
        let rows = sqlx::query(
            "SELECT order_id, url, status, sha256, md5, size, content_type, pdq, pdq_quality, fetched_at, retain_until, error, \
             related_data, vpdq FROM evidence WHERE order_id = $1 ORDER BY url",
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
                    related_data: r.try_get(12)?,
                    vpdq: r.try_get(13)?,
                })
            })
            .collect()
    }
}

/// The issuing authority's request to keep an order's content longer, or to release it.
#[derive(Debug, Clone, Copy)]
pub struct Hold<'a> {
    /// The order.
    pub order_id: &'a str,
    /// Why (the proceedings), in the authority's words.
    pub reason: &'a str,
    /// A release: the proceedings no longer need the content.
    pub release: bool,
}
