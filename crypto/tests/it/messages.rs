//! The messages a pusher reads, for every verdict, in one place. Key ids and fingerprints are
//! random per run, so they are replaced by names before comparing. If this test fails because a
//! message changed on purpose, update the expected text here and the table in docs/signatures.md.

use crypto::Keyring;
use rules::facts::SignatureCheck;
use sequoia_openpgp as openpgp;

use openpgp::cert::prelude::*;
use openpgp::serialize::SerializeInto;
use openpgp::types::{KeyFlags, ReasonForRevocation};

use crate::sequoia_cases::{at, cert, primary_signer, sign, sign_with, NOW};
use crate::util::{tampered, SshKey, DAY, PAYLOAD};

/// Replaces every key id / fingerprint of `certs` and SSH keys by a name.
struct Redactor(Vec<(String, String)>);

impl Redactor {
    fn cert(&mut self, name: &str, cert: &Cert) {
        for (i, ka) in cert.keys().enumerate() {
            let label = if i == 0 {
                name.to_owned()
            } else {
                format!("{name}.sub{i}")
            };
            self.0
                .push((ka.key().fingerprint().to_hex(), format!("<{label}>")));
            self.0
                .push((ka.key().keyid().to_hex(), format!("<{label}>")));
        }
    }
    fn ssh(&mut self, name: &str, key: &SshKey) {
        self.0.push((key.fingerprint(), format!("<{name}>")));
    }
    fn line(&self, case: &str, check: &SignatureCheck) -> String {
        let mut detail = check.detail.clone().unwrap_or_else(|| "-".into());
        for (from, to) in &self.0 {
            detail = detail.replace(from, to);
        }
        format!("{case:<26} {:<18} {detail}", check.verdict.code())
    }
}

fn keyring_of(certs: &[(&str, &Cert)]) -> Keyring {
    let mut k = Keyring::new();
    for (id, c) in certs {
        k.add_openpgp_cert(id, &c.armored().to_vec().expect("serialize"))
            .expect("cert");
    }
    k
}

fn revoke(c: &Cert, reason: ReasonForRevocation, msg: &[u8], when: i64) -> Cert {
    let rev = CertRevocationBuilder::new()
        .set_reason_for_revocation(reason, msg)
        .expect("reason")
        .set_signature_creation_time(at(when))
        .expect("time")
        .build(&mut primary_signer(c), c, None)
        .expect("revocation");
    c.clone().insert_packets(rev).expect("merge").0
}

#[test]
fn every_verdict_message() {
    let mut r = Redactor(Vec::new());
    let mut out = Vec::new();

    let alice = cert(NOW - 100 * DAY, None);
    r.cert("alice", &alice);
    let stranger = cert(NOW - 100 * DAY, None);
    r.cert("stranger", &stranger);
    let keyring = keyring_of(&[("alice", &alice)]);
    let good = sign(&alice, NOW - DAY);
    out.push(r.line("openpgp good", &keyring.verify(&good, PAYLOAD, NOW)));
    out.push(r.line("openpgp tampered", &keyring.verify(&good, &tampered(), NOW)));
    let by_stranger = sign(&stranger, NOW - DAY);
    out.push(r.line(
        "openpgp unknown key",
        &keyring.verify(&by_stranger, PAYLOAD, NOW),
    ));

    let expiring = cert(NOW - 30 * DAY, Some(10 * DAY));
    r.cert("expiring", &expiring);
    let k = keyring_of(&[("bob", &expiring)]);
    let sig = sign(&expiring, NOW - 25 * DAY);
    out.push(r.line("openpgp expired", &k.verify(&sig, PAYLOAD, NOW)));

    let future = cert(NOW + 10 * DAY, None);
    r.cert("future", &future);
    let k = keyring_of(&[("carol", &future)]);
    let sig = sign(&future, NOW + 11 * DAY);
    out.push(r.line("openpgp not yet valid", &k.verify(&sig, PAYLOAD, NOW)));

    let retired = revoke(
        &alice,
        ReasonForRevocation::KeyRetired,
        b"moved to a new key",
        NOW - 10 * DAY,
    );
    let k = keyring_of(&[("alice", &retired)]);
    out.push(r.line("openpgp soft revoked", &k.verify(&good, PAYLOAD, NOW)));
    let compromised = revoke(
        &alice,
        ReasonForRevocation::KeyCompromised,
        b"lost laptop",
        NOW - 10 * DAY,
    );
    let k = keyring_of(&[("alice", &compromised)]);
    out.push(r.line("openpgp hard revoked", &k.verify(&good, PAYLOAD, NOW)));

    let (rsa, _) = CertBuilder::new()
        .set_cipher_suite(CipherSuite::RSA2k)
        .set_creation_time(at(NOW - 30 * DAY))
        .add_userid("Dave <dave@example.com>")
        .add_subkey(KeyFlags::empty().set_transport_encryption(), None, None)
        .generate()
        .expect("cert");
    r.cert("dave", &rsa);
    let p = openpgp::policy::StandardPolicy::new();
    let enc = rsa
        .keys()
        .subkeys()
        .with_policy(&p, at(NOW))
        .secret()
        .next()
        .expect("subkey");
    let sig = sign_with(enc.key(), NOW - DAY);
    let k = keyring_of(&[("dave", &rsa)]);
    out.push(r.line("openpgp not signing key", &k.verify(&sig, PAYLOAD, NOW)));

    let ssh = SshKey::generate("ed25519", None);
    r.ssh("ssh-alice", &ssh);
    let other = SshKey::generate("ed25519", None);
    r.ssh("ssh-stranger", &other);
    let mut k = Keyring::new();
    k.add_allowed_signers(
        &format!(
            "alice@example.com valid-after=\"20260101Z\",valid-before=\"20261231Z\" {}\n",
            ssh.public
        ),
        |p| p.strip_suffix("@example.com").map(str::to_owned),
    )
    .expect("allowed signers");
    let sig = ssh.sign("git", PAYLOAD);
    out.push(r.line("ssh good", &k.verify(&sig, PAYLOAD, NOW)));
    out.push(r.line("ssh tampered", &k.verify(&sig, &tampered(), NOW)));
    out.push(r.line(
        "ssh before valid-after",
        &k.verify(&sig, PAYLOAD, NOW - 365 * DAY),
    ));
    out.push(r.line(
        "ssh after valid-before",
        &k.verify(&sig, PAYLOAD, NOW + 365 * DAY),
    ));
    out.push(r.line(
        "ssh wrong namespace",
        &k.verify(&ssh.sign("file", PAYLOAD), PAYLOAD, NOW),
    ));
    out.push(r.line(
        "ssh unknown key",
        &k.verify(&other.sign("git", PAYLOAD), PAYLOAD, NOW),
    ));
    out.push(r.line(
        "x509 truncated",
        &k.verify(b"-----BEGIN SIGNED MESSAGE-----\n", PAYLOAD, NOW),
    ));
    out.push(r.line("garbage", &k.verify(b"hello", PAYLOAD, NOW)));

    let actual = out.join("\n");
    let expected = EXPECTED.trim_end();
    if actual != expected {
        panic!("messages changed.\n--- expected\n{expected}\n--- actual\n{actual}\n");
    }
}

const EXPECTED: &str = "\
openpgp good               good               -
openpgp tampered           bad_signature      signature by key 0x<alice.sub1> does not match the signed data
openpgp unknown key        unknown_key        no certificate in the policy has key 0x<stranger.sub1>
openpgp expired            expired_key        key 0x<expiring> expired on 2026-05-12
openpgp not yet valid      key_not_yet_valid  key 0x<future> is dated 2026-06-11, after receive time
openpgp soft revoked       revoked_key        key 0x<alice> was revoked on 2026-05-22 (Key is retired and no longer used, soft revocation: moved to a new key)
openpgp hard revoked       revoked_key        key 0x<alice> was revoked on 2026-05-22 (Key material has been compromised, hard revocation: lost laptop)
openpgp not signing key    not_signing_key    key 0x<dave.sub1> is not marked for signing (its key flags do not allow it)
ssh good                   good               -
ssh tampered               bad_signature      signature by key <ssh-alice> does not match the signed data
ssh before valid-after     key_not_yet_valid  key <ssh-alice> is only valid from 2026-01-01 (allowed_signers line 1)
ssh after valid-before     expired_key        key <ssh-alice> expired on 2026-12-31 (allowed_signers line 1)
ssh wrong namespace        wrong_namespace    signature was made for namespace \"file\", not \"git\"
ssh unknown key            unknown_key        ssh-ed25519 key <ssh-stranger> is not in the policy
x509 truncated             malformed          cannot read the X.509 signature armor
garbage                    malformed          not an SSH, OpenPGP or X.509 signature block
";
