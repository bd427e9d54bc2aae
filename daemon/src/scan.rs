//! Secret scanning of a push: every blob new to the repository, read once from the
//! quarantine, findings attributed to the (oldest) commit and path that add it.

use crate::git::RepoReader;
use anyhow::Result;
use gix::ObjectId;
use rules::facts::{OversizedBlob, RefUpdate, SecretFinding, SecretScan};
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Limits for one push, from the policy's `secret_scanning` rules (the strictest wins).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_blob_size: u64,
    pub deadline: Duration,
}

/// Where a blob enters the push.
struct Intro {
    ref_name: String,
    commit: ObjectId,
    path: String,
    /// The blob at the same path before the commit, for telling legacy secrets apart.
    previous: Option<ObjectId>,
}

/// A finding with where it was seen.
pub struct Found {
    pub finding: secrets::Finding,
    pub ref_name: String,
    pub commit: ObjectId,
    pub path: String,
    /// The same secret was in the file before the commit.
    pub legacy: bool,
}

/// What scanning a list of commits found.
#[derive(Default)]
pub struct Outcome {
    pub found: Vec<Found>,
    pub oversized: Vec<OversizedBlob>,
    pub deadline_expired: bool,
    pub blobs_scanned: u64,
    pub bytes_scanned: u64,
}

/// Scan what `updates` add to the repository. Each update lists the commits new to its ref
/// (as the collector found them), newest first.
pub fn scan_push(
    reader: &RepoReader,
    scanner: &secrets::Scanner,
    updates: &[RefUpdate],
    limits: Limits,
) -> Result<SecretScan> {
    // Commits new to the repository, each attributed to the first ref update bringing it in.
    let mut seen_commits = HashSet::new();
    let mut order: Vec<(String, ObjectId)> = Vec::new();
    for u in updates {
        // Oldest first, so a blob is attributed to the commit that introduced it.
        for c in u.commits.iter().rev() {
            let id = reader.parse_id(&c.id)?;
            if reader.existed_before_push(id) == Some(true) {
                continue; // already in the repository: not new
            }
            if seen_commits.insert(id) {
                order.push((u.name.clone(), id));
            }
        }
    }
    let out = scan_commits(reader, scanner, &order, limits, &mut |_, _, _| {})?;
    Ok(SecretScan {
        findings: out
            .found
            .iter()
            .map(|f| finding(&f.finding, &f.ref_name, f.commit, &f.path, f.legacy))
            .collect(),
        oversized: out.oversized,
        deadline_expired: out.deadline_expired,
        blobs_scanned: out.blobs_scanned,
        bytes_scanned: out.bytes_scanned,
    })
}

/// Scan the blobs that `commits` (oldest first, each with a label such as its ref) add against
/// their first parent. Each distinct blob is read once and attributed to the first commit and
/// path that add it; blobs that were in the repository before a push are skipped. `progress`
/// is called with (blobs done, blobs in all, bytes read).
pub fn scan_commits(
    reader: &RepoReader,
    scanner: &secrets::Scanner,
    commits: &[(String, ObjectId)],
    limits: Limits,
    progress: &mut dyn FnMut(u64, u64, u64),
) -> Result<Outcome> {
    let started = Instant::now();
    let mut out = Outcome::default();
    // Each distinct new blob, with where it first appears; path-only rules for new paths.
    let mut intro: Vec<(ObjectId, Intro)> = Vec::new();
    let mut seen_blobs = HashSet::new();
    for (ref_name, commit) in commits {
        let raw = reader.commit(*commit)?;
        let tree = reader.parse_id(&raw.tree)?;
        // Against the first parent: what a merge brings from its other parents was added by
        // commits that are scanned themselves (or were in the repository already).
        let parent_tree = match raw.parents.first() {
            Some(p) => Some(reader.parse_id(&reader.commit(reader.parse_id(p)?)?.tree)?),
            None => None,
        };
        for (path, blob, previous) in reader.changed_files(parent_tree, tree)? {
            if previous.is_none() {
                for f in scanner.scan_path(&path) {
                    out.found.push(Found {
                        finding: f,
                        ref_name: ref_name.clone(),
                        commit: *commit,
                        path: path.clone(),
                        legacy: false,
                    });
                }
            }
            if reader.existed_before_push(blob) == Some(true) || !seen_blobs.insert(blob) {
                continue;
            }
            intro.push((
                blob,
                Intro {
                    ref_name: ref_name.clone(),
                    commit: *commit,
                    path,
                    previous,
                },
            ));
        }
    }
    let total = intro.len() as u64;
    // Big scans (audits, large pushes) use every core; small pushes stay on this thread.
    let workers = if intro.len() >= PARALLEL_FROM {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    } else {
        1
    };
    let next = AtomicUsize::new(0);
    let done = AtomicU64::new(0);
    let bytes = AtomicU64::new(0);
    let expired = AtomicBool::new(false);
    let work = |reader: &RepoReader| -> Result<Vec<(usize, Blob)>> {
        let mut results = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some((blob, at)) = intro.get(i) else {
                break;
            };
            if expired.load(Ordering::Relaxed) || started.elapsed() > limits.deadline {
                expired.store(true, Ordering::Relaxed);
                break;
            }
            let r = scan_blob(reader, scanner, *blob, at, limits)?;
            if let Blob::Scanned { bytes: b, .. } = &r {
                bytes.fetch_add(*b, Ordering::Relaxed);
            }
            done.fetch_add(1, Ordering::Relaxed);
            results.push((i, r));
        }
        Ok(results)
    };
    let mut results: Vec<(usize, Blob)> = if workers <= 1 {
        work(reader)?
    } else {
        let readers: Vec<RepoReader> = (0..workers).map(|_| reader.fork()).collect();
        on_workers(
            readers,
            |own| work(&own),
            || {
                progress(
                    done.load(Ordering::Relaxed),
                    total,
                    bytes.load(Ordering::Relaxed),
                )
            },
        )?
    };
    results.sort_by_key(|(i, _)| *i);
    out.deadline_expired = expired.load(Ordering::Relaxed);
    for (_, r) in results {
        match r {
            Blob::Oversized(o) => out.oversized.push(o),
            Blob::Scanned { bytes, found } => {
                out.blobs_scanned += 1;
                out.bytes_scanned += bytes;
                out.found.extend(found);
            }
        }
    }
    progress(total, total, out.bytes_scanned);
    Ok(out)
}

/// Run `work` once per item of `states` on its own (scoped) thread, calling `tick` every 50 ms
/// while they run; the results of all, or the first error.
pub fn on_workers<S: Send, T: Send>(
    states: Vec<S>,
    work: impl Fn(S) -> Result<Vec<T>> + Sync,
    mut tick: impl FnMut(),
) -> Result<Vec<T>> {
    let parts: Vec<Result<Vec<T>>> = std::thread::scope(|s| {
        let work = &work;
        let handles: Vec<_> = states
            .into_iter()
            .map(|state| s.spawn(move || work(state)))
            .collect();
        while handles.iter().any(|h| !h.is_finished()) {
            tick();
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("a scan worker panicked")))
            })
            .collect()
    });
    let mut all = Vec::new();
    for p in parts {
        all.extend(p?);
    }
    Ok(all)
}

/// From how many new blobs on a scan runs on every core.
const PARALLEL_FROM: usize = 64;

/// What one blob gave.
enum Blob {
    Oversized(OversizedBlob),
    Scanned { bytes: u64, found: Vec<Found> },
}

fn scan_blob(
    reader: &RepoReader,
    scanner: &secrets::Scanner,
    blob: ObjectId,
    at: &Intro,
    limits: Limits,
) -> Result<Blob> {
    let size = reader.size(blob)?;
    if size > limits.max_blob_size {
        return Ok(Blob::Oversized(OversizedBlob {
            ref_name: at.ref_name.clone(),
            commit: at.commit.to_string(),
            path: at.path.clone(),
            size,
        }));
    }
    let data = reader.blob(blob)?;
    let bytes = data.len() as u64;
    let found = scanner.scan(&at.path, &data);
    drop(data);
    if found.is_empty() {
        return Ok(Blob::Scanned {
            bytes,
            found: Vec::new(),
        });
    }
    // Secrets that the file already held before this commit are legacy.
    let before: HashSet<(String, String)> = match at.previous {
        Some(prev) if reader.size(prev)? <= limits.max_blob_size => scanner
            .scan(&at.path, &reader.blob(prev)?)
            .into_iter()
            .map(|f| (f.rule_id, f.secret_sha256))
            .collect(),
        _ => HashSet::new(),
    };
    let commit_hex = at.commit.to_string();
    let found = found
        .into_iter()
        .filter(|f| !scanner.allowed_in_commit(f, &commit_hex))
        .map(|f| {
            let legacy = before.contains(&(f.rule_id.clone(), f.secret_sha256.clone()));
            Found {
                finding: f,
                ref_name: at.ref_name.clone(),
                commit: at.commit,
                path: at.path.clone(),
                legacy,
            }
        })
        .collect();
    Ok(Blob::Scanned { bytes, found })
}

fn finding(
    f: &secrets::Finding,
    ref_name: &str,
    commit: ObjectId,
    path: &str,
    legacy: bool,
) -> SecretFinding {
    SecretFinding {
        rule_id: f.rule_id.clone(),
        description: f.description.clone(),
        ref_name: ref_name.to_string(),
        commit: commit.to_string(),
        path: path.to_string(),
        line: f.line,
        fingerprint: f.fingerprint.clone(),
        secret_sha256: f.secret_sha256.clone(),
        redacted: f.redacted.clone(),
        legacy,
    }
}
