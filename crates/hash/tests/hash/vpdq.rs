//! vPDQ against Meta's shipped native-resolution hash files: each of the four videos, decoded
//! to its 4:2:0 planes by the FFmpeg tool (H.264 decoding is exact on any CPU; the tool is only
//! the test's decoder here), converted and hashed by this crate, gives the reference file byte
//! for byte.

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use tocsin_hash::video::{FrameRate, StreamInfo, VpdqHasher};

fn vpdq_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/vpdq")
}

/// Width, height and average frame rate, as ffprobe reads them.
fn probe(video: &PathBuf) -> (usize, usize, FrameRate) {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0", "-show_entries", "stream=width,height,avg_frame_rate", "-of", "csv=p=0"])
        .arg(video)
        .output()
        .expect("ffprobe (scripts/test installs ffmpeg)");
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let fields: Vec<&str> = text.trim().split(',').collect();
    let (num, den) = fields[2].split_once('/').expect("a fraction");
    (
        fields[0].parse().expect("width"),
        fields[1].parse().expect("height"),
        FrameRate { num: num.parse().expect("num"), den: den.parse().expect("den") },
    )
}

/// Every frame of `video` in decoder output order, hashed at `seconds_per_hash`: the lines.
fn hash_video(name: &str, seconds_per_hash: f64) -> Vec<String> {
    let video = vpdq_dir().join("sample-videos").join(format!("{name}.mp4"));
    let (width, height, frame_rate) = probe(&video);
    let info = StreamInfo { width, height, frame_rate, full_range: false };
    let mut hasher = VpdqHasher::new(info, seconds_per_hash).expect("a hashable stream");
    let mut child = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-i"])
        .arg(&video)
        .args(["-map", "0:v:0", "-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", "yuv420p", "pipe:1"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("ffmpeg (scripts/test installs it)");
    let mut stdout = child.stdout.take().expect("piped");
    let (luma, chroma) = (width * height, (width / 2) * (height / 2));
    let mut frame = vec![0u8; luma + 2 * chroma];
    let mut lines = Vec::new();
    while stdout.read_exact(&mut frame).is_ok() {
        let (y, uv) = frame.split_at(luma);
        let (u, v) = uv.split_at(chroma);
        if let Some(feature) = hasher.push(y, u, v).expect("a frame of the stream's size") {
            lines.push(feature.reference_line());
        }
    }
    assert!(child.wait().expect("ffmpeg ends").success());
    lines
}

#[test]
fn the_four_native_resolution_reference_files_are_reproduced_byte_for_byte() {
    for name in ["pattern-sd-grey-bar", "pattern-sd-with-small-logo-bar", "pattern-sd-with-large-logo-bar", "doorknob-hd-no-bar"] {
        let expected = std::fs::read_to_string(vpdq_dir().join("sample-hashes").join(format!("{name}.txt"))).expect("expected file");
        let ours = hash_video(name, 0.0);
        let expected: Vec<&str> = expected.lines().collect();
        let differ = ours.iter().zip(&expected).filter(|(a, b)| a != b).count();
        assert_eq!(
            (ours.len(), differ),
            (expected.len(), 0),
            "{name}: first difference {:?}",
            ours.iter().zip(&expected).find(|(a, b)| a != b)
        );
    }
}

/// Every frame of `video` (or of the lavfi source `generated`) as FFmpeg's C path converts it to
/// RGB24 (`-cpuflags 0`), and its 4:2:0 planes, for comparing conversions.
fn both_forms(input: &[&str], pix_fmt: &str) -> (Vec<u8>, Vec<u8>) {
    let run = |extra: &[&str], out_fmt: &str| {
        let out = Command::new("ffmpeg")
            .args(["-nostdin", "-v", "error"])
            .args(extra)
            .args(input)
            .args(["-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", out_fmt, "pipe:1"])
            .output()
            .expect("ffmpeg (scripts/test installs it)");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        out.stdout
    };
    (run(&["-cpuflags", "0"], "rgb24"), run(&[], pix_fmt))
}

fn converts_as_ffmpegs_c_path(input: &[&str], pix_fmt: &str, full_range: bool, width: usize, height: usize) {
    let (reference, planes) = both_forms(input, pix_fmt);
    let convert = tocsin_hash::video::yuv::YuvToRgb::new(full_range);
    let (luma, chroma) = (width * height, width * height / 4);
    let frames = planes.len() / (luma + 2 * chroma);
    assert!(frames > 0 && reference.len() == frames * luma * 3, "{frames} frames");
    let mut ours = vec![0u8; luma * 3];
    for (n, frame) in planes.chunks_exact(luma + 2 * chroma).enumerate() {
        let (y, uv) = frame.split_at(luma);
        let (u, v) = uv.split_at(chroma);
        convert.convert(width, height, y, u, v, &mut ours);
        let expected = &reference[n * luma * 3..(n + 1) * luma * 3];
        let differ = ours.iter().zip(expected).filter(|(a, b)| a != b).count();
        assert_eq!(differ, 0, "frame {n}: {differ} bytes differ from FFmpeg's C path");
    }
}

#[test]
fn limited_range_frames_convert_to_exactly_ffmpegs_portable_rgb() {
    let video = vpdq_dir().join("sample-videos/doorknob-hd-no-bar.mp4");
    converts_as_ffmpegs_c_path(&["-i", video.to_str().expect("utf-8")], "yuv420p", false, 1280, 720);
}

#[test]
fn full_range_frames_convert_to_exactly_ffmpegs_portable_rgb() {
    // A generated clip with every colour the test pattern has, stored as full-range 4:2:0.
    let source = ["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=10:duration=1,format=yuvj420p"];
    converts_as_ffmpegs_c_path(&source, "yuvj420p", true, 320, 240);
}

#[test]
fn at_one_hash_a_second_the_frames_kept_are_every_fps_th_of_the_reference() {
    // 30 frames a second: frames 0, 30, 60 and 90 of the 120, with the reference's lines.
    let expected = std::fs::read_to_string(vpdq_dir().join("sample-hashes/doorknob-hd-no-bar.txt")).expect("expected file");
    let every: Vec<&str> = expected.lines().collect();
    let sampled = hash_video("doorknob-hd-no-bar", 1.0);
    assert_eq!(sampled, [every[0], every[30], every[60], every[90]]);
}

#[test]
fn streams_that_cannot_be_hashed_are_refused_before_any_frame() {
    use tocsin_hash::video::VideoError;
    let rate = FrameRate { num: 30, den: 1 };
    let info = |width, height, frame_rate| StreamInfo { width, height, frame_rate, full_range: false };
    assert_eq!(VpdqHasher::new(info(64, 64, FrameRate { num: 0, den: 1 }), 1.0).err(), Some(VideoError::NoFrameRate));
    assert_eq!(VpdqHasher::new(info(63, 64, rate), 1.0).err(), Some(VideoError::Dimensions(63, 64)));
    assert_eq!(VpdqHasher::new(info(4, 4, rate), 1.0).err(), Some(VideoError::Dimensions(4, 4)));
    assert_eq!(VpdqHasher::new(info(64, 64, rate), -1.0).err(), Some(VideoError::Interval));
    assert_eq!(VpdqHasher::new(info(64, 64, rate), f64::NAN).err(), Some(VideoError::Interval));
    let mut hasher = VpdqHasher::new(info(64, 64, rate), 0.0).expect("hashable");
    assert_eq!(hasher.push(&[0; 64 * 64], &[128; 31 * 32], &[128; 32 * 32]), Err(VideoError::FrameSize(64, 64)));
    assert_eq!(hasher.frames(), 0, "a refused frame is not counted");
}

#[test]
fn the_padded_dimensions_file_made_on_x86_simd_is_within_metas_tolerance() {
    // Meta made this file with FFmpeg's x86 SIMD conversion, which rounds differently from the
    // portable path reproduced here (vpdq-notes §1.2): the frames and times are the same, and
    // each hash of two trusted qualities lies within Meta's own test's distance (< 31).
    let expected = std::fs::read_to_string(vpdq_dir().join("sample-hashes/test-padded-dimensions.txt")).expect("expected file");
    let ours = hash_video("test-padded-dimensions", 0.0);
    let expected: Vec<Vec<&str>> = expected.lines().map(|l| l.split(',').collect()).collect();
    assert_eq!(ours.len(), expected.len());
    let mut worst = 0;
    for (line, reference) in ours.iter().zip(&expected) {
        let ours: Vec<&str> = line.split(',').collect();
        assert_eq!((ours[0], ours[3]), (reference[0], reference[3]), "frame number and time");
        let (q1, q2): (u8, u8) = (ours[1].parse().expect("quality"), reference[1].parse().expect("quality"));
        if q1 >= 50 && q2 >= 50 {
            let (a, b): (tocsin_hash::pdq::PdqHash, tocsin_hash::pdq::PdqHash) =
                (ours[2].parse().expect("hash"), reference[2].parse().expect("hash"));
            worst = worst.max(a.distance(&b));
        }
    }
    assert!(worst < 31, "worst distance {worst}");
}
