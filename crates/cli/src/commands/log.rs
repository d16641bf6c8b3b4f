//! `tocsin log verify`: an outside reviewer's check of a node's Merkle log, from its public
//! endpoints only.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use serde::Deserialize;
use tocsin_ledger::{Hash, verify_consistency};
use tocsin_wire::{Jwk, TreeHead};

/// Arguments of `tocsin log verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The node's base URL, e.g. http://127.0.0.1:8080.
    #[arg(long, value_name = "URL")]
    url: String,

    /// A bearer token of the admin, oversight or auditor role.
    #[arg(long, env = "TOCSIN_TOKEN", value_name = "TOKEN", hide_env_values = true)]
    token: String,

    /// A tree head saved from an earlier check: the log must extend it.
    #[arg(long, value_name = "FILE")]
    head: Option<PathBuf>,

    /// The node key's fingerprint, as confirmed out of band: without it the key the node
    /// announces is taken on trust.
    #[arg(long, value_name = "FP", allow_hyphen_values = true)]
    fingerprint: Option<String>,

    /// Where to save today's head, once verified, for the next check.
    #[arg(long, value_name = "FILE")]
    save_head: Option<PathBuf>,
}

#[derive(Deserialize)]
struct Identity {
    jwk: Jwk,
}

#[derive(Deserialize)]
struct Entry {
    index: u64,
    data: String,
    leaf_hash: String,
}

#[derive(Deserialize)]
struct Proof {
    proof: Vec<String>,
}

fn get<T: serde::de::DeserializeOwned>(base: &str, path: &str, token: Option<&str>) -> anyhow::Result<T> {
    super::client::get_json(base, path, token)
}

fn hex_hash(text: &str) -> anyhow::Result<Hash> {
    text.parse().map_err(|_| anyhow::anyhow!("{text:?} is not a hash"))
}

/// Fetches the head and every entry, recomputes the tree, checks the signature and (given an
/// earlier head) consistency. Exit 0 when all holds, 1 with each failure named otherwise.
pub fn verify(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let base = args.url.as_str();
    let token = Some(args.token.as_str());
    let key = get::<Identity>(base, "/.well-known/tocsin", None)?.jwk;
    let head: TreeHead = get(base, "/v1/log/head", token)?;
    let mut failures = Vec::new();
    if let Some(expected) = &args.fingerprint
        && key.thumbprint() != *expected
    {
        failures.push(format!("the node's key has fingerprint {}, not the expected {expected}", key.thumbprint()));
    }
    if let Err(e) = head.verify(&key) {
        failures.push(format!("the head: {e}"));
    }
    let head_root = Hash(head.root_bytes().context("the head's root")?);

    let mut audit = tocsin_ledger::Audit::new();
    while audit.next() < head.size {
        let page: Vec<Entry> = get(base, &format!("/v1/log/entries?start={}&end={}", audit.next(), head.size), token)?;
        if page.is_empty() {
            break;
        }
        for entry in page {
            let data =
                tocsin_wire::base64url_decode(&entry.data).map_err(|_| anyhow::anyhow!("entry {}: data is not base64url", entry.index))?;
            audit.entry(entry.index, &data, &hex_hash(&entry.leaf_hash)?);
        }
    }
    failures.extend(audit.finish(head.size, &head_root).iter().map(ToString::to_string));

    if let Some(path) = &args.head {
        let text = std::fs::read_to_string(path).with_context(|| format!("{}", path.display()))?;
        let old: TreeHead = serde_json::from_str(&text).with_context(|| format!("{}: not a tree head", path.display()))?;
        if let Err(e) = old.verify(&key) {
            failures.push(format!("the saved head ({}): {e}", path.display()));
        }
        let old_root = Hash(old.root_bytes().context("the saved head's root")?);
        if old.size > head.size {
            failures.push(format!("the log has shrunk: {} entries, the saved head had {}", head.size, old.size));
        } else {
            let proof: Proof = get(base, &format!("/v1/log/proof/consistency?first={}&second={}", old.size, head.size), token)?;
            let proof: Vec<Hash> = proof.proof.iter().map(|h| hex_hash(h)).collect::<anyhow::Result<_>>()?;
            if verify_consistency(old.size, head.size, &old_root, &head_root, &proof).is_err() {
                failures
                    .push(format!("the log of {} entries does not extend the saved head of {} (history rewritten)", head.size, old.size));
            }
        }
    }

    if !failures.is_empty() {
        for f in &failures {
            eprintln!("tocsin: log: {f}");
        }
        eprintln!("tocsin: log verification FAILED ({} problem(s))", failures.len());
        return Ok(ExitCode::from(1));
    }
    if let Some(path) = &args.save_head {
        std::fs::write(path, serde_json::to_string_pretty(&head)?).with_context(|| format!("{}", path.display()))?;
    }
    writeln!(std::io::stdout(), "ok: {} entries, root {}, signed by {}", head.size, head.root, key.thumbprint()).context("writing")?;
    Ok(ExitCode::SUCCESS)
}
