//! Times and durations as users write them (`30m`, `2h`, `1d`) and as the
//! store keeps them (RFC 3339 UTC, millisecond precision).

use super::Invalid;
use chrono::{DateTime, Duration, SubsecRound, Utc};

pub type Timestamp = DateTime<Utc>;

/// Rounds a time to the precision the store keeps, so a value read back
/// compares equal to the one written.
pub fn to_stored(time: Timestamp) -> Timestamp {
    time.trunc_subsecs(3)
}

/// The longest duration any flag or setting accepts (`--ttl`, `--grace`,
/// `--wait`, `orchestrate.staleAfter`, …): a year. Longer leases and waits
/// are mistakes, and a bound keeps every time computed from one (an expiry,
/// a deadline) a plain RFC 3339 time.
pub fn max_duration() -> Duration {
    Duration::days(MAX_DURATION_DAYS)
}

const MAX_DURATION_DAYS: i64 = 365;

/// Refuses a duration longer than [`max_duration`], naming the bound.
pub fn check_duration(text: &str, duration: Duration) -> Result<Duration, Invalid> {
    if duration > max_duration() {
        return Err(too_long(text));
    }
    Ok(duration)
}

fn too_long(text: &str) -> Invalid {
    Invalid(format!(
        "duration '{}' is too long: the most is {MAX_DURATION_DAYS}d (a year)",
        super::names::escape_control(text)
    ))
}

/// Parses `500ms`, `90s`, `30m`, `2h`, `1d`, `1w`, or combinations like
/// `1h30m`. A bare number means seconds. Anything longer than
/// [`max_duration`] is refused as too long, however many digits it has.
pub fn parse_duration(text: &str) -> Result<Duration, Invalid> {
    let millis = duration_millis(text).ok_or_else(|| {
        Invalid(format!(
            "invalid duration '{}': write it like 500ms, 90s, 30m, 2h, 1d or 1h30m",
            super::names::escape_control(text)
        ))
    })?;
    milliseconds(text, millis)
}

/// The milliseconds a well-formed duration stands for, or `None` if it is
/// malformed. Counting saturates: a number too large for any integer type
/// is still well-formed, just too long.
fn duration_millis(text: &str) -> Option<u64> {
    let text = text.trim();
    let number = |digits: &str| (!digits.is_empty()).then(|| digits.parse::<u64>().unwrap_or(u64::MAX));
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return number(text).map(|s| s.saturating_mul(1000));
    }
    let mut total: u64 = 0;
    let mut digits = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let n = number(&digits)?;
        digits.clear();
        let unit: u64 = match c {
            'm' if chars.peek() == Some(&'s') => {
                chars.next();
                1
            }
            's' => 1000,
            'm' => 60_000,
            'h' => 3_600_000,
            'd' => 86_400_000,
            'w' => 7 * 86_400_000,
            _ => return None,
        };
        total = total.saturating_add(n.saturating_mul(unit));
    }
    (digits.is_empty() && !text.is_empty()).then_some(total)
}

fn milliseconds(text: &str, millis: u64) -> Result<Duration, Invalid> {
    let duration =
        i64::try_from(millis).ok().and_then(Duration::try_milliseconds).ok_or_else(|| too_long(text))?;
    check_duration(text, duration)
}

/// Formats a duration the short way people read it, in at most two units:
/// `45s`, `12m`, `1h59m`, `3h`, `2d4h`.
pub fn format_duration(duration: Duration) -> String {
    let s = duration.num_seconds().max(0);
    let two = |big: i64, big_unit: &str, small: i64, small_unit: &str| {
        if small == 0 {
            format!("{big}{big_unit}")
        } else {
            format!("{big}{big_unit}{small}{small_unit}")
        }
    };
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m", s / 60),
        3600..=86_399 => two(s / 3600, "h", s % 3600 / 60, "m"),
        _ => two(s / 86_400, "d", s % 86_400 / 3600, "h"),
    }
}

/// Parses a point in time for `--since`: an RFC 3339 time, a date
/// (`2026-11-22`), or an age (`2h` means two hours before `now`).
pub fn parse_when(text: &str, now: Timestamp) -> Result<Timestamp, Invalid> {
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Ok(time.with_timezone(&Utc));
    }
    if let Ok(date) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        if let Some(midnight) = date.and_hms_opt(0, 0, 0) {
            return Ok(midnight.and_utc());
        }
    }
    let age = duration_millis(text).ok_or_else(|| {
        Invalid(format!(
            "invalid time '{}': give an RFC 3339 time, a date like 2026-11-22, or an age like 2h",
            super::names::escape_control(text)
        ))
    })?;
    Ok(now - milliseconds(text, age)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_in_every_unit_and_combination() {
        assert_eq!(parse_duration("90s").unwrap(), Duration::seconds(90));
        assert_eq!(parse_duration("30m").unwrap(), Duration::minutes(30));
        assert_eq!(parse_duration("2h").unwrap(), Duration::hours(2));
        assert_eq!(parse_duration("1d").unwrap(), Duration::days(1));
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::minutes(90));
        assert_eq!(parse_duration("15").unwrap(), Duration::seconds(15));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::milliseconds(500));
        assert_eq!(parse_duration("1m30s250ms").unwrap(), Duration::milliseconds(90_250));
    }

    #[test]
    fn malformed_durations_are_refused() {
        for text in ["", "m", "10x", "1h30", "-5", "h1", "1h-5m", "1.5h", "5ms1", "5sm"] {
            let e = parse_duration(text).unwrap_err();
            assert!(e.0.contains("invalid duration"), "{text:?}: {e}");
        }
    }

    #[test]
    fn durations_longer_than_a_year_are_too_long_however_they_are_written() {
        assert_eq!(parse_duration("365d").unwrap(), Duration::days(365));
        assert_eq!(parse_duration("52w").unwrap(), Duration::weeks(52));
        for text in [
            "366d",
            "8761h",
            "999999999h",
            "99999999999999h",
            "99999999999999999999d",
            "99999999999999999999",
        ] {
            let e = parse_duration(text).unwrap_err();
            assert!(e.0.contains("too long") && e.0.contains("365d"), "{text:?}: {e}");
        }
    }

    #[test]
    fn durations_format_short() {
        assert_eq!(format_duration(Duration::seconds(45)), "45s");
        assert_eq!(format_duration(Duration::minutes(12)), "12m");
        assert_eq!(format_duration(Duration::hours(3)), "3h");
        assert_eq!(format_duration(Duration::minutes(119)), "1h59m");
        assert_eq!(format_duration(Duration::days(2)), "2d");
        assert_eq!(format_duration(Duration::hours(52)), "2d4h");
    }

    #[test]
    fn when_accepts_times_dates_and_ages() {
        let now = DateTime::parse_from_rfc3339("2026-11-22T12:00:00Z").unwrap().with_timezone(&Utc);
        assert_eq!(parse_when("2h", now).unwrap(), now - Duration::hours(2));
        assert_eq!(parse_when("2026-11-20", now).unwrap().to_rfc3339(), "2026-11-20T00:00:00+00:00");
        assert!(parse_when("yesterday", now).is_err());
        assert!(parse_when("99999999999h", now).unwrap_err().0.contains("too long"));
    }
}
