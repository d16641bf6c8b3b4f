//! `tocsin match`: every bank hash within a Hamming distance of each query hash.

use std::io::{self, BufRead, BufWriter, Read, Write};
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

/// The bank as an index plus, per index id (the entry's number), the hash and the caller's id.
struct Bank {
    index: Index,
    hashes: Vec<PdqHash>,
    /// Every caller's id, one after another; entry `i`'s is `ids[id_ends[i - 1]..id_ends[i]]`.
    ids: String,
    id_ends: Vec<usize>,
}

impl Bank {
    fn new(entries: Vec<(PdqHash, &str)>) -> Self {
        let index = Index::from_pairs(entries.iter().enumerate().map(|(i, (hash, _))| (i as u64, hash.words())));
        let mut bank =
            Self { index, hashes: Vec::with_capacity(entries.len()), ids: String::new(), id_ends: Vec::with_capacity(entries.len()) };
        for (hash, id) in entries {
            bank.hashes.push(hash);
            bank.ids.push_str(id);
            bank.id_ends.push(bank.ids.len());
        }
        bank
    }

    /// Entry `i`: its hash and the caller's id (empty when the bank line had none).
    fn entry(&self, i: usize) -> (&PdqHash, &str) {
        let start = if i == 0 { 0 } else { self.id_ends[i - 1] };
        (&self.hashes[i], &self.ids[start..self.id_ends[i]])
    }
}

fn load_bank(path: &Path) -> anyhow::Result<Bank> {
    let text = std::fs::read_to_string(path).with_context(|| format!("{}: cannot read the bank", path.display()))?;
    let mut entries = Vec::new();
    for (n, line) in text.lines().enumerate() {
        // A bank that loads partly would miss matches without saying so: any bad line stops.
        match parse_line(line) {
            Ok(None) => {}
            Ok(Some((hash, id))) => entries.push((hash, id)),
            Err(e) => bail!("{}:{}: {e}", path.display(), n + 1),
        }
    }
    Ok(Bank::new(entries))
}

/// The on-disk bank: `TOCSINBK`, version `u32` (2), entry count `u64`; the hashes (32 bytes
/// each, hex order); the ends of the ids (`u64` each); the ids one after another (UTF-8); then
/// the index (`tocsin_index` format).
const BANK_MAGIC: &[u8; 8] = b"TOCSINBK";
const BANK_VERSION: u32 = 2;

impl Bank {
    fn write_to(&self, w: &mut impl Write) -> io::Result<()> {
        w.write_all(BANK_MAGIC)?;
        w.write_all(&BANK_VERSION.to_le_bytes())?;
        w.write_all(&(self.hashes.len() as u64).to_le_bytes())?;
        for hash in &self.hashes {
            w.write_all(&hash.to_be_bytes())?;
        }
        for end in &self.id_ends {
            w.write_all(&(*end as u64).to_le_bytes())?;
        }
        w.write_all(self.ids.as_bytes())?;
        self.index.write_to(w)
    }

    fn read_from(r: &mut impl Read) -> anyhow::Result<Self> {
        let mut head = [0u8; 20];
        r.read_exact(&mut head).map_err(|_| anyhow::anyhow!("not a bank index built by `tocsin index build`"))?;
        if &head[..8] != BANK_MAGIC {
            bail!("not a bank index built by `tocsin index build`");
        }
        let version = u32::from_le_bytes(head[8..12].try_into().expect("4 bytes"));
        if version != BANK_VERSION {
            bail!("bank index version {version}, this build reads version {BANK_VERSION}: build it again with `tocsin index build`");
        }
        let count = usize::try_from(u64::from_le_bytes(head[12..20].try_into().expect("8 bytes"))).context("entry count")?;
        let short = |e: io::Error| anyhow::anyhow!("the file ends too early ({e})");
        // Read in bounded pieces: a damaged count must not make us allocate terabytes up front.
        let mut read_exact_vec = |len: usize| -> anyhow::Result<Vec<u8>> {
            let mut out = Vec::new();
            let got = r.by_ref().take(len as u64).read_to_end(&mut out).map_err(short)?;
            if got != len {
                bail!("the file ends too early");
            }
            Ok(out)
        };
        let raw = read_exact_vec(count.checked_mul(32).context("entry count")?)?;
        let hashes: Vec<PdqHash> = raw.chunks_exact(32).map(|c| PdqHash::from_be_bytes(c.try_into().expect("32 bytes"))).collect();
        drop(raw);
        let raw = read_exact_vec(count.checked_mul(8).context("entry count")?)?;
        let id_ends: Vec<usize> = raw.chunks_exact(8).map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")) as usize).collect();
        drop(raw);
        if id_ends.windows(2).any(|w| w[0] > w[1]) {
            bail!("the file is damaged: id ends out of order");
        }
        let ids =
            String::from_utf8(read_exact_vec(id_ends.last().copied().unwrap_or(0))?).map_err(|_| anyhow::anyhow!("an id is not UTF-8"))?;
        if id_ends.iter().any(|&end| !ids.is_char_boundary(end)) {
            bail!("the file is damaged: an id ends inside a character");
        }
        let index = Index::read_from(r)?;
        if index.len() != count {
            bail!("the index and the bank entries disagree");
        }
        Ok(Self { index, hashes, ids, id_ends })
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
    let written = std::fs::File::create(&tmp).and_then(|f| {
        let mut w = io::BufWriter::new(f);
        bank.write_to(&mut w)?;
        w.into_inner().map_err(io::IntoInnerError::into_error)?.sync_all()
    });
    written.with_context(|| format!("writing {}", args.output.display()))?;
    std::fs::rename(&tmp, &args.output).with_context(|| format!("writing {}", args.output.display()))?;
    eprintln!("tocsin: indexed {} hash(es) into {}", bank.hashes.len(), args.output.display());
    Ok(ExitCode::SUCCESS)
}

/// Runs the command: exit 0 when every query line was read, 1 when some were bad.
pub fn run(args: MatchArgs) -> anyhow::Result<ExitCode> {
    let bank = match (&args.bank, &args.index) {
        (Some(path), _) => load_bank(path)?,
        (None, Some(path)) => {
            let file = std::fs::File::open(path).with_context(|| format!("{}: cannot open the index", path.display()))?;
            Bank::read_from(&mut io::BufReader::with_capacity(1 << 20, file)).with_context(|| format!("{}", path.display()))?
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
        let found: Vec<Vec<Match>> =
            pool.install(|| batch.par_iter().map(|query| bank.index.search(&query.words(), args.max_distance)).collect());
        for (query, matches) in batch.iter().zip(found) {
            for m in matches {
                // Index ids are entry numbers, so the lookup cannot miss.
                let (bank_hash, bank_id) = bank.entry(m.id as usize);
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
