//! TCO Art. 3(9) and 4(1): the copy of a cross-border removal order, and its becoming final.
//! A removal order becomes final when the time to appeal passes with no appeal,
//! or when an appeal confirms it. The issuing authority records that, and tells the competent
//! authority of the provider's Member State when that authority is another node it has
//! confirmed (final orders count towards a provider being "exposed" under Art. 5(4)). The other
//! authority keeps what it is told.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State as Shared};
use serde::{Deserialize, Serialize};
use tocsin_wire::Body;
pub use tocsin_wire::body::{FinalBasis, FinalBody};
use utoipa::ToSchema;

use crate::State;
use crate::node::accounts::Caller;
use crate::node::problem::{JsonBody, Problem};
use crate::node::time::now_ms;
use crate::node::{new_id, seal};

/// `POST /v1/orders/{id}/final` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FinalRequest {
    /// `unappealed` or `confirmed_on_appeal`.
    basis: FinalBasis,
    /// The particulars: the date the time to appeal ended, or the judgment.
    #[schema(max_length = 2000)]
    note: String,
}

/// Records that a removal order this node issued has become final, and tells the authority of
/// the provider's Member State when it is a confirmed peer of this node in another State
/// (issuer; TCO Art. 3(9)).
#[utoipa::path(post, path = "/v1/orders/{id}/final", tag = "orders", security(("bearer" = [])), request_body = FinalRequest,
    params(("id" = String, Path, description = "The order's id")),
    responses(
        (status = 200, description = "Recorded; the timeline names who was told", body = crate::orders::OrderView),
        (status = 404, description = "No such order", body = crate::node::problem::Body, content_type = "application/problem+json"),
        (status = 409, description = "Not a removal order this node issued, withdrawn, or final already", body = crate::node::problem::Body, content_type = "application/problem+json"),
    ))]
pub async fn record(
    caller: Caller,
    Shared(state): Shared<Arc<State>>,
    Path(id): Path<String>,
    body: JsonBody<FinalRequest>,
) -> Result<Json<crate::orders::OrderView>, Problem> {
    caller.require(&["issuer"])?;
    let request = body.parse()?;
    let note = request.note.trim();
    if note.is_empty() || note.chars().count() > 2000 || note.chars().any(tocsin_model::is_hidden_control) {
        return Err(Problem::Refused("note: 1 to 2000 characters, no control characters".to_owned()));
    }
    let (row, events) = state.store.order(&id).await?.ok_or_else(|| Problem::NotFound(format!("no order {id:?}")))?;
    if row.side != "issued" || row.kind != "removal_order" || row.state == "withdrawn" {
        return Err(Problem::Refused(format!("order {id} is not a removal order this node issued and still stands")));
    }
    if events.iter().any(|e| e.event == "final") {
        return Err(Problem::Refused(format!("order {id} is final already")));
    }
    let order: tocsin_model::Order = serde_json::from_str(&row.body).map_err(|_| Problem::Internal)?;
    let told = crate::node::legal::state_authority(
        &state,
        order.annex.provider.member_state.as_deref(),
        order.annex.issuing_member_state.as_deref(),
    )
    .await?;
    let body = FinalBody {
        order_id: id.clone(),
        reference: order.reference.clone(),
        issuing_member_state: order.annex.issuing_member_state.clone(),
        provider: order.addressee.clone(),
        provider_member_state: order.annex.provider.member_state.clone(),
        basis: request.basis,
        note: note.to_owned(),
        final_at: now_ms() as i64,
    };
    let detail = serde_json::json!({ "basis": body.basis, "note": body.note, "told": told.as_ref().map(|p| p.name.clone()) }).to_string();
    let message = match &told {
        Some(peer) => {
            let message_id = new_id()?;
            let jws = seal(&state, message_id, &peer.fingerprint, &Body::OrderFinal(body.clone()));
            Some((message_id.to_string(), peer.fingerprint.clone(), peer.url.clone(), jws))
        }
        None => None,
    };
    let message = message.as_ref().map(|(id, fp, url, jws)| (id.as_str(), fp.as_str(), url.as_str(), "order_final", jws.as_str()));
    state.store.note_and_maybe_tell(&id, "final", &detail, message).await?;
    state.outbox.notify_one();
    let (row, _) = state.store.order(&id).await?.ok_or(Problem::Internal)?;
    Ok(Json(row.into()))
}

/// A copy of a cross-border removal order another authority issued to a provider established
/// in this node's Member State.
#[derive(Debug, Serialize, ToSchema)]
pub struct CopyView {
    /// The issuing authority (peer name).
    authority: String,
    /// The order as issued.
    #[schema(value_type = Object)]
    order: serde_json::Value,
    /// When it arrived, Unix ms.
    received_at: i64,
}

/// The copies of cross-border removal orders other authorities sent this node, newest first
/// (issuer, admin, oversight; TCO Art. 4(1)).
#[utoipa::path(get, path = "/v1/orders/copies", operation_id = "list_order_copies", tag = "orders", security(("bearer" = [])),
    responses((status = 200, description = "Newest first", body = [CopyView])))]
pub async fn copies(caller: Caller, Shared(state): Shared<Arc<State>>) -> Result<Json<Vec<CopyView>>, Problem> {
    caller.require(&["issuer", "admin", "oversight"])?;
    let names = crate::node::peers::peer_names(&state).await?;
    let mut views = Vec::new();
    for (peer, jws, received_at) in state.store.inbox_of_kind("order_copy").await? {
        let Some(envelope) = tocsin_wire::stored(&jws) else { continue };
        views.push(CopyView { authority: names.get(&peer).cloned().unwrap_or(peer), order: envelope.body, received_at });
    }
    Ok(Json(views))
}

/// A final order another authority told this node of.
#[derive(Debug, Serialize, ToSchema)]
pub struct FinalView {
    /// The issuing authority (peer name).
    authority: String,
    /// What it said.
    #[serde(flatten)]
    body: FinalBody,
    /// When it arrived, Unix ms.
    received_at: i64,
}

/// The final removal orders other authorities told this node of, newest first (issuer,
/// admin, oversight).
#[utoipa::path(get, path = "/v1/orders/final", operation_id = "list_final_orders", tag = "orders", security(("bearer" = [])),
    responses((status = 200, description = "Newest first", body = [FinalView])))]
pub async fn list(caller: Caller, Shared(state): Shared<Arc<State>>) -> Result<Json<Vec<FinalView>>, Problem> {
    caller.require(&["issuer", "admin", "oversight"])?;
    let names = crate::node::peers::peer_names(&state).await?;
    let mut views = Vec::new();
    for (peer, jws, received_at) in state.store.inbox_of_kind("order_final").await? {
        let Some(envelope) = tocsin_wire::stored(&jws) else { continue };
        let Ok(body) = serde_json::from_value::<FinalBody>(envelope.body) else { continue };
        views.push(FinalView { authority: names.get(&peer).cloned().unwrap_or(peer), body, received_at });
    }
    Ok(Json(views))
}
