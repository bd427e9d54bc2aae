//! The daemon's lines in the audit log (`<state-dir>/audit.jsonl`): a decision, or a request
//! refused before judging. The record type and the writer are [`hooks::audit`]'s, shared with
//! the hook's `fail_open` line, so the log has one schema and one way of being written
//! (docs/policy-reference.md, "Audit log"). This module only fills records in from what the
//! daemon knows: the request, the facts and the engine's report.

use anyhow::{Context, Result};
use hooks::audit::{AuditCertificate, AuditSecretScan, AuditVerdict, Create};
pub use hooks::audit::{AuditEvent, AuditLog, AuditRecord, Peer};
use hooks::wire::HookRequest;
use rules::{Change, Report};
use std::path::Path;
use std::time::Duration;
use tracing::error;

/// Open (or create) the daemon's log, owner-only.
pub fn open(path: &Path) -> Result<AuditLog> {
    Ok(AuditLog::open(path, Create::Yes)?)
}

/// Append `record`; a failure is logged here and returned (the caller rejects the push: a
/// decision that cannot be recorded is not given).
pub fn append(log: &AuditLog, record: &AuditRecord) -> Result<()> {
    log.append(record).map_err(|e| {
        error!(log = %log.path().display(), "{e}");
        anyhow::Error::new(e)
    })
}

/// A request refused before any judgement (a repository the daemon does not guard, a
/// malformed or oversized request): who asked, and why it was refused.
pub fn refused(git_dir: &str, reason: &str, peer: Peer) -> AuditRecord {
    AuditRecord {
        reason: Some(reason.to_string()),
        peer: Some(peer),
        ..AuditRecord::new(AuditEvent::Refused, git_dir)
    }
}

/// One decision (or a failure to decide: `result` is then the reason).
pub fn decision(
    req: &HookRequest,
    policy_hash: &str,
    change: Option<&Change>,
    result: Result<&Report, &String>,
    peer: Peer,
    elapsed: Duration,
) -> Result<AuditRecord> {
    let mut record = AuditRecord {
        hook: Some(req.hook),
        pusher: change.and_then(|c| c.pusher.clone()),
        push_options: change.map(|c| c.push_options.clone()).unwrap_or_default(),
        updates: req.updates.clone(),
        policy_hash: Some(policy_hash.to_string()),
        peer: Some(peer),
        duration_ms: Some(elapsed.as_secs_f64() * 1000.0),
        push_certificate: change
            .and_then(|c| c.push_certificate.as_ref())
            .map(|cert| AuditCertificate {
                id: cert.id.clone(),
                nonce_status: cert.nonce_status.clone(),
                pusher: cert.pusher.clone(),
                verdict: cert
                    .signature
                    .verdict
                    .refusal_code()
                    .map_or("good", rules::Code::as_str)
                    .to_string(),
                signer: cert.signature.identity.clone(),
                key: cert.signature.key.clone(),
                certificate: cert.text.clone(),
            }),
        secret_scan: change
            .and_then(|c| c.secrets.as_ref())
            .map(|scan| AuditSecretScan {
                blobs_scanned: scan.blobs_scanned,
                bytes_scanned: scan.bytes_scanned,
                findings: scan.findings.len() as u64,
                oversized: scan.oversized.len() as u64,
                deadline_expired: scan.deadline_expired,
            }),
        ..AuditRecord::new(AuditEvent::Decision, req.git_dir.clone())
    };
    match result {
        Ok(report) => {
            let json = |v: &[rules::Violation]| -> Result<Vec<serde_json::Value>> {
                v.iter()
                    .map(serde_json::to_value)
                    .collect::<Result<_, _>>()
                    .context("cannot encode the report for the audit log")
            };
            record.verdict = Some(if report.allowed {
                AuditVerdict::Allowed
            } else {
                AuditVerdict::Rejected
            });
            record.pusher_identity = report.pusher_identity.clone();
            record.pusher_certified = Some(report.pusher_certified);
            record.violations = Some(json(&report.violations)?);
            record.bypasses = Some(json(&report.bypassed)?);
            record.warnings = Some(json(&report.warnings)?);
        }
        Err(e) => {
            record.verdict = Some(AuditVerdict::Error);
            record.error = Some(e.clone());
        }
    }
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hooks::wire::{HookKind, WireUpdate, PROTOCOL_VERSION};
    use rules::facts::PushCertificate;
    use rules::SignatureCheck;

    fn request() -> HookRequest {
        HookRequest {
            version: PROTOCOL_VERSION,
            hook: HookKind::PreReceive,
            git_dir: "/srv/git/a.git".into(),
            updates: vec![WireUpdate {
                old: "0".repeat(40),
                new: "b".repeat(40),
                name: "refs/heads/main".into(),
            }],
            env: Default::default(),
        }
    }

    const PEER: Peer = Peer {
        uid: 1000,
        pid: Some(77),
    };

    /// A violation as the engine writes it in JSON (built from JSON so that fields the engine
    /// grows do not break this test).
    fn violation() -> rules::Violation {
        serde_json::from_value(serde_json::json!({
            "rule": "required_signatures", "ruleset": "protect-main", "ref": "refs/heads/main",
            "commit": "b".repeat(40), "code": "no_signature",
            "message": "commit is not signed", "fix": "sign it",
        }))
        .expect("a violation")
    }

    /// The line the daemon writes for a judged push reads back as the shared record, with the
    /// engine's violations in the engine's JSON.
    #[test]
    fn a_rejection_is_recorded_with_its_violations() {
        let change = Change {
            pusher: Some("alice".into()),
            push_options: vec!["ci.skip".into()],
            ..Default::default()
        };
        let report = Report {
            allowed: false,
            violations: vec![violation()],
            pusher_identity: Some("alice".into()),
            ..Default::default()
        };
        let mut record = decision(
            &request(),
            "ab12",
            Some(&change),
            Ok(&report),
            PEER,
            Duration::from_micros(2500),
        )
        .expect("a record");
        // Regression (flaky before): serde_json parses a float like 1796710786.7087543 back
        // one ulp off now and then; the round trip is compared with a time JSON holds exactly.
        assert!(record.time > 1.7e9, "the time of the decision");
        record.time = 1_796_710_786.5;
        let line = record.to_line().expect("encode");
        let back: AuditRecord = serde_json::from_str(&line).expect("the shared schema");
        assert_eq!(back, record);
        assert_eq!(back.event, AuditEvent::Decision);
        assert_eq!(back.duration_ms, Some(2.5));
        let v: serde_json::Value = serde_json::from_str(&line).expect("json");
        assert_eq!(v["verdict"], "rejected");
        assert_eq!(v["pusher"], "alice");
        assert_eq!(v["pusher_identity"], "alice");
        assert_eq!(v["pusher_certified"], false);
        assert_eq!(v["push_options"][0], "ci.skip");
        assert_eq!(v["violations"][0]["code"], "no_signature");
        assert_eq!(v["violations"][0]["ref"], "refs/heads/main");
        assert_eq!(v["bypasses"], serde_json::json!([]));
        assert_eq!(v["updates"][0]["new"], "b".repeat(40));
        assert_eq!(v["peer"], serde_json::json!({"uid": 1000, "pid": 77}));
        assert_eq!(v["policy_hash"], "ab12");
        assert!(v.get("error").is_none() && v.get("push_certificate").is_none());
    }

    #[test]
    fn a_failure_to_decide_is_recorded_as_an_error() {
        let why = "no verdict within 10 ms".to_string();
        let record =
            decision(&request(), "ab12", None, Err(&why), PEER, Duration::ZERO).expect("record");
        assert_eq!(record.verdict, Some(AuditVerdict::Error));
        assert_eq!(record.error.as_deref(), Some(why.as_str()));
        assert_eq!(record.violations, None, "nothing was judged");
        assert_eq!(record.pusher, None);
        assert_eq!(record.updates, request().updates);
    }

    /// A signed push carries its whole certificate, so it can be re-verified later.
    #[test]
    fn a_push_certificate_is_recorded_whole() {
        let change = Change {
            push_certificate: Some(PushCertificate {
                id: "c".repeat(40),
                nonce_status: "OK".into(),
                pusher: "alice <alice@example.org> 1767225600 +0000".into(),
                matches_push: true,
                signature: SignatureCheck {
                    verdict: rules::KeyVerdict::Good,
                    identity: Some("alice".into()),
                    key: Some("SHA256:abc".into()),
                    ..Default::default()
                },
                text: "certificate version 0.1\n...".into(),
            }),
            ..Default::default()
        };
        let report = Report {
            allowed: true,
            pusher_certified: true,
            ..Default::default()
        };
        let record = decision(
            &request(),
            "h",
            Some(&change),
            Ok(&report),
            PEER,
            Duration::ZERO,
        )
        .expect("record");
        let cert = record.push_certificate.as_ref().expect("certificate");
        assert_eq!(cert.verdict, "good");
        assert_eq!(cert.signer.as_deref(), Some("alice"));
        assert_eq!(cert.certificate, "certificate version 0.1\n...");
        assert_eq!(record.pusher_certified, Some(true));
        assert_eq!(record.verdict, Some(AuditVerdict::Allowed));
    }

    #[test]
    fn a_refusal_names_the_peer_and_the_reason_and_is_appended() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("audit.jsonl");
        let log = open(&path).expect("open");
        append(&log, &refused("", "malformed request", PEER)).expect("append");
        let text = std::fs::read_to_string(&path).expect("read");
        let back: AuditRecord = serde_json::from_str(text.trim_end()).expect("a record");
        assert_eq!(back.event, AuditEvent::Refused);
        assert_eq!(back.reason.as_deref(), Some("malformed request"));
        assert_eq!(back.peer, Some(PEER));
        assert_eq!(back.verdict, None);
        let e = append(&open(Path::new("/dev/full")).expect("open"), &back).expect_err("full");
        assert!(
            e.to_string().contains("the audit log cannot be written"),
            "{e}"
        );
    }
}
