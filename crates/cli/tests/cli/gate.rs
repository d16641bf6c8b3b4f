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
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", self.port)).expect("connects");
        stream.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
        write!(stream, "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").expect("request");
        let mut response = Vec::new();
        let _ = stream.read_to_end(&mut response);
        let text = String::from_utf8_lossy(&response).into_owned();
        let status = text.split_whitespace().nth(1).and_then(|s| s.parse().ok()).expect("a status");
        (status, text.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default())
    }
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
