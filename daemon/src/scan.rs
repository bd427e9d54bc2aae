//! Secret scanning of a push: every blob that the push brings and that no ref held before,
//! read once, each finding attributed to the (oldest) commit and path that add the blob and to
//! every ref update that brings it in.
//!
//! "New" is decided by reachability, never by whether an object happens to be in the object
//! store: objects left behind by rejected pushes, push certificates and unreachable blobs are
//! in the store too, and must not launder content. A blob is new when a commit that no ref held
//! before the push has it at a path where none of the commit's parents has the same blob (for
//! a parent that a ref held, the blob was reachable already; for a new parent, that parent's
//! own commit is where it enters). Refs whose new tip is a tree or a blob (directly or through
//! tags) bring every file of it.

use crate::budget::Budget;
use crate::git::{GitRead, ObjectId};
use anyhow::{Context, Result};
use rules::facts::{ObjectKind, OversizedBlob, SecretFinding, SecretScan, UnscannedBlob};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Limits for one scan, from the policy's `secret_scanning` rules (the strictest wins).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_blob_size: u64,
    /// Scan the first `max_blob_size` bytes of a larger blob (else it is not read).
    pub scan_prefix: bool,
    pub deadline: Duration,
}

/// Where a blob enters: the commit (or tree) and path, and the refs that bring it.
#[derive(Clone)]
struct Intro {
    refs: Arc<[String]>,
    commit: ObjectId,
    path: String,
    /// The blob at the same path before the commit, for telling legacy secrets apart.
    previous: Option<ObjectId>,
}

/// A finding with where it was seen.
pub struct Found {
    pub finding: secrets::Finding,
    pub refs: Arc<[String]>,
    pub commit: ObjectId,
    pub path: String,
    /// The same secret was in the file before the commit.
    pub legacy: bool,
}

/// What a scan found.
#[derive(Default)]
pub struct Outcome {
    pub found: Vec<Found>,
    pub oversized: Vec<OversizedBlob>,
    pub unscanned: Vec<UnscannedBlob>,
    pub incomplete: Vec<UnscannedBlob>,
    pub deadline_expired: bool,
    pub blobs_scanned: u64,
    pub bytes_scanned: u64,
}

/// What one ref update brings, as the collector read it.
pub struct Pushed<'a> {
    /// The ref's name.
    pub name: &'a str,
    /// The object the new value peels to, and its kind.
    pub tip: ObjectId,
    pub kind: ObjectKind,
    /// The commits new to this ref (the collector's list).
    pub commits: &'a [ObjectId],
}

/// Scan what `pushed` brings into the repository. `before` are the tips of every ref as it was
/// before the push (what the repository already held); `trees` the tree and parents of every
/// commit the collector already read (others are read here).
pub fn scan_push(
    git: &dyn GitRead,
    scanner: &secrets::Scanner,
    pushed: &[Pushed<'_>],
    before: &[ObjectId],
    trees: &HashMap<ObjectId, Shape>,
    limits: Limits,
    budget: &Budget,
) -> Result<SecretScan> {
    // The refs that bring each commit: a finding belongs to every one of them, so a ruleset
    // that governs only some refs still sees what is pushed to them alongside others.
    let mut refs_of: HashMap<ObjectId, Vec<String>> = HashMap::new();
    let mut commit_tips = Vec::new();
    let mut other_tips: Vec<(String, ObjectId, ObjectKind)> = Vec::new();
    for u in pushed {
        match u.kind {
            ObjectKind::Commit => {
                commit_tips.push(u.tip);
                for c in u.commits {
                    let refs = refs_of.entry(*c).or_default();
                    if !refs.iter().any(|r| r == u.name) {
                        refs.push(u.name.to_string());
                    }
                }
            }
            ObjectKind::Tree | ObjectKind::Blob if !before.contains(&u.tip) => {
                other_tips.push((u.name.to_string(), u.tip, u.kind))
            }
            _ => {}
        }
    }
    let mut new = git.new_commits(&commit_tips, before, budget, usize::MAX)?;
    new.reverse(); // oldest first: a blob is attributed to the commit that introduced it
    let fallback: Arc<[String]> = pushed.iter().map(|u| u.name.to_string()).collect();
    let mut interned: HashMap<Vec<String>, Arc<[String]>> = HashMap::new();
    let commits: Vec<(Arc<[String]>, ObjectId)> = new
        .into_iter()
        .map(|id| {
            let refs = match refs_of.get(&id) {
                Some(r) => interned
                    .entry(r.clone())
                    .or_insert_with(|| r.as_slice().into())
                    .clone(),
                None => fallback.clone(),
            };
            (refs, id)
        })
        .collect();
    let mut out = Outcome::default();
    let mut intro = commit_blobs(git, scanner, &commits, trees, &mut out, budget)?;
    // Trees and blobs pushed as ref tips (or behind tags) bring every file they hold.
    let mut seen: HashSet<ObjectId> = intro.iter().map(|(b, _)| *b).collect();
    for (name, tip, kind) in other_tips {
        let refs: Arc<[String]> = Arc::from(vec![name.clone()]);
        let files = match kind {
            ObjectKind::Tree => git.files(tip)?,
            _ => vec![(name.clone(), tip)],
        };
        for (path, blob) in files {
            for f in scanner.scan_path(&path) {
                out.found.push(Found {
                    finding: f,
                    refs: refs.clone(),
                    commit: tip,
                    path: path.clone(),
                    legacy: false,
                });
            }
            if seen.insert(blob) {
                intro.push((
                    blob,
                    Intro {
                        refs: refs.clone(),
                        commit: tip,
                        path,
                        previous: None,
                    },
                ));
            }
        }
    }
    scan_blobs(git, scanner, intro, limits, &mut out, &mut |_, _, _| {})?;
    Ok(SecretScan {
        findings: out.found.iter().map(finding).collect(),
        oversized: out.oversized,
        unscanned: out.unscanned,
        incomplete: out.incomplete,
        deadline_expired: out.deadline_expired,
        blobs_scanned: out.blobs_scanned,
        bytes_scanned: out.bytes_scanned,
    })
}

/// A commit's tree and parents: what the scan needs of a commit.
#[derive(Debug, Clone)]
pub struct Shape {
    pub tree: ObjectId,
    pub parents: Vec<ObjectId>,
}

/// The blobs each commit introduces (see the module docs), each distinct blob once; file-name
/// findings for the paths they add go straight into `out`.
fn commit_blobs(
    git: &dyn GitRead,
    scanner: &secrets::Scanner,
    commits: &[(Arc<[String]>, ObjectId)],
    trees: &HashMap<ObjectId, Shape>,
    out: &mut Outcome,
    budget: &Budget,
) -> Result<Vec<(ObjectId, Intro)>> {
    let shape = |id: ObjectId| -> Result<Shape> {
        match trees.get(&id) {
            Some(s) => Ok(s.clone()),
            None => {
                let c = git.commit(id)?;
                Ok(Shape {
                    tree: c.tree,
                    parents: c.parents,
                })
            }
        }
    };
    let mut intro: Vec<(ObjectId, Intro)> = Vec::new();
    let mut seen_blobs = HashSet::new();
    for (i, (refs, commit)) in commits.iter().enumerate() {
        if i % 64 == 0 {
            budget.check()?;
        }
        let Shape { tree, parents } = shape(*commit)?;
        let mut parent_trees = Vec::with_capacity(parents.len());
        for p in parents {
            parent_trees.push(shape(p)?.tree);
        }
        let mut changed = git.changed_files(parent_trees.first().copied(), tree)?;
        // A merge brings a file new only if no parent has it as it is: what one parent
        // already has was added by that parent's history (scanned, or held by a ref).
        for other in parent_trees.iter().skip(1) {
            let differs: HashSet<(String, ObjectId)> = git
                .changed_files(Some(*other), tree)?
                .into_iter()
                .map(|c| (c.path, c.blob))
                .collect();
            changed.retain(|c| differs.contains(&(c.path.clone(), c.blob)));
        }
        for crate::git::ChangedFile {
            path,
            blob,
            previous,
        } in changed
        {
            if previous.is_none() {
                for f in scanner.scan_path(&path) {
                    out.found.push(Found {
                        finding: f,
                        refs: refs.clone(),
                        commit: *commit,
                        path: path.clone(),
                        legacy: false,
                    });
                }
            }
            if !seen_blobs.insert(blob) {
                continue;
            }
            intro.push((
                blob,
                Intro {
                    refs: refs.clone(),
                    commit: *commit,
                    path,
                    previous,
                },
            ));
        }
    }
    Ok(intro)
}

/// Read and scan every blob of `intro`: on every core when there are many.
fn scan_blobs(
    git: &dyn GitRead,
    scanner: &secrets::Scanner,
    intro: Vec<(ObjectId, Intro)>,
    limits: Limits,
    out: &mut Outcome,
    progress: &mut dyn FnMut(u64, u64, u64),
) -> Result<()> {
    let started = Instant::now();
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
    let work = |reader: &dyn GitRead| -> Result<Vec<(usize, Blob)>> {
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
        work(git)?
    } else {
        let readers: Vec<Box<dyn GitRead + Send + '_>> = (0..workers).map(|_| git.fork()).collect();
        on_workers(
            readers,
            |own| work(own.as_ref()),
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
            Blob::Scanned {
                bytes,
                found,
                oversized,
            } => {
                out.blobs_scanned += 1;
                out.bytes_scanned += bytes;
                out.found.extend(found);
                out.oversized.extend(oversized);
            }
            Blob::Oversized(o) => out.oversized.push(o),
            Blob::NotText(b) => out.unscanned.push(b),
        }
    }
    progress(total, total, out.bytes_scanned);
    Ok(())
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
    /// Read (whole, or its first `max_blob_size` bytes: then `oversized` says so).
    Scanned {
        bytes: u64,
        found: Vec<Found>,
        oversized: Option<OversizedBlob>,
    },
    /// Over the size limit and not read.
    Oversized(OversizedBlob),
    /// Not text: reported, never silently counted as scanned.
    NotText(UnscannedBlob),
}

fn scan_blob(
    reader: &dyn GitRead,
    scanner: &secrets::Scanner,
    blob: ObjectId,
    at: &Intro,
    limits: Limits,
) -> Result<Blob> {
    let size = reader.size(blob)?;
    let oversized = (size > limits.max_blob_size).then(|| OversizedBlob {
        refs: at.refs.to_vec(),
        commit: at.commit.to_string(),
        path: at.path.clone(),
        size,
        scanned_bytes: 0,
    });
    if let Some(o) = &oversized {
        if !limits.scan_prefix {
            return Ok(Blob::Oversized(o.clone()));
        }
    }
    let mut data = reader
        .blob(blob)
        .with_context(|| format!("cannot read {} in {}", at.path, at.commit))?;
    let oversized = oversized.map(|mut o| {
        data.truncate(limits.max_blob_size as usize);
        o.scanned_bytes = data.len() as u64;
        o
    });
    if let Err(why) = secrets::text::classify(&data) {
        return Ok(Blob::NotText(UnscannedBlob {
            refs: at.refs.to_vec(),
            commit: at.commit.to_string(),
            path: at.path.clone(),
            reason: why.reason(),
        }));
    }
    let bytes = data.len() as u64;
    let found = scanner.scan(&at.path, &data);
    drop(data);
    if found.is_empty() {
        return Ok(Blob::Scanned {
            bytes,
            found: Vec::new(),
            oversized,
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
                refs: at.refs.clone(),
                commit: at.commit,
                path: at.path.clone(),
                legacy,
            }
        })
        .collect();
    Ok(Blob::Scanned {
        bytes,
        found,
        oversized,
    })
}

fn finding(f: &Found) -> SecretFinding {
    SecretFinding {
        rule_id: f.finding.rule_id.clone(),
        description: f.finding.description.clone(),
        refs: f.refs.to_vec(),
        commit: f.commit.to_string(),
        path: f.path.clone(),
        line: f.finding.line,
        fingerprint: f.finding.fingerprint.clone(),
        secret_sha256: f.finding.secret_sha256.clone(),
        redacted: f.finding.redacted.clone(),
        legacy: f.legacy,
        warn_by_default: f.finding.severity == secrets::Severity::Warn,
    }
}

#[cfg(test)]
mod tests {
    //! The push scan against the in-memory repository: which blobs are new, where each
    //! finding is attributed, and the limits.

    use super::*;
    use crate::git::fake::FakeRepo;
    use crate::git::HashKind;

    const WHO: &str = "A <a@example.org>";
    /// A line with a GitHub token the built-in rules find (its CRC32 checksum is valid).
    fn token_line() -> Vec<u8> {
        let token = secrets::validate::with_crc32_base62("ghp_", "R5bVnqKxJ3mT8wLp2YcZ6dHs9fGa");
        format!("token = \"{token}\"\n").into_bytes()
    }

    fn scanner() -> secrets::Scanner {
        secrets::Scanner::new(&secrets::RuleSet::builtin()).expect("built-in rules compile")
    }

    fn limits() -> Limits {
        Limits {
            max_blob_size: 1 << 20,
            scan_prefix: false,
            deadline: Duration::from_secs(60),
        }
    }

    fn run(git: &FakeRepo, pushed: &[Pushed<'_>], before: &[ObjectId], l: Limits) -> SecretScan {
        scan_push(
            git,
            &scanner(),
            pushed,
            before,
            &HashMap::new(),
            l,
            &Budget::unlimited(),
        )
        .expect("scans")
    }

    fn branch<'a>(name: &'a str, tip: ObjectId, commits: &'a [ObjectId]) -> Pushed<'a> {
        Pushed {
            name,
            tip,
            kind: ObjectKind::Commit,
            commits,
        }
    }

    #[test]
    fn a_secret_is_attributed_to_the_commit_that_adds_it_and_every_ref_that_brings_it() {
        let mut git = FakeRepo::new(HashKind::Sha1);
        let readme = git.add_blob(b"hello\n");
        let t0 = git.add_tree(&[("README", readme)]);
        let base = git.add_commit(t0, &[], WHO, "base");
        let secret = git.add_blob(&token_line());
        let t1 = git.add_tree(&[("README", readme), ("app/config.py", secret)]);
        let adds = git.add_commit(t1, &[base], WHO, "adds the token");
        let t2 = git.add_tree(&[("README", readme)]);
        let removes = git.add_commit(t2, &[adds], WHO, "removes it again");
        let commits = [removes, adds];
        let scan = run(
            &git,
            &[
                branch("refs/heads/main", removes, &commits),
                branch("refs/heads/mirror", removes, &commits),
            ],
            &[base],
            limits(),
        );
        assert_eq!(
            scan.blobs_scanned, 1,
            "README was there before; only the token blob is new"
        );
        let f = scan
            .findings
            .first()
            .expect("the token is found though deleted later");
        assert_eq!(f.commit, adds.to_string());
        assert_eq!(f.path, "app/config.py");
        assert_eq!(f.line, 1);
        assert_eq!(f.refs, ["refs/heads/main", "refs/heads/mirror"]);
        assert!(!f.legacy);
        assert!(
            !f.redacted.contains("R5bVnqKxJ3mT8wLp2YcZ6dHs9fGa"),
            "never the value"
        );
    }

    #[test]
    fn an_unchanged_file_is_not_new_a_copy_is_and_a_kept_secret_is_legacy() {
        let mut git = FakeRepo::new(HashKind::Sha256);
        let secret = git.add_blob(&token_line());
        let t0 = git.add_tree(&[("config.py", secret)]);
        let base = git.add_commit(t0, &[], WHO, "legacy token");
        // A commit that leaves the file as it is does not bring it again.
        let notes = git.add_blob(b"notes\n");
        let t1 = git.add_tree(&[("config.py", secret), ("notes.txt", notes)]);
        let other = git.add_commit(t1, &[base], WHO, "notes");
        let scan = run(
            &git,
            &[branch("refs/heads/main", other, &[other])],
            &[base],
            limits(),
        );
        assert!(scan.findings.is_empty(), "{scan:?}");
        assert_eq!(scan.blobs_scanned, 1, "notes.txt only");
        // The same blob at a new path is a new place for the secret: found (not legacy).
        let t2 = git.add_tree(&[("config.py", secret), ("copy.py", secret)]);
        let copy = git.add_commit(t2, &[base], WHO, "copy");
        let scan = run(
            &git,
            &[branch("refs/heads/main", copy, &[copy])],
            &[base],
            limits(),
        );
        assert_eq!(scan.findings.len(), 1, "{scan:?}");
        assert_eq!(scan.findings[0].path, "copy.py");
        assert!(!scan.findings[0].legacy);
        // An edit of the file that keeps the secret: found, and marked legacy.
        let edited = git.add_blob(&[token_line().as_slice(), b"debug = True\n"].concat());
        let t3 = git.add_tree(&[("config.py", edited)]);
        let edit = git.add_commit(t3, &[base], WHO, "edit");
        let scan = run(
            &git,
            &[branch("refs/heads/main", edit, &[edit])],
            &[base],
            limits(),
        );
        assert_eq!(scan.findings.len(), 1, "{scan:?}");
        assert!(scan.findings[0].legacy);
    }

    #[test]
    fn a_merge_brings_only_what_no_parent_has() {
        let mut git = FakeRepo::new(HashKind::Sha1);
        let readme = git.add_blob(b"hello\n");
        let t0 = git.add_tree(&[("README", readme)]);
        let base = git.add_commit(t0, &[], WHO, "base");
        let secret = git.add_blob(&token_line());
        let side_tree = git.add_tree(&[("README", readme), ("side.py", secret)]);
        let side = git.add_commit(side_tree, &[base], WHO, "side adds the token");
        // A merge of a side branch a ref already holds: its token is not this push's.
        let evil = git.add_blob(b"password = \"hunter2-but-much-longer-Zq8\"\n");
        let merged = git.add_tree(&[("README", readme), ("side.py", secret), ("x.py", evil)]);
        let merge = git.add_commit(merged, &[base, side], WHO, "merge");
        let scan = run(
            &git,
            &[branch("refs/heads/main", merge, &[merge])],
            &[base, side],
            limits(),
        );
        assert!(
            scan.findings.iter().all(|f| f.path != "side.py"),
            "the side branch's blob was held by a ref: {scan:?}"
        );
        assert_eq!(
            scan.blobs_scanned, 1,
            "only x.py, which the merge itself adds"
        );
    }

    #[test]
    fn a_tree_pushed_as_a_ref_brings_every_file() {
        let mut git = FakeRepo::new(HashKind::Sha1);
        let secret = git.add_blob(&token_line());
        let tree = git.add_tree(&[("deep/dir/creds.txt", secret)]);
        let pushed = [Pushed {
            name: "refs/trees/t",
            tip: tree,
            kind: ObjectKind::Tree,
            commits: &[],
        }];
        let scan = run(&git, &pushed, &[], limits());
        assert_eq!(scan.findings.len(), 1);
        assert_eq!(scan.findings[0].path, "deep/dir/creds.txt");
        assert_eq!(scan.findings[0].commit, tree.to_string());
    }

    #[test]
    fn large_and_binary_blobs_are_reported_not_skipped_silently() {
        let mut git = FakeRepo::new(HashKind::Sha1);
        let big = git.add_blob(&[token_line().as_slice(), &vec![b'a'; 4096]].concat());
        let binary = git.add_blob(&[0u8, 159, 146, 150, 0, 1, 2, 3, 0, 0, 0, 7]);
        let tree = git.add_tree(&[("big.txt", big), ("image.bin", binary)]);
        let c = git.add_commit(tree, &[], WHO, "assets");
        let small = Limits {
            max_blob_size: 1024,
            ..limits()
        };
        let scan = run(&git, &[branch("refs/heads/main", c, &[c])], &[], small);
        assert_eq!(scan.oversized.len(), 1);
        assert_eq!(scan.oversized[0].path, "big.txt");
        assert_eq!(
            scan.oversized[0].scanned_bytes, 0,
            "not read without scan_prefix"
        );
        assert_eq!(scan.unscanned.len(), 1);
        assert_eq!(scan.unscanned[0].path, "image.bin");
        // With scan_prefix, the first bytes are read and the token in them is found.
        let prefix = Limits {
            scan_prefix: true,
            ..small
        };
        let scan = run(&git, &[branch("refs/heads/main", c, &[c])], &[], prefix);
        assert_eq!(scan.oversized[0].scanned_bytes, 1024);
        assert_eq!(scan.findings.len(), 1, "{scan:?}");
    }

    #[test]
    fn an_expired_deadline_is_reported() {
        let mut git = FakeRepo::new(HashKind::Sha1);
        let secret = git.add_blob(&token_line());
        let tree = git.add_tree(&[("a.py", secret)]);
        let c = git.add_commit(tree, &[], WHO, "a");
        let none = Limits {
            deadline: Duration::ZERO,
            ..limits()
        };
        let scan = run(&git, &[branch("refs/heads/main", c, &[c])], &[], none);
        assert!(scan.deadline_expired);
        assert_eq!(scan.blobs_scanned, 0);
    }

    #[test]
    fn many_blobs_are_scanned_on_workers_with_the_same_result() {
        let mut git = FakeRepo::new(HashKind::Sha1);
        let mut files = Vec::new();
        for i in 0..(PARALLEL_FROM + 10) {
            let blob = if i == 40 {
                git.add_blob(&token_line())
            } else {
                git.add_blob(format!("line {i}\n").as_bytes())
            };
            files.push((format!("f{i:03}.txt"), blob));
        }
        let named: Vec<(&str, ObjectId)> = files.iter().map(|(p, b)| (p.as_str(), *b)).collect();
        let tree = git.add_tree(&named);
        let c = git.add_commit(tree, &[], WHO, "many");
        let scan = run(&git, &[branch("refs/heads/main", c, &[c])], &[], limits());
        assert_eq!(scan.blobs_scanned, files.len() as u64);
        assert_eq!(scan.findings.len(), 1);
        assert_eq!(scan.findings[0].path, "f040.txt");
    }
}
