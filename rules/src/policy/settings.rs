//! `settings:` and `repositories:`: what the hook does without a verdict, limits, and the
//! per-repository overrides.

use globset::GlobMatcher;
use serde::Serialize;

use super::raw::{RawRepository, RawSettings, S};
use super::{glob, PolicyError};

/// What the hook does when no verdict can be had (daemon down, timeout, internal error).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OnError {
    /// Reject the push (the default).
    #[default]
    FailClosed,
    /// Let the push through with a warning; the event is logged.
    FailOpen,
}

impl OnError {
    pub fn as_str(self) -> &'static str {
        match self {
            OnError::FailClosed => "fail_closed",
            OnError::FailOpen => "fail_open",
        }
    }
}

/// Global settings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Settings {
    pub on_error: OnError,
    /// How long the hook waits for the daemon's verdict, in milliseconds.
    pub timeout_ms: u64,
    /// The most ref updates one push may carry; a larger push is rejected unjudged.
    pub max_ref_updates: u64,
    /// The most commits one push may make the daemon judge (the commits new to each updated
    /// ref, each counted once); a larger push is rejected unjudged (push the history in parts,
    /// or raise the limit for a migration).
    pub max_commits: u64,
    /// An annotated tag pushed to `refs/tags/NAME` must be named NAME in its own `tag` header,
    /// so a signed tag cannot be replayed under another name (`v0.9` pushed as `v2.0`).
    pub tag_names_match_refs: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            on_error: OnError::FailClosed,
            timeout_ms: 10_000,
            max_ref_updates: 10_000,
            max_commits: 250_000,
            tag_names_match_refs: true,
        }
    }
}

/// Per-repository settings, chosen by a glob on the repository's path below the served root.
#[derive(Debug, Clone)]
pub struct RepositorySettings {
    pub path: String,
    pub(super) matcher: GlobMatcher,
    pub on_error: Option<OnError>,
}

/// `fail_closed` or `fail_open` (`on_error` of settings and repositories, a scan's `on_deadline`).
pub(super) fn parse_on_error(s: &S<String>) -> Result<OnError, PolicyError> {
    match s.value.as_str() {
        "fail_closed" => Ok(OnError::FailClosed),
        "fail_open" => Ok(OnError::FailOpen),
        other => Err(PolicyError::new(
            s,
            format!("on_error must be fail_closed or fail_open, not {other:?}"),
        )),
    }
}

/// `settings:`; defaults for what it leaves out.
pub(super) fn validate(raw: Option<&RawSettings>) -> Result<Settings, PolicyError> {
    let mut settings = Settings::default();
    if let Some(s) = raw {
        if let Some(v) = &s.on_error {
            settings.on_error = parse_on_error(v)?;
        }
        if let Some(t) = &s.timeout_seconds {
            if !(t.value > 0.0 && t.value <= 600.0) {
                return Err(PolicyError::new(
                    t,
                    "timeout_seconds must be more than 0 and at most 600",
                ));
            }
            settings.timeout_ms = (t.value * 1000.0).round() as u64;
        }
        if let Some(n) = &s.max_ref_updates {
            if n.value == 0 {
                return Err(PolicyError::new(n, "max_ref_updates must be at least 1"));
            }
            settings.max_ref_updates = n.value;
        }
        if let Some(n) = &s.max_commits {
            if n.value == 0 {
                return Err(PolicyError::new(n, "max_commits must be at least 1"));
            }
            settings.max_commits = n.value;
        }
        if let Some(b) = &s.tag_names_match_refs {
            settings.tag_names_match_refs = b.value;
        }
    }
    Ok(settings)
}

/// `repositories:`, in policy order (the last match wins).
pub(super) fn validate_repositories(
    raw: &[RawRepository],
) -> Result<Vec<RepositorySettings>, PolicyError> {
    let mut repositories = Vec::new();
    for r in raw {
        let matcher = glob(r.path.value.trim_end_matches('/'))
            .map_err(|e| PolicyError::new(&r.path, format!("bad repository glob: {e}")))?;
        let on_error = r.on_error.as_ref().map(parse_on_error).transpose()?;
        repositories.push(RepositorySettings {
            path: r.path.value.clone(),
            matcher,
            on_error,
        });
    }
    Ok(repositories)
}
