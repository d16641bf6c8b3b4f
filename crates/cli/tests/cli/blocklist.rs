//! The authority's blocklist: entries added, refused, lifted and reviewed through the CLI; the
//! RPZ feed checked by `named-checkzone` and loaded by a real Unbound on a loopback port, which
//! blocks a listed domain and its subdomains, resolves others, and lets a lifted domain resolve
//! again after it refreshes the feed.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::helpers::{Node, tocsin_in};

fn token(dir: &Path, account: &str, role: &str) -> String {
    tocsin_in(dir, &["admin", "token", "--data", ".", "--account", account, "--role", role]).stdout.trim().to_owned()
}

struct Authority {
    dir: tempfile::TempDir,
    node: Node,
    issuer: String,
    operator: String,
    server: String,
}

impl Authority {
    fn start() -> Authority {
        let dir = tempfile::tempdir().expect("temp dir");
        let issuer = token(dir.path(), "desk-1", "issuer");
        let operator = token(dir.path(), "isp-resolver", "operator");
        let node = Node::start(dir.path(), &["--name", "ofac", "--role", "authority", "--stop-host", "stop.ofac.example"], &[]);
        let server = format!("http://{}", node.addr);
        Authority { dir, node, issuer, operator, server }
    }

    fn blocklist(&self, args: &[&str]) -> crate::helpers::Run {
        let mut all = vec!["blocklist"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--server", &self.server, "--token", &self.issuer]);
        tocsin_in(self.dir.path(), &all)
    }

    /// Adds an entry for terrorist content, as LCEN Art. 6-1 allows it: the host was asked to
    /// remove the content two days ago and has not.
    fn add(&self, args: &[&str]) -> String {
        let asked = two_days_ago();
        let lcen = ["--legal-basis", "LCEN art. 6-1; Décret 2015-125", "--reason", "terrorism", "--removal-requested-at", &asked];
        let run = self.blocklist(&[&["add"][..], args, &lcen, &["--removal-requested-of", "the host, by email"]].concat());
        assert_eq!(run.code, 0, "{}", run.stderr);
        run.stdout.lines().last().expect("the entry id").to_owned()
    }

    /// Adds an entry on another legal basis (where NXDOMAIN may be asked for).
    fn add_other(&self, args: &[&str]) -> String {
        let run = self.blocklist(&[&["add"][..], args, &["--legal-basis", "a court's decision", "--reason", "other"]].concat());
        assert_eq!(run.code, 0, "{}", run.stderr);
        run.stdout.lines().last().expect("the entry id").to_owned()
    }

    fn entries(&self) -> Vec<Value> {
        serde_json::from_str(&self.node.call("GET", "/v1/blocklist", Some(&self.issuer), "", b"").2).expect("JSON")
    }

    fn zone(&self) -> String {
        let (status, head, body) = self.node.call("GET", "/v1/blocklist/rpz", Some(&self.operator), "", b"");
        assert_eq!(status, 200, "{body}");
        assert!(head.contains("content-type: text/dns"), "{head}");
        body
    }
}

/// Two days ago, RFC 3339.
pub(crate) fn two_days_ago() -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_millis() as i64;
    tocsin_server::node::time::rfc3339_ms(now - 2 * 86_400_000)
}

fn soa_serial(zone: &str) -> u64 {
    let soa = zone.lines().find(|l| l.contains(" SOA ")).expect("an SOA");
    soa.split_whitespace().nth(5).and_then(|s| s.parse().ok()).expect("a serial")
}

#[test]
fn entries_are_added_once_lifted_once_and_bad_input_changes_nothing() {
    let authority = Authority::start();
    let id = authority.add(&["Propaganda.Example.", "--subdomains", "--reference", "OFAC-2026-17"]);
    let entries = authority.entries();
    assert_eq!(entries.len(), 1);
    assert_eq!(
        (entries[0]["id"].as_str(), entries[0]["target"].as_str(), entries[0]["state"].as_str()),
        (Some(id.as_str()), Some("propaganda.example"), Some("active"))
    );
    assert_eq!(entries[0]["review_overdue"], false);
    let serial = soa_serial(&authority.zone());

    for (args, why) in [
        (&["bad_-domain-.example"][..], "not starting or ending with '-'"),
        (&["https://propaganda.example/page"], "without scheme"),
        (&["192.0.2.7"], "an IP address"),
        (&["propaganda.example"], "blocked already"),
        (&["http://", "--url"], "url:"),
        // What would block more than a site: every site under a public suffix, the page blocked
        // users are sent to, the policy zone itself.
        (&["co.uk", "--subdomains"], "a public suffix"),
        (&["github.io", "--subdomains"], "a public suffix"),
        (&["stop.ofac.example"], "the stop host"),
        (&["ofac.example", "--subdomains"], "the stop host"),
        (&["rpz.tocsin"], "the policy zone's own name"),
        (&["x.rpz.tocsin"], "the policy zone's own name"),
    ] {
        let run = authority.blocklist(&[&["add"][..], args, &["--legal-basis", "x", "--reason", "other"]].concat());
        assert_eq!(run.code, 2, "{args:?}");
        assert!(run.stderr.contains(why), "{args:?}: {}", run.stderr);
    }
    assert_eq!(authority.entries().len(), 1, "nothing was added");
    assert_eq!(soa_serial(&authority.zone()), serial, "the zone did not change");

    // A URL entry goes to gates and search engines, not into the zone.
    authority.add(&["https://Forum.Example/thread/42#post-7", "--url"]);
    let (status, _, urls) = authority.node.call("GET", "/v1/blocklist/urls", Some(&authority.operator), "", b"");
    let urls: Value = serde_json::from_str(&urls).expect("JSON");
    assert_eq!((status, urls[0]["url"].as_str()), (200, Some("https://forum.example/thread/42")), "{urls}");
    assert!(!authority.zone().contains("forum.example"), "DNS cannot block a path");
    let serial = soa_serial(&authority.zone());
    let lifted = authority.blocklist(&["lift", &id, "--reason", "content removed by the host"]);
    assert_eq!(lifted.code, 0, "{}", lifted.stderr);
    let again = authority.blocklist(&["lift", &id, "--reason", "twice"]);
    assert!(again.code == 2 && again.stderr.contains("lifted already"), "{}", again.stderr);
    assert!(soa_serial(&authority.zone()) > serial, "a lift is a change resolvers see");
    let review = authority.blocklist(&["review", &id, "keep", "--note", "checked"]);
    assert!(review.code == 2 && review.stderr.contains("only active entries are reviewed"), "{}", review.stderr);

    // A review that keeps an entry moves its next review a quarter on; both are logged.
    let kept = authority.add(&["other.example"]);
    let run = authority.blocklist(&["review", &kept, "keep", "--note", "still online, still unlawful"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let oversight = token(authority.dir.path(), "arcom-pq", "oversight");
    let entries: Vec<Value> =
        serde_json::from_str(&authority.node.call("GET", "/v1/log/entries?start=0&end=100", Some(&oversight), "", b"").2).expect("JSON");
    let types: Vec<String> = entries
        .iter()
        .filter_map(|e| {
            let data = tocsin_wire::base64url_decode(e["data"].as_str()?).ok()?;
            serde_json::from_slice::<Value>(&data).ok()?["type"].as_str().map(str::to_owned)
        })
        .filter(|t| t.starts_with("blocklist."))
        .collect();
    assert_eq!(types, ["blocklist.added", "blocklist.added", "blocklist.lifted", "blocklist.added", "blocklist.reviewed"]);

    // Resolvers may read the feed; they may not change the list, and issuers may not pull it.
    let (status, _, _) = authority.node.call(
        "POST",
        "/v1/blocklist",
        Some(&authority.operator),
        "application/json",
        br#"{"domain":"x.example","legal_basis":"y"}"#,
    );
    assert_eq!(status, 403);
    assert_eq!(authority.node.call("GET", "/v1/blocklist/rpz", Some(&authority.issuer), "", b"").0, 403);
    assert_eq!(authority.node.call("GET", "/v1/blocklist/rpz", None, "", b"").0, 401);
}

fn named_checkzone(zone: &str) -> (bool, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("rpz.zone");
    std::fs::write(&file, zone).expect("write");
    let out = Command::new("named-checkzone")
        .args(["rpz.tocsin."])
        .arg(&file)
        .output()
        .expect("named-checkzone (scripts/test installs bind9-utils)");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr))
}

fn free_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0").expect("a port").local_addr().expect("addr").port()
}

/// A real Unbound on a loopback port: `example.` served from a local zone file (standing for
/// the internet, which tests do not reach) and the authority's RPZ pulled over HTTP.
struct Unbound {
    dir: tempfile::TempDir,
    port: u16,
    child: Child,
}

impl Unbound {
    fn start(feed: &str) -> Unbound {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(
            dir.path().join("example.zone"),
            "$ORIGIN example.\n$TTL 60\n@ SOA ns.example. hostmaster.example. 1 60 60 604800 60\n@ NS ns.example.\nns A 192.0.2.53\n\
             propaganda A 192.0.2.66\nwww.propaganda A 192.0.2.66\nbad A 192.0.2.67\nnews A 192.0.2.10\n",
        )
        .expect("write");
        std::fs::write(
            dir.path().join("ofac.zone"),
            "$ORIGIN ofac.example.\n$TTL 60\n@ SOA ns.example. hostmaster.example. 1 60 60 604800 60\n@ NS ns.example.\nstop A 192.0.2.80\n",
        )
        .expect("write");
        let port = free_port();
        let conf = format!(
            "server:\n  interface: 127.0.0.1\n  port: {port}\n  do-daemonize: no\n  use-syslog: no\n  logfile: \"\"\n  chroot: \"\"\n  username: \"\"\n  \
             directory: \"{dir}\"\n  pidfile: \"{dir}/unbound.pid\"\n  module-config: \"respip validator iterator\"\n  do-ip6: no\n  \
             access-control: 127.0.0.0/8 allow\n  verbosity: 1\n\
             auth-zone:\n  name: \"example.\"\n  zonefile: \"{dir}/example.zone\"\n  for-downstream: yes\n  for-upstream: yes\n\
             auth-zone:\n  name: \"ofac.example.\"\n  zonefile: \"{dir}/ofac.zone\"\n  for-downstream: yes\n  for-upstream: yes\n\
             rpz:\n  name: \"rpz.tocsin.\"\n  url: \"{feed}\"\n  rpz-log: yes\n",
            dir = dir.path().display()
        );
        let conf_path = dir.path().join("unbound.conf");
        std::fs::write(&conf_path, conf).expect("write");
        let check = Command::new(unbound_tool("unbound-checkconf"))
            .arg(&conf_path)
            .output()
            .expect("unbound-checkconf (scripts/test installs unbound)");
        assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stdout) + String::from_utf8_lossy(&check.stderr));
        let child = Command::new(unbound_tool("unbound"))
            .args(["-d", "-c"])
            .arg(&conf_path)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("unbound starts");
        Unbound { dir, port, child }
    }

    /// `dig +short` answers (or the status when there are none).
    fn resolve(&self, name: &str) -> String {
        let out = Command::new("dig")
            .args(["@127.0.0.1", "-p", &self.port.to_string(), "+time=2", "+tries=1", "+noall", "+answer", "+comments", name, "A"])
            .output()
            .expect("dig (scripts/test installs bind9-dnsutils)");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let status = text.split("status: ").nth(1).and_then(|s| s.split(',').next()).unwrap_or("no answer").to_owned();
        let answers: Vec<String> = text
            .lines()
            .filter(|l| !l.starts_with(';') && !l.trim().is_empty())
            .map(|l| l.split_whitespace().last().unwrap_or("").to_owned())
            .collect();
        format!("{status} {}", answers.join(" "))
    }

    /// Waits (at most 20 s) until `name` resolves to something containing `want`.
    fn wait_for(&self, name: &str, want: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let got = self.resolve(name);
            if got.contains(want) {
                return got;
            }
            assert!(Instant::now() < deadline, "{name}: {got:?}, expected {want:?}; unbound in {}", self.dir.path().display());
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Unbound {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn unbound_tool(name: &str) -> PathBuf {
    let sbin = PathBuf::from("/usr/sbin").join(name);
    if sbin.exists() { sbin } else { PathBuf::from(name) }
}

#[test]
fn a_real_unbound_blocks_listed_domains_from_the_feed_and_resolves_them_again_once_lifted() {
    let authority = Authority::start();
    let blocked = authority.add(&["propaganda.example", "--subdomains", "--order", "01M8NBJZ9R3XRCERC33TX8ZJ43"]);
    authority.add_other(&["bad.example", "--nxdomain"]);
    let zone = authority.zone();
    let (ok, report) = named_checkzone(&zone);
    assert!(ok && report.contains("OK"), "named-checkzone: {report}\n{zone}");
    assert!(
        zone.contains("propaganda.example CNAME stop.ofac.example.") && zone.contains("*.propaganda.example CNAME stop.ofac.example."),
        "{zone}"
    );
    assert!(zone.contains("bad.example CNAME ."), "{zone}");

    // Unbound cannot send a header: its URL carries the operator's token.
    let feed = format!("{}/v1/blocklist/rpz?token={}", authority.server, authority.operator);
    let unbound = Unbound::start(&feed);
    unbound.wait_for("news.example", "NOERROR 192.0.2.10");
    let answer = unbound.wait_for("propaganda.example", "stop.ofac.example.");
    assert!(answer.starts_with("NOERROR stop.ofac.example."), "sent to the stop host: {answer}");
    assert!(unbound.resolve("www.propaganda.example").contains("stop.ofac.example."), "subdomains too");
    assert!(unbound.resolve("bad.example").starts_with("NXDOMAIN"), "{}", unbound.resolve("bad.example"));
    assert_eq!(unbound.resolve("news.example"), "NOERROR 192.0.2.10", "an unlisted domain resolves normally");
    drop(unbound);

    let lifted = authority.blocklist(&["lift", &blocked, "--reason", "the host removed the content"]);
    assert_eq!(lifted.code, 0, "{}", lifted.stderr);
    let (ok, report) = named_checkzone(&authority.zone());
    assert!(ok, "{report}");
    // The resolver refreshes the feed (here: started again, which downloads it anew).
    let unbound = Unbound::start(&feed);
    unbound.wait_for("news.example", "NOERROR 192.0.2.10");
    assert_eq!(unbound.wait_for("propaganda.example", "192.0.2.66"), "NOERROR 192.0.2.66", "resolves normally again");
    assert!(unbound.resolve("bad.example").starts_with("NXDOMAIN"), "still blocked");
}

#[test]
fn users_sent_to_the_stop_host_get_the_451_page_in_their_language() {
    let authority = Authority::start();
    authority.add(&["propaganda.example", "--subdomains", "--reference", "OFAC-2026-17"]);
    let visit = |host: &str, language: &str| {
        let headers = [format!("Host: {host}"), format!("Accept-Language: {language}")];
        authority.node.call_with("GET", "/watch?v=1", &headers, "", b"")
    };
    let (status, head, page) = visit("www.propaganda.example", "fr-FR,fr;q=0.9,en;q=0.5");
    assert_eq!(status, 451, "{page}");
    assert!(head.contains("content-language: fr") && head.contains("rel=\"blocked-by\""), "{head}");
    assert!(page.contains("<html lang=\"fr\">") && page.contains("tribunal administratif"), "{page}");
    for detail in ["ofac", "LCEN art. 6-1; Décret 2015-125", "OFAC-2026-17", "www.propaganda.example"] {
        assert!(page.contains(detail), "{detail}: {page}");
    }
    let (status, head, page) = visit("propaganda.example:80", "en-GB,en;q=0.9,fr;q=0.8");
    assert_eq!(status, 451);
    assert!(
        head.contains("content-language: en") && page.contains("<html lang=\"en\">") && page.contains("administrative court"),
        "{page}"
    );
    assert!(visit("propaganda.example", "de").2.contains("lang=\"en\""), "English when neither is asked for");
    assert_eq!(visit("news.example", "fr").0, 404, "hosts not on the list");
    let root = authority.node.call_with("GET", "/", &["Host: propaganda.example"], "", b"");
    assert_eq!(root.0, 451, "the site's home page too, not the console: {}", root.2);
}

#[test]
fn a_recommendation_its_answer_and_an_overdue_review_appear_in_the_api_and_in_the_report() {
    let authority = Authority::start();
    let oversight = token(authority.dir.path(), "arcom-pq", "oversight");
    let lifted = authority.add(&["propaganda.example", "--subdomains"]);
    let kept = authority.add(&["old.example"]);
    let call = |token: &str, method: &str, path: &str, body: Value| {
        let bytes = if body.is_null() { Vec::new() } else { body.to_string().into_bytes() };
        let (status, _, text) =
            authority.node.call(method, path, Some(token), if body.is_null() { "" } else { "application/json" }, &bytes);
        (status, serde_json::from_str::<Value>(&text).unwrap_or(Value::Null))
    };

    // The qualified person recommends lifting one entry and keeping the other.
    let (status, rec) = call(
        &oversight,
        "POST",
        &format!("/v1/blocklist/{lifted}/recommendations"),
        serde_json::json!({"recommendation": "lift", "reasons": "the site has been offline for months"}),
    );
    assert_eq!(status, 201, "{rec}");
    let (status, _) = call(
        &oversight,
        "POST",
        &format!("/v1/blocklist/{kept}/recommendations"),
        serde_json::json!({"recommendation": "keep", "reasons": "still unlawful"}),
    );
    assert_eq!(status, 201);
    let (_, open) = call(&authority.issuer, "GET", "/v1/recommendations?unanswered=true", Value::Null);
    assert_eq!(open.as_array().map(Vec::len), Some(2), "{open}");

    // The authority answers the first: accepted, so the entry is lifted.
    let id = rec["id"].as_str().expect("id");
    let (status, answered) = call(
        &authority.issuer,
        "POST",
        &format!("/v1/recommendations/{id}/answer"),
        serde_json::json!({"accept": true, "note": "confirmed offline"}),
    );
    assert_eq!((status, answered["answer"].as_str()), (200, Some("accepted")), "{answered}");
    assert_eq!(
        call(&authority.issuer, "POST", &format!("/v1/recommendations/{id}/answer"), serde_json::json!({"accept": false, "note": "again"}))
            .0,
        409
    );
    let (_, entry) = call(&authority.issuer, "GET", &format!("/v1/blocklist/{lifted}"), Value::Null);
    assert_eq!(entry["state"], "lifted", "{entry}");
    let (_, open) = call(&oversight, "GET", "/v1/recommendations?unanswered=true", Value::Null);
    assert_eq!(open.as_array().map(Vec::len), Some(1), "{open}");

    // A quarter later (the review date moved into the past in the database, as time would),
    // the kept entry is listed as overdue for review.
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_millis() as i64;
    crate::helpers::Database::sqlite(authority.dir.path()).execute(
        "UPDATE blocklist SET next_review = $1 WHERE id = $2",
        &[crate::helpers::Param::Int(now - 1000), crate::helpers::Param::Text(kept.clone())],
    );
    let (_, overdue) = call(&oversight, "GET", "/v1/blocklist?overdue=true", Value::Null);
    assert_eq!(
        overdue.as_array().map(|a| a.iter().map(|e| e["id"].as_str().unwrap_or_default().to_owned()).collect::<Vec<_>>()),
        Some(vec![kept.clone()])
    );

    // The report, from the log, for a year that ends after the entry's review date.
    let today = authority.entries()[0]["added_at"].as_str().expect("a date")[..10].to_owned();
    let run = tocsin_in(
        authority.dir.path(),
        &["report", "oversight", "--from", &today, "--to", "2027-12-31", "--server", &authority.server, "--token", &oversight],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    for line in [
        "domains blocked\t2",
        "blocks lifted\t1",
        "recommendations: lift\t1",
        "recommendations: keep\t1",
        "recommendations accepted\t1",
        "recommendations declined\t0",
        "recommendations unanswered at the end of the period\t1",
        "reviews overdue at the end of the period\t1",
    ] {
        assert!(run.stdout.lines().any(|l| l == line), "{line:?} in:\n{}", run.stdout);
    }
    let none = tocsin_in(
        authority.dir.path(),
        &["report", "oversight", "--from", "2020-01-01", "--to", "2020-12-31", "--server", &authority.server, "--token", &oversight],
    );
    assert!(
        none.stdout.contains("domains blocked\t0") && none.stdout.contains("reviews overdue at the end of the period\t0"),
        "{}",
        none.stdout
    );
}

#[test]
fn the_oversight_role_reads_everything_and_changes_nothing_but_its_recommendations() {
    let authority = Authority::start();
    let oversight = token(authority.dir.path(), "arcom-pq", "oversight");
    let entry = authority.add(&["propaganda.example"]);
    let doc: Value = serde_json::from_str(&authority.node.get("/v1/openapi.json").1).expect("JSON");
    // Writes open to every account about itself, or to no account at all.
    let not_role_checked =
        ["/v1/login", "/v1/inbox", "/v1/accounts/{name}/password", "/v1/tokens/revoke", "/v1/blocklist/{id}/recommendations"];
    let size = || {
        serde_json::from_str::<Value>(&authority.node.call("GET", "/v1/log/head", Some(&oversight), "", b"").2).expect("JSON")["size"]
            .clone()
    };
    let before = size();
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in ["post", "delete", "put", "patch"] {
            if item.get(method).is_none() || not_role_checked.contains(&path.as_str()) {
                continue;
            }
            let concrete = path.replace("{name}", "stay-down").replace("{id}", &entry).replace("{num}", "1");
            let (status, _, body) =
                authority.node.call(&method.to_ascii_uppercase(), &concrete, Some(&oversight), "application/json", b"{}");
            assert_eq!(status, 403, "{method} {path}: {body}");
            checked += 1;
        }
    }
    assert!(checked >= 20, "only {checked} write operations found: the document was not read");
    assert_eq!(size(), before, "nothing was logged");
    // It reads the blocklist, the log and the recommendations.
    for path in ["/v1/blocklist", "/v1/recommendations", "/v1/log/head", "/v1/banks", "/v1/orders"] {
        assert_eq!(authority.node.call("GET", path, Some(&oversight), "", b"").0, 200, "{path}");
    }
}

/// `dig AXFR` of the RPZ from the node's zone-transfer port, with `-y` when a key is given.
fn dig_axfr(port: u16, key: Option<&str>) -> String {
    let mut command = Command::new("dig");
    command.args(["@127.0.0.1", "-p", &port.to_string(), "+time=3", "+tries=1", "rpz.tocsin.", "AXFR"]);
    if let Some(key) = key {
        command.args(["-y", &format!("hmac-sha256:{key}")]);
    }
    let out = command.output().expect("dig (scripts/test installs bind9-dnsutils)");
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    // dig aligns columns with tabs: one space between fields, for comparing lines.
    text.lines().map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ")).collect::<Vec<_>>().join("\n")
}

#[test]
fn the_zone_is_transferred_by_axfr_only_to_holders_of_the_tsig_key() {
    let dir = tempfile::tempdir().expect("temp dir");
    let issuer = token(dir.path(), "desk-1", "issuer");
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("a port").local_addr().expect("addr").port();
    let key = "isp-resolver:c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTMy";
    let listen = format!("127.0.0.1:{port}");
    let node = Node::start(dir.path(), &["--stop-host", "stop.ofac.example", "--axfr-listen", &listen, "--axfr-tsig", key], &[]);
    let server = format!("http://{}", node.addr);
    let asked = two_days_ago();
    let lcen = ["--reason", "terrorism", "--removal-requested-at", &asked, "--removal-requested-of", "the host"];
    for args in [
        &["propaganda.example", "--subdomains", lcen[0], lcen[1], lcen[2], lcen[3], lcen[4], lcen[5]][..],
        &["bad.example", "--nxdomain", "--reason", "other"],
    ] {
        let run = tocsin_in(
            dir.path(),
            &[&["blocklist", "add"][..], args, &["--legal-basis", "LCEN art. 6-1", "--server", &server, "--token", &issuer]].concat(),
        );
        assert_eq!(run.code, 0, "{}", run.stderr);
    }
    let out = dig_axfr(port, Some(key));
    for line in [
        "propaganda.example.rpz.tocsin. 60 IN CNAME stop.ofac.example.",
        "*.propaganda.example.rpz.tocsin. 60 IN CNAME stop.ofac.example.",
        "bad.example.rpz.tocsin. 60 IN CNAME .",
    ] {
        assert!(out.contains(line), "{line:?} in:\n{out}");
    }
    assert_eq!(out.matches("IN SOA").count(), 2, "an AXFR starts and ends with the SOA:\n{out}");
    assert!(out.contains("TSIG") && !out.contains("verify"), "signed, and dig verified it:\n{out}");
    // A zone in several messages: each signed, chained to the one before (RFC 8945 §5.3.1),
    // which dig checks.
    for i in 0..150 {
        let body = format!(
            r#"{{"domain": "mirror-{i}.example", "legal_basis": "LCEN art. 6-1", "reason": "terrorism", "unreachable": "hosted abroad, no answer"}}"#
        );
        assert_eq!(node.call("POST", "/v1/blocklist", Some(&issuer), "application/json", body.as_bytes()).0, 201);
    }
    let out = dig_axfr(port, Some(key));
    assert_eq!(out.matches(" CNAME ").count(), 153, "{out}");
    assert!(out.matches(" TSIG ").count() >= 2 && !out.contains("verify"), "several signed messages:\n{out}");
    // No key, or another secret: refused, nothing transferred.
    for other in [None, Some("isp-resolver:b3RoZXItc2VjcmV0LW90aGVyLXNlY3JldC0zMg==")] {
        let out = dig_axfr(port, other);
        assert!(!out.contains("CNAME") && out.contains("Transfer failed"), "{other:?}:\n{out}");
    }
}

#[test]
fn tsig_errors_are_answered_as_rfc_8945_says_and_dnspython_reads_them() {
    let dir = tempfile::tempdir().expect("temp dir");
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("a port").local_addr().expect("addr").port();
    let secret = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTMy";
    let listen = format!("127.0.0.1:{port}");
    let _node = Node::start(dir.path(), &["--axfr-listen", &listen, "--axfr-tsig", &format!("isp-resolver:{secret}")], &[]);
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(&listen).is_err() {
        assert!(Instant::now() < deadline, "no zone transfers on {listen}");
        std::thread::sleep(Duration::from_millis(50));
    }
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cli/scripts/tsig_errors.py");
    let out = Command::new("/usr/bin/python3")
        .arg(&script)
        .args([&port.to_string(), "rpz.tocsin.", "isp-resolver", secret, "b3RoZXItc2VjcmV0LW90aGVyLXNlY3JldC0zMg=="])
        .output()
        .expect("python3 with dnspython (scripts/test installs python3-dnspython)");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    for line in [
        "unknown key: BADKEY NOTAUTH mac-size 0",
        "wrong secret: BADSIG NOTAUTH mac-size 0",
        "late clock: BADTIME NOTAUTH signed server-time-off True time-signed-is-request's True",
        "right key: ok NOERROR",
    ] {
        assert!(text.lines().any(|l| l == line), "{line:?} in:\n{text}");
    }
}

#[test]
fn an_entry_past_its_end_date_expires_and_leaves_the_zone() {
    let authority = Authority::start();
    let id = authority.add(&["temporary.example", "--expire-days", "30"]);
    assert!(authority.zone().contains("temporary.example CNAME"));
    // Thirty days later, as far as the database can tell.
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_millis() as i64;
    crate::helpers::Database::sqlite(authority.dir.path()).execute(
        "UPDATE blocklist SET expires_at = $1 WHERE id = $2",
        &[crate::helpers::Param::Int(now - 1000), crate::helpers::Param::Text(id.clone())],
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let entry = authority.entries().into_iter().find(|e| e["id"] == id.as_str()).expect("the entry");
        if entry["state"] == "expired" {
            assert_eq!(entry["end_reason"], "its end date passed");
            break;
        }
        assert!(Instant::now() < deadline, "not expired within 10 s: {entry}");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(!authority.zone().contains("temporary.example"), "gone from the zone");
    let bad = authority.blocklist(&["add", "x.example", "--legal-basis", "y", "--reason", "other", "--expire-days", "0"]);
    assert!(bad.code == 2 && bad.stderr.contains("expire_days: 1 to 3650"), "{}", bad.stderr);
}
