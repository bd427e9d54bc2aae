//! The `pull_request` rule through real pushes: reviewers sign approvals with their own SSH
//! keys (`pushguard approve --push`, which runs ssh-keygen as git would), the approvals travel
//! as refs, and the gate counts only those of reviewers independent of the change.

use crate::harness::*;
use std::path::Path;

const FOUR_EYES: &str = "  - name: four-eyes\n    target: branch\n    include: [main]\n    rules:\n      pull_request: {}\n";

/// A reviewer's clone of `bare`, signing with their SSH key.
fn reviewer(w: &World, bare: &Path, who: &str) -> Client {
    let c = w.clone_of(bare, who);
    c.git(&["config", "user.email", &format!("{who}@example.org")]);
    c.git(&["config", "user.name", who]);
    c.git(&["config", "gpg.format", "ssh"]);
    let key = w.key(who);
    c.git(&["config", "user.signingkey", &key.display().to_string()]);
    c
}

/// `pushguard approve ARGS` in `c`, pushing as `who`.
fn approve(c: &Client, who: &str, args: &[&str]) -> (bool, String) {
    let out = c.run(
        Path::new(BIN),
        &[&["approve"], args].concat(),
        &[("PUSHGUARD_USER", who)],
    );
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn two_independent_reviewers_approve_with_their_own_keys() {
    let w = World::new();
    let (bare, alice) = w.seed("app", "sha1");
    let policy = w.policy("", FOUR_EYES);
    let _d = Daemon::start(&w, Some(&policy), &[&bare]);
    let change = alice.commit("src/lib.rs", "alice@example.org", Sign::Ssh("alice"));
    // Without approvals: refused, and told what reviewers should run.
    let p = alice.push(&["origin", "HEAD:main"]);
    assert!(!p.ok, "{}", p.text);
    assert!(
        p.text.contains("x pull_request (ruleset four-eyes)"),
        "{}",
        p.text
    );
    assert!(p.text.contains("none count"), "{}", p.text);
    assert!(
        p.flat()
            .contains("pushguard approve --ref refs/heads/main --base"),
        "{}",
        p.text
    );
    // The change goes to a topic branch (no ruleset) where reviewers fetch it.
    assert!(alice.push(&["origin", "HEAD:refs/heads/topic"]).ok);
    // alice approves her own change: she may publish it, it does not count.
    let (ok, out) = approve(
        &alice,
        "alice",
        &["--ref", "main", "--as", "alice", &change, "--push"],
    );
    assert!(ok, "{out}");
    let bob = reviewer(&w, &bare, "bob");
    let (ok, out) = approve(&bob, "bob", &["--ref", "main", "origin/topic", "--push"]);
    assert!(ok, "{out}");
    let p = alice.push(&["origin", "HEAD:main"]);
    assert!(!p.ok);
    let flat = p.flat();
    assert!(flat.contains("1 counts: bob"), "{}", p.text);
    assert!(
        flat.contains("alice (not independent: the pusher of the change)"),
        "{}",
        p.text
    );
    // The server's view of the approvals, as an admin (or the author) asks for it.
    let bare_dir = bare.display().to_string();
    let policy_file = policy.display().to_string();
    let args = [
        "approvals",
        "--ref",
        "main",
        "--repo",
        &bare_dir,
        "--policy",
        &policy_file,
        "--pusher",
        "alice",
        &change,
    ];
    let out = alice.run(Path::new(BIN), &args, &[]);
    let listing = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{listing}");
    assert!(
        listing.contains("refs/heads/main (ruleset four-eyes): approvals"),
        "{listing}"
    );
    assert!(listing.contains("bob approve"), "{listing}");
    assert!(listing.contains(": counts"), "{listing}");
    assert!(
        listing.contains("does not count: not independent: the pusher of the change"),
        "{listing}"
    );
    assert!(listing.contains("x approvals_missing"), "{listing}");
    // carol's approval makes two; the push goes through.
    let carol = reviewer(&w, &bare, "carol");
    let (ok, out) = approve(
        &carol,
        "carol",
        &["--ref", "main", "origin/topic", "--push"],
    );
    assert!(ok, "{out}");
    let p = alice.push(&["origin", "HEAD:main"]);
    assert!(p.ok, "{}", p.text);
    assert_eq!(
        rev(&bare, "refs/heads/main").as_deref(),
        Some(change.as_str())
    );
}

#[test]
fn approvals_cannot_be_forged_reused_or_removed_by_others() {
    let w = World::new();
    let (bare, alice) = w.seed("app", "sha1");
    let policy = w.policy("", FOUR_EYES);
    let _d = Daemon::start(&w, Some(&policy), &[&bare]);
    alice.commit("a.txt", "alice@example.org", Sign::Ssh("alice"));
    assert!(alice.push(&["origin", "HEAD:refs/heads/topic"]).ok);
    let bob = reviewer(&w, &bare, "bob");
    // bob signs, but files it under carol's name: refused.
    let (ok, out) = approve(
        &bob,
        "bob",
        &["--ref", "main", "--as", "carol", "origin/topic", "--push"],
    );
    assert!(!ok, "{out}");
    assert!(
        out.contains("bob may not write or delete carol's approvals"),
        "{out}"
    );
    // bob's approval signed with mallory's key (not his): refused as not his.
    bob.git(&[
        "config",
        "user.signingkey",
        &w.key("mallory").display().to_string(),
    ]);
    let (ok, out) = approve(&bob, "bob", &["--ref", "main", "origin/topic", "--push"]);
    assert!(!ok, "{out}");
    assert!(out.contains("this approval is not signed by bob"), "{out}");
    bob.git(&[
        "config",
        "user.signingkey",
        &w.key("bob").display().to_string(),
    ]);
    // Two real approvals, then the change moves on: they are stale for the new result.
    let (ok, out) = approve(&bob, "bob", &["--ref", "main", "origin/topic", "--push"]);
    assert!(ok, "{out}");
    let carol = reviewer(&w, &bare, "carol");
    let (ok, out) = approve(
        &carol,
        "carol",
        &["--ref", "main", "origin/topic", "--push"],
    );
    assert!(ok, "{out}");
    alice.commit("a.txt", "alice@example.org", Sign::Ssh("alice"));
    let p = alice.push(&["origin", "HEAD:main"]);
    assert!(!p.ok);
    assert!(
        p.flat()
            .contains("bob (stale: made for another base or result)"),
        "{}",
        p.text
    );
    // carol cannot delete bob's approval.
    let refs = git_in(
        &bare,
        &[
            "for-each-ref",
            "--format=%(refname)",
            "refs/pushguard/approvals/",
        ],
    );
    // `--as` defaults to the reviewer's user.email.
    let bobs = refs
        .lines()
        .find(|r| r.contains("/bob@example.org/"))
        .expect("bob's approval ref");
    let p = carol.push_as(Some("carol"), &["origin", &format!(":{bobs}")]);
    assert!(!p.ok, "{}", p.text);
    assert!(
        p.flat()
            .contains("carol may not write or delete bob@example.org's approvals"),
        "{}",
        p.text
    );
}

#[test]
fn code_owners_come_from_before_the_push_and_must_approve_their_paths() {
    let w = World::new();
    let (bare, alice) = w.seed("app", "sha1");
    // CODEOWNERS on main before any hook: carol owns db/.
    write(&alice, ".github/CODEOWNERS", "* @bob\n/db/ @carol\n");
    commit(&alice, "owners");
    assert!(alice.push(&["origin", "HEAD:main"]).ok);
    let rules = "  - name: four-eyes\n    target: branch\n    include: [main]\n    rules:\n      pull_request:\n        required_approving_review_count: 1\n        require_code_owner_review: true\n";
    let policy = w.policy("", rules);
    let _d = Daemon::start(&w, Some(&policy), &[&bare]);
    // alice changes db/ and, in the same push, makes herself its owner: that does not help.
    write(&alice, ".github/CODEOWNERS", "* @bob\n/db/ @alice\n");
    alice.git(&["add", ".github/CODEOWNERS"]);
    alice.commit("db/schema.sql", "alice@example.org", Sign::Ssh("alice"));
    assert!(alice.push(&["origin", "HEAD:refs/heads/topic"]).ok);
    let bob = reviewer(&w, &bare, "bob");
    let (ok, out) = approve(
        &bob,
        "bob",
        &["--ref", "main", "--as", "bob", "origin/topic", "--push"],
    );
    assert!(ok, "{out}");
    let p = alice.push(&["origin", "HEAD:main"]);
    assert!(!p.ok, "{}", p.text);
    assert!(
        p.flat()
            .contains("db/schema.sql needs 1 approval from the code owners (@carol), 0 given"),
        "{}",
        p.text
    );
    let carol = reviewer(&w, &bare, "carol");
    let (ok, out) = approve(
        &carol,
        "carol",
        &["--ref", "main", "--as", "carol", "origin/topic", "--push"],
    );
    assert!(ok, "{out}");
    let p = alice.push(&["origin", "HEAD:main"]);
    assert!(p.ok, "{}", p.text);
}

#[test]
fn codeowners_lint_reports_errors_and_dialect_differences() {
    let w = World::new();
    let (_bare, alice) = w.seed("app", "sha1");
    write(
        &alice,
        "CODEOWNERS",
        "docs/* @docs\n!vendor/ @x\n*.rs @rust\n",
    );
    let out = alice.run(Path::new(BIN), &["codeowners", "lint"], &[]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "an error in one dialect: {text}"
    );
    assert!(text.contains("CODEOWNERS:2:1: error (github)"), "{text}");
    let probes = alice.dir.join("probes");
    std::fs::write(&probes, "a/docs/x\nsrc/main.rs\n").expect("write");
    let out = alice.run(
        Path::new(BIN),
        &[
            "codeowners",
            "lint",
            "--dialect-diff",
            "--probes",
            &probes.display().to_string(),
        ],
        &[],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("CODEOWNERS:1:1: dialects differ (Anchoring)"),
        "{text}"
    );
    assert!(text.contains("a/docs/x: github: unowned"), "{text}");
    assert!(
        !text.contains("src/main.rs:"),
        "both dialects agree on it: {text}"
    );
}

#[test]
fn with_patch_id_an_approval_survives_a_clean_rebase() {
    let w = World::new();
    let (bare, alice) = w.seed("app", "sha1");
    let rules = "  - name: four-eyes\n    target: branch\n    include: [main]\n    rules:\n      pull_request:\n        required_approving_review_count: 1\n        dismiss_stale_reviews_on_push: patch_id\n";
    let policy = w.policy("", rules);
    let _d = Daemon::start(&w, Some(&policy), &[&bare]);
    let base = alice.git(&["rev-parse", "HEAD"]);
    // alice's change, reviewed by bob against the current main.
    let change = alice.commit("feature.txt", "alice@example.org", Sign::Ssh("alice"));
    assert!(alice.push(&["origin", "HEAD:refs/heads/topic"]).ok);
    let bob = reviewer(&w, &bare, "bob");
    let (ok, out) = approve(&bob, "bob", &["--ref", "main", "origin/topic", "--push"]);
    assert!(ok, "{out}");
    // Meanwhile main moves on: another change to another file, approved by carol.
    alice.git(&["checkout", "-q", "-b", "other", &base]);
    let other = alice.commit("other.txt", "alice@example.org", Sign::Ssh("alice"));
    assert!(alice.push(&["origin", "HEAD:refs/heads/other"]).ok);
    let carol = reviewer(&w, &bare, "carol");
    let (ok, out) = approve(
        &carol,
        "carol",
        &["--ref", "main", "origin/other", "--push"],
    );
    assert!(ok, "{out}");
    let p = alice.push(&["origin", "HEAD:main"]);
    assert!(p.ok, "{}", p.text);
    assert_eq!(
        rev(&bare, "refs/heads/main").as_deref(),
        Some(other.as_str())
    );
    // alice rebases her change onto the new main (cleanly) and pushes it: bob's approval still
    // counts, by the patch-id it recorded.
    alice.git(&["checkout", "-q", &change]);
    alice.git(&["rebase", "-q", "--no-gpg-sign", &other]);
    let p = alice.push(&["origin", "HEAD:main"]);
    assert!(p.ok, "{}", p.text);
}
