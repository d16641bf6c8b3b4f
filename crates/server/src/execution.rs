//! The platform executes removal orders from peers it accepts as competent authorities (peers
//! that announce the authority role, automatically unless the peer's policy is `review`, and any
//! order a reviewer accepted): each target on a host this platform
//! serves is blocked in the gate, any other is answered as a manifest error (TCO Annex III), and
//! feedback goes back to the authority. Work is picked up from the database, so an order
//! received just before a crash is executed after the restart, once.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tocsin_model::Order;
use tocsin_wire::Kind;

use crate::State;
use crate::time::now_ms;
use crate::{new_id, seal};

/// What was done about one target.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TargetOutcome {
    /// The canonical URL.
    pub url: String,
    /// `blocked`, or `manifest_error` when this platform does not serve the host.
    pub action: String,
    /// When, Unix milliseconds.
    pub at: u64,
    /// For a manifest error: what is wrong and what a clarification should say (Annex III
    /// section B(3)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The body of a feedback message (TCO Annex II: what was done, when, per target).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct FeedbackBody {
    /// The order.
    pub order_id: String,
    /// `executed`, `partially_executed` or `unable`.
    pub state: String,
    /// Per target.
    pub targets: Vec<TargetOutcome>,
    /// Why, when a referral was rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Annex II sections A and C: the references, the time of receipt and who answers; absent
    /// in older nodes' feedback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub particulars: Option<AnswerParticulars>,
}

/// What TCO Annex II (feedback) and Annex III (inability) ask besides the answer itself: the
/// authority's and the provider's file references, when the order was received, and the
/// provider's name, Member State, authorised person and contact point, with the measure taken
/// (Annex II section B: access disabled in all Member States, which is what the gate does).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswerParticulars {
    /// The issuing authority's file reference (the order's reference).
    pub authority_reference: String,
    /// The provider's own file reference: the index of the order's entry in its log.
    pub addressee_reference: String,
    /// When the order was received, by the provider's clock, Unix ms.
    pub received_at: i64,
    /// The provider (its node's name).
    pub provider: String,
    /// Its Member State of main establishment or legal representative.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member_state: Option<String>,
    /// The person authorised to answer for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorised_person: Option<String>,
    /// Its contact point's email.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_email: Option<String>,
    /// For feedback on removal: `access_disabled_in_all_member_states`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measure: Option<String>,
}

impl AnswerParticulars {
    /// The particulars of this node's answer on the order in `row` (received here).
    pub async fn of(state: &State, row: &tocsin_store::OrderRow, removal: bool) -> Result<Self, tocsin_store::StoreError> {
        let own = crate::legal::own(state).await.unwrap_or_default();
        let order: serde_json::Value = serde_json::from_str(&row.body).unwrap_or_default();
        let index = state.store.inbox_log_index(&row.peer, &row.id).await?;
        Ok(Self {
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
}

/// Runs until the process ends: executes waiting orders, then sleeps until notified (or a
/// minute, to pick up anything missed).
pub async fn run_executor(state: Arc<State>) {
    loop {
        if let Err(e) = execute_waiting(&state).await {
            tracing::warn!(error = %e, "executing orders");
        }
        let _ = tokio::time::timeout(Duration::from_secs(60), state.executor.notified()).await;
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
        let particulars = AnswerParticulars::of(state, &row, done > 0).await?;
        let body = FeedbackBody {
            order_id: row.id.clone(),
            state: new_state.to_owned(),
            targets: outcomes,
            reason: None,
            particulars: Some(particulars),
        };
        let detail = serde_json::to_value(&body).unwrap_or_default();
        let Ok(id) = new_id() else { continue };
        let id_text = id.to_string();
        let jws = seal(state, Kind::Feedback, id, &peer.fingerprint, detail.clone());
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
                state.gate.add(blocks);
                state.outbox.notify_one();
                state.preserver.notify_one();
                state.webhooks.notify_one();
                tracing::info!(order = %row.id, state = new_state, "order executed");
            }
            Err(tocsin_store::StoreError::Refused(reason)) => tracing::info!(order = %row.id, %reason, "order not executed"),
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
