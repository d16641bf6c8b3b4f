//! Civil dates (proleptic Gregorian, UTC) from and to Unix days, by Howard Hinnant's algorithms,
//! dates and RFC 3339 times read from text, and periods counted in calendar months, as the law counts them ("six months from the
//! removal", TCO Art. 6(2)), without a calendar crate.

/// The (year, month, day) of a Unix day number.
pub fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// The Unix day number of a civil date, or `None` when it is not one (2026-02-29).
pub fn days_from_civil(year: i64, month: i64, day: i64) -> Option<i64> {
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if month > 2 { month - 3 } else { month + 9 };
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

const DAY_MS: i64 = 86_400_000;

/// The last millisecond (UTC) of the day `months` calendar months after the day of `unix_ms`:
/// the same day of the month, or the month's last day when it is shorter (31 August + 6 months
/// is the end of 28 or 29 February). A period counted this way never ends early, whatever the
/// months' lengths; it ends at most a day late.
pub fn end_of_day_months_after(unix_ms: i64, months: i64) -> i64 {
    let (year, month, day) = civil_from_days(unix_ms.div_euclid(DAY_MS));
    let index = year * 12 + (month - 1) + months;
    let (year, month) = (index.div_euclid(12), index.rem_euclid(12) + 1);
    let day = day.min(days_in_month(year, month));
    let days = days_from_civil(year, month, day).unwrap_or_default();
    (days + 1) * DAY_MS - 1
}

/// Unix milliseconds at the start (UTC) of a `YYYY-MM-DD` date, if it is one.
pub fn parse_date_ms(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let number = |range: std::ops::Range<usize>| text.get(range)?.parse::<i64>().ok();
    let days = days_from_civil(number(0..4)?, number(5..7)?, number(8..10)?)?;
    Some(days * 86_400_000)
}

/// An RFC 3339 time (`2026-12-06T09:30:00Z`, seconds and fractions optional, `Z` or an offset
/// such as `+01:00`), if it is one: its Unix milliseconds, and its offset in minutes east of UTC.
pub fn parse_rfc3339(text: &str) -> Option<(i64, i32)> {
    let (date, rest) = (text.get(..10)?, text.get(10..)?);
    let day = parse_date_ms(date)?;
    let rest = rest.strip_prefix(['T', 't', ' '])?;
    let (clock, offset_ms) = if let Some(clock) = rest.strip_suffix(['Z', 'z']) {
        (clock, 0)
    } else {
        let at = rest.rfind(['+', '-'])?;
        let (clock, offset) = rest.split_at(at);
        let sign = if offset.starts_with('-') { -1 } else { 1 };
        let (h, m) = offset[1..].split_once(':')?;
        let (h, m) = (h.parse::<i64>().ok()?, m.parse::<i64>().ok()?);
        if h > 23 || m > 59 || offset.len() != 6 {
            return None;
        }
        (clock, sign * (h * 3_600_000 + m * 60_000))
    };
    let mut parts = clock.splitn(3, ':');
    let hour: i64 = parts.next().filter(|p| p.len() == 2)?.parse().ok()?;
    let minute: i64 = parts.next().filter(|p| p.len() == 2)?.parse().ok()?;
    let ms = match parts.next() {
        None => 0,
        Some(seconds) => {
            let (whole, fraction) = seconds.split_once('.').unwrap_or((seconds, ""));
            let whole: i64 = whole.parse().ok().filter(|w| whole.len() == 2 && *w <= 59)?;
            if !fraction.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            whole * 1000 + format!("{fraction:0<3}").get(..3)?.parse::<i64>().ok()?
        }
    };
    if hour > 23 || minute > 59 {
        return None;
    }
    Some((day + hour * 3_600_000 + minute * 60_000 + ms - offset_ms, (offset_ms / 60_000) as i32))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(year: i64, month: i64, day: i64) -> i64 {
        days_from_civil(year, month, day).expect("a date") * DAY_MS
    }

    #[test]
    fn six_months_are_counted_in_calendar_months_to_the_end_of_the_day() {
        let cases = [
            ((2026, 7, 1), (2027, 1, 1)),
            ((2026, 3, 1), (2026, 9, 1)),
            ((2026, 8, 31), (2027, 2, 28)),
            ((2027, 8, 31), (2028, 2, 29)),
            ((2026, 12, 7), (2027, 6, 7)),
            ((1999, 12, 31), (2000, 6, 30)),
        ];
        for (from, to) in cases {
            let start = ms(from.0, from.1, from.2) + 13 * 3_600_000;
            assert_eq!(end_of_day_months_after(start, 6), ms(to.0, to.1, to.2) + DAY_MS - 1, "{from:?}");
        }
    }

    #[test]
    fn days_and_dates_round_trip() {
        for days in [-719_468, -1, 0, 11_016, 20_794, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), Some(days));
        }
        assert_eq!(days_from_civil(2026, 2, 29), None);
        assert_eq!(days_from_civil(2026, 13, 1), None);
    }
}
