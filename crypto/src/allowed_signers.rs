//! git's `gpg.ssh.allowedSignersFile` format (ssh-keygen(1), "ALLOWED SIGNERS").
//!
//! ```text
//! # principals        [options]                                  keytype     base64-key  [comment]
//! alice@example.com   namespaces="git",valid-after="20260101Z"    ssh-ed25519 AAAAC3Nz…   alice laptop
//! "bob@example.com,bob@corp.example"                              ssh-ed25519 AAAAC3Nz…
//! ```

use rules::calendar::parse_openssh_time;

/// One parsed line, before principals are mapped to identities.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Line {
    pub number: usize,
    pub principals: Vec<String>,
    pub cert_authority: bool,
    pub namespaces: Option<String>,
    pub valid_after: Option<i64>,
    pub valid_before: Option<i64>,
    /// `keytype base64 [comment]`, as accepted by `PublicKey::from_openssh`.
    pub key: String,
    /// Non-fatal remarks (e.g. a time without `Z`).
    pub warnings: Vec<String>,
}

/// A parse error: 1-based line and column, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParseError {
    pub line: usize,
    pub column: usize,
    pub reason: String,
}

/// Parses the whole file; comments (`#`) and blank lines are skipped.
pub(crate) fn parse(text: &str) -> Result<Vec<Line>, ParseError> {
    let mut lines = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let number = i + 1;
        let trimmed = raw.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let offset = raw.len() - trimmed.len();
        lines.push(parse_line(number, offset, trimmed.trim_end())?);
    }
    Ok(lines)
}

/// Splits off the next whitespace-delimited field; double quotes protect whitespace.
/// Returns (field, byte offset of the field in `s`, rest).
fn next_field(s: &str) -> Option<Result<(&str, usize, &str), usize>> {
    let start = s.len() - s.trim_start().len();
    let s2 = &s[start..];
    if s2.is_empty() {
        return None;
    }
    let mut in_quotes = false;
    for (i, c) in s2.char_indices() {
        match c {
            '"' => in_quotes = !in_quotes,
            c if c.is_whitespace() && !in_quotes => {
                return Some(Ok((&s2[..i], start, &s2[i..])));
            }
            _ => {}
        }
    }
    if in_quotes {
        return Some(Err(start));
    }
    Some(Ok((s2, start, "")))
}

fn parse_line(number: usize, offset: usize, s: &str) -> Result<Line, ParseError> {
    let err = |col: usize, reason: String| ParseError {
        line: number,
        column: offset + col + 1,
        reason,
    };
    let (principals_field, p_at, rest) = match next_field(s) {
        Some(Ok(f)) => f,
        Some(Err(at)) => return Err(err(at, "unterminated quote in principals".into())),
        None => return Err(err(0, "empty line".into())),
    };
    let principals_str = unquote(principals_field);
    let principals: Vec<String> = principals_str
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect();
    if principals.is_empty() {
        return Err(err(p_at, "no principals".into()));
    }
    let consumed = s.len() - rest.len();
    let (second, o_at, after_second) = match next_field(rest) {
        Some(Ok(f)) => f,
        Some(Err(at)) => return Err(err(consumed + at, "unterminated quote".into())),
        None => return Err(err(s.len(), "missing public key after principals".into())),
    };
    let mut line = Line {
        number,
        principals,
        cert_authority: false,
        namespaces: None,
        valid_after: None,
        valid_before: None,
        key: String::new(),
        warnings: Vec::new(),
    };
    // Like ssh-keygen: the field after the principals is the key type if it looks like one,
    // otherwise it is the option list and the key follows.
    let key_part = if looks_like_key_type(second) {
        rest.trim()
    } else {
        parse_options(&mut line, second)
            .map_err(|(at, reason)| err(consumed + o_at + at, reason))?;
        let key = after_second.trim();
        if key.is_empty() {
            return Err(err(s.len(), "missing public key after options".into()));
        }
        key
    };
    line.key = key_part.to_owned();
    Ok(line)
}

fn looks_like_key_type(field: &str) -> bool {
    field.starts_with("ssh-") || field.starts_with("ecdsa-") || field.starts_with("sk-")
}

fn unquote(s: &str) -> &str {
    s.strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(s)
}

/// Parses `opt[,opt...]`; commas inside quotes belong to the value. Errors carry the column
/// (0-based within `field`).
fn parse_options(line: &mut Line, field: &str) -> Result<(), (usize, String)> {
    let mut start = 0;
    let mut in_quotes = false;
    let mut pieces = Vec::new();
    for (i, c) in field.char_indices() {
        match c {
            '"' => in_quotes = !in_quotes,
            ',' if !in_quotes => {
                pieces.push((start, &field[start..i]));
                start = i + 1;
            }
            _ => {}
        }
    }
    pieces.push((start, &field[start..]));
    for (at, opt) in pieces {
        let (name, value) = match opt.split_once('=') {
            Some((n, v)) => (n, Some(unquote(v))),
            None => (opt, None),
        };
        match (name.to_ascii_lowercase().as_str(), value) {
            ("cert-authority", None) => line.cert_authority = true,
            ("namespaces", Some(v)) => line.namespaces = Some(v.to_owned()),
            ("valid-after", Some(v)) | ("valid-before", Some(v)) => {
                let Some((t, utc)) = parse_openssh_time(v) else {
                    return Err((
                        at,
                        format!("{name}: {v:?} is not a time (YYYYMMDD[HHMM[SS]][Z])"),
                    ));
                };
                if !utc {
                    line.warnings.push(format!(
                        "line {}: {name}={v:?} has no Z suffix; ssh-keygen reads it in local time, pushguard reads it as UTC",
                        line.number
                    ));
                }
                if name.eq_ignore_ascii_case("valid-after") {
                    line.valid_after = Some(t);
                } else {
                    line.valid_before = Some(t);
                }
            }
            ("cert-authority", Some(_)) => {
                return Err((at, "cert-authority takes no value".into()));
            }
            ("namespaces" | "valid-after" | "valid-before", None) => {
                return Err((at, format!("option {name} needs a value")));
            }
            _ => return Err((at, format!("unknown option {opt:?}"))),
        }
    }
    if let (Some(a), Some(b)) = (line.valid_after, line.valid_before) {
        if b < a {
            return Err((0, "valid-before is earlier than valid-after".into()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGx0ZXN0LWtleS1ub3QtcmVhbC0wMDAwMDAwMDAwMDA";

    #[test]
    fn plain_and_quoted_principals() {
        let text = format!(
            "# comment\n\n  alice@example.com {KEY} laptop\n\"bob@example.com,bob@corp.example\" {KEY}\n"
        );
        let lines = parse(&text).expect("valid");
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].number, 3);
        assert_eq!(lines[0].principals, ["alice@example.com"]);
        assert_eq!(lines[0].key, format!("{KEY} laptop"));
        assert_eq!(lines[1].principals, ["bob@example.com", "bob@corp.example"]);
    }

    #[test]
    fn options() {
        let text = format!(
            "a@x namespaces=\"git,file\",valid-after=\"20260101Z\",valid-before=20270101 {KEY}\n"
        );
        let l = &parse(&text).expect("valid")[0];
        assert_eq!(l.namespaces.as_deref(), Some("git,file"));
        assert_eq!(l.valid_after, Some(1_767_225_600));
        assert_eq!(l.valid_before, Some(1_798_761_600));
        assert_eq!(l.warnings.len(), 1, "{:?}", l.warnings);
        assert!(!l.cert_authority);
        let l = &parse(&format!("*@x cert-authority {KEY}")).expect("valid")[0];
        assert!(l.cert_authority);
    }

    #[test]
    fn errors_have_line_and_column() {
        let e = parse(&format!("a@x {KEY}\n\nb@x bogus=1 {KEY}\n")).expect_err("bad option");
        assert_eq!((e.line, e.column), (3, 5));
        assert!(e.reason.contains("unknown option"), "{}", e.reason);
        let e = parse("a@x\n").expect_err("no key");
        assert_eq!(e.line, 1);
        let e = parse(&format!("a@x valid-after=2026 {KEY}")).expect_err("bad time");
        assert!(e.reason.contains("valid-after"), "{}", e.reason);
        let e = parse("\"a@x ssh-ed25519 AAAA").expect_err("quote");
        assert!(e.reason.contains("quote"), "{}", e.reason);
        let e = parse("a@x namespaces=\"git\"").expect_err("no key after options");
        assert!(e.reason.contains("missing public key"), "{}", e.reason);
    }

    /// Random lines from a nasty alphabet never panic (byte offsets stay on char boundaries).
    #[test]
    fn random_input_never_panics() {
        let alphabet: Vec<char> = "ab@,= \t\"#!*?zé🔑-\n".chars().collect();
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..20_000 {
            let len = (next() % 40) as usize;
            let line: String = (0..len)
                .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                .collect();
            let _ = parse(&line);
            let _ = parse(&format!("a@x {line} {KEY}"));
            let _ = parse(&format!("{line} ssh-ed25519 AAAA"));
        }
    }
}
