//! Decoding video for vPDQ with the FFmpeg tools (Debian's `ffmpeg`, which `scripts/test`
//! installs): `ffprobe` reads the first video stream's size, average frame rate and pixel
//! format, and `ffmpeg` decodes every frame in decoder order (`-fps_mode passthrough`: none
//! dropped or repeated) to raw 4:2:0 planes on a pipe, which `tocsin_hash::video` converts and
//! hashes. The decoder runs in its own process, so a hostile file that trips it costs that
//! process, not this one.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context, bail};
use tocsin_hash::video::{Feature, FrameRate, StreamInfo, VpdqHasher};

/// What `ffprobe` says of the first video stream.
#[derive(Debug)]
struct Probe {
    info: StreamInfo,
    /// The pixel format: 4:2:0 at 8 bits (`yuv420p`, `yuvj420p`) is converted exactly as the
    /// reference does; anything else is first brought to `yuv420p` by FFmpeg.
    pix_fmt: String,
}

fn probe(path: &Path) -> anyhow::Result<Probe> {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0", "-show_entries", "stream=width,height,avg_frame_rate,r_frame_rate,pix_fmt"])
        .args(["-of", "json"])
        .arg(path)
        .output()
        .context("running ffprobe (install Debian's ffmpeg package)")?;
    if !out.status.success() {
        bail!("not a video FFmpeg can read: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).context("ffprobe's answer")?;
    let stream = doc["streams"].get(0).context("no video stream")?;
    let rate = |key: &str| -> Option<FrameRate> {
        let (num, den) = stream[key].as_str()?.split_once('/')?;
        let rate = FrameRate { num: num.parse().ok()?, den: den.parse().ok()? };
        (rate.num > 0 && rate.den > 0).then_some(rate)
    };
    // The reference's rule: the average rate, or the base rate when that is unset.
    let frame_rate = rate("avg_frame_rate").or_else(|| rate("r_frame_rate")).context("the stream states no frame rate")?;
    let size = |key: &str| stream[key].as_u64().and_then(|v| usize::try_from(v).ok()).context("the stream states no size");
    let pix_fmt = stream["pix_fmt"].as_str().unwrap_or("").to_owned();
    // As the reference's swscale context: full range only for the "J" formats, whatever the
    // stream's range tag says.
    let full_range = pix_fmt == "yuvj420p";
    Ok(Probe { info: StreamInfo { width: size("width")?, height: size("height")?, frame_rate, full_range }, pix_fmt })
}

/// Hashes the video at `path`, one frame every `seconds_per_hash` (0: every frame), calling
/// `each` with every feature in frame order.
pub fn hash_file(path: &Path, seconds_per_hash: f64, mut each: impl FnMut(&Feature) -> anyhow::Result<()>) -> anyhow::Result<u64> {
    let probe = probe(path)?;
    let mut info = probe.info;
    let exact = matches!(probe.pix_fmt.as_str(), "yuv420p" | "yuvj420p");
    // Other formats are converted by FFmpeg to limited-range 4:2:0 first: close to the
    // reference, not bit-identical to it.
    let out_fmt = if exact { probe.pix_fmt.as_str() } else { "yuv420p" };
    info.full_range = exact && info.full_range;
    let mut hasher = VpdqHasher::new(info, seconds_per_hash)?;
    let mut child = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-i"])
        .arg(path)
        .args(["-map", "0:v:0", "-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", out_fmt, "pipe:1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("running ffmpeg (install Debian's ffmpeg package)")?;
    let mut stdout = child.stdout.take().context("ffmpeg's output")?;
    let mut stderr = child.stderr.take().context("ffmpeg's errors")?;
    // Read errors on their own thread, so a chatty decoder cannot stall on a full pipe.
    let errors = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let (luma, chroma) = (info.width * info.height, info.width.div_ceil(2) * info.height.div_ceil(2));
    let mut frame = vec![0u8; luma + 2 * chroma];
    let outcome = (|| -> anyhow::Result<()> {
        loop {
            match read_frame(&mut stdout, &mut frame)? {
                false => return Ok(()),
                true => {
                    let (y, uv) = frame.split_at(luma);
                    let (u, v) = uv.split_at(chroma);
                    if let Some(feature) = hasher.push(y, u, v)? {
                        each(&feature)?;
                    }
                }
            }
        }
    })();
    drop(stdout);
    let status = child.wait().context("waiting for ffmpeg")?;
    let errors = errors.join().unwrap_or_default();
    outcome?;
    // FFmpeg decodes what it can of a damaged or truncated file and still exits 0; any error it
    // reports means the frames are not the whole video, so the hashes would not be its own.
    if !status.success() || !errors.trim().is_empty() {
        bail!("the video does not decode cleanly (truncated or damaged?): {}", errors.lines().next().unwrap_or("ffmpeg failed").trim());
    }
    if hasher.frames() == 0 {
        bail!("the video has no frames");
    }
    Ok(hasher.frames())
}

/// Fills `frame` from `input`: false at a clean end, an error for a frame cut short.
fn read_frame(input: &mut impl Read, frame: &mut [u8]) -> anyhow::Result<bool> {
    let mut filled = 0;
    while filled < frame.len() {
        match input.read(&mut frame[filled..]).context("reading decoded frames")? {
            0 if filled == 0 => return Ok(false),
            0 => bail!("the decoder stopped in the middle of a frame"),
            n => filled += n,
        }
    }
    Ok(true)
}
