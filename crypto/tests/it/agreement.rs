//! The interoperability matrix (issue 11): signatures made at test time by the real tools (gpg,
//! ssh-keygen, gpgsm, through `git commit -S` / `git tag -s`), and for each one git's class
//! (`git log --format=%G?`, or the exit of `git verify-tag` for tags) beside ours
//! ([`crypto::git_letter`] of [`Keyring::verify`] at the current time).
//!
//! Every row must agree, letter for letter, except the rows that name a deliberate difference
//! and its reason; the test fails on any other difference, and on a "deliberate" row that
//! happens to agree (the documentation would be wrong). The OpenPGP keys are generated in the
//! signer's GnuPG home, so gpg trusts them ultimately and git prints G (not U) for good ones.

use std::path::Path;

use crypto::{git_letter, Keyring};
use rules::facts::KeyVerdict;

use crate::git::{git_status, split_commit, split_tag, Repo};
use crate::util::{now, Gpg, Pki, SshKey};

/// Why pushguard deliberately says something else than git.
const RECEIVE_TIME: &str = "receive-time expiry: git judges an SSH key's validity window at the \
                            committer date the signer wrote; pushguard at the time it receives the object";
const IDENTITY: &str = "identity binding: gpgsm checks the chain, not whose certificate; \
                        pushguard requires the email to belong to an identity of the policy";
const SHA1: &str = "hash policy: GnuPG 2.2 still accepts SHA-1 data signatures; pushguard refuses \
                    them (collision attacks) unless the policy's sha1_cutoff dates them earlier";
const UNTRUSTED: &str = "a signer outside the trust: git prints U (good, validity unknown) when \
                         the tool can check the signature with the key or certificate it carries \
                         (ssh-keygen check-novalidate for a key allowed_signers does not list, \
                         gpgsm for a chain to no trusted root); pushguard checks no signature by \
                         a key outside the policy and says unknown_key: E, as gpg does for a \
                         missing OpenPGP key";

/// One signature of the matrix.
struct Row {
    name: String,
    /// git's letter; for tags G when `git verify-tag` succeeds, else `-`.
    git: char,
    ours: char,
    verdict: KeyVerdict,
    /// `Some(reason)`: a documented, deliberate difference.
    differs: Option<&'static str>,
}

/// Commits (or tags, when `tag` is set) with `config`, returns the object id.
fn sign(
    repo: &Repo,
    config: &[String],
    home: Option<&Path>,
    what: &str,
    tag: Option<&str>,
) -> String {
    let mut args: Vec<&str> = Vec::new();
    for c in config {
        args.extend(["-c", c.as_str()]);
    }
    match tag {
        None => args.extend(["commit", "-q", "-S", "--allow-empty", "-m", what]),
        Some(name) => args.extend(["tag", "-s", "-m", what, name]),
    }
    repo.git(&args, home);
    let rev = tag.unwrap_or("HEAD");
    String::from_utf8(repo.git(&["rev-parse", rev], None))
        .expect("utf8")
        .trim()
        .to_owned()
}

/// The same commit with its message changed (signature kept): a forgery.
fn forge(repo: &Repo, id: &str) -> String {
    let raw = String::from_utf8(repo.cat(id)).expect("utf8");
    let forged = raw.replacen("\n\n", "\n\nforged: ", 1);
    assert_ne!(raw, forged);
    repo.write_object("commit", forged.as_bytes())
}

/// The same commit with another signature block in its `gpgsig` header.
fn resign(repo: &Repo, id: &str, armored: &[u8]) -> String {
    let raw = String::from_utf8(repo.cat(id)).expect("utf8");
    let mut out = String::new();
    let mut in_sig = false;
    let mut done = false;
    for line in raw.split_inclusive('\n') {
        if !done && line.starts_with("gpgsig ") {
            in_sig = true;
            let text = std::str::from_utf8(armored).expect("armor is ASCII");
            let mut lines = text.trim_end().split('\n');
            out.push_str(&format!("gpgsig {}\n", lines.next().expect("a line")));
            for l in lines {
                out.push_str(&format!(" {l}\n"));
            }
            continue;
        }
        if in_sig && line.starts_with(' ') {
            continue;
        }
        if in_sig {
            in_sig = false;
            done = true;
        }
        out.push_str(line);
    }
    assert!(done, "{id} has a gpgsig header");
    repo.write_object("commit", out.as_bytes())
}

/// How an MPI of the signature value is re-encoded.
#[derive(Clone, Copy)]
enum Mpi {
    /// `n` zero octets before the value, the bit count raised by `8 * n` (GnuPG-style readers
    /// keep the value; the count says more bits than the value has).
    LeadingZeros(usize),
    /// Canonical, but one bit of the value flipped: a bad signature.
    FlipBit,
}

/// The first signature packet of `armored`, with its (single, RSA) MPI re-encoded, re-armored.
/// Written independently of the crate's normaliser: it walks the v4 packet by hand.
fn reencode(armored: &[u8], how: Mpi) -> Vec<u8> {
    use sequoia_openpgp::armor;
    use std::io::{Read, Write};
    let mut binary = Vec::new();
    armor::Reader::from_bytes(armored, armor::ReaderMode::Tolerant(None))
        .read_to_end(&mut binary)
        .expect("armor");
    // gpg writes an old-format header (tag 2, two-octet length) or a new-format one.
    let (body_start, len) = match binary[0] {
        0x89 => (3, usize::from(u16::from_be_bytes([binary[1], binary[2]]))),
        0x88 => (2, usize::from(binary[1])),
        0xc2 if binary[1] < 192 => (2, usize::from(binary[1])),
        0xc2 if binary[1] < 224 => (
            3,
            ((usize::from(binary[1]) - 192) << 8) + usize::from(binary[2]) + 192,
        ),
        b => panic!("unexpected packet header {b:#x}"),
    };
    let body = &binary[body_start..body_start + len];
    assert_eq!(body[0], 4, "a v4 signature");
    assert_eq!(body[2], 1, "made with RSA");
    let hashed = usize::from(u16::from_be_bytes([body[4], body[5]]));
    let at = 6 + hashed;
    let unhashed = usize::from(u16::from_be_bytes([body[at], body[at + 1]]));
    let mpi_at = at + 2 + unhashed + 2;
    let bits = u16::from_be_bytes([body[mpi_at], body[mpi_at + 1]]);
    let mut value = body[mpi_at + 2..].to_vec();
    let bits = match how {
        Mpi::LeadingZeros(n) => {
            value.splice(0..0, std::iter::repeat_n(0u8, n));
            bits + 8 * u16::try_from(n).expect("small")
        }
        Mpi::FlipBit => {
            let last = value.len() - 1;
            value[last] ^= 0x01;
            bits
        }
    };
    let mut new_body = body[..mpi_at].to_vec();
    new_body.extend_from_slice(&bits.to_be_bytes());
    new_body.extend_from_slice(&value);
    let mut packet = vec![0xc2];
    let l = new_body.len();
    assert!((192..8384).contains(&l));
    packet.push(u8::try_from(((l - 192) >> 8) + 192).expect("fits"));
    packet.push(u8::try_from((l - 192) & 0xff).expect("fits"));
    packet.extend_from_slice(&new_body);
    packet.extend_from_slice(&binary[body_start + len..]);
    let mut out = Vec::new();
    let mut w = armor::Writer::new(&mut out, armor::Kind::Signature).expect("armor writer");
    w.write_all(&packet).expect("armor");
    w.finalize().expect("armor");
    out
}

/// Whether Sequoia's parser, without our normalisation, reads the signature packet.
fn sequoia_reads(armored: &[u8]) -> bool {
    use sequoia_openpgp::parse::Parse;
    use sequoia_openpgp::{armor, Packet, PacketPile};
    use std::io::Read;
    let mut binary = Vec::new();
    armor::Reader::from_bytes(armored, armor::ReaderMode::Tolerant(None))
        .read_to_end(&mut binary)
        .expect("armor");
    PacketPile::from_bytes(&binary)
        .is_ok_and(|p| p.children().all(|p| matches!(p, Packet::Signature(_))))
}

/// The matrix under construction: one repository, rows added as signatures are made.
struct Matrix {
    repo: Repo,
    rows: Vec<Row>,
}

impl Matrix {
    /// A commit: git's `%G?` beside ours.
    fn commit(
        &mut self,
        name: &str,
        config: &[String],
        home: Option<&Path>,
        keyring: &Keyring,
        id: &str,
        differs: Option<&'static str>,
    ) {
        let git = git_status(&self.repo, config, home, id);
        let (sig, payload) = split_commit(&self.repo.cat(id));
        let check = keyring.verify(&sig, &payload, now());
        self.rows.push(Row {
            name: name.to_owned(),
            git: git.letter,
            ours: git_letter(&check),
            verdict: check.verdict,
            differs,
        });
    }

    /// A commit signed by `s`, judged with its own home and keyring.
    fn pgp_commit(&mut self, name: &str, s: &PgpSigner, id: &str, differs: Option<&'static str>) {
        self.commit(
            name,
            &s.config(),
            Some(s.gpg.home()),
            &s.keyring(),
            id,
            differs,
        );
    }

    /// A tag: `git verify-tag` succeeds (G) or not (-), beside ours.
    fn tag(
        &mut self,
        name: &str,
        config: &[String],
        home: Option<&Path>,
        keyring: &Keyring,
        id: &str,
    ) {
        let mut args: Vec<&str> = Vec::new();
        for c in config {
            args.extend(["-c", c.as_str()]);
        }
        args.extend(["verify-tag", id]);
        let git = if self.repo.ok(&args, home) { 'G' } else { '-' };
        let (sig, payload) = split_tag(&self.repo.cat(id));
        let check = keyring.verify(&sig, &payload, now());
        self.rows.push(Row {
            name: name.to_owned(),
            git,
            ours: git_letter(&check),
            verdict: check.verdict,
            differs: None,
        });
    }
}

fn identity_of(principal: &str) -> Option<String> {
    principal.strip_suffix("@example.com").map(str::to_owned)
}

/// 2026-09-20 09:46 UTC, a day before the pinned committer date (1790000000).
const PAST: &str = "1789900000";
/// The pinned committer date, as a signing time.
const SIGNED: &str = "1790000000";

/// An OpenPGP signer in its own GnuPG home, and a keyring holding its certificate.
struct PgpSigner {
    gpg: Gpg,
    fpr: String,
}

impl PgpSigner {
    fn new(uid: &str, algo: &str) -> PgpSigner {
        let gpg = Gpg::new();
        let fpr = gpg.generate(uid, algo, "sign");
        PgpSigner { gpg, fpr }
    }

    fn config(&self) -> Vec<String> {
        vec![format!("user.signingkey={}", self.fpr)]
    }

    fn keyring(&self) -> Keyring {
        let mut keyring = Keyring::new();
        keyring
            .add_openpgp_cert("alice", &self.gpg.export(&[&self.fpr]))
            .expect("cert");
        keyring
    }

    /// A signed commit with this key (see [`sign`]).
    fn sign(&self, repo: &Repo, what: &str) -> String {
        sign(repo, &self.config(), Some(self.gpg.home()), what, None)
    }
}

#[test]
fn our_verdicts_agree_with_git() {
    let mut m = Matrix {
        repo: Repo::new(),
        rows: Vec::new(),
    };

    // --- OpenPGP (gpg) -------------------------------------------------------------------
    for algo in [
        "rsa2048", "rsa3072", "rsa4096", "ed25519", "nistp256", "nistp384",
    ] {
        let s = PgpSigner::new("Alice <alice@example.com>", algo);
        let home = Some(s.gpg.home());
        let keyring = s.keyring();
        let id = sign(&m.repo, &s.config(), home, &format!("pgp {algo}"), None);
        m.commit(&format!("openpgp {algo}"), &[], home, &keyring, &id, None);
        let forged = forge(&m.repo, &id);
        m.commit(
            &format!("openpgp {algo} forged"),
            &[],
            home,
            &keyring,
            &forged,
            None,
        );
        if algo == "rsa2048" {
            let tag = sign(&m.repo, &s.config(), home, "pgp tag", Some("pgp-v1"));
            m.tag("openpgp tag", &[], home, &keyring, &tag);

            // Non-canonical MPI encodings of the same signature, made here by hand: git + gpg
            // read them, so must we; Sequoia alone does not.
            let (sig, _) = split_commit(&m.repo.cat(&id));
            for (label, how) in [
                ("one leading zero octet", Mpi::LeadingZeros(1)),
                ("two leading zero octets", Mpi::LeadingZeros(2)),
            ] {
                let odd = reencode(&sig, how);
                assert!(!sequoia_reads(&odd), "{label}: Sequoia alone reads it");
                let odd_id = resign(&m.repo, &id, &odd);
                m.commit(
                    &format!("openpgp MPI {label}"),
                    &[],
                    home,
                    &keyring,
                    &odd_id,
                    None,
                );
                let bad = reencode(&odd, Mpi::FlipBit);
                let bad_id = resign(&m.repo, &id, &bad);
                m.commit(
                    &format!("openpgp MPI {label}, value flipped"),
                    &[],
                    home,
                    &keyring,
                    &bad_id,
                    None,
                );
            }
            let flipped = resign(&m.repo, &id, &reencode(&sig, Mpi::FlipBit));
            m.commit(
                "openpgp MPI value flipped",
                &[],
                home,
                &keyring,
                &flipped,
                None,
            );
        }
    }

    // A signing subkey under a certification-only primary key.
    let gpg = Gpg::new();
    let fpr = gpg.generate_with("Alice <alice@example.com>", "ed25519", "cert", "never", &[]);
    gpg.add_subkey(&fpr, "ed25519", "sign", "never", &[]);
    let s = PgpSigner { gpg, fpr };
    let id = s.sign(&m.repo, "pgp subkey");
    m.pgp_commit("openpgp signing subkey", &s, &id, None);

    // Unknown key: a signer the verifier's home and keyring do not hold.
    let alice = PgpSigner::new("Alice <alice@example.com>", "ed25519");
    let mallory = PgpSigner::new("Mallory <mallory@example.com>", "ed25519");
    let id = mallory.sign(&m.repo, "pgp unknown");
    m.pgp_commit("openpgp unknown key", &alice, &id, None);

    // Expired: a key made in the past for two days, used then; judged now by both.
    let past = ["--faked-system-time", PAST];
    let gpg = Gpg::new();
    let fpr = gpg.generate_with("Alice <alice@example.com>", "ed25519", "sign", "2d", &past);
    let s = PgpSigner { gpg, fpr };
    s.gpg.set_conf(&format!("faked-system-time {SIGNED}\n"));
    let id = s.sign(&m.repo, "pgp expired key");
    s.gpg.set_conf("");
    m.pgp_commit("openpgp key expired since", &s, &id, None);

    // Expired signing subkey.
    let gpg = Gpg::new();
    let fpr = gpg.generate_with(
        "Alice <alice@example.com>",
        "ed25519",
        "cert",
        "never",
        &past,
    );
    gpg.add_subkey(&fpr, "ed25519", "sign", "2d", &past);
    let s = PgpSigner { gpg, fpr };
    s.gpg.set_conf(&format!("faked-system-time {SIGNED}\n"));
    let id = s.sign(&m.repo, "pgp expired subkey");
    s.gpg.set_conf("");
    m.pgp_commit("openpgp subkey expired since", &s, &id, None);

    // An expired signature (the signature's own expiry, one day).
    let gpg = Gpg::new();
    let fpr = gpg.generate_with(
        "Alice <alice@example.com>",
        "ed25519",
        "sign",
        "never",
        &past,
    );
    let s = PgpSigner { gpg, fpr };
    s.gpg.set_conf(&format!(
        "faked-system-time {SIGNED}\ndefault-sig-expire 1d\n"
    ));
    let id = s.sign(&m.repo, "pgp expired signature");
    s.gpg.set_conf("");
    m.pgp_commit("openpgp signature expired", &s, &id, None);

    // Revoked key (gpg's own revocation certificate), and a revoked signing subkey.
    let s = PgpSigner::new("Alice <alice@example.com>", "ed25519");
    let id = s.sign(&m.repo, "pgp revoked");
    s.gpg.revoke(&s.fpr);
    m.pgp_commit("openpgp key revoked", &s, &id, None);
    let gpg = Gpg::new();
    let fpr = gpg.generate_with("Alice <alice@example.com>", "ed25519", "cert", "never", &[]);
    gpg.add_subkey(&fpr, "ed25519", "sign", "never", &[]);
    let s = PgpSigner { gpg, fpr };
    let id = s.sign(&m.repo, "pgp revoked subkey");
    s.gpg.revoke_first_subkey(&s.fpr);
    m.pgp_commit("openpgp subkey revoked", &s, &id, None);

    // SHA-1: GnuPG still says good; the policy refuses it, unless dated before a cutoff.
    let s = PgpSigner::new("Alice <alice@example.com>", "rsa2048");
    s.gpg.set_conf("digest-algo SHA1\n");
    let id = s.sign(&m.repo, "pgp sha1");
    s.gpg.set_conf("");
    m.pgp_commit("openpgp SHA-1", &s, &id, Some(SHA1));
    let mut lenient = s.keyring();
    lenient.set_sha1_cutoff(Some(now() + 86_400));
    m.commit(
        "openpgp SHA-1 before sha1_cutoff",
        &[],
        Some(s.gpg.home()),
        &lenient,
        &id,
        None,
    );

    // --- SSH (ssh-keygen) ----------------------------------------------------------------
    let alice = SshKey::generate("ed25519", None);
    let ecdsa = SshKey::generate("ecdsa", Some(256));
    let rsa = SshKey::generate("rsa", Some(3072));
    let carol = SshKey::generate("ed25519", None);
    let bob = SshKey::generate("ed25519", None);
    let ca = SshKey::generate("ed25519", None);
    let dave = SshKey::generate("ed25519", None);
    dave.certify(&ca, "dave@example.com", &[]);
    // Carol's key expired on 2026-10-01: after the fixed committer date (2026-09-21), before
    // any receive time of these tests.
    let allowed = format!(
        "alice@example.com {}\necdsa@example.com {}\nrsa@example.com {}\ncarol@example.com valid-before=\"20261001Z\" {}\n*@example.com cert-authority {}\n",
        alice.public, ecdsa.public, rsa.public, carol.public, ca.public
    );
    let allowed_file = m.repo.dir.path().join(".git").join("allowed_signers");
    std::fs::write(&allowed_file, &allowed).expect("allowed_signers");
    let mut keyring = Keyring::new();
    keyring
        .add_allowed_signers(&allowed, identity_of)
        .expect("allowed_signers");
    let verify_cfg = vec![format!(
        "gpg.ssh.allowedSignersFile={}",
        allowed_file.display()
    )];
    let ssh_cfg = |key: &Path| {
        vec![
            "gpg.format=ssh".to_owned(),
            format!("user.signingkey={}", key.display()),
        ]
    };
    let pubkey = |k: &SshKey| k.private.with_extension("pub");

    for (label, key) in [
        ("ed25519", &alice),
        ("ecdsa-p256", &ecdsa),
        ("rsa-sha2-512", &rsa),
    ] {
        let id = sign(
            &m.repo,
            &ssh_cfg(&pubkey(key)),
            None,
            &format!("ssh {label}"),
            None,
        );
        m.commit(
            &format!("ssh {label}"),
            &verify_cfg,
            None,
            &keyring,
            &id,
            None,
        );
        let forged = forge(&m.repo, &id);
        m.commit(
            &format!("ssh {label} forged"),
            &verify_cfg,
            None,
            &keyring,
            &forged,
            None,
        );
    }
    let id = sign(
        &m.repo,
        &ssh_cfg(&pubkey(&alice)),
        None,
        "ssh tag",
        Some("ssh-v1"),
    );
    m.tag("ssh tag", &verify_cfg, None, &keyring, &id);
    let id = sign(&m.repo, &ssh_cfg(&pubkey(&bob)), None, "ssh unknown", None);
    m.commit(
        "ssh unknown key",
        &verify_cfg,
        None,
        &keyring,
        &id,
        Some(UNTRUSTED),
    );
    let cert = dave.private.parent().expect("dir").join("key-cert.pub");
    let id = sign(&m.repo, &ssh_cfg(&cert), None, "ssh cert", None);
    m.commit(
        "ssh certificate (cert-authority)",
        &verify_cfg,
        None,
        &keyring,
        &id,
        None,
    );
    let forged = forge(&m.repo, &id);
    m.commit(
        "ssh certificate forged",
        &verify_cfg,
        None,
        &keyring,
        &forged,
        None,
    );
    let id = sign(
        &m.repo,
        &ssh_cfg(&pubkey(&carol)),
        None,
        "ssh expired",
        None,
    );
    m.commit(
        "ssh key expired after commit date",
        &verify_cfg,
        None,
        &keyring,
        &id,
        Some(RECEIVE_TIME),
    );
    // A certificate valid in September 2026 only: git checks it at the committer date.
    let erin = SshKey::generate("ed25519", None);
    erin.certify(&ca, "erin@example.com", &["-V", "20260901:20261001"]);
    let cert = erin.private.parent().expect("dir").join("key-cert.pub");
    let id = sign(&m.repo, &ssh_cfg(&cert), None, "ssh cert expired", None);
    m.commit(
        "ssh cert expired after commit date",
        &verify_cfg,
        None,
        &keyring,
        &id,
        Some(RECEIVE_TIME),
    );

    // --- X.509 (gpgsm) -------------------------------------------------------------------
    let pki = Pki::new("Test Root");
    let user = pki.issue(
        "alice",
        "keyUsage=critical,digitalSignature\nextendedKeyUsage=emailProtection\nsubjectAltName=email:alice@example.com\n",
        10,
    );
    let mut keyring = Keyring::new();
    keyring.add_x509_root(&pki.root_pem).expect("root");
    keyring
        .add_x509_identity("alice", "alice@example.com")
        .expect("identity");
    let home_buf = pki.home();
    let home = Some(home_buf.as_path());
    let cfg = vec![
        "gpg.format=x509".to_owned(),
        format!("user.signingkey={}", user.id),
    ];
    let id = sign(&m.repo, &cfg, home, "x509 good", None);
    m.commit("x509 good", &[], home, &keyring, &id, None);
    let mut nobody = Keyring::new();
    nobody.add_x509_root(&pki.root_pem).expect("root");
    m.commit(
        "x509 email of no identity",
        &[],
        home,
        &nobody,
        &id,
        Some(IDENTITY),
    );
    let forged = forge(&m.repo, &id);
    m.commit("x509 forged", &[], home, &keyring, &forged, None);
    let id = sign(&m.repo, &cfg, home, "x509 tag", Some("x509-v1"));
    m.tag("x509 tag", &[], home, &keyring, &id);
    let other = Pki::new("Other Root");
    let mallory = other.issue(
        "mallory",
        "keyUsage=critical,digitalSignature\nsubjectAltName=email:alice@example.com\n",
        10,
    );
    let other_home = other.home();
    let cfg = vec![
        "gpg.format=x509".to_owned(),
        format!("user.signingkey={}", mallory.id),
    ];
    let id = sign(
        &m.repo,
        &cfg,
        Some(other_home.as_path()),
        "x509 other root",
        None,
    );
    m.commit(
        "x509 untrusted root",
        &[],
        home,
        &keyring,
        &id,
        Some(UNTRUSTED),
    );

    // --- Compare -------------------------------------------------------------------------
    let mut report = String::new();
    let mut failures = Vec::new();
    for r in &m.rows {
        let agrees = r.git == r.ours;
        let outcome = match (agrees, r.differs) {
            (true, None) => "agree".to_owned(),
            (false, Some(why)) => format!(
                "differs: {}",
                why.split_once(':').map_or(why, |(tag, _)| tag)
            ),
            (true, Some(_)) => "AGREES, but documented as a difference".to_owned(),
            (false, None) => "MISMATCH".to_owned(),
        };
        report.push_str(&format!(
            "{:<50} git {}  ours {} {:<18} {outcome}\n",
            r.name,
            r.git,
            r.ours,
            r.verdict.code(),
        ));
        if agrees == r.differs.is_some() {
            failures.push(r.name.clone());
        }
    }
    for why in [RECEIVE_TIME, IDENTITY, SHA1, UNTRUSTED] {
        report.push_str(&format!("\n- {why}"));
    }
    println!("{report}");
    assert!(failures.is_empty(), "disagreements: {failures:?}\n{report}");
    assert_eq!(m.rows.len(), 44, "{report}");
}
