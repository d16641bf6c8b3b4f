//! `tocsin legal`: state the particulars that fill an order's Annex I sections, for this node
//! or for a peer, through a running node; what is not given is kept as it was.

use std::io::Write;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use serde_json::{Map, Value};

use super::client::ServerArgs;

/// `tocsin legal ...`.
#[derive(Debug, Subcommand)]
pub enum LegalCommand {
    /// Print the particulars stated, one `name: value` a line.
    Show(ShowArgs),
    /// State particulars (an admin's act, logged); the others stay as they were.
    Set(Box<SetArgs>),
}

/// Arguments of `tocsin legal show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// A peer's, rather than this node's.
    #[arg(long, value_name = "NAME")]
    peer: Option<String>,
    #[command(flatten)]
    server: ServerArgs,
}

/// Arguments of `tocsin legal set`.
#[derive(Debug, Args)]
pub struct SetArgs {
    /// A peer's, rather than this node's.
    #[arg(long, value_name = "NAME")]
    peer: Option<String>,
    /// The Member State, by its EU code (NL, FR, DE, EL...): the authority's, or the platform's
    /// main establishment or legal representative's (section A).
    #[arg(long, value_name = "CODE")]
    member_state: Option<String>,
    /// judicial, law_enforcement or other (section E).
    #[arg(long, value_name = "TYPE")]
    authority_type: Option<String>,
    /// The authority's representative: name and post (section E).
    #[arg(long, value_name = "TEXT")]
    representative: Option<String>,
    /// Postal address (section E).
    #[arg(long, value_name = "TEXT")]
    address: Option<String>,
    /// Telephone, with the country code (section E).
    #[arg(long, value_name = "TEXT")]
    phone: Option<String>,
    /// Fax, with the country code (section E).
    #[arg(long, value_name = "TEXT")]
    fax: Option<String>,
    /// Email (section E; a platform's contact point's, section A).
    #[arg(long, value_name = "ADDRESS")]
    email: Option<String>,
    /// A platform's contact point for orders (section A), or an authority's for feedback and
    /// clarification (section F).
    #[arg(long, value_name = "TEXT")]
    contact_point: Option<String>,
    /// A platform's legal representative in the Union (section A).
    #[arg(long, value_name = "TEXT")]
    legal_representative: Option<String>,
    /// A platform's Member State's competent authority, with contact details: it gets a copy of
    /// a cross-border order (sections D and F).
    #[arg(long, value_name = "TEXT")]
    state_authority: Option<String>,
    /// The court or body that hears challenges to this authority's orders (section G).
    #[arg(long, value_name = "TEXT")]
    redress_body: Option<String>,
    /// The time allowed to challenge them (section G).
    #[arg(long, value_name = "TEXT")]
    redress_deadline: Option<String>,
    /// Where the national provisions on redress are published (section G).
    #[arg(long, value_name = "TEXT")]
    redress_provisions: Option<String>,
    /// A platform's designated languages for orders, ISO 639-1, comma-separated (Art. 15(2)).
    #[arg(long, value_name = "CODES", value_delimiter = ',')]
    languages: Option<Vec<String>>,
    #[command(flatten)]
    server: ServerArgs,
}

fn path(peer: Option<&str>) -> String {
    peer.map_or_else(|| "/v1/legal".to_owned(), |name| format!("/v1/peers/{name}/legal"))
}

/// Runs a `tocsin legal` command.
pub fn run(command: LegalCommand) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    match command {
        LegalCommand::Show(args) => {
            let details: Map<String, Value> = args.server.get(&path(args.peer.as_deref()))?;
            for (name, value) in details {
                let shown = match &value {
                    Value::String(text) => text.clone(),
                    Value::Array(items) => items.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(","),
                    other => other.to_string(),
                };
                writeln!(out, "{name}: {shown}")?;
            }
        }
        LegalCommand::Set(args) => {
            let path = path(args.peer.as_deref());
            let mut details: Map<String, Value> = args.server.get(&path)?;
            let given = [
                ("member_state", args.member_state),
                ("authority_type", args.authority_type),
                ("representative", args.representative),
                ("address", args.address),
                ("phone", args.phone),
                ("fax", args.fax),
                ("email", args.email),
                ("contact_point", args.contact_point),
                ("legal_representative", args.legal_representative),
                ("state_authority", args.state_authority),
                ("redress_body", args.redress_body),
                ("redress_deadline", args.redress_deadline),
                ("redress_provisions", args.redress_provisions),
            ];
            for (name, value) in given {
                if let Some(value) = value {
                    details.insert(name.to_owned(), Value::String(value));
                }
            }
            if let Some(languages) = args.languages {
                details.insert("languages".to_owned(), Value::from(languages));
            }
            args.server.put_unit(&path, &details)?;
            writeln!(out, "particulars stated for {}", args.peer.as_deref().unwrap_or("this node"))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
