//! The facts collector: the only code that builds a `rules::Change`.
//!
//! Two ways in, one collector:
//! - [`from_hook`]: a hook's request. The request's hex ids are parsed here, once, into typed
//!   ids of the repository's hash; the repository is opened with git's quarantine.
//! - [`range_change`]: commits of a repository judged as if they were pushed to a ref (what
//!   `pushguard verify --ref` uses; the forge worker will too).
//!
//! Both read the repository through [`GitRead`] and verify signatures through
//! [`crypto::SignatureVerifier`], so the collector is unit-tested against
//! [`crate::git::fake::FakeRepo`] and `crypto::FakeVerifier` (see the tests below). It decides
//! nothing: every verdict is the engine's.

mod approvals;

pub use approvals::{ApprovalCache, APPROVALS_PREFIX};

use crate::budget::Budget;
use crate::bundle::PolicyBundle;
use crate::git::{self, GitRead, ObjectId, Quarantine, RepoReader, SignaturePart};
use crate::scan::{self, Limits, Pushed, Shape};
use anyhow::{bail, Context, Result};
use hooks::wire::{HookKind, HookRequest};
use rules::facts::{
    Change, Commit, ObjectKind, PushCertificate, RefUpdate, SignatureCheck, Tag, Timestamp,
};
use rules::policy::{LargeBlob, RuleSpec, SecretScanning, Suppression};
use rules::Policy;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tracing::warn;

/// What the collector needs besides the repository.
pub struct Inputs<'a> {
    pub policy: &'a Policy,
    /// Verifies every signature (the policy's keyring in the daemon).
    pub verifier: &'a dyn crypto::SignatureVerifier,
    /// Verifies reviewers' approval signatures (the same keyring, under the approvals' own
    /// SSH namespace); `None` where no approval is read (`verify --ref`).
    pub approvals: Option<&'a dyn crypto::approval::ApprovalVerifier>,
    /// Approvals verified lately, kept by the policy bundle.
    pub approval_cache: Option<&'a ApprovalCache>,
    /// The most approvals read for one ref (more: the push cannot be judged).
    pub max_approvals: usize,
    /// Compiled secret rules, when a ruleset scans for secrets.
    pub scanner: Option<&'a secrets::Scanner>,
    /// Receive time: keys are judged at this time.
    pub now: Timestamp,
    /// The work stops with an error once it runs out (the push is then rejected).
    pub budget: &'a Budget,
    /// Signatures already judged (by id of the commit or tag), used instead of verifying
    /// again: `verify` judges at the signature time and from the server's records.
    pub known: Option<&'a HashMap<ObjectId, SignatureCheck>>,
}

impl<'a> Inputs<'a> {
    /// The inputs of a loaded policy bundle.
    pub fn of(loaded: &'a PolicyBundle, now: Timestamp, budget: &'a Budget) -> Inputs<'a> {
        Inputs {
            policy: &loaded.policy,
            verifier: &loaded.keyring,
            approvals: Some(&loaded.keyring),
            approval_cache: Some(&loaded.approvals),
            max_approvals: approvals::MAX_APPROVALS_PER_REF,
            scanner: loaded.scanner.as_ref(),
            now,
            budget,
            known: None,
        }
    }
}

/// One ref update with typed ids (`None`: the ref is created, or deleted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Update {
    pub name: String,
    pub old: Option<ObjectId>,
    pub new: Option<ObjectId>,
}

/// A push as the collector takes it: the updates, and the environment the server gave the
/// hook (the pusher, push options, the push certificate).
#[derive(Debug, Clone)]
pub struct Push {
    /// Repository path or name, for messages and the audit log.
    pub repo: String,
    pub updates: Vec<Update>,
    pub env: BTreeMap<String, String>,
}

impl Update {
    /// An `<old> <new> <ref>` line as git gives it to a hook, its ids parsed as ids of `kind`
    /// (all zeros: none).
    pub fn parse(kind: git::HashKind, old: &str, new: &str, name: &str) -> Result<Update> {
        let id = |hex: &str| -> Result<Option<ObjectId>> {
            if !hex.is_empty() && hex.bytes().all(|b| b == b'0') {
                return Ok(None);
            }
            git::parse_id(kind, hex).map(Some)
        };
        Ok(Update {
            name: name.to_string(),
            old: id(old).with_context(|| format!("the update of {name}"))?,
            new: id(new).with_context(|| format!("the update of {name}"))?,
        })
    }
}

impl Push {
    /// A hook request's push, its ids parsed as ids of `kind`.
    pub fn from_request(req: &HookRequest, kind: git::HashKind) -> Result<Push> {
        Ok(Push {
            repo: req.git_dir.clone(),
            updates: req
                .updates
                .iter()
                .map(|u| Update::parse(kind, &u.old, &u.new, &u.name))
                .collect::<Result<_>>()?,
            env: req.env.clone(),
        })
    }
}

/// The facts of a hook's request: the repository opened with git's quarantine (pre-receive),
/// the request parsed, [`push_change`].
pub fn from_hook(
    loaded: &PolicyBundle,
    req: &HookRequest,
    now: Timestamp,
    budget: &Budget,
) -> Result<Change> {
    let git_dir = Path::new(&req.git_dir);
    let quarantine = match req.hook {
        HookKind::PreReceive => Quarantine::for_repo(git_dir, &req.env)?,
        // The update hook runs after git moved the objects out of quarantine.
        HookKind::Update => Quarantine::default(),
    };
    let reader = RepoReader::open(git_dir, &quarantine)?;
    let push = Push::from_request(req, reader.hash_kind())?;
    push_change(&reader, &Inputs::of(loaded, now, budget), &push)
}

/// Build the facts for a push.
pub fn push_change(git: &dyn GitRead, inputs: &Inputs<'_>, push: &Push) -> Result<Change> {
    let policy = inputs.policy;
    let settings = &policy.settings;
    if push.updates.len() as u64 > settings.max_ref_updates {
        bail!(
            "this push updates {} refs, more than the {} one push may (settings.max_ref_updates): push them in smaller groups",
            push.updates.len(),
            settings.max_ref_updates
        );
    }
    let pusher = policy
        .pusher_env
        .iter()
        .find_map(|name| push.env.get(name).filter(|v| !v.is_empty()).cloned());
    let mut collector = Collector::new(git, inputs);
    let mut updates = Vec::with_capacity(push.updates.len());
    let mut tips = Vec::with_capacity(push.updates.len());
    for u in &push.updates {
        inputs.budget.check()?;
        let (update, tip) = collector
            .update(u)
            .with_context(|| format!("cannot read the update of {}", u.name))?;
        updates.push(update);
        tips.push(tip);
    }
    let mut secrets = None;
    let mut base_suppressions = Vec::new();
    if let Some(scanner) = inputs.scanner {
        let rules = secret_rules(policy);
        let before: Vec<ObjectId> = collector.refs()?.iter().map(|(_, id)| *id).collect();
        let pushed: Vec<Pushed<'_>> = push
            .updates
            .iter()
            .zip(&tips)
            .filter_map(|(u, tip)| {
                tip.as_ref().map(|t| Pushed {
                    name: &u.name,
                    tip: t.id,
                    kind: t.kind,
                    commits: &t.commits,
                })
            })
            .collect();
        secrets = Some(
            scan::scan_push(
                git,
                scanner,
                &pushed,
                &before,
                &collector.shapes,
                limits(&rules),
                inputs.budget,
            )
            .context("secret scan failed")?,
        );
        let files: Vec<&str> = rules
            .iter()
            .filter_map(|r| r.suppressions_file.as_deref())
            .collect();
        if !files.is_empty() {
            base_suppressions = read_base_suppressions(&mut collector, &files);
        }
    }
    let push_certificate = push_certificate(&collector, &push.env, &push.updates)?;
    let approvals = if policy.reviews_changes() {
        let reviewed = std::mem::take(&mut collector.reviewed);
        let existing = collector.refs()?.clone();
        let verifier = inputs
            .approvals
            .context("a pull_request rule needs approvals, and no verifier was given")?;
        let cache = inputs.approval_cache;
        let mut found = approvals::read(
            git,
            verifier,
            cache,
            inputs.now,
            &reviewed,
            &existing,
            push,
            inputs.max_approvals,
        )
        .context("cannot read the approvals")?;
        // Approvals this push writes (a reviewer publishing theirs): the engine checks each
        // is the pusher's own.
        let more = approvals::pushed(git, verifier, cache, inputs.now, push, &found);
        found.extend(more);
        found
    } else {
        Vec::new()
    };
    Ok(Change {
        repo: push.repo.clone(),
        now: inputs.now,
        pusher,
        default_branch: collector.default_branch.clone(),
        push_options: push_options(&push.env),
        updates,
        secrets,
        base_suppressions,
        push_certificate,
        approvals,
    })
}

/// The facts of `commits` (newest first) judged as if pushed to a new ref `ref_name` whose tip
/// is the first of them: every one of them is new to the ref. No secret scan, no pusher.
pub fn range_change(
    git: &dyn GitRead,
    inputs: &Inputs<'_>,
    repo: &str,
    ref_name: &str,
    commits: &[ObjectId],
) -> Result<Change> {
    let mut collector = Collector::new(git, inputs);
    let names = [ref_name.to_string()];
    let default_branch = collector.default_branch.clone();
    let verify = rulesets(inputs.policy, default_branch.as_deref(), &names).1;
    let mut facts = Vec::with_capacity(commits.len());
    for id in commits {
        facts.push(collector.commit(*id, verify)?);
    }
    Ok(Change {
        repo: repo.to_string(),
        now: inputs.now,
        pusher: None,
        default_branch: collector.default_branch.clone(),
        push_options: Vec::new(),
        updates: vec![RefUpdate {
            name: ref_name.to_string(),
            old: None,
            new: commits.first().map(ObjectId::to_string),
            fast_forward: true,
            new_kind: ObjectKind::Commit,
            tag: None,
            resolves_to: Vec::new(),
            new_tree: match commits.first() {
                Some(tip) => Some(collector.tree_of(*tip)?.to_string()),
                None => None,
            },
            patch_id: None,
            changed_paths: Vec::new(),
            code_owners: None,
            commits: facts,
        }],
        secrets: None,
        base_suppressions: Vec::new(),
        push_certificate: None,
        approvals: Vec::new(),
    })
}

/// Limits for one scan, from the policy's `secret_scanning` rules (the strictest wins).
fn limits(rules: &[&SecretScanning]) -> Limits {
    Limits {
        max_blob_size: rules
            .iter()
            .map(|r| r.max_blob_size)
            .min()
            .unwrap_or(1 << 20),
        // Read the first bytes of a large blob unless every rule rejects or skips it.
        scan_prefix: rules
            .iter()
            .any(|r| r.on_large_blob == LargeBlob::ScanPrefix),
        deadline: Duration::from_millis(
            rules.iter().map(|r| r.deadline_ms).min().unwrap_or(10_000),
        ),
    }
}

/// The push certificate of a signed push (`GIT_PUSH_CERT` names its blob), verified with the
/// policy's keys; git's own verdict (`GIT_PUSH_CERT_STATUS`, from the server's gpg keyring) is
/// not used. The nonce status is git's: only git knows the nonce it handed out.
fn push_certificate(
    collector: &Collector<'_>,
    env: &BTreeMap<String, String>,
    updates: &[Update],
) -> Result<Option<PushCertificate>> {
    let Some(id) = env.get("GIT_PUSH_CERT").filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    let git = collector.git;
    let blob = git
        .blob(git.parse_id(id)?)
        .context("cannot read the push certificate")?;
    let pusher = String::from_utf8_lossy(&blob)
        .lines()
        .take_while(|l| !l.is_empty())
        .find_map(|l| l.strip_prefix("pusher "))
        .unwrap_or("")
        .to_string();
    let signed_end = git::signature_start(&blob);
    let signature = match signed_end {
        Some(at) => {
            collector
                .inputs
                .verifier
                .verify(&blob[at..], &blob[..at], collector.inputs.now)
        }
        None => SignatureCheck::unsigned(),
    };
    Ok(Some(PushCertificate {
        matches_push: certified_updates(&blob[..signed_end.unwrap_or(blob.len())], git.hash_kind())
            == actual_updates(updates),
        id: id.clone(),
        nonce_status: env
            .get("GIT_PUSH_CERT_NONCE_STATUS")
            .cloned()
            .unwrap_or_else(|| "MISSING".to_string()),
        pusher,
        signature,
        text: String::from_utf8_lossy(&blob).into_owned(),
    }))
}

type Certified = BTreeSet<(Option<ObjectId>, Option<ObjectId>, String)>;

/// The `<old> <new> <ref>` lines a push certificate signs (after its header), as a set; a line
/// whose ids do not parse is kept as something no push matches.
fn certified_updates(signed: &[u8], kind: git::HashKind) -> Option<Certified> {
    let text = String::from_utf8_lossy(signed);
    let id = |hex: &str| -> Option<Option<ObjectId>> {
        if hex.bytes().all(|b| b == b'0') {
            return Some(None);
        }
        git::parse_id(kind, hex).ok().map(Some)
    };
    let mut out = BTreeSet::new();
    for l in text
        .split_once("\n\n")
        .map(|(_, body)| body)
        .unwrap_or("")
        .lines()
    {
        let mut p = l.split(' ');
        if let (Some(o), Some(n), Some(r), None) = (p.next(), p.next(), p.next(), p.next()) {
            out.insert((id(o)?, id(n)?, r.to_string()));
        }
    }
    Some(out)
}

fn actual_updates(updates: &[Update]) -> Option<Certified> {
    Some(
        updates
            .iter()
            .map(|u| (u.old, u.new, u.name.clone()))
            .collect(),
    )
}

fn secret_rules(policy: &Policy) -> Vec<&SecretScanning> {
    policy
        .rulesets
        .iter()
        .flat_map(|r| r.rules.iter())
        .filter_map(|r| match r {
            RuleSpec::SecretScanning(s) => Some(s.as_ref()),
            _ => None,
        })
        .collect()
}

/// Suppression files as they are on the default branch before this push: the protected base,
/// never the pushed content. A file that cannot be read or parsed suppresses nothing.
fn read_base_suppressions(collector: &mut Collector<'_>, files: &[&str]) -> Vec<Suppression> {
    let Some(branch) = collector.default_branch.clone() else {
        return Vec::new();
    };
    let full = format!("refs/heads/{branch}");
    let tip = match collector.refs() {
        Ok(refs) => refs.iter().find(|(n, _)| *n == full).map(|(_, id)| *id),
        Err(_) => None,
    };
    let Some(tip) = tip else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for f in files {
        match collector.git.file_at(tip, f) {
            Ok(Some(bytes)) => {
                match rules::policy::parse_suppressions(&String::from_utf8_lossy(&bytes)) {
                    Ok(s) => out.extend(s),
                    Err(e) => warn!("{f} on {full}: {e}: its suppressions are ignored"),
                }
            }
            Ok(None) => {}
            Err(e) => warn!("cannot read {f} on {full}: {e:#}"),
        }
    }
    out
}

/// `GIT_PUSH_OPTION_COUNT` and `GIT_PUSH_OPTION_<n>`.
pub fn push_options(env: &BTreeMap<String, String>) -> Vec<String> {
    let n: usize = env
        .get("GIT_PUSH_OPTION_COUNT")
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (0..n.min(1000))
        .filter_map(|i| env.get(&format!("GIT_PUSH_OPTION_{i}")).cloned())
        .collect()
}

/// The rulesets that govern any of `names`, each once, and whether one of them needs
/// signatures verified.
fn rulesets<'p>(
    policy: &'p Policy,
    default_branch: Option<&'p str>,
    names: &'p [String],
) -> (Vec<&'p rules::policy::Ruleset>, bool) {
    let mut found: Vec<&rules::policy::Ruleset> = Vec::new();
    for name in names {
        for r in policy.rulesets_for(name, default_branch) {
            if !found.iter().any(|x| x.name == r.name) {
                found.push(r);
            }
        }
    }
    let verify = found
        .iter()
        .any(|r| r.rules.iter().any(RuleSpec::needs_signatures));
    (found, verify)
}

/// Where CODEOWNERS is looked for, first found wins: GitHub's places, then GitLab's.
const CODEOWNERS_LOCATIONS: [&str; 4] = [
    ".github/CODEOWNERS",
    "CODEOWNERS",
    "docs/CODEOWNERS",
    ".gitlab/CODEOWNERS",
];

/// Where a ref update's new value leads, for the secret scan.
struct Tip {
    id: ObjectId,
    kind: ObjectKind,
    commits: Vec<ObjectId>,
}

struct Collector<'a> {
    git: &'a dyn GitRead,
    inputs: &'a Inputs<'a>,
    /// `settings.max_commits`: the most distinct commits one push may make us read.
    max_commits: usize,
    default_branch: Option<String>,
    /// Existing refs, read once when first needed.
    refs: Option<Vec<(String, ObjectId)>>,
    /// Whether merges must be recomputed (a `full_attestation` rule with `clean_merge`).
    clean_merge: bool,
    /// Commits already read in this request, and whether their signature was verified. Each
    /// is held once however many refs bring it.
    commits: HashMap<ObjectId, (Arc<Commit>, bool)>,
    /// The tree and parents of every commit read, for the secret scan.
    shapes: HashMap<ObjectId, Shape>,
    /// Refs a `pull_request` rule governs that this push brings commits to: their approvals
    /// are read.
    reviewed: Vec<String>,
}

impl<'a> Collector<'a> {
    fn new(git: &'a dyn GitRead, inputs: &'a Inputs<'a>) -> Collector<'a> {
        let policy = inputs.policy;
        Collector {
            git,
            inputs,
            max_commits: usize::try_from(policy.settings.max_commits).unwrap_or(usize::MAX),
            default_branch: git.default_branch(),
            refs: None,
            clean_merge: policy
                .rulesets
                .iter()
                .flat_map(|r| r.rules.iter())
                .any(|r| matches!(r, RuleSpec::FullAttestation(a) if a.clean_merge)),
            commits: HashMap::new(),
            shapes: HashMap::new(),
            reviewed: Vec::new(),
        }
    }

    fn update(&mut self, u: &Update) -> Result<(RefUpdate, Option<Tip>)> {
        let git = self.git;
        let mut out = RefUpdate {
            name: u.name.clone(),
            old: u.old.map(|o| o.to_string()),
            new: u.new.map(|n| n.to_string()),
            fast_forward: true,
            new_kind: ObjectKind::None,
            tag: None,
            // Pushing to a symbolic ref (a `trunk` that points at `main`) moves its target.
            resolves_to: git.symref_targets(&u.name)?,
            commits: Vec::new(),
            new_tree: None,
            patch_id: None,
            changed_paths: Vec::new(),
            code_owners: None,
        };
        let Some(new) = u.new else {
            return Ok((out, None));
        };
        let names: Vec<String> = std::iter::once(u.name.clone())
            .chain(out.resolves_to.iter().cloned())
            .collect();
        let default_branch = self.default_branch.clone();
        let (governing, verify) = rulesets(self.inputs.policy, default_branch.as_deref(), &names);
        out.new_kind = git.kind(new)?;
        if out.new_kind == ObjectKind::Tag {
            let raw = git.tag(new)?;
            out.tag = Some(Tag {
                id: new.to_string(),
                signature: self.check(new, &raw.signature, verify),
                name: raw.name,
                target: raw.target.to_string(),
                tagger: raw.tagger,
            });
        }
        let (new_tip, new_tip_kind) = git.peel(new)?;
        let old_tip = match u.old {
            Some(o) => Some(git.peel(o)?),
            None => None,
        };
        if let Some((o, ObjectKind::Commit)) = old_tip {
            if new_tip_kind == ObjectKind::Commit {
                out.fast_forward = git.is_ancestor(o, new_tip)?;
            }
        } else if old_tip.is_some() {
            // A ref that named a tree or blob and now names something else: not a fast-forward.
            out.fast_forward = u.old == Some(new);
        }
        let mut tip = Tip {
            id: new_tip,
            kind: new_tip_kind,
            commits: Vec::new(),
        };
        if new_tip_kind != ObjectKind::Commit {
            return Ok((out, Some(tip)));
        }
        let hidden: Vec<ObjectId> = match old_tip {
            Some((o, ObjectKind::Commit)) => vec![o],
            _ => {
                // A created ref: hide what the refs governed by the same rulesets already hold,
                // so commits first parked on an unprotected branch are still checked. With
                // several rulesets, only refs governed by all of them are hidden (stricter).
                let refs = self.refs()?;
                refs.iter()
                    .filter(|(name, _)| !names.contains(name))
                    .filter(|(name, _)| {
                        governing
                            .iter()
                            .all(|r| r.applies_to(name, default_branch.as_deref()))
                    })
                    .map(|(_, id)| *id)
                    .collect()
            }
        };
        let budget = self.inputs.budget;
        tip.commits = git.new_commits(&[new_tip], &hidden, budget, self.max_commits)?;
        for (i, id) in tip.commits.iter().enumerate() {
            if i % 64 == 0 {
                budget.check()?;
            }
            out.commits.push(self.commit(*id, verify)?);
            if self.commits.len() > self.max_commits {
                bail!(git::TooManyCommits(self.max_commits));
            }
        }
        // Read already when the tip is new (the common case).
        out.new_tree = Some(self.tree_of(new_tip)?.to_string());
        // The `pull_request` rules of this ref: what they need read besides the commits.
        let reviews: Vec<&rules::policy::PullRequest> = governing
            .iter()
            .flat_map(|r| r.rules.iter())
            .filter_map(|r| match r {
                RuleSpec::PullRequest(pr) => Some(pr.as_ref()),
                _ => None,
            })
            .collect();
        let by_patch_id = reviews
            .iter()
            .any(|pr| pr.dismiss_stale_reviews_on_push == rules::policy::StaleReviews::PatchId);
        if let (true, Some((old, ObjectKind::Commit))) = (by_patch_id, old_tip) {
            out.patch_id = git.patch_id(old, new_tip)?;
        }
        let code_owners = reviews.iter().any(|pr| pr.require_code_owner_review);
        if code_owners && !out.commits.is_empty() {
            out.changed_paths = self.changed_paths(&tip.commits)?;
            // The owners come from before the push: the old tip, or for a new ref the default
            // branch. A change never names its own owners.
            let base = match old_tip {
                Some((o, ObjectKind::Commit)) => Some(o),
                _ => {
                    let default = self
                        .default_branch
                        .as_ref()
                        .map(|b| format!("refs/heads/{b}"));
                    self.refs()?
                        .iter()
                        .find(|(n, _)| Some(n) == default.as_ref())
                        .map(|(_, id)| *id)
                }
            };
            if let Some(base) = base {
                for path in CODEOWNERS_LOCATIONS {
                    if let Some(text) = git.file_at(base, path)? {
                        out.code_owners = Some(rules::facts::CodeOwnersFile {
                            path: path.to_string(),
                            text,
                        });
                        break;
                    }
                }
            }
        }
        if !reviews.is_empty() && !out.commits.is_empty() {
            for name in &names {
                if !self.reviewed.contains(name) {
                    self.reviewed.push(name.clone());
                }
            }
        }
        Ok((out, Some(tip)))
    }

    /// Every path the commits change, each against its first parent (the root commit: against
    /// nothing).
    fn changed_paths(&mut self, commits: &[ObjectId]) -> Result<Vec<String>> {
        let mut paths = std::collections::BTreeSet::new();
        for id in commits {
            let tree = self.tree_of(*id)?;
            let first_parent = self.shapes.get(id).and_then(|s| s.parents.first().copied());
            let base = match first_parent {
                Some(p) => Some(self.tree_of(p)?),
                None => None,
            };
            paths.extend(self.git.changed_paths(base, tree)?);
        }
        Ok(paths.into_iter().collect())
    }

    /// The tree of a commit: from the commits read already, else read.
    fn tree_of(&mut self, commit: ObjectId) -> Result<ObjectId> {
        if let Some(s) = self.shapes.get(&commit) {
            return Ok(s.tree);
        }
        let raw = self.git.commit(commit)?;
        self.shapes.insert(
            commit,
            Shape {
                tree: raw.tree,
                parents: raw.parents,
            },
        );
        Ok(raw.tree)
    }

    fn refs(&mut self) -> Result<&Vec<(String, ObjectId)>> {
        if self.refs.is_none() {
            self.refs = Some(self.git.refs()?);
        }
        Ok(self.refs.as_ref().expect("just filled"))
    }

    fn commit(&mut self, id: ObjectId, verify: bool) -> Result<Arc<Commit>> {
        if let Some((c, verified)) = self.commits.get(&id) {
            if *verified || !verify {
                return Ok(c.clone());
            }
        }
        let git = self.git;
        let raw = git.commit(id)?;
        let mut mergetags = Vec::new();
        for text in &raw.mergetags {
            let t = git::parse_tag(text, git.hash_kind())
                .with_context(|| format!("a mergetag in commit {id} cannot be parsed"))?;
            let tag_id = git::tag_id(git.hash_kind(), text)?;
            mergetags.push(Tag {
                id: tag_id.to_string(),
                signature: self.check(tag_id, &t.signature, verify),
                name: t.name,
                target: t.target.to_string(),
                tagger: t.tagger,
            });
        }
        let clean_merge = match raw.parents.as_slice() {
            [ours, theirs] if self.clean_merge => {
                Some(git.is_clean_merge(raw.tree, *ours, *theirs)?)
            }
            _ => None,
        };
        let c = Arc::new(Commit {
            id: id.to_string(),
            parents: raw.parents.iter().map(ObjectId::to_string).collect(),
            author: raw.author,
            committer: raw.committer,
            subject: raw.subject,
            signature: self.check(id, &raw.signature, verify),
            mergetags,
            clean_merge,
            co_authors: raw.co_authors,
        });
        self.shapes.insert(
            id,
            Shape {
                tree: raw.tree,
                parents: raw.parents,
            },
        );
        self.commits.insert(id, (c.clone(), verify));
        Ok(c)
    }

    /// The signature check of object `id`: known already, or verified now; a signature no
    /// rule of the ref asks for is not verified.
    fn check(&self, id: ObjectId, part: &SignaturePart, verify: bool) -> SignatureCheck {
        if let Some(known) = self.inputs.known.and_then(|k| k.get(&id)) {
            return known.clone();
        }
        match part {
            // No rule on this ref reads signatures: don't spend time verifying, and say so.
            SignaturePart::Signed { .. } if !verify => SignatureCheck {
                verdict: rules::KeyVerdict::NotVerified,
                ..SignatureCheck::default()
            },
            _ => part.check(self.inputs.verifier, self.inputs.now),
        }
    }
}

#[cfg(test)]
mod tests;
