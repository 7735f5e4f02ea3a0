//! Wall-clock time as Sun Trunking prints it atop each table and as `show-aggr -s -i` heads
//! each interval: `Jan 10 14:22:05 2002` (UTC: lagctl carries no time-zone database).

use std::time::{SystemTime, UNIX_EPOCH};

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// (year, month 1..=12, day 1..=31) of a day count since 1970-01-01 (proleptic Gregorian).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m as u32, d as u32)
}

/// Formats Unix time `secs` as `Mon DD HH:MM:SS YYYY` (UTC).
pub fn sun_timestamp(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    let mon = MONTHS.get((m as usize).saturating_sub(1)).unwrap_or(&"???");
    format!(
        "{mon} {d:02} {:02}:{:02}:{:02} {y}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The title line for now.
pub fn now_title() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    sun_timestamp(secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_timestamp_round_trips() {
        // 2002-01-10 14:22:05 UTC, the seed's first table.
        assert_eq!(sun_timestamp(1_010_672_525), "Jan 10 14:22:05 2002");
        assert_eq!(sun_timestamp(0), "Jan 01 00:00:00 1970");
        // A leap day.
        assert_eq!(sun_timestamp(951_782_400), "Feb 29 00:00:00 2000");
        assert_eq!(sun_timestamp(1_767_225_599), "Dec 31 23:59:59 2025");
    }
}
