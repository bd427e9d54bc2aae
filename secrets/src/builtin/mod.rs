//! Built-in rules.
use crate::rule::{Allowlist, Rule, RuleSet, Validation};

pub(crate) fn ruleset() -> RuleSet {
    let rules = vec![Rule::new("database-url-password", "Database URL with password")
        .regex(r"(?i)\b(?:postgres(?:ql)?|mysql|mongodb(?:\+srv)?|redis|rediss|amqps?)://[^:/@\s]{1,64}:([^@/\s]{4,128})@[A-Za-z0-9.\-]+")
        .keywords(&["://"]).validate(Validation::Password)
        .examples(&["x"]),
        Rule::new("dotenv-file", "dotenv file").path(r"(^|/)\.env(\.[A-Za-z0-9_.-]+)?$")];
    RuleSet { rules, allowlists: vec![Allowlist::default()] }
}
