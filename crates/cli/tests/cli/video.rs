//! Videos end to end: an order removes a video; the platform preserves it and banks its vPDQ
//! features; a re-encoded, downscaled copy sent to `/v1/scan` is blocked citing the order, an
//! unrelated video passes, truncated and garbage videos are refused and change nothing; a bank of
//! videos published to a second platform blocks there too. The test videos are made here with
//! the FFmpeg tools from generated sources.

use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

use serde_json::{Value, json};

use crate::helpers::{Node, tocsin_in};
use crate::orders::{Pair, identity};
use crate::sharing::{call, wait};

/// Runs `ffmpeg` with `args` in `dir`: the file it wrote.
fn ffmpeg(dir: &Path, args: &[&str], output: &str) -> Vec<u8> {
    let out = Command::new("ffmpeg")
        .current_dir(dir)
        .args(["-nostdin", "-v", "error", "-y"])
        .args(args)
        .arg(output)
        .output()
        .expect("ffmpeg (scripts/test installs it)");
    assert!(out.status.success(), "ffmpeg {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    std::fs::read(dir.join(output)).expect("ffmpeg's output")
}

/// The folder the test videos are made in, once per test process.
fn workshop() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().expect("temp dir")).path()
}

/// The removed video: 6 s of FFmpeg's moving test pattern at 30 frames a second, H.264 in MP4
/// with its index at the end (so reading it needs a seekable input).
pub(crate) fn clip() -> &'static Vec<u8> {
    static CLIP: OnceLock<Vec<u8>> = OnceLock::new();
    CLIP.get_or_init(|| {
        ffmpeg(
            workshop(),
            &["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30:duration=6", "-pix_fmt", "yuv420p", "-c:v", "libx264"],
            "clip.mp4",
        )
    })
}

/// A re-upload: the clip downscaled to 160x120 and re-encoded as VP9 in WebM at a low bit rate.
fn copy() -> Vec<u8> {
    std::fs::write(workshop().join("source.mp4"), clip()).expect("writes");
    ffmpeg(workshop(), &["-i", "source.mp4", "-vf", "scale=160:120", "-c:v", "libvpx-vp9", "-b:v", "100k"], "copy.webm")
}

/// Another video altogether: a Mandelbrot zoom.
fn unrelated() -> Vec<u8> {
    ffmpeg(
        workshop(),
        &["-f", "lavfi", "-i", "mandelbrot=size=320x240:rate=30", "-t", "4", "-pix_fmt", "yuv420p", "-c:v", "libx264"],
        "other.mp4",
    )
}

fn scan(node: &Node, token: &str, content_type: &str, bytes: &[u8]) -> (u16, Value) {
    let (status, _, body) = node.call("POST", "/v1/scan", Some(token), content_type, bytes);
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
}

/// The one match on a `vpdq` signal in a scan's result.
fn video_match(result: &Value) -> &Value {
    let matches = result["matches"].as_array().expect("matches");
    matches.iter().find(|m| m["signal"]["type"] == "vpdq").unwrap_or_else(|| panic!("no video match: {result}"))
}

#[test]
fn a_removed_video_is_preserved_banked_and_its_re_encoded_copy_blocked_at_upload() {
    let pair = Pair::start();
    let id = pair.issue("https://videohost.example/v/clip.mp4");
    pair.wait_for(&id, "executed");

    // Preserved, and hashed at every frame into the stay-down bank with the order as provenance.
    let evidence = wait("the clip preserved and hashed", || {
        let run = pair.cli_on_platform(&["order", "show", &id, "--format", "json"]);
        let shown: Value = serde_json::from_str(&run.stdout).ok()?;
        shown["evidence"].as_array()?.first().filter(|e| e["status"] == "preserved").cloned()
    });
    // 180 frames, a few of them the same picture (the pattern's still moments) at most.
    let frames = evidence["vpdq_frames"].as_u64().unwrap_or_else(|| panic!("no vPDQ features: {evidence}"));
    assert!((150..=180).contains(&frames), "{evidence}");
    let node = pair.platform.as_ref().expect("running");
    let (_, bank) = call(node, &pair.platform_admin, "GET", "/v1/banks/stay-down/signals", Value::Null);
    let banked = bank.as_array().expect("signals").iter().find(|s| s["type"] == "vpdq").cloned().expect("a vpdq signal");
    assert_eq!(banked["provenance"], json!({"source": "order", "reference": id, "detail": "https://videohost.example/v/clip.mp4"}));
    assert_eq!(banked["value"].as_str().expect("value").split(';').count() as u64, frames);

    // The copy, sampled once a second, is blocked citing the order.
    let copy = copy();
    let (status, result) = scan(node, &pair.platform_admin, "video/webm", &copy);
    assert_eq!((status, result["verdict"].as_str()), (200, Some("block")), "{result}");
    let m = video_match(&result);
    assert_eq!((m["bank"].as_str(), m["provenance"]["reference"].as_str()), (Some("stay-down"), Some(id.as_str())), "{m}");
    assert!(m["video"]["query_percent"].as_f64().expect("a share") >= 80.0, "{m}");
    assert_eq!(m["video"]["share"], "query");
    assert!(m["signal"]["value"].as_str().expect("named").starts_with("sha256:"), "the banked features are named, not repeated: {m}");
    let query = result["signals"].as_array().expect("signals").iter().find(|s| s["type"] == "vpdq").expect("the upload's features");
    assert_eq!(query["value"].as_str().expect("value").split(';').count(), 6, "one frame a second: {query}");
    assert!(result["match_id"].is_string(), "the match is kept: {result}");

    // An unrelated video passes.
    let (status, result) = scan(node, &pair.platform_admin, "video/mp4", &unrelated());
    assert_eq!((status, result["verdict"].as_str(), &result["matches"]), (200, Some("none"), &json!([])), "{result}");

    // A truncated copy and garbage are refused with the reason, and nothing is kept.
    let (_, before) = call(node, &pair.platform_admin, "GET", "/v1/matches", Value::Null);
    let truncated = &clip()[..clip().len() / 2];
    let (status, result) = scan(node, &pair.platform_admin, "video/mp4", truncated);
    assert_eq!(status, 422, "{result}");
    assert!(result["detail"].as_str().expect("detail").contains("video"), "{result}");
    let garbage: Vec<u8> = (0..100_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8).collect();
    let (status, result) = scan(node, &pair.platform_admin, "video/mp4", &garbage);
    assert_eq!(status, 422, "{result}");
    let (_, after) = call(node, &pair.platform_admin, "GET", "/v1/matches", Value::Null);
    assert_eq!(before, after, "refused scans keep nothing");

    // The authority hears of the features too, for its own bank.
    wait("the authority's bank holds the video", || {
        let (_, signals) = call(&pair.authority, &pair.admin, "GET", "/v1/banks/stay-down/signals", Value::Null);
        signals.as_array()?.iter().find(|s| s["type"] == "vpdq" && s["provenance"]["reference"] == id.as_str()).cloned()
    });
}

#[test]
fn a_video_over_the_nodes_limits_is_refused_before_it_is_hashed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let admin = tocsin_in(dir.path(), &["admin", "token", "--data", ".", "--account", "tns", "--role", "admin"]).stdout.trim().to_owned();
    let node = Node::start(
        dir.path(),
        &["--role", "platform", "--origin", "http://127.0.0.1:9", "--scan-video-max-bytes", "100000", "--scan-video-max-seconds", "3"],
        &[],
    );
    let (status, result) = scan(&node, &admin, "video/mp4", clip());
    assert_eq!(status, 413, "{result}");
    let small = ffmpeg(
        workshop(),
        &["-f", "lavfi", "-i", "testsrc2=size=64x48:rate=10:duration=5", "-pix_fmt", "yuv420p", "-c:v", "libx264"],
        "long.mp4",
    );
    assert!(small.len() < 100_000);
    let (status, result) = scan(&node, &admin, "video/mp4", &small);
    assert_eq!(status, 422, "{result}");
    assert!(result["detail"].as_str().expect("detail").contains("at most 3"), "{result}");
}

#[test]
fn a_bank_of_videos_published_to_a_second_platform_blocks_there_too() {
    // The first platform banks the clip by hand, hashed at every frame with `tocsin hash`.
    let first_dir = tempfile::tempdir().expect("temp dir");
    let second_dir = tempfile::tempdir().expect("temp dir");
    let token =
        |dir: &Path| tocsin_in(dir, &["admin", "token", "--data", ".", "--account", "tns", "--role", "admin"]).stdout.trim().to_owned();
    let (first_admin, second_admin) = (token(first_dir.path()), token(second_dir.path()));
    let first = Node::start(first_dir.path(), &["--name", "videohost", "--role", "platform", "--origin", "http://127.0.0.1:9"], &[]);
    let second = Node::start(
        second_dir.path(),
        &["--name", "clipshare", "--role", "platform", "--origin", "http://127.0.0.1:9", "--bank-pull-seconds", "1"],
        &[],
    );
    std::fs::write(first_dir.path().join("clip.mp4"), clip()).expect("writes");
    let hashed = tocsin_in(first_dir.path(), &["hash", "--format", "vpdq", "--seconds-per-hash", "0", "clip.mp4"]);
    assert_eq!(hashed.code, 0, "{}", hashed.stderr);
    let (status, made) = call(&first, &first_admin, "POST", "/v1/banks", json!({"name": "videos", "action": "block"}));
    assert_eq!(status, 201, "{made}");
    let (status, added) = call(
        &first,
        &first_admin,
        "POST",
        "/v1/banks/videos/signals",
        json!({"signals": [{"type": "vpdq", "value": hashed.stdout, "labels": {"tags": ["christchurch-like"]}}]}),
    );
    assert_eq!((status, added["added"].as_u64()), (200, Some(1)), "{added}");

    // Published to the second platform, which follows it.
    let (_, first_fp) = identity(&first);
    let (_, second_fp) = identity(&second);
    for (dir, admin, server, to, fp) in
        [(first_dir.path(), &first_admin, &first, &second, &second_fp), (second_dir.path(), &second_admin, &second, &first, &first_fp)]
    {
        let (url, server) = (format!("http://{}", to.addr), format!("http://{}", server.addr));
        let run = tocsin_in(dir, &["peer", "add", &url, "--fingerprint", fp, "--role", "platform", "--server", &server, "--token", admin]);
        assert_eq!(run.code, 0, "{}", run.stderr);
    }
    let (status, published) = call(&first, &first_admin, "POST", "/v1/banks/videos/subscribers", json!({"peer": "clipshare"}));
    assert_eq!(status, 204, "{published}");
    let (status, subscribed) = call(
        &second,
        &second_admin,
        "POST",
        "/v1/subscriptions",
        json!({"peer": "videohost", "bank": "videos", "video_share": "query", "video_percent": 80}),
    );
    assert_eq!(status, 201, "{subscribed}");
    wait("the second platform pulled the video", || {
        let (_, signals) = call(&second, &second_admin, "GET", "/v1/banks/videohost.videos/signals", Value::Null);
        signals.as_array()?.iter().find(|s| s["type"] == "vpdq").cloned()
    });

    let (status, result) = scan(&second, &second_admin, "video/webm", &copy());
    assert_eq!((status, result["verdict"].as_str()), (200, Some("block")), "{result}");
    let m = video_match(&result);
    assert_eq!(m["bank"], "videohost.videos", "{m}");
    assert_eq!(m["labels"]["tags"], json!(["christchurch-like"]), "{m}");
}

#[test]
fn a_video_held_for_review_shows_its_matched_frames_in_greyscale_one_key_frame_each() {
    let dir = tempfile::tempdir().expect("temp dir");
    let admin = tocsin_in(dir.path(), &["admin", "token", "--data", ".", "--account", "tns", "--role", "admin"]).stdout.trim().to_owned();
    let node = Node::start(dir.path(), &["--role", "platform", "--origin", "http://127.0.0.1:9"], &[]);
    crate::console::account(&node, &admin, "mod-1", "reviewer");
    std::fs::write(dir.path().join("clip.mp4"), clip()).expect("writes");
    let hashed = tocsin_in(dir.path(), &["hash", "--format", "vpdq", "--seconds-per-hash", "0", "clip.mp4"]);
    assert_eq!(hashed.code, 0, "{}", hashed.stderr);
    let (status, _) = call(&node, &admin, "POST", "/v1/banks", json!({"name": "watch", "action": "review"}));
    assert_eq!(status, 201);
    let (status, _) =
        call(&node, &admin, "POST", "/v1/banks/watch/signals", json!({"signals": [{"type": "vpdq", "value": hashed.stdout}]}));
    assert_eq!(status, 200);

    let (status, result) = scan(&node, &admin, "video/webm", &copy());
    assert_eq!((status, result["verdict"].as_str()), (200, Some("review")), "{result}");
    let id = result["match_id"].as_str().expect("kept for review").to_owned();
    let seconds = video_match(&result)["video"]["matched_seconds"].as_array().expect("key frames").clone();
    assert!((1..=8).contains(&seconds.len()), "{result}");

    let cookie = crate::console::signed_in(&node, "mod-1");
    let (status, _, page) = node.call_with("GET", "/console/review", &[&cookie], "", b"");
    assert_eq!(status, 200, "{page}");
    for n in 0..seconds.len() {
        assert!(page.contains(&format!("/console/match-preview/{id}/{n}\"")), "key frame {n} in the strip: {page}");
    }
    assert_eq!(page.matches("class=\"reveal\"").count(), seconds.len(), "each frame revealed on its own");

    let (status, head, _) = node.call_with("GET", &format!("/console/match-preview/{id}/0"), &[&cookie], "", b"");
    assert_eq!(status, 200, "{head}");
    assert!(head.to_ascii_lowercase().contains("content-type: image/png"), "{head}");
    let png = body_bytes(&node, &format!("/console/match-preview/{id}/0"), &cookie);
    let frame = image::load_from_memory(&png).expect("a PNG");
    assert_eq!(frame.width(), 320);
    assert!(matches!(frame.color(), image::ColorType::L8 | image::ColorType::L16), "greyscale: {:?}", frame.color());
    assert_eq!(node.call_with("GET", &format!("/console/match-preview/{id}/{}", seconds.len()), &[&cookie], "", b"").0, 404);
    assert_eq!(node.call("GET", &format!("/console/match-preview/{id}/0"), None, "", b"").0, 401, "moderators only");
}

/// The body of `GET path` with `header`, as bytes (an image).
fn body_bytes(node: &Node, path: &str, header: &str) -> Vec<u8> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(&node.addr).expect("connects");
    let request = format!("GET {path} HTTP/1.1\r\nHost: {}\r\n{header}\r\nConnection: close\r\n\r\n", node.addr);
    stream.write_all(request.as_bytes()).expect("sent");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).expect("read");
    let at = response.windows(4).position(|w| w == b"\r\n\r\n").expect("a head") + 4;
    response.split_off(at)
}

#[test]
fn a_still_banked_as_an_image_is_found_inside_an_uploaded_video() {
    let dir = tempfile::tempdir().expect("temp dir");
    let admin = tocsin_in(dir.path(), &["admin", "token", "--data", ".", "--account", "tns", "--role", "admin"]).stdout.trim().to_owned();
    let node = Node::start(dir.path(), &["--role", "platform", "--origin", "http://127.0.0.1:9"], &[]);
    // The clip's picture at 2 s, saved as an image and banked by its PDQ hash.
    std::fs::write(workshop().join("for-still.mp4"), clip()).expect("writes");
    let still = ffmpeg(workshop(), &["-ss", "2", "-i", "for-still.mp4", "-frames:v", "1"], "still.png");
    std::fs::write(dir.path().join("still.png"), &still).expect("writes");
    let hashed = tocsin_in(dir.path(), &["hash", "still.png"]);
    let pdq = hashed.stdout.split('\t').next().expect("a hash").to_owned();
    let (status, _) = call(&node, &admin, "POST", "/v1/banks", json!({"name": "stills", "action": "block"}));
    assert_eq!(status, 201);
    let (status, _) = call(&node, &admin, "POST", "/v1/banks/stills/signals", json!({"signals": [{"type": "pdq", "value": pdq}]}));
    assert_eq!(status, 200);

    let (status, result) = scan(&node, &admin, "video/webm", &copy());
    assert_eq!((status, result["verdict"].as_str()), (200, Some("block")), "{result}");
    let matches = result["matches"].as_array().expect("matches");
    let m = matches.iter().find(|m| m["bank"] == "stills").unwrap_or_else(|| panic!("the still was not found: {result}"));
    assert_eq!((m["signal"]["type"].as_str(), m["signal"]["value"].as_str()), (Some("pdq"), Some(pdq.as_str())), "{m}");
    assert!(m["distance"].as_u64().expect("a distance") <= 31, "{m}");
    assert_eq!(matches.iter().filter(|m| m["bank"] == "stills").count(), 1, "listed once, however many frames found it");
    // The frames' hashes are not listed as signals of their own: the video's are.
    let kinds: Vec<&str> = result["signals"].as_array().expect("signals").iter().filter_map(|s| s["type"].as_str()).collect();
    assert_eq!(kinds, ["sha256", "md5", "vpdq"], "{result}");
}

#[test]
fn video_scans_past_their_own_places_are_refused_while_images_are_still_scanned() {
    let dir = tempfile::tempdir().expect("temp dir");
    let admin = tocsin_in(dir.path(), &["admin", "token", "--data", ".", "--account", "tns", "--role", "admin"]).stdout.trim().to_owned();
    let node = std::sync::Arc::new(Node::start(
        dir.path(),
        &["--role", "platform", "--origin", "http://127.0.0.1:9", "--scan-video-queue", "1"],
        &[],
    ));
    // Ten minutes of small frames: seconds of decoding, during which the one video place is taken.
    let long = ffmpeg(
        workshop(),
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=160x120:rate=30:duration=600",
            "-pix_fmt",
            "yuv420p",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
        ],
        "long.mp4",
    );
    let first = {
        let (node, admin, long) = (node.clone(), admin.clone(), long.clone());
        // Tried again while a short scan below holds the place (its small upload may arrive
        // first).
        std::thread::spawn(move || {
            loop {
                let answer = scan(&node, &admin, "video/mp4", &long);
                if answer.0 != 503 {
                    return answer;
                }
            }
        })
    };
    let image = std::fs::read(crate::helpers::data_dir().join("bridge-mods/aaa-orig.jpg")).expect("an image");
    // Once the first video holds the place, a second video is refused and an image is not.
    let refused = wait("a second video refused while the first decodes", || {
        let (status, result) = scan(&node, &admin, "video/mp4", clip());
        (status == 503).then_some(result)
    });
    assert_eq!(refused["status"], 503, "{refused}");
    let (status, result) = scan(&node, &admin, "image/jpeg", &image);
    assert_eq!(status, 200, "{result}");
    assert!(!first.is_finished(), "the long video was still being decoded (else this test proves nothing)");
    let (status, result) = first.join().expect("the first scan");
    assert_eq!((status, result["verdict"].as_str()), (200, Some("none")), "{result}");
    // Its place is back.
    assert_eq!(scan(&node, &admin, "video/mp4", clip()).0, 200);
}
