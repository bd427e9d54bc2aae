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

use crate::budget::Budget;
use crate::bundle::PolicyBundle;
use crate::collect;
use crate::git::{GitRead, ObjectId, Quarantine, RepoReader, SignaturePart};
use crate::records::{Record, RecordStore};
use anyhow::{anyhow, Context, Result};
use crypto::git_letter;
use rules::afterwards;
use rules::facts::{KeyVerdict, SignatureCheck};
use rules::identity::{bind, bound_email, Binding, ObjectVerdict, Role};
use rules::policy::IdentityBinding;
use rules::Policy;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Write;
use std::path::PathBuf;
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
    /// The object's id, typed (`commit` or `tag` is its hex for the output).
    #[serde(skip)]
    object: ObjectId,
}

impl Line {
    /// An empty line for `object`, whose bound email is `email`.
    fn new(policy: &Policy, object: ObjectId, email: &str) -> Line {
        Line {
            object,
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
    let loaded = PolicyBundle::load(args.policy.as_deref()).map_err(|e| anyhow!("{e}"))?;
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
    let reader = RepoReader::open(&git_dir, &Quarantine::default())?;
    let items = list_objects(&reader, args.all, &args.revisions)?;
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
    let ctx = Ctx {
        policy: &loaded.policy,
        verifier: &loaded.keyring,
        records: &records,
        now: now(),
        identity: args.identity,
    };
    let mut lines = check_all(&ctx, &reader, &items, args.jobs)?;
    if let Some(r) = &args.ref_name {
        judge_under_ref(&ctx, &reader, &repo_key, r, &mut lines)?;
    }
    // One write per line would be a syscall per object: buffer the whole output.
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let ok = render(&mut out, &lines, args.format)?;
    out.flush()?;
    Ok(ok)
}

/// The commits of the range (rev-list order) and the annotated tags on them.
fn list_objects(git: &dyn GitRead, all: bool, revisions: &[String]) -> Result<Vec<Item>> {
    let revisions: Vec<String> = if all {
        vec!["--all".to_string()]
    } else if revisions.is_empty() {
        // An empty repository (unborn HEAD) has nothing to verify.
        let refs = git.refs()?;
        let unborn = git
            .default_branch()
            .is_some_and(|b| !refs.iter().any(|(n, _)| *n == format!("refs/heads/{b}")));
        if unborn {
            return Ok(Vec::new());
        }
        vec!["HEAD".to_string()]
    } else {
        revisions.to_vec()
    };
    let mut items = Vec::new();
    let mut commits = HashSet::new();
    for id in git.rev_list(&revisions)? {
        commits.insert(id);
        items.push(Item::Commit(id));
    }
    // Annotated tags: every one with --all, else those on the range's commits.
    let mut seen = HashSet::new();
    for (name, id) in git.ref_targets("refs/tags/")? {
        if git.kind(id)? != rules::facts::ObjectKind::Tag || !seen.insert(id) {
            continue;
        }
        let (target, _) = git.peel(id)?;
        if all || commits.contains(&target) {
            items.push(Item::Tag {
                id,
                name: name.trim_start_matches("refs/tags/").to_string(),
            });
        }
    }
    Ok(items)
}

/// Check every item on `jobs` threads (each with its own repository handle; the keyring is
/// shared), keeping the input order.
/// What every worker reads.
struct Ctx<'a> {
    policy: &'a Policy,
    verifier: &'a dyn crypto::SignatureVerifier,
    records: &'a HashMap<ObjectId, Record>,
    /// The time of the check.
    now: i64,
    identity: IdentityBinding,
}

/// `--ref`: run the policy engine over the range as if it were pushed to `ref_name` (created:
/// every commit of the range is new to it), and mark the lines whose signature is good but
/// which a `required_signatures` or `full_attestation` rule of that ref refuses (a signer or
/// merger not allowed, an octopus or unclean merge, the rule's own identity binding).
fn judge_under_ref(
    ctx: &Ctx<'_>,
    git: &dyn GitRead,
    repo: &str,
    ref_name: &str,
    lines: &mut [Line],
) -> Result<()> {
    // The engine sees the signatures as verify judged them (at the signature time, or as
    // recorded), not judged again at the current time.
    let mut known = HashMap::new();
    let mut commits = Vec::new();
    for l in lines.iter() {
        known.insert(l.object, l.signature());
        if l.commit.is_some() {
            commits.push(l.object);
        }
    }
    if commits.is_empty() {
        return Ok(());
    }
    let budget = Budget::unlimited();
    let inputs = collect::Inputs {
        policy: ctx.policy,
        verifier: ctx.verifier,
        approvals: None,
        approval_cache: None,
        max_approvals: 0,
        scanner: None,
        now: ctx.now,
        budget: &budget,
        known: Some(&known),
    };
    let change = collect::range_change(git, &inputs, repo, ref_name, &commits)?;
    let policy = ctx.policy;
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

fn check_all(ctx: &Ctx<'_>, git: &dyn GitRead, items: &[Item], jobs: usize) -> Result<Vec<Line>> {
    const CHUNK: usize = 64;
    let chunks = items.len().div_ceil(CHUNK);
    let jobs = jobs.clamp(1, chunks.max(1));
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<(usize, Vec<Line>)>> = Mutex::new(Vec::new());
    let first_error: Mutex<Option<anyhow::Error>> = Mutex::new(None);
    let readers: Vec<Box<dyn GitRead + Send + '_>> = (0..jobs).map(|_| git.fork()).collect();
    std::thread::scope(|s| {
        for reader in readers {
            let (next, results, first_error) = (&next, &results, &first_error);
            s.spawn(move || {
                let work = || -> Result<()> {
                    loop {
                        let chunk = next.fetch_add(1, Ordering::Relaxed);
                        if chunk >= chunks {
                            return Ok(());
                        }
                        let start = chunk * CHUNK;
                        let end = (start + CHUNK).min(items.len());
                        let mut lines = Vec::with_capacity(end - start);
                        for item in &items[start..end] {
                            lines.extend(check_one(ctx, reader.as_ref(), item)?);
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
fn check_one(ctx: &Ctx<'_>, reader: &dyn GitRead, item: &Item) -> Result<Vec<Line>> {
    let (policy, records) = (ctx.policy, ctx.records);
    let mut out = Vec::with_capacity(1);
    let (part, committer, author) = match item {
        Item::Commit(id) => {
            let c = reader.commit(*id)?;
            for text in &c.mergetags {
                // `parse_commit` gives the tag object's full text (final newline included).
                let t = crate::git::parse_tag(text, reader.hash_kind())
                    .with_context(|| format!("a mergetag in commit {id} cannot be parsed"))?;
                let tagger = t
                    .tagger
                    .as_ref()
                    .map(|p| p.email.clone())
                    .unwrap_or_default();
                let (email, role) = bound_email(ctx.identity, &tagger, &tagger, true);
                let tag_id = crate::git::tag_id(reader.hash_kind(), text)?;
                let mut line = Line::new(policy, tag_id, email.unwrap_or(&tagger));
                line.tag = Some(tag_id.to_string());
                line.name = Some(t.name);
                line.merged_in = Some(id.to_string());
                judge_fresh(ctx, &t.signature, email, role, &mut line);
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
    let mut line = Line::new(policy, item.id(), email.unwrap_or(&committer));
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
        // Whether the record still stands is the engine's call (`rules::afterwards`).
        let today = part.check(ctx.verifier, ctx.now);
        line.git = git_letter(&today);
        line.signed_at = today.signed_at;
        let recorded = ObjectVerdict::parse(&rec.verdict)
            .unwrap_or(ObjectVerdict::Refused(rules::Code::MalformedSignature));
        let at = afterwards::recheck_record_at(recorded, &today, rec.received_at);
        if let (Some(at), SignaturePart::Signed { signature, payload }) = (at, &part) {
            let again = ctx.verifier.verify(signature, payload, at);
            line.signed_at = again.signed_at;
            if let Some((verdict, why)) = afterwards::record_overruled(&again, rec.received_at) {
                line.verdict = verdict.to_string();
                line.reason = Some(why);
            }
        }
    } else {
        judge_fresh(ctx, &part, email, role, &mut line);
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
    role: Role,
    line: &mut Line,
) {
    let (keyring, now) = (ctx.verifier, ctx.now);
    let first = part.check(keyring, now);
    line.git = git_letter(&first);
    // When the signature is judged is the engine's call (`rules::afterwards`).
    let sig = match part {
        SignaturePart::Signed { signature, payload } if first.signed_at.is_some() => {
            line.basis = Basis::SignatureTime;
            match afterwards::retry_at(&first, now) {
                Some(t) => {
                    let (then, note) =
                        afterwards::after_retry(&first, keyring.verify(signature, payload, t), t);
                    line.reason = note;
                    then
                }
                None => first,
            }
        }
        _ => first,
    };
    line.signed_at = sig.signed_at;
    line.signer = sig.identity.clone();
    line.key = sig.key.clone();
    let b = bind(ctx.policy, &sig, email, role);
    line.verdict = b.verdict().to_string();
    if let Binding::Refused(r) = &b {
        line.reason = Some(r.reason());
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
    fn text_and_json_render_one_line_per_object_and_a_summary() {
        let good = Line {
            object: ObjectId::null(gix::hash::Kind::Sha1),
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
        };
        let bad = Line {
            object: ObjectId::null(gix::hash::Kind::Sha1),
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

    /// A repository where alice signs her own commit and bob's, mallory signs nothing, and
    /// two signed tags sit inside and outside the range.
    mod on_a_fake_repository {
        use super::*;
        use crate::git::fake::{Extra, FakeRepo};
        use crate::git::HashKind;
        use crypto::FakeVerifier;
        use rules::facts::ObjectKind;

        const SIG: &[u8] = b"-----BEGIN SSH SIGNATURE-----\nalice\n-----END SSH SIGNATURE-----\n";

        struct Repo {
            git: FakeRepo,
            base: ObjectId,
            bobs: ObjectId,
            unsigned: ObjectId,
            v0: ObjectId,
            v1: ObjectId,
        }

        fn repo() -> Repo {
            let mut git = FakeRepo::new(HashKind::Sha1);
            let tree = git.add_tree(&[]);
            let signed = || Extra {
                signature: Some(SIG.to_vec()),
                ..Extra::default()
            };
            let base =
                git.add_commit_with(tree, &[], "Alice <alice@example.org>", "base", signed());
            let bobs =
                git.add_commit_with(tree, &[base], "Bob <bob@example.org>", "bob's", signed());
            let unsigned = git.add_commit(tree, &[bobs], "Mallory <m@example.org>", "unsigned");
            let v0 = git.add_tag(
                base,
                ObjectKind::Commit,
                "v0",
                "Alice <alice@example.org>",
                Some(SIG),
            );
            let v1 = git.add_tag(
                unsigned,
                ObjectKind::Commit,
                "v1",
                "Alice <alice@example.org>",
                Some(SIG),
            );
            git.set_ref("refs/heads/main", unsigned);
            git.set_ref("refs/tags/v0", v0);
            git.set_ref("refs/tags/v1", v1);
            git.set_ref("refs/tags/light", base);
            Repo {
                git,
                base,
                bobs,
                unsigned,
                v0,
                v1,
            }
        }

        fn verifier() -> FakeVerifier {
            FakeVerifier::new().answer(SIG, good_by("alice"))
        }

        #[test]
        fn a_range_lists_its_commits_and_the_tags_on_them() {
            let r = repo();
            let range = format!("{}..main", r.base);
            let items = list_objects(&r.git, false, &[range]).expect("lists");
            let ids: Vec<ObjectId> = items.iter().map(Item::id).collect();
            assert_eq!(ids, [r.unsigned, r.bobs, r.v1]);
            let all = list_objects(&r.git, true, &[]).expect("lists");
            let ids: Vec<ObjectId> = all.iter().map(Item::id).collect();
            assert_eq!(
                ids,
                [r.unsigned, r.bobs, r.base, r.v0, r.v1],
                "no lightweight tag"
            );
            let mut empty = FakeRepo::new(HashKind::Sha1);
            empty.set_head(Some("main"));
            assert!(list_objects(&empty, false, &[]).expect("lists").is_empty());
        }

        #[test]
        fn verdicts_per_object_on_several_threads() {
            let r = repo();
            let (p, v, records) = (policy(), verifier(), HashMap::new());
            let ctx = Ctx {
                policy: &p,
                verifier: &v,
                records: &records,
                now: 1_800_000_000,
                identity: IdentityBinding::Committer,
            };
            let items = list_objects(&r.git, true, &[]).expect("lists");
            for jobs in [1, 2] {
                let lines = check_all(&ctx, &r.git, &items, jobs).expect("checks");
                let got: Vec<(&str, &str, char)> = lines
                    .iter()
                    .map(|l| (l.id(), l.verdict.as_str(), l.git))
                    .collect();
                let (u, b, a, t0, t1) = (
                    r.unsigned.to_string(),
                    r.bobs.to_string(),
                    r.base.to_string(),
                    r.v0.to_string(),
                    r.v1.to_string(),
                );
                assert_eq!(
                    got,
                    [
                        (u.as_str(), "no_signature", 'N'),
                        (b.as_str(), "identity_mismatch", 'G'),
                        (a.as_str(), "good", 'G'),
                        (t0.as_str(), "good", 'G'),
                        (t1.as_str(), "good", 'G'),
                    ],
                    "jobs={jobs}"
                );
                assert_eq!(lines[1].signer.as_deref(), Some("alice"));
                assert_eq!(lines[1].identity.as_deref(), Some("bob"));
                assert_eq!(lines[4].name.as_deref(), Some("v1"));
            }
        }

        #[test]
        fn a_record_of_the_server_stands_for_the_object() {
            let r = repo();
            let (p, v) = (policy(), verifier());
            let rec = Record {
                object_id: r.unsigned.to_string(),
                object_type: crate::records::ObjectType::Commit,
                repo: "r".into(),
                ref_name: "refs/heads/main".into(),
                verdict: "no_signature".into(),
                signer: None,
                key: None,
                reason: Some("pushed by an admin bypass".into()),
                policy_hash: "h".into(),
                received_at: 1_700_000_000,
            };
            let records: HashMap<ObjectId, Record> = [(r.unsigned, rec)].into_iter().collect();
            let ctx = Ctx {
                policy: &p,
                verifier: &v,
                records: &records,
                now: 1_800_000_000,
                identity: IdentityBinding::Committer,
            };
            let lines = check_one(&ctx, &r.git, &Item::Commit(r.unsigned)).expect("checks");
            assert_eq!(lines[0].basis, Basis::Recorded);
            assert_eq!(
                lines[0].reason.as_deref(),
                Some("pushed by an admin bypass")
            );
            assert_eq!(lines[0].ref_name.as_deref(), Some("refs/heads/main"));
        }

        #[test]
        fn under_a_ref_the_rulesets_of_that_ref_judge_the_good_lines() {
            let r = repo();
            let p = Policy::from_yaml(
                "version: 1\nidentities:\n  alice:\n    emails: [alice@example.org]\n  bob:\n    emails: [bob@example.org]\nrulesets:\n  - name: bob-signs\n    target: branch\n    include: [main]\n    rules:\n      required_signatures: {signers: [bob]}\n",
            )
            .expect("policy");
            let (v, records) = (verifier(), HashMap::new());
            let ctx = Ctx {
                policy: &p,
                verifier: &v,
                records: &records,
                now: 1_800_000_000,
                identity: IdentityBinding::Committer,
            };
            let items = vec![Item::Commit(r.base)];
            let mut lines = check_all(&ctx, &r.git, &items, 1).expect("checks");
            assert_eq!(lines[0].verdict, "good");
            judge_under_ref(&ctx, &r.git, "r", "refs/heads/main", &mut lines).expect("judges");
            assert_ne!(lines[0].verdict, "good", "alice may not sign for main");
            assert_eq!(
                lines[0].rule.as_deref(),
                Some("required_signatures (bob-signs)")
            );
        }
    }
}
