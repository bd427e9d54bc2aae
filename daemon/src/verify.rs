//! `pushguard verify`: re-check a repository's history without the daemon — every commit in a
//! revision range and every annotated tag on it — and say, per object, whether its signature is
//! good under the policy and on what basis:
//!
//! - `recorded`: the daemon accepted the object and recorded the verdict (`records.rs`); that
//!   record is reported, so a later key rotation, expiry or soft revocation does not turn
//!   accepted history red. A key revoked as of the receive time (hard revocation, which counts
//!   always) still fails.
//! - `signature_time`: never seen by the server (an import): the key is judged at the
//!   signature's creation time. The signature is first checked at the current time, so the
//!   algorithm policy (e.g. no SHA-1) is today's and cannot be dodged by backdating; only when
//!   that fails because of the key's lifecycle (expired, revoked, not yet valid) is it checked
//!   again at the signature time. Hard revocation fails at every time.
//! - `receive_time`: no server record and no signature time (SSH signatures, unsigned objects):
//!   judged at the current time, as the daemon would judge it if it were pushed now.
//!
//! Identity binding is the push path's: a good signature counts only when the key's identity
//! owns the committer email (tagger for tags); otherwise `identity_mismatch`.
//!
//! Beside the verdict, every line carries the letter `git log --format=%G?` prints for the same
//! signature judged now ( G good, X/Y good but the signature/key has expired since,
//! R good by a revoked key, B bad, E cannot be checked (unknown key, malformed, refused
//! algorithm), N none; see `crypto::git_letter`), and the summary counts the commits' letters, so the output can be held
//! next to git's. The verdict is the policy's; the letter is the signature's class.

use crate::git::{Quarantine, RepoReader, SignaturePart};
use crate::records::{Record, RecordStore};
use crate::state::Loaded;
use anyhow::{anyhow, bail, Context, Result};
use crypto::git_letter;
use gix::ObjectId;
use rules::facts::{KeyVerdict, SignatureCheck};
use rules::policy::{IdentityBinding, RuleSpec};
use rules::Policy;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// Output format.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum VerifyFormat {
    Text,
    Json,
}

/// What `pushguard verify` was asked, validated by `main`.
pub struct VerifyArgs {
    pub repo: PathBuf,
    pub policy: Option<PathBuf>,
    /// Where the daemon's record database is; `None`: judge signatures only.
    pub state_dir: Option<PathBuf>,
    /// Commits reachable from any ref instead of the revisions.
    pub all: bool,
    /// Revisions as `git rev-list` takes them; empty: HEAD.
    pub revisions: Vec<String>,
    /// Judge the range under this ref's rulesets too (full ref name).
    pub ref_name: Option<String>,
    pub format: VerifyFormat,
    /// Whose email the signing key's identity must own.
    pub identity: IdentityBinding,
    /// Worker threads.
    pub jobs: usize,
}

/// A verdict and, when it is not `good` (or good only at the signature time), why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub code: &'static str,
    pub reason: Option<String>,
}

/// The email a signature must be bound to under `mode`, and its role for messages; `None`:
/// any identity of the policy will do.
pub fn bound_email<'a>(
    mode: IdentityBinding,
    committer: &'a str,
    author: &'a str,
    tag: bool,
) -> (Option<&'a str>, &'static str) {
    match (mode, tag) {
        (IdentityBinding::Any, _) => (None, "signer"),
        (_, true) => (Some(committer), "tagger"),
        (IdentityBinding::Committer, false) => (Some(committer), "committer"),
        (IdentityBinding::Author, false) => (Some(author), "author"),
    }
}

/// The push path's identity binding: a good signature counts only when the signing key's
/// identity owns `email` (the committer's, author's or tagger's: `role`); with no email, when
/// the key belongs to any identity.
pub fn binding(policy: &Policy, sig: &SignatureCheck, email: Option<&str>, role: &str) -> Verdict {
    let key = sig.key.as_deref().unwrap_or("?");
    match sig.verdict {
        KeyVerdict::Good => match sig.identity.as_deref().and_then(|n| policy.identity(n)) {
            Some(_) if email.is_none() => Verdict {
                code: "good",
                reason: None,
            },
            Some(id) if email.is_some_and(|e| id.has_email(e)) => Verdict {
                code: "good",
                reason: None,
            },
            Some(id) => {
                let email = email.unwrap_or_default();
                let owner = match policy.identity_for_email(email) {
                    Some(o) => format!("belongs to {}", o.name),
                    None => "belongs to no identity".to_string(),
                };
                Verdict {
                    code: "identity_mismatch",
                    reason: Some(format!(
                        "signed with {}'s key {key}, but the {role} email <{email}> {owner}",
                        id.name
                    )),
                }
            }
            None => Verdict {
                code: "unknown_key",
                reason: Some(format!(
                    "signed with key {key}, which no identity in the policy owns"
                )),
            },
        },
        KeyVerdict::NoSignature => Verdict {
            code: "no_signature",
            reason: Some("not signed".to_string()),
        },
        v => Verdict {
            code: v.code(),
            reason: Some(
                sig.detail
                    .clone()
                    .unwrap_or_else(|| v.code().replace('_', " ")),
            ),
        },
    }
}

/// git's `%G?` letters in the order the summary lists them.
const LETTERS: [char; 8] = ['G', 'U', 'X', 'Y', 'R', 'E', 'B', 'N'];

/// On what the verdict rests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    Recorded,
    ReceiveTime,
    SignatureTime,
}

impl Basis {
    fn as_str(self) -> &'static str {
        match self {
            Basis::Recorded => "recorded",
            Basis::ReceiveTime => "receive_time",
            Basis::SignatureTime => "signature_time",
        }
    }
}

/// One output line.
#[derive(Debug, Clone, Serialize)]
struct Line {
    #[serde(skip_serializing_if = "Option::is_none")]
    commit: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tag: Option<String>,
    /// The tag's name, for tags.
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    verdict: String,
    /// What `git log --format=%G?` prints for this signature (`crypto::git_letter`).
    git: char,
    /// Policy identity owning the signing key.
    signer: Option<String>,
    /// Signing key fingerprint.
    key: Option<String>,
    /// Policy identity owning the committer (tagger) email.
    identity: Option<String>,
    reason: Option<String>,
    basis: Basis,
    /// Signature creation time (OpenPGP), Unix seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    signed_at: Option<i64>,
    /// With basis `recorded`: when the server received it, and into which ref.
    #[serde(skip_serializing_if = "Option::is_none")]
    received_at: Option<i64>,
    #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
    ref_name: Option<String>,
    /// For a signed tag embedded in a merge (`mergetag` header): the merge commit.
    #[serde(skip_serializing_if = "Option::is_none")]
    merged_in: Option<String>,
    /// With `--ref`: the rule of that ref's rulesets that failed, `rule (ruleset)`.
    #[serde(skip_serializing_if = "Option::is_none")]
    rule: Option<String>,
    /// With `--ref`: the commit's facts, for the policy engine.
    #[serde(skip)]
    facts: Option<Box<rules::facts::Commit>>,
}

impl Line {
    /// An empty line for an object whose bound email is `email`.
    fn new(policy: &Policy, email: &str) -> Line {
        Line {
            commit: None,
            tag: None,
            name: None,
            verdict: String::new(),
            git: 'N',
            signer: None,
            key: None,
            identity: policy.identity_for_email(email).map(|i| i.name.clone()),
            reason: None,
            basis: Basis::ReceiveTime,
            signed_at: None,
            received_at: None,
            ref_name: None,
            merged_in: None,
            rule: None,
            facts: None,
        }
    }

    /// The signature as the engine sees it: a good (or identity-mismatched: the rule's own
    /// binding decides) signature by `signer`, or one that failed.
    fn signature(&self) -> SignatureCheck {
        let good = self.verdict == "good" || self.verdict == "identity_mismatch";
        SignatureCheck {
            verdict: if good {
                KeyVerdict::Good
            } else if self.verdict == "no_signature" {
                KeyVerdict::NoSignature
            } else {
                KeyVerdict::Malformed
            },
            identity: self.signer.clone(),
            key: self.key.clone(),
            signed_at: self.signed_at,
            detail: self.reason.clone(),
            ..SignatureCheck::default()
        }
    }

    fn id(&self) -> &str {
        self.commit
            .as_deref()
            .or(self.tag.as_deref())
            .unwrap_or_default()
    }
}

/// One object to check.
#[derive(Debug, Clone)]
enum Item {
    Commit(ObjectId),
    Tag { id: ObjectId, name: String },
}

impl Item {
    fn id(&self) -> ObjectId {
        match self {
            Item::Commit(id) | Item::Tag { id, .. } => *id,
        }
    }
}

/// Verdicts that depend on when the key is judged: retried at the signature time.
fn lifecycle(v: KeyVerdict) -> bool {
    matches!(
        v,
        KeyVerdict::ExpiredKey | KeyVerdict::RevokedKey | KeyVerdict::KeyNotYetValid
    )
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// `YYYY-MM-DD` (UTC) of a Unix time.
pub fn date(t: i64) -> String {
    rules::calendar::format_date(t)
}

/// Run `pushguard verify`. `Ok(true)`: every object is good.
pub fn run(args: VerifyArgs) -> Result<bool> {
    let loaded = Loaded::load(args.policy.as_deref()).map_err(|e| anyhow!("{e}"))?;
    let repo = std::fs::canonicalize(&args.repo)
        .with_context(|| format!("no repository at {}", args.repo.display()))?;
    let git_dir = if repo.join(".git").is_dir() {
        repo.join(".git")
    } else {
        repo.clone()
    };
    let store = match &args.state_dir {
        Some(dir) => RecordStore::open_existing(dir)?,
        None => None,
    };
    let items = list_objects(&repo, args.all, &args.revisions)?;
    // The daemon names repositories by their canonical git directory.
    let repo_key = git_dir.to_string_lossy().into_owned();
    let mut records: HashMap<ObjectId, Record> = HashMap::new();
    if let Some(store) = &store {
        for item in &items {
            let id = item.id();
            if let Some(r) = store
                .lookup(&id.to_string(), &repo_key)
                .with_context(|| format!("cannot read {}", store.path().display()))?
            {
                records.insert(id, r);
            }
        }
    }
    let clean_merge = args.ref_name.as_deref().is_some_and(|r| {
        let default_branch = RepoReader::open(&git_dir, &Quarantine::default())
            .ok()
            .and_then(|reader| reader.default_branch());
        let any = loaded
            .policy
            .rulesets_for(r, default_branch.as_deref())
            .flat_map(|rs| rs.rules.iter())
            .any(|rule| matches!(rule, RuleSpec::FullAttestation(a) if a.clean_merge));
        any
    });
    let ctx = Ctx {
        loaded: &loaded,
        records: &records,
        now: now(),
        identity: args.identity,
        facts: args.ref_name.is_some(),
        clean_merge,
    };
    let mut lines = check_all(&ctx, &git_dir, &items, args.jobs)?;
    if let Some(r) = &args.ref_name {
        judge_under_ref(&loaded.policy, &git_dir, r, ctx.now, &mut lines)?;
    }
    // One write per line would be a syscall per object: buffer the whole output.
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let ok = render(&mut out, &lines, args.format)?;
    out.flush()?;
    Ok(ok)
}

/// The commits of the range (rev-list order) and the annotated tags on them.
fn list_objects(repo: &Path, all: bool, revisions: &[String]) -> Result<Vec<Item>> {
    let git = |args: &[&str]| -> Result<String> {
        let out = crate::git::git_command()
            .arg("-C")
            .arg(repo)
            .args(args)
            .output()
            .context("cannot run git")?;
        if !out.status.success() {
            bail!(
                "git {} failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        String::from_utf8(out.stdout).context("git printed something that is not UTF-8")
    };
    let mut rev_args: Vec<&str> = vec!["rev-list"];
    if all {
        rev_args.push("--all");
    } else if revisions.is_empty() {
        // An empty repository (unborn HEAD) has nothing to verify.
        if git(&["rev-parse", "--verify", "-q", "HEAD^{commit}"]).is_err() {
            return Ok(Vec::new());
        }
        rev_args.push("HEAD");
    } else {
        for r in revisions {
            if r.starts_with('-') {
                bail!("{r:?} is not a revision (options go before the range)");
            }
            rev_args.push(r);
        }
    }
    rev_args.push("--");
    let mut items = Vec::new();
    let mut commits = HashSet::new();
    for line in git(&rev_args)?.lines() {
        let id = ObjectId::from_hex(line.trim().as_bytes())
            .with_context(|| format!("git rev-list printed {line:?}"))?;
        commits.insert(id);
        items.push(Item::Commit(id));
    }
    // Annotated tags: every one with --all, else those on the range's commits.
    let reader = RepoReader::open(&git_dir_of(repo), &Quarantine::default())?;
    let mut seen = HashSet::new();
    for line in git(&[
        "for-each-ref",
        "--format=%(objectname) %(objecttype) %(refname)",
        "refs/tags",
    ])?
    .lines()
    {
        let mut parts = line.splitn(3, ' ');
        let (Some(id), Some("tag"), Some(name)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        let id = reader.parse_id(id)?;
        if !seen.insert(id) {
            continue;
        }
        let (target, _) = reader.peel(id)?;
        if all || commits.contains(&target) {
            items.push(Item::Tag {
                id,
                name: name.trim_start_matches("refs/tags/").to_string(),
            });
        }
    }
    Ok(items)
}

fn git_dir_of(repo: &Path) -> PathBuf {
    if repo.join(".git").is_dir() {
        repo.join(".git")
    } else {
        repo.to_path_buf()
    }
}

/// Check every item on `jobs` threads (each with its own repository handle; the keyring is
/// shared), keeping the input order.
/// What every worker reads.
struct Ctx<'a> {
    loaded: &'a Loaded,
    records: &'a HashMap<ObjectId, Record>,
    /// The time of the check.
    now: i64,
    identity: IdentityBinding,
    /// Keep each commit's facts (for `--ref`).
    facts: bool,
    /// Recompute merges (a `full_attestation` with `clean_merge` governs the `--ref`).
    clean_merge: bool,
}

/// `--ref`: run the policy engine over the range as if it were pushed to `ref_name` (created:
/// every commit of the range is new to it), and mark the lines whose signature is good but
/// which a `required_signatures` or `full_attestation` rule of that ref refuses (a signer or
/// merger not allowed, an octopus or unclean merge, the rule's own identity binding).
fn judge_under_ref(
    policy: &Policy,
    git_dir: &Path,
    ref_name: &str,
    now: i64,
    lines: &mut [Line],
) -> Result<()> {
    let commits: Vec<std::sync::Arc<rules::facts::Commit>> = lines
        .iter()
        .filter_map(|l| l.facts.as_deref().cloned().map(std::sync::Arc::new))
        .collect();
    let Some(tip) = commits.first().map(|c| c.id.clone()) else {
        return Ok(());
    };
    let reader = RepoReader::open(git_dir, &Quarantine::default())?;
    let change = rules::facts::Change {
        repo: git_dir.display().to_string(),
        now,
        pusher: None,
        default_branch: reader.default_branch(),
        push_options: Vec::new(),
        updates: vec![rules::facts::RefUpdate {
            name: ref_name.to_string(),
            old: None,
            new: Some(tip),
            fast_forward: true,
            new_kind: rules::facts::ObjectKind::Commit,
            tag: None,
            resolves_to: Vec::new(),
            commits,
        }],
        secrets: None,
        base_suppressions: Vec::new(),
        push_certificate: None,
    };
    let report = rules::evaluate(policy, &change);
    for v in &report.violations {
        if v.ref_name != ref_name
            || !matches!(v.rule.as_str(), "required_signatures" | "full_attestation")
        {
            continue;
        }
        let Some(commit) = &v.commit else { continue };
        let Some(line) = lines
            .iter_mut()
            .find(|l| l.commit.as_deref() == Some(commit) && l.merged_in.is_none())
        else {
            continue;
        };
        if line.verdict == "good" {
            line.verdict = v.code.as_str().to_string();
            line.reason = Some(v.message.clone());
            line.rule = Some(format!("{} ({})", v.rule, v.ruleset));
        }
    }
    Ok(())
}

fn check_all(ctx: &Ctx<'_>, git_dir: &Path, items: &[Item], jobs: usize) -> Result<Vec<Line>> {
    const CHUNK: usize = 64;
    let chunks = items.len().div_ceil(CHUNK);
    let jobs = jobs.clamp(1, chunks.max(1));
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<(usize, Vec<Line>)>> = Mutex::new(Vec::new());
    let first_error: Mutex<Option<anyhow::Error>> = Mutex::new(None);
    std::thread::scope(|s| {
        for _ in 0..jobs {
            s.spawn(|| {
                let work = || -> Result<()> {
                    let reader = RepoReader::open(git_dir, &Quarantine::default())?;
                    loop {
                        let chunk = next.fetch_add(1, Ordering::Relaxed);
                        if chunk >= chunks {
                            return Ok(());
                        }
                        let start = chunk * CHUNK;
                        let end = (start + CHUNK).min(items.len());
                        let mut lines = Vec::with_capacity(end - start);
                        for item in &items[start..end] {
                            lines.extend(check_one(ctx, &reader, item)?);
                        }
                        results
                            .lock()
                            .map_err(|_| anyhow!("a verify thread panicked"))?
                            .push((chunk, lines));
                    }
                };
                if let Err(e) = work() {
                    // Stop the others early; report the first error.
                    next.store(chunks, Ordering::Relaxed);
                    if let Ok(mut slot) = first_error.lock() {
                        slot.get_or_insert(e);
                    }
                }
            });
        }
    });
    if let Some(e) = first_error
        .into_inner()
        .map_err(|_| anyhow!("a verify thread panicked"))?
    {
        return Err(e);
    }
    let mut chunks = results
        .into_inner()
        .map_err(|_| anyhow!("a verify thread panicked"))?;
    chunks.sort_by_key(|(i, _)| *i);
    Ok(chunks.into_iter().flat_map(|(_, l)| l).collect())
}

/// The verdict for one object, followed by those of the signed tags a merge commit embeds
/// (`mergetag`; never recorded by the server, so always judged on their own).
fn check_one(ctx: &Ctx<'_>, reader: &RepoReader, item: &Item) -> Result<Vec<Line>> {
    let (loaded, records) = (ctx.loaded, ctx.records);
    let policy = &loaded.policy;
    let mut out = Vec::with_capacity(1);
    let mut facts = None;
    let (part, committer, author) = match item {
        Item::Commit(id) => {
            let c = reader.commit(*id)?;
            if ctx.facts {
                let clean_merge = if ctx.clean_merge && c.parents.len() == 2 {
                    Some(reader.is_clean_merge(
                        reader.parse_id(&c.tree)?,
                        reader.parse_id(&c.parents[0])?,
                        reader.parse_id(&c.parents[1])?,
                    )?)
                } else {
                    None
                };
                facts = Some(Box::new(rules::facts::Commit {
                    id: id.to_string(),
                    parents: c.parents.clone(),
                    author: c.author.clone(),
                    committer: c.committer.clone(),
                    subject: c.subject.clone(),
                    signature: SignatureCheck::default(),
                    mergetags: Vec::new(),
                    clean_merge,
                }));
            }
            for text in &c.mergetags {
                // `parse_commit` gives the tag object's full text (final newline included).
                let t = crate::git::parse_tag(text)
                    .with_context(|| format!("a mergetag in commit {id} cannot be parsed"))?;
                let tagger = t
                    .tagger
                    .as_ref()
                    .map(|p| p.email.clone())
                    .unwrap_or_default();
                let (email, role) = bound_email(ctx.identity, &tagger, &tagger, true);
                let mut line = Line::new(policy, email.unwrap_or(&tagger));
                line.tag = Some(reader.hash_tag(text)?.to_string());
                line.name = Some(t.name);
                line.merged_in = Some(id.to_string());
                judge_fresh(ctx, &t.signature, email, role, &mut line);
                if let Some(f) = facts.as_mut() {
                    f.mergetags.push(rules::facts::Tag {
                        id: line.tag.clone().unwrap_or_default(),
                        name: line.name.clone().unwrap_or_default(),
                        target: t.target.clone(),
                        tagger: t.tagger.clone(),
                        signature: line.signature(),
                    });
                }
                out.push(line);
            }
            (c.signature, c.committer.email, c.author.email)
        }
        Item::Tag { id, .. } => {
            let t = reader.tag(*id)?;
            let tagger = t.tagger.map(|p| p.email).unwrap_or_default();
            (t.signature, tagger.clone(), tagger)
        }
    };
    let tag = matches!(item, Item::Tag { .. });
    let (email, role) = bound_email(ctx.identity, &committer, &author, tag);
    let mut line = Line::new(policy, email.unwrap_or(&committer));
    match item {
        Item::Commit(id) => line.commit = Some(id.to_string()),
        Item::Tag { id, name } => {
            line.tag = Some(id.to_string());
            line.name = Some(name.clone());
        }
    }
    if let Some(rec) = records.get(&item.id()) {
        line.basis = Basis::Recorded;
        line.verdict = rec.verdict.clone();
        line.signer = rec.signer.clone();
        line.key = rec.key.clone();
        line.received_at = Some(rec.received_at);
        line.ref_name = Some(rec.ref_name.clone());
        line.reason = rec.reason.clone();
        // The record stands against later expiry, rotation or soft revocation — not against a
        // key revoked as of the receive time (a hard revocation counts always). Good today
        // means not revoked then either (revocations only ever start), so the second check is
        // needed only when today's is not good.
        let today = part.check(&loaded.keyring, ctx.now);
        line.git = git_letter(&today);
        line.signed_at = today.signed_at;
        if rec.verdict == "good" && today.verdict != KeyVerdict::Good {
            if let SignaturePart::Signed { signature, payload } = &part {
                let again = loaded.keyring.verify(signature, payload, rec.received_at);
                line.signed_at = again.signed_at;
                if again.verdict == KeyVerdict::RevokedKey {
                    line.verdict = "revoked_key".to_string();
                    line.reason = Some(format!(
                        "accepted on {} but the key is revoked: {}",
                        date(rec.received_at),
                        again.detail.unwrap_or_default()
                    ));
                }
            }
        }
    } else {
        judge_fresh(ctx, &part, email, role, &mut line);
    }
    if let Some(mut f) = facts {
        f.signature = line.signature();
        line.facts = Some(f);
    }
    out.insert(0, line);
    Ok(out)
}

/// Judge a signature the server never recorded: at the signature time when it has one (after
/// a check at the current time, see the module doc), else at the current time.
fn judge_fresh(
    ctx: &Ctx<'_>,
    part: &SignaturePart,
    email: Option<&str>,
    role: &str,
    line: &mut Line,
) {
    let (keyring, now) = (&ctx.loaded.keyring, ctx.now);
    let first = part.check(keyring, now);
    line.git = git_letter(&first);
    let sig = match part {
        SignaturePart::Signed { signature, payload } => match first.signed_at {
            Some(t) => {
                line.basis = Basis::SignatureTime;
                if lifecycle(first.verdict) && t < now {
                    let then = keyring.verify(signature, payload, t);
                    if then.verdict == KeyVerdict::Good {
                        line.reason = Some(format!(
                            "good when signed on {}; since then: {}",
                            date(t),
                            first.detail.clone().unwrap_or_default()
                        ));
                    }
                    then
                } else {
                    first
                }
            }
            None => first,
        },
        _ => first,
    };
    line.signed_at = sig.signed_at;
    line.signer = sig.identity.clone();
    line.key = sig.key.clone();
    let v = binding(&ctx.loaded.policy, &sig, email, role);
    line.verdict = v.code.to_string();
    if v.code != "good" {
        line.reason = v.reason;
    }
}

/// Print the lines and the summary; true when every object is good.
fn render(out: &mut impl Write, lines: &[Line], format: VerifyFormat) -> Result<bool> {
    let mut verdicts: BTreeMap<&str, usize> = BTreeMap::new();
    let mut bases: BTreeMap<&str, usize> = BTreeMap::new();
    // The commits' letters only, as `git log --format=%G?` prints them.
    let mut letters = [0usize; LETTERS.len()];
    let (mut commits, mut tags) = (0, 0);
    for l in lines {
        *verdicts.entry(l.verdict.as_str()).or_default() += 1;
        *bases.entry(l.basis.as_str()).or_default() += 1;
        if l.commit.is_some() {
            commits += 1;
            if let Some(i) = LETTERS.iter().position(|&c| c == l.git) {
                letters[i] += 1;
            }
        } else {
            tags += 1;
        }
        match format {
            VerifyFormat::Json => writeln!(out, "{}", serde_json::to_string(l)?)?,
            VerifyFormat::Text => writeln!(out, "{}", text_line(l))?,
        }
    }
    let ok = lines.iter().all(|l| l.verdict == "good");
    let letter_counts: Vec<(char, usize)> = LETTERS
        .iter()
        .zip(letters)
        .filter(|(_, n)| *n > 0)
        .map(|(&c, n)| (c, n))
        .collect();
    match format {
        VerifyFormat::Json => {
            let git: BTreeMap<String, usize> = letter_counts
                .iter()
                .map(|(c, n)| (c.to_string(), *n))
                .collect();
            let summary = serde_json::json!({
                "summary": {
                    "objects": lines.len(),
                    "commits": commits,
                    "tags": tags,
                    "verdicts": verdicts,
                    "git": git,
                    "basis": bases,
                    "ok": ok,
                }
            });
            writeln!(out, "{summary}")?;
        }
        VerifyFormat::Text => {
            if commits > 0 {
                let counts: Vec<String> = letter_counts
                    .iter()
                    .map(|(c, n)| format!("{n} {c}"))
                    .collect();
                writeln!(
                    out,
                    "%G? of {}: {}",
                    plural(commits, "commit"),
                    counts.join(", ")
                )?;
            }
            let counts: Vec<String> = verdicts.iter().map(|(v, n)| format!("{n} {v}")).collect();
            writeln!(
                out,
                "verify: {} ({}, {}): {}: {}",
                plural(lines.len(), "object"),
                plural(commits, "commit"),
                plural(tags, "tag"),
                if counts.is_empty() {
                    "nothing to check".to_string()
                } else {
                    counts.join(", ")
                },
                if ok { "ok" } else { "FAILED" }
            )?;
        }
    }
    Ok(ok)
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// `G good               commit <id> alice key <fpr> [recorded 2026-11-27 refs/heads/main]`
fn text_line(l: &Line) -> String {
    let kind = if l.commit.is_some() { "commit" } else { "tag" };
    let mut s = format!("{} {:<18} {kind:<6} {}", l.git, l.verdict, l.id());
    match (&l.name, &l.merged_in) {
        (Some(n), Some(m)) => s.push_str(&format!(" ({n}, merged in {m})")),
        (Some(n), None) => s.push_str(&format!(" ({n})")),
        _ => {}
    }
    if let Some(signer) = &l.signer {
        s.push_str(&format!(" {signer}"));
    }
    if let Some(k) = &l.key {
        s.push_str(&format!(" key {k}"));
    }
    match (l.basis, l.received_at) {
        (Basis::Recorded, Some(t)) => s.push_str(&format!(
            " [recorded {} {}]",
            date(t),
            l.ref_name.as_deref().unwrap_or_default()
        )),
        (b, _) => s.push_str(&format!(" [{}]", b.as_str())),
    }
    if let Some(rule) = &l.rule {
        s.push_str(&format!(" {rule}"));
    }
    if let Some(r) = &l.reason {
        s.push_str(&format!(": {r}"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_utc_days() {
        assert_eq!(date(0), "1970-01-01");
        assert_eq!(date(1_735_689_600), "2025-01-01");
        assert_eq!(date(1_709_164_800), "2024-02-29");
        assert_eq!(date(-86_400), "1969-12-31");
    }

    fn policy() -> Policy {
        Policy::from_yaml(
            "version: 1\nidentities:\n  alice:\n    emails: [alice@example.org]\n  bob:\n    emails: [bob@example.org]\nrulesets: []\n",
        )
        .expect("policy")
    }

    fn good_by(identity: &str) -> SignatureCheck {
        SignatureCheck {
            verdict: KeyVerdict::Good,
            identity: Some(identity.to_string()),
            key: Some("SHA256:k".to_string()),
            ..SignatureCheck::default()
        }
    }

    #[test]
    fn binding_follows_the_committer_email() {
        let p = policy();
        assert_eq!(
            binding(
                &p,
                &good_by("alice"),
                Some("Alice@Example.org"),
                "committer"
            )
            .code,
            "good"
        );
        let v = binding(&p, &good_by("bob"), Some("alice@example.org"), "committer");
        assert_eq!(v.code, "identity_mismatch");
        assert_eq!(
            v.reason.as_deref(),
            Some("signed with bob's key SHA256:k, but the committer email <alice@example.org> belongs to alice")
        );
        assert_eq!(
            binding(
                &p,
                &SignatureCheck::unsigned(),
                Some("alice@example.org"),
                "committer"
            )
            .code,
            "no_signature"
        );
        let expired = SignatureCheck {
            verdict: KeyVerdict::ExpiredKey,
            detail: Some("key 0x1 expired on 2026-01-01".into()),
            ..SignatureCheck::default()
        };
        let v = binding(&p, &expired, Some("alice@example.org"), "committer");
        assert_eq!(
            (v.code, v.reason.as_deref()),
            ("expired_key", Some("key 0x1 expired on 2026-01-01"))
        );
        // identity: any — any identity's key will do.
        assert_eq!(binding(&p, &good_by("bob"), None, "signer").code, "good");
        assert_eq!(
            bound_email(IdentityBinding::Author, "c@x", "a@x", false),
            (Some("a@x"), "author")
        );
        assert_eq!(
            bound_email(IdentityBinding::Author, "t@x", "t@x", true),
            (Some("t@x"), "tagger")
        );
    }

    #[test]
    fn text_and_json_render_one_line_per_object_and_a_summary() {
        let good = Line {
            commit: Some("a".repeat(40)),
            tag: None,
            name: None,
            verdict: "good".into(),
            git: 'G',
            signer: Some("alice".into()),
            key: Some("SHA256:k".into()),
            identity: Some("alice".into()),
            reason: None,
            basis: Basis::Recorded,
            signed_at: None,
            received_at: Some(1_735_689_600),
            ref_name: Some("refs/heads/main".into()),
            merged_in: None,
            rule: None,
            facts: None,
        };
        let bad = Line {
            commit: None,
            tag: Some("b".repeat(40)),
            name: Some("v1".into()),
            verdict: "no_signature".into(),
            git: 'N',
            signer: None,
            key: None,
            identity: None,
            reason: Some("not signed".into()),
            basis: Basis::ReceiveTime,
            signed_at: None,
            received_at: None,
            ref_name: None,
            merged_in: None,
            rule: None,
            facts: None,
        };
        let mut out = Vec::new();
        let ok = render(&mut out, &[good.clone(), bad.clone()], VerifyFormat::Text).expect("text");
        assert!(!ok);
        let text = String::from_utf8(out).expect("utf8");
        assert_eq!(
            text,
            format!(
                "G good               commit {} alice key SHA256:k [recorded 2025-01-01 refs/heads/main]\n\
                 N no_signature       tag    {} (v1) [receive_time]: not signed\n\
                 %G? of 1 commit: 1 G\n\
                 verify: 2 objects (1 commit, 1 tag): 1 good, 1 no_signature: FAILED\n",
                "a".repeat(40),
                "b".repeat(40)
            )
        );
        let mut out = Vec::new();
        assert!(render(&mut out, &[good], VerifyFormat::Json).expect("json"));
        let text = String::from_utf8(out).expect("utf8");
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).expect("JSON line"))
            .collect();
        assert_eq!(lines[0]["basis"], "recorded");
        assert_eq!(lines[0]["ref"], "refs/heads/main");
        assert_eq!(lines[0]["git"], "G");
        assert_eq!(lines[1]["summary"]["verdicts"]["good"], 1);
        assert_eq!(lines[1]["summary"]["git"]["G"], 1);
        assert_eq!(lines[1]["summary"]["ok"], true);
    }
}
