//! `pushguard scan --git` over real histories (issue 17): each secret once, at the commit that
//! introduced it, with the commits that removed it; damaged clones reported, not fatal; a
//! baseline that lets an old history be pushed while new secrets are still rejected.

use crate::harness::*;
use std::path::Path;
use std::process::Command;

fn pushguard(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN)
        .args(args)
        .output()
        .expect("run pushguard");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `scan --git DIR --all-history --format json`: (exit code, findings, stderr).
fn scan_json(dir: &Path) -> (i32, Vec<serde_json::Value>, String) {
    let dir = dir.display().to_string();
    let (code, out, err) = pushguard(&[
        "scan",
        "--no-progress",
        "--git",
        &dir,
        "--all-history",
        "--format",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    (code, v.as_array().cloned().unwrap_or_default(), err)
}

/// Base64-looking text with high entropy, deterministic: the body of a test-only PEM block.
fn pem_body(seed: u64, lines: usize) -> String {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = seed | 1;
    (0..lines)
        .map(|_| {
            let line: String = (0..64)
                .map(|_| {
                    s ^= s << 13;
                    s ^= s >> 7;
                    s ^= s << 17;
                    alphabet[(s % 64) as usize] as char
                })
                .collect();
            line + "\n"
        })
        .collect()
}

#[test]
fn a_secret_is_reported_once_at_its_introducing_commit_until_removed() {
    let w = World::new();
    let (_bare, c) = w.seed("app", "sha1");
    let token = github_token();
    write(&c, "conf/app.env", &format!("A=1\nTOKEN={token}\n"));
    let introduced = commit(&c, "Add config");
    // Unrelated edits of the same file: not reported again.
    write(&c, "conf/app.env", &format!("A=2\nTOKEN={token}\n"));
    commit(&c, "Tweak A");
    write(&c, "conf/app.env", &format!("A=2\nTOKEN={token}\nB=3\n"));
    commit(&c, "Add B");
    let (code, found, err) = scan_json(&c.dir);
    assert_eq!(code, 1, "{err}");
    let pats: Vec<&serde_json::Value> = found
        .iter()
        .filter(|f| f["RuleID"] == "github-pat")
        .collect();
    assert_eq!(pats.len(), 1, "reported once: {found:#?}");
    assert_eq!(pats[0]["Commit"], introduced.as_str());
    assert_eq!(pats[0]["File"], "conf/app.env");
    assert_eq!(pats[0]["StartLine"], 2);
    assert_eq!(pats[0]["StillPresent"], true);
    assert_eq!(pats[0]["RemovedIn"], serde_json::json!([]));
    // Removed later: "removed in", no longer present.
    write(&c, "conf/app.env", "A=2\nB=3\n");
    let removed = commit(&c, "Remove the token");
    let (code, found, _) = scan_json(&c.dir);
    assert_eq!(code, 1);
    let pat = found
        .iter()
        .find(|f| f["RuleID"] == "github-pat")
        .expect("still reported: it is in the history");
    assert_eq!(pat["Commit"], introduced.as_str());
    assert_eq!(pat["RemovedIn"], serde_json::json!([removed]));
    assert_eq!(pat["StillPresent"], false);
    // The text report says the same, and never the secret.
    let dir = c.dir.display().to_string();
    let (_, text, _) = pushguard(&["scan", "--no-progress", "--git", &dir, "--all-history"]);
    assert!(
        text.contains("conf/app.env:2: GitHub personal access token")
            && text.contains("(github-pat) ghp_…"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "introduced in {}, removed in {}",
            &introduced[..10],
            &removed[..10]
        )),
        "{text}"
    );
    assert!(!text.contains(&token[4..]), "the report shows the secret");
}

#[test]
fn a_missing_blob_is_reported_and_the_scan_goes_on_with_exit_status_3() {
    let w = World::new();
    let (_bare, c) = w.seed("app", "sha1");
    let token = github_token();
    write(&c, "a.env", &format!("TOKEN={token}\n"));
    commit(&c, "Add a secret");
    write(&c, "docs/notes.txt", "first version\n");
    let lost_in = commit(&c, "Add notes");
    let lost = c.git(&["rev-parse", "HEAD:docs/notes.txt"]);
    write(&c, "docs/notes.txt", "second version\n");
    commit(&c, "Edit notes");
    // A damaged clone: the first version of the notes is gone.
    let object = c.dir.join(".git/objects").join(&lost[..2]).join(&lost[2..]);
    assert!(
        object.exists(),
        "the test needs loose objects: {}",
        object.display()
    );
    std::fs::remove_file(&object).expect("remove the blob");
    let dir = c.dir.display().to_string();
    let (code, text, err) = pushguard(&["scan", "--no-progress", "--git", &dir, "--all-history"]);
    assert_eq!(code, 3, "incomplete: {text}\n{err}");
    assert!(
        text.contains(&format!(
            "incomplete: object {lost} (commit {lost_in} at docs/notes.txt)"
        )),
        "names object, commit and path: {text}"
    );
    assert!(
        text.contains("a.env:1: GitHub personal access token"),
        "the rest was scanned: {text}"
    );
    assert!(err.contains("the report is incomplete"), "{err}");
    // JSON stays a JSON array on stdout; the problem goes to stderr.
    let (code, found, err) = scan_json(&c.dir);
    assert_eq!(code, 3);
    assert_eq!(found.len(), 1);
    assert!(err.contains(&lost), "{err}");
}

#[test]
fn a_private_key_block_is_found_whole_and_when_only_its_body_changes() {
    let w = World::new();
    let (_bare, c) = w.seed("app", "sha1");
    let label = "RSA PRIVATE KEY";
    let first = format!(
        "# test-only key\n-----BEGIN {label}-----\n{}-----END {label}-----\n",
        pem_body(1, 12)
    );
    write(&c, "deploy/key.pem", &first);
    let added = commit(&c, "Add a key");
    // Only the body changes: the BEGIN and END lines are not added lines.
    let second = format!(
        "# test-only key\n-----BEGIN {label}-----\n{}-----END {label}-----\n",
        pem_body(2, 12)
    );
    write(&c, "deploy/key.pem", &second);
    let replaced = commit(&c, "Rotate the key");
    let (code, found, err) = scan_json(&c.dir);
    assert_eq!(code, 1, "{err}");
    let keys: Vec<&serde_json::Value> = found
        .iter()
        .filter(|f| f["RuleID"] == "private-key-rsa")
        .collect();
    assert_eq!(keys.len(), 2, "{found:#?}");
    assert_eq!(keys[0]["Commit"], added.as_str());
    assert_eq!(keys[0]["StartLine"], 2);
    assert_eq!(keys[0]["RemovedIn"], serde_json::json!([replaced.as_str()]));
    assert_eq!(keys[1]["Commit"], replaced.as_str());
    assert_eq!(keys[1]["StillPresent"], true);
}

#[test]
fn a_baseline_lets_the_old_history_in_and_still_rejects_new_secrets() {
    let w = World::new();
    let (bare, c) = w.seed("app", "sha1");
    // The history the repository had before pushguard guarded it, not pushed yet.
    let old = github_token();
    write(&c, "legacy/settings.env", &format!("TOKEN={old}\n"));
    commit(&c, "Old settings");
    write(
        &c,
        "legacy/settings.env",
        &format!("TOKEN={old}\nDEBUG=0\n"),
    );
    commit(&c, "More settings");
    // The server's fingerprint key exists before the daemon starts, so the baseline's
    // fingerprints are the server's.
    let state = w.path().join("state");
    std::fs::create_dir_all(&state).expect("mkdir");
    let key = state.join("fingerprint.key");
    std::fs::write(&key, [7u8; 32]).expect("key");
    std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o600))
        .expect("chmod");
    let baseline = w.path().join("baseline.yaml");
    let dir = c.dir.display().to_string();
    let (code, out, err) = pushguard(&[
        "scan",
        "--no-progress",
        "--git",
        &dir,
        "--fingerprint-key",
        &key.display().to_string(),
        "--write-baseline",
        &baseline.display().to_string(),
    ]);
    assert_eq!(code, 1, "{out}{err}");
    let written = std::fs::read_to_string(&baseline).expect("baseline written");
    assert!(written.contains("fingerprint: "), "{written}");
    assert!(written.contains("legacy/settings.env"), "{written}");
    assert!(!written.contains(&old[4..]), "the baseline holds no secret");
    // Scanning with the baseline reports nothing left.
    let (code, out, _) = pushguard(&[
        "scan",
        "--no-progress",
        "--git",
        &dir,
        "--fingerprint-key",
        &key.display().to_string(),
        "--baseline",
        &baseline.display().to_string(),
    ]);
    assert_eq!(code, 0, "{out}");
    let policy = w.policy(
        "",
        "  - name: no-secrets\n    target: push\n    rules:\n      secret_scanning:\n        baseline: baseline.yaml\n",
    );
    let d = Daemon::start(&w, Some(&policy), &[&bare]);
    let p = c.push(&["origin", "main"]);
    assert!(p.ok, "the baselined history passes: {}", p.text);
    // A new secret is still rejected.
    let new = github_token();
    write(&c, "app/new.env", &format!("TOKEN={new}\n"));
    commit(&c, "New secret");
    let p = c.push(&["origin", "main"]);
    assert!(!p.ok, "a new secret passes: {}", p.text);
    assert!(p.flat().contains("(github-pat)"), "{}", p.text);
    // So is the old secret copied to another file: the baseline names its path.
    c.git(&["reset", "-q", "--hard", "HEAD~1"]);
    write(&c, "app/copy.env", &format!("TOKEN={old}\n"));
    commit(&c, "Copy the old secret");
    let p = c.push(&["origin", "main"]);
    assert!(
        !p.ok,
        "the baseline covers only where the secret was: {}",
        p.text
    );
    drop(d);
}

#[test]
fn a_merge_reports_only_what_it_adds_itself() {
    let w = World::new();
    let (_bare, c) = w.seed("app", "sha1");
    let topic_secret = github_token();
    c.git(&["checkout", "-q", "-b", "topic"]);
    write(&c, "topic.env", &format!("TOKEN={topic_secret}\n"));
    let on_topic = commit(&c, "Topic adds a token");
    c.git(&["checkout", "-q", "main"]);
    write(&c, "main.txt", "work on main\n");
    commit(&c, "Main moves on");
    // The merge brings the topic's token (reported at the topic's commit, not at the merge)
    // and adds one of its own (an evil merge: reported at the merge).
    c.git(&["merge", "-q", "--no-ff", "--no-commit", "topic"]);
    let evil = github_token();
    write(&c, "evil.env", &format!("TOKEN={evil}\n"));
    let merge = commit(&c, "Merge topic");
    let (code, found, err) = scan_json(&c.dir);
    assert_eq!(code, 1, "{err}");
    let pats: Vec<(&str, &str)> = found
        .iter()
        .filter(|f| f["RuleID"] == "github-pat")
        .map(|f| {
            (
                f["File"].as_str().unwrap_or(""),
                f["Commit"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        pats,
        vec![
            ("topic.env", on_topic.as_str()),
            ("evil.env", merge.as_str())
        ],
        "{found:#?}"
    );
}
