//! Certificates built with Sequoia so their dates, flags and revocations are exactly known.

use std::io::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crypto::Keyring;
use rules::facts::{KeyVerdict, SignatureFormat};
use sequoia_openpgp as openpgp;

use openpgp::armor;
use openpgp::cert::prelude::*;
use openpgp::packet::{key, Key};
use openpgp::policy::StandardPolicy;
use openpgp::serialize::stream::{Armorer, Message, Signer};
use openpgp::serialize::SerializeInto;
use openpgp::types::{KeyFlags, ReasonForRevocation};

use crate::util::{tampered, DAY, PAYLOAD};

/// Receive time for all cases: 2026-06-01 00:00 UTC.
pub const NOW: i64 = 1_780_272_000;

pub fn at(unix: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(u64::try_from(unix).expect("after 1970"))
}

/// A cert created at `created` with a signing subkey, valid for `validity` seconds (None: forever).
pub fn cert(created: i64, validity: Option<i64>) -> Cert {
    CertBuilder::new()
        .add_userid("Alice <alice@example.com>")
        .set_creation_time(at(created))
        .set_validity_period(
            validity.map(|v| Duration::from_secs(u64::try_from(v).expect("positive"))),
        )
        .add_signing_subkey()
        .add_transport_encryption_subkey()
        .generate()
        .expect("cert generated")
        .0
}

/// A detached armored signature over PAYLOAD by `signer`, dated `when`.
pub fn sign_with<R: key::KeyRole>(signer: &Key<key::SecretParts, R>, when: i64) -> Vec<u8> {
    let keypair = signer
        .clone()
        .role_into_unspecified()
        .into_keypair()
        .expect("unencrypted secret");
    let mut out = Vec::new();
    {
        let message = Message::new(&mut out);
        let message = Armorer::new(message)
            .kind(armor::Kind::Signature)
            .build()
            .expect("armorer");
        let mut signer = Signer::new(message, keypair)
            .expect("signer")
            .detached()
            .creation_time(at(when))
            .build()
            .expect("signer built");
        signer.write_all(PAYLOAD).expect("write");
        signer.finalize().expect("finalize");
    }
    out
}

/// Like `sign_with`, with a chosen hash algorithm.
fn sign_with_hash<R: key::KeyRole>(
    signer: &Key<key::SecretParts, R>,
    when: i64,
    hash: openpgp::types::HashAlgorithm,
) -> Vec<u8> {
    let keypair = signer
        .clone()
        .role_into_unspecified()
        .into_keypair()
        .expect("unencrypted secret");
    let mut out = Vec::new();
    {
        let message = Armorer::new(Message::new(&mut out))
            .kind(armor::Kind::Signature)
            .build()
            .expect("armorer");
        let mut signer = Signer::new(message, keypair)
            .expect("signer")
            .hash_algo(hash)
            .expect("hash accepted by the signer")
            .detached()
            .creation_time(at(when))
            .build()
            .expect("signer built");
        signer.write_all(PAYLOAD).expect("write");
        signer.finalize().expect("finalize");
    }
    out
}

/// Signs with the cert's signing subkey (as valid at `when`).
pub fn sign(cert: &Cert, when: i64) -> Vec<u8> {
    let p = StandardPolicy::new();
    let ka = cert
        .keys()
        .with_policy(&p, at(when))
        .for_signing()
        .secret()
        .next()
        .expect("a signing key valid at signing time");
    sign_with(ka.key(), when)
}

fn keyring_with(cert: &Cert) -> Keyring {
    let mut keyring = Keyring::new();
    keyring
        .add_openpgp_cert("alice", &cert.armored().to_vec().expect("serialize"))
        .expect("cert accepted");
    keyring
}

pub fn primary_signer(cert: &Cert) -> openpgp::crypto::KeyPair {
    cert.primary_key()
        .key()
        .clone()
        .parts_into_secret()
        .expect("has secret")
        .into_keypair()
        .expect("keypair")
}

fn keyid(cert: &Cert) -> String {
    cert.keyid().to_hex()
}

#[test]
fn good_signature_reports_time_key_and_identity() {
    let cert = cert(NOW - 100 * DAY, None);
    let keyring = keyring_with(&cert);
    let check = keyring.verify(&sign(&cert, NOW - DAY), PAYLOAD, NOW);
    assert_eq!(check.verdict, KeyVerdict::Good, "{check:?}");
    assert_eq!(check.format, Some(SignatureFormat::Openpgp));
    assert_eq!(
        check.key,
        Some(cert.fingerprint().to_hex()),
        "primary fingerprint"
    );
    assert_eq!(check.identity.as_deref(), Some("alice"));
    assert_eq!(check.signed_at, Some(NOW - DAY));
    assert_eq!(
        keyring
            .verify(&sign(&cert, NOW - DAY), &tampered(), NOW)
            .verdict,
        KeyVerdict::BadSignature
    );
}

#[test]
fn expired_at_receive_time_although_valid_when_signed() {
    // Created 30 days ago, valid for 10 days, signature made on day 5.
    let cert = cert(NOW - 30 * DAY, Some(10 * DAY));
    let keyring = keyring_with(&cert);
    let sig = sign(&cert, NOW - 25 * DAY);
    let check = keyring.verify(&sig, PAYLOAD, NOW);
    assert_eq!(check.verdict, KeyVerdict::ExpiredKey, "{check:?}");
    assert_eq!(
        check.detail,
        Some(format!("key 0x{} expired on 2026-05-12", keyid(&cert)))
    );
    assert_eq!(check.identity.as_deref(), Some("alice"));
    // The very same signature received while the key was alive is good.
    assert_eq!(
        keyring.verify(&sig, PAYLOAD, NOW - 24 * DAY).verdict,
        KeyVerdict::Good
    );
}

#[test]
fn not_yet_valid_key() {
    let cert = cert(NOW + 10 * DAY, None);
    let keyring = keyring_with(&cert);
    let check = keyring.verify(&sign(&cert, NOW + 11 * DAY), PAYLOAD, NOW);
    assert_eq!(check.verdict, KeyVerdict::KeyNotYetValid, "{check:?}");
    assert_eq!(
        check.detail,
        Some(format!(
            "key 0x{} is dated 2026-06-11, after receive time",
            keyid(&cert)
        ))
    );
}

fn revoked(reason: ReasonForRevocation, revoked_at: i64) -> Cert {
    let cert = cert(NOW - 30 * DAY, None);
    let rev = CertRevocationBuilder::new()
        .set_reason_for_revocation(reason, b"test")
        .expect("reason")
        .set_signature_creation_time(at(revoked_at))
        .expect("time")
        .build(&mut primary_signer(&cert), &cert, None)
        .expect("revocation");
    cert.insert_packets(rev).expect("merge").0
}

#[test]
fn soft_revocation_counts_from_its_date_at_receive_time() {
    let cert = revoked(ReasonForRevocation::KeyRetired, NOW - 10 * DAY);
    let keyring = keyring_with(&cert);
    // Signed before the key was retired, received after: revoked at receive time.
    let sig = sign(&cert, NOW - 20 * DAY);
    let check = keyring.verify(&sig, PAYLOAD, NOW);
    assert_eq!(check.verdict, KeyVerdict::RevokedKey, "{check:?}");
    assert_eq!(
        check.detail,
        Some(format!(
            "key 0x{} was revoked on 2026-05-22 (Key is retired and no longer used, soft revocation: test)",
            keyid(&cert)
        ))
    );
    // Received before the retirement: good.
    assert_eq!(
        keyring.verify(&sig, PAYLOAD, NOW - 15 * DAY).verdict,
        KeyVerdict::Good
    );
}

#[test]
fn hard_revocation_counts_always() {
    let cert = revoked(ReasonForRevocation::KeyCompromised, NOW - 10 * DAY);
    let keyring = keyring_with(&cert);
    let sig = sign(&cert, NOW - 20 * DAY);
    for t in [NOW, NOW - 15 * DAY] {
        let check = keyring.verify(&sig, PAYLOAD, t);
        assert_eq!(check.verdict, KeyVerdict::RevokedKey, "at {t}: {check:?}");
        assert!(
            check
                .detail
                .as_deref()
                .is_some_and(|d| d.contains("hard revocation")),
            "{check:?}"
        );
    }
}

#[test]
fn revoked_signing_subkey() {
    let cert = cert(NOW - 30 * DAY, None);
    let p = StandardPolicy::new();
    let subkey = cert
        .keys()
        .subkeys()
        .with_policy(&p, at(NOW))
        .for_signing()
        .next()
        .expect("signing subkey");
    let rev = SubkeyRevocationBuilder::new()
        .set_reason_for_revocation(ReasonForRevocation::KeySuperseded, b"new subkey")
        .expect("reason")
        .set_signature_creation_time(at(NOW - 5 * DAY))
        .expect("time")
        .build(&mut primary_signer(&cert), &cert, subkey.key(), None)
        .expect("revocation");
    let sig = sign(&cert, NOW - 20 * DAY);
    let cert = cert.insert_packets(rev).expect("merge").0;
    let keyring = keyring_with(&cert);
    let check = keyring.verify(&sig, PAYLOAD, NOW);
    assert_eq!(check.verdict, KeyVerdict::RevokedKey, "{check:?}");
    assert_eq!(check.key, Some(cert.fingerprint().to_hex()));
}

#[test]
fn encryption_subkey_cannot_sign() {
    // RSA, so the encryption subkey is technically able to sign (Cv25519 could not at all).
    let (cert, _) = CertBuilder::new()
        .set_cipher_suite(CipherSuite::RSA2k)
        .set_creation_time(at(NOW - 30 * DAY))
        .add_userid("Alice <alice@example.com>")
        .add_subkey(KeyFlags::empty().set_transport_encryption(), None, None)
        .generate()
        .expect("cert");
    let p = StandardPolicy::new();
    let enc = cert
        .keys()
        .subkeys()
        .with_policy(&p, at(NOW))
        .for_transport_encryption()
        .secret()
        .next()
        .expect("encryption subkey");
    let sig = sign_with(enc.key(), NOW - DAY);
    let keyring = keyring_with(&cert);
    let check = keyring.verify(&sig, PAYLOAD, NOW);
    assert_eq!(check.verdict, KeyVerdict::NotSigningKey, "{check:?}");
    assert_eq!(
        check.detail,
        Some(format!(
            "key 0x{} is not marked for signing (its key flags do not allow it)",
            enc.key().keyid().to_hex()
        ))
    );
}

#[test]
fn expired_signing_subkey_of_live_cert() {
    let (cert, _) = CertBuilder::new()
        .set_creation_time(at(NOW - 30 * DAY))
        .add_userid("Alice <alice@example.com>")
        .add_subkey(
            KeyFlags::empty().set_signing(),
            Some(Duration::from_secs(10 * 86_400)),
            None,
        )
        .generate()
        .expect("cert");
    let keyring = keyring_with(&cert);
    let check = keyring.verify(&sign(&cert, NOW - 25 * DAY), PAYLOAD, NOW);
    assert_eq!(check.verdict, KeyVerdict::ExpiredKey, "{check:?}");
    let subkey = cert.keys().subkeys().next().expect("subkey");
    assert_eq!(
        check.detail,
        Some(format!(
            "key 0x{} expired on 2026-05-12",
            subkey.key().keyid().to_hex()
        ))
    );
}

#[test]
fn v6_certificate() {
    let (cert, _) = CertBuilder::new()
        .set_profile(openpgp::Profile::RFC9580)
        .expect("v6 profile")
        .set_creation_time(at(NOW - 30 * DAY))
        .add_userid("Alice <alice@example.com>")
        .add_signing_subkey()
        .generate()
        .expect("v6 cert");
    assert_eq!(cert.primary_key().key().version(), 6);
    let keyring = keyring_with(&cert);
    let sig = sign(&cert, NOW - DAY);
    let check = keyring.verify(&sig, PAYLOAD, NOW);
    assert_eq!(check.verdict, KeyVerdict::Good, "{check:?}");
    assert_eq!(check.key, Some(cert.fingerprint().to_hex()));
    assert_eq!(
        keyring.verify(&sig, &tampered(), NOW).verdict,
        KeyVerdict::BadSignature
    );
}

#[test]
fn updated_cert_for_same_identity_is_merged() {
    // The policy first holds the plain cert, then an update carrying a revocation.
    let plain = cert(NOW - 30 * DAY, None);
    let rev = CertRevocationBuilder::new()
        .set_reason_for_revocation(ReasonForRevocation::KeyCompromised, b"lost")
        .expect("reason")
        .set_signature_creation_time(at(NOW - DAY))
        .expect("time")
        .build(&mut primary_signer(&plain), &plain, None)
        .expect("revocation");
    let updated = plain.clone().insert_packets(rev).expect("merge").0;
    let mut keyring = keyring_with(&plain);
    let sig = sign(&plain, NOW - 2 * DAY);
    assert_eq!(keyring.verify(&sig, PAYLOAD, NOW).verdict, KeyVerdict::Good);
    keyring
        .add_openpgp_cert("alice", &updated.armored().to_vec().expect("serialize"))
        .expect("same identity");
    assert_eq!(keyring.len(), 1);
    assert_eq!(
        keyring.verify(&sig, PAYLOAD, NOW).verdict,
        KeyVerdict::RevokedKey
    );
}

#[test]
fn backdated_sha1_signature_is_still_rejected() {
    // A signature claiming 2010 (before the 2013 SHA-1 cutoff) must not slip through: the
    // policy is evaluated at receive time.
    let (cert, _) = CertBuilder::new()
        .set_creation_time(at(1_230_768_000)) // 2009-01-01
        .add_userid("Alice <alice@example.com>")
        .set_primary_key_flags(KeyFlags::empty().set_certification().set_signing())
        .generate()
        .expect("cert");
    let key = cert
        .primary_key()
        .key()
        .clone()
        .parts_into_secret()
        .expect("secret");
    let keyring = keyring_with(&cert);
    let sha1 = sign_with_hash(&key, 1_262_304_000, openpgp::types::HashAlgorithm::SHA1); // 2010-01-01
    let check = keyring.verify(&sha1, PAYLOAD, NOW);
    assert_eq!(check.verdict, KeyVerdict::UnsupportedFormat, "{check:?}");
    assert_eq!(check.identity.as_deref(), Some("alice"));
    // The same key with SHA-256 is fine.
    let sha256 = sign_with_hash(&key, 1_262_304_000, openpgp::types::HashAlgorithm::SHA256);
    assert_eq!(
        keyring.verify(&sha256, PAYLOAD, NOW).verdict,
        KeyVerdict::Good
    );
}

#[test]
fn signature_dated_before_the_key_is_bad() {
    let cert = cert(NOW - 30 * DAY, None);
    let p = StandardPolicy::new();
    let key = cert
        .keys()
        .with_policy(&p, at(NOW))
        .for_signing()
        .secret()
        .next()
        .expect("signing key");
    let keyring = keyring_with(&cert);
    let check = keyring.verify(&sign_with(key.key(), NOW - 40 * DAY), PAYLOAD, NOW);
    assert_eq!(check.verdict, KeyVerdict::BadSignature, "{check:?}");
    assert_eq!(
        check.detail,
        Some(format!(
            "signature is dated before key 0x{} was created",
            key.key().keyid().to_hex()
        ))
    );
}
