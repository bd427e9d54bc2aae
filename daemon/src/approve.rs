//! `pushguard approve`: a reviewer, in their clone, signs their verdict on one ref update and
//! stores it as `refs/pushguard/approvals/<ref>/<reviewer>/<nonce>` (a blob holding the DSSE
//! envelope; see docs/approvals.md and docs/review.md); `--push` publishes it.
//!
//! It runs in the reviewer's own git environment (their configuration names the signing key:
//! `gpg.format`, `user.signingkey`), unlike the daemon's isolated git.

use anyhow::{bail, Context, Result};
use crypto::approval::{Envelope, Predicate, Statement, Verdict, SSH_NAMESPACE};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// What `pushguard approve` was asked.
pub struct ApproveArgs {
    pub repo: PathBuf,
    /// The ref the change goes to (`refs/heads/main` or `main`).
    pub ref_name: String,
    /// The ref's tip the change was reviewed against [default: `<remote>/<branch>`, or none
    /// when the ref does not exist there].
    pub base: Option<String>,
    /// The reviewed commit (the new tip).
    pub commit: String,
    pub verdict: Verdict,
    /// How long the approval counts, in seconds.
    pub expires_in: i64,
    /// The reviewer's name in the ref path (an identity name, user name or email of theirs)
    /// [default: `git config user.email`].
    pub reviewer: Option<String>,
    pub remote: String,
    pub push: bool,
    /// The policy file, when the reviewer has it: its digest goes into the approval.
    pub policy: Option<PathBuf>,
}

/// Run `pushguard approve`; prints the ref it wrote.
pub fn run(args: ApproveArgs) -> Result<()> {
    let git = |a: &[&str]| git_out(&args.repo, a);
    let target = if args.ref_name.starts_with("refs/") {
        args.ref_name.clone()
    } else {
        format!("refs/heads/{}", args.ref_name)
    };
    let commit = git(&[
        "rev-parse",
        "--verify",
        &format!("{}^{{commit}}", args.commit),
    ])
    .with_context(|| format!("{} is not a commit", args.commit))?;
    let tree = git(&["rev-parse", &format!("{commit}^{{tree}}")])?;
    let zero = "0".repeat(commit.len());
    let base = match &args.base {
        Some(b) => git(&["rev-parse", "--verify", &format!("{b}^{{commit}}")])
            .with_context(|| format!("{b} is not a commit"))?,
        None => {
            let short = target.trim_start_matches("refs/heads/");
            git(&[
                "rev-parse",
                "--verify",
                "-q",
                &format!("refs/remotes/{}/{short}", args.remote),
            ])
            .unwrap_or_else(|_| zero.clone())
        }
    };
    let patch_id = if base == zero {
        None
    } else {
        // The same diff the server makes (git's defaults, whatever this clone's config says).
        let diff = git_bytes(
            &args.repo,
            &[
                "diff-tree",
                "-p",
                "--no-color",
                "--no-ext-diff",
                "--no-textconv",
                "--no-renames",
                "--diff-algorithm=myers",
                &base,
                &commit,
            ],
        )?;
        crate::git::cli::patch_id(&diff)?
    };
    let reviewer = match &args.reviewer {
        Some(r) => r.clone(),
        None => git(&["config", "user.email"]).context(
            "name yourself with --as (your identity name in the policy) or set user.email",
        )?,
    };
    if reviewer.is_empty() || reviewer.contains('/') {
        bail!("{reviewer:?} cannot name a reviewer in a ref");
    }
    let policy_digest = match &args.policy {
        Some(p) => {
            use sha2::Digest;
            let text = std::fs::read(p).with_context(|| format!("cannot read {}", p.display()))?;
            format!("sha256:{}", hex::encode(sha2::Sha256::digest(&text)))
        }
        None => format!("sha256:{}", "0".repeat(64)),
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .context("the clock is before 1970")?;
    let nonce = {
        let mut bytes = [0u8; 16];
        getrandom(&mut bytes)?;
        hex::encode(bytes)
    };
    let statement = Statement::new(Predicate {
        target_ref: target.clone(),
        from_id: base.clone(),
        target_id: tree,
        reviewed_range: format!("{base}..{commit}"),
        patch_id,
        verdict: args.verdict,
        reviewer: reviewer.clone(),
        policy_digest,
        issued_at: now,
        expires_at: now + args.expires_in,
        nonce: nonce.clone(),
    });
    // Never sign what the server would refuse.
    statement
        .check()
        .context("this approval would not be valid")?;
    let mut envelope = Envelope::unsigned(&statement);
    let signature = sign(&args.repo, &envelope.pae())?;
    envelope
        .add_signature("", &signature)
        .context("git's signing program did not make a usable signature")?;
    let blob = git_stdin(
        &args.repo,
        &["hash-object", "-w", "--stdin"],
        envelope.to_json().as_bytes(),
    )?;
    let name = format!(
        "{}{}/{reviewer}/{}",
        crate::collect::APPROVALS_PREFIX,
        target.trim_start_matches("refs/"),
        &nonce[..12]
    );
    git(&["update-ref", &name, &blob])?;
    println!(
        "{} {target} at {} (base {}): {name}",
        args.verdict.as_str(),
        &commit[..commit.len().min(12)],
        &base[..base.len().min(12)]
    );
    if args.push {
        let status = Command::new("git")
            .arg("-C")
            .arg(&args.repo)
            .args(["push", &args.remote, &format!("{name}:{name}")])
            .status()
            .context("cannot run git push")?;
        if !status.success() {
            bail!("git push of {name} failed");
        }
    }
    Ok(())
}

/// Sign `data` as git would sign a commit in `repo`: `gpg.format ssh` with `user.signingkey`
/// (`ssh-keygen -Y sign`, under the approvals' namespace), else OpenPGP (`gpg`).
fn sign(repo: &Path, data: &[u8]) -> Result<Vec<u8>> {
    let format = git_out(repo, &["config", "gpg.format"]).unwrap_or_default();
    let key = git_out(repo, &["config", "user.signingkey"]).ok();
    let mut cmd = if format == "ssh" {
        let key = key.context("gpg.format is ssh but user.signingkey is not set")?;
        let mut c = Command::new("ssh-keygen");
        c.args(["-Y", "sign", "-n", SSH_NAMESPACE, "-f", &key]);
        c
    } else {
        let mut c = Command::new("gpg");
        c.args(["--batch", "--detach-sign", "--armor"]);
        if let Some(k) = key {
            c.args(["-u", &k]);
        }
        c
    };
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot run the signing program")?;
    child
        .stdin
        .take()
        .context("no stdin")?
        .write_all(data)
        .context("cannot write to the signing program")?;
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!(
            "signing failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(out.stdout)
}

fn git_bytes(repo: &Path, args: &[&str]) -> Result<Vec<u8>> {
    let out = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(args)
        .output()
        .context("cannot run git")?;
    if !out.status.success() {
        bail!(
            "git {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(out.stdout)
}

/// `git -C repo ARGS` in the user's own environment: its trimmed output, or an error with what
/// git printed.
pub fn git_out(repo: &Path, args: &[&str]) -> Result<String> {
    Ok(String::from_utf8_lossy(&git_bytes(repo, args)?)
        .trim()
        .to_string())
}

fn git_stdin(repo: &Path, args: &[&str], input: &[u8]) -> Result<String> {
    let mut child = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot run git")?;
    child.stdin.take().context("no stdin")?.write_all(input)?;
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!(
            "git {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Random bytes from the kernel.
fn getrandom(buf: &mut [u8]) -> Result<()> {
    use std::io::Read;
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(buf))
        .context("cannot read /dev/urandom")
}
