//! Investigations between two real nodes (the e-Evidence Regulation): a data request goes from
//! the authority's node to the platform's only once validated where the law needs it, is
//! preserved at once and timed from its receipt; its answer comes back as a package encrypted to
//! the authority's package key (checked here with the stock `age` tool) under a manifest signed by
//! the platform (checked with Python's jwcrypto); refusals, extensions and lapses travel too.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;
use tocsin_wire::{Kind, Ulid};

use crate::helpers::{Database, tocsin_in};
use crate::orders::{LIBFAKETIME, Pair, log_types, now_ms};

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

/// A token for `account` with `role` on the node whose data folder is `dir`.
fn token(dir: &Path, db: &Database, account: &str, role: &str) -> String {
    // A year: the preservation tests move the platform's clock three months on.
    let run = tocsin_in(
        dir,
        &[&["admin", "token", "--data", ".", "--account", account, "--role", role, "--days", "365"][..], &db.args()].concat(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    run.stdout.trim().to_owned()
}

/// The people of an investigation: the authority's investigator (the pair's issuer) and
/// validator, and the platform's law-enforcement response operator.
struct Staff {
    validator: String,
    operator: String,
}

fn staff(pair: &Pair) -> Staff {
    Staff {
        validator: token(pair.authority_dir.path(), &pair.authority_db, "judge-bakker", "validator"),
        operator: token(pair.platform_dir.path(), &pair.platform_db, "lers-1", "operator"),
    }
}

fn on_authority(pair: &Pair, token: &str, args: &[&str]) -> crate::helpers::Run {
    pair.cli_on_authority(token, args)
}

fn on_platform(pair: &Pair, token: &str, args: &[&str]) -> crate::helpers::Run {
    let server = format!("http://{}", pair.platform_listen);
    tocsin_in(pair.platform_dir.path(), &[args, &["--server", &server, "--token", token]].concat())
}

/// `tocsin request show ID --format json` on one side, or `None` while the node has no such
/// request (it is on its way).
fn show(pair: &Pair, on_platform_side: bool, token: &str, id: &str) -> Option<Value> {
    let args = ["request", "show", id, "--format", "json"];
    let run = if on_platform_side { on_platform(pair, token, &args) } else { on_authority(pair, token, &args) };
    if run.code != 0 {
        assert!(run.stderr.contains("404"), "{}", run.stderr);
        return None;
    }
    Some(serde_json::from_str(&run.stdout).expect("JSON"))
}

/// Waits (at most 30 s) until the request shows a state starting with `state`.
fn wait(pair: &Pair, on_platform_side: bool, token: &str, id: &str, state: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let seen = show(pair, on_platform_side, token, id);
        if let Some(request) = &seen
            && request["state"].as_str().is_some_and(|s| s.starts_with(state))
        {
            return request.clone();
        }
        assert!(Instant::now() < deadline, "request {id} never became {state}: {seen:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Issues a request as the pair's investigator with `extra` arguments; its id.
fn issue(pair: &Pair, kind: &str, data: &[&str], extra: &[&str]) -> String {
    let mut args = vec!["request", "issue", "--to", "videohost", "--kind", kind];
    for d in data {
        args.extend(["--data", d]);
    }
    args.extend([
        "--identifier",
        "account:user-4411",
        "--identifier",
        "ip:203.0.113.7@2026-12-01T08:00:00+01:00",
        "--offence",
        "Public provocation to commit a terrorist offence (Directive (EU) 2017/541, Art. 5)",
        "--legal-basis",
        "Regulation (EU) 2023/1543, Art. 5; Wetboek van Strafvordering, Art. 126nc",
    ]);
    args.extend(extra);
    let run = on_authority(pair, &pair.issuer, &args);
    assert_eq!(run.code, 0, "{}", run.stderr);
    run.stdout.lines().last().expect("the id, last").to_owned()
}

/// 300 KB that no compressor or pattern could make up.
fn binary() -> Vec<u8> {
    (0..300_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8 ^ (i >> 13) as u8).collect()
}

const CSV: &[u8] = b"account,name,email,created_at\nuser-4411,J. Doe,jdoe@example.org,2025-03-02T10:11:12Z\n";

/// Runs `program args` with `stdin` (written from its own thread), its status and output.
fn run_with_input(program: &str, args: &[&str], stdin: &[u8]) -> (bool, Vec<u8>, String) {
    use std::io::Write;
    let mut child = std::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{program} runs (scripts/test installs it): {e}"));
    let mut input = child.stdin.take().expect("piped");
    let stdin = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&stdin);
    });
    let output = child.wait_with_output().expect("finishes");
    writer.join().expect("writer");
    (output.status.success(), output.stdout, String::from_utf8_lossy(&output.stderr).into_owned())
}

fn an_emergency_request_is_validated_preserved_and_answered_with_a_package_only_the_authority_opens(pair: Pair) {
    let staff = staff(&pair);
    let tomorrow = tocsin_server::node::time::rfc3339_ms(now_ms() as i64 + DAY_MS);
    let id = issue(&pair, "production", &["subscriber", "content"], &["--emergency", "--confidential-until", &tomorrow]);

    // Content data: it waits for a validator and does not leave the node.
    let waiting = show(&pair, false, &pair.issuer, &id).expect("on the authority");
    assert_eq!(waiting["state"], "awaiting_validation", "{waiting}");
    let refused = on_authority(&pair, &pair.issuer, &["request", "validate", &id]);
    assert_ne!(refused.code, 0, "an investigator cannot validate");
    assert!(refused.stderr.contains("403"), "{}", refused.stderr);
    std::thread::sleep(Duration::from_millis(1500));
    assert!(show(&pair, true, &staff.operator, &id).is_none(), "the platform has not seen it");
    let listed = on_platform(&pair, &staff.operator, &["request", "list"]);
    assert_eq!((listed.code, listed.stdout.as_str()), (0, ""), "{}", listed.stderr);

    let validated = on_authority(&pair, &staff.validator, &["request", "validate", &id]);
    assert_eq!(validated.code, 0, "{}", validated.stderr);

    // The platform: 8 hours from its receipt, preserved at once, its user not to be told yet.
    let received = wait(&pair, true, &staff.operator, &id, "received");
    let received_at = received["received_at"].as_i64().expect("received_at");
    assert_eq!(received["deadline_at"].as_i64(), Some(received_at + 8 * HOUR_MS), "{received}");
    assert_eq!(received["may_tell_user"], false, "{received}");
    assert_eq!(received["request"]["validated_by"], "judge-bakker", "{received}");
    let deadline = Instant::now() + Duration::from_secs(30);
    let preserve = loop {
        let related = pair.hooks.lock().expect("lock").related.clone();
        if let Some(call) = related.iter().find(|b| b.contains("data_request.preserve") && b.contains(&id)) {
            break serde_json::from_str::<Value>(call).expect("JSON");
        }
        assert!(Instant::now() < deadline, "no preservation call: {related:?}");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(preserve["identifiers"][0]["value"], "user-4411", "{preserve}");
    // The authority's copy runs on the platform's clock of receipt.
    let delivered = wait(&pair, false, &pair.issuer, &id, "delivered");
    assert_eq!(
        (delivered["received_at"].as_i64(), delivered["deadline_at"].as_i64()),
        (Some(received_at), Some(received_at + 8 * HOUR_MS))
    );

    // The operator answers with a CSV and 300 KB of binary.
    let files = tempfile::tempdir().expect("dir");
    let (csv, bin) = (files.path().join("subscriber.csv"), files.path().join("content.bin"));
    std::fs::write(&csv, CSV).expect("write");
    std::fs::write(&bin, binary()).expect("write");
    let answered = on_platform(
        &pair,
        &staff.operator,
        &["request", "answer", &id, "--file", csv.to_str().expect("utf-8"), "--file", bin.to_str().expect("utf-8")],
    );
    assert_eq!(answered.code, 0, "{}", answered.stderr);
    let answered = wait(&pair, false, &pair.issuer, &id, "answered");
    assert_eq!(answered["files"].as_array().map(Vec::len), Some(2), "{answered}");

    // Byte for byte at the authority.
    let out = tempfile::tempdir().expect("dir");
    let clear = out.path().join("clear");
    let fetched = on_authority(&pair, &pair.issuer, &["request", "fetch", &id, "-o", clear.to_str().expect("utf-8")]);
    assert_eq!(fetched.code, 0, "{}", fetched.stderr);
    assert_eq!(std::fs::read(clear.join("subscriber.csv")).expect("csv"), CSV);
    assert_eq!(std::fs::read(clear.join("content.bin")).expect("bin"), binary());

    // The raw package: the stock age tool opens it with the authority's package key only.
    let raw = out.path().join("raw");
    let fetched = on_authority(&pair, &pair.issuer, &["request", "fetch", &id, "--raw", "-o", raw.to_str().expect("utf-8")]);
    assert_eq!(fetched.code, 0, "{}", fetched.stderr);
    let key = pair.authority_dir.path().join("package.key");
    let age_file = std::fs::read(raw.join("content.bin.age")).expect("age file");
    assert_ne!(&age_file[..], &binary()[..age_file.len().min(300_000)], "not in clear");
    let (ok, opened, err) = run_with_input("age", &["-d", "-i", key.to_str().expect("utf-8")], &age_file);
    assert!(ok, "age -d: {err}");
    assert_eq!(opened, binary());
    let other_key = out.path().join("other.key");
    let made = std::process::Command::new("age-keygen").args(["-o", other_key.to_str().expect("utf-8")]).output().expect("age-keygen");
    assert!(made.status.success());
    let (ok, _, err) = run_with_input("age", &["-d", "-i", other_key.to_str().expect("utf-8")], &age_file);
    assert!(!ok, "another key must not open it");
    assert!(err.contains("no identity matched"), "{err}");

    // The manifest verifies with the platform's published key, in an independent JOSE library.
    let manifest = std::fs::read_to_string(raw.join("manifest.jws")).expect("manifest");
    let jwk = serde_json::to_string(&pair.platform_jwk).expect("jwk");
    let script = "import sys, json\nfrom jwcrypto import jwk, jws\nkey = jwk.JWK.from_json(sys.argv[1])\n\
        token = jws.JWS()\ntoken.deserialize(sys.stdin.read().strip())\ntoken.verify(key, alg='EdDSA')\n\
        print(token.payload.decode())\n";
    let (ok, payload, err) = run_with_input("/usr/bin/python3", &["-c", script, &jwk], manifest.as_bytes());
    assert!(ok, "jwcrypto: {err}");
    let payload: Value = serde_json::from_slice(&payload).expect("the manifest's JSON");
    assert_eq!(payload["request_id"], id.as_str());
    let listed: Vec<(&str, u64)> = payload["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|f| (f["name"].as_str().expect("name"), f["size"].as_u64().expect("size")))
        .collect();
    assert_eq!(listed, [("content.bin", 300_000), ("subscriber.csv", CSV.len() as u64)]);
    let mut changed = manifest.trim().to_owned();
    changed.insert(changed.find('.').expect("a dot") + 5, 'A');
    let (ok, _, _) = run_with_input("/usr/bin/python3", &["-c", script, &jwk], changed.as_bytes());
    assert!(!ok, "a changed manifest does not verify");

    // Every step is in both logs, as hashes and counts.
    let authority_log = log_types(&pair.authority, &pair.admin);
    for step in ["request.issued", "request.validated", "request.answer_received", "request.package_received", "request.fetched"] {
        assert!(authority_log.iter().any(|t| t == step), "{step} missing: {authority_log:?}");
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while !show(&pair, true, &staff.operator, &id).expect("there")["preserved_at"].is_i64() {
        assert!(Instant::now() < deadline, "the preservation call was never recorded as taken");
        std::thread::sleep(Duration::from_millis(50));
    }
    let platform_log = pair.platform_log_types();
    for step in ["request.received", "request.preserved", "request.answered"] {
        assert!(platform_log.iter().any(|t| t == step), "{step} missing: {platform_log:?}");
    }
    pair.verify_both_logs();
}

#[test]
fn an_emergency_request_is_validated_preserved_and_answered_with_a_package_only_the_authority_opens_on_sqlite() {
    an_emergency_request_is_validated_preserved_and_answered_with_a_package_only_the_authority_opens(Pair::start());
}

#[test]
fn an_emergency_request_is_validated_preserved_and_answered_with_a_package_only_the_authority_opens_on_postgres() {
    an_emergency_request_is_validated_preserved_and_answered_with_a_package_only_the_authority_opens(Pair::start_on_postgres());
}

#[test]
fn an_ordinary_request_is_due_in_ten_days_and_its_user_may_be_told_once_the_confidentiality_date_passes() {
    let mut pair = Pair::start();
    let staff = staff(&pair);
    let open = issue(&pair, "production", &["subscriber"], &[]);
    let tomorrow = tocsin_server::node::time::rfc3339_ms(now_ms() as i64 + DAY_MS);
    let secret = issue(&pair, "production", &["subscriber"], &["--confidential-until", &tomorrow]);
    let received = wait(&pair, true, &staff.operator, &open, "received");
    let at = received["received_at"].as_i64().expect("received_at");
    assert_eq!(received["deadline_at"].as_i64(), Some(at + 10 * DAY_MS), "{received}");
    assert_eq!(received["may_tell_user"], true, "no confidentiality date: {received}");
    let hidden = wait(&pair, true, &staff.operator, &secret, "received");
    assert_eq!(hidden["may_tell_user"], false, "{hidden}");
    // Two days on, by the platform's clock, the date has passed.
    let later = [("LD_PRELOAD", LIBFAKETIME), ("FAKETIME", "+2d"), ("FAKETIME_DONT_FAKE_MONOTONIC", "1")];
    pair.restart_platform_with(&later);
    let told = show(&pair, true, &staff.operator, &secret).expect("kept");
    assert_eq!(told["may_tell_user"], true, "{told}");
}

#[test]
fn every_annex_iii_ground_reaches_the_authority_on_sqlite() {
    every_annex_iii_ground_reaches_the_authority(Pair::start());
}

#[test]
fn every_annex_iii_ground_reaches_the_authority_on_postgres() {
    every_annex_iii_ground_reaches_the_authority(Pair::start_on_postgres());
}

fn every_annex_iii_ground_reaches_the_authority(pair: Pair) {
    let staff = staff(&pair);
    let grounds = ["cannot-identify", "not-stored", "de-facto-impossibility", "manifest-error", "not-competent", "clarification-needed"];
    for ground in grounds {
        let id = issue(&pair, "production", &["subscriber"], &[]);
        wait(&pair, true, &staff.operator, &id, "received");
        let explanation = format!("Refused as {ground}: see the explanation.");
        let refused = on_platform(&pair, &staff.operator, &["request", "refuse", &id, "--ground", ground, "--explanation", &explanation]);
        assert_eq!(refused.code, 0, "{}", refused.stderr);
        let seen = wait(&pair, false, &pair.issuer, &id, "refused");
        assert_eq!(seen["refusal"]["ground"], ground.replace('-', "_"), "{seen}");
        assert_eq!(seen["refusal"]["explanation"], explanation.as_str(), "{seen}");
        // Refused once: neither answered nor refused again.
        let again = on_platform(&pair, &staff.operator, &["request", "refuse", &id, "--ground", ground, "--explanation", "again"]);
        assert_ne!(again.code, 0, "refused twice");
    }
    // The ground's own words when the operator gives none.
    let plain = issue(&pair, "production", &["subscriber"], &[]);
    wait(&pair, true, &staff.operator, &plain, "received");
    let refused = on_platform(&pair, &staff.operator, &["request", "refuse", &plain, "--ground", "not-stored"]);
    assert_eq!(refused.code, 0, "{}", refused.stderr);
    let seen = wait(&pair, false, &pair.issuer, &plain, "refused");
    assert!(seen["refusal"]["explanation"].as_str().is_some_and(|e| e.contains("not stored")), "{seen}");
    let bad = on_platform(
        &pair,
        &staff.operator,
        &["request", "refuse", &issue(&pair, "production", &["subscriber"], &[]), "--ground", "tired", "--explanation", "x"],
    );
    assert_ne!(bad.code, 0);
    assert!(bad.stderr.contains("cannot_identify"), "the grounds are listed: {}", bad.stderr);
}

#[test]
fn a_preservation_request_lapses_at_sixty_days_or_ninety_once_extended_on_sqlite() {
    a_preservation_request_lapses_at_sixty_days_or_ninety_once_extended(Pair::start());
}

#[test]
fn a_preservation_request_lapses_at_sixty_days_or_ninety_once_extended_on_postgres() {
    a_preservation_request_lapses_at_sixty_days_or_ninety_once_extended(Pair::start_on_postgres());
}

fn a_preservation_request_lapses_at_sixty_days_or_ninety_once_extended(mut pair: Pair) {
    let staff = staff(&pair);
    let kept = issue(&pair, "preservation", &["subscriber", "traffic"], &[]);
    let lapsing = issue(&pair, "preservation", &["subscriber"], &[]);
    for id in [&kept, &lapsing] {
        let received = wait(&pair, true, &staff.operator, id, "received");
        let at = received["received_at"].as_i64().expect("received_at");
        assert_eq!(received["lapses_at"].as_i64(), Some(at + 60 * DAY_MS), "{received}");
        assert!(received["deadline_at"].is_null(), "nothing to answer: {received}");
        wait(&pair, false, &pair.issuer, id, "delivered");
    }
    let extended = on_authority(&pair, &pair.issuer, &["request", "extend", &kept]);
    assert_eq!(extended.code, 0, "{}", extended.stderr);
    let again = on_authority(&pair, &pair.issuer, &["request", "extend", &kept]);
    assert_ne!(again.code, 0, "extended once only");
    let deadline = Instant::now() + Duration::from_secs(30);
    let received_at = loop {
        let seen = show(&pair, true, &staff.operator, &kept).expect("received");
        let at = seen["received_at"].as_i64().expect("received_at");
        if seen["lapses_at"].as_i64() == Some(at + 90 * DAY_MS) {
            break at;
        }
        assert!(Instant::now() < deadline, "never extended: {seen}");
        std::thread::sleep(Duration::from_millis(50));
    };

    fn clock(days: &str) -> [(&str, &str); 3] {
        [("LD_PRELOAD", LIBFAKETIME), ("FAKETIME", days), ("FAKETIME_DONT_FAKE_MONOTONIC", "1")]
    }
    pair.restart_platform_with(&clock("+61d"));
    wait(&pair, true, &staff.operator, &lapsing, "lapsed");
    assert_eq!(show(&pair, true, &staff.operator, &kept).expect("kept")["state"], "received", "extended: still in force");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !pair.hooks.lock().expect("lock").related.iter().any(|b| b.contains("data_request.release") && b.contains(&lapsing)) {
        assert!(Instant::now() < deadline, "the platform's systems were not told to release the hold");
        std::thread::sleep(Duration::from_millis(50));
    }
    pair.restart_platform_with(&clock("+91d"));
    let lapsed = wait(&pair, true, &staff.operator, &kept, "lapsed");
    assert_eq!(lapsed["received_at"].as_i64(), Some(received_at));
    // The pair's admin token has expired by the moved clock: a year-long one reads the log.
    let admin = token(pair.platform_dir.path(), &pair.platform_db, "tns-audit", "admin");
    let platform = pair.platform.as_ref().expect("running");
    assert_eq!(log_types(platform, &admin).iter().filter(|t| *t == "request.lapsed").count(), 2);
}

#[test]
fn a_request_from_a_stranger_for_another_node_or_replayed_is_refused_and_nothing_is_stored() {
    let pair = Pair::start();
    let staff = staff(&pair);
    let platform_fp = pair.platform_jwk.thumbprint();
    let recipient = tocsin_wire::age::PackageIdentity::from_secret([9; 32]).recipient().to_string();
    let body = |id: Ulid, authority: &str, addressee: &str| {
        serde_json::json!({ "recipient": recipient, "request": {
            "id": id.to_string(), "kind": "production", "reference": "EPOC-1", "issuing_authority": authority, "addressee": addressee,
            "issued_at": now_ms(), "categories": ["subscriber"], "identifiers": [{"type": "account", "value": "user-4411"}],
            "offence": "Art. 5", "legal_basis": "Regulation (EU) 2023/1543",
        }})
    };
    let id = Ulid::new(now_ms(), [1; 10]);
    let message = pair.as_authority(Kind::DataRequest, id, &platform_fp, body(id, "police-nl", "videohost"));
    let (first, receipt) = pair.post_inbox(&message);
    assert_eq!(first, 201, "{receipt}");
    assert_eq!(pair.post_inbox(&message), (200, receipt), "a replay gets the first receipt and changes nothing");

    let stranger = {
        let key = ed25519_dalek::SigningKey::from_bytes(&[42; 32]);
        let jwk = tocsin_wire::Jwk::ed25519(&key.verifying_key().to_bytes());
        let other = Ulid::new(now_ms(), [2; 10]);
        let envelope = tocsin_wire::Envelope {
            v: tocsin_wire::PROTOCOL_VERSION,
            id: other,
            kind: Kind::DataRequest,
            from: jwk.thumbprint(),
            to: platform_fp.clone(),
            sent_at: now_ms(),
            body: body(other, "police-nl", "videohost"),
        };
        tocsin_wire::seal(&envelope, |m| ed25519_dalek::Signer::sign(&key, m).to_bytes())
    };
    let (elsewhere, impostor, misaddressed, unvalidated) =
        (Ulid::new(now_ms(), [3; 10]), Ulid::new(now_ms(), [4; 10]), Ulid::new(now_ms(), [5; 10]), Ulid::new(now_ms(), [6; 10]));
    let mut traffic = body(unvalidated, "police-nl", "videohost");
    traffic["request"]["categories"] = serde_json::json!(["traffic"]);
    for (message, want) in [
        (stranger, 403),
        (pair.as_authority(Kind::DataRequest, elsewhere, &pair.authority_jwk.thumbprint(), body(elsewhere, "police-nl", "videohost")), 409),
        (pair.as_authority(Kind::DataRequest, impostor, &platform_fp, body(impostor, "police-de", "videohost")), 409),
        (pair.as_authority(Kind::DataRequest, misaddressed, &platform_fp, body(misaddressed, "police-nl", "otherhost")), 409),
        (pair.as_authority(Kind::DataRequest, unvalidated, &platform_fp, traffic), 422),
    ] {
        let (status, reply) = pair.post_inbox(&message);
        assert_eq!(status, want, "{reply}");
    }
    let listed = on_platform(&pair, &staff.operator, &["request", "list"]);
    assert_eq!(listed.stdout.lines().count(), 1, "only the first request is kept: {}", listed.stdout);
    let kinds = pair.platform_log_types();
    assert_eq!(kinds.iter().filter(|k| *k == "request.received").count(), 1, "{kinds:?}");
}

/// A data provider on loopback: answers `POST /` with a CSV for the identifiers it is sent, and
/// counts the calls. Down (connection refused) until `start` is called with its port.
fn provider(listener: std::net::TcpListener) -> std::sync::Arc<std::sync::atomic::AtomicUsize> {
    use std::io::{BufRead, BufReader, Read, Write};
    let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = calls.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream);
            let mut length = 0usize;
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
                line.clear();
            }
            let mut body = vec![0u8; length];
            if reader.read_exact(&mut body).is_err() {
                continue;
            }
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let answer =
                serde_json::json!({ "files": [{ "name": "subscriber.csv", "content_base64url": tocsin_wire::base64url_encode(CSV) }] })
                    .to_string();
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                answer.len()
            );
            let mut stream = reader.into_inner();
            let _ = stream.write_all(head.as_bytes()).and_then(|()| stream.write_all(answer.as_bytes()));
        }
    });
    calls
}

#[test]
fn a_platform_killed_right_after_receipt_still_preserves_and_answers_once_from_its_data_provider_on_sqlite() {
    killed_right_after_receipt(false);
}

#[test]
fn a_platform_killed_right_after_receipt_still_preserves_and_answers_once_from_its_data_provider_on_postgres() {
    killed_right_after_receipt(true);
}

fn killed_right_after_receipt(on_postgres: bool) {
    // The provider's port is reserved but not listening: the platform cannot answer before it dies.
    let reserved = std::net::TcpListener::bind("127.0.0.1:0").expect("binds");
    let port = reserved.local_addr().expect("addr").port();
    drop(reserved);
    let url = format!("http://127.0.0.1:{port}/");
    let env = [("TOCSIN_DATA_PROVIDER", url.as_str())];
    let (authority_dir, platform_dir) = (tempfile::tempdir().expect("dir"), tempfile::tempdir().expect("dir"));
    let (authority_db, platform_db) = if on_postgres {
        (Database::postgres("requests_a"), Database::postgres("requests_p"))
    } else {
        (Database::sqlite(authority_dir.path()), Database::sqlite(platform_dir.path()))
    };
    let mut pair = Pair::start_with(authority_dir, platform_dir, authority_db, platform_db, &env, true);
    let staff = staff(&pair);
    let id = issue(&pair, "production", &["subscriber"], &["--emergency"]);
    wait(&pair, true, &staff.operator, &id, "received");
    pair.platform.as_mut().expect("running").kill();

    let calls = provider(std::net::TcpListener::bind(("127.0.0.1", port)).expect("the provider's port"));
    pair.restart_platform_with(&env);
    let answered = wait(&pair, false, &pair.issuer, &id, "answered");
    assert_eq!(answered["files"][0]["name"], "subscriber.csv", "{answered}");
    let out = tempfile::tempdir().expect("dir");
    let fetched = on_authority(&pair, &pair.issuer, &["request", "fetch", &id, "-o", out.path().to_str().expect("utf-8")]);
    assert_eq!(fetched.code, 0, "{}", fetched.stderr);
    assert_eq!(std::fs::read(out.path().join("subscriber.csv")).expect("csv"), CSV);
    assert!(pair.hooks.lock().expect("lock").related.iter().any(|b| b.contains("data_request.preserve") && b.contains(&id)), "preserved");
    // Answered once: one answer in each log, however often the provider was asked.
    std::thread::sleep(Duration::from_millis(500));
    assert!(calls.load(std::sync::atomic::Ordering::SeqCst) >= 1);
    assert_eq!(pair.platform_log_types().iter().filter(|t| *t == "request.answered").count(), 1);
    assert_eq!(log_types(&pair.authority, &pair.admin).iter().filter(|t| *t == "request.answer_received").count(), 1);
}

#[test]
fn a_threat_report_reaches_the_authority_fires_its_escalation_webhook_once_and_tops_its_console_until_acknowledged() {
    let pair = Pair::start();
    let staff = staff(&pair);
    crate::console::account(&pair.authority, &pair.admin, "night-desk", "issuer");
    crate::console::account(&pair.authority, &pair.admin, "judge-on-call", "validator");
    let dir = tempfile::tempdir().expect("dir");
    let post = dir.path().join("post.txt");
    std::fs::write(&post, "Tomorrow at 8:00, the school on the canal.").expect("write");
    let sent = on_platform(
        &pair,
        &staff.operator,
        &[
            "threat",
            "report",
            "--to",
            "police-nl",
            "--url",
            "https://VideoHost.example/watch?v=xyz",
            "--reason",
            "The uploader announces an attack on a named school tomorrow at 08:00.",
            "--published-at",
            "2026-12-07T21:14:00+01:00",
            "--location",
            "Account user-4411; uploaded from 203.0.113.7; profile says Utrecht.",
            "--file",
            post.to_str().expect("utf-8"),
        ],
    );
    assert_eq!(sent.code, 0, "{}", sent.stderr);
    let id = sent.stdout.trim().to_owned();

    // The escalation webhook fires once (its first call is refused by the test's hook, so it is
    // retried), with what the authority needs to act.
    let deadline = Instant::now() + Duration::from_secs(30);
    let calls = loop {
        let calls: Vec<Value> = pair
            .hooks
            .lock()
            .expect("lock")
            .answered
            .iter()
            .filter_map(|(_, _, body)| serde_json::from_str::<Value>(body).ok())
            .filter(|b| b["event"] == "threat_report.received")
            .collect();
        if !calls.is_empty() {
            break calls;
        }
        assert!(Instant::now() < deadline, "the escalation webhook was not called");
        std::thread::sleep(Duration::from_millis(50));
    };
    std::thread::sleep(Duration::from_millis(1500));
    let again = pair.hooks.lock().expect("lock").answered.iter().filter(|(_, _, b)| b.contains("threat_report.received")).count();
    assert_eq!((calls.len(), again), (1, 1), "once");
    assert_eq!(calls[0]["id"], id.as_str());
    assert_eq!(calls[0]["url"], "https://videohost.example/watch?v=xyz");
    assert_eq!(calls[0]["from"], "videohost");

    let listed = on_authority(&pair, &pair.issuer, &["threat", "list"]);
    assert!(listed.stdout.starts_with(&format!("{id}\treceived\tvideohost\tunacknowledged")), "{}", listed.stdout);

    // The console's first line on every page, for the authority's staff, until acknowledged.
    for name in ["night-desk", "judge-on-call"] {
        let cookie = crate::console::signed_in(&pair.authority, name);
        for page in ["/console/requests", "/console/threats"] {
            let (status, _, html) = pair.authority.call_with("GET", page, &[&cookie], "", b"");
            assert_eq!(status, 200, "{html}");
            let main = html.split("<main id=\"main\">").nth(1).expect("main");
            assert!(main.starts_with("<div class=\"threat\" role=\"alert\">"), "{name} {page}: {main}");
        }
    }
    let cookie = crate::console::signed_in(&pair.authority, "night-desk");
    let (_, _, html) = pair.authority.call_with("GET", "/console/threats", &[&cookie], "", b"");
    assert!(html.contains("Account user-4411; uploaded from 203.0.113.7") && html.contains("post.txt"), "{html}");
    let acknowledged = on_authority(&pair, &pair.issuer, &["threat", "acknowledge", &id]);
    assert_eq!(acknowledged.code, 0, "{}", acknowledged.stderr);
    let (_, _, html) = pair.authority.call_with("GET", "/console/requests", &[&cookie], "", b"");
    assert!(!html.contains("role=\"alert\""), "gone once acknowledged: {html}");
    let twice = on_authority(&pair, &pair.issuer, &["threat", "acknowledge", &id]);
    assert_ne!(twice.code, 0);
    assert!(log_types(&pair.authority, &pair.admin).iter().any(|t| t == "threat.acknowledged"));
}

#[test]
fn a_validator_sees_what_waits_for_them_in_the_console_and_validates_it_there() {
    let pair = Pair::start();
    crate::console::account(&pair.authority, &pair.admin, "judge-on-call", "validator");
    let id = issue(&pair, "production", &["traffic"], &[]);
    let cookie = crate::console::signed_in(&pair.authority, "judge-on-call");
    let (status, _, html) = pair.authority.call_with("GET", "/console/requests", &[&cookie], "", b"");
    assert_eq!(status, 200, "{html}");
    let action = format!("/console/requests/{id}/validate");
    assert!(html.contains(&action), "{html}");
    let csrf = html.split("name=\"csrf\" value=\"").nth(1).and_then(|r| r.split('"').next()).expect("a form code");
    let form = format!("csrf={csrf}");
    let (status, head, _) = pair.authority.call_with("POST", &action, &[&cookie], "application/x-www-form-urlencoded", form.as_bytes());
    assert_eq!(status, 303, "{head}");
    let sent = wait(&pair, false, &pair.issuer, &id, "delivered");
    assert_eq!(sent["validated_by"], "judge-on-call");
}

#[test]
fn an_investigator_issues_from_the_console_and_the_platforms_staff_answer_with_files_from_theirs() {
    let pair = Pair::start();
    let staff = staff(&pair);
    crate::console::account(&pair.authority, &pair.admin, "night-desk", "issuer");
    crate::console::account(pair.platform.as_ref().expect("running"), &pair.platform_admin, "lers-desk", "operator");
    let code = |html: &str| html.split("name=\"csrf\" value=\"").nth(1).and_then(|r| r.split('"').next()).expect("a form code").to_owned();

    // The investigator's form: one emergency production request for subscriber data.
    let cookie = crate::console::signed_in(&pair.authority, "night-desk");
    let (status, _, form) = pair.authority.call_with("GET", "/console/requests/new", &[&cookie], "", b"");
    assert_eq!(status, 200, "{form}");
    assert!(form.contains("value=\"videohost\""), "{form}");
    let body = format!(
        "csrf={}&to=videohost&kind=production&categories=subscriber&identifiers=account%3Auser-4411%0D%0Aemail%3Ajdoe%40example.org\
         &offence=Art.+5&legal_basis=Regulation+%28EU%29+2023%2F1543&emergency=A+named+school+is+threatened",
        code(&form)
    );
    let (status, head, _) =
        pair.authority.call_with("POST", "/console/requests", &[&cookie], "application/x-www-form-urlencoded", body.as_bytes());
    assert_eq!(status, 303, "{head}");
    let listed = on_authority(&pair, &pair.issuer, &["request", "list"]);
    let id = listed.stdout.split('\t').next().expect("an id").to_owned();
    let received = wait(&pair, true, &staff.operator, &id, "received");
    assert_eq!(received["request"]["identifiers"][1]["value"], "jdoe@example.org", "{received}");
    assert_eq!(received["deadline_at"].as_i64(), Some(received["received_at"].as_i64().expect("at") + 8 * HOUR_MS));

    // The platform's operator answers with two files from the console, sent by curl as a
    // browser would (multipart/form-data), from an independent encoder.
    let platform = pair.platform.as_ref().expect("running");
    let cookie = crate::console::signed_in(platform, "lers-desk");
    let (_, _, page) = platform.call_with("GET", "/console/requests", &[&cookie], "", b"");
    let action = format!("/console/requests/{id}/files");
    assert!(page.contains(&action) && page.contains("enctype=\"multipart/form-data\""), "{page}");
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(dir.path().join("subscriber.csv"), CSV).expect("write");
    std::fs::write(dir.path().join("content.bin"), binary()).expect("write");
    let csrf = code(&page);
    let posted = std::process::Command::new("curl")
        .current_dir(dir.path())
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", cookie.as_str()])
        .args(["-F", &format!("csrf={csrf}"), "-F", "files=@subscriber.csv", "-F", "files=@content.bin"])
        .arg(format!("http://{}{action}", platform.addr))
        .output()
        .expect("curl (scripts/test installs it)");
    assert_eq!(String::from_utf8_lossy(&posted.stdout), "303", "{}", String::from_utf8_lossy(&posted.stderr));
    wait(&pair, false, &pair.issuer, &id, "answered");
    let out = tempfile::tempdir().expect("dir");
    let fetched = on_authority(&pair, &pair.issuer, &["request", "fetch", &id, "-o", out.path().to_str().expect("utf-8")]);
    assert_eq!(fetched.code, 0, "{}", fetched.stderr);
    assert_eq!(std::fs::read(out.path().join("subscriber.csv")).expect("csv"), CSV);
    assert_eq!(std::fs::read(out.path().join("content.bin")).expect("bin"), binary());

    // A form without its code changes nothing.
    let other = issue(&pair, "production", &["subscriber"], &[]);
    wait(&pair, true, &staff.operator, &other, "received");
    let forged = std::process::Command::new("curl")
        .current_dir(dir.path())
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", cookie.as_str(), "-F", "csrf=wrong", "-F", "files=@subscriber.csv"])
        .arg(format!("http://{}/console/requests/{other}/files", platform.addr))
        .output()
        .expect("curl");
    assert_eq!(String::from_utf8_lossy(&forged.stdout), "403");
    assert_eq!(show(&pair, true, &staff.operator, &other).expect("there")["files"].as_array().map(Vec::len), Some(0));
}

#[test]
fn with_an_enforcing_authority_notified_the_answer_waits_out_its_objection_window() {
    let mut pair = Pair::start();
    let staff = staff(&pair);
    let id = issue(&pair, "production", &["subscriber"], &["--emergency", "--enforcing-authority", "Parquet fédéral, Brussels"]);
    let received = wait(&pair, true, &staff.operator, &id, "received");
    let at = received["received_at"].as_i64().expect("received_at");
    assert_eq!(received["objection_until"].as_i64(), Some(at + 96 * HOUR_MS), "{received}");
    let dir = tempfile::tempdir().expect("dir");
    let csv = dir.path().join("subscriber.csv");
    std::fs::write(&csv, CSV).expect("write");
    let answered = on_platform(&pair, &staff.operator, &["request", "answer", &id, "--file", csv.to_str().expect("utf-8")]);
    assert_eq!(answered.code, 0, "{}", answered.stderr);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(show(&pair, false, &pair.issuer, &id).expect("there")["state"], "delivered", "held during the window");
    // Four days on, on both clocks (a node refuses messages dated a day ahead of its own).
    let later = [("LD_PRELOAD", LIBFAKETIME), ("FAKETIME", "+97h"), ("FAKETIME_DONT_FAKE_MONOTONIC", "1")];
    pair.restart_authority(&later);
    pair.restart_platform_with(&later);
    let issuer = token(pair.authority_dir.path(), &pair.authority_db, "desk-2", "issuer");
    wait(&pair, false, &issuer, &id, "answered");
}

#[test]
fn the_enforcing_authority_is_notified_and_its_no_grounds_lets_the_held_answer_go_at_once() {
    let pair = Pair::start();
    let staff = staff(&pair);
    // A third node: the authority of the State where the person lives (Art. 8).
    let dir = tempfile::tempdir().expect("dir");
    let db = Database::sqlite(dir.path());
    let (admin, desk) = (token(dir.path(), &db, "chief", "admin"), token(dir.path(), &db, "desk", "issuer"));
    let enforcing = crate::helpers::Node::start(dir.path(), &["--name", "parquet-be", "--role", "authority"], &[]);
    let server = format!("http://{}", enforcing.addr);
    let (_, enforcing_fp) = crate::orders::identity(&enforcing);
    let on_enforcing = |token: &str, args: &[&str]| tocsin_in(dir.path(), &[args, &["--server", &server, "--token", token]].concat());
    let authority_url = format!("http://{}", pair.authority.addr);
    let platform_url = format!("http://{}", pair.platform_listen);
    for (url, fp, role) in [
        (authority_url.as_str(), pair.authority_jwk.thumbprint(), "authority"),
        (platform_url.as_str(), pair.platform_jwk.thumbprint(), "platform"),
    ] {
        let added = on_enforcing(&admin, &["peer", "add", url, "--fingerprint", &fp, "--role", role]);
        assert_eq!(added.code, 0, "{}", added.stderr);
    }
    let added = on_authority(&pair, &pair.admin, &["peer", "add", &server, "--fingerprint", &enforcing_fp, "--role", "authority"]);
    assert_eq!(added.code, 0, "{}", added.stderr);
    let platform_admin = token(pair.platform_dir.path(), &pair.platform_db, "tns-2", "admin");
    let added = on_platform(&pair, &platform_admin, &["peer", "add", &server, "--fingerprint", &enforcing_fp, "--role", "authority"]);
    assert_eq!(added.code, 0, "{}", added.stderr);

    let id = issue(&pair, "production", &["subscriber"], &["--emergency", "--enforcing-authority", "parquet-be"]);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let listed = on_enforcing(&desk, &["request", "list"]);
        if listed.stdout.contains(&format!("{id}\tnotified\tnotified\tproduction\tpolice-nl")) {
            break;
        }
        assert!(Instant::now() < deadline, "never notified: {} {}", listed.stdout, listed.stderr);
        std::thread::sleep(Duration::from_millis(50));
    }
    wait(&pair, true, &staff.operator, &id, "received");
    let files = tempfile::tempdir().expect("dir");
    let csv = files.path().join("subscriber.csv");
    std::fs::write(&csv, CSV).expect("write");
    let answered = on_platform(&pair, &staff.operator, &["request", "answer", &id, "--file", csv.to_str().expect("utf-8")]);
    assert_eq!(answered.code, 0, "{}", answered.stderr);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(show(&pair, false, &pair.issuer, &id).expect("there")["state"], "delivered", "held for the objection window");

    // Only the authority the request names may close the window; it does.
    let own = on_authority(&pair, &pair.issuer, &["request", "no-grounds", &id]);
    assert_ne!(own.code, 0, "the issuing authority is not the enforcing one");
    let said = on_enforcing(&desk, &["request", "no-grounds", &id]);
    assert_eq!(said.code, 0, "{}", said.stderr);
    wait(&pair, false, &pair.issuer, &id, "answered");
    let again = on_enforcing(&desk, &["request", "no-grounds", &id]);
    assert_ne!(again.code, 0, "once");
}
