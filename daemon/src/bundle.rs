//! The policy bundle: the validated policy plus the keys and secret rules it names, built before any socket is bound
//! and swapped atomically on reload (an invalid new policy keeps the old one running).

use rules::policy::{KeySource, Location};
use rules::Policy;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fmt;
use std::path::Path;

/// A policy ready to judge pushes.
pub struct PolicyBundle {
    pub policy: Policy,
    pub keyring: crypto::Keyring,
    /// Compiled secret detection rules, when a ruleset scans for secrets.
    pub scanner: Option<secrets::Scanner>,
    /// SHA-256 of the policy text (and of every key file it names), for the audit log.
    pub hash: String,
    /// Approvals already read and verified with this bundle's keys, by object id: an approval
    /// stored on the server is verified once, not on every push (a reload starts afresh).
    pub approvals: crate::collect::ApprovalCache,
}

/// A policy that cannot be used, with where.
#[derive(Debug)]
pub struct LoadError {
    pub file: String,
    pub at: Option<Location>,
    pub message: String,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.at {
            Some(at) => write!(
                f,
                "{}:{}:{}: {}",
                self.file, at.line, at.column, self.message
            ),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

impl std::error::Error for LoadError {}

impl PolicyBundle {
    /// Key the fingerprints of the secrets this policy finds (see [`crate::fpkey`]).
    pub fn with_fingerprint_key(mut self, key: Option<secrets::FingerprintKey>) -> PolicyBundle {
        if let Some(s) = self.scanner.as_mut() {
            s.set_fingerprint_key(key);
        }
        self
    }

    /// Load the policy file (or the embedded default) and every key it names.
    pub fn load(path: Option<&Path>) -> Result<PolicyBundle, LoadError> {
        let (text, file) = match path {
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|e| LoadError {
                    file: p.display().to_string(),
                    at: None,
                    message: format!("cannot read the policy: {e}"),
                })?;
                (text, p.display().to_string())
            }
            None => (
                rules::policy::DEFAULT_POLICY_YAML.to_string(),
                "<embedded default policy>".to_string(),
            ),
        };
        let policy = Policy::from_yaml(&text).map_err(|e| LoadError {
            file: file.clone(),
            at: Some(e.at),
            message: e.message,
        })?;
        let base = path
            .and_then(Path::parent)
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let mut hasher = Sha256::new();
        hasher.update(text.as_bytes());
        let mut keyring = crypto::Keyring::new();
        for id in &policy.identities {
            for key in &id.keys {
                let err = |message: String| LoadError {
                    file: file.clone(),
                    at: Some(key.at),
                    message,
                };
                match &key.source {
                    KeySource::Ssh(line) => {
                        hasher.update(line.as_bytes());
                        keyring
                            .add_ssh_key(&id.name, line)
                            .map_err(|e| err(e.to_string()))?;
                    }
                    KeySource::Openpgp(p) => {
                        let full = base.join(p);
                        let data = std::fs::read(&full).map_err(|e| {
                            err(format!(
                                "identity {}: cannot read {}: {e}",
                                id.name,
                                full.display()
                            ))
                        })?;
                        hasher.update(&data);
                        keyring.add_openpgp_cert(&id.name, &data).map_err(|e| {
                            err(format!("identity {}: {}: {e}", id.name, full.display()))
                        })?;
                    }
                    KeySource::X509(email) => {
                        hasher.update(email.as_bytes());
                        keyring
                            .add_x509_identity(&id.name, email)
                            .map_err(|e| err(e.to_string()))?;
                    }
                    KeySource::Sigstore { san, issuer } => {
                        hasher.update(san.as_bytes());
                        hasher.update(issuer.as_bytes());
                        keyring
                            .add_sigstore_identity(&id.name, san, issuer)
                            .map_err(|e| err(e.to_string()))?;
                    }
                }
            }
        }
        let trust = &policy.trust;
        let read_file =
            |p: &str, at: Location, hasher: &mut Sha256| -> Result<Vec<u8>, LoadError> {
                let full = base.join(p);
                let data = std::fs::read(&full).map_err(|e| LoadError {
                    file: file.clone(),
                    at: Some(at),
                    message: format!("cannot read {}: {e}", full.display()),
                })?;
                hasher.update(&data);
                Ok(data)
            };
        // Every trust file: read (and hashed into the policy hash), then handed to the keyring;
        // an error names the file and where the policy names it.
        type AddFile = fn(&mut crypto::Keyring, &str, &[u8]) -> Result<(), crypto::KeyError>;
        let sources: [(&[(String, Location)], AddFile); 6] = [
            (&trust.x509_roots, |k, _, d| k.add_x509_root(d).map(drop)),
            (&trust.x509_crls, |k, p, d| k.add_x509_crls(p, d).map(drop)),
            (&trust.ssh_revoked, |k, p, d| {
                k.add_ssh_revocations(p, d).map(drop)
            }),
            (&trust.sigstore_roots, |k, _, d| {
                k.add_sigstore_root(d).map(drop)
            }),
            (&trust.sigstore_rekor_keys, |k, _, d| {
                k.add_rekor_key(d).map(drop)
            }),
            (&trust.sigstore_tsa_roots, |k, _, d| {
                k.add_tsa_root(d).map(drop)
            }),
        ];
        for (files, add) in sources {
            for (p, at) in files {
                let data = read_file(p, *at, &mut hasher)?;
                add(&mut keyring, p, &data).map_err(|e| {
                    let e = e.to_string();
                    LoadError {
                        file: file.clone(),
                        at: Some(*at),
                        // errors of the revocation files name them already
                        message: if e.contains(p.as_str()) {
                            e
                        } else {
                            format!("{p}: {e}")
                        },
                    }
                })?;
            }
        }
        keyring.set_sigstore_trust_signing_time(trust.sigstore_trust_signing_time);
        keyring.set_sha1_cutoff(trust.sha1_cutoff);
        if let Some(c) = trust.sha1_cutoff {
            hasher.update(c.to_be_bytes());
        }
        let principals = principal_map(&policy);
        for ca in &trust.ssh_cas {
            hasher.update(ca.key.as_bytes());
            let map = principals.clone();
            let options = crypto::SshCaOptions {
                principals: ca.principals.clone(),
                namespaces: ca.namespaces.clone(),
                valid_after: ca.valid_after,
                valid_before: ca.valid_before,
            };
            keyring
                .add_ssh_ca(&ca.key, options, move |p| lookup(&map, p))
                .map_err(|e| LoadError {
                    file: file.clone(),
                    at: Some(ca.at),
                    message: e.to_string(),
                })?;
        }
        if let Some((p, at)) = &policy.allowed_signers {
            let full = base.join(p);
            let err = |message: String| LoadError {
                file: file.clone(),
                at: Some(*at),
                message,
            };
            let text = std::fs::read_to_string(&full)
                .map_err(|e| err(format!("cannot read {}: {e}", full.display())))?;
            hasher.update(text.as_bytes());
            let map = principals.clone();
            let warnings = keyring
                .add_allowed_signers(&text, move |p| lookup(&map, p))
                .map_err(|e| err(format!("{}: {e}", full.display())))?;
            for w in warnings {
                tracing::warn!("{}: {w}", full.display());
            }
        }
        let scanner = if policy.scans_secrets() {
            Some(load_scanner(&policy, &base, &file, &mut hasher)?)
        } else {
            None
        };
        let mut policy = policy;
        load_baselines(&mut policy, &base, &file, &mut hasher)?;
        Ok(PolicyBundle {
            policy,
            keyring,
            scanner,
            hash: hex::encode(hasher.finalize()),
            approvals: crate::collect::ApprovalCache::default(),
        })
    }
}

/// Every file the policy names (key files, trust roots, allowed_signers, gitleaks config),
/// resolved against the policy file's directory: a change to any of them reloads the policy.
pub fn referenced_files(policy: &Policy, policy_file: &Path) -> Vec<std::path::PathBuf> {
    let base = policy_file.parent().unwrap_or(Path::new(""));
    let mut out = vec![policy_file.to_path_buf()];
    for id in &policy.identities {
        for k in &id.keys {
            if let KeySource::Openpgp(p) = &k.source {
                out.push(base.join(p));
            }
        }
    }
    let t = &policy.trust;
    out.extend(t.x509_roots.iter().map(|(p, _)| base.join(p)));
    out.extend(t.sigstore_roots.iter().map(|(p, _)| base.join(p)));
    out.extend(t.ssh_revoked.iter().map(|(p, _)| base.join(p)));
    out.extend(t.x509_crls.iter().map(|(p, _)| base.join(p)));
    out.extend(t.sigstore_rekor_keys.iter().map(|(p, _)| base.join(p)));
    out.extend(t.sigstore_tsa_roots.iter().map(|(p, _)| base.join(p)));
    out.extend(policy.allowed_signers.iter().map(|(p, _)| base.join(p)));
    out.extend(policy.secrets.gitleaks_config.iter().map(|p| base.join(p)));
    for ruleset in &policy.rulesets {
        for rule in &ruleset.rules {
            if let rules::policy::RuleSpec::SecretScanning(sc) = rule {
                out.extend(sc.baseline.iter().map(|(p, _)| base.join(p)));
            }
        }
    }
    out
}

/// The `secret_scanning.baseline` files, read into their rules' suppressions.
fn load_baselines(
    policy: &mut Policy,
    base: &Path,
    file: &str,
    hasher: &mut Sha256,
) -> Result<(), LoadError> {
    for ruleset in &mut policy.rulesets {
        for rule in &mut ruleset.rules {
            let rules::policy::RuleSpec::SecretScanning(sc) = rule else {
                continue;
            };
            let Some((p, at)) = sc.baseline.clone() else {
                continue;
            };
            let full = base.join(&p);
            let err = |message: String| LoadError {
                file: file.to_string(),
                at: Some(at),
                message,
            };
            let text = std::fs::read_to_string(&full)
                .map_err(|e| err(format!("cannot read the baseline {}: {e}", full.display())))?;
            hasher.update(text.as_bytes());
            let suppressions = rules::policy::parse_suppressions(&text)
                .map_err(|e| err(format!("{}: {e}", full.display())))?;
            sc.suppressions.extend(suppressions);
        }
    }
    Ok(())
}

/// Who a certificate or allowed_signers principal names: an identity by its name, one of its
/// emails (any case) or one of its `ssh_principals`.
fn principal_map(policy: &Policy) -> std::sync::Arc<HashMap<String, String>> {
    let mut map = HashMap::new();
    for id in &policy.identities {
        map.insert(id.name.clone(), id.name.clone());
        for e in &id.emails {
            map.insert(e.to_ascii_lowercase(), id.name.clone());
        }
        for p in &id.ssh_principals {
            map.insert(p.clone(), id.name.clone());
        }
    }
    std::sync::Arc::new(map)
}

fn lookup(map: &HashMap<String, String>, principal: &str) -> Option<String> {
    map.get(principal)
        .or_else(|| map.get(&principal.to_ascii_lowercase()))
        .cloned()
}

/// The detection rules: built in, or from a gitleaks config (which may extend the built-ins),
/// less the disabled ones.
fn load_scanner(
    policy: &Policy,
    base: &Path,
    file: &str,
    hasher: &mut Sha256,
) -> Result<secrets::Scanner, LoadError> {
    let cfg = &policy.secrets;
    let err = |at: Option<Location>, message: String| LoadError {
        file: file.to_string(),
        at,
        message,
    };
    let mut rules = match &cfg.gitleaks_config {
        None => secrets::RuleSet::builtin(),
        Some(p) => {
            let full = base.join(p);
            let text = std::fs::read_to_string(&full).map_err(|e| {
                err(
                    cfg.gitleaks_config_at,
                    format!("cannot read {}: {e}", full.display()),
                )
            })?;
            hasher.update(text.as_bytes());
            let builtin = secrets::RuleSet::builtin();
            let (rules, warnings) = secrets::RuleSet::from_gitleaks_toml(&text, Some(&builtin))
                .map_err(|e| err(cfg.gitleaks_config_at, format!("{}: {e}", full.display())))?;
            for w in warnings {
                tracing::warn!("{}: {w}", full.display());
            }
            rules
        }
    };
    let unknown = rules.disable(&cfg.disabled_rules);
    if !unknown.is_empty() {
        return Err(err(
            None,
            format!(
                "secrets.disabled_rules names unknown rules: {}",
                unknown.join(", ")
            ),
        ));
    }
    for (id, at) in &cfg.severity_at {
        if !rules.rules().iter().any(|r| &r.id == id) {
            return Err(err(
                Some(*at),
                format!("secrets.severity names unknown rule {id:?}"),
            ));
        }
    }
    secrets::Scanner::new(&rules).map_err(|e| err(None, format!("secret rules: {e}")))
}

#[cfg(test)]
mod tests {
    //! Loading the policy bundle from real files: errors name the file, line and column of
    //! what is wrong; every file the policy names counts in its hash.

    use super::*;
    use std::process::Command;

    /// A real ed25519 public key, made by ssh-keygen.
    fn ssh_key(dir: &Path, name: &str) -> String {
        let path = dir.join(name);
        let out = Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C", name, "-f"])
            .arg(&path)
            .output()
            .expect("ssh-keygen runs");
        assert!(out.status.success(), "{out:?}");
        std::fs::read_to_string(path.with_extension("pub"))
            .expect("public key")
            .trim()
            .to_string()
    }

    fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).expect("write");
        p
    }

    fn load_err(path: &Path) -> String {
        match PolicyBundle::load(Some(path)) {
            Ok(_) => panic!("{} should not load", path.display()),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn the_embedded_default_loads_with_its_secret_scanner() {
        let l = PolicyBundle::load(None).expect("the default policy loads");
        assert!(l.scanner.is_some(), "the default policy scans for secrets");
        assert_eq!(l.keyring.len(), 0);
        assert_eq!(l.hash.len(), 64);
    }

    #[test]
    fn keys_load_and_errors_point_at_the_line() {
        let dir = tempfile::tempdir().expect("temp dir");
        let key = ssh_key(dir.path(), "alice");
        let good = write(
            dir.path(),
            "policy.yaml",
            &format!("version: 1\nidentities:\n  alice:\n    emails: [alice@example.org]\n    keys:\n      - ssh: \"{key}\"\nrulesets: []\n"),
        );
        let l = PolicyBundle::load(Some(&good)).expect("loads");
        assert_eq!(l.keyring.len(), 1);
        let bad_key = write(
            dir.path(),
            "bad-key.yaml",
            "version: 1\nidentities:\n  alice:\n    emails: [alice@example.org]\n    keys:\n      - ssh: \"ssh-ed25519 AAAAnot-base64\"\nrulesets: []\n",
        );
        let e = load_err(&bad_key);
        assert!(e.starts_with(&format!("{}:6:", bad_key.display())), "{e}");
        let missing = write(
            dir.path(),
            "missing.yaml",
            "version: 1\nidentities:\n  alice:\n    emails: [alice@example.org]\n    keys:\n      - openpgp: keys/none.asc\nrulesets: []\n",
        );
        let e = load_err(&missing);
        assert!(e.starts_with(&format!("{}:6:", missing.display())), "{e}");
        assert!(e.contains("none.asc"), "{e}");
        let broken = write(dir.path(), "broken.yaml", "version: 1\nrulesets: [\n");
        let e = load_err(&broken);
        assert!(e.starts_with(&format!("{}:", broken.display())), "{e}");
    }

    #[test]
    fn an_unknown_rule_in_secrets_severity_is_an_error_at_its_line() {
        let dir = tempfile::tempdir().expect("temp dir");
        let p = write(
            dir.path(),
            "policy.yaml",
            "version: 1\nsecrets:\n  severity:\n    no-such-rule: warn\nrulesets:\n  - name: s\n    target: push\n    rules:\n      secret_scanning: {}\n",
        );
        let e = load_err(&p);
        assert!(e.starts_with(&format!("{}:4:", p.display())), "{e}");
        assert!(e.contains("no-such-rule"), "{e}");
    }

    #[test]
    fn a_named_file_counts_in_the_hash_and_in_the_files_to_watch() {
        let dir = tempfile::tempdir().expect("temp dir");
        let key = ssh_key(dir.path(), "bob");
        let signers = write(
            dir.path(),
            "allowed_signers",
            &format!("bob@example.org {key}\n"),
        );
        let p = write(
            dir.path(),
            "policy.yaml",
            "version: 1\nallowed_signers: allowed_signers\nidentities:\n  bob: {emails: [bob@example.org]}\nrulesets: []\n",
        );
        let first = PolicyBundle::load(Some(&p)).expect("loads");
        assert_eq!(first.keyring.len(), 1);
        let other = ssh_key(dir.path(), "bob2");
        std::fs::write(&signers, format!("bob@example.org {other}\n")).expect("write");
        let second = PolicyBundle::load(Some(&p)).expect("loads");
        assert_ne!(
            first.hash, second.hash,
            "a changed key file is a changed policy"
        );
        let watched = referenced_files(&second.policy, &p);
        assert!(
            watched.contains(&p) && watched.contains(&signers),
            "{watched:?}"
        );
    }
}
