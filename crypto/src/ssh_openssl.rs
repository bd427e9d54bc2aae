//! SSH RSA and ECDSA verification through OpenSSL (via Sequoia's backend, already linked).
//!
//! ssh-key verifies these with the pure-Rust `rsa` and `p256`/`p384` crates, which on our
//! machines are 7–10× slower than OpenSSL (about 2,000 RSA-2048 verifications per second). The
//! schemes are the same as OpenPGP's: `rsa-sha2-256/512` is PKCS#1 v1.5 with SHA-256/512, and
//! `ecdsa-sha2-nistpXXX` is ECDSA over SHA-256/384 of the SSHSIG signed data. Key equality and
//! the namespace are checked by the caller before this runs. Debug builds also run ssh-key's
//! verifier and assert both agree.

use std::time::UNIX_EPOCH;

use sequoia_openpgp as openpgp;
use ssh_key::public::KeyData;
use ssh_key::sha2::{Digest, Sha256, Sha384, Sha512};
use ssh_key::{Algorithm, EcdsaCurve, HashAlg, Signature, SshSig};

use openpgp::crypto::mpi;
use openpgp::packet::key::{Key4, PublicParts, UnspecifiedRole};
use openpgp::packet::Key;
use openpgp::types::{Curve, HashAlgorithm, PublicKeyAlgorithm};

/// A public key prepared once, at policy load, for the OpenSSL path.
#[derive(Debug)]
pub(crate) struct OpensslKey {
    key: Key<PublicParts, UnspecifiedRole>,
    kind: Kind,
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    /// RSA with the modulus length in bytes: OpenSSH always writes signatures of exactly that
    /// length, and ssh-key insists on it, so we do too (no leading-zero games).
    Rsa {
        modulus_len: usize,
    },
    Ecdsa(HashAlgorithm),
}

impl OpensslKey {
    /// Prepares RSA and ECDSA P-256/P-384 keys; other types (or odd encodings) return `None`
    /// and stay with ssh-key.
    pub(crate) fn prepare(key: &KeyData) -> Option<OpensslKey> {
        match key {
            KeyData::Rsa(rsa) => {
                let e = rsa.e.as_positive_bytes()?;
                let n = rsa.n.as_positive_bytes()?;
                let key = Key4::<PublicParts, UnspecifiedRole>::import_public_rsa(e, n, UNIX_EPOCH)
                    .ok()?;
                Some(OpensslKey {
                    key: key.into(),
                    kind: Kind::Rsa {
                        modulus_len: n.len(),
                    },
                })
            }
            KeyData::Ecdsa(ec) => {
                let (curve, hash) = match ec.curve() {
                    EcdsaCurve::NistP256 => (Curve::NistP256, HashAlgorithm::SHA256),
                    EcdsaCurve::NistP384 => (Curve::NistP384, HashAlgorithm::SHA384),
                    EcdsaCurve::NistP521 => return None,
                };
                let q = mpi::MPI::new(ec.as_sec1_bytes());
                let mpis = mpi::PublicKey::ECDSA { curve, q };
                let key = Key4::<PublicParts, UnspecifiedRole>::new(
                    UNIX_EPOCH,
                    PublicKeyAlgorithm::ECDSA,
                    mpis,
                )
                .ok()?;
                Some(OpensslKey {
                    key: key.into(),
                    kind: Kind::Ecdsa(hash),
                })
            }
            _ => None,
        }
    }

    /// Verifies `sig` over `payload` in `namespace`. `Err(Some(reason))` for a structural
    /// problem, `Err(None)` when the signature simply does not match.
    pub(crate) fn verify(
        &self,
        namespace: &str,
        payload: &[u8],
        sig: &SshSig,
    ) -> Result<(), Option<String>> {
        let (mpi_sig, hash, digest) = self.to_openpgp(namespace, payload, sig).map_err(Some)?;
        self.key.verify(&mpi_sig, hash, &digest).map_err(|_| None)
    }

    /// The OpenPGP-shaped signature, hash algorithm and digest for `sig`.
    fn to_openpgp(
        &self,
        namespace: &str,
        payload: &[u8],
        sig: &SshSig,
    ) -> Result<(mpi::Signature, HashAlgorithm, Vec<u8>), String> {
        if !sig.reserved().is_empty() {
            return Err("SSHSIG reserved field is not empty".into());
        }
        let signed =
            SshSig::signed_data(namespace, sig.hash_alg(), payload).map_err(|e| e.to_string())?;
        self.shape(sig.algorithm(), sig.signature_bytes(), &signed)
    }

    /// Verifies a plain SSH signature (`sig`, as in a certificate's CA signature) over `msg`.
    pub(crate) fn verify_raw(&self, msg: &[u8], sig: &Signature) -> Result<(), Option<String>> {
        let (mpi_sig, hash, digest) = self
            .shape(sig.algorithm(), sig.as_bytes(), msg)
            .map_err(Some)?;
        self.key.verify(&mpi_sig, hash, &digest).map_err(|_| None)
    }

    /// The OpenPGP-shaped signature, hash algorithm and digest of `signed` for the raw SSH
    /// signature `raw` made with `algorithm`.
    fn shape(
        &self,
        algorithm: Algorithm,
        raw: &[u8],
        signed: &[u8],
    ) -> Result<(mpi::Signature, HashAlgorithm, Vec<u8>), String> {
        if let Kind::Rsa { modulus_len } = self.kind {
            if raw.len() != modulus_len {
                return Err(format!(
                    "RSA signature is {} bytes, the modulus {modulus_len}",
                    raw.len()
                ));
            }
        }
        let prepared = match (self.kind, algorithm) {
            (
                Kind::Rsa { .. },
                Algorithm::Rsa {
                    hash: Some(HashAlg::Sha256),
                },
            ) => (
                mpi::Signature::RSA {
                    s: mpi::MPI::new(raw),
                },
                HashAlgorithm::SHA256,
                Sha256::digest(signed).to_vec(),
            ),
            (
                Kind::Rsa { .. },
                Algorithm::Rsa {
                    hash: Some(HashAlg::Sha512),
                },
            ) => (
                mpi::Signature::RSA {
                    s: mpi::MPI::new(raw),
                },
                HashAlgorithm::SHA512,
                Sha512::digest(signed).to_vec(),
            ),
            (Kind::Ecdsa(hash), Algorithm::Ecdsa { .. }) => {
                let (r, rest) = read_mpint(raw).ok_or("bad ECDSA signature encoding")?;
                let (s, rest) = read_mpint(rest).ok_or("bad ECDSA signature encoding")?;
                if !rest.is_empty() {
                    return Err("trailing bytes after ECDSA signature".into());
                }
                let digest = if hash == HashAlgorithm::SHA256 {
                    Sha256::digest(signed).to_vec()
                } else {
                    Sha384::digest(signed).to_vec()
                };
                (
                    mpi::Signature::ECDSA {
                        r: mpi::MPI::new(r),
                        s: mpi::MPI::new(s),
                    },
                    hash,
                    digest,
                )
            }
            (_, other) => {
                return Err(format!(
                    "signature algorithm {other} does not match the key"
                ))
            }
        };
        Ok(prepared)
    }
}

/// An SSH `mpint`: u32 big-endian length, then the two's-complement bytes (positive here).
fn read_mpint(b: &[u8]) -> Option<(&[u8], &[u8])> {
    let len = u32::from_be_bytes(b.get(..4)?.try_into().ok()?) as usize;
    let end = len.checked_add(4)?;
    let body = b.get(4..end)?;
    if body.first().is_some_and(|&x| x & 0x80 != 0) {
        return None; // negative
    }
    Some((body, b.get(end..)?))
}
