//! `identities:`: the people and machines the policy knows, their emails, server user names,
//! keys and roles; and the names rulesets use for them (`alice`, `role:maintainer`).

use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use super::raw::{RawAllow, RawIdentity, S};
use super::{Location, PolicyError};

/// Where a key comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KeySource {
    /// An OpenSSH public key line.
    Ssh(String),
    /// Path of an OpenPGP certificate file; relative paths are relative to the policy file.
    Openpgp(String),
    /// The email an X.509 certificate (chained to `trust.x509_roots`) must carry.
    X509(String),
    /// A Sigstore (gitsign) identity: the certificate's subjectAltName and OIDC issuer.
    Sigstore { san: String, issuer: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeySpec {
    pub source: KeySource,
    pub at: Location,
}

/// A person or machine the policy knows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Identity {
    pub name: String,
    /// Lower-cased.
    pub emails: Vec<String>,
    /// Server user names (e.g. `GL_USER`) that name this identity, besides `name` itself.
    pub usernames: Vec<String>,
    pub keys: Vec<KeySpec>,
    pub roles: Vec<String>,
    /// SSH certificate principals that name this identity.
    pub ssh_principals: Vec<String>,
}

impl Identity {
    pub fn has_email(&self, email: &str) -> bool {
        let email = email.to_ascii_lowercase();
        self.emails.contains(&email)
    }
}

/// Who a rule's `allow` or a ruleset's `bypass` names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Actor {
    Identity(String),
    Role(String),
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::Identity(n) => f.write_str(n),
            Actor::Role(r) => write!(f, "role:{r}"),
        }
    }
}

/// `identities:` (sorted by name) and every role they hold.
pub(super) fn validate(
    raw: &BTreeMap<String, S<RawIdentity>>,
) -> Result<(Vec<Identity>, BTreeSet<String>), PolicyError> {
    let mut identities = Vec::new();
    let mut email_owner: BTreeMap<String, String> = BTreeMap::new();
    let mut user_owner: BTreeMap<String, String> = BTreeMap::new();
    let mut roles_in_use = BTreeSet::new();
    for (name, id) in raw {
        let at = Location::from(id);
        if name.is_empty() || name.starts_with("role:") || name.contains(char::is_whitespace) {
            return Err(PolicyError::new(
                at,
                format!("identity name {name:?} must be non-empty, without spaces, and not start with role:"),
            ));
        }
        let id = &id.value;
        let mut emails = Vec::new();
        for e in &id.emails {
            let email = e.value.trim().to_ascii_lowercase();
            if !email.contains('@') {
                return Err(PolicyError::new(
                    e,
                    format!("{:?} is not an email address", e.value),
                ));
            }
            if let Some(other) = email_owner.insert(email.clone(), name.clone()) {
                if other != *name {
                    return Err(PolicyError::new(
                        e,
                        format!("email {email} is listed for both {other} and {name}: an email belongs to one identity"),
                    ));
                }
            }
            emails.push(email);
        }
        let mut usernames = Vec::new();
        for u in &id.usernames {
            if let Some(other) = user_owner.insert(u.value.clone(), name.clone()) {
                if other != *name {
                    return Err(PolicyError::new(
                        u,
                        format!(
                            "user name {} is listed for both {other} and {name}",
                            u.value
                        ),
                    ));
                }
            }
            usernames.push(u.value.clone());
        }
        let mut keys = Vec::new();
        for k in &id.keys {
            let kv = &k.value;
            let given = [
                kv.ssh.is_some(),
                kv.openpgp.is_some(),
                kv.x509.is_some(),
                kv.sigstore.is_some(),
            ]
            .iter()
            .filter(|b| **b)
            .count();
            if given != 1 {
                return Err(PolicyError::new(
                    k,
                    "each key is exactly one of {ssh: \"<public key line>\"}, {openpgp: <certificate file>}, {x509: <email>} or {sigstore: {san, issuer}}",
                ));
            }
            let source = match (&k.value.ssh, &k.value.openpgp) {
                _ if kv.x509.is_some() => {
                    let e = kv.x509.as_deref().unwrap_or_default().trim().to_ascii_lowercase();
                    if !e.contains('@') {
                        return Err(PolicyError::new(k, format!("x509: {e:?} is not an email address")));
                    }
                    KeySource::X509(e)
                }
                _ if kv.sigstore.is_some() => {
                    let sg = kv.sigstore.as_ref().expect("checked just above");
                    if sg.san.trim().is_empty() || !sg.issuer.starts_with("https://") {
                        return Err(PolicyError::new(k, "sigstore needs san (email or URI) and issuer (an https:// OIDC issuer URL)"));
                    }
                    KeySource::Sigstore { san: sg.san.trim().to_string(), issuer: sg.issuer.trim().to_string() }
                }
                (Some(s), None) => {
                    let s = s.trim();
                    if s.split_whitespace().count() < 2 {
                        return Err(PolicyError::new(
                            k,
                            "ssh key must be an OpenSSH public key line: \"ssh-ed25519 AAAA... comment\"",
                        ));
                    }
                    KeySource::Ssh(s.to_string())
                }
                (None, Some(p)) if !p.trim().is_empty() => KeySource::Openpgp(p.trim().to_string()),
                _ => {
                    return Err(PolicyError::new(
                        k,
                        "each key is either {ssh: \"<public key line>\"} or {openpgp: <certificate file>}",
                    ))
                }
            };
            keys.push(KeySpec {
                source,
                at: Location::from(k),
            });
        }
        let roles: Vec<String> = id.roles.iter().map(|r| r.value.clone()).collect();
        roles_in_use.extend(roles.iter().cloned());
        let ssh_principals = id.ssh_principals.iter().map(|p| p.value.clone()).collect();
        identities.push(Identity {
            name: name.clone(),
            emails,
            usernames,
            keys,
            roles,
            ssh_principals,
        });
    }
    // A user name must not name a different identity than the one whose name it is.
    for (user, owner) in &user_owner {
        if identities
            .iter()
            .any(|i| i.name == *user && i.name != *owner)
        {
            return Err(PolicyError::new(
                Location { line: 1, column: 1 },
                format!(
                    "user name {user} of identity {owner} is also the name of another identity"
                ),
            ));
        }
    }
    Ok((identities, roles_in_use))
}

/// Resolves the names in `allow`, `bypass`, `signers` and `mergers` against the identities.
pub(super) struct Actors<'a> {
    pub(super) identities: &'a [Identity],
    /// Every role some identity holds.
    pub(super) roles_in_use: &'a BTreeSet<String>,
}

impl Actors<'_> {
    /// An identity name or `role:NAME`; a role nobody holds is a warning, not an error.
    pub(super) fn actor(
        &self,
        s: &S<String>,
        warnings: &mut Vec<PolicyError>,
    ) -> Result<Actor, PolicyError> {
        let v = s.value.trim();
        if let Some(role) = v.strip_prefix("role:") {
            if role.is_empty() {
                return Err(PolicyError::new(
                    s,
                    "role: needs a name, e.g. role:maintainer",
                ));
            }
            if !self.roles_in_use.contains(role) {
                warnings.push(PolicyError::new(s, format!("no identity has role {role}")));
            }
            Ok(Actor::Role(role.to_string()))
        } else if self.identities.iter().any(|i| i.name == v) {
            Ok(Actor::Identity(v.to_string()))
        } else {
            Err(PolicyError::new(
                s,
                format!("unknown identity {v:?}: define it under identities, or write role:NAME"),
            ))
        }
    }

    /// An `allow:` list.
    pub(super) fn allow(
        &self,
        a: &RawAllow,
        warnings: &mut Vec<PolicyError>,
    ) -> Result<Vec<Actor>, PolicyError> {
        a.allow.iter().map(|s| self.actor(s, warnings)).collect()
    }
}
