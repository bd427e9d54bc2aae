//! Secret detection for pushguard: the rules, the matcher and the report renderers.
//!
//! This crate is a calculator: bytes and a path go in, [`Finding`]s come out. It never reads
//! files, talks to the network, spawns processes or looks at the clock; the hook and the daemon
//! do that and hand each new blob to a [`Scanner`] that was compiled once.
//!
//! * [`RuleSet::builtin`] holds our own rules (provider tokens, private keys, cloud
//!   credentials, database URLs, generic assignments, file names), each with examples that
//!   the test suite runs; [`RuleSet::from_gitleaks_toml`] imports a gitleaks configuration.
//! * [`Scanner::scan`] finds secrets in one blob; [`Scanner::scan_path`] judges a file name.
//! * [`report`] renders findings as gitleaks-compatible JSON or SARIF 2.1.0.
//!
//! A [`Finding`] never holds the secret itself: only its SHA-256, a redaction showing at most
//! four leading characters, and a fingerprint derived from the rule id and the secret hash,
//! so it survives rebase, squash and cherry-pick.
//!
//! ```
//! use secrets::{RuleSet, Scanner};
//!
//! let scanner = Scanner::new(&RuleSet::builtin()).expect("built-in rules compile");
//! // A PostgreSQL URL with an inline password: a finding, with the password redacted.
//! let blob = b"DATABASE_URL=postgres://app:Zq8vL2mN4pR7tW1x@db.internal:5432/app\n";
//! let findings = scanner.scan("deploy/.env.production", blob);
//! assert_eq!(findings.len(), 1);
//! assert_eq!(findings[0].rule_id, "database-url-password");
//! assert_eq!((findings[0].line, findings[0].column), (1, 29));
//! assert_eq!(findings[0].redacted, "Zq8v…");
//! // A file name alone is a finding only for files that are key material.
//! assert_eq!(scanner.scan_path("signing/release.p12")[0].rule_id, "pkcs12-file");
//! assert!(scanner.scan_path("deploy/.env.production").is_empty());
//! // An environment lookup is not a secret.
//! assert!(scanner.scan("app.py", b"password = os.environ['DB_PASSWORD']\n").is_empty());
//! ```

mod builtin;
mod gitleaks;
pub mod linediff;
pub mod report;
mod rule;
mod scanner;
pub mod text;
pub mod validate;

pub use rule::{
    Allowlist, Condition, Confidence, RegexTarget, Required, Rule, RuleSet, Severity, Validation,
};
pub use scanner::{AddedScanner, Scanner, MAX_FINDINGS_PER_BLOB};
pub use validate::shannon_entropy;

/// One detected secret. It holds no secret bytes: only a hash, a redaction and positions.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Finding {
    /// Id of the rule that matched (e.g. `github-pat`).
    pub rule_id: String,
    /// The rule's human description.
    pub description: String,
    /// 1-based line of the first byte of the secret.
    pub line: u32,
    /// 1-based line of the last byte of the secret.
    pub end_line: u32,
    /// 1-based column (in characters) of the first character of the secret.
    pub column: u32,
    /// 1-based column (in characters) of the last character of the secret (inclusive).
    pub end_column: u32,
    /// Lower-case hex SHA-256 of the secret bytes.
    pub secret_sha256: String,
    /// Short stable identity: see [`fingerprint`]. Contains no secret material.
    pub fingerprint: String,
    /// At most four leading characters of the secret, then `…` (or `****` if too short).
    pub redacted: String,
    /// The whole match with the secret replaced by its redaction (context such as `password =`),
    /// truncated to [`report::MAX_MATCH_CHARS`] characters.
    pub redacted_match: String,
    /// The rule's tags.
    pub tags: Vec<String>,
    /// Shannon entropy (bits per byte) of the secret when the rule has an entropy floor.
    pub entropy: Option<f32>,
    /// The rule's default severity (a policy may override it).
    #[serde(default)]
    pub severity: Severity,
    /// `high` when a checksum the token carries matched.
    #[serde(default)]
    pub confidence: Confidence,
    /// Indices of AND-allowlists that matched everything except a commit list; consumed by
    /// [`Scanner::allowed_in_commit`]. Empty for nearly every finding.
    #[serde(skip)]
    pub commit_allowlists: Vec<u32>,
}

/// The per-installation secret that keys fingerprints (`<state-dir>/fingerprint.key` on a
/// server). Without it a fingerprint is a plain hash of the secret, and a short password can be
/// found again from its fingerprint by trying candidates; with it, only who holds the key can.
#[derive(Clone, PartialEq, Eq)]
pub struct FingerprintKey([u8; 32]);

impl FingerprintKey {
    /// Length of a key, in bytes.
    pub const LEN: usize = 32;

    pub fn new(bytes: [u8; 32]) -> FingerprintKey {
        FingerprintKey(bytes)
    }
}

impl std::fmt::Debug for FingerprintKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FingerprintKey(..)")
    }
}

/// Fingerprint of a secret found by a rule: the first 20 hex digits of
/// `HMAC-SHA256(key, "pushguard-fingerprint-v2\0" + rule_id + "\0" + secret_sha256_hex)`, or
/// without a key of `SHA-256("pushguard-fingerprint-v1\0" + rule_id + "\0" + secret_sha256_hex)`.
///
/// It depends only on the key, the rule and the secret, never on commit, path or line, so a
/// suppression or bypass keyed on it survives rebase, squash, cherry-pick and moves; servers
/// that must agree on fingerprints share the key file.
pub fn fingerprint(key: Option<&FingerprintKey>, rule_id: &str, secret_sha256_hex: &str) -> String {
    use hmac::{Hmac, Mac};
    use sha2::{Digest, Sha256};
    let digest = match key {
        Some(FingerprintKey(k)) => {
            let mut mac =
                <Hmac<Sha256> as Mac>::new_from_slice(k).expect("HMAC takes a key of any length");
            for part in [
                b"pushguard-fingerprint-v2\0".as_slice(),
                rule_id.as_bytes(),
                b"\0",
                secret_sha256_hex.as_bytes(),
            ] {
                mac.update(part);
            }
            mac.finalize().into_bytes()
        }
        None => {
            let mut h = Sha256::new();
            for part in [
                b"pushguard-fingerprint-v1\0".as_slice(),
                rule_id.as_bytes(),
                b"\0",
                secret_sha256_hex.as_bytes(),
            ] {
                h.update(part);
            }
            h.finalize()
        }
    };
    let mut s = hex::encode(digest);
    s.truncate(20);
    s
}

/// A non-fatal problem found while importing a configuration. Callers should show these
/// loudly (they are never silently dropped by this crate).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// Where in the configuration (e.g. `rules[12].allowlists[0]`, or a rule id).
    pub location: String,
    /// What was ignored or approximated, and why.
    pub message: String,
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.location, self.message)
    }
}

/// A configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The TOML text does not parse or does not have the gitleaks shape.
    #[error("gitleaks config: {message}")]
    Toml {
        /// Parser message, with line and column when the parser knows them.
        message: String,
    },
    /// A key this crate does not support and cannot safely ignore.
    #[error("gitleaks config: {location}: unsupported: {message}")]
    Unsupported {
        /// Where in the configuration.
        location: String,
        /// What is unsupported.
        message: String,
    },
    /// A rule or allowlist regex that does not compile.
    #[error("rule {rule_id}: regex {field} does not compile: {message}")]
    Regex {
        /// Rule id (or `allowlist`).
        rule_id: String,
        /// Which field (`regex`, `path`, `allowlists[0].regexes[2]`, ...).
        field: String,
        /// Compiler message.
        message: String,
    },
    /// A rule that is not usable (no regex and no path, duplicate id, bad secret group...).
    #[error("rule {rule_id}: {message}")]
    Rule {
        /// Rule id.
        rule_id: String,
        /// What is wrong.
        message: String,
    },
    /// `[extend] useDefault` or `path` was given but the caller supplied no base rule set.
    #[error("gitleaks config: [extend] {message}")]
    Extend {
        /// What is missing.
        message: String,
    },
}
