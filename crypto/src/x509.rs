//! X.509 / CMS signatures (`gpg.format=x509`, as made by gpgsm): a detached CMS SignedData in
//! `-----BEGIN SIGNED MESSAGE-----` armor, checked with OpenSSL (the libssl Sequoia's backend
//! already links).
//!
//! The signer's certificate travels inside the signature (gpgsm includes it and its
//! intermediates). It is trusted when it chains to a root the policy configured
//! ([`crate::Keyring::add_x509_root`]); it belongs to the identity that owns one of its email
//! addresses (subjectAltName rfc822Name or subject emailAddress,
//! [`crate::Keyring::add_x509_identity`]). Validity (notBefore/notAfter of every certificate in
//! the chain) and usage (S/MIME signing: keyUsage digitalSignature or nonRepudiation when
//! present, extendedKeyUsage emailProtection when present) are judged at the receive time.

use std::collections::HashMap;

use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkcs7::{Pkcs7, Pkcs7Flags};
use openssl::stack::Stack;
use openssl::x509::store::{X509Store, X509StoreBuilder};
use openssl::x509::verify::{X509VerifyFlags, X509VerifyParam};
use openssl::x509::{X509NameRef, X509PurposeId, X509Ref, X509StoreContext, X509};
use rules::facts::{KeyVerdict, SignatureCheck, SignatureFormat};

use crate::time::format_date;
use crate::KeyError;

/// Unix seconds of an ASN.1 time.
fn unix_of_asn1(t: &openssl::asn1::Asn1TimeRef) -> Option<i64> {
    let epoch = openssl::asn1::Asn1Time::from_unix(0).ok()?;
    let d = epoch.diff(t).ok()?;
    Some(i64::from(d.days) * 86_400 + i64::from(d.secs))
}

// X509_V_ERR_* codes (x509_vfy.h) that get their own verdict.
const CERT_NOT_YET_VALID: i32 = 9;
const CERT_HAS_EXPIRED: i32 = 10;
const CERT_REVOKED: i32 = 23;
const INVALID_PURPOSE: i32 = 26;

/// Trusted roots and the email → identity map.
#[derive(Default)]
pub(crate) struct X509Trust {
    roots: Vec<X509>,
    /// SHA-256 fingerprints of `roots`, to skip duplicates.
    root_fingerprints: Vec<Vec<u8>>,
    /// Lowercased email → identity.
    emails: HashMap<String, String>,
}

impl std::fmt::Debug for X509Trust {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("X509Trust")
            .field("roots", &self.roots.len())
            .field("emails", &self.emails)
            .finish()
    }
}

/// Uppercase hex SHA-256 of the certificate's DER, as `gpgsm -k` prints as "sha2 fpr" (without
/// the colons).
pub(crate) fn fingerprint(cert: &X509Ref) -> String {
    cert.digest(MessageDigest::sha256())
        .map(|d| d.iter().map(|b| format!("{b:02X}")).collect())
        .unwrap_or_else(|_| "?".to_owned())
}

/// `CN=Alice,emailAddress=alice@example.com`, for messages.
fn name_of(name: &X509NameRef) -> String {
    name.entries()
        .map(|e| {
            let key = e.object().nid().short_name().unwrap_or("?");
            let value = String::from_utf8_lossy(e.data().as_slice()).replace('\0', "\\0");
            format!("{key}={value}")
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Every email address of the certificate, lowercased: SAN rfc822Name, then subject
/// emailAddress. Values that are not plain printable ASCII (e.g. an embedded NUL, the classic
/// `alice@example.com\0.evil` trick) are ignored, never truncated.
pub(crate) fn emails_of(cert: &X509Ref) -> Vec<String> {
    let mut raw: Vec<Vec<u8>> = Vec::new();
    if let Some(names) = cert.subject_alt_names() {
        for n in &names {
            if let Some(e) = n.email() {
                raw.push(e.as_bytes().to_vec());
            }
        }
    }
    for e in cert.subject_name().entries_by_nid(Nid::PKCS9_EMAILADDRESS) {
        raw.push(e.data().as_slice().to_vec());
    }
    let mut out: Vec<String> = Vec::new();
    for bytes in raw {
        if bytes.is_empty() || !bytes.iter().all(|b| b.is_ascii_graphic()) {
            continue;
        }
        let email = String::from_utf8_lossy(&bytes).to_ascii_lowercase();
        if !out.contains(&email) {
            out.push(email);
        }
    }
    out
}

/// The base64 body of a `-----BEGIN SIGNED MESSAGE-----` block, decoded.
fn dearmor(armored: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(armored).ok()?;
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    if lines.next()? != "-----BEGIN SIGNED MESSAGE-----" {
        return None;
    }
    let mut b64 = String::new();
    let mut ended = false;
    for l in lines {
        if l == "-----END SIGNED MESSAGE-----" {
            ended = true;
            break;
        }
        b64.push_str(l);
    }
    if !ended {
        return None;
    }
    openssl::base64::decode_block(&b64).ok()
}

impl X509Trust {
    pub(crate) fn len(&self) -> usize {
        self.roots.len()
    }

    /// Adds every PEM certificate in `pem` as a trusted root; returns their fingerprints.
    pub(crate) fn add_roots(&mut self, pem: &[u8]) -> Result<Vec<String>, KeyError> {
        let certs = X509::stack_from_pem(pem).map_err(|e| KeyError::X509 {
            what: "trusted root".into(),
            reason: e.to_string(),
        })?;
        if certs.is_empty() {
            return Err(KeyError::X509 {
                what: "trusted root".into(),
                reason: "no PEM certificate found".into(),
            });
        }
        let mut fps = Vec::new();
        for cert in certs {
            let digest = cert
                .digest(MessageDigest::sha256())
                .map_err(|e| KeyError::X509 {
                    what: "trusted root".into(),
                    reason: e.to_string(),
                })?
                .to_vec();
            fps.push(fingerprint(&cert));
            if !self.root_fingerprints.contains(&digest) {
                self.root_fingerprints.push(digest);
                self.roots.push(cert);
            }
        }
        Ok(fps)
    }

    /// Makes `identity` the owner of certificates carrying `email`.
    pub(crate) fn add_identity(&mut self, identity: &str, email: &str) -> Result<(), KeyError> {
        let email = email.trim().to_ascii_lowercase();
        if !email.contains('@') {
            return Err(KeyError::X509 {
                what: format!("identity {identity}"),
                reason: format!("{email:?} is not an email address"),
            });
        }
        if let Some(owner) = self.emails.get(&email) {
            if owner != identity {
                return Err(KeyError::SharedKey {
                    key: format!("X.509 email {email}"),
                    first: owner.clone(),
                    second: identity.to_owned(),
                });
            }
        }
        self.emails.insert(email, identity.to_owned());
        Ok(())
    }

    /// A store of the roots with `param`.
    fn store(&self, param: &X509VerifyParam) -> Result<X509Store, openssl::error::ErrorStack> {
        let mut b = X509StoreBuilder::new()?;
        for r in &self.roots {
            b.add_cert(r.clone())?;
        }
        b.set_param(param)?;
        Ok(b.build())
    }

    /// Verifies `chain` (leaf + intermediates) against the roots. `None` on success, else the
    /// OpenSSL verify error code, its text and the depth it happened at.
    fn verify_chain(
        &self,
        leaf: &X509Ref,
        intermediates: &Stack<X509>,
        param: &X509VerifyParam,
    ) -> Result<Option<(i32, String, u32, String)>, openssl::error::ErrorStack> {
        let store = self.store(param)?;
        let mut ctx = X509StoreContext::new()?;
        ctx.init(&store, leaf, intermediates, |c| {
            if c.verify_cert()? {
                return Ok(None);
            }
            let err = c.error();
            let at = c
                .current_cert()
                .map(|x| name_of(x.subject_name()))
                .unwrap_or_default();
            Ok(Some((
                err.as_raw(),
                err.error_string().to_owned(),
                c.error_depth(),
                at,
            )))
        })
    }

    /// Verifies an armored detached CMS signature over `payload`, judging validity at `now`.
    pub(crate) fn verify(&self, armored: &[u8], payload: &[u8], now: i64) -> SignatureCheck {
        let mut check = SignatureCheck {
            format: Some(SignatureFormat::X509),
            ..SignatureCheck::default()
        };
        let Some(der) = dearmor(armored) else {
            return failed(
                check,
                KeyVerdict::Malformed,
                "cannot read the X.509 signature armor".into(),
            );
        };
        let p7 = match Pkcs7::from_der(&der) {
            Ok(p) => p,
            Err(e) => {
                return failed(
                    check,
                    KeyVerdict::Malformed,
                    format!("cannot parse the CMS signature: {e}"),
                )
            }
        };
        let Some(signed) = p7.signed() else {
            return failed(
                check,
                KeyVerdict::Malformed,
                "the CMS structure is not SignedData".into(),
            );
        };
        let mut intermediates = match Stack::new() {
            Ok(s) => s,
            Err(e) => return failed(check, KeyVerdict::Malformed, e.to_string()),
        };
        if let Some(certs) = signed.certificates() {
            for c in certs {
                if intermediates.push(c.to_owned()).is_err() {
                    return failed(check, KeyVerdict::Malformed, "out of memory".into());
                }
            }
        }
        let no_certs = match Stack::new() {
            Ok(s) => s,
            Err(e) => return failed(check, KeyVerdict::Malformed, e.to_string()),
        };
        let signers = match p7.signers(&no_certs, Pkcs7Flags::empty()) {
            Ok(s) => s,
            Err(e) => {
                return failed(
                    check,
                    KeyVerdict::UnknownKey,
                    format!("the signature does not carry its signer's certificate ({e})"),
                )
            }
        };
        let signer = match signers.iter().collect::<Vec<_>>().as_slice() {
            [one] => (*one).to_owned(),
            other => {
                return failed(
                    check,
                    KeyVerdict::UnsupportedFormat,
                    format!(
                        "the CMS signature has {} signers; pushguard verifies exactly one",
                        other.len()
                    ),
                )
            }
        };
        let fp = fingerprint(&signer);
        let subject = name_of(signer.subject_name());
        check.key = Some(fp.clone());
        let what = format!("certificate {subject} ({fp})");

        // 1. Trust: does it chain to a configured root (time not considered yet)?
        let result = X509VerifyParam::new().and_then(|mut p| {
            p.set_flags(X509VerifyFlags::NO_CHECK_TIME)?;
            self.verify_chain(&signer, &intermediates, &p)
        });
        match result {
            Ok(None) => {}
            Ok(Some((_, why, _, at))) => {
                return failed(
                    check,
                    KeyVerdict::UnknownKey,
                    format!(
                        "{what} does not chain to a trusted root of the policy: {why} (at {at})"
                    ),
                )
            }
            Err(e) => return failed(check, KeyVerdict::UnknownKey, format!("{what}: {e}")),
        }

        // 2. Identity, by email.
        let emails = emails_of(&signer);
        let mut identities: Vec<&str> = Vec::new();
        for e in &emails {
            if let Some(id) = self.emails.get(e) {
                if !identities.contains(&id.as_str()) {
                    identities.push(id);
                }
            }
        }
        match identities.as_slice() {
            [] => {
                let list = if emails.is_empty() {
                    "no email address".to_owned()
                } else {
                    emails.join(", ")
                };
                return failed(
                    check,
                    KeyVerdict::UnknownKey,
                    format!(
                        "{what} chains to a trusted root, but no identity owns its email ({list})"
                    ),
                );
            }
            [one] => check.identity = Some((*one).to_owned()),
            several => {
                return failed(
                    check,
                    KeyVerdict::UnknownKey,
                    format!(
                        "{what} has emails of several identities ({}); a certificate must name one",
                        several.join(", ")
                    ),
                )
            }
        }

        // 3. The signature over the payload (signed attributes and message digest included).
        let empty_store = match X509StoreBuilder::new() {
            Ok(b) => b.build(),
            Err(e) => return failed(check, KeyVerdict::Malformed, e.to_string()),
        };
        if let Err(e) = p7.verify(
            &no_certs,
            &empty_store,
            Some(payload),
            None,
            Pkcs7Flags::NOVERIFY,
        ) {
            let reason = e
                .errors()
                .iter()
                .filter_map(|x| x.reason())
                .collect::<Vec<_>>()
                .join("; ");
            return failed(
                check,
                KeyVerdict::BadSignature,
                format!("signature by {what} does not match the signed data ({reason})"),
            );
        }

        // 4. Validity and usage of the whole chain at receive time.
        let result = X509VerifyParam::new().and_then(|mut p| {
            p.set_time(now);
            p.set_purpose(X509PurposeId::SMIME_SIGN)?;
            self.verify_chain(&signer, &intermediates, &p)
        });
        match result {
            Ok(None) => {
                check.verdict = KeyVerdict::Good;
                check.detail = None;
                check
            }
            Ok(Some((code, why, depth, at))) => {
                let whose = if depth == 0 {
                    what.clone()
                } else {
                    format!("CA certificate {at} in the chain of {what}")
                };
                let cert_at_depth = if depth == 0 {
                    Some(signer.clone())
                } else {
                    intermediates
                        .iter()
                        .chain(self.roots.iter().map(|r| r.as_ref()))
                        .find(|c| name_of(c.subject_name()) == at)
                        .map(|c| c.to_owned())
                };
                let date = |t: Option<&openssl::asn1::Asn1TimeRef>| {
                    t.and_then(unix_of_asn1)
                        .map_or_else(|| "?".to_owned(), format_date)
                };
                match code {
                    CERT_HAS_EXPIRED => failed(check,
                        KeyVerdict::ExpiredKey,
                        format!(
                            "{whose} expired on {}",
                            date(cert_at_depth.as_ref().map(|c| c.not_after()))
                        ),
                    ),
                    CERT_NOT_YET_VALID => failed(check,
                        KeyVerdict::KeyNotYetValid,
                        format!(
                            "{whose} is only valid from {}",
                            date(cert_at_depth.as_ref().map(|c| c.not_before()))
                        ),
                    ),
                    CERT_REVOKED => failed(check, KeyVerdict::RevokedKey, format!("{whose} is revoked")),
                    INVALID_PURPOSE => failed(check,
                        KeyVerdict::NotSigningKey,
                        format!(
                            "{whose} may not sign email/documents (keyUsage or extendedKeyUsage excludes S/MIME signing)"
                        ),
                    ),
                    _ => failed(check,
                        KeyVerdict::UnknownKey,
                        format!("{whose} is not valid at receive time: {why}"),
                    ),
                }
            }
            Err(e) => failed(check, KeyVerdict::UnknownKey, format!("{what}: {e}")),
        }
    }
}

fn failed(mut check: SignatureCheck, verdict: KeyVerdict, detail: String) -> SignatureCheck {
    check.verdict = verdict;
    check.detail = Some(detail);
    check
}
