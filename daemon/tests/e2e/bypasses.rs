//! Ways around the gate that an outside review found (issue 10). Each test performs the attack
//! through real pushes into a real bare repository and shows that it is refused now.

use crate::harness::*;

/// Replace refs: a signed commit S pushed as `refs/replace/<U>` made the daemon read S when
/// judging the unsigned U (update hook, per-ref mode), and the push of U to a signed-only
/// `main` was accepted.
#[test]
fn attack_replace_ref_lends_a_signature_to_an_unsigned_commit() {
    let (w, bare, c, d) = standard_world();
    install_per_ref(&w, &bare);
    let unsigned = c.commit("a.txt", "alice@example.org", Sign::Unsigned);
    c.git(&["reset", "-q", "--hard", "HEAD~1"]);
    let signed = c.commit("b.txt", "alice@example.org", Sign::Ssh("alice"));
    let p = c.push(&["origin", &format!("{signed}:refs/replace/{unsigned}")]);
    assert!(
        p.ok,
        "the replace ref itself is not governed here: {}",
        p.text
    );
    let p = c.push(&["origin", &format!("{unsigned}:refs/heads/main")]);
    assert!(!p.ok, "{}\n{}", p.text, d.log_text());
    assert!(p.flat().contains("commit is not signed"), "{}", p.text);
    assert_ne!(rev(&bare, "main").as_deref(), Some(unsigned.as_str()));
}

/// Replace refs in atomic mode: `clean_merge` recomputed the merge with a pushed
/// `refs/replace/<parent>` standing in for the real parent, so an evil merge looked clean.
#[test]
fn attack_replace_ref_makes_an_evil_merge_look_clean() {
    let w = World::new();
    let (_bare, c) = w.seed("app", "sha1");
    let policy = w.policy("", ATTESTED);
    let d = Daemon::start(&w, Some(&policy), &[&_bare]);
    c.git(&["checkout", "-q", "-b", "side"]);
    let side = c.commit("side.txt", "alice@example.org", Sign::Ssh("alice"));
    c.git(&["checkout", "-q", "main"]);
    c.commit("main.txt", "alice@example.org", Sign::Ssh("alice"));
    c.evil_merge("side");
    // A stand-in for the side commit that carries the hidden file, so that merging it would
    // give exactly the evil merge's tree.
    c.git(&["checkout", "-q", "side"]);
    std::fs::write(c.dir.join("hidden.txt"), "not reviewed anywhere\n").expect("write");
    c.git(&["add", "hidden.txt"]);
    c.git(&["commit", "-q", "--amend", "--no-edit", "--no-gpg-sign"]);
    let stand_in = c.git(&["rev-parse", "HEAD"]);
    c.git(&["checkout", "-q", "main"]);
    let p = c.push(&["origin", &format!("{stand_in}:refs/replace/{side}")]);
    assert!(p.ok, "{}", p.text);
    let p = c.push(&["origin", "main"]);
    assert!(!p.ok, "{}\n{}", p.text, d.log_text());
    assert!(
        p.flat()
            .contains("differs from the clean merge of its parents"),
        "{}",
        p.text
    );
}

/// Replace refs fooled the offline tools the same way: `pushguard verify` reported the
/// replaced unsigned commit as signed, and `scan --git` read the stand-in's files.
#[test]
fn attack_replace_ref_fools_verify_and_scan() {
    let w = World::new();
    let (_bare, c) = w.seed("app", "sha1");
    let policy = w.policy("", STANDARD_RULESETS);
    let signed = c.commit("clean.txt", "alice@example.org", Sign::Ssh("alice"));
    c.git(&["reset", "-q", "--hard", "HEAD~1"]);
    std::fs::write(
        c.dir.join("config.py"),
        format!("token = \"{}\"\n", github_token()),
    )
    .expect("write");
    c.git(&["add", "config.py"]);
    let unsigned = c.commit("b.txt", "alice@example.org", Sign::Unsigned);
    c.git(&["replace", &unsigned, &signed]);
    let repo = c.dir.display().to_string();
    let out = std::process::Command::new(BIN)
        .args([
            "verify",
            "--repo",
            &repo,
            "--no-records",
            "--format",
            "json",
        ])
        .arg("--policy")
        .arg(&policy)
        .envs(w.env())
        .output()
        .expect("verify");
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.contains(&unsigned))
        .unwrap_or_else(|| panic!("no line for {unsigned}: {text}"));
    assert!(line.contains("\"no_signature\""), "{line}");
    assert_eq!(out.status.code(), Some(1), "{text}");
    let out = std::process::Command::new(BIN)
        .args(["scan", "--git", &repo])
        .envs(w.env())
        .output()
        .expect("scan");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("config.py"), "{text}");
    assert_eq!(out.status.code(), Some(1), "{text}");
}
