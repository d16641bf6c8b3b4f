//! Removal orders (TCO Art. 3, Annex I) and referrals: what an authority sends a platform. An
//! [`Order`] is only made by [`Order::new`] or read by deserialising, and both check every field,
//! so an order that exists is one a platform can act on.

use serde::{Deserialize, Serialize};

use crate::{CanonicalUrl, Ulid};

/// Removal order or referral.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderKind {
    /// TCO Art. 3: remove or disable within one hour of receipt.
    RemovalOrder,
    /// A referral: the platform checks the content against its own terms of service. Not a
    /// procedure of the TCO Regulation (its Art. 5 is about specific measures): content removed
    /// on a referral is removed under the platform's terms, not by order.
    Referral,
}

/// Why the content is terrorist content: the Art. 2(7) tick-boxes of Annex I section B.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// (a) incites terrorist offences, including by glorifying or advocating them.
    Incite,
    /// (b) solicits a person or group to commit or contribute to terrorist offences.
    Solicit,
    /// (c) solicits participation in the activities of a terrorist group.
    SolicitParticipation,
    /// (d) instructs on making or using explosives, firearms or other weapons, noxious or hazardous
    /// substances, or other specific methods or techniques, for terrorist offences.
    Instruct,
    /// (e) threatens to commit a terrorist offence.
    Threaten,
}

impl std::str::FromStr for Reason {
    type Err = OrderError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "incite" => Self::Incite,
            "solicit" => Self::Solicit,
            "solicit_participation" => Self::SolicitParticipation,
            "instruct" => Self::Instruct,
            "threaten" => Self::Threaten,
            _ => {
                return Err(OrderError::Field(
                    "reasons",
                    format!("{s:?}: one of incite, solicit, solicit_participation, instruct, threaten"),
                ));
            }
        })
    }
}

/// One piece of content the order names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// Where it is, canonical.
    #[serde(with = "canonical")]
    pub url: CanonicalUrl,
    /// Its SHA-256, lowercase hex, when the authority has a copy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// The URL as the authority wrote it, when canonicalising changed it (Annex I section B: the
    /// platform sees what was ordered, not only the form Tocsin compares).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub as_written: Option<String>,
}

mod canonical {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::CanonicalUrl;

    pub fn serialize<S: Serializer>(url: &CanonicalUrl, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(url.as_str())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<CanonicalUrl, D::Error> {
        let text = String::deserialize(d)?;
        CanonicalUrl::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// Why an order is refused, naming the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OrderError {
    /// A field is missing, empty, too long or ill-formed.
    #[error("{0}: {1}")]
    Field(&'static str, String),
}

impl OrderError {
    /// The field at fault and what is wrong with it.
    pub fn into_parts(self) -> (&'static str, String) {
        match self {
            OrderError::Field(field, detail) => (field, detail),
        }
    }
}

/// The most targets one order may name.
pub const MAX_TARGETS: usize = 100;

/// The fields of a removal order or referral, as written (and as read from the wire) before
/// they are checked. Only an [`Order`] is acted on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderFields {
    /// Unique; also the id of the message that carries it.
    pub id: Ulid,
    /// Removal order or referral.
    pub kind: OrderKind,
    /// The authority's reference number (Annex I section A).
    pub reference: String,
    /// The issuing authority's name (section A, E).
    pub issuing_authority: String,
    /// The hosting service provider it is addressed to (section A): the peer's name.
    pub addressee: String,
    /// Time and date of issue, Unix milliseconds (section A).
    pub issued_at: u64,
    /// The content: URLs and, optionally, hashes (section B).
    pub targets: Vec<Target>,
    /// The Art. 2(7) reasons (section B); at least one for a removal order.
    #[serde(default)]
    pub reasons: Vec<Reason>,
    /// The statement of reasons, in the authority's words (section B; Art. 3(4)(b)).
    #[serde(default)]
    pub statement: String,
    /// Any further information that identifies and locates the content exactly (section B): a
    /// time in a video, a post's author, a page's title.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub location: String,
    /// The legal basis: for a removal order, the Regulation itself (Art. 3(4)(d)); the issuing
    /// node fills it in when the issuer gives none.
    #[serde(default)]
    pub legal_basis: String,
    /// Whether the platform may tell the content provider (TCO Art. 11).
    pub provider_may_be_told: bool,
    /// Until when the provider may not be told, Unix milliseconds (None: until the authority says).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidential_until: Option<u64>,
    /// How the platform and the content provider may seek redress (section G).
    pub redress: String,
    /// The language the order is written in, ISO 639-1 (Art. 15(2)).
    pub language: String,
    /// Why a first removal order to this provider could not wait twelve hours after the
    /// information on procedures and deadlines (TCO Art. 3(2)): given only for such an order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emergency_justification: Option<String>,
    /// Annex I sections A (Member States, legal representative, contact point), D, E, F and G,
    /// from the issuing node's and the provider's particulars; empty in older orders.
    #[serde(default, skip_serializing_if = "crate::AnnexSections::is_empty")]
    pub annex: crate::AnnexSections,
}

/// A removal order or referral whose every field holds: made by [`Order::new`] or read from
/// JSON, never otherwise. Its fields are read through `Deref`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Order(OrderFields);

impl std::ops::Deref for Order {
    type Target = OrderFields;

    fn deref(&self) -> &OrderFields {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Order {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Order::new(OrderFields::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

fn text(field: &'static str, value: &str, min: usize, max: usize) -> Result<(), OrderError> {
    crate::text::text_fault(value, min, max).map_or(Ok(()), |fault| Err(OrderError::Field(field, fault)))
}

impl Order {
    /// An order from its fields, refused with the first field at fault.
    pub fn new(fields: OrderFields) -> Result<Self, OrderError> {
        fields.check()?;
        Ok(Self(fields))
    }
}

impl OrderFields {
    fn check(&self) -> Result<(), OrderError> {
        self.faults().into_iter().next().map_or(Ok(()), Err)
    }

    /// Every field at fault, in the order of the form (empty when the order may be issued), so
    /// that a form can name them all at once.
    pub fn faults(&self) -> Vec<OrderError> {
        let mut faults = Vec::new();
        let mut note = |result: Result<(), OrderError>| faults.extend(result.err());
        note(text("reference", &self.reference, 1, 64));
        note(text("issuing_authority", &self.issuing_authority, 1, 200));
        note(text("addressee", &self.addressee, 1, 64));
        if self.targets.is_empty() || self.targets.len() > MAX_TARGETS {
            note(Err(OrderError::Field("targets", format!("1 to {MAX_TARGETS} URLs"))));
        }
        let mut urls: Vec<&str> = self.targets.iter().map(|t| t.url.as_str()).collect();
        urls.sort_unstable();
        if let Some(pair) = urls.windows(2).find(|w| w[0] == w[1]) {
            note(Err(OrderError::Field("targets", format!("{} is named twice", pair[0]))));
        }
        for t in &self.targets {
            if let Some(hash) = &t.sha256
                && (hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
            {
                note(Err(OrderError::Field("targets", format!("sha256 of {}: 64 lowercase hex digits", t.url))));
            }
        }
        let mut reasons = self.reasons.clone();
        reasons.sort_unstable();
        reasons.dedup();
        if reasons.len() != self.reasons.len() {
            note(Err(OrderError::Field("reasons", "a reason is given twice".to_owned())));
        }
        match self.kind {
            OrderKind::RemovalOrder => {
                if self.reasons.is_empty() {
                    note(Err(OrderError::Field("reasons", "a removal order gives at least one Art. 2(7) reason".to_owned())));
                }
                note(text("legal_basis", &self.legal_basis, 1, 1000));
            }
            OrderKind::Referral => note(text("legal_basis", &self.legal_basis, 0, 1000)),
        }
        note(text("statement", &self.statement, 0, 5000));
        note(text("location", &self.location, 0, 2000));
        for t in &self.targets {
            if let Some(written) = &t.as_written {
                note(text("targets", written, 1, crate::MAX_URL_BYTES));
            }
        }
        note(text("redress", &self.redress, 1, 2000));
        if self.language.len() != 2 || !self.language.bytes().all(|b| b.is_ascii_lowercase()) {
            note(Err(OrderError::Field("language", format!("{:?}: an ISO 639-1 code such as en, fr, de", self.language))));
        }
        if self.provider_may_be_told && self.confidential_until.is_some() {
            note(Err(OrderError::Field("confidential_until", "only when the provider may not be told".to_owned())));
        }
        if let Some(justification) = &self.emergency_justification {
            note(text("emergency_justification", justification, 1, 2000));
        }
        for details in [&self.annex.authority, &self.annex.provider] {
            for e in details.faults() {
                note(Err(OrderError::Field(e.0, e.1)));
            }
        }
        if let Some(state) = &self.annex.issuing_member_state
            && !crate::MEMBER_STATES.contains(&state.as_str())
        {
            note(Err(OrderError::Field("issuing_member_state", format!("{state:?}: a Member State's code"))));
        }
        faults
    }

    /// Every field at fault for an order about to be issued: [`OrderFields::faults`], plus what
    /// this version requires of new orders but did not of older ones, which are still read (a
    /// statement of reasons for a removal order, TCO Art. 3(4)(b); the particulars of Annex I
    /// sections A, D, E and G).
    pub fn issue_faults(&self) -> Vec<OrderError> {
        let mut faults = self.faults();
        let designated = &self.annex.provider.languages;
        if !designated.is_empty() && !designated.contains(&self.language) {
            let at = faults.iter().position(|f| matches!(f, OrderError::Field("confidential_until", _))).unwrap_or(faults.len());
            let fault = format!("{:?}: the platform designated {} (Art. 15(2))", self.language, designated.join(", "));
            faults.insert(at, OrderError::Field("language", fault));
        }
        if self.kind == OrderKind::RemovalOrder {
            faults.extend(self.annex.missing().into_iter().map(|(field, what)| OrderError::Field(field, format!("required: {what}"))));
        }
        if self.kind == OrderKind::RemovalOrder && self.statement.trim().is_empty() {
            let at = faults.iter().position(|f| matches!(f, OrderError::Field("legal_basis" | "redress" | "language", _)));
            let fault = OrderError::Field("statement", "a removal order gives a sufficiently detailed statement of reasons".to_owned());
            faults.insert(at.unwrap_or(faults.len()), fault);
        }
        faults
    }
}
