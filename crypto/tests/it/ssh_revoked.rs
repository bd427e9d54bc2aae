//! SSH revocation files as git's `gpg.ssh.revocationFile` takes them: OpenSSH key revocation
//! lists made here by `ssh-keygen -k` (explicit keys, SHA-1 and SHA-256 fingerprints,
//! certificates by serial, serial range and key id), and plain lists of public keys.

use std::path::Path;
use std::process::Command;

use crypto::{Keyring, SshCaOptions};
use rules::facts::KeyVerdict;

use crate::util::{now, SshKey, PAYLOAD};

/// `ssh-keygen -k -f OUT [-s CA] SPEC`, with SPEC holding `lines`; returns the KRL bytes.
fn krl(dir: &Path, ca: Option<&SshKey>, lines: &[String]) -> Vec<u8> {
    let spec = dir.join("spec");
    std::fs::write(&spec, lines.join("\n") + "\n").expect("write spec");
    let out = dir.join("revoked.krl");
    let _ = std::fs::remove_file(&out);
    let mut cmd = Command::new("ssh-keygen");
    cmd.arg("-k").arg("-f").arg(&out);
    if let Some(ca) = ca {
        cmd.arg("-s").arg(ca.private.with_extension("pub"));
    }
    let o = cmd.arg(&spec).output().expect("ssh-keygen -k");
    assert!(
        o.status.success(),
        "ssh-keygen -k: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let bytes = std::fs::read(&out).expect("KRL written");
    assert!(bytes.starts_with(b"SSHKRL\n\0"), "a binary KRL");
    bytes
}

fn keyring(keys: &[(&str, &SshKey)]) -> Keyring {
    let mut k = Keyring::new();
    for (id, key) in keys {
        k.add_ssh_key(id, &key.public).expect("key");
    }
    k
}

#[test]
fn krl_revokes_keys_by_blob_and_fingerprint_for_every_signature() {
    let dir = tempfile::tempdir().expect("temp dir");
    let alice = SshKey::generate("ed25519", None);
    let bob = SshKey::generate("ecdsa", Some(256));
    let carol = SshKey::generate("rsa", Some(2048));
    let dave = SshKey::generate("ed25519", None);
    let cases = [
        ("key:", format!("key: {}", alice.public), &alice),
        ("sha1:", format!("sha1: {}", bob.public), &bob),
        ("sha256:", format!("sha256: {}", carol.public), &carol),
        ("hash:", format!("hash: {}", dave.fingerprint()), &dave),
    ];
    for (what, line, revoked) in &cases {
        let mut k = keyring(&[
            ("alice", &alice),
            ("bob", &bob),
            ("carol", &carol),
            ("dave", &dave),
        ]);
        let n = k
            .add_ssh_revocations(
                "revoked.krl",
                &krl(dir.path(), None, std::slice::from_ref(line)),
            )
            .expect("KRL reads");
        assert_eq!(n, 1, "{what}");
        for key in [&alice, &bob, &carol, &dave] {
            let check = k.verify(&key.sign("git", PAYLOAD), PAYLOAD, now());
            if std::ptr::eq(key, *revoked) {
                assert_eq!(check.verdict, KeyVerdict::RevokedKey, "{what}: {check:?}");
                let detail = check.detail.expect("detail");
                assert!(detail.contains(&key.fingerprint()), "{detail}");
                assert!(detail.contains("revoked.krl"), "{detail}");
                // no date saves it: a KRL revocation is hard
                let long_ago = k.verify(&key.sign("git", PAYLOAD), PAYLOAD, 0);
                assert_eq!(long_ago.verdict, KeyVerdict::RevokedKey, "{what}");
            } else {
                assert_eq!(check.verdict, KeyVerdict::Good, "{what}: {check:?}");
            }
        }
        // A bad signature stays bad: revocation is judged after the signature verifies.
        let sig = revoked.sign("git", PAYLOAD);
        assert_eq!(
            k.verify(&sig, b"other payload", now()).verdict,
            KeyVerdict::BadSignature
        );
    }
}

#[test]
fn krl_revokes_certificates_by_serial_range_and_key_id() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ca = SshKey::generate("ed25519", None);
    let other_ca = SshKey::generate("ed25519", None);
    let bytes = krl(
        dir.path(),
        Some(&ca),
        &[
            "serial: 7".into(),
            "serial: 100-200".into(),
            "id: stolen-laptop".into(),
        ],
    );
    let mut k = Keyring::new();
    let identity_of = |p: &str| p.strip_suffix("@example.com").map(str::to_owned);
    k.add_ssh_ca(&ca.public, SshCaOptions::default(), identity_of)
        .expect("CA");
    k.add_ssh_ca(&other_ca.public, SshCaOptions::default(), identity_of)
        .expect("CA");
    assert_eq!(k.add_ssh_revocations("certs.krl", &bytes).expect("KRL"), 3);
    let sign = |ca: &SshKey, extra: &[&str]| {
        let user = SshKey::generate("ed25519", None);
        user.certify(ca, "alice@example.com", extra);
        user.sign_with_cert("git", PAYLOAD)
    };
    for (extra, want) in [
        (&["-z", "7"][..], KeyVerdict::RevokedKey),
        (&["-z", "8"][..], KeyVerdict::Good),
        (&["-z", "100"][..], KeyVerdict::RevokedKey),
        (&["-z", "150"][..], KeyVerdict::RevokedKey),
        (&["-z", "200"][..], KeyVerdict::RevokedKey),
        (&["-z", "201"][..], KeyVerdict::Good),
        (
            &["-z", "9", "-I", "stolen-laptop"][..],
            KeyVerdict::RevokedKey,
        ),
        (&["-z", "9", "-I", "new-laptop"][..], KeyVerdict::Good),
    ] {
        let check = k.verify(&sign(&ca, extra), PAYLOAD, now());
        assert_eq!(check.verdict, want, "{extra:?}: {check:?}");
        if want == KeyVerdict::RevokedKey {
            let detail = check.detail.expect("detail");
            assert!(detail.contains("is revoked (certs.krl)"), "{detail}");
        }
    }
    // The same serial from another CA is not revoked.
    let check = k.verify(&sign(&other_ca, &["-z", "7"]), PAYLOAD, now());
    assert_eq!(check.verdict, KeyVerdict::Good, "{check:?}");
}

#[test]
fn revoking_a_certified_key_or_the_ca_revokes_the_certificate() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ca = SshKey::generate("ed25519", None);
    let user = SshKey::generate("ed25519", None);
    user.certify(&ca, "alice@example.com", &["-z", "1"]);
    let sig = user.sign_with_cert("git", PAYLOAD);
    let identity_of = |p: &str| p.strip_suffix("@example.com").map(str::to_owned);
    for revoked in [&user, &ca] {
        let mut k = Keyring::new();
        k.add_ssh_ca(&ca.public, SshCaOptions::default(), identity_of)
            .expect("CA");
        assert_eq!(
            k.verify(&sig, PAYLOAD, now()).verdict,
            KeyVerdict::Good,
            "before"
        );
        k.add_ssh_revocations(
            "revoked.krl",
            &krl(dir.path(), None, &[format!("key: {}", revoked.public)]),
        )
        .expect("KRL");
        let check = k.verify(&sig, PAYLOAD, now());
        assert_eq!(check.verdict, KeyVerdict::RevokedKey, "{check:?}");
    }
}

#[test]
fn a_text_list_of_public_keys_revokes_them() {
    let alice = SshKey::generate("ed25519", None);
    let bob = SshKey::generate("ed25519", None);
    let mut k = keyring(&[("alice", &alice), ("bob", &bob)]);
    let list = format!("# retired keys\n\n{}\n", alice.public);
    assert_eq!(
        k.add_ssh_revocations("revoked_keys", list.as_bytes())
            .expect("list"),
        1
    );
    let check = k.verify(&alice.sign("git", PAYLOAD), PAYLOAD, now());
    assert_eq!(check.verdict, KeyVerdict::RevokedKey, "{check:?}");
    assert_eq!(
        k.verify(&bob.sign("git", PAYLOAD), PAYLOAD, now()).verdict,
        KeyVerdict::Good
    );
    // Anything else is an error naming the file and the line.
    let err = k
        .add_ssh_revocations("revoked_keys", b"ssh-ed25519 AAAA\nnot a key\n")
        .expect_err("garbage")
        .to_string();
    assert!(
        err.contains("revoked_keys") && err.contains("line 1"),
        "{err}"
    );
    let err = k
        .add_ssh_revocations("bin", b"\xff\xfe\x00")
        .expect_err("binary")
        .to_string();
    assert!(err.contains("bin"), "{err}");
}
