//! Orders between two real nodes: an authority issues, the platform receives and answers with a
//! signed receipt that the authority keeps; repeats, strangers and malformed messages change
//! nothing; an order issued while the platform is down is delivered once it is back.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use tocsin_wire::{Envelope, Jwk, Kind, PROTOCOL_VERSION, Ulid};

use crate::helpers::{Database, Node, tocsin_in};

/// An authority and a platform node that have confirmed each other's keys.
pub(crate) struct Pair {
    pub(crate) authority_dir: tempfile::TempDir,
    pub(crate) platform_dir: tempfile::TempDir,
    pub(crate) authority: Node,
    pub(crate) platform: Option<Node>,
    /// Tokens: the authority's admin and issuer, the platform's admin.
    pub(crate) admin: String,
    pub(crate) issuer: String,
    pub(crate) platform_admin: String,
    pub(crate) authority_jwk: Jwk,
    pub(crate) platform_jwk: Jwk,
    pub(crate) platform_listen: String,
    pub(crate) origin: String,
    hook: String,
    /// The platform's preservation webhook: the origin's `/related`.
    related: String,
    pub(crate) hooks: Arc<Mutex<Hooks>>,
    /// Dropped after the nodes (fields drop in order), which matters for PostgreSQL.
    pub(crate) authority_db: Database,
    pub(crate) platform_db: Database,
}

pub(crate) fn identity(node: &Node) -> (Jwk, String) {
    let doc: Value = serde_json::from_str(&node.get("/.well-known/tocsin").1).expect("identity");
    (serde_json::from_value(doc["jwk"].clone()).expect("jwk"), doc["fingerprint"].as_str().expect("fp").to_owned())
}

/// The authority's particulars (TCO Annex I sections A, E, F, G).
pub(crate) const AUTHORITY_PARTICULARS: [&str; 14] = [
    "--member-state",
    "NL",
    "--authority-type",
    "law_enforcement",
    "--representative",
    "J. de Vries, head of the internet referral unit",
    "--email",
    "iru@police-nl.example",
    "--contact-point",
    "+31 70 000 0000, day and night",
    "--redress-body",
    "Rechtbank Den Haag, administrative law section",
    "--redress-deadline",
    "six weeks from the order's receipt",
];

/// The platform's particulars as the authority keeps them (section A, and D for the copy).
pub(crate) const PLATFORM_PARTICULARS: [&str; 10] = [
    "--peer",
    "videohost",
    "--member-state",
    "IE",
    "--contact-point",
    "tco@videohost.example",
    "--legal-representative",
    "Videohost Ireland Ltd, Dublin",
    "--state-authority",
    "Coimisiún na Meán, tco@cnam.example",
];

pub(crate) fn token(dir: &Path, account: &str, role: &str) -> String {
    tocsin_in(dir, &["admin", "token", "--data", ".", "--account", account, "--role", role]).stdout.trim().to_owned()
}

/// The platform's flags: it serves videohost.example and its subdomains, from `origin`, whose
/// `/hook` is its action and escalation webhook.
fn platform_args<'a>(listen: &'a str, origin: &'a str, hook: &'a str, related: &'a str) -> Vec<&'a str> {
    vec![
        "--name",
        "videohost",
        "--role",
        "platform",
        "--serves",
        "videohost.example",
        "--listen",
        listen,
        "--origin",
        origin,
        "--action-webhook",
        hook,
        "--escalation-webhook",
        hook,
        "--preservation-webhook",
        related,
        // The test origin serves paths whatever their case, as IIS does.
        "--case-insensitive-paths",
    ]
}

/// The image the platform's origin serves at `/v/1.jpg` (one of Meta's PDQ reference images).
pub(crate) fn origin_image() -> Vec<u8> {
    std::fs::read(crate::helpers::data_dir().join("bridge-mods/aaa-orig.jpg")).expect("reference image")
}

/// Unix milliseconds now, as a node dates what it sends.
pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("after 1970").as_millis() as u64
}

/// The HTML page the origin serves at `/page`.
const ORIGIN_PAGE: &[u8] = b"<!doctype html><title>a page</title><p>propaganda</p>";

/// Calls the platform made to its action webhook: (delivery id, signature, body), in order,
/// and how many were refused on purpose (the first call gets a 503, to exercise the retry).
#[derive(Default)]
pub(crate) struct Hooks {
    pub(crate) answered: Vec<(String, String, String)>,
    refused: usize,
    /// Requests for `/flaky` so far.
    flaky: usize,
    /// Bodies of the requests for `/related` (the preservation webhook).
    pub(crate) related: Vec<String>,
}

/// The file a request target names, the way a file server on a case-insensitive file system
/// finds it (written out here rather than taken from Tocsin's URL code, so that the gate is
/// checked against an origin that was not made to agree with it): the query ignored, escapes
/// decoded, `.` and `..` resolved, empty segments dropped, case folded.
pub(crate) fn served_path(target: &str) -> String {
    let path = target.split(['?', '#']).next().unwrap_or("");
    let bytes = path.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |at: usize| bytes.get(at).and_then(|&b| (b as char).to_digit(16));
        if bytes[i] == b'%'
            && let (Some(high), Some(low)) = (hex(i + 1), hex(i + 2))
        {
            decoded.push((high * 16 + low) as u8);
            i += 3;
            continue;
        }
        decoded.push(bytes[i]);
        i += 1;
    }
    let decoded = String::from_utf8_lossy(&decoded).to_lowercase();
    let mut segments: Vec<&str> = Vec::new();
    for segment in decoded.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            other => segments.push(other),
        }
    }
    format!("/{}", segments.join("/"))
}

/// A video larger than anything held in memory by preservation (80 MiB), made once.
pub(crate) fn big_video() -> &'static Vec<u8> {
    static VIDEO: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    VIDEO.get_or_init(|| (0..80u32 * 1024 * 1024).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect())
}

/// What the platform's own systems say of a removed item when its preservation webhook asks.
pub(crate) const RELATED_DATA: &[u8] = br#"{"uploaded_at":"2026-12-01T08:00:00Z","account":"user-4411"}"#;

/// What the internal service answers: nothing a platform serves, and never evidence.
pub(crate) const INTERNAL_SECRET: &[u8] = b"internal service: credentials";

/// A service beside the origin that outsiders must not reach through the platform (a cloud
/// metadata endpoint, an admin page): answers every request with [`INTERNAL_SECRET`].
fn start_internal_service() -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binds");
    let addr = format!("http://{}", listener.local_addr().expect("addr"));
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request);
            let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", INTERNAL_SECRET.len());
            let _ = stream.write_all(head.as_bytes()).and_then(|()| stream.write_all(INTERNAL_SECRET));
        }
    });
    addr
}

/// A small origin server on loopback: `GET /v/1.jpg`, `GET /page`, `POST /hook` (the action
/// webhook), 404 otherwise. Runs until the test process ends.
fn start_origin() -> (String, Arc<Mutex<Hooks>>) {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binds");
    let addr = format!("http://{}", listener.local_addr().expect("addr"));
    let image = origin_image();
    let hooks = Arc::new(Mutex::new(Hooks::default()));
    let seen = hooks.clone();
    let internal = start_internal_service();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream);
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).is_err() {
                continue;
            }
            let mut headers = std::collections::HashMap::new();
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                if let Some((name, value)) = line.split_once(':') {
                    headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
                }
                line.clear();
            }
            let length: usize = headers.get("content-length").and_then(|l| l.parse().ok()).unwrap_or(0);
            let mut body = vec![0u8; length];
            if reader.read_exact(&mut body).is_err() {
                continue;
            }
            let path = served_path(request_line.split_whitespace().nth(1).unwrap_or(""));
            let mut location = String::new();
            let (status, content_type, reply): (&str, &str, &[u8]) = match path.as_str() {
                "/v/1.jpg" => ("200 OK", "image/jpeg", image.as_slice()),
                // Moved within the origin, and away to a service the platform does not serve.
                "/moved" => {
                    location = "/v/1.jpg".to_owned();
                    ("302 Found", "text/plain", &b""[..])
                }
                "/away" => {
                    location = format!("{internal}/latest/credentials");
                    ("302 Found", "text/plain", &b""[..])
                }
                "/page" => ("200 OK", "text/html", ORIGIN_PAGE),
                "/video.mp4" => ("200 OK", "video/mp4", big_video().as_slice()),
                "/v/clip.mp4" => ("200 OK", "video/mp4", crate::video::clip().as_slice()),
                // Down for the first two requests, as an origin restarting would be.
                "/flaky" => {
                    let mut hooks = seen.lock().expect("lock");
                    hooks.flaky += 1;
                    if hooks.flaky <= 2 {
                        ("503 Service Unavailable", "text/plain", &b"restarting"[..])
                    } else {
                        ("200 OK", "text/html", ORIGIN_PAGE)
                    }
                }
                // The platform's own systems, answering its preservation webhook.
                "/related" => {
                    seen.lock().expect("lock").related.push(String::from_utf8_lossy(&body).into_owned());
                    ("200 OK", "application/json", RELATED_DATA)
                }
                "/hook" => {
                    let mut hooks = seen.lock().expect("lock");
                    if hooks.refused == 0 {
                        hooks.refused += 1;
                        ("503 Service Unavailable", "text/plain", &b"busy"[..])
                    } else {
                        let header = |name: &str| headers.get(name).cloned().unwrap_or_default();
                        hooks.answered.push((
                            header("tocsin-delivery"),
                            header("tocsin-signature"),
                            String::from_utf8_lossy(&body).into_owned(),
                        ));
                        ("204 No Content", "text/plain", &b""[..])
                    }
                }
                _ => ("404 Not Found", "text/plain", &b"no"[..]),
            };
            let mut stream = reader.into_inner();
            let location = if location.is_empty() { String::new() } else { format!("Location: {location}\r\n") };
            let head = format!(
                "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n{location}Content-Length: {}\r\nConnection: close\r\n\r\n",
                reply.len()
            );
            let _ = stream.write_all(head.as_bytes()).and_then(|()| stream.write_all(reply));
        }
    });
    (addr, hooks)
}

impl Pair {
    pub(crate) fn start() -> Pair {
        let (authority_dir, platform_dir) = (tempfile::tempdir().expect("dir"), tempfile::tempdir().expect("dir"));
        let (authority_db, platform_db) = (Database::sqlite(authority_dir.path()), Database::sqlite(platform_dir.path()));
        Self::start_with(authority_dir, platform_dir, authority_db, platform_db, &[], true)
    }

    /// On SQLite, an authority that has not yet given the platform the information on its
    /// procedures and deadlines (TCO Art. 3(2)).
    pub(crate) fn start_uninformed() -> Pair {
        let (authority_dir, platform_dir) = (tempfile::tempdir().expect("dir"), tempfile::tempdir().expect("dir"));
        let (authority_db, platform_db) = (Database::sqlite(authority_dir.path()), Database::sqlite(platform_dir.path()));
        Self::start_with(authority_dir, platform_dir, authority_db, platform_db, &[], false)
    }

    /// On SQLite, the platform's process started with `env` (a clock set wrong, for one).
    pub(crate) fn start_with_platform_env(env: &[(&str, &str)]) -> Pair {
        let (authority_dir, platform_dir) = (tempfile::tempdir().expect("dir"), tempfile::tempdir().expect("dir"));
        let (authority_db, platform_db) = (Database::sqlite(authority_dir.path()), Database::sqlite(platform_dir.path()));
        Self::start_with(authority_dir, platform_dir, authority_db, platform_db, env, true)
    }

    /// Both nodes on PostgreSQL, each with a fresh database.
    pub(crate) fn start_on_postgres() -> Pair {
        let (authority_dir, platform_dir) = (tempfile::tempdir().expect("dir"), tempfile::tempdir().expect("dir"));
        Self::start_with(authority_dir, platform_dir, Database::postgres("orders_a"), Database::postgres("orders_p"), &[], true)
    }

    pub(crate) fn start_with(
        authority_dir: tempfile::TempDir,
        platform_dir: tempfile::TempDir,
        authority_db: Database,
        platform_db: Database,
        platform_env: &[(&str, &str)],
        informed: bool,
    ) -> Pair {
        let token = |dir: &Path, db: &Database, account: &str, role: &str| {
            tocsin_in(dir, &[&["admin", "token", "--data", ".", "--account", account, "--role", role][..], &db.args()].concat())
                .stdout
                .trim()
                .to_owned()
        };
        let (admin, issuer) =
            (token(authority_dir.path(), &authority_db, "chief", "admin"), token(authority_dir.path(), &authority_db, "desk-1", "issuer"));
        let platform_admin = token(platform_dir.path(), &platform_db, "tns", "admin");
        let (origin, hooks) = start_origin();
        let hook = format!("{origin}/hook");
        let related = format!("{origin}/related");
        // The authority's escalation webhook hears of orders its platform refused.
        let authority = Node::start(
            authority_dir.path(),
            &[&["--name", "police-nl", "--role", "authority", "--escalation-webhook", &hook][..], &authority_db.args()].concat(),
            &[],
        );
        // A port the OS picks (no race with other tests for a port picked beforehand); restarts
        // reuse it.
        let platform = Node::start(
            platform_dir.path(),
            &[platform_args("127.0.0.1:0", &origin, &hook, &related), platform_db.args()].concat(),
            platform_env,
        );
        let platform_listen = platform.addr.clone();
        let (authority_jwk, authority_fp) = identity(&authority);
        let (platform_jwk, platform_fp) = identity(&platform);
        let pair = Pair {
            authority_dir,
            platform_dir,
            authority,
            platform: Some(platform),
            admin,
            issuer,
            platform_admin,
            authority_jwk,
            platform_jwk,
            platform_listen,
            origin,
            hook,
            related,
            hooks,
            authority_db,
            platform_db,
        };
        let a = pair.cli_on_authority(
            &pair.admin,
            &["peer", "add", &format!("http://{}", pair.platform_listen), "--fingerprint", &platform_fp, "--role", "platform"],
        );
        assert_eq!(a.code, 0, "{}", a.stderr);
        let p = pair.cli_on_platform(&[
            "peer",
            "add",
            &format!("http://{}", pair.authority.addr),
            "--fingerprint",
            &authority_fp,
            "--role",
            "authority",
        ]);
        assert_eq!(p.code, 0, "{}", p.stderr);
        // The particulars that fill the orders' Annex I sections: the authority's, and the
        // platform's as the authority knows them (an Irish platform: cross-border).
        for args in [&AUTHORITY_PARTICULARS[..], &PLATFORM_PARTICULARS[..]] {
            let stated = pair.cli_on_authority(&pair.admin, &[&["legal", "set"][..], args].concat());
            assert_eq!(stated.code, 0, "{}", stated.stderr);
        }
        if informed {
            // As an authority that wrote to the platform two days ago (TCO Art. 3(2)): its first
            // order may go at once.
            let two_days_ago = tocsin_server::node::time::rfc3339_ms(now_ms() as i64 - 2 * 86_400_000);
            let letter = pair.cli_on_authority(
                &pair.issuer,
                &["peer", "inform", "videohost", "--given-on", &two_days_ago[..10], "--means", "letter NL-2026-0001"],
            );
            assert_eq!(letter.code, 0, "{}", letter.stderr);
        }
        pair
    }

    pub(crate) fn cli_on_authority(&self, token: &str, args: &[&str]) -> crate::helpers::Run {
        let server = format!("http://{}", self.authority.addr);
        tocsin_in(self.authority_dir.path(), &[args, &["--server", &server, "--token", token]].concat())
    }

    pub(crate) fn cli_on_platform(&self, args: &[&str]) -> crate::helpers::Run {
        let server = format!("http://{}", self.platform_listen);
        tocsin_in(self.platform_dir.path(), &[args, &["--server", &server, "--token", &self.platform_admin]].concat())
    }

    pub(crate) fn issue(&self, url: &str) -> String {
        self.issue_many(&[url])
    }

    pub(crate) fn issue_many(&self, urls: &[&str]) -> String {
        self.issue_with(urls, &[])
    }

    pub(crate) fn issue_with(&self, urls: &[&str], extra: &[&str]) -> String {
        let mut args = vec![
            "order",
            "issue",
            "--to",
            "videohost",
            "--reference",
            "NL-2026-0042",
            "--reason",
            "incite",
            "--statement",
            "Calls for attacks like the one of 3 March.",
        ];
        args.extend_from_slice(extra);
        args.extend(["--legal-basis", "Regulation (EU) 2021/784, Art. 3"]);
        for url in urls {
            args.extend(["--url", url]);
        }
        let run = self.cli_on_authority(&self.issuer, &args);
        assert_eq!(run.code, 0, "{}", run.stderr);
        run.stdout.lines().last().expect("the id").to_owned()
    }

    pub(crate) fn order_on_authority(&self, id: &str) -> Value {
        let run = self.cli_on_authority(&self.issuer, &["order", "show", id, "--format", "json"]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        serde_json::from_str(&run.stdout).expect("JSON")
    }

    /// Waits (at most 30 s) for the authority's order to reach `state` with both the platform's
    /// receipt and its feedback in the timeline.
    pub(crate) fn wait_for(&self, id: &str, state: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let order = self.order_on_authority(id);
            let events: Vec<&str> = order["timeline"].as_array().into_iter().flatten().filter_map(|e| e["event"].as_str()).collect();
            if order["state"] == state && events.contains(&"delivered") {
                return order;
            }
            assert!(Instant::now() < deadline, "not {state} within 30 s: {order}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub(crate) fn gate(&self, path: &str) -> (u16, String, String) {
        self.platform.as_ref().expect("running").call("GET", path, None, "", b"")
    }

    pub(crate) fn platform_orders(&self) -> Vec<Value> {
        let run = self.cli_on_platform(&["order", "list"]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        run.stdout.lines().map(|l| Value::String(l.to_owned())).collect()
    }

    /// Posts a raw body to the platform's inbox.
    pub(crate) fn post_inbox(&self, body: &str) -> (u16, String) {
        let node = self.platform.as_ref().expect("running");
        let (status, _, reply) = node.call("POST", "/v1/inbox", None, "application/jose", body.as_bytes());
        (status, reply)
    }

    /// A message signed with the authority's own key (read from its data folder), as its node would.
    pub(crate) fn as_authority(&self, kind: Kind, id: Ulid, to: &str, body: Value) -> String {
        let key = tocsin_server::Identity::load_or_create(self.authority_dir.path()).expect("key");
        let envelope =
            Envelope { v: PROTOCOL_VERSION, id, kind, from: self.authority_jwk.thumbprint(), to: to.to_owned(), sent_at: now_ms(), body };
        tocsin_wire::seal(&envelope, |m| key.sign(m))
    }
}

#[test]
fn an_order_reaches_the_platform_and_the_authority_keeps_its_signed_receipt() {
    let pair = Pair::start();
    let id = pair.issue("https://VideoHost.example/watch?v=abc#t=10");
    let order = pair.wait_for(&id, "executed");
    assert_eq!(order["order"]["targets"][0]["url"], "https://videohost.example/watch?v=abc", "canonical");
    let events: Vec<&str> = order["timeline"].as_array().expect("timeline").iter().map(|e| e["event"].as_str().expect("event")).collect();
    assert_eq!(events.len(), 3, "{events:?}");
    assert_eq!(events[0], "issued");
    assert!(events.contains(&"delivered") && events.contains(&"feedback"), "{events:?}");

    // The receipt is the platform's, for this message, with a log head that verifies.
    let delivered =
        &order["timeline"].as_array().expect("timeline").iter().find(|e| e["event"] == "delivered").expect("delivered")["detail"];
    let receipt = delivered["receipt"].as_str().expect("receipt");
    let envelope = tocsin_wire::verify(receipt, &pair.authority_jwk.thumbprint(), |_| Some(pair.platform_jwk.clone()))
        .expect("the platform signed it");
    assert_eq!(envelope.kind, Kind::Receipt);
    assert_eq!(envelope.body["message_id"], id.as_str());
    assert_eq!(envelope.body["received_at"], delivered["received_at"]);
    let head: tocsin_wire::TreeHead = serde_json::from_value(envelope.body["tree_head"].clone()).expect("tree head");
    head.verify(&pair.platform_jwk).expect("signed by the platform");
    assert!(head.size > envelope.body["log_index"].as_u64().expect("index"));

    // The text form, for people: state, deadline and the timeline in UTC.
    let text = pair.cli_on_authority(&pair.issuer, &["order", "show", &id]).stdout;
    assert!(text.contains("state: executed\ndeadline: 20") && text.contains("Z\tissued\n"), "{text}");

    // The hour runs from the platform's time of receipt, as its receipt states it.
    assert_eq!(order["received_at"], delivered["received_at"]);
    assert_eq!(order["deadline_at"].as_i64(), order["received_at"].as_i64().map(|r| r + 3_600_000));
    assert_eq!(order["overdue"], false);

    let on_platform = pair.platform_orders();
    assert_eq!(on_platform.len(), 1);
    assert!(on_platform[0].as_str().expect("line").starts_with(&format!("{id}\texecuted\tremoval_order")), "{on_platform:?}");

    pair.verify_both_logs();
}

/// The same message with the first character of its signature changed (still base64url).
fn with_signature_changed(jws: &str) -> String {
    let (input, signature) = jws.rsplit_once('.').expect("three parts");
    let first = if signature.starts_with('A') { 'B' } else { 'A' };
    format!("{input}.{first}{}", &signature[1..])
}

#[test]
fn repeats_strangers_misaddressed_and_malformed_messages_change_nothing() {
    repeats_and_strangers(Pair::start());
}

#[test]
fn on_postgres_repeats_strangers_misaddressed_and_malformed_messages_change_nothing() {
    repeats_and_strangers(Pair::start_on_postgres());
}

fn repeats_and_strangers(pair: Pair) {
    let platform_fp = pair.platform_jwk.thumbprint();
    let order_body = |id: Ulid| {
        serde_json::json!({
            "id": id.to_string(), "kind": "removal_order", "reference": "R-1", "issuing_authority": "police-nl",
            "addressee": "videohost", "issued_at": 1, "targets": [{"url": "https://videohost.example/x"}],
            "reasons": ["threaten"], "legal_basis": "Art. 3", "provider_may_be_told": true, "redress": "Art. 9", "language": "en",
        })
    };
    let id = Ulid::new(1_790_000_000_000, [7; 10]);
    let message = pair.as_authority(Kind::RemovalOrder, id, &platform_fp, order_body(id));
    let (first, receipt) = pair.post_inbox(&message);
    assert_eq!(first, 201, "{receipt}");
    let (again, same) = pair.post_inbox(&message);
    assert_eq!((again, &same), (200, &receipt), "a repeat gets the first receipt back");
    assert_eq!(pair.platform_orders().len(), 1, "and no second order");

    let stranger = {
        let key = ed25519_dalek::SigningKey::from_bytes(&[42; 32]);
        let jwk = Jwk::ed25519(&key.verifying_key().to_bytes());
        let other = Ulid::new(1_790_000_000_000, [8; 10]);
        let envelope = Envelope {
            v: PROTOCOL_VERSION,
            id: other,
            kind: Kind::RemovalOrder,
            from: jwk.thumbprint(),
            to: platform_fp.clone(),
            sent_at: 1,
            body: order_body(other),
        };
        tocsin_wire::seal(&envelope, |m| ed25519_dalek::Signer::sign(&key, m).to_bytes())
    };
    let elsewhere = Ulid::new(1_790_000_000_000, [9; 10]);
    let wrong_kind_body = Ulid::new(1_790_000_000_000, [10; 10]);
    let mut bad_order = order_body(wrong_kind_body);
    bad_order["reasons"] = serde_json::json!([]);
    for (message, want) in [
        (stranger, 403),
        (pair.as_authority(Kind::RemovalOrder, elsewhere, &pair.authority_jwk.thumbprint(), order_body(elsewhere)), 409),
        (pair.as_authority(Kind::RemovalOrder, wrong_kind_body, &platform_fp, bad_order), 422),
        ("not a message".to_owned(), 400),
        (with_signature_changed(&message), 403),
        (format!("{message}x"), 400),
    ] {
        let (status, reply) = pair.post_inbox(&message);
        assert_eq!(status, want, "{reply}");
        assert!(reply.contains("\"type\""), "a problem body: {reply}");
    }
    assert_eq!(pair.platform_orders().len(), 1, "nothing refused was stored");
    let verify = tocsin_in(
        pair.platform_dir.path(),
        &["log", "verify", "--url", &format!("http://{}", pair.platform_listen), "--token", &pair.platform_admin],
    );
    assert_eq!(verify.code, 0, "{}", verify.stderr);
    // Of all the messages above, one was taken in: the log holds one `message.received`.
    let node = pair.platform.as_ref().expect("running");
    let kinds = pair.platform_log_types();
    assert_eq!(kinds.iter().filter(|k| *k == "message.received").count(), 1, "{kinds:?}");
    // The refusals are counted, by reason, where an operator watches.
    let (_, _, metrics) = node.call("GET", "/metrics", Some(&pair.platform_admin), "", b"");
    for line in [
        "tocsin_messages_refused_total{reason=\"untrusted\"} 2",
        "tocsin_messages_refused_total{reason=\"malformed\"} 3",
        "tocsin_messages_refused_total{reason=\"refused\"} 1",
    ] {
        assert!(metrics.contains(line), "{line} missing: {metrics}");
    }
}

#[test]
fn an_order_is_refused_unless_its_signer_is_its_issuing_authority_and_this_node_its_addressee() {
    let pair = Pair::start();
    let platform_fp = pair.platform_jwk.thumbprint();
    for (n, (authority, addressee)) in [("police-de", "videohost"), ("police-nl", "otherhost")].into_iter().enumerate() {
        let id = Ulid::new(1_790_000_000_000, [20 + n as u8; 10]);
        let body = serde_json::json!({
            "id": id.to_string(), "kind": "removal_order", "reference": "R-9", "issuing_authority": authority,
            "addressee": addressee, "issued_at": 1, "targets": [{"url": "https://videohost.example/x"}],
            "reasons": ["threaten"], "legal_basis": "Art. 3", "provider_may_be_told": true, "redress": "Art. 9", "language": "en",
        });
        let (status, reply) = pair.post_inbox(&pair.as_authority(Kind::RemovalOrder, id, &platform_fp, body));
        assert_eq!(status, 409, "{authority} to {addressee}: {reply}");
        let named = if authority == "police-nl" { addressee } else { authority };
        assert!(reply.contains(named), "the refusal says what is wrong: {reply}");
    }
    assert!(pair.platform_orders().is_empty(), "nothing was stored");
    assert!(!pair.platform_log_types().iter().any(|t| t == "message.received"), "nor logged");
}

#[test]
fn a_peer_sends_only_what_its_confirmed_role_may_send() {
    let pair = Pair::start();
    let authority_fp = pair.authority_jwk.thumbprint();
    let platform_key = tocsin_server::Identity::load_or_create(pair.platform_dir.path()).expect("key");
    let as_platform = |kind: Kind, id: Ulid, body: Value| {
        let envelope = Envelope {
            v: PROTOCOL_VERSION,
            id,
            kind,
            from: pair.platform_jwk.thumbprint(),
            to: authority_fp.clone(),
            sent_at: now_ms(),
            body,
        };
        tocsin_wire::seal(&envelope, |m| platform_key.sign(m))
    };
    // The platform, confirmed as a platform at the authority, places a removal order there.
    let id = Ulid::new(1_790_000_000_000, [30; 10]);
    let order = serde_json::json!({
        "id": id.to_string(), "kind": "removal_order", "reference": "R-1", "issuing_authority": "videohost",
        "addressee": "police-nl", "issued_at": 1, "targets": [{"url": "https://news.example/x"}],
        "reasons": ["threaten"], "legal_basis": "Art. 3", "provider_may_be_told": true, "redress": "Art. 9", "language": "en",
    });
    let withdrawal = serde_json::json!({ "order_id": Ulid::new(1_790_000_000_000, [32; 10]).to_string(), "reason": "x" });
    for (kind, id, body) in [
        (Kind::RemovalOrder, id, order.clone()),
        (Kind::Referral, id, order),
        (Kind::Withdrawal, Ulid::new(1_790_000_000_000, [31; 10]), withdrawal),
    ] {
        let (status, _, reply) = pair.authority.call("POST", "/v1/inbox", None, "application/jose", as_platform(kind, id, body).as_bytes());
        assert_eq!(status, 403, "{kind:?}: {reply}");
        assert!(reply.contains("not-for-peer") && reply.contains("platform"), "{reply}");
    }
    let listed = pair.cli_on_authority(&pair.issuer, &["order", "list"]);
    assert_eq!(listed.stdout, "", "nothing was stored at the authority");
    assert!(!log_types(&pair.authority, &pair.admin).iter().any(|t| t == "message.received"), "nor logged");
    // And the authority's node does not answer as a platform would: a feedback it signs is
    // refused at the platform (an authority does not report executions).
    let feedback = serde_json::json!({ "order_id": id.to_string(), "state": "executed", "targets": [] });
    let (status, reply) = pair.post_inbox(&pair.as_authority(
        Kind::Feedback,
        Ulid::new(1_790_000_000_000, [33; 10]),
        &pair.platform_jwk.thumbprint(),
        feedback,
    ));
    assert_eq!(status, 403, "{reply}");
}

/// libfaketime (Debian's `faketime`), which makes a process read a clock shifted by `FAKETIME`.
pub(crate) const LIBFAKETIME: &str = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";

/// The platform's environment for a clock two hours behind.
const TWO_HOURS_BEHIND: &[(&str, &str)] = &[("LD_PRELOAD", LIBFAKETIME), ("FAKETIME", "-2h"), ("FAKETIME_DONT_FAKE_MONOTONIC", "1")];

#[test]
fn a_platform_two_hours_behind_is_timed_on_its_own_clock_and_its_skew_is_shown() {
    assert!(Path::new(LIBFAKETIME).exists(), "scripts/test installs faketime");
    timed_on_one_clock(Pair::start_with_platform_env(TWO_HOURS_BEHIND));
}

#[test]
fn on_postgres_a_platform_two_hours_behind_is_timed_on_its_own_clock_and_its_skew_is_shown() {
    assert!(Path::new(LIBFAKETIME).exists(), "scripts/test installs faketime");
    let (authority_dir, platform_dir) = (tempfile::tempdir().expect("dir"), tempfile::tempdir().expect("dir"));
    let (authority_db, platform_db) = (Database::postgres("clock_a"), Database::postgres("clock_p"));
    timed_on_one_clock(Pair::start_with(authority_dir, platform_dir, authority_db, platform_db, TWO_HOURS_BEHIND, true));
}

fn timed_on_one_clock(pair: Pair) {
    let id = pair.issue("https://media.videohost.example/v/1.jpg");
    let order = pair.wait_for(&id, "executed");
    let (received, removed) = (order["received_at"].as_i64().expect("received"), order["removed_at"].as_i64().expect("removed"));
    let now = now_ms() as i64;
    assert!((now - received - 7_200_000).abs() < 120_000, "the receipt is dated by the platform's clock, two hours back: {order}");
    assert!((0..60_000).contains(&(removed - received)), "removed within seconds on the platform's clock, not two hours: {order}");
    let peers = pair.cli_on_authority(&pair.admin, &["peer", "list"]).stdout;
    let skew: f64 = peers
        .split("clock ")
        .nth(1)
        .and_then(|c| c.trim().trim_end_matches('s').parse().ok())
        .unwrap_or_else(|| panic!("a measured clock difference: {peers}"));
    assert!((skew + 7200.0).abs() < 60.0, "the platform's clock is shown two hours behind: {peers}");
}

#[test]
fn messages_dated_far_from_the_receivers_clock_are_refused_and_change_nothing() {
    let pair = Pair::start();
    let platform_fp = pair.platform_jwk.thumbprint();
    let key = tocsin_server::Identity::load_or_create(pair.authority_dir.path()).expect("key");
    for (n, sent_at) in [1u64, 16_725_225_600_000, now_ms() + 25 * 3_600_000, now_ms() - 8 * 24 * 3_600_000].into_iter().enumerate() {
        let id = Ulid::new(1_790_000_000_000, [40 + n as u8; 10]);
        let body = serde_json::json!({
            "id": id.to_string(), "kind": "removal_order", "reference": "R-1", "issuing_authority": "police-nl",
            "addressee": "videohost", "issued_at": 1, "targets": [{"url": "https://videohost.example/x"}],
            "reasons": ["threaten"], "legal_basis": "Art. 3", "provider_may_be_told": true, "redress": "Art. 9", "language": "en",
        });
        let envelope = Envelope {
            v: PROTOCOL_VERSION,
            id,
            kind: Kind::RemovalOrder,
            from: pair.authority_jwk.thumbprint(),
            to: platform_fp.clone(),
            sent_at,
            body,
        };
        let (status, reply) = pair.post_inbox(&tocsin_wire::seal(&envelope, |m| key.sign(m)));
        assert_eq!(status, 409, "sent at {sent_at}: {reply}");
        assert!(reply.contains("clock"), "{reply}");
    }
    assert!(pair.platform_orders().is_empty());
    assert!(!pair.platform_log_types().iter().any(|t| t == "message.received"));
}

#[test]
fn an_order_the_platform_refuses_is_shown_refused_at_the_authority_and_the_escalation_webhook_hears_it() {
    refused_delivery_is_shown(Pair::start());
}

#[test]
fn on_postgres_an_order_the_platform_refuses_is_shown_refused_at_the_authority_and_the_escalation_webhook_hears_it() {
    refused_delivery_is_shown(Pair::start_on_postgres());
}

fn refused_delivery_is_shown(pair: Pair) {
    // The platform no longer takes the authority's messages.
    assert_eq!(pair.cli_on_platform(&["peer", "remove", "police-nl"]).code, 0);
    let id = pair.issue("https://videohost.example/v/7");
    let deadline = Instant::now() + Duration::from_secs(30);
    let order = loop {
        let order = pair.order_on_authority(&id);
        if order.get("delivery_problem").is_some() {
            break order;
        }
        assert!(Instant::now() < deadline, "no delivery problem shown within 30 s: {order}");
        std::thread::sleep(Duration::from_millis(50));
    };
    let problem = &order["delivery_problem"];
    assert_eq!(
        (problem["state"].as_str(), problem["kind"].as_str(), problem["peer"].as_str()),
        (Some("refused"), Some("removal_order"), Some("videohost"))
    );
    assert!(problem["error"].as_str().is_some_and(|e| e.contains("403") && e.contains("untrusted")), "the peer's own words: {problem}");
    assert_eq!(order["state"], "issued");
    assert!(order["timeline"].as_array().expect("timeline").iter().any(|e| e["event"] == "delivery_refused"), "{order}");

    let list = pair.cli_on_authority(&pair.issuer, &["order", "list"]).stdout;
    assert!(list.contains("\tdelivery refused: POST "), "{list}");
    let shown = pair.cli_on_authority(&pair.issuer, &["order", "show", &id]).stdout;
    assert!(shown.contains("delivery refused: the removal_order message to videohost: "), "{shown}");
    let (_, _, metrics) = pair.authority.call("GET", "/metrics", Some(&pair.admin), "", b"");
    assert!(metrics.contains("tocsin_deliveries_problem_total{problem=\"refused\"} 1"), "{metrics}");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let heard = pair.hooks.lock().expect("lock").answered.iter().any(|(_, _, body)| {
            let event: Value = serde_json::from_str(body).expect("JSON");
            event["event"] == "delivery.refused" && event["order_id"] == id.as_str()
        });
        if heard {
            break;
        }
        assert!(Instant::now() < deadline, "the escalation webhook did not hear of the refusal within 30 s");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(log_types(&pair.authority, &pair.admin).iter().any(|t| t == "message.delivery_refused"));
    // The console shows it too: a mark in the list, the peer's words on the order's page.
    crate::console::account(&pair.authority, &pair.admin, "night-desk", "issuer");
    let desk = crate::console::signed_in(&pair.authority, "night-desk");
    let (_, _, list) = pair.authority.call_with("GET", "/console/orders", &[&desk], "", b"");
    assert!(list.contains("delivery refused"), "{list}");
    let (_, _, page) = pair.authority.call_with("GET", &format!("/console/orders/{id}"), &[&desk], "", b"");
    assert!(page.contains("delivery refused: removal_order") && page.contains("untrusted"), "{page}");
}

#[test]
fn the_log_names_removed_urls_only_by_their_hashes_so_auditors_check_without_learning_them() {
    log_names_urls_by_hash(Pair::start());
}

#[test]
fn on_postgres_the_log_names_removed_urls_only_by_their_hashes_so_auditors_check_without_learning_them() {
    log_names_urls_by_hash(Pair::start_on_postgres());
}

fn log_names_urls_by_hash(pair: Pair) {
    use sha2::Digest;
    let url = "https://media.videohost.example/v/1.jpg";
    let id = pair.issue(url);
    pair.wait_for(&id, "executed");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !pair.platform_log_types().iter().any(|t| t == "evidence.preserved") {
        assert!(Instant::now() < deadline, "not preserved within 30 s");
        std::thread::sleep(Duration::from_millis(50));
    }
    let digest: String = sha2::Sha256::digest(url.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
    let node = pair.platform.as_ref().expect("running");
    let (_, _, entries) = node.call("GET", "/v1/log/entries?start=0&end=1000", Some(&pair.platform_admin), "", b"");
    let entries: Vec<Value> = serde_json::from_str::<Vec<Value>>(&entries)
        .expect("entries")
        .iter()
        .map(|e| {
            serde_json::from_slice(&tocsin_wire::base64url_decode(e["data"].as_str().expect("data")).expect("base64url")).expect("JSON")
        })
        .collect();
    for entry in &entries {
        assert!(!entry.to_string().contains("/v/1.jpg"), "a log entry names the URL: {entry}");
    }
    let executed = entries.iter().find(|e| e["type"] == "order.executed").expect("the execution");
    assert_eq!(executed["targets"][0]["url_sha256"], digest.as_str(), "{executed}");
    let preserved = entries.iter().find(|e| e["type"] == "evidence.preserved").expect("the evidence");
    assert_eq!(preserved["url_sha256"], digest.as_str(), "{preserved}");
}

#[test]
fn preservation_follows_redirects_within_the_origin_and_never_keeps_what_another_host_answers() {
    use sha2::Digest;
    let pair = Pair::start();
    let id = pair.issue_many(&["https://videohost.example/moved", "https://videohost.example/away"]);
    pair.wait_for(&id, "executed");
    let deadline = Instant::now() + Duration::from_secs(60);
    let evidence = loop {
        let shown = pair.order_on_platform(&id);
        let evidence = shown["evidence"].as_array().cloned().unwrap_or_default();
        let away_given_up = evidence.iter().any(|e| e["url"] == "https://videohost.example/away" && e["status"] == "failed");
        if evidence.len() == 2 && away_given_up {
            break evidence;
        }
        assert!(Instant::now() < deadline, "not settled within 60 s: {shown}");
        std::thread::sleep(Duration::from_millis(100));
    };
    let image_sha256: String = sha2::Sha256::digest(origin_image()).iter().map(|b| format!("{b:02x}")).collect();
    let secret_sha256: String = sha2::Sha256::digest(INTERNAL_SECRET).iter().map(|b| format!("{b:02x}")).collect();
    let moved = evidence.iter().find(|e| e["url"] == "https://videohost.example/moved").expect("moved");
    assert_eq!((moved["status"].as_str(), moved["sha256"].as_str()), (Some("preserved"), Some(image_sha256.as_str())), "{moved}");
    let away = evidence.iter().find(|e| e["url"] == "https://videohost.example/away").expect("away");
    assert!(away["error"].as_str().is_some_and(|e| e.contains("outside the origin")), "{away}");
    assert!(away["sha256"].is_null(), "{away}");
    let bank = pair.cli_on_platform(&["bank", "export", "stay-down"]).stdout;
    assert!(!bank.contains(&secret_sha256), "the internal answer reached the stay-down bank: {bank}");
    assert!(bank.contains(&image_sha256), "{bank}");
}

#[test]
fn an_orders_stay_down_signals_are_kept_from_reviewers_and_no_signal_may_cite_an_order_that_is_not_there() {
    let pair = Pair::start();
    let id = pair.issue("https://media.videohost.example/v/1.jpg");
    pair.wait_for(&id, "executed");
    let node = pair.platform.as_ref().expect("running");
    let deadline = Instant::now() + Duration::from_secs(30);
    let signal = loop {
        let (_, _, signals) = node.call("GET", "/v1/banks/stay-down/signals", Some(&pair.platform_admin), "", b"");
        let signals: Vec<Value> = serde_json::from_str(&signals).expect("JSON");
        if let Some(s) = signals.into_iter().find(|s| s["provenance"]["reference"] == id.as_str()) {
            break s;
        }
        assert!(Instant::now() < deadline, "no stay-down signal within 30 s");
        std::thread::sleep(Duration::from_millis(50));
    };
    let path = format!("/v1/banks/stay-down/signals/{}/state", signal["num"]);
    let json = "application/json";
    for role in ["reviewer", "operator"] {
        let account = format!(r#"{{"name":"{role}-1","roles":["{role}"]}}"#);
        assert_eq!(node.call("POST", "/v1/accounts", Some(&pair.platform_admin), json, account.as_bytes()).0, 201);
        let (status, _, made) =
            node.call("POST", &format!("/v1/accounts/{role}-1/tokens"), Some(&pair.platform_admin), json, br#"{"days":1}"#);
        assert_eq!(status, 201, "{made}");
        let token = serde_json::from_str::<Value>(&made).expect("JSON")["token"].as_str().expect("a token").to_owned();
        for to in ["withdrawn", "disputed"] {
            let body = format!(r#"{{"state":"{to}","reason":"looks harmless to me"}}"#);
            let (status, _, reply) = node.call("POST", &path, Some(&token), json, body.as_bytes());
            assert_eq!(status, 403, "a {role} may not make an order's signal {to}: {reply}");
        }
        // Nor cite an order this node never had, to lend a hash its authority.
        let forged = r#"{"signals":[{"type":"sha256","value":"0000000000000000000000000000000000000000000000000000000000000001","provenance":{"source":"order","reference":"01JZZZZZZZZZZZZZZZZZZZZZZZ","detail":"https://videohost.example/x"}}]}"#;
        let (status, _, reply) = node.call("POST", "/v1/banks/stay-down/signals", Some(&token), json, forged.as_bytes());
        assert_eq!(status, 409, "{reply}");
        assert!(reply.contains("does not have"), "{reply}");
    }
    let (_, _, signals) = node.call("GET", "/v1/banks/stay-down/signals", Some(&pair.platform_admin), "", b"");
    assert!(!signals.contains("0000000000000000000000000000000000000000000000000000000000000001"), "nothing was added");
    // The platform's admin may, with a reason that is logged.
    let (status, _, reply) =
        node.call("POST", &path, Some(&pair.platform_admin), json, br#"{"state":"withdrawn","reason":"order withdrawn by phone"}"#);
    assert_eq!(status, 200, "{reply}");
}

#[test]
fn a_message_repeated_after_it_moved_the_order_on_gets_its_first_receipt_not_a_refusal() {
    let mut pair = Pair::start();
    drop(pair.platform.take());
    let id = pair.issue("https://videohost.example/v/5");
    let key = tocsin_server::Identity::load_or_create(pair.platform_dir.path()).expect("key");
    let feedback = serde_json::json!({
        "order_id": id, "state": "executed", "targets": [{"url": "https://videohost.example/v/5", "action": "blocked", "at": now_ms()}],
    });
    let envelope = Envelope {
        v: PROTOCOL_VERSION,
        id: Ulid::new(now_ms(), [50; 10]),
        kind: Kind::Feedback,
        from: pair.platform_jwk.thumbprint(),
        to: pair.authority_jwk.thumbprint(),
        sent_at: now_ms(),
        body: feedback,
    };
    let message = tocsin_wire::seal(&envelope, |m| key.sign(m));
    let (first, _, receipt) = pair.authority.call("POST", "/v1/inbox", None, "application/jose", message.as_bytes());
    assert_eq!(first, 201, "{receipt}");
    assert_eq!(pair.order_on_authority(&id)["state"], "executed");
    // The platform did not hear the receipt (killed, cut off) and sends the same message again.
    let (again, _, same) = pair.authority.call("POST", "/v1/inbox", None, "application/jose", message.as_bytes());
    assert_eq!((again, &same), (200, &receipt), "the first receipt again, not a refusal");
}

#[test]
fn an_order_issued_while_the_platform_is_down_is_delivered_once_it_is_back() {
    let mut pair = Pair::start();
    drop(pair.platform.take()); // SIGKILL
    let id = pair.issue("https://videohost.example/v/9");
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(pair.order_on_authority(&id)["state"], "issued", "not delivered while the platform is down");
    pair.platform =
        Some(Node::start(pair.platform_dir.path(), &platform_args(&pair.platform_listen, &pair.origin, &pair.hook, &pair.related), &[]));
    pair.wait_for(&id, "executed");
    assert_eq!(pair.platform_orders().len(), 1, "received once");
}

#[test]
fn the_platform_blocks_what_it_serves_answers_the_rest_as_a_manifest_error_and_keeps_blocks_across_restarts() {
    let mut pair = Pair::start();
    let id = pair.issue_many(&["https://media.videohost.example/v/1.jpg", "https://elsewhere.example/page"]);
    let order = pair.wait_for(&id, "partially_executed");
    let feedback = order["timeline"].as_array().expect("timeline").iter().find(|e| e["event"] == "feedback").expect("feedback");
    let targets = feedback["detail"]["targets"].as_array().expect("targets");
    let actions: Vec<(&str, &str)> =
        targets.iter().map(|t| (t["url"].as_str().expect("url"), t["action"].as_str().expect("action"))).collect();
    assert_eq!(actions, [("https://media.videohost.example/v/1.jpg", "blocked"), ("https://elsewhere.example/page", "manifest_error")]);
    assert!(targets.iter().all(|t| t["at"].as_u64().is_some()), "each with its time");

    for _ in 0..2 {
        let (status, head, _) = pair.gate("/v1/gate/check?url=http%3A%2F%2FMEDIA.videohost.example%2Fv%2F1.jpg");
        assert_eq!(status, 403, "blocked whatever the scheme and case: {head}");
        assert!(head.contains("tocsin-order-reference: nl-2026-0042"), "{head}");
        let node = pair.platform.as_ref().expect("running");
        let (status, _, _) = node.call("GET", "/v1/gate/check", None, "", b"");
        assert_eq!(status, 400, "a check names a URL");
        let stream_check = |host: &str, uri: &str| {
            use std::io::{Read, Write};
            let mut s = std::net::TcpStream::connect(&node.addr).expect("connects");
            write!(
                s,
                "GET /v1/gate/check HTTP/1.1\r\nHost: x\r\nX-Original-Host: {host}\r\nX-Original-URI: {uri}\r\nConnection: close\r\n\r\n"
            )
            .expect("sent");
            let mut response = String::new();
            s.read_to_string(&mut response).expect("read");
            response.split_whitespace().nth(1).and_then(|c| c.parse::<u16>().ok()).expect("status")
        };
        assert_eq!(stream_check("media.videohost.example", "/v/1.jpg"), 403, "as nginx's auth_request asks");
        assert_eq!(stream_check("media.videohost.example", "/v/2.jpg"), 204);
        assert_eq!(pair.gate("/v1/gate/check?url=https%3A%2F%2Felsewhere.example%2Fpage").0, 204, "not ours to block");

        let (status, head, page) = pair.gate("/v1/gate/notice?url=https%3A%2F%2Fmedia.videohost.example%2Fv%2F1.jpg");
        assert_eq!(status, 451);
        assert!(head.contains("rel=\"blocked-by\""), "{head}");
        for needed in ["police-nl", "NL-2026-0042", "Regulation (EU) 2021/784, Art. 3", "Art. 9"] {
            assert!(page.contains(needed), "{needed} missing from the notice: {page}");
        }
        assert_eq!(pair.gate("/v1/gate/notice?url=https%3A%2F%2Fmedia.videohost.example%2Fv%2F2.jpg").0, 404);

        // The blocked set is rebuilt from the database after a crash.
        pair.restart_platform();
    }

    // Withdrawn by the authority: the platform lifts the block, and it stays lifted after a restart.
    let withdrawn =
        pair.cli_on_authority(&pair.issuer, &["order", "withdraw", &id, "--reason", "posted by a journalist, not a terrorist group"]);
    assert_eq!(withdrawn.code, 0, "{}", withdrawn.stderr);
    assert!(withdrawn.stdout.ends_with("\twithdrawn\n"), "{}", withdrawn.stdout);
    let again = pair.cli_on_authority(&pair.issuer, &["order", "withdraw", &id, "--reason", "twice"]);
    assert_ne!(again.code, 0, "withdrawn once only");
    let check = "/v1/gate/check?url=https%3A%2F%2Fmedia.videohost.example%2Fv%2F1.jpg";
    let deadline = Instant::now() + Duration::from_secs(30);
    while pair.gate(check).0 != 204 {
        assert!(Instant::now() < deadline, "the block was not lifted within 30 s");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(pair.platform_orders()[0].as_str().expect("line").contains("\twithdrawn\t"), "{:?}", pair.platform_orders());
    pair.restart_platform();
    assert_eq!(pair.gate(check).0, 204, "still lifted after a restart");
    pair.verify_both_logs();
}

#[test]
fn an_image_and_a_page_are_blocked_preserved_and_hashed_into_the_stay_down_bank() {
    image_and_page(Pair::start());
}

#[test]
fn on_postgres_an_image_and_a_page_are_blocked_preserved_and_hashed_into_the_stay_down_bank() {
    let pair = Pair::start_on_postgres();
    assert!(pair.authority_db.args().contains(&"--database-url") && pair.platform_db.args().contains(&"--database-url"));
    image_and_page(pair);
}

fn image_and_page(pair: Pair) {
    let id = pair.issue_many(&["https://media.videohost.example/v/1.jpg", "https://videohost.example/page"]);
    let order = pair.wait_for(&id, "executed");
    let feedback = order["timeline"].as_array().expect("timeline").iter().find(|e| e["event"] == "feedback").expect("feedback");
    assert!(feedback["detail"]["targets"].as_array().expect("targets").iter().all(|t| t["action"] == "blocked" && t["at"].is_u64()));
    for url in ["https%3A%2F%2Fmedia.videohost.example%2Fv%2F1.jpg", "https%3A%2F%2Fvideohost.example%2Fpage"] {
        assert_eq!(pair.gate(&format!("/v1/gate/check?url={url}")).0, 403);
        assert_eq!(pair.gate(&format!("/v1/gate/notice?url={url}")).0, 451);
    }

    // The platform preserved both, under their SHA-256, and hashed the image with PDQ.
    let deadline = Instant::now() + Duration::from_secs(30);
    let evidence = loop {
        let run = pair.cli_on_platform(&["order", "show", &id, "--format", "json"]);
        let shown: Value = serde_json::from_str(&run.stdout).expect("JSON");
        let evidence = shown["evidence"].as_array().cloned().unwrap_or_default();
        if evidence.len() == 2 {
            break evidence;
        }
        assert!(Instant::now() < deadline, "not preserved within 30 s: {shown}");
        std::thread::sleep(Duration::from_millis(50));
    };
    let sha256 = |bytes: &[u8]| {
        use sha2::Digest;
        sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect::<String>()
    };
    let image = origin_image();
    let image_path = crate::helpers::data_dir().join("bridge-mods/aaa-orig.jpg");
    let hashed = tocsin_in(pair.platform_dir.path(), &["hash", image_path.to_str().expect("path")]);
    let expected_pdq = hashed.stdout.split('\t').next().expect("hash").to_owned();
    for (item, bytes, pdq) in [(&evidence[0], image.as_slice(), Some(expected_pdq.as_str())), (&evidence[1], ORIGIN_PAGE, None)] {
        assert_eq!(item["status"], "preserved", "{item}");
        assert_eq!(item["sha256"].as_str(), Some(sha256(bytes).as_str()), "{item}");
        assert_eq!(item["size"].as_u64(), Some(bytes.len() as u64));
        assert_eq!(item["pdq"].as_str(), pdq, "{item}");
        let kept =
            std::fs::read(tocsin_server::blob_path(pair.platform_dir.path(), item["sha256"].as_str().expect("hash"))).expect("the blob");
        assert_eq!(kept, bytes, "the blob is the content");
    }
    let node = pair.platform.as_ref().expect("running");
    let (status, _, bank) = node.call("GET", "/v1/banks/stay-down/signals", Some(&pair.platform_admin), "", b"");
    assert_eq!(status, 200, "{bank}");
    let bank: Vec<Value> = serde_json::from_str(&bank).expect("JSON");
    assert!(
        bank.iter().any(|e| e["type"] == "pdq"
            && e["value"] == expected_pdq.as_str()
            && e["state"] == "active"
            && e["provenance"] == serde_json::json!({"source": "order", "reference": id, "detail": evidence[0]["url"]})),
        "{bank:?}"
    );
    assert_eq!(bank.iter().filter(|e| e["type"] == "sha256").count(), 2);
    stay_down_at_upload(&pair, &id, &image);

    // The action webhook was called once per target, signed by the platform, after one refusal.
    let deadline = Instant::now() + Duration::from_secs(30);
    while pair.hooks.lock().expect("lock").answered.len() < 2 {
        assert!(Instant::now() < deadline, "the webhook was not called twice within 30 s");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
    let hooks = pair.hooks.lock().expect("lock");
    assert_eq!((hooks.refused, hooks.answered.len()), (1, 2), "one refused, then one call per target, no repeat");
    let mut urls = Vec::new();
    for (delivery, signature, body) in &hooks.answered {
        let verified = tocsin_wire::verify_compact(signature, &pair.platform_jwk).expect("signed by the platform");
        assert_eq!(verified.payload, body.as_bytes(), "the signature covers the body");
        let event: Value = serde_json::from_str(body).expect("JSON");
        assert_eq!(
            (event["event"].as_str(), event["order_id"].as_str(), event["delivery"].as_str()),
            (Some("content.blocked"), Some(id.as_str()), Some(delivery.as_str()))
        );
        urls.push(event["url"].as_str().expect("url").to_owned());
    }
    urls.sort();
    assert_eq!(urls, ["https://media.videohost.example/v/1.jpg", "https://videohost.example/page"]);
}

/// Re-uploads of the removed image, scanned at the platform: blocked, citing the order.
fn stay_down_at_upload(pair: &Pair, id: &str, original: &[u8]) {
    let node = pair.platform.as_ref().expect("running");
    let scan = |content_type: &str, bytes: &[u8]| {
        let (status, _, body) = node.call("POST", "/v1/scan", Some(&pair.platform_admin), content_type, bytes);
        (status, serde_json::from_str::<Value>(&body).unwrap_or(Value::Null))
    };
    // Meta's resized and re-encoded copy of the reference image, and that copy mirrored and
    // encoded again here.
    let resized = std::fs::read(crate::helpers::data_dir().join("bridge-mods/shrink-a-little.jpg")).expect("reference image");
    let mirrored = {
        let decoded = image::load_from_memory(&resized).expect("decodes").fliph().to_rgb8();
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 70).encode_image(&decoded).expect("encodes");
        out
    };
    for (what, bytes) in [("the original", original), ("a resized re-encoded copy", &resized[..]), ("a mirrored copy", &mirrored[..])] {
        let (status, result) = scan("image/jpeg", bytes);
        assert_eq!(status, 200, "{what}: {result}");
        assert_eq!(result["verdict"], "block", "{what}: {result}");
        let matches = result["matches"].as_array().expect("matches");
        let m = matches.iter().find(|m| m["signal"]["type"] == "pdq").unwrap_or_else(|| panic!("{what}: no PDQ match: {result}"));
        assert_eq!((m["bank"].as_str(), m["verdict"].as_str()), (Some("stay-down"), Some("block")), "{what}: {m}");
        assert_eq!(m["provenance"]["source"], "order", "{what}: {m}");
        assert_eq!(m["provenance"]["reference"], id, "{what} cites the order: {m}");
        assert!(m["distance"].as_u64().expect("a distance") <= 31, "{what}: {m}");
    }
    let (_, exact) = scan("image/jpeg", original);
    assert!(
        exact["matches"].as_array().expect("matches").iter().any(|m| m["signal"]["type"] == "sha256" && m["distance"].is_null()),
        "{exact}"
    );

    // Other content passes; a corrupt image is refused with the reason.
    let other = std::fs::read(crate::helpers::data_dir().join("misc-images/c.png")).expect("another image");
    let (status, result) = scan("image/png", &other);
    assert_eq!((status, result["verdict"].as_str()), (200, Some("none")), "{result}");
    assert_eq!(result["matches"], serde_json::json!([]));
    let (status, result) = scan("image/jpeg", &original[..original.len() / 3]);
    assert_eq!(status, 422, "{result}");
    assert!(result["detail"].as_str().expect("detail").contains("corrupt or truncated"), "{result}");

    // A platform that hashes on its side sends the hash alone.
    let pdq = exact["signals"].as_array().expect("signals").iter().find(|s| s["type"] == "pdq").expect("a PDQ hash")["value"].clone();
    let (status, _, body) = node.call(
        "POST",
        "/v1/lookup",
        Some(&pair.platform_admin),
        "application/json",
        serde_json::json!({"signals": [{"type": "pdq", "value": pdq}]}).to_string().as_bytes(),
    );
    let looked: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!((status, looked["verdict"].as_str()), (200, Some("block")), "{looked}");
}

#[test]
fn referrals_wait_for_review_then_an_accepted_one_is_removed_and_a_rejected_one_answered_with_the_reason() {
    let pair = Pair::start();
    let accepted = pair.issue_with(&["https://videohost.example/page"], &["--referral"]);
    let rejected = pair.issue_with(&["https://videohost.example/other"], &["--referral"]);
    let check = "/v1/gate/check?url=https%3A%2F%2Fvideohost.example%2Fpage";
    // Delivered, but not acted on by itself.
    for id in [&accepted, &rejected] {
        let deadline = Instant::now() + Duration::from_secs(30);
        while pair.order_on_authority(id)["state"] != "delivered" {
            assert!(Instant::now() < deadline, "not delivered within 30 s");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(pair.gate(check).0, 204, "a referral is not executed before review");
    let queue = pair.cli_on_platform(&["order", "list"]).stdout;
    assert_eq!(queue.lines().filter(|l| l.contains("\treceived\treferral")).count(), 2, "{queue}");

    let reviewer = token(pair.platform_dir.path(), "moderator-1", "reviewer");
    let server = format!("http://{}", pair.platform_listen);
    let decide = |action: &str, id: &str, reason: &str| {
        tocsin_in(pair.platform_dir.path(), &["order", action, id, "--reason", reason, "--server", &server, "--token", &reviewer])
    };
    let done = decide("accept", &accepted, "breaches our terms on violent extremism");
    assert_eq!(done.code, 0, "{}", done.stderr);
    let done = decide("reject", &rejected, "news reporting, allowed by our terms");
    assert_eq!(done.code, 0, "{}", done.stderr);
    assert_ne!(decide("reject", &rejected, "again").code, 0, "reviewed once only");
    let admin_only = pair.cli_on_platform(&["order", "accept", &rejected, "--reason", "x"]);
    assert!(admin_only.stderr.contains("403"), "an admin is not a reviewer: {}", admin_only.stderr);

    pair.wait_for(&accepted, "executed");
    assert_eq!(pair.gate(check).0, 403);
    let answered = pair.wait_for(&rejected, "rejected");
    let feedback = answered["timeline"].as_array().expect("timeline").iter().find(|e| e["event"] == "feedback").expect("feedback");
    assert_eq!(feedback["detail"]["reason"], "news reporting, allowed by our terms");
    assert_eq!(pair.gate("/v1/gate/check?url=https%3A%2F%2Fvideohost.example%2Fother").0, 204);
}

impl Pair {
    /// SIGKILLs the platform and starts it again at the same address.
    pub(crate) fn restart_platform(&mut self) {
        self.restart_platform_with(&[]);
    }

    /// SIGKILLs the platform and starts it again at the same address with `env` (a clock moved
    /// on, for one).
    pub(crate) fn restart_platform_with(&mut self, env: &[(&str, &str)]) {
        drop(self.platform.take());
        let args = [platform_args(&self.platform_listen, &self.origin, &self.hook, &self.related), self.platform_db.args()].concat();
        self.platform = Some(Node::start(self.platform_dir.path(), &args, env));
    }

    /// Kills the authority and starts it again at the same address with `env` (a clock moved on).
    pub(crate) fn restart_authority(&mut self, env: &[(&str, &str)]) {
        self.authority.kill();
        let listen = self.authority.addr.clone();
        let args = [
            &["--name", "police-nl", "--role", "authority", "--escalation-webhook", &self.hook, "--listen", &listen][..],
            &self.authority_db.args(),
        ]
        .concat();
        self.authority = Node::start(self.authority_dir.path(), &args, env);
    }

    /// `tocsin log verify` passes on both nodes.
    pub(crate) fn verify_both_logs(&self) {
        for (dir, url, token) in [
            (self.authority_dir.path(), format!("http://{}", self.authority.addr), &self.admin),
            (self.platform_dir.path(), format!("http://{}", self.platform_listen), &self.platform_admin),
        ] {
            let verify = tocsin_in(dir, &["log", "verify", "--url", &url, "--token", token]);
            assert_eq!(verify.code, 0, "{}", verify.stderr);
        }
    }

    /// The `type` of every entry in the platform's Merkle log, in order.
    pub(crate) fn platform_log_types(&self) -> Vec<String> {
        log_types(self.platform.as_ref().expect("running"), &self.platform_admin)
    }

    /// The platform's view of an order.
    pub(crate) fn order_on_platform(&self, id: &str) -> Value {
        let run = self.cli_on_platform(&["order", "show", id, "--format", "json"]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        serde_json::from_str(&run.stdout).expect("JSON")
    }

    /// Waits (at most 30 s) until `node` (the authority or the platform) shows `id` in `state`.
    /// The platform may not have the order yet (it is on its way): until it does, its node
    /// answers 404, which is waited out like any other state.
    pub(crate) fn wait_state(&self, on_platform: bool, id: &str, state: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let order = if on_platform {
                let run = self.cli_on_platform(&["order", "show", id, "--format", "json"]);
                assert!(run.code == 0 || run.stderr.contains("404"), "{}", run.stderr);
                serde_json::from_str(&run.stdout).unwrap_or(Value::Null)
            } else {
                self.order_on_authority(id)
            };
            if order["state"] == state {
                return order;
            }
            assert!(Instant::now() < deadline, "not {state} within 30 s: {order}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// The `type` of every entry in a node's Merkle log, in order.
pub(crate) fn log_types(node: &Node, admin: &str) -> Vec<String> {
    let (_, _, entries) = node.call("GET", "/v1/log/entries?start=0&end=1000", Some(admin), "", b"");
    serde_json::from_str::<Vec<Value>>(&entries)
        .expect("entries")
        .iter()
        .map(|e| {
            let data = tocsin_wire::base64url_decode(e["data"].as_str().expect("data")).expect("base64url");
            serde_json::from_slice::<Value>(&data).expect("JSON")["type"].as_str().expect("type").to_owned()
        })
        .collect()
}

#[test]
fn every_annex_iii_answer_reaches_the_authority_and_only_errors_and_missing_information_can_be_clarified() {
    let pair = Pair::start();
    let operator = token(pair.platform_dir.path(), "tns-desk", "operator");
    let server = format!("http://{}", pair.platform_listen);
    let answer = |id: &str, ground: &str| {
        tocsin_in(
            pair.platform_dir.path(),
            &["order", "inability", id, "--ground", ground, "--explanation", "see ground", "--server", &server, "--token", &operator],
        )
    };
    let clarify = |id: &str| {
        pair.cli_on_authority(&pair.issuer, &["order", "clarify", id, "--text", "the video is at /v/1.jpg on media.videohost.example"])
    };

    // Referrals wait for review, so the platform can answer them by hand.
    for (ground, clarifiable) in
        [("force_majeure", false), ("technical_impossibility", false), ("insufficient_information", true), ("manifest_error", true)]
    {
        let id = pair.issue_with(&["https://videohost.example/watch?v=1"], &["--referral"]);
        pair.wait_state(false, &id, "delivered");
        let run = answer(&id, ground);
        assert_eq!(run.code, 0, "{ground}: {}", run.stderr);
        let order = pair.wait_state(false, &id, "unable");
        let inability = order["timeline"].as_array().expect("timeline").iter().find(|e| e["event"] == "inability").expect("inability");
        assert_eq!(inability["detail"]["ground"], ground);
        let first_receipt = pair.order_on_platform(&id)["received_at"].as_i64().expect("received");
        let run = clarify(&id);
        if clarifiable {
            assert_eq!(run.code, 0, "{ground}: {}", run.stderr);
            // The platform has the order back, with its hour starting again.
            let again = pair.wait_state(true, &id, "received");
            assert!(again["received_at"].as_i64().expect("received") > first_receipt, "the deadline runs from the clarification");
            assert!(again["timeline"].as_array().expect("timeline").iter().any(|e| e["event"] == "clarification"));
            assert_eq!(pair.order_on_authority(&id)["state"], "delivered");
        } else {
            assert_ne!(run.code, 0, "{ground} cannot be clarified");
            assert!(run.stderr.contains("not awaiting a clarification"), "{}", run.stderr);
        }
    }
    assert_ne!(answer("01M8NBJZ9R3XRCERC33TX8ZJ43", "force_majeure").code, 0, "no such order");
    let bad = answer(&pair.issue_with(&["https://videohost.example/x"], &["--referral"]), "bad_weather");
    assert!(bad.stderr.contains("422"), "an unknown ground: {}", bad.stderr);

    // A manifest error found by the platform itself (a host it does not serve) can be clarified
    // too; the order is then executed again.
    let id = pair.issue("https://elsewhere.example/page");
    pair.wait_for(&id, "unable");
    assert_eq!(clarify(&id).code, 0);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let order = pair.order_on_authority(&id);
        let feedbacks = order["timeline"].as_array().expect("timeline").iter().filter(|e| e["event"] == "feedback").count();
        if order["state"] == "unable" && feedbacks == 2 {
            break;
        }
        assert!(Instant::now() < deadline, "not answered again within 30 s: {order}");
        std::thread::sleep(Duration::from_millis(50));
    }
    pair.verify_both_logs();
}

#[test]
fn a_platform_killed_right_after_the_order_is_issued_executes_it_once_after_the_restart() {
    let mut pair = Pair::start();
    let id = pair.issue_many(&["https://media.videohost.example/v/1.jpg", "https://videohost.example/page"]);
    drop(pair.platform.take()); // SIGKILL, before, during or after the delivery
    pair.platform =
        Some(Node::start(pair.platform_dir.path(), &platform_args(&pair.platform_listen, &pair.origin, &pair.hook, &pair.related), &[]));
    let order = pair.wait_for(&id, "executed");
    // Let any repeat that was going to happen happen.
    std::thread::sleep(Duration::from_millis(1500));
    let order_again = pair.order_on_authority(&id);
    let count = |o: &Value, event: &str| o["timeline"].as_array().expect("timeline").iter().filter(|e| e["event"] == event).count();
    assert_eq!((count(&order, "delivered"), count(&order_again, "feedback")), (1, 1), "{order_again}");
    assert_eq!(pair.platform_orders().len(), 1, "received once");
    let platform_view = pair.order_on_platform(&id);
    assert_eq!(count(&platform_view, "executed"), 1, "executed once: {platform_view}");
    assert_eq!(pair.gate("/v1/gate/check?url=https%3A%2F%2Fvideohost.example%2Fpage").0, 403);
    let deadline = Instant::now() + Duration::from_secs(30);
    while pair.hooks.lock().expect("lock").answered.len() < 2 {
        assert!(Instant::now() < deadline, "the webhook was not called for both targets");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(1500));
    // Webhook calls are made at least once: a call answered just before the kill, whose answer
    // the killed process had not yet recorded, is made again after the restart, with the same
    // `Tocsin-Delivery` id and body, so the receiver can drop the repeat. One id per target.
    let hooks = pair.hooks.lock().expect("lock");
    let mut deliveries: Vec<(&str, &str)> = hooks.answered.iter().map(|(id, _, body)| (id.as_str(), body.as_str())).collect();
    deliveries.sort_unstable();
    deliveries.dedup();
    assert_eq!(deliveries.len(), 2, "one delivery id per target, a repeat the same call: {:?}", hooks.answered);
}

#[test]
fn with_the_review_policy_an_authoritys_removal_orders_wait_for_a_reviewer() {
    let pair = Pair::start();
    assert_eq!(pair.cli_on_platform(&["peer", "policy", "police-nl", "review"]).code, 0);
    let id = pair.issue("https://videohost.example/page");
    pair.wait_state(false, &id, "delivered");
    std::thread::sleep(Duration::from_millis(300));
    let check = "/v1/gate/check?url=https%3A%2F%2Fvideohost.example%2Fpage";
    assert_eq!(pair.gate(check).0, 204, "held for review");
    assert_eq!(pair.order_on_platform(&id)["state"], "received");
    let reviewer = token(pair.platform_dir.path(), "moderator-2", "reviewer");
    let server = format!("http://{}", pair.platform_listen);
    let reject =
        tocsin_in(pair.platform_dir.path(), &["order", "reject", &id, "--reason", "no", "--server", &server, "--token", &reviewer]);
    assert_ne!(reject.code, 0, "a removal order cannot be rejected, only answered with an inability");
    let accept =
        tocsin_in(pair.platform_dir.path(), &["order", "accept", &id, "--reason", "checked", "--server", &server, "--token", &reviewer]);
    assert_eq!(accept.code, 0, "{}", accept.stderr);
    pair.wait_for(&id, "executed");
    assert_eq!(pair.gate(check).0, 403);
}

#[test]
fn an_unanswered_removal_order_escalates_at_30_and_10_minutes_left_and_when_overdue_once_each() {
    let pair = Pair::start();
    assert_eq!(pair.cli_on_platform(&["peer", "policy", "police-nl", "review"]).code, 0);
    let id = pair.issue("https://videohost.example/page");
    pair.wait_state(true, &id, "received");
    let db = crate::helpers::Database::sqlite(pair.platform_dir.path());
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_millis() as i64;
    let levels = || -> Vec<String> {
        let hooks = pair.hooks.lock().expect("lock");
        hooks
            .answered
            .iter()
            .filter_map(|(_, _, body)| serde_json::from_str::<Value>(body).ok())
            .filter(|e| e["event"] == "deadline.warning" && e["order_id"] == id.as_str())
            .map(|e| e["level"].as_str().expect("level").to_owned())
            .collect()
    };
    let wait_levels = |want: usize| {
        let deadline = Instant::now() + Duration::from_secs(30);
        while levels().len() < want {
            assert!(Instant::now() < deadline, "warnings so far: {:?}", levels());
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    // Received 55 minutes ago, as far as the platform's clock of this order goes.
    db.execute(
        "UPDATE orders SET received_at = $1 WHERE id = $2",
        &[crate::helpers::Param::Int(now - 55 * 60_000), crate::helpers::Param::Text(id.clone())],
    );
    wait_levels(2);
    let mut seen = levels();
    seen.sort();
    assert_eq!(seen, ["10", "30"]);
    assert_eq!(pair.order_on_platform(&id)["overdue"], false);
    db.execute(
        "UPDATE orders SET received_at = $1 WHERE id = $2",
        &[crate::helpers::Param::Int(now - 61 * 60_000), crate::helpers::Param::Text(id.clone())],
    );
    wait_levels(3);
    std::thread::sleep(Duration::from_millis(2500));
    let mut seen = levels();
    seen.sort();
    assert_eq!(seen, ["10", "30", "overdue"], "once each");
    let order = pair.order_on_platform(&id);
    assert_eq!(order["overdue"], true);
    let warnings = order["timeline"].as_array().expect("timeline").iter().filter(|e| e["event"] == "deadline_warning").count();
    assert_eq!(warnings, 3);
}

#[test]
fn content_the_origin_fails_to_give_at_first_is_preserved_on_a_later_attempt() {
    let pair = Pair::start();
    let id = pair.issue("https://videohost.example/flaky");
    pair.wait_for(&id, "executed");
    let deadline = Instant::now() + Duration::from_secs(30);
    let evidence = loop {
        let shown = pair.order_on_platform(&id);
        let first = shown["evidence"][0].clone();
        if first["status"] == "preserved" {
            break first;
        }
        assert!(Instant::now() < deadline, "not preserved within 30 s: {shown}");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(evidence["size"].as_u64(), Some(ORIGIN_PAGE.len() as u64));
    assert_eq!(pair.hooks.lock().expect("lock").flaky, 3, "two failures, then the content");
    let types: Vec<String> = pair.platform_log_types().into_iter().filter(|t| t.starts_with("evidence.")).collect();
    assert_eq!(types, ["evidence.failed", "evidence.failed", "evidence.preserved"], "each attempt is on the record");

    // Six months later (as far as this record goes), the content is deleted, and that is logged.
    let blob = tocsin_server::blob_path(pair.platform_dir.path(), evidence["sha256"].as_str().expect("hash"));
    assert!(blob.exists());
    let db = crate::helpers::Database::sqlite(pair.platform_dir.path());
    db.execute("UPDATE evidence SET retain_until = 1 WHERE order_id = $1", &[crate::helpers::Param::Text(id.clone())]);
    let deadline = Instant::now() + Duration::from_secs(30);
    while pair.order_on_platform(&id)["evidence"][0]["status"] != "expired" {
        assert!(Instant::now() < deadline, "not expired within 30 s");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(!blob.exists(), "the content is gone");
}
