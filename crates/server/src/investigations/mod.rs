//! Investigations (the e-Evidence Regulation (EU) 2023/1543): an authority's investigator issues a
//! data request, a validator approves it where the law needs one (Art. 4), and it goes straight
//! to the platform's node as a signed message; the platform preserves at once through its
//! webhook and answers within 8 hours in an emergency or 10 days (Art. 10), with a package of
//! files encrypted to the authority's package key and a signed manifest, or on an Annex III
//! ground. A preservation request lapses after 60 days, 90 once extended (Art. 11).
//!
//! `mod.rs` is the API and what the inbox does with the kinds; `package.rs` moves the files;
//! `workers.rs` fetches packages, asks the data provider and lapses preservation requests.

pub mod package;
pub mod threats;
pub mod workers;

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State as Shared};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use tocsin_model::{DataCategory, DataRequest, Identifier, RequestFields, RequestInability, RequestKind};
use tocsin_store::{NewRequest, RequestEffect, RequestFile, RequestRow};
use tocsin_wire::body::{DataAnswerBody, DataRefusalBody, DataRequestBody, NoGroundsBody, RequestExtensionBody, RequestNotificationBody};
use tocsin_wire::manifest::{Manifest, ManifestFile};
use tocsin_wire::{Body, Message};
use utoipa::ToSchema;

use crate::State;
use crate::node::accounts::Caller;
use crate::node::problem::{JsonBody, Problem};
use crate::node::time::now_ms;
use crate::node::{new_id, seal};

/// Who issues and follows requests at an authority.
const INVESTIGATORS: &[&str] = &["issuer"];
/// Who validates them.
const VALIDATORS: &[&str] = &["validator"];
/// Who reads requests: investigators and validators at an authority, the response staff at a
/// platform, oversight.
const READERS: &[&str] = &["issuer", "validator", "operator", "admin", "oversight"];
/// Who answers them at a platform.
const RESPONDERS: &[&str] = &["operator"];
/// Who may read an answer package.
const PACKAGE_READERS: &[&str] = &["issuer", "validator"];
/// The header carrying an authority's signed `package_fetch`.
pub const FETCH_HEADER: &str = "tocsin-fetch";

/// The investigations' workers' wake-ups.
#[derive(Debug, Default)]
pub struct Runtime {
    /// Wakes the package fetcher (an answer's manifest came in).
    pub fetcher: tokio::sync::Notify,
    /// Wakes the data provider and lapse worker (a request came in, or was extended).
    pub requests: tokio::sync::Notify,
    /// How many received threat reports wait for acknowledgement (the console's first line).
    pub open_threats: std::sync::atomic::AtomicI64,
}

/// A new data request, as an investigator fills it in.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueRequest {
    /// The platform's peer name.
    to: String,
    /// `production` or `preservation`.
    kind: String,
    /// The categories of data (Art. 3): `subscriber`, `user_identification`, `traffic`, `content`.
    categories: Vec<String>,
    /// `TYPE:VALUE`: `account:NAME`, `url:URL`, `ip:ADDRESS@RFC3339-TIME`, `email:ADDRESS`, `phone:+NUMBER`.
    identifiers: Vec<String>,
    /// The offence under investigation.
    offence: String,
    /// The law the request is issued under.
    legal_basis: String,
    /// The authority's file reference (the id when absent).
    #[serde(default)]
    reference: Option<String>,
    /// Why it is an emergency (imminent threat to life, physical integrity or critical
    /// infrastructure): the answer is due in 8 hours.
    #[serde(default)]
    emergency: Option<String>,
    /// The enforcing State's authority notified at the same time (Art. 8), if any.
    #[serde(default)]
    enforcing_authority: Option<String>,
    /// The platform must not tell its user before this moment (RFC 3339 or a date).
    #[serde(default)]
    confidential_until: Option<String>,
}

/// A data request as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct RequestView {
    /// The id.
    id: String,
    /// `issued` or `received`.
    side: String,
    /// The other node's name.
    peer: String,
    /// `production` or `preservation`.
    kind: String,
    /// The file reference.
    reference: String,
    /// See the states in `docs/protocol.md`.
    state: String,
    /// The request's fields.
    #[schema(value_type = Object)]
    request: serde_json::Value,
    /// The investigator who issued it.
    issued_by: Option<String>,
    /// The validator who approved it.
    validated_by: Option<String>,
    /// When this node recorded it, Unix ms.
    created_at: i64,
    /// When the platform received it, Unix ms by its clock.
    received_at: Option<i64>,
    /// When the answer is due, Unix ms.
    deadline_at: Option<i64>,
    /// Until when the enforcing authority may object, Unix ms.
    objection_until: Option<i64>,
    /// When a preservation request lapses, Unix ms.
    lapses_at: Option<i64>,
    /// Whether it was extended.
    extended: bool,
    /// When it was answered, Unix ms.
    answered_at: Option<i64>,
    /// On a platform: when its systems took the preservation call, Unix ms.
    preserved_at: Option<i64>,
    /// Whether the platform may now tell its user (false before the confidentiality date).
    may_tell_user: bool,
    /// The signed manifest of the answer package.
    manifest: Option<String>,
    /// The refusal: `{ground, explanation}`.
    #[schema(value_type = Option<Object>)]
    refusal: Option<serde_json::Value>,
    /// The package's files.
    files: Vec<FileView>,
    /// The other node's public key, which signs its manifests.
    #[schema(value_type = Option<Object>)]
    peer_jwk: Option<serde_json::Value>,
}

/// One file of a package.
#[derive(Debug, Serialize, ToSchema)]
pub struct FileView {
    /// Its name.
    name: String,
    /// Its size in clear.
    size: i64,
    /// Its SHA-256 in clear.
    sha256: String,
    /// Its age file's SHA-256.
    age_sha256: String,
    /// Whether this node holds it.
    stored: bool,
}

/// A request as the API shows it, naming its peer from `peers` (loaded once for a list).
fn view(row: RequestRow, files: Vec<RequestFile>, peers: &[tocsin_store::Peer]) -> Result<RequestView, Problem> {
    let peer = peers.iter().find(|p| p.fingerprint == row.peer);
    let request: serde_json::Value = serde_json::from_str(&row.body).unwrap_or_default();
    let fields: RequestFields = serde_json::from_str(&row.body).map_err(|_| Problem::Internal)?;
    Ok(RequestView {
        may_tell_user: fields.may_tell_user(now_ms()),
        id: row.id,
        side: row.side,
        peer: peer.as_ref().map_or_else(|| row.peer.clone(), |p| p.name.clone()),
        kind: row.kind,
        reference: row.reference,
        state: row.state,
        request,
        issued_by: row.issued_by,
        validated_by: row.validated_by,
        created_at: row.created_at,
        received_at: row.received_at,
        deadline_at: row.deadline_at,
        objection_until: row.objection_until,
        lapses_at: row.lapses_at,
        extended: row.extended,
        answered_at: row.answered_at,
        preserved_at: row.preserved_at,
        manifest: row.manifest,
        refusal: row.refusal.and_then(|r| serde_json::from_str(&r).ok()),
        files: files
            .into_iter()
            .map(|f| FileView { name: f.name, size: f.size, sha256: f.sha256, age_sha256: f.age_sha256, stored: f.stored })
            .collect(),
        peer_jwk: peer.and_then(|p| serde_json::to_value(&p.jwk).ok()),
    })
}

/// One request as the API shows it, with its package's files.
async fn shown(state: &State, id: &str) -> Result<RequestView, Problem> {
    let (row, files) = load(state, id).await?;
    view(row, files, &state.store.peers().await?)
}

async fn load(state: &State, id: &str) -> Result<(RequestRow, Vec<RequestFile>), Problem> {
    state.store.data_request(id).await?.ok_or_else(|| Problem::NotFound(format!("no data request {id}")))
}

/// A moment given as RFC 3339 or a civil date (its start, UTC).
fn moment(field: &str, text: &str) -> Result<u64, (String, String)> {
    crate::node::time::parse_rfc3339_ms(text)
        .or_else(|| crate::node::time::parse_date_ms(text))
        .and_then(|ms| u64::try_from(ms).ok())
        .ok_or_else(|| (field.to_owned(), format!("{text:?}: an RFC 3339 time or a date (YYYY-MM-DD)")))
}

/// Issues a data request (investigator). One that needs validation (a production request for
/// traffic or content data) waits for a validator and does not leave the node until then.
#[utoipa::path(post, path = "/v1/requests", operation_id = "issue_request", tag = "investigations", security(("bearer" = [])), request_body = IssueRequest,
    responses(
        (status = 201, description = "Issued, or waiting for validation", body = RequestView),
        (status = 409, description = "A field is wrong", body = crate::node::problem::Body, content_type = "application/problem+json"),
    ))]
pub async fn issue(
    caller: Caller,
    Shared(state): Shared<Arc<State>>,
    body: JsonBody<IssueRequest>,
) -> Result<(StatusCode, Json<RequestView>), Problem> {
    caller.require(INVESTIGATORS)?;
    let request = body.parse()?;
    let mut faults: Vec<(String, String)> = Vec::new();
    let peer = state.store.peers().await?.into_iter().find(|p| p.name == request.to);
    if peer.is_none() {
        faults.push(("to".to_owned(), format!("no peer {:?}", request.to)));
    }
    let kind = request.kind.parse::<RequestKind>().map_err(|e| faults.push(("kind".to_owned(), e.to_string()))).ok();
    let categories: Vec<DataCategory> = request
        .categories
        .iter()
        .filter_map(|c| c.parse().map_err(|e: tocsin_model::RequestError| faults.push(("categories".to_owned(), e.to_string()))).ok())
        .collect();
    let identifiers: Vec<Identifier> = request
        .identifiers
        .iter()
        .filter_map(|i| Identifier::parse(i).map_err(|e| faults.push(("identifiers".to_owned(), e.to_string()))).ok())
        .collect();
    let confidential_until = request
        .confidential_until
        .as_deref()
        .map(|t| moment("confidential_until", t))
        .transpose()
        .map_err(|f| faults.push(f))
        .ok()
        .flatten();
    let id = new_id()?;
    let fields = RequestFields {
        id,
        kind: kind.unwrap_or(RequestKind::Production),
        reference: request.reference.unwrap_or_else(|| id.to_string()),
        issuing_authority: state.config.name.clone(),
        addressee: request.to.clone(),
        issued_at: now_ms(),
        categories,
        identifiers,
        offence: request.offence,
        legal_basis: request.legal_basis,
        emergency: request.emergency.filter(|e| !e.trim().is_empty()),
        validated_by: None,
        enforcing_authority: request.enforcing_authority.filter(|e| !e.trim().is_empty()),
        confidential_until,
    };
    faults.extend(fields.faults().into_iter().map(|e| match e {
        tocsin_model::RequestError::Field(f, why) => (f.to_owned(), why),
        other => ("request".to_owned(), other.to_string()),
    }));
    let Some(peer) = peer.filter(|_| faults.is_empty()) else { return Err(Problem::Fields(faults)) };
    let body = serde_json::to_string(&fields).map_err(|_| Problem::Internal)?;
    let reference = fields.reference.clone();
    let new = NewRequest {
        id: &id.to_string(),
        peer: &peer.fingerprint,
        kind: if fields.kind == RequestKind::Production { "production" } else { "preservation" },
        reference: &reference,
        body: &body,
        issued_by: &caller.0.name,
    };
    if fields.needs_validation() {
        state.store.issue_request(new, None, None, None).await?;
    } else {
        let request = DataRequest::new(fields).map_err(|e| Problem::Refused(e.to_string()))?;
        let notification = notification(&state, &request).await?;
        let jws = sealed_request(&state, &peer.fingerprint, request);
        let notify = notification.as_ref().map(|(fp, id, url, jws)| (fp.as_str(), (id.as_str(), url.as_str(), jws.as_str())));
        state.store.issue_request(new, None, Some((&id.to_string(), &peer.url, &jws)), notify).await?;
        state.outbox.notify_one();
    }
    Ok((StatusCode::CREATED, Json(shown(&state, &id.to_string()).await?)))
}

/// The notification of the enforcing authority (Art. 8), when the request names one of this
/// node's authority peers as its enforcing authority: its fingerprint, the message's id, its URL
/// and the sealed message.
async fn notification(state: &State, request: &DataRequest) -> Result<Option<(String, String, String, String)>, Problem> {
    let Some(name) = &request.enforcing_authority else { return Ok(None) };
    let peers = state.store.peers().await?;
    let Some(peer) = peers.into_iter().find(|p| &p.name == name && p.roles.iter().any(|r| r == "authority")) else { return Ok(None) };
    let id = new_id()?;
    let body = Body::RequestNotification(Box::new(RequestNotificationBody { request: request.clone() }));
    Ok(Some((peer.fingerprint.clone(), id.to_string(), peer.url.clone(), seal(state, id, &peer.fingerprint, &body))))
}

fn sealed_request(state: &State, to: &str, request: DataRequest) -> String {
    let id = request.id;
    let body = DataRequestBody { request, recipient: state.identity.package_recipient().to_string() };
    seal(state, id, to, &Body::DataRequest(Box::new(body)))
}

/// Validates a request that waits for it (validator): it names the validator and leaves the node.
#[utoipa::path(post, path = "/v1/requests/{id}/validate", operation_id = "validate_request", tag = "investigations", security(("bearer" = [])),
    params(("id" = String, Path, description = "The request")),
    responses(
        (status = 200, description = "Validated and sent", body = RequestView),
        (status = 404, description = "No such request", body = crate::node::problem::Body, content_type = "application/problem+json"),
        (status = 409, description = "Not waiting for validation", body = crate::node::problem::Body, content_type = "application/problem+json"),
    ))]
pub async fn validate(caller: Caller, Shared(state): Shared<Arc<State>>, Path(id): Path<String>) -> Result<Json<RequestView>, Problem> {
    caller.require(VALIDATORS)?;
    let (row, _) = load(&state, &id).await?;
    if row.state != "awaiting_validation" {
        return Err(Problem::Refused(format!("data request {id} is {}, not waiting for validation", row.state)));
    }
    let mut fields: RequestFields = serde_json::from_str(&row.body).map_err(|_| Problem::Internal)?;
    fields.validated_by = Some(caller.0.name.clone());
    let request = DataRequest::new(fields).map_err(|e| Problem::Refused(e.to_string()))?;
    let body = serde_json::to_string(&*request).map_err(|_| Problem::Internal)?;
    let peer =
        state.store.peer_by_fingerprint(&row.peer).await?.ok_or_else(|| Problem::Refused("the platform is no longer a peer".to_owned()))?;
    let notification = notification(&state, &request).await?;
    let notify = notification.as_ref().map(|(fp, id, url, jws)| (fp.as_str(), (id.as_str(), url.as_str(), jws.as_str())));
    let jws = sealed_request(&state, &peer.fingerprint, request);
    state.store.validate_request(&id, &caller.0.name, &body, (&id, &peer.url, &jws), notify).await?;
    state.outbox.notify_one();
    Ok(Json(shown(&state, &id).await?))
}

/// The data requests this node issued or received, newest first.
#[utoipa::path(get, path = "/v1/requests", operation_id = "list_requests", tag = "investigations", security(("bearer" = [])),
    responses((status = 200, description = "The requests", body = Vec<RequestView>)))]
pub async fn list(caller: Caller, Shared(state): Shared<Arc<State>>) -> Result<Json<Vec<RequestView>>, Problem> {
    caller.require(READERS)?;
    let peers = state.store.peers().await?;
    let views = state.store.data_requests(None).await?.into_iter().map(|row| view(row, Vec::new(), &peers)).collect::<Result<_, _>>()?;
    Ok(Json(views))
}

/// One data request, with its package's files.
#[utoipa::path(get, path = "/v1/requests/{id}", operation_id = "show_request", tag = "investigations", security(("bearer" = [])),
    params(("id" = String, Path, description = "The request")),
    responses(
        (status = 200, description = "The request", body = RequestView),
        (status = 404, description = "No such request", body = crate::node::problem::Body, content_type = "application/problem+json"),
    ))]
pub async fn show(caller: Caller, Shared(state): Shared<Arc<State>>, Path(id): Path<String>) -> Result<Json<RequestView>, Problem> {
    caller.require(READERS)?;
    Ok(Json(shown(&state, &id).await?))
}

/// Adds a file to the answer of a production request (operator): the body, in clear, is
/// encrypted to the authority as it arrives and kept only encrypted.
#[utoipa::path(put, path = "/v1/requests/{id}/files/{name}", operation_id = "add_answer_file", tag = "investigations", security(("bearer" = [])),
    params(("id" = String, Path, description = "The request"), ("name" = String, Path, description = "The file's name in the package")),
    request_body(description = "The file's bytes", content((String = "application/octet-stream"))),
    responses(
        (status = 201, description = "Sealed and listed for the answer", body = FileView),
        (status = 404, description = "No such request", body = crate::node::problem::Body, content_type = "application/problem+json"),
        (status = 409, description = "The request is not open, or the name is not a plain file name", body = crate::node::problem::Body, content_type = "application/problem+json"),
    ))]
pub async fn upload(
    caller: Caller,
    Shared(state): Shared<Arc<State>>,
    Path((id, name)): Path<(String, String)>,
    body: axum::body::Body,
) -> Result<(StatusCode, Json<FileView>), Problem> {
    caller.require(RESPONDERS)?;
    if !tocsin_wire::manifest::is_safe_name(&name) {
        return Err(Problem::Refused(format!("{name:?} is not a plain file name")));
    }
    let (row, _) = load(&state, &id).await?;
    if row.side != "received" || row.kind != "production" || row.state != "received" {
        return Err(Problem::Refused(format!("data request {id} is no open production request received here")));
    }
    let recipient = recipient_of(&row)?;
    let (reader, feed) = package::ChannelReader::from_body(body);
    let data = state.config.data.clone();
    let sealing = tokio::task::spawn_blocking(move || package::seal_file(&data, &recipient, reader));
    feed.await;
    let sealed =
        sealing.await.map_err(|_| Problem::Internal)?.map_err(|e| Problem::BadBody(StatusCode::BAD_REQUEST, format!("the file: {e}")))?;
    let file = RequestFile { name, size: sealed.size as i64, sha256: sealed.sha256, age_sha256: sealed.age_sha256, stored: true };
    state.store.stage_request_file(&id, &file).await?;
    Ok((
        StatusCode::CREATED,
        Json(FileView { name: file.name, size: file.size, sha256: file.sha256, age_sha256: file.age_sha256, stored: true }),
    ))
}

fn recipient_of(row: &RequestRow) -> Result<tocsin_wire::age::Recipient, Problem> {
    row.recipient.as_deref().and_then(|r| tocsin_wire::age::Recipient::parse(r).ok()).ok_or(Problem::Internal)
}

/// Sends the answer (operator): the files added so far, under a manifest signed by this node.
#[utoipa::path(post, path = "/v1/requests/{id}/answer", operation_id = "answer_request", tag = "investigations", security(("bearer" = [])),
    params(("id" = String, Path, description = "The request")),
    responses(
        (status = 200, description = "Answered; the package leaves now, or when the enforcing authority's objection window ends", body = RequestView),
        (status = 404, description = "No such request", body = crate::node::problem::Body, content_type = "application/problem+json"),
        (status = 409, description = "No files, or the request is not open", body = crate::node::problem::Body, content_type = "application/problem+json"),
    ))]
pub async fn answer(caller: Caller, Shared(state): Shared<Arc<State>>, Path(id): Path<String>) -> Result<Json<RequestView>, Problem> {
    caller.require(RESPONDERS)?;
    send_answer(&state, &id).await?;
    Ok(Json(shown(&state, &id).await?))
}

/// Seals the manifest of the staged files and queues the answer.
pub(crate) async fn send_answer(state: &State, id: &str) -> Result<(), Problem> {
    let (row, files) = load(state, id).await?;
    if files.is_empty() {
        return Err(Problem::Refused(format!("data request {id} has no files to answer with: add them first")));
    }
    let request_id: tocsin_wire::Ulid = id.parse().map_err(|_| Problem::NotFound(format!("no data request {id}")))?;
    let manifest = Manifest {
        request_id,
        recipient: recipient_of(&row)?.to_string(),
        sealed_at: now_ms(),
        files: files
            .iter()
            .map(|f| ManifestFile { name: f.name.clone(), size: f.size as u64, sha256: f.sha256.clone(), age_sha256: f.age_sha256.clone() })
            .collect(),
    };
    let jws = tocsin_wire::manifest::sign_manifest(&manifest, &state.identity.jwk().thumbprint(), |m| state.identity.sign(m));
    let peer = state
        .store
        .peer_by_fingerprint(&row.peer)
        .await?
        .ok_or_else(|| Problem::Refused("the authority is no longer a peer".to_owned()))?;
    let message_id = new_id()?;
    let sealed = seal(state, message_id, &peer.fingerprint, &Body::DataAnswer(DataAnswerBody { request_id, manifest: jws.clone() }));
    let due = row.objection_until.unwrap_or(0);
    state.store.answer_request(id, &jws, files.len(), (&message_id.to_string(), &peer.url, &sealed), due).await?;
    state.outbox.notify_one();
    Ok(())
}

/// A refusal on an Annex III ground.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Refusal {
    /// `cannot_identify`, `not_stored`, `de_facto_impossibility`, `manifest_error`,
    /// `not_competent` or `clarification_needed`.
    ground: String,
    /// What the platform could not find, or what must be clarified.
    explanation: String,
}

/// Refuses a request on an Annex III ground (operator).
#[utoipa::path(post, path = "/v1/requests/{id}/refuse", operation_id = "refuse_request", tag = "investigations", security(("bearer" = [])), request_body = Refusal,
    params(("id" = String, Path, description = "The request")),
    responses(
        (status = 200, description = "Refused; the authority is told", body = RequestView),
        (status = 404, description = "No such request", body = crate::node::problem::Body, content_type = "application/problem+json"),
        (status = 409, description = "Unknown ground, or the request is not open", body = crate::node::problem::Body, content_type = "application/problem+json"),
    ))]
pub async fn refuse(
    caller: Caller,
    Shared(state): Shared<Arc<State>>,
    Path(id): Path<String>,
    body: JsonBody<Refusal>,
) -> Result<Json<RequestView>, Problem> {
    caller.require(RESPONDERS)?;
    let refusal = body.parse()?;
    let ground: RequestInability = refusal.ground.parse().map_err(|e: tocsin_model::RequestError| Problem::Refused(e.to_string()))?;
    send_refusal(&state, &id, ground, &refusal.explanation).await?;
    Ok(Json(shown(&state, &id).await?))
}

pub(crate) async fn send_refusal(state: &State, id: &str, ground: RequestInability, explanation: &str) -> Result<(), Problem> {
    let (row, _) = load(state, id).await?;
    let request_id: tocsin_wire::Ulid = id.parse().map_err(|_| Problem::NotFound(format!("no data request {id}")))?;
    let body = DataRefusalBody { request_id, ground, explanation: explanation.to_owned() };
    if !body.holds() {
        return Err(Problem::Fields(vec![("explanation".to_owned(), "1 to 2,000 characters, no hidden control characters".to_owned())]));
    }
    let peer = state
        .store
        .peer_by_fingerprint(&row.peer)
        .await?
        .ok_or_else(|| Problem::Refused("the authority is no longer a peer".to_owned()))?;
    let message_id = new_id()?;
    let detail = serde_json::json!({ "ground": ground.name(), "explanation": explanation }).to_string();
    let sealed = seal(state, message_id, &peer.fingerprint, &Body::DataRefusal(body));
    state.store.refuse_request(id, &detail, ground.name(), (&message_id.to_string(), &peer.url, &sealed)).await?;
    state.outbox.notify_one();
    Ok(())
}

/// Extends a preservation request once by 30 days (investigator; Art. 11).
#[utoipa::path(post, path = "/v1/requests/{id}/extend", operation_id = "extend_request", tag = "investigations", security(("bearer" = [])),
    params(("id" = String, Path, description = "The preservation request")),
    responses(
        (status = 200, description = "Extended; the platform is told", body = RequestView),
        (status = 404, description = "No such request", body = crate::node::problem::Body, content_type = "application/problem+json"),
        (status = 409, description = "Not a preservation request in force, or extended already", body = crate::node::problem::Body, content_type = "application/problem+json"),
    ))]
pub async fn extend(caller: Caller, Shared(state): Shared<Arc<State>>, Path(id): Path<String>) -> Result<Json<RequestView>, Problem> {
    caller.require(INVESTIGATORS)?;
    let (row, _) = load(&state, &id).await?;
    let request_id: tocsin_wire::Ulid = id.parse().map_err(|_| Problem::Internal)?;
    let peer =
        state.store.peer_by_fingerprint(&row.peer).await?.ok_or_else(|| Problem::Refused("the platform is no longer a peer".to_owned()))?;
    let message_id = new_id()?;
    let sealed = seal(&state, message_id, &peer.fingerprint, &Body::RequestExtension(RequestExtensionBody { request_id }));
    state.store.extend_request(&id, &caller.0.name, (&message_id.to_string(), &peer.url, &sealed)).await?;
    state.outbox.notify_one();
    Ok(Json(shown(&state, &id).await?))
}

/// As the enforcing authority, raises no ground for refusal on a request this node was notified
/// of (Art. 10(2)): the platform may send its answer now, and the issuing authority is told.
#[utoipa::path(post, path = "/v1/requests/{id}/no-grounds", operation_id = "raise_no_grounds", tag = "investigations", security(("bearer" = [])),
    params(("id" = String, Path, description = "The request")),
    responses(
        (status = 200, description = "Told to the platform and the issuing authority", body = RequestView),
        (status = 404, description = "No such request", body = crate::node::problem::Body, content_type = "application/problem+json"),
        (status = 409, description = "Not notified here, answered already, or the platform is not a peer", body = crate::node::problem::Body, content_type = "application/problem+json"),
    ))]
pub async fn no_grounds(caller: Caller, Shared(state): Shared<Arc<State>>, Path(id): Path<String>) -> Result<Json<RequestView>, Problem> {
    caller.require(INVESTIGATORS)?;
    let (row, _) = load(&state, &id).await?;
    if row.side != "notified" {
        return Err(Problem::Refused(format!("data request {id} was not notified to this node")));
    }
    let fields: RequestFields = serde_json::from_str(&row.body).map_err(|_| Problem::Internal)?;
    let peers = state.store.peers().await?;
    let platform = peers
        .iter()
        .find(|p| p.name == fields.addressee)
        .ok_or_else(|| Problem::Refused(format!("the platform {:?} is not a peer of this node", fields.addressee)))?;
    let issuer = peers
        .iter()
        .find(|p| p.fingerprint == row.peer)
        .ok_or_else(|| Problem::Refused("the issuing authority is no longer a peer".to_owned()))?;
    let (to_platform, to_issuer) = (new_id()?, new_id()?);
    let body = Body::NoGrounds(NoGroundsBody { request_id: fields.id });
    let (a, b) = (seal(&state, to_platform, &platform.fingerprint, &body), seal(&state, to_issuer, &issuer.fingerprint, &body));
    let (a_id, b_id) = (to_platform.to_string(), to_issuer.to_string());
    state
        .store
        .raise_no_grounds(
            &id,
            &caller.0.name,
            [(&platform.fingerprint, (&a_id, &platform.url, &a)), (&issuer.fingerprint, (&b_id, &issuer.url, &b))],
        )
        .await?;
    state.outbox.notify_one();
    Ok(Json(shown(&state, &id).await?))
}

/// The package file `name` of a request this node issued, held and checked.
async fn held_file(state: &State, id: &str, name: &str) -> Result<std::path::PathBuf, Problem> {
    let (row, files) = load(state, id).await?;
    let file = files
        .into_iter()
        .find(|f| f.name == name && f.stored)
        .ok_or_else(|| Problem::NotFound(format!("no file {name:?} of data request {id} is held here")))?;
    if row.side != "issued" {
        return Err(Problem::NotFound(format!("data request {id} was not issued here")));
    }
    Ok(package::package_path(&state.config.data, &file.age_sha256))
}

/// One file of an answer package as received: the age file (investigator, validator).
#[utoipa::path(get, path = "/v1/requests/{id}/package/{name}", operation_id = "read_package_file", tag = "investigations", security(("bearer" = [])),
    params(("id" = String, Path, description = "The request"), ("name" = String, Path, description = "The file's name")),
    responses(
        (status = 200, description = "The age file", content_type = "application/octet-stream"),
        (status = 404, description = "No such file held", body = crate::node::problem::Body, content_type = "application/problem+json"),
    ))]
pub async fn raw_file(
    caller: Caller,
    Shared(state): Shared<Arc<State>>,
    Path((id, name)): Path<(String, String)>,
) -> Result<impl IntoResponse, Problem> {
    caller.require(PACKAGE_READERS)?;
    let path = held_file(&state, &id, &name).await?;
    Ok(([(axum::http::header::CONTENT_TYPE, "application/octet-stream")], package::stream_file(path, None)))
}

/// One file of an answer package in clear, decrypted with this node's package key as it
/// streams (investigator, validator). Logged.
#[utoipa::path(get, path = "/v1/requests/{id}/files/{name}", operation_id = "read_answer_file", tag = "investigations", security(("bearer" = [])),
    params(("id" = String, Path, description = "The request"), ("name" = String, Path, description = "The file's name")),
    responses(
        (status = 200, description = "The file in clear; check it against the manifest's SHA-256", content_type = "application/octet-stream"),
        (status = 404, description = "No such file held", body = crate::node::problem::Body, content_type = "application/problem+json"),
    ))]
pub async fn clear_file(
    caller: Caller,
    Shared(state): Shared<Arc<State>>,
    Path((id, name)): Path<(String, String)>,
) -> Result<impl IntoResponse, Problem> {
    caller.require(PACKAGE_READERS)?;
    let path = held_file(&state, &id, &name).await?;
    state.store.request_fetched(&id, &caller.0.name).await?;
    let identity = state.identity.package().clone();
    Ok(([(axum::http::header::CONTENT_TYPE, "application/octet-stream")], package::stream_file(path, Some(identity))))
}

/// One age file of a package this node sealed, for the authority that asked (no token: the
/// `Tocsin-Fetch` header is the authority's signed `package_fetch` for this file, within five
/// minutes of this node's clock).
#[utoipa::path(get, path = "/v1/packages/{id}/{name}", operation_id = "serve_package_file", tag = "investigations",
    params(("id" = String, Path, description = "The request"), ("name" = String, Path, description = "The file's name"),
        ("Tocsin-Fetch" = String, Header, description = "The authority's sealed `package_fetch` message for this file")),
    responses(
        (status = 200, description = "The age file", content_type = "application/octet-stream"),
        (status = 401, description = "No signed fetch request", body = crate::node::problem::Body, content_type = "application/problem+json"),
        (status = 404, description = "No such request", body = crate::node::problem::Body, content_type = "application/problem+json"),
        (status = 403, description = "Not signed by the request's authority, not for this file, or stale", body = crate::node::problem::Body, content_type = "application/problem+json"),
    ))]
pub async fn serve_package(
    Shared(state): Shared<Arc<State>>,
    Path((id, name)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<impl IntoResponse, Problem> {
    let (message, peer) = crate::node::peers::signed_header(&state, &headers, FETCH_HEADER, "fetch request").await?;
    let wrong = || Problem::UntrustedMessage("the signed fetch request is not for this file".to_owned());
    let Body::PackageFetch(fetch) = &message.body else { return Err(wrong()) };
    if fetch.request_id.to_string() != id || fetch.file != name {
        return Err(wrong());
    }
    let (row, files) = load(&state, &id).await?;
    if row.side != "received" || row.peer != peer.fingerprint || row.state != "answered" {
        return Err(Problem::UntrustedMessage(format!("data request {id} was not answered to this peer")));
    }
    let file = files.into_iter().find(|f| f.name == name).ok_or_else(|| Problem::NotFound(format!("no file {name:?} in the package")))?;
    let path = package::package_path(&state.config.data, &file.age_sha256);
    Ok(([(axum::http::header::CONTENT_TYPE, "application/octet-stream")], package::stream_file(path, None)))
}

/// What a received message changes in the data requests, owned until the store applies it.
pub(crate) enum Effect {
    Received {
        kind: &'static str,
        reference: String,
        body: String,
        recipient: String,
        deadline_at: Option<i64>,
        objection_until: Option<i64>,
        lapses_at: Option<i64>,
        webhook: Option<(String, String, String, String)>,
    },
    Answered {
        request_id: String,
        manifest: String,
        files: Vec<RequestFile>,
    },
    Refused {
        request_id: String,
        refusal: String,
        ground: &'static str,
    },
    Extended {
        request_id: String,
    },
    Threat {
        body: String,
        webhook: Option<(String, String, String, String)>,
    },
    Notified {
        request_id: String,
        kind: &'static str,
        reference: String,
        body: String,
    },
    NoGrounds {
        request_id: String,
    },
}

impl Effect {
    /// As the store takes it.
    pub(crate) fn as_store(&self) -> RequestEffect<'_> {
        match self {
            Effect::Received { kind, reference, body, recipient, deadline_at, objection_until, lapses_at, webhook } => {
                RequestEffect::Received {
                    kind,
                    reference,
                    body,
                    recipient,
                    deadline_at: *deadline_at,
                    objection_until: *objection_until,
                    lapses_at: *lapses_at,
                    webhook: webhook.as_ref().map(|(a, b, c, d)| (a.as_str(), b.as_str(), c.as_str(), d.as_str())),
                }
            }
            Effect::Answered { request_id, manifest, files } => RequestEffect::Answered { request_id, manifest, files },
            Effect::Refused { request_id, refusal, ground } => RequestEffect::Refused { request_id, refusal, ground },
            Effect::Extended { request_id } => RequestEffect::Extended { request_id },
            Effect::Notified { request_id, kind, reference, body } => RequestEffect::Notified { request_id, kind, reference, body },
            Effect::NoGrounds { request_id } => RequestEffect::NoGrounds { request_id },
            Effect::Threat { body, webhook } => RequestEffect::Threat {
                body,
                webhook: webhook.as_ref().map(|(a, b, c, d)| (a.as_str(), b.as_str(), c.as_str(), d.as_str())),
            },
        }
    }

    /// What `message` from `sender` does here, checked against what this node holds; `None` for
    /// kinds that are not the investigations'.
    pub(crate) async fn of(
        state: &State,
        sender: &tocsin_store::Peer,
        message: &Message,
        received_at: u64,
    ) -> Result<Option<Effect>, Problem> {
        let clock = |t: Option<u64>| t.map(|t| t.min(i64::MAX as u64) as i64);
        Ok(Some(match &message.body {
            Body::DataRequest(body) => {
                let request = &body.request;
                // The names in the request are the peers' as confirmed by key, as in an order.
                if request.issuing_authority != sender.name {
                    return Err(Problem::Refused(format!(
                        "the request names {:?} as its issuing authority but is signed by peer {:?}",
                        request.issuing_authority, sender.name
                    )));
                }
                if request.addressee != state.config.name {
                    return Err(Problem::Refused(format!(
                        "the request is addressed to {:?}, not to {:?}",
                        request.addressee, state.config.name
                    )));
                }
                let kind = if request.kind == RequestKind::Production { "production" } else { "preservation" };
                let lapses_at = request.lapses_at(received_at, false);
                let deadline_at = request.answer_due(received_at);
                // The platform's systems keep the data named at once, whatever the request's kind.
                let webhook = state.config.preservation_webhook.as_deref().and_then(|url| {
                    state.webhook_call(
                        url,
                        serde_json::json!({
                            "event": "data_request.preserve", "request_id": request.id.to_string(), "kind": kind,
                            "categories": request.categories, "identifiers": request.identifiers,
                            "until": lapses_at.or(deadline_at), "emergency": request.emergency.is_some(),
                        }),
                    )
                });
                Effect::Received {
                    kind,
                    reference: request.reference.clone(),
                    body: serde_json::to_string(&**request).map_err(|_| Problem::Internal)?,
                    recipient: body.recipient.clone(),
                    deadline_at: clock(deadline_at),
                    objection_until: clock(request.objection_until(received_at)),
                    lapses_at: clock(lapses_at),
                    webhook,
                }
            }
            Body::DataAnswer(answer) => {
                let manifest = tocsin_wire::manifest::verify_manifest(&answer.manifest, &sender.jwk)
                    .map_err(|e| Problem::Refused(format!("the answer's manifest: {e}")))?;
                if manifest.request_id != answer.request_id {
                    return Err(Problem::Refused("the manifest is for another request".to_owned()));
                }
                if manifest.recipient != state.identity.package_recipient().to_string() {
                    return Err(Problem::Refused("the package is not encrypted to this node's package key".to_owned()));
                }
                let files = manifest
                    .files
                    .into_iter()
                    .map(|f| RequestFile {
                        name: f.name,
                        size: f.size.min(i64::MAX as u64) as i64,
                        sha256: f.sha256,
                        age_sha256: f.age_sha256,
                        stored: false,
                    })
                    .collect();
                Effect::Answered { request_id: answer.request_id.to_string(), manifest: answer.manifest.clone(), files }
            }
            Body::DataRefusal(refusal) => Effect::Refused {
                request_id: refusal.request_id.to_string(),
                refusal: serde_json::json!({ "ground": refusal.ground.name(), "explanation": refusal.explanation }).to_string(),
                ground: refusal.ground.name(),
            },
            Body::RequestExtension(extension) => Effect::Extended { request_id: extension.request_id.to_string() },
            Body::RequestNotification(notification) => {
                let request = &notification.request;
                if request.issuing_authority != sender.name || request.enforcing_authority.as_deref() != Some(state.config.name.as_str()) {
                    return Err(Problem::Refused(format!(
                        "the notification must be issued by its signer {:?} and name this node as enforcing authority",
                        sender.name
                    )));
                }
                Effect::Notified {
                    request_id: request.id.to_string(),
                    kind: if request.kind == RequestKind::Production { "production" } else { "preservation" },
                    reference: request.reference.clone(),
                    body: serde_json::to_string(&**request).map_err(|_| Problem::Internal)?,
                }
            }
            Body::NoGrounds(answer) => {
                // Only the enforcing authority the request names may close its window.
                let id = answer.request_id.to_string();
                let (row, _) = state.store.data_request(&id).await?.ok_or_else(|| Problem::Refused(format!("no data request {id}")))?;
                let fields: RequestFields = serde_json::from_str(&row.body).map_err(|_| Problem::Internal)?;
                if row.side == "notified" || fields.enforcing_authority.as_deref() != Some(sender.name.as_str()) {
                    return Err(Problem::Refused(format!("peer {:?} is not the enforcing authority of data request {id}", sender.name)));
                }
                Effect::NoGrounds { request_id: id }
            }
            Body::ThreatReport(report) => Effect::Threat {
                body: serde_json::to_string(report).map_err(|_| Problem::Internal)?,
                webhook: threats::escalation(state, &message.id.to_string(), &sender.name, report),
            },
            _ => return Ok(None),
        }))
    }
}

/// The investigations' routes, for [`crate::api`] to merge.
pub(crate) fn routes() -> axum::Router<Arc<crate::State>> {
    use axum::routing::{get, post, put};
    axum::Router::new()
        .route("/v1/requests", post(issue).get(list))
        .route("/v1/requests/{id}", get(show))
        .route("/v1/requests/{id}/validate", post(validate))
        .route("/v1/requests/{id}/files/{name}", put(upload).get(clear_file))
        .route("/v1/requests/{id}/answer", post(answer))
        .route("/v1/requests/{id}/refuse", post(refuse))
        .route("/v1/requests/{id}/extend", post(extend))
        .route("/v1/requests/{id}/no-grounds", post(no_grounds))
        .route("/v1/requests/{id}/package/{name}", get(raw_file))
        .route("/v1/packages/{id}/{name}", get(serve_package))
        .route("/v1/threats", post(threats::report).get(threats::list))
        .route("/v1/threats/{id}/acknowledge", post(threats::acknowledge))
}
