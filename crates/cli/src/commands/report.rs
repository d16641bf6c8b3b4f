//! `tocsin report oversight`: the figures of the qualified person's annual report (LCEN Art. 6-1:
//! requests, removals, blocks, recommendations and what became of them), computed from the
//! node's Merkle log, the record that `tocsin log verify` checks, not from its working tables.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use serde_json::Value;

use super::client::ServerArgs;

/// `tocsin report ...`.
#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// The oversight report's figures for a period, from the log (admin, oversight or auditor
    /// token).
    Oversight(OversightArgs),
}

/// Arguments of `tocsin report oversight`.
#[derive(Debug, Args)]
pub struct OversightArgs {
    /// First day of the period, YYYY-MM-DD (UTC).
    #[arg(long, value_name = "DATE")]
    from: String,
    /// Last day of the period, YYYY-MM-DD (UTC), included.
    #[arg(long, value_name = "DATE")]
    to: String,
    #[command(flatten)]
    server: ServerArgs,
}

/// Unix ms at the start of a `YYYY-MM-DD` day (UTC), by the proleptic Gregorian calendar.
fn day_start(date: &str) -> anyhow::Result<i64> {
    let parts: Vec<&str> = date.split('-').collect();
    let [y, m, d] = parts.as_slice() else { bail!("{date:?}: a date is YYYY-MM-DD") };
    let (y, m, d): (i64, i64, i64) = (y.parse()?, m.parse()?, d.parse()?);
    let days = tocsin_model::calendar::days_from_civil(y, m, d).with_context(|| format!("{date:?}: no such day"))?;
    Ok(days * 86_400_000)
}

/// Runs a `tocsin report` command.
pub fn run(command: ReportCommand) -> anyhow::Result<ExitCode> {
    let ReportCommand::Oversight(args) = command;
    let (from, to) = (day_start(&args.from)?, day_start(&args.to)? + 86_400_000);
    if to <= from {
        bail!("--to is before --from");
    }
    let head: Value = args.server.get("/v1/log/head")?;
    let size = head["size"].as_u64().context("the log head has no size")?;
    let mut entries = Vec::new();
    let mut next = 0;
    while next < size {
        let page: Vec<Value> = args.server.get(&format!("/v1/log/entries?start={next}&end={size}"))?;
        if page.is_empty() {
            bail!("the log stops at entry {next} of {size}");
        }
        for e in &page {
            let data = tocsin_wire::base64url_decode(e["data"].as_str().unwrap_or_default()).context("an entry that is not base64url")?;
            entries.push(serde_json::from_slice::<Value>(&data).unwrap_or(Value::Null));
        }
        next += page.len() as u64;
    }
    let mut figures: BTreeMap<&str, u64> = BTreeMap::new();
    // Each entry's next review date as the log stands at the end of the period (None once
    // lifted), for the reviews overdue then.
    let mut reviews: BTreeMap<String, Option<i64>> = BTreeMap::new();
    let mut answered = std::collections::HashSet::new();
    let mut recommended = Vec::new();
    for e in &entries {
        let at = e["at"].as_i64().or_else(|| e["received_at"].as_i64()).unwrap_or(-1);
        let kind = e["type"].as_str().unwrap_or_default();
        let id = e["id"].as_str().unwrap_or_default().to_owned();
        if at < to {
            match kind {
                "oversight.answer" => {
                    answered.insert(id.clone());
                }
                "blocklist.added" | "blocklist.reviewed" if e["next_review"].is_i64() => {
                    reviews.insert(id.clone(), e["next_review"].as_i64());
                }
                "blocklist.lifted" | "blocklist.expired" => {
                    reviews.insert(id.clone(), None);
                }
                _ => {}
            }
        }
        if !(from..to).contains(&at) {
            continue;
        }
        let key = match (kind, e["kind"].as_str(), e["outcome"].as_str(), e["recommendation"].as_str(), e["answer"].as_str()) {
            ("order.issued", Some("removal_order"), ..) => "TCO removal orders issued",
            ("order.issued", Some("referral"), ..) => "referrals issued",
            ("message.received", Some("feedback"), Some("executed" | "partially_executed"), ..) => "orders executed (content removed)",
            ("message.received", Some("feedback"), Some("unable"), ..) => "orders the platform could not execute",
            ("message.received", Some("feedback"), Some("rejected"), ..) => "referrals rejected",
            ("blocklist.added", Some("domain"), ..) => {
                // LCEN Art. 6-1 asks the figures by reason; entries from before reasons were
                // recorded count as another basis.
                let reason = match e["reason"].as_str() {
                    Some("terrorism") => "blocked for provocation to or glorification of terrorism (C. pén. 421-2-5)",
                    Some("child_sexual_abuse") => "blocked for images of child sexual abuse (C. pén. 227-23)",
                    _ => "blocked on another legal basis",
                };
                *figures.entry(reason).or_default() += 1;
                let request = &e["removal_request"];
                if request["requested_at"].is_i64() {
                    *figures.entry("blocked after a removal request left unmet for 24 hours").or_default() += 1;
                } else if request["unreachable"].is_string() {
                    *figures.entry("blocked as the publisher and host could not be reached").or_default() += 1;
                }
                "domains blocked"
            }
            ("blocklist.added", Some("url"), ..) => "URLs listed for de-referencing",
            ("blocklist.lifted", ..) => "blocks lifted",
            ("blocklist.expired", ..) => "blocks expired",
            ("blocklist.reviewed", ..) => "quarterly reviews",
            ("oversight.recommendation", _, _, Some("lift"), _) => "recommendations: lift",
            ("oversight.recommendation", _, _, Some("amend"), _) => "recommendations: amend",
            ("oversight.recommendation", _, _, Some("keep"), _) => "recommendations: keep",
            ("oversight.answer", _, _, _, Some("accepted")) => "recommendations accepted",
            ("oversight.answer", _, _, _, Some("declined")) => "recommendations declined",
            _ => continue,
        };
        *figures.entry(key).or_default() += 1;
        if kind == "oversight.recommendation" {
            recommended.push(e["id"].as_str().unwrap_or_default().to_owned());
        }
    }
    figures.insert(
        "recommendations unanswered at the end of the period",
        recommended.iter().filter(|id| !answered.contains(*id)).count() as u64,
    );
    figures.insert("reviews overdue at the end of the period", reviews.values().filter(|next| next.is_some_and(|n| n < to)).count() as u64);
    let mut out = std::io::stdout().lock();
    writeln!(out, "period\t{} to {}", args.from, args.to)?;
    writeln!(out, "log entries read\t{}", entries.len())?;
    for name in [
        "TCO removal orders issued",
        "referrals issued",
        "orders executed (content removed)",
        "orders the platform could not execute",
        "referrals rejected",
        "domains blocked",
        "blocked for provocation to or glorification of terrorism (C. pén. 421-2-5)",
        "blocked for images of child sexual abuse (C. pén. 227-23)",
        "blocked on another legal basis",
        "blocked after a removal request left unmet for 24 hours",
        "blocked as the publisher and host could not be reached",
        "URLs listed for de-referencing",
        "blocks lifted",
        "blocks expired",
        "quarterly reviews",
        "recommendations: lift",
        "recommendations: amend",
        "recommendations: keep",
        "recommendations accepted",
        "recommendations declined",
        "recommendations unanswered at the end of the period",
        "reviews overdue at the end of the period",
    ] {
        writeln!(out, "{name}\t{}", figures.get(name).copied().unwrap_or(0))?;
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::day_start;

    #[test]
    fn days_count_from_the_unix_epoch() {
        assert_eq!(day_start("1970-01-01").expect("valid"), 0);
        assert_eq!(day_start("2000-03-01").expect("valid"), 951_868_800_000);
        assert_eq!(day_start("2026-11-30").expect("valid"), 1_795_996_800_000, "date -u -d 2026-11-30 +%s");
        assert!(day_start("2026-02-29").is_err() && day_start("2026-13-01").is_err() && day_start("30/11/2026").is_err());
    }
}
