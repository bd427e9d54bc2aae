//! Ways around the gate that an outside review found (issue 10). Each test performs the attack
//! through real pushes into a real bare repository and shows that it is refused now.

use crate::harness::*;

/// Replace refs: a signed commit S pushed as `refs/replace/<U>` made the daemon read S when
/// judging the unsigned U (update hook, per-ref mode), and the push of U to a signed-only
/// `main` was accepted.
#[test]
fn attack_replace_ref_lends_a_signature_to_an_unsigned_commit() {
    let (w, bare, c, d) = standard_world();
    install_per_ref(&w, &bare);
    let unsigned = c.commit("a.txt", "alice@example.org", Sign::Unsigned);
    c.git(&["reset", "-q", "--hard", "HEAD~1"]);
    let signed = c.commit("b.txt", "alice@example.org", Sign::Ssh("alice"));
    let p = c.push(&["origin", &format!("{signed}:refs/replace/{unsigned}")]);
    assert!(
        p.ok,
        "the replace ref itself is not governed here: {}",
        p.text
    );
    let p = c.push(&["origin", &format!("{unsigned}:refs/heads/main")]);
    assert!(!p.ok, "{}\n{}", p.text, d.log_text());
    assert!(p.flat().contains("commit is not signed"), "{}", p.text);
    assert_ne!(rev(&bare, "main").as_deref(), Some(unsigned.as_str()));
}

/// Replace refs in atomic mode: `clean_merge` recomputed the merge with a pushed
/// `refs/replace/<parent>` standing in for the real parent, so an evil merge looked clean.
#[test]
fn attack_replace_ref_makes_an_evil_merge_look_clean() {
    let w = World::new();
    let (_bare, c) = w.seed("app", "sha1");
    let policy = w.policy("", ATTESTED);
    let d = Daemon::start(&w, Some(&policy), &[&_bare]);
    c.git(&["checkout", "-q", "-b", "side"]);
    let side = c.commit("side.txt", "alice@example.org", Sign::Ssh("alice"));
    c.git(&["checkout", "-q", "main"]);
    c.commit("main.txt", "alice@example.org", Sign::Ssh("alice"));
    c.evil_merge("side");
    // A stand-in for the side commit that carries the hidden file, so that merging it would
    // give exactly the evil merge's tree.
    c.git(&["checkout", "-q", "side"]);
    std::fs::write(c.dir.join("hidden.txt"), "not reviewed anywhere\n").expect("write");
    c.git(&["add", "hidden.txt"]);
    c.git(&["commit", "-q", "--amend", "--no-edit", "--no-gpg-sign"]);
    let stand_in = c.git(&["rev-parse", "HEAD"]);
    c.git(&["checkout", "-q", "main"]);
    let p = c.push(&["origin", &format!("{stand_in}:refs/replace/{side}")]);
    assert!(p.ok, "{}", p.text);
    let p = c.push(&["origin", "main"]);
    assert!(!p.ok, "{}\n{}", p.text, d.log_text());
    assert!(
        p.flat()
            .contains("differs from the clean merge of its parents"),
        "{}",
        p.text
    );
}

/// Replace refs fooled the offline tools the same way: `pushguard verify` reported the
/// replaced unsigned commit as signed, and `scan --git` read the stand-in's files.
#[test]
fn attack_replace_ref_fools_verify_and_scan() {
    let w = World::new();
    let (_bare, c) = w.seed("app", "sha1");
    let policy = w.policy("", STANDARD_RULESETS);
    let signed = c.commit("clean.txt", "alice@example.org", Sign::Ssh("alice"));
    c.git(&["reset", "-q", "--hard", "HEAD~1"]);
    std::fs::write(
        c.dir.join("config.py"),
        format!("token = \"{}\"\n", github_token()),
    )
    .expect("write");
    c.git(&["add", "config.py"]);
    let unsigned = c.commit("b.txt", "alice@example.org", Sign::Unsigned);
    c.git(&["replace", &unsigned, &signed]);
    let repo = c.dir.display().to_string();
    let out = std::process::Command::new(BIN)
        .args([
            "verify",
            "--repo",
            &repo,
            "--no-records",
            "--format",
            "json",
        ])
        .arg("--policy")
        .arg(&policy)
        .envs(w.env())
        .output()
        .expect("verify");
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.contains(&unsigned))
        .unwrap_or_else(|| panic!("no line for {unsigned}: {text}"));
    assert!(line.contains("\"no_signature\""), "{line}");
    assert_eq!(out.status.code(), Some(1), "{text}");
    let out = std::process::Command::new(BIN)
        .args(["scan", "--git", &repo])
        .envs(w.env())
        .output()
        .expect("scan");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("config.py"), "{text}");
    assert_eq!(out.status.code(), Some(1), "{text}");
}

/// The secret-scanning ruleset of most attacks below.
const SCAN_ALL: &str =
    "  - name: no-secrets\n    target: push\n    rules:\n      secret_scanning: {}\n";

fn secret_world(rulesets: &str) -> (World, std::path::PathBuf, Client, Daemon) {
    let w = World::new();
    let (bare, c) = w.seed("app", "sha1");
    let policy = w.policy("", rulesets);
    let d = Daemon::start(&w, Some(&policy), &[&bare]);
    (w, bare, c, d)
}

/// Write `text` as a blob in the client's object store; its id.
fn blob(c: &Client, text: &str) -> String {
    let path = c.dir.join(".git/pg-blob");
    std::fs::write(&path, text).expect("write");
    c.git(&["hash-object", "-w", &path.display().to_string()])
}

/// A blob holding a secret, pushed as a tag (no commit anywhere) was never scanned.
#[test]
fn attack_secret_in_a_blob_behind_a_tag_is_scanned() {
    let (_w, bare, c, d) = secret_world(SCAN_ALL);
    let b = blob(&c, &format!("token = \"{}\"\n", github_token()));
    let p = c.push(&["origin", &format!("{b}:refs/tags/x")]);
    assert!(!p.ok, "{}\n{}", p.text, d.log_text());
    assert!(p.flat().contains("x secret_scanning"), "{}", p.text);
    assert!(rev(&bare, "refs/tags/x").is_none());
    // A tree holding it, and an annotated tag of that tree, are read through as well.
    c.git(&["read-tree", "--empty"]);
    c.git(&[
        "update-index",
        "--add",
        "--cacheinfo",
        &format!("100644,{b},conf/app.env"),
    ]);
    let tree = c.git(&["write-tree"]);
    c.git(&["reset", "-q"]);
    let p = c.push(&["origin", &format!("{tree}:refs/tags/tree")]);
    assert!(!p.ok, "{}", p.text);
    assert!(p.flat().contains("conf/app.env"), "{}", p.text);
    c.git(&["tag", "-a", "-m", "a tree", "treetag", &tree]);
    let p = c.push(&["origin", "refs/tags/treetag"]);
    assert!(!p.ok, "{}", p.text);
    assert!(p.flat().contains("conf/app.env"), "{}", p.text);
}

/// A file saved as UTF-16 (as Windows editors and PowerShell write it) has a NUL in every other
/// byte: it was taken for binary and passed unscanned. It is decoded and scanned, and a finding
/// names the file's own line; compressed files and LFS pointers are reported as not scanned.
#[test]
fn attack_secret_in_a_utf16_file_is_found() {
    let (_w, bare, c, d) = secret_world(SCAN_ALL);
    let text = format!("# settings\r\ntoken = \"{}\"\r\n", github_token());
    for (name, bom) in [("with-bom.ps1", true), ("no-bom.ps1", false)] {
        let mut bytes: Vec<u8> = if bom { vec![0xFF, 0xFE] } else { Vec::new() };
        bytes.extend(text.encode_utf16().flat_map(|u| u.to_le_bytes()));
        std::fs::write(c.dir.join(name), bytes).expect("write");
        c.git(&["add", name]);
        c.git(&["commit", "-q", "--no-gpg-sign", "-m", name]);
        let p = c.push(&["origin", "main"]);
        assert!(!p.ok, "{}\n{}", p.text, d.log_text());
        assert!(p.flat().contains(&format!("{name}:2")), "{}", p.text);
        assert!(!p.text.contains(&github_token()[4..]), "{}", p.text);
        c.git(&["reset", "-q", "--hard", "HEAD~"]);
    }
    // Content that is not read is named, never silently counted as scanned.
    std::fs::write(
        c.dir.join("data.gz"),
        b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\x4b\x4c\x4a\x06\x00",
    )
    .expect("write");
    std::fs::write(
        c.dir.join("model.bin"),
        "version https://git-lfs.github.com/spec/v1\noid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\nsize 12345\n",
    )
    .expect("write");
    c.git(&["add", "data.gz", "model.bin"]);
    let id = c.commit("a.txt", "alice@example.org", Sign::Unsigned);
    let p = c.push(&["origin", "main"]);
    assert!(p.ok, "{}\n{}", p.text, d.log_text());
    let flat = p.flat();
    assert!(
        flat.contains("data.gz") && flat.contains("compressed (gzip)"),
        "{}",
        p.text
    );
    assert!(
        flat.contains("model.bin") && flat.contains("Git LFS pointer"),
        "{}",
        p.text
    );
    assert_eq!(rev(&bare, "main").as_deref(), Some(id.as_str()));
}

/// "In the object store" was taken for "scanned": a secret blob already in the repository's
/// objects (left by a rejected per-ref push, a push certificate, a gc'd branch) was skipped
/// when a commit later brought it to `main`.
#[test]
fn attack_blob_already_in_the_object_store_is_not_laundered() {
    let (_w, bare, c, d) = secret_world(SCAN_ALL);
    let text = format!("token = \"{}\"\n", github_token());
    // The same bytes, unreachable, in the server's object store.
    let leftover = bare.join("leftover.txt");
    std::fs::write(&leftover, &text).expect("write");
    git_in(
        &bare,
        &["hash-object", "-w", &leftover.display().to_string()],
    );
    std::fs::write(c.dir.join("app.env"), &text).expect("write");
    c.git(&["add", "app.env"]);
    c.git(&["commit", "-q", "--no-gpg-sign", "-m", "config"]);
    let p = c.push(&["origin", "main"]);
    assert!(!p.ok, "{}\n{}", p.text, d.log_text());
    assert!(p.flat().contains("app.env:1"), "{}", p.text);
}

/// A merge brings nothing new when each of its files is as one parent has it; an evil merge's
/// own content is scanned (it is in no parent).
#[test]
fn secrets_added_by_a_merge_itself_are_scanned() {
    let (_w, _bare, c, d) = secret_world(SCAN_ALL);
    c.git(&["checkout", "-q", "-b", "side"]);
    c.commit("side.txt", "alice@example.org", Sign::Unsigned);
    c.git(&["checkout", "-q", "main"]);
    c.commit("main.txt", "alice@example.org", Sign::Unsigned);
    c.git(&["merge", "-q", "--no-ff", "--no-commit", "side"]);
    std::fs::write(
        c.dir.join("merge.env"),
        format!("token = \"{}\"\n", github_token()),
    )
    .expect("write");
    c.git(&["add", "merge.env"]);
    c.git(&["commit", "-q", "--no-gpg-sign", "-m", "Merge side"]);
    let merge = c.git(&["rev-parse", "HEAD"]);
    let p = c.push(&["origin", "main", "side"]);
    assert!(!p.ok, "{}\n{}", p.text, d.log_text());
    assert!(p.flat().contains("merge.env:1"), "{}", p.text);
    assert!(p.flat().contains(&merge[..10]), "{}", p.text);
}

/// A `target: push` ruleset limited to some refs only saw findings attributed to the first ref
/// of the push: pushing the same commit to an unprotected ref named first hid it. git hands the
/// hook the updates in the order the refspecs name them (checked with a recording pre-receive
/// hook, git 2.47), so the unprotected ref, which exists already, comes first here.
#[test]
fn attack_secret_pushed_to_two_refs_at_once_reaches_the_protected_one() {
    let rules = "  - name: no-secrets-on-main\n    target: push\n    include: [main]\n    rules:\n      secret_scanning: {}\n";
    let (_w, bare, c, d) = secret_world(rules);
    assert!(c.push(&["origin", "HEAD:refs/heads/aaa"]).ok);
    std::fs::write(
        c.dir.join("app.env"),
        format!("token = \"{}\"\n", github_token()),
    )
    .expect("write");
    c.git(&["add", "app.env"]);
    let id = c.commit("a.txt", "alice@example.org", Sign::Unsigned);
    let p = c.push(&[
        "--atomic",
        "origin",
        "HEAD:refs/heads/aaa",
        "HEAD:refs/heads/main",
    ]);
    assert!(!p.ok, "{}\n{}", p.text, d.log_text());
    assert!(p.flat().contains("refs/heads/main"), "{}", p.text);
    assert_ne!(rev(&bare, "main").as_deref(), Some(id.as_str()));
}

/// A symbolic ref on the server (`trunk` -> `main`): pushing to `trunk` moved `main` with no
/// rule applied.
#[test]
fn attack_force_push_through_a_symbolic_ref() {
    let (_w, bare, c, d) = standard_world();
    git_in(
        &bare,
        &["symbolic-ref", "refs/heads/trunk", "refs/heads/main"],
    );
    let before = rev(&bare, "main");
    c.git(&[
        "commit",
        "-q",
        "--amend",
        "--no-gpg-sign",
        "-m",
        "rewritten",
    ]);
    let p = c.push(&["--force", "origin", "HEAD:refs/heads/trunk"]);
    assert!(!p.ok, "{}\n{}", p.text, d.log_text());
    assert!(p.flat().contains("x non_fast_forward"), "{}", p.text);
    assert!(
        p.flat()
            .contains("refs/heads/trunk is a symbolic ref to refs/heads/main"),
        "{}",
        p.text
    );
    assert_eq!(rev(&bare, "main"), before);
    // An unsigned fast-forward through it meets main's signature rule too.
    c.git(&["reset", "-q", "--hard", "origin/main"]);
    c.commit("b.txt", "alice@example.org", Sign::Unsigned);
    let p = c.push(&["origin", "HEAD:refs/heads/trunk"]);
    assert!(!p.ok, "{}", p.text);
    assert!(p.flat().contains("commit is not signed"), "{}", p.text);
}

/// A signed tag object replayed under another name (`v1.0` pushed as `refs/tags/v2.0`).
#[test]
fn attack_signed_tag_replayed_under_another_name() {
    let (w, bare, c, d) = standard_world();
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
        "Release v1.0",
        "v1.0",
    ]);
    let p = c.push(&["origin", "refs/tags/v1.0"]);
    assert!(p.ok, "{}\n{}", p.text, d.log_text());
    let p = c.push(&["origin", "refs/tags/v1.0:refs/tags/v2.0"]);
    assert!(!p.ok, "{}", p.text);
    assert!(p.flat().contains("x tag_name"), "{}", p.text);
    assert!(
        p.flat()
            .contains("the tag object is named \"v1.0\", not \"v2.0\""),
        "{}",
        p.text
    );
    assert!(rev(&bare, "refs/tags/v2.0").is_none());
}

/// The embedded default policy refuses replace refs (and `target: ref` guards any ref).
#[test]
fn default_policy_refuses_replace_refs() {
    let w = World::new();
    let (bare, c) = w.seed("app", "sha1");
    let _d = Daemon::start(&w, None, &[&bare]);
    let a = c.commit("a.txt", "alice@example.org", Sign::Unsigned);
    let p = c.push(&["origin", &format!("HEAD:refs/replace/{a}")]);
    assert!(!p.ok, "{}", p.text);
    assert!(p.flat().contains("ruleset no-replace-refs"), "{}", p.text);
    assert!(p.flat().contains("nobody may create it"), "{}", p.text);
}

/// `target: ref` rules on refs outside branches and tags, e.g. signed notes.
#[test]
fn rulesets_can_guard_any_ref_by_full_name() {
    let rules = "  - name: signed-notes\n    target: ref\n    include: [\"refs/notes/**\"]\n    rules:\n      required_signatures: {}\n      non_fast_forward: {}\n";
    let (_w, _bare, c, _d) = secret_world(rules);
    c.git(&["notes", "add", "-m", "an unsigned note"]);
    let p = c.push(&["origin", "refs/notes/commits"]);
    assert!(!p.ok, "{}", p.text);
    assert!(p.flat().contains("ruleset signed-notes"), "{}", p.text);
    assert!(p.flat().contains("commit is not signed"), "{}", p.text);
}

/// An object the daemon cannot parse (a commit without an author) gave "no verdict", which a
/// fail-open repository let through.
#[test]
fn attack_malformed_commit_does_not_trigger_fail_open() {
    let w = World::new();
    let (bare, c) = w.seed("legacy", "sha1");
    let policy = w.policy(
        "repositories:\n  - {path: \"legacy.git\", on_error: fail_open}\n",
        STANDARD_RULESETS,
    );
    let _d = Daemon::start(&w, Some(&policy), &[&bare]);
    let tree = c.git(&["rev-parse", "HEAD^{tree}"]);
    let parent = c.git(&["rev-parse", "HEAD"]);
    let raw = format!(
        "tree {tree}\nparent {parent}\ncommitter Eve <eve@example.org> 1700000000 +0000\n\nno author\n"
    );
    let path = c.dir.join(".git/pg-commit");
    std::fs::write(&path, raw).expect("write");
    let id = c.git(&[
        "hash-object",
        "--literally",
        "-t",
        "commit",
        "-w",
        &path.display().to_string(),
    ]);
    let p = c.push(&["origin", &format!("{id}:refs/heads/main")]);
    assert!(!p.ok, "{}", p.text);
    assert!(p.flat().contains("pushguard: push rejected"), "{}", p.text);
    assert!(
        !p.flat().contains("accepted without a policy check"),
        "{}",
        p.text
    );
    assert_ne!(rev(&bare, "main").as_deref(), Some(id.as_str()));
}

/// A push past the deadline gave "no verdict" too: rejected now, fail open or not.
#[test]
fn attack_push_past_the_deadline_does_not_trigger_fail_open() {
    let w = World::new();
    let (bare, c) = w.seed("legacy", "sha1");
    let policy = w.policy(
        "settings: {timeout_seconds: 0.001}\nrepositories:\n  - {path: \"legacy.git\", on_error: fail_open}\n",
        STANDARD_RULESETS,
    );
    let _d = Daemon::start(&w, Some(&policy), &[&bare]);
    for i in 0..20 {
        c.commit(
            &format!("f{i}.txt"),
            "alice@example.org",
            Sign::Ssh("alice"),
        );
    }
    let p = c.push(&["origin", "main"]);
    assert!(!p.ok, "{}", p.text);
    assert!(p.flat().contains("no verdict within 1 ms"), "{}", p.text);
    assert!(
        !p.flat().contains("accepted without a policy check"),
        "{}",
        p.text
    );
}

/// Thousands of long ref names made a request over the frame limit: the hook could not send it
/// and a fail-open repository let the push through.
#[test]
fn attack_request_too_large_does_not_trigger_fail_open() {
    let w = World::new();
    let (bare, _c) = w.seed("legacy", "sha1");
    let policy = w.policy(
        "repositories:\n  - {path: \"legacy.git\", on_error: fail_open}\n",
        STANDARD_RULESETS,
    );
    let _d = Daemon::start(&w, Some(&policy), &[&bare]);
    let dir = "d".repeat(200);
    let long = vec![dir; 20].join("/"); // about 4,000 bytes a ref name
    let mut input = String::new();
    for i in 0..4300 {
        input.push_str(&format!(
            "{} {} refs/heads/{long}/{i}\n",
            "0".repeat(40),
            "ab".repeat(20)
        ));
    }
    let mut child = std::process::Command::new(BIN)
        .args(["hook", "pre-receive"])
        .env("GIT_DIR", &bare)
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("hook");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(input.as_bytes()).expect("feed the hook");
    }
    let out = child.wait_with_output().expect("hook");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("too large to judge"), "{err}");
}

/// Limits on what one push may ask the daemon to read: rejected with the setting named.
#[test]
fn pushes_over_the_ref_and_commit_limits_are_rejected() {
    let w = World::new();
    let (bare, c) = w.seed("app", "sha1");
    let policy = w.policy(
        "settings: {max_ref_updates: 3, max_commits: 10}\n",
        STANDARD_RULESETS,
    );
    let _d = Daemon::start(&w, Some(&policy), &[&bare]);
    let refs: Vec<String> = (0..4).map(|i| format!("HEAD:refs/heads/t{i}")).collect();
    let mut args = vec!["origin"];
    args.extend(refs.iter().map(String::as_str));
    let p = c.push(&args);
    assert!(!p.ok, "{}", p.text);
    assert!(p.flat().contains("settings.max_ref_updates"), "{}", p.text);
    for i in 0..12 {
        c.commit(
            &format!("f{i}.txt"),
            "alice@example.org",
            Sign::Ssh("alice"),
        );
    }
    let p = c.push(&["origin", "main"]);
    assert!(!p.ok, "{}", p.text);
    assert!(p.flat().contains("settings.max_commits"), "{}", p.text);
}

/// A socket client names the repository, the quarantine and the alternates: a repository outside
/// `--repos` (whose config could name a merge driver, a program) or someone else's quarantine
/// is refused.
#[test]
fn attack_socket_client_names_a_repository_or_quarantine_of_its_choosing() {
    use std::io::{Read, Write};
    let (w, bare, c, d) = standard_world();
    let head = c.git(&["rev-parse", "HEAD"]);
    let ask = |body: serde_json::Value| -> String {
        let body = body.to_string();
        let mut s = std::os::unix::net::UnixStream::connect(&d.socket).expect("connect");
        s.write_all(&(body.len() as u32).to_be_bytes())
            .expect("send");
        s.write_all(body.as_bytes()).expect("send");
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    };
    let outside = w.path().join("outside.git");
    git_in(&outside, &["init", "-q", "--bare"]);
    let a = ask(serde_json::json!({
        "version": 1, "hook": "pre-receive", "git_dir": outside.display().to_string(),
        "updates": [{"old": "0".repeat(40), "new": head, "ref": "refs/heads/x"}], "env": {}
    }));
    assert!(a.contains("not a repository this daemon guards"), "{a}");
    // A path that leaves --repos through `..` is the same refusal.
    let sneaky = format!("{}/../outside.git", w.path().join("repos").display());
    let a = ask(serde_json::json!({
        "version": 1, "hook": "pre-receive", "git_dir": sneaky,
        "updates": [{"old": "0".repeat(40), "new": head, "ref": "refs/heads/x"}], "env": {}
    }));
    assert!(a.contains("not a repository this daemon guards"), "{a}");
    // Another directory as the quarantine.
    let a = ask(serde_json::json!({
        "version": 1, "hook": "pre-receive", "git_dir": bare.display().to_string(),
        "updates": [{"old": "0".repeat(40), "new": head, "ref": "refs/heads/x"}],
        "env": {"GIT_QUARANTINE_PATH": outside.join("objects").display().to_string()}
    }));
    assert!(a.contains("is not a quarantine"), "{a}");
}

/// A merge driver named by the repository's config and attributes is a program: recomputing a
/// merge for `clean_merge` must never run it as the daemon's user.
#[test]
fn attack_merge_driver_never_runs_in_the_daemon() {
    let w = World::new();
    let (bare, c) = w.seed("app", "sha1");
    let policy = w.policy("", ATTESTED);
    let d = Daemon::start(&w, Some(&policy), &[&bare]);
    let marker = w.path().join("driver-ran");
    git_in(
        &bare,
        &[
            "config",
            "merge.evil.driver",
            &format!("touch {}; false", marker.display()),
        ],
    );
    std::fs::create_dir_all(bare.join("info")).expect("mkdir");
    std::fs::write(bare.join("info/attributes"), "* merge=evil\n").expect("write");
    std::fs::write(c.dir.join("shared.txt"), "1\n2\n3\n4\n5\n6\n7\n8\n").expect("write");
    c.git(&["add", "shared.txt"]);
    c.commit("base.txt", "alice@example.org", Sign::Ssh("alice"));
    let p = c.push(&["origin", "main"]);
    assert!(p.ok, "{}\n{}", p.text, d.log_text());
    c.git(&["checkout", "-q", "-b", "side"]);
    std::fs::write(c.dir.join("shared.txt"), "1 side\n2\n3\n4\n5\n6\n7\n8\n").expect("write");
    c.git(&["add", "shared.txt"]);
    c.commit("side.txt", "alice@example.org", Sign::Ssh("alice"));
    c.git(&["checkout", "-q", "main"]);
    std::fs::write(c.dir.join("shared.txt"), "1\n2\n3\n4\n5\n6\n7\n8 main\n").expect("write");
    c.git(&["add", "shared.txt"]);
    c.commit("main.txt", "alice@example.org", Sign::Ssh("alice"));
    c.git_signed(
        "alice",
        "alice@example.org",
        &["merge", "-q", "--no-ff", "-S", "-m", "Merge side", "side"],
    );
    let p = c.push(&["origin", "main"]);
    assert!(p.ok, "a clean merge: {}\n{}", p.text, d.log_text());
    assert!(
        !marker.exists(),
        "the repository's merge driver ran in the daemon"
    );
}

/// `pushguard.mode` switched to per-ref without reinstalling: the pre-receive hook stepped
/// aside and no update hook judged anything.
#[test]
fn attack_mode_switched_without_its_hook_fails_closed() {
    let (_w, bare, c, _d) = standard_world();
    git_in(&bare, &["config", "pushguard.mode", "per-ref"]);
    c.commit("a.txt", "alice@example.org", Sign::Unsigned);
    let p = c.push(&["origin", "main"]);
    assert!(!p.ok, "{}", p.text);
    assert!(
        p.flat()
            .contains("pushguard.mode is per-ref but no pushguard update hook is installed"),
        "{}",
        p.text
    );
}

/// `core.hooksPath` pointing elsewhere means git never runs the installed hooks: install
/// refuses the repository and says why, instead of leaving it unguarded in silence.
#[test]
fn a_hooks_path_that_skips_the_installed_hooks_is_refused() {
    let w = World::new();
    let (bare, _c) = w.seed("app", "sha1");
    git_in(&bare, &["config", "core.hooksPath", "/tmp/elsewhere"]);
    let out = std::process::Command::new(BIN)
        .args(["install", "--socket"])
        .arg(w.path().join("pg.sock"))
        .arg(&bare)
        .envs(w.env())
        .output()
        .expect("install");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("core.hooksPath is /tmp/elsewhere"), "{err}");
}

/// The audit log and the record database name pushers, keys and redacted secrets: owner-only.
#[test]
fn audit_log_and_records_are_readable_by_their_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let (_w, _bare, c, d) = standard_world();
    c.commit("a.txt", "alice@example.org", Sign::Ssh("alice"));
    let p = c.push(&["origin", "main"]);
    assert!(p.ok, "{}", p.text);
    for f in ["audit.jsonl", "pushguard.db", "fingerprint.key"] {
        let mode = std::fs::metadata(d.state.join(f))
            .expect("state file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{f}: {mode:o}");
    }
}

/// A secret's fingerprint was an unkeyed hash of it: anyone who saw a rejection could try
/// candidate passwords offline until one gave the same fingerprint. Fingerprints are keyed with
/// the installation's key: another installation (or the plain hash) gives another one, the
/// shown fingerprint still names the secret for a bypass, and `scan`/`check` given the server's
/// key agree with the server.
#[test]
fn attack_short_password_is_not_recoverable_from_its_fingerprint() {
    let password = "Tr0ub4dor";
    let push_secret = |c: &Client, d: &Daemon| {
        std::fs::write(
            c.dir.join("db.env"),
            format!("DATABASE_URL=postgres://app:{password}@db.internal:5432/app\n"),
        )
        .expect("write");
        c.git(&["add", "db.env"]);
        c.git(&["commit", "-q", "--no-gpg-sign", "-m", "db"]);
        let p = c.push(&["origin", "main"]);
        assert!(!p.ok, "{}\n{}", p.text, d.log_text());
        p.fingerprint()
    };
    let (w1, _b1, c1, d1) = secret_world(SCAN_ALL);
    let (_w2, _b2, c2, d2) = secret_world(SCAN_ALL);
    let fp1 = push_secret(&c1, &d1);
    let fp2 = push_secret(&c2, &d2);
    assert_ne!(fp1, fp2, "two installations, one fingerprint: not keyed");
    // What an attacker computes from a guess: the unkeyed fingerprint of the candidate.
    let sha = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(password.as_bytes()))
    };
    for rule in ["database-url-password", "generic-password", "url-password"] {
        assert_ne!(secrets::fingerprint(None, rule, &sha), fp1);
    }
    // `scan` with the server's key prints the server's fingerprint; without it, another one.
    let key = d1.state.join("fingerprint.key");
    let scan = |extra: &[&str]| {
        let out = std::process::Command::new(BIN)
            .args(["scan", "--no-progress"])
            .args(extra)
            .arg(c1.dir.display().to_string())
            .envs(w1.env())
            .output()
            .expect("scan");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let keyed = scan(&["--fingerprint-key", &key.display().to_string()]);
    assert!(keyed.contains(&fp1), "{keyed}");
    assert!(!scan(&[]).contains(&fp1));
}
