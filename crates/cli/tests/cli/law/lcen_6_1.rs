//! LCEN Art. 6-1 and Décret 2015-125: an address is blocked for terrorist or child-abuse content only 24 hours after an unmet removal request (or when the publisher and host cannot be reached), its users always get the information page, the qualified person is told of every entry added or lifted, and the annual figures break down by reason.

use std::time::{Duration, Instant};

use serde_json::Value;
use tocsin_model::Ulid;
use tocsin_wire::{Envelope, Kind, PROTOCOL_VERSION};

use crate::helpers::{Node, tocsin_in};
use crate::orders::{identity, now_ms, token};

/// An authority node keeping a blocklist; `stop_host` is where resolvers send users.
struct Keeper {
    dir: tempfile::TempDir,
    node: Node,
    issuer: String,
    admin: String,
}

impl Keeper {
    fn start(stop_host: Option<&str>) -> Keeper {
        let dir = tempfile::tempdir().expect("dir");
        let (issuer, admin) = (token(dir.path(), "desk-1", "issuer"), token(dir.path(), "chief", "admin"));
        let mut args = vec!["--name", "ofac", "--role", "authority"];
        if let Some(host) = stop_host {
            args.extend(["--stop-host", host]);
        }
        let node = Node::start(dir.path(), &args, &[]);
        Keeper { dir, node, issuer, admin }
    }

    fn run(&self, token: &str, args: &[&str]) -> crate::helpers::Run {
        let server = format!("http://{}", self.node.addr);
        tocsin_in(self.dir.path(), &[args, &["--server", &server, "--token", token]].concat())
    }

    fn add(&self, domain: &str, extra: &[&str]) -> crate::helpers::Run {
        self.run(&self.issuer, &[&["blocklist", "add", domain, "--legal-basis", "LCEN art. 6-1"][..], extra].concat())
    }
}

fn hours_ago(hours: i64) -> String {
    tocsin_server::node::time::rfc3339_ms(now_ms() as i64 - hours * 3_600_000)
}

#[test]
fn an_address_is_blocked_only_24_hours_after_an_unmet_removal_request_or_when_no_one_can_be_reached() {
    let keeper = Keeper::start(Some("stop.ofac.example"));
    let terrorism = ["--reason", "terrorism"];
    let none = keeper.add("propaganda.example", &terrorism);
    assert_ne!(none.code, 0);
    assert!(none.stderr.contains("removal request") && none.stderr.contains("unreachable"), "{}", none.stderr);
    let early = keeper.add(
        "propaganda.example",
        &[&terrorism[..], &["--removal-requested-at", &hours_ago(2), "--removal-requested-of", "host"]].concat(),
    );
    assert!(early.stderr.contains("has until") && early.stderr.contains("24 hours"), "{}", early.stderr);
    let future = keeper.add(
        "propaganda.example",
        &[&terrorism[..], &["--removal-requested-at", &hours_ago(-1), "--removal-requested-of", "host"]].concat(),
    );
    assert!(future.stderr.contains("in the future"), "{}", future.stderr);
    let stray = keeper.add("propaganda.example", &["--reason", "other", "--unreachable", "x"]);
    assert!(stray.stderr.contains("only for the grounds of LCEN"), "{}", stray.stderr);
    let listed = |k: &Keeper| -> Vec<Value> {
        serde_json::from_str(&k.node.call("GET", "/v1/blocklist", Some(&k.issuer), "", b"").2).expect("JSON")
    };
    assert!(listed(&keeper).is_empty(), "nothing was added");

    let asked = hours_ago(25);
    let added = keeper.add(
        "propaganda.example",
        &[&terrorism[..], &["--removal-requested-at", &asked, "--removal-requested-of", "the host, by email to abuse@host.example"]]
            .concat(),
    );
    assert_eq!(added.code, 0, "{}", added.stderr);
    let abroad =
        keeper.add("mirror.example", &["--reason", "child_sexual_abuse", "--unreachable", "hosted abroad; the host gives no contact"]);
    assert_eq!(abroad.code, 0, "{}", abroad.stderr);
    let entries = listed(&keeper);
    let find = |target: &str| entries.iter().find(|e| e["target"] == target).cloned().expect("listed");
    let first = find("propaganda.example");
    assert_eq!(first["reason"], "terrorism");
    assert_eq!(first["removal_request"]["requested_at"].as_i64(), tocsin_server::node::time::parse_rfc3339_ms(&asked));
    assert_eq!(find("mirror.example")["removal_request"]["unreachable"], "hosted abroad; the host gives no contact");
}

#[test]
fn users_of_an_address_blocked_under_lcen_always_get_the_information_page() {
    let keeper = Keeper::start(Some("stop.ofac.example"));
    let nxdomain = keeper.add("propaganda.example", &["--reason", "terrorism", "--unreachable", "x", "--nxdomain"]);
    assert!(nxdomain.stderr.contains("information page"), "{}", nxdomain.stderr);
    assert_eq!(keeper.add("other.example", &["--reason", "other", "--nxdomain"]).code, 0, "another basis may ask for NXDOMAIN");
    assert_eq!(keeper.add("abuse.example", &["--reason", "child_sexual_abuse", "--unreachable", "x"]).code, 0);
    let page = |host: &str| keeper.node.call_with("GET", "/", &[format!("Host: {host}"), "Accept-Language: fr".to_owned()], "", b"").2;
    let abuse = page("abuse.example");
    assert!(abuse.contains("227-23") && abuse.contains("Arcom") && !abuse.contains("terroris"), "{abuse}");
    let other = page("other.example");
    assert!(!other.contains("terroris") && !other.contains("227-23"), "another basis names no LCEN ground: {other}");

    let no_page = Keeper::start(None);
    let refused = no_page.add("propaganda.example", &["--reason", "terrorism", "--unreachable", "x"]);
    assert!(refused.stderr.contains("--stop-host"), "without an information page, no LCEN entry: {}", refused.stderr);
}

#[test]
fn the_qualified_person_is_told_of_every_entry_added_or_lifted() {
    let keeper = Keeper::start(Some("stop.ofac.example"));
    let added = keeper.add("propaganda.example", &["--reason", "terrorism", "--unreachable", "hosted abroad"]);
    let entry = added.stdout.lines().last().expect("id").to_owned();

    // The qualified person's node, designated within Arcom, and the two nodes confirming each other.
    let dir = tempfile::tempdir().expect("dir");
    let pq_admin = token(dir.path(), "pq", "admin");
    let pq = Node::start(dir.path(), &["--name", "arcom-pq", "--role", "oversight"], &[]);
    let (_, pq_fp) = identity(&pq);
    let (authority_jwk, authority_fp) = identity(&keeper.node);
    let pq_server = format!("http://{}", pq.addr);
    let on_pq = |args: &[&str]| tocsin_in(dir.path(), &[args, &["--server", &pq_server, "--token", &pq_admin]].concat());
    // The authority confirms the qualified person first: its notices, refused until she confirms
    // it in turn, wait for her.
    let linked = keeper.run(&keeper.admin, &["peer", "add", &pq_server, "--fingerprint", &pq_fp, "--role", "oversight"]);
    assert_eq!(linked.code, 0, "{}", linked.stderr);
    std::thread::sleep(Duration::from_millis(1500));
    let back = on_pq(&["peer", "add", &format!("http://{}", keeper.node.addr), "--fingerprint", &authority_fp, "--role", "authority"]);
    assert_eq!(back.code, 0, "{}", back.stderr);
    assert_eq!(keeper.run(&keeper.issuer, &["blocklist", "lift", &entry, "--reason", "the site is gone"]).code, 0);

    let deadline = Instant::now() + Duration::from_secs(30);
    let notices = loop {
        let run = on_pq(&["blocklist", "notices"]);
        if run.stdout.contains("blocklist.lifted") && run.stdout.contains("blocklist.added") {
            break run.stdout;
        }
        assert!(Instant::now() < deadline, "not told within 30 s: {}{}\n{}", run.stdout, run.stderr, keeper.node.stdout());
        std::thread::sleep(Duration::from_millis(100));
    };
    let added_line = notices.lines().find(|l| l.contains("blocklist.added")).expect("the addition");
    assert!(added_line.contains("ofac") && added_line.contains("propaganda.example") && added_line.contains("terrorism"), "{added_line}");
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(on_pq(&["blocklist", "notices"]).stdout.lines().count(), 2, "each change told once");

    // A notice that is not a blocklist change is refused and kept nowhere.
    let key = tocsin_server::Identity::load_or_create(keeper.dir.path()).expect("key");
    let envelope = Envelope {
        v: PROTOCOL_VERSION,
        id: Ulid::new(now_ms(), [7; 10]),
        kind: Kind::BlocklistNotice,
        from: authority_jwk.thumbprint(),
        to: pq_fp.clone(),
        sent_at: now_ms(),
        body: serde_json::json!({ "log_index": 0, "entry": { "type": "order.issued" } }),
    };
    let jws = tocsin_wire::seal(&envelope, |m| key.sign(m));
    let (status, _, reply) = pq.call("POST", "/v1/inbox", None, "application/jose", jws.as_bytes());
    assert_eq!(status, 422, "{reply}");
    assert_eq!(on_pq(&["blocklist", "notices"]).stdout.lines().count(), 2);
}

#[test]
fn the_annual_figures_break_down_by_reason() {
    let keeper = Keeper::start(Some("stop.ofac.example"));
    assert_eq!(
        keeper
            .add("a.example", &["--reason", "terrorism", "--removal-requested-at", &hours_ago(30), "--removal-requested-of", "host"])
            .code,
        0
    );
    assert_eq!(keeper.add("b.example", &["--reason", "terrorism", "--unreachable", "x"]).code, 0);
    assert_eq!(keeper.add("c.example", &["--reason", "child_sexual_abuse", "--unreachable", "x"]).code, 0);
    assert_eq!(keeper.add("d.example", &["--reason", "other"]).code, 0);
    let oversight = token(keeper.dir.path(), "pq", "oversight");
    let today = &tocsin_server::node::time::rfc3339_ms(now_ms() as i64)[..10];
    let report = keeper.run(&oversight, &["report", "oversight", "--from", today, "--to", today]).stdout;
    for line in [
        "domains blocked\t4",
        "blocked for provocation to or glorification of terrorism (C. pén. 421-2-5)\t2",
        "blocked for images of child sexual abuse (C. pén. 227-23)\t1",
        "blocked on another legal basis\t1",
        "blocked after a removal request left unmet for 24 hours\t1",
        "blocked as the publisher and host could not be reached\t2",
    ] {
        assert!(report.lines().any(|l| l == line), "{line:?} in:\n{report}");
    }
}
