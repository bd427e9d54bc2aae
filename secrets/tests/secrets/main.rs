//! Integration tests of the `secrets` crate, one binary (one link) with a module per concern.

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
