//! What every part of the store writes with: the clock, the durable outbox and webhook queues,
//! an order's timeline, and how the log names a URL. Each capability's module uses these and
//! none of the others', so the modules do not import each other in a circle.

use sqlx::Row;

use crate::StoreError;

/// Unix milliseconds now.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// How a log entry names a URL: the SHA-256 of its canonical form, in hex. The log is read by
/// auditors, who check that orders, blocks and evidence agree, which the hashes let them do
/// without learning where the content is; the URLs are for the roles that may read orders.
pub(crate) fn url_digest(url: &str) -> String {
    sha256_hex(url)
}

/// The SHA-256 of a text, in hex.
pub(crate) fn sha256_hex(text: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// Queues a message for delivery in the caller's transaction: (id, peer, URL, kind, signed
/// message), due at once.
pub(crate) async fn queue_message(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    message: (&str, &str, &str, &str, &str),
    at: i64,
) -> Result<(), StoreError> {
    queue_message_due(tx, message, at, at).await
}

/// [`queue_message`], first tried at `due` rather than at once (an answer held while an
/// objection window runs).
pub(crate) async fn queue_message_due(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    message: (&str, &str, &str, &str, &str),
    at: i64,
    due: i64,
) -> Result<(), StoreError> {
    let (id, peer, url, kind, jws) = message;
    sqlx::query(
        "INSERT INTO outbox (id, peer, url, kind, jws, queued_at, attempts, next_attempt_at) VALUES ($1, $2, $3, $4, $5, $6, 0, $7)",
    )
    .bind(id)
    .bind(peer)
    .bind(url)
    .bind(kind)
    .bind(jws)
    .bind(at)
    .bind(due)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Queues a webhook call in the caller's transaction: (id, URL, body, signature), due at once.
pub(crate) async fn queue_webhook(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    call: (&str, &str, &str, &str),
    at: i64,
) -> Result<(), StoreError> {
    let (id, url, body, signature) = call;
    sqlx::query("INSERT INTO webhooks (id, url, body, signature, queued_at, attempts, next_attempt_at) VALUES ($1, $2, $3, $4, $5, 0, $5)")
        .bind(id)
        .bind(url)
        .bind(body)
        .bind(signature)
        .bind(at)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Adds an event to an order's timeline, numbered after the last, in the caller's transaction.
pub(crate) async fn add_event(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    order: &str,
    at: i64,
    event: &str,
    detail: &str,
) -> Result<(), StoreError> {
    let next: i64 = sqlx::query("SELECT COALESCE(MAX(seq) + 1, 0) FROM order_events WHERE order_id = $1")
        .bind(order)
        .fetch_one(&mut **tx)
        .await?
        .try_get(0)?;
    sqlx::query("INSERT INTO order_events (order_id, seq, at, event, detail) VALUES ($1, $2, $3, $4, $5)")
        .bind(order)
        .bind(next)
        .bind(at)
        .bind(event)
        .bind(detail)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
/// A log entry's bytes: the event as JSON.
pub(crate) fn json_entry(value: serde_json::Value) -> Vec<u8> {
    value.to_string().into_bytes()
}
