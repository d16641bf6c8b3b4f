//! Data requests (e-Evidence Regulation): what a request must hold, how identifiers are read,
//! and the clocks of Art. 10 and 11.

use serde_json::json;
use tocsin_model::{
    ANSWER_MS, DataCategory, DataRequest, EMERGENCY_ANSWER_MS, Identifier, IdentifierKind, LocalTime, RequestFields, RequestInability,
    RequestKind,
};

const ISSUED: u64 = 1_796_601_600_000;
const HOUR: u64 = 3_600_000;
const DAY: u64 = 24 * HOUR;

fn fields(kind: RequestKind, categories: &[DataCategory]) -> RequestFields {
    RequestFields {
        id: "01KBQ2ZJ4M0000000000000000".parse().expect("ulid"),
        kind,
        reference: "NL-EPOC-2026-0007".to_owned(),
        issuing_authority: "police-nl".to_owned(),
        addressee: "videohost".to_owned(),
        issued_at: ISSUED,
        categories: categories.to_vec(),
        identifiers: vec![Identifier::parse("account:blackflag_media").expect("account")],
        offence: "Participation in a terrorist group (Wetboek van Strafrecht, art. 140a)".to_owned(),
        legal_basis: "Regulation (EU) 2023/1543, Art. 5".to_owned(),
        emergency: None,
        validated_by: None,
        enforcing_authority: None,
        confidential_until: None,
    }
}

#[test]
fn an_emergency_is_answered_in_eight_hours_and_any_other_production_request_in_ten_days() {
    let received = ISSUED + 5_000;
    let ordinary = DataRequest::new(fields(RequestKind::Production, &[DataCategory::Subscriber])).expect("valid");
    assert_eq!(ordinary.answer_due(received), Some(received + 10 * DAY));
    assert_eq!(ANSWER_MS, 240 * HOUR);
    let urgent = DataRequest::new(RequestFields {
        emergency: Some("A named person is to be attacked tomorrow".to_owned()),
        ..fields(RequestKind::Production, &[DataCategory::Subscriber])
    })
    .expect("valid");
    assert_eq!(urgent.answer_due(received), Some(received + 8 * HOUR));
    assert_eq!(EMERGENCY_ANSWER_MS, 8 * HOUR);
    // A preservation request is not answered with data: it lapses.
    let keep = DataRequest::new(fields(RequestKind::Preservation, &[DataCategory::Traffic])).expect("valid");
    assert_eq!(keep.answer_due(received), None);
}

#[test]
fn a_preservation_request_lapses_after_sixty_days_or_ninety_once_extended() {
    let received = ISSUED + 5_000;
    let keep = DataRequest::new(fields(RequestKind::Preservation, &[DataCategory::Content])).expect("valid");
    assert_eq!(keep.lapses_at(received, false), Some(received + 60 * DAY));
    assert_eq!(keep.lapses_at(received, true), Some(received + 90 * DAY));
    let produce = DataRequest::new(fields(RequestKind::Production, &[DataCategory::Subscriber])).expect("valid");
    assert_eq!(produce.lapses_at(received, false), None, "a production request does not lapse");
}

#[test]
fn the_enforcing_authority_may_object_for_ten_days_or_ninety_six_hours_in_an_emergency() {
    let received = ISSUED + 5_000;
    let notified = RequestFields {
        enforcing_authority: Some("Openbaar Ministerie, IRC".to_owned()),
        validated_by: Some("Rechter-commissaris, Rechtbank Den Haag".to_owned()),
        ..fields(RequestKind::Production, &[DataCategory::Traffic])
    };
    let request = DataRequest::new(notified.clone()).expect("valid");
    assert_eq!(request.objection_until(received), Some(received + 10 * DAY));
    let urgent = DataRequest::new(RequestFields { emergency: Some("imminent threat to life".to_owned()), ..notified }).expect("valid");
    assert_eq!(urgent.objection_until(received), Some(received + 96 * HOUR));
    let none = DataRequest::new(fields(RequestKind::Production, &[DataCategory::Subscriber])).expect("valid");
    assert_eq!(none.objection_until(received), None, "nobody to object");
}

#[test]
fn traffic_or_content_production_needs_a_validation_and_the_rest_does_not() {
    for category in [DataCategory::Traffic, DataCategory::Content] {
        let unvalidated = fields(RequestKind::Production, &[DataCategory::Subscriber, category]);
        assert!(unvalidated.needs_validation());
        let refused = DataRequest::new(unvalidated.clone()).expect_err("needs a judge");
        assert!(refused.to_string().starts_with("validated_by:"), "{refused}");
        let validated = RequestFields { validated_by: Some("Rechter-commissaris".to_owned()), ..unvalidated };
        assert!(DataRequest::new(validated).is_ok());
        // Preserving such data needs no judge before it is asked for.
        assert!(DataRequest::new(fields(RequestKind::Preservation, &[category])).is_ok());
    }
    for category in [DataCategory::Subscriber, DataCategory::UserIdentification] {
        assert!(!fields(RequestKind::Production, &[category]).needs_validation());
    }
    // The wire cannot carry an unvalidated one either.
    let json = serde_json::to_value(fields(RequestKind::Production, &[DataCategory::Content])).expect("json");
    assert!(serde_json::from_value::<DataRequest>(json).is_err());
}

#[test]
fn every_field_at_fault_is_named_at_once() {
    let bad = RequestFields {
        reference: String::new(),
        categories: vec![DataCategory::Traffic, DataCategory::Traffic],
        identifiers: Vec::new(),
        offence: "x".repeat(2001),
        legal_basis: "   ".to_owned(),
        emergency: Some(String::new()),
        confidential_until: Some(ISSUED - 1),
        ..fields(RequestKind::Production, &[])
    };
    let named: Vec<String> = bad.faults().iter().map(ToString::to_string).collect();
    let fields: Vec<&str> = named.iter().map(|f| f.split(':').next().unwrap_or_default()).collect();
    assert_eq!(
        fields,
        ["reference", "categories", "identifiers", "offence", "legal_basis", "emergency", "confidential_until"],
        "{named:?}"
    );
    let none = RequestFields { categories: Vec::new(), ..self::fields(RequestKind::Preservation, &[]) };
    assert!(none.faults()[0].to_string().contains("at least one category"));
}

#[test]
fn identifiers_are_read_in_one_spelling_and_refused_when_they_name_nothing() {
    let read = |text: &str| Identifier::parse(text).map(|i| i.to_string());
    assert_eq!(read("url:HTTPS://VideoHost.example/watch?v=abc#t=3").as_deref(), Ok("url:https://videohost.example/watch?v=abc"));
    assert_eq!(read("email:Someone@Mail.EXAMPLE").as_deref(), Ok("email:Someone@mail.example"));
    assert_eq!(read("phone:+31 (0)70-123 4567").as_deref(), Ok("phone:+31701234567"), "the trunk prefix in brackets dropped");
    assert_eq!(read("phone:+31 70-123 4567").as_deref(), Ok("phone:+31701234567"));
    assert_eq!(read("ip:2001:DB8:0:0:0:0:0:1@2026-12-01T10:15:00+01:00").as_deref(), Ok("ip:2001:db8::1@2026-12-01T10:15:00+01:00"));
    assert_eq!(read(" account:blackflag_media ").as_deref(), Ok("account:blackflag_media"));
    for wrong in [
        "ip:203.0.113.7",                        // no time
        "ip:203.0.113.7@2026-12-01T10:15:00",    // no zone
        "ip:203.0.113.300@2026-12-01T10:15:00Z", // not an address
        "ip:203.0.113.7@2026-02-30T10:15:00Z",   // no such day
        "email:nobody",
        "phone:070 123 4567",
        "account:",
        "handle:someone",
        "someone",
    ] {
        assert!(Identifier::parse(wrong).is_err(), "{wrong} must be refused");
    }
    let ip = Identifier::parse("ip:203.0.113.7@2026-12-01T10:15:00.250-05:30").expect("ip");
    assert_eq!(ip.kind(), IdentifierKind::Ip);
    let at = ip.at().expect("a time");
    assert_eq!(at.offset_minutes(), -330);
    assert_eq!(at.unix_ms(), LocalTime::parse("2026-12-01T15:45:00.250Z").expect("utc").unix_ms(), "the same instant");
}

#[test]
fn identifiers_travel_as_type_value_and_time_and_are_checked_when_read() {
    let ip = Identifier::parse("ip:203.0.113.7@2026-12-01T10:15:00+01:00").expect("ip");
    let json = serde_json::to_value(&ip).expect("json");
    assert_eq!(json, json!({"type": "ip", "value": "203.0.113.7", "at": "2026-12-01T10:15:00+01:00"}));
    assert_eq!(serde_json::from_value::<Identifier>(json).expect("reads back"), ip);
    assert!(serde_json::from_value::<Identifier>(json!({"type": "ip", "value": "203.0.113.7"})).is_err(), "an IP needs its time");
    assert!(serde_json::from_value::<Identifier>(json!({"type": "email", "value": "a@b.example", "at": "2026-12-01T10:15:00Z"})).is_err());
    let url = serde_json::from_value::<Identifier>(json!({"type": "url", "value": "http://EXAMPLE.com/a/../b"})).expect("url");
    assert_eq!(url.value(), "http://example.com/b", "read in canonical form");
}

#[test]
fn a_request_reads_back_as_written_and_hides_the_user_until_its_confidentiality_date() {
    let until = ISSUED + 30 * DAY;
    let request = DataRequest::new(RequestFields {
        confidential_until: Some(until),
        ..fields(RequestKind::Production, &[DataCategory::Subscriber, DataCategory::UserIdentification])
    })
    .expect("valid");
    let json = serde_json::to_value(&request).expect("json");
    assert_eq!(json["categories"], json!(["subscriber", "user_identification"]));
    assert_eq!(serde_json::from_value::<DataRequest>(json).expect("reads back"), request);
    assert!(!request.may_tell_user(until - 1));
    assert!(request.may_tell_user(until));
    let open = DataRequest::new(fields(RequestKind::Production, &[DataCategory::Subscriber])).expect("valid");
    assert!(open.may_tell_user(ISSUED));
}

#[test]
fn names_are_read_as_people_type_them() {
    assert_eq!("user-identification".parse::<DataCategory>(), Ok(DataCategory::UserIdentification));
    assert_eq!("user_identification".parse::<DataCategory>(), Ok(DataCategory::UserIdentification));
    assert!("metadata".parse::<DataCategory>().is_err());
    assert_eq!("preservation".parse::<RequestKind>(), Ok(RequestKind::Preservation));
    for ground in RequestInability::ALL {
        assert_eq!(ground.name().parse::<RequestInability>(), Ok(ground));
        assert_eq!(serde_json::to_value(ground).expect("json"), ground.name());
    }
    assert_eq!("not-stored".parse::<RequestInability>(), Ok(RequestInability::NotStored));
}
