//! `tocsin peer`: add, list and remove the nodes whose signed messages this node accepts.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use serde::Deserialize;

use super::client::ServerArgs;

/// `tocsin peer ...`.
#[derive(Debug, Subcommand)]
pub enum PeerCommand {
    /// Add a peer by URL, checking that its key has the fingerprint its operator gave you.
    Add(AddArgs),
    /// List the peers: name, URL, fingerprint, roles, policy, and how far the peer's clock was
    /// from this node's at the last delivery (e.g. `clock -7200.0s`: two hours behind).
    List(ListArgs),
    /// Remove a peer: its messages are refused from now on.
    Remove(RemoveArgs),
    /// Set how this node treats a peer's removal orders: auto (executed at once) or review.
    Policy(PolicyArgs),
    /// On an authority: send a platform the information on your procedures and deadlines, which
    /// TCO Art. 3(2) asks for at least twelve hours before your first removal order there; or,
    /// with --given-on and --means, record that you gave it by other means. With --list, show
    /// what was given to (or received from) the peer.
    Inform(InformArgs),
}

/// Arguments of `tocsin peer inform`.
#[derive(Debug, Args)]
pub struct InformArgs {
    /// The peer's name.
    name: String,
    /// The information [default: a text naming the Regulation's procedures and deadlines].
    #[arg(long, value_name = "TEXT", conflicts_with = "list")]
    text: Option<String>,
    /// The day it was given by other means, YYYY-MM-DD (UTC; counted from the end of the day).
    #[arg(long, value_name = "DATE", requires = "means", conflicts_with = "list")]
    given_on: Option<String>,
    /// How it was given then: a letter and its reference, an email.
    #[arg(long, value_name = "TEXT", requires = "given_on", conflicts_with = "list")]
    means: Option<String>,
    /// Show the records instead: when, how, and by whom.
    #[arg(long)]
    list: bool,
    #[command(flatten)]
    server: ServerArgs,
}

/// Arguments of `tocsin peer policy`.
#[derive(Debug, Args)]
pub struct PolicyArgs {
    /// The peer's name.
    name: String,
    /// auto or review.
    policy: String,
    #[command(flatten)]
    server: ServerArgs,
}

/// Arguments of `tocsin peer add`.
#[derive(Debug, Args)]
pub struct AddArgs {
    /// The peer's base URL.
    url: String,
    /// The fingerprint of the peer's key, confirmed out of band (phone, letter, in person).
    #[arg(long, value_name = "FP", allow_hyphen_values = true)]
    fingerprint: String,
    /// A part you confirm the peer plays, with its key: authority, platform, operator or
    /// oversight (repeatable). Refused if the peer does not announce it; the peer may then send
    /// only what that part sends.
    #[arg(long = "role", value_name = "ROLE", required = true, value_delimiter = ',')]
    roles: Vec<String>,
    /// auto: its removal orders are executed at once (if it is an authority); review: they wait
    /// for a reviewer.
    #[arg(long, default_value = "auto")]
    policy: String,
    #[command(flatten)]
    server: ServerArgs,
}

/// Arguments of `tocsin peer list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    server: ServerArgs,
}

/// Arguments of `tocsin peer remove`.
#[derive(Debug, Args)]
pub struct RemoveArgs {
    /// The peer's name.
    name: String,
    #[command(flatten)]
    server: ServerArgs,
}

#[derive(Debug, Deserialize)]
struct Peer {
    name: String,
    url: String,
    fingerprint: String,
    roles: Vec<String>,
    policy: String,
    clock_skew_ms: Option<i64>,
}

/// Runs a `tocsin peer` command.
pub fn run(command: PeerCommand) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    match command {
        PeerCommand::Add(args) => {
            let body = serde_json::json!({ "url": args.url, "fingerprint": args.fingerprint, "roles": args.roles, "policy": args.policy });
            let peer: Peer = args.server.post("/v1/peers", &body)?;
            writeln!(out, "added peer {} ({}) at {}, key {}", peer.name, peer.roles.join(","), peer.url, peer.fingerprint)?;
        }
        PeerCommand::List(args) => {
            let peers: Vec<Peer> = args.server.get("/v1/peers")?;
            for p in peers {
                let clock = p.clock_skew_ms.map_or_else(|| "clock unknown".to_owned(), |ms| format!("clock {:+.1}s", ms as f64 / 1000.0));
                writeln!(out, "{}\t{}\t{}\t{}\t{}\t{clock}", p.name, p.url, p.fingerprint, p.roles.join(","), p.policy)?;
            }
        }
        PeerCommand::Policy(args) => {
            args.server.post_unit(&format!("/v1/peers/{}/policy", args.name), &serde_json::json!({ "policy": args.policy }))?;
            writeln!(out, "peer {}: policy {}", args.name, args.policy)?;
        }
        PeerCommand::Inform(args) => {
            let path = format!("/v1/peers/{}/information", args.name);
            let show = |r: &serde_json::Value| {
                let at = |v: &serde_json::Value| v.as_i64().map_or_else(|| "on its way".to_owned(), tocsin_server::node::time::rfc3339_ms);
                let word = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
                format!(
                    "{}\t{}\tgiven {}\t{}\tby {}",
                    word(&r["id"]),
                    word(&r["side"]),
                    at(&r["given_at"]),
                    word(&r["means"]),
                    word(&r["recorded_by"])
                )
            };
            if args.list {
                let records: Vec<serde_json::Value> = args.server.get(&path)?;
                for r in &records {
                    writeln!(out, "{}", show(r))?;
                }
            } else {
                let body = serde_json::json!({ "text": args.text, "given_on": args.given_on, "means": args.means });
                let record: serde_json::Value = args.server.post(&path, &body)?;
                writeln!(out, "{}", show(&record))?;
            }
        }
        PeerCommand::Remove(args) => {
            args.server.delete(&format!("/v1/peers/{}", args.name)).context("removing the peer")?;
            writeln!(out, "removed peer {}", args.name)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
