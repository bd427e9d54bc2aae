//! `pushguard scan --git`: the secrets of a repository's history, each reported once, at the
//! commit that introduced it, with the commits that later removed it.
//!
//! The history is read as a stream, newest commit first (`git rev-list --topo-order
//! --parents`, so nothing waits for the whole list): one thread compares each commit's tree
//! with its first parent's, and the workers (one per core, each owning the files whose path
//! falls to it) read the two versions of each changed file, compare them line by line
//! ([`secrets::linediff`]) and scan only the lines the commit adds, and the lines it removes
//! ([`secrets::AddedScanner`]). Newest first is the order git's packs are made for: a file's
//! older versions are stored as deltas on its newer ones, so each version is decoded from the
//! one just read. A merge brings only what none of its parents had (conflict resolutions, evil
//! merges); each blob id is scanned once, where it is first met. The findings are small events
//! (added at commit C, path P; removed at commit D; file deleted at E), put in history order at
//! the end: a secret is reported at its oldest introduction, with the later commits that removed
//! it, and whether the scanned tips still have it. Memory stays bounded by the commits in
//! flight, small caches, the set of blob ids met, and the events (findings, file deletions, blobs
//! met again: a few dozen bytes each), never by contents.
//!
//! A missing or unreadable object (a partial or damaged clone) is a [`Problem`] naming the
//! object, the commit and the path; the scan goes on and the report says it is incomplete. This
//! is for audits only: the push path ([`crate::scan`]) fails closed instead.

use crate::git::{GitRead, RepoReader};
use anyhow::{bail, Context, Result};
use gix::objs::FindExt;
use gix::ObjectId;
use secrets::{linediff, Finding, Scanner};
use std::collections::{HashMap, VecDeque};
use std::io::BufRead;
use std::path::Path;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

/// Batches of commits each worker may have queued: bounds the memory of the pipeline.
const WINDOW: usize = 16;
/// Bytes of recently read blobs a worker keeps: the older version of a file that one change
/// reads is the newer version of the next change to that file (files are spread over the
/// workers by path, so it is the same worker's).
const RECENT_BYTES: usize = 8 << 20;
/// Blobs larger than this are not kept.
const RECENT_MAX_BLOB: usize = 4 << 20;
/// How many blobs' "holds a whole-file keyword" answers a worker keeps (then forgotten at
/// once: a forgotten answer only costs a search).
const KEYWORD_ANSWERS: usize = 1 << 17;
/// Decoded objects each worker's pack reader keeps (delta bases for the next, older version).
const WORKER_PACK_CACHE: usize = 16 << 20;
/// The walker's caches: delta bases, and whole trees (a commit's trees are read first as the
/// parent side of its child's diff, then as its own).
const WALKER_PACK_CACHE: usize = 8 << 20;
const WALKER_OBJECT_CACHE: usize = 0;
/// Commits after which the repository is opened afresh (all threads move to the new object
/// store, the old one is dropped): the packs' memory maps then hold only the pages of the
/// recent part of the walk, so resident memory does not grow with the pack (496 MiB for
/// git/git).
const REOPEN_EVERY: u64 = 2048;
/// Or after the workers read this many bytes of blobs (a history of large files maps its pack
/// faster than it walks commits).
const REOPEN_BYTES: u64 = 64 << 20;

/// The object store the threads read from now, and its generation.
struct Store {
    generation: std::sync::atomic::AtomicU64,
    /// Bytes of blobs read since the store was opened.
    read: std::sync::atomic::AtomicU64,
    reader: std::sync::Mutex<RepoReader>,
}

impl Store {
    /// A reader of the current store with the given caches, if it is newer than `have`.
    fn newer(
        &self,
        have: u64,
        pack_cache: usize,
        object_cache: usize,
    ) -> Option<(u64, RepoReader)> {
        let now = self.generation.load(std::sync::atomic::Ordering::Acquire);
        if now == have {
            return None;
        }
        let r = self.reader.lock().ok()?;
        Some((now, r.fork_for_history(pack_cache, object_cache)))
    }
}

/// What to scan.
pub struct Options {
    /// Arguments for `git rev-list` naming the commits (e.g. `["master"]`, `["--all"]`).
    pub revs: Vec<String>,
    /// Blobs larger than this are listed as skipped, not read.
    pub max_file_size: u64,
}

/// A secret found in the history: where it came in and what became of it.
#[derive(Debug, Clone)]
pub struct Secret {
    /// The finding as first seen (line numbers of the introducing version).
    pub finding: Finding,
    pub path: String,
    /// The commit whose change brought it to `path`.
    pub introduced: ObjectId,
    /// Later commits whose change took it away from `path` (oldest first).
    pub removed: Vec<ObjectId>,
    /// Still at `path` in one of the scanned tips.
    pub present: bool,
}

/// An object that could not be read: the report is incomplete.
#[derive(Debug, Clone)]
pub struct Problem {
    pub object: ObjectId,
    pub commit: ObjectId,
    /// Where the object sits in the commit's tree (empty for a commit or the root tree).
    pub path: String,
    pub error: String,
}

/// A blob not read because of its size.
#[derive(Debug, Clone)]
pub struct Skipped {
    pub path: String,
    pub commit: ObjectId,
    pub size: u64,
}

/// What a history scan found.
#[derive(Debug, Default)]
pub struct Report {
    /// In the order of their introduction, oldest first.
    pub secrets: Vec<Secret>,
    pub skipped: Vec<Skipped>,
    pub problems: Vec<Problem>,
    pub commits: u64,
    pub blobs: u64,
    pub bytes: u64,
}

/// Where a scan is, for a progress display: commits done, commits in all (0 if not counted),
/// bytes read.
pub type ProgressFn<'a> = dyn FnMut(u64, u64, u64) + 'a;

/// One file changed by a commit (against its first parent).
struct Change {
    path: String,
    old: Option<ObjectId>,
    new: Option<ObjectId>,
    /// `new` is a blob no commit walked before had: it is read and scanned.
    fresh: bool,
}

/// Commits sent to the workers at a time.
const BATCH: u32 = 16;

/// A few commits' parts for one worker.
type Job = Vec<Part>;

/// One commit's changes for one worker (each worker gets a part of every commit: the files
/// whose path falls to it).
struct Part {
    /// Position in the walk: 0 is the newest commit; a parent comes after its children.
    seq: u32,
    commit: ObjectId,
    changes: Vec<Change>,
    problems: Vec<Problem>,
}

/// What a worker found in one commit's part.
#[derive(Default)]
struct Done {
    /// Commits (parts of commits) done.
    commits: u64,
    events: Vec<Event>,
    problems: Vec<Problem>,
    skipped: Vec<Skipped>,
    blobs: u64,
    bytes: u64,
}

/// Something that happened to a secret (or a file) at a commit.
enum Event {
    /// Found on a line the commit adds to `path` (or, for a blob met again, that the blob had).
    Added {
        seq: u32,
        commit: ObjectId,
        path: String,
        finding: Box<Finding>,
        /// The blob, when the finding is on its added lines (for blobs met again later).
        blob: Option<ObjectId>,
    },
    /// Found on a line the commit removes from `path`.
    Removed {
        seq: u32,
        commit: ObjectId,
        path: String,
        rule: String,
        sha: String,
    },
    /// A blob met again (already scanned where it was first met) at `path`.
    Again {
        seq: u32,
        commit: ObjectId,
        path: String,
        blob: ObjectId,
    },
    /// The commit deletes `path`.
    Deleted {
        seq: u32,
        commit: ObjectId,
        path: String,
    },
}

/// Scan the history of the repository at `git_dir` (see the module docs). `total` is the
/// number of commits, for `progress` (0 if not known).
pub fn scan(
    git_dir: &Path,
    scanner: &Scanner,
    opts: &Options,
    total: u64,
    progress: &mut ProgressFn<'_>,
) -> Result<Report> {
    let mut walk_git = crate::git::cli::TopoWalk::start(git_dir, &opts.revs)?;
    let stdout = walk_git.lines()?;
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let mut job_txs = Vec::new();
    let mut job_rxs = Vec::new();
    for _ in 0..workers {
        let (tx, rx) = sync_channel::<Job>(WINDOW);
        job_txs.push(tx);
        job_rxs.push(rx);
    }
    let (done_tx, done_rx) = sync_channel::<Done>(WINDOW * workers);
    let added = scanner.added_lines();
    let mut report = Report::default();
    let mut events: Vec<Event> = Vec::new();
    let store = Store {
        generation: std::sync::atomic::AtomicU64::new(1),
        read: std::sync::atomic::AtomicU64::new(0),
        reader: std::sync::Mutex::new(RepoReader::open_for_history(git_dir, 0, 0)?),
    };
    let store = &store;
    let walked: Result<()> = std::thread::scope(|s| {
        let producer = s.spawn(move || walk(git_dir, store, stdout, job_txs));
        let mut handles = Vec::new();
        for rx in job_rxs {
            let done_tx = done_tx.clone();
            let added = &added;
            handles.push(s.spawn(move || {
                let tools = Tools {
                    store,
                    scanner,
                    added,
                    max: opts.max_file_size,
                };
                work(&tools, rx, done_tx)
            }));
        }
        drop(done_tx);
        let mut parts = 0u64;
        for done in done_rx.iter() {
            parts += done.commits;
            report.commits = parts / workers as u64;
            report.blobs += done.blobs;
            report.bytes += done.bytes;
            report.problems.extend(done.problems);
            report.skipped.extend(done.skipped);
            events.extend(done.events);
            progress(report.commits, total, report.bytes);
        }
        let walked = producer
            .join()
            .unwrap_or_else(|_| Err(anyhow::anyhow!("the history walk panicked")));
        for h in handles {
            h.join()
                .unwrap_or_else(|_| Err(anyhow::anyhow!("a scan worker panicked")))?;
        }
        walked
    });
    let finished = walk_git.finish();
    walked?;
    finished?;
    report.secrets = tally(events);
    present(git_dir, scanner, opts, &mut report)?;
    Ok(report)
}

/// The producer: each commit from `git rev-list`, its changes against its first parent, split
/// among the workers by path.
fn walk(
    git_dir: &Path,
    store: &Store,
    stdout: std::process::ChildStdout,
    jobs: Vec<SyncSender<Job>>,
) -> Result<()> {
    let (mut generation, mut reader) = store
        .newer(0, WALKER_PACK_CACHE, WALKER_OBJECT_CACHE)
        .context("the object store")?;
    let mut seen: gix::hashtable::HashSet<ObjectId> = Default::default();
    let mut trees = Trees::default();
    let mut seq = 0u32;
    // Parts waiting to be sent to each worker, a few commits at a time.
    let mut batches: Vec<Vec<Part>> = (0..jobs.len()).map(|_| Vec::new()).collect();
    for line in std::io::BufReader::new(stdout).lines() {
        let line = line.context("reading git rev-list")?;
        let read = store.read.load(std::sync::atomic::Ordering::Relaxed);
        if seq > 0 && (u64::from(seq) % REOPEN_EVERY == 0 || read > REOPEN_BYTES) {
            store.read.store(0, std::sync::atomic::Ordering::Relaxed);
            let fresh = RepoReader::open_for_history(git_dir, 0, 0)?;
            if let Ok(mut r) = store.reader.lock() {
                *r = fresh;
            }
            store
                .generation
                .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
            if let Some((g, r)) = store.newer(generation, WALKER_PACK_CACHE, WALKER_OBJECT_CACHE) {
                (generation, reader) = (g, r);
            }
            trees = Trees::default();
        }
        let reader = &reader;
        let mut ids = line.split_whitespace();
        let Some(commit) = ids.next() else { continue };
        let commit = reader.parse_id(commit)?;
        let parents = ids
            .map(|p| reader.parse_id(p))
            .collect::<Result<Vec<_>>>()?;
        let mut changes = Vec::new();
        let mut problems = Vec::new();
        let tree_of = |id: ObjectId, problems: &mut Vec<Problem>| -> Option<ObjectId> {
            match tree_of(reader, id) {
                Ok(t) => Some(t),
                Err(e) => {
                    problems.push(Problem {
                        object: id,
                        commit,
                        path: String::new(),
                        error: format!("{e:#}"),
                    });
                    None
                }
            }
        };
        if let Some(tree) = tree_of(commit, &mut problems) {
            let old = parents.first().and_then(|p| tree_of(*p, &mut problems));
            // A merge brings only what none of its other parents has at that path: the rest
            // came with those parents' own commits.
            let others: Vec<ObjectId> = parents
                .iter()
                .skip(1)
                .filter_map(|p| tree_of(*p, &mut problems))
                .collect();
            let mut d = TreeDiff {
                reader,
                commit,
                changes: &mut changes,
                problems: &mut problems,
                trees: &mut trees,
            };
            d.diff(old, Some(tree), &others, &mut String::new());
        }
        for c in &mut changes {
            if let Some(new) = c.new {
                c.fresh = seen.insert(new);
            }
        }
        // Each worker gets the files whose path falls to it (the same worker for every version
        // of a file, so its caches hold that file's delta chain and recent versions).
        let mut parts: Vec<Vec<Change>> = (0..jobs.len()).map(|_| Vec::new()).collect();
        for c in changes {
            let i = shard(&c.path, jobs.len());
            parts[i].push(c);
        }
        let flush = seq % BATCH == BATCH - 1;
        for ((tx, batch), changes) in jobs.iter().zip(&mut batches).zip(parts) {
            batch.push(Part {
                seq,
                commit,
                changes,
                problems: std::mem::take(&mut problems),
            });
            if flush && tx.send(std::mem::take(batch)).is_err() {
                return Ok(()); // the scan stopped
            }
        }
        seq = seq.saturating_add(1);
    }
    for (tx, batch) in jobs.iter().zip(batches) {
        if !batch.is_empty() && tx.send(batch).is_err() {
            break;
        }
    }
    Ok(())
}

/// Which of `n` workers handles `path`.
fn shard(path: &str, n: usize) -> usize {
    (linediff::line_hash(path.as_bytes()) % n.max(1) as u64) as usize
}

fn tree_of(reader: &RepoReader, commit: ObjectId) -> Result<ObjectId> {
    let c = reader
        .repo
        .find_commit(commit)
        .with_context(|| format!("commit {commit} is missing"))?;
    Ok(c.tree_id()
        .with_context(|| format!("commit {commit} cannot be parsed"))?
        .detach())
}

/// Compares two trees by path, recursively, recording changed files; for a merge, what one of
/// the other parents has as it is (a file, or a whole directory) is left out.
struct TreeDiff<'a> {
    reader: &'a RepoReader,
    commit: ObjectId,
    changes: &'a mut Vec<Change>,
    problems: &'a mut Vec<Problem>,
    trees: &'a mut Trees,
}

/// Tree objects as read, kept for the next commits: walking newest first, the trees a diff
/// reads on the parent side are most often the next commit's own. A tree is moved out when
/// used (never copied) and given back after.
#[derive(Default)]
struct Trees {
    kept: HashMap<ObjectId, Vec<u8>>,
    order: VecDeque<ObjectId>,
    bytes: usize,
    /// Empty buffers to read into.
    pool: Vec<Vec<u8>>,
}

/// Bytes of trees kept by the walker.
const TREES_KEPT: usize = 16 << 20;

impl Trees {
    fn take(&mut self, id: &ObjectId) -> Option<Vec<u8>> {
        let t = self.kept.remove(id)?;
        self.bytes -= t.capacity();
        Some(t)
    }

    fn keep(&mut self, id: ObjectId, data: Vec<u8>) {
        if data.is_empty() {
            return self.recycle(data);
        }
        self.bytes += data.capacity();
        if let Some(old) = self.kept.insert(id, data) {
            self.bytes -= old.capacity();
            self.recycle(old);
        } else {
            self.order.push_back(id);
        }
        while self.bytes > TREES_KEPT {
            let Some(old) = self.order.pop_front() else {
                break;
            };
            if let Some(d) = self.kept.remove(&old) {
                self.bytes -= d.capacity();
                self.recycle(d);
            }
        }
        if self.order.len() > 4 * self.kept.len() + 64 {
            let kept = &self.kept;
            self.order.retain(|id| kept.contains_key(id));
        }
    }

    fn recycle(&mut self, mut b: Vec<u8>) {
        if self.pool.len() < 64 {
            b.clear();
            self.pool.push(b);
        }
    }
}

/// What a tree entry is, for comparing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    File,
    Dir,
    /// Submodules: not in this repository.
    Other,
}

/// One entry of a tree object, as its bytes are.
#[derive(Clone, Copy)]
struct Raw<'a> {
    kind: Kind,
    name: &'a [u8],
    id: &'a [u8],
    /// The whole entry (mode, name, id): equal bytes, equal entries.
    all: &'a [u8],
}

impl Raw<'_> {
    fn oid(&self) -> ObjectId {
        ObjectId::try_from(self.id).unwrap_or_else(|_| ObjectId::null(gix::hash::Kind::Sha1))
    }
}

/// The entries of a tree object's bytes, in order; `None` at the end or at malformed bytes.
struct RawIter<'a> {
    data: &'a [u8],
    hash_len: usize,
    malformed: bool,
    peeked: Option<Raw<'a>>,
}

impl<'a> RawIter<'a> {
    fn peek(&mut self) -> Option<Raw<'a>> {
        if self.peeked.is_none() {
            self.peeked = self.parse();
        }
        self.peeked
    }

    fn next(&mut self) -> Option<Raw<'a>> {
        self.peeked.take().or_else(|| self.parse())
    }

    fn parse(&mut self) -> Option<Raw<'a>> {
        if self.data.is_empty() {
            return None;
        }
        let d = self.data;
        // Modes and names are short: a plain loop beats a vectorised search here.
        let entry = d.iter().position(|&c| c == b' ').and_then(|sp| {
            let nul = sp + 1 + d[sp + 1..].iter().position(|&c| c == 0)?;
            let end = nul + 1 + self.hash_len;
            (end <= d.len()).then_some((sp, nul, end))
        });
        let Some((sp, nul, end)) = entry else {
            self.malformed = true;
            self.data = &[];
            return None;
        };
        let mode = &d[..sp];
        let kind = match mode {
            b"40000" | b"040000" => Kind::Dir,
            b"160000" => Kind::Other,
            _ => Kind::File,
        };
        self.data = &d[end..];
        Some(Raw {
            kind,
            name: &d[sp + 1..nul],
            id: &d[nul + 1..end],
            all: &d[..end],
        })
    }
}

impl TreeDiff<'_> {
    /// The bytes of `tree` (empty for `None`, or when it cannot be read: a problem then).
    fn load(&mut self, tree: Option<ObjectId>, path: &str) -> Vec<u8> {
        let Some(id) = tree else {
            return Vec::new();
        };
        if let Some(t) = self.trees.take(&id) {
            return t;
        }
        let mut buf = self.trees.pool.pop().unwrap_or_default();
        match self.reader.repo.objects.find(&id, &mut buf) {
            Ok(d) if d.kind == gix::object::Kind::Tree => buf,
            Ok(d) => {
                let kind = d.kind;
                self.problem(id, path, format!("object {id} is a {kind}, not a tree"));
                Vec::new()
            }
            Err(e) => {
                self.problem(id, path, format!("tree: {e}"));
                Vec::new()
            }
        }
    }

    fn problem(&mut self, object: ObjectId, path: &str, error: String) {
        self.problems.push(Problem {
            object,
            commit: self.commit,
            path: path.to_string(),
            error,
        });
    }

    fn iter<'b>(&self, data: &'b [u8]) -> RawIter<'b> {
        RawIter {
            data,
            hash_len: self.commit.kind().len_in_bytes(),
            malformed: false,
            peeked: None,
        }
    }

    /// Compare `old` and `new` at `path`; `others` are the other parents' trees at `path`.
    fn diff(
        &mut self,
        old: Option<ObjectId>,
        new: Option<ObjectId>,
        others: &[ObjectId],
        path: &mut String,
    ) {
        if old == new {
            return;
        }
        let a_data = self.load(old, path);
        let b_data = self.load(new, path);
        let o_data: Vec<Vec<u8>> = others.iter().map(|o| self.load(Some(*o), path)).collect();
        // Byte-identical leading entries are skipped without parsing their names twice.
        // Byte-identical leading entries are skipped: the first differing byte is found by
        // comparing blocks, the entries before it are parsed on one side only (their bounds are
        // the same on both).
        let same = common_prefix(&a_data, &b_data);
        let mut a = self.iter(&a_data);
        let mut skipped = 0;
        while let Some(x) = a.peek() {
            if skipped + x.all.len() > same {
                break;
            }
            skipped += x.all.len();
            a.next();
        }
        let mut b = self.iter(&b_data[skipped..]);
        let mut o: Vec<RawIter<'_>> = o_data.iter().map(|d| self.iter(d)).collect();
        let mut work: Vec<(Option<Raw<'_>>, Option<Raw<'_>>, Vec<ObjectId>)> = Vec::new();
        loop {
            let order = match (a.peek(), b.peek()) {
                (Some(x), Some(y)) => git_order(&x, &y),
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (None, None) => break,
            };
            let (x, y) = match order {
                std::cmp::Ordering::Less => (a.next(), None),
                std::cmp::Ordering::Greater => (None, b.next()),
                std::cmp::Ordering::Equal => {
                    let (x, y) = (a.next(), b.next());
                    if x.map(|e| e.id) == y.map(|e| e.id) {
                        continue;
                    }
                    (x, y)
                }
            };
            let Some(probe) = y.or(x) else { break };
            // The same name in the other parents: if one has it as the merge has it (or lacks
            // it as the merge does), it came from that parent's side.
            let mut next_others = Vec::new();
            let mut from_other = false;
            for other in &mut o {
                while other
                    .peek()
                    .is_some_and(|e| git_order(&e, &probe) == std::cmp::Ordering::Less)
                {
                    other.next();
                }
                let at = other
                    .peek()
                    .filter(|e| git_order(e, &probe) == std::cmp::Ordering::Equal);
                match (at, y) {
                    (Some(e), Some(y)) if e.id == y.id => from_other = true,
                    (None, None) => from_other = true,
                    (Some(e), _) if e.kind == Kind::Dir => next_others.push(e.oid()),
                    _ => {}
                }
            }
            if !from_other {
                work.push((x, y, next_others));
            }
        }
        if a.malformed || b.malformed {
            if let Some(id) = if b.malformed { new } else { old } {
                self.problem(id, path, format!("tree {id} is malformed"));
            }
        }
        for (x, y, next_others) in work {
            self.one(x, y, &next_others, path);
        }
        if let Some(old) = old {
            self.trees.keep(old, a_data);
        }
        if let Some(new) = new {
            self.trees.keep(new, b_data);
        }
        for (id, d) in others.iter().zip(o_data) {
            self.trees.keep(*id, d);
        }
    }

    /// One name, on one side or both (then of the same kind: see [`git_order`]).
    fn one(
        &mut self,
        old: Option<Raw<'_>>,
        new: Option<Raw<'_>>,
        others: &[ObjectId],
        path: &mut String,
    ) {
        let Some(e) = old.or(new) else {
            return;
        };
        let len = path.len();
        if !path.is_empty() {
            path.push('/');
        }
        path.push_str(&String::from_utf8_lossy(e.name));
        let id = |e: Option<Raw<'_>>| e.map(|e| e.oid());
        match e.kind {
            Kind::Dir => self.diff(id(old), id(new), others, path),
            Kind::File => self.changes.push(Change {
                path: path.clone(),
                old: id(old),
                new: id(new),
                fresh: false,
            }),
            Kind::Other => {}
        }
        path.truncate(len);
    }
}

/// Length of the common prefix of `a` and `b`.
fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    const BLOCK: usize = 64;
    let n = a.len().min(b.len());
    let mut i = 0;
    while i + BLOCK <= n && a[i..i + BLOCK] == b[i..i + BLOCK] {
        i += BLOCK;
    }
    while i < n && a[i] == b[i] {
        i += 1;
    }
    i
}

/// git's order of tree entries (a directory sorts as if its name ended in `/`); entries of
/// different kinds never compare equal, so a file replaced by a directory is a deletion and
/// an addition.
fn git_order(a: &Raw<'_>, b: &Raw<'_>) -> std::cmp::Ordering {
    let end = |k: Kind| if k == Kind::Dir { b'/' } else { 0 };
    let (x, y) = (a.name, b.name);
    let n = x.len().min(y.len());
    x[..n].cmp(&y[..n]).then_with(|| {
        let cx = x.get(n).copied().unwrap_or(end(a.kind));
        let cy = y.get(n).copied().unwrap_or(end(b.kind));
        cx.cmp(&cy).then_with(|| a.kind.cmp(&b.kind))
    })
}

/// What a worker works with.
struct Tools<'a> {
    store: &'a Store,
    scanner: &'a Scanner,
    added: &'a secrets::AddedScanner<'a>,
    max: u64,
}

/// What one worker remembers about the blobs it read.
#[derive(Default)]
struct Local {
    recent: HashMap<ObjectId, Vec<u8>>,
    order: VecDeque<ObjectId>,
    bytes: usize,
    /// Blob -> may it hold a keyword of the whole-file rules (see [`secrets::AddedScanner`]).
    keywords: HashMap<ObjectId, bool>,
}

impl Local {
    /// Blob `id`: from the recent ones, else read (`Ok(None)`: over the size limit).
    fn get(&mut self, reader: &RepoReader, id: ObjectId, max: u64) -> Result<Option<Vec<u8>>> {
        if let Some(d) = self.recent.remove(&id) {
            self.bytes -= d.capacity();
            return Ok(Some(d));
        }
        read_blob(reader, id, max)
    }

    fn keep(&mut self, id: ObjectId, mut data: Vec<u8>) {
        // Delta resolution sizes the buffer for the largest object of the chain, twice over:
        // give the excess back before keeping it.
        if data.capacity() > data.len() + data.len() / 4 + 4096 {
            data.shrink_to_fit();
        }
        if data.capacity() > RECENT_MAX_BLOB {
            return;
        }
        self.bytes += data.capacity();
        if let Some(old) = self.recent.insert(id, data) {
            self.bytes -= old.capacity();
        } else {
            self.order.push_back(id);
        }
        while self.bytes > RECENT_BYTES {
            let Some(old) = self.order.pop_front() else {
                break;
            };
            if let Some(d) = self.recent.remove(&old) {
                self.bytes -= d.capacity();
            }
        }
        if self.order.len() > 4 * self.recent.len() + 64 {
            let recent = &self.recent;
            self.order.retain(|id| recent.contains_key(id));
        }
    }

    fn set_keyword(&mut self, id: ObjectId, has: Option<bool>) {
        if let Some(has) = has {
            if self.keywords.len() >= KEYWORD_ANSWERS {
                self.keywords.clear();
            }
            self.keywords.insert(id, has);
        }
    }
}

/// A worker: reads, diffs and scans the fresh blobs of each job.
fn work(t: &Tools<'_>, jobs: Receiver<Job>, done: SyncSender<Done>) -> Result<()> {
    let (mut generation, mut reader) = t
        .store
        .newer(0, WORKER_PACK_CACHE, 0)
        .context("the object store")?;
    let mut local = Local::default();
    for job in jobs.iter() {
        let mut out = Done::default();
        // Move to the newest object store (the old one goes once no thread uses it).
        if let Some((g, r)) = t.store.newer(generation, WORKER_PACK_CACHE, 0) {
            (generation, reader) = (g, r);
        }
        for part in job {
            out.commits += 1;
            out.problems.extend(part.problems);
            let commit_hex = part.commit.to_string();
            for c in part.changes {
                change(
                    t,
                    &reader,
                    &mut local,
                    &part.seq,
                    part.commit,
                    &commit_hex,
                    c,
                    &mut out,
                );
            }
        }
        t.store
            .read
            .fetch_add(out.bytes, std::sync::atomic::Ordering::Relaxed);
        if done.send(out).is_err() {
            break;
        }
    }
    Ok(())
}

/// One change of a commit: its events, problems and skipped blobs into `out`.
#[allow(clippy::too_many_arguments)]
fn change(
    t: &Tools<'_>,
    reader: &RepoReader,
    local: &mut Local,
    seq: &u32,
    commit: ObjectId,
    commit_hex: &str,
    c: Change,
    out: &mut Done,
) {
    let seq = *seq;
    let Some(new) = c.new else {
        out.events.push(Event::Deleted {
            seq,
            commit,
            path: c.path,
        });
        return;
    };
    if !c.fresh {
        out.events.push(Event::Again {
            seq,
            commit,
            path: c.path,
            blob: new,
        });
        return;
    }
    if c.old.is_none() {
        for f in t.scanner.scan_path(&c.path) {
            out.events.push(Event::Added {
                seq,
                commit,
                path: c.path.clone(),
                finding: Box::new(f),
                blob: None,
            });
        }
    }
    let problem = |object: ObjectId, e: anyhow::Error, out: &mut Done| {
        out.problems.push(Problem {
            object,
            commit,
            path: c.path.clone(),
            error: format!("{e:#}"),
        })
    };
    let data = match local.get(reader, new, t.max) {
        Ok(Some(d)) => d,
        Ok(None) => {
            out.skipped.push(Skipped {
                path: c.path.clone(),
                commit,
                size: reader.size(new).unwrap_or(0),
            });
            return;
        }
        Err(e) => return problem(new, e, out),
    };
    if secrets::text::classify(&data).is_err() {
        return;
    }
    out.blobs += 1;
    out.bytes += data.len() as u64;
    // The older version, when it is readable text; else every line is new.
    let old = match c.old {
        Some(o) => match local.get(reader, o, t.max) {
            Ok(Some(d)) if secrets::text::classify(&d).is_ok() => Some((o, d)),
            Ok(_) => None,
            Err(e) => {
                problem(o, e, out);
                None
            }
        },
        None => None,
    };
    let diff = match &old {
        Some((_, old)) => linediff::diff(old, &data),
        None => linediff::LineDiff {
            added: linediff::all_added(&data),
            removed: Vec::new(),
        },
    };
    // The lines both versions share hold a whole-file keyword only if the newer one does.
    let shared_hint = local.keywords.get(&new).copied();
    let (found, new_has) = t
        .added
        .scan_with_hint(&c.path, &data, &diff.added, shared_hint);
    local.set_keyword(new, new_has.or(shared_hint));
    for f in found {
        if t.scanner.allowed_in_commit(&f, commit_hex) {
            continue;
        }
        out.events.push(Event::Added {
            seq,
            commit,
            path: c.path.clone(),
            finding: Box::new(f),
            blob: Some(new),
        });
    }
    if let Some((o, old)) = old {
        if !diff.removed.is_empty() {
            let (gone, old_has) =
                t.added
                    .scan_with_hint(&c.path, &old, &diff.removed, new_has.or(shared_hint));
            local.set_keyword(o, old_has);
            for f in gone {
                out.events.push(Event::Removed {
                    seq,
                    commit,
                    path: c.path.clone(),
                    rule: f.rule_id,
                    sha: f.secret_sha256,
                });
            }
        } else {
            local.set_keyword(o, new_has.or(shared_hint));
        }
        // The older version is the newer one of the next change to this file.
        local.keep(o, old);
    }
}

/// Blob `id` (`Ok(None)` when it is over `max` bytes: not read).
fn read_blob(reader: &RepoReader, id: ObjectId, max: u64) -> Result<Option<Vec<u8>>> {
    if reader.size(id)? > max {
        return Ok(None);
    }
    let mut buf = Vec::new();
    let data = reader
        .repo
        .objects
        .find(&id, &mut buf)
        .map_err(|e| anyhow::anyhow!("object {id} is missing or unreadable: {e}"))?;
    if data.kind != gix::object::Kind::Blob {
        bail!("object {id} is a {}, not a blob", data.kind);
    }
    Ok(Some(buf))
}

/// The events in history order: one row per secret and path, at its oldest introduction, with
/// the later commits that removed it (or deleted the file).
fn tally(events: Vec<Event>) -> Vec<Secret> {
    // rule, secret hash, path
    type Key = (String, String, String);
    // What each blob met again carries (its findings where it was first met).
    let mut by_blob: HashMap<ObjectId, Vec<Finding>> = HashMap::new();
    for e in &events {
        if let Event::Added {
            finding,
            blob: Some(b),
            ..
        } = e
        {
            by_blob.entry(*b).or_default().push((**finding).clone());
        }
    }
    let mut intro: HashMap<Key, (u32, ObjectId, Finding)> = HashMap::new();
    let mut removals: HashMap<Key, Vec<(u32, ObjectId)>> = HashMap::new();
    let mut deletions: HashMap<String, Vec<(u32, ObjectId)>> = HashMap::new();
    let mut add = |seq: u32, commit: ObjectId, path: &str, f: &Finding| {
        let key = (f.rule_id.clone(), f.secret_sha256.clone(), path.to_string());
        let e = intro.entry(key).or_insert((seq, commit, f.clone()));
        // the oldest wins: the highest position in the walk
        if seq > e.0 {
            *e = (seq, commit, f.clone());
        }
    };
    for e in &events {
        match e {
            Event::Added {
                seq,
                commit,
                path,
                finding,
                ..
            } => add(*seq, *commit, path, finding),
            Event::Again {
                seq,
                commit,
                path,
                blob,
            } => {
                for f in by_blob.get(blob).into_iter().flatten() {
                    add(*seq, *commit, path, f);
                }
            }
            Event::Removed {
                seq,
                commit,
                path,
                rule,
                sha,
            } => removals
                .entry((rule.clone(), sha.clone(), path.clone()))
                .or_default()
                .push((*seq, *commit)),
            Event::Deleted { seq, commit, path } => deletions
                .entry(path.clone())
                .or_default()
                .push((*seq, *commit)),
        }
    }
    let mut rows: Vec<(u32, Secret)> = intro
        .into_iter()
        .map(|(key, (seq, commit, finding))| {
            let mut removed: Vec<(u32, ObjectId)> = removals
                .get(&key)
                .into_iter()
                .flatten()
                .chain(deletions.get(&key.2).into_iter().flatten())
                .filter(|(s, _)| *s < seq)
                .copied()
                .collect();
            removed.sort_by_key(|(s, _)| std::cmp::Reverse(*s));
            removed.dedup_by_key(|(_, c)| *c);
            (
                seq,
                Secret {
                    finding,
                    path: key.2,
                    introduced: commit,
                    removed: removed.into_iter().map(|(_, c)| c).collect(),
                    present: false,
                },
            )
        })
        .collect();
    rows.sort_by(|(a, x), (b, y)| {
        b.cmp(a)
            .then_with(|| x.path.cmp(&y.path))
            .then_with(|| x.finding.line.cmp(&y.finding.line))
    });
    rows.into_iter().map(|(_, s)| s).collect()
}

/// Which secrets the scanned tips still have: each file a secret was found in, read and scanned
/// whole as the tips have it.
fn present(git_dir: &Path, scanner: &Scanner, opts: &Options, report: &mut Report) -> Result<()> {
    if report.secrets.is_empty() {
        return Ok(());
    }
    let reader = RepoReader::open_for_history(git_dir, 0, 0)?;
    let tips = crate::git::cli::included_revisions(git_dir, reader.hash_kind(), &opts.revs)?;
    // The distinct trees of the tips (many refs share commits), as ids: one tree in memory at
    // a time, however many refs there are.
    let mut trees: Vec<ObjectId> = Vec::new();
    for id in tips {
        if let Ok((commit, rules::facts::ObjectKind::Commit)) = reader.peel(id) {
            if let Ok(t) = tree_of(&reader, commit) {
                trees.push(t);
            }
        }
    }
    trees.sort_unstable();
    trees.dedup();
    // (blob, path) -> its findings (and names), scanned once
    let mut scanned: HashMap<(ObjectId, String), Vec<(String, String)>> = HashMap::new();
    // (path, tree) -> the blob there, looked up once
    let mut at: HashMap<(String, ObjectId), Option<ObjectId>> = HashMap::new();
    for row in &mut report.secrets {
        let path = row.path.clone();
        row.present = trees.iter().any(|t| {
            let blob = *at.entry((path.clone(), *t)).or_insert_with(|| {
                let tree = reader.repo.find_tree(*t).ok()?;
                let entry = tree.lookup_entry_by_path(&path).ok()??;
                Some(entry.object_id())
            });
            let Some(blob) = blob else {
                return false;
            };
            let found = scanned.entry((blob, path.clone())).or_insert_with(|| {
                let mut found: Vec<(String, String)> = scanner
                    .scan_path(&path)
                    .into_iter()
                    .map(|f| (f.rule_id, f.secret_sha256))
                    .collect();
                if let Ok(Some(data)) = read_blob(&reader, blob, opts.max_file_size) {
                    found.extend(
                        scanner
                            .scan(&path, &data)
                            .into_iter()
                            .map(|f| (f.rule_id, f.secret_sha256)),
                    );
                }
                found
            });
            found
                .iter()
                .any(|(r, h)| *r == row.finding.rule_id && *h == row.finding.secret_sha256)
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(name: &'static str, dir: bool) -> Raw<'static> {
        Raw {
            kind: if dir { Kind::Dir } else { Kind::File },
            name: name.as_bytes(),
            id: &[],
            all: &[],
        }
    }

    fn finding(sha: &str, line: u32) -> Finding {
        Finding {
            rule_id: "github-pat".into(),
            description: "token".into(),
            line,
            end_line: line,
            column: 1,
            end_column: 10,
            secret_sha256: sha.into(),
            fingerprint: format!("fp-{sha}"),
            redacted: "ghp_…".into(),
            redacted_match: "ghp_…".into(),
            tags: Vec::new(),
            entropy: None,
            severity: secrets::Severity::Block,
            confidence: secrets::Confidence::Medium,
            commit_allowlists: Vec::new(),
        }
    }

    fn id(n: u8) -> ObjectId {
        ObjectId::from_bytes_or_panic(&[n; 20])
    }

    /// Events come newest first (seq 0 is the newest commit); the report is in history order.
    #[test]
    fn tally_reports_the_oldest_introduction_and_later_removals() {
        let added = |seq, c, path: &str, sha, line| Event::Added {
            seq,
            commit: id(c),
            path: path.into(),
            finding: Box::new(finding(sha, line)),
            blob: Some(id(100 + c)),
        };
        let events = vec![
            // newest: the file is deleted
            Event::Deleted {
                seq: 0,
                commit: id(1),
                path: "a.env".into(),
            },
            // the token removed from b.env
            Event::Removed {
                seq: 1,
                commit: id(2),
                path: "b.env".into(),
                rule: "github-pat".into(),
                sha: "s2".into(),
            },
            // a.env's token found again on an edited line: not a new row
            added(2, 3, "a.env", "s1", 3),
            added(3, 4, "b.env", "s2", 1),
            // oldest: where a.env's token came in
            added(5, 5, "a.env", "s1", 2),
            // a blob met again, older still: the copy in c.env came first
            Event::Again {
                seq: 6,
                commit: id(6),
                path: "c.env".into(),
                blob: id(104),
            },
        ];
        let rows = tally(events);
        let show: Vec<(String, ObjectId, Vec<ObjectId>, u32)> = rows
            .into_iter()
            .map(|r| (r.path, r.introduced, r.removed, r.finding.line))
            .collect();
        assert_eq!(
            show,
            vec![
                ("c.env".to_string(), id(6), vec![], 1),
                ("a.env".to_string(), id(5), vec![id(1)], 2),
                ("b.env".to_string(), id(4), vec![id(2)], 1),
            ]
        );
    }

    #[test]
    fn raw_tree_entries() {
        let mut data = b"100644 a.txt\0".to_vec();
        data.extend_from_slice(&[1u8; 20]);
        data.extend_from_slice(b"40000 dir\0");
        data.extend_from_slice(&[2u8; 20]);
        let mut it = RawIter {
            data: &data,
            hash_len: 20,
            malformed: false,
            peeked: None,
        };
        let x = it.next().expect("first");
        assert_eq!((x.name, x.kind), (&b"a.txt"[..], Kind::File));
        let y = it.next().expect("second");
        assert_eq!((y.name, y.kind), (&b"dir"[..], Kind::Dir));
        assert_eq!(y.id, &[2u8; 20]);
        assert!(it.next().is_none() && !it.malformed);
        let mut bad = RawIter {
            data: b"100644 a\0short",
            hash_len: 20,
            malformed: false,
            peeked: None,
        };
        assert!(bad.next().is_none() && bad.malformed);
    }

    #[test]
    fn directories_sort_as_if_they_ended_in_a_slash() {
        use std::cmp::Ordering::*;
        assert_eq!(git_order(&e("a", false), &e("a.c", false)), Less);
        assert_eq!(git_order(&e("a", true), &e("a.c", false)), Greater);
        assert_eq!(git_order(&e("a-b", false), &e("a", true)), Less);
        assert_eq!(git_order(&e("a", false), &e("a", true)), Less);
        assert_eq!(git_order(&e("a", true), &e("a", true)), Equal);
    }
}
