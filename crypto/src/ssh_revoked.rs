//! Revoked SSH keys and certificates: OpenSSH key revocation lists (KRL, `ssh-keygen -k`) and
//! plain lists of public keys, the two formats git's `gpg.ssh.revocationFile` takes.
//!
//! A KRL (OpenSSH `PROTOCOL.krl`) revokes plain keys (whole blobs, SHA-1 or SHA-256 hashes of
//! the blob) and certificates by CA and serial number (list, range or bitmap) or key id. As in
//! `ssh-keygen -Y verify -r`, a certificate signature is refused when the certificate is
//! revoked, when its certified key is, or when its CA key is. A KRL carries no reason or date:
//! a revoked key is revoked for every signature, past and future (a hard revocation).

use std::collections::HashSet;

use openssl::sha::{sha1, sha256};
use ssh_key::public::KeyData;
use ssh_key::PublicKey;

use crate::KeyError;

const KRL_MAGIC: &[u8; 8] = b"SSHKRL\n\0";
const KRL_FORMAT_VERSION: u32 = 1;

const SECTION_CERTIFICATES: u8 = 1;
const SECTION_EXPLICIT_KEY: u8 = 2;
const SECTION_FINGERPRINT_SHA1: u8 = 3;
const SECTION_SIGNATURE: u8 = 4;
const SECTION_FINGERPRINT_SHA256: u8 = 5;

const CERT_SERIAL_LIST: u8 = 0x20;
const CERT_SERIAL_RANGE: u8 = 0x21;
const CERT_SERIAL_BITMAP: u8 = 0x22;
const CERT_KEY_ID: u8 = 0x23;

/// Certificates revoked for one CA (`ca: None`: any CA, key ids only in practice).
#[derive(Debug, Default)]
struct CertRevocations {
    /// SHA-256 of the CA's public key blob.
    ca: Option<[u8; 32]>,
    serials: Vec<(u64, u64)>,
    key_ids: HashSet<Vec<u8>>,
}

/// Everything revoked, from every revocation file of the policy.
#[derive(Debug, Default)]
pub(crate) struct SshRevocations {
    /// SHA-256 of revoked plain key blobs (explicit keys and SHA-256 fingerprints alike).
    sha256: HashSet<[u8; 32]>,
    sha1: HashSet<[u8; 20]>,
    certs: Vec<CertRevocations>,
    /// Where the entries came from, for messages.
    sources: Vec<String>,
}

/// Why a signature's key is revoked, for the verdict's detail.
pub(crate) struct Revoked {
    pub what: String,
}

fn blob_of(key: &KeyData) -> Option<Vec<u8>> {
    PublicKey::new(key.clone(), "").to_bytes().ok()
}

impl SshRevocations {
    pub(crate) fn is_empty(&self) -> bool {
        self.sha256.is_empty() && self.sha1.is_empty() && self.certs.is_empty()
    }

    /// Adds a revocation file (KRL or public key lines) named `source` in messages; returns the
    /// number of entries read.
    pub(crate) fn add(&mut self, source: &str, bytes: &[u8]) -> Result<usize, KeyError> {
        let n = if bytes.starts_with(KRL_MAGIC) {
            self.add_krl(bytes)
                .map_err(|reason| KeyError::Revocations {
                    file: source.to_owned(),
                    reason,
                })?
        } else {
            self.add_key_lines(source, bytes)?
        };
        self.sources.push(source.to_owned());
        Ok(n)
    }

    fn add_key_lines(&mut self, source: &str, bytes: &[u8]) -> Result<usize, KeyError> {
        let text = std::str::from_utf8(bytes).map_err(|_| KeyError::Revocations {
            file: source.to_owned(),
            reason: "neither an OpenSSH KRL nor a text file of public keys".into(),
        })?;
        let mut n = 0;
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let key = PublicKey::from_openssh(line).map_err(|e| KeyError::Revocations {
                file: source.to_owned(),
                reason: format!("line {}: not an OpenSSH public key: {e}", i + 1),
            })?;
            let blob = blob_of(key.key_data()).ok_or_else(|| KeyError::Revocations {
                file: source.to_owned(),
                reason: format!("line {}: cannot encode the key", i + 1),
            })?;
            self.sha256.insert(sha256(&blob));
            n += 1;
        }
        Ok(n)
    }

    fn add_krl(&mut self, bytes: &[u8]) -> Result<usize, String> {
        let mut r = Reader(&bytes[KRL_MAGIC.len()..]);
        let version = r.u32()?;
        if version != KRL_FORMAT_VERSION {
            return Err(format!("KRL format version {version}, expected 1"));
        }
        let _krl_version = r.u64()?;
        let _generated = r.u64()?;
        let _flags = r.u64()?;
        let _reserved = r.string()?;
        let _comment = r.string()?;
        let mut n = 0;
        while !r.0.is_empty() {
            let kind = r.byte()?;
            let mut section = Reader(r.string()?);
            match kind {
                SECTION_CERTIFICATES => n += self.add_cert_section(&mut section)?,
                SECTION_EXPLICIT_KEY => {
                    while !section.0.is_empty() {
                        let blob = section.string()?;
                        self.sha256.insert(sha256(blob));
                        n += 1;
                    }
                }
                SECTION_FINGERPRINT_SHA1 => {
                    for h in section.hashes::<20>("SHA-1")? {
                        self.sha1.insert(h);
                        n += 1;
                    }
                }
                SECTION_FINGERPRINT_SHA256 => {
                    for h in section.hashes::<32>("SHA-256")? {
                        self.sha256.insert(h);
                        n += 1;
                    }
                }
                SECTION_SIGNATURE => {
                    return Err(
                        "signed KRLs are not supported (OpenSSH no longer makes them)".into(),
                    )
                }
                other => return Err(format!("unknown KRL section type {other}")),
            }
        }
        Ok(n)
    }

    fn add_cert_section(&mut self, r: &mut Reader<'_>) -> Result<usize, String> {
        let ca_blob = r.string()?;
        let _reserved = r.string()?;
        let mut entry = CertRevocations {
            ca: (!ca_blob.is_empty()).then(|| sha256(ca_blob)),
            ..CertRevocations::default()
        };
        let mut n = 0;
        while !r.0.is_empty() {
            let kind = r.byte()?;
            let mut sub = Reader(r.string()?);
            match kind {
                CERT_SERIAL_LIST => {
                    while !sub.0.is_empty() {
                        let s = sub.u64()?;
                        entry.serials.push((s, s));
                        n += 1;
                    }
                }
                CERT_SERIAL_RANGE => {
                    let (lo, hi) = (sub.u64()?, sub.u64()?);
                    if lo > hi {
                        return Err(format!("serial range {lo}-{hi} is empty"));
                    }
                    entry.serials.push((lo, hi));
                    n += 1;
                }
                CERT_SERIAL_BITMAP => {
                    let offset = sub.u64()?;
                    let bitmap = sub.string()?;
                    // mpint, big-endian: bit 0 of the last byte is serial `offset`
                    for (i, byte) in bitmap.iter().rev().enumerate() {
                        for bit in 0..8u64 {
                            if byte & (1 << bit) != 0 {
                                let serial = offset
                                    .checked_add(i as u64 * 8 + bit)
                                    .ok_or("serial bitmap overflows")?;
                                entry.serials.push((serial, serial));
                                n += 1;
                            }
                        }
                    }
                }
                CERT_KEY_ID => {
                    while !sub.0.is_empty() {
                        entry.key_ids.insert(sub.string()?.to_vec());
                        n += 1;
                    }
                }
                other => return Err(format!("unknown KRL certificate section type {other:#x}")),
            }
            if !sub.0.is_empty() {
                return Err(format!(
                    "trailing bytes in KRL certificate section {kind:#x}"
                ));
            }
        }
        self.certs.push(entry);
        Ok(n)
    }

    /// Is the plain key revoked?
    pub(crate) fn key(&self, key: &KeyData) -> Option<Revoked> {
        if self.is_empty() {
            return None;
        }
        let blob = blob_of(key)?;
        (self.sha256.contains(&sha256(&blob)) || self.sha1.contains(&sha1(&blob))).then(|| {
            Revoked {
                what: format!(
                    "key {} is revoked ({})",
                    crate::ssh::fingerprint(key),
                    self.sources.join(", ")
                ),
            }
        })
    }

    /// Is a certificate (by CA, serial and key id), its key, or its CA revoked?
    pub(crate) fn certificate(
        &self,
        ca: &KeyData,
        serial: u64,
        key_id: &str,
        key: &KeyData,
    ) -> Option<Revoked> {
        if self.is_empty() {
            return None;
        }
        let ca_hash = blob_of(ca).map(|b| sha256(&b));
        let cert_revoked = self.certs.iter().any(|c| {
            c.ca.is_none_or(|h| Some(h) == ca_hash)
                && (c
                    .serials
                    .iter()
                    .any(|&(lo, hi)| lo <= serial && serial <= hi)
                    || c.key_ids.contains(key_id.as_bytes()))
        });
        if cert_revoked {
            return Some(Revoked {
                what: format!(
                    "certificate {key_id:?} (serial {serial}) from CA {} is revoked ({})",
                    crate::ssh::fingerprint(ca),
                    self.sources.join(", ")
                ),
            });
        }
        if let Some(r) = self.key(key) {
            return Some(r);
        }
        self.key(ca).map(|r| Revoked {
            what: format!("the certificate's CA: {}", r.what),
        })
    }
}

/// SSH wire-format reader over a KRL.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if self.0.len() < n {
            return Err("KRL is truncated".into());
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn byte(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }

    fn u32(&mut self) -> Result<u32, String> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self) -> Result<u64, String> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_be_bytes(a))
    }

    fn string(&mut self) -> Result<&'a [u8], String> {
        let n = self.u32()? as usize;
        self.take(n)
    }

    /// The rest: strings of `N`-byte hashes.
    fn hashes<const N: usize>(&mut self, name: &str) -> Result<Vec<[u8; N]>, String> {
        let mut out = Vec::new();
        while !self.0.is_empty() {
            out.push(
                self.string()?
                    .try_into()
                    .map_err(|_| format!("a {name} fingerprint is not {N} bytes"))?,
            );
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_krls_are_errors_not_panics() {
        let mut good = KRL_MAGIC.to_vec();
        good.extend(1u32.to_be_bytes());
        good.extend([0u8; 24]);
        good.extend(0u32.to_be_bytes());
        good.extend(0u32.to_be_bytes());
        let mut r = SshRevocations::default();
        assert_eq!(r.add("empty.krl", &good).expect("empty KRL"), 0);
        for cut in 1..good.len() {
            let mut r = SshRevocations::default();
            assert!(r.add("cut.krl", &good[..cut]).is_err(), "cut at {cut}");
        }
        // a section claiming more bytes than there are
        let mut long = good.clone();
        long.push(SECTION_EXPLICIT_KEY);
        long.extend(u32::MAX.to_be_bytes());
        assert!(SshRevocations::default().add("long.krl", &long).is_err());
        // unknown and signature sections
        for kind in [SECTION_SIGNATURE, 9] {
            let mut k = good.clone();
            k.push(kind);
            k.extend(0u32.to_be_bytes());
            let err = SshRevocations::default()
                .add("k.krl", &k)
                .expect_err("refused")
                .to_string();
            assert!(err.contains("k.krl"), "{err}");
        }
    }
}
