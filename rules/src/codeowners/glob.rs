//! The two dialects' path matchers, purpose-built rather than `globset`: neither dialect is a
//! plain glob. GitHub is a gitignore subset where a pattern without a trailing `/` also owns
//! everything below it, a lone `*` segment does not, and `[ ]` is literal; GitLab is Ruby's
//! `File.fnmatch(FNM_PATHNAME | FNM_DOTMATCH)` on a rewritten pattern, where `[abc]` is a class
//! and nothing matches descendants unless the pattern says so. Both work on bytes, split at `/`,
//! case-sensitively, so non-UTF-8 and NFC/NFD paths match exactly as stored in git.

/// One element of a segment glob.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Lit(u8),
    /// `*`: any run of bytes inside one segment.
    Star,
    /// `?`: one character inside one segment.
    One,
    /// `[...]` (GitLab only): `negated`, inclusive byte ranges.
    Class(bool, Vec<(u8, u8)>),
    /// An unclosed `[` (GitLab only): Ruby's fnmatch fails the match at this point.
    Never,
}

fn glob_tokens(seg: &[u8], classes: bool) -> Vec<Tok> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < seg.len() {
        let c = seg[i];
        match c {
            b'\\' if i + 1 < seg.len() => {
                out.push(Tok::Lit(seg[i + 1]));
                i += 2;
                continue;
            }
            b'*' => out.push(Tok::Star),
            b'?' => out.push(Tok::One),
            b'[' if classes => {
                let (tok, next) = class(seg, i + 1);
                out.push(tok);
                i = next;
                continue;
            }
            _ => out.push(Tok::Lit(c)),
        }
        i += 1;
    }
    out
}

/// Parses a bracket expression starting after `[`; returns the token and the index after `]`.
fn class(seg: &[u8], mut i: usize) -> (Tok, usize) {
    let mut negated = false;
    if i < seg.len() && (seg[i] == b'!' || seg[i] == b'^') {
        negated = true;
        i += 1;
    }
    let mut ranges = Vec::new();
    loop {
        if i >= seg.len() {
            return (Tok::Never, seg.len());
        }
        if seg[i] == b']' {
            return (Tok::Class(negated, ranges), i + 1);
        }
        let mut lo = seg[i];
        if lo == b'\\' && i + 1 < seg.len() {
            i += 1;
            lo = seg[i];
        }
        i += 1;
        let mut hi = lo;
        if i + 1 < seg.len() && seg[i] == b'-' && seg[i + 1] != b']' {
            i += 1;
            hi = seg[i];
            if hi == b'\\' && i + 1 < seg.len() {
                i += 1;
                hi = seg[i];
            }
            i += 1;
        }
        ranges.push((lo, hi));
    }
}

/// Length of the character starting `s` (a whole UTF-8 sequence when valid, else one byte).
fn char_len(s: &[u8]) -> usize {
    let n = match s[0] {
        0xC2..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF4 => 4,
        _ => 1,
    };
    if n > 1 && s.len() >= n && std::str::from_utf8(&s[..n]).is_ok() {
        n
    } else {
        1
    }
}

/// How many bytes of `s` one non-`*` token takes, if it matches there.
fn take(tok: &Tok, s: &[u8]) -> Option<usize> {
    let b = *s.first()?;
    match tok {
        Tok::Lit(c) => (b == *c).then_some(1),
        Tok::One => Some(char_len(s)),
        Tok::Class(neg, ranges) => {
            let hit = ranges.iter().any(|(lo, hi)| (*lo..=*hi).contains(&b));
            (hit != *neg).then_some(1)
        }
        Tok::Never | Tok::Star => None,
    }
}

/// Wildcard matching inside one segment, backtracking only to the last `*` (linear-ish, so a
/// hostile path cannot make a pattern with many stars explode).
fn glob_match(p: &[Tok], s: &[u8]) -> bool {
    let (mut pi, mut si) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        if pi < p.len() {
            if p[pi] == Tok::Star {
                star = Some((pi, si));
                pi += 1;
                continue;
            }
            if let Some(n) = take(&p[pi], &s[si..]) {
                pi += 1;
                si += n;
                continue;
            }
        }
        match star {
            Some((sp, ss)) => {
                pi = sp + 1;
                si = ss + 1;
                star = Some((sp, ss + 1));
            }
            None => return false,
        }
    }
    p[pi..].iter().all(|t| *t == Tok::Star)
}

/// A path split at `/`, once per path.
pub(crate) fn segments(path: &[u8]) -> Vec<&[u8]> {
    path.split(|b| *b == b'/').collect()
}

/// A GitHub segment.
#[derive(Debug, Clone)]
enum GhSeg {
    /// `**`
    Any,
    /// A lone `*`: exactly one segment, and no descendants when last.
    Star,
    Glob(Vec<Tok>),
}

/// A compiled GitHub-dialect pattern.
#[derive(Debug, Clone)]
pub(crate) struct GithubPattern {
    /// As written, escapes included.
    pub(crate) raw: Vec<u8>,
    segs: Vec<GhSeg>,
}

impl GithubPattern {
    /// Compiles a raw pattern (escapes still in it). `None` for `***`, which GitHub rejects.
    pub(crate) fn new(raw: &[u8]) -> Option<Self> {
        if raw.windows(3).any(|w| w == b"***") {
            return None;
        }
        if raw == b"/" {
            return Some(Self {
                raw: raw.to_vec(),
                segs: Vec::new(),
            });
        }
        let mut segs: Vec<&[u8]> = segments(raw);
        if segs[0].is_empty() {
            segs.remove(0);
        } else if (segs.len() == 1 || (segs.len() == 2 && segs[1].is_empty())) && segs[0] != b"**" {
            // A single segment (possibly with a trailing slash) matches at any depth.
            segs.insert(0, b"**");
        }
        if segs.len() > 1 && segs.last().is_some_and(|s| s.is_empty()) {
            // A trailing slash means "everything below".
            let last = segs.len() - 1;
            segs[last] = b"**";
        }
        let segs = segs
            .into_iter()
            .map(|s| match s {
                b"**" => GhSeg::Any,
                b"*" => GhSeg::Star,
                _ => GhSeg::Glob(glob_tokens(s, false)),
            })
            .collect();
        Some(Self {
            raw: raw.to_vec(),
            segs,
        })
    }

    /// `path` as [`segments`].
    pub(crate) fn matches(&self, path: &[&[u8]]) -> bool {
        !self.segs.is_empty()
            && gh_match(
                &self.segs,
                path,
                true,
                &mut Failed::new(self.segs.len(), path.len()),
            )
    }
}

/// Remembers which (pattern suffix, path suffix) pairs failed, so several `**` cannot make
/// matching exponential in the number of path segments.
struct Failed {
    width: usize,
    seen: Vec<bool>,
}

impl Failed {
    fn new(pattern: usize, path: usize) -> Self {
        Self {
            width: path + 1,
            seen: vec![false; (pattern + 1) * (path + 1)],
        }
    }

    /// Runs `f` unless this (pattern, path) suffix pair already failed.
    fn check(&mut self, p: usize, s: usize, f: impl FnOnce(&mut Self) -> bool) -> bool {
        let i = p * self.width + s;
        if self.seen[i] {
            return false;
        }
        let ok = f(self);
        if !ok {
            self.seen[i] = true;
        }
        ok
    }
}

fn gh_match(p: &[GhSeg], s: &[&[u8]], first: bool, failed: &mut Failed) -> bool {
    let Some((seg, rest)) = p.split_first() else {
        return s.is_empty();
    };
    let last = rest.is_empty();
    failed.check(p.len(), s.len(), |failed| match seg {
        // `**` alone matches any non-empty path; a final `**` one or more segments.
        GhSeg::Any if last && first => s != [b""],
        GhSeg::Any if last => !s.is_empty(),
        GhSeg::Any => (0..=s.len()).any(|k| gh_match(rest, &s[k..], false, failed)),
        GhSeg::Star => !s.is_empty() && !s[0].is_empty() && gh_match(rest, &s[1..], false, failed),
        GhSeg::Glob(toks) => {
            !s.is_empty()
                && glob_match(toks, s[0])
                && (last || gh_match(rest, &s[1..], false, failed))
        }
    })
}

/// A compiled GitLab-dialect pattern.
#[derive(Debug, Clone)]
pub(crate) struct GitlabPattern {
    /// As written (without a leading `!`), escapes included.
    pub(crate) raw: Vec<u8>,
    /// The rewritten pattern GitLab hands to `File.fnmatch`; equal ones are one entry.
    pub(crate) normalized: Vec<u8>,
    segs: Vec<GlSeg>,
}

#[derive(Debug, Clone)]
enum GlSeg {
    /// `**/`: zero or more whole segments.
    Recursive,
    Glob(Vec<Tok>),
}

/// GitLab's rewrite (`ee/lib/gitlab/code_owners/file.rb` `normalize_pattern`).
pub(crate) fn gitlab_normalize(raw: &[u8]) -> Vec<u8> {
    let mut p: Vec<u8> = match raw.strip_prefix(b"\\#") {
        Some(rest) => [b"#".as_slice(), rest].concat(),
        None => raw.to_vec(),
    };
    // `\` followed by whitespace becomes one space.
    let mut out = Vec::with_capacity(p.len());
    let mut i = 0;
    while i < p.len() {
        if p[i] == b'\\' && i + 1 < p.len() && p[i + 1].is_ascii_whitespace() {
            out.push(b' ');
            i += 1;
            while i < p.len() && p[i].is_ascii_whitespace() {
                i += 1;
            }
            continue;
        }
        out.push(p[i]);
        i += 1;
    }
    p = out;
    if p == b"*" {
        return b"/**/*".to_vec();
    }
    if !p.starts_with(b"/") {
        p = [b"/**/".as_slice(), &p].concat();
    }
    if p.ends_with(b"/") {
        p.extend_from_slice(b"**/*");
    }
    p
}

impl GitlabPattern {
    pub(crate) fn new(raw: &[u8]) -> Self {
        let normalized = gitlab_normalize(raw);
        let parts = segments(&normalized);
        let n = parts.len();
        let segs = parts
            .iter()
            .enumerate()
            .map(|(i, s)| {
                if *s == b"**" && i + 1 < n {
                    GlSeg::Recursive
                } else {
                    GlSeg::Glob(glob_tokens(s, true))
                }
            })
            .collect();
        Self {
            raw: raw.to_vec(),
            normalized,
            segs,
        }
    }

    /// `File.fnmatch(pattern, "/" + path, FNM_PATHNAME | FNM_DOTMATCH)`, `path` as
    /// [`segments`]. The rewritten pattern always starts with `/`, so its first (empty) segment
    /// matches the empty one before the path's leading `/`, and is skipped.
    pub(crate) fn matches(&self, path: &[&[u8]]) -> bool {
        let segs = &self.segs[1..];
        gl_match(segs, path, &mut Failed::new(segs.len(), path.len()))
    }
}

fn gl_match(p: &[GlSeg], s: &[&[u8]], failed: &mut Failed) -> bool {
    let Some((seg, rest)) = p.split_first() else {
        return s.is_empty();
    };
    failed.check(p.len(), s.len(), |failed| match seg {
        GlSeg::Recursive => (0..s.len()).any(|k| gl_match(rest, &s[k..], failed)),
        GlSeg::Glob(toks) => {
            !s.is_empty() && glob_match(toks, s[0]) && gl_match(rest, &s[1..], failed)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gitlab_rewrite() {
        assert_eq!(gitlab_normalize(b"*"), b"/**/*");
        assert_eq!(gitlab_normalize(b"docs/*"), b"/**/docs/*");
        assert_eq!(gitlab_normalize(b"/docs/"), b"/docs/**/*");
        assert_eq!(gitlab_normalize(b"\\#f"), b"/**/#f");
        assert_eq!(gitlab_normalize(b"my\\ dir/"), b"/**/my dir/**/*");
    }

    #[test]
    fn gitlab_classes_and_unclosed_brackets() {
        let p = GitlabPattern::new(b"/apps/[id]/f.ts");
        assert!(p.matches(&segments(b"apps/i/f.ts")));
        assert!(!p.matches(&segments(b"apps/[id]/f.ts")));
        assert!(GitlabPattern::new(b"[!a]b").matches(&segments(b"xb")));
        assert!(GitlabPattern::new(b"[a-c]").matches(&segments(b"b")));
        assert!(!GitlabPattern::new(b"[Section").matches(&segments(b"[Section")));
    }

    #[test]
    fn question_mark_takes_a_whole_character() {
        let path = segments("fäo".as_bytes());
        assert!(GithubPattern::new(b"f?o").expect("valid").matches(&path));
        assert!(GitlabPattern::new(b"f?o").matches(&path));
    }

    #[test]
    fn many_double_stars_stay_fast() {
        let pattern = b"/**/a/**/a/**/a/**/a/**/a/**/a/**/b";
        let path = vec![b"a".as_slice(); 500];
        assert!(!GithubPattern::new(pattern).expect("valid").matches(&path));
        assert!(!GitlabPattern::new(pattern).matches(&path));
    }

    #[test]
    fn many_stars_stay_fast() {
        let pattern = b"*a*a*a*a*a*a*a*a*a*a*a*a*b";
        let path = [b"a".repeat(4000).as_slice()].concat();
        assert!(!GithubPattern::new(pattern)
            .expect("valid")
            .matches(&segments(&path)));
        assert!(!GitlabPattern::new(pattern).matches(&segments(&path)));
    }
}
