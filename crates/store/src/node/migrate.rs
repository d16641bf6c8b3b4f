//! Schema migrations, one SQL file per step and backend, applied in order at start, each in its
//! own transaction with its version recorded.

use sqlx::AnyPool;

use crate::{Backend, StoreError};

const SQLITE: &[&str] = &[
    include_str!("../../migrations/sqlite/0001_log.sql"),
    include_str!("../../migrations/sqlite/0002_accounts.sql"),
    include_str!("../../migrations/sqlite/0003_passwords.sql"),
    include_str!("../../migrations/sqlite/0004_peers.sql"),
    include_str!("../../migrations/sqlite/0005_messages_orders.sql"),
    include_str!("../../migrations/sqlite/0006_blocks.sql"),
    include_str!("../../migrations/sqlite/0007_order_received_at.sql"),
    include_str!("../../migrations/sqlite/0008_evidence.sql"),
    include_str!("../../migrations/sqlite/0009_webhooks.sql"),
    include_str!("../../migrations/sqlite/0010_peer_policy.sql"),
    include_str!("../../migrations/sqlite/0011_evidence_retries.sql"),
    include_str!("../../migrations/sqlite/0012_banks.sql"),
    include_str!("../../migrations/sqlite/0013_bank_sharing.sql"),
    include_str!("../../migrations/sqlite/0014_blocklist.sql"),
    include_str!("../../migrations/sqlite/0015_oversight.sql"),
    include_str!("../../migrations/sqlite/0016_blocklist_expiry.sql"),
    include_str!("../../migrations/sqlite/0017_scan_matches.sql"),
    include_str!("../../migrations/sqlite/0018_blocks_per_order.sql"),
    include_str!("../../migrations/sqlite/0019_clocks.sql"),
    include_str!("../../migrations/sqlite/0020_node_identity.sql"),
    include_str!("../../migrations/sqlite/0021_removed_content_reports.sql"),
    include_str!("../../migrations/sqlite/0022_procedure_information.sql"),
    include_str!("../../migrations/sqlite/0023_block_kind.sql"),
    include_str!("../../migrations/sqlite/0024_preservation_holds.sql"),
    include_str!("../../migrations/sqlite/0025_legal_details.sql"),
    include_str!("../../migrations/sqlite/0026_blocklist_reasons.sql"),
    include_str!("../../migrations/sqlite/0027_oversight_notices.sql"),
    include_str!("../../migrations/sqlite/0028_evidence_related_data.sql"),
    include_str!("../../migrations/sqlite/0029_data_requests.sql"),
    include_str!("../../migrations/sqlite/0030_videos.sql"),
];
const POSTGRES: &[&str] = &[
    include_str!("../../migrations/postgres/0001_log.sql"),
    include_str!("../../migrations/postgres/0002_accounts.sql"),
    include_str!("../../migrations/postgres/0003_passwords.sql"),
    include_str!("../../migrations/postgres/0004_peers.sql"),
    include_str!("../../migrations/postgres/0005_messages_orders.sql"),
    include_str!("../../migrations/postgres/0006_blocks.sql"),
    include_str!("../../migrations/postgres/0007_order_received_at.sql"),
    include_str!("../../migrations/postgres/0008_evidence.sql"),
    include_str!("../../migrations/postgres/0009_webhooks.sql"),
    include_str!("../../migrations/postgres/0010_peer_policy.sql"),
    include_str!("../../migrations/postgres/0011_evidence_retries.sql"),
    include_str!("../../migrations/postgres/0012_banks.sql"),
    include_str!("../../migrations/postgres/0013_bank_sharing.sql"),
    include_str!("../../migrations/postgres/0014_blocklist.sql"),
    include_str!("../../migrations/postgres/0015_oversight.sql"),
    include_str!("../../migrations/postgres/0016_blocklist_expiry.sql"),
    include_str!("../../migrations/postgres/0017_scan_matches.sql"),
    include_str!("../../migrations/postgres/0018_blocks_per_order.sql"),
    include_str!("../../migrations/postgres/0019_clocks.sql"),
    include_str!("../../migrations/postgres/0020_node_identity.sql"),
    include_str!("../../migrations/postgres/0021_removed_content_reports.sql"),
    include_str!("../../migrations/postgres/0022_procedure_information.sql"),
    include_str!("../../migrations/postgres/0023_block_kind.sql"),
    include_str!("../../migrations/postgres/0024_preservation_holds.sql"),
    include_str!("../../migrations/postgres/0025_legal_details.sql"),
    include_str!("../../migrations/postgres/0026_blocklist_reasons.sql"),
    include_str!("../../migrations/postgres/0027_oversight_notices.sql"),
    include_str!("../../migrations/postgres/0028_evidence_related_data.sql"),
    include_str!("../../migrations/postgres/0029_data_requests.sql"),
    include_str!("../../migrations/postgres/0030_videos.sql"),
];

/// Applies the steps not yet applied.
pub(crate) async fn run(pool: &AnyPool, backend: Backend) -> Result<(), StoreError> {
    let steps = match backend {
        Backend::Sqlite => SQLITE,
        Backend::Postgres => POSTGRES,
    };
    sqlx::raw_sql("CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY)").execute(pool).await?;
    for (version, sql) in (1i64..).zip(steps) {
        let mut tx = pool.begin().await?;
        let done: Option<i64> =
            sqlx::query_scalar("SELECT version FROM schema_migrations WHERE version = $1").bind(version).fetch_optional(&mut *tx).await?;
        if done.is_none() {
            sqlx::raw_sql(sql).execute(&mut *tx).await?;
            sqlx::query("INSERT INTO schema_migrations (version) VALUES ($1)").bind(version).execute(&mut *tx).await?;
        }
        tx.commit().await?;
    }
    Ok(())
}
