//! `rulesets:`: which refs each ruleset governs (targets, include and exclude patterns), who
//! may bypass it, and its rules with their parameters.

use globset::GlobMatcher;
use serde::Serialize;

use super::identities::{Actor, Actors};
use super::raw::{RawAttestation, RawPullRequest, RawRules, RawRuleset, S};
use super::secrets::SecretScanning;
use super::{glob, Location, PolicyError};

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
    pub(super) fn text(&self) -> &str {
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
    /// Signed approvals by enough reviewers independent of the change (four eyes).
    PullRequest(Box<PullRequest>),
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
            RuleSpec::PullRequest(_) => "pull_request",
        }
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

/// When an approval stops counting because the change moved on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StaleReviews {
    /// An approval binds to the exact base (the ref's old tip) and resulting tree.
    #[default]
    Strict,
    /// An approval also counts after a rebase when `git patch-id --stable` of the change is
    /// the one reviewed.
    PatchId,
}

/// Whose approvals do not count (`independent_of`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NotIndependent {
    Pusher,
    Authors,
    Committers,
    CoAuthors,
}

/// Parameters of `pull_request`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PullRequest {
    /// Distinct independent identities whose approval counts (default 2).
    pub required_approving_review_count: u32,
    pub dismiss_stale_reviews_on_push: StaleReviews,
    /// The pusher's own approval never counts (also when `independent_of` leaves the pusher out).
    pub require_last_push_approval: bool,
    /// At least one approver may write to the ref (default true).
    pub require_write_approver: bool,
    pub independent_of: Vec<NotIndependent>,
    /// Every changed path needs approval from its owners in CODEOWNERS (read from the ref's
    /// old tip: the change cannot name its own owners).
    pub require_code_owner_review: bool,
    pub code_owners_dialect: crate::codeowners::DialectSetting,
}

impl Default for PullRequest {
    fn default() -> Self {
        PullRequest {
            required_approving_review_count: 2,
            dismiss_stale_reviews_on_push: StaleReviews::Strict,
            require_last_push_approval: false,
            require_write_approver: true,
            independent_of: vec![
                NotIndependent::Pusher,
                NotIndependent::Authors,
                NotIndependent::Committers,
                NotIndependent::CoAuthors,
            ],
            require_code_owner_review: false,
            code_owners_dialect: crate::codeowners::DialectSetting::Auto,
        }
    }
}

/// Roles whose identities may write to a protected ref (when no `update` rule names who may):
/// CNCF's developer, maintainer and owner, and admin. A `reviewer` or `approver` reviews
/// without write access; a `guest` may not approve.
pub const WRITE_ROLES: [&str; 4] = ["developer", "maintainer", "owner", "admin"];

/// The role whose approvals never count.
pub const NO_APPROVAL_ROLE: &str = "guest";

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

fn pull_request(r: &RawPullRequest) -> Result<PullRequest, PolicyError> {
    let mut pr = PullRequest::default();
    if let Some(n) = &r.required_approving_review_count {
        if n.value == 0 || n.value > 10 {
            return Err(PolicyError::new(
                n,
                "required_approving_review_count must be 1 to 10 (without reviews, leave the rule out)",
            ));
        }
        pr.required_approving_review_count = n.value;
    }
    pr.require_code_owner_review = r.require_code_owner_review.unwrap_or(false);
    if let Some(d) = &r.code_owners_dialect {
        pr.code_owners_dialect = d
            .value
            .parse()
            .map_err(|e: crate::codeowners::UnknownDialect| PolicyError::new(d, e.to_string()))?;
    }
    if let Some(d) = &r.dismiss_stale_reviews_on_push {
        pr.dismiss_stale_reviews_on_push = match d.value.as_str() {
            "strict" => StaleReviews::Strict,
            "patch_id" => StaleReviews::PatchId,
            o => {
                return Err(PolicyError::new(
                    d,
                    format!("dismiss_stale_reviews_on_push must be strict or patch_id, not {o:?}"),
                ))
            }
        };
    }
    pr.require_last_push_approval = r.require_last_push_approval.unwrap_or(false);
    pr.require_write_approver = r.require_write_approver.unwrap_or(true);
    if let Some(list) = &r.independent_of {
        pr.independent_of = list
            .iter()
            .map(|w| match w.value.as_str() {
                "pusher" => Ok(NotIndependent::Pusher),
                "authors" => Ok(NotIndependent::Authors),
                "committers" => Ok(NotIndependent::Committers),
                "co_authors" => Ok(NotIndependent::CoAuthors),
                o => Err(PolicyError::new(
                    w,
                    format!("independent_of takes pusher, authors, committers and co_authors, not {o:?}"),
                )),
            })
            .collect::<Result<_, _>>()?;
    }
    Ok(pr)
}

/// `rulesets:`, in policy order.
pub(super) fn validate(
    raw: &[RawRuleset],
    actors: &Actors<'_>,
    warnings: &mut Vec<PolicyError>,
) -> Result<Vec<Ruleset>, PolicyError> {
    let mut rulesets: Vec<Ruleset> = Vec::new();
    for rs in raw {
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
        let mut include = rs
            .include
            .iter()
            .map(|s| ref_pattern(target, s))
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
            .map(|s| ref_pattern(target, s))
            .collect::<Result<Vec<_>, _>>()?;
        let bypass = rs
            .bypass
            .iter()
            .map(|s| actors.actor(s, warnings))
            .collect::<Result<Vec<_>, _>>()?;
        let rules = rule_specs(&rs.rules.value, actors, warnings)?;
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
    Ok(rulesets)
}

/// One `include` / `exclude` entry of a ruleset with `target`.
fn ref_pattern(target: Target, s: &S<String>) -> Result<RefPattern, PolicyError> {
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
            let matcher =
                glob(v).map_err(|e| PolicyError::new(s, format!("bad ref pattern: {e}")))?;
            Ok(RefPattern::Glob {
                text: v.to_string(),
                full,
                matcher,
            })
        }
    }
}

/// The rules of one ruleset, always in this order (not the order of the file).
fn rule_specs(
    r: &RawRules,
    actors: &Actors<'_>,
    warnings: &mut Vec<PolicyError>,
) -> Result<Vec<RuleSpec>, PolicyError> {
    let mut rules = Vec::new();
    if let Some(a) = &r.creation {
        rules.push(RuleSpec::Creation {
            allow: actors.allow(a, warnings)?,
        });
    }
    if let Some(a) = &r.update {
        rules.push(RuleSpec::Update {
            allow: actors.allow(a, warnings)?,
        });
    }
    if let Some(a) = &r.deletion {
        rules.push(RuleSpec::Deletion {
            allow: actors.allow(a, warnings)?,
        });
    }
    if let Some(a) = &r.non_fast_forward {
        rules.push(RuleSpec::NonFastForward {
            allow: actors.allow(a, warnings)?,
        });
    }
    if r.required_linear_history.is_some() {
        rules.push(RuleSpec::RequiredLinearHistory);
    }
    if let Some(sig) = &r.required_signatures {
        rules.push(RuleSpec::RequiredSignatures(signatures(
            &sig.identity,
            &sig.signers,
            &mut |s: &S<String>| actors.actor(s, warnings),
        )?));
    }
    if let Some(a) = &r.full_attestation {
        rules.push(RuleSpec::FullAttestation(Box::new(attestation(
            a,
            &mut |s: &S<String>| actors.actor(s, warnings),
        )?)));
    }
    if let Some(a) = &r.required_push_certificate {
        rules.push(RuleSpec::RequiredPushCertificate {
            allow: actors.allow(a, warnings)?,
        });
    }
    if let Some(pr) = &r.pull_request {
        rules.push(RuleSpec::PullRequest(Box::new(pull_request(pr)?)));
    }
    if let Some(sc) = &r.secret_scanning {
        rules.push(RuleSpec::SecretScanning(Box::new(
            super::secrets::secret_scanning(sc)?,
        )));
    }
    Ok(rules)
}
