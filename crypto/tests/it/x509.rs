//! X.509 / CMS signatures made by gpgsm (and `openssl cms` where gpgsm refuses), with a
//! throwaway root CA made at test time.

use crypto::{KeyError, Keyring};
use rules::facts::{KeyVerdict, SignatureFormat};

use crate::util::{now, tampered, Pki, DAY, PAYLOAD};

const SIGNING: &str = "basicConstraints=critical,CA:FALSE\n\
keyUsage=critical,digitalSignature,nonRepudiation\n\
extendedKeyUsage=emailProtection\n\
subjectAltName=email:Alice@Example.com\n";

fn keyring(pki: &Pki) -> Keyring {
    let mut k = Keyring::new();
    k.add_x509_root(&pki.root_pem).expect("root");
    k.add_x509_identity("alice", "alice@example.com")
        .expect("identity");
    k
}

#[test]
fn gpgsm_signature_is_good_and_judged_at_receive_time() {
    let pki = Pki::new("Test Root");
    let alice = pki.issue("alice", SIGNING, 10);
    let sig = pki.sign(&alice, PAYLOAD);
    assert!(sig.starts_with(b"-----BEGIN SIGNED MESSAGE-----"));
    let k = keyring(&pki);

    let check = k.verify(&sig, PAYLOAD, now());
    assert_eq!(check.verdict, KeyVerdict::Good, "{check:?}");
    assert_eq!(check.format, Some(SignatureFormat::X509));
    assert_eq!(check.identity.as_deref(), Some("alice"));
    let fp = check.key.clone().expect("fingerprint");
    assert_eq!(fp.len(), 64, "{fp}");
    // gpgsm's signingTime attribute (BER, indefinite lengths) is reported, for information.
    let signed = check.signed_at.expect("signingTime");
    assert!((signed - now()).abs() < 600, "{signed}");

    let check = k.verify(&sig, &tampered(), now());
    assert_eq!(check.verdict, KeyVerdict::BadSignature, "{check:?}");
    assert_eq!(check.identity.as_deref(), Some("alice"));

    // Receive time after notAfter, before notBefore.
    let check = k.verify(&sig, PAYLOAD, now() + 20 * DAY);
    assert_eq!(check.verdict, KeyVerdict::ExpiredKey, "{check:?}");
    assert!(
        check
            .detail
            .as_deref()
            .is_some_and(|d| d.contains("expired on")),
        "{check:?}"
    );
    let check = k.verify(&sig, PAYLOAD, now() - DAY);
    assert_eq!(check.verdict, KeyVerdict::KeyNotYetValid, "{check:?}");
    // The root expires after 30 days: the chain is judged too.
    let check = k.verify(&sig, PAYLOAD, now() + 40 * DAY);
    assert_eq!(check.verdict, KeyVerdict::ExpiredKey, "{check:?}");
}

#[test]
fn untrusted_root_or_unknown_email_is_unknown_key() {
    let pki = Pki::new("Test Root");
    let alice = pki.issue("alice", SIGNING, 10);
    let sig = pki.sign(&alice, PAYLOAD);

    // Another root only.
    let other = Pki::new("Other Root");
    let mut k = Keyring::new();
    k.add_x509_root(&other.root_pem).expect("root");
    k.add_x509_identity("alice", "alice@example.com")
        .expect("identity");
    let check = k.verify(&sig, PAYLOAD, now());
    assert_eq!(check.verdict, KeyVerdict::UnknownKey, "{check:?}");
    assert!(
        check
            .detail
            .as_deref()
            .is_some_and(|d| d.contains("does not chain to a trusted root")),
        "{check:?}"
    );

    // Right root, but nobody owns the email.
    let mut k = Keyring::new();
    k.add_x509_root(&pki.root_pem).expect("root");
    k.add_x509_identity("bob", "bob@example.com")
        .expect("identity");
    let check = k.verify(&sig, PAYLOAD, now());
    assert_eq!(check.verdict, KeyVerdict::UnknownKey, "{check:?}");
    assert_eq!(check.identity, None);
    assert!(
        check
            .detail
            .as_deref()
            .is_some_and(|d| d.contains("no identity owns its email (alice@example.com)")),
        "{check:?}"
    );

    // No roots at all.
    let mut k = Keyring::new();
    k.add_x509_identity("alice", "alice@example.com")
        .expect("identity");
    assert_eq!(
        k.verify(&sig, PAYLOAD, now()).verdict,
        KeyVerdict::UnknownKey
    );
}

/// Any configured certificate is a trust anchor (OpenSSL PARTIAL_CHAIN): here the user's own
/// certificate is pinned, without its root.
#[test]
fn a_pinned_certificate_is_a_trust_anchor() {
    let pki = Pki::new("Test Root");
    let alice = pki.issue("alice", SIGNING, 10);
    let sig = pki.sign(&alice, PAYLOAD);
    let mut k = Keyring::new();
    k.add_x509_root(&alice.pem).expect("pinned leaf");
    k.add_x509_identity("alice", "alice@example.com")
        .expect("identity");
    let check = k.verify(&sig, PAYLOAD, now());
    assert_eq!(check.verdict, KeyVerdict::Good, "{check:?}");
    let check = k.verify(&sig, PAYLOAD, now() + 20 * DAY);
    assert_eq!(check.verdict, KeyVerdict::ExpiredKey, "{check:?}");
}

#[test]
fn subject_email_address_is_an_identity_too() {
    let pki = Pki::new("Test Root");
    // No SAN: the email is only in the subject (emailAddress), as older S/MIME certs do.
    let carol = pki.issue_subject(
        "carol",
        "/CN=Carol/emailAddress=carol@example.com",
        "keyUsage=critical,digitalSignature\n",
        10,
    );
    let sig = pki.sign(&carol, PAYLOAD);
    let mut k = Keyring::new();
    k.add_x509_root(&pki.root_pem).expect("root");
    k.add_x509_identity("carol", "carol@example.com")
        .expect("identity");
    let check = k.verify(&sig, PAYLOAD, now());
    assert_eq!(check.verdict, KeyVerdict::Good, "{check:?}");
    assert_eq!(check.identity.as_deref(), Some("carol"));
}

#[test]
fn certificate_not_for_signing_is_not_signing_key() {
    let pki = Pki::new("Test Root");
    // A TLS server certificate: EKU serverAuth only. gpgsm may refuse it; openssl signs anyway.
    pki.issue(
        "web",
        "keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=email:alice@example.com\n",
        10,
    );
    let sig = pki.openssl_sign("web", PAYLOAD, &[]);
    let k = keyring(&pki);
    let check = k.verify(&sig, PAYLOAD, now());
    assert_eq!(check.verdict, KeyVerdict::NotSigningKey, "{check:?}");

    // keyUsage keyEncipherment only.
    pki.issue(
        "enc",
        "keyUsage=critical,keyEncipherment\nsubjectAltName=email:alice@example.com\n",
        10,
    );
    let sig = pki.openssl_sign("enc", PAYLOAD, &[]);
    let check = k.verify(&sig, PAYLOAD, now());
    assert_eq!(check.verdict, KeyVerdict::NotSigningKey, "{check:?}");
}

#[test]
fn openssl_made_signature_without_attributes_verifies() {
    let pki = Pki::new("Test Root");
    pki.issue("alice", SIGNING, 10);
    let k = keyring(&pki);
    for extra in [&[][..], &["-noattr"][..]] {
        let sig = pki.openssl_sign("alice", PAYLOAD, extra);
        let check = k.verify(&sig, PAYLOAD, now());
        assert_eq!(check.verdict, KeyVerdict::Good, "{extra:?}: {check:?}");
        assert_eq!(
            k.verify(&sig, &tampered(), now()).verdict,
            KeyVerdict::BadSignature,
            "{extra:?}"
        );
    }
    // Without the signer certificate inside (-nocerts), nothing to chain: unknown key.
    let sig = pki.openssl_sign("alice", PAYLOAD, &["-nocerts"]);
    let check = k.verify(&sig, PAYLOAD, now());
    assert_eq!(check.verdict, KeyVerdict::UnknownKey, "{check:?}");
}

#[test]
fn sha1_cms_signature_is_refused() {
    let pki = Pki::new("Test Root");
    pki.issue("alice", SIGNING, 10);
    let k = keyring(&pki);
    let sig = pki.openssl_sign("alice", PAYLOAD, &["-md", "sha1"]);
    let check = k.verify(&sig, PAYLOAD, now());
    assert_eq!(check.verdict, KeyVerdict::UnsupportedFormat, "{check:?}");
    assert!(
        check.detail.as_deref().is_some_and(|d| d.contains("SHA-1")),
        "{check:?}"
    );
    let sig = pki.openssl_sign("alice", PAYLOAD, &["-md", "sha256"]);
    assert_eq!(k.verify(&sig, PAYLOAD, now()).verdict, KeyVerdict::Good);
}

#[test]
fn garbage_inside_the_armor_is_malformed() {
    let k = Keyring::new();
    for sig in [
        &b"-----BEGIN SIGNED MESSAGE-----\nAAAA\n-----END SIGNED MESSAGE-----\n"[..],
        b"-----BEGIN SIGNED MESSAGE-----\n!!!\n-----END SIGNED MESSAGE-----\n",
        b"-----BEGIN SIGNED MESSAGE-----\nMIIB\n",
    ] {
        let check = k.verify(sig, PAYLOAD, now());
        assert_eq!(check.verdict, KeyVerdict::Malformed, "{check:?}");
        assert_eq!(check.format, Some(SignatureFormat::X509));
    }
}

#[test]
fn policy_errors() {
    let mut k = Keyring::new();
    k.add_x509_identity("alice", "alice@example.com")
        .expect("identity");
    k.add_x509_identity("alice", "ALICE@example.com")
        .expect("same identity again is fine");
    assert!(matches!(
        k.add_x509_identity("bob", "Alice@Example.com"),
        Err(KeyError::SharedKey { .. })
    ));
    assert!(matches!(
        k.add_x509_identity("bob", "not-an-email"),
        Err(KeyError::X509 { .. })
    ));
    assert!(matches!(
        k.add_x509_root(b"not a certificate"),
        Err(KeyError::X509 { .. })
    ));
}

/// Every byte flip and truncation of a gpgsm signature gets a verdict, never a panic.
#[test]
fn corrupted_signatures_never_panic() {
    let pki = Pki::new("Test Root");
    let alice = pki.issue("alice", SIGNING, 10);
    let sig = pki.sign(&alice, PAYLOAD);
    let k = keyring(&pki);
    assert_eq!(k.verify(&sig, PAYLOAD, now()).verdict, KeyVerdict::Good);
    let mut good = 0;
    // Every 3rd byte keeps the test quick in debug builds (each verify builds two chains).
    for i in (0..sig.len()).step_by(3) {
        let mut m = sig.clone();
        m[i] ^= 0x01;
        if k.verify(&m, PAYLOAD, now()).verdict == KeyVerdict::Good {
            good += 1;
        }
        let _ = k.verify(&sig[..i], PAYLOAD, now());
    }
    // BER/base64 slack (unsigned parts, armor) lets a few flips through; most must fail.
    assert!(good * 10 < sig.len() / 3, "{good} mutants verified");
}

/// Hex of `s` for openssl's `DER:` extension syntax.
fn hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

/// Sigstore gitsign-like certificates (made here: no network, no real Fulcio): code signing,
/// SAN email or URI, the OIDC issuer in Fulcio's extensions. Signed with `openssl cms`, which
/// adds a signingTime attribute as gitsign does.
#[test]
fn sigstore_certificates_by_san_and_issuer() {
    const ISSUER: &str = "https://accounts.example";
    let fulcio = Pki::new("sigstore");
    fulcio.issue(
        "gitsign",
        &format!(
            "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n\
             extendedKeyUsage=codeSigning\nsubjectAltName=email:Alice@example.com\n\
             1.3.6.1.4.1.57264.1.8=ASN1:UTF8String:{ISSUER}\n1.3.6.1.4.1.57264.1.1=DER:{}\n",
            hex(ISSUER)
        ),
        1,
    );
    let sig = fulcio.openssl_sign("gitsign", PAYLOAD, &[]);
    let mut k = Keyring::new();
    k.add_sigstore_root(&fulcio.root_pem).expect("fulcio root");
    k.add_sigstore_identity("alice", "alice@example.com", ISSUER)
        .expect("identity");

    // Default: everything verifies but the time, which needs a Rekor proof.
    let check = k.verify(&sig, PAYLOAD, now());
    assert_eq!(check.verdict, KeyVerdict::UnsupportedFormat, "{check:?}");
    assert_eq!(check.identity.as_deref(), Some("alice"));
    assert!(check.signed_at.is_some(), "{check:?}");
    assert!(
        check.detail.as_deref().is_some_and(|d| d.contains("Rekor")),
        "{check:?}"
    );

    // Opt in to the signingTime: good, even long after the certificate expired.
    k.set_sigstore_trust_signing_time(true);
    let check = k.verify(&sig, PAYLOAD, now());
    assert_eq!(check.verdict, KeyVerdict::Good, "{check:?}");
    let check = k.verify(&sig, PAYLOAD, now() + 30 * DAY);
    assert_eq!(check.verdict, KeyVerdict::Good, "{check:?}");
    // ... but not before it was signed (beyond clock skew).
    let check = k.verify(&sig, PAYLOAD, now() - DAY);
    assert_eq!(check.verdict, KeyVerdict::KeyNotYetValid, "{check:?}");
    assert_eq!(
        k.verify(&sig, &tampered(), now()).verdict,
        KeyVerdict::BadSignature
    );

    // Same SAN, another issuer: unknown. An email owned through add_x509_identity does not
    // count for a Fulcio certificate.
    let mut other = Keyring::new();
    other
        .add_sigstore_root(&fulcio.root_pem)
        .expect("fulcio root");
    other.set_sigstore_trust_signing_time(true);
    other
        .add_sigstore_identity("alice", "alice@example.com", "https://other.example")
        .expect("identity");
    other
        .add_x509_identity("alice", "alice@example.com")
        .expect("x509 identity");
    let check = other.verify(&sig, PAYLOAD, now());
    assert_eq!(check.verdict, KeyVerdict::UnknownKey, "{check:?}");

    // A Fulcio root is not a gpgsm root: without add_sigstore_root the chain is unknown.
    let mut plain = Keyring::new();
    plain
        .add_x509_identity("alice", "alice@example.com")
        .expect("x509 identity");
    assert_eq!(
        plain.verify(&sig, PAYLOAD, now()).verdict,
        KeyVerdict::UnknownKey
    );

    // A CI workflow identity (URI SAN) with only the v1 issuer extension.
    const WORKFLOW: &str =
        "https://github.com/example/repo/.github/workflows/release.yml@refs/heads/main";
    fulcio.issue(
        "workflow",
        &format!(
            "keyUsage=critical,digitalSignature\nextendedKeyUsage=codeSigning\n\
             subjectAltName=URI:{WORKFLOW}\n1.3.6.1.4.1.57264.1.1=DER:{}\n",
            hex(ISSUER)
        ),
        1,
    );
    let sig = fulcio.openssl_sign("workflow", PAYLOAD, &[]);
    k.add_sigstore_identity("release-bot", WORKFLOW, ISSUER)
        .expect("identity");
    let check = k.verify(&sig, PAYLOAD, now());
    assert_eq!(check.verdict, KeyVerdict::Good, "{check:?}");
    assert_eq!(check.identity.as_deref(), Some("release-bot"));

    // Not a code-signing certificate.
    fulcio.issue(
        "mail",
        &format!(
            "keyUsage=critical,digitalSignature\nextendedKeyUsage=emailProtection\n\
             subjectAltName=email:alice@example.com\n1.3.6.1.4.1.57264.1.8=ASN1:UTF8String:{ISSUER}\n"
        ),
        1,
    );
    let sig = fulcio.openssl_sign("mail", PAYLOAD, &[]);
    assert_eq!(
        k.verify(&sig, PAYLOAD, now()).verdict,
        KeyVerdict::NotSigningKey
    );
}
