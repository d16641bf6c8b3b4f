//! Hash banks: named sets of known signals with labels, provenance and a state, and the action a
//! match calls for. Every change to a signal takes the next change number (`bank_seq`, taken
//! under a row lock, so numbers commit in order on PostgreSQL too) and stamps it on the signal's
//! row: the node's matcher, or another node process on the same database, follows the changes by
//! asking for the rows with a number past the last it saw. Each change is a log entry in the
//! same transaction (one entry per batch for bulk additions, with a digest of the batch).

pub mod matches;
pub mod sharing;

use std::collections::HashMap;

use sha2::{Digest, Sha256};
use sqlx::Row;
use tocsin_model::{BankAction, BankName, Labels, Signal, SignalState, SignalType, VideoRule};

use crate::node::record::now_ms;
use crate::{Store, StoreError};

/// A bank as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bank {
    /// Its name.
    pub name: BankName,
    /// Fingerprint of the node that publishes it; empty for this node's own banks.
    pub owner: String,
    /// What it holds, for people.
    pub description: String,
    /// What a match calls for.
    pub action: BankAction,
    /// PDQ matches within this many bits count.
    pub pdq_threshold: u32,
    /// How videos match.
    pub video: VideoRule,
    /// Account (or `tocsin` for built-in banks) that made it.
    pub created_by: String,
    /// Unix ms.
    pub created_at: i64,
}

/// Where a signal came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provenance {
    /// `order` (executed on an order), `account` (added by a person), `import` (a file), or
    /// `exchange` (another node's shared bank).
    pub source: String,
    /// The order id, the account's name, the importing account, or the publishing node.
    pub reference: String,
    /// The URL the content was removed from, the imported file's name, ...
    pub detail: String,
}

/// One signal of a bank, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BankSignal {
    /// Its number, stable for its life (the matcher's id for it).
    pub num: i64,
    /// Its bank.
    pub bank: String,
    /// The signal.
    pub signal: Signal,
    /// What it shows.
    pub labels: Labels,
    /// Where it came from.
    pub provenance: Provenance,
    /// Unix ms.
    pub added_at: i64,
    /// Where it stands.
    pub state: SignalState,
    /// The number of its latest change.
    pub seq: i64,
}

/// What the matcher keeps of a signal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignalKey {
    /// Its number.
    pub num: i64,
    /// The signal.
    pub signal: Signal,
    /// Where it stands.
    pub state: SignalState,
    /// The number of its latest change.
    pub seq: i64,
}

/// A new bank.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewBank {
    /// Its name.
    pub name: BankName,
    /// What it holds.
    pub description: String,
    /// What a match calls for.
    pub action: BankAction,
    /// PDQ matches within this many bits count.
    pub pdq_threshold: u32,
    /// How videos match.
    pub video: VideoRule,
}

/// A signal to add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSignal {
    /// The signal.
    pub signal: Signal,
    /// What it shows.
    pub labels: Labels,
    /// Its state (`active` unless a file being imported says otherwise).
    pub state: SignalState,
    /// Where it came from, when the source says (a Tocsin export); else the batch's.
    pub provenance: Option<Provenance>,
}

impl NewSignal {
    /// An active signal with the batch's provenance.
    pub fn active(signal: Signal, labels: Labels) -> Self {
        Self { signal, labels, state: SignalState::Active, provenance: None }
    }
}

/// What adding a batch of signals did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Added {
    /// Signals new to the bank.
    pub added: u64,
    /// Signals the bank already had (their first provenance and labels are kept).
    pub known: u64,
}

const BANK_COLUMNS: &str = "name, owner, description, action, pdq_threshold, created_by, created_at, video_share, video_percent";
/// Rows in one INSERT statement (10 parameters each, well under SQLite's limit of 32,766).
const INSERT_ROWS: usize = 50;

pub(crate) const SIGNAL_COLUMNS: &str = "num, bank, signal_type, value, labels, source, source_ref, source_detail, added_at, state, seq";

/// What tells a signal apart in its bank (`value_key`): the value, or for a vPDQ signal, whose
/// value is a whole video's features, `sha256:` and the value's SHA-256.
pub(crate) fn value_key(signal: &Signal) -> String {
    match signal.kind() {
        SignalType::Vpdq => format!("sha256:{}", crate::node::record::sha256_hex(signal.value())),
        _ => signal.value().to_owned(),
    }
}

pub(crate) fn signal_from(r: &sqlx::any::AnyRow) -> Result<BankSignal, StoreError> {
    let bad = |what: &'static str| move |_| StoreError::Inconsistent(what);
    let kind: SignalType = r.try_get::<String, _>(2)?.parse().map_err(bad("a stored signal type is unknown"))?;
    let value: String = r.try_get(3)?;
    let labels: String = r.try_get(4)?;
    Ok(BankSignal {
        num: r.try_get(0)?,
        bank: r.try_get(1)?,
        signal: Signal::new(kind, &value).map_err(bad("a stored signal is malformed"))?,
        labels: serde_json::from_str(&labels).map_err(|_| StoreError::Inconsistent("stored labels are malformed"))?,
        provenance: Provenance { source: r.try_get(5)?, reference: r.try_get(6)?, detail: r.try_get(7)? },
        added_at: r.try_get(8)?,
        state: r.try_get::<String, _>(9)?.parse().map_err(bad("a stored signal state is unknown"))?,
        seq: r.try_get(10)?,
    })
}

fn bank_from(r: &sqlx::any::AnyRow) -> Result<Bank, StoreError> {
    let bad = |what: &'static str| move |_| StoreError::Inconsistent(what);
    Ok(Bank {
        name: r.try_get::<String, _>(0)?.parse().map_err(bad("a stored bank name is malformed"))?,
        owner: r.try_get(1)?,
        description: r.try_get(2)?,
        action: r.try_get::<String, _>(3)?.parse().map_err(bad("a stored bank action is unknown"))?,
        pdq_threshold: u32::try_from(r.try_get::<i64, _>(4)?).map_err(|_| StoreError::Inconsistent("a stored threshold is negative"))?,
        created_by: r.try_get(5)?,
        created_at: r.try_get(6)?,
        video: VideoRule::new(
            r.try_get::<String, _>(7)?.parse().map_err(bad("a stored video share is unknown"))?,
            u32::try_from(r.try_get::<i64, _>(8)?).unwrap_or(0),
        )
        .map_err(bad("a stored video percentage is out of bounds"))?,
    })
}

/// Takes `n` change numbers within `tx`; returns the first. The row lock held until commit
/// makes concurrent writers commit their numbers in order.
pub(crate) async fn take_seq(tx: &mut sqlx::Transaction<'_, sqlx::Any>, n: i64) -> Result<i64, StoreError> {
    let last: i64 =
        sqlx::query_scalar("UPDATE bank_seq SET seq = seq + $1 WHERE id = 1 RETURNING seq").bind(n).fetch_one(&mut **tx).await?;
    Ok(last - n + 1)
}

impl Store {
    /// Makes a bank; refused if the name is taken. Logged.
    pub async fn create_bank(&self, bank: &NewBank, owner: &str, by: &str) -> Result<Bank, StoreError> {
        let at = now_ms();
        let mut tx = self.pool.begin().await?;
        let taken = sqlx::query("SELECT 1 FROM banks WHERE name = $1").bind(bank.name.as_str()).fetch_optional(&mut *tx).await?;
        if taken.is_some() {
            return Err(StoreError::Refused(format!("a bank named {:?} exists", bank.name.as_str())));
        }
        sqlx::query(
            "INSERT INTO banks (name, owner, description, action, pdq_threshold, created_by, created_at, video_share, video_percent) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(bank.name.as_str())
        .bind(owner)
        .bind(&bank.description)
        .bind(bank.action.as_str())
        .bind(i64::from(bank.pdq_threshold))
        .bind(by)
        .bind(at)
        .bind(bank.video.share.as_str())
        .bind(i64::from(bank.video.percent))
        .execute(&mut *tx)
        .await?;
        let entry = serde_json::json!({
            "type": "bank.created", "bank": bank.name, "owner": owner, "action": bank.action,
            "pdq_threshold": bank.pdq_threshold, "video_share": bank.video.share.as_str(),
            "video_percent": bank.video.percent, "by": by, "at": at,
        });
        self.append_in(&mut tx, entry.to_string().as_bytes()).await?;
        tx.commit().await?;
        self.bank(bank.name.as_str()).await?.ok_or(StoreError::Inconsistent("a bank just made is missing"))
    }

    /// Every bank, by name.
    pub async fn banks(&self) -> Result<Vec<Bank>, StoreError> {
        let rows = sqlx::query(&format!("SELECT {BANK_COLUMNS} FROM banks ORDER BY name")).fetch_all(&self.pool).await?;
        rows.iter().map(bank_from).collect()
    }

    /// One bank.
    pub async fn bank(&self, name: &str) -> Result<Option<Bank>, StoreError> {
        let row = sqlx::query(&format!("SELECT {BANK_COLUMNS} FROM banks WHERE name = $1")).bind(name).fetch_optional(&self.pool).await?;
        row.as_ref().map(bank_from).transpose()
    }

    /// Signals per bank and state: active, disputed, withdrawn (a pass over the signals; for
    /// people, not for every request).
    pub async fn bank_counts(&self) -> Result<HashMap<String, [u64; 3]>, StoreError> {
        let rows = sqlx::query("SELECT bank, state, COUNT(*) FROM bank_signals GROUP BY bank, state").fetch_all(&self.pool).await?;
        let mut out: HashMap<String, [u64; 3]> = HashMap::new();
        for r in &rows {
            let state: SignalState =
                r.try_get::<String, _>(1)?.parse().map_err(|_| StoreError::Inconsistent("a stored signal state is unknown"))?;
            let i = match state {
                SignalState::Active => 0,
                SignalState::Disputed => 1,
                SignalState::Withdrawn => 2,
            };
            out.entry(r.try_get(0)?).or_default()[i] = u64::try_from(r.try_get::<i64, _>(2)?).unwrap_or(0);
        }
        Ok(out)
    }

    /// Adds signals to `bank` in one transaction, with one log entry for the batch (its counts and
    /// the SHA-256 of its signals as given, `type:value` one a line). A signal the bank has keeps its first provenance
    /// and labels; one withdrawn earlier stays withdrawn.
    pub async fn add_signals(&self, bank: &str, signals: &[NewSignal], provenance: &Provenance) -> Result<Added, StoreError> {
        let at = now_ms();
        let mut tx = self.pool.begin().await?;
        let (added, entry) = self.add_signals_in(&mut tx, bank, signals, provenance, at).await?;
        self.append_in(&mut tx, entry.to_string().as_bytes()).await?;
        tx.commit().await?;
        Ok(added)
    }

    /// [`Store::add_signals`] within the caller's transaction; returns the counts and the log
    /// entry to append.
    pub(crate) async fn add_signals_in(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        bank: &str,
        signals: &[NewSignal],
        provenance: &Provenance,
        at: i64,
    ) -> Result<(Added, serde_json::Value), StoreError> {
        let exists = sqlx::query("SELECT 1 FROM banks WHERE name = $1").bind(bank).fetch_optional(&mut **tx).await?;
        if exists.is_none() {
            return Err(StoreError::NotFound(format!("no bank named {bank:?}")));
        }
        // Numbers for the whole batch; those of signals the bank already has go unused (change
        // numbers need only grow).
        let first = take_seq(tx, signals.len() as i64).await?;
        let mut digest = Sha256::new();
        let mut added = Added::default();
        // Many rows a statement: one statement a row spent most of an import's time.
        for (chunk, first) in signals.chunks(INSERT_ROWS).zip((first..).step_by(INSERT_ROWS)) {
            let rows: Vec<String> = (0..chunk.len())
                .map(|r| {
                    let p = |k: usize| format!("${}", r * 11 + k);
                    format!(
                        "({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {})",
                        p(1),
                        p(2),
                        p(3),
                        p(4),
                        p(5),
                        p(6),
                        p(7),
                        p(8),
                        p(9),
                        p(10),
                        p(1),
                        p(11)
                    )
                })
                .collect();
            // A signal the bank has (from an earlier batch or earlier in this one) keeps its
            // first provenance and labels.
            let sql = format!(
                "INSERT INTO bank_signals ({SIGNAL_COLUMNS}, value_key) VALUES {} ON CONFLICT (bank, signal_type, value_key) DO NOTHING",
                rows.join(", ")
            );
            let mut query = sqlx::query(&sql);
            for (new, seq) in chunk.iter().zip(first..) {
                let (signal, p) = (&new.signal, new.provenance.as_ref().unwrap_or(provenance));
                let labels = serde_json::to_string(&new.labels).map_err(|e| StoreError::Refused(e.to_string()))?;
                query = query
                    .bind(seq)
                    .bind(bank)
                    .bind(signal.kind().as_str())
                    .bind(signal.value())
                    .bind(labels)
                    .bind(&p.source)
                    .bind(&p.reference)
                    .bind(&p.detail)
                    .bind(at)
                    .bind(new.state.as_str())
                    .bind(value_key(signal));
                digest.update(signal.to_string().as_bytes());
                digest.update(b"\n");
            }
            let inserted = query.execute(&mut **tx).await?.rows_affected();
            added.added += inserted;
            added.known += chunk.len() as u64 - inserted;
        }
        let mut entry = serde_json::json!({
            "type": "bank.signals_added", "bank": bank, "added": added.added, "known": added.known,
            "sha256": digest.finalize().iter().map(|b| format!("{b:02x}")).collect::<String>(), "source": provenance.source, "reference": provenance.reference,
            "detail": provenance.detail, "at": at,
        });
        // Content removed on an order is named by its URL's digest in the log, as elsewhere.
        if provenance.source == "order" {
            entry["detail"] = serde_json::Value::Null;
            entry["url_sha256"] = crate::node::record::url_digest(&provenance.detail).into();
        }
        Ok((added, entry))
    }

    /// Sets the state of signal `num` of `bank` (dispute, withdraw, or make active again),
    /// with who did it and why, logged. Refused when the signal is not in the bank or already
    /// in that state.
    pub async fn set_signal_state(
        &self,
        bank: &str,
        num: i64,
        state: SignalState,
        by: &str,
        reason: &str,
    ) -> Result<BankSignal, StoreError> {
        let mut tx = self.pool.begin().await?;
        let changed = set_state_in(self, &mut tx, bank, num, state, by, reason, now_ms()).await?;
        tx.commit().await?;
        Ok(changed)
    }

    /// What the matcher needs of every signal changed after change `after`, in change order, at
    /// most `limit`: number, signal, state and change number (no labels or provenance to parse).
    pub async fn signal_keys(&self, after: i64, limit: i64) -> Result<Vec<SignalKey>, StoreError> {
        let rows = sqlx::query("SELECT num, signal_type, value, state, seq FROM bank_signals WHERE seq > $1 ORDER BY seq LIMIT $2")
            .bind(after)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                let bad = |what: &'static str| move |_| StoreError::Inconsistent(what);
                let kind: SignalType = r.try_get::<String, _>(1)?.parse().map_err(bad("a stored signal type is unknown"))?;
                let value: String = r.try_get(2)?;
                Ok(SignalKey {
                    num: r.try_get(0)?,
                    signal: Signal::new(kind, &value).map_err(bad("a stored signal is malformed"))?,
                    state: r.try_get::<String, _>(3)?.parse().map_err(bad("a stored signal state is unknown"))?,
                    seq: r.try_get(4)?,
                })
            })
            .collect()
    }

    /// Signals of `bank` changed after change `after`, in change order, at most `limit`.
    pub async fn bank_signals(&self, bank: &str, after: i64, limit: i64) -> Result<Vec<BankSignal>, StoreError> {
        let rows = sqlx::query(&format!("SELECT {SIGNAL_COLUMNS} FROM bank_signals WHERE bank = $1 AND seq > $2 ORDER BY seq LIMIT $3"))
            .bind(bank)
            .bind(after)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(signal_from).collect()
    }

    /// The signals numbered `nums` (the matcher's hits), in no particular order.
    pub async fn signals_by_num(&self, nums: &[i64]) -> Result<Vec<BankSignal>, StoreError> {
        let mut out = Vec::with_capacity(nums.len());
        for num in nums {
            let row = sqlx::query(&format!("SELECT {SIGNAL_COLUMNS} FROM bank_signals WHERE num = $1"))
                .bind(num)
                .fetch_optional(&self.pool)
                .await?;
            if let Some(row) = row {
                out.push(signal_from(&row)?);
            }
        }
        Ok(out)
    }

    /// The signals of `signal`'s type and value, in any bank (exact lookups).
    pub async fn signals_matching(&self, signal: &Signal) -> Result<Vec<BankSignal>, StoreError> {
        let rows = sqlx::query(&format!("SELECT {SIGNAL_COLUMNS} FROM bank_signals WHERE signal_type = $1 AND value_key = $2"))
            .bind(signal.kind().as_str())
            .bind(value_key(signal))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(signal_from).collect()
    }
}

/// Sets the state of signal `num` of `bank` within `tx`, with its log entry.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn set_state_in(
    store: &Store,
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    bank: &str,
    num: i64,
    state: SignalState,
    by: &str,
    reason: &str,
    at: i64,
) -> Result<BankSignal, StoreError> {
    let row = sqlx::query(&format!("SELECT {} FROM bank_signals WHERE bank = $1 AND num = $2", SIGNAL_COLUMNS))
        .bind(bank)
        .bind(num)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("bank {bank:?} has no signal {num}")))?;
    let before = signal_from(&row)?;
    if before.state == state {
        return Err(StoreError::Refused(format!("signal {num} is already {}", state.as_str())));
    }
    let seq = take_seq(tx, 1).await?;
    sqlx::query("UPDATE bank_signals SET state = $1, seq = $2 WHERE num = $3")
        .bind(state.as_str())
        .bind(seq)
        .bind(num)
        .execute(&mut **tx)
        .await?;
    let entry = serde_json::json!({
        "type": "bank.signal_state", "bank": bank, "num": num, "signal": before.signal.to_string(),
        "from": before.state, "to": state, "by": by, "reason": reason, "at": at,
    });
    store.append_in(tx, entry.to_string().as_bytes()).await?;
    Ok(BankSignal { state, seq, ..before })
}
