//! What the API says is wrong with a field, in French for French pages. The API speaks English
//! (its clients are programs); the console's readers may not. Messages are matched by their
//! shape; one this table does not know is shown as the API gave it, and the tests below make
//! every message the order form can get and check that each is known.

/// `detail` in French, or as given when its shape is not known.
pub(crate) fn translate(detail: &str) -> String {
    let exact = match detail {
        "required" => Some("obligatoire"),
        "control characters are not allowed" => Some("les caractères de contrôle ne sont pas admis"),
        "a reason is given twice" => Some("un motif est donné deux fois"),
        "a removal order gives at least one Art. 2(7) reason" => {
            Some("une injonction de retrait donne au moins un motif de l'art. 2, point 7")
        }
        "a removal order gives a sufficiently detailed statement of reasons" => {
            Some("une injonction de retrait donne un exposé des motifs suffisamment détaillé")
        }
        "an email address" => Some("une adresse électronique"),
        "ISO 639-1 codes such as en, fr, de (at most 24)" => Some("des codes ISO 639-1, comme en, fr, de (24 au plus)"),
        "a Member State's code, such as NL, FR, DE, EL" => Some("le code d'un État membre, comme NL, FR, DE, EL"),
        "a Member State's code" => Some("le code d'un État membre"),
        "only when the provider may not be told" => Some("seulement si le fournisseur de contenu ne peut pas être informé"),
        "a date, YYYY-MM-DD" => Some("une date, AAAA-MM-JJ"),
        "required: the platform's peer name" => Some("obligatoire : le nom de pair de la plateforme"),
        "the URL is empty" => Some("l'URL est vide"),
        "the URL has no host" => Some("l'URL n'a pas d'hôte"),
        "an ISO 639-1 code such as en, fr, de" => Some("un code ISO 639-1, comme en, fr, de"),
        _ => None,
    };
    if let Some(text) = exact {
        return text.to_owned();
    }
    // "1 to 2000 printable characters", "at most 64 characters", "1 to 100 URLs"...
    let counted: &[(&str, &str, &str, &str)] = &[
        ("at most ", " characters", "au plus ", " caractères"),
        ("at least ", " characters", "au moins ", " caractères"),
        ("1 to ", " printable characters", "1 à ", " caractères imprimables"),
        ("1 to ", " characters", "1 à ", " caractères"),
        ("1 to ", " URLs", "1 à ", " URL"),
        ("the URL is longer than ", " bytes", "l'URL dépasse ", " octets"),
    ];
    for (start, end, debut, fin) in counted {
        if let Some(n) = detail.strip_prefix(start).and_then(|rest| rest.strip_suffix(end))
            && !n.is_empty()
            && n.bytes().all(|b| b.is_ascii_digit())
        {
            return format!("{debut}{n}{fin}");
        }
    }
    // What was given, quoted, then what is wrong with it: `"english": an ISO 639-1 code...`.
    if detail.starts_with('"')
        && let Some(end) = quoted_end(detail)
        && let Some(rest) = detail[end..].strip_prefix(": ")
    {
        let french = translate(rest);
        if french != rest {
            return format!("{} : {french}", &detail[..end]);
        }
    }
    if let Some(scheme) =
        detail.strip_prefix("scheme ").and_then(|d| d.strip_suffix(": only http and https URLs can be ordered, gated or blocked"))
    {
        return format!(
            "schéma {scheme} : seules les URL http et https peuvent faire l'objet d'une injonction, d'un filtrage ou d'un blocage"
        );
    }
    if let Some(url) = detail.strip_prefix("sha256 of ").and_then(|d| d.strip_suffix(": 64 lowercase hex digits")) {
        return format!("SHA-256 de {url} : 64 chiffres hexadécimaux en minuscules");
    }
    if let Some(url) = detail.strip_suffix(" is named twice") {
        return format!("{url} est nommée deux fois");
    }
    if let Some(languages) = detail.strip_prefix("the platform designated ").and_then(|d| d.strip_suffix(" (Art. 15(2))")) {
        return format!("la plateforme a désigné {languages} (art. 15, par. 2)");
    }
    if let Some(what) = detail.strip_prefix("required: ") {
        let french = match what {
            "this node's Member State (Annex I section A)" => "l'État membre de ce nœud (annexe I, section A)",
            "the platform's Member State (section A)" => "l'État membre de la plateforme (section A)",
            "this authority's type (section E)" => "le type de cette autorité (section E)",
            "this authority's representative, name and post (section E)" => {
                "le représentant de cette autorité, nom et fonction (section E)"
            }
            "this authority's email (section E)" => "l'adresse électronique de cette autorité (section E)",
            "the court or body that hears challenges (section G)" => "la juridiction ou l'organe compétent pour les recours (section G)",
            "the time allowed to challenge (section G)" => "le délai de recours (section G)",
            "the competent authority of the platform's Member State, for the copy (section D)" => {
                "l'autorité compétente de l'État membre de la plateforme, pour la copie (section D)"
            }
            _ => return detail.to_owned(),
        };
        return format!("obligatoire : {french}");
    }
    if let Some(name) = detail.strip_prefix("no peer ") {
        return format!("aucun pair {name}");
    }
    detail.to_owned()
}

/// Where the quoted text at the start of `detail` ends (after its closing quote; quotes inside
/// are escaped, as Rust's `{:?}` writes them).
fn quoted_end(detail: &str) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in detail.char_indices().skip(1) {
        match c {
            '\\' if !escaped => escaped = true,
            '"' if !escaped => return Some(i + 1),
            _ => escaped = false,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use tocsin_model::{CanonicalUrl, OrderFields, OrderKind, Reason, Target};

    use super::translate;

    /// An order with every field wrong at once.
    fn all_wrong() -> OrderFields {
        let url = CanonicalUrl::parse("https://videohost.example/v/1").expect("a URL");
        OrderFields {
            id: "01M8NBJZ9R3XRCERC33TX8ZJ43".parse().expect("an id"),
            kind: OrderKind::RemovalOrder,
            reference: "r".repeat(65),
            issuing_authority: String::new(),
            addressee: "bad\u{7}name".to_owned(),
            issued_at: 0,
            targets: vec![
                Target { url: url.clone(), sha256: Some("XYZ".to_owned()), as_written: None },
                Target { url, sha256: None, as_written: None },
            ],
            reasons: vec![Reason::Incite, Reason::Incite],
            statement: String::new(),
            location: "\u{7}".to_owned(),
            legal_basis: String::new(),
            provider_may_be_told: true,
            confidential_until: Some(1),
            redress: String::new(),
            language: "english".to_owned(),
            emergency_justification: Some(" ".repeat(2001)),
            annex: tocsin_model::AnnexSections {
                cross_border: true,
                authority: tocsin_model::LegalDetails {
                    member_state: Some("UK".to_owned()),
                    email: Some("x".to_owned()),
                    phone: Some(String::new()),
                    fax: Some("\u{7}".to_owned()),
                    languages: vec!["english".to_owned()],
                    ..Default::default()
                },
                provider: tocsin_model::LegalDetails { languages: vec!["fr".to_owned()], ..Default::default() },
                ..Default::default()
            },
        }
    }

    #[test]
    fn every_message_the_order_form_can_get_is_known_in_french() {
        let mut messages: Vec<String> = all_wrong().issue_faults().into_iter().map(|f| f.into_parts().1).collect();
        let mut referral = all_wrong();
        referral.kind = OrderKind::Referral;
        referral.reasons.clear();
        referral.targets = (0..101)
            .map(|i| Target { url: CanonicalUrl::parse(format!("http://a.example/{i}")).expect("url"), sha256: None, as_written: None })
            .collect();
        referral.reference = String::new();
        messages.extend(referral.faults().into_iter().map(|f| f.into_parts().1));
        let mut order = all_wrong();
        order.reasons.clear();
        messages.extend(order.issue_faults().into_iter().map(|f| f.into_parts().1));
        for input in ["ftp://a.example/x", "http:///x", "", &"a".repeat(tocsin_model::MAX_URL_BYTES + 1)] {
            let e = CanonicalUrl::parse(input).expect_err("not a URL");
            messages.push(format!("{input:?}: {e}"));
            messages.push(e.to_string());
        }
        messages.extend(["required: the platform's peer name", "no peer \"x\"", "a date, YYYY-MM-DD"].map(str::to_owned));
        // The answers' checks (`problem::printable`, the reasons of reviews and answers).
        messages.extend(["1 to 2000 printable characters", "1 to 2000 characters"].map(str::to_owned));
        assert!(messages.len() > 15, "{messages:?}");
        for message in &messages {
            let french = translate(message);
            assert_ne!(&french, message, "no French for {message:?}");
        }
    }

    #[test]
    fn what_the_reader_typed_is_kept_as_typed() {
        assert_eq!(
            translate("\"ftp://a.example/x\": scheme \"ftp\": only http and https URLs can be ordered, gated or blocked"),
            "\"ftp://a.example/x\" : schéma \"ftp\" : seules les URL http et https peuvent faire l'objet d'une injonction, d'un filtrage ou d'un blocage"
        );
        assert_eq!(translate("\"english\": an ISO 639-1 code such as en, fr, de"), "\"english\" : un code ISO 639-1, comme en, fr, de");
        assert_eq!(translate("at most 64 characters"), "au plus 64 caractères");
        assert_eq!(translate("something new"), "something new", "unknown messages are shown as given");
    }
}
