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

/// Parses `90s`, `30m`, `2h`, `1d`, `1w`, or combinations like `1h30m`.
/// A bare number means seconds.
pub fn parse_duration(text: &str) -> Result<Duration, Invalid> {
    let bad = || {
        Invalid(format!(
            "invalid duration '{}': write it like 90s, 30m, 2h, 1d or 1h30m",
            super::names::escape_control(text)
        ))
    };
    let text = text.trim();
    if text.is_empty() {
        return Err(bad());
    }
    if let Ok(seconds) = text.parse::<i64>() {
        return Duration::try_seconds(seconds).filter(|d| *d >= Duration::zero()).ok_or_else(bad);
    }
    let mut total = Duration::zero();
    let mut digits = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let n: i64 = digits.parse().map_err(|_| bad())?;
        digits.clear();
        let unit = match c {
            's' => Duration::try_seconds(n),
            'm' => Duration::try_minutes(n),
            'h' => Duration::try_hours(n),
            'd' => Duration::try_days(n),
            'w' => Duration::try_weeks(n),
            _ => None,
        }
        .ok_or_else(bad)?;
        total = total.checked_add(&unit).ok_or_else(bad)?;
    }
    if !digits.is_empty() {
        return Err(bad());
    }
    Ok(total)
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
    let age = parse_duration(text).map_err(|_| {
        Invalid(format!(
            "invalid time '{}': give an RFC 3339 time, a date like 2026-11-22, or an age like 2h",
            super::names::escape_control(text)
        ))
    })?;
    Ok(now - age)
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
    }

    #[test]
    fn malformed_durations_are_refused() {
        for text in ["", "m", "10x", "1h30", "-5", "h1", "99999999999999999999d"] {
            assert!(parse_duration(text).is_err(), "{text:?}");
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
    }
}
