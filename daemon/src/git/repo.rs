//! Reading a repository during a push, with gix.
//!
//! gix ignores git's quarantine variables, so for a pre-receive hook the repository is opened
//! normally and its object database replaced by a private *overlay*: an empty objects directory
//! (outside the quarantine, so git never migrates it) whose `info/alternates` lists the
//! quarantine and the repository's own object directories.

use super::cli::git_command;
use super::{
    parse_commit, parse_tag, ChangedFile, GitRead, HashKind, RawCommit, RawTag, TooManyCommits,
};
use crate::budget::Budget;
use anyhow::{anyhow, bail, Context, Result};
use gix::ObjectId;
use rules::facts::ObjectKind;
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

    /// An empty bare repository of this one's hash in a scratch directory, borrowing this
    /// reader's objects (the quarantine's too): git runs there, so nothing is written into the
    /// repository or the quarantine and none of its configuration (drivers, attributes, replace
    /// refs, grafts) applies. A driver named by a repository is a program: it must never run as
    /// the daemon's user.
    fn scratch_repository(&self, prefix: &str) -> Result<tempfile::TempDir> {
        let scratch = scratch_dir(prefix).context("cannot create a scratch repository for git")?;
        let git_dir = scratch.path();
        std::fs::create_dir_all(git_dir.join("objects/info"))?;
        std::fs::create_dir_all(git_dir.join("refs"))?;
        std::fs::write(git_dir.join("HEAD"), "ref: refs/heads/pushguard-scratch\n")?;
        let config = match self.repo.object_hash() {
            gix::hash::Kind::Sha256 => "[core]\n\trepositoryformatversion = 1\n\tbare = true\n[extensions]\n\tobjectformat = sha256\n",
            _ => "[core]\n\trepositoryformatversion = 0\n\tbare = true\n",
        };
        std::fs::write(git_dir.join("config"), config)?;
        write_alternates(&git_dir.join("objects"), &self.object_dirs())?;
        Ok(scratch)
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

    /// [`RepoReader::clone_reader`] with the caches of [`RepoReader::open_for_history`]: the same
    /// object store (one memory map of each pack for all threads).
    pub fn fork_for_history(&self, pack_cache: usize, object_cache: usize) -> RepoReader {
        let mut r = self.clone_reader();
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
    pub fn clone_reader(&self) -> RepoReader {
        RepoReader {
            repo: self.repo.clone(),
            _overlay: None,
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
}

impl GitRead for RepoReader {
    fn hash_kind(&self) -> HashKind {
        self.repo.object_hash()
    }

    fn default_branch(&self) -> Option<String> {
        let name = self.repo.head_name().ok()??;
        name.as_bstr()
            .to_string()
            .strip_prefix("refs/heads/")
            .map(str::to_string)
    }

    fn refs(&self) -> Result<Vec<(String, ObjectId)>> {
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

    fn ref_targets(&self, prefix: &str) -> Result<Vec<(String, ObjectId)>> {
        let mut out = Vec::new();
        let platform = self.repo.references().context("cannot list refs")?;
        for r in platform
            .prefixed(prefix)
            .with_context(|| format!("cannot list refs under {prefix}"))?
        {
            let Ok(r) = r else { continue };
            if let Some(id) = r.target().try_id() {
                out.push((r.name().as_bstr().to_string(), id.to_owned()));
            }
        }
        Ok(out)
    }

    fn kind(&self, id: ObjectId) -> Result<ObjectKind> {
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

    fn is_ancestor(&self, old: ObjectId, new: ObjectId) -> Result<bool> {
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

    fn new_commits(
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

    fn symref_targets(&self, name: &str) -> Result<Vec<String>> {
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

    fn files(&self, tree: ObjectId) -> Result<Vec<(String, ObjectId)>> {
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

    fn is_clean_merge(&self, tree: ObjectId, ours: ObjectId, theirs: ObjectId) -> Result<bool> {
        let scratch = self.scratch_repository("pushguard-merge-")?;
        let kind = self.repo.object_hash();
        let git_dir = scratch.path();
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

    fn patch_id(&self, old: ObjectId, new: ObjectId) -> Result<Option<String>> {
        let scratch = self.scratch_repository("pushguard-patch-id-")?;
        let diff = git_command()
            .arg("--git-dir")
            .arg(scratch.path())
            // Pinned: `pushguard approve` makes the same diff in the reviewer's clone.
            .args([
                "diff-tree",
                "-p",
                "--no-color",
                "--no-ext-diff",
                "--no-textconv",
                "--no-renames",
                "--diff-algorithm=myers",
            ])
            .arg(old.to_string())
            .arg(new.to_string())
            .output()
            .context("cannot run git diff-tree")?;
        if !diff.status.success() {
            bail!(
                "git diff-tree failed: {}",
                String::from_utf8_lossy(&diff.stderr).trim()
            );
        }
        super::cli::patch_id(&diff.stdout)
    }

    fn size(&self, id: ObjectId) -> Result<u64> {
        Ok(self
            .repo
            .find_header(id)
            .with_context(|| format!("object {id} is missing"))?
            .size())
    }

    fn blob(&self, id: ObjectId) -> Result<Vec<u8>> {
        self.data(id, gix::object::Kind::Blob)
    }

    fn changed_files(
        &self,
        old_tree: Option<ObjectId>,
        new_tree: ObjectId,
    ) -> Result<Vec<ChangedFile>> {
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
                } if entry_mode.is_blob_or_symlink() => out.push(ChangedFile {
                    path: path.to_string(),
                    blob: oid,
                    previous: None,
                }),
                Change::Modification {
                    previous_entry_mode,
                    previous_oid,
                    entry_mode,
                    oid,
                    path,
                } if entry_mode.is_blob_or_symlink() => out.push(ChangedFile {
                    path: path.to_string(),
                    blob: oid,
                    previous: previous_entry_mode
                        .is_blob_or_symlink()
                        .then_some(previous_oid),
                }),
                _ => {}
            }
        }
        Ok(out)
    }

    fn changed_paths(&self, old_tree: Option<ObjectId>, new_tree: ObjectId) -> Result<Vec<String>> {
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
            let (mode, path) = match change {
                Change::Addition {
                    entry_mode, path, ..
                } => (entry_mode, path),
                Change::Deletion {
                    entry_mode, path, ..
                } => (entry_mode, path),
                Change::Modification {
                    entry_mode, path, ..
                } => (entry_mode, path),
            };
            if !mode.is_tree() {
                out.push(path.to_string());
            }
        }
        out.sort();
        out.dedup();
        Ok(out)
    }

    fn file_at(&self, commit: ObjectId, path: &str) -> Result<Option<Vec<u8>>> {
        let c = self.commit(commit)?;
        let tree = self.repo.find_tree(c.tree)?;
        let entry = tree
            .lookup_entry_by_path(path)
            .with_context(|| format!("cannot look up {path}"))?;
        match entry {
            Some(e) if e.mode().is_blob() => Ok(Some(self.blob(e.object_id())?)),
            _ => Ok(None),
        }
    }

    fn commit(&self, id: ObjectId) -> Result<RawCommit> {
        let data = self.data(id, gix::object::Kind::Commit)?;
        parse_commit(&data, self.repo.object_hash())
            .with_context(|| format!("commit {id} cannot be parsed"))
    }

    fn tag(&self, id: ObjectId) -> Result<RawTag> {
        let data = self.data(id, gix::object::Kind::Tag)?;
        parse_tag(&data, self.repo.object_hash())
            .with_context(|| format!("tag {id} cannot be parsed"))
    }

    fn rev_list(&self, revisions: &[String]) -> Result<Vec<ObjectId>> {
        // git's revision syntax (ranges, `^`, `@{u}`, `--all`) is git's: ask git, in the
        // repository's own directory (never the quarantine: nothing pushed is listed).
        super::cli::rev_list(self.repo.git_dir(), self.hash_kind(), revisions)
    }

    fn fork(&self) -> Box<dyn GitRead + Send + '_> {
        Box::new(self.clone_reader())
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
