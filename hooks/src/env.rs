//! Which environment variables the hook forwards to the daemon, and reading the repository's
//! `pushguard.*` git config.

use std::collections::BTreeMap;
use std::path::Path;

/// Variables forwarded by name prefix: git's own (quarantine, push options, push certificate)
/// and those the common git servers use to name the pusher.
const FORWARD_PREFIXES: &[&str] = &["GIT_", "GL_", "GITEA_", "FORGEJO_", "GOGS_", "PUSHGUARD_"];

/// Variables forwarded by exact name. Not `USER` or `LOGNAME`: whoever starts `git` sets them
/// (a local push, an ssh server that accepts them from the client), so they name nobody.
const FORWARD_NAMES: &[&str] = &["REMOTE_USER"];

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
    /// `core.hooksPath` of the repository's own config: where git looks for hooks instead of
    /// `$GIT_DIR/hooks`.
    pub hooks_path: Option<String>,
}

impl HookConfig {
    /// Read the repository's own config file (`$GIT_DIR/config`), where `pushguard install`
    /// writes these settings. Parsed here rather than by running `git config`: the hook runs on
    /// every push, and a process less is a millisecond less. An unreadable config is an error
    /// (the hook then fails closed).
    pub fn read(git_dir: &Path) -> Result<HookConfig, String> {
        Ok(Self::from_entries(&Self::read_raw(git_dir)?))
    }

    /// Every `section.key = value` of `$GIT_DIR/config`, keys lower-cased.
    pub fn read_raw(git_dir: &Path) -> Result<Vec<(String, String)>, String> {
        let path = git_dir.join("config");
        let text =
            std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        Ok(parse_git_config(&String::from_utf8_lossy(&text)))
    }

    /// The settings among `entries` (as from [`parse_git_config`]); the last value of a key wins.
    pub fn from_entries(entries: &[(String, String)]) -> HookConfig {
        let mut c = HookConfig::default();
        for (key, value) in entries {
            let value = value.trim().to_string();
            match key.as_str() {
                "pushguard.socket" => c.socket = Some(value),
                "pushguard.onerror" => c.fail_open = value == "fail_open",
                "pushguard.timeout" => c.timeout_ms = value.parse().ok(),
                "pushguard.auditlog" => c.audit_log = Some(value),
                "pushguard.mode" => c.per_ref = value == "per-ref",
                "pushguard.forwardenv" => c.forward_env.push(value),
                "core.hookspath" => c.hooks_path = Some(value),
                _ => {}
            }
        }
        c
    }
}

/// A small reader for git's config file syntax: `[section]`, `[section "sub"]`, `key = value`,
/// bare `key` (true), `#`/`;` comments, double quotes with `\"` `\\` `\n` `\t` escapes and
/// backslash line continuations. Returns (`section[.sub].key`, value) with the section and key
/// lower-cased. Includes are not followed (pushguard's settings live in the repository's file).
pub fn parse_git_config(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut section = String::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let t = line.trim_start();
        if t.starts_with('[') {
            let Some(end) = t.find(']') else { continue };
            let inner = &t[1..end];
            section = match inner.split_once(char::is_whitespace) {
                Some((name, sub)) => format!(
                    "{}.{}",
                    name.to_ascii_lowercase(),
                    sub.trim().trim_matches('"').replace("\\\"", "\"")
                ),
                None => inner.to_ascii_lowercase(),
            };
            continue;
        }
        if t.is_empty() || t.starts_with('#') || t.starts_with(';') || section.is_empty() {
            continue;
        }
        let (key, rest) = match t.find('=') {
            Some(i) => (t[..i].trim(), Some(&t[i + 1..])),
            None => (t.split(['#', ';']).next().unwrap_or("").trim(), None),
        };
        if key.is_empty() {
            continue;
        }
        let value = match rest {
            None => "true".to_string(),
            Some(rest) => {
                // A backslash at the end of a line joins the next one (git drops both).
                let mut raw = rest.to_string();
                while ends_in_escape(&raw) {
                    raw.pop();
                    match lines.next() {
                        Some(next) => raw.push_str(next),
                        None => break,
                    }
                }
                unquote(&raw)
            }
        };
        out.push((format!("{section}.{}", key.to_ascii_lowercase()), value));
    }
    out
}

/// Does the line end in an unescaped backslash?
fn ends_in_escape(line: &str) -> bool {
    line.bytes().rev().take_while(|&b| b == b'\\').count() % 2 == 1
}

/// A value's text: quotes removed, escapes resolved, comments cut, white space outside quotes
/// folded as git does (leading and trailing dropped, inner runs kept).
fn unquote(raw: &str) -> String {
    let mut out = String::new();
    let mut quoted = false;
    let mut space = 0usize;
    let mut chars = raw.trim_start().chars();
    let put = |out: &mut String, space: &mut usize, c: char| {
        if !out.is_empty() {
            out.extend(std::iter::repeat_n(' ', *space));
        }
        *space = 0;
        out.push(c);
    };
    while let Some(c) = chars.next() {
        match c {
            '"' => quoted = !quoted,
            '\\' => match chars.next() {
                None => break,
                Some('n') => put(&mut out, &mut space, '\n'),
                Some('t') => put(&mut out, &mut space, '\t'),
                Some('b') => {
                    out.pop();
                }
                Some(o) => put(&mut out, &mut space, o),
            },
            '#' | ';' if !quoted => break,
            c if c.is_whitespace() && !quoted => space += 1,
            c => put(&mut out, &mut space, c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_git_config_files() {
        let text = "[core]\n\tbare = true\n[pushguard]\n\tsocket = /run/pg.sock\n\tonError = fail_open # comment\n\ttimeout=2500\n\tforwardEnv = MY_USER\n\tmode = \"per-ref\"\n[remote \"origin\"]\n\turl = x\n";
        let entries = parse_git_config(text);
        assert!(entries.contains(&("core.bare".to_string(), "true".to_string())));
        assert!(entries.contains(&("remote.origin.url".to_string(), "x".to_string())));
        let c = HookConfig::from_entries(&entries);
        assert_eq!(c.socket.as_deref(), Some("/run/pg.sock"));
        assert!(c.fail_open);
        assert!(c.per_ref);
        assert_eq!(c.timeout_ms, Some(2500));
        assert_eq!(c.forward_env, vec!["MY_USER".to_string()]);
    }

    #[test]
    fn values_follow_git_quoting_rules() {
        let e = parse_git_config(
            "[a]\nq = \"x # y\" ; c\ns = one \\\n two\nflag\nesc = \"a\\\"b\\\\c\"\n",
        );
        let get = |k: &str| e.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
        assert_eq!(get("a.q").as_deref(), Some("x # y"));
        assert_eq!(
            get("a.s").as_deref(),
            Some("one  two"),
            "as git: both spaces kept"
        );
        assert_eq!(get("a.flag").as_deref(), Some("true"));
        assert_eq!(get("a.esc").as_deref(), Some("a\"b\\c"));
    }

    #[test]
    fn agrees_with_git_on_what_install_writes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ok = std::process::Command::new("git")
            .args(["init", "-q", "--bare"])
            .arg(dir.path())
            .status()
            .expect("git")
            .success();
        assert!(ok);
        for (k, v) in [
            ("pushguard.socket", "/a b/\"q\".sock"),
            ("pushguard.forwardEnv", "X;Y"),
        ] {
            let ok = std::process::Command::new("git")
                .arg("--git-dir")
                .arg(dir.path())
                .args(["config", k, v])
                .status()
                .expect("git")
                .success();
            assert!(ok);
        }
        let c = HookConfig::read(dir.path()).expect("readable");
        assert_eq!(c.socket.as_deref(), Some("/a b/\"q\".sock"));
        assert_eq!(c.forward_env, ["X;Y"]);
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
