//! Scan matches kept by the node: the list (with the queue of those a `review` bank flagged) and
//! a moderator's decision on one. A decided match's copy of the content is deleted once no
//! other waiting match needs it.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State as Shared};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::State;
use crate::node::accounts::Caller;
use crate::node::problem::{JsonBody, Problem};

const READERS: &[&str] = &["reviewer", "operator", "admin", "oversight"];
const MODERATORS: &[&str] = &["reviewer", "operator"];

/// A kept match.
#[derive(Debug, Serialize, ToSchema)]
pub struct MatchRecordView {
    /// Its id (a ULID).
    id: String,
    /// When, RFC 3339.
    at: String,
    /// `scan` (content sent) or `lookup` (hashes sent).
    source: String,
    /// `block`, `review` or `report`.
    verdict: String,
    /// The account that asked.
    account: String,
    /// SHA-256 of the scanned content.
    #[serde(skip_serializing_if = "Option::is_none")]
    sha256: Option<String>,
    /// Its content type, as sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    content_type: Option<String>,
    /// The matches, as the scan answered them.
    #[schema(value_type = Vec<Object>)]
    matches: serde_json::Value,
    /// `pending` (waiting for a moderator), `recorded`, `confirmed` or `cleared`.
    status: String,
    /// Who decided.
    #[serde(skip_serializing_if = "Option::is_none")]
    decided_by: Option<String>,
    /// When, RFC 3339.
    #[serde(skip_serializing_if = "Option::is_none")]
    decided_at: Option<String>,
    /// Why.
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

impl From<tocsin_store::ScanMatch> for MatchRecordView {
    fn from(m: tocsin_store::ScanMatch) -> Self {
        let (decided_by, decided_at, reason) = match m.decided {
            Some((by, at, why)) => (Some(by), Some(crate::node::time::rfc3339_ms(at)), Some(why)),
            None => (None, None, None),
        };
        Self {
            id: m.id,
            at: crate::node::time::rfc3339_ms(m.at),
            source: m.source,
            verdict: m.verdict,
            account: m.account,
            sha256: m.sha256,
            content_type: m.content_type,
            matches: serde_json::from_str(&m.matches).unwrap_or_default(),
            status: m.status,
            decided_by,
            decided_at,
            reason,
        }
    }
}

/// Which matches to list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MatchesQuery {
    /// Only those waiting for a moderator, oldest first.
    #[serde(default)]
    pending: bool,
    /// At most this many (default and most: 500).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
}

/// Kept matches, newest first; or the moderators' queue, oldest first (reviewer, operator,
/// admin, oversight).
#[utoipa::path(get, path = "/v1/matches", operation_id = "list_matches", tag = "banks", security(("bearer" = [])), params(MatchesQuery),
    responses((status = 200, description = "The matches", body = [MatchRecordView])))]
pub async fn list(
    caller: Caller,
    Shared(state): Shared<Arc<State>>,
    query: Result<Query<MatchesQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Vec<MatchRecordView>>, Problem> {
    caller.require(READERS)?;
    let Query(query) = query.map_err(|e| Problem::BadQuery(e.body_text()))?;
    let limit = query.limit.unwrap_or(500);
    if !(1..=500).contains(&limit) {
        return Err(Problem::BadQuery("limit: 1 to 500".to_owned()));
    }
    Ok(Json(state.store.scan_matches(query.pending, i64::from(limit)).await?.into_iter().map(Into::into).collect()))
}

/// What a moderator decided.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// The content is what the bank holds: the platform acts on it.
    Confirmed,
    /// A false match.
    Cleared,
}

/// `POST /v1/matches/{id}/decision` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionRequest {
    /// `confirmed` or `cleared`.
    decision: Decision,
    /// Why, for the record.
    #[schema(min_length = 1, max_length = 2000)]
    reason: String,
}

/// Decides a match waiting for review; logged (reviewer, operator).
#[utoipa::path(post, path = "/v1/matches/{id}/decision", tag = "banks", security(("bearer" = [])), request_body = DecisionRequest,
    params(("id" = String, Path, description = "The match")),
    responses(
        (status = 200, description = "Decided", body = MatchRecordView),
        (status = 404, description = "No such match", body = crate::node::problem::Body, content_type = "application/problem+json"),
        (status = 409, description = "Not waiting for review", body = crate::node::problem::Body, content_type = "application/problem+json"),
        (status = 422, description = "No decision, or a reason that is not 1 to 2000 printable characters", body = crate::node::problem::Body, content_type = "application/problem+json"),
    ))]
pub async fn decide(
    caller: Caller,
    Shared(state): Shared<Arc<State>>,
    Path(id): Path<String>,
    body: JsonBody<DecisionRequest>,
) -> Result<Json<MatchRecordView>, Problem> {
    caller.require(MODERATORS)?;
    let request = body.parse()?;
    // Checked before the store sees it: PostgreSQL refuses text with a NUL byte.
    crate::node::problem::printable("reason", &request.reason, 1, 2000)?;
    if id.parse::<tocsin_model::Ulid>().is_err() {
        return Err(Problem::NotFound(format!("no match {id:?}")));
    }
    let decision = match request.decision {
        Decision::Confirmed => "confirmed",
        Decision::Cleared => "cleared",
    };
    let decided = state.store.decide_match(&id, decision, &caller.0.name, &request.reason).await?;
    if let Some(sha256) = &decided.sha256
        && sha256.len() == 64
        && !state.store.match_content_pending(sha256).await?
    {
        let path = crate::node::blobs::review_path(&state.config.data, sha256);
        if let Err(e) = std::fs::remove_file(&path)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(error = %e, "a reviewed copy could not be deleted");
        }
    }
    tracing::info!(id = %id, decision, "match decided");
    Ok(Json(decided.into()))
}
