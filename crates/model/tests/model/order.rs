//! Orders: what an authority may issue, refused field by field when wrong, and read back from
//! JSON only when every field holds.

use tocsin_model::{
    AnnexSections, AuthorityType, CanonicalUrl, LegalDetails, Order, OrderError, OrderFields, OrderKind, Reason, Target, Ulid,
};

fn order() -> OrderFields {
    OrderFields {
        id: Ulid::new(1_790_000_000_000, [1; 10]),
        kind: OrderKind::RemovalOrder,
        reference: "NL-TCO-2026-0042".to_owned(),
        issuing_authority: "police-nl".to_owned(),
        addressee: "videohost".to_owned(),
        issued_at: 1_790_000_000_000,
        targets: vec![
            Target { url: CanonicalUrl::parse("https://media.videohost.example/v/1.jpg").expect("url"), sha256: None, as_written: None },
            Target {
                url: CanonicalUrl::parse("https://videohost.example/watch?v=abc").expect("url"),
                sha256: Some("ab".repeat(32)),
                as_written: None,
            },
        ],
        reasons: vec![Reason::Incite, Reason::Threaten],
        statement: "Glorifies the attack of 3 March and calls for more.".to_owned(),
        location: String::new(),
        legal_basis: "Regulation (EU) 2021/784, Art. 3".to_owned(),
        provider_may_be_told: false,
        confidential_until: Some(1_795_000_000_000),
        redress: "Art. 9: an administrative appeal before the issuing authority's courts.".to_owned(),
        language: "en".to_owned(),
        emergency_justification: None,
        annex: AnnexSections::new(&authority(), &provider()),
    }
}

fn authority() -> LegalDetails {
    LegalDetails {
        member_state: Some("NL".to_owned()),
        authority_type: Some(AuthorityType::LawEnforcement),
        representative: Some("J. de Vries, head of the internet referral unit".to_owned()),
        email: Some("iru@police.example".to_owned()),
        contact_point: Some("+31 70 000 0000, 24/7".to_owned()),
        redress_body: Some("Rechtbank Den Haag".to_owned()),
        redress_deadline: Some("six weeks from notification".to_owned()),
        ..LegalDetails::default()
    }
}

fn provider() -> LegalDetails {
    LegalDetails {
        member_state: Some("IE".to_owned()),
        contact_point: Some("tco@videohost.example".to_owned()),
        legal_representative: Some("Videohost Ireland Ltd".to_owned()),
        state_authority: Some("Coimisiún na Meán, tco@cnam.example".to_owned()),
        ..LegalDetails::default()
    }
}

fn field(result: Result<Order, OrderError>) -> &'static str {
    match result {
        Err(OrderError::Field(name, _)) => name,
        Err(other) => panic!("not a field error: {other}"),
        Ok(_) => "accepted",
    }
}

#[test]
fn a_complete_order_is_made_and_survives_json_both_ways() {
    let made = Order::new(order()).expect("valid");
    let json = serde_json::to_string(&made).expect("serialises");
    assert!(json.contains(r#""kind":"removal_order""#) && json.contains(r#""reasons":["incite","threaten"]"#), "{json}");
    let back: Order = serde_json::from_str(&json).expect("reads back");
    assert_eq!(back, made);
}

/// A change that breaks one field.
type Breakage = Box<dyn Fn(&mut OrderFields)>;

#[test]
fn each_wrong_field_is_named() {
    let cases: Vec<(&str, Breakage)> = vec![
        ("reference", Box::new(|o| o.reference.clear())),
        ("reference", Box::new(|o| o.reference = "x".repeat(65))),
        ("issuing_authority", Box::new(|o| o.issuing_authority = "police\u{0}nl".to_owned())),
        // A right-to-left override would show the reference, or the reasons, otherwise than stored.
        ("reference", Box::new(|o| o.reference = "NL-2026-\u{202E}2400".to_owned())),
        ("statement", Box::new(|o| o.statement = "posted by \u{2067}group\u{2069} on 3 May".to_owned())),
        ("legal_basis", Box::new(|o| o.legal_basis = "Art. 3\u{200F}".to_owned())),
        ("targets", Box::new(|o| o.targets.clear())),
        ("targets", Box::new(|o| o.targets[1].url = o.targets[0].url.clone())),
        ("targets", Box::new(|o| o.targets[1].sha256 = Some("AB".repeat(32)))),
        ("reasons", Box::new(|o| o.reasons.clear())),
        ("reasons", Box::new(|o| o.reasons = vec![Reason::Incite, Reason::Incite])),
        ("legal_basis", Box::new(|o| o.legal_basis.clear())),
        ("language", Box::new(|o| o.language = "eng".to_owned())),
        ("redress", Box::new(|o| o.redress.clear())),
        ("confidential_until", Box::new(|o| o.provider_may_be_told = true)),
    ];
    for (want, change) in cases {
        let mut o = order();
        change(&mut o);
        assert_eq!(field(Order::new(o)), want);
    }
}

#[test]
fn a_referral_needs_no_reason_or_legal_basis() {
    let mut referral = order();
    referral.kind = OrderKind::Referral;
    referral.reasons.clear();
    referral.legal_basis.clear();
    assert!(Order::new(referral).is_ok());
}

#[test]
fn json_with_a_bad_field_an_unknown_field_or_a_bad_url_is_not_an_order() {
    let good = serde_json::to_value(order()).expect("json");
    for (key, value) in [
        ("language", serde_json::json!("EN")),
        ("extra", serde_json::json!(true)),
        ("targets", serde_json::json!([{"url": "ftp://files.example/x"}])),
        ("reasons", serde_json::json!(["dislike"])),
    ] {
        let mut bad = good.clone();
        bad[key] = value;
        assert!(serde_json::from_value::<Order>(bad).is_err(), "{key}");
    }
    let mut raw = good.clone();
    raw["targets"] = serde_json::json!([{"url": "HTTPS://VideoHost.example:443/a/../b#frag"}]);
    let read: Order = serde_json::from_value(raw).expect("reads");
    assert_eq!(read.targets[0].url.as_str(), "https://videohost.example/b", "targets are canonical once read");
}

#[test]
fn reasons_parse_from_their_names() {
    assert_eq!("solicit_participation".parse::<Reason>(), Ok(Reason::SolicitParticipation));
    assert!("glorify".parse::<Reason>().is_err());
}

#[test]
fn a_new_removal_order_needs_a_statement_of_reasons_but_an_older_one_without_is_still_read() {
    let mut bare = order();
    bare.statement.clear();
    let named: Vec<&str> = bare.issue_faults().iter().map(|f| f.clone().into_parts().0).collect();
    assert_eq!(named, ["statement"], "Art. 3(4)(b) for a new order");
    let json = serde_json::to_string(&bare).expect("serialises");
    assert!(serde_json::from_str::<Order>(&json).is_ok(), "an order an older node issued without one is still read");
    let mut referral = bare;
    referral.kind = OrderKind::Referral;
    assert!(referral.issue_faults().is_empty(), "a referral is not a TCO order: {:?}", referral.issue_faults());
}

#[test]
fn annex_i_sections_come_from_both_parties_particulars_and_a_new_order_needs_them() {
    let made = order();
    assert_eq!(made.annex.issuing_member_state.as_deref(), Some("NL"));
    assert_eq!(made.annex.provider.member_state.as_deref(), Some("IE"));
    assert!(made.annex.cross_border, "section D: NL to IE");
    assert!(made.issue_faults().is_empty(), "{:?}", made.issue_faults());

    let mut bare = order();
    bare.annex = AnnexSections::new(&LegalDetails::default(), &LegalDetails::default());
    let named: Vec<&str> = bare.issue_faults().iter().map(|f| f.clone().into_parts().0).collect();
    assert_eq!(
        named,
        ["issuing_member_state", "provider_member_state", "authority_type", "representative", "email", "redress_body", "redress_deadline"]
    );
    assert!(bare.faults().is_empty(), "an older order without them is still read");

    let mut domestic = order();
    domestic.annex = AnnexSections::new(&authority(), &LegalDetails { member_state: Some("NL".to_owned()), ..LegalDetails::default() });
    assert!(!domestic.annex.cross_border && domestic.issue_faults().is_empty(), "no copy to send within one State");
    let mut no_copy = order();
    no_copy.annex.provider.state_authority = None;
    assert_eq!(no_copy.issue_faults()[0].clone().into_parts().0, "state_authority", "a cross-border order names who gets the copy");

    let mut wrong = order();
    wrong.annex.provider.member_state = Some("UK".to_owned());
    wrong.annex.authority.email = Some("not an address".to_owned());
    let named: Vec<&str> = wrong.faults().iter().map(|f| f.clone().into_parts().0).collect();
    assert_eq!(named, ["email", "member_state"]);
}
