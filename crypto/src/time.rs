//! Calendar arithmetic for messages and allowed_signers dates, without a time crate.
//!
//! Uses the proleptic Gregorian calendar and UTC only (Howard Hinnant's `days_from_civil`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Days since 1970-01-01 for a civil date.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Civil date (year, month, day) of a day count since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// `YYYY-MM-DD` (UTC) for a Unix timestamp.
pub(crate) fn format_date(unix: i64) -> String {
    let (y, m, d) = civil_from_days(unix.div_euclid(86_400));
    format!("{y:04}-{m:02}-{d:02}")
}

/// Unix seconds of a `SystemTime`, saturating (OpenPGP times fit easily).
pub(crate) fn unix_of(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => i64::try_from(e.duration().as_secs()).map_or(i64::MIN, |s| -s),
    }
}

/// `SystemTime` of Unix seconds; times before the epoch are clamped to it (OpenPGP has none).
pub(crate) fn system_time_of(unix: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(u64::try_from(unix).unwrap_or(0))
}

/// Parses an OpenSSH absolute time as used by `valid-after=`/`valid-before=`:
/// `YYYYMMDD`, `YYYYMMDDHHMM` or `YYYYMMDDHHMMSS`, optionally followed by `Z`.
///
/// Returns the Unix time and whether the `Z` (UTC) suffix was present. Without `Z`, ssh-keygen
/// reads the time in the verifier's local time zone; pushguard always reads it as UTC so the
/// verdict does not depend on the server's `TZ` (the caller warns about it).
pub(crate) fn parse_ssh_time(s: &str) -> Option<(i64, bool)> {
    let (digits, utc) = match s.strip_suffix(['Z', 'z']) {
        Some(d) => (d, true),
        None => (s, false),
    };
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<u32> { digits.get(range)?.parse().ok() };
    let (hh, mm, ss) = match digits.len() {
        8 => (0, 0, 0),
        12 => (num(8..10)?, num(10..12)?, 0),
        14 => (num(8..10)?, num(10..12)?, num(12..14)?),
        _ => return None,
    };
    let year = i64::from(num(0..4)?);
    let month = num(4..6)?;
    let day = num(6..8)?;
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => return None,
    };
    if day == 0 || day > days_in_month || hh > 23 || mm > 59 || ss > 59 {
        return None;
    }
    let secs = days_from_civil(year, month, day) * 86_400
        + i64::from(hh) * 3600
        + i64::from(mm) * 60
        + i64::from(ss);
    Some((secs, utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip() {
        assert_eq!(format_date(0), "1970-01-01");
        assert_eq!(format_date(1_767_225_600), "2026-01-01");
        assert_eq!(format_date(951_782_400), "2000-02-29");
        assert_eq!(format_date(-1), "1969-12-31");
        for days in [-800_000i64, -1, 0, 59, 60, 11_016, 20_000, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }

    #[test]
    fn ssh_times() {
        assert_eq!(parse_ssh_time("20260101"), Some((1_767_225_600, false)));
        assert_eq!(parse_ssh_time("20260101Z"), Some((1_767_225_600, true)));
        assert_eq!(
            parse_ssh_time("202601010130Z"),
            Some((1_767_225_600 + 5400, true))
        );
        assert_eq!(
            parse_ssh_time("20260101013005"),
            Some((1_767_225_600 + 5405, false))
        );
        for bad in [
            "2026",
            "2026010",
            "20261301",
            "20260230",
            "2026010125",
            "x0260101",
            "",
        ] {
            assert_eq!(parse_ssh_time(bad), None, "{bad}");
        }
        assert_eq!(parse_ssh_time("20240229").map(|t| t.0), Some(1_709_164_800));
    }
}
