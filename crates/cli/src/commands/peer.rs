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
        PeerCommand::Remove(args) => {
            args.server.delete(&format!("/v1/peers/{}", args.name)).context("removing the peer")?;
            writeln!(out, "removed peer {}", args.name)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
