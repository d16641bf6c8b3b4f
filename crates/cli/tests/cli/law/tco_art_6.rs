//! TCO Art. 6: the platform keeps removed content, of any size, with the related data its own systems hold, six calendar months from the removal or longer while the issuing authority asks, retries a failing fetch for days and says so, and does not run as a platform without an origin to preserve from.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::orders::{LIBFAKETIME, Pair};

/// GNU `date`'s answer, as an independent calendar.
fn date(args: &[&str]) -> String {
    let out = Command::new("date").arg("-u").args(args).output().expect("date runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8").trim().to_owned()
}

/// The last millisecond of the day six calendar months after `at` (Unix ms), a shorter month
/// ending at its last day, by GNU `date`.
fn six_months_after(at: i64) -> i64 {
    let day = date(&["-d", &format!("@{}", at / 1000), "+%F"]);
    let first = date(&["-d", &format!("{} + 6 months", &format!("{}-01", &day[..7])), "+%F"]);
    let last_day: u32 = date(&["-d", &format!("{first} + 1 month - 1 day"), "+%d"]).parse().expect("a day");
    let wanted: u32 = day[8..].parse().expect("a day");
    let end = format!("{}-{:02} 23:59:59.999", &first[..7], wanted.min(last_day));
    date(&["-d", &end, "+%s%3N"]).parse().expect("ms")
}

/// Waits (at most `seconds`) for the platform's evidence of `id` to be preserved.
fn preserved(pair: &Pair, id: &str, seconds: u64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    loop {
        let order = pair.order_on_platform(id);
        if order["evidence"].as_array().is_some_and(|e| !e.is_empty() && e.iter().all(|e| e["status"] == "preserved")) {
            return order;
        }
        assert!(Instant::now() < deadline, "not preserved within {seconds} s: {order}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn blob(pair: &Pair, order: &Value) -> PathBuf {
    tocsin_server::blob_path(pair.platform_dir.path(), order["evidence"][0]["sha256"].as_str().expect("hash"))
}

fn wait_gone(path: &Path) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while path.exists() {
        assert!(Instant::now() < deadline, "{} still there after 30 s", path.display());
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn content_is_kept_six_calendar_months_from_the_removal_to_the_end_of_that_day() {
    let pair = Pair::start();
    let id = pair.issue("https://media.videohost.example/v/1.jpg");
    pair.wait_for(&id, "executed");
    let order = preserved(&pair, &id, 30);
    let executed = order["timeline"].as_array().expect("timeline").iter().find(|e| e["event"] == "executed").expect("executed").clone();
    let removed_at = executed["detail"]["targets"][0]["at"].as_i64().expect("the time of removal");
    assert_eq!(order["evidence"][0]["retain_until"].as_i64(), Some(six_months_after(removed_at)), "{order}");
}

#[test]
fn a_video_larger_than_memory_allows_is_streamed_to_disk_and_kept_whole() {
    use sha2::Digest;
    let pair = Pair::start();
    let id = pair.issue("https://videohost.example/video.mp4");
    pair.wait_for(&id, "executed");
    let order = preserved(&pair, &id, 60);
    let video = crate::orders::big_video();
    let evidence = &order["evidence"][0];
    assert_eq!(evidence["size"].as_u64(), Some(video.len() as u64), "{evidence}");
    let sha256: String = sha2::Sha256::digest(video).iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(evidence["sha256"].as_str(), Some(sha256.as_str()));
    assert_eq!(std::fs::metadata(blob(&pair, &order)).expect("the blob").len(), video.len() as u64);
    assert_eq!(evidence["content_type"], "video/mp4");
    let incoming = pair.platform_dir.path().join("evidence/incoming");
    assert_eq!(std::fs::read_dir(incoming).expect("the folder").count(), 0, "no partial file is left");
}

#[test]
fn content_the_authority_asks_to_keep_stays_past_six_months_until_it_releases_it() {
    assert!(Path::new(LIBFAKETIME).exists(), "scripts/test installs faketime");
    let later = [("LD_PRELOAD", LIBFAKETIME), ("FAKETIME", "+200d"), ("FAKETIME_DONT_FAKE_MONOTONIC", "1")];
    let mut pair = Pair::start();
    let kept = pair.issue("https://media.videohost.example/v/1.jpg");
    let other = pair.issue("https://videohost.example/page");
    pair.wait_for(&kept, "executed");
    pair.wait_for(&other, "executed");
    let (kept_blob, other_blob) = (blob(&pair, &preserved(&pair, &kept, 30)), blob(&pair, &preserved(&pair, &other, 30)));

    let reason = "Investigation 26/4411 before the Paris court";
    let asked = pair.cli_on_authority(&pair.issuer, &["order", "preserve", &kept, "--reason", reason]);
    assert_eq!(asked.code, 0, "{}", asked.stderr);
    let deadline = Instant::now() + Duration::from_secs(30);
    while pair.order_on_platform(&kept)["preservation_hold"]["reason"] != reason {
        assert!(Instant::now() < deadline, "no hold within 30 s: {}", pair.order_on_platform(&kept));
        std::thread::sleep(Duration::from_millis(50));
    }
    let timeline = pair.order_on_authority(&kept)["timeline"].clone();
    assert!(timeline.as_array().expect("timeline").iter().any(|e| e["event"] == "preservation_held"), "{timeline}");

    // 200 days on: the other order's content is deleted, the held one's is not.
    pair.restart_platform_with(&later);
    wait_gone(&other_blob);
    assert!(kept_blob.exists(), "held content is kept past its six months");

    // Released (by messages between clocks that agree), it goes at its next look.
    pair.restart_platform();
    let released = pair.cli_on_authority(&pair.issuer, &["order", "preserve", &kept, "--release", "--reason", "Case closed"]);
    assert_eq!(released.code, 0, "{}", released.stderr);
    let deadline = Instant::now() + Duration::from_secs(30);
    while pair.order_on_platform(&kept)["preservation_hold"]["released_at"].is_null() {
        assert!(Instant::now() < deadline, "not released within 30 s");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(kept_blob.exists(), "within its six months, released content stays");
    pair.restart_platform_with(&later);
    wait_gone(&kept_blob);
}

#[test]
fn only_the_issuing_authority_asks_to_keep_content_and_only_for_its_own_orders() {
    let pair = Pair::start();
    let id = pair.issue("https://media.videohost.example/v/1.jpg");
    pair.wait_for(&id, "executed");
    let platform = pair.cli_on_platform(&["order", "preserve", &id, "--reason", "x"]);
    assert!(platform.stderr.contains("403"), "a platform's admin does not ask: {}", platform.stderr);
    let unknown = pair.cli_on_authority(&pair.issuer, &["order", "preserve", "01M8NBJZ9R3XRCERC33TX8ZJ43", "--reason", "x"]);
    assert!(unknown.stderr.contains("404"), "{}", unknown.stderr);
    let no_hold = pair.cli_on_authority(&pair.issuer, &["order", "preserve", &id, "--release", "--reason", "x"]);
    assert_eq!(no_hold.code, 0, "sent: the platform refuses it");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let order = pair.order_on_authority(&id);
        if order["delivery_problem"]["state"] == "refused" {
            assert!(order["delivery_problem"]["error"].as_str().expect("error").contains("no preservation hold"), "{order}");
            break;
        }
        assert!(Instant::now() < deadline, "not refused within 30 s: {order}");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(pair.order_on_platform(&id)["preservation_hold"].is_null(), "a refused message changes nothing");
}

#[test]
fn a_fetch_that_keeps_failing_is_tried_again_and_the_escalation_webhook_hears_of_it_once() {
    let pair = Pair::start();
    let id = pair.issue("https://videohost.example/missing");
    pair.wait_for(&id, "executed");
    let deadline = Instant::now() + Duration::from_secs(60);
    let alerts =
        || pair.hooks.lock().expect("lock").answered.iter().filter(|(_, _, body)| body.contains("\"preservation.failing\"")).count();
    while alerts() == 0 {
        assert!(Instant::now() < deadline, "no alert within 60 s: {}", pair.order_on_platform(&id));
        std::thread::sleep(Duration::from_millis(200));
    }
    let evidence = pair.order_on_platform(&id)["evidence"][0].clone();
    assert_eq!(evidence["status"], "failed");
    assert!(evidence["error"].as_str().expect("error").contains("404"), "{evidence}");
    // Still being tried: the fifth attempt comes 8 s after the fourth; the alert is not repeated.
    std::thread::sleep(Duration::from_secs(10));
    let attempts = pair.platform_log_types().iter().filter(|t| *t == "evidence.failed").count();
    assert!(attempts >= 5, "{attempts} attempts");
    assert_eq!(alerts(), 1, "told once");
    assert!(pair.platform_log_types().contains(&"evidence.failing".to_owned()));
}

#[test]
fn a_platform_without_an_origin_to_preserve_from_refuses_to_start() {
    let dir = tempfile::tempdir().expect("dir");
    let run =
        crate::helpers::tocsin_in(dir.path(), &["serve", "--data", ".", "--listen", "127.0.0.1:0", "--name", "x", "--role", "platform"]);
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains("--origin") && run.stderr.contains("Art. 6"), "{}", run.stderr);
}

#[test]
fn the_related_data_the_platforms_systems_hold_is_asked_for_and_kept_with_the_content() {
    let pair = Pair::start();
    let id = pair.issue("https://media.videohost.example/v/1.jpg");
    pair.wait_for(&id, "executed");
    let order = preserved(&pair, &id, 30);
    let related = &order["evidence"][0]["related_data"];
    assert_eq!(related, &serde_json::json!({ "uploaded_at": "2026-12-01T08:00:00Z", "account": "user-4411" }), "{order}");
    let asked = pair.hooks.lock().expect("lock").related.clone();
    let question: Value = serde_json::from_str(asked.first().expect("asked once")).expect("JSON");
    assert_eq!(question["event"], "preservation.related_data");
    assert_eq!(
        (question["order_id"].as_str(), question["url"].as_str()),
        (Some(id.as_str()), Some("https://media.videohost.example/v/1.jpg"))
    );
}
