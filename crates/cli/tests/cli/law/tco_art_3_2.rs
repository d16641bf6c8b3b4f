//! TCO Art. 3(2): a first removal order to a platform follows the information on procedures and deadlines by twelve hours, or gives an emergency justification.

use std::time::{Duration, Instant};

use crate::orders::{LIBFAKETIME, Pair};

const IMAGE: &str = "https://media.videohost.example/v/1.jpg";

fn issue(pair: &Pair, extra: &[&str]) -> crate::helpers::Run {
    let mut args =
        vec!["order", "issue", "--to", "videohost", "--url", IMAGE, "--reason", "threaten", "--statement", "Threatens an attack."];
    args.extend_from_slice(extra);
    pair.cli_on_authority(&pair.issuer, &args)
}

fn order_count(pair: &Pair) -> usize {
    pair.cli_on_authority(&pair.issuer, &["order", "list"]).stdout.lines().count()
}

#[test]
fn a_first_order_without_the_information_is_refused_unless_an_emergency_is_justified() {
    let pair = Pair::start_uninformed();
    let refused = issue(&pair, &[]);
    assert_ne!(refused.code, 0, "no information, no emergency");
    assert!(refused.stderr.contains("Art. 3(2)") && refused.stderr.contains("tocsin peer inform videohost"), "{}", refused.stderr);
    assert_eq!(order_count(&pair), 0, "a refused order is not recorded");

    // A referral is not a removal order: nothing to wait for.
    let referral = pair.cli_on_authority(&pair.issuer, &["order", "issue", "--to", "videohost", "--url", IMAGE, "--referral"]);
    assert_eq!(referral.code, 0, "{}", referral.stderr);

    let why = "A video announces an attack for tonight and names the place.";
    let id = pair.issue_with(&[IMAGE], &["--emergency", why]);
    let order = pair.wait_for(&id, "executed");
    assert_eq!(order["order"]["emergency_justification"], why, "the justification travels with the order");
    assert_eq!(pair.order_on_platform(&id)["order"]["emergency_justification"], why);

    // After a first order there is nothing to justify, and a needless emergency is refused.
    let needless = issue(&pair, &["--emergency", why]);
    assert!(needless.stderr.contains("no emergency to justify"), "{}", needless.stderr);
    assert_eq!(issue(&pair, &[]).code, 0, "a second order needs no information");
}

#[test]
fn information_sent_through_tocsin_counts_from_the_platforms_receipt_and_twelve_hours_later_the_order_goes() {
    let mut pair = Pair::start_uninformed();
    let sent = pair.cli_on_authority(&pair.issuer, &["peer", "inform", "videohost"]);
    assert_eq!(sent.code, 0, "{}", sent.stderr);
    let deadline = Instant::now() + Duration::from_secs(30);
    let records = loop {
        let list = pair.cli_on_authority(&pair.issuer, &["peer", "inform", "videohost", "--list"]).stdout;
        if list.contains("given 20") {
            break list;
        }
        assert!(Instant::now() < deadline, "not dated by a receipt within 30 s: {list}");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(records.contains("\tsent\t") && records.contains("\ttocsin\t") && records.contains("by desk-1"), "{records}");
    let received = pair.cli_on_platform(&["peer", "inform", "police-nl", "--list"]);
    assert!(received.stdout.contains("\treceived\t"), "the platform keeps what it received: {}{}", received.stdout, received.stderr);
    let log = crate::orders::log_types(&pair.authority, &pair.admin);
    assert!(log.contains(&"procedures.informed".to_owned()), "{log:?}");

    let early = issue(&pair, &[]);
    assert!(early.stderr.contains("may follow") && early.stderr.contains("from 20"), "refused with the time it may go: {}", early.stderr);
    assert_eq!(order_count(&pair), 0);

    // Thirteen hours on, by the authority's clock (libfaketime).
    assert!(std::path::Path::new(LIBFAKETIME).exists(), "scripts/test installs faketime");
    pair.restart_authority(&[("LD_PRELOAD", LIBFAKETIME), ("FAKETIME", "+13h"), ("FAKETIME_DONT_FAKE_MONOTONIC", "1")]);
    let id = pair.issue(IMAGE);
    pair.wait_for(&id, "executed");
}

#[test]
fn information_given_by_letter_is_recorded_with_its_day_and_never_a_day_to_come() {
    let pair = Pair::start_uninformed();
    let tomorrow = tocsin_server::node::time::rfc3339_ms(crate::orders::now_ms() as i64 + 86_400_000);
    let future = pair.cli_on_authority(&pair.issuer, &["peer", "inform", "videohost", "--given-on", &tomorrow[..10], "--means", "letter"]);
    assert_ne!(future.code, 0, "a day to come");
    let no_means = pair.cli_on_authority(&pair.issuer, &["peer", "inform", "videohost", "--given-on", "2026-01-01"]);
    assert_ne!(no_means.code, 0, "how it was given is required");
    let stranger = pair.cli_on_authority(&pair.issuer, &["peer", "inform", "nobody", "--given-on", "2026-01-01", "--means", "letter"]);
    assert!(stranger.stderr.contains("no peer"), "{}", stranger.stderr);
    let admin = pair.cli_on_authority(&pair.admin, &["peer", "inform", "videohost"]);
    assert!(admin.stderr.contains("403"), "an issuer's act: {}", admin.stderr);
    // A letter of today counts from now at the earliest: not twelve hours yet.
    let today = tocsin_server::node::time::rfc3339_ms(crate::orders::now_ms() as i64);
    let letter = pair.cli_on_authority(&pair.issuer, &["peer", "inform", "videohost", "--given-on", &today[..10], "--means", "letter 7"]);
    assert_eq!(letter.code, 0, "{}", letter.stderr);
    assert_ne!(issue(&pair, &[]).code, 0, "less than twelve hours ago");
    assert_eq!(order_count(&pair), 0);
}
