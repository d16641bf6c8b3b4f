//! `GET /metrics` in Prometheus's text format: requests answered by status class, and the size
//! of the Merkle log. Counted by a middleware around every route.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::extract::{Request, State as Shared};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::State;

/// Requests answered, by status class (1xx to 5xx), and messages refused, by reason.
#[derive(Debug, Default)]
pub struct Metrics {
    by_class: [AtomicU64; 5],
    refused: [AtomicU64; 3],
    /// Messages of this node that a peer refused for good, and that kept failing.
    delivery_problems: [AtomicU64; 2],
}

/// Why a message was refused, as `/metrics` names it.
const REFUSAL_REASONS: [&str; 3] = ["untrusted", "malformed", "refused"];

impl Metrics {
    /// Counts a delivery problem shown on an order: refused by the peer, or failing.
    pub(crate) fn count_delivery_problem(&self, refused: bool) {
        self.delivery_problems[usize::from(!refused)].fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a refused message; the reason's name.
    pub(crate) fn count_refused_message(&self, problem: &crate::node::problem::Problem) -> &'static str {
        let i = match problem {
            crate::node::problem::Problem::UntrustedMessage(_) => 0,
            crate::node::problem::Problem::BadBody(..) => 1,
            _ => 2,
        };
        self.refused[i].fetch_add(1, Ordering::Relaxed);
        REFUSAL_REASONS[i]
    }
}

/// Counts the response's status class.
pub async fn count(Shared(state): Shared<Arc<State>>, request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let class = usize::from(response.status().as_u16() / 100).clamp(1, 5) - 1;
    state.metrics.by_class[class].fetch_add(1, Ordering::Relaxed);
    response
}

/// Who may read the metrics: they tell how busy a node is and what it refuses, which is for
/// those who run it (Prometheus sends the token as `authorization: credentials`).
const READERS: &[&str] = &["admin", "operator", "auditor"];

/// Requests by status class, whether the database answers, and the log's size (admin,
/// operator, auditor).
#[utoipa::path(get, path = "/metrics", tag = "node", security(("bearer" = [])), responses(
    (status = 200, description = "Prometheus text format", body = String, content_type = "text/plain; version=0.0.4"),
))]
pub async fn render(
    caller: Result<crate::node::accounts::Caller, crate::node::problem::Problem>,
    Shared(state): Shared<Arc<State>>,
) -> Response {
    if let Err(problem) = caller.and_then(|c| c.require(READERS)) {
        return problem.into_response();
    }
    let mut out = String::from(
        "# HELP tocsin_http_requests_total HTTP requests answered, by status class.\n# TYPE tocsin_http_requests_total counter\n",
    );
    for (i, n) in state.metrics.by_class.iter().enumerate() {
        out.push_str(&format!("tocsin_http_requests_total{{class=\"{}xx\"}} {}\n", i + 1, n.load(Ordering::Relaxed)));
    }
    out.push_str(
        "# HELP tocsin_messages_refused_total Messages from other nodes refused, by reason.\n# TYPE tocsin_messages_refused_total counter\n",
    );
    for (reason, n) in REFUSAL_REASONS.iter().zip(&state.metrics.refused) {
        out.push_str(&format!("tocsin_messages_refused_total{{reason=\"{reason}\"}} {}\n", n.load(Ordering::Relaxed)));
    }
    out.push_str(
        "# HELP tocsin_deliveries_problem_total Messages of this node refused by their peer, or shown failing on their order.\n\
         # TYPE tocsin_deliveries_problem_total counter\n",
    );
    for (problem, n) in ["refused", "failing"].iter().zip(&state.metrics.delivery_problems) {
        out.push_str(&format!("tocsin_deliveries_problem_total{{problem=\"{problem}\"}} {}\n", n.load(Ordering::Relaxed)));
    }
    out.push_str("# HELP tocsin_up Whether the node's database answers (1) or not (0).\n# TYPE tocsin_up gauge\n");
    match state.store.log_head().await {
        Ok((size, _)) => {
            out.push_str("tocsin_up 1\n");
            out.push_str(&format!(
                "# HELP tocsin_log_entries Entries in the node's Merkle log.\n# TYPE tocsin_log_entries gauge\ntocsin_log_entries {size}\n"
            ));
        }
        Err(_) => out.push_str("tocsin_up 0\n"),
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response()
}
