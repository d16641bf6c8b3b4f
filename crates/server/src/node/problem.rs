//! Errors as `application/problem+json` (RFC 9457): one table from every failure to a status,
//! a stable `type` and a title. Internal failures say only that something failed, never why: the
//! reason goes to the node's own log, not to the caller.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// Base of every problem `type`: a path on the node itself, which serves each problem's
/// description there (`GET /problems/{slug}`), so that a reader can look a type up on the node
/// that sent it; relative, so the same type is the same string from every node (RFC 9457 §3.1.1).
pub(crate) const TYPE_BASE: &str = "/problems/";

/// Every problem type: slug, status, title, and what it means for the one who got it.
pub(crate) const KINDS: &[(&str, u16, &str, &str)] = &[
    (
        "unauthenticated",
        401,
        "A valid bearer token is required",
        "The request carried no bearer token, or one that is unknown, expired or revoked. Sign in again (POST /v1/login) or ask an admin for a token.",
    ),
    (
        "bad-credentials",
        401,
        "The account name or the password is wrong",
        "The sign-in was refused; which of the two was wrong is not said. Five failures from one address lock the name there for 15 minutes.",
    ),
    (
        "forbidden",
        403,
        "The account's roles do not allow this",
        "The token is valid, but none of its account's roles may do this; `detail` names the roles that may.",
    ),
    (
        "bad-body",
        400,
        "The request body is not what this endpoint takes",
        "The body is not well-formed (400), too large (413), of another content type (415), or not of this endpoint's shape (422); `detail` says which field.",
    ),
    (
        "bad-query",
        400,
        "The query parameters are not what this endpoint takes",
        "A query parameter is missing, malformed or out of range; `detail` names it.",
    ),
    (
        "refused",
        409,
        "The request was refused",
        "The request is well formed, but what it asks cannot be done now (a name taken, a state that does not allow it); `detail`, and `errors` for a form, say why.",
    ),
    ("not-found", 404, "No such thing here", "Nothing by that name or id on this node."),
    (
        "untrusted-message",
        403,
        "The message is not signed by a confirmed peer",
        "A message to the inbox whose signature is not that of a peer this node's administrator confirmed by key.",
    ),
    (
        "not-for-peer",
        403,
        "The peer's confirmed roles do not allow this message",
        "A message of a kind the signing peer's confirmed roles may not send (a platform's removal order, an authority's feedback).",
    ),
    (
        "upstream",
        502,
        "Another node did not answer as a Tocsin node",
        "A request this one needed to make to another node failed; `detail` says how.",
    ),
    ("timeout", 503, "The request took too long", "The node gives a request 30 seconds; try again."),
    (
        "busy",
        503,
        "Too much work is waiting; try again shortly",
        "Too many scans are waiting for a hashing thread; `Retry-After` says when to try again.",
    ),
    (
        "locked",
        429,
        "Too many failed sign-ins: the account is locked for 15 minutes",
        "Sign-ins for this name from this address are refused for 15 minutes after five failures; `Retry-After` says how long.",
    ),
    ("internal", 500, "The node failed to handle the request", "The node failed; the reason is in its own log, not in this answer."),
];

/// Why a request failed.
#[derive(Debug)]
pub enum Problem {
    /// No bearer token, or one that is unknown, expired or revoked.
    Unauthenticated,
    /// A sign-in with a wrong account name or password (which of the two is not said).
    BadCredentials,
    /// The caller's account lacks every role the endpoint allows.
    Forbidden(&'static [&'static str]),
    /// The body is not the JSON the endpoint takes: malformed (400), the wrong content type
    /// (415), too large (413), or the wrong shape (422).
    BadBody(StatusCode, String),
    /// The query string is missing a parameter or out of range.
    BadQuery(String),
    /// The request is well formed but refused (a name taken, a role unknown...).
    Refused(String),
    /// Refused for these fields, each with what is wrong with it (all at once, so that a form
    /// can show each next to its field).
    Fields(Vec<(String, String)>),
    /// Nothing by that name or id.
    NotFound(String),
    /// A message not signed by a confirmed peer's key.
    UntrustedMessage(String),
    /// A message of a kind the signing peer's confirmed roles may not send.
    NotForPeer(String),
    /// Another node this request needed did not answer as a Tocsin node.
    Upstream(String),
    /// The request took longer than the node allows.
    Timeout,
    /// Too much work is waiting; the caller should try again after a second.
    Busy,
    /// Too many failed sign-ins for this account name: locked for a while.
    Locked,
    /// The node failed; details stay in its log.
    Internal,
}

/// A problem as sent (RFC 9457).
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Problem)]
pub struct Body {
    /// A URI naming the kind of problem; stable, so clients may branch on it.
    #[serde(rename = "type")]
    kind: String,
    /// A short summary of the kind of problem.
    title: &'static str,
    /// The HTTP status.
    status: u16,
    /// What went wrong with this request.
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<String>,
    /// For a refused form: each field at fault and what is wrong with it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    errors: Vec<FieldError>,
}

/// One field at fault.
#[derive(Serialize, utoipa::ToSchema)]
pub struct FieldError {
    /// The field's name in the request body.
    field: String,
    /// What is wrong with it.
    detail: String,
}

impl Problem {
    /// Status, type slug and title: the one table.
    fn row(&self) -> (StatusCode, &'static str, &'static str) {
        let (status, slug) = self.kind();
        let title = KINDS.iter().find(|k| k.0 == slug).map_or("The request failed", |k| k.2);
        (status, slug, title)
    }

    /// Status and type slug.
    fn kind(&self) -> (StatusCode, &'static str) {
        match self {
            Problem::Unauthenticated => (StatusCode::UNAUTHORIZED, "unauthenticated"),
            Problem::BadCredentials => (StatusCode::UNAUTHORIZED, "bad-credentials"),
            Problem::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            Problem::BadBody(status, _) => (*status, "bad-body"),
            Problem::BadQuery(_) => (StatusCode::BAD_REQUEST, "bad-query"),
            Problem::Refused(_) | Problem::Fields(_) => (StatusCode::CONFLICT, "refused"),
            Problem::NotFound(_) => (StatusCode::NOT_FOUND, "not-found"),
            Problem::UntrustedMessage(_) => (StatusCode::FORBIDDEN, "untrusted-message"),
            Problem::NotForPeer(_) => (StatusCode::FORBIDDEN, "not-for-peer"),
            Problem::Upstream(_) => (StatusCode::BAD_GATEWAY, "upstream"),
            Problem::Timeout => (StatusCode::SERVICE_UNAVAILABLE, "timeout"),
            Problem::Busy => (StatusCode::SERVICE_UNAVAILABLE, "busy"),
            Problem::Locked => (StatusCode::TOO_MANY_REQUESTS, "locked"),
            Problem::Internal => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let (status, slug, title) = self.row();
        let detail = match &self {
            Problem::Forbidden(roles) => Some(format!("allowed roles: {}", roles.join(", "))),
            Problem::BadBody(_, d)
            | Problem::BadQuery(d)
            | Problem::Refused(d)
            | Problem::Upstream(d)
            | Problem::NotFound(d)
            | Problem::UntrustedMessage(d)
            | Problem::NotForPeer(d) => Some(d.clone()),
            Problem::Fields(faults) => Some(faults.iter().map(|(f, d)| format!("{f}: {d}")).collect::<Vec<_>>().join("; ")),
            Problem::Unauthenticated | Problem::BadCredentials | Problem::Timeout | Problem::Busy | Problem::Locked | Problem::Internal => {
                None
            }
        };
        let errors = match &self {
            Problem::Fields(faults) => faults.iter().cloned().map(|(field, detail)| FieldError { field, detail }).collect(),
            _ => Vec::new(),
        };
        let body = Body { kind: format!("{TYPE_BASE}{slug}"), title, status: status.as_u16(), detail, errors };
        let mut response = (status, serde_json::to_string(&body).unwrap_or_default()).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if matches!(self, Problem::Unauthenticated | Problem::BadCredentials) {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if matches!(self, Problem::Busy) {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        if matches!(self, Problem::Locked) {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("900"));
        }
        response
    }
}

impl From<tocsin_store::StoreError> for Problem {
    fn from(e: tocsin_store::StoreError) -> Self {
        match e {
            tocsin_store::StoreError::Refused(detail) => Problem::Refused(detail),
            tocsin_store::StoreError::NotFound(detail) => Problem::NotFound(detail),
            other => {
                tracing::error!(error = %other, "store failure");
                Problem::Internal
            }
        }
    }
}

/// What a problem type means: the page its `type` points to.
#[utoipa::path(get, path = "/problems/{slug}", tag = "node", params(("slug" = String, Path, description = "The type's last segment")),
    responses((status = 200, description = "The problem type, described", body = String, content_type = "text/html"),
        (status = 404, description = "No such problem type", body = Body, content_type = "application/problem+json")))]
pub async fn describe(axum::extract::Path(slug): axum::extract::Path<String>) -> Response {
    let Some((slug, status, title, description)) = KINDS.iter().find(|k| k.0 == slug) else {
        return Problem::NotFound("no such problem type".to_owned()).into_response();
    };
    let page = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title></head><body>\n\
         <h1>{title}</h1>\n<p><code>{TYPE_BASE}{slug}</code> · HTTP {status}</p>\n<p>{description}</p>\n</body></html>\n",
        title = crate::node::html::escape_html(title),
        description = crate::node::html::escape_html(description),
    );
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response()
}

/// A well-formed body with a field the endpoint refuses (422).
pub(crate) fn unprocessable(detail: impl Into<String>) -> Problem {
    Problem::BadBody(StatusCode::UNPROCESSABLE_ENTITY, detail.into())
}

/// Refuses (422) a text field that is not `min` to `max` printable characters (blank counts as
/// empty when some text is required). Line breaks are text (a reason may run over lines, as the
/// model's order fields may); other control characters are not, and PostgreSQL refuses NUL.
pub(crate) fn printable(field: &'static str, text: &str, min: usize, max: usize) -> Result<(), Problem> {
    let n = text.chars().count();
    if n < min || n > max || text.chars().any(tocsin_model::is_hidden_control) || (min > 0 && text.trim().is_empty()) {
        return Err(unprocessable(format!("{field}: {min} to {max} printable characters")));
    }
    Ok(())
}

/// A JSON request body whose parsing is left to the handler, so that a caller without the
/// right role hears 403 before anything about the body.
#[derive(Debug)]
pub struct JsonBody<T>(Result<axum::Json<T>, axum::extract::rejection::JsonRejection>);

impl<T, S> axum::extract::FromRequest<S> for JsonBody<T>
where
    axum::Json<T>: axum::extract::FromRequest<S, Rejection = axum::extract::rejection::JsonRejection>,
    S: Send + Sync,
{
    type Rejection = std::convert::Infallible;

    async fn from_request(request: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(axum::Json::<T>::from_request(request, state).await))
    }
}

impl<T> JsonBody<T> {
    /// The body, or the problem with it: malformed (400), not JSON (415), too large (413), the
    /// wrong shape (422).
    pub fn parse(self) -> Result<T, Problem> {
        self.0.map(|axum::Json(body)| body).map_err(|e| Problem::BadBody(e.status(), e.body_text()))
    }
}
