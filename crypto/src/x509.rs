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
//!
//! Sigstore (gitsign) signatures are CMS too, by short-lived Fulcio certificates that chain to
//! the policy's Sigstore roots instead; they take the path in `x509/sigstore.rs`, which shares
//! the chain and signature checks here.

use std::collections::HashMap;

use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkcs7::{Pkcs7, Pkcs7Flags};
use openssl::stack::Stack;
use openssl::x509::store::X509StoreBuilder;
use openssl::x509::verify::{X509VerifyFlags, X509VerifyParam};
use openssl::x509::{X509NameRef, X509PurposeId, X509Ref, X509StoreContext, X509};
use rules::facts::{KeyVerdict, SignatureCheck, SignatureFormat};

use crate::crl::Revocation;
use crate::KeyError;
use rules::calendar::format_date;

mod sigstore;
use sigstore::Sigstore;

/// Unix seconds of an ASN.1 time.
pub(crate) fn unix_of_asn1(t: &openssl::asn1::Asn1TimeRef) -> Option<i64> {
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
    /// Revocation lists for the gpgsm chains.
    pub(crate) crls: crate::crl::Crls,
    /// Sigstore (gitsign): Fulcio roots and (SAN, OIDC issuer) → identity.
    pub(crate) sigstore: Sigstore,
}

impl std::fmt::Debug for X509Trust {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("X509Trust")
            .field("roots", &self.roots.len())
            .field("emails", &self.emails)
            .field("sigstore_roots", &self.sigstore.roots.len())
            .field("sigstore_identities", &self.sigstore.identity_count())
            .field("rekor_keys", &self.sigstore.rekor_keys.len())
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
pub(crate) fn name_of(name: &X509NameRef) -> String {
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

/// Every PEM certificate in `pem`; at least one.
fn read_roots(pem: &[u8]) -> Result<Vec<X509>, KeyError> {
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
    Ok(certs)
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
        self.roots.len() + self.sigstore.roots.len()
    }

    /// Adds every PEM certificate in `pem` as a trusted root; returns their fingerprints.
    pub(crate) fn add_roots(&mut self, pem: &[u8]) -> Result<Vec<String>, KeyError> {
        let certs = read_roots(pem)?;
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

    /// The chain OpenSSL builds from `leaf` to a configured root (leaf first), time not
    /// considered; empty when the CRLs are (no need to build it).
    fn built_chain(
        &self,
        leaf: &X509Ref,
        intermediates: &Stack<X509>,
    ) -> Result<Vec<X509>, openssl::error::ErrorStack> {
        if self.crls.len() == 0 {
            return Ok(Vec::new());
        }
        let mut b = X509StoreBuilder::new()?;
        for r in &self.roots {
            b.add_cert(r.clone())?;
        }
        let mut p = X509VerifyParam::new()?;
        p.set_flags(X509VerifyFlags::NO_CHECK_TIME | X509VerifyFlags::PARTIAL_CHAIN)?;
        b.set_param(&p)?;
        let store = b.build();
        let mut ctx = X509StoreContext::new()?;
        ctx.init(&store, leaf, intermediates, |c| {
            c.verify_cert()?;
            Ok(c.chain()
                .map(|chain| chain.iter().map(|x| x.to_owned()).collect())
                .unwrap_or_default())
        })
    }

    /// Verifies `chain` (leaf + intermediates) against `roots`. Callers set
    /// `PARTIAL_CHAIN`: every configured certificate is a trust anchor, so a policy may trust an
    /// issuing (intermediate) CA only, or pin a single certificate. `None` on success, else the
    /// OpenSSL verify error code, its text, the depth it happened at and that certificate's name.
    fn verify_chain(
        roots: &[X509],
        leaf: &X509Ref,
        intermediates: &Stack<X509>,
        param: &X509VerifyParam,
    ) -> Result<Option<ChainError>, openssl::error::ErrorStack> {
        let mut b = X509StoreBuilder::new()?;
        for r in roots {
            b.add_cert(r.clone())?;
        }
        b.set_param(param)?;
        let store = b.build();
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
            Ok(Some(ChainError {
                code: err.as_raw(),
                why: err.error_string().to_owned(),
                depth: c.error_depth(),
                at,
            }))
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
        // Weak digests: SHA-1 and MD5 signatures are refused outright (no cutoff for CMS).
        let digest = crate::der::cms_digest_algorithm(&der);
        let weak = [
            ("SHA-1", crate::der::oid(&[1, 3, 14, 3, 2, 26])),
            ("MD5", crate::der::oid(&[1, 2, 840, 113549, 2, 5])),
        ];
        if let Some((name, _)) = weak.iter().find(|(_, o)| digest.as_deref() == Some(o)) {
            return failed(
                check,
                KeyVerdict::UnsupportedFormat,
                format!("the CMS signature uses {name}, which pushguard refuses"),
            );
        }
        let fp = fingerprint(&signer);
        let subject = name_of(signer.subject_name());
        check.key = Some(fp.clone());
        check.signed_at = crate::der::cms_signing_time(&der);
        let what = format!("certificate {subject} ({fp})");

        // 1. Trust: does it chain to a configured root (time not considered yet)?
        let chains_to = |roots: &[X509]| {
            X509VerifyParam::new().and_then(|mut p| {
                p.set_flags(X509VerifyFlags::NO_CHECK_TIME | X509VerifyFlags::PARTIAL_CHAIN)?;
                Self::verify_chain(roots, &signer, &intermediates, &p)
            })
        };
        let result = chains_to(&self.roots);
        if matches!(result, Ok(Some(_)))
            && !self.sigstore.roots.is_empty()
            && matches!(chains_to(&self.sigstore.roots), Ok(None))
        {
            return self
                .sigstore
                .verify(check, &p7, &der, &signer, &intermediates, payload, now);
        }
        match result {
            Ok(None) => {}
            Ok(Some(ChainError { why, at, .. })) => {
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
        if let Err(detail) = check_signature(&p7, payload, &what) {
            return failed(check, KeyVerdict::BadSignature, detail);
        }

        // 4. Revocation, by the policy's CRLs, of every certificate of the chain.
        match self.built_chain(&signer, &intermediates) {
            Ok(chain) => {
                let refs: Vec<&X509Ref> = chain.iter().map(|c| c.as_ref()).collect();
                match self.crls.check(&refs, now) {
                    None => {}
                    Some(Revocation::Revoked(detail)) => {
                        return failed(check, KeyVerdict::RevokedKey, detail)
                    }
                    Some(Revocation::Undecidable(detail)) => {
                        return failed(
                            check,
                            KeyVerdict::UnknownKey,
                            format!("{what}: revocation cannot be checked: {detail}"),
                        )
                    }
                }
            }
            Err(e) => return failed(check, KeyVerdict::UnknownKey, format!("{what}: {e}")),
        }

        // 5. Validity and usage of the whole chain at receive time.
        let result = X509VerifyParam::new().and_then(|mut p| {
            p.set_time(now);
            p.set_flags(X509VerifyFlags::PARTIAL_CHAIN)?;
            p.set_purpose(X509PurposeId::SMIME_SIGN)?;
            Self::verify_chain(&self.roots, &signer, &intermediates, &p)
        });
        judge_chain(
            check,
            result,
            &Chain {
                signer: &signer,
                intermediates: &intermediates,
                roots: &self.roots,
                what: &what,
            },
            "at receive time",
            "may not sign email/documents (keyUsage or extendedKeyUsage excludes S/MIME signing)",
        )
    }
}

/// An OpenSSL chain verification failure.
struct ChainError {
    code: i32,
    why: String,
    depth: u32,
    at: String,
}

/// What a chain was built from, for messages.
struct Chain<'a> {
    signer: &'a X509Ref,
    intermediates: &'a Stack<X509>,
    roots: &'a [X509],
    what: &'a str,
}

/// Checks the CMS signature over `payload` (signed attributes and message digest included),
/// without any chain. `Err(detail)` when it does not match.
fn check_signature(p7: &Pkcs7, payload: &[u8], what: &str) -> Result<(), String> {
    let no_certs = Stack::new().map_err(|e| e.to_string())?;
    let empty_store = X509StoreBuilder::new().map_err(|e| e.to_string())?.build();
    p7.verify(
        &no_certs,
        &empty_store,
        Some(payload),
        None,
        Pkcs7Flags::NOVERIFY,
    )
    .map_err(|e| {
        let reason = e
            .errors()
            .iter()
            .filter_map(|x| x.reason())
            .collect::<Vec<_>>()
            .join("; ");
        format!("signature by {what} does not match the signed data ({reason})")
    })
}

/// The verdict for a chain verified with time and purpose checks.
fn judge_chain(
    check: SignatureCheck,
    result: Result<Option<ChainError>, openssl::error::ErrorStack>,
    chain: &Chain<'_>,
    when: &str,
    bad_purpose: &str,
) -> SignatureCheck {
    let what = chain.what;
    match result {
        Ok(None) => SignatureCheck {
            verdict: KeyVerdict::Good,
            detail: None,
            ..check
        },
        Ok(Some(ChainError {
            code,
            why,
            depth,
            at,
        })) => {
            let whose = if depth == 0 {
                what.to_owned()
            } else {
                format!("CA certificate {at} in the chain of {what}")
            };
            let cert_at_depth = if depth == 0 {
                Some(chain.signer.to_owned())
            } else {
                chain
                    .intermediates
                    .iter()
                    .chain(chain.roots.iter().map(|r| r.as_ref()))
                    .find(|c| name_of(c.subject_name()) == at)
                    .map(|c| c.to_owned())
            };
            let date = |t: Option<&openssl::asn1::Asn1TimeRef>| {
                t.and_then(unix_of_asn1)
                    .map_or_else(|| "?".to_owned(), format_date)
            };
            match code {
                CERT_HAS_EXPIRED => failed(
                    check,
                    KeyVerdict::ExpiredKey,
                    format!(
                        "{whose} expired on {}",
                        date(cert_at_depth.as_ref().map(|c| c.not_after()))
                    ),
                ),
                CERT_NOT_YET_VALID => failed(
                    check,
                    KeyVerdict::KeyNotYetValid,
                    format!(
                        "{whose} is only valid from {}",
                        date(cert_at_depth.as_ref().map(|c| c.not_before()))
                    ),
                ),
                CERT_REVOKED => {
                    failed(check, KeyVerdict::RevokedKey, format!("{whose} is revoked"))
                }
                INVALID_PURPOSE => failed(
                    check,
                    KeyVerdict::NotSigningKey,
                    format!("{whose} {bad_purpose}"),
                ),
                _ => failed(
                    check,
                    KeyVerdict::UnknownKey,
                    format!("{whose} is not valid {when}: {why}"),
                ),
            }
        }
        Err(e) => failed(check, KeyVerdict::UnknownKey, format!("{what}: {e}")),
    }
}

fn failed(mut check: SignatureCheck, verdict: KeyVerdict, detail: String) -> SignatureCheck {
    check.verdict = verdict;
    check.detail = Some(detail);
    check
}
