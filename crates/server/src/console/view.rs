//! The console's frame: the reader's language, the session behind a page, the layout with the
//! navigation its roles may use, and the in-process calls to the node's own API through which
//! every page reads and every form writes (so the console checks roles and fields exactly as the
//! API does).

use std::sync::Arc;

use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::{SESSION, cookie, set_cookie};
use crate::State;
use crate::node::html::escape_html as e;
use crate::node::problem::Problem;

/// The two languages of the console.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lang {
    En,
    Fr,
}

impl Lang {
    /// The text in this language.
    pub(crate) fn t(self, en: &'static str, fr: &'static str) -> &'static str {
        match self {
            Lang::En => en,
            Lang::Fr => fr,
        }
    }

    pub(crate) fn code(self) -> &'static str {
        self.t("en", "fr")
    }
}

/// The language cookie set by the switch, else `Accept-Language`.
pub(crate) fn lang(headers: &HeaderMap) -> Lang {
    match cookie(headers, LANG) {
        Some("fr") => Lang::Fr,
        Some("en") => Lang::En,
        _ if crate::blocklist::prefers_french(headers) => Lang::Fr,
        _ => Lang::En,
    }
}

pub(crate) const LANG: &str = "tocsin_lang";

/// A signed-in reader of a page.
pub(crate) struct Session {
    pub account: tocsin_store::Account,
    token: String,
    pub lang: Lang,
    /// The code every form of the page repeats.
    pub csrf: String,
}

impl Session {
    /// The account holds one of `roles`.
    pub(crate) fn has(&self, roles: &[&str]) -> bool {
        self.account.roles.iter().any(|r| roles.contains(&r.as_str()))
    }

    /// The hidden field that carries the form's CSRF code.
    pub(crate) fn csrf_field(&self) -> String {
        format!("<input type=\"hidden\" name=\"csrf\" value=\"{}\">", self.csrf)
    }

    /// Calls the node's own API as this account: the answer's status and JSON body (a problem
    /// document for a refusal).
    pub(crate) async fn api(
        &self,
        state: &Arc<State>,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(StatusCode, Value), Problem> {
        use tower::ServiceExt;
        let request = axum::http::Request::builder()
            .method(method)
            .uri(path)
            .header(header::AUTHORIZATION, format!("Bearer {}", self.token))
            .header(header::CONTENT_TYPE, "application/json");
        let body = body.map(Value::to_string).unwrap_or_default();
        let request = request.body(axum::body::Body::from(body)).map_err(|_| Problem::Internal)?;
        let response = crate::api(state.clone()).oneshot(request).await.map_err(|_| Problem::Internal)?;
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 64 * 1024 * 1024).await.map_err(|_| Problem::Internal)?;
        Ok((status, serde_json::from_slice(&bytes).unwrap_or(Value::Null)))
    }

    /// `PUT path` on the node's own API with `bytes` as the body (a file a form uploaded): the
    /// answer's status and JSON body.
    pub(crate) async fn put_bytes(&self, state: &Arc<State>, path: &str, bytes: Vec<u8>) -> Result<(StatusCode, Value), Problem> {
        use tower::ServiceExt;
        let request = axum::http::Request::builder()
            .method(Method::PUT)
            .uri(path)
            .header(header::AUTHORIZATION, format!("Bearer {}", self.token))
            .header(header::CONTENT_TYPE, "application/octet-stream")
            .body(axum::body::Body::from(bytes))
            .map_err(|_| Problem::Internal)?;
        let response = crate::api(state.clone()).oneshot(request).await.map_err(|_| Problem::Internal)?;
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1024 * 1024).await.map_err(|_| Problem::Internal)?;
        Ok((status, serde_json::from_slice(&bytes).unwrap_or(Value::Null)))
    }

    /// Sends a form on to the API as `request` (a POST to `path`): done, or the refusal's faults
    /// by field (`fallback` names the field of a refusal that names none); 403 is the page's
    /// refusal.
    pub(crate) async fn send(
        &self,
        state: &Arc<State>,
        path: &str,
        request: &Value,
        fallback: &str,
    ) -> Result<Result<(), Vec<(String, String)>>, Problem> {
        let (status, answer) = self.api(state, Method::POST, path, Some(request)).await?;
        if status.is_success() {
            return Ok(Ok(()));
        }
        if status == StatusCode::FORBIDDEN {
            return Err(Problem::Forbidden(&[]));
        }
        Ok(Err(faults(self.lang, &answer, fallback)))
    }

    /// [`Session::api`] for a read that must succeed: a refusal becomes the page's error.
    pub(crate) async fn get(&self, state: &Arc<State>, path: &str) -> Result<Value, Problem> {
        let (status, body) = self.api(state, Method::GET, path, None).await?;
        if status.is_success() {
            Ok(body)
        } else if status == StatusCode::FORBIDDEN {
            Err(Problem::Forbidden(&[]))
        } else if status == StatusCode::NOT_FOUND {
            Err(Problem::NotFound(body["detail"].as_str().unwrap_or("not found").to_owned()))
        } else {
            tracing::warn!(%path, status = status.as_u16(), "console read failed");
            Err(Problem::Internal)
        }
    }
}

/// The CSRF code of the session whose token is `token`: derived from the token (which only the
/// session's browser holds, in an HttpOnly cookie), so a code taken from one session is worth
/// nothing in another, and it ends with the session.
fn session_csrf(token: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::new().chain_update(b"tocsin console csrf\n").chain_update(token.as_bytes()).finalize();
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// The session of a request, if it carries a live one.
pub(crate) async fn session(state: &State, headers: &HeaderMap) -> Result<Option<Session>, Problem> {
    let Some(token) = cookie(headers, SESSION) else { return Ok(None) };
    let Some(account) = state.store.authenticate(token).await? else { return Ok(None) };
    Ok(Some(Session { account, token: token.to_owned(), lang: lang(headers), csrf: session_csrf(token) }))
}

/// Whether `path` stays on this node once a browser has parsed it: a path from the root, not
/// `//host` nor `/\host` (which browsers read as `//host`), and without the tabs, line breaks
/// and other control characters or spaces that browsers drop or trim before parsing
/// (`/\t/evil.example` is `//evil.example` to them).
pub(crate) fn is_local_path(path: &str) -> bool {
    let bytes = path.as_bytes();
    bytes.first() == Some(&b'/')
        && !matches!(bytes.get(1), Some(b'/' | b'\\'))
        && !bytes.iter().any(|&b| b.is_ascii_control() || b == b' ' || b == b'\\' || b >= 0x80)
}

/// Back to the sign-in page.
pub(crate) fn to_sign_in() -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, "/")]).into_response()
}

/// A redirect after a form did its work (the browser then loads `to` with GET).
pub(crate) fn see_other(to: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, to.to_owned())]).into_response()
}

/// One entry of the navigation: where, its names, and the roles that may use it (the same as
/// the API's for what the page shows).
struct NavItem {
    href: &'static str,
    en: &'static str,
    fr: &'static str,
    roles: &'static [&'static str],
}

const NAV: &[NavItem] = &[
    NavItem { href: "/console/orders", en: "Orders", fr: "Injonctions", roles: &["issuer", "operator", "reviewer", "admin", "oversight"] },
    NavItem { href: "/console/orders/new", en: "New order", fr: "Nouvelle injonction", roles: &["issuer"] },
    NavItem { href: "/console/review", en: "Review queue", fr: "File d'examen", roles: &["reviewer", "operator"] },
    NavItem {
        href: "/console/requests",
        en: "Investigations",
        fr: "Enquêtes",
        roles: &["issuer", "validator", "operator", "admin", "oversight"],
    },
    NavItem {
        href: "/console/threats",
        en: "Threat reports",
        fr: "Signalements de menace",
        roles: &["issuer", "validator", "operator", "reviewer", "admin", "oversight"],
    },
    NavItem { href: "/console/blocklist", en: "Blocklist", fr: "Liste de blocage", roles: &["admin", "issuer", "oversight", "auditor"] },
    NavItem { href: "/console/banks", en: "Banks", fr: "Banques", roles: &["admin", "operator", "reviewer", "issuer", "oversight"] },
    NavItem { href: "/console/oversight", en: "Oversight", fr: "Contrôle", roles: &["oversight", "admin", "issuer", "auditor"] },
    NavItem { href: "/console/log", en: "Log", fr: "Journal", roles: &["admin", "oversight", "auditor"] },
    NavItem { href: "/console/figures", en: "Figures", fr: "Chiffres", roles: &["issuer", "operator", "reviewer", "admin", "oversight"] },
];

/// The first page the account may see (its home).
pub(crate) fn home_path(session: &Session) -> Option<&'static str> {
    NAV.iter().find(|n| session.has(n.roles)).map(|n| n.href)
}

/// A whole page: header with the node's name, the navigation, the language switch and
/// sign-out, then `body`.
pub(crate) fn render(state: &State, session: &Session, status: StatusCode, title: &str, here: &str, body: &str) -> Response {
    let l = session.lang;
    let nav: String = NAV
        .iter()
        .filter(|n| session.has(n.roles))
        .map(|n| {
            let current = if n.href == here { " aria-current=\"page\"" } else { "" };
            format!("<li><a href=\"{}\"{current}>{}</a></li>", n.href, l.t(n.en, n.fr))
        })
        .collect();
    let (other, other_name) = match l {
        Lang::En => ("fr", "Français"),
        Lang::Fr => ("en", "English"),
    };
    let back = url_encode(here);
    let html = format!(
        "<!doctype html>\n<html lang=\"{code}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">\
         <title>{title} · Tocsin · {node}</title><link rel=\"stylesheet\" href=\"/console/assets/console.css\">\
         <script src=\"/console/assets/console.js\" defer></script></head><body>\
         <a class=\"skip\" href=\"#main\">{skip}</a>\
         <header><p class=\"brand\">Tocsin · <strong>{node}</strong></p>\
         <p class=\"who\">{signed_in_as} <strong>{name}</strong> ({roles}) · \
         <a href=\"/console/lang?to={other}&amp;back={back}\" lang=\"{other}\" hreflang=\"{other}\">{other_name}</a></p>\
         <form method=\"post\" action=\"/console/sign-out\" class=\"inline\">{csrf}<button type=\"submit\">{sign_out}</button></form>\
         <nav aria-label=\"{menu}\"><ul>{nav}</ul></nav></header>\
         <main id=\"main\">{threats}<h1>{title}</h1>\n{body}\n</main></body></html>\n",
        threats = threat_banner(state, session),
        code = l.code(),
        title = e(title),
        node = e(&state.config.name),
        skip = l.t("Skip to the content", "Aller au contenu"),
        signed_in_as = l.t("Signed in as", "Connecté en tant que"),
        name = e(&session.account.name),
        roles = e(&session.account.roles.join(", ")),
        csrf = session.csrf_field(),
        sign_out = l.t("Sign out", "Se déconnecter"),
        menu = l.t("Pages", "Pages"),
    );
    let mut response = (status, html).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::VARY, HeaderValue::from_static("Accept-Language, Cookie"));
    security_headers(h);
    response
}

/// The first thing on every page while a threat report waits (TCO Art. 14(5)): an imminent
/// threat to life outranks whatever the page is for.
fn threat_banner(state: &State, session: &Session) -> String {
    let open = state.investigations.open_threats.load(std::sync::atomic::Ordering::Relaxed);
    if open <= 0 || !session.has(&["issuer", "admin", "validator", "oversight"]) {
        return String::new();
    }
    let l = session.lang;
    format!(
        "<div class=\"threat\" role=\"alert\"><p><strong>{what}</strong> {open} {waiting} \
         <a href=\"/console/threats\">{see}</a></p></div>",
        what = l.t("Imminent threat to life.", "Menace imminente pour la vie."),
        waiting = l.t("threat report(s) wait for acknowledgement.", "signalement(s) attendent une prise en charge."),
        see = l.t("Open the reports", "Ouvrir les signalements"),
    )
}

/// The headers every console page carries, the sign-in page included: no framing (so no
/// click-jacking), scripts and styles from this node only, forms posted to it only.
pub(crate) fn security_headers(h: &mut axum::http::HeaderMap) {
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'",
        ),
    );
    // Order ids in the console's addresses stay on this node.
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
}

/// A page for a refusal the reader should see (a role the page needs, an order not found).
pub(crate) fn refusal(state: &State, session: &Session, problem: &Problem, here: &str) -> Response {
    let l = session.lang;
    let (status, text) = match problem {
        Problem::Forbidden(_) => {
            (StatusCode::FORBIDDEN, l.t("Your roles do not give access to this page.", "Vos rôles ne donnent pas accès à cette page."))
        }
        Problem::NotFound(_) => (StatusCode::NOT_FOUND, l.t("There is nothing here.", "Il n'y a rien ici.")),
        _ => (
            StatusCode::INTERNAL_SERVER_ERROR,
            l.t(
                "The node failed to show this page; its log says why.",
                "Le nœud n'a pas pu afficher cette page ; son journal dit pourquoi.",
            ),
        ),
    };
    render(state, session, status, l.t("Not available", "Indisponible"), here, &format!("<p class=\"error\" role=\"alert\">{text}</p>"))
}

/// A table with column `headers` (already in the reader's language) over `rows` (`<tr>`s), and a
/// caption when one is given.
pub(crate) fn table(caption: &str, headers: &[&str], rows: &str) -> String {
    let caption = if caption.is_empty() { String::new() } else { format!("<caption>{caption}</caption>") };
    let head: String = headers.iter().map(|h| format!("<th scope=\"col\">{h}</th>")).collect();
    format!("<table>{caption}<thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
}

/// `application/x-www-form-urlencoded` pairs (repeated names kept, for tick-boxes), with the
/// CR LF line breaks browsers send for a textarea made the `\n` the API takes.
pub(crate) fn form_pairs(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body).map(|(k, v)| (k.into_owned(), v.replace("\r\n", "\n"))).collect()
}

/// The first value of `name` in a form.
pub(crate) fn field<'a>(pairs: &'a [(String, String)], name: &str) -> &'a str {
    pairs.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.as_str())
}

pub(crate) fn url_encode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// The text at `key` of an API answer, or nothing.
pub(crate) fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or("")
}

/// A time as people read it, in UTC.
pub(crate) fn when(ms: i64) -> String {
    let t = crate::node::time::rfc3339_ms(ms);
    format!("{} {} UTC", &t[..10], &t[11..19])
}

/// An RFC 3339 time from the API as [`when`] shows times.
pub(crate) fn when_rfc3339(text: &str) -> String {
    match (text.get(..10), text.get(11..19)) {
        (Some(day), Some(time)) => format!("{day} {time} UTC"),
        _ => text.to_owned(),
    }
}

/// A `<time>` element for `ms`, that the script keeps counting from (since, or until).
pub(crate) fn time_tag(ms: i64, class: &str, text: &str) -> String {
    format!("<time datetime=\"{}\" data-ms=\"{ms}\" class=\"{class}\">{}</time>", crate::node::time::rfc3339_ms(ms), e(text))
}

/// A duration in words: "42 s", "12 min", "3 h 05 min", "2 d 4 h".
pub(crate) fn span(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min {:02} s", s / 60, s % 60),
        3600..86_400 => format!("{} h {:02} min", s / 3600, s % 3600 / 60),
        _ => format!("{} d {} h", s / 86_400, s % 86_400 / 3600),
    }
}

/// A state's name in the reader's language.
pub(crate) fn state_name(l: Lang, state: &str) -> &'static str {
    match state {
        "issued" => l.t("issued", "émise"),
        "delivered" => l.t("delivered", "remise"),
        "received" => l.t("received", "reçue"),
        "accepted" => l.t("accepted", "acceptée"),
        "executed" => l.t("executed", "exécutée"),
        "partially_executed" => l.t("partially executed", "exécutée en partie"),
        "unable" => l.t("unable to execute", "inexécutable"),
        "rejected" => l.t("rejected", "rejetée"),
        "withdrawn" => l.t("withdrawn", "retirée"),
        _ => l.t("unknown", "inconnu"),
    }
}

/// The message of a field refused by the API, shown next to it.
pub(crate) fn field_error(errors: &[(String, String)], name: &str) -> String {
    errors
        .iter()
        .filter(|(f, _)| f == name)
        .map(|(_, d)| format!("<p class=\"field-error\" id=\"{name}-error\" role=\"alert\">{}</p>", e(d)))
        .collect()
}

/// `aria-invalid` and `aria-describedby` for a field, when it is at fault.
pub(crate) fn invalid(errors: &[(String, String)], name: &str) -> String {
    if errors.iter().any(|(f, _)| f == name) { format!(" aria-invalid=\"true\" aria-describedby=\"{name}-error\"") } else { String::new() }
}

/// The fields at fault in a refusal from the API (`errors`), or its detail as one fault of
/// `fallback` when it names none; in the reader's language.
pub(crate) fn faults(l: Lang, problem: &Value, fallback: &str) -> Vec<(String, String)> {
    in_language(l, api_faults(problem, fallback))
}

/// `faults` with each message in the reader's language (the API and the form's own checks speak
/// English).
pub(crate) fn in_language(l: Lang, faults: Vec<(String, String)>) -> Vec<(String, String)> {
    match l {
        Lang::En => faults,
        Lang::Fr => faults.into_iter().map(|(field, detail)| (field, super::french::translate(&detail))).collect(),
    }
}

fn api_faults(problem: &Value, fallback: &str) -> Vec<(String, String)> {
    let listed: Vec<(String, String)> = problem["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| Some((f["field"].as_str()?.to_owned(), f["detail"].as_str()?.to_owned())))
        .collect();
    if !listed.is_empty() {
        return listed;
    }
    let detail = problem["detail"].as_str().or(problem["title"].as_str()).unwrap_or("refused");
    // The API's details name the field first ("reason: 1 to 2000 characters").
    match detail.split_once(": ") {
        Some((f, d)) if !f.contains(' ') => vec![(f.to_owned(), d.to_owned())],
        _ => vec![(fallback.to_owned(), detail.to_owned())],
    }
}

/// The console's stylesheet and script, embedded in the binary.
pub(crate) async fn asset(axum::extract::Path(name): axum::extract::Path<String>) -> Response {
    let (body, kind) = match name.as_str() {
        "console.css" => (include_str!("assets/console.css"), "text/css; charset=utf-8"),
        "console.js" => (include_str!("assets/console.js"), "text/javascript; charset=utf-8"),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    ([(header::CONTENT_TYPE, kind), (header::CACHE_CONTROL, "max-age=3600")], body).into_response()
}

/// `GET /console/lang?to=fr&back=/console/orders`: the switch: remembers the language in a
/// cookie and goes back to the page (only ever a page of this node).
pub(crate) async fn switch_language(
    axum::extract::State(state): axum::extract::State<Arc<State>>,
    axum::extract::Query(query): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Response {
    let to = if query.get("to").map(String::as_str) == Some("fr") { "fr" } else { "en" };
    let back = query.get("back").map(String::as_str).filter(|b| is_local_path(b)).unwrap_or("/");
    let mut response = see_other(back);
    response.headers_mut().insert(header::SET_COOKIE, set_cookie(&state, LANG, to, 365 * 86_400));
    response
}
