//! `tocsin package encrypt|decrypt`: the age format that answers to data requests travel in, by
//! hand. Encrypt a file to a node's package recipient (`age1...`, from its identity document) as
//! a platform's node does, or decrypt one with a package key file (`DATA/package.key`); the
//! stock `age` tool reads and writes the same files.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use tocsin_wire::age::{PackageIdentity, Recipient, decrypt, encrypt};

/// `tocsin package ...`.
#[derive(Debug, Subcommand)]
pub enum PackageCommand {
    /// Encrypt a file (or standard input) to an age recipient.
    Encrypt(EncryptArgs),
    /// Decrypt an age file (or standard input) with an age identity file.
    Decrypt(DecryptArgs),
}

/// Arguments of `tocsin package encrypt`.
#[derive(Debug, Args)]
pub struct EncryptArgs {
    /// The recipient, `age1...` (a node's `package_recipient`).
    #[arg(long, short = 'r', value_name = "RECIPIENT")]
    to: String,
    /// Where to write; standard output if not given.
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
    /// The file to encrypt; standard input if not given.
    input: Option<PathBuf>,
}

/// Arguments of `tocsin package decrypt`.
#[derive(Debug, Args)]
pub struct DecryptArgs {
    /// The identity file: a node's `DATA/package.key`, or any file `age-keygen` wrote.
    #[arg(long, short = 'i', value_name = "FILE")]
    identity: PathBuf,
    /// Where to write; standard output if not given. A file is written whole or not at all.
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
    /// The age file; standard input if not given.
    input: Option<PathBuf>,
}

/// Runs `tocsin package ...`.
pub fn run(command: PackageCommand) -> anyhow::Result<ExitCode> {
    match command {
        PackageCommand::Encrypt(args) => {
            let recipient = Recipient::parse(&args.to)?;
            let random = tocsin_server::investigations::package::fresh_randomness()?;
            let input = open(args.input.as_deref())?;
            write_whole(args.output.as_deref(), |out| Ok(encrypt(&recipient, &random, input, out)?))?;
        }
        PackageCommand::Decrypt(args) => {
            let text = std::fs::read_to_string(&args.identity).with_context(|| format!("reading {}", args.identity.display()))?;
            let identity = PackageIdentity::from_file(&text).with_context(|| args.identity.display().to_string())?;
            let input = open(args.input.as_deref())?;
            write_whole(args.output.as_deref(), |out| Ok(decrypt(&identity, input, out)?))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn open(path: Option<&Path>) -> anyhow::Result<Box<dyn Read>> {
    Ok(match path {
        // Read in the format's 64 KiB chunks straight from the file: a buffer would only copy.
        Some(path) => Box::new(File::open(path).with_context(|| format!("opening {}", path.display()))?),
        None => Box::new(BufReader::with_capacity(1 << 20, io::stdin().lock())),
    })
}

/// Runs `write` into `path` through a temporary file renamed at the end, so that a file that
/// fails half way (a payload cut short) leaves nothing behind; or into standard output.
fn write_whole(path: Option<&Path>, write: impl FnOnce(&mut dyn Write) -> anyhow::Result<u64>) -> anyhow::Result<()> {
    match path {
        None => {
            let mut out = BufWriter::with_capacity(1 << 20, io::stdout().lock());
            write(&mut out)?;
            out.flush()?;
        }
        Some(path) => {
            let partial = path.with_extension("partial");
            let mut out =
                BufWriter::with_capacity(1 << 20, File::create(&partial).with_context(|| format!("creating {}", partial.display()))?);
            let written = write(&mut out).and_then(|n| Ok(out.flush().map(|()| n)?));
            drop(out);
            match written {
                Ok(_) => std::fs::rename(&partial, path).with_context(|| format!("renaming to {}", path.display()))?,
                Err(e) => {
                    let _ = std::fs::remove_file(&partial);
                    return Err(e);
                }
            }
        }
    }
    Ok(())
}
