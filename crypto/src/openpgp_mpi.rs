//! Canonical re-encoding of the MPIs in OpenPGP signature packets, so that Sequoia reads what
//! GnuPG reads.
//!
//! An MPI is a two-octet bit count followed by the value, big-endian. RFC 9580 §3.2 says the
//! count is the value's exact bit length and the value has no leading zero octets. Not every
//! signer obeys: GitHub's web-flow signatures, for instance, often declare 2048 bits for a value
//! whose top bit is clear (and some carry a leading zero octet). GnuPG (libgcrypt's
//! `GCRYMPI_FMT_PGP`), rnp and Go's `x/crypto/openpgp` read the octets the count covers and use
//! the value; Sequoia refuses the packet ("Malformed MPI: leading bit is not set").
//!
//! The bit count is not covered by the signature's hash (RFC 9580 §5.2.4 hashes the version,
//! type, algorithms and hashed subpackets, never the MPIs), so rewriting it changes nothing a
//! signature vouches for. What [`normalise`] rewrites, and nothing else:
//!
//! - in a v3 or v4 signature packet made with RSA, DSA, ElGamal, ECDSA or EdDSA (legacy), each
//!   MPI of the signature value: leading zero octets dropped, bit count recomputed from the
//!   value (an under-declared count too: libgcrypt uses every octet it read);
//! - the length of each packet so rewritten (written in the new format).
//!
//! Everything else stays as it is: other packets, the signature type, the algorithms, both
//! subpacket areas and the hash prefix are copied byte for byte, and Sequoia then parses and
//! judges the result with its usual strictness. A packet whose structure does not add up (MPIs
//! that overrun the packet or do not end where it ends, partial lengths, unknown versions or
//! algorithms) is left untouched, for Sequoia to call malformed.

/// Public-key algorithms whose signatures are a fixed number of MPIs (RFC 9580 §9.1).
fn mpi_count(pk_algo: u8) -> Option<usize> {
    match pk_algo {
        // RSA (encrypt or sign), RSA sign-only: m^d mod n.
        1 | 3 => Some(1),
        // DSA, ElGamal (encrypt or sign, deprecated), ECDSA, EdDSA legacy: r and s.
        17 | 20 | 19 | 22 => Some(2),
        _ => None,
    }
}

/// A packet found in the input: its tag and where its body lies.
struct Packet {
    tag: u8,
    header_start: usize,
    body_start: usize,
    body_end: usize,
}

/// Reads the packet header at `at`; `None` for anything this module does not rewrite through
/// (partial or indeterminate lengths, truncation, a byte that is not a packet header).
fn packet_at(data: &[u8], at: usize) -> Option<Packet> {
    let first = *data.get(at)?;
    if first & 0x80 == 0 {
        return None;
    }
    let (tag, body_start, len) = if first & 0x40 != 0 {
        // New format (RFC 9580 §4.2.1).
        let tag = first & 0x3f;
        let l0 = usize::from(*data.get(at + 1)?);
        match l0 {
            0..=191 => (tag, at + 2, l0),
            192..=223 => {
                let l1 = usize::from(*data.get(at + 2)?);
                (tag, at + 3, ((l0 - 192) << 8) + l1 + 192)
            }
            255 => {
                let b = data.get(at + 2..at + 6)?;
                let len = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
                (tag, at + 6, usize::try_from(len).ok()?)
            }
            // Partial body lengths: not used for signature packets.
            _ => return None,
        }
    } else {
        // Old format (RFC 9580 §4.2.2).
        let tag = (first >> 2) & 0x0f;
        match first & 0x03 {
            0 => (tag, at + 2, usize::from(*data.get(at + 1)?)),
            1 => {
                let b = data.get(at + 1..at + 3)?;
                (tag, at + 3, usize::from(u16::from_be_bytes([b[0], b[1]])))
            }
            2 => {
                let b = data.get(at + 1..at + 5)?;
                let len = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
                (tag, at + 5, usize::try_from(len).ok()?)
            }
            // Indeterminate length: the packet runs to the end of the input.
            _ => (tag, at + 1, data.len().checked_sub(at + 1)?),
        }
    };
    let body_end = body_start.checked_add(len)?;
    if body_end > data.len() {
        return None;
    }
    Some(Packet {
        tag,
        header_start: at,
        body_start,
        body_end,
    })
}

/// Where the MPIs of a v3 or v4 signature body start, and the public-key algorithm.
fn mpis_start(body: &[u8]) -> Option<(usize, u8)> {
    match *body.first()? {
        // v3: version, hashed length (must be 5), type, time, issuer, pk algo, hash algo, prefix.
        3 => {
            if *body.get(1)? != 5 {
                return None;
            }
            Some((19, *body.get(15)?))
        }
        // v4: version, type, pk algo, hash algo, hashed area, unhashed area, prefix.
        4 => {
            let pk_algo = *body.get(2)?;
            let hashed = usize::from(u16::from_be_bytes([*body.get(4)?, *body.get(5)?]));
            let at = 6 + hashed;
            let unhashed = usize::from(u16::from_be_bytes([*body.get(at)?, *body.get(at + 1)?]));
            Some((at + 2 + unhashed + 2, pk_algo))
        }
        _ => None,
    }
}

/// The canonical MPIs of a signature body's value part, or `None` when they are canonical
/// already or do not add up.
fn canonical_mpis(mpis: &[u8], count: usize) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(mpis.len());
    let mut at = 0;
    let mut changed = false;
    for _ in 0..count {
        let declared = u16::from_be_bytes([*mpis.get(at)?, *mpis.get(at + 1)?]);
        let octets = usize::from(declared).div_ceil(8);
        let value = mpis.get(at + 2..at + 2 + octets)?;
        at += 2 + octets;
        let zeros = value.iter().take_while(|&&b| b == 0).count();
        let value = &value[zeros..];
        let bits = match value.first() {
            // The top octet's leading zero bits are not part of the length.
            Some(&top) => value.len() * 8 - top.leading_zeros() as usize,
            None => 0,
        };
        // At most 65535 bits: fewer octets than were read, so this always fits.
        let bits = u16::try_from(bits).ok()?;
        changed |= bits != declared;
        out.extend_from_slice(&bits.to_be_bytes());
        out.extend_from_slice(value);
    }
    // The MPIs must be the whole rest of the packet, as Sequoia requires too.
    if at != mpis.len() || !changed {
        return None;
    }
    Some(out)
}

/// Appends a new-format header for a packet with `tag` and a body of `len` octets.
fn push_header(out: &mut Vec<u8>, tag: u8, len: usize) {
    out.push(0xc0 | tag);
    if len < 192 {
        out.push(len as u8);
    } else if len < 8384 {
        let l = len - 192;
        out.push(((l >> 8) as u8) + 192);
        out.push((l & 0xff) as u8);
    } else {
        out.push(0xff);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    }
}

/// The same packets with every signature packet's MPIs canonically encoded; `None` when there
/// is nothing to change (the common case: no copy is made).
pub(crate) fn normalise(data: &[u8]) -> Option<Vec<u8>> {
    let mut out: Option<Vec<u8>> = None;
    // End of the input already copied to `out`.
    let mut copied = 0;
    let mut at = 0;
    while at < data.len() {
        // Past a packet this module cannot read, Sequoia reads on its own.
        let Some(p) = packet_at(data, at) else {
            break;
        };
        at = p.body_end;
        if p.tag != 2 {
            continue;
        }
        let body = &data[p.body_start..p.body_end];
        let Some((start, pk_algo)) = mpis_start(body) else {
            continue;
        };
        let (Some(count), Some(fixed)) = (mpi_count(pk_algo), body.get(start..)) else {
            continue;
        };
        let Some(mpis) = canonical_mpis(fixed, count) else {
            continue;
        };
        let buf = out.get_or_insert_with(|| Vec::with_capacity(data.len()));
        buf.extend_from_slice(&data[copied..p.header_start]);
        push_header(buf, 2, start + mpis.len());
        buf.extend_from_slice(&body[..start]);
        buf.extend_from_slice(&mpis);
        copied = p.body_end;
    }
    let mut buf = out?;
    buf.extend_from_slice(&data[copied..]);
    Some(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A v4 RSA signature body with the given MPI octets (empty subpacket areas).
    fn v4_rsa(mpi: &[u8]) -> Vec<u8> {
        let mut body = vec![4, 0x00, 1, 8, 0, 0, 0, 0, 0xab, 0xcd];
        body.extend_from_slice(mpi);
        let mut packet = Vec::new();
        push_header(&mut packet, 2, body.len());
        packet.extend_from_slice(&body);
        packet
    }

    #[test]
    fn canonical_input_is_not_copied() {
        assert_eq!(normalise(&v4_rsa(&[0, 9, 0x01, 0xff])), None);
        assert_eq!(normalise(&v4_rsa(&[0, 0])), None);
        assert_eq!(normalise(b""), None);
    }

    #[test]
    fn leading_zeros_and_inflated_counts_are_recomputed() {
        // Declared 16 bits over 0x00 0x7f: 7 bits, one octet.
        assert_eq!(
            normalise(&v4_rsa(&[0, 16, 0x00, 0x7f])),
            Some(v4_rsa(&[0, 7, 0x7f]))
        );
        // Declared 8 bits over 0x3f: 6 bits.
        assert_eq!(
            normalise(&v4_rsa(&[0, 8, 0x3f])),
            Some(v4_rsa(&[0, 6, 0x3f]))
        );
        // Under-declared: 2 bits over 0x3f (libgcrypt uses the whole octet).
        assert_eq!(
            normalise(&v4_rsa(&[0, 2, 0x3f])),
            Some(v4_rsa(&[0, 6, 0x3f]))
        );
        // All zero.
        assert_eq!(normalise(&v4_rsa(&[0, 8, 0x00])), Some(v4_rsa(&[0, 0])));
    }

    #[test]
    fn packets_around_are_kept_and_lengths_rewritten() {
        let mut value = vec![0x00];
        value.extend(std::iter::repeat_n(0x55, 300));
        let mut mpi = (301u16 * 8).to_be_bytes().to_vec();
        mpi.extend_from_slice(&value);
        let marker = [0xca, 0x03, b'P', b'G', b'P'];
        let mut input = marker.to_vec();
        input.extend(v4_rsa(&mpi));
        input.extend(marker);
        let mut fixed = (300u16 * 8 - 1).to_be_bytes().to_vec();
        fixed.extend(std::iter::repeat_n(0x55, 300));
        let mut expected = marker.to_vec();
        expected.extend(v4_rsa(&fixed));
        expected.extend(marker);
        assert_eq!(normalise(&input), Some(expected));
    }

    #[test]
    fn structures_that_do_not_add_up_are_left_alone() {
        // The MPI overruns the packet.
        assert_eq!(normalise(&v4_rsa(&[0, 24, 0x00, 0x7f])), None);
        // Octets after the MPI.
        assert_eq!(normalise(&v4_rsa(&[0, 16, 0x00, 0x7f, 0x01])), None);
        // An unknown public-key algorithm.
        let mut p = v4_rsa(&[0, 16, 0x00, 0x7f]);
        p[4] = 99;
        assert_eq!(normalise(&p), None);
        // Truncated header.
        assert_eq!(normalise(&[0xc2]), None);
        assert_eq!(normalise(&[0xc2, 0xff, 0, 0]), None);
        // Not a packet.
        assert_eq!(normalise(&[0x02, 0x00]), None);
    }

    #[test]
    fn old_format_headers_are_read() {
        let new = v4_rsa(&[0, 16, 0x00, 0x7f]);
        let body = &new[2..];
        let mut old = vec![0x88, body.len() as u8];
        old.extend_from_slice(body);
        assert_eq!(normalise(&old), Some(v4_rsa(&[0, 7, 0x7f])));
        let mut old2 = vec![0x89, 0, body.len() as u8];
        old2.extend_from_slice(body);
        assert_eq!(normalise(&old2), Some(v4_rsa(&[0, 7, 0x7f])));
    }
}
