//! Ref protection: who may create, move, delete or force-push a ref, and linear history.

use super::{short, Ctx};
use crate::policy::{Actor, Target};
use crate::report::{Code, Subject, Violation};

impl Ctx<'_> {
    /// `creation`: only the allow list may create the ref.
    pub(super) fn check_creation(&self, allow: &[Actor], out: &mut Vec<Violation>) {
        if !self.update.is_create() || self.allowed(allow) {
            return;
        }
        out.push(self.violation(
            Code::RefCreated,
            format!(
                "{} may not create this {}: {}",
                self.pusher_text(),
                self.kind(),
                self.who_may(allow, "create")
            ),
            self.allow_list_fix("ask someone who may create it, or push to a different name"),
        ));
    }

    /// `update`: only the allow list may move the ref (tags: nobody, unless listed).
    pub(super) fn check_update(&self, allow: &[Actor], out: &mut Vec<Violation>) {
        if !self.update.is_update() || self.allowed(allow) {
            return;
        }
        let (message, fix) = match self.ruleset.target {
            Target::Tag | Target::Push => (
                format!("tags are immutable here: {}", self.who_may(allow, "move")),
                "create a new tag instead of moving this one".to_string(),
            ),
            Target::Ref => (
                format!(
                    "{} may not move this ref: {}",
                    self.pusher_text(),
                    self.who_may(allow, "move")
                ),
                self.allow_list_fix("leave it as it is; ask an admin if it must change"),
            ),
            Target::Branch => (
                format!(
                    "{} may not push to this branch: {}",
                    self.pusher_text(),
                    self.who_may(allow, "update")
                ),
                self.allow_list_fix(
                    "push to another branch and ask someone who may update it to merge",
                ),
            ),
        };
        out.push(self.violation(Code::RefUpdated, message, fix));
    }

    /// `deletion`: only the allow list may delete the ref.
    pub(super) fn check_deletion(&self, allow: &[Actor], out: &mut Vec<Violation>) {
        if !self.update.is_delete() || self.allowed(allow) {
            return;
        }
        out.push(self.violation(
            Code::RefDeleted,
            format!(
                "this {} is protected: {}",
                self.kind(),
                self.who_may(allow, "delete")
            ),
            "keep it; ask an admin if it really must go".to_string(),
        ));
    }

    /// `non_fast_forward`: only the allow list may force-push.
    pub(super) fn check_non_fast_forward(&self, allow: &[Actor], out: &mut Vec<Violation>) {
        let u = self.update;
        if !u.is_update() || u.fast_forward || self.allowed(allow) {
            return;
        }
        let old = short(u.old.as_deref().unwrap_or_default());
        let new = short(u.new.as_deref().unwrap_or_default());
        out.push(self.violation(
            Code::NonFastForward,
            format!("force-push rewrites history: {old} is not an ancestor of {new}"),
            "fetch, rebase onto the remote branch (git pull --rebase), then push without --force"
                .to_string(),
        ));
    }

    /// `required_linear_history`: no merge commits among the commits new to the ref.
    pub(super) fn check_linear_history(&self, out: &mut Vec<Violation>) {
        for c in self.update.commits.iter().filter(|c| c.parents.len() > 1) {
            let v = self.violation(
                Code::MergeCommit,
                format!(
                    "merge commit ({} parents) in a branch that requires linear history",
                    c.parents.len()
                ),
                "rebase instead of merging (git rebase <upstream> or git pull --rebase), then push"
                    .to_string(),
            );
            out.push(v.about(
                &c.id,
                Subject::Commit {
                    subject: Some(c.subject.clone()),
                },
            ));
        }
    }
}
