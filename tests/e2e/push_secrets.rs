use crate::harness::*;
use std::path::PathBuf;

const SECRET_RULESETS: &str = r#"  - name: no-secrets
    target: push
    bypass: [role:admin]
    rules:
      secret_scanning:
        suppressions_file: .pushguard/secret-suppressions.yaml
"#;

struct Setup {
    w: World,
    bare: PathBuf,
    c: Client,
    d: Daemon,
}

fn setup_with(extra: &str) -> Setup {
    let w = World::new();
    let (bare, c) = w.seed("app", "sha1");
    let policy = w.policy("", &format!("{SECRET_RULESETS}{extra}"));
    let d = Daemon::start(&w, Some(&policy), &[&bare]);
    Setup { w, bare, c, d }
}

fn setup() -> Setup {
    setup_with("")
}

/// Nothing anywhere may show the secret.
fn assert_never_shown(s: &Setup, secret: &str, outputs: &[&Pushed]) {
    for p in outputs {
        assert!(
            !p.text.contains(secret),
            "secret leaked to the pusher:\n{}",
            p.text
        );
        assert!(
            !p.text.contains(&secret[4..]),
            "secret body leaked to the pusher"
        );
    }
    assert!(
        !s.d.log_text().contains(&secret[4..]),
        "secret leaked to the daemon log"
    );
    let audit = std::fs::read_to_string(s.d.state.join("audit.jsonl")).unwrap_or_default();
    assert!(
        !audit.contains(&secret[4..]),
        "secret leaked to the audit log"
    );
}

#[test]
fn secret_in_a_quarantined_commit_is_rejected_with_a_redacted_report() {
    let s = setup();
    let secret = github_token();
    write(
        &s.c,
        "config/app.env",
        &format!("DEBUG=1\nGITHUB_TOKEN={secret}\n"),
    );
    let id = commit(&s.c, "Add config");
    let p = s.c.push(&["origin", "main"]);
    assert!(!p.ok);
    let flat = p.flat();
    assert!(
        flat.contains("x secret_scanning (ruleset no-secrets)"),
        "{}",
        p.text
    );
    assert!(
        flat.contains(&format!("commit {} \"Add config\"", &id[..10])),
        "{}",
        p.text
    );
    assert!(flat.contains("at config/app.env:2"), "{}", p.text);
    assert!(flat.contains("(github-pat)"), "{}", p.text);
    assert!(flat.contains("secret: ghp_"), "{}", p.text);
    assert!(flat.contains("fingerprint: "), "{}", p.text);
    assert!(flat.contains("revoke it"), "{}", p.text);
    assert!(
        flat.contains("git push -o pushguard.secret-bypass=FINGERPRINT:REASON"),
        "{}",
        p.text
    );
    assert!(
        !has_object(&s.bare, &id),
        "the rejected commit stayed in quarantine"
    );
    assert_never_shown(&s, &secret, &[&p]);
}

#[test]
fn secret_added_then_deleted_in_the_same_push_is_still_rejected() {
    let s = setup();
    let secret = github_token();
    write(&s.c, "a.txt", &format!("token: {secret}\n"));
    let added = commit(&s.c, "Add token");
    write(&s.c, "a.txt", "token: removed\n");
    commit(&s.c, "Remove token");
    let p = s.c.push(&["origin", "main"]);
    assert!(!p.ok);
    assert!(p.flat().contains(&added[..10]), "{}", p.text);
    assert_never_shown(&s, &secret, &[&p]);
}

#[test]
fn legacy_secrets_are_not_blocked_again() {
    let w = World::new();
    let (bare, c) = w.seed("app", "sha1");
    let secret = github_token();
    // Already in the repository before pushguard guarded it.
    write(&c, "legacy.cfg", &format!("a=1\ntoken={secret}\n"));
    commit(&c, "Old config");
    assert!(c.push(&["origin", "main"]).ok);
    let policy = w.policy("", SECRET_RULESETS);
    let d = Daemon::start(&w, Some(&policy), &[&bare]);
    // Editing another line of the file keeps the old secret: reported, not blocking.
    write(&c, "legacy.cfg", &format!("a=2\ntoken={secret}\n"));
    commit(&c, "Tweak config");
    let p = c.push(&["origin", "main"]);
    assert!(p.ok, "{}", p.text);
    assert!(p.flat().contains("1 warning (not blocking)"), "{}", p.text);
    assert!(
        p.flat().contains("already in this file before the push"),
        "{}",
        p.text
    );
    // Moving the old secret into a new file is a new finding.
    write(&c, "other.cfg", &format!("token={secret}\n"));
    commit(&c, "Copy config");
    let p = c.push(&["origin", "main"]);
    assert!(!p.ok, "{}", p.text);
    let s = Setup { w, bare, c, d };
    assert_never_shown(&s, &secret, &[&p]);
}

#[test]
fn a_push_cannot_suppress_its_own_secret_but_a_landed_suppression_does() {
    let s = setup();
    let secret = github_token();
    write(&s.c, "a.txt", &format!("token: {secret}\n"));
    commit(&s.c, "Add token");
    let p = s.c.push(&["origin", "main"]);
    assert!(!p.ok);
    let fp = p
        .flat()
        .split("fingerprint: ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .expect("fingerprint shown")
        .to_string();
    let suppression = format!(
        "suppressions:\n  - fingerprint: {fp}\n    reason: used_in_tests\n    who: alice\n    expires: 2099-01-01\n"
    );
    // Same push adds the secret and its own suppression: rejected.
    write(&s.c, ".pushguard/secret-suppressions.yaml", &suppression);
    commit(&s.c, "Suppress it");
    let p = s.c.push(&["origin", "main"]);
    assert!(!p.ok, "self-suppression must not work: {}", p.text);
    // The suppression lands first (on its own), then the secret: suppressed.
    s.c.git(&["reset", "-q", "--hard", "origin/main"]);
    write(&s.c, ".pushguard/secret-suppressions.yaml", &suppression);
    commit(&s.c, "Suppress a test token");
    assert!(s.c.push(&["origin", "main"]).ok);
    write(&s.c, "tests/fixture.txt", &format!("token: {secret}\n"));
    commit(&s.c, "Add test fixture");
    let p = s.c.push(&["origin", "main"]);
    assert!(p.ok, "{}", p.text);
    assert_never_shown(&s, &secret, &[&p]);
}

#[test]
fn authorised_bypass_is_accepted_and_audited_unauthorised_is_not() {
    let s = setup();
    let secret = github_token();
    write(&s.c, "a.txt", &format!("token: {secret}\n"));
    commit(&s.c, "Add token");
    let p = s.c.push_as(Some("root"), &["origin", "main"]);
    assert!(!p.ok, "bypass actors still name each secret: {}", p.text);
    let fp = p.fingerprint();
    let opt = format!("pushguard.secret-bypass={fp}:false_positive");
    let p = s.c.push_as(Some("bob"), &["-o", &opt, "origin", "main"]);
    assert!(!p.ok);
    assert!(
        p.flat()
            .contains("a bypass was asked for, but bob may not bypass ruleset no-secrets"),
        "{}",
        p.text
    );
    let bad_reason = format!("pushguard.secret-bypass={fp}:because");
    let p =
        s.c.push_as(Some("root"), &["-o", &bad_reason, "origin", "main"]);
    assert!(!p.ok);
    assert!(
        p.flat()
            .contains("is not one of false_positive, used_in_tests, will_fix_later"),
        "{}",
        p.text
    );
    let p = s.c.push_as(Some("root"), &["-o", &opt, "origin", "main"]);
    assert!(p.ok, "{}", p.text);
    assert!(p.flat().contains("bypassed by root"), "{}", p.text);
    let last = s.d.audit().pop().expect("logged");
    assert_eq!(last["pusher"], "root");
    assert_eq!(last["bypasses"][0]["bypass_reason"], "false_positive");
    assert_eq!(last["bypasses"][0]["secret"]["fingerprint"], fp.as_str());
    assert_never_shown(&s, &secret, &[&p]);
}

#[test]
fn file_name_rules_block_private_keys_and_credentials() {
    let s = setup();
    write(&s.c, "deploy/id_rsa", "not even a key, just the name\n");
    commit(&s.c, "Add deploy key");
    let p = s.c.push(&["origin", "main"]);
    assert!(!p.ok);
    assert!(p.flat().contains("deploy/id_rsa"), "{}", p.text);
    // A real private key block is found by content, whatever the name.
    s.c.git(&["reset", "-q", "--hard", "origin/main"]);
    let key = std::fs::read_to_string(s.w.key("mallory")).expect("key");
    write(&s.c, "notes.txt", &format!("here:\n{key}"));
    commit(&s.c, "Notes");
    let p = s.c.push(&["origin", "main"]);
    assert!(!p.ok);
    assert!(p.flat().contains("at notes.txt:2"), "{}", p.text);
    let body: String = key.lines().nth(1).unwrap_or_default().to_string();
    assert!(!p.text.contains(&body), "key material leaked");
}

#[test]
fn public_material_and_templates_pass_warnings_show_and_the_policy_sets_severity() {
    let s = setup();
    // A public certificate named *.pem, a public key named *.key and an .env template hold no
    // secret: file names alone are not findings.
    let cert = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
        ])
        .args([
            "-nodes",
            "-keyout",
            "/dev/null",
            "-subj",
            "/CN=pushguard-test",
            "-days",
            "1",
        ])
        .output()
        .expect("openssl runs");
    assert!(
        cert.status.success(),
        "{}",
        String::from_utf8_lossy(&cert.stderr)
    );
    write(
        &s.c,
        "tls/server.pem",
        &String::from_utf8_lossy(&cert.stdout),
    );
    let pubkey =
        std::fs::read_to_string(format!("{}.pub", s.w.key("mallory").display())).expect("pub");
    write(&s.c, "keys/deploy.key", &pubkey);
    write(
        &s.c,
        ".env.example",
        "SESSION_SECRET=\nSTRIPE_KEY=sk_live_your_key_here\n",
    );
    write(&s.c, ".env", "DB_PASSWORD=${DB_PASSWORD}\n");
    // An AWS access key id alone ships as warn: shown, not blocking.
    write(&s.c, "deploy/aws.txt", "key id: AKIAQYLPMN5HHHFPZAM2\n");
    commit(&s.c, "Public material and templates");
    let p = s.c.push(&["origin", "main"]);
    assert!(p.ok, "{}", p.text);
    let flat = p.flat();
    assert!(flat.contains("aws-access-key-id"), "{}", p.text);
    assert!(flat.contains("deploy/aws.txt:1"), "{}", p.text);
    assert!(flat.contains("not blocking"), "{}", p.text);
    // The same finding blocks once the policy says so (the daemon reloads the changed file).
    std::thread::sleep(std::time::Duration::from_millis(1100));
    s.w.policy(
        "secrets:\n  severity:\n    aws-access-key-id: block\n",
        SECRET_RULESETS,
    );
    let start = std::time::Instant::now();
    while !s.d.log_text().contains("policy reloaded") {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(10),
            "the policy change was not picked up:\n{}",
            s.d.log_text()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    write(&s.c, "deploy/aws2.txt", "key id: AKIAQYLPMN5HHHFPZAM3\n");
    commit(&s.c, "Another key id");
    let p = s.c.push(&["origin", "main"]);
    assert!(!p.ok, "{}", p.text);
    assert!(p.flat().contains("deploy/aws2.txt:1"), "{}", p.text);
}

#[test]
fn huge_and_binary_blobs() {
    let s = setup();
    let secret = github_token();
    // Over the 1 MiB default: its first 1 MiB is scanned, and the pusher is told the rest was
    // not. A secret in that part blocks.
    let mut big = format!("{secret}\n");
    big.push_str(&"x".repeat(1 << 20));
    write(&s.c, "big.txt", &big);
    commit(&s.c, "Big file");
    let p = s.c.push(&["origin", "main"]);
    assert!(!p.ok, "{}", p.text);
    assert!(p.flat().contains("at big.txt:1"), "{}", p.text);
    // Past the first 1 MiB it is not seen, and the warning says so.
    s.c.git(&["reset", "-q", "--hard", "origin/main"]);
    let mut big = "x".repeat(1 << 20);
    big.push_str(&format!("\n{secret}\n"));
    write(&s.c, "big.txt", &big);
    commit(&s.c, "Big file");
    let p = s.c.push(&["origin", "main"]);
    assert!(p.ok, "{}", p.text);
    assert!(
        p.flat().contains(&format!(
            "only the first 1048576 of its {} bytes were scanned for secrets",
            big.len()
        )),
        "{}",
        p.text
    );
    // Binary content (NUL early): only file-name rules apply, and the pusher is told.
    let mut bin = vec![0u8; 16];
    bin.extend_from_slice(secret.as_bytes());
    std::fs::write(s.c.dir.join("blob.bin"), bin).expect("write");
    s.c.git(&["add", "blob.bin"]);
    commit(&s.c, "Binary");
    let p = s.c.push(&["origin", "main"]);
    assert!(p.ok, "{}", p.text);
    assert!(
        p.flat().contains("not scanned for secrets: binary"),
        "{}",
        p.text
    );
    assert!(p.flat().contains("blob.bin"), "{}", p.text);
    assert_never_shown(&s, &secret, &[&p]);
}

#[test]
fn huge_blobs_can_be_rejected() {
    let w = World::new();
    let (bare, c) = w.seed("app", "sha1");
    let rules = "  - name: no-secrets\n    target: push\n    rules:\n      secret_scanning: {max_blob_size: 1000, on_large_blob: reject}\n";
    let policy = w.policy("", rules);
    let _d = Daemon::start(&w, Some(&policy), &[&bare]);
    write(&c, "big.txt", &"y".repeat(5000));
    commit(&c, "Big file");
    let p = c.push(&["origin", "main"]);
    assert!(!p.ok);
    assert!(
        p.flat()
            .contains("a 5000 byte file is larger than the 1000 byte limit"),
        "{}",
        p.text
    );
}

#[test]
fn scan_deadline_fails_closed_or_open_as_configured() {
    for (mode, should_pass) in [("fail_closed", false), ("fail_open", true)] {
        let w = World::new();
        let (bare, c) = w.seed("app", "sha1");
        let rules = format!(
            "  - name: no-secrets\n    target: push\n    rules:\n      secret_scanning: {{deadline_seconds: 0.000001, on_deadline: {mode}}}\n"
        );
        let policy = w.policy("", &rules);
        let d = Daemon::start(&w, Some(&policy), &[&bare]);
        for i in 0..20 {
            write(&c, &format!("f{i}.txt"), &format!("file {i}\n"));
        }
        commit(&c, "Many files");
        let p = c.push(&["origin", "main"]);
        assert_eq!(p.ok, should_pass, "{mode}: {}", p.text);
        assert!(
            p.flat().contains("the secret scan ran out of time"),
            "{mode}: {}",
            p.text
        );
        let last = d.audit().pop().expect("logged");
        assert_eq!(last["secret_scan"]["deadline_expired"], true, "{mode}");
    }
}

#[test]
fn only_blobs_new_to_the_repository_are_scanned() {
    let s = setup();
    write(&s.c, "one.txt", "one\n");
    write(&s.c, "two.txt", "two\n");
    commit(&s.c, "Two files");
    assert!(s.c.push(&["origin", "main"]).ok);
    let last = s.d.audit().pop().expect("logged");
    assert_eq!(last["secret_scan"]["blobs_scanned"], 2);
    // An existing commit on a new branch adds nothing new.
    assert!(s.c.push(&["origin", "main:refs/heads/copy"]).ok);
    let last = s.d.audit().pop().expect("logged");
    assert_eq!(last["secret_scan"]["blobs_scanned"], 0);
    // The same blob in many commits and refs is read once.
    s.c.git(&["checkout", "-q", "-b", "x"]);
    write(&s.c, "same.txt", "shared content\n");
    commit(&s.c, "Add same");
    s.c.git(&["checkout", "-q", "main"]);
    write(&s.c, "same-too.txt", "shared content\n");
    commit(&s.c, "Add same again");
    assert!(s.c.push(&["origin", "main", "x"]).ok);
    let last = s.d.audit().pop().expect("logged");
    assert_eq!(last["secret_scan"]["blobs_scanned"], 1);
    // Deleting a ref scans nothing.
    assert!(s.c.push(&["origin", ":refs/heads/copy"]).ok);
    let last = s.d.audit().pop().expect("logged");
    assert_eq!(last["secret_scan"]["blobs_scanned"], 0);
}

#[test]
fn large_pushes_are_scanned_on_every_core_with_the_same_result() {
    let s = setup();
    let secret = github_token();
    for i in 0..150 {
        let text = if i == 97 {
            format!("fn main() {{}}\n// {secret}\n")
        } else {
            format!("fn f{i}() -> u32 {{ {i} }}\n")
        };
        write(&s.c, &format!("src/m{i:03}.rs"), &text);
    }
    commit(&s.c, "Many modules");
    let p = s.c.push(&["origin", "main"]);
    assert!(!p.ok);
    assert!(p.flat().contains("at src/m097.rs:2"), "{}", p.text);
    assert!(p.flat().contains("1 policy violation"), "{}", p.text);
    let last = s.d.audit().pop().expect("logged");
    assert_eq!(last["secret_scan"]["blobs_scanned"], 150);
    assert_never_shown(&s, &secret, &[&p]);
}
