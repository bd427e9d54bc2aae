//! `full_attestation`: every commit new to the ref verifies, through every parent of every
//! merge; merges are signed by mergers; merged signed tags verify; merges are clean.

use super::signatures::Signed;
use super::Ctx;
use crate::facts::ObjectKind;
use crate::policy::{Attestation, Policy, Target};
use crate::report::{Code, Violation};

impl Ctx<'_> {
    pub(super) fn check_attestation(&self, att: &Attestation, out: &mut Vec<Violation>) {
        let u = self.update;
        if u.is_delete() {
            return;
        }
        let tag_ref = self.ruleset.target == Target::Tag
            || (self.ruleset.target == Target::Ref && u.new_kind == ObjectKind::Tag);
        if tag_ref {
            self.check_tag_object(&att.signatures, out);
        }
        for c in &u.commits {
            let problem = self.object_problem(
                &att.signatures,
                &c.signature,
                &c.committer.email,
                &c.author.email,
                Signed::Commit,
            );
            let signed_ok = problem.is_none();
            if let Some(p) = problem {
                out.push(self.commit_violation(c, p));
            }
            if c.parents.len() < 2 {
                continue;
            }
            if c.parents.len() > 2 && !att.octopus {
                out.push(self.commit_violation(
                    c,
                    (
                        Code::OctopusMerge,
                        format!(
                            "octopus merge of {} parents; this branch takes merges of two",
                            c.parents.len()
                        ),
                        "merge one branch at a time".to_string(),
                    ),
                ));
            }
            let merger = c
                .signature
                .identity
                .as_deref()
                .and_then(|n| self.policy.identity(n));
            let merger_ok = match merger {
                Some(id) if signed_ok => att.mergers.iter().any(|a| Policy::actor_matches(a, id)),
                _ => false,
            };
            if signed_ok && !merger_ok {
                out.push(self.commit_violation(
                    c,
                    (
                        Code::NotAuthorized,
                        format!(
                            "merge signed by {}, who may not merge into this branch: {}",
                            merger.map(|m| m.name.as_str()).unwrap_or("?"),
                            self.who_may(&att.mergers, "merge")
                        ),
                        "ask someone allowed to merge to make and sign the merge".to_string(),
                    ),
                ));
            }
            for t in &c.mergetags {
                let email = t.tagger.as_ref().map(|p| p.email.as_str()).unwrap_or("");
                if let Some((code, message, fix)) =
                    self.object_problem(&att.signatures, &t.signature, email, email, Signed::Tag)
                {
                    out.push(self.commit_violation(
                        c,
                        (code, format!("merged tag {}: {message}", t.name), fix),
                    ));
                }
            }
            if att.clean_merge {
                let resolution_ok = att.allow_signed_resolutions && merger_ok;
                match c.clean_merge {
                    Some(true) => {}
                    _ if resolution_ok => {}
                    Some(false) => out.push(self.commit_violation(c, (
                        Code::MergeNotClean,
                        "the merge's tree differs from the clean merge of its parents: the merge commit itself changes code (or resolves a conflict)".to_string(),
                        "redo the merge without extra changes and put them in a separate commit".to_string(),
                    ))),
                    None => out.push(self.commit_violation(c, (
                        Code::MergeNotClean,
                        "the merge of the parents could not be recomputed".to_string(),
                        "tell your git administrator".to_string(),
                    ))),
                }
            }
        }
    }
}
