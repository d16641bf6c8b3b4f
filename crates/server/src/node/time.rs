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
    tocsin_model::calendar::parse_date_ms(text)
}

/// Unix milliseconds of an RFC 3339 time (`2026-12-06T09:30:00Z`, seconds and fractions
/// optional, `Z` or an offset such as `+01:00`), if it is one.
pub fn parse_rfc3339_ms(text: &str) -> Option<i64> {
    tocsin_model::calendar::parse_rfc3339(text).map(|(unix_ms, _)| unix_ms)
}

/// How long to wait before attempt `n` (1-based) of a delivery: 1 s doubling to 5 minutes.
pub fn backoff(attempts: i64) -> std::time::Duration {
    let exp = attempts.clamp(0, 9) as u32;
    std::time::Duration::from_secs((1u64 << exp).min(300))
}

/// Sleeps until `next_due` (Unix ms; at most a minute, and a minute when nothing is due or the
/// database did not answer), or until `wake` is notified: the rhythm of every queue worker.
pub async fn wait_until_due(next_due: Result<Option<i64>, tocsin_store::StoreError>, wake: &tokio::sync::Notify) {
    let wait = match next_due {
        Ok(Some(due)) => std::time::Duration::from_millis(due.saturating_sub(now_ms() as i64).clamp(0, 60_000) as u64),
        _ => std::time::Duration::from_secs(60),
    };
    let _ = tokio::time::timeout(wait, wake.notified()).await;
}

#[cfg(test)]
mod tests {
    use super::{parse_date_ms, rfc3339_ms};

    #[test]
    fn rfc3339_times_read_back_with_their_offsets() {
        use super::parse_rfc3339_ms;
        for ms in [0, 1_796_668_494_205, 951_782_400_000] {
            assert_eq!(parse_rfc3339_ms(&rfc3339_ms(ms)), Some(ms));
        }
        assert_eq!(parse_rfc3339_ms("2026-12-06T10:30:00+01:00"), parse_rfc3339_ms("2026-12-06T09:30:00Z"));
        assert_eq!(parse_rfc3339_ms("2026-12-06T09:30Z"), parse_rfc3339_ms("2026-12-06T09:30:00.000Z"));
        for bad in ["2026-12-06", "2026-12-06T25:00Z", "2026-12-06T09:30", "2026-12-06T09:60Z", "2026-02-30T00:00Z", "x"] {
            assert_eq!(parse_rfc3339_ms(bad), None, "{bad}");
        }
    }

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
