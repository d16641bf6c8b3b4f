//! Which characters free text may not hold: what a reader cannot see, or what changes how the
//! text around it is shown.

/// Whether `c` is a Unicode bidirectional control (the embeddings, overrides and isolates, and
/// the marks): invisible, yet it reorders what a reader sees, so a reason, a reference or a label
/// could read otherwise than it is stored ("Trojan Source").
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Whether `c` may not appear in text that people write and read (a reason, a note, a
/// reference): control characters, a line break excepted, and bidirectional controls.
pub fn is_hidden_control(c: char) -> bool {
    (c.is_control() && c != '\n') || is_bidi_control(c)
}

/// What is wrong with free text that must have `min` to `max` characters and no hidden
/// control, in the words a form shows next to the field; `None` when it holds.
pub(crate) fn text_fault(value: &str, min: usize, max: usize) -> Option<String> {
    let chars = value.chars().count();
    if chars < min {
        Some(if min == 1 { "required".to_owned() } else { format!("at least {min} characters") })
    } else if chars > max {
        Some(format!("at most {max} characters"))
    } else if value.chars().any(is_hidden_control) {
        Some("control characters are not allowed".to_owned())
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_breaks_and_scripts_of_either_direction_are_text_and_their_controls_are_not() {
        for text in ["night shift\nnote", "مرحبا بالعالم", "שלום", "Décret 2015-125, art. 4"] {
            assert!(!text.chars().any(is_hidden_control), "{text:?}");
        }
        for c in ['\0', '\t', '\r', '\u{7f}', '\u{202E}', '\u{2066}', '\u{2069}', '\u{200F}', '\u{061C}'] {
            assert!(is_hidden_control(c), "{c:?}");
        }
    }
}
