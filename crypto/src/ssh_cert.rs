//! SSH signatures made with an OpenSSH **certificate** (`ssh-keygen -Y sign -f key-cert.pub`),
//! checked against certificate authorities in the policy (`cert-authority` in allowed_signers,
//! or [`crate::Keyring::add_ssh_ca`]).
//!
//! ssh-key 0.6.7 cannot read an SSHSIG whose public key is a certificate, and its
//! `Certificate` parser refuses the `valid_before` that `ssh-keygen -s` writes for "forever"
//! (`0xFFFF_FFFF_FFFF_FFFF`, above its `i64::MAX` limit). So we walk both blobs ourselves
//! (PROTOCOL.sshsig, PROTOCOL.certkeys), with exact lengths, and use ssh-key only for the key
//! material and the signature arithmetic:
//!
//! 1. the CA key (the certificate's `signature key`) must be a configured CA;
//! 2. the CA's signature over the certificate's to-be-signed bytes must verify;
//! 3. it must be a *user* certificate without unknown critical options;
//! 4. one of its principals must match the CA's principal patterns and map to an identity;
//! 5. the SSHSIG must verify with the certified key;
//! 6. at `now` (receive time): `valid_after <= now < valid_before` (as OpenSSH), and the CA's
//!    own window and namespaces (allowed_signers options) must allow it.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use rules::facts::{KeyVerdict, SignatureCheck, SignatureFormat};
use ssh_key::public::KeyData;
use ssh_key::{Algorithm, HashAlg, PublicKey, Signature, SshSig};

use crate::ssh::{self, fingerprint, read_string, Grant, GIT_NAMESPACE};
use crate::ssh_openssl::OpensslKey;
use crate::ssh_revoked::SshRevocations;
use rules::calendar::format_date;

/// Key types of OpenSSH certificates end with this.
pub(crate) const CERT_SUFFIX: &str = "-cert-v01@openssh.com";

/// OpenSSH certificate type for user certificates (2 is host).
const SSH_CERT_TYPE_USER: u32 = 1;

/// Maps a certificate principal to a policy identity.
pub(crate) type PrincipalMap = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// One way a CA is trusted: which certificate principals, namespaces and time window.
#[derive(Clone)]
pub(crate) struct CaGrant {
    /// OpenSSH pattern list matched against each certificate principal (`*@example.com`).
    pub principals: String,
    /// Namespaces and time window of the CA key itself, as for a plain key.
    pub grant: Grant,
    /// Certificate principal → identity.
    pub identity_of: PrincipalMap,
}

impl fmt::Debug for CaGrant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CaGrant")
            .field("principals", &self.principals)
            .field("grant", &self.grant)
            .finish_non_exhaustive()
    }
}

/// The certificate authorities of the policy, by CA public key.
#[derive(Debug, Default)]
pub(crate) struct SshCas {
    cas: HashMap<KeyData, Vec<CaGrant>>,
}

impl SshCas {
    pub(crate) fn len(&self) -> usize {
        self.cas.len()
    }

    pub(crate) fn insert(&mut self, ca: KeyData, grant: CaGrant) {
        self.cas.entry(ca).or_default().push(grant);
    }

    /// Verifies an armored SSHSIG whose public key is a certificate.
    pub(crate) fn verify(
        &self,
        armored: &[u8],
        payload: &[u8],
        now: i64,
        revoked: &SshRevocations,
    ) -> SignatureCheck {
        let mut check = SignatureCheck {
            format: Some(SignatureFormat::Ssh),
            ..SignatureCheck::default()
        };
        let fail = |mut check: SignatureCheck, verdict, detail: String| {
            check.verdict = verdict;
            check.detail = Some(detail);
            check
        };
        let Some(blob) = ssh::armor_blob(armored) else {
            return fail(
                check,
                KeyVerdict::Malformed,
                "cannot read SSH certificate signature: bad armor or base64".into(),
            );
        };
        let parsed = match parse_sshsig(&blob) {
            Ok(p) => p,
            Err(why) => {
                return fail(
                    check,
                    KeyVerdict::Malformed,
                    format!("cannot read SSH certificate signature: {why}"),
                )
            }
        };
        let cert = match parse_certificate(parsed.public_key) {
            Ok(c) => c,
            Err(CertError::Unsupported(why)) => {
                return fail(check, KeyVerdict::UnsupportedFormat, why);
            }
            Err(CertError::Malformed(why)) => {
                return fail(
                    check,
                    KeyVerdict::Malformed,
                    format!("cannot read the SSH certificate in the signature: {why}"),
                )
            }
        };
        let key_fp = fingerprint(&cert.key);
        let ca_fp = fingerprint(&cert.ca);
        check.key = Some(key_fp.clone());
        let what = format!(
            "certificate {:?} (serial {}, key {key_fp}) from CA {ca_fp}",
            cert.key_id, cert.serial
        );

        if parsed.namespace != GIT_NAMESPACE {
            return fail(
                check,
                KeyVerdict::WrongNamespace,
                format!(
                    "signature was made for namespace {:?}, not \"git\"",
                    parsed.namespace
                ),
            );
        }
        let Some(grants) = self.cas.get(&cert.ca) else {
            return fail(
                check,
                KeyVerdict::UnknownKey,
                format!("{what}: the CA is not in the policy"),
            );
        };
        // The CA's signature over the certificate.
        if let Err(why) = verify_ca_signature(&cert) {
            return fail(
                check,
                KeyVerdict::BadSignature,
                format!("{what}: the CA signature on the certificate is invalid: {why}"),
            );
        }
        if let Some(bits) = ssh::weak_rsa_bits(&cert.key) {
            return fail(
                check,
                KeyVerdict::NotSigningKey,
                format!("{what} certifies an RSA key of {bits} bits; at least 2048 are required"),
            );
        }
        if cert.cert_type != SSH_CERT_TYPE_USER {
            return fail(
                check,
                KeyVerdict::NotSigningKey,
                format!("{what} is a host certificate, not a user certificate"),
            );
        }
        let mut verify_required = false;
        for name in &cert.critical_options {
            match name.as_str() {
                // Restrictions on login sessions; meaningless for a signature (ssh-keygen
                // -Y verify ignores them too).
                "force-command" | "source-address" => {}
                "verify-required" => verify_required = true,
                other => {
                    return fail(
                        check,
                        KeyVerdict::NotSigningKey,
                        format!("{what} has the unknown critical option {other:?}"),
                    )
                }
            }
        }
        // Principals → identity, through the grants whose patterns allow them.
        if cert.principals.is_empty() {
            return fail(
                check,
                KeyVerdict::UnknownKey,
                format!("{what} names no principal"),
            );
        }
        // Every (identity, grant) a principal reaches; a CA listed twice (two allowed_signers
        // lines) contributes every grant that matched.
        let mut identities: Vec<(String, &CaGrant)> = Vec::new();
        for g in grants {
            for p in &cert.principals {
                if !ssh::match_pattern_list(p, &g.principals) {
                    continue;
                }
                if let Some(id) = (g.identity_of)(p) {
                    if !identities
                        .iter()
                        .any(|(i, other)| *i == id && std::ptr::eq(*other, g))
                    {
                        identities.push((id, g));
                    }
                }
            }
        }
        let mut names: Vec<&str> = identities.iter().map(|(i, _)| i.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        let identity = match names.as_slice() {
            [] => {
                return fail(
                    check,
                    KeyVerdict::UnknownKey,
                    format!(
                        "{what}: no principal ({}) is allowed for this CA and known as an identity",
                        cert.principals.join(", ")
                    ),
                )
            }
            [id] => (*id).to_owned(),
            several => {
                return fail(
                    check,
                    KeyVerdict::UnknownKey,
                    format!(
                        "{what}: its principals name several identities ({}); a certificate must name one",
                        several.join(", ")
                    ),
                );
            }
        };
        check.identity = Some(identity.clone());

        // The signature itself, with the certified key.
        let hash = match HashAlg::new(parsed.hash_alg) {
            Ok(h) => h,
            Err(_) => {
                return fail(
                    check,
                    KeyVerdict::Malformed,
                    format!("unknown SSHSIG hash algorithm {:?}", parsed.hash_alg),
                )
            }
        };
        let signature = match decode_signature(parsed.signature) {
            Ok(s) => s,
            Err(why) => return fail(check, KeyVerdict::Malformed, why),
        };
        let sig = match SshSig::new(cert.key.clone(), GIT_NAMESPACE, hash, signature) {
            Ok(s) => s,
            Err(e) => return fail(check, KeyVerdict::Malformed, e.to_string()),
        };
        if let Err(why) = ssh::verify_with_key(
            &cert.key,
            OpensslKey::prepare(&cert.key).as_ref(),
            &sig,
            payload,
        ) {
            return fail(
                check,
                KeyVerdict::BadSignature,
                match why {
                    Some(why) => format!("signature by {what} is invalid: {why}"),
                    None => format!("signature by {what} does not match the signed data"),
                },
            );
        }
        let security_key = matches!(
            cert.key,
            KeyData::SkEd25519(_) | KeyData::SkEcdsaSha2NistP256(_)
        );
        let user_verified =
            security_key && ssh::sk_flags(&sig).is_some_and(|f| f & SK_USER_VERIFIED != 0);
        if verify_required && !user_verified {
            return fail(
                check,
                KeyVerdict::BadSignature,
                format!(
                    "{what} requires user verification (verify-required), the signature lacks it"
                ),
            );
        }

        if let Some(r) = revoked.certificate(&cert.ca, cert.serial, &cert.key_id, &cert.key) {
            return fail(check, KeyVerdict::RevokedKey, r.what);
        }

        // Time, at receive time. OpenSSH: valid_after <= now < valid_before.
        let now_u = u64::try_from(now).unwrap_or(0);
        if now_u < cert.valid_after {
            return fail(
                check,
                KeyVerdict::KeyNotYetValid,
                format!(
                    "{what} is only valid from {}",
                    format_u64_date(cert.valid_after)
                ),
            );
        }
        if now_u >= cert.valid_before {
            return fail(
                check,
                KeyVerdict::ExpiredKey,
                format!("{what} expired on {}", format_u64_date(cert.valid_before)),
            );
        }
        // The CA's own namespaces and window (allowed_signers options on the CA line).
        let ca_grants: Vec<Grant> = identities.iter().map(|(_, g)| g.grant.clone()).collect();
        let mut detail = None;
        check.verdict = ssh::judge_grants(&ca_grants, now, &format!("CA {ca_fp}"), &mut detail);
        check.detail = detail;
        check
    }
}

/// FIDO "user verified" flag (PIN or biometric).
const SK_USER_VERIFIED: u8 = 0x04;

fn format_u64_date(t: u64) -> String {
    format_date(i64::try_from(t).unwrap_or(i64::MAX))
}

/// The fields of an SSHSIG blob, borrowed.
struct RawSshSig<'a> {
    public_key: &'a [u8],
    namespace: &'a str,
    hash_alg: &'a str,
    signature: &'a [u8],
}

/// Walks an SSHSIG blob (PROTOCOL.sshsig) with exact lengths.
fn parse_sshsig(blob: &[u8]) -> Result<RawSshSig<'_>, &'static str> {
    let rest = blob.strip_prefix(b"SSHSIG").ok_or("no SSHSIG magic")?;
    let version = rest.get(..4).ok_or("truncated")?;
    if version != [0, 0, 0, 1] {
        return Err("SSHSIG version is not 1");
    }
    let (public_key, rest) = read_string(&rest[4..]).ok_or("truncated public key")?;
    let (namespace, rest) = read_string(rest).ok_or("truncated namespace")?;
    let (reserved, rest) = read_string(rest).ok_or("truncated reserved field")?;
    let (hash_alg, rest) = read_string(rest).ok_or("truncated hash algorithm")?;
    let (signature, rest) = read_string(rest).ok_or("truncated signature")?;
    if !rest.is_empty() {
        return Err("bytes after the signature");
    }
    if !reserved.is_empty() {
        return Err("reserved field is not empty");
    }
    Ok(RawSshSig {
        public_key,
        namespace: std::str::from_utf8(namespace).map_err(|_| "namespace is not UTF-8")?,
        hash_alg: std::str::from_utf8(hash_alg).map_err(|_| "hash algorithm is not UTF-8")?,
        signature,
    })
}

/// An OpenSSH certificate, parsed by hand.
struct Cert {
    /// The certified key.
    key: KeyData,
    serial: u64,
    cert_type: u32,
    key_id: String,
    principals: Vec<String>,
    valid_after: u64,
    valid_before: u64,
    /// Names of the critical options.
    critical_options: Vec<String>,
    /// The CA key.
    ca: KeyData,
    /// Everything the CA signed: the blob up to the signature field.
    tbs: Vec<u8>,
    /// The CA's signature blob (algorithm-prefixed).
    ca_signature: Vec<u8>,
}

enum CertError {
    Unsupported(String),
    Malformed(&'static str),
}

impl From<&'static str> for CertError {
    fn from(s: &'static str) -> Self {
        CertError::Malformed(s)
    }
}

fn read_u64(b: &[u8]) -> Option<(u64, &[u8])> {
    Some((
        u64::from_be_bytes(b.get(..8)?.try_into().ok()?),
        b.get(8..)?,
    ))
}

fn read_u32(b: &[u8]) -> Option<(u32, &[u8])> {
    Some((
        u32::from_be_bytes(b.get(..4)?.try_into().ok()?),
        b.get(4..)?,
    ))
}

/// Appends an SSH wire `string`.
fn put_string(out: &mut Vec<u8>, s: &[u8]) {
    out.extend_from_slice(&u32::try_from(s.len()).unwrap_or(u32::MAX).to_be_bytes());
    out.extend_from_slice(s);
}

/// Parses a certificate blob (PROTOCOL.certkeys).
fn parse_certificate(blob: &[u8]) -> Result<Cert, CertError> {
    let (cert_type_name, rest) = read_string(blob).ok_or("truncated key type")?;
    let cert_type_name =
        std::str::from_utf8(cert_type_name).map_err(|_| "key type is not UTF-8")?;
    let base = cert_type_name
        .strip_suffix(CERT_SUFFIX)
        .ok_or("not a certificate key type")?;
    // Number of key fields (all length-prefixed) after the nonce, per base key type.
    let fields = match base {
        "ssh-ed25519" => 1,
        "ecdsa-sha2-nistp256" | "ecdsa-sha2-nistp384" | "ssh-rsa" => 2,
        "sk-ssh-ed25519@openssh.com" => 2,
        "sk-ecdsa-sha2-nistp256@openssh.com" => 3,
        other => {
            return Err(CertError::Unsupported(format!(
                "SSH certificates for {other} keys are not supported"
            )))
        }
    };
    let (_nonce, mut rest) = read_string(rest).ok_or("truncated nonce")?;
    let mut plain = Vec::new();
    put_string(&mut plain, base.as_bytes());
    for _ in 0..fields {
        let (field, after) = read_string(rest).ok_or("truncated key")?;
        put_string(&mut plain, field);
        rest = after;
    }
    let key = PublicKey::from_bytes(&plain)
        .map_err(|_| "certified key does not parse")?
        .key_data()
        .clone();
    let (serial, rest) = read_u64(rest).ok_or("truncated serial")?;
    let (cert_type, rest) = read_u32(rest).ok_or("truncated type")?;
    let (key_id, rest) = read_string(rest).ok_or("truncated key id")?;
    let (principals_blob, rest) = read_string(rest).ok_or("truncated principals")?;
    let (valid_after, rest) = read_u64(rest).ok_or("truncated valid after")?;
    let (valid_before, rest) = read_u64(rest).ok_or("truncated valid before")?;
    let (critical, rest) = read_string(rest).ok_or("truncated critical options")?;
    let (_extensions, rest) = read_string(rest).ok_or("truncated extensions")?;
    let (_reserved, rest) = read_string(rest).ok_or("truncated reserved")?;
    let (ca_blob, rest) = read_string(rest).ok_or("truncated signature key")?;
    let tbs_len = blob.len() - rest.len();
    let (ca_signature, rest) = read_string(rest).ok_or("truncated CA signature")?;
    if !rest.is_empty() {
        return Err("bytes after the CA signature".into());
    }
    let mut principals = Vec::new();
    let mut p = principals_blob;
    while !p.is_empty() {
        let (name, after) = read_string(p).ok_or("bad principal list")?;
        principals.push(
            std::str::from_utf8(name)
                .map_err(|_| "principal is not UTF-8")?
                .to_owned(),
        );
        p = after;
    }
    let mut critical_options = Vec::new();
    let mut c = critical;
    while !c.is_empty() {
        let (name, after) = read_string(c).ok_or("bad critical options")?;
        let (_value, after) = read_string(after).ok_or("bad critical options")?;
        critical_options.push(String::from_utf8_lossy(name).into_owned());
        c = after;
    }
    let ca = PublicKey::from_bytes(ca_blob)
        .map_err(|_| "CA key does not parse")?
        .key_data()
        .clone();
    let canonical_ca = PublicKey::new(ca.clone(), "")
        .to_bytes()
        .map_err(|_| "CA key does not encode")?;
    if canonical_ca != ca_blob {
        return Err("CA key is not canonically encoded".into());
    }
    if valid_before <= valid_after {
        return Err("empty validity interval".into());
    }
    Ok(Cert {
        key,
        serial,
        cert_type,
        key_id: String::from_utf8_lossy(key_id).into_owned(),
        principals,
        valid_after,
        valid_before,
        critical_options,
        ca,
        tbs: blob[..tbs_len].to_vec(),
        ca_signature: ca_signature.to_vec(),
    })
}

/// Decodes an algorithm-prefixed signature blob and insists that it re-encodes to the same
/// bytes (no trailing data, no odd encodings).
fn decode_signature(blob: &[u8]) -> Result<Signature, String> {
    let (algorithm, _) = read_string(blob).ok_or("truncated signature algorithm")?;
    if algorithm == b"ssh-rsa" {
        return Err("RSA signature with SHA-1 (ssh-rsa) is refused".into());
    }
    let sig = Signature::try_from(blob).map_err(|e| format!("cannot read signature: {e}"))?;
    let again = Vec::<u8>::try_from(sig.clone()).map_err(|e| e.to_string())?;
    if again != blob {
        return Err("signature is not canonically encoded".into());
    }
    Ok(sig)
}

/// Checks the CA's signature over the certificate's to-be-signed bytes: RSA and ECDSA through
/// OpenSSL (pure-Rust RSA takes about a millisecond), others with ssh-key; debug builds run
/// both and assert they agree.
fn verify_ca_signature(cert: &Cert) -> Result<(), String> {
    use signature::Verifier;
    let sig = decode_signature(&cert.ca_signature)?;
    if matches!(sig.algorithm(), Algorithm::Rsa { hash: None }) {
        return Err("RSA signature with SHA-1 is refused".into());
    }
    let reference = || cert.ca.verify(&cert.tbs, &sig).is_ok();
    let ok = match OpensslKey::prepare(&cert.ca) {
        Some(fast) => {
            let ok = fast.verify_raw(&cert.tbs, &sig).is_ok();
            #[cfg(debug_assertions)]
            assert_eq!(
                ok,
                reference(),
                "OpenSSL and ssh-key disagree on a certificate signature by CA {}",
                fingerprint(&cert.ca)
            );
            ok
        }
        None => reference(),
    };
    if ok {
        Ok(())
    } else {
        Err("does not match the certificate".to_owned())
    }
}
