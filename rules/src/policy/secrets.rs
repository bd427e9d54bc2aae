//! Secret push protection: the `secret_scanning` rule's parameters, and top-level `secrets:`
//! (where the detection rules come from, and their severity).

use serde::Serialize;

use super::raw::{RawSecretScanning, RawSecrets};
use super::settings::{parse_on_error, OnError};
use super::suppressions::{suppression, Suppression};
use super::{Location, PolicyError};

/// What to do with a blob larger than `max_blob_size`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LargeBlob {
    /// Scan its first `max_blob_size` bytes and tell the pusher the rest was not read (the
    /// default).
    ScanPrefix,
    /// Skip it (file-name rules still apply); the pusher is told.
    Skip,
    /// Reject the push.
    Reject,
}

/// Parameters of `secret_scanning`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecretScanning {
    /// Blobs larger than this many bytes are not read (default 1 MiB).
    pub max_blob_size: u64,
    pub on_large_blob: LargeBlob,
    /// Time budget for scanning one push, in milliseconds (default 10 s).
    pub deadline_ms: u64,
    /// What happens when the budget runs out (default: reject).
    pub on_deadline: OnError,
    /// Whether secrets already in the base version of a file block too (default: no).
    pub block_legacy: bool,
    pub suppressions: Vec<Suppression>,
    /// A suppressions file read from the default branch as it was before the push.
    pub suppressions_file: Option<String>,
    /// A suppressions file on the server (relative to the policy file), e.g. the baseline
    /// `pushguard scan --git --write-baseline` writes when pushguard is adopted: read with the
    /// policy, its suppressions join `suppressions`.
    pub baseline: Option<(String, Location)>,
}

impl Default for SecretScanning {
    fn default() -> Self {
        SecretScanning {
            max_blob_size: 1 << 20,
            on_large_blob: LargeBlob::ScanPrefix,
            deadline_ms: 10_000,
            on_deadline: OnError::FailClosed,
            block_legacy: false,
            suppressions: Vec::new(),
            suppressions_file: None,
            baseline: None,
        }
    }
}

/// Top-level `secrets:`: where the detection rules come from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SecretsConfig {
    /// A gitleaks TOML config (relative to the policy file) replacing or extending the built-in rules.
    pub gitleaks_config: Option<String>,
    pub gitleaks_config_at: Option<Location>,
    pub disabled_rules: Vec<String>,
    /// Per rule id: `block` or `warn`, overriding the rule's shipped severity. The rule ids are
    /// checked against the loaded rule set by whoever builds the scanner.
    pub severity: std::collections::BTreeMap<String, SecretSeverity>,
    /// Where each `severity` entry was written, for errors about unknown rule ids.
    pub severity_at: std::collections::BTreeMap<String, Location>,
}

/// Whether a secret rule's findings block a push.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SecretSeverity {
    Block,
    Warn,
}

pub(super) fn secret_scanning(r: &RawSecretScanning) -> Result<SecretScanning, PolicyError> {
    let mut out = SecretScanning::default();
    if let Some(v) = &r.max_blob_size {
        if v.value == 0 {
            return Err(PolicyError::new(
                v,
                "max_blob_size must be positive (bytes)",
            ));
        }
        out.max_blob_size = v.value;
    }
    if let Some(v) = &r.on_large_blob {
        out.on_large_blob = match v.value.as_str() {
            "scan_prefix" => LargeBlob::ScanPrefix,
            "skip" => LargeBlob::Skip,
            "reject" => LargeBlob::Reject,
            o => {
                return Err(PolicyError::new(
                    v,
                    format!("on_large_blob must be scan_prefix, skip or reject, not {o:?}"),
                ))
            }
        };
    }
    if let Some(v) = &r.deadline_seconds {
        if !(v.value > 0.0 && v.value <= 600.0) {
            return Err(PolicyError::new(
                v,
                "deadline_seconds must be more than 0 and at most 600",
            ));
        }
        out.deadline_ms = (v.value * 1000.0).round() as u64;
    }
    if let Some(v) = &r.on_deadline {
        out.on_deadline = parse_on_error(v)?;
    }
    if let Some(v) = &r.legacy {
        out.block_legacy = match v.value.as_str() {
            "allow" => false,
            "block" => true,
            o => {
                return Err(PolicyError::new(
                    v,
                    format!("legacy must be allow or block, not {o:?}"),
                ))
            }
        };
    }
    out.suppressions = r
        .suppressions
        .iter()
        .map(suppression)
        .collect::<Result<_, _>>()?;
    if let Some(f) = &r.suppressions_file {
        let p = f.value.trim().trim_start_matches('/');
        if p.is_empty() || p.split('/').any(|c| c == "..") {
            return Err(PolicyError::new(
                f,
                "suppressions_file is a path inside the repository",
            ));
        }
        out.suppressions_file = Some(p.to_string());
    }
    if let Some(b) = &r.baseline {
        if b.value.trim().is_empty() {
            return Err(PolicyError::new(
                b,
                "baseline is a suppressions file (relative to the policy file)",
            ));
        }
        out.baseline = Some((b.value.trim().to_string(), Location::from(b)));
    }
    Ok(out)
}

/// Top-level `secrets:`.
pub(super) fn validate(raw: Option<&RawSecrets>) -> Result<SecretsConfig, PolicyError> {
    let mut secrets = SecretsConfig::default();
    if let Some(sc) = raw {
        if let Some(f) = &sc.gitleaks_config {
            secrets.gitleaks_config = Some(f.value.clone());
            secrets.gitleaks_config_at = Some(Location::from(f));
        }
        secrets.disabled_rules = sc.disabled_rules.iter().map(|s| s.value.clone()).collect();
        for (rule, level) in &sc.severity {
            let sev = match level.value.as_str() {
                "block" => SecretSeverity::Block,
                "warn" => SecretSeverity::Warn,
                other => {
                    return Err(PolicyError::new(
                        level,
                        format!("severity of {rule:?} is {other:?}: use block or warn"),
                    ))
                }
            };
            secrets.severity.insert(rule.clone(), sev);
            secrets
                .severity_at
                .insert(rule.clone(), Location::from(level));
        }
    }
    Ok(secrets)
}
