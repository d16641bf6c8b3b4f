//! The legal particulars a node states for itself, or keeps for a peer, that TCO Annex I puts
//! in an order: Member States, the issuing authority's type, representative and contact
//! details (section E), the provider's legal representative and contact point (section A), the
//! authorities to contact (section F) and the redress open (section G). Kept once with the node
//! or the peer, so that an issuer does not type them for every order, and checked here.

use serde::{Deserialize, Serialize};

/// The Member States of the European Union, by the codes the EU's institutions use (ISO
/// 3166-1 alpha-2, with EL for Greece).
pub const MEMBER_STATES: [&str; 27] = [
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "EL", "ES", "FI", "FR", "HR", "HU", "IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL",
    "PT", "RO", "SE", "SI", "SK",
];

/// The type of issuing authority, as Annex I section E has its tick boxes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthorityType {
    /// A judge, court or investigating judge.
    Judicial,
    /// A law enforcement authority.
    LawEnforcement,
    /// Another competent authority.
    Other,
}

/// The particulars of a node (for itself) or a peer: each optional until an order needs it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LegalDetails {
    /// The Member State: of the issuing authority, or of the provider's main establishment or
    /// legal representative.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub member_state: Option<String>,
    /// An authority's type (section E).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authority_type: Option<AuthorityType>,
    /// An authority's representative: name and post (section E).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub representative: Option<String>,
    /// Postal address (section E).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// Telephone, with the country code (section E).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// Fax, with the country code (section E).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fax: Option<String>,
    /// Email (section E; for a provider, its contact point's, section A).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// A provider's contact point for orders (Art. 15; section A), or an authority's for
    /// feedback and clarification (Art. 12(2); section F).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact_point: Option<String>,
    /// A provider's legal representative in the Union (Art. 17; section A).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legal_representative: Option<String>,
    /// For a provider: the competent authority of its Member State, with contact details, which
    /// gets a copy of a cross-border order (Art. 4(1); sections D and F).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_authority: Option<String>,
    /// For an authority: the court or body before which its orders are challenged (section G).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redress_body: Option<String>,
    /// For an authority: the time allowed to challenge an order (section G).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redress_deadline: Option<String>,
    /// For an authority: where the national provisions on redress are published (section G).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redress_provisions: Option<String>,
    /// For a provider: the languages it designated for orders, ISO 639-1 (Art. 15(2)).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub languages: Vec<String>,
}

/// A particular that is not well formed, named.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}: {1}")]
pub struct LegalDetailsError(pub &'static str, pub String);

impl LegalDetails {
    /// Every particular at fault: a Member State that is not one, or a text that is empty, too
    /// long (500 characters) or holds control characters other than line breaks.
    pub fn faults(&self) -> Vec<LegalDetailsError> {
        let mut faults = Vec::new();
        if let Some(state) = &self.member_state
            && !MEMBER_STATES.contains(&state.as_str())
        {
            faults.push(LegalDetailsError("member_state", format!("{state:?}: a Member State's code, such as NL, FR, DE, EL")));
        }
        let texts = [
            ("representative", &self.representative),
            ("address", &self.address),
            ("phone", &self.phone),
            ("fax", &self.fax),
            ("email", &self.email),
            ("contact_point", &self.contact_point),
            ("legal_representative", &self.legal_representative),
            ("state_authority", &self.state_authority),
            ("redress_body", &self.redress_body),
            ("redress_deadline", &self.redress_deadline),
            ("redress_provisions", &self.redress_provisions),
        ];
        for (name, value) in texts {
            let Some(value) = value else { continue };
            if value.trim().is_empty() || value.chars().count() > 500 {
                faults.push(LegalDetailsError(name, "1 to 500 characters".to_owned()));
            } else if value.chars().any(|c| crate::is_hidden_control(c) && c != '\n') {
                faults.push(LegalDetailsError(name, "control characters are not allowed".to_owned()));
            }
        }
        if self.languages.len() > 24 || self.languages.iter().any(|l| l.len() != 2 || !l.bytes().all(|b| b.is_ascii_lowercase())) {
            faults.push(LegalDetailsError("languages", "ISO 639-1 codes such as en, fr, de (at most 24)".to_owned()));
        }
        if self.email.as_deref().is_some_and(|e| !e.contains('@')) {
            faults.push(LegalDetailsError("email", "an email address".to_owned()));
        }
        faults
    }
}

/// The Annex I sections an order carries besides its content and reasons: filled by the
/// issuing node from its own particulars and the provider's, so that an order names everything
/// Annex I asks for. Orders from older nodes have none of it (every field empty).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AnnexSections {
    /// Section A: the Member State of the issuing authority.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuing_member_state: Option<String>,
    /// Section A: the provider's Member State of main establishment or legal representative,
    /// its legal representative and contact point.
    #[serde(skip_serializing_if = "LegalDetails::is_empty")]
    pub provider: LegalDetails,
    /// Section D: the provider's Member State differs from the issuing one; the copy goes to
    /// `provider.state_authority`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub cross_border: bool,
    /// Sections E and G, and F for feedback: the issuing authority's particulars.
    #[serde(skip_serializing_if = "LegalDetails::is_empty")]
    pub authority: LegalDetails,
}

impl LegalDetails {
    /// Whether nothing is stated.
    pub fn is_empty(&self) -> bool {
        *self == LegalDetails::default()
    }
}

impl AnnexSections {
    /// Whether the order carries none of them (an older node's order).
    pub fn is_empty(&self) -> bool {
        *self == AnnexSections::default()
    }

    /// The sections of an order from `authority` (this node's particulars) to `provider` (the
    /// peer's).
    pub fn new(authority: &LegalDetails, provider: &LegalDetails) -> Self {
        let provider = LegalDetails {
            member_state: provider.member_state.clone(),
            email: provider.email.clone(),
            contact_point: provider.contact_point.clone(),
            legal_representative: provider.legal_representative.clone(),
            state_authority: provider.state_authority.clone(),
            languages: provider.languages.clone(),
            ..LegalDetails::default()
        };
        let cross_border =
            matches!((&authority.member_state, &provider.member_state), (Some(issuing), Some(providers)) if issuing != providers);
        Self { issuing_member_state: authority.member_state.clone(), provider, cross_border, authority: authority.clone() }
    }

    /// What a removal order issued by this version must have and this one lacks: (field, what
    /// to do), so that an issuer is told which particulars to state.
    pub fn missing(&self) -> Vec<(&'static str, &'static str)> {
        let mut missing = Vec::new();
        let a = &self.authority;
        let checks: [(&'static str, bool, &'static str); 7] = [
            ("issuing_member_state", self.issuing_member_state.is_some(), "this node's Member State (Annex I section A)"),
            ("provider_member_state", self.provider.member_state.is_some(), "the platform's Member State (section A)"),
            ("authority_type", a.authority_type.is_some(), "this authority's type (section E)"),
            ("representative", a.representative.is_some(), "this authority's representative, name and post (section E)"),
            ("email", a.email.is_some(), "this authority's email (section E)"),
            ("redress_body", a.redress_body.is_some(), "the court or body that hears challenges (section G)"),
            ("redress_deadline", a.redress_deadline.is_some(), "the time allowed to challenge (section G)"),
        ];
        for (field, present, what) in checks {
            if !present {
                missing.push((field, what));
            }
        }
        if self.cross_border && self.provider.state_authority.is_none() {
            missing.push(("state_authority", "the competent authority of the platform's Member State, for the copy (section D)"));
        }
        missing
    }
}
