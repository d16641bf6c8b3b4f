//! The console's order pages: the list with live states and deadlines (overdue first), the
//! Annex I form an issuer fills in, an order's fields and timeline with the platform's signed
//! receipt, and the answers each side may give (accept, reject, inability, clarify, withdraw).

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, State as Shared};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use super::view::{self, Lang, Session, faults, field, field_error, invalid, render, span, state_name, time_tag, when};
use crate::State;
use crate::node::html::escape_html as e;
use crate::node::problem::Problem;

fn settled(state: &str) -> bool {
    state.parse::<tocsin_model::OrderState>().is_ok_and(tocsin_model::OrderState::is_settled)
}

/// The deadline cell: a countdown while the hour runs, how late once past, nothing when settled
/// or when there is no legal deadline.
pub(crate) fn deadline_cell(l: Lang, order: &Value, now: i64) -> String {
    let Some(deadline) = order["deadline_at"].as_i64() else { return l.t("none", "aucun").to_owned() };
    let state = order["state"].as_str().unwrap_or("");
    if settled(state) {
        return format!("<span class=\"muted\">{}</span>", e(&when(deadline)));
    }
    if deadline <= now {
        let late = format!("{} {}", l.t("overdue by", "en retard de"), span(now - deadline));
        return format!("<strong class=\"overdue\">{}</strong>", time_tag(deadline, "countdown", &late));
    }
    time_tag(deadline, "countdown", &format!("{} {}", span(deadline - now), l.t("left", "restantes")))
}

/// Settled orders the list shows, newest first (every open order is shown).
const SETTLED_SHOWN: usize = 200;

/// Puts the list in the order a night shift reads it (overdue, then open by deadline, then
/// settled, newest first) and keeps every open order and the latest settled ones: how many were
/// left out.
fn arrange(orders: &mut Vec<Value>) -> usize {
    let rank = |o: &Value| {
        let open = !settled(o["state"].as_str().unwrap_or(""));
        (
            !o["overdue"].as_bool().unwrap_or(false),
            !open,
            o["deadline_at"].as_i64().filter(|_| open).unwrap_or(i64::MAX),
            -o["issued_at"].as_i64().unwrap_or(0),
        )
    };
    orders.sort_by_key(rank);
    let open = orders.iter().filter(|o| !settled(o["state"].as_str().unwrap_or(""))).count();
    let hidden = orders.len().saturating_sub(open + SETTLED_SHOWN);
    orders.truncate(open + SETTLED_SHOWN);
    hidden
}

/// The order list, overdue first, then open ones by deadline, then the rest newest first.
pub(crate) async fn list_page(state: &Arc<State>, session: &Session, here: &str) -> Result<Response, Problem> {
    let l = session.lang;
    let mut orders = match session.get(state, "/v1/orders").await {
        Ok(Value::Array(orders)) => orders,
        Ok(_) => Vec::new(),
        Err(p) => return Ok(view::refusal(state, session, &p, here)),
    };
    let names = crate::node::peers::peer_names(state).await?;
    let now = crate::node::time::now_ms() as i64;
    let hidden = arrange(&mut orders);
    let rows: String = orders
        .iter()
        .map(|o| {
            let id = o["id"].as_str().unwrap_or("");
            let peer = o["peer"].as_str().unwrap_or("");
            let state_text = o["state"].as_str().unwrap_or("");
            let issued = o["issued_at"].as_i64().unwrap_or(0);
            let class = if o["overdue"].as_bool().unwrap_or(false) { " class=\"overdue-row\"" } else { "" };
            format!(
                "<tr{class}><td><a href=\"/console/orders/{id}\">{reference}</a></td><td>{kind}</td><td>{side}</td><td>{peer}</td>\
                 <td><span class=\"state state-{state_text}\">{state}</span>{problem}</td><td>{since}</td><td>{deadline}</td></tr>",
                problem = delivery_badge(l, o),
                id = e(id),
                reference = e(o["reference"].as_str().unwrap_or(id)),
                kind = kind_name(l, o["kind"].as_str().unwrap_or("")),
                side = if o["side"] == "issued" { l.t("sent", "envoyée") } else { l.t("received", "reçue") },
                peer = e(names.get(peer).map_or(peer, String::as_str)),
                state_text = e(state_text),
                state = state_name(l, state_text),
                since = time_tag(issued, "since", &format!("{} {}", span(now - issued), l.t("ago", "écoulées"))),
                deadline = deadline_cell(l, o, now),
            )
        })
        .collect();
    let new = if session.has(&["issuer"]) {
        format!("<p><a class=\"button\" href=\"/console/orders/new\">{}</a></p>", l.t("Issue an order", "Émettre une injonction"))
    } else {
        String::new()
    };
    let table = if orders.is_empty() {
        format!("<p>{}</p>", l.t("No orders yet.", "Aucune injonction pour l'instant."))
    } else {
        let headers = [
            l.t("Reference", "Référence"),
            l.t("Kind", "Type"),
            l.t("Direction", "Sens"),
            l.t("Other party", "Autre partie"),
            l.t("State", "État"),
            l.t("Since issue", "Depuis l'émission"),
            l.t("Deadline (one hour from receipt)", "Échéance (une heure après réception)"),
        ];
        let caption = l.t(
            "Overdue first, then open orders by deadline, then the rest, newest first. The list refreshes itself.",
            "Les injonctions en retard d'abord, puis les ouvertes par échéance, puis les autres, des plus récentes aux plus anciennes. La liste se met à jour seule.",
        );
        view::table(caption, &headers, &rows)
    };
    let older = if hidden > 0 {
        format!(
            "<p class=\"hint\">{hidden} {}</p>",
            l.t(
                "older settled orders are not shown here (the API lists them all).",
                "injonctions closes plus anciennes ne sont pas affichées ici (l'API les liste toutes)."
            )
        )
    } else {
        String::new()
    };
    let body = format!(
        "{new}<div data-live=\"5\" aria-live=\"polite\">{table}{older}</div><noscript><p>{}</p></noscript>",
        l.t("Reload the page to see new states.", "Rechargez la page pour voir les nouveaux états.")
    );
    Ok(render(state, session, StatusCode::OK, l.t("Orders", "Injonctions"), here, &body))
}

/// `GET /console/orders`.
pub async fn list(Shared(state): Shared<Arc<State>>, headers: HeaderMap) -> Result<Response, Problem> {
    let Some(session) = view::session(&state, &headers).await? else { return Ok(view::to_sign_in()) };
    list_page(&state, &session, "/console/orders").await
}

pub(crate) fn kind_name(l: Lang, kind: &str) -> &'static str {
    match kind {
        "removal_order" => l.t("removal order", "injonction de retrait"),
        "referral" => l.t("referral", "signalement"),
        _ => l.t("unknown", "inconnu"),
    }
}

/// The Art. 2(7) reasons, as the form offers them.
const REASONS: &[(&str, &str, &str)] = &[
    (
        "incite",
        "(a) incites the commission of terrorist offences, including by glorifying terrorist acts or advocating their commission",
        "(a) incite à commettre des infractions terroristes, y compris en glorifiant des actes terroristes ou en prônant leur commission",
    ),
    (
        "solicit",
        "(b) solicits a person or group to commit or contribute to terrorist offences",
        "(b) sollicite une personne ou un groupe pour commettre une infraction terroriste ou y contribuer",
    ),
    (
        "solicit_participation",
        "(c) solicits participation in the activities of a terrorist group",
        "(c) sollicite la participation aux activités d'un groupe terroriste",
    ),
    (
        "instruct",
        "(d) instructs on making or using explosives, firearms, other weapons, noxious or hazardous substances, or other specific methods or techniques, for terrorist offences",
        "(d) fournit des instructions pour fabriquer ou utiliser des explosifs, armes à feu, autres armes, substances nocives ou dangereuses, ou d'autres méthodes ou techniques spécifiques, à des fins terroristes",
    ),
    ("threaten", "(e) threatens to commit a terrorist offence", "(e) menace de commettre une infraction terroriste"),
];

/// The API's default redress text (TCO Art. 9), in French.
const DEFAULT_REDRESS_FR: &str = "Le fournisseur de services d'hébergement et le fournisseur de contenus peuvent contester cette injonction devant les juridictions de l'État membre d'émission (règlement (UE) 2021/784, art. 9). Ils peuvent aussi demander à l'autorité compétente de l'État membre de l'établissement principal ou du représentant légal du fournisseur d'examiner l'injonction (art. 4, par. 3 et 4).";

/// The kind of control a form field is.
#[derive(Clone, Copy)]
enum Control {
    Line,
    Short,
    Date,
    Text(u8),
}

/// A labelled field (with an optional hint), marked and followed by its error when refused.
/// `value` is already escaped.
fn labelled(errors: &[(String, String)], name: &str, label: &str, hint: Option<&str>, control: Control, value: &str) -> String {
    let hint = hint.map(|h| format!("<p class=\"hint\" id=\"{name}-hint\">{h}</p>")).unwrap_or_default();
    let inv = invalid(errors, name);
    let control = match control {
        Control::Line => format!("<input id=\"{name}\" name=\"{name}\" value=\"{value}\"{inv}>"),
        Control::Short => format!("<input id=\"{name}\" name=\"{name}\" value=\"{value}\" class=\"short\"{inv}>"),
        Control::Date => format!("<input type=\"date\" id=\"{name}\" name=\"{name}\" value=\"{value}\"{inv}>"),
        Control::Text(rows) => format!("<textarea id=\"{name}\" name=\"{name}\" rows=\"{rows}\"{inv}>{value}</textarea>"),
    };
    format!("<label for=\"{name}\">{label}</label>{hint}{control}{}", field_error(errors, name))
}

/// An order's Annex I sections A, D, E, F and G as definition lists (`annex` as the order
/// carries it), each particular with its refusal from `errors` when the form was refused.
fn annex_html(l: Lang, annex: &Value, errors: &[(String, String)]) -> String {
    let text = |v: &Value| e(v.as_str().unwrap_or(""));
    let item = |label: &str, value: String, name: &str| {
        let shown = if value.is_empty() { format!("<em>{}</em>", l.t("not stated", "non indiqué")) } else { value };
        format!("<dt>{label}</dt><dd id=\"annex-{name}\">{shown}{}</dd>", field_error(errors, name))
    };
    let (authority, provider) = (&annex["authority"], &annex["provider"]);
    let kind = match authority["authority_type"].as_str() {
        Some("judicial") => l.t("judge, court or investigating judge", "juge, juridiction ou juge d'instruction").to_owned(),
        Some("law_enforcement") => l.t("law enforcement authority", "autorité répressive").to_owned(),
        Some("other") => l.t("other competent authority", "autre autorité compétente").to_owned(),
        _ => String::new(),
    };
    let cross_border = if annex["cross_border"] == true { l.t("yes", "oui") } else { l.t("no", "non") };
    let sections = [
        (
            l.t("Section A: Member States and addressee", "Section A : États membres et destinataire"),
            [
                item(
                    l.t("Member State of the issuing authority", "État membre de l'autorité d'émission"),
                    text(&annex["issuing_member_state"]),
                    "issuing_member_state",
                ),
                item(
                    l.t(
                        "Member State of the provider's main establishment or legal representative",
                        "État membre de l'établissement principal ou du représentant légal du fournisseur",
                    ),
                    text(&provider["member_state"]),
                    "provider_member_state",
                ),
                item(l.t("Legal representative", "Représentant légal"), text(&provider["legal_representative"]), "legal_representative"),
                item(l.t("Contact point", "Point de contact"), text(&provider["contact_point"]), "contact_point"),
            ]
            .concat(),
        ),
        (
            l.t("Section D: cross-border order", "Section D : injonction transfrontière"),
            [
                item(
                    l.t("The provider's Member State differs", "L'État membre du fournisseur est différent"),
                    cross_border.to_owned(),
                    "cross_border",
                ),
                item(l.t("Copy sent to", "Copie transmise à"), text(&provider["state_authority"]), "state_authority"),
            ]
            .concat(),
        ),
        (
            l.t("Section E: the issuing authority", "Section E : l'autorité d'émission"),
            [
                item(l.t("Type", "Type"), kind, "authority_type"),
                item(
                    l.t("Representative (name and post)", "Représentant (nom et fonction)"),
                    text(&authority["representative"]),
                    "representative",
                ),
                item(l.t("Address", "Adresse"), text(&authority["address"]), "address"),
                item(l.t("Telephone", "Téléphone"), text(&authority["phone"]), "phone"),
                item(l.t("Fax", "Télécopieur"), text(&authority["fax"]), "fax"),
                item(l.t("Email", "Courrier électronique"), text(&authority["email"]), "email"),
            ]
            .concat(),
        ),
        (
            l.t("Section F: contacts", "Section F : coordonnées"),
            [
                item(
                    l.t("For feedback and clarification", "Pour le retour d'information et les précisions"),
                    text(&authority["contact_point"]),
                    "authority_contact_point",
                ),
                item(
                    l.t("Authority of the provider's Member State", "Autorité de l'État membre du fournisseur"),
                    text(&provider["state_authority"]),
                    "provider_state_authority",
                ),
            ]
            .concat(),
        ),
        (
            l.t("Section G: redress", "Section G : voies de recours"),
            [
                item(l.t("Competent court or body", "Juridiction ou organe compétent"), text(&authority["redress_body"]), "redress_body"),
                item(l.t("Time to challenge", "Délai de recours"), text(&authority["redress_deadline"]), "redress_deadline"),
                item(l.t("National provisions", "Dispositions nationales"), text(&authority["redress_provisions"]), "redress_provisions"),
            ]
            .concat(),
        ),
    ];
    let body: String = sections.iter().map(|(title, items)| format!("<h3>{title}</h3><dl class=\"fields\">{items}</dl>")).collect();
    format!(
        "<section class=\"annex\" aria-label=\"{label}\"><p class=\"hint\">{hint}</p>{body}</section>",
        label = l.t("Annex I sections", "Sections de l'annexe I"),
        hint = l.t(
            "From the particulars stated for this node and for the platform (tocsin legal set).",
            "D'après les informations indiquées pour ce nœud et pour la plateforme (tocsin legal set).",
        ),
    )
}

/// The issue form, filled with `values` and with `errors` next to their fields.
async fn form_page(
    state: &Arc<State>,
    session: &Session,
    values: &[(String, String)],
    errors: &[(String, String)],
) -> Result<Response, Problem> {
    let l = session.lang;
    if !session.has(&["issuer"]) {
        return Ok(view::refusal(state, session, &Problem::Forbidden(&[]), "/console/orders/new"));
    }
    let fresh = values.is_empty();
    let v = |name: &str| e(field(values, name));
    let peers = state.store.peers().await?;
    let to = field(values, "to");
    let options: String = peers
        .iter()
        .filter(|p| p.roles.iter().any(|r| r == "platform"))
        .map(|p| format!("<option value=\"{n}\"{sel}>{n}</option>", n = e(&p.name), sel = if p.name == to { " selected" } else { "" }))
        .collect();
    let kind = if field(values, "kind") == "referral" { "referral" } else { "removal_order" };
    let checked = |c: bool| if c { " checked" } else { "" };
    let reasons: String = REASONS
        .iter()
        .map(|(key, en, fr)| {
            let on = values.iter().any(|(k, v)| k == "reasons" && v == key);
            format!("<li><input type=\"checkbox\" name=\"reasons\" value=\"{key}\" id=\"reason-{key}\"{}><label for=\"reason-{key}\" class=\"inline\">{}</label></li>", checked(on), l.t(en, fr))
        })
        .collect();
    // A new order starts in the page's language, redress text included.
    let redress = if fresh { e(l.t(crate::orders::DEFAULT_REDRESS, DEFAULT_REDRESS_FR)) } else { v("redress") };
    let language = if fresh { l.code().to_owned() } else { v("language") };
    let told = fresh || field(values, "provider_may_be_told") == "yes";
    let summary = if errors.is_empty() {
        String::new()
    } else {
        format!(
            "<div class=\"error\" role=\"alert\"><p>{}</p></div>",
            l.t(
                "The order was not issued: correct the fields marked below.",
                "L'injonction n'a pas été émise : corrigez les champs signalés ci-dessous."
            )
        )
    };
    let field =
        |name: &str, label: &str, hint: Option<&str>, control: Control, value: &str| labelled(errors, name, label, hint, control, value);
    let mut body = format!(
        "{summary}<form method=\"post\" action=\"/console/orders\" novalidate>{csrf}\
         <fieldset><legend>{kind_legend}</legend>\
         <input type=\"radio\" name=\"kind\" value=\"removal_order\" id=\"kind-removal\"{k1}><label for=\"kind-removal\" class=\"inline\">{removal}</label>\
         <input type=\"radio\" name=\"kind\" value=\"referral\" id=\"kind-referral\"{k2}><label for=\"kind-referral\" class=\"inline\">{referral}</label></fieldset>\
         <label for=\"to\">{to_label}</label><select id=\"to\" name=\"to\"{to_invalid}><option value=\"\">—</option>{options}</select>{to_error}",
        csrf = session.csrf_field(),
        kind_legend = l.t("Kind", "Type"),
        k1 = checked(kind == "removal_order"),
        k2 = checked(kind == "referral"),
        removal = l.t("Removal order (one hour, TCO Art. 3)", "Injonction de retrait (une heure, TCO art. 3)"),
        referral =
            l.t("Referral (the platform checks it against its terms)", "Signalement (la plateforme l'examine au regard de ses conditions)"),
        to_label = l.t("Hosting service provider", "Fournisseur de services d'hébergement"),
        to_invalid = invalid(errors, "to"),
        to_error = field_error(errors, "to"),
    );
    body += &field(
        "reference",
        l.t("Reference", "Référence"),
        Some(l.t(
            "Your file number; made from the order's id if left empty.",
            "Votre numéro de dossier ; tiré de l'identifiant de l'injonction s'il est laissé vide.",
        )),
        Control::Line,
        &v("reference"),
    );
    body += &field(
        "targets",
        l.t("Content URLs", "URL des contenus"),
        Some(l.t(
            "One URL a line; a SHA-256 of the content may follow the URL after a space.",
            "Une URL par ligne ; le SHA-256 du contenu peut suivre l'URL après une espace.",
        )),
        Control::Text(4),
        &v("targets"),
    );
    body += &format!(
        "<fieldset{reasons_invalid}><legend>{reasons_legend}</legend><ul class=\"plain\">{reasons}</ul>{reasons_error}</fieldset>",
        reasons_legend = l.t(
            "Reasons (Regulation (EU) 2021/784, Art. 2(7)): the material…",
            "Motifs (règlement (UE) 2021/784, art. 2, point 7) : le contenu…"
        ),
        reasons_invalid = invalid(errors, "reasons"),
        reasons_error = field_error(errors, "reasons"),
    );
    body += &field(
        "statement",
        l.t("Statement of reasons", "Exposé des motifs"),
        Some(l.t(
            "Why this content is terrorist content, in enough detail for the platform and a court (required for a removal order, Art. 3(4)(b)).",
            "Pourquoi ce contenu est un contenu à caractère terroriste, assez détaillé pour la plateforme et un juge (obligatoire pour une injonction de retrait, art. 3, par. 4, point b).",
        )),
        Control::Text(4),
        &v("statement"),
    );
    body += &field(
        "location",
        l.t("Where exactly (optional)", "Localisation précise (facultatif)"),
        Some(l.t(
            "Anything that identifies and locates the content beyond its URL: a time in a video, a post's author, a page's title (Annex I section B).",
            "Tout ce qui identifie et localise le contenu au-delà de son URL : un moment d'une vidéo, l'auteur d'un message, le titre d'une page (annexe I, section B).",
        )),
        Control::Text(2),
        &v("location"),
    );
    body += &field(
        "legal_basis",
        l.t("Legal basis", "Base juridique"),
        Some(l.t(
            "For a removal order, Regulation (EU) 2021/784, Art. 3 if left empty.",
            "Pour une injonction de retrait, règlement (UE) 2021/784, art. 3 s'il est laissé vide.",
        )),
        Control::Line,
        &v("legal_basis"),
    );
    body += &field(
        "emergency",
        l.t("Emergency justification (first order only)", "Justification de l'urgence (première injonction seulement)"),
        Some(l.t(
            "Only when this is your first removal order to the platform and it has not had your information on procedures and deadlines for twelve hours (Art. 3(2)).",
            "Seulement s'il s'agit de votre première injonction de retrait à cette plateforme et qu'elle n'a pas reçu vos informations sur les procédures et délais depuis douze heures (art. 3, par. 2).",
        )),
        Control::Text(2),
        &v("emergency"),
    );
    body += &format!(
        "<p><input type=\"checkbox\" name=\"provider_may_be_told\" value=\"yes\" id=\"provider_may_be_told\"{}><label for=\"provider_may_be_told\" class=\"inline\">{}</label></p>",
        checked(told),
        l.t("The platform may tell the content provider (Art. 11)", "La plateforme peut informer le fournisseur de contenu (art. 11)"),
    );
    body += &field(
        "confidential_until",
        l.t("If not: confidential until (optional)", "Sinon : confidentiel jusqu'au (facultatif)"),
        None,
        Control::Date,
        &v("confidential_until"),
    );
    body += &field("redress", l.t("Redress information", "Voies de recours"), None, Control::Text(3), &redress);
    body +=
        &field("language", l.t("Language of the order (ISO 639-1)", "Langue de l'injonction (ISO 639-1)"), None, Control::Short, &language);
    // Sections A, D, E, F and G come from the particulars stated for this node and the chosen
    // platform (`tocsin legal set`), shown here so the issuer sees what the order will say.
    let own = crate::node::legal::own(state).await?;
    let chosen = match peers.iter().find(|p| p.name == to) {
        Some(peer) => crate::node::legal::details(state, &peer.fingerprint).await?,
        None => tocsin_model::LegalDetails::default(),
    };
    let sections = tocsin_model::AnnexSections::new(&own, &chosen);
    body += &annex_html(l, &serde_json::to_value(&sections).unwrap_or_default(), errors);
    body += &format!("<p><button type=\"submit\">{}</button></p></form>", l.t("Issue", "Émettre"));
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    Ok(render(state, session, status, l.t("New order", "Nouvelle injonction"), "/console/orders/new", &body))
}

/// `GET /console/orders/new`.
pub async fn new(Shared(state): Shared<Arc<State>>, headers: HeaderMap) -> Result<Response, Problem> {
    let Some(session) = view::session(&state, &headers).await? else { return Ok(view::to_sign_in()) };
    form_page(&state, &session, &[], &[]).await
}

/// The form as the API's `IssueRequest`, or the faults found reading it (a date that is not one).
fn issue_request(values: &[(String, String)]) -> Result<Value, Vec<(String, String)>> {
    let mut faults = Vec::new();
    let targets: Vec<Value> = field(values, "targets")
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(|line| match line.rsplit_once(char::is_whitespace) {
            // A hash after the URL is a last word of hex digits; anything else is all URL (and
            // refused as one if it is not).
            Some((url, hash)) if hash.len() >= 32 && hash.bytes().all(|b| b.is_ascii_hexdigit()) => {
                json!({ "url": url.trim(), "sha256": hash })
            }
            _ => json!({ "url": line }),
        })
        .collect();
    let reasons: Vec<&str> = values.iter().filter(|(k, _)| k == "reasons").map(|(_, v)| v.as_str()).collect();
    let confidential = field(values, "confidential_until").trim();
    let confidential_until = if confidential.is_empty() {
        None
    } else {
        match crate::node::time::parse_date_ms(confidential) {
            // The end of that day, UTC.
            Some(ms) => Some(ms + 86_400_000 - 1),
            None => {
                faults.push(("confidential_until".to_owned(), "a date, YYYY-MM-DD".to_owned()));
                None
            }
        }
    };
    let reference = field(values, "reference").trim();
    let request = json!({
        "to": field(values, "to"),
        "kind": if field(values, "kind") == "referral" { "referral" } else { "removal_order" },
        "reference": (!reference.is_empty()).then_some(reference),
        "targets": targets,
        "reasons": reasons,
        "statement": field(values, "statement"),
        "location": field(values, "location"),
        "legal_basis": field(values, "legal_basis"),
        "provider_may_be_told": field(values, "provider_may_be_told") == "yes",
        "confidential_until": confidential_until,
        // The form comes filled with a removal order's redress; a referral left with it gets the
        // referral's own text from the API instead.
        "redress": Some(field(values, "redress")).filter(|r| {
            let default = [crate::orders::DEFAULT_REDRESS, DEFAULT_REDRESS_FR].contains(&r.trim());
            !(default && field(values, "kind") == "referral")
        }),
        "language": field(values, "language").trim(),
        "emergency": Some(field(values, "emergency").trim()).filter(|e| !e.is_empty()),
    });
    if faults.is_empty() { Ok(request) } else { Err(faults) }
}

/// `POST /console/orders`: the form, sent on to `POST /v1/orders`; the new order's page, or the
/// form again with each refused field marked.
pub async fn issue(Shared(state): Shared<Arc<State>>, headers: HeaderMap, body: axum::body::Bytes) -> Result<Response, Problem> {
    let (session, values) = match super::posted(&state, &headers, &body, |_| "/console/orders/new".to_owned()).await? {
        Ok(posted) => posted,
        Err(answer) => return Ok(answer),
    };
    let request = match issue_request(&values) {
        Ok(request) => request,
        Err(faults) => return form_page(&state, &session, &values, &view::in_language(session.lang, faults)).await,
    };
    let mut request = request;
    // Fields left empty in the form take the API's defaults.
    if let Some(o) = request.as_object_mut() {
        o.retain(|_, v| !v.is_null());
    }
    let (status, answer) = session.api(&state, Method::POST, "/v1/orders", Some(&request)).await?;
    if status == StatusCode::CREATED {
        return Ok(view::see_other(&format!("/console/orders/{}", answer["id"].as_str().unwrap_or(""))));
    }
    if status == StatusCode::FORBIDDEN {
        return Ok(view::refusal(&state, &session, &Problem::Forbidden(&[]), "/console/orders/new"));
    }
    form_page(&state, &session, &values, &faults(session.lang, &answer, "targets")).await
}

fn event_name(l: Lang, event: &str) -> String {
    let name = match event {
        "issued" => l.t("issued", "émise"),
        "delivered" => l.t("delivered: signed receipt from the platform", "remise : accusé de réception signé de la plateforme"),
        "received" => l.t("received", "reçue"),
        "accepted" => l.t("accepted by a reviewer", "acceptée par un examinateur"),
        "rejected" => l.t("rejected by a reviewer", "rejetée par un examinateur"),
        "executed" => l.t("executed", "exécutée"),
        "partially_executed" => l.t("partially executed", "exécutée en partie"),
        "unable" => l.t("unable to execute", "inexécutable"),
        "feedback" => l.t("feedback from the platform", "retour de la plateforme"),
        "inability" => l.t("inability answer (Annex III)", "réponse d'impossibilité (annexe III)"),
        "clarification" => l.t("clarification", "précisions"),
        "withdrawn" => l.t("withdrawn", "retirée"),
        "deadline_warning" => l.t("deadline warning", "alerte d'échéance"),
        "grounds_ceased" => {
            l.t("grounds ceased: the hour runs again (Art. 3(7))", "fin de l'empêchement : l'heure court de nouveau (art. 3, par. 7)")
        }
        "clarification_received" => {
            l.t("clarification received: the hour runs again (Art. 3(8))", "précisions reçues : l'heure court de nouveau (art. 3, par. 8)")
        }
        "preservation_held" => {
            l.t("content to be kept beyond six months (Art. 6(2))", "contenu à conserver au-delà de six mois (art. 6, par. 2)")
        }
        "preservation_released" => l.t("longer preservation released", "conservation prolongée levée"),
        other => return e(other),
    };
    name.to_owned()
}

/// An event's particulars as a definition list; the signed receipt in full, in a disclosure.
fn detail_html(l: Lang, detail: &Value, names: &HashMap<String, String>) -> String {
    let Some(map) = detail.as_object() else { return String::new() };
    let items: String = map
        .iter()
        // The order's own id says nothing on the order's page.
        .filter(|(k, _)| k.as_str() != "order_id")
        .map(|(k, v)| {
            let value = match (k.as_str(), v) {
                ("receipt", Value::String(jws)) => format!(
                    "<details><summary>{}</summary><code class=\"jws\">{}</code></details>",
                    l.t("The platform's signed receipt (JWS)", "L'accusé de réception signé de la plateforme (JWS)"),
                    e(jws)
                ),
                ("received_at" | "at" | "executed_at", Value::Number(n)) => e(&when(n.as_i64().unwrap_or(0))),
                // Peers by the name this node knows them by.
                ("to" | "from", Value::String(fp)) => e(names.get(fp).map_or(fp, String::as_str)),
                ("state", Value::String(state)) => state_name(l, state).to_owned(),
                ("targets", Value::Array(targets)) => {
                    let items: String = targets
                        .iter()
                        .map(|t| {
                            let at = t["at"].as_i64().map(|at| format!(" ({})", e(&when(at)))).unwrap_or_default();
                            format!(
                                "<li><code>{}</code>: {}{at}</li>",
                                e(t["url"].as_str().unwrap_or("")),
                                e(t["action"].as_str().unwrap_or(""))
                            )
                        })
                        .collect();
                    format!("<ul class=\"plain\">{items}</ul>")
                }
                (_, Value::String(s)) => e(s),
                (_, other) => format!("<code>{}</code>", e(&other.to_string())),
            };
            format!("<dt>{}</dt><dd>{value}</dd>", detail_key(l, k))
        })
        .collect();
    format!("<dl class=\"detail\">{items}</dl>")
}

/// The name of a timeline detail's key in the reader's language.
fn detail_key(l: Lang, key: &str) -> String {
    let name = match key {
        "to" => l.t("to", "à"),
        "from" => l.t("from", "de"),
        "receipt" => l.t("receipt", "accusé"),
        "received_at" => l.t("received at", "reçue le"),
        "state" => l.t("outcome", "résultat"),
        "targets" => l.t("content", "contenus"),
        "reason" => l.t("reason", "motif"),
        "by" => l.t("by", "par"),
        "ground" => l.t("ground", "motif"),
        "explanation" => l.t("explanation", "explication"),
        "text" => l.t("text", "texte"),
        "level" => l.t("level", "niveau"),
        other => return e(other),
    };
    name.to_owned()
}

/// The answers the reader may give to this order now, as forms.
pub(crate) fn actions(l: Lang, session: &Session, order: &Value, errors: &[(String, String)], action: &str, back: &str) -> String {
    let id = e(order["id"].as_str().unwrap_or(""));
    let state_text = order["state"].as_str().unwrap_or("");
    let received = order["side"] == "received";
    let csrf = session.csrf_field();
    let errs = |a: &str| if a == action { errors.to_vec() } else { Vec::new() };
    let reason_form = |a: &str, label: &str, button: &str, name: &str| {
        let errs = errs(a);
        format!(
            "<form method=\"post\" action=\"/console/orders/{id}/{a}\" class=\"action\">{csrf}<input type=\"hidden\" name=\"back\" value=\"{back}\">\
             <label for=\"{a}-{id}-{name}\">{label}</label><textarea id=\"{a}-{id}-{name}\" name=\"{name}\" rows=\"2\"{inv}></textarea>{err}\
             <button type=\"submit\">{button}</button></form>",
            inv = invalid(&errs, name),
            err = field_error(&errs, name),
        )
    };
    let mut out = String::new();
    if received && state_text == "received" && session.has(&["reviewer", "operator"]) {
        out += &reason_form(
            "accept",
            l.t("Why it goes (for the record)", "Pourquoi il est retiré (pour mémoire)"),
            l.t("Accept and remove", "Accepter et retirer"),
            "reason",
        );
        if order["kind"] == "referral" {
            out += &reason_form(
                "reject",
                l.t("Why it stays (sent to the authority)", "Pourquoi il reste (envoyé à l'autorité)"),
                l.t("Reject", "Rejeter"),
                "reason",
            );
        }
        let errs = errs("inability");
        let grounds = [
            ("force_majeure", l.t("Force majeure (Art. 3(7))", "Force majeure (art. 3, par. 7)")),
            (
                "technical_impossibility",
                l.t("De facto or technical impossibility (Art. 3(7))", "Impossibilité de fait ou technique (art. 3, par. 7)"),
            ),
            ("manifest_error", l.t("Manifest error in the order (Art. 3(8))", "Erreur manifeste dans l'injonction (art. 3, par. 8)")),
            ("insufficient_information", l.t("Information missing (Art. 3(8))", "Informations insuffisantes (art. 3, par. 8)")),
        ];
        let options: String = grounds.iter().map(|(v, t)| format!("<option value=\"{v}\">{t}</option>")).collect();
        out += &format!(
            "<form method=\"post\" action=\"/console/orders/{id}/inability\" class=\"action\">{csrf}<input type=\"hidden\" name=\"back\" value=\"{back}\">\
             <label for=\"ground-{id}\">{ground}</label><select id=\"ground-{id}\" name=\"ground\"{gi}>{options}</select>{ge}\
             <label for=\"explanation-{id}\">{explanation}</label><textarea id=\"explanation-{id}\" name=\"explanation\" rows=\"2\"{ei}></textarea>{ee}\
             <button type=\"submit\">{send}</button></form>",
            ground = l.t("Cannot execute: ground (Annex III)", "Exécution impossible : motif (annexe III)"),
            gi = invalid(&errs, "ground"),
            ge = field_error(&errs, "ground"),
            explanation = l.t("Explanation", "Explication"),
            ei = invalid(&errs, "explanation"),
            ee = field_error(&errs, "explanation"),
            send = l.t("Send the inability answer", "Envoyer la réponse d'impossibilité"),
        );
    }
    if !received && session.has(&["issuer"]) {
        if state_text == "unable" {
            out += &reason_form(
                "clarify",
                l.t("Clarification (the hour runs again)", "Précisions (l'heure court à nouveau)"),
                l.t("Send the clarification", "Envoyer les précisions"),
                "text",
            );
        }
        if !matches!(state_text, "withdrawn" | "rejected") {
            out += &reason_form(
                "withdraw",
                l.t("Why it is withdrawn", "Motif du retrait"),
                l.t("Withdraw the order", "Retirer l'injonction"),
                "reason",
            );
        }
    }
    // A refusal that names no field of the form it came from.
    let stray: String = errors
        .iter()
        .filter(|(f, _)| !["reason", "text", "ground", "explanation"].contains(&f.as_str()))
        .map(|(f, d)| format!("<p class=\"error\" role=\"alert\">{}: {}</p>", e(f), e(d)))
        .collect();
    if out.is_empty() && stray.is_empty() {
        return String::new();
    }
    format!("<section aria-labelledby=\"answers\"><h2 id=\"answers\">{}</h2>{stray}{out}</section>", l.t("Answers", "Réponses"))
}

/// An order's page: its state, its Annex I fields, its timeline and what was preserved, with
/// the answers the reader may give.
async fn detail_page(
    state: &Arc<State>,
    session: &Session,
    id: &str,
    errors: &[(String, String)],
    action: &str,
) -> Result<Response, Problem> {
    let l = session.lang;
    let here = format!("/console/orders/{id}");
    let path = format!("/v1/orders/{}", view::url_encode(id));
    let order = match session.get(state, &path).await {
        Ok(order) => order,
        Err(p) => return Ok(view::refusal(state, session, &p, &here)),
    };
    let names = crate::node::peers::peer_names(state).await?;
    let now = crate::node::time::now_ms() as i64;
    let fields = &order["order"];
    let peer = order["peer"].as_str().unwrap_or("");
    let state_text = order["state"].as_str().unwrap_or("");
    let targets: String = fields["targets"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| {
            let hash = t["sha256"].as_str().map(|h| format!(" <code class=\"hash\">sha256 {}</code>", e(h))).unwrap_or_default();
            format!("<li><code>{}</code>{hash}</li>", e(t["url"].as_str().unwrap_or("")))
        })
        .collect();
    let reasons: String = fields["reasons"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .filter_map(|r| REASONS.iter().find(|(k, _, _)| *k == r))
        .map(|(_, en, fr)| format!("<li>{}</li>", l.t(en, fr)))
        .collect();
    let received_at = order["received_at"].as_i64().map(when).unwrap_or_else(|| l.t("not yet", "pas encore").to_owned());
    let summary = format!(
        "<dl class=\"summary\" data-live=\"5\">\
         <dt>{state_l}</dt><dd><span class=\"state state-{state_text}\">{state}</span></dd>\
         <dt>{kind_l}</dt><dd>{kind}</dd><dt>{peer_l}</dt><dd>{peer}</dd>\
         <dt>{issued_l}</dt><dd>{issued}</dd><dt>{received_l}</dt><dd>{received_at}</dd>\
         <dt>{deadline_l}</dt><dd>{deadline}</dd>{removal}{problem}</dl>",
        removal = removal_time(l, &order),
        problem = delivery_problem(l, &order),
        state_l = l.t("State", "État"),
        state_text = e(state_text),
        state = state_name(l, state_text),
        kind_l = l.t("Kind", "Type"),
        kind = kind_name(l, order["kind"].as_str().unwrap_or("")),
        peer_l = if order["side"] == "issued" { l.t("Addressed to", "Destinataire") } else { l.t("From", "De") },
        peer = e(names.get(peer).map_or(peer, String::as_str)),
        issued_l = l.t("Issued", "Émise le"),
        issued = e(&when(order["issued_at"].as_i64().unwrap_or(0))),
        received_l = l.t("Received by the platform", "Reçue par la plateforme"),
        deadline_l = l.t("Deadline", "Échéance"),
        deadline = deadline_cell(l, &order, now),
    );
    let annex = format!(
        "<section aria-labelledby=\"fields\"><h2 id=\"fields\">{title}</h2><dl class=\"fields\">\
         <dt>{authority_l}</dt><dd>{authority}</dd><dt>{targets_l}</dt><dd><ul class=\"plain\">{targets}</ul></dd>\
         <dt>{reasons_l}</dt><dd><ul class=\"plain\">{reasons}</ul></dd><dt>{statement_l}</dt><dd>{statement}</dd>\
         <dt>{basis_l}</dt><dd>{basis}</dd><dt>{told_l}</dt><dd>{told}</dd><dt>{redress_l}</dt><dd>{redress}</dd>\
         <dt>{language_l}</dt><dd>{language}</dd></dl>{sections}</section>",
        sections = annex_html(l, &fields["annex"], &[]),
        title = l.t("The order (Annex I)", "L'injonction (annexe I)"),
        authority_l = l.t("Issuing authority", "Autorité d'émission"),
        authority = e(fields["issuing_authority"].as_str().unwrap_or("")),
        targets_l = l.t("Content", "Contenus"),
        reasons_l = l.t("Reasons", "Motifs"),
        statement_l = l.t("Statement of reasons", "Exposé des motifs"),
        statement = e(fields["statement"].as_str().unwrap_or("")),
        basis_l = l.t("Legal basis", "Base juridique"),
        basis = e(fields["legal_basis"].as_str().unwrap_or("")),
        told_l = l.t("Provider may be told", "Fournisseur informable"),
        told = if fields["provider_may_be_told"] == true { l.t("yes", "oui") } else { l.t("no", "non") },
        redress_l = l.t("Redress", "Recours"),
        redress = e(fields["redress"].as_str().unwrap_or("")),
        language_l = l.t("Language", "Langue"),
        language = e(fields["language"].as_str().unwrap_or("")),
    );
    let timeline: String = order["timeline"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|ev| {
            let event = ev["event"].as_str().unwrap_or("");
            format!(
                "<li class=\"event event-{cls}\"><span class=\"at\">{at}</span> <strong>{name}</strong>{detail}</li>",
                cls = e(event),
                at = e(&when(ev["at"].as_i64().unwrap_or(0))),
                name = event_name(l, event),
                detail = detail_html(l, &ev["detail"], &names),
            )
        })
        .collect();
    let evidence: String = order["evidence"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|ev| {
            format!(
                "<tr><td><code>{}</code></td><td>{}</td><td><code class=\"hash\">{}</code></td><td>{}</td></tr>",
                e(ev["url"].as_str().unwrap_or("")),
                e(ev["status"].as_str().unwrap_or("")),
                e(ev["sha256"].as_str().unwrap_or("")),
                ev["retain_until"].as_i64().map(when).unwrap_or_default(),
            )
        })
        .collect();
    let evidence = if evidence.is_empty() {
        String::new()
    } else {
        let headers = ["URL", l.t("Status", "Statut"), "SHA-256", l.t("Kept until", "Conservée jusqu'au")];
        format!(
            "<section aria-labelledby=\"evidence\"><h2 id=\"evidence\">{}</h2>{}</section>",
            l.t("Preserved evidence (Art. 6)", "Preuves conservées (art. 6)"),
            view::table("", &headers, &evidence)
        )
    };
    let answers = actions(l, session, &order, errors, action, "order");
    let timeline = format!(
        "<section aria-labelledby=\"timeline\"><h2 id=\"timeline\">{}</h2><ol class=\"timeline\" data-live=\"5\">{timeline}</ol></section>",
        l.t("Timeline", "Chronologie")
    );
    // The platform answers first; the authority follows what happened first.
    let body = if order["side"] == "received" {
        format!("{summary}{answers}{annex}{timeline}{evidence}")
    } else {
        format!("{summary}{timeline}{annex}{answers}{evidence}")
    };
    let title = format!("{} {}", l.t("Order", "Injonction"), order["reference"].as_str().unwrap_or(id));
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    Ok(render(state, session, status, &title, &here, &body))
}

/// "Removed N s after receipt", once the removal is known: both times by the platform's clock
/// (on the authority, from the platform's receipt and feedback), so a platform whose clock is
/// off is not shown as slow or fast for it.
fn removal_time(l: Lang, order: &Value) -> String {
    let (Some(received), Some(removed)) = (order["received_at"].as_i64(), order["removed_at"].as_i64()) else { return String::new() };
    format!("<dt>{}</dt><dd>{}</dd>", l.t("Receipt to removal", "Délai de retrait"), e(&span(removed - received)))
}

/// The words for a delivery problem's state.
fn problem_words(l: Lang, problem: &Value) -> &'static str {
    if problem["state"] == "refused" { l.t("delivery refused", "envoi refusé") } else { l.t("delivery failing", "envoi en échec") }
}

/// A mark beside the state in the list when a message about the order was refused or keeps
/// failing: the order's state alone would hide that the other node never took it.
fn delivery_badge(l: Lang, order: &Value) -> String {
    let Some(problem) = order.get("delivery_problem") else { return String::new() };
    format!(" <strong class=\"error\">{}</strong>", problem_words(l, problem))
}

/// The delivery problem on an order's page: which message, to whom, and what the peer answered.
fn delivery_problem(l: Lang, order: &Value) -> String {
    let Some(problem) = order.get("delivery_problem") else { return String::new() };
    format!(
        "<dt>{label}</dt><dd class=\"error\">{words}: {kind} → {peer}: {error}</dd>",
        label = l.t("Delivery", "Envoi"),
        words = problem_words(l, problem),
        kind = e(problem["kind"].as_str().unwrap_or("")),
        peer = e(problem["peer"].as_str().unwrap_or("")),
        error = e(problem["error"].as_str().unwrap_or("")),
    )
}

/// `GET /console/orders/{id}`.
pub async fn show(Shared(state): Shared<Arc<State>>, headers: HeaderMap, Path(id): Path<String>) -> Result<Response, Problem> {
    let Some(session) = view::session(&state, &headers).await? else { return Ok(view::to_sign_in()) };
    detail_page(&state, &session, &id, &[], "").await
}

/// `POST /console/orders/{id}/{action}`: an answer, sent on to the API's endpoint of the same
/// name; back to the page it came from, with the refusal next to its field if refused.
pub async fn act(
    Shared(state): Shared<Arc<State>>,
    headers: HeaderMap,
    Path((id, action)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Result<Response, Problem> {
    let back_to = |values: &[(String, String)]| {
        if field(values, "back") == "review" { "/console/review".to_owned() } else { format!("/console/orders/{id}") }
    };
    let (session, values) = match super::posted(&state, &headers, &body, back_to).await? {
        Ok(posted) => posted,
        Err(answer) => return Ok(answer),
    };
    let back = back_to(&values);
    let request = match action.as_str() {
        "accept" | "reject" | "withdraw" => json!({ "reason": field(&values, "reason") }),
        "clarify" => json!({ "text": field(&values, "text") }),
        "inability" => json!({ "ground": field(&values, "ground"), "explanation": field(&values, "explanation") }),
        _ => return Ok(view::refusal(&state, &session, &Problem::NotFound(String::new()), &back)),
    };
    let path = format!("/v1/orders/{}/{action}", view::url_encode(&id));
    let (status, answer) = session.api(&state, Method::POST, &path, Some(&request)).await?;
    if status.is_success() {
        return Ok(view::see_other(&back));
    }
    let fallback = if action == "clarify" { "text" } else { "reason" };
    let mut errors = faults(session.lang, &answer, fallback);
    // A ground that is none of the four comes back as a body error naming no field.
    if action == "inability" && status == StatusCode::UNPROCESSABLE_ENTITY {
        errors = vec![("ground".to_owned(), answer["detail"].as_str().unwrap_or("").to_owned())];
    }
    if back == "/console/review" {
        return super::review::queue_page(&state, &session, &errors, &action, &id).await;
    }
    detail_page(&state, &session, &id, &errors, &action).await
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_list_puts_overdue_orders_first_then_open_ones_by_deadline_and_keeps_every_open_one() {
        let mut orders = vec![
            json!({"id": "settled-old", "state": "executed", "issued_at": 1}),
            json!({"id": "open-late-deadline", "state": "received", "deadline_at": 900, "issued_at": 5}),
            json!({"id": "overdue", "state": "received", "overdue": true, "deadline_at": 100, "issued_at": 2}),
            json!({"id": "open-early-deadline", "state": "delivered", "deadline_at": 500, "issued_at": 6}),
            json!({"id": "settled-new", "state": "rejected", "issued_at": 9}),
        ];
        assert_eq!(arrange(&mut orders), 0);
        let ids: Vec<&str> = orders.iter().filter_map(|o| o["id"].as_str()).collect();
        assert_eq!(ids, ["overdue", "open-early-deadline", "open-late-deadline", "settled-new", "settled-old"]);

        let mut many: Vec<Value> = (0..SETTLED_SHOWN as i64 + 30).map(|i| json!({"state": "executed", "issued_at": i})).collect();
        many.extend((0..3).map(|i| json!({"state": "received", "issued_at": i, "deadline_at": i})));
        assert_eq!(arrange(&mut many), 30, "the oldest settled orders are left out");
        assert_eq!(many.len(), SETTLED_SHOWN + 3);
        assert_eq!(many.iter().filter(|o| o["state"] == "received").count(), 3, "never an open one");
        assert_eq!(many.last().and_then(|o| o["issued_at"].as_i64()), Some(30), "the newest settled ones are kept");
    }
}
