//! Messages between nodes, durably. The outbox: a message is queued in the same transaction as
//! the change that sends it, and stays due until a receipt for it is stored. The inbox keeps each
//! message once per sender and id, with the receipt it was answered with, so a repeat gets the
//! same receipt and changes nothing; what a message changes (an order, feedback, a transition,
//! a bank, a hold, a notice) is applied in the transaction that keeps it. And the queue of calls
//! to the platform's webhooks.

use sqlx::Row;

use crate::node::record::{add_event, json_entry, now_ms, queue_webhook};
use crate::orders::evidence::Hold;
use crate::orders::{NewOrder, Transition, apply_transition, insert_order};
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
    pub bank: Option<crate::banks::sharing::BankEffect<'a>>,
    /// The information on procedures and deadlines it carries, if it does (TCO Art. 3(2)).
    pub information: Option<&'a str>,
    /// The authority's request to keep an order's content longer, or its release (TCO Art. 6(2)).
    pub hold: Option<Hold<'a>>,
    /// A blocklist change for the qualified person: the authority's log index and entry, JSON.
    pub notice: Option<(i64, &'a str)>,
    /// What it changes in the data requests between the two nodes, if anything.
    pub request: Option<crate::investigations::RequestEffect<'a>>,
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
        crate::orders::procedures::date_by_receipt(&mut tx, id, received_at).await?;
        crate::investigations::date_by_receipt(&mut tx, id, received_at).await?;
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
        let Incoming {
            peer,
            id,
            kind,
            jws,
            received_at,
            order,
            feedback,
            withdrawal,
            transition,
            bank,
            information,
            hold,
            notice,
            request,
        } = message;
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
            crate::orders::procedures::keep_received(&mut tx, id, peer, text, received_at).await?;
        }
        if let Some(hold) = &hold {
            self.apply_hold(&mut tx, peer, hold, received_at).await?;
        }
        if let Some(notice) = notice {
            crate::blocklist::notices::keep(&mut tx, peer, id, notice, received_at).await?;
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
        if let Some(effect) = &request {
            crate::investigations::apply(self, &mut tx, peer, id, effect, received_at).await?;
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
        let mut tx = self.pool.begin().await?;
        sqlx::query(query).bind(when).bind(error).bind(id).execute(&mut *tx).await?;
        if error.is_none() {
            crate::investigations::preserved(self, &mut tx, id, when).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
