//! The matcher: keyword prefilter, one multi-pattern regex pass, per-rule confirmation.
//!
//! 1. An Aho-Corasick automaton over every rule keyword (ASCII case-insensitive) finds the
//!    rules that may apply to the blob; a blob without keywords costs one pass and no regex.
//! 2. One `regex_automata::meta::Regex` built with `build_many` over the literal-prefixed
//!    content rules whose matches do not start with their own keywords (each `(?-u)`, bytes)
//!    finds candidate positions in a single pass; each candidate marks its line(s) as a window.
//!    Rules whose matches start with a keyword are windowed by the lines the keyword pass found.
//! 3. In each window every keyword-active rule runs its own regex (with captures) so that a
//!    match shadowed by another rule in the combined pass is still found; multi-line rules may
//!    extend past the window by their maximum match length.
//! 4. Secret group, entropy floor, validation (checksums), allowlists, then the finding.

use std::collections::HashSet;

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind as AcMatchKind};
use regex_automata::meta::{self, Regex};
use regex_automata::util::captures::Captures;
use regex_automata::util::syntax;
use regex_automata::Input;
use sha2::{Digest, Sha256};

use crate::rule::{
    Allowlist, Condition, Confidence, RegexTarget, Rule, RuleSet, Severity, Validation,
};

mod added;
use crate::validate;
use crate::{ConfigError, Finding};
pub use added::AddedScanner;

/// At most this many findings are reported per blob (memory stays bounded on hostile input).
pub const MAX_FINDINGS_PER_BLOB: usize = 1000;
/// How far past its window a multi-line rule with unbounded length may match.
const MAX_MULTILINE_REACH: usize = 64 * 1024;
/// Rules that can reach further than this past their first line run once per blob.
const LONG_REACH: usize = 512;
/// Rules that can reach this far past their first line (unbounded ones: key blocks, JSON
/// documents) need the whole file when only some of its lines are scanned ([`AddedScanner`]);
/// rules of a few lines (`generic-api-key` with Unicode classes reaches ~600 bytes) do not.
const WHOLE_FILE_REACH: usize = 4096;
/// Offset added to global allowlist indices in [`Finding::commit_allowlists`].
const GLOBAL_ALLOWLIST_BASE: u32 = 1 << 20;

struct CompiledAllowlist {
    condition: Condition,
    target: RegexTarget,
    regexes: Option<Regex>,
    paths: Option<Regex>,
    stopwords: Option<AhoCorasick>,
    commits: Vec<String>,
    target_rules: Vec<String>,
}

/// Outcome of checking a finding against one allowlist.
enum Allowed {
    No,
    Yes,
    /// Everything matched except that a commit must also be on the list (AND condition).
    IfCommit,
}

struct CompiledRule {
    /// Composite requirements, resolved to rule indices.
    required: Vec<(usize, Option<u32>, Option<u32>)>,
    skip_report: bool,
    /// In the combined regex (literal-prefixed or keyword-less); otherwise windowed by keyword lines.
    combined: bool,
    id: String,
    description: String,
    tags: Vec<String>,
    secret_group: Option<usize>,
    entropy: Option<f32>,
    validation: Option<Validation>,
    severity: Severity,
    generic: bool,
    regex: Option<Regex>,
    /// How far past its window a match may reach (0 for rules that never match a newline).
    reach: usize,
    path: Option<Regex>,
    allowlists: Vec<CompiledAllowlist>,
}

/// A compiled rule set. Build it once and share it (`Send + Sync`); [`Scanner::scan`] takes
/// `&self` and can run on many threads at once.
pub struct Scanner {
    rules: Vec<CompiledRule>,
    /// Combined-regex pattern id -> rule index.
    content: Vec<usize>,
    combined: Regex,
    keywords: Option<AhoCorasick>,
    keyword_rules: Vec<Vec<usize>>,
    /// Per keyword: does it select at least one rule that is not in the combined regex?
    keyword_windows: Vec<bool>,
    always: Vec<usize>,
    path_rules: Vec<usize>,
    global: Vec<CompiledAllowlist>,
    /// Rules that need Unicode (not ASCII-compilable): run separately, slowly.
    unicode_rules: Vec<usize>,
    /// Path-scoped rules without keywords: whole files whose path matches.
    path_whole: Vec<usize>,
    /// Keys the findings' fingerprints (see [`crate::fingerprint`]).
    fingerprint_key: Option<crate::FingerprintKey>,
    /// Keywords of the rules that may match across many lines (see [`AddedScanner`]).
    whole_file_keywords: Vec<String>,
    /// One such rule has no keywords.
    whole_file_always: bool,
}

fn syntax_config() -> syntax::Config {
    syntax::Config::new().utf8(false).unicode(false)
}

/// An error and its sources, for messages that say what is wrong.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

/// Compile one regex over bytes, ASCII-only if possible, else with Unicode.
fn compile_one(pattern: &str, captures: bool) -> Result<(Regex, bool), String> {
    let cfg = meta::Config::new()
        .nfa_size_limit(Some(64 << 20))
        .which_captures(if captures {
            regex_automata::nfa::thompson::WhichCaptures::All
        } else {
            regex_automata::nfa::thompson::WhichCaptures::Implicit
        });
    let ascii = Regex::builder()
        .syntax(syntax_config())
        .configure(cfg.clone())
        .build(pattern);
    match ascii {
        Ok(r) => Ok((r, false)),
        Err(e) => {
            let uni = Regex::builder()
                .syntax(syntax::Config::new())
                .configure(cfg)
                .build(pattern);
            match uni {
                Ok(r) => Ok((r, true)),
                Err(_) => Err(error_chain(&e)),
            }
        }
    }
}

fn compile_many(
    rule_id: &str,
    field: &str,
    patterns: &[String],
) -> Result<Option<Regex>, ConfigError> {
    if patterns.is_empty() {
        return Ok(None);
    }
    for (i, p) in patterns.iter().enumerate() {
        compile_one(p, false).map_err(|message| ConfigError::Regex {
            rule_id: rule_id.to_string(),
            field: format!("{field}[{i}]"),
            message,
        })?;
    }
    // ASCII first; Unicode is acceptable here since allowlists run on short strings only.
    let cfg = meta::Config::new().nfa_size_limit(Some(64 << 20));
    let ascii = Regex::builder()
        .syntax(syntax_config())
        .configure(cfg.clone())
        .build_many(patterns);
    let built = match ascii {
        Ok(r) => Ok(r),
        Err(_) => Regex::builder().configure(cfg).build_many(patterns),
    };
    built.map(Some).map_err(|e| ConfigError::Regex {
        rule_id: rule_id.to_string(),
        field: field.to_string(),
        message: error_chain(&e),
    })
}

fn compile_allowlist(
    rule_id: &str,
    field: &str,
    a: &Allowlist,
) -> Result<CompiledAllowlist, ConfigError> {
    let stopwords = if a.stopwords.is_empty() {
        None
    } else {
        Some(
            AhoCorasick::builder()
                .ascii_case_insensitive(true)
                .build(&a.stopwords)
                .map_err(|e| ConfigError::Rule {
                    rule_id: rule_id.to_string(),
                    message: format!("{field}.stopwords: {e}"),
                })?,
        )
    };
    Ok(CompiledAllowlist {
        condition: a.condition,
        target: a.regex_target,
        regexes: compile_many(rule_id, &format!("{field}.regexes"), &a.regexes)?,
        paths: compile_many(rule_id, &format!("{field}.paths"), &a.paths)?,
        stopwords,
        commits: a.commits.clone(),
        target_rules: a.target_rules.clone(),
    })
}

/// The literals every match of `pattern` starts with (a finite set), if it can be known.
fn prefix_literals(pattern: &str) -> Option<Vec<Vec<u8>>> {
    use regex_syntax::hir::literal::{ExtractKind, Extractor};
    let hir = regex_syntax::ParserBuilder::new()
        .utf8(false)
        .unicode(false)
        .build()
        .parse(pattern)
        .ok()?;
    let mut ex = Extractor::new();
    ex.kind(ExtractKind::Prefix).limit_total(512);
    let seq = ex.extract(&hir);
    let lits = seq.literals()?;
    Some(lits.iter().map(|l| l.as_bytes().to_vec()).collect())
}

/// Does every match of `pattern` start with one of a small set of literals (3+ bytes)? Such
/// patterns keep the combined DFA small; patterns starting with a counted class (`[\w.-]{0,50}`)
/// multiply its states, so they are windowed by their keywords instead.
fn literal_prefixed(pattern: &str) -> bool {
    // Few, long-enough literals: provider prefixes. Case-insensitive words (`(?i)password`)
    // expand to hundreds of variants and are better served by their keywords.
    prefix_literals(pattern).is_some_and(|lits| {
        !lits.is_empty() && lits.len() <= 32 && lits.iter().all(|l| l.len() >= 3)
    })
}

/// Does every match of `pattern` start with one of `keywords` (ASCII case-insensitively)? Then
/// the keyword pass already finds where each match starts: the rule is searched on the lines
/// holding its keywords, and needs no place in the combined regex that scans every byte.
fn keyword_led(pattern: &str, keywords: &[String]) -> bool {
    let keywords: Vec<Vec<u8>> = keywords
        .iter()
        .map(|k| k.to_ascii_lowercase().into_bytes())
        .filter(|k| !k.is_empty())
        .collect();
    prefix_literals(pattern).is_some_and(|lits| {
        !lits.is_empty()
            && lits.iter().all(|l| {
                let l = l.to_ascii_lowercase();
                keywords.iter().any(|k| l.starts_with(k))
            })
    })
}

/// How far a match of `pattern` that starts in a window (whole lines) may extend past the
/// window's end: the bytes from the first newline the match may contain to its end, that newline
/// included; 0 if it can never match `\n`. A rule that ends with `(?:["'\s;,)]|\z)` reaches one
/// byte, however long its secret may be.
fn multiline_reach(pattern: &str) -> usize {
    let ascii = regex_syntax::ParserBuilder::new()
        .utf8(false)
        .unicode(false)
        .build()
        .parse(pattern);
    let hir = match ascii {
        Ok(h) => h,
        Err(_) => match regex_syntax::ParserBuilder::new()
            .utf8(false)
            .build()
            .parse(pattern)
        {
            Ok(h) => h,
            Err(_) => return MAX_MULTILINE_REACH,
        },
    };
    match newline_tail(&hir) {
        None => 0,
        Some(Some(n)) => n.min(MAX_MULTILINE_REACH),
        Some(None) => MAX_MULTILINE_REACH,
    }
}

/// The longer of two lengths, `None` meaning unbounded.
fn longest(a: Option<usize>, b: Option<usize>) -> Option<usize> {
    Some(a?.max(b?))
}

/// For a match of `hir`: `None` if it can never contain `\n`; otherwise the most bytes from the
/// first `\n` it contains to its end, that `\n` included (`Some(None)`: unbounded).
fn newline_tail(hir: &regex_syntax::hir::Hir) -> Option<Option<usize>> {
    use regex_syntax::hir::{Class, HirKind};
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => None,
        HirKind::Literal(l) => {
            l.0.iter()
                .position(|&b| b == b'\n')
                .map(|p| Some(l.0.len() - p))
        }
        HirKind::Class(Class::Bytes(c)) => c
            .ranges()
            .iter()
            .any(|r| r.start() <= b'\n' && b'\n' <= r.end())
            .then_some(Some(1)),
        HirKind::Class(Class::Unicode(c)) => c
            .ranges()
            .iter()
            .any(|r| r.start() <= '\n' && '\n' <= r.end())
            .then_some(Some(1)),
        HirKind::Capture(c) => newline_tail(&c.sub),
        HirKind::Repetition(r) => {
            if r.max == Some(0) {
                return None;
            }
            let tail = newline_tail(&r.sub)?;
            // the first newline falls in some iteration; every later one adds its full length
            let later = r.max.and_then(|max| {
                let len = r.sub.properties().maximum_len()?;
                len.checked_mul(usize::try_from(max).ok()?.saturating_sub(1))
            });
            Some(tail.zip(later).and_then(|(t, l)| t.checked_add(l)))
        }
        HirKind::Concat(parts) => {
            let mut widest: Option<Option<usize>> = None;
            for (i, part) in parts.iter().enumerate() {
                let Some(tail) = newline_tail(part) else {
                    continue;
                };
                let rest = parts[i + 1..].iter().try_fold(0usize, |acc, h| {
                    acc.checked_add(h.properties().maximum_len()?)
                });
                let here = tail.zip(rest).and_then(|(t, r)| t.checked_add(r));
                widest = Some(match widest {
                    Some(w) => longest(w, here),
                    None => here,
                });
            }
            widest
        }
        HirKind::Alternation(alts) => alts.iter().filter_map(newline_tail).reduce(longest),
    }
}

impl Scanner {
    /// Compile `rules`. Fails on a regex that does not compile (with the rule id and field),
    /// on a content regex that matches the empty string, or on a secret group that does not exist.
    pub fn new(rules: &RuleSet) -> Result<Scanner, ConfigError> {
        let mut compiled = Vec::with_capacity(rules.rules.len());
        let mut content = Vec::new();
        let mut content_patterns = Vec::new();
        let mut unicode_rules = Vec::new();
        let mut path_rules = Vec::new();
        for (idx, r) in rules.rules.iter().enumerate() {
            compiled.push(Self::compile_rule(
                idx,
                r,
                &mut content,
                &mut content_patterns,
                &mut unicode_rules,
                &mut path_rules,
            )?);
        }
        for (idx, r) in rules.rules.iter().enumerate() {
            for req in &r.required {
                let Some(target) = rules.rules.iter().position(|x| x.id == req.rule_id) else {
                    return Err(ConfigError::Rule {
                        rule_id: r.id.clone(),
                        message: format!("required rule `{}` does not exist", req.rule_id),
                    });
                };
                compiled[idx]
                    .required
                    .push((target, req.within_lines, req.within_columns));
            }
        }
        let combined = Regex::builder()
            .syntax(syntax_config())
            .configure(
                meta::Config::new()
                    .nfa_size_limit(Some(256 << 20))
                    .hybrid_cache_capacity(16 << 20)
                    .which_captures(regex_automata::nfa::thompson::WhichCaptures::Implicit),
            )
            .build_many(&content_patterns)
            .map_err(|e| ConfigError::Regex {
                rule_id: "(combined)".into(),
                field: "regex".into(),
                message: error_chain(&e),
            })?;

        // keyword prefilter
        let mut kw_index: std::collections::HashMap<String, usize> =
            std::collections::HashMap::new();
        let mut keyword_rules: Vec<Vec<usize>> = Vec::new();
        let mut always = Vec::new();
        let mut whole_file_keywords: Vec<String> = Vec::new();
        let mut whole_file_always = false;
        for (idx, r) in rules.rules.iter().enumerate() {
            if r.regex.is_none() {
                continue;
            }
            if compiled[idx].reach >= WHOLE_FILE_REACH {
                whole_file_always |= r.keywords.iter().all(|k| k.is_empty());
                whole_file_keywords.extend(r.keywords.iter().filter(|k| !k.is_empty()).cloned());
            }
            let kws: Vec<String> = r
                .keywords
                .iter()
                .map(|k| k.to_ascii_lowercase())
                .filter(|k| !k.is_empty())
                .collect();
            if kws.is_empty() {
                always.push(idx);
            }
            for k in kws {
                let next = kw_index.len();
                let id = *kw_index.entry(k).or_insert(next);
                if id == keyword_rules.len() {
                    keyword_rules.push(Vec::new());
                }
                keyword_rules[id].push(idx);
            }
        }
        let keyword_windows: Vec<bool> = keyword_rules
            .iter()
            .map(|rs| rs.iter().any(|&r| !compiled[r].combined))
            .collect();
        let mut kw_list: Vec<(String, usize)> = kw_index.into_iter().collect();
        kw_list.sort_by_key(|(_, id)| *id);
        let keywords = if kw_list.is_empty() {
            None
        } else {
            Some(
                AhoCorasick::builder()
                    .ascii_case_insensitive(true)
                    .match_kind(AcMatchKind::Standard)
                    .kind(Some(AhoCorasickKind::DFA))
                    .build(kw_list.iter().map(|(k, _)| k.as_str()))
                    .or_else(|_| {
                        AhoCorasick::builder()
                            .ascii_case_insensitive(true)
                            .match_kind(AcMatchKind::Standard)
                            .build(kw_list.iter().map(|(k, _)| k.as_str()))
                    })
                    .map_err(|e| ConfigError::Rule {
                        rule_id: "(keywords)".into(),
                        message: e.to_string(),
                    })?,
            )
        };
        let mut global = Vec::new();
        for (i, a) in rules.allowlists.iter().enumerate() {
            global.push(compile_allowlist(
                "(global)",
                &format!("allowlists[{i}]"),
                a,
            )?);
        }
        let path_whole = rules
            .rules
            .iter()
            .enumerate()
            .filter(|(_, r)| r.regex.is_some() && r.path.is_some() && r.keywords.is_empty())
            .map(|(i, _)| i)
            .filter(|i| !unicode_rules.contains(i))
            .collect();
        Ok(Scanner {
            path_whole,
            rules: compiled,
            content,
            combined,
            keywords,
            keyword_rules,
            keyword_windows,
            always,
            path_rules,
            global,
            unicode_rules,
            fingerprint_key: None,
            whole_file_keywords,
            whole_file_always,
        })
    }

    /// Key the fingerprints of every finding from now on with the installation's key.
    pub fn set_fingerprint_key(&mut self, key: Option<crate::FingerprintKey>) {
        self.fingerprint_key = key;
    }

    fn compile_rule(
        idx: usize,
        r: &Rule,
        content: &mut Vec<usize>,
        content_patterns: &mut Vec<String>,
        unicode_rules: &mut Vec<usize>,
        path_rules: &mut Vec<usize>,
    ) -> Result<CompiledRule, ConfigError> {
        let regex = match &r.regex {
            Some(p) => {
                let (re, unicode) = compile_one(p, true).map_err(|message| ConfigError::Regex {
                    rule_id: r.id.clone(),
                    field: "regex".into(),
                    message,
                })?;
                if re.is_match(Input::new(b"".as_slice())) {
                    return Err(ConfigError::Rule {
                        rule_id: r.id.clone(),
                        message: "regex matches the empty string".into(),
                    });
                }
                let groups = re.group_info().group_len(regex_automata::PatternID::ZERO);
                if let Some(g) = r.secret_group {
                    if g >= groups {
                        return Err(ConfigError::Rule {
                            rule_id: r.id.clone(),
                            message: format!(
                                "secretGroup {g} but the regex has {} groups",
                                groups.saturating_sub(1)
                            ),
                        });
                    }
                }
                if unicode {
                    unicode_rules.push(idx);
                } else if r.path.is_some() && r.keywords.is_empty() {
                    // path-scoped, no keyword: runs over the whole of a file whose path
                    // matches (rare files), and costs nothing elsewhere
                } else if r.keywords.is_empty()
                    || (literal_prefixed(p) && !keyword_led(p, &r.keywords))
                {
                    content.push(idx);
                    content_patterns.push(p.clone());
                }
                Some(re)
            }
            None => {
                path_rules.push(idx);
                None
            }
        };
        let path = match &r.path {
            Some(p) => Some(compile_one(p, false).map(|(re, _)| re).map_err(|message| {
                ConfigError::Regex {
                    rule_id: r.id.clone(),
                    field: "path".into(),
                    message,
                }
            })?),
            None => None,
        };
        let mut allowlists = Vec::new();
        for (i, a) in r.allowlists.iter().enumerate() {
            allowlists.push(compile_allowlist(&r.id, &format!("allowlists[{i}]"), a)?);
        }
        Ok(CompiledRule {
            required: Vec::new(),
            skip_report: r.skip_report,
            combined: content.last() == Some(&idx),
            id: r.id.clone(),
            description: r.description.clone(),
            tags: r.tags.clone(),
            secret_group: r.secret_group,
            entropy: r.entropy,
            validation: r.validation,
            severity: r.severity,
            generic: r.id.contains("generic") || r.tags.iter().any(|t| t == "generic"),
            reach: r.regex.as_deref().map(multiline_reach).unwrap_or(0),
            regex,
            path,
            allowlists,
        })
    }

    /// Ids of rules that could not be compiled ASCII-only and run on their own (slower).
    pub fn unicode_rules(&self) -> Vec<&str> {
        self.unicode_rules
            .iter()
            .map(|&i| self.rules[i].id.as_str())
            .collect()
    }

    /// Number of rules (content and path).
    pub fn rule_count(&self) -> usize {
        self.rules.len()
    }

    /// Content findings in one blob, sorted by position. `path` is the blob's path in the
    /// commit (for path allowlists and path-scoped rules). UTF-16/32 text is decoded first (lines
    /// and columns stay the file's own); binary blobs ([`crate::text::decode`]) yield nothing:
    /// tell a pusher why with [`crate::text::classify`]; use [`Scanner::scan_path`] for names.
    pub fn scan(&self, path: &str, content: &[u8]) -> Vec<Finding> {
        if content.is_empty() || self.path_globally_allowed(path) {
            return Vec::new();
        }
        match crate::text::decode(content) {
            Ok((text, _)) => self.scan_text(path, &text),
            Err(_) => Vec::new(),
        }
    }

    /// [`Scanner::scan`] on content already known to be UTF-8 (or ASCII) text.
    fn scan_text(&self, path: &str, content: &[u8]) -> Vec<Finding> {
        // Path-scoped rules apply to their paths only: decided first, so that their keywords
        // open no windows in other files.
        let path_ok: Vec<bool> = self
            .rules
            .iter()
            .map(|r| {
                r.path
                    .as_ref()
                    .is_none_or(|p| p.is_match(Input::new(path.as_bytes())))
            })
            .collect();
        // Keyword pass: which rules may apply, and lines holding keywords of windowed rules.
        let mut on = vec![false; self.rules.len()];
        for &i in &self.always {
            on[i] = path_ok[i];
        }
        let mut windows: Vec<(usize, usize)> = Vec::new();
        if let Some(ac) = &self.keywords {
            let mut seen = vec![false; self.keyword_rules.len()];
            let mut last_window_end = 0usize;
            for m in ac.find_overlapping_iter(content) {
                let k = m.pattern().as_usize();
                if !std::mem::replace(&mut seen[k], true) {
                    for &r in &self.keyword_rules[k] {
                        on[r] = path_ok[r];
                    }
                }
                if self.keyword_windows[k]
                    && (m.start() >= last_window_end || windows.is_empty())
                    && self.keyword_rules[k]
                        .iter()
                        .any(|&r| path_ok[r] && !self.rules[r].combined)
                {
                    let (ws, we) = line_bounds(content, m.start(), m.end());
                    windows.push((ws, we));
                    last_window_end = we;
                }
            }
        }
        if !on.iter().any(|&x| x) {
            return Vec::new();
        }
        // Combined pass over the blob for literal-prefixed rules.
        // (start, rule) of each combined match, ascending: a rule that matched in a window runs
        // there even when its keyword sits elsewhere in the blob (gitleaks keyword semantics).
        let mut combined_hits: Vec<(usize, usize)> = Vec::new();
        if self.content.iter().any(|&r| on[r]) {
            for m in self.combined.find_iter(Input::new(content)) {
                let rule = self.content[m.pattern().as_usize()];
                if on[rule] {
                    windows.push(line_bounds(content, m.start(), m.end()));
                    combined_hits.push((m.start(), rule));
                }
            }
        }
        let mut next_hit = 0;
        if self.unicode_rules.iter().any(|&r| on[r]) || self.path_whole.iter().any(|&r| on[r]) {
            // rare: rules that need Unicode run over the whole blob
            windows = vec![(0, content.len())];
        }
        if windows.is_empty() {
            return Vec::new();
        }
        windows.sort_unstable();
        let mut merged: Vec<(usize, usize)> = Vec::with_capacity(windows.len());
        for (s, e) in windows {
            match merged.last_mut() {
                Some(last) if s <= last.1 + 1 => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        let windows = merged;

        let mut out: Vec<(usize, usize, usize, Finding)> = Vec::new(); // (secret start, end, rule idx, finding)
        let mut seen: HashSet<(usize, usize)> = HashSet::new();
        // Spans a specific rule with a checksum matched but rejected: not a secret, and not one
        // for the generic rules either (a `ghp_` token with a bad checksum is nobody's finding).
        let mut claimed: Vec<(usize, usize)> = Vec::new();
        let mut lines = LineCursor::default();
        let mut caps_by_rule: Vec<Option<Captures>> = (0..self.rules.len()).map(|_| None).collect();
        // Rules that may span many lines (private key blocks, JSON documents) run once over the
        // whole blob: re-searching a long reach from every window would be quadratic.
        for (ri, rule) in self.rules.iter().enumerate() {
            let Some(re) = &rule.regex else { continue };
            if !on[ri] || rule.reach <= LONG_REACH || out.len() >= MAX_FINDINGS_PER_BLOB {
                continue;
            }
            let mut cursor = LineCursor::default();
            let caps = caps_by_rule[ri].get_or_insert_with(|| re.create_captures());
            let mut at = 0;
            while at < content.len() && out.len() < MAX_FINDINGS_PER_BLOB {
                re.search_captures(&Input::new(content).span(at..content.len()), caps);
                let Some(m) = caps.get_match() else { break };
                at = if m.end() > m.start() {
                    m.end()
                } else {
                    m.end() + 1
                };
                if seen.insert((ri, m.start())) {
                    if let Some((s, e, f)) = self.confirm(rule, path, content, caps, &mut cursor) {
                        out.push((s, e, ri, f));
                    }
                }
            }
        }
        let mut in_window = vec![false; self.rules.len()];
        let mut window_rules: Vec<usize> = Vec::new();
        'windows: for &(ws, we) in &windows {
            lines.anchor_at(content, ws);
            // rules whose keyword occurs in the window (or that have none), in priority order
            window_rules.clear();
            in_window.iter_mut().for_each(|x| *x = false);
            for &i in &self.always {
                in_window[i] = on[i];
            }
            if let Some(ac) = &self.keywords {
                for m in ac.find_overlapping_iter(&content[ws..we]) {
                    for &r in &self.keyword_rules[m.pattern().as_usize()] {
                        in_window[r] = on[r];
                    }
                }
            }
            while next_hit < combined_hits.len() && combined_hits[next_hit].0 <= we {
                let (at, r) = combined_hits[next_hit];
                if at >= ws {
                    in_window[r] = on[r];
                }
                next_hit += 1;
            }
            window_rules.extend((0..self.rules.len()).filter(|&i| in_window[i]));
            for &ri in &window_rules {
                let rule = &self.rules[ri];
                let Some(re) = &rule.regex else { continue };
                if rule.reach > LONG_REACH {
                    continue;
                }
                let end = (we + rule.reach).min(content.len());
                let caps = caps_by_rule[ri].get_or_insert_with(|| re.create_captures());
                let mut at = ws;
                while at <= end {
                    re.search_captures(&Input::new(content).span(at..end), caps);
                    let Some(m) = caps.get_match() else { break };
                    if m.start() > we {
                        break;
                    }
                    at = if m.end() > m.start() {
                        m.end()
                    } else {
                        m.end() + 1
                    };
                    if !seen.insert((ri, m.start())) {
                        continue;
                    }
                    if let Some((s, e, f)) = self.confirm(rule, path, content, caps, &mut lines) {
                        out.push((s, e, ri, f));
                        if out.len() >= MAX_FINDINGS_PER_BLOB {
                            break 'windows;
                        }
                    } else if rule.validation.is_some_and(Validation::is_checksum) {
                        if let Some(span) = secret_span(rule.secret_group, caps) {
                            claimed.push((span.start, span.end));
                        }
                    }
                }
            }
        }
        // Composite rules: keep a finding only if each required rule matched close enough;
        // then drop the findings of auxiliary (skipReport) rules.
        if self
            .rules
            .iter()
            .any(|r| !r.required.is_empty() || r.skip_report)
        {
            let snapshot: Vec<(usize, u32, u32)> = out
                .iter()
                .map(|(_, _, ri, f)| (*ri, f.line, f.column))
                .collect();
            out.retain(|(_, _, ri, f)| {
                let rule = &self.rules[*ri];
                !rule.skip_report
                    && rule.required.iter().all(|&(need, lines, cols)| {
                        snapshot.iter().any(|&(r, line, col)| {
                            r == need
                                && lines.is_none_or(|n| line.abs_diff(f.line) <= n)
                                && cols.is_none_or(|n| col.abs_diff(f.column) <= n)
                        })
                    })
            });
        }
        // gitleaks precedence: a generic rule's finding whose secret lies within a specific
        // rule's secret on the same line is dropped; so is one overlapping a token that a
        // checksum rule rejected.
        let specific: Vec<(usize, usize, u32)> = out
            .iter()
            .filter(|(_, _, ri, _)| !self.rules[*ri].generic)
            .map(|(s, e, _, f)| (*s, *e, f.line))
            .collect();
        out.retain(|(s, e, ri, f)| {
            !self.rules[*ri].generic
                || !(specific
                    .iter()
                    .any(|&(a, b, line)| a <= *s && *e <= b && line == f.line)
                    || claimed.iter().any(|&(a, b)| *s < b && a < *e))
        });
        // One secret, one finding: when several rules report the very same bytes, the first
        // rule (in priority order) keeps it.
        out.sort_by_key(|(s, e, ri, _)| (*s, *e, *ri));
        out.dedup_by(|later, kept| later.0 == kept.0 && later.1 == kept.1);
        out.sort_by_key(|(s, _, ri, _)| (*s, *ri));
        out.into_iter().map(|(_, _, _, f)| f).collect()
    }

    /// File-name findings for `path` (private keys, credential files, shell histories, `.env`, …).
    pub fn scan_path(&self, path: &str) -> Vec<Finding> {
        let mut out = Vec::new();
        for &ri in &self.path_rules {
            let rule = &self.rules[ri];
            let Some(p) = &rule.path else { continue };
            if !p.is_match(Input::new(path.as_bytes())) {
                continue;
            }
            let allowed = rule
                .allowlists
                .iter()
                .chain(self.global_for(&rule.id))
                .any(|a| {
                    matches!(a.condition, Condition::Or)
                        && a.paths
                            .as_ref()
                            .is_some_and(|r| r.is_match(Input::new(path.as_bytes())))
                });
            if allowed {
                continue;
            }
            let sha = hex::encode(Sha256::digest(path.as_bytes()));
            let name = path.rsplit('/').next().unwrap_or(path).to_string();
            out.push(Finding {
                rule_id: rule.id.clone(),
                description: rule.description.clone(),
                line: 0,
                end_line: 0,
                column: 0,
                end_column: 0,
                fingerprint: crate::fingerprint(self.fingerprint_key.as_ref(), &rule.id, &sha),
                secret_sha256: sha,
                redacted: name.clone(),
                redacted_match: name,
                tags: rule.tags.clone(),
                entropy: None,
                severity: rule.severity,
                confidence: Confidence::Medium,
                commit_allowlists: Vec::new(),
            });
        }
        out
    }

    /// Is `finding` allowed when it appears in `commit` (allowlist `commits`, rule-level or
    /// global)? A blob is scanned once for all the commits that carry it, so commit
    /// allowlists are applied per attribution by the caller.
    pub fn allowed_in_commit(&self, finding: &Finding, commit: &str) -> bool {
        let commit_listed = |a: &CompiledAllowlist| {
            a.commits.iter().any(|c| {
                c.eq_ignore_ascii_case(commit) || (c.len() >= 7 && commit.starts_with(c.as_str()))
            })
        };
        let Some(rule) = self.rules.iter().find(|r| r.id == finding.rule_id) else {
            return false;
        };
        if rule
            .allowlists
            .iter()
            .chain(self.global_for(&rule.id))
            .any(|a| a.condition == Condition::Or && commit_listed(a))
        {
            return true;
        }
        finding.commit_allowlists.iter().any(|&i| {
            let a = if i >= GLOBAL_ALLOWLIST_BASE {
                self.global.get((i - GLOBAL_ALLOWLIST_BASE) as usize)
            } else {
                rule.allowlists.get(i as usize)
            };
            a.is_some_and(commit_listed)
        })
    }

    fn global_for<'a>(
        &'a self,
        rule_id: &'a str,
    ) -> impl Iterator<Item = &'a CompiledAllowlist> + 'a {
        self.global.iter().filter(move |a| {
            a.target_rules.is_empty() || a.target_rules.iter().any(|t| t == rule_id)
        })
    }

    fn path_globally_allowed(&self, path: &str) -> bool {
        self.global.iter().any(|a| {
            a.target_rules.is_empty()
                && a.condition == Condition::Or
                && a.paths
                    .as_ref()
                    .is_some_and(|r| r.is_match(Input::new(path.as_bytes())))
        })
    }

    /// Turn a regex match into a finding, or None if a filter rejects it.
    fn confirm(
        &self,
        rule: &CompiledRule,
        path: &str,
        content: &[u8],
        caps: &Captures,
        lines: &mut LineCursor,
    ) -> Option<(usize, usize, Finding)> {
        let m = caps.get_match()?;
        let span = secret_span(rule.secret_group, caps)?;
        if span.is_empty() {
            return None;
        }
        let secret = &content[span.range()];
        let matched = &content[m.range()];
        let entropy = match rule.entropy {
            Some(floor) => {
                // strictly above the floor, as gitleaks does
                let e = validate::shannon_entropy_f64(secret);
                if e <= f64::from(floor) {
                    return None;
                }
                Some(e as f32)
            }
            None => None,
        };
        let mut confidence = Confidence::Medium;
        if let Some(v) = rule.validation {
            // key context: up to 30 bytes before the match (cut at a separator), then the match
            let from = m.start().saturating_sub(30);
            let before = &content[from..m.start()];
            let cut = before
                .iter()
                .rposition(|c| b" \t\n;,{(\"'".contains(c))
                .map_or(from, |p| from + p + 1);
            if validate::check(v, secret, &content[cut..span.start.max(cut)]) {
                if v.is_checksum() {
                    confidence = Confidence::High;
                }
            } else if v.drops_on_failure() {
                return None;
            }
        }
        // allowlists
        let line_start = memchr::memrchr(b'\n', &content[..m.start()]).map_or(0, |p| p + 1);
        let line_end =
            memchr::memchr(b'\n', &content[m.end()..]).map_or(content.len(), |p| m.end() + p);
        let line = &content[line_start..line_end];
        let mut pending = Vec::new();
        let rule_lists = rule
            .allowlists
            .iter()
            .enumerate()
            .map(|(i, a)| (i as u32, a));
        let global_lists = self
            .global
            .iter()
            .enumerate()
            .filter(|(_, a)| a.target_rules.is_empty() || a.target_rules.contains(&rule.id))
            .map(|(i, a)| (GLOBAL_ALLOWLIST_BASE + i as u32, a));
        for (i, a) in rule_lists.chain(global_lists) {
            match allowlist_check(a, path, secret, matched, line) {
                Allowed::Yes => return None,
                Allowed::IfCommit => pending.push(i),
                Allowed::No => {}
            }
        }

        let (l0, c0) = lines.locate(content, span.start);
        let last = span.end - 1;
        let (l1, c1) = lines.locate(content, last);
        let sha = hex::encode(Sha256::digest(secret));
        let redacted = redact(secret);
        let redacted_match = redact_match(
            matched,
            span.start - m.start(),
            span.end - m.start(),
            &redacted,
        );
        Some((
            span.start,
            span.end,
            Finding {
                rule_id: rule.id.clone(),
                description: rule.description.clone(),
                line: l0,
                end_line: l1,
                column: c0,
                end_column: c1,
                fingerprint: crate::fingerprint(self.fingerprint_key.as_ref(), &rule.id, &sha),
                secret_sha256: sha,
                redacted,
                redacted_match,
                tags: rule.tags.clone(),
                entropy,
                severity: rule.severity,
                confidence,
                commit_allowlists: pending,
            },
        ))
    }
}

/// The secret: the rule's secret group, else the first non-empty group, else the whole match.
fn secret_span(group: Option<usize>, caps: &Captures) -> Option<regex_automata::Span> {
    let m = caps.get_match()?;
    match group {
        Some(g) => caps.get_group(g),
        None => Some(
            (1..caps.group_len())
                .filter_map(|g| caps.get_group(g))
                .find(|s| !s.is_empty())
                .unwrap_or(m.span()),
        ),
    }
}

/// The whole lines holding `start..end`.
fn line_bounds(content: &[u8], start: usize, end: usize) -> (usize, usize) {
    let s = memchr::memrchr(b'\n', &content[..start]).map_or(0, |p| p + 1);
    let e = memchr::memchr(b'\n', &content[end..]).map_or(content.len(), |p| end + p);
    (s, e)
}

fn allowlist_check(
    a: &CompiledAllowlist,
    path: &str,
    secret: &[u8],
    matched: &[u8],
    line: &[u8],
) -> Allowed {
    let target = match a.target {
        RegexTarget::Secret => secret,
        RegexTarget::Match => matched,
        RegexTarget::Line => line,
    };
    let regex_hit = a.regexes.as_ref().map(|r| r.is_match(Input::new(target)));
    let path_hit = a
        .paths
        .as_ref()
        .map(|r| r.is_match(Input::new(path.as_bytes())));
    let stop_hit = a.stopwords.as_ref().map(|ac| ac.is_match(secret));
    let has_commits = !a.commits.is_empty();
    match a.condition {
        Condition::Or => {
            if regex_hit == Some(true) || path_hit == Some(true) || stop_hit == Some(true) {
                Allowed::Yes
            } else {
                Allowed::No
            }
        }
        Condition::And => {
            let checks = [regex_hit, path_hit, stop_hit];
            let any_set = checks.iter().any(Option::is_some);
            let all = checks.iter().all(|c| c.unwrap_or(true));
            match (all, has_commits, any_set) {
                (true, true, _) => Allowed::IfCommit,
                (true, false, true) => Allowed::Yes,
                _ => Allowed::No,
            }
        }
    }
}

/// Show at most 4 leading characters of a secret (fewer for short secrets), then `…`.
pub(crate) fn redact(secret: &[u8]) -> String {
    let s = String::from_utf8_lossy(secret);
    let n = s.chars().count();
    let show = match n {
        0..=7 => 0,
        8..=15 => 2,
        _ => 4,
    };
    if show == 0 {
        return "****".to_string();
    }
    let mut out: String = s
        .chars()
        .take(show)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    out.push('…');
    out
}

fn redact_match(matched: &[u8], s: usize, e: usize, redacted: &str) -> String {
    let clean = |b: &[u8]| -> String {
        String::from_utf8_lossy(b)
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect()
    };
    let before = clean(&matched[..s]);
    let after = clean(&matched[e..]);
    let before: String = {
        let v: Vec<char> = before.chars().collect();
        v[v.len().saturating_sub(60)..].iter().collect()
    };
    let after: String = after.chars().take(40).collect();
    let mut out = format!("{before}{redacted}{after}");
    if out.chars().count() > crate::report::MAX_MATCH_CHARS {
        out = out.chars().take(crate::report::MAX_MATCH_CHARS).collect();
    }
    out
}

/// Incremental line/column computation. Positions ascend across windows; within a window
/// they may go back, down to the window's anchor.
#[derive(Default, Clone, Copy)]
struct LineCursor {
    pos: usize,
    line: u32,
    line_start: usize,
    anchor: (usize, u32, usize),
}

impl LineCursor {
    /// Advance to `at` and remember it as the point to restart from.
    fn anchor_at(&mut self, content: &[u8], at: usize) {
        self.locate(content, at);
        self.anchor = (self.pos, self.line, self.line_start);
    }

    /// 1-based (line, column in characters) of byte `at`.
    fn locate(&mut self, content: &[u8], at: usize) -> (u32, u32) {
        if self.line == 0 {
            (self.pos, self.line, self.line_start) = (0, 1, 0);
            self.anchor = (0, 1, 0);
        }
        if at < self.pos {
            (self.pos, self.line, self.line_start) = if self.anchor.0 <= at {
                self.anchor
            } else {
                (0, 1, 0)
            };
        }
        let base = self.pos;
        for nl in memchr::memchr_iter(b'\n', &content[base..at]) {
            self.line += 1;
            self.line_start = base + nl + 1;
        }
        self.pos = at;
        let col = content[self.line_start..at]
            .iter()
            .filter(|&&b| (b & 0xC0) != 0x80)
            .count() as u32
            + 1;
        (self.line, col)
    }
}

#[cfg(test)]
mod tests {
    use super::{multiline_reach, MAX_MULTILINE_REACH};

    #[test]
    fn reach_counts_only_what_follows_the_first_newline() {
        // never a newline
        assert_eq!(multiline_reach(r"ghp_[0-9A-Za-z]{36}"), 0);
        // only the terminator may be a newline, however long the secret
        assert_eq!(
            multiline_reach(r#"(?i)token[ \t]{0,4}=[ \t]{0,4}([A-Za-z0-9]{16,})(?:["'\s;]|\z)"#),
            1
        );
        // a newline inside a counted repetition: its iteration plus every later one and the rest
        assert_eq!(multiline_reach(r"x\s{0,2}y{5}"), 7);
        assert_eq!(multiline_reach("a\nbc"), 3);
        assert_eq!(multiline_reach(r"(?:a|b\n)cd"), 3);
        // unbounded after a newline
        assert_eq!(
            multiline_reach(r"-----BEGIN KEY-----([\s\S]{64,}?)-----END KEY-----"),
            MAX_MULTILINE_REACH
        );
        assert_eq!(multiline_reach(r"key\s*=\s*\S+"), MAX_MULTILINE_REACH);
    }
}
