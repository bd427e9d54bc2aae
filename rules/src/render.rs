//! Renderers: the same report as text for pushers (`remote:` lines, at most 79 columns) and as
//! JSON. Formatting only; no decisions.

use crate::engine::{short, SECRET_BYPASS_OPTION, SECRET_BYPASS_REASONS};
use crate::facts::ObjectKind;
use crate::report::{Code, Report, Subject, Violation};
use std::fmt::Write;

/// Width the pusher's text is wrapped to. git prefixes each line with `remote: ` (8 columns).
pub const TEXT_WIDTH: usize = 71;

/// How many violations are listed per ref before "and N more".
pub const MAX_PER_REF: usize = 10;

/// How many secrets are listed per ref before "+N more".
pub const MAX_SECRETS_PER_REF: usize = 5;

/// The text a pusher sees. Empty when there is nothing to say.
pub fn text(report: &Report) -> String {
    let mut out = String::new();
    if report.allowed && report.bypassed.is_empty() && report.warnings.is_empty() {
        return out;
    }
    if !report.allowed {
        let n = report.violations.len();
        let _ = writeln!(
            out,
            "pushguard: push rejected, {n} policy violation{}",
            if n == 1 { "" } else { "s" }
        );
        write_grouped(&mut out, &report.violations);
        if report
            .violations
            .iter()
            .any(|v| v.code == Code::SecretDetected)
        {
            out.push('\n');
            wrap(
                &mut out,
                "",
                "",
                "A secret pushed to a server must be treated as leaked: revoke it even after removing it.",
            );
            let _ = writeln!(
                out,
                "To let a secret through (bypass actors only; audited):\n  git push -o {SECRET_BYPASS_OPTION}FINGERPRINT:REASON\n  REASON is one of {}",
                SECRET_BYPASS_REASONS.join(", ")
            );
        }
    }
    if !report.bypassed.is_empty() {
        let n = report.bypassed.len();
        let who = report.pusher_identity.as_deref().unwrap_or("the pusher");
        if !out.is_empty() {
            out.push('\n');
        }
        wrap(
            &mut out,
            "",
            "",
            &format!(
                "pushguard: {n} violation{} bypassed by {who} (ruleset bypass); this is recorded in the audit log",
                if n == 1 { "" } else { "s" }
            ),
        );
        write_grouped(&mut out, &report.bypassed);
    }
    if !report.warnings.is_empty() {
        if !out.is_empty() {
            out.push('\n');
        }
        let n = report.warnings.len();
        let _ = writeln!(
            out,
            "pushguard: {n} warning{} (not blocking)",
            if n == 1 { "" } else { "s" }
        );
        write_grouped(&mut out, &report.warnings);
    }
    out
}

fn write_grouped(out: &mut String, violations: &[Violation]) {
    let mut refs: Vec<&str> = Vec::new();
    for v in violations {
        if !refs.contains(&v.ref_name.as_str()) {
            refs.push(&v.ref_name);
        }
    }
    for r in refs {
        let on_ref: Vec<&Violation> = violations.iter().filter(|v| v.ref_name == r).collect();
        let _ = writeln!(out, "\n{r}");
        let (secrets, others): (Vec<&Violation>, Vec<&Violation>) =
            on_ref.iter().partition(|v| v.secret.is_some());
        for v in others.iter().take(MAX_PER_REF) {
            write_violation(out, v);
        }
        if others.len() > MAX_PER_REF {
            let _ = writeln!(
                out,
                "  ... and {} more on {r} (pushguard check shows all)",
                others.len() - MAX_PER_REF
            );
        }
        for v in secrets.iter().take(MAX_SECRETS_PER_REF) {
            write_violation(out, v);
        }
        if secrets.len() > MAX_SECRETS_PER_REF {
            let _ = writeln!(
                out,
                "  +{} more secrets on {r}",
                secrets.len() - MAX_SECRETS_PER_REF
            );
        }
    }
}

fn write_violation(out: &mut String, v: &Violation) {
    let _ = writeln!(out, "  x {} (ruleset {})", v.rule, v.ruleset);
    if let Some(id) = &v.commit {
        let id = short(id);
        let what = match &v.object {
            Some(Subject::Tag { tag }) => format!("tag {tag} ({id})"),
            Some(Subject::Commit { subject: Some(s) }) => {
                format!("commit {id} \"{}\"", clip(s, 50))
            }
            Some(Subject::Other { kind }) => format!("{} {id}", object_word(*kind)),
            Some(Subject::PushCertificate) => format!("push certificate {id}"),
            Some(Subject::Commit { subject: None }) | None => format!("commit {id}"),
        };
        wrap(out, "    ", "    ", &what);
    }
    if let (Some(p), line) = (&v.path, v.line) {
        let at = match line {
            Some(l) => format!("{p}:{l}"),
            None => p.clone(),
        };
        wrap(out, "    ", "    ", &format!("at {at}"));
    }
    wrap(out, "    ", "    ", &v.message);
    if let Some(secret) = &v.secret {
        wrap(
            out,
            "    ",
            "    ",
            &format!(
                "secret: {}  fingerprint: {}",
                secret.redacted, secret.fingerprint
            ),
        );
    }
    if let Some(reason) = &v.bypass_reason {
        wrap(out, "    ", "    ", &format!("bypass reason: {reason}"));
    }
    wrap(out, "    fix: ", "         ", &v.fix);
}

fn object_word(kind: ObjectKind) -> &'static str {
    match kind {
        ObjectKind::Commit => "commit",
        ObjectKind::Tag => "tag",
        ObjectKind::Tree => "tree",
        ObjectKind::Blob => "blob",
        ObjectKind::None => "object",
    }
}

fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(3)).collect();
        t.push_str("...");
        t
    }
}

/// Word-wrap `text` to `TEXT_WIDTH`, first line after `first`, others after `rest`.
fn wrap(out: &mut String, first: &str, rest: &str, text: &str) {
    let mut line = String::from(first);
    let mut empty = true;
    for word in text.split_whitespace() {
        let len = line.chars().count();
        if !empty && len + 1 + word.chars().count() > TEXT_WIDTH {
            out.push_str(line.trim_end());
            out.push('\n');
            line = String::from(rest);
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(word);
        empty = false;
    }
    out.push_str(line.trim_end());
    out.push('\n');
}

/// The report as JSON: `{"allowed": bool, "violations": [...]}` plus `bypassed`, `warnings`,
/// `pusher_identity` and `refs_without_ruleset` when present.
pub fn json(report: &Report) -> String {
    serde_json::to_string_pretty(report).expect("a report always serializes (plain data)")
}

/// How each approval was judged, one line each, grouped by ref (empty when no `pull_request`
/// rule looked at any): what `pushguard approvals` prints.
pub fn approvals(report: &Report) -> String {
    let mut out = String::new();
    let mut current: Option<(&str, &str)> = None;
    for a in &report.approvals {
        if current != Some((a.ref_name.as_str(), a.ruleset.as_str())) {
            let _ = writeln!(out, "{} (ruleset {}): approvals", a.ref_name, a.ruleset);
            current = Some((a.ref_name.as_str(), a.ruleset.as_str()));
        }
        let who = a.reviewer.as_deref().unwrap_or("?");
        let verdict = match a.verdict {
            crate::facts::ApprovalVerdict::Approve => "approve",
            crate::facts::ApprovalVerdict::Reject => "reject",
            crate::facts::ApprovalVerdict::Revoke => "revoke",
        };
        let status = match (&a.why, a.counts) {
            (_, true) => "counts".to_string(),
            (Some(why), false) => format!("does not count: {why}"),
            (None, false) => "stands (a rejection)".to_string(),
        };
        let _ = writeln!(
            out,
            "  {who} {verdict} {}: {status}",
            crate::engine::short(&a.approval)
        );
    }
    out
}
