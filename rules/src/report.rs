//! The engine's answer: a typed report. Renderers format it; nothing re-decides.

use serde::{Deserialize, Serialize};

/// Stable reason codes. They appear in JSON output and the audit log; never rename one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Code {
    /// The ref was force-pushed (old tip not an ancestor of the new one).
    NonFastForward,
    /// The ref was deleted.
    RefDeleted,
    /// The ref was created by someone not allowed to.
    RefCreated,
    /// The ref was moved by someone not allowed to.
    RefUpdated,
    /// A merge commit under `required_linear_history`.
    MergeCommit,
    /// A commit or tag without a signature.
    NoSignature,
    /// The signature does not match the signed content.
    BadSignature,
    /// Signed by a key the policy does not list.
    UnknownKey,
    ExpiredKey,
    RevokedKey,
    KeyNotYetValid,
    NotSigningKey,
    WrongNamespace,
    UnsupportedFormat,
    MalformedSignature,
    /// A signature a rule reads was not verified (never expected: the collector verifies
    /// every signature a rule of the ref reads); the object is refused rather than trusted.
    SignatureNotVerified,
    /// Signed by a known key, but the key's identity does not own the committer (tagger) email.
    IdentityMismatch,
    /// A lightweight tag where a signed annotated tag is required.
    LightweightTag,
    /// A secret in a blob the push adds.
    SecretDetected,
    /// A secret that is already in the base version of the file (does not block by default).
    SecretLegacy,
    /// A finding of a rule whose severity is `warn`: shown and audited, not blocking.
    SecretWarning,
    /// A blob larger than `max_blob_size`, with `on_large_blob: reject`.
    BlobTooLarge,
    /// A blob larger than `max_blob_size` that was not scanned (`on_large_blob: skip`).
    BlobSkipped,
    /// The secret scan ran out of time before reading every blob.
    ScanIncomplete,
    /// Signed by an identity that may not sign (or merge) here.
    NotAuthorized,
    /// A merge of more than two parents where only two are allowed.
    OctopusMerge,
    /// A merge whose tree is not the clean merge of its parents ("evil merge").
    MergeNotClean,
    /// `required_push_certificate` and the push is not signed.
    NoPushCertificate,
    /// The push certificate's nonce is not the one the server handed out.
    PushCertificateNonce,
    /// The push certificate's ref update lines are not the push's.
    PushCertificateMismatch,
    /// An annotated tag pushed under another name than its own (a replayed tag).
    TagNameMismatch,
    /// Fewer approvals from independent reviewers than the `pull_request` rule asks for.
    ApprovalsMissing,
    /// No counted approver may write to the ref (`require_write_approver`).
    WriteApprovalMissing,
    /// A reviewer independent of the change requested changes (a signed `reject`).
    ChangesRequested,
    /// A push to the approvals namespace that is not the pusher's own signed approval.
    ApprovalNotOwn,
    /// Changed paths without the approval of their code owners (CODEOWNERS).
    CodeOwnerApprovalMissing,
    /// A blob the scanner could not read as text (binary, compressed, an LFS pointer): shown,
    /// not blocking.
    BlobNotScanned,
}

impl Code {
    /// The code named by its snake_case spelling (as serialized); `None` for an unknown word.
    pub fn parse(s: &str) -> Option<Code> {
        use serde::de::IntoDeserializer;
        Code::deserialize(IntoDeserializer::<serde::de::value::Error>::into_deserializer(s)).ok()
    }

    /// The snake_case spelling, as serialized.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::NonFastForward => "non_fast_forward",
            Code::RefDeleted => "ref_deleted",
            Code::RefCreated => "ref_created",
            Code::RefUpdated => "ref_updated",
            Code::MergeCommit => "merge_commit",
            Code::NoSignature => "no_signature",
            Code::BadSignature => "bad_signature",
            Code::UnknownKey => "unknown_key",
            Code::ExpiredKey => "expired_key",
            Code::RevokedKey => "revoked_key",
            Code::KeyNotYetValid => "key_not_yet_valid",
            Code::NotSigningKey => "not_signing_key",
            Code::WrongNamespace => "wrong_namespace",
            Code::UnsupportedFormat => "unsupported_format",
            Code::MalformedSignature => "malformed_signature",
            Code::SignatureNotVerified => "signature_not_verified",
            Code::IdentityMismatch => "identity_mismatch",
            Code::LightweightTag => "lightweight_tag",
            Code::SecretDetected => "secret_detected",
            Code::SecretLegacy => "secret_legacy",
            Code::SecretWarning => "secret_warning",
            Code::BlobTooLarge => "blob_too_large",
            Code::BlobSkipped => "blob_skipped",
            Code::ScanIncomplete => "scan_incomplete",
            Code::NotAuthorized => "not_authorized",
            Code::OctopusMerge => "octopus_merge",
            Code::MergeNotClean => "merge_not_clean",
            Code::NoPushCertificate => "no_push_certificate",
            Code::PushCertificateNonce => "push_certificate_nonce",
            Code::PushCertificateMismatch => "push_certificate_mismatch",
            Code::TagNameMismatch => "tag_name_mismatch",
            Code::BlobNotScanned => "blob_not_scanned",
            Code::ApprovalsMissing => "approvals_missing",
            Code::WriteApprovalMissing => "write_approval_missing",
            Code::ChangesRequested => "changes_requested",
            Code::ApprovalNotOwn => "approval_not_own",
            Code::CodeOwnerApprovalMissing => "code_owner_approval_missing",
        }
    }
}

/// One broken rule on one ref (and commit, where it applies).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Violation {
    /// The rule's policy key, e.g. `required_signatures`.
    pub rule: String,
    /// The ruleset's name.
    pub ruleset: String,
    /// Full ref name.
    #[serde(rename = "ref")]
    pub ref_name: String,
    /// The id of the object the violation is about: a commit, an annotated tag or a push
    /// certificate, as `object` says. (Named `commit` in JSON since version 1.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// What kind of object `commit` names, and how the pusher knows it (a commit's subject,
    /// a tag's name). Set exactly when `commit` is.
    #[serde(default, flatten, skip_serializing_if = "Option::is_none")]
    pub object: Option<Subject>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    pub code: Code,
    /// What is wrong, in one sentence.
    pub message: String,
    /// How to fix it, in one sentence.
    pub fix: String,
    /// For secrets: which one, without its value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<SecretDetail>,
    /// For an explicit, audited bypass: the reason given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bypass_reason: Option<String>,
}

impl Violation {
    /// A violation of `rule` (of `ruleset`) on `ref_name`, about the ref as a whole.
    pub fn on_ref(
        rule: &str,
        ruleset: &str,
        ref_name: &str,
        code: Code,
        message: String,
        fix: String,
    ) -> Violation {
        Violation {
            rule: rule.to_string(),
            ruleset: ruleset.to_string(),
            ref_name: ref_name.to_string(),
            commit: None,
            object: None,
            path: None,
            line: None,
            code,
            message,
            fix,
            secret: None,
            bypass_reason: None,
        }
    }

    /// The same violation, about the object `id`.
    pub fn about(mut self, id: &str, object: Subject) -> Violation {
        self.commit = Some(id.to_string());
        self.object = Some(object);
        self
    }
}

/// The kind of object a violation is about, with what the pusher recognises it by. In JSON:
/// `"object": "commit" | "tag" | "push_certificate" | "other"` beside the violation's fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "object", rename_all = "snake_case")]
pub enum Subject {
    /// A commit, with the first line of its message when the change carries the commit.
    Commit {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        subject: Option<String>,
    },
    /// An annotated tag object, by the name written in it.
    Tag { tag: String },
    /// The push certificate of a signed push (the blob git keeps it in).
    PushCertificate,
    /// What a ref names when it is neither a commit nor an annotated tag the change describes
    /// (a lightweight tag on a tree or blob).
    Other { kind: crate::facts::ObjectKind },
}

/// A secret named without its value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretDetail {
    pub rule_id: String,
    pub description: String,
    /// At most 4 leading characters, then a mask.
    pub redacted: String,
    pub fingerprint: String,
}

/// The verdict on a whole change.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub allowed: bool,
    pub violations: Vec<Violation>,
    /// Violations let through because the pusher may bypass the ruleset; audited.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bypassed: Vec<Violation>,
    /// The policy identity the pusher was recognised as, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pusher_identity: Option<String>,
    /// The pusher identity comes from a verified push certificate (not the environment).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub pusher_certified: bool,
    /// Shown to the pusher, never blocking: legacy secrets, blobs not scanned.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<Violation>,
    /// Refs of the change that no ruleset governs (under any name a symbolic ref resolves to):
    /// nothing was checked on them, and nothing stops them. An outcome of its own, not an
    /// empty list of violations: see docs/policy-reference.md.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refs_without_ruleset: Vec<String>,
    /// Every approval a `pull_request` rule looked at, and whether it counts (and why not):
    /// what `pushguard approvals` lists.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub approvals: Vec<ApprovalStatus>,
}

/// How a `pull_request` rule judged one approval for one ref update.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalStatus {
    #[serde(rename = "ref")]
    pub ref_name: String,
    pub ruleset: String,
    /// The approval's object id.
    pub approval: String,
    /// The identity whose key signed it, when one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reviewer: Option<String>,
    pub verdict: crate::facts::ApprovalVerdict,
    /// It is its reviewer's standing verdict on this update.
    pub counts: bool,
    /// Why it does not count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
}

impl Report {
    /// Violations on one ref, for per-ref verdicts (`update` hook).
    pub fn for_ref(&self, ref_name: &str) -> Report {
        let pick = |v: &Vec<Violation>| -> Vec<Violation> {
            v.iter()
                .filter(|x| x.ref_name == ref_name)
                .cloned()
                .collect()
        };
        let violations = pick(&self.violations);
        Report {
            allowed: violations.is_empty(),
            violations,
            bypassed: pick(&self.bypassed),
            pusher_identity: self.pusher_identity.clone(),
            pusher_certified: self.pusher_certified,
            warnings: pick(&self.warnings),
            refs_without_ruleset: self
                .refs_without_ruleset
                .iter()
                .filter(|r| *r == ref_name)
                .cloned()
                .collect(),
            approvals: self
                .approvals
                .iter()
                .filter(|a| a.ref_name == ref_name)
                .cloned()
                .collect(),
        }
    }
}
