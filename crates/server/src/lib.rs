//! The node every party runs: its identity, its configuration and its HTTP app. This first
//! layer serves health checks and the identity document over the node's store; accounts and the
//! log's endpoints come next (issue 4).

mod accounts;
pub mod config;
pub mod identity;
mod log;
pub mod metrics;
mod problem;

use std::sync::Arc;

use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use tocsin_wire::Jwk;

pub use config::{Config, Role};
pub use identity::{Identity, IdentityError};

/// The protocol version nodes announce, so that peers can refuse what they do not speak.
pub const PROTOCOL_VERSION: &str = "tocsin/0.1";

/// What every request handler may read.
#[derive(Debug)]
pub struct State {
    /// The node's settings.
    pub config: Config,
    /// The node's signing key.
    pub identity: Identity,
    /// The node's database.
    pub store: tocsin_store::Store,
    /// Request counters for `/metrics`.
    pub metrics: metrics::Metrics,
}

/// `GET /.well-known/tocsin`: who this node is, for peers and people.
#[derive(Debug, Serialize)]
struct IdentityDocument {
    name: String,
    public_url: Option<String>,
    roles: Vec<Role>,
    protocol_version: &'static str,
    jwk: Jwk,
    fingerprint: String,
}

/// The HTTP app.
pub fn app(state: Arc<State>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readiness))
        .route("/.well-known/tocsin", get(identity_document))
        .route("/metrics", get(metrics::render))
        .route("/v1/accounts", get(accounts::list).post(accounts::create))
        .route("/v1/accounts/{name}/disable", axum::routing::post(accounts::disable))
        .route("/v1/accounts/{name}/tokens", axum::routing::post(accounts::create_token))
        .route("/v1/tokens/revoke", axum::routing::post(accounts::revoke))
        .route("/v1/log/head", get(log::head))
        .route("/v1/log/entries", get(log::entries))
        .route("/v1/log/proof/inclusion", get(log::inclusion))
        .route("/v1/log/proof/consistency", get(log::consistency))
        // Bodies are small JSON documents; anything larger is refused before it is read.
        .layer(axum::extract::DefaultBodyLimit::max(64 * 1024))
        .layer(axum::middleware::from_fn(deadline_and_log))
        .layer(axum::middleware::from_fn_with_state(state.clone(), metrics::count))
        .with_state(state)
}

/// How long a request may take before the node gives up on it (503).
pub const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Gives each request [`REQUEST_TIMEOUT`] and logs method, path, status and time taken (never
/// headers or bodies, which carry tokens).
async fn deadline_and_log(request: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    use axum::response::IntoResponse;
    let (method, path) = (request.method().clone(), request.uri().path().to_owned());
    let started = std::time::Instant::now();
    let response = match tokio::time::timeout(REQUEST_TIMEOUT, next.run(request)).await {
        Ok(response) => response,
        Err(_) => problem::Problem::Timeout.into_response(),
    };
    tracing::info!(%method, %path, status = response.status().as_u16(), ms = started.elapsed().as_millis() as u64, "request");
    response
}

/// `GET /readyz`: ready when the database answers.
async fn readiness(axum::extract::State(state): axum::extract::State<Arc<State>>) -> (StatusCode, &'static str) {
    match state.store.ping().await {
        Ok(()) => (StatusCode::OK, "ready\n"),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "database unreachable\n"),
    }
}

async fn identity_document(axum::extract::State(state): axum::extract::State<Arc<State>>) -> Json<IdentityDocument> {
    let jwk = state.identity.jwk();
    Json(IdentityDocument {
        name: state.config.name.clone(),
        public_url: state.config.public_url.clone(),
        roles: state.config.roles.clone(),
        protocol_version: PROTOCOL_VERSION,
        fingerprint: jwk.thumbprint(),
        jwk,
    })
}
