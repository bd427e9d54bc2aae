//! What a blob's bytes are, before any rule looks at them: UTF-8 (or ASCII) text is scanned as
//! it is; UTF-16 and UTF-32 text (with a byte-order mark, or recognisable by its zero bytes) is
//! decoded to UTF-8 first, so a token saved by a Windows editor is not waved through as
//! "binary"; anything else is [`NotText`], with the reason a pusher can be told.
//!
//! Decoding keeps the file's lines: the decoded text has the same newlines, so a finding's line
//! (and its column, counted in characters) is the line in the file as the author sees it.

use std::borrow::Cow;

/// How many leading bytes decide text from binary (git's own heuristic looks at 8000).
pub const SNIFF_LEN: usize = 8192;

/// Why a blob's content is not read as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotText {
    /// A NUL byte in the first [`SNIFF_LEN`] bytes and no text encoding explains it.
    Binary,
    /// A compressed file or archive (its format named): its members are not unpacked.
    Compressed(&'static str),
    /// A Git LFS pointer: the file's content lives on the LFS server, not in git.
    LfsPointer,
}

impl NotText {
    /// The reason as shown to a pusher.
    pub fn reason(self) -> String {
        match self {
            NotText::Binary => format!("binary (a NUL byte in its first {SNIFF_LEN} bytes)"),
            NotText::Compressed(kind) => {
                format!("compressed ({kind}): its content is not unpacked")
            }
            NotText::LfsPointer => {
                "a Git LFS pointer: the file's content is on the LFS server, which is not read"
                    .to_string()
            }
        }
    }
}

/// The text encoding a blob was read in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Utf16Le,
    Utf16Be,
    Utf32Le,
    Utf32Be,
}

/// A blob's bytes as UTF-8 text to scan, or why they are not text. UTF-8 input is borrowed,
/// never copied. An LFS pointer is text, but is reported by [`classify`] as not scanned content.
pub fn decode(data: &[u8]) -> Result<(Cow<'_, [u8]>, Encoding), NotText> {
    let head = &data[..data.len().min(SNIFF_LEN)];
    if let Some((enc, skip)) = bom(data) {
        return match enc {
            Encoding::Utf8 => Ok((Cow::Borrowed(&data[skip..]), Encoding::Utf8)),
            _ => wide(&data[skip..], enc)
                .map(|t| (Cow::Owned(t), enc))
                .ok_or(NotText::Binary),
        };
    }
    if memchr::memchr(0, head).is_none() {
        return Ok((Cow::Borrowed(data), Encoding::Utf8));
    }
    if let Some(enc) = sniff_wide(head) {
        if let Some(t) = wide(data, enc) {
            return Ok((Cow::Owned(t), enc));
        }
    }
    Err(compressed(data).map_or(NotText::Binary, NotText::Compressed))
}

/// Whether a blob's content can be scanned, and if not why: like [`decode`], and an LFS pointer
/// is [`NotText::LfsPointer`].
pub fn classify(data: &[u8]) -> Result<Encoding, NotText> {
    if is_lfs_pointer(data) {
        return Err(NotText::LfsPointer);
    }
    decode(data).map(|(_, enc)| enc)
}

/// A Git LFS pointer file (git-lfs spec v1): small, starting with its version line.
pub fn is_lfs_pointer(data: &[u8]) -> bool {
    data.len() < 1024 && data.starts_with(b"version https://git-lfs.github.com/spec/v1\n")
}

fn bom(data: &[u8]) -> Option<(Encoding, usize)> {
    // UTF-32 first: its little-endian mark begins with UTF-16's.
    if data.starts_with(&[0xFF, 0xFE, 0, 0]) {
        Some((Encoding::Utf32Le, 4))
    } else if data.starts_with(&[0, 0, 0xFE, 0xFF]) {
        Some((Encoding::Utf32Be, 4))
    } else if data.starts_with(&[0xFF, 0xFE]) {
        Some((Encoding::Utf16Le, 2))
    } else if data.starts_with(&[0xFE, 0xFF]) {
        Some((Encoding::Utf16Be, 2))
    } else if data.starts_with(&[0xEF, 0xBB, 0xBF]) {
        Some((Encoding::Utf8, 3))
    } else {
        None
    }
}

/// UTF-16/32 without a mark, recognised as Windows tools write it: nearly every code unit of
/// the head is an ASCII character with zero high bytes.
fn sniff_wide(head: &[u8]) -> Option<Encoding> {
    for (enc, unit) in [
        (Encoding::Utf32Le, 4),
        (Encoding::Utf32Be, 4),
        (Encoding::Utf16Le, 2),
        (Encoding::Utf16Be, 2),
    ] {
        let units = head.len() / unit;
        if units < 4 {
            continue;
        }
        let ascii = head
            .chunks_exact(unit)
            .filter(|c| {
                let (ch, zeros) = match enc {
                    Encoding::Utf16Le | Encoding::Utf32Le => (c[0], &c[1..]),
                    _ => (c[unit - 1], &c[..unit - 1]),
                };
                ch != 0 && ch < 0x80 && zeros.iter().all(|&b| b == 0)
            })
            .count();
        // 95 %: non-ASCII characters are allowed, a mostly-zero binary header is not.
        if ascii * 20 >= units * 19 {
            return Some(enc);
        }
    }
    None
}

/// Decode UTF-16/32 to UTF-8. `None` when it is not such text after all: a NUL character, or
/// more than 1 % of code units that are not valid characters.
fn wide(data: &[u8], enc: Encoding) -> Option<Vec<u8>> {
    let mut out = String::with_capacity(data.len() / 2 + 4);
    let mut bad = 0usize;
    let mut total = 0usize;
    let mut push = |c: Option<char>| -> bool {
        total += 1;
        match c {
            Some('\0') => false,
            Some(c) => {
                out.push(c);
                true
            }
            None => {
                bad += 1;
                out.push(char::REPLACEMENT_CHARACTER);
                true
            }
        }
    };
    match enc {
        Encoding::Utf16Le | Encoding::Utf16Be => {
            let units = data.chunks_exact(2).map(|c| match enc {
                Encoding::Utf16Le => u16::from_le_bytes([c[0], c[1]]),
                _ => u16::from_be_bytes([c[0], c[1]]),
            });
            for c in char::decode_utf16(units) {
                if !push(c.ok()) {
                    return None;
                }
            }
        }
        Encoding::Utf32Le | Encoding::Utf32Be => {
            for c in data.chunks_exact(4) {
                let c = [c[0], c[1], c[2], c[3]];
                let v = match enc {
                    Encoding::Utf32Le => u32::from_le_bytes(c),
                    _ => u32::from_be_bytes(c),
                };
                if !push(char::from_u32(v)) {
                    return None;
                }
            }
        }
        Encoding::Utf8 => return Some(data.to_vec()),
    }
    (bad * 100 <= total).then(|| out.into_bytes())
}

fn compressed(data: &[u8]) -> Option<&'static str> {
    const MAGIC: [(&[u8], &str); 6] = [
        (&[0x1F, 0x8B], "gzip"),
        (b"PK\x03\x04", "zip"),
        (b"BZh", "bzip2"),
        (&[0xFD, b'7', b'z', b'X', b'Z', 0], "xz"),
        (&[0x28, 0xB5, 0x2F, 0xFD], "zstd"),
        (&[b'7', b'z', 0xBC, 0xAF, 0x27, 0x1C], "7-zip"),
    ];
    MAGIC
        .iter()
        .find(|(m, _)| data.starts_with(m))
        .map(|(_, kind)| *kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16le(s: &str, bom: bool) -> Vec<u8> {
        let mut v = if bom { vec![0xFF, 0xFE] } else { Vec::new() };
        v.extend(s.encode_utf16().flat_map(|u| u.to_le_bytes()));
        v
    }

    #[test]
    fn utf8_is_borrowed() {
        let (t, enc) = decode(b"token = abc\n").expect("text");
        assert!(matches!(t, Cow::Borrowed(_)));
        assert_eq!(enc, Encoding::Utf8);
    }

    #[test]
    fn utf16_with_and_without_a_mark_decodes_to_the_same_lines() {
        let text = "first line\nkey = \"ghp_x\" é\n";
        for bom in [true, false] {
            let bytes = utf16le(text, bom);
            let (t, enc) = decode(&bytes).expect("utf-16");
            assert_eq!(enc, Encoding::Utf16Le);
            assert_eq!(&*t, text.as_bytes());
        }
        let be: Vec<u8> = [0xFE, 0xFF]
            .into_iter()
            .chain(text.encode_utf16().flat_map(|u| u.to_be_bytes()))
            .collect();
        assert_eq!(&*decode(&be).expect("utf-16be").0, text.as_bytes());
    }

    #[test]
    fn utf32_with_a_mark_decodes() {
        let text = "a = b\n";
        let le: Vec<u8> = [0xFF, 0xFE, 0, 0]
            .into_iter()
            .chain(text.chars().flat_map(|c| (c as u32).to_le_bytes()))
            .collect();
        let (t, enc) = decode(&le).expect("utf-32");
        assert_eq!((&*t, enc), (text.as_bytes(), Encoding::Utf32Le));
    }

    #[test]
    fn binary_and_compressed_are_not_text() {
        assert_eq!(
            decode(b"\x7fELF\x02\x01\x01\0\0\0\0\0"),
            Err(NotText::Binary)
        );
        assert_eq!(
            decode(b"\x1f\x8b\x08\0\0\0\0\0\0\x03"),
            Err(NotText::Compressed("gzip"))
        );
        // Zero high bytes but a NUL character: not text.
        assert_eq!(
            decode(&utf16le("ab\0cd\0ef\0gh", false)),
            Err(NotText::Binary)
        );
        assert!(NotText::Compressed("zip").reason().contains("zip"));
    }

    #[test]
    fn lfs_pointers_are_told_apart() {
        let p = b"version https://git-lfs.github.com/spec/v1\noid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\nsize 12345\n";
        assert_eq!(classify(p), Err(NotText::LfsPointer));
        assert_eq!(classify(b"plain\n"), Ok(Encoding::Utf8));
    }
}
