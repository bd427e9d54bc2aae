//! Every `git` subprocess of the daemon: what gix cannot do for us (git's revision syntax, a
//! streaming topological walk, `merge-tree`), each run by [`git_command`], which isolates git
//! from the daemon's environment and configuration.

use super::HashKind;
use anyhow::{bail, Context, Result};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Stdio};

/// A `git` command that sees only what it is given: an empty environment but `PATH` (so no
/// `GIT_DIR`, `GIT_CONFIG_PARAMETERS`, quarantine or namespace variables leak in from whoever
/// started the daemon), no system or global configuration, no replace refs, no grafts, no
/// hooks and no attributes files outside the repository. Every git subprocess of the daemon
/// starts here.
pub fn git_command() -> std::process::Command {
    let mut cmd = std::process::Command::new("git");
    cmd.env_clear();
    if let Some(path) = std::env::var_os("PATH") {
        cmd.env("PATH", path);
    }
    cmd.env("LC_ALL", "C")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_NO_REPLACE_OBJECTS", "1")
        .env("GIT_GRAFT_FILE", "/dev/null")
        .env("GIT_ATTR_NOSYSTEM", "1")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_OPTIONAL_LOCKS", "0")
        .args([
            "-c",
            "core.hooksPath=/dev/null",
            "-c",
            "core.attributesFile=/dev/null",
            "-c",
            "core.fsmonitor=false",
            // With no global configuration, an admin's `safe.directory` is gone too; what the
            // check guards against (programs named by a repository's config) is switched off
            // above instead.
            "-c",
            "safe.directory=*",
        ]);
    cmd
}

/// Run git in `git_dir` with `args`; its standard output, or an error with its standard error.
fn output(git_dir: &Path, args: &[&str], revs: &[String]) -> Result<Vec<u8>> {
    let out = git_command()
        .arg("--git-dir")
        .arg(git_dir)
        .args(args)
        .args(revs)
        .output()
        .with_context(|| format!("cannot run git {}", args.join(" ")))?;
    if !out.status.success() {
        bail!(
            "git {} {} failed: {}",
            args.join(" "),
            revs.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(out.stdout)
}

/// The commits `revs` name, in git's revision syntax (newest first).
pub fn rev_list(git_dir: &Path, kind: HashKind, revs: &[String]) -> Result<Vec<super::ObjectId>> {
    if let Some(r) = revs
        .iter()
        .find(|r| r.starts_with('-') && r.as_str() != "--all")
    {
        bail!("{r:?} is not a revision (options go before the range)");
    }
    let mut args: Vec<String> = revs.to_vec();
    args.push("--".to_string());
    let stdout = output(git_dir, &["rev-list"], &args)?;
    let text = std::str::from_utf8(&stdout).context("git rev-list printed something not UTF-8")?;
    text.lines()
        .map(|l| super::parse_id(kind, l.trim()))
        .collect::<Result<_>>()
        .context("git rev-list printed something that is not an object id")
}

/// How many commits `revs` name.
pub fn count_commits(git_dir: &Path, revs: &[String]) -> Result<u64> {
    let stdout = output(git_dir, &["rev-list", "--count"], revs)?;
    String::from_utf8_lossy(&stdout)
        .trim()
        .parse()
        .context("git rev-list --count printed something that is not a number")
}

/// The object ids of the revisions `revs` includes (not the `^excluded` ones).
pub fn included_revisions(
    git_dir: &Path,
    kind: HashKind,
    revs: &[String],
) -> Result<Vec<super::ObjectId>> {
    let stdout = output(git_dir, &["rev-parse", "--revs-only"], revs)?;
    Ok(String::from_utf8_lossy(&stdout)
        .lines()
        .filter_map(|l| super::parse_id(kind, l.trim()).ok())
        .collect())
}

/// `git patch-id --stable` of a patch (`git diff-tree -p` output): `None` for an empty one.
pub fn patch_id(patch: &[u8]) -> Result<Option<String>> {
    use std::io::Write;
    let mut child = git_command()
        .args(["patch-id", "--stable"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot run git patch-id")?;
    let mut stdin = child.stdin.take().context("git patch-id has no input")?;
    let patch = patch.to_vec();
    // Write on another thread: a large patch would fill the pipe while git waits to be read.
    let writer = std::thread::spawn(move || stdin.write_all(&patch));
    let out = child.wait_with_output().context("git patch-id")?;
    writer
        .join()
        .map_err(|_| anyhow::anyhow!("the patch writer panicked"))?
        .context("cannot write the patch to git patch-id")?;
    if !out.status.success() {
        bail!(
            "git patch-id failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .map(str::to_string))
}

/// The git directory of a repository or work tree.
pub fn absolute_git_dir(repo: &Path) -> Result<PathBuf> {
    let out = git_command()
        .arg("-C")
        .arg(repo)
        .args(["rev-parse", "--absolute-git-dir"])
        .output()
        .context("cannot run git rev-parse")?;
    if !out.status.success() {
        bail!("{} is not a git repository", repo.display());
    }
    Ok(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}

/// `git rev-list --topo-order --parents`, streamed: one line per commit, `<id> <parent>...`,
/// children before their parents.
pub struct TopoWalk {
    child: Child,
    revs: Vec<String>,
}

impl TopoWalk {
    /// Start the walk of `revs` in `git_dir`.
    pub fn start(git_dir: &Path, revs: &[String]) -> Result<TopoWalk> {
        let child = git_command()
            .arg("--git-dir")
            .arg(git_dir)
            .args(["rev-list", "--topo-order", "--parents"])
            .args(revs)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context("cannot run git rev-list")?;
        Ok(TopoWalk {
            child,
            revs: revs.to_vec(),
        })
    }

    /// The lines, to read on another thread.
    pub fn lines(&mut self) -> Result<ChildStdout> {
        self.child
            .stdout
            .take()
            .context("git rev-list has no output")
    }

    /// Wait for git; an error when it failed (with what it printed).
    pub fn finish(mut self) -> Result<()> {
        let status = self.child.wait().context("git rev-list")?;
        let mut err = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            let _ = e.read_to_string(&mut err);
        }
        if !status.success() {
            bail!("git rev-list {}: {}", self.revs.join(" "), err.trim());
        }
        Ok(())
    }
}
