//! The console's door over HTTP (the browser tests come with the pages): the sign-in page in the
//! reader's language, sign-in with a session cookie, CSRF refusals that change nothing, and
//! sign-out that ends the session.

use serde_json::Value;

use crate::helpers::{Node, tocsin_in};

/// A `Set-Cookie` of the response head (which the helpers give in lower case).
fn set_cookie<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().filter_map(|l| l.strip_prefix("set-cookie: ")).find(|c| c.starts_with(&format!("{name}=")))
}

/// A request sent as given, and the response head as received (cookie values keep their case).
fn raw_head(node: &Node, request: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(&node.addr).expect("connects");
    stream.write_all(request.as_bytes()).expect("sent");
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    String::from_utf8_lossy(&response).split("\r\n\r\n").next().unwrap_or("").to_owned()
}

fn cookie_value(set: &str) -> &str {
    set.split(';').next().and_then(|kv| kv.split_once('=')).map_or("", |(_, v)| v)
}

#[test]
fn the_console_signs_in_with_a_session_cookie_and_refuses_forms_without_their_csrf_code() {
    let dir = tempfile::tempdir().expect("temp dir");
    let admin = tocsin_in(dir.path(), &["admin", "token", "--data", ".", "--account", "chief", "--role", "admin"]).stdout.trim().to_owned();
    let node = Node::start(dir.path(), &["--name", "ofac"], &[]);
    let made = node.call(
        "POST",
        "/v1/accounts",
        Some(&admin),
        "application/json",
        br#"{"name":"night-desk","roles":["issuer"],"password":"correct horse battery"}"#,
    );
    assert_eq!(made.0, 201, "{}", made.2);

    // No session: the sign-in page, in French when asked, with a CSRF cookie for its form.
    let (status, head, page) = node.call_with("GET", "/", &["Accept-Language: fr-FR,fr;q=0.9,en;q=0.8"], "", b"");
    assert_eq!(status, 200);
    assert!(page.contains("<html lang=\"fr\">") && page.contains("Mot de passe"), "{page}");
    let csrf_cookie = set_cookie(&head, "tocsin_csrf").expect("a CSRF cookie");
    assert!(csrf_cookie.contains("httponly") && csrf_cookie.contains("samesite=strict"), "{csrf_cookie}");
    let csrf = cookie_value(csrf_cookie).to_owned();
    assert!(page.contains(&format!("name=\"csrf\" value=\"{csrf}\"")), "the form repeats the cookie");
    let (_, _, english) = node.call_with("GET", "/", &["Accept-Language: en"], "", b"");
    assert!(english.contains("<html lang=\"en\">") && english.contains("Password"));

    let log_size =
        || serde_json::from_str::<Value>(&node.call("GET", "/v1/log/head", Some(&admin), "", b"").2).expect("JSON")["size"].clone();
    let before = log_size();
    let form = "application/x-www-form-urlencoded";
    let cookie = format!("Cookie: tocsin_csrf={csrf}");
    // Without the code, or with another, the form is refused and nothing happens.
    let body = "account=night-desk&password=correct+horse+battery".to_owned();
    for (headers, body) in
        [(vec![], format!("{body}&csrf={csrf}")), (vec![cookie.clone()], body.clone()), (vec![cookie.clone()], format!("{body}&csrf=0000"))]
    {
        let (status, head, page) = node.call_with("POST", "/console/sign-in", &headers, form, body.as_bytes());
        assert_eq!(status, 403, "{page}");
        assert!(set_cookie(&head, "tocsin_session").is_none());
    }
    assert_eq!(log_size(), before, "no token was made");
    // A wrong password: refused, no session.
    let (status, head, page) = node.call_with(
        "POST",
        "/console/sign-in",
        &[&cookie],
        form,
        format!("account=night-desk&password=wrong+horse&csrf={csrf}").as_bytes(),
    );
    assert_eq!(status, 401);
    assert!(set_cookie(&head, "tocsin_session").is_none() && page.contains("Wrong account name or password"), "{page}");

    // The right one: a session cookie, and the home page with it.
    let body = format!("{body}&csrf={csrf}");
    let head = raw_head(
        &node,
        &format!(
            "POST /console/sign-in HTTP/1.1\r\nHost: {}\r\n{cookie}\r\nContent-Type: {form}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            node.addr,
            body.len()
        ),
    );
    assert!(head.starts_with("HTTP/1.1 303"), "{head}");
    let session_cookie =
        head.lines().filter_map(|l| l.strip_prefix("set-cookie: ")).find(|c| c.starts_with("tocsin_session=")).expect("a session");
    assert!(session_cookie.contains("HttpOnly") && session_cookie.contains("SameSite=Strict"), "{session_cookie}");
    let session = format!("Cookie: tocsin_session={}; tocsin_csrf={csrf}", cookie_value(session_cookie));
    let (status, _, home) = node.call_with("GET", "/", &[&session], "", b"");
    assert!(status == 200 && home.contains("Signed in as <strong>night-desk</strong>") && home.contains("issuer"), "{home}");

    // Sign-out (with the code) ends the session.
    let (status, head, _) = node.call_with("POST", "/console/sign-out", &[&session], form, format!("csrf={csrf}").as_bytes());
    assert_eq!(status, 303);
    assert!(set_cookie(&head, "tocsin_session").is_some_and(|c| c.contains("max-age=0")), "{head}");
    let (_, _, after) = node.call_with("GET", "/", &[&session], "", b"");
    assert!(after.contains("action=\"/console/sign-in\""), "the old cookie opens nothing: {after}");
}

#[test]
fn five_failed_sign_ins_lock_the_name_for_the_console_and_the_api_alike() {
    let dir = tempfile::tempdir().expect("temp dir");
    let admin = tocsin_in(dir.path(), &["admin", "token", "--data", ".", "--account", "chief", "--role", "admin"]).stdout.trim().to_owned();
    let node = Node::start(dir.path(), &[], &[]);
    for name in ["night-desk", "day-desk"] {
        let body = format!(r#"{{"name":"{name}","roles":["issuer"],"password":"correct horse battery"}}"#);
        assert_eq!(node.call("POST", "/v1/accounts", Some(&admin), "application/json", body.as_bytes()).0, 201);
    }
    let login = |name: &str, password: &str| {
        let body = format!(r#"{{"account":"{name}","password":"{password}"}}"#);
        node.call("POST", "/v1/login", None, "application/json", body.as_bytes())
    };
    for _ in 0..5 {
        assert_eq!(login("night-desk", "wrong horse").0, 401);
    }
    let (status, head, body) = login("night-desk", "correct horse battery");
    assert_eq!(status, 429, "locked, even with the right password: {body}");
    assert!(head.contains("retry-after: 900"), "{head}");
    assert_eq!(login("day-desk", "correct horse battery").0, 201, "other accounts are not locked");
    // Unknown names lock the same way, so a lock does not tell which names exist.
    for _ in 0..5 {
        assert_eq!(login("nobody", "wrong horse").0, 401);
    }
    assert_eq!(login("nobody", "wrong horse").0, 429);

    // The console says so, in the reader's language.
    let (_, head, _) = node.call_with("GET", "/", &["Accept-Language: fr"], "", b"");
    let csrf = cookie_value(set_cookie(&head, "tocsin_csrf").expect("a CSRF cookie")).to_owned();
    let (status, _, page) = node.call_with(
        "POST",
        "/console/sign-in",
        &[format!("Cookie: tocsin_csrf={csrf}"), "Accept-Language: fr".to_owned()],
        "application/x-www-form-urlencoded",
        format!("account=night-desk&password=correct+horse+battery&csrf={csrf}").as_bytes(),
    );
    assert_eq!(status, 429);
    assert!(page.contains("verrouillé pendant 15 minutes"), "{page}");
}
