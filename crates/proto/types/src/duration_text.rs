//! Durations as people write them in configuration, on the command line and in simulator
//! scenarios: `"6s"`, `"500ms"`, `"2m"`, `"1.5s"`, `"20us"`, and `"off"` where a timer may be
//! disabled.

use crate::Duration;
/// Why a duration string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid duration {0:?}: expected a number with a unit ns, us, ms, s, m or min, e.g. \"6s\", \"500ms\" or \"1.5s\""
)]
pub struct DurationError(pub String);

/// Parses a number, whole or with a fraction (`_` may separate digits), and a unit: `ns`, `us`
/// (or `µs`), `ms`, `s`, `m` or `min`; a number alone is seconds. `"500ms"`, `"6s"`, `"2m"`,
/// `"1.5s"`, `"20us"`, `"10"`. Rounded to the nearest nanosecond (a half up), at most
/// [`Duration::MAX`].
pub fn parse_duration(s: &str) -> Result<Duration, DurationError> {
    let err = || DurationError(s.to_string());
    let t = s.trim();
    let end = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '_'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(end);
    let ns_per: u128 = match unit.trim() {
        "ns" => 1,
        "us" | "µs" => 1_000,
        "ms" => 1_000_000,
        "s" | "" => 1_000_000_000,
        "m" | "min" => 60_000_000_000,
        _ => return Err(err()),
    };
    let digits: String = num.chars().filter(|&c| c != '_').collect();
    let (whole, frac) = digits.split_once('.').unwrap_or((&digits, ""));
    if (whole.is_empty() && frac.is_empty()) || frac.contains('.') {
        return Err(err());
    }
    let value = |ds: &str| {
        ds.bytes().fold(0u128, |v, d| {
            v.saturating_mul(10).saturating_add(u128::from(d - b'0'))
        })
    };
    // The fraction's first 27 digits: F / 10^k of a unit, F * ns_per < 10^27 * 6e10 < 2^128.
    let frac = &frac[..frac.len().min(27)];
    let scale = 10u128.pow(frac.len() as u32);
    let frac_ns = (value(frac) * ns_per + scale / 2) / scale;
    let ns = value(whole).saturating_mul(ns_per).saturating_add(frac_ns);
    Ok(Duration::from_nanos(u64::try_from(ns).unwrap_or(u64::MAX)))
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
        for bad in [
            "",
            "s",
            "6h",
            "-1s",
            "six s",
            ".",
            "_s",
            "1.2.3s",
            "+1s",
            "1e3s",
            "10 parsecs",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn parses_what_the_simulator_read() {
        // Fractions, ns and us, a number alone as seconds, `_` between digits: the grammar of
        // scenario files, now also of the settings.
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("9.9s"), Ok(Duration::from_millis(9900)));
        assert_eq!(parse_duration("10.152s"), Ok(Duration::from_millis(10_152)));
        assert_eq!(parse_duration("0.1s"), Ok(Duration::from_millis(100)));
        assert_eq!(parse_duration(".5s"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("5.s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("20us"), Ok(Duration::from_micros(20)));
        assert_eq!(parse_duration("20µs"), Ok(Duration::from_micros(20)));
        assert_eq!(parse_duration("100ns"), Ok(Duration::from_nanos(100)));
        assert_eq!(parse_duration("2min"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("6"), Ok(Duration::from_secs(6)));
        assert_eq!(parse_duration(" 6 s "), Ok(Duration::from_secs(6)));
        assert_eq!(parse_duration("1_000ms"), Ok(Duration::from_secs(1)));
        assert_eq!(parse_duration("1.25ms"), Ok(Duration::from_micros(1250)));
        // To the nearest nanosecond, a half up.
        assert_eq!(parse_duration("1.5ns"), Ok(Duration::from_nanos(2)));
        assert_eq!(parse_duration("0.0000000004s"), Ok(Duration::ZERO));
        assert_eq!(
            parse_duration("0.1234567891m"),
            Ok(Duration::from_nanos(7_407_407_346))
        );
        // Past the end of time: the longest duration.
        assert_eq!(
            parse_duration("99999999999999999999999s"),
            Ok(Duration::MAX)
        );
        assert_eq!(parse_duration("18446744073709551615ms"), Ok(Duration::MAX));
    }

    #[test]
    fn the_error_names_the_text_and_the_grammar() {
        let e = parse_duration("6x").unwrap_err().to_string();
        assert!(
            e.starts_with("invalid duration \"6x\": expected a number with a unit"),
            "{e}"
        );
        assert!(e.contains("1.5s"), "{e}");
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
