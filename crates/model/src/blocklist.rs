//! The authority's blocklist vocabulary: domain names as resolvers see them (the triggers of a
//! DNS Response Policy Zone), what an entry blocks, and where it stands. A domain is brought to
//! the same canonical form as URL hosts (lower case, Punycode, dots collapsed), then checked
//! against DNS's rules, so `Propaganda.Example.` and `propaganda.example` are one entry.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::CanonicalUrl;

/// Why a blocklist input was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BlocklistError {
    /// Not a domain name DNS can carry.
    #[error("domain {input:?}: {why}")]
    Domain {
        /// The input (cut to 80 characters).
        input: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// A field out of its bounds.
    #[error("{0}: {1}")]
    Field(&'static str, String),
}

/// A domain name in canonical form: lower-case ASCII (Punycode for other scripts), no trailing
/// dot, at least two labels, each 1 to 63 letters, digits, `-` or `_`, not starting or ending
/// with `-`, 253 characters at most; never an IP address (resolvers block those another way).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct DomainName(String);

impl DomainName {
    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the name is a public suffix (`co.uk`, `github.io`): a name under which anyone may
    /// register their own, by the Public Suffix List compiled into this build.
    pub fn is_public_suffix(&self) -> bool {
        psl::suffix(self.0.as_bytes()).is_some_and(|s| s.is_known() && s.as_bytes() == self.0.as_bytes())
    }

    /// Whether `other` is this name or below it.
    pub fn covers(&self, other: &str) -> bool {
        other == self.0 || other.strip_suffix(self.0.as_str()).is_some_and(|rest| rest.ends_with('.'))
    }
}

impl FromStr for DomainName {
    type Err = BlocklistError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let bad = |why| BlocklistError::Domain { input: input.chars().take(80).collect(), why };
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(bad("empty"));
        }
        if trimmed.contains(['/', ':', '@', '?', '#', ' ']) {
            return Err(bad("a domain name only, without scheme, port, path or spaces"));
        }
        // The same canonical host as a URL on it would have (lower case, IDNA, dots).
        let url = CanonicalUrl::parse(format!("http://{trimmed}/")).map_err(|_| bad("not a host name"))?;
        let host = url.host();
        if host.parse::<std::net::Ipv4Addr>().is_ok() || host.starts_with('[') {
            return Err(bad("an IP address, not a domain name"));
        }
        if host.len() > 253 {
            return Err(bad("longer than 253 characters"));
        }
        let labels: Vec<&str> = host.split('.').collect();
        if labels.len() < 2 {
            return Err(bad("a top-level domain alone cannot be blocked here"));
        }
        for label in &labels {
            let ok = !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
            if !ok {
                return Err(bad("each label 1 to 63 letters, digits, '-' or '_', not starting or ending with '-'"));
            }
        }
        Ok(Self(host.to_owned()))
    }
}

impl<'de> Deserialize<'de> for DomainName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?.parse().map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for DomainName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What resolvers answer for a blocked domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RpzAction {
    /// The stop host's address (a walled garden: the stop page says why and how to contest).
    StopPage,
    /// No such domain.
    Nxdomain,
}

impl RpzAction {
    /// Its name in the API and the store.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::StopPage => "stop_page",
            Self::Nxdomain => "nxdomain",
        }
    }
}

impl FromStr for RpzAction {
    type Err = BlocklistError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "stop_page" => Ok(Self::StopPage),
            "nxdomain" => Ok(Self::Nxdomain),
            _ => Err(BlocklistError::Field("action", format!("{s:?}: stop_page or nxdomain"))),
        }
    }
}

/// Why an address is blocked: the grounds of LCEN Art. 6-1 (provocation to or glorification of
/// terrorism, Code pénal Art. 421-2-5; images of child sexual abuse, Art. 227-23), for which the
/// law asks a prior removal request and an information page, or another legal basis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BlockReason {
    /// Provocation to terrorist acts or their glorification (C. pén. Art. 421-2-5).
    Terrorism,
    /// Images of child sexual abuse (C. pén. Art. 227-23).
    ChildSexualAbuse,
    /// Another legal basis, named in the entry.
    Other,
}

impl BlockReason {
    /// Its name in the API, the store and the log.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Terrorism => "terrorism",
            Self::ChildSexualAbuse => "child_sexual_abuse",
            Self::Other => "other",
        }
    }

    /// Whether LCEN Art. 6-1 and Décret 2015-125 govern the entry: a removal request first,
    /// 24 hours, and users sent to the information page.
    pub const fn is_lcen(self) -> bool {
        matches!(self, Self::Terrorism | Self::ChildSexualAbuse)
    }
}

impl FromStr for BlockReason {
    type Err = BlocklistError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "terrorism" => Ok(Self::Terrorism),
            "child_sexual_abuse" => Ok(Self::ChildSexualAbuse),
            "other" => Ok(Self::Other),
            _ => Err(BlocklistError::Field("reason", format!("{s:?}: terrorism, child_sexual_abuse or other"))),
        }
    }
}

/// Where a blocklist entry stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryState {
    /// Blocked.
    Active,
    /// Lifted by the authority (after a review, a recommendation, or a court).
    Lifted,
    /// Ended by its own terms.
    Expired,
}

impl EntryState {
    /// Its name in the API and the store.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Lifted => "lifted",
            Self::Expired => "expired",
        }
    }
}

impl FromStr for EntryState {
    type Err = BlocklistError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "active" => Ok(Self::Active),
            "lifted" => Ok(Self::Lifted),
            "expired" => Ok(Self::Expired),
            _ => Err(BlocklistError::Field("state", format!("{s:?}: active, lifted or expired"))),
        }
    }
}

/// Days between reviews of an entry unless the authority sets fewer: Décret 2015-125 Art. 4
/// asks for a check at least every quarter.
pub const REVIEW_DAYS: u32 = 90;
