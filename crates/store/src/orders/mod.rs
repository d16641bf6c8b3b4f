//! Orders and their timelines: issued here or received from a peer, executed into blocks, with
//! every state change a timeline event and a log entry, and the deadline warnings of removal
//! orders.

use sqlx::Row;

use crate::node::record::{add_event, json_entry, now_ms, queue_message, queue_webhook, url_digest};
use crate::{Store, StoreError};

pub mod evidence;
pub mod procedures;

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

impl Block {
    /// Whether the order behind the block is still confidential at `now` (Unix ms).
    pub fn is_confidential(&self, now: i64) -> bool {
        self.confidential && self.confidential_until.is_none_or(|until| now < until)
    }
}

/// A feedback's per-target outcomes as a log entry keeps them: each URL as its digest.
fn targets_for_log(detail: &serde_json::Value) -> serde_json::Value {
    let targets =
        detail["targets"].as_array().into_iter().flatten().map(
            |t| serde_json::json!({ "url_sha256": url_digest(t["url"].as_str().unwrap_or("")), "action": t["action"], "at": t["at"] }),
        );
    serde_json::Value::Array(targets.collect())
}

pub(crate) async fn insert_order(
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
pub(crate) async fn apply_transition(
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

pub(crate) fn order_from(row: &sqlx::any::AnyRow) -> Result<OrderRow, StoreError> {
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
