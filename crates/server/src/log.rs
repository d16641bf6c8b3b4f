//! The Merkle log's endpoints, for the admin, oversight and auditor roles: the signed head, the
//! entries, and inclusion and consistency proofs (RFC 9162).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Query, State as Shared};
use serde::{Deserialize, Serialize};
use tocsin_ledger::{consistency_proof, inclusion_proof};
use tocsin_wire::TreeHead;

use crate::State;
use crate::accounts::Caller;
use crate::problem::Problem;

const READERS: &[&str] = &["admin", "oversight", "auditor"];

/// Entries given at most per request.
pub const PAGE: u64 = 1000;

/// `GET /v1/log/head`: the current size and root, signed now.
pub async fn head(caller: Caller, Shared(state): Shared<Arc<State>>) -> Result<Json<TreeHead>, Problem> {
    caller.require(READERS)?;
    let (size, root) = state.store.log_head().await?;
    let timestamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
    let signature = state.identity.sign(&TreeHead::message(size, &root.0, timestamp));
    Ok(Json(TreeHead::new(size, &root.0, timestamp, &signature)))
}

/// `?start=&end=` of `GET /v1/log/entries`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Range {
    start: u64,
    end: u64,
}

/// One entry as served.
#[derive(Debug, Serialize)]
pub struct Entry {
    index: u64,
    /// The entry's bytes, base64url.
    data: String,
    /// The leaf hash stored with it, hex.
    leaf_hash: String,
}

/// `GET /v1/log/entries?start=&end=`: at most [`PAGE`] entries from `start`.
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
    let end = range.end.min(range.start.saturating_add(PAGE));
    let rows = state.store.log_rows(range.start, end).await?;
    Ok(Json(
        rows.into_iter()
            .map(|r| Entry { index: r.index, data: tocsin_wire::base64url_encode(&r.data), leaf_hash: r.leaf_hash.to_string() })
            .collect(),
    ))
}

/// A proof as served: its hashes in hex.
#[derive(Debug, Serialize)]
pub struct Proof {
    proof: Vec<String>,
}

/// `?index=&size=` of the inclusion proof.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InclusionQuery {
    index: u64,
    size: u64,
}

/// `GET /v1/log/proof/inclusion?index=&size=`.
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
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyQuery {
    first: u64,
    second: u64,
}

/// `GET /v1/log/proof/consistency?first=&second=`.
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
