//! Lexing and parsing, per dialect (research notes, review.md (b), "Lexing").

use std::collections::HashMap;

use super::glob::{GithubPattern, GitlabPattern};
use super::{
    CodeOwners, Diagnostic, DiagnosticCode, Dialect, GithubRule, GitlabEntry, GitlabSection, Owner,
    Role, Rules, Severity,
};

/// One non-blank, non-comment line: its number, the byte column where `text` starts, the text
/// without `\r` and surrounding whitespace.
pub(crate) struct Line<'a> {
    pub(crate) number: u32,
    pub(crate) column: u32,
    pub(crate) text: &'a [u8],
}

fn is_space(b: u8) -> bool {
    b == b' ' || b == b'\t' || b == b'\x0b' || b == b'\x0c' || b == b'\r'
}

pub(crate) fn lines(text: &[u8]) -> impl Iterator<Item = Line<'_>> {
    let text = text.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(text);
    text.split(|b| *b == b'\n')
        .enumerate()
        .filter_map(|(i, raw)| {
            let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
            let start = raw.iter().position(|b| !is_space(*b))?;
            let mut end = raw.len();
            while end > start && is_space(raw[end - 1]) && !(end >= 2 && raw[end - 2] == b'\\') {
                end -= 1;
            }
            let text = &raw[start..end];
            if text.starts_with(b"#") {
                return None;
            }
            Some(Line {
                number: u32::try_from(i + 1).unwrap_or(u32::MAX),
                column: u32::try_from(start + 1).unwrap_or(u32::MAX),
                text,
            })
        })
}

/// A whitespace-separated token and its 1-based column.
pub(crate) struct Token<'a> {
    pub(crate) column: u32,
    pub(crate) text: &'a [u8],
}

/// Splits a line into the pattern (up to the first unescaped whitespace) and the rest's tokens.
pub(crate) fn split_entry<'a>(line: &Line<'a>) -> (Token<'a>, Vec<Token<'a>>) {
    let t = line.text;
    let mut i = 0;
    while i < t.len() && !is_space(t[i]) {
        if t[i] == b'\\' && i + 1 < t.len() {
            i += 1;
        }
        i += 1;
    }
    let pattern = Token {
        column: line.column,
        text: &t[..i],
    };
    (pattern, tokens(t, i, line.column))
}

fn tokens(t: &[u8], mut i: usize, base: u32) -> Vec<Token<'_>> {
    let mut out = Vec::new();
    loop {
        while i < t.len() && is_space(t[i]) {
            i += 1;
        }
        if i >= t.len() {
            return out;
        }
        let start = i;
        while i < t.len() && !is_space(t[i]) {
            i += 1;
        }
        out.push(Token {
            column: base + u32::try_from(start).unwrap_or(u32::MAX),
            text: &t[start..i],
        });
    }
}

fn name_ok(s: &[u8]) -> bool {
    !s.is_empty()
        && s.iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Classifies an owner token; `None` if it is not one in `dialect`.
pub(crate) fn owner(tok: &[u8], dialect: Dialect) -> Option<Owner> {
    let s = std::str::from_utf8(tok).ok()?;
    if let Some(role) = s.strip_prefix("@@") {
        if dialect != Dialect::Gitlab {
            return None;
        }
        return match role {
            "developer" | "developers" => Some(Owner::Role(Role::Developer)),
            "maintainer" | "maintainers" => Some(Owner::Role(Role::Maintainer)),
            "owner" | "owners" => Some(Owner::Role(Role::Owner)),
            _ => None,
        };
    }
    if let Some(name) = s.strip_prefix('@') {
        let parts: Vec<&str> = name.split('/').collect();
        if !parts.iter().all(|p| name_ok(p.as_bytes())) {
            return None;
        }
        return match (parts.len(), dialect) {
            (1, _) => Some(Owner::User(name.to_string())),
            (2, _) => Some(Owner::Team(name.to_string())),
            (_, Dialect::Gitlab) => Some(Owner::Team(name.to_string())),
            (_, Dialect::Github) => None,
        };
    }
    let (local, domain) = s.split_once('@')?;
    let domain_ok = domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && domain
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    let local_ok = !local.is_empty()
        && local
            .bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b'@' | b'"' | b'(' | b')' | b','));
    (domain_ok && local_ok).then(|| Owner::Email(s.to_string()))
}

fn diag(
    out: &mut Vec<Diagnostic>,
    dialect: Dialect,
    severity: Severity,
    code: DiagnosticCode,
    line: u32,
    column: u32,
    message: String,
) {
    out.push(Diagnostic {
        line,
        column,
        dialect,
        severity,
        code,
        message,
    });
}

fn show(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

pub(crate) fn github(text: &[u8]) -> (CodeOwners, Vec<Diagnostic>) {
    let d = Dialect::Github;
    let mut rules = Vec::new();
    let mut out = Vec::new();
    'lines: for line in lines(text) {
        let (pattern, rest) = split_entry(&line);
        let (n, c) = (line.number, pattern.column);
        if pattern.text.starts_with(b"!") {
            let m = "`!` negation is not supported by GitHub; the line is ignored".to_string();
            diag(
                &mut out,
                d,
                Severity::Error,
                DiagnosticCode::Negation,
                n,
                c,
                m,
            );
            continue;
        }
        if pattern.text.starts_with(b"\\#") {
            let m =
                "GitHub does not support escaping `#` with `\\`; the line is ignored".to_string();
            diag(
                &mut out,
                d,
                Severity::Error,
                DiagnosticCode::EscapedHash,
                n,
                c,
                m,
            );
            continue;
        }
        let Some(compiled) = GithubPattern::new(pattern.text) else {
            let m = format!(
                "`{}`: `***` is not a valid pattern; the line is ignored",
                show(pattern.text)
            );
            diag(
                &mut out,
                d,
                Severity::Error,
                DiagnosticCode::TripleStar,
                n,
                c,
                m,
            );
            continue;
        };
        let mut owners = Vec::new();
        for tok in rest {
            if tok.text.starts_with(b"#") {
                break; // an inline comment
            }
            match owner(tok.text, d) {
                Some(o) => owners.push(o),
                None => {
                    let m = format!(
                        "`{}` is not an owner (`@user`, `@org/team` or an email); GitHub ignores the whole line",
                        show(tok.text)
                    );
                    diag(
                        &mut out,
                        d,
                        Severity::Error,
                        DiagnosticCode::InvalidOwner,
                        n,
                        tok.column,
                        m,
                    );
                    continue 'lines;
                }
            }
        }
        rules.push(GithubRule {
            line: n,
            pattern: compiled,
            owners,
        });
    }
    (
        CodeOwners {
            dialect: d,
            rules: Rules::Github(rules),
        },
        out,
    )
}

/// A parsed GitLab section header.
struct Header {
    optional: bool,
    name: String,
    /// `None`: no count written or not a number.
    approvals: Option<u32>,
    owners: Vec<Owner>,
}

/// `^(\^)?\[(.*?)\](?:\[(\d*)\])?(\s+owners)?`, not end-anchored. `Err(())` for an unclosed
/// `[Name` (GitLab's `invalid_section_format`), `Ok(None)` for a line that is no header.
fn header(line: &Line<'_>, out: &mut Vec<Diagnostic>) -> Result<Option<Header>, ()> {
    let d = Dialect::Gitlab;
    let (n, col) = (line.number, line.column);
    let t = line.text;
    let optional = t.starts_with(b"^");
    let after = if optional { &t[1..] } else { t };
    let Some(body) = after.strip_prefix(b"[") else {
        return Ok(None);
    };
    let Some(close) = body.iter().position(|b| *b == b']') else {
        return Err(());
    };
    let name = show(&body[..close]);
    let mut rest = &body[close + 1..];
    let mut approvals = None;
    let mut count_invalid = false;
    if let Some(inner) = rest.strip_prefix(b"[") {
        match inner.iter().position(|b| *b == b']') {
            Some(e) if inner[..e].iter().all(u8::is_ascii_digit) => {
                approvals = Some(show(&inner[..e]).parse::<u32>().unwrap_or(0));
                rest = &inner[e + 1..];
            }
            _ => count_invalid = true,
        }
    }
    let consumed = t.len() - rest.len();
    let rest_col = col + u32::try_from(consumed).unwrap_or(0);
    let mut owners = Vec::new();
    if !rest.is_empty() && !is_space(rest[0]) {
        let m = format!(
            "`{}` after the section header is ignored by GitLab",
            show(rest)
        );
        let code = if count_invalid {
            DiagnosticCode::InvalidApprovalCount
        } else {
            DiagnosticCode::IgnoredHeaderText
        };
        diag(out, d, Severity::Warning, code, n, rest_col, m);
    } else {
        let toks = tokens(rest, 0, rest_col);
        let any = !toks.is_empty();
        for tok in toks {
            match owner(tok.text, d) {
                Some(o) => owners.push(o),
                None => {
                    let m = format!("`{}` is not an owner; GitLab drops it", show(tok.text));
                    diag(
                        out,
                        d,
                        Severity::Warning,
                        DiagnosticCode::DroppedOwner,
                        n,
                        tok.column,
                        m,
                    );
                }
            }
        }
        if any && owners.is_empty() {
            let m = "the section's default owners contain no valid owner".to_string();
            diag(
                out,
                d,
                Severity::Error,
                DiagnosticCode::InvalidSectionOwners,
                n,
                rest_col,
                m,
            );
        }
    }
    if name.is_empty() {
        let m = "section header without a name".to_string();
        diag(
            out,
            d,
            Severity::Error,
            DiagnosticCode::MissingSectionName,
            n,
            col,
            m,
        );
    }
    if optional && approvals.is_some_and(|a| a > 0) {
        let m = "an optional section (`^`) cannot require approvals; it stays optional".to_string();
        diag(
            out,
            d,
            Severity::Error,
            DiagnosticCode::InvalidApprovalRequirement,
            n,
            col,
            m,
        );
    }
    Ok(Some(Header {
        optional,
        name,
        approvals,
        owners,
    }))
}

pub(crate) fn gitlab(text: &[u8]) -> (CodeOwners, Vec<Diagnostic>) {
    let d = Dialect::Gitlab;
    let mut out = Vec::new();
    let mut sections = vec![GitlabSection {
        name: None,
        optional: false,
        approvals: 1,
        entries: Vec::new(),
        exclusions: Vec::new(),
    }];
    // Lower-cased name -> section index; normalised pattern -> entry index, per section.
    let mut by_name: HashMap<String, usize> = HashMap::new();
    let mut slots: Vec<HashMap<Vec<u8>, usize>> = vec![HashMap::new()];
    let mut current = 0usize;
    let mut defaults: Vec<Owner> = Vec::new();
    for line in lines(text) {
        let (n, col) = (line.number, line.column);
        if line.text.starts_with(b"[") || line.text.starts_with(b"^[") {
            match header(&line, &mut out) {
                Ok(Some(h)) => {
                    let key = h.name.to_lowercase();
                    let approvals = h.approvals.filter(|a| *a > 0).unwrap_or(1);
                    current = match by_name.get(&key) {
                        Some(&i) => {
                            let s = &mut sections[i];
                            s.optional &= h.optional;
                            s.approvals = s.approvals.max(approvals);
                            i
                        }
                        None => {
                            sections.push(GitlabSection {
                                name: Some(h.name),
                                optional: h.optional,
                                approvals,
                                entries: Vec::new(),
                                exclusions: Vec::new(),
                            });
                            slots.push(HashMap::new());
                            by_name.insert(key, sections.len() - 1);
                            sections.len() - 1
                        }
                    };
                    defaults = h.owners;
                    continue;
                }
                Ok(None) => {}
                Err(()) => {
                    let m =
                        "unclosed section header; GitLab reads the line as an entry".to_string();
                    diag(
                        &mut out,
                        d,
                        Severity::Error,
                        DiagnosticCode::InvalidSectionFormat,
                        n,
                        col,
                        m,
                    );
                }
            }
        }
        let (pattern, rest) = split_entry(&line);
        if let Some(excluded) = pattern.text.strip_prefix(b"!") {
            if let Some(first) = rest.first() {
                let m = "owners after a `!` exclusion are ignored".to_string();
                diag(
                    &mut out,
                    d,
                    Severity::Warning,
                    DiagnosticCode::ExclusionOwnersIgnored,
                    n,
                    first.column,
                    m,
                );
            }
            sections[current]
                .exclusions
                .push((n, GitlabPattern::new(excluded)));
            continue;
        }
        if pattern.text.windows(3).any(|w| w == b"***") {
            let m = format!(
                "`{}`: `***` is read as `*` by GitLab and rejected by GitHub",
                show(pattern.text)
            );
            diag(
                &mut out,
                d,
                Severity::Warning,
                DiagnosticCode::TripleStar,
                n,
                pattern.column,
                m,
            );
        }
        let mut owners = Vec::new();
        for tok in &rest {
            match owner(tok.text, d) {
                Some(o) => owners.push(o),
                None => {
                    let m = format!("`{}` is not an owner; GitLab drops it", show(tok.text));
                    diag(
                        &mut out,
                        d,
                        Severity::Warning,
                        DiagnosticCode::DroppedOwner,
                        n,
                        tok.column,
                        m,
                    );
                }
            }
        }
        if owners.is_empty() {
            if defaults.is_empty() {
                let m = format!("`{}` has no owners", show(pattern.text));
                diag(
                    &mut out,
                    d,
                    Severity::Error,
                    DiagnosticCode::MissingOwner,
                    n,
                    pattern.column,
                    m,
                );
            } else {
                owners = defaults.clone();
            }
        }
        let compiled = GitlabPattern::new(pattern.text);
        let section = &mut sections[current];
        match slots[current].get(&compiled.normalized) {
            Some(&i) => {
                // A repeated pattern keeps its first position and takes the last owners.
                section.entries[i].owners = owners;
                section.entries[i].line = n;
            }
            None => {
                slots[current].insert(compiled.normalized.clone(), section.entries.len());
                section.entries.push(GitlabEntry {
                    line: n,
                    pattern: compiled,
                    owners,
                });
            }
        }
    }
    (
        CodeOwners {
            dialect: d,
            rules: Rules::Gitlab(sections),
        },
        out,
    )
}
