//! TCO Art. 3(4)(b) and (d): a removal order gives a statement of reasons, and its legal basis is the Regulation unless the issuer names another.

use crate::orders::Pair;

#[test]
fn a_removal_order_without_a_statement_of_reasons_is_refused_and_its_legal_basis_defaults_to_the_regulation() {
    let pair = Pair::start();
    let bare = pair.cli_on_authority(
        &pair.issuer,
        &["order", "issue", "--to", "videohost", "--url", "https://videohost.example/page", "--reason", "incite"],
    );
    assert_ne!(bare.code, 0);
    assert!(bare.stderr.contains("statement") && bare.stderr.contains("statement of reasons"), "{}", bare.stderr);
    assert!(!bare.stderr.contains("legal_basis"), "the legal basis is not asked for: {}", bare.stderr);

    let given = pair.cli_on_authority(
        &pair.issuer,
        &[
            "order",
            "issue",
            "--to",
            "videohost",
            "--url",
            "https://videohost.example/page",
            "--reason",
            "incite",
            "--statement",
            "The page glorifies the attack of 3 March and calls for more.",
        ],
    );
    assert_eq!(given.code, 0, "{}", given.stderr);
    let id = given.stdout.lines().last().expect("the id");
    let order = pair.order_on_authority(id);
    assert_eq!(order["order"]["legal_basis"], "Regulation (EU) 2021/784, Art. 3");
    let redress = order["order"]["redress"].as_str().expect("redress");
    assert!(redress.contains("Art. 9") && redress.contains("Art. 4(3) and (4)"), "{redress}");
}
