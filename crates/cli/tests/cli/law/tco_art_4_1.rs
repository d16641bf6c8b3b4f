//! TCO Art. 4(1) and Annex I section D: a cross-border removal order goes, at the same time, as a copy to the competent authority of the provider's Member State when that authority is a node; an order within one State does not.

use crate::law::StateAuthority;
use crate::orders::{PLATFORM_PARTICULARS, Pair};

#[test]
fn a_cross_border_order_is_copied_to_the_authority_of_the_platforms_member_state() {
    let pair = Pair::start();
    let ireland = StateAuthority::start(&pair);
    let id = pair.issue("https://media.videohost.example/v/1.jpg");
    pair.wait_for(&id, "executed");
    let issued = pair.order_on_authority(&id)["timeline"][0].clone();
    assert_eq!(issued["event"], "issued");
    assert!(issued["detail"]["copy_to"].is_string(), "the copy is part of issuing: {issued}");
    let copies = ireland.wait_for_lines(&["order", "copies"]);
    let line = copies.lines().next().expect("one copy");
    for field in ["police-nl", "NL-2026-0042", "videohost", "IE", "https://media.videohost.example/v/1.jpg"] {
        assert!(line.contains(field), "{field:?} in {line}");
    }

    // The platform moves to the Netherlands: no copy for a domestic order.
    assert_eq!(PLATFORM_PARTICULARS[2], "--member-state");
    assert_eq!(pair.cli_on_authority(&pair.admin, &["legal", "set", "--peer", "videohost", "--member-state", "NL"]).code, 0);
    let domestic = pair.issue("https://videohost.example/page");
    pair.wait_for(&domestic, "executed");
    assert!(pair.order_on_authority(&domestic)["timeline"][0]["detail"]["copy_to"].is_null());
    std::thread::sleep(std::time::Duration::from_millis(1000));
    assert_eq!(ireland.wait_for_lines(&["order", "copies"]).lines().count(), 1, "still one copy");
}
