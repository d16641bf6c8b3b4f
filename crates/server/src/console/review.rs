//! The platform's review queue: received referrals (and removal orders held for review) with a
//! preview of each piece of content, blurred and in greyscale until a moderator deliberately
//! reveals it, one at a time; accept, reject or answer inability from the same page.

use std::sync::Arc;

use axum::extract::{Path, State as Shared};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::view::{self, Session, render};
use crate::State;
use crate::node::html::escape_html as e;
use crate::node::problem::Problem;

const MODERATORS: &[&str] = &["reviewer", "operator"];

/// Orders the queue shows at once.
const QUEUE_SHOWN: usize = 50;

/// The queue, oldest first, with `errors` shown by the form of `action` on order `failed`.
pub(crate) async fn queue_page(
    state: &Arc<State>,
    session: &Session,
    errors: &[(String, String)],
    action: &str,
    failed: &str,
) -> Result<Response, Problem> {
    let l = session.lang;
    let here = "/console/review";
    if !session.has(MODERATORS) {
        return Ok(view::refusal(state, session, &Problem::Forbidden(&[]), here));
    }
    let orders = match session.get(state, "/v1/orders").await {
        Ok(Value::Array(orders)) => orders,
        Ok(_) => Vec::new(),
        Err(p) => return Ok(view::refusal(state, session, &p, here)),
    };
    let mut waiting: Vec<&Value> = orders.iter().filter(|o| o["side"] == "received" && o["state"] == "received").collect();
    waiting.sort_by_key(|o| o["received_at"].as_i64().unwrap_or(0));
    // The oldest first, a page of them: each card reads its order in full.
    let more = waiting.len().saturating_sub(QUEUE_SHOWN);
    waiting.truncate(QUEUE_SHOWN);
    let names = crate::node::peers::peer_names(state).await?;
    let now = crate::node::time::now_ms() as i64;
    let mut cards = String::new();
    for summary in waiting {
        let id = summary["id"].as_str().unwrap_or("");
        let order = session.get(state, &format!("/v1/orders/{}", view::url_encode(id))).await?;
        let targets: String = order["order"]["targets"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
            .map(|(n, t)| {
                let url = e(t["url"].as_str().unwrap_or(""));
                format!(
                    "<li><figure class=\"preview\" data-preview><div class=\"frame\"><img src=\"/console/preview/{id}/{n}\" alt=\"{alt} {url}\" loading=\"lazy\"></div>\
                     <figcaption><code>{url}</code> <button type=\"button\" class=\"reveal\" aria-pressed=\"false\">{reveal}</button></figcaption></figure></li>",
                    id = e(id),
                    alt = l.t("Content under review at", "Contenu à examiner à"),
                    reveal = l.t("Reveal", "Afficher"),
                )
            })
            .collect();
        let peer = summary["peer"].as_str().unwrap_or("");
        let (errs, act) = if id == failed { (errors, action) } else { (&[][..], "") };
        let fields = &order["order"];
        cards += &format!(
            "<article class=\"card\" aria-labelledby=\"o-{id}\"><h3 id=\"o-{id}\"><a href=\"/console/orders/{id}\">{kind} {reference}</a></h3>\
             <p>{from} <strong>{peer}</strong> · {received} {received_at} · {deadline_l}: {deadline}</p>\
             <p>{statement}</p><ul class=\"previews\">{targets}</ul>{answers}</article>",
            id = e(id),
            kind = super::orders::kind_name(l, summary["kind"].as_str().unwrap_or("")),
            reference = e(summary["reference"].as_str().unwrap_or("")),
            from = l.t("From", "De"),
            peer = e(names.get(peer).map_or(peer, String::as_str)),
            received = l.t("received", "reçu"),
            received_at = e(&view::when(summary["received_at"].as_i64().unwrap_or(0))),
            deadline_l = l.t("deadline", "échéance"),
            deadline = super::orders::deadline_cell(l, summary, now),
            statement = e(fields["statement"].as_str().unwrap_or("")),
            answers = super::orders::actions(l, session, &order, errs, act, "review"),
        );
    }
    if cards.is_empty() {
        cards = format!("<p>{}</p>", l.t("No order waits for review.", "Aucune injonction n'attend d'examen."));
    }
    if more > 0 {
        cards += &format!("<p class=\"hint\">{more} {}</p>", l.t("more wait after these.", "autres attendent après celles-ci."));
    }
    let matches = match session.get(state, &format!("/v1/matches?pending=true&limit={QUEUE_SHOWN}")).await {
        Ok(Value::Array(matches)) => matches,
        Ok(_) => Vec::new(),
        Err(p) => return Ok(view::refusal(state, session, &p, here)),
    };
    let mut match_cards = String::new();
    for m in &matches {
        let id = m["id"].as_str().unwrap_or("");
        let (errs, act) = if id == failed { (errors, action) } else { (&[][..], "") };
        match_cards += &match_card(l, session, m, errs, act == "decision");
    }
    if match_cards.is_empty() {
        match_cards = format!("<p>{}</p>", l.t("No scan match waits for review.", "Aucune correspondance n'attend d'examen."));
    }
    let cards = format!(
        "<h2>{}</h2>{cards}<h2>{}</h2>{match_cards}",
        l.t("Orders and referrals", "Injonctions et signalements"),
        l.t("Uploads that matched a review bank", "Contenus mis en ligne correspondant à une banque d'examen")
    );
    let body = format!(
        "<p class=\"hint\">{}</p>{cards}",
        l.t(
            "Previews are blurred and in greyscale. Reveal one only when you need to see it; revealing another hides the first again.",
            "Les aperçus sont floutés et en niveaux de gris. N'en affichez un que si vous devez le voir ; en afficher un autre masque à nouveau le premier."
        )
    );
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    Ok(render(state, session, status, l.t("Review queue", "File d'examen"), here, &body))
}

/// One scan match waiting for review: what it matched, its preview, and the decision forms.
fn match_card(l: super::view::Lang, session: &Session, m: &Value, errors: &[(String, String)], failed: bool) -> String {
    let id = e(m["id"].as_str().unwrap_or(""));
    let matched: String = m["matches"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|x| {
            let distance = x["distance"].as_u64().map(|d| format!(" · {} {d}", l.t("distance", "distance"))).unwrap_or_default();
            let tags: Vec<&str> = x["labels"]["tags"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
            format!(
                "<li>{bank} #{num} ({kind}){distance} {tags}</li>",
                bank = e(x["bank"].as_str().unwrap_or("")),
                num = x["num"],
                kind = e(x["signal"]["type"].as_str().unwrap_or("")),
                tags = e(&tags.join(", ")),
            )
        })
        .collect();
    let key_frames: Vec<f64> = m["matches"]
        .as_array()
        .into_iter()
        .flatten()
        .find_map(|x| x["video"]["matched_seconds"].as_array())
        .map(|s| s.iter().filter_map(Value::as_f64).collect())
        .unwrap_or_default();
    let preview = if m["source"] == "scan" && !key_frames.is_empty() {
        // A video: the frames that matched, a strip of them, each blurred and in greyscale
        // until revealed, one at a time.
        let frames: String = key_frames
            .iter()
            .enumerate()
            .map(|(n, seconds)| {
                format!(
                    "<li><figure class=\"preview\" data-preview><div class=\"frame\"><img src=\"/console/match-preview/{id}/{n}\" alt=\"{alt} {seconds:.1} s\" loading=\"lazy\"></div>\
                     <figcaption>{seconds:.1} s <button type=\"button\" class=\"reveal\" aria-pressed=\"false\">{reveal}</button></figcaption></figure></li>",
                    alt = l.t("A matched frame of the uploaded video at", "Une image correspondante de la vidéo mise en ligne à"),
                    reveal = l.t("Reveal", "Afficher"),
                )
            })
            .collect();
        format!("<ul class=\"previews strip\">{frames}</ul>")
    } else if m["source"] == "scan" {
        format!(
            "<ul class=\"previews\"><li><figure class=\"preview\" data-preview><div class=\"frame\"><img src=\"/console/match-preview/{id}\" alt=\"{alt}\" loading=\"lazy\"></div>\
             <figcaption>{kind} <button type=\"button\" class=\"reveal\" aria-pressed=\"false\">{reveal}</button></figcaption></figure></li></ul>",
            alt = l.t("The uploaded content", "Le contenu mis en ligne"),
            kind = e(m["content_type"].as_str().unwrap_or("")),
            reveal = l.t("Reveal", "Afficher"),
        )
    } else {
        format!(
            "<p class=\"hint\">{}</p>",
            l.t("Hashes only: the platform sent no content.", "Empreintes seules : la plateforme n'a pas envoyé le contenu.")
        )
    };
    let errs = if failed { errors } else { &[][..] };
    let form = format!(
        "<form method=\"post\" action=\"/console/matches/{id}/decision\" class=\"action\">{csrf}\
         <label for=\"reason-m-{id}\">{why}</label><textarea id=\"reason-m-{id}\" name=\"reason\" rows=\"2\"{inv}></textarea>{err}\
         <button type=\"submit\" name=\"decision\" value=\"confirmed\">{confirm}</button> <button type=\"submit\" name=\"decision\" value=\"cleared\">{clear}</button></form>",
        csrf = session.csrf_field(),
        why = l.t("Why (for the record)", "Pourquoi (pour mémoire)"),
        inv = super::view::invalid(errs, "reason"),
        err = super::view::field_error(errs, "reason"),
        confirm = l.t("Confirm the match", "Confirmer la correspondance"),
        clear = l.t("Clear: not a match", "Écarter : pas une correspondance"),
    );
    format!(
        "<article class=\"card match\" aria-labelledby=\"m-{id}\"><h3 id=\"m-{id}\">{title} {at}</h3><p>{by} <strong>{account}</strong></p><ul>{matched}</ul>{preview}{form}</article>",
        title = l.t("Upload scanned", "Contenu analysé le"),
        at = e(&view::when_rfc3339(m["at"].as_str().unwrap_or(""))),
        by = l.t("Sent by", "Envoyé par"),
        account = e(m["account"].as_str().unwrap_or("")),
    )
}

/// `POST /console/matches/{id}/decision`: a moderator's decision, sent on to the API.
pub async fn decide(
    Shared(state): Shared<Arc<State>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, Problem> {
    let (session, values) = match super::posted(&state, &headers, &body, |_| "/console/review".to_owned()).await? {
        Ok(posted) => posted,
        Err(answer) => return Ok(answer),
    };
    let request = serde_json::json!({ "decision": view::field(&values, "decision"), "reason": view::field(&values, "reason") });
    let path = format!("/v1/matches/{}/decision", view::url_encode(&id));
    match session.send(&state, &path, &request, "reason").await {
        Ok(Ok(())) => Ok(view::see_other("/console/review")),
        Ok(Err(errors)) => queue_page(&state, &session, &errors, "decision", &id).await,
        Err(p) => Ok(view::refusal(&state, &session, &p, "/console/review")),
    }
}

/// A match waiting for review with the SHA-256 of the copy kept for it, for a moderator's
/// session only.
async fn pending_copy(state: &Arc<State>, headers: &HeaderMap, id: &str) -> Result<(tocsin_store::ScanMatch, String), Problem> {
    let Some(session) = view::session(state, headers).await? else { return Err(Problem::Unauthenticated) };
    if !session.has(MODERATORS) {
        return Err(Problem::Forbidden(MODERATORS));
    }
    if id.parse::<tocsin_model::Ulid>().is_err() {
        return Err(Problem::NotFound(format!("no match {id:?}")));
    }
    let found = state.store.scan_match(id).await?.ok_or_else(|| Problem::NotFound(format!("no match {id:?}")))?;
    let sha256 = found
        .sha256
        .clone()
        .filter(|h| h.len() == 64 && found.status == "pending")
        .ok_or_else(|| Problem::NotFound("no copy kept".to_owned()))?;
    Ok((found, sha256))
}

/// `GET /console/match-preview/{id}`: the copy of an upload kept for its review (moderators
/// only; gone once decided).
pub async fn match_preview(Shared(state): Shared<Arc<State>>, headers: HeaderMap, Path(id): Path<String>) -> Result<Response, Problem> {
    let (_, sha256) = pending_copy(&state, &headers, &id).await?;
    let path = crate::node::blobs::review_path(&state.config.data, &sha256);
    let bytes = tokio::fs::read(&path).await.map_err(|_| Problem::NotFound("no copy kept".to_owned()))?;
    image_response(bytes)
}

/// `GET /console/match-preview/{id}/{n}`: the `n`-th key frame of a video kept for its review,
/// taken from the kept copy at the time the match names, in greyscale (moderators only; gone
/// once decided).
pub async fn match_frame(
    Shared(state): Shared<Arc<State>>,
    headers: HeaderMap,
    Path((id, n)): Path<(String, usize)>,
) -> Result<Response, Problem> {
    let (found, sha256) = pending_copy(&state, &headers, &id).await?;
    let matches: Value = serde_json::from_str(&found.matches).map_err(|_| Problem::Internal)?;
    let seconds = matches
        .as_array()
        .into_iter()
        .flatten()
        .find_map(|x| x["video"]["matched_seconds"].as_array())
        .and_then(|s| s.get(n))
        .and_then(Value::as_f64)
        .ok_or_else(|| Problem::NotFound(format!("no key frame {n}")))?;
    let path = crate::node::blobs::review_path(&state.config.data, &sha256);
    let limits = tocsin_media::Limits { threads: 1, max_time: std::time::Duration::from_secs(20), ..tocsin_media::Limits::default() };
    let png =
        tokio::task::spawn_blocking(move || tocsin_media::frame_png(tocsin_media::Input::Path(&path), seconds, KEY_FRAME_WIDTH, &limits))
            .await
            .map_err(|_| Problem::Internal)?
            .map_err(|e| {
                tracing::info!(error = %e, "key frame not made");
                Problem::NotFound("the frame could not be taken from the kept copy".to_owned())
            })?;
    image_response(png)
}

/// Width of a key frame in the review strip, in pixels.
const KEY_FRAME_WIDTH: u32 = 320;

/// `GET /console/review`.
pub async fn queue(Shared(state): Shared<Arc<State>>, headers: HeaderMap) -> Result<Response, Problem> {
    let Some(session) = view::session(&state, &headers).await? else { return Ok(view::to_sign_in()) };
    queue_page(&state, &session, &[], "", "").await
}

/// The image type of `bytes` by its signature, if it is one a browser shows.
fn image_type(bytes: &[u8]) -> Option<&'static str> {
    match bytes {
        [0xFF, 0xD8, 0xFF, ..] => Some("image/jpeg"),
        [0x89, b'P', b'N', b'G', ..] => Some("image/png"),
        [b'G', b'I', b'F', b'8', ..] => Some("image/gif"),
        [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'E', b'B', b'P', ..] => Some("image/webp"),
        _ => None,
    }
}

/// `GET /console/preview/{id}/{n}`: target `n` of a received order, fetched from the platform's
/// origin, for the review queue (moderators only; images only, never stored by the browser).
pub async fn preview(
    Shared(state): Shared<Arc<State>>,
    headers: HeaderMap,
    Path((id, n)): Path<(String, usize)>,
) -> Result<Response, Problem> {
    let Some(session) = view::session(&state, &headers).await? else { return Err(Problem::Unauthenticated) };
    if !session.has(MODERATORS) {
        return Err(Problem::Forbidden(MODERATORS));
    }
    // Only an id that can be one reaches the store (PostgreSQL refuses text with a NUL byte).
    if id.parse::<tocsin_model::Ulid>().is_err() {
        return Err(Problem::NotFound(format!("no order {id:?}")));
    }
    let (row, _) = state.store.order(&id).await?.ok_or_else(|| Problem::NotFound(format!("no order {id:?}")))?;
    let fields: Value = serde_json::from_str(&row.body).map_err(|_| Problem::Internal)?;
    let url = fields["targets"][n]["url"].as_str().ok_or_else(|| Problem::NotFound(format!("no target {n}")))?;
    let url = tocsin_model::CanonicalUrl::parse(url).map_err(|_| Problem::NotFound(format!("no target {n}")))?;
    let origin = state.config.origin.clone().ok_or_else(|| Problem::NotFound("this node has no origin to show content from".to_owned()))?;
    let fetched =
        tokio::task::spawn_blocking(move || crate::orders::preservation::fetch(&origin, &url)).await.map_err(|_| Problem::Internal)?;
    let (bytes, _) = fetched.map_err(|e| {
        tracing::info!(error = %e, "preview not fetched");
        Problem::NotFound("the content could not be fetched".to_owned())
    })?;
    image_response(bytes)
}

/// Image bytes for a preview: only a type a browser shows as an image, never kept by it, never
/// run as anything else.
fn image_response(bytes: Vec<u8>) -> Result<Response, Problem> {
    let kind = image_type(&bytes).ok_or_else(|| Problem::NotFound("not an image: nothing to preview".to_owned()))?;
    let mut response = bytes.into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'none'; sandbox"));
    Ok(response)
}
