//! CODEOWNERS, read the way GitHub or GitLab reads it, and what a changed path needs.
//!
//! Pure: text and paths in, owners out. Which file to read (always from the target ref's old
//! tip), who the owners are as identities, and whether an approval counts are the engine's job;
//! see `docs/codeowners.md`.
//!
//! ```
//! use rules::codeowners::{CodeOwners, Dialect, Owner, Requirement};
//!
//! let text = "* @core\n/docs/ @org/writers\n";
//! let (owners, diagnostics) = CodeOwners::parse(text, Dialect::Github).expect("small file");
//! assert!(diagnostics.is_empty());
//! match owners.owners_of("docs/intro.md") {
//!     Requirement::AnyOf { line, owners } => {
//!         assert_eq!(line, 2);
//!         assert_eq!(owners, vec![Owner::Team("org/writers".into())]);
//!     }
//!     other => panic!("unexpected {other:?}"),
//! }
//! // Each distinct requirement once, with the paths it covers.
//! let coverage = owners.requirements(["README.md", "docs/a.md", "docs/b.md"]);
//! assert_eq!(coverage.needs.len(), 2);
//! ```

mod glob;
mod lint;
mod parse;

use std::collections::{BTreeMap, BTreeSet};

pub use lint::{dialect_diff, lint, DialectDiff, DifferenceKind, LineDifference, PathDifference};

use glob::{GithubPattern, GitlabPattern};

/// GitHub refuses CODEOWNERS files this large; so do we.
pub const MAX_FILE_BYTES: usize = 3 * 1024 * 1024;

/// Whose rules read the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Dialect {
    Github,
    Gitlab,
}

impl Dialect {
    /// `auto`: GitLab if the file lives under `.gitlab/` or uses a GitLab-only construct
    /// (a section header, a `!` exclusion or an `@@role` owner), else GitHub.
    pub fn detect(file_path: Option<&str>, text: impl AsRef<[u8]>) -> Dialect {
        if file_path.is_some_and(|p| p.starts_with(".gitlab/") || p.contains("/.gitlab/")) {
            return Dialect::Gitlab;
        }
        let gitlab_only = parse::lines(text.as_ref()).any(|l| {
            let t = l.text;
            t.starts_with(b"[")
                || t.starts_with(b"^[")
                || t.starts_with(b"!")
                || t.split(|b| b.is_ascii_whitespace())
                    .any(|tok| tok.starts_with(b"@@"))
        });
        if gitlab_only {
            Dialect::Gitlab
        } else {
            Dialect::Github
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Dialect::Github => "github",
            Dialect::Gitlab => "gitlab",
        }
    }
}

/// The `dialect` setting: `github`, `gitlab` or `auto`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DialectSetting {
    Github,
    Gitlab,
    #[default]
    Auto,
}

impl DialectSetting {
    /// The dialect to read `text` (found at `file_path`) in.
    pub fn resolve(self, file_path: Option<&str>, text: impl AsRef<[u8]>) -> Dialect {
        match self {
            DialectSetting::Github => Dialect::Github,
            DialectSetting::Gitlab => Dialect::Gitlab,
            DialectSetting::Auto => Dialect::detect(file_path, text),
        }
    }
}

impl std::str::FromStr for DialectSetting {
    type Err = UnknownDialect;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "github" => Ok(DialectSetting::Github),
            "gitlab" => Ok(DialectSetting::Gitlab),
            "auto" => Ok(DialectSetting::Auto),
            other => Err(UnknownDialect(other.to_string())),
        }
    }
}

/// A `dialect` setting that is not `github`, `gitlab` or `auto`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown CODEOWNERS dialect `{0}` (expected github, gitlab or auto)")]
pub struct UnknownDialect(pub String);

/// A GitLab role owner (`@@developer`, `@@maintainers`, ...): direct members with that role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    Developer,
    Maintainer,
    Owner,
}

/// An owner as written; mapping it to policy identities is the engine's job.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Owner {
    /// `@user` (without the `@`).
    User(String),
    /// `@org/team` (GitHub) or `@group/sub/...` (GitLab), without the `@`.
    Team(String),
    /// `someone@example.org`.
    Email(String),
    /// `@@role` (GitLab).
    Role(Role),
}

impl std::fmt::Display for Owner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Owner::User(u) => write!(f, "@{u}"),
            Owner::Team(t) => write!(f, "@{t}"),
            Owner::Email(e) => f.write_str(e),
            Owner::Role(Role::Developer) => f.write_str("@@developer"),
            Owner::Role(Role::Maintainer) => f.write_str("@@maintainer"),
            Owner::Role(Role::Owner) => f.write_str("@@owner"),
        }
    }
}

/// How bad a diagnostic is. Errors mean the forge would ignore or misread something.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Warning,
    Error,
}

/// Stable codes for what a diagnostic is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DiagnosticCode {
    /// GitHub: an owner token that is not `@user`, `@org/team` or an email; the line is ignored.
    InvalidOwner,
    /// GitLab: an owner token that is not an owner; the token is dropped.
    DroppedOwner,
    /// GitLab: an entry with no owners and no section default owners.
    MissingOwner,
    /// `***` in a pattern.
    TripleStar,
    /// GitHub: `!pattern` is not supported; the line is ignored.
    Negation,
    /// GitHub: `\#` escaping is not supported; the line is ignored.
    EscapedHash,
    /// GitLab: `[Name` without `]`; read as an entry.
    InvalidSectionFormat,
    /// GitLab: `[]`.
    MissingSectionName,
    /// GitLab: `^[Name][N]`: an optional section cannot require approvals.
    InvalidApprovalRequirement,
    /// GitLab: `[Name][x]`: not a count; 1 approval.
    InvalidApprovalCount,
    /// GitLab: section default owners given but none valid.
    InvalidSectionOwners,
    /// GitLab: text after a section header that GitLab ignores.
    IgnoredHeaderText,
    /// GitLab: owners after a `!` exclusion are ignored.
    ExclusionOwnersIgnored,
    /// The file is 3 MB or larger (lint only; `parse` returns [`ParseError::TooLarge`]).
    FileTooLarge,
}

/// A finding with its place: 1-based line and byte column.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Diagnostic {
    pub line: u32,
    pub column: u32,
    pub dialect: Dialect,
    pub severity: Severity,
    pub code: DiagnosticCode,
    pub message: String,
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sev = match self.severity {
            Severity::Warning => "warning",
            Severity::Error => "error",
        };
        write!(
            f,
            "CODEOWNERS:{}:{}: {sev} ({}): {}",
            self.line,
            self.column,
            self.dialect.name(),
            self.message
        )
    }
}

/// Why a file could not be read at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("CODEOWNERS is {size} bytes; files of {max} bytes or more are refused", max = MAX_FILE_BYTES)]
    TooLarge { size: usize },
}

/// A GitHub line.
#[derive(Debug, Clone)]
struct GithubRule {
    line: u32,
    pattern: GithubPattern,
    owners: Vec<Owner>,
}

/// A GitLab entry inside a section.
#[derive(Debug, Clone)]
struct GitlabEntry {
    line: u32,
    pattern: GitlabPattern,
    owners: Vec<Owner>,
}

/// A GitLab section, all same-name headers merged.
#[derive(Debug, Clone)]
struct GitlabSection {
    /// `None` for entries before the first header.
    name: Option<String>,
    optional: bool,
    approvals: u32,
    /// In file position; a repeated normalised pattern keeps its first slot.
    entries: Vec<GitlabEntry>,
    /// `!pattern` lines with their line numbers.
    exclusions: Vec<(u32, GitlabPattern)>,
}

#[derive(Debug, Clone)]
enum Rules {
    Github(Vec<GithubRule>),
    Gitlab(Vec<GitlabSection>),
}

/// A parsed CODEOWNERS file.
#[derive(Debug, Clone)]
pub struct CodeOwners {
    dialect: Dialect,
    rules: Rules,
}

/// A GitLab section as the approval check sees it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Section {
    /// First spelling of the name; `None` for entries before any header.
    pub name: Option<String>,
    /// Optional only if every header of that name has `^`.
    pub optional: bool,
    /// Distinct approvals needed (at least 1).
    pub approvals: u32,
}

/// One line of the file as the dialect kept it (GitHub: lines it ignores are absent; GitLab: a
/// repeated pattern appears once, at its first position, with its last line and owners).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub line: u32,
    /// GitLab: the section (`None` before any header); GitHub: `None`.
    pub section: Option<String>,
    /// The pattern as written (escapes included, without a leading `!`), lossily as UTF-8.
    pub pattern: String,
    /// GitLab `!pattern`.
    pub exclusion: bool,
    /// After section default owners were applied.
    pub owners: Vec<Owner>,
}

/// What one section asks of one path (GitLab).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SectionNeed {
    pub section: Section,
    /// The deciding entry: the last matching one in the section.
    pub line: u32,
    /// Its owners; empty means no one can approve (fail closed).
    pub owners: Vec<Owner>,
}

/// What a changed path needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requirement {
    /// GitHub: no line matches (`line: None`) or the deciding line lists no owners.
    Unowned { line: Option<u32> },
    /// GitHub: one approval from any of these owners (any member of a listed team).
    AnyOf { line: u32, owners: Vec<Owner> },
    /// GitLab: every section with a matching entry and no matching exclusion; empty if none.
    Sections(Vec<SectionNeed>),
}

fn owner_list(owners: &[Owner]) -> String {
    if owners.is_empty() {
        return "nobody".into();
    }
    owners
        .iter()
        .map(Owner::to_string)
        .collect::<Vec<_>>()
        .join(" ")
}

impl std::fmt::Display for Requirement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Requirement::Unowned { line: None } => f.write_str("unowned (no line matches)"),
            Requirement::Unowned { line: Some(l) } => {
                write!(f, "unowned (line {l} lists no owners)")
            }
            Requirement::AnyOf { line, owners } => {
                write!(f, "1 approval from {} (line {line})", owner_list(owners))
            }
            Requirement::Sections(s) if s.is_empty() => f.write_str("unowned (no section matches)"),
            Requirement::Sections(needs) => {
                for (i, n) in needs.iter().enumerate() {
                    if i > 0 {
                        f.write_str("; ")?;
                    }
                    let name = n.section.name.as_deref().unwrap_or("(before any section)");
                    let optional = if n.section.optional { " optional" } else { "" };
                    write!(
                        f,
                        "[{name}]{optional} {} from {} (line {})",
                        n.section.approvals,
                        owner_list(&n.owners),
                        n.line
                    )?;
                }
                Ok(())
            }
        }
    }
}

impl Requirement {
    /// True if some owner approval is needed.
    pub fn is_owned(&self) -> bool {
        match self {
            Requirement::Unowned { .. } => false,
            Requirement::AnyOf { .. } => true,
            Requirement::Sections(s) => !s.is_empty(),
        }
    }
}

/// One distinct requirement over a set of changed paths.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Need {
    /// GitLab: the section; GitHub: `None`.
    pub section: Option<Section>,
    /// Distinct approvals needed from `owners`: GitHub 1, GitLab the section count.
    pub approvals: u32,
    /// GitHub: the deciding line's owners. GitLab: the union over the section's deciding
    /// entries. Empty: nobody can approve, so the engine blocks.
    pub owners: Vec<Owner>,
    /// The deciding lines.
    pub lines: Vec<u32>,
    /// The paths it covers, in input order.
    pub paths: Vec<Vec<u8>>,
}

/// How [`CodeOwners::requirements`] tells requirements apart.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum GroupKey {
    /// GitHub: one approval from any of these owners.
    Owners(BTreeSet<Owner>),
    /// GitLab: a section; `true` for paths whose deciding entry has no owners.
    Section(Section, bool),
}

/// What a set of changed paths needs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Coverage {
    /// Each distinct requirement once.
    pub needs: Vec<Need>,
    /// Paths that need no owner approval.
    pub unowned: Vec<Vec<u8>>,
}

/// Files parsed lately, by their bytes and dialect: a CODEOWNERS file is the same on push after
/// push (it comes from the protected ref), and a large one takes milliseconds to read.
/// Memoisation only: the result is the same as parsing again.
type Parsed = std::sync::Arc<(CodeOwners, Vec<Diagnostic>)>;
static PARSED: std::sync::Mutex<Vec<(Dialect, Vec<u8>, Parsed)>> =
    std::sync::Mutex::new(Vec::new());

/// How many parsed files are kept.
const PARSED_KEPT: usize = 16;

impl CodeOwners {
    /// [`CodeOwners::parse`], from the files parsed lately when this one is among them.
    pub fn parse_cached(text: &[u8], dialect: Dialect) -> Result<Parsed, ParseError> {
        if let Ok(kept) = PARSED.lock() {
            if let Some((_, _, p)) = kept.iter().find(|(d, t, _)| *d == dialect && t == text) {
                return Ok(p.clone());
            }
        }
        let parsed: Parsed = std::sync::Arc::new(CodeOwners::parse(text, dialect)?);
        if let Ok(mut kept) = PARSED.lock() {
            if kept.len() >= PARSED_KEPT {
                kept.remove(0);
            }
            kept.push((dialect, text.to_vec(), parsed.clone()));
        }
        Ok(parsed)
    }

    /// Reads `text` in `dialect`. Diagnostics come back beside the rules (the forges keep
    /// reading past a bad line, and so do we); only an oversized file is refused outright.
    pub fn parse(
        text: impl AsRef<[u8]>,
        dialect: Dialect,
    ) -> Result<(CodeOwners, Vec<Diagnostic>), ParseError> {
        let text = text.as_ref();
        if text.len() >= MAX_FILE_BYTES {
            return Err(ParseError::TooLarge { size: text.len() });
        }
        Ok(match dialect {
            Dialect::Github => parse::github(text),
            Dialect::Gitlab => parse::gitlab(text),
        })
    }

    /// Reads `text` in the dialect [`Dialect::detect`] picks for it.
    pub fn parse_auto(
        text: impl AsRef<[u8]>,
        file_path: Option<&str>,
    ) -> Result<(CodeOwners, Vec<Diagnostic>), ParseError> {
        let text = text.as_ref();
        CodeOwners::parse(text, Dialect::detect(file_path, text))
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// The rules in evaluation order (GitLab: section by section, each section's exclusions
    /// after its entries).
    pub fn entries(&self) -> Vec<Entry> {
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        match &self.rules {
            Rules::Github(rules) => rules
                .iter()
                .map(|r| Entry {
                    line: r.line,
                    section: None,
                    pattern: text(&r.pattern.raw),
                    exclusion: false,
                    owners: r.owners.clone(),
                })
                .collect(),
            Rules::Gitlab(sections) => sections
                .iter()
                .flat_map(|s| {
                    let entries = s.entries.iter().map(|e| Entry {
                        line: e.line,
                        section: s.name.clone(),
                        pattern: text(&e.pattern.raw),
                        exclusion: false,
                        owners: e.owners.clone(),
                    });
                    let exclusions = s.exclusions.iter().map(|(line, x)| Entry {
                        line: *line,
                        section: s.name.clone(),
                        pattern: text(&x.raw),
                        exclusion: true,
                        owners: Vec::new(),
                    });
                    entries.chain(exclusions).collect::<Vec<_>>()
                })
                .collect(),
        }
    }

    /// GitLab sections, merged by name, in order of first appearance (empty for GitHub).
    pub fn sections(&self) -> Vec<Section> {
        match &self.rules {
            Rules::Github(_) => Vec::new(),
            Rules::Gitlab(sections) => sections
                .iter()
                .map(|s| Section {
                    name: s.name.clone(),
                    optional: s.optional,
                    approvals: s.approvals,
                })
                .collect(),
        }
    }

    /// What a change to `path` (repo-relative, `/`-separated, bytes as in git) needs.
    pub fn owners_of(&self, path: impl AsRef<[u8]>) -> Requirement {
        let path = glob::segments(path.as_ref());
        let path = path.as_slice();
        match &self.rules {
            Rules::Github(rules) => match rules.iter().rev().find(|r| r.pattern.matches(path)) {
                None => Requirement::Unowned { line: None },
                Some(r) if r.owners.is_empty() => Requirement::Unowned { line: Some(r.line) },
                Some(r) => Requirement::AnyOf {
                    line: r.line,
                    owners: r.owners.clone(),
                },
            },
            Rules::Gitlab(sections) => Requirement::Sections(
                sections
                    .iter()
                    .filter(|s| !s.exclusions.iter().any(|(_, x)| x.matches(path)))
                    .filter_map(|s| {
                        let e = s.entries.iter().rev().find(|e| e.pattern.matches(path))?;
                        Some(SectionNeed {
                            section: Section {
                                name: s.name.clone(),
                                optional: s.optional,
                                approvals: s.approvals,
                            },
                            line: e.line,
                            owners: e.owners.clone(),
                        })
                    })
                    .collect(),
            ),
        }
    }

    /// Groups what `paths` need: each distinct requirement once, with the paths it covers.
    /// GitHub groups by owner set; GitLab by section, owners united over the section's
    /// deciding entries, except that paths whose deciding entry has no owners form their own
    /// group with empty owners (nobody can approve them).
    pub fn requirements<I, P>(&self, paths: I) -> Coverage
    where
        I: IntoIterator<Item = P>,
        P: AsRef<[u8]>,
    {
        let mut out = Coverage::default();
        let mut index: BTreeMap<GroupKey, usize> = BTreeMap::new();
        let mut add =
            |out: &mut Coverage, key: GroupKey, owners: &[Owner], line: u32, path: &[u8]| {
                let i = *index.entry(key.clone()).or_insert_with(|| {
                    let (section, approvals) = match key {
                        GroupKey::Owners(_) => (None, 1),
                        GroupKey::Section(s, _) => {
                            let approvals = s.approvals;
                            (Some(s), approvals)
                        }
                    };
                    out.needs.push(Need {
                        section,
                        approvals,
                        owners: Vec::new(),
                        lines: Vec::new(),
                        paths: Vec::new(),
                    });
                    out.needs.len() - 1
                });
                let need = &mut out.needs[i];
                let set: BTreeSet<Owner> = need.owners.iter().chain(owners).cloned().collect();
                need.owners = set.into_iter().collect();
                if !need.lines.contains(&line) {
                    need.lines.push(line);
                    need.lines.sort_unstable();
                }
                if !need.paths.iter().any(|p| p == path) {
                    need.paths.push(path.to_vec());
                }
            };
        for path in paths {
            let path = path.as_ref();
            match self.owners_of(path) {
                Requirement::AnyOf { line, owners } => {
                    let set: BTreeSet<Owner> = owners.iter().cloned().collect();
                    add(&mut out, GroupKey::Owners(set), &owners, line, path);
                }
                Requirement::Sections(needs) if !needs.is_empty() => {
                    for n in needs {
                        let ownerless = n.owners.is_empty();
                        let key = GroupKey::Section(n.section, ownerless);
                        add(&mut out, key, &n.owners, n.line, path);
                    }
                }
                Requirement::Unowned { .. } | Requirement::Sections(_) => {
                    if !out.unowned.iter().any(|p| p == path) {
                        out.unowned.push(path.to_vec());
                    }
                }
            }
        }
        out
    }
}
