//! Reading a repository during a push, with gix.
//!
//! gix ignores git's quarantine variables, so for a pre-receive hook the repository is opened
//! normally and its object database replaced by a private *overlay*: an empty objects directory
//! (outside the quarantine, so git never migrates it) whose `info/alternates` lists the
//! quarantine and the repository's own object directories.

use crate::budget::Budget;
use anyhow::{anyhow, bail, Context, Result};
use gix::ObjectId;
use rules::facts::{ObjectKind, Person};
use std::path::{Path, PathBuf};

/// A repository opened for one request.
pub struct RepoReader {
    pub repo: gix::Repository,
    /// Keeps the overlay directory alive while the repository is in use.
    _overlay: Option<tempfile::TempDir>,
}

/// git's quarantine for one push: where pre-receive finds the pushed objects.
#[derive(Debug, Clone, Default)]
pub struct Quarantine {
    /// `GIT_QUARANTINE_PATH` (or `GIT_OBJECT_DIRECTORY`): where the pushed objects are.
    pub object_dir: Option<PathBuf>,
}

impl Quarantine {
    /// The quarantine named in a hook's environment, checked to be `git_dir`'s own: a
    /// directory `objects/incoming-*` of that repository, as git's receive-pack makes it. A
    /// client of the socket could name any directory; objects from elsewhere must never judge
    /// (or be judged as) this repository's push. git's `GIT_ALTERNATE_OBJECT_DIRECTORIES` is
    /// not taken from the request: the repository's own object directory (and the alternates
    /// it lists itself) is all a reader needs besides the quarantine.
    pub fn for_repo(
        git_dir: &Path,
        env: &std::collections::BTreeMap<String, String>,
    ) -> Result<Quarantine> {
        let Some(dir) = env
            .get("GIT_QUARANTINE_PATH")
            .or_else(|| env.get("GIT_OBJECT_DIRECTORY"))
            .filter(|s| !s.is_empty())
        else {
            return Ok(Quarantine::default());
        };
        let canonical = std::fs::canonicalize(dir)
            .with_context(|| format!("the quarantine directory {dir} cannot be read"))?;
        let objects = std::fs::canonicalize(git_dir.join("objects"))
            .with_context(|| format!("{} has no objects directory", git_dir.display()))?;
        if canonical == objects {
            // GIT_OBJECT_DIRECTORY is the repository's own: nothing is quarantined.
            return Ok(Quarantine::default());
        }
        let is_incoming = canonical.parent() == Some(objects.as_path())
            && canonical
                .file_name()
                .and_then(|n| n.to_str())
                // git >= 2.32 names it `tmp_objdir-incoming-XXXXXX`, older gits `incoming-XXXXXX`
                .is_some_and(|n| {
                    n.starts_with("tmp_objdir-incoming-") || n.starts_with("incoming-")
                });
        if !is_incoming {
            bail!(
                "the quarantine directory {dir} is not a quarantine (objects/tmp_objdir-incoming-*) of {}",
                git_dir.display()
            );
        }
        Ok(Quarantine {
            object_dir: Some(canonical),
        })
    }
}

/// More commits than a push may make the daemon judge (`settings.max_commits`).
#[derive(Debug, thiserror::Error)]
#[error("this push has more than {0} commits to judge (settings.max_commits): push the history in parts, or ask the admin to raise the limit for a migration")]
pub struct TooManyCommits(pub usize);

/// A parsed commit (only what the rules need) and its signature split out.
pub struct RawCommit {
    pub tree: String,
    pub parents: Vec<String>,
    /// `mergetag` headers: the full text of each merged tag object.
    pub mergetags: Vec<Vec<u8>>,
    pub author: Person,
    pub committer: Person,
    pub subject: String,
    pub signature: SignaturePart,
}

/// An annotated tag object.
pub struct RawTag {
    pub target: String,
    pub name: String,
    pub tagger: Option<Person>,
    pub signature: SignaturePart,
}

/// Where an object's signature stands.
pub enum SignaturePart {
    None,
    /// The signature block and the exact bytes it signs.
    Signed {
        signature: Vec<u8>,
        payload: Vec<u8>,
    },
    /// Something that must not be accepted (e.g. two signature headers).
    Malformed(String),
}

impl SignaturePart {
    /// The check of this signature by `keyring` at `now`: unsigned and malformed ones without
    /// asking it.
    pub fn check(&self, keyring: &crypto::Keyring, now: i64) -> rules::SignatureCheck {
        match self {
            SignaturePart::None => rules::SignatureCheck::unsigned(),
            SignaturePart::Malformed(why) => rules::SignatureCheck {
                verdict: rules::KeyVerdict::Malformed,
                detail: Some(why.clone()),
                ..rules::SignatureCheck::default()
            },
            SignaturePart::Signed { signature, payload } => keyring.verify(signature, payload, now),
        }
    }
}

/// Bytes of delta bases each object handle keeps decompressed. gix's default is 96 MiB per
/// handle, and a history scan has one handle per core plus one: memory would grow with the
/// history scanned (181 MB for a 163 MB history on 2 cores) towards several hundred MB.
const PACK_CACHE_BYTES: usize = 16 << 20;

fn pack_cache() -> Box<gix::odb::cache::PackCache> {
    Box::new(gix::odb::pack::cache::lru::StaticLinkedList::<64>::new(
        PACK_CACHE_BYTES,
    ))
}

impl RepoReader {
    /// Open `git_dir`; with a quarantine, read objects from it as well. Replace refs
    /// (`refs/replace/*`) are never honoured: what is judged is the object an id names, not a
    /// stand-in that anyone who can push a ref may create.
    pub fn open(git_dir: &Path, quarantine: &Quarantine) -> Result<RepoReader> {
        let options =
            gix::open::Options::isolated().config_overrides(["core.useReplaceRefs=false"]);
        let mut repo = gix::open_opts(git_dir, options)
            .with_context(|| format!("cannot open repository {}", git_dir.display()))?;
        repo.objects.set_pack_cache(pack_cache);
        let mut overlay = None;
        if let Some(qdir) = &quarantine.object_dir {
            let kind = repo.object_hash();
            let dir = scratch_dir("pushguard-overlay-")
                .context("cannot create the object overlay directory")?;
            std::fs::create_dir_all(dir.path().join("info"))?;
            std::fs::create_dir_all(dir.path().join("pack"))?;
            // The repository's objects first (gix follows the alternates they list), then the
            // pushed ones.
            let main_objects = repo.objects.store_ref().path().to_path_buf();
            write_alternates(dir.path(), &[main_objects, qdir.clone()])?;
            // A store made here has no replacements: gix only reads them when opening a
            // repository.
            let mut handle = gix::odb::at(dir.path(), kind)
                .context("cannot open the quarantine object overlay")?;
            handle.set_pack_cache(pack_cache);
            repo.objects = gix::odb::memory::Proxy::new(handle, kind);
            overlay = Some(dir);
        }
        Ok(RepoReader {
            repo,
            _overlay: overlay,
        })
    }

    pub fn parse_id(&self, hex: &str) -> Result<ObjectId> {
        let id = ObjectId::from_hex(hex.as_bytes())
            .with_context(|| format!("{hex:?} is not an object id"))?;
        if id.kind() != self.repo.object_hash() {
            bail!("{hex} is not a {} object id", self.repo.object_hash());
        }
        Ok(id)
    }

    /// The default branch's short name, from HEAD.
    pub fn default_branch(&self) -> Option<String> {
        let name = self.repo.head_name().ok()??;
        name.as_bstr()
            .to_string()
            .strip_prefix("refs/heads/")
            .map(str::to_string)
    }

    /// Every ref with the commit it peels to (refs to non-commits are skipped).
    pub fn refs(&self) -> Result<Vec<(String, ObjectId)>> {
        let mut out = Vec::new();
        let platform = self.repo.references().context("cannot list refs")?;
        for r in platform.all().context("cannot list refs")? {
            let Ok(mut r) = r else { continue };
            let name = r.name().as_bstr().to_string();
            if let Ok(id) = r.peel_to_id() {
                out.push((name, id.detach()));
            }
        }
        Ok(out)
    }

    pub fn kind(&self, id: ObjectId) -> Result<ObjectKind> {
        let header = self
            .repo
            .find_header(id)
            .with_context(|| format!("object {id} is missing"))?;
        Ok(match header.kind() {
            gix::object::Kind::Commit => ObjectKind::Commit,
            gix::object::Kind::Tag => ObjectKind::Tag,
            gix::object::Kind::Tree => ObjectKind::Tree,
            gix::object::Kind::Blob => ObjectKind::Blob,
        })
    }

    /// Follow tags to the object they finally name.
    pub fn peel(&self, mut id: ObjectId) -> Result<(ObjectId, ObjectKind)> {
        for _ in 0..32 {
            match self.kind(id)? {
                ObjectKind::Tag => {
                    let tag = self.tag(id)?;
                    id = self.parse_id(&tag.target)?;
                }
                k => return Ok((id, k)),
            }
        }
        bail!("tag chain at {id} is too long")
    }

    /// Is `old` an ancestor of (or equal to) `new`?
    pub fn is_ancestor(&self, old: ObjectId, new: ObjectId) -> Result<bool> {
        if old == new {
            return Ok(true);
        }
        // `git rev-list old --not new` is empty exactly when old is reachable from new.
        let mut walk = self
            .repo
            .rev_walk([old])
            .with_hidden([new])
            .all()
            .context("cannot walk history")?;
        Ok(walk
            .next()
            .transpose()
            .context("cannot walk history")?
            .is_none())
    }

    /// Commits reachable from `tip` and not from `hidden`, newest first.
    pub fn new_commits(&self, tip: ObjectId, hidden: &[ObjectId]) -> Result<Vec<ObjectId>> {
        self.new_commits_from(&[tip], hidden, &Budget::unlimited(), usize::MAX)
    }

    /// Commits reachable from any of `tips` and not from `hidden`, newest first; an error once
    /// the budget runs out or there are more than `limit`.
    pub fn new_commits_from(
        &self,
        tips: &[ObjectId],
        hidden: &[ObjectId],
        budget: &Budget,
        limit: usize,
    ) -> Result<Vec<ObjectId>> {
        let walk = self
            .repo
            .rev_walk(tips.iter().copied())
            .with_hidden(hidden.iter().copied())
            .all()
            .context("cannot walk history")?;
        let mut out = Vec::new();
        for info in walk {
            out.push(info.context("cannot walk history")?.id);
            if out.len() % 256 == 0 {
                budget.check()?;
            }
            if out.len() > limit {
                bail!(TooManyCommits(limit));
            }
        }
        Ok(out)
    }

    /// The refs a symbolic ref `name` resolves to, nearest first; empty when it is not one.
    pub fn symref_targets(&self, name: &str) -> Result<Vec<String>> {
        let mut chain: Vec<String> = Vec::new();
        let mut current = name.to_string();
        // git follows at most 5 levels (SYMREF_MAXDEPTH).
        for _ in 0..5 {
            let Ok(partial) = <&gix::refs::PartialNameRef>::try_from(current.as_str()) else {
                break;
            };
            let found = self
                .repo
                .refs
                .try_find(partial)
                .with_context(|| format!("cannot read ref {current}"))?;
            let Some(r) = found else { break };
            // A partial-name lookup may find `refs/heads/NAME` for `NAME`: only the ref itself.
            if r.name.as_bstr() != current.as_str() {
                break;
            }
            match r.target {
                gix::refs::Target::Symbolic(target) => {
                    let target = target.as_bstr().to_string();
                    if target == name || chain.contains(&target) {
                        bail!("symbolic ref {name} loops");
                    }
                    chain.push(target.clone());
                    current = target;
                }
                gix::refs::Target::Object(_) => break,
            }
        }
        Ok(chain)
    }

    /// Every file (blob or symbolic link) of a tree, with its path, recursively.
    pub fn files(&self, tree: ObjectId) -> Result<Vec<(String, ObjectId)>> {
        let mut rec = gix::traverse::tree::Recorder::default();
        self.repo
            .find_tree(tree)
            .with_context(|| format!("tree {tree} is missing"))?
            .traverse()
            .breadthfirst(&mut rec)
            .with_context(|| format!("cannot read tree {tree}"))?;
        Ok(rec
            .records
            .into_iter()
            .filter(|e| e.mode.is_blob_or_symlink())
            .map(|e| (e.filepath.to_string(), e.oid))
            .collect())
    }

    /// Does `tree` equal the clean merge of `ours` and `theirs`? `Ok(false)` also when they
    /// conflict. Runs `git merge-tree --write-tree` in a scratch repository that borrows this
    /// one's objects: its trees are written there (never into the repository or the
    /// quarantine), and nothing of the repository's own configuration applies — no merge
    /// drivers, no attributes, no replace refs, no grafts. A merge driver is a program: one
    /// named by a repository's config or attributes must never run as the daemon's user.
    pub fn is_clean_merge(&self, tree: ObjectId, ours: ObjectId, theirs: ObjectId) -> Result<bool> {
        let scratch = scratch_dir("pushguard-merge-")
            .context("cannot create a scratch repository for merge-tree")?;
        let kind = self.repo.object_hash();
        let git_dir = scratch.path();
        std::fs::create_dir_all(git_dir.join("objects/info"))?;
        std::fs::create_dir_all(git_dir.join("refs"))?;
        std::fs::write(git_dir.join("HEAD"), "ref: refs/heads/pushguard-scratch\n")?;
        let config = match kind {
            gix::hash::Kind::Sha256 => "[core]\n\trepositoryformatversion = 1\n\tbare = true\n[extensions]\n\tobjectformat = sha256\n",
            _ => "[core]\n\trepositoryformatversion = 0\n\tbare = true\n",
        };
        std::fs::write(git_dir.join("config"), config)?;
        write_alternates(&git_dir.join("objects"), &self.object_dirs())?;
        let empty_tree = ObjectId::empty_tree(kind).to_string();
        let out = git_command()
            .arg("--git-dir")
            .arg(git_dir)
            .args(["-c", &format!("attr.tree={empty_tree}")])
            .args(["merge-tree", "--write-tree", "--no-messages"])
            .arg(ours.to_string())
            .arg(theirs.to_string())
            .output()
            .context("cannot run git merge-tree")?;
        match out.status.code() {
            Some(0) => {
                let merged = String::from_utf8_lossy(&out.stdout);
                let merged = merged.lines().next().unwrap_or("").trim();
                Ok(merged == tree.to_string().as_str())
            }
            Some(1) => Ok(false), // conflicts: the recorded tree is a resolution
            _ => bail!(
                "git merge-tree failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        }
    }

    /// The object directories this reader sees: the repository's and the quarantine (if any).
    fn object_dirs(&self) -> Vec<PathBuf> {
        let mut dirs = Vec::new();
        if let Some(overlay) = &self._overlay {
            if let Ok(text) = std::fs::read_to_string(overlay.path().join("info/alternates")) {
                dirs.extend(text.lines().filter(|l| !l.is_empty()).map(PathBuf::from));
            }
        }
        if dirs.is_empty() {
            dirs.push(self.repo.objects.store_ref().path().to_path_buf());
        }
        dirs
    }

    /// Hash `data` as an object of `kind` in this repository's hash.
    pub fn hash_tag(&self, data: &[u8]) -> Result<ObjectId> {
        gix::objs::compute_hash(self.repo.object_hash(), gix::object::Kind::Tag, data)
            .context("cannot hash object")
    }

    /// A reader for one thread of a history scan (no quarantine): `pack_cache` bytes of delta
    /// bases (in an LRU of many entries: a history reads long delta chains, file by file) and
    /// `object_cache` bytes of whole objects (trees, read again as the parent's side of the next
    /// commit's diff); 0 for none.
    pub fn open_for_history(
        git_dir: &Path,
        pack_cache: usize,
        object_cache: usize,
    ) -> Result<RepoReader> {
        let r = RepoReader::open(git_dir, &Quarantine::default())?;
        Ok(r.fork_for_history(pack_cache, object_cache))
    }

    /// [`RepoReader::fork`] with the caches of [`RepoReader::open_for_history`]: the same
    /// object store (one memory map of each pack for all threads).
    pub fn fork_for_history(&self, pack_cache: usize, object_cache: usize) -> RepoReader {
        let mut r = self.fork();
        if pack_cache > 0 {
            r.repo.objects.set_pack_cache(move || {
                Box::new(gix::odb::pack::cache::lru::MemoryCappedHashmap::new(
                    pack_cache,
                ))
            });
        } else {
            r.repo.objects.unset_pack_cache();
        }
        r.repo.object_cache_size(object_cache);
        r
    }

    /// Another reader of the same objects, for another thread (gix repositories are not Sync).
    /// It shares this reader's overlay, so it must not outlive it.
    pub fn fork(&self) -> RepoReader {
        RepoReader {
            repo: self.repo.clone(),
            _overlay: None,
        }
    }

    /// Size of an object, without reading it.
    pub fn size(&self, id: ObjectId) -> Result<u64> {
        Ok(self
            .repo
            .find_header(id)
            .with_context(|| format!("object {id} is missing"))?
            .size())
    }

    /// A blob's bytes.
    pub fn blob(&self, id: ObjectId) -> Result<Vec<u8>> {
        self.data(id, gix::object::Kind::Blob)
    }

    /// Files (blobs and symbolic links, not submodules or trees) that `new_tree` adds or changes against
    /// `old_tree` (`None`: the empty tree): (path, blob, previous blob at that path).
    pub fn changed_files(
        &self,
        old_tree: Option<ObjectId>,
        new_tree: ObjectId,
    ) -> Result<Vec<(String, ObjectId, Option<ObjectId>)>> {
        use gix::diff::tree::recorder::Change;
        let kind = self.repo.object_hash();
        let new = self.data(new_tree, gix::object::Kind::Tree)?;
        let old = match old_tree {
            Some(t) => self.data(t, gix::object::Kind::Tree)?,
            None => Vec::new(),
        };
        let mut rec = gix::diff::tree::Recorder::default();
        gix::diff::tree(
            gix::objs::TreeRefIter::from_bytes(&old, kind),
            gix::objs::TreeRefIter::from_bytes(&new, kind),
            gix::diff::tree::State::default(),
            &self.repo.objects,
            &mut rec,
        )
        .with_context(|| format!("cannot diff tree {new_tree}"))?;
        let mut out = Vec::new();
        for change in rec.records {
            match change {
                Change::Addition {
                    entry_mode,
                    oid,
                    path,
                    ..
                } if entry_mode.is_blob_or_symlink() => out.push((path.to_string(), oid, None)),
                Change::Modification {
                    previous_entry_mode,
                    previous_oid,
                    entry_mode,
                    oid,
                    path,
                } if entry_mode.is_blob_or_symlink() => {
                    let prev = previous_entry_mode
                        .is_blob_or_symlink()
                        .then_some(previous_oid);
                    out.push((path.to_string(), oid, prev))
                }
                _ => {}
            }
        }
        Ok(out)
    }

    /// The blob at `path` in the tree of `commit`, if there is one.
    pub fn file_at(&self, commit: ObjectId, path: &str) -> Result<Option<Vec<u8>>> {
        let c = self.commit(commit)?;
        let tree = self.repo.find_tree(self.parse_id(&c.tree)?)?;
        let entry = tree
            .lookup_entry_by_path(path)
            .with_context(|| format!("cannot look up {path}"))?;
        match entry {
            Some(e) if e.mode().is_blob() => Ok(Some(self.blob(e.object_id())?)),
            _ => Ok(None),
        }
    }

    fn data(&self, id: ObjectId, want: gix::object::Kind) -> Result<Vec<u8>> {
        let obj = self
            .repo
            .find_object(id)
            .with_context(|| format!("object {id} is missing"))?;
        if obj.kind != want {
            bail!("object {id} is a {}, not a {want}", obj.kind);
        }
        // Take gix's buffer rather than copying it: a large blob is held once, not twice. Delta
        // resolution sizes that buffer for the largest object of the delta chain, twice over:
        // give the excess back before the caller holds it for a whole scan.
        let mut data = obj.detach().data;
        if data.capacity() > 2 * data.len() + 4096 {
            data.shrink_to_fit();
        }
        // Commits and tags are what signatures and rules speak of: make sure the bytes are the
        // object the id names (a damaged or forged pack index could hand over others).
        if matches!(want, gix::object::Kind::Commit | gix::object::Kind::Tag) {
            let actual = gix::objs::compute_hash(self.repo.object_hash(), want, &data)
                .context("cannot hash object")?;
            if actual != id {
                bail!("object {id} does not hash to its id (its bytes hash to {actual})");
            }
        }
        Ok(data)
    }

    pub fn commit(&self, id: ObjectId) -> Result<RawCommit> {
        let data = self.data(id, gix::object::Kind::Commit)?;
        parse_commit(&data, self.repo.object_hash() == gix::hash::Kind::Sha256)
            .with_context(|| format!("commit {id} cannot be parsed"))
    }

    pub fn tag(&self, id: ObjectId) -> Result<RawTag> {
        let data = self.data(id, gix::object::Kind::Tag)?;
        parse_tag(&data).with_context(|| format!("tag {id} cannot be parsed"))
    }
}

/// Write `objects/info/alternates` of an object directory.
fn write_alternates(objects: &Path, dirs: &[PathBuf]) -> Result<()> {
    let mut text = String::new();
    for d in dirs {
        let d = d
            .to_str()
            .ok_or_else(|| anyhow!("object directory path is not UTF-8: {}", d.display()))?;
        text.push_str(d);
        text.push('\n');
    }
    std::fs::create_dir_all(objects.join("info"))?;
    std::fs::write(objects.join("info/alternates"), text)?;
    Ok(())
}

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

/// A per-request scratch directory, memory-backed when the system has one writable for us
/// ($XDG_RUNTIME_DIR, /dev/shm): the overlay is created and removed on every push, and on disk
/// that was a third of the daemon's CPU. Falls back to the temp dir.
fn scratch_dir(prefix: &str) -> std::io::Result<tempfile::TempDir> {
    let fast = [
        std::env::var_os("XDG_RUNTIME_DIR").map(PathBuf::from),
        Some(PathBuf::from("/dev/shm")),
    ];
    for dir in fast.into_iter().flatten().filter(|d| d.is_dir()) {
        if let Ok(t) = tempfile::Builder::new().prefix(prefix).tempdir_in(&dir) {
            return Ok(t);
        }
    }
    tempfile::Builder::new().prefix(prefix).tempdir()
}

/// Parse a person line: `Name <email> 1700000000 +0100`.
pub fn parse_person(value: &[u8]) -> Person {
    let s = String::from_utf8_lossy(value);
    let (name, rest) = match (s.find('<'), s.rfind('>')) {
        (Some(l), Some(r)) if l < r => (s[..l].trim().to_string(), (&s[l + 1..r], &s[r + 1..])),
        _ => (s.trim().to_string(), ("", "")),
    };
    let time = rest
        .1
        .split_whitespace()
        .next()
        .and_then(|t| t.parse().ok())
        .unwrap_or(0);
    Person {
        name,
        email: rest.0.trim().to_string(),
        time,
    }
}

/// One header of a commit or tag: name, value (continuations folded in), byte range.
type Header<'a> = (&'a [u8], Vec<u8>, std::ops::Range<usize>);

/// Split an object into header lines (with continuation lines folded in) and the message.
/// Returns (name, value, byte range of the whole header including continuations).
fn headers(data: &[u8]) -> (Vec<Header<'_>>, &[u8]) {
    let mut out: Vec<Header<'_>> = Vec::new();
    let mut pos = 0;
    while pos < data.len() {
        let end = data[pos..]
            .iter()
            .position(|&b| b == b'\n')
            .map(|i| pos + i + 1)
            .unwrap_or(data.len());
        let line = &data[pos..end];
        let body = line.strip_suffix(b"\n").unwrap_or(line);
        if body.is_empty() {
            return (out, &data[end..]);
        }
        if body[0] == b' ' {
            if let Some(last) = out.last_mut() {
                last.1.push(b'\n');
                last.1.extend_from_slice(&body[1..]);
                last.2.end = end;
            }
        } else {
            let (name, value) = match body.iter().position(|&b| b == b' ') {
                Some(i) => (&body[..i], body[i + 1..].to_vec()),
                None => (body, Vec::new()),
            };
            out.push((name, value, pos..end));
        }
        pos = end;
    }
    (out, &[])
}

fn subject(message: &[u8]) -> String {
    let text = String::from_utf8_lossy(message);
    text.lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim()
        .to_string()
}

/// Parse a commit object's bytes. The signature header for the repository's hash (`gpgsig`,
/// or `gpgsig-sha256` in SHA-256 repositories) is split out the way git does; a commit with
/// more than one signature header is marked malformed rather than guessed at.
pub fn parse_commit(data: &[u8], sha256: bool) -> Result<RawCommit> {
    let (hdrs, message) = headers(data);
    let sig_name: &[u8] = if sha256 { b"gpgsig-sha256" } else { b"gpgsig" };
    let mut tree = None;
    let mut parents = Vec::new();
    let mut author = None;
    let mut committer = None;
    let mut sigs = Vec::new();
    let mut other_sigs = 0;
    let mut mergetags = Vec::new();
    for (name, value, range) in &hdrs {
        match *name {
            b"tree" => tree = Some(String::from_utf8_lossy(value).into_owned()),
            b"parent" => parents.push(String::from_utf8_lossy(value).into_owned()),
            b"author" => author = Some(parse_person(value)),
            b"committer" => committer = Some(parse_person(value)),
            b"mergetag" => {
                // The header holds the tag object's text without its final newline.
                let mut tag = value.clone();
                tag.push(b'\n');
                mergetags.push(tag)
            }
            n if n == sig_name => sigs.push((value.clone(), range.clone())),
            n if n.starts_with(b"gpgsig") => other_sigs += 1,
            _ => {}
        }
    }
    let (Some(tree), Some(author), Some(committer)) = (tree, author, committer) else {
        bail!("commit lacks a tree, author or committer header");
    };
    let signature = match (sigs.len(), other_sigs) {
        (0, 0) => SignaturePart::None,
        (1, 0) => {
            let (sig, range) = sigs.remove(0);
            let mut payload = Vec::with_capacity(data.len());
            payload.extend_from_slice(&data[..range.start]);
            payload.extend_from_slice(&data[range.end..]);
            let mut signature = sig;
            if !signature.ends_with(b"\n") {
                signature.push(b'\n');
            }
            SignaturePart::Signed { signature, payload }
        }
        _ => SignaturePart::Malformed(
            "the commit carries more than one signature header".to_string(),
        ),
    };
    Ok(RawCommit {
        tree,
        parents,
        mergetags,
        author,
        committer,
        subject: subject(message),
        signature,
    })
}

/// Signature block markers git recognises at the start of a line.
const SIG_MARKERS: [&[u8]; 4] = [
    b"-----BEGIN PGP SIGNATURE-----",
    b"-----BEGIN PGP MESSAGE-----",
    b"-----BEGIN SSH SIGNATURE-----",
    b"-----BEGIN SIGNED MESSAGE-----",
];

/// Where a signature appended to a tag message starts: the last line that begins with a
/// signature marker (git's `parse_signed_buffer`).
pub fn signature_start(buf: &[u8]) -> Option<usize> {
    let mut pos = 0;
    let mut found = None;
    while pos < buf.len() {
        if SIG_MARKERS.iter().any(|m| buf[pos..].starts_with(m)) {
            found = Some(pos);
        }
        pos = match buf[pos..].iter().position(|&b| b == b'\n') {
            Some(i) => pos + i + 1,
            None => buf.len(),
        };
    }
    found
}

/// Parse an annotated tag object's bytes; an in-body signature is split off as git does.
pub fn parse_tag(data: &[u8]) -> Result<RawTag> {
    let (hdrs, _message) = headers(data);
    let mut target = None;
    let mut kind = None;
    let mut name = None;
    let mut tagger = None;
    for (n, value, _) in &hdrs {
        match *n {
            b"object" => target = Some(String::from_utf8_lossy(value).into_owned()),
            b"type" => kind = Some(String::from_utf8_lossy(value).into_owned()),
            b"tag" => name = Some(String::from_utf8_lossy(value).into_owned()),
            b"tagger" => tagger = Some(parse_person(value)),
            _ => {}
        }
    }
    let (Some(target), Some(_kind), Some(name)) = (target, kind, name) else {
        bail!("tag lacks an object, type or tag header");
    };
    let header_len = data.len() - _message.len();
    let signature = match signature_start(&data[header_len..]) {
        Some(off) => SignaturePart::Signed {
            signature: data[header_len + off..].to_vec(),
            payload: data[..header_len + off].to_vec(),
        },
        None => SignaturePart::None,
    };
    Ok(RawTag {
        target,
        name,
        tagger,
        signature,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIGNED: &[u8] = b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor A U Thor <a@example.org> 1700000000 +0000\ncommitter C O Mitter <c@example.org> 1700000100 +0100\ngpgsig -----BEGIN SSH SIGNATURE-----\n U1NIU0lH\n -----END SSH SIGNATURE-----\n\nSubject line\n\nBody\n";

    #[test]
    fn splits_commit_signature_like_git() {
        let c = parse_commit(SIGNED, false).expect("parses");
        assert_eq!(c.committer.email, "c@example.org");
        assert_eq!(c.committer.time, 1700000100);
        assert_eq!(c.subject, "Subject line");
        let SignaturePart::Signed { signature, payload } = c.signature else {
            panic!("signed")
        };
        assert_eq!(
            signature,
            b"-----BEGIN SSH SIGNATURE-----\nU1NIU0lH\n-----END SSH SIGNATURE-----\n"
        );
        assert_eq!(
            payload,
            b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor A U Thor <a@example.org> 1700000000 +0000\ncommitter C O Mitter <c@example.org> 1700000100 +0100\n\nSubject line\n\nBody\n".to_vec()
        );
    }

    /// Regression: a `mergetag` header's text lacked the tag's final newline, which gave the
    /// merged tag a wrong id and cut the last newline off its signature block.
    #[test]
    fn mergetags_keep_the_tag_objects_final_newline() {
        let tag = b"object 4b825dc642cb6eb9a060e54bf8d69288fbee4904\ntype commit\ntag v1\ntagger T <t@example.org> 1700000000 +0000\n\nmsg\n-----BEGIN PGP SIGNATURE-----\nfake\n-----END PGP SIGNATURE-----\n";
        let mut commit = b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nparent 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nparent 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor A <a@example.org> 1700000000 +0000\ncommitter A <a@example.org> 1700000000 +0000\nmergetag ".to_vec();
        let text = String::from_utf8_lossy(tag);
        let folded = text.trim_end_matches('\n').replace('\n', "\n ");
        commit.extend_from_slice(folded.as_bytes());
        commit.extend_from_slice(b"\n\nMerge tag v1\n");
        let c = parse_commit(&commit, false).expect("parses");
        assert_eq!(c.mergetags, vec![tag.to_vec()]);
    }

    #[test]
    fn two_signature_headers_are_malformed() {
        let mut data = SIGNED.to_vec();
        let at = data
            .windows(7)
            .position(|w| w == b"gpgsig ")
            .expect("has gpgsig");
        data.splice(at..at, b"gpgsig-sha256 x\n".iter().copied());
        let c = parse_commit(&data, false).expect("parses");
        assert!(matches!(c.signature, SignaturePart::Malformed(_)));
    }

    #[test]
    fn splits_tag_signature_at_the_last_marker() {
        let tag = b"object 4b825dc642cb6eb9a060e54bf8d69288fbee4904\ntype commit\ntag v1\ntagger T <t@example.org> 1700000000 +0000\n\nmsg quoting -----BEGIN PGP SIGNATURE----- inline\n-----BEGIN PGP SIGNATURE-----\nfake\n-----END PGP SIGNATURE-----\n";
        let t = parse_tag(tag).expect("parses");
        assert_eq!(t.name, "v1");
        let SignaturePart::Signed { signature, payload } = t.signature else {
            panic!("signed")
        };
        assert!(signature.starts_with(b"-----BEGIN PGP SIGNATURE-----\nfake"));
        assert!(payload.ends_with(b"inline\n"));
    }
}
