use crypto::{KeyError, Keyring};

use crate::util::{Gpg, SshKey};

#[test]
fn ssh_key_under_two_identities() {
    let key = SshKey::generate("ed25519", None);
    let mut keyring = Keyring::new();
    keyring.add_ssh_key("alice", &key.public).expect("first");
    // Same key again for the same identity (other comment) is fine.
    let other_comment = format!(
        "{} another-comment",
        key.public.rsplit_once(' ').expect("comment").0
    );
    keyring
        .add_ssh_key("alice", &other_comment)
        .expect("same identity");
    assert_eq!(keyring.len(), 1);
    let err = keyring.add_ssh_key("bob", &key.public).expect_err("shared");
    assert!(matches!(err, KeyError::SharedKey { .. }));
    assert_eq!(
        err.to_string(),
        format!(
            "key {} is listed for both alice and bob; a key must belong to one identity",
            key.fingerprint()
        )
    );
}

#[test]
fn openpgp_cert_under_two_identities() {
    let gpg = Gpg::new();
    let fpr = gpg.generate("Alice <alice@example.com>", "ed25519", "sign");
    let cert = gpg.export(&["alice@example.com"]);
    let mut keyring = Keyring::new();
    keyring.add_openpgp_cert("alice", &cert).expect("first");
    keyring
        .add_openpgp_cert("alice", &cert)
        .expect("same identity again");
    assert_eq!(keyring.len(), 1);
    let err = keyring.add_openpgp_cert("bob", &cert).expect_err("shared");
    assert!(
        matches!(err, KeyError::SharedKey { ref key, .. } if *key == fpr),
        "{err}"
    );
}

#[test]
fn not_a_certificate() {
    let err = Keyring::new()
        .add_openpgp_cert("alice", b"hello world")
        .expect_err("garbage");
    assert!(err.to_string().starts_with("identity alice: "), "{err}");
    let err = Keyring::new()
        .add_openpgp_cert("alice", b"")
        .expect_err("empty");
    assert!(err.to_string().starts_with("identity alice: "), "{err}");
}
