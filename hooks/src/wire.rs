//! The hook ⇄ daemon protocol: one request, one response, each a frame of a 4-byte big-endian
//! length followed by that many bytes of JSON. Versioned; the daemon refuses versions it does not
//! speak (and the hook then fails closed).
//!
//! This module is the only frame codec: the blocking hook client uses [`write_frame`] and
//! [`read_frame`], the daemon's async server wraps the same pure pieces ([`encode_frame`],
//! [`decode_header`], [`header_ended`], [`check_body`]). Both ends refuse a frame larger than
//! [`MAX_FRAME`], in both directions, before sending it and before reading it.
//!
//! ```
//! use hooks::wire::{encode_frame, split_frame};
//! let frame = encode_frame(br#"{"version":1}"#).expect("small enough");
//! let (body, rest) = split_frame(&frame).expect("one whole frame");
//! assert_eq!(body, br#"{"version":1}"#);
//! assert!(rest.is_empty());
//! ```

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::{self, Read, Write};

/// Protocol version spoken by this build.
pub const PROTOCOL_VERSION: u32 = 1;

/// Largest frame body either side accepts (a push with many thousands of refs still fits).
pub const MAX_FRAME: usize = 16 << 20;

/// Bytes of a frame's header: the body's length, big-endian.
pub const HEADER_LEN: usize = 4;

/// Which hook asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HookKind {
    /// All ref updates of a push at once, objects still in quarantine; one verdict for the push.
    PreReceive,
    /// One ref update of a non-atomic push, objects already migrated; a verdict for that ref.
    Update,
}

/// One `<old> <new> <ref>` line as git gave it (zero ids included).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireUpdate {
    pub old: String,
    pub new: String,
    #[serde(rename = "ref")]
    pub name: String,
}

/// What the hook sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HookRequest {
    pub version: u32,
    pub hook: HookKind,
    /// Absolute path of the repository (`GIT_DIR`).
    pub git_dir: String,
    pub updates: Vec<WireUpdate>,
    /// The environment variables the daemon needs: git's quarantine and push variables and the
    /// ones that name the pusher. See [`crate::env::forwarded`].
    pub env: BTreeMap<String, String>,
}

/// What the daemon answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HookResponse {
    pub version: u32,
    /// The push (or, for the update hook, the ref) may proceed.
    pub allowed: bool,
    /// Text for the pusher (shown as `remote:` lines); may be empty.
    pub message: String,
    /// Set when the daemon could not decide; the hook then rejects the push, whatever its
    /// on-error setting (the push itself may be what made deciding impossible).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Why a frame could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The body is (or is announced to be) larger than [`MAX_FRAME`].
    #[error("frame of {len} bytes is too large: the limit is {MAX_FRAME}")]
    TooLarge { len: u64 },
    /// The peer closed the connection before the first byte of a frame.
    #[error("the connection was closed before a frame began")]
    Closed,
    /// The peer closed the connection inside the header.
    #[error("frame header ended after {got} of its {HEADER_LEN} bytes")]
    TruncatedHeader { got: usize },
    /// The peer closed the connection inside the body.
    #[error("frame ended after {got} of its {len} bytes")]
    Truncated { got: usize, len: usize },
    /// Reading or writing failed (a timeout included).
    #[error(transparent)]
    Io(#[from] io::Error),
}

impl FrameError {
    /// The I/O error underneath, if that is what it was (to tell a timeout from a broken peer).
    pub fn io_kind(&self) -> Option<io::ErrorKind> {
        match self {
            FrameError::Io(e) => Some(e.kind()),
            _ => None,
        }
    }
}

/// The header of a frame whose body is `len` bytes; `TooLarge` past [`MAX_FRAME`].
pub fn encode_header(len: usize) -> Result<[u8; HEADER_LEN], FrameError> {
    u32::try_from(len)
        .ok()
        .filter(|_| len <= MAX_FRAME)
        .map(u32::to_be_bytes)
        .ok_or(FrameError::TooLarge { len: len as u64 })
}

/// The body length a header announces; `TooLarge` past [`MAX_FRAME`] (checked before any of
/// the body is read or any memory is set aside for it).
pub fn decode_header(header: [u8; HEADER_LEN]) -> Result<usize, FrameError> {
    let len = u32::from_be_bytes(header);
    usize::try_from(len)
        .ok()
        .filter(|l| *l <= MAX_FRAME)
        .ok_or(FrameError::TooLarge { len: len.into() })
}

/// A whole frame: header and body.
pub fn encode_frame(body: &[u8]) -> Result<Vec<u8>, FrameError> {
    let header = encode_header(body.len())?;
    let mut frame = Vec::with_capacity(HEADER_LEN + body.len());
    frame.extend_from_slice(&header);
    frame.extend_from_slice(body);
    Ok(frame)
}

/// The error for a connection that ended after `got` bytes of a header: [`FrameError::Closed`]
/// before any byte (a peer that connected and left), else [`FrameError::TruncatedHeader`].
pub fn header_ended(got: usize) -> FrameError {
    if got == 0 {
        FrameError::Closed
    } else {
        FrameError::TruncatedHeader { got }
    }
}

/// Check that the body read is the whole of the `len` bytes its header announced (readers take
/// at most `len` bytes and stop early only at the end of the stream).
pub fn check_body(body: &[u8], len: usize) -> Result<(), FrameError> {
    if body.len() == len {
        Ok(())
    } else {
        Err(FrameError::Truncated {
            got: body.len(),
            len,
        })
    }
}

/// The first frame of `buf`: its body and the bytes after it.
pub fn split_frame(buf: &[u8]) -> Result<(&[u8], &[u8]), FrameError> {
    let Some((header, rest)) = buf.split_first_chunk::<HEADER_LEN>() else {
        return Err(header_ended(buf.len()));
    };
    let len = decode_header(*header)?;
    if rest.len() < len {
        check_body(rest, len)?;
    }
    Ok(rest.split_at(len))
}

/// Write one frame (nothing is written if the body is too large).
pub fn write_frame(w: &mut impl Write, body: &[u8]) -> Result<(), FrameError> {
    let header = encode_header(body.len())?;
    w.write_all(&header)?;
    w.write_all(body)?;
    w.flush()?;
    Ok(())
}

/// Read one frame.
pub fn read_frame(r: &mut impl Read) -> Result<Vec<u8>, FrameError> {
    let mut header = [0u8; HEADER_LEN];
    let mut got = 0;
    while got < HEADER_LEN {
        match r.read(&mut header[got..]) {
            Ok(0) => return Err(header_ended(got)),
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    let len = decode_header(header)?;
    // Grow with the bytes that arrive, never by the declared length: a peer that announces
    // 16 MiB and sends nothing must not cost 16 MiB.
    let mut body = Vec::new();
    r.take(len as u64).read_to_end(&mut body)?;
    check_body(&body, len)?;
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> HookRequest {
        HookRequest {
            version: PROTOCOL_VERSION,
            hook: HookKind::PreReceive,
            git_dir: "/srv/git/a.git".into(),
            updates: vec![WireUpdate {
                old: "0".repeat(40),
                new: "a".repeat(40),
                name: "refs/heads/main".into(),
            }],
            env: [("GIT_QUARANTINE_PATH".to_string(), "/q".to_string())].into(),
        }
    }

    #[test]
    fn frames_round_trip() {
        let mut buf = Vec::new();
        write_frame(&mut buf, b"{\"a\":1}").expect("write");
        write_frame(&mut buf, b"").expect("write");
        assert_eq!(&buf[..HEADER_LEN], &7u32.to_be_bytes());
        let mut r = buf.as_slice();
        assert_eq!(read_frame(&mut r).expect("first"), b"{\"a\":1}");
        assert_eq!(read_frame(&mut r).expect("second"), b"");
        assert!(matches!(read_frame(&mut r), Err(FrameError::Closed)));
        // The pure decoder reads the same bytes the same way.
        let (first, rest) = split_frame(&buf).expect("first");
        assert_eq!(first, b"{\"a\":1}");
        let (second, rest) = split_frame(rest).expect("second");
        assert_eq!((second, rest), (&b""[..], &b""[..]));
        assert_eq!(encode_frame(b"{\"a\":1}").expect("encode"), buf[..11]);
    }

    #[test]
    fn a_request_and_a_response_round_trip_through_a_frame() {
        let mut buf = Vec::new();
        let req = request();
        write_frame(&mut buf, &serde_json::to_vec(&req).expect("json")).expect("write");
        let resp = HookResponse {
            version: PROTOCOL_VERSION,
            allowed: false,
            message: "pushguard: push rejected\n".into(),
            error: None,
        };
        write_frame(&mut buf, &serde_json::to_vec(&resp).expect("json")).expect("write");
        let mut r = buf.as_slice();
        let back: HookRequest =
            serde_json::from_slice(&read_frame(&mut r).expect("frame")).expect("request");
        assert_eq!(back, req);
        let back: HookResponse =
            serde_json::from_slice(&read_frame(&mut r).expect("frame")).expect("response");
        assert_eq!(back, resp);
    }

    /// A frame that announces more than it holds is an error, and the reader holds only what
    /// arrived (found by fuzzing: it reserved the announced length first).
    #[test]
    fn a_truncated_frame_is_an_error_not_a_reservation() {
        let mut frame = (MAX_FRAME as u32).to_be_bytes().to_vec();
        frame.extend_from_slice(b"{\"vers");
        let e = read_frame(&mut frame.as_slice()).expect_err("truncated");
        assert!(
            matches!(
                e,
                FrameError::Truncated {
                    got: 6,
                    len: MAX_FRAME
                }
            ),
            "{e}"
        );
        assert_eq!(
            e.to_string(),
            format!("frame ended after 6 of its {MAX_FRAME} bytes")
        );
        assert!(matches!(
            split_frame(&frame),
            Err(FrameError::Truncated { got: 6, .. })
        ));
        // Inside the header.
        let e = read_frame(&mut &[0u8, 0][..]).expect_err("short header");
        assert_eq!(e.to_string(), "frame header ended after 2 of its 4 bytes");
        assert!(matches!(
            split_frame(&[0, 0, 1]),
            Err(FrameError::TruncatedHeader { got: 3 })
        ));
        assert!(matches!(split_frame(&[]), Err(FrameError::Closed)));
    }

    /// The size check holds on both ends and in both directions: nothing is written for a body
    /// over the limit, and a header announcing one is refused before its body is read.
    #[test]
    fn an_oversized_frame_is_refused_when_written_and_when_read() {
        let mut out = Vec::new();
        let e = write_frame(&mut out, &vec![b' '; MAX_FRAME + 1]).expect_err("too large");
        assert!(matches!(e, FrameError::TooLarge { len } if len == MAX_FRAME as u64 + 1));
        assert!(out.is_empty(), "nothing of it was sent");
        assert!(encode_frame(&vec![0u8; MAX_FRAME + 1]).is_err());
        assert!(
            encode_frame(&vec![0u8; MAX_FRAME]).is_ok(),
            "the limit itself is allowed"
        );
        let mut over = ((MAX_FRAME + 1) as u32).to_be_bytes().to_vec();
        over.push(b'{');
        let e = read_frame(&mut over.as_slice()).expect_err("too large");
        assert_eq!(
            e.to_string(),
            format!(
                "frame of {} bytes is too large: the limit is {MAX_FRAME}",
                MAX_FRAME + 1
            )
        );
        assert!(matches!(
            split_frame(&over),
            Err(FrameError::TooLarge { .. })
        ));
        assert!(matches!(
            decode_header(u32::MAX.to_be_bytes()),
            Err(FrameError::TooLarge { len }) if len == u64::from(u32::MAX)
        ));
        assert_eq!(
            decode_header((MAX_FRAME as u32).to_be_bytes()).expect("limit"),
            MAX_FRAME
        );
    }

    /// Garbage that frames correctly is still not a request or a response.
    #[test]
    fn garbage_in_a_frame_is_not_a_message() {
        let frame = encode_frame(b"garbage").expect("frame");
        let (body, _) = split_frame(&frame).expect("a frame");
        assert!(serde_json::from_slice::<HookRequest>(body).is_err());
        assert!(serde_json::from_slice::<HookResponse>(body).is_err());
        // A response is not a request.
        let resp = serde_json::to_vec(&HookResponse {
            version: 1,
            allowed: true,
            message: String::new(),
            error: None,
        })
        .expect("json");
        assert!(serde_json::from_slice::<HookRequest>(&resp).is_err());
    }
}
