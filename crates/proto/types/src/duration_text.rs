//! Durations as people write them in configuration and on the command line: `"6s"`, `"500ms"`,
//! `"2m"`, and `"off"` where a timer may be disabled.

use crate::Duration;
/// Why a duration string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid duration {0:?}: expected a whole number with a unit ms, s or m, e.g. \"6s\"")]
pub struct DurationError(pub String);

/// Parses `"500ms"`, `"6s"`, `"2m"` (whole numbers only).
pub fn parse_duration(s: &str) -> Result<Duration, DurationError> {
    let t = s.trim();
    let err = || DurationError(s.to_string());
    let split = t.find(|c: char| !c.is_ascii_digit()).ok_or_else(err)?;
    let (num, unit) = t.split_at(split);
    if num.is_empty() {
        return Err(err());
    }
    let n: u64 = num.parse().map_err(|_| err())?;
    match unit.trim() {
        "ms" => Ok(Duration::from_millis(n)),
        "s" => Ok(Duration::from_secs(n)),
        "m" | "min" => Ok(Duration::from_secs(n.saturating_mul(60))),
        _ => Err(err()),
    }
}

/// Parses a duration or `"off"` (→ `None`).
pub fn parse_optional_duration(s: &str) -> Result<Option<Duration>, DurationError> {
    if s.trim().eq_ignore_ascii_case("off") {
        Ok(None)
    } else {
        parse_duration(s).map(Some)
    }
}

/// Formats a duration the way [`parse_duration`] reads it back.
pub fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms.is_multiple_of(60_000) && ms > 0 {
        format!("{}m", ms / 60_000)
    } else if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units_and_off() {
        assert_eq!(parse_duration("6s"), Ok(Duration::from_secs(6)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_optional_duration("off"), Ok(None));
        assert_eq!(
            parse_optional_duration("1s"),
            Ok(Some(Duration::from_secs(1)))
        );
        for bad in ["", "s", "6", "6h", "-1s", "1.5s", "six s"] {
            assert!(parse_duration(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn format_round_trips() {
        for d in [
            Duration::from_millis(250),
            Duration::from_secs(6),
            Duration::from_secs(120),
            Duration::ZERO,
        ] {
            assert_eq!(parse_duration(&format_duration(d)), Ok(d));
        }
    }
}
