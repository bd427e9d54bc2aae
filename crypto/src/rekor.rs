//! Offline verification of the Rekor transparency-log entry that Sigstore gitsign stores in its
//! signatures, to learn a *trusted* signing time for the short-lived Fulcio certificate.
//!
//! gitsign (offline mode, the default since v0.7) logs a `hashedrekord` v0.0.1 entry in Rekor
//! and keeps Rekor's answer in the CMS signature, as an unsigned attribute
//! (OID 1.3.6.1.4.1.57264.3.1) whose value is an OCTET STRING holding the protobuf
//! `dev.sigstore.rekor.v1.TransparencyLogEntry` (sigstore/protobuf-specs,
//! `protos/sigstore_rekor.proto`). gitsign clears `canonicalized_body`: the verifier rebuilds it
//! from the signature itself, as gitsign's `internal/rekor/oid` does:
//!
//! ```text
//! {"apiVersion":"0.0.1","kind":"hashedrekord","spec":{"data":{"hash":{"algorithm":"sha256",
//!  "value":HEX(SHA-256(signed attributes DER))}},"signature":{"content":BASE64(signature value),
//!  "publicKey":{"content":BASE64(PEM of the signing certificate)}}}}
//! ```
//!
//! (RFC 8785 canonical JSON, one line, keys in that order.) Checked, all offline:
//!
//! 1. The signed entry timestamp (SET, `inclusion_promise`): the log key named by `log_id`
//!    (SHA-256 of its DER SubjectPublicKeyInfo) signs the canonical JSON
//!    `{"body":BASE64(body),"integratedTime":N,"logID":HEX(log_id),"logIndex":N}` (cosign
//!    `VerifySET`). This is what makes `integrated_time` trustworthy.
//! 2. When an inclusion proof is present: RFC 6962 / RFC 9162 inclusion of
//!    `SHA-256(0x00 || body)` at `inclusion_proof.log_index` in a tree of `tree_size` leaves
//!    with root `root_hash` (nodes `SHA-256(0x01 || left || right)`), and the checkpoint, a
//!    signed note (`origin\nsize\nBASE64(root)\n[other lines\n]\n— name BASE64(keyhint || sig)\n`,
//!    key hint = first 4 bytes of the log id), signed by the same log key over the note text,
//!    for the same size and root.

use openssl::hash::MessageDigest;
use openssl::pkey::{Id, PKey, Public};
use openssl::sign::Verifier;

/// A trusted Rekor log key.
pub(crate) struct RekorKey {
    /// SHA-256 of the DER SubjectPublicKeyInfo.
    pub log_id: [u8; 32],
    key: PKey<Public>,
}

impl RekorKey {
    /// Reads a PEM public key (`-----BEGIN PUBLIC KEY-----`): ECDSA (verified with SHA-256, as
    /// Rekor signs) or Ed25519.
    pub(crate) fn from_pem(pem: &[u8]) -> Result<RekorKey, String> {
        let key =
            PKey::public_key_from_pem(pem).map_err(|e| format!("not a PEM public key: {e}"))?;
        match key.id() {
            Id::EC | Id::ED25519 => {}
            other => {
                return Err(format!(
                    "key type {other:?} is not supported for a Rekor log (ECDSA or Ed25519)"
                ))
            }
        }
        let der = key.public_key_to_der().map_err(|e| e.to_string())?;
        Ok(RekorKey {
            log_id: openssl::sha::sha256(&der),
            key,
        })
    }

    pub(crate) fn log_id_hex(&self) -> String {
        hex(&self.log_id)
    }

    /// Does `sig` by this key verify over `message`?
    fn verifies(&self, message: &[u8], sig: &[u8]) -> bool {
        let result = if self.key.id() == Id::ED25519 {
            Verifier::new_without_digest(&self.key).and_then(|mut v| v.verify_oneshot(sig, message))
        } else {
            Verifier::new(MessageDigest::sha256(), &self.key).and_then(|mut v| {
                v.update(message)?;
                v.verify(sig)
            })
        };
        result.unwrap_or(false)
    }
}

pub(crate) fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// `dev.sigstore.rekor.v1.TransparencyLogEntry`, the fields pushguard uses.
#[derive(Debug, Default)]
pub(crate) struct Entry {
    pub log_index: i64,
    pub log_id: Vec<u8>,
    /// `kind_version`: (kind, version), when present.
    pub kind: Option<(String, String)>,
    pub integrated_time: i64,
    /// `inclusion_promise.signed_entry_timestamp`.
    pub set: Option<Vec<u8>>,
    pub proof: Option<Proof>,
    /// `canonicalized_body`; empty when the signer left it out (gitsign does).
    pub body: Vec<u8>,
}

/// `dev.sigstore.rekor.v1.InclusionProof`.
#[derive(Debug, Default)]
pub(crate) struct Proof {
    pub log_index: i64,
    pub root_hash: Vec<u8>,
    pub tree_size: i64,
    pub hashes: Vec<Vec<u8>>,
    /// `checkpoint.envelope`.
    pub checkpoint: Option<String>,
}

/// A tiny protobuf reader: (field number, value) pairs of one message.
enum Value<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
}

fn varint(b: &mut &[u8]) -> Option<u64> {
    let mut out = 0u64;
    for i in 0..10 {
        let (&byte, rest) = b.split_first()?;
        *b = rest;
        out |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some(out);
        }
    }
    None
}

/// Every field of a protobuf message, in order; unknown wire types are an error, fixed-size
/// fields are skipped.
fn fields(mut b: &[u8]) -> Result<Vec<(u64, Value<'_>)>, String> {
    let mut out = Vec::new();
    while !b.is_empty() {
        let key = varint(&mut b).ok_or("truncated field key")?;
        let (number, wire) = (key >> 3, key & 7);
        match wire {
            0 => out.push((
                number,
                Value::Varint(varint(&mut b).ok_or("truncated varint")?),
            )),
            1 | 5 => {
                let n = if wire == 1 { 8 } else { 4 };
                b = b.get(n..).ok_or("truncated fixed field")?;
            }
            2 => {
                let len = usize::try_from(varint(&mut b).ok_or("truncated length")?)
                    .map_err(|_| "length out of range")?;
                let v = b.get(..len).ok_or("truncated bytes field")?;
                b = &b[len..];
                out.push((number, Value::Bytes(v)));
            }
            w => return Err(format!("field {number} has wire type {w}")),
        }
    }
    Ok(out)
}

fn int64(v: &Value<'_>, what: &str) -> Result<i64, String> {
    match v {
        Value::Varint(x) => i64::try_from(*x).map_err(|_| format!("{what} is negative")),
        Value::Bytes(_) => Err(format!("{what} is not an integer")),
    }
}

fn bytes<'a>(v: &Value<'a>, what: &str) -> Result<&'a [u8], String> {
    match v {
        Value::Bytes(b) => Ok(b),
        Value::Varint(_) => Err(format!("{what} is not a length-delimited field")),
    }
}

fn string(v: &Value<'_>, what: &str) -> Result<String, String> {
    String::from_utf8(bytes(v, what)?.to_vec()).map_err(|_| format!("{what} is not UTF-8"))
}

/// Parses a serialized `TransparencyLogEntry`.
pub(crate) fn parse_entry(b: &[u8]) -> Result<Entry, String> {
    let mut e = Entry::default();
    for (n, v) in fields(b)? {
        match n {
            1 => e.log_index = int64(&v, "log_index")?,
            2 => {
                for (m, w) in fields(bytes(&v, "log_id")?)? {
                    if m == 1 {
                        e.log_id = bytes(&w, "log_id.key_id")?.to_vec();
                    }
                }
            }
            3 => {
                let (mut kind, mut version) = (String::new(), String::new());
                for (m, w) in fields(bytes(&v, "kind_version")?)? {
                    match m {
                        1 => kind = string(&w, "kind")?,
                        2 => version = string(&w, "version")?,
                        _ => {}
                    }
                }
                e.kind = Some((kind, version));
            }
            4 => e.integrated_time = int64(&v, "integrated_time")?,
            5 => {
                for (m, w) in fields(bytes(&v, "inclusion_promise")?)? {
                    if m == 1 {
                        e.set = Some(bytes(&w, "signed_entry_timestamp")?.to_vec());
                    }
                }
            }
            6 => {
                let mut p = Proof::default();
                for (m, w) in fields(bytes(&v, "inclusion_proof")?)? {
                    match m {
                        1 => p.log_index = int64(&w, "inclusion_proof.log_index")?,
                        2 => p.root_hash = bytes(&w, "root_hash")?.to_vec(),
                        3 => p.tree_size = int64(&w, "tree_size")?,
                        4 => p.hashes.push(bytes(&w, "hashes")?.to_vec()),
                        5 => {
                            for (k, x) in fields(bytes(&w, "checkpoint")?)? {
                                if k == 1 {
                                    p.checkpoint = Some(string(&x, "checkpoint.envelope")?);
                                }
                            }
                        }
                        _ => {}
                    }
                }
                e.proof = Some(p);
            }
            7 => e.body = bytes(&v, "canonicalized_body")?.to_vec(),
            _ => {}
        }
    }
    Ok(e)
}

/// The canonical `hashedrekord` v0.0.1 body Rekor logged for a signature `signature` over
/// `signed` (the signed attributes DER) by the certificate `cert_pem`.
pub(crate) fn hashedrekord_body(signed: &[u8], signature: &[u8], cert_pem: &[u8]) -> Vec<u8> {
    format!(
        "{{\"apiVersion\":\"0.0.1\",\"kind\":\"hashedrekord\",\"spec\":{{\"data\":{{\"hash\":{{\"algorithm\":\"sha256\",\"value\":\"{}\"}}}},\"signature\":{{\"content\":\"{}\",\"publicKey\":{{\"content\":\"{}\"}}}}}}}}",
        hex(&openssl::sha::sha256(signed)),
        openssl::base64::encode_block(signature),
        openssl::base64::encode_block(cert_pem),
    )
    .into_bytes()
}

/// Why an entry does not establish a time.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The log key is not in the policy.
    UnknownLog(String),
    /// The entry is not Rekor's word for this signature: forged, altered or replayed.
    Bad(String),
    /// The entry is of a kind pushguard does not verify, or lacks its SET.
    Unsupported(String),
}

/// What a verified entry proves.
#[derive(Debug)]
pub(crate) struct Verified {
    pub integrated_time: i64,
    pub log_index: i64,
    pub log_id: String,
    /// An inclusion proof and its checkpoint were verified too.
    pub proven: bool,
}

/// Verifies `entry` for the hashedrekord `expected_body` against the trusted `keys`.
pub(crate) fn verify(
    entry: &Entry,
    expected_body: &[u8],
    keys: &[RekorKey],
) -> Result<Verified, Failure> {
    if let Some((kind, version)) = &entry.kind {
        if kind != "hashedrekord" || version != "0.0.1" {
            return Err(Failure::Unsupported(format!(
                "the Rekor entry is of kind {kind} {version}; pushguard verifies hashedrekord 0.0.1"
            )));
        }
    }
    if !entry.body.is_empty() && entry.body != expected_body {
        return Err(Failure::Bad(
            "the body of the Rekor entry is not this signature's hashedrekord (another signature, certificate or content)".into(),
        ));
    }
    let log_id = hex(&entry.log_id);
    let Some(key) = keys.iter().find(|k| k.log_id[..] == entry.log_id[..]) else {
        return Err(Failure::UnknownLog(format!(
            "the Rekor entry is from log {log_id}, whose key the policy does not list (trust.sigstore.rekor_keys)"
        )));
    };
    let Some(set) = &entry.set else {
        return Err(Failure::Unsupported(
            "the Rekor entry has no signed entry timestamp, without which its time is not Rekor's word".into(),
        ));
    };
    let body_b64 = openssl::base64::encode_block(expected_body);
    let payload = format!(
        "{{\"body\":\"{body_b64}\",\"integratedTime\":{},\"logID\":\"{log_id}\",\"logIndex\":{}}}",
        entry.integrated_time, entry.log_index
    );
    if !key.verifies(payload.as_bytes(), set) {
        return Err(Failure::Bad(format!(
            "the signed entry timestamp of Rekor entry {} does not verify with the log key {log_id} (entry altered, or logged for another signature)",
            entry.log_index
        )));
    }
    let mut proven = false;
    if let Some(proof) = &entry.proof {
        verify_proof(proof, expected_body, key).map_err(Failure::Bad)?;
        proven = true;
    }
    Ok(Verified {
        integrated_time: entry.integrated_time,
        log_index: entry.log_index,
        log_id,
        proven,
    })
}

fn leaf_hash(body: &[u8]) -> [u8; 32] {
    let mut b = Vec::with_capacity(body.len() + 1);
    b.push(0);
    b.extend_from_slice(body);
    openssl::sha::sha256(&b)
}

fn node_hash(left: &[u8], right: &[u8]) -> [u8; 32] {
    let mut h = openssl::sha::Sha256::new();
    h.update(&[1]);
    h.update(left);
    h.update(right);
    h.finish()
}

/// The root an RFC 6962 inclusion proof leads to (the algorithm of RFC 9162 2.1.3.2).
pub(crate) fn root_from_proof(
    index: u64,
    size: u64,
    leaf: [u8; 32],
    hashes: &[Vec<u8>],
) -> Result<[u8; 32], String> {
    if index >= size {
        return Err(format!("leaf index {index} is not below tree size {size}"));
    }
    // Inner part: the levels where the path to the leaf and to the last leaf differ.
    let inner = (64 - (index ^ (size - 1)).leading_zeros()) as usize;
    let border = (index >> inner).count_ones() as usize;
    if hashes.len() != inner + border {
        return Err(format!(
            "the inclusion proof has {} hashes; a leaf at {index} of {size} needs {}",
            hashes.len(),
            inner + border
        ));
    }
    let mut h = leaf;
    for (i, sibling) in hashes.iter().enumerate() {
        if sibling.len() != 32 {
            return Err("an inclusion proof hash is not 32 bytes".into());
        }
        h = if i < inner && (index >> i) & 1 == 0 {
            node_hash(&h, sibling)
        } else {
            node_hash(sibling, &h)
        };
    }
    Ok(h)
}

fn verify_proof(proof: &Proof, body: &[u8], key: &RekorKey) -> Result<(), String> {
    let (Ok(index), Ok(size)) = (
        u64::try_from(proof.log_index),
        u64::try_from(proof.tree_size),
    ) else {
        return Err("the inclusion proof has a negative index or size".into());
    };
    let root = root_from_proof(index, size, leaf_hash(body), &proof.hashes)
        .map_err(|e| format!("inclusion proof: {e}"))?;
    if root[..] != proof.root_hash[..] {
        return Err(format!(
            "the inclusion proof does not lead to the root hash it names ({} ≠ {})",
            hex(&root),
            hex(&proof.root_hash)
        ));
    }
    let Some(envelope) = &proof.checkpoint else {
        return Err("the inclusion proof has no checkpoint".into());
    };
    let (cp_size, cp_root) = verify_checkpoint(envelope, key)?;
    if cp_size != size || cp_root != proof.root_hash {
        return Err(format!(
            "the checkpoint is for a tree of {cp_size} leaves with root {}, the inclusion proof for {size} leaves with root {}",
            hex(&cp_root),
            hex(&proof.root_hash)
        ));
    }
    Ok(())
}

/// Verifies a signed-note checkpoint with `key`; returns its tree size and root hash.
fn verify_checkpoint(envelope: &str, key: &RekorKey) -> Result<(u64, Vec<u8>), String> {
    let malformed = |why: &str| format!("the checkpoint is malformed ({why})");
    let split = envelope
        .rfind("\n\n")
        .ok_or_else(|| malformed("no blank line before the signatures"))?;
    let (note, sigs) = (&envelope[..=split], &envelope[split + 2..]);
    if !sigs.ends_with('\n') {
        return Err(malformed("the signature lines do not end with a newline"));
    }
    let mut lines = note.split('\n');
    let origin = lines.next().unwrap_or_default();
    let size = lines.next().and_then(|l| l.parse::<u64>().ok());
    let root = lines
        .next()
        .and_then(|l| openssl::base64::decode_block(l).ok());
    let (Some(size), Some(root)) = (size, root) else {
        return Err(malformed("origin, tree size and root hash lines expected"));
    };
    if origin.is_empty() {
        return Err(malformed("empty origin"));
    }
    let mut signed = false;
    for line in sigs.lines() {
        let Some(rest) = line.strip_prefix("\u{2014} ") else {
            return Err(malformed("a signature line does not start with an em dash"));
        };
        let Some((_name, b64)) = rest.rsplit_once(' ') else {
            return Err(malformed("a signature line has no signature"));
        };
        let Ok(raw) = openssl::base64::decode_block(b64) else {
            return Err(malformed("a signature is not base64"));
        };
        if raw.len() > 4 && raw[..4] == key.log_id[..4] && key.verifies(note.as_bytes(), &raw[4..])
        {
            signed = true;
        }
    }
    if !signed {
        return Err(format!(
            "the checkpoint of {origin:?} is not signed by the Rekor key {}",
            key.log_id_hex()
        ));
    }
    Ok((size, root))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_and_garbage() {
        let mut b: &[u8] = &[0xaf, 0xd5, 0xd6, 0x08];
        assert_eq!(varint(&mut b), Some(18_197_167));
        // The head of the sample in gitsign's docs/verification.md.
        let e = parse_entry(&[
            0x08, 0xaf, 0xd5, 0xd6, 0x08, 0x20, 0xa1, 0xfc, 0xf5, 0xa1, 0x06,
        ])
        .expect("parses");
        assert_eq!(e.log_index, 18_197_167);
        assert_eq!(e.integrated_time, 1_681_751_585);
        for bad in [&[0x08][..], &[0x0a, 0x05, 0x01], &[0x0b], &[0xff; 11]] {
            assert!(parse_entry(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn proof_of_a_single_leaf_tree() {
        let leaf = leaf_hash(b"x");
        assert_eq!(root_from_proof(0, 1, leaf, &[]), Ok(leaf));
        assert!(root_from_proof(1, 1, leaf, &[]).is_err());
        assert!(root_from_proof(0, 2, leaf, &[]).is_err());
    }
}
