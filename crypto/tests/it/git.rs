//! Real commits and tags signed by `git -S` / `git tag -s`, split into signature and payload by
//! hand the way git's `parse_signed_buffer` does (the daemon does the same with gix). This pins
//! the contract: the signature block as found (continuation spaces removed) and the object
//! without it.

use std::path::Path;
use std::process::Command;

use crypto::Keyring;
use rules::facts::KeyVerdict;

use crate::util::{now, require, Gpg, SshKey};

/// A repository in a temporary directory with a pinned world: no system or global config,
/// fixed dates.
pub(crate) struct Repo {
    pub(crate) dir: tempfile::TempDir,
}

impl Repo {
    pub(crate) fn new() -> Repo {
        require("git", "git");
        let dir = tempfile::tempdir().expect("temp dir");
        let repo = Repo { dir };
        repo.git(&["init", "-q", "."], None);
        repo
    }

    pub(crate) fn git(&self, args: &[&str], gnupg_home: Option<&Path>) -> Vec<u8> {
        let out = self.command(args, gnupg_home).output().expect("git runs");
        assert!(
            out.status.success(),
            "git {args:?} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    /// Whether `git args` exits 0 (for `verify-commit` / `verify-tag`).
    pub(crate) fn ok(&self, args: &[&str], gnupg_home: Option<&Path>) -> bool {
        self.command(args, gnupg_home)
            .output()
            .expect("git runs")
            .status
            .success()
    }

    /// `git args`, whatever its exit status (for status output such as `verify-commit --raw`).
    pub(crate) fn output(&self, args: &[&str], gnupg_home: Option<&Path>) -> std::process::Output {
        self.command(args, gnupg_home).output().expect("git runs")
    }

    /// Writes `raw` as an object of type `kind` (no checks) and returns its id.
    pub(crate) fn write_object(&self, kind: &str, raw: &[u8]) -> String {
        let file = self.dir.path().join(".git").join("forged-object");
        std::fs::write(&file, raw).expect("write object");
        let path = file.display().to_string();
        let out = self.git(
            &["hash-object", "-t", kind, "-w", "--literally", &path],
            None,
        );
        String::from_utf8(out).expect("utf8").trim().to_owned()
    }

    fn command(&self, args: &[&str], gnupg_home: Option<&Path>) -> Command {
        let mut cmd = Command::new("git");
        cmd.current_dir(self.dir.path())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("HOME", self.dir.path())
            .env("GIT_AUTHOR_NAME", "Alice")
            .env("GIT_AUTHOR_EMAIL", "alice@example.com")
            .env("GIT_AUTHOR_DATE", "1790000000 +0000")
            .env("GIT_COMMITTER_NAME", "Alice")
            .env("GIT_COMMITTER_EMAIL", "alice@example.com")
            .env("GIT_COMMITTER_DATE", "1790000000 +0000")
            .args(args);
        if let Some(home) = gnupg_home {
            cmd.env("GNUPGHOME", home);
        }
        cmd
    }

    pub(crate) fn cat(&self, object: &str) -> Vec<u8> {
        let kind = String::from_utf8(self.git(&["cat-file", "-t", object], None)).expect("utf8");
        self.git(&["cat-file", kind.trim(), object], None)
    }
}

/// What git says about a commit's signature (`git log --no-walk --format=%G?`), and the
/// signature time from gpg's `VALIDSIG` status line (`git verify-commit --raw`), when it gave one.
pub(crate) struct GitStatus {
    /// git's `%G?` letter: G U X Y R E B N.
    pub(crate) letter: char,
    /// `%GK`: the key (OpenPGP key id, SSH fingerprint) git names.
    pub(crate) key: String,
    pub(crate) signed_at: Option<i64>,
}

pub(crate) fn git_status(
    repo: &Repo,
    config: &[String],
    home: Option<&Path>,
    id: &str,
) -> GitStatus {
    let mut args: Vec<&str> = Vec::new();
    for c in config {
        args.extend(["-c", c.as_str()]);
    }
    let mut log = args.clone();
    log.extend(["log", "--no-walk", "--format=%G?%x00%GK", id]);
    let out = String::from_utf8(repo.git(&log, home)).expect("utf8");
    let (letter, key) = out.trim_end().split_once('\0').expect("two fields");
    let mut raw = args;
    raw.extend(["verify-commit", "--raw", id]);
    let status = repo.output(&raw, home);
    let signed_at = String::from_utf8_lossy(&status.stderr)
        .lines()
        .find_map(|l| l.strip_prefix("[GNUPG:] VALIDSIG "))
        .and_then(|l| l.split(' ').nth(2))
        .and_then(|t| t.parse().ok());
    GitStatus {
        letter: letter.chars().next().expect("one letter"),
        key: key.to_owned(),
        signed_at,
    }
}

/// Commit: the `gpgsig` header (with its continuation lines) is the signature; the commit
/// without that header is the payload.
pub(crate) fn split_commit(raw: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let text = std::str::from_utf8(raw).expect("commit is utf8");
    let (mut sig, mut payload) = (String::new(), String::new());
    let (mut in_headers, mut in_sig) = (true, false);
    for line in text.split_inclusive('\n') {
        if in_headers {
            if line == "\n" {
                in_headers = false;
            } else if let Some(rest) = line.strip_prefix("gpgsig ") {
                in_sig = true;
                sig.push_str(rest);
                continue;
            } else if in_sig {
                if let Some(rest) = line.strip_prefix(' ') {
                    sig.push_str(rest);
                    continue;
                }
                in_sig = false;
            }
        }
        payload.push_str(line);
    }
    assert!(!sig.is_empty(), "commit is signed");
    (sig.into_bytes(), payload.into_bytes())
}

/// Tag: the signature is appended to the message; the payload is everything before it.
pub(crate) fn split_tag(raw: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let text = std::str::from_utf8(raw).expect("tag is utf8");
    let at = text
        .match_indices("-----BEGIN ")
        .map(|(i, _)| i)
        .filter(|&i| i == 0 || text.as_bytes()[i - 1] == b'\n')
        .last()
        .expect("tag is signed");
    (raw[at..].to_vec(), raw[..at].to_vec())
}

#[test]
fn ssh_signed_commit_and_tag() {
    let key = SshKey::generate("ed25519", None);
    let repo = Repo::new();
    let signing = ["-c", "gpg.format=ssh", "-c"];
    let key_opt = format!(
        "user.signingkey={}",
        key.private.with_extension("pub").display()
    );
    let mut commit = signing.to_vec();
    commit.extend([
        key_opt.as_str(),
        "commit",
        "-q",
        "-S",
        "--allow-empty",
        "-m",
        "signed",
    ]);
    repo.git(&commit, None);
    let mut tag = signing.to_vec();
    tag.extend([key_opt.as_str(), "tag", "-s", "-m", "release", "v1"]);
    repo.git(&tag, None);

    let mut keyring = Keyring::new();
    keyring.add_ssh_key("alice", &key.public).expect("key");

    let (sig, payload) = split_commit(&repo.cat("HEAD"));
    let check = keyring.verify(&sig, &payload, now());
    assert_eq!(check.verdict, KeyVerdict::Good, "commit: {check:?}");
    let mut forged = payload.clone();
    forged.extend_from_slice(b"sneaky\n");
    assert_eq!(
        keyring.verify(&sig, &forged, now()).verdict,
        KeyVerdict::BadSignature
    );

    let (sig, payload) = split_tag(&repo.cat("v1"));
    let check = keyring.verify(&sig, &payload, now());
    assert_eq!(check.verdict, KeyVerdict::Good, "tag: {check:?}");
}

#[test]
fn gpg_signed_commit_and_tag() {
    let gpg = Gpg::new();
    let fpr = gpg.generate("Alice <alice@example.com>", "ed25519", "sign");
    let repo = Repo::new();
    let key_opt = format!("user.signingkey={fpr}");
    repo.git(
        &[
            "-c",
            &key_opt,
            "commit",
            "-q",
            "-S",
            "--allow-empty",
            "-m",
            "signed",
        ],
        Some(gpg.home()),
    );
    repo.git(
        &["-c", &key_opt, "tag", "-s", "-m", "release", "v1"],
        Some(gpg.home()),
    );

    let mut keyring = Keyring::new();
    keyring
        .add_openpgp_cert("alice", &gpg.export(&["alice@example.com"]))
        .expect("cert");

    let (sig, payload) = split_commit(&repo.cat("HEAD"));
    let check = keyring.verify(&sig, &payload, now());
    assert_eq!(check.verdict, KeyVerdict::Good, "commit: {check:?}");
    assert_eq!(check.key.as_deref(), Some(fpr.as_str()));
    let mut forged = payload.clone();
    forged.extend_from_slice(b"sneaky\n");
    assert_eq!(
        keyring.verify(&sig, &forged, now()).verdict,
        KeyVerdict::BadSignature
    );

    let (sig, payload) = split_tag(&repo.cat("v1"));
    let check = keyring.verify(&sig, &payload, now());
    assert_eq!(check.verdict, KeyVerdict::Good, "tag: {check:?}");
}
