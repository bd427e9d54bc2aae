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
use openssl::x509::store::X509StoreBuilder;
use openssl::x509::verify::{X509VerifyFlags, X509VerifyParam};
use openssl::x509::{
    X509ExtendedKeyUsage, X509KeyUsage, X509NameRef, X509PurposeId, X509Ref, X509StoreContext, X509,
};
use rules::facts::{KeyVerdict, SignatureCheck, SignatureFormat};

use crate::crl::Revocation;
use crate::KeyError;
use rules::calendar::format_date;

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

/// Sigstore trust: kept apart from the gpgsm roots, because Fulcio certifies whoever logs in
/// with *some* OIDC provider: an email in a Fulcio certificate means something only together
/// with the issuer that vouched for it.
#[derive(Default)]
pub(crate) struct Sigstore {
    pub roots: Vec<X509>,
    identities: Vec<SigstoreIdentity>,
    /// Accept the CMS signingTime (chosen by the signer) as the time the short-lived
    /// certificate is judged at, in the absence of a verified transparency-log time.
    pub trust_signing_time: bool,
    /// Rekor log keys whose signed entry timestamps establish the signing time.
    pub rekor_keys: Vec<crate::rekor::RekorKey>,
    /// Roots of the RFC 3161 timestamping authorities whose tokens establish the signing time.
    pub tsa_roots: Vec<X509>,
}

struct SigstoreIdentity {
    identity: String,
    /// Email (compared case-insensitively) or URI (exact).
    san: String,
    issuer: String,
}

/// Fulcio's OIDC issuer extensions: v2 (DER UTF8String) and the deprecated v1 (raw bytes).
const FULCIO_ISSUER_V2: &[u64] = &[1, 3, 6, 1, 4, 1, 57264, 1, 8];
const FULCIO_ISSUER_V1: &[u64] = &[1, 3, 6, 1, 4, 1, 57264, 1, 1];

/// Clock skew allowed between a signer's signingTime (or a log's integrated time) and the
/// receive time.
const SIGNING_TIME_SKEW: i64 = 300;

/// gitsign's unsigned attribute holding the Rekor `TransparencyLogEntry` protobuf.
const REKOR_ENTRY_ATTRIBUTE: &[u64] = &[1, 3, 6, 1, 4, 1, 57264, 3, 1];

impl std::fmt::Debug for X509Trust {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("X509Trust")
            .field("roots", &self.roots.len())
            .field("emails", &self.emails)
            .field("sigstore_roots", &self.sigstore.roots.len())
            .field("sigstore_identities", &self.sigstore.identities.len())
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

/// The OIDC issuer Fulcio recorded in the certificate (v2 extension, else v1).
fn fulcio_issuer(cert: &X509Ref) -> Option<String> {
    let der = cert.to_der().ok()?;
    let printable = |b: &[u8]| {
        (!b.is_empty() && b.iter().all(u8::is_ascii_graphic))
            .then(|| String::from_utf8_lossy(b).into_owned())
    };
    if let Some(v2) = crate::der::certificate_extension(&der, &crate::der::oid(FULCIO_ISSUER_V2)) {
        let (s, rest) = crate::der::read(v2)?;
        if s.tag != crate::der::UTF8_STRING || !rest.is_empty() {
            return None;
        }
        return printable(s.content);
    }
    let v1 = crate::der::certificate_extension(&der, &crate::der::oid(FULCIO_ISSUER_V1))?;
    printable(v1)
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

    /// Adds Fulcio roots (PEM) for Sigstore gitsign signatures.
    pub(crate) fn add_sigstore_roots(&mut self, pem: &[u8]) -> Result<Vec<String>, KeyError> {
        let certs = read_roots(pem)?;
        let mut fps = Vec::new();
        for cert in certs {
            let fp = fingerprint(&cert);
            if !self.sigstore.roots.iter().any(|r| fingerprint(r) == fp) {
                self.sigstore.roots.push(cert);
            }
            fps.push(fp);
        }
        Ok(fps)
    }

    /// Trusts the PEM certificates in `pem` as roots of RFC 3161 timestamping authorities;
    /// returns their fingerprints.
    pub(crate) fn add_tsa_roots(&mut self, pem: &[u8]) -> Result<Vec<String>, KeyError> {
        let mut fps = Vec::new();
        for cert in read_roots(pem)? {
            let fp = fingerprint(&cert);
            if !self.sigstore.tsa_roots.iter().any(|r| fingerprint(r) == fp) {
                self.sigstore.tsa_roots.push(cert);
            }
            fps.push(fp);
        }
        Ok(fps)
    }

    /// Trusts a Rekor log key (PEM public key); returns its log id (hex).
    pub(crate) fn add_rekor_key(&mut self, pem: &[u8]) -> Result<String, KeyError> {
        let key = crate::rekor::RekorKey::from_pem(pem).map_err(|reason| KeyError::Sigstore {
            what: "Rekor public key".into(),
            reason,
        })?;
        let id = key.log_id_hex();
        if !self
            .sigstore
            .rekor_keys
            .iter()
            .any(|k| k.log_id == key.log_id)
        {
            self.sigstore.rekor_keys.push(key);
        }
        Ok(id)
    }

    /// A Fulcio certificate with SAN `san` issued on the word of OIDC issuer `issuer` belongs
    /// to `identity`.
    pub(crate) fn add_sigstore_identity(
        &mut self,
        identity: &str,
        san: &str,
        issuer: &str,
    ) -> Result<(), KeyError> {
        let san = san.trim();
        let issuer = issuer.trim();
        if san.is_empty() || issuer.is_empty() {
            return Err(KeyError::X509 {
                what: format!("identity {identity}"),
                reason: "a Sigstore identity needs both a SAN and an OIDC issuer".into(),
            });
        }
        let san = if san.contains("://") {
            san.to_owned()
        } else {
            san.to_ascii_lowercase()
        };
        if let Some(other) = self
            .sigstore
            .identities
            .iter()
            .find(|i| i.san == san && i.issuer == issuer && i.identity != identity)
        {
            return Err(KeyError::SharedKey {
                key: format!("Sigstore {san} via {issuer}"),
                first: other.identity.clone(),
                second: identity.to_owned(),
            });
        }
        self.sigstore.identities.push(SigstoreIdentity {
            identity: identity.to_owned(),
            san,
            issuer: issuer.to_owned(),
        });
        Ok(())
    }

    /// The Sigstore path: SAN + OIDC issuer → identity, signature, then the short-lived
    /// certificate judged at the signing time (only if the policy accepts signingTime).
    #[allow(clippy::too_many_arguments)]
    fn verify_sigstore(
        &self,
        check: SignatureCheck,
        p7: &Pkcs7,
        der: &[u8],
        signer: &X509Ref,
        intermediates: &Stack<X509>,
        payload: &[u8],
        now: i64,
    ) -> SignatureCheck {
        let fp = fingerprint(signer);
        let mut sans = emails_of(signer);
        if let Some(names) = signer.subject_alt_names() {
            for n in &names {
                if let Some(u) = n.uri() {
                    if u.bytes().all(|b| b.is_ascii_graphic()) {
                        sans.push(u.to_owned());
                    }
                }
            }
        }
        let issuer = fulcio_issuer(signer);
        let what = format!(
            "Sigstore certificate for {} via {} ({fp})",
            if sans.is_empty() {
                "no SAN".to_owned()
            } else {
                sans.join(", ")
            },
            issuer.as_deref().unwrap_or("no OIDC issuer")
        );
        let mut identities: Vec<&str> = Vec::new();
        if let Some(issuer) = &issuer {
            for id in &self.sigstore.identities {
                if &id.issuer == issuer
                    && sans.contains(&id.san)
                    && !identities.contains(&id.identity.as_str())
                {
                    identities.push(&id.identity);
                }
            }
        }
        let mut check = match identities.as_slice() {
            [] => {
                return failed(
                    check,
                    KeyVerdict::UnknownKey,
                    format!("{what}: no identity has this SAN and OIDC issuer"),
                )
            }
            [one] => SignatureCheck {
                identity: Some((*one).to_owned()),
                ..check
            },
            several => {
                return failed(
                    check,
                    KeyVerdict::UnknownKey,
                    format!(
                        "{what} names several identities ({}); a certificate must name one",
                        several.join(", ")
                    ),
                )
            }
        };
        if let Err(detail) = check_signature(p7, payload, &what) {
            return failed(check, KeyVerdict::BadSignature, detail);
        }
        // Fulcio certificates are for code signing; OpenSSL 3.0 has no purpose for it.
        if signer
            .extended_key_usage()
            .is_some_and(|eku| !eku.contains(X509ExtendedKeyUsage::CODE_SIGN))
            || signer
                .key_usage()
                .is_some_and(|ku| !ku.contains(X509KeyUsage::DIGITAL_SIGNATURE))
        {
            return failed(
                check,
                KeyVerdict::NotSigningKey,
                format!("{what} is not a code-signing certificate"),
            );
        }
        let signing_time = crate::der::cms_signing_time(der);
        check.signed_at = signing_time;
        let (t, source) = match self.trusted_time(der, signer) {
            Ok(TrustedTime::Proven(t, source)) => (t, source),
            Ok(TrustedTime::Unproven(why)) => {
                if !self.sigstore.trust_signing_time {
                    return failed(
                        check,
                        KeyVerdict::UnsupportedFormat,
                        format!(
                            "{what}: signature and identity verify, but nothing establishes when it was made: the signature carries no Rekor log entry (gitsign offline mode) nor RFC 3161 timestamp, and the policy does not trust the signer's own signingTime"
                        ),
                    );
                }
                let Some(t) = signing_time else {
                    return failed(
                        check,
                        KeyVerdict::Malformed,
                        format!("{what}: the signature has no signingTime"),
                    );
                };
                (
                    t,
                    why.unwrap_or_else(|| "the signer's signingTime".to_owned()),
                )
            }
            Err((verdict, detail)) => return failed(check, verdict, format!("{what}: {detail}")),
        };
        check.signed_at = Some(t);
        if t > now + SIGNING_TIME_SKEW {
            return failed(
                check,
                KeyVerdict::KeyNotYetValid,
                format!(
                    "{what}: signed at {} ({source}), after receive time",
                    format_date(t)
                ),
            );
        }
        let result = X509VerifyParam::new().and_then(|mut p| {
            p.set_time(t);
            p.set_flags(X509VerifyFlags::PARTIAL_CHAIN)?;
            p.set_purpose(X509PurposeId::ANY)?;
            Self::verify_chain(&self.sigstore.roots, signer, intermediates, &p)
        });
        let check = judge_chain(
            check,
            result,
            &Chain {
                signer,
                intermediates,
                roots: &self.sigstore.roots,
                what: &what,
            },
            &format!("at its signing time, {} ({source})", format_date(t)),
            "is not a code-signing certificate",
        );
        match check.verdict {
            KeyVerdict::Good => SignatureCheck {
                detail: Some(format!("signed at {} per {source}", format_date(t))),
                ..check
            },
            KeyVerdict::ExpiredKey | KeyVerdict::KeyNotYetValid => {
                let detail = check
                    .detail
                    .as_deref()
                    .map(|d| format!("{d}; signed at {} per {source}", format_date(t)));
                SignatureCheck { detail, ..check }
            }
            _ => check,
        }
    }

    /// The signing time a third party vouches for: the integrated time of a verified Rekor
    /// entry. `Ok(None)` when the signature carries no such proof (or, with
    /// `trust_signing_time`, one from a log the policy does not know); `Err` with the verdict
    /// when a proof is there but does not hold.
    fn trusted_time(
        &self,
        der: &[u8],
        signer: &X509Ref,
    ) -> Result<TrustedTime, (KeyVerdict, String)> {
        let malformed = |d: &str| (KeyVerdict::Malformed, d.to_owned());
        let Some(parts) = crate::der::cms_signer_parts(der) else {
            return Err(malformed("cannot read the CMS SignerInfo"));
        };
        let oid = crate::der::oid(REKOR_ENTRY_ATTRIBUTE);
        let mut entries = parts.unsigned_attrs.iter().filter(|(o, _)| *o == oid);
        let Some((_, values)) = entries.next() else {
            return self.timestamp_time(&parts);
        };
        let raw = match (entries.next(), values.as_slice()) {
            (None, [one]) if one.tag == crate::der::OCTET_STRING => one.content,
            _ => {
                return Err(malformed(
                    "the Rekor entry attribute must hold exactly one OCTET STRING",
                ))
            }
        };
        let entry = crate::rekor::parse_entry(raw)
            .map_err(|e| malformed(&format!("cannot read the Rekor log entry: {e}")))?;
        let Some(signed) = &parts.signed_attrs else {
            return Err((
                KeyVerdict::BadSignature,
                "the signature has no signed attributes, so no Rekor entry can be for it".into(),
            ));
        };
        let pem = signer
            .to_pem()
            .map_err(|e| malformed(&format!("cannot encode the certificate: {e}")))?;
        let body = crate::rekor::hashedrekord_body(signed, parts.signature, &pem);
        use crate::rekor::Failure;
        match crate::rekor::verify(&entry, &body, &self.sigstore.rekor_keys) {
            Ok(v) => Ok(TrustedTime::Proven(
                v.integrated_time,
                format!(
                    "Rekor log entry {} of log {}{}",
                    v.log_index,
                    &v.log_id[..v.log_id.len().min(16)],
                    if v.proven {
                        ", inclusion proof and checkpoint verified"
                    } else {
                        ", signed entry timestamp verified (no inclusion proof)"
                    }
                ),
            )),
            Err(Failure::UnknownLog(d)) if self.sigstore.trust_signing_time => Ok(
                TrustedTime::Unproven(Some(format!("{d}, so the signer's signingTime is used"))),
            ),
            Err(Failure::UnknownLog(d)) => Err((KeyVerdict::UnknownKey, d)),
            Err(Failure::Bad(d)) => Err((KeyVerdict::BadSignature, d)),
            Err(Failure::Unsupported(d)) => Err((KeyVerdict::UnsupportedFormat, d)),
        }
    }

    /// Without a Rekor entry: the `genTime` of an RFC 3161 timestamp token on the signature
    /// value, when there is one and it verifies with a TSA root of the policy.
    fn timestamp_time(
        &self,
        parts: &crate::der::SignerParts<'_>,
    ) -> Result<TrustedTime, (KeyVerdict, String)> {
        let oid = crate::der::oid(crate::tsa::TIMESTAMP_TOKEN_ATTRIBUTE);
        let mut tokens = parts.unsigned_attrs.iter().filter(|(o, _)| *o == oid);
        let Some((_, values)) = tokens.next() else {
            return Ok(TrustedTime::Unproven(None));
        };
        let token = match (tokens.next(), values.as_slice()) {
            (None, [one]) if one.tag == 0x30 => crate::der::encode(*one),
            _ => {
                return Err((
                    KeyVerdict::Malformed,
                    "the timestamp token attribute must hold exactly one token".into(),
                ))
            }
        };
        use crate::tsa::Failure;
        match crate::tsa::verify(&token, parts.signature, &self.sigstore.tsa_roots) {
            Ok(ts) => Ok(TrustedTime::Proven(ts.time, ts.source)),
            Err(Failure::UnknownTsa(d)) if self.sigstore.trust_signing_time => Ok(
                TrustedTime::Unproven(Some(format!("{d}, so the signer's signingTime is used"))),
            ),
            Err(Failure::UnknownTsa(d)) => Err((KeyVerdict::UnknownKey, d)),
            Err(Failure::Bad(d)) => Err((KeyVerdict::BadSignature, d)),
            Err(Failure::Malformed(d)) => Err((KeyVerdict::Malformed, d)),
        }
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
            return self.verify_sigstore(check, &p7, &der, &signer, &intermediates, payload, now);
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

/// What establishes a Sigstore signature's time.
enum TrustedTime {
    /// A verified third-party time and its source, for messages.
    Proven(i64, String),
    /// Nothing verified; why a proof that is there was set aside, if one is.
    Unproven(Option<String>),
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
