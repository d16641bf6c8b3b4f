//! Bank sharing between nodes. A publisher lets chosen peers pull a bank
//! (`POST /v1/banks/{name}/subscribers`); a subscriber (`POST /v1/subscriptions`) keeps a local
//! copy and pulls `GET /v1/banks/{name}/changes?after=N` on a schedule, the request signed with
//! its node key (`Tocsin-Pull` header: a sealed `bank_pull` message) and the answer a sealed
//! `bank_changes` message signed by the publisher, which the subscriber verifies before it
//! applies anything. Provenance stays with the publisher (an order's id is no business of other
//! platforms): a copy's signals cite the exchange, the publisher and its signal number. A
//! subscriber's dispute goes back to the publisher as a signed `dispute` message; the publisher
//! marks the signal, and every subscriber gets the change with its next pull.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, Query, State as Shared};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tocsin_model::{BankAction, BankName, MAX_PDQ_THRESHOLD, Signal, SignalState, SignalType};
use tocsin_store::{RemoteSignal, Subscription};
use tocsin_wire::Body;
use tocsin_wire::body::{ChangesBody, DisputeBody, PullBody, SharedSignal};
use utoipa::{IntoParams, ToSchema};

use crate::State;
use crate::node::accounts::Caller;
use crate::node::blobs::hex;
use crate::node::problem::{JsonBody, Problem};
use crate::node::{new_id, seal};

/// Signals in one batch.
const BATCH: i64 = 10_000;
/// Bytes of signal values after which a batch ends (one signal more at most).
const BATCH_BYTES: usize = 32 << 20;
/// Signals read from the store at a time while a batch is made.
const PAGE: i64 = 500;
/// The header carrying a subscriber's signed pull request.
pub const PULL_HEADER: &str = "tocsin-pull";

/// A peer to publish to.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublishRequest {
    /// The peer's name (`tocsin peer list`).
    peer: String,
}

async fn peer_named(state: &State, name: &str) -> Result<tocsin_store::Peer, Problem> {
    let peers = state.store.peers().await?;
    peers
        .into_iter()
        .find(|p| p.name == name)
        .ok_or_else(|| Problem::NotFound(format!("no peer named {:?}", name.chars().take(64).collect::<String>())))
}

/// Lets a peer pull one of this node's banks (admin). Logged.
#[utoipa::path(post, path = "/v1/banks/{name}/subscribers", tag = "banks", security(("bearer" = [])),
    params(("name" = String, Path, description = "The bank")), request_body = PublishRequest,
    responses((status = 204, description = "Published"),
        (status = 404, description = "No such bank or peer", body = crate::node::problem::Body, content_type = "application/problem+json"),
        (status = 409, description = "Published to this peer already", body = crate::node::problem::Body, content_type = "application/problem+json")))]
pub async fn publish(
    caller: Caller,
    Shared(state): Shared<Arc<State>>,
    Path(name): Path<String>,
    body: JsonBody<PublishRequest>,
) -> Result<StatusCode, Problem> {
    caller.require(&["admin"])?;
    let body = body.parse()?;
    let name: BankName = name.parse().map_err(|_| Problem::NotFound("no such bank".to_owned()))?;
    let peer = peer_named(&state, &body.peer).await?;
    state.store.publish_bank(name.as_str(), &peer.fingerprint, &caller.0.name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Where a pull starts.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChangesQuery {
    /// The last change number the subscriber applied (0 at first).
    #[serde(default)]
    after: u64,
}

/// A batch of changes to a published bank, for a subscriber: the request must carry the
/// subscriber's signed pull (`Tocsin-Pull`), the answer is signed by this node
/// (`application/jose`).
#[utoipa::path(get, path = "/v1/banks/{name}/changes", tag = "banks",
    params(("name" = String, Path, description = "The bank"), ChangesQuery,
        ("Tocsin-Pull" = String, Header, description = "The subscriber's sealed `bank_pull` message for this bank and cursor")),
    responses((status = 200, description = "A sealed `bank_changes` message", body = String, content_type = "application/jose"),
        (status = 400, description = "A malformed cursor", body = crate::node::problem::Body, content_type = "application/problem+json"),
        (status = 401, description = "No signed pull request", body = crate::node::problem::Body, content_type = "application/problem+json"),
        (status = 403, description = "Not signed by a peer this bank is published to", body = crate::node::problem::Body, content_type = "application/problem+json")))]
pub async fn changes(
    Shared(state): Shared<Arc<State>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    query: Result<Query<ChangesQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<impl IntoResponse, Problem> {
    let Query(query) = query.map_err(|e| Problem::BadQuery(e.body_text()))?;
    let (message, peer) = crate::node::peers::signed_header(&state, &headers, PULL_HEADER, "pull request").await?;
    let wrong = || Problem::UntrustedMessage("the signed pull request is not for this bank and cursor".to_owned());
    let Body::BankPull(pull) = &message.body else { return Err(wrong()) };
    if pull.bank != name || pull.after != query.after {
        return Err(wrong());
    }
    if !state.store.is_subscriber(&name, &peer.fingerprint).await? {
        return Err(Problem::UntrustedMessage(format!("bank {name:?} is not published to this peer")));
    }
    let after = i64::try_from(query.after).map_err(|_| Problem::BadQuery("after: too large".to_owned()))?;
    // Pages of signals up to a batch's count or bytes (a video's features are up to 1.5 MB).
    let (mut rows, mut bytes, mut more) = (Vec::new(), 0usize, false);
    loop {
        let from = rows.last().map_or(after, |s: &tocsin_store::BankSignal| s.seq);
        let page = state.store.bank_signals(&name, from, PAGE).await?;
        let full = page.len() as i64 == PAGE;
        for s in page {
            if rows.len() as i64 == BATCH || (bytes >= BATCH_BYTES && !rows.is_empty()) {
                more = true;
                break;
            }
            bytes += s.signal.value().len();
            rows.push(s);
        }
        if more || !full {
            break;
        }
    }
    let through = rows.last().map_or(query.after, |s| s.seq as u64);
    let signals = rows
        .iter()
        .map(|s| SharedSignal {
            num: s.num,
            kind: s.signal.kind().as_str().to_owned(),
            value: s.signal.value().to_owned(),
            labels: s.labels.clone(),
            state: s.state,
        })
        .collect();
    let body = Body::BankChanges(ChangesBody { bank: name, after: query.after, through, more, signals });
    let sealed = seal(&state, new_id()?, &peer.fingerprint, &body);
    Ok(([(header::CONTENT_TYPE, "application/jose")], sealed))
}

/// A remote bank to follow.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscribeRequest {
    /// The publishing peer's name.
    peer: String,
    /// The bank's name at the publisher.
    bank: String,
    /// The local copy's name (`PEER.BANK`, lower-cased, when left out).
    #[serde(default)]
    name: Option<String>,
    /// What a match in the copy calls for here: `block` (the default), `review` or `report`.
    #[serde(default)]
    action: Option<String>,
    /// PDQ threshold here (31 when left out).
    #[serde(default)]
    pdq_threshold: Option<u32>,
    /// How videos match here: `query` (the default) or `target`.
    #[serde(default)]
    #[schema(pattern = "^(query|target)$")]
    video_share: Option<String>,
    /// The share of frames a video match needs, 1 to 100 (80 when left out).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 100)]
    video_percent: Option<u32>,
}

/// A subscription, as shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct SubscriptionView {
    /// The local copy.
    bank: String,
    /// The publisher's key fingerprint.
    peer: String,
    /// The bank's name at the publisher.
    remote_bank: String,
    /// The publisher's change number applied up to.
    cursor: i64,
    /// When the last pull succeeded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pulled_at: Option<String>,
    /// Why the last pull failed, if it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

impl From<Subscription> for SubscriptionView {
    fn from(s: Subscription) -> Self {
        Self {
            bank: s.bank,
            peer: s.peer,
            remote_bank: s.remote_bank,
            cursor: s.cursor,
            pulled_at: s.pulled_at.map(crate::node::time::rfc3339_ms),
            error: s.error,
        }
    }
}

/// Follows a peer's published bank in a local copy (admin); the first pull starts at once.
#[utoipa::path(post, path = "/v1/subscriptions", tag = "banks", security(("bearer" = [])), request_body = SubscribeRequest,
    responses((status = 201, description = "Subscribed", body = SubscriptionView),
        (status = 404, description = "No such peer", body = crate::node::problem::Body, content_type = "application/problem+json"),
        (status = 409, description = "A bank of that name exists", body = crate::node::problem::Body, content_type = "application/problem+json")))]
pub async fn subscribe(
    caller: Caller,
    Shared(state): Shared<Arc<State>>,
    body: JsonBody<SubscribeRequest>,
) -> Result<(StatusCode, Json<SubscriptionView>), Problem> {
    caller.require(&["admin"])?;
    let body = body.parse()?;
    let bad = |detail: String| Problem::BadBody(StatusCode::UNPROCESSABLE_ENTITY, detail);
    let remote: BankName = body.bank.parse().map_err(|e: tocsin_model::BankError| bad(e.to_string()))?;
    let peer = peer_named(&state, &body.peer).await?;
    let local = body.name.unwrap_or_else(|| format!("{}.{}", peer.name.to_ascii_lowercase(), remote.as_str()));
    let local: BankName = local.parse().map_err(|e: tocsin_model::BankError| bad(e.to_string()))?;
    let action: BankAction = body.action.as_deref().unwrap_or("block").parse().map_err(|e: tocsin_model::BankError| bad(e.to_string()))?;
    let pdq_threshold = body.pdq_threshold.unwrap_or(tocsin_model::DEFAULT_PDQ_THRESHOLD);
    if pdq_threshold > MAX_PDQ_THRESHOLD {
        return Err(bad(format!("pdq_threshold: 0 to {MAX_PDQ_THRESHOLD}")));
    }
    let video = super::video_rule(body.video_share.as_deref(), body.video_percent)?;
    let description = format!("A copy of bank {} published by {}", remote.as_str(), peer.name);
    let new = tocsin_store::NewBank { name: local.clone(), description, action, pdq_threshold, video };
    state.store.subscribe(&new, &peer.fingerprint, remote.as_str(), &caller.0.name).await?;
    state.banks.pulls.notify_one();
    let sub = state.store.subscription(local.as_str()).await?.ok_or(Problem::Internal)?;
    Ok((StatusCode::CREATED, Json(sub.into())))
}

/// The banks this node follows, with how far each has been pulled.
#[utoipa::path(get, path = "/v1/subscriptions", tag = "banks", security(("bearer" = [])),
    responses((status = 200, description = "The subscriptions", body = [SubscriptionView])))]
pub async fn subscriptions(caller: Caller, Shared(state): Shared<Arc<State>>) -> Result<Json<Vec<SubscriptionView>>, Problem> {
    caller.require(&["admin", "operator", "reviewer", "issuer", "oversight"])?;
    Ok(Json(state.store.subscriptions().await?.into_iter().map(Into::into).collect()))
}

/// Disputes signal `num` of the local copy `sub`: marked disputed here and the publisher told.
pub(crate) async fn dispute_remote(
    state: &State,
    sub: &Subscription,
    num: i64,
    by: &str,
    reason: &str,
) -> Result<tocsin_store::BankSignal, Problem> {
    let signal = state
        .store
        .signals_by_num(&[num])
        .await?
        .into_iter()
        .find(|s| s.bank == sub.bank)
        .ok_or_else(|| Problem::NotFound(format!("bank {:?} has no signal {num}", sub.bank)))?;
    // The copy's provenance detail is `REMOTE_BANK #NUM`: the publisher's number.
    let remote_num: i64 = signal
        .provenance
        .detail
        .rsplit_once(" #")
        .and_then(|(_, n)| n.parse().ok())
        .ok_or_else(|| Problem::Refused(format!("signal {num} did not come from the publisher")))?;
    let peer = state
        .store
        .peer_by_fingerprint(&sub.peer)
        .await?
        .ok_or_else(|| Problem::Refused("the publisher is no longer a peer".to_owned()))?;
    let body = Body::Dispute(DisputeBody {
        bank: sub.remote_bank.clone(),
        num: remote_num,
        signal: signal.signal.clone(),
        reason: reason.to_owned(),
    });
    let id = new_id()?;
    let jws = seal(state, id, &peer.fingerprint, &body);
    let id = id.to_string();
    let changed = state.store.dispute_remote(&sub.bank, num, by, reason, (&id, &peer.fingerprint, &peer.url, "dispute", &jws)).await?;
    state.outbox.notify_one();
    Ok(changed)
}

/// Runs until the process ends: pulls every subscription when told of a new one, and every
/// [`crate::Config::bank_pull`].
pub async fn run_bank_puller(state: Arc<State>) {
    loop {
        match state.store.subscriptions().await {
            Ok(subs) => {
                for sub in subs {
                    if let Err(e) = pull(&state, &sub).await {
                        tracing::warn!(bank = %sub.bank, error = %e, "pulling a subscribed bank");
                        if let Err(e) = state.store.pull_failed(&sub.bank, &e).await {
                            tracing::warn!(error = %e, "recording a failed pull");
                        }
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "reading subscriptions"),
        }
        let _ = tokio::time::timeout(state.config.bank_pull, state.banks.pulls.notified()).await;
    }
}

/// Pulls one subscription until the publisher has nothing more.
async fn pull(state: &Arc<State>, sub: &Subscription) -> Result<(), String> {
    let mut cursor = sub.cursor;
    loop {
        let peer =
            state.store.peer_by_fingerprint(&sub.peer).await.map_err(|e| e.to_string())?.ok_or("the publisher is no longer a peer")?;
        let after = u64::try_from(cursor).map_err(|_| "a negative cursor")?;
        let request = Body::BankPull(PullBody { bank: sub.remote_bank.clone(), after });
        let request = seal(state, new_id().map_err(|_| "no randomness")?, &peer.fingerprint, &request);
        let url = format!("{}/v1/banks/{}/changes?after={after}", peer.url.trim_end_matches('/'), sub.remote_bank);
        let fetched = tokio::task::spawn_blocking(move || fetch(&url, &request)).await.map_err(|e| e.to_string())??;
        let me = state.identity.jwk().thumbprint();
        let message = tocsin_wire::open(&fetched, &me, |kid| (kid == peer.fingerprint).then(|| peer.jwk.clone()))
            .map_err(|e| format!("the batch: {e}"))?;
        let Body::BankChanges(batch) = message.body else { return Err("the batch is not the one asked for".to_owned()) };
        if batch.bank != sub.remote_bank || batch.after != after || batch.through < after {
            return Err("the batch is not the one asked for".to_owned());
        }
        let mut changes = Vec::with_capacity(batch.signals.len());
        for s in batch.signals {
            let kind: SignalType = s.kind.parse().map_err(|e: tocsin_model::BankError| format!("the batch: {e}"))?;
            let signal = Signal::new(kind, &s.value).map_err(|e| format!("the batch: {e}"))?;
            let labels = s.labels.checked().map_err(|e| format!("the batch: {e}"))?;
            changes.push(RemoteSignal { num: s.num, signal, labels, state: s.state });
        }
        let through = i64::try_from(batch.through).map_err(|_| "the batch's cursor is too large")?;
        let digest = hex(&Sha256::digest(fetched.as_bytes()));
        let applied = state.store.apply_pulled(&sub.bank, cursor, through, &changes, &digest).await.map_err(|e| e.to_string())?;
        if applied != tocsin_store::Applied::default() {
            tracing::info!(bank = %sub.bank, added = applied.added, changed = applied.changed, through, "pulled bank changes");
            crate::banks::follow_now(state).await;
        }
        cursor = through;
        if !batch.more {
            return Ok(());
        }
    }
}

/// `GET url` with the signed pull request; the publisher's sealed answer.
fn fetch(url: &str, request: &str) -> Result<String, String> {
    let agent: ureq::Agent =
        ureq::Agent::config_builder().timeout_global(Some(Duration::from_secs(60))).http_status_as_error(false).build().into();
    let mut response = agent.get(url).header(PULL_HEADER, request).call().map_err(|e| format!("GET {url}: {e}"))?;
    let status = response.status().as_u16();
    let text = response.body_mut().with_config().limit(256 << 20).read_to_string().map_err(|e| format!("GET {url}: {e}"))?;
    if status != 200 {
        return Err(format!("GET {url}: {status}: {}", text.chars().take(300).collect::<String>()));
    }
    Ok(text)
}

/// A change of a signal's state.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StateRequest {
    /// `active`, `disputed` or `withdrawn`.
    state: String,
    /// Why (kept in the log).
    reason: String,
}

// Here, with the rest of sharing, because on a copy of another node's bank a dispute also goes
// to its publisher.
/// Disputes, withdraws or reinstates a signal, with a reason; logged.
#[utoipa::path(post, path = "/v1/banks/{name}/signals/{num}/state", tag = "banks", security(("bearer" = [])),
    params(("name" = String, Path, description = "The bank"), ("num" = String, Path, description = "The signal's number")),
    request_body = StateRequest,
    responses((status = 200, description = "The signal now", body = crate::banks::SignalView), (status = 404, description = "No such bank or signal", body = crate::node::problem::Body, content_type = "application/problem+json")))]
pub async fn set_state(
    caller: Caller,
    Shared(state): Shared<Arc<State>>,
    Path((name, num)): Path<(String, String)>,
    body: JsonBody<StateRequest>,
) -> Result<Json<crate::banks::SignalView>, Problem> {
    caller.require(crate::banks::CURATORS)?;
    let name = crate::banks::bank_name(&name)?;
    let num: i64 = num
        .parse()
        .map_err(|_| Problem::NotFound(format!("bank {:?} has no signal {:?}", name.as_str(), num.chars().take(40).collect::<String>())))?;
    let body = body.parse()?;
    let bad = |detail: String| Problem::BadBody(axum::http::StatusCode::UNPROCESSABLE_ENTITY, detail);
    let new_state: SignalState = body.state.parse().map_err(|e: tocsin_model::BankError| bad(e.to_string()))?;
    crate::node::problem::printable("reason", &body.reason, 1, 1000)?;
    // A signal that keeps an order's content down is the order's: a reviewer or an operator who
    // disputed or withdrew it would let the content back without the authority; an admin may.
    if new_state != SignalState::Active && !caller.0.roles.iter().any(|r| r == "admin") {
        let signal = state.store.signals_by_num(&[num]).await?.into_iter().find(|s| s.bank == name.as_str());
        if signal.is_some_and(|s| s.provenance.source == "order") {
            return Err(Problem::Forbidden(&["admin"]));
        }
    }
    // A copy of another node's bank: a dispute goes to its publisher too; only the publisher
    // withdraws or reinstates.
    let changed = match state.store.subscription(name.as_str()).await? {
        Some(sub) if new_state == SignalState::Disputed => dispute_remote(&state, &sub, num, &caller.0.name, &body.reason).await?,
        Some(sub) => {
            return Err(Problem::Refused(format!(
                "bank {:?} is a copy of {}'s bank {:?}: only its publisher withdraws or reinstates signals; dispute instead",
                name.as_str(),
                sub.peer,
                sub.remote_bank
            )));
        }
        None => state.store.set_signal_state(name.as_str(), num, new_state, &caller.0.name, &body.reason).await?,
    };
    // Into the matcher before the answer: a lookup right after an addition sees it.
    crate::banks::follow_now(&state).await;
    Ok(Json((&changed).into()))
}
