//! Pure report renderers: gitleaks-compatible JSON and SARIF 2.1.0.
//!
//! Both take the same records (a finding, the path it was found at, and the commit when the
//! scan was over history). Neither ever sees a secret: findings only carry redactions.

use serde_json::{json, Value};

use crate::Finding;

/// Longest `redacted_match` kept in a finding (characters).
pub const MAX_MATCH_CHARS: usize = 160;

/// One row of a report: where a finding was seen.
#[derive(Debug, Clone, Copy)]
pub struct Record<'a> {
    /// The finding.
    pub finding: &'a Finding,
    /// Path of the blob in the tree (or the scanned file).
    pub path: &'a str,
    /// Commit the blob was attributed to, if the scan was over git history.
    pub commit: Option<&'a str>,
}

impl<'a> From<(&'a Finding, &'a str, Option<&'a str>)> for Record<'a> {
    fn from((finding, path, commit): (&'a Finding, &'a str, Option<&'a str>)) -> Self {
        Record {
            finding,
            path,
            commit,
        }
    }
}

/// gitleaks 8 report JSON (an array of objects with gitleaks' field names). `Secret` and
/// `Match` are redacted; `Fingerprint` is ours (rule + secret hash), not gitleaks'
/// `commit:file:rule:line`, so baselines keyed on it survive rebases.
pub fn gitleaks_json(records: &[Record<'_>]) -> String {
    let rows: Vec<Value> = records
        .iter()
        .map(|r| {
            let f = r.finding;
            json!({
                "RuleID": f.rule_id,
                "Description": f.description,
                "StartLine": f.line,
                "EndLine": f.end_line,
                "StartColumn": f.column,
                "EndColumn": f.end_column,
                "Line": "",
                "Match": f.redacted_match,
                "Secret": f.redacted,
                "File": r.path,
                "SymlinkFile": "",
                "Commit": r.commit.unwrap_or(""),
                "Link": "",
                "Entropy": f.entropy.unwrap_or(0.0),
                "Author": "",
                "Email": "",
                "Date": "",
                "Message": "",
                "Tags": f.tags,
                "Fingerprint": f.fingerprint,
                "SecretSha256": f.secret_sha256,
                "Severity": f.severity.name(),
                "Confidence": f.confidence,
            })
        })
        .collect();
    serde_json::to_string_pretty(&rows).unwrap_or_else(|_| "[]".to_string())
}

/// Percent-encode a relative path as a URI reference (RFC 3986), keeping `/`.
fn uri_path(path: &str) -> String {
    let mut s = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'.' | b'_' | b'~') {
            s.push(b as char);
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    s
}

/// SARIF 2.1.0 log with one run. `tool_version` goes into `tool.driver.version`.
pub fn sarif(records: &[Record<'_>], tool_version: &str) -> String {
    let mut rule_ids: Vec<&str> = Vec::new();
    let mut rules: Vec<Value> = Vec::new();
    for r in records {
        let f = r.finding;
        if !rule_ids.contains(&f.rule_id.as_str()) {
            rule_ids.push(&f.rule_id);
            rules.push(json!({
                "id": f.rule_id,
                "name": f.rule_id,
                "shortDescription": { "text": f.description },
                "defaultConfiguration": {
                    "level": if f.severity == crate::Severity::Warn { "warning" } else { "error" }
                },
                "properties": { "tags": f.tags },
            }));
        }
    }
    let results: Vec<Value> = records
        .iter()
        .map(|r| {
            let f = r.finding;
            let idx = rule_ids.iter().position(|id| *id == f.rule_id).unwrap_or(0);
            let mut physical = json!({ "artifactLocation": { "uri": uri_path(r.path) } });
            if f.line > 0 {
                physical["region"] = json!({
                    "startLine": f.line,
                    "startColumn": f.column.max(1),
                    "endLine": f.end_line.max(f.line),
                    "endColumn": f.end_column.max(1) + 1,
                });
            }
            let mut props = json!({ "redactedSecret": f.redacted, "secretSha256": f.secret_sha256 });
            if let Some(c) = r.commit {
                props["commitSha"] = json!(c);
            }
            let place = if f.line > 0 { format!("{}:{}", r.path, f.line) } else { r.path.to_string() };
            json!({
                "ruleId": f.rule_id,
                "ruleIndex": idx,
                "level": "error",
                "message": { "text": format!("{} ({}) at {place}: {}", f.description, f.rule_id, f.redacted) },
                "locations": [ { "physicalLocation": physical } ],
                "partialFingerprints": { "pushguardSecret/v1": f.fingerprint },
                "properties": props,
            })
        })
        .collect();
    let log = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [ {
            "tool": { "driver": {
                "name": "pushguard",
                "version": tool_version,
                "informationUri": "https://example.invalid/pushguard",
                "rules": rules,
            } },
            "columnKind": "unicodeCodePoints",
            "results": results,
        } ],
    });
    serde_json::to_string_pretty(&log).unwrap_or_else(|_| "{}".to_string())
}

/// Markdown table of a rule set (id, description, what is checked beyond the regex, keywords
/// or path), used to generate `docs/secrets.md`.
pub fn rules_markdown(rules: &crate::RuleSet) -> String {
    let esc = |s: &str| s.replace('|', "\\|");
    let mut content = String::from("| Rule id | Finds | Checks | Keywords |\n|---|---|---|---|\n");
    let mut paths = String::from("| Rule id | File | Path regex |\n|---|---|---|\n");
    let (mut n_content, mut n_paths) = (0, 0);
    for r in rules.rules() {
        if r.is_path_only() {
            n_paths += 1;
            paths.push_str(&format!(
                "| `{}` | {} | `{}` |\n",
                r.id,
                esc(&r.description),
                esc(r.path.as_deref().unwrap_or(""))
            ));
            continue;
        }
        n_content += 1;
        let mut checks = Vec::new();
        if let Some(v) = r.validation {
            checks.push(if v.is_checksum() && v.drops_on_failure() {
                format!("**checksum: {}** ({})", v.name(), v.source())
            } else if v.is_checksum() {
                format!("checksum: {} ({})", v.name(), v.source())
            } else {
                v.name().to_string()
            });
        }
        if let Some(e) = r.entropy {
            checks.push(format!("entropy ≥ {e}"));
        }
        if !r.allowlists.is_empty() {
            checks.push("allowlist".to_string());
        }
        if r.severity == crate::Severity::Warn {
            checks.push("**severity: warn**".to_string());
        }
        let kws: Vec<String> = r.keywords.iter().map(|k| format!("`{}`", esc(k))).collect();
        content.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            r.id,
            esc(&r.description),
            checks.join(", "),
            kws.join(" ")
        ));
    }
    format!(
        "{n_content} content rules and {n_paths} file-name rules ({} in all).\n\n### Content rules\n\n{content}\n### File-name rules\n\n{paths}",
        n_content + n_paths
    )
}
