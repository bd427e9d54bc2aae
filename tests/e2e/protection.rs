use crate::harness::*;

fn world() -> (World, std::path::PathBuf, Client, Daemon) {
    standard_world()
}

#[test]
fn force_push_is_rejected() {
    let (_w, bare, c, _d) = world();
    c.commit("a.txt", "alice@example.org", Sign::Ssh("alice"));
    assert!(c.push(&["origin", "main"]).ok);
    let before = rev(&bare, "main");
    c.git(&["reset", "-q", "--hard", "HEAD~1"]);
    c.commit("b.txt", "alice@example.org", Sign::Ssh("alice"));
    let p = c.push(&["--force", "origin", "main"]);
    assert!(!p.ok);
    assert!(
        p.flat()
            .contains("x non_fast_forward (ruleset protect-main)"),
        "{}",
        p.text
    );
    assert!(p.flat().contains("is not an ancestor of"), "{}", p.text);
    assert_eq!(rev(&bare, "main"), before);
}

#[test]
fn deleting_the_default_branch_is_rejected() {
    let (_w, bare, c, _d) = world();
    let p = c.push(&["origin", ":main"]);
    assert!(!p.ok);
    assert!(
        p.flat().contains("x deletion (ruleset protect-main)"),
        "{}",
        p.text
    );
    assert!(rev(&bare, "main").is_some());
}

#[test]
fn merge_commit_under_linear_history_is_rejected() {
    let (_w, _bare, c, _d) = world();
    c.git(&["checkout", "-q", "-b", "side"]);
    c.commit("side.txt", "alice@example.org", Sign::Ssh("alice"));
    c.git(&["checkout", "-q", "main"]);
    c.commit("main.txt", "alice@example.org", Sign::Ssh("alice"));
    c.git(&[
        "-c",
        "gpg.format=ssh",
        "-c",
        &format!("user.signingkey={}", _w.key("alice").display()),
        "-c",
        "user.email=alice@example.org",
        "merge",
        "-q",
        "--no-ff",
        "-S",
        "-m",
        "Merge side",
        "side",
    ]);
    let p = c.push(&["origin", "main"]);
    assert!(!p.ok);
    assert!(
        p.flat()
            .contains("x required_linear_history (ruleset protect-main)"),
        "{}",
        p.text
    );
    assert!(p.flat().contains("\"Merge side\""), "{}", p.text);
    assert!(p.flat().contains("merge commit (2 parents)"), "{}", p.text);
}

#[test]
fn commit_parked_on_a_feature_branch_is_checked_when_main_moves_onto_it() {
    let (_w, bare, c, _d) = world();
    c.git(&["checkout", "-q", "-b", "feature"]);
    let parked = c.commit("f.txt", "alice@example.org", Sign::Unsigned);
    // Feature branches are not protected: the unsigned commit lands there.
    let p = c.push(&["origin", "feature"]);
    assert!(p.ok, "{}", p.text);
    assert!(has_object(&bare, &parked));
    // Fast-forwarding main onto it brings an unsigned commit into main: rejected.
    let p = c.push(&["origin", "feature:main"]);
    assert!(!p.ok);
    assert!(p.flat().contains(&parked[..10]), "{}", p.text);
    assert!(p.flat().contains("commit is not signed"), "{}", p.text);
}

#[test]
fn creating_a_protected_branch_checks_commits_not_yet_on_protected_refs() {
    let (_w, _bare, c, _d) = world();
    c.git(&["checkout", "-q", "-b", "topic"]);
    let parked = c.commit("t.txt", "alice@example.org", Sign::Unsigned);
    assert!(c.push(&["origin", "topic"]).ok);
    // release/1 is new; main's history is already vetted, topic's is not.
    let p = c.push(&["origin", "topic:refs/heads/release/1"]);
    assert!(!p.ok);
    assert!(p.flat().contains(&parked[..10]), "{}", p.text);
    assert!(
        p.flat().contains("1 policy violation"),
        "only the parked commit: {}",
        p.text
    );
    // A release branch at main's vetted tip is fine.
    let p = c.push(&["origin", "origin/main:refs/heads/release/2"]);
    assert!(p.ok, "{}", p.text);
}

#[test]
fn only_listed_identities_may_update_protected_branches() {
    let w = World::new();
    let (bare, c) = w.seed("app", "sha1");
    let rulesets = STANDARD_RULESETS.replace(
        "allow: [role:maintainer, bob, carol]",
        "allow: [role:maintainer]",
    );
    let policy = w.policy("", &rulesets);
    let _d = Daemon::start(&w, Some(&policy), &[&bare]);
    c.commit("a.txt", "bob@example.org", Sign::Ssh("bob"));
    let p = c.push_as(Some("bob"), &["origin", "main"]);
    assert!(!p.ok);
    assert!(
        p.flat().contains("x update (ruleset protect-main)"),
        "{}",
        p.text
    );
    assert!(
        p.flat()
            .contains("bob may not push to this branch: only role:maintainer may update it"),
        "{}",
        p.text
    );
    let p = c.push_as(None, &["origin", "main"]);
    assert!(!p.ok, "an unidentified pusher is on no allow list");
    let p = c.push_as(Some("alice"), &["origin", "main"]);
    assert!(
        p.ok,
        "a maintainer may push bob's signed commit: {}",
        p.text
    );
}

#[test]
fn bypass_actors_pass_and_are_audited() {
    let (_w, _bare, c, d) = world();
    c.git(&["reset", "-q", "--hard", "HEAD"]);
    c.commit("a.txt", "root@example.org", Sign::Unsigned);
    let p = c.push_as(Some("root"), &["origin", "main"]);
    assert!(p.ok, "{}", p.text);
    assert!(p.flat().contains("bypassed by root"), "{}", p.text);
    let last = d.audit().pop().expect("logged");
    assert_eq!(last["verdict"], "allowed");
    let codes: Vec<&str> = last["bypasses"]
        .as_array()
        .expect("bypasses listed")
        .iter()
        .filter_map(|b| b["code"].as_str())
        .collect();
    assert_eq!(
        codes,
        ["ref_updated", "no_signature"],
        "root is neither on the update allow list nor signing"
    );
}

#[test]
fn default_policy_protects_main_without_a_policy_file() {
    let w = World::new();
    let (bare, c) = w.seed("plain", "sha1");
    let _d = Daemon::start(&w, None, &[&bare]);
    c.commit("a.txt", "x@example.org", Sign::Unsigned);
    assert!(
        c.push(&["origin", "main"]).ok,
        "the default policy does not require signatures"
    );
    c.git(&["reset", "-q", "--hard", "HEAD~1"]);
    c.commit("b.txt", "x@example.org", Sign::Unsigned);
    let p = c.push(&["--force", "origin", "main"]);
    assert!(!p.ok);
    assert!(
        p.flat()
            .contains("non_fast_forward (ruleset protect-default-branch)"),
        "{}",
        p.text
    );
    let p = c.push(&["origin", ":main"]);
    assert!(!p.ok);
    // Tags v* are immutable.
    c.git(&["tag", "v1.0", "HEAD~1"]);
    assert!(c.push(&["origin", "v1.0"]).ok);
    c.git(&["tag", "-f", "v1.0", "HEAD"]);
    let p = c.push(&["--force", "origin", "v1.0"]);
    assert!(!p.ok);
    assert!(p.flat().contains("tags are immutable here"), "{}", p.text);
}
