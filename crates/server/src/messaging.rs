//! Signed messages between nodes: `POST /v1/inbox` takes a compact JWS from a confirmed peer,
//! stores it, and only then answers with a signed receipt carrying the exact time of receipt and
//! this node's signed log head right after the message was appended; the outbox worker delivers
//! queued messages at least once, with retries and backoff, and keeps the receipts.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::State as Shared;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use tocsin_wire::{Jwk, Kind, MessageError, TreeHead, Ulid};
use utoipa::ToSchema;

use crate::State;
use crate::problem::Problem;

/// The answer to a delivered message.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ReceiptResponse {
    /// The receiver's signed receipt: a compact JWS of kind `receipt`.
    pub receipt: String,
}

/// What a receipt says.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ReceiptBody {
    /// The message received.
    pub message_id: Ulid,
    /// When the receiver stored it, Unix milliseconds by its clock.
    pub received_at: u64,
    /// The log entry that records it.
    pub log_index: u64,
    /// The receiver's log right after that entry, signed.
    pub tree_head: TreeHead,
}

use crate::time::now_ms;
use crate::{new_id, seal};

impl From<MessageError> for Problem {
    fn from(e: MessageError) -> Self {
        match e {
            MessageError::NoKeyId
            | MessageError::UnknownSender(_)
            | MessageError::SenderMismatch { .. }
            | MessageError::Jws(tocsin_wire::JwsError::Signature | tocsin_wire::JwsError::Key(_)) => {
                Problem::UntrustedMessage(e.to_string())
            }
            MessageError::Misaddressed(_) => Problem::Refused(e.to_string()),
            MessageError::Jws(tocsin_wire::JwsError::Malformed(_) | tocsin_wire::JwsError::Algorithm) => {
                Problem::BadBody(StatusCode::BAD_REQUEST, e.to_string())
            }
            other => Problem::BadBody(StatusCode::UNPROCESSABLE_ENTITY, other.to_string()),
        }
    }
}

/// Takes a signed message from a confirmed peer (the signature is the authentication: no token).
#[utoipa::path(post, path = "/v1/inbox", tag = "messages",
    request_body(description = "A compact JWS (EdDSA) over a message envelope (any content type is read as text)",
        content((String = "application/jose"), (String = "text/plain"))),
    responses(
        (status = 201, description = "Stored; the signed receipt", body = ReceiptResponse),
        (status = 200, description = "Received before; the first receipt again, nothing changed", body = ReceiptResponse),
        (status = 400, description = "Not a compact JWS", body = crate::problem::Body, content_type = "application/problem+json"),
        (status = 403, description = "Not signed by a confirmed peer's key", body = crate::problem::Body, content_type = "application/problem+json"),
        (status = 409, description = "Addressed to another node, or an order id already used", body = crate::problem::Body, content_type = "application/problem+json"),
        (status = 413, description = "Larger than 64 KiB", body = crate::problem::Body, content_type = "application/problem+json"),
        (status = 422, description = "Not a message this node reads", body = crate::problem::Body, content_type = "application/problem+json"),
    ))]
pub async fn inbox(
    Shared(state): Shared<Arc<State>>,
    body: Result<String, axum::extract::rejection::StringRejection>,
) -> Result<(StatusCode, Json<ReceiptResponse>), Problem> {
    let outcome = take_in(&state, body).await;
    if let Err(problem) = &outcome {
        // Refusals are counted and logged by the node, not written to the Merkle log: anyone can
        // send a refused message, and the audit log must not grow at a stranger's will.
        let reason = state.metrics.count_refused_message(problem);
        tracing::warn!(reason, "message refused");
    }
    outcome
}

async fn take_in(
    state: &Arc<State>,
    body: Result<String, axum::extract::rejection::StringRejection>,
) -> Result<(StatusCode, Json<ReceiptResponse>), Problem> {
    let received_at = now_ms();
    let jws = body.map_err(|e| Problem::BadBody(e.status(), e.body_text()))?;
    let jws = jws.trim();
    let kid = tocsin_wire::unverified_header(jws)
        .map_err(|e| Problem::BadBody(StatusCode::BAD_REQUEST, e.to_string()))?
        .get("kid")
        .and_then(|k| k.as_str().map(str::to_owned))
        .ok_or(MessageError::NoKeyId)?;
    let peer = state.store.peer_by_fingerprint(&kid).await?;
    let me = state.identity.jwk().thumbprint();
    let envelope = tocsin_wire::open(jws, &me, |_| peer.as_ref().map(|p| p.jwk.clone()))?;
    let sender = peer.ok_or(Problem::Internal)?;
    // A message received before gets its first receipt again, whatever has happened since: a
    // sender that did not hear the receipt (killed, cut off) repeats it, and must not be told
    // it was refused because its own message already moved the order on.
    if let Some(receipt) = state.store.earlier_receipt(&sender.fingerprint, &envelope.id.to_string()).await? {
        return Ok((StatusCode::OK, Json(ReceiptResponse { receipt })));
    }
    check_sent_at(envelope.sent_at, received_at)?;
    if !crate::peers::may_send(&sender.roles, envelope.kind) {
        return Err(Problem::NotForPeer(format!(
            "peer {:?} is confirmed as {} and may not send a {:?} message",
            sender.name,
            if sender.roles.is_empty() { "nothing".to_owned() } else { sender.roles.join(", ") },
            envelope.kind
        )));
    }

    let order_json;
    let order = match envelope.kind {
        Kind::RemovalOrder | Kind::Referral => {
            let order: tocsin_model::Order = serde_json::from_value(envelope.body.clone())
                .map_err(|e| Problem::BadBody(StatusCode::UNPROCESSABLE_ENTITY, format!("the order: {e}")))?;
            let expected =
                if envelope.kind == Kind::RemovalOrder { tocsin_model::OrderKind::RemovalOrder } else { tocsin_model::OrderKind::Referral };
            if order.kind != expected || order.id != envelope.id {
                return Err(Problem::BadBody(StatusCode::UNPROCESSABLE_ENTITY, "the order's kind and id must be the message's".to_owned()));
            }
            // The names in the order are the peers' as confirmed by key: the signer issued it,
            // and this node is its addressee.
            if order.issuing_authority != sender.name {
                return Err(Problem::Refused(format!(
                    "the order names {:?} as its issuing authority but is signed by peer {:?}",
                    order.issuing_authority, sender.name
                )));
            }
            if order.addressee != state.config.name {
                return Err(Problem::Refused(format!("the order is addressed to {:?}, not to {:?}", order.addressee, state.config.name)));
            }
            order_json = serde_json::to_string(&*order).map_err(|_| Problem::Internal)?;
            Some(order)
        }
        _ => {
            order_json = String::new();
            None
        }
    };
    let id = envelope.id.to_string();
    let new_order = order.as_ref().map(|o| tocsin_store::NewOrder {
        id: &id,
        kind: if o.kind == tocsin_model::OrderKind::RemovalOrder { "removal_order" } else { "referral" },
        reference: &o.reference,
        body: &order_json,
        issued_at: o.issued_at as i64,
    });
    let feedback_body: Option<crate::execution::FeedbackBody> = match envelope.kind {
        Kind::Feedback => Some(
            serde_json::from_value(envelope.body.clone())
                .map_err(|e| Problem::BadBody(StatusCode::UNPROCESSABLE_ENTITY, format!("the feedback: {e}")))?,
        ),
        _ => None,
    };
    if let Some(f) = &feedback_body
        && !["executed", "partially_executed", "unable", "rejected"].contains(&f.state.as_str())
    {
        return Err(Problem::BadBody(StatusCode::UNPROCESSABLE_ENTITY, format!("the feedback: state {:?}", f.state)));
    }
    // Feedback must be one the order's state machine allows (a removal order cannot come back
    // rejected; a withdrawn order takes no feedback).
    if let Some(f) = &feedback_body
        && let Some((row, _)) = state.store.order(&f.order_id).await?
    {
        let outcome = match f.state.as_str() {
            "executed" => tocsin_model::Outcome::Executed,
            "partially_executed" => tocsin_model::Outcome::PartiallyExecuted,
            "unable" => tocsin_model::Outcome::Unable,
            _ => tocsin_model::Outcome::Rejected,
        };
        let kind = if row.kind == "referral" { tocsin_model::OrderKind::Referral } else { tocsin_model::OrderKind::RemovalOrder };
        let current: tocsin_model::OrderState = row.state.parse().map_err(|_| Problem::Internal)?;
        current
            .next(tocsin_model::Side::Issued, kind, tocsin_model::OrderEvent::Feedback(outcome))
            .map_err(|e| Problem::Refused(e.to_string()))?;
    }
    let feedback_detail = feedback_body.as_ref().map(|f| serde_json::to_string(f).unwrap_or_default()).unwrap_or_default();
    let feedback = feedback_body.as_ref().map(|f| tocsin_store::Feedback {
        order_id: &f.order_id,
        state: &f.state,
        detail: &feedback_detail,
        // The platform's clock, as its receipt's time is: when the last URL it blocked was.
        removed_at: f.targets.iter().filter(|t| t.action == "blocked").filter_map(|t| i64::try_from(t.at).ok()).max(),
    });
    let withdrawn: Option<String> = match envelope.kind {
        Kind::Withdrawal => Some(
            envelope.body["order_id"]
                .as_str()
                .filter(|id| id.parse::<Ulid>().is_ok())
                .ok_or_else(|| Problem::BadBody(StatusCode::UNPROCESSABLE_ENTITY, "the withdrawal names no order_id".to_owned()))?
                .to_owned(),
        ),
        _ => None,
    };
    // An inability answer (to an order this node issued) or a clarification (of an order it
    // received), checked for shape here and applied with the message.
    let (transition_detail, transition_order) = match envelope.kind {
        Kind::Inability => {
            let answer: crate::orders::InabilityBody = serde_json::from_value(envelope.body.clone())
                .map_err(|e| Problem::BadBody(StatusCode::UNPROCESSABLE_ENTITY, format!("the inability answer: {e}")))?;
            (serde_json::to_string(&answer).unwrap_or_default(), answer.order_id)
        }
        Kind::Clarification => {
            let clarification: crate::orders::ClarificationBody = serde_json::from_value(envelope.body.clone())
                .map_err(|e| Problem::BadBody(StatusCode::UNPROCESSABLE_ENTITY, format!("the clarification: {e}")))?;
            (serde_json::to_string(&clarification).unwrap_or_default(), clarification.order_id)
        }
        Kind::GroundsCeased => {
            let ceased: crate::orders::GroundsCeasedBody = serde_json::from_value(envelope.body.clone())
                .map_err(|e| Problem::BadBody(StatusCode::UNPROCESSABLE_ENTITY, format!("the end of the grounds: {e}")))?;
            // Only the grounds of Art. 3(7) cease; errors and missing information are clarified.
            if let Some((_, events)) = state.store.order(&ceased.order_id).await?
                && !crate::orders::last_inability_ground(&events).is_some_and(crate::orders::InabilityGround::ceases)
            {
                return Err(Problem::Refused(format!(
                    "order {} was not answered with force majeure or de facto impossibility",
                    ceased.order_id
                )));
            }
            (serde_json::to_string(&ceased).unwrap_or_default(), ceased.order_id)
        }
        _ => (String::new(), String::new()),
    };
    let hold: Option<crate::orders::PreservationBody> = match envelope.kind {
        Kind::PreservationRequest => {
            Some(serde_json::from_value(envelope.body.clone()).ok().filter(crate::orders::PreservationBody::holds).ok_or_else(|| {
                Problem::BadBody(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "the preservation request: an order_id and a reason of 1 to 2,000 characters".to_owned(),
                )
            })?)
        }
        _ => None,
    };
    let notice: Option<crate::blocklist::NoticeBody> = match envelope.kind {
        Kind::BlocklistNotice => {
            Some(serde_json::from_value(envelope.body.clone()).ok().filter(crate::blocklist::NoticeBody::holds).ok_or_else(|| {
                Problem::BadBody(StatusCode::UNPROCESSABLE_ENTITY, "the notice: a log_index and a blocklist entry".to_owned())
            })?)
        }
        _ => None,
    };
    let notice_entry = notice.as_ref().map(|n| n.entry.to_string()).unwrap_or_default();
    if envelope.kind == Kind::OrderCopy && serde_json::from_value::<tocsin_model::Order>(envelope.body.clone()).is_err() {
        return Err(Problem::BadBody(StatusCode::UNPROCESSABLE_ENTITY, "the copy: not an order".to_owned()));
    }
    if envelope.kind == Kind::OrderFinal
        && !serde_json::from_value::<crate::finality::FinalBody>(envelope.body.clone()).is_ok_and(|f| f.holds())
    {
        return Err(Problem::BadBody(StatusCode::UNPROCESSABLE_ENTITY, "the final order: its fields are missing or wrong".to_owned()));
    }
    let information: Option<crate::procedures::ProcedureInformationBody> = match envelope.kind {
        Kind::ProcedureInformation => {
            Some(serde_json::from_value(envelope.body.clone()).ok().filter(crate::procedures::ProcedureInformationBody::holds).ok_or_else(
                || Problem::BadBody(StatusCode::UNPROCESSABLE_ENTITY, "the information: a text of 1 to 10,000 characters".to_owned()),
            )?)
        }
        _ => None,
    };
    let transition = match envelope.kind {
        Kind::Inability => Some(tocsin_store::Transition {
            order_id: &transition_order,
            side: "issued",
            from: &crate::orders::allowed_from(tocsin_model::Side::Issued, tocsin_model::OrderEvent::Inability),
            to: "unable",
            event: "inability",
            detail: &transition_detail,
            restart_clock: None,
        }),
        // The hour runs again from the clarification's arrival (Art. 3(8)).
        Kind::Clarification => Some(tocsin_store::Transition {
            order_id: &transition_order,
            side: "received",
            from: &crate::orders::allowed_from(tocsin_model::Side::Received, tocsin_model::OrderEvent::Clarification),
            to: "received",
            event: "clarification",
            detail: &transition_detail,
            restart_clock: Some(received_at as i64),
        }),
        // The hour runs again from the moment the platform said the grounds ceased, by its clock
        // (the message's date), as its own copy does (Art. 3(7)).
        Kind::GroundsCeased => Some(tocsin_store::Transition {
            order_id: &transition_order,
            side: "issued",
            from: &crate::orders::allowed_from(tocsin_model::Side::Issued, tocsin_model::OrderEvent::GroundsCeased),
            to: "delivered",
            event: "grounds_ceased",
            detail: &transition_detail,
            restart_clock: Some(i64::try_from(envelope.sent_at).unwrap_or(i64::MAX)),
        }),
        _ => None,
    };
    // Bank effects: a platform's hashes of content removed on an order this node issued, or a
    // subscriber's dispute of a shared signal (both checked against the sender in the store).
    let unprocessable = |what: &str, e: serde_json::Error| Problem::BadBody(StatusCode::UNPROCESSABLE_ENTITY, format!("{what}: {e}"));
    let removed: Option<crate::sharing::RemovedContentBody> = match envelope.kind {
        Kind::RemovedContent => Some(serde_json::from_value(envelope.body.clone()).map_err(|e| unprocessable("the removed content", e))?),
        _ => None,
    };
    let dispute: Option<crate::sharing::DisputeBody> = match envelope.kind {
        Kind::Dispute => Some(serde_json::from_value(envelope.body.clone()).map_err(|e| unprocessable("the dispute", e))?),
        _ => None,
    };
    if matches!(envelope.kind, Kind::BankChanges | Kind::BankPull) {
        return Err(Problem::BadBody(StatusCode::UNPROCESSABLE_ENTITY, format!("a {:?} message is not sent to an inbox", envelope.kind)));
    }
    if let Some(d) = &dispute
        && (d.reason.trim().is_empty() || d.reason.chars().count() > 1000)
    {
        return Err(Problem::BadBody(StatusCode::UNPROCESSABLE_ENTITY, "the dispute: a reason of 1 to 1,000 characters".to_owned()));
    }
    let bank = match (&removed, &dispute) {
        (Some(r), _) => Some(tocsin_store::BankEffect::Removed { order_id: &r.order_id, url: &r.url, signals: &r.signals }),
        (_, Some(d)) => Some(tocsin_store::BankEffect::Dispute { bank: &d.bank, num: d.num, signal: &d.signal, reason: &d.reason }),
        _ => None,
    };
    let kind = envelope.kind.name().to_owned();
    let received = state
        .store
        .receive(
            tocsin_store::Incoming {
                peer: &sender.fingerprint,
                id: &id,
                kind: &kind,
                jws,
                received_at: received_at as i64,
                order: new_order,
                feedback,
                withdrawal: withdrawn.as_deref(),
                transition,
                bank,
                information: information.as_ref().map(|i| i.text.as_str()),
                hold: hold.as_ref().map(|h| tocsin_store::Hold { order_id: &h.order_id, reason: &h.reason, release: h.release }),
                notice: notice.as_ref().map(|n| (n.log_index, notice_entry.as_str())),
            },
            |appended| {
                let stamp = now_ms();
                let head = TreeHead::new(
                    appended.size,
                    &appended.root.0,
                    stamp,
                    &state.identity.sign(&TreeHead::message(appended.size, &appended.root.0, stamp)),
                );
                let body = ReceiptBody { message_id: envelope.id, received_at, log_index: appended.index, tree_head: head };
                let receipt_id = new_id().unwrap_or(envelope.id);
                seal(state, Kind::Receipt, receipt_id, &sender.fingerprint, serde_json::to_value(body).unwrap_or_default())
            },
        )
        .await?;
    if received.first {
        tracing::info!(id = %id, kind = %kind, from = %sender.name, "message received");
        if matches!(envelope.kind, Kind::RemovalOrder | Kind::Clarification) {
            state.executor.notify_one();
        }
        if removed.is_some() || dispute.is_some() {
            crate::banks::follow_now(state).await;
        }
        if let Some(order_id) = &withdrawn {
            state.gate.remove_order(order_id);
            tracing::info!(order = %order_id, "order withdrawn; its blocks are lifted");
        }
    }
    let status = if received.first { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(ReceiptResponse { receipt: received.receipt })))
}

/// How far ahead of this node's clock a message may be dated. Clocks kept by NTP agree within
/// seconds, but a removal order must not be refused because the platform's clock was set to a
/// local time zone (up to 14 hours off UTC): a day refuses made-up dates and no real clock. The
/// skew each delivery measures is shown with the peer, and removal times are measured on one
/// clock, so a wrong clock is seen without falsifying the one-hour figures.
pub const MAX_AHEAD_MS: u64 = 24 * 3600 * 1000;
/// How old a message may be: a message waits in its sender's outbox while this node is down,
/// and is retried for as long as that lasts; past a week it is refused (and the sender shows the
/// delivery refused).
pub const MAX_AGE_MS: u64 = 7 * 24 * 3600 * 1000;

/// Refuses a message dated outside what this node's clock allows (1970, 2500...).
fn check_sent_at(sent_at: u64, now: u64) -> Result<(), Problem> {
    if sent_at > now.saturating_add(MAX_AHEAD_MS) || sent_at.saturating_add(MAX_AGE_MS) < now {
        return Err(Problem::Refused(format!(
            "the message is dated {}, and this node's clock says {}: more than a day ahead or a week behind",
            crate::time::rfc3339_ms(i64::try_from(sent_at).unwrap_or(i64::MAX)),
            crate::time::rfc3339_ms(now as i64)
        )));
    }
    Ok(())
}

/// How long to wait before attempt `n` (1-based) of a delivery: 1 s doubling to 5 minutes.
pub fn backoff(attempts: i64) -> Duration {
    let exp = attempts.clamp(0, 9) as u32;
    Duration::from_secs((1u64 << exp).min(300))
}

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
    let envelope = tocsin_wire::open(&answer.receipt, me, |_| Some(peer_key.clone())).map_err(|e| format!("the receipt: {e}"))?;
    if envelope.kind != Kind::Receipt {
        return Err(Failure::Retry("the answer is not a receipt".to_owned()));
    }
    let body: ReceiptBody = serde_json::from_value(envelope.body).map_err(|e| format!("the receipt: {e}"))?;
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

/// Sleeps until `next_due` (Unix ms; at most a minute, and a minute when nothing is due or the
/// database did not answer), or until `wake` is notified: the rhythm of every queue worker.
pub(crate) async fn wait_until_due(next_due: Result<Option<i64>, tocsin_store::StoreError>, wake: &tokio::sync::Notify) {
    let wait = match next_due {
        Ok(Some(due)) => Duration::from_millis(due.saturating_sub(now_ms() as i64).clamp(0, 60_000) as u64),
        _ => Duration::from_secs(60),
    };
    let _ = tokio::time::timeout(wait, wake.notified()).await;
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
