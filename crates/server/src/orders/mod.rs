//! Orders: an issuer issues a removal order or referral to a peer (checked field by field,
//! recorded, and queued for delivery in one step); every role that handles orders reads them
//! with their timelines.

pub mod deadlines;
pub mod execution;
pub mod finality;
pub mod gate;
pub mod preservation;
pub mod procedures;

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State as Shared};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use tocsin_model::{CanonicalUrl, Order, OrderFields, OrderKind, Reason, Target};
use tocsin_wire::Body;
pub use tocsin_wire::body::{ClarificationBody, GroundsCeasedBody, InabilityBody, InabilityGround, PreservationBody};
use tocsin_wire::body::{FeedbackBody, WithdrawalBody};
use utoipa::ToSchema;

use crate::State;
use crate::node::accounts::Caller;
use crate::node::problem::{JsonBody, Problem};
use crate::node::time::now_ms;
use crate::node::{new_id, seal};

const ISSUERS: &[&str] = &["issuer"];
const READERS: &[&str] = &["issuer", "operator", "reviewer", "admin", "oversight"];

/// What redress is open against a removal order, when the issuer gives none: the courts of the
/// issuing Member State (TCO Art. 9) and scrutiny by the authority of the provider's Member State
/// (Art. 4(3) and (4)).
pub const DEFAULT_REDRESS: &str = "The hosting service provider and the content provider may challenge this order before the courts of the issuing Member State (Regulation (EU) 2021/784, Art. 9). They may also ask the competent authority of the Member State where the provider has its main establishment or legal representative to scrutinise the order (Art. 4(3) and (4)).";

/// What a referral's addressee is told of redress when the issuer says nothing: a referral is
/// not an order, so there is nothing to challenge; the platform decides under its own terms.
pub const REFERRAL_REDRESS: &str = "This is a referral, not a removal order: the platform decides under its own terms of service whether to remove the content, and the content provider contests that decision with the platform.";

/// One target as an issuer gives it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TargetRequest {
    /// The content's URL (canonicalised by the node).
    #[schema(max_length = 8192)]
    url: String,
    /// Its SHA-256, lowercase hex, if known.
    sha256: Option<String>,
}

/// `POST /v1/orders` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueRequest {
    /// The peer (platform) it is for, by name.
    #[schema(max_length = 64)]
    to: String,
    /// `removal_order` (default) or `referral`.
    #[schema(value_type = Option<String>)]
    kind: Option<OrderKind>,
    /// The authority's reference; made from the order id if not given.
    #[schema(max_length = 64)]
    reference: Option<String>,
    /// The content.
    targets: Vec<TargetRequest>,
    /// Art. 2(7) reasons: incite, solicit, solicit_participation, instruct, threaten.
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    reasons: Vec<Reason>,
    /// The statement of reasons (required for a removal order).
    #[serde(default)]
    statement: String,
    /// Further information that identifies and locates the content (a time in a video, a post's
    /// author).
    #[serde(default)]
    #[schema(max_length = 2000)]
    location: String,
    /// The legal basis; required for removal orders.
    #[serde(default)]
    legal_basis: String,
    /// Whether the platform may tell the content provider (default: yes).
    provider_may_be_told: Option<bool>,
    /// Until when it may not, Unix milliseconds.
    confidential_until: Option<u64>,
    /// Redress information; a default naming TCO Art. 9 if not given.
    redress: Option<String>,
    /// ISO 639-1 (default `en`).
    language: Option<String>,
    /// Why a first removal order to this platform cannot wait twelve hours after the
    /// information on procedures and deadlines (TCO Art. 3(2)).
    #[schema(max_length = 2000)]
    emergency: Option<String>,
}

/// The legal basis of a removal order when the issuer gives none: the Regulation itself
/// (Art. 3(4)(d)).
pub const DEFAULT_LEGAL_BASIS: &str = "Regulation (EU) 2021/784, Art. 3";

/// How long before its first removal order to a platform an authority gives it information on
/// its procedures and deadlines, unless in a duly justified emergency (TCO Art. 3(2), as
/// recorded in the project's legal notes; the stored EUR-Lex copies did not reach the article's
/// text, see `docs/legal.md`).
pub const FIRST_ORDER_NOTICE_MS: i64 = 12 * 3_600_000;

/// An order as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderView {
    /// Its id (a ULID).
    id: String,
    /// `issued` (by this node) or `received`.
    side: String,
    /// `removal_order` or `referral`.
    kind: String,
    /// The authority's reference.
    reference: String,
    /// Where it stands: `issued`, `delivered`, `received`, ...
    state: String,
    /// The other node's key fingerprint.
    peer: String,
    /// When it was issued, Unix milliseconds.
    issued_at: i64,
    /// When its state last changed, Unix milliseconds.
    updated_at: i64,
    /// When the platform received it (its clock), Unix milliseconds; absent until then.
    #[serde(skip_serializing_if = "Option::is_none")]
    received_at: Option<i64>,
    /// When the platform removed the content, by the platform's clock like `received_at` (on
    /// the authority's side, as its feedback says), so that the time between them does not
    /// depend on the two nodes' clocks agreeing; absent until then.
    #[serde(skip_serializing_if = "Option::is_none")]
    removed_at: Option<i64>,
    /// A message about this order that the peer refused (`state: refused`, never retried) or
    /// that has been failing for minutes (`failing`), with the kind of message, the peer and
    /// what it answered; absent when every message got through or is still being tried.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    delivery_problem: Option<serde_json::Value>,
    /// For a removal order: one hour after receipt (TCO Art. 3(3)).
    #[serde(skip_serializing_if = "Option::is_none")]
    deadline_at: Option<i64>,
    /// Past the deadline with no outcome yet.
    overdue: bool,
}

/// The one hour a platform has from receipt (TCO Art. 3(3)), in milliseconds.
pub const DEADLINE_MS: i64 = 3_600_000;

impl From<tocsin_store::OrderRow> for OrderView {
    fn from(o: tocsin_store::OrderRow) -> Self {
        let deadline_at = if o.kind == "removal_order" { o.received_at.map(|r| r + DEADLINE_MS) } else { None };
        let overdue = deadline_at.is_some_and(|d| now_ms() as i64 > d)
            && !o.state.parse::<tocsin_model::OrderState>().is_ok_and(tocsin_model::OrderState::is_settled);
        Self {
            id: o.id,
            side: o.side,
            kind: o.kind,
            reference: o.reference,
            state: o.state,
            peer: o.peer,
            issued_at: o.issued_at,
            updated_at: o.updated_at,
            received_at: o.received_at,
            removed_at: o.removed_at,
            delivery_problem: o.delivery_problem.as_deref().and_then(|p| serde_json::from_str(p).ok()),
            deadline_at,
            overdue,
        }
    }
}

/// One step of an order's timeline.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventView {
    /// Unix milliseconds.
    at: i64,
    /// `issued`, `delivered`, `received`, ...
    event: String,
    /// Its particulars (for `delivered`: the receiver's time of receipt and its signed receipt).
    #[schema(value_type = Object)]
    detail: serde_json::Value,
}

/// An order, its fields and its timeline.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderDetail {
    #[serde(flatten)]
    summary: OrderView,
    /// The order's fields as issued.
    #[schema(value_type = Object)]
    order: serde_json::Value,
    /// What happened to it, in order.
    timeline: Vec<EventView>,
    /// What the platform preserved (on the platform's node).
    evidence: Vec<EvidenceView>,
    /// The issuing authority's request to keep the content beyond six months (on the platform's
    /// node): `reason`, `requested_at` and, once released, `released_at`; absent if none.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    preservation_hold: Option<serde_json::Value>,
}

/// What the platform preserved of one target.
#[derive(Debug, Serialize, ToSchema)]
pub struct EvidenceView {
    /// The canonical URL.
    url: String,
    /// `preserved` or `failed`.
    status: String,
    /// SHA-256 of the content, hex: also the blob's name.
    sha256: Option<String>,
    /// MD5 of the content, hex.
    md5: Option<String>,
    /// Bytes.
    size: Option<i64>,
    /// As the origin gave it.
    content_type: Option<String>,
    /// PDQ hash, hex, for images.
    pdq: Option<String>,
    /// PDQ quality, 0 to 100.
    pdq_quality: Option<i64>,
    /// For a video: how many frames its vPDQ features (in the stay-down bank) hold.
    #[serde(skip_serializing_if = "Option::is_none")]
    vpdq_frames: Option<usize>,
    /// When it was fetched, Unix milliseconds.
    fetched_at: i64,
    /// Kept until, Unix milliseconds: the end of the day six calendar months after the removal
    /// (TCO Art. 6(2)), or later while the authority's preservation hold stands.
    retain_until: Option<i64>,
    /// Why it could not be preserved.
    error: Option<String>,
    /// What the platform's own systems hold on it (upload time, account), as its preservation
    /// webhook answered, or `{"error": ...}`; absent without a webhook.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    related_data: Option<serde_json::Value>,
}

impl From<tocsin_store::Evidence> for EvidenceView {
    fn from(e: tocsin_store::Evidence) -> Self {
        Self {
            url: e.url,
            status: e.status,
            sha256: e.sha256,
            md5: e.md5,
            size: e.size,
            content_type: e.content_type,
            pdq: e.pdq,
            pdq_quality: e.pdq_quality,
            vpdq_frames: e.vpdq.as_deref().map(|v| v.split(';').count()),
            fetched_at: e.fetched_at,
            retain_until: e.retain_until,
            error: e.error,
            related_data: e.related_data.as_deref().and_then(|r| serde_json::from_str(r).ok()),
        }
    }
}

/// Issues a removal order or referral to a peer; it is delivered at once and retried until the
/// peer's receipt comes back (issuer).
#[utoipa::path(post, path = "/v1/orders", tag = "orders", security(("bearer" = [])), request_body = IssueRequest,
    responses(
        (status = 201, description = "Issued and queued for delivery", body = OrderView),
        (status = 409, description = "No such peer, or fields are wrong: each named in `errors` (and together in the detail)", body = crate::node::problem::Body, content_type = "application/problem+json"),
    ))]
pub async fn issue(
    caller: Caller,
    Shared(state): Shared<Arc<State>>,
    body: JsonBody<IssueRequest>,
) -> Result<(StatusCode, Json<OrderView>), Problem> {
    caller.require(ISSUERS)?;
    let request = body.parse()?;
    let mut faults = Vec::new();
    let peer = state.store.peers().await?.into_iter().find(|p| p.name == request.to);
    if peer.is_none() {
        let fault =
            if request.to.is_empty() { "required: the platform's peer name".to_owned() } else { format!("no peer {:?}", request.to) };
        faults.push(("to".to_owned(), fault));
    }
    let id = new_id()?;
    let mut targets = Vec::with_capacity(request.targets.len());
    for t in request.targets {
        match CanonicalUrl::parse(&t.url) {
            Ok(url) => {
                let as_written = (url.as_str() != t.url).then(|| t.url.clone());
                targets.push(Target { url, sha256: t.sha256, as_written });
            }
            Err(e) => faults.push(("targets".to_owned(), format!("{:?}: {e}", t.url))),
        }
    }
    let kind = request.kind.unwrap_or(OrderKind::RemovalOrder);
    if let Some(peer) = &peer
        && kind == OrderKind::RemovalOrder
        && let Some(fault) = first_order_fault(&state, peer, request.emergency.as_deref()).await?
    {
        faults.push(("emergency".to_owned(), fault));
    }
    // Annex I sections A, D, E, F and G, from this node's particulars and the platform's.
    let annex = match &peer {
        Some(peer) => tocsin_model::AnnexSections::new(
            &crate::node::legal::own(&state).await?,
            &crate::node::legal::details(&state, &peer.fingerprint).await?,
        ),
        None => tocsin_model::AnnexSections::default(),
    };
    let legal_basis = if request.legal_basis.trim().is_empty() && kind == OrderKind::RemovalOrder {
        DEFAULT_LEGAL_BASIS.to_owned()
    } else {
        request.legal_basis
    };
    let fields = OrderFields {
        id,
        kind,
        reference: request.reference.unwrap_or_else(|| id.to_string()),
        issuing_authority: state.config.name.clone(),
        addressee: peer.as_ref().map_or_else(|| request.to.clone(), |p| p.name.clone()),
        issued_at: now_ms(),
        targets,
        reasons: request.reasons,
        statement: request.statement,
        location: request.location,
        legal_basis,
        provider_may_be_told: request.provider_may_be_told.unwrap_or(true),
        confidential_until: request.confidential_until,
        redress: request
            .redress
            .filter(|r| !r.trim().is_empty())
            .unwrap_or_else(|| if kind == OrderKind::Referral { REFERRAL_REDRESS } else { DEFAULT_REDRESS }.to_owned()),
        language: request.language.unwrap_or_else(|| "en".to_owned()),
        emergency_justification: request.emergency.filter(|_| kind == OrderKind::RemovalOrder),
        annex,
    };
    // A URL that did not parse is left out of the fields, so "at least one URL" would repeat it.
    let url_faults = faults.iter().any(|(f, _)| f == "targets");
    faults.extend(
        fields
            .issue_faults()
            .into_iter()
            .map(|fault| {
                let (field, detail) = fault.into_parts();
                (field.to_owned(), detail)
            })
            .filter(|(f, _)| !(url_faults && f == "targets")),
    );
    let (Some(peer), true) = (peer, faults.is_empty()) else { return Err(Problem::Fields(faults)) };
    let order = Order::new(fields).map_err(|e| Problem::Refused(e.to_string()))?;
    let message =
        if kind == OrderKind::RemovalOrder { Body::RemovalOrder(Box::new(order.clone())) } else { Body::Referral(Box::new(order.clone())) };
    let body = message.to_value();
    let jws = seal(&state, id, &peer.fingerprint, &message);
    let id_text = id.to_string();
    let kind_text = if kind == OrderKind::RemovalOrder { "removal_order" } else { "referral" };
    let new = tocsin_store::NewOrder {
        id: &id_text,
        kind: kind_text,
        reference: &order.reference,
        body: &body.to_string(),
        issued_at: order.issued_at as i64,
    };
    // Annex I section D: a cross-border order's copy goes, at the same time, to the authority
    // of the platform's Member State when it is a peer (TCO Art. 4(1)).
    let copy = match order.annex.cross_border {
        true => crate::node::legal::state_authority(
            &state,
            order.annex.provider.member_state.as_deref(),
            order.annex.issuing_member_state.as_deref(),
        )
        .await?
        .map(|authority| {
            let copy_id = new_id()?;
            let copy_jws = seal(&state, copy_id, &authority.fingerprint, &Body::OrderCopy(Box::new(order.clone())));
            Ok::<_, Problem>((copy_id.to_string(), authority.fingerprint, authority.url, copy_jws))
        })
        .transpose()?,
        false => None,
    };
    let copy = copy.as_ref().map(|(id, fp, url, jws)| (id.as_str(), fp.as_str(), url.as_str(), jws.as_str()));
    state.store.issue_order(new, &peer.fingerprint, &peer.url, &jws, copy).await?;
    state.outbox.notify_one();
    tracing::info!(order = %id_text, to = %peer.name, "order issued");
    let (row, _) = state.store.order(&id_text).await?.ok_or(Problem::Internal)?;
    Ok((StatusCode::CREATED, Json(row.into())))
}

/// Why a removal order may not be issued yet to `peer` (TCO Art. 3(2)), if it may not: it
/// would be this node's first there, and the platform has not had the information on procedures
/// and deadlines for twelve hours, and no emergency is given. An emergency given when none is
/// needed is refused too, so that the record does not claim one.
async fn first_order_fault(state: &State, peer: &tocsin_store::Peer, emergency: Option<&str>) -> Result<Option<String>, Problem> {
    let first = state.store.removal_orders_issued_to(&peer.fingerprint).await? == 0;
    let informed_at = state.store.informed_at(&peer.fingerprint).await?;
    let ready_at = informed_at.map(|at| at + FIRST_ORDER_NOTICE_MS);
    let waited = ready_at.is_some_and(|ready| now_ms() as i64 >= ready);
    Ok(match (first && !waited, emergency.is_some_and(|e| !e.trim().is_empty())) {
        (true, false) => Some(match ready_at {
            Some(ready) => format!(
                "a first removal order to {} may follow the information on procedures and deadlines by twelve hours (TCO Art. 3(2)): \
                 from {}, or now with an emergency justification",
                peer.name,
                crate::node::time::rfc3339_ms(ready)
            ),
            None => format!(
                "a first removal order to {} needs the information on procedures and deadlines twelve hours before \
                 (TCO Art. 3(2); `tocsin peer inform {}`), or an emergency justification",
                peer.name, peer.name
            ),
        }),
        (false, true) => Some(format!(
            "no emergency to justify: {} has had the information on procedures and deadlines for twelve hours, or orders before",
            peer.name
        )),
        _ => None,
    })
}

/// `POST /v1/orders/{id}/withdraw` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WithdrawRequest {
    /// Why, for the record.
    #[schema(max_length = 2000)]
    reason: String,
}

/// Withdraws an order: the platform is told and lifts its blocks (issuer).
#[utoipa::path(post, path = "/v1/orders/{id}/withdraw", tag = "orders", security(("bearer" = [])), request_body = WithdrawRequest,
    params(("id" = String, Path, description = "The order's id")),
    responses(
        (status = 200, description = "Withdrawn; the platform is being told", body = OrderView),
        (status = 409, description = "Not an order of this node, or withdrawn already", body = crate::node::problem::Body, content_type = "application/problem+json"),
    ))]
pub async fn withdraw(
    caller: Caller,
    Shared(state): Shared<Arc<State>>,
    Path(id): Path<String>,
    body: JsonBody<WithdrawRequest>,
) -> Result<Json<OrderView>, Problem> {
    caller.require(ISSUERS)?;
    let request = body.parse()?;
    bounded("reason", &request.reason, 2000)?;
    let order_id: tocsin_model::Ulid = id.parse().map_err(|_| Problem::Refused(format!("no order {id:?} of this node to withdraw")))?;
    let (row, _) = state.store.order(&id).await?.ok_or_else(|| Problem::Refused(format!("no order {id:?} of this node to withdraw")))?;
    let peer =
        state.store.peer_by_fingerprint(&row.peer).await?.ok_or_else(|| Problem::Refused("the platform is no longer a peer".to_owned()))?;
    let message_id = new_id()?;
    let withdrawal = Body::Withdrawal(WithdrawalBody { order_id: order_id.to_string(), reason: request.reason.clone() });
    let jws = seal(&state, message_id, &peer.fingerprint, &withdrawal);
    state.store.withdraw_order(&id, (&message_id.to_string(), &jws, &peer.url), &request.reason).await?;
    state.outbox.notify_one();
    tracing::info!(order = %id, "order withdrawn");
    let (row, _) = state.store.order(&id).await?.ok_or(Problem::Internal)?;
    Ok(Json(row.into()))
}

/// Every order, newest first (issuer, operator, reviewer, admin, oversight).
#[utoipa::path(get, path = "/v1/orders", operation_id = "list_orders", tag = "orders", security(("bearer" = [])),
    responses((status = 200, description = "Every order, newest first", body = [OrderView])))]
pub async fn list(caller: Caller, Shared(state): Shared<Arc<State>>) -> Result<Json<Vec<OrderView>>, Problem> {
    caller.require(READERS)?;
    Ok(Json(state.store.orders().await?.into_iter().map(OrderView::from).collect()))
}

/// One order with its fields and timeline (issuer, operator, reviewer, admin, oversight).
#[utoipa::path(get, path = "/v1/orders/{id}", operation_id = "show_order", tag = "orders", security(("bearer" = [])),
    params(("id" = String, Path, description = "The order's id")),
    responses(
        (status = 200, description = "The order", body = OrderDetail),
        (status = 404, description = "No such order", body = crate::node::problem::Body, content_type = "application/problem+json"),
    ))]
pub async fn show(caller: Caller, Shared(state): Shared<Arc<State>>, Path(id): Path<String>) -> Result<Json<OrderDetail>, Problem> {
    caller.require(READERS)?;
    if id.parse::<tocsin_model::Ulid>().is_err() {
        return Err(Problem::NotFound(format!("no order {id:?}")));
    }
    let (row, events) = state.store.order(&id).await?.ok_or_else(|| Problem::NotFound(format!("no order {id:?}")))?;
    let order = serde_json::from_str(&row.body).unwrap_or(serde_json::Value::Null);
    let timeline = events
        .into_iter()
        .map(|e| EventView { at: e.at, event: e.event, detail: serde_json::from_str(&e.detail).unwrap_or(serde_json::Value::Null) })
        .collect();
    let evidence = state.store.evidence(&id).await?.into_iter().map(EvidenceView::from).collect();
    let preservation_hold = state.store.preservation_hold(&id).await?.map(|(reason, requested_at, released_at)| {
        serde_json::json!({ "reason": reason, "requested_at": requested_at, "released_at": released_at })
    });
    Ok(Json(OrderDetail { summary: row.into(), order, timeline, evidence, preservation_hold }))
}

/// `POST /v1/orders/{id}/accept` and `/reject` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonRequest {
    /// Why, for the record (and, on a rejection, for the authority).
    #[schema(min_length = 1, max_length = 2000)]
    reason: String,
}

const REVIEWERS: &[&str] = &["reviewer", "operator"];

async fn review(
    state: &Arc<State>,
    caller: &Caller,
    id: &str,
    body: JsonBody<ReasonRequest>,
    accept: bool,
) -> Result<Json<OrderView>, Problem> {
    caller.require(REVIEWERS)?;
    let request = body.parse()?;
    bounded("reason", &request.reason, 2000)?;
    let (row, _) = state.store.order(id).await?.ok_or_else(|| Problem::NotFound(format!("no order {id:?}")))?;
    if accept {
        state.store.review_referral(id, "accepted", &caller.0.name, &request.reason, None).await?;
        state.orders.executor.notify_one();
    } else {
        let peer = state
            .store
            .peer_by_fingerprint(&row.peer)
            .await?
            .ok_or_else(|| Problem::Refused("the authority is no longer a peer".to_owned()))?;
        let body = FeedbackBody {
            order_id: id.to_owned(),
            state: "rejected".to_owned(),
            targets: Vec::new(),
            reason: Some(request.reason.clone()),
            particulars: Some(crate::orders::execution::answer_particulars(state, &row, false).await?),
        };
        let message_id = new_id()?;
        let jws = seal(state, message_id, &peer.fingerprint, &Body::Feedback(body));
        let message_id = message_id.to_string();
        state
            .store
            .review_referral(id, "rejected", &caller.0.name, &request.reason, Some((&message_id, &peer.fingerprint, &peer.url, &jws)))
            .await?;
        state.outbox.notify_one();
    }
    let (row, _) = state.store.order(id).await?.ok_or(Problem::Internal)?;
    Ok(Json(row.into()))
}

/// Accepts a referral after review: the platform then removes the content as for a removal
/// order (reviewer, operator).
#[utoipa::path(post, path = "/v1/orders/{id}/accept", tag = "orders", security(("bearer" = [])), request_body = ReasonRequest,
    params(("id" = String, Path, description = "The referral's id")),
    responses(
        (status = 200, description = "Accepted; removal follows", body = OrderView),
        (status = 404, description = "No such order", body = crate::node::problem::Body, content_type = "application/problem+json"),
        (status = 409, description = "Not a referral waiting for review", body = crate::node::problem::Body, content_type = "application/problem+json"),
    ))]
pub async fn accept(
    caller: Caller,
    Shared(state): Shared<Arc<State>>,
    Path(id): Path<String>,
    body: JsonBody<ReasonRequest>,
) -> Result<Json<OrderView>, Problem> {
    review(&state, &caller, &id, body, true).await
}

/// Rejects a referral after review: the content does not breach the platform's terms; the
/// authority is told why (reviewer, operator).
#[utoipa::path(post, path = "/v1/orders/{id}/reject", tag = "orders", security(("bearer" = [])), request_body = ReasonRequest,
    params(("id" = String, Path, description = "The referral's id")),
    responses(
        (status = 200, description = "Rejected; the authority is being told", body = OrderView),
        (status = 404, description = "No such order", body = crate::node::problem::Body, content_type = "application/problem+json"),
        (status = 409, description = "Not a referral waiting for review", body = crate::node::problem::Body, content_type = "application/problem+json"),
    ))]
pub async fn reject(
    caller: Caller,
    Shared(state): Shared<Arc<State>>,
    Path(id): Path<String>,
    body: JsonBody<ReasonRequest>,
) -> Result<Json<OrderView>, Problem> {
    review(&state, &caller, &id, body, false).await
}

/// The ground of the latest inability answer in an order's timeline, if there is one.
pub fn last_inability_ground(events: &[tocsin_store::OrderEvent]) -> Option<InabilityGround> {
    let answer = events.iter().rev().find(|e| e.event == "inability")?;
    let body: InabilityBody = serde_json::from_str(&answer.detail).ok()?;
    Some(body.ground)
}

/// `POST /v1/orders/{id}/inability` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InabilityRequest {
    /// The Annex III ground.
    ground: InabilityGround,
    /// Why, for the authority.
    #[schema(max_length = 2000)]
    explanation: String,
    /// Further grounds that also apply.
    #[serde(default)]
    also: Vec<InabilityGround>,
    /// What must be clarified, for a manifest error or missing information.
    #[serde(default)]
    #[schema(max_length = 2000)]
    clarification_needed: Option<String>,
}

/// `POST /v1/orders/{id}/clarify` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClarifyRequest {
    /// The clarification.
    #[schema(max_length = 5000)]
    text: String,
}

/// The stored names of the states from which `event` may happen on `side`, per the model's
/// state machine (the same for both kinds of order where this is used).
pub fn allowed_from(side: tocsin_model::Side, event: tocsin_model::OrderEvent) -> Vec<&'static str> {
    let mut states: Vec<&'static str> = [OrderKind::RemovalOrder, OrderKind::Referral]
        .into_iter()
        .flat_map(|kind| tocsin_model::OrderState::sources(side, kind, event))
        .map(tocsin_model::OrderState::as_str)
        .collect();
    states.sort_unstable();
    states.dedup();
    states
}

/// Refuses (409) a text field that is blank, longer than `max`, or holds control characters
/// other than line breaks (which PostgreSQL would refuse, for NUL, or logs would carry).
fn bounded(field: &str, text: &str, max: usize) -> Result<(), Problem> {
    if text.trim().is_empty() || text.chars().count() > max {
        Err(Problem::Refused(format!("{field}: 1 to {max} characters")))
    } else if text.chars().any(tocsin_model::is_hidden_control) {
        Err(Problem::Refused(format!("{field}: control characters are not allowed")))
    } else {
        Ok(())
    }
}

/// Answers that an order cannot be executed, on an Annex III ground (operator, reviewer). For a
/// manifest error or insufficient information, the authority may clarify, and the hour runs again.
#[utoipa::path(post, path = "/v1/orders/{id}/inability", tag = "orders", security(("bearer" = [])), request_body = InabilityRequest,
    params(("id" = String, Path, description = "The order's id")),
    responses(
        (status = 200, description = "Answered; the authority is being told", body = OrderView),
        (status = 404, description = "No such order", body = crate::node::problem::Body, content_type = "application/problem+json"),
        (status = 409, description = "Not an order waiting to be executed here", body = crate::node::problem::Body, content_type = "application/problem+json"),
    ))]
pub async fn inability(
    caller: Caller,
    Shared(state): Shared<Arc<State>>,
    Path(id): Path<String>,
    body: JsonBody<InabilityRequest>,
) -> Result<Json<OrderView>, Problem> {
    caller.require(REVIEWERS)?;
    let request = body.parse()?;
    bounded("explanation", &request.explanation, 2000)?;
    let (row, _) = state.store.order(&id).await?.ok_or_else(|| Problem::NotFound(format!("no order {id:?}")))?;
    if let Some(needed) = &request.clarification_needed {
        bounded("clarification_needed", needed, 2000)?;
    }
    let mut also = request.also;
    also.retain(|g| *g != request.ground);
    also.sort_by_key(|g| *g as u8);
    also.dedup();
    let answer = InabilityBody {
        order_id: id.clone(),
        ground: request.ground,
        explanation: request.explanation,
        also,
        clarification_needed: request.clarification_needed,
        particulars: Some(crate::orders::execution::answer_particulars(&state, &row, false).await?),
    };
    tell(
        &state,
        &row,
        &Body::Inability(answer.clone()),
        tocsin_store::Transition {
            order_id: &id,
            side: "received",
            from: &allowed_from(tocsin_model::Side::Received, tocsin_model::OrderEvent::Inability),
            to: "unable",
            event: "inability",
            detail: &serde_json::to_string(&answer).map_err(|_| Problem::Internal)?,
            restart_clock: None,
        },
    )
    .await
}

/// Answers a platform's inability (for a manifest error or insufficient information) with a
/// clarification; the platform's hour runs again from its receipt (issuer).
#[utoipa::path(post, path = "/v1/orders/{id}/clarify", tag = "orders", security(("bearer" = [])), request_body = ClarifyRequest,
    params(("id" = String, Path, description = "The order's id")),
    responses(
        (status = 200, description = "Sent", body = OrderView),
        (status = 404, description = "No such order", body = crate::node::problem::Body, content_type = "application/problem+json"),
        (status = 409, description = "The order is not awaiting a clarification", body = crate::node::problem::Body, content_type = "application/problem+json"),
    ))]
pub async fn clarify(
    caller: Caller,
    Shared(state): Shared<Arc<State>>,
    Path(id): Path<String>,
    body: JsonBody<ClarifyRequest>,
) -> Result<Json<OrderView>, Problem> {
    caller.require(ISSUERS)?;
    let request = body.parse()?;
    bounded("text", &request.text, 5000)?;
    let (row, events) = state.store.order(&id).await?.ok_or_else(|| Problem::NotFound(format!("no order {id:?}")))?;
    // Only a manifest error or missing information can be clarified (Art. 3(8)); force majeure
    // and impossibility cannot.
    // So can the targets of a partially executed order answered as manifest errors.
    let clarifiable = events.iter().rev().find(|e| e.event == "inability" || e.event == "feedback").is_some_and(|e| {
        let detail: serde_json::Value = serde_json::from_str(&e.detail).unwrap_or_default();
        matches!(detail["ground"].as_str(), Some("manifest_error" | "insufficient_information"))
            || detail["targets"].as_array().is_some_and(|ts| ts.iter().any(|t| t["action"] == "manifest_error"))
    });
    if !matches!(row.state.as_str(), "unable" | "partially_executed") || !clarifiable {
        return Err(Problem::Refused(format!("order {id} is not awaiting a clarification (a manifest error or insufficient information)")));
    }
    let clarification = ClarificationBody { order_id: id.clone(), text: request.text };
    tell(
        &state,
        &row,
        &Body::Clarification(clarification.clone()),
        tocsin_store::Transition {
            order_id: &id,
            side: "issued",
            from: &allowed_from(tocsin_model::Side::Issued, tocsin_model::OrderEvent::Clarification),
            to: "delivered",
            event: "clarification",
            detail: &serde_json::to_string(&clarification).map_err(|_| Problem::Internal)?,
            // The authority's copy is due an hour from the platform's receipt of this message.
            restart_clock: None,
        },
    )
    .await
}

/// `POST /v1/orders/{id}/resume` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResumeRequest {
    /// What changed, for the authority.
    #[schema(max_length = 2000)]
    explanation: String,
}

/// Tells the authority that the force majeure or de facto impossibility this platform answered
/// has ceased: the hour runs again from now, and the order is executed (operator, reviewer;
/// TCO Art. 3(7)).
#[utoipa::path(post, path = "/v1/orders/{id}/resume", tag = "orders", security(("bearer" = [])), request_body = ResumeRequest,
    params(("id" = String, Path, description = "The order's id")),
    responses(
        (status = 200, description = "Resumed; the authority is being told and the order is executed", body = OrderView),
        (status = 404, description = "No such order", body = crate::node::problem::Body, content_type = "application/problem+json"),
        (status = 409, description = "Not an order this platform answered with force majeure or impossibility", body = crate::node::problem::Body, content_type = "application/problem+json"),
    ))]
pub async fn resume(
    caller: Caller,
    Shared(state): Shared<Arc<State>>,
    Path(id): Path<String>,
    body: JsonBody<ResumeRequest>,
) -> Result<Json<OrderView>, Problem> {
    caller.require(REVIEWERS)?;
    let request = body.parse()?;
    bounded("explanation", &request.explanation, 2000)?;
    let (row, events) = state.store.order(&id).await?.ok_or_else(|| Problem::NotFound(format!("no order {id:?}")))?;
    if row.side != "received" || row.state != "unable" || !last_inability_ground(&events).is_some_and(InabilityGround::ceases) {
        return Err(Problem::Refused(format!("order {id} is not one this platform answered with force majeure or de facto impossibility")));
    }
    let ceased = GroundsCeasedBody { order_id: id.clone(), explanation: request.explanation };
    let view = tell(
        &state,
        &row,
        &Body::GroundsCeased(ceased.clone()),
        tocsin_store::Transition {
            order_id: &id,
            side: "received",
            from: &allowed_from(tocsin_model::Side::Received, tocsin_model::OrderEvent::GroundsCeased),
            to: "received",
            event: "grounds_ceased",
            detail: &serde_json::to_string(&ceased).map_err(|_| Problem::Internal)?,
            restart_clock: Some(now_ms() as i64),
        },
    )
    .await?;
    state.orders.executor.notify_one();
    Ok(view)
}

/// `POST /v1/orders/{id}/preservation` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreservationRequest {
    /// The proceedings (the authority's own, or a court's) that need the content kept, or why
    /// they no longer do.
    #[schema(max_length = 2000)]
    reason: String,
    /// Release an earlier request.
    #[serde(default)]
    release: bool,
}

/// Asks the platform to keep the content it removed on this order beyond six months, for as
/// long as proceedings need it, or releases that request (issuer; TCO Art. 6(2)).
#[utoipa::path(post, path = "/v1/orders/{id}/preservation", tag = "orders", security(("bearer" = [])), request_body = PreservationRequest,
    params(("id" = String, Path, description = "The order's id")),
    responses(
        (status = 200, description = "Sent; the platform keeps the content until released", body = OrderView),
        (status = 404, description = "No such order", body = crate::node::problem::Body, content_type = "application/problem+json"),
        (status = 409, description = "Not an order this node issued and the platform received", body = crate::node::problem::Body, content_type = "application/problem+json"),
    ))]
pub async fn preservation(
    caller: Caller,
    Shared(state): Shared<Arc<State>>,
    Path(id): Path<String>,
    body: JsonBody<PreservationRequest>,
) -> Result<Json<OrderView>, Problem> {
    caller.require(ISSUERS)?;
    let request = body.parse()?;
    bounded("reason", &request.reason, 2000)?;
    let (row, _) = state.store.order(&id).await?.ok_or_else(|| Problem::NotFound(format!("no order {id:?}")))?;
    if row.side != "issued" || row.state == "issued" {
        return Err(Problem::Refused(format!("order {id} is not one this node issued and the platform received")));
    }
    let peer =
        state.store.peer_by_fingerprint(&row.peer).await?.ok_or_else(|| Problem::Refused("the platform is no longer a peer".to_owned()))?;
    let asked = PreservationBody { order_id: id.clone(), reason: request.reason, release: request.release };
    let message_id = new_id()?;
    let jws = seal(&state, message_id, &peer.fingerprint, &Body::PreservationRequest(asked.clone()));
    let event = if asked.release { "preservation_released" } else { "preservation_held" };
    let detail = serde_json::json!({ "reason": asked.reason }).to_string();
    let message_id = message_id.to_string();
    state
        .store
        .note_and_maybe_tell(&id, event, &detail, Some((&message_id, &peer.fingerprint, &peer.url, "preservation_request", &jws)))
        .await?;
    state.outbox.notify_one();
    let (row, _) = state.store.order(&id).await?.ok_or(Problem::Internal)?;
    Ok(Json(row.into()))
}

/// Applies `transition` to this node's copy of `row` and tells the other node with a message of
/// `kind` carrying `body`.
async fn tell(
    state: &Arc<State>,
    row: &tocsin_store::OrderRow,
    body: &Body,
    transition: tocsin_store::Transition<'_>,
) -> Result<Json<OrderView>, Problem> {
    let peer = state
        .store
        .peer_by_fingerprint(&row.peer)
        .await?
        .ok_or_else(|| Problem::Refused("the other node is no longer a peer".to_owned()))?;
    let message_id = new_id()?;
    let jws = seal(state, message_id, &peer.fingerprint, body);
    let message_id = message_id.to_string();
    let kind_name = body.kind().name();
    state.store.transition_and_tell(&transition, (&message_id, &peer.fingerprint, &peer.url, kind_name, &jws)).await?;
    state.outbox.notify_one();
    let (row, _) = state.store.order(&row.id).await?.ok_or(Problem::Internal)?;
    Ok(Json(row.into()))
}

/// What the orders' handlers and workers share.
#[derive(Debug)]
pub struct Runtime {
    /// Wakes the executor when an order arrives.
    pub executor: tokio::sync::Notify,
    /// Wakes the preserver when URLs are blocked.
    pub preserver: tokio::sync::Notify,
    /// The blocked URLs.
    pub gate: gate::Gate,
}

impl Runtime {
    /// Nothing waiting yet, and an empty gate (`State::load_gate` fills it).
    pub fn new(config: &crate::Config) -> Self {
        Self {
            executor: tokio::sync::Notify::new(),
            preserver: tokio::sync::Notify::new(),
            gate: gate::Gate::new(config.case_insensitive_paths),
        }
    }
}

/// The orders API: issue, read, answer, withdraw, finality, the gate, information on procedures, for [`crate::api`] to merge.
pub(crate) fn routes() -> axum::Router<Arc<crate::State>> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/v1/peers/{name}/information", get(procedures::list).post(procedures::inform))
        .route("/v1/orders", get(list).post(issue))
        .route("/v1/orders/{id}", get(show))
        .route("/v1/orders/{id}/withdraw", post(withdraw))
        .route("/v1/orders/{id}/final", post(finality::record))
        .route("/v1/orders/final", get(finality::list))
        .route("/v1/orders/copies", get(finality::copies))
        .route("/v1/orders/{id}/accept", post(accept))
        .route("/v1/orders/{id}/reject", post(reject))
        .route("/v1/orders/{id}/inability", post(inability))
        .route("/v1/orders/{id}/clarify", post(clarify))
        .route("/v1/orders/{id}/resume", post(resume))
        .route("/v1/orders/{id}/preservation", post(preservation))
        .route("/v1/gate/check", get(gate::check))
        .route("/v1/gate/notice", get(gate::notice))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(kind: &str, state: &str, received_at: Option<i64>) -> tocsin_store::OrderRow {
        tocsin_store::OrderRow {
            id: "01M8NBJZ9R3XRCERC33TX8ZJ43".into(),
            side: "received".into(),
            peer: "fp".into(),
            kind: kind.into(),
            reference: "R".into(),
            body: "{}".into(),
            state: state.into(),
            issued_at: 0,
            updated_at: 0,
            received_at,
            removed_at: None,
            delivery_problem: None,
        }
    }

    #[test]
    fn a_removal_order_is_due_one_hour_after_receipt_and_overdue_only_while_unanswered() {
        let two_hours_ago = now_ms() as i64 - 2 * DEADLINE_MS;
        let late = OrderView::from(row("removal_order", "received", Some(two_hours_ago)));
        assert_eq!(late.deadline_at, Some(two_hours_ago + DEADLINE_MS));
        assert!(late.overdue);
        assert!(!OrderView::from(row("removal_order", "executed", Some(two_hours_ago))).overdue, "answered in the end");
        assert!(!OrderView::from(row("removal_order", "received", Some(now_ms() as i64))).overdue, "within the hour");
        let not_received = OrderView::from(row("removal_order", "issued", None));
        assert_eq!((not_received.deadline_at, not_received.overdue), (None, false), "the hour runs from receipt");
        let referral = OrderView::from(row("referral", "received", Some(two_hours_ago)));
        assert_eq!((referral.deadline_at, referral.overdue), (None, false), "referrals have no legal deadline");
    }
}
