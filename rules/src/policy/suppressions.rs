//! Accepted secrets: suppressions in the policy, in a baseline file, or in a suppressions file
//! read from the protected base of the repository.

use serde::Serialize;

use super::raw::{RawSuppression, RawSuppressionsFile, S};
use super::yaml::yaml;
use super::{glob, PolicyError};
use crate::calendar::parse_date;

/// An accepted secret: it is reported as suppressed, never blocks. Identified by the secret
/// (rule and hash, or the fingerprint derived from them), so it survives rebases and squashes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Suppression {
    pub fingerprint: Option<String>,
    pub rule: Option<String>,
    pub secret_sha256: Option<String>,
    /// Only in paths matching this glob.
    pub path: Option<String>,
    pub reason: String,
    pub who: Option<String>,
    /// Unix time after which the suppression no longer applies.
    pub expires: Option<i64>,
}

impl Suppression {
    /// Does this suppression cover a secret with these properties at time `now`?
    pub fn covers(
        &self,
        fingerprint: &str,
        rule: &str,
        sha256: &str,
        path: &str,
        now: i64,
    ) -> bool {
        let secret = match (&self.fingerprint, &self.rule, &self.secret_sha256) {
            (Some(f), _, _) => f == fingerprint,
            (None, Some(r), Some(h)) => r == rule && h.eq_ignore_ascii_case(sha256),
            _ => false,
        };
        let path_ok = match &self.path {
            None => true,
            Some(g) => glob(g).map(|m| m.is_match(path)).unwrap_or(false),
        };
        let live = self.expires.is_none_or(|e| now < e);
        secret && path_ok && live
    }
}

pub(super) fn suppression(s: &S<RawSuppression>) -> Result<Suppression, PolicyError> {
    let r = &s.value;
    let hexish = |v: &str| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit());
    match (&r.fingerprint, &r.rule, &r.secret_sha256) {
        (Some(_), None, None) => {}
        (None, Some(_), Some(h)) if hexish(h) => {}
        (None, Some(_), Some(_)) => {
            return Err(PolicyError::new(s, "secret_sha256 must be 64 hex digits"))
        }
        _ => {
            return Err(PolicyError::new(
                s,
                "a suppression names a secret by fingerprint, or by rule and secret_sha256",
            ))
        }
    }
    if let Some(p) = &r.path {
        glob(p).map_err(|e| PolicyError::new(s, format!("bad path glob: {e}")))?;
    }
    if r.reason.trim().is_empty() {
        return Err(PolicyError::new(s, "a suppression needs a reason"));
    }
    let expires = match &r.expires {
        None => None,
        Some(d) => Some(parse_date(d).ok_or_else(|| {
            PolicyError::new(s, format!("expires {d:?} is not a date (YYYY-MM-DD)"))
        })?),
    };
    Ok(Suppression {
        fingerprint: r.fingerprint.clone(),
        rule: r.rule.clone(),
        secret_sha256: r.secret_sha256.clone(),
        path: r.path.clone(),
        reason: r.reason.clone(),
        who: r.who.clone(),
        expires,
    })
}

/// Parse a suppressions file (`suppressions: [...]`), as read from the protected base.
pub fn parse_suppressions(text: &str) -> Result<Vec<Suppression>, PolicyError> {
    let raw: RawSuppressionsFile = yaml(text)?;
    raw.suppressions.iter().map(suppression).collect()
}
