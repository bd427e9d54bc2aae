//! A minimal BER/DER reader: just enough to find a certificate extension by OID and the CMS
//! `signingTime` signed attribute, which the `openssl` crate does not expose. Definite and
//! indefinite lengths (gpgsm writes BER), bounded nesting, never panics.

/// One element: tag byte (class, constructed bit and number < 31) and its contents. For an
/// indefinite-length element, `content` runs up to (not including) the end-of-contents octets.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tlv<'a> {
    pub tag: u8,
    pub content: &'a [u8],
}

const MAX_DEPTH: usize = 32;

pub(crate) const SET: u8 = 0x31;
pub(crate) const OID: u8 = 0x06;
pub(crate) const OCTET_STRING: u8 = 0x04;
pub(crate) const UTF8_STRING: u8 = 0x0c;
pub(crate) const UTC_TIME: u8 = 0x17;
pub(crate) const GENERALIZED_TIME: u8 = 0x18;

/// Reads one element from the front of `b`; returns it and the rest.
pub(crate) fn read(b: &[u8]) -> Option<(Tlv<'_>, &[u8])> {
    read_at(b, 0)
}

fn read_at(b: &[u8], depth: usize) -> Option<(Tlv<'_>, &[u8])> {
    if depth > MAX_DEPTH {
        return None;
    }
    let tag = *b.first()?;
    if tag & 0x1f == 0x1f {
        return None; // high tag numbers: not used by what we read
    }
    let first = *b.get(1)?;
    let rest = b.get(2..)?;
    if first == 0x80 {
        // Indefinite length: constructed only; children until 00 00.
        if tag & 0x20 == 0 {
            return None;
        }
        let mut cursor = rest;
        loop {
            if cursor.starts_with(&[0, 0]) {
                let len = rest.len() - cursor.len();
                return Some((
                    Tlv {
                        tag,
                        content: &rest[..len],
                    },
                    &cursor[2..],
                ));
            }
            let (_, after) = read_at(cursor, depth + 1)?;
            cursor = after;
        }
    }
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n > 4 {
            return None;
        }
        let bytes = rest.get(..n)?;
        let len = bytes
            .iter()
            .fold(0usize, |acc, &x| (acc << 8) | usize::from(x));
        (len, rest.get(n..)?)
    };
    let content = rest.get(..len)?;
    Some((Tlv { tag, content }, rest.get(len..)?))
}

/// All elements inside `content`, in order; `None` if any is unreadable.
pub(crate) fn children(content: &[u8]) -> Option<Vec<Tlv<'_>>> {
    let mut out = Vec::new();
    let mut cursor = content;
    while !cursor.is_empty() {
        let (t, rest) = read(cursor)?;
        out.push(t);
        cursor = rest;
    }
    Some(out)
}

/// DER encoding of an OID's contents from its dotted form (for constants).
pub(crate) fn oid(dotted: &[u64]) -> Vec<u8> {
    let mut out = Vec::new();
    let (Some(&a), Some(&b)) = (dotted.first(), dotted.get(1)) else {
        return out;
    };
    let mut arcs = vec![a * 40 + b];
    arcs.extend_from_slice(dotted.get(2..).unwrap_or(&[]));
    for arc in arcs {
        let mut bytes = vec![u8::try_from(arc & 0x7f).unwrap_or(0)];
        let mut v = arc >> 7;
        while v > 0 {
            bytes.push(u8::try_from(v & 0x7f).unwrap_or(0) | 0x80);
            v >>= 7;
        }
        bytes.reverse();
        out.extend(bytes);
    }
    out
}

/// The `extnValue` contents of the certificate extension `wanted` (OID contents), if present.
pub(crate) fn certificate_extension<'a>(cert_der: &'a [u8], wanted: &[u8]) -> Option<&'a [u8]> {
    let (cert, _) = read(cert_der)?;
    let tbs = *children(cert.content)?.first()?;
    // Extensions are [3] EXPLICIT, the last optional field of TBSCertificate.
    let explicit = children(tbs.content)?.into_iter().find(|t| t.tag == 0xa3)?;
    let (extensions, _) = read(explicit.content)?;
    for ext in children(extensions.content)? {
        let parts = children(ext.content)?;
        let id = parts.first()?;
        if id.tag == OID && id.content == wanted {
            let value = parts.iter().rev().find(|t| t.tag == OCTET_STRING)?;
            return Some(value.content);
        }
    }
    None
}

/// `t` encoded again (definite length; the contents as they were).
pub(crate) fn encode(t: Tlv<'_>) -> Vec<u8> {
    let mut der = vec![t.tag];
    der.extend(length(t.content.len()));
    der.extend_from_slice(t.content);
    der
}

/// The first SignerInfo of a CMS SignedData (ContentInfo → [0] → SignedData → the last SET,
/// `signerInfos`).
fn first_signer_info(cms_der: &[u8]) -> Option<Tlv<'_>> {
    let (content_info, _) = read(cms_der)?;
    let ci = children(content_info.content)?;
    let explicit = ci.get(1).filter(|t| t.tag == 0xa0)?;
    let (signed_data, _) = read(explicit.content)?;
    let signer_infos = children(signed_data.content)?
        .into_iter()
        .rev()
        .find(|t| t.tag == SET)?;
    let signer_info = *children(signer_infos.content)?.first()?;
    Some(signer_info)
}

/// The `signingTime` signed attribute of the (first) signer of a CMS SignedData, as Unix
/// seconds. `None` when absent or unreadable.
pub(crate) fn cms_signing_time(cms_der: &[u8]) -> Option<i64> {
    const SIGNING_TIME: [u8; 9] = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x05];
    let signer_info = first_signer_info(cms_der)?;
    let signed_attrs = children(signer_info.content)?
        .into_iter()
        .find(|t| t.tag == 0xa0)?;
    for attr in children(signed_attrs.content)? {
        let parts = children(attr.content)?;
        if parts
            .first()
            .is_some_and(|t| t.tag == OID && t.content == SIGNING_TIME)
        {
            let values = parts.get(1).filter(|t| t.tag == SET)?;
            let time = *children(values.content)?.first()?;
            return parse_time(time);
        }
    }
    None
}

/// The digest algorithm OID (contents) of the first signer of a CMS SignedData.
pub(crate) fn cms_digest_algorithm(cms_der: &[u8]) -> Option<Vec<u8>> {
    let signer_info = first_signer_info(cms_der)?;
    // version, sid, digestAlgorithm AlgorithmIdentifier { OID, params }.
    let digest = *children(signer_info.content)?.get(2)?;
    let algorithm = *children(digest.content)?.first()?;
    (algorithm.tag == OID).then(|| algorithm.content.to_vec())
}

/// The parts of the (first) SignerInfo of a CMS SignedData that a transparency log or a
/// timestamp authority vouches for.
pub(crate) struct SignerParts<'a> {
    /// The signed attributes as the signature covers them: DER with the `SET OF` tag (RFC 5652
    /// 5.4), re-encoded from the `[0] IMPLICIT` field. `None` when the signer has none.
    pub signed_attrs: Option<Vec<u8>>,
    /// The signature value (contents of the OCTET STRING).
    pub signature: &'a [u8],
    /// Unsigned attributes: OID contents and the elements of their value SET.
    pub unsigned_attrs: Vec<(&'a [u8], Vec<Tlv<'a>>)>,
}

/// The DER length octets for `len`.
pub(crate) fn length(len: usize) -> Vec<u8> {
    if len < 0x80 {
        return vec![u8::try_from(len).unwrap_or(0)];
    }
    let bytes: Vec<u8> = len
        .to_be_bytes()
        .into_iter()
        .skip_while(|&b| b == 0)
        .collect();
    let mut out = vec![0x80 | u8::try_from(bytes.len()).unwrap_or(0)];
    out.extend(bytes);
    out
}

/// Signed attributes, signature and unsigned attributes of the first signer of a CMS
/// SignedData. `None` when the structure is unreadable.
pub(crate) fn cms_signer_parts(cms_der: &[u8]) -> Option<SignerParts<'_>> {
    let signer_info = first_signer_info(cms_der)?;
    let fields = children(signer_info.content)?;
    let signed_attrs = fields.iter().find(|t| t.tag == 0xa0).map(|t| {
        let mut der = vec![SET];
        der.extend(length(t.content.len()));
        der.extend_from_slice(t.content);
        der
    });
    let signature = fields.iter().find(|t| t.tag == OCTET_STRING)?.content;
    let mut unsigned_attrs = Vec::new();
    if let Some(unsigned) = fields.iter().find(|t| t.tag == 0xa1) {
        for attr in children(unsigned.content)? {
            let parts = children(attr.content)?;
            let id = parts.first().filter(|t| t.tag == OID)?;
            let values = parts.get(1).filter(|t| t.tag == SET)?;
            unsigned_attrs.push((id.content, children(values.content)?));
        }
    }
    Some(SignerParts {
        signed_attrs,
        signature,
        unsigned_attrs,
    })
}

/// UTCTime (`YYMMDDHHMMSSZ`) or GeneralizedTime (`YYYYMMDDHHMMSSZ`) → Unix seconds.
fn parse_time(t: Tlv<'_>) -> Option<i64> {
    let s = std::str::from_utf8(t.content).ok()?.strip_suffix('Z')?;
    let full = match (t.tag, s.len()) {
        (UTC_TIME, 12) => {
            let yy: u32 = s.get(..2)?.parse().ok()?;
            let century = if yy >= 50 { "19" } else { "20" };
            format!("{century}{s}")
        }
        (GENERALIZED_TIME, 14) => s.to_owned(),
        _ => return None,
    };
    rules::calendar::parse_openssh_time(&full).map(|(secs, _)| secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oids_encode() {
        assert_eq!(
            oid(&[1, 2, 840, 113549, 1, 9, 5]),
            [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x05]
        );
        assert_eq!(
            oid(&[1, 3, 6, 1, 4, 1, 57264, 1, 8]),
            [0x2b, 6, 1, 4, 1, 0x83, 0xbf, 0x30, 1, 8]
        );
    }

    #[test]
    fn indefinite_lengths_and_garbage() {
        // SEQUENCE (indefinite) { INTEGER 1 } 00 00, then a trailing byte.
        let b = [0x30, 0x80, 0x02, 0x01, 0x01, 0x00, 0x00, 0xff];
        let (t, rest) = read(&b).expect("reads");
        assert_eq!(t.tag, 0x30);
        assert_eq!(t.content, &[0x02, 0x01, 0x01]);
        assert_eq!(rest, &[0xff]);
        for cut in 0..b.len() - 1 {
            let _ = read(&b[..cut]);
        }
        // Deep nesting is refused, not a stack overflow.
        let deep: Vec<u8> = std::iter::repeat_n([0x30u8, 0x80], 10_000)
            .flatten()
            .collect();
        assert!(read(&deep).is_none());
    }

    #[test]
    fn times() {
        let utc = Tlv {
            tag: UTC_TIME,
            content: b"261126233937Z",
        };
        assert_eq!(parse_time(utc), Some(1_795_736_377));
        let gen = Tlv {
            tag: GENERALIZED_TIME,
            content: b"20261126233937Z",
        };
        assert_eq!(parse_time(gen), Some(1_795_736_377));
    }
}
