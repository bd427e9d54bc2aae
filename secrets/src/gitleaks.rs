//! Import of gitleaks TOML configurations (v8 schema, up to 8.30).
//!
//! Every key is either mapped, or reported: keys we cannot honour exactly produce a
//! [`Warning`] (when ignoring them can only add findings) or a [`ConfigError`] (when it could
//! hide one). Go RE2 regexes are translated to Rust `regex` syntax by [`translate_re2`].

use toml::{Table, Value};

use crate::rule::{Allowlist, Condition, RegexTarget, Rule, RuleSet};
use crate::{ConfigError, Warning};

const TOP_KEYS: &[&str] = &[
    "title",
    "description",
    "minVersion",
    "extend",
    "rules",
    "allowlist",
    "allowlists",
];
const RULE_KEYS: &[&str] = &[
    "id",
    "description",
    "regex",
    "secretGroup",
    "entropy",
    "keywords",
    "path",
    "tags",
    "allowlist",
    "allowlists",
    "required",
    "skipReport",
];
const ALLOWLIST_KEYS: &[&str] = &[
    "description",
    "condition",
    "commits",
    "paths",
    "regexTarget",
    "regexes",
    "stopwords",
    "targetRules",
];

struct Ctx {
    warnings: Vec<Warning>,
}

impl Ctx {
    fn warn(&mut self, location: impl Into<String>, message: impl Into<String>) {
        self.warnings.push(Warning {
            location: location.into(),
            message: message.into(),
        });
    }
}

fn toml_err(e: toml::de::Error) -> ConfigError {
    ConfigError::Toml {
        message: e.to_string(),
    }
}

fn unsupported(location: &str, message: impl Into<String>) -> ConfigError {
    ConfigError::Unsupported {
        location: location.to_string(),
        message: message.into(),
    }
}

fn get_str(t: &Table, key: &str, loc: &str) -> Result<Option<String>, ConfigError> {
    match t.get(key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(unsupported(
            loc,
            format!("`{key}` must be a string, not {}", other.type_str()),
        )),
    }
}

fn get_strs(t: &Table, key: &str, loc: &str) -> Result<Vec<String>, ConfigError> {
    match t.get(key) {
        None => Ok(Vec::new()),
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.clone()),
                other => Err(unsupported(
                    loc,
                    format!("`{key}` must hold strings, not {}", other.type_str()),
                )),
            })
            .collect(),
        Some(other) => Err(unsupported(
            loc,
            format!("`{key}` must be an array, not {}", other.type_str()),
        )),
    }
}

fn check_keys(t: &Table, known: &[&str], loc: &str, cx: &mut Ctx) {
    for k in t.keys() {
        if !known.contains(&k.as_str()) {
            cx.warn(loc, format!("unknown key `{k}` ignored"));
        }
    }
}

/// Translate a Go RE2 regex to Rust `regex` syntax. Differences handled:
/// `\Q…\E` quoting, `\<`/`\>` (literal in RE2, word boundaries in Rust), `\C`, octal escapes,
/// and inside classes `[` (nested class in Rust), `&&`, `--`, `~~` (set operators in Rust).
pub fn translate_re2(p: &str) -> String {
    let chars: Vec<char> = p.chars().collect();
    let mut out = String::with_capacity(p.len() + 8);
    let mut i = 0;
    let mut in_class = false;
    while i < chars.len() {
        let c = chars[i];
        if in_class {
            match c {
                '\\' if i + 1 < chars.len() => {
                    out.push('\\');
                    out.push(chars[i + 1]);
                    i += 2;
                }
                ']' => {
                    out.push(']');
                    in_class = false;
                    i += 1;
                }
                '[' if chars.get(i + 1) == Some(&':') => {
                    // POSIX class [:name:]
                    let rest: String = chars[i..].iter().collect();
                    match rest.find(":]") {
                        Some(end) => {
                            out.push_str(&rest[..end + 2]);
                            i += rest[..end + 2].chars().count();
                        }
                        None => {
                            out.push_str("\\[");
                            i += 1;
                        }
                    }
                }
                '[' => {
                    out.push_str("\\[");
                    i += 1;
                }
                '&' | '-' | '~' if chars.get(i + 1) == Some(&c) => {
                    out.push(c);
                    out.push('\\');
                    out.push(c);
                    i += 2;
                }
                _ => {
                    out.push(c);
                    i += 1;
                }
            }
            continue;
        }
        match c {
            '\\' if i + 1 < chars.len() => {
                let n = chars[i + 1];
                match n {
                    'Q' => {
                        let mut j = i + 2;
                        while j < chars.len()
                            && !(chars[j] == '\\' && chars.get(j + 1) == Some(&'E'))
                        {
                            out.push_str(&regex_syntax::escape(&chars[j].to_string()));
                            j += 1;
                        }
                        i = (j + 2).min(chars.len());
                    }
                    '<' | '>' => {
                        out.push(n);
                        i += 2;
                    }
                    'C' => {
                        out.push_str("(?s-u:.)");
                        i += 2;
                    }
                    '0'..='7' if n != '0' || chars.get(i + 2).is_some_and(|d| d.is_digit(8)) => {
                        let mut j = i + 1;
                        let mut v = 0u32;
                        while j < chars.len() && j < i + 4 && chars[j].is_digit(8) {
                            v = v * 8 + chars[j].to_digit(8).unwrap_or(0);
                            j += 1;
                        }
                        out.push_str(&format!("\\x{{{v:X}}}"));
                        i = j;
                    }
                    _ => {
                        out.push('\\');
                        out.push(n);
                        i += 2;
                    }
                }
            }
            '{' => {
                // A counted repetition `{n}`, `{n,}`, `{n,m}` is copied; any other `{` is a
                // literal in RE2 but an error in Rust.
                let rest: String = chars[i..].iter().take(24).collect();
                let valid = rest.find('}').filter(|&end| {
                    let inner = &rest[1..end];
                    let mut parts = inner.splitn(2, ',');
                    let a = parts.next().unwrap_or("");
                    let b = parts.next();
                    !a.is_empty()
                        && a.bytes().all(|c| c.is_ascii_digit())
                        && b.is_none_or(|b| b.bytes().all(|c| c.is_ascii_digit()))
                });
                match valid {
                    Some(end) => {
                        out.push_str(&rest[..=end]);
                        i += end + 1;
                    }
                    None => {
                        out.push_str("\\{");
                        i += 1;
                    }
                }
            }
            '}' => {
                out.push_str("\\}");
                i += 1;
            }
            '[' => {
                out.push('[');
                in_class = true;
                i += 1;
                if chars.get(i) == Some(&'^') {
                    out.push('^');
                    i += 1;
                }
                // a `]` first in a class is a literal in RE2
                if chars.get(i) == Some(&']') {
                    out.push_str("\\]");
                    i += 1;
                }
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

fn parse_allowlist(
    t: &Table,
    loc: &str,
    global: bool,
    cx: &mut Ctx,
) -> Result<Allowlist, ConfigError> {
    check_keys(t, ALLOWLIST_KEYS, loc, cx);
    let condition = match get_str(t, "condition", loc)?.map(|s| s.to_ascii_uppercase()) {
        None => Condition::Or,
        Some(s) if s == "OR" => Condition::Or,
        Some(s) if s == "AND" => Condition::And,
        Some(s) => {
            return Err(unsupported(
                loc,
                format!("condition `{s}` (expected OR or AND)"),
            ))
        }
    };
    let regex_target = match get_str(t, "regexTarget", loc)?.map(|s| s.to_ascii_lowercase()) {
        None => RegexTarget::Secret,
        Some(s) if s == "secret" => RegexTarget::Secret,
        Some(s) if s == "match" => RegexTarget::Match,
        Some(s) if s == "line" => RegexTarget::Line,
        Some(s) => {
            return Err(unsupported(
                loc,
                format!("regexTarget `{s}` (expected secret, match or line)"),
            ))
        }
    };
    let target_rules = get_strs(t, "targetRules", loc)?;
    if !global && !target_rules.is_empty() {
        cx.warn(
            loc,
            "`targetRules` only applies to global allowlists; ignored here",
        );
    }
    let a = Allowlist {
        description: get_str(t, "description", loc)?,
        condition,
        regex_target,
        regexes: get_strs(t, "regexes", loc)?
            .iter()
            .map(|r| translate_re2(r))
            .collect(),
        paths: get_strs(t, "paths", loc)?
            .iter()
            .map(|r| translate_re2(r))
            .collect(),
        stopwords: get_strs(t, "stopwords", loc)?,
        commits: get_strs(t, "commits", loc)?,
        target_rules: if global { target_rules } else { Vec::new() },
    };
    if a.regexes.is_empty() && a.paths.is_empty() && a.stopwords.is_empty() && a.commits.is_empty()
    {
        cx.warn(
            loc,
            "allowlist has no commits, paths, regexes or stopwords: it allows nothing",
        );
    }
    Ok(a)
}

fn parse_allowlists(
    t: &Table,
    loc: &str,
    global: bool,
    cx: &mut Ctx,
) -> Result<Vec<Allowlist>, ConfigError> {
    let mut v = Vec::new();
    if let Some(a) = t.get("allowlist") {
        let Value::Table(a) = a else {
            return Err(unsupported(loc, "`allowlist` must be a table"));
        };
        v.push(parse_allowlist(a, &format!("{loc}.allowlist"), global, cx)?);
    }
    if let Some(list) = t.get("allowlists") {
        let Value::Array(list) = list else {
            return Err(unsupported(loc, "`allowlists` must be an array of tables"));
        };
        for (i, a) in list.iter().enumerate() {
            let Value::Table(a) = a else {
                return Err(unsupported(loc, "`allowlists` must be an array of tables"));
            };
            v.push(parse_allowlist(
                a,
                &format!("{loc}.allowlists[{i}]"),
                global,
                cx,
            )?);
        }
    }
    Ok(v)
}

fn parse_rule(t: &Table, idx: usize, cx: &mut Ctx) -> Result<Rule, ConfigError> {
    let id = get_str(t, "id", &format!("rules[{idx}]"))?.ok_or_else(|| ConfigError::Rule {
        rule_id: format!("rules[{idx}]"),
        message: "missing `id`".into(),
    })?;
    let loc = format!("rules[{idx}] ({id})");
    check_keys(t, RULE_KEYS, &loc, cx);
    let secret_group = match t.get("secretGroup") {
        None => None,
        Some(Value::Integer(n)) if *n >= 0 => Some(*n as usize).filter(|&g| g > 0),
        Some(other) => {
            return Err(unsupported(
                &loc,
                format!("secretGroup must be a non-negative integer, not {other}"),
            ))
        }
    };
    let entropy = match t.get("entropy") {
        None => None,
        Some(Value::Float(f)) => Some(*f as f32),
        Some(Value::Integer(n)) => Some(*n as f32),
        Some(other) => {
            return Err(unsupported(
                &loc,
                format!("entropy must be a number, not {other}"),
            ))
        }
    };
    let mut required = Vec::new();
    if let Some(req) = t.get("required") {
        let Value::Array(list) = req else {
            return Err(unsupported(&loc, "`required` must be an array of tables"));
        };
        for (i, r) in list.iter().enumerate() {
            let rloc = format!("{loc}.required[{i}]");
            let Value::Table(r) = r else {
                return Err(unsupported(&rloc, "`required` must be an array of tables"));
            };
            check_keys(r, &["id", "withinLines", "withinColumns"], &rloc, cx);
            let within = |key: &str| -> Result<Option<u32>, ConfigError> {
                match r.get(key) {
                    None => Ok(None),
                    Some(Value::Integer(n)) if *n >= 0 => {
                        Ok(Some((*n).min(i64::from(u32::MAX)) as u32))
                    }
                    Some(other) => Err(unsupported(
                        &rloc,
                        format!("`{key}` must be a non-negative integer, not {other}"),
                    )),
                }
            };
            required.push(crate::rule::Required {
                rule_id: get_str(r, "id", &rloc)?
                    .ok_or_else(|| unsupported(&rloc, "missing `id`"))?,
                within_lines: within("withinLines")?,
                within_columns: within("withinColumns")?,
            });
        }
    }
    let skip_report = match t.get("skipReport") {
        None => false,
        Some(Value::Boolean(b)) => *b,
        Some(other) => {
            return Err(unsupported(
                &loc,
                format!("`skipReport` must be a boolean, not {other}"),
            ))
        }
    };
    let regex = get_str(t, "regex", &loc)?
        .filter(|r| !r.is_empty())
        .map(|r| translate_re2(&r));
    let path = get_str(t, "path", &loc)?
        .filter(|r| !r.is_empty())
        .map(|r| translate_re2(&r));
    Ok(Rule {
        description: get_str(t, "description", &loc)?.unwrap_or_default(),
        regex,
        secret_group,
        entropy,
        keywords: get_strs(t, "keywords", &loc)?
            .into_iter()
            .map(|k| k.to_ascii_lowercase())
            .collect(),
        path,
        tags: get_strs(t, "tags", &loc)?,
        allowlists: parse_allowlists(t, &loc, false, cx)?,
        required,
        skip_report,
        id,
        ..Rule::default()
    })
}

/// Merge `over` into the base rule with the same id (gitleaks `[extend]` semantics): scalar
/// fields that are set replace, lists are appended.
fn merge_rule(base: &mut Rule, over: Rule) {
    if !over.description.is_empty() {
        base.description = over.description;
    }
    if over.regex.is_some() {
        base.regex = over.regex;
        base.validation = None;
    }
    if over.secret_group.is_some() {
        base.secret_group = over.secret_group;
    }
    if over.entropy.is_some() {
        base.entropy = over.entropy;
    }
    if over.path.is_some() {
        base.path = over.path;
    }
    for k in over.keywords {
        if !base.keywords.contains(&k) {
            base.keywords.push(k);
        }
    }
    for t in over.tags {
        if !base.tags.contains(&t) {
            base.tags.push(t);
        }
    }
    base.allowlists.extend(over.allowlists);
    base.required.extend(over.required);
    base.skip_report |= over.skip_report;
}

pub(crate) fn import(
    text: &str,
    base: Option<&RuleSet>,
) -> Result<(RuleSet, Vec<Warning>), ConfigError> {
    let doc: Table = text.parse::<Table>().map_err(toml_err)?;
    let mut cx = Ctx {
        warnings: Vec::new(),
    };
    check_keys(&doc, TOP_KEYS, "(top level)", &mut cx);

    // [extend]
    let mut set = RuleSet::default();
    let mut extended = false;
    if let Some(ext) = doc.get("extend") {
        let Value::Table(ext) = ext else {
            return Err(unsupported("extend", "`[extend]` must be a table"));
        };
        check_keys(
            ext,
            &["useDefault", "path", "url", "disabledRules"],
            "extend",
            &mut cx,
        );
        if ext.contains_key("url") {
            return Err(unsupported(
                "extend.url",
                "remote configurations are not fetched (no network); load it and pass it as `base`",
            ));
        }
        let use_default = matches!(ext.get("useDefault"), Some(Value::Boolean(true)));
        let path = get_str(ext, "path", "extend")?;
        match (use_default, path, base) {
            (true, Some(_), _) => {
                return Err(unsupported(
                    "extend",
                    "both `useDefault` and `path` are set; choose one",
                ));
            }
            (true, None, _) => {
                set = RuleSet::builtin();
                extended = true;
            }
            (false, Some(p), Some(b)) => {
                set = b.clone();
                extended = true;
                let _ = p;
            }
            (false, Some(p), None) => {
                return Err(ConfigError::Extend {
                    message: format!("path = {p:?}: the caller must load that file and pass it as the base rule set"),
                });
            }
            (false, None, _) => {}
        }
        let disabled = get_strs(ext, "disabledRules", "extend")?;
        if !disabled.is_empty() {
            for missing in set.disable(&disabled) {
                cx.warn(
                    "extend.disabledRules",
                    format!("no rule `{missing}` in the base configuration"),
                );
            }
        }
    }
    if !extended && base.is_some() {
        cx.warn("extend", "a base rule set was supplied but the configuration does not extend anything; base ignored");
    }

    if let Some(rules) = doc.get("rules") {
        let Value::Array(rules) = rules else {
            return Err(unsupported("rules", "`rules` must be an array of tables"));
        };
        for (i, r) in rules.iter().enumerate() {
            let Value::Table(r) = r else {
                return Err(unsupported("rules", "`rules` must be an array of tables"));
            };
            let rule = parse_rule(r, i, &mut cx)?;
            match set.rules.iter_mut().find(|b| b.id == rule.id) {
                Some(existing) if extended => merge_rule(existing, rule),
                Some(_) => {
                    return Err(ConfigError::Rule {
                        rule_id: rule.id,
                        message: "duplicate rule id".into(),
                    });
                }
                None => {
                    if rule.regex.is_none() && rule.path.is_none() {
                        return Err(ConfigError::Rule {
                            rule_id: rule.id,
                            message: "has neither `regex` nor `path`".into(),
                        });
                    }
                    set.rules.push(rule)
                }
            }
        }
    }
    let globals = parse_allowlists(&doc, "(top level)", true, &mut cx)?;
    set.allowlists.extend(globals);
    let set = RuleSet::from_parts(set.rules, set.allowlists)?;
    Ok((set, cx.warnings))
}

#[cfg(test)]
mod tests {
    use super::translate_re2;

    #[test]
    fn re2_translation() {
        assert_eq!(translate_re2(r"\Qa.b\E+"), r"a\.b+");
        assert_eq!(translate_re2(r"\<tag\>"), r"<tag>");
        assert_eq!(translate_re2(r"[a&&b]"), r"[a&\&b]");
        assert_eq!(translate_re2(r"[[:alpha:]_[]"), r"[[:alpha:]_\[]");
        assert_eq!(translate_re2(r"[]a]"), r"[\]a]");
        assert_eq!(translate_re2(r"[^]a]"), r"[^\]a]");
        assert_eq!(translate_re2(r"\101"), r"\x{41}");
        assert_eq!(
            translate_re2(r"\$?{{[^}]+}}a{2,3}"),
            r"\$?\{\{[^}]+\}\}a{2,3}"
        );
        assert_eq!(
            translate_re2(r"(?i)\b(ghp_[0-9a-z]{36})\z"),
            r"(?i)\b(ghp_[0-9a-z]{36})\z"
        );
    }
}
