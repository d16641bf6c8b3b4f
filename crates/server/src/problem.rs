//! Errors as `application/problem+json` (RFC 9457): one table from every failure to a status,
//! a stable `type` and a title. Internal failures say only that something failed, never why: the
//! reason goes to the node's own log, not to the caller.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// Base of every problem `type`.
const TYPE_BASE: &str = "https://tocsin.example/problems/";

/// Why a request failed.
#[derive(Debug)]
pub enum Problem {
    /// No bearer token, or one that is unknown, expired or revoked.
    Unauthenticated,
    /// The caller's account lacks every role the endpoint allows.
    Forbidden(&'static [&'static str]),
    /// The body is not the JSON the endpoint takes: malformed (400), the wrong content type
    /// (415), too large (413), or the wrong shape (422).
    BadBody(StatusCode, String),
    /// The query string is missing a parameter or out of range.
    BadQuery(String),
    /// The request is well formed but refused (a name taken, a role unknown...).
    Refused(String),
    /// The request took longer than the node allows.
    Timeout,
    /// The node failed; details stay in its log.
    Internal,
}

#[derive(Serialize)]
struct Body {
    #[serde(rename = "type")]
    kind: String,
    title: &'static str,
    status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<String>,
}

impl Problem {
    /// Status, type slug and title: the one table.
    fn row(&self) -> (StatusCode, &'static str, &'static str) {
        match self {
            Problem::Unauthenticated => (StatusCode::UNAUTHORIZED, "unauthenticated", "A valid bearer token is required"),
            Problem::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden", "The account's roles do not allow this"),
            Problem::BadBody(status, _) => (*status, "bad-body", "The request body is not what this endpoint takes"),
            Problem::BadQuery(_) => (StatusCode::BAD_REQUEST, "bad-query", "The query parameters are not what this endpoint takes"),
            Problem::Refused(_) => (StatusCode::CONFLICT, "refused", "The request was refused"),
            Problem::Timeout => (StatusCode::SERVICE_UNAVAILABLE, "timeout", "The request took too long"),
            Problem::Internal => (StatusCode::INTERNAL_SERVER_ERROR, "internal", "The node failed to handle the request"),
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let (status, slug, title) = self.row();
        let detail = match &self {
            Problem::Forbidden(roles) => Some(format!("allowed roles: {}", roles.join(", "))),
            Problem::BadBody(_, d) | Problem::BadQuery(d) | Problem::Refused(d) => Some(d.clone()),
            Problem::Unauthenticated | Problem::Timeout | Problem::Internal => None,
        };
        let body = Body { kind: format!("{TYPE_BASE}{slug}"), title, status: status.as_u16(), detail };
        let mut response = (status, serde_json::to_string(&body).unwrap_or_default()).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if matches!(self, Problem::Unauthenticated) {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl From<tocsin_store::StoreError> for Problem {
    fn from(e: tocsin_store::StoreError) -> Self {
        match e {
            tocsin_store::StoreError::Refused(detail) => Problem::Refused(detail),
            other => {
                tracing::error!(error = %other, "store failure");
                Problem::Internal
            }
        }
    }
}
