//! `required_signatures`, and the check of one signed object that every signature-reading rule
//! shares: the verifier's verdict and the identity binding ([`crate::identity`]), then the
//! rule's `signers`. What the pusher is told about a refused signature is written here.

use super::Ctx;
use crate::facts::{Commit, KeyVerdict, ObjectKind, SignatureCheck};
use crate::identity::{bind, bound_email, Binding, Refusal};
use crate::policy::{Policy, Signatures, Target};
use crate::report::{Code, Subject, Violation};
use std::fmt;

/// A reason code, what is wrong and how to fix it: a violation before it has a place.
pub(super) type Problem = (Code, String, String);

/// What a signature is on, as messages name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Signed {
    Commit,
    Tag,
    PushCertificate,
}

impl fmt::Display for Signed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Signed::Commit => "commit",
            Signed::Tag => "tag",
            Signed::PushCertificate => "push certificate",
        })
    }
}

impl Ctx<'_> {
    /// `required_signatures`: per target, the annotated tag the ref names and/or the commits
    /// new to the ref.
    pub(super) fn check_signatures(&self, params: &Signatures, out: &mut Vec<Violation>) {
        let u = self.update;
        if u.is_delete() {
            return;
        }
        match self.ruleset.target {
            // Validation keeps required_signatures out of push rulesets.
            Target::Push => {}
            Target::Tag => self.check_tag_object(params, out),
            Target::Branch => self.check_commit_signatures(params, out),
            // Any ref: the annotated tag it names (if it names one) and the commits.
            Target::Ref => {
                if u.new_kind == ObjectKind::Tag {
                    self.check_tag_object(params, out);
                }
                self.check_commit_signatures(params, out);
            }
        }
    }

    fn check_commit_signatures(&self, params: &Signatures, out: &mut Vec<Violation>) {
        for c in &self.update.commits {
            if let Some(p) = self.object_problem(
                params,
                &c.signature,
                &c.committer.email,
                &c.author.email,
                Signed::Commit,
            ) {
                out.push(self.commit_violation(c, p));
            }
        }
    }

    /// The problem with one signed object, if any: key verdict and identity binding (one
    /// decision, [`bind`]), then the rule's signers. For a tag, `committer` and `author` are
    /// the tagger's email.
    pub(super) fn object_problem(
        &self,
        params: &Signatures,
        sig: &SignatureCheck,
        committer: &str,
        author: &str,
        what: Signed,
    ) -> Option<Problem> {
        let (email, role) = bound_email(params.identity, committer, author, what == Signed::Tag);
        let signer = match bind(self.policy, sig, email, role) {
            Binding::Good(signer) => signer,
            Binding::Refused(r) => return Some(refusal_problem(&r, sig, what)),
        };
        match &params.signers {
            Some(list) if !list.iter().any(|a| Policy::actor_matches(a, signer)) => Some((
                Code::NotAuthorized,
                format!(
                    "signed by {}, who may not sign for this {}: {}",
                    signer.name,
                    self.kind(),
                    self.who_may(list, "sign for")
                ),
                "have it signed by someone allowed, or ask the admin to add you to the signers"
                    .to_string(),
            )),
            _ => None,
        }
    }

    /// A violation of this rule about commit `c`.
    pub(super) fn commit_violation(&self, c: &Commit, (code, message, fix): Problem) -> Violation {
        self.violation(code, message, fix).about(
            &c.id,
            Subject::Commit {
                subject: Some(c.subject.clone()),
            },
        )
    }
}

/// What the pusher is told about a refused signature on `what`: the code, the message and the
/// fix.
fn refusal_problem(r: &Refusal, sig: &SignatureCheck, what: Signed) -> Problem {
    let resign = match what {
        Signed::Tag => "re-create the tag signed (git tag -f -s NAME) and push it again",
        Signed::PushCertificate => {
            "push again with git push --signed, signing with a key listed for you in the policy"
        }
        Signed::Commit => "re-sign it with your key (git commit --amend --no-edit -S; several commits: git rebase --exec 'git commit --amend --no-edit -S' <base>) and push again",
    }
    .to_string();
    let (message, fix) = match r {
        Refusal::Mismatch { signer, email, .. } => (
            r.reason(),
            format!(
                "{} with the email of the identity that owns your key (git config user.email), or ask the admin to add <{email}> to {signer}",
                if what == Signed::Tag { "tag" } else { "commit" },
            ),
        ),
        Refusal::UnownedKey { .. } => (
            r.reason(),
            "sign with a key listed for you in the pushguard policy".to_string(),
        ),
        Refusal::Unsigned => (
            format!("{what} is not signed"),
            format!(
                "sign it: {}",
                if what == Signed::Tag {
                    "git tag -f -s NAME, then push the tag again"
                } else {
                    "git commit --amend --no-edit -S (several commits: git rebase --exec 'git commit --amend --no-edit -S' <base>), then push again"
                }
            ),
        ),
        Refusal::Key {
            verdict,
            key,
            detail,
            ..
        } => {
            let key = key.as_deref().unwrap_or("?");
            // The verifier's words, when it gave any, say it best.
            let detail = |default: String| detail.clone().unwrap_or(default);
            match verdict {
                KeyVerdict::BadSignature => (
                    detail(format!("the signature does not match the {what}: it was altered after signing")),
                    resign,
                ),
                KeyVerdict::UnknownKey => (
                    detail(format!("signed with key {key}, which is not in the policy")),
                    format!("sign with a key listed for your identity, or ask the admin to add key {key} to it"),
                ),
                KeyVerdict::ExpiredKey => (
                    detail(format!("key {key} has expired")),
                    "extend the key's expiry and give the updated key to the admin, or sign with a valid key".to_string(),
                ),
                KeyVerdict::RevokedKey => (
                    detail(format!("key {key} is revoked")),
                    format!("{resign}, using a key that is not revoked"),
                ),
                KeyVerdict::KeyNotYetValid => (
                    detail(format!("key {key} is not valid yet")),
                    "sign with a key that is valid now, or ask the admin to check the key's valid-after date".to_string(),
                ),
                KeyVerdict::NotSigningKey => (
                    detail(format!("key {key} is not allowed to sign")),
                    "sign with a signing-capable (sub)key".to_string(),
                ),
                KeyVerdict::WrongNamespace => (
                    detail("the SSH signature was made for another namespace than git".to_string()),
                    "let git make the signature (gpg.format=ssh, git commit -S)".to_string(),
                ),
                KeyVerdict::UnsupportedFormat => (
                    detail("the signature format is not supported".to_string()),
                    "sign with OpenPGP or SSH (git config gpg.format ssh|openpgp)".to_string(),
                ),
                KeyVerdict::Malformed => (
                    detail("the signature cannot be parsed".to_string()),
                    resign,
                ),
                KeyVerdict::NotVerified => (
                    format!("the {what}'s signature was not verified (an internal error of the server)"),
                    "push again; if it persists, tell your git administrator".to_string(),
                ),
                // `bind` refuses these as `Unsigned`, or not at all.
                KeyVerdict::Good | KeyVerdict::NoSignature => (r.reason(), resign),
            }
        }
    };
    // Name the signer when the key is known but not good now (expired, revoked, ...).
    let message = match (&sig.identity, sig.verdict) {
        (Some(who), v) if v != KeyVerdict::Good && !message.contains(who.as_str()) => {
            format!("signed by {who}: {message}")
        }
        _ => message,
    };
    (r.code(), message, fix)
}
