//! Conversions between `SystemTime` (Sequoia's) and Unix seconds (everything else). The
//! calendar itself (civil dates, `YYYY-MM-DD`, OpenSSH times) is [`rules::calendar`].

use std::time::{Duration, SystemTime, UNIX_EPOCH};

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_seconds_round_trip() {
        for t in [0, 1, 1_767_225_600] {
            assert_eq!(unix_of(system_time_of(t)), t);
        }
        assert_eq!(unix_of(UNIX_EPOCH - Duration::from_secs(5)), -5);
        assert_eq!(system_time_of(-5), UNIX_EPOCH);
    }
}
