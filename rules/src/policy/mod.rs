//! The policy: parsed from YAML, validated into typed values with file positions, then used.
//!
//! ```
//! let policy = rules::Policy::from_yaml(r#"
//! version: 1
//! rulesets:
//!   - name: protect-main
//!     target: branch
//!     include: [~DEFAULT_BRANCH, main]
//!     rules:
//!       non_fast_forward: {}
//!       deletion: {}
//! "#).expect("valid policy");
//! assert_eq!(policy.rulesets.len(), 1);
//! ```

mod raw;

use globset::{GlobBuilder, GlobMatcher};
use raw::{
    RawAllow, RawAttestation, RawPolicy, RawSecretScanning, RawSuppression, RawSuppressionsFile, S,
};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

pub use crate::calendar::parse_date;

/// The policy pushguard's daemon uses when it is started without `--policy`.
pub const DEFAULT_POLICY_YAML: &str = include_str!("default-policy.yaml");

/// A place in the policy file (1-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Location {
    pub line: u32,
    pub column: u32,
}

impl<T> From<&S<T>> for Location {
    fn from(s: &S<T>) -> Self {
        Location {
            line: u32::try_from(s.referenced.line()).unwrap_or(u32::MAX),
            column: u32::try_from(s.referenced.column()).unwrap_or(u32::MAX),
        }
    }
}

/// A policy that could not be loaded. Display gives `LINE:COLUMN: message`; callers put the
/// file name in front.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}:{}: {message}", at.line, at.column)]
pub struct PolicyError {
    pub at: Location,
    pub message: String,
}

impl PolicyError {
    fn new(at: impl Into<Location>, message: impl Into<String>) -> Self {
        PolicyError {
            at: at.into(),
            message: message.into(),
        }
    }
}

/// What the hook does when no verdict can be had (daemon down, timeout, internal error).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OnError {
    /// Reject the push (the default).
    #[default]
    FailClosed,
    /// Let the push through with a warning; the event is logged.
    FailOpen,
}

impl OnError {
    pub fn as_str(self) -> &'static str {
        match self {
            OnError::FailClosed => "fail_closed",
            OnError::FailOpen => "fail_open",
        }
    }
}

/// Global settings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Settings {
    pub on_error: OnError,
    /// How long the hook waits for the daemon's verdict, in milliseconds.
    pub timeout_ms: u64,
    /// The most ref updates one push may carry; a larger push is rejected unjudged.
    pub max_ref_updates: u64,
    /// The most commits one push may make the daemon judge (the commits new to each updated
    /// ref, each counted once); a larger push is rejected unjudged (push the history in parts,
    /// or raise the limit for a migration).
    pub max_commits: u64,
    /// An annotated tag pushed to `refs/tags/NAME` must be named NAME in its own `tag` header,
    /// so a signed tag cannot be replayed under another name (`v0.9` pushed as `v2.0`).
    pub tag_names_match_refs: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            on_error: OnError::FailClosed,
            timeout_ms: 10_000,
            max_ref_updates: 10_000,
            max_commits: 250_000,
            tag_names_match_refs: true,
        }
    }
}

/// Per-repository settings, chosen by a glob on the repository's path below the served root.
#[derive(Debug, Clone)]
pub struct RepositorySettings {
    pub path: String,
    matcher: GlobMatcher,
    pub on_error: Option<OnError>,
}

/// Where a key comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KeySource {
    /// An OpenSSH public key line.
    Ssh(String),
    /// Path of an OpenPGP certificate file; relative paths are relative to the policy file.
    Openpgp(String),
    /// The email an X.509 certificate (chained to `trust.x509_roots`) must carry.
    X509(String),
    /// A Sigstore (gitsign) identity: the certificate's subjectAltName and OIDC issuer.
    Sigstore { san: String, issuer: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeySpec {
    pub source: KeySource,
    pub at: Location,
}

/// A person or machine the policy knows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Identity {
    pub name: String,
    /// Lower-cased.
    pub emails: Vec<String>,
    /// Server user names (e.g. `GL_USER`) that name this identity, besides `name` itself.
    pub usernames: Vec<String>,
    pub keys: Vec<KeySpec>,
    pub roles: Vec<String>,
    /// SSH certificate principals that name this identity.
    pub ssh_principals: Vec<String>,
}

impl Identity {
    pub fn has_email(&self, email: &str) -> bool {
        let email = email.to_ascii_lowercase();
        self.emails.contains(&email)
    }
}

/// Who a rule's `allow` or a ruleset's `bypass` names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Actor {
    Identity(String),
    Role(String),
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::Identity(n) => f.write_str(n),
            Actor::Role(r) => write!(f, "role:{r}"),
        }
    }
}

/// What kind of refs a ruleset governs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    Branch,
    Tag,
    /// Every ref update of a push: branches, tags and other refs.
    Push,
    /// Any ref by its full name (`refs/replace/**`, `refs/notes/*`, `refs/meta/config`), with
    /// the rules for branches and tags.
    Ref,
}

impl Target {
    /// The ref namespace the target governs.
    pub fn prefix(self) -> &'static str {
        match self {
            Target::Branch => "refs/heads/",
            Target::Tag => "refs/tags/",
            Target::Push | Target::Ref => "refs/",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Target::Branch => "branch",
            Target::Tag => "tag",
            Target::Push => "push",
            Target::Ref => "ref",
        }
    }
}

/// One entry of `include` / `exclude`.
#[derive(Debug, Clone)]
pub enum RefPattern {
    /// `~DEFAULT_BRANCH`: the repository's default branch.
    DefaultBranch,
    /// `~ALL`: every ref of the target kind.
    All,
    /// A glob on the short name (`release/*`), or on the full name when it starts with `refs/`.
    /// `*` stays within one path component, `**` crosses them.
    Glob {
        text: String,
        full: bool,
        matcher: GlobMatcher,
    },
}

impl RefPattern {
    fn text(&self) -> &str {
        match self {
            RefPattern::DefaultBranch => "~DEFAULT_BRANCH",
            RefPattern::All => "~ALL",
            RefPattern::Glob { text, .. } => text,
        }
    }
}

/// A rule and its parameters. The names are the policy keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "rule")]
pub enum RuleSpec {
    /// Refuse updates where the old tip is not an ancestor of the new one.
    NonFastForward { allow: Vec<Actor> },
    /// Refuse deleting the ref.
    Deletion { allow: Vec<Actor> },
    /// Refuse creating the ref.
    Creation { allow: Vec<Actor> },
    /// Refuse moving the ref (creation and deletion are separate rules).
    Update { allow: Vec<Actor> },
    /// Refuse merge commits among the commits new to the ref.
    RequiredLinearHistory,
    /// Every commit new to the ref (for tags: the tag object) signed by a known identity's key,
    /// the identity owning the committer (tagger) email.
    RequiredSignatures(Signatures),
    /// Every commit new to the ref, through every parent of every merge, verifies; merges are
    /// signed by an identity allowed to merge; merged signed tags verify too.
    FullAttestation(Box<Attestation>),
    /// The push is signed (`git push --signed`) with a fresh nonce by a known identity.
    RequiredPushCertificate { allow: Vec<Actor> },
    /// No new secrets in the blobs the push adds.
    SecretScanning(Box<SecretScanning>),
}

impl RuleSpec {
    /// Does this rule read commit or tag signatures?
    pub fn needs_signatures(&self) -> bool {
        matches!(
            self,
            RuleSpec::RequiredSignatures(_) | RuleSpec::FullAttestation(_)
        )
    }
}

/// Whose email the signing key's identity must own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentityBinding {
    /// The committer's (tagger's) email: the default.
    #[default]
    Committer,
    /// The author's email (tagger for tags).
    Author,
    /// Any identity in the policy.
    Any,
}

/// Parameters of `required_signatures` (and the signature part of `full_attestation`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Signatures {
    pub identity: IdentityBinding,
    /// Who may sign objects reaching the ref; `None`: any identity.
    pub signers: Option<Vec<Actor>>,
}

/// Parameters of `full_attestation`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Attestation {
    pub signatures: Signatures,
    /// Who may sign merge commits (empty: nobody may merge).
    pub mergers: Vec<Actor>,
    /// Whether merges of more than two parents are allowed.
    pub octopus: bool,
    /// Recompute each merge and reject a tree that differs from the clean merge.
    pub clean_merge: bool,
    /// With `clean_merge`: a differing tree is accepted when a merger signed the merge.
    pub allow_signed_resolutions: bool,
}

/// What to do with a blob larger than `max_blob_size`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LargeBlob {
    /// Scan its first `max_blob_size` bytes and tell the pusher the rest was not read (the
    /// default).
    ScanPrefix,
    /// Skip it (file-name rules still apply); the pusher is told.
    Skip,
    /// Reject the push.
    Reject,
}

/// Parameters of `secret_scanning`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecretScanning {
    /// Blobs larger than this many bytes are not read (default 1 MiB).
    pub max_blob_size: u64,
    pub on_large_blob: LargeBlob,
    /// Time budget for scanning one push, in milliseconds (default 10 s).
    pub deadline_ms: u64,
    /// What happens when the budget runs out (default: reject).
    pub on_deadline: OnError,
    /// Whether secrets already in the base version of a file block too (default: no).
    pub block_legacy: bool,
    pub suppressions: Vec<Suppression>,
    /// A suppressions file read from the default branch as it was before the push.
    pub suppressions_file: Option<String>,
    /// A suppressions file on the server (relative to the policy file), e.g. the baseline
    /// `pushguard scan --git --write-baseline` writes when pushguard is adopted: read with the
    /// policy, its suppressions join `suppressions`.
    pub baseline: Option<(String, Location)>,
}

impl Default for SecretScanning {
    fn default() -> Self {
        SecretScanning {
            max_blob_size: 1 << 20,
            on_large_blob: LargeBlob::ScanPrefix,
            deadline_ms: 10_000,
            on_deadline: OnError::FailClosed,
            block_legacy: false,
            suppressions: Vec::new(),
            suppressions_file: None,
            baseline: None,
        }
    }
}

/// An accepted secret: it is reported as suppressed, never blocks. Identified by the secret
/// (rule and hash, or the fingerprint derived from them), so it survives rebases and squashes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Suppression {
    pub fingerprint: Option<String>,
    pub rule: Option<String>,
    pub secret_sha256: Option<String>,
    /// Only in paths matching this glob.
    pub path: Option<String>,
    pub reason: String,
    pub who: Option<String>,
    /// Unix time after which the suppression no longer applies.
    pub expires: Option<i64>,
}

impl Suppression {
    /// Does this suppression cover a secret with these properties at time `now`?
    pub fn covers(
        &self,
        fingerprint: &str,
        rule: &str,
        sha256: &str,
        path: &str,
        now: i64,
    ) -> bool {
        let secret = match (&self.fingerprint, &self.rule, &self.secret_sha256) {
            (Some(f), _, _) => f == fingerprint,
            (None, Some(r), Some(h)) => r == rule && h.eq_ignore_ascii_case(sha256),
            _ => false,
        };
        let path_ok = match &self.path {
            None => true,
            Some(g) => glob(g).map(|m| m.is_match(path)).unwrap_or(false),
        };
        let live = self.expires.is_none_or(|e| now < e);
        secret && path_ok && live
    }
}

/// An SSH certificate authority.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SshCa {
    pub key: String,
    pub principals: Option<String>,
    pub namespaces: Option<String>,
    pub valid_after: Option<i64>,
    pub valid_before: Option<i64>,
    pub at: Location,
}

/// Top-level `trust:`: certificate authorities and signature algorithm settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Trust {
    /// PEM files of X.509 roots (relative to the policy file), with where they are named.
    pub x509_roots: Vec<(String, Location)>,
    /// X.509 CRL files (PEM or DER), relative to the policy file.
    pub x509_crls: Vec<(String, Location)>,
    pub ssh_cas: Vec<SshCa>,
    /// SSH revocation files (OpenSSH KRL or public key lines), relative to the policy file.
    pub ssh_revoked: Vec<(String, Location)>,
    pub sigstore_roots: Vec<(String, Location)>,
    /// PEM public keys of the Rekor logs whose entries establish a gitsign signature's time.
    pub sigstore_rekor_keys: Vec<(String, Location)>,
    /// PEM roots of the RFC 3161 timestamping authorities whose tokens establish that time.
    pub sigstore_tsa_roots: Vec<(String, Location)>,
    pub sigstore_trust_signing_time: bool,
    /// OpenPGP SHA-1 signatures made before this time are accepted; none after.
    pub sha1_cutoff: Option<i64>,
}

/// Top-level `secrets:`: where the detection rules come from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SecretsConfig {
    /// A gitleaks TOML config (relative to the policy file) replacing or extending the built-in rules.
    pub gitleaks_config: Option<String>,
    pub gitleaks_config_at: Option<Location>,
    pub disabled_rules: Vec<String>,
    /// Per rule id: `block` or `warn`, overriding the rule's shipped severity. The rule ids are
    /// checked against the loaded rule set by whoever builds the scanner.
    pub severity: std::collections::BTreeMap<String, SecretSeverity>,
    /// Where each `severity` entry was written, for errors about unknown rule ids.
    pub severity_at: std::collections::BTreeMap<String, Location>,
}

/// Whether a secret rule's findings block a push.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SecretSeverity {
    Block,
    Warn,
}

fn suppression(s: &S<RawSuppression>) -> Result<Suppression, PolicyError> {
    let r = &s.value;
    let hexish = |v: &str| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit());
    match (&r.fingerprint, &r.rule, &r.secret_sha256) {
        (Some(_), None, None) => {}
        (None, Some(_), Some(h)) if hexish(h) => {}
        (None, Some(_), Some(_)) => {
            return Err(PolicyError::new(s, "secret_sha256 must be 64 hex digits"))
        }
        _ => {
            return Err(PolicyError::new(
                s,
                "a suppression names a secret by fingerprint, or by rule and secret_sha256",
            ))
        }
    }
    if let Some(p) = &r.path {
        glob(p).map_err(|e| PolicyError::new(s, format!("bad path glob: {e}")))?;
    }
    if r.reason.trim().is_empty() {
        return Err(PolicyError::new(s, "a suppression needs a reason"));
    }
    let expires = match &r.expires {
        None => None,
        Some(d) => Some(parse_date(d).ok_or_else(|| {
            PolicyError::new(s, format!("expires {d:?} is not a date (YYYY-MM-DD)"))
        })?),
    };
    Ok(Suppression {
        fingerprint: r.fingerprint.clone(),
        rule: r.rule.clone(),
        secret_sha256: r.secret_sha256.clone(),
        path: r.path.clone(),
        reason: r.reason.clone(),
        who: r.who.clone(),
        expires,
    })
}

/// Parse a suppressions file (`suppressions: [...]`), as read from the protected base.
pub fn parse_suppressions(text: &str) -> Result<Vec<Suppression>, PolicyError> {
    let raw: RawSuppressionsFile = yaml(text)?;
    raw.suppressions.iter().map(suppression).collect()
}

type ActorFn<'a> = dyn FnMut(&S<String>) -> Result<Actor, PolicyError> + 'a;

fn signatures(
    identity: &Option<S<String>>,
    signers: &Option<Vec<S<String>>>,
    actor: &mut ActorFn<'_>,
) -> Result<Signatures, PolicyError> {
    let identity = match identity {
        None => IdentityBinding::Committer,
        Some(v) => match v.value.as_str() {
            "committer" => IdentityBinding::Committer,
            "author" => IdentityBinding::Author,
            "any" => IdentityBinding::Any,
            o => {
                return Err(PolicyError::new(
                    v,
                    format!("identity must be committer, author or any, not {o:?}"),
                ))
            }
        },
    };
    let signers = match signers {
        None => None,
        Some(list) => Some(
            list.iter()
                .map(&mut *actor)
                .collect::<Result<Vec<_>, _>>()?,
        ),
    };
    Ok(Signatures { identity, signers })
}

fn attestation(r: &RawAttestation, actor: &mut ActorFn<'_>) -> Result<Attestation, PolicyError> {
    let signatures = signatures(&r.identity, &r.signers, actor)?;
    let mergers = r
        .mergers
        .iter()
        .map(&mut *actor)
        .collect::<Result<Vec<_>, _>>()?;
    let octopus = match &r.octopus {
        None => false,
        Some(v) => match v.value.as_str() {
            "allow" => true,
            "reject" => false,
            o => {
                return Err(PolicyError::new(
                    v,
                    format!("octopus must be allow or reject, not {o:?}"),
                ))
            }
        },
    };
    Ok(Attestation {
        signatures,
        mergers,
        octopus,
        clean_merge: r.clean_merge.unwrap_or(false),
        allow_signed_resolutions: r.allow_signed_resolutions.unwrap_or(false),
    })
}

fn secret_scanning(r: &RawSecretScanning) -> Result<SecretScanning, PolicyError> {
    let mut out = SecretScanning::default();
    if let Some(v) = &r.max_blob_size {
        if v.value == 0 {
            return Err(PolicyError::new(
                v,
                "max_blob_size must be positive (bytes)",
            ));
        }
        out.max_blob_size = v.value;
    }
    if let Some(v) = &r.on_large_blob {
        out.on_large_blob = match v.value.as_str() {
            "scan_prefix" => LargeBlob::ScanPrefix,
            "skip" => LargeBlob::Skip,
            "reject" => LargeBlob::Reject,
            o => {
                return Err(PolicyError::new(
                    v,
                    format!("on_large_blob must be scan_prefix, skip or reject, not {o:?}"),
                ))
            }
        };
    }
    if let Some(v) = &r.deadline_seconds {
        if !(v.value > 0.0 && v.value <= 600.0) {
            return Err(PolicyError::new(
                v,
                "deadline_seconds must be more than 0 and at most 600",
            ));
        }
        out.deadline_ms = (v.value * 1000.0).round() as u64;
    }
    if let Some(v) = &r.on_deadline {
        out.on_deadline = parse_on_error(v)?;
    }
    if let Some(v) = &r.legacy {
        out.block_legacy = match v.value.as_str() {
            "allow" => false,
            "block" => true,
            o => {
                return Err(PolicyError::new(
                    v,
                    format!("legacy must be allow or block, not {o:?}"),
                ))
            }
        };
    }
    out.suppressions = r
        .suppressions
        .iter()
        .map(suppression)
        .collect::<Result<_, _>>()?;
    if let Some(f) = &r.suppressions_file {
        let p = f.value.trim().trim_start_matches('/');
        if p.is_empty() || p.split('/').any(|c| c == "..") {
            return Err(PolicyError::new(
                f,
                "suppressions_file is a path inside the repository",
            ));
        }
        out.suppressions_file = Some(p.to_string());
    }
    if let Some(b) = &r.baseline {
        if b.value.trim().is_empty() {
            return Err(PolicyError::new(
                b,
                "baseline is a suppressions file (relative to the policy file)",
            ));
        }
        out.baseline = Some((b.value.trim().to_string(), Location::from(b)));
    }
    Ok(out)
}

impl RuleSpec {
    /// The rule's policy key.
    pub fn name(&self) -> &'static str {
        match self {
            RuleSpec::NonFastForward { .. } => "non_fast_forward",
            RuleSpec::Deletion { .. } => "deletion",
            RuleSpec::Creation { .. } => "creation",
            RuleSpec::Update { .. } => "update",
            RuleSpec::RequiredLinearHistory => "required_linear_history",
            RuleSpec::RequiredSignatures(_) => "required_signatures",
            RuleSpec::FullAttestation(_) => "full_attestation",
            RuleSpec::RequiredPushCertificate { .. } => "required_push_certificate",
            RuleSpec::SecretScanning(_) => "secret_scanning",
        }
    }
}

/// A named group of rules for a set of refs, like a GitHub repository ruleset.
#[derive(Debug, Clone)]
pub struct Ruleset {
    pub name: String,
    pub target: Target,
    pub include: Vec<RefPattern>,
    pub exclude: Vec<RefPattern>,
    pub bypass: Vec<Actor>,
    pub rules: Vec<RuleSpec>,
    pub at: Location,
}

impl Ruleset {
    /// Does this ruleset govern `ref_name` (a full ref name)?
    pub fn applies_to(&self, ref_name: &str, default_branch: Option<&str>) -> bool {
        let short = match self.target {
            Target::Push => ref_name
                .strip_prefix("refs/heads/")
                .or_else(|| ref_name.strip_prefix("refs/tags/"))
                .unwrap_or(ref_name),
            Target::Ref => ref_name,
            t => match ref_name.strip_prefix(t.prefix()) {
                Some(s) => s,
                None => return false,
            },
        };
        let hit = |p: &RefPattern| match p {
            RefPattern::DefaultBranch => default_branch == Some(short),
            RefPattern::All => true,
            RefPattern::Glob { full, matcher, .. } => {
                matcher.is_match(if *full { ref_name } else { short })
            }
        };
        self.include.iter().any(hit) && !self.exclude.iter().any(hit)
    }
}

/// A validated policy.
#[derive(Debug, Clone)]
pub struct Policy {
    pub settings: Settings,
    pub repositories: Vec<RepositorySettings>,
    /// Sorted by name.
    pub identities: Vec<Identity>,
    /// Environment variables naming the pusher; the first one set wins.
    pub pusher_env: Vec<String>,
    pub rulesets: Vec<Ruleset>,
    pub secrets: SecretsConfig,
    /// A git `allowed_signers` file (relative to the policy file) whose principals (emails or
    /// identity names) name the identities that own its keys.
    pub allowed_signers: Option<(String, Location)>,
    pub trust: Trust,
    /// Things that are allowed but probably mistakes (e.g. a role nobody has).
    pub warnings: Vec<PolicyError>,
}

impl Policy {
    /// The embedded default policy.
    pub fn default_policy() -> Policy {
        Policy::from_yaml(DEFAULT_POLICY_YAML)
            .expect("the embedded default policy is valid (tested)")
    }

    /// Parse and validate a policy file's text.
    pub fn from_yaml(text: &str) -> Result<Policy, PolicyError> {
        validate(yaml(text)?)
    }

    /// Does any ruleset scan for secrets?
    pub fn scans_secrets(&self) -> bool {
        self.rulesets.iter().any(|r| {
            r.rules
                .iter()
                .any(|x| matches!(x, RuleSpec::SecretScanning(_)))
        })
    }

    pub fn identity(&self, name: &str) -> Option<&Identity> {
        self.identities.iter().find(|i| i.name == name)
    }

    /// The identity a server user name stands for (its name or one of its `usernames`).
    pub fn identity_for_user(&self, user: &str) -> Option<&Identity> {
        self.identities
            .iter()
            .find(|i| i.name == user || i.usernames.iter().any(|u| u == user))
    }

    /// The identity that owns an email address.
    pub fn identity_for_email(&self, email: &str) -> Option<&Identity> {
        self.identities.iter().find(|i| i.has_email(email))
    }

    /// Does `actor` name this identity?
    pub fn actor_matches(actor: &Actor, identity: &Identity) -> bool {
        match actor {
            Actor::Identity(n) => *n == identity.name,
            Actor::Role(r) => identity.roles.iter().any(|x| x == r),
        }
    }

    /// The rulesets that govern `ref_name`, in policy order.
    pub fn rulesets_for<'a>(
        &'a self,
        ref_name: &'a str,
        default_branch: Option<&'a str>,
    ) -> impl Iterator<Item = &'a Ruleset> + 'a {
        self.rulesets
            .iter()
            .filter(move |r| r.applies_to(ref_name, default_branch))
    }

    /// What to do when no verdict can be had for the repository at `repo_path` (relative to the
    /// served root, `/`-separated).
    pub fn on_error_for(&self, repo_path: &str) -> OnError {
        self.repositories
            .iter()
            .rev()
            .find(|r| r.matcher.is_match(repo_path.trim_end_matches('/')))
            .and_then(|r| r.on_error)
            .unwrap_or(self.settings.on_error)
    }

    /// A short human summary for `pushguard policy check`.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        let keys: usize = self.identities.iter().map(|i| i.keys.len()).sum();
        out.push_str(&format!(
            "identities: {} ({} keys)\nrulesets: {}\n",
            self.identities.len(),
            keys,
            self.rulesets.len()
        ));
        for r in &self.rulesets {
            let inc: Vec<&str> = r.include.iter().map(RefPattern::text).collect();
            let rules: Vec<&str> = r.rules.iter().map(RuleSpec::name).collect();
            out.push_str(&format!(
                "  - {} ({}: {}): {}\n",
                r.name,
                match r.target {
                    Target::Branch => "branches",
                    Target::Tag => "tags",
                    Target::Push => "every ref",
                    Target::Ref => "refs",
                },
                inc.join(", "),
                rules.join(", ")
            ));
            if !r.exclude.is_empty() {
                let exc: Vec<&str> = r.exclude.iter().map(RefPattern::text).collect();
                out.push_str(&format!("      except: {}\n", exc.join(", ")));
            }
            if !r.bypass.is_empty() {
                let b: Vec<String> = r.bypass.iter().map(ToString::to_string).collect();
                out.push_str(&format!("      bypass: {}\n", b.join(", ")));
            }
        }
        out.push_str(&format!(
            "on error: {} (hook timeout {} ms)\n",
            self.settings.on_error.as_str(),
            self.settings.timeout_ms
        ));
        out
    }
}

/// Strict YAML: duplicate keys are errors, booleans are only true/false.
fn yaml<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, PolicyError> {
    let options = serde_saphyr::options! {
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::Error,
        strict_booleans: true,
    };
    serde_saphyr::from_str_with_options(text, options).map_err(|e| {
        let at = e
            .location()
            .map(|l| Location {
                line: u32::try_from(l.line()).unwrap_or(u32::MAX),
                column: u32::try_from(l.column()).unwrap_or(u32::MAX),
            })
            .unwrap_or(Location { line: 1, column: 1 });
        let opts = serde_saphyr::render_options! { snippets: serde_saphyr::SnippetMode::Off };
        PolicyError::new(at, strip_location_suffix(&e.render_with_options(opts)))
    })
}

/// serde-saphyr appends " at line L column C" to plain messages; we print the location first.
fn strip_location_suffix(msg: &str) -> String {
    // Also drop advice aimed at programmers using the YAML library.
    let msg = msg
        .trim()
        .replace(", set DuplicateKeyPolicy in Options if acceptable", "");
    let msg = msg.as_str();
    match msg.rfind(" at line ") {
        Some(i) if msg[i..].contains("column") => msg[..i].to_string(),
        _ => msg.to_string(),
    }
}

fn glob(text: &str) -> Result<GlobMatcher, globset::Error> {
    Ok(GlobBuilder::new(text)
        .literal_separator(true)
        .backslash_escape(true)
        .build()?
        .compile_matcher())
}

fn parse_on_error(s: &S<String>) -> Result<OnError, PolicyError> {
    match s.value.as_str() {
        "fail_closed" => Ok(OnError::FailClosed),
        "fail_open" => Ok(OnError::FailOpen),
        other => Err(PolicyError::new(
            s,
            format!("on_error must be fail_closed or fail_open, not {other:?}"),
        )),
    }
}

fn validate(raw: RawPolicy) -> Result<Policy, PolicyError> {
    if raw.version.value != 1 {
        return Err(PolicyError::new(
            &raw.version,
            format!(
                "unsupported policy version {}: this pushguard reads version 1",
                raw.version.value
            ),
        ));
    }
    let mut warnings = Vec::new();

    let mut settings = Settings::default();
    if let Some(s) = &raw.settings {
        if let Some(v) = &s.on_error {
            settings.on_error = parse_on_error(v)?;
        }
        if let Some(t) = &s.timeout_seconds {
            if !(t.value > 0.0 && t.value <= 600.0) {
                return Err(PolicyError::new(
                    t,
                    "timeout_seconds must be more than 0 and at most 600",
                ));
            }
            settings.timeout_ms = (t.value * 1000.0).round() as u64;
        }
        if let Some(n) = &s.max_ref_updates {
            if n.value == 0 {
                return Err(PolicyError::new(n, "max_ref_updates must be at least 1"));
            }
            settings.max_ref_updates = n.value;
        }
        if let Some(n) = &s.max_commits {
            if n.value == 0 {
                return Err(PolicyError::new(n, "max_commits must be at least 1"));
            }
            settings.max_commits = n.value;
        }
        if let Some(b) = &s.tag_names_match_refs {
            settings.tag_names_match_refs = b.value;
        }
    }

    let mut repositories = Vec::new();
    for r in &raw.repositories {
        let matcher = glob(r.path.value.trim_end_matches('/'))
            .map_err(|e| PolicyError::new(&r.path, format!("bad repository glob: {e}")))?;
        let on_error = r.on_error.as_ref().map(parse_on_error).transpose()?;
        repositories.push(RepositorySettings {
            path: r.path.value.clone(),
            matcher,
            on_error,
        });
    }

    let mut identities = Vec::new();
    let mut email_owner: BTreeMap<String, String> = BTreeMap::new();
    let mut user_owner: BTreeMap<String, String> = BTreeMap::new();
    let mut roles_in_use = BTreeSet::new();
    for (name, id) in &raw.identities {
        let at = Location::from(id);
        if name.is_empty() || name.starts_with("role:") || name.contains(char::is_whitespace) {
            return Err(PolicyError::new(
                at,
                format!("identity name {name:?} must be non-empty, without spaces, and not start with role:"),
            ));
        }
        let id = &id.value;
        let mut emails = Vec::new();
        for e in &id.emails {
            let email = e.value.trim().to_ascii_lowercase();
            if !email.contains('@') {
                return Err(PolicyError::new(
                    e,
                    format!("{:?} is not an email address", e.value),
                ));
            }
            if let Some(other) = email_owner.insert(email.clone(), name.clone()) {
                if other != *name {
                    return Err(PolicyError::new(
                        e,
                        format!("email {email} is listed for both {other} and {name}: an email belongs to one identity"),
                    ));
                }
            }
            emails.push(email);
        }
        let mut usernames = Vec::new();
        for u in &id.usernames {
            if let Some(other) = user_owner.insert(u.value.clone(), name.clone()) {
                if other != *name {
                    return Err(PolicyError::new(
                        u,
                        format!(
                            "user name {} is listed for both {other} and {name}",
                            u.value
                        ),
                    ));
                }
            }
            usernames.push(u.value.clone());
        }
        let mut keys = Vec::new();
        for k in &id.keys {
            let kv = &k.value;
            let given = [
                kv.ssh.is_some(),
                kv.openpgp.is_some(),
                kv.x509.is_some(),
                kv.sigstore.is_some(),
            ]
            .iter()
            .filter(|b| **b)
            .count();
            if given != 1 {
                return Err(PolicyError::new(
                    k,
                    "each key is exactly one of {ssh: \"<public key line>\"}, {openpgp: <certificate file>}, {x509: <email>} or {sigstore: {san, issuer}}",
                ));
            }
            let source = match (&k.value.ssh, &k.value.openpgp) {
                _ if kv.x509.is_some() => {
                    let e = kv.x509.as_deref().unwrap_or_default().trim().to_ascii_lowercase();
                    if !e.contains('@') {
                        return Err(PolicyError::new(k, format!("x509: {e:?} is not an email address")));
                    }
                    KeySource::X509(e)
                }
                _ if kv.sigstore.is_some() => {
                    let sg = kv.sigstore.as_ref().expect("checked just above");
                    if sg.san.trim().is_empty() || !sg.issuer.starts_with("https://") {
                        return Err(PolicyError::new(k, "sigstore needs san (email or URI) and issuer (an https:// OIDC issuer URL)"));
                    }
                    KeySource::Sigstore { san: sg.san.trim().to_string(), issuer: sg.issuer.trim().to_string() }
                }
                (Some(s), None) => {
                    let s = s.trim();
                    if s.split_whitespace().count() < 2 {
                        return Err(PolicyError::new(
                            k,
                            "ssh key must be an OpenSSH public key line: \"ssh-ed25519 AAAA... comment\"",
                        ));
                    }
                    KeySource::Ssh(s.to_string())
                }
                (None, Some(p)) if !p.trim().is_empty() => KeySource::Openpgp(p.trim().to_string()),
                _ => {
                    return Err(PolicyError::new(
                        k,
                        "each key is either {ssh: \"<public key line>\"} or {openpgp: <certificate file>}",
                    ))
                }
            };
            keys.push(KeySpec {
                source,
                at: Location::from(k),
            });
        }
        let roles: Vec<String> = id.roles.iter().map(|r| r.value.clone()).collect();
        roles_in_use.extend(roles.iter().cloned());
        let ssh_principals = id.ssh_principals.iter().map(|p| p.value.clone()).collect();
        identities.push(Identity {
            name: name.clone(),
            emails,
            usernames,
            keys,
            roles,
            ssh_principals,
        });
    }
    // A user name must not name a different identity than the one whose name it is.
    for (user, owner) in &user_owner {
        if identities
            .iter()
            .any(|i| i.name == *user && i.name != *owner)
        {
            return Err(PolicyError::new(
                Location { line: 1, column: 1 },
                format!(
                    "user name {user} of identity {owner} is also the name of another identity"
                ),
            ));
        }
    }

    let actor = |s: &S<String>, warnings: &mut Vec<PolicyError>| -> Result<Actor, PolicyError> {
        let v = s.value.trim();
        if let Some(role) = v.strip_prefix("role:") {
            if role.is_empty() {
                return Err(PolicyError::new(
                    s,
                    "role: needs a name, e.g. role:maintainer",
                ));
            }
            if !roles_in_use.contains(role) {
                warnings.push(PolicyError::new(s, format!("no identity has role {role}")));
            }
            Ok(Actor::Role(role.to_string()))
        } else if identities.iter().any(|i| i.name == v) {
            Ok(Actor::Identity(v.to_string()))
        } else {
            Err(PolicyError::new(
                s,
                format!("unknown identity {v:?}: define it under identities, or write role:NAME"),
            ))
        }
    };
    let allow =
        |a: &RawAllow, warnings: &mut Vec<PolicyError>| -> Result<Vec<Actor>, PolicyError> {
            a.allow.iter().map(|s| actor(s, warnings)).collect()
        };

    let mut rulesets: Vec<Ruleset> = Vec::new();
    for rs in &raw.rulesets {
        let name = rs.name.value.trim().to_string();
        if name.is_empty() {
            return Err(PolicyError::new(&rs.name, "ruleset name is empty"));
        }
        if rulesets.iter().any(|r| r.name == name) {
            return Err(PolicyError::new(
                &rs.name,
                format!("two rulesets are named {name:?}"),
            ));
        }
        let target = match rs.target.value.as_str() {
            "branch" => Target::Branch,
            "tag" => Target::Tag,
            "push" => Target::Push,
            "ref" => Target::Ref,
            other => {
                return Err(PolicyError::new(
                    &rs.target,
                    format!("target must be branch, tag, push or ref, not {other:?}"),
                ))
            }
        };
        let pattern = |s: &S<String>| -> Result<RefPattern, PolicyError> {
            let v = s.value.trim();
            match v {
                "~DEFAULT_BRANCH" if matches!(target, Target::Branch | Target::Push) => {
                    Ok(RefPattern::DefaultBranch)
                }
                "~DEFAULT_BRANCH" => Err(PolicyError::new(
                    s,
                    "~DEFAULT_BRANCH only makes sense in a ruleset with target: branch or push",
                )),
                "~ALL" => Ok(RefPattern::All),
                "" => Err(PolicyError::new(s, "empty ref pattern")),
                _ if v.starts_with('~') => Err(PolicyError::new(
                    s,
                    format!("unknown special pattern {v}: use ~DEFAULT_BRANCH or ~ALL"),
                )),
                _ if target == Target::Ref && !v.starts_with("refs/") => Err(PolicyError::new(
                    s,
                    format!("{v}: a ruleset with target: ref takes full ref names (refs/...)"),
                )),
                _ => {
                    let full = v.starts_with("refs/");
                    if full && !v.starts_with(target.prefix()) {
                        return Err(PolicyError::new(
                            s,
                            format!(
                                "{v} can never match: this ruleset governs {}*",
                                target.prefix()
                            ),
                        ));
                    }
                    let matcher = glob(v)
                        .map_err(|e| PolicyError::new(s, format!("bad ref pattern: {e}")))?;
                    Ok(RefPattern::Glob {
                        text: v.to_string(),
                        full,
                        matcher,
                    })
                }
            }
        };
        let mut include = rs
            .include
            .iter()
            .map(pattern)
            .collect::<Result<Vec<_>, _>>()?;
        if include.is_empty() && target == Target::Push {
            include.push(RefPattern::All);
        }
        if include.is_empty() {
            return Err(PolicyError::new(
                &rs.name,
                format!("ruleset {name} has no include patterns, so it would govern no ref"),
            ));
        }
        let exclude = rs
            .exclude
            .iter()
            .map(pattern)
            .collect::<Result<Vec<_>, _>>()?;
        let bypass = rs
            .bypass
            .iter()
            .map(|s| actor(s, &mut warnings))
            .collect::<Result<Vec<_>, _>>()?;
        let r = &rs.rules.value;
        let mut rules = Vec::new();
        if let Some(a) = &r.creation {
            rules.push(RuleSpec::Creation {
                allow: allow(a, &mut warnings)?,
            });
        }
        if let Some(a) = &r.update {
            rules.push(RuleSpec::Update {
                allow: allow(a, &mut warnings)?,
            });
        }
        if let Some(a) = &r.deletion {
            rules.push(RuleSpec::Deletion {
                allow: allow(a, &mut warnings)?,
            });
        }
        if let Some(a) = &r.non_fast_forward {
            rules.push(RuleSpec::NonFastForward {
                allow: allow(a, &mut warnings)?,
            });
        }
        if r.required_linear_history.is_some() {
            rules.push(RuleSpec::RequiredLinearHistory);
        }
        if let Some(sig) = &r.required_signatures {
            rules.push(RuleSpec::RequiredSignatures(signatures(
                &sig.identity,
                &sig.signers,
                &mut |s: &S<String>| actor(s, &mut warnings),
            )?));
        }
        if let Some(a) = &r.full_attestation {
            rules.push(RuleSpec::FullAttestation(Box::new(attestation(
                a,
                &mut |s: &S<String>| actor(s, &mut warnings),
            )?)));
        }
        if let Some(a) = &r.required_push_certificate {
            rules.push(RuleSpec::RequiredPushCertificate {
                allow: allow(a, &mut warnings)?,
            });
        }
        if let Some(sc) = &r.secret_scanning {
            rules.push(RuleSpec::SecretScanning(Box::new(secret_scanning(sc)?)));
        }
        if target == Target::Push {
            if let Some(other) = rules.iter().find(|r| {
                !matches!(
                    r,
                    RuleSpec::SecretScanning(_) | RuleSpec::RequiredPushCertificate { .. }
                )
            }) {
                return Err(PolicyError::new(
                    &rs.rules,
                    format!(
                        "{} is a rule for branches or tags; a ruleset with target: push holds secret_scanning and required_push_certificate only",
                        other.name()
                    ),
                ));
            }
        }
        if rules.is_empty() {
            return Err(PolicyError::new(
                &rs.rules,
                format!("ruleset {name} has no rules"),
            ));
        }
        rulesets.push(Ruleset {
            name,
            target,
            include,
            exclude,
            bypass,
            rules,
            at: Location::from(&rs.name),
        });
    }

    let pusher_env = match &raw.pusher {
        Some(p) if !p.env.is_empty() => p.env.iter().map(|s| s.value.clone()).collect(),
        _ => default_pusher_env(),
    };

    let mut secrets = SecretsConfig::default();
    if let Some(sc) = &raw.secrets {
        if let Some(f) = &sc.gitleaks_config {
            secrets.gitleaks_config = Some(f.value.clone());
            secrets.gitleaks_config_at = Some(Location::from(f));
        }
        secrets.disabled_rules = sc.disabled_rules.iter().map(|s| s.value.clone()).collect();
        for (rule, level) in &sc.severity {
            let sev = match level.value.as_str() {
                "block" => SecretSeverity::Block,
                "warn" => SecretSeverity::Warn,
                other => {
                    return Err(PolicyError::new(
                        level,
                        format!("severity of {rule:?} is {other:?}: use block or warn"),
                    ))
                }
            };
            secrets.severity.insert(rule.clone(), sev);
            secrets
                .severity_at
                .insert(rule.clone(), Location::from(level));
        }
    }

    let mut trust = Trust::default();
    if let Some(t) = &raw.trust {
        trust.x509_roots = located(&t.x509_roots);
        trust.x509_crls = located(&t.x509_crls);
        trust.ssh_revoked = located(&t.ssh_revoked);
        for ca in &t.ssh_cas {
            let c = &ca.value;
            let date = |d: &Option<String>| -> Result<Option<i64>, PolicyError> {
                d.as_ref()
                    .map(|d| {
                        parse_date(d).ok_or_else(|| {
                            PolicyError::new(ca, format!("{d:?} is not a date (YYYY-MM-DD)"))
                        })
                    })
                    .transpose()
            };
            if c.key.split_whitespace().count() < 2 {
                return Err(PolicyError::new(
                    ca,
                    "key must be the CA's OpenSSH public key line",
                ));
            }
            trust.ssh_cas.push(SshCa {
                key: c.key.trim().to_string(),
                principals: c.principals.clone(),
                namespaces: c.namespaces.clone(),
                valid_after: date(&c.valid_after)?,
                valid_before: date(&c.valid_before)?,
                at: Location::from(ca),
            });
        }
        if let Some(sg) = &t.sigstore {
            trust.sigstore_roots = located(&sg.roots);
            trust.sigstore_rekor_keys = located(&sg.rekor_keys);
            trust.sigstore_tsa_roots = located(&sg.tsa_roots);
            trust.sigstore_trust_signing_time = sg.trust_signing_time.unwrap_or(false);
        }
        if let Some(c) = &t.sha1_cutoff {
            trust.sha1_cutoff = Some(parse_date(&c.value).ok_or_else(|| {
                PolicyError::new(
                    c,
                    format!("sha1_cutoff {:?} is not a date (YYYY-MM-DD)", c.value),
                )
            })?);
        }
    }
    let allowed_signers = raw
        .allowed_signers
        .as_ref()
        .map(|f| (f.value.clone(), Location::from(f)));

    Ok(Policy {
        settings,
        repositories,
        identities,
        pusher_env,
        rulesets,
        secrets,
        allowed_signers,
        trust,
        warnings,
    })
}

/// Where common git servers put the authenticated user name.
pub fn default_pusher_env() -> Vec<String> {
    [
        "PUSHGUARD_USER",
        "GL_USERNAME",
        "GL_USER",
        "GITEA_PUSHER_NAME",
        "REMOTE_USER",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// File names as written in the policy, with where each is written (for errors).
fn located(files: &[S<String>]) -> Vec<(String, Location)> {
    files
        .iter()
        .map(|f| (f.value.clone(), Location::from(f)))
        .collect()
}
