//! The node every party runs, by capability: `node` (identity, settings, accounts, peers, the
//! log, problems, the clock and sealing) under `messaging` (the inbox and outbox), `orders`,
//! `banks`, `blocklist`, `investigations` and `console`. Here they are put together: the state every handler reads,
//! the HTTP app and its routes, and the background workers.

pub mod banks;
pub mod blocklist;
pub mod console;
pub mod investigations;
pub mod messaging;
pub mod node;
mod openapi;
pub mod orders;

use std::sync::Arc;

use axum::Router;
use axum::routing::get;

use banks::sharing;
pub use node::config::{Config, Role};
pub use node::identity::{Identity, IdentityError};
use node::{lockout, metrics, problem};

/// What every request handler may read: the node's own parts, and each capability's.
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
    /// Wakes the webhook caller when calls are queued.
    pub webhooks: tokio::sync::Notify,
    /// Failed sign-ins, for the lock-out.
    pub sign_in_attempts: lockout::Attempts,
    /// The orders' workers and the gate.
    pub orders: orders::Runtime,
    /// The matcher and the scans' places.
    pub banks: banks::Runtime,
    /// The investigations' workers.
    pub investigations: investigations::Runtime,
}

impl State {
    /// The state of a node with these settings, key and database.
    pub fn new(config: Config, identity: Identity, store: tocsin_store::Store) -> Self {
        let orders = orders::Runtime::new(&config);
        let banks = banks::Runtime::new(&config);
        Self {
            config,
            identity,
            store,
            metrics: Default::default(),
            outbox: tokio::sync::Notify::new(),
            webhooks: tokio::sync::Notify::new(),
            sign_in_attempts: lockout::Attempts::default(),
            orders,
            banks,
            investigations: investigations::Runtime::default(),
        }
    }

    /// A call to the webhook at `url`, ready to queue: a fresh delivery id (also set as the
    /// event's `delivery`), the URL, the body, and the node's compact JWS over the body, which
    /// the receiver checks with the node's key. `None` when no id could be drawn.
    pub(crate) fn webhook_call(&self, url: &str, mut event: serde_json::Value) -> Option<(String, String, String, String)> {
        let delivery = node::new_id().ok()?.to_string();
        event["delivery"] = serde_json::Value::String(delivery.clone());
        let body = event.to_string();
        let signature = tocsin_wire::sign_compact(&self.identity.jwk().thumbprint(), body.as_bytes(), |m| self.identity.sign(m));
        Some((delivery, url.to_owned(), body, signature))
    }

    /// Loads the gate's blocked set from the database (at start).
    pub async fn load_gate(&self) -> Result<(), tocsin_store::StoreError> {
        self.orders.gate.add(self.store.blocks().await?);
        Ok(())
    }
}

pub use node::blobs::blob_path;

/// Starts the node's background workers, each running until the process ends: the outbox, the
/// order executor, the evidence preserver, the webhook caller, the deadline warnings, the
/// blocklist's second tick (expiries, notices to oversight), and the bank follower and puller.
/// Zone transfers, which need a listener of their own, are started apart
/// ([`blocklist::axfr::run_axfr`]).
pub fn workers(state: &Arc<State>) -> Vec<tokio::task::JoinHandle<()>> {
    vec![
        tokio::spawn(messaging::run_outbox(state.clone())),
        tokio::spawn(orders::execution::run_executor(state.clone())),
        tokio::spawn(orders::preservation::run_preserver(state.clone())),
        tokio::spawn(node::webhooks::run_webhooks(state.clone())),
        tokio::spawn(orders::deadlines::run_deadlines(state.clone())),
        tokio::spawn(blocklist::run_ticker(state.clone())),
        tokio::spawn(banks::run_bank_follower(state.clone())),
        tokio::spawn(sharing::run_bank_puller(state.clone())),
        tokio::spawn(investigations::workers::run_package_fetcher(state.clone())),
        tokio::spawn(investigations::workers::run_requests(state.clone())),
    ]
}

/// The HTTP app: the console, the node's public documents and the API.
pub fn app(state: Arc<State>) -> Router {
    console::routes()
        .route("/problems/{slug}", get(problem::describe))
        .layer(axum::extract::DefaultBodyLimit::max(64 * 1024))
        .with_state(state.clone())
        .merge(api(state.clone()))
        // A request for a blocked domain that a resolver sent here: the stop page.
        .fallback_service(Router::new().fallback(blocklist::stop_page).with_state(state.clone()))
        .layer(axum::middleware::from_fn(node::deadline_and_log))
        .layer(axum::middleware::from_fn_with_state(state.clone(), metrics::count))
}

/// The node's API and public documents, which the console also calls in-process (so that it
/// checks roles and fields exactly as the API does).
pub fn api(state: Arc<State>) -> Router {
    Router::new()
        .route("/v1/openapi.json", get(openapi::openapi_json))
        .merge(node::routes())
        .merge(messaging::routes())
        .merge(orders::routes())
        .merge(banks::routes())
        .merge(blocklist::routes())
        .merge(investigations::routes())
        // Bodies are small JSON documents; anything larger is refused before it is read.
        .layer(axum::extract::DefaultBodyLimit::max(64 * 1024))
        .with_state(state)
}
