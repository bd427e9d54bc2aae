//! RFC 3161 timestamps on gitsign signatures (`GITSIGN_TIMESTAMP_SERVER_URL`), verified offline.
//!
//! gitsign asks a timestamp authority to sign a hash of the CMS signature value and keeps the
//! answer, a `TimeStampToken` (a CMS SignedData whose content is a `TSTInfo`), as the unsigned
//! attribute id-aa-timeStampToken (1.2.840.113549.1.9.16.2.14) of its SignerInfo. A token
//! establishes the signing time when:
//! 1. its CMS signature verifies (the content is the `TSTInfo` as signed);
//! 2. its `messageImprint` is the hash (SHA-256/384/512) of this signature's value, so it
//!    cannot be moved to another signature;
//! 3. the certificate that signed it chains to one of the policy's TSA roots at `genTime`, with
//!    extendedKeyUsage timeStamping (OpenSSL's timestamp-signing purpose: critical, only that
//!    usage), as RFC 3161 requires of a TSA.
//!
//! The time is then `genTime`.

use openssl::cms::{CMSOptions, CmsContentInfo};
use openssl::hash::{hash, MessageDigest};
use openssl::pkcs7::Pkcs7;
use openssl::stack::Stack;
use openssl::x509::store::X509StoreBuilder;
use openssl::x509::verify::{X509VerifyFlags, X509VerifyParam};
use openssl::x509::{X509PurposeId, X509StoreContext, X509};

use crate::der::{children, oid, read, Tlv, GENERALIZED_TIME, OCTET_STRING, OID};
use crate::x509::{fingerprint, name_of};

/// The unsigned attribute holding the token.
pub(crate) const TIMESTAMP_TOKEN_ATTRIBUTE: &[u64] = &[1, 2, 840, 113549, 1, 9, 16, 2, 14];

const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;

/// Why a token does not establish a time.
pub(crate) enum Failure {
    /// Not chained to a TSA root of the policy (a policy matter, like an unknown key).
    UnknownTsa(String),
    /// The token is for something else, or its signature does not verify.
    Bad(String),
    /// Not a token.
    Malformed(String),
}

/// A verified timestamp: `genTime` and who vouched for it, for messages.
pub(crate) struct Timestamp {
    pub time: i64,
    pub source: String,
}

/// The parts of a `TSTInfo` that matter here.
struct TstInfo {
    imprint_algorithm: Vec<u8>,
    imprint: Vec<u8>,
    serial: String,
    gen_time: i64,
}

fn parse_tst_info(der: &[u8]) -> Option<TstInfo> {
    let (tst, _) = read(der)?;
    if tst.tag != SEQUENCE {
        return None;
    }
    let fields = children(tst.content)?;
    // version, policy, messageImprint, serialNumber, genTime, ...
    let [version, policy, imprint, serial, gen_time, ..] = fields.as_slice() else {
        return None;
    };
    if version.tag != INTEGER || policy.tag != OID || serial.tag != INTEGER {
        return None;
    }
    let imprint = children(imprint.content)?;
    let [algorithm, hashed] = imprint.as_slice() else {
        return None;
    };
    let algorithm = *children(algorithm.content)?.first()?;
    if algorithm.tag != OID || hashed.tag != OCTET_STRING {
        return None;
    }
    Some(TstInfo {
        imprint_algorithm: algorithm.content.to_vec(),
        imprint: hashed.content.to_vec(),
        serial: serial.content.iter().map(|b| format!("{b:02x}")).collect(),
        gen_time: generalized_time(*gen_time)?,
    })
}

/// `YYYYMMDDHHMMSS[.fff]Z` → Unix seconds (fractions dropped).
fn generalized_time(t: Tlv<'_>) -> Option<i64> {
    if t.tag != GENERALIZED_TIME {
        return None;
    }
    let s = std::str::from_utf8(t.content).ok()?.strip_suffix('Z')?;
    let whole = match s.split_once('.') {
        Some((w, frac)) if !frac.is_empty() && frac.bytes().all(|b| b.is_ascii_digit()) => w,
        Some(_) => return None,
        None => s,
    };
    if whole.len() != 14 {
        return None;
    }
    rules::calendar::parse_openssh_time(whole).map(|(secs, _)| secs)
}

/// Verifies `token` (DER `TimeStampToken`) for the CMS signature value `signature` against the
/// TSA `roots`.
pub(crate) fn verify(token: &[u8], signature: &[u8], roots: &[X509]) -> Result<Timestamp, Failure> {
    let malformed = |why: String| Failure::Malformed(format!("timestamp token: {why}"));
    let mut cms = CmsContentInfo::from_der(token).map_err(|e| malformed(e.to_string()))?;
    // The certificates the token carries (the TSA's, and maybe intermediates).
    let p7 = Pkcs7::from_der(token).map_err(|e| malformed(e.to_string()))?;
    let mut certs = Stack::new().map_err(|e| malformed(e.to_string()))?;
    if let Some(list) = p7.signed().and_then(|s| s.certificates()) {
        for c in list {
            certs
                .push(c.to_owned())
                .map_err(|e| malformed(e.to_string()))?;
        }
    }
    // 1. The signature over the TSTInfo, finding the signer among those certificates; the
    //    chain is checked below, at genTime, for the timestamping purpose.
    let mut content = Vec::new();
    let mut signer = None;
    for cert in &certs {
        let mut only = Stack::new().map_err(|e| malformed(e.to_string()))?;
        only.push(cert.to_owned())
            .map_err(|e| malformed(e.to_string()))?;
        if cms
            .verify(
                Some(&only),
                None,
                None,
                Some(&mut content),
                CMSOptions::NO_SIGNER_CERT_VERIFY | CMSOptions::NOINTERN,
            )
            .is_ok()
        {
            signer = Some(cert.to_owned());
            break;
        }
    }
    let Some(signer) = signer else {
        return Err(Failure::Bad(
            "the timestamp token's signature does not verify with a certificate it carries".into(),
        ));
    };
    let info = parse_tst_info(&content).ok_or_else(|| malformed("unreadable TSTInfo".into()))?;
    // 2. It is a timestamp of this signature.
    let digest = [
        (
            &[2, 16, 840, 1, 101, 3, 4, 2, 1][..],
            MessageDigest::sha256(),
        ),
        (
            &[2, 16, 840, 1, 101, 3, 4, 2, 2][..],
            MessageDigest::sha384(),
        ),
        (
            &[2, 16, 840, 1, 101, 3, 4, 2, 3][..],
            MessageDigest::sha512(),
        ),
    ]
    .into_iter()
    .find(|(o, _)| oid(o) == info.imprint_algorithm)
    .map(|(_, d)| d)
    .ok_or_else(|| {
        Failure::Bad("the timestamp's message imprint uses a hash other than SHA-2".into())
    })?;
    let expected = hash(digest, signature).map_err(|e| malformed(e.to_string()))?;
    if expected[..] != info.imprint[..] {
        return Err(Failure::Bad(
            "the timestamp token is for another signature (its message imprint is not the hash of this signature value)"
                .into(),
        ));
    }
    // 3. The TSA's certificate, at genTime, for timestamping.
    let tsa = format!(
        "TSA {} ({})",
        name_of(signer.subject_name()),
        fingerprint(&signer)
    );
    let chained = (|| {
        let mut b = X509StoreBuilder::new()?;
        for r in roots {
            b.add_cert(r.clone())?;
        }
        let mut p = X509VerifyParam::new()?;
        p.set_time(info.gen_time);
        p.set_flags(X509VerifyFlags::PARTIAL_CHAIN)?;
        p.set_purpose(X509PurposeId::TIMESTAMP_SIGN)?;
        b.set_param(&p)?;
        let store = b.build();
        let mut ctx = X509StoreContext::new()?;
        ctx.init(&store, &signer, &certs, |c| {
            Ok(if c.verify_cert()? {
                None
            } else {
                Some(c.error().error_string().to_owned())
            })
        })
    })();
    match chained {
        Ok(None) => Ok(Timestamp {
            time: info.gen_time,
            source: format!("RFC 3161 timestamp {} by {tsa}", info.serial),
        }),
        Ok(Some(why)) => Err(Failure::UnknownTsa(format!(
            "the timestamp's {tsa} is not a timestamping authority of the policy at {}: {why}",
            rules::calendar::format_date(info.gen_time)
        ))),
        Err(e) => Err(malformed(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generalized_times_with_and_without_fractions() {
        let t = |s: &str| {
            generalized_time(Tlv {
                tag: GENERALIZED_TIME,
                content: s.as_bytes(),
            })
        };
        assert_eq!(t("20230605161119Z"), Some(1_685_981_479));
        assert_eq!(t("20230605161119.123Z"), Some(1_685_981_479));
        assert_eq!(t("20230605161119.Z"), None);
        assert_eq!(t("20230605161119"), None);
        assert_eq!(t("230605161119Z"), None);
    }

    #[test]
    fn garbage_tokens_are_malformed() {
        for token in [&b""[..], b"\x30\x03\x02\x01\x01", &[0xff; 40]] {
            assert!(matches!(
                verify(token, b"sig", &[]),
                Err(Failure::Malformed(_))
            ));
        }
    }
}
