//! The life of an order on each node, as a state machine: which events may happen in which
//! state, and where each leads. The authority's copy and the platform's copy move separately
//! (each node knows only what it did and what it was told); the store applies a transition only
//! when this table allows it, so no code path can skip a step.

use serde::{Deserialize, Serialize};

use crate::OrderKind;

/// Which copy of an order: the one the authority issued, or the one the platform received.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// The authority's copy.
    Issued,
    /// The platform's copy.
    Received,
}

/// Where an order stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderState {
    /// Authority: issued, not yet acknowledged by the platform.
    Issued,
    /// Authority: the platform's signed receipt is in; waiting for its answer.
    Delivered,
    /// Platform: received; a removal order is executed at once unless held for review.
    Received,
    /// Platform: a reviewer accepted it; execution follows.
    Accepted,
    /// Every target removed (both sides).
    Executed,
    /// Some targets removed, the others answered as manifest errors (both sides).
    PartiallyExecuted,
    /// Not executed: an Annex III answer (both sides).
    Unable,
    /// A referral the platform found within its terms (both sides).
    Rejected,
    /// Withdrawn by the authority (both sides).
    Withdrawn,
}

/// What can happen to an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderEvent {
    /// Authority: the platform's receipt came back.
    Delivered,
    /// Platform: a reviewer accepted it.
    Accept,
    /// Platform: a reviewer rejected a referral.
    Reject,
    /// Platform: executed, with this outcome (`Executed`, `PartiallyExecuted` or `Unable`).
    Execute(Outcome),
    /// Platform: answered that it cannot execute (Annex III).
    Inability,
    /// Authority: the platform's feedback arrived with this outcome.
    Feedback(Outcome),
    /// Authority: sent a clarification; platform: received it (the hour runs again from then:
    /// TCO Art. 3(8)). Possible after an inability, and after a partial execution whose other
    /// targets were answered as manifest errors.
    Clarification,
    /// Platform: the force majeure or impossibility it answered has ceased; authority: was told
    /// so. The hour runs again from that moment and the order can be executed (TCO Art. 3(7)).
    GroundsCeased,
    /// Withdrawn (authority: by itself; platform: on the authority's message).
    Withdraw,
}

/// The outcome a platform reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Every target removed.
    Executed,
    /// Some.
    PartiallyExecuted,
    /// None (manifest errors, or an Annex III answer).
    Unable,
    /// A referral found within the platform's terms.
    Rejected,
}

impl From<Outcome> for OrderState {
    fn from(o: Outcome) -> Self {
        match o {
            Outcome::Executed => OrderState::Executed,
            Outcome::PartiallyExecuted => OrderState::PartiallyExecuted,
            Outcome::Unable => OrderState::Unable,
            Outcome::Rejected => OrderState::Rejected,
        }
    }
}

/// An event that may not happen in a state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{event:?} is not possible on the {side:?} copy of a {kind:?} in state {state:?}")]
pub struct TransitionError {
    /// Which copy.
    pub side: Side,
    /// Which kind of order.
    pub kind: OrderKind,
    /// Where it stood.
    pub state: OrderState,
    /// What was tried.
    pub event: OrderEvent,
}

impl OrderState {
    /// The state an order starts in on `side`.
    pub fn initial(side: Side) -> Self {
        match side {
            Side::Issued => OrderState::Issued,
            Side::Received => OrderState::Received,
        }
    }

    /// Whether the order has had its answer (no deadline runs).
    pub fn is_settled(self) -> bool {
        matches!(
            self,
            OrderState::Executed | OrderState::PartiallyExecuted | OrderState::Unable | OrderState::Rejected | OrderState::Withdrawn
        )
    }

    /// Where `event` leads from `self`, or why it cannot happen.
    pub fn next(self, side: Side, kind: OrderKind, event: OrderEvent) -> Result<OrderState, TransitionError> {
        use OrderEvent as E;
        use OrderState as S;
        let refused = || TransitionError { side, kind, state: self, event };
        let next = match (side, self, event) {
            // The authority's copy.
            (Side::Issued, S::Issued, E::Delivered) => S::Delivered,
            // Feedback can overtake the receipt on the way back.
            // Only a referral may come back rejected.
            (_, _, E::Feedback(Outcome::Rejected)) if kind != OrderKind::Referral => return Err(refused()),
            (Side::Issued, S::Issued | S::Delivered | S::PartiallyExecuted, E::Feedback(o)) => o.into(),
            (Side::Issued, S::Issued | S::Delivered | S::PartiallyExecuted, E::Inability) => S::Unable,
            (Side::Issued, S::Unable | S::PartiallyExecuted, E::Clarification) | (Side::Issued, S::Unable, E::GroundsCeased) => {
                S::Delivered
            }
            (Side::Issued, s, E::Withdraw) if s != S::Withdrawn => S::Withdrawn,
            // A feedback to a clarified order may also follow a receipt already counted.
            (Side::Issued, S::Unable, E::Feedback(o)) => o.into(),
            // The platform's copy.
            (Side::Received, S::Received, E::Accept) => S::Accepted,
            (Side::Received, S::Received, E::Reject) if kind == OrderKind::Referral => S::Rejected,
            (Side::Received, S::Received | S::Accepted, E::Execute(o)) if o != Outcome::Rejected => o.into(),
            (Side::Received, S::Received | S::Accepted | S::PartiallyExecuted, E::Inability) => S::Unable,
            (Side::Received, S::Unable | S::PartiallyExecuted, E::Clarification) | (Side::Received, S::Unable, E::GroundsCeased) => {
                S::Received
            }
            (Side::Received, s, E::Withdraw) if s != S::Withdrawn => S::Withdrawn,
            _ => return Err(refused()),
        };
        Ok(next)
    }

    /// Every state from which `event` may happen on `side` for `kind`, for a guarded update
    /// (`... WHERE state IN (...)`).
    pub fn sources(side: Side, kind: OrderKind, event: OrderEvent) -> Vec<OrderState> {
        Self::ALL.into_iter().filter(|s| s.next(side, kind, event).is_ok()).collect()
    }

    /// Every state.
    pub const ALL: [OrderState; 9] = [
        OrderState::Issued,
        OrderState::Delivered,
        OrderState::Received,
        OrderState::Accepted,
        OrderState::Executed,
        OrderState::PartiallyExecuted,
        OrderState::Unable,
        OrderState::Rejected,
        OrderState::Withdrawn,
    ];

    /// The name stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderState::Issued => "issued",
            OrderState::Delivered => "delivered",
            OrderState::Received => "received",
            OrderState::Accepted => "accepted",
            OrderState::Executed => "executed",
            OrderState::PartiallyExecuted => "partially_executed",
            OrderState::Unable => "unable",
            OrderState::Rejected => "rejected",
            OrderState::Withdrawn => "withdrawn",
        }
    }
}

impl std::str::FromStr for OrderState {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|state| state.as_str() == s).ok_or_else(|| format!("{s:?} is not an order state"))
    }
}
