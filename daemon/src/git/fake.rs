//! An in-memory [`GitRead`] for unit tests of the collector and the scan.
//!
//! Objects are real git objects: commits and tags are written as git writes them and read back
//! with the same parser the real reader uses ([`super::parse_commit`]), trees are encoded in
//! git's entry order, and every id is the object's real hash (SHA-1 or SHA-256), so ids agree
//! with what `git hash-object` would print. What the fake simplifies: history walks list commits
//! newest committer date first (git's default order, without its finer tie-breaks), and [`GitRead::is_clean_merge`] is a path-level three-way merge
//! (a file both sides changed differently is a conflict; git would merge its lines).
//!
//! ```
//! use pushguard::git::{fake::FakeRepo, GitRead, HashKind};
//!
//! let mut repo = FakeRepo::new(HashKind::Sha1);
//! let blob = repo.add_blob(b"hello\n");
//! let tree = repo.add_tree(&[("README", blob)]);
//! let c = repo.add_commit(tree, &[], "A <a@example.org>", "first");
//! repo.set_ref("refs/heads/main", c);
//! assert_eq!(repo.commit(c).expect("the commit was just written").subject, "first");
//! ```

use super::{
    parse_commit, parse_tag, ChangedFile, GitRead, HashKind, ObjectId, RawCommit, RawTag,
    TooManyCommits,
};
use crate::budget::Budget;
use anyhow::{bail, Context, Result};
use gix::object::Kind;
use rules::facts::ObjectKind;
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

/// A repository held in memory. Build it with the methods below, then read it through
/// [`GitRead`].
#[derive(Debug, Clone)]
pub struct FakeRepo {
    kind: HashKind,
    objects: HashMap<ObjectId, (Kind, Vec<u8>)>,
    /// Each tree's direct entries: name → (is a tree, id).
    trees: HashMap<ObjectId, BTreeMap<String, (bool, ObjectId)>>,
    refs: BTreeMap<String, Target>,
    head: Option<String>,
    /// Objects written after [`FakeRepo::start_push`]: the pushed ones (git's quarantine).
    quarantined: HashSet<ObjectId>,
    in_push: bool,
    /// Committer time of the next commit: each commit is a second after the previous one.
    clock: i64,
}

#[derive(Debug, Clone)]
enum Target {
    Object(ObjectId),
    Symbolic(String),
}

/// An optional part of a commit: see [`FakeRepo::add_commit_with`].
#[derive(Debug, Clone, Default)]
pub struct Extra {
    /// The signature block, written as the `gpgsig` header (`gpgsig-sha256` in SHA-256).
    pub signature: Option<Vec<u8>>,
    /// Whole tag objects, written as `mergetag` headers.
    pub mergetags: Vec<Vec<u8>>,
    /// The author, when not the committer.
    pub author: Option<String>,
}

impl FakeRepo {
    /// An empty repository of the given hash.
    pub fn new(kind: HashKind) -> FakeRepo {
        FakeRepo {
            kind,
            objects: HashMap::new(),
            trees: HashMap::new(),
            refs: BTreeMap::new(),
            head: Some("main".to_string()),
            quarantined: HashSet::new(),
            in_push: false,
            clock: 1_700_000_000,
        }
    }

    /// From now on, objects written are the push's (they sit in git's quarantine).
    pub fn start_push(&mut self) {
        self.in_push = true;
    }

    /// Objects written since [`FakeRepo::start_push`].
    pub fn quarantined(&self) -> &HashSet<ObjectId> {
        &self.quarantined
    }

    /// Write an object's bytes as they are (also garbage): its id.
    pub fn add_raw(&mut self, kind: Kind, data: &[u8]) -> ObjectId {
        let id = gix::objs::compute_hash(self.kind, kind, data)
            .expect("hashing bytes in memory cannot fail");
        if self.in_push && !self.objects.contains_key(&id) {
            self.quarantined.insert(id);
        }
        self.objects.insert(id, (kind, data.to_vec()));
        id
    }

    /// A blob.
    pub fn add_blob(&mut self, data: &[u8]) -> ObjectId {
        self.add_raw(Kind::Blob, data)
    }

    /// A tree holding `files` (paths with `/` make subtrees), each a blob.
    pub fn add_tree(&mut self, files: &[(&str, ObjectId)]) -> ObjectId {
        let mut top: BTreeMap<String, Node> = BTreeMap::new();
        for (path, id) in files {
            insert(&mut top, path, *id);
        }
        self.write_tree(&top)
    }

    fn write_tree(&mut self, nodes: &BTreeMap<String, Node>) -> ObjectId {
        let mut entries: Vec<(String, bool, ObjectId)> = Vec::new();
        for (name, node) in nodes {
            match node {
                Node::File(id) => entries.push((name.clone(), false, *id)),
                Node::Dir(sub) => {
                    let id = self.write_tree(sub);
                    entries.push((name.clone(), true, id));
                }
            }
        }
        // git orders entries by name, a tree's name compared as if it ended in `/`.
        entries.sort_by_key(|e| sort_key(&e.0, e.1));
        let mut data = Vec::new();
        for (name, is_tree, id) in &entries {
            data.extend_from_slice(if *is_tree { b"40000 " } else { b"100644 " });
            data.extend_from_slice(name.as_bytes());
            data.push(0);
            data.extend_from_slice(id.as_bytes());
        }
        let id = self.add_raw(Kind::Tree, &data);
        self.trees.insert(
            id,
            entries.into_iter().map(|(n, t, id)| (n, (t, id))).collect(),
        );
        id
    }

    /// A commit of `tree` with `parents`, by `who` (`Name <email>`) as author and committer,
    /// with `message` (its first line is the subject).
    pub fn add_commit(
        &mut self,
        tree: ObjectId,
        parents: &[ObjectId],
        who: &str,
        message: &str,
    ) -> ObjectId {
        self.add_commit_with(tree, parents, who, message, Extra::default())
    }

    /// [`FakeRepo::add_commit`] with a signature, mergetags or another author.
    pub fn add_commit_with(
        &mut self,
        tree: ObjectId,
        parents: &[ObjectId],
        who: &str,
        message: &str,
        extra: Extra,
    ) -> ObjectId {
        self.clock += 1;
        let mut text = format!("tree {tree}\n");
        for p in parents {
            text.push_str(&format!("parent {p}\n"));
        }
        let author = extra.author.as_deref().unwrap_or(who);
        text.push_str(&format!("author {author} {} +0000\n", self.clock));
        text.push_str(&format!("committer {who} {} +0000\n", self.clock));
        for tag in &extra.mergetags {
            let t = String::from_utf8_lossy(tag);
            text.push_str(&header("mergetag", t.trim_end_matches('\n')));
        }
        if let Some(sig) = &extra.signature {
            let name = if self.kind == HashKind::Sha256 {
                "gpgsig-sha256"
            } else {
                "gpgsig"
            };
            let s = String::from_utf8_lossy(sig);
            text.push_str(&header(name, s.trim_end_matches('\n')));
        }
        text.push('\n');
        text.push_str(message);
        text.push('\n');
        self.add_raw(Kind::Commit, text.as_bytes())
    }

    /// The bytes of an annotated tag object `name` on `target` by `tagger`, with the signature
    /// block appended when there is one (as git appends it). Write it with
    /// [`FakeRepo::add_raw`] (or embed it in a merge as a `mergetag`).
    pub fn tag_bytes(
        &self,
        target: ObjectId,
        target_kind: ObjectKind,
        name: &str,
        tagger: &str,
        signature: Option<&[u8]>,
    ) -> Vec<u8> {
        let kind = match target_kind {
            ObjectKind::Commit => "commit",
            ObjectKind::Tag => "tag",
            ObjectKind::Tree => "tree",
            ObjectKind::Blob | ObjectKind::None => "blob",
        };
        let mut data = format!(
            "object {target}\ntype {kind}\ntag {name}\ntagger {tagger} {} +0000\n\n{name}\n",
            self.clock
        )
        .into_bytes();
        if let Some(sig) = signature {
            data.extend_from_slice(sig);
        }
        data
    }

    /// An annotated tag object `name` on `target`: its id.
    pub fn add_tag(
        &mut self,
        target: ObjectId,
        target_kind: ObjectKind,
        name: &str,
        tagger: &str,
        signature: Option<&[u8]>,
    ) -> ObjectId {
        let data = self.tag_bytes(target, target_kind, name, tagger, signature);
        self.add_raw(Kind::Tag, &data)
    }

    /// Point `name` at an object.
    pub fn set_ref(&mut self, name: &str, id: ObjectId) {
        self.refs.insert(name.to_string(), Target::Object(id));
    }

    /// Make `name` a symbolic ref to `target`.
    pub fn set_symref(&mut self, name: &str, target: &str) {
        self.refs
            .insert(name.to_string(), Target::Symbolic(target.to_string()));
    }

    /// Remove a ref.
    pub fn delete_ref(&mut self, name: &str) {
        self.refs.remove(name);
    }

    /// The branch HEAD names (`None`: detached).
    pub fn set_head(&mut self, branch: Option<&str>) {
        self.head = branch.map(str::to_string);
    }

    fn object(&self, id: ObjectId, want: Kind) -> Result<&[u8]> {
        match self.objects.get(&id) {
            None => bail!("object {id} is missing"),
            Some((kind, _)) if *kind != want => bail!("object {id} is a {kind}, not a {want}"),
            Some((_, data)) => Ok(data),
        }
    }

    fn resolve(&self, name: &str) -> Option<ObjectId> {
        let mut current = name;
        for _ in 0..5 {
            match self.refs.get(current)? {
                Target::Object(id) => return Some(*id),
                Target::Symbolic(t) => current = t,
            }
        }
        None
    }

    /// A ref name or a full hex id.
    fn revision(&self, rev: &str) -> Result<ObjectId> {
        if let Some(id) = self.resolve(rev) {
            return Ok(id);
        }
        for prefix in ["refs/heads/", "refs/tags/"] {
            if let Some(id) = self.resolve(&format!("{prefix}{rev}")) {
                return Ok(id);
            }
        }
        self.parse_id(rev)
            .with_context(|| format!("unknown revision {rev}"))
    }

    fn ancestors(&self, tips: &[ObjectId]) -> Result<HashSet<ObjectId>> {
        let mut seen = HashSet::new();
        let mut queue: VecDeque<ObjectId> = tips.iter().copied().collect();
        while let Some(id) = queue.pop_front() {
            if seen.insert(id) {
                queue.extend(self.commit(id)?.parents);
            }
        }
        Ok(seen)
    }

    /// Every file of a tree, flattened: path → blob.
    fn flat(&self, tree: ObjectId) -> Result<BTreeMap<String, ObjectId>> {
        let mut out = BTreeMap::new();
        self.flatten(tree, "", &mut out)?;
        Ok(out)
    }

    fn flatten(
        &self,
        tree: ObjectId,
        prefix: &str,
        out: &mut BTreeMap<String, ObjectId>,
    ) -> Result<()> {
        let entries = self
            .trees
            .get(&tree)
            .with_context(|| format!("tree {tree} is missing"))?;
        for (name, (is_tree, id)) in entries {
            let path = format!("{prefix}{name}");
            if *is_tree {
                self.flatten(*id, &format!("{path}/"), out)?;
            } else {
                out.insert(path, *id);
            }
        }
        Ok(())
    }
}

enum Node {
    File(ObjectId),
    Dir(BTreeMap<String, Node>),
}

fn insert(nodes: &mut BTreeMap<String, Node>, path: &str, id: ObjectId) {
    match path.split_once('/') {
        None => {
            nodes.insert(path.to_string(), Node::File(id));
        }
        Some((dir, rest)) => {
            let entry = nodes
                .entry(dir.to_string())
                .or_insert_with(|| Node::Dir(BTreeMap::new()));
            if let Node::File(_) = entry {
                *entry = Node::Dir(BTreeMap::new());
            }
            if let Node::Dir(sub) = entry {
                insert(sub, rest, id);
            }
        }
    }
}

fn sort_key(name: &str, is_tree: bool) -> Vec<u8> {
    let mut k = name.as_bytes().to_vec();
    if is_tree {
        k.push(b'/');
    }
    k
}

/// A header whose value spans lines, continuation lines indented by one space.
fn header(name: &str, value: &str) -> String {
    format!("{name} {}\n", value.replace('\n', "\n "))
}

impl GitRead for FakeRepo {
    fn hash_kind(&self) -> HashKind {
        self.kind
    }

    fn default_branch(&self) -> Option<String> {
        self.head.clone()
    }

    fn refs(&self) -> Result<Vec<(String, ObjectId)>> {
        let mut out = Vec::new();
        for name in self.refs.keys() {
            if let Some(id) = self.resolve(name) {
                if let Ok((peeled, _)) = self.peel(id) {
                    out.push((name.clone(), peeled));
                }
            }
        }
        Ok(out)
    }

    fn ref_targets(&self, prefix: &str) -> Result<Vec<(String, ObjectId)>> {
        Ok(self
            .refs
            .iter()
            .filter(|(name, _)| name.starts_with(prefix))
            .filter_map(|(name, t)| match t {
                Target::Object(id) => Some((name.clone(), *id)),
                Target::Symbolic(_) => None,
            })
            .collect())
    }

    fn symref_targets(&self, name: &str) -> Result<Vec<String>> {
        let mut chain: Vec<String> = Vec::new();
        let mut current = name.to_string();
        for _ in 0..5 {
            match self.refs.get(&current) {
                Some(Target::Symbolic(t)) => {
                    if t == name || chain.contains(t) {
                        bail!("symbolic ref {name} loops");
                    }
                    chain.push(t.clone());
                    current = t.clone();
                }
                _ => break,
            }
        }
        Ok(chain)
    }

    fn kind(&self, id: ObjectId) -> Result<ObjectKind> {
        match self.objects.get(&id) {
            None => bail!("object {id} is missing"),
            Some((Kind::Commit, _)) => Ok(ObjectKind::Commit),
            Some((Kind::Tag, _)) => Ok(ObjectKind::Tag),
            Some((Kind::Tree, _)) => Ok(ObjectKind::Tree),
            Some((Kind::Blob, _)) => Ok(ObjectKind::Blob),
        }
    }

    fn is_ancestor(&self, old: ObjectId, new: ObjectId) -> Result<bool> {
        Ok(self.ancestors(&[new])?.contains(&old))
    }

    fn new_commits(
        &self,
        tips: &[ObjectId],
        hidden: &[ObjectId],
        budget: &Budget,
        limit: usize,
    ) -> Result<Vec<ObjectId>> {
        let hidden = self.ancestors(hidden)?;
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        let mut queue: VecDeque<ObjectId> = tips.iter().copied().collect();
        while let Some(id) = queue.pop_front() {
            if hidden.contains(&id) || !seen.insert(id) {
                continue;
            }
            budget.check()?;
            out.push(id);
            if out.len() > limit {
                bail!(TooManyCommits(limit));
            }
            queue.extend(self.commit(id)?.parents);
        }
        // git's default order: newest committer date first.
        let mut dated = Vec::with_capacity(out.len());
        for id in out {
            dated.push((std::cmp::Reverse(self.commit(id)?.committer.time), id));
        }
        dated.sort_by_key(|(time, _)| *time); // stable: ties keep the walk's order
        Ok(dated.into_iter().map(|(_, id)| id).collect())
    }

    fn commit(&self, id: ObjectId) -> Result<RawCommit> {
        parse_commit(self.object(id, Kind::Commit)?, self.kind)
            .with_context(|| format!("commit {id} cannot be parsed"))
    }

    fn tag(&self, id: ObjectId) -> Result<RawTag> {
        parse_tag(self.object(id, Kind::Tag)?, self.kind)
            .with_context(|| format!("tag {id} cannot be parsed"))
    }

    fn blob(&self, id: ObjectId) -> Result<Vec<u8>> {
        Ok(self.object(id, Kind::Blob)?.to_vec())
    }

    fn size(&self, id: ObjectId) -> Result<u64> {
        match self.objects.get(&id) {
            Some((_, data)) => Ok(data.len() as u64),
            None => bail!("object {id} is missing"),
        }
    }

    fn files(&self, tree: ObjectId) -> Result<Vec<(String, ObjectId)>> {
        Ok(self.flat(tree)?.into_iter().collect())
    }

    fn changed_files(
        &self,
        old_tree: Option<ObjectId>,
        new_tree: ObjectId,
    ) -> Result<Vec<ChangedFile>> {
        let old = match old_tree {
            Some(t) => self.flat(t)?,
            None => BTreeMap::new(),
        };
        Ok(self
            .flat(new_tree)?
            .into_iter()
            .filter(|(path, blob)| old.get(path) != Some(blob))
            .map(|(path, blob)| ChangedFile {
                previous: old.get(&path).copied(),
                path,
                blob,
            })
            .collect())
    }

    fn changed_paths(&self, old_tree: Option<ObjectId>, new_tree: ObjectId) -> Result<Vec<String>> {
        let old = match old_tree {
            Some(t) => self.flat(t)?,
            None => BTreeMap::new(),
        };
        let new = self.flat(new_tree)?;
        let mut out: Vec<String> = old
            .keys()
            .chain(new.keys())
            .filter(|p| old.get(*p) != new.get(*p))
            .cloned()
            .collect();
        out.sort();
        out.dedup();
        Ok(out)
    }

    fn file_at(&self, commit: ObjectId, path: &str) -> Result<Option<Vec<u8>>> {
        let tree = self.commit(commit)?.tree;
        match self.flat(tree)?.get(path) {
            Some(blob) => Ok(Some(self.blob(*blob)?)),
            None => Ok(None),
        }
    }

    fn is_clean_merge(&self, tree: ObjectId, ours: ObjectId, theirs: ObjectId) -> Result<bool> {
        // The merge base: the first common ancestor found walking back from `ours`.
        let theirs_ancestors = self.ancestors(&[theirs])?;
        let mut base = None;
        let mut queue = VecDeque::from([ours]);
        let mut seen = HashSet::new();
        while let Some(id) = queue.pop_front() {
            if theirs_ancestors.contains(&id) {
                base = Some(id);
                break;
            }
            if seen.insert(id) {
                queue.extend(self.commit(id)?.parents);
            }
        }
        let base = match base {
            Some(b) => self.flat(self.commit(b)?.tree)?,
            None => BTreeMap::new(),
        };
        let (o, t) = (
            self.flat(self.commit(ours)?.tree)?,
            self.flat(self.commit(theirs)?.tree)?,
        );
        let mut merged = BTreeMap::new();
        let paths: std::collections::BTreeSet<&String> =
            base.keys().chain(o.keys()).chain(t.keys()).collect();
        for path in paths {
            let (b, x, y) = (base.get(path), o.get(path), t.get(path));
            let pick = if x == y || y == b {
                x
            } else if x == b {
                y
            } else {
                return Ok(false); // both sides changed it differently: a conflict
            };
            if let Some(blob) = pick {
                merged.insert(path.clone(), *blob);
            }
        }
        Ok(self.flat(tree)? == merged)
    }

    /// Not git's patch-id: a hash of what changes (path, old blob, new blob), which, like
    /// git's, stays the same across a rebase that does not touch the changed files.
    fn patch_id(&self, old: ObjectId, new: ObjectId) -> Result<Option<String>> {
        use sha2::{Digest, Sha256};
        let (before, after) = (
            self.flat(self.commit(old)?.tree)?,
            self.flat(self.commit(new)?.tree)?,
        );
        let mut h = Sha256::new();
        let mut any = false;
        let paths: std::collections::BTreeSet<&String> =
            before.keys().chain(after.keys()).collect();
        for path in paths {
            let (b, a) = (before.get(path), after.get(path));
            if b != a {
                any = true;
                h.update(format!("{path} {b:?} {a:?}\n"));
            }
        }
        Ok(any.then(|| hex::encode(&h.finalize()[..20])))
    }

    fn rev_list(&self, revisions: &[String]) -> Result<Vec<ObjectId>> {
        let mut tips = Vec::new();
        let mut hidden = Vec::new();
        for r in revisions {
            if r == "--all" {
                tips.extend(self.refs()?.into_iter().map(|(_, id)| id));
            } else if let Some((a, b)) = r.split_once("..") {
                hidden.push(self.revision(a)?);
                tips.push(self.revision(b)?);
            } else if let Some(a) = r.strip_prefix('^') {
                hidden.push(self.revision(a)?);
            } else {
                tips.push(self.revision(r)?);
            }
        }
        let tips: Vec<ObjectId> = tips
            .into_iter()
            .filter_map(|t| match self.peel(t) {
                Ok((c, ObjectKind::Commit)) => Some(c),
                _ => None,
            })
            .collect();
        self.new_commits(&tips, &hidden, &Budget::unlimited(), usize::MAX)
    }

    fn fork(&self) -> Box<dyn GitRead + Send + '_> {
        Box::new(self.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::git::{Quarantine, RepoReader};
    use std::process::Command;

    fn git(dir: &std::path::Path, args: &[&str]) -> String {
        let out = Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_AUTHOR_NAME", "A")
            .env("GIT_AUTHOR_EMAIL", "a@example.org")
            .env("GIT_COMMITTER_NAME", "A")
            .env("GIT_COMMITTER_EMAIL", "a@example.org")
            .env("GIT_AUTHOR_DATE", "1700000001 +0000")
            .env("GIT_COMMITTER_DATE", "1700000001 +0000")
            .output()
            .expect("git runs");
        assert!(out.status.success(), "git {args:?}: {out:?}");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// The fake writes the objects git writes: the same ids for the same files, commit and
    /// tag, in both hashes; and the real reader and the fake read the same trees the same way.
    #[test]
    fn the_fake_agrees_with_git_and_the_real_reader() {
        for (kind, format) in [(HashKind::Sha1, "sha1"), (HashKind::Sha256, "sha256")] {
            let dir = tempfile::tempdir().expect("temp dir");
            let work = dir.path();
            git(
                work,
                &[
                    "init",
                    "-q",
                    "-b",
                    "main",
                    &format!("--object-format={format}"),
                ],
            );
            // Names that sort differently as files and as trees (`a.b` vs `a/`).
            let files = [
                ("a.b", "1\n"),
                ("a/b", "2\n"),
                ("a-c", "3\n"),
                ("z/y/x", "4\n"),
            ];
            for (path, text) in files {
                let p = work.join(path);
                std::fs::create_dir_all(p.parent().expect("has a parent")).expect("mkdir");
                std::fs::write(&p, text).expect("write");
            }
            git(work, &["add", "."]);
            git(work, &["commit", "-q", "-m", "first"]);
            let real_commit = git(work, &["rev-parse", "HEAD"]);
            let real_tree = git(work, &["rev-parse", "HEAD^{tree}"]);
            std::fs::write(work.join("a-c"), "changed\n").expect("write");
            git(work, &["commit", "-q", "-am", "second"]);
            let real_second = git(work, &["rev-parse", "HEAD"]);

            let mut fake = FakeRepo::new(kind);
            fake.clock = 1_700_000_000;
            let blobs: Vec<(&str, ObjectId)> = files
                .iter()
                .map(|(p, t)| (*p, fake.add_blob(t.as_bytes())))
                .collect();
            let tree = fake.add_tree(&blobs);
            assert_eq!(tree.to_string(), real_tree, "{format} tree");
            let first = fake.add_commit(tree, &[], "A <a@example.org>", "first");
            assert_eq!(first.to_string(), real_commit, "{format} commit");
            fake.clock -= 1; // git's second commit has the same date
            let changed = fake.add_blob(b"changed\n");
            let mut second_files = blobs.clone();
            second_files[2].1 = changed;
            let second_tree = fake.add_tree(&second_files);
            let second = fake.add_commit(second_tree, &[first], "A <a@example.org>", "second");
            assert_eq!(second.to_string(), real_second, "{format} second commit");

            let real = RepoReader::open(&work.join(".git"), &Quarantine::default()).expect("opens");
            let mut real_files = real.files(tree).expect("real files");
            real_files.sort();
            assert_eq!(real_files, fake.files(tree).expect("fake files"));
            assert_eq!(
                real.changed_files(Some(tree), second_tree)
                    .expect("real diff"),
                fake.changed_files(Some(tree), second_tree)
                    .expect("fake diff"),
            );
            let (rc, fc) = (
                real.commit(second).expect("real"),
                fake.commit(second).expect("fake"),
            );
            assert_eq!(
                (rc.tree, rc.parents, rc.subject),
                (fc.tree, fc.parents, fc.subject)
            );
            assert_eq!(
                real.rev_list(&["HEAD".into()]).expect("rev-list"),
                [second, first]
            );
            fake.set_ref("refs/heads/main", second);
            assert_eq!(
                fake.rev_list(&["main".into()]).expect("rev-list"),
                [second, first]
            );
            assert!(real.is_ancestor(first, second).expect("walks"));
            assert!(fake.is_ancestor(first, second).expect("walks"));
        }
    }

    /// The real reader's patch-id is git's: the same after a clean rebase, another for another
    /// change; the fake's behaves alike.
    #[test]
    fn patch_ids_survive_a_clean_rebase() {
        let dir = tempfile::tempdir().expect("temp dir");
        let work = dir.path();
        git(work, &["init", "-q", "-b", "main"]);
        std::fs::write(work.join("a"), "1\n").expect("write");
        std::fs::write(work.join("b"), "1\n").expect("write");
        git(work, &["add", "."]);
        git(work, &["commit", "-q", "-m", "base"]);
        let base = git(work, &["rev-parse", "HEAD"]);
        git(work, &["checkout", "-q", "-b", "topic"]);
        std::fs::write(work.join("a"), "1\n2\n").expect("write");
        git(work, &["commit", "-q", "-am", "change a"]);
        let topic = git(work, &["rev-parse", "HEAD"]);
        git(work, &["checkout", "-q", "main"]);
        std::fs::write(work.join("b"), "1\n3\n").expect("write");
        git(work, &["commit", "-q", "-am", "change b"]);
        let main = git(work, &["rev-parse", "HEAD"]);
        git(work, &["checkout", "-q", "topic"]);
        git(work, &["rebase", "-q", "main"]);
        let rebased = git(work, &["rev-parse", "HEAD"]);
        let real = RepoReader::open(&work.join(".git"), &Quarantine::default()).expect("opens");
        let id = |h: &str| crate::git::parse_id(HashKind::Sha1, h).expect("id");
        let before = real.patch_id(id(&base), id(&topic)).expect("patch-id");
        let after = real.patch_id(id(&main), id(&rebased)).expect("patch-id");
        assert!(before.is_some());
        assert_eq!(before, after, "a clean rebase keeps the patch-id");
        assert_ne!(
            real.patch_id(id(&base), id(&main)).expect("patch-id"),
            before
        );
        assert_eq!(real.patch_id(id(&main), id(&main)).expect("patch-id"), None);
    }
}
