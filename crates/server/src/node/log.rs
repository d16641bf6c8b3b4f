//! The Merkle log's endpoints, for the admin, oversight and auditor roles: the signed head, the
//! entries, and inclusion and consistency proofs (RFC 9162).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Query, State as Shared};
use serde::{Deserialize, Serialize};
use tocsin_ledger::{consistency_proof, inclusion_proof};
use tocsin_wire::TreeHead;
use utoipa::{IntoParams, ToSchema};

use crate::State;
use crate::node::accounts::Caller;
use crate::node::problem::Problem;

const READERS: &[&str] = &["admin", "oversight", "auditor"];

/// Entries given at most per request.
pub const PAGE: u64 = 1000;

/// The log's current size and root, signed now by the node's key.
///
/// `signature` is the node's Ed25519 signature (the key of `/.well-known/tocsin`), unpadded
/// base64url, over 68 bytes: the 19 ASCII bytes `tocsin tree head v1` and a line feed, `size` as
/// an unsigned 64-bit big-endian integer, the 32 raw bytes of `root` (RFC 9162 §2.1.1 tree hash,
/// not its hex), and `timestamp` (Unix milliseconds) as an unsigned 64-bit big-endian integer.
/// See docs/protocol.md.
#[utoipa::path(get, path = "/v1/log/head", tag = "log", security(("bearer" = [])),
    responses((status = 200, description = "The signed tree head (admin, oversight, auditor)", body = TreeHead)))]
pub async fn head(caller: Caller, Shared(state): Shared<Arc<State>>) -> Result<Json<TreeHead>, Problem> {
    caller.require(READERS)?;
    let (size, root) = state.store.log_head().await?;
    let timestamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
    let signature = state.identity.sign(&TreeHead::message(size, &root.0, timestamp));
    Ok(Json(TreeHead::new(size, &root.0, timestamp, &signature)))
}

/// `?start=&end=` of `GET /v1/log/entries`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct Range {
    /// The first entry's index.
    start: u64,
    /// One past the last entry's index (at most 1,000 entries are given a request).
    end: u64,
}

/// One entry as served.
#[derive(Debug, Serialize, ToSchema)]
pub struct Entry {
    /// Its index in the log.
    index: u64,
    /// The entry's bytes, base64url.
    data: String,
    /// The leaf hash stored with it, hex.
    leaf_hash: String,
}

/// Entries `start..end` of the log, at most 1,000 (fewer past the log's end).
#[utoipa::path(get, path = "/v1/log/entries", tag = "log", security(("bearer" = [])), params(Range),
    responses((status = 200, description = "The entries, in order (admin, oversight, auditor)", body = [Entry])))]
pub async fn entries(
    caller: Caller,
    Shared(state): Shared<Arc<State>>,
    range: Result<Query<Range>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Vec<Entry>>, Problem> {
    caller.require(READERS)?;
    let Query(range) = range.map_err(|e| Problem::BadQuery(e.body_text()))?;
    if range.end < range.start {
        return Err(Problem::BadQuery("end is before start".to_owned()));
    }
    // Clipped to the log, so that no index past it reaches the database.
    let (size, _) = state.store.log_head().await?;
    let end = range.end.min(range.start.saturating_add(PAGE)).min(size);
    let rows = state.store.log_rows(range.start.min(end), end).await?;
    Ok(Json(
        rows.into_iter()
            .map(|r| Entry { index: r.index, data: tocsin_wire::base64url_encode(&r.data), leaf_hash: r.leaf_hash.to_string() })
            .collect(),
    ))
}

/// A proof as served: its hashes in hex.
#[derive(Debug, Serialize, ToSchema)]
pub struct Proof {
    /// The proof's hashes, 64 hex digits each, in RFC 9162's order.
    proof: Vec<String>,
}

/// `?index=&size=` of the inclusion proof.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct InclusionQuery {
    /// The entry's index.
    index: u64,
    /// The size of the tree it is proved in (at most the log's size).
    size: u64,
}

/// An inclusion proof of entry `index` in the tree of the first `size` entries (RFC 9162 §2.1.3).
#[utoipa::path(get, path = "/v1/log/proof/inclusion", tag = "log", security(("bearer" = [])), params(InclusionQuery),
    responses((status = 200, description = "The proof (admin, oversight, auditor)", body = Proof)))]
pub async fn inclusion(
    caller: Caller,
    Shared(state): Shared<Arc<State>>,
    q: Result<Query<InclusionQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Proof>, Problem> {
    caller.require(READERS)?;
    let Query(q) = q.map_err(|e| Problem::BadQuery(e.body_text()))?;
    let leaves = leaves_up_to(&state, q.size).await?;
    proof_of(inclusion_proof(&leaves, q.index))
}

/// `?first=&second=` of the consistency proof.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ConsistencyQuery {
    /// The earlier tree's size.
    first: u64,
    /// The later tree's size (at most the log's size).
    second: u64,
}

/// A consistency proof between the trees of the first `first` and `second` entries (RFC 9162
/// §2.1.4).
#[utoipa::path(get, path = "/v1/log/proof/consistency", tag = "log", security(("bearer" = [])), params(ConsistencyQuery),
    responses((status = 200, description = "The proof (admin, oversight, auditor)", body = Proof)))]
pub async fn consistency(
    caller: Caller,
    Shared(state): Shared<Arc<State>>,
    q: Result<Query<ConsistencyQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Proof>, Problem> {
    caller.require(READERS)?;
    let Query(q) = q.map_err(|e| Problem::BadQuery(e.body_text()))?;
    let leaves = leaves_up_to(&state, q.second).await?;
    proof_of(consistency_proof(&leaves, q.first))
}

/// A proof as served, or the reason the parameters admit none.
fn proof_of(made: Result<Vec<tocsin_ledger::Hash>, tocsin_ledger::ProofError>) -> Result<Json<Proof>, Problem> {
    let proof = made.map_err(|e| Problem::BadQuery(e.to_string()))?;
    Ok(Json(Proof { proof: proof.iter().map(ToString::to_string).collect() }))
}

async fn leaves_up_to(state: &State, size: u64) -> Result<Vec<tocsin_ledger::Hash>, Problem> {
    let (current, _) = state.store.log_head().await?;
    if size > current {
        return Err(Problem::BadQuery(format!("the log has {current} entries")));
    }
    Ok(state.store.log_leaf_hashes(size).await?)
}
