//! `tocsin peer` between two real nodes: a peer is added only with the fingerprint of the key
//! it really has, listed, removed, and each change is in the log.

use serde_json::Value;

use crate::helpers::{Node, tocsin_in};

#[test]
fn a_peer_is_added_only_with_its_confirmed_fingerprint_then_listed_and_removed() {
    let (authority_dir, platform_dir) = (tempfile::tempdir().expect("temp dir"), tempfile::tempdir().expect("temp dir"));
    let authority = Node::start(authority_dir.path(), &["--name", "police-nl", "--role", "authority"], &[]);
    let token = tocsin_in(platform_dir.path(), &["admin", "token", "--data", ".", "--account", "chief"]).stdout.trim().to_owned();
    let platform = Node::start(platform_dir.path(), &["--name", "videohost", "--role", "platform", "--origin", "http://127.0.0.1:9"], &[]);
    let identity: Value = serde_json::from_str(&authority.get("/.well-known/tocsin").1).expect("identity");
    let fingerprint = identity["fingerprint"].as_str().expect("fingerprint").to_owned();
    let authority_url = format!("http://{}", authority.addr);
    let server = format!("http://{}", platform.addr);
    let peer = |args: &[&str]| tocsin_in(platform_dir.path(), &[&["peer"][..], args, &["--server", &server, "--token", &token]].concat());

    // Fingerprints are base64url and may begin with '-': still read as the flag's value.
    let hyphen = peer(&["add", &authority_url, "--fingerprint", "-5not-the-key", "--role", "authority"]);
    assert!(hyphen.stderr.contains("has fingerprint"), "{}", hyphen.stderr);

    // A fingerprint that is not the key's: refused, nothing stored.
    let wrong = peer(&["add", &authority_url, "--fingerprint", "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k", "--role", "authority"]);
    assert_ne!(wrong.code, 0);
    assert!(wrong.stderr.contains(&format!("has fingerprint {fingerprint}")), "{}", wrong.stderr);
    assert_eq!(peer(&["list"]).stdout, "");
    let unreachable = peer(&["add", "http://127.0.0.1:1", "--fingerprint", &fingerprint, "--role", "authority"]);
    assert_ne!(unreachable.code, 0);
    assert!(unreachable.stderr.contains("502"), "{}", unreachable.stderr);
    let own = serde_json::from_str::<Value>(&platform.get("/.well-known/tocsin").1).expect("identity")["fingerprint"]
        .as_str()
        .expect("fingerprint")
        .to_owned();
    let itself = peer(&["add", &server, "--fingerprint", &own, "--role", "authority"]);
    assert!(itself.stderr.contains("this node's own key"), "{}", itself.stderr);

    // The role is confirmed with the key: required, and refused when the peer does not announce it.
    let no_role = peer(&["add", &authority_url, "--fingerprint", &fingerprint]);
    assert_eq!(no_role.code, 2, "{}", no_role.stderr);
    assert!(no_role.stderr.contains("--role"), "{}", no_role.stderr);
    let wrong_role = peer(&["add", &authority_url, "--fingerprint", &fingerprint, "--role", "platform"]);
    assert_ne!(wrong_role.code, 0);
    assert!(wrong_role.stderr.contains("announces authority, not platform"), "{}", wrong_role.stderr);
    assert_eq!(peer(&["list"]).stdout, "", "nothing stored");

    let added = peer(&["add", &format!("{authority_url}/"), "--fingerprint", &fingerprint, "--role", "authority"]);
    assert_eq!(added.code, 0, "{}", added.stderr);
    assert!(added.stdout.starts_with("added peer police-nl (authority)"), "{}", added.stdout);
    assert_eq!(peer(&["list"]).stdout, format!("police-nl\t{authority_url}\t{fingerprint}\tauthority\tauto\tclock unknown\n"));
    assert_eq!(peer(&["policy", "police-nl", "review"]).code, 0);
    assert!(peer(&["list"]).stdout.ends_with("\tauthority\treview\tclock unknown\n"));
    let bad = peer(&["policy", "police-nl", "sometimes"]);
    assert!(bad.stderr.contains("auto or review"), "{}", bad.stderr);
    let again = peer(&["add", &authority_url, "--fingerprint", &fingerprint, "--role", "authority"]);
    assert!(again.stderr.contains("already a peer"), "{}", again.stderr);

    assert_eq!(peer(&["remove", "police-nl"]).code, 0);
    assert_eq!(peer(&["list"]).stdout, "");
    assert_ne!(peer(&["remove", "police-nl"]).code, 0);

    let verify = tocsin_in(platform_dir.path(), &["log", "verify", "--url", &server, "--token", &token]);
    assert_eq!(verify.code, 0, "{}", verify.stderr);
    // The admin's account and token, the peer added, its policy set, the peer removed.
    assert!(verify.stdout.starts_with("ok: 5 entries"), "{}", verify.stdout);
    drop(authority);
}
