//! The legal particulars a node states for itself (`self`) and keeps for each peer (by key
//! fingerprint), which fill an order's Annex I sections: JSON the server checks, each change a
//! log entry naming who made it.

use sqlx::Row;

use crate::node::record::now_ms;
use crate::{Store, StoreError};

impl Store {
    /// The particulars stated for `subject` (`self`, or a peer's key fingerprint), as JSON.
    pub async fn legal_details(&self, subject: &str) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT details FROM legal_details WHERE subject = $1").bind(subject).fetch_optional(&self.pool).await?;
        row.map(|r| Ok(r.try_get(0)?)).transpose()
    }

    /// States the particulars of `subject` (JSON, checked by the caller), replacing earlier
    /// ones, with a log entry naming who did.
    pub async fn set_legal_details(&self, subject: &str, details: &str, by: &str) -> Result<(), StoreError> {
        let at = now_ms();
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM legal_details WHERE subject = $1").bind(subject).execute(&mut *tx).await?;
        sqlx::query("INSERT INTO legal_details (subject, details, updated_by, updated_at) VALUES ($1, $2, $3, $4)")
            .bind(subject)
            .bind(details)
            .bind(by)
            .bind(at)
            .execute(&mut *tx)
            .await?;
        let details: serde_json::Value = serde_json::from_str(details).unwrap_or_default();
        let entry = serde_json::json!({ "type": "legal.details_set", "subject": subject, "details": details, "by": by, "at": at });
        self.append_in(&mut tx, entry.to_string().as_bytes()).await?;
        tx.commit().await?;
        Ok(())
    }
}
