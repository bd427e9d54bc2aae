//! Parsing commit and tag objects the way git splits their signatures.

use super::{parse_id, HashKind, RawCommit, RawTag, SignaturePart};
use anyhow::{bail, Result};
use rules::facts::Person;

/// Parse a person line: `Name <email> 1700000000 +0100`.
pub fn parse_person(value: &[u8]) -> Person {
    let s = String::from_utf8_lossy(value);
    let (name, rest) = match (s.find('<'), s.rfind('>')) {
        (Some(l), Some(r)) if l < r => (s[..l].trim().to_string(), (&s[l + 1..r], &s[r + 1..])),
        _ => (s.trim().to_string(), ("", "")),
    };
    let time = rest
        .1
        .split_whitespace()
        .next()
        .and_then(|t| t.parse().ok())
        .unwrap_or(0);
    Person {
        name,
        email: rest.0.trim().to_string(),
        time,
    }
}

/// One header of a commit or tag: name, value (continuations folded in), byte range.
type Header<'a> = (&'a [u8], Vec<u8>, std::ops::Range<usize>);

/// Split an object into header lines (with continuation lines folded in) and the message.
/// Returns (name, value, byte range of the whole header including continuations).
fn headers(data: &[u8]) -> (Vec<Header<'_>>, &[u8]) {
    let mut out: Vec<Header<'_>> = Vec::new();
    let mut pos = 0;
    while pos < data.len() {
        let end = data[pos..]
            .iter()
            .position(|&b| b == b'\n')
            .map(|i| pos + i + 1)
            .unwrap_or(data.len());
        let line = &data[pos..end];
        let body = line.strip_suffix(b"\n").unwrap_or(line);
        if body.is_empty() {
            return (out, &data[end..]);
        }
        if body[0] == b' ' {
            if let Some(last) = out.last_mut() {
                last.1.push(b'\n');
                last.1.extend_from_slice(&body[1..]);
                last.2.end = end;
            }
        } else {
            let (name, value) = match body.iter().position(|&b| b == b' ') {
                Some(i) => (&body[..i], body[i + 1..].to_vec()),
                None => (body, Vec::new()),
            };
            out.push((name, value, pos..end));
        }
        pos = end;
    }
    (out, &[])
}

fn subject(message: &[u8]) -> String {
    let text = String::from_utf8_lossy(message);
    text.lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim()
        .to_string()
}

/// Parse a commit object's bytes. The signature header for the repository's hash (`gpgsig`,
/// or `gpgsig-sha256` in SHA-256 repositories) is split out the way git does; a commit with
/// more than one signature header is marked malformed rather than guessed at.
pub fn parse_commit(data: &[u8], kind: HashKind) -> Result<RawCommit> {
    let (hdrs, message) = headers(data);
    let sig_name: &[u8] = if kind == HashKind::Sha256 {
        b"gpgsig-sha256"
    } else {
        b"gpgsig"
    };
    let mut tree = None;
    let mut parents = Vec::new();
    let mut author = None;
    let mut committer = None;
    let mut sigs = Vec::new();
    let mut other_sigs = 0;
    let mut mergetags = Vec::new();
    for (name, value, range) in &hdrs {
        match *name {
            b"tree" => tree = Some(parse_id(kind, &String::from_utf8_lossy(value))?),
            b"parent" => parents.push(parse_id(kind, &String::from_utf8_lossy(value))?),
            b"author" => author = Some(parse_person(value)),
            b"committer" => committer = Some(parse_person(value)),
            b"mergetag" => {
                // The header holds the tag object's text without its final newline.
                let mut tag = value.clone();
                tag.push(b'\n');
                mergetags.push(tag)
            }
            n if n == sig_name => sigs.push((value.clone(), range.clone())),
            n if n.starts_with(b"gpgsig") => other_sigs += 1,
            _ => {}
        }
    }
    let (Some(tree), Some(author), Some(committer)) = (tree, author, committer) else {
        bail!("commit lacks a tree, author or committer header");
    };
    let signature = match (sigs.len(), other_sigs) {
        (0, 0) => SignaturePart::None,
        (1, 0) => {
            let (sig, range) = sigs.remove(0);
            let mut payload = Vec::with_capacity(data.len());
            payload.extend_from_slice(&data[..range.start]);
            payload.extend_from_slice(&data[range.end..]);
            let mut signature = sig;
            if !signature.ends_with(b"\n") {
                signature.push(b'\n');
            }
            SignaturePart::Signed { signature, payload }
        }
        _ => SignaturePart::Malformed(
            "the commit carries more than one signature header".to_string(),
        ),
    };
    Ok(RawCommit {
        tree,
        parents,
        mergetags,
        author,
        committer,
        subject: subject(message),
        co_authors: co_authors(message),
        signature,
    })
}

/// The people a message's `Co-authored-by:` lines name (any line, any case of the key: a
/// co-author missed would approve their own change, one too many only asks for another
/// reviewer).
pub fn co_authors(message: &[u8]) -> Vec<Person> {
    const KEY: &str = "co-authored-by:";
    String::from_utf8_lossy(message)
        .lines()
        .filter_map(|l| {
            let l = l.trim();
            let head = l.get(..KEY.len())?;
            head.eq_ignore_ascii_case(KEY)
                .then(|| parse_person(l[KEY.len()..].trim().as_bytes()))
        })
        .filter(|p| !p.email.is_empty())
        .collect()
}

/// Signature block markers git recognises at the start of a line.
const SIG_MARKERS: [&[u8]; 4] = [
    b"-----BEGIN PGP SIGNATURE-----",
    b"-----BEGIN PGP MESSAGE-----",
    b"-----BEGIN SSH SIGNATURE-----",
    b"-----BEGIN SIGNED MESSAGE-----",
];

/// Where a signature appended to a tag message starts: the last line that begins with a
/// signature marker (git's `parse_signed_buffer`).
pub fn signature_start(buf: &[u8]) -> Option<usize> {
    let mut pos = 0;
    let mut found = None;
    while pos < buf.len() {
        if SIG_MARKERS.iter().any(|m| buf[pos..].starts_with(m)) {
            found = Some(pos);
        }
        pos = match buf[pos..].iter().position(|&b| b == b'\n') {
            Some(i) => pos + i + 1,
            None => buf.len(),
        };
    }
    found
}

/// Parse an annotated tag object's bytes; an in-body signature is split off as git does.
pub fn parse_tag(data: &[u8], kind: HashKind) -> Result<RawTag> {
    let (hdrs, _message) = headers(data);
    let mut target = None;
    let mut object_type = None;
    let mut name = None;
    let mut tagger = None;
    for (n, value, _) in &hdrs {
        match *n {
            b"object" => target = Some(parse_id(kind, &String::from_utf8_lossy(value))?),
            b"type" => object_type = Some(String::from_utf8_lossy(value).into_owned()),
            b"tag" => name = Some(String::from_utf8_lossy(value).into_owned()),
            b"tagger" => tagger = Some(parse_person(value)),
            _ => {}
        }
    }
    let (Some(target), Some(_), Some(name)) = (target, object_type, name) else {
        bail!("tag lacks an object, type or tag header");
    };
    let header_len = data.len() - _message.len();
    let signature = match signature_start(&data[header_len..]) {
        Some(off) => SignaturePart::Signed {
            signature: data[header_len + off..].to_vec(),
            payload: data[..header_len + off].to_vec(),
        },
        None => SignaturePart::None,
    };
    Ok(RawTag {
        target,
        name,
        tagger,
        signature,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIGNED: &[u8] = b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor A U Thor <a@example.org> 1700000000 +0000\ncommitter C O Mitter <c@example.org> 1700000100 +0100\ngpgsig -----BEGIN SSH SIGNATURE-----\n U1NIU0lH\n -----END SSH SIGNATURE-----\n\nSubject line\n\nBody\n";

    #[test]
    fn splits_commit_signature_like_git() {
        let c = parse_commit(SIGNED, HashKind::Sha1).expect("parses");
        assert_eq!(c.committer.email, "c@example.org");
        assert_eq!(c.committer.time, 1700000100);
        assert_eq!(c.subject, "Subject line");
        let SignaturePart::Signed { signature, payload } = c.signature else {
            panic!("signed")
        };
        assert_eq!(
            signature,
            b"-----BEGIN SSH SIGNATURE-----\nU1NIU0lH\n-----END SSH SIGNATURE-----\n"
        );
        assert_eq!(
            payload,
            b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor A U Thor <a@example.org> 1700000000 +0000\ncommitter C O Mitter <c@example.org> 1700000100 +0100\n\nSubject line\n\nBody\n".to_vec()
        );
    }

    /// Regression: a `mergetag` header's text lacked the tag's final newline, which gave the
    /// merged tag a wrong id and cut the last newline off its signature block.
    #[test]
    fn mergetags_keep_the_tag_objects_final_newline() {
        let tag = b"object 4b825dc642cb6eb9a060e54bf8d69288fbee4904\ntype commit\ntag v1\ntagger T <t@example.org> 1700000000 +0000\n\nmsg\n-----BEGIN PGP SIGNATURE-----\nfake\n-----END PGP SIGNATURE-----\n";
        let mut commit = b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nparent 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nparent 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor A <a@example.org> 1700000000 +0000\ncommitter A <a@example.org> 1700000000 +0000\nmergetag ".to_vec();
        let text = String::from_utf8_lossy(tag);
        let folded = text.trim_end_matches('\n').replace('\n', "\n ");
        commit.extend_from_slice(folded.as_bytes());
        commit.extend_from_slice(b"\n\nMerge tag v1\n");
        let c = parse_commit(&commit, HashKind::Sha1).expect("parses");
        assert_eq!(c.mergetags, vec![tag.to_vec()]);
    }

    #[test]
    fn co_authors_come_from_every_co_authored_by_line() {
        let c = parse_commit(
            b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor A <a@example.org> 1 +0000\ncommitter A <a@example.org> 1 +0000\n\nFix it\n\nCo-authored-by: Bob B <Bob@Example.org>\nco-authored-by:Carol <carol@example.org>\nCo-authored-by: nobody\n",
            HashKind::Sha1,
        )
        .expect("parses");
        let emails: Vec<&str> = c.co_authors.iter().map(|p| p.email.as_str()).collect();
        assert_eq!(emails, ["Bob@Example.org", "carol@example.org"]);
        assert_eq!(c.co_authors[0].name, "Bob B");
    }

    #[test]
    fn two_signature_headers_are_malformed() {
        let mut data = SIGNED.to_vec();
        let at = data
            .windows(7)
            .position(|w| w == b"gpgsig ")
            .expect("has gpgsig");
        data.splice(at..at, b"gpgsig-sha256 x\n".iter().copied());
        let c = parse_commit(&data, HashKind::Sha1).expect("parses");
        assert!(matches!(c.signature, SignaturePart::Malformed(_)));
    }

    #[test]
    fn splits_tag_signature_at_the_last_marker() {
        let tag = b"object 4b825dc642cb6eb9a060e54bf8d69288fbee4904\ntype commit\ntag v1\ntagger T <t@example.org> 1700000000 +0000\n\nmsg quoting -----BEGIN PGP SIGNATURE----- inline\n-----BEGIN PGP SIGNATURE-----\nfake\n-----END PGP SIGNATURE-----\n";
        let t = parse_tag(tag, HashKind::Sha1).expect("parses");
        assert_eq!(t.name, "v1");
        let SignaturePart::Signed { signature, payload } = t.signature else {
            panic!("signed")
        };
        assert!(signature.starts_with(b"-----BEGIN PGP SIGNATURE-----\nfake"));
        assert!(payload.ends_with(b"inline\n"));
    }
}
