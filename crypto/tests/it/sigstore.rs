//! Sigstore gitsign signatures verified offline: the Rekor `TransparencyLogEntry` that gitsign
//! keeps in an unsigned CMS attribute, built here for real (no network, no real Rekor): a
//! hashedrekord body, an RFC 6962 Merkle tree holding it, a checkpoint and a signed entry
//! timestamp signed by a test log key (ECDSA P-256), the protobuf encoded by hand. The encoders
//! below are written apart from the crate's readers, from the same public formats.

use crypto::Keyring;
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::sign::Signer;
use rules::facts::KeyVerdict;

use crate::util::{now, tampered, Pki, DAY, PAYLOAD};

const ISSUER: &str = "https://accounts.example";

// ---- DER, just enough to take a CMS SignedData apart and put it back together ----

/// (tag, content, rest) of the element at the front of `b`; definite lengths only.
fn der_read(b: &[u8]) -> (u8, &[u8], &[u8]) {
    let tag = b[0];
    let (len, header) = match b[1] {
        l if l < 0x80 => (usize::from(l), 2),
        0x80 => panic!("indefinite length: the test expects DER from openssl cms"),
        l => {
            let n = usize::from(l & 0x7f);
            let len = b[2..2 + n]
                .iter()
                .fold(0usize, |a, &x| (a << 8) | usize::from(x));
            (len, 2 + n)
        }
    };
    (tag, &b[header..header + len], &b[header + len..])
}

fn der_children(mut b: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    while !b.is_empty() {
        let (t, c, rest) = der_read(b);
        out.push((t, c.to_vec()));
        b = rest;
    }
    out
}

fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|&b| b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

fn der_join(parts: &[(u8, Vec<u8>)]) -> Vec<u8> {
    parts.iter().flat_map(|(t, c)| der(*t, c)).collect()
}

/// The SignerInfo fields of a CMS SignedData (DER), and a way to rebuild the whole with new
/// fields.
fn signer_info(cms: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let (_, ci, _) = der_read(cms);
    let ci = der_children(ci);
    let (_, sd, _) = der_read(&ci[1].1);
    let sd = der_children(sd);
    let infos = der_children(&sd.last().expect("signerInfos").1);
    der_children(&infos[0].1)
}

fn with_signer_info(cms: &[u8], fields: &[(u8, Vec<u8>)]) -> Vec<u8> {
    let (_, ci, _) = der_read(cms);
    let mut ci = der_children(ci);
    let (_, sd, _) = der_read(&ci[1].1);
    let mut sd = der_children(sd);
    let last = sd.len() - 1;
    sd[last].1 = der(0x30, &der_join(fields));
    ci[1].1 = der(0x30, &der_join(&sd));
    der(0x30, &der_join(&ci))
}

fn dearmor(armored: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(armored);
    let b64: String = text
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect::<Vec<_>>()
        .concat();
    openssl::base64::decode_block(&b64).expect("base64")
}

fn armor(der: &[u8]) -> Vec<u8> {
    let b64 = openssl::base64::encode_block(der);
    let mut out = String::from("-----BEGIN SIGNED MESSAGE-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).expect("ascii"));
        out.push('\n');
    }
    out.push_str("-----END SIGNED MESSAGE-----\n");
    out.into_bytes()
}

/// The signed attributes as signed (SET OF tag) and the signature value of a CMS signature.
fn signed_parts(cms: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let fields = signer_info(cms);
    let attrs = fields
        .iter()
        .find(|(t, _)| *t == 0xa0)
        .expect("signed attrs");
    let sig = fields.iter().find(|(t, _)| *t == 0x04).expect("signature");
    (der(0x31, &attrs.1), sig.1.clone())
}

/// Adds an unsigned attribute `oid` (dotted DER contents) with one OCTET STRING value.
fn add_unsigned(cms: &[u8], oid: &[u8], value: &[u8]) -> Vec<u8> {
    let mut fields = signer_info(cms);
    let attr = der(
        0x30,
        &[der(0x06, oid), der(0x31, &der(0x04, value))].concat(),
    );
    match fields.iter_mut().find(|(t, _)| *t == 0xa1) {
        Some(f) => f.1.extend(attr),
        None => fields.push((0xa1, attr)),
    }
    with_signer_info(cms, &fields)
}

/// 1.3.6.1.4.1.57264.3.1
const REKOR_OID: &[u8] = &[0x2b, 6, 1, 4, 1, 0x83, 0xbf, 0x30, 3, 1];

// ---- protobuf, the few wire types the entry uses ----

fn pb_varint(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn pb_int(field: u64, v: i64, out: &mut Vec<u8>) {
    pb_varint(field << 3, out);
    pb_varint(v as u64, out);
}

fn pb_bytes(field: u64, v: &[u8], out: &mut Vec<u8>) {
    pb_varint((field << 3) | 2, out);
    pb_varint(v.len() as u64, out);
    out.extend_from_slice(v);
}

// ---- RFC 6962 Merkle tree, by its recursive definition ----

fn sha256(parts: &[&[u8]]) -> Vec<u8> {
    let mut h = openssl::sha::Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finish().to_vec()
}

fn mth(leaves: &[Vec<u8>]) -> Vec<u8> {
    if leaves.len() == 1 {
        return sha256(&[&[0], &leaves[0]]);
    }
    let k = split_point(leaves.len());
    sha256(&[&[1], &mth(&leaves[..k]), &mth(&leaves[k..])])
}

/// The largest power of two below `n`.
fn split_point(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

fn path(m: usize, leaves: &[Vec<u8>]) -> Vec<Vec<u8>> {
    if leaves.len() == 1 {
        return Vec::new();
    }
    let k = split_point(leaves.len());
    if m < k {
        let mut p = path(m, &leaves[..k]);
        p.push(mth(&leaves[k..]));
        p
    } else {
        let mut p = path(m - k, &leaves[k..]);
        p.push(mth(&leaves[..k]));
        p
    }
}

// ---- a test Rekor ----

struct Log {
    key: PKey<Private>,
    pem: Vec<u8>,
    id: Vec<u8>,
}

impl Log {
    fn new() -> Log {
        let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).expect("P-256");
        let key = PKey::from_ec_key(EcKey::generate(&group).expect("ec key")).expect("pkey");
        let spki = key.public_key_to_der().expect("spki");
        Log {
            pem: key.public_key_to_pem().expect("pem"),
            id: sha256(&[&spki]),
            key,
        }
    }

    fn sign(&self, data: &[u8]) -> Vec<u8> {
        let mut s = Signer::new(MessageDigest::sha256(), &self.key).expect("signer");
        s.update(data).expect("update");
        s.sign_to_vec().expect("sign")
    }

    fn id_hex(&self) -> String {
        self.id.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// How to build (or spoil) an entry.
struct Entry<'a> {
    /// Whose log id the entry names.
    log: &'a Log,
    /// Who signs the SET.
    set_by: &'a Log,
    /// Who signs the checkpoint.
    checkpoint_by: &'a Log,
    integrated_time: i64,
    proof: bool,
    /// Put the body in `canonicalized_body` (gitsign leaves it out).
    with_body: bool,
    /// Flip a bit of the SET after signing.
    tamper_set: bool,
    /// Replace one sibling hash of the proof.
    wrong_sibling: bool,
    /// The checkpoint names another tree size than the proof.
    checkpoint_size_off: bool,
}

impl<'a> Entry<'a> {
    fn new(log: &'a Log) -> Entry<'a> {
        Entry {
            log,
            set_by: log,
            checkpoint_by: log,
            integrated_time: now() + 60,
            proof: true,
            with_body: false,
            tamper_set: false,
            wrong_sibling: false,
            checkpoint_size_off: false,
        }
    }

    /// The canonical hashedrekord body for a CMS signature by the certificate `cert_pem`.
    fn body(cms: &[u8], cert_pem: &[u8]) -> Vec<u8> {
        let (attrs, sig) = signed_parts(cms);
        let hash: String = sha256(&[&attrs])
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let data = format!(r#""data":{{"hash":{{"algorithm":"sha256","value":"{hash}"}}}}"#);
        let signature = format!(
            r#""signature":{{"content":"{}","publicKey":{{"content":"{}"}}}}"#,
            openssl::base64::encode_block(&sig),
            openssl::base64::encode_block(cert_pem)
        );
        format!(r#"{{"apiVersion":"0.0.1","kind":"hashedrekord","spec":{{{data},{signature}}}}}"#)
            .into_bytes()
    }

    /// The TransparencyLogEntry protobuf for `body`.
    fn encode(&self, body: &[u8]) -> Vec<u8> {
        let log_index: i64 = 18_197_167;
        // The body is leaf 5 of 7 (a border case: not in the left, complete subtree).
        let (index, size) = (5usize, 7usize);
        let mut leaves: Vec<Vec<u8>> = (0..size)
            .map(|i| format!("leaf {i}").into_bytes())
            .collect();
        leaves[index] = body.to_vec();
        let root = mth(&leaves);
        let mut hashes = path(index, &leaves);
        if self.wrong_sibling {
            hashes[1] = sha256(&[b"not a sibling"]);
        }
        let cp_size = if self.checkpoint_size_off {
            size + 1
        } else {
            size
        };
        let note = format!(
            "rekor.test - 1193050959916656506\n{cp_size}\n{}\nTimestamp: 1681751585274576701\n",
            openssl::base64::encode_block(&root)
        );
        let mut hint_sig = self.checkpoint_by.id[..4].to_vec();
        hint_sig.extend(self.checkpoint_by.sign(note.as_bytes()));
        let envelope = format!(
            "{note}\n\u{2014} rekor.test {}\n",
            openssl::base64::encode_block(&hint_sig)
        );
        let payload = format!(
            r#"{{"body":"{}","integratedTime":{},"logID":"{}","logIndex":{log_index}}}"#,
            openssl::base64::encode_block(body),
            self.integrated_time,
            self.log.id_hex()
        );
        let mut set = self.set_by.sign(payload.as_bytes());
        if self.tamper_set {
            let last = set.len() - 1;
            set[last] ^= 1;
        }

        let mut out = Vec::new();
        pb_int(1, log_index, &mut out);
        let mut log_id = Vec::new();
        pb_bytes(1, &self.log.id, &mut log_id);
        pb_bytes(2, &log_id, &mut out);
        let mut kind = Vec::new();
        pb_bytes(1, b"hashedrekord", &mut kind);
        pb_bytes(2, b"0.0.1", &mut kind);
        pb_bytes(3, &kind, &mut out);
        pb_int(4, self.integrated_time, &mut out);
        let mut promise = Vec::new();
        pb_bytes(1, &set, &mut promise);
        pb_bytes(5, &promise, &mut out);
        if self.proof {
            let mut p = Vec::new();
            pb_int(1, index as i64, &mut p);
            pb_bytes(2, &root, &mut p);
            pb_int(3, size as i64, &mut p);
            for h in &hashes {
                pb_bytes(4, h, &mut p);
            }
            let mut cp = Vec::new();
            pb_bytes(1, envelope.as_bytes(), &mut cp);
            pb_bytes(5, &cp, &mut p);
            pb_bytes(6, &p, &mut out);
        }
        if self.with_body {
            pb_bytes(7, body, &mut out);
        }
        out
    }

    /// `cms` (DER) with this entry, logged for `logged` (DER), attached; armored.
    fn attach(&self, cms: &[u8], logged: &[u8], cert_pem: &[u8]) -> Vec<u8> {
        let entry = self.encode(&Entry::body(logged, cert_pem));
        armor(&add_unsigned(cms, REKOR_OID, &entry))
    }
}

struct Setup {
    fulcio: Pki,
    cert_pem: Vec<u8>,
    /// The gitsign-like signature over PAYLOAD, DER, without an entry.
    cms: Vec<u8>,
}

fn setup() -> Setup {
    let fulcio = Pki::new("sigstore");
    let user = fulcio.issue(
        "gitsign",
        &format!(
            "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n\
             extendedKeyUsage=codeSigning\nsubjectAltName=critical,email:alice@example.com\n\
             1.3.6.1.4.1.57264.1.8=ASN1:UTF8String:{ISSUER}\n"
        ),
        1,
    );
    let cms = dearmor(&fulcio.openssl_sign("gitsign", PAYLOAD, &[]));
    Setup {
        cert_pem: user.pem,
        cms,
        fulcio,
    }
}

fn keyring(s: &Setup, logs: &[&Log]) -> Keyring {
    let mut k = Keyring::new();
    k.add_sigstore_root(&s.fulcio.root_pem)
        .expect("fulcio root");
    k.add_sigstore_identity("alice", "alice@example.com", ISSUER)
        .expect("identity");
    for log in logs {
        let id = k.add_rekor_key(&log.pem).expect("rekor key");
        assert_eq!(id, log.id_hex());
    }
    k
}

fn detail(check: &rules::facts::SignatureCheck) -> &str {
    check.detail.as_deref().unwrap_or_default()
}

#[test]
fn sigstore_rekor_entry_gives_the_signing_time() {
    let s = setup();
    let log = Log::new();
    let k = keyring(&s, &[&log]);
    let entry = Entry::new(&log);
    let sig = entry.attach(&s.cms, &s.cms, &s.cert_pem);

    // The certificate lives one day; received 20 days later, it was valid when logged.
    for received in [now() + 120, now() + 20 * DAY] {
        let check = k.verify(&sig, PAYLOAD, received);
        assert_eq!(check.verdict, KeyVerdict::Good, "{check:?}");
        assert_eq!(check.identity.as_deref(), Some("alice"));
        assert_eq!(check.signed_at, Some(entry.integrated_time), "{check:?}");
        assert!(
            detail(&check).contains("Rekor log entry 18197167")
                && detail(&check).contains("inclusion proof and checkpoint verified"),
            "{check:?}"
        );
    }
    // The payload is still checked.
    let check = k.verify(&sig, &tampered(), now());
    assert_eq!(check.verdict, KeyVerdict::BadSignature, "{check:?}");

    // The body itself in the entry (as the protobuf allows) is fine when it is this one.
    let with_body = Entry {
        with_body: true,
        ..Entry::new(&log)
    };
    let sig = with_body.attach(&s.cms, &s.cms, &s.cert_pem);
    let check = k.verify(&sig, PAYLOAD, now() + 20 * DAY);
    assert_eq!(check.verdict, KeyVerdict::Good, "{check:?}");

    // Without an inclusion proof, the SET alone establishes the time.
    let no_proof = Entry {
        proof: false,
        ..Entry::new(&log)
    };
    let sig = no_proof.attach(&s.cms, &s.cms, &s.cert_pem);
    let check = k.verify(&sig, PAYLOAD, now() + 20 * DAY);
    assert_eq!(check.verdict, KeyVerdict::Good, "{check:?}");
    assert!(detail(&check).contains("no inclusion proof"), "{check:?}");

    // A second log key does not disturb the first.
    let other = Log::new();
    let k2 = keyring(&s, &[&other, &log]);
    let sig = entry.attach(&s.cms, &s.cms, &s.cert_pem);
    assert_eq!(
        k2.verify(&sig, PAYLOAD, now() + 20 * DAY).verdict,
        KeyVerdict::Good
    );
}

#[test]
fn sigstore_spoiled_entries_are_bad_signatures() {
    let s = setup();
    let log = Log::new();
    let other = Log::new();
    let k = keyring(&s, &[&log]);
    let later = now() + 20 * DAY;
    let bad = |entry: Entry<'_>, logged: &[u8], want: &str| {
        let sig = entry.attach(&s.cms, logged, &s.cert_pem);
        let check = k.verify(&sig, PAYLOAD, later);
        assert_eq!(check.verdict, KeyVerdict::BadSignature, "{want}: {check:?}");
        assert!(detail(&check).contains(want), "{want}: {check:?}");
        assert_eq!(check.identity.as_deref(), Some("alice"));
    };

    bad(
        Entry {
            tamper_set: true,
            ..Entry::new(&log)
        },
        &s.cms,
        "signed entry timestamp of Rekor entry 18197167 does not verify",
    );
    // The SET signed by another key, under the trusted log's id.
    bad(
        Entry {
            set_by: &other,
            ..Entry::new(&log)
        },
        &s.cms,
        "does not verify with the log key",
    );
    // A genuine entry, for another signature by the same certificate: replayed.
    let another = dearmor(&s.fulcio.openssl_sign("gitsign", b"another commit\n", &[]));
    bad(
        Entry::new(&log),
        &another,
        "signed entry timestamp of Rekor entry 18197167 does not verify",
    );
    bad(
        Entry {
            with_body: true,
            ..Entry::new(&log)
        },
        &another,
        "body of the Rekor entry is not this signature's hashedrekord",
    );
    bad(
        Entry {
            wrong_sibling: true,
            ..Entry::new(&log)
        },
        &s.cms,
        "inclusion proof does not lead to the root hash",
    );
    bad(
        Entry {
            checkpoint_by: &other,
            ..Entry::new(&log)
        },
        &s.cms,
        "checkpoint of \"rekor.test - 1193050959916656506\" is not signed by the Rekor key",
    );
    bad(
        Entry {
            checkpoint_size_off: true,
            ..Entry::new(&log)
        },
        &s.cms,
        "the checkpoint is for a tree of 8 leaves",
    );
}

#[test]
fn sigstore_unknown_log_is_unknown_key() {
    let s = setup();
    let log = Log::new();
    let other = Log::new();
    let sig = Entry::new(&log).attach(&s.cms, &s.cms, &s.cert_pem);

    // No Rekor key, or another one, in the policy.
    for k in [keyring(&s, &[]), keyring(&s, &[&other])] {
        let check = k.verify(&sig, PAYLOAD, now());
        assert_eq!(check.verdict, KeyVerdict::UnknownKey, "{check:?}");
        assert!(
            detail(&check).contains(&format!("from log {}", log.id_hex())),
            "{check:?}"
        );
    }
    // With trust_signing_time, the signer's signingTime is used instead, and said so.
    let mut k = keyring(&s, &[&other]);
    k.set_sigstore_trust_signing_time(true);
    let check = k.verify(&sig, PAYLOAD, now() + 20 * DAY);
    assert_eq!(check.verdict, KeyVerdict::Good, "{check:?}");
    assert!(
        detail(&check).contains("so the signer's signingTime is used"),
        "{check:?}"
    );
}

#[test]
fn sigstore_certificate_is_judged_at_the_integrated_time() {
    let s = setup();
    let log = Log::new();
    let k = keyring(&s, &[&log]);
    let judge = |integrated_time: i64, received: i64| {
        let entry = Entry {
            integrated_time,
            ..Entry::new(&log)
        };
        k.verify(
            &entry.attach(&s.cms, &s.cms, &s.cert_pem),
            PAYLOAD,
            received,
        )
    };
    // Logged after the one-day certificate expired.
    let check = judge(now() + 2 * DAY, now() + 3 * DAY);
    assert_eq!(check.verdict, KeyVerdict::ExpiredKey, "{check:?}");
    assert!(detail(&check).contains("per Rekor log entry"), "{check:?}");
    // Logged before the certificate was issued.
    let check = judge(now() - DAY, now());
    assert_eq!(check.verdict, KeyVerdict::KeyNotYetValid, "{check:?}");
    // Logged (so Rekor says) after the push was received, beyond clock skew.
    let check = judge(now() + 3600, now());
    assert_eq!(check.verdict, KeyVerdict::KeyNotYetValid, "{check:?}");
    assert!(detail(&check).contains("after receive time"), "{check:?}");
}

#[test]
fn sigstore_without_entry_is_unsupported_and_garbage_is_malformed() {
    let s = setup();
    let log = Log::new();
    let k = keyring(&s, &[&log]);
    let check = k.verify(&armor(&s.cms), PAYLOAD, now());
    assert_eq!(check.verdict, KeyVerdict::UnsupportedFormat, "{check:?}");
    assert!(
        detail(&check).contains("carries no Rekor log entry")
            && detail(&check).contains("does not trust the signer's own signingTime"),
        "{check:?}"
    );

    // An attribute that is not a TransparencyLogEntry.
    let sig = armor(&add_unsigned(&s.cms, REKOR_OID, &[0x0a, 0x05, 0x01]));
    let check = k.verify(&sig, PAYLOAD, now());
    assert_eq!(check.verdict, KeyVerdict::Malformed, "{check:?}");
    assert!(
        detail(&check).contains("cannot read the Rekor log entry"),
        "{check:?}"
    );

    // Every truncation of the entry: a verdict, never a panic, never good.
    let entry = Entry::new(&log).encode(&Entry::body(&s.cms, &s.cert_pem));
    for cut in (0..entry.len()).step_by(7) {
        let sig = armor(&add_unsigned(&s.cms, REKOR_OID, &entry[..cut]));
        let check = k.verify(&sig, PAYLOAD, now() + 20 * DAY);
        assert_ne!(check.verdict, KeyVerdict::Good, "cut at {cut}");
    }
}

#[test]
fn sigstore_rekor_key_errors() {
    let mut k = Keyring::new();
    assert!(k.add_rekor_key(b"not a key").is_err());
    let rsa = openssl::rsa::Rsa::generate(2048).expect("rsa");
    let pem = PKey::from_rsa(rsa)
        .expect("pkey")
        .public_key_to_pem()
        .expect("pem");
    let err = k.add_rekor_key(&pem).expect_err("RSA refused");
    assert!(err.to_string().contains("ECDSA or Ed25519"), "{err}");
    let ed = PKey::generate_ed25519().expect("ed25519");
    let id = k
        .add_rekor_key(&ed.public_key_to_pem().expect("pem"))
        .expect("ed25519 key");
    assert_eq!(id.len(), 64);
}

/// A real gitsign offline-mode commit (sigstore/gitsign `internal/e2e/testdata/offline.commit`,
/// signed on 2023-06-05 through the public-good Fulcio and Rekor), with the public Fulcio v1
/// root and intermediate and the public Rekor key (fixtures in `data/gitsign/`, see its
/// README). This pins our rebuilt hashedrekord body, SET payload, proof and checkpoint to what
/// the real services produced, byte for byte.
#[test]
fn sigstore_real_gitsign_offline_commit_verifies() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/data/gitsign");
    let read = |f: &str| std::fs::read(dir.join(f)).expect("fixture");
    let (signature, payload) = crate::git::split_commit(&read("offline.commit"));
    let mut k = Keyring::new();
    k.add_sigstore_root(&read("fulcio-root.pem")).expect("root");
    k.add_sigstore_root(&read("fulcio-intermediate.pem"))
        .expect("intermediate");
    let log = k.add_rekor_key(&read("rekor.pub")).expect("rekor key");
    assert_eq!(
        log,
        "c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d"
    );
    k.add_sigstore_identity(
        "billy",
        "billy@chainguard.dev",
        "https://accounts.google.com",
    )
    .expect("identity");
    // The Fulcio certificate lived ten minutes in 2023; receive time is today.
    let check = k.verify(&signature, &payload, now());
    assert_eq!(check.verdict, KeyVerdict::Good, "{check:?}");
    assert_eq!(check.identity.as_deref(), Some("billy"));
    let t = check.signed_at.expect("integrated time");
    assert!((1_685_981_470..1_685_981_500).contains(&t), "{t}");
    assert!(detail(&check).contains("Rekor"), "{check:?}");
    // One changed byte of the commit, or another identity's policy, and it is not good.
    let mut other = payload.clone();
    other[0] ^= 1;
    assert_eq!(
        k.verify(&signature, &other, now()).verdict,
        KeyVerdict::BadSignature
    );
    let mut no_log = Keyring::new();
    no_log
        .add_sigstore_root(&read("fulcio-intermediate.pem"))
        .expect("intermediate");
    no_log
        .add_sigstore_identity(
            "billy",
            "billy@chainguard.dev",
            "https://accounts.google.com",
        )
        .expect("identity");
    assert_eq!(
        no_log.verify(&signature, &payload, now()).verdict,
        KeyVerdict::UnknownKey,
        "a Rekor log the policy does not list"
    );
}

// ---- RFC 3161 timestamps (gitsign's GITSIGN_TIMESTAMP_SERVER_URL), made by `openssl ts` ----

/// 1.2.840.113549.1.9.16.2.14 (id-aa-timeStampToken)
const TIMESTAMP_OID: &[u8] = &[
    0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x10, 0x02, 0x0e,
];

/// Adds an unsigned attribute `oid` whose one value is `value` (DER, as is).
fn add_unsigned_raw(cms: &[u8], oid: &[u8], value: &[u8]) -> Vec<u8> {
    let mut fields = signer_info(cms);
    let attr = der(0x30, &[der(0x06, oid), der(0x31, value)].concat());
    match fields.iter_mut().find(|(t, _)| *t == 0xa1) {
        Some(f) => f.1.extend(attr),
        None => fields.push((0xa1, attr)),
    }
    with_signer_info(cms, &fields)
}

/// A timestamping authority: a root and a TSA certificate (timeStamping, critical).
fn tsa() -> Pki {
    let pki = Pki::new("Test TSA Root");
    pki.issue(
        "tsa",
        "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,nonRepudiation\n\
         extendedKeyUsage=critical,timeStamping\n",
        30,
    );
    std::fs::write(
        pki.dir().join("ts.cnf"),
        "[tsa]\ndefault_tsa = t\n[t]\nserial = ./tsaserial\nsigner_digest = sha256\n\
         default_policy = 1.2.3.4.1\ndigests = sha256, sha384, sha512\naccuracy = secs:1\n\
         ess_cert_id_alg = sha256\n",
    )
    .expect("ts.cnf");
    pki
}

/// `openssl ts -query` over `data` then `openssl ts -reply -token_out` by `tsa`: the token, DER.
fn timestamp(tsa: &Pki, data: &[u8]) -> Vec<u8> {
    let d = tsa.dir();
    std::fs::write(d.join("data.bin"), data).expect("data");
    let run = |args: &[&str]| {
        let out = std::process::Command::new("openssl")
            .current_dir(d)
            .args(args)
            .output()
            .expect("openssl ts");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&[
        "ts", "-query", "-data", "data.bin", "-sha256", "-cert", "-out", "q.tsq",
    ]);
    run(&[
        "ts",
        "-reply",
        "-config",
        "ts.cnf",
        "-queryfile",
        "q.tsq",
        "-signer",
        "tsa.pem",
        "-inkey",
        "tsa.key",
        "-token_out",
        "-out",
        "token.der",
    ]);
    std::fs::read(d.join("token.der")).expect("token")
}

#[test]
fn sigstore_rfc3161_timestamp_gives_the_signing_time() {
    let s = setup();
    let authority = tsa();
    let (_, signature) = signed_parts(&s.cms);
    let token = timestamp(&authority, &signature);
    let sig = armor(&add_unsigned_raw(&s.cms, TIMESTAMP_OID, &token));
    let mut k = keyring(&s, &[]);
    k.add_tsa_root(&authority.root_pem).expect("TSA root");

    // The certificate lives one day; received 20 days later, the timestamp says when.
    let check = k.verify(&sig, PAYLOAD, now() + 20 * DAY);
    assert_eq!(check.verdict, KeyVerdict::Good, "{check:?}");
    assert!(detail(&check).contains("RFC 3161 timestamp"), "{check:?}");
    let t = check.signed_at.expect("genTime");
    assert!((t - now()).abs() < 600, "{t}");
    // Tampered payload: the signature itself fails first.
    assert_eq!(
        k.verify(&sig, &tampered(), now()).verdict,
        KeyVerdict::BadSignature
    );

    // A token for another signature cannot be moved here.
    let other = timestamp(&authority, b"another signature value");
    let moved = armor(&add_unsigned_raw(&s.cms, TIMESTAMP_OID, &other));
    let check = k.verify(&moved, PAYLOAD, now());
    assert_eq!(check.verdict, KeyVerdict::BadSignature, "{check:?}");
    assert!(detail(&check).contains("another signature"), "{check:?}");

    // A TSA the policy does not trust.
    let stranger = tsa();
    let foreign = armor(&add_unsigned_raw(
        &s.cms,
        TIMESTAMP_OID,
        &timestamp(&stranger, &signature),
    ));
    let check = k.verify(&foreign, PAYLOAD, now());
    assert_eq!(check.verdict, KeyVerdict::UnknownKey, "{check:?}");
    assert!(
        detail(&check).contains("timestamping authority"),
        "{check:?}"
    );

    // A token whose TSTInfo was altered no longer verifies (one byte of its genTime).
    let at = token
        .windows(17)
        .position(|w| {
            w[..2] == [0x18, 15] && w[2..16].iter().all(u8::is_ascii_digit) && w[16] == b'Z'
        })
        .expect("the TSTInfo's genTime, GeneralizedTime of 15 bytes");
    let mut altered = token.clone();
    altered[at + 15] ^= 1; // the seconds' last digit
    let check = k.verify(
        &armor(&add_unsigned_raw(&s.cms, TIMESTAMP_OID, &altered)),
        PAYLOAD,
        now(),
    );
    assert_eq!(check.verdict, KeyVerdict::BadSignature, "{check:?}");

    // Without a TSA root in the policy, a timestamped signature is not judged by it.
    let check = keyring(&s, &[]).verify(&sig, PAYLOAD, now());
    assert_eq!(check.verdict, KeyVerdict::UnknownKey, "{check:?}");
}
