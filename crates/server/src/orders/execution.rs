//! The platform executes removal orders from peers it accepts as competent authorities (peers
//! that announce the authority role, automatically unless the peer's policy is `review`, and any
//! order a reviewer accepted): each target on a host this platform
//! serves is blocked in the gate, any other is answered as a manifest error (TCO Annex III), and
//! feedback goes back to the authority. Work is picked up from the database, so an order
//! received just before a crash is executed after the restart, once.

use std::sync::Arc;
use std::time::Duration;

use tocsin_model::Order;
use tocsin_wire::Body;
use tocsin_wire::body::{AnswerParticulars, FeedbackBody, TargetOutcome};

use crate::State;
use crate::node::time::now_ms;
use crate::node::{new_id, seal};

/// The particulars of this node's answer on the order in `row` (received here).
pub async fn answer_particulars(
    state: &State,
    row: &tocsin_store::OrderRow,
    removal: bool,
) -> Result<AnswerParticulars, tocsin_store::StoreError> {
    let own = crate::node::legal::own(state).await.unwrap_or_default();
    let order: serde_json::Value = serde_json::from_str(&row.body).unwrap_or_default();
    let index = state.store.inbox_log_index(&row.peer, &row.id).await?;
    Ok(AnswerParticulars {
        authority_reference: order["reference"].as_str().unwrap_or(&row.reference).to_owned(),
        addressee_reference: index.map_or_else(|| row.id.clone(), |i| format!("{} log entry {i}", state.config.name)),
        received_at: row.received_at.unwrap_or_default(),
        provider: state.config.name.clone(),
        member_state: own.member_state,
        authorised_person: own.representative,
        contact_email: own.email,
        measure: removal.then(|| "access_disabled_in_all_member_states".to_owned()),
    })
}

/// Runs until the process ends: executes waiting orders, then sleeps until notified (or a
/// minute, to pick up anything missed).
pub async fn run_executor(state: Arc<State>) {
    loop {
        if let Err(e) = execute_waiting(&state).await {
            tracing::warn!(error = %e, "executing orders");
        }
        let _ = tokio::time::timeout(Duration::from_secs(60), state.orders.executor.notified()).await;
    }
}

async fn execute_waiting(state: &Arc<State>) -> Result<(), tocsin_store::StoreError> {
    for row in state.store.orders_to_execute().await? {
        let Some(peer) = state.store.peer_by_fingerprint(&row.peer).await? else { continue };
        if row.state != "accepted" && (peer.policy != "auto" || !peer.roles.iter().any(|r| r == "authority")) {
            // Not a competent authority by this node's lights: left for a person to decide.
            continue;
        }
        let order: Order = match serde_json::from_str(&row.body) {
            Ok(order) => order,
            Err(e) => {
                tracing::error!(order = %row.id, error = %e, "a stored order does not read back");
                continue;
            }
        };
        let mut blocks = Vec::new();
        let mut outcomes = Vec::new();
        for target in &order.targets {
            let at = now_ms();
            let action = if state.config.serves_host(target.url.host()) {
                blocks.push(tocsin_store::Block {
                    url: target.url.to_string(),
                    order_id: row.id.clone(),
                    reference: order.reference.clone(),
                    legal_basis: order.legal_basis.clone(),
                    // The peer that signed the order, as its key was confirmed here: an order
                    // cannot borrow another authority's name for the public notice.
                    authority: peer.name.clone(),
                    blocked_at: at as i64,
                    confidential: !order.provider_may_be_told,
                    confidential_until: order.confidential_until.map(|until| until as i64),
                    referral: order.kind == tocsin_model::OrderKind::Referral,
                });
                "blocked"
            } else {
                "manifest_error"
            };
            let note = (action == "manifest_error").then(|| {
                format!(
                    "{} is not a host {} serves: a manifest error (TCO Annex III); a clarification can name where the content is",
                    target.url.host(),
                    state.config.name
                )
            });
            outcomes.push(TargetOutcome { url: target.url.to_string(), action: action.to_owned(), at, note });
        }
        let done = outcomes.iter().filter(|o| o.action == "blocked").count();
        let new_state = match done {
            0 => "unable",
            n if n == outcomes.len() => "executed",
            _ => "partially_executed",
        };
        let particulars = answer_particulars(state, &row, done > 0).await?;
        let body = FeedbackBody {
            order_id: row.id.clone(),
            state: new_state.to_owned(),
            targets: outcomes,
            reason: None,
            particulars: Some(particulars),
        };
        let body = Body::Feedback(body);
        let detail = body.to_value();
        let Ok(id) = new_id() else { continue };
        let id_text = id.to_string();
        let jws = seal(state, id, &peer.fingerprint, &body);
        let mut webhooks = Vec::new();
        if let Some(hook) = &state.config.action_webhook {
            for block in &blocks {
                let event = serde_json::json!({
                    "event": "content.blocked", "order_id": row.id, "reference": order.reference,
                    "authority": peer.name, "legal_basis": order.legal_basis, "url": block.url, "blocked_at": block.blocked_at,
                });
                webhooks.extend(state.webhook_call(hook, event));
            }
        }
        let execution = tocsin_store::Execution {
            order_id: &row.id,
            state: new_state,
            detail,
            blocks: blocks.clone(),
            feedback: (&id_text, &peer.fingerprint, &peer.url, "feedback", &jws),
            webhooks,
        };
        match state.store.execute_order(&execution).await {
            Ok(()) => {
                state.orders.gate.add(blocks);
                state.outbox.notify_one();
                state.orders.preserver.notify_one();
                state.webhooks.notify_one();
                tracing::info!(order = %row.id, state = new_state, "order executed");
            }
            Err(tocsin_store::StoreError::Refused(reason)) => tracing::info!(order = %row.id, %reason, "order not executed"),
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
