//! Built-in rules, written from the providers' documented token formats.
//!
//! Most provider tokens are "literal prefix + body of a known alphabet and length"; [`tok`]
//! builds the regex, keyword, entropy floor and examples from such a shape. Everything else
//! (private key blocks, connection strings, contextual assignments, file names) is spelled out.

mod content;
mod families;
mod paths;

use crate::rule::{Allowlist, Condition, Rule, RuleSet};

pub(crate) fn ruleset() -> RuleSet {
    let mut rules = content::rules();
    // before the generic assignment rules (last in `content`): the more specific rule wins
    let generic_at = rules
        .iter()
        .position(|r| r.id.starts_with("generic-"))
        .unwrap_or(rules.len());
    rules.splice(generic_at..generic_at, families::rules());
    rules.extend(paths::rules());
    RuleSet {
        rules,
        // documented public keys are never a finding, whichever rule sees them
        allowlists: vec![global_allowlist(), content::azure_emulator_keys()],
    }
}

/// Paths whose content is never scanned for secrets: lockfiles (integrity hashes), vendored
/// dependency trees, and binary/media assets that slip past the NUL sniff.
fn global_allowlist() -> Allowlist {
    Allowlist {
        description: Some("lockfiles, vendored dependencies, media and client configs".into()),
        condition: Condition::Or,
        paths: vec![
            r"(?:^|/)(?:package-lock\.json|npm-shrinkwrap\.json|yarn\.lock|pnpm-lock\.yaml|bun\.lockb?|Cargo\.lock|go\.sum|poetry\.lock|Pipfile\.lock|uv\.lock|composer\.lock|Gemfile\.lock|gradle\.lockfile|packages\.lock\.json|flake\.lock|mix\.lock|pubspec\.lock|Podfile\.lock)$".into(),
            r"(?:^|/)(?:node_modules|vendor/bundle|\.yarn/cache)/".into(),
            // Firebase's client configuration files: the app's public API key and ids
            r"(?:^|/)(?:google-services\.json|GoogleService-Info\.plist)$".into(),
            r"(?i)\.(?:png|jpe?g|gif|bmp|ico|webp|svg|tiff?|woff2?|ttf|eot|otf|mp[34]|mov|avi|pdf|zip|gz|tgz|bz2|xz|7z|jar|war|class|so|dylib|dll|exe|o|a|pyc|wasm)$".into(),
        ],
        ..Allowlist::default()
    }
}

/// Standard base64 with padding (examples only).
pub(crate) fn b64(data: &[u8]) -> String {
    let mut s = crate::validate::base64url_encode(data)
        .replace('-', "+")
        .replace('_', "/");
    while !s.len().is_multiple_of(4) {
        s.push('=');
    }
    s
}

/// Deterministic pseudo-random string over `alphabet` (examples must be stable across runs).
pub(crate) fn rnd(seed: &str, alphabet: &[u8], n: usize) -> String {
    let mut x: u64 = 0xcbf2_9ce4_8422_2325;
    for b in seed.bytes() {
        x ^= u64::from(b);
        x = x.wrapping_mul(0x0100_0000_01b3);
    }
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            alphabet[(x % alphabet.len() as u64) as usize] as char
        })
        .collect()
}

/// A piece of a token shape.
#[derive(Clone, Copy)]
pub(crate) enum P {
    /// Literal text.
    L(&'static str),
    /// Characters of class `c` (see [`class`]) repeated min..=max times.
    C(char, usize, usize),
}

/// (regex class, example alphabet) of a class letter.
pub(crate) fn class(c: char) -> (&'static str, &'static [u8]) {
    match c {
        'A' => (
            "0-9A-Za-z",
            b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
        ),
        'H' => ("0-9a-f", b"0123456789abcdef"),
        'X' => ("0-9A-F", b"0123456789ABCDEF"),
        'h' => ("0-9a-fA-F", b"0123456789abcdefABCDEF"),
        'U' => ("0-9A-Z", b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
        'L' => ("0-9a-z", b"0123456789abcdefghijklmnopqrstuvwxyz"),
        'a' => (
            "A-Za-z",
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
        ),
        'W' => (
            "0-9A-Za-z_\\-",
            b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_-",
        ),
        'B' => (
            "0-9A-Za-z+/",
            b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz+/",
        ),
        'D' => ("0-9", b"0123456789"),
        '3' => ("A-Z2-7", b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"),
        _ => (
            "0-9A-Za-z",
            b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
        ),
    }
}

fn escape(s: &str) -> String {
    let mut o = String::new();
    for ch in s.chars() {
        if "\\.+*?()|[]{}^$".contains(ch) {
            o.push('\\');
        }
        o.push(ch);
    }
    o
}

/// Regex, keyword, example and placeholder for a token shape.
pub(crate) fn shape(id: &str, parts: &[P]) -> (String, String, String, Option<String>, usize) {
    let mut re = String::new();
    let mut ex = String::new();
    let mut placeholder = String::new();
    let mut body_len = 0;
    if let Some(P::L(first)) = parts.first() {
        if first
            .as_bytes()
            .first()
            .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
        {
            re.push_str(r"\b");
        }
    } else if let Some(P::C(c, _, _)) = parts.first() {
        re.push_str(&format!("(?:^|[^{}])", class(*c).0));
    }
    re.push('(');
    let mut keyword = String::new();
    for (i, p) in parts.iter().enumerate() {
        match *p {
            P::L(l) => {
                re.push_str(&escape(l));
                ex.push_str(l);
                placeholder.push_str(l);
                if l.len() > keyword.len() {
                    keyword = l.to_ascii_lowercase();
                }
            }
            P::C(c, min, max) => {
                let (cls, alpha) = class(c);
                // Wide counted ranges bloat the automata (and the capture engine's work);
                // above 16 characters of slack the maximum is left open.
                if min == max {
                    re.push_str(&format!("[{cls}]{{{min}}}"));
                } else if max - min > 16 {
                    re.push_str(&format!("[{cls}]{{{min},}}"));
                } else {
                    re.push_str(&format!("[{cls}]{{{min},{max}}}"));
                }
                ex.push_str(&rnd(&format!("{id}/{i}"), alpha, max.min(min + 8)));
                placeholder.push_str(&String::from(alpha[0] as char).repeat(min));
                body_len += min;
            }
        }
    }
    re.push(')');
    match parts.last() {
        Some(P::C(c, _, _)) => re.push_str(&format!(r"(?:[^{}]|\z)", class(*c).0)),
        Some(P::L(l))
            if l.as_bytes()
                .last()
                .is_some_and(|b| b.is_ascii_alphanumeric()) =>
        {
            re.push_str(r"\b")
        }
        _ => {}
    }
    (re, keyword, ex, Some(placeholder), body_len)
}

/// A provider token rule from its shape: prefix keyword, entropy floor 3.0 for bodies of 16+
/// characters, one positive example and placeholder/truncation negatives.
pub(crate) fn tok(id: &str, desc: &str, parts: &[P], tags: &[&str]) -> Rule {
    let (re, keyword, ex, placeholder, body_len) = shape(id, parts);
    let mut negatives = Vec::new();
    let mut r = Rule::new(id, desc)
        .regex(re)
        .group(1)
        .keywords(&[keyword.as_str()])
        .tags(tags);
    if body_len >= 16 {
        r = r.entropy(3.0);
        if let Some(p) = placeholder {
            negatives.push(format!("token: \"{p}\""));
        }
    }
    // truncated: drop characters from the end of the example until the shape no longer fits
    let min_len: usize = parts
        .iter()
        .map(|p| {
            if let P::C(_, min, _) = p {
                *min
            } else if let P::L(l) = p {
                l.len()
            } else {
                0
            }
        })
        .sum();
    if min_len > 2 && ex.len() >= min_len {
        negatives.push(format!("token: \"{}\"", &ex[..min_len - 1]));
    }
    r.examples(&[format!("token: \"{ex}\"")])
        .negatives(&negatives)
}
