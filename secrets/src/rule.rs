//! Rules and rule sets: plain data, validated and compiled by [`crate::Scanner::new`].

use crate::{ConfigError, Warning};

/// How the criteria of an [`Allowlist`] combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Condition {
    /// Any one criterion (commit, path, regex, stop-word) allows the finding (gitleaks default).
    #[default]
    Or,
    /// Every criterion that is set must match.
    And,
}

/// What an allowlist's `regexes` are matched against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RegexTarget {
    /// The secret (the rule's secret group), gitleaks default.
    #[default]
    Secret,
    /// The whole regex match.
    Match,
    /// The whole line(s) holding the match.
    Line,
}

/// Findings that are not secrets: a rule-level or global exception list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Allowlist {
    /// Why these are allowed.
    pub description: Option<String>,
    /// How the criteria combine.
    pub condition: Condition,
    /// What `regexes` match against.
    pub regex_target: RegexTarget,
    /// Regexes (Rust syntax after translation); any match allows.
    pub regexes: Vec<String>,
    /// Path regexes; any match allows.
    pub paths: Vec<String>,
    /// Case-insensitive substrings of the secret; any occurrence allows.
    pub stopwords: Vec<String>,
    /// Commit ids; checked by [`crate::Scanner::allowed_in_commit`] since a blob has no commit.
    pub commits: Vec<String>,
    /// For global allowlists only: the rule ids it applies to (empty = all rules).
    pub target_rules: Vec<String>,
}

/// Whether a rule's findings block a push or are only shown. Rules ship with a default;
/// a policy can change it per rule (`secrets: severity:`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The finding blocks the push.
    #[default]
    Block,
    /// The finding is shown to the pusher and audited, never blocking.
    Warn,
}

impl Severity {
    /// `block` or `warn`.
    pub fn name(self) -> &'static str {
        match self {
            Severity::Block => "block",
            Severity::Warn => "warn",
        }
    }
}

/// How sure a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    /// The shape matched (and any structural check passed).
    #[default]
    Medium,
    /// A checksum the token carries matched: almost certainly a real token.
    High,
}

/// Offline validation applied to a candidate secret after the regex matched.
/// A candidate that fails a *dropping* validation is not a finding; a candidate that fails a
/// checksum nobody documents is still a finding (the checksum only raises confidence when it
/// matches): see [`Validation::drops_on_failure`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validation {
    /// GitHub `ghp_/gho_/ghu_/ghs_/ghr_` and npm `npm_`: the last 6 characters are the CRC32 of
    /// the random characters after the 4-character prefix, in base62 (0-9A-Za-z), left-padded
    /// with `0` (for `npm_`, a CRC32 over the prefix too is also accepted).
    Crc32Base62,
    /// GitHub fine-grained PATs `github_pat_<22>_<59>`: characters 78–85 are the first 8 characters
    /// of the base32 SHA-256 of the first 77.
    GithubFineGrained,
    /// Atlassian API tokens `ATATT3…=XXXXXXXX`: the last 8 hex digits are the CRC32 of everything before them.
    AtlassianCrc32,
    /// Grafana service-account tokens `glsa_<32>_<8 hex>`: hex of the little-endian CRC32 of `glsa_<32>`.
    GrafanaCrc32,
    /// GitLab routable tokens `glpat-<payload>.<version>.<len><crc>`: the last 7 characters are
    /// the CRC32 (base36, zero-padded) of everything before them.
    GitlabCrc32,
    /// Bech32 (BIP-173) checksum: age secret keys, Nostr `nsec1` keys.
    Bech32,
    /// Base58Check (double SHA-256): Bitcoin WIF private keys and BIP-32 `xprv` keys.
    Base58Check,
    /// PyPI API token: URL-safe base64 of a version-2 macaroon whose location is `pypi.org`.
    PypiMacaroon,
    /// JSON Web Token: header and payload decode to JSON objects, header names an `alg`.
    Jwt,
    /// AWS access key id: not the documented example key (`…EXAMPLE`) and body in base32 alphabet.
    AwsKeyId,
    /// Generic assignments: reject placeholders, environment lookups, variables, UUIDs, hashes,
    /// paths, words, and values without mixed character classes.
    Generic,
    /// Passwords in URLs and connection strings: reject placeholders and templating.
    Password,
    /// HTTP basic credentials: the base64 decodes to `user:password` with a real password (or
    /// to a token as the user name with an empty password, as Stripe and others use).
    BasicAuth,
    /// A base64-encoded value (Kubernetes Secret `data:`): decodes to a private key, to random
    /// bytes, or to a text that passes [`Validation::Password`].
    Base64Secret,
    /// Discord bot token: the first part is the base64 of the bot's numeric id (a snowflake).
    DiscordBotToken,
    /// `password = …` assignments: [`Validation::Generic`], except that a quoted value of 10+
    /// characters mixing upper and lower case (or symbols) counts without digits.
    GenericPassword,
    /// Generic key/token/secret assignments: [`Validation::Generic`] plus an entropy floor that
    /// depends on the alphabet (3.0 bits for hex of 32+ digits, 3.5 otherwise: a random
    /// 32-digit hex key rarely reaches 3.5).
    GenericKey,
    /// Password in a URL's userinfo: [`Validation::Password`], and not the user name again
    /// (`guest:guest@`, `postgres:postgres@` are defaults).
    UrlPassword,
}

impl Validation {
    /// Stable name used in docs and reports.
    pub fn name(self) -> &'static str {
        match self {
            Validation::Crc32Base62 => "crc32-base62",
            Validation::GithubFineGrained => "github-sha256-base32",
            Validation::AtlassianCrc32 => "atlassian-crc32",
            Validation::GrafanaCrc32 => "grafana-crc32",
            Validation::GitlabCrc32 => "gitlab-crc32",
            Validation::Bech32 => "bech32",
            Validation::Base58Check => "base58check",
            Validation::PypiMacaroon => "pypi-macaroon",
            Validation::Jwt => "jwt",
            Validation::AwsKeyId => "aws-key-id",
            Validation::Generic => "generic",
            Validation::Password => "password",
            Validation::BasicAuth => "basic-auth",
            Validation::Base64Secret => "base64-secret",
            Validation::DiscordBotToken => "discord-snowflake",
            Validation::UrlPassword => "url-password",
            Validation::GenericPassword => "generic-password",
            Validation::GenericKey => "generic-key",
        }
    }

    /// May a candidate that fails this validation be dropped? Only where the vendor documents
    /// the scheme (a wrong guess at an undocumented checksum would let real tokens through
    /// silently), and for structural checks and placeholder filters, which judge the value
    /// rather than a guessed algorithm.
    pub fn drops_on_failure(self) -> bool {
        !matches!(
            self,
            Validation::GithubFineGrained
                | Validation::AtlassianCrc32
                | Validation::GrafanaCrc32
                | Validation::GitlabCrc32
        )
    }

    /// Where the scheme comes from, for the rule documentation.
    pub fn source(self) -> &'static str {
        match self {
            Validation::Crc32Base62 => "documented: GitHub, \"Behind GitHub's new authentication token formats\" (2021, CRC32 checksum); npm, \"Introducing new npm access token format\" (2021)",
            Validation::GithubFineGrained => "undocumented (reverse-engineered from published tokens; public example tokens fail it): confidence only",
            Validation::AtlassianCrc32 => "undocumented (reverse-engineered): confidence only",
            Validation::GrafanaCrc32 => "undocumented (read from Grafana's source, not its docs): confidence only",
            Validation::GitlabCrc32 => "GitLab design document for routable tokens, not a stable API: confidence only",
            Validation::Bech32 => "documented: BIP-173; age and NIP-19 specify Bech32 keys",
            Validation::Base58Check => "documented: Bitcoin WIF and BIP-32 serialization",
            Validation::PypiMacaroon => "documented: PyPI help, \"API tokens\" (macaroons)",
            Validation::Jwt => "structure: RFC 7519",
            Validation::AwsKeyId => "documented: AWS IAM identifiers (key id alphabet); the example key id is public",
            Validation::Generic
            | Validation::GenericPassword
            | Validation::GenericKey
            | Validation::Password => {
                "placeholder and reference filter"
            }
            Validation::BasicAuth => "structure: RFC 7617 (user-id \":\" password), then the placeholder filter",
            Validation::Base64Secret => "structure: Kubernetes Secret data values are base64 (RFC 4648)",
            Validation::DiscordBotToken => "structure: Discord documents user ids as snowflakes; the token's first part encodes it",
            Validation::UrlPassword => "placeholder filter; user name repeated as password is a default",
        }
    }

    /// True for validations that are real checksums (a random string passes with tiny probability).
    pub fn is_checksum(self) -> bool {
        matches!(
            self,
            Validation::Crc32Base62
                | Validation::GithubFineGrained
                | Validation::AtlassianCrc32
                | Validation::GrafanaCrc32
                | Validation::GitlabCrc32
                | Validation::Bech32
                | Validation::Base58Check
        )
    }
}

/// One detection rule. Content rules have a `regex`; path-only rules have only `path`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rule {
    /// Stable id (kebab-case), used in fingerprints, suppressions and reports.
    pub id: String,
    /// What was found, for a human.
    pub description: String,
    /// Content regex, Rust `regex` syntax; compiled ASCII-only (`(?-u)`) over bytes.
    pub regex: Option<String>,
    /// Capture group holding the secret; default: the first group that matched, else the match.
    pub secret_group: Option<usize>,
    /// Minimum Shannon entropy (bits per byte) of the secret.
    pub entropy: Option<f32>,
    /// The rule only runs on blobs containing one of these (case-insensitive).
    pub keywords: Vec<String>,
    /// Path regex: with `regex`, restricts the rule to matching paths; alone, a file-name rule.
    pub path: Option<String>,
    /// Free-form tags copied into findings.
    pub tags: Vec<String>,
    /// Rule-level exceptions.
    pub allowlists: Vec<Allowlist>,
    /// Offline validation (checksum or structure) of the secret.
    pub validation: Option<Validation>,
    /// Texts that must produce a finding of this rule (run by the test suite).
    pub examples: Vec<String>,
    /// Texts that must not produce a finding of this rule.
    pub negative_examples: Vec<String>,
    /// For path-only rules: example paths that must / must not match.
    pub path_examples: Vec<String>,
    /// Paths that must not match a path-only rule.
    pub path_negative_examples: Vec<String>,
    /// Composite rule (gitleaks `[[rules.required]]`): a finding of this rule is reported only
    /// if each listed rule also matches in the same blob, within the given distance.
    pub required: Vec<Required>,
    /// Auxiliary rule whose own findings are not reported (gitleaks `skipReport`).
    pub skip_report: bool,
    /// Whether findings block by default (a policy may change it).
    pub severity: Severity,
}

/// A rule that must match near a composite rule's match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Required {
    /// Id of the required rule.
    pub rule_id: String,
    /// Maximum distance in lines between the two findings (any, if unset).
    pub within_lines: Option<u32>,
    /// Maximum distance in columns between the two findings' starts (any, if unset).
    pub within_columns: Option<u32>,
}

impl Rule {
    /// A rule with an id and description and nothing else (builder style).
    pub fn new(id: impl Into<String>, description: impl Into<String>) -> Rule {
        Rule {
            id: id.into(),
            description: description.into(),
            ..Rule::default()
        }
    }
    /// Set the content regex.
    pub fn regex(mut self, re: impl Into<String>) -> Rule {
        self.regex = Some(re.into());
        self
    }
    /// Set the secret capture group.
    pub fn group(mut self, g: usize) -> Rule {
        self.secret_group = Some(g);
        self
    }
    /// Set the minimum entropy.
    pub fn entropy(mut self, e: f32) -> Rule {
        self.entropy = Some(e);
        self
    }
    /// Set the prefilter keywords.
    pub fn keywords(mut self, k: &[&str]) -> Rule {
        self.keywords = k.iter().map(|s| s.to_string()).collect();
        self
    }
    /// Set the path regex.
    pub fn path(mut self, p: impl Into<String>) -> Rule {
        self.path = Some(p.into());
        self
    }
    /// Set the tags.
    pub fn tags(mut self, t: &[&str]) -> Rule {
        self.tags = t.iter().map(|s| s.to_string()).collect();
        self
    }
    /// Set the validation.
    pub fn validate(mut self, v: Validation) -> Rule {
        self.validation = Some(v);
        self
    }
    /// Set the default severity.
    pub fn severity(mut self, s: Severity) -> Rule {
        self.severity = s;
        self
    }
    /// Report only when each of these rules also matches in the same blob (anywhere).
    pub fn required(mut self, ids: &[&str]) -> Rule {
        self.required.extend(ids.iter().map(|id| Required {
            rule_id: id.to_string(),
            ..Required::default()
        }));
        self
    }
    /// Add a rule-level allowlist.
    pub fn allow(mut self, a: Allowlist) -> Rule {
        self.allowlists.push(a);
        self
    }
    /// Add positive examples.
    pub fn examples<S: AsRef<str>>(mut self, e: &[S]) -> Rule {
        self.examples
            .extend(e.iter().map(|s| s.as_ref().to_string()));
        self
    }
    /// Add negative examples.
    pub fn negatives<S: AsRef<str>>(mut self, e: &[S]) -> Rule {
        self.negative_examples
            .extend(e.iter().map(|s| s.as_ref().to_string()));
        self
    }
    /// Add path examples (positive, negative) for a path-only rule.
    pub fn path_examples(mut self, pos: &[&str], neg: &[&str]) -> Rule {
        self.path_examples.extend(pos.iter().map(|s| s.to_string()));
        self.path_negative_examples
            .extend(neg.iter().map(|s| s.to_string()));
        self
    }
    /// True for a file-name rule (no content regex).
    pub fn is_path_only(&self) -> bool {
        self.regex.is_none() && self.path.is_some()
    }
}

/// A validated list of rules plus global allowlists.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RuleSet {
    pub(crate) rules: Vec<Rule>,
    pub(crate) allowlists: Vec<Allowlist>,
}

impl RuleSet {
    /// Our built-in rules and global allowlist (lockfiles, vendored and binary assets).
    pub fn builtin() -> Self {
        crate::builtin::ruleset()
    }

    /// Build a rule set from rules and global allowlists; rejects duplicate or empty ids and
    /// rules with neither regex nor path.
    pub fn from_parts(rules: Vec<Rule>, allowlists: Vec<Allowlist>) -> Result<Self, ConfigError> {
        let mut seen = std::collections::HashSet::new();
        for r in &rules {
            if r.id.is_empty() {
                return Err(ConfigError::Rule {
                    rule_id: String::new(),
                    message: "empty id".into(),
                });
            }
            if !seen.insert(r.id.as_str()) {
                return Err(ConfigError::Rule {
                    rule_id: r.id.clone(),
                    message: "duplicate rule id".into(),
                });
            }
            if r.regex.is_none() && r.path.is_none() {
                return Err(ConfigError::Rule {
                    rule_id: r.id.clone(),
                    message: "has neither regex nor path".into(),
                });
            }
        }
        Ok(RuleSet { rules, allowlists })
    }

    /// Import a gitleaks TOML configuration (v8 schema). `base` is the configuration that
    /// `[extend] path = …` refers to, already loaded by the caller; `[extend] useDefault = true`
    /// extends our built-in rules. Returns the rule set and every approximation made.
    pub fn from_gitleaks_toml(
        text: &str,
        base: Option<&RuleSet>,
    ) -> Result<(Self, Vec<Warning>), ConfigError> {
        crate::gitleaks::import(text, base)
    }

    /// The rules, in priority order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The global allowlists.
    pub fn allowlists(&self) -> &[Allowlist] {
        &self.allowlists
    }

    /// Remove rules by id (gitleaks `disabledRules`); returns the ids that were not found.
    pub fn disable(&mut self, ids: &[String]) -> Vec<String> {
        let missing = ids
            .iter()
            .filter(|id| !self.rules.iter().any(|r| &r.id == *id))
            .cloned()
            .collect();
        self.rules.retain(|r| !ids.contains(&r.id));
        missing
    }
}
