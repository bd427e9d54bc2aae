//! SSH signatures made with OpenSSH user certificates (`ssh-keygen -s`, then `ssh-keygen -Y
//! sign -f key-cert.pub`), against CAs from the policy or from allowed_signers.

use crypto::{Keyring, SshCaOptions};
use rules::facts::KeyVerdict;

use crate::util::{now, tampered, SshKey, DAY, PAYLOAD};

/// `name@example.com` → identity `name`.
fn identity_of(principal: &str) -> Option<String> {
    principal.strip_suffix("@example.com").map(str::to_owned)
}

fn keyring_with_ca(ca: &SshKey, options: SshCaOptions) -> Keyring {
    let mut k = Keyring::new();
    k.add_ssh_ca(&ca.public, options, identity_of).expect("CA");
    k
}

#[test]
fn certificate_signature_is_good_for_each_ca_type() {
    for (kind, bits) in [("ed25519", None), ("ecdsa", Some(256)), ("rsa", Some(2048))] {
        let ca = SshKey::generate(kind, bits);
        let user = SshKey::generate("ed25519", None);
        let sig = user.sign_with_certificate(&ca, "alice@example.com", PAYLOAD);
        let k = keyring_with_ca(&ca, SshCaOptions::default());
        let check = k.verify(&sig, PAYLOAD, now());
        assert_eq!(check.verdict, KeyVerdict::Good, "CA {kind}: {check:?}");
        assert_eq!(check.identity.as_deref(), Some("alice"));
        assert_eq!(check.key, Some(user.fingerprint()), "the certified key");
        let check = k.verify(&sig, &tampered(), now());
        assert_eq!(
            check.verdict,
            KeyVerdict::BadSignature,
            "CA {kind}: {check:?}"
        );
    }
    // Certified RSA and ECDSA user keys (verified through OpenSSL).
    let ca = SshKey::generate("ed25519", None);
    for (kind, bits) in [("rsa", Some(2048)), ("ecdsa", Some(384))] {
        let user = SshKey::generate(kind, bits);
        let sig = user.sign_with_certificate(&ca, "alice@example.com", PAYLOAD);
        let k = keyring_with_ca(&ca, SshCaOptions::default());
        let check = k.verify(&sig, PAYLOAD, now());
        assert_eq!(check.verdict, KeyVerdict::Good, "user {kind}: {check:?}");
    }
}

#[test]
fn unknown_ca_and_unknown_principal() {
    let ca = SshKey::generate("ed25519", None);
    let other_ca = SshKey::generate("ed25519", None);
    let user = SshKey::generate("ed25519", None);
    let sig = user.sign_with_certificate(&ca, "alice@example.com", PAYLOAD);

    let check = keyring_with_ca(&other_ca, SshCaOptions::default()).verify(&sig, PAYLOAD, now());
    assert_eq!(check.verdict, KeyVerdict::UnknownKey, "{check:?}");
    assert!(
        check.detail.as_deref().is_some_and(|d| d.contains(&format!(
            "from CA {}: the CA is not in the policy",
            ca.fingerprint()
        ))),
        "{check:?}"
    );

    // The user's plain key in the policy does not make a certificate signature good.
    let mut k = Keyring::new();
    k.add_ssh_key("alice", &user.public).expect("plain key");
    assert_eq!(
        k.verify(&sig, PAYLOAD, now()).verdict,
        KeyVerdict::UnknownKey
    );

    // Principal not matching the CA's patterns, or not an identity.
    let k = keyring_with_ca(
        &ca,
        SshCaOptions {
            principals: Some("*@corp.example".into()),
            ..SshCaOptions::default()
        },
    );
    let check = k.verify(&sig, PAYLOAD, now());
    assert_eq!(check.verdict, KeyVerdict::UnknownKey, "{check:?}");
    let stranger = SshKey::generate("ed25519", None);
    let sig = stranger.sign_with_certificate(&ca, "mallory@elsewhere.example", PAYLOAD);
    let check = keyring_with_ca(&ca, SshCaOptions::default()).verify(&sig, PAYLOAD, now());
    assert_eq!(check.verdict, KeyVerdict::UnknownKey, "{check:?}");

    // Two principals naming two identities: ambiguous, refused.
    let both = SshKey::generate("ed25519", None);
    both.certify(&ca, "alice@example.com,bob@example.com", &[]);
    let sig = both.sign_with_cert("git", PAYLOAD);
    let check = keyring_with_ca(&ca, SshCaOptions::default()).verify(&sig, PAYLOAD, now());
    assert_eq!(check.verdict, KeyVerdict::UnknownKey, "{check:?}");
    // ... unless the CA's patterns pick one.
    let k = keyring_with_ca(
        &ca,
        SshCaOptions {
            principals: Some("alice@*".into()),
            ..SshCaOptions::default()
        },
    );
    let check = k.verify(&sig, PAYLOAD, now());
    assert_eq!(check.verdict, KeyVerdict::Good, "{check:?}");
    assert_eq!(check.identity.as_deref(), Some("alice"));
}

#[test]
fn certificate_validity_is_judged_at_receive_time() {
    let ca = SshKey::generate("ed25519", None);
    let user = SshKey::generate("ed25519", None);
    // Valid from 1 day ago to 1 day ahead.
    user.certify(&ca, "alice@example.com", &["-V", "-1d:+1d"]);
    let sig = user.sign_with_cert("git", PAYLOAD);
    let k = keyring_with_ca(&ca, SshCaOptions::default());
    assert_eq!(k.verify(&sig, PAYLOAD, now()).verdict, KeyVerdict::Good);
    let check = k.verify(&sig, PAYLOAD, now() + 2 * DAY);
    assert_eq!(check.verdict, KeyVerdict::ExpiredKey, "{check:?}");
    assert!(
        check
            .detail
            .as_deref()
            .is_some_and(|d| d.contains("expired on")),
        "{check:?}"
    );
    let check = k.verify(&sig, PAYLOAD, now() - 2 * DAY);
    assert_eq!(check.verdict, KeyVerdict::KeyNotYetValid, "{check:?}");

    // The CA's own window (policy) applies too.
    let k = keyring_with_ca(
        &ca,
        SshCaOptions {
            valid_before: Some(now() - DAY),
            ..SshCaOptions::default()
        },
    );
    assert_eq!(
        k.verify(&sig, PAYLOAD, now()).verdict,
        KeyVerdict::ExpiredKey
    );
}

#[test]
fn namespaces_host_certificates_and_critical_options() {
    let ca = SshKey::generate("ed25519", None);
    let user = SshKey::generate("ed25519", None);
    user.certify(&ca, "alice@example.com", &[]);
    let k = keyring_with_ca(&ca, SshCaOptions::default());
    let sig = user.sign_with_cert("file", PAYLOAD);
    assert_eq!(
        k.verify(&sig, PAYLOAD, now()).verdict,
        KeyVerdict::WrongNamespace
    );

    let k2 = keyring_with_ca(
        &ca,
        SshCaOptions {
            namespaces: Some("file".into()),
            ..SshCaOptions::default()
        },
    );
    let sig = user.sign_with_cert("git", PAYLOAD);
    assert_eq!(
        k2.verify(&sig, PAYLOAD, now()).verdict,
        KeyVerdict::WrongNamespace
    );

    // Host certificate.
    let host = SshKey::generate("ed25519", None);
    host.certify(&ca, "alice@example.com", &["-h"]);
    let sig = host.sign_with_cert("git", PAYLOAD);
    assert_eq!(
        k.verify(&sig, PAYLOAD, now()).verdict,
        KeyVerdict::NotSigningKey
    );

    // force-command / source-address are session restrictions: ignored, like ssh-keygen -Y verify.
    let restricted = SshKey::generate("ed25519", None);
    restricted.certify(
        &ca,
        "alice@example.com",
        &[
            "-O",
            "force-command=/bin/true",
            "-O",
            "source-address=127.0.0.1/32",
        ],
    );
    let sig = restricted.sign_with_cert("git", PAYLOAD);
    assert_eq!(k.verify(&sig, PAYLOAD, now()).verdict, KeyVerdict::Good);
}

#[test]
fn allowed_signers_cert_authority_line() {
    let ca = SshKey::generate("ed25519", None);
    let user = SshKey::generate("ed25519", None);
    let sig = user.sign_with_certificate(&ca, "alice@example.com", PAYLOAD);
    let mut k = Keyring::new();
    let warnings = k
        .add_allowed_signers(
            &format!(
                "*@example.com cert-authority,namespaces=\"git\" {}\n",
                ca.public
            ),
            identity_of,
        )
        .expect("file");
    assert!(warnings.is_empty(), "{warnings:?}");
    let check = k.verify(&sig, PAYLOAD, now());
    assert_eq!(check.verdict, KeyVerdict::Good, "{check:?}");
    assert_eq!(check.identity.as_deref(), Some("alice"));

    // The line's window is judged at receive time.
    let mut k = Keyring::new();
    k.add_allowed_signers(
        &format!(
            "*@example.com cert-authority,valid-before=\"20200101Z\" {}\n",
            ca.public
        ),
        identity_of,
    )
    .expect("file");
    let check = k.verify(&sig, PAYLOAD, now());
    assert_eq!(check.verdict, KeyVerdict::ExpiredKey, "{check:?}");
}

/// Every byte flip and truncation of a certificate signature gets a verdict, never a panic,
/// and no flip inside the base64 body still verifies (both blobs are walked with exact
/// lengths and canonical re-encoding).
#[test]
fn corrupted_certificate_signatures_never_panic() {
    let ca = SshKey::generate("ed25519", None);
    let user = SshKey::generate("ecdsa", Some(256));
    let sig = user.sign_with_certificate(&ca, "alice@example.com", PAYLOAD);
    let k = keyring_with_ca(&ca, SshCaOptions::default());
    assert_eq!(k.verify(&sig, PAYLOAD, now()).verdict, KeyVerdict::Good);
    let body_start = sig.iter().position(|&b| b == b'\n').expect("armor") + 1;
    let body_end = sig
        .windows(9)
        .rposition(|w| w == b"-----END ")
        .expect("armor end");
    for i in 0..sig.len() {
        for flip in [0x01u8, 0x20, 0x80] {
            let mut m = sig.clone();
            m[i] ^= flip;
            if k.verify(&m, PAYLOAD, now()).verdict == KeyVerdict::Good {
                assert!(
                    !(body_start..body_end).contains(&i) || m[i] == b'\r' || sig[i] == b'\n',
                    "still verifies with byte {i} changed from {:?} to {:?}",
                    sig[i] as char,
                    m[i] as char
                );
            }
        }
        let _ = k.verify(&sig[..i], PAYLOAD, now());
    }
}

/// A certificate does not launder a key pushguard refuses as a plain key (RSA < 2048 bits).
#[test]
fn weak_certified_key_is_refused() {
    let ca = SshKey::generate("ed25519", None);
    let weak = SshKey::generate("rsa", Some(1024));
    let sig = weak.sign_with_certificate(&ca, "alice@example.com", PAYLOAD);
    let check = keyring_with_ca(&ca, SshCaOptions::default()).verify(&sig, PAYLOAD, now());
    assert_eq!(check.verdict, KeyVerdict::NotSigningKey, "{check:?}");
}
