//! The console's read-only records: the blocklist with its review dates, the banks and their
//! signals (the stay-down bank among them), the oversight page (recommendations and their
//! answers, overdue reviews) and the log page, which runs the same check as `tocsin log verify`
//! and shows the signed head.

use std::sync::Arc;

use axum::extract::{Path, State as Shared};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::Value;

use super::view::{self, Lang, Session, render, s};
use crate::State;
use crate::node::html::escape_html as e;
use crate::node::problem::Problem;

/// An RFC 3339 time as the console shows times.
fn day(text: &str) -> String {
    text.get(..10).unwrap_or(text).to_owned()
}

async fn page(
    state: &Arc<State>,
    headers: &HeaderMap,
    here: &str,
    build: impl AsyncFnOnce(&Session) -> Result<(String, String), Problem>,
) -> Result<Response, Problem> {
    let Some(session) = view::session(state, headers).await? else { return Ok(view::to_sign_in()) };
    Ok(built(state, &session, here, StatusCode::OK, build(&session).await))
}

fn built(state: &State, session: &Session, here: &str, status: StatusCode, page: Result<(String, String), Problem>) -> Response {
    match page {
        Ok((title, body)) => render(state, session, status, &title, here, &body),
        Err(p) => view::refusal(state, session, &p, here),
    }
}

/// A form on a page that the API refused: which item it was for, and the faults by field.
#[derive(Default)]
struct Failed {
    id: String,
    errors: Vec<(String, String)>,
}

impl Failed {
    fn errors_for(&self, id: &str) -> &[(String, String)] {
        if self.id == id { &self.errors } else { &[] }
    }

    fn status(&self) -> StatusCode {
        if self.errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY }
    }
}

/// Who may keep the blocklist and answer recommendations (the API's `KEEPERS`).
const KEEPERS: &[&str] = &["admin", "issuer"];

/// The review form of an active entry: keep it (the next review is 90 days on) or lift it.
fn review_form(l: Lang, session: &Session, id: &str, errors: &[(String, String)]) -> String {
    format!(
        "<form method=\"post\" action=\"/console/blocklist/{id}/review\">{csrf}\
         <label for=\"outcome-{id}\">{outcome}</label><select id=\"outcome-{id}\" name=\"outcome\"{oi}><option value=\"keep\">{keep}</option><option value=\"lift\">{lift}</option></select>{oe}\
         <label for=\"note-{id}\">{note}</label><textarea id=\"note-{id}\" name=\"note\" rows=\"2\"{ni}></textarea>{ne}\
         <button type=\"submit\">{record}</button></form>",
        id = e(id),
        csrf = session.csrf_field(),
        outcome = l.t("Outcome", "Décision"),
        oi = view::invalid(errors, "outcome"),
        oe = view::field_error(errors, "outcome"),
        keep = l.t("Keep (next review in 90 days)", "Maintenir (prochain réexamen dans 90 jours)"),
        lift = l.t("Lift", "Lever"),
        note = l.t("Why", "Motif"),
        ni = view::invalid(errors, "note"),
        ne = view::field_error(errors, "note"),
        record = l.t("Record the review", "Enregistrer le réexamen"),
    )
}

/// The entries; with `forms` (a keeper's view), a review form by each active one.
fn entries_table(l: Lang, entries: &[Value], forms: Option<(&Session, &Failed)>) -> String {
    if entries.is_empty() {
        return format!("<p>{}</p>", l.t("None.", "Aucune."));
    }
    let rows: String = entries
        .iter()
        .map(|x| {
            let overdue = x["review_overdue"] == true;
            let form = match forms {
                Some((session, failed)) if x["state"] == "active" => {
                    format!("<td>{}</td>", review_form(l, session, s(x, "id"), failed.errors_for(s(x, "id"))))
                }
                Some(_) => "<td></td>".to_owned(),
                None => String::new(),
            };
            format!(
                "<tr{cls}><td><code>{target}</code>{sub}</td><td>{kind}</td><td>{state}</td><td>{basis}</td><td>{reference}</td><td>{added}</td><td>{review}</td><td>{ends}</td>{form}</tr>",
                cls = if overdue { " class=\"overdue-row\"" } else { "" },
                target = e(s(x, "target")),
                sub = if x["subdomains"] == true { l.t(" and subdomains", " et sous-domaines") } else { "" },
                kind = e(s(x, "kind")),
                state = e(s(x, "state")),
                basis = e(s(x, "legal_basis")),
                reference = e(s(x, "reference")),
                added = e(&day(s(x, "added_at"))),
                review = if overdue {
                    format!("<strong class=\"overdue\">{} ({})</strong>", e(&day(s(x, "next_review"))), l.t("overdue", "en retard"))
                } else {
                    e(&day(s(x, "next_review")))
                },
                ends = e(&day(x["expires_at"].as_str().or(x["ended_at"].as_str()).unwrap_or(""))),
            )
        })
        .collect();
    let mut headers = vec![
        l.t("Target", "Cible"),
        l.t("Kind", "Type"),
        l.t("State", "État"),
        l.t("Legal basis", "Base juridique"),
        l.t("Reference", "Référence"),
        l.t("Added", "Ajoutée"),
        l.t("Next review (every 90 days)", "Prochain réexamen (tous les 90 jours)"),
        l.t("Ends", "Fin"),
    ];
    if forms.is_some() {
        headers.push(l.t("Review now", "Réexaminer"));
    }
    view::table("", &headers, &rows)
}

async fn blocklist_page(state: &Arc<State>, session: &Session, failed: &Failed) -> Response {
    let l = session.lang;
    let page = async {
        let entries = session.get(state, "/v1/blocklist").await?;
        let entries = entries.as_array().cloned().unwrap_or_default();
        let forms = session.has(KEEPERS).then_some((session, failed));
        Ok((l.t("Blocklist", "Liste de blocage").to_owned(), entries_table(l, &entries, forms)))
    };
    built(state, session, "/console/blocklist", failed.status(), page.await)
}

/// `GET /console/blocklist`.
pub async fn blocklist(Shared(state): Shared<Arc<State>>, headers: HeaderMap) -> Result<Response, Problem> {
    let Some(session) = view::session(&state, &headers).await? else { return Ok(view::to_sign_in()) };
    Ok(blocklist_page(&state, &session, &Failed::default()).await)
}

/// `POST /console/blocklist/{id}/review`: a keeper's review, sent on to the API.
pub async fn review_entry(
    Shared(state): Shared<Arc<State>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, Problem> {
    let (session, values) = match super::posted(&state, &headers, &body, |_| "/console/blocklist".to_owned()).await? {
        Ok(posted) => posted,
        Err(answer) => return Ok(answer),
    };
    let request = serde_json::json!({ "outcome": view::field(&values, "outcome"), "note": view::field(&values, "note") });
    let path = format!("/v1/blocklist/{}/review", view::url_encode(&id));
    match session.send(&state, &path, &request, "note").await {
        Ok(Ok(())) => Ok(view::see_other("/console/blocklist")),
        Ok(Err(errors)) => Ok(blocklist_page(&state, &session, &Failed { id, errors }).await),
        Err(p) => Ok(view::refusal(&state, &session, &p, "/console/blocklist")),
    }
}

/// `POST /console/recommendations/{id}/answer`: the authority's answer, sent on to the API.
pub async fn answer(
    Shared(state): Shared<Arc<State>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, Problem> {
    let (session, values) = match super::posted(&state, &headers, &body, |_| "/console/oversight".to_owned()).await? {
        Ok(posted) => posted,
        Err(answer) => return Ok(answer),
    };
    let request = serde_json::json!({ "accept": view::field(&values, "accept") == "yes", "note": view::field(&values, "note") });
    let path = format!("/v1/recommendations/{}/answer", view::url_encode(&id));
    match session.send(&state, &path, &request, "note").await {
        Ok(Ok(())) => Ok(view::see_other("/console/oversight")),
        Ok(Err(errors)) => Ok(oversight_page(&state, &session, &Failed { id, errors }).await),
        Err(p) => Ok(view::refusal(&state, &session, &p, "/console/oversight")),
    }
}

/// `GET /console/banks`.
pub async fn banks(Shared(state): Shared<Arc<State>>, headers: HeaderMap) -> Result<Response, Problem> {
    page(&state, &headers, "/console/banks", async |session| {
        let l = session.lang;
        let banks = session.get(&state, "/v1/banks").await?;
        let rows: String = banks
            .as_array()
            .into_iter()
            .flatten()
            .map(|b| {
                format!(
                    "<tr><td><a href=\"/console/banks/{n}\">{n}</a></td><td>{owner}</td><td>{description}</td><td>{action}</td><td>{t}</td><td>{a}</td><td>{d}</td><td>{w}</td></tr>",
                    n = e(s(b, "name")),
                    owner = e(s(b, "owner")),
                    description = e(s(b, "description")),
                    action = e(s(b, "action")),
                    t = b["pdq_threshold"],
                    a = b["active"],
                    d = b["disputed"],
                    w = b["withdrawn"],
                )
            })
            .collect();
        let headers = [
            l.t("Bank", "Banque"),
            l.t("Owner", "Propriétaire"),
            l.t("Description", "Description"),
            l.t("On a match", "En cas de correspondance"),
            l.t("PDQ distance", "Distance PDQ"),
            l.t("Active", "Actifs"),
            l.t("Disputed", "Contestés"),
            l.t("Withdrawn", "Retirés"),
        ];
        let body = view::table("", &headers, &rows);
        Ok((l.t("Banks", "Banques").to_owned(), body))
    })
    .await
}

/// `GET /console/banks/{name}`: the bank's latest signals (the stay-down bank shows what this
/// node's executed orders removed).
pub async fn bank(Shared(state): Shared<Arc<State>>, headers: HeaderMap, Path(name): Path<String>) -> Result<Response, Problem> {
    page(&state, &headers, "/console/banks", async |session| {
        let l = session.lang;
        let bank = view::url_encode(&name);
        let signals = session.get(&state, &format!("/v1/banks/{bank}/signals?limit=500")).await?;
        let rows: String = signals
            .as_array()
            .into_iter()
            .flatten()
            .rev()
            .map(|x| {
                let p = &x["provenance"];
                let from = match s(p, "source") {
                    "order" => format!("<a href=\"/console/orders/{o}\">{}</a> {o}", l.t("order", "injonction"), o = e(s(p, "reference"))),
                    source => format!("{} {}", e(source), e(s(p, "reference"))),
                };
                format!(
                    "<tr><td>{num}</td><td>{kind}</td><td><code class=\"hash\">{value}</code></td><td>{state}</td><td>{from}</td><td>{added}</td></tr>",
                    num = x["num"],
                    kind = e(s(x, "type")),
                    value = e(s(x, "value")),
                    state = e(s(x, "state")),
                    added = e(&day(s(x, "added_at"))),
                )
            })
            .collect();
        let headers =
            ["#", l.t("Type", "Type"), l.t("Signal", "Signal"), l.t("State", "État"), l.t("Source", "Origine"), l.t("Added", "Ajouté")];
        let body = view::table(l.t("The first 500 signals, newest first.", "Les 500 premiers signaux, du plus récent au plus ancien."), &headers, &rows);
        Ok((format!("{} {name}", l.t("Bank", "Banque")), body))
    })
    .await
}

/// `GET /console/oversight`: recommendations and their answers, and reviews overdue.
pub async fn oversight(Shared(state): Shared<Arc<State>>, headers: HeaderMap) -> Result<Response, Problem> {
    let Some(session) = view::session(&state, &headers).await? else { return Ok(view::to_sign_in()) };
    Ok(oversight_page(&state, &session, &Failed::default()).await)
}

/// The answer form of a recommendation not yet answered (for the authority's keepers).
fn answer_form(l: Lang, session: &Session, id: &str, errors: &[(String, String)]) -> String {
    format!(
        "<form method=\"post\" action=\"/console/recommendations/{id}/answer\">{csrf}\
         <fieldset><legend>{answer}</legend><input type=\"radio\" name=\"accept\" value=\"yes\" id=\"accept-{id}\" checked><label for=\"accept-{id}\" class=\"inline\">{yes}</label>\
         <input type=\"radio\" name=\"accept\" value=\"no\" id=\"decline-{id}\"><label for=\"decline-{id}\" class=\"inline\">{no}</label></fieldset>\
         <label for=\"answer-note-{id}\">{note}</label><textarea id=\"answer-note-{id}\" name=\"note\" rows=\"2\"{ni}></textarea>{ne}\
         <button type=\"submit\">{send}</button></form>",
        id = e(id),
        csrf = session.csrf_field(),
        answer = l.t("Answer", "Réponse"),
        yes = l.t("Accept (an accepted lift lifts the entry)", "Accepter (une levée acceptée lève l'entrée)"),
        no = l.t("Decline", "Refuser"),
        note = l.t("Why", "Motif"),
        ni = view::invalid(errors, "note"),
        ne = view::field_error(errors, "note"),
        send = l.t("Send the answer", "Envoyer la réponse"),
    )
}

async fn oversight_page(state: &Arc<State>, session: &Session, failed: &Failed) -> Response {
    let keeper = session.has(KEEPERS);
    let page = async {
        let l = session.lang;
        let recommendations = session.get(state, "/v1/recommendations").await?;
        let overdue = session.get(state, "/v1/blocklist?overdue=true").await?;
        let rows: String = recommendations
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| {
                let answer = match r["answer"].as_str() {
                    Some(a) => {
                        format!("{} — {} ({}, {})", e(a), e(s(r, "answer_note")), e(s(r, "answered_by")), e(&day(s(r, "answered_at"))))
                    }
                    None if keeper => answer_form(l, session, s(r, "id"), failed.errors_for(s(r, "id"))),
                    None => format!("<strong class=\"overdue\">{}</strong>", l.t("unanswered", "sans réponse")),
                };
                format!(
                    "<tr><td>{at}</td><td><code>{entry}</code></td><td>{what}</td><td>{why}</td><td>{by}</td><td>{answer}</td></tr>",
                    at = e(&day(s(r, "at"))),
                    entry = e(s(r, "entry_id")),
                    what = e(s(r, "recommendation")),
                    why = e(s(r, "reasons")),
                    by = e(s(r, "by")),
                )
            })
            .collect();
        let headers = [
            l.t("Made", "Faite le"),
            l.t("Blocklist entry", "Entrée de la liste"),
            l.t("Recommendation", "Recommandation"),
            l.t("Reasons", "Motifs"),
            l.t("By", "Par"),
            l.t("Answer", "Réponse"),
        ];
        let body = format!(
            "<section aria-labelledby=\"recs\"><h2 id=\"recs\">{recs}</h2>{table}</section>\
             <section aria-labelledby=\"overdue\"><h2 id=\"overdue\">{overdue_t}</h2>{overdue}</section>",
            recs = l.t("Recommendations and answers", "Recommandations et réponses"),
            table = view::table("", &headers, &rows),
            overdue_t = l.t("Reviews overdue", "Réexamens en retard"),
            overdue = entries_table(l, overdue.as_array().map_or(&[][..], Vec::as_slice), keeper.then_some((session, failed))),
        );
        Ok((l.t("Oversight", "Contrôle").to_owned(), body))
    };
    built(state, session, "/console/oversight", failed.status(), page.await)
}

/// `GET /console/log`: the log checked entry by entry against the node's signed head, as
/// `tocsin log verify` checks it, and the head itself.
pub async fn log(Shared(state): Shared<Arc<State>>, headers: HeaderMap) -> Result<Response, Problem> {
    page(&state, &headers, "/console/log", async |session| {
        let l = session.lang;
        let head: tocsin_wire::TreeHead = serde_json::from_value(session.get(&state, "/v1/log/head").await?).map_err(|_| Problem::Internal)?;
        let key = state.identity.jwk();
        let mut faults: Vec<String> = Vec::new();
        if let Err(err) = head.verify(&key) {
            faults.push(format!("the head: {err}"));
        }
        let mut audit = tocsin_ledger::Audit::new();
        while audit.next() < head.size {
            let page = session.get(&state, &format!("/v1/log/entries?start={}&end={}", audit.next(), head.size)).await?;
            let page = page.as_array().cloned().unwrap_or_default();
            if page.is_empty() {
                break;
            }
            for entry in page {
                let data = tocsin_wire::base64url_decode(s(&entry, "data")).unwrap_or_default();
                let leaf = s(&entry, "leaf_hash").parse::<tocsin_ledger::Hash>().unwrap_or(tocsin_ledger::Hash([0; 32]));
                audit.entry(entry["index"].as_u64().unwrap_or(u64::MAX), &data, &leaf);
            }
        }
        match head.root_bytes() {
            Ok(root) => faults.extend(audit.finish(head.size, &tocsin_ledger::Hash(root)).iter().map(ToString::to_string)),
            Err(err) => faults.push(format!("the head: {err}")),
        }
        let verdict = if faults.is_empty() {
            format!(
                "<p class=\"verified\" role=\"status\" id=\"log-status\">✔ {} {} {}</p>",
                l.t("Verified: all", "Vérifié : les"),
                head.size,
                l.t(
                    "entries are present, each matches its leaf hash, together they make the signed root, and the head's signature is the node's key.",
                    "entrées sont présentes, chacune correspond à son empreinte, ensemble elles forment la racine signée, et la signature de la tête est celle de la clé du nœud."
                ),
            )
        } else {
            let list: String = faults.iter().map(|f| format!("<li>{}</li>", e(f))).collect();
            format!("<div class=\"error\" role=\"alert\" id=\"log-status\"><p>{}</p><ul>{list}</ul></div>", l.t("Verification FAILED:", "Échec de la vérification :"))
        };
        let body = format!(
            "{verdict}<dl class=\"summary\"><dt>{size_l}</dt><dd>{size}</dd><dt>{root_l}</dt><dd><code class=\"hash\">{root}</code></dd>\
             <dt>{signed_l}</dt><dd>{signed}</dd><dt>{key_l}</dt><dd><code>{fingerprint}</code></dd></dl>\
             <h2>{head_t}</h2><pre class=\"jws\">{head_json}</pre><p class=\"hint\">{outside}</p>",
            size_l = l.t("Entries", "Entrées"),
            size = head.size,
            root_l = l.t("Root", "Racine"),
            root = e(&head.root),
            signed_l = l.t("Signed at", "Signée le"),
            signed = e(&view::when(head.timestamp as i64)),
            key_l = l.t("Node key fingerprint (RFC 7638)", "Empreinte de la clé du nœud (RFC 7638)"),
            fingerprint = e(&key.thumbprint()),
            head_t = l.t("The signed head", "La tête signée"),
            head_json = e(&serde_json::to_string_pretty(&head).unwrap_or_default()),
            outside = l.t(
                "Save this head and check later from outside with: tocsin log verify --url URL --head FILE --fingerprint FP",
                "Enregistrez cette tête et vérifiez plus tard de l'extérieur avec : tocsin log verify --url URL --head FICHIER --fingerprint EMPREINTE"
            ),
        );
        Ok((l.t("Log", "Journal").to_owned(), body))
    })
    .await
}
