//! The qualified person's notices (LCEN Art. 6-1, Décret 2015-125): the authority tells each
//! oversight peer of every blocklist change its log records, keeping how far into the log each
//! has been told; the oversight node keeps what it was told.

use sqlx::Row;

use crate::node::record::{now_ms, queue_message};
use crate::{Store, StoreError};

/// A notice as the oversight node keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// The authority's key fingerprint.
    pub peer: String,
    /// The message's id.
    pub id: String,
    /// Where the change stands in the authority's log.
    pub log_index: i64,
    /// The authority's log entry for the change, JSON.
    pub entry: String,
    /// When it arrived, Unix ms.
    pub received_at: i64,
}

impl Store {
    /// How far into this node's log the oversight peer with key `peer` has been told.
    pub async fn oversight_cursor(&self, peer: &str) -> Result<u64, StoreError> {
        let row = sqlx::query("SELECT next_index FROM oversight_cursors WHERE peer = $1").bind(peer).fetch_optional(&self.pool).await?;
        Ok(row.map(|r| r.try_get::<i64, _>(0)).transpose()?.map_or(0, |n| u64::try_from(n).unwrap_or(0)))
    }

    /// Queues `messages` (id, URL, signed message) for the oversight peer with key `peer` and
    /// moves its cursor from `from` to `to`, in one transaction; nothing if another worker moved
    /// it first.
    pub async fn tell_oversight(&self, peer: &str, from: u64, to: u64, messages: &[(String, String, String)]) -> Result<(), StoreError> {
        let at = now_ms();
        let (from, to) = (i64::try_from(from).unwrap_or(i64::MAX), i64::try_from(to).unwrap_or(i64::MAX));
        let mut tx = self.pool.begin().await?;
        // One statement for a first round (no row yet) and the next ones (the row is at `from`):
        // a second worker that started from the same place moves nothing.
        let moved = sqlx::query(
            "INSERT INTO oversight_cursors (peer, next_index) VALUES ($1, $2) \
             ON CONFLICT (peer) DO UPDATE SET next_index = $2 WHERE oversight_cursors.next_index = $3",
        )
        .bind(peer)
        .bind(to)
        .bind(from)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if moved != 1 {
            return Ok(());
        }
        for (id, url, jws) in messages {
            queue_message(&mut tx, (id, peer, url, "blocklist_notice", jws), at).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Every notice received, newest first.
    pub async fn blocklist_notices(&self) -> Result<Vec<Notice>, StoreError> {
        let rows =
            sqlx::query("SELECT peer, id, log_index, entry, received_at FROM blocklist_notices ORDER BY received_at DESC, log_index DESC")
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|r| {
                Ok(Notice {
                    peer: r.try_get(0)?,
                    id: r.try_get(1)?,
                    log_index: r.try_get(2)?,
                    entry: r.try_get(3)?,
                    received_at: r.try_get(4)?,
                })
            })
            .collect()
    }
}

/// Keeps a notice from `peer` in the transaction that keeps its message.
pub(crate) async fn keep(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    peer: &str,
    id: &str,
    notice: (i64, &str),
    at: i64,
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO blocklist_notices (peer, id, log_index, entry, received_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(peer)
        .bind(id)
        .bind(notice.0)
        .bind(notice.1)
        .bind(at)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
