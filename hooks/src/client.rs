//! The hook's side: gather the request, one socket round trip with a deadline, print the verdict.
//! Any failure to get a verdict rejects the push (unless the repository is set to fail open).

use crate::audit::{AuditLog, AuditRecord, Create};
use crate::env::{forwarded, HookConfig};
use crate::wire::{
    self, FrameError, HookKind, HookRequest, HookResponse, WireUpdate, PROTOCOL_VERSION,
};
use std::io::{self, BufRead, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Default time to wait for a verdict.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Exit code: the push (ref) may proceed.
pub const ALLOW: i32 = 0;
/// Exit code: rejected.
pub const REJECT: i32 = 1;

/// Parse pre-receive stdin: `<old> <new> <ref>` lines.
pub fn parse_updates(input: impl BufRead) -> Result<Vec<WireUpdate>, String> {
    let mut updates = Vec::new();
    for (i, line) in input.lines().enumerate() {
        let line = line.map_err(|e| format!("cannot read the ref updates from git: {e}"))?;
        if line.trim().is_empty() {
            continue;
        }
        let mut parts = line.split(' ');
        match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some(old), Some(new), Some(name), None)
                if is_hex(old) && is_hex(new) && !name.is_empty() =>
            {
                updates.push(WireUpdate {
                    old: old.to_string(),
                    new: new.to_string(),
                    name: name.to_string(),
                })
            }
            _ => {
                return Err(format!(
                    "line {} from git is not \"<old> <new> <ref>\"",
                    i + 1
                ))
            }
        }
    }
    Ok(updates)
}

fn is_hex(s: &str) -> bool {
    (s.len() == 40 || s.len() == 64) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Run a hook: `pre-receive` reads stdin, `update` takes `REF OLD NEW`. Returns the exit code.
/// Everything for the pusher goes to `err` (git shows it as `remote:` lines).
pub fn run(kind: HookKind, args: &[String], stdin: impl BufRead, err: &mut impl Write) -> i32 {
    let git_dir = match std::env::var_os("GIT_DIR") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from("."),
    };
    let git_dir = std::fs::canonicalize(&git_dir).unwrap_or(git_dir);
    let config = match HookConfig::read(&git_dir) {
        Ok(c) => c,
        Err(e) => return fail(&HookConfig::default(), &git_dir, &e, err),
    };
    // In atomic mode the pre-receive hook judges the whole push and the update hook has nothing
    // to add; in per-ref mode it is the other way round. Stepping aside is only safe when the
    // mode's own hook is there to judge: a mode switched without reinstalling would otherwise
    // let every push through unjudged.
    if (kind == HookKind::Update) != config.per_ref {
        if kind == HookKind::PreReceive {
            // Drain stdin so git does not see a broken pipe.
            let _ = stdin.lines().count();
        }
        let judge = if config.per_ref {
            "update"
        } else {
            "pre-receive"
        };
        if crate::install::is_our_hook(&hooks_dir(&git_dir, &config), judge) {
            return ALLOW;
        }
        let _ = writeln!(
            err,
            "pushguard: push rejected: pushguard.mode is {} but no pushguard {judge} hook is installed to judge it.\npushguard: please contact your git administrator (pushguard install fixes it).",
            if config.per_ref { "per-ref" } else { "atomic" }
        );
        return REJECT;
    }
    let updates = match kind {
        HookKind::PreReceive => parse_updates(stdin),
        HookKind::Update => match args {
            [name, old, new] if is_hex(old) && is_hex(new) => Ok(vec![WireUpdate {
                old: old.clone(),
                new: new.clone(),
                name: name.clone(),
            }]),
            _ => Err("the update hook takes REF OLD NEW".to_string()),
        },
    };
    let updates = match updates {
        Ok(u) => u,
        Err(e) => return fail(&config, &git_dir, &e, err),
    };
    if updates.is_empty() {
        return ALLOW;
    }
    let mut env = forwarded(std::env::vars(), &config.forward_env);
    absolutize_object_dirs(
        &mut env,
        &std::env::current_dir().unwrap_or_else(|_| git_dir.clone()),
    );
    let request = HookRequest {
        version: PROTOCOL_VERSION,
        hook: kind,
        git_dir: git_dir.to_string_lossy().into_owned(),
        updates,
        env,
    };
    let timeout = config
        .timeout_ms
        .map(Duration::from_millis)
        .unwrap_or(DEFAULT_TIMEOUT);
    let Some(socket) = config.socket.clone() else {
        return fail(
            &config,
            &git_dir,
            "this repository has no pushguard.socket setting (run pushguard install)",
            err,
        );
    };
    let answer = ask(Path::new(&socket), &request, timeout);
    conclude(&config, &git_dir, answer, err)
}

/// What the hook makes of the daemon's answer, or of the failure to get one; returns the exit
/// code. Only a daemon that could not be reached at all lets a fail-open repository through
/// (with the event in the audit log); an answer that says the daemon could not decide, and any
/// failure after the connection was made, rejects whatever the repository's setting.
pub fn conclude(
    config: &HookConfig,
    git_dir: &Path,
    answer: Result<HookResponse, AskError>,
    err: &mut impl Write,
) -> i32 {
    match answer {
        Ok(resp) if resp.error.is_none() => {
            if !resp.message.is_empty() {
                let _ = err.write_all(resp.message.as_bytes());
                if !resp.message.ends_with('\n') {
                    let _ = err.write_all(b"\n");
                }
            }
            if resp.allowed {
                ALLOW
            } else {
                REJECT
            }
        }
        // The daemon answered but could not decide: something about this push (a malformed
        // object, a limit, the deadline) or the daemon's state. The pusher can cause the former,
        // so it never fails open.
        Ok(resp) => {
            let why = resp.error.unwrap_or_default();
            reject(&format!("the policy daemon could not decide: {why}"), err)
        }
        Err(AskError::Unreachable(e)) => fail(config, git_dir, &e, err),
        Err(AskError::Failed(e)) => reject(&e, err),
    }
}

/// Where git runs this repository's hooks from.
fn hooks_dir(git_dir: &Path, config: &HookConfig) -> PathBuf {
    match &config.hooks_path {
        Some(p) if Path::new(p).is_absolute() => PathBuf::from(p),
        Some(p) => git_dir.join(p),
        None => git_dir.join("hooks"),
    }
}

/// Why no answer came back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AskError {
    /// The daemon could not be reached at all (no socket, nobody listening): the only failure
    /// a repository set to fail open lets through.
    Unreachable(String),
    /// Anything after the connection was made (a request too large, a timeout, a broken or
    /// malformed answer): the push may have caused it, so it always rejects.
    Failed(String),
}

impl std::fmt::Display for AskError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AskError::Unreachable(e) | AskError::Failed(e) => f.write_str(e),
        }
    }
}

/// The daemon runs elsewhere: make git's object directory variables absolute (relative ones
/// are relative to the hook's working directory, the repository).
pub fn absolutize_object_dirs(env: &mut std::collections::BTreeMap<String, String>, cwd: &Path) {
    for key in ["GIT_QUARANTINE_PATH", "GIT_OBJECT_DIRECTORY"] {
        if let Some(v) = env.get_mut(key) {
            if !v.is_empty() && !Path::new(v.as_str()).is_absolute() {
                *v = cwd.join(v.as_str()).to_string_lossy().into_owned();
            }
        }
    }
    if let Some(v) = env.get_mut("GIT_ALTERNATE_OBJECT_DIRECTORIES") {
        let parts: Vec<String> = v
            .split(':')
            .filter(|p| !p.is_empty())
            .map(|p| {
                if Path::new(p).is_absolute() {
                    p.to_string()
                } else {
                    cwd.join(p).to_string_lossy().into_owned()
                }
            })
            .collect();
        *v = parts.join(":");
    }
}

/// One round trip with an overall deadline.
pub fn ask(
    socket: &Path,
    request: &HookRequest,
    timeout: Duration,
) -> Result<HookResponse, AskError> {
    let mut stream = UnixStream::connect(socket).map_err(|e| {
        AskError::Unreachable(format!(
            "the policy daemon is not reachable at {}: {e}",
            socket.display()
        ))
    })?;
    exchange(&mut stream, request, timeout).map_err(AskError::Failed)
}

/// Send the request and read the answer, within `timeout`.
fn exchange(
    stream: &mut UnixStream,
    request: &HookRequest,
    timeout: Duration,
) -> Result<HookResponse, String> {
    let start = Instant::now();
    let left = |what: &str| {
        timeout
            .checked_sub(start.elapsed())
            .filter(|d| !d.is_zero())
            .ok_or_else(|| {
                format!(
                    "no verdict from the policy daemon within {} ms ({what})",
                    timeout.as_millis()
                )
            })
    };
    let body =
        serde_json::to_vec(request).map_err(|e| format!("cannot encode the request: {e}"))?;
    let frame = wire::encode_frame(&body).map_err(|e| match e {
        FrameError::TooLarge { len } => format!(
            "this push is too large to judge: its request is {len} bytes, more than {} (push fewer refs at once)",
            wire::MAX_FRAME
        ),
        e => format!("cannot encode the request: {e}"),
    })?;
    stream
        .set_write_timeout(Some(left("sending")?))
        .map_err(|e| e.to_string())?;
    if let Err(e) = stream.write_all(&frame).and_then(|()| stream.flush()) {
        // The daemon may have answered before reading the request and closed (it refuses a
        // peer uid it was not given that way): its answer says why, a broken pipe does not.
        let answered = left("sending")
            .ok()
            .and_then(|t| stream.set_read_timeout(Some(t)).ok())
            .and_then(|()| read_response(stream, timeout).ok());
        return answered.ok_or_else(|| format!("cannot send the request: {e}"));
    }
    stream
        .set_read_timeout(Some(left("waiting")?))
        .map_err(|e| e.to_string())?;
    read_response(stream, timeout)
}

/// Read and check the daemon's answer (the read timeout is set by the caller).
fn read_response(stream: &mut UnixStream, timeout: Duration) -> Result<HookResponse, String> {
    let answer = wire::read_frame(stream).map_err(|e| match e.io_kind() {
        Some(io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
            format!(
                "no verdict from the policy daemon within {} ms",
                timeout.as_millis()
            )
        }
        _ => format!("no verdict from the policy daemon: {e}"),
    })?;
    let resp: HookResponse = serde_json::from_slice(&answer)
        .map_err(|e| format!("the policy daemon's answer is malformed: {e}"))?;
    if resp.version != PROTOCOL_VERSION {
        return Err(format!(
            "the policy daemon speaks protocol {} and this hook {PROTOCOL_VERSION}: restart or reinstall pushguard",
            resp.version
        ));
    }
    Ok(resp)
}

/// Reject without a verdict.
fn reject(why: &str, err: &mut impl Write) -> i32 {
    let _ = writeln!(
        err,
        "pushguard: push rejected: {why}.\npushguard: no policy verdict could be had, so nothing was accepted; please contact your git administrator."
    );
    REJECT
}

/// No daemon to ask (or no settings to find it): reject (fail closed), or let through with a
/// warning when the repository is set to fail open and the event can be recorded in the audit
/// log.
fn fail(config: &HookConfig, git_dir: &Path, why: &str, err: &mut impl Write) -> i32 {
    if !config.fail_open {
        return reject(why, err);
    }
    // An unrecorded pass would be a silent bypass: fail open only with the audit line written.
    if let Err(e) = record_fail_open(config, git_dir, why) {
        return reject(
            &format!("{why}; the repository is set to fail open, but {e}"),
            err,
        );
    }
    let _ = writeln!(
        err,
        "pushguard: WARNING: push accepted without a policy check ({why}).\npushguard: this repository is set to fail open; the event is logged."
    );
    ALLOW
}

/// Append the fail-open event to the audit log (`pushguard.auditLog`), the daemon's log, with
/// the daemon's record type and writer. The log must exist (the daemon made it): a hook does not
/// make one its daemon could then not open.
fn record_fail_open(config: &HookConfig, git_dir: &Path, why: &str) -> Result<(), String> {
    let log = config
        .audit_log
        .as_deref()
        .ok_or("no audit log is set (pushguard.auditLog) to record the event")?;
    AuditLog::open(Path::new(log), Create::No)
        .and_then(|log| log.append(&AuditRecord::fail_open(git_dir.to_string_lossy(), why)))
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_pre_receive_lines() {
        let z = "0".repeat(40);
        let a = "a".repeat(40);
        let input = format!("{z} {a} refs/heads/main\n{a} {z} refs/tags/v1\n");
        let u = parse_updates(input.as_bytes()).expect("valid lines");
        assert_eq!(u.len(), 2);
        assert_eq!(u[1].name, "refs/tags/v1");
        assert!(parse_updates("nonsense\n".as_bytes()).is_err());
        assert!(parse_updates(format!("{z} {a}\n").as_bytes()).is_err());
    }

    #[test]
    fn relative_object_directories_become_absolute() {
        let mut env = std::collections::BTreeMap::new();
        env.insert(
            "GIT_OBJECT_DIRECTORY".to_string(),
            "./objects/incoming".to_string(),
        );
        env.insert(
            "GIT_ALTERNATE_OBJECT_DIRECTORIES".to_string(),
            "/abs:objects".to_string(),
        );
        absolutize_object_dirs(&mut env, Path::new("/srv/git/a.git"));
        assert_eq!(
            env["GIT_OBJECT_DIRECTORY"],
            "/srv/git/a.git/./objects/incoming"
        );
        assert_eq!(
            env["GIT_ALTERNATE_OBJECT_DIRECTORIES"],
            "/abs:/srv/git/a.git/objects"
        );
    }

    fn request() -> HookRequest {
        HookRequest {
            version: PROTOCOL_VERSION,
            hook: HookKind::PreReceive,
            git_dir: "/x".into(),
            updates: vec![],
            env: Default::default(),
        }
    }

    /// A one-shot server that reads the request and answers with `answer` (or nothing).
    fn fake_daemon(answer: Option<Vec<u8>>) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("d.sock");
        let listener = std::os::unix::net::UnixListener::bind(&path).expect("bind");
        std::thread::spawn(move || {
            if let Ok((mut s, _)) = listener.accept() {
                let _ = wire::read_frame(&mut s);
                match answer {
                    Some(a) => {
                        let _ = s.write_all(&a);
                    }
                    None => std::thread::sleep(Duration::from_secs(5)),
                }
            }
        });
        (dir, path)
    }

    /// Issue 16 (found with fcgiwrap running the hooks as www-data): a daemon that refuses the
    /// peer answers and closes without reading the request. A request larger than the socket
    /// buffer then failed with "Broken pipe", and the daemon's reason was lost.
    #[test]
    fn an_answer_sent_before_the_request_was_read_is_shown() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("d.sock");
        let listener = std::os::unix::net::UnixListener::bind(&path).expect("bind");
        let refusal = HookResponse {
            version: PROTOCOL_VERSION,
            allowed: false,
            message: String::new(),
            error: Some("uid 33 may not use this pushguard daemon".into()),
        };
        let body = serde_json::to_vec(&refusal).expect("json");
        std::thread::spawn(move || {
            if let Ok((mut s, _)) = listener.accept() {
                let _ = wire::write_frame(&mut s, &body);
            }
        });
        let mut req = request();
        // Larger than any socket buffer, so the write meets the closed socket.
        req.env
            .insert("GIT_PUSH_OPTION_0".into(), "x".repeat(4 << 20));
        let resp = ask(&path, &req, DEFAULT_TIMEOUT).expect("the daemon's answer");
        assert_eq!(resp, refusal);
    }

    #[test]
    fn malformed_answers_are_errors() {
        let mut frame = 7u32.to_be_bytes().to_vec();
        frame.extend_from_slice(b"garbage");
        let (_d, path) = fake_daemon(Some(frame));
        let e = ask(&path, &request(), DEFAULT_TIMEOUT).expect_err("garbage");
        assert!(
            matches!(&e, AskError::Failed(m) if m.contains("malformed")),
            "{e}"
        );
    }

    #[test]
    fn oversized_answers_are_errors() {
        let frame = u32::MAX.to_be_bytes().to_vec();
        let (_d, path) = fake_daemon(Some(frame));
        let e = ask(&path, &request(), DEFAULT_TIMEOUT).expect_err("too large");
        assert!(
            matches!(&e, AskError::Failed(m) if m.contains("frame of 4294967295 bytes is too large")),
            "{e}"
        );
    }

    #[test]
    fn a_silent_daemon_times_out() {
        let (_d, path) = fake_daemon(None);
        let start = Instant::now();
        let e = ask(&path, &request(), Duration::from_millis(300)).expect_err("timeout");
        assert!(
            matches!(&e, AskError::Failed(m) if m.contains("within 300 ms")),
            "{e}"
        );
        assert!(start.elapsed() < Duration::from_secs(3));
    }

    #[test]
    fn unreachable_daemon_is_an_error_with_the_socket_named() {
        let req = HookRequest {
            version: PROTOCOL_VERSION,
            hook: HookKind::PreReceive,
            git_dir: "/x".into(),
            updates: vec![],
            env: Default::default(),
        };
        let e = ask(
            Path::new("/nonexistent/pushguard.sock"),
            &req,
            DEFAULT_TIMEOUT,
        )
        .expect_err("no daemon there");
        assert!(
            matches!(&e, AskError::Unreachable(m) if m.contains("/nonexistent/pushguard.sock")),
            "{e}"
        );
    }

    /// Regression (issue 10): a request over the frame limit (thousands of long ref names) was
    /// "no verdict", which a fail-open repository let through. It is a failure of the push.
    #[test]
    fn a_request_too_large_to_send_fails_the_push_not_the_daemon() {
        let (_d, path) = fake_daemon(None);
        let mut req = request();
        let name = format!("refs/heads/{}", "x".repeat(4000));
        req.updates = (0..4300)
            .map(|_| WireUpdate {
                old: "0".repeat(40),
                new: "1".repeat(40),
                name: name.clone(),
            })
            .collect();
        let e = ask(&path, &req, DEFAULT_TIMEOUT).expect_err("too large");
        assert!(
            matches!(&e, AskError::Failed(m) if m.contains("too large to judge")),
            "{e}"
        );
    }

    /// A repository set to fail open, with its audit log (made as the daemon makes it).
    fn fail_open_repo() -> (tempfile::TempDir, HookConfig, PathBuf) {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("audit.jsonl");
        crate::audit::AuditLog::open(&log, Create::Yes).expect("the daemon's log");
        let config = HookConfig {
            fail_open: true,
            audit_log: Some(log.to_string_lossy().into_owned()),
            ..HookConfig::default()
        };
        (dir, config, log)
    }

    fn audit_lines(log: &Path) -> Vec<AuditRecord> {
        std::fs::read_to_string(log)
            .expect("read the log")
            .lines()
            .map(|l| serde_json::from_str(l).expect("an audit record"))
            .collect()
    }

    /// An oversized answer (the daemon's frame over the limit) is a failure after the
    /// connection was made: it rejects even a repository set to fail open, and logs nothing.
    #[test]
    fn an_oversized_answer_rejects_even_a_fail_open_repository() {
        let (_d, path) = fake_daemon(Some(u32::MAX.to_be_bytes().to_vec()));
        let (_dir, config, log) = fail_open_repo();
        let answer = ask(&path, &request(), DEFAULT_TIMEOUT);
        let mut err = Vec::new();
        assert_eq!(conclude(&config, Path::new("/x"), answer, &mut err), REJECT);
        let err = String::from_utf8_lossy(&err);
        assert!(
            err.starts_with("pushguard: push rejected: no verdict from the policy daemon: frame of 4294967295 bytes is too large"),
            "{err}"
        );
        assert!(audit_lines(&log).is_empty());
    }

    #[test]
    fn a_daemon_that_could_not_decide_rejects_even_a_fail_open_repository() {
        let (_dir, config, log) = fail_open_repo();
        let answer = Ok(HookResponse {
            version: PROTOCOL_VERSION,
            allowed: true,
            message: String::new(),
            error: Some("cannot read the request: frame of 20000000 bytes is too large".into()),
        });
        let mut err = Vec::new();
        assert_eq!(conclude(&config, Path::new("/x"), answer, &mut err), REJECT);
        assert!(String::from_utf8_lossy(&err)
            .contains("the policy daemon could not decide: cannot read the request"));
        assert!(audit_lines(&log).is_empty());
    }

    /// Only an unreachable daemon lets a fail-open repository through, and the event is a
    /// record of the daemon's own type in the daemon's own log.
    #[test]
    fn an_unreachable_daemon_fails_open_only_with_the_event_recorded() {
        let (_dir, config, log) = fail_open_repo();
        let why = "the policy daemon is not reachable at /s: Connection refused";
        let mut err = Vec::new();
        let code = conclude(
            &config,
            Path::new("/srv/git/a.git"),
            Err(AskError::Unreachable(why.into())),
            &mut err,
        );
        assert_eq!(code, ALLOW, "{}", String::from_utf8_lossy(&err));
        let lines = audit_lines(&log);
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0].event, crate::audit::AuditEvent::FailOpen);
        assert_eq!(lines[0].repo, "/srv/git/a.git");
        assert_eq!(lines[0].reason.as_deref(), Some(why));
        // Without the log to record it in, it is rejected.
        std::fs::remove_file(&log).expect("rm");
        let mut err = Vec::new();
        let code = conclude(
            &config,
            Path::new("/srv/git/a.git"),
            Err(AskError::Unreachable(why.into())),
            &mut err,
        );
        assert_eq!(code, REJECT);
        assert!(
            String::from_utf8_lossy(&err).contains("set to fail open, but the audit log"),
            "{}",
            String::from_utf8_lossy(&err)
        );
        assert!(!log.exists(), "a hook does not make the daemon's log");
        // A fail-closed repository rejects without writing anything.
        let mut err = Vec::new();
        let closed = HookConfig::default();
        let code = conclude(
            &closed,
            Path::new("/srv/git/a.git"),
            Err(AskError::Unreachable(why.into())),
            &mut err,
        );
        assert_eq!(code, REJECT);
    }

    #[test]
    fn a_verdict_is_shown_and_decides_the_exit_code() {
        let answer = |allowed| {
            Ok(HookResponse {
                version: PROTOCOL_VERSION,
                allowed,
                message: "pushguard: 1 violation".into(),
                error: None,
            })
        };
        let config = HookConfig::default();
        let mut err = Vec::new();
        assert_eq!(
            conclude(&config, Path::new("/x"), answer(false), &mut err),
            REJECT
        );
        assert_eq!(err, b"pushguard: 1 violation\n");
        assert_eq!(
            conclude(&config, Path::new("/x"), answer(true), &mut Vec::new()),
            ALLOW
        );
    }
}
