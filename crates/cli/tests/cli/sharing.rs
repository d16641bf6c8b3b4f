//! Bank sharing end to end: the authority's bank, fed by the platform's hashes of what its order
//! removed, published to a second platform, which blocks a mirrored re-upload too; a dispute from
//! the second platform reaches the publisher; pulls that are not signed by a subscriber, and
//! batches not signed by the publisher, are refused.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helpers::{Node, tocsin_in};
use crate::orders::{Pair, identity};

pub(crate) fn call(node: &Node, token: &str, method: &str, path: &str, body: Value) -> (u16, Value) {
    let bytes = if body.is_null() { Vec::new() } else { body.to_string().into_bytes() };
    let (status, _, text) = node.call(method, path, Some(token), if body.is_null() { "" } else { "application/json" }, &bytes);
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Waits (at most 30 s) until `check` gives a value.
pub(crate) fn wait<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(Instant::now() < deadline, "{what}: not within 30 s");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Meta's resized copy of the origin's image, mirrored and encoded again.
fn mirrored_copy() -> Vec<u8> {
    let resized = std::fs::read(crate::helpers::data_dir().join("bridge-mods/shrink-a-little.jpg")).expect("reference image");
    let decoded = image::load_from_memory(&resized).expect("decodes").fliph().to_rgb8();
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 75).encode_image(&decoded).expect("encodes");
    out
}

#[test]
fn a_bank_the_authority_publishes_blocks_a_re_upload_at_a_second_platform_which_can_dispute_it() {
    let pair = Pair::start();
    let id = pair.issue("https://media.videohost.example/v/1.jpg");
    pair.wait_for(&id, "executed");

    // The platform tells the authority the hashes of what it removed; they go into the
    // authority's stay-down bank with the order as provenance, kept apart (matches held for
    // review, never blocked) until the authority confirms them.
    let pdq = wait("the authority's bank holds the image's PDQ hash", || {
        let (_, signals) = call(&pair.authority, &pair.admin, "GET", "/v1/banks/stay-down/signals", Value::Null);
        signals.as_array()?.iter().find(|s| s["type"] == "pdq" && s["provenance"]["reference"] == id.as_str()).cloned()
    });
    assert_eq!((pdq["provenance"]["source"].as_str(), pdq["state"].as_str()), (Some("order"), Some("disputed")), "{pdq}");

    // A second platform, pulling every second, and the two nodes confirm each other's keys.
    let second_dir = tempfile::tempdir().expect("temp dir");
    let second_admin =
        tocsin_in(second_dir.path(), &["admin", "token", "--data", ".", "--account", "tns-2", "--role", "admin"]).stdout.trim().to_owned();
    let second = Node::start(
        second_dir.path(),
        &["--name", "clipshare", "--role", "platform", "--bank-pull-seconds", "1", "--origin", "http://127.0.0.1:9"],
        &[],
    );
    let (_, second_fp) = identity(&second);
    let (_, authority_fp) = identity(&pair.authority);
    let added = pair.cli_on_authority(
        &pair.admin,
        &["peer", "add", &format!("http://{}", second.addr), "--fingerprint", &second_fp, "--role", "platform"],
    );
    assert_eq!(added.code, 0, "{}", added.stderr);
    let server = format!("http://{}", second.addr);
    let added = tocsin_in(
        second_dir.path(),
        &[
            "peer",
            "add",
            &format!("http://{}", pair.authority.addr),
            "--fingerprint",
            &authority_fp,
            "--role",
            "authority",
            "--server",
            &server,
            "--token",
            &second_admin,
        ],
    );
    assert_eq!(added.code, 0, "{}", added.stderr);

    // Not published yet: the second platform's subscription cannot pull.
    let (status, sub) = call(&second, &second_admin, "POST", "/v1/subscriptions", json!({"peer": "police-nl", "bank": "stay-down"}));
    assert_eq!((status, sub["bank"].as_str()), (201, Some("police-nl.stay-down")), "{sub}");
    let refused = wait("the refused pull is recorded", || {
        let (_, subs) = call(&second, &second_admin, "GET", "/v1/subscriptions", Value::Null);
        subs[0]["error"].as_str().map(str::to_owned)
    });
    assert!(refused.contains("403") && refused.contains("not published to this peer"), "{refused}");

    let (status, _) = call(&pair.authority, &pair.admin, "POST", "/v1/banks/stay-down/subscribers", json!({"peer": "clipshare"}));
    assert_eq!(status, 204);
    let copy = mirrored_copy();
    // Unconfirmed, the platform's report only holds the copy for review at the second platform.
    let held = wait("the second platform holds the mirrored copy for review", || {
        let (status, _, body) = second.call("POST", "/v1/scan", Some(&second_admin), "image/jpeg", &copy);
        assert_eq!(status, 200, "{body}");
        let result: Value = serde_json::from_str(&body).expect("JSON");
        assert_ne!(result["verdict"], "block", "blocked on the platform's word alone: {result}");
        (result["verdict"] == "review").then_some(result)
    });
    assert_eq!(held["verdict"], "review");
    // The authority confirms the platform's hashes: from now on they block.
    let (_, signals) = call(&pair.authority, &pair.admin, "GET", "/v1/banks/stay-down/signals", Value::Null);
    for s in signals.as_array().expect("signals").iter().filter(|s| s["provenance"]["reference"] == id.as_str()) {
        let (status, confirmed) = call(
            &pair.authority,
            &pair.issuer,
            "POST",
            &format!("/v1/banks/stay-down/signals/{}/state", s["num"]),
            json!({"state": "active", "reason": "the image removed on our order"}),
        );
        assert_eq!((status, confirmed["state"].as_str()), (200, Some("active")), "{confirmed}");
    }
    let blocked = wait("the second platform blocks the mirrored copy", || {
        let (status, _, body) = second.call("POST", "/v1/scan", Some(&second_admin), "image/jpeg", &copy);
        assert_eq!(status, 200, "{body}");
        let result: Value = serde_json::from_str(&body).expect("JSON");
        (result["verdict"] == "block").then_some(result)
    });
    let m = blocked["matches"].as_array().expect("matches").iter().find(|m| m["signal"]["type"] == "pdq").expect("a PDQ match").clone();
    assert_eq!(m["bank"], "police-nl.stay-down");
    assert_eq!(m["provenance"]["source"], "exchange");
    assert_eq!(m["provenance"]["reference"], authority_fp.as_str(), "the publisher, not the order: {m}");
    let (_, subs) = call(&second, &second_admin, "GET", "/v1/subscriptions", Value::Null);
    assert!(subs[0]["error"].is_null() && subs[0]["cursor"].as_i64() > Some(0), "{subs}");

    // The second platform disputes it: held for review there at once, and the publisher marks it.
    let num = m["num"].as_i64().expect("num");
    let (status, changed) = call(
        &second,
        &second_admin,
        "POST",
        &format!("/v1/banks/police-nl.stay-down/signals/{num}/state"),
        json!({"state": "disputed", "reason": "a still from a news report"}),
    );
    assert_eq!((status, changed["state"].as_str()), (200, Some("disputed")), "{changed}");
    let (_, result) = {
        let (status, _, body) = second.call("POST", "/v1/scan", Some(&second_admin), "image/jpeg", &copy);
        (status, serde_json::from_str::<Value>(&body).expect("JSON"))
    };
    assert_eq!(result["verdict"], "review", "{result}");
    let published = wait("the publisher marks the signal disputed", || {
        let (_, signals) = call(&pair.authority, &pair.admin, "GET", "/v1/banks/stay-down/signals", Value::Null);
        signals.as_array()?.iter().find(|s| s["type"] == "pdq" && s["state"] == "disputed").cloned()
    });
    assert_eq!(published["num"], pdq["num"]);
    let withdraw = call(
        &second,
        &second_admin,
        "POST",
        &format!("/v1/banks/police-nl.stay-down/signals/{num}/state"),
        json!({"state": "withdrawn", "reason": "mine"}),
    );
    assert_eq!(withdraw.0, 409, "only the publisher withdraws: {}", withdraw.1);
    let url = format!("http://{}", pair.authority.addr);
    let log = tocsin_in(pair.authority_dir.path(), &["log", "verify", "--url", &url, "--token", &pair.admin]);
    assert_eq!(log.code, 0, "{}", log.stderr);
}

#[test]
fn a_platform_reports_only_what_the_order_named_once_and_cannot_fill_the_authoritys_bank() {
    reports_only_what_the_order_named(Pair::start());
}

#[test]
fn on_postgres_a_platform_reports_only_what_the_order_named_once_and_cannot_fill_the_authoritys_bank() {
    reports_only_what_the_order_named(Pair::start_on_postgres());
}

fn reports_only_what_the_order_named(pair: Pair) {
    use tocsin_wire::{Envelope, Kind, PROTOCOL_VERSION, Ulid};
    let id = pair.issue("https://media.videohost.example/v/1.jpg");
    pair.wait_for(&id, "executed");
    let signals_now = || {
        let (_, signals) = call(&pair.authority, &pair.admin, "GET", "/v1/banks/stay-down/signals", Value::Null);
        signals.as_array().expect("signals").len()
    };
    // The platform's own report of the image (three hashes) arrives.
    wait("the platform's report", || (signals_now() == 3).then_some(()));
    let key = tocsin_server::Identity::load_or_create(pair.platform_dir.path()).expect("key");
    let hex = |n: u8, len: usize| format!("{n:02x}").repeat(len / 2);
    let report = |n: u8, url: &str, signals: Value| {
        let envelope = Envelope {
            v: PROTOCOL_VERSION,
            id: Ulid::new(crate::orders::now_ms(), [60 + n; 10]),
            kind: Kind::RemovedContent,
            from: pair.platform_jwk.thumbprint(),
            to: pair.authority_jwk.thumbprint(),
            sent_at: crate::orders::now_ms(),
            body: json!({"order_id": id, "url": url, "signals": signals}),
        };
        let jws = tocsin_wire::seal(&envelope, |m| key.sign(m));
        let (status, _, reply) = pair.authority.call("POST", "/v1/inbox", None, "application/jose", jws.as_bytes());
        (status, reply)
    };
    let sha = |n: u8| json!({"type": "sha256", "value": hex(n, 64)});
    for (n, url, signals, why) in [
        (1, "https://elsewhere.example/harmless.jpg", json!([sha(1)]), "does not name"),
        (2, "https://media.videohost.example/v/1.jpg", json!([sha(2)]), "reported already"),
        (3, "https://media.videohost.example/v/1.jpg", json!([sha(3), sha(4), sha(5)]), "each kind at most"),
        (4, "https://media.videohost.example/v/1.jpg", json!([{"type": "url", "value": "https://harmless.example/"}]), "each kind at most"),
    ] {
        let (status, reply) = report(n, url, signals);
        assert_eq!(status, 409, "{why}: {reply}");
        assert!(reply.contains(why), "{why}: {reply}");
    }
    assert_eq!(signals_now(), 3, "nothing reached the authority's bank");
}

#[test]
fn pulls_not_signed_by_a_subscriber_are_refused_and_change_nothing() {
    let pair = Pair::start();
    let authority = &pair.authority;
    let pull = |after: u64, signed: Option<&str>| {
        let header = signed.map(|jws| format!("Tocsin-Pull: {jws}"));
        authority.call_with("GET", &format!("/v1/banks/stay-down/changes?after={after}"), header.as_slice(), "", b"").0
    };
    let changes = |signed: Option<&str>| pull(0, signed);
    assert_eq!(changes(None), 401);
    assert_eq!(changes(Some("not-a-jws")), 403);
    // Signed by the platform, a peer of the authority, but the bank is not published to it.
    let platform_key = tocsin_server::Identity::load_or_create(pair.platform_dir.path()).expect("key");
    let (_, authority_fp) = identity(authority);
    let envelope = tocsin_wire::Envelope {
        v: tocsin_wire::PROTOCOL_VERSION,
        id: "01M8NBJZ9R3XRCERC33TX8ZJ43".parse().expect("ulid"),
        kind: tocsin_wire::Kind::BankPull,
        from: platform_key.jwk().thumbprint(),
        to: authority_fp,
        sent_at: std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_millis() as u64,
        body: json!({"bank": "stay-down", "after": 0}),
    };
    let signed = tocsin_wire::seal(&envelope, |m| platform_key.sign(m));
    assert_eq!(changes(Some(&signed)), 403, "not published to this peer");
    // Signed by a key no peer has.
    let stranger_dir = tempfile::tempdir().expect("temp dir");
    let stranger = tocsin_server::Identity::load_or_create(stranger_dir.path()).expect("key");
    let forged = tocsin_wire::Envelope { from: stranger.jwk().thumbprint(), ..envelope.clone() };
    assert_eq!(changes(Some(&tocsin_wire::seal(&forged, |m| stranger.sign(m)))), 403);
    // Published now: the platform's own pull is answered, for this bank and cursor only.
    let (status, _) = call(authority, &pair.admin, "POST", "/v1/banks/stay-down/subscribers", json!({"peer": "videohost"}));
    assert_eq!(status, 204);
    assert_eq!(changes(Some(&signed)), 200);
    assert_eq!(pull(5, Some(&signed)), 403, "a signed pull names its cursor");
}

/// A node that is not one: it announces key `announced` at `/.well-known/tocsin` but answers
/// every pull with a batch signed by `signer`. Runs until the test process ends.
fn impostor_publisher(announced: tocsin_server::Identity, signer: tocsin_server::Identity) -> String {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binds");
    let addr = format!("http://{}", listener.local_addr().expect("addr"));
    let url = addr.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream);
            let mut request_line = String::new();
            let mut to = String::new();
            if reader.read_line(&mut request_line).is_err() {
                continue;
            }
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                // The subscriber's fingerprint, from its signed pull, to address the batch to it.
                if let Some(jws) = line.strip_prefix("tocsin-pull: ").or_else(|| line.strip_prefix("Tocsin-Pull: "))
                    && let Ok(header) = tocsin_wire::unverified_header(jws.trim())
                {
                    to = header["kid"].as_str().unwrap_or_default().to_owned();
                }
                line.clear();
            }
            let path = request_line.split_whitespace().nth(1).unwrap_or("").to_owned();
            let reply = if path == "/.well-known/tocsin" {
                let jwk = announced.jwk();
                json!({"name": "impostor", "public_url": url, "roles": ["authority"], "protocol_version": "tocsin/0.1", "fingerprint": jwk.thumbprint(), "jwk": jwk}).to_string()
            } else {
                let body = json!({"bank": "known", "after": 0, "through": 1, "more": false,
                    "signals": [{"num": 1, "type": "md5", "value": "0".repeat(32), "labels": {}, "state": "active"}]});
                let envelope = tocsin_wire::Envelope {
                    v: tocsin_wire::PROTOCOL_VERSION,
                    id: "01M8NBJZ9R3XRCERC33TX8ZJ43".parse().expect("ulid"),
                    kind: tocsin_wire::Kind::BankChanges,
                    from: announced.jwk().thumbprint(),
                    to: to.clone(),
                    sent_at: 1,
                    body,
                };
                tocsin_wire::seal(&envelope, |m| signer.sign(m))
            };
            let mut stream = reader.into_inner();
            let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", reply.len());
            let _ = stream.write_all(head.as_bytes()).and_then(|()| stream.write_all(reply.as_bytes()));
        }
    });
    addr
}

#[test]
fn a_batch_not_signed_by_the_publishers_key_is_refused_and_nothing_is_applied() {
    let (announced_dir, signer_dir) = (tempfile::tempdir().expect("dir"), tempfile::tempdir().expect("dir"));
    let announced = tocsin_server::Identity::load_or_create(announced_dir.path()).expect("key");
    let fingerprint = announced.jwk().thumbprint();
    let publisher = impostor_publisher(announced, tocsin_server::Identity::load_or_create(signer_dir.path()).expect("key"));

    let dir = tempfile::tempdir().expect("temp dir");
    let admin = tocsin_in(dir.path(), &["admin", "token", "--data", ".", "--account", "tns", "--role", "admin"]).stdout.trim().to_owned();
    let node = Node::start(dir.path(), &["--bank-pull-seconds", "1"], &[]);
    let server = format!("http://{}", node.addr);
    let added = tocsin_in(
        dir.path(),
        &["peer", "add", &publisher, "--fingerprint", &fingerprint, "--role", "authority", "--server", &server, "--token", &admin],
    );
    assert_eq!(added.code, 0, "{}", added.stderr);
    let (status, _) = call(&node, &admin, "POST", "/v1/subscriptions", json!({"peer": "impostor", "bank": "known"}));
    assert_eq!(status, 201);
    let error = wait("the refused batch is recorded", || {
        let (_, subs) = call(&node, &admin, "GET", "/v1/subscriptions", Value::Null);
        subs[0]["error"].as_str().map(str::to_owned)
    });
    assert!(error.contains("the batch") && error.contains("signature"), "{error}");
    let (_, subs) = call(&node, &admin, "GET", "/v1/subscriptions", Value::Null);
    assert_eq!(subs[0]["cursor"], 0, "{subs}");
    let (_, signals) = call(&node, &admin, "GET", "/v1/banks/impostor.known/signals", Value::Null);
    assert_eq!(signals, json!([]), "nothing applied");
    let (_, found) = call(&node, &admin, "POST", "/v1/lookup", json!({"signals": [{"type": "md5", "value": "0".repeat(32)}]}));
    assert_eq!(found["verdict"], "none");
}
