//! `tocsin request`: data requests of an investigation (the e-Evidence Regulation) through a
//! running node: issue, validate, follow, answer or refuse, extend, and fetch the answer package,
//! checked against the platform's signed manifest before anything is kept.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::client::ServerArgs;
use super::order::Format;

/// What an emergency request states when the investigator gives no more specific reason: the
/// grounds of Art. 2(29) of the Regulation.
const EMERGENCY: &str = "An imminent threat to the life, physical integrity or safety of a person (Regulation (EU) 2023/1543, Art. 2(29)).";

/// `tocsin request ...`.
#[derive(Debug, Subcommand)]
pub enum RequestCommand {
    /// Issue a production or preservation request to a platform; prints the id last. A production
    /// request for traffic or content data waits for a validator (`tocsin request validate`).
    Issue(IssueArgs),
    /// As a validator (judge or prosecutor): approve a request that waits; it leaves the node.
    Validate(IdArgs),
    /// List data requests, newest first: id, side, state, kind, peer, deadline.
    List(ListArgs),
    /// Show one request: its state, clocks (Unix ms) and package.
    Show(ShowArgs),
    /// On a platform: answer a production request with files, encrypted to the authority.
    Answer(AnswerArgs),
    /// On a platform: refuse a request on a ground of the Regulation's Annex III.
    Refuse(RefuseArgs),
    /// On an authority: extend a preservation request once, by 30 days (Art. 11).
    Extend(IdArgs),
    /// As the enforcing authority notified of a request (Art. 8): raise no ground for refusal;
    /// the platform may answer at once and the issuing authority is told (Art. 10(2)).
    NoGrounds(IdArgs),
    /// On an authority: write the answer's files under DIR, each checked against the platform's
    /// signed manifest; --raw writes the package as received (age files and the manifest).
    Fetch(FetchArgs),
}

/// Arguments of `tocsin request issue`.
#[derive(Debug, Args)]
pub struct IssueArgs {
    /// The platform's peer name.
    #[arg(long, value_name = "PEER")]
    to: String,
    /// production or preservation.
    #[arg(long, value_name = "KIND")]
    kind: String,
    /// A category of data: subscriber, user-identification, traffic, content (repeatable).
    #[arg(long = "data", value_name = "CATEGORY", required = true)]
    categories: Vec<String>,
    /// What names the data: account:NAME, url:URL, ip:ADDRESS@RFC3339-TIME, email:ADDRESS,
    /// phone:+NUMBER (repeatable).
    #[arg(long = "identifier", value_name = "TYPE:VALUE", required = true)]
    identifiers: Vec<String>,
    /// The offence under investigation.
    #[arg(long, value_name = "TEXT")]
    offence: String,
    /// The law the request is issued under.
    #[arg(long, value_name = "TEXT")]
    legal_basis: String,
    /// Your file reference (the id when absent).
    #[arg(long, value_name = "TEXT")]
    reference: Option<String>,
    /// An emergency: the answer is due within 8 hours of receipt (Art. 10).
    #[arg(long)]
    emergency: bool,
    /// Why it is an emergency, when you can say more than the Regulation's words.
    #[arg(long, value_name = "TEXT", requires = "emergency")]
    why: Option<String>,
    /// The enforcing State's authority you notified (Art. 8): the answer waits out its
    /// objection window.
    #[arg(long, value_name = "TEXT")]
    enforcing_authority: Option<String>,
    /// The platform must not tell its user before this date (YYYY-MM-DD or RFC 3339).
    #[arg(long, value_name = "DATE")]
    confidential_until: Option<String>,
    #[command(flatten)]
    server: ServerArgs,
}

/// A request's id.
#[derive(Debug, Args)]
pub struct IdArgs {
    /// The request id.
    id: String,
    #[command(flatten)]
    server: ServerArgs,
}

/// Arguments of `tocsin request list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    server: ServerArgs,
}

/// Arguments of `tocsin request show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The request id.
    id: String,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    #[command(flatten)]
    server: ServerArgs,
}

/// Arguments of `tocsin request answer`.
#[derive(Debug, Args)]
pub struct AnswerArgs {
    /// The request id.
    id: String,
    /// A file to send, under its own name (repeatable).
    #[arg(long = "file", value_name = "PATH", required = true)]
    files: Vec<PathBuf>,
    #[command(flatten)]
    server: ServerArgs,
}

/// Arguments of `tocsin request refuse`.
#[derive(Debug, Args)]
pub struct RefuseArgs {
    /// The request id.
    id: String,
    /// cannot-identify, not-stored, de-facto-impossibility, manifest-error, not-competent or
    /// clarification-needed.
    #[arg(long, value_name = "GROUND")]
    ground: String,
    /// What you could not find, or what must be clarified (the ground's words when absent).
    #[arg(long, value_name = "TEXT")]
    explanation: Option<String>,
    #[command(flatten)]
    server: ServerArgs,
}

/// Arguments of `tocsin request fetch`.
#[derive(Debug, Args)]
pub struct FetchArgs {
    /// The request id.
    id: String,
    /// Where to write the files (made if missing; existing files are not overwritten).
    #[arg(short = 'o', long = "output", value_name = "DIR")]
    output: PathBuf,
    /// Write the package as received: NAME.age files (decrypt with `age -d -i package.key`) and
    /// manifest.jws.
    #[arg(long)]
    raw: bool,
    #[command(flatten)]
    server: ServerArgs,
}

fn text(v: &Value) -> &str {
    v.as_str().unwrap_or("-")
}

/// Runs a `tocsin request` command.
pub fn run(command: RequestCommand) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    match command {
        RequestCommand::Issue(args) => {
            let emergency = args.emergency.then(|| args.why.clone().unwrap_or_else(|| EMERGENCY.to_owned()));
            let body = serde_json::json!({
                "to": args.to, "kind": args.kind, "categories": args.categories, "identifiers": args.identifiers,
                "offence": args.offence, "legal_basis": args.legal_basis, "reference": args.reference, "emergency": emergency,
                "enforcing_authority": args.enforcing_authority, "confidential_until": args.confidential_until,
            });
            let request: Value = args.server.post("/v1/requests", &body)?;
            if request["state"] == "awaiting_validation" {
                writeln!(out, "waiting for a validator: tocsin request validate {}", text(&request["id"]))?;
            }
            writeln!(out, "{}", text(&request["id"]))?;
        }
        RequestCommand::Validate(args) => {
            let request: Value = args.server.post(&format!("/v1/requests/{}/validate", args.id), &serde_json::json!({}))?;
            writeln!(out, "{}\t{}", text(&request["id"]), text(&request["state"]))?;
        }
        RequestCommand::List(args) => {
            let requests: Vec<Value> = args.server.get("/v1/requests")?;
            for r in requests {
                writeln!(
                    out,
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    text(&r["id"]),
                    text(&r["side"]),
                    text(&r["state"]),
                    text(&r["kind"]),
                    text(&r["peer"]),
                    r["deadline_at"].as_i64().or(r["lapses_at"].as_i64()).map_or_else(|| "-".to_owned(), |t| t.to_string()),
                )?;
            }
        }
        RequestCommand::Show(args) => {
            let request: Value = args.server.get(&format!("/v1/requests/{}", args.id))?;
            match args.format {
                Format::Json => writeln!(out, "{}", serde_json::to_string_pretty(&request)?)?,
                Format::Text => {
                    for key in ["id", "side", "peer", "kind", "reference", "state", "issued_by", "validated_by"] {
                        writeln!(out, "{key}\t{}", text(&request[key]))?;
                    }
                    for key in ["received_at", "deadline_at", "objection_until", "lapses_at", "answered_at"] {
                        if let Some(t) = request[key].as_i64() {
                            writeln!(out, "{key}\t{t}")?;
                        }
                    }
                    writeln!(out, "may_tell_user\t{}", request["may_tell_user"])?;
                    if let Some(refusal) = request.get("refusal").filter(|r| !r.is_null()) {
                        writeln!(out, "refusal\t{}\t{}", text(&refusal["ground"]), text(&refusal["explanation"]))?;
                    }
                    for f in request["files"].as_array().into_iter().flatten() {
                        writeln!(out, "file\t{}\t{}\t{}", text(&f["name"]), f["size"], text(&f["sha256"]))?;
                    }
                }
            }
        }
        RequestCommand::Answer(args) => {
            for file in &args.files {
                let name = file.file_name().and_then(|n| n.to_str()).with_context(|| format!("{}: no file name", file.display()))?;
                let sealed: Value = args.server.put_file(&format!("/v1/requests/{}/files/{name}", args.id), file)?;
                writeln!(out, "sealed\t{name}\t{}\t{}", sealed["size"], text(&sealed["sha256"]))?;
            }
            let request: Value = args.server.post(&format!("/v1/requests/{}/answer", args.id), &serde_json::json!({}))?;
            writeln!(out, "{}\t{}", text(&request["id"]), text(&request["state"]))?;
        }
        RequestCommand::Refuse(args) => {
            let ground: tocsin_model::RequestInability = args.ground.parse()?;
            let explanation = args.explanation.clone().unwrap_or_else(|| ground.description().to_owned());
            let body = serde_json::json!({ "ground": ground.name(), "explanation": explanation });
            let request: Value = args.server.post(&format!("/v1/requests/{}/refuse", args.id), &body)?;
            writeln!(out, "{}\t{}", text(&request["id"]), text(&request["state"]))?;
        }
        RequestCommand::Extend(args) => {
            let request: Value = args.server.post(&format!("/v1/requests/{}/extend", args.id), &serde_json::json!({}))?;
            writeln!(out, "{}\t{}\t{}", text(&request["id"]), text(&request["state"]), request["lapses_at"])?;
        }
        RequestCommand::NoGrounds(args) => {
            let request: Value = args.server.post(&format!("/v1/requests/{}/no-grounds", args.id), &serde_json::json!({}))?;
            writeln!(out, "{}\t{}", text(&request["id"]), text(&request["state"]))?;
        }
        RequestCommand::Fetch(args) => fetch(&args, &mut out)?,
    }
    Ok(ExitCode::SUCCESS)
}

/// Checks the manifest with the platform's key as this node confirmed it, then writes each
/// file, hashing it as it streams, and keeps it only if size and SHA-256 are the manifest's.
fn fetch(args: &FetchArgs, out: &mut impl Write) -> anyhow::Result<()> {
    let request: Value = args.server.get(&format!("/v1/requests/{}", args.id))?;
    if request["state"] != "answered" {
        bail!("data request {} is {}: no package to fetch", args.id, text(&request["state"]));
    }
    let jwk: tocsin_wire::Jwk = serde_json::from_value(request["peer_jwk"].clone()).context("the platform's key")?;
    let jws = request["manifest"].as_str().context("no manifest")?;
    let manifest = tocsin_wire::manifest::verify_manifest(jws, &jwk).context("the package's manifest")?;
    if manifest.request_id.to_string() != args.id {
        bail!("the manifest is for request {}, not {}", manifest.request_id, args.id);
    }
    std::fs::create_dir_all(&args.output).with_context(|| format!("{}", args.output.display()))?;
    if args.raw {
        write_new(&args.output.join("manifest.jws"), |f| Ok(f.write_all(jws.as_bytes())?))?;
    }
    for file in &manifest.files {
        let (name, path, expected) = if args.raw {
            (format!("{}.age", file.name), format!("/v1/requests/{}/package/{}", args.id, file.name), (None, &file.age_sha256))
        } else {
            (file.name.clone(), format!("/v1/requests/{}/files/{}", args.id, file.name), (Some(file.size), &file.sha256))
        };
        let target = args.output.join(&name);
        let mut hash = Sha256::new();
        let written = write_new(&target, |f| {
            let mut tee = Tee { out: f, hash: &mut hash };
            args.server.download(&path, &mut tee)
        });
        let written = match written {
            Ok(n) => n,
            Err(e) => {
                let _ = std::fs::remove_file(&target);
                return Err(e);
            }
        };
        let digest: String = hash.finalize().iter().map(|b| format!("{b:02x}")).collect();
        if expected.0.is_some_and(|size| size != written) || &digest != expected.1 {
            let _ = std::fs::remove_file(&target);
            bail!("{name}: {written} bytes with SHA-256 {digest}, not what the platform's signed manifest says; removed");
        }
        writeln!(out, "{}\t{written}\t{digest}", target.display())?;
    }
    Ok(())
}

/// Creates `path` (refusing to overwrite) and fills it with `fill`.
fn write_new<T>(path: &Path, fill: impl FnOnce(&mut std::io::BufWriter<std::fs::File>) -> anyhow::Result<T>) -> anyhow::Result<T> {
    let file = std::fs::OpenOptions::new().write(true).create_new(true).open(path).with_context(|| format!("{}", path.display()))?;
    let mut writer = std::io::BufWriter::new(file);
    let value = fill(&mut writer)?;
    writer.into_inner().map_err(|e| e.into_error()).and_then(|f| f.sync_all()).with_context(|| format!("{}", path.display()))?;
    Ok(value)
}

/// Writes through and hashes.
struct Tee<'a, W> {
    out: W,
    hash: &'a mut Sha256,
}

impl<W: Write> Write for Tee<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.out.write(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}
