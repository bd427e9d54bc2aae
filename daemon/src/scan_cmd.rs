//! `pushguard scan`: the push path's secret detection, for audits and CI — a directory, or
//! the history of a repository.

use crate::git::{Quarantine, RepoReader};
use crate::scan::{self, Limits};
use crate::state::Loaded;
use anyhow::{bail, Context, Result};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ScanFormat {
    Text,
    Json,
    Sarif,
}

pub struct ScanArgs {
    pub path: Option<PathBuf>,
    pub git: Option<PathBuf>,
    pub all_history: bool,
    pub range: Option<String>,
    pub policy: Option<PathBuf>,
    pub format: ScanFormat,
    pub max_file_size: u64,
    pub progress: bool,
    /// See [`crate::fpkey::for_command`].
    pub fingerprint_key: Option<PathBuf>,
}

/// What one file gave: (its index in path order, a finding, or a skipped path).
type Hit = (usize, Option<Row>, Option<String>);

/// One finding and where.
struct Row {
    finding: secrets::Finding,
    path: String,
    commit: Option<String>,
}

/// Run a scan; `Ok(true)` when nothing that blocks was found (warn-severity findings are shown).
pub fn run(args: ScanArgs) -> Result<bool> {
    let loaded = Loaded::load(args.policy.as_deref()).map_err(|e| anyhow::anyhow!("{e}"))?;
    // The policy's rules if it scans for secrets; the built-in rules otherwise.
    let mut scanner = match loaded.scanner {
        Some(s) => s,
        None => secrets::Scanner::new(&secrets::RuleSet::builtin())
            .map_err(|e| anyhow::anyhow!("built-in secret rules: {e}"))?,
    };
    scanner.set_fingerprint_key(crate::fpkey::for_command(args.fingerprint_key.as_deref())?);
    let show_progress = args.progress && std::io::stderr().is_terminal();
    let mut bar = Progress::new(show_progress);
    let (rows, skipped) = match (&args.path, &args.git) {
        (Some(p), None) => scan_dir(&scanner, p, args.max_file_size, &mut bar)?,
        (None, Some(repo)) => scan_git(&scanner, repo, &args, &mut bar)?,
        _ => bail!("give a directory, or --git REPO"),
    };
    bar.finish();
    let records: Vec<secrets::report::Record<'_>> = rows
        .iter()
        .map(|r| secrets::report::Record {
            finding: &r.finding,
            path: &r.path,
            commit: r.commit.as_deref(),
        })
        .collect();
    let mut out = std::io::stdout().lock();
    match args.format {
        ScanFormat::Json => writeln!(out, "{}", secrets::report::gitleaks_json(&records))?,
        ScanFormat::Sarif => writeln!(
            out,
            "{}",
            secrets::report::sarif(&records, env!("CARGO_PKG_VERSION"))
        )?,
        ScanFormat::Text => {
            for r in &rows {
                let f = &r.finding;
                let at = if f.line > 0 {
                    format!("{}:{}", r.path, f.line)
                } else {
                    r.path.clone()
                };
                let commit = r
                    .commit
                    .as_deref()
                    .map(|c| format!(" commit {}", &c[..c.len().min(10)]))
                    .unwrap_or_default();
                let warn = if f.severity == secrets::Severity::Warn {
                    " [warn: not blocking]"
                } else {
                    ""
                };
                writeln!(
                    out,
                    "{at}: {} ({}) {} fingerprint {}{commit}{warn}",
                    f.description, f.rule_id, f.redacted, f.fingerprint
                )?;
            }
            for s in &skipped {
                writeln!(out, "skipped (over --max-file-size): {s}")?;
            }
            writeln!(
                out,
                "{} finding{}",
                rows.len(),
                if rows.len() == 1 { "" } else { "s" }
            )?;
        }
    }
    // warn-severity findings are shown, never a failure
    Ok(rows
        .iter()
        .all(|r| r.finding.severity == secrets::Severity::Warn))
}

fn scan_dir(
    scanner: &secrets::Scanner,
    root: &Path,
    max: u64,
    bar: &mut Progress,
) -> Result<(Vec<Row>, Vec<String>)> {
    let mut files = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries =
            std::fs::read_dir(&dir).with_context(|| format!("cannot read {}", dir.display()))?;
        for e in entries {
            let e = e?;
            let t = e.file_type()?;
            if t.is_dir() {
                if e.file_name() != ".git" {
                    stack.push(e.path());
                }
            } else if t.is_file() {
                files.push(e.path());
            }
        }
    }
    files.sort();
    // Files are scanned on every core: each worker takes the next file from a shared counter;
    // results are put back in path order afterwards.
    let total = files.len() as u64;
    let next = AtomicUsize::new(0);
    let done = AtomicU64::new(0);
    let bytes = AtomicU64::new(0);
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(files.len().max(1));
    let mut found = scan::on_workers(
        vec![(); workers],
        |()| -> Result<Vec<Hit>> {
            let mut out = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(file) = files.get(i) else { break };
                let rel = file
                    .strip_prefix(root)
                    .unwrap_or(file)
                    .to_string_lossy()
                    .into_owned();
                for f in scanner.scan_path(&rel) {
                    out.push((
                        i,
                        Some(Row {
                            finding: f,
                            path: rel.clone(),
                            commit: None,
                        }),
                        None,
                    ));
                }
                let size = std::fs::metadata(file)?.len();
                if size > max {
                    out.push((i, None, Some(rel)));
                    done.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                let data = std::fs::read(file)
                    .with_context(|| format!("cannot read {}", file.display()))?;
                bytes.fetch_add(data.len() as u64, Ordering::Relaxed);
                for f in scanner.scan(&rel, &data) {
                    out.push((
                        i,
                        Some(Row {
                            finding: f,
                            path: rel.clone(),
                            commit: None,
                        }),
                        None,
                    ));
                }
                done.fetch_add(1, Ordering::Relaxed);
            }
            Ok(out)
        },
        || {
            bar.tick(
                done.load(Ordering::Relaxed),
                total,
                bytes.load(Ordering::Relaxed),
            )
        },
    )?;
    found.sort_by_key(|(i, _, _)| *i);
    let mut rows = Vec::new();
    let mut skipped = Vec::new();
    for (_, row, skip) in found {
        rows.extend(row);
        skipped.extend(skip);
    }
    bar.tick(total, total, bytes.load(Ordering::Relaxed));
    Ok((rows, skipped))
}

fn scan_git(
    scanner: &secrets::Scanner,
    repo: &Path,
    args: &ScanArgs,
    bar: &mut Progress,
) -> Result<(Vec<Row>, Vec<String>)> {
    // Which commits: git's own revision syntax, so ranges mean what they mean to git.
    let mut cmd = crate::git::git_command();
    cmd.arg("-C")
        .arg(repo)
        .args(["rev-list", "--reverse", "--topo-order"]);
    match (&args.range, args.all_history) {
        (Some(r), false) => {
            if r.starts_with('-') {
                bail!("{r:?} is not a revision range");
            }
            cmd.arg(r);
        }
        (None, true) => {
            cmd.arg("--all");
        }
        (None, false) => {
            cmd.arg("HEAD");
        }
        (Some(_), true) => bail!("give either --all-history or a revision range"),
    }
    let out = cmd.output().context("cannot run git rev-list")?;
    if !out.status.success() {
        bail!(
            "git rev-list: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let git_dir = {
        let o = crate::git::git_command()
            .arg("-C")
            .arg(repo)
            .args(["rev-parse", "--absolute-git-dir"])
            .output()
            .context("cannot run git rev-parse")?;
        if !o.status.success() {
            bail!("{} is not a git repository", repo.display());
        }
        PathBuf::from(String::from_utf8_lossy(&o.stdout).trim())
    };
    let reader = RepoReader::open(&git_dir, &Quarantine::default())?;
    let mut commits = Vec::new();
    let no_refs: std::sync::Arc<[String]> = std::sync::Arc::new([]);
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        commits.push((no_refs.clone(), reader.parse_id(line.trim())?));
    }
    let limits = Limits {
        max_blob_size: args.max_file_size,
        scan_prefix: false,
        deadline: Duration::MAX,
    };
    let outcome = scan::scan_commits(&reader, scanner, &commits, limits, &mut |d, t, b| {
        bar.tick(d, t, b)
    })?;
    let rows = outcome
        .found
        .into_iter()
        .map(|f| Row {
            commit: Some(f.commit.to_string()),
            path: f.path,
            finding: f.finding,
        })
        .collect();
    let skipped = outcome
        .oversized
        .into_iter()
        .map(|o| format!("{} ({} bytes) in commit {}", o.path, o.size, o.commit))
        .collect();
    Ok((rows, skipped))
}

/// A one-line progress display on a terminal (stderr), redrawn at most 10 times a second.
struct Progress {
    on: bool,
    last: Option<Instant>,
    started: Instant,
}

impl Progress {
    fn new(on: bool) -> Progress {
        Progress {
            on,
            last: None,
            started: Instant::now(),
        }
    }

    fn tick(&mut self, done: u64, total: u64, bytes: u64) {
        if !self.on
            || self
                .last
                .is_some_and(|l| l.elapsed() < Duration::from_millis(100))
        {
            return;
        }
        self.last = Some(Instant::now());
        let width = 30u64;
        let filled = done
            .saturating_mul(width)
            .checked_div(total)
            .unwrap_or(width)
            .min(width);
        let secs = self.started.elapsed().as_secs_f64().max(0.001);
        eprint!(
            "\r[{}{}] {done}/{total} files, {:.1} MB, {:.0} MB/s ",
            "#".repeat(filled as usize),
            "-".repeat((width - filled) as usize),
            bytes as f64 / 1e6,
            bytes as f64 / 1e6 / secs
        );
    }

    fn finish(&mut self) {
        if self.on && self.last.is_some() {
            eprintln!();
        }
    }
}
