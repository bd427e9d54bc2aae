//! Every rule on hand-built facts, and the pusher's text as a snapshot.

use rules::facts::{
    Change, Commit, KeyVerdict, ObjectKind, Person, RefUpdate, SignatureCheck, Tag,
};
use rules::{evaluate, render, Code, Policy, Report};

const POLICY: &str = r#"version: 1
identities:
  alice:
    emails: [alice@example.org]
    roles: [maintainer]
  bob:
    emails: [bob@example.org]
    roles: [developer]
  root:
    emails: [root@example.org]
    usernames: [admin-user]
    roles: [admin]
rulesets:
  - name: protect-main
    target: branch
    include: [~DEFAULT_BRANCH, main, "release/*"]
    exclude: ["release/old"]
    bypass: [role:admin]
    rules:
      non_fast_forward: {}
      deletion: {}
      required_linear_history: {}
      required_signatures: {}
      update:
        allow: [role:maintainer, bob]
  - name: no-force-anywhere
    target: branch
    include: ["**"]
    rules:
      non_fast_forward:
        allow: [alice]
  - name: release-tags
    target: tag
    include: ["v*"]
    rules:
      creation:
        allow: [role:maintainer]
      update: {}
      deletion: {}
      required_signatures: {}
"#;

const A: &str = "1111111111111111111111111111111111111111";
const B: &str = "2222222222222222222222222222222222222222";
const C: &str = "3333333333333333333333333333333333333333";

fn policy() -> Policy {
    Policy::from_yaml(POLICY).expect("test policy is valid")
}

fn person(email: &str) -> Person {
    Person {
        name: email.split('@').next().unwrap_or("").to_string(),
        email: email.to_string(),
        time: 1_700_000_000,
    }
}

fn good(identity: &str) -> SignatureCheck {
    SignatureCheck {
        verdict: KeyVerdict::Good,
        key: Some(format!("SHA256:{identity}-key")),
        identity: Some(identity.to_string()),
        ..SignatureCheck::default()
    }
}

fn commit(id: &str, email: &str, signature: SignatureCheck) -> Commit {
    Commit {
        id: id.to_string(),
        parents: vec![A.to_string()],
        author: person(email),
        committer: person(email),
        subject: format!("Change {}", &id[..4]),
        signature,
        ..Commit::default()
    }
}

fn update(name: &str, old: Option<&str>, new: Option<&str>, commits: Vec<Commit>) -> RefUpdate {
    RefUpdate {
        name: name.to_string(),
        old: old.map(str::to_string),
        new: new.map(str::to_string),
        fast_forward: true,
        new_kind: if new.is_some() {
            ObjectKind::Commit
        } else {
            ObjectKind::None
        },
        tag: None,
        resolves_to: Vec::new(),
        commits: commits.into_iter().map(std::sync::Arc::new).collect(),
        new_tree: None,
        patch_id: None,
        changed_paths: Vec::new(),
        code_owners: None,
    }
}

fn judge(pusher: Option<&str>, updates: Vec<RefUpdate>) -> Report {
    let change = Change {
        repo: "test.git".into(),
        now: 1_800_000_000,
        pusher: pusher.map(str::to_string),
        default_branch: Some("trunk".into()),
        push_options: vec![],
        updates,
        ..Change::default()
    };
    evaluate(&policy(), &change)
}

fn codes(r: &Report) -> Vec<(String, Code)> {
    r.violations
        .iter()
        .map(|v| (v.rule.clone(), v.code))
        .collect()
}

mod branch_protection {
    use super::*;

    #[test]
    fn signed_fast_forward_by_a_maintainer_is_allowed() {
        let r = judge(
            Some("alice"),
            vec![update(
                "refs/heads/main",
                Some(A),
                Some(B),
                vec![commit(B, "alice@example.org", good("alice"))],
            )],
        );
        assert!(r.allowed, "{r:?}");
        assert_eq!(r.pusher_identity.as_deref(), Some("alice"));
    }

    #[test]
    fn force_push_is_refused_by_every_ruleset_that_forbids_it() {
        let mut u = update("refs/heads/main", Some(A), Some(B), vec![]);
        u.fast_forward = false;
        let r = judge(Some("bob"), vec![u]);
        assert_eq!(
            codes(&r),
            [
                ("non_fast_forward".to_string(), Code::NonFastForward),
                ("non_fast_forward".to_string(), Code::NonFastForward)
            ]
        );
        assert_eq!(r.violations[0].ruleset, "protect-main");
        assert_eq!(r.violations[1].ruleset, "no-force-anywhere");
    }

    #[test]
    fn strictest_wins_an_allow_in_one_ruleset_does_not_lift_another() {
        // alice may force-push under no-force-anywhere, but protect-main still forbids it.
        let mut u = update("refs/heads/main", Some(A), Some(B), vec![]);
        u.fast_forward = false;
        let r = judge(Some("alice"), vec![u.clone()]);
        assert_eq!(r.violations.len(), 1);
        assert_eq!(r.violations[0].ruleset, "protect-main");
        // On a feature branch only no-force-anywhere applies, and alice is allowed there.
        u.name = "refs/heads/feature".into();
        assert!(judge(Some("alice"), vec![u.clone()]).allowed);
        assert!(!judge(Some("bob"), vec![u]).allowed);
    }

    #[test]
    fn deletion_is_refused() {
        let r = judge(
            Some("alice"),
            vec![update("refs/heads/main", Some(A), None, vec![])],
        );
        assert_eq!(codes(&r), [("deletion".to_string(), Code::RefDeleted)]);
    }

    #[test]
    fn update_allow_list_names_who_may_move_the_branch() {
        let u = || {
            update(
                "refs/heads/release/2.0",
                Some(A),
                Some(B),
                vec![commit(B, "bob@example.org", good("bob"))],
            )
        };
        assert!(judge(Some("bob"), vec![u()]).allowed, "bob is listed");
        assert!(
            judge(Some("alice"), vec![u()]).allowed,
            "maintainers are listed"
        );
        let r = judge(Some("mallory"), vec![u()]);
        assert_eq!(codes(&r), [("update".to_string(), Code::RefUpdated)]);
        assert!(r.violations[0].message.contains("an unidentified pusher"));
        let r = judge(None, vec![u()]);
        assert!(!r.allowed, "an unknown pusher is never on an allow list");
    }

    /// Issue 16: every allow list (and the ruleset's bypass) treats a push whose server named
    /// nobody as unidentified: what alice may do, nobody may.
    #[test]
    fn no_allow_list_names_an_unidentified_pusher() {
        let policy = Policy::from_yaml(
            r#"version: 1
identities:
  alice:
    emails: [alice@example.org]
pusher:
  env: [REMOTE_USER]
rulesets:
  - name: guarded
    target: branch
    include: ["**"]
    bypass: [alice]
    rules:
      creation: {allow: [alice]}
      update: {allow: [alice]}
      non_fast_forward: {allow: [alice]}
      deletion: {allow: [alice]}
"#,
        )
        .expect("valid policy");
        let mut forced = update("refs/heads/main", Some(A), Some(B), vec![]);
        forced.fast_forward = false;
        let change = |pusher: Option<&str>| Change {
            pusher: pusher.map(str::to_string),
            updates: vec![
                update("refs/heads/new", None, Some(B), vec![]),
                forced.clone(),
                update("refs/heads/old", Some(A), None, vec![]),
            ],
            ..Change::default()
        };
        let r = evaluate(&policy, &change(Some("alice")));
        assert!(r.allowed && r.bypassed.is_empty(), "{:?}", r.violations);
        let r = evaluate(&policy, &change(None));
        assert_eq!(
            codes(&r),
            [
                ("creation".to_string(), Code::RefCreated),
                ("update".to_string(), Code::RefUpdated),
                ("non_fast_forward".to_string(), Code::NonFastForward),
                ("deletion".to_string(), Code::RefDeleted),
            ]
        );
        assert!(r.bypassed.is_empty(), "nobody bypasses");
        assert!(r.violations[0]
            .message
            .contains("expected the server to set REMOTE_USER"));
    }

    /// Issue 16: a pusher the server named but the policy does not know, and a push where the
    /// server named nobody, are both unidentified; the message says which, and in the second
    /// case which variables the policy expected the server to set.
    #[test]
    fn an_unidentified_pusher_is_told_why() {
        let u = || update("refs/heads/release/2.0", Some(A), Some(B), vec![]);
        let r = judge(Some("mallory"), vec![u()]);
        assert_eq!(
            r.violations[0].message,
            "an unidentified pusher (\"mallory\" is not an identity of the policy) may not push to this branch: only role:maintainer, bob may update it"
        );
        let r = judge(None, vec![u()]);
        assert_eq!(
            r.violations[0].message,
            "an unidentified pusher (expected the server to set one of PUSHGUARD_USER, GL_USERNAME, GL_USER, GITEA_PUSHER_NAME, REMOTE_USER) may not push to this branch: only role:maintainer, bob may update it"
        );
        assert!(
            r.violations[0].fix.contains("ask your git administrator"),
            "only the admin can name the pusher: {}",
            r.violations[0].fix
        );
        let r = judge(Some("mallory"), vec![u()]);
        assert!(r.violations[0].fix.starts_with("push to another branch"));
        let one = Policy::from_yaml(&format!("{POLICY}\npusher:\n  env: [GL_USER]\n"))
            .expect("valid policy");
        let change = Change {
            updates: vec![u()],
            ..Change::default()
        };
        let r = evaluate(&one, &change);
        assert!(
            r.violations[0]
                .message
                .starts_with("an unidentified pusher (expected the server to set GL_USER) may not"),
            "{}",
            r.violations[0].message
        );
    }

    #[test]
    fn default_branch_and_excludes_scope_the_ruleset() {
        let r = judge(
            Some("carol"),
            vec![update("refs/heads/trunk", Some(A), Some(B), vec![])],
        );
        assert_eq!(
            codes(&r),
            [("update".to_string(), Code::RefUpdated)],
            "trunk is the default branch"
        );
        let r = judge(
            Some("carol"),
            vec![update("refs/heads/release/old", Some(A), Some(B), vec![])],
        );
        assert!(r.allowed, "release/old is excluded");
    }

    #[test]
    fn merge_commits_break_linear_history() {
        let mut m = commit(C, "alice@example.org", good("alice"));
        m.parents = vec![A.into(), B.into()];
        let r = judge(
            Some("alice"),
            vec![update("refs/heads/main", Some(A), Some(C), vec![m])],
        );
        assert_eq!(
            codes(&r),
            [("required_linear_history".to_string(), Code::MergeCommit)]
        );
        assert_eq!(r.violations[0].commit.as_deref(), Some(C));
    }

    #[test]
    fn bypass_actors_pass_but_are_reported() {
        let r = judge(
            Some("admin-user"),
            vec![update("refs/heads/main", Some(A), None, vec![])],
        );
        assert!(r.allowed);
        assert_eq!(r.pusher_identity.as_deref(), Some("root"));
        assert_eq!(r.bypassed.len(), 1);
        assert_eq!(r.bypassed[0].code, Code::RefDeleted);
    }

    #[test]
    fn unprotected_refs_are_free() {
        let r = judge(
            None,
            vec![update(
                "refs/heads/topic",
                None,
                Some(B),
                vec![commit(B, "x@example.org", SignatureCheck::unsigned())],
            )],
        );
        assert!(r.allowed);
        let r = judge(
            None,
            vec![update("refs/heads/topic", Some(A), None, vec![])],
        );
        assert!(r.allowed);
    }
}

mod signatures {
    use super::*;

    fn one(sig: SignatureCheck, email: &str) -> Report {
        judge(
            Some("alice"),
            vec![update(
                "refs/heads/main",
                Some(A),
                Some(B),
                vec![commit(B, email, sig)],
            )],
        )
    }

    #[test]
    fn every_key_verdict_maps_to_its_code() {
        let cases = [
            (KeyVerdict::NoSignature, Code::NoSignature),
            (KeyVerdict::BadSignature, Code::BadSignature),
            (KeyVerdict::UnknownKey, Code::UnknownKey),
            (KeyVerdict::ExpiredKey, Code::ExpiredKey),
            (KeyVerdict::RevokedKey, Code::RevokedKey),
            (KeyVerdict::KeyNotYetValid, Code::KeyNotYetValid),
            (KeyVerdict::NotSigningKey, Code::NotSigningKey),
            (KeyVerdict::WrongNamespace, Code::WrongNamespace),
            (KeyVerdict::UnsupportedFormat, Code::UnsupportedFormat),
            (KeyVerdict::Malformed, Code::MalformedSignature),
        ];
        for (verdict, code) in cases {
            let sig = SignatureCheck {
                verdict,
                key: Some("KEY".into()),
                ..SignatureCheck::default()
            };
            let r = one(sig, "alice@example.org");
            assert_eq!(
                codes(&r),
                [("required_signatures".to_string(), code)],
                "{verdict:?}"
            );
            let v = &r.violations[0];
            assert_eq!(v.commit.as_deref(), Some(B));
            assert!(!v.fix.is_empty());
        }
    }

    #[test]
    fn the_key_must_belong_to_the_committer() {
        assert!(
            one(good("alice"), "ALICE@example.org").allowed,
            "emails compare case-insensitively"
        );
        let r = one(good("bob"), "alice@example.org");
        assert_eq!(
            codes(&r),
            [("required_signatures".to_string(), Code::IdentityMismatch)]
        );
        assert!(
            r.violations[0].message.contains("bob's key"),
            "{}",
            r.violations[0].message
        );
        assert!(r.violations[0].message.contains("belongs to alice"));
        let r = one(good("bob"), "stranger@example.org");
        assert!(r.violations[0].message.contains("belongs to no identity"));
    }

    #[test]
    fn a_detail_from_the_verifier_is_the_message() {
        let sig = SignatureCheck {
            verdict: KeyVerdict::ExpiredKey,
            detail: Some("key 0xABCD expired on 2026-01-01".into()),
            ..SignatureCheck::default()
        };
        let r = one(sig, "alice@example.org");
        assert_eq!(r.violations[0].message, "key 0xABCD expired on 2026-01-01");
    }

    fn tag_update(tag: Option<Tag>, old: Option<&str>) -> RefUpdate {
        let mut u = update("refs/tags/v1.0", old, Some(C), vec![]);
        if tag.is_some() {
            u.new_kind = ObjectKind::Tag;
        }
        u.tag = tag;
        u
    }

    fn tag(sig: SignatureCheck, tagger: &str) -> Tag {
        Tag {
            id: C.into(),
            name: "v1.0".into(),
            target: B.into(),
            tagger: Some(person(tagger)),
            signature: sig,
        }
    }

    #[test]
    fn signed_annotated_tag_by_a_maintainer_is_allowed() {
        let r = judge(
            Some("alice"),
            vec![tag_update(
                Some(tag(good("alice"), "alice@example.org")),
                None,
            )],
        );
        assert!(r.allowed, "{r:?}");
    }

    #[test]
    fn tags_are_checked_for_signature_creator_and_immutability() {
        // Lightweight tag.
        let r = judge(Some("alice"), vec![tag_update(None, None)]);
        assert_eq!(
            codes(&r),
            [("required_signatures".to_string(), Code::LightweightTag)]
        );
        // Unsigned annotated tag.
        let r = judge(
            Some("alice"),
            vec![tag_update(
                Some(tag(SignatureCheck::unsigned(), "alice@example.org")),
                None,
            )],
        );
        assert_eq!(
            codes(&r),
            [("required_signatures".to_string(), Code::NoSignature)]
        );
        // Created by a developer.
        let r = judge(
            Some("bob"),
            vec![tag_update(Some(tag(good("bob"), "bob@example.org")), None)],
        );
        assert_eq!(codes(&r), [("creation".to_string(), Code::RefCreated)]);
        // Moved.
        let r = judge(
            Some("alice"),
            vec![tag_update(
                Some(tag(good("alice"), "alice@example.org")),
                Some(A),
            )],
        );
        assert_eq!(codes(&r), [("update".to_string(), Code::RefUpdated)]);
        // Deleted.
        let r = judge(
            Some("alice"),
            vec![update("refs/tags/v1.0", Some(C), None, vec![])],
        );
        assert_eq!(codes(&r), [("deletion".to_string(), Code::RefDeleted)]);
    }

    /// Regression (issue 10): a signed tag object pushed under another name than its own.
    #[test]
    fn a_tag_must_be_pushed_under_its_own_name() {
        let mut u = tag_update(Some(tag(good("alice"), "alice@example.org")), None);
        u.name = "refs/tags/v2.0".into();
        let r = judge(Some("alice"), vec![u.clone()]);
        assert_eq!(codes(&r), [("tag_name".to_string(), Code::TagNameMismatch)]);
        assert_eq!(r.violations[0].ruleset, "release-tags");
        // The policy may allow it.
        let lax = format!("{POLICY}settings: {{tag_names_match_refs: false}}\n");
        let policy = Policy::from_yaml(&lax).expect("valid");
        let change = Change {
            pusher: Some("alice".into()),
            updates: vec![u],
            ..Change::default()
        };
        assert!(evaluate(&policy, &change).allowed);
    }
}

mod symbolic_refs {
    use super::*;

    /// Regression (issue 10): pushing to `trunk -> main` is judged by main's rulesets too.
    #[test]
    fn every_name_in_the_chain_is_governed() {
        let mut u = update(
            "refs/heads/trunk-link",
            Some(A),
            Some(B),
            vec![commit(B, "bob@example.org", SignatureCheck::unsigned())],
        );
        u.fast_forward = false;
        u.resolves_to = vec!["refs/heads/main".into()];
        let r = judge(Some("bob"), vec![u]);
        let got = codes(&r);
        assert!(
            got.contains(&("non_fast_forward".to_string(), Code::NonFastForward)),
            "{got:?}"
        );
        assert!(
            got.contains(&("required_signatures".to_string(), Code::NoSignature)),
            "{got:?}"
        );
        let main_violation = r
            .violations
            .iter()
            .find(|v| v.ruleset == "protect-main")
            .expect("main's ruleset applies");
        assert_eq!(main_violation.ref_name, "refs/heads/trunk-link");
        assert!(
            main_violation
                .message
                .contains("refs/heads/trunk-link is a symbolic ref to refs/heads/main"),
            "{}",
            main_violation.message
        );
        // A ruleset matching several names of the chain applies once.
        assert_eq!(
            r.violations
                .iter()
                .filter(|v| v.ruleset == "no-force-anywhere")
                .count(),
            1
        );
    }
}

mod any_ref {
    use super::*;

    const REFS: &str = "version: 1\nidentities:\n  alice: {emails: [alice@example.org]}\nrulesets:\n  - name: notes\n    target: ref\n    include: [\"refs/notes/**\"]\n    rules:\n      update: {}\n      required_signatures: {}\n";

    #[test]
    fn target_ref_governs_full_names_with_every_rule() {
        let policy = Policy::from_yaml(REFS).expect("valid");
        let change = Change {
            pusher: Some("alice".into()),
            updates: vec![update(
                "refs/notes/commits",
                Some(A),
                Some(B),
                vec![commit(B, "alice@example.org", SignatureCheck::unsigned())],
            )],
            ..Change::default()
        };
        let r = evaluate(&policy, &change);
        let got = codes(&r);
        assert_eq!(
            got,
            [
                ("update".to_string(), Code::RefUpdated),
                ("required_signatures".to_string(), Code::NoSignature)
            ]
        );
        assert!(r.violations[0].message.contains("may not move this ref"));
        // Short names mean nothing to a ref ruleset: they are refused at load time.
        let bad = REFS.replace("\"refs/notes/**\"", "notes");
        let e = Policy::from_yaml(&bad).expect_err("short name");
        assert!(e.message.contains("full ref names"), "{e}");
    }

    #[test]
    fn the_default_policy_refuses_new_replace_refs() {
        let change = Change {
            updates: vec![update("refs/replace/abc", None, Some(B), vec![])],
            secrets: Some(rules::facts::SecretScan::default()),
            ..Change::default()
        };
        let r = evaluate(&Policy::default_policy(), &change);
        assert_eq!(codes(&r), [("creation".to_string(), Code::RefCreated)]);
        assert_eq!(r.violations[0].ruleset, "no-replace-refs");
    }
}

mod rendering {
    use super::*;

    #[test]
    fn pusher_text_snapshot() {
        let mut force = update(
            "refs/heads/main",
            Some(A),
            Some(B),
            vec![
                commit(B, "alice@example.org", SignatureCheck::unsigned()),
                commit(C, "bob@example.org", good("alice")),
            ],
        );
        force.fast_forward = false;
        let tags = update("refs/tags/v1.0", None, Some(C), vec![]);
        let r = judge(Some("bob"), vec![force, tags]);
        let text = render::text(&r);
        for line in text.lines() {
            assert!(
                line.chars().count() <= render::TEXT_WIDTH,
                "line too wide: {line:?}"
            );
        }
        insta::assert_snapshot!(text);
    }

    #[test]
    fn json_has_the_documented_fields() {
        let r = judge(
            Some("bob"),
            vec![update("refs/heads/main", Some(A), None, vec![])],
        );
        let v: serde_json::Value = serde_json::from_str(&render::json(&r)).expect("valid JSON");
        assert_eq!(v["allowed"], false);
        let first = &v["violations"][0];
        for key in ["rule", "ruleset", "ref", "code", "message"] {
            assert!(first.get(key).is_some(), "missing {key}: {first}");
        }
        assert_eq!(first["code"], "ref_deleted");
        assert!(first.get("commit").is_none(), "absent fields are left out");
    }

    #[test]
    fn long_lists_are_cut_per_ref() {
        let commits: Vec<Commit> = (0..25)
            .map(|i| {
                commit(
                    &format!("{i:040}"),
                    "alice@example.org",
                    SignatureCheck::unsigned(),
                )
            })
            .collect();
        let r = judge(
            Some("alice"),
            vec![update("refs/heads/main", Some(A), Some(B), commits)],
        );
        assert_eq!(r.violations.len(), 25);
        let text = render::text(&r);
        assert!(
            text.contains("... and 15 more on refs/heads/main"),
            "{text}"
        );
    }

    #[test]
    fn allowed_reports_say_nothing() {
        let r = judge(
            None,
            vec![update("refs/heads/topic", Some(A), Some(B), vec![])],
        );
        assert_eq!(render::text(&r), "");
    }
}

mod secret_scanning {
    use super::*;
    use rules::facts::{OversizedBlob, SecretFinding, SecretScan};

    const POLICY: &str = r#"version: 1
identities:
  sec: {emails: [sec@example.org], roles: [security]}
  dev: {emails: [dev@example.org]}
rulesets:
  - name: no-secrets
    target: push
    bypass: [role:security]
    rules:
      secret_scanning:
        max_blob_size: 100
        on_large_blob: reject
        suppressions:
          - {fingerprint: fp-suppressed, reason: false_positive, expires: "2030-01-01"}
          - {fingerprint: fp-expired, reason: used_in_tests, expires: "2020-01-01"}
          - {rule: aws, secret_sha256: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", path: "tests/**", reason: used_in_tests}
  - name: strict
    target: push
    include: ["release/*"]
    rules:
      secret_scanning: {legacy: block, on_deadline: fail_open}
"#;

    fn finding(fp: &str, path: &str, legacy: bool, r#ref: &str) -> SecretFinding {
        SecretFinding {
            rule_id: if fp == "aws-fp" {
                "aws".into()
            } else {
                "github-pat".into()
            },
            description: "GitHub token".into(),
            refs: vec![r#ref.into()],
            commit: B.into(),
            path: path.into(),
            line: 3,
            fingerprint: fp.into(),
            secret_sha256: "a".repeat(64),
            redacted: "ghp_…".into(),
            legacy,
            warn_by_default: false,
        }
    }

    fn run(pusher: &str, options: &[&str], scan: SecretScan, ref_name: &str) -> Report {
        let policy = Policy::from_yaml(POLICY).expect("valid");
        let change = Change {
            now: 1_800_000_000, // 2027
            pusher: Some(pusher.into()),
            push_options: options.iter().map(|s| s.to_string()).collect(),
            updates: vec![update(
                ref_name,
                Some(A),
                Some(B),
                vec![commit(B, "dev@example.org", SignatureCheck::unsigned())],
            )],
            secrets: Some(scan),
            ..Change::default()
        };
        evaluate(&policy, &change)
    }

    fn scan(findings: Vec<SecretFinding>) -> SecretScan {
        SecretScan {
            findings,
            ..SecretScan::default()
        }
    }

    #[test]
    fn a_new_secret_is_a_violation_with_its_location_and_no_value() {
        let r = run(
            "dev",
            &[],
            scan(vec![finding("fp1", "app.env", false, "refs/heads/main")]),
            "refs/heads/main",
        );
        assert_eq!(
            codes(&r),
            [("secret_scanning".to_string(), Code::SecretDetected)]
        );
        let v = &r.violations[0];
        assert_eq!(
            (v.path.as_deref(), v.line, v.commit.as_deref()),
            (Some("app.env"), Some(3), Some(B))
        );
        assert_eq!(
            v.object,
            Some(rules::Subject::Commit {
                subject: Some("Change 2222".into())
            })
        );
        assert_eq!(
            v.secret.as_ref().map(|s| s.fingerprint.as_str()),
            Some("fp1")
        );
    }

    #[test]
    fn suppressions_match_by_fingerprint_or_rule_and_hash_until_they_expire() {
        let r = run(
            "dev",
            &[],
            scan(vec![finding(
                "fp-suppressed",
                "a",
                false,
                "refs/heads/main",
            )]),
            "refs/heads/main",
        );
        assert!(r.allowed, "{r:?}");
        let r = run(
            "dev",
            &[],
            scan(vec![finding("fp-expired", "a", false, "refs/heads/main")]),
            "refs/heads/main",
        );
        assert!(!r.allowed, "an expired suppression no longer applies");
        let r = run(
            "dev",
            &[],
            scan(vec![finding(
                "aws-fp",
                "tests/unit/x.py",
                false,
                "refs/heads/main",
            )]),
            "refs/heads/main",
        );
        assert!(r.allowed, "rule + hash within the path glob");
        let r = run(
            "dev",
            &[],
            scan(vec![finding(
                "aws-fp",
                "src/x.py",
                false,
                "refs/heads/main",
            )]),
            "refs/heads/main",
        );
        assert!(!r.allowed, "outside the path glob");
    }

    #[test]
    fn severity_warn_shows_a_finding_without_blocking_and_the_policy_decides() {
        let mut shipped_warn = finding("fp-id", "a", false, "refs/heads/main");
        shipped_warn.warn_by_default = true;
        let r = run(
            "dev",
            &[],
            scan(vec![shipped_warn.clone()]),
            "refs/heads/main",
        );
        assert!(r.allowed, "{r:?}");
        assert_eq!(r.warnings[0].code, Code::SecretWarning);
        assert_eq!(r.warnings[0].line, Some(3), "a warning still says where");
        // the policy overrides the shipped severity, both ways
        let with = |sev: &str| {
            Policy::from_yaml(&format!(
                "{POLICY}secrets:\n  severity:\n    github-pat: {sev}\n"
            ))
            .expect("valid")
        };
        let change = |f: SecretFinding| Change {
            now: 1_800_000_000,
            pusher: Some("dev".into()),
            updates: vec![update(
                "refs/heads/main",
                Some(A),
                Some(B),
                vec![commit(B, "dev@example.org", SignatureCheck::unsigned())],
            )],
            secrets: Some(scan(vec![f])),
            ..Change::default()
        };
        let r = evaluate(&with("block"), &change(shipped_warn));
        assert_eq!(
            codes(&r),
            [("secret_scanning".to_string(), Code::SecretDetected)]
        );
        let r = evaluate(
            &with("warn"),
            &change(finding("fp1", "a", false, "refs/heads/main")),
        );
        assert!(r.allowed);
        assert_eq!(r.warnings[0].code, Code::SecretWarning);
    }

    #[test]
    fn legacy_secrets_warn_unless_the_ruleset_blocks_them() {
        let r = run(
            "dev",
            &[],
            scan(vec![finding("old", "a", true, "refs/heads/main")]),
            "refs/heads/main",
        );
        assert!(r.allowed);
        assert_eq!(r.warnings[0].code, Code::SecretLegacy);
        let r = run(
            "dev",
            &[],
            scan(vec![finding("old", "a", true, "refs/heads/release/1")]),
            "refs/heads/release/1",
        );
        assert!(!r.allowed, "legacy: block");
        assert_eq!(r.violations.len(), 1);
        assert_eq!(r.violations[0].ruleset, "strict");
    }

    #[test]
    fn bypass_needs_a_bypass_actor_a_known_reason_and_the_fingerprint() {
        let s = || scan(vec![finding("fp1", "a", false, "refs/heads/main")]);
        let main = "refs/heads/main";
        // The ruleset's bypass alone does not pass a secret.
        assert!(!run("sec", &[], s(), main).allowed);
        let ok = "pushguard.secret-bypass=fp1:used_in_tests";
        let r = run("sec", &[ok], s(), main);
        assert!(r.allowed);
        assert_eq!(
            r.bypassed[0].bypass_reason.as_deref(),
            Some("used_in_tests")
        );
        let r = run("dev", &[ok], s(), main);
        assert!(!r.allowed);
        assert!(r.violations[0]
            .message
            .contains("dev may not bypass ruleset no-secrets"));
        let r = run("sec", &["pushguard.secret-bypass=fp1:yolo"], s(), main);
        assert!(!r.allowed);
        let r = run(
            "sec",
            &["pushguard.secret-bypass=other:used_in_tests"],
            s(),
            main,
        );
        assert!(!r.allowed, "the bypass names another secret");
    }

    #[test]
    fn large_blobs_and_deadlines() {
        let big = SecretScan {
            oversized: vec![OversizedBlob {
                refs: vec!["refs/heads/main".into()],
                commit: B.into(),
                path: "big.bin".into(),
                size: 500,
                scanned_bytes: 0,
            }],
            ..SecretScan::default()
        };
        let r = run("dev", &[], big, "refs/heads/main");
        assert_eq!(
            codes(&r),
            [("secret_scanning".to_string(), Code::BlobTooLarge)]
        );
        let late = SecretScan {
            deadline_expired: true,
            ..SecretScan::default()
        };
        let r = run("dev", &[], late.clone(), "refs/heads/main");
        assert_eq!(
            codes(&r),
            [("secret_scanning".to_string(), Code::ScanIncomplete)],
            "fail_closed by default"
        );
        let r = run("dev", &[], late, "refs/heads/release/1");
        assert!(
            !r.allowed,
            "no-secrets (fail_closed) still applies to release/1"
        );
        assert_eq!(r.warnings.len(), 1, "strict is fail_open: a warning");
    }

    /// Blobs not read as text warn; a scan that stopped at a limit rejects.
    #[test]
    fn unscanned_blobs_warn_and_incomplete_scans_reject() {
        let blob = |reason: &str| rules::facts::UnscannedBlob {
            refs: vec!["refs/heads/main".into()],
            commit: B.into(),
            path: "logo.png".into(),
            reason: reason.into(),
        };
        let r = run(
            "dev",
            &[],
            SecretScan {
                unscanned: vec![blob("binary")],
                ..SecretScan::default()
            },
            "refs/heads/main",
        );
        assert!(r.allowed, "{r:?}");
        assert_eq!(r.warnings[0].code, Code::BlobNotScanned);
        assert_eq!(r.warnings[0].path.as_deref(), Some("logo.png"));
        let r = run(
            "dev",
            &[],
            SecretScan {
                incomplete: vec![blob("more than 1000 candidate secrets")],
                ..SecretScan::default()
            },
            "refs/heads/main",
        );
        assert_eq!(
            codes(&r),
            [("secret_scanning".to_string(), Code::ScanIncomplete)]
        );
    }

    #[test]
    fn a_rule_that_applies_without_scan_facts_fails_closed() {
        let policy = Policy::from_yaml(POLICY).expect("valid");
        let change = Change {
            updates: vec![update("refs/heads/main", Some(A), Some(B), vec![])],
            ..Change::default()
        };
        let r = evaluate(&policy, &change);
        assert_eq!(
            codes(&r),
            [("secret_scanning".to_string(), Code::ScanIncomplete)]
        );
    }

    #[test]
    fn secret_text_snapshot() {
        let r = run(
            "dev",
            &[],
            scan(vec![finding(
                "0123456789abcdef0123",
                "config/prod.env",
                false,
                "refs/heads/main",
            )]),
            "refs/heads/main",
        );
        insta::assert_snapshot!(render::text(&r));
    }
}

#[test]
fn rejections_name_the_signer_when_the_key_is_known() {
    let sig = SignatureCheck {
        verdict: KeyVerdict::RevokedKey,
        identity: Some("alice".into()),
        key: Some("ABCD".into()),
        detail: Some("key 0xABCD was revoked on 2026-01-01 (key compromised)".into()),
        ..SignatureCheck::default()
    };
    let r = judge(
        Some("alice"),
        vec![update(
            "refs/heads/main",
            Some(A),
            Some(B),
            vec![commit(B, "alice@example.org", sig)],
        )],
    );
    assert_eq!(
        r.violations[0].message,
        "signed by alice: key 0xABCD was revoked on 2026-01-01 (key compromised)"
    );
}

/// Regression (issue 10): a push certificate is evidence only for the push it signs. One whose
/// ref update lines are another push's names no pusher and fails `required_push_certificate`.
#[test]
fn a_push_certificate_of_another_push_certifies_nothing() {
    let text = "version: 1\nidentities:\n  alice: {emails: [alice@example.org]}\nrulesets:\n  - name: signed-pushes\n    target: push\n    rules:\n      required_push_certificate: {}\n";
    let policy = Policy::from_yaml(text).expect("valid");
    let cert = |matches_push| rules::facts::PushCertificate {
        id: C.into(),
        nonce_status: "OK".into(),
        pusher: "alice <alice@example.org>".into(),
        matches_push,
        signature: good("alice"),
        text: String::new(),
    };
    let change = |matches_push| Change {
        updates: vec![update("refs/heads/x", Some(A), Some(B), vec![])],
        push_certificate: Some(cert(matches_push)),
        ..Change::default()
    };
    let r = evaluate(&policy, &change(true));
    assert!(r.allowed, "{r:?}");
    assert!(r.pusher_certified);
    let r = evaluate(&policy, &change(false));
    assert!(!r.pusher_certified);
    assert_eq!(
        codes(&r),
        [(
            "required_push_certificate".to_string(),
            Code::PushCertificateMismatch
        )]
    );
}

/// The pusher's text for every kind of violation, pinned before the engine was split by rule
/// family (issue 13): any change to a message, a fix or the layout shows as a snapshot diff.
mod pusher_text {
    use super::*;
    use rules::facts::{PushCertificate, SecretScan, UnscannedBlob};

    const ATTESTED: &str = r#"version: 1
identities:
  alice:
    emails: [alice@example.org]
    roles: [maintainer]
  bob:
    emails: [bob@example.org]
  carol:
    emails: [carol@example.org]
rulesets:
  - name: attested
    target: branch
    include: [main]
    bypass: [carol]
    rules:
      full_attestation:
        mergers: [role:maintainer]
        clean_merge: true
        signers: [alice, bob]
  - name: notes
    target: ref
    include: ["refs/notes/**"]
    rules:
      required_signatures: {identity: author}
  - name: signed-pushes
    target: push
    include: ["cert/*"]
    rules:
      required_push_certificate: {allow: [alice]}
  - name: scanned
    target: push
    include: ["scan/*"]
    rules:
      secret_scanning: {max_blob_size: 10, on_large_blob: skip}
  - name: release-tags
    target: tag
    include: ["v*"]
    rules:
      required_signatures: {}
"#;

    fn policy() -> Policy {
        Policy::from_yaml(ATTESTED).expect("snapshot policy is valid")
    }

    fn judge_with(pusher: &str, change: Change) -> Report {
        evaluate(
            &policy(),
            &Change {
                pusher: Some(pusher.into()),
                default_branch: Some("main".into()),
                ..change
            },
        )
    }

    fn key(verdict: KeyVerdict, identity: Option<&str>) -> SignatureCheck {
        SignatureCheck {
            verdict,
            key: Some("KEY1".into()),
            identity: identity.map(str::to_string),
            ..SignatureCheck::default()
        }
    }

    /// Every key verdict without a verifier's detail (the engine's own words), on a commit and
    /// on a tag, once with the signer known.
    #[test]
    fn every_key_verdict_on_commits_and_tags() {
        let verdicts = [
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
        ];
        let mut text = String::new();
        for (i, v) in verdicts.into_iter().enumerate() {
            let signer = (i % 2 == 1).then_some("alice");
            let id = format!("{i:040}");
            let mut c = commit(&id, "alice@example.org", key(v, signer));
            c.subject = format!("{v:?}");
            let mut u = update("refs/heads/main", Some(A), Some(&id), vec![c]);
            u.commits.truncate(1);
            let tag = Tag {
                id: C.into(),
                name: "v1.0".into(),
                target: id.clone(),
                tagger: Some(person("alice@example.org")),
                signature: key(v, signer),
            };
            let mut t = update("refs/tags/v1.0", None, Some(C), vec![]);
            t.new_kind = ObjectKind::Tag;
            t.tag = Some(tag);
            let r = judge_with(
                "alice",
                Change {
                    updates: vec![u, t],
                    ..Change::default()
                },
            );
            text.push_str(&format!("== {v:?} ==\n{}", render::text(&r)));
        }
        insta::assert_snapshot!(text);
    }

    #[test]
    fn identity_binding_mismatches() {
        // A commit by alice signed with bob's key; a tag tagged by nobody the policy knows,
        // signed by alice; a note whose author (identity: author) is bob, signed by alice; a
        // good signature by a key whose identity the policy no longer has.
        let c1 = commit(B, "alice@example.org", good("bob"));
        let mut c2 = commit(C, "alice@example.org", good("alice"));
        c2.author = person("bob@example.org");
        let c3 = commit(A, "alice@example.org", good("mallory"));
        let tag = Tag {
            id: C.into(),
            name: "v2.0".into(),
            target: B.into(),
            tagger: Some(person("stranger@example.org")),
            signature: good("alice"),
        };
        let mut t = update("refs/tags/v2.0", None, Some(C), vec![]);
        t.new_kind = ObjectKind::Tag;
        t.tag = Some(tag);
        let r = judge_with(
            "alice",
            Change {
                updates: vec![
                    update("refs/heads/main", Some(A), Some(B), vec![c1, c3]),
                    t,
                    update("refs/notes/commits", Some(A), Some(C), vec![c2]),
                ],
                ..Change::default()
            },
        );
        insta::assert_snapshot!(render::text(&r));
    }

    #[test]
    fn attestation_merges_and_merged_tags() {
        let mut octopus = commit(C, "alice@example.org", good("alice"));
        octopus.subject = "Merge three".into();
        octopus.parents = vec![A.into(), B.into(), "4".repeat(40)];
        octopus.clean_merge = Some(true);
        let mut by_bob = commit(B, "bob@example.org", good("bob"));
        by_bob.subject = "Merge topic".into();
        by_bob.parents = vec![A.into(), C.into()];
        by_bob.clean_merge = Some(false);
        by_bob.mergetags = vec![Tag {
            id: "5".repeat(40),
            name: "topic-v1".into(),
            target: C.into(),
            tagger: Some(person("bob@example.org")),
            signature: SignatureCheck::unsigned(),
        }];
        let mut unknown = commit(&"6".repeat(40), "alice@example.org", good("alice"));
        unknown.parents = vec![A.into(), B.into()];
        unknown.clean_merge = None;
        let r = judge_with(
            "bob",
            Change {
                updates: vec![update(
                    "refs/heads/main",
                    Some(A),
                    Some(C),
                    vec![octopus, by_bob, unknown],
                )],
                ..Change::default()
            },
        );
        insta::assert_snapshot!(render::text(&r));
    }

    #[test]
    fn push_certificates() {
        let u = || update("refs/heads/cert/x", Some(A), Some(B), vec![]);
        let missing = judge_with(
            "alice",
            Change {
                updates: vec![u()],
                ..Change::default()
            },
        );
        let bad = judge_with(
            "alice",
            Change {
                updates: vec![u()],
                push_certificate: Some(PushCertificate {
                    id: C.into(),
                    nonce_status: "SLOP".into(),
                    pusher: "bob <bob@example.org>".into(),
                    matches_push: false,
                    signature: good("bob"),
                    text: String::new(),
                }),
                ..Change::default()
            },
        );
        let unsigned = judge_with(
            "alice",
            Change {
                updates: vec![u()],
                push_certificate: Some(PushCertificate {
                    id: C.into(),
                    nonce_status: "OK".into(),
                    pusher: "alice <alice@example.org>".into(),
                    matches_push: true,
                    signature: key(KeyVerdict::ExpiredKey, Some("alice")),
                    text: String::new(),
                }),
                ..Change::default()
            },
        );
        insta::assert_snapshot!(format!(
            "{}\n{}\n{}",
            render::text(&missing),
            render::text(&bad),
            render::text(&unsigned)
        ));
    }

    #[test]
    fn bypasses_warnings_tag_names_and_symbolic_refs() {
        // carol bypasses `attested`; the push also carries a renamed tag, a symbolic ref to
        // main and warnings of the secret scan.
        let mut link = update(
            "refs/heads/trunk",
            Some(A),
            Some(B),
            vec![commit(B, "carol@example.org", SignatureCheck::unsigned())],
        );
        link.resolves_to = vec!["refs/heads/main".into()];
        let tag = Tag {
            id: C.into(),
            name: "v0.9".into(),
            target: B.into(),
            tagger: Some(person("alice@example.org")),
            signature: good("alice"),
        };
        let mut renamed = update("refs/tags/v2.0", None, Some(C), vec![]);
        renamed.new_kind = ObjectKind::Tag;
        renamed.tag = Some(tag);
        let scan_ref = "refs/heads/scan/1";
        let scan = SecretScan {
            oversized: vec![rules::facts::OversizedBlob {
                refs: vec![scan_ref.into()],
                commit: B.into(),
                path: "big.bin".into(),
                size: 500,
                scanned_bytes: 0,
            }],
            unscanned: vec![UnscannedBlob {
                refs: vec![scan_ref.into()],
                commit: B.into(),
                path: "logo.png".into(),
                reason: "binary".into(),
            }],
            ..SecretScan::default()
        };
        let r = judge_with(
            "carol",
            Change {
                updates: vec![link, renamed, update(scan_ref, Some(A), Some(B), vec![])],
                secrets: Some(scan),
                ..Change::default()
            },
        );
        insta::assert_snapshot!(render::text(&r));
    }

    /// The report as JSON, for every kind of object a violation can be about.
    #[test]
    fn json_of_commits_tags_and_certificates() {
        let tag = Tag {
            id: C.into(),
            name: "v1.0".into(),
            target: B.into(),
            tagger: Some(person("alice@example.org")),
            signature: SignatureCheck::unsigned(),
        };
        let mut t = update("refs/tags/v1.0", None, Some(C), vec![]);
        t.new_kind = ObjectKind::Tag;
        t.tag = Some(tag);
        let r = judge_with(
            "alice",
            Change {
                updates: vec![
                    update(
                        "refs/heads/main",
                        Some(A),
                        Some(B),
                        vec![commit(B, "alice@example.org", SignatureCheck::unsigned())],
                    ),
                    t,
                    update("refs/tags/v1.1", None, Some(B), vec![]),
                    update("refs/heads/cert/x", Some(A), Some(B), vec![]),
                    update("refs/heads/free", Some(A), Some(B), vec![]),
                ],
                ..Change::default()
            },
        );
        insta::assert_snapshot!(render::json(&r));
    }
}

/// Issue 13: what a violation is about is typed (`Subject`), so renderers never parse text.
mod typed_violations {
    use super::*;
    use rules::{Subject, Violation};

    /// Regression: the renderer used to read a subject starting with "tag " as a tag name.
    #[test]
    fn a_commit_whose_subject_starts_with_tag_is_still_a_commit() {
        let mut c = commit(B, "bob@example.org", SignatureCheck::unsigned());
        c.subject = "tag v9 was wrong, fix it".into();
        let r = judge(
            Some("alice"),
            vec![update("refs/heads/main", Some(A), Some(B), vec![c])],
        );
        let text = render::text(&r);
        assert!(
            text.contains("    commit 2222222222 \"tag v9 was wrong, fix it\"\n"),
            "{text}"
        );
        assert!(
            !text.contains("tag v9 was wrong, fix it (2222222222)"),
            "{text}"
        );
    }

    #[test]
    fn each_subject_round_trips_through_json() {
        let base = Violation::on_ref(
            "required_signatures",
            "rs",
            "refs/heads/main",
            Code::NoSignature,
            "m".into(),
            "f".into(),
        );
        let kinds = [
            Subject::Commit {
                subject: Some("Add x".into()),
            },
            Subject::Commit { subject: None },
            Subject::Tag { tag: "v1".into() },
            Subject::PushCertificate,
            Subject::Other {
                kind: ObjectKind::Tree,
            },
        ];
        for kind in kinds {
            let v = base.clone().about(B, kind);
            let json = serde_json::to_value(&v).expect("serialize");
            assert_eq!(json["commit"], B, "{json}");
            let back: Violation = serde_json::from_value(json.clone()).expect("deserialize");
            assert_eq!(back, v, "{json}");
        }
        // A violation about the ref as a whole has neither.
        let json = serde_json::to_value(&base).expect("serialize");
        assert!(json.get("commit").is_none() && json.get("object").is_none());
        let back: Violation = serde_json::from_value(json).expect("deserialize");
        assert_eq!(back.object, None);
    }
}

/// Issue 13: "no ruleset applies" is an outcome of its own, not just an empty list.
mod no_ruleset {
    use super::*;

    #[test]
    fn refs_no_ruleset_governs_are_named_in_the_report() {
        let mut link = update("refs/heads/trunk-link", Some(A), Some(B), vec![]);
        link.resolves_to = vec!["refs/heads/main".into()];
        let r = judge(
            Some("alice"),
            vec![
                update("refs/notes/commits", Some(A), Some(B), vec![]),
                update("refs/heads/main", Some(A), Some(B), vec![]),
                link,
                update("refs/tags/nightly", None, Some(B), vec![]),
            ],
        );
        assert!(r.allowed, "{r:?}");
        // The symbolic ref is governed through the ref it names; notes and a tag that no
        // ruleset includes are not.
        assert_eq!(
            r.refs_without_ruleset,
            ["refs/notes/commits", "refs/tags/nightly"]
        );
        assert_eq!(render::text(&r), "", "the pusher is told nothing");
        let v: serde_json::Value = serde_json::from_str(&render::json(&r)).expect("JSON");
        assert_eq!(
            v["refs_without_ruleset"],
            serde_json::json!(["refs/notes/commits", "refs/tags/nightly"])
        );
        assert_eq!(
            r.for_ref("refs/tags/nightly").refs_without_ruleset,
            ["refs/tags/nightly"]
        );
        assert!(r.for_ref("refs/heads/main").refs_without_ruleset.is_empty());
    }

    #[test]
    fn a_change_every_ruleset_governs_has_no_such_refs() {
        let r = judge(
            Some("alice"),
            vec![update("refs/heads/main", Some(A), Some(B), vec![])],
        );
        assert!(r.refs_without_ruleset.is_empty());
        let v: serde_json::Value = serde_json::from_str(&render::json(&r)).expect("JSON");
        assert!(v.get("refs_without_ruleset").is_none(), "{v}");
    }
}

/// A signature the collector did not verify (no rule of the ref it was first read for reads
/// signatures) never counts as good where a rule reads it.
#[test]
fn an_unverified_signature_is_refused_where_a_rule_reads_it() {
    let unverified = SignatureCheck {
        verdict: KeyVerdict::NotVerified,
        ..SignatureCheck::default()
    };
    let r = judge(
        Some("alice"),
        vec![update(
            "refs/heads/main",
            Some(A),
            Some(B),
            vec![commit(B, "alice@example.org", unverified)],
        )],
    );
    assert_eq!(
        codes(&r),
        [(
            "required_signatures".to_string(),
            Code::SignatureNotVerified
        )]
    );
    assert!(!r.allowed);
    assert!(r.violations[0].message.contains("not verified"), "{r:?}");
}

/// `pull_request`: four eyes with signed approvals.
mod review {
    use super::*;
    use rules::facts::{Approval, ApprovalVerdict};

    const REVIEW_POLICY: &str = r#"version: 1
identities:
  alice:
    emails: [alice@example.org]
    roles: [developer]
  bob:
    emails: [bob@example.org]
    roles: [maintainer]
  carol:
    emails: [carol@example.org]
    roles: [reviewer]
  dave:
    emails: [dave@example.org]
    roles: [reviewer]
  gus:
    emails: [gus@example.org]
    roles: [guest]
rulesets:
  - name: four-eyes
    target: branch
    include: [main]
    rules:
      pull_request: {}
  - name: rebase-ok
    target: branch
    include: [release]
    rules:
      pull_request:
        required_approving_review_count: 1
        dismiss_stale_reviews_on_push: patch_id
        require_write_approver: false
"#;
    const TREE: &str = "4444444444444444444444444444444444444444";

    fn approval(who: &str, verdict: ApprovalVerdict, issued_at: i64) -> Approval {
        Approval {
            id: format!("{who}-{issued_at}"),
            signature: good(who),
            target_ref: "refs/heads/main".into(),
            from_id: Some(A.into()),
            target_tree: TREE.into(),
            patch_id: None,
            verdict,
            issued_at,
            expires_at: None,
        }
    }

    fn approve(who: &str) -> Approval {
        approval(who, ApprovalVerdict::Approve, 1_790_000_000)
    }

    /// alice pushes her commit (co-authored by dave) to `ref_name` with these approvals.
    fn judge_with(ref_name: &str, approvals: Vec<Approval>) -> Report {
        let policy = Policy::from_yaml(REVIEW_POLICY).expect("review policy is valid");
        let mut c = commit(B, "alice@example.org", good("alice"));
        c.co_authors = vec![person("dave@example.org")];
        let mut u = update(ref_name, Some(A), Some(B), vec![c]);
        u.new_tree = Some(TREE.into());
        u.patch_id = Some("p1".into());
        let change = Change {
            repo: "test.git".into(),
            now: 1_800_000_000,
            pusher: Some("alice".into()),
            updates: vec![u],
            approvals,
            ..Change::default()
        };
        evaluate(&policy, &change)
    }

    fn main(approvals: Vec<Approval>) -> Report {
        judge_with("refs/heads/main", approvals)
    }

    #[test]
    fn two_independent_approvals_one_by_a_writer_pass() {
        let r = main(vec![approve("bob"), approve("carol")]);
        assert!(r.allowed, "{r:?}");
    }

    #[test]
    fn one_approval_is_not_enough_and_the_message_says_what_to_do() {
        let r = main(vec![approve("bob")]);
        assert_eq!(
            codes(&r),
            [("pull_request".to_string(), Code::ApprovalsMissing)]
        );
        let v = &r.violations[0];
        assert!(
            v.message.contains(
                "2 approvals from reviewers independent of the change are needed, 1 counts: bob"
            ),
            "{}",
            v.message
        );
        assert!(
            v.fix.contains(
                "pushguard approve --ref refs/heads/main --base 1111111111 2222222222 --push"
            ),
            "{}",
            v.fix
        );
    }

    #[test]
    fn the_author_pusher_and_co_author_do_not_count() {
        let r = main(vec![approve("alice"), approve("dave"), approve("bob")]);
        assert_eq!(
            codes(&r),
            [("pull_request".to_string(), Code::ApprovalsMissing)]
        );
        let m = &r.violations[0].message;
        assert!(
            m.contains("alice (not independent: the pusher of the change)"),
            "{m}"
        );
        assert!(
            m.contains("dave (not independent: a co-author of the change)"),
            "{m}"
        );
    }

    #[test]
    fn one_reviewer_counts_once_however_many_approvals() {
        let r = main(vec![
            approve("bob"),
            approval("bob", ApprovalVerdict::Approve, 1_790_000_100),
        ]);
        assert!(r.violations[0].message.contains("1 counts: bob"), "{r:?}");
    }

    #[test]
    fn reviewers_without_write_access_need_a_writer_beside_them() {
        let policy_two_reviewers = main(vec![
            approve("carol"),
            approval("gus", ApprovalVerdict::Approve, 1),
        ]);
        // gus is a guest: not counted; carol alone is one reviewer without write access.
        let got = codes(&policy_two_reviewers);
        assert!(
            got.contains(&("pull_request".to_string(), Code::ApprovalsMissing)),
            "{got:?}"
        );
        assert!(
            got.contains(&("pull_request".to_string(), Code::WriteApprovalMissing)),
            "{got:?}"
        );
        assert!(policy_two_reviewers.violations[0]
            .message
            .contains("gus (role guest may not approve)"));
    }

    #[test]
    fn stale_expired_foreign_and_unsigned_approvals_do_not_count() {
        let mut stale = approve("carol");
        stale.target_tree = "5555555555555555555555555555555555555555".into();
        let mut expired = approve("bob");
        expired.expires_at = Some(1_799_999_999);
        let r = main(vec![stale, expired]);
        let m = &r.violations[0].message;
        assert!(m.contains("none count"), "{m}");
        assert!(
            m.contains("carol (stale: made for another base or result)"),
            "{m}"
        );
        assert!(m.contains("bob (expired)"), "{m}");
        let mut other = approve("bob");
        other.target_ref = "refs/heads/dev".into();
        let mut unknown = approve("carol");
        unknown.signature = SignatureCheck {
            verdict: KeyVerdict::UnknownKey,
            ..SignatureCheck::default()
        };
        let r = main(vec![other, unknown]);
        let m = &r.violations[0].message;
        assert!(m.contains("bob (for another ref)"), "{m}");
        assert!(m.contains("(unknown key)"), "{m}");
    }

    #[test]
    fn a_rejection_blocks_until_revoked_and_the_latest_verdict_wins() {
        let r = main(vec![
            approve("bob"),
            approve("carol"),
            approval("carol", ApprovalVerdict::Reject, 1_790_000_100),
        ]);
        let got = codes(&r);
        assert!(
            got.contains(&("pull_request".to_string(), Code::ChangesRequested)),
            "{got:?}"
        );
        assert!(r.violations[0]
            .message
            .contains("changes requested by carol"));
        // carol approves again later: her latest verdict counts.
        let r = main(vec![
            approve("bob"),
            approval("carol", ApprovalVerdict::Reject, 1_790_000_100),
            approval("carol", ApprovalVerdict::Approve, 1_790_000_200),
        ]);
        assert!(r.allowed, "{r:?}");
        // A revoke withdraws her verdict: bob alone is not enough.
        let r = main(vec![
            approve("bob"),
            approve("carol"),
            approval("carol", ApprovalVerdict::Revoke, 1_790_000_100),
        ]);
        assert_eq!(
            codes(&r),
            [("pull_request".to_string(), Code::ApprovalsMissing)]
        );
    }

    #[test]
    fn with_patch_id_an_approval_survives_a_rebase() {
        let mut rebased = approve("carol");
        rebased.target_ref = "refs/heads/release".into();
        rebased.from_id = Some(C.into());
        rebased.target_tree = "6666666666666666666666666666666666666666".into();
        rebased.patch_id = Some("p1".into());
        assert!(judge_with("refs/heads/release", vec![rebased.clone()]).allowed);
        // Another patch-id, or strict mode (main), does not keep it.
        let mut changed = rebased.clone();
        changed.patch_id = Some("p2".into());
        assert!(!judge_with("refs/heads/release", vec![changed]).allowed);
        let mut on_main = rebased;
        on_main.target_ref = "refs/heads/main".into();
        assert!(!main(vec![on_main, approve("bob")]).allowed);
    }

    /// The transcript in docs/review.md.
    #[test]
    fn the_pusher_is_told_who_counts_who_does_not_and_what_to_run() {
        let r = main(vec![approve("alice"), approve("dave"), approve("bob")]);
        let text = render::text(&r);
        let doc =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/review.md"))
                .expect("docs/review.md");
        assert!(doc.contains(&text), "docs/review.md must quote:\n{text}");
        insta::assert_snapshot!(text);
    }

    /// bob pushes to the approvals namespace.
    fn push_approval(name: &str, new: Option<&str>, approvals: Vec<Approval>) -> Report {
        let policy = Policy::from_yaml(REVIEW_POLICY).expect("review policy is valid");
        let mut u = update(name, None, new, vec![]);
        u.new_kind = if new.is_some() {
            ObjectKind::Blob
        } else {
            ObjectKind::None
        };
        if new.is_none() {
            u.old = Some(C.into());
        }
        let change = Change {
            repo: "test.git".into(),
            now: 1_800_000_000,
            pusher: Some("bob".into()),
            updates: vec![u],
            approvals,
            ..Change::default()
        };
        evaluate(&policy, &change)
    }

    #[test]
    fn reviewers_write_and_delete_only_their_own_approvals() {
        let mut own = approve("bob");
        own.id = C.into();
        let ok = push_approval(
            "refs/pushguard/approvals/heads/main/bob/1",
            Some(C),
            vec![own.clone()],
        );
        assert!(ok.allowed, "{ok:?}");
        // Under carol's name, or signed by carol, or deleting carol's: refused.
        let r = push_approval(
            "refs/pushguard/approvals/heads/main/carol/1",
            Some(C),
            vec![own.clone()],
        );
        assert_eq!(codes(&r), [("approvals".to_string(), Code::ApprovalNotOwn)]);
        assert!(r.violations[0]
            .message
            .contains("bob may not write or delete carol's approvals"));
        let mut carols = approve("carol");
        carols.id = C.into();
        let r = push_approval(
            "refs/pushguard/approvals/heads/main/bob/1",
            Some(C),
            vec![carols],
        );
        assert!(
            r.violations[0]
                .message
                .contains("not signed by bob: signed by carol"),
            "{r:?}"
        );
        let r = push_approval("refs/pushguard/approvals/heads/main/carol/1", None, vec![]);
        assert_eq!(codes(&r), [("approvals".to_string(), Code::ApprovalNotOwn)]);
        // Deleting one's own is fine; something unreadable is not an approval.
        assert!(push_approval("refs/pushguard/approvals/heads/main/bob/1", None, vec![]).allowed);
        let r = push_approval("refs/pushguard/approvals/heads/main/bob/1", Some(C), vec![]);
        assert!(r.violations[0]
            .message
            .contains("not an approval pushguard could read"));
        let r = push_approval("refs/pushguard/approvals/bob", Some(C), vec![own]);
        assert!(
            r.violations[0].message.contains("not an approval ref"),
            "{r:?}"
        );
    }

    /// alice changes `paths` on main, which `codeowners` (from the old tip) governs, with the
    /// rule asking for code owners.
    fn with_owners(codeowners: &str, paths: &[&str], approvals: Vec<Approval>) -> Report {
        let text = REVIEW_POLICY.replace(
            "pull_request: {}",
            "pull_request: {require_code_owner_review: true, required_approving_review_count: 1}",
        );
        let policy = Policy::from_yaml(&text).expect("review policy is valid");
        let c = commit(B, "alice@example.org", good("alice"));
        let mut u = update("refs/heads/main", Some(A), Some(B), vec![c]);
        u.new_tree = Some(TREE.into());
        u.changed_paths = paths.iter().map(|p| p.to_string()).collect();
        u.code_owners = Some(rules::facts::CodeOwnersFile {
            path: ".github/CODEOWNERS".into(),
            text: codeowners.as_bytes().to_vec(),
        });
        let change = Change {
            repo: "test.git".into(),
            now: 1_800_000_000,
            pusher: Some("alice".into()),
            updates: vec![u],
            approvals,
            ..Change::default()
        };
        evaluate(&policy, &change)
    }

    fn code_owner_messages(r: &Report) -> Vec<String> {
        r.violations
            .iter()
            .filter(|v| v.code == Code::CodeOwnerApprovalMissing)
            .map(|v| v.message.clone())
            .collect()
    }

    #[test]
    fn an_owned_path_needs_its_owner() {
        let owners = "* @bob\n/db/ carol@example.org\n";
        // bob approved: src/ is his, db/ is carol's.
        let r = with_owners(owners, &["src/a.rs", "db/schema.sql"], vec![approve("bob")]);
        assert_eq!(
            code_owner_messages(&r),
            ["db/schema.sql needs 1 approval from the code owners (carol@example.org), 0 given"]
        );
        assert!(r
            .violations
            .iter()
            .any(|v| v.fix.contains("ask carol to run: pushguard approve")));
        let both = vec![approve("bob"), approve("carol")];
        let r = with_owners(owners, &["src/a.rs", "db/schema.sql"], both);
        assert!(r.allowed, "{r:?}");
        // A path no line owns needs nobody.
        let r = with_owners("/db/ @carol\n", &["src/a.rs"], vec![approve("bob")]);
        assert!(r.allowed, "{r:?}");
    }

    #[test]
    fn owners_nobody_can_be_or_only_the_author_block_with_their_own_message() {
        let r = with_owners("* @nobody\n", &["a"], vec![approve("bob")]);
        assert_eq!(
            code_owner_messages(&r),
            ["a: @nobody names no identity of the policy, so nobody can approve"]
        );
        let r = with_owners("* @alice\n", &["a"], vec![approve("bob")]);
        assert_eq!(
            code_owner_messages(&r),
            ["a: the only owners are not independent of the change: alice (the pusher)"]
        );
    }

    #[test]
    fn gitlab_sections_need_their_count_and_roles_name_owners() {
        let owners = "[Database][2] @carol @dave @bob\n/db/\n";
        let r = with_owners(owners, &["db/x.sql"], vec![approve("bob")]);
        assert_eq!(
            code_owner_messages(&r),
            ["db/x.sql (section [Database]) needs 2 approvals from the code owners (@bob @carol @dave), 1 given"]
        );
        let r = with_owners(
            owners,
            &["db/x.sql"],
            vec![approve("bob"), approve("carol")],
        );
        assert!(r.allowed, "{r:?}");
        let r = with_owners(
            "[Ops]\n/ops/ @@maintainer\n",
            &["ops/run.sh"],
            vec![approve("bob")],
        );
        assert!(r.allowed, "bob is a maintainer: {r:?}");
    }
}
