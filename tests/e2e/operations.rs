use crate::harness::*;
use std::time::{Duration, Instant};

#[test]
fn daemon_killed_means_pushes_are_rejected() {
    let w = World::new();
    let (bare, c) = w.seed("app", "sha1");
    let policy = w.policy("", STANDARD_RULESETS);
    let mut d = Daemon::start(&w, Some(&policy), &[&bare]);
    let before = rev(&bare, "main");
    d.crash();
    // Even a push the policy would accept is refused: no verdict, no entry.
    c.commit("a.txt", "alice@example.org", Sign::Ssh("alice"));
    let p = c.push(&["origin", "main"]);
    assert!(!p.ok);
    assert!(
        p.flat()
            .contains("pushguard: push rejected: the policy daemon is not reachable"),
        "{}",
        p.text
    );
    assert!(
        p.flat().contains("please contact your git administrator"),
        "{}",
        p.text
    );
    assert_eq!(rev(&bare, "main"), before);
}

#[test]
fn fail_open_repositories_pass_with_a_warning_and_a_log_line() {
    let w = World::new();
    let (bare, c) = w.seed("legacy", "sha1");
    let policy = w.policy(
        "repositories:\n  - {path: \"legacy.git\", on_error: fail_open}\n",
        STANDARD_RULESETS,
    );
    let mut d = Daemon::start(&w, Some(&policy), &[&bare]);
    assert_eq!(
        c.git(&[
            "--git-dir",
            &bare.display().to_string(),
            "config",
            "pushguard.onError"
        ]),
        "fail_open"
    );
    d.crash();
    let id = c.commit("a.txt", "alice@example.org", Sign::Unsigned);
    let p = c.push(&["origin", "main"]);
    assert!(p.ok, "{}", p.text);
    assert!(
        p.flat()
            .contains("WARNING: push accepted without a policy check"),
        "{}",
        p.text
    );
    assert_eq!(rev(&bare, "main").as_deref(), Some(id.as_str()));
    let audit = d.audit();
    let last = audit.last().expect("fail-open event logged");
    assert_eq!(last["event"], "fail_open");
}

#[test]
fn twenty_concurrent_pushes_are_each_judged() {
    let w = World::new();
    let (bare, seed) = w.seed("busy", "sha1");
    let rulesets = format!(
        "{STANDARD_RULESETS}  - name: guarded\n    target: branch\n    include: [\"guarded/*\"]\n    rules:\n      required_signatures: {{}}\n"
    );
    let policy = w.policy("", &rulesets);
    let d = Daemon::start(&w, Some(&policy), &[&bare]);
    drop(seed);
    let clients: Vec<(usize, Client)> = (0..20)
        .map(|i| (i, w.clone_of(&bare, &format!("c{i}"))))
        .collect();
    for (i, c) in &clients {
        let sign = if i % 2 == 0 {
            Sign::Ssh("alice")
        } else {
            Sign::Unsigned
        };
        c.commit(&format!("f{i}.txt"), "alice@example.org", sign);
    }
    let results: Vec<(usize, Pushed)> = std::thread::scope(|s| {
        let handles: Vec<_> = clients
            .iter()
            .map(|(i, c)| {
                s.spawn(move || {
                    (
                        *i,
                        c.push(&["origin", &format!("HEAD:refs/heads/guarded/{i}")]),
                    )
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("push thread"))
            .collect()
    });
    for (i, p) in results {
        let should_pass = i % 2 == 0;
        assert_eq!(p.ok, should_pass, "push {i}: {}\n{}", p.text, d.log_text());
        assert_eq!(
            rev(&bare, &format!("refs/heads/guarded/{i}")).is_some(),
            should_pass
        );
    }
    assert_eq!(d.audit().len(), 20);
}

#[test]
fn per_ref_mode_rejects_only_the_violating_ref() {
    let w = World::new();
    let (bare, c) = w.seed("perref", "sha1");
    let policy = w.policy("", STANDARD_RULESETS);
    let _d = Daemon::start(&w, Some(&policy), &[&bare]);
    install_per_ref(&w, &bare);
    c.git(&["checkout", "-q", "-b", "topic"]);
    let topic = c.commit("t.txt", "alice@example.org", Sign::Unsigned);
    c.git(&["checkout", "-q", "main"]);
    c.git(&["merge", "-q", "--ff-only", "topic"]);
    // Non-atomic push of two refs: topic is unprotected, main requires signatures.
    let p = c.push(&["origin", "main", "topic"]);
    assert!(!p.ok);
    assert!(
        p.flat().contains("update hook declined") || p.flat().contains("hook declined"),
        "{}",
        p.text
    );
    assert_eq!(
        rev(&bare, "refs/heads/topic").as_deref(),
        Some(topic.as_str()),
        "{}",
        p.text
    );
    assert_ne!(rev(&bare, "main").as_deref(), Some(topic.as_str()));
}

#[test]
fn repositories_created_later_get_hooks() {
    let w = World::new();
    let (bare, _c) = w.seed("first", "sha1");
    let _d = Daemon::start(&w, None, &[&bare]);
    let later = w.path().join("repos/team/later.git");
    init_bare(&later);
    let start = Instant::now();
    while !hooks::install::is_installed(&later) {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "hooks never installed into the new repo"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A repository whose hook is not pushguard's (and will not be replaced) is warned about once,
/// not at every scan of the repositories (each of which cost a few `git` processes); a change to
/// its hooks is looked at again, and taken once the foreign hook is gone.
#[test]
fn a_foreign_hook_is_warned_about_once_and_retried_when_it_changes() {
    let w = World::new();
    let (bare, _c) = w.seed("first", "sha1");
    let d = Daemon::start(&w, None, &[&bare]);
    let other = w.path().join("repos/other.git");
    init_bare(&other);
    let hook = other.join("hooks/pre-receive");
    std::fs::write(&hook, "#!/bin/sh\nexit 0\n").expect("write");
    std::fs::set_permissions(&hook, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    let warned = |d: &Daemon| {
        d.log_text()
            .matches("other.git/hooks/pre-receive: a pre-receive hook that is not pushguard's")
            .count()
    };
    let start = Instant::now();
    while warned(&d) == 0 {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{}",
            d.log_text()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // Ten scans later (--scan-interval 0.2): still the one warning.
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(warned(&d), 1, "{}", d.log_text());
    // The foreign hook goes: the next scan installs pushguard's.
    std::fs::remove_file(&hook).expect("rm");
    let start = Instant::now();
    while !hooks::install::is_installed(&other) {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{}",
            d.log_text()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn policy_reload_keeps_the_old_policy_when_the_new_one_is_invalid() {
    let w = World::new();
    let (bare, c) = w.seed("reload", "sha1");
    let policy = w.policy("", STANDARD_RULESETS);
    let d = Daemon::start(&w, Some(&policy), &[&bare]);
    std::fs::write(&policy, "version: 1\nrulesets: [oops\n").expect("write");
    d.signal("HUP");
    let start = Instant::now();
    while !d.log_text().contains("the new policy is invalid") {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "no reload error logged:\n{}",
            d.log_text()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        d.log_text().contains("policy.yaml:"),
        "the error names the file: {}",
        d.log_text()
    );
    c.commit("a.txt", "alice@example.org", Sign::Unsigned);
    let p = c.push(&["origin", "main"]);
    assert!(
        !p.ok,
        "the old policy (signatures required) still applies: {}",
        p.text
    );
    // A valid new policy takes effect without a restart.
    std::fs::write(
        &policy,
        "version: 1\nrulesets:\n  - {name: only-deletion, target: branch, include: [main], rules: {deletion: {}}}\n",
    )
    .expect("write");
    d.signal("HUP");
    let start = Instant::now();
    loop {
        let p = c.push(&["origin", "main"]);
        if p.ok {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "new policy never applied: {}",
            p.text
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn sigterm_stops_the_daemon_and_removes_the_socket() {
    let w = World::new();
    let (bare, _c) = w.seed("stop", "sha1");
    let mut d = Daemon::start(&w, None, &[&bare]);
    d.signal("TERM");
    let mut child = d.child.take().expect("running");
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "daemon did not stop"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success());
    assert!(!d.socket.exists());
    assert!(d.log_text().contains("pushguard daemon stopped"));
}

#[test]
fn hostile_requests_get_an_error_and_the_daemon_keeps_serving() {
    use std::io::{Read, Write};
    let w = World::new();
    let (bare, c) = w.seed("hostile", "sha1");
    let policy = w.policy("", STANDARD_RULESETS);
    let d = Daemon::start(&w, Some(&policy), &[&bare]);
    let answer = |payload: &[u8]| -> String {
        let mut s = std::os::unix::net::UnixStream::connect(&d.socket).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        s.write_all(payload).expect("send");
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    };
    let mut garbage = 9u32.to_be_bytes().to_vec();
    garbage.extend_from_slice(b"not json!");
    assert!(answer(&garbage).contains("malformed request"));
    // A frame claiming to be huge is refused without reading it.
    assert!(answer(&u32::MAX.to_be_bytes()).contains("too large"));
    // A well-formed request naming a repository that does not exist: an error, not a verdict.
    let body = serde_json::json!({
        "version": 1, "hook": "pre-receive", "git_dir": "/nonexistent/repo.git",
        "updates": [{"old": "0".repeat(40), "new": "1".repeat(40), "ref": "refs/heads/main"}],
        "env": {}
    })
    .to_string();
    let mut frame = (body.len() as u32).to_be_bytes().to_vec();
    frame.extend_from_slice(body.as_bytes());
    let a = answer(&frame);
    assert!(
        a.contains("\"allowed\":false") && a.contains("not a repository this daemon guards"),
        "{a}"
    );
    // A protocol version from the future.
    let body = body.replace("\"version\":1", "\"version\":99");
    let mut frame = (body.len() as u32).to_be_bytes().to_vec();
    frame.extend_from_slice(body.as_bytes());
    assert!(answer(&frame).contains("protocol 99"));
    // Still serving.
    c.commit("a.txt", "alice@example.org", Sign::Ssh("alice"));
    let p = c.push(&["origin", "main"]);
    assert!(p.ok, "{}", p.text);
    // Each refusal is audited as such; the one push as a decision.
    let audit = d.audit();
    let count = |event: &str| audit.iter().filter(|e| e["event"] == event).count();
    assert_eq!(count("refused"), 4, "{audit:?}");
    assert_eq!(count("decision"), 1, "{audit:?}");
}

#[test]
fn a_pushed_object_the_daemon_cannot_read_fails_closed() {
    // A ref update naming an object that is in neither the quarantine nor the repository.
    let w = World::new();
    let (bare, _c) = w.seed("missing", "sha1");
    let _d = Daemon::start(&w, None, &[&bare]);
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "printf '%s %s refs/heads/x\\n' {} {} | GIT_DIR={} {} hook pre-receive",
            "0".repeat(40),
            "ab".repeat(20),
            bare.display(),
            BIN
        ))
        .output()
        .expect("run hook");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("the policy daemon could not decide"), "{err}");
    assert!(err.contains("is missing"), "{err}");
}

#[test]
fn sigterm_lets_requests_in_flight_finish() {
    use std::io::{Read, Write};
    let w = World::new();
    let (bare, c) = w.seed("drain", "sha1");
    let mut d = Daemon::start(&w, None, &[&bare]);
    let head = c.git(&["rev-parse", "HEAD"]);
    let body = serde_json::json!({
        "version": 1, "hook": "pre-receive", "git_dir": bare.display().to_string(),
        "updates": [{"old": "0".repeat(40), "new": head, "ref": "refs/heads/topic"}],
        "env": {}
    })
    .to_string();
    let mut s = std::os::unix::net::UnixStream::connect(&d.socket).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    s.write_all(&(body.len() as u32).to_be_bytes())
        .expect("send length");
    s.write_all(&body.as_bytes()[..10]).expect("send part");
    std::thread::sleep(Duration::from_millis(100));
    d.signal("TERM");
    std::thread::sleep(Duration::from_millis(300));
    let mut child = d.child.take().expect("running");
    assert!(
        child.try_wait().expect("wait").is_none(),
        "the daemon waits for the request in flight"
    );
    s.write_all(&body.as_bytes()[10..]).expect("send rest");
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out);
    assert!(
        text.contains("\"allowed\":true"),
        "answered after SIGTERM: {text}"
    );
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            assert!(status.success());
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "daemon did not stop after draining"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // New connections are refused once it stopped accepting.
    assert!(std::os::unix::net::UnixStream::connect(&d.socket).is_err());
}

/// A policy that names the pusher by a variable the hook does not forward on its own (here
/// `DEPLOY_USER`, set by the server for each key) got every push as "unidentified": the daemon
/// now writes such variables into each repository's `pushguard.forwardEnv` as it installs.
#[test]
fn the_policys_own_pusher_variable_reaches_the_daemon() {
    let w = World::new();
    let (bare, c) = w.seed("app", "sha1");
    let policy = w.policy("", STANDARD_RULESETS);
    let text = std::fs::read_to_string(&policy).expect("policy");
    std::fs::write(
        &policy,
        text.replace(
            "env: [PUSHGUARD_USER]",
            "env: [DEPLOY_USER, PUSHGUARD_USER]",
        ),
    )
    .expect("write");
    let d = Daemon::start(&w, Some(&policy), &[&bare]);
    assert_eq!(
        git_in(&bare, &["config", "--get-all", "pushguard.forwardEnv"]),
        "DEPLOY_USER"
    );
    c.commit("a.txt", "alice@example.org", Sign::Ssh("alice"));
    // alice by the policy's first variable: allowed (bob and carol or maintainers may update).
    let p = c.push_env(&[("DEPLOY_USER", "alice")], &["origin", "main"]);
    assert!(p.ok, "{}\n{}", p.text, d.log_text());
    assert_eq!(d.audit().pop().expect("audited")["pusher"], "alice");
}
