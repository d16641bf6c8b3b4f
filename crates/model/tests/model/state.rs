//! The order state machine: the paths the flows take are allowed, everything else is refused,
//! and no sequence of events breaks the rules (property test).

use proptest::prelude::*;
use tocsin_model::{OrderEvent as E, OrderKind, OrderState as S, Outcome, Side};

fn run(side: Side, kind: OrderKind, events: &[E]) -> Result<S, tocsin_model::TransitionError> {
    events.iter().try_fold(S::initial(side), |state, &event| state.next(side, kind, event))
}

#[test]
fn the_flows_paths_are_allowed() {
    use OrderKind::{Referral, RemovalOrder};
    let cases: &[(Side, OrderKind, &[E], S)] = &[
        (Side::Issued, RemovalOrder, &[E::Delivered, E::Feedback(Outcome::Executed)], S::Executed),
        (Side::Issued, RemovalOrder, &[E::Feedback(Outcome::Executed), E::Withdraw], S::Withdrawn),
        (
            Side::Issued,
            RemovalOrder,
            &[E::Delivered, E::Inability, E::Clarification, E::Feedback(Outcome::PartiallyExecuted)],
            S::PartiallyExecuted,
        ),
        (Side::Issued, Referral, &[E::Delivered, E::Feedback(Outcome::Rejected)], S::Rejected),
        (Side::Received, RemovalOrder, &[E::Execute(Outcome::Executed)], S::Executed),
        (Side::Received, RemovalOrder, &[E::Execute(Outcome::Unable), E::Clarification, E::Execute(Outcome::Executed)], S::Executed),
        (Side::Received, RemovalOrder, &[E::Accept, E::Execute(Outcome::Executed), E::Withdraw], S::Withdrawn),
        (Side::Received, Referral, &[E::Accept, E::Execute(Outcome::PartiallyExecuted), E::Inability], S::Unable),
        (Side::Received, Referral, &[E::Reject], S::Rejected),
        (Side::Received, Referral, &[E::Inability, E::Clarification, E::Accept], S::Accepted),
        // Art. 3(7): the grounds ceased, the hour runs again and the order is executed.
        (Side::Received, RemovalOrder, &[E::Inability, E::GroundsCeased, E::Execute(Outcome::Executed)], S::Executed),
        (Side::Issued, RemovalOrder, &[E::Delivered, E::Inability, E::GroundsCeased, E::Feedback(Outcome::Executed)], S::Executed),
        // Art. 3(8): a partially executed order's manifest errors are clarified.
        (Side::Received, RemovalOrder, &[E::Execute(Outcome::PartiallyExecuted), E::Clarification], S::Received),
        (Side::Issued, RemovalOrder, &[E::Delivered, E::Feedback(Outcome::PartiallyExecuted), E::Clarification], S::Delivered),
    ];
    for (side, kind, events, want) in cases {
        assert_eq!(run(*side, *kind, events), Ok(*want), "{side:?} {kind:?} {events:?}");
    }
}

#[test]
fn steps_out_of_order_are_refused() {
    use OrderKind::{Referral, RemovalOrder};
    let cases: &[(Side, OrderKind, &[E])] = &[
        (Side::Received, RemovalOrder, &[E::Reject]),
        (Side::Received, Referral, &[E::Reject, E::Accept]),
        (Side::Received, RemovalOrder, &[E::Clarification]),
        (Side::Received, RemovalOrder, &[E::Execute(Outcome::Executed), E::Execute(Outcome::Executed)]),
        (Side::Received, RemovalOrder, &[E::Withdraw, E::Withdraw]),
        (Side::Received, RemovalOrder, &[E::Delivered]),
        (Side::Issued, RemovalOrder, &[E::Accept]),
        (Side::Issued, RemovalOrder, &[E::Delivered, E::Delivered]),
        (Side::Issued, RemovalOrder, &[E::Feedback(Outcome::Executed), E::Clarification]),
        (Side::Issued, RemovalOrder, &[E::Withdraw, E::Feedback(Outcome::Executed)]),
        (Side::Issued, RemovalOrder, &[E::Delivered, E::Feedback(Outcome::Rejected)]),
        (Side::Received, RemovalOrder, &[E::GroundsCeased]),
        (Side::Received, RemovalOrder, &[E::Execute(Outcome::Executed), E::GroundsCeased]),
        (Side::Issued, RemovalOrder, &[E::Withdraw, E::GroundsCeased]),
    ];
    for (side, kind, events) in cases {
        assert!(run(*side, *kind, events).is_err(), "{side:?} {kind:?} {events:?}");
    }
}

#[test]
fn names_round_trip_and_sources_agree_with_next() {
    for state in S::ALL {
        assert_eq!(state.as_str().parse::<S>(), Ok(state));
        assert_eq!(serde_json::to_value(state).expect("json"), state.as_str());
    }
    assert!("lost".parse::<S>().is_err());
    let from = S::sources(Side::Received, OrderKind::RemovalOrder, E::Inability);
    assert_eq!(from, [S::Received, S::Accepted, S::PartiallyExecuted]);
    assert_eq!(S::sources(Side::Issued, OrderKind::RemovalOrder, E::Clarification), [S::PartiallyExecuted, S::Unable]);
}

fn event() -> impl Strategy<Value = E> {
    let outcome = prop_oneof![Just(Outcome::Executed), Just(Outcome::PartiallyExecuted), Just(Outcome::Unable), Just(Outcome::Rejected)];
    prop_oneof![
        Just(E::Delivered),
        Just(E::Accept),
        Just(E::Reject),
        outcome.clone().prop_map(E::Execute),
        Just(E::Inability),
        outcome.prop_map(E::Feedback),
        Just(E::Clarification),
        Just(E::GroundsCeased),
        Just(E::Withdraw),
    ]
}

proptest! {
    /// Whatever happens: a withdrawn order stays withdrawn, a rejected one only leaves by
    /// withdrawal, only referrals are rejected, and a settled order comes back to work only
    /// through a clarification or the end of the grounds of an inability or partial execution.
    #[test]
    fn no_sequence_of_events_breaks_the_rules(
        side in prop_oneof![Just(Side::Issued), Just(Side::Received)],
        kind in prop_oneof![Just(OrderKind::RemovalOrder), Just(OrderKind::Referral)],
        events in proptest::collection::vec(event(), 0..12),
    ) {
        let mut state = S::initial(side);
        for event in events {
            let Ok(next) = state.next(side, kind, event) else { continue };
            prop_assert!(state != S::Withdrawn, "left Withdrawn by {event:?}");
            if state == S::Rejected {
                prop_assert_eq!(next, S::Withdrawn);
            }
            if next == S::Rejected {
                prop_assert_eq!(kind, OrderKind::Referral);
            }
            if state.is_settled() && !next.is_settled() {
                prop_assert!(
                    matches!((state, event), (S::Unable | S::PartiallyExecuted, E::Clarification) | (S::Unable, E::GroundsCeased)),
                    "{state:?} reopened by {event:?}"
                );
            }
            state = next;
        }
    }
}
