//! Integration tests of `tocsin-media`: the same features from a file and from memory, and each
//! limit refusing what is beyond it with the reason.

use std::path::PathBuf;
use std::time::Duration;

use tocsin_media::{DecodeError, Input, Limits, hash};

fn sample(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/vpdq/sample-videos").join(name)
}

fn lines(input: Input<'_>, limits: &Limits) -> Result<Vec<String>, DecodeError> {
    let mut out = Vec::new();
    hash(input, 0.0, limits, |f| {
        out.push(f.reference_line());
        Ok(())
    })?;
    Ok(out)
}

#[test]
fn a_video_in_memory_gives_the_features_its_file_gives_byte_for_byte() {
    let path = sample("pattern-sd-with-small-logo-bar.mp4");
    let from_file = lines(Input::Path(&path), &Limits::default()).expect("hashes");
    let bytes = std::fs::read(&path).expect("reads");
    let from_memory = lines(Input::Memory(&bytes), &Limits::default()).expect("hashes");
    assert_eq!(from_memory, from_file);
    let expected = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/vpdq/sample-hashes/pattern-sd-with-small-logo-bar.txt"),
    )
    .expect("Meta's file");
    assert_eq!(from_memory.join("\n") + "\n", expected, "Meta's reference output");
}

#[test]
fn each_limit_refuses_with_its_reason() {
    let bytes = std::fs::read(sample("doorknob-hd-no-bar.mp4")).expect("reads");
    let small = Limits { max_pixels: 640 * 480, ..Limits::default() };
    let e = lines(Input::Memory(&bytes), &small).expect_err("1280x720 is over 640x480");
    assert!(matches!(&e, DecodeError::TooLarge(why) if why.contains("1280x720")), "{e}");
    let short = Limits { max_seconds: 1.0, ..Limits::default() };
    let e = lines(Input::Memory(&bytes), &short).expect_err("longer than a second");
    assert!(matches!(&e, DecodeError::TooLarge(why) if why.contains("at most 1")), "{e}");
    let hurried = Limits { max_time: Duration::from_millis(1), ..Limits::default() };
    assert!(matches!(lines(Input::Memory(&bytes), &hurried), Err(DecodeError::TooSlow(_))));
}

#[test]
fn garbage_and_cut_videos_are_unreadable_not_a_failure_of_the_tools() {
    let garbage: Vec<u8> = (0..50_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 9) as u8).collect();
    assert!(matches!(lines(Input::Memory(&garbage), &Limits::default()), Err(DecodeError::Unreadable(_))));
    let bytes = std::fs::read(sample("pattern-sd-grey-bar.mp4")).expect("reads");
    let cut = &bytes[..bytes.len() * 2 / 3];
    assert!(matches!(lines(Input::Memory(cut), &Limits::default()), Err(DecodeError::Unreadable(_))));
    assert!(matches!(lines(Input::Memory(b""), &Limits::default()), Err(DecodeError::Unreadable(_))));
}

#[test]
fn frames_scaled_to_128_are_within_metas_tolerance_of_its_128x128_files() {
    // Meta made these files by scaling each frame to 128x128 (FFmpeg's Lanczos, in 2022) before
    // hashing: the frames and times must be the same, and each pair of trusted hashes within
    // Meta's test distance (< 31).
    for name in ["doorknob-hd-no-bar", "pattern-sd-grey-bar", "pattern-sd-with-small-logo-bar", "pattern-sd-with-large-logo-bar"] {
        let mut ours = Vec::new();
        tocsin_media::hash_scaled(Input::Path(&sample(&format!("{name}.mp4"))), 0.0, Some(128), &Limits::default(), |f| {
            ours.push(f.reference_line());
            Ok(())
        })
        .expect("hashes");
        let expected = std::fs::read_to_string(
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("../../tests/data/vpdq/sample-hashes/{name}-128x128.txt")),
        )
        .expect("Meta's file");
        let expected: Vec<Vec<&str>> = expected.lines().map(|l| l.split(',').collect()).collect();
        assert_eq!(ours.len(), expected.len(), "{name}");
        let (mut worst, mut compared) = (0, 0);
        for (line, reference) in ours.iter().zip(&expected) {
            let ours: Vec<&str> = line.split(',').collect();
            assert_eq!((ours[0], ours[3]), (reference[0], reference[3]), "{name}: frame number and time");
            let (q1, q2): (u8, u8) = (ours[1].parse().expect("quality"), reference[1].parse().expect("quality"));
            if q1 >= 50 && q2 >= 50 {
                let (a, b): (tocsin_hash::pdq::PdqHash, tocsin_hash::pdq::PdqHash) =
                    (ours[2].parse().expect("hash"), reference[2].parse().expect("hash"));
                worst = worst.max(a.distance(&b));
                compared += 1;
            }
        }
        assert!(compared > ours.len() / 2, "{name}: most frames are trusted");
        assert!(worst < 31, "{name}: worst distance {worst}");
        eprintln!("{name}: {compared} trusted pairs, worst distance {worst}");
    }
}

#[test]
fn sampled_frames_are_the_every_frame_features_at_the_steps_on_one_thread_or_several() {
    let path = sample("doorknob-hd-no-bar.mp4");
    let run = |seconds_per_hash: f64, threads: u32| {
        let mut out = Vec::new();
        hash(Input::Path(&path), seconds_per_hash, &Limits { threads, ..Limits::default() }, |f| {
            out.push(f.reference_line());
            Ok(())
        })
        .expect("hashes");
        out
    };
    let every = run(0.0, 1);
    assert_eq!(run(0.0, 0), every, "several threads give the same features in the same order");
    // 30 frames a second: one a second is frames 0, 30, 60 and 90.
    let sampled: Vec<String> =
        every.iter().filter(|l| l.split(',').next().and_then(|n| n.parse::<u64>().ok()).is_some_and(|n| n % 30 == 0)).cloned().collect();
    assert_eq!(sampled.len(), 4);
    assert_eq!(run(1.0, 1), sampled);
    assert_eq!(run(1.0, 0), sampled);
}

/// Makes a clip with the FFmpeg tools: `args` after the generated source, into `name`.
fn made(dir: &std::path::Path, name: &str, args: &[&str]) -> Vec<u8> {
    let out = std::process::Command::new("ffmpeg")
        .current_dir(dir)
        .args(["-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=3"])
        .args(args)
        .arg(name)
        .output()
        .expect("ffmpeg (scripts/test installs it)");
    assert!(out.status.success(), "{name}: {}", String::from_utf8_lossy(&out.stderr));
    std::fs::read(dir.join(name)).expect("made")
}

#[test]
fn the_formats_platforms_receive_decode_from_memory_and_hash_alike() {
    // One source in the containers and codecs uploads come in; each gives the frames at the
    // same times and hashes near those of the H.264 copy (lossy codecs differ by a few bits).
    let dir = tempfile::tempdir().expect("temp dir");
    let mut hashed = Vec::new();
    for (name, args) in [
        ("h264.mp4", &["-pix_fmt", "yuv420p", "-c:v", "libx264"][..]),
        ("h265.mp4", &["-pix_fmt", "yuv420p", "-c:v", "libx265", "-x265-params", "log-level=error"][..]),
        ("vp8.webm", &["-pix_fmt", "yuv420p", "-c:v", "libvpx", "-b:v", "1M"][..]),
        ("vp9.mkv", &["-pix_fmt", "yuv420p", "-c:v", "libvpx-vp9", "-b:v", "1M"][..]),
        ("av1.mp4", &["-pix_fmt", "yuv420p", "-c:v", "libaom-av1", "-cpu-used", "8", "-b:v", "1M"][..]),
        ("h264.mov", &["-pix_fmt", "yuv420p", "-c:v", "libx264"][..]),
        ("mpeg4.avi", &["-c:v", "mpeg4", "-q:v", "2"][..]),
    ] {
        let bytes = made(dir.path(), name, args);
        assert!(tocsin_media::looks_like_video(&bytes[..bytes.len().min(256)]), "{name} is found by its content");
        let mut features = Vec::new();
        hash(Input::Memory(&bytes), 1.0, &Limits::default(), |f| {
            features.push((f.frame, f.hash));
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        hashed.push((name, features));
    }
    let (_, reference) = &hashed[0];
    assert_eq!(reference.iter().map(|(n, _)| *n).collect::<Vec<_>>(), [0, 25, 50], "one frame a second at 25 a second");
    for (name, features) in &hashed[1..] {
        assert_eq!(features.len(), reference.len(), "{name}");
        for ((n, h), (m, r)) in features.iter().zip(reference) {
            assert_eq!(n, m, "{name}: the same frames");
            assert!(h.distance(r) <= 31, "{name}: frame {n} is {} bits from the H.264 copy's", h.distance(r));
        }
    }
    assert!(!tocsin_media::looks_like_video(b"\x89PNG\r\n\x1a\n"), "an image is not a video");
}

#[test]
fn a_decoder_that_needs_more_memory_than_it_may_take_is_stopped_and_the_video_refused() {
    // A 4K frame's decoder does not fit in 250 MB of address space (FFmpeg's libraries alone
    // map about 300 MB); the same video decodes under the default cap.
    let dir = tempfile::tempdir().expect("temp dir");
    let big = std::process::Command::new("ffmpeg")
        .current_dir(dir.path())
        .args([
            "-nostdin",
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=3840x2160:rate=25:duration=1",
            "-pix_fmt",
            "yuv420p",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "big.mp4",
        ])
        .status()
        .expect("ffmpeg");
    assert!(big.success());
    let bytes = std::fs::read(dir.path().join("big.mp4")).expect("made");
    let tight = Limits { max_memory: 250 << 20, ..Limits::default() };
    let e = lines(Input::Memory(&bytes), &tight).expect_err("over the cap");
    assert!(matches!(&e, DecodeError::TooLarge(why) if why.contains("250 MiB")), "{e}");
    assert_eq!(lines(Input::Memory(&bytes), &Limits::default()).expect("fits under 2 GiB").len(), 25);
}
