use crypto::Keyring;
use rules::facts::{KeyVerdict, SignatureFormat};

use crate::util::{now, PAYLOAD};

fn verdict(sig: &[u8]) -> (KeyVerdict, Option<SignatureFormat>) {
    let check = Keyring::new().verify(sig, PAYLOAD, now());
    assert!(
        check.detail.is_some(),
        "every non-good verdict explains itself: {check:?}"
    );
    (check.verdict, check.format)
}

#[test]
fn garbage_is_malformed() {
    assert_eq!(verdict(b""), (KeyVerdict::Malformed, None));
    assert_eq!(verdict(b"hello"), (KeyVerdict::Malformed, None));
    assert_eq!(verdict(&[0xff; 64]), (KeyVerdict::Malformed, None));
}

#[test]
fn broken_armor_bodies_are_malformed() {
    let ssh = b"-----BEGIN SSH SIGNATURE-----\nU1NIU0lHAAAAAQ==\n-----END SSH SIGNATURE-----\n";
    assert_eq!(
        verdict(ssh),
        (KeyVerdict::Malformed, Some(SignatureFormat::Ssh))
    );
    let pgp =
        b"-----BEGIN PGP SIGNATURE-----\n\nbm90IGEgc2lnbmF0dXJl\n-----END PGP SIGNATURE-----\n";
    assert_eq!(
        verdict(pgp),
        (KeyVerdict::Malformed, Some(SignatureFormat::Openpgp))
    );
    let truncated = b"-----BEGIN PGP SIGNATURE-----\n\niQEzBAABCAAdFiEE\n";
    assert_eq!(
        verdict(truncated),
        (KeyVerdict::Malformed, Some(SignatureFormat::Openpgp))
    );
}

#[test]
fn x509_truncated_is_malformed() {
    let cms = b"-----BEGIN SIGNED MESSAGE-----\nMIAGCSqGSIb3DQEHAqCAMIACAQExDTALBglghkgBZQMEAgEwCwYJKoZIhvcNAQcB\n-----END SIGNED MESSAGE-----\n";
    assert_eq!(
        verdict(cms),
        (KeyVerdict::Malformed, Some(SignatureFormat::X509))
    );
}

#[test]
fn leading_whitespace_is_tolerated() {
    assert_eq!(
        verdict(b"\n  -----BEGIN SIGNED MESSAGE-----\n"),
        (KeyVerdict::Malformed, Some(SignatureFormat::X509))
    );
}

/// Every single-byte corruption and every truncation of real signatures is answered with a
/// verdict, never a panic.
#[test]
fn corrupted_signatures_never_panic() {
    use crate::util::{Gpg, SshKey};

    let ed = SshKey::generate("ed25519", None);
    let rsa = SshKey::generate("rsa", Some(2048));
    let gpg = Gpg::new();
    gpg.generate("Alice <alice@example.com>", "ed25519", "sign");
    let mut keyring = Keyring::new();
    keyring.add_ssh_key("ed", &ed.public).expect("ed");
    keyring.add_ssh_key("rsa", &rsa.public).expect("rsa");
    keyring
        .add_openpgp_cert("alice", &gpg.export(&["alice@example.com"]))
        .expect("cert");
    let sigs = [
        ed.sign("git", PAYLOAD),
        rsa.sign("git", PAYLOAD),
        gpg.sign("alice@example.com", PAYLOAD, &[]),
    ];
    let mut good_mutants = 0;
    for (n, sig) in sigs.iter().enumerate() {
        assert_eq!(
            keyring.verify(sig, PAYLOAD, now()).verdict,
            KeyVerdict::Good
        );
        let ssh = n < 2;
        // The base64 body, between the BEGIN line and the END line.
        let body_start = sig.iter().position(|&b| b == b'\n').expect("armor") + 1;
        let body_end = sig
            .windows(9)
            .rposition(|w| w == b"-----END ")
            .expect("armor end");
        for i in 0..sig.len() {
            for flip in [0x01u8, 0x20, 0x80] {
                let mut m = sig.clone();
                m[i] ^= flip;
                if keyring.verify(&m, PAYLOAD, now()).verdict == KeyVerdict::Good {
                    // SSHSIG bodies are checked for canonical encoding: no body byte can change.
                    assert!(
                        !(ssh && (body_start..body_end).contains(&i) && m[i] != b'\r'),
                        "SSH signature {n} still verifies with byte {i} changed from {:?} to {:?}",
                        sig[i] as char,
                        m[i] as char
                    );
                    good_mutants += 1;
                }
            }
            let _ = keyring.verify(&sig[..i], PAYLOAD, now());
        }
    }
    // A few flips land in ignorable places (armor lines, the OpenPGP armor checksum, the
    // unhashed issuer subpacket when the hashed issuer fingerprint is present).
    let total: usize = sigs.iter().map(|s| s.len() * 3).sum();
    assert!(
        good_mutants * 10 < total,
        "{good_mutants} of {total} mutants verified"
    );
}
