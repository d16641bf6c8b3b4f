//! The platform's gate: the set of blocked URLs in memory, updated in the step that records each
//! block and rebuilt from the database at start; `GET /v1/gate/check` for a reverse proxy's
//! `auth_request` (204 allowed, 403 blocked) and `GET /v1/gate/notice` for the page users see
//! (451, RFC 7725).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};

use axum::extract::{Query, State as Shared};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tocsin_model::CanonicalUrl;
use utoipa::IntoParams;

use crate::State;
use crate::node::accounts::Caller;
use crate::node::html::escape_html;
use crate::node::listen::PeerAddr;
use crate::node::problem::Problem;
use crate::node::time::now_ms;

/// Blocked URLs, each under its entry (`host/path[?query]` of the canonical URL, without the
/// scheme: the same content is blocked over http and https), with every order that blocks it. A
/// request is looked up under each of its Safe Browsing expressions
/// ([`CanonicalUrl::expressions`]), so an order for a path covers every query on it and an
/// order for a folder everything below it.
#[derive(Debug, Default)]
pub struct Gate {
    blocked: RwLock<HashMap<String, Vec<tocsin_store::Block>>>,
    /// Paths compared without case, for origins that serve them so.
    fold_case: bool,
}

impl Gate {
    /// An empty gate; `fold_case` when the origin serves a path in any case as the same file.
    pub fn new(fold_case: bool) -> Gate {
        Gate { blocked: RwLock::default(), fold_case }
    }

    fn key(&self, expression: String) -> String {
        // Canonical URLs are ASCII, and their hosts lowercase already.
        if self.fold_case { expression.to_ascii_lowercase() } else { expression }
    }

    /// Adds blocks (after they are committed); a URL several orders block is kept once per order.
    pub fn add(&self, blocks: impl IntoIterator<Item = tocsin_store::Block>) {
        let mut map = self.blocked.write().unwrap_or_else(|e| e.into_inner());
        for b in blocks {
            if let Ok(url) = CanonicalUrl::parse(&b.url) {
                let orders = map.entry(self.key(url.expression())).or_default();
                if !orders.iter().any(|o| o.order_id == b.order_id) {
                    orders.push(b);
                }
            }
        }
    }

    /// Lifts every block an order made (after the lifting is committed); a URL another order
    /// still blocks stays blocked.
    pub fn remove_order(&self, order_id: &str) {
        let mut map = self.blocked.write().unwrap_or_else(|e| e.into_inner());
        map.retain(|_, orders| {
            orders.retain(|b| b.order_id != order_id);
            !orders.is_empty()
        });
    }

    /// The block on `url`, if any: the first order that blocked the nearest entry covering it.
    pub fn lookup(&self, url: &CanonicalUrl) -> Option<tocsin_store::Block> {
        let map = self.blocked.read().unwrap_or_else(|e| e.into_inner());
        // A removal order is named before an accepted referral of the same content: the notice
        // then cites the order.
        url.expressions()
            .into_iter()
            .find_map(|e| map.get(&self.key(e)).and_then(|blocks| blocks.iter().find(|b| !b.referral).or(blocks.first()).cloned()))
    }

    /// How many entries are blocked.
    pub fn len(&self) -> usize {
        self.blocked.read().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Whether nothing is blocked.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// `?url=` of the gate's endpoints.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UrlQuery {
    /// The URL asked about (otherwise `X-Original-Host` and `X-Original-URI`, as nginx's
    /// `auth_request` sends them).
    url: Option<String>,
}

/// The URL a gate request asks about.
fn asked_url(query: &UrlQuery, headers: &HeaderMap) -> Result<CanonicalUrl, Problem> {
    let text = match &query.url {
        Some(url) => url.clone(),
        None => {
            let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
            let (Some(host), Some(uri)) = (header("x-original-host"), header("x-original-uri")) else {
                return Err(Problem::BadQuery("give ?url= or the X-Original-Host and X-Original-URI headers".to_owned()));
            };
            let scheme = header("x-original-proto").unwrap_or_else(|| "http".to_owned());
            format!("{scheme}://{host}{uri}")
        }
    };
    CanonicalUrl::parse(&text).map_err(|e| Problem::BadQuery(format!("url: {e}")))
}

/// Loopback callers (the reverse proxy beside the node) need no token; others need an operator
/// or admin token.
async fn allowed(parts_addr: Option<SocketAddr>, caller: Result<Caller, Problem>) -> Result<(), Problem> {
    if parts_addr.is_some_and(|a| a.ip().is_loopback()) {
        return Ok(());
    }
    caller?.require(&["operator", "admin"])
}

/// Whether a URL may be served: 204, or 403 with the blocking order's reference.
#[utoipa::path(get, path = "/v1/gate/check", tag = "gate", params(UrlQuery),
    responses(
        (status = 204, description = "Allowed"),
        (status = 403, description = "Blocked; `Tocsin-Order-Reference` names the order"),
    ))]
pub async fn check(
    Shared(state): Shared<Arc<State>>,
    PeerAddr(addr): PeerAddr,
    caller: Result<Caller, Problem>,
    query: Result<Query<UrlQuery>, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    allowed(addr, caller).await?;
    let Query(query) = query.map_err(|e| Problem::BadQuery(e.body_text()))?;
    let url = asked_url(&query, &headers)?;
    Ok(match state.orders.gate.lookup(&url) {
        None => StatusCode::NO_CONTENT.into_response(),
        Some(block) => {
            let mut response = StatusCode::FORBIDDEN.into_response();
            // A confidential order's reference is not for whoever sees the proxy's headers.
            if !block.is_confidential(now_ms() as i64)
                && let Ok(value) = HeaderValue::from_str(&block.reference)
            {
                response.headers_mut().insert("tocsin-order-reference", value);
            }
            response
        }
    })
}

/// The page shown instead of blocked content: 451 Unavailable For Legal Reasons (RFC 7725),
/// naming the authority, the legal basis, the reference and the date, and how to complain.
#[utoipa::path(get, path = "/v1/gate/notice", tag = "gate", params(UrlQuery),
    responses(
        (status = 451, description = "The URL is blocked: the notice", body = String, content_type = "text/html",
            headers(("Link" = String, description = "`<node URL>; rel=\"blocked-by\"`: who blocks it (RFC 7725 §4)"))),
        (status = 404, description = "The URL is not blocked", body = crate::node::problem::Body, content_type = "application/problem+json"),
    ))]
pub async fn notice(
    Shared(state): Shared<Arc<State>>,
    query: Result<Query<UrlQuery>, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let Query(query) = query.map_err(|e| Problem::BadQuery(e.body_text()))?;
    let url = asked_url(&query, &headers)?;
    let block = state.orders.gate.lookup(&url).ok_or_else(|| Problem::NotFound(format!("{url} is not blocked")))?;
    let page = if block.is_confidential(now_ms() as i64) {
        // TCO Art. 11(3): while the authority says the content provider may not be told, the
        // public learns only that the content is unavailable, not who ordered it or why.
        format!(
            "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Unavailable for legal reasons</title></head><body>\n\
             <h1>This content is unavailable for legal reasons</h1>\n\
             <p>{platform} has disabled access to <code>{url}</code> for legal reasons.</p>\n\
             </body></html>\n",
            platform = escape_html(&state.config.name),
            url = escape_html(url.as_str()),
        )
    } else if block.referral {
        // A referral is not a procedure of the TCO Regulation: the platform removed the content
        // under its own terms, and the notice says so rather than citing an order and courts.
        let date = crate::node::time::rfc3339_ms(block.blocked_at);
        format!(
            "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Unavailable</title></head><body>\n\
             <h1>This content is unavailable</h1>\n\
             <p>{platform} has disabled access to <code>{url}</code> because it breaches {platform}'s terms of service. \
             {platform} checked it after a referral by <strong>{authority}</strong>; this is not a removal order.</p>\n\
             <dl><dt>Referral</dt><dd>{reference}</dd><dt>Since</dt><dd>{date}</dd></dl>\n\
             <p>If you provided this content, you may contest the decision with {platform}.</p>\n\
             </body></html>\n",
            platform = escape_html(&state.config.name),
            url = escape_html(url.as_str()),
            authority = escape_html(&block.authority),
            reference = escape_html(&block.reference),
        )
    } else {
        // What applies to a removal order: the reasons or a copy of the order on request
        // (Art. 11(2)), the courts of the issuing Member State (Art. 9), and scrutiny by the
        // authority of the platform's Member State (Art. 4(4)). Art. 10 concerns removals under
        // specific measures, not orders.
        let date = crate::node::time::rfc3339_ms(block.blocked_at);
        format!(
            "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Unavailable for legal reasons</title></head><body>\n\
             <h1>This content is unavailable for legal reasons</h1>\n\
             <p>{platform} has disabled access to <code>{url}</code> in all Member States of the European Union on a removal order \
             of <strong>{authority}</strong> (Regulation (EU) 2021/784, Art. 3).</p>\n\
             <dl><dt>Reference</dt><dd>{reference}</dd><dt>Legal basis</dt><dd>{basis}</dd><dt>Since</dt><dd>{date}</dd></dl>\n\
             <p>If you provided this content, you may ask {platform} for the reasons for the removal or for a copy of the order \
             (Art. 11(2)). You may challenge the order before the courts of the Member State of the authority that issued it \
             (Art. 9), and ask the competent authority of the Member State where {platform} has its main establishment or legal \
             representative to scrutinise it (Art. 4(4)).</p>\n\
             </body></html>\n",
            platform = escape_html(&state.config.name),
            url = escape_html(url.as_str()),
            authority = escape_html(&block.authority),
            reference = escape_html(&block.reference),
            basis = escape_html(&block.legal_basis),
        )
    };
    let blocked_by = state.config.public_url.clone().unwrap_or_else(|| format!("http://{}", state.config.listen));
    let mut response = (StatusCode::UNAVAILABLE_FOR_LEGAL_REASONS, page).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    if let Ok(link) = HeaderValue::from_str(&format!("<{blocked_by}>; rel=\"blocked-by\"")) {
        h.insert(header::LINK, link);
    }
    Ok(response)
}
