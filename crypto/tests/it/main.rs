//! Integration tests for `pushguard-crypto`, with real keys made at test time.
//!
//! Tools: `ssh-keygen` (openssh-client) and `gpg` (gnupg). A missing tool fails the test with
//! the package to install; nothing is skipped.

/// Helpers: ssh-keygen and gpg in temporary directories, payloads, clocks.
mod util;

/// SSH signatures made by `ssh-keygen -Y sign`: each key type, tampering, namespaces.
mod ssh;

/// git's allowed_signers files: options judged at receive time, principals, errors.
mod allowed_signers;

/// OpenPGP signatures made by gpg: RSA and ed25519, text mode, SHA-1, keyrings.
mod gpg;

/// OpenPGP cases gpg cannot easily make, built with Sequoia: expiry, revocation, future keys, v6.
mod sequoia_cases;

/// Real commits and tags signed by git, split like git does: the daemon's contract.
mod git;

/// Every verdict's message, as the pusher reads it.
mod messages;

/// Format detection and garbage.
mod formats;

/// SSH signatures made with OpenSSH certificates, against CAs in the policy.
mod ssh_cert;

/// X.509 / CMS signatures made by gpgsm and openssl cms.
mod x509;

/// Our good/not-good agrees with `git verify-commit` / `verify-tag` on every format.
mod agreement;

/// Policy errors: a key under two identities.
mod keyring;

// SSH revocation files: KRLs made by `ssh-keygen -k`, and public key lists.
mod ssh_revoked;

// X.509 certificate revocation lists made by `openssl ca -gencrl`.
mod x509_crl;

/// Sigstore gitsign signatures with a Rekor log entry, verified offline.
mod sigstore;

/// Issue 11: real GitHub web-flow signatures (non-canonical MPIs), against git + gpg.
mod web_flow;

/// Issue 14: signed code-review approvals (DSSE + in-toto), golden vectors and fresh keys.
mod approvals;
