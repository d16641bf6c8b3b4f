//! Times: the clock in Unix milliseconds, and Unix milliseconds as RFC 3339 UTC for people,
//! without a calendar crate.

/// Unix milliseconds now.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// `2026-11-30T04:32:09.016Z` for Unix milliseconds.
pub fn rfc3339_ms(unix_ms: i64) -> String {
    let (days, ms_of_day) = (unix_ms.div_euclid(86_400_000), unix_ms.rem_euclid(86_400_000));
    let (year, month, day) = tocsin_model::calendar::civil_from_days(days);
    let (h, m, s, ms) = (ms_of_day / 3_600_000, ms_of_day / 60_000 % 60, ms_of_day / 1000 % 60, ms_of_day % 1000);
    format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{ms:03}Z")
}

/// Unix milliseconds at the start (UTC) of a `YYYY-MM-DD` date, if it is one.
pub fn parse_date_ms(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let number = |range: std::ops::Range<usize>| text.get(range)?.parse::<i64>().ok();
    let days = tocsin_model::calendar::days_from_civil(number(0..4)?, number(5..7)?, number(8..10)?)?;
    Some(days * 86_400_000)
}

#[cfg(test)]
mod tests {
    use super::{parse_date_ms, rfc3339_ms};

    #[test]
    fn dates_read_back_to_the_instant_they_print_from() {
        for ms in [0, 951_782_400_000, 1_709_164_800_000, 1_796_000_000_000 / 86_400_000 * 86_400_000] {
            assert_eq!(parse_date_ms(&rfc3339_ms(ms)[..10]), Some(ms));
        }
        for bad in ["2026-02-29", "2026-13-01", "2026-00-10", "26-01-01", "2026/01/01", "2026-01-1x", ""] {
            assert_eq!(parse_date_ms(bad), None, "{bad}");
        }
    }

    #[test]
    fn known_instants_print_as_rfc_3339() {
        assert_eq!(rfc3339_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339_ms(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(rfc3339_ms(1_709_251_199_999), "2024-02-29T23:59:59.999Z");
        assert_eq!(rfc3339_ms(1_796_013_129_016), "2026-11-30T04:32:09.016Z");
        assert_eq!(rfc3339_ms(-1), "1969-12-31T23:59:59.999Z");
    }
}
