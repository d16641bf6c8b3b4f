//! What Tocsin reasons about, as types that make wrong states unrepresentable: URLs in Safe
//! Browsing canonical form (the one form in which orders, the gate and blocklists compare them),
//! ids (ULIDs), hash banks' signals, labels and verdicts, blocklist domains, removal orders and
//! referrals with the Annex I fields and the particulars that fill them, and an investigation's
//! data requests (e-Evidence Regulation) with their clocks, each checked once when it is made or
//! read, and the state machine each copy of an order follows. No I/O, no async.

mod bank;
mod blocklist;
pub mod calendar;
mod legal;
mod order;
mod request;
mod state;
mod text;
mod ulid;
mod url;
pub mod vpdq;

pub use bank::{
    BankAction, BankError, BankName, Behaviour, DEFAULT_PDQ_THRESHOLD, Labels, MAX_LABEL_CHARS, MAX_PDQ_THRESHOLD, MAX_TAGS, Signal,
    SignalState, SignalType, VPDQ_MIN_QUALITY, Verdict, VideoRule, VideoShare,
};
pub use blocklist::{BlockReason, BlocklistError, DomainName, EntryState, REVIEW_DAYS, RpzAction};
pub use legal::{AnnexSections, AuthorityType, LegalDetails, LegalDetailsError, MEMBER_STATES};
pub use order::{MAX_TARGETS, Order, OrderError, OrderFields, OrderKind, Reason, Target};
pub use request::{
    ANSWER_MS, DataCategory, DataRequest, EMERGENCY_ANSWER_MS, EMERGENCY_OBJECTION_MS, EXTENSION_MS, Identifier, IdentifierKind, LocalTime,
    MAX_IDENTIFIERS, OBJECTION_MS, PRESERVATION_MS, RequestError, RequestFields, RequestInability, RequestKind,
};
pub use state::{OrderEvent, OrderState, Outcome, Side, TransitionError};
pub use text::{is_bidi_control, is_hidden_control};
pub use ulid::{Ulid, UlidError};
pub use url::{CanonicalUrl, MAX_DIRECTORY_PREFIXES, MAX_URL_BYTES, UrlError};
pub use vpdq::{MAX_VPDQ_FRAMES, VpdqFeature, VpdqFeatures};

#[doc(hidden)]
/// RFC 3492 Punycode of one label, exposed for the RFC's test vectors.
pub fn punycode_label(label: &str) -> String {
    url::punycode(label)
}
