//! Nothing acknowledged is lost: accounts are created as fast as a client can while the node is
//! killed with SIGKILL and restarted; afterwards every acknowledged account exists, none is
//! logged twice, and the log verifies. On SQLite and on PostgreSQL.

use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::helpers::{Database, Node, tocsin_in};

/// POST one account; `true` only for a complete `201 Created`.
fn create(addr: &str, token: &str, name: &str) -> bool {
    let Ok(mut stream) = std::net::TcpStream::connect(addr) else { return false };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let body = format!(r#"{{"name":"{name}","roles":["issuer"]}}"#);
    let request = format!(
        "POST /v1/accounts HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut response = String::new();
    stream.read_to_string(&mut response).is_ok() && response.starts_with("HTTP/1.1 201")
}

fn hammer_and_kill(data: &std::path::Path, database: &[&str]) {
    let admin = tocsin_in(data, &[&["admin", "token", "--data", ".", "--account", "chief"][..], database].concat());
    assert_eq!(admin.code, 0, "{}", admin.stderr);
    let admin = admin.stdout.trim().to_owned();
    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let mut next = 0usize;
    for round in 0..4 {
        let node = Node::start(data, database, &[]);
        let stop = Arc::new(AtomicBool::new(false));
        let client = {
            let (addr, token, acked, stop) = (node.addr.clone(), admin.clone(), acknowledged.clone(), stop.clone());
            let first = next;
            std::thread::spawn(move || {
                let mut n = first;
                while !stop.load(Ordering::Relaxed) {
                    let name = format!("acct-{n}");
                    n += 1;
                    if create(&addr, &token, &name) {
                        acked.lock().expect("lock").push(name);
                    }
                }
                n
            })
        };
        std::thread::sleep(Duration::from_millis(150 + 100 * round));
        drop(node); // SIGKILL, mid-request as likely as not
        stop.store(true, Ordering::Relaxed);
        next = client.join().expect("client");
    }
    let acknowledged = acknowledged.lock().expect("lock").clone();
    assert!(acknowledged.len() > 10, "the client got some work done: {}", acknowledged.len());

    let node = Node::start(data, database, &[]);
    let (status, _, body) = node.call("GET", "/v1/accounts", Some(&admin), "", b"");
    assert_eq!(status, 200, "{body}");
    let listed: Vec<String> = serde_json::from_str::<serde_json::Value>(&body)
        .expect("JSON")
        .as_array()
        .expect("a list")
        .iter()
        .map(|a| a["name"].as_str().expect("name").to_owned())
        .collect();
    for name in &acknowledged {
        assert!(listed.contains(name), "{name} was acknowledged and is gone");
    }
    let mut unique = listed.clone();
    unique.dedup();
    assert_eq!(unique, listed, "no account twice");

    let url = format!("http://{}", node.addr);
    let run = tocsin_in(data, &["log", "verify", "--url", &url, "--token", &admin]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    // One log entry per account made (the admin's token adds one more).
    let entries: usize = run.stdout.split_whitespace().nth(1).and_then(|n| n.parse().ok()).expect("ok: N entries");
    assert_eq!(entries, listed.len() + 1, "{}", run.stdout);
}

#[test]
fn on_sqlite_nothing_acknowledged_is_lost_across_kills() {
    let data = tempfile::tempdir().expect("temp dir");
    hammer_and_kill(data.path(), &[]);
}

#[test]
fn on_postgres_nothing_acknowledged_is_lost_across_kills() {
    let db = Database::postgres("durability");
    let data = tempfile::tempdir().expect("temp dir");
    hammer_and_kill(data.path(), &db.args());
}
