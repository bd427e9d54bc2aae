//! Facts assembly for a push: from the hook's request and the repository to a `rules::Change`.
//! The only code that knows both git and the engine.

use crate::budget::Budget;
use crate::git::{Quarantine, RepoReader, SignaturePart};
use crate::scan::{self, Limits};
use crate::state::Loaded;
use anyhow::{bail, Context, Result};
use gix::ObjectId;
use hooks::wire::{HookKind, HookRequest, WireUpdate};
use rules::facts::{
    Change, Commit, ObjectKind, PushCertificate, RefUpdate, SignatureCheck, Tag, Timestamp,
};
use rules::policy::RuleSpec;
use rules::policy::{LargeBlob, SecretScanning, Suppression};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tracing::warn;

/// Build the facts for a hook request. `now` is the receive time; the work stops with an error
/// once `budget` runs out (the push is then rejected, never let through).
pub fn push_change(
    loaded: &Loaded,
    req: &HookRequest,
    now: Timestamp,
    budget: &Budget,
) -> Result<Change> {
    let policy = &loaded.policy;
    let settings = &policy.settings;
    if req.updates.len() as u64 > settings.max_ref_updates {
        bail!(
            "this push updates {} refs, more than the {} one push may (settings.max_ref_updates): push them in smaller groups",
            req.updates.len(),
            settings.max_ref_updates
        );
    }
    let quarantine = match req.hook {
        HookKind::PreReceive => Quarantine::for_repo(Path::new(&req.git_dir), &req.env)?,
        // The update hook runs after git moved the objects out of quarantine.
        HookKind::Update => Quarantine::default(),
    };
    let reader = RepoReader::open(Path::new(&req.git_dir), &quarantine)?;
    let pusher = policy
        .pusher_env
        .iter()
        .find_map(|name| req.env.get(name).filter(|v| !v.is_empty()).cloned());
    let mut collector = Collector {
        loaded,
        reader: &reader,
        now,
        budget,
        max_commits: usize::try_from(settings.max_commits).unwrap_or(usize::MAX),
        default_branch: reader.default_branch(),
        refs: None,
        clean_merge: policy
            .rulesets
            .iter()
            .flat_map(|r| r.rules.iter())
            .any(|r| matches!(r, RuleSpec::FullAttestation(a) if a.clean_merge)),
        commits: HashMap::new(),
    };
    let mut updates = Vec::with_capacity(req.updates.len());
    for u in &req.updates {
        budget.check()?;
        updates.push(
            collector
                .update(u)
                .with_context(|| format!("cannot read the update of {}", u.name))?,
        );
    }
    let mut secrets = None;
    let mut base_suppressions = Vec::new();
    if let Some(scanner) = &loaded.scanner {
        let rules = secret_rules(policy);
        let limits = Limits {
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
        };
        let before: Vec<ObjectId> = collector.refs()?.iter().map(|(_, id)| *id).collect();
        secrets = Some(
            scan::scan_push(&reader, scanner, &updates, &before, limits, budget)
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
    let push_certificate = push_certificate(&collector, &req.env, &req.updates)?;
    Ok(Change {
        repo: req.git_dir.clone(),
        now,
        pusher,
        default_branch: collector.default_branch.clone(),
        push_options: push_options(&req.env),
        updates,
        secrets,
        base_suppressions,
        push_certificate,
    })
}

/// The push certificate of a signed push (`GIT_PUSH_CERT` names its blob), verified with the
/// policy's keys; git's own verdict (`GIT_PUSH_CERT_STATUS`, from the server's gpg keyring) is
/// not used. The nonce status is git's: only git knows the nonce it handed out.
fn push_certificate(
    collector: &Collector<'_>,
    env: &BTreeMap<String, String>,
    updates: &[WireUpdate],
) -> Result<Option<PushCertificate>> {
    let Some(id) = env.get("GIT_PUSH_CERT").filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    let blob = collector
        .reader
        .blob(collector.reader.parse_id(id)?)
        .context("cannot read the push certificate")?;
    let pusher = String::from_utf8_lossy(&blob)
        .lines()
        .take_while(|l| !l.is_empty())
        .find_map(|l| l.strip_prefix("pusher "))
        .unwrap_or("")
        .to_string();
    let signed_end = crate::git::signature_start(&blob);
    let signature = match signed_end {
        Some(at) => collector
            .loaded
            .keyring
            .verify(&blob[at..], &blob[..at], collector.now),
        None => SignatureCheck::unsigned(),
    };
    Ok(Some(PushCertificate {
        matches_push: certified_updates(&blob[..signed_end.unwrap_or(blob.len())])
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

/// The `<old> <new> <ref>` lines a push certificate signs (after its header), as a set.
fn certified_updates(signed: &[u8]) -> std::collections::BTreeSet<(String, String, String)> {
    let text = String::from_utf8_lossy(signed);
    text.split_once("\n\n")
        .map(|(_, body)| body)
        .unwrap_or("")
        .lines()
        .filter_map(|l| {
            let mut p = l.split(' ');
            match (p.next(), p.next(), p.next(), p.next()) {
                (Some(o), Some(n), Some(r), None) => {
                    Some((o.to_string(), n.to_string(), r.to_string()))
                }
                _ => None,
            }
        })
        .collect()
}

fn actual_updates(updates: &[WireUpdate]) -> std::collections::BTreeSet<(String, String, String)> {
    updates
        .iter()
        .map(|u| (u.old.clone(), u.new.clone(), u.name.clone()))
        .collect()
}

fn secret_rules(policy: &rules::Policy) -> Vec<&SecretScanning> {
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
        match collector.reader.file_at(tip, f) {
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

struct Collector<'a> {
    loaded: &'a Loaded,
    reader: &'a RepoReader,
    now: Timestamp,
    budget: &'a Budget,
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
}

fn is_zero(hex: &str) -> bool {
    hex.bytes().all(|b| b == b'0')
}

impl Collector<'_> {
    fn update(&mut self, u: &WireUpdate) -> Result<RefUpdate> {
        let loaded: &Loaded = self.loaded;
        let policy = &loaded.policy;
        let default_branch = self.default_branch.clone();
        let old = (!is_zero(&u.old))
            .then(|| self.reader.parse_id(&u.old))
            .transpose()?;
        let new = (!is_zero(&u.new))
            .then(|| self.reader.parse_id(&u.new))
            .transpose()?;
        let mut out = RefUpdate {
            name: u.name.clone(),
            old: old.map(|o| o.to_string()),
            new: new.map(|n| n.to_string()),
            fast_forward: true,
            new_kind: ObjectKind::None,
            tag: None,
            // Pushing to a symbolic ref (a `trunk` that points at `main`) moves its target.
            resolves_to: self.reader.symref_targets(&u.name)?,
            commits: Vec::new(),
        };
        let Some(new) = new else {
            return Ok(out);
        };
        let names: Vec<&str> = std::iter::once(u.name.as_str())
            .chain(out.resolves_to.iter().map(String::as_str))
            .collect();
        let mut rulesets: Vec<&rules::policy::Ruleset> = Vec::new();
        for name in &names {
            for r in policy.rulesets_for(name, default_branch.as_deref()) {
                if !rulesets.iter().any(|x| x.name == r.name) {
                    rulesets.push(r);
                }
            }
        }
        let verify = rulesets
            .iter()
            .any(|r| r.rules.iter().any(RuleSpec::needs_signatures));
        out.new_kind = self.reader.kind(new)?;
        if out.new_kind == ObjectKind::Tag {
            let raw = self.reader.tag(new)?;
            out.tag = Some(Tag {
                id: new.to_string(),
                signature: self.check(&raw.signature, verify),
                name: raw.name,
                target: raw.target,
                tagger: raw.tagger,
            });
        }
        let (new_tip, new_tip_kind) = self.reader.peel(new)?;
        let old_tip = match old {
            Some(o) => Some(self.reader.peel(o)?),
            None => None,
        };
        if let Some((o, ObjectKind::Commit)) = old_tip {
            if new_tip_kind == ObjectKind::Commit {
                out.fast_forward = self.reader.is_ancestor(o, new_tip)?;
            }
        } else if old_tip.is_some() {
            // A ref that named a tree or blob and now names something else: not a fast-forward.
            out.fast_forward = old == Some(new);
        }
        if new_tip_kind != ObjectKind::Commit {
            return Ok(out);
        }
        let hidden: Vec<ObjectId> = match old_tip {
            Some((o, ObjectKind::Commit)) => vec![o],
            _ => {
                // A created ref: hide what the refs governed by the same rulesets already hold,
                // so commits first parked on an unprotected branch are still checked. With
                // several rulesets, only refs governed by all of them are hidden (stricter).
                let refs = self.refs()?;
                refs.iter()
                    .filter(|(name, _)| !names.contains(&name.as_str()))
                    .filter(|(name, _)| {
                        rulesets
                            .iter()
                            .all(|r| r.applies_to(name, default_branch.as_deref()))
                    })
                    .map(|(_, id)| *id)
                    .collect()
            }
        };
        let ids =
            self.reader
                .new_commits_from(&[new_tip], &hidden, self.budget, self.max_commits)?;
        for (i, id) in ids.into_iter().enumerate() {
            if i % 64 == 0 {
                self.budget.check()?;
            }
            out.commits.push(self.commit(id, verify)?);
            if self.commits.len() > self.max_commits {
                bail!(crate::git::TooManyCommits(self.max_commits));
            }
        }
        Ok(out)
    }

    fn refs(&mut self) -> Result<&Vec<(String, ObjectId)>> {
        if self.refs.is_none() {
            self.refs = Some(self.reader.refs()?);
        }
        Ok(self.refs.as_ref().expect("just filled"))
    }

    fn commit(&mut self, id: ObjectId, verify: bool) -> Result<Arc<Commit>> {
        if let Some((c, verified)) = self.commits.get(&id) {
            if *verified || !verify {
                return Ok(c.clone());
            }
        }
        let raw = self.reader.commit(id)?;
        let mut mergetags = Vec::new();
        for text in &raw.mergetags {
            let t = crate::git::parse_tag(text)
                .with_context(|| format!("a mergetag in commit {id} cannot be parsed"))?;
            mergetags.push(Tag {
                id: self.reader.hash_tag(text)?.to_string(),
                signature: self.check(&t.signature, verify),
                name: t.name,
                target: t.target,
                tagger: t.tagger,
            });
        }
        let clean_merge = if self.clean_merge && raw.parents.len() == 2 {
            let tree = self.reader.parse_id(&raw.tree)?;
            let ours = self.reader.parse_id(&raw.parents[0])?;
            let theirs = self.reader.parse_id(&raw.parents[1])?;
            Some(self.reader.is_clean_merge(tree, ours, theirs)?)
        } else {
            None
        };
        let c = Arc::new(Commit {
            id: id.to_string(),
            parents: raw.parents,
            author: raw.author,
            committer: raw.committer,
            subject: raw.subject,
            signature: self.check(&raw.signature, verify),
            mergetags,
            clean_merge,
        });
        self.commits.insert(id, (c.clone(), verify));
        Ok(c)
    }

    fn check(&self, part: &SignaturePart, verify: bool) -> SignatureCheck {
        match part {
            // No rule on this ref asks for signatures: don't spend time verifying.
            SignaturePart::Signed { .. } if !verify => SignatureCheck::default(),
            _ => part.check(&self.loaded.keyring, self.now),
        }
    }
}
