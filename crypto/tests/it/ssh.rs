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

/// A security-key (FIDO) signature, built by hand since no hardware token is around: the key
/// signs sha256(application) || flags || counter || sha256(SSHSIG signed data).
fn sk_ed25519_signature(flags: u8) -> (String, Vec<u8>) {
    use signature::Signer;
    use ssh_key::private::Ed25519Keypair;
    use ssh_key::public::{KeyData, SkEd25519};
    use ssh_key::sha2::{Digest, Sha256};
    use ssh_key::{Algorithm, HashAlg, LineEnding, PublicKey, Signature, SshSig};

    let keypair = Ed25519Keypair::from_seed(&[7; 32]);
    let application = "ssh:";
    let key = KeyData::SkEd25519(SkEd25519::new(keypair.public, application));
    let inner = SshSig::signed_data("git", HashAlg::Sha512, PAYLOAD).expect("signed data");
    let counter = 42u32.to_be_bytes();
    let mut to_sign = Sha256::digest(application).to_vec();
    to_sign.push(flags);
    to_sign.extend_from_slice(&counter);
    to_sign.extend_from_slice(&Sha256::digest(&inner));
    let raw: Signature = keypair.try_sign(&to_sign).expect("ed25519 signs");
    let mut data = raw.as_bytes().to_vec();
    data.push(flags);
    data.extend_from_slice(&counter);
    let sig = Signature::new(Algorithm::SkEd25519, data).expect("sk signature");
    let pem = SshSig::new(key.clone(), "git", HashAlg::Sha512, sig)
        .expect("sshsig")
        .to_pem(LineEnding::LF)
        .expect("pem");
    let public = PublicKey::new(key, "test-only")
        .to_openssh()
        .expect("openssh line");
    (public, pem.into_bytes())
}

#[test]
fn security_key_signature_needs_user_presence() {
    let (public, touched) = sk_ed25519_signature(0x01);
    let (_, untouched) = sk_ed25519_signature(0x00);
    let mut keyring = Keyring::new();
    keyring
        .add_ssh_key("alice", &public)
        .expect("sk key accepted");
    assert_eq!(
        keyring.verify(&touched, PAYLOAD, now()).verdict,
        KeyVerdict::Good
    );
    assert_eq!(
        keyring.verify(&touched, &tampered(), now()).verdict,
        KeyVerdict::BadSignature
    );
    let check = keyring.verify(&untouched, PAYLOAD, now());
    assert_eq!(check.verdict, KeyVerdict::BadSignature, "{check:?}");
    assert!(
        check
            .detail
            .as_deref()
            .is_some_and(|d| d.contains("user presence")),
        "{check:?}"
    );
}
