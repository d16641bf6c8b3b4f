//! `tocsin blocklist`: keep the authority's blocklist through a running node: add a domain (or
//! with `--url`, a URL), list, lift, and record the quarterly reviews.

use std::io::Write;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use serde_json::{Value, json};

use super::client::ServerArgs;

/// `tocsin blocklist ...`.
#[derive(Debug, Subcommand)]
pub enum BlocklistCommand {
    /// Block a domain for ISPs' resolvers (or, with --url, a URL for gates and search engines);
    /// prints the entry id last.
    Add(AddArgs),
    /// List entries, newest first: id, state, kind, target, next review.
    List(ListArgs),
    /// Lift an entry: resolvers stop blocking it at their next refresh.
    Lift(LiftArgs),
    /// Record the quarterly check of an entry: keep it (next review in 90 days) or lift it.
    Review(ReviewArgs),
    /// On the qualified person's oversight node: what the authorities told it of their
    /// blocklists, newest first (authority, log index, change, target, reason).
    Notices(ListArgs),
}

/// Arguments of `tocsin blocklist add`.
#[derive(Debug, Args)]
pub struct AddArgs {
    /// The domain (or, with --url, the URL).
    target: String,
    /// The law the block rests on.
    #[arg(long, value_name = "TEXT")]
    legal_basis: String,
    /// Block the domain's subdomains too.
    #[arg(long)]
    subdomains: bool,
    /// The target is a URL (for gates and search engines; DNS cannot block a path).
    #[arg(long)]
    url: bool,
    /// The authority's reference.
    #[arg(long, default_value = "")]
    reference: String,
    /// An order the block follows from (repeatable).
    #[arg(long = "order", value_name = "ID")]
    orders: Vec<String>,
    /// Resolvers answer NXDOMAIN instead of sending users to the stop page.
    #[arg(long)]
    nxdomain: bool,
    /// The block ends on its own after this many days.
    #[arg(long, value_name = "DAYS")]
    expire_days: Option<u32>,
    /// Why: terrorism (C. pén. 421-2-5) or child_sexual_abuse (227-23), the grounds of LCEN Art.
    /// 6-1, which need the prior removal request and send users to the information page; or
    /// other.
    #[arg(long, value_name = "REASON")]
    reason: String,
    /// When the publisher or host was asked to remove the content (RFC 3339, e.g.
    /// 2026-12-06T09:30:00Z): at least 24 hours ago (LCEN Art. 6-1).
    #[arg(long, value_name = "TIME", requires = "removal_requested_of")]
    removal_requested_at: Option<String>,
    /// Whom that request went to, and how.
    #[arg(long, value_name = "TEXT", requires = "removal_requested_at")]
    removal_requested_of: Option<String>,
    /// Instead of a request: why the publisher and host could not be reached.
    #[arg(long, value_name = "TEXT", conflicts_with = "removal_requested_at")]
    unreachable: Option<String>,
    #[command(flatten)]
    server: ServerArgs,
}

/// Arguments of `tocsin blocklist list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    server: ServerArgs,
}

/// Arguments of `tocsin blocklist lift`.
#[derive(Debug, Args)]
pub struct LiftArgs {
    /// The entry id.
    id: String,
    /// Why (kept in the log).
    #[arg(long)]
    reason: String,
    #[command(flatten)]
    server: ServerArgs,
}

/// Arguments of `tocsin blocklist review`.
#[derive(Debug, Args)]
pub struct ReviewArgs {
    /// The entry id.
    id: String,
    /// keep or lift.
    outcome: String,
    /// What was checked.
    #[arg(long)]
    note: String,
    #[command(flatten)]
    server: ServerArgs,
}

fn line(out: &mut impl Write, e: &Value) -> std::io::Result<()> {
    let s = |k: &str| e[k].as_str().unwrap_or_default().to_owned();
    let overdue = if e["review_overdue"] == true { " (review overdue)" } else { "" };
    writeln!(
        out,
        "{}\t{}\t{}\t{}{}\treview by {}{overdue}",
        s("id"),
        s("state"),
        s("kind"),
        s("target"),
        if e["subdomains"] == true { " +subdomains" } else { "" },
        s("next_review")
    )
}

/// Runs a `tocsin blocklist` command.
pub fn run(command: BlocklistCommand) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    match command {
        BlocklistCommand::Notices(args) => {
            let notices: Vec<Value> = args.server.get("/v1/blocklist/notices")?;
            for n in notices {
                let entry = &n["entry"];
                let word = |v: &Value| v.as_str().unwrap_or("").to_owned();
                writeln!(
                    out,
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    word(&n["received_at"]),
                    word(&n["authority"]),
                    n["log_index"],
                    word(&entry["type"]),
                    if entry["target"].is_null() { word(&entry["id"]) } else { word(&entry["target"]) },
                    word(&entry["reason"]),
                )?;
            }
        }
        BlocklistCommand::Add(args) => {
            let mut body = json!({
                "subdomains": args.subdomains, "legal_basis": args.legal_basis, "reference": args.reference, "orders": args.orders,
                "reason": args.reason, "removal_requested_at": args.removal_requested_at,
                "removal_requested_of": args.removal_requested_of, "unreachable": args.unreachable,
            });
            body[if args.url { "url" } else { "domain" }] = json!(args.target);
            if args.nxdomain {
                body["action"] = json!("nxdomain");
            }
            if let Some(days) = args.expire_days {
                body["expire_days"] = json!(days);
            }
            let entry: Value = args.server.post("/v1/blocklist", &body)?;
            line(&mut out, &entry)?;
            writeln!(out, "{}", entry["id"].as_str().unwrap_or_default())?;
        }
        BlocklistCommand::List(args) => {
            let entries: Vec<Value> = args.server.get("/v1/blocklist")?;
            for e in &entries {
                line(&mut out, e)?;
            }
        }
        BlocklistCommand::Lift(args) => {
            let entry: Value = args.server.post(&format!("/v1/blocklist/{}/lift", args.id), &json!({"reason": args.reason}))?;
            line(&mut out, &entry)?;
        }
        BlocklistCommand::Review(args) => {
            let entry: Value =
                args.server.post(&format!("/v1/blocklist/{}/review", args.id), &json!({"outcome": args.outcome, "note": args.note}))?;
            line(&mut out, &entry)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
