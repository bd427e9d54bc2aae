//! Installing pushguard's hooks into bare repositories.
//!
//! The hooks are tiny shell scripts that `exec` the pushguard binary; their settings live in the
//! repository's git config (`pushguard.*`), so reinstalling is idempotent and cheap. A hook that
//! is not ours is never overwritten: installation refuses, or with `chain` keeps it (renamed to
//! `<hook>.pushguard-chained`) and runs it before ours.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Marks a hook file as written by pushguard.
pub const MARKER: &str = "pushguard-hook v1";

/// The hooks pushguard may install: `pre-receive` in atomic mode (the default), `update` in
/// per-ref mode. Only the one the mode uses is installed: git runs every hook present, and a
/// hook that only says "not my mode" still costs a process or two per push.
pub const HOOKS: [&str; 2] = ["pre-receive", "update"];

/// How a repository's pushes are judged (`pushguard.mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// One verdict for the whole push, from the pre-receive hook.
    #[default]
    Atomic,
    /// A verdict per ref, from the update hook.
    PerRef,
}

impl Mode {
    /// The spelling in `pushguard.mode`.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Atomic => "atomic",
            Mode::PerRef => "per-ref",
        }
    }

    /// `atomic` or `per-ref`.
    pub fn parse(s: &str) -> Option<Mode> {
        match s {
            "atomic" => Some(Mode::Atomic),
            "per-ref" => Some(Mode::PerRef),
            _ => None,
        }
    }

    /// The hook this mode uses.
    pub fn hook(self) -> &'static str {
        match self {
            Mode::Atomic => "pre-receive",
            Mode::PerRef => "update",
        }
    }
}

/// What the hook does when it gets no verdict (`pushguard.onError`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnError {
    /// Reject the push (the default).
    #[default]
    FailClosed,
    /// Let it through, and log that it did.
    FailOpen,
}

impl OnError {
    /// The spelling in `pushguard.onError`.
    pub fn as_str(self) -> &'static str {
        match self {
            OnError::FailClosed => "fail_closed",
            OnError::FailOpen => "fail_open",
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct InstallOptions {
    /// The pushguard binary the hooks run.
    pub binary: PathBuf,
    /// The daemon's socket.
    pub socket: PathBuf,
    /// Keep a foreign hook and run it first.
    pub chain: bool,
    /// `None` leaves the repository's setting as it is.
    pub on_error: Option<OnError>,
    pub timeout_ms: Option<u64>,
    pub audit_log: Option<PathBuf>,
    /// `None`: the repository's `pushguard.mode`, else atomic.
    pub mode: Option<Mode>,
    /// `pushguard.forwardEnv`: the variables the policy names the pusher by that the hook does
    /// not forward on its own ([`crate::env::is_forwarded`]). `None` leaves the list as it is.
    pub forward_env: Option<Vec<String>>,
}

#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    #[error("{0}: not a bare git repository (no HEAD, objects/ and refs/, or core.bare is false)")]
    NotBare(PathBuf),
    #[error("{path}: a {hook} hook that is not pushguard's is already there; pushguard will not overwrite it. Re-run with --chain to keep it and run it before pushguard's, or remove it")]
    ForeignHook { path: PathBuf, hook: String },
    #[error("{path}: the {hook} hook there finds what it runs by its own name ($0): renamed to {hook}.pushguard-chained it would silently run none of it (Gitea's hook runs hooks/{hook}.d/*, gitolite's multi-hook driver runs hooks/{hook}.*). pushguard will neither replace nor chain it: add pushguard to that hook's own mechanism instead (a script in hooks/{hook}.d/, a gitolite repo-specific hook; see docs/operations.md)")]
    RunsByItsName { path: PathBuf, hook: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("mode must be atomic or per-ref, not {0:?}")]
    BadMode(String),
    #[error("{path}: git config failed: {message}")]
    GitConfig { path: PathBuf, message: String },
    #[error("{path}: core.hooksPath is {hooks_path}, so git would never run the hooks pushguard installs in {path}/hooks and every push would go unjudged. Unset it for this repository (git config --unset core.hooksPath, or in the system or global config of the user git runs as)")]
    HooksPathElsewhere { path: PathBuf, hooks_path: String },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> InstallError + '_ {
    move |source| InstallError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Does `dir` look like a bare repository?
pub fn is_bare_repo(dir: &Path) -> bool {
    dir.join("HEAD").is_file() && dir.join("objects").is_dir() && dir.join("refs").is_dir()
}

/// What `install` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Installed {
    /// Hooks written (or rewritten).
    Written,
    /// Hooks written, a foreign hook chained.
    Chained(Vec<String>),
}

/// Install the hooks into `repo` and write its `pushguard.*` settings. Idempotent.
pub fn install(repo: &Path, opts: &InstallOptions) -> Result<Installed, InstallError> {
    if !is_bare_repo(repo) || git_config_get(repo, "core.bare").as_deref() == Some("false") {
        return Err(InstallError::NotBare(repo.to_path_buf()));
    }
    let mode = match (opts.mode, git_config_get(repo, "pushguard.mode")) {
        (Some(m), _) => m,
        (None, None) => Mode::Atomic,
        (None, Some(text)) => Mode::parse(&text).ok_or(InstallError::BadMode(text))?,
    };
    let hook = mode.hook();
    let other = if hook == "update" {
        "pre-receive"
    } else {
        "update"
    };
    let hooks_dir = repo.join("hooks");
    fs::create_dir_all(&hooks_dir).map_err(io(&hooks_dir))?;
    // Refuse before writing anything.
    if let Some(elsewhere) = hooks_path_elsewhere(repo, &hooks_dir) {
        return Err(InstallError::HooksPathElsewhere {
            path: repo.to_path_buf(),
            hooks_path: elsewhere,
        });
    }
    let path = hooks_dir.join(hook);
    let mut chained = Vec::new();
    if let Ok(text) = fs::read(&path) {
        if !String::from_utf8_lossy(&text).contains(MARKER) {
            // Checked first so that the advice is not --chain, which would silence it.
            if runs_by_its_name(&text) {
                return Err(InstallError::RunsByItsName {
                    path,
                    hook: hook.to_string(),
                });
            }
            if !opts.chain {
                return Err(InstallError::ForeignHook {
                    path,
                    hook: hook.to_string(),
                });
            }
            let to = hooks_dir.join(format!("{hook}.pushguard-chained"));
            fs::rename(&path, &to).map_err(io(&path))?;
            chained.push(hook.to_string());
        }
    }
    let mut settings: Vec<(&str, String)> = vec![
        (
            "pushguard.socket",
            opts.socket.to_string_lossy().into_owned(),
        ),
        ("pushguard.mode", mode.as_str().to_string()),
        // Lets pushers send `git push -o ...` options (used for audited bypasses).
        ("receive.advertisePushOptions", "true".to_string()),
    ];
    if let Some(v) = opts.on_error {
        settings.push(("pushguard.onError", v.as_str().to_string()));
    }
    if let Some(v) = opts.timeout_ms {
        settings.push(("pushguard.timeout", v.to_string()));
    }
    if let Some(v) = &opts.audit_log {
        settings.push(("pushguard.auditLog", v.to_string_lossy().into_owned()));
    }
    let current = crate::env::HookConfig::read_raw(repo).unwrap_or_default();
    for (k, v) in settings {
        let now = current
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(k))
            .map(|(_, v)| v.as_str());
        if now != Some(v.as_str()) {
            git_config(repo, &[k, &v])?;
        }
    }
    if let Some(want) = &opts.forward_env {
        let have: Vec<&str> = current
            .iter()
            .filter(|(k, _)| k == "pushguard.forwardenv")
            .map(|(_, v)| v.trim())
            .collect();
        if have != *want {
            // Exit 5: there was none to unset.
            let _ = git_config(repo, &["--unset-all", "pushguard.forwardEnv"]);
            for v in want {
                git_config(repo, &["--add", "pushguard.forwardEnv", v])?;
            }
        }
    }
    // Settings first, hooks last: a hook never runs without its settings.
    let has_chain = hooks_dir.join(format!("{hook}.pushguard-chained")).exists();
    write_executable(&path, &hook_script(hook, &opts.binary, has_chain))?;
    // The other mode's hook, if it is ours, goes (a chained hook it kept comes back).
    let other_path = hooks_dir.join(other);
    if fs::read(&other_path)
        .map(|t| String::from_utf8_lossy(&t).contains(MARKER))
        .unwrap_or(false)
    {
        let kept = hooks_dir.join(format!("{other}.pushguard-chained"));
        if kept.exists() {
            fs::rename(&kept, &other_path).map_err(io(&kept))?;
        } else {
            fs::remove_file(&other_path).map_err(io(&other_path))?;
        }
    }
    Ok(if chained.is_empty() {
        Installed::Written
    } else {
        Installed::Chained(chained)
    })
}

/// Does a hook script find what it runs by its own name? Gitea's `pre-receive` runs
/// `hooks/$(basename $0).d/*` and gitolite's multi-hook driver `$0.*`; renamed for chaining they
/// would run nothing and exit 0, silently dropping the server's own checks. A binary cannot be
/// read this way and is chained as before.
pub fn runs_by_its_name(text: &[u8]) -> bool {
    if text.contains(&0) {
        return false;
    }
    let text = String::from_utf8_lossy(text);
    ["$0", "${0", "BASH_SOURCE", "argv[0]", "__file__"]
        .iter()
        .any(|m| text.contains(m))
}

/// For a server's hook dispatcher (a `hook` that [`runs_by_its_name`]): the first script it
/// runs that runs pushguard's hook client, among Gitea's `hooks/<hook>.d/*` and gitolite's
/// `hooks/<hook>.*` (executable files, links followed).
pub fn dispatched_pushguard(hooks_dir: &Path, hook: &str) -> Option<PathBuf> {
    let listed = |dir: &Path| -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = fs::read_dir(dir)
            .map(|it| it.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        v.sort();
        v
    };
    let prefix = format!("{hook}.");
    let candidates = listed(&hooks_dir.join(format!("{hook}.d")))
        .into_iter()
        .chain(listed(hooks_dir).into_iter().filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&prefix) && !n.ends_with(".sample"))
        }));
    candidates.into_iter().find(|p| {
        let executable = fs::metadata(p)
            .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            .unwrap_or(false);
        executable
            && fs::read(p)
                .map(|t| {
                    let t = String::from_utf8_lossy(&t);
                    t.contains("pushguard-hook") || t.contains("pushguard hook")
                })
                .unwrap_or(false)
    })
}

/// `core.hooksPath` as git sees it for `repo` (its own, global and system config), when it
/// sends git to another directory than `hooks_dir`.
pub fn hooks_path_elsewhere(repo: &Path, hooks_dir: &Path) -> Option<String> {
    let value = git_config_get(repo, "core.hooksPath")?;
    if value.is_empty() {
        return None;
    }
    // Relative paths are relative to where hooks run: the repository itself when it is bare.
    let resolved = repo.join(&value);
    let same = match (fs::canonicalize(&resolved), fs::canonicalize(hooks_dir)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    (!same).then_some(value)
}

/// Is `hooks_dir/name` one of pushguard's hooks, executable?
pub fn is_our_hook(hooks_dir: &Path, name: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let path = hooks_dir.join(name);
    let executable = fs::metadata(&path)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false);
    executable
        && fs::read(&path)
            .map(|t| String::from_utf8_lossy(&t).contains(MARKER))
            .unwrap_or(false)
}

/// Is one of pushguard's hooks installed in `repo`?
pub fn is_installed(repo: &Path) -> bool {
    HOOKS.iter().any(|h| {
        fs::read(repo.join("hooks").join(h))
            .map(|t| String::from_utf8_lossy(&t).contains(MARKER))
            .unwrap_or(false)
    })
}

/// Quote for a POSIX shell.
fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// `binary` is `pushguard-hook` (the small hook-only program, `pushguard-hook HOOK ...`) or
/// `pushguard` (`pushguard hook HOOK ...`).
fn hook_script(hook: &str, binary: &Path, chain: bool) -> String {
    let slim = binary.file_name().is_some_and(|n| n == "pushguard-hook");
    let mut bin = sh_quote(&binary.to_string_lossy());
    if !slim {
        bin.push_str(" hook");
    }
    let mut s = format!(
        "#!/bin/sh\n# {MARKER}: written by `pushguard install`; reinstalling rewrites this file.\n# Settings: git config pushguard.* in this repository.\n"
    );
    match (hook, chain) {
        ("pre-receive", true) => s.push_str(&format!(
            "# The hook that was here before runs first, with the same input.\ninput=$(cat)\nprintf '%s\\n' \"$input\" | \"$(dirname \"$0\")/pre-receive.pushguard-chained\" || exit $?\nprintf '%s\\n' \"$input\" | exec {bin} pre-receive\n"
        )),
        (_, true) => s.push_str(&format!(
            "# The hook that was here before runs first.\n\"$(dirname \"$0\")/{hook}.pushguard-chained\" \"$@\" || exit $?\nexec {bin} {hook} \"$@\"\n"
        )),
        (_, false) => s.push_str(&format!("exec {bin} {hook} \"$@\"\n")),
    }
    s
}

fn write_executable(path: &Path, text: &str) -> Result<(), InstallError> {
    // Write beside and rename, so a push running right now never sees half a script.
    let tmp = path.with_extension("pushguard-tmp");
    fs::write(&tmp, text).map_err(io(&tmp))?;
    fs::set_permissions(&tmp, fs::Permissions::from_mode(0o755)).map_err(io(&tmp))?;
    fs::rename(&tmp, path).map_err(io(path))
}

fn git_config_get(repo: &Path, key: &str) -> Option<String> {
    let out = Command::new("git")
        .arg("--git-dir")
        .arg(repo)
        .args(["config", "--get", key])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// `git config ARGS` in `repo`.
fn git_config(repo: &Path, args: &[&str]) -> Result<(), InstallError> {
    let out = Command::new("git")
        .arg("--git-dir")
        .arg(repo)
        .arg("config")
        .args(args)
        .output()
        .map_err(io(repo))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(InstallError::GitConfig {
            path: repo.to_path_buf(),
            message: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        })
    }
}

/// Every bare repository under `root` (recursively; not descending into repositories).
pub fn find_bare_repos(root: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        if is_bare_repo(&dir) {
            found.push(dir);
            continue;
        }
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            // Do not follow symlinks: a link loop must not hang the scan.
            if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                stack.push(e.path());
            }
        }
    }
    found.sort();
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 16: Gitea's hook and gitolite's driver run by their own name; gitolite's update
    /// hook and an ordinary legacy hook do not.
    #[test]
    fn hooks_that_run_by_their_own_name_are_recognised() {
        assert!(runs_by_its_name(
            b"#!/usr/bin/env bash\nhookname=$(basename $0)\nfor hook in ${GIT_DIR}/hooks/${hookname}.d/*; do :; done\n"
        ));
        assert!(runs_by_its_name(b"#!/bin/sh\nfor h in $0.*; do :; done\n"));
        assert!(!runs_by_its_name(
            b"#!/usr/bin/perl\nuse lib $ENV{GL_LIBDIR};\nuse Gitolite::Hooks::Update;\nupdate();\nexit 1;\n"
        ));
        assert!(!runs_by_its_name(b"#!/bin/sh\ncat >/dev/null\nexit 0\n"));
        assert!(!runs_by_its_name(b"\x7fELF\0\0$0"));
    }

    #[test]
    fn chaining_leaves_a_hook_that_runs_by_its_own_name_alone() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ok = Command::new("git")
            .args(["init", "-q", "--bare"])
            .arg(dir.path())
            .status()
            .expect("git")
            .success();
        assert!(ok);
        let hook = dir.path().join("hooks/pre-receive");
        let text = "#!/bin/sh\nfor h in $0.*; do \"$h\" || exit 1; done\n";
        write_executable(&hook, text).expect("write");
        let opts = InstallOptions {
            binary: PathBuf::from("/usr/bin/pushguard-hook"),
            socket: PathBuf::from("/run/pg.sock"),
            chain: true,
            ..InstallOptions::default()
        };
        let err = install(dir.path(), &opts).expect_err("refused");
        assert!(matches!(err, InstallError::RunsByItsName { .. }), "{err}");
        let plain = InstallOptions {
            chain: false,
            ..opts.clone()
        };
        let err = install(dir.path(), &plain).expect_err("refused");
        assert!(
            matches!(err, InstallError::RunsByItsName { .. }),
            "not advised to --chain: {err}"
        );
        assert_eq!(fs::read_to_string(&hook).expect("hook"), text);
        assert!(!dir
            .path()
            .join("hooks/pre-receive.pushguard-chained")
            .exists());
    }

    #[test]
    fn quoting_survives_quotes_and_spaces() {
        assert_eq!(sh_quote("/opt/my dir/it's"), r"'/opt/my dir/it'\''s'");
    }

    #[test]
    fn scripts_exec_the_binary_and_carry_the_marker() {
        let s = hook_script("update", Path::new("/usr/bin/pushguard"), false);
        assert!(s.contains(MARKER));
        assert!(s.contains("exec '/usr/bin/pushguard' hook update \"$@\""));
        let s = hook_script("pre-receive", Path::new("/usr/bin/pushguard-hook"), false);
        assert!(
            s.contains("exec '/usr/bin/pushguard-hook' pre-receive \"$@\""),
            "{s}"
        );
        let c = hook_script("pre-receive", Path::new("/usr/bin/pushguard"), true);
        assert!(c.contains("pre-receive.pushguard-chained"));
    }
}
