//! Messages between nodes and the orders they carry. The outbox is durable: a message is queued
//! in the same transaction as the change that sends it, and stays due until a receipt for it is
//! stored. The inbox keeps each message once per sender and id, with the receipt it was
//! answered with, so a repeat gets the same receipt and changes nothing. Orders keep a timeline;
//! each state change is also a log entry.

use sqlx::Row;

use crate::record::{add_event, now_ms, queue_message, queue_webhook, url_digest};
use crate::{Appended, Store, StoreError};

/// A message waiting to be delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// The message id (a ULID).
    pub id: String,
    /// The receiver's key fingerprint.
    pub peer: String,
    /// The receiver's base URL.
    pub url: String,
    /// The signed message.
    pub jws: String,
    /// Deliveries tried so far.
    pub attempts: i64,
}

/// An order as this node keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderRow {
    /// Its id (a ULID).
    pub id: String,
    /// `issued` (this node issued it) or `received`.
    pub side: String,
    /// The other node's key fingerprint.
    pub peer: String,
    /// `removal_order` or `referral`.
    pub kind: String,
    /// The authority's reference.
    pub reference: String,
    /// The order's fields, JSON.
    pub body: String,
    /// Where it stands: `issued`, `delivered`, `received`, ...
    pub state: String,
    /// When it was issued, Unix milliseconds.
    pub issued_at: i64,
    /// When its state last changed, Unix milliseconds.
    pub updated_at: i64,
    /// When the platform received it, Unix milliseconds by the platform's clock (on the
    /// authority's side, from the platform's receipt); None until then.
    pub received_at: Option<i64>,
    /// When the platform removed the content, by the platform's clock too (on the authority's
    /// side, from the platform's feedback), so that receipt to removal is measured on one clock.
    pub removed_at: Option<i64>,
    /// A message about it that the peer refused or that keeps failing, JSON (`state`, `kind`,
    /// `error`, `attempts`); None when none is.
    pub delivery_problem: Option<String>,
}

/// One step of an order's timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderEvent {
    /// Unix milliseconds.
    pub at: i64,
    /// What happened (`issued`, `delivered`, `received`, ...).
    pub event: String,
    /// Its particulars, JSON.
    pub detail: String,
}

/// What a new order is, for [`Store::issue_order`] and [`Store::receive`].
#[derive(Debug, Clone, Copy)]
pub struct NewOrder<'a> {
    /// Its id.
    pub id: &'a str,
    /// `removal_order` or `referral`.
    pub kind: &'a str,
    /// The authority's reference.
    pub reference: &'a str,
    /// The order's fields, JSON.
    pub body: &'a str,
    /// When it was issued, Unix milliseconds.
    pub issued_at: i64,
}

/// A verified message as it arrived, for [`Store::receive`].
#[derive(Debug, Clone, Copy)]
pub struct Incoming<'a> {
    /// The sender's key fingerprint.
    pub peer: &'a str,
    /// The message id.
    pub id: &'a str,
    /// Its kind (`removal_order`, ...).
    pub kind: &'a str,
    /// The signed message as received.
    pub jws: &'a str,
    /// When it arrived, Unix milliseconds.
    pub received_at: i64,
    /// The order it carries, if any.
    pub order: Option<NewOrder<'a>>,
    /// The feedback it carries on an order this node issued to the sender, if any.
    pub feedback: Option<Feedback<'a>>,
    /// The order the sender withdraws, if it is a withdrawal.
    pub withdrawal: Option<&'a str>,
    /// Another change the message makes to one of the orders between the two nodes (an
    /// inability answer, a clarification), if any.
    pub transition: Option<Transition<'a>>,
    /// What it changes in a bank (a dispute, hashes of removed content), if anything.
    pub bank: Option<crate::sharing::BankEffect<'a>>,
    /// The information on procedures and deadlines it carries, if it does (TCO Art. 3(2)).
    pub information: Option<&'a str>,
    /// The authority's request to keep an order's content longer, or its release (TCO Art. 6(2)).
    pub hold: Option<Hold<'a>>,
    /// A blocklist change for the qualified person: the authority's log index and entry, JSON.
    pub notice: Option<(i64, &'a str)>,
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

/// A change of an order's state, allowed only from the states named.
#[derive(Debug, Clone, Copy)]
pub struct Transition<'a> {
    /// The order.
    pub order_id: &'a str,
    /// `issued` or `received`: which node's copy.
    pub side: &'a str,
    /// The states it may be in.
    pub from: &'a [&'a str],
    /// The state it moves to.
    pub to: &'a str,
    /// The timeline event.
    pub event: &'a str,
    /// The event's particulars, JSON.
    pub detail: &'a str,
    /// The new time of receipt, when the hour starts again (after a clarification, or once the
    /// grounds of an inability have ceased), Unix ms.
    pub restart_clock: Option<i64>,
}

/// A platform's feedback on an order: the order's new state and what was done, JSON.
#[derive(Debug, Clone, Copy)]
pub struct Feedback<'a> {
    /// The order.
    pub order_id: &'a str,
    /// `executed`, `partially_executed` or `unable`.
    pub state: &'a str,
    /// Per target, what was done and when, JSON.
    pub detail: &'a str,
    /// When the platform removed the content, by its own clock (the clock of its receipt), if
    /// it did.
    pub removed_at: Option<i64>,
}

/// The inbox's answer to a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// The signed receipt to send back.
    pub receipt: String,
    /// False when the message had been received before (nothing was changed this time).
    pub first: bool,
}

fn json_entry(value: serde_json::Value) -> Vec<u8> {
    value.to_string().into_bytes()
}

/// A feedback's per-target outcomes as a log entry keeps them: each URL as its digest.
fn targets_for_log(detail: &serde_json::Value) -> serde_json::Value {
    let targets =
        detail["targets"].as_array().into_iter().flatten().map(
            |t| serde_json::json!({ "url_sha256": url_digest(t["url"].as_str().unwrap_or("")), "action": t["action"], "at": t["at"] }),
        );
    serde_json::Value::Array(targets.collect())
}

impl Store {
    /// Records an order this node issues and queues its message (and, for a cross-border order,
    /// its copy for the authority of the provider's Member State: id, peer, URL, signed message),
    /// with a log entry, in one transaction.
    pub async fn issue_order(
        &self,
        order: NewOrder<'_>,
        peer: &str,
        url: &str,
        jws: &str,
        copy: Option<(&str, &str, &str, &str)>,
    ) -> Result<(), StoreError> {
        let at = now_ms();
        let mut tx = self.pool.begin().await?;
        insert_order(&mut tx, &order, "issued", peer, "issued", at).await?;
        let detail = serde_json::json!({ "to": peer, "copy_to": copy.map(|(_, copy_peer, _, _)| copy_peer) });
        add_event(&mut tx, order.id, at, "issued", &detail.to_string()).await?;
        queue_message(&mut tx, (order.id, peer, url, order.kind, jws), at).await?;
        if let Some((id, copy_peer, copy_url, copy_jws)) = copy {
            queue_message(&mut tx, (id, copy_peer, copy_url, "order_copy", copy_jws), at).await?;
        }
        let entry = serde_json::json!({
            "type": "order.issued", "order": order.id, "kind": order.kind, "reference": order.reference, "to": peer, "at": at,
        });
        self.append_in(&mut tx, &json_entry(entry)).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Messages due for a delivery attempt at `now` (Unix ms), oldest first.
    pub async fn due_messages(&self, now: i64, limit: i64) -> Result<Vec<Outgoing>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, peer, url, jws, attempts FROM outbox WHERE delivered_at IS NULL AND next_attempt_at <= $1 \
             ORDER BY next_attempt_at, id LIMIT $2",
        )
        .bind(now)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Outgoing { id: r.try_get(0)?, peer: r.try_get(1)?, url: r.try_get(2)?, jws: r.try_get(3)?, attempts: r.try_get(4)? })
            })
            .collect()
    }

    /// When the next undelivered message is due, if any (Unix ms).
    pub async fn next_due(&self) -> Result<Option<i64>, StoreError> {
        let row = sqlx::query("SELECT MIN(next_attempt_at) FROM outbox WHERE delivered_at IS NULL").fetch_one(&self.pool).await?;
        Ok(row.try_get::<Option<i64>, _>(0)?)
    }

    /// A failed attempt: counted, with the reason, and the next attempt set.
    pub async fn delivery_failed(&self, id: &str, error: &str, next_attempt_at: i64) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE outbox SET attempts = attempts + 1, last_error = $1, next_attempt_at = $2 WHERE id = $3 AND delivered_at IS NULL",
        )
        .bind(error)
        .bind(next_attempt_at)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Shows a delivery problem on the order a message concerns: `problem` (JSON: `state`
    /// `refused` or `failing`, the message's kind, the peer's words) on the order, an event in its
    /// timeline, a log entry and, if given, an escalation webhook call, in one transaction. A
    /// problem already shown is not shown again; a refusal replaces a failing delivery.
    pub async fn delivery_problem(
        &self,
        order_id: &str,
        problem: &serde_json::Value,
        webhook: Option<(&str, &str, &str, &str)>,
    ) -> Result<bool, StoreError> {
        let at = now_ms();
        let state = problem["state"].as_str().unwrap_or("refused");
        let mut tx = self.pool.begin().await?;
        let current = sqlx::query("SELECT delivery_problem FROM orders WHERE id = $1").bind(order_id).fetch_optional(&mut *tx).await?;
        let Some(current) = current else { return Ok(false) };
        let current: Option<String> = current.try_get(0)?;
        let shown = current.and_then(|c| serde_json::from_str::<serde_json::Value>(&c).ok());
        if shown.as_ref().is_some_and(|c| c["state"] == state || c["state"] == "refused") {
            return Ok(false);
        }
        sqlx::query("UPDATE orders SET delivery_problem = $1 WHERE id = $2")
            .bind(problem.to_string())
            .bind(order_id)
            .execute(&mut *tx)
            .await?;
        add_event(&mut tx, order_id, at, &format!("delivery_{state}"), &problem.to_string()).await?;
        if let Some(call) = webhook {
            queue_webhook(&mut tx, call, at).await?;
        }
        let entry = serde_json::json!({ "type": format!("message.delivery_{state}"), "order": order_id, "problem": problem, "at": at });
        self.append_in(&mut tx, &json_entry(entry)).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Clears a failing delivery shown on an order, once a message about it got through (a
    /// refusal stays: that message will never be delivered).
    pub async fn delivery_recovered(&self, order_id: &str) -> Result<(), StoreError> {
        let row = sqlx::query("SELECT delivery_problem FROM orders WHERE id = $1").bind(order_id).fetch_optional(&self.pool).await?;
        let shown: Option<String> = row.map(|r| r.try_get(0)).transpose()?.flatten();
        let failing = shown.and_then(|s| serde_json::from_str::<serde_json::Value>(&s).ok()).is_some_and(|p| p["state"] == "failing");
        if failing {
            sqlx::query("UPDATE orders SET delivery_problem = NULL WHERE id = $1").bind(order_id).execute(&self.pool).await?;
        }
        Ok(())
    }

    /// Withdraws an order this node issued: its state becomes `withdrawn` and the withdrawal
    /// message is queued for the platform, with a log entry, in one transaction. Refused if the
    /// order is not this node's or is withdrawn already.
    pub async fn withdraw_order(&self, order_id: &str, message: (&str, &str, &str), reason: &str) -> Result<(), StoreError> {
        let at = now_ms();
        let (message_id, jws, url) = message;
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query("SELECT peer FROM orders WHERE id = $1 AND side = 'issued' AND state <> 'withdrawn'")
            .bind(order_id)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else { return Err(StoreError::Refused(format!("no order {order_id} of this node to withdraw"))) };
        let peer: String = row.try_get(0)?;
        sqlx::query("UPDATE orders SET state = 'withdrawn', updated_at = $1 WHERE id = $2")
            .bind(at)
            .bind(order_id)
            .execute(&mut *tx)
            .await?;
        add_event(&mut tx, order_id, at, "withdrawn", &serde_json::json!({ "reason": reason }).to_string()).await?;
        queue_message(&mut tx, (message_id, &peer, url, "withdrawal", jws), at).await?;
        let entry = serde_json::json!({ "type": "order.withdrawn", "order": order_id, "reason": reason, "at": at });
        self.append_in(&mut tx, &json_entry(entry)).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A delivery the receiver refused for good (a 4xx answer other than a timeout or rate
    /// limit): not tried again, the reason kept.
    pub async fn delivery_rejected(&self, id: &str, error: &str) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE outbox SET attempts = attempts + 1, last_error = $1, next_attempt_at = NULL WHERE id = $2 AND delivered_at IS NULL",
        )
        .bind(error)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The index of the log entry that recorded message `id` from `peer`, if it was received.
    pub async fn inbox_log_index(&self, peer: &str, id: &str) -> Result<Option<i64>, StoreError> {
        let row =
            sqlx::query("SELECT log_index FROM inbox WHERE peer = $1 AND id = $2").bind(peer).bind(id).fetch_optional(&self.pool).await?;
        Ok(row.map(|r| r.try_get(0)).transpose()?)
    }

    /// Adds `event` to an order's timeline, with a log entry, and queues `message` (id, peer,
    /// URL, kind, signed message) when there is one to send, in one transaction.
    pub async fn note_and_maybe_tell(
        &self,
        order_id: &str,
        event: &str,
        detail: &str,
        message: Option<(&str, &str, &str, &str, &str)>,
    ) -> Result<(), StoreError> {
        let at = now_ms();
        let mut tx = self.pool.begin().await?;
        add_event(&mut tx, order_id, at, event, detail).await?;
        if let Some(message) = message {
            queue_message(&mut tx, message, at).await?;
        }
        let detail: serde_json::Value = serde_json::from_str(detail).unwrap_or_default();
        let entry = serde_json::json!({ "type": format!("order.{event}"), "order": order_id, "detail": detail, "at": at });
        self.append_in(&mut tx, &json_entry(entry)).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Every message of `kind` received, newest first: sender, signed message, time of receipt.
    pub async fn inbox_of_kind(&self, kind: &str) -> Result<Vec<(String, String, i64)>, StoreError> {
        let rows = sqlx::query("SELECT peer, jws, received_at FROM inbox WHERE kind = $1 ORDER BY received_at DESC")
            .bind(kind)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?))).collect()
    }

    /// A delivery the receiver acknowledged with `receipt`, which says it received the message
    /// at `received_at` (the receiver's clock, Unix ms). An order it carried becomes `delivered`;
    /// the order `restarts` (one the message clarified) is due an hour from this receipt, as the
    /// platform's copy is (TCO Art. 3(8)).
    pub async fn delivered(&self, id: &str, receipt: &str, received_at: i64, restarts: Option<&str>) -> Result<(), StoreError> {
        let at = now_ms();
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query(
            "UPDATE outbox SET delivered_at = $1, receipt = $2, next_attempt_at = NULL, attempts = attempts + 1 \
             WHERE id = $3 AND delivered_at IS NULL",
        )
        .bind(at)
        .bind(receipt)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            // Delivered already (two attempts crossed): nothing more to record.
            return Ok(());
        }
        crate::procedures::date_by_receipt(&mut tx, id, received_at).await?;
        if let Some(order_id) = restarts {
            sqlx::query("UPDATE orders SET received_at = $1 WHERE id = $2 AND side = 'issued' AND state = 'delivered'")
                .bind(received_at)
                .bind(order_id)
                .execute(&mut *tx)
                .await?;
            let detail = serde_json::json!({ "message": id, "received_at": received_at, "receipt": receipt }).to_string();
            add_event(&mut tx, order_id, at, "clarification_received", &detail).await?;
        }
        // The feedback may have come back before this receipt was stored: the timeline gets the
        // delivery either way, the state moves only from `issued`.
        let order = sqlx::query("SELECT state FROM orders WHERE id = $1 AND side = 'issued'").bind(id).fetch_optional(&mut *tx).await?;
        if order.is_some() {
            sqlx::query("UPDATE orders SET received_at = $1 WHERE id = $2 AND side = 'issued'")
                .bind(received_at)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("UPDATE orders SET state = 'delivered', updated_at = $1 WHERE id = $2 AND side = 'issued' AND state = 'issued'")
                .bind(at)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            let detail = serde_json::json!({ "received_at": received_at, "receipt": receipt }).to_string();
            add_event(&mut tx, id, at, "delivered", &detail).await?;
        }
        let entry = serde_json::json!({ "type": "message.delivered", "id": id, "received_at": received_at, "at": at });
        self.append_in(&mut tx, &json_entry(entry)).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Keeps a verified message and, for an order, the order; logs it; and stores the receipt
    /// `make_receipt` signs from the log's state right after the entry. A message seen before
    /// (same sender, same id) changes nothing and gets its first receipt again.
    pub async fn receive(&self, message: Incoming<'_>, make_receipt: impl FnOnce(&Appended) -> String) -> Result<Received, StoreError> {
        let Incoming { peer, id, kind, jws, received_at, order, feedback, withdrawal, transition, bank, information, hold, notice } =
            message;
        if let Some(receipt) = self.earlier_receipt(peer, id).await? {
            return Ok(Received { receipt, first: false });
        }
        let mut tx = self.pool.begin().await?;
        let seen =
            sqlx::query("SELECT receipt FROM inbox WHERE peer = $1 AND id = $2").bind(peer).bind(id).fetch_optional(&mut *tx).await?;
        if let Some(row) = seen {
            return Ok(Received { receipt: row.try_get(0)?, first: false });
        }
        if let Some(order) = &order {
            match insert_order(&mut tx, order, "received", peer, "received", received_at).await {
                Err(StoreError::Database(sqlx::Error::Database(e))) if e.is_unique_violation() => {
                    return Err(StoreError::Refused(format!("an order {} exists already", order.id)));
                }
                other => other?,
            }
            add_event(&mut tx, order.id, received_at, "received", &serde_json::json!({ "from": peer }).to_string()).await?;
        }
        if let Some(text) = information {
            crate::procedures::keep_received(&mut tx, id, peer, text, received_at).await?;
        }
        if let Some(hold) = &hold {
            self.apply_hold(&mut tx, peer, hold, received_at).await?;
        }
        if let Some(notice) = notice {
            crate::notices::keep(&mut tx, peer, id, notice, received_at).await?;
        }
        if let Some(f) = &feedback {
            let moved = sqlx::query(
                "UPDATE orders SET state = $1, updated_at = $2, removed_at = COALESCE($5, removed_at) \
                 WHERE id = $3 AND side = 'issued' AND peer = $4",
            )
            .bind(f.state)
            .bind(received_at)
            .bind(f.order_id)
            .bind(peer)
            .bind(f.removed_at)
            .execute(&mut *tx)
            .await?;
            if moved.rows_affected() != 1 {
                return Err(StoreError::Refused(format!("no order {} was issued to this peer", f.order_id)));
            }
            add_event(&mut tx, f.order_id, received_at, "feedback", f.detail).await?;
        }
        if let Some(t) = &transition {
            apply_transition(&mut tx, t, Some(peer), received_at).await?;
        }
        if let Some(order_id) = withdrawal {
            let moved = sqlx::query(
                "UPDATE orders SET state = 'withdrawn', updated_at = $1 WHERE id = $2 AND side = 'received' AND peer = $3 AND state <> 'withdrawn'",
            )
            .bind(received_at)
            .bind(order_id)
            .bind(peer)
            .execute(&mut *tx)
            .await?;
            if moved.rows_affected() != 1 {
                return Err(StoreError::Refused(format!("no order {order_id} from this peer to withdraw")));
            }
            let lifted = sqlx::query("UPDATE blocks SET lifted_at = $1 WHERE order_id = $2 AND lifted_at IS NULL")
                .bind(received_at)
                .bind(order_id)
                .execute(&mut *tx)
                .await?;
            let detail = serde_json::json!({ "blocks_lifted": lifted.rows_affected() }).to_string();
            add_event(&mut tx, order_id, received_at, "withdrawn", &detail).await?;
        }
        if let Some(effect) = &bank {
            self.apply_effect(&mut tx, peer, effect, received_at).await?;
        }
        // Feedback's outcome is on the record, so that removals can be counted from the log.
        let entry = serde_json::json!({
            "type": "message.received", "id": id, "kind": kind, "from": peer, "received_at": received_at,
            "outcome": feedback.as_ref().map(|f| f.state),
        });
        let appended = self.append_in(&mut tx, &json_entry(entry)).await?;
        let receipt = make_receipt(&appended);
        let inserted =
            sqlx::query("INSERT INTO inbox (peer, id, kind, jws, received_at, log_index, receipt) VALUES ($1, $2, $3, $4, $5, $6, $7)")
                .bind(peer)
                .bind(id)
                .bind(kind)
                .bind(jws)
                .bind(received_at)
                .bind(appended.index as i64)
                .bind(&receipt)
                .execute(&mut *tx)
                .await;
        match inserted {
            Ok(_) => {}
            // The same message arriving twice at once on PostgreSQL: the other delivery won.
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                drop(tx);
                let receipt = self.earlier_receipt(peer, id).await?.ok_or(StoreError::Inconsistent("a message vanished"))?;
                return Ok(Received { receipt, first: false });
            }
            Err(e) => return Err(e.into()),
        }
        tx.commit().await?;
        Ok(Received { receipt, first: true })
    }

    /// The receipt given for message `id` from `peer`, if it was received before.
    pub async fn earlier_receipt(&self, peer: &str, id: &str) -> Result<Option<String>, StoreError> {
        let row =
            sqlx::query("SELECT receipt FROM inbox WHERE peer = $1 AND id = $2").bind(peer).bind(id).fetch_optional(&self.pool).await?;
        Ok(row.map(|r| r.try_get(0)).transpose()?)
    }

    /// Every order, newest first.
    pub async fn orders(&self) -> Result<Vec<OrderRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, side, peer, kind, reference, body, state, issued_at, updated_at, received_at, removed_at, delivery_problem FROM orders ORDER BY issued_at DESC, id DESC",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(order_from).collect()
    }

    /// For every removal order carried out (fully or in part): the other node's fingerprint and
    /// the milliseconds from the platform's receipt to the removal (on the platform: its own
    /// record of execution; on the authority: the feedback's arrival).
    pub async fn removal_times(&self) -> Result<Vec<(String, i64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT peer, removed_at - received_at FROM orders \
             WHERE kind = 'removal_order' AND state IN ('executed', 'partially_executed') AND received_at IS NOT NULL \
             AND removed_at IS NOT NULL",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
    }

    /// One order and its timeline.
    pub async fn order(&self, id: &str) -> Result<Option<(OrderRow, Vec<OrderEvent>)>, StoreError> {
        let row = sqlx::query(
            "SELECT id, side, peer, kind, reference, body, state, issued_at, updated_at, received_at, removed_at, delivery_problem FROM orders WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let events = sqlx::query("SELECT at, event, detail FROM order_events WHERE order_id = $1 ORDER BY seq")
            .bind(id)
            .fetch_all(&self.pool)
            .await?;
        let events = events
            .iter()
            .map(|e| Ok(OrderEvent { at: e.try_get(0)?, event: e.try_get(1)?, detail: e.try_get(2)? }))
            .collect::<Result<_, StoreError>>()?;
        Ok(Some((order_from(&row)?, events)))
    }
}

async fn insert_order(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    order: &NewOrder<'_>,
    side: &str,
    peer: &str,
    state: &str,
    at: i64,
) -> Result<(), StoreError> {
    // An order this node receives is received now; one it issues, when the receipt says.
    let received_at = (side == "received").then_some(at);
    sqlx::query(
        "INSERT INTO orders (id, side, peer, kind, reference, body, state, issued_at, updated_at, received_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(order.id)
    .bind(side)
    .bind(peer)
    .bind(order.kind)
    .bind(order.reference)
    .bind(order.body)
    .bind(state)
    .bind(order.issued_at)
    .bind(at)
    .bind(received_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Moves an order as `t` says (from the sender `peer`, when a message asks), refused unless it
/// is in one of the states `t` allows.
async fn apply_transition(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    t: &Transition<'_>,
    peer: Option<&str>,
    at: i64,
) -> Result<(), StoreError> {
    let row = sqlx::query("SELECT state, peer FROM orders WHERE id = $1 AND side = $2")
        .bind(t.order_id)
        .bind(t.side)
        .fetch_optional(&mut **tx)
        .await?;
    let Some(row) = row else { return Err(StoreError::Refused(format!("no order {}", t.order_id))) };
    let (state, owner): (String, String) = (row.try_get(0)?, row.try_get(1)?);
    if peer.is_some_and(|p| p != owner) {
        return Err(StoreError::Refused(format!("order {} is not between this node and the sender", t.order_id)));
    }
    if !t.from.contains(&state.as_str()) {
        return Err(StoreError::Refused(format!(
            "order {} is {state}; {} is allowed only when it is {}",
            t.order_id,
            t.event,
            t.from.join(" or ")
        )));
    }
    sqlx::query("UPDATE orders SET state = $1, updated_at = $2 WHERE id = $3 AND side = $4")
        .bind(t.to)
        .bind(at)
        .bind(t.order_id)
        .bind(t.side)
        .execute(&mut **tx)
        .await?;
    if let Some(restart) = t.restart_clock {
        sqlx::query("UPDATE orders SET received_at = $1 WHERE id = $2 AND side = $3")
            .bind(restart)
            .bind(t.order_id)
            .bind(t.side)
            .execute(&mut **tx)
            .await?;
    }
    add_event(tx, t.order_id, at, t.event, t.detail).await
}

fn order_from(row: &sqlx::any::AnyRow) -> Result<OrderRow, StoreError> {
    Ok(OrderRow {
        id: row.try_get(0)?,
        side: row.try_get(1)?,
        peer: row.try_get(2)?,
        kind: row.try_get(3)?,
        reference: row.try_get(4)?,
        body: row.try_get(5)?,
        state: row.try_get(6)?,
        issued_at: row.try_get(7)?,
        updated_at: row.try_get(8)?,
        received_at: row.try_get(9)?,
        removed_at: row.try_get(10)?,
        delivery_problem: row.try_get(11)?,
    })
}

/// A URL the gate refuses, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// The canonical URL.
    pub url: String,
    /// The order that blocked it.
    pub order_id: String,
    /// The authority's reference.
    pub reference: String,
    /// The order's legal basis.
    pub legal_basis: String,
    /// The issuing authority's name.
    pub authority: String,
    /// When it was blocked, Unix milliseconds.
    pub blocked_at: i64,
    /// The authority said the platform may not tell the content provider (TCO Art. 11(3)):
    /// nothing of the order is shown publicly while this holds.
    pub confidential: bool,
    /// Until when, Unix milliseconds (`None`: until the authority says otherwise).
    pub confidential_until: Option<i64>,
    /// It carries out a referral the platform accepted (removed under its terms), not a removal
    /// order.
    pub referral: bool,
}

impl Block {
    /// Whether the order behind the block is still confidential at `now` (Unix ms).
    pub fn is_confidential(&self, now: i64) -> bool {
        self.confidential && self.confidential_until.is_none_or(|until| now < until)
    }
}

/// What executing an order did, for [`Store::execute_order`].
#[derive(Debug, Clone)]
pub struct Execution<'a> {
    /// The order.
    pub order_id: &'a str,
    /// Its new state: `executed`, `partially_executed` or `unable`.
    pub state: &'a str,
    /// Per target: URL and what was done, JSON.
    pub detail: serde_json::Value,
    /// The URLs now blocked.
    pub blocks: Vec<Block>,
    /// The feedback message to the authority: id, peer, URL, kind, signed message.
    pub feedback: (&'a str, &'a str, &'a str, &'a str, &'a str),
    /// Calls to the platform's action webhook: id, URL, body, signature.
    pub webhooks: Vec<(String, String, String, String)>,
}

/// A webhook call waiting to be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookCall {
    /// Its id (sent as `Tocsin-Delivery`, so the receiver can drop repeats).
    pub id: String,
    /// Where to POST.
    pub url: String,
    /// The JSON body.
    pub body: String,
    /// The node's compact JWS over the body.
    pub signature: String,
    /// Attempts so far.
    pub attempts: i64,
}

impl Store {
    /// Orders received from peers that wait to be executed (oldest first): removal orders as
    /// they arrive, referrals once a reviewer has accepted them.
    pub async fn orders_to_execute(&self) -> Result<Vec<OrderRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, side, peer, kind, reference, body, state, issued_at, updated_at, received_at, removed_at, delivery_problem FROM orders \
             WHERE side = 'received' AND ((state = 'received' AND kind = 'removal_order') OR state = 'accepted') ORDER BY updated_at, id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(order_from).collect()
    }

    /// Records an order's execution: the blocks, the order's new state and timeline, the
    /// feedback queued for the authority, and the log entry, in one transaction. Refused (and
    /// nothing changed) if the order is not waiting for execution.
    pub async fn execute_order(&self, e: &Execution<'_>) -> Result<(), StoreError> {
        let at = now_ms();
        let mut tx = self.pool.begin().await?;
        let removed_at = matches!(e.state, "executed" | "partially_executed").then_some(at);
        let moved = sqlx::query(
            "UPDATE orders SET state = $1, updated_at = $2, removed_at = COALESCE($4, removed_at) \
             WHERE id = $3 AND side = 'received' AND state IN ('received', 'accepted')",
        )
        .bind(e.state)
        .bind(at)
        .bind(e.order_id)
        .bind(removed_at)
        .execute(&mut *tx)
        .await?;
        if moved.rows_affected() != 1 {
            return Err(StoreError::Refused(format!("order {} is not waiting for execution", e.order_id)));
        }
        // Each order has its own row for each URL it blocks, even when another order blocks the
        // URL already: the URL stays blocked while any of them stands.
        for b in &e.blocks {
            sqlx::query(
                "INSERT INTO blocks (url, order_id, reference, legal_basis, authority, blocked_at, confidential, confidential_until, kind) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (url, order_id) DO NOTHING",
            )
            .bind(&b.url)
            .bind(&b.order_id)
            .bind(&b.reference)
            .bind(&b.legal_basis)
            .bind(&b.authority)
            .bind(b.blocked_at)
            .bind(i64::from(b.confidential))
            .bind(b.confidential_until)
            .bind(if b.referral { "referral" } else { "removal_order" })
            .execute(&mut *tx)
            .await?;
        }
        add_event(&mut tx, e.order_id, at, e.state, &e.detail.to_string()).await?;
        let (id, peer, url, kind, jws) = e.feedback;
        queue_message(&mut tx, (id, peer, url, kind, jws), at).await?;
        for (id, url, body, signature) in &e.webhooks {
            queue_webhook(&mut tx, (id, url, body, signature), at).await?;
        }
        let entry = serde_json::json!({
            "type": "order.executed", "order": e.order_id, "state": e.state, "targets": targets_for_log(&e.detail), "at": at,
        });
        self.append_in(&mut tx, &json_entry(entry)).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A reviewer's decision on a referral received from a peer: `accepted` (the executor then
    /// runs it as a removal order) or `rejected` with the feedback message queued for the
    /// authority. Refused unless the order is a referral waiting for review.
    pub async fn review_referral(
        &self,
        order_id: &str,
        decision: &str,
        reviewer: &str,
        reason: &str,
        feedback: Option<(&str, &str, &str, &str)>,
    ) -> Result<(), StoreError> {
        let at = now_ms();
        let mut tx = self.pool.begin().await?;
        // Removal orders held for review (a peer with the review policy) may be accepted; only
        // referrals may be rejected (a removal order is answered with an inability, if at all).
        let kinds = if decision == "accepted" { "('referral', 'removal_order')" } else { "('referral')" };
        let sql = format!(
            "UPDATE orders SET state = $1, updated_at = $2 WHERE id = $3 AND side = 'received' AND kind IN {kinds} AND state = 'received'"
        );
        let moved = sqlx::query(&sql).bind(decision).bind(at).bind(order_id).execute(&mut *tx).await?;
        if moved.rows_affected() != 1 {
            return Err(StoreError::Refused(format!("no order {order_id} waiting for review that can be {decision}")));
        }
        add_event(&mut tx, order_id, at, decision, &serde_json::json!({ "by": reviewer, "reason": reason }).to_string()).await?;
        if let Some((id, peer, url, jws)) = feedback {
            queue_message(&mut tx, (id, peer, url, "feedback", jws), at).await?;
        }
        let entry =
            serde_json::json!({ "type": format!("referral.{decision}"), "order": order_id, "by": reviewer, "reason": reason, "at": at });
        self.append_in(&mut tx, &json_entry(entry)).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Removal orders received and not yet answered, with the deadline warnings already given
    /// for their current hour (`30`, `10`, `overdue`): warnings given before the hour started
    /// again (TCO Art. 3(7) and (8)) do not count.
    pub async fn open_removal_orders(&self) -> Result<Vec<(OrderRow, Vec<String>)>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, side, peer, kind, reference, body, state, issued_at, updated_at, received_at, removed_at, delivery_problem FROM orders \
             WHERE side = 'received' AND kind = 'removal_order' AND state IN ('received', 'accepted') AND received_at IS NOT NULL",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let order = order_from(row)?;
            let warned = sqlx::query("SELECT detail FROM order_events WHERE order_id = $1 AND event = 'deadline_warning' AND at >= $2")
                .bind(&order.id)
                .bind(order.received_at)
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(|r| {
                    let detail: String = r.try_get(0)?;
                    let value: serde_json::Value = serde_json::from_str(&detail).unwrap_or_default();
                    Ok(value["level"].as_str().unwrap_or_default().to_owned())
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
            out.push((order, warned));
        }
        Ok(out)
    }

    /// Records a deadline warning on an order and queues its escalation webhook call (if there
    /// is one), with a log entry, in one transaction.
    pub async fn deadline_warning(
        &self,
        order_id: &str,
        level: &str,
        webhook: Option<(String, String, String, String)>,
    ) -> Result<(), StoreError> {
        let at = now_ms();
        let mut tx = self.pool.begin().await?;
        add_event(&mut tx, order_id, at, "deadline_warning", &serde_json::json!({ "level": level }).to_string()).await?;
        if let Some((id, url, body, signature)) = webhook {
            queue_webhook(&mut tx, (&id, &url, &body, &signature), at).await?;
        }
        let entry = serde_json::json!({ "type": "order.deadline_warning", "order": order_id, "level": level, "at": at });
        self.append_in(&mut tx, &json_entry(entry)).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Webhook calls due at `now` (Unix ms), oldest first.
    pub async fn due_webhooks(&self, now: i64, limit: i64) -> Result<Vec<WebhookCall>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, url, body, signature, attempts FROM webhooks WHERE delivered_at IS NULL AND next_attempt_at <= $1 \
             ORDER BY next_attempt_at, id LIMIT $2",
        )
        .bind(now)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(WebhookCall {
                    id: r.try_get(0)?,
                    url: r.try_get(1)?,
                    body: r.try_get(2)?,
                    signature: r.try_get(3)?,
                    attempts: r.try_get(4)?,
                })
            })
            .collect()
    }

    /// When the next webhook call is due, if any (Unix ms).
    pub async fn next_webhook_due(&self) -> Result<Option<i64>, StoreError> {
        let row = sqlx::query("SELECT MIN(next_attempt_at) FROM webhooks WHERE delivered_at IS NULL").fetch_one(&self.pool).await?;
        Ok(row.try_get::<Option<i64>, _>(0)?)
    }

    /// A webhook call's outcome: answered (`error` None) or to be tried again at `next_attempt_at`.
    pub async fn webhook_attempted(&self, id: &str, error: Option<&str>, next_attempt_at: i64) -> Result<(), StoreError> {
        let query = match error {
            None => "UPDATE webhooks SET attempts = attempts + 1, delivered_at = $1, next_attempt_at = NULL, last_error = $2 WHERE id = $3",
            Some(_) => "UPDATE webhooks SET attempts = attempts + 1, next_attempt_at = $1, last_error = $2 WHERE id = $3",
        };
        let when = if error.is_none() { now_ms() } else { next_attempt_at };
        sqlx::query(query).bind(when).bind(error).bind(id).execute(&self.pool).await?;
        Ok(())
    }

    /// A change this node makes to an order (an inability answer, a clarification), with the
    /// message that tells the other node queued and a log entry, in one transaction.
    pub async fn transition_and_tell(&self, t: &Transition<'_>, message: (&str, &str, &str, &str, &str)) -> Result<(), StoreError> {
        let at = now_ms();
        let (id, peer, url, kind, jws) = message;
        let mut tx = self.pool.begin().await?;
        apply_transition(&mut tx, t, None, at).await?;
        queue_message(&mut tx, (id, peer, url, kind, jws), at).await?;
        let detail: serde_json::Value = serde_json::from_str(t.detail).unwrap_or_default();
        let entry =
            serde_json::json!({ "type": format!("order.{}", t.event), "order": t.order_id, "state": t.to, "detail": detail, "at": at });
        self.append_in(&mut tx, &json_entry(entry)).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Every URL blocked now.
    pub async fn blocks(&self) -> Result<Vec<Block>, StoreError> {
        let sql = format!("SELECT {BLOCK_COLUMNS} FROM blocks WHERE lifted_at IS NULL ORDER BY blocked_at, order_id");
        let rows = sqlx::query(&sql).fetch_all(&self.pool).await?;
        rows.iter().map(block_from).collect()
    }
}

/// The columns [`block_from`] reads, in its order.
pub(crate) const BLOCK_COLUMNS: &str =
    "url, order_id, reference, legal_basis, authority, blocked_at, confidential, confidential_until, kind";

/// A block from a row of [`BLOCK_COLUMNS`].
pub(crate) fn block_from(r: &sqlx::any::AnyRow) -> Result<Block, StoreError> {
    Ok(Block {
        url: r.try_get(0)?,
        order_id: r.try_get(1)?,
        reference: r.try_get(2)?,
        legal_basis: r.try_get(3)?,
        authority: r.try_get(4)?,
        blocked_at: r.try_get(5)?,
        confidential: r.try_get::<i64, _>(6)? != 0,
        confidential_until: r.try_get(7)?,
        referral: r.try_get::<String, _>(8)? == "referral",
    })
}
