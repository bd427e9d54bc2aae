//! Sigstore (gitsign) signatures: a CMS signature like gpgsm's, but by a short-lived Fulcio
//! certificate. Fulcio certifies whoever logs in with *some* OIDC provider, so an identity is a
//! subjectAltName (email or URI) together with the OIDC issuer that vouched for it, and the
//! certificate (valid for minutes) is judged at the time the signature was made: the
//! integrated time of its Rekor transparency-log entry, else the `genTime` of an RFC 3161
//! timestamp on it, else (only when the policy opts in) the signer's own CMS signingTime.

use openssl::pkcs7::Pkcs7;
use openssl::stack::Stack;
use openssl::x509::verify::{X509VerifyFlags, X509VerifyParam};
use openssl::x509::{X509ExtendedKeyUsage, X509KeyUsage, X509PurposeId, X509Ref, X509};
use rules::calendar::format_date;
use rules::facts::{KeyVerdict, SignatureCheck};

use super::{
    check_signature, emails_of, failed, fingerprint, judge_chain, read_roots, Chain, X509Trust,
};
use crate::KeyError;

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

impl Sigstore {
    /// How many (SAN, OIDC issuer) pairs name an identity.
    pub(super) fn identity_count(&self) -> usize {
        self.identities.len()
    }

    /// Adds Fulcio roots (PEM) for Sigstore gitsign signatures.
    pub(crate) fn add_roots(&mut self, pem: &[u8]) -> Result<Vec<String>, KeyError> {
        let certs = read_roots(pem)?;
        let mut fps = Vec::new();
        for cert in certs {
            let fp = fingerprint(&cert);
            if !self.roots.iter().any(|r| fingerprint(r) == fp) {
                self.roots.push(cert);
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
            if !self.tsa_roots.iter().any(|r| fingerprint(r) == fp) {
                self.tsa_roots.push(cert);
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
        if !self.rekor_keys.iter().any(|k| k.log_id == key.log_id) {
            self.rekor_keys.push(key);
        }
        Ok(id)
    }

    /// A Fulcio certificate with SAN `san` issued on the word of OIDC issuer `issuer` belongs
    /// to `identity`.
    pub(crate) fn add_identity(
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
        self.identities.push(SigstoreIdentity {
            identity: identity.to_owned(),
            san,
            issuer: issuer.to_owned(),
        });
        Ok(())
    }

    /// The Sigstore path: SAN + OIDC issuer → identity, signature, then the short-lived
    /// certificate judged at the signing time (only if the policy accepts signingTime).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn verify(
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
            for id in &self.identities {
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
                if !self.trust_signing_time {
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
            X509Trust::verify_chain(&self.roots, signer, intermediates, &p)
        });
        let check = judge_chain(
            check,
            result,
            &Chain {
                signer,
                intermediates,
                roots: &self.roots,
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
        match crate::rekor::verify(&entry, &body, &self.rekor_keys) {
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
            Err(Failure::UnknownLog(d)) if self.trust_signing_time => Ok(TrustedTime::Unproven(
                Some(format!("{d}, so the signer's signingTime is used")),
            )),
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
        match crate::tsa::verify(&token, parts.signature, &self.tsa_roots) {
            Ok(ts) => Ok(TrustedTime::Proven(ts.time, ts.source)),
            Err(Failure::UnknownTsa(d)) if self.trust_signing_time => Ok(TrustedTime::Unproven(
                Some(format!("{d}, so the signer's signingTime is used")),
            )),
            Err(Failure::UnknownTsa(d)) => Err((KeyVerdict::UnknownKey, d)),
            Err(Failure::Bad(d)) => Err((KeyVerdict::BadSignature, d)),
            Err(Failure::Malformed(d)) => Err((KeyVerdict::Malformed, d)),
        }
    }
}

/// What establishes a Sigstore signature's time.
enum TrustedTime {
    /// A verified third-party time and its source, for messages.
    Proven(i64, String),
    /// Nothing verified; why a proof that is there was set aside, if one is.
    Unproven(Option<String>),
}
