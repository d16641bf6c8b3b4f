//! The web console's door: the sign-in page at `/` (English or French by `Accept-Language`),
//! sign-in with a session cookie (HttpOnly, SameSite=Strict, Secure when the node's public URL is
//! HTTPS), CSRF protection on every form (a random value in an HttpOnly cookie that the form must
//! repeat), and sign-out. The pages are built on the server and work without JavaScript; a small
//! embedded script only keeps lists and countdowns live and reveals previews on request.

pub use charts::figures;
pub use orders::{act as order_act, issue as order_issue, list as orders, new as new_order, show as order};
pub use records::{answer as answer_recommendation, bank, banks, blocklist, log, oversight, review_entry};
pub use review::{decide as match_decide, match_preview, preview, queue as review_queue};
pub(crate) use view::{asset, switch_language};

mod charts;
mod french;
mod investigations;
mod multipart;
mod orders;
mod records;
mod review;
mod view;

use std::sync::Arc;

use axum::extract::State as Shared;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::State;
use crate::node::accounts::{SIGN_IN_LIFETIME_SECONDS, off_runtime};
use crate::node::html::escape_html;
use crate::node::listen::PeerAddr;
use crate::node::problem::Problem;

const SESSION: &str = "tocsin_session";
const CSRF: &str = "tocsin_csrf";

/// A cookie's value from the request, if sent.
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(|c| {
        let (k, v) = c.trim().split_once('=')?;
        (k == name && !v.is_empty()).then_some(v)
    })
}

/// `Set-Cookie` for `name=value` with the console's attributes; `max_age` 0 deletes it.
fn set_cookie(state: &State, name: &str, value: &str, max_age: i64) -> HeaderValue {
    let secure = if state.config.public_url.as_deref().is_some_and(|u| u.starts_with("https://")) { "; Secure" } else { "" };
    HeaderValue::from_str(&format!("{name}={value}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age}{secure}"))
        .unwrap_or(HeaderValue::from_static(""))
}

fn random_hex() -> Result<String, Problem> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|_| Problem::Internal)?;
    Ok(crate::node::blobs::hex(&bytes))
}

/// The words of the pages, in one language.
struct Words {
    lang: &'static str,
    title: &'static str,
    account: &'static str,
    password: &'static str,
    sign_in: &'static str,
    refused: &'static str,
    expired_form: &'static str,
    locked: &'static str,
}

const EN: Words = Words {
    lang: "en",
    title: "Sign in",
    account: "Account",
    password: "Password",
    sign_in: "Sign in",
    refused: "Wrong account name or password.",
    expired_form: "This form has expired: it was sent without its security code. Reload the page and try again.",
    locked: "Too many failed sign-ins for this account: it is locked for 15 minutes.",
};

const FR: Words = Words {
    lang: "fr",
    title: "Connexion",
    account: "Compte",
    password: "Mot de passe",
    sign_in: "Se connecter",
    refused: "Nom de compte ou mot de passe incorrect.",
    expired_form: "Ce formulaire a expiré : il a été envoyé sans son code de sécurité. Rechargez la page et réessayez.",
    locked: "Trop d'échecs de connexion pour ce compte : il est verrouillé pendant 15 minutes.",
};

fn words(headers: &HeaderMap) -> &'static Words {
    match view::lang(headers) {
        view::Lang::Fr => &FR,
        view::Lang::En => &EN,
    }
}

fn page(w: &Words, node: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"{lang}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">\
         <title>{title} · Tocsin · {node}</title><link rel=\"stylesheet\" href=\"/console/assets/console.css\"></head>\
         <body><header><p class=\"brand\">Tocsin · <strong>{node}</strong></p></header><main id=\"main\" class=\"door\">\n{body}\n</main></body></html>\n",
        lang = w.lang,
        title = w.title,
        node = escape_html(node),
    )
}

fn sign_in_form(w: &Words, csrf: &str, error: Option<&str>) -> String {
    let error = error.map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", escape_html(e))).unwrap_or_default();
    format!(
        "<h1>{title}</h1>{error}<form method=\"post\" action=\"/console/sign-in\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         <label for=\"account\">{account}</label><input id=\"account\" name=\"account\" autocomplete=\"username\" required>\
         <label for=\"password\">{password}</label><input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required>\
         <button type=\"submit\">{sign_in}</button></form>",
        title = w.title,
        account = w.account,
        password = w.password,
        sign_in = w.sign_in,
    )
}

/// The sign-in page, with a fresh CSRF cookie.
fn sign_in_page(state: &State, headers: &HeaderMap, status: StatusCode, error: Option<&str>) -> Result<Response, Problem> {
    let w = words(headers);
    let csrf = random_hex()?;
    let mut response = (status, page(w, &state.config.name, &sign_in_form(w, &csrf, error))).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    h.insert(header::SET_COOKIE, set_cookie(state, CSRF, &csrf, 3600));
    h.insert(header::VARY, HeaderValue::from_static("Accept-Language, Cookie"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    view::security_headers(h);
    Ok(response)
}

/// `GET /`: the stop page for a blocked domain's visitors; else the console: the home page
/// with a session, the sign-in page without.
pub async fn home(Shared(state): Shared<Arc<State>>, headers: HeaderMap) -> Result<Response, Problem> {
    match crate::blocklist::stop_page(Shared(state.clone()), headers.clone()).await {
        Ok(stop) => return Ok(stop),
        Err(Problem::NotFound(_)) => {}
        Err(other) => return Err(other),
    }
    let Some(session) = view::session(&state, &headers).await? else { return sign_in_page(&state, &headers, StatusCode::OK, None) };
    match view::home_path(&session) {
        Some("/console/orders") => orders::list_page(&state, &session, "/").await,
        Some(path) => Ok(view::see_other(path)),
        None => {
            let l = session.lang;
            let text = l.t("Your roles give access to no page of the console.", "Vos rôles ne donnent accès à aucune page de la console.");
            Ok(view::render(&state, &session, StatusCode::OK, "Tocsin", "/", &format!("<p>{text}</p>")))
        }
    }
}

/// A console form as posted: its session and fields once its CSRF code is checked, or the page
/// to answer with instead (sign-in without a session; "expired" without the code, whose link
/// goes back to `back`).
async fn posted(
    state: &State,
    headers: &HeaderMap,
    body: &[u8],
    back: impl FnOnce(&[(String, String)]) -> String,
) -> Result<Result<(view::Session, Vec<(String, String)>), Response>, Problem> {
    let Some(session) = view::session(state, headers).await? else { return Ok(Err(view::to_sign_in())) };
    let values = view::form_pairs(body);
    if !same_origin(headers) || !crate::blocklist::axfr::subtle_eq(session.csrf.as_bytes(), view::field(&values, "csrf").as_bytes()) {
        return Ok(Err(expired(state, &session, &back(&values))));
    }
    Ok(Ok((session, values)))
}

/// The answer to a console form sent without its CSRF code: the page again, saying so.
pub(super) fn expired(state: &State, session: &view::Session, here: &str) -> Response {
    let l = session.lang;
    let text = l.t(
        "This form has expired: it was sent without its security code. Reload the page and try again.",
        "Ce formulaire a expiré : il a été envoyé sans son code de sécurité. Rechargez la page et réessayez.",
    );
    view::render(
        state,
        session,
        StatusCode::FORBIDDEN,
        l.t("Form expired", "Formulaire expiré"),
        here,
        &format!("<p class=\"error\" role=\"alert\">{text}</p><p><a href=\"{}\">{}</a></p>", escape_html(here), l.t("Back", "Retour")),
    )
}

/// The sign-in form.
#[derive(Debug, Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    account: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
}

/// Whether the sign-in form repeats the CSRF cookie (so it was made by this node's page, not
/// posted from another site) and the browser says it comes from this origin. Forms of a
/// session carry a code bound to the session instead (`view::Session::csrf`).
fn csrf_ok(headers: &HeaderMap, sent: &str) -> bool {
    same_origin(headers) && cookie(headers, CSRF).is_some_and(|c| crate::blocklist::axfr::subtle_eq(c.as_bytes(), sent.as_bytes()))
}

/// Whether a posted form comes from this node's own pages, as far as the browser says: a
/// `Sec-Fetch-Site` other than `same-origin`, or an `Origin` whose host is not the request's
/// `Host`, is another site's (or a sandboxed frame's). Clients that send neither (scripts, old
/// browsers) are left to the CSRF code.
pub(super) fn same_origin(headers: &HeaderMap) -> bool {
    let header = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok())
        && site != "same-origin"
    {
        return false;
    }
    match (header(header::ORIGIN), header(header::HOST)) {
        (Some(origin), Some(host)) => origin.split_once("://").is_some_and(|(_, rest)| rest.eq_ignore_ascii_case(host)),
        (Some(_), None) => false,
        (None, _) => true,
    }
}

fn expired_form(state: &State, headers: &HeaderMap) -> Result<Response, Problem> {
    let w = words(headers);
    sign_in_page(state, headers, StatusCode::FORBIDDEN, Some(w.expired_form))
}

/// `POST /console/sign-in`: a session for a right name and password; the same refusal, after
/// the same work, for a wrong name or a wrong password.
pub async fn sign_in(
    Shared(state): Shared<Arc<State>>,
    PeerAddr(source): PeerAddr,
    headers: HeaderMap,
    form: Result<axum::Form<SignInForm>, axum::extract::rejection::FormRejection>,
) -> Result<Response, Problem> {
    let Ok(axum::Form(form)) = form else { return expired_form(&state, &headers) };
    if !csrf_ok(&headers, &form.csrf) {
        return expired_form(&state, &headers);
    }
    let Ok(attempt) = state.sign_in_attempts.begin(&form.account, source.map(|a| a.ip())) else {
        tracing::info!("console sign-in refused: locked");
        return sign_in_page(&state, &headers, StatusCode::TOO_MANY_REQUESTS, Some(words(&headers).locked));
    };
    let found =
        if tocsin_store::check_account_name(&form.account).is_ok() { state.store.sign_in_lookup(&form.account).await? } else { None };
    let stored = found.as_ref().and_then(|(_, hash)| hash.clone());
    let password = form.password;
    let ok = password.chars().count() <= tocsin_store::MAX_PASSWORD_CHARS
        && off_runtime(move || tocsin_store::verify_or_waste(stored.as_ref(), &password)).await?;
    let Some((account, _)) = found.filter(|_| ok) else {
        tracing::info!("console sign-in refused");
        attempt.failed();
        return sign_in_page(&state, &headers, StatusCode::UNAUTHORIZED, Some(words(&headers).refused));
    };
    attempt.succeeded();
    let token = state.store.create_token(&account.name, SIGN_IN_LIFETIME_SECONDS).await?;
    let mut response = (StatusCode::SEE_OTHER, [(header::LOCATION, "/")]).into_response();
    response.headers_mut().insert(header::SET_COOKIE, set_cookie(&state, SESSION, &token.secret, SIGN_IN_LIFETIME_SECONDS));
    Ok(response)
}

/// The sign-out form.
#[derive(Debug, Deserialize)]
pub struct SignOutForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /console/sign-out`: the session's token is revoked and the cookie cleared.
pub async fn sign_out(
    Shared(state): Shared<Arc<State>>,
    headers: HeaderMap,
    form: Result<axum::Form<SignOutForm>, axum::extract::rejection::FormRejection>,
) -> Result<Response, Problem> {
    let Ok(axum::Form(form)) = form else { return expired_form(&state, &headers) };
    let session = view::session(&state, &headers).await?;
    if session
        .as_ref()
        .is_some_and(|s| !same_origin(&headers) || !crate::blocklist::axfr::subtle_eq(s.csrf.as_bytes(), form.csrf.as_bytes()))
    {
        return expired_form(&state, &headers);
    }
    if let Some(token) = cookie(&headers, SESSION) {
        // A session already revoked or expired is signed out all the same.
        match state.store.revoke_token(token).await {
            Ok(()) | Err(tocsin_store::StoreError::Refused(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let mut response = (StatusCode::SEE_OTHER, [(header::LOCATION, "/")]).into_response();
    response.headers_mut().insert(header::SET_COOKIE, set_cookie(&state, SESSION, "", 0));
    Ok(response)
}

/// The console's pages and forms, for [`crate::api`] to merge.
pub(crate) fn routes() -> axum::Router<Arc<crate::State>> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/", get(home))
        .route("/console/sign-in", post(sign_in))
        .route("/console/sign-out", post(sign_out))
        .route("/console/lang", get(switch_language))
        .route("/console/assets/{name}", get(asset))
        .route("/console/orders", get(orders).post(order_issue))
        .route("/console/orders/new", get(new_order))
        .route("/console/orders/{id}", get(order))
        .route("/console/orders/{id}/{action}", post(order_act))
        .route("/console/review", get(review_queue))
        .route("/console/preview/{id}/{n}", get(preview))
        .route("/console/matches/{id}/decision", post(match_decide))
        .route("/console/match-preview/{id}", get(match_preview))
        .route("/console/match-preview/{id}/{n}", get(review::match_frame))
        .route("/console/blocklist", get(blocklist))
        .route("/console/blocklist/{id}/review", post(review_entry))
        .route("/console/recommendations/{id}/answer", post(answer_recommendation))
        .route("/console/banks", get(banks))
        .route("/console/banks/{name}", get(bank))
        .route("/console/oversight", get(oversight))
        .route("/console/log", get(log))
        .route("/console/figures", get(figures))
        .route("/console/requests", get(investigations::requests).post(investigations::issue_request))
        .route("/console/requests/new", get(investigations::new_request))
        .route("/console/requests/{id}/files", post(investigations::answer_files))
        .route("/console/requests/{id}/{action}", post(investigations::request_act))
        .route("/console/threats", get(investigations::threats))
        .route("/console/threats/{id}/acknowledge", post(investigations::threat_acknowledge))
}
