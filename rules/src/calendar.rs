//! The calendar, once for every crate: civil dates to and from Unix time, and the date formats
//! pushguard reads (policy dates, OpenSSH and ASN.1 times) and writes (`YYYY-MM-DD` in
//! messages). Proleptic Gregorian calendar, UTC only, plain arithmetic (Howard Hinnant's
//! `days_from_civil` / `civil_from_days`): no clock and no time zone database, so it belongs in
//! the engine's crate, which every other crate depends on.
//!
//! ```
//! use rules::calendar::{format_date, parse_date};
//!
//! let t = parse_date("2024-02-29").expect("a date");
//! assert_eq!(t, 1_709_164_800);
//! assert_eq!(format_date(t + 86_399), "2024-02-29");
//! ```

/// Days since 1970-01-01 of a civil date. `month` is 1..=12; `day` is not checked against the
/// month (day 31 of February counts on into March).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Civil date (year, month, day) of a day count since 1970-01-01.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    // In range by construction: day 1..=31, month 1..=12.
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Number of days in `month` (1..=12) of `year`; `None` for a month out of range.
pub fn days_in_month(year: i64, month: u32) -> Option<u32> {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => Some(31),
        4 | 6 | 9 | 11 => Some(30),
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => Some(29),
        2 => Some(28),
        _ => None,
    }
}

/// `YYYY-MM-DD` (UTC) of a Unix time.
pub fn format_date(unix: i64) -> String {
    let (y, m, d) = civil_from_days(unix.div_euclid(86_400));
    format!("{y:04}-{m:02}-{d:02}")
}

/// A policy date, `YYYY-MM-DD` (UTC midnight) or `YYYY-MM-DDTHH:MM[:SS]Z`, as Unix time.
///
/// The day is checked against 1..=31 only, not against its month: `2026-02-30` reads as
/// 2026-03-02, as policies have always read it.
pub fn parse_date(s: &str) -> Option<i64> {
    let s = s.trim();
    let (date, time) = match s.split_once('T') {
        Some((d, t)) => (d, Some(t.strip_suffix('Z')?)),
        None => (s, None),
    };
    let mut it = date.split('-');
    let y: i64 = it.next()?.parse().ok()?;
    let m: i64 = it.next()?.parse().ok()?;
    let d: i64 = it.next()?.parse().ok()?;
    if it.next().is_some() || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let days = days_from_civil(y, u32::try_from(m).ok()?, u32::try_from(d).ok()?);
    let secs = match time {
        None => 0,
        Some(t) => {
            let mut p = t.split(':');
            let h: i64 = p.next()?.parse().ok()?;
            let mi: i64 = p.next()?.parse().ok()?;
            let se: i64 = p.next().unwrap_or("0").parse().ok()?;
            if h > 23 || mi > 59 || se > 60 {
                return None;
            }
            h * 3600 + mi * 60 + se
        }
    };
    Some(days * 86_400 + secs)
}

/// An OpenSSH absolute time, as in `valid-after=`/`valid-before=` (also the digits of an ASN.1
/// GeneralizedTime): `YYYYMMDD`, `YYYYMMDDHHMM` or `YYYYMMDDHHMMSS`, optionally followed by `Z`.
/// The date must exist (day checked against its month).
///
/// Returns the Unix time and whether the `Z` (UTC) suffix was present. Without `Z`, ssh-keygen
/// reads the time in the verifier's local time zone; pushguard always reads it as UTC so the
/// verdict does not depend on the server's `TZ` (the caller warns about it).
pub fn parse_openssh_time(s: &str) -> Option<(i64, bool)> {
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
    let days_in_month = days_in_month(year, month)?;
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
    fn days_round_trip() {
        for days in [-800_000i64, -1, 0, 59, 60, 11_016, 20_000, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
    }

    #[test]
    fn month_lengths_follow_the_leap_rules() {
        assert_eq!(days_in_month(2024, 2), Some(29));
        assert_eq!(days_in_month(2023, 2), Some(28));
        assert_eq!(days_in_month(1900, 2), Some(28));
        assert_eq!(days_in_month(2000, 2), Some(29));
        assert_eq!(days_in_month(2026, 4), Some(30));
        assert_eq!(days_in_month(2026, 12), Some(31));
        assert_eq!(days_in_month(2026, 0), None);
        assert_eq!(days_in_month(2026, 13), None);
    }

    #[test]
    fn dates_are_formatted_as_utc_days() {
        assert_eq!(format_date(0), "1970-01-01");
        assert_eq!(format_date(1_735_689_600), "2025-01-01");
        assert_eq!(format_date(1_767_225_600), "2026-01-01");
        assert_eq!(format_date(951_782_400), "2000-02-29");
        assert_eq!(format_date(1_709_164_800), "2024-02-29");
        assert_eq!(format_date(-1), "1969-12-31");
        assert_eq!(format_date(-86_400), "1969-12-31");
    }

    #[test]
    fn policy_dates() {
        assert_eq!(parse_date("1970-01-01"), Some(0));
        assert_eq!(parse_date(" 2000-03-01 "), Some(951_868_800));
        assert_eq!(parse_date("2026-11-27T01:02:03Z"), Some(1_795_741_323));
        assert_eq!(parse_date("2026-11-27T01:02Z"), Some(1_795_741_320));
        // Unchecked against the month, as documented.
        assert_eq!(parse_date("2026-02-30"), parse_date("2026-03-02"));
        for bad in [
            "2026-13-01",
            "2026-00-01",
            "2026-01-32",
            "2026-01",
            "2026-01-01-01",
            "2026-11-27T01:02:03",
            "2026-11-27T24:00:00Z",
            "tomorrow",
            "",
        ] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
        for t in [0i64, 951_868_800, 1_795_741_323] {
            let day = t - t.rem_euclid(86_400);
            assert_eq!(parse_date(&format_date(t)), Some(day));
        }
    }

    #[test]
    fn openssh_times() {
        assert_eq!(parse_openssh_time("20260101"), Some((1_767_225_600, false)));
        assert_eq!(parse_openssh_time("20260101Z"), Some((1_767_225_600, true)));
        assert_eq!(
            parse_openssh_time("202601010130Z"),
            Some((1_767_225_600 + 5400, true))
        );
        assert_eq!(
            parse_openssh_time("20260101013005"),
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
            assert_eq!(parse_openssh_time(bad), None, "{bad}");
        }
        assert_eq!(
            parse_openssh_time("20240229").map(|t| t.0),
            Some(1_709_164_800)
        );
    }
}
