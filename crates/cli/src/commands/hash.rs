//! `tocsin hash`: PDQ hashes of image files and vPDQ features of videos, files and folders, in
//! parallel, in a stable order; videos are told from images by their first bytes.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, mpsc};

use anyhow::Context;
use clap::{Args, ValueEnum};
use rayon::prelude::*;

use super::progress::Progress;
use serde::Serialize;
use tocsin_hash::pdq::{Dihedral, Hasher, Resize};
use tocsin_hash::{DecodeOptions, HashOptions, ImageHash, decode};

/// Files larger than this are refused unread: no supported image needs more, and reading a
/// multi-gigabyte stray file into memory would stall the run.
const MAX_FILE_BYTES: u64 = 1 << 30;

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// `<hash>\t<quality>\t<path>`; with --dihedral, eight lines per file with the variant name
    /// as a fourth column; for a video, a line per hashed frame with its time in seconds as a
    /// fourth column.
    Tsv,
    /// One JSON object per line: path, hash, quality, width, height, format and, with
    /// --dihedral, the eight variants; for a video, path, format `vpdq` and its features.
    Json,
    /// For one video: its vPDQ features in the file format of Meta's reference tool, one line
    /// per hashed frame, `frame_number,quality,pdq_hex,timestamp` (seconds, 3 decimals).
    Vpdq,
}

/// Arguments of `tocsin hash`.
#[derive(Debug, Args)]
pub struct HashArgs {
    /// Image and video files, and folders to walk recursively (every file below them is tried).
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Tsv)]
    format: OutputFormat,

    /// Also compute the hashes of the seven rotations and mirrors of each image.
    #[arg(long)]
    dihedral: bool,

    /// Worker threads [default: one per core].
    #[arg(long, short = 'j', value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    jobs: Option<u16>,

    /// Rotate images as their EXIF orientation says before hashing. Off by default: the
    /// reference hashes stored pixels, and partners' hashes will only match without it.
    #[arg(long)]
    exif_orientation: bool,

    /// Shrink images larger than 512 on a side to 512x512 first, as Meta's C++ command-line
    /// hasher does (faster; its hashes differ from full-size ones by a few bits).
    #[arg(long = "resize-512")]
    resize_512: bool,

    /// Refuse images with more pixels than this (decompression bombs).
    #[arg(long, value_name = "PIXELS", default_value_t = decode::DEFAULT_MAX_PIXELS)]
    max_pixels: u64,

    /// For videos: hash one frame every this many seconds; 0 hashes every frame (as
    /// banked videos should be). The default is Meta's Python library's.
    #[arg(long, value_name = "SECONDS", default_value_t = 1.0)]
    seconds_per_hash: f64,

    /// With --format vpdq: scale every frame to SIDE x SIDE (Lanczos) before hashing, as Meta's
    /// `vpdq-hash-video -s` (faster on large frames; within Meta's tolerance of full size).
    #[arg(long, value_name = "SIDE")]
    downscale: Option<usize>,
}

/// One line of JSON output.
#[derive(Serialize)]
struct JsonRecord<'a> {
    path: &'a str,
    hash: String,
    quality: u8,
    width: u32,
    height: u32,
    format: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    dihedral: Option<BTreeMap<&'static str, String>>,
}

/// Runs the command; the exit code is 0 when every file hashed, 1 when some failed.
pub fn run(args: HashArgs) -> anyhow::Result<ExitCode> {
    if args.format == OutputFormat::Vpdq {
        return vpdq(&args);
    }
    let mut failures = 0usize;
    let mut files = Vec::new();
    for path in &args.paths {
        collect(path, &mut files, &mut |p, e| {
            failures += 1;
            eprintln!("tocsin: {}: {e}", p.display());
        });
    }

    let jobs = args.jobs.map_or_else(|| std::thread::available_parallelism().map_or(1, usize::from), usize::from);
    let pool = rayon::ThreadPoolBuilder::new().num_threads(jobs).build().context("starting worker threads")?;
    let decode = DecodeOptions { apply_exif_orientation: args.exif_orientation, max_pixels: args.max_pixels };
    let resize = if args.resize_512 { Resize::CppCli512 } else { Resize::FullSize };
    let options = HashOptions { dihedral: args.dihedral, resize };

    let unreadable_paths = failures;
    let total = files.len();
    let (tx, rx) = mpsc::sync_channel::<(usize, Result<Hashed, String>)>(jobs * 4);
    let seconds_per_hash = args.seconds_per_hash;
    // Shared with the worker thread rather than copied: a folder can hold millions of paths.
    let files: Arc<[PathBuf]> = files.into();
    let worker_files = Arc::clone(&files);
    let workers = std::thread::spawn(move || {
        pool.install(|| {
            worker_files.par_iter().enumerate().for_each_init(
                || (Hasher::new(), tx.clone()),
                |(hasher, tx), (index, path)| {
                    let result = hash_file(hasher, path, &decode, &options, seconds_per_hash);
                    // The receiver only goes away when output failed; then nothing more matters.
                    let _ = tx.send((index, result));
                },
            );
        });
    });

    let mut progress = Progress::new(total, "images");
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let mut pending = BTreeMap::new();
    let mut next = 0usize;
    let mut output_closed = false;
    for (index, result) in rx.iter() {
        pending.insert(index, result);
        // Results arrive in any order; print them in the order the files were named.
        while let Some(result) = pending.remove(&next) {
            let path = &files[next];
            next += 1;
            progress.tick();
            match result {
                Ok(hashed) => {
                    let written = match &hashed {
                        Hashed::Image(hash) => write_record(&mut out, args.format, path, hash),
                        Hashed::Video(features) => write_video(&mut out, args.format, path, features),
                    };
                    if let Err(e) = written {
                        if e.kind() == io::ErrorKind::BrokenPipe {
                            output_closed = true;
                            break;
                        }
                        return Err(e).context("writing output");
                    }
                }
                Err(message) => {
                    failures += 1;
                    progress.suspend(|| eprintln!("tocsin: {}: {message}", path.display()));
                }
            }
        }
        if output_closed {
            break;
        }
        // Flush as work completes so a pipeline downstream sees results while the run goes on.
        if pending.is_empty() && out.flush().is_err() {
            output_closed = true;
            break;
        }
    }
    drop(rx);
    progress.finish();
    if output_closed {
        // A closed pipe (`tocsin hash dir | head`) is the reader's choice, not a failure.
        return Ok(ExitCode::SUCCESS);
    }
    workers.join().map_err(|_| anyhow::anyhow!("a worker thread panicked"))?;
    match out.flush() {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(ExitCode::SUCCESS),
        other => other.context("writing output")?,
    }
    if failures > 0 {
        eprintln!("tocsin: {failures} of {} path(s) could not be hashed", total + unreadable_paths);
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

/// Appends `path` if it is a file, or every file below it if it is a folder, in name order, as
/// `find PATH -type f` would list them (symbolic links to files are followed too).
fn collect(path: &Path, files: &mut Vec<PathBuf>, report: &mut dyn FnMut(&Path, String)) {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) => return report(path, io_message(&e)),
    };
    if !meta.is_dir() {
        files.push(path.to_path_buf());
        return;
    }
    let entries = match std::fs::read_dir(path) {
        Ok(rd) => rd,
        Err(e) => return report(path, io_message(&e)),
    };
    let mut children: Vec<(PathBuf, bool)> = Vec::new();
    for entry in entries {
        match entry {
            Ok(entry) => {
                let Ok(kind) = entry.file_type() else { continue };
                let path = entry.path();
                // Regular files, and links to them; not links to folders (a loop could trap the
                // walk), nor sockets, pipes or devices (reading a pipe could block forever).
                if kind.is_dir() {
                    children.push((path, true));
                } else if kind.is_file() || (kind.is_symlink() && path.is_file()) {
                    children.push((path, false));
                }
            }
            Err(e) => report(path, io_message(&e)),
        }
    }
    children.sort();
    for (child, is_dir) in children {
        if is_dir {
            collect(&child, files, report);
        } else {
            files.push(child);
        }
    }
}

fn io_message(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::NotFound => "no such file or folder".to_owned(),
        io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        _ => e.to_string(),
    }
}

/// What one file gave.
enum Hashed {
    Image(Box<ImageHash>),
    /// A video's features, in frame order.
    Video(Vec<tocsin_hash::video::Feature>),
}

fn hash_file(
    hasher: &mut Hasher,
    path: &Path,
    decode: &DecodeOptions,
    options: &HashOptions,
    seconds_per_hash: f64,
) -> Result<Hashed, String> {
    use std::io::Read;
    let mut head = Vec::with_capacity(256);
    std::fs::File::open(path).and_then(|f| f.take(256).read_to_end(&mut head)).map_err(|e| io_message(&e))?;
    if tocsin_media::looks_like_video(&head) {
        // A video is read by the decoder from its file, a frame at a time, on this worker's
        // thread (the pool hashes several files at once).
        let limits = tocsin_media::Limits { threads: 1, ..tocsin_media::Limits::default() };
        let mut features = Vec::new();
        tocsin_media::hash(tocsin_media::Input::Path(path), seconds_per_hash, &limits, |f| {
            features.push(*f);
            Ok(())
        })
        .map_err(|e| e.to_string())?;
        return Ok(Hashed::Video(features));
    }
    let len = std::fs::metadata(path).map_err(|e| io_message(&e))?.len();
    if len > MAX_FILE_BYTES {
        return Err(format!("file of {len} bytes is larger than the 1 GiB limit"));
    }
    let bytes = std::fs::read(path).map_err(|e| io_message(&e))?;
    tocsin_hash::hash_bytes(hasher, &bytes, decode, options).map(|h| Hashed::Image(Box::new(h))).map_err(|e| e.to_string())
}

/// One JSON line for a video.
#[derive(Serialize)]
struct VideoRecord<'a> {
    path: &'a str,
    format: &'static str,
    features: Vec<FeatureRecord>,
}

/// One hashed frame of a video, in JSON.
#[derive(Serialize)]
struct FeatureRecord {
    frame: u64,
    quality: u8,
    hash: String,
    timestamp: f64,
}

fn write_video(out: &mut impl Write, format: OutputFormat, path: &Path, features: &[tocsin_hash::video::Feature]) -> io::Result<()> {
    match format {
        OutputFormat::Json => {
            let shown = path.to_string_lossy();
            let features = features
                .iter()
                .map(|f| FeatureRecord {
                    frame: f.frame,
                    quality: f.quality.get(),
                    hash: f.hash.to_string(),
                    timestamp: (f.timestamp * 1000.0).round() / 1000.0,
                })
                .collect();
            serde_json::to_writer(&mut *out, &VideoRecord { path: &shown, format: "vpdq", features }).map_err(io::Error::other)?;
            writeln!(out)
        }
        _ => {
            for f in features {
                write!(out, "{}\t{}\t", f.hash, f.quality.get())?;
                out.write_all(&path_bytes(path))?;
                writeln!(out, "\t{:.3}", f.timestamp)?;
            }
            Ok(())
        }
    }
}

/// The path's bytes as the file system has them, so TSV output names the very file even when
/// its name is not UTF-8 (as `find` prints it).
fn path_bytes(path: &Path) -> std::borrow::Cow<'_, [u8]> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        std::borrow::Cow::Borrowed(path.as_os_str().as_bytes())
    }
    #[cfg(not(unix))]
    {
        std::borrow::Cow::Owned(path.to_string_lossy().into_owned().into_bytes())
    }
}

fn write_record(out: &mut impl Write, format: OutputFormat, path: &Path, hash: &ImageHash) -> io::Result<()> {
    let quality = hash.pdq.quality.get();
    match (format, &hash.dihedral) {
        (OutputFormat::Tsv, None) => {
            write!(out, "{}\t{quality}\t", hash.pdq.hash)?;
            out.write_all(&path_bytes(path))?;
            writeln!(out)
        }
        (OutputFormat::Tsv, Some(d)) => {
            for which in Dihedral::ALL {
                write!(out, "{}\t{quality}\t", d.get(which))?;
                out.write_all(&path_bytes(path))?;
                writeln!(out, "\t{}", which.name())?;
            }
            Ok(())
        }
        (OutputFormat::Json, dihedral) => {
            // JSON strings cannot hold arbitrary bytes: a name that is not UTF-8 is shown with
            // replacement characters here.
            let shown = path.to_string_lossy();
            let record = JsonRecord {
                path: &shown,
                hash: hash.pdq.hash.to_string(),
                quality,
                width: hash.width,
                height: hash.height,
                format: hash.format.name(),
                dihedral: dihedral.map(|d| Dihedral::ALL.iter().map(|w| (w.name(), d.get(*w).to_string())).collect()),
            };
            serde_json::to_writer(&mut *out, &record).map_err(io::Error::other)?;
            writeln!(out)
        }
        // `run` hands videos to `vpdq` before any image is read.
        (OutputFormat::Vpdq, _) => unreachable!("images are not written in the vPDQ format"),
    }
}

/// `tocsin hash --format vpdq VIDEO`: the reference tool's lines for one video.
fn vpdq(args: &HashArgs) -> anyhow::Result<ExitCode> {
    let [path] = args.paths.as_slice() else {
        anyhow::bail!("--format vpdq hashes one video at a time; {} paths were given", args.paths.len());
    };
    let mut out = io::BufWriter::new(io::stdout().lock());
    let limits = tocsin_media::Limits::default();
    let input = tocsin_media::Input::Path(path);
    let hashed = tocsin_media::hash_scaled(input, args.seconds_per_hash, args.downscale, &limits, |feature| {
        writeln!(out, "{}", feature.reference_line()).map_err(|e| tocsin_media::DecodeError::Stopped(format!("writing output: {e}")))
    });
    match hashed {
        Ok(_) => {
            out.flush().context("writing output")?;
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("tocsin: {}: {e:#}", path.display());
            Ok(ExitCode::from(1))
        }
    }
}
