//! The node's storage behind one interface, on SQLite (the embedded default, one file in the data
//! folder) or PostgreSQL (at scale), with the same behaviour on both. Every state change is to be
//! appended to the Merkle log in the same transaction as the change; today the store holds the
//! log itself.

mod banks;
mod blocklist;
mod investigations;
mod messaging;
mod node;
mod orders;

pub use banks::matches::{NewMatch, ScanMatch};
pub use banks::sharing::{Applied, BankEffect, RemoteSignal, Subscription};
pub use banks::{Added, Bank, BankSignal, NewBank, NewSignal, Provenance, SignalKey};
pub use blocklist::notices::Notice;
pub use blocklist::{BlockEntry, NewBlockEntry, Recommendation};
pub use investigations::{NewRequest, RequestEffect, RequestFile, RequestRow, Sending, ThreatRow};
pub use messaging::{Feedback, Incoming, Outgoing, Received, WebhookCall};
pub use node::accounts::{Account, NewToken, ROLES, check_account_name};
pub use node::identity::KeyBinding;
pub use node::password::{MAX_PASSWORD_CHARS, MIN_PASSWORD_CHARS, PasswordHash, verify_or_waste};
pub use node::peers::Peer;
pub use orders::evidence::{
    Evidence, Hold, PRESERVATION_ALERT_AFTER, PRESERVATION_MAX_BACKOFF_MS, PRESERVATION_RETRY_MS, RETENTION_MONTHS, retain_until,
};
pub use orders::procedures::{Given, ProcedureInformation};
pub use orders::{Block, Execution, NewOrder, OrderEvent, OrderRow, Transition};

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{AnyPool, Executor, Row};
use tocsin_ledger::{CompactTree, Hash, leaf_hash};

/// Which database a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite, in WAL mode with fully synchronous commits.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The URL names no database this build speaks.
    #[error("unsupported database URL (use sqlite:// or postgres://)")]
    UnsupportedUrl,
    /// The database refused or could not be reached.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// The request is at fault (a bad name or role, an account that exists or does not).
    #[error("{0}")]
    Refused(String),
    /// Nothing by that name or number.
    #[error("{0}")]
    NotFound(String),
    /// The database file is not a SQLite database (damaged, or another file).
    #[error("{0} is not a SQLite database (its header is damaged, or it is another kind of file); restore it from its backup")]
    NotSqlite(String),
    /// The stored log contradicts itself (edited outside Tocsin, or damaged).
    #[error("the stored log is inconsistent: {0}")]
    Inconsistent(&'static str),
}

/// Refuses a SQLite file whose first bytes are not SQLite's header: SQLite would only fail on
/// the first query, which the pool reports as a time-out half a minute later.
fn check_sqlite_header(url: &str) -> Result<(), StoreError> {
    let Some(path) = sqlite_path(url) else { return Ok(()) };
    let Ok(mut file) = std::fs::File::open(&path) else { return Ok(()) };
    let mut header = [0u8; 16];
    let mut read = 0;
    while read < header.len() {
        match std::io::Read::read(&mut file, &mut header[read..]) {
            Ok(0) => break,
            Ok(n) => read += n,
            Err(_) => return Ok(()),
        }
    }
    // An empty file is a new database to SQLite; anything else must start with the header.
    if read == 0 || (read == header.len() && header == *b"SQLite format 3\0") {
        return Ok(());
    }
    Err(StoreError::NotSqlite(path.display().to_string()))
}

/// The file a `sqlite:` URL names, if it names one (not an in-memory database, not PostgreSQL).
pub fn sqlite_path(url: &str) -> Option<std::path::PathBuf> {
    let rest = url.strip_prefix("sqlite:")?;
    let path = rest.strip_prefix("//").unwrap_or(rest);
    let path = path.split('?').next().unwrap_or(path);
    (!path.is_empty() && path != ":memory:").then(|| std::path::PathBuf::from(path))
}

/// The log after an append: where the new leaf went, and the tree it made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    /// The new leaf's index.
    pub index: u64,
    /// The tree's size, the new leaf included.
    pub size: u64,
    /// The tree's root.
    pub root: Hash,
}

/// One stored log entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRow {
    /// Its index in the log.
    pub index: u64,
    /// Its data.
    pub data: Vec<u8>,
    /// The leaf hash stored with it.
    pub leaf_hash: Hash,
}

/// A connection pool to the node's database, migrated to this build's schema.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

impl Store {
    /// Connects to `url` (`sqlite://PATH` or `postgres://...`), creating a SQLite file if need
    /// be, and brings the schema up to date.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            return Err(StoreError::UnsupportedUrl);
        };
        let pool = match backend {
            Backend::Sqlite => {
                check_sqlite_header(url)?;
                let url = if url.contains('?') { url.to_owned() } else { format!("{url}?mode=rwc") };
                // One connection: SQLite takes one writer at a time anyway, and a single
                // connection never meets a busy database.
                AnyPoolOptions::new()
                    .max_connections(1)
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            // WAL with fully synchronous commits: a commit is on disk when it returns.
                            conn.execute("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000; PRAGMA cache_size = -65536;").await?;
                            Ok(())
                        })
                    })
                    .connect(&url)
                    .await?
            }
            Backend::Postgres => AnyPoolOptions::new().max_connections(8).connect(url).await?,
        };
        node::migrate::run(&pool, backend).await?;
        Ok(Self { pool, backend })
    }

    /// The database this store runs on.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Appends `data` as a leaf of the log, in one transaction: the entry and the tree's new
    /// state commit together or not at all.
    pub async fn append_log(&self, data: &[u8]) -> Result<Appended, StoreError> {
        let mut tx = self.pool.begin().await?;
        let appended = self.append_in(&mut tx, data).await?;
        tx.commit().await?;
        Ok(appended)
    }

    /// Appends `data` as a leaf of the log within the caller's transaction, so that a state
    /// change and its log entry commit together.
    pub(crate) async fn append_in(&self, tx: &mut sqlx::Transaction<'_, sqlx::Any>, data: &[u8]) -> Result<Appended, StoreError> {
        let lock = match self.backend {
            Backend::Sqlite => "SELECT size, peaks FROM log_state WHERE id = 1",
            // Appends queue on the one state row.
            Backend::Postgres => "SELECT size, peaks FROM log_state WHERE id = 1 FOR UPDATE",
        };
        let row = sqlx::query(lock).fetch_one(&mut **tx).await?;
        let mut tree = tree_from(row.try_get::<i64, _>(0)?, row.try_get::<Vec<u8>, _>(1)?)?;
        let index = tree.size();
        let leaf = leaf_hash(data);
        tree.push(leaf);
        sqlx::query("INSERT INTO log_entries (idx, data, leaf_hash) VALUES ($1, $2, $3)")
            .bind(to_i64(index)?)
            .bind(data.to_vec())
            .bind(leaf.0.to_vec())
            .execute(&mut **tx)
            .await?;
        sqlx::query("UPDATE log_state SET size = $1, peaks = $2 WHERE id = 1")
            .bind(to_i64(tree.size())?)
            .bind(tree.peaks().iter().flat_map(|p| p.0).collect::<Vec<u8>>())
            .execute(&mut **tx)
            .await?;
        Ok(Appended { index, size: tree.size(), root: tree.root() })
    }

    /// The log's size and root, as its writer last committed them.
    pub async fn log_head(&self) -> Result<(u64, Hash), StoreError> {
        let row = sqlx::query("SELECT size, peaks FROM log_state WHERE id = 1").fetch_one(&self.pool).await?;
        let tree = tree_from(row.try_get::<i64, _>(0)?, row.try_get::<Vec<u8>, _>(1)?)?;
        Ok((tree.size(), tree.root()))
    }

    /// The data of entries `start..end` (clipped to the log's size), in order.
    pub async fn log_entries(&self, start: u64, end: u64) -> Result<Vec<Vec<u8>>, StoreError> {
        Ok(self.contiguous_rows(start, end).await?.into_iter().map(|r| r.data).collect())
    }

    /// Entries `start..end` as stored: index, data and the leaf hash written with them. Gaps
    /// are not filled in: a reviewer sees a dropped entry as a missing index.
    pub async fn log_rows(&self, start: u64, end: u64) -> Result<Vec<LogRow>, StoreError> {
        let rows = sqlx::query("SELECT idx, data, leaf_hash FROM log_entries WHERE idx >= $1 AND idx < $2 ORDER BY idx")
            .bind(to_i64(start)?)
            .bind(to_i64(end)?)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                let index = u64::try_from(row.try_get::<i64, _>(0)?).map_err(|_| StoreError::Inconsistent("a negative index"))?;
                let leaf: Vec<u8> = row.try_get(2)?;
                let leaf = Hash(leaf.try_into().map_err(|_| StoreError::Inconsistent("a leaf hash is not 32 bytes"))?);
                Ok(LogRow { index, data: row.try_get(1)?, leaf_hash: leaf })
            })
            .collect()
    }

    /// The stored leaf hashes of entries `0..size`, for proofs; refused unless all are there.
    pub async fn log_leaf_hashes(&self, size: u64) -> Result<Vec<Hash>, StoreError> {
        let rows = self.contiguous_rows(0, size).await?;
        if rows.len() as u64 != size {
            return Err(StoreError::Inconsistent("an entry is missing"));
        }
        Ok(rows.into_iter().map(|r| r.leaf_hash).collect())
    }

    /// [`Store::log_rows`], refused if an index in the run is missing.
    async fn contiguous_rows(&self, start: u64, end: u64) -> Result<Vec<LogRow>, StoreError> {
        let rows = self.log_rows(start, end).await?;
        if rows.iter().zip(start..).any(|(row, index)| row.index != index) {
            return Err(StoreError::Inconsistent("an entry is missing"));
        }
        Ok(rows)
    }

    /// Whether the database answers (for readiness checks).
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Closes the pool, waiting for connections to finish.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

fn to_i64(n: u64) -> Result<i64, StoreError> {
    i64::try_from(n).map_err(|_| StoreError::Inconsistent("a size past 2^63"))
}

fn tree_from(size: i64, peaks: Vec<u8>) -> Result<CompactTree, StoreError> {
    let size = u64::try_from(size).map_err(|_| StoreError::Inconsistent("a negative size"))?;
    if !peaks.len().is_multiple_of(32) {
        return Err(StoreError::Inconsistent("peaks are not whole hashes"));
    }
    let peaks = peaks.chunks_exact(32).map(|c| Hash(c.try_into().expect("32 bytes"))).collect();
    CompactTree::from_parts(size, peaks).ok_or(StoreError::Inconsistent("peaks do not match the size"))
}
