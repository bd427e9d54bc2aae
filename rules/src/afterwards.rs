//! Judging a signature after the fact (`pushguard verify`): at which time its key is judged, and
//! when the server's record of an accepted object stands. Pure: the caller verifies again at the
//! time these functions name and hands the result back.
//!
//! - An object the server never recorded (an import) is judged at its signature time when its
//!   verdict now depends only on the key's lifecycle: a key that expired, was revoked or was
//!   not yet valid *now* may have been good *then*. The check at the current time comes first,
//!   so today's algorithm policy (no SHA-1, ...) applies whatever the signature claims.
//! - An accepted object's record stands against later expiry, rotation or soft revocation, but
//!   not against a key revoked as of the receive time (a hard revocation counts always).

use crate::calendar::format_date;
use crate::facts::{KeyVerdict, SignatureCheck, Timestamp};
use crate::identity::ObjectVerdict;
use crate::report::Code;

/// Verdicts that depend on when the key is judged.
fn lifecycle(v: KeyVerdict) -> bool {
    matches!(
        v,
        KeyVerdict::ExpiredKey | KeyVerdict::RevokedKey | KeyVerdict::KeyNotYetValid
    )
}

/// When to verify a never-recorded signature again: its signature time, if `now_check` (the
/// check at `now`) failed only because of the key's lifecycle and the signature is older.
pub fn retry_at(now_check: &SignatureCheck, now: Timestamp) -> Option<Timestamp> {
    match now_check.signed_at {
        Some(t) if lifecycle(now_check.verdict) && t < now => Some(t),
        _ => None,
    }
}

/// The check that stands for a never-recorded signature after the retry at its signature time
/// (`then`), and when it is good a note saying what has changed since.
pub fn after_retry(
    now_check: &SignatureCheck,
    then: SignatureCheck,
    signed_at: Timestamp,
) -> (SignatureCheck, Option<String>) {
    let note = (then.verdict == KeyVerdict::Good).then(|| {
        format!(
            "good when signed on {}; since then: {}",
            format_date(signed_at),
            now_check.detail.clone().unwrap_or_default()
        )
    });
    (then, note)
}

/// When to verify an accepted object's signature again: at its receive time, when the server
/// recorded it good and it is not good today (good today means not revoked then either:
/// revocations only ever start).
pub fn recheck_record_at(
    recorded: ObjectVerdict,
    today: &SignatureCheck,
    received_at: Timestamp,
) -> Option<Timestamp> {
    (recorded == ObjectVerdict::Good && today.verdict != KeyVerdict::Good).then_some(received_at)
}

/// Whether the record still stands after the check at the receive time (`again`): `None` when
/// it does, else the verdict and why (the key was revoked as of the receive time).
pub fn record_overruled(
    again: &SignatureCheck,
    received_at: Timestamp,
) -> Option<(ObjectVerdict, String)> {
    (again.verdict == KeyVerdict::RevokedKey).then(|| {
        (
            ObjectVerdict::Refused(Code::RevokedKey),
            format!(
                "accepted on {} but the key is revoked: {}",
                format_date(received_at),
                again.detail.clone().unwrap_or_default()
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(verdict: KeyVerdict, signed_at: Option<i64>, detail: &str) -> SignatureCheck {
        SignatureCheck {
            verdict,
            signed_at,
            detail: Some(detail.to_string()),
            ..SignatureCheck::default()
        }
    }

    const NOW: i64 = 1_800_000_000;
    const THEN: i64 = 1_700_000_000;

    #[test]
    fn only_lifecycle_failures_of_older_signatures_are_judged_at_the_signature_time() {
        for v in [
            KeyVerdict::ExpiredKey,
            KeyVerdict::RevokedKey,
            KeyVerdict::KeyNotYetValid,
        ] {
            assert_eq!(
                retry_at(&check(v, Some(THEN), ""), NOW),
                Some(THEN),
                "{v:?}"
            );
            // A signature claiming a later time than now is not believed.
            assert_eq!(retry_at(&check(v, Some(NOW + 1), ""), NOW), None);
            // SSH signatures carry no time.
            assert_eq!(retry_at(&check(v, None, ""), NOW), None);
        }
        for v in [
            KeyVerdict::Good,
            KeyVerdict::BadSignature,
            KeyVerdict::UnknownKey,
            KeyVerdict::UnsupportedFormat,
            KeyVerdict::Malformed,
        ] {
            assert_eq!(retry_at(&check(v, Some(THEN), ""), NOW), None, "{v:?}");
        }
    }

    #[test]
    fn a_good_retry_says_what_changed_since() {
        let now = check(
            KeyVerdict::ExpiredKey,
            Some(THEN),
            "key 0x1 expired on 2026-01-01",
        );
        let (sig, note) = after_retry(&now, check(KeyVerdict::Good, Some(THEN), ""), THEN);
        assert_eq!(sig.verdict, KeyVerdict::Good);
        assert_eq!(
            note.as_deref(),
            Some("good when signed on 2023-11-14; since then: key 0x1 expired on 2026-01-01")
        );
        let (sig, note) = after_retry(&now, check(KeyVerdict::RevokedKey, Some(THEN), "r"), THEN);
        assert_eq!((sig.verdict, note), (KeyVerdict::RevokedKey, None));
    }

    #[test]
    fn a_record_stands_unless_the_key_was_revoked_as_of_the_receive_time() {
        let expired = check(KeyVerdict::ExpiredKey, Some(THEN), "expired");
        assert_eq!(
            recheck_record_at(ObjectVerdict::Good, &expired, THEN),
            Some(THEN)
        );
        let good = check(KeyVerdict::Good, Some(THEN), "");
        assert_eq!(recheck_record_at(ObjectVerdict::Good, &good, THEN), None);
        let refused = ObjectVerdict::Refused(Code::NoSignature);
        assert_eq!(recheck_record_at(refused, &expired, THEN), None);
        assert_eq!(record_overruled(&good, THEN), None);
        let (v, why) = record_overruled(&check(KeyVerdict::RevokedKey, None, "compromised"), THEN)
            .expect("overruled");
        assert_eq!(v, ObjectVerdict::Refused(Code::RevokedKey));
        assert_eq!(
            why,
            "accepted on 2023-11-14 but the key is revoked: compromised"
        );
    }
}
