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
        // a path-scoped content rule is tried at its example paths: found at the first, and
        // never at the paths it must not apply to
        let path = rule
            .path_examples
            .first()
            .map_or("example.txt", String::as_str);
        if rule.path.is_some() && rule.path_examples.is_empty() {
            failures.push(format!(
                "{}: path-scoped rule without path examples",
                rule.id
            ));
        }
        for p in &rule.path_negative_examples {
            for ex in &rule.examples {
                if scanner
                    .scan(p, ex.as_bytes())
                    .iter()
                    .any(|f| f.rule_id == rule.id)
                {
                    failures.push(format!("{}: found outside its paths, at {p}", rule.id));
                }
            }
        }
        if rule.skip_report {
            // auxiliary: never reported by itself; the rules that require it test it
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
                .scan(path, ex.as_bytes())
                .iter()
                .any(|f| f.rule_id == rule.id)
            {
                failures.push(format!("{}: positive missed: {ex:?}", rule.id));
            }
        }
        for ex in &rule.negative_examples {
            if scanner
                .scan(path, ex.as_bytes())
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

/// Every positive example is still found wherever it sits in a larger blob: on the first line,
/// after unrelated lines and keywords of other rules, as the last line without a newline, and
/// next to another copy of itself. The matcher searches most rules only on the lines its keyword
/// pass picked (and up to each rule's reach past them), so this pins that windowing down.
#[test]
fn positives_are_found_anywhere_in_a_blob() {
    let rules = RuleSet::builtin();
    let scanner = Scanner::new(&rules).expect("built-in rules compile");
    let filler =
        "fn main() {\n    let key = lookup(\"token\"); // password from env\n}\n".repeat(40);
    let mut failures = Vec::new();
    for rule in rules.rules() {
        // rules about a whole file (`\A…\z`, e.g. a Rails master key file) have no "anywhere"
        if rule.skip_report || rule.regex.as_deref().is_some_and(|r| r.contains(r"\A")) {
            continue;
        }
        let path = rule
            .path_examples
            .first()
            .map_or("example.txt", String::as_str);
        for ex in &rule.examples {
            let placements = [
                format!("{ex}\n{filler}"),
                format!("{filler}{ex}"),
                format!("{filler}{ex}\n{filler}"),
                format!("{filler}{ex}\n\n{ex}\n"),
            ];
            for (i, blob) in placements.iter().enumerate() {
                let found = scanner.scan(path, blob.as_bytes());
                let want = if i == 3 { 2 } else { 1 };
                let got = found.iter().filter(|f| f.rule_id == rule.id).count();
                if got < want {
                    failures.push(format!(
                        "{}: placement {i}: {got} of {want} found for {ex:?}",
                        rule.id
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
