//! gitleaks TOML import: schema coverage, RE2 translation, `[extend]`, warnings and errors,
//! and gitleaks' own default configuration (fetched by `secrets/corpus/fetch-test-inputs.sh`).

use secrets::{ConfigError, RuleSet, Scanner};

const REPRESENTATIVE: &str = r#"
title = "acme secrets"
minVersion = "v8.25.0"

[extend]
useDefault = true
disabledRules = ["generic-api-key", "no-such-rule"]

[[rules]]
id = "acme-internal-token"
description = "ACME internal service token"
regex = '''(?i)\b(acme_[a-z0-9]{32})(?:[\x60'"\s;]|\\[nr]|$)'''
secretGroup = 1
entropy = 3.0
keywords = ["ACME_"]
tags = ["acme", "internal"]
  [[rules.allowlists]]
  description = "test fixtures"
  condition = "AND"
  paths = ['''^tests/''']
  stopwords = ["acme_test"]
  [[rules.allowlists]]
  regexTarget = "line"
  regexes = ['''\Qgitleaks:allow\E''']
  [[rules.allowlists]]
  commits = ["0123456789abcdef0123456789abcdef01234567"]

[[rules]]
id = "acme-legacy-key"
description = "brace literals and POSIX classes (RE2 syntax)"
regex = '''legacy\{\{([[:alnum:]]{24})}}'''
keywords = ["legacy{{"]

[[rules]]
id = "acme-vault-file"
description = "ACME vault file"
path = '''(?:^|/)acme\.vault$'''

[[rules]]
id = "github-pat"
description = "GitHub PAT, extended with a stop-word"
  [rules.allowlist]
  stopwords = ["aaaaaa"]

[allowlist]
description = "global"
paths = ['''(?:^|/)vendor/''']

[[allowlists]]
targetRules = ["acme-internal-token"]
regexTarget = "match"
regexes = ['''acme_0{32}''']
"#;

fn token() -> String {
    "acme_7f3k9q2m5x8v1b4n6c0z7l3j9h2g5d8s".to_string()
}

#[test]
fn representative_config_imports_and_scans() {
    let (rules, warnings) = RuleSet::from_gitleaks_toml(REPRESENTATIVE, None).expect("imports");
    // disabledRules names a rule that does not exist: loud, not silent
    assert!(
        warnings.iter().any(|w| w.message.contains("no-such-rule")),
        "{warnings:?}"
    );
    assert!(rules.rules().iter().all(|r| r.id != "generic-api-key"));
    assert!(rules.rules().len() > 150, "built-ins kept as base");
    let scanner = Scanner::new(&rules).expect("compiles");

    let hit = format!("ACME_TOKEN = \"{}\"\n", token());
    let f = scanner.scan("src/app.py", hit.as_bytes());
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].rule_id, "acme-internal-token");
    assert_eq!(f[0].tags, vec!["acme", "internal"]);
    // AND allowlist: needs both the path and the stop-word
    assert_eq!(scanner.scan("tests/app.py", hit.as_bytes()).len(), 1);
    let fixture = "ACME_TOKEN = \"acme_test7k9q2m5x8v1b4n6c0z7l3j9h2g5d\"\n";
    assert!(scanner.scan("tests/app.py", fixture.as_bytes()).is_empty());
    assert_eq!(scanner.scan("src/app.py", fixture.as_bytes()).len(), 1);
    // line target with \Q...\E
    let inline = format!("ACME_TOKEN = \"{}\" # gitleaks:allow\n", token());
    assert!(scanner.scan("src/app.py", inline.as_bytes()).is_empty());
    // commit allowlist: applied per attribution
    assert!(scanner.allowed_in_commit(&f[0], "0123456789abcdef0123456789abcdef01234567"));
    assert!(!scanner.allowed_in_commit(&f[0], "fedcba9876543210fedcba9876543210fedcba98"));
    // global allowlists: path, and targeted match regex
    assert!(scanner.scan("vendor/lib.py", hit.as_bytes()).is_empty());
    assert!(scanner
        .scan(
            "src/a.py",
            format!("x = \"acme_{}\"\n", "0".repeat(32)).as_bytes()
        )
        .is_empty());
    // RE2 brace literal
    let legacy = "key: legacy{{Ab3dE5gH7jK9mN1pQ3sT5vW7}}\n";
    assert_eq!(
        scanner.scan("a.txt", legacy.as_bytes())[0].rule_id,
        "acme-legacy-key"
    );
    // path-only rule
    assert_eq!(
        scanner.scan_path("ops/acme.vault")[0].rule_id,
        "acme-vault-file"
    );
    // extending a built-in: its stop-word applies, its checksum still does
    let ghp_stop = "t = ghp_aaaaaa000000000000000000000000000000\n";
    assert!(scanner
        .scan("a.txt", ghp_stop.as_bytes())
        .iter()
        .all(|f| f.rule_id != "github-pat"));
}

#[test]
fn unsupported_and_invalid_keys_are_loud() {
    let (_, w) = RuleSet::from_gitleaks_toml(
        "[[rules]]\nid = \"x\"\nregex = 'x[0-9]{8}'\nfrobnicate = true\n",
        None,
    )
    .expect("imports with warnings");
    assert!(w.iter().any(|w| w.message.contains("frobnicate")), "{w:?}");

    let bad_target = "[[rules]]\nid = \"x\"\nregex = 'x'\n[[rules.allowlists]]\nregexTarget = \"everything\"\nregexes = ['a']\n";
    assert!(matches!(
        RuleSet::from_gitleaks_toml(bad_target, None),
        Err(ConfigError::Unsupported { .. })
    ));
    let no_base = "[extend]\npath = \"base.toml\"\n";
    assert!(matches!(
        RuleSet::from_gitleaks_toml(no_base, None),
        Err(ConfigError::Extend { .. })
    ));
    let (base, _) =
        RuleSet::from_gitleaks_toml("[[rules]]\nid = \"b\"\nregex = 'bbb[0-9]{4}'\n", None)
            .expect("base");
    let (ext, _) =
        RuleSet::from_gitleaks_toml(no_base, Some(&base)).expect("extends the caller's base");
    assert_eq!(ext.rules().len(), 1);
    let bad_regex = "[[rules]]\nid = \"x\"\nregex = '(unclosed'\n";
    let (rs, _) = RuleSet::from_gitleaks_toml(bad_regex, None).expect("parses");
    assert!(matches!(Scanner::new(&rs), Err(ConfigError::Regex { .. })));
    assert!(matches!(
        RuleSet::from_gitleaks_toml("not toml = = =", None),
        Err(ConfigError::Toml { .. })
    ));
}

/// gitleaks 8.30.1's own default config (222 rules) must import and compile, with no
/// Unicode fallback, and detect what it is meant to detect.
#[test]
fn gitleaks_default_config() {
    let path = std::env::var("PUSHGUARD_GITLEAKS_DEFAULT_TOML").unwrap_or_else(|_| {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/corpus/.cache/gitleaks-default.toml"
        )
        .to_string()
    });
    let Ok(text) = std::fs::read_to_string(&path) else {
        skip_or_fail!("skipped: {path} not found; run secrets/corpus/fetch-test-inputs.sh");
        return;
    };
    let (rules, warnings) =
        RuleSet::from_gitleaks_toml(&text, None).expect("gitleaks default config imports");
    for w in &warnings {
        println!("warning: {w}");
    }
    assert_eq!(rules.rules().len(), 222);
    let scanner = Scanner::new(&rules).expect("all 222 rules compile");
    assert!(
        scanner.unicode_rules().is_empty(),
        "rules needing Unicode: {:?}",
        scanner.unicode_rules()
    );
    let samples = [
        ("github-pat", "token = ghp_Ab3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dF2gH4\n"),
        ("aws-access-token", "aws_access_key_id = AKIAZ7Q4R2T6W3E5Y7U2\n"),
        ("slack-bot-token", "SLACK=xoxb-26713402837-2671340283712-Ab3dE5gH7jK9mN1pQ3sT5vW7\n"),
        ("private-key", "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAv3Xc8lW2Yk7qZ0nP4s6T8uV1wX3yZ5aB7cD9eF1gH3iJ5kL7mN9o\nP1qR3sT5uV7wX9yZ1aB3cD5eF7gH9iJ1kL3mN5oP7qR9sT1uV3wX5yZ7aB9cD1eF3g\n-----END RSA PRIVATE KEY-----\n"),
    ];
    for (rule, text) in samples {
        let ids: Vec<String> = scanner
            .scan("sample.txt", text.as_bytes())
            .into_iter()
            .map(|f| f.rule_id)
            .collect();
        assert!(
            ids.iter().any(|i| i == rule),
            "{rule} not found in {text:?}: {ids:?}"
        );
    }
}

/// gitleaks checks keywords against the whole file: a rule whose keyword is on another line
/// than its match still reports.
#[test]
fn keyword_elsewhere_in_the_blob() {
    let cfg = "[[rules]]\nid = \"acme\"\nregex = '''\\b(acme_live_[0-9a-f]{24})\\b'''\nkeywords = [\"acmepay\"]\n";
    let (rules, _) = RuleSet::from_gitleaks_toml(cfg, None).expect("imports");
    let scanner = Scanner::new(&rules).expect("compiles");
    let blob = "# AcmePay client\n\nKEY=acme_live_0a1b2c3d4e5f60718293a4b5\n";
    assert_eq!(scanner.scan("a.env", blob.as_bytes()).len(), 1);
    let without = "# client\n\nKEY=acme_live_0a1b2c3d4e5f60718293a4b5\n";
    assert!(scanner.scan("a.env", without.as_bytes()).is_empty());
}

/// Composite rules (`[[rules.required]]`, gitleaks 8.28): the primary reports only when its
/// required rules match within the distance; `skipReport` rules are never reported.
#[test]
fn composite_rules() {
    let cfg = r#"
[[rules]]
id = "acme-client-id"
regex = '''\b(acmeid_[0-9a-f]{16})\b'''
keywords = ["acmeid_"]
skipReport = true

[[rules]]
id = "acme-client-secret"
regex = '''\b(acmesecret_[0-9a-f]{32})\b'''
keywords = ["acmesecret_"]
  [[rules.required]]
  id = "acme-client-id"
  withinLines = 2
"#;
    let (rules, warnings) = RuleSet::from_gitleaks_toml(cfg, None).expect("imports");
    assert!(warnings.is_empty(), "{warnings:?}");
    let scanner = Scanner::new(&rules).expect("compiles");
    let secret = "acmesecret_0123456789abcdef0123456789abcdef";
    let near = format!("id = acmeid_0123456789abcdef\nsecret = {secret}\n");
    let f = scanner.scan("a.env", near.as_bytes());
    assert_eq!(
        f.iter().map(|f| f.rule_id.as_str()).collect::<Vec<_>>(),
        ["acme-client-secret"]
    );
    let far = format!("id = acmeid_0123456789abcdef\n\n\n\nsecret = {secret}\n");
    assert!(scanner.scan("a.env", far.as_bytes()).is_empty());
    assert!(scanner
        .scan("a.env", format!("secret = {secret}\n").as_bytes())
        .is_empty());
    // a required rule that does not exist is a configuration error
    let missing = "[[rules]]\nid = \"x\"\nregex = 'x[0-9]{8}'\n[[rules.required]]\nid = \"nope\"\n";
    let (rs, _) = RuleSet::from_gitleaks_toml(missing, None).expect("parses");
    assert!(matches!(Scanner::new(&rs), Err(ConfigError::Rule { .. })));
}
