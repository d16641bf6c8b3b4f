//! The node's basics, which every capability builds on: its identity and settings, accounts
//! and sign-in, peers, the Merkle log's endpoints, metrics, problem answers, the clock, ids and
//! sealing, content-addressed files, the legal particulars, and the webhook queue; with the
//! health checks and the identity document. Nothing here imports a capability.

pub mod accounts;
pub mod blobs;
pub mod config;
pub mod html;
pub mod identity;
pub mod legal;
pub mod listen;
pub mod lockout;
pub mod log;
pub mod metrics;
pub mod peers;
pub mod problem;
pub mod time;
pub mod webhooks;

use std::sync::Arc;

use axum::Json;
use axum::http::StatusCode;
use serde::Serialize;
use tocsin_wire::Jwk;

use crate::State;
use config::Role;

/// The protocol version nodes announce, so that peers can refuse what they do not speak.
pub const PROTOCOL_VERSION: &str = "tocsin/0.1";

/// 80 random bits for a ULID.
pub fn new_id() -> Result<tocsin_wire::Ulid, problem::Problem> {
    let mut random = [0u8; 10];
    getrandom::fill(&mut random).map_err(|_| problem::Problem::Internal)?;
    Ok(tocsin_wire::Ulid::new(time::now_ms(), random))
}

/// Seals `body` as a message of its kind from this node to the node with key `to`.
pub fn seal(state: &State, id: tocsin_wire::Ulid, to: &str, body: &tocsin_wire::Body) -> String {
    let envelope = tocsin_wire::Envelope::new(id, state.identity.jwk().thumbprint(), to.to_owned(), time::now_ms(), body);
    tocsin_wire::seal(&envelope, |m| state.identity.sign(m))
}

/// `GET /.well-known/tocsin`: who this node is, for peers and people.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct IdentityDocument {
    /// The node's name.
    name: String,
    /// The URL peers reach it at, if configured.
    public_url: Option<String>,
    /// The parts it plays.
    roles: Vec<Role>,
    /// The protocol it speaks.
    protocol_version: &'static str,
    /// Its Ed25519 public key (RFC 8037).
    jwk: Jwk,
    /// The key's JWK thumbprint (RFC 7638), base64url: what peers confirm out of band.
    fingerprint: String,
    /// Its package key's age X25519 recipient (`age1...`): what answers to its data requests
    /// are encrypted to.
    package_recipient: String,
}

/// How long a request may take before the node gives up on it (503).
pub const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// How long a video scan may take: its upload, and a decode of at most ten minutes.
pub const VIDEO_SCAN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// Gives each request [`REQUEST_TIMEOUT`] and logs method, path, status and time taken (never
/// headers or bodies, which carry tokens).
pub(crate) async fn deadline_and_log(request: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    use axum::response::IntoResponse;
    let (method, path) = (request.method().clone(), request.uri().path().to_owned());
    let started = std::time::Instant::now();
    // A package file streams in for as long as it takes (its size is bounded, not its time); a
    // video scan takes as long as its decode may (`banks::VIDEO_DECODE_TIME`), and a little more.
    let timeout = if streams_in(&method, &path) {
        std::time::Duration::from_secs(24 * 3600)
    } else if method == axum::http::Method::POST
        && path == "/v1/scan"
        && request.headers().get(axum::http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(tocsin_media::is_video)
    {
        VIDEO_SCAN_TIMEOUT
    } else {
        REQUEST_TIMEOUT
    };
    let response = match tokio::time::timeout(timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => problem::Problem::Timeout.into_response(),
    };
    tracing::info!(%method, %path, status = response.status().as_u16(), ms = started.elapsed().as_millis() as u64, "request");
    response
}

/// Whether the request uploads a package file, whose body may take longer than a request may.
fn streams_in(method: &axum::http::Method, path: &str) -> bool {
    method == axum::http::Method::PUT && path.starts_with("/v1/requests/") && path.contains("/files/")
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "node", responses((status = 200, description = "Up", body = String, content_type = "text/plain")))]
pub(crate) async fn healthz() -> &'static str {
    "ok\n"
}

/// Ready when the database answers.
#[utoipa::path(get, path = "/readyz", tag = "node", responses(
    (status = 200, description = "Ready", body = String, content_type = "text/plain"),
    (status = 503, description = "The database does not answer", body = String, content_type = "text/plain"),
))]
pub(crate) async fn readiness(axum::extract::State(state): axum::extract::State<Arc<State>>) -> (StatusCode, &'static str) {
    match state.store.ping().await {
        Ok(()) => (StatusCode::OK, "ready\n"),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "database unreachable\n"),
    }
}

/// Who this node is: name, roles, protocol version, public key and its fingerprint.
#[utoipa::path(get, path = "/.well-known/tocsin", tag = "node", responses((status = 200, description = "The identity document", body = IdentityDocument)))]
pub(crate) async fn identity_document(axum::extract::State(state): axum::extract::State<Arc<State>>) -> Json<IdentityDocument> {
    let jwk = state.identity.jwk();
    Json(IdentityDocument {
        name: state.config.name.clone(),
        public_url: state.config.public_url.clone(),
        roles: state.config.roles.clone(),
        protocol_version: PROTOCOL_VERSION,
        fingerprint: jwk.thumbprint(),
        jwk,
        package_recipient: state.identity.package_recipient().to_string(),
    })
}

/// The node's own routes: health, identity, accounts, peers, legal particulars, metrics, the log, for [`crate::api`] to merge.
pub(crate) fn routes() -> axum::Router<Arc<crate::State>> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readiness))
        .route("/.well-known/tocsin", get(identity_document))
        .route("/metrics", get(metrics::render))
        .route("/v1/login", post(accounts::login))
        .route("/v1/accounts", get(accounts::list).post(accounts::create))
        .route("/v1/accounts/{name}/disable", post(accounts::disable))
        .route("/v1/accounts/{name}/password", post(accounts::set_password))
        .route("/v1/accounts/{name}/tokens", post(accounts::create_token))
        .route("/v1/tokens/revoke", post(accounts::revoke))
        .route("/v1/peers", get(peers::list).post(peers::add))
        .route("/v1/peers/{name}", axum::routing::delete(peers::remove))
        .route("/v1/peers/{name}/policy", post(peers::set_policy))
        .route("/v1/peers/{name}/legal", get(legal::show_peer).put(legal::put_peer))
        .route("/v1/legal", get(legal::show).put(legal::put))
        .route("/v1/log/head", get(log::head))
        .route("/v1/log/entries", get(log::entries))
        .route("/v1/log/proof/inclusion", get(log::inclusion))
        .route("/v1/log/proof/consistency", get(log::consistency))
}
