//! `tocsin log verify` against a real node: it passes on an honest log and names the entry when
//! the database is edited behind the node's back.

use crate::helpers::{Node, tocsin_in};

/// Runs SQL on the node's SQLite database directly, as someone with file access might.
fn tamper(db: &std::path::Path, sql: &str) {
    use sqlx::Connection;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", db.display())).await.expect("opens the database");
        sqlx::raw_sql(sql).execute(&mut conn).await.expect("tampered");
    });
}

#[test]
fn an_honest_log_verifies_and_edits_behind_the_nodes_back_are_named() {
    let data = tempfile::tempdir().expect("temp dir");
    let dir = data.path();
    let made = tocsin_in(dir, &["admin", "token", "--data", ".", "--account", "overseer", "--role", "oversight"]);
    let token = made.stdout.trim().to_owned();
    let admin = tocsin_in(dir, &["admin", "token", "--data", ".", "--account", "chief"]).stdout.trim().to_owned();
    let node = Node::start(dir, &[], &[]);
    let url = format!("http://{}", node.addr);
    for name in ["a1", "a2", "a3"] {
        let body = format!(r#"{{"name":"{name}","roles":["issuer"]}}"#);
        assert_eq!(node.call("POST", "/v1/accounts", Some(&admin), "application/json", body.as_bytes()).0, 201);
    }
    let verify = |extra: &[&str]| {
        let mut args = vec!["log", "verify", "--url", url.as_str(), "--token", token.as_str()];
        args.extend_from_slice(extra);
        tocsin_in(dir, &args)
    };

    // 2 accounts and 2 tokens made offline, 3 accounts through the API: 7 entries.
    let ok = verify(&["--save-head", "head-7.json"]);
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    assert!(ok.stdout.starts_with("ok: 7 entries"), "{}", ok.stdout);
    assert_eq!(node.call("POST", "/v1/accounts", Some(&admin), "application/json", br#"{"name":"a4","roles":["auditor"]}"#).0, 201);
    let grown = verify(&["--head", "head-7.json"]);
    assert_eq!(grown.code, 0, "a log that grew extends its earlier head: {}", grown.stderr);
    let unreachable = tocsin_in(dir, &["log", "verify", "--url", "http://127.0.0.1:1", "--token", &token]);
    assert_eq!(unreachable.code, 2, "a node that cannot be reached is an error, not a pass: {}", unreachable.stderr);

    let db = dir.join("tocsin.db");
    tamper(&db, "UPDATE log_entries SET data = CAST('{\"type\":\"nothing to see\"}' AS BLOB) WHERE idx = 2");
    let run = verify(&[]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("entry 2: its data does not match"), "{}", run.stderr);

    tamper(&db, "DELETE FROM log_entries WHERE idx = 5");
    let run = verify(&[]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("entries 5 to 5: missing"), "{}", run.stderr);
    drop(node);
}

#[test]
fn a_rewritten_history_does_not_extend_an_earlier_head() {
    let data = tempfile::tempdir().expect("temp dir");
    let dir = data.path();
    let token = tocsin_in(dir, &["admin", "token", "--data", ".", "--account", "auditor-1", "--role", "auditor"]).stdout.trim().to_owned();
    let node = Node::start(dir, &[], &[]);
    let url = format!("http://{}", node.addr);
    let verify = ["log", "verify", "--url", url.as_str(), "--token", token.as_str()];
    assert_eq!(tocsin_in(dir, &[&verify[..], &["--save-head", "old.json"]].concat()).code, 0);
    // Entry 0 and its leaf hash rewritten together, and the stored tree state rebuilt to match
    // the forgery: the new head is self-consistent, but not an extension of the old one.
    let forged = "{\"type\":\"account.created\",\"account\":\"someone-else\"}";
    tamper(
        &dir.join("tocsin.db"),
        &format!(
            "UPDATE log_entries SET data = CAST('{forged}' AS BLOB), leaf_hash = X'{}' WHERE idx = 0;
             UPDATE log_state SET peaks = X'{}' WHERE id = 1;",
            tocsin_ledger::leaf_hash(forged.as_bytes()),
            tocsin_ledger::root(&[tocsin_ledger::leaf_hash(forged.as_bytes()), leaf_at(dir, 1)]),
        ),
    );
    let run = tocsin_in(dir, &[&verify[..], &["--head", "old.json"]].concat());
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(run.stderr.contains("does not extend the saved head"), "{}", run.stderr);
    drop(node);
}

/// The stored leaf hash of entry `index`.
fn leaf_at(dir: &std::path::Path, index: i64) -> tocsin_ledger::Hash {
    use sqlx::{Connection, Row};
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", dir.join("tocsin.db").display())).await.expect("opens");
        let row = sqlx::query("SELECT leaf_hash FROM log_entries WHERE idx = ?").bind(index).fetch_one(&mut conn).await.expect("row");
        let bytes: Vec<u8> = row.get(0);
        tocsin_ledger::Hash(bytes.try_into().expect("32 bytes"))
    })
}
