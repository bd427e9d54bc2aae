//! Identity binding: does a signature's key belong to the person the signed object names?
//!
//! One decision, made here and nowhere else: the engine (`required_signatures`,
//! `full_attestation`, push certificates), the daemon's records of accepted objects and
//! `pushguard verify` all call [`bind`]. A good signature counts only when the policy identity
//! owning the key also owns the bound email (the committer's, author's or tagger's, see
//! [`bound_email`]); with no email to bind (`identity: any`), when the key belongs to any
//! identity of the policy.
//!
//! ```
//! use rules::facts::{KeyVerdict, SignatureCheck};
//! use rules::identity::{bind, Binding, ObjectVerdict, Role};
//! use rules::{Code, Policy};
//!
//! let policy = Policy::from_yaml(
//!     "version: 1\nidentities:\n  alice: {emails: [alice@example.org]}\n  bob: {emails: [bob@example.org]}\nrulesets: []\n",
//! )?;
//! let by_bob = SignatureCheck {
//!     verdict: KeyVerdict::Good,
//!     key: Some("SHA256:k".into()),
//!     identity: Some("bob".into()),
//!     ..SignatureCheck::default()
//! };
//! // bob's key on a commit whose committer is alice:
//! let b = bind(&policy, &by_bob, Some("alice@example.org"), Role::Committer);
//! assert_eq!(b.verdict(), ObjectVerdict::Refused(Code::IdentityMismatch));
//! assert_eq!(
//!     b.reason().as_deref(),
//!     Some("signed with bob's key SHA256:k, but the committer email <alice@example.org> belongs to alice")
//! );
//! // Any identity will do:
//! assert!(matches!(bind(&policy, &by_bob, None, Role::Signer), Binding::Good(id) if id.name == "bob"));
//! # Ok::<(), rules::PolicyError>(())
//! ```

use crate::facts::{KeyVerdict, SignatureCheck};
use crate::policy::{Identity, IdentityBinding, Policy, RuleSpec, Signatures};
use crate::report::Code;
use std::fmt;

/// Whose email a signature is bound to, as messages name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Committer,
    Author,
    /// Tags are always bound to their tagger.
    Tagger,
    /// Bound to no email (`identity: any`): any identity's key will do.
    Signer,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Committer => "committer",
            Role::Author => "author",
            Role::Tagger => "tagger",
            Role::Signer => "signer",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The email a signature must be bound to under `mode`, and its role for messages; `None`: any
/// identity of the policy will do. A tag (`tag`) is bound to its tagger, whose email is passed
/// as `committer` (and `author`).
pub fn bound_email<'a>(
    mode: IdentityBinding,
    committer: &'a str,
    author: &'a str,
    tag: bool,
) -> (Option<&'a str>, Role) {
    match (mode, tag) {
        (IdentityBinding::Any, _) => (None, Role::Signer),
        (_, true) => (Some(committer), Role::Tagger),
        (IdentityBinding::Committer, false) => (Some(committer), Role::Committer),
        (IdentityBinding::Author, false) => (Some(author), Role::Author),
    }
}

/// The outcome of binding one signature to an identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Binding<'p> {
    /// A good signature by a key of this identity, which owns the bound email (or any email,
    /// when none is bound).
    Good(&'p Identity),
    /// Why the signature does not count.
    Refused(Refusal),
}

/// Why a signature does not count, with what the messages need to say so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The object carries no signature.
    Unsigned,
    /// A good signature by a key that no identity of the policy owns.
    UnownedKey { key: Option<String> },
    /// A good signature by `signer`'s key, but `signer` does not own the `role`'s `email`.
    Mismatch {
        signer: String,
        key: Option<String>,
        role: Role,
        email: String,
        /// The identity that owns `email`, if any.
        owner: Option<String>,
    },
    /// The verifier refused the signature or its key (bad, unknown, expired, revoked, ...).
    Key {
        verdict: KeyVerdict,
        /// The engine's code for `verdict` ([`KeyVerdict::refusal_code`]).
        code: Code,
        key: Option<String>,
        /// The verifier's own words, when it gave any.
        detail: Option<String>,
    },
}

impl Refusal {
    /// The engine's reason code.
    pub fn code(&self) -> Code {
        match self {
            Refusal::Unsigned => Code::NoSignature,
            Refusal::UnownedKey { .. } => Code::UnknownKey,
            Refusal::Mismatch { .. } => Code::IdentityMismatch,
            Refusal::Key { code, .. } => *code,
        }
    }

    /// Why, in one short sentence: what the daemon's records keep and `pushguard verify`
    /// prints. (The pusher is told the engine's longer message, with a fix.)
    pub fn reason(&self) -> String {
        match self {
            Refusal::Unsigned => "not signed".to_string(),
            Refusal::UnownedKey { key } => format!(
                "signed with key {}, which no identity in the policy owns",
                key.as_deref().unwrap_or("?")
            ),
            Refusal::Mismatch {
                signer,
                key,
                role,
                email,
                owner,
            } => {
                let owner = match owner {
                    Some(o) => format!("belongs to {o}"),
                    None => "belongs to no identity".to_string(),
                };
                format!(
                    "signed with {signer}'s key {}, but the {role} email <{email}> {owner}",
                    key.as_deref().unwrap_or("?")
                )
            }
            Refusal::Key { code, detail, .. } => detail
                .clone()
                .unwrap_or_else(|| code.as_str().replace('_', " ")),
        }
    }
}

impl Binding<'_> {
    /// The verdict as records store it and `pushguard verify` prints it.
    pub fn verdict(&self) -> ObjectVerdict {
        match self {
            Binding::Good(_) => ObjectVerdict::Good,
            Binding::Refused(r) => ObjectVerdict::Refused(r.code()),
        }
    }

    /// Why the signature does not count; `None` when it does.
    pub fn reason(&self) -> Option<String> {
        match self {
            Binding::Good(_) => None,
            Binding::Refused(r) => Some(r.reason()),
        }
    }
}

/// Bind `sig` to the identity that must have made it: the one owning `email` (the `role`'s),
/// or with no email, any identity of the policy. Pure; the verifier's [`KeyVerdict`] comes
/// first (a signature it refused is refused here with the engine's code for it).
pub fn bind<'p>(
    policy: &'p Policy,
    sig: &SignatureCheck,
    email: Option<&str>,
    role: Role,
) -> Binding<'p> {
    let Some(code) = sig.verdict.refusal_code() else {
        // A good signature: whose key, and does that identity own the email?
        let Some(signer) = sig.identity.as_deref().and_then(|n| policy.identity(n)) else {
            return Binding::Refused(Refusal::UnownedKey {
                key: sig.key.clone(),
            });
        };
        return match email {
            Some(email) if !signer.has_email(email) => Binding::Refused(Refusal::Mismatch {
                signer: signer.name.clone(),
                key: sig.key.clone(),
                role,
                email: email.to_string(),
                owner: policy.identity_for_email(email).map(|o| o.name.clone()),
            }),
            _ => Binding::Good(signer),
        };
    };
    Binding::Refused(match sig.verdict {
        KeyVerdict::NoSignature => Refusal::Unsigned,
        verdict => Refusal::Key {
            verdict,
            code,
            key: sig.key.clone(),
            detail: sig.detail.clone(),
        },
    })
}

/// The signature rules (`required_signatures`, `full_attestation`) of the rulesets governing
/// `ref_name`. Non-empty exactly when the front door must verify the ref's signatures
/// ([`RuleSpec::needs_signatures`]).
pub fn signature_rules<'a>(
    policy: &'a Policy,
    ref_name: &'a str,
    default_branch: Option<&'a str>,
) -> Vec<&'a Signatures> {
    policy
        .rulesets_for(ref_name, default_branch)
        .flat_map(|r| r.rules.iter())
        .filter_map(|r| match r {
            RuleSpec::RequiredSignatures(s) => Some(s),
            RuleSpec::FullAttestation(a) => Some(&a.signatures),
            RuleSpec::NonFastForward { .. }
            | RuleSpec::Deletion { .. }
            | RuleSpec::Creation { .. }
            | RuleSpec::Update { .. }
            | RuleSpec::RequiredLinearHistory
            | RuleSpec::RequiredPushCertificate { .. }
            | RuleSpec::SecretScanning(_)
            | RuleSpec::PullRequest(_) => None,
        })
        .collect()
}

/// The binding of `sig` under every signature rule in `rules` (each with its own
/// `identity:`): the first refusal, else the binding to any identity. For a tag, pass the
/// tagger's email as `committer` and `author`.
pub fn bind_under_all<'p>(
    policy: &'p Policy,
    rules: &[&Signatures],
    sig: &SignatureCheck,
    committer: &str,
    author: &str,
    tag: bool,
) -> Binding<'p> {
    rules
        .iter()
        .map(|r| {
            let (email, role) = bound_email(r.identity, committer, author, tag);
            bind(policy, sig, email, role)
        })
        .find(|b| matches!(b, Binding::Refused(_)))
        .unwrap_or_else(|| bind(policy, sig, None, Role::Signer))
}

/// The verdict on one signed object as the daemon's records store it and `pushguard verify`
/// prints it: `good`, or the engine's reason [`Code`] (its snake_case name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ObjectVerdict {
    Good,
    Refused(Code),
}

/// Verdict spellings older pushguard versions stored, and the code each one means now.
/// `records.rs` rewrites them when it migrates a database; [`ObjectVerdict::parse`] reads them.
pub const LEGACY_VERDICTS: [(&str, Code); 1] = [
    // `KeyVerdict::code()`'s word, stored by records before schema version 2.
    ("malformed", Code::MalformedSignature),
];

impl ObjectVerdict {
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectVerdict::Good => "good",
            ObjectVerdict::Refused(code) => code.as_str(),
        }
    }

    /// Read a stored verdict, old spellings included ([`LEGACY_VERDICTS`]).
    pub fn parse(s: &str) -> Option<ObjectVerdict> {
        if s == "good" {
            return Some(ObjectVerdict::Good);
        }
        LEGACY_VERDICTS
            .iter()
            .find(|(old, _)| *old == s)
            .map(|(_, code)| *code)
            .or_else(|| Code::parse(s))
            .map(ObjectVerdict::Refused)
    }
}

impl fmt::Display for ObjectVerdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY_VERDICTS: [KeyVerdict; 12] = [
        KeyVerdict::Good,
        KeyVerdict::NoSignature,
        KeyVerdict::BadSignature,
        KeyVerdict::UnknownKey,
        KeyVerdict::ExpiredKey,
        KeyVerdict::RevokedKey,
        KeyVerdict::KeyNotYetValid,
        KeyVerdict::NotSigningKey,
        KeyVerdict::WrongNamespace,
        KeyVerdict::UnsupportedFormat,
        KeyVerdict::Malformed,
        KeyVerdict::NotVerified,
    ];

    /// Fails to compile when a verdict is added and not listed above.
    #[allow(dead_code)]
    fn listed(v: KeyVerdict) -> bool {
        match v {
            KeyVerdict::Good
            | KeyVerdict::NoSignature
            | KeyVerdict::BadSignature
            | KeyVerdict::UnknownKey
            | KeyVerdict::ExpiredKey
            | KeyVerdict::RevokedKey
            | KeyVerdict::KeyNotYetValid
            | KeyVerdict::NotSigningKey
            | KeyVerdict::WrongNamespace
            | KeyVerdict::UnsupportedFormat
            | KeyVerdict::Malformed
            | KeyVerdict::NotVerified => KEY_VERDICTS.contains(&v),
        }
    }

    fn policy() -> Policy {
        Policy::from_yaml(
            "version: 1\nidentities:\n  alice:\n    emails: [alice@example.org]\n  bob:\n    emails: [bob@example.org]\nrulesets: []\n",
        )
        .expect("policy")
    }

    fn sig(verdict: KeyVerdict, identity: Option<&str>) -> SignatureCheck {
        SignatureCheck {
            verdict,
            key: Some("SHA256:k".to_string()),
            identity: identity.map(str::to_string),
            ..SignatureCheck::default()
        }
    }

    fn good_by(identity: &str) -> SignatureCheck {
        sig(KeyVerdict::Good, Some(identity))
    }

    #[test]
    fn the_bound_email_follows_the_mode_and_tags_use_the_tagger() {
        use IdentityBinding::{Any, Author, Committer};
        let cases = [
            (Committer, false, (Some("c@x"), Role::Committer)),
            (Author, false, (Some("a@x"), Role::Author)),
            (Any, false, (None, Role::Signer)),
            (Committer, true, (Some("c@x"), Role::Tagger)),
            (Author, true, (Some("c@x"), Role::Tagger)),
            (Any, true, (None, Role::Signer)),
        ];
        for (mode, tag, want) in cases {
            assert_eq!(bound_email(mode, "c@x", "a@x", tag), want, "{mode:?} {tag}");
        }
    }

    #[test]
    fn a_good_signature_counts_when_its_identity_owns_the_email() {
        let p = policy();
        let b = bind(
            &p,
            &good_by("alice"),
            Some("Alice@Example.org"),
            Role::Committer,
        );
        assert!(
            matches!(b, Binding::Good(id) if id.name == "alice"),
            "{b:?}"
        );
        assert_eq!((b.verdict(), b.reason()), (ObjectVerdict::Good, None));
    }

    #[test]
    fn with_no_email_bound_any_identitys_key_will_do() {
        let p = policy();
        let b = bind(&p, &good_by("bob"), None, Role::Signer);
        assert!(matches!(b, Binding::Good(id) if id.name == "bob"), "{b:?}");
        // ... but a key of no identity will not.
        let b = bind(&p, &good_by("mallory"), None, Role::Signer);
        assert_eq!(b.verdict(), ObjectVerdict::Refused(Code::UnknownKey));
    }

    #[test]
    fn a_mismatch_names_the_signer_the_role_and_the_emails_owner() {
        let p = policy();
        let b = bind(
            &p,
            &good_by("bob"),
            Some("alice@example.org"),
            Role::Committer,
        );
        assert_eq!(
            b,
            Binding::Refused(Refusal::Mismatch {
                signer: "bob".into(),
                key: Some("SHA256:k".into()),
                role: Role::Committer,
                email: "alice@example.org".into(),
                owner: Some("alice".into()),
            })
        );
        assert_eq!(b.verdict(), ObjectVerdict::Refused(Code::IdentityMismatch));
        assert_eq!(
            b.reason().as_deref(),
            Some("signed with bob's key SHA256:k, but the committer email <alice@example.org> belongs to alice")
        );
        let b = bind(
            &p,
            &good_by("alice"),
            Some("stranger@example.org"),
            Role::Author,
        );
        assert_eq!(
            b.reason().as_deref(),
            Some("signed with alice's key SHA256:k, but the author email <stranger@example.org> belongs to no identity")
        );
    }

    #[test]
    fn a_tag_is_bound_to_its_tagger() {
        let p = policy();
        let (email, role) = bound_email(
            IdentityBinding::Author,
            "bob@example.org",
            "bob@example.org",
            true,
        );
        let b = bind(&p, &good_by("alice"), email, role);
        assert_eq!(
            b.reason().as_deref(),
            Some("signed with alice's key SHA256:k, but the tagger email <bob@example.org> belongs to bob")
        );
        assert!(matches!(
            bind(&p, &good_by("bob"), email, role),
            Binding::Good(_)
        ));
    }

    #[test]
    fn a_good_signature_by_a_key_no_identity_owns_is_an_unknown_key() {
        let p = policy();
        for identity in [None, Some("mallory")] {
            let b = bind(
                &p,
                &sig(KeyVerdict::Good, identity),
                Some("alice@example.org"),
                Role::Committer,
            );
            assert_eq!(
                b,
                Binding::Refused(Refusal::UnownedKey {
                    key: Some("SHA256:k".into())
                })
            );
            assert_eq!(
                b.reason().as_deref(),
                Some("signed with key SHA256:k, which no identity in the policy owns")
            );
        }
    }

    #[test]
    fn an_unsigned_object_is_not_signed() {
        let p = policy();
        let b = bind(
            &p,
            &SignatureCheck::unsigned(),
            Some("alice@example.org"),
            Role::Committer,
        );
        assert_eq!(b, Binding::Refused(Refusal::Unsigned));
        assert_eq!(b.verdict().as_str(), "no_signature");
        assert_eq!(b.reason().as_deref(), Some("not signed"));
    }

    /// Every verdict the verifier refuses is refused with the engine's code for it, whoever
    /// owns the key and whatever email is bound; the verifier's detail is the reason.
    #[test]
    fn a_refused_key_verdict_keeps_its_code_and_detail() {
        let p = policy();
        for verdict in KEY_VERDICTS {
            let Some(code) = verdict.refusal_code() else {
                continue;
            };
            for email in [None, Some("alice@example.org")] {
                let b = bind(&p, &sig(verdict, Some("alice")), email, Role::Committer);
                assert_eq!(b.verdict(), ObjectVerdict::Refused(code), "{verdict:?}");
            }
            if verdict == KeyVerdict::NoSignature {
                continue;
            }
            let detailed = SignatureCheck {
                detail: Some("key 0x1 expired on 2026-01-01".into()),
                ..sig(verdict, None)
            };
            let b = bind(&p, &detailed, None, Role::Signer);
            assert_eq!(
                b,
                Binding::Refused(Refusal::Key {
                    verdict,
                    code,
                    key: Some("SHA256:k".into()),
                    detail: Some("key 0x1 expired on 2026-01-01".into()),
                })
            );
            assert_eq!(b.reason().as_deref(), Some("key 0x1 expired on 2026-01-01"));
            // Without a detail, the code in words.
            let b = bind(&p, &sig(verdict, None), None, Role::Signer);
            assert_eq!(b.reason(), Some(code.as_str().replace('_', " ")));
        }
    }

    /// The one vocabulary: each key verdict's code, as records store it and verify prints it.
    #[test]
    fn every_key_verdict_maps_to_one_engine_code() {
        let want = [
            "good",
            "no_signature",
            "bad_signature",
            "unknown_key",
            "expired_key",
            "revoked_key",
            "key_not_yet_valid",
            "not_signing_key",
            "wrong_namespace",
            "unsupported_format",
            "malformed_signature",
            "signature_not_verified",
        ];
        for (verdict, want) in KEY_VERDICTS.into_iter().zip(want) {
            let v = verdict
                .refusal_code()
                .map_or(ObjectVerdict::Good, ObjectVerdict::Refused);
            assert_eq!(v.as_str(), want, "{verdict:?}");
            assert_eq!(ObjectVerdict::parse(want), Some(v));
            if let ObjectVerdict::Refused(code) = v {
                // The spelling is the serialized one.
                assert_eq!(
                    serde_json::to_value(code).expect("serialize"),
                    serde_json::Value::String(want.to_string())
                );
            }
        }
        // Where the verifier's own word differs, the old spelling still reads.
        assert_eq!(KeyVerdict::Malformed.code(), "malformed");
        assert_eq!(
            ObjectVerdict::parse("malformed"),
            Some(ObjectVerdict::Refused(Code::MalformedSignature))
        );
        assert_eq!(ObjectVerdict::parse("no_such_code"), None);
    }

    #[test]
    fn every_rule_binds_or_the_first_refusal_wins() {
        let p = policy();
        let committer = Signatures {
            identity: IdentityBinding::Committer,
            signers: None,
        };
        let author = Signatures {
            identity: IdentityBinding::Author,
            ..committer.clone()
        };
        let sig = good_by("alice");
        let b = bind_under_all(
            &p,
            &[&committer, &author],
            &sig,
            "alice@example.org",
            "bob@example.org",
            false,
        );
        assert_eq!(b.verdict(), ObjectVerdict::Refused(Code::IdentityMismatch));
        assert!(b.reason().is_some_and(|r| r.contains("author email")));
        let b = bind_under_all(
            &p,
            &[&committer, &author],
            &sig,
            "alice@example.org",
            "alice@example.org",
            false,
        );
        assert!(matches!(b, Binding::Good(id) if id.name == "alice"));
    }

    #[test]
    fn signature_rules_are_those_of_the_rulesets_governing_the_ref() {
        let p = Policy::from_yaml(
            "version: 1\nidentities:\n  alice: {emails: [alice@example.org]}\nrulesets:\n  - name: main\n    target: branch\n    include: [main]\n    rules:\n      deletion: {}\n      required_signatures: {identity: author}\n      full_attestation: {mergers: [alice]}\n",
        )
        .expect("policy");
        let modes: Vec<IdentityBinding> = signature_rules(&p, "refs/heads/main", None)
            .iter()
            .map(|s| s.identity)
            .collect();
        assert_eq!(modes, [IdentityBinding::Author, IdentityBinding::Committer]);
        assert!(signature_rules(&p, "refs/heads/topic", None).is_empty());
    }
}
