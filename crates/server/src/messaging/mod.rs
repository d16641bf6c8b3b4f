//! Signed messages between nodes: `POST /v1/inbox` takes a compact JWS from a confirmed peer,
//! reads its body for its kind once (`tocsin_wire::Body`), works out what it changes here, stores
//! both in one transaction, and only then answers with a signed receipt carrying the exact time
//! of receipt and this node's signed log head right after the message was appended. The outbox
//! (`outbox.rs`) delivers what this node sends.

mod outbox;

pub use outbox::{FAILING_AFTER_ATTEMPTS, run_outbox};

use std::sync::Arc;

use axum::Json;
use axum::extract::State as Shared;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use tocsin_wire::body::{FeedbackBody, ReceiptBody};
use tocsin_wire::{Body, Message, MessageError, TreeHead};
use utoipa::ToSchema;

use crate::State;
use crate::node::problem::Problem;

/// The answer to a delivered message.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ReceiptResponse {
    /// The receiver's signed receipt: a compact JWS of kind `receipt`.
    pub receipt: String,
}

use crate::node::time::now_ms;
use crate::node::{new_id, seal};

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
        (status = 400, description = "Not a compact JWS", body = crate::node::problem::Body, content_type = "application/problem+json"),
        (status = 403, description = "Not signed by a confirmed peer's key", body = crate::node::problem::Body, content_type = "application/problem+json"),
        (status = 409, description = "Addressed to another node, or an order id already used", body = crate::node::problem::Body, content_type = "application/problem+json"),
        (status = 413, description = "Larger than 64 KiB", body = crate::node::problem::Body, content_type = "application/problem+json"),
        (status = 422, description = "Not a message this node reads", body = crate::node::problem::Body, content_type = "application/problem+json"),
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
    let envelope = tocsin_wire::verify(jws, &me, |_| peer.as_ref().map(|p| p.jwk.clone()))?;
    let sender = peer.ok_or(Problem::Internal)?;
    // A message received before gets its first receipt again, whatever has happened since: a
    // sender that did not hear the receipt (killed, cut off) repeats it, and must not be told
    // it was refused because its own message already moved the order on.
    if let Some(receipt) = state.store.earlier_receipt(&sender.fingerprint, &envelope.id.to_string()).await? {
        return Ok((StatusCode::OK, Json(ReceiptResponse { receipt })));
    }
    check_sent_at(envelope.sent_at, received_at)?;
    if !crate::node::peers::may_send(&sender.roles, envelope.kind) {
        return Err(Problem::NotForPeer(format!(
            "peer {:?} is confirmed as {} and may not send a {:?} message",
            sender.name,
            if sender.roles.is_empty() { "nothing".to_owned() } else { sender.roles.join(", ") },
            envelope.kind
        )));
    }
    let message = envelope.read()?;
    let effects = Effects::of(state, &sender, &message, received_at).await?;
    let request = crate::investigations::Effect::of(state, &sender, &message, received_at).await?;
    let id = message.id.to_string();
    let kind = message.kind().name();
    let transition = effects.transition.as_ref().map(|t| tocsin_store::Transition {
        order_id: &t.order_id,
        side: t.side,
        from: &t.from,
        to: t.to,
        event: t.event,
        detail: &t.detail,
        restart_clock: t.restart_clock,
    });
    let bank = match &message.body {
        Body::RemovedContent(r) => Some(tocsin_store::BankEffect::Removed { order_id: &r.order_id, url: &r.url, signals: &r.signals }),
        Body::Dispute(d) => Some(tocsin_store::BankEffect::Dispute { bank: &d.bank, num: d.num, signal: &d.signal, reason: &d.reason }),
        _ => None,
    };
    let received = state
        .store
        .receive(
            tocsin_store::Incoming {
                peer: &sender.fingerprint,
                id: &id,
                kind,
                jws,
                received_at: received_at as i64,
                order: effects.order.as_ref().map(|(kind, reference, body, issued_at)| tocsin_store::NewOrder {
                    id: &id,
                    kind,
                    reference,
                    body,
                    issued_at: *issued_at,
                }),
                feedback: effects.feedback.as_ref().map(|(f, detail, removed_at)| tocsin_store::Feedback {
                    order_id: &f.order_id,
                    state: &f.state,
                    detail,
                    removed_at: *removed_at,
                }),
                withdrawal: match &message.body {
                    Body::Withdrawal(w) => Some(&w.order_id),
                    _ => None,
                },
                transition,
                bank,
                information: match &message.body {
                    Body::ProcedureInformation(i) => Some(&i.text),
                    _ => None,
                },
                hold: match &message.body {
                    Body::PreservationRequest(h) => {
                        Some(tocsin_store::Hold { order_id: &h.order_id, reason: &h.reason, release: h.release })
                    }
                    _ => None,
                },
                notice: effects.notice.as_ref().map(|(index, entry)| (*index, entry.as_str())),
                request: request.as_ref().map(crate::investigations::Effect::as_store),
            },
            |appended| {
                let stamp = now_ms();
                let head = TreeHead::new(
                    appended.size,
                    &appended.root.0,
                    stamp,
                    &state.identity.sign(&TreeHead::message(appended.size, &appended.root.0, stamp)),
                );
                let body = ReceiptBody { message_id: message.id, received_at, log_index: appended.index, tree_head: head };
                let receipt_id = new_id().unwrap_or(message.id);
                seal(state, receipt_id, &sender.fingerprint, &Body::Receipt(body))
            },
        )
        .await?;
    if received.first {
        tracing::info!(id = %id, kind = %kind, from = %sender.name, "message received");
        match &message.body {
            Body::RemovalOrder(_) | Body::Clarification(_) => state.orders.executor.notify_one(),
            Body::RemovedContent(_) | Body::Dispute(_) => crate::banks::follow_now(state).await,
            Body::Withdrawal(w) => {
                state.orders.gate.remove_order(&w.order_id);
                tracing::info!(order = %w.order_id, "order withdrawn; its blocks are lifted");
            }
            Body::DataRequest(_) | Body::RequestExtension(_) => {
                state.webhooks.notify_one();
                state.investigations.requests.notify_one();
            }
            Body::DataAnswer(_) => state.investigations.fetcher.notify_one(),
            // A held answer may leave now.
            Body::NoGrounds(_) => state.outbox.notify_one(),
            Body::ThreatReport(_) => {
                tracing::warn!(id = %id, from = %sender.name, "threat report: imminent threat to life");
                crate::investigations::threats::recount(state).await;
                state.webhooks.notify_one();
            }
            _ => {}
        }
    }
    let status = if received.first { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(ReceiptResponse { receipt: received.receipt })))
}

/// A change to one of the orders between the two nodes that a message makes, owned.
struct OrderTransition {
    order_id: String,
    side: &'static str,
    from: Vec<&'static str>,
    to: &'static str,
    event: &'static str,
    detail: String,
    restart_clock: Option<i64>,
}

impl OrderTransition {
    /// The message moves the order named in `body` on `side` to `to` on `event`, from any state
    /// the order's state machine allows.
    fn new<T: Serialize>(
        order_id: &str,
        (side, event): (tocsin_model::Side, tocsin_model::OrderEvent),
        to: &'static str,
        name: &'static str,
        body: &T,
        restart_clock: Option<i64>,
    ) -> Self {
        Self {
            order_id: order_id.to_owned(),
            side: if side == tocsin_model::Side::Issued { "issued" } else { "received" },
            from: crate::orders::allowed_from(side, event),
            to,
            event: name,
            detail: serde_json::to_string(body).unwrap_or_default(),
            restart_clock,
        }
    }
}

/// What a received message changes at this node beyond being kept, read from its body once and
/// checked against what the node holds (the sender's name in an order, the state of the order
/// feedback is about); stored with the message in one transaction.
#[derive(Default)]
struct Effects {
    /// An order: its kind, reference, JSON and time of issue.
    order: Option<(&'static str, String, String, i64)>,
    /// Feedback on an order this node issued: the body, its JSON and when content was removed.
    feedback: Option<(FeedbackBody, String, Option<i64>)>,
    /// An order's move to another state.
    transition: Option<OrderTransition>,
    /// A blocklist notice: the log index and the entry's JSON.
    notice: Option<(i64, String)>,
}

impl Effects {
    async fn of(state: &State, sender: &tocsin_store::Peer, message: &Message, received_at: u64) -> Result<Self, Problem> {
        use tocsin_model::OrderEvent as Event;
        use tocsin_model::Side::{Issued, Received};
        let mut effects = Effects::default();
        match &message.body {
            Body::RemovalOrder(order) | Body::Referral(order) => {
                // The names in the order are the peers' as confirmed by key: the signer issued
                // it, and this node is its addressee.
                if order.issuing_authority != sender.name {
                    return Err(Problem::Refused(format!(
                        "the order names {:?} as its issuing authority but is signed by peer {:?}",
                        order.issuing_authority, sender.name
                    )));
                }
                if order.addressee != state.config.name {
                    return Err(Problem::Refused(format!(
                        "the order is addressed to {:?}, not to {:?}",
                        order.addressee, state.config.name
                    )));
                }
                let json = serde_json::to_string(&**order).map_err(|_| Problem::Internal)?;
                let kind = message.kind().name();
                effects.order = Some((kind, order.reference.clone(), json, order.issued_at as i64));
            }
            Body::Feedback(f) => {
                // Feedback must be one the order's state machine allows (a removal order cannot
                // come back rejected; a withdrawn order takes no feedback).
                if let Some((row, _)) = state.store.order(&f.order_id).await? {
                    let outcome = match f.state.as_str() {
                        "executed" => tocsin_model::Outcome::Executed,
                        "partially_executed" => tocsin_model::Outcome::PartiallyExecuted,
                        "unable" => tocsin_model::Outcome::Unable,
                        _ => tocsin_model::Outcome::Rejected,
                    };
                    let kind =
                        if row.kind == "referral" { tocsin_model::OrderKind::Referral } else { tocsin_model::OrderKind::RemovalOrder };
                    let current: tocsin_model::OrderState = row.state.parse().map_err(|_| Problem::Internal)?;
                    current.next(Issued, kind, Event::Feedback(outcome)).map_err(|e| Problem::Refused(e.to_string()))?;
                }
                // The platform's clock, as its receipt's time is: when the last URL it blocked was.
                let removed_at = f.targets.iter().filter(|t| t.action == "blocked").filter_map(|t| i64::try_from(t.at).ok()).max();
                effects.feedback = Some((f.clone(), serde_json::to_string(f).unwrap_or_default(), removed_at));
            }
            Body::Inability(answer) => {
                effects.transition =
                    Some(OrderTransition::new(&answer.order_id, (Issued, Event::Inability), "unable", "inability", answer, None));
            }
            // The hour runs again from the clarification's arrival (Art. 3(8)).
            Body::Clarification(c) => {
                effects.transition = Some(OrderTransition::new(
                    &c.order_id,
                    (Received, Event::Clarification),
                    "received",
                    "clarification",
                    c,
                    Some(received_at as i64),
                ));
            }
            // The hour runs again from the moment the platform said the grounds ceased, by its
            // clock (the message's date), as its own copy does (Art. 3(7)).
            Body::GroundsCeased(ceased) => {
                // Only the grounds of Art. 3(7) cease; errors and missing information are clarified.
                if let Some((_, events)) = state.store.order(&ceased.order_id).await?
                    && !crate::orders::last_inability_ground(&events).is_some_and(crate::orders::InabilityGround::ceases)
                {
                    return Err(Problem::Refused(format!(
                        "order {} was not answered with force majeure or de facto impossibility",
                        ceased.order_id
                    )));
                }
                effects.transition = Some(OrderTransition::new(
                    &ceased.order_id,
                    (Issued, Event::GroundsCeased),
                    "delivered",
                    "grounds_ceased",
                    ceased,
                    Some(i64::try_from(message.sent_at).unwrap_or(i64::MAX)),
                ));
            }
            Body::BlocklistNotice(n) => effects.notice = Some((n.log_index, n.entry.to_string())),
            Body::BankChanges(_) | Body::BankPull(_) | Body::PackageFetch(_) => {
                return Err(Problem::BadBody(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    format!("a {:?} message is not sent to an inbox", message.kind()),
                ));
            }
            // Kept as they are; the store applies withdrawals, holds, information and bank
            // effects with the message, and a receipt is never sent to an inbox unasked.
            Body::Receipt(_)
            | Body::PreservationRequest(_)
            | Body::OrderCopy(_)
            | Body::OrderFinal(_)
            | Body::ProcedureInformation(_)
            | Body::Withdrawal(_)
            | Body::RemovedContent(_)
            | Body::Dispute(_) => {}
            // The investigations' kinds: `investigations::Effect::of` reads them.
            Body::DataRequest(_)
            | Body::DataAnswer(_)
            | Body::DataRefusal(_)
            | Body::RequestExtension(_)
            | Body::ThreatReport(_)
            | Body::RequestNotification(_)
            | Body::NoGrounds(_) => {}
        }
        Ok(effects)
    }
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
            crate::node::time::rfc3339_ms(i64::try_from(sent_at).unwrap_or(i64::MAX)),
            crate::node::time::rfc3339_ms(now as i64)
        )));
    }
    Ok(())
}

/// The inbox, for [`crate::api`] to merge.
pub(crate) fn routes() -> axum::Router<Arc<crate::State>> {
    use axum::routing::post;
    // A message may carry a video's vPDQ features (up to 1.5 MB, a third more as a JWS).
    axum::Router::new().route("/v1/inbox", post(inbox).layer(axum::extract::DefaultBodyLimit::max(MAX_MESSAGE_BYTES)))
}

/// The largest message the inbox reads.
pub const MAX_MESSAGE_BYTES: usize = 4 << 20;
