//! What the pusher reads, whole. One real push per kind of message the product has, its
//! `remote:` lines compared with a checked-in snapshot (`snapshots/*.snap`, reviewed with
//! `cargo insta review`), so a refactor that changes a word, a line break or the order of the
//! lines shows up as a readable diff instead of slipping past a substring check.
//!
//! What is compared: the exit of `git push` (accepted or rejected) and every line git prefixed
//! with `remote: `, in order. git's own lines (`To file://...`, `! [remote rejected]`) are not
//! the product's and change with git's version, so they are left out.
//!
//! What is redacted, and only this (see [`Redactions`]); everything else is kept byte for byte:
//! - trailing white space of each line: git pads sideband lines with spaces when stderr is not
//!   a terminal (and with an escape sequence when it is); the hook writes none;
//! - object ids (full, or any abbreviation of 7 or more hex digits) of the commits and tags
//!   the test made: signatures by keys generated at test time make them differ each run. Each
//!   becomes `<label>`, the label saying which object it was;
//! - SSH key fingerprints (`SHA256:...`) and the OpenPGP fingerprint of the test keys, generated
//!   fresh for each world: `SHA256:<alice>`, `<alice openpgp>`;
//! - the world's temp directory (`/tmp/pg-XXXXXX`): `<world>`;
//! - secret fingerprints, in the tests that push a secret: an HMAC under the key the daemon
//!   makes in its fresh state directory (and most test secrets are made at test time):
//!   `<secret fingerprint>`. The secret itself must never appear; the tests that push one also
//!   check that on the raw output.
//!
//! The renderer wrapped the lines around the real values (each of a fixed width), so a line
//! holding a short label may look shorter than its neighbours; the line breaks are the real ones.
//! Commit and author dates are pinned by the harness, and no message shows a clock time or a
//! measured duration (the deadline message names the configured one), so none is redacted.

use crate::harness::*;
use std::path::{Path, PathBuf};
use std::process::Output;

/// Values that differ between runs, each with the label that replaces it in a snapshot.
struct Redactions {
    /// Literal value -> label, applied longest value first.
    literal: Vec<(String, String)>,
    /// Object ids (full) -> label; any abbreviation of them is replaced too.
    ids: Vec<(String, String)>,
    /// Replace the value after `fingerprint: ` (secret fingerprints, keyed per daemon).
    secret_fingerprints: bool,
}

impl Redactions {
    /// The world's path and its test keys' fingerprints.
    fn new(w: &World) -> Redactions {
        let mut r = Redactions {
            literal: vec![(w.path().display().to_string(), "<world>".into())],
            ids: Vec::new(),
            secret_fingerprints: false,
        };
        for who in ["alice", "bob", "carol", "mallory"] {
            let fp = ssh_fingerprint(&w.key(&format!("{who}.pub")));
            r.literal.push((fp, format!("SHA256:<{who}>")));
        }
        let gpg = w.gpg_fingerprint();
        r.literal
            .push((gpg.to_lowercase(), "<alice openpgp>".into()));
        r.literal.push((gpg.clone(), "<alice openpgp>".into()));
        // The long key id (its last 16 hex digits), as gpg and sequoia also name keys.
        let long_id = gpg[gpg.len().saturating_sub(16)..].to_string();
        r.literal
            .push((long_id.to_lowercase(), "<alice openpgp key id>".into()));
        r.literal.push((long_id, "<alice openpgp key id>".into()));
        r
    }

    /// Name object `id` `label` in the snapshot.
    fn id(mut self, label: &str, id: &str) -> Redactions {
        self.ids.push((id.to_string(), label.to_string()));
        self
    }

    /// This test pushes a secret: its fingerprint is keyed by the world's daemon.
    fn secret_fingerprints(mut self) -> Redactions {
        self.secret_fingerprints = true;
        self
    }

    fn apply(&self, line: &str) -> String {
        let mut literal = self.literal.clone();
        literal.sort_by_key(|(v, _)| std::cmp::Reverse(v.len()));
        let mut s = line.to_string();
        for (value, label) in &literal {
            s = s.replace(value.as_str(), label);
        }
        s = self.replace_ids(&s);
        if self.secret_fingerprints {
            s = replace_after(&s, "fingerprint: ", "<secret fingerprint>");
        }
        s
    }

    /// Every run of 7 or more hex digits that starts a known id becomes its `<label>`.
    fn replace_ids(&self, s: &str) -> String {
        let mut out = String::new();
        let mut rest = s;
        while let Some(start) = rest.find(|c: char| c.is_ascii_hexdigit()) {
            let (before, from) = rest.split_at(start);
            let len = from
                .find(|c: char| !c.is_ascii_hexdigit())
                .unwrap_or(from.len());
            let (run, after) = from.split_at(len);
            // A run inside a word (`SHA256`, `x86`) is not an id.
            let in_word = before
                .chars()
                .next_back()
                .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
            let label = (run.len() >= 7 && !in_word)
                .then(|| self.ids.iter().find(|(id, _)| id.starts_with(run)))
                .flatten();
            out.push_str(before);
            match label {
                Some((_, l)) => {
                    out.push('<');
                    out.push_str(l);
                    out.push('>');
                }
                None => out.push_str(run),
            }
            rest = after;
        }
        out.push_str(rest);
        out
    }
}

/// `s` with the word after each `marker` replaced by `label`.
fn replace_after(s: &str, marker: &str, label: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(at) = rest.find(marker) {
        let (head, tail) = rest.split_at(at + marker.len());
        out.push_str(head);
        let end = tail.find(char::is_whitespace).unwrap_or(tail.len());
        out.push_str(label);
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// `SHA256:...` of a public key file, as `ssh-keygen -l` prints it.
fn ssh_fingerprint(public: &Path) -> String {
    let out = std::process::Command::new("ssh-keygen")
        .arg("-lf")
        .arg(public)
        .output()
        .expect("ssh-keygen runs");
    assert!(out.status.success(), "ssh-keygen -lf {}", public.display());
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .nth(1)
        .expect("ssh-keygen -l prints the fingerprint second")
        .to_string()
}

/// The push's exit and its `remote:` lines, redacted.
fn shown(out: &Output, r: &Redactions) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let mut text = format!(
        "git push: {}\n",
        if out.status.success() {
            "accepted"
        } else {
            "rejected"
        }
    );
    for line in stderr.lines().filter(|l| l.starts_with("remote:")) {
        text.push_str(&r.apply(line.trim_end()));
        text.push('\n');
    }
    text
}

/// Compare what `out` showed with snapshot `name`.
fn snapshot(name: &str, out: &Output, r: &Redactions) {
    let text = shown(out, r);
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.bind(|| insta::assert_snapshot!(name, text));
}

/// The secret must not be in anything git printed.
fn assert_secret_hidden(out: &Output, secret: &str) {
    let all = String::from_utf8_lossy(&out.stderr);
    assert!(!all.contains(&secret[4..]), "secret leaked:\n{all}");
}

fn push(c: &Client, pusher: &str, args: &[&str]) -> Output {
    c.push_raw(Some(pusher), &[], args)
}

/// A world with `rulesets` (and `extra_top` policy keys), seeded repository `app`.
fn world_with(extra_top: &str, rulesets: &str) -> (World, PathBuf, Client, Daemon) {
    let w = World::new();
    let (bare, c) = w.seed("app", "sha1");
    let policy = w.policy(extra_top, rulesets);
    let d = Daemon::start(&w, Some(&policy), &[&bare]);
    (w, bare, c, d)
}

fn seed_id(bare: &Path) -> String {
    rev(bare, "main").expect("seeded main")
}

// ---- Signatures on commits ----

#[test]
fn unsigned_commit() {
    let (w, _bare, c, _d) = standard_world();
    let id = c.commit("a.txt", "alice@example.org", Sign::Unsigned);
    let out = push(&c, "alice", &["origin", "main"]);
    snapshot(
        "unsigned_commit",
        &out,
        &Redactions::new(&w).id("unsigned", &id),
    );
}

#[test]
fn unknown_key() {
    let (w, _bare, c, _d) = standard_world();
    let id = c.commit("a.txt", "alice@example.org", Sign::Ssh("mallory"));
    let out = push(&c, "alice", &["origin", "main"]);
    snapshot(
        "unknown_key",
        &out,
        &Redactions::new(&w).id("by mallory", &id),
    );
}

#[test]
fn identity_mismatch() {
    let (w, _bare, c, _d) = standard_world();
    let id = c.commit("a.txt", "alice@example.org", Sign::Ssh("bob"));
    let out = push(&c, "alice", &["origin", "main"]);
    snapshot(
        "identity_mismatch",
        &out,
        &Redactions::new(&w).id("alice's, signed by bob", &id),
    );
}

#[test]
fn bad_signature() {
    let (w, _bare, c, _d) = standard_world();
    let signed = c.commit("a.txt", "alice@example.org", Sign::Ssh("alice"));
    // The same signature over a changed message: the signed bytes are not the commit's.
    let raw = c.git(&["cat-file", "commit", &signed]);
    let changed = raw.replace("Change a.txt as alice", "Change a.txt as mallory");
    assert_ne!(raw, changed);
    let file = c.dir.join(".git").join("changed-commit");
    std::fs::write(&file, format!("{changed}\n")).expect("write");
    let forged = c.git(&[
        "hash-object",
        "-t",
        "commit",
        "-w",
        &file.display().to_string(),
    ]);
    c.git(&["update-ref", "refs/heads/main", &forged]);
    let out = push(&c, "alice", &["origin", "main"]);
    snapshot(
        "bad_signature",
        &out,
        &Redactions::new(&w).id("altered", &forged),
    );
}

// ---- Branch protection ----

#[test]
fn force_push_to_a_protected_branch() {
    let (w, bare, c, _d) = standard_world();
    let seed = seed_id(&bare);
    let first = c.commit("a.txt", "alice@example.org", Sign::Ssh("alice"));
    assert!(c.push(&["origin", "main"]).ok);
    c.git(&["reset", "-q", "--hard", "HEAD~1"]);
    let second = c.commit("b.txt", "alice@example.org", Sign::Ssh("alice"));
    let out = push(&c, "alice", &["--force", "origin", "main"]);
    snapshot(
        "force_push",
        &out,
        &Redactions::new(&w)
            .id("seed", &seed)
            .id("old tip", &first)
            .id("new tip", &second),
    );
}

#[test]
fn branch_deletion() {
    let (w, bare, c, _d) = standard_world();
    let seed = seed_id(&bare);
    let out = push(&c, "alice", &["origin", ":main"]);
    snapshot(
        "branch_deletion",
        &out,
        &Redactions::new(&w).id("seed", &seed),
    );
}

#[test]
fn merge_commit_under_linear_history() {
    let (w, _bare, c, _d) = standard_world();
    c.git(&["checkout", "-q", "-b", "side"]);
    let side = c.commit("side.txt", "alice@example.org", Sign::Ssh("alice"));
    c.git(&["checkout", "-q", "main"]);
    let main = c.commit("main.txt", "alice@example.org", Sign::Ssh("alice"));
    c.git_signed(
        "alice",
        "alice@example.org",
        &["merge", "-q", "--no-ff", "-S", "-m", "Merge side", "side"],
    );
    let merge = c.git(&["rev-parse", "HEAD"]);
    let out = push(&c, "alice", &["origin", "main"]);
    snapshot(
        "linear_history",
        &out,
        &Redactions::new(&w)
            .id("side", &side)
            .id("main", &main)
            .id("merge", &merge),
    );
}

#[test]
fn pusher_not_allowed_to_update() {
    let rulesets = STANDARD_RULESETS.replace(
        "allow: [role:maintainer, bob, carol]",
        "allow: [role:maintainer]",
    );
    let (w, bare, c, _d) = world_with("", &rulesets);
    let seed = seed_id(&bare);
    let id = c.commit("a.txt", "bob@example.org", Sign::Ssh("bob"));
    let out = push(&c, "bob", &["origin", "main"]);
    snapshot(
        "update_not_allowed",
        &out,
        &Redactions::new(&w).id("seed", &seed).id("bob's", &id),
    );
}

// ---- Tags ----

#[test]
fn lightweight_tag() {
    let (w, bare, c, _d) = standard_world();
    let seed = seed_id(&bare);
    c.git(&["tag", "v3.1"]);
    let out = push(&c, "alice", &["origin", "v3.1"]);
    snapshot(
        "lightweight_tag",
        &out,
        &Redactions::new(&w).id("seed", &seed),
    );
}

#[test]
fn unsigned_tag() {
    let (w, bare, c, _d) = standard_world();
    let seed = seed_id(&bare);
    c.git(&["tag", "-a", "-m", "unsigned", "v3.0"]);
    let tag = c.git(&["rev-parse", "v3.0"]);
    let out = push(&c, "alice", &["origin", "v3.0"]);
    snapshot(
        "unsigned_tag",
        &out,
        &Redactions::new(&w).id("seed", &seed).id("tag", &tag),
    );
}

#[test]
fn tag_by_a_non_maintainer_and_tag_moved() {
    let (w, bare, c, _d) = standard_world();
    let seed = seed_id(&bare);
    c.git_signed(
        "bob",
        "bob@example.org",
        &["tag", "-s", "-m", "Release v2.0", "v2.0"],
    );
    let bobs = c.git(&["rev-parse", "v2.0"]);
    let out = push(&c, "bob", &["origin", "v2.0"]);
    snapshot(
        "tag_creation_not_allowed",
        &out,
        &Redactions::new(&w).id("seed", &seed).id("bob's tag", &bobs),
    );

    c.git_signed(
        "alice",
        "alice@example.org",
        &["tag", "-s", "-m", "Release v1.0", "v1.0"],
    );
    let first = c.git(&["rev-parse", "v1.0"]);
    assert!(c.push(&["origin", "v1.0"]).ok);
    let next = c.commit("a.txt", "alice@example.org", Sign::Ssh("alice"));
    assert!(c.push(&["origin", "main"]).ok);
    c.git_signed(
        "alice",
        "alice@example.org",
        &["tag", "-f", "-s", "-m", "moved", "v1.0"],
    );
    let moved = c.git(&["rev-parse", "v1.0"]);
    let out = push(&c, "alice", &["--force", "origin", "v1.0"]);
    snapshot(
        "tag_moved",
        &out,
        &Redactions::new(&w)
            .id("seed", &seed)
            .id("next", &next)
            .id("first tag", &first)
            .id("moved tag", &moved),
    );
}

#[test]
fn tag_signed_with_another_identitys_key() {
    let (w, bare, c, _d) = standard_world();
    let seed = seed_id(&bare);
    c.git_signed(
        "bob",
        "alice@example.org",
        &["tag", "-s", "-m", "Release v4.0", "v4.0"],
    );
    let tag = c.git(&["rev-parse", "v4.0"]);
    let out = push(&c, "alice", &["origin", "v4.0"]);
    snapshot(
        "tag_identity_mismatch",
        &out,
        &Redactions::new(&w).id("seed", &seed).id("tag", &tag),
    );
}

// ---- Secrets ----

const SECRET_RULESETS: &str = r#"  - name: no-secrets
    target: push
    bypass: [role:admin]
    rules:
      secret_scanning:
        suppressions_file: .pushguard/secret-suppressions.yaml
"#;

#[test]
fn secret_in_a_commit() {
    let (w, _bare, c, _d) = world_with("", SECRET_RULESETS);
    let secret = github_token();
    write(
        &c,
        "config/app.env",
        &format!("DEBUG=1\nGITHUB_TOKEN={secret}\n"),
    );
    let id = commit(&c, "Add config");
    let out = push(&c, "alice", &["origin", "main"]);
    assert_secret_hidden(&out, &secret);
    snapshot(
        "secret_rejected",
        &out,
        &Redactions::new(&w)
            .id("with secret", &id)
            .secret_fingerprints(),
    );
}

#[test]
fn secret_bypass_asked_by_someone_not_allowed() {
    let (w, _bare, c, _d) = world_with("", SECRET_RULESETS);
    let secret = github_token();
    write(&c, "a.txt", &format!("token: {secret}\n"));
    let id = commit(&c, "Add token");
    let first = c.push(&["origin", "main"]);
    assert!(!first.ok);
    let opt = format!(
        "pushguard.secret-bypass={}:false_positive",
        first.fingerprint()
    );
    let out = push(&c, "bob", &["-o", &opt, "origin", "main"]);
    assert_secret_hidden(&out, &secret);
    snapshot(
        "secret_bypass_not_allowed",
        &out,
        &Redactions::new(&w)
            .id("with secret", &id)
            .secret_fingerprints(),
    );
    let out = push(&c, "root", &["-o", &opt, "origin", "main"]);
    assert_secret_hidden(&out, &secret);
    snapshot(
        "secret_bypassed",
        &out,
        &Redactions::new(&w)
            .id("with secret", &id)
            .secret_fingerprints(),
    );
}

#[test]
fn secret_warning_only() {
    let (w, _bare, c, _d) = world_with("", SECRET_RULESETS);
    // An AWS access key id alone ships as a warning: shown, not blocking.
    write(&c, "deploy/aws.txt", "key id: AKIAQYLPMN5HHHFPZAM2\n");
    let id = commit(&c, "Add key id");
    let out = push(&c, "alice", &["origin", "main"]);
    snapshot(
        "secret_warning",
        &out,
        &Redactions::new(&w)
            .id("with key id", &id)
            .secret_fingerprints(),
    );
}

#[test]
fn large_blob_rejected() {
    let rules = "  - name: no-secrets\n    target: push\n    rules:\n      secret_scanning: {max_blob_size: 1000, on_large_blob: reject}\n";
    let (w, _bare, c, _d) = world_with("", rules);
    write(&c, "big.txt", &"y".repeat(5000));
    let id = commit(&c, "Big file");
    let out = push(&c, "alice", &["origin", "main"]);
    snapshot(
        "large_blob_rejected",
        &out,
        &Redactions::new(&w).id("big", &id),
    );
}

// ---- Full attestation ----

/// Labelled object ids.
type Ids = Vec<(String, String)>;

/// A side branch with `side` commits (alice's), merged into main by `merger`; the ids made.
fn side_and_merge(c: &Client, side: &[Sign], merger: &str, email: &str) -> Ids {
    c.git(&["checkout", "-q", "-b", "side"]);
    let mut ids: Vec<(String, String)> = side
        .iter()
        .enumerate()
        .map(|(i, s)| {
            (
                format!("side {i}"),
                c.commit(&format!("side{i}.txt"), "alice@example.org", *s),
            )
        })
        .collect();
    c.git(&["checkout", "-q", "main"]);
    ids.push((
        "main".into(),
        c.commit("main.txt", "alice@example.org", Sign::Ssh("alice")),
    ));
    c.git_signed(
        merger,
        email,
        &["merge", "-q", "--no-ff", "-S", "-m", "Merge side", "side"],
    );
    ids.push(("merge".into(), c.git(&["rev-parse", "HEAD"])));
    ids
}

fn with_ids(mut r: Redactions, ids: &Ids) -> Redactions {
    for (label, id) in ids {
        r = r.id(label, id);
    }
    r
}

#[test]
fn unsigned_commit_under_full_attestation() {
    let (w, _bare, c, _d) = world_with("", ATTESTED);
    let ids = side_and_merge(
        &c,
        &[Sign::Ssh("alice"), Sign::Unsigned],
        "alice",
        "alice@example.org",
    );
    let out = push(&c, "alice", &["origin", "main"]);
    snapshot(
        "attestation_unsigned_side_commit",
        &out,
        &with_ids(Redactions::new(&w), &ids),
    );
}

#[test]
fn merge_by_someone_not_allowed_to_merge() {
    let (w, _bare, c, _d) = world_with("", ATTESTED);
    let ids = side_and_merge(&c, &[Sign::Ssh("alice")], "bob", "bob@example.org");
    let out = push(&c, "alice", &["origin", "main"]);
    snapshot(
        "attestation_merger_not_allowed",
        &out,
        &with_ids(Redactions::new(&w), &ids),
    );
}

#[test]
fn evil_merge() {
    let (w, _bare, c, _d) = world_with("", ATTESTED);
    c.git(&["checkout", "-q", "-b", "side"]);
    let side = c.commit("side.txt", "alice@example.org", Sign::Ssh("alice"));
    c.git(&["checkout", "-q", "main"]);
    let main = c.commit("main.txt", "alice@example.org", Sign::Ssh("alice"));
    let merge = c.evil_merge("side");
    let out = push(&c, "alice", &["origin", "main"]);
    snapshot(
        "attestation_evil_merge",
        &out,
        &Redactions::new(&w)
            .id("side", &side)
            .id("main", &main)
            .id("merge", &merge),
    );
}

#[test]
fn merged_tag_by_an_unknown_key() {
    let (w, _bare, c, _d) = world_with("", ATTESTED);
    c.git(&["checkout", "-q", "-b", "side"]);
    let side = c.commit("side.txt", "alice@example.org", Sign::Ssh("alice"));
    c.git_signed(
        "mallory",
        "alice@example.org",
        &["tag", "-s", "-m", "for merging", "feature-1"],
    );
    let tag = c.git(&["rev-parse", "feature-1"]);
    c.git(&["checkout", "-q", "main"]);
    let main = c.commit("main.txt", "alice@example.org", Sign::Ssh("alice"));
    c.git_signed(
        "alice",
        "alice@example.org",
        &[
            "merge",
            "-q",
            "--no-ff",
            "-S",
            "-m",
            "Merge tag",
            "feature-1",
        ],
    );
    let merge = c.git(&["rev-parse", "HEAD"]);
    let out = push(&c, "alice", &["origin", "main"]);
    snapshot(
        "attestation_merged_tag",
        &out,
        &Redactions::new(&w)
            .id("side", &side)
            .id("tag", &tag)
            .id("main", &main)
            .id("merge", &merge),
    );
}

// ---- Limits ----

#[test]
fn too_many_refs_and_commits() {
    let (w, bare, c, _d) = world_with(
        "settings: {max_ref_updates: 3, max_commits: 10}\n",
        STANDARD_RULESETS,
    );
    let seed = seed_id(&bare);
    let refs: Vec<String> = (0..4).map(|i| format!("HEAD:refs/heads/t{i}")).collect();
    let mut args = vec!["origin"];
    args.extend(refs.iter().map(String::as_str));
    let out = push(&c, "alice", &args);
    snapshot(
        "too_many_refs",
        &out,
        &Redactions::new(&w).id("seed", &seed),
    );
    for i in 0..12 {
        c.commit(
            &format!("f{i}.txt"),
            "alice@example.org",
            Sign::Ssh("alice"),
        );
    }
    let out = push(&c, "alice", &["origin", "main"]);
    snapshot(
        "too_many_commits",
        &out,
        &Redactions::new(&w).id("seed", &seed),
    );
}

// ---- Signed pushes ----

#[test]
fn push_certificate_missing_or_by_an_unknown_key() {
    let rules = "  - name: signed-pushes\n    target: push\n    rules:\n      required_push_certificate: {}\n";
    let (w, bare, c, d) = world_with("", rules);
    git_in(
        &bare,
        &["config", "receive.certNonceSeed", "test-only-seed"],
    );
    let id = c.commit("a.txt", "alice@example.org", Sign::Ssh("alice"));
    let out = c.push_raw(None, &[], &["origin", "main"]);
    snapshot("push_not_signed", &out, &Redactions::new(&w).id("new", &id));
    let key = format!("user.signingkey={}", w.key("mallory").display());
    let out = c.push_raw(
        None,
        &["gpg.format=ssh", &key],
        &["--signed", "origin", "main"],
    );
    // The certificate is a blob with a nonce (a time stamp) signed by a fresh key.
    let last = d.audit().pop().expect("decision logged");
    let cert = last["push_certificate"]["id"]
        .as_str()
        .expect("the certificate's id is logged");
    snapshot(
        "push_signed_by_unknown_key",
        &out,
        &Redactions::new(&w).id("new", &id).id("certificate", cert),
    );
}

// ---- Accepted, with something to say ----

#[test]
fn accepted_with_a_bypass() {
    let (w, _bare, c, _d) = standard_world();
    let id = c.commit("a.txt", "root@example.org", Sign::Unsigned);
    let out = push(&c, "root", &["origin", "main"]);
    snapshot(
        "accepted_bypassed_by_admin",
        &out,
        &Redactions::new(&w).id("root's", &id),
    );
}

#[test]
fn accepted_with_scan_warnings() {
    let (w, _bare, c, _d) = world_with("", SECRET_RULESETS);
    let mut big = "x".repeat(1 << 20);
    big.push_str("\nmore\n");
    write(&c, "big.txt", &big);
    let mut bin = vec![0u8; 16];
    bin.extend_from_slice(b"binary");
    std::fs::write(c.dir.join("blob.bin"), bin).expect("write");
    c.git(&["add", "blob.bin"]);
    let id = commit(&c, "Big and binary files");
    let out = push(&c, "alice", &["origin", "main"]);
    snapshot(
        "accepted_scan_warnings",
        &out,
        &Redactions::new(&w).id("big", &id),
    );
}

// ---- The daemon unreachable ----

#[test]
fn daemon_down_fails_closed() {
    let (w, _bare, c, mut d) = standard_world();
    d.crash();
    let id = c.commit("a.txt", "alice@example.org", Sign::Ssh("alice"));
    let out = push(&c, "alice", &["origin", "main"]);
    snapshot(
        "daemon_down_fail_closed",
        &out,
        &Redactions::new(&w).id("new", &id),
    );
}

#[test]
fn daemon_down_fail_open_repository() {
    let w = World::new();
    let (bare, c) = w.seed("legacy", "sha1");
    let policy = w.policy(
        "repositories:\n  - {path: \"legacy.git\", on_error: fail_open}\n",
        STANDARD_RULESETS,
    );
    let mut d = Daemon::start(&w, Some(&policy), &[&bare]);
    d.crash();
    let id = c.commit("a.txt", "alice@example.org", Sign::Unsigned);
    let out = push(&c, "alice", &["origin", "main"]);
    snapshot(
        "daemon_down_fail_open",
        &out,
        &Redactions::new(&w).id("new", &id),
    );
}

#[test]
fn daemon_past_its_deadline() {
    let w = World::new();
    let (bare, c) = w.seed("app", "sha1");
    let policy = w.policy("settings: {timeout_seconds: 1}\n", STANDARD_RULESETS);
    let d = Daemon::start(&w, Some(&policy), &[&bare]);
    d.signal("STOP");
    let id = c.commit("a.txt", "alice@example.org", Sign::Ssh("alice"));
    let out = push(&c, "alice", &["origin", "main"]);
    d.signal("CONT");
    snapshot(
        "daemon_no_verdict_in_time",
        &out,
        &Redactions::new(&w).id("new", &id),
    );
}

// ---- The redactions themselves ----

#[test]
fn redactions_label_known_ids_and_their_abbreviations_only() {
    let r = Redactions {
        literal: vec![("/tmp/pg-abc123".into(), "<world>".into())],
        ids: vec![(
            "0123456789abcdef0123456789abcdef01234567".into(),
            "tip".into(),
        )],
        secret_fingerprints: true,
    };
    assert_eq!(
        r.apply("commit 0123456789 at /tmp/pg-abc123/x, not 0123456789ab0 nor SHA256abcdef012"),
        "commit <tip> at <world>/x, not 0123456789ab0 nor SHA256abcdef012"
    );
    assert_eq!(
        r.apply("0123456789abcdef0123456789abcdef01234567..0123456"),
        "<tip>..<tip>"
    );
    assert_eq!(
        r.apply("secret: ghp_…  fingerprint: 5e55ed037d0bebaae1bb"),
        "secret: ghp_…  fingerprint: <secret fingerprint>"
    );
}
