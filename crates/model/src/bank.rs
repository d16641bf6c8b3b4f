//! Hash banks: named sets of known signals (a PDQ hash, a file digest, a URL), each with labels,
//! where it came from and a state, and the action a match calls for. Signals are parsed here,
//! once, into their one canonical spelling, so that a bank never holds the same signal twice
//! under different spellings and a lookup compares like with like.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::CanonicalUrl;

/// Why a bank, a signal or its labels were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BankError {
    /// The signal type is unknown, or known but not matched yet.
    #[error("signal type {0:?}: use pdq, vpdq, sha256, md5 or url")]
    SignalType(String),
    /// The value is not one of its type.
    #[error("{kind} value {value:?}: {why}")]
    Value {
        /// The signal type.
        kind: SignalType,
        /// The value as given (cut to 80 characters).
        value: String,
        /// What a value of this type looks like.
        why: String,
    },
    /// A field out of its bounds.
    #[error("{0}: {1}")]
    Field(&'static str, String),
    /// A line of a plain list that is not a signal.
    #[error("expected TYPE:VALUE (pdq, vpdq, sha256, md5, url) or a 64-hex-digit PDQ hash")]
    NotASignal,
}

/// What kind of signal a value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SignalType {
    /// Meta's PDQ perceptual hash of an image: 64 hex digits, matched by Hamming distance.
    Pdq,
    /// Meta's vPDQ features of a video (a PDQ hash, quality and time per hashed frame), matched
    /// by the share of frames within a PDQ distance (`crate::vpdq`).
    Vpdq,
    /// SHA-256 of the file's bytes: 64 hex digits, matched exactly.
    Sha256,
    /// MD5 of the file's bytes (what many shared hash lists still carry): 32 hex digits.
    Md5,
    /// A URL, matched in its Safe Browsing canonical form.
    Url,
}

impl SignalType {
    /// Every type, in the order exports list them.
    pub const ALL: [Self; 5] = [Self::Pdq, Self::Vpdq, Self::Sha256, Self::Md5, Self::Url];

    /// Its name in the API and in files.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pdq => "pdq",
            Self::Vpdq => "vpdq",
            Self::Sha256 => "sha256",
            Self::Md5 => "md5",
            Self::Url => "url",
        }
    }

    /// Hex digits a value has, for the digest types.
    const fn hex_digits(self) -> Option<usize> {
        match self {
            Self::Pdq | Self::Sha256 => Some(64),
            Self::Md5 => Some(32),
            Self::Vpdq | Self::Url => None,
        }
    }
}

impl fmt::Display for SignalType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SignalType {
    type Err = BankError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // Names as other tools write them too (python-threatexchange's "pdq", TAT's "SHA256").
        match s.to_ascii_lowercase().as_str() {
            "pdq" => Ok(Self::Pdq),
            // python-threatexchange's name is "vpdq" too; HMA's class is VPDQSignal.
            "vpdq" => Ok(Self::Vpdq),
            "sha256" | "sha-256" => Ok(Self::Sha256),
            "md5" => Ok(Self::Md5),
            "url" => Ok(Self::Url),
            _ => Err(BankError::SignalType(s.chars().take(40).collect())),
        }
    }
}

/// A signal in canonical form: lower-case hex for digests and hashes, the Safe Browsing
/// canonical form for URLs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Signal {
    kind: SignalType,
    value: String,
}

impl Signal {
    /// Checks `value` as a signal of type `kind` and brings it to canonical form.
    pub fn new(kind: SignalType, value: &str) -> Result<Self, BankError> {
        let bad = |why: &str| BankError::Value { kind, value: value.chars().take(80).collect(), why: why.to_owned() };
        let value = match kind.hex_digits() {
            Some(digits) => {
                if value.len() != digits || !value.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(bad(&format!("{digits} hex digits")));
                }
                value.to_ascii_lowercase()
            }
            None if kind == SignalType::Vpdq => crate::vpdq::VpdqFeatures::parse(value)?.canonical(),
            None => CanonicalUrl::parse(value).map_err(|e| bad(&e.to_string()))?.as_str().to_owned(),
        };
        Ok(Self { kind, value })
    }

    /// Reads `type:value`, or a bare 64-hex-digit PDQ hash (the plain line format).
    pub fn parse_line(line: &str) -> Result<Self, BankError> {
        let line = line.trim();
        match line.split_once(':') {
            // A URL has a colon too: only a known type name before the first one counts.
            Some((kind, value)) if kind.parse::<SignalType>().is_ok() => Self::new(kind.parse()?, value.trim()),
            _ if line.len() == 64 && !line.contains("://") => Self::new(SignalType::Pdq, line),
            _ => Err(BankError::NotASignal),
        }
    }

    /// Its type.
    pub fn kind(&self) -> SignalType {
        self.kind
    }

    /// Its canonical value.
    pub fn value(&self) -> &str {
        &self.value
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind, self.value)
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SignalWire<'a> {
    #[serde(rename = "type")]
    kind: std::borrow::Cow<'a, str>,
    value: std::borrow::Cow<'a, str>,
}

impl Serialize for Signal {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        SignalWire { kind: self.kind.as_str().into(), value: self.value.as_str().into() }.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Signal {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let wire = SignalWire::deserialize(d)?;
        let kind = wire.kind.parse().map_err(serde::de::Error::custom)?;
        Self::new(kind, &wire.value).map_err(serde::de::Error::custom)
    }
}

/// What a match in a bank calls for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BankAction {
    /// Refuse the upload.
    Block,
    /// Hold it for a moderator.
    Review,
    /// Let it through, and report the match.
    Report,
}

impl BankAction {
    /// Its name in the API.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Block => "block",
            Self::Review => "review",
            Self::Report => "report",
        }
    }

    /// The verdict a match on a signal in state `state` gives. A disputed signal (someone says
    /// it is a false positive) holds content for a person to look at rather than refusing it.
    pub const fn verdict(self, state: SignalState) -> Verdict {
        match (self, state) {
            (_, SignalState::Withdrawn) | (Self::Report, _) => Verdict::None,
            (Self::Block, SignalState::Active) => Verdict::Block,
            (Self::Block | Self::Review, _) => Verdict::Review,
        }
    }
}

impl FromStr for BankAction {
    type Err = BankError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "block" => Ok(Self::Block),
            "review" => Ok(Self::Review),
            "report" => Ok(Self::Report),
            _ => Err(BankError::Field("action", format!("{s:?}: block, review or report"))),
        }
    }
}

/// Where a signal stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignalState {
    /// Matched, with the bank's action.
    Active,
    /// Someone reported it as a false positive: matches go to review.
    Disputed,
    /// Taken out by its bank's owner: never matched.
    Withdrawn,
}

impl SignalState {
    /// Its name in the API and the store.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Disputed => "disputed",
            Self::Withdrawn => "withdrawn",
        }
    }
}

impl FromStr for SignalState {
    type Err = BankError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "active" => Ok(Self::Active),
            "disputed" => Ok(Self::Disputed),
            "withdrawn" => Ok(Self::Withdrawn),
            _ => Err(BankError::Field("state", format!("{s:?}: active, disputed or withdrawn"))),
        }
    }
}

/// What a scan or lookup concludes: the strongest verdict of its matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// No match calls for anything.
    None,
    /// Hold for a moderator.
    Review,
    /// Refuse.
    Block,
}

/// What a signal shows, in the shape hash-sharing programmes use (GIFCT's behaviours, an
/// entity, free tags).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Labels {
    /// Image, video, PDF, ... as the source says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// The terrorist entity or ideology behind it, as the source names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity: Option<String>,
    /// What the content does.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub behaviours: Vec<Behaviour>,
    /// Anything else, sorted, each once.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
}

/// Most tags a signal carries.
pub const MAX_TAGS: usize = 32;
/// Longest label or tag, in characters.
pub const MAX_LABEL_CHARS: usize = 100;

impl Labels {
    /// Checks the bounds and brings tags and behaviours to sorted sets.
    pub fn checked(mut self) -> Result<Self, BankError> {
        let texts = self.content_type.iter().chain(&self.entity).chain(&self.tags);
        if let Some(long) = texts.clone().find(|t| t.chars().count() > MAX_LABEL_CHARS) {
            return Err(BankError::Field("labels", format!("{long:?} is longer than {MAX_LABEL_CHARS} characters")));
        }
        if let Some(bad) = texts.clone().find(|t| t.trim().is_empty() || t.chars().any(|c| c.is_control() || crate::is_bidi_control(c))) {
            return Err(BankError::Field("labels", format!("{bad:?}: labels are printable and not blank")));
        }
        self.tags.sort();
        self.tags.dedup();
        if self.tags.len() > MAX_TAGS {
            return Err(BankError::Field("tags", format!("{} tags, at most {MAX_TAGS}", self.tags.len())));
        }
        self.behaviours.sort();
        self.behaviours.dedup();
        Ok(self)
    }
}

/// What a piece of terrorist content does, after GIFCT's behavioural taxonomy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Behaviour {
    /// Praises attacks or attackers.
    Glorification,
    /// Calls people to join.
    Recruitment,
    /// Teaches how to attack or make weapons.
    Instruction,
    /// Threatens violence.
    Threat,
}

/// A bank's name: 1 to 64 lower-case letters, digits, `-`, `_` or `.` (it is part of URLs).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct BankName(String);

impl BankName {
    /// The name of the bank that orders executed on a platform feed.
    pub const STAY_DOWN: &'static str = "stay-down";

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for BankName {
    type Err = BankError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let ok = !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b));
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(BankError::Field(
                "bank",
                format!("{:?}: 1 to 64 lower-case letters, digits, '-', '_' or '.'", s.chars().take(80).collect::<String>()),
            ))
        }
    }
}

impl<'de> Deserialize<'de> for BankName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?.parse().map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for BankName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The PDQ match threshold when a bank sets none: Meta's recommended 31 bits.
pub const DEFAULT_PDQ_THRESHOLD: u32 = 31;
/// The largest PDQ threshold a bank may set (half the hash: past it a match means nothing).
pub const MAX_PDQ_THRESHOLD: u32 = 63;

/// PDQ's quality below which a frame of a video is not trusted and never matches (Meta's vPDQ
/// default, in its C++ README and python-threatexchange).
pub const VPDQ_MIN_QUALITY: u8 = 50;

/// Which share of frames decides that a video matches a banked one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VideoShare {
    /// The share of the uploaded video's frames found in the banked video
    /// (python-threatexchange's default): a clip cut from a banked video matches.
    Query,
    /// The share of the banked video's frames found in the upload (Meta's C++ README): an
    /// upload that contains the banked video, even inside a longer one, matches.
    Target,
}

impl VideoShare {
    /// Its name in the API.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Query => "query",
            Self::Target => "target",
        }
    }
}

impl FromStr for VideoShare {
    type Err = BankError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "query" => Ok(Self::Query),
            "target" => Ok(Self::Target),
            _ => Err(BankError::Field("video_share", "query or target".to_owned())),
        }
    }
}

/// How a bank judges videos: a share of frames, and the percentage it must reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VideoRule {
    /// Which share counts.
    pub share: VideoShare,
    /// At least this many percent (1 to 100).
    pub percent: u8,
}

impl VideoRule {
    /// A rule, refused outside 1 to 100 percent.
    pub fn new(share: VideoShare, percent: u32) -> Result<Self, BankError> {
        match u8::try_from(percent) {
            Ok(p @ 1..=100) => Ok(Self { share, percent: p }),
            _ => Err(BankError::Field("video_percent", "1 to 100".to_owned())),
        }
    }

    /// Whether shares of `query` and `target` percent make a match.
    pub fn matches(self, query: f64, target: f64) -> bool {
        let share = match self.share {
            VideoShare::Query => query,
            VideoShare::Target => target,
        };
        share >= f64::from(self.percent)
    }
}

impl Default for VideoRule {
    /// python-threatexchange's: 80 % of the query's frames.
    fn default() -> Self {
        Self { share: VideoShare::Query, percent: 80 }
    }
}
