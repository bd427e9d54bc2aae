//! Reading reviewers' approvals for the `pull_request` rule: each a DSSE envelope in a blob
//! named by a ref under [`APPROVALS_PREFIX`], parsed and its signatures verified here; whether
//! one counts for an update is the engine's decision (`rules::engine`'s `review.rs`).
//!
//! Layout: `refs/pushguard/approvals/<target ref>/<reviewer>/<anything>`, e.g.
//! `refs/pushguard/approvals/heads/main/bob/1a2b3c4d`: one ref per approval, so
//! approvals never conflict. The approvals that judge a push are those the repository holds
//! before it plus those the same push brings (an atomic push of approvals with the change).

use super::{Push, Update};
use crate::git::{GitRead, ObjectId};
use anyhow::Result;
use crypto::approval::{ApprovalVerifier, Envelope, Statement, Verdict};
use rules::facts::{Approval, ApprovalVerdict, KeyVerdict, SignatureCheck, Timestamp};
use std::collections::BTreeMap;

pub use rules::engine::APPROVALS_PREFIX;

/// The most approvals read for one ref. Beyond, the push is refused (fail closed): leaving
/// some out could drop a reviewer's rejection or revocation, and any identity can store
/// approvals under its own name.
pub const MAX_APPROVALS_PER_REF: usize = 5000;

/// How long a verified approval is trusted without verifying it again: a key may expire or be
/// revoked (a reload of the policy empties the cache at once).
const CACHE_SECONDS: Timestamp = 600;

/// The most approvals kept.
const CACHE_ENTRIES: usize = 100_000;

/// Approvals read and verified, by object id, with when.
#[derive(Debug, Default)]
pub struct ApprovalCache(
    std::sync::Mutex<std::collections::HashMap<ObjectId, (Timestamp, Approval)>>,
);

impl ApprovalCache {
    fn get(&self, id: ObjectId, now: Timestamp) -> Option<Approval> {
        let map = self.0.lock().ok()?;
        map.get(&id)
            .filter(|(at, _)| now.saturating_sub(*at) < CACHE_SECONDS && *at <= now)
            .map(|(_, a)| a.clone())
    }

    fn put(&self, id: ObjectId, now: Timestamp, approval: &Approval) {
        if let Ok(mut map) = self.0.lock() {
            if map.len() >= CACHE_ENTRIES {
                map.retain(|_, (at, _)| now.saturating_sub(*at) < CACHE_SECONDS);
                if map.len() >= CACHE_ENTRIES {
                    map.clear();
                }
            }
            map.insert(id, (now, approval.clone()));
        }
    }
}

/// The largest envelope read (a signed approval is about 2 KB).
const MAX_ENVELOPE_BYTES: u64 = 64 << 10;

/// The approvals for `target_refs`: the repository's (`existing`, the refs before the push with
/// the object each names) updated by the push's own updates under [`APPROVALS_PREFIX`].
#[allow(clippy::too_many_arguments)]
pub(super) fn read(
    git: &dyn GitRead,
    verifier: &dyn ApprovalVerifier,
    cache: Option<&ApprovalCache>,
    now: Timestamp,
    target_refs: &[String],
    existing: &[(String, ObjectId)],
    push: &Push,
    limit: usize,
) -> Result<Vec<Approval>> {
    let mut out = Vec::new();
    for target in target_refs {
        let prefix = format!("{APPROVALS_PREFIX}{}/", target.trim_start_matches("refs/"));
        let mut refs: BTreeMap<&str, ObjectId> = existing
            .iter()
            .filter(|(name, _)| name.starts_with(&prefix))
            .map(|(name, id)| (name.as_str(), *id))
            .collect();
        for Update { name, new, .. } in &push.updates {
            if name.starts_with(&prefix) {
                match new {
                    Some(id) => refs.insert(name.as_str(), *id),
                    None => refs.remove(name.as_str()),
                };
            }
        }
        if refs.len() > limit {
            anyhow::bail!(
                "{target} has {} approvals stored under {prefix}, more than the {limit} pushguard reads: reading only some could miss a rejection, so the push cannot be judged; ask your git administrator to delete stale approvals",
                refs.len()
            );
        }
        for (_, id) in refs {
            out.push(cached(git, verifier, cache, now, target, id));
        }
    }
    Ok(out)
}

/// The approvals the push itself writes to [`APPROVALS_PREFIX`] that `read` did not read
/// (the engine checks each is the pusher's own).
pub(super) fn pushed(
    git: &dyn GitRead,
    verifier: &dyn ApprovalVerifier,
    cache: Option<&ApprovalCache>,
    now: Timestamp,
    push: &Push,
    read_already: &[Approval],
) -> Vec<Approval> {
    let mut out: Vec<Approval> = Vec::new();
    for u in &push.updates {
        let (Some(rest), Some(id)) = (u.name.strip_prefix(APPROVALS_PREFIX), u.new) else {
            continue;
        };
        let hex = id.to_string();
        if read_already.iter().chain(out.iter()).any(|a| a.id == hex) {
            continue;
        }
        // `<target ref without refs/>/<reviewer>/<id>`
        let target = rest
            .rsplitn(3, '/')
            .nth(2)
            .map_or_else(|| rest.to_string(), |t| format!("refs/{t}"));
        out.push(cached(git, verifier, cache, now, &target, id));
    }
    out
}

/// [`one`], from the cache when it was verified lately. An object id names its bytes, so only
/// the keys' validity can change the outcome: hence the time limit.
fn cached(
    git: &dyn GitRead,
    verifier: &dyn ApprovalVerifier,
    cache: Option<&ApprovalCache>,
    now: Timestamp,
    target: &str,
    id: ObjectId,
) -> Approval {
    if let Some(a) = cache.and_then(|c| c.get(id, now)) {
        return a;
    }
    let a = one(git, verifier, now, target, id);
    if let Some(c) = cache {
        c.put(id, now, &a);
    }
    a
}

/// One approval as the engine sees it; one that cannot be read or verified is kept, with a
/// signature verdict saying why, so the pusher is told about it.
fn one(
    git: &dyn GitRead,
    verifier: &dyn ApprovalVerifier,
    now: Timestamp,
    target: &str,
    id: ObjectId,
) -> Approval {
    let refused = |verdict: KeyVerdict, detail: String| Approval {
        id: id.to_string(),
        signature: SignatureCheck {
            verdict,
            detail: Some(detail),
            ..SignatureCheck::default()
        },
        target_ref: target.to_string(),
        ..Approval::default()
    };
    let bytes = match git.size(id) {
        Ok(n) if n > MAX_ENVELOPE_BYTES => {
            return refused(KeyVerdict::Malformed, format!("{n} bytes: not an approval"))
        }
        Ok(_) => match git.blob(id) {
            Ok(b) => b,
            Err(e) => return refused(KeyVerdict::Malformed, format!("{e:#}")),
        },
        Err(e) => return refused(KeyVerdict::Malformed, format!("{e:#}")),
    };
    let envelope = match Envelope::parse(&bytes) {
        Ok(e) => e,
        Err(e) => return refused(KeyVerdict::Malformed, e.to_string()),
    };
    // DSSE's order: the signatures over the envelope first, the payload only once one verifies.
    let pae = envelope.pae();
    let checks: Vec<SignatureCheck> = envelope
        .signatures
        .iter()
        .take(crypto::approval::MAX_SIGNATURES)
        .map(|s| verifier.verify_approval_signature(&s.sig, &pae, now))
        .collect();
    let mut good = checks
        .iter()
        .filter(|c| c.verdict == KeyVerdict::Good && c.identity.is_some());
    let signature = match good.next() {
        None => match checks.into_iter().next() {
            Some(first) => first,
            None => return refused(KeyVerdict::NoSignature, "the envelope is not signed".into()),
        },
        Some(first) => {
            // An approval has one author: keys of two identities on one envelope is refused.
            if good.any(|c| c.identity != first.identity) {
                return refused(
                    KeyVerdict::Malformed,
                    "signed by keys of several identities".into(),
                );
            }
            first.clone()
        }
    };
    if signature.verdict != KeyVerdict::Good {
        // Not read further: the engine names it by its signature's verdict.
        return Approval {
            id: id.to_string(),
            signature,
            target_ref: target.to_string(),
            ..Approval::default()
        };
    }
    let statement = match Statement::parse(&envelope.payload) {
        Ok(s) => s,
        Err(e) => return refused(KeyVerdict::Malformed, e.to_string()),
    };
    let p = statement.predicate;
    Approval {
        id: id.to_string(),
        signature,
        target_ref: p.target_ref,
        from_id: (!p.from_id.bytes().all(|b| b == b'0')).then_some(p.from_id),
        target_tree: p.target_id,
        patch_id: p.patch_id,
        verdict: match p.verdict {
            Verdict::Approve => ApprovalVerdict::Approve,
            Verdict::Reject => ApprovalVerdict::Reject,
            Verdict::Revoke => ApprovalVerdict::Revoke,
        },
        issued_at: p.issued_at,
        expires_at: Some(p.expires_at),
    }
}
