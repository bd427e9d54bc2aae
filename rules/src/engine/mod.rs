//! `evaluate`: scope rulesets to refs, run their rules, gather the violations. All rulesets that
//! match a ref apply together; any violation rejects the change (the strictest result wins).

use crate::facts::{
    Change, Commit, KeyVerdict, ObjectKind, Person, RefUpdate, SignatureCheck, Tag,
};
use crate::policy::{
    Actor, Attestation, Identity, IdentityBinding, LargeBlob, OnError, Policy, RuleSpec, Ruleset,
    SecretScanning, SecretSeverity, Signatures, Target,
};
use crate::report::{Code, Report, SecretDetail, Violation};

/// The push option that asks to let one detected secret through:
/// `git push -o pushguard.secret-bypass=FINGERPRINT:REASON`.
pub const SECRET_BYPASS_OPTION: &str = "pushguard.secret-bypass=";

/// Reasons a secret bypass may give.
pub const SECRET_BYPASS_REASONS: [&str; 3] = ["false_positive", "used_in_tests", "will_fix_later"];

/// Where a rule's findings go.
#[derive(Default)]
struct Sinks {
    /// Violations; the ruleset's bypass actors pass them (except secrets, see below).
    found: Vec<Violation>,
    /// Violations let through by an explicit, authorised bypass (audited).
    bypassed: Vec<Violation>,
    /// Shown, never blocking.
    warnings: Vec<Violation>,
}

/// Judge a change against a policy. Pure and deterministic.
pub fn evaluate(policy: &Policy, change: &Change) -> Report {
    // A push certificate with a fresh nonce, signed by a known key, names the pusher more
    // strongly than any environment variable.
    let certified = change.push_certificate.as_ref().and_then(|c| {
        (c.nonce_status == "OK" && c.matches_push && c.signature.verdict == KeyVerdict::Good)
            .then_some(c.signature.identity.as_deref())
            .flatten()
            .and_then(|n| policy.identity(n))
    });
    let pusher = certified.or_else(|| {
        change
            .pusher
            .as_deref()
            .and_then(|u| policy.identity_for_user(u))
    });
    let mut report = Report {
        allowed: true,
        pusher_identity: pusher.map(|i| i.name.clone()),
        pusher_certified: certified.is_some(),
        ..Report::default()
    };
    for update in &change.updates {
        // A symbolic ref moves the ref it names: the rulesets of every name in the chain apply,
        // each once.
        let mut governing: Vec<(&Ruleset, Option<&str>)> = Vec::new();
        for (name, via) in std::iter::once((&update.name, None))
            .chain(update.resolves_to.iter().map(|t| (t, Some(t.as_str()))))
        {
            for ruleset in policy.rulesets_for(name, change.default_branch.as_deref()) {
                if !governing.iter().any(|(r, _)| r.name == ruleset.name) {
                    governing.push((ruleset, via));
                }
            }
        }
        for (i, &(ruleset, via)) in governing.iter().enumerate() {
            let mut sinks = Sinks::default();
            let ctx = |rule| Ctx {
                policy,
                change,
                ruleset,
                rule,
                update,
                pusher,
                via,
            };
            for rule in &ruleset.rules {
                ctx(rule).check(&mut sinks);
            }
            if i == 0 && policy.settings.tag_names_match_refs {
                if let Some(rule) = ruleset.rules.first() {
                    ctx(rule).check_tag_name(&mut sinks.found);
                }
            }
            let bypass = ruleset_bypass(ruleset, pusher);
            for v in sinks.found {
                // A detected secret is never passed wholesale: even bypass actors name each
                // secret they let through (see `SECRET_BYPASS_OPTION`).
                if bypass && v.code != Code::SecretDetected {
                    report.bypassed.push(v);
                } else {
                    report.violations.push(v);
                }
            }
            report.bypassed.extend(sinks.bypassed);
            report.warnings.extend(sinks.warnings);
        }
    }
    report.allowed = report.violations.is_empty();
    report
}

fn ruleset_bypass(ruleset: &Ruleset, pusher: Option<&Identity>) -> bool {
    pusher.is_some_and(|id| ruleset.bypass.iter().any(|a| Policy::actor_matches(a, id)))
}

struct Ctx<'a> {
    policy: &'a Policy,
    change: &'a Change,
    ruleset: &'a Ruleset,
    rule: &'a RuleSpec,
    update: &'a RefUpdate,
    pusher: Option<&'a Identity>,
    /// The ref a symbolic ref resolves to, when the ruleset governs that one.
    via: Option<&'a str>,
}

impl Ctx<'_> {
    fn violation(&self, code: Code, message: String, fix: String) -> Violation {
        let message = match self.via {
            Some(target) => format!(
                "{message} ({} is a symbolic ref to {target})",
                self.update.name
            ),
            None => message,
        };
        Violation {
            rule: self.rule.name().to_string(),
            ruleset: self.ruleset.name.clone(),
            ref_name: self.update.name.clone(),
            commit: None,
            subject: None,
            path: None,
            line: None,
            code,
            message,
            fix,
            secret: None,
            bypass_reason: None,
        }
    }

    fn allowed(&self, allow: &[Actor]) -> bool {
        self.pusher
            .is_some_and(|id| allow.iter().any(|a| Policy::actor_matches(a, id)))
    }

    fn who_may(&self, allow: &[Actor], verb: &str) -> String {
        if allow.is_empty() {
            format!("nobody may {verb} it")
        } else {
            let names: Vec<String> = allow.iter().map(ToString::to_string).collect();
            format!("only {} may {verb} it", names.join(", "))
        }
    }

    /// The pusher as the messages name them. An unidentified pusher is told why: the name the
    /// server gave is no identity of the policy, or the server set none of the variables the
    /// policy reads (`pusher.env`), which are named so that an admin sees what is missing.
    fn pusher_text(&self) -> String {
        if let Some(id) = self.pusher {
            return id.name.clone();
        }
        match self.change.pusher.as_deref() {
            Some(user) => {
                format!("an unidentified pusher ({user:?} is not an identity of the policy)")
            }
            None => format!(
                "an unidentified pusher (expected the server to set {})",
                match self.policy.pusher_env.as_slice() {
                    [one] => one.clone(),
                    many => format!("one of {}", many.join(", ")),
                }
            ),
        }
    }

    /// The fix for a pusher an allow list does not name: `fix`, unless the server named nobody
    /// (then only the admin can help).
    fn allow_list_fix(&self, fix: &str) -> String {
        if self.pusher.is_none() && self.change.pusher.is_none() {
            "the git server did not say who you are: ask your git administrator (see pusher.env in the policy)".to_string()
        } else {
            fix.to_string()
        }
    }

    fn kind(&self) -> &'static str {
        match self.ruleset.target {
            Target::Branch => "branch",
            Target::Tag => "tag",
            Target::Push | Target::Ref => "ref",
        }
    }

    /// An annotated tag pushed to `refs/tags/NAME` must call itself NAME: otherwise a signed
    /// tag made for one release could be pushed as another (`v0.9` as `v2.0`).
    fn check_tag_name(&self, out: &mut Vec<Violation>) {
        let u = self.update;
        let (Some(tag), Some(name)) = (&u.tag, u.name.strip_prefix("refs/tags/")) else {
            return;
        };
        if tag.name == name {
            return;
        }
        let mut v = self.violation(
            Code::TagNameMismatch,
            format!(
                "the tag object is named {:?}, not {name:?}: a tag made for one name is being pushed under another",
                tag.name
            ),
            format!(
                "push it under its own name (refs/tags/{}), or create and sign a tag named {name} (git tag -s {name} <commit>)",
                tag.name
            ),
        );
        v.rule = "tag_name".to_string();
        v.commit = Some(tag.id.clone());
        v.subject = Some(format!("tag {}", tag.name));
        out.push(v);
    }

    fn check(&self, sinks: &mut Sinks) {
        let u = self.update;
        let out = &mut sinks.found;
        match self.rule {
            RuleSpec::Creation { allow } if u.is_create() && !self.allowed(allow) => {
                out.push(self.violation(
                    Code::RefCreated,
                    format!(
                        "{} may not create this {}: {}",
                        self.pusher_text(),
                        self.kind(),
                        self.who_may(allow, "create")
                    ),
                    self.allow_list_fix(
                        "ask someone who may create it, or push to a different name",
                    ),
                ));
            }
            RuleSpec::Update { allow } if u.is_update() && !self.allowed(allow) => {
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
            RuleSpec::Deletion { allow } if u.is_delete() && !self.allowed(allow) => {
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
            RuleSpec::NonFastForward { allow }
                if u.is_update() && !u.fast_forward && !self.allowed(allow) =>
            {
                let old = short(u.old.as_deref().unwrap_or_default());
                let new = short(u.new.as_deref().unwrap_or_default());
                out.push(self.violation(
                    Code::NonFastForward,
                    format!("force-push rewrites history: {old} is not an ancestor of {new}"),
                    "fetch, rebase onto the remote branch (git pull --rebase), then push without --force"
                        .to_string(),
                ));
            }
            RuleSpec::RequiredLinearHistory => {
                for c in u.commits.iter().filter(|c| c.parents.len() > 1) {
                    let mut v = self.violation(
                        Code::MergeCommit,
                        format!("merge commit ({} parents) in a branch that requires linear history", c.parents.len()),
                        "rebase instead of merging (git rebase <upstream> or git pull --rebase), then push"
                            .to_string(),
                    );
                    v.commit = Some(c.id.clone());
                    v.subject = Some(c.subject.clone());
                    out.push(v);
                }
            }
            RuleSpec::RequiredSignatures(sig) => self.check_signatures(sig, out),
            RuleSpec::FullAttestation(att) => self.check_attestation(att, out),
            RuleSpec::RequiredPushCertificate { allow } => self.check_push_certificate(allow, out),
            RuleSpec::SecretScanning(sc) => self.check_secrets(sc, sinks),
            _ => {}
        }
    }

    fn check_secrets(&self, sc: &SecretScanning, sinks: &mut Sinks) {
        let u = self.update;
        if u.is_delete() {
            return;
        }
        let Some(scan) = &self.change.secrets else {
            // The rule applies but no scan ran: that cannot be decided, so it is refused.
            sinks.found.push(self.violation(
                Code::ScanIncomplete,
                "the secret scan did not run for this push".to_string(),
                "try again; if it persists, tell your git administrator".to_string(),
            ));
            return;
        };
        let now = self.change.now;
        let bypass_actor = ruleset_bypass(self.ruleset, self.pusher);
        for f in scan.findings.iter().filter(|f| f.refs.contains(&u.name)) {
            let suppressed = sc
                .suppressions
                .iter()
                .chain(self.change.base_suppressions.iter())
                .any(|s| s.covers(&f.fingerprint, &f.rule_id, &f.secret_sha256, &f.path, now));
            if suppressed {
                continue;
            }
            let detail = SecretDetail {
                rule_id: f.rule_id.clone(),
                description: f.description.clone(),
                redacted: f.redacted.clone(),
                fingerprint: f.fingerprint.clone(),
            };
            let subject = u
                .commits
                .iter()
                .find(|c| c.id == f.commit)
                .map(|c| c.subject.clone());
            let at = |mut v: Violation| {
                v.commit = Some(f.commit.clone());
                v.subject = subject.clone();
                v.path = Some(f.path.clone());
                v.line = (f.line > 0).then_some(f.line);
                v.secret = Some(detail.clone());
                v
            };
            let warn = match self.policy.secrets.severity.get(&f.rule_id) {
                Some(SecretSeverity::Warn) => true,
                Some(SecretSeverity::Block) => false,
                None => f.warn_by_default,
            };
            if warn {
                sinks.warnings.push(at(self.violation(
                    Code::SecretWarning,
                    format!(
                        "{} ({}): severity warn, not blocking",
                        f.description, f.rule_id
                    ),
                    "if it is a real credential, revoke it and remove it from the file".to_string(),
                )));
                continue;
            }
            if f.legacy && !sc.block_legacy {
                sinks.warnings.push(at(self.violation(
                    Code::SecretLegacy,
                    format!(
                        "{} already in this file before the push (not blocking)",
                        f.description
                    ),
                    "revoke it and remove it from the file".to_string(),
                )));
                continue;
            }
            let mut v = at(self.violation(
                Code::SecretDetected,
                format!("{} ({})", f.description, f.rule_id),
                "remove the secret from every commit of the push (git rebase -i, or git commit --amend for the last one) and push again; then revoke it: it may have been seen".to_string(),
            ));
            let asked = self.change.push_options.iter().find_map(|o| {
                let (fp, reason) = o.strip_prefix(SECRET_BYPASS_OPTION)?.split_once(':')?;
                (fp == f.fingerprint).then(|| reason.trim().to_string())
            });
            match asked {
                Some(reason) if !SECRET_BYPASS_REASONS.contains(&reason.as_str()) => {
                    v.message.push_str(&format!(
                        "; bypass reason {reason:?} is not one of {}",
                        SECRET_BYPASS_REASONS.join(", ")
                    ));
                    sinks.found.push(v);
                }
                Some(reason) if bypass_actor => {
                    v.bypass_reason = Some(reason);
                    sinks.bypassed.push(v);
                }
                Some(_) => {
                    v.message.push_str(&format!(
                        "; a bypass was asked for, but {} may not bypass ruleset {}",
                        self.pusher_text(),
                        self.ruleset.name
                    ));
                    sinks.found.push(v);
                }
                None => sinks.found.push(v),
            }
        }
        for o in scan.oversized.iter().filter(|o| o.refs.contains(&u.name)) {
            let mut v = match sc.on_large_blob {
                LargeBlob::Reject => self.violation(
                    Code::BlobTooLarge,
                    format!("a {} byte file is larger than the {} byte limit for scanning", o.size, sc.max_blob_size),
                    "keep large files out of the repository (e.g. Git LFS) or ask the admin to raise max_blob_size".to_string(),
                ),
                LargeBlob::Skip => self.violation(
                    Code::BlobSkipped,
                    format!("not scanned for secrets: {} bytes is over the {} byte limit", o.size, sc.max_blob_size),
                    "make sure it holds no secrets".to_string(),
                ),
                LargeBlob::ScanPrefix => self.violation(
                    Code::BlobSkipped,
                    format!(
                        "only the first {} of its {} bytes were scanned for secrets (max_blob_size)",
                        o.scanned_bytes, o.size
                    ),
                    "make sure the rest holds no secrets".to_string(),
                ),
            };
            v.commit = Some(o.commit.clone());
            v.path = Some(o.path.clone());
            match sc.on_large_blob {
                LargeBlob::Reject => sinks.found.push(v),
                LargeBlob::Skip | LargeBlob::ScanPrefix => sinks.warnings.push(v),
            }
        }
        for b in scan.unscanned.iter().filter(|b| b.refs.contains(&u.name)) {
            let mut v = self.violation(
                Code::BlobNotScanned,
                format!("not scanned for secrets: {}", b.reason),
                "make sure it holds no secrets".to_string(),
            );
            v.commit = Some(b.commit.clone());
            v.path = Some(b.path.clone());
            sinks.warnings.push(v);
        }
        for b in scan.incomplete.iter().filter(|b| b.refs.contains(&u.name)) {
            let mut v = self.violation(
                Code::ScanIncomplete,
                format!("the secret scan of this file could not finish: {}", b.reason),
                "split the file, or remove what makes it look like many secrets; if it is a false alarm, ask the admin".to_string(),
            );
            v.commit = Some(b.commit.clone());
            v.path = Some(b.path.clone());
            sinks.found.push(v);
        }
        // The deadline is one per push: report it on the first ref this ruleset governs.
        let first = self.change.updates.iter().find(|x| {
            !x.is_delete()
                && self
                    .ruleset
                    .applies_to(&x.name, self.change.default_branch.as_deref())
        });
        if scan.deadline_expired && first.is_some_and(|x| x.name == u.name) {
            let v = self.violation(
                Code::ScanIncomplete,
                format!(
                    "the secret scan ran out of time after {} blobs ({} bytes)",
                    scan.blobs_scanned, scan.bytes_scanned
                ),
                match sc.on_deadline {
                    OnError::FailClosed => "push fewer or smaller changes at a time, or ask the admin to raise deadline_seconds".to_string(),
                    OnError::FailOpen => "the rest of the push was not scanned (on_deadline: fail_open)".to_string(),
                },
            );
            match sc.on_deadline {
                OnError::FailClosed => sinks.found.push(v),
                OnError::FailOpen => sinks.warnings.push(v),
            }
        }
    }

    /// The problem with one signed object, if any: key verdict, identity binding, signers.
    fn object_problem(
        &self,
        params: &Signatures,
        sig: &SignatureCheck,
        committer: &str,
        author: &str,
        what: &str,
    ) -> Option<(Code, String, String)> {
        let (email, role) = match (params.identity, what) {
            (IdentityBinding::Any, _) => (None, ""),
            (_, "tag") => (Some(committer), "tagger"),
            (IdentityBinding::Committer, _) => (Some(committer), "committer"),
            (IdentityBinding::Author, _) => (Some(author), "author"),
        };
        if let Some(p) = signature_problem(self.policy, sig, email, what, role) {
            return Some(p);
        }
        let signer = sig
            .identity
            .as_deref()
            .and_then(|n| self.policy.identity(n))?;
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

    fn commit_violation(
        &self,
        c: &Commit,
        (code, message, fix): (Code, String, String),
    ) -> Violation {
        let mut v = self.violation(code, message, fix);
        v.commit = Some(c.id.clone());
        v.subject = Some(c.subject.clone());
        v
    }

    fn tag_violation(
        &self,
        t: &Tag,
        (code, message, fix): (Code, String, String),
        subject: String,
    ) -> Violation {
        let mut v = self.violation(code, message, fix);
        v.commit = Some(t.id.clone());
        v.subject = Some(subject);
        v
    }

    /// The annotated tag a tag ref update pushes, or a lightweight-tag violation.
    fn check_tag_object(&self, params: &Signatures, out: &mut Vec<Violation>) {
        let u = self.update;
        match (&u.tag, u.new_kind) {
            (Some(tag), ObjectKind::Tag) => {
                let email = tag.tagger.as_ref().map(|p| p.email.as_str()).unwrap_or("");
                if let Some(p) = self.object_problem(params, &tag.signature, email, email, "tag") {
                    out.push(self.tag_violation(tag, p, format!("tag {}", tag.name)));
                }
            }
            _ => {
                let mut v = self.violation(
                    Code::LightweightTag,
                    "lightweight tag: this tag must be an annotated tag signed by a known identity"
                        .to_string(),
                    "create a signed annotated tag (git tag -s NAME) and push that".to_string(),
                );
                v.commit = u.new.clone();
                out.push(v);
            }
        }
    }

    fn check_signatures(&self, params: &Signatures, out: &mut Vec<Violation>) {
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
                "commit",
            ) {
                out.push(self.commit_violation(c, p));
            }
        }
    }

    /// `full_attestation`: every commit new to the ref verifies, through every parent of every
    /// merge; merges are signed by mergers; merged signed tags verify; merges are clean.
    fn check_attestation(&self, att: &Attestation, out: &mut Vec<Violation>) {
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
                "commit",
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
                if let Some(p) =
                    self.object_problem(&att.signatures, &t.signature, email, email, "tag")
                {
                    let (code, message, fix) = p;
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

    /// `required_push_certificate`: once per push, on the first ref this ruleset governs.
    fn check_push_certificate(&self, allow: &[Actor], out: &mut Vec<Violation>) {
        let change = self.change;
        let first = change.updates.iter().find(|x| {
            self.ruleset
                .applies_to(&x.name, change.default_branch.as_deref())
        });
        if first.is_none_or(|x| x.name != self.update.name) {
            return;
        }
        let Some(cert) = &change.push_certificate else {
            out.push(
                self.violation(
                    Code::NoPushCertificate,
                    "this push is not signed".to_string(),
                    "push with git push --signed (the server must set receive.certNonceSeed)"
                        .to_string(),
                ),
            );
            return;
        };
        if cert.nonce_status != "OK" {
            out.push(self.violation(
                Code::PushCertificateNonce,
                format!(
                    "the push certificate's nonce is {} (a replayed or stale certificate)",
                    cert.nonce_status
                ),
                "push again with git push --signed, without reusing an old certificate".to_string(),
            ));
        }
        if !cert.matches_push {
            let mut v = self.violation(
                Code::PushCertificateMismatch,
                "the push certificate signs other ref updates than this push makes".to_string(),
                "push again with git push --signed, so the certificate covers this push"
                    .to_string(),
            );
            v.commit = Some(cert.id.clone());
            out.push(v);
        }
        let params = Signatures {
            identity: IdentityBinding::Any,
            signers: (!allow.is_empty()).then(|| allow.to_vec()),
        };
        if let Some((code, message, fix)) =
            self.object_problem(&params, &cert.signature, "", "", "push certificate")
        {
            let mut v = self.violation(code, format!("push certificate: {message}"), fix);
            v.commit = Some(cert.id.clone());
            out.push(v);
        }
    }
}

/// Why a signature does not satisfy `required_signatures`, or `None` when it does.
fn signature_problem(
    policy: &Policy,
    sig: &SignatureCheck,
    email: Option<&str>,
    what: &str,
    role: &str,
) -> Option<(Code, String, String)> {
    let key = sig.key.as_deref().unwrap_or("?");
    let detail = |default: String| sig.detail.clone().unwrap_or(default);
    let resign = if what == "tag" {
        "re-create the tag signed (git tag -f -s NAME) and push it again".to_string()
    } else if what == "push certificate" {
        "push again with git push --signed, signing with a key listed for you in the policy"
            .to_string()
    } else {
        "re-sign it with your key (git commit --amend --no-edit -S; several commits: git rebase --exec 'git commit --amend --no-edit -S' <base>) and push again".to_string()
    };
    let problem = match sig.verdict {
        KeyVerdict::Good => {
            let signer = sig.identity.as_deref().and_then(|n| policy.identity(n));
            match (signer, email) {
                (Some(_), None) => return None,
                (Some(id), Some(email)) if id.has_email(email) => return None,
                (Some(id), Some(email)) => {
                    let owner = match policy.identity_for_email(email) {
                        Some(o) => format!("belongs to {}", o.name),
                        None => "belongs to no identity".to_string(),
                    };
                    (
                        Code::IdentityMismatch,
                        format!(
                            "signed with {}'s key {key}, but the {role} email <{email}> {owner}",
                            id.name
                        ),
                        format!(
                            "{} with the email of the identity that owns your key (git config user.email), or ask the admin to add <{email}> to {}",
                            if what == "tag" { "tag" } else { "commit" },
                            id.name
                        ),
                    )
                }
                (None, _) => (
                    Code::UnknownKey,
                    format!("signed with key {key}, which no identity in the policy owns"),
                    "sign with a key listed for you in the pushguard policy".to_string(),
                ),
            }
        }
        KeyVerdict::NoSignature => (
            Code::NoSignature,
            format!("{what} is not signed"),
            format!(
                "sign it: {}",
                if what == "tag" {
                    "git tag -f -s NAME, then push the tag again".to_string()
                } else {
                    "git commit --amend --no-edit -S (several commits: git rebase --exec 'git commit --amend --no-edit -S' <base>), then push again".to_string()
                }
            ),
        ),
        KeyVerdict::BadSignature => (
            Code::BadSignature,
            detail(format!("the signature does not match the {what}: it was altered after signing")),
            resign,
        ),
        KeyVerdict::UnknownKey => (
            Code::UnknownKey,
            detail(format!("signed with key {key}, which is not in the policy")),
            format!("sign with a key listed for your identity, or ask the admin to add key {key} to it"),
        ),
        KeyVerdict::ExpiredKey => (
            Code::ExpiredKey,
            detail(format!("key {key} has expired")),
            "extend the key's expiry and give the updated key to the admin, or sign with a valid key".to_string(),
        ),
        KeyVerdict::RevokedKey => (
            Code::RevokedKey,
            detail(format!("key {key} is revoked")),
            format!("{resign}, using a key that is not revoked"),
        ),
        KeyVerdict::KeyNotYetValid => (
            Code::KeyNotYetValid,
            detail(format!("key {key} is not valid yet")),
            "sign with a key that is valid now, or ask the admin to check the key's valid-after date".to_string(),
        ),
        KeyVerdict::NotSigningKey => (
            Code::NotSigningKey,
            detail(format!("key {key} is not allowed to sign")),
            "sign with a signing-capable (sub)key".to_string(),
        ),
        KeyVerdict::WrongNamespace => (
            Code::WrongNamespace,
            detail("the SSH signature was made for another namespace than git".to_string()),
            "let git make the signature (gpg.format=ssh, git commit -S)".to_string(),
        ),
        KeyVerdict::UnsupportedFormat => (
            Code::UnsupportedFormat,
            detail("the signature format is not supported".to_string()),
            "sign with OpenPGP or SSH (git config gpg.format ssh|openpgp)".to_string(),
        ),
        KeyVerdict::Malformed => (
            Code::MalformedSignature,
            detail("the signature cannot be parsed".to_string()),
            resign,
        ),
    };
    // Name the signer when the key is known but not good now (expired, revoked, ...).
    let (code, message, fix) = problem;
    let message = match (&sig.identity, sig.verdict) {
        (Some(who), v) if v != KeyVerdict::Good && !message.contains(who.as_str()) => {
            format!("signed by {who}: {message}")
        }
        _ => message,
    };
    Some((code, message, fix))
}

/// Short object id for messages.
pub fn short(id: &str) -> &str {
    id.get(..10).unwrap_or(id)
}

/// A person as `Name <email>`.
pub fn person(p: &Person) -> String {
    format!("{} <{}>", p.name, p.email)
}
