//! `pushguard codeowners lint [--dialect-diff]`: syntax per dialect, and where the two
//! dialects read the same file differently.

use std::collections::{BTreeSet, HashMap};

use super::glob::gitlab_normalize;
use super::parse::{lines, owner, split_entry};
use super::{
    CodeOwners, Diagnostic, DiagnosticCode, Dialect, Owner, ParseError, Requirement, Severity,
};

/// Syntax errors and warnings of `text` read as GitHub and as GitLab, ordered by place.
pub fn lint(text: impl AsRef<[u8]>) -> Vec<Diagnostic> {
    let text = text.as_ref();
    let mut out = Vec::new();
    for dialect in [Dialect::Github, Dialect::Gitlab] {
        match CodeOwners::parse(text, dialect) {
            Ok((_, diags)) => out.extend(diags),
            Err(e @ ParseError::TooLarge { .. }) => out.push(Diagnostic {
                line: 1,
                column: 1,
                dialect,
                severity: Severity::Error,
                code: DiagnosticCode::FileTooLarge,
                message: e.to_string(),
            }),
        }
    }
    out.sort_by_key(|a| (a.line, a.column, a.dialect));
    out
}

/// How the two dialects disagree about a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DifferenceKind {
    /// `docs/*`: GitHub anchors a pattern with a middle `/` to the root; GitLab matches it at
    /// any depth (edge case 4).
    Anchoring,
    /// `/docs`, `foo`: GitHub also owns everything below; GitLab only the path itself (3, 5, 8).
    /// Flagged for literal last segments without an extension.
    Descendants,
    /// `[abc]`: literal for GitHub, a character class for GitLab (12).
    Brackets,
    /// `[Name]`, `^[Name][N]`: a section for GitLab, a literal pattern for GitHub (12, 18-22).
    SectionHeader,
    /// `\#f`: GitLab owns `#f`; GitHub does not support the escape (13).
    EscapedHash,
    /// `@a # @b`: GitHub stops at `#`, GitLab still reads the owners after it (14).
    InlineComment,
    /// `!pattern`: a GitLab exclusion, invalid for GitHub (15, 16).
    Exclusion,
    /// A repeated pattern: GitHub's later line wins by position, GitLab keeps the first
    /// position with the last owners (23).
    DuplicatePattern,
    /// An owner GitHub rejects (so it ignores the line) but GitLab reads or drops (25).
    Owner,
    /// A line without owners: unowned for GitHub, default owners or an error for GitLab (2).
    NoOwners,
    /// `***`: rejected by GitHub, `*` for GitLab (26).
    TripleStar,
}

/// A line the two dialects read differently.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineDifference {
    pub line: u32,
    pub column: u32,
    pub kind: DifferenceKind,
    pub message: String,
}

impl std::fmt::Display for LineDifference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "CODEOWNERS:{}:{}: dialects differ ({:?}): {}",
            self.line, self.column, self.kind, self.message
        )
    }
}

/// A probe path whose owners differ between the dialects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathDifference {
    pub path: Vec<u8>,
    pub github: Requirement,
    pub gitlab: Requirement,
}

/// The result of [`dialect_diff`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DialectDiff {
    pub lines: Vec<LineDifference>,
    pub paths: Vec<PathDifference>,
}

fn show(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn has_unescaped(p: &[u8], wanted: &[u8]) -> bool {
    let mut i = 0;
    while i < p.len() {
        if p[i] == b'\\' {
            i += 2;
            continue;
        }
        if wanted.contains(&p[i]) {
            return true;
        }
        i += 1;
    }
    false
}

fn owner_set(r: &Requirement) -> BTreeSet<Owner> {
    match r {
        Requirement::Unowned { .. } => BTreeSet::new(),
        Requirement::AnyOf { owners, .. } => owners.iter().cloned().collect(),
        Requirement::Sections(s) => s.iter().flat_map(|n| n.owners.iter().cloned()).collect(),
    }
}

/// Lines of `text` the two dialects read differently (a static, per-line comparison), and of
/// `probes`, the paths whose owners differ when both dialects match them.
pub fn dialect_diff<I, P>(text: impl AsRef<[u8]>, probes: I) -> Result<DialectDiff, ParseError>
where
    I: IntoIterator<Item = P>,
    P: AsRef<[u8]>,
{
    let text = text.as_ref();
    let (gh, _) = CodeOwners::parse(text, Dialect::Github)?;
    let (gl, _) = CodeOwners::parse(text, Dialect::Gitlab)?;
    let mut out = DialectDiff::default();
    let mut add = |line: u32, column: u32, kind: DifferenceKind, message: String| {
        out.lines.push(LineDifference {
            line,
            column,
            kind,
            message,
        });
    };
    // GitLab section state: the current section, and per section its normalised patterns
    // with the entry count when each was first seen.
    let mut section = String::new();
    let mut seen: HashMap<(String, Vec<u8>), usize> = HashMap::new();
    let mut count: HashMap<String, usize> = HashMap::new();
    for line in lines(text) {
        let n = line.number;
        let t = line.text;
        let body = t.strip_prefix(b"^").unwrap_or(t);
        if let Some(inner) = body.strip_prefix(b"[") {
            if let Some(close) = inner.iter().position(|b| *b == b']') {
                section = show(&inner[..close]).to_lowercase();
                add(
                    n,
                    line.column,
                    DifferenceKind::SectionHeader,
                    "GitLab reads a section header; GitHub a pattern with literal brackets".into(),
                );
                continue;
            }
        }
        let (pattern, rest) = split_entry(&line);
        let (p, c) = (pattern.text, pattern.column);
        if p.starts_with(b"!") {
            add(
                n,
                c,
                DifferenceKind::Exclusion,
                "GitLab excludes these paths from the section; GitHub ignores the line".into(),
            );
            continue;
        }
        if p.starts_with(b"\\#") {
            add(
                n,
                c,
                DifferenceKind::EscapedHash,
                format!(
                    "GitLab owns `{}`; GitHub does not support `\\#` and ignores the line",
                    show(&p[1..])
                ),
            );
        }
        if p.windows(3).any(|w| w == b"***") {
            add(
                n,
                c,
                DifferenceKind::TripleStar,
                "`***`: GitHub ignores the line; GitLab reads `*`".into(),
            );
        }
        if has_unescaped(p, b"[") {
            add(
                n,
                c,
                DifferenceKind::Brackets,
                "`[...]` is literal for GitHub and a character class for GitLab".into(),
            );
        }
        let trimmed = p.strip_suffix(b"/").unwrap_or(p);
        if !p.starts_with(b"/") && !p.starts_with(b"**/") && trimmed.contains(&b'/') {
            add(
                n,
                c,
                DifferenceKind::Anchoring,
                format!(
                    "GitHub matches `{0}` only at the root; GitLab at any depth (write `/{0}` or `**/{0}`)",
                    show(p)
                ),
            );
        }
        let last = p.rsplit(|b| *b == b'/').next().unwrap_or(p);
        // Only for names that look like directories (no extension): `/app/x.rb` also owns
        // `app/x.rb/...` for GitHub, but no such directory is likely, and flagging every file
        // line would bury the real differences. Probe paths catch the rest.
        let looks_like_dir = !last.iter().skip(1).any(|b| *b == b'.');
        if !p.ends_with(b"/") && !last.is_empty() && !has_unescaped(last, b"*?[") && looks_like_dir
        {
            add(
                n,
                c,
                DifferenceKind::Descendants,
                format!(
                    "GitHub also owns everything below `{0}`; GitLab only `{0}` itself (write `{0}/` for a directory)",
                    show(p)
                ),
            );
        }
        // Owners as each dialect reads them.
        let mut gh_owners = Vec::new();
        let mut gh_bad = None;
        for tok in &rest {
            if tok.text.starts_with(b"#") {
                break;
            }
            match owner(tok.text, Dialect::Github) {
                Some(o) => gh_owners.push(o),
                None => {
                    gh_bad = Some(tok);
                    break;
                }
            }
        }
        let gl_owners: Vec<Owner> = rest
            .iter()
            .filter_map(|tok| owner(tok.text, Dialect::Gitlab))
            .collect();
        if let Some(tok) = gh_bad {
            add(
                n,
                tok.column,
                DifferenceKind::Owner,
                format!(
                    "GitHub ignores the whole line because of `{}`; GitLab keeps the line and drops only invalid tokens",
                    show(tok.text)
                ),
            );
        } else if gh_owners != gl_owners {
            let col = rest
                .iter()
                .find(|t| t.text.starts_with(b"#"))
                .map_or(c, |t| t.column);
            add(
                n,
                col,
                DifferenceKind::InlineComment,
                "GitHub reads the rest of the line after ` #` as a comment; GitLab still reads owners there".into(),
            );
        } else if gl_owners.is_empty() {
            add(
                n,
                c,
                DifferenceKind::NoOwners,
                "no owners: GitHub leaves matching paths unowned; GitLab uses the section's default owners or reports a missing owner".into(),
            );
        }
        // Repeated patterns within a GitLab section.
        let key = (section.clone(), gitlab_normalize(p));
        let entries = count.entry(section.clone()).or_insert(0);
        match seen.get(&key) {
            Some(&at) if at + 1 < *entries => add(
                n,
                c,
                DifferenceKind::DuplicatePattern,
                "repeated pattern: GitHub gives it this later position; GitLab keeps the first position (with these owners)".into(),
            ),
            Some(_) => {}
            None => {
                seen.insert(key, *entries);
                *entries += 1;
            }
        }
    }
    for probe in probes {
        let path = probe.as_ref();
        let (a, b) = (gh.owners_of(path), gl.owners_of(path));
        if owner_set(&a) != owner_set(&b) {
            out.paths.push(PathDifference {
                path: path.to_vec(),
                github: a,
                gitlab: b,
            });
        }
    }
    Ok(out)
}
