//! Which lines a new version of a file adds to the old one, for scanning only what a commit
//! brings (as `git log -p` shows it to gitleaks, without running a diff program).
//!
//! Common leading and trailing lines are skipped with a byte comparison first, so an edit in a
//! large file costs little more than the edit. Between them the comparison is by line content: a
//! line of the new version is *added* when no line of the old version's changed region has the
//! same bytes, so lines that only moved within it are not added (a secret on them was in the
//! file before), and a line of the old region is *removed* when the new region has no line like
//! it. (A line repeated in the unchanged lines around the region is not looked for there.)
//!
//! ```
//! use secrets::linediff;
//!
//! let old = b"a = 1\nb = 2\nc = 3\n";
//! let new = b"a = 1\nb = 22\nc = 3\nd = 4\n";
//! let d = linediff::diff(old, new);
//! // 0-based line indices of the new version: `b = 22` and `d = 4`.
//! assert_eq!(d.added, vec![1..2, 3..4]);
//! // line 1 of the old version, `b = 2`, is gone from the file.
//! assert_eq!(d.removed, vec![1..2]);
//! ```

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};
use std::ops::Range;

/// The hasher of sets of [`line_hash`]es: they are well mixed already.
#[derive(Default)]
struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type LineSet = HashSet<u64, BuildHasherDefault<PassThrough>>;

/// What a new version of a file changes against the old one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LineDiff {
    /// Added lines of the new version: 0-based line index ranges, ascending, not adjacent.
    pub added: Vec<Range<u32>>,
    /// Removed lines of the old version (its lines whose content the new one no longer has):
    /// 0-based line index ranges, ascending, not adjacent.
    pub removed: Vec<Range<u32>>,
}

/// A 64-bit hash of one line's bytes (without its `\n`; a trailing `\r` is part of the line).
/// Not cryptographic: it tells lines apart, it does not hide them.
pub fn line_hash(line: &[u8]) -> u64 {
    const K: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut h: u64 = (line.len() as u64).wrapping_mul(K);
    let mut chunks = line.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        h = (h ^ u64::from_le_bytes(w)).wrapping_mul(K).rotate_left(29);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut w = [0u8; 8];
        w[..rest.len()].copy_from_slice(rest);
        h = (h ^ u64::from_le_bytes(w)).wrapping_mul(K).rotate_left(29);
    }
    // final avalanche (from splitmix64)
    h ^= h >> 31;
    h = h.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    h ^= h >> 27;
    h
}

/// The lines of `text`, each without its `\n`.
pub fn lines(text: &[u8]) -> impl Iterator<Item = &[u8]> {
    let body = text.strip_suffix(b"\n").unwrap_or(text);
    let empty = text.is_empty();
    body.split(|&b| b == b'\n').filter(move |_| !empty)
}

/// Number of lines of `text` (a last line without `\n` counts).
fn line_count(text: &[u8]) -> u32 {
    let n = memchr::memchr_iter(b'\n', text).count();
    let n = if text.last().is_some_and(|&b| b != b'\n') {
        n + 1
    } else {
        n
    };
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Length of the common prefix of `a` and `b` in bytes, cut back to the start of a line.
fn common_prefix_lines(a: &[u8], b: &[u8]) -> usize {
    let n = a.len().min(b.len());
    let mut i = 0;
    // whole chunks first: a memcmp is far faster than a byte loop
    const CHUNK: usize = 256;
    while i + CHUNK <= n && a[i..i + CHUNK] == b[i..i + CHUNK] {
        i += CHUNK;
    }
    while i < n && a[i] == b[i] {
        i += 1;
    }
    if i == a.len() && i == b.len() {
        return i;
    }
    // back to just after the last newline both share
    memchr::memrchr(b'\n', &a[..i]).map_or(0, |p| p + 1)
}

/// Length of the common suffix of `a` and `b` in bytes (never more than `limit`), starting at the
/// beginning of a line in both.
fn common_suffix_lines(a: &[u8], b: &[u8], limit: usize) -> usize {
    let n = a.len().min(b.len()).min(limit);
    let mut i = 0;
    const CHUNK: usize = 256;
    while i + CHUNK <= n
        && a[a.len() - i - CHUNK..a.len() - i] == b[b.len() - i - CHUNK..b.len() - i]
    {
        i += CHUNK;
    }
    while i < n && a[a.len() - 1 - i] == b[b.len() - 1 - i] {
        i += 1;
    }
    // The suffix must start at a line start in both: just after a newline (or at the start of
    // the text, when the whole of the shorter one is common).
    let starts_line = |t: &[u8], len: usize| len == t.len() || t[t.len() - len - 1] == b'\n';
    while i > 0 && !(starts_line(a, i) && starts_line(b, i)) {
        i -= 1;
    }
    i
}

/// Compare two versions of a file (see the module docs).
pub fn diff(old: &[u8], new: &[u8]) -> LineDiff {
    let prefix = common_prefix_lines(old, new);
    let suffix = common_suffix_lines(&old[prefix..], &new[prefix..], usize::MAX);
    let old_mid = &old[prefix..old.len() - suffix];
    let new_mid = &new[prefix..new.len() - suffix];
    let first = line_count(&new[..prefix]);
    let mut out = LineDiff::default();
    if new_mid.is_empty() && old_mid.is_empty() {
        return out;
    }
    let old_hashes: Vec<u64> = lines(old_mid).map(line_hash).collect();
    let old_set: LineSet = old_hashes.iter().copied().collect();
    let mut new_set = LineSet::default();
    for (i, line) in lines(new_mid).enumerate() {
        let h = line_hash(line);
        new_set.insert(h);
        if !old_set.contains(&h) {
            push_line(&mut out.added, first, i);
        }
    }
    for (i, h) in old_hashes.iter().enumerate() {
        if !new_set.contains(h) {
            push_line(&mut out.removed, first, i);
        }
    }
    out
}

/// Add line `first + i` to ascending ranges.
fn push_line(ranges: &mut Vec<Range<u32>>, first: u32, i: usize) {
    let at = first.saturating_add(u32::try_from(i).unwrap_or(u32::MAX));
    match ranges.last_mut() {
        Some(r) if r.end == at => r.end = at.saturating_add(1),
        _ => ranges.push(at..at.saturating_add(1)),
    }
}

/// Every line of `text` as added (a new file).
pub fn all_added(text: &[u8]) -> Vec<Range<u32>> {
    match line_count(text) {
        0 => Vec::new(),
        n => std::iter::once(0..n).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn added(old: &str, new: &str) -> Vec<Range<u32>> {
        diff(old.as_bytes(), new.as_bytes()).added
    }

    #[test]
    fn a_new_file_is_all_added() {
        assert_eq!(all_added(b"a\nb\n"), vec![0..2]);
        assert_eq!(all_added(b"a\nb"), vec![0..2]);
        assert_eq!(all_added(b""), vec![]);
        assert_eq!(added("", "a\nb\n"), vec![0..2]);
    }

    #[test]
    fn an_edit_adds_only_the_edited_line() {
        assert_eq!(added("a\nb\nc\n", "a\nB\nc\n"), vec![1..2]);
        // an edit inside a line that shares a prefix with the old one: the whole line
        assert_eq!(added("key = 1\n", "key = 12\n"), vec![0..1]);
    }

    #[test]
    fn appending_and_prepending() {
        assert_eq!(added("a\nb\n", "a\nb\nc\n"), vec![2..3]);
        assert_eq!(added("a\nb\n", "z\na\nb\n"), vec![0..1]);
        // the old last line had no newline: it is changed (gained one), and `c` is added
        assert_eq!(added("a\nb", "a\nb\nc"), vec![2..3]);
    }

    #[test]
    fn moved_lines_are_not_added() {
        assert_eq!(added("a\nb\nc\n", "c\na\nb\n"), vec![]);
        assert_eq!(added("x\na\nb\nc\ny\n", "x\nc\nb\na\ny\n"), vec![]);
        // repeated from the unchanged lines: added (its secret, if any, is the same one)
        assert_eq!(added("a\nb\n", "a\nb\na\n"), vec![2..3]);
    }

    #[test]
    fn removals_name_the_lines_gone() {
        let d = diff(b"a\nsecret\nb\n", b"a\nb\n");
        assert!(d.added.is_empty());
        assert_eq!(d.removed, vec![1..2]);
        let d = diff(b"a\nb\nc\nd\n", b"a\nd\n");
        assert_eq!(d.removed, vec![1..3]);
        // a line that the changed region still has is not gone
        let d = diff(b"a\nsecret\nb\nc\n", b"a\nc\nsecret\nb\n");
        assert!(d.removed.is_empty(), "{d:?}");
    }

    #[test]
    fn identical_versions_add_nothing() {
        let d = diff(b"a\nb\n", b"a\nb\n");
        assert_eq!(d, LineDiff::default());
    }

    #[test]
    fn suffix_does_not_eat_a_shared_line_end() {
        // "ab\n" -> "b\n": the common suffix "b\n" does not start a line in the old version
        assert_eq!(added("ab\n", "b\n"), vec![0..1]);
        assert_eq!(added("x\nab\ny\n", "x\nb\ny\n"), vec![1..2]);
    }

    #[test]
    fn long_files_with_a_small_edit() {
        let old: String = (0..2000).map(|i| format!("line {i}\n")).collect();
        let new = old.replace("line 1500\n", "line 1500\npassword = hunter2\n");
        assert_eq!(added(&old, &new), vec![1501..1502]);
    }
}
