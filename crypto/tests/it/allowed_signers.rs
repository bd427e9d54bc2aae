use crypto::{KeyError, Keyring};
use rules::facts::KeyVerdict;

use crate::util::{SshKey, PAYLOAD};

// SSH signatures carry no time, so receive times can be picked freely.
const BEFORE_2026: i64 = 1_748_736_000; // 2025-06-01
const MID_2026: i64 = 1_780_272_000; // 2026-06-01
const AFTER_2026: i64 = 1_811_808_000; // 2027-06-01

/// Maps `name@example.com` to identity `name`; other principals are unknown.
fn identity_of(principal: &str) -> Option<String> {
    principal.strip_suffix("@example.com").map(str::to_owned)
}

#[test]
fn validity_window_is_judged_at_receive_time() {
    let key = SshKey::generate("ed25519", None);
    let text = format!(
        "alice@example.com valid-after=\"20260101Z\",valid-before=\"20261231Z\" {}\n",
        key.public
    );
    let mut keyring = Keyring::new();
    let warnings = keyring
        .add_allowed_signers(&text, identity_of)
        .expect("valid file");
    assert!(warnings.is_empty(), "{warnings:?}");
    let sig = key.sign("git", PAYLOAD);

    let check = keyring.verify(&sig, PAYLOAD, BEFORE_2026);
    assert_eq!(check.verdict, KeyVerdict::KeyNotYetValid);
    assert_eq!(
        check.detail,
        Some(format!(
            "key {} is only valid from 2026-01-01 (allowed_signers line 1)",
            key.fingerprint()
        ))
    );
    assert_eq!(
        keyring.verify(&sig, PAYLOAD, MID_2026).verdict,
        KeyVerdict::Good
    );
    let check = keyring.verify(&sig, PAYLOAD, AFTER_2026);
    assert_eq!(check.verdict, KeyVerdict::ExpiredKey);
    assert_eq!(check.identity.as_deref(), Some("alice"));
    assert_eq!(
        check.detail,
        Some(format!(
            "key {} expired on 2026-12-31 (allowed_signers line 1)",
            key.fingerprint()
        ))
    );
}

#[test]
fn namespaces_option() {
    let git = SshKey::generate("ed25519", None);
    let other = SshKey::generate("ed25519", None);
    let text = format!(
        "alice@example.com namespaces=\"git\" {}\nbob@example.com namespaces=\"file,email\" {}\n",
        git.public, other.public
    );
    let mut keyring = Keyring::new();
    keyring
        .add_allowed_signers(&text, identity_of)
        .expect("valid file");
    assert_eq!(
        keyring
            .verify(&git.sign("git", PAYLOAD), PAYLOAD, MID_2026)
            .verdict,
        KeyVerdict::Good
    );
    let check = keyring.verify(&other.sign("git", PAYLOAD), PAYLOAD, MID_2026);
    assert_eq!(check.verdict, KeyVerdict::WrongNamespace);
    assert_eq!(check.identity.as_deref(), Some("bob"));
    assert!(
        check
            .detail
            .as_deref()
            .is_some_and(|d| d.contains("\"file,email\" (allowed_signers line 2)")),
        "{check:?}"
    );
}

#[test]
fn quoted_principals_comments_and_blank_lines() {
    let a = SshKey::generate("ed25519", None);
    let b = SshKey::generate("ecdsa", Some(256));
    let text = format!(
        "# pushguard test file\n\n   \n\"alice@example.com,alice@corp.example\" {}\n  # indented comment\ncarol@example.com,carol@example.com {} carol's laptop\n",
        a.public, b.public
    );
    let mut keyring = Keyring::new();
    let warnings = keyring
        .add_allowed_signers(&text, identity_of)
        .expect("valid file");
    assert_eq!(
        warnings,
        ["line 4: principal \"alice@corp.example\" is not a known identity; skipped"]
    );
    assert_eq!(keyring.len(), 2);
    let check = keyring.verify(&a.sign("git", PAYLOAD), PAYLOAD, MID_2026);
    assert_eq!(
        (check.verdict, check.identity.as_deref()),
        (KeyVerdict::Good, Some("alice"))
    );
    let check = keyring.verify(&b.sign("git", PAYLOAD), PAYLOAD, MID_2026);
    assert_eq!(
        (check.verdict, check.identity.as_deref()),
        (KeyVerdict::Good, Some("carol"))
    );
}

#[test]
fn unmapped_lines_are_skipped_with_warnings_and_cert_authority_is_kept() {
    let a = SshKey::generate("ed25519", None);
    let ca = SshKey::generate("ed25519", None);
    let text = format!(
        "mallory@elsewhere.example {}\n*@example.com cert-authority {}\n",
        a.public, ca.public
    );
    let mut keyring = Keyring::new();
    let warnings = keyring
        .add_allowed_signers(&text, identity_of)
        .expect("valid file");
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains("mallory@elsewhere.example"),
        "{warnings:?}"
    );
    // Only the CA was added: its principals are matched when a certificate signs.
    assert_eq!(keyring.len(), 1);
    let check = keyring.verify(&a.sign("git", PAYLOAD), PAYLOAD, MID_2026);
    assert_eq!(check.verdict, KeyVerdict::UnknownKey);
}

#[test]
fn bad_lines_are_errors_with_line_numbers() {
    let a = SshKey::generate("ed25519", None);
    let cases = [
        (
            format!("alice@example.com {}\n\nbob@example.com\n", a.public),
            3,
            "missing public key",
        ),
        (
            format!("# c\nalice@example.com frobnicate {}\n", a.public),
            2,
            "unknown option",
        ),
        (
            format!(
                "alice@example.com valid-after=\"2026-01-01\" {}\n",
                a.public
            ),
            1,
            "valid-after",
        ),
        (
            "alice@example.com ssh-ed25519 AAAAnotakey\n".to_owned(),
            1,
            "cannot read SSH public key",
        ),
    ];
    for (text, line, needle) in cases {
        let mut keyring = Keyring::new();
        let err = keyring
            .add_allowed_signers(&text, identity_of)
            .expect_err("bad line");
        let msg = err.to_string();
        assert!(
            msg.starts_with(&format!("allowed_signers line {line}")),
            "{msg}"
        );
        assert!(msg.contains(needle), "{msg}");
        assert!(keyring.is_empty(), "nothing added on error");
    }
}

#[test]
fn one_key_for_two_identities_is_an_error() {
    let a = SshKey::generate("ed25519", None);
    let text = format!("alice@example.com {0}\nbob@example.com {0}\n", a.public);
    let err = Keyring::new()
        .add_allowed_signers(&text, identity_of)
        .expect_err("shared key");
    match &err {
        KeyError::AllowedSignersKey { line: 2, error } => {
            assert!(matches!(**error, KeyError::SharedKey { .. }), "{err}");
        }
        other => panic!("unexpected error {other}"),
    }
    let msg = err.to_string();
    assert!(msg.contains("alice") && msg.contains("bob"), "{msg}");
}

#[test]
fn agrees_with_ssh_keygen_verify() {
    // Cross-check: what we accept for namespace git, ssh-keygen -Y verify accepts too.
    let key = SshKey::generate("ed25519", None);
    let text = format!("alice@example.com namespaces=\"git\" {}\n", key.public);
    let dir = tempfile::tempdir().expect("temp dir");
    let signers = dir.path().join("allowed_signers");
    std::fs::write(&signers, &text).expect("write");
    let sig = key.sign("git", PAYLOAD);
    let sig_file = dir.path().join("sig");
    std::fs::write(&sig_file, &sig).expect("write");
    let verify = |data: &[u8]| {
        use std::io::Write;
        let mut child = std::process::Command::new("ssh-keygen")
            .args(["-Y", "verify", "-n", "git", "-I", "alice@example.com", "-f"])
            .arg(&signers)
            .arg("-s")
            .arg(&sig_file)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("ssh-keygen runs");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(data)
            .expect("write stdin");
        child.wait().expect("wait").success()
    };
    let mut keyring = Keyring::new();
    keyring
        .add_allowed_signers(&text, identity_of)
        .expect("valid");
    assert!(verify(PAYLOAD));
    assert_eq!(
        keyring.verify(&sig, PAYLOAD, MID_2026).verdict,
        KeyVerdict::Good
    );
    let bad = crate::util::tampered();
    assert!(!verify(&bad));
    assert_eq!(
        keyring.verify(&sig, &bad, MID_2026).verdict,
        KeyVerdict::BadSignature
    );
}
