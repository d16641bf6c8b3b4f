//! `tocsin match`: every bank hash within a Hamming distance of each query hash.

use std::io::{self, BufRead, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Args;
use rayon::prelude::*;
use tocsin_hash::pdq::{MATCH_DISTANCE, PdqHash};
use tocsin_index::{Index, Match};

/// Arguments of `tocsin match`.
#[derive(Debug, Args)]
pub struct MatchArgs {
    /// The bank: one hash a line (64 hex digits), optionally followed by whitespace and an id.
    #[arg(long, value_name = "FILE", required_unless_present = "index", conflicts_with = "index")]
    bank: Option<PathBuf>,

    /// The bank as built by `tocsin index build` (loads without rebuilding).
    #[arg(long, value_name = "FILE")]
    index: Option<PathBuf>,

    /// Report bank hashes at most this many bits away (PDQ's match threshold is 31).
    #[arg(long, value_name = "BITS", default_value_t = MATCH_DISTANCE, value_parser = clap::value_parser!(u32).range(0..=256))]
    max_distance: u32,

    /// Worker threads [default: one per core].
    #[arg(long, short = 'j', value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    jobs: Option<u16>,

    /// Query hashes, one a line, anything after the hash ignored (so `tocsin hash` output
    /// works); `-` or nothing reads standard input.
    #[arg(value_name = "QUERIES")]
    queries: Option<PathBuf>,
}

/// One parsed line: the hash and what followed it.
fn parse_line(line: &str) -> Result<Option<(PdqHash, &str)>, String> {
    let line = line.trim_end_matches(['\r', '\n']);
    if line.trim().is_empty() {
        return Ok(None);
    }
    let line = line.trim_start();
    let (hash, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
    let hash = hash.parse::<PdqHash>().map_err(|e| e.to_string())?;
    Ok(Some((hash, rest.trim())))
}

/// The bank as an index plus, per id (its line number), the hash and the caller's id.
struct Bank {
    index: Index,
    entries: Vec<(PdqHash, String)>,
}

fn load_bank(path: &Path) -> anyhow::Result<Bank> {
    let file = std::fs::File::open(path).with_context(|| format!("{}: cannot open the bank", path.display()))?;
    let mut entries = Vec::new();
    for (n, line) in io::BufReader::new(file).lines().enumerate() {
        let line = line.with_context(|| format!("{}:{}: cannot read", path.display(), n + 1))?;
        // A bank that loads partly would miss matches without saying so: any bad line stops.
        match parse_line(&line) {
            Ok(None) => {}
            Ok(Some((hash, id))) => entries.push((hash, id.to_owned())),
            Err(e) => bail!("{}:{}: {e}", path.display(), n + 1),
        }
    }
    let index = Index::from_pairs(entries.iter().enumerate().map(|(i, (hash, _))| (i as u64, hash.words())));
    Ok(Bank { index, entries })
}

/// The on-disk bank: `TOCSINBK`, version `u32`, entry count `u64`, then per entry the hash (32
/// bytes, hex order) and the id (`u32` length, UTF-8), then the index (`tocsin_index` format).
const BANK_MAGIC: &[u8; 8] = b"TOCSINBK";
const BANK_VERSION: u32 = 1;

impl Bank {
    fn to_bytes(&self) -> Vec<u8> {
        let mut out = BANK_MAGIC.to_vec();
        out.extend_from_slice(&BANK_VERSION.to_le_bytes());
        out.extend_from_slice(&(self.entries.len() as u64).to_le_bytes());
        for (hash, id) in &self.entries {
            out.extend_from_slice(&hash.to_be_bytes());
            // Ids come from text lines, far below 4 GiB.
            out.extend_from_slice(&(id.len() as u32).to_le_bytes());
            out.extend_from_slice(id.as_bytes());
        }
        out.extend_from_slice(&self.index.to_bytes());
        out
    }

    fn from_bytes(bytes: &[u8]) -> Result<Self, String> {
        let mut rest = bytes.strip_prefix(BANK_MAGIC).ok_or("not a bank index built by `tocsin index build`")?;
        let mut take = |n: usize| -> Result<&[u8], String> {
            if rest.len() < n {
                return Err("the file ends too early".to_owned());
            }
            let (head, tail) = rest.split_at(n);
            rest = tail;
            Ok(head)
        };
        let version = u32::from_le_bytes(take(4)?.try_into().map_err(|_| "version")?);
        if version != BANK_VERSION {
            return Err(format!("bank index version {version}, this build reads version {BANK_VERSION}"));
        }
        let count = u64::from_le_bytes(take(8)?.try_into().map_err(|_| "count")?);
        let mut entries = Vec::new();
        for _ in 0..count {
            let hash: [u8; 32] = take(32)?.try_into().map_err(|_| "hash")?;
            let len = u32::from_le_bytes(take(4)?.try_into().map_err(|_| "length")?) as usize;
            let id = std::str::from_utf8(take(len)?).map_err(|_| "an id is not UTF-8")?.to_owned();
            entries.push((PdqHash::from_be_bytes(hash), id));
        }
        let index = Index::from_bytes(rest).map_err(|e| e.to_string())?;
        if index.len() != entries.len() {
            return Err("the index and the bank entries disagree".to_owned());
        }
        Ok(Self { index, entries })
    }
}

/// Arguments of `tocsin index build`.
#[derive(Debug, Args)]
pub struct BuildArgs {
    /// The bank in text form (as for `tocsin match --bank`).
    #[arg(value_name = "BANK")]
    bank: PathBuf,

    /// Where to write the index.
    #[arg(short, long, value_name = "FILE")]
    output: PathBuf,
}

/// `tocsin index build`: the bank parsed and indexed once, saved for `tocsin match --index`.
pub fn build(args: BuildArgs) -> anyhow::Result<ExitCode> {
    let bank = load_bank(&args.bank)?;
    // Write beside the target and rename, so a reader never sees half a file.
    let mut tmp = args.output.clone().into_os_string();
    tmp.push(".tmp");
    std::fs::write(&tmp, bank.to_bytes()).with_context(|| format!("writing {}", args.output.display()))?;
    std::fs::rename(&tmp, &args.output).with_context(|| format!("writing {}", args.output.display()))?;
    eprintln!("tocsin: indexed {} hash(es) into {}", bank.entries.len(), args.output.display());
    Ok(ExitCode::SUCCESS)
}

/// Runs the command: exit 0 when every query line was read, 1 when some were bad.
pub fn run(args: MatchArgs) -> anyhow::Result<ExitCode> {
    let bank = match (&args.bank, &args.index) {
        (Some(path), _) => load_bank(path)?,
        (None, Some(path)) => {
            let bytes = std::fs::read(path).with_context(|| format!("{}: cannot read the index", path.display()))?;
            Bank::from_bytes(&bytes).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
        }
        (None, None) => bail!("give --bank FILE or --index FILE"),
    };
    let (name, input): (String, Box<dyn BufRead>) = match &args.queries {
        None => ("-".to_owned(), Box::new(io::stdin().lock())),
        Some(p) if p.as_os_str() == "-" => ("-".to_owned(), Box::new(io::stdin().lock())),
        Some(p) => {
            let file = std::fs::File::open(p).with_context(|| format!("{}: cannot open the queries", p.display()))?;
            (p.display().to_string(), Box::new(io::BufReader::new(file)))
        }
    };
    let jobs = args.jobs.map_or_else(|| std::thread::available_parallelism().map_or(1, usize::from), usize::from);
    let pool = rayon::ThreadPoolBuilder::new().num_threads(jobs).build().context("starting worker threads")?;
    let mut out = BufWriter::new(io::stdout().lock());
    let mut bad = 0usize;
    let mut lines = input.lines().enumerate();
    // Queries go in batches: searched on every core, written in input order, and a long stream
    // on standard input never has to be held whole.
    const BATCH: usize = 4096;
    let mut batch: Vec<PdqHash> = Vec::with_capacity(BATCH);
    loop {
        batch.clear();
        for (n, line) in lines.by_ref() {
            let line = line.with_context(|| format!("{name}:{}: cannot read", n + 1))?;
            match parse_line(&line) {
                Ok(None) => {}
                Ok(Some((hash, _))) => batch.push(hash),
                Err(e) => {
                    bad += 1;
                    eprintln!("tocsin: {name}:{}: {e}", n + 1);
                }
            }
            if batch.len() == BATCH {
                break;
            }
        }
        if batch.is_empty() {
            break;
        }
        // Each worker takes a slice of the batch and searches it in one go (`search_batch`
        // sorts the reads of many queries into one sweep of the tables).
        let per_worker = batch.len().div_ceil(jobs).max(1);
        let found: Vec<Vec<Vec<Match>>> = pool.install(|| {
            batch
                .par_chunks(per_worker)
                .map(|chunk| bank.index.search_batch(&chunk.iter().map(PdqHash::words).collect::<Vec<_>>(), args.max_distance))
                .collect()
        });
        for (query, matches) in batch.iter().zip(found.into_iter().flatten()) {
            for m in matches {
                // Ids are the positions in `entries`, so the lookup cannot miss.
                let (bank_hash, bank_id) = &bank.entries[m.id as usize];
                let written = writeln!(out, "{query}\t{bank_hash}\t{}\t{bank_id}", m.distance);
                if let Err(e) = written {
                    if e.kind() == io::ErrorKind::BrokenPipe {
                        return Ok(ExitCode::SUCCESS);
                    }
                    return Err(e).context("writing output");
                }
            }
        }
    }
    match out.flush() {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(ExitCode::SUCCESS),
        other => other.context("writing output")?,
    }
    if bad > 0 {
        eprintln!("tocsin: {bad} query line(s) could not be read");
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_carry_a_hash_and_optionally_more() {
        let h = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";
        assert_eq!(parse_line("").expect("blank"), None);
        assert_eq!(parse_line("   ").expect("blank"), None);
        let (hash, rest) = parse_line(h).expect("ok").expect("some");
        assert_eq!((hash.to_string().as_str(), rest), (h, ""));
        let line = format!("{h}\t100\tsome dir/a b.jpg");
        let (_, rest) = parse_line(&line).expect("ok").expect("some");
        assert_eq!(rest, "100\tsome dir/a b.jpg");
        let line = format!("{h}  case-42\r");
        assert_eq!(parse_line(&line).expect("ok").expect("some").1, "case-42");
        assert!(parse_line("xyz 1").expect_err("bad").contains("64 hex digits"));
    }
}
