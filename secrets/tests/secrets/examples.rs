//! Every built-in rule's own examples: positives must produce a finding of that rule, negatives must not.

use secrets::{RuleSet, Scanner};

#[test]
fn builtin_rule_count_and_examples() {
    let rules = RuleSet::builtin();
    let scanner = Scanner::new(&rules).expect("built-in rules compile");
    assert!(
        scanner.unicode_rules().is_empty(),
        "built-in rules must be ASCII-only: {:?}",
        scanner.unicode_rules()
    );
    assert!(
        rules.rules().len() >= 150,
        "only {} rules",
        rules.rules().len()
    );
    let mut failures = Vec::new();
    for rule in rules.rules() {
        if rule.is_path_only() {
            if rule.path_examples.is_empty() || rule.path_negative_examples.is_empty() {
                failures.push(format!(
                    "{}: path rule without positive and negative path examples",
                    rule.id
                ));
            }
            for p in &rule.path_examples {
                if !scanner.scan_path(p).iter().any(|f| f.rule_id == rule.id) {
                    failures.push(format!("{}: path example missed: {p}", rule.id));
                }
            }
            for p in &rule.path_negative_examples {
                if scanner.scan_path(p).iter().any(|f| f.rule_id == rule.id) {
                    failures.push(format!("{}: path negative hit: {p}", rule.id));
                }
            }
            continue;
        }
        if rule.examples.is_empty() || rule.negative_examples.is_empty() {
            failures.push(format!(
                "{}: needs at least one positive and one negative example",
                rule.id
            ));
        }
        for ex in &rule.examples {
            if !scanner
                .scan("example.txt", ex.as_bytes())
                .iter()
                .any(|f| f.rule_id == rule.id)
            {
                failures.push(format!("{}: positive missed: {ex:?}", rule.id));
            }
        }
        for ex in &rule.negative_examples {
            if scanner
                .scan("example.txt", ex.as_bytes())
                .iter()
                .any(|f| f.rule_id == rule.id)
            {
                failures.push(format!("{}: negative hit: {ex:?}", rule.id));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} example failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
