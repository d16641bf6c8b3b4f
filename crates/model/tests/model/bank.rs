//! Bank signals: one canonical spelling per signal, clear refusals, verdicts from actions.

use tocsin_model::{BankAction, BankError, BankName, Behaviour, Labels, Signal, SignalState, SignalType, Verdict};

#[test]
fn signals_are_kept_in_one_canonical_spelling() {
    let upper = Signal::new(SignalType::Pdq, &"AB".repeat(32)).expect("a PDQ hash");
    assert_eq!(upper.value(), "ab".repeat(32));
    assert_eq!(Signal::parse_line(&format!("  {}  ", "AB".repeat(32))).expect("bare hex is PDQ"), upper);
    assert_eq!(Signal::parse_line(&format!("pdq:{}", "ab".repeat(32))).expect("typed"), upper);
    let url = Signal::parse_line("url:HTTP://Example.COM/a/../b#frag").expect("a URL");
    assert_eq!((url.kind(), url.value()), (SignalType::Url, "http://example.com/b"));
    assert_eq!(url.to_string(), "url:http://example.com/b");
    let md5 = Signal::parse_line("MD5:D41D8CD98F00B204E9800998ECF8427E").expect("tool spellings of type names are read");
    assert_eq!(md5.to_string(), "md5:d41d8cd98f00b204e9800998ecf8427e");
}

#[test]
fn malformed_signals_are_refused_with_what_was_expected() {
    let short = Signal::new(SignalType::Sha256, "abc").expect_err("too short");
    assert_eq!(short.to_string(), "sha256 value \"abc\": 64 hex digits");
    assert!(Signal::new(SignalType::Md5, &"g".repeat(32)).is_err(), "not hex");
    assert!(Signal::new(SignalType::Pdq, &"a".repeat(63)).is_err());
    assert!(matches!(Signal::parse_line("tmk:abc"), Err(BankError::NotASignal)), "unknown types are not read as PDQ");
    assert!(matches!(Signal::parse_line("vpdq:abc"), Err(BankError::Value { kind: SignalType::Vpdq, .. })), "vPDQ values are checked");
    assert!(matches!("text".parse::<SignalType>(), Err(BankError::SignalType(_))));
    assert!(Signal::parse_line("url:http://").is_err(), "a URL without a host");
    assert!(Signal::parse_line("").is_err());
}

#[test]
fn signals_read_from_json_are_checked_like_any_other() {
    let s: Signal = serde_json::from_str(r#"{"type": "pdq", "value": "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"}"#)
        .expect("valid");
    assert_eq!(serde_json::to_value(&s).expect("serialises"), serde_json::json!({"type": "pdq", "value": "f".repeat(64)}));
    for bad in [r#"{"type": "pdq", "value": "ff"}"#, r#"{"type": "colour", "value": "ff"}"#, r#"{"type": "md5", "value": "x", "extra": 1}"#]
    {
        assert!(serde_json::from_str::<Signal>(bad).is_err(), "{bad}");
    }
}

#[test]
fn a_match_calls_for_its_banks_action_unless_the_signal_is_disputed_or_withdrawn() {
    use SignalState::{Active, Disputed, Withdrawn};
    assert_eq!(BankAction::Block.verdict(Active), Verdict::Block);
    assert_eq!(BankAction::Block.verdict(Disputed), Verdict::Review, "a disputed signal holds content for a person");
    assert_eq!(BankAction::Review.verdict(Active), Verdict::Review);
    assert_eq!(BankAction::Report.verdict(Active), Verdict::None);
    assert_eq!(BankAction::Block.verdict(Withdrawn), Verdict::None);
    assert!(Verdict::Block > Verdict::Review && Verdict::Review > Verdict::None, "the strongest verdict wins");
}

#[test]
fn labels_are_bounded_and_kept_as_sorted_sets() {
    let labels = Labels {
        content_type: Some("image".into()),
        entity: None,
        behaviours: vec![Behaviour::Threat, Behaviour::Glorification, Behaviour::Threat],
        tags: vec!["b".into(), "a".into(), "b".into()],
    }
    .checked()
    .expect("within bounds");
    assert_eq!(labels.behaviours, [Behaviour::Glorification, Behaviour::Threat]);
    assert_eq!(labels.tags, ["a", "b"]);
    let too_many = Labels { tags: (0..40).map(|i| i.to_string()).collect(), ..Labels::default() };
    assert!(too_many.checked().is_err());
    let blank = Labels { entity: Some("  ".into()), ..Labels::default() };
    assert!(blank.checked().is_err());
    assert!(serde_json::from_str::<Labels>(r#"{"behaviours": ["dancing"]}"#).is_err());
}

#[test]
fn bank_names_are_safe_in_urls() {
    assert_eq!("stay-down".parse::<BankName>().expect("valid").as_str(), BankName::STAY_DOWN);
    for bad in ["", "Upper", "a/b", "a b", &"x".repeat(65), "é"] {
        assert!(bad.parse::<BankName>().is_err(), "{bad:?}");
    }
}
