use crate::harness::*;
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

#[test]
fn check_judges_without_the_daemon() {
    let w = World::new();
    let (bare, c) = w.seed("app", "sha1");
    let policy = w.policy("", STANDARD_RULESETS);
    let base = c.git(&["rev-parse", "HEAD"]);
    let good = c.commit("a.txt", "alice@example.org", Sign::Ssh("alice"));
    let bad = c.commit("b.txt", "alice@example.org", Sign::Unsigned);
    // `check` reads objects from the repository: put them in as an unprotected ref first.
    assert!(c.push(&["origin", "HEAD:refs/heads/incoming"]).ok);
    let bare_s = bare.display().to_string();
    let policy_s = policy.display().to_string();
    let (code, out, err) = pushguard(&[
        "check",
        "--repo",
        &bare_s,
        "--policy",
        &policy_s,
        "--pusher",
        "alice",
        &base,
        &good,
        "refs/heads/main",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, _) = pushguard(&[
        "check",
        "--repo",
        &bare_s,
        "--policy",
        &policy_s,
        "--pusher",
        "alice",
        "--format",
        "json",
        &base,
        &bad,
        "refs/heads/main",
    ]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(v["allowed"], false);
    assert_eq!(v["violations"][0]["rule"], "required_signatures");
    assert_eq!(v["violations"][0]["ruleset"], "protect-main");
    assert_eq!(v["violations"][0]["ref"], "refs/heads/main");
    assert_eq!(v["violations"][0]["commit"], bad.as_str());
    assert_eq!(v["violations"][0]["code"], "no_signature");
    let (code, _, err) = pushguard(&[
        "check",
        "--repo",
        &bare_s,
        &base,
        "nothex",
        "refs/heads/main",
    ]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn policy_check_reports_file_line_column() {
    let w = World::new();
    let good = w.policy("", STANDARD_RULESETS);
    let (code, out, err) = pushguard(&["policy", "check", &good.display().to_string()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("rulesets: 2"), "{out}");
    assert!(out.contains("keys loaded: 4"), "{out}");
    let bad = w.path().join("bad.yaml");
    std::fs::write(&bad, "version: 1\nrulesets:\n  - name: x\n    target: branch\n    include: [main]\n    rules:\n      update:\n        allow: [nobody]\n").expect("write");
    let (code, _, err) = pushguard(&["policy", "check", &bad.display().to_string()]);
    assert_eq!(code, 2);
    assert_eq!(
        err.trim(),
        format!(
            "{}:8:17: unknown identity \"nobody\": define it under identities, or write role:NAME",
            bad.display()
        )
    );
    // A broken key is reported where it is written.
    std::fs::write(&bad, "version: 1\nidentities:\n  a:\n    emails: [a@example.org]\n    keys:\n      - ssh: \"ssh-ed25519 AAAAnotakey a@x\"\n").expect("write");
    let (code, _, err) = pushguard(&["policy", "check", &bad.display().to_string()]);
    assert_eq!(code, 2);
    assert!(err.starts_with(&format!("{}:6:", bad.display())), "{err}");
    // A missing certificate file too.
    std::fs::write(&bad, "version: 1\nidentities:\n  a:\n    emails: [a@example.org]\n    keys:\n      - openpgp: missing.asc\n").expect("write");
    let (code, _, err) = pushguard(&["policy", "check", &bad.display().to_string()]);
    assert_eq!(code, 2);
    assert!(err.contains("missing.asc"), "{err}");
    // A Rekor log key (gitsign): loads relative to the policy; a missing or bad one is
    // reported where it is named.
    let keys = w.path().join("keys");
    std::fs::create_dir_all(&keys).expect("keys dir");
    let out = Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
        ])
        .output()
        .expect("openssl genpkey");
    let mut pubkey = Command::new("openssl")
        .args(["pkey", "-pubout", "-out"])
        .arg(keys.join("rekor.pub"))
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("openssl pkey");
    std::io::Write::write_all(pubkey.stdin.as_mut().expect("stdin"), &out.stdout)
        .expect("write key");
    drop(pubkey.stdin.take());
    assert!(pubkey.wait().expect("openssl pkey").success());
    let rekor =
        |files: &str| format!("version: 1\ntrust:\n  sigstore:\n    rekor_keys: [{files}]\n");
    std::fs::write(&bad, rekor("keys/rekor.pub")).expect("write");
    let (code, out, err) = pushguard(&["policy", "check", &bad.display().to_string()]);
    assert_eq!(code, 0, "{out}{err}");
    std::fs::write(&bad, rekor("keys/rekor.pub, keys/missing.pub")).expect("write");
    let (code, _, err) = pushguard(&["policy", "check", &bad.display().to_string()]);
    assert_eq!(code, 2);
    assert!(
        err.starts_with(&format!("{}:4:34: cannot read", bad.display()))
            && err.contains("missing.pub"),
        "{err}"
    );
    std::fs::write(keys.join("garbage.pub"), "not a key\n").expect("write");
    std::fs::write(&bad, rekor("keys/garbage.pub")).expect("write");
    let (code, _, err) = pushguard(&["policy", "check", &bad.display().to_string()]);
    assert_eq!(code, 2);
    assert!(
        err.starts_with(&format!(
            "{}:4:18: keys/garbage.pub: Sigstore Rekor public key",
            bad.display()
        )),
        "{err}"
    );
    // TSA roots: a file that holds no certificate, where it is named.
    std::fs::write(
        &bad,
        "version: 1\ntrust:\n  sigstore:\n    tsa_roots: [keys/garbage.pub]\n",
    )
    .expect("write");
    let (code, _, err) = pushguard(&["policy", "check", &bad.display().to_string()]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.starts_with(&format!("{}:4:17: keys/garbage.pub:", bad.display())),
        "{err}"
    );
    // A key shared by two identities.
    let alice = w.ssh_public("alice");
    std::fs::write(&bad, format!("version: 1\nidentities:\n  a:\n    keys: [{{ssh: \"{alice}\"}}]\n  b:\n    keys: [{{ssh: \"{alice}\"}}]\n")).expect("write");
    let (code, _, err) = pushguard(&["policy", "check", &bad.display().to_string()]);
    assert_eq!(code, 2, "{err}");
    // An SSH revocation file that is neither a KRL nor public keys, where it is named.
    std::fs::write(w.path().join("revoked"), "ssh-ed25519 notbase64!\n").expect("write");
    std::fs::write(&bad, "version: 1\ntrust:\n  ssh_revoked: [revoked]\n").expect("write");
    let (code, _, err) = pushguard(&["policy", "check", &bad.display().to_string()]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.starts_with(&format!("{}:3:17:", bad.display())),
        "{err}"
    );
    assert!(err.contains("SSH revocation file revoked: line 1"), "{err}");
    // A CRL file that is no CRL, too.
    std::fs::write(w.path().join("ca.crl"), "not a CRL").expect("write");
    std::fs::write(&bad, "version: 1\ntrust:\n  x509_crls: [ca.crl]\n").expect("write");
    let (code, _, err) = pushguard(&["policy", "check", &bad.display().to_string()]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.starts_with(&format!("{}:3:15:", bad.display())),
        "{err}"
    );
    assert!(err.contains("CRL file ca.crl"), "{err}");
}

#[test]
fn install_is_idempotent_and_respects_foreign_hooks() {
    let w = World::new();
    let (bare, c) = w.seed("app", "sha1");
    let bare_s = bare.display().to_string();
    let hook = bare.join("hooks/pre-receive");
    std::fs::write(
        &hook,
        "#!/bin/sh\necho legacy-hook-ran >&2\ncat >/dev/null\nexit 0\n",
    )
    .expect("write");
    std::process::Command::new("chmod")
        .args(["+x", &hook.display().to_string()])
        .status()
        .expect("chmod");
    let (code, _, err) = pushguard(&["install", "--socket", "/tmp/none.sock", &bare_s]);
    assert_eq!(code, 2);
    assert!(err.contains("not pushguard's"), "{err}");
    assert!(err.contains("--chain"), "{err}");
    assert!(
        std::fs::read_to_string(&hook)
            .expect("hook")
            .contains("legacy-hook-ran"),
        "untouched"
    );
    let sock = w.path().join("pg.sock");
    let (code, out, err) = pushguard(&[
        "install",
        "--chain",
        "--socket",
        &sock.display().to_string(),
        &bare_s,
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("pre-receive kept and run first"), "{out}");
    let (code, _, err) = pushguard(&[
        "install",
        "--chain",
        "--socket",
        &sock.display().to_string(),
        &bare_s,
    ]);
    assert_eq!(code, 0, "idempotent: {err}");
    let (code, _, _) = pushguard(&[
        "install",
        "--socket",
        "/tmp/x.sock",
        "/nonexistent/repo.git",
    ]);
    assert_eq!(code, 2);
    // Both hooks run: the legacy one first, then pushguard's (daemon up, default policy).
    let policy = w.policy("", STANDARD_RULESETS);
    let _d = Daemon::start(&w, Some(&policy), &[&bare]);
    c.commit("a.txt", "alice@example.org", Sign::Unsigned);
    let p = c.push(&["origin", "main"]);
    assert!(!p.ok);
    assert!(p.flat().contains("legacy-hook-ran"), "{}", p.text);
    assert!(p.flat().contains("required_signatures"), "{}", p.text);
}

#[test]
fn scan_finds_secrets_in_directories_and_history_without_printing_them() {
    let w = World::new();
    let (_bare, c) = w.seed("app", "sha1");
    let token = secrets::validate::with_crc32_base62("ghp_", "Zq8XkY2mN4pR7tV1wB3dF6hJ9lC0sE");
    std::fs::create_dir_all(c.dir.join("conf")).expect("mkdir");
    std::fs::write(c.dir.join("conf/prod.env"), format!("A=1\nTOKEN={token}\n")).expect("write");
    let dir = c.dir.display().to_string();
    let (code, out, err) = pushguard(&["scan", "--no-progress", &dir]);
    assert_eq!(code, 1, "{err}");
    assert!(
        out.contains("conf/prod.env:2: GitHub personal access token"),
        "{out}"
    );
    assert!(out.contains("1 finding"), "{out}");
    let (code, out, _) = pushguard(&["scan", "--format", "json", &dir]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(v[0]["RuleID"], "github-pat");
    assert_eq!(v[0]["File"], "conf/prod.env");
    assert_eq!(v[0]["StartLine"], 2);
    let (code, out, _) = pushguard(&["scan", "--format", "sarif", &dir]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).expect("SARIF is JSON");
    assert_eq!(v["version"], "2.1.0");
    // History: commit it, then remove it; only the history still has it.
    c.git(&["add", "conf/prod.env"]);
    c.git(&["commit", "-q", "--no-gpg-sign", "-m", "Add env"]);
    let added = c.git(&["rev-parse", "HEAD"]);
    c.git(&["rm", "-q", "conf/prod.env"]);
    c.git(&["commit", "-q", "--no-gpg-sign", "-m", "Remove env"]);
    let (code, out, _) = pushguard(&["scan", "--no-progress", &dir]);
    assert_eq!(code, 0, "{out}");
    let (code, out, _) = pushguard(&["scan", "--git", &dir, "--all-history", "--format", "json"]);
    assert_eq!(code, 1, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(v[0]["Commit"], added.as_str());
    let (code, _, _) = pushguard(&["scan", "--git", &dir, "HEAD~1..HEAD"]);
    assert_eq!(code, 0, "the last commit only removes it");
    for format in ["text", "json", "sarif"] {
        let (_, out, err) =
            pushguard(&["scan", "--git", &dir, "--all-history", "--format", format]);
        assert!(
            !out.contains(&token[4..]) && !err.contains(&token[4..]),
            "{format} leaks the secret"
        );
    }
    let (code, _, err) = pushguard(&["scan", "--git", &dir, "--not-a-flag"]);
    assert_eq!(code, 2, "{err}");
}
