//! `tocsin threat`: reports of terrorist content involving an imminent threat to life (TCO Art.
//! 14(5)), sent by a platform to the competent authority's node, and taken in hand there.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use serde_json::Value;

use super::client::ServerArgs;

/// `tocsin threat ...`.
#[derive(Debug, Subcommand)]
pub enum ThreatCommand {
    /// On a platform: report content involving an imminent threat to life to an authority; it
    /// arrives as that node's loudest alert. Prints the report's id.
    Report(ReportArgs),
    /// The reports, unacknowledged first: id, side, peer, acknowledged, URL.
    List(ListArgs),
    /// On an authority: take a report in hand (it leaves the top of the console).
    Acknowledge(AcknowledgeArgs),
}

/// Arguments of `tocsin threat report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The authority's peer name.
    #[arg(long, value_name = "PEER")]
    to: String,
    /// Where the content is.
    #[arg(long, value_name = "URL")]
    url: String,
    /// Why it involves an imminent threat to life.
    #[arg(long, value_name = "TEXT")]
    reason: String,
    /// When it was published, RFC 3339 with its offset (2026-12-07T21:14:00+01:00).
    #[arg(long, value_name = "TIME")]
    published_at: Option<String>,
    /// What you know that helps locate the person (account, IP address and time, place).
    #[arg(long, value_name = "TEXT", default_value = "")]
    location: String,
    /// The content, when it is small (at most 32 KiB): a screenshot, the post's text.
    #[arg(long, value_name = "PATH")]
    file: Option<PathBuf>,
    #[command(flatten)]
    server: ServerArgs,
}

/// Arguments of `tocsin threat list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    server: ServerArgs,
}

/// Arguments of `tocsin threat acknowledge`.
#[derive(Debug, Args)]
pub struct AcknowledgeArgs {
    /// The report's id.
    id: String,
    #[command(flatten)]
    server: ServerArgs,
}

/// Runs a `tocsin threat` command.
pub fn run(command: ThreatCommand) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    match command {
        ThreatCommand::Report(args) => {
            let file = match &args.file {
                Some(path) => {
                    let bytes = std::fs::read(path).with_context(|| format!("{}", path.display()))?;
                    if bytes.len() > 32 * 1024 {
                        bail!(
                            "{}: {} bytes; a report carries at most 32 KiB (preserve the rest through an order)",
                            path.display(),
                            bytes.len()
                        );
                    }
                    let name = path.file_name().and_then(|n| n.to_str()).with_context(|| format!("{}: no file name", path.display()))?;
                    Some(serde_json::json!({ "name": name, "content_base64url": tocsin_wire::base64url_encode(&bytes) }))
                }
                None => None,
            };
            let body = serde_json::json!({
                "to": args.to, "url": args.url, "reason": args.reason, "published_at": args.published_at,
                "location": args.location, "file": file,
            });
            let report: Value = args.server.post("/v1/threats", &body)?;
            writeln!(out, "{}", report["id"].as_str().unwrap_or_default())?;
        }
        ThreatCommand::List(args) => {
            let reports: Vec<Value> = args.server.get("/v1/threats")?;
            for r in reports {
                writeln!(
                    out,
                    "{}\t{}\t{}\t{}\t{}",
                    r["id"].as_str().unwrap_or("-"),
                    r["side"].as_str().unwrap_or("-"),
                    r["peer"].as_str().unwrap_or("-"),
                    r["acknowledged_by"].as_str().unwrap_or("unacknowledged"),
                    r["report"]["url"].as_str().unwrap_or("-"),
                )?;
            }
        }
        ThreatCommand::Acknowledge(args) => {
            args.server.post_unit(&format!("/v1/threats/{}/acknowledge", args.id), &serde_json::json!({}))?;
            writeln!(out, "{}\tacknowledged", args.id)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
