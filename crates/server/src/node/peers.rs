//! Peers: the nodes this node takes signed messages from. An admin adds one by URL and the
//! key fingerprint confirmed out of band; the node fetches the peer's `/.well-known/tocsin` and
//! refuses a key whose fingerprint differs, so nothing is ever trusted on first sight.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State as Shared};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use tocsin_wire::Jwk;
use utoipa::ToSchema;

use crate::State;
use crate::node::accounts::Caller;
use crate::node::problem::{JsonBody, Problem};

const ADMIN: &[&str] = &["admin"];

/// How long fetching a peer's identity may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

/// `POST /v1/peers` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPeer {
    /// The peer's base URL, `http://` or `https://`.
    #[schema(max_length = 2048)]
    url: String,
    /// The fingerprint of the peer's key, as its operator gave it out of band.
    #[schema(max_length = 128)]
    fingerprint: String,
    /// The parts the administrator confirms this peer plays, with its key (at least one):
    /// refused unless the peer announces each. A peer may send only what its confirmed parts
    /// send (an authority orders, a platform answers).
    #[schema(min_items = 1)]
    roles: Vec<crate::Role>,
    /// `auto` (default): its removal orders are executed at once if it is an authority;
    /// `review`: they wait for a reviewer.
    policy: Option<String>,
}

/// `POST /v1/peers/{name}/policy` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyRequest {
    /// `auto` or `review`.
    policy: String,
}

/// A peer as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct PeerView {
    /// The name in its `/.well-known/tocsin`.
    name: String,
    /// Its base URL.
    url: String,
    /// Its key's fingerprint.
    fingerprint: String,
    /// The parts it plays.
    roles: Vec<String>,
    /// When it was added, Unix seconds.
    added_at: i64,
    /// `auto` or `review`.
    policy: String,
    /// How far the peer's clock was ahead of this node's (negative: behind) at the last
    /// delivery to it, milliseconds; absent until then.
    #[serde(skip_serializing_if = "Option::is_none")]
    clock_skew_ms: Option<i64>,
}

impl From<tocsin_store::Peer> for PeerView {
    fn from(p: tocsin_store::Peer) -> Self {
        Self {
            name: p.name,
            url: p.url,
            fingerprint: p.fingerprint,
            roles: p.roles,
            added_at: p.added_at,
            policy: p.policy,
            clock_skew_ms: p.clock_skew_ms,
        }
    }
}

/// What is read of a peer's `/.well-known/tocsin`.
#[derive(Debug, Deserialize)]
struct RemoteIdentity {
    name: String,
    roles: Vec<String>,
    protocol_version: String,
    jwk: Jwk,
}

/// The base URL without trailing slashes; refused unless http or https with a host.
fn base_url(url: &str) -> Result<String, Problem> {
    let trimmed = url.trim().trim_end_matches('/');
    let rest = trimmed.strip_prefix("http://").or_else(|| trimmed.strip_prefix("https://"));
    match rest {
        Some(host) if !host.is_empty() && !trimmed.contains(['?', '#', ' ']) => Ok(trimmed.to_owned()),
        _ => Err(Problem::Refused(format!("peer URL {url:?}: an http:// or https:// base URL"))),
    }
}

fn fetch_identity(base: &str) -> Result<RemoteIdentity, String> {
    let agent: ureq::Agent = ureq::Agent::config_builder().timeout_global(Some(FETCH_TIMEOUT)).build().into();
    let url = format!("{base}/.well-known/tocsin");
    let mut response = agent.get(&url).call().map_err(|e| format!("GET {url}: {e}"))?;
    response.body_mut().read_json::<RemoteIdentity>().map_err(|e| format!("GET {url}: not a Tocsin identity document: {e}"))
}

/// The roles to keep for a peer: those the administrator confirmed, each of which the peer must
/// announce (an administrator who expects a platform and finds an authority has the wrong key or
/// the wrong node).
fn confirmed_roles(confirmed: &[crate::Role], announced: &[String]) -> Result<Vec<String>, Problem> {
    if confirmed.is_empty() {
        return Err(Problem::Fields(vec![("roles".to_owned(), "required: the parts you confirm this peer plays".to_owned())]));
    }
    let mut roles: Vec<String> = confirmed.iter().map(|r| r.as_str().to_owned()).collect();
    roles.sort_unstable();
    roles.dedup();
    if let Some(missing) = roles.iter().find(|r| !announced.contains(r)) {
        return Err(Problem::Refused(format!(
            "the peer announces {}, not {missing}: not added",
            if announced.is_empty() { "no role".to_owned() } else { announced.join(", ") }
        )));
    }
    Ok(roles)
}

/// Peer names by key fingerprint, for people (the API names peers by fingerprint).
pub(crate) async fn peer_names(state: &State) -> Result<std::collections::HashMap<String, String>, Problem> {
    Ok(state.store.peers().await?.into_iter().map(|p| (p.fingerprint, p.name)).collect())
}

/// A message a confirmed peer sent in a request header instead of to the inbox (`Tocsin-Pull`,
/// `Tocsin-Fetch`): signed by that peer's key, addressed to this node, read for its kind, and
/// dated within five minutes of this node's clock (a header proves who asks, now). `what` names
/// it in refusals. No header: 401.
pub(crate) async fn signed_header(
    state: &State,
    headers: &axum::http::HeaderMap,
    name: &str,
    what: &str,
) -> Result<(tocsin_wire::Message, tocsin_store::Peer), Problem> {
    const WINDOW_MS: u64 = 5 * 60 * 1000;
    let jws = headers.get(name).and_then(|v| v.to_str().ok()).ok_or(Problem::Unauthenticated)?.trim();
    let kid = tocsin_wire::unverified_header(jws)
        .map_err(|e| Problem::UntrustedMessage(e.to_string()))?
        .get("kid")
        .and_then(|k| k.as_str().map(str::to_owned))
        .ok_or_else(|| Problem::UntrustedMessage(format!("the {what} names no key")))?;
    let peer = state.store.peer_by_fingerprint(&kid).await?;
    let me = state.identity.jwk().thumbprint();
    let message = tocsin_wire::verify(jws, &me, |_| peer.as_ref().map(|p| p.jwk.clone()))?
        .read()
        .map_err(|e| Problem::UntrustedMessage(format!("the {what}: {e}")))?;
    let peer = peer.ok_or(Problem::Internal)?;
    if crate::node::time::now_ms().abs_diff(message.sent_at) > WINDOW_MS {
        return Err(Problem::UntrustedMessage(format!("the signed {what} is more than five minutes from this node's clock")));
    }
    Ok((message, peer))
}

/// What a peer with `roles` may send to this node's inbox: orders and what concerns them from an
/// authority, answers from a platform; a dispute from any peer (the store checks it subscribes to
/// the bank). Receipts and bank batches are never sent to an inbox.
pub(crate) fn may_send(roles: &[String], kind: tocsin_wire::Kind) -> bool {
    use tocsin_wire::Kind;
    let has = |role: &str| roles.iter().any(|r| r == role);
    match kind {
        Kind::RemovalOrder
        | Kind::Referral
        | Kind::Withdrawal
        | Kind::Clarification
        | Kind::ProcedureInformation
        | Kind::PreservationRequest
        | Kind::BlocklistNotice
        | Kind::OrderFinal
        | Kind::OrderCopy
        | Kind::DataRequest
        | Kind::RequestExtension
        | Kind::RequestNotification
        | Kind::NoGrounds => has("authority"),
        Kind::Feedback
        | Kind::Inability
        | Kind::GroundsCeased
        | Kind::RemovedContent
        | Kind::DataAnswer
        | Kind::DataRefusal
        | Kind::ThreatReport => has("platform"),
        Kind::Dispute => true,
        _ => false,
    }
}

/// Adds a peer after checking that the key at its URL has the confirmed fingerprint (admin).
#[utoipa::path(post, path = "/v1/peers", operation_id = "add_peer", tag = "peers", security(("bearer" = [])), request_body = NewPeer,
    responses(
        (status = 201, description = "Added", body = PeerView),
        (status = 409, description = "The key's fingerprint differs, the peer is this node, or it is already a peer", body = crate::node::problem::Body, content_type = "application/problem+json"),
        (status = 502, description = "The peer's identity could not be fetched", body = crate::node::problem::Body, content_type = "application/problem+json"),
    ))]
pub async fn add(
    caller: Caller,
    Shared(state): Shared<Arc<State>>,
    body: JsonBody<NewPeer>,
) -> Result<(StatusCode, Json<PeerView>), Problem> {
    caller.require(ADMIN)?;
    let request = body.parse()?;
    let base = base_url(&request.url)?;
    let fetched = {
        let base = base.clone();
        tokio::task::spawn_blocking(move || fetch_identity(&base)).await.map_err(|_| Problem::Internal)?
    };
    let remote = fetched.map_err(Problem::Upstream)?;
    let fingerprint = remote.jwk.thumbprint();
    if fingerprint != request.fingerprint.trim() {
        return Err(Problem::Refused(format!(
            "the key at {base} has fingerprint {fingerprint}, not {}: not added",
            request.fingerprint.trim()
        )));
    }
    if remote.jwk.verifying_key().is_err() {
        return Err(Problem::Refused(format!("the key at {base} is not an Ed25519 public key")));
    }
    if fingerprint == state.identity.jwk().thumbprint() {
        return Err(Problem::Refused("that is this node's own key".to_owned()));
    }
    if remote.protocol_version != crate::node::PROTOCOL_VERSION {
        return Err(Problem::Refused(format!("{base} speaks {}, this node {}", remote.protocol_version, crate::node::PROTOCOL_VERSION)));
    }
    let confirmed = confirmed_roles(&request.roles, &remote.roles)?;
    let peer = state.store.add_peer(&remote.name, &base, &remote.jwk, &confirmed, request.policy.as_deref().unwrap_or("auto")).await?;
    tracing::info!(peer = %peer.name, %fingerprint, "peer added");
    Ok((StatusCode::CREATED, Json(peer.into())))
}

/// Every peer, by name (admin).
#[utoipa::path(get, path = "/v1/peers", operation_id = "list_peers", tag = "peers", security(("bearer" = [])),
    responses((status = 200, description = "Every peer, by name (admin)", body = [PeerView])))]
pub async fn list(caller: Caller, Shared(state): Shared<Arc<State>>) -> Result<Json<Vec<PeerView>>, Problem> {
    caller.require(ADMIN)?;
    Ok(Json(state.store.peers().await?.into_iter().map(PeerView::from).collect()))
}

/// Sets how this node treats a peer's removal orders (admin).
#[utoipa::path(post, path = "/v1/peers/{name}/policy", tag = "peers", security(("bearer" = [])), request_body = PolicyRequest,
    params(("name" = String, Path, description = "The peer")),
    responses(
        (status = 204, description = "Set"),
        (status = 409, description = "No such peer, or not auto or review", body = crate::node::problem::Body, content_type = "application/problem+json"),
    ))]
pub async fn set_policy(
    caller: Caller,
    Shared(state): Shared<Arc<State>>,
    Path(name): Path<String>,
    body: JsonBody<PolicyRequest>,
) -> Result<StatusCode, Problem> {
    caller.require(ADMIN)?;
    let request = body.parse()?;
    state.store.set_peer_policy(&name, &request.policy).await?;
    state.orders.executor.notify_one();
    Ok(StatusCode::NO_CONTENT)
}

/// Removes a peer: its messages are refused from now on (admin).
#[utoipa::path(delete, path = "/v1/peers/{name}", tag = "peers", security(("bearer" = [])),
    params(("name" = String, Path, description = "The peer")),
    responses(
        (status = 204, description = "Removed"),
        (status = 409, description = "No such peer", body = crate::node::problem::Body, content_type = "application/problem+json"),
    ))]
pub async fn remove(caller: Caller, Shared(state): Shared<Arc<State>>, Path(name): Path<String>) -> Result<StatusCode, Problem> {
    caller.require(ADMIN)?;
    state.store.remove_peer(&name).await?;
    Ok(StatusCode::NO_CONTENT)
}
