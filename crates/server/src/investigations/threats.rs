//! TCO Art. 14(5): a platform that finds terrorist content involving an imminent threat to life
//! tells the competent authority at once. It arrives at the authority's node as the loudest thing
//! it does: the escalation webhook fires once, with the message's receipt, and every console page
//! shows the report first until someone acknowledges it.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Json;
use axum::extract::{Path, State as Shared};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use tocsin_wire::Body;
use tocsin_wire::body::{ThreatFile, ThreatReportBody};
use utoipa::ToSchema;

use crate::State;
use crate::node::accounts::Caller;
use crate::node::problem::{JsonBody, Problem};
use crate::node::{new_id, seal};

/// Who reports threats at a platform.
const REPORTERS: &[&str] = &["operator", "reviewer"];
/// Who acknowledges them at an authority.
const RESPONDERS: &[&str] = &["issuer", "admin"];
/// Who reads them.
const READERS: &[&str] = &["issuer", "validator", "operator", "reviewer", "admin", "oversight"];

/// A threat report as a platform's operator fills it in.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewThreat {
    /// The authority's peer name.
    to: String,
    /// Where the content is.
    url: String,
    /// When it was published: RFC 3339 with its offset, when known.
    #[serde(default)]
    published_at: Option<String>,
    /// Why it involves an imminent threat to life.
    reason: String,
    /// What helps locate the person.
    #[serde(default)]
    location: String,
    /// The content, when small (at most 32 KiB): its name and bytes, base64url.
    #[serde(default)]
    file: Option<NewThreatFile>,
}

/// Content sent with a report.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewThreatFile {
    /// Its name.
    name: String,
    /// Its bytes, base64url (padding allowed).
    content_base64url: String,
}

/// A threat report as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ThreatView {
    /// The message's id.
    id: String,
    /// `sent` or `received`.
    side: String,
    /// The other node's name.
    peer: String,
    /// The report.
    #[schema(value_type = Object)]
    report: serde_json::Value,
    /// When it was sent or received, Unix ms.
    created_at: i64,
    /// When it was acknowledged, Unix ms.
    acknowledged_at: Option<i64>,
    /// By whom.
    acknowledged_by: Option<String>,
}

/// A report as the API shows it, naming its peer from `peers` (loaded once for a list).
fn view(row: tocsin_store::ThreatRow, peers: &[tocsin_store::Peer]) -> ThreatView {
    let peer = peers.iter().find(|p| p.fingerprint == row.peer).map_or(row.peer, |p| p.name.clone());
    ThreatView {
        id: row.id,
        side: row.side,
        peer,
        report: serde_json::from_str(&row.body).unwrap_or_default(),
        created_at: row.created_at,
        acknowledged_at: row.acknowledged_at,
        acknowledged_by: row.acknowledged_by,
    }
}

/// Reports content involving an imminent threat to life to an authority (platform operator).
#[utoipa::path(post, path = "/v1/threats", operation_id = "report_threat", tag = "investigations", security(("bearer" = [])), request_body = NewThreat,
    responses(
        (status = 201, description = "Sent", body = ThreatView),
        (status = 409, description = "A field is wrong, or the peer is not an authority", body = crate::node::problem::Body, content_type = "application/problem+json"),
    ))]
pub async fn report(
    caller: Caller,
    Shared(state): Shared<Arc<State>>,
    body: JsonBody<NewThreat>,
) -> Result<(StatusCode, Json<ThreatView>), Problem> {
    caller.require(REPORTERS)?;
    let new = body.parse()?;
    let peer = state
        .store
        .peers()
        .await?
        .into_iter()
        .find(|p| p.name == new.to && p.roles.iter().any(|r| r == "authority"))
        .ok_or_else(|| Problem::Fields(vec![("to".to_owned(), format!("no authority peer {:?}", new.to))]))?;
    let url = tocsin_model::CanonicalUrl::parse(&new.url).map_err(|e| Problem::Fields(vec![("url".to_owned(), e.to_string())]))?;
    let file = match new.file {
        Some(f) => {
            use sha2::Digest;
            let bytes = tocsin_wire::base64url_decode(f.content_base64url.trim_end_matches('='))
                .map_err(|e| Problem::Fields(vec![("file".to_owned(), format!("not base64url: {e}"))]))?;
            let sha256 = crate::node::blobs::hex(&sha2::Sha256::digest(&bytes));
            Some(ThreatFile { name: f.name, sha256, content: tocsin_wire::base64url_encode(&bytes) })
        }
        None => None,
    };
    let report =
        ThreatReportBody { url: url.as_str().to_owned(), published_at: new.published_at, reason: new.reason, location: new.location, file };
    if let Some(fault) = report.fault() {
        let (field, why) = fault.split_once(": ").unwrap_or(("report", fault));
        return Err(Problem::Fields(vec![(field.to_owned(), why.to_owned())]));
    }
    let id = new_id()?;
    let json = serde_json::to_string(&report).map_err(|_| Problem::Internal)?;
    let sealed = seal(&state, id, &peer.fingerprint, &Body::ThreatReport(report));
    state
        .store
        .send_threat_report(&id.to_string(), &peer.fingerprint, &json, &caller.0.name, (&id.to_string(), &peer.url, &sealed))
        .await?;
    state.outbox.notify_one();
    let row = state.store.threat_report(&id.to_string()).await?.ok_or(Problem::Internal)?;
    Ok((StatusCode::CREATED, Json(view(row, &state.store.peers().await?))))
}

/// The threat reports, unacknowledged first.
#[utoipa::path(get, path = "/v1/threats", operation_id = "list_threats", tag = "investigations", security(("bearer" = [])),
    responses((status = 200, description = "The reports", body = Vec<ThreatView>)))]
pub async fn list(caller: Caller, Shared(state): Shared<Arc<State>>) -> Result<Json<Vec<ThreatView>>, Problem> {
    caller.require(READERS)?;
    let peers = state.store.peers().await?;
    Ok(Json(state.store.threat_reports().await?.into_iter().map(|row| view(row, &peers)).collect()))
}

/// Takes a threat report in hand (authority): it leaves the top of the console.
#[utoipa::path(post, path = "/v1/threats/{id}/acknowledge", operation_id = "acknowledge_threat", tag = "investigations", security(("bearer" = [])),
    params(("id" = String, Path, description = "The report")),
    responses(
        (status = 204, description = "Acknowledged"),
        (status = 409, description = "No unacknowledged report by that id", body = crate::node::problem::Body, content_type = "application/problem+json"),
    ))]
pub async fn acknowledge(caller: Caller, Shared(state): Shared<Arc<State>>, Path(id): Path<String>) -> Result<StatusCode, Problem> {
    caller.require(RESPONDERS)?;
    state.store.acknowledge_threat(&id, &caller.0.name).await?;
    recount(&state).await;
    Ok(StatusCode::NO_CONTENT)
}

/// Reads again how many reports wait, for the console's first line.
pub(crate) async fn recount(state: &State) {
    if let Ok(open) = state.store.open_threat_reports().await {
        state.investigations.open_threats.store(open, Ordering::Relaxed);
    }
}

/// The escalation webhook call for a report received from `from`.
pub(crate) fn escalation(state: &State, id: &str, from: &str, report: &ThreatReportBody) -> Option<(String, String, String, String)> {
    let url = state.config.escalation_webhook.as_deref()?;
    state.webhook_call(
        url,
        serde_json::json!({
            "event": "threat_report.received", "id": id, "from": from, "url": report.url,
            "published_at": report.published_at, "reason": report.reason, "location": report.location,
        }),
    )
}
