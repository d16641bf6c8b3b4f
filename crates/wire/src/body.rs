//! What each kind of message carries: one type per kind's body, the rules a body must keep to be
//! read at all (those that need no node's state), and [`Body`], the enum over the kinds that a
//! receiver matches once. `docs/protocol.md` describes the same kinds for people.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tocsin_model::{DataRequest, Labels, Order, OrderKind, RequestInability, Signal, SignalState, Ulid};

use crate::{Kind, TreeHead};

/// Text that a node keeps: at most `max` characters, none of them hidden controls.
fn printable(text: &str, max: usize) -> bool {
    text.chars().count() <= max && !text.chars().any(tocsin_model::is_hidden_control)
}

/// Text that a node keeps and that says something: 1 to `max` characters, not only blanks.
fn said(text: &str, max: usize) -> bool {
    !text.trim().is_empty() && printable(text, max)
}

fn is_ulid(id: &str) -> bool {
    id.parse::<Ulid>().is_ok()
}

/// What a receipt says.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ReceiptBody {
    /// The message received.
    pub message_id: Ulid,
    /// When the receiver stored it, Unix milliseconds by its clock.
    pub received_at: u64,
    /// The log entry that records it.
    pub log_index: u64,
    /// The receiver's log right after that entry, signed.
    pub tree_head: TreeHead,
}

/// What was done about one target.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TargetOutcome {
    /// The canonical URL.
    pub url: String,
    /// `blocked`, or `manifest_error` when this platform does not serve the host.
    pub action: String,
    /// When, Unix milliseconds.
    pub at: u64,
    /// For a manifest error: what is wrong and what a clarification should say (Annex III
    /// section B(3)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The body of a feedback message (TCO Annex II: what was done, when, per target).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct FeedbackBody {
    /// The order.
    pub order_id: String,
    /// `executed`, `partially_executed` or `unable`.
    pub state: String,
    /// Per target.
    pub targets: Vec<TargetOutcome>,
    /// Why, when a referral was rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Annex II sections A and C: the references, the time of receipt and who answers; absent
    /// in older nodes' feedback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub particulars: Option<AnswerParticulars>,
}

/// The states a feedback may report.
pub const FEEDBACK_STATES: [&str; 4] = ["executed", "partially_executed", "unable", "rejected"];

/// What TCO Annex II (feedback) and Annex III (inability) ask besides the answer itself: the
/// authority's and the provider's file references, when the order was received, and the
/// provider's name, Member State, authorised person and contact point, with the measure taken
/// (Annex II section B: access disabled in all Member States, which is what the gate does).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AnswerParticulars {
    /// The issuing authority's file reference (the order's reference).
    pub authority_reference: String,
    /// The provider's own file reference: the index of the order's entry in its log.
    pub addressee_reference: String,
    /// When the order was received, by the provider's clock, Unix ms.
    pub received_at: i64,
    /// The provider (its node's name).
    pub provider: String,
    /// Its Member State of main establishment or legal representative.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member_state: Option<String>,
    /// The person authorised to answer for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorised_person: Option<String>,
    /// Its contact point's email.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_email: Option<String>,
    /// For feedback on removal: `access_disabled_in_all_member_states`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measure: Option<String>,
}

/// Why a platform cannot execute an order (TCO Annex III).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum InabilityGround {
    /// Force majeure (Art. 3(7)).
    ForceMajeure,
    /// De facto impossibility not attributable to the platform, including technical reasons (Art. 3(7)).
    TechnicalImpossibility,
    /// The order contains manifest errors (Art. 3(8)).
    ManifestError,
    /// The order lacks information needed to execute it (Art. 3(8)).
    InsufficientInformation,
}

impl InabilityGround {
    /// Whether the ground is one that ceases (Art. 3(7)), after which the hour runs again, rather
    /// than one a clarification answers (Art. 3(8)).
    pub fn ceases(self) -> bool {
        matches!(self, InabilityGround::ForceMajeure | InabilityGround::TechnicalImpossibility)
    }
}

/// An inability answer as sent between nodes (and as `POST /v1/orders/{id}/inability` takes it,
/// less the id).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct InabilityBody {
    /// The order.
    pub order_id: String,
    /// The Annex III ground.
    pub ground: InabilityGround,
    /// The platform's explanation.
    #[cfg_attr(feature = "openapi", schema(max_length = 2000))]
    pub explanation: String,
    /// Further grounds that also apply (Annex III section B(1): several may be ticked).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub also: Vec<InabilityGround>,
    /// For a manifest error or missing information: what must be clarified (section B(3)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_length = 2000))]
    pub clarification_needed: Option<String>,
    /// Annex III sections A and C: references, time of receipt, who answers; absent in older
    /// nodes' answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub particulars: Option<AnswerParticulars>,
}

/// A clarification as sent between nodes.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ClarificationBody {
    /// The order.
    pub order_id: String,
    /// The authority's clarification.
    #[cfg_attr(feature = "openapi", schema(max_length = 5000))]
    pub text: String,
}

/// The platform's word that the grounds of its inability have ceased, as sent between nodes;
/// the message's date is the moment the hour runs again from.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct GroundsCeasedBody {
    /// The order.
    pub order_id: String,
    /// What changed, for the authority.
    #[cfg_attr(feature = "openapi", schema(max_length = 2000))]
    pub explanation: String,
}

/// A request to keep an order's removed content for proceedings beyond six months, or its
/// release, as sent between nodes (TCO Art. 6(2)).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PreservationBody {
    /// The order.
    pub order_id: String,
    /// The proceedings that need the content (or, on release, why they no longer do).
    #[cfg_attr(feature = "openapi", schema(max_length = 2000))]
    pub reason: String,
    /// The proceedings no longer need it: the six months (if over) end now.
    #[serde(default)]
    pub release: bool,
}

impl PreservationBody {
    /// Whether the body is one a node acts on: an order id and a reason of 1 to 2,000
    /// characters without control characters.
    pub fn holds(&self) -> bool {
        is_ulid(&self.order_id) && said(&self.reason, 2000)
    }
}

/// The log entries the qualified person is told of.
pub const NOTIFIED: [&str; 4] = ["blocklist.added", "blocklist.lifted", "blocklist.expired", "blocklist.reviewed"];

/// A blocklist change as an authority tells its oversight peers: where it stands in the
/// authority's log, and the log entry itself (what, why, by whom, when).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct NoticeBody {
    /// The entry's index in the authority's log (checkable against its signed heads).
    pub log_index: i64,
    /// The log entry: `blocklist.added`, `.lifted`, `.expired` or `.reviewed`.
    pub entry: Value,
}

impl NoticeBody {
    /// Whether it is a notice a node keeps: a blocklist change, at a log index.
    pub fn holds(&self) -> bool {
        self.log_index >= 0 && self.entry["type"].as_str().is_some_and(|t| NOTIFIED.contains(&t))
    }
}

/// Why an order became final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum FinalBasis {
    /// The time to appeal passed and no appeal was lodged.
    Unappealed,
    /// An appeal confirmed it.
    ConfirmedOnAppeal,
}

/// What the other authority is told, as sent between nodes.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct FinalBody {
    /// The order.
    pub order_id: String,
    /// The issuing authority's reference.
    pub reference: String,
    /// The Member State of the issuing authority.
    pub issuing_member_state: Option<String>,
    /// The provider (the platform's name as the issuer knows it).
    pub provider: String,
    /// The provider's Member State.
    pub provider_member_state: Option<String>,
    /// Why it is final.
    pub basis: FinalBasis,
    /// The particulars.
    #[cfg_attr(feature = "openapi", schema(max_length = 2000))]
    pub note: String,
    /// When the issuer recorded it, Unix ms.
    pub final_at: i64,
}

impl FinalBody {
    /// Whether a node keeps it: an order id and bounded printable texts.
    pub fn holds(&self) -> bool {
        is_ulid(&self.order_id) && printable(&self.reference, 64) && printable(&self.provider, 64) && printable(&self.note, 2000)
    }
}

/// The longest procedure information, in characters.
pub const MAX_INFORMATION: usize = 10_000;

/// The information as sent between nodes.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ProcedureInformationBody {
    /// The authority's procedures and deadlines, in its words.
    #[cfg_attr(feature = "openapi", schema(max_length = 10000))]
    pub text: String,
}

impl ProcedureInformationBody {
    /// Whether the text is one a node keeps: 1 to 10,000 characters, no hidden control characters.
    pub fn holds(&self) -> bool {
        said(&self.text, MAX_INFORMATION)
    }
}

/// An authority withdraws an order it issued. Fields beyond these are ignored, as older nodes
/// read only the order's id.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct WithdrawalBody {
    /// The order.
    pub order_id: String,
    /// Why, for the platform.
    #[serde(default)]
    pub reason: String,
}

/// A platform's hashes of content it removed on an order, as signed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RemovedContentBody {
    /// The order.
    pub order_id: String,
    /// Where the content was.
    pub url: String,
    /// Its hashes.
    pub signals: Vec<Signal>,
}

/// A subscriber's dispute, as signed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct DisputeBody {
    /// The bank, as the publisher names it.
    pub bank: String,
    /// The signal's number at the publisher.
    pub num: i64,
    /// The signal itself, so the publisher can check the number names it.
    pub signal: Signal,
    /// Why it is a false positive.
    pub reason: String,
}

impl DisputeBody {
    /// Whether the publisher reads it: a reason of 1 to 1,000 characters.
    pub fn holds(&self) -> bool {
        !self.reason.trim().is_empty() && self.reason.chars().count() <= 1000
    }
}

/// What a subscriber asks for.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PullBody {
    /// The bank, as the publisher names it.
    pub bank: String,
    /// The last change number the subscriber holds.
    pub after: u64,
}

/// One signal as shared.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SharedSignal {
    /// Its number at the publisher.
    pub num: i64,
    /// Its type's name (`pdq`, `md5`, `sha256`, `url`).
    #[serde(rename = "type")]
    pub kind: String,
    /// Its value.
    pub value: String,
    /// The publisher's labels.
    #[serde(default)]
    pub labels: Labels,
    /// Active, disputed or retracted.
    pub state: SignalState,
}

/// A batch of changes, as the publisher signs it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ChangesBody {
    /// The bank, as the publisher names it.
    pub bank: String,
    /// The change number the batch starts after.
    pub after: u64,
    /// The change number the batch brings the subscriber to.
    pub through: u64,
    /// Whether more changes wait past `through`.
    pub more: bool,
    /// The signals changed, each as it now stands.
    pub signals: Vec<SharedSignal>,
}

/// A data request as an authority sends it: the request, and the recipient its answer's files
/// are encrypted to (the authority's package key), signed with it so that no one between the
/// nodes can swap in a key of their own.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct DataRequestBody {
    /// The request, every field checked ([`DataRequest`]); its id is the message's.
    pub request: DataRequest,
    /// The authority's package recipient (`age1...`).
    pub recipient: String,
}

/// A platform's answer to a production request: the package's manifest, signed by the
/// platform's node key; the files are fetched with `package_fetch`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct DataAnswerBody {
    /// The request answered.
    pub request_id: Ulid,
    /// The manifest as a compact JWS ([`crate::manifest::sign_manifest`]).
    pub manifest: String,
}

/// A platform cannot answer a data request, on an Annex III ground.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct DataRefusalBody {
    /// The request.
    pub request_id: Ulid,
    /// The ground.
    pub ground: RequestInability,
    /// The platform's explanation: what it could not find, or what must be clarified.
    pub explanation: String,
}

impl DataRefusalBody {
    /// Whether a node keeps it: an explanation of 1 to 2,000 characters.
    pub fn holds(&self) -> bool {
        said(&self.explanation, 2000)
    }
}

/// An authority extends a preservation request (once, by 30 days: Art. 11).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RequestExtensionBody {
    /// The preservation request.
    pub request_id: Ulid,
}

/// An authority asks for one file of an answer package.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PackageFetchBody {
    /// The request answered.
    pub request_id: Ulid,
    /// The file's name in the manifest.
    pub file: String,
}

/// The enforcing State's authority is notified of a data request (Art. 8): the request as issued.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RequestNotificationBody {
    /// The request, every field checked.
    pub request: DataRequest,
}

/// The enforcing authority raises no ground for refusal (Art. 10(2)).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct NoGroundsBody {
    /// The request.
    pub request_id: Ulid,
}

/// The most bytes of content a threat report carries inline.
pub const MAX_THREAT_FILE: usize = 32 * 1024;

/// Content attached to a threat report: small (a screenshot, the post's text), inline.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ThreatFile {
    /// Its name.
    pub name: String,
    /// Its SHA-256, lower-case hex.
    pub sha256: String,
    /// The content, base64url without padding (at most 32 KiB decoded).
    pub content: String,
}

/// A platform's report of terrorist content involving an imminent threat to life (TCO Art.
/// 14(5)): the content, when it was published (with its time zone), why it is a threat, and what
/// the platform knows to locate the person.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ThreatReportBody {
    /// Where the content is, canonical.
    pub url: String,
    /// When it was published: RFC 3339 with the offset of the time zone it was recorded in;
    /// absent when the platform does not know.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published_at: Option<String>,
    /// Why it involves an imminent threat to life.
    pub reason: String,
    /// What the platform knows that helps locate the person (account, IP address and time,
    /// declared place); may be empty.
    #[serde(default)]
    pub location: String,
    /// The content itself, when small enough to travel with the report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<ThreatFile>,
}

impl ThreatReportBody {
    /// What is wrong with it, if anything.
    pub fn fault(&self) -> Option<&'static str> {
        use sha2::Digest;
        if tocsin_model::CanonicalUrl::parse(&self.url).map_or(true, |u| u.as_str() != self.url) {
            return Some("url: a canonical URL");
        }
        if self.published_at.as_deref().is_some_and(|at| tocsin_model::LocalTime::parse(at).is_err()) {
            return Some("published_at: an RFC 3339 time with its offset");
        }
        if !said(&self.reason, 2000) {
            return Some("reason: 1 to 2,000 characters");
        }
        if !printable(&self.location, 2000) {
            return Some("location: at most 2,000 characters");
        }
        if let Some(file) = &self.file {
            let content = crate::base64url_decode(&file.content).ok();
            let digest = content.as_ref().map(|c| sha2::Sha256::digest(c).iter().map(|b| format!("{b:02x}")).collect::<String>());
            if !crate::manifest::is_safe_name(&file.name)
                || content.as_ref().is_none_or(|c| c.len() > MAX_THREAT_FILE)
                || digest.as_deref() != Some(file.sha256.as_str())
            {
                return Some("file: a plain name, at most 32 KiB of base64url content, and its SHA-256");
            }
        }
        None
    }
}

/// A message's body, read for its kind: what a receiver matches on, once.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    /// [`Kind::RemovalOrder`].
    RemovalOrder(Box<Order>),
    /// [`Kind::Referral`].
    Referral(Box<Order>),
    /// [`Kind::Receipt`].
    Receipt(ReceiptBody),
    /// [`Kind::Feedback`].
    Feedback(FeedbackBody),
    /// [`Kind::Inability`].
    Inability(InabilityBody),
    /// [`Kind::Clarification`].
    Clarification(ClarificationBody),
    /// [`Kind::GroundsCeased`].
    GroundsCeased(GroundsCeasedBody),
    /// [`Kind::PreservationRequest`].
    PreservationRequest(PreservationBody),
    /// [`Kind::BlocklistNotice`].
    BlocklistNotice(NoticeBody),
    /// [`Kind::OrderCopy`]: the order as issued.
    OrderCopy(Box<Order>),
    /// [`Kind::OrderFinal`].
    OrderFinal(FinalBody),
    /// [`Kind::ProcedureInformation`].
    ProcedureInformation(ProcedureInformationBody),
    /// [`Kind::Withdrawal`].
    Withdrawal(WithdrawalBody),
    /// [`Kind::RemovedContent`].
    RemovedContent(RemovedContentBody),
    /// [`Kind::Dispute`].
    Dispute(DisputeBody),
    /// [`Kind::BankChanges`].
    BankChanges(ChangesBody),
    /// [`Kind::BankPull`].
    BankPull(PullBody),
    /// [`Kind::DataRequest`].
    DataRequest(Box<DataRequestBody>),
    /// [`Kind::DataAnswer`].
    DataAnswer(DataAnswerBody),
    /// [`Kind::DataRefusal`].
    DataRefusal(DataRefusalBody),
    /// [`Kind::RequestExtension`].
    RequestExtension(RequestExtensionBody),
    /// [`Kind::PackageFetch`].
    PackageFetch(PackageFetchBody),
    /// [`Kind::ThreatReport`].
    ThreatReport(ThreatReportBody),
    /// [`Kind::RequestNotification`].
    RequestNotification(Box<RequestNotificationBody>),
    /// [`Kind::NoGrounds`].
    NoGrounds(NoGroundsBody),
}

/// Why a body is not one its kind carries.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BodyError(String);

impl Body {
    /// Its kind.
    pub fn kind(&self) -> Kind {
        match self {
            Body::RemovalOrder(_) => Kind::RemovalOrder,
            Body::Referral(_) => Kind::Referral,
            Body::Receipt(_) => Kind::Receipt,
            Body::Feedback(_) => Kind::Feedback,
            Body::Inability(_) => Kind::Inability,
            Body::Clarification(_) => Kind::Clarification,
            Body::GroundsCeased(_) => Kind::GroundsCeased,
            Body::PreservationRequest(_) => Kind::PreservationRequest,
            Body::BlocklistNotice(_) => Kind::BlocklistNotice,
            Body::OrderCopy(_) => Kind::OrderCopy,
            Body::OrderFinal(_) => Kind::OrderFinal,
            Body::ProcedureInformation(_) => Kind::ProcedureInformation,
            Body::Withdrawal(_) => Kind::Withdrawal,
            Body::RemovedContent(_) => Kind::RemovedContent,
            Body::Dispute(_) => Kind::Dispute,
            Body::BankChanges(_) => Kind::BankChanges,
            Body::BankPull(_) => Kind::BankPull,
            Body::DataRequest(_) => Kind::DataRequest,
            Body::DataAnswer(_) => Kind::DataAnswer,
            Body::DataRefusal(_) => Kind::DataRefusal,
            Body::RequestExtension(_) => Kind::RequestExtension,
            Body::PackageFetch(_) => Kind::PackageFetch,
            Body::ThreatReport(_) => Kind::ThreatReport,
            Body::RequestNotification(_) => Kind::RequestNotification,
            Body::NoGrounds(_) => Kind::NoGrounds,
        }
    }

    /// The JSON that goes into the envelope.
    pub fn to_value(&self) -> Value {
        let value = match self {
            Body::RemovalOrder(o) | Body::Referral(o) | Body::OrderCopy(o) => serde_json::to_value(&**o),
            Body::Receipt(b) => serde_json::to_value(b),
            Body::Feedback(b) => serde_json::to_value(b),
            Body::Inability(b) => serde_json::to_value(b),
            Body::Clarification(b) => serde_json::to_value(b),
            Body::GroundsCeased(b) => serde_json::to_value(b),
            Body::PreservationRequest(b) => serde_json::to_value(b),
            Body::BlocklistNotice(b) => serde_json::to_value(b),
            Body::OrderFinal(b) => serde_json::to_value(b),
            Body::ProcedureInformation(b) => serde_json::to_value(b),
            Body::Withdrawal(b) => serde_json::to_value(b),
            Body::RemovedContent(b) => serde_json::to_value(b),
            Body::Dispute(b) => serde_json::to_value(b),
            Body::BankChanges(b) => serde_json::to_value(b),
            Body::BankPull(b) => serde_json::to_value(b),
            Body::DataRequest(b) => serde_json::to_value(&**b),
            Body::DataAnswer(b) => serde_json::to_value(b),
            Body::DataRefusal(b) => serde_json::to_value(b),
            Body::RequestExtension(b) => serde_json::to_value(b),
            Body::PackageFetch(b) => serde_json::to_value(b),
            Body::ThreatReport(b) => serde_json::to_value(b),
            Body::RequestNotification(b) => serde_json::to_value(&**b),
            Body::NoGrounds(b) => serde_json::to_value(b),
        };
        // Every body is plain data with string keys: serialising it cannot fail.
        value.unwrap_or_default()
    }

    /// Reads the body of a message of `kind` named `id`, and checks what a body must hold
    /// whoever receives it (an order's kind and id are the message's; texts are bounded).
    pub fn read(kind: Kind, id: Ulid, body: Value) -> Result<Body, BodyError> {
        fn parse<T: serde::de::DeserializeOwned>(what: &str, body: Value) -> Result<T, BodyError> {
            serde_json::from_value(body).map_err(|e| BodyError(format!("{what}: {e}")))
        }
        fn keeps<T>(body: T, holds: impl FnOnce(&T) -> bool, what: &str) -> Result<T, BodyError> {
            if holds(&body) { Ok(body) } else { Err(BodyError(what.to_owned())) }
        }
        let order = |expected: OrderKind, body: Value| -> Result<Box<Order>, BodyError> {
            let order: Order = parse("the order", body)?;
            if order.kind != expected || order.id != id {
                return Err(BodyError("the order's kind and id must be the message's".to_owned()));
            }
            Ok(Box::new(order))
        };
        Ok(match kind {
            Kind::RemovalOrder => Body::RemovalOrder(order(OrderKind::RemovalOrder, body)?),
            Kind::Referral => Body::Referral(order(OrderKind::Referral, body)?),
            Kind::Receipt => Body::Receipt(parse("the receipt", body)?),
            Kind::Feedback => {
                let feedback: FeedbackBody = parse("the feedback", body)?;
                if !FEEDBACK_STATES.contains(&feedback.state.as_str()) {
                    return Err(BodyError(format!("the feedback: state {:?}", feedback.state)));
                }
                Body::Feedback(feedback)
            }
            Kind::Inability => Body::Inability(parse("the inability answer", body)?),
            Kind::Clarification => Body::Clarification(parse("the clarification", body)?),
            Kind::GroundsCeased => Body::GroundsCeased(parse("the end of the grounds", body)?),
            Kind::PreservationRequest => Body::PreservationRequest(keeps(
                parse("the preservation request", body)?,
                PreservationBody::holds,
                "the preservation request: an order_id and a reason of 1 to 2,000 characters",
            )?),
            Kind::BlocklistNotice => Body::BlocklistNotice(keeps(
                parse("the notice", body)?,
                NoticeBody::holds,
                "the notice: a log_index and a blocklist entry",
            )?),
            Kind::OrderCopy => {
                Body::OrderCopy(Box::new(serde_json::from_value(body).map_err(|_| BodyError("the copy: not an order".to_owned()))?))
            }
            Kind::OrderFinal => Body::OrderFinal(keeps(
                serde_json::from_value(body).map_err(|_| BodyError("the final order: its fields are missing or wrong".to_owned()))?,
                FinalBody::holds,
                "the final order: its fields are missing or wrong",
            )?),
            Kind::ProcedureInformation => Body::ProcedureInformation(keeps(
                parse("the information", body)?,
                ProcedureInformationBody::holds,
                "the information: a text of 1 to 10,000 characters",
            )?),
            Kind::Withdrawal => Body::Withdrawal(keeps(
                serde_json::from_value(body).map_err(|_| BodyError("the withdrawal names no order_id".to_owned()))?,
                |w: &WithdrawalBody| is_ulid(&w.order_id),
                "the withdrawal names no order_id",
            )?),
            Kind::RemovedContent => Body::RemovedContent(parse("the removed content", body)?),
            Kind::Dispute => {
                Body::Dispute(keeps(parse("the dispute", body)?, DisputeBody::holds, "the dispute: a reason of 1 to 1,000 characters")?)
            }
            Kind::BankChanges => Body::BankChanges(parse("the changes", body)?),
            Kind::BankPull => Body::BankPull(parse("the pull request", body)?),
            Kind::DataRequest => {
                let request: DataRequestBody = parse("the data request", body)?;
                if request.request.id != id {
                    return Err(BodyError("the data request's id must be the message's".to_owned()));
                }
                if crate::age::Recipient::parse(&request.recipient).is_err() {
                    return Err(BodyError("the data request: recipient is not an age X25519 recipient".to_owned()));
                }
                Body::DataRequest(Box::new(request))
            }
            Kind::DataAnswer => Body::DataAnswer(parse("the answer", body)?),
            Kind::DataRefusal => Body::DataRefusal(keeps(
                parse("the refusal", body)?,
                DataRefusalBody::holds,
                "the refusal: an explanation of 1 to 2,000 characters",
            )?),
            Kind::RequestExtension => Body::RequestExtension(parse("the extension", body)?),
            Kind::PackageFetch => Body::PackageFetch(parse("the fetch request", body)?),
            Kind::ThreatReport => {
                let report: ThreatReportBody = parse("the threat report", body)?;
                if let Some(fault) = report.fault() {
                    return Err(BodyError(format!("the threat report: {fault}")));
                }
                Body::ThreatReport(report)
            }
            Kind::RequestNotification => {
                let notification: RequestNotificationBody = parse("the notification", body)?;
                if notification.request.enforcing_authority.is_none() {
                    return Err(BodyError("the notification: the request names no enforcing authority".to_owned()));
                }
                Body::RequestNotification(Box::new(notification))
            }
            Kind::NoGrounds => Body::NoGrounds(parse("the answer", body)?),
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const ORDER_ID: &str = "01KBQ2ZJ4M0000000000000000";

    fn order(kind: &str) -> Box<Order> {
        let order = json!({
            "id": ORDER_ID, "kind": kind, "reference": "TCO-2026-0042", "issuing_authority": "police-nl",
            "addressee": "videohost", "issued_at": 1_796_601_600_000_u64,
            "targets": [{"url": "https://videohost.example/watch?v=abc"}], "reasons": ["incite"],
            "statement": "The video calls for attacks on named places.", "legal_basis": "Regulation (EU) 2021/784, Art. 3",
            "provider_may_be_told": true, "redress": "Art. 9: the Rotterdam District Court, within six weeks", "language": "en",
        });
        Box::new(serde_json::from_value(order).expect("an order"))
    }

    fn signal(kind: tocsin_model::SignalType, value: &str) -> Signal {
        Signal::new(kind, value).expect("a signal")
    }

    /// One example of each kind, in `Kind::ALL`'s order.
    fn examples() -> Vec<Body> {
        use tocsin_model::SignalType::{Md5, Pdq};
        let pdq = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";
        let particulars = AnswerParticulars {
            authority_reference: "TCO-2026-0042".to_owned(),
            addressee_reference: "videohost log entry 17".to_owned(),
            received_at: 1_796_601_600_400,
            provider: "videohost".to_owned(),
            member_state: Some("IE".to_owned()),
            authorised_person: Some("Aoife Byrne".to_owned()),
            contact_email: Some("tco@videohost.example".to_owned()),
            measure: Some("access_disabled_in_all_member_states".to_owned()),
        };
        vec![
            Body::RemovalOrder(order("removal_order")),
            Body::Referral(order("referral")),
            Body::Receipt(ReceiptBody {
                message_id: ORDER_ID.parse().expect("ulid"),
                received_at: 1_796_601_600_400,
                log_index: 17,
                tree_head: TreeHead::new(18, &[0x5a; 32], 1_796_601_600_401, &[7; 64]),
            }),
            Body::Feedback(FeedbackBody {
                order_id: ORDER_ID.to_owned(),
                state: "executed".to_owned(),
                targets: vec![TargetOutcome {
                    url: "https://videohost.example/watch?v=abc".to_owned(),
                    action: "blocked".to_owned(),
                    at: 1_796_601_600_450,
                    note: None,
                }],
                reason: None,
                particulars: Some(particulars.clone()),
            }),
            Body::Inability(InabilityBody {
                order_id: ORDER_ID.to_owned(),
                ground: InabilityGround::ManifestError,
                explanation: "The URL names no video on this service.".to_owned(),
                also: vec![InabilityGround::InsufficientInformation],
                clarification_needed: Some("Which video: its full address.".to_owned()),
                particulars: Some(AnswerParticulars { measure: None, ..particulars }),
            }),
            Body::Clarification(ClarificationBody {
                order_id: ORDER_ID.to_owned(),
                text: "The video is at https://videohost.example/watch?v=abd.".to_owned(),
            }),
            Body::GroundsCeased(GroundsCeasedBody {
                order_id: ORDER_ID.to_owned(),
                explanation: "The outage is over; the order is executed now.".to_owned(),
            }),
            Body::PreservationRequest(PreservationBody {
                order_id: ORDER_ID.to_owned(),
                reason: "Investigation 2026/1187 at the Rotterdam public prosecutor's office.".to_owned(),
                release: false,
            }),
            Body::BlocklistNotice(NoticeBody {
                log_index: 42,
                entry: json!({"type": "blocklist.added", "domain": "propaganda.example", "by": "analyst", "at": 1_796_601_600_000_u64}),
            }),
            Body::OrderCopy(order("removal_order")),
            Body::OrderFinal(FinalBody {
                order_id: ORDER_ID.to_owned(),
                reference: "TCO-2026-0042".to_owned(),
                issuing_member_state: Some("NL".to_owned()),
                provider: "videohost".to_owned(),
                provider_member_state: Some("IE".to_owned()),
                basis: FinalBasis::Unappealed,
                note: "The time to appeal ended on 2027-01-18.".to_owned(),
                final_at: 1_800_000_000_000,
            }),
            Body::ProcedureInformation(ProcedureInformationBody {
                text: "Removal orders come from police-nl's node; execute them within one hour (TCO Art. 3(3)).".to_owned(),
            }),
            Body::Withdrawal(WithdrawalBody { order_id: ORDER_ID.to_owned(), reason: "Issued in error.".to_owned() }),
            Body::RemovedContent(RemovedContentBody {
                order_id: ORDER_ID.to_owned(),
                url: "https://videohost.example/watch?v=abc".to_owned(),
                signals: vec![signal(Pdq, pdq), signal(Md5, "9e107d9d372bb6826bd81d3542a419d6")],
            }),
            Body::Dispute(DisputeBody {
                bank: "stay-down".to_owned(),
                num: 7,
                signal: signal(Pdq, pdq),
                reason: "A news report that shows the flag, not propaganda.".to_owned(),
            }),
            Body::BankChanges(ChangesBody {
                bank: "stay-down".to_owned(),
                after: 0,
                through: 7,
                more: false,
                signals: vec![SharedSignal {
                    num: 7,
                    kind: "pdq".to_owned(),
                    value: pdq.to_owned(),
                    labels: Labels::default(),
                    state: SignalState::Active,
                }],
            }),
            Body::BankPull(PullBody { bank: "stay-down".to_owned(), after: 0 }),
            Body::DataRequest(Box::new(data_request())),
            Body::DataAnswer(DataAnswerBody {
                request_id: ORDER_ID.parse().expect("ulid"),
                manifest: "eyJhbGciOiJFZERTQSIsImtpZCI6Ii4uLiJ9.eyJyZXF1ZXN0X2lkIjoiLi4uIn0.c2lnbmF0dXJl".to_owned(),
            }),
            Body::DataRefusal(DataRefusalBody {
                request_id: ORDER_ID.parse().expect("ulid"),
                ground: RequestInability::CannotIdentify,
                explanation: "No account is named user-4411 on this service.".to_owned(),
            }),
            Body::RequestExtension(RequestExtensionBody { request_id: ORDER_ID.parse().expect("ulid") }),
            Body::PackageFetch(PackageFetchBody { request_id: ORDER_ID.parse().expect("ulid"), file: "subscriber.csv".to_owned() }),
            Body::ThreatReport(ThreatReportBody {
                url: "https://videohost.example/watch?v=xyz".to_owned(),
                published_at: Some("2026-12-07T21:14:00+01:00".to_owned()),
                reason: "The uploader announces an attack on a named school tomorrow at 08:00.".to_owned(),
                location: "Account user-4411; uploaded from 203.0.113.7 at 2026-12-07T21:13:40+01:00; profile says Utrecht.".to_owned(),
                file: Some(ThreatFile {
                    name: "post.txt".to_owned(),
                    sha256: "382caab3a360999b169f566d07906f5bef1d6955920080260d941cf4cdf61e21".to_owned(),
                    content: "VG9tb3Jyb3cgYXQgODowMC4".to_owned(),
                }),
            }),
            Body::RequestNotification(Box::new(RequestNotificationBody {
                request: {
                    let mut request = serde_json::to_value(data_request().request).expect("json");
                    request["enforcing_authority"] = json!("parquet-be");
                    serde_json::from_value(request).expect("a request")
                },
            })),
            Body::NoGrounds(NoGroundsBody { request_id: ORDER_ID.parse().expect("ulid") }),
        ]
    }

    fn data_request() -> DataRequestBody {
        let request = json!({
            "id": ORDER_ID, "kind": "production", "reference": "EPOC-2026-0107", "issuing_authority": "police-nl",
            "addressee": "videohost", "issued_at": 1_796_601_600_000_u64, "categories": ["subscriber", "content"],
            "identifiers": [{"type": "account", "value": "user-4411"}, {"type": "ip", "value": "203.0.113.7", "at": "2026-12-01T08:00:00+01:00"}],
            "offence": "Public provocation to commit a terrorist offence (Directive (EU) 2017/541, Art. 5)",
            "legal_basis": "Regulation (EU) 2023/1543, Art. 5", "emergency": "A named school is threatened for tomorrow morning.",
            "validated_by": "Investigating judge M. Bakker", "confidential_until": 1_799_280_000_000_u64,
        });
        DataRequestBody {
            request: serde_json::from_value(request).expect("a data request"),
            recipient: "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p".to_owned(),
        }
    }

    /// How `docs/protocol.md` shows a kind's example.
    fn shown(body: &Body) -> String {
        let json = serde_json::to_string_pretty(&body.to_value()).expect("json");
        format!("#### `{}`\n\n```json\n{json}\n```\n", body.kind().name())
    }

    #[test]
    fn every_kind_has_an_example_that_reads_back_as_written() {
        let examples = examples();
        let kinds: Vec<Kind> = examples.iter().map(Body::kind).collect();
        assert_eq!(kinds, Kind::ALL, "one example per kind, in the order of Kind::ALL");
        for example in examples {
            let read = Body::read(example.kind(), ORDER_ID.parse().expect("ulid"), example.to_value());
            assert_eq!(read.as_ref(), Ok(&example), "{}", example.kind().name());
        }
    }

    /// docs/protocol.md shows each kind's example as the code writes it; when a kind or a field
    /// is added, the test prints the section to paste.
    #[test]
    fn the_protocol_document_shows_an_example_of_every_kind() {
        let doc = include_str!("../../../docs/protocol.md");
        let missing: Vec<String> = examples().iter().map(shown).filter(|block| !doc.contains(block.as_str())).collect();
        let all: String = examples().iter().map(shown).collect::<Vec<_>>().join("\n");
        assert!(missing.is_empty(), "docs/protocol.md lacks these examples:\n{}\nthe whole section:\n{all}", missing.join("\n"));
    }

    #[test]
    fn bodies_that_break_their_kinds_rules_are_not_read() {
        let id: Ulid = ORDER_ID.parse().expect("ulid");
        let other: Ulid = "01KBQ2ZJ4M0000000000000001".parse().expect("ulid");
        let refused = |kind: Kind, id: Ulid, body: Value| Body::read(kind, id, body).expect_err("refused").to_string();
        // An order whose kind or id is not the message's.
        assert!(refused(Kind::Referral, id, order("removal_order").as_ref().to_value()).contains("kind and id"));
        assert!(refused(Kind::RemovalOrder, other, order("removal_order").as_ref().to_value()).contains("kind and id"));
        assert!(refused(Kind::Feedback, id, json!({"order_id": ORDER_ID, "state": "done", "targets": []})).contains("state"));
        let long = "x".repeat(2001);
        assert!(refused(Kind::PreservationRequest, id, json!({"order_id": ORDER_ID, "reason": long})).contains("2,000"));
        assert!(refused(Kind::PreservationRequest, id, json!({"order_id": "x", "reason": "r"})).contains("order_id"));
        assert!(refused(Kind::BlocklistNotice, id, json!({"log_index": 1, "entry": {"type": "order.issued"}})).contains("notice"));
        assert!(refused(Kind::ProcedureInformation, id, json!({"text": " "})).contains("1 to 10,000"));
        assert!(refused(Kind::ProcedureInformation, id, json!({"text": "a\u{202e}b"})).contains("1 to 10,000"));
        assert!(refused(Kind::Withdrawal, id, json!({"reason": "no id"})).contains("order_id"));
        assert!(
            refused(
                Kind::Dispute,
                id,
                json!({"bank": "b", "num": 1, "signal": {"type": "md5", "value": "9e107d9d372bb6826bd81d3542a419d6"}, "reason": ""})
            )
            .contains("reason")
        );
        assert!(refused(Kind::OrderCopy, id, json!({"reference": "R"})).contains("not an order"));
        assert!(refused(Kind::OrderFinal, id, json!({"order_id": ORDER_ID})).contains("final order"));
        let mut request = data_request();
        assert!(refused(Kind::DataRequest, other, serde_json::to_value(&request).expect("json")).contains("the message's"));
        request.recipient = "age1nope".to_owned();
        assert!(refused(Kind::DataRequest, id, serde_json::to_value(&request).expect("json")).contains("recipient"));
        let mut unvalidated = serde_json::to_value(data_request()).expect("json");
        unvalidated["request"].as_object_mut().expect("object").remove("validated_by");
        assert!(refused(Kind::DataRequest, id, unvalidated).contains("validation"));
        assert!(
            refused(Kind::DataRefusal, id, json!({"request_id": ORDER_ID, "ground": "not_stored", "explanation": ""})).contains("refusal")
        );
        assert!(refused(Kind::DataRefusal, id, json!({"request_id": ORDER_ID, "ground": "tired", "explanation": "x"})).contains("refusal"));
        let threat = |url: &str, at: &str, reason: &str| json!({"url": url, "published_at": at, "reason": reason, "location": ""});
        assert!(refused(Kind::ThreatReport, id, threat("https://VideoHost.example/x", "2026-12-07T21:14:00+01:00", "r")).contains("url"));
        assert!(refused(Kind::ThreatReport, id, threat("https://videohost.example/x", "2026-12-07 21:14", "r")).contains("published_at"));
        assert!(refused(Kind::ThreatReport, id, threat("https://videohost.example/x", "2026-12-07T21:14:00Z", " ")).contains("reason"));
        let mut forged = threat("https://videohost.example/x", "2026-12-07T21:14:00Z", "r");
        forged["file"] = json!({"name": "post.txt", "sha256": "00", "content": "VG9tb3Jyb3cgYXQgODowMC4"});
        assert!(refused(Kind::ThreatReport, id, forged).contains("file"));
        // Unknown fields are refused where the kind says so.
        assert!(refused(Kind::Clarification, id, json!({"order_id": ORDER_ID, "text": "t", "extra": 1})).contains("unknown field"));
    }

    trait ToValue {
        fn to_value(&self) -> Value;
    }

    impl ToValue for Order {
        fn to_value(&self) -> Value {
            serde_json::to_value(self).expect("json")
        }
    }
}
