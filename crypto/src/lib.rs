//! Signature verification for pushguard: is this commit's or tag's signature good, and whose key
//! made it?
//!
//! The daemon builds one [`Keyring`] when it loads the policy (SSH keys and certificate
//! authorities, OpenPGP certificates, git `allowed_signers` files, X.509 roots and the emails of
//! identities; each key owned by one policy identity), shares it behind an
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
//! | `-----BEGIN SSH SIGNATURE-----` | SSHSIG | namespace must be `git`; plain keys, or OpenSSH certificates from a CA in the policy |
//! | `-----BEGIN PGP SIGNATURE-----` | OpenPGP v4/v6 | Sequoia, standard policy (SHA-1 only before [`Keyring::set_sha1_cutoff`]); non-canonical MPI encodings (GitHub web-flow) read as GnuPG reads them |
//! | `-----BEGIN SIGNED MESSAGE-----` | X.509 / CMS (gpgsm) | OpenSSL; chain to a root from [`Keyring::add_x509_root`], email → identity |
//! | same, Fulcio certificate | Sigstore gitsign | chain to [`Keyring::add_sigstore_root`], SAN + OIDC issuer → identity; judged at the integrated time of its Rekor entry, verified offline with [`Keyring::add_rekor_key`] (or, opted in, its signingTime: [`Keyring::set_sigstore_trust_signing_time`]) |
//!
//! See `docs/signatures.md` for the verdict table and how it maps to git's `%G?` letters
//! ([`git_letter`]).

mod allowed_signers;
/// Signed code-review approvals (in-toto Statement in a DSSE envelope): format, signing helpers, verification.
pub mod approval;
mod crl;
mod der;
mod openpgp;
mod openpgp_mpi;
mod rekor;
mod ssh;
mod ssh_cert;
mod ssh_openssl;
mod ssh_revoked;
mod time;
mod tsa;
mod x509;

use rules::facts::{KeyVerdict, SignatureCheck};

/// How the detail of an [`KeyVerdict::ExpiredKey`] verdict begins when the signature itself
/// (not the key) has expired: git's `X` rather than `Y`.
pub(crate) const SIGNATURE_EXPIRED: &str = "signature expired";

/// The letter `git log --format=%G?` prints for a signature with this check, made at the
/// current time (as gpg judges it): the class of the signature, not the policy's verdict
/// (identity binding and the signature-time basis are the caller's business).
///
/// `G` stands for both of git's good letters: gpg prints `U` rather than `G` when the key is not
/// certified in the GnuPG web of trust; the policy is pushguard's trust, so a key in it is `G`.
pub fn git_letter(sig: &SignatureCheck) -> char {
    match sig.verdict {
        KeyVerdict::Good => 'G',
        // A signature's own expiry (OpenPGP) is worded so; a key's expiry otherwise.
        KeyVerdict::ExpiredKey
            if sig
                .detail
                .as_deref()
                .is_some_and(|d| d.starts_with(SIGNATURE_EXPIRED)) =>
        {
            'X'
        }
        KeyVerdict::ExpiredKey => 'Y',
        KeyVerdict::RevokedKey => 'R',
        KeyVerdict::BadSignature | KeyVerdict::WrongNamespace => 'B',
        KeyVerdict::NoSignature => 'N',
        KeyVerdict::UnknownKey
        | KeyVerdict::Malformed
        | KeyVerdict::UnsupportedFormat
        | KeyVerdict::NotSigningKey
        | KeyVerdict::KeyNotYetValid
        // Never the verifier's own answer; git could not check it either.
        | KeyVerdict::NotVerified => 'E',
    }
}

/// The public keys of a policy, each owned by one identity. Build it once, share it behind `Arc`.
#[derive(Debug, Default)]
pub struct Keyring {
    ssh: ssh::SshKeys,
    ssh_cas: ssh_cert::SshCas,
    ssh_revoked: ssh_revoked::SshRevocations,
    openpgp: openpgp::Certs,
    x509: x509::X509Trust,
}

/// How an SSH certificate authority is trusted ([`Keyring::add_ssh_ca`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SshCaOptions {
    /// OpenSSH pattern list (`*@example.com,!root`) that a certificate principal must match;
    /// `None` means any principal.
    pub principals: Option<String>,
    /// Pattern list of namespaces the CA may certify signatures for; `None` means any.
    pub namespaces: Option<String>,
    /// The CA is trusted from this time on (inclusive), judged at receive time.
    pub valid_after: Option<i64>,
    /// The CA is trusted up to this time (inclusive), judged at receive time.
    pub valid_before: Option<i64>,
}

/// A policy error while loading keys. Every variant names the identity or line concerned.
#[derive(thiserror::Error, Debug)]
#[non_exhaustive]
pub enum KeyError {
    /// An SSH revocation file (KRL or public key lines) could not be read.
    #[error("SSH revocation file {file}: {reason}")]
    Revocations { file: String, reason: String },
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
    /// An X.509 root or identity could not be added.
    #[error("X.509 {what}: {reason}")]
    X509 { what: String, reason: String },
    /// A Sigstore trust setting (a Rekor log key) could not be added.
    #[error("Sigstore {what}: {reason}")]
    Sigstore { what: String, reason: String },
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

    /// Adds X.509 certificate revocation lists (PEM `X509 CRL` blocks, or one DER CRL) for the
    /// gpgsm chains; `source` names the file in messages. Every certificate of a signer's chain
    /// is looked up in the CRLs its issuer signed: key or CA compromise (or no reason) revokes
    /// every signature; other reasons count from the revocation date, at the time the
    /// signature is judged. A CRL for the issuer that does not verify, or is past its
    /// `nextUpdate`, makes the signature `unknown_key` (fail closed). Returns the CRLs read.
    pub fn add_x509_crls(&mut self, source: &str, bytes: &[u8]) -> Result<usize, KeyError> {
        self.x509.crls.add(source, bytes)
    }

    /// Adds an SSH revocation file, as git's `gpg.ssh.revocationFile` takes it: an OpenSSH key
    /// revocation list (`ssh-keygen -k`: keys, SHA-1/SHA-256 fingerprints, certificates by CA
    /// and serial or key id) or a text file of public key lines. `source` names it in messages.
    /// A signature by a revoked key, by a revoked certificate, or by a certificate whose key or
    /// CA is revoked is `revoked_key` whenever it was made (a KRL has no dates or reasons, so
    /// this is a hard revocation). Returns the number of entries read.
    pub fn add_ssh_revocations(&mut self, source: &str, bytes: &[u8]) -> Result<usize, KeyError> {
        self.ssh_revoked.add(source, bytes)
    }

    /// Adds an OpenSSH public key line (`ssh-ed25519 AAAA… comment`) owned by `identity`, valid
    /// for any namespace at any time. Returns its fingerprint (`SHA256:…`, as `ssh-keygen -l`).
    pub fn add_ssh_key(&mut self, identity: &str, line: &str) -> Result<String, KeyError> {
        let key = ssh::parse_public_key(identity, line)?;
        self.ssh.insert(identity, key, ssh::Grant::unrestricted())
    }

    /// Adds an SSH certificate authority (`ssh-ed25519 AAAA… comment`, as for a plain key).
    ///
    /// A signature made with a user certificate this CA issued is good when the CA signature
    /// verifies, the certificate is valid at receive time (`valid_after <= now < valid_before`),
    /// has no unknown critical option, and exactly one identity is named by its principals: each
    /// principal matching `options.principals` is passed to `identity_of`, **at verify time**
    /// (certificates are issued after the policy is loaded). Returns the CA's fingerprint.
    ///
    /// Adding the same CA twice adds a second grant (any grant that allows the certificate is
    /// enough). A CA key that is also some identity's plain key stays separate: its plain
    /// signatures are that identity's, and it certifies only through this grant.
    pub fn add_ssh_ca(
        &mut self,
        ca_line: &str,
        options: SshCaOptions,
        identity_of: impl Fn(&str) -> Option<String> + Send + Sync + 'static,
    ) -> Result<String, KeyError> {
        let key = ssh::parse_public_key("(certificate authority)", ca_line)?;
        let fp = ssh::fingerprint(key.key_data());
        self.ssh_cas.insert(
            key.key_data().clone(),
            ssh_cert::CaGrant {
                principals: options.principals.unwrap_or_else(|| "*".to_owned()),
                grant: ssh::Grant {
                    namespaces: options.namespaces,
                    valid_after: options.valid_after,
                    valid_before: options.valid_before,
                    origin: None,
                },
                identity_of: std::sync::Arc::new(identity_of),
            },
        );
        Ok(fp)
    }

    /// Trusts the PEM certificates in `pem` (one or several) as roots for X.509 / CMS
    /// signatures (gpgsm, `gpg.format=x509`). Returns their SHA-256 fingerprints (uppercase
    /// hex). A root says nothing about *who* signed: see [`Keyring::add_x509_identity`].
    pub fn add_x509_root(&mut self, pem: &[u8]) -> Result<Vec<String>, KeyError> {
        self.x509.add_roots(pem)
    }

    /// Makes `identity` the owner of X.509 certificates (chained to a trusted root) that carry
    /// `email` as subjectAltName rfc822Name or subject emailAddress; compared
    /// case-insensitively. The same email for two identities is a [`KeyError::SharedKey`].
    pub fn add_x509_identity(&mut self, identity: &str, email: &str) -> Result<(), KeyError> {
        self.x509.add_identity(identity, email)
    }

    /// Trusts the PEM certificates in `pem` as Fulcio roots for Sigstore gitsign signatures
    /// (CMS like gpgsm's, with a short-lived certificate). Kept apart from
    /// [`Keyring::add_x509_root`]: a Fulcio certificate only names an identity through
    /// [`Keyring::add_sigstore_identity`]. Returns the SHA-256 fingerprints.
    pub fn add_sigstore_root(&mut self, pem: &[u8]) -> Result<Vec<String>, KeyError> {
        self.x509.sigstore.add_roots(pem)
    }

    /// A Fulcio certificate whose subjectAltName is `san` (an email, compared
    /// case-insensitively, or a URI such as a CI workflow, exact) and whose OIDC issuer
    /// extension (1.3.6.1.4.1.57264.1.8, or the older .1.1) is exactly `oidc_issuer` belongs
    /// to `identity`.
    pub fn add_sigstore_identity(
        &mut self,
        identity: &str,
        san: &str,
        oidc_issuer: &str,
    ) -> Result<(), KeyError> {
        self.x509.sigstore.add_identity(identity, san, oidc_issuer)
    }

    /// Trusts a Rekor transparency log: `pem` is its public key (`-----BEGIN PUBLIC KEY-----`,
    /// ECDSA as the public Rekor uses, or Ed25519). A gitsign signature that carries a log entry
    /// from this log (offline mode) is judged at the entry's integrated time once the signed
    /// entry timestamp, and the inclusion proof and checkpoint when present, verify with this
    /// key. Returns the log id: SHA-256 of the key's DER SubjectPublicKeyInfo, hex, as Rekor
    /// names its logs. Several keys may be added (key rotation, shards).
    pub fn add_rekor_key(&mut self, pem: &[u8]) -> Result<String, KeyError> {
        self.x509.sigstore.add_rekor_key(pem)
    }

    /// Trusts the PEM certificates in `pem` as roots of RFC 3161 timestamping authorities. A
    /// gitsign signature without a Rekor entry that carries a timestamp token (gitsign's
    /// `GITSIGN_TIMESTAMP_SERVER_URL`) is judged at the token's `genTime`, once the token's
    /// signature verifies, its message imprint is the hash of this signature value, and its
    /// signer chains to one of these roots at that time with the timestamping usage. Returns
    /// the fingerprints.
    pub fn add_tsa_root(&mut self, pem: &[u8]) -> Result<Vec<String>, KeyError> {
        self.x509.sigstore.add_tsa_roots(pem)
    }

    /// Sigstore certificates live about ten minutes, so they are judged at the signature's time,
    /// which a Rekor log entry establishes ([`Keyring::add_rekor_key`]). With `true`, a
    /// signature without a verifiable entry (none, or one from a log the policy does not list)
    /// is judged at its CMS `signingTime` attribute instead (chosen by the signer, at most
    /// 5 minutes after receive time); with `false` (the default), such a signature is
    /// `unsupported_format`.
    pub fn set_sigstore_trust_signing_time(&mut self, trust: bool) {
        self.x509.sigstore.trust_signing_time = trust;
    }

    /// Accepts OpenPGP data signatures that use SHA-1 when their creation time is before
    /// `cutoff` (Unix seconds); `None` (the default) rejects them all (`unsupported_format`).
    /// See docs/signatures.md, "SHA-1", for why the signature's own time is used here.
    pub fn set_sha1_cutoff(&mut self, cutoff: Option<i64>) {
        self.openpgp.sha1_cutoff = cutoff;
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
    /// `None` is skipped with a warning. A `cert-authority` line adds its key as a CA (see
    /// [`Keyring::add_ssh_ca`]) whose principal patterns are the line's principals; the
    /// certificate's principals are mapped by `identity_of` when a signature is verified.
    /// `namespaces=`,
    /// `valid-after=` and `valid-before=` are kept with the key and judged at verify time, at
    /// `now`; times are read as UTC. Returns the warnings. On error nothing is added.
    pub fn add_allowed_signers(
        &mut self,
        text: &str,
        identity_of: impl Fn(&str) -> Option<String> + Send + Sync + 'static,
    ) -> Result<Vec<String>, KeyError> {
        let identity_of: ssh_cert::PrincipalMap = std::sync::Arc::new(identity_of);
        let lines = allowed_signers::parse(text).map_err(|e| KeyError::AllowedSigners {
            line: e.line,
            column: e.column,
            reason: e.reason,
        })?;
        // Resolve everything first, so a bad line leaves the keyring untouched.
        let mut warnings = Vec::new();
        let mut staged = Vec::new();
        let mut staged_cas = Vec::new();
        for line in lines {
            warnings.extend(line.warnings.iter().cloned());
            if line.cert_authority {
                let key = ssh::parse_public_key("(certificate authority)", &line.key).map_err(
                    |error| KeyError::AllowedSignersKey {
                        line: line.number,
                        error: Box::new(error),
                    },
                )?;
                staged_cas.push((
                    key.key_data().clone(),
                    ssh_cert::CaGrant {
                        principals: line.principals.join(","),
                        grant: ssh::Grant {
                            namespaces: line.namespaces.clone(),
                            valid_after: line.valid_after,
                            valid_before: line.valid_before,
                            origin: Some(format!("allowed_signers line {}", line.number)),
                        },
                        identity_of: identity_of.clone(),
                    },
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
        for (ca, grant) in staged_cas {
            self.ssh_cas.insert(ca, grant);
        }
        Ok(warnings)
    }

    /// Verifies `signature` (the armored block exactly as found in the commit's `gpgsig` header
    /// or at the end of a tag) over `payload` (the signed bytes), judging the key at `now`
    /// (receive time, Unix seconds).
    pub fn verify(&self, signature: &[u8], payload: &[u8], now: i64) -> SignatureCheck {
        let block = signature.trim_ascii_start();
        if block.starts_with(SSH_ARMOR) {
            let certificate =
                ssh::sshsig_key_type(block).is_some_and(|t| t.ends_with(ssh_cert::CERT_SUFFIX));
            if certificate {
                self.ssh_cas.verify(block, payload, now, &self.ssh_revoked)
            } else {
                self.ssh.verify(block, payload, now, &self.ssh_revoked)
            }
        } else if block.starts_with(PGP_ARMOR) {
            self.openpgp.verify(block, payload, now)
        } else if block.starts_with(X509_ARMOR) {
            self.x509.verify(block, payload, now)
        } else {
            SignatureCheck {
                verdict: KeyVerdict::Malformed,
                detail: Some("not an SSH, OpenPGP or X.509 signature block".into()),
                ..SignatureCheck::default()
            }
        }
    }

    /// Number of keys: SSH keys, SSH CAs, OpenPGP certificates and X.509 roots.
    pub fn len(&self) -> usize {
        self.ssh.len() + self.ssh_cas.len() + self.openpgp.len() + self.x509.len()
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
