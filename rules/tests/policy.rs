//! Policy parsing and validation: the issue's example loads, mistakes are reported with
//! line and column.

use rules::policy::{Actor, OnError, RuleSpec, Target};
use rules::Policy;

const EXAMPLE: &str = r#"version: 1
identities:
  alice:
    emails: [alice@example.org]
    keys:
      - ssh: "ssh-ed25519 AAAAC3Nza... alice@laptop"
      - openpgp: keys/alice.asc        # armored certificate; relative paths are relative to this file
    roles: [maintainer]
  bob:
    emails: [bob@example.org]
    keys:
      - ssh: "ssh-ed25519 AAAAC3Nza... bob@desktop"
    roles: [developer]
pusher:
  env: [GL_USER, GL_USERNAME, GITEA_PUSHER_NAME, REMOTE_USER, PUSHGUARD_USER]   # first one set names the pusher
rulesets:
  - name: protect-main
    target: branch                     # branch | tag
    include: [~DEFAULT_BRANCH, main, "release/*"]
    exclude: []
    bypass: [role:admin]               # identities or role:NAME; every bypass is written to the audit log
    rules:
      non_fast_forward: {}
      deletion: {}
      required_linear_history: {}
      required_signatures: {}
      update:
        allow: [role:maintainer, bob]  # who may move the branch at all (GitHub: bypass actors only)
  - name: release-tags
    target: tag
    include: ["v*"]
    rules:
      creation:
        allow: [role:maintainer]
      update: {}                       # nobody may move a tag
      deletion: {}
      required_signatures: {}          # annotated tag signed by a known identity
"#;

fn err(text: &str) -> (u32, u32, String) {
    let e = Policy::from_yaml(text).expect_err("policy should be rejected");
    (e.at.line, e.at.column, e.message)
}

#[test]
fn the_issue_example_loads() {
    let p = Policy::from_yaml(EXAMPLE).expect("example is valid");
    assert_eq!(p.identities.len(), 2);
    let alice = p.identity("alice").expect("alice");
    assert_eq!(alice.keys.len(), 2);
    assert_eq!(alice.roles, ["maintainer"]);
    assert_eq!(p.pusher_env[0], "GL_USER");
    let main = &p.rulesets[0];
    assert_eq!(main.target, Target::Branch);
    assert_eq!(main.bypass, [Actor::Role("admin".into())]);
    assert!(main.rules.contains(&RuleSpec::Update {
        allow: vec![
            Actor::Role("maintainer".into()),
            Actor::Identity("bob".into())
        ]
    }));
    assert!(main.applies_to("refs/heads/release/1.0", None));
    assert!(
        !main.applies_to("refs/heads/release/1.0/hotfix", None),
        "* stays in one component"
    );
    assert!(
        main.applies_to("refs/heads/trunk", Some("trunk")),
        "~DEFAULT_BRANCH"
    );
    assert!(
        !main.applies_to("refs/tags/main", None),
        "branch rulesets ignore tags"
    );
    let tags = &p.rulesets[1];
    assert!(tags.applies_to("refs/tags/v1.2.3", None));
    assert!(!tags.applies_to("refs/heads/v1", None));
    // role:admin is allowed but nobody has it: a warning, not an error.
    assert_eq!(p.warnings.len(), 1);
    assert!(p.warnings[0].message.contains("admin"));
    assert_eq!(p.warnings[0].at.line, 21);
}

#[test]
fn the_default_policy_protects_main_branches_and_release_tags() {
    let p = Policy::default_policy();
    let names = |r: &str, d: Option<&str>| -> Vec<String> {
        p.rulesets_for(r, d).map(|r| r.name.clone()).collect()
    };
    let secrets = "secret-push-protection";
    assert_eq!(
        names("refs/heads/main", None),
        ["protect-default-branch", secrets]
    );
    assert_eq!(
        names("refs/heads/master", None),
        ["protect-default-branch", secrets]
    );
    assert_eq!(
        names("refs/heads/trunk", Some("trunk")),
        ["protect-default-branch", secrets]
    );
    assert_eq!(names("refs/heads/feature", Some("main")), [secrets]);
    assert_eq!(
        names("refs/tags/v1.0", None),
        ["protect-release-tags", secrets]
    );
    assert_eq!(names("refs/tags/nightly", None), [secrets]);
    assert_eq!(names("refs/notes/commits", None), [secrets]);
    assert!(p.scans_secrets());
    assert_eq!(p.settings.on_error, OnError::FailClosed);
}

#[test]
fn unknown_keys_are_errors_with_their_position() {
    let (line, col, msg) = err("version: 1\nrulesets:\n  - name: x\n    target: branch\n    include: [main]\n    rulez: {}\n    rules: {deletion: {}}\n");
    assert_eq!((line, col), (6, 5), "{msg}");
    assert!(msg.contains("rulez"), "{msg}");
}

#[test]
fn unknown_rule_names_are_errors() {
    let (line, _, msg) = err("version: 1\nrulesets:\n  - name: x\n    target: branch\n    include: [main]\n    rules:\n      force_push: {}\n");
    assert_eq!(line, 7, "{msg}");
    assert!(msg.contains("force_push"), "{msg}");
}

#[test]
fn secret_severity_is_block_or_warn() {
    let p = Policy::from_yaml("version: 1\nsecrets:\n  severity:\n    aws-access-key-id: block\n    generic-password: warn\n")
        .expect("valid");
    assert_eq!(p.secrets.severity.len(), 2);
    let (line, col, msg) = err("version: 1\nsecrets:\n  severity:\n    generic-password: maybe\n");
    assert_eq!((line, col), (4, 23), "{msg}");
    assert!(msg.contains("use block or warn"), "{msg}");
}

#[test]
fn duplicate_keys_are_errors() {
    let (line, _, msg) = err("version: 1\nversion: 1\n");
    assert_eq!(line, 2, "{msg}");
    assert!(msg.to_lowercase().contains("duplicate"), "{msg}");
}

#[test]
fn unknown_identities_in_allow_lists_point_at_the_name() {
    let (line, col, msg) = err("version: 1\nrulesets:\n  - name: x\n    target: branch\n    include: [main]\n    rules:\n      update:\n        allow: [carol]\n");
    assert_eq!((line, col), (8, 17), "{msg}");
    assert!(msg.contains("unknown identity \"carol\""), "{msg}");
}

#[test]
fn semantic_mistakes_are_reported() {
    let cases = [
        ("version: 2\n", 1, "version 2"),
        ("version: 1\nrulesets:\n  - name: x\n    target: branches\n    include: [main]\n    rules: {deletion: {}}\n", 4, "target must be branch, tag, push or ref"),
        ("version: 1\nrulesets:\n  - name: x\n    target: branch\n    rules: {deletion: {}}\n", 3, "no include"),
        ("version: 1\nrulesets:\n  - name: x\n    target: branch\n    include: [main]\n    rules: {}\n", 6, "no rules"),
        ("version: 1\nrulesets:\n  - name: x\n    target: tag\n    include: [~DEFAULT_BRANCH]\n    rules: {deletion: {}}\n", 5, "~DEFAULT_BRANCH"),
        ("version: 1\nrulesets:\n  - name: x\n    target: tag\n    include: [refs/heads/main]\n    rules: {deletion: {}}\n", 5, "can never match"),
        ("version: 1\nidentities:\n  a: {emails: [x@example.org]}\n  b: {emails: [X@example.org]}\n", 4, "one identity"),
        ("version: 1\nidentities:\n  a: {emails: [not-an-email]}\n", 3, "not an email"),
        ("version: 1\nidentities:\n  a:\n    keys:\n      - {ssh: x, openpgp: y}\n", 5, "exactly one of"),
        ("version: 1\nsettings: {on_error: maybe}\n", 2, "fail_closed or fail_open"),
        ("version: 1\nsettings: {timeout_seconds: 0}\n", 2, "timeout_seconds"),
        ("version: 1\nrulesets:\n  - {name: x, target: branch, include: [main], rules: {deletion: {}}}\n  - {name: x, target: branch, include: [main], rules: {deletion: {}}}\n", 4, "two rulesets"),
    ];
    for (text, line, needle) in cases {
        let (l, _, msg) = err(text);
        assert!(msg.contains(needle), "{text:?}: {msg:?} lacks {needle:?}");
        assert_eq!(l, line, "{text:?}: {msg}");
    }
}

#[test]
fn yaml_booleans_are_strict() {
    // `yes` is not a boolean; no field here takes one, but it must not sneak through as true.
    let (_, _, msg) = err("version: yes\n");
    assert!(!msg.is_empty());
}

#[test]
fn per_repository_on_error_settings() {
    let p = Policy::from_yaml(
        "version: 1\nsettings: {on_error: fail_closed, timeout_seconds: 2.5}\nrepositories:\n  - {path: \"legacy/*\", on_error: fail_open}\n",
    )
    .expect("valid");
    assert_eq!(p.settings.timeout_ms, 2500);
    assert_eq!(p.on_error_for("legacy/old.git"), OnError::FailOpen);
    assert_eq!(p.on_error_for("team/new.git"), OnError::FailClosed);
}

#[test]
fn trust_sources_and_certificate_identities() {
    let p = Policy::from_yaml(
        r#"version: 1
trust:
  x509_roots: [certs/root.pem]
  ssh_cas:
    - {key: "ssh-ed25519 AAAAC3Nza... ca", principals: "*@example.org", valid_before: 2027-01-01}
  sigstore:
    roots: [certs/fulcio.pem]
    rekor_keys: [keys/rekor.pub, keys/rekor-2022.pub]
    trust_signing_time: false
  sha1_cutoff: 2019-01-01
identities:
  alice:
    emails: [alice@example.org]
    ssh_principals: [alice]
    keys:
      - x509: Alice@Example.org
      - sigstore: {san: alice@example.org, issuer: "https://accounts.google.com"}
"#,
    )
    .expect("valid");
    assert_eq!(p.trust.x509_roots[0].0, "certs/root.pem");
    let rekor: Vec<_> = p
        .trust
        .sigstore_rekor_keys
        .iter()
        .map(|(f, at)| (f.as_str(), at.line))
        .collect();
    assert_eq!(rekor, [("keys/rekor.pub", 8), ("keys/rekor-2022.pub", 8)]);
    assert!(!p.trust.sigstore_trust_signing_time);
    assert_eq!(p.trust.ssh_cas[0].valid_before, Some(1_798_761_600));
    assert_eq!(p.trust.sha1_cutoff, Some(1_546_300_800));
    let alice = p.identity("alice").expect("alice");
    assert_eq!(alice.ssh_principals, ["alice"]);
    assert_eq!(
        alice.keys[0].source,
        rules::policy::KeySource::X509("alice@example.org".into())
    );
    let (line, _, msg) = err("version: 1\ntrust: {sha1_cutoff: soon}\n");
    assert_eq!(line, 2);
    assert!(msg.contains("not a date"), "{msg}");
    let (line, _, msg) = err("version: 1\ntrust:\n  sigstore: {rekor_key: k.pub}\n");
    assert_eq!(line, 3);
    assert!(msg.contains("rekor_keys"), "{msg}");
    let (_, _, msg) =
        err("version: 1\nidentities:\n  a:\n    keys: [{sigstore: {san: a, issuer: http://x}}]\n");
    assert!(msg.contains("https://"), "{msg}");
}

#[test]
fn dates_are_utc() {
    use rules::policy::parse_date;
    assert_eq!(parse_date("1970-01-01"), Some(0));
    assert_eq!(parse_date("2000-03-01"), Some(951_868_800));
    assert_eq!(parse_date("2026-11-27T01:02:03Z"), Some(1_795_741_323));
    assert_eq!(parse_date("2026-13-01"), None);
    assert_eq!(parse_date("tomorrow"), None);
}

/// Every message validation can give, with its line and column, in one snapshot: the policy
/// module may be reorganised, the messages a policy author reads may not change unnoticed.
#[test]
fn every_validation_message_with_its_place() {
    let r = |body: &str| format!("version: 1\nrulesets:\n{body}");
    let ruleset = |target: &str, include: &str, rules: &str| {
        r(&format!(
            "  - name: x\n    target: {target}\n    include: [{include}]\n    rules: {rules}\n"
        ))
    };
    let scanning = |params: &str| ruleset("push", "", &format!("{{secret_scanning: {params}}}"));
    let cases: Vec<(&str, String)> = vec![
        ("unsupported version", "version: 2\n".into()),
        ("on_error", "version: 1\nsettings: {on_error: maybe}\n".into()),
        ("timeout", "version: 1\nsettings: {timeout_seconds: 0}\n".into()),
        ("max_ref_updates", "version: 1\nsettings: {max_ref_updates: 0}\n".into()),
        ("max_commits", "version: 1\nsettings: {max_commits: 0}\n".into()),
        ("repository glob", "version: 1\nrepositories:\n  - {path: \"a[\"}\n".into()),
        ("repository on_error", "version: 1\nrepositories:\n  - {path: a, on_error: later}\n".into()),
        ("identity name", "version: 1\nidentities:\n  \"role:x\": {}\n".into()),
        ("not an email", "version: 1\nidentities:\n  a: {emails: [nobody]}\n".into()),
        ("email twice", "version: 1\nidentities:\n  a: {emails: [x@example.org]}\n  b: {emails: [X@example.org]}\n".into()),
        ("user name twice", "version: 1\nidentities:\n  a: {usernames: [u]}\n  b: {usernames: [u]}\n".into()),
        ("user name is another identity", "version: 1\nidentities:\n  a: {usernames: [b]}\n  b: {}\n".into()),
        ("two key kinds", "version: 1\nidentities:\n  a:\n    keys:\n      - {ssh: x, openpgp: y}\n".into()),
        ("no key kind", "version: 1\nidentities:\n  a:\n    keys:\n      - {}\n".into()),
        ("x509 not an email", "version: 1\nidentities:\n  a:\n    keys: [{x509: nobody}]\n".into()),
        ("sigstore issuer", "version: 1\nidentities:\n  a:\n    keys: [{sigstore: {san: a, issuer: http://x}}]\n".into()),
        ("ssh key line", "version: 1\nidentities:\n  a:\n    keys: [{ssh: AAAA}]\n".into()),
        ("empty openpgp", "version: 1\nidentities:\n  a:\n    keys: [{openpgp: \" \"}]\n".into()),
        ("empty role", ruleset("branch", "main", "{update: {allow: [\"role:\"]}}")),
        ("unknown identity", ruleset("branch", "main", "{update: {allow: [carol]}}")),
        ("empty ruleset name", r("  - {name: \" \", target: branch, include: [main], rules: {deletion: {}}}\n")),
        ("two rulesets", r("  - {name: x, target: branch, include: [main], rules: {deletion: {}}}\n  - {name: x, target: tag, include: [v1], rules: {deletion: {}}}\n")),
        ("target", ruleset("branches", "main", "{deletion: {}}")),
        ("default branch of tags", ruleset("tag", "~DEFAULT_BRANCH", "{deletion: {}}")),
        ("empty pattern", ruleset("branch", "\"\"", "{deletion: {}}")),
        ("special pattern", ruleset("branch", "~MAIN", "{deletion: {}}")),
        ("ref target short name", ruleset("ref", "main", "{deletion: {}}")),
        ("can never match", ruleset("tag", "refs/heads/main", "{deletion: {}}")),
        ("bad ref glob", ruleset("branch", "\"a[\"", "{deletion: {}}")),
        ("bad exclude", r("  - {name: x, target: branch, include: [main], exclude: [\"\"], rules: {deletion: {}}}\n")),
        ("unknown bypass", r("  - {name: x, target: branch, include: [main], bypass: [carol], rules: {deletion: {}}}\n")),
        ("no include", r("  - {name: x, target: branch, rules: {deletion: {}}}\n")),
        ("no rules", ruleset("branch", "main", "{}")),
        ("branch rule in a push ruleset", ruleset("push", "", "{deletion: {}}")),
        ("signature identity", ruleset("branch", "main", "{required_signatures: {identity: owner}}")),
        ("unknown signer", ruleset("branch", "main", "{required_signatures: {signers: [carol]}}")),
        ("unknown merger", ruleset("branch", "main", "{full_attestation: {mergers: [carol]}}")),
        ("octopus", ruleset("branch", "main", "{full_attestation: {octopus: sometimes}}")),
        ("max_blob_size", scanning("{max_blob_size: 0}")),
        ("on_large_blob", scanning("{on_large_blob: read}")),
        ("deadline", scanning("{deadline_seconds: 601}")),
        ("on_deadline", scanning("{on_deadline: retry}")),
        ("legacy", scanning("{legacy: warn}")),
        ("review count", ruleset("branch", "main", "{pull_request: {required_approving_review_count: 0}}")),
        ("code owners dialect", ruleset("branch", "main", "{pull_request: {code_owners_dialect: bitbucket}}")),
        ("stale reviews", ruleset("branch", "main", "{pull_request: {dismiss_stale_reviews_on_push: true}}")),
        ("independent of", ruleset("branch", "main", "{pull_request: {independent_of: [reviewers]}}")),
        ("suppression names nothing", scanning("{suppressions: [{reason: r}]}")),
        ("suppression hash", scanning("{suppressions: [{rule: r, secret_sha256: abc, reason: r}]}")),
        ("suppression glob", scanning("{suppressions: [{fingerprint: f, path: \"a[\", reason: r}]}")),
        ("suppression reason", scanning("{suppressions: [{fingerprint: f, reason: \" \"}]}")),
        ("suppression expiry", scanning("{suppressions: [{fingerprint: f, reason: r, expires: soon}]}")),
        ("suppressions file", scanning("{suppressions_file: ../x.yaml}")),
        ("baseline", scanning("{baseline: \" \"}")),
        ("severity", "version: 1\nsecrets:\n  severity: {github-pat: loud}\n".into()),
        ("ssh ca key", "version: 1\ntrust:\n  ssh_cas:\n    - {key: AAAA}\n".into()),
        ("ssh ca date", "version: 1\ntrust:\n  ssh_cas:\n    - {key: \"ssh-ed25519 AAAA ca\", valid_after: someday}\n".into()),
        ("sha1 cutoff", "version: 1\ntrust: {sha1_cutoff: soon}\n".into()),
        ("duplicate key", "version: 1\nversion: 1\n".into()),
        ("unknown key", "version: 1\nsetings: {}\n".into()),
        ("not a boolean", "version: 1\nsettings: {tag_names_match_refs: yes}\n".into()),
    ];
    let mut out = String::new();
    for (name, text) in &cases {
        let e = Policy::from_yaml(text).expect_err(name);
        out.push_str(&format!("{name}: {e}\n"));
    }
    // Allowed, but probably a mistake.
    let p = Policy::from_yaml(&ruleset(
        "branch",
        "main",
        "{update: {allow: [role:nobody]}}",
    ))
    .expect("a role nobody has is a warning");
    for w in &p.warnings {
        out.push_str(&format!("warning: {w}\n"));
    }
    // Suppressions files read from the repository.
    for text in [
        "suppressions: [{fingerprint: f}]\n",
        "suppressions:\n  - {fingerprint: f, reason: r, expires: 2026-02}\n",
    ] {
        let e = rules::policy::parse_suppressions(text).expect_err("invalid suppressions");
        out.push_str(&format!("suppressions file: {e}\n"));
    }
    insta::assert_snapshot!(out);
}
