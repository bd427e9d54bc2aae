use crate::harness::*;

fn world() -> (World, std::path::PathBuf, Client, Daemon) {
    standard_world()
}

#[test]
fn ssh_signed_push_is_accepted() {
    let (_w, bare, c, d) = world();
    let id = c.commit("a.txt", "alice@example.org", Sign::Ssh("alice"));
    let p = c.push(&["origin", "main"]);
    assert!(p.ok, "{}\n{}", p.text, d.log_text());
    assert_eq!(rev(&bare, "main").as_deref(), Some(id.as_str()));
    let audit = d.audit();
    let last = audit.last().expect("decision logged");
    assert_eq!(last["verdict"], "allowed");
    assert_eq!(last["pusher"], "alice");
    assert_eq!(last["pusher_identity"], "alice");
}

#[test]
fn openpgp_signed_push_is_accepted() {
    let (_w, bare, c, d) = world();
    let id = c.commit("a.txt", "alice@example.org", Sign::Gpg);
    let p = c.push(&["origin", "main"]);
    assert!(p.ok, "{}\n{}", p.text, d.log_text());
    assert_eq!(rev(&bare, "main").as_deref(), Some(id.as_str()));
}

#[test]
fn ecdsa_signed_push_by_a_developer_is_accepted() {
    let (_w, _bare, c, d) = world();
    c.commit("a.txt", "carol@example.org", Sign::Ssh("carol"));
    let p = c.push_as(Some("carol"), &["origin", "main"]);
    assert!(p.ok, "{}\n{}", p.text, d.log_text());
}

#[test]
fn unsigned_commit_is_rejected_and_never_lands() {
    let (_w, bare, c, _d) = world();
    let before = rev(&bare, "main");
    let id = c.commit("a.txt", "alice@example.org", Sign::Unsigned);
    let p = c.push(&["origin", "main"]);
    assert!(!p.ok);
    assert!(
        p.flat()
            .contains("pushguard: push rejected, 1 policy violation"),
        "{}",
        p.text
    );
    assert!(
        p.flat()
            .contains("x required_signatures (ruleset protect-main)"),
        "{}",
        p.text
    );
    assert!(
        p.flat().contains(&format!("commit {}", &id[..10])),
        "{}",
        p.text
    );
    assert!(p.flat().contains("commit is not signed"), "{}", p.text);
    assert!(
        p.flat()
            .contains("fix: sign it: git commit --amend --no-edit -S"),
        "{}",
        p.text
    );
    assert!(p.flat().contains("pre-receive hook declined"), "{}", p.text);
    assert_eq!(rev(&bare, "main"), before);
    // The rejected objects stayed in git's quarantine and were thrown away.
    assert!(
        !has_object(&bare, &id),
        "rejected commit must not enter the repository"
    );
}

#[test]
fn unknown_key_is_rejected() {
    let (_w, _bare, c, _d) = world();
    c.commit("a.txt", "alice@example.org", Sign::Ssh("mallory"));
    let p = c.push(&["origin", "main"]);
    assert!(!p.ok);
    assert!(p.flat().contains("required_signatures"), "{}", p.text);
    assert!(
        p.flat().contains("not in the policy") || p.flat().contains("unknown"),
        "{}",
        p.text
    );
}

#[test]
fn key_of_another_identity_is_rejected() {
    let (_w, _bare, c, d) = world();
    // Committed as alice, signed with bob's key.
    c.commit("a.txt", "alice@example.org", Sign::Ssh("bob"));
    let p = c.push(&["origin", "main"]);
    assert!(!p.ok);
    assert!(p.flat().contains("signed with bob's key"), "{}", p.text);
    assert!(
        p.flat().contains("<alice@example.org> belongs to alice"),
        "{}",
        p.text
    );
    let last = d.audit().pop().expect("logged");
    assert_eq!(last["violations"][0]["code"], "identity_mismatch");
}

#[test]
fn one_bad_commit_among_good_ones_rejects_the_push() {
    let (_w, _bare, c, _d) = world();
    c.commit("a.txt", "alice@example.org", Sign::Ssh("alice"));
    let bad = c.commit("b.txt", "alice@example.org", Sign::Unsigned);
    c.commit("c.txt", "alice@example.org", Sign::Ssh("alice"));
    let p = c.push(&["origin", "main"]);
    assert!(!p.ok);
    assert!(p.flat().contains(&bad[..10]), "{}", p.text);
    assert!(p.flat().contains("1 policy violation"), "{}", p.text);
}

#[test]
fn sha256_repositories_work() {
    let w = World::new();
    let (bare, c) = w.seed("sha", "sha256");
    let policy = w.policy("", STANDARD_RULESETS);
    let d = Daemon::start(&w, Some(&policy), &[&bare]);
    let id = c.commit("a.txt", "alice@example.org", Sign::Ssh("alice"));
    assert_eq!(id.len(), 64);
    let p = c.push(&["origin", "main"]);
    assert!(p.ok, "{}\n{}", p.text, d.log_text());
    let bad = c.commit("a.txt", "alice@example.org", Sign::Unsigned);
    let p = c.push(&["origin", "main"]);
    assert!(!p.ok);
    assert!(p.flat().contains(&bad[..10]), "{}", p.text);
    c.git(&["reset", "-q", "--hard", &id]);
    c.commit("b.txt", "alice@example.org", Sign::Gpg);
    let p = c.push(&["origin", "main"]);
    assert!(p.ok, "openpgp in sha256: {}", p.text);
}

#[test]
fn keys_can_come_from_a_git_allowed_signers_file() {
    let w = World::new();
    let (bare, c) = w.seed("app", "sha1");
    // carol's key only in allowed_signers, with git's options; bob's only for another namespace.
    std::fs::write(
        w.path().join("allowed_signers"),
        format!(
            "# migrated from gpg.ssh.allowedSignersFile\ncarol@example.org namespaces=\"git\" {}\n\"bob@example.org\" namespaces=\"file\" {}\n",
            w.ssh_public("carol"),
            w.ssh_public("bob")
        ),
    )
    .expect("write");
    let policy = w.path().join("policy.yaml");
    std::fs::write(
        &policy,
        format!(
            "version: 1\nallowed_signers: allowed_signers\nidentities:\n  carol: {{emails: [carol@example.org]}}\n  bob: {{emails: [bob@example.org]}}\npusher: {{env: [PUSHGUARD_USER]}}\nrulesets:\n{}",
            "  - {name: signed, target: branch, include: [main], rules: {required_signatures: {}}}\n"
        ),
    )
    .expect("write");
    let d = Daemon::start(&w, Some(&policy), &[&bare]);
    c.commit("a.txt", "carol@example.org", Sign::Ssh("carol"));
    let p = c.push(&["origin", "main"]);
    assert!(p.ok, "{}\n{}", p.text, d.log_text());
    c.commit("b.txt", "bob@example.org", Sign::Ssh("bob"));
    let p = c.push(&["origin", "main"]);
    assert!(
        !p.ok,
        "bob's key is only allowed for another namespace: {}",
        p.text
    );
}

#[test]
fn ssh_certificates_from_a_trusted_ca() {
    let w = World::new();
    let (bare, c) = w.seed("app", "sha1");
    let keys = w.path().join("keys");
    let run = |args: &[&str]| {
        let out = std::process::Command::new("ssh-keygen")
            .args(args)
            .current_dir(&keys)
            .output()
            .expect("ssh-keygen");
        assert!(
            out.status.success(),
            "ssh-keygen {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&[
        "-q",
        "-t",
        "ed25519",
        "-N",
        "",
        "-C",
        "test-only CA",
        "-f",
        "ca",
    ]);
    // carol's key certified for principal "carol.c"; bob's for a principal nobody has; dave's expired.
    run(&[
        "-q",
        "-s",
        "ca",
        "-I",
        "carol",
        "-n",
        "carol.c",
        "carol.pub",
    ]);
    run(&["-q", "-s", "ca", "-I", "bob", "-n", "nobody", "bob.pub"]);
    run(&["-q", "-t", "ed25519", "-N", "", "-f", "dave"]);
    run(&[
        "-q",
        "-s",
        "ca",
        "-I",
        "dave",
        "-n",
        "dave",
        "-V",
        "20200101:20200102",
        "dave.pub",
    ]);
    let ca = std::fs::read_to_string(keys.join("ca.pub"))
        .expect("ca")
        .trim()
        .to_string();
    let policy = w.path().join("policy.yaml");
    std::fs::write(
        &policy,
        format!(
            "version: 1\ntrust:\n  ssh_cas:\n    - key: \"{ca}\"\n      principals: \"carol.c,dave,nobody\"\nidentities:\n  carol: {{emails: [carol@example.org], ssh_principals: [carol.c]}}\n  dave: {{emails: [dave@example.org], ssh_principals: [dave]}}\n  bob: {{emails: [bob@example.org]}}\npusher: {{env: [PUSHGUARD_USER]}}\nrulesets:\n  - {{name: signed, target: branch, include: [main], rules: {{required_signatures: {{}}}}}}\n"
        ),
    )
    .expect("write");
    let d = Daemon::start(&w, Some(&policy), &[&bare]);
    c.commit("a.txt", "carol@example.org", Sign::Ssh("carol-cert.pub"));
    let p = c.push(&["origin", "main"]);
    assert!(
        p.ok,
        "a certificate from the trusted CA: {}\n{}",
        p.text,
        d.log_text()
    );
    c.commit("b.txt", "bob@example.org", Sign::Ssh("bob-cert.pub"));
    let p = c.push(&["origin", "main"]);
    assert!(!p.ok, "its principal names no identity: {}", p.text);
    c.git(&["reset", "-q", "--hard", "HEAD~1"]);
    c.commit("c.txt", "dave@example.org", Sign::Ssh("dave-cert.pub"));
    let p = c.push(&["origin", "main"]);
    assert!(!p.ok, "expired certificate: {}", p.text);
    assert!(p.flat().contains("required_signatures"), "{}", p.text);
}

/// `trust.ssh_revoked`: an OpenSSH KRL (git's `gpg.ssh.revocationFile`). Revoking a key in it
/// takes effect on the next push, without a restart, and names the key and the file.
#[test]
fn keys_revoked_in_a_krl_are_refused_after_the_file_changes() {
    let w = World::new();
    let (bare, c) = w.seed("krl", "sha1");
    let krl = w.path().join("revoked.krl");
    let make_krl = |keys: &[&str]| {
        let _ = std::fs::remove_file(&krl);
        let mut cmd = std::process::Command::new("ssh-keygen");
        cmd.arg("-k").arg("-f").arg(&krl);
        for k in keys {
            cmd.arg(w.key(&format!("{k}.pub")));
        }
        let out = cmd.output().expect("ssh-keygen -k");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    make_krl(&["mallory"]);
    let policy = w.policy("trust:\n  ssh_revoked: [revoked.krl]", STANDARD_RULESETS);
    let d = Daemon::start(&w, Some(&policy), &[&bare]);
    c.commit("a.txt", "alice@example.org", Sign::Ssh("alice"));
    let p = c.push(&["origin", "main"]);
    assert!(p.ok, "{}\n{}", p.text, d.log_text());

    // Give the new file a later mtime than the one the daemon loaded.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    make_krl(&["mallory", "alice"]);
    let start = std::time::Instant::now();
    while d.log_text().matches("policy reloaded").count() == 0 {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(10),
            "the KRL change was not picked up:\n{}",
            d.log_text()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let id = c.commit("b.txt", "alice@example.org", Sign::Ssh("alice"));
    let p = c.push(&["origin", "main"]);
    assert!(!p.ok, "{}", p.text);
    assert!(p.flat().contains("is revoked"), "{}", p.text);
    assert!(p.flat().contains("revoked.krl"), "{}", p.text);
    assert_ne!(rev(&bare, "main").as_deref(), Some(id.as_str()));
}

/// Issue 11, the push path. The real web-flow commits cannot be pushed (their trees and parents
/// are not in the test data; a pack needs them), so the same encoding is made here: alice gets
/// an RSA signing subkey, signs a commit with it through git and gpg, and the signature's MPI is
/// re-encoded as some of GitHub's are — a leading zero octet, the bit count raised to match. The
/// signed bytes do not change, so git + gpg still say G; the daemon must accept it, and refuse
/// the same commit with one bit of the signature value flipped.
#[test]
fn non_canonical_rsa_mpi_is_accepted_as_gpg_accepts_it() {
    let w = World::new();
    let gpg = |args: &[&str]| {
        let out = std::process::Command::new("gpg")
            .envs(w.env())
            .args([
                "--batch",
                "--quiet",
                "--pinentry-mode",
                "loopback",
                "--passphrase",
                "",
            ])
            .args(args)
            .output()
            .expect("gpg runs");
        assert!(
            out.status.success(),
            "gpg {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    gpg(&[
        "--quick-add-key",
        &w.gpg_fingerprint(),
        "rsa2048",
        "sign",
        "never",
    ]);
    let cert = gpg(&["--armor", "--export", "alice@example.org"]);
    std::fs::write(w.key("alice.asc"), cert).expect("re-export alice's certificate");
    let (bare, c) = w.seed("app", "sha1");
    let policy = w.policy("", STANDARD_RULESETS);
    let d = Daemon::start(&w, Some(&policy), &[&bare]);

    let signed = c.commit("a.txt", "alice@example.org", Sign::Gpg);
    let raw = raw_object(&w, &c, &signed);
    let odd = with_reencoded_mpi(&raw, false);
    let odd_id = write_commit(&c, &odd);
    assert_eq!(c.git(&["log", "--no-walk", "--format=%G?", &odd_id]), "G");
    let flipped = write_commit(&c, &with_reencoded_mpi(&raw, true));
    assert_eq!(c.git(&["log", "--no-walk", "--format=%G?", &flipped]), "B");

    c.git(&["update-ref", "refs/heads/main", &flipped]);
    let p = c.push(&["origin", "main"]);
    assert!(!p.ok, "a flipped signature value is bad: {}", p.text);
    assert!(p.flat().contains(&flipped[..10]), "{}", p.text);

    c.git(&["update-ref", "refs/heads/main", &odd_id]);
    let p = c.push(&["origin", "main"]);
    assert!(p.ok, "{}\n{}", p.text, d.log_text());
    assert_eq!(rev(&bare, "main").as_deref(), Some(odd_id.as_str()));
}

/// `git cat-file commit ID`, byte for byte.
fn raw_object(w: &World, c: &Client, id: &str) -> Vec<u8> {
    let out = std::process::Command::new("git")
        .args(["cat-file", "commit", id])
        .current_dir(&c.dir)
        .envs(w.env())
        .output()
        .expect("git cat-file");
    assert!(out.status.success());
    out.stdout
}

/// `git hash-object -t commit -w` of `raw`.
fn write_commit(c: &Client, raw: &[u8]) -> String {
    let file = c.dir.join(".git").join("reencoded");
    std::fs::write(&file, raw).expect("write");
    c.git(&[
        "hash-object",
        "-t",
        "commit",
        "-w",
        &file.display().to_string(),
    ])
}

/// The commit with its gpgsig's RSA MPI re-encoded: one leading zero octet and the bit count
/// raised by 8; with `flip`, also the value's last bit flipped.
fn with_reencoded_mpi(raw: &[u8], flip: bool) -> Vec<u8> {
    let text = String::from_utf8(raw.to_vec()).expect("utf8 commit");
    let (head, rest) = text.split_once("gpgsig ").expect("signed");
    let end = rest.find("-----END PGP SIGNATURE-----").expect("armor end");
    let block = &rest[..end];
    let after = &rest[end + "-----END PGP SIGNATURE-----\n".len()..];
    // The base64 lines: after the blank line, before the checksum.
    let b64: String = block
        .lines()
        .skip(1)
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('='))
        .collect();
    let packet = base64_decode(&b64);
    let (body_start, len) = match packet[0] {
        0x89 => (3, usize::from(u16::from_be_bytes([packet[1], packet[2]]))),
        0xc2 => (
            3,
            ((usize::from(packet[1]) - 192) << 8) + usize::from(packet[2]) + 192,
        ),
        b => panic!("unexpected packet header {b:#x}"),
    };
    let body = &packet[body_start..body_start + len];
    assert_eq!((body[0], body[2]), (4, 1), "a v4 RSA signature");
    let hashed = usize::from(u16::from_be_bytes([body[4], body[5]]));
    let at = 6 + hashed;
    let unhashed = usize::from(u16::from_be_bytes([body[at], body[at + 1]]));
    let mpi = at + 2 + unhashed + 2;
    let bits = u16::from_be_bytes([body[mpi], body[mpi + 1]]) + 8;
    let mut value = vec![0u8];
    value.extend_from_slice(&body[mpi + 2..]);
    if flip {
        let last = value.len() - 1;
        value[last] ^= 1;
    }
    let mut new_body = body[..mpi].to_vec();
    new_body.extend_from_slice(&bits.to_be_bytes());
    new_body.extend_from_slice(&value);
    let l = new_body.len() - 192;
    let mut out = vec![
        0xc2,
        u8::try_from((l >> 8) + 192).expect("fits"),
        (l & 0xff) as u8,
    ];
    out.extend_from_slice(&new_body);
    // The armor checksum is optional (RFC 9580 §6.1); gpg and pushguard read it without.
    let mut sig = String::from("gpgsig -----BEGIN PGP SIGNATURE-----\n \n");
    for chunk in base64_encode(&out).as_bytes().chunks(64) {
        sig.push_str(&format!(" {}\n", String::from_utf8_lossy(chunk)));
    }
    sig.push_str(" -----END PGP SIGNATURE-----\n");
    format!("{head}{sig}{after}").into_bytes()
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn base64_decode(s: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let (mut acc, mut n) = (0u32, 0);
    for c in s.bytes().filter(|&c| c != b'=') {
        let v = B64.iter().position(|&b| b == c).expect("base64") as u32;
        acc = (acc << 6) | v;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((acc >> n) as u8);
            acc &= (1 << n) - 1;
        }
    }
    out
}

fn base64_encode(data: &[u8]) -> String {
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let v = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[((v >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
