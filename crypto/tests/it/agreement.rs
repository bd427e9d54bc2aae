//! Agreement with git: on every fixture, our good / not good matches `git verify-commit` /
//! `git verify-tag` run with the same keys (gpg.ssh.allowedSignersFile for SSH, the GnuPG home
//! for OpenPGP, the gpgsm home for X.509), except the documented cases where pushguard is
//! deliberately stricter (key validity judged at receive time, not at the committer date).

use std::path::Path;

use crypto::Keyring;
use rules::facts::KeyVerdict;

use crate::git::{split_commit, split_tag, Repo};
use crate::util::{now, Gpg, Pki, SshKey};

/// One fixture's outcome.
struct Row {
    name: &'static str,
    git_good: bool,
    ours: KeyVerdict,
    /// Documented: git says good, pushguard refuses on purpose.
    stricter: bool,
}

/// Commits (or tags, when `tag` is set) with `config`, returns the object id.
fn sign(
    repo: &Repo,
    config: &[String],
    home: Option<&Path>,
    what: &str,
    tag: Option<&str>,
) -> String {
    let mut args: Vec<&str> = Vec::new();
    for c in config {
        args.extend(["-c", c.as_str()]);
    }
    match tag {
        None => args.extend(["commit", "-q", "-S", "--allow-empty", "-m", what]),
        Some(name) => args.extend(["tag", "-s", "-m", what, name]),
    }
    repo.git(&args, home);
    let rev = tag.unwrap_or("HEAD");
    String::from_utf8(repo.git(&["rev-parse", rev], None))
        .expect("utf8")
        .trim()
        .to_owned()
}

/// The same commit with its message changed (signature kept): a forgery.
fn forge(repo: &Repo, id: &str) -> String {
    let raw = String::from_utf8(repo.cat(id)).expect("utf8");
    let forged = raw.replacen("\n\n", "\n\nforged: ", 1);
    assert_ne!(raw, forged);
    repo.write_object("commit", forged.as_bytes())
}

fn git_verifies(repo: &Repo, config: &[String], home: Option<&Path>, id: &str, tag: bool) -> bool {
    let mut args: Vec<&str> = Vec::new();
    for c in config {
        args.extend(["-c", c.as_str()]);
    }
    args.extend([if tag { "verify-tag" } else { "verify-commit" }, id]);
    repo.ok(&args, home)
}

fn ours(repo: &Repo, keyring: &Keyring, id: &str, tag: bool) -> KeyVerdict {
    let raw = repo.cat(id);
    let (sig, payload) = if tag {
        split_tag(&raw)
    } else {
        split_commit(&raw)
    };
    keyring.verify(&sig, &payload, now()).verdict
}

fn identity_of(principal: &str) -> Option<String> {
    principal.strip_suffix("@example.com").map(str::to_owned)
}

#[test]
fn our_verdicts_agree_with_git() {
    let repo = Repo::new();
    let mut rows: Vec<Row> = Vec::new();
    let mut check = |name,
                     config: &[String],
                     home: Option<&Path>,
                     keyring: &Keyring,
                     id: &str,
                     tag,
                     stricter| {
        rows.push(Row {
            name,
            git_good: git_verifies(&repo, config, home, id, tag),
            ours: ours(&repo, keyring, id, tag),
            stricter,
        });
    };

    // --- SSH ---------------------------------------------------------------------------
    let alice = SshKey::generate("ed25519", None);
    let carol = SshKey::generate("ed25519", None);
    let bob = SshKey::generate("ed25519", None);
    let ca = SshKey::generate("ed25519", None);
    let dave = SshKey::generate("ed25519", None);
    dave.certify(&ca, "dave@example.com", &[]);
    // Carol's key expired on 2026-10-01: after the fixed committer date (2026-09-21), before
    // any receive time of these tests.
    let allowed = format!(
        "alice@example.com {}\ncarol@example.com valid-before=\"20261001Z\" {}\n*@example.com cert-authority {}\n",
        alice.public, carol.public, ca.public
    );
    let allowed_file = repo.dir.path().join(".git").join("allowed_signers");
    std::fs::write(&allowed_file, &allowed).expect("allowed_signers");
    let mut keyring = Keyring::new();
    keyring
        .add_allowed_signers(&allowed, identity_of)
        .expect("allowed_signers");
    let verify_cfg = vec![format!(
        "gpg.ssh.allowedSignersFile={}",
        allowed_file.display()
    )];
    let ssh_cfg = |key: &Path| {
        vec![
            "gpg.format=ssh".to_owned(),
            format!("user.signingkey={}", key.display()),
        ]
    };
    let pubkey = |k: &SshKey| k.private.with_extension("pub");

    let id = sign(&repo, &ssh_cfg(&pubkey(&alice)), None, "ssh good", None);
    check(
        "ssh good commit",
        &verify_cfg,
        None,
        &keyring,
        &id,
        false,
        false,
    );
    let forged = forge(&repo, &id);
    check(
        "ssh forged commit",
        &verify_cfg,
        None,
        &keyring,
        &forged,
        false,
        false,
    );
    let id = sign(
        &repo,
        &ssh_cfg(&pubkey(&alice)),
        None,
        "ssh tag",
        Some("ssh-v1"),
    );
    check(
        "ssh good tag",
        &verify_cfg,
        None,
        &keyring,
        &id,
        true,
        false,
    );
    let id = sign(&repo, &ssh_cfg(&pubkey(&bob)), None, "ssh unknown", None);
    check(
        "ssh unknown key",
        &verify_cfg,
        None,
        &keyring,
        &id,
        false,
        false,
    );
    let cert = dave.private.parent().expect("dir").join("key-cert.pub");
    let id = sign(&repo, &ssh_cfg(&cert), None, "ssh cert", None);
    check(
        "ssh certificate (cert-authority)",
        &verify_cfg,
        None,
        &keyring,
        &id,
        false,
        false,
    );
    let forged = forge(&repo, &id);
    check(
        "ssh certificate forged",
        &verify_cfg,
        None,
        &keyring,
        &forged,
        false,
        false,
    );
    let id = sign(&repo, &ssh_cfg(&pubkey(&carol)), None, "ssh expired", None);
    check(
        "ssh key expired after commit date",
        &verify_cfg,
        None,
        &keyring,
        &id,
        false,
        true,
    );
    // A certificate valid in September 2026 only: git checks it at the committer date.
    let erin = SshKey::generate("ed25519", None);
    erin.certify(&ca, "erin@example.com", &["-V", "20260901:20261001"]);
    let cert = erin.private.parent().expect("dir").join("key-cert.pub");
    let id = sign(&repo, &ssh_cfg(&cert), None, "ssh cert expired", None);
    check(
        "ssh cert expired after commit date",
        &verify_cfg,
        None,
        &keyring,
        &id,
        false,
        true,
    );

    // --- OpenPGP -----------------------------------------------------------------------
    let gpg = Gpg::new();
    let fpr = gpg.generate("Alice <alice@example.com>", "ed25519", "sign");
    let mut keyring = Keyring::new();
    keyring
        .add_openpgp_cert("alice", &gpg.export(&["alice@example.com"]))
        .expect("cert");
    let cfg = vec![format!("user.signingkey={fpr}")];
    let home = Some(gpg.home());
    let id = sign(&repo, &cfg, home, "pgp good", None);
    check(
        "openpgp good commit",
        &[],
        home,
        &keyring,
        &id,
        false,
        false,
    );
    let forged = forge(&repo, &id);
    check(
        "openpgp forged commit",
        &[],
        home,
        &keyring,
        &forged,
        false,
        false,
    );
    let id = sign(&repo, &cfg, home, "pgp tag", Some("pgp-v1"));
    check("openpgp good tag", &[], home, &keyring, &id, true, false);
    let stranger = Gpg::new();
    let sfpr = stranger.generate("Mallory <mallory@example.com>", "ed25519", "sign");
    let id = sign(
        &repo,
        &[format!("user.signingkey={sfpr}")],
        Some(stranger.home()),
        "pgp unknown",
        None,
    );
    check(
        "openpgp unknown key",
        &[],
        home,
        &keyring,
        &id,
        false,
        false,
    );

    // --- X.509 (gpgsm) -----------------------------------------------------------------
    let pki = Pki::new("Test Root");
    let user = pki.issue(
        "alice",
        "keyUsage=critical,digitalSignature\nextendedKeyUsage=emailProtection\nsubjectAltName=email:alice@example.com\n",
        10,
    );
    let mut keyring = Keyring::new();
    keyring.add_x509_root(&pki.root_pem).expect("root");
    keyring
        .add_x509_identity("alice", "alice@example.com")
        .expect("identity");
    let home_buf = pki.home();
    let home = Some(home_buf.as_path());
    let cfg = vec![
        "gpg.format=x509".to_owned(),
        format!("user.signingkey={}", user.id),
    ];
    let id = sign(&repo, &cfg, home, "x509 good", None);
    check("x509 good commit", &[], home, &keyring, &id, false, false);
    // gpgsm checks the chain, not who: an email no identity owns is good for git.
    let mut nobody = Keyring::new();
    nobody.add_x509_root(&pki.root_pem).expect("root");
    check(
        "x509 email of no identity",
        &[],
        home,
        &nobody,
        &id,
        false,
        true,
    );
    let forged = forge(&repo, &id);
    check(
        "x509 forged commit",
        &[],
        home,
        &keyring,
        &forged,
        false,
        false,
    );
    let id = sign(&repo, &cfg, home, "x509 tag", Some("x509-v1"));
    check("x509 good tag", &[], home, &keyring, &id, true, false);
    let other = Pki::new("Other Root");
    let mallory = other.issue(
        "mallory",
        "keyUsage=critical,digitalSignature\nsubjectAltName=email:alice@example.com\n",
        10,
    );
    let other_home = other.home();
    let cfg = vec![
        "gpg.format=x509".to_owned(),
        format!("user.signingkey={}", mallory.id),
    ];
    let id = sign(
        &repo,
        &cfg,
        Some(other_home.as_path()),
        "x509 other root",
        None,
    );
    check(
        "x509 untrusted root",
        &[],
        home,
        &keyring,
        &id,
        false,
        false,
    );

    // --- Compare -----------------------------------------------------------------------
    let mut report = String::new();
    let mut failures = Vec::new();
    for r in &rows {
        let ours_good = r.ours == KeyVerdict::Good;
        let agrees = ours_good == r.git_good;
        report.push_str(&format!(
            "{:<36} git {:<8} ours {:<18} {}\n",
            r.name,
            if r.git_good { "good" } else { "not" },
            r.ours.code(),
            match (agrees, r.stricter) {
                (true, false) => "agree",
                (false, true) => "stricter (documented)",
                _ => "MISMATCH",
            }
        ));
        let expected = if r.stricter {
            r.git_good && !ours_good
        } else {
            agrees
        };
        if !expected {
            failures.push(r.name);
        }
    }
    println!("{report}");
    assert!(failures.is_empty(), "disagreements: {failures:?}\n{report}");
    assert_eq!(rows.len(), 17);
}
