//! The collector against the in-memory repository and a fake verifier: what facts a push
//! yields, for every kind of update, in both hashes.

use super::*;
use crate::git::fake::{Extra, FakeRepo};
use crate::git::HashKind;
use crypto::FakeVerifier;
use rules::facts::KeyVerdict;

const ALICE: &str = "Alice <alice@example.org>";
const MALLORY: &str = "Mallory <mallory@example.org>";

/// `main` needs signatures, `attested` attested merges; `v*` tags need signed tags.
const POLICY: &str = r#"version: 1
identities:
  alice:
    emails: [alice@example.org]
    roles: [maintainer]
  bob:
    emails: [bob@example.org]
    roles: [developer]
  carol:
    emails: [carol@example.org]
    roles: [reviewer]
rulesets:
  - name: protect-main
    target: branch
    include: [main]
    rules:
      non_fast_forward: {}
      required_signatures: {}
  - name: attested
    target: branch
    include: [attested]
    rules:
      full_attestation:
        mergers: [role:maintainer]
        clean_merge: true
  - name: reviewed
    target: branch
    include: [reviewed]
    rules:
      pull_request:
        dismiss_stale_reviews_on_push: patch_id
  - name: release-tags
    target: tag
    include: ["v*"]
    rules:
      required_signatures: {}
"#;

/// Appended by [`Setup::with_scanner`].
const SECRETS: &str = r#"  - name: secrets
    target: push
    rules:
      secret_scanning: {}
"#;

fn good(identity: &str) -> SignatureCheck {
    SignatureCheck {
        verdict: KeyVerdict::Good,
        identity: Some(identity.to_string()),
        key: Some(format!("SHA256:{identity}")),
        ..SignatureCheck::default()
    }
}

/// A signature block the fake verifier knows as alice's.
const ALICE_SIG: &[u8] = b"-----BEGIN SSH SIGNATURE-----\nalice\n-----END SSH SIGNATURE-----\n";

struct Setup {
    policy: Policy,
    verifier: FakeVerifier,
    scanner: Option<secrets::Scanner>,
    budget: Budget,
}

impl Setup {
    fn new() -> Setup {
        Setup {
            policy: Policy::from_yaml(POLICY).expect("test policy parses"),
            verifier: FakeVerifier::new().answer(ALICE_SIG, good("alice")),
            scanner: None,
            budget: Budget::unlimited(),
        }
    }

    fn with_scanner(mut self) -> Setup {
        self.policy = Policy::from_yaml(&format!("{POLICY}{SECRETS}")).expect("test policy parses");
        self.scanner = Some(
            secrets::Scanner::new(&secrets::RuleSet::builtin()).expect("built-in rules compile"),
        );
        self
    }

    fn inputs(&self) -> Inputs<'_> {
        Inputs {
            policy: &self.policy,
            verifier: &self.verifier,
            approvals: Some(&self.verifier),
            approval_cache: None,
            max_approvals: 5000,
            scanner: self.scanner.as_ref(),
            now: 1_800_000_000,
            budget: &self.budget,
            known: None,
        }
    }

    fn collect(
        &self,
        git: &FakeRepo,
        updates: &[(Option<ObjectId>, Option<ObjectId>, &str)],
    ) -> Change {
        self.try_collect(git, updates, BTreeMap::new())
            .expect("the push can be collected")
    }

    fn try_collect(
        &self,
        git: &FakeRepo,
        updates: &[(Option<ObjectId>, Option<ObjectId>, &str)],
        env: BTreeMap<String, String>,
    ) -> Result<Change> {
        let push = Push {
            repo: "test.git".to_string(),
            updates: updates
                .iter()
                .map(|(old, new, name)| Update {
                    name: name.to_string(),
                    old: *old,
                    new: *new,
                })
                .collect(),
            env,
        };
        push_change(git, &self.inputs(), &push)
    }
}

/// A repository with `main` at one signed commit holding README.
fn seeded(kind: HashKind) -> (FakeRepo, ObjectId) {
    let mut git = FakeRepo::new(kind);
    let readme = git.add_blob(b"hello\n");
    let tree = git.add_tree(&[("README", readme)]);
    let base = git.add_commit_with(
        tree,
        &[],
        ALICE,
        "base",
        Extra {
            signature: Some(ALICE_SIG.to_vec()),
            ..Extra::default()
        },
    );
    git.set_ref("refs/heads/main", base);
    (git, base)
}

fn signed() -> Extra {
    Extra {
        signature: Some(ALICE_SIG.to_vec()),
        ..Extra::default()
    }
}

#[test]
fn pushed_objects_in_quarantine_are_read_and_verified() {
    for kind in [HashKind::Sha1, HashKind::Sha256] {
        let s = Setup::new();
        let (mut git, base) = seeded(kind);
        git.start_push();
        let blob = git.add_blob(b"more\n");
        let tree = git.add_tree(&[("README", blob)]);
        let good_commit = git.add_commit_with(tree, &[base], ALICE, "signed", signed());
        let unsigned = git.add_commit(tree, &[good_commit], MALLORY, "unsigned");
        assert!(git.quarantined().contains(&unsigned));
        let change = s.collect(&git, &[(Some(base), Some(unsigned), "refs/heads/main")]);
        let u = &change.updates[0];
        assert!(u.fast_forward);
        assert_eq!(u.new_kind, ObjectKind::Commit);
        let ids: Vec<&str> = u.commits.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, [unsigned.to_string(), good_commit.to_string()]);
        assert_eq!(u.commits[0].signature.verdict, KeyVerdict::NoSignature);
        assert_eq!(u.commits[1].signature.verdict, KeyVerdict::Good);
        assert_eq!(u.commits[1].signature.identity.as_deref(), Some("alice"));
        assert_eq!(u.commits[1].parents, [base.to_string()]);
        assert_eq!(u.commits[0].subject, "unsigned");
        assert_eq!(u.commits[0].committer.email, "mallory@example.org");
        // The id of a commit is the hash of its bytes, of the repository's hash.
        assert_eq!(
            u.commits[0].id.len(),
            if kind == HashKind::Sha1 { 40 } else { 64 }
        );
        let report = rules::evaluate(&s.policy, &change);
        assert!(!report.allowed, "an unsigned commit on main is refused");
    }
}

#[test]
fn ids_of_the_other_hash_are_refused_at_the_edge() {
    let sha1 = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";
    let err = Update::parse(HashKind::Sha256, sha1, sha1, "refs/heads/main")
        .expect_err("a SHA-1 id in a SHA-256 repository");
    assert!(
        format!("{err:#}").contains("not a sha256 object id"),
        "{err:#}"
    );
    assert!(Update::parse(HashKind::Sha1, "xyz", sha1, "refs/heads/main").is_err());
    let zero = "0".repeat(40);
    let u = Update::parse(HashKind::Sha1, &zero, sha1, "refs/heads/main").expect("a creation");
    assert_eq!(
        (u.old, u.new.map(|n| n.to_string())),
        (None, Some(sha1.to_string()))
    );
}

#[test]
fn a_missing_pushed_object_is_an_error_not_an_empty_push() {
    let s = Setup::new();
    let (git, base) = seeded(HashKind::Sha1);
    let missing =
        git::parse_id(HashKind::Sha1, "1234567890123456789012345678901234567890").expect("an id");
    let err = s
        .try_collect(
            &git,
            &[(Some(base), Some(missing), "refs/heads/main")],
            BTreeMap::new(),
        )
        .expect_err("the new tip is missing");
    assert!(format!("{err:#}").contains("is missing"), "{err:#}");
}

#[test]
fn deletions_and_force_pushes_are_told_apart() {
    let s = Setup::new();
    let (mut git, base) = seeded(HashKind::Sha1);
    let tree = git.add_tree(&[]);
    let other = git.add_commit(tree, &[], ALICE, "unrelated");
    git.set_ref("refs/heads/topic", other);
    let change = s.collect(
        &git,
        &[
            (Some(other), None, "refs/heads/topic"),
            (Some(base), Some(other), "refs/heads/main"),
        ],
    );
    let (deleted, forced) = (&change.updates[0], &change.updates[1]);
    assert!(deleted.is_delete());
    assert!(deleted.commits.is_empty());
    assert_eq!(deleted.new_kind, ObjectKind::None);
    assert!(
        !forced.fast_forward,
        "a rewrite of main is not a fast-forward"
    );
    let report = rules::evaluate(&s.policy, &change);
    assert!(report
        .violations
        .iter()
        .any(|v| v.rule == "non_fast_forward" && v.ref_name == "refs/heads/main"));
}

#[test]
fn a_created_branch_hides_only_what_refs_of_its_rulesets_hold() {
    let s = Setup::new();
    let (mut git, base) = seeded(HashKind::Sha1);
    // An unsigned commit parked on an unprotected branch, then pushed to main's ruleset via a
    // new protected branch name: it must still be judged.
    let tree = git.add_tree(&[]);
    let parked = git.add_commit(tree, &[base], MALLORY, "parked");
    git.set_ref("refs/heads/scratch", parked);
    git.delete_ref("refs/heads/main");
    let change = s.collect(&git, &[(None, Some(parked), "refs/heads/main")]);
    let ids: Vec<&str> = change.updates[0]
        .commits
        .iter()
        .map(|c| c.id.as_str())
        .collect();
    assert_eq!(ids, [parked.to_string(), base.to_string()]);
}

#[test]
fn a_signed_commit_no_rule_asks_about_is_not_verified() {
    let s = Setup::new();
    let (mut git, base) = seeded(HashKind::Sha1);
    let tree = git.add_tree(&[]);
    let c = git.add_commit_with(tree, &[base], ALICE, "on a topic", signed());
    let change = s.collect(&git, &[(None, Some(c), "refs/heads/topic")]);
    let sig = &change.updates[0].commits[0].signature;
    assert_eq!(
        sig.verdict,
        KeyVerdict::NotVerified,
        "signed, but no rule asks"
    );
    // The same commit pushed to main as well is verified there.
    let change = s.collect(
        &git,
        &[
            (None, Some(c), "refs/heads/topic"),
            (Some(base), Some(c), "refs/heads/main"),
        ],
    );
    assert_eq!(
        change.updates[0].commits[0].signature.verdict,
        KeyVerdict::NotVerified
    );
    assert_eq!(
        change.updates[1].commits[0].signature.verdict,
        KeyVerdict::Good
    );
    assert!(rules::evaluate(&s.policy, &change).allowed);
}

#[test]
fn annotated_tags_lightweight_tags_and_tag_chains() {
    let s = Setup::new();
    let (mut git, base) = seeded(HashKind::Sha1);
    let signed_tag = git.add_tag(base, ObjectKind::Commit, "v1", ALICE, Some(ALICE_SIG));
    let unsigned_tag = git.add_tag(base, ObjectKind::Commit, "v2", MALLORY, None);
    let tag_of_tag = git.add_tag(signed_tag, ObjectKind::Tag, "v3", ALICE, None);
    let change = s.collect(
        &git,
        &[
            (None, Some(signed_tag), "refs/tags/v1"),
            (None, Some(unsigned_tag), "refs/tags/v2"),
            (None, Some(tag_of_tag), "refs/tags/v3"),
            (None, Some(base), "refs/tags/v4"),
        ],
    );
    let tag = |i: usize| change.updates[i].tag.as_ref();
    assert_eq!(tag(0).map(|t| t.signature.verdict), Some(KeyVerdict::Good));
    assert_eq!(tag(0).map(|t| t.target.clone()), Some(base.to_string()));
    assert_eq!(
        tag(1).map(|t| t.signature.verdict),
        Some(KeyVerdict::NoSignature)
    );
    assert_eq!(
        tag(2).map(|t| t.target.clone()),
        Some(signed_tag.to_string())
    );
    assert_eq!(tag(2).map(|t| t.name.as_str()), Some("v3"));
    assert_eq!(change.updates[3].new_kind, ObjectKind::Commit);
    assert!(tag(3).is_none(), "a lightweight tag has no tag object");
    let report = rules::evaluate(&s.policy, &change);
    let refused: BTreeSet<&str> = report
        .violations
        .iter()
        .map(|v| v.ref_name.as_str())
        .collect();
    assert!(!refused.contains("refs/tags/v1"), "{report:?}");
    assert!(refused.contains("refs/tags/v2") && refused.contains("refs/tags/v4"));
}

#[test]
fn merges_carry_mergetags_and_the_clean_merge_check() {
    let s = Setup::new();
    let (mut git, base) = seeded(HashKind::Sha1);
    git.set_ref("refs/heads/attested", base);
    let (a, b) = (git.add_blob(b"a\n"), git.add_blob(b"b\n"));
    let readme = git.add_blob(b"hello\n");
    let ours_tree = git.add_tree(&[("README", readme), ("a", a)]);
    let theirs_tree = git.add_tree(&[("README", readme), ("b", b)]);
    let ours = git.add_commit_with(ours_tree, &[base], ALICE, "ours", signed());
    let theirs = git.add_commit_with(theirs_tree, &[base], ALICE, "theirs", signed());
    let tag = git.tag_bytes(
        theirs,
        ObjectKind::Commit,
        "feature",
        ALICE,
        Some(ALICE_SIG),
    );
    let merged_tree = git.add_tree(&[("README", readme), ("a", a), ("b", b)]);
    let clean = git.add_commit_with(
        merged_tree,
        &[ours, theirs],
        ALICE,
        "merge",
        Extra {
            signature: Some(ALICE_SIG.to_vec()),
            mergetags: vec![tag.clone()],
            ..Extra::default()
        },
    );
    // The same parents with something slipped into the merge.
    let evil = git.add_blob(b"evil\n");
    let dirty_tree = git.add_tree(&[("README", evil), ("a", a), ("b", b)]);
    let dirty = git.add_commit_with(dirty_tree, &[ours, theirs], ALICE, "merge", signed());
    for (merge, want) in [(clean, true), (dirty, false)] {
        let change = s.collect(&git, &[(Some(base), Some(merge), "refs/heads/attested")]);
        let m = &change.updates[0].commits[0];
        assert_eq!(m.id, merge.to_string());
        assert_eq!(m.clean_merge, Some(want));
        assert_eq!(m.parents.len(), 2);
        if merge == clean {
            assert_eq!(m.mergetags.len(), 1);
            let t = &m.mergetags[0];
            assert_eq!(t.name, "feature");
            assert_eq!(
                t.id,
                git::tag_id(HashKind::Sha1, &tag).expect("hash").to_string()
            );
            assert_eq!(t.signature.verdict, KeyVerdict::Good);
        }
        let report = rules::evaluate(&s.policy, &change);
        assert_eq!(report.allowed, want, "{report:?}");
    }
}

#[test]
fn a_symbolic_ref_brings_the_rulesets_of_its_target() {
    let s = Setup::new();
    let (mut git, base) = seeded(HashKind::Sha1);
    git.set_symref("refs/heads/trunk", "refs/heads/main");
    let tree = git.add_tree(&[]);
    let c = git.add_commit(tree, &[base], MALLORY, "via trunk");
    let change = s.collect(&git, &[(Some(base), Some(c), "refs/heads/trunk")]);
    assert_eq!(change.updates[0].resolves_to, ["refs/heads/main"]);
    assert_eq!(
        change.updates[0].commits[0].signature.verdict,
        KeyVerdict::NoSignature
    );
    assert!(!rules::evaluate(&s.policy, &change).allowed);
}

#[test]
fn too_many_commits_or_refs_stop_the_collector() {
    let mut s = Setup::new();
    s.policy.settings.max_commits = 2;
    let (mut git, base) = seeded(HashKind::Sha1);
    let tree = git.add_tree(&[]);
    let mut tip = base;
    for i in 0..3 {
        tip = git.add_commit(tree, &[tip], ALICE, &format!("c{i}"));
    }
    let err = s
        .try_collect(
            &git,
            &[(Some(base), Some(tip), "refs/heads/topic")],
            BTreeMap::new(),
        )
        .expect_err("three commits, two allowed");
    assert!(
        err.downcast_ref::<git::TooManyCommits>().is_some()
            || format!("{err:#}").contains("max_commits"),
        "{err:#}"
    );
    s.policy.settings.max_ref_updates = 1;
    let err = s
        .try_collect(
            &git,
            &[
                (None, Some(tip), "refs/heads/a"),
                (None, Some(tip), "refs/heads/b"),
            ],
            BTreeMap::new(),
        )
        .expect_err("two refs, one allowed");
    assert!(format!("{err:#}").contains("max_ref_updates"), "{err:#}");
}

#[test]
fn the_secret_scan_reads_what_the_push_adds_with_the_collectors_trees() {
    let s = Setup::new().with_scanner();
    let (mut git, base) = seeded(HashKind::Sha256);
    git.start_push();
    let key = git.add_blob(b"aws_access_key_id = AKIAQYLPMN5HHHFPZAM2\naws_secret_access_key = 9drTJvcXLB89EXAMPLEzZ1aBcDeFgHiJkLmNoPqR\n");
    let readme = git.add_blob(b"hello\n");
    let tree = git.add_tree(&[("README", readme), ("config/creds", key)]);
    let c = git.add_commit_with(tree, &[base], ALICE, "oops", signed());
    let change = s.collect(&git, &[(Some(base), Some(c), "refs/heads/main")]);
    let scan = change.secrets.as_ref().expect("a rule scans for secrets");
    assert_eq!(scan.blobs_scanned, 1, "only the added blob is read");
    assert!(!scan.findings.is_empty(), "{scan:?}");
    let f = &scan.findings[0];
    assert_eq!(
        (f.commit.as_str(), f.path.as_str()),
        (c.to_string().as_str(), "config/creds")
    );
    assert_eq!(f.refs, ["refs/heads/main"]);
}

#[test]
fn the_pusher_options_and_certificate_come_from_the_environment() {
    let mut s = Setup::new();
    s.policy.pusher_env = vec!["REMOTE_USER".to_string()];
    let (mut git, base) = seeded(HashKind::Sha1);
    let tree = git.add_tree(&[]);
    let c = git.add_commit(tree, &[base], ALICE, "topic");
    let zero = "0".repeat(40);
    let cert = format!(
        "certificate version 0.1\npusher alice 1800000000 +0000\npushee test.git\nnonce 1-abc\n\n{zero} {c} refs/heads/topic\n"
    );
    let mut signed_cert = cert.clone().into_bytes();
    signed_cert.extend_from_slice(ALICE_SIG);
    let cert_id = git.add_blob(&signed_cert);
    let env: BTreeMap<String, String> = [
        ("REMOTE_USER", "alice"),
        ("GIT_PUSH_OPTION_COUNT", "2"),
        ("GIT_PUSH_OPTION_0", "ci.skip"),
        ("GIT_PUSH_OPTION_1", "reason=hotfix"),
        ("GIT_PUSH_CERT", &cert_id.to_string()),
        ("GIT_PUSH_CERT_NONCE_STATUS", "OK"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let change = s
        .try_collect(&git, &[(None, Some(c), "refs/heads/topic")], env.clone())
        .expect("collects");
    assert_eq!(change.pusher.as_deref(), Some("alice"));
    assert_eq!(change.push_options, ["ci.skip", "reason=hotfix"]);
    let pc = change.push_certificate.as_ref().expect("a signed push");
    assert!(pc.matches_push);
    assert_eq!(pc.pusher, "alice 1800000000 +0000");
    assert_eq!(pc.signature.verdict, KeyVerdict::Good);
    // The same certificate for another push does not match it.
    let other = s
        .try_collect(&git, &[(None, Some(base), "refs/heads/topic")], env)
        .expect("collects");
    assert!(!other.push_certificate.expect("signed").matches_push);
}

#[test]
fn a_range_is_judged_as_if_pushed_with_known_signatures() {
    let s = Setup::new();
    let (mut git, base) = seeded(HashKind::Sha1);
    let tree = git.add_tree(&[]);
    let c = git.add_commit(tree, &[base], MALLORY, "unsigned");
    // `verify` already judged c (e.g. from the server's records): the collector keeps that.
    let known: HashMap<ObjectId, SignatureCheck> = [(c, good("alice"))].into_iter().collect();
    let inputs = Inputs {
        known: Some(&known),
        ..s.inputs()
    };
    let change =
        range_change(&git, &inputs, "test.git", "refs/heads/main", &[c, base]).expect("collects");
    let u = &change.updates[0];
    assert!(u.is_create());
    assert_eq!(u.new.as_deref(), Some(c.to_string().as_str()));
    assert_eq!(u.commits[0].signature.verdict, KeyVerdict::Good);
    assert_eq!(u.commits[1].signature.identity.as_deref(), Some("alice"));
}

#[test]
fn a_reviewed_ref_gets_its_new_tree_patch_id_and_co_authors() {
    let s = Setup::new();
    let (mut git, base) = seeded(HashKind::Sha1);
    git.set_ref("refs/heads/reviewed", base);
    let blob = git.add_blob(b"reviewed\n");
    let tree = git.add_tree(&[("README", blob)]);
    let c = git.add_commit(
        tree,
        &[base],
        ALICE,
        "change\n\nCo-authored-by: Mallory <mallory@example.org>",
    );
    let change = s.collect(&git, &[(Some(base), Some(c), "refs/heads/reviewed")]);
    let u = &change.updates[0];
    assert_eq!(u.new_tree.as_deref(), Some(tree.to_string().as_str()));
    assert_eq!(u.patch_id, git.patch_id(base, c).expect("patch-id"));
    assert!(u.patch_id.is_some());
    assert_eq!(u.commits[0].co_authors[0].email, "mallory@example.org");
    // No approvals yet: the rule refuses the update.
    let report = rules::evaluate(&s.policy, &change);
    assert!(report
        .violations
        .iter()
        .any(|v| v.code == rules::Code::ApprovalsMissing));
    // Elsewhere no patch-id is computed.
    let change = s.collect(&git, &[(Some(base), Some(c), "refs/heads/topic")]);
    assert_eq!(change.updates[0].patch_id, None);
    assert!(change.updates[0].new_tree.is_some());
}

/// An approval envelope the fake verifier knows as signed by `who`.
fn approval_blob(
    git: &mut FakeRepo,
    who: &str,
    from: ObjectId,
    tree: ObjectId,
    head: ObjectId,
) -> ObjectId {
    use crypto::approval::{Envelope, Predicate, Statement, Verdict};
    let statement = Statement::new(Predicate {
        target_ref: "refs/heads/reviewed".into(),
        from_id: from.to_string(),
        target_id: tree.to_string(),
        reviewed_range: format!("{from}..{head}"),
        patch_id: None,
        verdict: Verdict::Approve,
        reviewer: who.into(),
        policy_digest: format!("sha256:{}", "0".repeat(64)),
        issued_at: 1_790_000_000,
        expires_at: 1_900_000_000,
        nonce: format!("nonce-of-{who}-0123456789"),
    });
    let mut envelope = Envelope::unsigned(&statement);
    envelope
        .add_signature("", &approval_sig(who))
        .expect("an armored signature");
    git.add_blob(envelope.to_json().as_bytes())
}

fn approval_sig(who: &str) -> Vec<u8> {
    format!("-----BEGIN PGP SIGNATURE-----\n{who}\n-----END PGP SIGNATURE-----\n").into_bytes()
}

#[test]
fn approvals_are_read_from_the_repository_and_the_push_and_verified() {
    let mut s = Setup::new();
    s.verifier = s
        .verifier
        .clone()
        .answer(approval_sig("bob"), good("bob"))
        .answer(approval_sig("carol"), good("carol"));
    let (mut git, base) = seeded(HashKind::Sha1);
    git.set_ref("refs/heads/reviewed", base);
    let blob = git.add_blob(b"reviewed\n");
    let tree = git.add_tree(&[("README", blob)]);
    let c = git.add_commit(tree, &[base], ALICE, "change");
    // bob's approval is in the repository; carol's comes with the push; garbage is reported.
    let bobs = approval_blob(&mut git, "bob", base, tree, c);
    git.set_ref("refs/pushguard/approvals/heads/reviewed/bob/1", bobs);
    let junk = git.add_blob(b"{not json");
    git.set_ref("refs/pushguard/approvals/heads/reviewed/mallory/1", junk);
    git.start_push();
    let carols = approval_blob(&mut git, "carol", base, tree, c);
    let updates = [
        (Some(base), Some(c), "refs/heads/reviewed"),
        (
            None,
            Some(carols),
            "refs/pushguard/approvals/heads/reviewed/carol/1",
        ),
    ];
    let change = s.collect(&git, &updates);
    let who: Vec<Option<&str>> = change
        .approvals
        .iter()
        .map(|a| a.signature.identity.as_deref())
        .collect();
    assert_eq!(who, [Some("bob"), Some("carol"), None]);
    assert_eq!(change.approvals[0].from_id, Some(base.to_string()));
    assert_eq!(change.approvals[0].target_tree, tree.to_string());
    assert_eq!(change.approvals[2].signature.verdict, KeyVerdict::Malformed);
    let report = rules::evaluate(&s.policy, &change);
    let review: Vec<_> = report
        .violations
        .iter()
        .filter(|v| v.rule == "pull_request")
        .collect();
    assert!(
        review.is_empty(),
        "bob (a developer) and carol approved: {report:?}"
    );
    // Without carol's approval in the push, one is missing and the junk is named.
    let change = s.collect(&git, &updates[..1]);
    let report = rules::evaluate(&s.policy, &change);
    let v = report
        .violations
        .iter()
        .find(|v| v.code == rules::Code::ApprovalsMissing)
        .expect("one approval is missing");
    assert!(v.message.contains("1 counts: bob"), "{}", v.message);
    assert!(v.message.contains("not valid JSON"), "{}", v.message);
}

#[test]
fn a_reviewer_publishing_an_approval_alone_is_judged_on_it() {
    let mut s = Setup::new();
    s.policy.pusher_env = vec!["REMOTE_USER".to_string()];
    s.verifier = s.verifier.clone().answer(approval_sig("bob"), good("bob"));
    let (mut git, base) = seeded(HashKind::Sha1);
    let tree = git.add_tree(&[]);
    git.start_push();
    let bobs = approval_blob(&mut git, "bob", base, tree, base);
    let env: BTreeMap<String, String> = [("REMOTE_USER".to_string(), "bob".to_string())].into();
    let name = "refs/pushguard/approvals/heads/reviewed/bob/1";
    let change = s
        .try_collect(&git, &[(None, Some(bobs), name)], env.clone())
        .expect("collects");
    assert_eq!(change.approvals.len(), 1);
    assert_eq!(change.approvals[0].target_ref, "refs/heads/reviewed");
    assert!(rules::evaluate(&s.policy, &change).allowed);
    // The same approval pushed by carol under bob's name is refused.
    let env: BTreeMap<String, String> = [("REMOTE_USER".to_string(), "carol".to_string())].into();
    let change = s
        .try_collect(&git, &[(None, Some(bobs), name)], env)
        .expect("collects");
    let report = rules::evaluate(&s.policy, &change);
    assert!(report
        .violations
        .iter()
        .any(|v| v.code == rules::Code::ApprovalNotOwn));
}

#[test]
fn a_verified_approval_is_cached_by_object_id() {
    let mut s = Setup::new();
    s.verifier = s.verifier.clone().answer(approval_sig("bob"), good("bob"));
    let (mut git, base) = seeded(HashKind::Sha1);
    git.set_ref("refs/heads/reviewed", base);
    let tree = git.add_tree(&[]);
    let c = git.add_commit(tree, &[base], ALICE, "change");
    let bobs = approval_blob(&mut git, "bob", base, tree, c);
    git.set_ref("refs/pushguard/approvals/heads/reviewed/bob/1", bobs);
    let cache = ApprovalCache::default();
    let push = Push {
        repo: "test.git".into(),
        updates: vec![Update {
            name: "refs/heads/reviewed".into(),
            old: Some(base),
            new: Some(c),
        }],
        env: BTreeMap::new(),
    };
    let with = |verifier: &FakeVerifier| {
        let inputs = Inputs {
            verifier,
            approvals: Some(verifier),
            approval_cache: Some(&cache),
            ..s.inputs()
        };
        push_change(&git, &inputs, &push).expect("collects")
    };
    let first = with(&s.verifier);
    assert_eq!(
        first.approvals[0].signature.identity.as_deref(),
        Some("bob")
    );
    // A verifier that knows no key: the cached verdict stands (the same bytes, lately verified).
    let second = with(&FakeVerifier::new());
    assert_eq!(second.approvals, first.approvals);
    // Without the cache the verifier is asked again.
    let inputs = Inputs {
        approvals: Some(&FakeVerifier::new() as &dyn crypto::approval::ApprovalVerifier),
        ..s.inputs()
    };
    let fresh = push_change(&git, &inputs, &push).expect("collects");
    assert_eq!(fresh.approvals[0].signature.verdict, KeyVerdict::UnknownKey);
}

/// Regression: only the first approvals (by ref name) were read when a ref held more than the
/// limit, so an identity storing many approvals of its own could hide a later-sorting
/// reviewer's rejection. Now the push cannot be judged (rejected) instead.
#[test]
fn more_approvals_than_read_make_the_push_unjudgeable_not_partly_read() {
    let mut s = Setup::new();
    s.verifier = s.verifier.clone().answer(approval_sig("bob"), good("bob"));
    let (mut git, base) = seeded(HashKind::Sha1);
    git.set_ref("refs/heads/reviewed", base);
    let tree = git.add_tree(&[]);
    let c = git.add_commit(tree, &[base], ALICE, "change");
    for i in 0..4 {
        let blob = git.add_blob(format!("junk {i}").as_bytes());
        git.set_ref(
            &format!("refs/pushguard/approvals/heads/reviewed/aaa/{i}"),
            blob,
        );
    }
    let bobs = approval_blob(&mut git, "bob", base, tree, c);
    git.set_ref("refs/pushguard/approvals/heads/reviewed/zzz/1", bobs);
    let push = Push {
        repo: "test.git".into(),
        updates: vec![Update {
            name: "refs/heads/reviewed".into(),
            old: Some(base),
            new: Some(c),
        }],
        env: BTreeMap::new(),
    };
    let inputs = Inputs {
        max_approvals: 4,
        ..s.inputs()
    };
    let err = push_change(&git, &inputs, &push).expect_err("five approvals, four read");
    assert!(
        format!("{err:#}").contains("has 5 approvals stored"),
        "{err:#}"
    );
    let inputs = Inputs {
        max_approvals: 5,
        ..s.inputs()
    };
    let change = push_change(&git, &inputs, &push).expect("all five read");
    assert_eq!(change.approvals.len(), 5);
}
