//! `pushguard`: guards bare git repositories on a server. `serve` runs the daemon (and installs
//! the hooks); the installed hooks run `pushguard hook ...`; `check` and `policy check` judge
//! and validate without the daemon.

use pushguard::git::{GitRead, Quarantine, RepoReader};
use pushguard::{bundle, collect, doctor, scan_cmd, server, state_dir, verify};

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use hooks::install::{self, InstallOptions, Installed};
use hooks::wire::HookKind;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "pushguard",
    version,
    about = "Server-side push protection for git: signed commits, protected branches and tags."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the daemon and install pushguard's hooks into every bare repository under --repos.
    Serve(ServeArgs),
    /// Install the hooks into bare repositories (idempotent).
    Install(InstallArgs),
    /// What the installed hooks run (git calls these).
    Hook {
        #[command(subcommand)]
        hook: HookCommand,
    },
    /// Judge ref updates in-process, without the daemon: exit 0 allowed, 1 rejected, 2 error.
    Check(CheckArgs),
    /// Scan a directory or a repository's history for secrets: exit 0 none, 1 found, 2 error,
    /// 3 incomplete (objects of the history could not be read; what was found is reported).
    Scan(ScanCli),
    /// Re-check the signatures of a repository's history without the daemon: exit 0 all good,
    /// 1 something is not, 2 error.
    Verify(VerifyCli),
    /// How the approvals of an update are judged: which count, which do not and why, and what
    /// is still missing: exit 0 the review requirements are met, 1 not, 2 error.
    Approvals(ApprovalsCli),
    /// Sign your review of a change as an approval (or a rejection) for the `pull_request`
    /// rule, stored as refs/pushguard/approvals/<ref>/<you>/<nonce>; --push publishes it.
    Approve(ApproveCli),
    /// Check an installation: git, the policy and its keys, the state directory, the socket and
    /// the daemon behind it, the hooks of every repository: exit 0 healthy, 1 a check failed.
    Doctor(DoctorCli),
    /// CODEOWNERS tools.
    Codeowners {
        #[command(subcommand)]
        command: CodeownersCommand,
    },
    /// Policy file tools.
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Directory holding the bare repositories (searched recursively; created if missing).
    #[arg(long)]
    repos: PathBuf,
    /// Policy file (YAML). Without it, the embedded default policy applies.
    #[arg(long)]
    policy: Option<PathBuf>,
    /// The daemon's Unix socket [default: <state-dir>/pushguard.sock].
    #[arg(long)]
    socket: Option<PathBuf>,
    /// Where the audit log lives [default: /var/lib/pushguard as root, else ~/.local/state/pushguard].
    #[arg(long)]
    state_dir: Option<PathBuf>,
    /// Permissions of the socket (octal). The default lets only the daemon's user connect.
    #[arg(long, default_value = "600", value_parser = parse_octal)]
    socket_mode: u32,
    /// Another uid that may ask for verdicts (repeatable); the daemon's own uid always may.
    #[arg(long = "allow-uid")]
    allow_uids: Vec<u32>,
    /// Keep hooks that are not pushguard's and run them before pushguard's.
    #[arg(long)]
    chain: bool,
    /// How often to look for new repositories and policy changes, in seconds.
    #[arg(long, default_value_t = 5.0)]
    scan_interval: f64,
    /// How long to let requests in flight finish on SIGTERM, in seconds.
    #[arg(long, default_value_t = 30.0)]
    grace: f64,
    /// How many pushes are judged at once; more wait for a turn within their deadline
    /// [default: the number of CPUs].
    #[arg(long)]
    max_concurrent: Option<usize>,
    /// The key of secret fingerprints (32 bytes, mode 0600); servers that must agree on
    /// fingerprints share it [default: <state-dir>/fingerprint.key, made on first start].
    #[arg(long, value_name = "FILE")]
    fingerprint_key: Option<PathBuf>,
    /// Log format.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(clap::Args)]
struct InstallArgs {
    /// Bare repositories.
    #[arg(required = true)]
    repos: Vec<PathBuf>,
    /// The daemon's socket [default: <default state dir>/pushguard.sock].
    #[arg(long)]
    socket: Option<PathBuf>,
    /// Keep an existing hook that is not pushguard's and run it before pushguard's.
    #[arg(long)]
    chain: bool,
    /// What the hook does when it gets no verdict.
    #[arg(long, value_enum)]
    on_error: Option<OnErrorArg>,
    /// How long the hook waits for a verdict, in milliseconds.
    #[arg(long)]
    timeout_ms: Option<u64>,
    /// atomic: one verdict for the whole push (pre-receive); per-ref: a verdict per ref (update).
    #[arg(long, value_enum)]
    mode: Option<ModeArg>,
}

#[derive(Subcommand)]
enum HookCommand {
    /// git's pre-receive hook: `<old> <new> <ref>` lines on stdin.
    PreReceive,
    /// git's update hook.
    Update {
        refname: String,
        old: String,
        new: String,
    },
}

#[derive(clap::Args)]
struct CheckArgs {
    /// The repository (bare or not).
    #[arg(long)]
    repo: PathBuf,
    /// Policy file [default: the embedded default policy].
    #[arg(long)]
    policy: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// The pusher's user name [default: from the policy's pusher.env variables].
    #[arg(long)]
    pusher: Option<String>,
    /// The server's fingerprint key, so fingerprints match the server's
    /// [default: <default state dir>/fingerprint.key when it exists; else unkeyed].
    #[arg(long, value_name = "FILE")]
    fingerprint_key: Option<PathBuf>,
    /// OLD NEW REF triples, as git gives them to pre-receive (zero id for create/delete).
    #[arg(required = true, num_args = 3.., value_names = ["OLD", "NEW", "REF"])]
    updates: Vec<String>,
}

#[derive(clap::Args)]
struct ScanCli {
    /// A directory to scan (`.git` directories are left out); with --git, a revision range as
    /// git understands it (default: HEAD's history).
    #[arg(value_name = "PATH | REVISION-RANGE")]
    target: Option<String>,
    /// Scan a repository's history instead of a directory.
    #[arg(long, value_name = "REPO")]
    git: Option<PathBuf>,
    /// With --git: every commit reachable from any ref.
    #[arg(long, requires = "git", conflicts_with = "target")]
    all_history: bool,
    /// Use this policy's secret rules (gitleaks_config, disabled_rules).
    #[arg(long)]
    policy: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = scan_cmd::ScanFormat::Text)]
    format: scan_cmd::ScanFormat,
    /// Files (blobs) larger than this many bytes are listed as skipped.
    #[arg(long, default_value_t = 10 << 20)]
    max_file_size: u64,
    /// No progress bar, even on a terminal.
    #[arg(long)]
    no_progress: bool,
    /// The server's fingerprint key, so fingerprints match the server's
    /// [default: <default state dir>/fingerprint.key when it exists; else unkeyed].
    #[arg(long, value_name = "FILE")]
    fingerprint_key: Option<PathBuf>,
    /// Leave out the findings a suppressions file (e.g. one --write-baseline wrote) covers.
    #[arg(long, value_name = "FILE")]
    baseline: Option<PathBuf>,
    /// Write the findings as a suppressions file, for the policy's `secret_scanning.baseline`
    /// (adopting pushguard on a repository whose history already holds secrets).
    #[arg(long, value_name = "FILE")]
    write_baseline: Option<PathBuf>,
}

#[derive(clap::Args)]
struct DoctorCli {
    /// Also check the hooks of every bare repository under this directory.
    #[arg(long)]
    repos: Option<PathBuf>,
    /// The policy the daemon runs [default: the embedded default policy].
    #[arg(long)]
    policy: Option<PathBuf>,
    /// The daemon's state directory [default: as `serve`].
    #[arg(long)]
    state_dir: Option<PathBuf>,
    /// The daemon's socket [default: <state-dir>/pushguard.sock].
    #[arg(long)]
    socket: Option<PathBuf>,
}

#[derive(clap::Args)]
struct ApprovalsCli {
    /// The ref the change goes to (`main` or `refs/heads/main`).
    #[arg(long = "ref", value_name = "REF")]
    ref_name: String,
    /// The ref's tip the change goes on [default: the ref's value in the repository].
    #[arg(long)]
    base: Option<String>,
    /// The change's tip.
    #[arg(default_value = "HEAD")]
    commit: String,
    /// Who will push it (their approvals do not count) [default: from the policy's pusher.env
    /// variables].
    #[arg(long)]
    pusher: Option<String>,
    /// Policy file [default: the embedded default policy].
    #[arg(long)]
    policy: Option<PathBuf>,
    /// The repository (bare or not; the server's, or a clone with the approvals fetched).
    #[arg(long, default_value = ".")]
    repo: PathBuf,
}

#[derive(clap::Args)]
struct ApproveCli {
    /// The ref the change goes to (`main` or `refs/heads/main`).
    #[arg(long = "ref", value_name = "REF")]
    ref_name: String,
    /// The ref's tip you reviewed the change against [default: <remote>/<branch>; none when
    /// the branch does not exist there yet].
    #[arg(long)]
    base: Option<String>,
    /// The reviewed commit: the ref's new tip.
    #[arg(default_value = "HEAD")]
    commit: String,
    /// Request changes instead of approving: blocks the update until you approve or revoke.
    #[arg(long, conflicts_with = "revoke")]
    reject: bool,
    /// Withdraw your earlier verdict on the same update.
    #[arg(long)]
    revoke: bool,
    /// How long the approval counts: N followed by d (days) or h (hours).
    #[arg(long, default_value = "30d", value_parser = parse_duration)]
    expires: i64,
    /// Your name in the approval's ref: your identity name, a user name or an email of yours in
    /// the policy [default: git config user.email].
    #[arg(long = "as", value_name = "NAME")]
    reviewer: Option<String>,
    /// The remote to read the base from and to push to.
    #[arg(long, default_value = "origin")]
    remote: String,
    /// Push the approval to the remote.
    #[arg(long)]
    push: bool,
    /// The policy file, if you have it (its digest goes into the approval).
    #[arg(long)]
    policy: Option<PathBuf>,
    /// The repository [default: the current directory].
    #[arg(long, default_value = ".")]
    repo: PathBuf,
}

fn parse_duration(s: &str) -> Result<i64, String> {
    let (n, unit) = s.split_at(s.len().saturating_sub(1));
    let n: i64 = n
        .parse()
        .map_err(|_| format!("{s:?}: a number then d or h"))?;
    match unit {
        "d" if (1..=3650).contains(&n) => Ok(n * 86_400),
        "h" if (1..=87_600).contains(&n) => Ok(n * 3_600),
        _ => Err(format!("{s:?}: 1-3650 days (Nd) or 1-87600 hours (Nh)")),
    }
}

#[derive(clap::Args)]
struct VerifyCli {
    /// The repository (bare or not).
    #[arg(long)]
    repo: PathBuf,
    /// Policy file [default: the embedded default policy].
    #[arg(long)]
    policy: Option<PathBuf>,
    /// The daemon's state directory, whose record of accepted commits is reported instead of
    /// judging the keys again [default: the daemon's default state directory].
    #[arg(long)]
    state_dir: Option<PathBuf>,
    /// Ignore the daemon's records: judge every signature at its creation time.
    #[arg(long, conflicts_with = "state_dir")]
    no_records: bool,
    /// Every commit reachable from any ref, and every annotated tag.
    #[arg(long, conflicts_with = "revisions")]
    all: bool,
    /// Revisions as `git rev-list` takes them (`main`, `v1.0..main`, `^old new`) [default: HEAD].
    #[arg(value_name = "REVISION-RANGE")]
    revisions: Vec<String>,
    #[arg(long, value_enum, default_value_t = verify::VerifyFormat::Text)]
    format: verify::VerifyFormat,
    /// Whose email the signing key's identity must own, as a rule's `identity:` parameter.
    #[arg(long, value_enum, default_value_t = IdentityArg::Committer)]
    identity: IdentityArg,
    /// Also judge the range as the rulesets of this ref would (`refs/heads/main`, or a short
    /// branch name): who may sign (`signers`), who may merge and how (`full_attestation`).
    #[arg(long = "ref", value_name = "REF")]
    ref_name: Option<String>,
    /// Worker threads [default: the number of CPUs].
    #[arg(long)]
    jobs: Option<usize>,
}

/// `install --on-error`.
#[derive(Clone, Copy, ValueEnum)]
enum OnErrorArg {
    #[value(name = "fail_closed")]
    FailClosed,
    #[value(name = "fail_open")]
    FailOpen,
}

/// `install --mode`.
#[derive(Clone, Copy, ValueEnum)]
enum ModeArg {
    Atomic,
    #[value(name = "per-ref")]
    PerRef,
}

/// `verify --identity`: a rule's `identity:` parameter.
#[derive(Clone, Copy, ValueEnum)]
enum IdentityArg {
    Committer,
    Author,
    Any,
}

impl From<IdentityArg> for rules::policy::IdentityBinding {
    fn from(a: IdentityArg) -> Self {
        match a {
            IdentityArg::Committer => rules::policy::IdentityBinding::Committer,
            IdentityArg::Author => rules::policy::IdentityBinding::Author,
            IdentityArg::Any => rules::policy::IdentityBinding::Any,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Json,
}

#[derive(Subcommand)]
enum CodeownersCommand {
    /// Syntax errors and warnings of a CODEOWNERS file in both dialects (GitHub, GitLab); with
    /// --dialect-diff, also the lines (and probe paths) the two dialects read differently.
    /// Exit 0 clean, 1 errors (or differences, with --dialect-diff).
    Lint {
        /// The file [default: .github/CODEOWNERS, CODEOWNERS, docs/CODEOWNERS or
        /// .gitlab/CODEOWNERS, first found].
        file: Option<PathBuf>,
        #[arg(long)]
        dialect_diff: bool,
        /// Paths to compare the owners of (with --dialect-diff), e.g. every file of the tree:
        /// `git ls-files | pushguard codeowners lint --dialect-diff --probes -`.
        #[arg(long, value_name = "FILE|-")]
        probes: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum PolicyCommand {
    /// Validate a policy file (and the keys it names) and print a summary. Exit 2 on errors.
    Check { file: PathBuf },
    /// Print the embedded default policy.
    Default,
}

fn parse_octal(s: &str) -> Result<u32, String> {
    u32::from_str_radix(s, 8).map_err(|e| format!("{s:?} is not an octal mode: {e}"))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Hook { hook } => {
            let (kind, args) = match hook {
                HookCommand::PreReceive => (HookKind::PreReceive, vec![]),
                HookCommand::Update { refname, old, new } => {
                    (HookKind::Update, vec![refname, old, new])
                }
            };
            let stdin = std::io::stdin().lock();
            let mut stderr = std::io::stderr().lock();
            let code = hooks::client::run(kind, &args, stdin, &mut stderr);
            ExitCode::from(u8::try_from(code).unwrap_or(1))
        }
        Command::Serve(args) => exit(serve(args)),
        Command::Install(args) => exit(install_cmd(args)),
        Command::Check(args) => match check(args) {
            Ok(true) => ExitCode::SUCCESS,
            Ok(false) => ExitCode::from(1),
            Err(e) => {
                eprintln!("pushguard: {e:#}");
                ExitCode::from(2)
            }
        },
        Command::Scan(a) => match scan_cmd::run(scan_cmd::ScanArgs {
            path: if a.git.is_none() {
                a.target.clone().map(PathBuf::from)
            } else {
                None
            },
            range: if a.git.is_some() { a.target } else { None },
            git: a.git,
            all_history: a.all_history,
            policy: a.policy,
            format: a.format,
            max_file_size: a.max_file_size,
            progress: !a.no_progress,
            fingerprint_key: a.fingerprint_key,
            baseline: a.baseline,
            write_baseline: a.write_baseline,
        }) {
            Ok(scan_cmd::Status::Clean) => ExitCode::SUCCESS,
            Ok(scan_cmd::Status::Found) => ExitCode::from(1),
            Ok(scan_cmd::Status::Incomplete) => ExitCode::from(3),
            Err(e) => {
                eprintln!("pushguard: {e:#}");
                ExitCode::from(2)
            }
        },
        Command::Doctor(a) => match doctor(a) {
            Ok(true) => ExitCode::SUCCESS,
            Ok(false) => ExitCode::from(1),
            Err(e) => {
                eprintln!("pushguard: {e:#}");
                ExitCode::from(2)
            }
        },
        Command::Codeowners {
            command:
                CodeownersCommand::Lint {
                    file,
                    dialect_diff,
                    probes,
                },
        } => match codeowners_lint(file, dialect_diff, probes) {
            Ok(true) => ExitCode::SUCCESS,
            Ok(false) => ExitCode::from(1),
            Err(e) => {
                eprintln!("pushguard: {e:#}");
                ExitCode::from(2)
            }
        },
        Command::Approvals(a) => match approvals_cmd(a) {
            Ok(true) => ExitCode::SUCCESS,
            Ok(false) => ExitCode::from(1),
            Err(e) => {
                eprintln!("pushguard: {e:#}");
                ExitCode::from(2)
            }
        },
        Command::Approve(a) => exit(pushguard::approve::run(pushguard::approve::ApproveArgs {
            repo: a.repo,
            ref_name: a.ref_name,
            base: a.base,
            commit: a.commit,
            verdict: if a.reject {
                crypto::approval::Verdict::Reject
            } else if a.revoke {
                crypto::approval::Verdict::Revoke
            } else {
                crypto::approval::Verdict::Approve
            },
            expires_in: a.expires,
            reviewer: a.reviewer,
            remote: a.remote,
            push: a.push,
            policy: a.policy,
        })),
        Command::Verify(a) => {
            let state_dir = match (a.no_records, a.state_dir) {
                (true, _) => None,
                (false, Some(d)) => Some(d),
                (false, None) => Some(state_dir::default_state_dir()),
            };
            let jobs = a.jobs.unwrap_or_else(|| {
                std::thread::available_parallelism()
                    .map(|n| n.get())
                    .unwrap_or(1)
            });
            match verify::run(verify::VerifyArgs {
                repo: a.repo,
                policy: a.policy,
                state_dir,
                all: a.all,
                revisions: a.revisions,
                ref_name: a.ref_name.map(|r| {
                    if r.starts_with("refs/") {
                        r
                    } else {
                        format!("refs/heads/{r}")
                    }
                }),
                format: a.format,
                identity: a.identity.into(),
                jobs,
            }) {
                Ok(true) => ExitCode::SUCCESS,
                Ok(false) => ExitCode::from(1),
                Err(e) => {
                    eprintln!("pushguard: {e:#}");
                    ExitCode::from(2)
                }
            }
        }
        Command::Policy { command } => match command {
            PolicyCommand::Check { file } => match bundle::PolicyBundle::load(Some(&file)) {
                Ok(loaded) => {
                    for w in &loaded.policy.warnings {
                        eprintln!("{}:{w}: (warning)", file.display());
                    }
                    print!("{}: ok\n{}", file.display(), loaded.policy.summary());
                    println!("keys loaded: {}", loaded.keyring.len());
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("{e}");
                    ExitCode::from(2)
                }
            },
            PolicyCommand::Default => {
                print!("{}", rules::policy::DEFAULT_POLICY_YAML);
                ExitCode::SUCCESS
            }
        },
    }
}

fn exit(r: Result<()>) -> ExitCode {
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pushguard: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// The program the installed hooks run: `pushguard-hook` beside this binary when it is there
/// (small, quick to start), else this binary (`pushguard hook ...`).
fn hook_binary() -> Result<PathBuf> {
    let me = std::env::current_exe().context("cannot find the pushguard binary's path")?;
    let slim = me.with_file_name("pushguard-hook");
    Ok(if slim.is_file() { slim } else { me })
}

fn absolute(p: &Path) -> Result<PathBuf> {
    if p.is_absolute() {
        Ok(p.to_path_buf())
    } else {
        Ok(std::env::current_dir()?.join(p))
    }
}

fn serve(args: ServeArgs) -> Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    match args.log_format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
    let state_dir = absolute(&args.state_dir.unwrap_or_else(state_dir::default_state_dir))?;
    let socket = absolute(
        &args
            .socket
            .unwrap_or_else(|| state_dir.join("pushguard.sock")),
    )?;
    if !(args.scan_interval > 0.0 && args.grace >= 0.0) {
        bail!("--scan-interval must be positive and --grace not negative");
    }
    let cfg = server::ServeConfig {
        repos: absolute(&args.repos)?,
        policy: args.policy.map(|p| absolute(&p)).transpose()?,
        socket,
        state_dir,
        socket_mode: args.socket_mode,
        allow_uids: args.allow_uids,
        chain: args.chain,
        scan_interval: Duration::from_secs_f64(args.scan_interval),
        grace: Duration::from_secs_f64(args.grace),
        binary: hook_binary()?,
        max_concurrent: args.max_concurrent.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2)
        }),
        fingerprint_key: args.fingerprint_key.map(|p| absolute(&p)).transpose()?,
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(server::serve(cfg))
}

fn doctor(a: DoctorCli) -> Result<bool> {
    let state_dir = absolute(&a.state_dir.unwrap_or_else(state_dir::default_state_dir))?;
    let args = doctor::DoctorArgs {
        socket: absolute(&a.socket.unwrap_or_else(|| state_dir.join("pushguard.sock")))?,
        repos: a.repos.map(|r| absolute(&r)).transpose()?,
        policy: a.policy.map(|p| absolute(&p)).transpose()?,
        state_dir,
    };
    let checks = doctor::run(&args);
    print!("{}", doctor::render(&checks));
    Ok(checks.iter().all(|c| c.status != doctor::Status::Fail))
}

fn install_cmd(args: InstallArgs) -> Result<()> {
    let socket = absolute(
        &args
            .socket
            .unwrap_or_else(|| state_dir::default_state_dir().join("pushguard.sock")),
    )?;
    let opts = InstallOptions {
        binary: hook_binary()?,
        socket,
        chain: args.chain,
        on_error: args.on_error.map(|o| match o {
            OnErrorArg::FailClosed => install::OnError::FailClosed,
            OnErrorArg::FailOpen => install::OnError::FailOpen,
        }),
        timeout_ms: args.timeout_ms,
        audit_log: None,
        mode: args.mode.map(|m| match m {
            ModeArg::Atomic => install::Mode::Atomic,
            ModeArg::PerRef => install::Mode::PerRef,
        }),
        // No policy here: the daemon writes the list its policy needs when it installs.
        forward_env: None,
    };
    let mut failed = 0;
    for repo in &args.repos {
        let repo = absolute(repo)?;
        match install::install(&repo, &opts) {
            Ok(Installed::Written) => println!("{}: hooks installed", repo.display()),
            Ok(Installed::Chained(h)) => println!(
                "{}: hooks installed; existing {} kept and run first",
                repo.display(),
                h.join(", ")
            ),
            Err(e) => {
                eprintln!("pushguard: {e}");
                failed += 1;
            }
        }
    }
    if failed > 0 {
        bail!(
            "{failed} of {} repositories not installed",
            args.repos.len()
        );
    }
    Ok(())
}

/// `pushguard codeowners lint`. `Ok(true)`: no error (and no difference, when asked).
fn codeowners_lint(
    file: Option<PathBuf>,
    dialect_diff: bool,
    probes: Option<PathBuf>,
) -> Result<bool> {
    let file = match file {
        Some(f) => f,
        None => [
            ".github/CODEOWNERS",
            "CODEOWNERS",
            "docs/CODEOWNERS",
            ".gitlab/CODEOWNERS",
        ]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .context("no CODEOWNERS file here (.github/, the root, docs/ or .gitlab/)")?,
    };
    let text = std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
    let mut out = std::io::stdout().lock();
    let mut clean = true;
    for d in rules::codeowners::lint(&text) {
        clean &= d.severity != rules::codeowners::Severity::Error;
        writeln!(out, "{d}")?;
    }
    if dialect_diff {
        let probes: Vec<String> = match probes {
            None => Vec::new(),
            Some(p) if p.as_os_str() == "-" => std::io::stdin()
                .lines()
                .collect::<std::io::Result<_>>()
                .context("cannot read the probe paths")?,
            Some(p) => std::fs::read_to_string(&p)
                .with_context(|| format!("cannot read {}", p.display()))?
                .lines()
                .map(str::to_string)
                .collect(),
        };
        let diff = rules::codeowners::dialect_diff(&text, &probes)
            .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
        for l in &diff.lines {
            writeln!(out, "{l}")?;
        }
        for p in &diff.paths {
            writeln!(
                out,
                "{}: github: {}; gitlab: {}",
                String::from_utf8_lossy(&p.path),
                p.github,
                p.gitlab
            )?;
        }
        clean &= diff.lines.is_empty() && diff.paths.is_empty();
    }
    Ok(clean)
}

fn check(args: CheckArgs) -> Result<bool> {
    if !args.updates.len().is_multiple_of(3) {
        bail!(
            "updates come in OLD NEW REF triples; got {} words",
            args.updates.len()
        );
    }
    let report = judge_here(
        &args.repo,
        args.policy.as_deref(),
        args.fingerprint_key.as_deref(),
        args.pusher,
        &args.updates,
    )?;
    let mut out = std::io::stdout().lock();
    match args.format {
        Format::Json => writeln!(out, "{}", rules::render::json(&report))?,
        Format::Text => {
            let text = rules::render::text(&report);
            if text.is_empty() {
                writeln!(out, "pushguard: allowed")?;
            } else {
                write!(out, "{text}")?;
            }
            write!(out, "{}", rules::render::approvals(&report))?;
        }
    }
    Ok(report.allowed)
}

/// `pushguard approvals`: how the approvals of one update are judged. `Ok(true)`: it would
/// be allowed.
fn approvals_cmd(a: ApprovalsCli) -> Result<bool> {
    let repo = absolute(&a.repo)?;
    // In the user's own git environment, like `pushguard approve`.
    let git = |args: &[&str]| pushguard::approve::git_out(&repo, args);
    let target = if a.ref_name.starts_with("refs/") {
        a.ref_name.clone()
    } else {
        format!("refs/heads/{}", a.ref_name)
    };
    let new = git(&["rev-parse", "--verify", &format!("{}^{{commit}}", a.commit)])?;
    let old = match &a.base {
        Some(b) => git(&["rev-parse", "--verify", &format!("{b}^{{commit}}")])?,
        None => {
            git(&["rev-parse", "--verify", "-q", &target]).unwrap_or_else(|_| "0".repeat(new.len()))
        }
    };
    let report = judge_here(
        &repo,
        a.policy.as_deref(),
        None,
        a.pusher,
        &[old, new, target],
    )?;
    let mut out = std::io::stdout().lock();
    let listing = rules::render::approvals(&report);
    if listing.is_empty() {
        writeln!(out, "no pull_request rule governs this update")?;
    } else {
        write!(out, "{listing}")?;
    }
    let review: Vec<&rules::Violation> = report
        .violations
        .iter()
        .filter(|v| v.rule == "pull_request")
        .collect();
    if review.is_empty() {
        writeln!(out, "the review requirements are met")?;
    } else {
        for v in &review {
            writeln!(out, "x {}: {}", v.code.as_str(), v.message)?;
        }
    }
    Ok(review.is_empty())
}

/// Collect and judge ref updates (OLD NEW REF triples) in a repository, without the daemon.
fn judge_here(
    repo: &Path,
    policy: Option<&Path>,
    fingerprint_key: Option<&Path>,
    pusher: Option<String>,
    triples: &[String],
) -> Result<rules::Report> {
    let key = pushguard::fpkey::for_command(fingerprint_key)?;
    let loaded = bundle::PolicyBundle::load(policy)
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .with_fingerprint_key(key);
    let repo = absolute(repo)?;
    let git_dir = if repo.join(".git").is_dir() {
        repo.join(".git")
    } else {
        repo
    };
    let mut env: std::collections::BTreeMap<String, String> =
        hooks::env::forwarded(std::env::vars(), &loaded.policy.pusher_env);
    // A check runs outside any push: never read a quarantine named by a stray environment.
    env.retain(|k, _| !k.starts_with("GIT_"));
    if let Some(p) = pusher {
        // The first variable the policy reads names the pusher.
        for name in &loaded.policy.pusher_env {
            env.remove(name);
        }
        if let Some(first) = loaded.policy.pusher_env.first() {
            env.insert(first.clone(), p);
        }
    }
    // The same collector as a push, without a quarantine: the objects are in the repository.
    let reader = RepoReader::open(&git_dir, &Quarantine::default())?;
    let updates = triples
        .chunks(3)
        .map(|c| collect::Update::parse(reader.hash_kind(), &c[0], &c[1], &c[2]))
        .collect::<Result<_>>()?;
    let push = collect::Push {
        repo: git_dir.to_string_lossy().into_owned(),
        updates,
        env,
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let budget = pushguard::budget::Budget::unlimited();
    let change = collect::push_change(&reader, &collect::Inputs::of(&loaded, now, &budget), &push)?;
    Ok(rules::evaluate(&loaded.policy, &change))
}
