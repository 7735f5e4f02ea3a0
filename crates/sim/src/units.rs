//! Human units in scenario files: durations (`"10s"`, `"250ms"`, `"1.5s"`, or a number of
//! seconds; strings are read by [`lagd_types::parse_duration`], the grammar of the settings
//! too) and rates (`"100Mbit"`, `"1Gbit/s"`, `"2000fps"`, or a number of bit/s).

use lagd_types::Duration;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// A duration as written in a scenario.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Dur(pub Duration);

/// A traffic or link rate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Rate {
    /// Bits per second (of Ethernet frame bytes, without preamble/FCS).
    Bps(f64),
    /// Frames per second.
    Fps(f64),
}

/// Why a unit string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct UnitError(pub String);

fn split_number(s: &str) -> Option<(f64, &str)> {
    let s = s.trim();
    let end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '_'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(end);
    let num: String = num.chars().filter(|&c| c != '_').collect();
    let v: f64 = num.parse().ok()?;
    if !v.is_finite() || v < 0.0 {
        return None;
    }
    Some((v, unit.trim()))
}

/// Parses `"100Mbit"`, `"100 Mbit/s"`, `"1G"`, `"64kbit"`, `"2000fps"`, `"2000pps"`.
pub fn parse_rate(s: &str) -> Result<Rate, UnitError> {
    let err = || {
        UnitError(format!(
            "invalid rate {s:?}: expected e.g. \"100Mbit\", \"1Gbit/s\", \"500kbit\" or \"2000fps\""
        ))
    };
    let (v, unit) = split_number(s).ok_or_else(err)?;
    let unit = unit.trim_end_matches("/s").trim_end_matches("ps");
    let lower = unit.to_ascii_lowercase();
    let mult = match lower.as_str() {
        "" | "bit" | "b" => 1.0,
        "k" | "kbit" | "kb" => 1e3,
        "m" | "mbit" | "mb" => 1e6,
        "g" | "gbit" | "gb" => 1e9,
        "f" | "fps" | "p" | "pps" | "frames" => return Ok(Rate::Fps(v)),
        _ => return Err(err()),
    };
    Ok(Rate::Bps(v * mult))
}

impl Rate {
    /// Frames per second for frames of `size` bytes.
    pub fn frames_per_sec(self, size: usize) -> f64 {
        match self {
            Rate::Fps(f) => f,
            Rate::Bps(b) => b / (size.max(1) as f64 * 8.0),
        }
    }
    /// Bits per second (a frame rate counts frames of `size` bytes).
    pub fn bits_per_sec(self, size: usize) -> f64 {
        match self {
            Rate::Bps(b) => b,
            Rate::Fps(f) => f * size as f64 * 8.0,
        }
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Rate::Fps(v) => write!(f, "{v}fps"),
            Rate::Bps(v) if v >= 1e9 => write!(f, "{}Gbit", v / 1e9),
            Rate::Bps(v) if v >= 1e6 => write!(f, "{}Mbit", v / 1e6),
            Rate::Bps(v) if v >= 1e3 => write!(f, "{}kbit", v / 1e3),
            Rate::Bps(v) => write!(f, "{v}bit"),
        }
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum NumOrStr {
    Int(i64),
    Float(f64),
    Str(String),
}

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let secs = |v: f64| -> Result<Dur, D::Error> {
            if v.is_finite() && v >= 0.0 {
                Ok(Dur(Duration::from_nanos((v * 1e9).round() as u64)))
            } else {
                Err(serde::de::Error::custom(format!(
                    "invalid duration {v}: must be a non-negative number of seconds"
                )))
            }
        };
        match NumOrStr::deserialize(d)? {
            NumOrStr::Int(i) => secs(i as f64),
            NumOrStr::Float(f) => secs(f),
            NumOrStr::Str(s) => lagd_types::parse_duration(&s)
                .map(Dur)
                .map_err(serde::de::Error::custom),
        }
    }
}
impl Serialize for Dur {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match NumOrStr::deserialize(d)? {
            NumOrStr::Int(i) if i >= 0 => Ok(Rate::Bps(i as f64)),
            NumOrStr::Float(f) if f.is_finite() && f >= 0.0 => Ok(Rate::Bps(f)),
            NumOrStr::Str(s) => parse_rate(&s).map_err(serde::de::Error::custom),
            _ => Err(serde::de::Error::custom(
                "invalid rate: must not be negative",
            )),
        }
    }
}
impl Serialize for Rate {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates() {
        assert_eq!(parse_rate("100Mbit"), Ok(Rate::Bps(100e6)));
        assert_eq!(parse_rate("1Gbit/s"), Ok(Rate::Bps(1e9)));
        assert_eq!(parse_rate("200 Mbps"), Ok(Rate::Bps(200e6)));
        assert_eq!(parse_rate("64kbit"), Ok(Rate::Bps(64e3)));
        assert_eq!(parse_rate("2000fps"), Ok(Rate::Fps(2000.0)));
        assert_eq!(parse_rate("2000pps"), Ok(Rate::Fps(2000.0)));
        assert!(parse_rate("fast").is_err());
        assert!((Rate::Bps(12e6).frames_per_sec(1500) - 1000.0).abs() < 1e-9);
        assert_eq!(Rate::Bps(200e6).to_string(), "200Mbit");
    }

    #[test]
    fn serde_forms() {
        #[derive(Deserialize, Debug)]
        struct T {
            a: Dur,
            b: Dur,
            c: Rate,
            d: Rate,
        }
        let t: T = toml::from_str("a = 3\nb = \"1.5s\"\nc = \"10Mbit\"\nd = 1000").unwrap();
        assert_eq!(t.a.0, Duration::from_secs(3));
        assert_eq!(t.b.0, Duration::from_millis(1500));
        assert_eq!(t.c, Rate::Bps(10e6));
        assert_eq!(t.d, Rate::Bps(1000.0));
        let e = toml::from_str::<T>("a = \"3 weeks\"\nb = 1\nc = 1\nd = 1");
        assert!(e.unwrap_err().to_string().contains("invalid duration"));
    }
}
