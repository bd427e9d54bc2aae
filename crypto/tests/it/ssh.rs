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
fn sshsig_sha256_hash_for_each_type() {
    // `-O hashalg=sha256` changes the SSHSIG message hash (the default is sha512).
    for (kind, bits) in [("ed25519", None), ("ecdsa", Some(384)), ("rsa", Some(3072))] {
        let key = SshKey::generate(kind, bits);
        let mut keyring = Keyring::new();
        keyring
            .add_ssh_key("alice", &key.public)
            .expect("key accepted");
        let sig = key.sign_opts("git", PAYLOAD, &["-O", "hashalg=sha256"]);
        assert_eq!(
            keyring.verify(&sig, PAYLOAD, now()).verdict,
            KeyVerdict::Good,
            "{kind}"
        );
        assert_eq!(
            keyring.verify(&sig, &tampered(), now()).verdict,
            KeyVerdict::BadSignature,
            "{kind}"
        );
    }
}

#[test]
fn signature_by_another_key_of_the_same_type_does_not_verify() {
    // The key inside the SSHSIG decides the lookup; a known key's blob with a stranger's
    // signature bytes must fail.
    let a = SshKey::generate("rsa", Some(2048));
    let b = SshKey::generate("rsa", Some(2048));
    let mut keyring = Keyring::new();
    keyring.add_ssh_key("alice", &a.public).expect("a");
    let sig_a = a.sign("git", PAYLOAD);
    let sig_b = b.sign("git", PAYLOAD);
    let pem = |s: &[u8]| String::from_utf8(s.to_vec()).expect("ascii");
    let body = |s: &str| -> Vec<u8> {
        use std::io::Read;
        let b64: String = s.lines().filter(|l| !l.starts_with("-----")).collect();
        let mut out = Vec::new();
        base64_decode(&b64)
            .as_slice()
            .read_to_end(&mut out)
            .expect("read");
        out
    };
    let (blob_a, blob_b) = (body(&pem(&sig_a)), body(&pem(&sig_b)));
    // Same length layout for same-size keys: splice b's trailing signature onto a's header.
    assert_eq!(blob_a.len(), blob_b.len());
    let sig_len = 4 + 4 + "rsa-sha2-512".len() + 4 + 256;
    let mut forged = blob_a[..blob_a.len() - sig_len].to_vec();
    forged.extend_from_slice(&blob_b[blob_b.len() - sig_len..]);
    let b64 = base64_encode(&forged);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(70)
        .map(|c| std::str::from_utf8(c).expect("ascii"))
        .collect();
    let armored = format!(
        "-----BEGIN SSH SIGNATURE-----\n{}\n-----END SSH SIGNATURE-----\n",
        lines.join("\n")
    );
    let check = keyring.verify(armored.as_bytes(), PAYLOAD, now());
    assert_eq!(check.verdict, KeyVerdict::BadSignature, "{check:?}");
    assert_eq!(
        keyring.verify(&sig_a, PAYLOAD, now()).verdict,
        KeyVerdict::Good
    );
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn base64_decode(s: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let mut acc = 0u32;
    let mut bits = 0;
    for c in s.bytes().filter(|&c| c != b'=') {
        let v = B64.iter().position(|&b| b == c).expect("base64 digit") as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

fn base64_encode(data: &[u8]) -> String {
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let n = chunk.len();
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let v = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= n {
                out.push(B64[((v >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn short_rsa_keys_are_refused_at_load() {
    let key = SshKey::generate("rsa", Some(1024));
    let err = Keyring::new()
        .add_ssh_key("alice", &key.public)
        .expect_err("1024-bit RSA");
    assert_eq!(
        err.to_string(),
        format!(
            "identity alice: SSH RSA key {} has 1024 bits; at least 2048 are required",
            key.fingerprint()
        )
    );
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

/// ssh-key 0.6.7 accepts an SSHSIG whose public-key length prefix is larger than the key
/// (ssh-encoding does not check that a nested field is used up). Such a re-encoded signature
/// would still verify and would give the commit a new id; pushguard calls it malformed.
#[test]
fn inflated_length_prefix_is_malformed() {
    let key = SshKey::generate("ed25519", None);
    let mut keyring = Keyring::new();
    keyring.add_ssh_key("alice", &key.public).expect("key");
    let sig = key.sign("git", PAYLOAD);
    let text = String::from_utf8(sig.clone()).expect("ascii");
    let b64: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
    let mut blob = base64_decode(&b64);
    // "SSHSIG" (6) + version (4), then the u32 length of the public key: bump its third byte.
    assert_eq!(&blob[10..12], &[0, 0]);
    blob[12] = 0x01;
    let b64 = base64_encode(&blob);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(70)
        .map(|c| std::str::from_utf8(c).expect("ascii"))
        .collect();
    let forged = format!(
        "-----BEGIN SSH SIGNATURE-----\n{}\n-----END SSH SIGNATURE-----\n",
        lines.join("\n")
    );
    assert!(
        ssh_key::SshSig::from_pem(&forged).is_ok(),
        "ssh-key still accepts this; if it stops, the check in ssh.rs is belt and braces"
    );
    let check = keyring.verify(forged.as_bytes(), PAYLOAD, now());
    assert_eq!(check.verdict, KeyVerdict::Malformed, "{check:?}");
    assert_eq!(
        check.detail.as_deref(),
        Some("SSH signature is not canonically encoded: public key length")
    );
}
