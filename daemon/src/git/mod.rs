//! What the daemon reads from git, behind one port.
//!
//! [`GitRead`] is everything the facts collector (`crate::collect`), the push's secret scan and
//! `pushguard verify` need from a repository: refs, peeling, the commits new to a ref, a commit
//! with its typed tree and parents and its signed payload, changed paths, blobs and the
//! clean-merge check. [`RepoReader`] implements it with gix (plus the two git subprocesses gix
//! cannot replace: `merge-tree` and git's revision syntax), [`fake::FakeRepo`] in memory for
//! unit tests. Object parsing lives in [`objects`] and is shared by both, so the fake reads the
//! same bytes the way the real reader does.
//!
//! Object ids are [`gix::ObjectId`] from the moment a hex string is parsed (at the wire edge,
//! checked against the repository's hash) until facts are handed to the engine.

pub mod cli;
pub mod fake;
mod objects;
mod repo;

use crate::budget::Budget;
use anyhow::{Context, Result};
pub use cli::git_command;
pub use gix::hash::Kind as HashKind;
pub use gix::ObjectId;
pub use objects::{parse_commit, parse_person, parse_tag, signature_start};
pub use repo::{Quarantine, RepoReader};
use rules::facts::ObjectKind;

/// How deep a chain of tags may be before peeling gives up.
const MAX_TAG_DEPTH: usize = 32;

/// A repository as the facts collector reads it. One doc line per method; ids are always of
/// the repository's own hash ([`GitRead::hash_kind`]).
pub trait GitRead {
    /// The hash this repository names its objects with (SHA-1 or SHA-256).
    fn hash_kind(&self) -> HashKind;
    /// The default branch's short name, from HEAD (`None`: detached or not a branch).
    fn default_branch(&self) -> Option<String>;
    /// Every ref with the object it peels to (refs that cannot be peeled are skipped).
    fn refs(&self) -> Result<Vec<(String, ObjectId)>>;
    /// The refs whose names start with `prefix`, each with the object it names directly (an
    /// annotated tag's ref names the tag object); symbolic refs are skipped.
    fn ref_targets(&self, prefix: &str) -> Result<Vec<(String, ObjectId)>>;
    /// The refs a symbolic ref `name` resolves to, nearest first; empty when it is not one.
    fn symref_targets(&self, name: &str) -> Result<Vec<String>>;
    /// The type of an object (an error when it is missing).
    fn kind(&self, id: ObjectId) -> Result<ObjectKind>;
    /// Is `old` an ancestor of (or equal to) `new`?
    fn is_ancestor(&self, old: ObjectId, new: ObjectId) -> Result<bool>;
    /// Commits reachable from `tips` and not from `hidden`, newest first; an error once the
    /// budget runs out or there are more than `limit` ([`TooManyCommits`]).
    fn new_commits(
        &self,
        tips: &[ObjectId],
        hidden: &[ObjectId],
        budget: &Budget,
        limit: usize,
    ) -> Result<Vec<ObjectId>>;
    /// A commit, parsed; its bytes are checked to hash to `id`.
    fn commit(&self, id: ObjectId) -> Result<RawCommit>;
    /// An annotated tag, parsed; its bytes are checked to hash to `id`.
    fn tag(&self, id: ObjectId) -> Result<RawTag>;
    /// A blob's bytes.
    fn blob(&self, id: ObjectId) -> Result<Vec<u8>>;
    /// An object's size in bytes, without reading it.
    fn size(&self, id: ObjectId) -> Result<u64>;
    /// Every file (blob or symbolic link) of a tree, with its path, recursively.
    fn files(&self, tree: ObjectId) -> Result<Vec<(String, ObjectId)>>;
    /// Files that `new_tree` adds or changes against `old_tree` (`None`: the empty tree).
    fn changed_files(
        &self,
        old_tree: Option<ObjectId>,
        new_tree: ObjectId,
    ) -> Result<Vec<ChangedFile>>;
    /// Every path `new_tree` adds, changes (content or mode) or deletes against `old_tree`
    /// (`None`: the empty tree): files, links and submodules, not trees.
    fn changed_paths(&self, old_tree: Option<ObjectId>, new_tree: ObjectId) -> Result<Vec<String>>;
    /// The blob at `path` in the tree of `commit`, if there is one.
    fn file_at(&self, commit: ObjectId, path: &str) -> Result<Option<Vec<u8>>>;
    /// Does `tree` equal the clean merge of `ours` and `theirs`? `false` also on conflicts.
    fn is_clean_merge(&self, tree: ObjectId, ours: ObjectId, theirs: ObjectId) -> Result<bool>;
    /// `git patch-id --stable` of the diff from commit `old` to commit `new` (`None`: no
    /// change): what stays the same when a change is rebased cleanly.
    fn patch_id(&self, old: ObjectId, new: ObjectId) -> Result<Option<String>>;
    /// The commits git's revision arguments name (`rev-list` order, newest first); `--all`
    /// and ranges as git reads them.
    fn rev_list(&self, revisions: &[String]) -> Result<Vec<ObjectId>>;
    /// Another reader of the same objects, for a worker thread.
    fn fork(&self) -> Box<dyn GitRead + Send + '_>;

    /// Parse a hex object id of this repository's hash.
    fn parse_id(&self, hex: &str) -> Result<ObjectId> {
        parse_id(self.hash_kind(), hex)
    }

    /// Follow tags to the object they finally name.
    fn peel(&self, mut id: ObjectId) -> Result<(ObjectId, ObjectKind)> {
        for _ in 0..MAX_TAG_DEPTH {
            match self.kind(id)? {
                ObjectKind::Tag => id = self.tag(id)?.target,
                k => return Ok((id, k)),
            }
        }
        anyhow::bail!("tag chain at {id} is too long")
    }
}

/// Parse a hex object id, checked to be of `kind`.
pub fn parse_id(kind: HashKind, hex: &str) -> Result<ObjectId> {
    let id = ObjectId::from_hex(hex.as_bytes())
        .with_context(|| format!("{hex:?} is not an object id"))?;
    if id.kind() != kind {
        anyhow::bail!("{hex} is not a {kind} object id");
    }
    Ok(id)
}

/// The id of a tag object's bytes (a `mergetag` header holds a whole tag object).
pub fn tag_id(kind: HashKind, data: &[u8]) -> Result<ObjectId> {
    gix::objs::compute_hash(kind, gix::object::Kind::Tag, data).context("cannot hash object")
}

/// A file a tree adds or changes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ChangedFile {
    pub path: String,
    pub blob: ObjectId,
    /// The blob at the same path before (`None`: the file is new).
    pub previous: Option<ObjectId>,
}

/// More commits than a push may make the daemon judge (`settings.max_commits`).
#[derive(Debug, thiserror::Error)]
#[error("this push has more than {0} commits to judge (settings.max_commits): push the history in parts, or ask the admin to raise the limit for a migration")]
pub struct TooManyCommits(pub usize);

/// A parsed commit (only what the rules and the scan need) and its signature split out.
#[derive(Debug, Clone)]
pub struct RawCommit {
    pub tree: ObjectId,
    pub parents: Vec<ObjectId>,
    /// `mergetag` headers: the full text of each merged tag object.
    pub mergetags: Vec<Vec<u8>>,
    pub author: rules::facts::Person,
    pub committer: rules::facts::Person,
    pub subject: String,
    /// `Co-authored-by:` trailers.
    pub co_authors: Vec<rules::facts::Person>,
    pub signature: SignaturePart,
}

/// An annotated tag object.
#[derive(Debug, Clone)]
pub struct RawTag {
    pub target: ObjectId,
    pub name: String,
    pub tagger: Option<rules::facts::Person>,
    pub signature: SignaturePart,
}

/// Where an object's signature stands.
#[derive(Debug, Clone)]
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
    /// The check of this signature by `verifier` at `now`: unsigned and malformed ones without
    /// asking it.
    pub fn check(
        &self,
        verifier: &dyn crypto::SignatureVerifier,
        now: i64,
    ) -> rules::SignatureCheck {
        match self {
            SignaturePart::None => rules::SignatureCheck::unsigned(),
            SignaturePart::Malformed(why) => rules::SignatureCheck {
                verdict: rules::KeyVerdict::Malformed,
                detail: Some(why.clone()),
                ..rules::SignatureCheck::default()
            },
            SignaturePart::Signed { signature, payload } => {
                verifier.verify(signature, payload, now)
            }
        }
    }

    /// Is there a signature (good or not) to verify?
    pub fn is_signed(&self) -> bool {
        matches!(self, SignaturePart::Signed { .. })
    }
}
