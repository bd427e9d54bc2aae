//! `pushguard verify`: one verdict per commit and annotated tag, on what basis, and the exit
//! code. History accepted by the daemon is reported from its records, so removing a key from the
//! policy later does not turn it red; history the server never saw is judged at the signature
//! time; a hard revocation fails everywhere.

use crate::harness::*;
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// Run `pushguard verify ARGS` in the world's pinned environment (so the default state
/// directory is the world's, which holds no records).
fn verify(w: &World, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN)
        .arg("verify")
        .args(args)
        .envs(w.env())
        .env_remove("XDG_STATE_HOME")
        .output()
        .expect("run pushguard verify");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// JSON output: the object lines by id, and the summary.
fn parse(out: &str) -> (HashMap<String, Value>, Value) {
    let mut lines: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let summary = lines.pop().expect("a summary line");
    assert!(summary.get("summary").is_some(), "last line: {summary}");
    let by_id = lines
        .into_iter()
        .map(|l| {
            let id = l
                .get("commit")
                .or_else(|| l.get("tag"))
                .and_then(Value::as_str)
                .unwrap_or_else(|| panic!("no commit or tag: {l}"))
                .to_string();
            (id, l)
        })
        .collect();
    (by_id, summary["summary"].clone())
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

#[test]
fn history_gets_one_verdict_per_object_and_exit_1_on_any_failure() {
    let w = World::new();
    let (_bare, c) = w.seed("app", "sha1");
    let policy = s(&w.policy("", STANDARD_RULESETS));
    let initial = c.git(&["rev-parse", "HEAD"]);
    let gpg = c.commit("a.txt", "alice@example.org", Sign::Gpg);
    let unsigned = c.commit("b.txt", "alice@example.org", Sign::Unsigned);
    let unknown = c.commit("c.txt", "alice@example.org", Sign::Ssh("mallory"));
    let mismatch = c.commit("d.txt", "alice@example.org", Sign::Ssh("bob"));
    let ssh = c.commit("e.txt", "alice@example.org", Sign::Ssh("alice"));
    c.git(&[
        "-c",
        "gpg.format=ssh",
        "-c",
        &format!("user.signingkey={}", w.key("alice").display()),
        "-c",
        "user.email=alice@example.org",
        "tag",
        "-s",
        "-m",
        "Release v1",
        "v1",
    ]);
    c.git(&["tag", "-a", "-m", "unsigned", "v0", "HEAD~1"]);
    c.git(&["tag", "lightweight"]);
    let v1 = c.git(&["rev-parse", "v1"]);
    let v0 = c.git(&["rev-parse", "v0"]);
    let repo = s(&c.dir);

    let (code, out, err) = verify(
        &w,
        &[
            "--repo",
            &repo,
            "--policy",
            &policy,
            "--no-records",
            "--format",
            "json",
        ],
    );
    assert_eq!(code, 1, "{out}{err}");
    let (lines, summary) = parse(&out);
    let verdict = |id: &str| lines[id]["verdict"].as_str().unwrap_or("?").to_string();
    assert_eq!(verdict(&initial), "good");
    assert_eq!(verdict(&gpg), "good");
    assert_eq!(verdict(&ssh), "good");
    assert_eq!(verdict(&unsigned), "no_signature");
    assert_eq!(verdict(&unknown), "unknown_key");
    assert_eq!(verdict(&mismatch), "identity_mismatch");
    assert_eq!(verdict(&v1), "good");
    assert_eq!(verdict(&v0), "no_signature");
    assert_eq!(lines.len(), 8, "6 commits, 2 annotated tags: {out}");
    // git's %G? class of each signature, beside the verdict: bob's key is in the policy, so his
    // signature is good (G) even though the verdict refuses it for alice's email.
    let letter = |id: &str| lines[id]["git"].as_str().unwrap_or("?").to_string();
    for (id, l) in [
        (&initial, "G"),
        (&gpg, "G"),
        (&unsigned, "N"),
        (&unknown, "E"),
        (&mismatch, "G"),
        (&ssh, "G"),
        (&v1, "G"),
        (&v0, "N"),
    ] {
        assert_eq!(letter(id), l, "{id}: {out}");
    }
    assert_eq!(summary["git"], serde_json::json!({"G": 4, "E": 1, "N": 1}));
    // Signer, key and the committer's identity.
    let gpg_line = &lines[&gpg];
    assert_eq!(gpg_line["signer"], "alice");
    assert_eq!(gpg_line["key"], w.gpg_fingerprint().as_str());
    assert_eq!(gpg_line["identity"], "alice");
    assert_eq!(gpg_line["basis"], "signature_time", "{gpg_line}");
    assert!(gpg_line["signed_at"].as_i64().is_some(), "{gpg_line}");
    let m = &lines[&mismatch];
    assert_eq!(m["signer"], "bob");
    assert_eq!(m["identity"], "alice");
    assert!(
        m["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("signed with bob's key SHA256:"),
        "{m}"
    );
    assert!(
        m["reason"]
            .as_str()
            .unwrap_or_default()
            .ends_with("but the committer email <alice@example.org> belongs to alice"),
        "{m}"
    );
    assert_eq!(
        lines[&ssh]["basis"], "receive_time",
        "SSH has no signature time"
    );
    assert_eq!(lines[&unknown]["signer"], Value::Null);
    assert!(lines[&unknown]["key"]
        .as_str()
        .unwrap_or_default()
        .starts_with("SHA256:"));
    assert_eq!(lines[&unsigned]["reason"], "not signed");
    assert_eq!(lines[&v1]["name"], "v1");
    assert_eq!(lines[&v1]["signer"], "alice");
    assert_eq!(summary["objects"], 8);
    assert_eq!(summary["commits"], 6);
    assert_eq!(summary["tags"], 2);
    assert_eq!(summary["verdicts"]["good"], 4);
    assert_eq!(summary["verdicts"]["no_signature"], 2);
    assert_eq!(summary["verdicts"]["unknown_key"], 1);
    assert_eq!(summary["verdicts"]["identity_mismatch"], 1);
    assert_eq!(summary["ok"], false);

    // Text: one line per object, newest first, then the summary.
    let (code, out, _) = verify(&w, &["--repo", &repo, "--policy", &policy, "--no-records"]);
    assert_eq!(code, 1);
    let text: Vec<&str> = out.lines().collect();
    assert_eq!(text.len(), 10, "{out}");
    assert!(
        text[0].starts_with(&format!(
            "G good               commit {ssh} alice key SHA256:"
        )),
        "{out}"
    );
    assert!(text[0].ends_with(" [receive_time]"), "{out}");
    assert!(
        text[1].starts_with(&format!(
            "G identity_mismatch  commit {mismatch} bob key SHA256:"
        )),
        "{out}"
    );
    assert_eq!(
        text[3],
        format!("N no_signature       commit {unsigned} [receive_time]: not signed"),
        "{out}"
    );
    assert!(
        text[7].starts_with(&format!("G good               tag    {v1} (v1) alice")),
        "{out}"
    );
    assert_eq!(text[8], "%G? of 6 commits: 4 G, 1 E, 1 N", "{out}");
    assert_eq!(
        text[9],
        "verify: 8 objects (6 commits, 2 tags): 4 good, 1 identity_mismatch, 2 no_signature, 1 unknown_key: FAILED"
    );

    // A range of good objects: exit 0 (the tag on the range's commit comes along).
    let (code, out, err) = verify(
        &w,
        &[
            "--repo",
            &repo,
            "--policy",
            &policy,
            "--no-records",
            "HEAD~1..HEAD",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.ends_with("verify: 2 objects (1 commit, 1 tag): 2 good: ok\n"),
        "{out}"
    );

    // Errors are exit 2.
    let (code, _, err) = verify(&w, &["--repo", &repo, "--policy", &policy, "nosuchref"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("nosuchref"), "{err}");
    let (code, _, err) = verify(&w, &["--repo", "/nonexistent/repo.git"]);
    assert_eq!(code, 2, "{err}");
}

/// The policy of `World::policy` with `from` replaced by `to`, written to `name`.
fn policy_variant(w: &World, base: &Path, name: &str, from: &str, to: &str) -> String {
    let text = std::fs::read_to_string(base).expect("policy");
    assert!(text.contains(from), "{from:?} not in the policy");
    let path = w.path().join(name);
    std::fs::write(&path, text.replace(from, to)).expect("write policy");
    s(&path)
}

/// Verify with records until `id` is reported as recorded (records are written just after the
/// hook gets its verdict).
fn wait_recorded(w: &World, repo: &str, policy: &str, state: &str, id: &str) {
    let start = Instant::now();
    loop {
        let (_, out, _) = verify(
            w,
            &[
                "--repo",
                repo,
                "--policy",
                policy,
                "--state-dir",
                state,
                "--format",
                "json",
                id,
            ],
        );
        if out.contains("\"basis\":\"recorded\"") {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{id} never recorded: {out}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn accepted_history_stays_good_after_the_key_leaves_the_policy_but_not_after_hard_revocation() {
    let w = World::new();
    let (bare, c) = w.seed("app", "sha1");
    let base_policy = w.policy("", STANDARD_RULESETS);
    let policy = s(&base_policy);
    let initial = c.git(&["rev-parse", "HEAD"]);
    let d = Daemon::start(&w, Some(&base_policy), &[&bare]);
    let state = s(&d.state);
    let repo = s(&bare);

    let ssh = c.commit("a.txt", "alice@example.org", Sign::Ssh("alice"));
    let p = c.push(&["origin", "main"]);
    assert!(p.ok, "{}\n{}", p.text, d.log_text());
    wait_recorded(&w, &repo, &policy, &state, &ssh);
    // Records survive a restart: the second daemon adds to the same database.
    d.signal("TERM");
    drop(d);
    let d = Daemon::start(&w, Some(&base_policy), &[&bare]);
    let gpg = c.commit("b.txt", "alice@example.org", Sign::Gpg);
    let p = c.push(&["origin", "main"]);
    assert!(p.ok, "{}\n{}", p.text, d.log_text());
    wait_recorded(&w, &repo, &policy, &state, &gpg);
    // An unprotected branch needs no signatures: nothing is recorded for it.
    let feature = c.commit("f.txt", "alice@example.org", Sign::Unsigned);
    let p = c.push(&["origin", "HEAD:refs/heads/feature"]);
    assert!(p.ok, "{}", p.text);

    // alice's SSH key leaves the policy (rotated out).
    let alice_ssh = format!("      - ssh: \"{}\"\n", w.ssh_public("alice"));
    let rotated = policy_variant(&w, &base_policy, "rotated.yaml", &alice_ssh, "");
    let range = format!("{initial}..main");
    let (code, out, err) = verify(
        &w,
        &[
            "--repo",
            &repo,
            "--policy",
            &rotated,
            "--state-dir",
            &state,
            "--format",
            "json",
            &range,
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    let (lines, summary) = parse(&out);
    let l = &lines[&ssh];
    assert_eq!(l["verdict"], "good", "{l}");
    assert_eq!(l["basis"], "recorded", "{l}");
    assert_eq!(l["signer"], "alice");
    assert!(l["key"].as_str().unwrap_or_default().starts_with("SHA256:"));
    assert_eq!(l["ref"], "refs/heads/main");
    assert!(
        l["received_at"].as_i64().unwrap_or(0) > 1_700_000_000,
        "{l}"
    );
    assert_eq!(lines[&gpg]["basis"], "recorded");
    assert_eq!(summary["basis"]["recorded"], 2);

    // Without the records the same commit is signed by a key the policy no longer knows.
    let (code, out, _) = verify(
        &w,
        &[
            "--repo",
            &repo,
            "--policy",
            &rotated,
            "--no-records",
            "--format",
            "json",
            &range,
        ],
    );
    assert_eq!(code, 1, "{out}");
    let (lines, _) = parse(&out);
    assert_eq!(lines[&ssh]["verdict"], "unknown_key");
    assert_eq!(lines[&ssh]["basis"], "receive_time");
    // The default state directory (the world's, never used by a daemon) has no records either.
    let (code, out, _) = verify(
        &w,
        &[
            "--repo", &repo, "--policy", &rotated, "--format", "json", &range,
        ],
    );
    assert_eq!(code, 1, "{out}");
    assert_eq!(parse(&out).0[&ssh]["verdict"], "unknown_key");
    // The seed commit was pushed before the hooks existed: never seen, judged on its own.
    let (_, out, _) = verify(
        &w,
        &[
            "--repo",
            &repo,
            "--policy",
            &rotated,
            "--state-dir",
            &state,
            "--format",
            "json",
            &initial,
        ],
    );
    let (lines, _) = parse(&out);
    assert_eq!(lines[&initial]["verdict"], "unknown_key");
    assert_eq!(lines[&initial]["basis"], "receive_time");
    let (code, out, _) = verify(
        &w,
        &[
            "--repo",
            &repo,
            "--policy",
            &policy,
            "--state-dir",
            &state,
            "--format",
            "json",
            "feature",
            "^main",
        ],
    );
    assert_eq!(code, 1);
    let (lines, _) = parse(&out);
    assert_eq!(lines[&feature]["verdict"], "no_signature");
    assert_eq!(lines[&feature]["basis"], "receive_time");

    // A hard revocation (gpg's pre-made certificate: no reason given) beats the record.
    let fpr = w.gpg_fingerprint();
    let rev = std::fs::read_to_string(w.path().join(format!("gnupg/openpgp-revocs.d/{fpr}.rev")))
        .expect("gpg wrote a revocation certificate")
        .replace(
            ":-----BEGIN PGP PUBLIC KEY BLOCK",
            "-----BEGIN PGP PUBLIC KEY BLOCK",
        );
    let rev_file = w.path().join("alice.rev");
    std::fs::write(&rev_file, rev).expect("write");
    run_gpg(&w, &["--import", &s(&rev_file)]);
    let revoked = run_gpg(&w, &["--armor", "--export", &fpr]);
    std::fs::write(w.key("alice-revoked.asc"), revoked).expect("write");
    let revoked_policy = policy_variant(
        &w,
        &base_policy,
        "revoked.yaml",
        "keys/alice.asc",
        "keys/alice-revoked.asc",
    );
    let (code, out, err) = verify(
        &w,
        &[
            "--repo",
            &repo,
            "--policy",
            &revoked_policy,
            "--state-dir",
            &state,
            "--format",
            "json",
            &range,
        ],
    );
    assert_eq!(code, 1, "{out}{err}");
    let (lines, _) = parse(&out);
    let l = &lines[&gpg];
    assert_eq!(l["verdict"], "revoked_key", "{l}");
    assert_eq!(l["basis"], "recorded");
    assert!(
        l["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("but the key is revoked"),
        "{l}"
    );
    assert_eq!(lines[&ssh]["verdict"], "good", "the SSH key is not revoked");
}

fn run_gpg(w: &World, args: &[&str]) -> String {
    let out = Command::new("gpg")
        .args([
            "--batch",
            "--yes",
            "--pinentry-mode",
            "loopback",
            "--passphrase",
            "",
        ])
        .args(args)
        .envs(w.env())
        .output()
        .expect("run gpg");
    assert!(
        out.status.success(),
        "gpg {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn an_import_never_seen_by_the_server_is_judged_at_the_signature_time() {
    let w = World::new();
    // dave's key lived from 2020-01-01 to 2021-01-01 (about); he signed in June 2020.
    run_gpg(
        &w,
        &[
            "--faked-system-time",
            "20200101T000000!",
            "--quick-gen-key",
            "Dave (test only) <dave@example.org>",
            "ed25519",
            "sign",
            "1y",
        ],
    );
    std::fs::write(
        w.key("dave.asc"),
        run_gpg(&w, &["--armor", "--export", "dave@example.org"]),
    )
    .expect("write");
    let wrapper = w.path().join("gpg-june-2020");
    std::fs::write(
        &wrapper,
        "#!/bin/sh\nexec gpg --faked-system-time 20200601T000000! \"$@\"\n",
    )
    .expect("write");
    std::fs::set_permissions(
        &wrapper,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .expect("chmod");
    let base = w.policy("", STANDARD_RULESETS);
    let policy = policy_variant(
        &w,
        &base,
        "with-dave.yaml",
        "identities:\n",
        "identities:\n  dave:\n    emails: [dave@example.org]\n    keys:\n      - openpgp: keys/dave.asc\n    roles: [maintainer]\n",
    );
    let (bare, c) = w.seed("imported", "sha1");
    c.git(&[
        "-c",
        &format!("gpg.program={}", wrapper.display()),
        "-c",
        "gpg.format=openpgp",
        "-c",
        "user.signingkey=dave@example.org",
        "-c",
        "user.name=Dave",
        "-c",
        "user.email=dave@example.org",
        "commit",
        "-q",
        "--allow-empty",
        "-S",
        "-m",
        "Imported from the old server",
    ]);
    let id = c.git(&["rev-parse", "HEAD"]);
    let repo = s(&c.dir);
    let (code, out, err) = verify(
        &w,
        &[
            "--repo",
            &repo,
            "--policy",
            &policy,
            "--no-records",
            "--format",
            "json",
            "HEAD~1..HEAD",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    let (lines, _) = parse(&out);
    let l = &lines[&id];
    assert_eq!(l["verdict"], "good", "{l}");
    assert_eq!(l["basis"], "signature_time");
    assert_eq!(l["signed_at"], 1_590_969_600, "2020-06-01T00:00:00Z");
    assert_eq!(l["signer"], "dave");
    let reason = l["reason"].as_str().unwrap_or_default();
    assert!(
        reason.starts_with("good when signed on 2020-06-01; since then: "),
        "{reason}"
    );
    assert!(reason.contains("expired"), "{reason}");
    // The same commit pushed now is judged at the receive time, and the key has expired.
    let d = Daemon::start(&w, Some(Path::new(&policy)), &[&bare]);
    let p = c.push_as(Some("dave"), &["origin", "main"]);
    assert!(!p.ok, "{}\n{}", p.text, d.log_text());
    assert!(p.flat().contains("expired"), "{}", p.text);
}

#[test]
fn signed_tags_merged_into_a_merge_commit_are_verified_too() {
    let w = World::new();
    let (_bare, c) = w.seed("app", "sha1");
    let policy = s(&w.policy("", STANDARD_RULESETS));
    let ssh_sign = |key: &str| {
        vec![
            "-c".to_string(),
            "gpg.format=ssh".to_string(),
            "-c".to_string(),
            format!("user.signingkey={}", w.key(key).display()),
            "-c".to_string(),
            "user.email=alice@example.org".to_string(),
        ]
    };
    let git_with = |key: &str, rest: &[&str]| {
        let mut args = ssh_sign(key);
        args.extend(rest.iter().map(|a| a.to_string()));
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        c.git(&refs)
    };
    c.git(&["checkout", "-q", "-b", "side"]);
    c.commit("side.txt", "alice@example.org", Sign::Ssh("alice"));
    // A tag signed with a key the policy does not know, then merged as a signed tag.
    git_with("mallory", &["tag", "-s", "-m", "Side release", "side-1"]);
    let tag = c.git(&["rev-parse", "side-1"]);
    c.git(&["checkout", "-q", "main"]);
    c.commit("main.txt", "alice@example.org", Sign::Ssh("alice"));
    git_with(
        "alice",
        &[
            "merge",
            "-q",
            "--no-ff",
            "-S",
            "-m",
            "Merge side-1",
            "side-1",
        ],
    );
    let merge = c.git(&["rev-parse", "HEAD"]);
    assert!(
        c.git(&["cat-file", "commit", &merge])
            .contains("\nmergetag object "),
        "git wrote a mergetag header"
    );
    let (code, out, err) = verify(
        &w,
        &[
            "--repo",
            &s(&c.dir),
            "--policy",
            &policy,
            "--no-records",
            "--format",
            "json",
        ],
    );
    assert_eq!(code, 1, "{out}{err}");
    let lines: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    let merge_line = lines
        .iter()
        .find(|l| l["commit"] == merge.as_str())
        .expect("the merge");
    assert_eq!(merge_line["verdict"], "good", "{merge_line}");
    let merged = lines
        .iter()
        .find(|l| l["merged_in"] == merge.as_str())
        .unwrap_or_else(|| panic!("a line for the merged tag: {out}"));
    assert_eq!(merged["tag"], tag.as_str());
    assert_eq!(merged["name"], "side-1");
    assert_eq!(merged["verdict"], "unknown_key", "{merged}");
    let summary = &lines.last().expect("summary")["summary"];
    assert_eq!(
        summary["verdicts"]["unknown_key"], 2,
        "the tag ref and the mergetag: {out}"
    );
}

/// `--ref`: the range judged as the rulesets of a ref would judge it. Every signature here is
/// good, so plain `verify` passes; under `main`'s `full_attestation` the merge signed by a
/// developer and the evil merge fail, naming the rule, and the exit code says so.
#[test]
fn verify_with_a_ref_applies_that_refs_signer_and_merger_rules() {
    let w = World::new();
    let (_bare, c) = w.seed("app", "sha1");
    let policy = w.policy("", ATTESTED);
    // A side branch merged by bob (a developer, not a merger).
    c.git(&["checkout", "-q", "-b", "side"]);
    c.commit("side.txt", "alice@example.org", Sign::Ssh("alice"));
    c.git(&["checkout", "-q", "main"]);
    c.commit("main.txt", "alice@example.org", Sign::Ssh("alice"));
    c.git_signed(
        "bob",
        "bob@example.org",
        &["merge", "-q", "--no-ff", "-S", "-m", "Merge side", "side"],
    );
    let by_bob = c.git(&["rev-parse", "HEAD"]).trim().to_string();
    // An evil merge by alice: a change hidden in the merge commit itself.
    c.git(&["checkout", "-q", "-b", "side2", "HEAD~1"]);
    c.commit("side2.txt", "alice@example.org", Sign::Ssh("alice"));
    c.git(&["checkout", "-q", "main"]);
    let evil = c.evil_merge("side2");
    let base = [
        "--repo",
        &s(&c.dir),
        "--policy",
        &s(&policy),
        "--no-records",
        "--identity",
        "any",
        "--format",
        "json",
    ];

    let (code, out, err) = verify(&w, &base);
    assert_eq!(
        code, 0,
        "every signature is good without the ref's rules: {out}{err}"
    );

    let mut args = base.to_vec();
    args.extend(["--ref", "main"]);
    let (code, out, err) = verify(&w, &args);
    assert_eq!(code, 1, "{out}{err}");
    let (lines, summary) = parse(&out);
    assert_eq!(lines[&by_bob]["verdict"], "not_authorized", "{out}");
    assert_eq!(
        lines[&by_bob]["rule"], "full_attestation (attested-main)",
        "{out}"
    );
    assert!(
        lines[&by_bob]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("may not merge")),
        "{out}"
    );
    assert_eq!(lines[&evil]["verdict"], "merge_not_clean", "{out}");
    let others = lines
        .iter()
        .filter(|(id, _)| **id != by_bob && **id != evil)
        .filter(|(_, l)| l["verdict"] != "good")
        .count();
    assert_eq!(others, 0, "only the two merges fail: {out}");
    assert_eq!(summary["ok"], false);
    // A ref no ruleset governs adds nothing.
    let mut args = base.to_vec();
    args.extend(["--ref", "refs/heads/scratch"]);
    let (code, out, _) = verify(&w, &args);
    assert_eq!(code, 0, "{out}");
}

/// The 38 real GitHub web-flow commits (crypto's test data, from octokit/webhooks).
fn web_flow_data() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../crypto/tests/it/data/github-web-flow")
}

/// Issue 11: `pushguard verify` on real web-flow history (non-canonical RSA MPIs, a key that
/// expired in 2024) says good for every commit, with git's own `%G?` letter and gpg's signature
/// time beside it. git + gpg run here, with the keys GitHub publishes marked trusted, so git
/// prints G (not U) for the current key, as pushguard does for a key in the policy.
#[test]
fn github_web_flow_history_agrees_with_git_and_gpg() {
    let w = World::new();
    let data = web_flow_data();
    let repo = w.path().join("webhooks");
    let git = |args: &[&str], gnupg: Option<&Path>| -> std::process::Output {
        let mut cmd = Command::new("git");
        cmd.arg("-C").arg(&repo).args(args).envs(w.env());
        if let Some(h) = gnupg {
            cmd.env("GNUPGHOME", h);
        }
        cmd.output().expect("git runs")
    };
    std::fs::create_dir_all(&repo).expect("mkdir");
    assert!(git(&["init", "-q", "."], None).status.success());
    let expected = std::fs::read_to_string(data.join("expected-git-gpg.txt")).expect("expected");
    let ids: Vec<&str> = expected
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(ids.len(), 38);
    // The objects without their trees and parents: a shallow boundary at every one lets
    // rev-list list them without walking into what is missing.
    let mut shallow = String::new();
    for id in &ids {
        let file = data.join("commits").join(id);
        let out = git(
            &[
                "hash-object",
                "-t",
                "commit",
                "--literally",
                "-w",
                &s(&file),
            ],
            None,
        );
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), *id);
        shallow.push_str(&format!("{id}\n"));
    }
    std::fs::write(repo.join(".git/shallow"), shallow).expect("shallow");

    // git + gpg with GitHub's keys, trusted.
    let gnupg = w.path().join("gnupg-github");
    std::fs::create_dir_all(&gnupg).expect("mkdir");
    let gpg = |args: &[&str], input: Option<&str>| {
        let mut cmd = Command::new("gpg");
        cmd.env("GNUPGHOME", &gnupg)
            .args(["--batch", "--quiet"])
            .args(args)
            .stdin(std::process::Stdio::piped());
        let mut child = cmd.spawn().expect("gpg runs");
        if let (Some(text), Some(mut stdin)) = (input, child.stdin.take()) {
            use std::io::Write;
            stdin.write_all(text.as_bytes()).expect("stdin");
        }
        assert!(child.wait().expect("gpg").success(), "gpg {args:?}");
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&gnupg, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    }
    gpg(&["--import", &s(&data.join("keys.gpg"))], None);
    gpg(
        &["--import-ownertrust"],
        Some(
            "5DE3E0509C47EA3CF04A42D34AEE18F83AFDEB23:6:\n968479A1AFF927E37D1A566BB5690EEEBB952194:6:\n",
        ),
    );
    let mut log_args = vec!["log", "--no-walk=unsorted", "--format=%H %G? %GK"];
    log_args.extend(ids.iter().copied());
    let out = git(&log_args, Some(&gnupg));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let git_says: HashMap<String, (String, String)> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            (f[0].to_string(), (f[1].to_string(), f[2].to_string()))
        })
        .collect();
    let signed_at = |id: &str| -> Option<i64> {
        let out = git(&["verify-commit", "--raw", id], Some(&gnupg));
        String::from_utf8_lossy(&out.stderr)
            .lines()
            .find_map(|l| l.strip_prefix("[GNUPG:] VALIDSIG "))
            .and_then(|l| l.split(' ').nth(2))
            .and_then(|t| t.parse().ok())
    };

    // pushguard, with the same keys in the policy for GitHub's identity.
    std::fs::copy(data.join("keys.gpg"), w.path().join("github.gpg")).expect("copy keys");
    let policy = w.path().join("github-policy.yaml");
    std::fs::write(
        &policy,
        "version: 1\nidentities:\n  github:\n    emails: [noreply@github.com]\n    keys:\n      - openpgp: github.gpg\nrulesets: []\n",
    )
    .expect("policy");
    let mut args = vec![
        "--repo".to_string(),
        s(&repo),
        "--policy".to_string(),
        s(&policy),
        "--no-records".to_string(),
        "--format".to_string(),
        "json".to_string(),
    ];
    args.extend(ids.iter().map(|i| i.to_string()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, out, err) = verify(&w, &refs);
    assert_eq!(code, 0, "{out}{err}");
    let (lines, summary) = parse(&out);
    assert_eq!(lines.len(), 38, "{out}");
    let mut disagreements = Vec::new();
    for id in &ids {
        let l = &lines[*id];
        let (letter, keyid) = &git_says[*id];
        let ours = l["git"].as_str().unwrap_or("?");
        let key = l["key"].as_str().unwrap_or("?");
        if l["verdict"] != "good"
            || ours != letter
            || !key.ends_with(keyid.as_str())
            || l["signed_at"].as_i64() != signed_at(id)
        {
            disagreements.push(format!("{id}: git {letter} {keyid}; ours {l}"));
        }
    }
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
    // The expired 2017 key: Y by both, 20 times; its successor: G, 18.
    assert_eq!(
        summary["git"],
        serde_json::json!({"G": 18, "Y": 20}),
        "{out}"
    );
    assert_eq!(summary["verdicts"]["good"], 38);

    // Text: the letters summary to hold next to `git log --format=%G?`.
    let text_args: Vec<&str> = refs
        .iter()
        .copied()
        .filter(|a| *a != "--format" && *a != "json")
        .collect();
    let (code, out, _) = verify(&w, &text_args);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("\n%G? of 38 commits: 18 G, 20 Y\n"), "{out}");
}
