//! `tocsin-media`: video to vPDQ features with the FFmpeg tools (Debian's `ffmpeg`, which
//! `scripts/test` installs). `ffprobe` reads the first video stream's size, average frame rate,
//! pixel format and duration; `ffmpeg` decodes every frame in decoder order (`-fps_mode
//! passthrough`: none dropped or repeated) to raw 4:2:0 planes on a pipe, which
//! `tocsin_hash::video` converts and hashes. The decoder runs in its own process, so a hostile
//! file that trips it costs that process, not the node; every run has a deadline, after which
//! it is killed.
//!
//! Content held in memory (an upload) reaches the tools through an anonymous memory file
//! (`memfd_create`) given as their standard input, which they open again by path and can seek
//! (an MP4 whose index is at the end needs that); nothing of it is written to a disk.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tocsin_hash::video::{Feature, FrameHasher, FrameRate, StreamInfo, VideoError, sampling_step};

/// Why a video gave no features.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// The content is not a video the tools can read, or decodes with errors.
    #[error("{0}")]
    Unreadable(String),
    /// The video is beyond a limit.
    #[error("{0}")]
    TooLarge(String),
    /// Decoding took longer than allowed.
    #[error("decoding took longer than {0} s")]
    TooSlow(u64),
    /// The FFmpeg tools are missing or failed to start (the node's fault, not the content's).
    #[error("the FFmpeg tools could not run: {0}")]
    Tools(String),
    /// The caller's handling of a feature failed (writing it out, say).
    #[error("{0}")]
    Stopped(String),
}

impl From<VideoError> for DecodeError {
    fn from(e: VideoError) -> Self {
        Self::Unreadable(e.to_string())
    }
}

/// What a decode may take.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Most pixels a frame may have.
    pub max_pixels: u64,
    /// Most seconds of video (by the container's duration and by the frames' times).
    pub max_seconds: f64,
    /// Most wall-clock time the probe and the decode may take together.
    pub max_time: Duration,
    /// Decoding threads (0: FFmpeg's choice, one a core).
    pub threads: u32,
    /// Most address space each tool may map, in bytes (`prlimit --as`): a file made to make the
    /// decoder allocate without end stops it there, not the machine.
    pub max_memory: u64,
}

impl Default for Limits {
    /// For a person's own files: 8K frames, ten hours, an hour to decode, 2 GiB a tool (FFmpeg
    /// decoding 720p H.264 on two threads ran in 1 GB; its libraries alone map about 300 MB).
    fn default() -> Self {
        Self { max_pixels: 7680 * 4320, max_seconds: 36_000.0, max_time: Duration::from_secs(3600), threads: 0, max_memory: 2 << 30 }
    }
}

/// The tool `name` run under `limits`' memory cap (util-linux's `prlimit`, in every Debian).
fn tool(name: &str, limits: &Limits) -> Command {
    let mut cmd = Command::new("prlimit");
    cmd.arg(format!("--as={}", limits.max_memory)).arg("--").arg(name);
    cmd
}

/// Whether a tool's errors say it ran out of the memory it was given.
fn out_of_memory(errors: &str) -> bool {
    ["Cannot allocate memory", "failed to map segment", "Resource temporarily unavailable", "out of memory"]
        .iter()
        .any(|m| errors.contains(m))
}

fn memory_refusal(limits: &Limits) -> DecodeError {
    DecodeError::TooLarge(format!("decoding needs more than the {} MiB a decoder may take", limits.max_memory >> 20))
}

/// Where the video is.
#[derive(Debug, Clone, Copy)]
pub enum Input<'a> {
    /// A file (the command line's; preserved evidence).
    Path(&'a Path),
    /// Bytes in memory (an upload).
    Memory(&'a [u8]),
}

/// The tools' view of the input: a path, or a memory file they read as standard input.
enum Source {
    Path(std::path::PathBuf),
    Memory(std::fs::File),
}

impl Source {
    fn new(input: Input<'_>) -> Result<Self, DecodeError> {
        match input {
            Input::Path(p) => Ok(Self::Path(p.to_owned())),
            Input::Memory(bytes) => {
                let fd = rustix::fs::memfd_create("tocsin-video", rustix::fs::MemfdFlags::CLOEXEC)
                    .map_err(|e| DecodeError::Tools(format!("memfd_create: {e}")))?;
                let mut file = std::fs::File::from(fd);
                file.write_all(bytes).map_err(|e| DecodeError::Tools(format!("writing the memory file: {e}")))?;
                Ok(Self::Memory(file))
            }
        }
    }

    /// Adds the input to `cmd`: `-i PATH`, or the memory file as standard input opened again
    /// by path (a fresh, seekable open of the same memory, unlike `pipe:0`).
    fn add_to(&self, cmd: &mut Command) -> Result<(), DecodeError> {
        match self {
            Self::Path(p) => {
                // A name starting with '-' or naming a protocol ("http:...") stays a file.
                let mut arg = std::ffi::OsString::from("file:");
                arg.push(p.as_os_str());
                cmd.arg("-i").arg(arg).stdin(Stdio::null());
            }
            Self::Memory(file) => {
                let copy = file.try_clone().map_err(|e| DecodeError::Tools(format!("the memory file: {e}")))?;
                cmd.args(["-i", "file:/dev/stdin"]).stdin(Stdio::from(copy));
            }
        }
        Ok(())
    }
}

/// Kills `child` when `deadline` passes before it ends: a watchdog thread, since a decoder that
/// hangs never closes its output.
fn watch(mut child: Child, deadline: Instant) -> std::thread::JoinHandle<(std::io::Result<std::process::ExitStatus>, bool)> {
    std::thread::spawn(move || {
        loop {
            match child.try_wait() {
                Ok(Some(status)) => return (Ok(status), false),
                Ok(None) if Instant::now() >= deadline => {
                    let _ = child.kill();
                    return (child.wait(), true);
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(10)),
                Err(e) => return (Err(e), false),
            }
        }
    })
}

/// Reads a child's standard error on its own thread, so a chatty tool cannot stall on a full
/// pipe; at most 64 KiB is kept.
fn collect(mut stream: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = Vec::new();
        let _ = stream.by_ref().take(64 << 10).read_to_end(&mut text);
        let _ = std::io::copy(&mut stream, &mut std::io::sink());
        String::from_utf8_lossy(&text).into_owned()
    })
}

/// What `ffprobe` says of the first video stream.
#[derive(Debug)]
struct Probe {
    info: StreamInfo,
    /// The pixel format: 4:2:0 at 8 bits (`yuv420p`, `yuvj420p`) is converted exactly as the
    /// reference does; anything else is first brought to `yuv420p` by FFmpeg.
    pix_fmt: String,
    /// The container's or stream's duration in seconds, when stated.
    seconds: Option<f64>,
}

fn probe(source: &Source, deadline: Instant, limits: &Limits) -> Result<Probe, DecodeError> {
    let mut cmd = tool("ffprobe", limits);
    cmd.args(["-v", "error", "-select_streams", "v:0"]).args([
        "-show_entries",
        "stream=width,height,avg_frame_rate,r_frame_rate,pix_fmt,duration:format=duration",
        "-of",
        "json",
    ]);
    source.add_to(&mut cmd)?;
    let Finished { status, killed, out, errors } = run_to_end(&mut cmd, "ffprobe", deadline)?;
    if killed {
        return Err(DecodeError::TooSlow(0));
    }
    if !status.success() && out_of_memory(&errors) {
        return Err(memory_refusal(limits));
    }
    if !status.success() {
        return Err(DecodeError::Unreadable(format!("not a video FFmpeg can read: {}", first_line(&errors))));
    }
    let doc: serde_json::Value = serde_json::from_slice(&out).map_err(|e| DecodeError::Tools(format!("ffprobe's answer: {e}")))?;
    let Some(stream) = doc["streams"].get(0) else { return Err(DecodeError::Unreadable("no video stream".to_owned())) };
    let rate = |key: &str| -> Option<FrameRate> {
        let (num, den) = stream[key].as_str()?.split_once('/')?;
        let rate = FrameRate { num: num.parse().ok()?, den: den.parse().ok()? };
        (rate.num > 0 && rate.den > 0).then_some(rate)
    };
    // The reference's rule: the average rate, or the base rate when that is unset.
    let frame_rate = rate("avg_frame_rate")
        .or_else(|| rate("r_frame_rate"))
        .ok_or_else(|| DecodeError::Unreadable("the stream states no frame rate".to_owned()))?;
    let size = |key: &str| {
        stream[key]
            .as_u64()
            .and_then(|v| usize::try_from(v).ok())
            .filter(|&v| v > 0)
            .ok_or_else(|| DecodeError::Unreadable("the stream states no size".to_owned()))
    };
    let pix_fmt = stream["pix_fmt"].as_str().unwrap_or("").to_owned();
    // As the reference's swscale context: full range only for the "J" formats, whatever the
    // stream's range tag says.
    let full_range = pix_fmt == "yuvj420p";
    let seconds = [&stream["duration"], &doc["format"]["duration"]]
        .iter()
        .filter_map(|v| v.as_str()?.parse::<f64>().ok())
        .fold(None, |a: Option<f64>, s| Some(a.map_or(s, |a| a.max(s))));
    Ok(Probe { info: StreamInfo { width: size("width")?, height: size("height")?, frame_rate, full_range }, pix_fmt, seconds })
}

/// What a tool run to its end left.
struct Finished {
    status: std::process::ExitStatus,
    /// Killed at the deadline.
    killed: bool,
    /// Its standard output (at most 1 MiB).
    out: Vec<u8>,
    /// Its standard error (at most 64 KiB).
    errors: String,
}

/// Runs `cmd` (the tool `name`) until it ends or `deadline` passes, collecting its output.
fn run_to_end(cmd: &mut Command, name: &str, deadline: Instant) -> Result<Finished, DecodeError> {
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().map_err(|e| DecodeError::Tools(format!("{name}: {e}")))?;
    let (stdout, stderr) = (child.stdout.take(), child.stderr.take());
    let (out, errors) = (stdout.map(collect_all), stderr.map(collect));
    let (status, killed) = watch(child, deadline).join().map_err(|_| DecodeError::Tools(format!("{name}'s watchdog")))?;
    let status = status.map_err(|e| DecodeError::Tools(format!("{name}: {e}")))?;
    let out = out.and_then(|t| t.join().ok()).unwrap_or_default();
    let errors = errors.and_then(|t| t.join().ok()).unwrap_or_default();
    Ok(Finished { status, killed, out, errors })
}

fn collect_all(mut stream: impl Read + Send + 'static) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut out = Vec::new();
        let _ = stream.by_ref().take(1 << 20).read_to_end(&mut out);
        out
    })
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("ffmpeg failed").trim()
}

/// Hashes the video, one frame every `seconds_per_hash` (0: every frame), calling `each` with
/// every feature in frame order; returns the number of frames hashed. Frames are hashed on one
/// thread when `limits.threads` is 1, else on one a core.
pub fn hash(
    input: Input<'_>,
    seconds_per_hash: f64,
    limits: &Limits,
    each: impl FnMut(&Feature) -> Result<(), DecodeError>,
) -> Result<u64, DecodeError> {
    hash_scaled(input, seconds_per_hash, None, limits, each)
}

/// [`hash`] with every frame first scaled to `side` x `side` by FFmpeg's Lanczos filter, as
/// Meta's `vpdq-hash-video -s` did when its 128x128 reference files were made: faster on large
/// frames, and within Meta's tolerance of the reference files, not bit-identical to them.
pub fn hash_scaled(
    input: Input<'_>,
    seconds_per_hash: f64,
    side: Option<usize>,
    limits: &Limits,
    mut each: impl FnMut(&Feature) -> Result<(), DecodeError>,
) -> Result<u64, DecodeError> {
    let started = Instant::now();
    let deadline = started + limits.max_time;
    let source = Source::new(input)?;
    let probe = probe(&source, deadline, limits).map_err(|e| match e {
        DecodeError::TooSlow(_) => DecodeError::TooSlow(limits.max_time.as_secs()),
        e => e,
    })?;
    let mut info = probe.info;
    let pixels = (info.width as u64).saturating_mul(info.height as u64);
    if pixels > limits.max_pixels {
        return Err(DecodeError::TooLarge(format!("{}x{} frames: at most {} pixels", info.width, info.height, limits.max_pixels)));
    }
    if let Some(seconds) = probe.seconds.filter(|&s| s > limits.max_seconds) {
        return Err(DecodeError::TooLarge(format!("{seconds:.0} s of video: at most {:.0}", limits.max_seconds)));
    }
    let exact = matches!(probe.pix_fmt.as_str(), "yuv420p" | "yuvj420p");
    // Other formats are converted by FFmpeg to limited-range 4:2:0 first: close to the
    // reference, not bit-identical to it.
    let out_fmt = if exact { probe.pix_fmt.as_str() } else { "yuv420p" };
    info.full_range = exact && info.full_range;
    if let Some(side) = side {
        if side == 0 || side > 4096 {
            return Err(DecodeError::TooLarge(format!("frames scaled to {side}x{side}: 1 to 4096")));
        }
        (info.width, info.height) = (side, side);
    }
    let every = sampling_step(&info, seconds_per_hash)?;
    let mut hasher = FrameHasher::new(info)?;
    let mut cmd = tool("ffmpeg", limits);
    cmd.args(["-nostdin", "-v", "error", "-threads", &limits.threads.to_string()]);
    source.add_to(&mut cmd)?;
    cmd.args(["-map", "0:v:0", "-fps_mode", "passthrough"]);
    // Only the sampled frames leave the decoder: frame n, counted in decoder output order as
    // the reference counts, when n is a multiple of the step (the k-th out is frame k * step).
    let mut filters = Vec::new();
    if every > 1 {
        filters.push(format!("select=not(mod(n\\,{every}))"));
    }
    if let Some(side) = side {
        filters.push(format!("scale={side}:{side}:flags=lanczos"));
    }
    if !filters.is_empty() {
        cmd.args(["-vf", &filters.join(",")]);
    }
    cmd.args(["-f", "rawvideo", "-pix_fmt", out_fmt, "pipe:1"]);
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().map_err(|e| DecodeError::Tools(format!("ffmpeg: {e}")))?;
    let mut stdout = child.stdout.take().ok_or_else(|| DecodeError::Tools("ffmpeg's output".to_owned()))?;
    let errors = child.stderr.take().map(collect);
    let watchdog = watch(child, deadline);
    let max_frames = (limits.max_seconds * info.frame_rate.num as f64 / info.frame_rate.den as f64).ceil() as u64 + 1;
    let too_long = || DecodeError::TooLarge(format!("more than {:.0} s of video", limits.max_seconds));
    let workers = match limits.threads {
        1 => 1,
        _ => std::thread::available_parallelism().map_or(1, usize::from),
    };
    let mut hashed = 0u64;
    let outcome = if workers == 1 {
        let mut frame = vec![0u8; hasher.frame_bytes()];
        (|| -> Result<(), DecodeError> {
            while read_frame(&mut stdout, &mut frame)? {
                let number = hashed * every;
                // The container may understate its length: the frames themselves are counted too.
                if number >= max_frames {
                    return Err(too_long());
                }
                each(&hasher.hash_packed(number, &frame)?)?;
                hashed += 1;
            }
            Ok(())
        })()
    } else {
        hash_in_parallel(
            info,
            workers,
            hasher.frame_bytes(),
            &mut stdout,
            |k| {
                let number = k * every;
                if number >= max_frames { Err(too_long()) } else { Ok(number) }
            },
            |f| {
                hashed += 1;
                each(f)
            },
        )
    };
    // Closing the pipe ends a decoder still writing (a refusal above), then it is waited for.
    drop(stdout);
    let (status, killed) = watchdog.join().map_err(|_| DecodeError::Tools("ffmpeg's watchdog".to_owned()))?;
    let status = status.map_err(|e| DecodeError::Tools(format!("ffmpeg: {e}")))?;
    let errors = errors.and_then(|t| t.join().ok()).unwrap_or_default();
    if killed {
        return Err(DecodeError::TooSlow(limits.max_time.as_secs()));
    }
    if out_of_memory(&errors) {
        return Err(memory_refusal(limits));
    }
    outcome?;
    // FFmpeg decodes what it can of a damaged or truncated file and still exits 0; any error it
    // reports means the frames are not the whole video, so the hashes would not be its own.
    if !status.success() || !errors.trim().is_empty() {
        return Err(DecodeError::Unreadable(format!("the video does not decode cleanly (truncated or damaged?): {}", first_line(&errors))));
    }
    if hashed == 0 {
        return Err(DecodeError::Unreadable("the video has no frames".to_owned()));
    }
    Ok(hashed)
}

/// Hashes the frames read from `input` on `workers` threads, each with its own hasher, and
/// hands the features to `each` in frame order; `number` gives the k-th frame's number (or
/// refuses it). At most two frames a worker are in memory at once.
fn hash_in_parallel(
    info: StreamInfo,
    workers: usize,
    frame_bytes: usize,
    input: &mut impl Read,
    number: impl Fn(u64) -> Result<u64, DecodeError>,
    mut each: impl FnMut(&Feature) -> Result<(), DecodeError>,
) -> Result<(), DecodeError> {
    use std::collections::BTreeMap;
    use std::sync::{Arc, Mutex, mpsc};
    type Done = (u64, Result<Feature, VideoError>, Vec<u8>);
    let (jobs, job_queue) = mpsc::sync_channel::<(u64, u64, Vec<u8>)>(workers);
    let job_queue = Arc::new(Mutex::new(job_queue));
    let (done, finished) = mpsc::channel::<Done>();
    std::thread::scope(|scope| {
        for _ in 0..workers {
            let (job_queue, done) = (job_queue.clone(), done.clone());
            scope.spawn(move || {
                let Ok(mut hasher) = FrameHasher::new(info) else { return };
                loop {
                    // The lock is held only to take a job; a poisoned lock means a worker
                    // panicked, and the others stop too.
                    let job = match job_queue.lock() {
                        Ok(queue) => queue.recv(),
                        Err(_) => return,
                    };
                    let Ok((k, n, frame)) = job else { return };
                    let feature = hasher.hash_packed(n, &frame);
                    if done.send((k, feature, frame)).is_err() {
                        return;
                    }
                }
            });
        }
        drop(done);
        let (mut spare, mut allocated) = (Vec::<Vec<u8>>::new(), 0usize);
        let (mut waiting, mut next_out, mut sent) = (BTreeMap::<u64, Feature>::new(), 0u64, 0u64);
        let settle =
            |(k, feature, frame): Done, spare: &mut Vec<Vec<u8>>, waiting: &mut BTreeMap<u64, Feature>| -> Result<(), DecodeError> {
                spare.push(frame);
                waiting.insert(k, feature?);
                Ok(())
            };
        let result = (|| -> Result<(), DecodeError> {
            loop {
                let mut frame = match spare.pop() {
                    Some(frame) => frame,
                    None if allocated < 2 * workers => {
                        allocated += 1;
                        vec![0u8; frame_bytes]
                    }
                    None => {
                        let d = finished.recv().map_err(|_| DecodeError::Tools("a hashing thread stopped".to_owned()))?;
                        settle(d, &mut spare, &mut waiting)?;
                        continue;
                    }
                };
                if !read_frame(input, &mut frame)? {
                    break;
                }
                let n = number(sent)?;
                jobs.send((sent, n, frame)).map_err(|_| DecodeError::Tools("a hashing thread stopped".to_owned()))?;
                sent += 1;
                while let Ok(d) = finished.try_recv() {
                    settle(d, &mut spare, &mut waiting)?;
                }
                while let Some(feature) = waiting.remove(&next_out) {
                    each(&feature)?;
                    next_out += 1;
                }
            }
            while next_out < sent {
                match waiting.remove(&next_out) {
                    Some(feature) => {
                        each(&feature)?;
                        next_out += 1;
                    }
                    None => {
                        let d = finished.recv().map_err(|_| DecodeError::Tools("a hashing thread stopped".to_owned()))?;
                        settle(d, &mut spare, &mut waiting)?;
                    }
                }
            }
            Ok(())
        })();
        // No more jobs: the workers end, and the scope waits for them.
        drop(jobs);
        result
    })
}

/// Fills `frame` from `input`: false at a clean end, an error for a frame cut short.
fn read_frame(input: &mut impl Read, frame: &mut [u8]) -> Result<bool, DecodeError> {
    let mut filled = 0;
    while filled < frame.len() {
        match input.read(&mut frame[filled..]) {
            Ok(0) if filled == 0 => return Ok(false),
            Ok(0) => return Err(DecodeError::Unreadable("the decoder stopped in the middle of a frame".to_owned())),
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(DecodeError::Tools(format!("reading decoded frames: {e}"))),
        }
    }
    Ok(true)
}

/// Whether content of `content_type` is to be read as a video.
pub fn is_video(content_type: &str) -> bool {
    content_type.trim_start().to_ascii_lowercase().starts_with("video/")
}

/// Whether `head` (a file's first bytes, 200 or more when there are) starts like a video
/// container FFmpeg reads: ISO base media (MP4, MOV, 3GP), Matroska and WebM, AVI, FLV, MPEG
/// transport and program streams, Ogg, ASF (WMV). Files are found by what they hold, not by
/// their names; a container without a video stream is refused later, by `ffprobe`.
pub fn looks_like_video(head: &[u8]) -> bool {
    let at = |offset: usize, magic: &[u8]| head.get(offset..offset + magic.len()) == Some(magic);
    let iso = [&b"ftyp"[..], b"moov", b"mdat", b"wide", b"free", b"skip"].iter().any(|m| at(4, m));
    iso || at(0, &[0x1a, 0x45, 0xdf, 0xa3])
        || (at(0, b"RIFF") && at(8, b"AVI "))
        || at(0, b"FLV\x01")
        || (at(0, &[0x47]) && at(188, &[0x47]))
        || at(0, &[0, 0, 1, 0xba])
        || at(0, b"OggS")
        || at(0, &[0x30, 0x26, 0xb2, 0x75, 0x8e, 0x66, 0xcf, 0x11])
}

/// One frame of the video at `seconds`, `width` pixels wide (height in proportion), in
/// greyscale, as PNG: a key frame for a moderator, who sees it blurred until revealed. FFmpeg
/// seeks to the nearest earlier key frame and decodes up to the time asked.
pub fn frame_png(input: Input<'_>, seconds: f64, width: u32, limits: &Limits) -> Result<Vec<u8>, DecodeError> {
    if !(seconds.is_finite() && seconds >= 0.0) || width == 0 || width > 1920 {
        return Err(DecodeError::TooLarge(format!("a frame at {seconds} s, {width} pixels wide")));
    }
    let deadline = Instant::now() + limits.max_time;
    let source = Source::new(input)?;
    let mut cmd = tool("ffmpeg", limits);
    cmd.args(["-nostdin", "-v", "error", "-threads", &limits.threads.to_string(), "-ss", &format!("{seconds:.3}")]);
    source.add_to(&mut cmd)?;
    cmd.args([
        "-map",
        "0:v:0",
        "-frames:v",
        "1",
        "-vf",
        &format!("scale={width}:-2,format=gray"),
        "-f",
        "image2pipe",
        "-c:v",
        "png",
        "pipe:1",
    ]);
    let Finished { status, killed, out, errors } = run_to_end(&mut cmd, "ffmpeg", deadline)?;
    if killed {
        return Err(DecodeError::TooSlow(limits.max_time.as_secs()));
    }
    if !status.success() || out.is_empty() {
        return Err(DecodeError::Unreadable(format!("no frame at {seconds:.3} s: {}", first_line(&errors))));
    }
    Ok(out)
}
