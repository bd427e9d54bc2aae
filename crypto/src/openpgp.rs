//! OpenPGP signatures (`gpg --detach-sign --armor`, v4 and v6) checked with Sequoia.
//!
//! Sequoia's streaming verifier judges the key at the signature's own creation time, which the
//! signer chooses. We therefore do the steps ourselves: find the issuer's key by Key ID, check the
//! cryptographic signature over the payload, then judge the certificate and the signing key at
//! the server's receive time with [`StandardPolicy`].

use std::collections::HashMap;
use std::io::Read;
use std::time::SystemTime;

use rules::facts::{KeyVerdict, SignatureCheck, SignatureFormat};
use sequoia_openpgp as openpgp;

use openpgp::armor;
use openpgp::cert::prelude::*;
use openpgp::packet::{key, Key, Signature};
use openpgp::parse::Parse;
use openpgp::policy::{HashAlgoSecurity, Policy, StandardPolicy};
use openpgp::types::{HashAlgorithm, RevocationStatus, RevocationType, SignatureType};
use openpgp::{Fingerprint, KeyHandle, KeyID, Packet, PacketPile};

use crate::time::{system_time_of, unix_of};
use crate::KeyError;
use rules::calendar::format_date;

/// Sequoia's standard policy, evaluated at the receive time (not the wall clock, not the
/// signature's time). Among others it rejects SHA-1 where collision resistance matters (data
/// signatures) from 2013-02-01 and everywhere from 2023-02-01, MD5 always, and weak keys.
fn policy_at(t: SystemTime) -> StandardPolicy<'static> {
    StandardPolicy::at(t)
}

#[derive(Debug)]
struct CertEntry {
    cert: Cert,
    identity: String,
}

/// OpenPGP certificates indexed by the Key ID of every key they hold.
#[derive(Debug, Default)]
pub(crate) struct Certs {
    certs: Vec<CertEntry>,
    /// Key ID of every primary key and subkey → indexes into `certs`.
    by_keyid: HashMap<KeyID, Vec<usize>>,
    /// Primary fingerprint → index into `certs`.
    by_primary: HashMap<Fingerprint, usize>,
    /// Fingerprint of every primary key and subkey → owning identity.
    owners: HashMap<Fingerprint, String>,
    /// SHA-1 data signatures created before this time (Unix seconds) are accepted.
    pub(crate) sha1_cutoff: Option<i64>,
}

impl Certs {
    pub(crate) fn len(&self) -> usize {
        self.certs.len()
    }

    /// Adds every certificate in `data` (armored or binary, one or many) for `identity`.
    /// Nothing is added if any certificate fails to parse or belongs to another identity.
    pub(crate) fn add(&mut self, identity: &str, data: &[u8]) -> Result<Vec<String>, KeyError> {
        let parse_error = |e: openpgp::anyhow::Error| KeyError::OpenPgp {
            identity: identity.to_owned(),
            reason: format!("{e:#}"),
        };
        let mut parsed = Vec::new();
        for item in CertParser::from_bytes(data).map_err(parse_error)? {
            let cert = item.map_err(parse_error)?;
            // The policy holds public keys only; never keep secrets around by accident.
            parsed.push(cert.strip_secret_key_material());
        }
        if parsed.is_empty() {
            return Err(KeyError::NoCertificate {
                identity: identity.to_owned(),
            });
        }
        for cert in &parsed {
            for ka in cert.keys() {
                let fpr = ka.key().fingerprint();
                if let Some(owner) = self.owners.get(&fpr) {
                    if owner != identity {
                        return Err(KeyError::SharedKey {
                            key: fpr.to_hex(),
                            first: owner.clone(),
                            second: identity.to_owned(),
                        });
                    }
                }
            }
        }
        let mut primaries = Vec::with_capacity(parsed.len());
        for cert in parsed {
            let primary = cert.fingerprint();
            primaries.push(primary.to_hex());
            let index = match self.by_primary.get(&primary) {
                Some(&i) => {
                    // Same certificate again (e.g. an update with a new revocation or expiry):
                    // merge, as gpg --import would.
                    let old = self.certs[i].cert.clone();
                    self.certs[i].cert = old.merge_public(cert).map_err(|e| KeyError::OpenPgp {
                        identity: identity.to_owned(),
                        reason: format!("cannot merge certificate {primary}: {e:#}"),
                    })?;
                    i
                }
                None => {
                    self.certs.push(CertEntry {
                        cert,
                        identity: identity.to_owned(),
                    });
                    let i = self.certs.len() - 1;
                    self.by_primary.insert(primary, i);
                    i
                }
            };
            for ka in self.certs[index].cert.keys() {
                let fpr = ka.key().fingerprint();
                let slot = self.by_keyid.entry(KeyID::from(&fpr)).or_default();
                if !slot.contains(&index) {
                    slot.push(index);
                }
                self.owners.insert(fpr, identity.to_owned());
            }
        }
        Ok(primaries)
    }

    /// Verifies an armored detached signature over `payload`, judging the key at `now`.
    pub(crate) fn verify(&self, armored: &[u8], payload: &[u8], now: i64) -> SignatureCheck {
        let sigs = match parse_signatures(armored) {
            Ok(sigs) => sigs,
            Err(detail) => {
                return SignatureCheck {
                    verdict: KeyVerdict::Malformed,
                    format: Some(SignatureFormat::Openpgp),
                    detail: Some(detail),
                    ..SignatureCheck::default()
                }
            }
        };
        // One good signature is enough (gpg reports them all; git takes the first). Otherwise
        // report the first failure by a known key, which says more than "unknown key".
        let t = system_time_of(now);
        let policy = policy_at(t);
        let mut best: Option<SignatureCheck> = None;
        for sig in &sigs {
            let check = self.verify_one(sig, payload, t, &policy);
            if check.verdict == KeyVerdict::Good {
                return check;
            }
            best = match best {
                Some(b) if b.verdict == KeyVerdict::UnknownKey => Some(check),
                Some(b) => Some(b),
                None => Some(check),
            };
        }
        best.unwrap_or_else(|| SignatureCheck {
            verdict: KeyVerdict::Malformed,
            format: Some(SignatureFormat::Openpgp),
            detail: Some("no signature packet in the armor".into()),
            ..SignatureCheck::default()
        })
    }

    fn verify_one(
        &self,
        sig: &Signature,
        payload: &[u8],
        t: SystemTime,
        policy: &dyn Policy,
    ) -> SignatureCheck {
        let mut check = SignatureCheck {
            verdict: KeyVerdict::Good,
            format: Some(SignatureFormat::Openpgp),
            signed_at: sig.signature_creation_time().map(unix_of),
            ..SignatureCheck::default()
        };
        if !matches!(sig.typ(), SignatureType::Binary | SignatureType::Text) {
            check.verdict = KeyVerdict::Malformed;
            check.detail = Some(format!(
                "a {} signature is not a signature over data",
                sig.typ()
            ));
            return check;
        }
        let issuers = sig.get_issuers();
        let Some(first_issuer) = issuers.first() else {
            check.verdict = KeyVerdict::Malformed;
            check.detail = Some("signature names no issuer key".into());
            return check;
        };

        // Candidate (certificate, signing key) pairs. Key IDs can collide; try each.
        let mut candidates: Vec<(usize, Fingerprint)> = Vec::new();
        for handle in &issuers {
            let Some(indexes) = self.by_keyid.get(&KeyID::from(handle)) else {
                continue;
            };
            for &i in indexes {
                for ka in self.certs[i].cert.keys().key_handle(handle.clone()) {
                    let pair = (i, ka.key().fingerprint());
                    if !candidates.contains(&pair) {
                        candidates.push(pair);
                    }
                }
            }
        }
        let Some((first_cert, _)) = candidates.first() else {
            check.verdict = KeyVerdict::UnknownKey;
            check.key = Some(first_issuer.to_hex());
            check.detail = Some(format!(
                "no certificate in the policy has key {}",
                issuer_label(first_issuer)
            ));
            return check;
        };

        let mut signer = None;
        for (i, fpr) in &candidates {
            let cert = &self.certs[*i].cert;
            let Some(ka) = cert.keys().key_handle(fpr.clone()).next() else {
                continue;
            };
            if verify_data(sig, ka.key(), payload).is_ok() {
                signer = Some((*i, fpr.clone()));
                break;
            }
        }
        let Some((index, signing_fpr)) = signer else {
            let entry = &self.certs[*first_cert];
            check.verdict = KeyVerdict::BadSignature;
            check.key = Some(entry.cert.fingerprint().to_hex());
            check.identity = Some(entry.identity.clone());
            let predates = entry
                .cert
                .keys()
                .key_handle(first_issuer.clone())
                .next()
                .zip(sig.signature_creation_time())
                .is_some_and(|(ka, signed)| signed < ka.key().creation_time());
            check.detail = Some(if predates {
                format!(
                    "signature is dated before key {} was created",
                    issuer_label(first_issuer)
                )
            } else {
                format!(
                    "signature by key {} does not match the signed data",
                    issuer_label(first_issuer)
                )
            });
            return check;
        };
        let entry = &self.certs[index];
        check.key = Some(entry.cert.fingerprint().to_hex());
        check.identity = Some(entry.identity.clone());

        let sha1_allowed = sig.hash_algo() == HashAlgorithm::SHA1
            && self.sha1_cutoff.is_some_and(|cutoff| {
                sig.signature_creation_time()
                    .is_some_and(|created| unix_of(created) < cutoff)
            });
        let verdict = if sha1_allowed {
            // Both properties: Sequoia also dates SHA-1's second-preimage resistance (2023).
            let mut lenient = policy_at(t);
            lenient.accept_hash(HashAlgorithm::SHA1);
            lenient.signature(sig, HashAlgoSecurity::CollisionResistance)
        } else {
            policy.signature(sig, HashAlgoSecurity::CollisionResistance)
        };
        if let Err(e) = verdict {
            check.verdict = KeyVerdict::UnsupportedFormat;
            check.detail = Some(format!(
                "signature uses {} which the standard policy rejects ({e})",
                sig.hash_algo()
            ));
            return check;
        }
        if let Some(expires) = sig.signature_expiration_time() {
            if expires <= t {
                check.verdict = KeyVerdict::ExpiredKey;
                check.detail = Some(format!(
                    "{} on {}",
                    crate::SIGNATURE_EXPIRED,
                    format_date(unix_of(expires))
                ));
                return check;
            }
        }
        let (verdict, detail) = judge_key(&entry.cert, &signing_fpr, t, policy);
        check.verdict = verdict;
        check.detail = detail;
        check
    }
}

/// `0x<key id>` for a handle, as gpg shows it.
fn issuer_label(h: &KeyHandle) -> String {
    format!("0x{}", KeyID::from(h).to_hex())
}

/// Reads the armored block and returns its signature packets; anything else is malformed.
fn parse_signatures(armored: &[u8]) -> Result<Vec<Signature>, String> {
    let mut reader = armor::Reader::from_bytes(
        armored,
        armor::ReaderMode::Tolerant(Some(armor::Kind::Signature)),
    );
    let mut binary = Vec::new();
    reader
        .read_to_end(&mut binary)
        .map_err(|e| format!("cannot read the armored signature: {e}"))?;
    // Non-canonical MPIs (declared bit counts that are not the value's) are read as GnuPG
    // reads them; see `openpgp_mpi`. The rest is Sequoia's to judge.
    if let Some(canonical) = crate::openpgp_mpi::normalise(&binary) {
        binary = canonical;
    }
    let pile = PacketPile::from_bytes(&binary)
        .map_err(|e| format!("cannot parse the signature packets: {e:#}"))?;
    let mut sigs = Vec::new();
    for packet in pile.into_children() {
        match packet {
            Packet::Signature(sig) => sigs.push(sig),
            Packet::Unknown(u) => {
                return Err(format!("unsupported {} packet: {:#}", u.tag(), u.error()));
            }
            other => return Err(format!("unexpected {} packet in a signature", other.tag())),
        }
    }
    if sigs.is_empty() {
        return Err("no signature packet in the armor".into());
    }
    Ok(sigs)
}

/// Checks the cryptographic signature only (type binary or text, key predates signature).
fn verify_data<R: key::KeyRole>(
    sig: &Signature,
    key: &Key<key::PublicParts, R>,
    payload: &[u8],
) -> openpgp::Result<()> {
    if sig.typ() == SignatureType::Text {
        sig.verify_message(key, to_crlf(payload))
    } else {
        sig.verify_message(key, payload)
    }
}

/// Text signatures are made over the text with `<CR><LF>` line endings.
fn to_crlf(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + data.len() / 32);
    let mut prev = 0u8;
    for &b in data {
        if b == b'\n' && prev != b'\r' {
            out.push(b'\r');
        }
        out.push(b);
        prev = b;
    }
    out
}

/// Judges the certificate and its signing key at `t` (the receive time).
fn judge_key(
    cert: &Cert,
    signing: &Fingerprint,
    t: SystemTime,
    policy: &dyn Policy,
) -> (KeyVerdict, Option<String>) {
    let label = format!("0x{}", KeyID::from(signing).to_hex());
    let primary_label = format!("0x{}", cert.keyid().to_hex());
    let date = |st: SystemTime| format_date(unix_of(st));

    // Created after receive time: the signer's clock or intent is off, or the key is fake-dated.
    let primary_created = cert.primary_key().key().creation_time();
    if primary_created > t {
        return (
            KeyVerdict::KeyNotYetValid,
            Some(format!(
                "key {primary_label} is dated {}, after receive time",
                date(primary_created)
            )),
        );
    }
    if let Some(ka) = cert.keys().key_handle(signing.clone()).next() {
        let created = ka.key().creation_time();
        if created > t {
            return (
                KeyVerdict::KeyNotYetValid,
                Some(format!(
                    "key {label} is dated {}, after receive time",
                    date(created)
                )),
            );
        }
    }

    let vc = match cert.with_policy(policy, t) {
        Ok(vc) => vc,
        Err(e) => {
            return (
                KeyVerdict::NotSigningKey,
                Some(format!(
                    "certificate {primary_label} has no self-signature valid at receive time under the standard policy ({e})"
                )),
            )
        }
    };
    if let RevocationStatus::Revoked(revs) = vc.revocation_status() {
        return (
            KeyVerdict::RevokedKey,
            Some(describe_revocation(&primary_label, &revs)),
        );
    }
    let Some(ka) = vc.keys().key_handle(signing.clone()).next() else {
        return (
            KeyVerdict::NotSigningKey,
            Some(format!(
                "key {label} has no binding signature valid at receive time under the standard policy"
            )),
        );
    };
    if !ka.primary() {
        if let RevocationStatus::Revoked(revs) = ka.revocation_status() {
            return (
                KeyVerdict::RevokedKey,
                Some(describe_revocation(&label, &revs)),
            );
        }
    }
    if vc.alive().is_err() {
        let when = vc.primary_key().key_expiration_time().map_or_else(
            || "before receive time".to_owned(),
            |e| format!("on {}", date(e)),
        );
        return (
            KeyVerdict::ExpiredKey,
            Some(format!("key {primary_label} expired {when}")),
        );
    }
    if ka.alive().is_err() {
        let when = ka.key_expiration_time().map_or_else(
            || "before receive time".to_owned(),
            |e| format!("on {}", date(e)),
        );
        return (
            KeyVerdict::ExpiredKey,
            Some(format!("key {label} expired {when}")),
        );
    }
    if !ka.for_signing() {
        return (
            KeyVerdict::NotSigningKey,
            Some(format!(
                "key {label} is not marked for signing (its key flags do not allow it)"
            )),
        );
    }
    (KeyVerdict::Good, None)
}

/// "key 0x… was revoked on 2026-03-01 (key compromised: lost laptop)".
fn describe_revocation(label: &str, revs: &[&Signature]) -> String {
    let Some(rev) = revs.first() else {
        return format!("key {label} is revoked");
    };
    let when = rev
        .signature_creation_time()
        .map(|t| format!(" on {}", format_date(unix_of(t))))
        .unwrap_or_default();
    let why = match rev.reason_for_revocation() {
        Some((reason, msg)) => {
            let kind = match reason.revocation_type() {
                RevocationType::Hard => "hard",
                RevocationType::Soft => "soft",
            };
            let msg = String::from_utf8_lossy(msg);
            let msg = msg.trim();
            if msg.is_empty() {
                format!(" ({reason}, {kind} revocation)")
            } else {
                format!(" ({reason}, {kind} revocation: {msg})")
            }
        }
        None => " (no reason given, hard revocation)".to_owned(),
    };
    format!("key {label} was revoked{when}{why}")
}
