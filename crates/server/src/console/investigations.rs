//! The console's investigations: the data requests with their live deadlines (validators
//! approve what waits for them, a platform's staff refuse on an Annex III ground; answers with
//! files go through `tocsin request answer` or the data provider), and the threat reports, which
//! an authority's staff acknowledge.

use std::sync::Arc;

use axum::extract::{Path, State as Shared};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::Value;

use super::view::{self, Lang, Session, render, span, time_tag, when};
use crate::State;
use crate::node::html::escape_html as e;
use crate::node::problem::Problem;
use crate::node::time::now_ms;

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or("")
}

/// The deadline cell: a countdown while an answer is due, or the lapse of a preservation.
fn clock_cell(l: Lang, request: &Value, now: i64) -> String {
    let open = matches!(s(request, "state"), "received" | "delivered" | "issued");
    let (at, what) = match (request["deadline_at"].as_i64(), request["lapses_at"].as_i64()) {
        (Some(at), _) => (at, l.t("left", "restantes")),
        (None, Some(at)) => (at, l.t("until it lapses", "avant expiration")),
        _ => return l.t("none", "aucune").to_owned(),
    };
    if !open {
        return format!("<span class=\"muted\">{}</span>", e(&when(at)));
    }
    if at <= now {
        let late = format!("{} {}", l.t("overdue by", "en retard de"), span(now - at));
        return format!("<strong class=\"overdue\">{}</strong>", time_tag(at, "countdown", &late));
    }
    time_tag(at, "countdown", &format!("{} {what}", span(at - now)))
}

/// The forms a row offers its reader: validate (a validator, on a request that waits), refuse
/// (a platform's operator, on an open request).
fn actions(l: Lang, session: &Session, request: &Value) -> String {
    let id = e(s(request, "id"));
    let state = s(request, "state");
    if state == "awaiting_validation" && session.has(&["validator"]) {
        return format!(
            "<form method=\"post\" action=\"/console/requests/{id}/validate\">{csrf}<button type=\"submit\">{validate}</button></form>",
            csrf = session.csrf_field(),
            validate = l.t("Validate and send", "Valider et envoyer"),
        );
    }
    if state == "received" && s(request, "side") == "received" && session.has(&["operator"]) {
        let grounds: String =
            tocsin_model::RequestInability::ALL.iter().map(|g| format!("<option value=\"{0}\">{0}</option>", g.name())).collect();
        return format!(
            "<form method=\"post\" action=\"/console/requests/{id}/refuse\">{csrf}\
             <label for=\"ground-{id}\">{ground}</label><select id=\"ground-{id}\" name=\"ground\">{grounds}</select>\
             <label for=\"explanation-{id}\">{why}</label><textarea id=\"explanation-{id}\" name=\"explanation\" rows=\"2\"></textarea>\
             <button type=\"submit\">{refuse}</button></form>",
            csrf = session.csrf_field(),
            ground = l.t("Annex III ground", "Motif (annexe III)"),
            why = l.t("Explanation", "Explication"),
            refuse = l.t("Refuse", "Refuser"),
        );
    }
    String::new()
}

async fn requests_page(state: &Arc<State>, session: &Session, status: StatusCode, note: Option<String>) -> Response {
    let l = session.lang;
    let requests = match session.get(state, "/v1/requests").await {
        Ok(v) => v,
        Err(p) => return view::refusal(state, session, &p, "/console/requests"),
    };
    let now = now_ms() as i64;
    let rows: String = requests
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            let tell = if r["may_tell_user"] == true { l.t("yes", "oui") } else { l.t("not yet", "pas encore") };
            format!(
                "<tr><td><code>{id}</code><br>{reference}</td><td>{side}</td><td>{peer}</td><td>{kind}{emergency}</td>\
                 <td class=\"state-{state}\">{state}</td><td>{clock}</td><td>{tell}</td><td>{actions}</td></tr>",
                id = e(s(r, "id")),
                reference = e(s(r, "reference")),
                side = e(s(r, "side")),
                peer = e(s(r, "peer")),
                kind = e(s(r, "kind")),
                emergency = if r["request"]["emergency"].is_string() { l.t(" (emergency)", " (urgence)") } else { "" },
                state = e(s(r, "state")),
                clock = clock_cell(l, r, now),
                actions = actions(l, session, r),
            )
        })
        .collect();
    let note = note.map(|n| format!("<p class=\"error\" role=\"alert\">{}</p>", e(&n))).unwrap_or_default();
    let table = view::table(
        l.t("Data requests, newest first", "Demandes de données, les plus récentes d'abord"),
        &[
            l.t("Request", "Demande"),
            l.t("Side", "Côté"),
            l.t("Peer", "Pair"),
            l.t("Kind", "Type"),
            l.t("State", "État"),
            l.t("Deadline", "Échéance"),
            l.t("User may be told", "Utilisateur informable"),
            "",
        ],
        &rows,
    );
    render(state, session, status, l.t("Investigations", "Enquêtes"), "/console/requests", &format!("{note}{table}"))
}

/// `GET /console/requests`.
pub async fn requests(Shared(state): Shared<Arc<State>>, headers: HeaderMap) -> Result<Response, Problem> {
    let Some(session) = view::session(&state, &headers).await? else { return Ok(view::to_sign_in()) };
    Ok(requests_page(&state, &session, StatusCode::OK, None).await)
}

/// `POST /console/requests/{id}/{validate|refuse}`: sent on to the API.
pub async fn request_act(
    Shared(state): Shared<Arc<State>>,
    headers: HeaderMap,
    Path((id, action)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Result<Response, Problem> {
    let (session, values) = match super::posted(&state, &headers, &body, |_| "/console/requests".to_owned()).await? {
        Ok(posted) => posted,
        Err(answer) => return Ok(answer),
    };
    let request = match action.as_str() {
        "validate" => serde_json::json!({}),
        "refuse" => serde_json::json!({ "ground": view::field(&values, "ground"), "explanation": view::field(&values, "explanation") }),
        _ => return Err(Problem::NotFound(format!("no action {action:?}"))),
    };
    let path = format!("/v1/requests/{}/{action}", view::url_encode(&id));
    match session.send(&state, &path, &request, "explanation").await {
        Ok(Ok(())) => Ok(view::see_other("/console/requests")),
        Ok(Err(errors)) => {
            let note = errors.iter().map(|(f, d)| format!("{f}: {d}")).collect::<Vec<_>>().join("; ");
            Ok(requests_page(&state, &session, StatusCode::UNPROCESSABLE_ENTITY, Some(note)).await)
        }
        Err(p) => Ok(view::refusal(&state, &session, &p, "/console/requests")),
    }
}

/// `GET /console/threats`: unacknowledged first, each with what the platform said.
pub async fn threats(Shared(state): Shared<Arc<State>>, headers: HeaderMap) -> Result<Response, Problem> {
    let Some(session) = view::session(&state, &headers).await? else { return Ok(view::to_sign_in()) };
    let l = session.lang;
    let reports = match session.get(&state, "/v1/threats").await {
        Ok(v) => v,
        Err(p) => return Ok(view::refusal(&state, &session, &p, "/console/threats")),
    };
    let rows: String = reports
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| {
            let report = &t["report"];
            let open = t["acknowledged_at"].is_null() && s(t, "side") == "received";
            let action = if open && session.has(&["issuer", "admin"]) {
                format!(
                    "<form method=\"post\" action=\"/console/threats/{id}/acknowledge\">{csrf}<button type=\"submit\">{ack}</button></form>",
                    id = e(s(t, "id")),
                    csrf = session.csrf_field(),
                    ack = l.t("Take in hand", "Prendre en charge"),
                )
            } else {
                e(t["acknowledged_by"].as_str().unwrap_or(""))
            };
            format!(
                "<tr{class}><td>{at}</td><td>{side} {peer}</td><td>{url}</td><td>{published}</td><td>{reason}</td><td>{location}</td><td>{file}</td><td>{action}</td></tr>",
                class = if open { " class=\"threat\"" } else { "" },
                at = e(&when(t["created_at"].as_i64().unwrap_or(0))),
                side = e(s(t, "side")),
                peer = e(s(t, "peer")),
                url = e(s(report, "url")),
                published = e(s(report, "published_at")),
                reason = e(s(report, "reason")),
                location = e(s(report, "location")),
                file = report["file"]["name"].as_str().map(|n| format!("{} ({})", e(n), e(s(&report["file"], "sha256")))).unwrap_or_default(),
            )
        })
        .collect();
    let table = view::table(
        l.t("Threats to life reported by platforms (TCO Art. 14(5))", "Menaces pour la vie signalées par les plateformes (TCO art. 14(5))"),
        &[
            l.t("Received", "Reçu"),
            l.t("From", "De"),
            "URL",
            l.t("Published", "Publié"),
            l.t("Why", "Motif"),
            l.t("Locating the person", "Localisation"),
            l.t("Content", "Contenu"),
            "",
        ],
        &rows,
    );
    Ok(render(&state, &session, StatusCode::OK, l.t("Threat reports", "Signalements de menace"), "/console/threats", &table))
}

/// `POST /console/threats/{id}/acknowledge`.
pub async fn threat_acknowledge(
    Shared(state): Shared<Arc<State>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, Problem> {
    let (session, _) = match super::posted(&state, &headers, &body, |_| "/console/threats".to_owned()).await? {
        Ok(posted) => posted,
        Err(answer) => return Ok(answer),
    };
    let path = format!("/v1/threats/{}/acknowledge", view::url_encode(&id));
    match session.send(&state, &path, &serde_json::json!({}), "id").await {
        Ok(_) => Ok(view::see_other("/console/threats")),
        Err(p) => Ok(view::refusal(&state, &session, &p, "/console/threats")),
    }
}
