//! Top-level `trust:`: X.509 roots and CRLs, SSH certificate authorities and revocations,
//! Sigstore roots and logs, and the OpenPGP SHA-1 cutoff.

use serde::Serialize;

use super::raw::{RawTrust, S};
use super::{Location, PolicyError};
use crate::calendar::parse_date;

/// An SSH certificate authority.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SshCa {
    pub key: String,
    pub principals: Option<String>,
    pub namespaces: Option<String>,
    pub valid_after: Option<i64>,
    pub valid_before: Option<i64>,
    pub at: Location,
}

/// Top-level `trust:`: certificate authorities and signature algorithm settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Trust {
    /// PEM files of X.509 roots (relative to the policy file), with where they are named.
    pub x509_roots: Vec<(String, Location)>,
    /// X.509 CRL files (PEM or DER), relative to the policy file.
    pub x509_crls: Vec<(String, Location)>,
    pub ssh_cas: Vec<SshCa>,
    /// SSH revocation files (OpenSSH KRL or public key lines), relative to the policy file.
    pub ssh_revoked: Vec<(String, Location)>,
    pub sigstore_roots: Vec<(String, Location)>,
    /// PEM public keys of the Rekor logs whose entries establish a gitsign signature's time.
    pub sigstore_rekor_keys: Vec<(String, Location)>,
    /// PEM roots of the RFC 3161 timestamping authorities whose tokens establish that time.
    pub sigstore_tsa_roots: Vec<(String, Location)>,
    pub sigstore_trust_signing_time: bool,
    /// OpenPGP SHA-1 signatures made before this time are accepted; none after.
    pub sha1_cutoff: Option<i64>,
}

/// `trust:`.
pub(super) fn validate(raw: Option<&RawTrust>) -> Result<Trust, PolicyError> {
    let mut trust = Trust::default();
    if let Some(t) = raw {
        trust.x509_roots = located(&t.x509_roots);
        trust.x509_crls = located(&t.x509_crls);
        trust.ssh_revoked = located(&t.ssh_revoked);
        for ca in &t.ssh_cas {
            let c = &ca.value;
            let date = |d: &Option<String>| -> Result<Option<i64>, PolicyError> {
                d.as_ref()
                    .map(|d| {
                        parse_date(d).ok_or_else(|| {
                            PolicyError::new(ca, format!("{d:?} is not a date (YYYY-MM-DD)"))
                        })
                    })
                    .transpose()
            };
            if c.key.split_whitespace().count() < 2 {
                return Err(PolicyError::new(
                    ca,
                    "key must be the CA's OpenSSH public key line",
                ));
            }
            trust.ssh_cas.push(SshCa {
                key: c.key.trim().to_string(),
                principals: c.principals.clone(),
                namespaces: c.namespaces.clone(),
                valid_after: date(&c.valid_after)?,
                valid_before: date(&c.valid_before)?,
                at: Location::from(ca),
            });
        }
        if let Some(sg) = &t.sigstore {
            trust.sigstore_roots = located(&sg.roots);
            trust.sigstore_rekor_keys = located(&sg.rekor_keys);
            trust.sigstore_tsa_roots = located(&sg.tsa_roots);
            trust.sigstore_trust_signing_time = sg.trust_signing_time.unwrap_or(false);
        }
        if let Some(c) = &t.sha1_cutoff {
            trust.sha1_cutoff = Some(parse_date(&c.value).ok_or_else(|| {
                PolicyError::new(
                    c,
                    format!("sha1_cutoff {:?} is not a date (YYYY-MM-DD)", c.value),
                )
            })?);
        }
    }
    Ok(trust)
}

/// File names as written in the policy, with where each is written (for errors).
fn located(files: &[S<String>]) -> Vec<(String, Location)> {
    files
        .iter()
        .map(|f| (f.value.clone(), Location::from(f)))
        .collect()
}
