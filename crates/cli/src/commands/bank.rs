//! `tocsin bank`: make and list a node's hash banks, import signals from the files hash-sharing
//! programmes publish, and export a bank, through a running node.
//!
//! Import formats (`--format`):
//! - `lines`: `TYPE:VALUE` a line (`pdq`, `sha256`, `md5`, `url`), or a bare 64-hex-digit PDQ
//!   hash; blank lines and lines starting with `#` are skipped.
//! - `csv`: a header row naming a type column (`signal_type` or `type`), a value column
//!   (`signal_value`, `signal`, `value` or `hash`) and optionally `tags` (separated by spaces or
//!   `;`), as python-threatexchange and HMA lay out signal lists; RFC 4180 quoting.
//! - `tat`: Tech Against Terrorism hash-list records, a JSON array or one object a line, with
//!   `hash_digest`, `algorithm`, `ideology`, `file_type` and `deleted` (deleted records are
//!   counted and left out).
//! - `jsonl`: Tocsin's own, what `tocsin bank export` writes: one object a line with `type`,
//!   `value`, `labels`, `state` and `provenance`.
//! - `vpdq`: one video's vPDQ features, the whole file one signal: Meta's C++ hash file
//!   (`frame,quality,hex,seconds` lines, what `tocsin hash --format vpdq` writes) or
//!   python-threatexchange's JSON list of `"hex,quality,seconds"`.
//!
//! CSV exports write a `vpdq` value in python-threatexchange's form (its JSON list), as HMA's
//! signal files carry it.

use std::io::{self, BufRead, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, Subcommand, ValueEnum};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tocsin_model::{Labels, Signal, SignalType};

use super::client::ServerArgs;
use super::progress::Progress;

/// Signals sent to the node a request at a time.
const BATCH: usize = 5_000;

/// `tocsin bank ...`.
#[derive(Debug, Subcommand)]
pub enum BankCommand {
    /// Make a bank (admin).
    Create(CreateArgs),
    /// List the node's banks with their counts.
    List(ListArgs),
    /// Add the signals of a file to a bank, with a progress bar; bad rows are reported by line.
    Import(ImportArgs),
    /// Write a bank's signals (all states) to standard output or a file.
    Export(ExportArgs),
    /// Mark a signal disputed (a false positive: matches then go to review), withdrawn, or active.
    State(StateArgs),
}

/// Arguments of `tocsin bank create`.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// 1 to 64 lower-case letters, digits, `-`, `_` or `.`.
    name: String,
    /// What a match calls for: block, review or report.
    #[arg(long, default_value = "review")]
    action: String,
    /// What the bank holds.
    #[arg(long, default_value = "")]
    description: String,
    /// PDQ matches within this many bits count.
    #[arg(long, value_name = "BITS", default_value_t = tocsin_model::DEFAULT_PDQ_THRESHOLD)]
    pdq_threshold: u32,
    #[command(flatten)]
    server: ServerArgs,
}

/// Arguments of `tocsin bank list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    server: ServerArgs,
}

/// File formats of import and export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// `TYPE:VALUE` (or a bare PDQ hash) a line.
    Lines,
    /// Header row, then type, value and tags columns.
    Csv,
    /// Tech Against Terrorism hash-list records (import only).
    Tat,
    /// Tocsin's own JSON lines, with labels, state and provenance.
    Jsonl,
    /// One video's vPDQ features, the whole file one signal (import only).
    Vpdq,
}

/// Arguments of `tocsin bank import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The bank.
    name: String,
    /// The file, or `-` for standard input.
    file: PathBuf,
    /// The file's format.
    #[arg(long, value_enum, default_value = "lines")]
    format: Format,
    /// Stop at the first bad row (nothing is imported); otherwise the rest is imported and the
    /// bad rows are counted.
    #[arg(long)]
    strict: bool,
    #[command(flatten)]
    server: ServerArgs,
}

/// Arguments of `tocsin bank export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The bank.
    name: String,
    /// The format.
    #[arg(long, value_enum, default_value = "jsonl")]
    format: Format,
    /// Write here instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    #[command(flatten)]
    server: ServerArgs,
}

/// Arguments of `tocsin bank state`.
#[derive(Debug, Args)]
pub struct StateArgs {
    /// The bank.
    name: String,
    /// The signal's number (from `export` or a match).
    num: i64,
    /// active, disputed or withdrawn.
    state: String,
    /// Why (kept in the log).
    #[arg(long)]
    reason: String,
    #[command(flatten)]
    server: ServerArgs,
}

/// Runs a `tocsin bank` command.
pub fn run(command: BankCommand) -> anyhow::Result<ExitCode> {
    let mut out = io::stdout().lock();
    match command {
        BankCommand::Create(args) => {
            let body =
                json!({"name": args.name, "action": args.action, "description": args.description, "pdq_threshold": args.pdq_threshold});
            let bank: Value = args.server.post("/v1/banks", &body)?;
            writeln!(out, "{}", bank["name"].as_str().unwrap_or_default())?;
        }
        BankCommand::List(args) => {
            let banks: Vec<Value> = args.server.get("/v1/banks")?;
            for b in banks {
                let s = |k: &str| b[k].as_str().unwrap_or_default().to_owned();
                writeln!(
                    out,
                    "{}\t{}\tpdq<={}\t{} active\t{} disputed\t{} withdrawn\t{}",
                    s("name"),
                    s("action"),
                    b["pdq_threshold"],
                    b["active"],
                    b["disputed"],
                    b["withdrawn"],
                    s("description")
                )?;
            }
        }
        BankCommand::Import(args) => return import(args, &mut out),
        BankCommand::Export(args) => {
            drop(out);
            export(args)?;
        }
        BankCommand::State(args) => {
            let path = format!("/v1/banks/{}/signals/{}/state", args.name, args.num);
            let changed: Value = args.server.post(&path, &json!({"state": args.state, "reason": args.reason}))?;
            writeln!(
                out,
                "{}\t{}\t{}:{}",
                changed["num"],
                changed["state"].as_str().unwrap_or_default(),
                changed["type"].as_str().unwrap_or_default(),
                changed["value"].as_str().unwrap_or_default()
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// One row to import, as the API takes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Row {
    #[serde(rename = "type")]
    kind: String,
    value: String,
    #[serde(default, skip_serializing_if = "is_default")]
    labels: Labels,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    provenance: Option<Value>,
}

fn is_default(labels: &Labels) -> bool {
    *labels == Labels::default()
}

impl Row {
    fn new(signal: &Signal, labels: Labels) -> Self {
        Self { kind: signal.kind().as_str().to_owned(), value: signal.value().to_owned(), labels, state: None, provenance: None }
    }
}

/// What one line of a file gave.
#[derive(Debug, PartialEq)]
pub enum Parsed {
    /// Nothing to import (blank, a comment, a header, a deleted record).
    Skip,
    /// A record the source marks deleted.
    Deleted,
    /// A row.
    Row(Box<Row>),
}

/// Reads files of one format a line at a time (the CSV header fixes the columns).
#[derive(Debug)]
pub struct Reader {
    format: Format,
    columns: Option<CsvColumns>,
}

#[derive(Debug, Clone, Copy)]
struct CsvColumns {
    kind: usize,
    value: usize,
    tags: Option<usize>,
}

impl Reader {
    /// A reader of `format`.
    pub fn new(format: Format) -> Self {
        Self { format, columns: None }
    }

    /// Parses one line (without its end).
    pub fn line(&mut self, line: &str) -> Result<Parsed, String> {
        let trimmed = line.trim();
        if trimmed.is_empty() || (self.format == Format::Lines && trimmed.starts_with('#')) {
            return Ok(Parsed::Skip);
        }
        match self.format {
            Format::Lines => {
                let signal = Signal::parse_line(trimmed).map_err(|e| e.to_string())?;
                Ok(Parsed::Row(Box::new(Row::new(&signal, Labels::default()))))
            }
            Format::Csv => self.csv(line),
            Format::Tat => {
                // A JSON array spread one record a line: drop the brackets and commas around them.
                let record = trimmed.trim_start_matches('[').trim_end_matches(']').trim().trim_end_matches(',');
                if record.is_empty() {
                    return Ok(Parsed::Skip);
                }
                tat(record)
            }
            // `import` reads a vPDQ file whole, never a line at a time.
            Format::Vpdq => Err("a vPDQ file is one signal, read whole".to_owned()),
            Format::Jsonl => {
                let row: Row = serde_json::from_str(trimmed).map_err(|e| format!("not a Tocsin signal record: {e}"))?;
                let kind: SignalType = row.kind.parse().map_err(|e: tocsin_model::BankError| e.to_string())?;
                let signal = Signal::new(kind, &row.value).map_err(|e| e.to_string())?;
                let labels = row.labels.clone().checked().map_err(|e| e.to_string())?;
                Ok(Parsed::Row(Box::new(Row { kind: signal.kind().as_str().to_owned(), value: signal.value().to_owned(), labels, ..row })))
            }
        }
    }

    fn csv(&mut self, line: &str) -> Result<Parsed, String> {
        let fields = csv_fields(line)?;
        let Some(columns) = self.columns else {
            let find = |names: &[&str]| fields.iter().position(|f| names.contains(&f.trim().to_ascii_lowercase().as_str()));
            let kind = find(&["signal_type", "type"]).ok_or("the header names no type column (signal_type or type)")?;
            let value = find(&["signal_value", "signal", "value", "hash"])
                .ok_or("the header names no value column (signal_value, signal, value or hash)")?;
            self.columns = Some(CsvColumns { kind, value, tags: find(&["tags"]) });
            return Ok(Parsed::Skip);
        };
        let field = |i: usize| fields.get(i).map(|f| f.trim()).ok_or(format!("{} fields, the header has more", fields.len()));
        let kind: SignalType = field(columns.kind)?.parse().map_err(|e: tocsin_model::BankError| e.to_string())?;
        let signal = Signal::new(kind, field(columns.value)?).map_err(|e| e.to_string())?;
        let tags = match columns.tags {
            Some(i) => field(i).unwrap_or("").split([' ', ';']).filter(|t| !t.is_empty()).map(str::to_owned).collect(),
            None => Vec::new(),
        };
        let labels = Labels { tags, ..Labels::default() }.checked().map_err(|e| e.to_string())?;
        Ok(Parsed::Row(Box::new(Row::new(&signal, labels))))
    }
}

/// One Tech Against Terrorism hash-list record.
fn tat(record: &str) -> Result<Parsed, String> {
    #[derive(Deserialize)]
    struct Tat {
        hash_digest: String,
        algorithm: String,
        #[serde(default)]
        ideology: Option<String>,
        #[serde(default)]
        file_type: Option<String>,
        #[serde(default)]
        deleted: bool,
    }
    let r: Tat = serde_json::from_str(record).map_err(|e| format!("not a TAT hash record: {e}"))?;
    if r.deleted {
        return Ok(Parsed::Deleted);
    }
    let kind: SignalType = r.algorithm.parse().map_err(|e: tocsin_model::BankError| e.to_string())?;
    let signal = Signal::new(kind, &r.hash_digest).map_err(|e| e.to_string())?;
    let blank_to_none = |v: Option<String>| v.filter(|v| !v.trim().is_empty());
    let labels = Labels { content_type: blank_to_none(r.file_type), entity: blank_to_none(r.ideology), ..Labels::default() }
        .checked()
        .map_err(|e| e.to_string())?;
    Ok(Parsed::Row(Box::new(Row::new(&signal, labels))))
}

/// The fields of one CSV line (RFC 4180 quoting; no line breaks inside fields).
fn csv_fields(line: &str) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        let mut field = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    Some('"') => break,
                    Some(c) => field.push(c),
                    None => return Err("a quoted field is not closed".to_owned()),
                }
            }
            match chars.next() {
                None => {
                    fields.push(field);
                    return Ok(fields);
                }
                Some(',') => {}
                Some(c) => return Err(format!("{c:?} after a closing quote")),
            }
        } else {
            loop {
                match chars.next() {
                    None => {
                        fields.push(field);
                        return Ok(fields);
                    }
                    Some(',') => break,
                    Some(c) => field.push(c),
                }
            }
        }
        fields.push(field);
    }
}

/// The most bytes of a vPDQ file read (20,000 frames of C++ lines).
const MAX_VPDQ_FILE: u64 = 4 << 20;

/// `--format vpdq`: the file is one video's features, checked and sent as one signal.
fn import_video(args: &ImportArgs, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    let name = if args.file.as_os_str() == "-" { "standard input".to_owned() } else { args.file.display().to_string() };
    let mut text = String::new();
    let reader: Box<dyn Read> = if args.file.as_os_str() == "-" {
        Box::new(io::stdin().lock())
    } else {
        Box::new(std::fs::File::open(&args.file).with_context(|| format!("reading {name}"))?)
    };
    reader.take(MAX_VPDQ_FILE + 1).read_to_string(&mut text).with_context(|| format!("reading {name}"))?;
    if text.len() as u64 > MAX_VPDQ_FILE {
        bail!("{name}: larger than {MAX_VPDQ_FILE} bytes; a vPDQ signal holds at most {} frames", tocsin_model::MAX_VPDQ_FRAMES);
    }
    let signal = Signal::new(SignalType::Vpdq, &text).map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
    let detail = args.file.file_name().map_or_else(|| name.clone(), |f| f.to_string_lossy().into_owned());
    let body = json!({"signals": [{"type": "vpdq", "value": signal.value()}], "source": "import", "detail": detail});
    let answer: Value = args.server.post(&format!("/v1/banks/{}/signals", args.name), &body)?;
    let frames = signal.value().split(';').count();
    let outcome = if answer["added"].as_u64() == Some(1) { "added" } else { "already in the bank" };
    writeln!(out, "1 video of {frames} frames: {outcome}")?;
    Ok(ExitCode::SUCCESS)
}

fn import(args: ImportArgs, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    if args.format == Format::Vpdq {
        return import_video(&args, out);
    }
    let stdin = args.file.as_os_str() == "-";
    let name = if stdin { "standard input".to_owned() } else { args.file.display().to_string() };
    // Standard input can be read once, so it is kept; a file is read twice instead, so that a
    // large one never sits in memory whole.
    let mut kept = String::new();
    if stdin {
        io::stdin().lock().read_to_string(&mut kept).context("reading standard input")?;
    }
    let lines = || -> anyhow::Result<Box<dyn Iterator<Item = io::Result<String>> + '_>> {
        if stdin {
            Ok(Box::new(kept.lines().map(|l| Ok(l.to_owned()))))
        } else {
            let file = std::fs::File::open(&args.file).with_context(|| format!("reading {name}"))?;
            Ok(Box::new(io::BufReader::new(file).lines()))
        }
    };
    // First pass: every line is checked before anything is sent, so `--strict` imports nothing
    // from a file with a bad row, and the progress bar knows the total.
    let mut reader = Reader::new(args.format);
    let (mut rows, mut bad, mut deleted) = (0u64, 0u64, 0u64);
    for (n, line) in lines()?.enumerate() {
        let line = line.with_context(|| format!("reading {name}"))?;
        match reader.line(&line) {
            Ok(Parsed::Row(_)) => rows += 1,
            Ok(Parsed::Skip) => {}
            Ok(Parsed::Deleted) => deleted += 1,
            Err(e) if args.strict => bail!("{name}:{}: {e} (nothing imported: --strict)", n + 1),
            Err(e) => {
                bad += 1;
                eprintln!("tocsin: {name}:{}: {e}", n + 1);
            }
        }
    }
    // Second pass: the good rows, a batch at a time.
    let detail = args.file.file_name().map_or_else(|| name.clone(), |f| f.to_string_lossy().into_owned());
    let mut progress = Progress::new(rows as usize, "rows").with_lines_when_piped();
    let (mut added, mut known) = (0u64, 0u64);
    let mut send = |batch: &mut Vec<Row>| -> anyhow::Result<()> {
        let body = json!({"signals": batch, "source": "import", "detail": detail});
        let answer: Value = args.server.post(&format!("/v1/banks/{}/signals", args.name), &body)?;
        added += answer["added"].as_u64().unwrap_or(0);
        known += answer["known"].as_u64().unwrap_or(0);
        progress.inc(batch.len() as u64);
        batch.clear();
        Ok(())
    };
    let mut reader = Reader::new(args.format);
    let mut batch = Vec::with_capacity(BATCH);
    for line in lines()? {
        let line = line.with_context(|| format!("reading {name}"))?;
        if let Ok(Parsed::Row(row)) = reader.line(&line) {
            batch.push(*row);
            if batch.len() == BATCH {
                send(&mut batch)?;
            }
        }
    }
    if !batch.is_empty() {
        send(&mut batch)?;
    }
    progress.finish();
    let read = rows + bad + deleted;
    writeln!(out, "{read} rows read: {added} added, {known} already in the bank, {deleted} deleted records left out, {bad} bad rows")?;
    Ok(if bad > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

fn export(args: ExportArgs) -> anyhow::Result<()> {
    if matches!(args.format, Format::Tat | Format::Vpdq) {
        bail!("export writes lines, csv or jsonl");
    }
    let mut out: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(io::BufWriter::new(std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?)),
        None => Box::new(io::BufWriter::new(io::stdout().lock())),
    };
    if args.format == Format::Csv {
        writeln!(out, "signal_type,signal_value,tags")?;
    }
    let mut after = 0u64;
    loop {
        let page: Vec<Value> = args.server.get(&format!("/v1/banks/{}/signals?after={after}&limit=10000", args.name))?;
        let Some(last) = page.last() else { break };
        after = last["seq"].as_u64().context("a signal without its change number")?;
        for s in &page {
            let (kind, value) = (s["type"].as_str().unwrap_or_default(), s["value"].as_str().unwrap_or_default());
            match args.format {
                Format::Lines => writeln!(out, "{kind}:{value}")?,
                Format::Csv => {
                    let tags: Vec<&str> =
                        s["labels"]["tags"].as_array().map(|t| t.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
                    // python-threatexchange's spelling of a video's features.
                    let value = match kind {
                        "vpdq" => tocsin_model::VpdqFeatures::parse(value).map(|f| f.to_pytx()).unwrap_or_else(|_| value.to_owned()),
                        _ => value.to_owned(),
                    };
                    writeln!(out, "{kind},{},\"{}\"", csv_quote(&value), tags.join(" ").replace('"', "\"\""))?;
                }
                Format::Jsonl | Format::Tat | Format::Vpdq => {
                    let row =
                        json!({"type": kind, "value": value, "labels": s["labels"], "state": s["state"], "provenance": s["provenance"]});
                    writeln!(out, "{row}")?;
                }
            }
        }
    }
    out.flush()?;
    Ok(())
}

/// A CSV field, quoted when it must be (URLs may hold commas).
fn csv_quote(field: &str) -> String {
    if field.contains([',', '"']) { format!("\"{}\"", field.replace('"', "\"\"")) } else { field.to_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(r: Result<Parsed, String>) -> Row {
        match r {
            Ok(Parsed::Row(row)) => *row,
            other => panic!("expected a row, got {other:?}"),
        }
    }

    #[test]
    fn csv_fields_follow_rfc_4180_quoting() {
        assert_eq!(csv_fields("a,\"b,c\",\"d\"\"e\",").expect("valid"), ["a", "b,c", "d\"e", ""]);
        assert!(csv_fields("\"open").is_err());
        assert!(csv_fields("\"a\"b").is_err());
    }

    #[test]
    fn csv_files_need_a_header_naming_type_and_value() {
        let mut r = Reader::new(Format::Csv);
        assert_eq!(r.line("signal_type,signal_value,tags"), Ok(Parsed::Skip));
        let got = row(r.line(&format!("pdq,{},\"b a;a\"", "F".repeat(64))));
        assert_eq!((got.kind.as_str(), got.value), ("pdq", "f".repeat(64)));
        assert_eq!(got.labels.tags, ["a", "b"]);
        assert!(r.line("md5,123,").expect_err("bad md5").contains("32 hex digits"));
        assert!(Reader::new(Format::Csv).line("a,b").expect_err("no header").contains("type column"));
    }

    #[test]
    fn tat_records_become_labelled_signals_and_deleted_ones_are_left_out() {
        let mut r = Reader::new(Format::Tat);
        assert_eq!(r.line("["), Ok(Parsed::Skip));
        let got = row(r.line(&format!(
            r#"{{"hash_digest": "{}", "algorithm": "SHA256", "ideology": "X", "file_type": "pdf", "deleted": false}},"#,
            "a".repeat(64)
        )));
        assert_eq!(
            (got.kind.as_str(), got.labels.entity.as_deref(), got.labels.content_type.as_deref()),
            ("sha256", Some("X"), Some("pdf"))
        );
        let deleted = format!(r#"{{"hash_digest": "{}", "algorithm": "MD5", "deleted": true}}"#, "b".repeat(32));
        assert_eq!(r.line(&deleted), Ok(Parsed::Deleted));
        assert!(r.line(r#"{"hash_digest": "00", "algorithm": "whirlpool"}"#).is_err());
    }

    #[test]
    fn tocsin_records_keep_labels_state_and_provenance() {
        let line = format!(
            r#"{{"type":"pdq","value":"{}","labels":{{"tags":["x"]}},"state":"disputed","provenance":{{"source":"order","reference":"01J","detail":"u"}}}}"#,
            "A".repeat(64)
        );
        let got = row(Reader::new(Format::Jsonl).line(&line));
        assert_eq!(got.value, "a".repeat(64));
        assert_eq!(got.state.as_deref(), Some("disputed"));
        assert_eq!(got.provenance.expect("kept")["reference"], "01J");
        assert!(Reader::new(Format::Jsonl).line(r#"{"type":"pdq","value":"ab","colour":1}"#).is_err());
    }

    #[test]
    fn plain_lines_skip_comments_and_read_bare_pdq_hashes() {
        let mut r = Reader::new(Format::Lines);
        assert_eq!(r.line("# known"), Ok(Parsed::Skip));
        assert_eq!(row(r.line(&"0".repeat(64))).kind, "pdq");
        assert_eq!(row(r.line("url:https://Example.com/x")).value, "https://example.com/x");
        assert!(r.line("sha256:xyz").is_err());
    }
}
