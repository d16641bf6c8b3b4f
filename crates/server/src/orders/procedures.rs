//! TCO Art. 3(2): before its first removal order to a platform, an authority gives it
//! information on its procedures and deadlines, at least twelve hours ahead. An issuer sends it
//! through Tocsin (a signed message, dated by the platform's receipt) or records that it was
//! given otherwise (a letter, with the day it was sent); orders check the record
//! (`orders::first_order_fault`). The platform keeps what it received.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State as Shared};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use tocsin_wire::Body;
pub use tocsin_wire::body::ProcedureInformationBody;
use utoipa::ToSchema;

use crate::State;
use crate::node::accounts::Caller;
use crate::node::problem::{JsonBody, Problem};
use crate::node::{new_id, seal};

const ISSUERS: &[&str] = &["issuer"];
const READERS: &[&str] = &["issuer", "operator", "reviewer", "admin", "oversight"];

/// The most characters the information may have.
const MAX_TEXT: usize = tocsin_wire::body::MAX_INFORMATION;

/// `POST /v1/peers/{name}/information` body: nothing to send the default text now; `text` for
/// other words; `given_on` and `means` to record information given by other means.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InformRequest {
    /// The information; a text naming this node's procedures and the Regulation's deadlines if
    /// not given.
    #[schema(max_length = 10000)]
    text: Option<String>,
    /// The day (YYYY-MM-DD, UTC) it was given by other means; counted from the end of that day
    /// (from now, for today).
    given_on: Option<String>,
    /// How it was given then (a letter and its reference, an email): required with `given_on`.
    #[schema(max_length = 500)]
    means: Option<String>,
}

/// One record as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct InformationView {
    /// The message's or record's id.
    id: String,
    /// `sent` by this node, or `received` from the peer.
    side: String,
    /// When the platform had it, Unix ms (its receipt, or the end of the day stated); absent
    /// while the message is on its way.
    #[serde(skip_serializing_if = "Option::is_none")]
    given_at: Option<i64>,
    /// `tocsin`, or the other means.
    means: String,
    /// The information.
    text: String,
    /// Who recorded it.
    recorded_by: String,
    /// When, Unix ms.
    recorded_at: i64,
}

impl From<tocsin_store::ProcedureInformation> for InformationView {
    fn from(r: tocsin_store::ProcedureInformation) -> Self {
        Self {
            id: r.id,
            side: r.side,
            given_at: r.given_at,
            means: r.means,
            text: r.text,
            recorded_by: r.recorded_by,
            recorded_at: r.recorded_at,
        }
    }
}

/// The information sent when the issuer gives no text of its own.
fn default_text(authority: &str) -> String {
    format!(
        "Information on procedures and deadlines (Regulation (EU) 2021/784, Art. 3(2)) from {authority}.\n\
         Removal orders reach your node as signed messages; your node's signed receipt records the time of receipt.\n\
         Remove or disable the content in all Member States as soon as possible and in any event within one hour of receipt (Art. 3(3)).\n\
         Report what you did without undue delay (Art. 3(6), Annex II): your node sends this feedback when it executes the order.\n\
         If you cannot comply because of force majeure or de facto impossibility, say so without undue delay (Art. 3(7), Annex III); \
         the hour runs again once the grounds cease, which you tell us.\n\
         If the order contains manifest errors or lacks information, ask for clarification (Art. 3(8), Annex III); the hour runs again \
         from our clarification.\n\
         Keep the removed content and related data for six months (Art. 6)."
    )
}

/// Sends a platform the information on procedures and deadlines, or records that it was given
/// by other means on a stated day (issuer; TCO Art. 3(2)).
#[utoipa::path(post, path = "/v1/peers/{name}/information", tag = "peers", security(("bearer" = [])), request_body = InformRequest,
    params(("name" = String, Path, description = "The peer")),
    responses(
        (status = 201, description = "Sent (dated when the peer's receipt comes back) or recorded", body = InformationView),
        (status = 409, description = "No such peer, or the text, day or means is wrong", body = crate::node::problem::Body, content_type = "application/problem+json"),
    ))]
pub async fn inform(
    caller: Caller,
    Shared(state): Shared<Arc<State>>,
    Path(name): Path<String>,
    body: JsonBody<InformRequest>,
) -> Result<(StatusCode, Json<InformationView>), Problem> {
    caller.require(ISSUERS)?;
    let request = body.parse()?;
    let peer =
        state.store.peers().await?.into_iter().find(|p| p.name == name).ok_or_else(|| Problem::Refused(format!("no peer {name:?}")))?;
    let information = ProcedureInformationBody { text: request.text.unwrap_or_else(|| default_text(&state.config.name)) };
    if !information.holds() {
        return Err(Problem::Refused(format!("text: 1 to {MAX_TEXT} characters, no control characters")));
    }
    let id = new_id()?;
    let id_text = id.to_string();
    match (request.given_on, request.means) {
        (None, None) => {
            let jws = seal(&state, id, &peer.fingerprint, &Body::ProcedureInformation(information.clone()));
            let given = tocsin_store::Given::Sent { id: &id_text, url: &peer.url, jws: &jws };
            state.store.record_procedure_information(&peer.fingerprint, given, "tocsin", &information.text, &caller.0.name).await?;
            state.outbox.notify_one();
        }
        (Some(day), Some(means)) => {
            let start =
                crate::node::time::parse_date_ms(&day).ok_or_else(|| Problem::Refused(format!("given_on {day:?}: a date, YYYY-MM-DD")))?;
            let means = means.trim();
            if means.is_empty() || means.chars().count() > 500 || means.chars().any(tocsin_model::is_hidden_control) {
                return Err(Problem::Refused("means: 1 to 500 characters, no control characters".to_owned()));
            }
            // The last moment of the day, or now for today: a record cannot make the twelve hours
            // start earlier than they may have. A day to come is refused by the store.
            let now = crate::node::time::now_ms() as i64;
            let at = if start <= now { (start + 86_400_000 - 1).min(now) } else { start };
            let given = tocsin_store::Given::Otherwise { id: &id_text, at };
            state.store.record_procedure_information(&peer.fingerprint, given, means, &information.text, &caller.0.name).await?;
        }
        _ => return Err(Problem::Refused("given_on and means go together".to_owned())),
    }
    tracing::info!(peer = %peer.name, id = %id_text, "information on procedures and deadlines recorded");
    let record = state.store.procedure_information(&peer.fingerprint).await?.into_iter().find(|r| r.id == id_text);
    Ok((StatusCode::CREATED, Json(record.ok_or(Problem::Internal)?.into())))
}

/// The information on procedures and deadlines given to, or received from, a peer (issuer,
/// operator, reviewer, admin, oversight).
#[utoipa::path(get, path = "/v1/peers/{name}/information", operation_id = "list_information", tag = "peers", security(("bearer" = [])),
    params(("name" = String, Path, description = "The peer")),
    responses(
        (status = 200, description = "Oldest first", body = [InformationView]),
        (status = 404, description = "No such peer", body = crate::node::problem::Body, content_type = "application/problem+json"),
    ))]
pub async fn list(
    caller: Caller,
    Shared(state): Shared<Arc<State>>,
    Path(name): Path<String>,
) -> Result<Json<Vec<InformationView>>, Problem> {
    caller.require(READERS)?;
    let peer =
        state.store.peers().await?.into_iter().find(|p| p.name == name).ok_or_else(|| Problem::NotFound(format!("no peer {name:?}")))?;
    Ok(Json(state.store.procedure_information(&peer.fingerprint).await?.into_iter().map(InformationView::from).collect()))
}
