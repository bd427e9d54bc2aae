//! `secret_scanning`: no new secret in the blobs the push brings to a ref, unless suppressed,
//! warned about (legacy secrets, `warn` rules, unread blobs) or explicitly bypassed; blobs too
//! large to scan and scans that could not finish.

use super::{ruleset_bypass, Ctx, Sinks, SECRET_BYPASS_OPTION, SECRET_BYPASS_REASONS};
use crate::policy::{LargeBlob, OnError, SecretScanning, SecretSeverity};
use crate::report::{Code, SecretDetail, Subject, Violation};

impl Ctx<'_> {
    pub(super) fn check_secrets(&self, sc: &SecretScanning, sinks: &mut Sinks) {
        let u = self.update;
        if u.is_delete() {
            return;
        }
        let Some(scan) = &self.change.secrets else {
            // The rule applies but no scan ran: that cannot be decided, so it is refused.
            sinks.found.push(self.violation(
                Code::ScanIncomplete,
                "the secret scan did not run for this push".to_string(),
                "try again; if it persists, tell your git administrator".to_string(),
            ));
            return;
        };
        let now = self.change.now;
        let bypass_actor = ruleset_bypass(self.ruleset, self.pusher);
        for f in scan.findings.iter().filter(|f| f.refs.contains(&u.name)) {
            let suppressed = sc
                .suppressions
                .iter()
                .chain(self.change.base_suppressions.iter())
                .any(|s| s.covers(&f.fingerprint, &f.rule_id, &f.secret_sha256, &f.path, now));
            if suppressed {
                continue;
            }
            let detail = SecretDetail {
                rule_id: f.rule_id.clone(),
                description: f.description.clone(),
                redacted: f.redacted.clone(),
                fingerprint: f.fingerprint.clone(),
            };
            let subject = u
                .commits
                .iter()
                .find(|c| c.id == f.commit)
                .map(|c| c.subject.clone());
            let at = |v: Violation| {
                let mut v = v.about(
                    &f.commit,
                    Subject::Commit {
                        subject: subject.clone(),
                    },
                );
                v.path = Some(f.path.clone());
                v.line = (f.line > 0).then_some(f.line);
                v.secret = Some(detail.clone());
                v
            };
            let warn = match self.policy.secrets.severity.get(&f.rule_id) {
                Some(SecretSeverity::Warn) => true,
                Some(SecretSeverity::Block) => false,
                None => f.warn_by_default,
            };
            if warn {
                sinks.warnings.push(at(self.violation(
                    Code::SecretWarning,
                    format!(
                        "{} ({}): severity warn, not blocking",
                        f.description, f.rule_id
                    ),
                    "if it is a real credential, revoke it and remove it from the file".to_string(),
                )));
                continue;
            }
            if f.legacy && !sc.block_legacy {
                sinks.warnings.push(at(self.violation(
                    Code::SecretLegacy,
                    format!(
                        "{} already in this file before the push (not blocking)",
                        f.description
                    ),
                    "revoke it and remove it from the file".to_string(),
                )));
                continue;
            }
            let mut v = at(self.violation(
                Code::SecretDetected,
                format!("{} ({})", f.description, f.rule_id),
                "remove the secret from every commit of the push (git rebase -i, or git commit --amend for the last one) and push again; then revoke it: it may have been seen".to_string(),
            ));
            let asked = self.change.push_options.iter().find_map(|o| {
                let (fp, reason) = o.strip_prefix(SECRET_BYPASS_OPTION)?.split_once(':')?;
                (fp == f.fingerprint).then(|| reason.trim().to_string())
            });
            match asked {
                Some(reason) if !SECRET_BYPASS_REASONS.contains(&reason.as_str()) => {
                    v.message.push_str(&format!(
                        "; bypass reason {reason:?} is not one of {}",
                        SECRET_BYPASS_REASONS.join(", ")
                    ));
                    sinks.found.push(v);
                }
                Some(reason) if bypass_actor => {
                    v.bypass_reason = Some(reason);
                    sinks.bypassed.push(v);
                }
                Some(_) => {
                    v.message.push_str(&format!(
                        "; a bypass was asked for, but {} may not bypass ruleset {}",
                        self.pusher_text(),
                        self.ruleset.name
                    ));
                    sinks.found.push(v);
                }
                None => sinks.found.push(v),
            }
        }
        for o in scan.oversized.iter().filter(|o| o.refs.contains(&u.name)) {
            let v = match sc.on_large_blob {
                LargeBlob::Reject => self.violation(
                    Code::BlobTooLarge,
                    format!("a {} byte file is larger than the {} byte limit for scanning", o.size, sc.max_blob_size),
                    "keep large files out of the repository (e.g. Git LFS) or ask the admin to raise max_blob_size".to_string(),
                ),
                LargeBlob::Skip => self.violation(
                    Code::BlobSkipped,
                    format!("not scanned for secrets: {} bytes is over the {} byte limit", o.size, sc.max_blob_size),
                    "make sure it holds no secrets".to_string(),
                ),
                LargeBlob::ScanPrefix => self.violation(
                    Code::BlobSkipped,
                    format!(
                        "only the first {} of its {} bytes were scanned for secrets (max_blob_size)",
                        o.scanned_bytes, o.size
                    ),
                    "make sure the rest holds no secrets".to_string(),
                ),
            };
            let mut v = v.about(&o.commit, Subject::Commit { subject: None });
            v.path = Some(o.path.clone());
            match sc.on_large_blob {
                LargeBlob::Reject => sinks.found.push(v),
                LargeBlob::Skip | LargeBlob::ScanPrefix => sinks.warnings.push(v),
            }
        }
        for b in scan.unscanned.iter().filter(|b| b.refs.contains(&u.name)) {
            let v = self.violation(
                Code::BlobNotScanned,
                format!("not scanned for secrets: {}", b.reason),
                "make sure it holds no secrets".to_string(),
            );
            let mut v = v.about(&b.commit, Subject::Commit { subject: None });
            v.path = Some(b.path.clone());
            sinks.warnings.push(v);
        }
        for b in scan.incomplete.iter().filter(|b| b.refs.contains(&u.name)) {
            let v = self.violation(
                Code::ScanIncomplete,
                format!("the secret scan of this file could not finish: {}", b.reason),
                "split the file, or remove what makes it look like many secrets; if it is a false alarm, ask the admin".to_string(),
            );
            let mut v = v.about(&b.commit, Subject::Commit { subject: None });
            v.path = Some(b.path.clone());
            sinks.found.push(v);
        }
        // The deadline is one per push: report it on the first ref this ruleset governs.
        let first = self.change.updates.iter().find(|x| {
            !x.is_delete()
                && self
                    .ruleset
                    .applies_to(&x.name, self.change.default_branch.as_deref())
        });
        if scan.deadline_expired && first.is_some_and(|x| x.name == u.name) {
            let v = self.violation(
                Code::ScanIncomplete,
                format!(
                    "the secret scan ran out of time after {} blobs ({} bytes)",
                    scan.blobs_scanned, scan.bytes_scanned
                ),
                match sc.on_deadline {
                    OnError::FailClosed => "push fewer or smaller changes at a time, or ask the admin to raise deadline_seconds".to_string(),
                    OnError::FailOpen => "the rest of the push was not scanned (on_deadline: fail_open)".to_string(),
                },
            );
            match sc.on_deadline {
                OnError::FailClosed => sinks.found.push(v),
                OnError::FailOpen => sinks.warnings.push(v),
            }
        }
    }
}
