//! SSH signatures (`SSHSIG`, as made by `ssh-keygen -Y sign -n git`).

use std::collections::HashMap;

use rules::facts::{KeyVerdict, SignatureCheck, SignatureFormat};
use ssh_key::{public::KeyData, Algorithm, EcdsaCurve, HashAlg, PublicKey, SshSig};

use crate::ssh_openssl::OpensslKey;
use crate::ssh_revoked::SshRevocations;
use crate::KeyError;
use rules::calendar::format_date;

/// Smallest RSA modulus accepted, in bits (ssh-keygen's default is 3072; OpenSSH still allows 1024).
const MIN_RSA_BITS: usize = 2048;

/// The namespace git uses for commit and tag signatures.
pub(crate) const GIT_NAMESPACE: &str = "git";

/// FIDO "user present" flag in a security-key signature.
const SK_USER_PRESENT: u8 = 0x01;

/// Conditions under which a key may sign, from one `add_ssh_key` call or one allowed_signers line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Grant {
    /// `namespaces="..."`: pattern list; `None` means any namespace.
    pub namespaces: Option<String>,
    /// `valid-after=`: the key is valid from this time on (inclusive).
    pub valid_after: Option<i64>,
    /// `valid-before=`: the key is valid up to this time (inclusive, like ssh-keygen).
    pub valid_before: Option<i64>,
    /// Where the grant came from, for messages (`allowed_signers line 3`).
    pub origin: Option<String>,
}

impl Grant {
    pub(crate) fn unrestricted() -> Self {
        Grant {
            namespaces: None,
            valid_after: None,
            valid_before: None,
            origin: None,
        }
    }

    fn allows_namespace(&self, namespace: &str) -> bool {
        self.namespaces
            .as_deref()
            .is_none_or(|list| match_pattern_list(namespace, list))
    }
}

/// One SSH public key in the keyring.
#[derive(Debug)]
pub(crate) struct SshEntry {
    pub identity: String,
    pub key: PublicKey,
    /// RSA/ECDSA key prepared for OpenSSL; `None` for types ssh-key verifies itself.
    pub fast: Option<OpensslKey>,
    pub grants: Vec<Grant>,
}

/// SSH keys indexed by their public key material.
#[derive(Debug, Default)]
pub(crate) struct SshKeys {
    keys: HashMap<KeyData, SshEntry>,
}

/// `SHA256:<base64 without padding>`, as `ssh-keygen -l` prints it.
pub(crate) fn fingerprint(key: &KeyData) -> String {
    key.fingerprint(HashAlg::Sha256).to_string()
}

/// Parses an OpenSSH public key line and refuses key types pushguard cannot verify.
pub(crate) fn parse_public_key(identity: &str, line: &str) -> Result<PublicKey, KeyError> {
    let line = line.trim();
    let key = PublicKey::from_openssh(line).map_err(|e| KeyError::SshKey {
        identity: identity.to_owned(),
        key: abbreviate(line),
        reason: e.to_string(),
    })?;
    let supported = match key.algorithm() {
        Algorithm::Ed25519 | Algorithm::SkEd25519 | Algorithm::SkEcdsaSha2NistP256 => true,
        Algorithm::Ecdsa { curve } => matches!(curve, EcdsaCurve::NistP256 | EcdsaCurve::NistP384),
        Algorithm::Rsa { .. } => true,
        _ => false,
    };
    if !supported {
        return Err(KeyError::UnsupportedSshKey {
            identity: identity.to_owned(),
            fingerprint: fingerprint(key.key_data()),
            algorithm: key.algorithm().to_string(),
        });
    }
    if let Some(bits) = weak_rsa_bits(key.key_data()) {
        return Err(KeyError::WeakSshKey {
            identity: identity.to_owned(),
            fingerprint: fingerprint(key.key_data()),
            bits,
            minimum: MIN_RSA_BITS,
        });
    }
    Ok(key)
}

/// The modulus size of an RSA key shorter than pushguard accepts; `None` otherwise.
pub(crate) fn weak_rsa_bits(key: &KeyData) -> Option<usize> {
    let KeyData::Rsa(rsa) = key else {
        return None;
    };
    let bits = rsa.n.as_positive_bytes().map_or(0, |n| {
        let lead = n.first().map_or(8, |b| b.leading_zeros() as usize);
        n.len() * 8 - lead
    });
    (bits < MIN_RSA_BITS).then_some(bits)
}

fn abbreviate(line: &str) -> String {
    match line.char_indices().nth(48) {
        Some((i, _)) => format!("{}…", &line[..i]),
        None => line.to_owned(),
    }
}

impl SshKeys {
    pub(crate) fn len(&self) -> usize {
        self.keys.len()
    }

    /// The identity that owns `key`, if the key is known.
    pub(crate) fn owner(&self, key: &KeyData) -> Option<&str> {
        self.keys.get(key).map(|e| e.identity.as_str())
    }

    /// Adds `key` for `identity` under `grant`; the same key for another identity is an error.
    pub(crate) fn insert(
        &mut self,
        identity: &str,
        key: PublicKey,
        grant: Grant,
    ) -> Result<String, KeyError> {
        let fp = fingerprint(key.key_data());
        if let Some(existing) = self.keys.get_mut(key.key_data()) {
            if existing.identity != identity {
                return Err(KeyError::SharedKey {
                    key: fp,
                    first: existing.identity.clone(),
                    second: identity.to_owned(),
                });
            }
            if !existing.grants.contains(&grant) {
                existing.grants.push(grant);
            }
            return Ok(fp);
        }
        self.keys.insert(
            key.key_data().clone(),
            SshEntry {
                identity: identity.to_owned(),
                fast: OpensslKey::prepare(key.key_data()),
                key,
                grants: vec![grant],
            },
        );
        Ok(fp)
    }

    /// Verifies an armored SSHSIG over `payload`, judging key validity at `now`.
    pub(crate) fn verify(
        &self,
        armored: &[u8],
        payload: &[u8],
        now: i64,
        revoked: &SshRevocations,
    ) -> SignatureCheck {
        self.verify_in(GIT_NAMESPACE, armored, payload, now, revoked)
    }

    /// [`SshKeys::verify`] for signatures made under `namespace` (approvals use their own).
    pub(crate) fn verify_in(
        &self,
        namespace: &str,
        armored: &[u8],
        payload: &[u8],
        now: i64,
        revoked: &SshRevocations,
    ) -> SignatureCheck {
        let mut check = SignatureCheck {
            format: Some(SignatureFormat::Ssh),
            ..SignatureCheck::default()
        };
        let sig = match SshSig::from_pem(armored) {
            Ok(sig) => sig,
            Err(e) => {
                check.verdict = KeyVerdict::Malformed;
                check.detail = Some(format!("cannot read SSH signature: {e}"));
                return check;
            }
        };
        let fp = fingerprint(sig.public_key());
        check.key = Some(fp.clone());
        if let Err(why) = check_canonical(armored, &sig) {
            check.verdict = KeyVerdict::Malformed;
            check.detail = Some(format!("SSH signature is not canonically encoded: {why}"));
            return check;
        }
        let entry = self.keys.get(sig.public_key());
        check.identity = entry.map(|e| e.identity.clone());

        if sig.namespace() != namespace {
            check.verdict = KeyVerdict::WrongNamespace;
            check.detail = Some(format!(
                "signature was made for namespace {:?}, not {namespace:?}",
                sig.namespace()
            ));
            return check;
        }
        let Some(entry) = entry else {
            check.verdict = KeyVerdict::UnknownKey;
            check.detail = Some(format!(
                "{} key {fp} is not in the policy",
                sig.public_key().algorithm()
            ));
            return check;
        };
        if let Err(why) = verify_with_key_in(
            namespace,
            entry.key.key_data(),
            entry.fast.as_ref(),
            &sig,
            payload,
        ) {
            check.verdict = KeyVerdict::BadSignature;
            check.detail = Some(match why {
                Some(why) => format!("signature by key {fp} is invalid: {why}"),
                None => format!("signature by key {fp} does not match the signed data"),
            });
            return check;
        }
        if let Some(r) = revoked.key(sig.public_key()) {
            check.verdict = KeyVerdict::RevokedKey;
            check.detail = Some(r.what);
            return check;
        }
        check.verdict = judge_grants_in(namespace, &entry.grants, now, &fp, &mut check.detail);
        check
    }
}

/// Verifies `sig` over `payload` with `key` (already known to be the signature's key): through
/// OpenSSL when `fast` is prepared, else ssh-key; then the FIDO user-presence flag.
/// `Err(Some(reason))` for a structural problem, `Err(None)` when it does not match.
pub(crate) fn verify_with_key(
    key: &KeyData,
    fast: Option<&OpensslKey>,
    sig: &SshSig,
    payload: &[u8],
) -> Result<(), Option<String>> {
    verify_with_key_in(GIT_NAMESPACE, key, fast, sig, payload)
}

/// [`verify_with_key`] for a signature made under `namespace`.
pub(crate) fn verify_with_key_in(
    namespace: &str,
    key: &KeyData,
    fast: Option<&OpensslKey>,
    sig: &SshSig,
    payload: &[u8],
) -> Result<(), Option<String>> {
    let public = PublicKey::new(key.clone(), "");
    let result = match fast {
        Some(fast) => fast.verify(namespace, payload, sig),
        // ssh-key's error says nothing more than "does not verify".
        None => public.verify(namespace, payload, sig).map_err(|_| None),
    };
    #[cfg(debug_assertions)]
    if fast.is_some() {
        // Differential check of the OpenSSL path against ssh-key, in every debug build.
        let reference = public.verify(namespace, payload, sig);
        assert_eq!(
            result.is_ok(),
            reference.is_ok(),
            "OpenSSL ({result:?}) and ssh-key ({reference:?}) disagree for key {}",
            fingerprint(key)
        );
    }
    result?;
    if matches!(key, KeyData::SkEd25519(_) | KeyData::SkEcdsaSha2NistP256(_)) {
        // ssh-key verifies the FIDO signature but ignores its flags; like OpenSSH's default
        // we require the "user present" bit (the key was touched).
        if sk_flags(sig).is_none_or(|f| f & SK_USER_PRESENT == 0) {
            return Err(Some(
                "security-key signature was made without user presence (key not touched)".into(),
            ));
        }
    }
    Ok(())
}

/// The FIDO flags byte of a security-key signature (before the u32 counter).
pub(crate) fn sk_flags(sig: &SshSig) -> Option<u8> {
    let bytes = sig.signature_bytes();
    bytes.get(bytes.len().checked_sub(5)?).copied()
}

/// The binary blob inside an SSH signature armor.
pub(crate) fn armor_blob(armored: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(armored).ok()?;
    let b64: String = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("-----"))
        .collect();
    base64_decode(&b64)
}

/// The key type named inside an armored SSHSIG, read by hand: the `SSHSIG` magic, a u32
/// version, then the public key blob whose first string is its type.
pub(crate) fn sshsig_key_type(armored: &[u8]) -> Option<String> {
    let blob = armor_blob(armored)?;
    let rest = blob.strip_prefix(b"SSHSIG")?.get(4..)?;
    let (public_key, _) = read_string(rest)?;
    let (key_type, _) = read_string(public_key)?;
    String::from_utf8(key_type.to_vec()).ok()
}

/// Rejects encodings ssh-key 0.6 accepts but OpenSSH never writes: ssh-encoding does not check
/// that a length-prefixed field is used up, so e.g. the public key's length prefix can be
/// inflated and the signature still verifies. Left alone, anyone could re-encode a commit's
/// signature, giving a different commit id that still verifies. We walk the blob ourselves:
/// every length must be exact, nothing may trail, and the public key must be byte-for-byte the
/// canonical encoding of the key ssh-key read.
fn check_canonical(armored: &[u8], sig: &SshSig) -> Result<(), &'static str> {
    let text = std::str::from_utf8(armored).map_err(|_| "not ASCII")?;
    let b64: String = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("-----"))
        .collect();
    let blob = base64_decode(&b64).ok_or("bad base64")?;
    let rest = blob.strip_prefix(b"SSHSIG").ok_or("no SSHSIG magic")?;
    let rest = rest.get(4..).ok_or("truncated")?;
    let (public_key, rest) = read_string(rest).ok_or("public key length")?;
    let canonical_key = PublicKey::new(sig.public_key().clone(), "")
        .to_bytes()
        .map_err(|_| "public key does not encode")?;
    if public_key != canonical_key.as_slice() {
        return Err("public key blob");
    }
    let (_namespace, rest) = read_string(rest).ok_or("truncated namespace")?;
    let (_reserved, rest) = read_string(rest).ok_or("truncated reserved field")?;
    let (_hash, rest) = read_string(rest).ok_or("truncated hash algorithm")?;
    let (signature, rest) = read_string(rest).ok_or("truncated signature")?;
    if !rest.is_empty() {
        return Err("bytes after the signature");
    }
    let (_algorithm, inner) = read_string(signature).ok_or("truncated signature algorithm")?;
    let (_raw, trailer) = read_string(inner).ok_or("truncated signature bytes")?;
    let sk = matches!(
        sig.public_key(),
        KeyData::SkEd25519(_) | KeyData::SkEcdsaSha2NistP256(_)
    );
    // Security-key signatures carry a flags byte and a u32 counter after the signature.
    if trailer.len() != if sk { 5 } else { 0 } {
        return Err("bytes after the signature value");
    }
    Ok(())
}

/// An SSH wire `string`: u32 big-endian length, then the bytes.
pub(crate) fn read_string(b: &[u8]) -> Option<(&[u8], &[u8])> {
    let len = usize::try_from(u32::from_be_bytes(b.get(..4)?.try_into().ok()?)).ok()?;
    let end = len.checked_add(4)?;
    Some((b.get(4..end)?, b.get(end..)?))
}

/// Canonical standard base64: length a multiple of 4, `=` padding only at the end, unused
/// trailing bits zero. `None` otherwise, so the armor cannot be re-encoded (malleability).
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let bytes = s.as_bytes();
    if !bytes.len().is_multiple_of(4) {
        return None;
    }
    let padding = bytes.iter().rev().take_while(|&&c| c == b'=').count();
    if padding > 2 {
        return None;
    }
    let body = &bytes[..bytes.len() - padding];
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &c in body {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((acc >> bits) & 0xff).ok()?);
            acc &= (1 << bits) - 1;
        }
    }
    if acc != 0 {
        return None;
    }
    Some(out)
}

/// The verdict for a cryptographically good signature by a key with these grants, at `now`.
pub(crate) fn judge_grants(
    grants: &[Grant],
    now: i64,
    fp: &str,
    detail: &mut Option<String>,
) -> KeyVerdict {
    judge_grants_in(GIT_NAMESPACE, grants, now, fp, detail)
}

/// [`judge_grants`] for a signature made under `namespace`: only grants that allow it count.
pub(crate) fn judge_grants_in(
    namespace: &str,
    grants: &[Grant],
    now: i64,
    fp: &str,
    detail: &mut Option<String>,
) -> KeyVerdict {
    let for_git: Vec<&Grant> = grants
        .iter()
        .filter(|g| g.allows_namespace(namespace))
        .collect();
    if for_git.is_empty() {
        let namespaces: Vec<String> = grants
            .iter()
            .map(|g| {
                let list = g.namespaces.as_deref().unwrap_or("*");
                match &g.origin {
                    Some(origin) => format!("{list:?} ({origin})"),
                    None => format!("{list:?}"),
                }
            })
            .collect();
        *detail = Some(format!(
            "key {fp} may only sign for namespaces {}, not {namespace:?}",
            namespaces.join(", ")
        ));
        return KeyVerdict::WrongNamespace;
    }
    // Any grant valid now is enough; otherwise report the most telling one.
    let mut verdict = KeyVerdict::Good;
    for g in &for_git {
        let too_early = g.valid_after.filter(|&t| now < t);
        let too_late = g.valid_before.filter(|&t| now > t);
        match (too_early, too_late) {
            (None, None) => {
                *detail = None;
                return KeyVerdict::Good;
            }
            (Some(t), _) => {
                verdict = KeyVerdict::KeyNotYetValid;
                *detail = Some(with_origin(
                    format!("key {fp} is only valid from {}", format_date(t)),
                    g,
                ));
            }
            (None, Some(t)) => {
                verdict = KeyVerdict::ExpiredKey;
                *detail = Some(with_origin(
                    format!("key {fp} expired on {}", format_date(t)),
                    g,
                ));
            }
        }
    }
    verdict
}

fn with_origin(msg: String, g: &Grant) -> String {
    match &g.origin {
        Some(origin) => format!("{msg} ({origin})"),
        None => msg,
    }
}

/// OpenSSH `match_pattern_list`: comma-separated `*`/`?` patterns, `!pattern` negates and wins.
pub(crate) fn match_pattern_list(s: &str, list: &str) -> bool {
    let mut matched = false;
    for pattern in list.split(',') {
        let pattern = pattern.trim();
        if let Some(negated) = pattern.strip_prefix('!') {
            if match_pattern(s.as_bytes(), negated.as_bytes()) {
                return false;
            }
        } else if match_pattern(s.as_bytes(), pattern.as_bytes()) {
            matched = true;
        }
    }
    matched
}

/// Glob match with `*` (any run) and `?` (any one byte), iterative with backtracking.
fn match_pattern(s: &[u8], p: &[u8]) -> bool {
    let (mut si, mut pi) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        match p.get(pi) {
            Some(b'*') => {
                star = Some((pi, si));
                pi += 1;
            }
            Some(&c) if c == b'?' || c == s[si] => {
                si += 1;
                pi += 1;
            }
            _ => match star {
                Some((sp, ss)) => {
                    pi = sp + 1;
                    si = ss + 1;
                    star = Some((sp, ss + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        assert!(match_pattern_list("git", "git"));
        assert!(match_pattern_list("git", "file,git"));
        assert!(match_pattern_list("git", "g*"));
        assert!(match_pattern_list("git", "g?t"));
        assert!(match_pattern_list("git", "*"));
        assert!(!match_pattern_list("git", "file"));
        assert!(!match_pattern_list("git", "*,!git"));
        assert!(!match_pattern_list("git", "gi"));
        assert!(!match_pattern_list("git", ""));
        assert!(match_pattern_list("a.b.git", "*.git"));
    }

    #[test]
    fn grants_are_judged_at_now() {
        let g = Grant {
            namespaces: Some("git".into()),
            valid_after: Some(100),
            valid_before: Some(200),
            origin: None,
        };
        let mut d = None;
        assert_eq!(
            judge_grants(std::slice::from_ref(&g), 99, "fp", &mut d),
            KeyVerdict::KeyNotYetValid
        );
        assert_eq!(
            judge_grants(std::slice::from_ref(&g), 100, "fp", &mut d),
            KeyVerdict::Good
        );
        assert_eq!(
            judge_grants(std::slice::from_ref(&g), 200, "fp", &mut d),
            KeyVerdict::Good
        );
        assert_eq!(
            judge_grants(std::slice::from_ref(&g), 201, "fp", &mut d),
            KeyVerdict::ExpiredKey
        );
        // A second, open grant for the same key wins.
        let open = Grant::unrestricted();
        assert_eq!(
            judge_grants(&[g, open], 201, "fp", &mut d),
            KeyVerdict::Good
        );
    }
}
