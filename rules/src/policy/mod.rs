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
//!
//! `raw` is the serde mirror of the file; `yaml` reads it strictly. Each section of the file has
//! one module holding its validated types and its validation: `settings` (`settings:`,
//! `repositories:`), `identities`, `rulesets` (targets, ref patterns, bypass, rules and their
//! parameters), `secrets` (the `secret_scanning` rule, `secrets:`), `suppressions` and `trust`.
//! Dates are read by [`crate::calendar`]. Everything public is re-exported here.

mod identities;
mod raw;
mod rulesets;
mod secrets;
mod settings;
mod suppressions;
mod trust;
mod yaml;

use globset::{GlobBuilder, GlobMatcher};
use raw::{RawPolicy, S};
use serde::Serialize;

pub use crate::calendar::parse_date;
pub use identities::{Actor, Identity, KeySource, KeySpec};
pub use rulesets::{
    Attestation, IdentityBinding, NotIndependent, PullRequest, RefPattern, RuleSpec, Ruleset,
    Signatures, StaleReviews, Target, NO_APPROVAL_ROLE, WRITE_ROLES,
};
pub use secrets::{LargeBlob, SecretScanning, SecretSeverity, SecretsConfig};
pub use settings::{OnError, RepositorySettings, Settings};
pub use suppressions::{parse_suppressions, Suppression};
pub use trust::{SshCa, Trust};

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
        validate(yaml::yaml(text)?)
    }

    /// Does any ruleset scan for secrets?
    pub fn scans_secrets(&self) -> bool {
        self.rulesets.iter().any(|r| {
            r.rules
                .iter()
                .any(|x| matches!(x, RuleSpec::SecretScanning(_)))
        })
    }

    /// Does a ruleset ask for reviews (`pull_request`)? Then approvals are read, and the
    /// approvals namespace is guarded.
    pub fn reviews_changes(&self) -> bool {
        self.rulesets.iter().any(|r| {
            r.rules
                .iter()
                .any(|x| matches!(x, RuleSpec::PullRequest(_)))
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

fn glob(text: &str) -> Result<GlobMatcher, globset::Error> {
    Ok(GlobBuilder::new(text)
        .literal_separator(true)
        .backslash_escape(true)
        .build()?
        .compile_matcher())
}

/// The raw policy validated section by section; the first error ends it. Rulesets come after
/// identities (they name them); warnings are collected on the way.
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

    let settings = settings::validate(raw.settings.as_ref())?;
    let repositories = settings::validate_repositories(&raw.repositories)?;
    let (identities, roles_in_use) = identities::validate(&raw.identities)?;
    let actors = identities::Actors {
        identities: &identities,
        roles_in_use: &roles_in_use,
    };
    let rulesets = rulesets::validate(&raw.rulesets, &actors, &mut warnings)?;

    let pusher_env = match &raw.pusher {
        Some(p) if !p.env.is_empty() => p.env.iter().map(|s| s.value.clone()).collect(),
        _ => default_pusher_env(),
    };

    let secrets = secrets::validate(raw.secrets.as_ref())?;
    let trust = trust::validate(raw.trust.as_ref())?;
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
