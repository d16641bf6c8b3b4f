//! The node's OpenAPI 3.1 document, generated from the handlers' annotations, served at
//! `GET /v1/openapi.json`.
//!
//! Problems that any endpoint of a kind can answer (401 and 403 where a token is needed; 400,
//! 413, 415 and 422 where a body is taken; 400 for query parameters; 503 on timeout) are added
//! here once, from what each operation declares, rather than repeated on every handler.

use std::sync::OnceLock;

use axum::Json;
use axum::response::IntoResponse;
use utoipa::OpenApi;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder};

use crate::node::{accounts, log, peers};

/// The document's source: every route the node serves.
#[derive(OpenApi)]
#[openapi(
    info(title = "Tocsin node", description = "The API every Tocsin node serves: identity, accounts, peers, and the Merkle log."),
    paths(
        crate::node::healthz,
        crate::node::readiness,
        crate::node::identity_document,
        crate::node::metrics::render,
        openapi_json,
        accounts::login,
        accounts::list,
        accounts::create,
        accounts::disable,
        accounts::set_password,
        accounts::create_token,
        accounts::revoke,
        peers::add,
        peers::list,
        peers::remove,
        peers::set_policy,
        crate::orders::procedures::inform,
        crate::orders::procedures::list,
        crate::node::legal::show,
        crate::node::legal::put,
        crate::node::legal::show_peer,
        crate::node::legal::put_peer,
        crate::messaging::inbox,
        crate::orders::issue,
        crate::orders::list,
        crate::orders::show,
        crate::orders::withdraw,
        crate::orders::accept,
        crate::orders::reject,
        crate::orders::inability,
        crate::orders::clarify,
        crate::orders::resume,
        crate::orders::preservation,
        crate::orders::finality::record,
        crate::orders::finality::list,
        crate::orders::finality::copies,
        crate::banks::list,
        crate::banks::create,
        crate::banks::show,
        crate::banks::signals,
        crate::banks::add,
        crate::banks::sharing::set_state,
        crate::banks::lookup,
        crate::banks::scan,
        crate::banks::sharing::publish,
        crate::blocklist::add,
        crate::blocklist::list,
        crate::blocklist::show,
        crate::blocklist::lift,
        crate::blocklist::review,
        crate::blocklist::rpz,
        crate::blocklist::urls,
        crate::blocklist::notices,
        crate::banks::matches::list,
        crate::banks::matches::decide,
        crate::blocklist::recommend,
        crate::blocklist::recommendations,
        crate::blocklist::answer,
        crate::banks::sharing::changes,
        crate::banks::sharing::subscribe,
        crate::banks::sharing::subscriptions,
        crate::orders::gate::check,
        crate::orders::gate::notice,
        crate::investigations::issue,
        crate::investigations::list,
        crate::investigations::show,
        crate::investigations::validate,
        crate::investigations::upload,
        crate::investigations::clear_file,
        crate::investigations::answer,
        crate::investigations::refuse,
        crate::investigations::extend,
        crate::investigations::raw_file,
        crate::investigations::serve_package,
        crate::investigations::no_grounds,
        crate::investigations::threats::report,
        crate::investigations::threats::list,
        crate::investigations::threats::acknowledge,
        crate::node::problem::describe,
        log::head,
        log::entries,
        log::inclusion,
        log::consistency,
    ),
    components(schemas(crate::node::problem::Body)),
    modifiers(&Conventions),
    tags(
        (name = "node", description = "Health, metrics and identity"),
        (name = "accounts", description = "Accounts, passwords and API tokens"),
        (name = "peers", description = "The nodes whose signed messages this node accepts"),
        (name = "messages", description = "Signed messages from peers"),
        (name = "orders", description = "Removal orders and referrals"),
        (name = "gate", description = "What the platform refuses to serve"),
        (name = "banks", description = "Hash banks, and scanning content or signals against them"),
        (name = "investigations", description = "Data requests of investigations (e-Evidence Regulation) and their answer packages"),
        (name = "blocklist", description = "The authority's blocklist and its DNS Response Policy Zone for ISPs"),
        (name = "log", description = "The Merkle log (RFC 9162)"),
    ),
)]
pub struct ApiDoc;

/// This document, as JSON.
#[utoipa::path(get, path = "/v1/openapi.json", tag = "node", responses((status = 200, description = "The OpenAPI document", content_type = "application/json")))]
pub async fn openapi_json() -> axum::response::Response {
    static DOCUMENT: OnceLock<serde_json::Value> = OnceLock::new();
    Json(DOCUMENT.get_or_init(document)).into_response()
}

/// The document as JSON, with the problem types listed in the `Problem` schema: each `type` a
/// client can get, which `GET /problems/{slug}` describes.
fn document() -> serde_json::Value {
    let mut doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
    let types: Vec<String> = crate::node::problem::KINDS.iter().map(|k| format!("{}{}", crate::node::problem::TYPE_BASE, k.0)).collect();
    if let Some(kind) = doc.pointer_mut("/components/schemas/Problem/properties/type") {
        kind["enum"] = serde_json::json!(types);
    }
    add_examples_and_links(&mut doc);
    doc
}

/// A valid request body for each operation that takes one, so that readers (and Schemathesis's
/// examples phase) see a request that gets through, not only the shape of one.
fn request_examples() -> Vec<(&'static str, &'static str, serde_json::Value)> {
    use serde_json::json;
    let pdq = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";
    vec![
        ("/v1/accounts", "post", json!({"name": "night-desk", "roles": ["issuer"], "password": "correct horse battery"})),
        ("/v1/login", "post", json!({"account": "night-desk", "password": "correct horse battery"})),
        (
            "/v1/banks",
            "post",
            json!({"name": "gifct-hashes", "action": "block", "description": "Hashes shared by the GIFCT hash-sharing database"}),
        ),
        (
            "/v1/banks/{name}/signals",
            "post",
            json!({"signals": [{"type": "pdq", "value": pdq, "labels": {"tags": ["propaganda"]}}], "detail": "gifct-2026-12.csv", "source": "import"}),
        ),
        ("/v1/banks/{name}/signals/{num}/state", "post", json!({"state": "disputed", "reason": "a still from a news report"})),
        (
            "/v1/lookup",
            "post",
            json!({"signals": [{"type": "pdq", "value": pdq}, {"type": "sha256", "value": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}]}),
        ),
        (
            "/v1/blocklist",
            "post",
            json!({"domain": "propaganda.example", "subdomains": true, "legal_basis": "LCEN art. 6-1; Décret 2015-125", "reference": "OFAC-2026-117",
                "reason": "terrorism", "removal_requested_at": "2026-12-01T09:30:00Z", "removal_requested_of": "the host, by email to abuse@host.example"}),
        ),
        ("/v1/blocklist/{id}/lift", "post", json!({"reason": "the site was taken down by its host"})),
        ("/v1/blocklist/{id}/review", "post", json!({"outcome": "keep", "note": "still online and serving the same videos"})),
        (
            "/v1/blocklist/{id}/recommendations",
            "post",
            json!({"recommendation": "lift", "reasons": "the site has been offline for three months"}),
        ),
        ("/v1/recommendations/{id}/answer", "post", json!({"accept": true, "note": "agreed: lifted"})),
        ("/v1/matches/{id}/decision", "post", json!({"decision": "confirmed", "reason": "the same video, re-encoded"})),
        ("/v1/subscriptions", "post", json!({"peer": "police-nl", "bank": "stay-down"})),
        (
            "/v1/orders",
            "post",
            json!({
                "to": "videohost", "targets": [{"url": "https://videohost.example/v/1.jpg"}], "reasons": ["incite"],
                "statement": "The video glorifies the attack of 3 March and calls for more.",
                "legal_basis": "Regulation (EU) 2021/784, Art. 3", "reference": "NL-2026-0042", "language": "en",
            }),
        ),
        ("/v1/orders/{id}/withdraw", "post", json!({"reason": "issued in error"})),
        ("/v1/orders/{id}/clarify", "post", json!({"text": "the URL is https://videohost.example/v/1.jpg, not /v/l.jpg"})),
        ("/v1/orders/{id}/resume", "post", json!({"explanation": "Power and network are back."})),
        ("/v1/orders/{id}/final", "post", json!({"basis": "unappealed", "note": "No appeal lodged by 2027-01-20."})),
        ("/v1/orders/{id}/preservation", "post", json!({"reason": "Investigation 26/4411 before the Paris court"})),
        ("/v1/peers/{name}/information", "post", json!({"given_on": "2026-12-01", "means": "letter NL-2026-0001"})),
        ("/v1/legal", "put", json!({"member_state": "NL", "authority_type": "law_enforcement", "email": "iru@police-nl.example"})),
        ("/v1/peers/{name}/legal", "put", json!({"member_state": "IE", "contact_point": "tco@videohost.example"})),
        ("/v1/banks/{name}/subscribers", "post", json!({"peer": "clipshare"})),
    ]
}

/// Links from an operation's answer to the operations that take what it names (OpenAPI 3.1
/// §4.8.20): readers follow them, and Schemathesis's stateful phase chains requests through them
/// to objects that exist rather than ids that do not.
fn links() -> Vec<(&'static str, &'static str, &'static str, &'static str, &'static str, serde_json::Value)> {
    use serde_json::json;
    let name = || json!({"name": "$response.body#/name"});
    let id = || json!({"id": "$response.body#/id"});
    vec![
        ("/v1/accounts", "post", "201", "TokenForAccount", "create_token", name()),
        ("/v1/accounts", "post", "201", "PasswordForAccount", "set_password", name()),
        ("/v1/banks", "post", "201", "ShowBank", "show_bank", name()),
        ("/v1/banks", "post", "201", "AddSignals", "add_signals", name()),
        ("/v1/banks", "post", "201", "BankSignals", "signals", name()),
        ("/v1/banks", "post", "201", "PublishBank", "publish", name()),
        (
            "/v1/banks/{name}/signals",
            "get",
            "200",
            "SignalState",
            "set_state",
            json!({"name": "$request.path.name", "num": "$response.body#/0/num"}),
        ),
        ("/v1/blocklist", "post", "201", "ShowEntry", "show_block_entry", id()),
        ("/v1/blocklist", "post", "201", "ReviewEntry", "review", id()),
        ("/v1/blocklist", "post", "201", "RecommendOnEntry", "recommend", id()),
        ("/v1/blocklist", "post", "201", "LiftEntry", "lift", id()),
        ("/v1/blocklist/{id}/recommendations", "post", "201", "AnswerRecommendation", "answer", id()),
        ("/v1/matches", "get", "200", "DecideMatch", "decide", json!({"id": "$response.body#/0/id"})),
        ("/v1/orders", "post", "201", "ShowOrder", "show_order", id()),
        ("/v1/orders", "post", "201", "WithdrawOrder", "withdraw", id()),
        ("/v1/orders", "post", "201", "ClarifyOrder", "clarify", id()),
    ]
}

/// What `problem::printable` and the orders' reason check accept, as a JSON Schema pattern: no
/// control character but a line feed, no bidirectional control, and something other than space.
const PRINTABLE: &str = concat!(
    r"^[^\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*",
    r"[^\s\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]",
    r"[^\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*$",
);

/// The free-text fields the node checks as [`PRINTABLE`] (schema, property).
const PRINTABLE_FIELDS: &[(&str, &str)] = &[
    ("AddRequest", "legal_basis"),
    ("LiftRequest", "reason"),
    ("ReviewRequest", "note"),
    ("RecommendRequest", "reasons"),
    ("AnswerRequest", "note"),
    ("DecisionRequest", "reason"),
    ("ReasonRequest", "reason"),
];

/// Path parameters that name something every node has: the problem types, and the stay-down
/// bank every node makes at its first start.
const PARAMETER_EXAMPLES: &[(&str, &str, &str)] = &[
    ("/problems/{slug}", "slug", "refused"),
    ("/v1/banks/{name}", "name", "stay-down"),
    ("/v1/banks/{name}/signals", "name", "stay-down"),
];

fn add_examples_and_links(doc: &mut serde_json::Value) {
    for (schema, property) in PRINTABLE_FIELDS {
        if let Some(field) = doc.pointer_mut(&format!("/components/schemas/{schema}/properties/{property}")) {
            field["pattern"] = serde_json::json!(PRINTABLE);
        }
    }
    for (path, name, example) in PARAMETER_EXAMPLES {
        let Some(item) = doc.pointer_mut(&format!("/paths/{}", path.replace('/', "~1"))) else { continue };
        for operation in item.as_object_mut().into_iter().flat_map(|o| o.values_mut()) {
            for parameter in operation["parameters"].as_array_mut().into_iter().flatten() {
                if parameter["name"] == *name && parameter["in"] == "path" {
                    parameter["example"] = serde_json::json!(example);
                }
            }
        }
    }
    for (path, method, example) in request_examples() {
        if let Some(media) = doc.pointer_mut(&format!("/paths/{}/{method}/requestBody/content/application~1json", path.replace('/', "~1")))
        {
            media["example"] = example;
        }
    }
    for (path, method, status, link, operation, parameters) in links() {
        if let Some(response) = doc.pointer_mut(&format!("/paths/{}/{method}/responses/{status}", path.replace('/', "~1"))) {
            response["links"][link] = serde_json::json!({"operationId": operation, "parameters": parameters});
        }
    }
}

/// Adds the bearer scheme and the problems every operation of a kind can answer.
struct Conventions;

impl utoipa::Modify for Conventions {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme("bearer", SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()));
        for item in openapi.paths.paths.values_mut() {
            let operations = [&mut item.get, &mut item.post, &mut item.put, &mut item.delete, &mut item.patch];
            for operation in operations.into_iter().flatten() {
                add_problems(operation);
            }
        }
    }
}

fn add_problems(operation: &mut Operation) {
    let secured = operation.security.as_ref().is_some_and(|s| !s.is_empty());
    let takes_body = operation.request_body.is_some();
    let takes_query =
        operation.parameters.as_ref().is_some_and(|ps| ps.iter().any(|p| matches!(p, RefOr::T(p) if p.parameter_in == ParameterIn::Query)));
    let mut problems: Vec<(&str, &str)> = vec![("503", "The request took too long")];
    if secured {
        problems.push(("401", "No valid bearer token (missing, unknown, expired or revoked)"));
        problems.push(("403", "The account's roles do not allow this"));
    }
    if takes_body {
        problems.push(("400", "The body is not well-formed JSON"));
        problems.push(("413", "The body is larger than 64 KiB"));
        problems.push(("415", "The body is not application/json"));
        problems.push(("422", "The body does not have this endpoint's shape"));
    }
    if takes_query {
        problems.push(("400", "A query parameter is missing or out of range"));
    }
    if operation.operation_id.as_deref() == Some("login") {
        problems.push(("401", "Wrong account name or password"));
    }
    for (status, description) in problems {
        operation.responses.responses.entry(status.to_owned()).or_insert_with(|| problem_response(description));
    }
}

fn problem_response(description: &str) -> RefOr<Response> {
    let content = ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build();
    RefOr::T(ResponseBuilder::new().description(description).content("application/problem+json", content).build())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every operation of the document, as (method, path, operation).
    fn operations(doc: &utoipa::openapi::OpenApi) -> Vec<(String, String, Operation)> {
        let mut out = Vec::new();
        for (path, item) in &doc.paths.paths {
            for (method, op) in
                [("get", &item.get), ("post", &item.post), ("put", &item.put), ("delete", &item.delete), ("patch", &item.patch)]
            {
                if let Some(op) = op {
                    out.push((method.to_owned(), path.clone(), op.clone()));
                }
            }
        }
        out
    }

    #[test]
    fn every_operation_has_an_id_of_its_own() {
        let doc = ApiDoc::openapi();
        let mut seen = std::collections::HashMap::new();
        for (method, path, op) in operations(&doc) {
            let id = op.operation_id.clone().unwrap_or_else(|| panic!("{method} {path} has no operationId"));
            if let Some(other) = seen.insert(id.clone(), format!("{method} {path}")) {
                panic!("operationId {id} is used by {other} and by {method} {path}");
            }
        }
        assert!(seen.len() > 40, "{} operations", seen.len());
    }

    #[test]
    fn every_example_and_link_lands_on_an_operation_that_exists() {
        let doc = document();
        for (path, method, _) in request_examples() {
            let pointer = format!("/paths/{}/{method}/requestBody/content/application~1json/example", path.replace('/', "~1"));
            assert!(doc.pointer(&pointer).is_some(), "no example at {method} {path}");
        }
        let ids: Vec<&str> = doc["paths"]
            .as_object()
            .expect("paths")
            .values()
            .flat_map(|item| item.as_object().expect("an item").values())
            .filter_map(|op| op["operationId"].as_str())
            .collect();
        for (schema, property) in PRINTABLE_FIELDS {
            let pattern = doc.pointer(&format!("/components/schemas/{schema}/properties/{property}/pattern"));
            assert_eq!(pattern.and_then(|p| p.as_str()), Some(PRINTABLE), "{schema}.{property}");
        }
        for (path, name, _) in PARAMETER_EXAMPLES {
            let item = doc.pointer(&format!("/paths/{}", path.replace('/', "~1"))).expect("the path");
            let found = item
                .as_object()
                .expect("an item")
                .values()
                .flat_map(|op| op["parameters"].as_array().into_iter().flatten())
                .any(|p| p["name"] == *name && p["example"].is_string());
            assert!(found, "no example for {name} in {path}");
        }
        for (path, method, status, link, operation, _) in links() {
            let pointer = format!("/paths/{}/{method}/responses/{status}/links/{link}", path.replace('/', "~1"));
            assert!(doc.pointer(&pointer).is_some(), "no link at {method} {path} {status}");
            assert!(ids.contains(&operation), "{link} names {operation}, which is no operation");
        }
    }

    #[test]
    fn each_request_body_is_documented_with_its_own_fields() {
        // Two request types of one name would share one schema (the second silently replacing
        // the first): accept and reject once showed the blocklist review's fields.
        let doc = document();
        for (path, field) in [("/v1/orders/{id}/accept", "reason"), ("/v1/blocklist/{id}/review", "outcome")] {
            let pointer = format!("/paths/{}/post/requestBody/content/application~1json/schema/$ref", path.replace('/', "~1"));
            let schema = doc.pointer(&pointer).and_then(|r| r.as_str()).and_then(|r| r.rsplit('/').next()).expect("a schema");
            assert!(doc["components"]["schemas"][schema]["properties"].get(field).is_some(), "{path}: {schema} has no {field}");
        }
    }

    #[test]
    fn the_notice_declares_its_blocked_by_link() {
        let doc = serde_json::to_value(ApiDoc::openapi()).expect("JSON");
        let headers = &doc["paths"]["/v1/gate/notice"]["get"]["responses"]["451"]["headers"];
        assert!(headers["Link"]["description"].as_str().is_some_and(|d| d.contains("blocked-by")), "{headers}");
    }
}
