//! X.509 certificate revocation lists (`trust.x509_crls`), checked offline for every
//! certificate of a signer's chain.
//!
//! A CRL applies to a certificate when its issuer name is the certificate's issuer and its
//! signature verifies with the issuing certificate's key. Revocation follows the OpenPGP rules
//! of this crate: key or CA compromise, or no reason at all, is a **hard** revocation (every
//! signature, whenever made); any other reason (superseded, affiliation changed, cessation of
//! operation, privilege withdrawn, certificate hold) counts from the revocation date, judged at
//! the time the caller passes (receive time on the push path). `removeFromCRL` entries revoke
//! nothing. A CRL that names the issuer but does not verify, or whose `nextUpdate` has passed,
//! makes the answer undecidable: the caller fails closed.

use openssl::x509::{CrlReason, CrlStatus, ReasonCode, X509Crl, X509Ref};

use crate::x509::{fingerprint, name_of, unix_of_asn1};
use crate::KeyError;
use rules::calendar::format_date;

/// One CRL and the file it came from.
struct Loaded {
    crl: X509Crl,
    source: String,
}

/// The policy's CRLs.
#[derive(Default)]
pub(crate) struct Crls {
    crls: Vec<Loaded>,
}

impl std::fmt::Debug for Crls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Crls")
            .field("count", &self.crls.len())
            .finish()
    }
}

/// What the CRLs say about a chain.
pub(crate) enum Revocation {
    /// A certificate of the chain is revoked.
    Revoked(String),
    /// The status cannot be established (a CRL that does not verify, or is out of date).
    Undecidable(String),
}

/// Hard reasons: the key itself is not to be trusted for any signature.
fn is_hard(reason: Option<i32>) -> bool {
    match reason {
        None => true,
        Some(r) => [
            CrlReason::UNSPECIFIED.as_raw(),
            CrlReason::KEY_COMPROMISE.as_raw(),
            CrlReason::CA_COMPROMISE.as_raw(),
            CrlReason::AA_COMPROMISE.as_raw(),
        ]
        .contains(&r),
    }
}

fn reason_name(reason: Option<i32>) -> &'static str {
    let names = [
        (CrlReason::UNSPECIFIED, "unspecified"),
        (CrlReason::KEY_COMPROMISE, "key compromise"),
        (CrlReason::CA_COMPROMISE, "CA compromise"),
        (CrlReason::AFFILIATION_CHANGED, "affiliation changed"),
        (CrlReason::SUPERSEDED, "superseded"),
        (CrlReason::CESSATION_OF_OPERATION, "cessation of operation"),
        (CrlReason::CERTIFICATE_HOLD, "certificate hold"),
        (CrlReason::PRIVILEGE_WITHDRAWN, "privilege withdrawn"),
        (CrlReason::AA_COMPROMISE, "AA compromise"),
    ];
    match reason {
        None => "no reason given",
        Some(r) => names
            .iter()
            .find(|(c, _)| c.as_raw() == r)
            .map_or("unknown reason", |(_, n)| n),
    }
}

impl Crls {
    pub(crate) fn len(&self) -> usize {
        self.crls.len()
    }

    /// Adds the CRLs in `bytes` (PEM, one or more `X509 CRL` blocks, or one DER CRL).
    pub(crate) fn add(&mut self, source: &str, bytes: &[u8]) -> Result<usize, KeyError> {
        let err = |reason: String| KeyError::X509 {
            what: format!("CRL file {source}"),
            reason,
        };
        let mut found = Vec::new();
        if bytes.trim_ascii_start().starts_with(b"-----BEGIN") {
            let text = std::str::from_utf8(bytes).map_err(|_| err("not UTF-8 PEM".into()))?;
            let mut rest = text;
            while let Some(start) = rest.find("-----BEGIN X509 CRL-----") {
                let end_marker = "-----END X509 CRL-----";
                let end = rest[start..]
                    .find(end_marker)
                    .map(|e| start + e + end_marker.len())
                    .ok_or_else(|| err("a CRL block is not terminated".into()))?;
                found.push(
                    X509Crl::from_pem(&rest.as_bytes()[start..end])
                        .map_err(|e| err(format!("cannot parse a CRL: {e}")))?,
                );
                rest = &rest[end..];
            }
        } else {
            found.push(
                X509Crl::from_der(bytes).map_err(|e| err(format!("cannot parse the CRL: {e}")))?,
            );
        }
        if found.is_empty() {
            return Err(err("no `X509 CRL` block".into()));
        }
        let n = found.len();
        self.crls.extend(found.into_iter().map(|crl| Loaded {
            crl,
            source: source.to_owned(),
        }));
        Ok(n)
    }

    /// Checks `chain` (signer first, each certificate followed by its issuer) at `now`.
    pub(crate) fn check(&self, chain: &[&X509Ref], now: i64) -> Option<Revocation> {
        if self.crls.is_empty() {
            return None;
        }
        for pair in chain.windows(2) {
            let (cert, issuer) = (pair[0], pair[1]);
            if let Some(r) = self.check_one(cert, issuer, now) {
                return Some(r);
            }
        }
        None
    }

    fn check_one(&self, cert: &X509Ref, issuer: &X509Ref, now: i64) -> Option<Revocation> {
        let subject = name_of(cert.subject_name());
        let issuer_name = name_of(issuer.subject_name());
        for l in &self.crls {
            let same_issuer = l
                .crl
                .issuer_name()
                .try_cmp(issuer.subject_name())
                .is_ok_and(|o| o.is_eq());
            if !same_issuer {
                continue;
            }
            let verified = issuer
                .public_key()
                .and_then(|k| l.crl.verify(&k))
                .unwrap_or(false);
            if !verified {
                return Some(Revocation::Undecidable(format!(
                    "the CRL for {issuer_name} in {} is not signed by that CA's certificate ({}): replace the file",
                    l.source,
                    fingerprint(issuer)
                )));
            }
            if let Some(next) = l.crl.next_update().and_then(unix_of_asn1) {
                if next < now {
                    return Some(Revocation::Undecidable(format!(
                        "the CRL for {issuer_name} in {} is out of date (next update was due on {}): refresh it",
                        l.source,
                        format_date(next)
                    )));
                }
            }
            let CrlStatus::Revoked(entry) = l.crl.get_by_serial(cert.serial_number()) else {
                continue;
            };
            let reason = entry
                .extension::<ReasonCode>()
                .ok()
                .flatten()
                .and_then(|(_, code)| i32::try_from(code.get_i64().ok()?).ok());
            if reason == Some(CrlReason::REMOVE_FROM_CRL.as_raw()) {
                continue;
            }
            let when = unix_of_asn1(entry.revocation_date());
            let date = when.map_or_else(|| "an unreadable date".to_owned(), format_date);
            let what = format!(
                "certificate {subject} ({}) was revoked on {date} ({}, {})",
                fingerprint(cert),
                reason_name(reason),
                l.source
            );
            if is_hard(reason) {
                return Some(Revocation::Revoked(format!("{what}: hard revocation")));
            }
            if when.is_none_or(|t| t <= now) {
                return Some(Revocation::Revoked(what));
            }
        }
        None
    }
}
