//! `pushguard doctor`: checks an installation the way an admin debugs one — git, the policy and
//! every key it names, the state directory and its private files, the socket and whether a
//! daemon answers on it, and in every repository the hook git will run. One line per check,
//! with the fix when it fails.

use crate::bundle::PolicyBundle;
use hooks::env::HookConfig;
use hooks::install;
use std::fmt::Write as _;
use std::io::ErrorKind;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// What to check.
pub struct DoctorArgs {
    pub repos: Option<PathBuf>,
    pub socket: PathBuf,
    pub state_dir: PathBuf,
    pub policy: Option<PathBuf>,
}

/// How one check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    Warn,
    Fail,
}

/// One check: what, how it came out, the detail, and for a failure what to do.
#[derive(Debug, Clone)]
pub struct Check {
    pub status: Status,
    pub what: String,
    pub detail: String,
    pub fix: Option<String>,
}

fn ok(what: impl Into<String>, detail: impl Into<String>) -> Check {
    Check {
        status: Status::Ok,
        what: what.into(),
        detail: detail.into(),
        fix: None,
    }
}

fn fail(what: impl Into<String>, detail: impl Into<String>, fix: impl Into<String>) -> Check {
    Check {
        status: Status::Fail,
        what: what.into(),
        detail: detail.into(),
        fix: Some(fix.into()),
    }
}

fn warn(what: impl Into<String>, detail: impl Into<String>, fix: impl Into<String>) -> Check {
    Check {
        status: Status::Warn,
        ..fail(what, detail, fix)
    }
}

/// The oldest git whose features the daemon uses (`git merge-tree --write-tree`).
const MIN_GIT: (u32, u32) = (2, 38);

/// Run every check.
pub fn run(args: &DoctorArgs) -> Vec<Check> {
    let mut out = vec![git_version()];
    out.push(policy(args.policy.as_deref()));
    out.extend(state_dir(&args.state_dir));
    out.push(socket(&args.socket));
    if let Some(root) = &args.repos {
        out.extend(repositories(root, &args.socket));
    }
    out
}

/// The checks as text, one line each (and an indented fix under a failure).
pub fn render(checks: &[Check]) -> String {
    let mut s = String::new();
    for c in checks {
        let tag = match c.status {
            Status::Ok => "ok  ",
            Status::Warn => "WARN",
            Status::Fail => "FAIL",
        };
        let _ = writeln!(s, "{tag} {}: {}", c.what, c.detail);
        if let Some(fix) = &c.fix {
            let _ = writeln!(s, "     fix: {fix}");
        }
    }
    let failed = checks.iter().filter(|c| c.status == Status::Fail).count();
    let warned = checks.iter().filter(|c| c.status == Status::Warn).count();
    let _ = writeln!(
        s,
        "{} checks: {} ok, {warned} warnings, {failed} failed",
        checks.len(),
        checks.len() - failed - warned
    );
    s
}

fn git_version() -> Check {
    let out = crate::git::git_command().arg("--version").output();
    let text = match out {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).trim().to_string(),
        Ok(o) => {
            return fail(
                "git",
                format!(
                    "`git --version` failed: {}",
                    String::from_utf8_lossy(&o.stderr).trim()
                ),
                "install git (scripts/install-deps.sh, or your package manager)",
            )
        }
        Err(e) => {
            return fail(
                "git",
                format!("cannot run git: {e}"),
                "install git and put it on the daemon's PATH",
            )
        }
    };
    let version = text
        .split_whitespace()
        .nth(2)
        .map(|v| {
            v.split('.')
                .take(2)
                .map(|n| n.parse::<u32>().unwrap_or(0))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    match version.as_slice() {
        [major, minor] if (*major, *minor) >= MIN_GIT => ok("git", text),
        _ => fail(
            "git",
            format!("{text}: older than {}.{}", MIN_GIT.0, MIN_GIT.1),
            format!(
                "install git {}.{} or later (merge checks use `git merge-tree --write-tree`)",
                MIN_GIT.0, MIN_GIT.1
            ),
        ),
    }
}

fn policy(path: Option<&Path>) -> Check {
    let name = path.map_or("the embedded default policy".to_string(), |p| {
        p.display().to_string()
    });
    match PolicyBundle::load(path) {
        Ok(l) => {
            let warnings = l.policy.warnings.len();
            let detail = format!(
                "{name}: valid, {} rulesets, {} keys loaded{}",
                l.policy.rulesets.len(),
                l.keyring.len(),
                if warnings > 0 {
                    format!(", {warnings} warnings (pushguard policy check shows them)")
                } else {
                    String::new()
                }
            );
            ok("policy", detail)
        }
        Err(e) => fail(
            "policy",
            e.to_string(),
            "correct the policy at the place named (pushguard policy check FILE re-checks it); the daemon keeps its last good policy until then",
        ),
    }
}

fn state_dir(dir: &Path) -> Vec<Check> {
    let what = "state directory";
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => {
            return vec![fail(
                what,
                format!("{} is not a directory", dir.display()),
                "point --state-dir at a directory",
            )]
        }
        Err(e) if e.kind() == ErrorKind::NotFound => {
            return vec![warn(
                what,
                format!("{} does not exist yet", dir.display()),
                "it is made by `pushguard serve --state-dir` on its first start",
            )]
        }
        Err(e) => {
            return vec![fail(
                what,
                format!("cannot read {}: {e}", dir.display()),
                "give the daemon's user access to it",
            )]
        }
    }
    let mut out = Vec::new();
    match tempfile::NamedTempFile::new_in(dir) {
        Ok(_) => out.push(ok(what, format!("{} is writable", dir.display()))),
        Err(e) => out.push(fail(
            what,
            format!("cannot write in {}: {e}", dir.display()),
            "make it writable by the daemon's user and free some space: a decision that cannot be audited rejects the push",
        )),
    }
    for file in ["audit.jsonl", "pushguard.db", crate::fpkey::FILE] {
        let path = dir.join(file);
        match std::fs::metadata(&path) {
            Ok(m) if m.permissions().mode() & 0o077 != 0 => out.push(fail(
                file,
                format!(
                    "{} may be read by others (mode {:o})",
                    path.display(),
                    m.permissions().mode() & 0o777
                ),
                format!("chmod 600 {}", path.display()),
            )),
            Ok(_) => out.push(ok(file, "readable by its owner only")),
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => out.push(fail(
                file,
                format!("cannot read {}: {e}", path.display()),
                "give the daemon's user access to it",
            )),
        }
    }
    out
}

fn socket(path: &Path) -> Check {
    let what = "daemon";
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == ErrorKind::NotFound => {
            return fail(
                what,
                format!("no socket at {}: the daemon is not running", path.display()),
                "start it: pushguard serve --repos DIR (with the same --socket or --state-dir); meanwhile every push to a fail-closed repository is rejected",
            )
        }
        Err(e) => {
            return fail(
                what,
                format!("cannot look at {}: {e}", path.display()),
                "give this user access to the socket's directory",
            )
        }
    };
    if !meta.file_type().is_socket() {
        return fail(
            what,
            format!("{} is not a socket", path.display()),
            "remove it and restart the daemon",
        );
    }
    let mode = meta.permissions().mode() & 0o777;
    let who = format!(
        "socket {} (owner uid {}, mode {mode:o})",
        path.display(),
        meta.uid()
    );
    match std::os::unix::net::UnixStream::connect(path) {
        // Closed before a byte is sent: the daemon takes it for a probe.
        Ok(_) => ok(what, format!("answering on {who}")),
        Err(e) if e.kind() == ErrorKind::ConnectionRefused => fail(
            what,
            format!("nobody listens on {who}: a stale socket, the daemon is not running"),
            "start the daemon (it replaces the stale socket); meanwhile every push to a fail-closed repository is rejected",
        ),
        Err(e) if e.kind() == ErrorKind::PermissionDenied => fail(
            what,
            format!("permission denied on {who}"),
            "the user git runs hooks as must be able to connect: run the daemon as that user, or with --socket-mode 660 and a shared group, or --allow-uid",
        ),
        Err(e) => fail(
            what,
            format!("cannot connect to {who}: {e}"),
            "check the socket path and restart the daemon",
        ),
    }
}

fn repositories(root: &Path, socket: &Path) -> Vec<Check> {
    let repos = install::find_bare_repos(root);
    if repos.is_empty() {
        return vec![warn(
            "repositories",
            format!("no bare repository under {}", root.display()),
            "check --repos",
        )];
    }
    repos.iter().map(|r| repository(r, socket)).collect()
}

fn repository(repo: &Path, socket: &Path) -> Check {
    let what = repo.display().to_string();
    let config = match HookConfig::read(repo) {
        Ok(c) => c,
        Err(e) => {
            return fail(
                what,
                e,
                "give the daemon's user read access to the repository",
            )
        }
    };
    let hooks_dir = repo.join("hooks");
    let hook = if config.per_ref {
        install::Mode::PerRef
    } else {
        install::Mode::Atomic
    }
    .hook();
    let mode = if config.per_ref { "per-ref" } else { "atomic" };
    let path = hooks_dir.join(hook);
    let reinstall = format!("pushguard install {what} (or let the daemon install it)");
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(_) => {
            return fail(
                what,
                format!("no {hook} hook, which {mode} mode needs: pushes are not judged"),
                reinstall,
            )
        }
    };
    if !text.contains(install::MARKER) && install::runs_by_its_name(text.as_bytes()) {
        return dispatched(&what, &hooks_dir, hook, &config, socket);
    }
    if !text.contains(install::MARKER) {
        return fail(
            what,
            format!(
                "{} is not pushguard's hook: pushes are not judged",
                path.display()
            ),
            format!(
                "pushguard install --chain {} keeps it and runs it before pushguard's",
                repo.display()
            ),
        );
    }
    if !install::is_our_hook(&hooks_dir, hook) {
        return fail(
            what,
            format!(
                "{} is not executable: git skips it and pushes are not judged",
                path.display()
            ),
            format!("chmod 755 {}", path.display()),
        );
    }
    match hook_program(&text) {
        Some(p) if is_executable(&p) => {}
        Some(p) => {
            return fail(
                what,
                format!(
                    "the hook runs {}, which is missing or not executable: every push is rejected",
                    p.display()
                ),
                reinstall,
            )
        }
        None => {
            return fail(
                what,
                format!("cannot tell which program {} runs", path.display()),
                reinstall,
            )
        }
    }
    if let Some(elsewhere) = install::hooks_path_elsewhere(repo, &hooks_dir) {
        return fail(
            what,
            format!("core.hooksPath is {elsewhere}: git never runs the installed hook"),
            "git config --unset core.hooksPath (in this repository, or the global or system config of the user git runs as)",
        );
    }
    match config.socket.as_deref() {
        Some(s) if Path::new(s) == socket => {}
        Some(s) => {
            return fail(
                what,
                format!(
                    "its hook asks the daemon at {s}, not at {}",
                    socket.display()
                ),
                format!("{reinstall} with --socket {}", socket.display()),
            )
        }
        None => {
            return fail(
                what,
                "pushguard.socket is not set: the hook cannot find the daemon".to_string(),
                reinstall,
            )
        }
    }
    let on_error = if config.fail_open {
        "fail_open"
    } else {
        "fail_closed"
    };
    ok(
        what,
        format!("{hook} hook installed ({mode} mode, {on_error})"),
    )
}

/// A repository whose hook is the git server's dispatcher (Gitea's `pre-receive`, gitolite's
/// multi-hook driver): pushguard runs when one of the scripts it dispatches to runs it.
fn dispatched(
    what: &str,
    hooks_dir: &Path,
    hook: &str,
    config: &HookConfig,
    socket: &Path,
) -> Check {
    let Some(via) = install::dispatched_pushguard(hooks_dir, hook) else {
        return fail(
            what,
            format!(
                "{}/{hook} is the git server's hook dispatcher and none of the scripts it runs is pushguard's: pushes are not judged",
                hooks_dir.display()
            ),
            format!("add pushguard's script to it (hooks/{hook}.d/ for Gitea, a repo-specific hook for gitolite: docs/operations.md)"),
        );
    };
    match config.socket.as_deref() {
        Some(s) if Path::new(s) == socket => ok(
            what,
            format!(
                "{hook} is the git server's hook dispatcher; it runs pushguard from {}",
                via.display()
            ),
        ),
        Some(s) => fail(
            what,
            format!(
                "its hook asks the daemon at {s}, not at {}",
                socket.display()
            ),
            format!("git config pushguard.socket {}", socket.display()),
        ),
        None => fail(
            what,
            "pushguard.socket is not set: the hook cannot find the daemon",
            format!("git config pushguard.socket {}", socket.display()),
        ),
    }
}

/// The program an installed hook script `exec`s (the last `exec '…'`: a chained hook runs
/// the previous hook first).
fn hook_program(script: &str) -> Option<PathBuf> {
    let start = script.rfind("exec '")? + "exec '".len();
    // sh_quote writes a ' inside as '\''.
    let mut path = String::new();
    let mut rest = &script[start..];
    loop {
        let end = rest.find('\'')?;
        path.push_str(&rest[..end]);
        rest = &rest[end..];
        match rest.strip_prefix("'\\''") {
            Some(r) => {
                path.push('\'');
                rest = r;
            }
            None => return Some(PathBuf::from(path)),
        }
    }
}

fn is_executable(p: &Path) -> bool {
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_program_a_hook_runs() {
        let s =
            "#!/bin/sh\n# pushguard-hook v1\nexec '/usr/bin/pushguard-hook' pre-receive \"$@\"\n";
        assert_eq!(
            hook_program(s),
            Some(PathBuf::from("/usr/bin/pushguard-hook"))
        );
        let chained = "input=$(cat)\nprintf x | \"$(dirname \"$0\")/pre-receive.pushguard-chained\" || exit $?\nprintf x | exec '/opt/it'\\''s/pushguard' hook pre-receive\n";
        assert_eq!(
            hook_program(chained),
            Some(PathBuf::from("/opt/it's/pushguard"))
        );
        assert_eq!(hook_program("#!/bin/sh\necho hi\n"), None);
    }

    #[test]
    fn a_state_dir_with_a_readable_key_fails() {
        let dir = tempfile::tempdir().expect("tempdir");
        crate::fpkey::load_or_create(dir.path()).expect("key");
        let checks = state_dir(dir.path());
        assert!(checks.iter().all(|c| c.status == Status::Ok), "{checks:?}");
        let key = dir.path().join(crate::fpkey::FILE);
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o640)).expect("chmod");
        let checks = state_dir(dir.path());
        let bad = checks
            .iter()
            .find(|c| c.status == Status::Fail)
            .expect("a failure");
        assert_eq!(bad.what, crate::fpkey::FILE);
        assert!(bad
            .fix
            .as_deref()
            .is_some_and(|f| f.starts_with("chmod 600")));
    }

    #[test]
    fn a_socket_nobody_listens_on_is_stale() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s.sock");
        assert!(socket(&path).detail.contains("no socket"));
        let listener = std::os::unix::net::UnixListener::bind(&path).expect("bind");
        assert_eq!(socket(&path).status, Status::Ok);
        drop(listener);
        let c = socket(&path);
        assert_eq!(c.status, Status::Fail);
        assert!(c.detail.contains("stale socket"), "{c:?}");
    }

    #[test]
    fn the_report_tags_each_check_and_counts_them() {
        let checks = [
            ok("git", "git version 2.43.0"),
            warn(
                "state directory",
                "/x does not exist yet",
                "it is made on start",
            ),
            fail("daemon", "no socket at /s", "start it"),
        ];
        assert_eq!(
            render(&checks),
            "ok   git: git version 2.43.0\n\
             WARN state directory: /x does not exist yet\n\
             \x20    fix: it is made on start\n\
             FAIL daemon: no socket at /s\n\
             \x20    fix: start it\n\
             3 checks: 1 ok, 1 warnings, 1 failed\n"
        );
    }

    #[test]
    fn the_policy_check_loads_it_as_the_daemon_would() {
        let c = policy(None);
        assert_eq!(c.status, Status::Ok, "{c:?}");
        assert!(
            c.detail.starts_with("the embedded default policy: valid, "),
            "{}",
            c.detail
        );
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("policy.yaml");
        std::fs::write(
            &file,
            "version: 1\nrulesets: [{name: x, target: nowhere}]\n",
        )
        .expect("write");
        let c = policy(Some(&file));
        assert_eq!(c.status, Status::Fail);
        assert!(
            c.detail.contains(&file.display().to_string()),
            "{}",
            c.detail
        );
        assert!(c
            .fix
            .as_deref()
            .is_some_and(|f| f.contains("pushguard policy check")));
    }

    #[test]
    fn a_state_dir_that_is_missing_or_a_file_is_said_so() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = state_dir(&dir.path().join("state"));
        assert_eq!(missing.len(), 1);
        assert_eq!(missing[0].status, Status::Warn);
        let file = dir.path().join("file");
        std::fs::write(&file, "").expect("write");
        let c = state_dir(&file);
        assert_eq!(c[0].status, Status::Fail);
        assert!(c[0].detail.ends_with("is not a directory"), "{c:?}");
    }

    #[test]
    fn something_else_than_a_socket_at_the_socket_path_fails() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s.sock");
        std::fs::write(&path, "").expect("write");
        let c = socket(&path);
        assert_eq!(c.status, Status::Fail);
        assert!(c.detail.ends_with("is not a socket"), "{c:?}");
    }

    /// A bare repository with pushguard's hook installed as the daemon installs it, running
    /// `binary`, asking the daemon at `socket`.
    fn installed_repo(root: &Path, binary: &Path, socket: &Path) -> PathBuf {
        let repo = root.join("app.git");
        let init = std::process::Command::new("git")
            .args(["init", "--bare", "-q"])
            .arg(&repo)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .status()
            .expect("git");
        assert!(init.success());
        let opts = install::InstallOptions {
            binary: binary.to_path_buf(),
            socket: socket.to_path_buf(),
            ..Default::default()
        };
        install::install(&repo, &opts).expect("install");
        repo
    }

    /// Each way a repository's hook can fail to judge pushes is named, with its fix.
    #[test]
    fn a_repository_check_finds_what_stops_its_hook_from_judging() {
        let dir = tempfile::tempdir().expect("tempdir");
        let binary = dir.path().join("pushguard-hook");
        std::fs::write(&binary, "#!/bin/sh\n").expect("binary");
        std::fs::set_permissions(&binary, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let sock = dir.path().join("pushguard.sock");
        let repo = installed_repo(dir.path(), &binary, &sock);
        let hook = repo.join("hooks/pre-receive");
        let check = |socket: &Path| repository(&repo, socket);

        let c = check(&sock);
        assert_eq!(c.status, Status::Ok, "{c:?}");
        assert_eq!(
            c.detail,
            "pre-receive hook installed (atomic mode, fail_closed)"
        );

        let c = check(Path::new("/elsewhere.sock"));
        assert_eq!(c.status, Status::Fail);
        assert!(c.detail.contains("not at /elsewhere.sock"), "{c:?}");

        std::fs::set_permissions(&binary, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let c = check(&sock);
        assert!(
            c.detail
                .contains("missing or not executable: every push is rejected"),
            "{c:?}"
        );
        std::fs::set_permissions(&binary, std::fs::Permissions::from_mode(0o755)).expect("chmod");

        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let c = check(&sock);
        assert!(
            c.detail.contains("is not executable: git skips it"),
            "{c:?}"
        );
        assert_eq!(c.fix, Some(format!("chmod 755 {}", hook.display())));

        std::fs::write(&hook, "#!/bin/sh\nexit 0\n").expect("foreign hook");
        let c = check(&sock);
        assert!(c.detail.contains("is not pushguard's hook"), "{c:?}");
        assert!(c
            .fix
            .as_deref()
            .is_some_and(|f| f.starts_with("pushguard install --chain")));

        std::fs::remove_file(&hook).expect("rm");
        let c = check(&sock);
        assert_eq!(c.status, Status::Fail);
        assert!(c.detail.starts_with("no pre-receive hook"), "{c:?}");
    }
}
