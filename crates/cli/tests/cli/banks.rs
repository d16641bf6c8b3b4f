//! Banks through a running node: import from the files sharing programmes publish, export and
//! re-import unchanged, disputes and withdrawals followed by lookups at once, and bad input refused
//! with nothing changed.

use std::path::Path;

use serde_json::{Value, json};

use crate::helpers::{Node, tocsin_in};

fn token(dir: &Path, account: &str, role: &str) -> String {
    tocsin_in(dir, &["admin", "token", "--data", ".", "--account", account, "--role", role]).stdout.trim().to_owned()
}

struct Bank {
    dir: tempfile::TempDir,
    node: Node,
    admin: String,
    server: String,
}

impl Bank {
    fn start() -> Bank {
        let dir = tempfile::tempdir().expect("temp dir");
        let node = Node::start(dir.path(), &[], &[]);
        let admin = token(dir.path(), "admin", "admin");
        let server = format!("http://{}", node.addr);
        Bank { dir, node, admin, server }
    }

    /// `tocsin bank ARGS --server .. --token ..` in the node's folder.
    fn cli(&self, args: &[&str]) -> crate::helpers::Run {
        let mut all = vec!["bank"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--server", &self.server, "--token", &self.admin]);
        tocsin_in(self.dir.path(), &all)
    }

    fn write(&self, name: &str, text: &str) -> String {
        std::fs::write(self.dir.path().join(name), text).expect("write");
        name.to_owned()
    }

    fn lookup(&self, signals: Value) -> (u16, Value) {
        let (status, _, body) =
            self.node.call("POST", "/v1/lookup", Some(&self.admin), "application/json", json!({"signals": signals}).to_string().as_bytes());
        (status, serde_json::from_str(&body).expect("JSON"))
    }

    fn export(&self, bank: &str, format: &str) -> String {
        let run = self.cli(&["export", bank, "--format", format]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        run.stdout
    }
}

fn hex64(c: char) -> String {
    c.to_string().repeat(64)
}

#[test]
fn a_file_with_bad_rows_imports_the_rest_and_names_each_bad_line() {
    let bank = Bank::start();
    assert_eq!(bank.cli(&["create", "known", "--action", "block"]).stdout.trim(), "known");
    let file = bank.write(
        "known.txt",
        &format!(
            "# known hashes\n{}\nsha256:{}\nmd5:xyz\n\ntmk:{}\nurl:https://Propaganda.example/a/../v.mp4\n",
            hex64('a'),
            hex64('b'),
            hex64('c')
        ),
    );
    let strict = bank.cli(&["import", "known", &file, "--strict"]);
    assert_eq!(strict.code, 2, "{}", strict.stderr);
    assert!(strict.stderr.contains("known.txt:4: md5 value \"xyz\": 32 hex digits (nothing imported: --strict)"), "{}", strict.stderr);
    assert_eq!(bank.export("known", "lines"), "", "--strict imported nothing");

    let run = bank.cli(&["import", "known", &file]);
    assert_eq!(run.code, 1, "bad rows make the exit code 1: {}", run.stderr);
    assert!(run.stderr.contains("known.txt:4: md5 value"), "{}", run.stderr);
    assert!(run.stderr.contains("known.txt:6: expected TYPE:VALUE"), "{}", run.stderr);
    assert_eq!(run.stdout.trim(), "5 rows read: 3 added, 0 already in the bank, 0 deleted records left out, 2 bad rows");
    assert_eq!(
        bank.export("known", "lines"),
        format!("pdq:{}\nsha256:{}\nurl:https://propaganda.example/v.mp4\n", hex64('a'), hex64('b')),
        "in canonical form, in the order added"
    );
    let again = bank.cli(&["import", "known", &file]);
    assert!(again.stdout.contains("0 added, 3 already in the bank"), "{}", again.stdout);
}

#[test]
fn csv_and_tat_files_import_with_their_labels_and_an_export_reimports_identically() {
    let bank = Bank::start();
    bank.cli(&["create", "shared", "--action", "review"]);
    let csv = bank.write(
        "list.csv",
        &format!("signal_type,signal_value,tags\npdq,{},\"glorification threat\"\nmd5,{},\n", hex64('1'), "2".repeat(32)),
    );
    assert!(bank.cli(&["import", "shared", &csv, "--format", "csv"]).stdout.contains("2 added"));
    let tat = bank.write(
        "tat.json",
        &format!(
            "[\n{{\"hash_digest\": \"{}\", \"algorithm\": \"SHA256\", \"ideology\": \"group-x\", \"file_type\": \"pdf\", \"deleted\": false}},\n{{\"hash_digest\": \"{}\", \"algorithm\": \"MD5\", \"ideology\": \"group-x\", \"file_type\": \"mp4\", \"deleted\": true}}\n]\n",
            hex64('3'),
            "4".repeat(32)
        ),
    );
    let run = bank.cli(&["import", "shared", &tat, "--format", "tat"]);
    assert_eq!(run.stdout.trim(), "2 rows read: 1 added, 0 already in the bank, 1 deleted records left out, 0 bad rows", "{}", run.stderr);
    let first = bank.export("shared", "jsonl");
    let rows: Vec<Value> = first.lines().map(|l| serde_json::from_str(l).expect("JSON")).collect();
    assert_eq!(rows[0]["labels"], json!({"tags": ["glorification", "threat"]}));
    assert_eq!(rows[2]["labels"], json!({"content_type": "pdf", "entity": "group-x"}));
    assert_eq!(rows[0]["provenance"], json!({"source": "import", "reference": "admin", "detail": "list.csv"}));

    // A disputed signal stays disputed through the round trip.
    let signals: Vec<Value> =
        serde_json::from_str(&bank.node.call("GET", "/v1/banks/shared/signals", Some(&bank.admin), "", b"").2).expect("JSON");
    let first_num = signals[0]["num"].as_i64().expect("num").to_string();
    let disputed = bank.cli(&["state", "shared", &first_num, "disputed", "--reason", "a cartoon"]);
    assert_eq!(disputed.code, 0, "{}", disputed.stderr);
    let before = bank.export("shared", "jsonl");
    let exported = bank.write("shared.jsonl", &before);
    bank.cli(&["create", "copy", "--action", "review"]);
    let run = bank.cli(&["import", "copy", &exported, "--format", "jsonl"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let mut original: Vec<&str> = before.lines().collect();
    let copied = bank.export("copy", "jsonl");
    let mut copy: Vec<&str> = copied.lines().collect();
    original.sort_unstable();
    copy.sort_unstable();
    assert_eq!(copy, original, "type, value, labels, state and provenance all kept");
}

#[test]
fn disputes_and_withdrawals_change_lookups_at_once() {
    let bank = Bank::start();
    bank.cli(&["create", "known", "--action", "block", "--pdq-threshold", "10"]);
    let file = bank.write("k.txt", &format!("{}\n", hex64('0')));
    bank.cli(&["import", "known", &file]);
    // Nine bits off matches within the bank's threshold of 10; twelve bits off does not.
    let near = format!("{}{}", "1ff", "0".repeat(61));
    let far = format!("{}{}", "fff", "0".repeat(61));
    let (status, found) = bank.lookup(json!([{"type": "pdq", "value": near}]));
    assert_eq!((status, found["verdict"].as_str()), (200, Some("block")), "{found}");
    assert_eq!(found["matches"][0]["distance"], 9);
    assert_eq!(bank.lookup(json!([{"type": "pdq", "value": far}])).1["verdict"], "none");

    let num = found["matches"][0]["num"].as_i64().expect("num").to_string();
    assert_eq!(bank.cli(&["state", "known", &num, "disputed", "--reason", "a film still"]).code, 0);
    let (_, disputed) = bank.lookup(json!([{"type": "pdq", "value": near}]));
    assert_eq!((disputed["verdict"].as_str(), disputed["matches"][0]["state"].as_str()), (Some("review"), Some("disputed")), "{disputed}");
    assert_eq!(bank.cli(&["state", "known", &num, "withdrawn", "--reason", "not terrorist content"]).code, 0);
    let (_, withdrawn) = bank.lookup(json!([{"type": "pdq", "value": near}]));
    assert_eq!((withdrawn["verdict"].as_str(), withdrawn["matches"].as_array().map(Vec::len)), (Some("none"), Some(0)), "{withdrawn}");
    assert_eq!(bank.cli(&["state", "known", &num, "active", "--reason", "reinstated on appeal"]).code, 0);
    assert_eq!(bank.lookup(json!([{"type": "pdq", "value": near}])).1["verdict"], "block");
}

/// A PNG whose header claims `width` x `height` pixels, with an empty image stream: a
/// decompression bomb's shape, a hundred bytes that would decode to gigabytes.
fn png_header(width: u32, height: u32) -> Vec<u8> {
    let mut ihdr = width.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    // An empty zlib stream as the image data, then the end.
    for (kind, data) in [(&b"IHDR"[..], &ihdr[..]), (b"IDAT", b"\x78\x9c\x03\x00\x00\x00\x00\x01"), (b"IEND", b"")] {
        png.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let chunk = [kind, data].concat();
        png.extend_from_slice(&chunk);
        png.extend_from_slice(&crc32fast::hash(&chunk).to_be_bytes());
    }
    png
}

#[test]
fn bad_scans_and_lookups_are_refused_clearly_and_change_nothing() {
    let bank = Bank::start();
    let auditor = token(bank.dir.path(), "auditor", "auditor");
    let scan = |token: &str, content_type: &str, body: &[u8]| {
        let (status, head, body) = bank.node.call("POST", "/v1/scan", Some(token), content_type, body);
        (status, head, serde_json::from_str::<Value>(&body).unwrap_or(Value::Null))
    };
    let log_size = || -> Value {
        let head: Value = serde_json::from_str(&bank.node.call("GET", "/v1/log/head", Some(&bank.admin), "", b"").2).expect("JSON");
        head["size"].clone()
    };
    let size_before = log_size();
    let bomb = png_header(100_000, 100_000);
    let (status, _, problem) = scan(&bank.admin, "image/png", &bomb);
    assert_eq!(status, 422, "{problem}");
    assert!(problem["detail"].as_str().expect("detail").contains("100000x100000 pixels exceeds the limit"), "{problem}");
    let (status, _, problem) = scan(&bank.admin, "image/jpeg", b"\xff\xd8\xff\xe0 not really");
    assert_eq!(status, 422, "{problem}");
    assert_eq!(scan(&bank.admin, "image/jpeg", b"").0, 422, "an empty body");
    let oversized = vec![0u8; 33 << 20];
    assert_eq!(scan(&bank.admin, "application/octet-stream", &oversized).0, 413);
    assert_eq!(scan(&auditor, "image/png", &bomb).0, 403, "auditors read the log, they do not scan");
    // Content that is not an image is matched by its digests.
    let (status, _, result) = scan(&bank.admin, "application/pdf", b"%PDF-1.7 a tract");
    assert_eq!((status, result["verdict"].as_str(), result["signals"].as_array().map(Vec::len)), (200, Some("none"), Some(2)), "{result}");

    for (signals, why) in [
        (json!([{"type": "tmk", "value": hex64('0')}]), "signal type \"tmk\""),
        (json!([{"type": "vpdq", "value": hex64('0')}]), "vpdq value"),
        (json!([{"type": "pdq", "value": "0f"}]), "64 hex digits"),
        (json!([{"type": "pdq", "value": hex64('0'), "extra": 1}]), "unknown field"),
        (json!([]), "1 to 10000 signals"),
    ] {
        let (status, problem) = bank.lookup(signals);
        assert_eq!(status, 422, "{problem}");
        assert!(problem["detail"].as_str().expect("detail").contains(why), "{why}: {problem}");
    }
    let created = bank.node.call("POST", "/v1/banks", Some(&bank.admin), "application/json", br#"{"name":"Bad Name","action":"block"}"#);
    assert_eq!(created.0, 422, "{}", created.2);
    let created = bank.node.call("POST", "/v1/banks", Some(&bank.admin), "application/json", br#"{"name":"b","action":"delete"}"#);
    assert_eq!(created.0, 422, "{}", created.2);
    let added = bank.node.call(
        "POST",
        "/v1/banks/nope/signals",
        Some(&bank.admin),
        "application/json",
        br#"{"signals":[{"type":"md5","value":"00000000000000000000000000000000"}]}"#,
    );
    assert_eq!(added.0, 404, "{}", added.2);
    let banks: Vec<Value> = serde_json::from_str(&bank.node.call("GET", "/v1/banks", Some(&bank.admin), "", b"").2).expect("JSON");
    assert_eq!(banks.iter().map(|b| b["name"].as_str().unwrap_or_default()).collect::<Vec<_>>(), ["stay-down"], "nothing was made");
    assert!(size_before.is_u64());
    assert_eq!(log_size(), size_before, "nothing was logged");
}

#[test]
fn on_postgres_a_node_process_matches_what_another_process_on_the_same_database_added() {
    // Two processes of one platform node (one data folder, one key, one database), as behind a
    // load balancer: a signal added through one is matched by the other without a restart.
    let dir = tempfile::tempdir().expect("temp dir");
    let db = crate::helpers::Database::postgres("banks_shared");
    let admin =
        tocsin_in(dir.path(), &[&["admin", "token", "--data", ".", "--account", "tns", "--role", "admin"][..], &db.args()].concat())
            .stdout
            .trim()
            .to_owned();
    let first = Node::start(dir.path(), &db.args(), &[]);
    let second = Node::start(dir.path(), &db.args(), &[]);
    let json_call = |node: &Node, path: &str, body: Value| {
        let (status, _, text) = node.call("POST", path, Some(&admin), "application/json", body.to_string().as_bytes());
        (status, serde_json::from_str::<Value>(&text).unwrap_or(Value::Null))
    };
    let lookup = json!({"signals": [{"type": "sha256", "value": hex64('e')}]});
    assert_eq!(json_call(&second, "/v1/lookup", lookup.clone()).1["verdict"], "none");
    assert_eq!(json_call(&first, "/v1/banks", json!({"name": "known", "action": "block"})).0, 201);
    let (status, added) = json_call(&first, "/v1/banks/known/signals", json!({"signals": [{"type": "sha256", "value": hex64('e')}]}));
    assert_eq!((status, added["added"].as_u64()), (200, Some(1)), "{added}");
    // The other process follows the database's change numbers every second.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let (status, found) = json_call(&second, "/v1/lookup", lookup.clone());
        assert_eq!(status, 200, "{found}");
        if found["verdict"] == "block" {
            assert_eq!(found["matches"][0]["bank"], "known");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the second process did not see the signal within 10 s: {found}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

#[test]
fn scans_past_the_queue_are_refused_with_retry_after_and_the_rest_are_answered() {
    // No waiting places: only as many scans as there are hashing threads run at once.
    let dir = tempfile::tempdir().expect("temp dir");
    let node = Node::start(dir.path(), &["--scan-queue", "0"], &[]);
    let admin = token(dir.path(), "admin", "admin");
    let photo = std::fs::read(crate::helpers::data_dir().join("reg-test-input/exif-rotn/exif-rotn-1.jpg")).expect("a 4032x3024 photo");
    let start = std::sync::Barrier::new(8);
    let answers: Vec<(u16, String)> = std::thread::scope(|s| {
        let scans: Vec<_> = (0..8)
            .map(|_| {
                s.spawn(|| {
                    start.wait();
                    let (status, head, _) = node.call("POST", "/v1/scan", Some(&admin), "image/jpeg", &photo);
                    (status, head)
                })
            })
            .collect();
        scans.into_iter().map(|t| t.join().expect("a scan")).collect()
    });
    let busy: Vec<&(u16, String)> = answers.iter().filter(|(status, _)| *status == 503).collect();
    assert!(!busy.is_empty(), "eight scans at once on a node with no queue: {answers:?}");
    assert!(busy.iter().all(|(_, head)| head.contains("retry-after: 1")), "{busy:?}");
    assert!(answers.iter().all(|(status, _)| *status == 200 || *status == 503), "{answers:?}");
    assert!(answers.iter().any(|(status, _)| *status == 200), "those with a place are answered");
}

#[test]
fn on_postgres_a_lookup_that_matches_a_review_bank_waits_for_a_decision_and_bad_decisions_change_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = crate::helpers::Database::postgres("matches");
    let admin =
        tocsin_in(dir.path(), &[&["admin", "token", "--data", ".", "--account", "tns", "--role", "admin"][..], &db.args()].concat())
            .stdout
            .trim()
            .to_owned();
    let moderator =
        tocsin_in(dir.path(), &[&["admin", "token", "--data", ".", "--account", "mod", "--role", "reviewer"][..], &db.args()].concat())
            .stdout
            .trim()
            .to_owned();
    let node = Node::start(dir.path(), &db.args(), &[]);
    let call = |token: &str, path: &str, body: Value| {
        let (status, _, text) = node.call("POST", path, Some(token), "application/json", body.to_string().as_bytes());
        (status, serde_json::from_str::<Value>(&text).unwrap_or(Value::Null))
    };
    assert_eq!(call(&admin, "/v1/banks", json!({"name": "gifct-review", "action": "review"})).0, 201);
    assert_eq!(call(&admin, "/v1/banks/gifct-review/signals", json!({"signals": [{"type": "md5", "value": "a".repeat(32)}]})).0, 200);
    let (status, found) = call(&admin, "/v1/lookup", json!({"signals": [{"type": "md5", "value": "a".repeat(32)}]}));
    assert_eq!((status, found["verdict"].as_str()), (200, Some("review")), "{found}");
    let id = found["match_id"].as_str().expect("kept").to_owned();
    let (_, _, queue) = node.call("GET", "/v1/matches?pending=true", Some(&moderator), "", b"");
    let queue: Value = serde_json::from_str(&queue).expect("JSON");
    assert_eq!(queue.as_array().map(|q| q.iter().map(|m| m["id"].clone()).collect::<Vec<_>>()), Some(vec![json!(id)]));
    let (_, _, misses) = node.call("GET", "/v1/matches", Some(&moderator), "", b"");
    assert_eq!(
        serde_json::from_str::<Value>(&misses).expect("JSON").as_array().map(Vec::len),
        Some(1),
        "a lookup that matched nothing is not kept"
    );

    let decide = |token: &str, id: &str, body: Value| call(token, &format!("/v1/matches/{id}/decision"), body);
    let size = || serde_json::from_str::<Value>(&node.call("GET", "/v1/log/head", Some(&admin), "", b"").2).expect("JSON")["size"].clone();
    let before = size();
    for (token, id, body, status) in [
        (&moderator, id.as_str(), json!({"decision": "confirmed", "reason": "with a NUL \u{0} byte"}), 422),
        (&moderator, id.as_str(), json!({"decision": "confirmed", "reason": " "}), 422),
        (&moderator, id.as_str(), json!({"decision": "maybe", "reason": "x"}), 422),
        (&moderator, "nul%00", json!({"decision": "confirmed", "reason": "x"}), 404),
        (&moderator, "01M8NBJZ9R3XRCERC33TX8ZJ49", json!({"decision": "confirmed", "reason": "x"}), 404),
        (&admin, id.as_str(), json!({"decision": "confirmed", "reason": "x"}), 403),
    ] {
        assert_eq!(decide(token, id, body.clone()).0, status, "{id} {body}");
    }
    assert_eq!(size(), before, "refusals change nothing");
    let (status, decided) = decide(&moderator, &id, json!({"decision": "cleared", "reason": "a news report about the attack"}));
    assert_eq!((status, decided["status"].as_str()), (200, Some("cleared")), "{decided}");
    assert_eq!(decide(&moderator, &id, json!({"decision": "confirmed", "reason": "x"})).0, 409, "decided once");
}

/// A grey PNG of `width` x `height` pixels: small to send, large to decode.
fn flat_png(width: u32, height: u32) -> Vec<u8> {
    let pixels = image::GrayImage::from_pixel(width, height, image::Luma([128]));
    let mut out = std::io::Cursor::new(Vec::new());
    pixels.write_to(&mut out, image::ImageFormat::Png).expect("encodes");
    out.into_inner()
}

#[test]
fn an_image_over_the_pixel_limit_is_refused_before_it_is_decoded() {
    let dir = tempfile::tempdir().expect("temp dir");
    let node = Node::start(dir.path(), &["--scan-max-pixels", "1000000"], &[]);
    let admin = token(dir.path(), "admin", "admin");
    let (status, _, body) = node.call("POST", "/v1/scan", Some(&admin), "image/png", &flat_png(2000, 1000));
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("1000000"), "the limit is named: {body}");
    assert_eq!(node.call("POST", "/v1/scan", Some(&admin), "image/png", &flat_png(1000, 1000)).0, 200);
}

#[test]
fn a_scan_whose_client_hangs_up_keeps_its_place_until_its_image_is_hashed() {
    use std::io::Write;
    let dir = tempfile::tempdir().expect("temp dir");
    // No waiting places: as many scans as hashing threads, and no more.
    let node = Node::start(dir.path(), &["--scan-queue", "0"], &[]);
    let admin = token(dir.path(), "admin", "admin");
    let workers = std::thread::available_parallelism().map_or(1, usize::from);
    let large = flat_png(9000, 9000);
    // Every place taken by a scan of a large image whose client hangs up once it is sent.
    for _ in 0..workers {
        let mut stream = std::net::TcpStream::connect(&node.addr).expect("connects");
        write!(
            stream,
            "POST /v1/scan HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {admin}\r\nContent-Type: image/png\r\nContent-Length: {}\r\n\r\n",
            large.len()
        )
        .expect("head");
        stream.write_all(&large).expect("body");
        std::thread::sleep(std::time::Duration::from_millis(100));
        drop(stream);
    }
    std::thread::sleep(std::time::Duration::from_millis(200));
    let small = flat_png(64, 64);
    let (status, head, body) = node.call("POST", "/v1/scan", Some(&admin), "image/png", &small);
    assert_eq!(status, 503, "the places of scans still decoding are not free: {body}");
    assert!(head.contains("retry-after"), "{head}");
    // Once they are hashed, the places are free again.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while node.call("POST", "/v1/scan", Some(&admin), "image/png", &small).0 != 200 {
        assert!(std::time::Instant::now() < deadline, "the places were not given back within 60 s");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

/// One of Meta's shipped vPDQ hash files (C++ form).
fn vpdq_file(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../../tests/data/vpdq/sample-hashes/{name}.txt"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn videos_import_in_metas_forms_match_by_share_of_frames_and_export_as_python_threatexchange_writes_them() {
    let bank = Bank::start();
    assert_eq!(bank.cli(&["create", "videos", "--action", "block"]).code, 0);
    let grey = bank.write("grey.txt", &vpdq_file("pattern-sd-grey-bar"));
    let run = bank.cli(&["import", "videos", &grey, "--format", "vpdq"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout.trim(), "1 video of 206 frames: added");

    // Meta's percentages for its own files (distance 31, quality 50): the small-logo variant
    // shares 99.51 % of its frames both ways and matches; the large-logo one shares 0.97 %.
    let signal = |name: &str| json!({"type": "vpdq", "value": vpdq_file(name)});
    let (status, found) = bank.lookup(json!([signal("pattern-sd-with-small-logo-bar")]));
    assert_eq!((status, found["verdict"].as_str()), (200, Some("block")), "{found}");
    let video = &found["matches"][0]["video"];
    assert_eq!((video["query_percent"].as_f64(), video["target_percent"].as_f64()), (Some(99.51), Some(99.51)), "{found}");
    let (_, found) = bank.lookup(json!([signal("pattern-sd-with-large-logo-bar"), signal("doorknob-hd-no-bar")]));
    assert_eq!((found["verdict"].as_str(), &found["matches"]), (Some("none"), &json!([])), "{found}");

    // Exported as CSV, the features are python-threatexchange's JSON list; read back, they are
    // the same signal, and a bank made from the export holds the same features.
    let csv = bank.export("videos", "csv");
    let row = csv.lines().nth(1).expect("a row");
    assert!(row.starts_with("vpdq,\"[\"\""), "{row}");
    assert!(row.contains(",100,1.03\"\""), "times to 3 significant digits (1.033 s): {row}");
    let copy = bank.write("videos.csv", &csv);
    assert_eq!(bank.cli(&["create", "copy", "--action", "block"]).code, 0);
    let run = bank.cli(&["import", "copy", &copy, "--format", "csv"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let (_, found) = bank.lookup(json!([signal("pattern-sd-with-small-logo-bar")]));
    let mut banks: Vec<&str> = found["matches"].as_array().expect("matches").iter().filter_map(|m| m["bank"].as_str()).collect();
    banks.sort_unstable();
    assert_eq!(banks, ["copy", "videos"], "both banks hold the video");

    // A file that is not vPDQ is refused naming the frame, and adds nothing.
    let bad = bank.write("bad.txt", "0,100,abc,0.000\n");
    let run = bank.cli(&["import", "videos", &bad, "--format", "vpdq"]);
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains("frame 0: a PDQ hash of 64 hex digits"), "{}", run.stderr);
    assert_eq!(bank.export("videos", "lines").lines().count(), 1);
}
