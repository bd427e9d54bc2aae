//! `pushguard scan`: the push path's secret detection, for audits and CI — a directory, or
//! the history of a repository.

use crate::bundle::PolicyBundle;
use crate::history;
use crate::scan;
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
    /// Leave out the findings this suppressions file (a baseline) covers.
    pub baseline: Option<PathBuf>,
    /// Write the findings as a suppressions file (a baseline) here.
    pub write_baseline: Option<PathBuf>,
}

/// How a scan ended, for the exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Nothing found (exit 0).
    Clean,
    /// Secrets found (exit 1).
    Found,
    /// Objects could not be read: the report is incomplete (exit 3), whatever it found.
    Incomplete,
}

/// What one file gave: (its index in path order, a finding, or a skipped path).
type Hit = (usize, Option<Row>, Option<String>);

/// One finding and where.
struct Row {
    finding: secrets::Finding,
    path: String,
    /// In a history scan: the commit that introduced it.
    commit: Option<String>,
    /// In a history scan: the commits that removed it, and whether a scanned tip still has it.
    fate: Option<(Vec<String>, bool)>,
}

/// What a scan gave besides its findings.
#[derive(Default)]
struct Extra {
    skipped: Vec<String>,
    problems: Vec<history::Problem>,
}

/// Run a scan (warn-severity findings are shown, never a failure).
pub fn run(args: ScanArgs) -> Result<Status> {
    let loaded = PolicyBundle::load(args.policy.as_deref()).map_err(|e| anyhow::anyhow!("{e}"))?;
    // A policy given on the command line suppresses what it suppresses on a push (its
    // `suppressions` and `baseline`).
    let mut suppressions: Vec<rules::policy::Suppression> = Vec::new();
    if args.policy.is_some() {
        for ruleset in &loaded.policy.rulesets {
            for rule in &ruleset.rules {
                if let rules::policy::RuleSpec::SecretScanning(sc) = rule {
                    suppressions.extend(sc.suppressions.iter().cloned());
                }
            }
        }
    }
    // The policy's rules if it scans for secrets; the built-in rules otherwise.
    let mut scanner = match loaded.scanner {
        Some(s) => s,
        None => secrets::Scanner::new(&secrets::RuleSet::builtin())
            .map_err(|e| anyhow::anyhow!("built-in secret rules: {e}"))?,
    };
    scanner.set_fingerprint_key(crate::fpkey::for_command(args.fingerprint_key.as_deref())?);
    let show_progress = args.progress && std::io::stderr().is_terminal();
    let mut bar = Progress::new(show_progress);
    let mut baseline = match &args.baseline {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("cannot read the baseline {}", p.display()))?;
            rules::policy::parse_suppressions(&text)
                .map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?
        }
        None => Vec::new(),
    };
    baseline.extend(suppressions);
    let (mut rows, extra) = match (&args.path, &args.git) {
        (Some(p), None) => {
            let (rows, skipped) = scan_dir(&scanner, p, args.max_file_size, &mut bar)?;
            (
                rows,
                Extra {
                    skipped,
                    ..Extra::default()
                },
            )
        }
        (None, Some(repo)) => scan_git(&scanner, repo, &args, &mut bar)?,
        _ => bail!("give a directory, or --git REPO"),
    };
    bar.finish();
    let skipped = extra.skipped;
    if !baseline.is_empty() {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        rows.retain(|r| {
            let f = &r.finding;
            !baseline
                .iter()
                .any(|s| s.covers(&f.fingerprint, &f.rule_id, &f.secret_sha256, &r.path, now))
        });
    }
    if let Some(out) = &args.write_baseline {
        write_baseline(out, &rows, args.git.as_deref())?;
    }
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
        ScanFormat::Json => {
            let text = secrets::report::gitleaks_json(&records);
            writeln!(out, "{}", with_fate_json(&text, &rows))?
        }
        ScanFormat::Sarif => {
            let text = secrets::report::sarif(&records, env!("CARGO_PKG_VERSION"));
            writeln!(out, "{}", with_fate_sarif(&text, &rows))?
        }
        ScanFormat::Text => {
            for r in &rows {
                let f = &r.finding;
                let at = if f.line > 0 {
                    format!("{}:{}", r.path, f.line)
                } else {
                    r.path.clone()
                };
                let short = |c: &str| c[..c.len().min(10)].to_string();
                let commit = match (&r.commit, &r.fate) {
                    (Some(c), Some((removed, present))) => {
                        let mut s = format!(" introduced in {}", short(c));
                        if !removed.is_empty() {
                            let list: Vec<String> = removed.iter().map(|c| short(c)).collect();
                            s.push_str(&format!(", removed in {}", list.join(", ")));
                        }
                        if *present {
                            s.push_str(", still present");
                        }
                        s
                    }
                    (Some(c), None) => format!(" commit {}", short(c)),
                    _ => String::new(),
                };
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
            for p in &extra.problems {
                writeln!(out, "{}", problem_line(p))?;
            }
            writeln!(
                out,
                "{} finding{}",
                rows.len(),
                if rows.len() == 1 { "" } else { "s" }
            )?;
        }
    }
    if !matches!(args.format, ScanFormat::Text) {
        for p in &extra.problems {
            eprintln!("pushguard: {}", problem_line(p));
        }
    }
    if !extra.problems.is_empty() {
        eprintln!(
            "pushguard: the report is incomplete: {} object{} could not be read (exit status 3)",
            extra.problems.len(),
            if extra.problems.len() == 1 { "" } else { "s" }
        );
        return Ok(Status::Incomplete);
    }
    // warn-severity findings are shown, never a failure
    let blocking = rows
        .iter()
        .any(|r| r.finding.severity != secrets::Severity::Warn);
    Ok(if blocking {
        Status::Found
    } else {
        Status::Clean
    })
}

fn problem_line(p: &history::Problem) -> String {
    let path = if p.path.is_empty() {
        String::new()
    } else {
        format!(" at {}", p.path)
    };
    format!(
        "incomplete: object {} (commit {}{path}) could not be read: {}",
        p.object, p.commit, p.error
    )
}

/// The gitleaks JSON with, per finding of a history scan, `RemovedIn` and `StillPresent`.
fn with_fate_json(text: &str, rows: &[Row]) -> String {
    let Ok(mut v) = serde_json::from_str::<serde_json::Value>(text) else {
        return text.to_string();
    };
    if let Some(items) = v.as_array_mut() {
        for (item, row) in items.iter_mut().zip(rows) {
            if let Some((removed, present)) = &row.fate {
                item["RemovedIn"] = serde_json::json!(removed);
                item["StillPresent"] = serde_json::json!(present);
            }
        }
    }
    serde_json::to_string_pretty(&v).unwrap_or_else(|_| text.to_string())
}

/// The SARIF log with, per result of a history scan, `removedIn` and `stillPresent` properties.
fn with_fate_sarif(text: &str, rows: &[Row]) -> String {
    let Ok(mut v) = serde_json::from_str::<serde_json::Value>(text) else {
        return text.to_string();
    };
    if let Some(results) = v["runs"][0]["results"].as_array_mut() {
        for (item, row) in results.iter_mut().zip(rows) {
            if let Some((removed, present)) = &row.fate {
                item["properties"]["removedIn"] = serde_json::json!(removed);
                item["properties"]["stillPresent"] = serde_json::json!(present);
            }
        }
    }
    serde_json::to_string_pretty(&v).unwrap_or_else(|_| text.to_string())
}

/// Glob metacharacters of a path escaped, so a suppression's `path` matches that path only.
fn glob_literal(path: &str) -> String {
    let mut s = String::with_capacity(path.len());
    for c in path.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '{' | '}' | '\\') {
            s.push('\\');
        }
        s.push(c);
    }
    s
}

/// Write `rows` as a suppressions file (see docs/policy-reference.md, `baseline`): one
/// suppression per secret and path, by fingerprint, so the history that holds them passes while
/// any other secret (or the same one in another file) does not.
fn write_baseline(out: &Path, rows: &[Row], repo: Option<&Path>) -> Result<()> {
    let mut text = String::from(
        "# pushguard baseline: secrets already in the history, accepted when pushguard was adopted.\n",
    );
    if let Some(r) = repo {
        text.push_str(&format!(
            "# Written by `pushguard scan --git {} --write-baseline`; {} entr{}.\n",
            r.display(),
            rows.len(),
            if rows.len() == 1 { "y" } else { "ies" }
        ));
    }
    text.push_str("# Revoke these secrets all the same: the history still holds them.\n");
    text.push_str("suppressions:\n");
    if rows.is_empty() {
        text.truncate(text.len() - 1);
        text.push_str(" []\n");
    }
    let mut seen = std::collections::HashSet::new();
    for r in rows {
        let f = &r.finding;
        if !seen.insert((f.fingerprint.clone(), r.path.clone())) {
            continue;
        }
        let reason = match &r.commit {
            Some(c) => format!(
                "baseline: {} introduced in {}",
                f.rule_id,
                &c[..c.len().min(12)]
            ),
            None => format!("baseline: {}", f.rule_id),
        };
        text.push_str(&format!(
            "  - fingerprint: {}\n    path: {}\n    reason: {}\n",
            f.fingerprint,
            serde_json::to_string(&glob_literal(&r.path)).unwrap_or_default(),
            serde_json::to_string(&reason).unwrap_or_default(),
        ));
    }
    std::fs::write(out, text).with_context(|| format!("cannot write {}", out.display()))
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
                            fate: None,
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
                            fate: None,
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
) -> Result<(Vec<Row>, Extra)> {
    // Which commits: git's own revision syntax, so ranges mean what they mean to git.
    let revs: Vec<String> = match (&args.range, args.all_history) {
        (Some(r), false) => {
            if r.starts_with('-') {
                bail!("{r:?} is not a revision range");
            }
            vec![r.clone()]
        }
        (None, true) => vec!["--all".to_string()],
        (None, false) => vec!["HEAD".to_string()],
        (Some(_), true) => bail!("give either --all-history or a revision range"),
    };
    let git_dir = crate::git::cli::absolute_git_dir(repo)?;
    // The number of commits, for the progress bar's ETA (a quick walk of commits only).
    let total = if bar.on {
        crate::git::cli::count_commits(&git_dir, &revs).unwrap_or(0)
    } else {
        0
    };
    bar.unit = "commits";
    let opts = history::Options {
        revs,
        max_file_size: args.max_file_size,
    };
    let report = history::scan(&git_dir, scanner, &opts, total, &mut |d, t, b| {
        bar.tick(d, t, b)
    })?;
    let rows = report
        .secrets
        .into_iter()
        .map(|s| Row {
            commit: Some(s.introduced.to_string()),
            fate: Some((s.removed.iter().map(|c| c.to_string()).collect(), s.present)),
            path: s.path,
            finding: s.finding,
        })
        .collect();
    let skipped = report
        .skipped
        .into_iter()
        .map(|o| format!("{} ({} bytes) in commit {}", o.path, o.size, o.commit))
        .collect();
    Ok((
        rows,
        Extra {
            skipped,
            problems: report.problems,
        },
    ))
}

/// A one-line progress display on a terminal (stderr), redrawn at most 10 times a second.
struct Progress {
    on: bool,
    last: Option<Instant>,
    started: Instant,
    /// What is counted: files, or commits.
    unit: &'static str,
}

impl Progress {
    fn new(on: bool) -> Progress {
        Progress {
            on,
            last: None,
            started: Instant::now(),
            unit: "files",
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
        let rate = done as f64 / secs;
        let eta = if total > done && rate > 0.0 {
            let left = ((total - done) as f64 / rate) as u64;
            format!(", ETA {}:{:02}", left / 60, left % 60)
        } else {
            String::new()
        };
        eprint!(
            "\r[{}{}] {done}/{total} {}, {rate:.0}/s, {:.1} MB, {:.0} MB/s{eta} ",
            "#".repeat(filled as usize),
            "-".repeat((width - filled) as usize),
            self.unit,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn scanner() -> secrets::Scanner {
        secrets::Scanner::new(&secrets::RuleSet::builtin()).expect("built-in rules compile")
    }

    /// Real findings: a file with a GitHub token, scanned from a directory.
    fn rows(dir: &Path) -> Vec<Row> {
        let token = secrets::validate::with_crc32_base62("ghp_", "R5bVnqKxJ3mT8wLp2YcZ6dHs9fGa");
        std::fs::create_dir_all(dir.join("odd [dir]")).expect("mkdir");
        std::fs::write(dir.join("odd [dir]/a*.env"), format!("TOKEN={token}\n")).expect("write");
        std::fs::create_dir_all(dir.join(".git")).expect("mkdir");
        std::fs::write(dir.join(".git/config.env"), format!("TOKEN={token}\n")).expect("write");
        let (rows, skipped) =
            scan_dir(&scanner(), dir, 1 << 20, &mut Progress::new(false)).expect("scans");
        assert!(skipped.is_empty(), "{skipped:?}");
        rows
    }

    #[test]
    fn a_directory_scan_finds_the_secret_and_skips_dot_git() {
        let dir = tempfile::tempdir().expect("temp dir");
        let rows = rows(dir.path());
        let paths: Vec<&str> = rows.iter().map(|r| r.path.as_str()).collect();
        assert_eq!(paths, ["odd [dir]/a*.env"]);
        assert!(rows[0].commit.is_none() && rows[0].fate.is_none());
    }

    #[test]
    fn a_written_baseline_suppresses_exactly_what_it_lists() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut rows = rows(dir.path());
        rows[0].commit = Some("0123456789abcdef0123456789abcdef01234567".into());
        let out = dir.path().join("baseline.yaml");
        write_baseline(&out, &rows, Some(Path::new("/srv/app"))).expect("writes");
        let text = std::fs::read_to_string(&out).expect("reads");
        assert!(text.contains("introduced in 0123456789ab"), "{text}");
        let parsed = rules::policy::parse_suppressions(&text).expect("the baseline parses");
        assert_eq!(parsed.len(), 1);
        assert_eq!(
            parsed[0].fingerprint.as_deref(),
            Some(rows[0].finding.fingerprint.as_str())
        );
        // The path is literal: glob characters in it match only themselves.
        let f = &rows[0].finding;
        let covers =
            |path: &str| parsed[0].covers(&f.fingerprint, &f.rule_id, &f.secret_sha256, path, 0);
        assert!(covers("odd [dir]/a*.env"));
        assert!(
            !covers("odd d/ab.env"),
            "glob characters of the path are literal"
        );
        // No findings: an empty list, still a valid file.
        write_baseline(&out, &[], None).expect("writes");
        let empty = std::fs::read_to_string(&out).expect("reads");
        assert!(rules::policy::parse_suppressions(&empty)
            .expect("parses")
            .is_empty());
    }

    #[test]
    fn history_fates_are_added_to_json_and_sarif_per_row() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut rows = rows(dir.path());
        rows[0].fate = Some((vec!["abc".into()], false));
        let json = with_fate_json(r#"[{"RuleID":"x"}]"#, &rows);
        let v: serde_json::Value = serde_json::from_str(&json).expect("json");
        assert_eq!(v[0]["RemovedIn"], serde_json::json!(["abc"]));
        assert_eq!(v[0]["StillPresent"], false);
        let sarif = with_fate_sarif(r#"{"runs":[{"results":[{"ruleId":"x"}]}]}"#, &rows);
        let v: serde_json::Value = serde_json::from_str(&sarif).expect("json");
        assert_eq!(
            v["runs"][0]["results"][0]["properties"]["stillPresent"],
            false
        );
        // What is not JSON is passed through untouched.
        assert_eq!(with_fate_json("not json", &rows), "not json");
    }

    #[test]
    fn an_unreadable_object_is_named_with_its_commit_and_path() {
        let id = crate::git::parse_id(
            crate::git::HashKind::Sha1,
            "4b825dc642cb6eb9a060e54bf8d69288fbee4904",
        )
        .expect("an id");
        let p = history::Problem {
            object: id,
            commit: id,
            path: "src/a.rs".into(),
            error: "object is missing".into(),
        };
        assert_eq!(
            problem_line(&p),
            format!("incomplete: object {id} (commit {id} at src/a.rs) could not be read: object is missing")
        );
        assert_eq!(glob_literal("a[1]*?{x}\\"), "a\\[1\\]\\*\\?\\{x\\}\\\\");
    }
}
