//! Integration tests of the `secrets` crate, one binary (one link) with a module per concern.

/// Tests that need inputs fetched from package registries (secrets/corpus/fetch-test-inputs.sh)
/// skip with a note when they are absent, except where PUSHGUARD_REQUIRE_TEST_INPUTS is set
/// (CI sets it): there a missing input fails the test.
macro_rules! skip_or_fail {
    ($($arg:tt)*) => {{
        let msg = format!($($arg)*);
        if std::env::var_os("PUSHGUARD_REQUIRE_TEST_INPUTS").is_some() {
            panic!("{msg} (PUSHGUARD_REQUIRE_TEST_INPUTS is set)");
        }
        println!("{msg}");
    }};
}

/// The labelled corpus: precision and recall gate.
mod corpus;
/// docs/secrets.md carries the generated rules list.
mod docs;
/// Every built-in rule's own positive and negative examples.
mod examples;
/// gitleaks TOML import, RE2 translation, composite rules, gitleaks' default config.
mod gitleaks;
/// Findings (positions, redaction, fingerprints) and the JSON / SARIF renderers.
mod report;
/// Hostile input, bounded output, thread safety.
mod robustness;
