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
fn x509_is_unsupported() {
    let cms = b"-----BEGIN SIGNED MESSAGE-----\nMIAGCSqGSIb3DQEHAqCAMIACAQExDTALBglghkgBZQMEAgEwCwYJKoZIhvcNAQcB\n-----END SIGNED MESSAGE-----\n";
    assert_eq!(
        verdict(cms),
        (KeyVerdict::UnsupportedFormat, Some(SignatureFormat::X509))
    );
}

#[test]
fn leading_whitespace_is_tolerated() {
    assert_eq!(
        verdict(b"\n  -----BEGIN SIGNED MESSAGE-----\n"),
        (KeyVerdict::UnsupportedFormat, Some(SignatureFormat::X509))
    );
}
