//! `evaluate`: scope rulesets to refs, run their rules, gather the violations. All rulesets that
//! match a ref apply together; any violation rejects the change (the strictest result wins).
//!
//! One file per rule family; each adds methods to [`Ctx`], the view of one rule of one
//! ruleset on one ref update:
//!
//! | file | rules |
//! |---|---|
//! | `protection.rs` | `creation`, `update`, `deletion`, `non_fast_forward`, `required_linear_history` |
//! | `signatures.rs` | `required_signatures`, and the signature check every other family uses |
//! | `tags.rs` | annotated and lightweight tags, tag names (`settings.tag_names_match_refs`) |
//! | `attestation.rs` | `full_attestation` |
//! | `push_certificate.rs` | `required_push_certificate` |
//! | `secrets.rs` | `secret_scanning` |
//! | `review.rs` | `pull_request`: four eyes, with signed approvals |

mod attestation;
mod protection;
mod push_certificate;
mod review;
mod secrets;
mod signatures;
mod tags;

use crate::facts::{Change, KeyVerdict, Person, RefUpdate};
use crate::policy::{Actor, Identity, Policy, RuleSpec, Ruleset, Target};
use crate::report::{Code, Report, Violation};

/// The push option that asks to let one detected secret through:
/// `git push -o pushguard.secret-bypass=FINGERPRINT:REASON`.
pub const SECRET_BYPASS_OPTION: &str = "pushguard.secret-bypass=";

/// Reasons a secret bypass may give.
pub const SECRET_BYPASS_REASONS: [&str; 3] = ["false_positive", "used_in_tests", "will_fix_later"];

pub use review::APPROVALS_PREFIX;

/// Where a rule's findings go.
#[derive(Default)]
struct Sinks {
    /// Violations; the ruleset's bypass actors pass them (except secrets, see below).
    found: Vec<Violation>,
    /// Violations let through by an explicit, authorised bypass (audited).
    bypassed: Vec<Violation>,
    /// Shown, never blocking.
    warnings: Vec<Violation>,
    /// How each approval was judged (`pull_request`).
    approvals: Vec<crate::report::ApprovalStatus>,
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
        if governing.is_empty() {
            // No ruleset applies: the ref is free, and the report says so.
            report.refs_without_ruleset.push(update.name.clone());
            continue;
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
            report.approvals.extend(sinks.approvals);
        }
    }
    if policy.reviews_changes() {
        for update in &change.updates {
            report
                .violations
                .extend(review::check_approval_ref(change, update, pusher));
        }
    }
    report.allowed = report.violations.is_empty();
    report
}

fn ruleset_bypass(ruleset: &Ruleset, pusher: Option<&Identity>) -> bool {
    pusher.is_some_and(|id| ruleset.bypass.iter().any(|a| Policy::actor_matches(a, id)))
}

/// One rule of one ruleset, applied to one ref update of a change.
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
    /// Run the rule. Every rule kind has its arm: a new one does not compile until the engine
    /// knows what it decides.
    fn check(&self, sinks: &mut Sinks) {
        let out = &mut sinks.found;
        match self.rule {
            RuleSpec::Creation { allow } => self.check_creation(allow, out),
            RuleSpec::Update { allow } => self.check_update(allow, out),
            RuleSpec::Deletion { allow } => self.check_deletion(allow, out),
            RuleSpec::NonFastForward { allow } => self.check_non_fast_forward(allow, out),
            RuleSpec::RequiredLinearHistory => self.check_linear_history(out),
            RuleSpec::RequiredSignatures(sig) => self.check_signatures(sig, out),
            RuleSpec::FullAttestation(att) => self.check_attestation(att, out),
            RuleSpec::RequiredPushCertificate { allow } => self.check_push_certificate(allow, out),
            RuleSpec::SecretScanning(sc) => self.check_secrets(sc, sinks),
            RuleSpec::PullRequest(pr) => {
                let statuses = self.check_pull_request(pr, out);
                sinks.approvals.extend(statuses);
            }
        }
    }

    /// A violation of this rule on this ref, about the ref as a whole.
    fn violation(&self, code: Code, message: String, fix: String) -> Violation {
        let message = match self.via {
            Some(target) => format!(
                "{message} ({} is a symbolic ref to {target})",
                self.update.name
            ),
            None => message,
        };
        Violation::on_ref(
            self.rule.name(),
            &self.ruleset.name,
            &self.update.name,
            code,
            message,
            fix,
        )
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
}

/// Short object id for messages.
pub fn short(id: &str) -> &str {
    id.get(..10).unwrap_or(id)
}

/// A person as `Name <email>`.
pub fn person(p: &Person) -> String {
    format!("{} <{}>", p.name, p.email)
}
