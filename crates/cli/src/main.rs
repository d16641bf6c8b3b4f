//! The `tocsin` binary: one command line over every Tocsin capability.

mod commands;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Tocsin: take terrorist content down, keep it down, and prove every step.
#[derive(Debug, Parser)]
#[command(name = "tocsin", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Hash images with PDQ, bit-exact with Meta's reference.
    Hash(commands::hash::HashArgs),
    /// Find every bank hash near each query hash (exact Hamming range search).
    Match(commands::matching::MatchArgs),
    /// Node administration done offline, against the node's database.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Check a node's audit log from outside.
    #[command(subcommand)]
    Log(LogCommand),
    /// Run this party's node (HTTP API, identity).
    Serve(Box<commands::serve::ServeArgs>),
    /// Removal orders and referrals: issue and follow them (talks to a running node).
    #[command(subcommand)]
    Order(commands::order::OrderCommand),
    /// Data requests of an investigation (e-Evidence Regulation): issue, validate, answer,
    /// fetch the encrypted answer (talks to a running node).
    #[command(subcommand)]
    Request(commands::request::RequestCommand),
    /// Reports of content involving an imminent threat to life, from a platform to an
    /// authority (talks to a running node).
    #[command(subcommand)]
    Threat(commands::threat::ThreatCommand),
    /// The nodes whose signed messages this node accepts (talks to a running node).
    #[command(subcommand)]
    Peer(commands::peer::PeerCommand),
    /// The legal particulars orders carry (TCO Annex I): this node's, or a peer's (talks to a
    /// running node).
    #[command(subcommand)]
    Legal(commands::legal::LegalCommand),
    /// Build and manage on-disk indexes of banks.
    #[command(subcommand)]
    Index(IndexCommand),
    /// A node's hash banks: make, list, import, export, dispute (talks to a running node).
    #[command(subcommand)]
    Bank(commands::bank::BankCommand),
    /// The authority's blocklist for ISPs and search engines (talks to a running node).
    #[command(subcommand)]
    Blocklist(commands::blocklist::BlocklistCommand),
    /// Figures for reports, computed from a node's log (talks to a running node).
    #[command(subcommand)]
    Report(commands::report::ReportCommand),
    /// The age files answers to data requests travel in: encrypt to a node's package recipient,
    /// decrypt with a package key (the stock `age` tool reads and writes the same files).
    #[command(subcommand)]
    Package(commands::package::PackageCommand),
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Make an API token for an account (made if need be); prints only the token.
    Token(commands::admin::TokenArgs),
}

#[derive(Debug, Subcommand)]
enum LogCommand {
    /// Recompute a node's Merkle log from its entries and check its signed head (and, given an
    /// earlier head, that the log extends it); exits 1 naming what fails.
    Verify(commands::log::VerifyArgs),
}

#[derive(Debug, Subcommand)]
enum IndexCommand {
    /// Parse and index a bank once, for `tocsin match --index`.
    Build(commands::matching::BuildArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Hash(args) => commands::hash::run(args),
        Command::Match(args) => commands::matching::run(args),
        Command::Index(IndexCommand::Build(args)) => commands::matching::build(args),
        Command::Serve(args) => commands::serve::run(*args),
        Command::Peer(command) => commands::peer::run(command),
        Command::Order(command) => commands::order::run(command),
        Command::Request(command) => commands::request::run(command),
        Command::Threat(command) => commands::threat::run(command),
        Command::Legal(command) => commands::legal::run(command),
        Command::Bank(command) => commands::bank::run(command),
        Command::Blocklist(command) => commands::blocklist::run(command),
        Command::Report(command) => commands::report::run(command),
        Command::Package(command) => commands::package::run(command),
        Command::Admin(AdminCommand::Token(args)) => commands::admin::token(args),
        Command::Log(LogCommand::Verify(args)) => commands::log::verify(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("tocsin: {err:#}");
            ExitCode::from(2)
        }
    }
}
