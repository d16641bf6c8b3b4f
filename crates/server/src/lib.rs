//! The node every party runs: its identity, its configuration and its HTTP app (health checks,
//! the identity document, accounts and tokens, the Merkle log, and the OpenAPI document that
//! describes them all).

mod accounts;
pub mod axfr;
pub mod banks;
mod blobs;
pub mod blocklist;
pub mod config;
pub mod console;
mod deadlines;
mod execution;
mod finality;
pub mod gate;
mod html;
pub mod identity;
mod legal;
pub mod listen;
mod lockout;
mod log;
mod matches;
pub mod messaging;
pub mod metrics;
mod openapi;
pub(crate) mod orders;
mod peers;
mod preservation;
mod problem;
mod procedures;
pub mod sharing;
pub mod time;
mod webhooks;

use std::sync::Arc;

use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;
use tocsin_wire::Jwk;

pub use config::{Config, Role};
pub use identity::{Identity, IdentityError};

/// The protocol version nodes announce, so that peers can refuse what they do not speak.
pub const PROTOCOL_VERSION: &str = "tocsin/0.1";

/// 80 random bits for a ULID.
pub fn new_id() -> Result<tocsin_wire::Ulid, problem::Problem> {
    let mut random = [0u8; 10];
    getrandom::fill(&mut random).map_err(|_| problem::Problem::Internal)?;
    Ok(tocsin_wire::Ulid::new(time::now_ms(), random))
}

/// Seals `body` as a message of `kind` from this node to the node with key `to`.
pub fn seal(state: &State, kind: tocsin_wire::Kind, id: tocsin_wire::Ulid, to: &str, body: serde_json::Value) -> String {
    let envelope = tocsin_wire::Envelope {
        v: tocsin_wire::PROTOCOL_VERSION,
        id,
        kind,
        from: state.identity.jwk().thumbprint(),
        to: to.to_owned(),
        sent_at: time::now_ms(),
        body,
    };
    tocsin_wire::seal(&envelope, |m| state.identity.sign(m))
}

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
    /// Wakes the outbox worker when a message is queued.
    pub outbox: tokio::sync::Notify,
    /// Wakes the executor when an order arrives.
    pub executor: tokio::sync::Notify,
    /// Wakes the preserver when URLs are blocked.
    pub preserver: tokio::sync::Notify,
    /// Wakes the webhook caller when calls are queued.
    pub webhooks: tokio::sync::Notify,
    /// The blocked URLs.
    pub gate: gate::Gate,
    /// Every bank's signals in memory, for scans and lookups.
    pub matcher: Arc<std::sync::RwLock<banks::Matcher>>,
    /// Held while the matcher follows the store, so that follows do not interleave.
    pub bank_follow: tokio::sync::Mutex<()>,
    /// Failed sign-ins, for the lock-out.
    pub sign_in_attempts: lockout::Attempts,
    /// Wakes the bank puller when a subscription is made.
    pub bank_pulls: tokio::sync::Notify,
    /// Places for scans, running and waiting (`Config::scan_queue`); when none is free, 503.
    pub scan_queue: tokio::sync::Semaphore,
    /// Scans hashing at once: one a core.
    pub scan_workers: tokio::sync::Semaphore,
    /// The most pixels a scanned image may have (`Config::scan_max_pixels`, or what fits memory).
    pub scan_max_pixels: u64,
}

impl State {
    /// The state of a node with these settings, key and database.
    pub fn new(config: Config, identity: Identity, store: tocsin_store::Store) -> Self {
        let scan_places = banks::scan_workers() + config.scan_queue;
        let gate = gate::Gate::new(config.case_insensitive_paths);
        let scan_max_pixels =
            config.scan_max_pixels.unwrap_or_else(|| banks::default_scan_max_pixels(banks::scan_workers(), banks::memory_budget()));
        Self {
            config,
            identity,
            store,
            metrics: Default::default(),
            outbox: tokio::sync::Notify::new(),
            executor: tokio::sync::Notify::new(),
            preserver: tokio::sync::Notify::new(),
            webhooks: tokio::sync::Notify::new(),
            gate,
            matcher: Default::default(),
            bank_pulls: tokio::sync::Notify::new(),
            bank_follow: tokio::sync::Mutex::new(()),
            sign_in_attempts: lockout::Attempts::default(),
            scan_queue: tokio::sync::Semaphore::new(scan_places),
            scan_workers: tokio::sync::Semaphore::new(banks::scan_workers()),
            scan_max_pixels,
        }
    }

    /// A call to the webhook at `url`, ready to queue: a fresh delivery id (also set as the
    /// event's `delivery`), the URL, the body, and the node's compact JWS over the body, which
    /// the receiver checks with the node's key. `None` when no id could be drawn.
    pub(crate) fn webhook_call(&self, url: &str, mut event: serde_json::Value) -> Option<(String, String, String, String)> {
        let delivery = new_id().ok()?.to_string();
        event["delivery"] = serde_json::Value::String(delivery.clone());
        let body = event.to_string();
        let signature = tocsin_wire::sign_compact(&self.identity.jwk().thumbprint(), body.as_bytes(), |m| self.identity.sign(m));
        Some((delivery, url.to_owned(), body, signature))
    }

    /// Loads the gate's blocked set from the database (at start).
    pub async fn load_gate(&self) -> Result<(), tocsin_store::StoreError> {
        self.gate.add(self.store.blocks().await?);
        Ok(())
    }
}

pub use banks::run_bank_follower;
pub use blobs::blob_path;
pub use deadlines::run_deadlines;
pub use execution::run_executor;
pub use preservation::run_preserver;
pub use sharing::run_bank_puller;
pub use webhooks::run_webhooks;

/// `GET /.well-known/tocsin`: who this node is, for peers and people.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct IdentityDocument {
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
}

/// The HTTP app: the console, the node's public documents and the API.
pub fn app(state: Arc<State>) -> Router {
    Router::new()
        .route("/", get(console::home))
        .route("/console/sign-in", post(console::sign_in))
        .route("/console/sign-out", post(console::sign_out))
        .route("/console/lang", get(console::switch_language))
        .route("/console/assets/{name}", get(console::asset))
        .route("/problems/{slug}", get(problem::describe))
        .route("/console/orders", get(console::orders).post(console::order_issue))
        .route("/console/orders/new", get(console::new_order))
        .route("/console/orders/{id}", get(console::order))
        .route("/console/orders/{id}/{action}", post(console::order_act))
        .route("/console/review", get(console::review_queue))
        .route("/console/preview/{id}/{n}", get(console::preview))
        .route("/console/matches/{id}/decision", post(console::match_decide))
        .route("/console/match-preview/{id}", get(console::match_preview))
        .route("/console/blocklist", get(console::blocklist))
        .route("/console/blocklist/{id}/review", post(console::review_entry))
        .route("/console/recommendations/{id}/answer", post(console::answer_recommendation))
        .route("/console/banks", get(console::banks))
        .route("/console/banks/{name}", get(console::bank))
        .route("/console/oversight", get(console::oversight))
        .route("/console/log", get(console::log))
        .route("/console/figures", get(console::figures))
        .layer(axum::extract::DefaultBodyLimit::max(64 * 1024))
        .with_state(state.clone())
        .merge(api(state.clone()))
        // A request for a blocked domain that a resolver sent here: the stop page.
        .fallback_service(Router::new().fallback(blocklist::stop_page).with_state(state.clone()))
        .layer(axum::middleware::from_fn(deadline_and_log))
        .layer(axum::middleware::from_fn_with_state(state.clone(), metrics::count))
}

/// The node's API and public documents, which the console also calls in-process (so that it
/// checks roles and fields exactly as the API does).
pub fn api(state: Arc<State>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readiness))
        .route("/.well-known/tocsin", get(identity_document))
        .route("/metrics", get(metrics::render))
        .route("/v1/openapi.json", get(openapi::openapi_json))
        .route("/v1/login", post(accounts::login))
        .route("/v1/accounts", get(accounts::list).post(accounts::create))
        .route("/v1/accounts/{name}/disable", post(accounts::disable))
        .route("/v1/accounts/{name}/password", post(accounts::set_password))
        .route("/v1/accounts/{name}/tokens", post(accounts::create_token))
        .route("/v1/tokens/revoke", post(accounts::revoke))
        .route("/v1/peers", get(peers::list).post(peers::add))
        .route("/v1/peers/{name}", axum::routing::delete(peers::remove))
        .route("/v1/peers/{name}/policy", post(peers::set_policy))
        .route("/v1/peers/{name}/information", get(procedures::list).post(procedures::inform))
        .route("/v1/peers/{name}/legal", get(legal::show_peer).put(legal::put_peer))
        .route("/v1/legal", get(legal::show).put(legal::put))
        .route("/v1/inbox", post(messaging::inbox))
        .route("/v1/orders", get(orders::list).post(orders::issue))
        .route("/v1/orders/{id}", get(orders::show))
        .route("/v1/orders/{id}/withdraw", post(orders::withdraw))
        .route("/v1/orders/{id}/final", post(finality::record))
        .route("/v1/orders/final", get(finality::list))
        .route("/v1/orders/copies", get(finality::copies))
        .route("/v1/orders/{id}/accept", post(orders::accept))
        .route("/v1/orders/{id}/reject", post(orders::reject))
        .route("/v1/orders/{id}/inability", post(orders::inability))
        .route("/v1/orders/{id}/clarify", post(orders::clarify))
        .route("/v1/orders/{id}/resume", post(orders::resume))
        .route("/v1/orders/{id}/preservation", post(orders::preservation))
        .route("/v1/banks", get(banks::list).post(banks::create))
        .route("/v1/banks/{name}", get(banks::show))
        .route(
            "/v1/banks/{name}/signals",
            get(banks::signals).post(banks::add).layer(axum::extract::DefaultBodyLimit::max(banks::MAX_SIGNALS_BYTES)),
        )
        .route("/v1/banks/{name}/signals/{num}/state", post(sharing::set_state))
        .route("/v1/banks/{name}/subscribers", post(sharing::publish))
        .route("/v1/banks/{name}/changes", get(sharing::changes))
        .route("/v1/subscriptions", get(sharing::subscriptions).post(sharing::subscribe))
        .route("/v1/matches", get(matches::list))
        .route("/v1/matches/{id}/decision", post(matches::decide))
        .route("/v1/lookup", post(banks::lookup).layer(axum::extract::DefaultBodyLimit::max(banks::MAX_SIGNALS_BYTES)))
        .route("/v1/scan", post(banks::scan).layer(axum::extract::DefaultBodyLimit::max(banks::MAX_SCAN_BYTES)))
        .route("/v1/blocklist", get(blocklist::list).post(blocklist::add))
        .route("/v1/blocklist/rpz", get(blocklist::rpz))
        .route("/v1/blocklist/urls", get(blocklist::urls))
        .route("/v1/blocklist/notices", get(blocklist::notices))
        .route("/v1/blocklist/{id}", get(blocklist::show))
        .route("/v1/blocklist/{id}/lift", post(blocklist::lift))
        .route("/v1/blocklist/{id}/review", post(blocklist::review))
        .route("/v1/blocklist/{id}/recommendations", post(blocklist::recommend))
        .route("/v1/recommendations", get(blocklist::recommendations))
        .route("/v1/recommendations/{id}/answer", post(blocklist::answer))
        .route("/v1/gate/check", get(gate::check))
        .route("/v1/gate/notice", get(gate::notice))
        .route("/v1/log/head", get(log::head))
        .route("/v1/log/entries", get(log::entries))
        .route("/v1/log/proof/inclusion", get(log::inclusion))
        .route("/v1/log/proof/consistency", get(log::consistency))
        // Bodies are small JSON documents; anything larger is refused before it is read.
        .layer(axum::extract::DefaultBodyLimit::max(64 * 1024))
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

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "node", responses((status = 200, description = "Up", body = String, content_type = "text/plain")))]
async fn healthz() -> &'static str {
    "ok\n"
}

/// Ready when the database answers.
#[utoipa::path(get, path = "/readyz", tag = "node", responses(
    (status = 200, description = "Ready", body = String, content_type = "text/plain"),
    (status = 503, description = "The database does not answer", body = String, content_type = "text/plain"),
))]
async fn readiness(axum::extract::State(state): axum::extract::State<Arc<State>>) -> (StatusCode, &'static str) {
    match state.store.ping().await {
        Ok(()) => (StatusCode::OK, "ready\n"),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "database unreachable\n"),
    }
}

/// Who this node is: name, roles, protocol version, public key and its fingerprint.
#[utoipa::path(get, path = "/.well-known/tocsin", tag = "node", responses((status = 200, description = "The identity document", body = IdentityDocument)))]
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
