//! The audit log: one JSON line per decision, appended to `<state-dir>/audit.jsonl`.
//! Lines are written whole with O_APPEND, so concurrent writers (the daemon and a failing-open
//! hook) never interleave within a line.

use anyhow::{Context, Result};
use hooks::wire::HookRequest;
use rules::{Change, Report};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tracing::error;

pub struct AuditLog {
    file: Mutex<File>,
}

impl AuditLog {
    /// Open (or create) the log, readable and writable by its owner only: it names pushers,
    /// repositories and the redacted secrets they pushed.
    pub fn open(path: &Path) -> Result<AuditLog> {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)
            .with_context(|| format!("cannot open the audit log {}", path.display()))?;
        // A regular file is narrowed to its owner; anything else (a pipe, a device an admin
        // pointed the log at) is left as it is.
        if file.metadata().is_ok_and(|m| m.is_file()) {
            file.set_permissions(std::fs::Permissions::from_mode(0o600))
                .with_context(|| format!("cannot restrict the audit log {}", path.display()))?;
        }
        Ok(AuditLog {
            file: Mutex::new(file),
        })
    }

    /// Record a request refused before any judgement (a repository the daemon does not guard, a
    /// malformed request): who asked, and why it was refused.
    pub fn refused(
        &self,
        git_dir: &str,
        reason: &str,
        peer_uid: u32,
        peer_pid: Option<i32>,
    ) -> Result<()> {
        let entry = serde_json::json!({
            "time": unix_time(),
            "event": "refused",
            "repo": git_dir,
            "reason": reason,
            "peer": {"uid": peer_uid, "pid": peer_pid},
        });
        self.append(&entry)
    }

    /// Record one decision (or a failure to decide).
    #[allow(clippy::too_many_arguments)]
    pub fn decision(
        &self,
        req: &HookRequest,
        policy_hash: &str,
        change: Option<&Change>,
        result: Result<&Report, &String>,
        peer_uid: u32,
        peer_pid: Option<i32>,
        elapsed: Duration,
    ) -> Result<()> {
        let time = unix_time();
        let updates: Vec<_> = req
            .updates
            .iter()
            .map(|u| serde_json::json!({"ref": u.name, "old": u.old, "new": u.new}))
            .collect();
        let mut entry = serde_json::json!({
            "time": time,
            "event": "decision",
            "repo": req.git_dir,
            "hook": req.hook,
            "pusher": change.and_then(|c| c.pusher.clone()),
            "push_options": change.map(|c| c.push_options.clone()).unwrap_or_default(),
            "updates": updates,
            "policy_hash": policy_hash,
            "peer": {"uid": peer_uid, "pid": peer_pid},
            "duration_ms": elapsed.as_secs_f64() * 1000.0,
        });
        if let Some(cert) = change.and_then(|c| c.push_certificate.as_ref()) {
            entry["push_certificate"] = serde_json::json!({
                "id": cert.id,
                "nonce_status": cert.nonce_status,
                "pusher": cert.pusher,
                "verdict": cert.signature.verdict.code(),
                "signer": cert.signature.identity,
                "key": cert.signature.key,
                "certificate": cert.text,
            });
        }
        if let Some(scan) = change.and_then(|c| c.secrets.as_ref()) {
            entry["secret_scan"] = serde_json::json!({
                "blobs_scanned": scan.blobs_scanned,
                "bytes_scanned": scan.bytes_scanned,
                "findings": scan.findings.len(),
                "oversized": scan.oversized.len(),
                "deadline_expired": scan.deadline_expired,
            });
        }
        match result {
            Ok(report) => {
                entry["verdict"] = (if report.allowed {
                    "allowed"
                } else {
                    "rejected"
                })
                .into();
                entry["pusher_identity"] = report.pusher_identity.clone().into();
                entry["pusher_certified"] = report.pusher_certified.into();
                entry["violations"] = serde_json::to_value(&report.violations).unwrap_or_default();
                entry["bypasses"] = serde_json::to_value(&report.bypassed).unwrap_or_default();
                entry["warnings"] = serde_json::to_value(&report.warnings).unwrap_or_default();
            }
            Err(e) => {
                entry["verdict"] = "error".into();
                entry["error"] = e.clone().into();
            }
        }
        self.append(&entry)
    }

    /// Append one line, whole, and make sure it reached the file: a decision that cannot be
    /// recorded is not given (the caller rejects the push).
    fn append(&self, entry: &serde_json::Value) -> Result<()> {
        let mut line = entry.to_string();
        line.push('\n');
        let mut f = match self.file.lock() {
            Ok(f) => f,
            Err(poisoned) => poisoned.into_inner(),
        };
        // No fsync: it would put a disk flush on every push's path. A full or read-only disk
        // fails the write itself.
        f.write_all(line.as_bytes()).map_err(|e| {
            error!("cannot write the audit log: {e}");
            anyhow::anyhow!("the audit log cannot be written: {e}")
        })
    }
}

fn unix_time() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}
