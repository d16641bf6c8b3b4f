//! Figures drawn on the server as SVG, readable without JavaScript: per platform, how long
//! removals took from receipt against the one-hour line; orders per day by state; matches per
//! bank. Each chart comes with its numbers as a table for screen readers and for copying.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State as Shared;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::Value;

use super::view::{self, Lang, render, state_name};
use crate::State;
use crate::node::html::escape_html as e;
use crate::node::problem::Problem;

/// One series of a bar chart: its name, its colour, a value per bar.
pub(crate) struct Series {
    pub name: String,
    pub colour: &'static str,
    pub values: Vec<u64>,
}

const WIDTH: f64 = 680.0;
const HEIGHT: f64 = 260.0;
const LEFT: f64 = 44.0;
const BOTTOM: f64 = 56.0;
const TOP: f64 = 16.0;

/// A stacked bar chart with a labelled vertical line between two bars (`marker`: the index of
/// the bar it precedes and its label), then the same numbers as a table.
pub(crate) fn bar_chart(l: Lang, id: &str, title: &str, labels: &[String], series: &[Series], marker: Option<(usize, &str)>) -> String {
    let numbers = l.t("The numbers", "Les chiffres");
    let n = labels.len().max(1);
    let totals: Vec<u64> = (0..labels.len()).map(|i| series.iter().map(|s| s.values.get(i).copied().unwrap_or(0)).sum()).collect();
    let max = totals.iter().copied().max().unwrap_or(0).max(1);
    let plot_w = WIDTH - LEFT - 8.0;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let slot = plot_w / n as f64;
    let bar_w = (slot * 0.7).max(2.0);
    let y = |v: u64| TOP + plot_h - plot_h * v as f64 / max as f64;
    let mut svg = format!(
        "<svg viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\" aria-labelledby=\"{id}-t\" class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\"><title id=\"{id}-t\">{t}</title>",
        t = e(title)
    );
    // Axis and a gridline at the top value.
    svg += &format!(
        "<line x1=\"{LEFT}\" y1=\"{b}\" x2=\"{r}\" y2=\"{b}\" class=\"axis\"/><line x1=\"{LEFT}\" y1=\"{TOP}\" x2=\"{LEFT}\" y2=\"{b}\" class=\"axis\"/>\
         <text x=\"{lx}\" y=\"{ty}\" class=\"tick\" text-anchor=\"end\">{max}</text><text x=\"{lx}\" y=\"{b}\" class=\"tick\" text-anchor=\"end\">0</text>",
        b = TOP + plot_h,
        r = WIDTH - 8.0,
        lx = LEFT - 6.0,
        ty = TOP + 4.0,
    );
    for (i, label) in labels.iter().enumerate() {
        let x = LEFT + slot * i as f64 + (slot - bar_w) / 2.0;
        let mut base = 0u64;
        for s in series {
            let v = s.values.get(i).copied().unwrap_or(0);
            if v > 0 {
                svg += &format!(
                    "<rect x=\"{x:.1}\" y=\"{top:.1}\" width=\"{bar_w:.1}\" height=\"{h:.1}\" fill=\"{c}\"><title>{label}: {name} {v}</title></rect>",
                    top = y(base + v),
                    h = y(base) - y(base + v),
                    c = s.colour,
                    label = e(label),
                    name = e(&s.name),
                );
            }
            base += v;
        }
        if totals[i] > 0 {
            svg += &format!(
                "<text x=\"{cx:.1}\" y=\"{ty:.1}\" class=\"count\" text-anchor=\"middle\">{}</text>",
                totals[i],
                cx = x + bar_w / 2.0,
                ty = y(totals[i]) - 3.0
            );
        }
        svg += &format!(
            "<text x=\"{cx:.1}\" y=\"{ly:.1}\" class=\"tick\" text-anchor=\"end\" transform=\"rotate(-35 {cx:.1} {ly:.1})\">{}</text>",
            e(label),
            cx = x + bar_w / 2.0,
            ly = TOP + plot_h + 14.0,
        );
    }
    if let Some((before, text)) = marker {
        let x = LEFT + slot * before as f64;
        svg += &format!(
            "<line x1=\"{x:.1}\" y1=\"{TOP}\" x2=\"{x:.1}\" y2=\"{b}\" class=\"marker\"/><text x=\"{tx:.1}\" y=\"{ty}\" class=\"marker-label\">{}</text>",
            e(text),
            b = TOP + plot_h,
            tx = x + 4.0,
            ty = TOP + 10.0,
        );
    }
    svg += "</svg>";
    let legend: String = if series.len() > 1 {
        let items: String = series.iter().map(|s| format!("<li><svg class=\"swatch\" viewBox=\"0 0 10 10\" aria-hidden=\"true\"><rect width=\"10\" height=\"10\" fill=\"{}\"/></svg>{}</li>", s.colour, e(&s.name))).collect();
        format!("<ul class=\"legend\">{items}</ul>")
    } else {
        String::new()
    };
    let head: String = series.iter().map(|s| format!("<th scope=\"col\">{}</th>", e(&s.name))).collect();
    let rows: String = labels
        .iter()
        .enumerate()
        .map(|(i, label)| {
            let cells: String = series.iter().map(|s| format!("<td>{}</td>", s.values.get(i).copied().unwrap_or(0))).collect();
            format!("<tr><th scope=\"row\">{}</th>{cells}</tr>", e(label))
        })
        .collect();
    format!(
        "<figure class=\"figure\"><figcaption>{t}</figcaption>{svg}{legend}<details><summary>{numbers}</summary><table><thead><tr><th></th>{head}</tr></thead><tbody>{rows}</tbody></table></details></figure>",
        t = e(title),
        numbers = numbers
    )
}

/// Upper bounds (ms) of the removal-time buckets, and their names.
const BUCKETS: &[(i64, &str)] = &[
    (1_000, "< 1 s"),
    (10_000, "1–10 s"),
    (60_000, "10 s–1 min"),
    (600_000, "1–10 min"),
    (1_800_000, "10–30 min"),
    (3_600_000, "30–60 min"),
    (7_200_000, "1–2 h"),
    (21_600_000, "2–6 h"),
    (i64::MAX, "> 6 h"),
];

/// Which bucket a removal time falls in.
pub(crate) fn bucket(ms: i64) -> usize {
    BUCKETS.iter().position(|(upper, _)| ms < *upper).unwrap_or(BUCKETS.len() - 1)
}

const STATE_COLOURS: &[(&str, &str)] = &[
    ("issued", "#6b6b6b"),
    ("delivered", "#1f5fa8"),
    ("received", "#1f5fa8"),
    ("accepted", "#5a3d99"),
    ("executed", "#1b7a3a"),
    ("partially_executed", "#7a6a00"),
    ("unable", "#b35900"),
    ("rejected", "#a01c1c"),
    ("withdrawn", "#333333"),
];

/// Orders per day over the last `days` days (UTC), by state.
pub(crate) fn orders_by_day(l: Lang, orders: &[Value], now_ms: i64, days: i64) -> (Vec<String>, Vec<Series>) {
    let today = now_ms.div_euclid(86_400_000);
    let labels: Vec<String> =
        (0..days).map(|d| crate::node::time::rfc3339_ms((today - days + 1 + d) * 86_400_000)[5..10].to_owned()).collect();
    let series = STATE_COLOURS
        .iter()
        .map(|(state, colour)| {
            let mut values = vec![0u64; days as usize];
            for o in orders.iter().filter(|o| o["state"] == *state) {
                let day = o["issued_at"].as_i64().unwrap_or(0).div_euclid(86_400_000) - (today - days + 1);
                if (0..days).contains(&day) {
                    values[day as usize] += 1;
                }
            }
            Series { name: state_name(l, state).to_owned(), colour, values }
        })
        .filter(|s| s.values.iter().any(|v| *v > 0))
        .collect();
    (labels, series)
}

/// `GET /console/figures`.
pub async fn figures(Shared(state): Shared<Arc<State>>, headers: HeaderMap) -> Result<Response, Problem> {
    let Some(session) = view::session(&state, &headers).await? else { return Ok(view::to_sign_in()) };
    let l = session.lang;
    let here = "/console/figures";
    let orders = match session.get(&state, "/v1/orders").await {
        Ok(Value::Array(orders)) => orders,
        Ok(_) => Vec::new(),
        Err(p) => return Ok(view::refusal(&state, &session, &p, here)),
    };
    let names = crate::node::peers::peer_names(&state).await?;
    let mut by_peer: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for (peer, ms) in state.store.removal_times().await? {
        let name = names.get(&peer).cloned().unwrap_or(peer);
        by_peer.entry(name).or_insert_with(|| vec![0; BUCKETS.len()])[bucket(ms)] += 1;
    }
    let labels: Vec<String> = BUCKETS.iter().map(|(_, name)| (*name).to_owned()).collect();
    let hour = BUCKETS.iter().position(|(upper, _)| *upper > 3_600_000).unwrap_or(0);
    let mut body =
        format!("<h2>{}</h2>", l.t("Time from receipt to removal, per platform", "Délai entre réception et retrait, par plateforme"));
    if by_peer.is_empty() {
        body += &format!(
            "<p>{}</p>",
            l.t("No removal order has been carried out yet.", "Aucune injonction de retrait n'a encore été exécutée.")
        );
    }
    for (i, (peer, counts)) in by_peer.iter().enumerate() {
        let within: u64 = counts[..hour].iter().sum();
        let total: u64 = counts.iter().sum();
        let title = format!("{peer}: {within} / {total} {}", l.t("removed within the hour", "retirés dans l'heure"));
        body += &bar_chart(
            l,
            &format!("removal-{i}"),
            &title,
            &labels,
            &[Series { name: l.t("orders", "injonctions").to_owned(), colour: "#1f5fa8", values: counts.clone() }],
            Some((hour, l.t("1 hour", "1 heure"))),
        );
    }
    let (days, series) = orders_by_day(l, &orders, crate::node::time::now_ms() as i64, 14);
    body += &format!("<h2>{}</h2>", l.t("Orders per day by state (last 14 days)", "Injonctions par jour et par état (14 derniers jours)"));
    body += &bar_chart(
        l,
        "per-day",
        l.t("Orders issued or received per day, by their state now", "Injonctions émises ou reçues par jour, selon leur état actuel"),
        &days,
        &series,
        None,
    );
    // The same roles as `GET /v1/matches`.
    if session.has(&["reviewer", "operator", "admin", "oversight"]) {
        let per_bank = state.store.matches_per_bank().await?;
        body += &format!("<h2>{}</h2>", l.t("Matches per bank", "Correspondances par banque"));
        if per_bank.is_empty() {
            body += &format!(
                "<p>{}</p>",
                l.t("No scan or lookup has matched a bank yet.", "Aucune analyse n'a encore correspondu à une banque.")
            );
        } else {
            let labels: Vec<String> = per_bank.iter().map(|(bank, _)| bank.clone()).collect();
            let values = per_bank.iter().map(|(_, n)| u64::try_from(*n).unwrap_or(0)).collect();
            let series = [Series { name: l.t("matches", "correspondances").to_owned(), colour: "#5a3d99", values }];
            body += &bar_chart(
                l,
                "per-bank",
                l.t("Scans and lookups that matched, per bank", "Analyses ayant correspondu, par banque"),
                &labels,
                &series,
                None,
            );
        }
    }
    Ok(render(&state, &session, StatusCode::OK, l.t("Figures", "Chiffres"), here, &body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removal_times_fall_in_the_bucket_that_holds_them_and_the_hour_is_a_bucket_edge() {
        assert_eq!(bucket(0), 0);
        assert_eq!(bucket(999), 0);
        assert_eq!(bucket(1_000), 1);
        assert_eq!(BUCKETS[bucket(3_599_999)].1, "30–60 min");
        assert_eq!(BUCKETS[bucket(3_600_000)].1, "1–2 h");
        assert_eq!(bucket(i64::MAX - 1), BUCKETS.len() - 1);
    }

    #[test]
    fn orders_are_counted_on_the_day_they_were_issued_under_their_state() {
        let day = 86_400_000;
        let now = 20_000 * day + 5;
        let orders = vec![
            serde_json::json!({"state": "executed", "issued_at": now}),
            serde_json::json!({"state": "executed", "issued_at": now - day}),
            serde_json::json!({"state": "unable", "issued_at": now - day}),
            serde_json::json!({"state": "executed", "issued_at": now - 30 * day}),
        ];
        let (labels, series) = orders_by_day(Lang::En, &orders, now, 3);
        assert_eq!(labels.len(), 3);
        let executed = series.iter().find(|s| s.name == "executed").expect("executed");
        assert_eq!(executed.values, vec![0, 1, 1], "the month-old order is outside the window");
        assert_eq!(series.iter().find(|s| s.name == "unable to execute").expect("unable").values, vec![0, 1, 0]);
        let svg = bar_chart(Lang::En, "t", "title", &labels, &series, Some((1, "line")));
        assert_eq!(svg.matches("<rect x=").count(), 3, "one bar part per non-zero value");
        assert_eq!(svg.matches("class=\"swatch\"").count(), 2, "a legend entry per series");
        assert!(svg.contains("class=\"marker\""));
    }
}
