//! X.509 revocation: CRLs made by `openssl ca -gencrl` from an index whose revocation dates
//! and reasons the test chooses, signed by the test root. Hard reasons revoke every
//! signature; other reasons count from their date; a CRL that does not verify or is out of date
//! fails closed.

use std::process::Command;

use crypto::Keyring;
use rules::facts::KeyVerdict;

use crate::util::{now, Pki, DAY, PAYLOAD};

const SIGNING: &str = "basicConstraints=critical,CA:FALSE\n\
keyUsage=critical,digitalSignature,nonRepudiation\n\
extendedKeyUsage=emailProtection\n\
subjectAltName=email:alice@example.com\n";

/// `YYMMDDHHMMSSZ`, as `openssl ca`'s index wants it.
fn index_time(t: i64) -> String {
    let out = Command::new("date")
        .args(["-u", "-d", &format!("@{t}"), "+%y%m%d%H%M%SZ"])
        .output()
        .expect("date");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn serial_of(pem: &[u8]) -> String {
    openssl::x509::X509::from_pem(pem)
        .expect("certificate")
        .serial_number()
        .to_bn()
        .expect("serial")
        .to_hex_str()
        .expect("hex")
        .to_string()
}

/// `openssl ca -gencrl` by `pki`'s root over `revoked` (serial, revocation time, reason);
/// the CRL is valid for `hours` from now. Returns the PEM.
fn gencrl(pki: &Pki, revoked: &[(&str, i64, Option<&str>)], hours: u32) -> Vec<u8> {
    let dir = pki.dir();
    let mut index = String::new();
    for (serial, at, reason) in revoked {
        let when = match reason {
            Some(r) => format!("{},{r}", index_time(*at)),
            None => index_time(*at),
        };
        index.push_str(&format!(
            "R\t{}\t{when}\t{serial}\tunknown\t/CN=someone\n",
            index_time(now() + 365 * DAY)
        ));
    }
    std::fs::write(dir.join("index.txt"), index).expect("index");
    std::fs::write(dir.join("crlnumber"), "01\n").expect("crlnumber");
    std::fs::write(
        dir.join("ca.cnf"),
        "[ca]\ndefault_ca = d\n[d]\ndatabase = index.txt\ncrlnumber = crlnumber\ndefault_md = sha256\n",
    )
    .expect("config");
    let out = Command::new("openssl")
        .current_dir(dir)
        .args([
            "ca",
            "-batch",
            "-config",
            "ca.cnf",
            "-gencrl",
            "-keyfile",
            "ca.key",
            "-cert",
            "ca.pem",
            "-crlhours",
        ])
        .arg(hours.to_string())
        .args(["-out", "crl.pem"])
        .output()
        .expect("openssl ca -gencrl");
    assert!(
        out.status.success(),
        "openssl ca -gencrl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read(dir.join("crl.pem")).expect("crl.pem")
}

fn keyring(pki: &Pki, crl: &[u8]) -> Keyring {
    let mut k = Keyring::new();
    k.add_x509_root(&pki.root_pem).expect("root");
    k.add_x509_identity("alice", "alice@example.com")
        .expect("identity");
    assert_eq!(k.add_x509_crls("ca.crl", crl).expect("CRL"), 1);
    k
}

#[test]
fn compromised_or_reasonless_revocations_are_hard() {
    let pki = Pki::new("CRL Root");
    let alice = pki.issue("alice", SIGNING, 10);
    let sig = pki.sign(&alice, PAYLOAD);
    let serial = serial_of(&alice.pem);
    for reason in [Some("keyCompromise"), None, Some("unspecified")] {
        // revoked tomorrow, yet every signature is refused, also today's
        let crl = gencrl(&pki, &[(&serial, now() + DAY, reason)], 24 * 30);
        let k = keyring(&pki, &crl);
        for at in [now(), now() + 2 * DAY] {
            let check = k.verify(&sig, PAYLOAD, at);
            assert_eq!(
                check.verdict,
                KeyVerdict::RevokedKey,
                "{reason:?}: {check:?}"
            );
            let detail = check.detail.expect("detail");
            assert!(detail.contains("hard revocation"), "{detail}");
            assert!(detail.contains("ca.crl"), "{detail}");
        }
    }
}

#[test]
fn other_reasons_count_from_their_date_and_remove_from_crl_revokes_nothing() {
    let pki = Pki::new("CRL Root");
    let alice = pki.issue("alice", SIGNING, 10);
    let sig = pki.sign(&alice, PAYLOAD);
    let serial = serial_of(&alice.pem);
    for reason in ["superseded", "cessationOfOperation", "affiliationChanged"] {
        let crl = gencrl(&pki, &[(&serial, now() + 2 * DAY, Some(reason))], 24 * 30);
        let k = keyring(&pki, &crl);
        let before = k.verify(&sig, PAYLOAD, now() + DAY);
        assert_eq!(before.verdict, KeyVerdict::Good, "{reason}: {before:?}");
        let after = k.verify(&sig, PAYLOAD, now() + 3 * DAY);
        assert_eq!(after.verdict, KeyVerdict::RevokedKey, "{reason}: {after:?}");
        let detail = after.detail.expect("detail");
        assert!(!detail.contains("hard"), "{detail}");
    }
    // Another certificate's serial revokes nothing.
    let crl = gencrl(
        &pki,
        &[("0123ABCD", now() - DAY, Some("keyCompromise"))],
        24,
    );
    let check = keyring(&pki, &crl).verify(&sig, PAYLOAD, now());
    assert_eq!(check.verdict, KeyVerdict::Good, "{check:?}");
}

#[test]
fn crls_that_do_not_verify_or_are_out_of_date_fail_closed() {
    let pki = Pki::new("CRL Root");
    let alice = pki.issue("alice", SIGNING, 10);
    let sig = pki.sign(&alice, PAYLOAD);
    // Out of date: valid for one hour, judged two hours later.
    let crl = gencrl(&pki, &[], 1);
    let check = keyring(&pki, &crl).verify(&sig, PAYLOAD, now() + 2 * 3600);
    assert_eq!(check.verdict, KeyVerdict::UnknownKey, "{check:?}");
    assert!(
        check
            .detail
            .as_deref()
            .is_some_and(|d| d.contains("out of date")),
        "{check:?}"
    );
    // Signed by another CA of the same name: it cannot speak for this one.
    let impostor = Pki::new("CRL Root");
    let crl = gencrl(&impostor, &[], 24);
    let check = keyring(&pki, &crl).verify(&sig, PAYLOAD, now());
    assert_eq!(check.verdict, KeyVerdict::UnknownKey, "{check:?}");
    assert!(
        check
            .detail
            .as_deref()
            .is_some_and(|d| d.contains("not signed by that CA")),
        "{check:?}"
    );
    // Garbage is a load error naming the file.
    let err = Keyring::new()
        .add_x509_crls(
            "junk.crl",
            b"-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n",
        )
        .expect_err("junk")
        .to_string();
    assert!(err.contains("junk.crl"), "{err}");
}
