//! TCO Art. 3(2): the information on procedures and deadlines an authority gives a platform
//! before its first removal order there. The authority records each time it gave it (sent through
//! Tocsin, dated by the platform's receipt, or given by other means on a date it states); the
//! platform keeps what it received. Each record is a log entry in the same transaction.

use sqlx::Row;

use crate::node::record::{now_ms, queue_message};
use crate::{Store, StoreError};

/// One record of information given or received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcedureInformation {
    /// The message's id, or the record's.
    pub id: String,
    /// `sent` (this node gave it) or `received`.
    pub side: String,
    /// The other node's key fingerprint.
    pub peer: String,
    /// When the platform had it, Unix ms: its time of receipt, or the date stated for
    /// information given by other means; `None` while the message is on its way.
    pub given_at: Option<i64>,
    /// `tocsin`, or how it was given otherwise (a letter, an email, with its reference).
    pub means: String,
    /// The information itself.
    pub text: String,
    /// The account that recorded it (for a received one, the sender's name).
    pub recorded_by: String,
    /// When it was recorded, Unix ms.
    pub recorded_at: i64,
}

/// A new record: the message that carries it (id, peer URL, signed message) when it is sent
/// through Tocsin, or the date it was given by other means.
#[derive(Debug, Clone, Copy)]
pub enum Given<'a> {
    /// Sent now; dated when the platform's receipt comes back.
    Sent {
        /// The message id.
        id: &'a str,
        /// The peer's URL.
        url: &'a str,
        /// The signed message.
        jws: &'a str,
    },
    /// Given on `at` (Unix ms) by `means`.
    Otherwise {
        /// The record's id.
        id: &'a str,
        /// When.
        at: i64,
    },
}

impl Store {
    /// Records information on procedures and deadlines given to the peer with key `peer` (and
    /// queues its message when it is sent through Tocsin). A date in the future is refused.
    pub async fn record_procedure_information(
        &self,
        peer: &str,
        given: Given<'_>,
        means: &str,
        text: &str,
        by: &str,
    ) -> Result<(), StoreError> {
        let recorded_at = now_ms();
        let (id, given_at) = match given {
            Given::Sent { id, .. } => (id, None),
            Given::Otherwise { id, at } if at <= recorded_at => (id, Some(at)),
            Given::Otherwise { .. } => return Err(StoreError::Refused("the date it was given is in the future".to_owned())),
        };
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO procedure_information (id, side, peer, given_at, means, text, recorded_by, recorded_at) \
             VALUES ($1, 'sent', $2, $3, $4, $5, $6, $7)",
        )
        .bind(id)
        .bind(peer)
        .bind(given_at)
        .bind(means)
        .bind(text)
        .bind(by)
        .bind(recorded_at)
        .execute(&mut *tx)
        .await?;
        if let Given::Sent { id, url, jws } = given {
            queue_message(&mut tx, (id, peer, url, "procedure_information", jws), recorded_at).await?;
        }
        let entry = serde_json::json!({
            "type": "procedures.informed", "id": id, "peer": peer, "given_at": given_at, "means": means, "by": by, "at": recorded_at,
        });
        self.append_in(&mut tx, entry.to_string().as_bytes()).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Every record about the peer with key `peer`, oldest first.
    pub async fn procedure_information(&self, peer: &str) -> Result<Vec<ProcedureInformation>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, side, peer, given_at, means, text, recorded_by, recorded_at FROM procedure_information \
             WHERE peer = $1 ORDER BY recorded_at, id",
        )
        .bind(peer)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ProcedureInformation {
                    id: r.try_get(0)?,
                    side: r.try_get(1)?,
                    peer: r.try_get(2)?,
                    given_at: r.try_get(3)?,
                    means: r.try_get(4)?,
                    text: r.try_get(5)?,
                    recorded_by: r.try_get(6)?,
                    recorded_at: r.try_get(7)?,
                })
            })
            .collect()
    }

    /// When this node first gave the peer with key `peer` its information (the earliest dated
    /// record), if it has.
    pub async fn informed_at(&self, peer: &str) -> Result<Option<i64>, StoreError> {
        let row = sqlx::query("SELECT MIN(given_at) FROM procedure_information WHERE peer = $1 AND side = 'sent'")
            .bind(peer)
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get(0)?)
    }

    /// How many removal orders this node has issued to the peer with key `peer`.
    pub async fn removal_orders_issued_to(&self, peer: &str) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) FROM orders WHERE side = 'issued' AND kind = 'removal_order' AND peer = $1")
            .bind(peer)
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get(0)?)
    }
}

/// Keeps information a peer sent, in the transaction that keeps its message.
pub(crate) async fn keep_received(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    id: &str,
    peer: &str,
    text: &str,
    at: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO procedure_information (id, side, peer, given_at, means, text, recorded_by, recorded_at) \
         VALUES ($1, 'received', $2, $3, 'tocsin', $4, $2, $3)",
    )
    .bind(id)
    .bind(peer)
    .bind(at)
    .bind(text)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Dates information sent through Tocsin by the platform's receipt, in the transaction that
/// records the delivery (nothing when message `id` carried no information).
pub(crate) async fn date_by_receipt(tx: &mut sqlx::Transaction<'_, sqlx::Any>, id: &str, received_at: i64) -> Result<(), StoreError> {
    sqlx::query("UPDATE procedure_information SET given_at = $1 WHERE id = $2 AND side = 'sent' AND given_at IS NULL")
        .bind(received_at)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
