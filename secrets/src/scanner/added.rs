//! Scanning only the lines a commit adds to a file (see [`crate::linediff`]): a history scan
//! reads each change once and reports each secret where it came in.
//!
//! The added lines are scanned joined together, as gitleaks scans the `+` lines of a patch, with
//! their line numbers mapped back to the file's. Rules whose matches may span many lines (private
//! key blocks, JSON key files) run on the whole file when it holds one of their keywords, and
//! count only where their match touches an added line: replacing the body of a key between
//! unchanged `BEGIN` and `END` lines is found.

use std::ops::Range;

use aho_corasick::AhoCorasick;

use super::Scanner;
use crate::Finding;

/// A [`Scanner`] used on added lines; build it once per history scan with
/// [`Scanner::added_lines`].
pub struct AddedScanner<'s> {
    scanner: &'s Scanner,
    /// Keywords of the rules that need the whole file; `None` when one of them has no keywords
    /// (then every file with added lines is scanned whole for them).
    whole: Option<AhoCorasick>,
    /// No rule needs the whole file.
    no_whole_rules: bool,
}

impl Scanner {
    /// This scanner, for scanning the added lines of each change of a history.
    pub fn added_lines(&self) -> AddedScanner<'_> {
        let no_whole_rules = !self.whole_file_always && self.whole_file_keywords.is_empty();
        let whole = if self.whole_file_always || self.whole_file_keywords.is_empty() {
            None
        } else {
            AhoCorasick::builder()
                .ascii_case_insensitive(true)
                .build(&self.whole_file_keywords)
                .ok()
        };
        AddedScanner {
            scanner: self,
            whole,
            no_whole_rules,
        }
    }
}

/// Is 1-based line span `line..=end` on one of the 0-based `added` line ranges?
fn touches(added: &[Range<u32>], line: u32, end: u32) -> bool {
    let (first, last) = (line.saturating_sub(1), end.max(line).saturating_sub(1));
    let i = added.partition_point(|r| r.end <= first);
    added.get(i).is_some_and(|r| r.start <= last)
}

impl AddedScanner<'_> {
    /// Findings of `content` (the new version of the file at `path`) on its `added` lines
    /// (0-based line ranges, ascending, as [`crate::linediff::diff`] gives them), with the file's
    /// own line numbers, sorted by position. Binary content yields nothing, as with
    /// [`Scanner::scan`].
    pub fn scan(&self, path: &str, content: &[u8], added: &[Range<u32>]) -> Vec<Finding> {
        self.scan_with_hint(path, content, added, None).0
    }

    /// [`AddedScanner::scan`], told whether the lines of `content` that are *not* in `added`
    /// may hold a keyword of the whole-file rules (`None`: not known). Keywords sit on one
    /// line, so when neither those lines nor the added ones hold one, no whole-file rule can
    /// match across them, and the whole file is not searched: a history scan knows this from
    /// the other version of the file for most changes. Also returns whether `content` holds
    /// such a keyword, when that is known (`Some(true)` may also mean "perhaps").
    pub fn scan_with_hint(
        &self,
        path: &str,
        content: &[u8],
        added: &[Range<u32>],
        others_may_have_keyword: Option<bool>,
    ) -> (Vec<Finding>, Option<bool>) {
        let s = self.scanner;
        if self.no_whole_rules && (content.is_empty() || added.is_empty()) {
            return (Vec::new(), Some(false));
        }
        if content.is_empty() || s.path_globally_allowed(path) {
            return (Vec::new(), None);
        }
        if added.is_empty() {
            return (Vec::new(), others_may_have_keyword);
        }
        let Ok((text, _)) = crate::text::decode(content) else {
            return (Vec::new(), None);
        };
        let text: &[u8] = &text;
        // Where each added range's lines start and end in `text`, found in one forward pass.
        let (mut line, mut pos) = (0u32, 0usize);
        let mut offset = |k: u32| -> usize {
            while line < k && pos < text.len() {
                pos = memchr::memchr(b'\n', &text[pos..]).map_or(text.len(), |i| pos + i + 1);
                line += 1;
            }
            pos
        };
        let spans: Vec<(usize, usize, u32)> = added
            .iter()
            .map(|r| (offset(r.start), offset(r.end), r.start))
            .filter(|(a, b, _)| a < b)
            .collect();
        if spans.is_empty() {
            return (Vec::new(), others_may_have_keyword);
        }
        let whole_file = spans.len() == 1 && (spans[0].0, spans[0].1) == (0, text.len());
        // Does a line the scan does not see hold a keyword of the whole-file rules?
        let mut has_keyword = None;
        let mut out = if whole_file {
            s.scan_text(path, text)
        } else {
            // The added lines joined; `map[i]` = (first line of span i in the joined text,
            // its line in the file), both 0-based.
            let mut joined = Vec::with_capacity(spans.iter().map(|(a, b, _)| b - a + 1).sum());
            let mut map: Vec<(u32, u32)> = Vec::with_capacity(spans.len());
            let mut joined_line = 0u32;
            for &(a, b, first) in &spans {
                map.push((joined_line, first));
                let before = joined.len();
                joined.extend_from_slice(&text[a..b]);
                if !joined.ends_with(b"\n") {
                    joined.push(b'\n');
                }
                let n = memchr::memchr_iter(b'\n', &joined[before..]).count();
                joined_line += u32::try_from(n).unwrap_or(u32::MAX);
            }
            let to_file = |l: u32| -> u32 {
                let z = l.saturating_sub(1);
                let i = map.partition_point(|(j, _)| *j <= z).saturating_sub(1);
                let (j, f) = map.get(i).copied().unwrap_or((0, 0));
                f + (z - j) + 1
            };
            let mut found = s.scan_text(path, &joined);
            for f in &mut found {
                f.line = to_file(f.line);
                f.end_line = to_file(f.end_line);
            }
            has_keyword = Some(match &self.whole {
                _ if self.no_whole_rules => false,
                None => true,
                Some(ac) => {
                    let maybe = others_may_have_keyword.unwrap_or(true) || ac.is_match(&joined[..]);
                    maybe && ac.is_match(text)
                }
            });
            found
        };
        if has_keyword == Some(true) {
            for f in s.scan_text(path, text) {
                let dup = out.iter().any(|o| {
                    o.rule_id == f.rule_id && o.secret_sha256 == f.secret_sha256 && o.line == f.line
                });
                if !dup && touches(added, f.line, f.end_line) {
                    out.push(f);
                }
            }
            out.sort_by_key(|f| (f.line, f.column));
        }
        (out, has_keyword)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{linediff, RuleSet};

    fn scanner() -> Scanner {
        Scanner::new(&RuleSet::builtin()).expect("built-in rules compile")
    }

    const URL: &str = "postgres://app:Zq8vL2mN4pR7tW1x@db.internal:5432/app";

    #[test]
    fn only_added_lines_are_scanned_with_the_files_line_numbers() {
        let s = scanner();
        let old = format!("a = 1\nDATABASE_URL={URL}\nb = 2\n");
        let new = format!(
            "a = 1\nDATABASE_URL={URL}\nb = 3\nc = 4\nOTHER_URL={}\n",
            URL.replace("app:", "ops:")
        );
        let d = linediff::diff(old.as_bytes(), new.as_bytes());
        let found = s
            .added_lines()
            .scan("deploy/app.env", new.as_bytes(), &d.added);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].line, 5);
        assert_eq!(found[0].end_line, 5);
        assert_eq!(found[0].rule_id, "database-url-password");
    }

    #[test]
    fn a_new_file_is_scanned_whole() {
        let s = scanner();
        let new = format!("x\nDATABASE_URL={URL}\n");
        let found = s.added_lines().scan(
            "a.env",
            new.as_bytes(),
            &linediff::all_added(new.as_bytes()),
        );
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].line, 2);
    }

    #[test]
    fn unchanged_lines_are_not_reported() {
        let s = scanner();
        let old = format!("DATABASE_URL={URL}\n");
        let new = format!("# comment\nDATABASE_URL={URL}\n");
        let d = linediff::diff(old.as_bytes(), new.as_bytes());
        assert_eq!(d.added, vec![0..1]);
        assert!(s
            .added_lines()
            .scan("a.env", new.as_bytes(), &d.added)
            .is_empty());
    }

    #[test]
    fn touches_spans() {
        let added = [2..4, 10..11];
        assert!(!touches(&added, 1, 2));
        assert!(touches(&added, 1, 3));
        assert!(touches(&added, 3, 3));
        assert!(touches(&added, 4, 4));
        assert!(!touches(&added, 5, 10));
        assert!(touches(&added, 5, 11));
        assert!(!touches(&added, 12, 12));
    }
}
