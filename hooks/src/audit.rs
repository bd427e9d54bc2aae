//! The audit log's one record type and its one writer. `<state-dir>/audit.jsonl` holds one JSON
//! [`AuditRecord`] a line, whoever wrote it: the daemon (a decision, a refused request) or a hook
//! that could not reach the daemon and let a push through because its repository is set to
//! fail open. Both write through [`AuditLog`], so the file's permissions and the way a line is
//! appended are decided here, once. The schema is documented in docs/policy-reference.md
//! ("Audit log").
//!
//! The daemon fills in the decision's details (violations, bypasses, the push certificate, the
//! secret scan) from the engine's report; this crate keeps them as the engine's JSON
//! ([`serde_json::Value`]), because the hook links neither the engine nor its types.
//!
//! ```
//! use hooks::audit::{AuditEvent, AuditRecord};
//! let record = AuditRecord::fail_open("/srv/git/a.git", "the policy daemon is not reachable");
//! let line = record.to_line().expect("a record encodes");
//! let back: AuditRecord = serde_json::from_str(&line).expect("one schema");
//! assert_eq!(back.event, AuditEvent::FailOpen);
//! ```

use crate::wire::{HookKind, WireUpdate};
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

/// What a line records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditEvent {
    /// The daemon judged a push (or failed to): `verdict` says how it came out.
    Decision,
    /// The daemon refused a request before judging it (a repository it does not guard, a
    /// malformed or oversized request); `reason` says why.
    Refused,
    /// A hook could not reach the daemon and let the push through, because the repository is
    /// set to fail open; `reason` says why no verdict could be had.
    FailOpen,
}

/// How a decision came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditVerdict {
    Allowed,
    Rejected,
    /// No verdict could be had (`error` says why); the push was rejected.
    Error,
}

/// The process that asked the daemon, from the socket's peer credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Peer {
    pub uid: u32,
    pub pid: Option<i32>,
}

/// The push certificate of a signed push, whole, so that anyone can re-verify it later.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditCertificate {
    /// The certificate blob's id.
    pub id: String,
    /// git's nonce check: `OK`, `BAD`, `MISSING`, `UNSOLICITED` or `SLOP`.
    pub nonce_status: String,
    /// The certificate's `pusher` line.
    pub pusher: String,
    /// The signature check's code (as in the engine's JSON).
    pub verdict: String,
    /// The policy identity that owns the signing key, when known.
    pub signer: Option<String>,
    /// The signing key's fingerprint, when known.
    pub key: Option<String>,
    /// The certificate as git stored it.
    pub certificate: String,
}

/// How much the secret scan read, and what it found (the findings themselves are violations or
/// warnings).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditSecretScan {
    pub blobs_scanned: u64,
    pub bytes_scanned: u64,
    pub findings: u64,
    pub oversized: u64,
    pub deadline_expired: bool,
}

/// One line of the audit log. `time`, `event` and `repo` are always there; the others where
/// the event has them (see docs/policy-reference.md for which).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// Seconds since the Unix epoch, with a fraction.
    pub time: f64,
    pub event: AuditEvent,
    /// The repository (`GIT_DIR`), as resolved by whoever wrote the line; empty when a request
    /// was refused before it named one.
    pub repo: String,
    /// Why a request was refused, or why a hook failed open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hook: Option<HookKind>,
    /// The pusher as the server's environment names them (`pusher.env`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pusher: Option<String>,
    /// The policy identity the pusher was recognised as.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pusher_identity: Option<String>,
    /// The pusher identity comes from a verified push certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pusher_certified: Option<bool>,
    /// `git push -o` options.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub push_options: Vec<String>,
    /// The ref updates judged (`ref`, `old`, `new`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub updates: Vec<WireUpdate>,
    /// SHA-256 of the policy file and every file it names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_hash: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer: Option<Peer>,
    /// Time from the request's arrival to the verdict.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<AuditVerdict>,
    /// Why no verdict could be had (`verdict: error`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The engine's violations (its JSON; docs/policy-reference.md). On every judged decision, empty or not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub violations: Option<Vec<serde_json::Value>>,
    /// Violations let through because the pusher may bypass their ruleset. On every judged decision, empty or not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bypasses: Option<Vec<serde_json::Value>>,
    /// Shown to the pusher, never blocking. On every judged decision, empty or not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warnings: Option<Vec<serde_json::Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub push_certificate: Option<AuditCertificate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_scan: Option<AuditSecretScan>,
}

impl AuditRecord {
    /// A record of `event` about `repo`, now, with nothing else set.
    pub fn new(event: AuditEvent, repo: impl Into<String>) -> AuditRecord {
        AuditRecord {
            time: unix_time(),
            event,
            repo: repo.into(),
            reason: None,
            hook: None,
            pusher: None,
            pusher_identity: None,
            pusher_certified: None,
            push_options: Vec::new(),
            updates: Vec::new(),
            policy_hash: None,
            peer: None,
            duration_ms: None,
            verdict: None,
            error: None,
            violations: None,
            bypasses: None,
            warnings: None,
            push_certificate: None,
            secret_scan: None,
        }
    }

    /// A hook let a push through unjudged, because the daemon could not be reached (`why`).
    pub fn fail_open(repo: impl Into<String>, why: impl Into<String>) -> AuditRecord {
        AuditRecord {
            reason: Some(why.into()),
            ..AuditRecord::new(AuditEvent::FailOpen, repo)
        }
    }

    /// The record as one line of JSON, newline included.
    pub fn to_line(&self) -> Result<String, AuditError> {
        let mut line = serde_json::to_string(self).map_err(AuditError::Encode)?;
        line.push('\n');
        Ok(line)
    }
}

/// Seconds since the Unix epoch (0 on a clock before it).
pub fn unix_time() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Why the audit log cannot be opened or written. A line that cannot be written means the
/// push is not accepted (the daemon rejects; a failing-open hook rejects instead).
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("the audit log {} cannot be opened: {source}", path.display())]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the audit log {} cannot be restricted to its owner: {source}", path.display())]
    Restrict {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Not naming the file: the daemon's reason goes to the pusher, the file is in its log.
    #[error("the audit log cannot be written: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot encode an audit record: {0}")]
    Encode(serde_json::Error),
}

/// Whether opening may create the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Create {
    /// Create it if missing (the daemon, at start).
    Yes,
    /// It must exist (a hook: the daemon made it; a hook must not make one its daemon then
    /// cannot open).
    No,
}

/// The audit log, open for appending. Lines are written whole, in one `write` on a file opened
/// with `O_APPEND`, so concurrent writers (the daemon's tasks, a failing-open hook) never
/// interleave within a line; the lock orders the writers of one process.
#[derive(Debug)]
pub struct AuditLog {
    path: PathBuf,
    file: Mutex<File>,
}

impl AuditLog {
    /// Open the log for appending, readable and writable by its owner only: it names pushers,
    /// repositories and the redacted secrets they pushed. A new file is made with mode 0600; a
    /// regular file open to others is narrowed (and that failing is an error); anything else (a
    /// pipe, a device an admin pointed the log at) is left as it is.
    pub fn open(path: &Path, create: Create) -> Result<AuditLog, AuditError> {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        let file = OpenOptions::new()
            .create(create == Create::Yes)
            .append(true)
            .mode(0o600)
            .open(path)
            .map_err(|source| AuditError::Open {
                path: path.to_path_buf(),
                source,
            })?;
        let meta = file.metadata().map_err(|source| AuditError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        if meta.is_file() && meta.permissions().mode() & 0o077 != 0 {
            file.set_permissions(std::fs::Permissions::from_mode(0o600))
                .map_err(|source| AuditError::Restrict {
                    path: path.to_path_buf(),
                    source,
                })?;
        }
        Ok(AuditLog {
            path: path.to_path_buf(),
            file: Mutex::new(file),
        })
    }

    /// Where the log is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Append one record as one line. No fsync: it would put a disk flush on every push's path;
    /// a full or read-only disk fails the write itself.
    pub fn append(&self, record: &AuditRecord) -> Result<(), AuditError> {
        let line = record.to_line()?;
        let mut f = self.file.lock().unwrap_or_else(|e| e.into_inner());
        f.write_all(line.as_bytes())
            .map_err(|source| AuditError::Write {
                path: self.path.clone(),
                source,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// A decision line as the daemon wrote it before the record type existed.
    const OLD_DECISION: &str = r#"{"bypasses":[],"duration_ms":3.2,"event":"decision","hook":"pre-receive","peer":{"pid":4242,"uid":1000},"policy_hash":"ab12","push_options":[],"pusher":null,"pusher_certified":false,"pusher_identity":null,"repo":"/srv/git/a.git","time":1767225600.5,"updates":[{"new":"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb","old":"0000000000000000000000000000000000000000","ref":"refs/heads/main"}],"verdict":"rejected","violations":[{"code":"no_signature","commit":"bbbb","message":"commit is not signed","ref":"refs/heads/main","rule":"required_signatures","ruleset":"protect-main"}],"warnings":[]}"#;
    /// A fail-open line as the hook wrote it before the record type existed.
    const OLD_FAIL_OPEN: &str = r#"{"event":"fail_open","reason":"the policy daemon is not reachable at /s: Connection refused (os error 111)","repo":"/srv/git/a.git","time":1767225600.25}"#;

    fn decision() -> AuditRecord {
        AuditRecord {
            hook: Some(HookKind::PreReceive),
            pusher: Some("alice".into()),
            updates: vec![WireUpdate {
                old: "0".repeat(40),
                new: "b".repeat(40),
                name: "refs/heads/main".into(),
            }],
            policy_hash: Some("ab12".into()),
            peer: Some(Peer {
                uid: 1000,
                pid: Some(4242),
            }),
            duration_ms: Some(3.25),
            verdict: Some(AuditVerdict::Allowed),
            ..AuditRecord::new(AuditEvent::Decision, "/srv/git/a.git")
        }
    }

    #[test]
    fn a_fail_open_event_and_a_decision_parse_as_the_same_type() {
        let lines = [
            AuditRecord::fail_open("/srv/git/a.git", "no daemon")
                .to_line()
                .expect("encode"),
            decision().to_line().expect("encode"),
        ];
        let parsed: Vec<AuditRecord> = lines
            .iter()
            .map(|l| serde_json::from_str(l).expect("one schema"))
            .collect();
        assert_eq!(parsed[0].event, AuditEvent::FailOpen);
        assert_eq!(parsed[0].reason.as_deref(), Some("no daemon"));
        assert_eq!(parsed[0].verdict, None);
        assert_eq!(parsed[1], decision_with_time(parsed[1].time));
        assert_eq!(parsed[1].updates[0].name, "refs/heads/main");
        // The wire names of the fields are the documented ones.
        let v: serde_json::Value = serde_json::from_str(&lines[1]).expect("json");
        assert_eq!(v["event"], "decision");
        assert_eq!(v["verdict"], "allowed");
        assert_eq!(v["hook"], "pre-receive");
        assert_eq!(v["updates"][0]["ref"], "refs/heads/main");
        assert_eq!(v["peer"]["uid"], 1000);
        let v: serde_json::Value = serde_json::from_str(&lines[0]).expect("json");
        assert_eq!(v["event"], "fail_open");
        assert!(v.get("verdict").is_none(), "{v}");
    }

    fn decision_with_time(time: f64) -> AuditRecord {
        AuditRecord { time, ..decision() }
    }

    #[test]
    fn lines_written_before_the_record_type_still_parse() {
        let d: AuditRecord = serde_json::from_str(OLD_DECISION).expect("old decision");
        assert_eq!(d.event, AuditEvent::Decision);
        assert_eq!(d.verdict, Some(AuditVerdict::Rejected));
        assert_eq!(d.pusher, None);
        assert_eq!(d.pusher_certified, Some(false));
        assert_eq!(
            d.peer,
            Some(Peer {
                uid: 1000,
                pid: Some(4242)
            })
        );
        assert_eq!(
            d.violations.as_deref().map(|v| v[0]["code"].clone()),
            Some("no_signature".into())
        );
        assert_eq!(d.bypasses, Some(vec![]));
        let f: AuditRecord = serde_json::from_str(OLD_FAIL_OPEN).expect("old fail_open");
        assert_eq!(f.event, AuditEvent::FailOpen);
        assert_eq!(f.time, 1767225600.25);
        assert!(f
            .reason
            .as_deref()
            .is_some_and(|r| r.contains("not reachable")));
    }

    #[test]
    fn an_unknown_event_is_not_silently_a_decision() {
        let line = OLD_FAIL_OPEN.replace("fail_open", "fail_sideways");
        assert!(serde_json::from_str::<AuditRecord>(&line).is_err());
    }

    #[test]
    fn one_record_per_line_appended_to_an_owner_only_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("audit.jsonl");
        let log = AuditLog::open(&path, Create::Yes).expect("open");
        log.append(&decision()).expect("append");
        // A hook appends to the same file through the same code.
        let hook = AuditLog::open(&path, Create::No).expect("open existing");
        hook.append(&AuditRecord::fail_open("/srv/git/a.git", "no daemon"))
            .expect("append");
        log.append(&decision()).expect("append");
        let text = std::fs::read_to_string(&path).expect("read");
        let events: Vec<AuditEvent> = text
            .lines()
            .map(|l| {
                serde_json::from_str::<AuditRecord>(l)
                    .expect("a record")
                    .event
            })
            .collect();
        assert_eq!(
            events,
            [
                AuditEvent::Decision,
                AuditEvent::FailOpen,
                AuditEvent::Decision
            ]
        );
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn a_log_open_to_others_is_narrowed_and_a_missing_one_is_not_made_by_a_hook() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("audit.jsonl");
        let e = AuditLog::open(&path, Create::No).expect_err("missing");
        assert!(e.to_string().contains("cannot be opened"), "{e}");
        assert!(!path.exists());
        std::fs::write(&path, "").expect("touch");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        AuditLog::open(&path, Create::No).expect("open");
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    /// A disk that cannot take the line is an error naming the log, never a silent drop.
    #[test]
    fn a_full_disk_is_an_error() {
        let log = AuditLog::open(Path::new("/dev/full"), Create::No).expect("open /dev/full");
        let e = log.append(&decision()).expect_err("full");
        assert!(
            matches!(&e, AuditError::Write { path, .. } if path == Path::new("/dev/full")),
            "{e}"
        );
        assert!(
            e.to_string()
                .starts_with("the audit log cannot be written: "),
            "{e}"
        );
    }
}
