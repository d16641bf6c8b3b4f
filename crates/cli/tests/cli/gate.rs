//! The platform's gate behind a real nginx (`auth_request`), configured with the file the docs
//! give (`docs/nginx-gate.conf`): a blocked URL gets the 451 notice, others pass to the origin,
//! and when the gate is down the site fails closed (503) or open (served), as configured.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::orders::Pair;

/// A real nginx on a loopback port in front of `origin`, asking `gate`.
struct Nginx {
    dir: tempfile::TempDir,
    port: u16,
    child: Child,
}

impl Nginx {
    fn start(gate: &str, origin: &str, fail_open: bool) -> Nginx {
        let dir = tempfile::tempdir().expect("temp dir");
        let port = std::net::TcpListener::bind("127.0.0.1:0").expect("a port").local_addr().expect("addr").port();
        let docs = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/nginx-gate.conf"))
            .expect("the documented configuration");
        // The two blocks the docs give for when the gate is down, taken from its comments.
        let pick = if fail_open { "# Fail open" } else { "# Fail closed" };
        let down = docs.lines().skip_while(|l| !l.starts_with(pick)).nth(1).expect("the block").trim_start_matches('#').trim().to_owned();
        let origin = origin.trim_start_matches("http://");
        let server = docs
            .replace("@WHEN_THE_GATE_IS_DOWN@", &down)
            .replace("@LISTEN@", &format!("127.0.0.1:{port}"))
            .replace("@GATE@", gate)
            .replace("@ORIGIN@", origin);
        std::fs::write(dir.path().join("server.conf"), server).expect("write");
        let d = dir.path().display();
        let main = format!(
            "daemon off;\nmaster_process off;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\nevents {{ worker_connections 64; }}\n\
             http {{\n  access_log off;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n  fastcgi_temp_path {d}/fastcgi;\n  \
             uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n  include {d}/server.conf;\n}}\n"
        );
        std::fs::write(dir.path().join("nginx.conf"), main).expect("write");
        let nginx = if Path::new("/usr/sbin/nginx").exists() { "/usr/sbin/nginx" } else { "nginx" };
        let conf = dir.path().join("nginx.conf");
        let test = Command::new(nginx)
            .arg("-t")
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(&conf)
            .arg("-e")
            .arg(dir.path().join("error.log"))
            .output()
            .expect("nginx (scripts/test installs nginx-light)");
        assert!(test.status.success(), "nginx -t: {}", String::from_utf8_lossy(&test.stderr));
        let child = Command::new(nginx)
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(&conf)
            .arg("-e")
            .arg(dir.path().join("error.log"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nginx starts");
        let nginx = Nginx { dir, port, child };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", nginx.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "nginx did not listen: {}",
                std::fs::read_to_string(nginx.dir.path().join("error.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        nginx
    }

    /// `GET path` with `Host: host`: status and body.
    fn get(&self, host: &str, path: &str) -> (u16, String) {
        let (status, _, body) = raw_get(&format!("127.0.0.1:{}", self.port), host, path);
        (status, body)
    }
}

/// `GET target` sent as written (no client tidies it up) with `Host: host`: status, head, body.
fn raw_get(addr: &str, host: &str, target: &str) -> (u16, String, String) {
    let mut stream = std::net::TcpStream::connect(addr).expect("connects");
    stream.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    write!(stream, "GET {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").expect("request");
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text.split_whitespace().nth(1).and_then(|s| s.parse().ok()).expect("a status");
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    (status, head.to_ascii_lowercase(), body.to_owned())
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn nginx_with_the_documented_configuration_serves_the_notice_for_blocked_urls_and_fails_as_configured() {
    let mut pair = Pair::start();
    let id = pair.issue("https://media.videohost.example/v/1.jpg");
    pair.wait_for(&id, "executed");
    let gate = pair.platform.as_ref().expect("running").addr.clone();
    let closed = Nginx::start(&gate, &pair.origin, false);
    let open = Nginx::start(&gate, &pair.origin, true);
    for nginx in [&closed, &open] {
        let (status, page) = nginx.get("media.videohost.example", "/v/1.jpg");
        assert_eq!(status, 451, "{page}");
        assert!(page.contains("NL-2026-0042") && page.contains("unavailable for legal reasons"), "{page}");
        let (status, page) = nginx.get("media.videohost.example", "/page");
        assert_eq!((status, page.contains("propaganda")), (200, true), "other URLs pass to the origin: {page}");
    }

    // The gate goes down.
    drop(pair.platform.take());
    let (status, page) = closed.get("media.videohost.example", "/v/1.jpg");
    assert_eq!(status, 503, "fail closed: {page}");
    assert_eq!(closed.get("media.videohost.example", "/page").0, 503, "fail closed: nothing is served unchecked");
    let (status, _) = open.get("media.videohost.example", "/page");
    assert_eq!(status, 200, "fail open: the site stays up");
    assert_eq!(open.get("media.videohost.example", "/v/1.jpg").0, 200, "fail open: even blocked content, which is the trade-off");
}

/// Every way of spelling the blocked `/v/1.jpg` that the origin serves as that same image: the
/// order names it without a query, so every query is covered; escapes, dot segments, doubled
/// slashes, and (the origin folding case) any case of host and path.
const SPELLINGS: &[(&str, &str)] = &[
    ("media.videohost.example", "/v/1.jpg?x=1"),
    ("media.videohost.example", "/v/1.jpg?"),
    ("media.videohost.example", "/v/1.jpg?utm_source=newsletter&utm_medium=email"),
    ("media.videohost.example", "//v/1.jpg"),
    ("media.videohost.example", "/v//1.jpg"),
    ("media.videohost.example", "/%76/1.jpg"),
    ("media.videohost.example", "/v/%31%2Ejpg"),
    ("media.videohost.example", "/v/./1.jpg"),
    ("media.videohost.example", "/v/x/../1.jpg"),
    ("media.videohost.example", "/V/1.JPG"),
    ("media.videohost.example", "/v/1.Jpg?X=1"),
    ("MEDIA.VideoHost.example", "/v/1.jpg"),
    ("media.videohost.example.", "/v/1.jpg"),
    ("media.videohost.example:80", "/v/1.jpg"),
];

#[test]
fn every_spelling_of_a_blocked_url_that_the_origin_serves_gets_the_notice_through_nginx() {
    let pair = Pair::start();
    let id = pair.issue("https://media.videohost.example/v/1.jpg");
    pair.wait_for(&id, "executed");
    let gate = pair.platform.as_ref().expect("running").addr.clone();
    let nginx = Nginx::start(&gate, &pair.origin, false);
    let image = crate::orders::origin_image();
    let origin = pair.origin.trim_start_matches("http://");
    for (host, target) in SPELLINGS {
        // The origin itself serves this spelling as the image: content would come back.
        let (status, _, body) = raw_get(origin, host, target);
        assert!(status == 200 && body == String::from_utf8_lossy(&image), "the origin serves {host}{target} as the image: {status}");
        let (status, page) = nginx.get(host, target);
        assert_eq!(status, 451, "{host}{target} must get the notice: {page}");
        assert!(page.contains("NL-2026-0042"), "{page}");
    }
    // Beside it, nothing is caught: other files, and the folder itself.
    for target in ["/v/10.jpg", "/v/1.jpg2", "/v/", "/page?v/1.jpg"] {
        let (status, page) = nginx.get("media.videohost.example", target);
        assert_ne!(status, 451, "{target} is not blocked: {page}");
    }
    assert_eq!(nginx.get("media.videohost.example", "/page?utm_source=x").0, 200);
}

/// The platform's gate, asked as nginx asks it: the status and the response head.
fn gate_check(pair: &Pair, path: &str) -> (u16, String) {
    let node = pair.platform.as_ref().expect("running");
    let (status, head, _) = raw_get(&node.addr, "x", &format!("/v1/gate/check?url={}", path_escape(path)));
    (status, head)
}

fn path_escape(url: &str) -> String {
    url.bytes().map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

/// Waits (at most 30 s) until the gate answers `want` for `url`.
fn wait_gate(pair: &Pair, url: &str, want: u16) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while gate_check(pair, url).0 != want {
        assert!(Instant::now() < deadline, "{url}: not {want} within 30 s");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_url_stays_blocked_while_any_of_its_orders_stands_and_after_a_restart() {
    two_orders_on_one_url(Pair::start());
}

#[test]
fn on_postgres_a_url_stays_blocked_while_any_of_its_orders_stands_and_after_a_restart() {
    two_orders_on_one_url(Pair::start_on_postgres());
}

fn two_orders_on_one_url(mut pair: Pair) {
    let url = "https://media.videohost.example/v/1.jpg";
    let withdraw = |pair: &Pair, id: &str| {
        let run = pair.cli_on_authority(&pair.issuer, &["order", "withdraw", id, "--reason", "issued in error"]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        pair.wait_state(true, id, "withdrawn");
    };
    let first = pair.issue(url);
    pair.wait_for(&first, "executed");
    let second = pair.issue_with(&[url, "https://media.videohost.example/v/2.jpg"], &[]);
    pair.wait_for(&second, "executed");

    withdraw(&pair, &first);
    assert_eq!(gate_check(&pair, url).0, 403, "the second order still stands");
    pair.restart_platform();
    assert_eq!(gate_check(&pair, url).0, 403, "and after a restart");

    withdraw(&pair, &second);
    wait_gate(&pair, url, 204);
    assert_eq!(gate_check(&pair, "https://media.videohost.example/v/2.jpg").0, 204);
    pair.restart_platform();
    assert_eq!(gate_check(&pair, url).0, 204, "no order stands: served");

    // Ordered again after its blocks were lifted: blocked, in the database as in memory.
    let third = pair.issue(url);
    pair.wait_for(&third, "executed");
    assert_eq!(gate_check(&pair, url).0, 403);
    pair.restart_platform();
    let (status, head) = gate_check(&pair, url);
    assert_eq!(status, 403, "the third order's block survives a restart: {head}");
    pair.verify_both_logs();
}

#[test]
fn a_confidential_order_is_not_named_on_the_public_notice_nor_in_the_gates_headers() {
    let pair = Pair::start();
    let secret = pair.issue_with(&["https://media.videohost.example/v/1.jpg"], &["--confidential"]);
    pair.wait_for(&secret, "executed");
    let open = pair.issue_with(&["https://media.videohost.example/v/2.jpg"], &[]);
    pair.wait_for(&open, "executed");
    let node = pair.platform.as_ref().expect("running");

    let (status, head) = gate_check(&pair, "https://media.videohost.example/v/1.jpg");
    assert_eq!(status, 403);
    assert!(!head.contains("tocsin-order-reference"), "no reference for a confidential order: {head}");
    let (status, _, page) =
        node.call("GET", &format!("/v1/gate/notice?url={}", path_escape("https://media.videohost.example/v/1.jpg")), None, "", b"");
    assert_eq!(status, 451);
    assert!(page.contains("unavailable for legal reasons"), "{page}");
    for secret in ["NL-2026-0042", "police-nl", "Regulation (EU) 2021/784", "removal order"] {
        assert!(!page.contains(secret), "{secret} is on the public notice of a confidential order: {page}");
    }

    // An order the provider may tell of is named, as before.
    let (status, head) = gate_check(&pair, "https://media.videohost.example/v/2.jpg");
    assert_eq!(status, 403);
    assert!(head.contains("tocsin-order-reference: nl-2026-0042"), "{head}");
    let (_, _, page) =
        node.call("GET", &format!("/v1/gate/notice?url={}", path_escape("https://media.videohost.example/v/2.jpg")), None, "", b"");
    assert!(page.contains("NL-2026-0042") && page.contains("police-nl"), "{page}");
}
