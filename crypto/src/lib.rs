//! Signature verification for pushguard: is this commit's or tag's signature good, and whose key
//! made it?
//!
//! The daemon builds one [`Keyring`] when it loads the policy (SSH keys, OpenPGP certificates,
//! git `allowed_signers` files, each key owned by one policy identity), shares it behind an
//! `Arc`, and calls [`Keyring::verify`] with the signature block and the signed payload that gix
//! split out of the object. The answer is a [`rules::facts::SignatureCheck`]: a typed verdict,
//! the key and identity, and a short human detail. A bad or unknown signature is a verdict, not
//! an error; [`KeyError`] is only for a broken policy (unreadable key, key shared by two
//! identities, bad allowed_signers line).
//!
//! Key validity (expiry, revocation, not-yet-valid, allowed_signers time windows) is judged at
//! `now`, the server's receive time, never at the signature's own creation time: that one is
//! chosen by the signer.
//!
//! ```
//! use crypto::Keyring;
//! use rules::facts::KeyVerdict;
//!
//! let mut keyring = Keyring::new();
//! // A test-only key; its private half was thrown away.
//! let fingerprint = keyring.add_ssh_key(
//!     "alice",
//!     "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFV0emzjpTqc1WO/9VGIo2C4EqB+JF7/geMrikdP+Wbp alice@laptop",
//! )?;
//!
//! // What gix splits out of a commit: the gpgsig block and the commit without it.
//! let signature = b"-----BEGIN SSH SIGNATURE-----
//! U1NIU0lHAAAAAQAAADMAAAALc3NoLWVkMjU1MTkAAAAgVXR6bOOlOpzVY7/1UYijYLgSoH
//! 4kXv+B4yuKR0/5ZukAAAADZ2l0AAAAAAAAAAZzaGE1MTIAAABTAAAAC3NzaC1lZDI1NTE5
//! AAAAQKD9sGsrrLMcSiL5vHpshCTppRnirQiI9OqILI3uKmCwxC+rdscKhEnPIIQ30HI2aZ
//! e89E3yiUrMJ7eVbj3kzQg=
//! -----END SSH SIGNATURE-----
//! ";
//! let payload = b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904
//! author Alice <alice@example.com> 1790000000 +0000
//! committer Alice <alice@example.com> 1790000000 +0000
//!
//! Add the thing
//! ";
//! let received_at = 1_790_000_100;
//! let check = keyring.verify(signature, payload, received_at);
//! assert_eq!(check.verdict, KeyVerdict::Good);
//! assert_eq!(check.identity.as_deref(), Some("alice"));
//! assert_eq!(check.key, Some(fingerprint));
//!
//! // A changed payload, or garbage, is a verdict too, not an error.
//! let check = keyring.verify(signature, b"tree 0000\n", received_at);
//! assert_eq!(check.verdict, KeyVerdict::BadSignature);
//! assert_eq!(keyring.verify(b"hello", payload, received_at).verdict, KeyVerdict::Malformed);
//! # Ok::<(), crypto::KeyError>(())
//! ```
//!
//! Formats are told apart by the armor header:
//!
//! | header | format | handling |
//! |---|---|---|
//! | `-----BEGIN SSH SIGNATURE-----` | SSHSIG | namespace must be `git` |
//! | `-----BEGIN PGP SIGNATURE-----` | OpenPGP v4/v6 | Sequoia, standard policy (no SHA-1) |
//! | `-----BEGIN SIGNED MESSAGE-----` | X.509 (gpgsm, gitsign) | `UnsupportedFormat` for now |
//!
//! See `docs/signatures.md` for the verdict table and how it maps to git's `%G?` letters.

mod allowed_signers;
mod openpgp;
mod ssh;
mod ssh_fast;
mod time;

use rules::facts::{KeyVerdict, SignatureCheck, SignatureFormat};

/// The public keys of a policy, each owned by one identity. Build it once, share it behind `Arc`.
#[derive(Debug, Default)]
pub struct Keyring {
    ssh: ssh::SshKeys,
    openpgp: openpgp::Certs,
}

/// A policy error while loading keys. Every variant names the identity or line concerned.
#[derive(thiserror::Error, Debug)]
#[non_exhaustive]
pub enum KeyError {
    /// An SSH public key line could not be read.
    #[error("identity {identity}: cannot read SSH public key {key:?}: {reason}")]
    SshKey {
        identity: String,
        key: String,
        reason: String,
    },
    /// An SSH key of a type pushguard cannot verify (DSA, NIST P-521, certificates, unknown).
    #[error(
        "identity {identity}: SSH key {fingerprint} has type {algorithm}, which pushguard cannot verify \
         (use ssh-ed25519, ecdsa-sha2-nistp256/384, ssh-rsa, sk-ssh-ed25519 or sk-ecdsa-sha2-nistp256)"
    )]
    UnsupportedSshKey {
        identity: String,
        fingerprint: String,
        algorithm: String,
    },
    /// An RSA SSH key shorter than pushguard accepts.
    #[error("identity {identity}: SSH RSA key {fingerprint} has {bits} bits; at least {minimum} are required")]
    WeakSshKey {
        identity: String,
        fingerprint: String,
        bits: usize,
        minimum: usize,
    },
    /// OpenPGP data could not be read as certificates.
    #[error("identity {identity}: cannot read OpenPGP certificate: {reason}")]
    OpenPgp { identity: String, reason: String },
    /// OpenPGP data held no certificate at all.
    #[error("identity {identity}: no OpenPGP certificate found")]
    NoCertificate { identity: String },
    /// The same key (SSH key material, or OpenPGP primary or subkey fingerprint) under two identities.
    #[error(
        "key {key} is listed for both {first} and {second}; a key must belong to one identity"
    )]
    SharedKey {
        key: String,
        first: String,
        second: String,
    },
    /// An allowed_signers line could not be parsed.
    #[error("allowed_signers line {line}, column {column}: {reason}")]
    AllowedSigners {
        line: usize,
        column: usize,
        reason: String,
    },
    /// An allowed_signers line parsed but its key was refused (`error` says why).
    #[error("allowed_signers line {line}: {error}")]
    AllowedSignersKey { line: usize, error: Box<KeyError> },
}

/// What the daemon needs from this crate, so it can hold an `Arc<dyn SignatureVerifier>` and
/// use [`FakeVerifier`] in its own tests. [`Keyring`] is the real implementation.
pub trait SignatureVerifier: Send + Sync {
    /// Verifies `signature` over `payload`, judging the key at `now` (receive time, Unix seconds).
    fn verify(&self, signature: &[u8], payload: &[u8], now: i64) -> SignatureCheck;
}

impl SignatureVerifier for Keyring {
    fn verify(&self, signature: &[u8], payload: &[u8], now: i64) -> SignatureCheck {
        Keyring::verify(self, signature, payload, now)
    }
}

/// A [`SignatureVerifier`] that answers from a table keyed by the signature bytes; any other
/// signature gets `UnknownKey`. For tests of code that calls the verifier.
///
/// ```
/// use crypto::{FakeVerifier, SignatureVerifier};
/// use rules::facts::{KeyVerdict, SignatureCheck};
///
/// let fake = FakeVerifier::new().answer(
///     "sig-by-alice",
///     SignatureCheck { verdict: KeyVerdict::Good, identity: Some("alice".into()), ..Default::default() },
/// );
/// assert_eq!(fake.verify(b"sig-by-alice", b"payload", 0).verdict, KeyVerdict::Good);
/// assert_eq!(fake.verify(b"other", b"payload", 0).verdict, KeyVerdict::UnknownKey);
/// ```
#[derive(Debug, Clone, Default)]
pub struct FakeVerifier {
    answers: std::collections::HashMap<Vec<u8>, SignatureCheck>,
}

impl FakeVerifier {
    /// A fake with no answers.
    pub fn new() -> Self {
        Self::default()
    }

    /// Answers `check` for `signature`, whatever the payload and time.
    pub fn answer(mut self, signature: impl Into<Vec<u8>>, check: SignatureCheck) -> Self {
        self.answers.insert(signature.into(), check);
        self
    }
}

impl SignatureVerifier for FakeVerifier {
    fn verify(&self, signature: &[u8], _payload: &[u8], _now: i64) -> SignatureCheck {
        self.answers
            .get(signature)
            .cloned()
            .unwrap_or_else(|| SignatureCheck {
                verdict: KeyVerdict::UnknownKey,
                detail: Some("FakeVerifier has no answer for this signature".into()),
                ..SignatureCheck::default()
            })
    }
}

/// The armor that starts each signature format git knows.
const SSH_ARMOR: &[u8] = b"-----BEGIN SSH SIGNATURE-----";
const PGP_ARMOR: &[u8] = b"-----BEGIN PGP SIGNATURE-----";
const X509_ARMOR: &[u8] = b"-----BEGIN SIGNED MESSAGE-----";

impl Keyring {
    /// An empty keyring.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an OpenSSH public key line (`ssh-ed25519 AAAA… comment`) owned by `identity`, valid
    /// for any namespace at any time. Returns its fingerprint (`SHA256:…`, as `ssh-keygen -l`).
    pub fn add_ssh_key(&mut self, identity: &str, line: &str) -> Result<String, KeyError> {
        let key = ssh::parse_public_key(identity, line)?;
        self.ssh.insert(identity, key, ssh::Grant::unrestricted())
    }

    /// Adds OpenPGP certificates (armored or binary; a keyring with several is fine) owned by
    /// `identity`. Returns their primary fingerprints, uppercase hex as gpg prints them. Secret
    /// key material, if any, is dropped. The same certificate twice under one identity is merged.
    pub fn add_openpgp_cert(
        &mut self,
        identity: &str,
        data: &[u8],
    ) -> Result<Vec<String>, KeyError> {
        self.openpgp.add(identity, data)
    }

    /// Adds the keys of a git `allowed_signers` file (see ssh-keygen(1), "ALLOWED SIGNERS").
    ///
    /// Each principal is mapped to a policy identity by `identity_of`; a principal it maps to
    /// `None` is skipped with a warning, as are `cert-authority` lines (SSH certificates are not
    /// verified yet, so their signatures come out as unknown keys). `namespaces=`,
    /// `valid-after=` and `valid-before=` are kept with the key and judged at verify time, at
    /// `now`; times are read as UTC. Returns the warnings. On error nothing is added.
    pub fn add_allowed_signers(
        &mut self,
        text: &str,
        identity_of: impl Fn(&str) -> Option<String>,
    ) -> Result<Vec<String>, KeyError> {
        let lines = allowed_signers::parse(text).map_err(|e| KeyError::AllowedSigners {
            line: e.line,
            column: e.column,
            reason: e.reason,
        })?;
        // Resolve everything first, so a bad line leaves the keyring untouched.
        let mut warnings = Vec::new();
        let mut staged = Vec::new();
        for line in lines {
            warnings.extend(line.warnings.iter().cloned());
            if line.cert_authority {
                warnings.push(format!(
                    "line {}: cert-authority keys are not supported yet; line skipped",
                    line.number
                ));
                continue;
            }
            let mut identities: Vec<String> = Vec::new();
            for principal in &line.principals {
                match identity_of(principal) {
                    Some(id) => {
                        if !identities.contains(&id) {
                            identities.push(id);
                        }
                    }
                    None => warnings.push(format!(
                        "line {}: principal {principal:?} is not a known identity; skipped",
                        line.number
                    )),
                }
            }
            let wrap = |error| KeyError::AllowedSignersKey {
                line: line.number,
                error: Box::new(error),
            };
            let Some(first) = identities.first() else {
                continue;
            };
            let key = ssh::parse_public_key(first, &line.key).map_err(wrap)?;
            let grant = ssh::Grant {
                namespaces: line.namespaces.clone(),
                valid_after: line.valid_after,
                valid_before: line.valid_before,
                origin: Some(format!("allowed_signers line {}", line.number)),
            };
            for identity in identities {
                staged.push((line.number, identity, key.clone(), grant.clone()));
            }
        }
        // Check ownership conflicts against the keyring and within the file before inserting.
        let mut seen: std::collections::HashMap<&ssh_key::public::KeyData, &str> =
            std::collections::HashMap::new();
        for (number, identity, key, _) in &staged {
            let owner = self
                .ssh
                .owner(key.key_data())
                .or_else(|| seen.get(key.key_data()).copied());
            if let Some(owner) = owner {
                if owner != identity {
                    return Err(KeyError::AllowedSignersKey {
                        line: *number,
                        error: Box::new(KeyError::SharedKey {
                            key: ssh::fingerprint(key.key_data()),
                            first: owner.to_owned(),
                            second: identity.clone(),
                        }),
                    });
                }
            }
            seen.insert(key.key_data(), identity);
        }
        for (number, identity, key, grant) in staged {
            self.ssh.insert(&identity, key, grant).map_err(|error| {
                KeyError::AllowedSignersKey {
                    line: number,
                    error: Box::new(error),
                }
            })?;
        }
        Ok(warnings)
    }

    /// Verifies `signature` (the armored block exactly as found in the commit's `gpgsig` header
    /// or at the end of a tag) over `payload` (the signed bytes), judging the key at `now`
    /// (receive time, Unix seconds).
    pub fn verify(&self, signature: &[u8], payload: &[u8], now: i64) -> SignatureCheck {
        let block = signature.trim_ascii_start();
        if block.starts_with(SSH_ARMOR) {
            self.ssh.verify(block, payload, now)
        } else if block.starts_with(PGP_ARMOR) {
            self.openpgp.verify(block, payload, now)
        } else if block.starts_with(X509_ARMOR) {
            SignatureCheck {
                verdict: KeyVerdict::UnsupportedFormat,
                format: Some(SignatureFormat::X509),
                detail: Some("X.509 (gpgsm/gitsign) signatures are not verified yet".into()),
                ..SignatureCheck::default()
            }
        } else {
            SignatureCheck {
                verdict: KeyVerdict::Malformed,
                detail: Some("not an SSH, OpenPGP or X.509 signature block".into()),
                ..SignatureCheck::default()
            }
        }
    }

    /// Number of keys: SSH keys plus OpenPGP certificates.
    pub fn len(&self) -> usize {
        self.ssh.len() + self.openpgp.len()
    }

    /// True when no key has been added.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyring_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Keyring>();
        let shared: std::sync::Arc<dyn SignatureVerifier> = std::sync::Arc::new(Keyring::new());
        assert_eq!(shared.verify(b"x", b"y", 0).verdict, KeyVerdict::Malformed);
    }
}
