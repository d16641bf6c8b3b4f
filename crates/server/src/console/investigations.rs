//! The console's investigations: the data requests with their live deadlines (investigators issue
//! them, validators approve what waits for them, a platform's staff answer with files or refuse
//! on an Annex III ground), and the threat reports, which an authority's staff acknowledge.

use std::sync::Arc;

use axum::extract::{Path, State as Shared};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::Value;

use super::view::{self, Lang, Session, render, s, span, time_tag, when};
use crate::State;
use crate::node::html::escape_html as e;
use crate::node::problem::Problem;
use crate::node::time::now_ms;

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
        let answer = if s(request, "kind") == "production" {
            format!(
                "<form method=\"post\" action=\"/console/requests/{id}/files\" enctype=\"multipart/form-data\">{csrf}\
                 <label for=\"files-{id}\">{files}</label><input type=\"file\" id=\"files-{id}\" name=\"files\" multiple required>\
                 <button type=\"submit\">{send}</button></form>",
                csrf = session.csrf_field(),
                files = l.t(
                    "Files (encrypted to the authority as they arrive; up to 64 MiB here, any size with tocsin request answer)",
                    "Fichiers (chiffrés pour l'autorité dès réception ; 64 Mio au plus ici, sans limite avec tocsin request answer)"
                ),
                send = l.t("Answer with these files", "Répondre avec ces fichiers"),
            )
        } else {
            String::new()
        };
        let grounds: String =
            tocsin_model::RequestInability::ALL.iter().map(|g| format!("<option value=\"{0}\">{0}</option>", g.name())).collect();
        return format!(
            "{answer}<form method=\"post\" action=\"/console/requests/{id}/refuse\">{csrf}\
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
    let new = if session.has(&["issuer"]) {
        format!("<p><a href=\"/console/requests/new\">{}</a></p>", l.t("Issue a data request", "Émettre une demande de données"))
    } else {
        String::new()
    };
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
    render(state, session, status, l.t("Investigations", "Enquêtes"), "/console/requests", &format!("{note}{new}{table}"))
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

/// The most a form's files may weigh here; larger answers go through `tocsin request answer`,
/// which streams.
const MAX_FORM_BYTES: usize = 64 << 20;

/// `POST /console/requests/{id}/files`: a platform operator's answer with the files of the form,
/// each sent on to the API (which encrypts it to the authority), then the answer.
pub async fn answer_files(
    Shared(state): Shared<Arc<State>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: axum::body::Body,
) -> Result<Response, Problem> {
    let Some(session) = view::session(&state, &headers).await? else { return Ok(view::to_sign_in()) };
    let here = "/console/requests";
    let boundary = headers.get(axum::http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).and_then(super::multipart::boundary);
    let Some(boundary) = boundary else {
        return Ok(requests_page(&state, &session, StatusCode::UNSUPPORTED_MEDIA_TYPE, Some("not a form with files".to_owned())).await);
    };
    let Ok(bytes) = axum::body::to_bytes(body, MAX_FORM_BYTES).await else {
        let note = session.lang.t(
            "More than 64 MiB: send the files with tocsin request answer.",
            "Plus de 64 Mio : envoyez les fichiers avec tocsin request answer.",
        );
        return Ok(requests_page(&state, &session, StatusCode::PAYLOAD_TOO_LARGE, Some(note.to_owned())).await);
    };
    let Some(parts) = super::multipart::parts(&bytes, &boundary) else {
        return Ok(requests_page(&state, &session, StatusCode::BAD_REQUEST, Some("the form's body is not well formed".to_owned())).await);
    };
    let csrf = parts.iter().find(|p| p.name == "csrf").map(|p| p.content.as_slice()).unwrap_or_default();
    if !super::same_origin(&headers) || !crate::blocklist::axfr::subtle_eq(session.csrf.as_bytes(), csrf) {
        return Ok(super::expired(&state, &session, here));
    }
    let files: Vec<_> = parts.into_iter().filter(|p| p.name == "files" && p.filename.as_deref().is_some_and(|f| !f.is_empty())).collect();
    if files.is_empty() {
        return Ok(requests_page(
            &state,
            &session,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(session.lang.t("Choose at least one file.", "Choisissez au moins un fichier.").to_owned()),
        )
        .await);
    }
    for file in files {
        let name = file.filename.unwrap_or_default();
        let path = format!("/v1/requests/{}/files/{}", view::url_encode(&id), view::url_encode(&name));
        let (status, answer) = session.put_bytes(&state, &path, file.content).await?;
        if !status.is_success() {
            let note = format!("{name}: {}", answer["detail"].as_str().or(answer["title"].as_str()).unwrap_or("refused"));
            return Ok(requests_page(&state, &session, status, Some(note)).await);
        }
    }
    match session.send(&state, &format!("/v1/requests/{}/answer", view::url_encode(&id)), &serde_json::json!({}), "files").await {
        Ok(Ok(())) => Ok(view::see_other(here)),
        Ok(Err(errors)) => {
            let note = errors.iter().map(|(f, d)| format!("{f}: {d}")).collect::<Vec<_>>().join("; ");
            Ok(requests_page(&state, &session, StatusCode::UNPROCESSABLE_ENTITY, Some(note)).await)
        }
        Err(p) => Ok(view::refusal(&state, &session, &p, here)),
    }
}

/// `GET /console/requests/new`: the investigator's form.
pub async fn new_request(Shared(state): Shared<Arc<State>>, headers: HeaderMap) -> Result<Response, Problem> {
    let Some(session) = view::session(&state, &headers).await? else { return Ok(view::to_sign_in()) };
    Ok(request_form(&state, &session, &[], None).await)
}

async fn request_form(state: &Arc<State>, session: &Session, values: &[(String, String)], note: Option<String>) -> Response {
    let l = session.lang;
    let field = |name: &str| e(view::field(values, name));
    let peers = state.store.peers().await.unwrap_or_default();
    let options: String = peers
        .iter()
        .filter(|p| p.roles.iter().any(|r| r == "platform"))
        .map(|p| {
            format!(
                "<option value=\"{n}\"{sel}>{n}</option>",
                n = e(&p.name),
                sel = if view::field(values, "to") == p.name { " selected" } else { "" }
            )
        })
        .collect();
    let ticked = |name: &str, value: &str| if values.iter().any(|(k, v)| k == name && v == value) { " checked" } else { "" };
    let categories: String = tocsin_model::DataCategory::ALL
        .iter()
        .map(|c| {
            format!(
                "<label><input type=\"checkbox\" name=\"categories\" value=\"{n}\"{t}> {n}</label>",
                n = c.name(),
                t = ticked("categories", c.name())
            )
        })
        .collect();
    let note = note.map(|n| format!("<p class=\"error\" role=\"alert\">{}</p>", e(&n))).unwrap_or_default();
    let body = format!(
        "{note}<form method=\"post\" action=\"/console/requests\">{csrf}\
         <label for=\"to\">{to}</label><select id=\"to\" name=\"to\">{options}</select>\
         <fieldset><legend>{kind}</legend>\
         <label><input type=\"radio\" name=\"kind\" value=\"production\"{prod}> {production}</label>\
         <label><input type=\"radio\" name=\"kind\" value=\"preservation\"{pres}> {preservation}</label></fieldset>\
         <fieldset><legend>{data}</legend>{categories}<p class=\"hint\">{validation}</p></fieldset>\
         <label for=\"identifiers\">{identifiers}</label><textarea id=\"identifiers\" name=\"identifiers\" rows=\"3\">{ids}</textarea>\
         <p class=\"hint\">account:NAME, url:URL, ip:ADDRESS@2026-12-01T08:00:00+01:00, email:ADDRESS, phone:+NUMBER</p>\
         <label for=\"offence\">{offence}</label><textarea id=\"offence\" name=\"offence\" rows=\"2\">{off}</textarea>\
         <label for=\"legal_basis\">{basis}</label><input id=\"legal_basis\" name=\"legal_basis\" value=\"{lb}\">\
         <label for=\"reference\">{reference}</label><input id=\"reference\" name=\"reference\" value=\"{rf}\">\
         <label for=\"emergency\">{emergency}</label><input id=\"emergency\" name=\"emergency\" value=\"{em}\">\
         <label for=\"confidential_until\">{confidential}</label><input id=\"confidential_until\" name=\"confidential_until\" type=\"date\" value=\"{cu}\">\
         <button type=\"submit\">{issue}</button></form>",
        csrf = session.csrf_field(),
        to = l.t("Platform", "Plateforme"),
        kind = l.t("Request", "Demande"),
        prod = if view::field(values, "kind") == "preservation" { "" } else { " checked" },
        pres = if view::field(values, "kind") == "preservation" { " checked" } else { "" },
        production = l.t("production: send the data (Art. 5)", "production : transmettre les données (art. 5)"),
        preservation = l.t("preservation: keep the data (Art. 6)", "conservation : garder les données (art. 6)"),
        data = l.t("Categories of data (Art. 3)", "Catégories de données (art. 3)"),
        validation = l.t(
            "Traffic or content data: a validator approves the request before it leaves (Art. 4).",
            "Données relatives au trafic ou au contenu : un validateur approuve la demande avant son envoi (art. 4)."
        ),
        identifiers = l.t("Identifiers, one per line", "Identifiants, un par ligne"),
        ids = field("identifiers"),
        offence = l.t("Offence under investigation", "Infraction faisant l'objet de l'enquête"),
        off = field("offence"),
        basis = l.t("Legal basis", "Base juridique"),
        lb = field("legal_basis"),
        reference = l.t("Your reference (optional)", "Votre référence (facultatif)"),
        rf = field("reference"),
        emergency = l.t(
            "Emergency: why (an imminent threat to life or physical integrity); the answer is due in 8 hours",
            "Urgence : pourquoi (menace imminente pour la vie ou l'intégrité physique) ; réponse due sous 8 heures"
        ),
        em = field("emergency"),
        confidential = l.t("The user must not be told before (optional)", "L'utilisateur ne doit pas être informé avant (facultatif)"),
        cu = field("confidential_until"),
        issue = l.t("Issue", "Émettre"),
    );
    render(state, session, StatusCode::OK, l.t("New data request", "Nouvelle demande de données"), "/console/requests/new", &body)
}

/// `POST /console/requests`: the form, sent on to the API.
pub async fn issue_request(Shared(state): Shared<Arc<State>>, headers: HeaderMap, body: axum::body::Bytes) -> Result<Response, Problem> {
    let (session, values) = match super::posted(&state, &headers, &body, |_| "/console/requests/new".to_owned()).await? {
        Ok(posted) => posted,
        Err(answer) => return Ok(answer),
    };
    let text = |name: &str| Some(view::field(&values, name).trim()).filter(|v| !v.is_empty());
    let request = serde_json::json!({
        "to": view::field(&values, "to"),
        "kind": text("kind").unwrap_or("production"),
        "categories": values.iter().filter(|(k, _)| k == "categories").map(|(_, v)| v.as_str()).collect::<Vec<_>>(),
        "identifiers": view::field(&values, "identifiers").lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>(),
        "offence": view::field(&values, "offence"),
        "legal_basis": view::field(&values, "legal_basis"),
        "reference": text("reference"),
        "emergency": text("emergency"),
        "confidential_until": text("confidential_until"),
    });
    let (status, answer) = session.api(&state, axum::http::Method::POST, "/v1/requests", Some(&request)).await?;
    if status == StatusCode::CREATED {
        return Ok(view::see_other("/console/requests"));
    }
    if status == StatusCode::FORBIDDEN {
        return Ok(view::refusal(&state, &session, &Problem::Forbidden(&[]), "/console/requests/new"));
    }
    let note = answer["detail"].as_str().or(answer["title"].as_str()).unwrap_or("refused").to_owned();
    Ok(request_form(&state, &session, &values, Some(note)).await)
}
