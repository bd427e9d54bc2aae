use crate::harness::*;

fn world(rulesets: &str) -> (World, std::path::PathBuf, Client, Daemon) {
    let w = World::new();
    let (bare, client) = w.seed("app", "sha1");
    let policy = w.policy("", rulesets);
    let d = Daemon::start(&w, Some(&policy), &[&bare]);
    (w, bare, client, d)
}

/// A side branch with the given commits, merged into main with a signed merge by `merger`.
fn side_and_merge(c: &Client, side: &[Sign], merger: &str, email: &str) -> Vec<String> {
    c.git(&["checkout", "-q", "-b", "side"]);
    let ids: Vec<String> = side
        .iter()
        .enumerate()
        .map(|(i, s)| c.commit(&format!("side{i}.txt"), "alice@example.org", *s))
        .collect();
    c.git(&["checkout", "-q", "main"]);
    c.commit("main.txt", "alice@example.org", Sign::Ssh("alice"));
    c.git_signed(
        merger,
        email,
        &["merge", "-q", "--no-ff", "-S", "-m", "Merge side", "side"],
    );
    ids
}

#[test]
fn a_merge_signed_by_a_merger_does_not_vouch_for_an_unsigned_side_commit() {
    let (_w, _bare, c, _d) = world(ATTESTED);
    let ids = side_and_merge(
        &c,
        &[Sign::Ssh("alice"), Sign::Unsigned],
        "alice",
        "alice@example.org",
    );
    let p = c.push(&["origin", "main"]);
    assert!(!p.ok);
    assert!(
        p.flat()
            .contains("x full_attestation (ruleset attested-main)"),
        "{}",
        p.text
    );
    assert!(
        p.flat().contains(&format!("commit {}", &ids[1][..10])),
        "{}",
        p.text
    );
    assert!(p.flat().contains("commit is not signed"), "{}", p.text);
    assert!(
        p.flat().contains("1 policy violation"),
        "only the side commit: {}",
        p.text
    );
}

#[test]
fn fully_signed_history_merged_by_a_maintainer_is_accepted() {
    let (_w, _bare, c, d) = world(ATTESTED);
    side_and_merge(
        &c,
        &[Sign::Ssh("alice"), Sign::Gpg],
        "alice",
        "alice@example.org",
    );
    let p = c.push(&["origin", "main"]);
    assert!(p.ok, "{}\n{}", p.text, d.log_text());
}

#[test]
fn a_merge_signed_by_someone_not_allowed_to_merge_is_rejected() {
    let (_w, _bare, c, _d) = world(ATTESTED);
    side_and_merge(&c, &[Sign::Ssh("alice")], "bob", "bob@example.org");
    let p = c.push(&["origin", "main"]);
    assert!(!p.ok);
    assert!(p.flat().contains("merge signed by bob, who may not merge into this branch: only role:maintainer may merge it"), "{}", p.text);
}

#[test]
fn an_evil_merge_is_rejected_and_a_clean_one_accepted() {
    let (_w, _bare, c, _d) = world(ATTESTED);
    c.git(&["checkout", "-q", "-b", "side"]);
    c.commit("side.txt", "alice@example.org", Sign::Ssh("alice"));
    c.git(&["checkout", "-q", "main"]);
    c.commit("main.txt", "alice@example.org", Sign::Ssh("alice"));
    // Merge, then slip an extra change into the merge commit itself.
    c.evil_merge("side");
    let p = c.push(&["origin", "main"]);
    assert!(!p.ok);
    assert!(
        p.flat()
            .contains("differs from the clean merge of its parents"),
        "{}",
        p.text
    );
    // The same merge without the hidden change passes.
    c.git(&["reset", "-q", "--hard", "HEAD~1"]);
    c.git_signed(
        "alice",
        "alice@example.org",
        &["merge", "-q", "--no-ff", "-S", "-m", "Merge side", "side"],
    );
    let p = c.push(&["origin", "main"]);
    assert!(p.ok, "{}", p.text);
}

#[test]
fn signed_conflict_resolutions_can_be_allowed() {
    let rules = ATTESTED.replace(
        "clean_merge: true",
        "clean_merge: true\n        allow_signed_resolutions: true",
    );
    let (_w, _bare, c, _d) = world(&rules);
    c.git(&["checkout", "-q", "-b", "side"]);
    std::fs::write(c.dir.join("README.md"), "side\n").expect("write");
    c.git(&["add", "README.md"]);
    c.git_signed(
        "alice",
        "alice@example.org",
        &["commit", "-q", "-S", "-m", "Side edit"],
    );
    c.git(&["checkout", "-q", "main"]);
    std::fs::write(c.dir.join("README.md"), "main\n").expect("write");
    c.git(&["add", "README.md"]);
    c.git_signed(
        "alice",
        "alice@example.org",
        &["commit", "-q", "-S", "-m", "Main edit"],
    );
    assert!(!c.git_ok(&["merge", "-q", "side"]), "the branches conflict");
    std::fs::write(c.dir.join("README.md"), "resolved\n").expect("write");
    c.git(&["add", "README.md"]);
    c.git_signed(
        "alice",
        "alice@example.org",
        &["commit", "-q", "-S", "-m", "Merge side, resolved"],
    );
    let p = c.push(&["origin", "main"]);
    assert!(
        p.ok,
        "a maintainer-signed resolution is allowed: {}",
        p.text
    );
}

#[test]
fn merged_signed_tags_are_verified_too() {
    let (w, _bare, c, _d) = world(ATTESTED);
    c.git(&["checkout", "-q", "-b", "side"]);
    c.commit("side.txt", "alice@example.org", Sign::Ssh("alice"));
    // A tag signed by a key nobody in the policy has.
    c.git_signed(
        "mallory",
        "alice@example.org",
        &["tag", "-s", "-m", "for merging", "feature-1"],
    );
    c.git(&["checkout", "-q", "main"]);
    c.commit("main.txt", "alice@example.org", Sign::Ssh("alice"));
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
    assert!(
        c.git(&["cat-file", "commit", "HEAD"])
            .contains("mergetag object"),
        "git embedded the tag"
    );
    let p = c.push(&["origin", "main"]);
    assert!(!p.ok);
    assert!(p.flat().contains("merged tag feature-1:"), "{}", p.text);
    let _ = w;
}

#[test]
fn octopus_merges_are_a_policy_choice() {
    for (octopus, ok) in [("reject", false), ("allow", true)] {
        let rules = ATTESTED.replace("clean_merge: true", &format!("octopus: {octopus}"));
        let (_w, _bare, c, _d) = world(&rules);
        for b in ["a", "b"] {
            c.git(&["checkout", "-q", "-b", b, "main"]);
            c.commit(&format!("{b}.txt"), "alice@example.org", Sign::Ssh("alice"));
        }
        c.git(&["checkout", "-q", "main"]);
        c.git_signed(
            "alice",
            "alice@example.org",
            &["merge", "-q", "--no-ff", "-S", "-m", "Octopus", "a", "b"],
        );
        let p = c.push(&["origin", "main"]);
        assert_eq!(p.ok, ok, "octopus: {octopus}: {}", p.text);
        if !ok {
            assert!(
                p.flat().contains("octopus merge of 3 parents"),
                "{}",
                p.text
            );
        }
    }
}

#[test]
fn identity_binding_can_follow_the_author() {
    let rules = "  - name: by-author\n    target: branch\n    include: [main]\n    rules:\n      required_signatures: {identity: author, signers: [alice, bob]}\n";
    let (_w, _bare, c, _d) = world(rules);
    // Authored by bob, committed (and signed) by alice: the key must be bob's.
    c.commit("a.txt", "alice@example.org", Sign::Ssh("alice"));
    c.git(&[
        "-c",
        "user.email=alice@example.org",
        "commit",
        "-q",
        "--amend",
        "--no-edit",
        "--author",
        "Bob <bob@example.org>",
        "--no-gpg-sign",
    ]);
    c.git_signed(
        "bob",
        "alice@example.org",
        &["commit", "-q", "--amend", "--no-edit", "-S"],
    );
    let p = c.push(&["origin", "main"]);
    assert!(p.ok, "bob's key, bob authored: {}", p.text);
    // carol signs her own work, but she is not among the signers.
    c.commit("b.txt", "carol@example.org", Sign::Ssh("carol"));
    c.git(&[
        "-c",
        "user.email=carol@example.org",
        "commit",
        "-q",
        "--amend",
        "--no-edit",
        "--author",
        "Carol <carol@example.org>",
        "--no-gpg-sign",
    ]);
    c.git_signed(
        "carol",
        "carol@example.org",
        &["commit", "-q", "--amend", "--no-edit", "-S"],
    );
    let p = c.push(&["origin", "main"]);
    assert!(!p.ok);
    assert!(
        p.flat().contains(
            "signed by carol, who may not sign for this branch: only alice, bob may sign for it"
        ),
        "{}",
        p.text
    );
}

#[test]
fn signed_pushes_name_the_pusher_and_unsigned_ones_are_refused() {
    let rules = "  - name: signed-pushes\n    target: push\n    rules:\n      required_push_certificate: {}\n";
    let (w, bare, c, d) = world(rules);
    c.git(&[
        "--git-dir",
        &bare.display().to_string(),
        "config",
        "receive.certNonceSeed",
        "test-only-seed",
    ]);
    c.commit("a.txt", "alice@example.org", Sign::Ssh("alice"));
    let p = c.push_as(None, &["origin", "main"]);
    assert!(!p.ok);
    assert!(p.flat().contains("this push is not signed"), "{}", p.text);
    // Signed with alice's SSH key: accepted, and alice is the certified pusher.
    let key = format!("user.signingkey={}", w.key("alice").display());
    let out = std::process::Command::new("git")
        .args([
            "-c",
            "gpg.format=ssh",
            "-c",
            &key,
            "push",
            "--signed",
            "origin",
            "main",
        ])
        .current_dir(&c.dir)
        .envs(w.env())
        .env("PUSHGUARD_USER", "mallory-claims-to-be-someone")
        .output()
        .expect("git push --signed");
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}\n{}", d.log_text());
    let last = d.audit().pop().expect("logged");
    assert_eq!(last["pusher_identity"], "alice");
    assert_eq!(last["pusher_certified"], true);
    assert_eq!(last["push_certificate"]["nonce_status"], "OK");
    assert_eq!(last["push_certificate"]["verdict"], "good");
    // The certificate itself is in the audit line, re-verifiable offline.
    let text = last["push_certificate"]["certificate"]
        .as_str()
        .expect("certificate text");
    assert!(text.starts_with("certificate version 0.1\n"), "{text}");
    assert!(text.contains("\npusher "), "{text}");
    assert!(text.contains(" refs/heads/main\n"), "{text}");
    assert!(text.contains("-----BEGIN SSH SIGNATURE-----"), "{text}");
    // The same certificate replayed with a bad nonce (as git would report it) is refused.
    let cert = last["push_certificate"]["id"]
        .as_str()
        .expect("cert id")
        .to_string();
    let hook = format!(
        "printf '%s %s refs/heads/other\\n' {zero} $(git --git-dir={b} rev-parse main) | GIT_DIR={b} GIT_PUSH_CERT={cert} GIT_PUSH_CERT_NONCE_STATUS=BAD {bin} hook pre-receive",
        zero = "0".repeat(40),
        b = bare.display(),
        bin = BIN
    );
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(hook)
        .envs(w.env())
        .output()
        .expect("hook");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("nonce is BAD"), "{err}");
}

#[test]
fn a_merged_tag_signed_by_a_known_identity_passes() {
    let (_w, _bare, c, d) = world(ATTESTED);
    c.git(&["checkout", "-q", "-b", "side"]);
    c.commit("side.txt", "alice@example.org", Sign::Ssh("alice"));
    c.git_signed(
        "alice",
        "alice@example.org",
        &["tag", "-s", "-m", "for merging", "feature-2"],
    );
    c.git(&["checkout", "-q", "main"]);
    c.commit("main.txt", "alice@example.org", Sign::Ssh("alice"));
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
            "feature-2",
        ],
    );
    let p = c.push(&["origin", "main"]);
    assert!(p.ok, "{}\n{}", p.text, d.log_text());
}
