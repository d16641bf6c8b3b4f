//! The console: its door over HTTP (sign-in in the reader's language, session cookies, CSRF refusals that
//! change nothing, sign-out), and every role's pages in a real headless Chromium against two real nodes.

use std::time::Duration;

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

    // A signed-in page's forms carry a code of the session's own: the sign-in code is worth
    // nothing there, nor is a form another site's page posts.
    let code = session_code(&home);
    assert_ne!(code, csrf);
    let (status, _, _) = node.call_with("POST", "/console/sign-out", &[&session], form, format!("csrf={csrf}").as_bytes());
    assert_eq!(status, 403, "the sign-in page's code does not sign a session out");
    let elsewhere = [session.clone(), "Origin: https://evil.example".to_owned()];
    assert_eq!(node.call_with("POST", "/console/sign-out", &elsewhere, form, format!("csrf={code}").as_bytes()).0, 403);
    let cross_site = [session.clone(), "Sec-Fetch-Site: cross-site".to_owned()];
    assert_eq!(node.call_with("POST", "/console/sign-out", &cross_site, form, format!("csrf={code}").as_bytes()).0, 403);
    let (_, _, still) = node.call_with("GET", "/", &[&session], "", b"");
    assert!(still.contains("Signed in as"), "none of these signed the session out");

    // Sign-out (with the code, from the console's own page) ends the session.
    let own = [session.clone(), format!("Origin: http://{}", node.addr), "Sec-Fetch-Site: same-origin".to_owned()];
    let (status, head, _) = node.call_with("POST", "/console/sign-out", &own, form, format!("csrf={code}").as_bytes());
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

#[test]
fn guesses_sent_in_parallel_are_counted_before_they_are_checked_and_a_lock_holds_one_source_only() {
    let dir = tempfile::tempdir().expect("temp dir");
    let admin = tocsin_in(dir.path(), &["admin", "token", "--data", ".", "--account", "chief", "--role", "admin"]).stdout.trim().to_owned();
    let node = Node::start(dir.path(), &[], &[]);
    let body = r#"{"name":"night-desk","roles":["issuer"],"password":"correct horse battery"}"#;
    assert_eq!(node.call("POST", "/v1/accounts", Some(&admin), "application/json", body.as_bytes()).0, 201);
    let wrong = br#"{"account":"night-desk","password":"wrong horse battery"}"#;
    let statuses: Vec<u16> = std::thread::scope(|s| {
        let guesses: Vec<_> = (0..100).map(|_| s.spawn(|| node.call("POST", "/v1/login", None, "application/json", wrong).0)).collect();
        guesses.into_iter().map(|g| g.join().expect("a guess")).collect()
    });
    let checked = statuses.iter().filter(|&&s| s == 401).count();
    assert!((1..=5).contains(&checked), "at most five of 100 parallel guesses are checked: {statuses:?}");
    assert_eq!(checked + statuses.iter().filter(|&&s| s == 429).count(), 100, "the rest are refused unchecked: {statuses:?}");

    // The guesser is locked out of the name; the night shift, from its own address, is not.
    let right = r#"{"account":"night-desk","password":"correct horse battery"}"#;
    assert_eq!(node.call("POST", "/v1/login", None, "application/json", right.as_bytes()).0, 429);
    let from_elsewhere = std::process::Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "--interface", "127.0.0.2", "-H", "Content-Type: application/json"])
        .args(["--data", right, &format!("http://{}/v1/login", node.addr)])
        .output()
        .expect("curl (scripts/test installs it)");
    assert_eq!(String::from_utf8_lossy(&from_elsewhere.stdout), "201", "{}", String::from_utf8_lossy(&from_elsewhere.stderr));
}

#[test]
fn sign_in_failures_with_huge_names_do_not_grow_the_node() {
    let dir = tempfile::tempdir().expect("temp dir");
    let node = Node::start(dir.path(), &[], &[]);
    let rss = || {
        let status = std::fs::read_to_string(format!("/proc/{}/status", node.pid())).expect("the node's status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .expect("VmRSS")
    };
    let login = |n: usize| {
        let body = format!(r#"{{"account":"{}{n}","password":"wrong horse battery"}}"#, "x".repeat(60_000));
        node.call("POST", "/v1/login", None, "application/json", body.as_bytes()).0
    };
    for n in 0..100 {
        login(n);
    }
    let before = rss();
    for n in 100..2100 {
        assert!([401, 429].contains(&login(n)));
    }
    let grown = rss().saturating_sub(before);
    // Kept in full, 2,000 names of 60 kB are 117 MiB; the lock-out keeps none of them.
    assert!(grown < 16 * 1024, "the node grew by {grown} kB");
}

/// Makes a password account on `node` with the admin token `admin`.
pub(crate) fn account(node: &Node, admin: &str, name: &str, role: &str) {
    let body = format!(r#"{{"name":"{name}","roles":["{role}"],"password":"correct horse battery"}}"#);
    let made = node.call("POST", "/v1/accounts", Some(admin), "application/json", body.as_bytes());
    assert_eq!(made.0, 201, "{}", made.2);
}

fn sign_in(browser: &crate::browser::Browser, base: &str, name: &str) {
    browser.open(&format!("{base}/"));
    browser.fill("#account", name);
    browser.fill("#password", "correct horse battery");
    browser.click("button[type=submit]");
    browser.wait_until("signed in", "return document.querySelector('header .who') !== null;", false);
}

/// Keeps a screenshot of the page and checks it for what would shut out a screen reader or
/// keyboard user.
fn look(browser: &crate::browser::Browser, name: &str) {
    browser.screenshot(name);
    let problems = browser.accessibility_problems();
    assert!(problems.is_empty(), "{name}: {problems:?}");
}

fn order_count(node: &Node, token: &str) -> usize {
    let (status, _, body) = node.call("GET", "/v1/orders", Some(token), "", b"");
    assert_eq!(status, 200, "{body}");
    serde_json::from_str::<Value>(&body).expect("JSON").as_array().map_or(0, Vec::len)
}

/// The filter the browser applies to the `n`th preview image, as computed.
fn preview_filter(browser: &crate::browser::Browser, n: usize) -> String {
    browser
        .eval("return getComputedStyle(document.querySelectorAll('figure.preview img')[arguments[0]]).filter;", serde_json::json!([n]))
        .as_str()
        .unwrap_or("")
        .to_owned()
}

#[test]
fn in_a_real_browser_an_order_goes_from_the_authoritys_form_to_the_platforms_countdown_and_back_as_feedback() {
    use crate::browser::Driver;
    let pair = crate::orders::Pair::start();
    // Removal orders from this authority wait for a person, so the countdown can be seen.
    assert_eq!(pair.cli_on_platform(&["peer", "policy", "police-nl", "review"]).code, 0);
    let platform = pair.platform.as_ref().expect("running");
    let authority_url = format!("http://{}", pair.authority.addr);
    let platform_url = format!("http://{}", platform.addr);
    account(&pair.authority, &pair.admin, "night-desk", "issuer");
    account(&pair.authority, &pair.admin, "reviewer-ofac", "oversight");
    account(platform, &pair.platform_admin, "tns-desk", "operator");
    account(platform, &pair.platform_admin, "moderator", "reviewer");

    let driver = Driver::start();
    let issuer = driver.browser("issuer");
    issuer.open(&format!("{authority_url}/"));
    look(&issuer, "sign-in");
    sign_in(&issuer, &authority_url, "night-desk");
    look(&issuer, "authority-orders-empty");
    // The check above can fail: a field without a label is noticed.
    issuer.eval("document.body.appendChild(document.createElement('textarea')); return true;", serde_json::json!([]));
    assert_eq!(issuer.accessibility_problems().len(), 1, "{:?}", issuer.accessibility_problems());

    // A form with bad fields: each refusal next to its field, and no order made.
    issuer.click("a[href='/console/orders/new']");
    look(&issuer, "authority-order-form");
    // Annex I sections A, D, E, F and G, from the particulars stated for the node.
    for shown in ["Section E: the issuing authority", "J. de Vries, head of the internet referral unit", "Rechtbank Den Haag"] {
        assert!(issuer.source().contains(shown), "{shown:?} on the form");
    }
    issuer.fill("#targets", "ftp://videohost.example/v/1.jpg");
    issuer.fill("#legal_basis", "");
    issuer.fill("#language", "english");
    issuer.click("form[action='/console/orders'] button[type=submit]");
    issuer.wait_until("the form comes back", "return document.querySelector('.field-error') !== null;", false);
    for field in ["to", "targets", "reasons", "statement", "language"] {
        assert!(issuer.has(&format!("#{field}-error")), "an error next to {field}:\n{}", issuer.source());
    }
    assert!(issuer.text("#targets-error").contains("only http and https"), "{}", issuer.text("#targets-error"));
    assert_eq!(
        issuer.eval("return document.querySelector('#targets').value;", serde_json::json!([])),
        "ftp://videohost.example/v/1.jpg",
        "what was typed stays"
    );
    look(&issuer, "authority-order-form-refused");
    assert_eq!(order_count(&pair.authority, &pair.issuer), 0, "a refused form changes nothing");

    // Without its CSRF code the form is refused, whatever else it holds.
    issuer.select("#to", "videohost");
    issuer.fill("#targets", "https://videohost.example/v/1.jpg");
    issuer.click("#reason-incite");
    issuer.fill("#legal_basis", "Regulation (EU) 2021/784, Art. 3");
    issuer.fill("#language", "en");
    issuer
        .eval("document.querySelector('form[action=\"/console/orders\"] input[name=csrf]').remove(); return true;", serde_json::json!([]));
    issuer.click("form[action='/console/orders'] button[type=submit]");
    issuer.wait_until("the refusal", "return document.body.innerText.includes('has expired');", false);
    assert_eq!(order_count(&pair.authority, &pair.issuer), 0, "a form without its CSRF code changes nothing");

    // The whole form, right: the order's page.
    issuer.open(&format!("{authority_url}/console/orders/new"));
    issuer.select("#to", "videohost");
    issuer.fill("#reference", "NL-2026-0042");
    issuer.fill("#targets", "https://videohost.example/v/1.jpg");
    issuer.click("#reason-incite");
    issuer.click("#reason-threaten");
    issuer.fill("#statement", "Glorifies the attack of 3 November.");
    issuer.fill("#legal_basis", "Regulation (EU) 2021/784, Art. 3");
    issuer.click("form[action='/console/orders'] button[type=submit]");
    issuer.wait_until("the order's page", "return location.pathname.startsWith('/console/orders/0');", false);
    let order_path = issuer.eval("return location.pathname;", serde_json::json!([])).as_str().expect("path").to_owned();
    assert_eq!(order_count(&pair.authority, &pair.issuer), 1);
    issuer.wait_until("the platform's signed receipt", "return document.body.innerText.includes('signed receipt');", true);
    look(&issuer, "authority-order-delivered");

    // The platform's operator sees it with a live countdown.
    let operator = driver.browser("operator");
    sign_in(&operator, &platform_url, "tns-desk");
    operator.wait_until("the incoming order", "return document.querySelector('time.countdown') !== null;", true);
    let first = operator.text("time.countdown");
    assert!(first.ends_with("left") && first.contains("min"), "{first}");
    std::thread::sleep(Duration::from_millis(2100));
    let later = operator.text("time.countdown");
    assert_ne!(first, later, "the countdown ticks");
    assert!(operator.source().contains("NL-2026-0042"));
    look(&operator, "platform-countdown");

    // It executes, and the issuer's timeline shows the feedback.
    // By its address: the live list may redraw between finding the link and clicking it.
    let href = operator.eval("return document.querySelector('tbody a').getAttribute('href');", serde_json::json!([]));
    operator.open(&format!("{platform_url}{}", href.as_str().expect("a link")));
    look(&operator, "platform-order-to-answer");
    operator.fill("textarea[name=reason]", "Terrorist content under TCO Art. 2(7)(a).");
    operator.click("form[action$='/accept'] button");
    operator.wait_until("executed", "return document.querySelector('.state-executed') !== null;", true);
    look(&operator, "platform-order-executed");
    operator.open(&format!("{platform_url}/console/banks/stay-down"));
    operator.wait_until("the removed image's hashes", "return document.querySelectorAll('tbody tr').length >= 3;", true);
    look(&operator, "platform-stay-down-bank");
    issuer.open(&format!("{authority_url}{order_path}"));
    issuer.wait_until(
        "the feedback",
        "return document.querySelector('.event-feedback') !== null && document.querySelector('.state-executed') !== null;",
        true,
    );
    assert!(issuer.has("details code.jws"), "the signed receipt is on the page");
    look(&issuer, "authority-order-timeline");

    // Two referrals: the moderator's queue shows each preview blurred and in grey until clicked,
    // one at a time.
    for reference in ["REF-1", "REF-2"] {
        issuer.open(&format!("{authority_url}/console/orders/new"));
        issuer.click("#kind-referral");
        issuer.select("#to", "videohost");
        issuer.fill("#reference", reference);
        issuer.fill("#targets", "https://videohost.example/v/1.jpg");
        issuer.fill("#legal_basis", "");
        issuer.click("form[action='/console/orders'] button[type=submit]");
        issuer.wait_until("the referral's page", "return location.pathname.startsWith('/console/orders/0');", false);
    }
    let moderator = driver.browser("moderator");
    sign_in(&moderator, &platform_url, "moderator");
    moderator.open(&format!("{platform_url}/console/review"));
    moderator.wait_until(
        "two referrals with loaded previews",
        "return [...document.querySelectorAll('figure.preview img')].filter(i => i.complete && i.naturalWidth > 0).length === 2;",
        true,
    );
    for n in 0..2 {
        let filter = preview_filter(&moderator, n);
        assert!(filter.contains("blur") && filter.contains("grayscale"), "preview {n} starts hidden: {filter}");
    }
    look(&moderator, "platform-review-queue-blurred");
    moderator.click("article:nth-of-type(1) button.reveal");
    moderator.wait_until(
        "the first revealed",
        "return getComputedStyle(document.querySelector('figure.preview img')).filter === 'none';",
        false,
    );
    assert!(preview_filter(&moderator, 1).contains("blur"), "the other stays hidden");
    look(&moderator, "platform-review-queue-revealed");
    // From the keyboard, as well as with the pointer.
    moderator.press_enter("article:nth-of-type(2) button.reveal");
    moderator.wait_until(
        "the second revealed",
        "return getComputedStyle(document.querySelectorAll('figure.preview img')[1]).filter === 'none';",
        false,
    );
    assert!(preview_filter(&moderator, 0).contains("blur"), "revealing one hides the other again");
    // An empty reason is refused next to its field; then the referral is rejected with one.
    moderator.click("article:nth-of-type(1) form[action$='/reject'] button");
    moderator.wait_until("the refusal", "return document.querySelector('.field-error') !== null;", false);
    moderator.fill("article:nth-of-type(1) form[action$='/reject'] textarea", "Satire, within our terms.");
    moderator.click("article:nth-of-type(1) form[action$='/reject'] button");
    moderator.wait_until("one left in the queue", "return document.querySelectorAll('article.card').length === 1;", true);

    // An upload matching a bank that asks for review waits in the same queue, blurred too;
    // confirming it takes it out.
    let admin = pair.platform_admin.as_str();
    let made = platform.call("POST", "/v1/banks", Some(admin), "application/json", br#"{"name":"gifct-review","action":"review"}"#);
    assert_eq!(made.0, 201, "{}", made.2);
    let upload = std::fs::read(crate::helpers::data_dir().join("reg-test-input/pen-and-coaster.png")).expect("image");
    let sha256: String = {
        use sha2::Digest;
        sha2::Sha256::digest(&upload).iter().map(|b| format!("{b:02x}")).collect()
    };
    let signals = format!(r#"{{"signals":[{{"type":"sha256","value":"{sha256}","labels":{{"tags":["gifct:tvec"]}}}}]}}"#);
    let added = platform.call("POST", "/v1/banks/gifct-review/signals", Some(admin), "application/json", signals.as_bytes());
    assert_eq!(added.0, 200, "{}", added.2);
    let (status, _, scanned) = platform.call("POST", "/v1/scan", Some(admin), "image/png", &upload);
    let scanned: Value = serde_json::from_str(&scanned).expect("JSON");
    assert_eq!((status, scanned["verdict"].as_str()), (200, Some("review")), "{scanned}");
    let match_id = scanned["match_id"].as_str().expect("the match is kept").to_owned();
    moderator.open(&format!("{platform_url}/console/review"));
    moderator.wait_until(
        "the upload's preview",
        "const i = document.querySelector('article.match img'); return i !== null && i.complete && i.naturalWidth > 0;",
        true,
    );
    let filter = moderator.eval("return getComputedStyle(document.querySelector('article.match img')).filter;", serde_json::json!([]));
    assert!(filter.as_str().is_some_and(|f| f.contains("blur") && f.contains("grayscale")), "{filter}");
    assert!(moderator.text("article.match").contains("gifct-review"));
    look(&moderator, "platform-review-queue-scan-match");
    moderator.fill("article.match textarea[name=reason]", "The same video as GIFCT's hash.");
    moderator.click("article.match button[value=confirmed]");
    moderator.wait_until("the match decided", "return document.querySelector('article.match') === null;", false);
    let (_, _, kept) = platform.call("GET", "/v1/matches", Some(admin), "", b"");
    let kept: Value = serde_json::from_str(&kept).expect("JSON");
    let decided = kept.as_array().expect("list").iter().find(|m| m["id"] == match_id.as_str()).expect("kept");
    assert_eq!((decided["status"].as_str(), decided["decided_by"].as_str()), (Some("confirmed"), Some("moderator")), "{decided}");
    moderator.open(&format!("{platform_url}/console/figures"));
    assert!(moderator.source().contains("gifct-review"), "matches per bank");
    look(&moderator, "platform-figures");

    // The oversight reviewer: the log verified, the signed head, and no write action anywhere.
    let reviewer = driver.browser("oversight");
    sign_in(&reviewer, &authority_url, "reviewer-ofac");
    reviewer.open(&format!("{authority_url}/console/log"));
    assert!(reviewer.has("#log-status.verified"), "{}", reviewer.source());
    assert!(reviewer.text("pre.jws").contains("\"signature\""));
    look(&reviewer, "oversight-log-verified");
    let pages: Vec<String> = reviewer
        .eval("return [...document.querySelectorAll('header nav a')].map(a => a.getAttribute('href'));", serde_json::json!([]))
        .as_array()
        .expect("links")
        .iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    assert!(!pages.contains(&"/console/orders/new".to_owned()), "{pages:?}");
    let mut seen: Vec<(String, String)> = pages.iter().map(|p| (p.clone(), format!("oversight{}", p.replace('/', "-")))).collect();
    seen.push((order_path.clone(), "oversight-order".to_owned()));
    for (page, name) in &seen {
        reviewer.open(&format!("{authority_url}{page}"));
        let forms = reviewer.count("form:not([action='/console/sign-out'])");
        assert_eq!(forms, 0, "oversight sees no write action on {page}:\n{}", reviewer.source());
        look(&reviewer, name);
    }
    // Nor reaches one by its address.
    reviewer.open(&format!("{authority_url}/console/orders/new"));
    assert!(reviewer.source().contains("do not give access"), "{}", reviewer.source());
    let before = order_count(&pair.authority, &pair.issuer);
    let posted = reviewer.eval(
        "const csrf = document.querySelector('input[name=csrf]').value; \
         return fetch(arguments[0], {method: 'POST', headers: {'Content-Type': 'application/x-www-form-urlencoded'}, \
         body: 'csrf=' + csrf + '&to=videohost&targets=https%3A%2F%2Fvideohost.example%2Fv%2F1.jpg&reasons=incite&legal_basis=x'}).then(r => r.status);",
        serde_json::json!([format!("{authority_url}/console/orders")]),
    );
    assert_eq!(posted, 403, "a hand-made post is refused");
    assert_eq!(order_count(&pair.authority, &pair.issuer), before);

    // French, by the switch.
    issuer.open(&format!("{authority_url}{order_path}"));
    issuer.click("a[hreflang=fr]");
    issuer.wait_until("French", "return document.documentElement.lang === 'fr';", false);
    assert!(issuer.source().contains("Chronologie"));
    look(&issuer, "authority-order-timeline-fr");
    // Refusals in French too.
    issuer.open(&format!("{authority_url}/console/orders/new"));
    issuer.fill("#targets", "ftp://videohost.example/v/1.jpg");
    issuer.click("form[action='/console/orders'] button[type=submit]");
    issuer.wait_until("the form comes back", "return document.querySelector('.field-error') !== null;", false);
    assert!(issuer.text("#statement-error").contains("exposé des motifs"), "{}", issuer.text("#statement-error"));
    assert!(issuer.source().contains("Section G : voies de recours"), "the Annex I sections in French");
    assert!(issuer.text("#targets-error").contains("seules les URL http et https"), "{}", issuer.text("#targets-error"));
    look(&issuer, "authority-order-form-refused-fr");
    issuer.open(&format!("{authority_url}/console/figures"));
    assert!(issuer.has("svg.chart .marker"), "the one-hour line");
    look(&issuer, "authority-figures-fr");
    eprintln!("screenshots: {}", crate::browser::artefacts().display());
}

/// The CSRF code in a signed-in page's forms.
fn session_code(page: &str) -> String {
    page.split("name=\"csrf\" value=\"").nth(1).and_then(|rest| rest.split('"').next()).expect("a form with its code").to_owned()
}

/// Signs in over HTTP: the `Cookie:` header of the session.
pub(crate) fn signed_in(node: &Node, name: &str) -> String {
    let (_, head, _) = node.call("GET", "/", None, "", b"");
    let csrf = cookie_value(set_cookie(&head, "tocsin_csrf").expect("a CSRF cookie")).to_owned();
    let body = format!("account={name}&password=correct+horse+battery&csrf={csrf}");
    let head = raw_head(
        node,
        &format!(
            "POST /console/sign-in HTTP/1.1\r\nHost: {}\r\nCookie: tocsin_csrf={csrf}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            node.addr,
            body.len()
        ),
    );
    let session =
        head.lines().filter_map(|l| l.strip_prefix("set-cookie: ")).find(|c| c.starts_with("tocsin_session=")).expect("a session");
    format!("Cookie: tocsin_session={}; tocsin_csrf={csrf}", cookie_value(session))
}

#[test]
fn on_postgresql_the_order_page_and_the_figures_show_how_long_the_removal_took() {
    let pair = crate::orders::Pair::start_on_postgres();
    account(&pair.authority, &pair.admin, "night-desk", "issuer");
    let id = pair.issue("https://videohost.example/v/1.jpg");
    pair.wait_for(&id, "executed");
    let cookie = signed_in(&pair.authority, "night-desk");
    let (status, _, page) = pair.authority.call_with("GET", &format!("/console/orders/{id}"), &[&cookie], "", b"");
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Receipt to removal") && page.contains("state-executed"), "{page}");
    let (status, _, figures) = pair.authority.call_with("GET", "/console/figures", &[&cookie], "", b"");
    assert_eq!(status, 200, "{figures}");
    assert!(figures.contains("videohost: 1 / 1 removed within the hour"), "{figures}");
    assert!(figures.contains("<rect") && figures.contains("class=\"marker\""), "a bar and the one-hour line: {figures}");
    // A reason PostgreSQL could not store is refused before it gets there, and changes nothing.
    let order_before = pair.authority.call("GET", &format!("/v1/orders/{id}"), Some(&pair.issuer), "", b"").2;
    let (status, _, refused) = pair.authority.call(
        "POST",
        &format!("/v1/orders/{id}/withdraw"),
        Some(&pair.issuer),
        "application/json",
        serde_json::json!({"reason": "with a NUL \u{0} byte"}).to_string().as_bytes(),
    );
    assert_eq!(status, 409, "{refused}");
    assert!(refused.contains("control characters"), "{refused}");
    assert_eq!(pair.authority.call("GET", &format!("/v1/orders/{id}"), Some(&pair.issuer), "", b"").2, order_before);
    // Without a session, the pages send the reader to sign in.
    let (status, head, _) = pair.authority.call("GET", "/console/figures", None, "", b"");
    assert!(status == 303 && head.contains("location: /"), "{head}");
}

#[test]
fn each_role_sees_only_its_pages_and_the_api_refuses_what_the_navigation_leaves_out() {
    let dir = tempfile::tempdir().expect("temp dir");
    let admin = tocsin_in(dir.path(), &["admin", "token", "--data", ".", "--account", "chief", "--role", "admin"]).stdout.trim().to_owned();
    let node = Node::start(dir.path(), &["--name", "ofac"], &[]);
    let pages = [
        "/console/orders",
        "/console/orders/new",
        "/console/review",
        "/console/blocklist",
        "/console/banks",
        "/console/oversight",
        "/console/log",
        "/console/figures",
    ];
    // What each role's navigation offers, and so what it may open.
    let allowed: &[(&str, &[&str])] = &[
        (
            "issuer",
            &["/console/orders", "/console/orders/new", "/console/blocklist", "/console/banks", "/console/oversight", "/console/figures"],
        ),
        ("operator", &["/console/orders", "/console/review", "/console/banks", "/console/figures"]),
        (
            "oversight",
            &["/console/orders", "/console/blocklist", "/console/banks", "/console/oversight", "/console/log", "/console/figures"],
        ),
        ("auditor", &["/console/blocklist", "/console/oversight", "/console/log"]),
    ];
    for (role, may) in allowed {
        let name = format!("{role}-1");
        account(&node, &admin, &name, role);
        let cookie = signed_in(&node, &name);
        let (_, _, home) = node.call_with("GET", "/console/log", &[&cookie], "", b"");
        for page in pages {
            let offered = home.contains(&format!("<a href=\"{page}\""));
            assert_eq!(offered, may.contains(&page), "{role}: {page} in the navigation");
            let (status, head, body) = node.call_with("GET", page, &[&cookie], "", b"");
            // No script or style from elsewhere, no framing, nothing cached, no address leaked.
            for header in [
                "content-security-policy: default-src 'self'",
                "frame-ancestors 'none'",
                "cache-control: no-store",
                "referrer-policy: same-origin",
            ] {
                assert!(head.contains(header), "{page}: {header} in {head}");
            }
            if may.contains(&page) {
                assert_eq!(status, 200, "{role} opens {page}: {body}");
            } else {
                assert_eq!(status, 403, "{role} is refused {page}: {body}");
                assert!(body.contains("do not give access"), "{body}");
            }
        }
    }
}

#[test]
fn an_issuer_reviews_blocklist_entries_and_answers_recommendations_from_the_console() {
    let dir = tempfile::tempdir().expect("temp dir");
    let admin = tocsin_in(dir.path(), &["admin", "token", "--data", ".", "--account", "chief", "--role", "admin"]).stdout.trim().to_owned();
    let node = Node::start(dir.path(), &["--name", "ofac", "--role", "authority", "--stop-host", "stop.ofac.example"], &[]);
    account(&node, &admin, "desk", "issuer");
    account(&node, &admin, "qp", "oversight");
    let post = |token: &str, path: &str, body: Value| {
        let (status, _, text) = node.call("POST", path, Some(token), "application/json", body.to_string().as_bytes());
        (status, serde_json::from_str::<Value>(&text).unwrap_or(Value::Null))
    };
    let (status, entry) = post(
        &admin,
        "/v1/blocklist",
        serde_json::json!({"domain": "propaganda.example", "legal_basis": "LCEN art. 6-1", "reason": "terrorism", "unreachable": "no contact given"}),
    );
    assert_eq!(status, 201, "{entry}");
    let entry = entry["id"].as_str().expect("id").to_owned();
    let oversight =
        tocsin_in(dir.path(), &["admin", "token", "--data", ".", "--account", "qp", "--role", "oversight"]).stdout.trim().to_owned();
    let (status, rec) = post(
        &oversight,
        &format!("/v1/blocklist/{entry}/recommendations"),
        serde_json::json!({"recommendation": "lift", "reasons": "offline"}),
    );
    assert_eq!(status, 201, "{rec}");
    let rec = rec["id"].as_str().expect("id").to_owned();
    let log_size = || {
        serde_json::from_str::<Value>(&node.call("GET", "/v1/log/head", Some(&admin), "", b"").2).expect("JSON")["size"]
            .as_u64()
            .expect("size")
    };

    let desk = signed_in(&node, "desk");
    let form = "application/x-www-form-urlencoded";
    let (_, _, page) = node.call_with("GET", "/console/blocklist", &[&desk], "", b"");
    let csrf = session_code(&page);
    assert!(page.contains(&format!("action=\"/console/blocklist/{entry}/review\"")), "{page}");
    // A review without a reason: refused next to the field, nothing logged.
    let before = log_size();
    let (status, _, page) = node.call_with(
        "POST",
        &format!("/console/blocklist/{entry}/review"),
        &[&desk],
        form,
        format!("csrf={csrf}&outcome=keep&note=").as_bytes(),
    );
    assert_eq!(status, 422, "{page}");
    assert!(
        page.contains(&format!("id=\"note-{entry}\" name=\"note\" rows=\"2\" aria-invalid=\"true\"")) && page.contains("id=\"note-error\""),
        "{page}"
    );
    assert_eq!(log_size(), before);
    // With one: recorded.
    let (status, _, _) = node.call_with(
        "POST",
        &format!("/console/blocklist/{entry}/review"),
        &[&desk],
        form,
        // Over two lines, as a textarea sends them.
        format!("csrf={csrf}&outcome=keep&note=still+online%0D%0Aand+serving").as_bytes(),
    );
    assert_eq!(status, 303);
    assert_eq!(log_size(), before + 1, "the review is logged");

    // The recommendation to lift, accepted: the entry is lifted.
    let (_, _, page) = node.call_with("GET", "/console/oversight", &[&desk], "", b"");
    assert!(page.contains(&format!("action=\"/console/recommendations/{rec}/answer\"")), "{page}");
    let (status, _, _) = node.call_with(
        "POST",
        &format!("/console/recommendations/{rec}/answer"),
        &[&desk],
        form,
        format!("csrf={csrf}&accept=yes&note=agreed").as_bytes(),
    );
    assert_eq!(status, 303);
    let (_, _, shown) = node.call("GET", &format!("/v1/blocklist/{entry}"), Some(&admin), "", b"");
    assert!(shown.contains("\"state\":\"lifted\""), "{shown}");

    // The qualified person sees the answer and no form at all.
    let qp = signed_in(&node, "qp");
    let (_, _, page) = node.call_with("GET", "/console/oversight", &[&qp], "", b"");
    assert!(page.contains("agreed") && !page.contains("/answer\""), "{page}");
}

#[test]
fn the_console_escapes_what_it_echoes_and_sends_readers_back_only_within_itself() {
    let dir = tempfile::tempdir().expect("temp dir");
    let admin = tocsin_in(dir.path(), &["admin", "token", "--data", ".", "--account", "chief", "--role", "admin"]).stdout.trim().to_owned();
    let node = Node::start(dir.path(), &[], &[]);
    account(&node, &admin, "desk", "issuer");
    let desk = signed_in(&node, "desk");

    // The language switch goes back to console paths only, as a browser reads them.
    for (back, to) in [
        ("/console/orders", "/console/orders"),
        ("/%09/evil.example", "/"),
        ("//evil.example", "/"),
        ("/%5Cevil.example", "/"),
        ("https://evil.example/", "/"),
        ("/%0D%0A/evil.example", "/"),
        ("%20/evil.example", "/"),
    ] {
        let (status, head, _) = node.call_with("GET", &format!("/console/lang?to=fr&back={back}"), &[&desk], "", b"");
        assert_eq!(status, 303);
        assert!(head.contains(&format!("\r\nlocation: {to}\r\n")), "{back} goes to {to}: {head}");
    }

    // A form sent without its code echoes the order id of its path, escaped.
    let (status, _, page) = node.call_with(
        "POST",
        "/console/orders/%22%3E%3Cscript%3Ealert(1)%3C%2Fscript%3E/withdraw",
        &[&desk],
        "application/x-www-form-urlencoded",
        b"reason=x",
    );
    assert_eq!(status, 403, "{page}");
    assert!(!page.contains("\"><script>") && page.contains("&quot;&gt;&lt;script&gt;"), "{page}");

    // The sign-in page cannot be framed either.
    let (_, head, _) = node.call("GET", "/", None, "", b"");
    assert!(head.contains("frame-ancestors 'none'") && head.contains("x-content-type-options: nosniff"), "{head}");
}
