//! TCO Art. 9, 4(4) and 11(2): the public notice of a removal order names the redress that applies to orders (courts, scrutiny, the reasons or a copy on request), not Art. 10.

use crate::orders::Pair;

#[test]
fn the_notice_of_a_removal_order_names_the_courts_scrutiny_and_a_copy_of_the_order() {
    let pair = Pair::start();
    let id = pair.issue("https://media.videohost.example/v/1.jpg");
    pair.wait_for(&id, "executed");
    let (status, _, page) = pair.gate("/v1/gate/notice?url=https%3A%2F%2Fmedia.videohost.example%2Fv%2F1.jpg");
    assert_eq!(status, 451);
    for needed in ["removal order", "police-nl", "all Member States", "Art. 9", "Art. 4(4)", "Art. 11(2)", "copy of the order"] {
        assert!(page.contains(needed), "{needed:?} missing: {page}");
    }
    assert!(!page.contains("Art. 10") && !page.contains("and 10"), "Art. 10 is about specific measures: {page}");
}
