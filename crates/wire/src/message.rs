//! Messages between nodes: a JSON envelope `{v, id, kind, from, to, sent_at, body}` (DESIGN.md,
//! "Nodes, identities, messages") signed as a compact JWS by the sender's node key. `from` and
//! `to` are key fingerprints (RFC 7638 thumbprints), so a message names exactly which key sent it
//! and which node it is for; `sent_at` is Unix milliseconds.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::body::Body;
use crate::jws::{JwsError, sign_compact, unverified_header, verify_compact};
use crate::{Jwk, Ulid};

/// The envelope version this build writes and reads.
pub const PROTOCOL_VERSION: u32 = 1;

/// What a message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// An authority's removal order (TCO Art. 3).
    RemovalOrder,
    /// An authority's referral: check this content against your terms.
    Referral,
    /// A receiver's signed acknowledgement of a message, with the time it arrived.
    Receipt,
    /// The platform's account of what it did (TCO Annex II).
    Feedback,
    /// The platform cannot execute an order (TCO Annex III).
    Inability,
    /// The authority's answer to an inability that asked for clarification.
    Clarification,
    /// The platform tells the authority that the force majeure or impossibility it answered
    /// has ceased: the hour runs again (TCO Art. 3(7)).
    GroundsCeased,
    /// An authority asks a platform to keep an order's removed content beyond six months for
    /// proceedings, or releases it (TCO Art. 6(2)).
    PreservationRequest,
    /// An authority tells the qualified person of a change to its blocklist (LCEN Art. 6-1,
    /// Décret 2015-125): its log entry and index.
    BlocklistNotice,
    /// A copy of a cross-border removal order, for the competent authority of the provider's
    /// Member State (TCO Art. 4(1), Annex I section D): the order as issued.
    OrderCopy,
    /// An authority tells the authority of the provider's Member State that a removal order
    /// became final (TCO Art. 3(9)).
    OrderFinal,
    /// An authority's information on its procedures and deadlines, sent to a platform at least
    /// twelve hours before its first removal order there (TCO Art. 3(2)).
    ProcedureInformation,
    /// The authority withdraws an order.
    Withdrawal,
    /// A platform's hashes of content it removed on an order, for the issuing authority's bank.
    RemovedContent,
    /// A subscriber reports a shared bank's signal as a false positive.
    Dispute,
    /// A publisher's batch of changes to a shared bank, in answer to a subscriber's pull.
    BankChanges,
    /// A subscriber's signed request for a batch of changes (sent as a header, not to the inbox).
    BankPull,
    /// An authority's data request of an investigation: produce or preserve data (e-Evidence
    /// Regulation (EU) 2023/1543, Art. 5 and 6).
    DataRequest,
    /// A platform's answer to a production request: the signed manifest of a package of files
    /// encrypted to the authority, which fetches them (`package_fetch`).
    DataAnswer,
    /// A platform cannot answer a data request (the Regulation's Annex III).
    DataRefusal,
    /// An authority extends a preservation request once by 30 days (Art. 11).
    RequestExtension,
    /// An authority's signed request for one file of an answer package (sent as a header, not
    /// to the inbox).
    PackageFetch,
    /// A platform tells the competent authority of terrorist content that involves an imminent
    /// threat to life (TCO Art. 14(5)).
    ThreatReport,
    /// The issuing authority notifies the enforcing State's authority of a data request for
    /// traffic or content data (e-Evidence Regulation Art. 8): the request as issued.
    RequestNotification,
    /// The enforcing authority tells the platform and the issuing authority that it raises no
    /// ground for refusal: the answer need not wait out the objection window (Art. 10(2)).
    NoGrounds,
}

impl Kind {
    /// Every kind, for what must cover them all (the protocol document, for one).
    pub const ALL: [Kind; 25] = [
        Kind::RemovalOrder,
        Kind::Referral,
        Kind::Receipt,
        Kind::Feedback,
        Kind::Inability,
        Kind::Clarification,
        Kind::GroundsCeased,
        Kind::PreservationRequest,
        Kind::BlocklistNotice,
        Kind::OrderCopy,
        Kind::OrderFinal,
        Kind::ProcedureInformation,
        Kind::Withdrawal,
        Kind::RemovedContent,
        Kind::Dispute,
        Kind::BankChanges,
        Kind::BankPull,
        Kind::DataRequest,
        Kind::DataAnswer,
        Kind::DataRefusal,
        Kind::RequestExtension,
        Kind::PackageFetch,
        Kind::ThreatReport,
        Kind::RequestNotification,
        Kind::NoGrounds,
    ];

    /// Its name on the wire.
    pub const fn name(self) -> &'static str {
        match self {
            Kind::RemovalOrder => "removal_order",
            Kind::Referral => "referral",
            Kind::Receipt => "receipt",
            Kind::Feedback => "feedback",
            Kind::Inability => "inability",
            Kind::Clarification => "clarification",
            Kind::GroundsCeased => "grounds_ceased",
            Kind::PreservationRequest => "preservation_request",
            Kind::BlocklistNotice => "blocklist_notice",
            Kind::OrderCopy => "order_copy",
            Kind::OrderFinal => "order_final",
            Kind::ProcedureInformation => "procedure_information",
            Kind::Withdrawal => "withdrawal",
            Kind::RemovedContent => "removed_content",
            Kind::Dispute => "dispute",
            Kind::BankChanges => "bank_changes",
            Kind::BankPull => "bank_pull",
            Kind::DataRequest => "data_request",
            Kind::DataAnswer => "data_answer",
            Kind::DataRefusal => "data_refusal",
            Kind::RequestExtension => "request_extension",
            Kind::PackageFetch => "package_fetch",
            Kind::ThreatReport => "threat_report",
            Kind::RequestNotification => "request_notification",
            Kind::NoGrounds => "no_grounds",
        }
    }
}

/// A message as signed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Envelope {
    /// [`PROTOCOL_VERSION`].
    pub v: u32,
    /// Unique per message; receivers keep the first and ignore repeats.
    pub id: Ulid,
    /// What it is.
    pub kind: Kind,
    /// The sender's key fingerprint.
    pub from: String,
    /// The receiver's key fingerprint.
    pub to: String,
    /// When the sender sent it, Unix milliseconds (by the sender's clock: receipts record the
    /// receiver's).
    pub sent_at: u64,
    /// The kind's content.
    pub body: Value,
}

/// Why a message is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MessageError {
    /// The JWS is malformed, uses another algorithm, or its signature fails.
    #[error(transparent)]
    Jws(#[from] JwsError),
    /// The header names no key.
    #[error("the message names no signing key (kid)")]
    NoKeyId,
    /// The signing key is not a confirmed peer's.
    #[error("the message is signed by {0}, which is not a confirmed peer's key")]
    UnknownSender(String),
    /// The payload is not an envelope.
    #[error("the payload is not a message envelope: {0}")]
    Envelope(String),
    /// An envelope version this build does not read.
    #[error("envelope version {0}; this node reads version {PROTOCOL_VERSION}")]
    Version(u32),
    /// Signed by one key but claiming to be from another.
    #[error("the envelope says it is from {claimed}, but {signer} signed it")]
    SenderMismatch {
        /// The envelope's `from`.
        claimed: String,
        /// The key that signed.
        signer: String,
    },
    /// Meant for another node (a message replayed to the wrong receiver).
    #[error("the message is for {0}, not this node")]
    Misaddressed(String),
    /// The body is not one its kind carries.
    #[error("{0}")]
    Body(String),
}

/// Signs `envelope` with the sender's key (`sign`), its `from` as the JWS `kid`.
pub fn seal(envelope: &Envelope, sign: impl FnOnce(&[u8]) -> [u8; 64]) -> String {
    let payload = serde_json::to_vec(envelope).unwrap_or_default();
    sign_compact(&envelope.from, &payload, sign)
}

/// A message whose body has been read for its kind.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// Unique per message.
    pub id: Ulid,
    /// The sender's key fingerprint.
    pub from: String,
    /// The receiver's key fingerprint.
    pub to: String,
    /// When the sender sent it, Unix milliseconds by the sender's clock.
    pub sent_at: u64,
    /// What it says.
    pub body: Body,
}

impl Message {
    /// Its kind.
    pub fn kind(&self) -> Kind {
        self.body.kind()
    }
}

impl Envelope {
    /// An envelope of version [`PROTOCOL_VERSION`] carrying `body`, its kind the body's.
    pub fn new(id: Ulid, from: String, to: String, sent_at: u64, body: &Body) -> Self {
        Self { v: PROTOCOL_VERSION, id, kind: body.kind(), from, to, sent_at, body: body.to_value() }
    }

    /// Reads the body for the envelope's kind ([`Body::read`]).
    pub fn read(self) -> Result<Message, MessageError> {
        let body = Body::read(self.kind, self.id, self.body).map_err(|e| MessageError::Body(e.to_string()))?;
        Ok(Message { id: self.id, from: self.from, to: self.to, sent_at: self.sent_at, body })
    }
}

/// Opens a message for the node whose fingerprint is `me` ([`verify`]) and reads its body for its
/// kind: what a node does with an answer it asked for (a receipt, a batch of bank changes).
pub fn open(jws: &str, me: &str, peer_key: impl FnOnce(&str) -> Option<Jwk>) -> Result<Message, MessageError> {
    verify(jws, me, peer_key)?.read()
}

/// Checks a message for the node whose fingerprint is `me` without reading its body: finds the
/// signer's key by the header's `kid` among confirmed peers (`peer_key`), checks the signature,
/// the envelope's shape and version, that it is from the key that signed it, and that it is for
/// `me`. The inbox verifies first, then answers repeats and checks the sender's role, and only
/// then reads the body ([`Envelope::read`]), so that a refusal names the first thing wrong.
pub fn verify(jws: &str, me: &str, peer_key: impl FnOnce(&str) -> Option<Jwk>) -> Result<Envelope, MessageError> {
    let header = unverified_header(jws)?;
    let kid = header.get("kid").and_then(Value::as_str).ok_or(MessageError::NoKeyId)?;
    let key = peer_key(kid).filter(|k| k.thumbprint() == kid).ok_or_else(|| MessageError::UnknownSender(kid.to_owned()))?;
    let verified = verify_compact(jws, &key)?;
    let envelope: Envelope = serde_json::from_slice(&verified.payload).map_err(|e| MessageError::Envelope(e.to_string()))?;
    if envelope.v != PROTOCOL_VERSION {
        return Err(MessageError::Version(envelope.v));
    }
    if envelope.from != kid {
        return Err(MessageError::SenderMismatch { claimed: envelope.from, signer: kid.to_owned() });
    }
    if envelope.to != me {
        return Err(MessageError::Misaddressed(envelope.to));
    }
    Ok(envelope)
}

/// The envelope of a message this node already holds: one it sealed, or one it verified with
/// [`open`] when it arrived. Read without checking the signature again, so never for a message
/// that has not been through `open` or `seal`.
pub fn stored(jws: &str) -> Option<Envelope> {
    let payload = crate::base64url_decode(jws.split('.').nth(1)?).ok()?;
    serde_json::from_slice(&payload).ok()
}

#[cfg(test)]
mod tests {
    /// A kind added to the enum and to `name` but not to `ALL` (or named twice) is caught here:
    /// the names of `ALL` are exactly the distinct names there are.
    #[test]
    fn a_stored_message_reads_back_as_sealed_and_garbage_reads_as_nothing() {
        let envelope = super::Envelope {
            v: super::PROTOCOL_VERSION,
            id: crate::Ulid::new(1_790_000_000_000, [3; 10]),
            kind: super::Kind::OrderFinal,
            from: "a".to_owned(),
            to: "b".to_owned(),
            sent_at: 1_790_000_000_000,
            body: serde_json::json!({ "order_id": "x" }),
        };
        let jws = super::seal(&envelope, |_| [0; 64]);
        assert_eq!(super::stored(&jws), Some(envelope));
        assert_eq!(super::stored("not.a.message"), None);
    }

    #[test]
    fn every_kind_is_in_all_once_and_named_as_serde_names_it() {
        let mut names: Vec<&str> = super::Kind::ALL.iter().map(|k| k.name()).collect();
        for kind in super::Kind::ALL {
            assert_eq!(serde_json::to_value(kind).expect("json"), kind.name());
        }
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), super::Kind::ALL.len(), "a kind is listed twice");
    }

    /// docs/protocol.md has a row for every kind: who sends it, its body, what the receiver does.
    #[test]
    fn the_protocol_document_has_a_row_for_every_kind() {
        let doc = include_str!("../../../docs/protocol.md");
        for kind in super::Kind::ALL {
            assert!(doc.contains(&format!("| `{}` |", kind.name())), "docs/protocol.md has no row for `{}`", kind.name());
        }
    }

    use ed25519_dalek::{Signer, SigningKey};

    use super::*;

    struct Node {
        key: SigningKey,
        jwk: Jwk,
    }

    fn node(seed: u8) -> Node {
        let key = SigningKey::from_bytes(&[seed; 32]);
        let jwk = Jwk::ed25519(&key.verifying_key().to_bytes());
        Node { key, jwk }
    }

    fn envelope(from: &Node, to: &Node) -> Envelope {
        Envelope {
            v: PROTOCOL_VERSION,
            id: Ulid::new(1_790_000_000_000, [3; 10]),
            kind: Kind::RemovalOrder,
            from: from.jwk.thumbprint(),
            to: to.jwk.thumbprint(),
            sent_at: 1_790_000_000_000,
            body: serde_json::json!({"reference": "TCO-2026-0042"}),
        }
    }

    #[test]
    fn a_sealed_message_opens_for_its_receiver_from_a_confirmed_peer() {
        let (authority, platform) = (node(1), node(2));
        let sent = envelope(&authority, &platform);
        let jws = seal(&sent, |m| authority.key.sign(m).to_bytes());
        let peers = |kid: &str| (kid == authority.jwk.thumbprint()).then(|| authority.jwk.clone());
        assert_eq!(verify(&jws, &platform.jwk.thumbprint(), peers), Ok(sent.clone()));
        let json = serde_json::to_value(&sent).expect("serialises");
        assert_eq!(json["kind"], "removal_order");
        assert_eq!(json["id"].as_str().map(str::len), Some(26));
    }

    #[test]
    fn strangers_impostors_wrong_receivers_and_other_versions_are_refused() {
        let (authority, platform, stranger) = (node(1), node(2), node(3));
        let me = platform.jwk.thumbprint();
        let peers = |kid: &str| (kid == authority.jwk.thumbprint()).then(|| authority.jwk.clone());

        let from_stranger = seal(&envelope(&stranger, &platform), |m| stranger.key.sign(m).to_bytes());
        assert_eq!(verify(&from_stranger, &me, peers), Err(MessageError::UnknownSender(stranger.jwk.thumbprint())));

        // A stranger's signature under the authority's kid: the signature check fails.
        let forged = sign_compact(&authority.jwk.thumbprint(), &serde_json::to_vec(&envelope(&authority, &platform)).expect("json"), |m| {
            stranger.key.sign(m).to_bytes()
        });
        assert_eq!(verify(&forged, &me, peers), Err(MessageError::Jws(JwsError::Signature)));

        // Signed by the authority but claiming another sender.
        let mut claims_other = envelope(&authority, &platform);
        claims_other.from = stranger.jwk.thumbprint();
        let jws = sign_compact(&authority.jwk.thumbprint(), &serde_json::to_vec(&claims_other).expect("json"), |m| {
            authority.key.sign(m).to_bytes()
        });
        assert!(matches!(verify(&jws, &me, peers), Err(MessageError::SenderMismatch { .. })));

        // Replayed to another node.
        let for_platform = seal(&envelope(&authority, &platform), |m| authority.key.sign(m).to_bytes());
        assert_eq!(verify(&for_platform, &stranger.jwk.thumbprint(), peers), Err(MessageError::Misaddressed(me.clone())));

        let mut future = envelope(&authority, &platform);
        future.v = 2;
        let jws = seal(&future, |m| authority.key.sign(m).to_bytes());
        assert_eq!(verify(&jws, &me, peers), Err(MessageError::Version(2)));

        // A peer lookup that answers with the wrong key is not trusted either.
        let confused = |_: &str| Some(stranger.jwk.clone());
        assert!(matches!(verify(&for_platform, &me, confused), Err(MessageError::UnknownSender(_))));
    }

    #[test]
    fn envelopes_with_unknown_fields_or_kinds_are_refused() {
        let (authority, platform) = (node(1), node(2));
        let peers = |kid: &str| (kid == authority.jwk.thumbprint()).then(|| authority.jwk.clone());
        let mut json = serde_json::to_value(envelope(&authority, &platform)).expect("json");
        json["extra"] = serde_json::json!(1);
        let extra = sign_compact(&authority.jwk.thumbprint(), json.to_string().as_bytes(), |m| authority.key.sign(m).to_bytes());
        assert!(matches!(verify(&extra, &platform.jwk.thumbprint(), peers), Err(MessageError::Envelope(_))));
        let mut json = serde_json::to_value(envelope(&authority, &platform)).expect("json");
        json["kind"] = serde_json::json!("bank_update_v9");
        let unknown = sign_compact(&authority.jwk.thumbprint(), json.to_string().as_bytes(), |m| authority.key.sign(m).to_bytes());
        assert!(matches!(verify(&unknown, &platform.jwk.thumbprint(), peers), Err(MessageError::Envelope(_))));
        assert!(matches!(verify("not a jws", &platform.jwk.thumbprint(), peers), Err(MessageError::Jws(JwsError::Malformed(_)))));
    }
}
