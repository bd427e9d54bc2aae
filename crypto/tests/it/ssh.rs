use crypto::Keyring;
use rules::facts::{KeyVerdict, SignatureFormat};

use crate::util::{now, tampered, SshKey, PAYLOAD};

/// Signs with a fresh key of each type and checks good, tampered and fingerprint.
fn round_trip(kind: &str, bits: Option<u32>) {
    let key = SshKey::generate(kind, bits);
    let mut keyring = Keyring::new();
    let fp = keyring
        .add_ssh_key("alice", &key.public)
        .expect("key accepted");
    assert_eq!(
        fp,
        key.fingerprint(),
        "fingerprint as ssh-keygen -l prints it"
    );

    let sig = key.sign("git", PAYLOAD);
    let check = keyring.verify(&sig, PAYLOAD, now());
    assert_eq!(check.verdict, KeyVerdict::Good, "{kind}: {check:?}");
    assert_eq!(check.format, Some(SignatureFormat::Ssh));
    assert_eq!(check.key.as_deref(), Some(fp.as_str()));
    assert_eq!(check.identity.as_deref(), Some("alice"));
    assert_eq!(check.detail, None);
    assert_eq!(check.signed_at, None, "SSHSIG carries no time");

    let check = keyring.verify(&sig, &tampered(), now());
    assert_eq!(check.verdict, KeyVerdict::BadSignature, "{kind}: {check:?}");
    assert_eq!(check.identity.as_deref(), Some("alice"));
    assert!(check.detail.is_some());
}

#[test]
fn ed25519_good_and_tampered() {
    round_trip("ed25519", None);
}

#[test]
fn ecdsa_p256_good_and_tampered() {
    round_trip("ecdsa", Some(256));
}

#[test]
fn ecdsa_p384_good_and_tampered() {
    round_trip("ecdsa", Some(384));
}

#[test]
fn rsa_good_and_tampered() {
    // ssh-keygen signs with rsa-sha2-512.
    round_trip("rsa", Some(2048));
}

#[test]
fn unknown_key() {
    let known = SshKey::generate("ed25519", None);
    let stranger = SshKey::generate("ed25519", None);
    let mut keyring = Keyring::new();
    keyring
        .add_ssh_key("alice", &known.public)
        .expect("key accepted");
    let check = keyring.verify(&stranger.sign("git", PAYLOAD), PAYLOAD, now());
    assert_eq!(check.verdict, KeyVerdict::UnknownKey);
    assert_eq!(check.key, Some(stranger.fingerprint()));
    assert_eq!(check.identity, None);
}

#[test]
fn wrong_namespace() {
    let key = SshKey::generate("ed25519", None);
    let mut keyring = Keyring::new();
    keyring
        .add_ssh_key("alice", &key.public)
        .expect("key accepted");
    let check = keyring.verify(&key.sign("file", PAYLOAD), PAYLOAD, now());
    assert_eq!(check.verdict, KeyVerdict::WrongNamespace);
    assert_eq!(check.identity.as_deref(), Some("alice"));
    assert_eq!(
        check.detail.as_deref(),
        Some("signature was made for namespace \"file\", not \"git\"")
    );
}

#[test]
fn p521_is_refused_at_load() {
    let key = SshKey::generate("ecdsa", Some(521));
    let err = Keyring::new()
        .add_ssh_key("alice", &key.public)
        .expect_err("p521 cannot be verified by ssh-key 0.6");
    let msg = err.to_string();
    assert!(msg.contains("alice") && msg.contains("nistp521"), "{msg}");
}

#[test]
fn unreadable_key_line() {
    let err = Keyring::new()
        .add_ssh_key("alice", "ssh-ed25519 notbase64!")
        .expect_err("bad key");
    let msg = err.to_string();
    assert!(
        msg.starts_with("identity alice: cannot read SSH public key"),
        "{msg}"
    );
}
