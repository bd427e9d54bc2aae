//! The serde mirror of the policy file. Only the validation in `super` and its section modules
//! looks at these types: they are validated into [`super::Policy`] before anything uses them.
//! Unknown keys are errors.

use serde::Deserialize;
use serde_saphyr::Spanned;
use std::collections::BTreeMap;

pub(super) type S<T> = Spanned<T>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPolicy {
    pub version: S<u32>,
    #[serde(default)]
    pub settings: Option<RawSettings>,
    #[serde(default)]
    pub repositories: Vec<RawRepository>,
    #[serde(default)]
    pub identities: BTreeMap<String, S<RawIdentity>>,
    #[serde(default)]
    pub pusher: Option<RawPusher>,
    #[serde(default)]
    pub rulesets: Vec<RawRuleset>,
    #[serde(default)]
    pub secrets: Option<RawSecrets>,
    /// git's allowed_signers file as a source of SSH keys.
    #[serde(default)]
    pub allowed_signers: Option<S<String>>,
    #[serde(default)]
    pub trust: Option<RawTrust>,
}

/// Certificate authorities and signature settings.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTrust {
    #[serde(default)]
    pub x509_roots: Vec<S<String>>,
    /// Certificate revocation lists (PEM or DER) for the X.509 chains.
    #[serde(default)]
    pub x509_crls: Vec<S<String>>,
    #[serde(default)]
    pub ssh_cas: Vec<S<RawSshCa>>,
    /// OpenSSH KRLs or public key lists (git's `gpg.ssh.revocationFile`).
    #[serde(default)]
    pub ssh_revoked: Vec<S<String>>,
    #[serde(default)]
    pub sigstore: Option<RawSigstore>,
    #[serde(default)]
    pub sha1_cutoff: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSshCa {
    pub key: String,
    #[serde(default)]
    pub principals: Option<String>,
    #[serde(default)]
    pub namespaces: Option<String>,
    #[serde(default)]
    pub valid_after: Option<String>,
    #[serde(default)]
    pub valid_before: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSigstore {
    #[serde(default)]
    pub roots: Vec<S<String>>,
    #[serde(default)]
    pub rekor_keys: Vec<S<String>>,
    #[serde(default)]
    pub tsa_roots: Vec<S<String>>,
    #[serde(default)]
    pub trust_signing_time: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSecrets {
    #[serde(default)]
    pub gitleaks_config: Option<S<String>>,
    #[serde(default)]
    pub disabled_rules: Vec<S<String>>,
    /// Rule id -> `block` | `warn`.
    #[serde(default)]
    pub severity: std::collections::BTreeMap<String, S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSecretScanning {
    #[serde(default)]
    pub max_blob_size: Option<S<u64>>,
    #[serde(default)]
    pub on_large_blob: Option<S<String>>,
    #[serde(default)]
    pub deadline_seconds: Option<S<f64>>,
    #[serde(default)]
    pub on_deadline: Option<S<String>>,
    #[serde(default)]
    pub legacy: Option<S<String>>,
    #[serde(default)]
    pub suppressions: Vec<S<RawSuppression>>,
    #[serde(default)]
    pub suppressions_file: Option<S<String>>,
    #[serde(default)]
    pub baseline: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSuppression {
    #[serde(default)]
    pub fingerprint: Option<String>,
    #[serde(default)]
    pub rule: Option<String>,
    #[serde(default)]
    pub secret_sha256: Option<String>,
    #[serde(default)]
    pub path: Option<String>,
    pub reason: String,
    #[serde(default)]
    pub who: Option<String>,
    #[serde(default)]
    pub expires: Option<String>,
}

/// A suppressions file read from the protected base: `suppressions: [...]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSuppressionsFile {
    #[serde(default)]
    pub suppressions: Vec<S<RawSuppression>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSettings {
    #[serde(default)]
    pub on_error: Option<S<String>>,
    #[serde(default)]
    pub timeout_seconds: Option<S<f64>>,
    #[serde(default)]
    pub max_ref_updates: Option<S<u64>>,
    #[serde(default)]
    pub max_commits: Option<S<u64>>,
    #[serde(default)]
    pub tag_names_match_refs: Option<S<bool>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRepository {
    pub path: S<String>,
    #[serde(default)]
    pub on_error: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawIdentity {
    #[serde(default)]
    pub emails: Vec<S<String>>,
    #[serde(default)]
    pub usernames: Vec<S<String>>,
    #[serde(default)]
    pub keys: Vec<S<RawKey>>,
    #[serde(default)]
    pub roles: Vec<S<String>>,
    /// Principals of SSH certificates (issued by `trust.ssh_cas`) that name this identity.
    #[serde(default)]
    pub ssh_principals: Vec<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawKey {
    #[serde(default)]
    pub ssh: Option<String>,
    #[serde(default)]
    pub openpgp: Option<String>,
    /// The email of an X.509 (S/MIME, gpgsm) certificate chained to `trust.x509_roots`.
    #[serde(default)]
    pub x509: Option<String>,
    #[serde(default)]
    pub sigstore: Option<RawSigstoreKey>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSigstoreKey {
    pub san: String,
    pub issuer: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPusher {
    #[serde(default)]
    pub env: Vec<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRuleset {
    pub name: S<String>,
    pub target: S<String>,
    #[serde(default)]
    pub include: Vec<S<String>>,
    #[serde(default)]
    pub exclude: Vec<S<String>>,
    #[serde(default)]
    pub bypass: Vec<S<String>>,
    pub rules: S<RawRules>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRules {
    #[serde(default)]
    pub non_fast_forward: Option<RawAllow>,
    #[serde(default)]
    pub deletion: Option<RawAllow>,
    #[serde(default)]
    pub creation: Option<RawAllow>,
    #[serde(default)]
    pub update: Option<RawAllow>,
    #[serde(default)]
    pub required_linear_history: Option<RawEmpty>,
    #[serde(default)]
    pub required_signatures: Option<RawSignatures>,
    #[serde(default)]
    pub full_attestation: Option<RawAttestation>,
    #[serde(default)]
    pub required_push_certificate: Option<RawAllow>,
    #[serde(default)]
    pub secret_scanning: Option<RawSecretScanning>,
    #[serde(default)]
    pub pull_request: Option<RawPullRequest>,
}

/// `pull_request`: approvals by reviewers independent of the change (GitHub's names where
/// GitHub has the concept).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPullRequest {
    #[serde(default)]
    pub required_approving_review_count: Option<S<u32>>,
    #[serde(default)]
    pub require_code_owner_review: Option<bool>,
    /// github | gitlab | auto (default)
    #[serde(default)]
    pub code_owners_dialect: Option<S<String>>,
    /// strict (default) | patch_id
    #[serde(default)]
    pub dismiss_stale_reviews_on_push: Option<S<String>>,
    #[serde(default)]
    pub require_last_push_approval: Option<bool>,
    #[serde(default)]
    pub require_write_approver: Option<bool>,
    /// Whose approvals do not count: pusher, authors, committers, co_authors (default: all).
    #[serde(default)]
    pub independent_of: Option<Vec<S<String>>>,
}

/// `{}` or `{allow: [...]}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAllow {
    #[serde(default)]
    pub allow: Vec<S<String>>,
}

/// A rule without parameters: `{}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawEmpty {}

/// `required_signatures`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSignatures {
    /// committer (default) | author | any
    #[serde(default)]
    pub identity: Option<S<String>>,
    /// Who may sign objects reaching the ref (default: any identity).
    #[serde(default)]
    pub signers: Option<Vec<S<String>>>,
}

/// `full_attestation`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAttestation {
    #[serde(default)]
    pub identity: Option<S<String>>,
    #[serde(default)]
    pub signers: Option<Vec<S<String>>>,
    /// Who may sign merge commits.
    #[serde(default)]
    pub mergers: Vec<S<String>>,
    /// allow | reject (default)
    #[serde(default)]
    pub octopus: Option<S<String>>,
    #[serde(default)]
    pub clean_merge: Option<bool>,
    /// With clean_merge: accept a merge whose tree differs when a merger signed it.
    #[serde(default)]
    pub allow_signed_resolutions: Option<bool>,
}
