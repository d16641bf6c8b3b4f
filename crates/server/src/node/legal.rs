//! The legal particulars that fill an order's Annex I sections: this node's own (its Member
//! State, type, representative, contact details, the redress open against its orders) and each
//! peer's (its Member State, contact point, legal representative, its State's competent
//! authority), stated once by an admin and logged.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State as Shared};
use axum::http::StatusCode;
use tocsin_model::LegalDetails;

use crate::State;
use crate::node::accounts::Caller;
use crate::node::problem::{JsonBody, Problem};

const ADMIN: &[&str] = &["admin"];
const READERS: &[&str] = &["issuer", "operator", "reviewer", "admin", "oversight"];

/// The subject under which a node keeps its own particulars.
const SELF: &str = "self";

/// The particulars stored for `subject`, or none stated.
pub(crate) async fn details(state: &State, subject: &str) -> Result<LegalDetails, Problem> {
    Ok(match state.store.legal_details(subject).await? {
        Some(json) => serde_json::from_str(&json).map_err(|_| Problem::Internal)?,
        None => LegalDetails::default(),
    })
}

/// This node's own particulars.
pub(crate) async fn own(state: &State) -> Result<LegalDetails, Problem> {
    details(state, SELF).await
}

async fn set(state: &State, caller: &Caller, subject: &str, details: &LegalDetails) -> Result<(), Problem> {
    let faults = details.faults();
    if !faults.is_empty() {
        return Err(Problem::Fields(faults.into_iter().map(|e| (e.0.to_owned(), e.1)).collect()));
    }
    let json = serde_json::to_string(details).map_err(|_| Problem::Internal)?;
    state.store.set_legal_details(subject, &json, &caller.0.name).await?;
    Ok(())
}

async fn peer_fingerprint(state: &State, name: &str) -> Result<String, Problem> {
    let peer = state.store.peers().await?.into_iter().find(|p| p.name == name);
    Ok(peer.ok_or_else(|| Problem::NotFound(format!("no peer {name:?}")))?.fingerprint)
}

/// This node's particulars (issuer, operator, reviewer, admin, oversight).
#[utoipa::path(get, path = "/v1/legal", operation_id = "show_legal", tag = "peers", security(("bearer" = [])),
    responses((status = 200, description = "As stated (empty when nothing is)", body = Object)))]
pub async fn show(caller: Caller, Shared(state): Shared<Arc<State>>) -> Result<Json<LegalDetails>, Problem> {
    caller.require(READERS)?;
    Ok(Json(own(&state).await?))
}

/// States this node's particulars, replacing the earlier ones (admin).
#[utoipa::path(put, path = "/v1/legal", operation_id = "set_legal", tag = "peers", security(("bearer" = [])), request_body = Object,
    responses(
        (status = 204, description = "Stated"),
        (status = 409, description = "A particular is wrong: each named in `errors`", body = crate::node::problem::Body, content_type = "application/problem+json"),
    ))]
pub async fn put(caller: Caller, Shared(state): Shared<Arc<State>>, body: JsonBody<LegalDetails>) -> Result<StatusCode, Problem> {
    caller.require(ADMIN)?;
    set(&state, &caller, SELF, &body.parse()?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A peer's particulars (issuer, operator, reviewer, admin, oversight).
#[utoipa::path(get, path = "/v1/peers/{name}/legal", operation_id = "show_peer_legal", tag = "peers", security(("bearer" = [])),
    params(("name" = String, Path, description = "The peer")),
    responses(
        (status = 200, description = "As stated (empty when nothing is)", body = Object),
        (status = 404, description = "No such peer", body = crate::node::problem::Body, content_type = "application/problem+json"),
    ))]
pub async fn show_peer(caller: Caller, Shared(state): Shared<Arc<State>>, Path(name): Path<String>) -> Result<Json<LegalDetails>, Problem> {
    caller.require(READERS)?;
    let fingerprint = peer_fingerprint(&state, &name).await?;
    Ok(Json(details(&state, &fingerprint).await?))
}

/// States a peer's particulars, replacing the earlier ones (admin).
#[utoipa::path(put, path = "/v1/peers/{name}/legal", operation_id = "set_peer_legal", tag = "peers", security(("bearer" = [])), request_body = Object,
    params(("name" = String, Path, description = "The peer")),
    responses(
        (status = 204, description = "Stated"),
        (status = 404, description = "No such peer", body = crate::node::problem::Body, content_type = "application/problem+json"),
        (status = 409, description = "A particular is wrong: each named in `errors`", body = crate::node::problem::Body, content_type = "application/problem+json"),
    ))]
pub async fn put_peer(
    caller: Caller,
    Shared(state): Shared<Arc<State>>,
    Path(name): Path<String>,
    body: JsonBody<LegalDetails>,
) -> Result<StatusCode, Problem> {
    caller.require(ADMIN)?;
    let details = body.parse()?;
    let fingerprint = peer_fingerprint(&state, &name).await?;
    set(&state, &caller, &fingerprint, &details).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The confirmed peer that is the competent authority of `provider_state`, when that State is
/// known and is not this node's own: it gets the copy of a cross-border order and is told when
/// one becomes final.
pub(crate) async fn state_authority(
    state: &State,
    provider_state: Option<&str>,
    own_state: Option<&str>,
) -> Result<Option<tocsin_store::Peer>, Problem> {
    let Some(provider_state) = provider_state else { return Ok(None) };
    if own_state == Some(provider_state) {
        return Ok(None);
    }
    for peer in state.store.peers().await? {
        if peer.roles.iter().any(|r| r == "authority")
            && details(state, &peer.fingerprint).await?.member_state.as_deref() == Some(provider_state)
        {
            return Ok(Some(peer));
        }
    }
    Ok(None)
}
