//! Data requests of an investigation under the e-Evidence Regulation (EU) 2023/1543: a
//! production request (a European Production Order: give the data) or a preservation request (a
//! European Preservation Order: keep it), sent by an authority's node straight to a platform's.
//! A [`DataRequest`] is only made by [`DataRequest::new`] or read by deserialising, and both check
//! every field, so a request that exists is one a platform can act on; its clocks (Art. 10 and 11)
//! are computed here, from the platform's time of receipt.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::{CanonicalUrl, Ulid};

/// One hour, in milliseconds.
const HOUR_MS: u64 = 3_600_000;
/// One day, in milliseconds. The Regulation counts its periods in hours and days; a day here is
/// 24 hours from the moment of receipt, as the orders' hour is 60 minutes from it.
const DAY_MS: u64 = 24 * HOUR_MS;

/// Art. 10: an emergency production request is answered within 8 hours of receipt.
pub const EMERGENCY_ANSWER_MS: u64 = 8 * HOUR_MS;
/// Art. 10: any other production request within 10 days of receipt.
pub const ANSWER_MS: u64 = 10 * DAY_MS;
/// Art. 10: in an emergency, the enforcing authority may object within 96 hours.
pub const EMERGENCY_OBJECTION_MS: u64 = 96 * HOUR_MS;
/// Art. 10: otherwise it has the 10 days before the data are sent.
pub const OBJECTION_MS: u64 = 10 * DAY_MS;
/// Art. 11: a preservation request lapses 60 days after receipt unless a production request is
/// confirmed.
pub const PRESERVATION_MS: u64 = 60 * DAY_MS;
/// Art. 11: the issuing authority may extend it once, by 30 days.
pub const EXTENSION_MS: u64 = 30 * DAY_MS;
/// The most identifiers one request names.
pub const MAX_IDENTIFIERS: usize = 100;

/// What the platform is asked to do with the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestKind {
    /// A European Production Order: send the data.
    Production,
    /// A European Preservation Order: keep the data for a later production request.
    Preservation,
}

impl std::str::FromStr for RequestKind {
    type Err = RequestError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "production" => Ok(Self::Production),
            "preservation" => Ok(Self::Preservation),
            _ => Err(RequestError::Field("kind", format!("{s:?}: production or preservation"))),
        }
    }
}

/// The categories of data of Art. 3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataCategory {
    /// Who the user is: name, address, contact details, the account's creation.
    Subscriber,
    /// IP addresses and, where needed, source ports and time stamps, asked solely to identify
    /// the user.
    UserIdentification,
    /// The other metadata of use: connections, times, locations.
    Traffic,
    /// What the user stored or sent.
    Content,
}

impl DataCategory {
    /// Every category, in the Regulation's order.
    pub const ALL: [DataCategory; 4] =
        [DataCategory::Subscriber, DataCategory::UserIdentification, DataCategory::Traffic, DataCategory::Content];

    /// Its name on the wire.
    pub const fn name(self) -> &'static str {
        match self {
            DataCategory::Subscriber => "subscriber",
            DataCategory::UserIdentification => "user_identification",
            DataCategory::Traffic => "traffic",
            DataCategory::Content => "content",
        }
    }

    /// Whether a production request for it needs a judge's, court's or investigating judge's
    /// validation when a prosecutor issues it (Art. 4), and a notification of the enforcing
    /// State when the person lives elsewhere (Art. 8).
    pub const fn is_sensitive(self) -> bool {
        matches!(self, DataCategory::Traffic | DataCategory::Content)
    }
}

impl std::str::FromStr for DataCategory {
    type Err = RequestError;

    /// The wire name, or the same with hyphens (`user-identification`), as people type it.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let name = s.replace('-', "_");
        Self::ALL
            .into_iter()
            .find(|c| c.name() == name)
            .ok_or_else(|| RequestError::Field("categories", format!("{s:?}: one of subscriber, user-identification, traffic, content")))
    }
}

/// What an identifier names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentifierKind {
    /// An account on the platform: its name or number as the platform shows it.
    Account,
    /// A URL on the platform, canonical.
    Url,
    /// An IP address, with the time it was used and that time's zone.
    Ip,
    /// An e-mail address.
    Email,
    /// A telephone number, in international form.
    Phone,
}

impl IdentifierKind {
    const ALL: [IdentifierKind; 5] =
        [IdentifierKind::Account, IdentifierKind::Url, IdentifierKind::Ip, IdentifierKind::Email, IdentifierKind::Phone];

    /// Its name on the wire and in `TYPE:VALUE`.
    pub const fn name(self) -> &'static str {
        match self {
            IdentifierKind::Account => "account",
            IdentifierKind::Url => "url",
            IdentifierKind::Ip => "ip",
            IdentifierKind::Email => "email",
            IdentifierKind::Phone => "phone",
        }
    }
}

/// A moment as the authority knows it: RFC 3339 with its UTC offset, which an IP address's time
/// stamp must carry (a platform's logs may keep another zone). Kept as written, with the instant
/// it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalTime {
    text: String,
    unix_ms: i64,
    offset_minutes: i32,
}

impl LocalTime {
    /// Reads an RFC 3339 time with its zone (`Z` or `±HH:MM`), as [`crate::calendar::parse_rfc3339`]
    /// does.
    pub fn parse(text: &str) -> Result<Self, RequestError> {
        let (unix_ms, offset_minutes) = crate::calendar::parse_rfc3339(text)
            .ok_or_else(|| RequestError::Field("identifiers", format!("{text:?}: a time like 2026-12-01T10:15:00+01:00, with its zone")))?;
        Ok(Self { text: text.to_owned(), unix_ms, offset_minutes })
    }

    /// The instant, Unix milliseconds.
    pub fn unix_ms(&self) -> i64 {
        self.unix_ms
    }

    /// The zone it was written in: minutes east of UTC.
    pub fn offset_minutes(&self) -> i32 {
        self.offset_minutes
    }

    /// As written.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

/// Something that names the data asked for: an account, a URL, an IP address at a moment, an
/// e-mail address or a telephone number, each checked and in one spelling.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawIdentifier", into = "RawIdentifier")]
pub struct Identifier {
    kind: IdentifierKind,
    value: String,
    at: Option<LocalTime>,
}

/// An identifier as it travels: `{"type": "ip", "value": "203.0.113.7", "at": "..."}`.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIdentifier {
    #[serde(rename = "type")]
    kind: IdentifierKind,
    value: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    at: Option<String>,
}

impl TryFrom<RawIdentifier> for Identifier {
    type Error = RequestError;

    fn try_from(raw: RawIdentifier) -> Result<Self, RequestError> {
        Identifier::new(raw.kind, &raw.value, raw.at.as_deref())
    }
}

impl From<Identifier> for RawIdentifier {
    fn from(id: Identifier) -> Self {
        RawIdentifier { kind: id.kind, value: id.value, at: id.at.map(|t| t.text) }
    }
}

impl Identifier {
    /// Checks `value` as an identifier of `kind` (with its time `at`, which an IP address needs
    /// and nothing else takes) and brings it to one spelling.
    pub fn new(kind: IdentifierKind, value: &str, at: Option<&str>) -> Result<Self, RequestError> {
        let bad = |why: &str| {
            RequestError::Field("identifiers", format!("{}:{}: {why}", kind.name(), value.chars().take(80).collect::<String>()))
        };
        let value = value.trim();
        let at = match (kind, at) {
            (IdentifierKind::Ip, Some(at)) => Some(LocalTime::parse(at)?),
            (IdentifierKind::Ip, None) => return Err(bad("an IP address needs the time it was used, with its zone (ADDRESS@TIME)")),
            (_, Some(_)) => return Err(bad("only an IP address takes a time")),
            (_, None) => None,
        };
        let value = match kind {
            IdentifierKind::Account => {
                text("identifiers", value, 1, 200).map_err(|_| bad("1 to 200 characters, no control characters"))?;
                value.to_owned()
            }
            IdentifierKind::Url => CanonicalUrl::parse(value).map_err(|e| bad(&e.to_string()))?.as_str().to_owned(),
            IdentifierKind::Ip => value.parse::<IpAddr>().map_err(|_| bad("not an IPv4 or IPv6 address"))?.to_string(),
            IdentifierKind::Email => {
                let (local, domain) = value.rsplit_once('@').ok_or_else(|| bad("not an e-mail address"))?;
                if local.is_empty()
                    || domain.len() < 3
                    || !domain.contains('.')
                    || value.len() > 254
                    || value.chars().any(|c| c.is_whitespace() || c.is_control())
                {
                    return Err(bad("not an e-mail address"));
                }
                format!("{local}@{}", domain.to_ascii_lowercase())
            }
            IdentifierKind::Phone => {
                // E.164: a plus and 8 to 15 digits. Spaces, dots, hyphens and brackets are
                // dropped, and the national trunk prefix written as "(0)" after the country code,
                // as in "+31 (0)70 123 4567".
                let digits: String = value.replace("(0)", "").chars().filter(|c| !matches!(c, ' ' | '.' | '-' | '(' | ')')).collect();
                let rest = digits.strip_prefix('+').ok_or_else(|| bad("in international form: + and the country code"))?;
                if !(8..=15).contains(&rest.len()) || !rest.bytes().all(|b| b.is_ascii_digit()) || rest.starts_with('0') {
                    return Err(bad("in international form: + and 8 to 15 digits"));
                }
                digits
            }
        };
        Ok(Self { kind, value, at })
    }

    /// Reads `TYPE:VALUE`, an IP address as `ip:ADDRESS@TIME`, as people type them.
    pub fn parse(text: &str) -> Result<Self, RequestError> {
        let (kind, value) = text.trim().split_once(':').ok_or_else(|| {
            RequestError::Field("identifiers", format!("{text:?}: TYPE:VALUE, TYPE one of account, url, ip, email, phone"))
        })?;
        let kind = IdentifierKind::ALL
            .into_iter()
            .find(|k| k.name() == kind)
            .ok_or_else(|| RequestError::Field("identifiers", format!("{kind:?}: one of account, url, ip, email, phone")))?;
        match kind {
            IdentifierKind::Ip => {
                let (address, at) = value.rsplit_once('@').unwrap_or((value, ""));
                Self::new(kind, address, Some(at).filter(|a| !a.is_empty()))
            }
            _ => Self::new(kind, value, None),
        }
    }

    /// What it names.
    pub fn kind(&self) -> IdentifierKind {
        self.kind
    }

    /// Its value, in one spelling (a canonical URL, a compressed IPv6 address, a lower-case mail
    /// domain, a phone number with only its plus and digits).
    pub fn value(&self) -> &str {
        &self.value
    }

    /// For an IP address, when it was used.
    pub fn at(&self) -> Option<&LocalTime> {
        self.at.as_ref()
    }
}

impl std::fmt::Display for Identifier {
    /// The `TYPE:VALUE` form [`Identifier::parse`] reads.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.at {
            Some(at) => write!(f, "{}:{}@{}", self.kind.name(), self.value, at.text),
            None => write!(f, "{}:{}", self.kind.name(), self.value),
        }
    }
}

/// A data request's fields, as written or read; [`DataRequest`] is the checked form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestFields {
    /// The request's id, which is also its message's.
    pub id: Ulid,
    /// Production or preservation.
    pub kind: RequestKind,
    /// The issuing authority's file reference.
    pub reference: String,
    /// The issuing authority: its node's name.
    pub issuing_authority: String,
    /// The platform: its node's name as the authority knows it.
    pub addressee: String,
    /// When it was issued, Unix ms.
    pub issued_at: u64,
    /// The categories of data asked for.
    pub categories: Vec<DataCategory>,
    /// What names the data.
    pub identifiers: Vec<Identifier>,
    /// The offence under investigation, as the issuing authority describes it.
    pub offence: String,
    /// The law the request is issued under.
    pub legal_basis: String,
    /// Why it is an emergency (an imminent threat to life, physical integrity or critical
    /// infrastructure), when it is one: the answer is then due in 8 hours (Art. 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emergency: Option<String>,
    /// The judge, court or investigating judge who validated it, when it needed one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validated_by: Option<String>,
    /// The enforcing State's authority notified at the same time (Art. 8), when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enforcing_authority: Option<String>,
    /// Before this moment (Unix ms) the platform must not tell its user that data were asked
    /// for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidential_until: Option<u64>,
}

/// Why a data request is refused, naming the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// A field is missing, empty, too long or ill-formed.
    #[error("{0}: {1}")]
    Field(&'static str, String),
}

/// As orders check their texts, and a text of blanks only is no text.
fn text(field: &'static str, value: &str, min: usize, max: usize) -> Result<(), RequestError> {
    let fault = if min > 0 && value.trim().is_empty() { Some("required".to_owned()) } else { crate::text::text_fault(value, min, max) };
    fault.map_or(Ok(()), |fault| Err(RequestError::Field(field, fault)))
}

impl RequestFields {
    /// Whether a validator must approve it before it leaves the issuing node: a production
    /// request for traffic or content data (Art. 4).
    pub fn needs_validation(&self) -> bool {
        self.kind == RequestKind::Production && self.categories.iter().any(|c| c.is_sensitive())
    }

    /// Whether the platform may tell its user at `now` (Unix ms).
    pub fn may_tell_user(&self, now: u64) -> bool {
        self.confidential_until.is_none_or(|until| now >= until)
    }

    /// Every field at fault, in the order of the form (empty when the request may go).
    pub fn faults(&self) -> Vec<RequestError> {
        let mut faults = Vec::new();
        let mut note = |result: Result<(), RequestError>| faults.extend(result.err());
        note(text("reference", &self.reference, 1, 64));
        note(text("issuing_authority", &self.issuing_authority, 1, 200));
        note(text("addressee", &self.addressee, 1, 64));
        let mut categories = self.categories.clone();
        categories.sort_unstable();
        categories.dedup();
        if self.categories.is_empty() {
            note(Err(RequestError::Field("categories", "at least one category of data".to_owned())));
        } else if categories.len() != self.categories.len() {
            note(Err(RequestError::Field("categories", "a category is named twice".to_owned())));
        }
        if self.identifiers.is_empty() || self.identifiers.len() > MAX_IDENTIFIERS {
            note(Err(RequestError::Field("identifiers", format!("1 to {MAX_IDENTIFIERS} identifiers"))));
        }
        let mut seen: Vec<String> = self.identifiers.iter().map(Identifier::to_string).collect();
        seen.sort_unstable();
        if let Some(pair) = seen.windows(2).find(|w| w[0] == w[1]) {
            note(Err(RequestError::Field("identifiers", format!("{} is named twice", pair[0]))));
        }
        note(text("offence", &self.offence, 1, 2000));
        note(text("legal_basis", &self.legal_basis, 1, 2000));
        if let Some(why) = &self.emergency {
            note(text("emergency", why, 1, 2000));
        }
        if let Some(judge) = &self.validated_by {
            note(text("validated_by", judge, 1, 200));
        }
        if let Some(authority) = &self.enforcing_authority {
            note(text("enforcing_authority", authority, 1, 200));
        }
        if self.confidential_until.is_some_and(|until| until <= self.issued_at) {
            note(Err(RequestError::Field("confidential_until", "after the time of issue".to_owned())));
        }
        faults
    }
}

/// A data request whose every field holds, validated where the law needs it: made by
/// [`DataRequest::new`] or read from JSON, never otherwise. Its fields are read through `Deref`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct DataRequest(RequestFields);

impl std::ops::Deref for DataRequest {
    type Target = RequestFields;

    fn deref(&self) -> &RequestFields {
        &self.0
    }
}

impl<'de> Deserialize<'de> for DataRequest {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        DataRequest::new(RequestFields::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

impl DataRequest {
    /// A request from its fields, refused with the first field at fault, or unvalidated when it
    /// needs validation: such a request never leaves its node.
    pub fn new(fields: RequestFields) -> Result<Self, RequestError> {
        if let Some(fault) = fields.faults().into_iter().next() {
            return Err(fault);
        }
        if fields.needs_validation() && fields.validated_by.is_none() {
            return Err(RequestError::Field(
                "validated_by",
                "a production request for traffic or content data needs a judge's validation (Art. 4)".to_owned(),
            ));
        }
        Ok(Self(fields))
    }

    /// When the answer is due, from the platform's time of receipt (Unix ms): 8 hours in an
    /// emergency, 10 days otherwise (Art. 10). A preservation request is not answered with
    /// data: it lapses ([`DataRequest::lapses_at`]).
    pub fn answer_due(&self, received_at: u64) -> Option<u64> {
        (self.kind == RequestKind::Production)
            .then(|| received_at.saturating_add(if self.emergency.is_some() { EMERGENCY_ANSWER_MS } else { ANSWER_MS }))
    }

    /// Until when the enforcing authority may object before the data are sent (Art. 10),
    /// when one is notified.
    pub fn objection_until(&self, received_at: u64) -> Option<u64> {
        self.enforcing_authority
            .as_ref()
            .map(|_| received_at.saturating_add(if self.emergency.is_some() { EMERGENCY_OBJECTION_MS } else { OBJECTION_MS }))
    }

    /// When a preservation request lapses (Art. 11): 60 days after receipt, 90 once extended.
    pub fn lapses_at(&self, received_at: u64, extended: bool) -> Option<u64> {
        (self.kind == RequestKind::Preservation)
            .then(|| received_at.saturating_add(PRESERVATION_MS + if extended { EXTENSION_MS } else { 0 }))
    }
}

/// Why a platform cannot answer a data request (Annex III of the Regulation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestInability {
    /// The identifiers name no data the platform can find.
    CannotIdentify,
    /// The data were not stored when the request arrived.
    NotStored,
    /// De facto impossibility not attributable to the platform.
    DeFactoImpossibility,
    /// The request contains manifest errors.
    ManifestError,
    /// Not issued or validated by a competent authority.
    NotCompetent,
    /// The platform needs a clarification to answer.
    ClarificationNeeded,
}

impl RequestInability {
    /// Every ground, in Annex III's order.
    pub const ALL: [RequestInability; 6] = [
        RequestInability::CannotIdentify,
        RequestInability::NotStored,
        RequestInability::DeFactoImpossibility,
        RequestInability::ManifestError,
        RequestInability::NotCompetent,
        RequestInability::ClarificationNeeded,
    ];

    /// Its name on the wire and on the command line.
    pub const fn name(self) -> &'static str {
        match self {
            RequestInability::CannotIdentify => "cannot_identify",
            RequestInability::NotStored => "not_stored",
            RequestInability::DeFactoImpossibility => "de_facto_impossibility",
            RequestInability::ManifestError => "manifest_error",
            RequestInability::NotCompetent => "not_competent",
            RequestInability::ClarificationNeeded => "clarification_needed",
        }
    }

    /// What it means, in Annex III's terms, for an answer that gives no more.
    pub const fn description(self) -> &'static str {
        match self {
            RequestInability::CannotIdentify => "The data sought cannot be identified from the identifiers given (Annex III).",
            RequestInability::NotStored => "The data were not stored when the request was received (Annex III).",
            RequestInability::DeFactoImpossibility => {
                "Compliance is impossible de facto, for reasons not attributable to the provider (Annex III)."
            }
            RequestInability::ManifestError => "The request contains manifest errors (Annex III).",
            RequestInability::NotCompetent => "The request was not issued or validated by a competent authority (Annex III).",
            RequestInability::ClarificationNeeded => "The provider needs a clarification to answer (Annex III).",
        }
    }
}

impl std::str::FromStr for RequestInability {
    type Err = RequestError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let name = s.replace('-', "_");
        Self::ALL.into_iter().find(|g| g.name() == name).ok_or_else(|| {
            RequestError::Field("ground", format!("{s:?}: one of {}", Self::ALL.iter().map(|g| g.name()).collect::<Vec<_>>().join(", ")))
        })
    }
}
