//! `pull_request`: the four-eyes rule on a plain git server. A ref update needs signed
//! approvals (`Change::approvals`, verified by the collector) from enough identities independent
//! of the change (not the pusher, nor any author, committer or `Co-authored-by` of the commits
//! it brings), at least one of whom may write to the ref; a signed rejection by such a reviewer
//! blocks. An approval counts only for the update it names: the ref, the old tip it was
//! reviewed against and the resulting tree (or, with `dismiss_stale_reviews_on_push: patch_id`,
//! the same patch-id after a rebase).

use super::{short, Ctx};
use crate::codeowners::{CodeOwners, Owner, Role as OwnerRole};
use crate::facts::{Approval, ApprovalVerdict, KeyVerdict};
use crate::policy::{
    Identity, NotIndependent, Policy, PullRequest, RuleSpec, StaleReviews, NO_APPROVAL_ROLE,
    WRITE_ROLES,
};
use crate::report::{ApprovalStatus, Code, Violation};
use std::collections::{BTreeMap, BTreeSet};

/// Up to three paths, then how many more.
fn paths_text(paths: &[Vec<u8>]) -> String {
    let shown: Vec<String> = paths
        .iter()
        .take(3)
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect();
    match paths.len() {
        n if n > 3 => format!("{} and {} more", shown.join(", "), n - 3),
        _ => shown.join(", "),
    }
}

fn lines_text(lines: &[u32]) -> String {
    lines
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Why an approval does not count.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Discarded {
    Signature(String),
    OtherRef,
    Stale,
    Expired,
    NotYetIssued,
    NotIndependent(&'static str),
    MayNotApprove,
}

impl Discarded {
    fn text(&self) -> String {
        match self {
            Discarded::Signature(why) => why.clone(),
            Discarded::OtherRef => "for another ref".to_string(),
            Discarded::Stale => "stale: made for another base or result".to_string(),
            Discarded::Expired => "expired".to_string(),
            Discarded::NotYetIssued => "issued in the future".to_string(),
            Discarded::NotIndependent(who) => format!("not independent: {who} of the change"),
            Discarded::MayNotApprove => format!("role {NO_APPROVAL_ROLE} may not approve"),
        }
    }
}

impl Ctx<'_> {
    /// `pull_request` on one ref update.
    /// The violations go to `out`; returns how each approval was judged.
    pub(super) fn check_pull_request(
        &self,
        pr: &PullRequest,
        out: &mut Vec<Violation>,
    ) -> Vec<ApprovalStatus> {
        let u = self.update;
        // Deletions have their own rule; a ref that gains no commit brings nothing to review.
        if u.is_delete() || u.commits.is_empty() {
            return Vec::new();
        }
        let Some(tree) = u.new_tree.as_deref() else {
            out.push(self.violation(
                Code::ApprovalsMissing,
                "the resulting tree of this update is unknown, so no approval can be matched to it"
                    .to_string(),
                "tell your git administrator (the collector did not read the new tip)"
                    .to_string(),
            ));
            return Vec::new();
        };
        let excluded = self.not_independent(pr);
        // Each reviewer's latest verdict on this update (by issue time), and why others fell.
        let mut latest: BTreeMap<&str, &Approval> = BTreeMap::new();
        let mut discarded: BTreeMap<String, Discarded> = BTreeMap::new();
        let mut statuses: Vec<ApprovalStatus> = Vec::new();
        for a in &self.change.approvals {
            let judged = self.judge_approval(pr, a, tree, &excluded);
            statuses.push(ApprovalStatus {
                ref_name: u.name.clone(),
                ruleset: self.ruleset.name.clone(),
                approval: a.id.clone(),
                reviewer: a.signature.identity.clone(),
                verdict: a.verdict,
                counts: false,
                why: judged.as_ref().err().map(|(_, why)| why.text()),
            });
            match judged {
                Ok(who) => {
                    let newer = latest.get(who.name.as_str()).is_none_or(|b| {
                        (a.issued_at, a.id.as_str()) > (b.issued_at, b.id.as_str())
                    });
                    if newer {
                        latest.insert(who.name.as_str(), a);
                    }
                }
                Err((who, why)) => {
                    // One reason per reviewer (or per unknown signer), the most telling.
                    let key = who.unwrap_or_else(|| format!("approval {}", short(&a.id)));
                    let slot = discarded.entry(key).or_insert(why.clone());
                    if why < *slot {
                        *slot = why;
                    }
                }
            }
        }
        for st in &mut statuses {
            let standing = st
                .reviewer
                .as_deref()
                .and_then(|r| latest.get(r))
                .is_some_and(|a| a.id == st.approval);
            if standing {
                st.counts = st.verdict == ApprovalVerdict::Approve;
                if st.verdict == ApprovalVerdict::Revoke {
                    st.why = Some("withdraws the reviewer's verdict".to_string());
                }
            } else if st.why.is_none() {
                st.why = Some("superseded by the reviewer's later verdict".to_string());
            }
        }
        let mut approvers: Vec<&str> = Vec::new();
        let mut rejecters: Vec<&str> = Vec::new();
        for (who, a) in &latest {
            match a.verdict {
                ApprovalVerdict::Approve => approvers.push(who),
                ApprovalVerdict::Reject => rejecters.push(who),
                ApprovalVerdict::Revoke => {}
            }
        }
        let command = self.approve_command();
        if !rejecters.is_empty() {
            out.push(self.violation(
                Code::ChangesRequested,
                format!("changes requested by {}", rejecters.join(", ")),
                format!(
                    "address the review; the reviewer then approves the new result ({command}) or withdraws the rejection ({command} --revoke)"
                ),
            ));
        }
        let need = pr.required_approving_review_count as usize;
        let counted = if approvers.is_empty() {
            "none count".to_string()
        } else {
            format!(
                "{} count{}: {}",
                approvers.len(),
                if approvers.len() == 1 { "s" } else { "" },
                approvers.join(", ")
            )
        };
        let dropped = if discarded.is_empty() {
            String::new()
        } else {
            let list: Vec<String> = discarded
                .iter()
                .map(|(who, why)| format!("{who} ({})", why.text()))
                .collect();
            format!("; not counted: {}", list.join(", "))
        };
        if approvers.len() < need {
            out.push(self.violation(
                Code::ApprovalsMissing,
                format!(
                    "{need} approvals from reviewers independent of the change are needed, {counted}{dropped}"
                ),
                format!(
                    "ask {} more reviewer{} who neither pushed nor wrote these commits to run: {command} --push",
                    need - approvers.len(),
                    if need - approvers.len() == 1 { "" } else { "s" },
                ),
            ));
        }
        if pr.require_code_owner_review {
            self.check_code_owners(pr, &approvers, &excluded, &command, out);
        }
        if pr.require_write_approver
            && !approvers.is_empty()
            && !approvers.iter().any(|who| self.may_write(who))
        {
            out.push(self.violation(
                Code::WriteApprovalMissing,
                format!(
                    "at least one approver must be able to write to this {}; {counted}, none of whom may",
                    self.kind()
                ),
                format!(
                    "ask a reviewer who may write to it (role {}) to run: {command} --push",
                    WRITE_ROLES.join(", ")
                ),
            ));
        }
        statuses
    }

    /// `require_code_owner_review`: each changed path (GitHub) or touched section (GitLab)
    /// approved by enough of its owners, owners mapped to identities; an owner group with no
    /// identity that could approve blocks (the forges drop such owners silently).
    fn check_code_owners(
        &self,
        pr: &PullRequest,
        approvers: &[&str],
        excluded: &BTreeMap<String, &'static str>,
        command: &str,
        out: &mut Vec<Violation>,
    ) {
        let Some(file) = &self.update.code_owners else {
            return; // no CODEOWNERS: nothing is owned
        };
        let dialect = pr.code_owners_dialect.resolve(Some(&file.path), &file.text);
        let parsed = match CodeOwners::parse_cached(&file.text, dialect) {
            Ok(p) => p,
            Err(e) => {
                out.push(self.violation(
                    Code::CodeOwnerApprovalMissing,
                    format!("{} cannot be read: {e}", file.path),
                    "fix the CODEOWNERS file (pushguard cannot tell who owns what)".to_string(),
                ));
                return;
            }
        };
        let owners = &parsed.0;
        let coverage = owners.requirements(self.update.changed_paths.iter().map(String::as_bytes));
        for need in &coverage.needs {
            let names: BTreeSet<String> = need
                .owners
                .iter()
                .flat_map(|o| self.owner_identities(o))
                .collect();
            let eligible: Vec<&String> = names
                .iter()
                .filter(|n| !excluded.contains_key(*n))
                .collect();
            let approved = eligible
                .iter()
                .filter(|n| approvers.contains(&n.as_str()))
                .count();
            let want = need.approvals as usize;
            if approved >= want.max(1) {
                continue;
            }
            let paths = paths_text(&need.paths);
            let section = need
                .section
                .as_ref()
                .and_then(|s| s.name.as_deref())
                .map(|n| format!(" (section [{n}])"))
                .unwrap_or_default();
            let owner_text: Vec<String> = need.owners.iter().map(ToString::to_string).collect();
            let (message, fix) = if names.is_empty() {
                (
                    format!(
                        "{paths}{section}: {} names no identity of the policy, so nobody can approve",
                        if owner_text.is_empty() { "no owner".to_string() } else { owner_text.join(" ") }
                    ),
                    format!("fix the owners in {} (line {})", file.path, lines_text(&need.lines)),
                )
            } else if eligible.is_empty() {
                let who: Vec<String> = names
                    .iter()
                    .map(|n| format!("{n} ({})", excluded.get(n).copied().unwrap_or("excluded")))
                    .collect();
                (
                    format!(
                        "{paths}{section}: the only owners are not independent of the change: {}",
                        who.join(", ")
                    ),
                    format!("add another owner to {} for these paths, or have someone else make the change", file.path),
                )
            } else {
                (
                    format!(
                        "{paths}{section} need{} {want} approval{} from the code owners ({}), {approved} given",
                        if need.paths.len() == 1 { "s" } else { "" },
                        if want == 1 { "" } else { "s" },
                        owner_text.join(" ")
                    ),
                    format!(
                        "ask {} to run: {command} --push",
                        eligible.iter().map(|n| n.as_str()).collect::<Vec<_>>().join(" or ")
                    ),
                )
            };
            out.push(self.violation(Code::CodeOwnerApprovalMissing, message, fix));
        }
    }

    /// The identities a CODEOWNERS owner names: a user by identity or user name, an email by
    /// its identity, a team (`@org/team`) or a GitLab role (`@@maintainer`) by a role of that
    /// name.
    fn owner_identities(&self, owner: &Owner) -> Vec<String> {
        let policy = self.policy;
        let with_role = |role: &str| -> Vec<String> {
            policy
                .identities
                .iter()
                .filter(|i| i.roles.iter().any(|r| r == role))
                .map(|i| i.name.clone())
                .collect()
        };
        match owner {
            Owner::User(u) => policy
                .identity(u)
                .or_else(|| policy.identity_for_user(u))
                .map(|i| vec![i.name.clone()])
                .unwrap_or_default(),
            Owner::Email(e) => policy
                .identity_for_email(e)
                .map(|i| vec![i.name.clone()])
                .unwrap_or_default(),
            Owner::Team(t) => with_role(t),
            Owner::Role(OwnerRole::Developer) => with_role("developer"),
            Owner::Role(OwnerRole::Maintainer) => with_role("maintainer"),
            Owner::Role(OwnerRole::Owner) => with_role("owner"),
        }
    }

    /// The identities whose approvals do not count for this update, and why.
    fn not_independent(&self, pr: &PullRequest) -> BTreeMap<String, &'static str> {
        let mut out = BTreeMap::new();
        let policy = self.policy;
        let mut add = |email: &str, why: &'static str| {
            if let Some(id) = policy.identity_for_email(email) {
                out.entry(id.name.clone()).or_insert(why);
            }
        };
        for c in &self.update.commits {
            if pr.independent_of.contains(&NotIndependent::Authors) {
                add(&c.author.email, "an author");
            }
            if pr.independent_of.contains(&NotIndependent::Committers) {
                add(&c.committer.email, "a committer");
            }
            if pr.independent_of.contains(&NotIndependent::CoAuthors) {
                for p in &c.co_authors {
                    add(&p.email, "a co-author");
                }
            }
        }
        if pr.independent_of.contains(&NotIndependent::Pusher) || pr.require_last_push_approval {
            if let Some(p) = self.pusher {
                out.insert(p.name.clone(), "the pusher");
            }
        }
        out
    }

    /// Does `a` count for this update? The reviewer's identity, or the reviewer (when known)
    /// and why not.
    fn judge_approval(
        &self,
        pr: &PullRequest,
        a: &Approval,
        tree: &str,
        excluded: &BTreeMap<String, &'static str>,
    ) -> Result<&Identity, (Option<String>, Discarded)> {
        let u = self.update;
        let reviewer = a
            .signature
            .identity
            .as_deref()
            .and_then(|n| self.policy.identity(n));
        let name = reviewer.map(|r| r.name.clone());
        let fail = |why| Err((name.clone(), why));
        if a.signature.verdict != KeyVerdict::Good {
            let why = a.signature.detail.clone().unwrap_or_else(|| {
                a.signature
                    .verdict
                    .refusal_code()
                    .map_or("not verified", Code::as_str)
                    .replace('_', " ")
            });
            return fail(Discarded::Signature(why));
        }
        let Some(reviewer) = reviewer else {
            return fail(Discarded::Signature(
                "signed by a key no identity owns".to_string(),
            ));
        };
        let target = self.via.unwrap_or(&u.name);
        if a.target_ref != target && a.target_ref != u.name {
            return fail(Discarded::OtherRef);
        }
        let exact = a.from_id == u.old && a.target_tree == tree;
        let same_patch = pr.dismiss_stale_reviews_on_push == StaleReviews::PatchId
            && a.patch_id.is_some()
            && a.patch_id == u.patch_id;
        if !exact && !same_patch {
            return fail(Discarded::Stale);
        }
        let now = self.change.now;
        if a.expires_at.is_some_and(|e| e <= now) {
            return fail(Discarded::Expired);
        }
        // A clock a few minutes ahead on the reviewer's machine is not a forgery.
        if a.issued_at > now + 300 {
            return fail(Discarded::NotYetIssued);
        }
        if let Some(why) = excluded.get(&reviewer.name) {
            return fail(Discarded::NotIndependent(why));
        }
        if reviewer.roles.iter().any(|r| r == NO_APPROVAL_ROLE) {
            return fail(Discarded::MayNotApprove);
        }
        Ok(reviewer)
    }

    /// May identity `name` write to this ref? The ruleset's `update` allow list when it has
    /// one, else a write role.
    fn may_write(&self, name: &str) -> bool {
        let Some(id) = self.policy.identity(name) else {
            return false;
        };
        let allow = self.ruleset.rules.iter().find_map(|r| match r {
            RuleSpec::Update { allow } => Some(allow),
            _ => None,
        });
        match allow {
            Some(allow) => allow.iter().any(|a| Policy::actor_matches(a, id)),
            None => id.roles.iter().any(|r| WRITE_ROLES.contains(&r.as_str())),
        }
    }

    /// The command a reviewer runs to approve this update.
    fn approve_command(&self) -> String {
        let u = self.update;
        let base = match u.old.as_deref() {
            Some(old) => format!(" --base {}", short(old)),
            None => String::new(),
        };
        format!(
            "pushguard approve --ref {}{base} {}",
            u.name,
            short(u.new.as_deref().unwrap_or_default())
        )
    }
}

/// Where approvals live: `refs/pushguard/approvals/<target ref without refs/>/<reviewer>/<id>`.
pub const APPROVALS_PREFIX: &str = "refs/pushguard/approvals/";

/// The built-in guard of the approvals namespace, when a `pull_request` rule exists: a pusher
/// writes and deletes only their own approvals (the `<reviewer>` part of the ref is the pusher,
/// and a pushed approval is signed by the pusher), so nobody can remove, replace or forge
/// another reviewer's verdict.
pub(super) fn check_approval_ref(
    change: &crate::facts::Change,
    update: &crate::facts::RefUpdate,
    pusher: Option<&Identity>,
) -> Option<Violation> {
    let rest = update.name.strip_prefix(APPROVALS_PREFIX)?;
    let mut parts = rest.rsplitn(3, '/');
    let (_id, owner) = (parts.next(), parts.next());
    let violation = |message: String, fix: &str| {
        Some(Violation::on_ref(
            "approvals",
            "pushguard",
            &update.name,
            Code::ApprovalNotOwn,
            message,
            fix.to_string(),
        ))
    };
    let (Some(owner), Some(_target)) = (owner, parts.next()) else {
        return violation(
            "not an approval ref: expected refs/pushguard/approvals/<ref>/<reviewer>/<id>".into(),
            "push approvals with pushguard approve --push",
        );
    };
    let Some(pusher) = pusher else {
        return violation(
            "approvals may only be pushed by an identified reviewer".into(),
            "ask your git administrator (see pusher.env in the policy)",
        );
    };
    let named = owner == pusher.name
        || pusher.usernames.iter().any(|u| u == owner)
        || pusher.has_email(owner);
    if !named {
        return violation(
            format!(
                "{} may not write or delete {owner}'s approvals",
                pusher.name
            ),
            "push your own approvals only, under your own name",
        );
    }
    let Some(new) = update.new.as_deref() else {
        return None; // a reviewer deletes their own approval
    };
    let approval = change.approvals.iter().find(|a| a.id == new);
    match approval {
        Some(a)
            if a.signature.verdict == KeyVerdict::Good
                && a.signature.identity.as_deref() == Some(pusher.name.as_str()) =>
        {
            None
        }
        Some(a) => violation(
            format!(
                "this approval is not signed by {}: {}",
                pusher.name,
                a.signature
                    .detail
                    .clone()
                    .or_else(|| a
                        .signature
                        .identity
                        .as_ref()
                        .map(|i| format!("signed by {i}")))
                    .unwrap_or_else(|| "its signature does not verify".into())
            ),
            "sign approvals with your own key (pushguard approve)",
        ),
        None => violation(
            "this is not an approval pushguard could read".into(),
            "push approvals with pushguard approve --push",
        ),
    }
}
