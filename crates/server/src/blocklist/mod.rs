//! The authority's blocklist over HTTP, and its DNS Response Policy Zone for ISPs' resolvers.
//! Entries block a domain (with or without its subdomains) or a URL (for gates and search
//! engines: DNS cannot block a path); each is due for review at least every quarter (Décret
//! 2015-125 Art. 4): the node sets the dates and marks overdue entries, people do the review. `GET /v1/blocklist/rpz` serves the active domain entries as an RPZ zone file: an SOA
//! whose serial grows with every change, an NS, and for each domain a `CNAME` to the stop host
//! (a walled garden) or to the root (`CNAME .`, NXDOMAIN), with `*.domain` for its subdomains.

pub mod axfr;

use std::fmt::Write as _;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State as Shared};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use tocsin_model::{CanonicalUrl, DomainName, REVIEW_DAYS, RpzAction, Ulid};
use tocsin_store::{BlockEntry, NewBlockEntry};
pub use tocsin_wire::body::NoticeBody;
use utoipa::{IntoParams, ToSchema};

use crate::State;
use crate::node::accounts::Caller;
use crate::node::new_id;
use crate::node::problem::{JsonBody, Problem, printable, unprocessable};
use crate::node::time::now_ms;

/// Roles that keep the blocklist.
const KEEPERS: &[&str] = &["admin", "issuer"];
/// Roles that read it.
const READERS: &[&str] = &["admin", "issuer", "oversight", "auditor"];
/// Roles that pull the RPZ feed.
const RESOLVERS: &[&str] = &["admin", "operator"];
const DAY_MS: i64 = 86_400_000;

/// An entry, as shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct EntryView {
    id: String,
    /// `domain` or `url`.
    kind: String,
    /// The canonical domain or URL.
    target: String,
    subdomains: bool,
    /// `stop_page` or `nxdomain`; left out when the node's default applies.
    #[serde(skip_serializing_if = "Option::is_none")]
    action: Option<String>,
    legal_basis: String,
    reference: String,
    orders: Vec<String>,
    added_by: String,
    added_at: String,
    next_review: String,
    /// Whether the next review date has passed.
    review_overdue: bool,
    /// `active`, `lifted` or `expired`.
    state: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    ended_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ended_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    end_reason: Option<String>,
    /// When it ends on its own.
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_at: Option<String>,
    /// `terrorism`, `child_sexual_abuse` or `other`.
    reason: String,
    /// For the grounds of LCEN Art. 6-1: the prior removal request (`requested_at`, Unix ms, and
    /// `requested_of`) or why the publisher and host could not be reached (`unreachable`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    removal_request: Option<serde_json::Value>,
}

impl From<BlockEntry> for EntryView {
    fn from(e: BlockEntry) -> Self {
        let (ended_at, ended_by, end_reason) = match e.ended {
            Some((at, by, why)) => (Some(crate::node::time::rfc3339_ms(at)), Some(by), Some(why)),
            None => (None, None, None),
        };
        Self {
            review_overdue: e.state == tocsin_model::EntryState::Active && e.next_review < now_ms() as i64,
            id: e.id,
            kind: e.kind,
            target: e.target,
            subdomains: e.subdomains,
            action: e.action.map(|a| a.as_str().to_owned()),
            legal_basis: e.legal_basis,
            reference: e.reference,
            orders: e.orders,
            added_by: e.added_by,
            added_at: crate::node::time::rfc3339_ms(e.added_at),
            next_review: crate::node::time::rfc3339_ms(e.next_review),
            state: e.state.as_str().to_owned(),
            ended_at,
            ended_by,
            end_reason,
            expires_at: e.expires_at.map(crate::node::time::rfc3339_ms),
            reason: e.reason,
            removal_request: e.removal_request.as_deref().and_then(|r| serde_json::from_str(r).ok()),
        }
    }
}

/// A new entry: a domain or a URL.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddRequest {
    /// A domain name (for resolvers).
    #[serde(default)]
    #[schema(pattern = "^([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?[.])+[a-z][a-z0-9-]{0,61}[a-z0-9]$", max_length = 253)]
    domain: Option<String>,
    /// A URL (for gates and search engines).
    #[serde(default)]
    url: Option<String>,
    /// For a domain: its subdomains too.
    #[serde(default)]
    subdomains: bool,
    /// The law the block rests on.
    #[schema(min_length = 1, max_length = 500)]
    legal_basis: String,
    /// The authority's reference.
    #[serde(default)]
    reference: String,
    /// Orders the block follows from.
    #[serde(default)]
    orders: Vec<String>,
    /// `stop_page` or `nxdomain`, if not the node's default.
    #[serde(default)]
    action: Option<String>,
    /// Days to the first review (1 to 90; 90 when left out).
    #[serde(default)]
    review_days: Option<u32>,
    /// Days after which the block ends on its own (1 to 3,650; never when left out).
    #[serde(default)]
    expire_days: Option<u32>,
    /// Why: `terrorism` (C. pén. 421-2-5) or `child_sexual_abuse` (227-23), the grounds of LCEN
    /// Art. 6-1, or `other`.
    #[schema(value_type = String, pattern = "^(terrorism|child_sexual_abuse|other)$")]
    reason: String,
    /// For the grounds of LCEN Art. 6-1: when the publisher or host was asked to remove the
    /// content (RFC 3339), at least 24 hours before.
    #[serde(default)]
    removal_requested_at: Option<String>,
    /// Whom that request went to, and how.
    #[serde(default)]
    #[schema(max_length = 500)]
    removal_requested_of: Option<String>,
    /// Instead of a request: why the publisher and host could not be reached.
    #[serde(default)]
    #[schema(max_length = 500)]
    unreachable: Option<String>,
}

/// How long after the request to the publisher or host an address may be blocked, when the
/// content is still there (LCEN Art. 6-1: "en l'absence de retrait ... dans un délai de
/// vingt-quatre heures").
pub const LCEN_WAIT_MS: i64 = 24 * 3_600_000;

/// The prior removal request an entry on the grounds of LCEN Art. 6-1 needs, as kept (JSON), or
/// why it may not be added yet.
fn removal_request(
    state: &State,
    body: &AddRequest,
    reason: tocsin_model::BlockReason,
    action: Option<RpzAction>,
) -> Result<Option<String>, Problem> {
    let given = (&body.removal_requested_at, &body.removal_requested_of, &body.unreachable);
    if !reason.is_lcen() {
        return match given {
            (None, None, None) => Ok(None),
            _ => Err(unprocessable("a removal request is recorded only for the grounds of LCEN Art. 6-1 (terrorism, child_sexual_abuse)")),
        };
    }
    // Décret 2015-125: users are sent to the Ministry's information page, never told the
    // domain does not exist.
    if action == Some(RpzAction::Nxdomain) || state.config.stop_host.is_none() {
        return Err(unprocessable(
            "action: the grounds of LCEN Art. 6-1 send users to the information page (Décret 2015-125): no nxdomain, and the node needs --stop-host",
        ));
    }
    match given {
        (Some(at), Some(of), None) => {
            printable("removal_requested_of", of, 1, 500)?;
            let asked = crate::node::time::parse_rfc3339_ms(at)
                .ok_or_else(|| unprocessable(format!("removal_requested_at {at:?}: an RFC 3339 time such as 2026-12-06T09:30:00Z")))?;
            let now = now_ms() as i64;
            if asked > now {
                return Err(unprocessable("removal_requested_at: in the future"));
            }
            if now < asked + LCEN_WAIT_MS {
                return Err(unprocessable(format!(
                    "the publisher or host has until {} to remove the content (LCEN Art. 6-1: 24 hours after the request)",
                    crate::node::time::rfc3339_ms(asked + LCEN_WAIT_MS)
                )));
            }
            Ok(Some(serde_json::json!({ "requested_at": asked, "requested_of": of }).to_string()))
        }
        (None, None, Some(why)) => {
            printable("unreachable", why, 1, 500)?;
            Ok(Some(serde_json::json!({ "unreachable": why }).to_string()))
        }
        _ => Err(unprocessable(
            "the grounds of LCEN Art. 6-1 need the prior removal request (removal_requested_at and removal_requested_of), \
             or why the publisher and host could not be reached (unreachable)",
        )),
    }
}

/// Refuses an entry that would block more than a site: a public suffix with its subdomains
/// (every site registered under `co.uk` or `github.io`), the stop host (the page blocked users
/// are sent to), or the zone's own name.
fn refuse_what_must_stay_reachable(state: &State, domain: &DomainName, subdomains: bool) -> Result<(), Problem> {
    if subdomains && domain.is_public_suffix() {
        return Err(unprocessable(format!(
            "domain {domain}: a public suffix; with its subdomains it would block every site registered under it"
        )));
    }
    if let Some(stop) = &state.config.stop_host
        && (domain.as_str() == stop || (subdomains && domain.covers(stop)))
    {
        return Err(unprocessable(format!("domain {domain}: the stop host {stop}, where blocked users are sent, would be blocked too")));
    }
    let zone = &state.config.rpz_zone;
    let inside_zone = domain.as_str() == zone || domain.as_str().strip_suffix(zone.as_str()).is_some_and(|rest| rest.ends_with('.'));
    if inside_zone || (subdomains && domain.covers(zone)) {
        return Err(unprocessable(format!("domain {domain}: the policy zone's own name ({zone}) cannot be an entry")));
    }
    Ok(())
}

/// Adds an entry (issuer, admin); refused when the target is blocked already. Logged.
#[utoipa::path(post, path = "/v1/blocklist", operation_id = "add_block_entry", tag = "blocklist", security(("bearer" = [])), request_body = AddRequest,
    responses((status = 201, description = "Added", body = EntryView),
        (status = 409, description = "Blocked already", body = crate::node::problem::Body, content_type = "application/problem+json")))]
pub async fn add(
    caller: Caller,
    Shared(state): Shared<Arc<State>>,
    body: JsonBody<AddRequest>,
) -> Result<(StatusCode, Json<EntryView>), Problem> {
    caller.require(KEEPERS)?;
    let body = body.parse()?;
    let (kind, target) = match (&body.domain, &body.url) {
        (Some(domain), None) => {
            let domain = domain.parse::<DomainName>().map_err(|e| unprocessable(e.to_string()))?;
            refuse_what_must_stay_reachable(&state, &domain, body.subdomains)?;
            ("domain", domain.to_string())
        }
        (None, Some(url)) => {
            if body.subdomains {
                return Err(unprocessable("subdomains: only for a domain entry"));
            }
            let url = CanonicalUrl::parse(url).map_err(|e| unprocessable(format!("url: {e}")))?;
            ("url", url.as_str().to_owned())
        }
        _ => return Err(unprocessable("give either a domain or a url")),
    };
    printable("legal_basis", &body.legal_basis, 1, 500)?;
    printable("reference", &body.reference, 0, 200)?;
    if body.orders.len() > 100 || body.orders.iter().any(|o| o.parse::<Ulid>().is_err()) {
        return Err(unprocessable("orders: at most 100 order ids (ULIDs)"));
    }
    let action = body.action.as_deref().map(str::parse::<RpzAction>).transpose().map_err(|e| unprocessable(e.to_string()))?;
    let days = body.review_days.unwrap_or(REVIEW_DAYS);
    if !(1..=REVIEW_DAYS).contains(&days) {
        return Err(unprocessable(format!("review_days: 1 to {REVIEW_DAYS} (reviews at least every quarter)")));
    }
    if body.expire_days.is_some_and(|d| !(1..=3650).contains(&d)) {
        return Err(unprocessable("expire_days: 1 to 3650"));
    }
    let reason = body.reason.parse::<tocsin_model::BlockReason>().map_err(|e| unprocessable(e.to_string()))?;
    let removal_request = removal_request(&state, &body, reason, action)?;
    let new = NewBlockEntry {
        id: new_id()?.to_string(),
        kind,
        target,
        subdomains: body.subdomains,
        action,
        legal_basis: body.legal_basis,
        reference: body.reference,
        orders: body.orders,
        next_review: now_ms() as i64 + i64::from(days) * DAY_MS,
        expires_at: body.expire_days.map(|d| now_ms() as i64 + i64::from(d) * DAY_MS),
        reason: reason.as_str(),
        removal_request,
    };
    let entry = state.store.add_block_entry(&new, &caller.0.name).await?;
    Ok((StatusCode::CREATED, Json(entry.into())))
}

/// Every entry, newest first (issuer, admin, oversight, auditor).
#[utoipa::path(get, path = "/v1/blocklist", operation_id = "list_block_entries", tag = "blocklist", security(("bearer" = [])), params(ListQuery),
    responses((status = 200, description = "The entries", body = [EntryView])))]
pub async fn list(
    caller: Caller,
    Shared(state): Shared<Arc<State>>,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Vec<EntryView>>, Problem> {
    caller.require(READERS)?;
    let Query(query) = query.map_err(|e| Problem::BadQuery(e.body_text()))?;
    let entries = state.store.block_entries().await?.into_iter().map(EntryView::from);
    Ok(Json(entries.filter(|e| !query.overdue || e.review_overdue).collect()))
}

/// Which entries to list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only active entries whose review date has passed.
    #[serde(default)]
    overdue: bool,
}

/// One entry.
#[utoipa::path(get, path = "/v1/blocklist/{id}", operation_id = "show_block_entry", tag = "blocklist", security(("bearer" = [])), params(("id" = String, Path, description = "The entry")),
    responses((status = 200, description = "The entry", body = EntryView),
        (status = 404, description = "No such entry", body = crate::node::problem::Body, content_type = "application/problem+json")))]
pub async fn show(caller: Caller, Shared(state): Shared<Arc<State>>, Path(id): Path<String>) -> Result<Json<EntryView>, Problem> {
    caller.require(READERS)?;
    let entry = state
        .store
        .block_entry(&id)
        .await?
        .ok_or_else(|| Problem::NotFound(format!("no blocklist entry {:?}", id.chars().take(40).collect::<String>())))?;
    Ok(Json(entry.into()))
}

/// Why an entry is lifted.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LiftRequest {
    #[schema(min_length = 1, max_length = 1000)]
    reason: String,
}

/// Lifts an entry (issuer, admin): resolvers stop blocking it at their next refresh. Logged.
#[utoipa::path(post, path = "/v1/blocklist/{id}/lift", tag = "blocklist", security(("bearer" = [])), params(("id" = String, Path, description = "The entry")),
    request_body = LiftRequest,
    responses((status = 200, description = "Lifted", body = EntryView),
        (status = 404, description = "No such entry", body = crate::node::problem::Body, content_type = "application/problem+json"),
        (status = 409, description = "Not active", body = crate::node::problem::Body, content_type = "application/problem+json")))]
pub async fn lift(
    caller: Caller,
    Shared(state): Shared<Arc<State>>,
    Path(id): Path<String>,
    body: JsonBody<LiftRequest>,
) -> Result<Json<EntryView>, Problem> {
    caller.require(KEEPERS)?;
    let body = body.parse()?;
    printable("reason", &body.reason, 1, 1000)?;
    Ok(Json(state.store.lift_block_entry(&id, &caller.0.name, &body.reason).await?.into()))
}

/// A review's outcome.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewRequest {
    /// `keep` (the address is still unlawful: the next review is due in 90 days) or `lift`.
    #[schema(pattern = "^(keep|lift)$")]
    outcome: String,
    /// What was checked.
    #[schema(min_length = 1, max_length = 1000)]
    note: String,
}

/// Records the quarterly check of an entry (issuer, admin). Logged.
#[utoipa::path(post, path = "/v1/blocklist/{id}/review", tag = "blocklist", security(("bearer" = [])), params(("id" = String, Path, description = "The entry")),
    request_body = ReviewRequest,
    responses((status = 200, description = "Reviewed", body = EntryView),
        (status = 404, description = "No such entry", body = crate::node::problem::Body, content_type = "application/problem+json"),
        (status = 409, description = "Not active", body = crate::node::problem::Body, content_type = "application/problem+json")))]
pub async fn review(
    caller: Caller,
    Shared(state): Shared<Arc<State>>,
    Path(id): Path<String>,
    body: JsonBody<ReviewRequest>,
) -> Result<Json<EntryView>, Problem> {
    caller.require(KEEPERS)?;
    let body = body.parse()?;
    let keep = match body.outcome.as_str() {
        "keep" => true,
        "lift" => false,
        other => return Err(unprocessable(format!("outcome {other:?}: keep or lift"))),
    };
    printable("note", &body.note, 1, 1000)?;
    let next = now_ms() as i64 + i64::from(REVIEW_DAYS) * DAY_MS;
    Ok(Json(state.store.review_block_entry(&id, &caller.0.name, keep, &body.note, next).await?.into()))
}

/// Where resolvers that cannot send headers put their token.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RpzQuery {
    /// An API token of the operator or admin role, for resolvers that cannot send an
    /// `Authorization` header (Unbound's `rpz: url:`). Prefer the header where possible: a URL
    /// can end up in logs (this node logs paths without their query).
    #[serde(default)]
    token: Option<String>,
}

/// The blocklist's domains as a DNS Response Policy Zone (operator, admin): load it into a
/// resolver (Unbound: `rpz:` with `url:`), which then answers blocked names with the stop host
/// or NXDOMAIN.
#[utoipa::path(get, path = "/v1/blocklist/rpz", tag = "blocklist", security(("bearer" = [])), params(RpzQuery),
    responses((status = 200, description = "The zone file", body = String, content_type = "text/dns"),
        (status = 401, description = "No valid token", body = crate::node::problem::Body, content_type = "application/problem+json"),
        (status = 403, description = "Not an operator or admin", body = crate::node::problem::Body, content_type = "application/problem+json")))]
pub async fn rpz(
    Shared(state): Shared<Arc<State>>,
    headers: HeaderMap,
    query: Result<Query<RpzQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<impl IntoResponse, Problem> {
    let Query(query) = query.map_err(|e| Problem::BadQuery(e.body_text()))?;
    let bearer = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer ")).map(str::trim);
    let token = bearer.or(query.token.as_deref()).ok_or(Problem::Unauthenticated)?;
    let account = state.store.authenticate(token).await?.ok_or(Problem::Unauthenticated)?;
    Caller(account).require(RESOLVERS)?;
    let (serial, entries) = state.store.rpz_contents().await?;
    Ok(([(header::CONTENT_TYPE, "text/dns")], render_rpz(serial, &entries, state.config.stop_host.as_deref())))
}

/// One record of the zone; owners are relative to the zone's origin (`None`: the apex).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ZoneRecord {
    pub(crate) owner: Option<String>,
    pub(crate) data: ZoneData,
    /// The entry it comes from.
    pub(crate) entry: Option<String>,
}

/// What a zone record says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ZoneData {
    /// The SOA, with its serial (RFC 1982 arithmetic: it wraps at 2^32).
    Soa(u32),
    /// The NS (RPZ zones need one; resolvers do not use it).
    Ns,
    /// A CNAME to this host, or to the root (`None`: NXDOMAIN).
    Cname(Option<String>),
}

/// SOA timers: refresh, retry, expire, minimum; TTL of every record.
pub(crate) const SOA_TIMERS: [u32; 4] = [60, 60, 604_800, 60];
pub(crate) const TTL: u32 = 60;

/// The zone's records, apex first: the SOA, the NS, then for each active domain a CNAME (and one
/// for `*.domain` when its subdomains are blocked).
pub(crate) fn zone_records(serial: i64, entries: &[BlockEntry], stop_host: Option<&str>) -> Vec<ZoneRecord> {
    let serial = serial.rem_euclid(1 << 32) as u32;
    let mut records = vec![
        ZoneRecord { owner: None, data: ZoneData::Soa(serial), entry: None },
        ZoneRecord { owner: None, data: ZoneData::Ns, entry: None },
    ];
    for e in entries {
        let target = match (e.action, stop_host) {
            (Some(RpzAction::Nxdomain), _) | (_, None) => None,
            (_, Some(host)) => Some(host.to_owned()),
        };
        records.push(ZoneRecord { owner: Some(e.target.clone()), data: ZoneData::Cname(target.clone()), entry: Some(e.id.clone()) });
        if e.subdomains {
            records.push(ZoneRecord { owner: Some(format!("*.{}", e.target)), data: ZoneData::Cname(target), entry: Some(e.id.clone()) });
        }
    }
    records
}

/// The zone file: names relative to the zone's origin, which the resolver's configuration names.
pub fn render_rpz(serial: i64, entries: &[BlockEntry], stop_host: Option<&str>) -> String {
    let mut zone = String::new();
    let _ = writeln!(zone, "; Tocsin blocklist, {} domain entries", entries.len());
    let _ = writeln!(zone, "$TTL {TTL}");
    for r in zone_records(serial, entries, stop_host) {
        let owner = r.owner.as_deref().unwrap_or("@");
        let comment = r.entry.map(|id| format!(" ; {id}")).unwrap_or_default();
        let [refresh, retry, expire, minimum] = SOA_TIMERS;
        let _ = match r.data {
            ZoneData::Soa(serial) => {
                writeln!(zone, "{owner} IN SOA localhost. hostmaster.localhost. {serial} {refresh} {retry} {expire} {minimum}")
            }
            ZoneData::Ns => writeln!(zone, "{owner} IN NS localhost."),
            ZoneData::Cname(Some(host)) => writeln!(zone, "{owner} CNAME {host}.{comment}"),
            ZoneData::Cname(None) => writeln!(zone, "{owner} CNAME .{comment}"),
        };
    }
    zone
}

/// Whether the reader asked for French before English (`Accept-Language`, RFC 9110 §12.5.4).
pub(crate) fn prefers_french(headers: &HeaderMap) -> bool {
    let Some(accept) = headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()) else { return false };
    let mut best: Option<(f32, bool)> = None;
    for item in accept.split(',') {
        let mut parts = item.split(';');
        let tag = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = parts.find_map(|p| p.trim().strip_prefix("q=").and_then(|q| q.parse::<f32>().ok())).unwrap_or(1.0);
        let french = tag == "fr" || tag.starts_with("fr-");
        if (french || tag == "en" || tag.starts_with("en-")) && q > 0.0 && best.is_none_or(|(b, _)| q > b) {
            best = Some((q, french));
        }
    }
    best.is_some_and(|(_, french)| french)
}

/// The stop page: what a user whose resolver sent a blocked domain here sees, whatever the path
/// (451, RFC 7725), naming the authority, the legal basis, the reference and the date, and how to
/// contest; in French or English by `Accept-Language`. Other hosts get 404.
pub async fn stop_page(Shared(state): Shared<Arc<State>>, headers: HeaderMap) -> Result<axum::response::Response, Problem> {
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
    let host = host.rsplit_once(':').filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit())).map_or(host, |(h, _)| h);
    let Ok(domain) = host.parse::<DomainName>() else { return Err(Problem::NotFound("no such page".to_owned())) };
    let entry = state.store.blocking_entry(domain.as_str()).await?.ok_or_else(|| Problem::NotFound("no such page".to_owned()))?;
    let french = prefers_french(&headers);
    let e = crate::node::html::escape_html;
    let date = crate::node::time::rfc3339_ms(entry.added_at);
    let date = &date[..10];
    // The reason the entry gives, in the words of the Code pénal articles LCEN Art. 6-1 cites;
    // for another basis, only the basis. The time to go to court is the administrative courts'
    // own (code de justice administrative), not a figure of the Décret: the page says where to
    // go, not how long.
    let (why_fr, why_en) = match entry.reason.as_str() {
        "terrorism" => (
            ", parce que le site diffuse des contenus provoquant à des actes de terrorisme ou en faisant l'apologie (code pénal, art. 421-2-5)",
            ", because the site spreads content inciting or glorifying acts of terrorism (Code pénal, Art. 421-2-5)",
        ),
        "child_sexual_abuse" => (
            ", parce que le site diffuse des images d'abus sexuels sur des mineurs (code pénal, art. 227-23)",
            ", because the site spreads images of child sexual abuse (Code pénal, Art. 227-23)",
        ),
        _ => ("", ""),
    };
    let page = if french {
        format!(
            "<!doctype html>\n<html lang=\"fr\"><head><meta charset=\"utf-8\"><title>Accès bloqué</title></head><body>\n\
             <h1>L'accès à ce site a été bloqué</h1>\n\
             <p>L'accès à <code>{domain}</code> est bloqué à la demande de <strong>{authority}</strong>{why_fr}.</p>\n\
             <dl><dt>Fondement juridique</dt><dd>{basis}</dd><dt>Référence</dt><dd>{reference}</dd><dt>Depuis le</dt><dd>{date}</dd></dl>\n\
             <p>Vous pouvez contester cette mesure devant le tribunal administratif compétent, dans les délais du code de justice \
             administrative. Une personnalité qualifiée indépendante, désignée par l'Arcom, contrôle la liste des sites bloqués et \
             peut en recommander le retrait.</p>\n\
             </body></html>\n",
            domain = e(domain.as_str()),
            authority = e(&state.config.name),
            basis = e(&entry.legal_basis),
            reference = e(&entry.reference),
        )
    } else {
        format!(
            "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Access blocked</title></head><body>\n\
             <h1>Access to this site has been blocked</h1>\n\
             <p>Access to <code>{domain}</code> is blocked at the request of <strong>{authority}</strong>{why_en}.</p>\n\
             <dl><dt>Legal basis</dt><dd>{basis}</dd><dt>Reference</dt><dd>{reference}</dd><dt>Since</dt><dd>{date}</dd></dl>\n\
             <p>You may contest this measure before the competent administrative court, within the time the code of administrative \
             justice allows. An independent qualified person, designated by Arcom, reviews the list of blocked sites and may recommend \
             lifting a block.</p>\n\
             </body></html>\n",
            domain = e(domain.as_str()),
            authority = e(&state.config.name),
            basis = e(&entry.legal_basis),
            reference = e(&entry.reference),
        )
    };
    let blocked_by = state.config.public_url.clone().unwrap_or_else(|| format!("http://{}", state.config.listen));
    let mut response = (StatusCode::UNAVAILABLE_FOR_LEGAL_REASONS, page).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, axum::http::HeaderValue::from_static("text/html; charset=utf-8"));
    h.insert(header::CONTENT_LANGUAGE, axum::http::HeaderValue::from_static(if french { "fr" } else { "en" }));
    h.insert(header::VARY, axum::http::HeaderValue::from_static("Accept-Language"));
    if let Ok(link) = axum::http::HeaderValue::from_str(&format!("<{blocked_by}>; rel=\"blocked-by\"")) {
        h.insert(header::LINK, link);
    }
    Ok(response)
}

/// Runs until the process ends, every second: entries past their end date leave the zone, and
/// the qualified person is told of every change since it was last told.
pub async fn run_ticker(state: Arc<State>) {
    loop {
        if let Err(e) = tell_oversight(&state).await {
            tracing::warn!(error = %e, "telling the qualified person");
        }
        // Blocklist entries past their end date leave the zone.
        match state.store.expire_block_entries(now_ms() as i64).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(entries = n, "blocklist entries expired"),
            Err(e) => tracing::warn!(error = %e, "expiring blocklist entries"),
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
}

/// Tells each oversight peer of the blocklist changes in this node's log since it was last told
/// (at most 500 entries a round): every entry added, lifted, expired or reviewed reaches the
/// qualified person as a signed message (LCEN Art. 6-1; Décret 2015-125 Art. 4 for lifted ones,
/// "sans délai"). Called every second; the log is the record, so nothing is missed across
/// restarts.
pub async fn tell_oversight(state: &State) -> Result<(), tocsin_store::StoreError> {
    let overseers: Vec<_> = state.store.peers().await?.into_iter().filter(|p| p.roles.iter().any(|r| r == "oversight")).collect();
    if overseers.is_empty() {
        return Ok(());
    }
    let (size, _) = state.store.log_head().await?;
    for peer in overseers {
        let from = state.store.oversight_cursor(&peer.fingerprint).await?;
        if from >= size {
            continue;
        }
        let to = size.min(from + 500);
        let mut messages = Vec::new();
        for (index, data) in (from..).zip(state.store.log_entries(from, to).await?) {
            let Ok(entry) = serde_json::from_slice::<serde_json::Value>(&data) else { continue };
            let notice = NoticeBody { log_index: i64::try_from(index).unwrap_or(i64::MAX), entry };
            if !notice.holds() {
                continue;
            }
            let Ok(id) = new_id() else { return Ok(()) };
            let jws = crate::node::seal(state, id, &peer.fingerprint, &tocsin_wire::Body::BlocklistNotice(notice));
            messages.push((id.to_string(), peer.url.clone(), jws));
        }
        let told = messages.len();
        state.store.tell_oversight(&peer.fingerprint, from, to, &messages).await?;
        if told > 0 {
            tracing::info!(peer = %peer.name, notices = told, "blocklist changes sent to the qualified person");
            state.outbox.notify_one();
        }
    }
    Ok(())
}

/// A notice as the oversight node shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct NoticeView {
    /// The authority (peer name, or its key's fingerprint if no longer a peer).
    authority: String,
    /// Its index in the authority's log.
    log_index: i64,
    /// The authority's log entry.
    #[schema(value_type = Object)]
    entry: serde_json::Value,
    /// When it arrived (RFC 3339).
    received_at: String,
}

/// What the authorities' nodes told this oversight node of their blocklists, newest first
/// (oversight, admin, auditor).
#[utoipa::path(get, path = "/v1/blocklist/notices", operation_id = "list_blocklist_notices", tag = "blocklist", security(("bearer" = [])),
    responses((status = 200, description = "Newest first", body = [NoticeView])))]
pub async fn notices(caller: Caller, Shared(state): Shared<Arc<State>>) -> Result<Json<Vec<NoticeView>>, Problem> {
    caller.require(&["oversight", "admin", "auditor"])?;
    let names = crate::node::peers::peer_names(&state).await?;
    let notices = state.store.blocklist_notices().await?;
    Ok(Json(
        notices
            .into_iter()
            .map(|n| NoticeView {
                authority: names.get(&n.peer).cloned().unwrap_or(n.peer),
                log_index: n.log_index,
                entry: serde_json::from_str(&n.entry).unwrap_or_default(),
                received_at: crate::node::time::rfc3339_ms(n.received_at),
            })
            .collect(),
    ))
}

/// A recommendation, as shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecommendationView {
    id: String,
    /// The blocklist entry.
    entry_id: String,
    /// `lift`, `amend` or `keep`.
    recommendation: String,
    reasons: String,
    by: String,
    at: String,
    /// `accepted` or `declined`; left out while unanswered.
    #[serde(skip_serializing_if = "Option::is_none")]
    answer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    answer_note: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    answered_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    answered_at: Option<String>,
}

impl From<tocsin_store::Recommendation> for RecommendationView {
    fn from(r: tocsin_store::Recommendation) -> Self {
        let (answer, answer_note, answered_by, answered_at) = match r.answer {
            Some((a, note, by, at)) => (Some(a), Some(note), Some(by), Some(crate::node::time::rfc3339_ms(at))),
            None => (None, None, None, None),
        };
        Self {
            id: r.id,
            entry_id: r.entry_id,
            recommendation: r.recommendation,
            reasons: r.reasons,
            by: r.by,
            at: crate::node::time::rfc3339_ms(r.at),
            answer,
            answer_note,
            answered_by,
            answered_at,
        }
    }
}

/// The qualified person's recommendation.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecommendRequest {
    /// `lift`, `amend` or `keep`.
    #[schema(pattern = "^(lift|amend|keep)$")]
    recommendation: String,
    /// Why.
    #[schema(min_length = 1, max_length = 4000)]
    reasons: String,
}

/// Records a recommendation on an entry (oversight role only); the authority must answer it.
#[utoipa::path(post, path = "/v1/blocklist/{id}/recommendations", tag = "blocklist", security(("bearer" = [])), params(("id" = String, Path, description = "The entry")),
    request_body = RecommendRequest,
    responses((status = 201, description = "Recorded", body = RecommendationView),
        (status = 404, description = "No such entry", body = crate::node::problem::Body, content_type = "application/problem+json")))]
pub async fn recommend(
    caller: Caller,
    Shared(state): Shared<Arc<State>>,
    Path(id): Path<String>,
    body: JsonBody<RecommendRequest>,
) -> Result<(StatusCode, Json<RecommendationView>), Problem> {
    caller.require(&["oversight"])?;
    let body = body.parse()?;
    if !["lift", "amend", "keep"].contains(&body.recommendation.as_str()) {
        return Err(unprocessable(format!(
            "recommendation {:?}: lift, amend or keep",
            body.recommendation.chars().take(40).collect::<String>()
        )));
    }
    printable("reasons", &body.reasons, 1, 4000)?;
    let made = state.store.recommend(&new_id()?.to_string(), &id, &body.recommendation, &body.reasons, &caller.0.name).await?;
    Ok((StatusCode::CREATED, Json(made.into())))
}

/// Which recommendations to list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RecommendationsQuery {
    /// Only those the authority has not answered.
    #[serde(default)]
    unanswered: bool,
}

/// Recommendations, newest first (oversight, issuer, admin, auditor).
#[utoipa::path(get, path = "/v1/recommendations", tag = "blocklist", security(("bearer" = [])), params(RecommendationsQuery),
    responses((status = 200, description = "The recommendations", body = [RecommendationView])))]
pub async fn recommendations(
    caller: Caller,
    Shared(state): Shared<Arc<State>>,
    query: Result<Query<RecommendationsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Vec<RecommendationView>>, Problem> {
    caller.require(READERS)?;
    let Query(query) = query.map_err(|e| Problem::BadQuery(e.body_text()))?;
    let all = state.store.recommendations().await?;
    Ok(Json(all.into_iter().filter(|r| !query.unanswered || r.answer.is_none()).map(Into::into).collect()))
}

/// The authority's answer.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswerRequest {
    /// Whether the authority follows the recommendation (an accepted `lift` lifts the entry).
    accept: bool,
    /// Why, for the qualified person.
    #[schema(min_length = 1, max_length = 4000)]
    note: String,
}

/// Answers a recommendation (issuer, admin). Logged.
#[utoipa::path(post, path = "/v1/recommendations/{id}/answer", tag = "blocklist", security(("bearer" = [])), params(("id" = String, Path, description = "The recommendation")),
    request_body = AnswerRequest,
    responses((status = 200, description = "Answered", body = RecommendationView),
        (status = 404, description = "No such recommendation", body = crate::node::problem::Body, content_type = "application/problem+json"),
        (status = 409, description = "Answered already", body = crate::node::problem::Body, content_type = "application/problem+json")))]
pub async fn answer(
    caller: Caller,
    Shared(state): Shared<Arc<State>>,
    Path(id): Path<String>,
    body: JsonBody<AnswerRequest>,
) -> Result<Json<RecommendationView>, Problem> {
    caller.require(KEEPERS)?;
    let body = body.parse()?;
    printable("note", &body.note, 1, 4000)?;
    Ok(Json(state.store.answer_recommendation(&id, body.accept, &body.note, &caller.0.name).await?.into()))
}

/// A listed URL, for a gate or a search engine.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListedUrl {
    /// The canonical URL.
    url: String,
    /// The entry.
    id: String,
    legal_basis: String,
    reference: String,
    since: String,
}

/// The active URL entries (operator, admin): what platforms' gates refuse and search engines
/// stop listing (Décret 2015-253), since DNS cannot block a path.
#[utoipa::path(get, path = "/v1/blocklist/urls", tag = "blocklist", security(("bearer" = [])),
    responses((status = 200, description = "The listed URLs", body = [ListedUrl])))]
pub async fn urls(caller: Caller, Shared(state): Shared<Arc<State>>) -> Result<Json<Vec<ListedUrl>>, Problem> {
    caller.require(&["admin", "operator", "oversight", "auditor", "issuer"])?;
    let entries = state.store.block_entries().await?;
    Ok(Json(
        entries
            .into_iter()
            .filter(|e| e.kind == "url" && e.state == tocsin_model::EntryState::Active)
            .map(|e| ListedUrl {
                url: e.target,
                id: e.id,
                legal_basis: e.legal_basis,
                reference: e.reference,
                since: crate::node::time::rfc3339_ms(e.added_at),
            })
            .collect(),
    ))
}

/// The blocklist API: entries, the RPZ zone, notices, recommendations, for [`crate::api`] to merge.
pub(crate) fn routes() -> axum::Router<Arc<crate::State>> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/v1/blocklist", get(list).post(add))
        .route("/v1/blocklist/rpz", get(rpz))
        .route("/v1/blocklist/urls", get(urls))
        .route("/v1/blocklist/notices", get(notices))
        .route("/v1/blocklist/{id}", get(show))
        .route("/v1/blocklist/{id}/lift", post(lift))
        .route("/v1/blocklist/{id}/review", post(review))
        .route("/v1/blocklist/{id}/recommendations", post(recommend))
        .route("/v1/recommendations", get(recommendations))
        .route("/v1/recommendations/{id}/answer", post(answer))
}
