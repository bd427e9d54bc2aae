//! `pushguard doctor` on real installations: healthy, and each way an installation breaks that
//! an admin would otherwise find only when pushes go unjudged or are all rejected.

use crate::harness::*;
use std::os::unix::fs::PermissionsExt;

fn world() -> (
    World,
    std::path::PathBuf,
    Client,
    Daemon,
    std::path::PathBuf,
) {
    let w = World::new();
    let (bare, c) = w.seed("app", "sha1");
    let policy = w.policy("", STANDARD_RULESETS);
    let d = Daemon::start(&w, Some(&policy), &[&bare]);
    (w, bare, c, d, policy)
}

/// The line of a failed check.
fn failure(text: &str, what: &str) -> bool {
    text.lines()
        .any(|l| l.starts_with("FAIL") && l.contains(what))
}

#[test]
fn a_healthy_installation_passes_and_a_probe_is_not_audited() {
    let (w, bare, c, d, policy) = world();
    c.commit("a.txt", "alice@example.org", Sign::Ssh("alice"));
    assert!(c.push(&["origin", "main"]).ok);
    let audited = d.audit().len();
    let (code, text) = doctor(&w, &d, &policy);
    assert_eq!(code, 0, "{text}");
    for line in [
        "ok   git: git version",
        "ok   policy:",
        "ok   state directory:",
        "ok   audit.jsonl: readable by its owner only",
        "ok   fingerprint.key: readable by its owner only",
        "ok   daemon: answering on socket",
    ] {
        assert!(text.contains(line), "{line}\n{text}");
    }
    assert!(
        text.contains(&format!(
            "ok   {}: pre-receive hook installed (atomic mode, fail_closed)",
            bare.display()
        )),
        "{text}"
    );
    assert!(text.contains("0 failed"), "{text}");
    // Its connection to the daemon is a probe, not a refused request in the audit log.
    assert_eq!(d.audit().len(), audited, "{}", d.log_text());
}

#[test]
fn a_stopped_or_crashed_daemon_is_found() {
    let (w, _bare, _c, mut d, policy) = world();
    d.crash();
    let (code, text) = doctor(&w, &d, &policy);
    assert_eq!(code, 1, "{text}");
    assert!(
        failure(&text, "stale socket, the daemon is not running"),
        "{text}"
    );
    std::fs::remove_file(&d.socket).expect("remove socket");
    let (code, text) = doctor(&w, &d, &policy);
    assert_eq!(code, 1, "{text}");
    assert!(failure(&text, "no socket at"), "{text}");
    assert!(text.contains("fix: start it: pushguard serve"), "{text}");
}

/// A hook git cannot run lets pushes through unjudged: found, and the unjudged push shown.
#[test]
fn a_hook_that_is_not_executable_is_found() {
    let (w, bare, c, d, policy) = world();
    let hook = bare.join("hooks/pre-receive");
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    // What it costs: an unsigned commit lands on the protected branch.
    c.commit("a.txt", "alice@example.org", Sign::Unsigned);
    assert!(c.push(&["origin", "main"]).ok);
    let (code, text) = doctor(&w, &d, &policy);
    assert_eq!(code, 1, "{text}");
    assert!(failure(&text, "is not executable"), "{text}");
    assert!(
        text.contains(&format!("fix: chmod 755 {}", hook.display())),
        "{text}"
    );
}

#[test]
fn a_hooks_path_elsewhere_and_a_wrong_socket_are_found() {
    let (w, bare, _c, d, policy) = world();
    git_in(&bare, &["config", "core.hooksPath", "/nonexistent/hooks"]);
    let (code, text) = doctor(&w, &d, &policy);
    assert_eq!(code, 1, "{text}");
    assert!(
        failure(&text, "core.hooksPath is /nonexistent/hooks"),
        "{text}"
    );
    git_in(&bare, &["config", "--unset", "core.hooksPath"]);
    git_in(
        &bare,
        &["config", "pushguard.socket", "/tmp/elsewhere.sock"],
    );
    let (code, text) = doctor(&w, &d, &policy);
    assert_eq!(code, 1, "{text}");
    assert!(
        failure(&text, "its hook asks the daemon at /tmp/elsewhere.sock"),
        "{text}"
    );
}

#[test]
fn a_private_file_others_may_read_and_a_broken_policy_are_found() {
    let (w, _bare, c, d, policy) = world();
    c.commit("a.txt", "alice@example.org", Sign::Ssh("alice"));
    assert!(c.push(&["origin", "main"]).ok);
    let audit = d.state.join("audit.jsonl");
    std::fs::set_permissions(&audit, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let (code, text) = doctor(&w, &d, &policy);
    assert_eq!(code, 1, "{text}");
    assert!(failure(&text, "audit.jsonl: "), "{text}");
    assert!(
        text.contains(&format!("fix: chmod 600 {}", audit.display())),
        "{text}"
    );
    std::fs::set_permissions(&audit, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let broken = w.path().join("broken.yaml");
    std::fs::write(&broken, "version: 1\nrulesets:\n  - name: x\n    target: branch\n    rules:\n      no_such_rule: {}\n").expect("write");
    let (code, text) = doctor(&w, &d, &broken);
    assert_eq!(code, 1, "{text}");
    assert!(
        failure(&text, &format!("policy: {}:6:", broken.display())),
        "{text}"
    );
}
