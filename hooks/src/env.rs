//! Which environment variables the hook forwards to the daemon, and reading the repository's
//! `pushguard.*` git config.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

/// Variables forwarded by name prefix: git's own (quarantine, push options, push certificate)
/// and those the common git servers use to name the pusher.
const FORWARD_PREFIXES: &[&str] = &["GIT_", "GL_", "GITEA_", "FORGEJO_", "GOGS_", "PUSHGUARD_"];

/// Variables forwarded by exact name.
const FORWARD_NAMES: &[&str] = &["REMOTE_USER", "USER", "LOGNAME"];

/// Is `name` a variable the hook forwards (besides those listed in `pushguard.forwardEnv`)?
pub fn is_forwarded(name: &str) -> bool {
    FORWARD_PREFIXES.iter().any(|p| name.starts_with(p)) || FORWARD_NAMES.contains(&name)
}

/// The forwarded subset of `vars`; `extra` names more variables to forward.
pub fn forwarded(
    vars: impl Iterator<Item = (String, String)>,
    extra: &[String],
) -> BTreeMap<String, String> {
    vars.filter(|(k, _)| is_forwarded(k) || extra.iter().any(|e| e == k))
        .collect()
}

/// The repository's `pushguard.*` settings, written by `pushguard install`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HookConfig {
    /// `pushguard.socket`: the daemon's socket.
    pub socket: Option<String>,
    /// `pushguard.onError`: `fail_closed` (default) or `fail_open`.
    pub fail_open: bool,
    /// `pushguard.timeout`: milliseconds to wait for a verdict.
    pub timeout_ms: Option<u64>,
    /// `pushguard.auditLog`: where the hook records fail-open events.
    pub audit_log: Option<String>,
    /// `pushguard.mode`: `atomic` (default: the pre-receive hook judges the whole push) or
    /// `per-ref` (the update hook judges each ref).
    pub per_ref: bool,
    /// `pushguard.forwardEnv` (multi-valued): more variables to forward.
    pub forward_env: Vec<String>,
}

impl HookConfig {
    /// Read with `git config` in `git_dir`. An unreadable config gives the defaults (fail closed,
    /// no socket), so the hook then rejects with a reason.
    pub fn read(git_dir: &Path) -> Result<HookConfig, String> {
        let out = Command::new("git")
            .arg("--git-dir")
            .arg(git_dir)
            .args(["config", "-z", "--get-regexp", r"^pushguard\."])
            .output()
            .map_err(|e| format!("cannot run git config: {e}"))?;
        // Exit 1 means "no such keys".
        if !out.status.success() && out.status.code() != Some(1) {
            return Err(format!(
                "git config failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(Self::parse(&String::from_utf8_lossy(&out.stdout)))
    }

    /// Parse `git config -z --get-regexp` output: `key\nvalue\0` records.
    pub fn parse(text: &str) -> HookConfig {
        let mut c = HookConfig::default();
        for rec in text.split('\0').filter(|r| !r.is_empty()) {
            let (key, value) = rec.split_once('\n').unwrap_or((rec, ""));
            let value = value.trim().to_string();
            match key.to_ascii_lowercase().as_str() {
                "pushguard.socket" => c.socket = Some(value),
                "pushguard.onerror" => c.fail_open = value == "fail_open",
                "pushguard.timeout" => c.timeout_ms = value.parse().ok(),
                "pushguard.auditlog" => c.audit_log = Some(value),
                "pushguard.mode" => c.per_ref = value == "per-ref",
                "pushguard.forwardenv" => c.forward_env.push(value),
                _ => {}
            }
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_git_config_z_output() {
        let c = HookConfig::parse(
            "pushguard.socket\n/run/pg.sock\0pushguard.onerror\nfail_open\0pushguard.timeout\n2500\0pushguard.forwardenv\nMY_USER\0pushguard.mode\nper-ref\0",
        );
        assert_eq!(c.socket.as_deref(), Some("/run/pg.sock"));
        assert!(c.fail_open);
        assert!(c.per_ref);
        assert_eq!(c.timeout_ms, Some(2500));
        assert_eq!(c.forward_env, vec!["MY_USER".to_string()]);
    }

    #[test]
    fn forwards_git_and_pusher_variables_only() {
        let vars = [
            ("GIT_QUARANTINE_PATH", "/q"),
            ("GL_USER", "alice"),
            ("AWS_SECRET_ACCESS_KEY", "x"),
            ("HOME", "/home/git"),
            ("MY_USER", "bob"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()));
        let f = forwarded(vars, &["MY_USER".to_string()]);
        let keys: Vec<&str> = f.keys().map(String::as_str).collect();
        assert_eq!(keys, ["GIT_QUARANTINE_PATH", "GL_USER", "MY_USER"]);
    }
}
