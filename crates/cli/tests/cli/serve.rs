//! `tocsin serve`: a real node on a loopback port, as an operator starts it.

use serde_json::Value;

use crate::helpers::Node;

#[test]
fn a_node_tells_who_it_is_keeps_its_key_and_stops_cleanly() {
    let data = tempfile::tempdir().expect("temp dir");
    let node = Node::start(data.path(), &["--name", "night-shift", "--role", "authority", "--role", "oversight"], &[]);
    assert_eq!(node.get("/healthz"), (200, "ok\n".to_owned()));
    assert_eq!(node.get("/readyz"), (200, "ready\n".to_owned()));
    assert!(data.path().join("tocsin.db").exists(), "the embedded default database, in the data folder");
    let (status, body) = node.get("/.well-known/tocsin");
    assert_eq!(status, 200, "{body}");
    let doc: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(doc["name"], "night-shift");
    assert_eq!(doc["roles"], serde_json::json!(["authority", "oversight"]));
    assert_eq!(doc["protocol_version"], "tocsin/0.1");
    assert_eq!((doc["jwk"]["kty"].as_str(), doc["jwk"]["crv"].as_str()), (Some("OKP"), Some("Ed25519")));
    assert_eq!(doc["jwk"]["x"].as_str().map(str::len), Some(43), "32 bytes in base64url");
    let fingerprint = doc["fingerprint"].as_str().expect("a fingerprint").to_owned();
    // The package key is an age identity file: the stock age-keygen derives the same recipient.
    let package = data.path().join("package.key");
    let derived =
        std::process::Command::new("age-keygen").arg("-y").arg(&package).output().expect("age-keygen (scripts/test installs age)");
    assert_eq!(doc["package_recipient"].as_str(), Some(String::from_utf8_lossy(&derived.stdout).trim()), "{derived:?}");
    let recipient = doc["package_recipient"].as_str().expect("a recipient").to_owned();
    assert_eq!(node.get("/no-such-page").0, 404);
    // The metrics are for those who run the node: a token (here the first start's admin's).
    assert_eq!(node.get("/metrics").0, 401);
    let admin = node.stdout().lines().nth(1).expect("the first start's token").to_owned();
    let (status, _, metrics) = node.call("GET", "/metrics", Some(&admin), "", b"");
    assert_eq!(status, 200);
    // Counted so far: healthz, readyz, the identity document (2xx), the missing page and the
    // metrics without a token (4xx).
    assert!(metrics.contains("tocsin_http_requests_total{class=\"2xx\"} 3\n"), "{metrics}");
    assert!(metrics.contains("tocsin_http_requests_total{class=\"4xx\"} 2\n"), "{metrics}");
    assert!(metrics.contains("tocsin_up 1\n") && metrics.contains("tocsin_log_entries 2\n"), "first start: admin and its token\n{metrics}");

    use std::os::unix::fs::PermissionsExt;
    for key in ["node.key", "package.key"] {
        let mode = std::fs::metadata(data.path().join(key)).expect("the key file").permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{key} is the node's user's alone");
    }

    let (code, stderr) = node.stop();
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("stopped"), "{stderr}");

    // Started again on the same data, it is the same node.
    let again = Node::start(data.path(), &[], &[]);
    let doc: Value = serde_json::from_str(&again.get("/.well-known/tocsin").1).expect("JSON");
    assert_eq!(doc["fingerprint"].as_str(), Some(fingerprint.as_str()));
    assert_eq!(doc["package_recipient"].as_str(), Some(recipient.as_str()), "and the same package key");
    assert_eq!(doc["name"], "tocsin", "nothing set: the default name");
}

#[test]
fn flags_win_over_the_environment_which_wins_over_the_settings_file() {
    let data = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        data.path().join("tocsin.toml"),
        "name = \"from-file\"\nrole = [\"platform\"]\npublic-url = \"https://platform.example\"\n",
    )
    .expect("settings file");
    let node = Node::start(data.path(), &["--role", "operator"], &[("TOCSIN_NAME", "from-env"), ("TOCSIN_ROLE", "oversight")]);
    let doc: Value = serde_json::from_str(&node.get("/.well-known/tocsin").1).expect("JSON");
    assert_eq!(doc["name"], "from-env");
    assert_eq!(doc["roles"], serde_json::json!(["operator"]));
    assert_eq!(doc["public_url"], "https://platform.example");
}

#[test]
fn a_bad_settings_file_role_or_database_stops_the_start_with_the_reason() {
    let data = tempfile::tempdir().expect("temp dir");
    std::fs::write(data.path().join("tocsin.toml"), "nmae = \"typo\"\n").expect("settings file");
    let run = crate::helpers::tocsin_in(data.path(), &["serve", "--data", ".", "--listen", "127.0.0.1:0"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("tocsin.toml") && run.stderr.contains("nmae"), "{}", run.stderr);
    let run = crate::helpers::tocsin_in(data.path(), &["serve", "--data", "elsewhere", "--role", "police"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("unknown role"), "{}", run.stderr);
    let run = crate::helpers::tocsin_in(data.path(), &["serve", "--data", "elsewhere", "--database-url", "mysql://nowhere/db"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("opening the database") && run.stderr.contains("unsupported database URL"), "{}", run.stderr);
}

#[test]
fn an_admin_token_is_made_offline_and_printed_alone() {
    let data = tempfile::tempdir().expect("temp dir");
    let run = crate::helpers::tocsin_in(data.path(), &["admin", "token", "--data", ".", "--account", "night-lead"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let token = run.stdout.lines().last().expect("a line").to_owned();
    assert!(token.starts_with("tocsin_") && run.stdout.lines().count() == 1, "{:?}", run.stdout);
    assert!(run.stderr.contains("made account \"night-lead\" (admin)"), "{}", run.stderr);
    assert!(!run.stderr.contains(&token), "the token is shown once, on standard output");

    // A second token for the same account; other roles for it are refused.
    let again = crate::helpers::tocsin_in(data.path(), &["admin", "token", "--data", ".", "--account", "night-lead"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_ne!(again.stdout.trim(), token);
    let clash = crate::helpers::tocsin_in(data.path(), &["admin", "token", "--data", ".", "--account", "night-lead", "--role", "auditor"]);
    assert_eq!(clash.code, 2);
    assert!(clash.stderr.contains("exists with roles admin"), "{}", clash.stderr);
    let bad = crate::helpers::tocsin_in(data.path(), &["admin", "token", "--data", ".", "--account", "x", "--role", "police"]);
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("unknown role"), "{}", bad.stderr);
}

#[test]
fn the_accounts_api_wants_an_admin_token_and_refuses_bad_bodies_without_changing_anything() {
    let data = tempfile::tempdir().expect("temp dir");
    let token = |account: &str, role: &str| {
        let run = crate::helpers::tocsin_in(data.path(), &["admin", "token", "--data", ".", "--account", account, "--role", role]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        run.stdout.trim().to_owned()
    };
    let (admin, auditor) = (token("chief", "admin"), token("reader", "auditor"));
    let node = Node::start(data.path(), &[], &[]);
    let json = "application/json";

    let (status, head, body) = node.call("GET", "/v1/accounts", None, "", b"");
    assert_eq!(status, 401, "{body}");
    assert!(head.contains("content-type: application/problem+json") && head.contains("www-authenticate: bearer"), "{head}");
    assert_eq!(serde_json::from_str::<Value>(&body).expect("problem")["status"], 401);
    assert_eq!(node.call("GET", "/v1/accounts", Some("tocsin_wrong"), "", b"").0, 401);
    assert_eq!(node.call("GET", "/v1/accounts", Some(&auditor), "", b"").0, 403, "an auditor may not manage accounts");

    let (status, _, body) = node.call("POST", "/v1/accounts", Some(&admin), json, br#"{"name":"analyst","roles":["issuer"]}"#);
    assert_eq!(status, 201, "{body}");
    assert_eq!(serde_json::from_str::<Value>(&body).expect("account")["roles"], serde_json::json!(["issuer"]));

    let before = node.call("GET", "/v1/accounts", Some(&admin), "", b"").2;
    let big = format!(r#"{{"name":"x","roles":[],"pad":"{}"}}"#, "a".repeat(100_000));
    for (content_type, body, want) in [
        (json, &br#"{"name":"analyst","roles":["issuer"]}"#[..], 409), // taken
        (json, &br#"{"name":"other","roles":["police"]}"#[..], 422),   // unknown role
        (json, &br#"{"name":"other","roles":[]}"#[..], 409),           // no role
        (json, &br#"{"name":"other","roles":[],"extra":1}"#[..], 422), // unknown field
        (json, &br#"{"name":"other","roles":["#[..], 400),             // malformed
        ("text/plain", &br#"{"name":"other","roles":[]}"#[..], 415),   // wrong type
        (json, big.as_bytes(), 413),                                   // too large
    ] {
        let (status, head, reply) = node.call("POST", "/v1/accounts", Some(&admin), content_type, body);
        assert_eq!(status, want, "{}: {reply}", String::from_utf8_lossy(&body[..body.len().min(60)]));
        assert!(head.contains("application/problem+json"), "{head}");
    }
    assert_eq!(node.call("GET", "/v1/accounts", Some(&admin), "", b"").2, before, "refused requests change nothing");
}

#[test]
fn the_first_start_makes_an_admin_and_shows_its_token_once() {
    let data = tempfile::tempdir().expect("temp dir");
    let node = Node::start(data.path(), &[], &[]);
    // The token is printed before the node listens, so it is there by now.
    let out = node.stdout();
    let token = out.lines().last().expect("a line").trim().to_owned();
    assert!(token.starts_with("tocsin_"), "{out}");
    let (status, _, body) = node.call("GET", "/v1/accounts", Some(&token), "", b"");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"name\":\"admin\""), "{body}");
    let (code, stderr) = node.stop();
    assert_eq!(code, 0);
    assert!(!stderr.contains(&token), "the token stays out of the log");

    let again = Node::start(data.path(), &[], &[]);
    assert_eq!(again.stdout(), "", "shown once, never again");
    assert_eq!(again.call("GET", "/v1/accounts", Some(&token), "", b"").0, 200, "and it still works");
}

#[test]
fn tokens_are_made_and_revoked_and_disabled_accounts_are_shut_out_through_the_api() {
    let data = tempfile::tempdir().expect("temp dir");
    let admin = crate::helpers::tocsin_in(data.path(), &["admin", "token", "--data", ".", "--account", "chief"]).stdout.trim().to_owned();
    let node = Node::start(data.path(), &[], &[]);
    let json = "application/json";
    assert_eq!(node.call("POST", "/v1/accounts", Some(&admin), json, br#"{"name":"analyst","roles":["auditor"]}"#).0, 201);
    let (status, _, body) = node.call("POST", "/v1/accounts/analyst/tokens", Some(&admin), json, br#"{"days":7}"#);
    assert_eq!(status, 201, "{body}");
    let token = serde_json::from_str::<Value>(&body).expect("JSON")["token"].as_str().expect("token").to_owned();
    assert_eq!(node.call("GET", "/v1/log/head", Some(&token), "", b"").0, 200, "an auditor reads the log");
    assert_eq!(node.call("POST", "/v1/accounts/analyst/tokens", Some(&token), json, br#"{"days":7}"#).0, 403, "but makes no tokens");
    assert_eq!(node.call("POST", "/v1/accounts/nobody/tokens", Some(&admin), json, br#"{"days":7}"#).0, 409);
    assert_eq!(node.call("POST", "/v1/accounts/analyst/tokens", Some(&admin), json, br#"{"days":0}"#).0, 409);

    // Its own token, revoked by the analyst: refused afterwards; revoking twice is refused.
    let revoke = format!(r#"{{"token":"{token}"}}"#);
    assert_eq!(node.call("POST", "/v1/tokens/revoke", Some(&token), json, revoke.as_bytes()).0, 204);
    assert_eq!(node.call("GET", "/v1/log/head", Some(&token), "", b"").0, 401);
    assert_eq!(node.call("POST", "/v1/tokens/revoke", Some(&admin), json, revoke.as_bytes()).0, 409);

    // A disabled account's other tokens stop working.
    let (_, _, body) = node.call("POST", "/v1/accounts/analyst/tokens", Some(&admin), json, br#"{"days":7}"#);
    let second = serde_json::from_str::<Value>(&body).expect("JSON")["token"].as_str().expect("token").to_owned();
    assert_eq!(node.call("GET", "/v1/log/head", Some(&second), "", b"").0, 200);
    assert_eq!(node.call("POST", "/v1/accounts/analyst/disable", Some(&admin), "", b"").0, 204);
    assert_eq!(node.call("GET", "/v1/log/head", Some(&second), "", b"").0, 401);
    assert_eq!(node.call("POST", "/v1/accounts/analyst/disable", Some(&admin), "", b"").0, 409, "already disabled");
    let (_, _, list) = node.call("GET", "/v1/accounts", Some(&admin), "", b"");
    assert!(list.contains(r#"{"name":"analyst","roles":["auditor"],"disabled":true}"#), "{list}");
}

/// The token in a `201` body from `/tokens` or `/login`.
fn token_in(body: &str) -> String {
    serde_json::from_str::<Value>(body).expect("JSON")["token"].as_str().expect("a token").to_owned()
}

#[test]
fn a_password_signs_in_for_a_shift_and_a_wrong_one_or_name_gets_the_same_401() {
    let data = tempfile::tempdir().expect("temp dir");
    let admin = crate::helpers::tocsin_in(data.path(), &["admin", "token", "--data", ".", "--account", "chief"]).stdout.trim().to_owned();
    let node = Node::start(data.path(), &[], &[]);
    let json = "application/json";
    let made = node.call(
        "POST",
        "/v1/accounts",
        Some(&admin),
        json,
        br#"{"name":"desk-1","roles":["issuer"],"password":"night shift passphrase"}"#,
    );
    assert_eq!(made.0, 201, "{}", made.2);

    let (status, _, body) = node.call("POST", "/v1/login", None, json, br#"{"account":"desk-1","password":"night shift passphrase"}"#);
    assert_eq!(status, 201, "{body}");
    let reply: Value = serde_json::from_str(&body).expect("JSON");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs() as i64;
    let lifetime = reply["expires_at"].as_i64().expect("expiry") - now;
    assert!((12 * 3600 - 60..=12 * 3600).contains(&lifetime), "one shift: {lifetime} s");
    let session = token_in(&body);
    assert_eq!(node.call("GET", "/v1/accounts", Some(&session), "", b"").0, 403, "signed in as an issuer, not an admin");

    let refused = [
        &br#"{"account":"desk-1","password":"day shift passphrase"}"#[..],
        br#"{"account":"nobody","password":"night shift passphrase"}"#,
        br#"{"account":"chief","password":"night shift passphrase"}"#, // no password set
        br#"{"account":"bad name\u0000","password":"night shift passphrase"}"#,
    ];
    let mut answers = Vec::new();
    for body in refused {
        let (status, head, reply) = node.call("POST", "/v1/login", None, json, body);
        assert_eq!(status, 401, "{}", String::from_utf8_lossy(body));
        assert!(head.contains("application/problem+json"), "{head}");
        answers.push(reply);
    }
    assert!(answers.windows(2).all(|w| w[0] == w[1]), "the same answer whichever part was wrong: {answers:?}");

    // The account changes its own password; the old one stops working. Too short is refused.
    let change = node.call("POST", "/v1/accounts/desk-1/password", Some(&session), json, br#"{"password":"a new passphrase"}"#);
    assert_eq!(change.0, 204, "{}", change.2);
    assert_eq!(node.call("POST", "/v1/login", None, json, br#"{"account":"desk-1","password":"night shift passphrase"}"#).0, 401);
    let (status, _, body) = node.call("POST", "/v1/login", None, json, br#"{"account":"desk-1","password":"a new passphrase"}"#);
    assert_eq!(status, 201);
    // The change ended every session and token the account had, the one that made it too.
    assert_eq!(node.call("POST", "/v1/accounts/desk-1/password", Some(&session), json, br#"{"password":"short"}"#).0, 401);
    let session = token_in(&body);
    assert_eq!(node.call("POST", "/v1/accounts/desk-1/password", Some(&session), json, br#"{"password":"short"}"#).0, 409);
    assert_eq!(node.call("POST", "/v1/accounts/chief/password", Some(&session), json, br#"{"password":"taking over chief"}"#).0, 403);

    // An admin cannot lock itself out; disabling the account shuts its password out too.
    assert_eq!(node.call("POST", "/v1/accounts/chief/disable", Some(&admin), "", b"").0, 409);
    assert_eq!(node.call("POST", "/v1/accounts/desk-1/disable", Some(&admin), "", b"").0, 204);
    assert_eq!(node.call("POST", "/v1/login", None, json, br#"{"account":"desk-1","password":"a new passphrase"}"#).0, 401);

    let (code, log) = node.stop();
    assert_eq!(code, 0);
    for secret in ["night shift passphrase", "a new passphrase", "argon2", &session] {
        assert!(!log.contains(secret), "{secret:?} reached the node's log");
    }
}

#[test]
fn an_expired_token_is_refused_like_an_unknown_one_and_changes_nothing() {
    let data = tempfile::tempdir().expect("temp dir");
    let admin = crate::helpers::tocsin_in(data.path(), &["admin", "token", "--data", ".", "--account", "chief"]).stdout.trim().to_owned();
    let node = Node::start(data.path(), &[], &[]);
    let json = "application/json";
    let (_, _, body) = node.call("POST", "/v1/accounts/chief/tokens", Some(&admin), json, br#"{"days":1}"#);
    let soon_expired = token_in(&body);
    assert_eq!(node.call("GET", "/v1/accounts", Some(&soon_expired), "", b"").0, 200);

    // A day passes, as far as this token is concerned.
    let db = crate::helpers::Database::sqlite(data.path());
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs() as i64;
    let (_, _, before) = node.call("GET", "/v1/accounts", Some(&admin), "", b"");
    db.execute(
        "UPDATE tokens SET expires_at = $1 WHERE expires_at < $2",
        &[crate::helpers::Param::Int(now - 1), crate::helpers::Param::Int(now + 2 * 86_400)],
    );

    let (status, head, body) = node.call("GET", "/v1/accounts", Some(&soon_expired), "", b"");
    assert_eq!(status, 401, "{body}");
    assert!(head.contains("application/problem+json") && head.contains("www-authenticate: bearer"), "{head}");
    let made = node.call("POST", "/v1/accounts", Some(&soon_expired), json, br#"{"name":"late","roles":["issuer"]}"#);
    assert_eq!(made.0, 401);
    assert_eq!(node.call("GET", "/v1/accounts", Some(&admin), "", b"").2, before, "the refused request made nothing");
}

#[test]
fn the_openapi_document_describes_every_route_with_its_problems() {
    let data = tempfile::tempdir().expect("temp dir");
    let node = Node::start(data.path(), &[], &[]);
    let (status, body) = node.get("/v1/openapi.json");
    assert_eq!(status, 200);
    let doc: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(doc["openapi"], "3.1.0");
    let mut paths: Vec<&str> = doc["paths"].as_object().expect("paths").keys().map(String::as_str).collect();
    paths.sort_unstable();
    assert_eq!(
        paths,
        [
            "/.well-known/tocsin",
            "/healthz",
            "/metrics",
            "/problems/{slug}",
            "/readyz",
            "/v1/accounts",
            "/v1/accounts/{name}/disable",
            "/v1/accounts/{name}/password",
            "/v1/accounts/{name}/tokens",
            "/v1/banks",
            "/v1/banks/{name}",
            "/v1/banks/{name}/changes",
            "/v1/banks/{name}/signals",
            "/v1/banks/{name}/signals/{num}/state",
            "/v1/banks/{name}/subscribers",
            "/v1/blocklist",
            "/v1/blocklist/notices",
            "/v1/blocklist/rpz",
            "/v1/blocklist/urls",
            "/v1/blocklist/{id}",
            "/v1/blocklist/{id}/lift",
            "/v1/blocklist/{id}/recommendations",
            "/v1/blocklist/{id}/review",
            "/v1/gate/check",
            "/v1/gate/notice",
            "/v1/inbox",
            "/v1/legal",
            "/v1/log/entries",
            "/v1/log/head",
            "/v1/log/proof/consistency",
            "/v1/log/proof/inclusion",
            "/v1/login",
            "/v1/lookup",
            "/v1/matches",
            "/v1/matches/{id}/decision",
            "/v1/openapi.json",
            "/v1/orders",
            "/v1/orders/copies",
            "/v1/orders/final",
            "/v1/orders/{id}",
            "/v1/orders/{id}/accept",
            "/v1/orders/{id}/clarify",
            "/v1/orders/{id}/final",
            "/v1/orders/{id}/inability",
            "/v1/orders/{id}/preservation",
            "/v1/orders/{id}/reject",
            "/v1/orders/{id}/resume",
            "/v1/orders/{id}/withdraw",
            "/v1/packages/{id}/{name}",
            "/v1/peers",
            "/v1/peers/{name}",
            "/v1/peers/{name}/information",
            "/v1/peers/{name}/legal",
            "/v1/peers/{name}/policy",
            "/v1/recommendations",
            "/v1/recommendations/{id}/answer",
            "/v1/requests",
            "/v1/requests/{id}",
            "/v1/requests/{id}/answer",
            "/v1/requests/{id}/extend",
            "/v1/requests/{id}/files/{name}",
            "/v1/requests/{id}/no-grounds",
            "/v1/requests/{id}/package/{name}",
            "/v1/requests/{id}/refuse",
            "/v1/requests/{id}/validate",
            "/v1/scan",
            "/v1/subscriptions",
            "/v1/threats",
            "/v1/threats/{id}/acknowledge",
            "/v1/tokens/revoke",
        ]
    );
    // Every documented path is served (a 404 would mean the document and the router differ).
    for path in &paths {
        let concrete = path
            .replace("{name}", "chief")
            .replace("{id}", "01M8NBJZ9R3XRCERC33TX8ZJ43")
            .replace("{num}", "1")
            .replace("{slug}", "refused");
        let (status, _, _) = node.call("GET", &concrete, None, "", b"");
        assert_ne!(status, 404, "{path} is documented but not served");
    }
    let create = &doc["paths"]["/v1/accounts"]["post"]["responses"];
    for code in ["201", "400", "401", "403", "409", "413", "415", "422"] {
        assert!(create.get(code).is_some(), "POST /v1/accounts documents {code}: {create}");
    }
    assert_eq!(create["401"]["content"]["application/problem+json"]["schema"]["$ref"], "#/components/schemas/Problem");
    assert!(doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer");

    // Every problem type the document lists is a page on the node that says what it means, and
    // the problems the node answers with use those types.
    let types = doc["components"]["schemas"]["Problem"]["properties"]["type"]["enum"].as_array().expect("the problem types");
    assert!(types.len() >= 14, "{types:?}");
    for kind in types {
        let kind = kind.as_str().expect("a type");
        let (status, head, page) = node.call("GET", kind, None, "", b"");
        assert!(status == 200 && head.contains("text/html") && page.contains("<h1>"), "{kind}: {status} {page}");
    }
    let (_, _, refused) = node.call("GET", "/v1/accounts", None, "", b"");
    let refused: Value = serde_json::from_str(&refused).expect("a problem");
    assert!(types.contains(&refused["type"]), "{refused}");
    assert_eq!(node.call("GET", "/problems/no-such-type", None, "", b"").0, 404);
    // A wrong password is not said to be about bearer tokens.
    let (status, _, wrong) =
        node.call("POST", "/v1/login", None, "application/json", br#"{"account":"admin","password":"not the password"}"#);
    assert_eq!(status, 401);
    let wrong: Value = serde_json::from_str(&wrong).expect("a problem");
    assert_eq!(wrong["type"], "/problems/bad-credentials");
    assert!(!wrong["title"].as_str().expect("a title").contains("token"), "{wrong}");
}

/// `tocsin serve` in `data` with the database arguments `db`, expected to refuse to start: its
/// exit code and standard error.
fn refused_start(data: &std::path::Path, db: &[&str], extra: &[&str]) -> (i32, String) {
    let run = crate::helpers::tocsin_in(data, &[&["serve", "--data", ".", "--listen", "127.0.0.1:0"][..], db, extra].concat());
    (run.code, run.stderr)
}

/// Moves `path` aside (to `path.aside`), returning where it went.
fn aside(path: &std::path::Path) -> std::path::PathBuf {
    let moved = path.with_extension("aside");
    std::fs::rename(path, &moved).expect("moved aside");
    moved
}

/// A node started once with database arguments `db`, then with its key missing or replaced, and
/// with another, empty database (`other`).
fn a_node_keeps_one_key_for_one_log(data: &std::path::Path, db: &[&str], other: &[&str]) {
    let node = Node::start(data, db, &[]);
    let fingerprint = serde_json::from_str::<Value>(&node.get("/.well-known/tocsin").1).expect("identity")["fingerprint"]
        .as_str()
        .expect("fingerprint")
        .to_owned();
    drop(node);
    let key = data.join("node.key");

    // The key file missing: a new key would sign the old log.
    let kept = aside(&key);
    let (code, stderr) = refused_start(data, db, &[]);
    assert_ne!(code, 0);
    assert!(stderr.contains("node.key is missing") && stderr.contains(&fingerprint) && stderr.contains("backup"), "{stderr}");
    assert!(!key.exists(), "no key was made");
    // Another key in its place.
    std::fs::write(&key, [7u8; 32]).expect("another key");
    let (code, stderr) = refused_start(data, db, &[]);
    assert_ne!(code, 0);
    assert!(stderr.contains(&format!("signed with key {fingerprint}")), "{stderr}");
    std::fs::rename(&kept, &key).expect("the key back");

    // The key with another, empty database: two histories under one key.
    let (code, stderr) = refused_start(data, other, &[]);
    assert_ne!(code, 0);
    let named = stderr.contains("holds no log") || stderr.contains("is missing or empty");
    assert!(named && stderr.contains("--new-log") && stderr.contains(&fingerprint), "{stderr}");
    // Deliberately: a new log, whose first entry says so.
    let restarted = Node::start(data, &[other, &["--new-log"]].concat(), &[]);
    let doc: Value = serde_json::from_str(&restarted.get("/.well-known/tocsin").1).expect("identity");
    assert_eq!(doc["fingerprint"], fingerprint.as_str());
    let admin = restarted.stdout().lines().nth(1).expect("the first start's admin token").to_owned();
    let types = crate::orders::log_types(&restarted, &admin);
    assert_eq!(types.first().map(String::as_str), Some("node.log_restarted"), "{types:?}");
    drop(restarted);
    let again = Node::start(data, other, &[]);
    assert!(again.get("/healthz").0 == 200, "bound to the key now");
    drop(again);

    // The node's own key and database: it starts as before.
    let again = Node::start(data, db, &[]);
    assert_eq!(serde_json::from_str::<Value>(&again.get("/.well-known/tocsin").1).expect("identity")["fingerprint"], fingerprint.as_str());
}

#[test]
fn on_sqlite_a_node_refuses_a_key_that_is_not_its_logs_and_a_log_that_is_not_its_keys() {
    let data = tempfile::tempdir().expect("temp dir");
    let other = format!("sqlite://{}", data.path().join("other.db").display());
    a_node_keeps_one_key_for_one_log(data.path(), &[], &["--database-url", &other]);

    // The database file gone: SQLite would make an empty one.
    let file = data.path().join("tocsin.db");
    let kept = aside(&file);
    let (code, stderr) = refused_start(data.path(), &[], &[]);
    assert_ne!(code, 0);
    assert!(stderr.contains("tocsin.db is missing or empty"), "{stderr}");
    assert!(!file.exists(), "no empty database was made in its place");
    std::fs::rename(&kept, &file).expect("back");
    // An empty file in its place, likewise.
    std::fs::write(data.path().join("empty.db"), b"").expect("an empty file");
    let empty = format!("sqlite://{}", data.path().join("empty.db").display());
    let (code, stderr) = refused_start(data.path(), &["--database-url", &empty], &[]);
    assert_ne!(code, 0);
    assert!(stderr.contains("empty.db is missing or empty"), "{stderr}");
    // A damaged header says so at once, rather than a pool time-out after half a minute.
    let mut bytes = std::fs::read(&file).expect("the database");
    bytes[..16].copy_from_slice(b"not a database!!");
    std::fs::write(&file, &bytes).expect("damaged");
    let started = std::time::Instant::now();
    let (code, stderr) = refused_start(data.path(), &[], &[]);
    assert_ne!(code, 0);
    assert!(stderr.contains("is not a SQLite database"), "{stderr}");
    assert!(started.elapsed() < std::time::Duration::from_secs(20), "{:?}", started.elapsed());
}

#[test]
fn on_postgres_a_node_refuses_a_key_that_is_not_its_logs_and_a_log_that_is_not_its_keys() {
    let data = tempfile::tempdir().expect("temp dir");
    let (db, other) = (crate::helpers::Database::postgres("keys"), crate::helpers::Database::postgres("keys_other"));
    a_node_keeps_one_key_for_one_log(data.path(), &db.args(), &other.args());
}

/// Whether the node has closed `stream` (a read gives end of file or a reset), without waiting.
fn closed(mut stream: &std::net::TcpStream) -> bool {
    use std::io::Read;
    stream.set_nonblocking(true).expect("non-blocking");
    let mut byte = [0u8; 1];
    match stream.read(&mut byte) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => e.kind() != std::io::ErrorKind::WouldBlock,
    }
}

#[test]
fn idle_slow_and_surplus_connections_are_closed_so_the_node_keeps_answering() {
    use std::io::Write;
    use std::net::TcpStream;
    use std::time::Duration;
    let data = tempfile::tempdir().expect("temp dir");
    let axfr = std::net::TcpListener::bind("127.0.0.1:0").expect("a port").local_addr().expect("addr").to_string();
    let node = Node::start(data.path(), &["--max-connections", "32", "--header-timeout-seconds", "2", "--axfr-listen", &axfr], &[]);
    // A hundred connections that send nothing: 32 are kept open, the others closed at once.
    let idle: Vec<TcpStream> = (0..100).map(|_| TcpStream::connect(&node.addr).expect("connects")).collect();
    std::thread::sleep(Duration::from_millis(700));
    let shut = idle.iter().filter(|s| closed(s)).count();
    assert_eq!(shut, 68, "all but the 32 allowed closed at once");
    // Past the header timeout, the idle ones are closed too, and the node answers again.
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(idle.iter().filter(|s| closed(s)).count(), 100, "idle connections closed after the header timeout");
    assert_eq!(node.get("/healthz").0, 200);

    // A request head sent a byte at a time is cut off at the header timeout, however steady.
    let mut slow = TcpStream::connect(&node.addr).expect("connects");
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").expect("head begun");
    let mut cut = false;
    for _ in 0..20 {
        std::thread::sleep(Duration::from_millis(250));
        if slow.write_all(b"X").is_err() || closed(&slow) {
            cut = true;
            break;
        }
        slow.set_nonblocking(false).expect("blocking");
    }
    assert!(cut, "a head trickling in for 5 s was not cut off");

    // A zone transfer request that stops half-way is cut off the same way.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let mut half = loop {
        match TcpStream::connect(&axfr) {
            Ok(s) => break s,
            Err(_) if std::time::Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => panic!("zone transfers on {axfr}: {e}"),
        }
    };
    half.write_all(&[0, 40, 1, 2, 3]).expect("part of a request");
    std::thread::sleep(Duration::from_millis(3000));
    assert!(closed(&half), "a zone transfer request that stopped half-way was not cut off");
    assert_eq!(node.get("/healthz").0, 200);
}
