//! Facts: everything the engine needs to judge a change, gathered beforehand by a front door
//! (the hook daemon or the webhook listener). Plain data only; nothing here reads files, git,
//! keys or the clock.

use crate::report::Code;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Seconds since the Unix epoch (UTC). The engine never reads the clock; `Change::now` carries it.
pub type Timestamp = i64;

/// One change to judge: a push (all its ref updates) or a pull request.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Change {
    /// Repository path or name, for messages and the audit log.
    pub repo: String,
    /// Receive time on the server; key validity is judged at this time.
    pub now: Timestamp,
    /// Who pushed, as named by the server's environment (see `pusher.env` in the policy).
    pub pusher: Option<String>,
    /// The repository's default branch, short name (`main`), when known.
    pub default_branch: Option<String>,
    /// `git push -o` options.
    pub push_options: Vec<String>,
    /// The ref updates, in the order git gave them.
    pub updates: Vec<RefUpdate>,
    /// Secret scanning of the blobs new to the repository; `None` when no rule asked for it.
    pub secrets: Option<SecretScan>,
    /// Secret suppressions read from the protected base (never from the push itself).
    pub base_suppressions: Vec<crate::policy::Suppression>,
    /// The push certificate, for a signed push.
    pub push_certificate: Option<PushCertificate>,
    /// Reviewers' signed approvals (and rejections) the repository holds for the refs this
    /// change moves, each verified; read only when a `pull_request` rule governs a ref.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub approvals: Vec<Approval>,
}

/// A reviewer's signed verdict on one ref update (`pushguard approve`): an in-toto statement in
/// a DSSE envelope, its signature verified by the collector. What it binds to (ref, base,
/// resulting tree, patch-id) is compared with the update by the `pull_request` rule.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Approval {
    /// Where the collector found it (the envelope's object id), for messages.
    pub id: String,
    /// The envelope's signature; `identity` is the reviewer.
    pub signature: SignatureCheck,
    /// `targetRef`: the full ref name the approval is for.
    pub target_ref: String,
    /// `fromID`: the ref's tip the reviewer reviewed against (`None`: the ref did not exist).
    pub from_id: Option<String>,
    /// `targetID`: the tree the ref's new tip must have.
    pub target_tree: String,
    /// `patchID`: `git patch-id --stable` of the reviewed range, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patch_id: Option<String>,
    pub verdict: ApprovalVerdict,
    pub issued_at: Timestamp,
    /// `None`: it does not expire.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Timestamp>,
}

/// What a reviewer said.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalVerdict {
    #[default]
    Approve,
    /// Changes requested: blocks until the same reviewer approves or revokes.
    Reject,
    /// Withdraws the reviewer's earlier verdict on the same update.
    Revoke,
}

/// One `<old> <new> <ref>` line, with what the collector learned about it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct RefUpdate {
    /// Full ref name, e.g. `refs/heads/main`.
    pub name: String,
    /// Old object id; `None` when the ref is created.
    pub old: Option<String>,
    /// New object id; `None` when the ref is deleted.
    pub new: Option<String>,
    /// True when `old` is an ancestor of `new` (or the ref is created or deleted).
    pub fast_forward: bool,
    /// What `new` points at directly.
    pub new_kind: ObjectKind,
    /// Annotated tag object that `new` names, when it is one.
    pub tag: Option<Tag>,
    /// When `name` is a symbolic ref on the server: the refs it resolves to, nearest first.
    /// Pushing to it moves the last one, so the rulesets of every name apply.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resolves_to: Vec<String>,
    /// Commits new to this ref: reachable from `new`, not from `old` (for a created ref, not from
    /// the refs already governed by the same rulesets). Newest first, like `git rev-list`.
    /// Shared: a commit that several refs bring in is held once.
    pub commits: Vec<Arc<Commit>>,
    /// The tree of the new tip (a commit's tree), when a `pull_request` rule reads it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_tree: Option<String>,
    /// `git patch-id --stable` of the diff from the old tip to the new one, when a
    /// `pull_request` rule keeps approvals across rebases by patch-id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patch_id: Option<String>,
    /// Every path the commits new to the ref add, change or delete (each commit against its
    /// first parent), when a `pull_request` rule asks for code owners.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changed_paths: Vec<String>,
    /// The CODEOWNERS file of the ref's old tip (for a new ref: the default branch's), when a
    /// `pull_request` rule asks for code owners and there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_owners: Option<CodeOwnersFile>,
}

/// A CODEOWNERS file as the trusted state has it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct CodeOwnersFile {
    /// Where it was found (`.github/CODEOWNERS`, `CODEOWNERS`, ...).
    pub path: String,
    /// Its bytes.
    pub text: Vec<u8>,
}

impl RefUpdate {
    pub fn is_create(&self) -> bool {
        self.old.is_none() && self.new.is_some()
    }
    pub fn is_delete(&self) -> bool {
        self.new.is_none()
    }
    pub fn is_update(&self) -> bool {
        self.old.is_some() && self.new.is_some()
    }
}

/// Kind of object a ref points at.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ObjectKind {
    #[default]
    Commit,
    Tag,
    Tree,
    Blob,
    /// The ref is deleted.
    None,
}

/// A person line from a commit or tag header.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Person {
    pub name: String,
    pub email: String,
    pub time: Timestamp,
}

/// A commit, with its signature already verified by the daemon.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Commit {
    pub id: String,
    pub parents: Vec<String>,
    pub author: Person,
    pub committer: Person,
    /// First line of the message.
    pub subject: String,
    pub signature: SignatureCheck,
    /// Signed tags merged by this commit (`mergetag` headers), each verified.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mergetags: Vec<Tag>,
    /// For merges, when asked for: does the recorded tree equal the clean merge of the parents?
    /// `Some(false)` also when the parents do not merge cleanly (a conflict resolution).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clean_merge: Option<bool>,
    /// `Co-authored-by:` trailers of the message.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub co_authors: Vec<Person>,
}

/// A signed push (`git push --signed`): the push certificate git received.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct PushCertificate {
    /// The certificate blob's id.
    pub id: String,
    /// git's nonce check: `OK`, `BAD`, `MISSING`, `UNSOLICITED` or `SLOP`.
    pub nonce_status: String,
    /// The `pusher` line of the certificate.
    pub pusher: String,
    /// The ref updates the certificate signs are exactly the push's. A certificate of another
    /// push (an old one still in the object store) certifies nothing here.
    #[serde(default)]
    pub matches_push: bool,
    pub signature: SignatureCheck,
    /// The whole certificate as git stored it (header, ref updates, signature), for the audit
    /// log: anyone can re-verify it later with the pusher's key.
    #[serde(default)]
    pub text: String,
}

/// An annotated tag object.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Tag {
    pub id: String,
    /// The tag's name as written in the object.
    pub name: String,
    pub target: String,
    pub tagger: Option<Person>,
    pub signature: SignatureCheck,
}

/// Signature formats pushguard knows.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SignatureFormat {
    Openpgp,
    Ssh,
    X509,
}

/// What verifying one signature against the policy's keys found, before any identity or
/// authorization check (those are the engine's).
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum KeyVerdict {
    /// The signature is valid and made by a known key that was valid at receive time.
    Good,
    /// The object carries no signature.
    #[default]
    NoSignature,
    /// The signature does not match the signed payload (tampered or corrupt).
    BadSignature,
    /// No key in the policy made this signature.
    UnknownKey,
    /// The key had expired at receive time.
    ExpiredKey,
    /// The key is revoked.
    RevokedKey,
    /// The key's validity starts after receive time.
    KeyNotYetValid,
    /// The key is not allowed to make signatures (OpenPGP key flags).
    NotSigningKey,
    /// An SSH signature made for another namespace than `git`.
    WrongNamespace,
    /// A signature format pushguard does not verify.
    UnsupportedFormat,
    /// The signature could not be parsed.
    Malformed,
    /// The object is signed, but its signature was not verified: no rule of the ref it was
    /// pushed to reads signatures (the collector only verifies where a rule asks). A rule that
    /// reads it refuses the object: the collector failed to verify what the rule needed.
    NotVerified,
}

impl KeyVerdict {
    /// The engine's reason code for a signature the verifier refused; `None` for a good one.
    /// The one mapping from the verifier's verdicts to [`Code`]: wherever a verdict is stored
    /// or printed as a machine code (reports, records, `pushguard verify`), it is this code.
    pub fn refusal_code(self) -> Option<Code> {
        Some(match self {
            KeyVerdict::Good => return None,
            KeyVerdict::NoSignature => Code::NoSignature,
            KeyVerdict::BadSignature => Code::BadSignature,
            KeyVerdict::UnknownKey => Code::UnknownKey,
            KeyVerdict::ExpiredKey => Code::ExpiredKey,
            KeyVerdict::RevokedKey => Code::RevokedKey,
            KeyVerdict::KeyNotYetValid => Code::KeyNotYetValid,
            KeyVerdict::NotSigningKey => Code::NotSigningKey,
            KeyVerdict::WrongNamespace => Code::WrongNamespace,
            KeyVerdict::UnsupportedFormat => Code::UnsupportedFormat,
            KeyVerdict::Malformed => Code::MalformedSignature,
            KeyVerdict::NotVerified => Code::SignatureNotVerified,
        })
    }

    /// The verifier's own word for the verdict, as the crypto layer's tests and tables print
    /// it (`malformed` where the engine says `malformed_signature`). Not a reason code: store
    /// and print [`KeyVerdict::refusal_code`] (via `identity::ObjectVerdict`) instead.
    pub fn code(self) -> &'static str {
        match self {
            KeyVerdict::Good => "good",
            KeyVerdict::NoSignature => "no_signature",
            KeyVerdict::BadSignature => "bad_signature",
            KeyVerdict::UnknownKey => "unknown_key",
            KeyVerdict::ExpiredKey => "expired_key",
            KeyVerdict::RevokedKey => "revoked_key",
            KeyVerdict::KeyNotYetValid => "key_not_yet_valid",
            KeyVerdict::NotSigningKey => "not_signing_key",
            KeyVerdict::WrongNamespace => "wrong_namespace",
            KeyVerdict::UnsupportedFormat => "unsupported_format",
            KeyVerdict::Malformed => "malformed",
            KeyVerdict::NotVerified => "not_verified",
        }
    }
}

/// The result of verifying a commit's or tag's signature, produced by the daemon's crypto layer.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct SignatureCheck {
    pub verdict: KeyVerdict,
    pub format: Option<SignatureFormat>,
    /// Fingerprint of the signing key (OpenPGP hex fingerprint, SSH `SHA256:...`), when known.
    pub key: Option<String>,
    /// Name of the policy identity that owns the key, when the key is known.
    pub identity: Option<String>,
    /// Human detail for messages, e.g. "key expired on 2026-01-01". Never secret.
    pub detail: Option<String>,
    /// Signature creation time, when the format carries one.
    pub signed_at: Option<Timestamp>,
}

impl SignatureCheck {
    /// A check for an object that carries no signature.
    pub fn unsigned() -> Self {
        Self::default()
    }
}

/// One secret found in a blob that the push adds. Never holds the secret itself: only its
/// SHA-256, a fingerprint and a redacted prefix.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct SecretFinding {
    /// Detection rule id, e.g. `github-pat`.
    pub rule_id: String,
    pub description: String,
    /// Every ref update of the push that brings the blob in.
    pub refs: Vec<String>,
    /// The (oldest) new commit that adds the blob at `path`.
    pub commit: String,
    pub path: String,
    /// 1-based; 0 for file-name rules.
    pub line: u32,
    /// Stable across rebases: derived from the rule id and the secret's hash.
    pub fingerprint: String,
    /// Hex SHA-256 of the secret value.
    pub secret_sha256: String,
    /// At most 4 leading characters, then a mask.
    pub redacted: String,
    /// The same secret (rule and hash) is already in the base version of the file.
    pub legacy: bool,
    /// The detection rule ships as `warn` (shown, not blocking); a policy's
    /// `secrets.severity` overrides it either way.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub warn_by_default: bool,
}

/// A blob the scanner did not read because it is larger than `max_blob_size`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct OversizedBlob {
    /// Every ref update of the push that brings the blob in.
    pub refs: Vec<String>,
    pub commit: String,
    pub path: String,
    pub size: u64,
    /// How many leading bytes were scanned (`on_large_blob: scan_prefix`); 0 when none.
    #[serde(default)]
    pub scanned_bytes: u64,
}

/// A blob whose content the scanner could not read as text, or could not finish.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct UnscannedBlob {
    /// Every ref update of the push that brings the blob in.
    pub refs: Vec<String>,
    pub commit: String,
    pub path: String,
    /// Why, for the pusher: "binary", "an LFS pointer", ...
    pub reason: String,
}

/// What scanning the push's new blobs found.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct SecretScan {
    pub findings: Vec<SecretFinding>,
    pub oversized: Vec<OversizedBlob>,
    /// Blobs not read as text (binary, compressed, LFS pointers): shown, not blocking.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unscanned: Vec<UnscannedBlob>,
    /// Blobs whose scan stopped at a limit (too many candidates): the push cannot be cleared.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub incomplete: Vec<UnscannedBlob>,
    /// The per-push scan deadline ran out before every blob was read.
    pub deadline_expired: bool,
    pub blobs_scanned: u64,
    pub bytes_scanned: u64,
}
