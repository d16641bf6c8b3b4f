//! A video's vPDQ features as a bank signal's value: one PDQ hash, quality and time per hashed
//! frame. Read tolerantly in the forms other tools write (Meta's C++ hash files, the JSON list of
//! python-threatexchange with its 3-significant-digit times, Tocsin's own), kept in one
//! canonical spelling, `hex,quality,seconds` entries joined by `;` with the seconds to three
//! decimals, so that the same features are the same signal whoever wrote them.

use std::fmt::Write as _;

use crate::BankError;

/// The most frames one vPDQ signal may carry: 20,000 lines of about 75 bytes keep a signal under
/// 1.5 MB, so a batch of signals and a bank feed stay within their body limits. Eleven minutes
/// of 30 frames a second hashed densely; longer videos are banked with a coarser sampling.
pub const MAX_VPDQ_FRAMES: usize = 20_000;

/// One hashed frame.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VpdqFeature {
    /// The PDQ hash, 64 lower-case hex digits.
    pub hex: String,
    /// PDQ's quality, 0 to 100.
    pub quality: u8,
    /// The frame's time in the video, in milliseconds.
    pub millis: u64,
}

/// A video's features, in frame order.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct VpdqFeatures(pub Vec<VpdqFeature>);

impl VpdqFeatures {
    /// Reads features from any of the forms: a JSON list of `"hex,quality,seconds"` strings
    /// (python-threatexchange), lines of `frame,quality,hex,seconds` (Meta's C++ files), or
    /// entries of `hex,quality,seconds` separated by `;` or line breaks (Tocsin's).
    pub fn parse(text: &str) -> Result<Self, BankError> {
        let text = text.trim();
        let entries: Vec<String> = if text.starts_with('[') {
            serde_json::from_str::<Vec<String>>(text).map_err(|e| bad(text, &format!("a JSON list of strings ({e})")))?
        } else {
            text.split([';', '\n']).map(|e| e.trim().to_owned()).filter(|e| !e.is_empty()).collect()
        };
        if entries.is_empty() {
            return Err(bad(text, "at least one frame"));
        }
        if entries.len() > MAX_VPDQ_FRAMES {
            return Err(bad(text, &format!("at most {MAX_VPDQ_FRAMES} frames")));
        }
        entries
            .iter()
            .enumerate()
            .map(|(i, e)| feature(e).map_err(|why| bad(e, &format!("frame {i}: {why}"))))
            .collect::<Result<_, _>>()
            .map(Self)
    }

    /// Drops every feature whose hash an earlier one has (python-threatexchange's `dedupe`):
    /// a banked video hashed at every frame keeps each distinct picture once.
    pub fn dedupe(self) -> Self {
        let mut seen = std::collections::HashSet::new();
        Self(self.0.into_iter().filter(|f| seen.insert(f.hex.clone())).collect())
    }

    /// The canonical spelling.
    pub fn canonical(&self) -> String {
        let mut out = String::with_capacity(self.0.len() * 76);
        for (i, f) in self.0.iter().enumerate() {
            if i > 0 {
                out.push(';');
            }
            let _ = write!(out, "{},{},{}.{:03}", f.hex, f.quality, f.millis / 1000, f.millis % 1000);
        }
        out
    }

    /// python-threatexchange's form: a JSON list of `"hex,quality,seconds"` with the seconds
    /// to three significant digits as Python's `f"{t:.3}"` writes them (`1.23e+02`).
    pub fn to_pytx(&self) -> String {
        let entries: Vec<String> =
            self.0.iter().map(|f| format!("{},{},{}", f.hex, f.quality, python_3g(f.millis as f64 / 1000.0))).collect();
        serde_json::to_string(&entries).unwrap_or_default()
    }

    /// Meta's C++ file form: `frame,quality,hex,seconds` lines, the frames numbered in order
    /// (the original frame numbers are not kept).
    pub fn to_cpp_lines(&self) -> String {
        let mut out = String::new();
        for (i, f) in self.0.iter().enumerate() {
            let _ = writeln!(out, "{i},{},{},{}.{:03}", f.quality, f.hex, f.millis / 1000, f.millis % 1000);
        }
        out
    }
}

fn bad(value: &str, why: &str) -> BankError {
    BankError::Value { kind: crate::SignalType::Vpdq, value: value.chars().take(80).collect(), why: why.to_owned() }
}

/// One entry: `hex,quality,seconds` or `frame,quality,hex,seconds`.
fn feature(entry: &str) -> Result<VpdqFeature, String> {
    let fields: Vec<&str> = entry.split(',').map(str::trim).collect();
    let (hex, quality, seconds) = match fields[..] {
        [hex, quality, seconds] => (hex, quality, seconds),
        [frame, quality, hex, seconds] => {
            frame.parse::<u64>().map_err(|_| format!("frame number {frame:?}"))?;
            (hex, quality, seconds)
        }
        _ => return Err("hex,quality,seconds or frame,quality,hex,seconds".to_owned()),
    };
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err("a PDQ hash of 64 hex digits".to_owned());
    }
    let quality: u8 = quality.parse().ok().filter(|q| *q <= 100).ok_or_else(|| format!("quality {quality:?}: 0 to 100"))?;
    let secs: f64 = seconds
        .parse()
        .ok()
        .filter(|s: &f64| s.is_finite() && *s >= 0.0 && *s < 1e9)
        .ok_or_else(|| format!("time {seconds:?}: seconds"))?;
    Ok(VpdqFeature { hex: hex.to_ascii_lowercase(), quality, millis: (secs * 1000.0).round() as u64 })
}

/// Python's `format(t, ".3")` for a non-negative float: three significant digits, trailing
/// zeros dropped but one decimal kept in fixed notation (`10.0`), exponents spelt `e+02`.
fn python_3g(t: f64) -> String {
    if t == 0.0 {
        return "0.0".to_owned();
    }
    let exp = t.abs().log10().floor() as i32;
    // Rounding may carry into the next power of ten (9.995 -> 10.0).
    let sci = format!("{t:.2e}");
    let (mantissa, e) = sci.split_once('e').unwrap_or((&sci, "0"));
    let e: i32 = e.parse().unwrap_or(exp);
    // Python's "none" format switches to exponents one power of ten earlier than `g` does.
    if (-4..2).contains(&e) {
        let decimals = (2 - e).max(0) as usize;
        let fixed = format!("{t:.decimals$}");
        let trimmed = if fixed.contains('.') { fixed.trim_end_matches('0').trim_end_matches('.').to_owned() } else { fixed };
        // Python's repr-style `.3` keeps one decimal for whole numbers ("1.0", "10.0").
        if trimmed.contains('.') { trimmed } else { format!("{trimmed}.0") }
    } else {
        let mantissa = mantissa.trim_end_matches('0').trim_end_matches('.');
        format!("{mantissa}e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: &str = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";

    #[test]
    fn the_three_forms_read_as_one_canonical_value() {
        let pytx = format!(r#"["{H},100,0.0","{H},98,1.23e+02"]"#);
        let cpp = format!("0,100,{H},0.000\n3690,98,{},123.000\n", H.to_uppercase());
        let ours = format!("{H},100,0.000;{H},98,123.000");
        let values: Vec<String> = [pytx, cpp, ours.clone()].iter().map(|t| VpdqFeatures::parse(t).expect("reads").canonical()).collect();
        assert_eq!(values, [ours.clone(), ours.clone(), ours]);
    }

    #[test]
    fn python_writes_times_to_three_significant_digits() {
        // Checked with Python 3: f"{t:.3}" for each.
        for (t, python) in [
            (0.0, "0.0"),
            (0.033, "0.033"),
            (1.0, "1.0"),
            (1.5, "1.5"),
            (12.345, "12.3"),
            (123.456, "1.23e+02"),
            (1000.0, "1e+03"),
            (9.9999, "10.0"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
        ] {
            assert_eq!(python_3g(t), python, "{t}");
        }
    }

    #[test]
    fn wrong_values_are_refused_naming_the_frame() {
        for (text, why) in [
            ("", "at least one frame"),
            ("[1, 2]", "JSON list of strings"),
            (&format!("{H},101,0.0") as &str, "frame 0: quality"),
            (&format!("{H},50,0.0;abc,50,1.0"), "frame 1: a PDQ hash"),
            (&format!("{H},50,-1"), "frame 0: time"),
            (&format!("{H},50,NaN"), "frame 0: time"),
            (&format!("{H},50"), "frame 0: hex,quality,seconds"),
        ] {
            let e = VpdqFeatures::parse(text).expect_err(text).to_string();
            assert!(e.contains(why), "{text}: {e}");
        }
        let many = vec![format!("{H},50,0.0"); MAX_VPDQ_FRAMES + 1].join(";");
        assert!(VpdqFeatures::parse(&many).expect_err("too many").to_string().contains("at most 20000 frames"));
    }

    #[test]
    fn dedupe_keeps_the_first_of_each_hash_and_the_order() {
        let other = H.replace('f', "0");
        let f = VpdqFeatures::parse(&format!("{H},100,0;{other},90,1;{H},80,2")).expect("reads").dedupe();
        assert_eq!(f.canonical(), format!("{H},100,0.000;{other},90,1.000"));
    }

    #[test]
    fn exports_read_back_to_the_same_features_up_to_the_precision_they_keep() {
        let f = VpdqFeatures::parse(&format!("{H},100,0.5;{H},99,2.25")).expect("reads");
        assert_eq!(VpdqFeatures::parse(&f.to_cpp_lines()).expect("reads"), f);
        assert_eq!(VpdqFeatures::parse(&f.to_pytx()).expect("reads").canonical(), format!("{H},100,0.500;{H},99,2.250"));
    }
}
