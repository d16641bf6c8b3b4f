//! `tocsin log verify` against a real node: it passes on an honest log and names the entry when
//! the database is edited behind the node's back. On SQLite and on PostgreSQL.

use crate::helpers::{Database, Node, Param, tocsin_in};

fn an_honest_log_verifies_and_edits_behind_the_nodes_back_are_named(dir: &std::path::Path, db: Database) {
    let token =
        tocsin_in(dir, &[&["admin", "token", "--data", ".", "--account", "overseer", "--role", "oversight"][..], &db.args()].concat())
            .stdout
            .trim()
            .to_owned();
    let admin =
        tocsin_in(dir, &[&["admin", "token", "--data", ".", "--account", "chief"][..], &db.args()].concat()).stdout.trim().to_owned();
    let node = Node::start(dir, &db.args(), &[]);
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
    let fingerprint = serde_json::from_str::<serde_json::Value>(&node.get("/.well-known/tocsin").1).expect("identity")["fingerprint"]
        .as_str()
        .expect("fingerprint")
        .to_owned();
    assert_eq!(verify(&["--fingerprint", &fingerprint]).code, 0, "the key confirmed out of band");
    let other_key = verify(&["--fingerprint", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"]);
    assert_eq!(other_key.code, 1);
    assert!(other_key.stderr.contains("not the expected"), "{}", other_key.stderr);
    let unreachable = tocsin_in(dir, &["log", "verify", "--url", "http://127.0.0.1:1", "--token", &token]);
    assert_eq!(unreachable.code, 2, "a node that cannot be reached is an error, not a pass: {}", unreachable.stderr);

    db.execute("UPDATE log_entries SET data = $1 WHERE idx = 2", &[Param::Bytes(br#"{"type":"nothing to see"}"#.to_vec())]);
    let run = verify(&[]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("entry 2: its data does not match"), "{}", run.stderr);

    db.execute("DELETE FROM log_entries WHERE idx = 5", &[]);
    let run = verify(&[]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("entries 5 to 5: missing"), "{}", run.stderr);
    drop(node);
}

#[test]
fn on_sqlite_an_honest_log_verifies_and_edits_are_named() {
    let data = tempfile::tempdir().expect("temp dir");
    an_honest_log_verifies_and_edits_behind_the_nodes_back_are_named(data.path(), Database::sqlite(data.path()));
}

#[test]
fn on_postgres_an_honest_log_verifies_and_edits_are_named() {
    let data = tempfile::tempdir().expect("temp dir");
    an_honest_log_verifies_and_edits_behind_the_nodes_back_are_named(data.path(), Database::postgres("tamper"));
}

fn a_rewritten_history_does_not_extend_an_earlier_head(dir: &std::path::Path, db: Database) {
    let token =
        tocsin_in(dir, &[&["admin", "token", "--data", ".", "--account", "auditor-1", "--role", "auditor"][..], &db.args()].concat())
            .stdout
            .trim()
            .to_owned();
    let node = Node::start(dir, &db.args(), &[]);
    let url = format!("http://{}", node.addr);
    let verify = ["log", "verify", "--url", url.as_str(), "--token", token.as_str()];
    assert_eq!(tocsin_in(dir, &[&verify[..], &["--save-head", "old.json"]].concat()).code, 0);
    // Entry 0 and its leaf hash rewritten together, and the stored tree state rebuilt to match
    // the forgery: the new head is self-consistent, but not an extension of the old one.
    let forged = "{\"type\":\"account.created\",\"account\":\"someone-else\"}";
    let forged_leaf = tocsin_ledger::leaf_hash(forged.as_bytes());
    db.execute(
        "UPDATE log_entries SET data = $1, leaf_hash = $2 WHERE idx = 0",
        &[Param::Bytes(forged.as_bytes().to_vec()), Param::Bytes(forged_leaf.0.to_vec())],
    );
    let peaks = tocsin_ledger::root(&[forged_leaf, db.leaf_hash(1)]);
    db.execute("UPDATE log_state SET peaks = $1 WHERE id = 1", &[Param::Bytes(peaks.0.to_vec())]);
    let run = tocsin_in(dir, &[&verify[..], &["--head", "old.json"]].concat());
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(run.stderr.contains("does not extend the saved head"), "{}", run.stderr);
    drop(node);
}

#[test]
fn on_sqlite_a_rewritten_history_does_not_extend_an_earlier_head() {
    let data = tempfile::tempdir().expect("temp dir");
    a_rewritten_history_does_not_extend_an_earlier_head(data.path(), Database::sqlite(data.path()));
}

#[test]
fn on_postgres_a_rewritten_history_does_not_extend_an_earlier_head() {
    let data = tempfile::tempdir().expect("temp dir");
    a_rewritten_history_does_not_extend_an_earlier_head(data.path(), Database::postgres("rewrite"));
}

#[test]
fn the_signed_tree_head_verifies_as_docs_protocol_describes_it_with_pythons_cryptography() {
    let dir = tempfile::tempdir().expect("temp dir");
    let admin = tocsin_in(dir.path(), &["admin", "token", "--data", ".", "--account", "chief"]).stdout.trim().to_owned();
    let node = Node::start(dir.path(), &[], &[]);
    for name in ["a1", "a2", "a3", "a4", "a5"] {
        let body = format!(r#"{{"name":"{name}","roles":["issuer"]}}"#);
        assert_eq!(node.call("POST", "/v1/accounts", Some(&admin), "application/json", body.as_bytes()).0, 201);
    }
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cli/scripts/tree_head.py");
    let out = std::process::Command::new("/usr/bin/python3")
        .arg(&script)
        .args([&format!("http://{}", node.addr), admin.as_str()])
        .output()
        .expect("python3 with cryptography (scripts/test installs python3-cryptography)");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    // Two entries for the offline token, five accounts.
    assert_eq!(text.trim(), "verified 7");
}
