//! `tocsin order`: issue removal orders and referrals, and follow them, through a running node.

use std::io::Write;
use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};
use serde_json::Value;

use super::client::ServerArgs;

/// `tocsin order ...`.
#[derive(Debug, Subcommand)]
pub enum OrderCommand {
    /// Issue a removal order (or, with --referral, a referral) to a peer; prints the order id last.
    Issue(IssueArgs),
    /// List orders, newest first: id, state, kind, reference, issued at.
    List(ListArgs),
    /// Show one order: its state, fields and timeline.
    Show(ShowArgs),
    /// Withdraw an order: the platform is told and lifts its blocks.
    Withdraw(WithdrawArgs),
    /// On a platform: accept a referral after review (the content is then removed).
    Accept(WithdrawArgs),
    /// On a platform: reject a referral after review (the authority is told why).
    Reject(WithdrawArgs),
    /// On a platform: answer that an order cannot be executed (TCO Annex III).
    Inability(InabilityArgs),
    /// On an authority: clarify an order the platform could not execute, wholly or in part, for
    /// a manifest error or missing information; the platform's hour runs again (TCO Art. 3(8)).
    Clarify(ClarifyArgs),
    /// On a platform: the force majeure or impossibility you answered has ceased; the hour runs
    /// again from now and the order is executed (TCO Art. 3(7)).
    Resume(ResumeArgs),
    /// On an authority: ask the platform to keep the content it removed on an order beyond six
    /// months, for as long as proceedings (yours or a court's) need it; --release ends that
    /// (TCO Art. 6(2)).
    Preserve(PreserveArgs),
    /// On an authority: record that a removal order became final (no appeal in time, or
    /// confirmed on appeal); the authority of the platform's Member State is told when it is a
    /// peer (TCO Art. 3(9)).
    Final(FinalArgs),
    /// On an authority: the final orders other authorities told this node of, newest first.
    Finals(ListArgs),
    /// On an authority: the copies of cross-border removal orders other authorities issued to
    /// providers of this node's Member State (TCO Art. 4(1)), newest first.
    Copies(ListArgs),
}

/// Arguments of `tocsin order final`.
#[derive(Debug, Args)]
pub struct FinalArgs {
    /// The order id.
    id: String,
    /// unappealed or confirmed_on_appeal.
    #[arg(long, value_name = "BASIS")]
    basis: String,
    /// The particulars: the day the time to appeal ended, or the judgment.
    #[arg(long, value_name = "TEXT")]
    note: String,
    #[command(flatten)]
    server: ServerArgs,
}

/// Arguments of `tocsin order preserve`.
#[derive(Debug, Args)]
pub struct PreserveArgs {
    /// The order id.
    id: String,
    /// The proceedings that need the content (or, with --release, why they no longer do).
    #[arg(long, value_name = "TEXT")]
    reason: String,
    /// Release an earlier request: the content is deleted once its six months are over.
    #[arg(long)]
    release: bool,
    #[command(flatten)]
    server: ServerArgs,
}

/// Arguments of `tocsin order resume`.
#[derive(Debug, Args)]
pub struct ResumeArgs {
    /// The order id.
    id: String,
    /// What changed, for the authority.
    #[arg(long, value_name = "TEXT")]
    explanation: String,
    #[command(flatten)]
    server: ServerArgs,
}

/// Arguments of `tocsin order inability`.
#[derive(Debug, Args)]
pub struct InabilityArgs {
    /// The order id.
    id: String,
    /// force_majeure, technical_impossibility, manifest_error or insufficient_information.
    #[arg(long, value_name = "GROUND")]
    ground: String,
    /// Why, for the authority.
    #[arg(long, value_name = "TEXT")]
    explanation: String,
    /// Another ground that also applies (repeatable; Annex III lets several be ticked).
    #[arg(long = "also", value_name = "GROUND")]
    also: Vec<String>,
    /// For a manifest error or missing information: what the authority should clarify.
    #[arg(long, value_name = "TEXT")]
    clarification_needed: Option<String>,
    #[command(flatten)]
    server: ServerArgs,
}

/// Arguments of `tocsin order clarify`.
#[derive(Debug, Args)]
pub struct ClarifyArgs {
    /// The order id.
    id: String,
    /// The clarification.
    #[arg(long, value_name = "TEXT")]
    text: String,
    #[command(flatten)]
    server: ServerArgs,
}

/// Arguments of `tocsin order withdraw`, `accept` and `reject`: the order and why.
#[derive(Debug, Args)]
pub struct WithdrawArgs {
    /// The order id.
    id: String,
    /// Why, for the record.
    #[arg(long, value_name = "TEXT")]
    reason: String,
    #[command(flatten)]
    server: ServerArgs,
}

/// Arguments of `tocsin order issue`.
#[derive(Debug, Args)]
pub struct IssueArgs {
    /// The peer (platform) it is for, by name.
    #[arg(long, value_name = "PEER")]
    to: String,
    /// A URL of the content (repeatable).
    #[arg(long = "url", value_name = "URL", required = true)]
    urls: Vec<String>,
    /// An Art. 2(7) reason: incite, solicit, solicit_participation, instruct, threaten (repeatable).
    #[arg(long = "reason", value_name = "R")]
    reasons: Vec<String>,
    /// The legal basis [default for removal orders: Regulation (EU) 2021/784, Art. 3].
    #[arg(long, value_name = "TEXT", default_value = "")]
    legal_basis: String,
    /// The statement of reasons: why this content is terrorist content (required for removal
    /// orders, TCO Art. 3(4)(b)).
    #[arg(long, value_name = "TEXT", default_value = "")]
    statement: String,
    /// Further information that identifies and locates the content (a time in a video, a post's
    /// author; Annex I section B).
    #[arg(long, value_name = "TEXT", default_value = "")]
    location: String,
    /// Why a first removal order to this platform cannot wait twelve hours after the
    /// information on procedures and deadlines (TCO Art. 3(2); see `tocsin peer inform`).
    #[arg(long, value_name = "TEXT")]
    emergency: Option<String>,
    /// A referral rather than a removal order.
    #[arg(long)]
    referral: bool,
    /// Your reference number [default: the order id].
    #[arg(long, value_name = "REF")]
    reference: Option<String>,
    /// The platform may not tell the content provider.
    #[arg(long)]
    confidential: bool,
    /// The order's language, ISO 639-1.
    #[arg(long, default_value = "en")]
    language: String,
    #[command(flatten)]
    server: ServerArgs,
}

/// Arguments of `tocsin order list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    server: ServerArgs,
}

/// How `tocsin order show` prints.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    /// Lines for people.
    Text,
    /// The node's JSON.
    Json,
}

/// Arguments of `tocsin order show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The order id.
    id: String,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    #[command(flatten)]
    server: ServerArgs,
}

/// Runs a `tocsin order` command.
pub fn run(command: OrderCommand) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    match command {
        OrderCommand::Issue(args) => {
            let body = serde_json::json!({
                "to": args.to,
                "kind": if args.referral { "referral" } else { "removal_order" },
                "reference": args.reference,
                "targets": args.urls.iter().map(|u| serde_json::json!({ "url": u })).collect::<Vec<_>>(),
                "reasons": args.reasons,
                "statement": args.statement,
                "location": args.location,
                "legal_basis": args.legal_basis,
                "provider_may_be_told": !args.confidential,
                "language": args.language,
                "emergency": args.emergency,
            });
            let order: Value = args.server.post("/v1/orders", &body)?;
            writeln!(out, "{}", order["id"].as_str().unwrap_or_default())?;
        }
        OrderCommand::List(args) => {
            let orders: Vec<Value> = args.server.get("/v1/orders")?;
            for o in orders {
                write!(
                    out,
                    "{}\t{}\t{}\t{}\t{}",
                    text(&o["id"]),
                    text(&o["state"]),
                    text(&o["kind"]),
                    text(&o["reference"]),
                    o["issued_at"]
                )?;
                if let Some(problem) = o.get("delivery_problem") {
                    write!(out, "\tdelivery {}: {}", text(&problem["state"]), text(&problem["error"]))?;
                }
                writeln!(out)?;
            }
        }
        OrderCommand::Withdraw(args) => decide(&mut out, &args, "withdraw")?,
        OrderCommand::Accept(args) => decide(&mut out, &args, "accept")?,
        OrderCommand::Reject(args) => decide(&mut out, &args, "reject")?,
        OrderCommand::Inability(args) => {
            let body = serde_json::json!({
                "ground": args.ground, "explanation": args.explanation, "also": args.also,
                "clarification_needed": args.clarification_needed,
            });
            let order: Value = args.server.post(&format!("/v1/orders/{}/inability", args.id), &body)?;
            writeln!(out, "{}\t{}", text(&order["id"]), text(&order["state"]))?;
        }
        OrderCommand::Clarify(args) => {
            let order: Value = args.server.post(&format!("/v1/orders/{}/clarify", args.id), &serde_json::json!({ "text": args.text }))?;
            writeln!(out, "{}\t{}", text(&order["id"]), text(&order["state"]))?;
        }
        OrderCommand::Resume(args) => {
            let body = serde_json::json!({ "explanation": args.explanation });
            let order: Value = args.server.post(&format!("/v1/orders/{}/resume", args.id), &body)?;
            writeln!(out, "{}\t{}", text(&order["id"]), text(&order["state"]))?;
        }
        OrderCommand::Preserve(args) => {
            let body = serde_json::json!({ "reason": args.reason, "release": args.release });
            let order: Value = args.server.post(&format!("/v1/orders/{}/preservation", args.id), &body)?;
            writeln!(out, "{}\t{}", text(&order["id"]), if args.release { "preservation released" } else { "preservation held" })?;
        }
        OrderCommand::Final(args) => {
            let body = serde_json::json!({ "basis": args.basis, "note": args.note });
            let order: Value = args.server.post(&format!("/v1/orders/{}/final", args.id), &body)?;
            writeln!(out, "{}\tfinal", text(&order["id"]))?;
        }
        OrderCommand::Finals(args) => {
            let finals: Vec<Value> = args.server.get("/v1/orders/final")?;
            for f in finals {
                writeln!(
                    out,
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    text(&f["authority"]),
                    text(&f["reference"]),
                    text(&f["provider"]),
                    text(&f["provider_member_state"]),
                    text(&f["basis"]),
                    text(&f["note"])
                )?;
            }
        }
        OrderCommand::Copies(args) => {
            let copies: Vec<Value> = args.server.get("/v1/orders/copies")?;
            for c in copies {
                let order = &c["order"];
                let urls: Vec<&str> = order["targets"].as_array().into_iter().flatten().filter_map(|t| t["url"].as_str()).collect();
                writeln!(
                    out,
                    "{}\t{}\t{}\t{}\t{}",
                    text(&c["authority"]),
                    text(&order["reference"]),
                    text(&order["addressee"]),
                    text(&order["annex"]["provider"]["member_state"]),
                    urls.join(" ")
                )?;
            }
        }
        OrderCommand::Show(args) => {
            let order: Value = args.server.get(&format!("/v1/orders/{}", args.id))?;
            match args.format {
                Format::Json => writeln!(out, "{}", serde_json::to_string_pretty(&order)?)?,
                Format::Text => {
                    writeln!(out, "order {} ({}), reference {}", text(&order["id"]), text(&order["kind"]), text(&order["reference"]))?;
                    writeln!(out, "state: {}", text(&order["state"]))?;
                    if let Some(problem) = order.get("delivery_problem") {
                        writeln!(
                            out,
                            "delivery {}: the {} message to {}: {}",
                            text(&problem["state"]),
                            text(&problem["kind"]),
                            text(&problem["peer"]),
                            text(&problem["error"])
                        )?;
                    }
                    if let Some(deadline) = order["deadline_at"].as_i64() {
                        let overdue = if order["overdue"] == true { " (overdue)" } else { "" };
                        writeln!(out, "deadline: {}{overdue}", tocsin_server::node::time::rfc3339_ms(deadline))?;
                    }
                    for t in order["order"]["targets"].as_array().into_iter().flatten() {
                        writeln!(out, "target: {}", text(&t["url"]))?;
                    }
                    for e in order["timeline"].as_array().into_iter().flatten() {
                        let at = e["at"].as_i64().map(tocsin_server::node::time::rfc3339_ms).unwrap_or_default();
                        writeln!(out, "{at}\t{}", text(&e["event"]))?;
                    }
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn text(v: &Value) -> &str {
    v.as_str().unwrap_or("")
}

/// `POST /v1/orders/{id}/{action}` with the reason; prints the id and the new state.
fn decide(out: &mut impl Write, args: &WithdrawArgs, action: &str) -> anyhow::Result<()> {
    let order: Value = args.server.post(&format!("/v1/orders/{}/{action}", args.id), &serde_json::json!({ "reason": args.reason }))?;
    writeln!(out, "{}\t{}", text(&order["id"]), text(&order["state"]))?;
    Ok(())
}
