//! The outbox: delivers the messages this node queued to its peers' inboxes at least once,
//! with retries and backoff, checks and keeps each receipt, measures the peer's clock from it,
//! and shows on the order a message the peer refused or that keeps failing.

use std::sync::Arc;
use std::time::Duration;

use tocsin_wire::{Body, Jwk, Kind};

use super::ReceiptResponse;
use crate::State;
use crate::node::time::{backoff, now_ms, wait_until_due};

/// Why a delivery did not succeed.
enum Failure {
    /// Worth trying again (unreachable, timeout, 5xx, 408, 429, a bad receipt).
    Retry(String),
    /// The receiver refused the message for good (another 4xx).
    Refused(String),
}

impl From<String> for Failure {
    fn from(e: String) -> Self {
        Failure::Retry(e)
    }
}

/// What a delivery gave: the receipt, its time of receipt (the receiver's clock), and how far
/// the receiver's clock is ahead of this node's (the receipt time against the middle of the
/// request, good to half the round trip).
struct Delivered {
    receipt: String,
    received_at: u64,
    skew_ms: i64,
}

/// Delivers one message and checks its receipt.
fn deliver(url: &str, jws: &str, peer_key: &Jwk, me: &str, id: &str) -> Result<Delivered, Failure> {
    let agent: ureq::Agent =
        ureq::Agent::config_builder().timeout_global(Some(Duration::from_secs(10))).http_status_as_error(false).build().into();
    let target = format!("{}/v1/inbox", url.trim_end_matches('/'));
    let sent = now_ms();
    let mut response =
        agent.post(&target).header("Content-Type", "application/jose").send(jws).map_err(|e| format!("POST {target}: {e}"))?;
    let answered = now_ms();
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().map_err(|e| format!("POST {target}: {e}"))?;
    if status != 200 && status != 201 {
        let reason = format!("POST {target}: {status}: {}", text.chars().take(300).collect::<String>());
        let permanent = (400..500).contains(&status) && status != 408 && status != 429;
        return Err(if permanent { Failure::Refused(reason) } else { Failure::Retry(reason) });
    }
    let answer: ReceiptResponse = serde_json::from_str(&text).map_err(|e| format!("not a receipt: {e}"))?;
    let message = tocsin_wire::open(&answer.receipt, me, |_| Some(peer_key.clone())).map_err(|e| format!("the receipt: {e}"))?;
    let Body::Receipt(body) = message.body else { return Err(Failure::Retry("the answer is not a receipt".to_owned())) };
    if body.message_id.to_string() != id {
        return Err(Failure::Retry("the receipt is for another message".to_owned()));
    }
    body.tree_head.verify(peer_key).map_err(|e| format!("the receipt's tree head: {e}"))?;
    let middle = sent.midpoint(answered);
    let skew_ms = i64::try_from(body.received_at).unwrap_or(i64::MAX).saturating_sub(middle as i64);
    Ok(Delivered { receipt: answer.receipt, received_at: body.received_at, skew_ms })
}

/// Runs the outbox until the process ends: delivers what is due, sleeps until the next message
/// is due or [`State::outbox`] is notified.
pub async fn run_outbox(state: Arc<State>) {
    loop {
        if let Err(e) = deliver_due(&state).await {
            tracing::warn!(error = %e, "outbox");
        }
        wait_until_due(state.store.next_due().await, &state.outbox).await;
    }
}

/// Failed attempts after which a delivery is shown as failing on its order (1 + 2 + ... + 64 s of
/// retries: about two minutes).
pub const FAILING_AFTER_ATTEMPTS: i64 = 7;

/// The kind of a message this node sealed and the order it concerns (the order's own message,
/// or the `order_id` in its body), read from the stored JWS.
fn concerns(jws: &str) -> Option<(String, String)> {
    let envelope = tocsin_wire::stored(jws)?;
    let kind = envelope.kind.name().to_owned();
    let order = match envelope.kind {
        Kind::RemovalOrder | Kind::Referral => envelope.id.to_string(),
        _ => envelope.body.get("order_id")?.as_str()?.to_owned(),
    };
    Some((kind, order))
}

/// Shows on its order that a message was refused by the peer or keeps failing, and tells the
/// escalation webhook, once per problem.
async fn show_problem(
    state: &Arc<State>,
    jws: &str,
    peer: &str,
    refused: bool,
    error: &str,
    attempts: i64,
) -> Result<(), tocsin_store::StoreError> {
    let Some((kind, order_id)) = concerns(jws) else { return Ok(()) };
    let problem_state = if refused { "refused" } else { "failing" };
    let problem = serde_json::json!({
        "state": problem_state, "kind": kind, "peer": peer, "error": error.chars().take(500).collect::<String>(),
        "attempts": attempts, "at": now_ms(),
    });
    let webhook = state.config.escalation_webhook.as_deref().and_then(|url| {
        let event = serde_json::json!({ "event": format!("delivery.{problem_state}"), "order_id": order_id, "problem": problem });
        state.webhook_call(url, event)
    });
    let call = webhook.as_ref().map(|(id, url, body, signature)| (id.as_str(), url.as_str(), body.as_str(), signature.as_str()));
    if state.store.delivery_problem(&order_id, &problem, call).await? {
        state.metrics.count_delivery_problem(refused);
        state.webhooks.notify_one();
    }
    Ok(())
}

async fn deliver_due(state: &Arc<State>) -> Result<(), tocsin_store::StoreError> {
    let me = state.identity.jwk().thumbprint();
    for message in state.store.due_messages(now_ms() as i64, 16).await? {
        let Some(peer) = state.store.peer_by_fingerprint(&message.peer).await? else {
            let next = now_ms() as i64 + backoff(message.attempts + 1).as_millis() as i64;
            state.store.delivery_failed(&message.id, "the receiver is no longer a peer", next).await?;
            continue;
        };
        let peer_name = peer.name.clone();
        let (url, jws, id, me2) = (message.url.clone(), message.jws.clone(), message.id.clone(), me.clone());
        let outcome = tokio::task::spawn_blocking(move || deliver(&url, &jws, &peer.jwk, &me2, &id))
            .await
            .unwrap_or_else(|e| Err(Failure::Retry(e.to_string())));
        // A qualified person's node that has not confirmed this node yet refuses its notices;
        // they are tried again until it has, as the law wants every change told.
        let outcome = match outcome {
            Err(Failure::Refused(error)) if tocsin_wire::stored(&message.jws).is_some_and(|e| e.kind == Kind::BlocklistNotice) => {
                Err(Failure::Retry(error))
            }
            other => other,
        };
        match outcome {
            Ok(done) => {
                let concerned = concerns(&message.jws);
                let restarts = concerned.as_ref().filter(|(kind, _)| kind == "clarification").map(|(_, order)| order.as_str());
                state.store.delivered(&message.id, &done.receipt, done.received_at as i64, restarts).await?;
                state.store.set_peer_clock_skew(&message.peer, done.skew_ms).await?;
                if let Some((_, order_id)) = &concerned {
                    state.store.delivery_recovered(order_id).await?;
                }
                tracing::info!(id = %message.id, skew_ms = done.skew_ms, "message delivered");
            }
            Err(Failure::Refused(error)) => {
                tracing::warn!(id = %message.id, %error, "the receiver refused the message; not retried");
                state.store.delivery_rejected(&message.id, &error).await?;
                show_problem(state, &message.jws, &peer_name, true, &error, message.attempts + 1).await?;
            }
            Err(Failure::Retry(error)) => {
                let next = now_ms() as i64 + backoff(message.attempts + 1).as_millis() as i64;
                tracing::warn!(id = %message.id, attempts = message.attempts + 1, %error, "delivery failed; will retry");
                state.store.delivery_failed(&message.id, &error, next).await?;
                if message.attempts + 1 >= FAILING_AFTER_ATTEMPTS {
                    show_problem(state, &message.jws, &peer_name, false, &error, message.attempts + 1).await?;
                }
            }
        }
    }
    Ok(())
}
