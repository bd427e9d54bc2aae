//! Issue 11: GitHub's web-flow signatures, real ones from octokit/webhooks (`data/github-web-flow`,
//! see its README). Many declare an RSA MPI bit count larger than the value's; GnuPG accepts
//! them and so must we. Each commit is checked against pushguard and against git + gpg run now.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crypto::Keyring;
use rules::facts::KeyVerdict;

use crate::git::{git_status, split_commit, Repo};
use crate::util::{now, Gpg};

fn data() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/it/data/github-web-flow")
}

/// `id → (letter, key id)` from `expected-git-gpg.txt`.
fn expected() -> BTreeMap<String, (char, String)> {
    let text = std::fs::read_to_string(data().join("expected-git-gpg.txt")).expect("expected");
    text.lines()
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            assert_eq!(f.len(), 3, "{l}");
            let letter = f[1].chars().next().expect("letter");
            (f[0].to_owned(), (letter, f[2].to_owned()))
        })
        .collect()
}

fn commit(id: &str) -> Vec<u8> {
    std::fs::read(data().join("commits").join(id)).expect("commit file")
}

fn keyring() -> Keyring {
    let mut keyring = Keyring::new();
    let added = keyring
        .add_openpgp_cert(
            "github",
            &std::fs::read(data().join("keys.gpg")).expect("keys"),
        )
        .expect("GitHub's keys load");
    assert_eq!(added.len(), 2);
    keyring
}

/// Sequoia's parser alone refuses most of them: the fixture exercises the normalisation.
#[test]
fn sequoia_alone_refuses_most_of_them() {
    use sequoia_openpgp::parse::Parse;
    use sequoia_openpgp::{armor, Packet, PacketPile};
    use std::io::Read;
    let mut refused = 0;
    for id in expected().keys() {
        let (sig, _) = split_commit(&commit(id));
        let mut binary = Vec::new();
        armor::Reader::from_bytes(&sig, armor::ReaderMode::Tolerant(None))
            .read_to_end(&mut binary)
            .expect("armor");
        let pile = PacketPile::from_bytes(&binary).expect("packets");
        if pile
            .children()
            .any(|p| matches!(p, Packet::Unknown(u) if format!("{:#}", u.error()).contains("Malformed MPI")))
        {
            refused += 1;
        }
    }
    assert!(
        refused >= 10,
        "only {refused} of 38 have a non-canonical MPI"
    );
}

/// Every commit: good with the right key, at the signature time git + gpg report; and judged
/// now, the same class as git's `%G?` (Y: the 2017 key expired on 2024-01-16; U: good).
#[test]
fn every_web_flow_commit_verifies_as_git_and_gpg_say() {
    let keyring = keyring();
    let expected = expected();
    assert_eq!(expected.len(), 38);

    // git + gpg, now: the commits without their trees and parents are enough for %G?.
    let repo = Repo::new();
    let gpg = Gpg::new();
    gpg.import(&std::fs::read(data().join("keys.gpg")).expect("keys"));
    let t = now();
    let mut failures = Vec::new();
    for (id, (letter, keyid)) in &expected {
        let raw = commit(id);
        assert_eq!(&repo.write_object("commit", &raw), id, "object id");
        let git = git_status(&repo, &[], Some(gpg.home()), id);
        assert_eq!(
            (git.letter, &git.key),
            (*letter, keyid),
            "git + gpg on {id}"
        );
        let signed_at = git.signed_at.expect("gpg reports VALIDSIG");

        let (sig, payload) = split_commit(&raw);
        let then = keyring.verify(&sig, &payload, signed_at);
        let today = keyring.verify(&sig, &payload, t);
        let right_key = then
            .key
            .as_deref()
            .is_some_and(|k| k.ends_with(keyid.as_str()));
        let class_now = match today.verdict {
            KeyVerdict::Good => 'U',
            KeyVerdict::ExpiredKey => 'Y',
            _ => '?',
        };
        if then.verdict != KeyVerdict::Good
            || !right_key
            || then.identity.as_deref() != Some("github")
            || then.signed_at != Some(signed_at)
            || class_now != *letter
        {
            failures.push(format!("{id}: at signing {then:?}; now {today:?}"));
        }
        // Tampered payload: bad, also through the normalised packet.
        let mut forged = payload.clone();
        forged.extend_from_slice(b"forged\n");
        if keyring.verify(&sig, &forged, signed_at).verdict != KeyVerdict::BadSignature {
            failures.push(format!("{id}: a forged payload is not bad"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
