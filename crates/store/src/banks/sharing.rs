//! Bank sharing between nodes: a bank published to chosen peers, subscriptions to other nodes'
//! banks with the change number applied so far, pulled batches applied in one transaction each,
//! and the bank effects of messages (a subscriber's dispute, a platform's hashes of content it
//! removed on an order).

use sqlx::Row;
use tocsin_model::{BankName, Labels, Signal, SignalState, SignalType};

use crate::banks::{NewSignal, Provenance, set_state_in, signal_from, take_seq};
use crate::node::record::{now_ms, queue_message};
use crate::{Bank, BankSignal, NewBank, Store, StoreError};

/// A remote bank this node follows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    /// The local copy.
    pub bank: String,
    /// The publisher's key fingerprint.
    pub peer: String,
    /// The bank's name at the publisher.
    pub remote_bank: String,
    /// The publisher's change number applied up to.
    pub cursor: i64,
    /// When the last pull succeeded, Unix ms.
    pub pulled_at: Option<i64>,
    /// Why the last pull failed, if it did.
    pub error: Option<String>,
}

/// A signal as a publisher sends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteSignal {
    /// Its number at the publisher (what a dispute names).
    pub num: i64,
    /// The signal.
    pub signal: Signal,
    /// What it shows.
    pub labels: Labels,
    /// Its state at the publisher.
    pub state: SignalState,
}

/// What applying a pulled batch did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Applied {
    /// Signals new to the local copy.
    pub added: u64,
    /// Signals whose state or labels changed.
    pub changed: u64,
}

/// A change a message makes to a bank, applied in the transaction that stores the message.
#[derive(Debug, Clone, Copy)]
pub enum BankEffect<'a> {
    /// A platform's hashes of content it removed on an order this node issued to it: into this
    /// node's stay-down bank with the order as provenance.
    Removed {
        /// The order.
        order_id: &'a str,
        /// The URL the content was removed from.
        url: &'a str,
        /// Its signals.
        signals: &'a [Signal],
    },
    /// A subscriber says signal `num` of `bank` is a false positive.
    Dispute {
        /// The bank, as this node names it.
        bank: &'a str,
        /// The signal's number here.
        num: i64,
        /// The signal, which must be the one numbered `num`.
        signal: &'a Signal,
        /// Why.
        reason: &'a str,
    },
}

fn subscription_from(r: &sqlx::any::AnyRow) -> Result<Subscription, StoreError> {
    Ok(Subscription {
        bank: r.try_get(0)?,
        peer: r.try_get(1)?,
        remote_bank: r.try_get(2)?,
        cursor: r.try_get(3)?,
        pulled_at: r.try_get(4)?,
        error: r.try_get(5)?,
    })
}

const SUBSCRIPTION_COLUMNS: &str = "bank, peer, remote_bank, cursor, pulled_at, error";

impl Store {
    /// Lets peer `peer` (a key fingerprint) pull `bank`. Logged; refused when the bank is
    /// missing or already published to the peer.
    pub async fn publish_bank(&self, bank: &str, peer: &str, by: &str) -> Result<(), StoreError> {
        let at = now_ms();
        let mut tx = self.pool.begin().await?;
        if sqlx::query("SELECT 1 FROM banks WHERE name = $1 AND owner = ''").bind(bank).fetch_optional(&mut *tx).await?.is_none() {
            return Err(StoreError::NotFound(format!("no bank of this node named {bank:?}")));
        }
        let inserted =
            sqlx::query("INSERT INTO bank_subscribers (bank, peer, added_at) VALUES ($1, $2, $3) ON CONFLICT (bank, peer) DO NOTHING")
                .bind(bank)
                .bind(peer)
                .bind(at)
                .execute(&mut *tx)
                .await?;
        if inserted.rows_affected() == 0 {
            return Err(StoreError::Refused(format!("bank {bank:?} is published to this peer already")));
        }
        let entry = serde_json::json!({"type": "bank.published", "bank": bank, "peer": peer, "by": by, "at": at});
        self.append_in(&mut tx, entry.to_string().as_bytes()).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Whether `peer` may pull `bank`.
    pub async fn is_subscriber(&self, bank: &str, peer: &str) -> Result<bool, StoreError> {
        let row = sqlx::query("SELECT 1 FROM bank_subscribers WHERE bank = $1 AND peer = $2")
            .bind(bank)
            .bind(peer)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.is_some())
    }

    /// Makes the local copy `bank` of `remote_bank` at `peer` and the subscription to it, from
    /// change 0. Logged.
    pub async fn subscribe(&self, bank: &NewBank, peer: &str, remote_bank: &str, by: &str) -> Result<Bank, StoreError> {
        let made = self.create_bank(bank, peer, by).await?;
        let mut tx = self.pool.begin().await?;
        sqlx::query("INSERT INTO bank_subscriptions (bank, peer, remote_bank, cursor) VALUES ($1, $2, $3, 0)")
            .bind(bank.name.as_str())
            .bind(peer)
            .bind(remote_bank)
            .execute(&mut *tx)
            .await?;
        let entry = serde_json::json!({"type": "bank.subscribed", "bank": bank.name, "peer": peer, "remote_bank": remote_bank, "by": by, "at": now_ms()});
        self.append_in(&mut tx, entry.to_string().as_bytes()).await?;
        tx.commit().await?;
        Ok(made)
    }

    /// Every subscription, by local bank name.
    pub async fn subscriptions(&self) -> Result<Vec<Subscription>, StoreError> {
        let rows =
            sqlx::query(&format!("SELECT {SUBSCRIPTION_COLUMNS} FROM bank_subscriptions ORDER BY bank")).fetch_all(&self.pool).await?;
        rows.iter().map(subscription_from).collect()
    }

    /// The subscription behind local bank `bank`, if it is a copy.
    pub async fn subscription(&self, bank: &str) -> Result<Option<Subscription>, StoreError> {
        let row = sqlx::query(&format!("SELECT {SUBSCRIPTION_COLUMNS} FROM bank_subscriptions WHERE bank = $1"))
            .bind(bank)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(subscription_from).transpose()
    }

    /// Applies a batch pulled for `bank` covering the publisher's changes `from` (exclusive) to
    /// `to`: new signals are added (provenance: the exchange), known ones take the publisher's
    /// state and labels; the cursor moves to `to`. One transaction, one log entry (with the
    /// SHA-256 of the signed batch). Refused if the cursor is no longer `from` (another process
    /// applied it first).
    pub async fn apply_pulled(
        &self,
        bank: &str,
        from: i64,
        to: i64,
        changes: &[RemoteSignal],
        batch_sha256: &str,
    ) -> Result<Applied, StoreError> {
        let at = now_ms();
        let mut tx = self.pool.begin().await?;
        let sub = sqlx::query(&format!("SELECT {SUBSCRIPTION_COLUMNS} FROM bank_subscriptions WHERE bank = $1"))
            .bind(bank)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("no subscription for bank {bank:?}")))?;
        let sub = subscription_from(&sub)?;
        let mut applied = Applied::default();
        if !changes.is_empty() {
            let first = take_seq(&mut tx, changes.len() as i64).await?;
            for (change, seq) in changes.iter().zip(first..) {
                let labels = serde_json::to_string(&change.labels).map_err(|e| StoreError::Refused(e.to_string()))?;
                let key = crate::banks::value_key(&change.signal);
                let known = sqlx::query("SELECT state, labels FROM bank_signals WHERE bank = $1 AND signal_type = $2 AND value_key = $3")
                    .bind(bank)
                    .bind(change.signal.kind().as_str())
                    .bind(&key)
                    .fetch_optional(&mut *tx)
                    .await?;
                match known {
                    None => {
                        sqlx::query(
                            "INSERT INTO bank_signals (num, bank, signal_type, value, labels, source, source_ref, source_detail, added_at, state, seq, value_key) \
                             VALUES ($1, $2, $3, $4, $5, 'exchange', $6, $7, $8, $9, $1, $10)",
                        )
                        .bind(seq)
                        .bind(bank)
                        .bind(change.signal.kind().as_str())
                        .bind(change.signal.value())
                        .bind(&labels)
                        .bind(&sub.peer)
                        .bind(format!("{} #{}", sub.remote_bank, change.num))
                        .bind(at)
                        .bind(change.state.as_str())
                        .bind(&key)
                        .execute(&mut *tx)
                        .await?;
                        applied.added += 1;
                    }
                    Some(row) => {
                        let (state, old_labels): (String, String) = (row.try_get(0)?, row.try_get(1)?);
                        if state != change.state.as_str() || old_labels != labels {
                            sqlx::query("UPDATE bank_signals SET state = $1, labels = $2, seq = $3 WHERE bank = $4 AND signal_type = $5 AND value_key = $6")
                                .bind(change.state.as_str())
                                .bind(&labels)
                                .bind(seq)
                                .bind(bank)
                                .bind(change.signal.kind().as_str())
                                .bind(&key)
                                .execute(&mut *tx)
                                .await?;
                            applied.changed += 1;
                        }
                    }
                }
            }
        }
        let moved = sqlx::query("UPDATE bank_subscriptions SET cursor = $1, pulled_at = $2, error = NULL WHERE bank = $3 AND cursor = $4")
            .bind(to)
            .bind(at)
            .bind(bank)
            .bind(from)
            .execute(&mut *tx)
            .await?;
        if moved.rows_affected() != 1 {
            return Err(StoreError::Refused(format!("bank {bank:?} moved past change {from} meanwhile")));
        }
        if applied != Applied::default() {
            let entry = serde_json::json!({
                "type": "bank.pulled", "bank": bank, "peer": sub.peer, "remote_bank": sub.remote_bank, "from": from, "to": to,
                "added": applied.added, "changed": applied.changed, "batch_sha256": batch_sha256, "at": at,
            });
            self.append_in(&mut tx, entry.to_string().as_bytes()).await?;
        }
        tx.commit().await?;
        Ok(applied)
    }

    /// Notes why the last pull of `bank` failed (shown with the subscription).
    pub async fn pull_failed(&self, bank: &str, error: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE bank_subscriptions SET error = $1 WHERE bank = $2").bind(error).bind(bank).execute(&self.pool).await?;
        Ok(())
    }

    /// Marks signal `num` of the subscribed copy `bank` disputed here and queues `message` (the
    /// signed dispute for the publisher: id, peer, URL, kind, JWS), in one transaction.
    pub async fn dispute_remote(
        &self,
        bank: &str,
        num: i64,
        by: &str,
        reason: &str,
        message: (&str, &str, &str, &str, &str),
    ) -> Result<BankSignal, StoreError> {
        let at = now_ms();
        let mut tx = self.pool.begin().await?;
        let changed = set_state_in(self, &mut tx, bank, num, SignalState::Disputed, by, reason, at).await?;
        queue_message(&mut tx, message, at).await?;
        tx.commit().await?;
        Ok(changed)
    }

    /// Applies a message's bank effect within the transaction storing the message.
    pub(crate) async fn apply_effect(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        peer: &str,
        effect: &BankEffect<'_>,
        at: i64,
    ) -> Result<(), StoreError> {
        match *effect {
            BankEffect::Removed { order_id, url, signals } => {
                let issued = sqlx::query("SELECT body FROM orders WHERE id = $1 AND side = 'issued' AND peer = $2")
                    .bind(order_id)
                    .bind(peer)
                    .fetch_optional(&mut **tx)
                    .await?;
                let Some(issued) = issued else {
                    return Err(StoreError::Refused(format!("no order {order_id} was issued to this peer")));
                };
                // Only content the order named, reported once, with at most one hash of each
                // kind: a platform cannot fill the authority's bank with hashes of its choosing.
                let body: serde_json::Value = serde_json::from_str(&issued.try_get::<String, _>(0)?).unwrap_or_default();
                let named = body["targets"].as_array().into_iter().flatten().any(|t| t["url"].as_str() == Some(url));
                if !named {
                    return Err(StoreError::Refused(format!("order {order_id} does not name {url}")));
                }
                let mut kinds: Vec<SignalType> = signals.iter().map(Signal::kind).collect();
                kinds.sort_unstable_by_key(|k| k.as_str());
                kinds.dedup();
                if signals.is_empty()
                    || kinds.len() != signals.len()
                    || signals
                        .iter()
                        .any(|s| !matches!(s.kind(), SignalType::Sha256 | SignalType::Md5 | SignalType::Pdq | SignalType::Vpdq))
                {
                    return Err(StoreError::Refused(
                        "removed content: one SHA-256, MD5, PDQ or vPDQ signal of each kind at most".to_owned(),
                    ));
                }
                let reported = sqlx::query("SELECT 1 FROM inbox_reports WHERE peer = $1 AND order_id = $2 AND url = $3")
                    .bind(peer)
                    .bind(order_id)
                    .bind(url)
                    .fetch_optional(&mut **tx)
                    .await?;
                if reported.is_some() {
                    return Err(StoreError::Refused(format!("{url} of order {order_id} was reported already")));
                }
                sqlx::query("INSERT INTO inbox_reports (peer, order_id, url, at) VALUES ($1, $2, $3, $4)")
                    .bind(peer)
                    .bind(order_id)
                    .bind(url)
                    .bind(at)
                    .execute(&mut **tx)
                    .await?;
                // Kept apart until the authority confirms them: a platform's word alone holds
                // matches for review (here and at every subscriber), it never blocks; the
                // authority confirms a signal by making it active.
                let new: Vec<NewSignal> = signals
                    .iter()
                    .map(|s| NewSignal { signal: s.clone(), labels: Labels::default(), state: SignalState::Disputed, provenance: None })
                    .collect();
                let provenance = Provenance { source: "order".into(), reference: order_id.into(), detail: url.into() };
                let (_, entry) = self.add_signals_in(tx, BankName::STAY_DOWN, &new, &provenance, at).await?;
                self.append_in(tx, entry.to_string().as_bytes()).await?;
            }
            BankEffect::Dispute { bank, num, signal, reason } => {
                let subscribed = sqlx::query("SELECT 1 FROM bank_subscribers WHERE bank = $1 AND peer = $2")
                    .bind(bank)
                    .bind(peer)
                    .fetch_optional(&mut **tx)
                    .await?;
                if subscribed.is_none() {
                    return Err(StoreError::Refused(format!("bank {bank:?} is not published to this peer")));
                }
                let row = sqlx::query(&format!("SELECT {} FROM bank_signals WHERE bank = $1 AND num = $2", crate::banks::SIGNAL_COLUMNS))
                    .bind(bank)
                    .bind(num)
                    .fetch_optional(&mut **tx)
                    .await?
                    .ok_or_else(|| StoreError::Refused(format!("bank {bank:?} has no signal {num}")))?;
                let current = signal_from(&row)?;
                if current.signal != *signal {
                    return Err(StoreError::Refused(format!("signal {num} of bank {bank:?} is not {signal}")));
                }
                // Only an active signal becomes disputed; a dispute of one already disputed or
                // withdrawn is kept (the message is stored and logged) and changes nothing.
                if current.state == SignalState::Active {
                    set_state_in(self, tx, bank, num, SignalState::Disputed, &format!("peer:{peer}"), reason, at).await?;
                }
            }
        }
        Ok(())
    }
}
