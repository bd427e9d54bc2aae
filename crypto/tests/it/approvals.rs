//! Issue 14: signed code-review approvals (in-toto Statement in a DSSE envelope).
//!
//! The golden vectors in `data/approvals/` were made by `data/approvals/regenerate.sh` with the
//! committed TEST-ONLY key `test-only-alice`; each one has exactly one expected outcome below.
//! The other tests sign at test time with fresh ssh-keygen and gpg keys.

use std::path::{Path, PathBuf};

use crypto::approval::{
    pae, verify_approval, ApprovalError, ApprovalVerifier, Envelope, Predicate, RefUpdate,
    Statement, Verdict, PAYLOAD_TYPE, SSH_NAMESPACE,
};
use crypto::{FakeVerifier, Keyring};
use rules::facts::{KeyVerdict, SignatureCheck, SignatureFormat};
use serde_json::{json, Value};

use crate::util::{now, Gpg, SshKey, DAY};

/// The values the golden vectors were made with (see regenerate.sh).
const REF: &str = "refs/heads/main";
const FROM: &str = "8a3f5c1e9b7d2046e1c8a9f03b5d7e2c4a6f8b10";
const TREE: &str = "9c1e7f3a5b2d4068e0a1c3b5d7f9e2a4c6b8d0f1";
const HEAD: &str = "d2e4f6a8b0c1e3f5a7b9d1c3e5f7a9b1c3d5e7f9";
/// 2026-01-02T00:00:00Z: a day after the vectors' issuedAt, six before their expiresAt.
const GOLDEN_NOW: i64 = 1_767_312_000;

fn vectors() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/data/approvals")
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(vectors().join(name)).unwrap_or_else(|e| panic!("read {name}: {e}"))
}

/// The policy of the golden vectors: alice's test-only key.
fn golden_keyring() -> Keyring {
    let mut keyring = Keyring::new();
    let line = String::from_utf8(read("test-only-alice.pub")).expect("a public key line");
    keyring.add_ssh_key("alice", &line).expect("test key");
    keyring
}

/// The update the golden vectors are checked against: main moves from FROM to a commit with TREE.
fn golden_update() -> RefUpdate<'static> {
    RefUpdate {
        ref_name: REF,
        old: FROM,
        new_tree: TREE,
    }
}

/// One line per vector: whether it counts for the golden update, and if not, why.
fn outcome(keyring: &Keyring, name: &str) -> String {
    match verify_approval(&read(name), keyring, GOLDEN_NOW) {
        Ok(approval) => match approval.matches(&golden_update()) {
            Ok(()) => format!(
                "{name}: {} by {} ({})",
                approval.predicate.verdict.as_str(),
                approval.identity,
                approval.key
            ),
            Err(m) => format!(
                "{name}: verified ({} by {}) but does not match: {} ({m})",
                approval.predicate.verdict.as_str(),
                approval.identity,
                m.code()
            ),
        },
        Err(e) => {
            let verdicts = match &e {
                ApprovalError::NoValidSignature { checks } => format!(
                    " {:?}",
                    checks.iter().map(|c| c.verdict).collect::<Vec<_>>()
                ),
                _ => String::new(),
            };
            format!("{name}: refused: {}{verdicts}", e.code())
        }
    }
}

#[test]
fn golden_vectors_have_their_exact_outcomes() {
    let keyring = golden_keyring();
    let fp = {
        let pub_line = String::from_utf8(read("test-only-alice.pub")).expect("utf-8");
        let mut k = Keyring::new();
        k.add_ssh_key("x", &pub_line).expect("test key")
    };
    let expected = [
        format!("approve.dsse.json: approve by alice ({fp})"),
        format!("reject.dsse.json: reject by alice ({fp})"),
        format!("revoke.dsse.json: revoke by alice ({fp})"),
        format!("wrong-ref.dsse.json: verified (approve by alice) but does not match: wrong_ref (approval is for refs/heads/release, not {REF})"),
        format!("wrong-base.dsse.json: verified (approve by alice) but does not match: wrong_base (approval was made against 0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c, but the ref is at {FROM})"),
        format!("wrong-tree.dsse.json: verified (approve by alice) but does not match: wrong_tree (approval is for tree 7a6b5c4d3e2f10213243546576879809a1b2c3d4, but the update results in tree {TREE})"),
        "expired.dsse.json: refused: expired".to_owned(),
        "bad-base64.dsse.json: refused: bad_base64".to_owned(),
        "wrong-payload-type.dsse.json: refused: wrong_payload_type".to_owned(),
        "namespace-git.dsse.json: refused: no_valid_signature [WrongNamespace]".to_owned(),
        "unknown-key.dsse.json: refused: no_valid_signature [UnknownKey]".to_owned(),
        "tampered-payload.dsse.json: refused: no_valid_signature [BadSignature]".to_owned(),
    ];
    let names: Vec<&str> = expected
        .iter()
        .map(|l| l.split(':').next().expect("a name"))
        .collect();
    let actual: Vec<String> = names.iter().map(|n| outcome(&keyring, n)).collect();
    assert_eq!(actual.join("\n"), expected.join("\n"));

    // Every vector in the directory is in the table.
    let mut on_disk: Vec<String> = std::fs::read_dir(vectors())
        .expect("vector directory")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".dsse.json"))
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    listed.sort();
    assert_eq!(on_disk, listed);
}

#[test]
fn golden_refusals_say_why() {
    let keyring = golden_keyring();
    let message = |name: &str| {
        verify_approval(&read(name), &keyring, GOLDEN_NOW)
            .expect_err("refused")
            .to_string()
    };
    assert_eq!(
        message("expired.dsse.json"),
        "expired at 2025-12-08T00:00:00Z"
    );
    assert_eq!(
        message("bad-base64.dsse.json"),
        "payload is not valid base64"
    );
    assert_eq!(
        message("wrong-payload-type.dsse.json"),
        "payload type is \"application/json\", not \"application/vnd.in-toto+json\""
    );
    let ns = message("namespace-git.dsse.json");
    assert!(
        ns.contains("signature was made for namespace \"git\", not \"pushguard-approval\""),
        "{ns}"
    );
    let unknown = message("unknown-key.dsse.json");
    assert!(unknown.contains("is not in the policy"), "{unknown}");
    let tampered = message("tampered-payload.dsse.json");
    assert!(
        tampered.contains("does not match the signed data"),
        "{tampered}"
    );
}

#[test]
fn golden_approve_parses_to_the_predicate() {
    let approval =
        verify_approval(&read("approve.dsse.json"), &golden_keyring(), GOLDEN_NOW).expect("valid");
    assert_eq!(
        approval.predicate,
        Predicate {
            target_ref: REF.into(),
            from_id: FROM.into(),
            target_id: TREE.into(),
            reviewed_range: format!("{FROM}..{HEAD}"),
            patch_id: Some("5e0d7c2b9a8f1e3d6c4b2a0918f7e6d5c4b3a291".into()),
            verdict: Verdict::Approve,
            reviewer: "alice".into(),
            policy_digest:
                "sha256:3b7f1c2e9d8a6f5e4c3b2a1908f7e6d5c4b3a2918f7e6d5c4b3a29180f7e6d5c".into(),
            issued_at: 1_767_225_600,
            expires_at: 1_767_830_400,
            nonce: "golden-vector-nonce-01".into(),
        }
    );
    assert_eq!(approval.check.verdict, KeyVerdict::Good);
    assert_eq!(approval.check.format, Some(SignatureFormat::Ssh));
    assert!(!approval.reviewer_differs());
}

/// The Rust encoder writes byte for byte what the shell script wrote (an independent encoder).
#[test]
fn rust_and_shell_encoders_agree() {
    let envelope = Envelope::parse(&read("approve.dsse.json")).expect("parses");
    assert_eq!(envelope.pae(), read("approve.pae"), "DSSE PAE");
    let statement = Statement::parse(&envelope.payload).expect("statement");
    assert_eq!(
        String::from_utf8(statement.to_payload()).expect("utf-8"),
        String::from_utf8(envelope.payload.clone()).expect("utf-8"),
        "statement JSON"
    );
    assert_eq!(
        format!("{}\n", envelope.to_json()),
        String::from_utf8(read("approve.dsse.json")).expect("utf-8"),
        "envelope JSON"
    );
}

/// Cross-protocol replay: an approval signature is no commit signature, and a commit signature
/// (namespace git) over the same bytes is no approval.
#[test]
fn approval_and_commit_signatures_do_not_mix() {
    let keyring = golden_keyring();
    let good = Envelope::parse(&read("approve.dsse.json")).expect("parses");
    let check = keyring.verify(&good.signatures[0].sig, &good.pae(), GOLDEN_NOW);
    assert_eq!(check.verdict, KeyVerdict::WrongNamespace, "{check:?}");

    let git = Envelope::parse(&read("namespace-git.dsse.json")).expect("parses");
    assert_eq!(
        keyring
            .verify(&git.signatures[0].sig, &git.pae(), GOLDEN_NOW)
            .verdict,
        KeyVerdict::Good,
        "the vector's signature is a good git-namespace signature"
    );
    let check = keyring.verify_approval_signature(&git.signatures[0].sig, &git.pae(), GOLDEN_NOW);
    assert_eq!(check.verdict, KeyVerdict::WrongNamespace, "{check:?}");
}

#[test]
fn expiry_is_judged_at_now() {
    let keyring = golden_keyring();
    let bytes = read("approve.dsse.json");
    let expires = 1_767_830_400;
    // Counts up to, not including, expiresAt (as rules::engine's pull_request counts it).
    assert!(verify_approval(&bytes, &keyring, expires - 1).is_ok());
    assert_eq!(
        verify_approval(&bytes, &keyring, expires),
        Err(ApprovalError::Expired {
            expires_at: expires,
            now: expires
        })
    );
    // Issued 2026-01-01T00:00:00Z; five minutes of clock skew are tolerated.
    let issued = 1_767_225_600;
    assert!(verify_approval(&bytes, &keyring, issued - 300).is_ok());
    assert_eq!(
        verify_approval(&bytes, &keyring, issued - 301).map(|_| ()),
        Err(ApprovalError::IssuedInFuture {
            issued_at: issued,
            now: issued - 301
        })
    );
}

// ---- signed at test time ---------------------------------------------------------------------

fn predicate(reviewer: &str, t: i64) -> Predicate {
    Predicate {
        target_ref: REF.into(),
        from_id: FROM.into(),
        target_id: TREE.into(),
        reviewed_range: format!("{FROM}..{HEAD}"),
        patch_id: None,
        verdict: Verdict::Approve,
        reviewer: reviewer.into(),
        policy_digest: format!("sha256:{}", "0f".repeat(32)),
        issued_at: t - 60,
        expires_at: t + 7 * DAY,
        nonce: "8c2d0a4e6f1b3c5d7e9f0a2b4c6d8e0f".into(),
    }
}

/// What a reviewer does by hand: build, sign the PAE with ssh-keygen, add, store; then verify.
#[test]
fn fresh_ssh_keys_round_trip() {
    for (kind, bits) in [("ed25519", None), ("ecdsa", Some(256)), ("rsa", Some(3072))] {
        let key = SshKey::generate(kind, bits);
        let mut keyring = Keyring::new();
        let fp = keyring.add_ssh_key("bob", &key.public).expect("key");
        let t = now();
        let statement = Statement::new(predicate("bob", t));
        assert_eq!(statement.check(), Ok(()));
        let mut envelope = Envelope::unsigned(&statement);
        let sig = key.sign(SSH_NAMESPACE, &envelope.pae());
        envelope
            .add_signature(&fp, &sig)
            .expect("an approval signature");
        let json = envelope.to_json();

        let approval = verify_approval(json.as_bytes(), &keyring, t).expect(kind);
        assert_eq!(approval.identity, "bob", "{kind}");
        assert_eq!(approval.key, fp, "{kind}");
        assert_eq!(approval.predicate, statement.predicate, "{kind}");
        assert_eq!(approval.matches(&golden_update()), Ok(()), "{kind}");

        // The same key signing under git's namespace cannot make an approval.
        let mut wrong = Envelope::unsigned(&statement);
        let git_sig = key.sign("git", &wrong.pae());
        let refused = wrong
            .add_signature(&fp, &git_sig)
            .expect_err("namespace git");
        assert_eq!(refused.code(), "unusable_signature");
        // Put there by hand anyway, verification refuses it too.
        wrong.signatures.push(crypto::approval::EnvelopeSignature {
            keyid: String::new(),
            sig: git_sig,
        });
        let err = verify_approval(wrong.to_json().as_bytes(), &keyring, t).expect_err(kind);
        let ApprovalError::NoValidSignature { checks } = err else {
            panic!("{kind}: {err:?}")
        };
        assert_eq!(checks[0].verdict, KeyVerdict::WrongNamespace, "{kind}");
    }
}

/// An allowed_signers line restricted to `namespaces="git"` does not let the key approve.
#[test]
fn allowed_signers_namespaces_apply_to_approvals() {
    let key = SshKey::generate("ed25519", None);
    let t = now();
    let mut envelope = Envelope::unsigned(&Statement::new(predicate("bob", t)));
    let sig = key.sign(SSH_NAMESPACE, &envelope.pae());
    envelope.add_signature("", &sig).expect("signature");
    let json = envelope.to_json();

    let mut git_only = Keyring::new();
    git_only
        .add_allowed_signers(&format!("bob namespaces=\"git\" {}", key.public), |p| {
            Some(p.to_owned())
        })
        .expect("allowed_signers");
    let err = verify_approval(json.as_bytes(), &git_only, t).expect_err("git only");
    let ApprovalError::NoValidSignature { checks } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(checks[0].verdict, KeyVerdict::WrongNamespace);
    assert!(
        err.to_string().contains("not \"pushguard-approval\""),
        "{err}"
    );

    let mut both = Keyring::new();
    both.add_allowed_signers(
        &format!("bob namespaces=\"git,pushguard-approval\" {}", key.public),
        |p| Some(p.to_owned()),
    )
    .expect("allowed_signers");
    assert_eq!(
        verify_approval(json.as_bytes(), &both, t).map(|a| a.identity),
        Ok("bob".to_owned())
    );
}

/// Formats approvals do not accept yet: OpenSSH certificates, X.509 / CMS.
#[test]
fn certificates_and_x509_are_not_accepted_yet() {
    let ca = SshKey::generate("ed25519", None);
    let key = SshKey::generate("ed25519", None);
    key.certify(&ca, "bob", &[]);
    let mut keyring = Keyring::new();
    keyring
        .add_ssh_ca(&ca.public, crypto::SshCaOptions::default(), |p| {
            Some(p.to_owned())
        })
        .expect("CA");
    let t = now();
    let mut envelope = Envelope::unsigned(&Statement::new(predicate("bob", t)));
    let sig = key.sign_with_cert(SSH_NAMESPACE, &envelope.pae());
    envelope.add_signature("", &sig).expect("an SSH signature");
    envelope
        .signatures
        .push(crypto::approval::EnvelopeSignature {
            keyid: String::new(),
            sig: b"-----BEGIN SIGNED MESSAGE-----\nMIAG\n-----END SIGNED MESSAGE-----\n".to_vec(),
        });
    let err = verify_approval(envelope.to_json().as_bytes(), &keyring, t).expect_err("refused");
    let ApprovalError::NoValidSignature { checks } = &err else {
        panic!("{err:?}")
    };
    let verdicts: Vec<KeyVerdict> = checks.iter().map(|c| c.verdict).collect();
    assert_eq!(
        verdicts,
        [KeyVerdict::UnsupportedFormat, KeyVerdict::UnsupportedFormat]
    );
    assert_eq!(
        err.to_string(),
        "no valid signature: unsupported_format (approvals signed with an SSH certificate are not \
         supported yet); unsupported_format (approvals are signed with SSH or OpenPGP keys)"
    );
}

#[test]
fn at_most_eight_signatures() {
    let statement = golden_statement();
    let fake = FakeVerifier::new();
    let err = verify_approval(&fake_envelope(&statement, &["s"; 9]), &fake, GOLDEN_NOW)
        .expect_err("too many");
    assert_eq!(
        err.to_string(),
        "envelope field \"signatures\" is invalid: 9 signatures; at most 8"
    );
}

/// `gpg --detach-sign --armor` over the PAE, as for commits.
#[test]
fn fresh_openpgp_key_round_trip() {
    const CAROL: &str = "Carol <carol@example.com>";
    let gpg = Gpg::new();
    let fpr = gpg.generate(CAROL, "ed25519", "sign");
    let mut keyring = Keyring::new();
    keyring
        .add_openpgp_cert("carol", &gpg.export(&[CAROL]))
        .expect("cert");
    let t = now();
    let statement = Statement::new(predicate("carol", t));
    let mut envelope = Envelope::unsigned(&statement);
    let sig = gpg.sign(CAROL, &envelope.pae(), &[]);
    envelope.add_signature(&fpr, &sig).expect("signature");
    let json = envelope.to_json();

    let approval = verify_approval(json.as_bytes(), &keyring, t + 60).expect("valid");
    assert_eq!(approval.identity, "carol");
    assert_eq!(approval.key, fpr);
    assert_eq!(approval.check.format, Some(SignatureFormat::Openpgp));

    // The same signature over a changed payload.
    let mut changed = statement.predicate.clone();
    changed.target_ref = "refs/heads/release".into();
    let mut forged = Envelope::unsigned(&Statement::new(changed));
    forged.add_signature(&fpr, &sig).expect("armored");
    let err = verify_approval(forged.to_json().as_bytes(), &keyring, t + 60).expect_err("forged");
    let ApprovalError::NoValidSignature { checks } = err else {
        panic!("{err:?}")
    };
    assert_eq!(checks[0].verdict, KeyVerdict::BadSignature);
}

// ---- parsing, with the fake verifier ----------------------------------------------------------

/// An envelope around `statement` with one signature the fake answers `check` for.
fn fake_envelope(statement: &Value, sigs: &[&str]) -> Vec<u8> {
    let payload = serde_json::to_vec(statement).expect("json");
    let envelope = Envelope {
        payload,
        payload_type: PAYLOAD_TYPE.into(),
        signatures: sigs
            .iter()
            .map(|s| crypto::approval::EnvelopeSignature {
                keyid: String::new(),
                sig: s.as_bytes().to_vec(),
            })
            .collect(),
    };
    envelope.to_json().into_bytes()
}

fn good(identity: &str) -> SignatureCheck {
    SignatureCheck {
        verdict: KeyVerdict::Good,
        identity: Some(identity.into()),
        key: Some(format!("key-of-{identity}")),
        ..SignatureCheck::default()
    }
}

fn golden_statement() -> Value {
    let envelope = Envelope::parse(&read("approve.dsse.json")).expect("parses");
    serde_json::from_slice(&envelope.payload).expect("json")
}

#[test]
fn statement_errors_are_typed() {
    let fake = FakeVerifier::new().answer("sig-alice", good("alice"));
    type Edit = fn(&mut Value);
    let cases: [(&str, Edit, &str); 14] = [
        ("no change", |_| {}, "ok"),
        (
            "predicate type",
            |s| s["predicateType"] = json!("https://gittuf.dev/reference-authorization/v0.2"),
            "wrong_predicate_type: predicate type is \"https://gittuf.dev/reference-authorization/v0.2\", not \"https://pushguard.dev/code-review-approval/v1\"",
        ),
        (
            "statement type",
            |s| s["_type"] = json!("https://in-toto.io/Statement/v0.1"),
            "wrong_statement_type: statement type is \"https://in-toto.io/Statement/v0.1\", not \"https://in-toto.io/Statement/v1\"",
        ),
        (
            "missing fromID",
            |s| {
                s["predicate"].as_object_mut().expect("object").remove("fromID");
            },
            "missing_field: predicate has no field \"fromID\"",
        ),
        (
            "null nonce",
            |s| s["predicate"]["nonce"] = Value::Null,
            "missing_field: predicate has no field \"nonce\"",
        ),
        (
            "unknown predicate field",
            |s| s["predicate"]["scope"] = json!(["docs/"]),
            "unknown_field: predicate has an unknown field \"scope\"",
        ),
        (
            "unknown statement field",
            |s| s["extra"] = json!(1),
            "unknown_field: statement has an unknown field \"extra\"",
        ),
        (
            "verdict",
            |s| s["predicate"]["verdict"] = json!("lgtm"),
            "bad_field: predicate field \"verdict\" is invalid: \"lgtm\" is not approve, reject or revoke",
        ),
        (
            "time with offset",
            |s| s["predicate"]["expiresAt"] = json!("2026-01-08T01:00:00+01:00"),
            "bad_field: predicate field \"expiresAt\" is invalid: not an RFC 3339 UTC time (YYYY-MM-DDTHH:MM:SSZ)",
        ),
        (
            "expires before issued",
            |s| s["predicate"]["expiresAt"] = json!("2025-12-31T23:59:59Z"),
            "bad_field: predicate field \"expiresAt\" is invalid: before issuedAt",
        ),
        (
            "abbreviated id",
            |s| s["predicate"]["fromID"] = json!("8a3f5c1"),
            "bad_field: predicate field \"fromID\" is invalid: \"8a3f5c1\" is not a git object id (40 or 64 lowercase hex digits)",
        ),
        (
            "short ref",
            |s| s["predicate"]["targetRef"] = json!("main"),
            "bad_field: predicate field \"targetRef\" is invalid: not a full ref name (refs/...)",
        ),
        (
            "subject tree",
            |s| s["subject"][0]["digest"]["gitTree"] = json!("7a6b5c4d3e2f10213243546576879809a1b2c3d4"),
            "subject_mismatch: subject does not match the predicate: subject gitTree 7a6b5c4d3e2f10213243546576879809a1b2c3d4 is not the predicate's targetID 9c1e7f3a5b2d4068e0a1c3b5d7f9e2a4c6b8d0f1",
        ),
        (
            "two subjects",
            |s| {
                let one = s["subject"][0].clone();
                s["subject"].as_array_mut().expect("list").push(one);
            },
            "bad_field: statement field \"subject\" is invalid: has 2 entries; an approval has exactly one",
        ),
    ];
    let mut failures = Vec::new();
    for (what, edit, expected) in cases {
        let mut statement = golden_statement();
        edit(&mut statement);
        let got = match verify_approval(
            &fake_envelope(&statement, &["sig-alice"]),
            &fake,
            GOLDEN_NOW,
        ) {
            Ok(_) => "ok".to_owned(),
            Err(e) => format!("{}: {e}", e.code()),
        };
        if got != expected {
            failures.push(format!("{what}:\n  expected {expected}\n  got      {got}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn envelope_errors_are_typed() {
    let fake = FakeVerifier::new();
    let code = |bytes: &[u8]| {
        verify_approval(bytes, &fake, GOLDEN_NOW)
            .expect_err("refused")
            .code()
    };
    assert_eq!(code(b"not json"), "not_json");
    assert_eq!(code(b"[]"), "not_json");
    assert_eq!(
        code(br#"{"payloadType":"application/vnd.in-toto+json","signatures":[]}"#),
        "missing_field"
    );
    assert_eq!(
        code(br#"{"payload":"e30=","payloadType":"application/vnd.in-toto+json","signatures":[],"x":1}"#),
        "unknown_field"
    );
    // Non-canonical base64 (unused bits set) is refused, not silently read.
    assert_eq!(
        code(br#"{"payload":"e31=","payloadType":"application/vnd.in-toto+json","signatures":[]}"#),
        "bad_base64"
    );
    let statement = golden_statement();
    let unsigned = fake_envelope(&statement, &[]);
    assert_eq!(code(&unsigned), "unsigned");
    let mut bad_sig: Value =
        serde_json::from_slice(&fake_envelope(&statement, &["x"])).expect("json");
    bad_sig["signatures"][0]["sig"] = json!("%%%");
    let err = verify_approval(
        &serde_json::to_vec(&bad_sig).expect("json"),
        &fake,
        GOLDEN_NOW,
    )
    .expect_err("refused");
    assert_eq!(err.to_string(), "signatures[0].sig is not valid base64");

    // The same key twice: refused, never "the last one wins".
    assert_eq!(
        code(br#"{"payload":"e30=","payload":"e30=","payloadType":"application/vnd.in-toto+json","signatures":[]}"#),
        "not_json"
    );
    let signed = FakeVerifier::new().answer("sig-alice", good("alice"));
    let payload = String::from_utf8(
        Envelope::parse(&read("approve.dsse.json"))
            .expect("parses")
            .payload,
    )
    .expect("utf-8")
    .replace(
        r#""verdict":"approve""#,
        r#""verdict":"reject","verdict":"approve""#,
    );
    let envelope = Envelope {
        payload: payload.into_bytes(),
        payload_type: PAYLOAD_TYPE.into(),
        signatures: vec![crypto::approval::EnvelopeSignature {
            keyid: String::new(),
            sig: b"sig-alice".to_vec(),
        }],
    };
    let err = verify_approval(envelope.to_json().as_bytes(), &signed, GOLDEN_NOW).expect_err("dup");
    assert_eq!(err.code(), "not_json");
    assert!(
        err.to_string().contains("duplicate field \"verdict\""),
        "{err}"
    );
}

/// DSSE order: a payload is parsed only after a policy key vouched for it.
#[test]
fn the_payload_is_parsed_only_after_a_good_signature() {
    let fake = FakeVerifier::new();
    let envelope = Envelope {
        payload: b"not even json".to_vec(),
        payload_type: PAYLOAD_TYPE.into(),
        signatures: vec![crypto::approval::EnvelopeSignature {
            keyid: String::new(),
            sig: b"by a stranger".to_vec(),
        }],
    };
    let err =
        verify_approval(envelope.to_json().as_bytes(), &fake, GOLDEN_NOW).expect_err("refused");
    assert_eq!(err.code(), "no_valid_signature", "{err}");
    assert_eq!(
        err.to_string(),
        "no valid signature: unknown_key (FakeVerifier has no answer for this signature)"
    );
}

#[test]
fn signers_one_identity_many_keys() {
    let fake = FakeVerifier::new()
        .answer("sig-alice-1", good("alice"))
        .answer("sig-alice-2", good("alice"))
        .answer("sig-bob", good("bob"));
    let statement = golden_statement();
    let ok = verify_approval(
        &fake_envelope(&statement, &["nobody", "sig-alice-1", "sig-alice-2"]),
        &fake,
        GOLDEN_NOW,
    )
    .expect("one identity");
    assert_eq!(ok.identity, "alice");
    assert_eq!(ok.key, "key-of-alice");

    assert_eq!(
        verify_approval(
            &fake_envelope(&statement, &["sig-bob", "sig-alice-1"]),
            &fake,
            GOLDEN_NOW
        )
        .map(|_| ()),
        Err(ApprovalError::SeveralSigners {
            identities: vec!["alice".into(), "bob".into()]
        })
    );
    // The reviewer field is informational; the key decides who approved.
    let by_bob = verify_approval(&fake_envelope(&statement, &["sig-bob"]), &fake, GOLDEN_NOW)
        .expect("valid");
    assert_eq!(by_bob.identity, "bob");
    assert!(by_bob.reviewer_differs());
}

#[test]
fn pae_of_an_empty_payload() {
    assert_eq!(
        pae(PAYLOAD_TYPE, b""),
        b"DSSEv1 28 application/vnd.in-toto+json 0 ".to_vec()
    );
}

// ---- the documentation's hand-made approval ---------------------------------------------------

/// The first `sh` block of docs/approvals.md ("Making one by hand"), run as written in a fresh
/// repository with a fresh key, makes an approval that verifies and matches the update.
#[test]
fn the_documented_ssh_keygen_recipe_makes_a_valid_approval() {
    use std::process::Command;
    crate::util::require("git", "git");
    crate::util::require("openssl", "openssl");
    let docs =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/approvals.md"))
            .expect("docs/approvals.md");
    let block = docs
        .split("```sh\n")
        .nth(1)
        .and_then(|rest| rest.split("\n```").next())
        .expect("an sh block in docs/approvals.md");
    let policy_line = block
        .lines()
        .find(|l| l.starts_with("policy="))
        .expect("the recipe sets policy=");
    let script = block.replace(policy_line, &format!("policy=sha256:{}", "ab".repeat(32)));

    let home = tempfile::tempdir().expect("temp dir");
    let key = SshKey::generate("ed25519", None);
    std::fs::create_dir(home.path().join(".ssh")).expect("mkdir");
    std::fs::copy(&key.private, home.path().join(".ssh/id_ed25519")).expect("copy key");
    std::fs::write(home.path().join(".ssh/id_ed25519.pub"), &key.public).expect("write pub");
    let repo = home.path().join("repo");
    let git = |args: &[&str]| {
        let out = Command::new("git")
            .args(args)
            .current_dir(&repo)
            .env("HOME", home.path())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_AUTHOR_NAME", "Bob")
            .env("GIT_AUTHOR_EMAIL", "bob@example.com")
            .env("GIT_AUTHOR_DATE", "1767225600 +0000")
            .env("GIT_COMMITTER_NAME", "Bob")
            .env("GIT_COMMITTER_EMAIL", "bob@example.com")
            .env("GIT_COMMITTER_DATE", "1767225600 +0000")
            .output()
            .expect("git runs");
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .expect("utf-8")
            .trim()
            .to_owned()
    };
    std::fs::create_dir(&repo).expect("mkdir");
    git(&["init", "-q", "-b", "main"]);
    git(&["commit", "-q", "--allow-empty", "-m", "base"]);
    git(&["update-ref", "refs/remotes/origin/main", "HEAD"]);
    std::fs::write(repo.join("file"), "reviewed change\n").expect("write");
    git(&["add", "file"]);
    git(&["commit", "-q", "-m", "change"]);
    let old = git(&["rev-parse", "origin/main"]);
    let tree = git(&["rev-parse", "HEAD^{tree}"]);

    let out = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(&repo)
        .env("HOME", home.path())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .expect("bash runs");
    assert!(
        out.status.success(),
        "the documented recipe failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let mut keyring = Keyring::new();
    keyring.add_ssh_key("alice", &key.public).expect("key");
    let envelope = std::fs::read(repo.join("approval.dsse.json")).expect("approval written");
    let approval = verify_approval(&envelope, &keyring, now()).expect("the recipe's approval");
    assert_eq!(approval.identity, "alice");
    assert_eq!(approval.predicate.verdict, Verdict::Approve);
    assert!(approval.predicate.patch_id.is_some());
    assert_eq!(
        approval.matches(&RefUpdate {
            ref_name: REF,
            old: &old,
            new_tree: &tree
        }),
        Ok(())
    );
}

/// The writer refuses what the reader would refuse, before anyone signs it.
#[test]
fn an_invalid_statement_is_refused_before_signing() {
    let mut p = predicate("bob", now());
    p.from_id = "abc123".into();
    let statement = Statement::new(p);
    let err = statement.check().expect_err("abbreviated id");
    assert_eq!(
        err.to_string(),
        "predicate field \"fromID\" is invalid: \"abc123\" is not a git object id (40 or 64 lowercase hex digits)"
    );
}
