//! Verifications per second on one thread, for the key types pushguard sees most.
//!
//! Run: `cargo bench -p pushguard-crypto --bench verify` (needs `ssh-keygen` for the SSH rows,
//! `openssl` for the X.509 row).
//! Keyring: the measured keys plus 500 unrelated OpenPGP certificates.
//!
//! OpenPGP rows verify 1,000 *distinct* signatures (distinct payloads) once each: Sequoia keeps a
//! process-wide cache of good signatures, so verifying one signature again measures the cache,
//! which is shown in the "again" column. SSH rows (ssh-key has no cache) verify one signature in
//! a loop for about two seconds.

use std::io::Write;
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crypto::Keyring;
use rules::facts::KeyVerdict;
use sequoia_openpgp as openpgp;

use openpgp::armor;
use openpgp::cert::prelude::*;
use openpgp::policy::StandardPolicy;
use openpgp::serialize::stream::{Armorer, Message, Signer};
use openpgp::serialize::SerializeInto;

const PAYLOAD: &[u8] = b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n\
parent 1f7a7a472abf3dd9643fd615f6da379c4acb3e3a\n\
author Alice <alice@example.com> 1790000000 +0000\n\
committer Alice <alice@example.com> 1790000000 +0000\n\
\n\
Add the thing\n\nA body that is a few lines long, as commit messages tend to be.\n";

fn now() -> i64 {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970");
    i64::try_from(d.as_secs()).expect("fits")
}

const DISTINCT: usize = 1000;

fn payload(i: usize) -> Vec<u8> {
    let mut p = PAYLOAD.to_vec();
    p.extend_from_slice(format!("Change-Id: {i}\n").as_bytes());
    p
}

/// Adds a fresh cert to the keyring and returns `n` signatures over `payload(0..n)`.
fn openpgp_case(
    keyring: &mut Keyring,
    identity: &str,
    suite: CipherSuite,
    n: usize,
) -> Vec<Vec<u8>> {
    let (cert, _) =
        CertBuilder::general_purpose(Some(format!("{identity} <{identity}@example.com>")))
            .set_cipher_suite(suite)
            .set_creation_time(SystemTime::now() - Duration::from_secs(86_400))
            .generate()
            .expect("cert");
    keyring
        .add_openpgp_cert(identity, &cert.armored().to_vec().expect("serialize"))
        .expect("add");
    let p = StandardPolicy::new();
    let keypair = cert
        .keys()
        .with_policy(&p, None)
        .for_signing()
        .secret()
        .next()
        .expect("signing key")
        .key()
        .clone()
        .into_keypair()
        .expect("keypair");
    (0..n)
        .map(|i| {
            let mut out = Vec::new();
            let m = Armorer::new(Message::new(&mut out))
                .kind(armor::Kind::Signature)
                .build()
                .expect("armor");
            let mut s = Signer::new(m, keypair.clone())
                .expect("signer")
                .detached()
                .build()
                .expect("signer");
            s.write_all(&payload(i)).expect("write");
            s.finalize().expect("finalize");
            out
        })
        .collect()
}

fn measure_distinct(name: &str, keyring: &Keyring, sigs: &[Vec<u8>], now: i64) {
    let payloads: Vec<Vec<u8>> = (0..sigs.len()).map(payload).collect();
    let start = Instant::now();
    for (sig, payload) in sigs.iter().zip(&payloads) {
        let check = keyring.verify(sig, payload, now);
        assert_eq!(check.verdict, KeyVerdict::Good, "{name}: {check:?}");
    }
    let first = start.elapsed().as_secs_f64();
    let start = Instant::now();
    for (sig, payload) in sigs.iter().zip(&payloads) {
        std::hint::black_box(keyring.verify(sig, payload, now));
    }
    let again = start.elapsed().as_secs_f64();
    let n = sigs.len() as f64;
    println!(
        "{name:<28} {:>9.0} verifications/s  ({:>7.1} µs each; again, cached: {:.0}/s)",
        n / first,
        first * 1e6 / n,
        n / again
    );
}

fn ssh_case(keyring: &mut Keyring, identity: &str, kind: &str, bits: &str) -> Option<Vec<u8>> {
    let dir = tempfile::tempdir().expect("temp dir");
    let key = dir.path().join("key");
    let ok = Command::new("ssh-keygen")
        .args(["-q", "-t", kind, "-b", bits, "-N", "", "-C", "bench", "-f"])
        .arg(&key)
        .output()
        .ok()?
        .status
        .success();
    if !ok {
        return None;
    }
    let public = std::fs::read_to_string(key.with_extension("pub")).ok()?;
    keyring.add_ssh_key(identity, &public).expect("add");
    let file = dir.path().join("payload");
    std::fs::write(&file, PAYLOAD).ok()?;
    Command::new("ssh-keygen")
        .args(["-Y", "sign", "-n", "git", "-f"])
        .arg(&key)
        .arg(&file)
        .output()
        .ok()?;
    std::fs::read(dir.path().join("payload.sig")).ok()
}

/// An ed25519 user certificate from a CA of `ca_kind`, the CA added to the keyring; returns a
/// signature made with the certificate.
fn ssh_cert_case(keyring: &mut Keyring, ca_kind: &str, ca_bits: &str) -> Option<Vec<u8>> {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    let keygen = |args: &[&str]| {
        Command::new("ssh-keygen")
            .current_dir(d)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
    };
    keygen(&["-q", "-t", ca_kind, "-b", ca_bits, "-N", "", "-f", "ca"])?;
    keygen(&["-q", "-t", "ed25519", "-N", "", "-f", "key"])?;
    keygen(&[
        "-q",
        "-s",
        "ca",
        "-I",
        "bench",
        "-n",
        "alice@example.com",
        "key.pub",
    ])?;
    std::fs::write(d.join("payload"), PAYLOAD).ok()?;
    keygen(&["-Y", "sign", "-n", "git", "-f", "key-cert.pub", "payload"])?;
    let ca = std::fs::read_to_string(d.join("ca.pub")).ok()?;
    keyring
        .add_ssh_ca(&ca, crypto::SshCaOptions::default(), |p| {
            p.strip_suffix("@example.com").map(str::to_owned)
        })
        .expect("CA");
    std::fs::read(d.join("payload.sig")).ok()
}

/// A root, an intermediate-free RSA-2048 user certificate and a detached CMS signature made with
/// `openssl cms -sign` (the same structure gpgsm writes), root and email added to the keyring.
fn x509_case(keyring: &mut Keyring) -> Option<Vec<u8>> {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    let openssl = |args: &[&str]| {
        Command::new("openssl")
            .current_dir(d)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
    };
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=Bench Root",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign",
    ])?;
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "u.key",
        "-out",
        "u.csr",
        "-subj",
        "/CN=Alice",
    ])?;
    std::fs::write(
        d.join("ext"),
        "keyUsage=critical,digitalSignature\nsubjectAltName=email:x509@example.com\n",
    )
    .ok()?;
    openssl(&[
        "x509",
        "-req",
        "-in",
        "u.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "u.pem",
        "-days",
        "1",
        "-extfile",
        "ext",
    ])?;
    std::fs::write(d.join("payload"), PAYLOAD).ok()?;
    let out = openssl(&[
        "cms", "-sign", "-binary", "-outform", "PEM", "-in", "payload", "-signer", "u.pem",
        "-inkey", "u.key",
    ])?;
    keyring
        .add_x509_root(&std::fs::read(d.join("ca.pem")).ok()?)
        .expect("root");
    keyring
        .add_x509_identity("x509", "x509@example.com")
        .expect("identity");
    Some(
        String::from_utf8_lossy(&out.stdout)
            .replace("-----BEGIN CMS-----", "-----BEGIN SIGNED MESSAGE-----")
            .replace("-----END CMS-----", "-----END SIGNED MESSAGE-----")
            .into_bytes(),
    )
}

fn measure(name: &str, keyring: &Keyring, sig: &[u8], now: i64) {
    let check = keyring.verify(sig, PAYLOAD, now);
    assert_eq!(check.verdict, KeyVerdict::Good, "{name}: {check:?}");
    // No cache in ssh-key: the same signature costs the same every time. Warm up, then count for ~2 s.
    for _ in 0..50 {
        std::hint::black_box(keyring.verify(sig, PAYLOAD, now));
    }
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < Duration::from_secs(2) {
        for _ in 0..50 {
            std::hint::black_box(keyring.verify(std::hint::black_box(sig), PAYLOAD, now));
        }
        n += 50;
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{name:<28} {:>9.0} verifications/s  ({:>7.1} µs each)",
        n as f64 / secs,
        secs * 1e6 / n as f64
    );
}

fn main() {
    let mut keyring = Keyring::new();
    let load = Instant::now();
    for i in 0..500 {
        openpgp_case(&mut keyring, &format!("filler{i}"), CipherSuite::Cv25519, 0);
    }
    println!(
        "generated and loaded 500 filler certs in {:.2} s",
        load.elapsed().as_secs_f64()
    );
    let rsa2k = openpgp_case(&mut keyring, "rsa2k", CipherSuite::RSA2k, DISTINCT);
    let rsa3k = openpgp_case(&mut keyring, "rsa3k", CipherSuite::RSA3k, DISTINCT);
    let ed = openpgp_case(&mut keyring, "ed25519", CipherSuite::Cv25519, DISTINCT);
    let p256 = openpgp_case(&mut keyring, "p256", CipherSuite::P256, DISTINCT);
    let ssh_ed = ssh_case(&mut keyring, "ssh-ed25519", "ed25519", "256");
    let ssh_rsa = ssh_case(&mut keyring, "ssh-rsa", "rsa", "2048");
    let ssh_p256 = ssh_case(&mut keyring, "ssh-p256", "ecdsa", "256");
    let ssh_cert_ed = ssh_cert_case(&mut keyring, "ed25519", "256");
    let ssh_cert_rsa = ssh_cert_case(&mut keyring, "rsa", "3072");
    let x509 = x509_case(&mut keyring);
    // After the X.509 certificate was made: it is valid from its creation second on.
    let t = now() + 1;

    measure_distinct("openpgp rsa2048", &keyring, &rsa2k, t);
    measure_distinct("openpgp rsa3072", &keyring, &rsa3k, t);
    measure_distinct("openpgp ed25519", &keyring, &ed, t);
    measure_distinct("openpgp nistp256", &keyring, &p256, t);
    for (name, sig) in [
        ("ssh ed25519", ssh_ed),
        ("ssh rsa2048 rsa-sha2-512", ssh_rsa),
        ("ssh ecdsa-p256", ssh_p256),
        ("ssh cert, ed25519 CA", ssh_cert_ed),
        ("ssh cert, rsa3072 CA", ssh_cert_rsa),
        ("x509 cms rsa2048 (1 root)", x509),
    ] {
        match sig {
            Some(sig) => measure(name, &keyring, &sig, t),
            None => println!(
                "{name:<28} skipped: ssh-keygen or openssl not available (apt-get install openssh-client openssl)"
            ),
        }
    }
}
