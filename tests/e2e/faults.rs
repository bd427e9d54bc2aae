//! Faults around the daemon: killed or stopped mid-request, its socket removed, its state
//! directory unable to take the audit line, its policy file deleted, clients that hang up
//! half-way. Every one ends in a rejected push or a daemon that keeps serving, never in a push
//! accepted without a verdict and its record.

use crate::harness::*;
use std::io::{Read, Write};
use std::time::{Duration, Instant};

/// A repository set to fail open, its client and daemon: the faults below must reject even
/// there, because the daemon was reached.
fn fail_open_world() -> (World, std::path::PathBuf, Client, Daemon) {
    let w = World::new();
    let (bare, c) = w.seed("legacy", "sha1");
    let policy = w.policy(
        "settings: {timeout_seconds: 1}\nrepositories:\n  - {path: \"legacy.git\", on_error: fail_open}\n",
        STANDARD_RULESETS,
    );
    let d = Daemon::start(&w, Some(&policy), &[&bare]);
    (w, bare, c, d)
}

/// Stopped (SIGSTOP) past the deadline: the hook gives up and rejects, though the repository
/// fails open (the daemon was reached; a stopped daemon may be one the push overloaded).
#[test]
fn daemon_stopped_past_the_deadline_rejects() {
    let (_w, bare, c, d) = fail_open_world();
    let before = rev(&bare, "main");
    d.signal("STOP");
    c.commit("a.txt", "alice@example.org", Sign::Ssh("alice"));
    let started = Instant::now();
    let p = c.push(&["origin", "main"]);
    d.signal("CONT");
    assert!(!p.ok, "{}", p.text);
    assert!(
        p.flat()
            .contains("no verdict from the policy daemon within"),
        "{}",
        p.text
    );
    assert!(
        !p.flat().contains("accepted without a policy check"),
        "{}",
        p.text
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(rev(&bare, "main"), before);
}

/// Killed while a request waits for its answer: rejected, not failed open.
#[test]
fn daemon_killed_mid_request_rejects() {
    let (_w, bare, c, mut d) = fail_open_world();
    let before = rev(&bare, "main");
    d.signal("STOP");
    c.commit("a.txt", "alice@example.org", Sign::Ssh("alice"));
    let pushed = std::thread::scope(|s| {
        let push = s.spawn(|| c.push(&["origin", "main"]));
        // The hook connects (the kernel queues it) and waits; then the daemon dies.
        std::thread::sleep(Duration::from_millis(300));
        d.crash();
        push.join().expect("push thread")
    });
    assert!(!pushed.ok, "{}", pushed.text);
    assert!(
        !pushed.flat().contains("accepted without a policy check"),
        "{}",
        pushed.text
    );
    assert_eq!(rev(&bare, "main"), before);
}

/// The socket file removed (a tmp cleaner) or replaced by a stray file: the daemon notices
/// within its scan interval and listens again at its path (pushes in between find no daemon
/// and fail closed, as `daemon_killed_means_pushes_are_rejected` shows).
#[test]
fn daemon_listens_again_when_its_socket_is_removed_or_replaced() {
    let (_w, _bare, c, d) = standard_world();
    for replacement in [None, Some("not a socket\n")] {
        std::fs::remove_file(&d.socket).expect("remove the socket");
        if let Some(text) = replacement {
            std::fs::write(&d.socket, text).expect("replace the socket");
        }
        let started = Instant::now();
        loop {
            let back = std::os::unix::net::UnixStream::connect(&d.socket).is_ok();
            if back {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "the daemon did not listen again:\n{}",
                d.log_text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        c.commit("a.txt", "alice@example.org", Sign::Ssh("alice"));
        let p = c.push(&["origin", "main"]);
        assert!(p.ok, "{}\n{}", p.text, d.log_text());
    }
    assert!(
        d.log_text().contains("socket was removed or replaced"),
        "{}",
        d.log_text()
    );
}

/// The audit line cannot be written (disk full): the push is rejected, not accepted without a
/// record.
#[test]
fn a_full_disk_under_the_audit_log_rejects_the_push() {
    let w = World::new();
    let (bare, c) = w.seed("app", "sha1");
    let policy = w.policy("", STANDARD_RULESETS);
    let state = w.path().join("state");
    std::fs::create_dir_all(&state).expect("mkdir");
    // Every write to /dev/full fails with ENOSPC, as on a full file system.
    std::os::unix::fs::symlink("/dev/full", state.join("audit.jsonl")).expect("symlink");
    let d = Daemon::start(&w, Some(&policy), &[&bare]);
    let before = rev(&bare, "main");
    c.commit("a.txt", "alice@example.org", Sign::Ssh("alice"));
    let p = c.push(&["origin", "main"]);
    assert!(!p.ok, "{}\n{}", p.text, d.log_text());
    assert!(
        p.flat().contains("the audit log cannot be written"),
        "{}",
        p.text
    );
    assert_eq!(rev(&bare, "main"), before);
}

/// The policy file deleted, then corrupted, while the daemon runs: it keeps judging with the
/// policy it has, and says why in its log.
#[test]
fn policy_deleted_or_corrupted_at_runtime_keeps_the_last_good_one() {
    let (w, _bare, c, d) = standard_world();
    let policy = w.path().join("policy.yaml");
    let good = std::fs::read_to_string(&policy).expect("policy");
    std::fs::remove_file(&policy).expect("delete");
    std::thread::sleep(Duration::from_millis(600));
    c.commit("a.txt", "alice@example.org", Sign::Unsigned);
    let p = c.push(&["origin", "main"]);
    assert!(!p.ok, "still judged by the old policy: {}", p.text);
    assert!(p.flat().contains("commit is not signed"), "{}", p.text);
    std::fs::write(&policy, format!("{good}\n  - this is: [not valid")).expect("corrupt");
    std::thread::sleep(Duration::from_millis(600));
    let p = c.push(&["origin", "main"]);
    assert!(!p.ok, "{}", p.text);
    assert!(p.flat().contains("commit is not signed"), "{}", p.text);
    assert!(
        d.log_text().contains("keeping the old one"),
        "{}",
        d.log_text()
    );
}

/// Clients that stop half-way: one that half-closes after its request still gets an answer;
/// one that sends half a frame and leaves, or connects and says nothing, costs nothing lasting.
#[test]
fn half_closed_and_silent_clients_do_not_stop_the_daemon() {
    let (_w, bare, c, d) = standard_world();
    let head = c.git(&["rev-parse", "HEAD"]);
    let body = serde_json::json!({
        "version": 1, "hook": "pre-receive", "git_dir": bare.display().to_string(),
        "updates": [{"old": "0".repeat(40), "new": head, "ref": "refs/heads/topic"}],
        "env": {}
    })
    .to_string();
    let mut frame = (body.len() as u32).to_be_bytes().to_vec();
    frame.extend_from_slice(body.as_bytes());
    // Half-closed after the request: the answer still comes.
    let mut s = std::os::unix::net::UnixStream::connect(&d.socket).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    s.write_all(&frame).expect("send");
    s.shutdown(std::net::Shutdown::Write).expect("half-close");
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    assert!(
        String::from_utf8_lossy(&answer).contains("\"allowed\":true"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    // Half a frame, then gone; and one that never speaks.
    let mut half = std::os::unix::net::UnixStream::connect(&d.socket).expect("connect");
    half.write_all(&frame[..frame.len() / 2]).expect("send");
    drop(half);
    let _silent = std::os::unix::net::UnixStream::connect(&d.socket).expect("connect");
    // Clients that announce the largest frame and send six bytes of it: the daemon's memory
    // grows with what arrives, not with what is announced (found by fuzzing the frame reader:
    // each such client cost 16 MiB before).
    // Virtual size: a zeroed buffer is reserved at once but only resident once written.
    let before = vm_kib(d.pid());
    let announced: Vec<_> = (0..40)
        .map(|_| {
            let mut s = std::os::unix::net::UnixStream::connect(&d.socket).expect("connect");
            s.write_all(&(hooks::wire::MAX_FRAME as u32).to_be_bytes())
                .expect("send");
            s.write_all(b"{\"vers").expect("send");
            s
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    let grown = vm_kib(d.pid()).saturating_sub(before);
    assert!(
        grown < 320 * 1024,
        "40 idle clients that announced 16 MiB each grew the daemon by {grown} KiB"
    );
    drop(announced);
    c.commit("a.txt", "alice@example.org", Sign::Ssh("alice"));
    let p = c.push(&["origin", "main"]);
    assert!(p.ok, "{}\n{}", p.text, d.log_text());
}

/// Virtual memory size of a process, from /proc.
fn vm_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmSize:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmSize")
}
