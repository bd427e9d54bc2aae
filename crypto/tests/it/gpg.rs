use crypto::Keyring;
use rules::facts::{KeyVerdict, SignatureFormat};

use crate::util::{now, tampered, Gpg, DAY, PAYLOAD};

const ALICE: &str = "Alice <alice@example.com>";
const BOB: &str = "Bob <bob@example.com>";

/// gpg's default key (RSA with an encryption subkey), then sign, verify, tamper.
#[test]
fn rsa_good_and_tampered() {
    let gpg = Gpg::new();
    let fpr = gpg.generate(ALICE, "default", "default");
    let mut keyring = Keyring::new();
    let added = keyring
        .add_openpgp_cert("alice", &gpg.export(&[ALICE]))
        .expect("cert accepted");
    assert_eq!(
        added,
        std::slice::from_ref(&fpr),
        "fingerprints as gpg prints them"
    );

    let sig = gpg.sign(ALICE, PAYLOAD, &[]);
    let t = now();
    let check = keyring.verify(&sig, PAYLOAD, t);
    assert_eq!(check.verdict, KeyVerdict::Good, "{check:?}");
    assert_eq!(check.format, Some(SignatureFormat::Openpgp));
    assert_eq!(check.key.as_deref(), Some(fpr.as_str()));
    assert_eq!(check.identity.as_deref(), Some("alice"));
    let signed_at = check.signed_at.expect("OpenPGP signatures carry a time");
    assert!(
        (t - signed_at).abs() < DAY,
        "signed_at {signed_at} vs now {t}"
    );

    let check = keyring.verify(&sig, &tampered(), t);
    assert_eq!(check.verdict, KeyVerdict::BadSignature, "{check:?}");
    assert_eq!(check.identity.as_deref(), Some("alice"));
}

#[test]
fn ed25519_good_and_tampered() {
    let gpg = Gpg::new();
    let fpr = gpg.generate(ALICE, "ed25519", "sign");
    let mut keyring = Keyring::new();
    keyring
        .add_openpgp_cert("alice", &gpg.export(&[ALICE]))
        .expect("cert accepted");
    let sig = gpg.sign(ALICE, PAYLOAD, &[]);
    let check = keyring.verify(&sig, PAYLOAD, now());
    assert_eq!(check.verdict, KeyVerdict::Good, "{check:?}");
    assert_eq!(check.key, Some(fpr));
    assert_eq!(
        keyring.verify(&sig, &tampered(), now()).verdict,
        KeyVerdict::BadSignature
    );
}

#[test]
fn text_mode_signature() {
    // Some users have `textmode` in gpg.conf; the signature then covers CRLF line endings.
    let gpg = Gpg::new();
    gpg.generate(ALICE, "ed25519", "sign");
    let mut keyring = Keyring::new();
    keyring
        .add_openpgp_cert("alice", &gpg.export(&[ALICE]))
        .expect("cert accepted");
    let sig = gpg.sign(ALICE, PAYLOAD, &["--textmode"]);
    assert_eq!(
        keyring.verify(&sig, PAYLOAD, now()).verdict,
        KeyVerdict::Good
    );
    assert_eq!(
        keyring.verify(&sig, &tampered(), now()).verdict,
        KeyVerdict::BadSignature
    );
}

#[test]
fn sha1_is_rejected() {
    let gpg = Gpg::new();
    let fpr = gpg.generate(ALICE, "ed25519", "sign");
    let mut keyring = Keyring::new();
    keyring
        .add_openpgp_cert("alice", &gpg.export(&[ALICE]))
        .expect("cert accepted");
    let sig = gpg.sign(ALICE, PAYLOAD, &["--digest-algo", "SHA1"]);
    let check = keyring.verify(&sig, PAYLOAD, now());
    assert_eq!(check.verdict, KeyVerdict::UnsupportedFormat, "{check:?}");
    assert_eq!(check.key, Some(fpr));
    assert!(
        check.detail.as_deref().is_some_and(|d| d.contains("SHA1")),
        "{check:?}"
    );
}

/// `set_sha1_cutoff`: a SHA-1 signature created before the cutoff is accepted; at or after it,
/// or with no cutoff (the default), refused. Tampering is still caught.
#[test]
fn sha1_before_the_cutoff_is_accepted() {
    let gpg = Gpg::new();
    gpg.generate(ALICE, "rsa2048", "sign");
    let mut keyring = Keyring::new();
    keyring
        .add_openpgp_cert("alice", &gpg.export(&[ALICE]))
        .expect("cert accepted");
    let sig = gpg.sign(ALICE, PAYLOAD, &["--digest-algo", "SHA1"]);
    let signed = now();

    keyring.set_sha1_cutoff(Some(signed + DAY));
    let check = keyring.verify(&sig, PAYLOAD, now());
    assert_eq!(check.verdict, KeyVerdict::Good, "{check:?}");
    assert_eq!(
        keyring.verify(&sig, &tampered(), now()).verdict,
        KeyVerdict::BadSignature
    );

    keyring.set_sha1_cutoff(Some(signed - DAY));
    let check = keyring.verify(&sig, PAYLOAD, now());
    assert_eq!(check.verdict, KeyVerdict::UnsupportedFormat, "{check:?}");

    keyring.set_sha1_cutoff(None);
    assert_eq!(
        keyring.verify(&sig, PAYLOAD, now()).verdict,
        KeyVerdict::UnsupportedFormat
    );

    // The cutoff is about SHA-1 only: a SHA-256 signature is unaffected by it.
    keyring.set_sha1_cutoff(Some(0));
    let sig = gpg.sign(ALICE, PAYLOAD, &["--digest-algo", "SHA256"]);
    assert_eq!(
        keyring.verify(&sig, PAYLOAD, now()).verdict,
        KeyVerdict::Good
    );
}

#[test]
fn unknown_key() {
    let gpg = Gpg::new();
    gpg.generate(ALICE, "ed25519", "sign");
    let bob = gpg.generate(BOB, "ed25519", "sign");
    let mut keyring = Keyring::new();
    keyring
        .add_openpgp_cert("alice", &gpg.export(&[ALICE]))
        .expect("cert accepted");
    let check = keyring.verify(&gpg.sign(BOB, PAYLOAD, &[]), PAYLOAD, now());
    assert_eq!(check.verdict, KeyVerdict::UnknownKey, "{check:?}");
    assert_eq!(check.key, Some(bob.clone()), "issuer fingerprint subpacket");
    assert_eq!(check.identity, None);
    assert_eq!(
        check.detail,
        Some(format!(
            "no certificate in the policy has key 0x{}",
            &bob[bob.len() - 16..]
        ))
    );
}

#[test]
fn keyring_file_with_two_certs() {
    let gpg = Gpg::new();
    let a = gpg.generate(ALICE, "ed25519", "sign");
    let b = gpg.generate(BOB, "default", "default");
    let mut keyring = Keyring::new();
    let mut added = keyring
        .add_openpgp_cert("team", &gpg.export(&[]))
        .expect("keyring accepted");
    added.sort();
    let mut expected = vec![a, b];
    expected.sort();
    assert_eq!(added, expected);
    assert_eq!(keyring.len(), 2);
    for uid in [ALICE, BOB] {
        let check = keyring.verify(&gpg.sign(uid, PAYLOAD, &[]), PAYLOAD, now());
        assert_eq!(check.verdict, KeyVerdict::Good, "{uid}: {check:?}");
        assert_eq!(check.identity.as_deref(), Some("team"));
    }
}

#[test]
fn secret_keys_are_accepted_but_not_kept() {
    let gpg = Gpg::new();
    gpg.generate(ALICE, "ed25519", "sign");
    let out = std::process::Command::new("gpg")
        .env("GNUPGHOME", gpg.home())
        .args([
            "--batch",
            "--pinentry-mode",
            "loopback",
            "--passphrase",
            "",
            "--armor",
            "--export-secret-keys",
            ALICE,
        ])
        .output()
        .expect("gpg runs");
    assert!(out.status.success());
    let mut keyring = Keyring::new();
    keyring
        .add_openpgp_cert("alice", &out.stdout)
        .expect("a TSK is a cert too");
    let check = keyring.verify(&gpg.sign(ALICE, PAYLOAD, &[]), PAYLOAD, now());
    assert_eq!(check.verdict, KeyVerdict::Good);
}
