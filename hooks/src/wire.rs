//! The hook ⇄ daemon protocol: one request, one response, each a frame of a 4-byte big-endian
//! length followed by that many bytes of JSON. Versioned; the daemon refuses versions it does not
//! speak (and the hook then fails closed).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::{self, Read, Write};

/// Protocol version spoken by this build.
pub const PROTOCOL_VERSION: u32 = 1;

/// Largest frame either side accepts (a push with many thousands of refs still fits).
pub const MAX_FRAME: usize = 16 << 20;

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
    /// Set when the daemon could not decide; the hook then applies its on-error setting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Write one frame.
pub fn write_frame(w: &mut impl Write, body: &[u8]) -> io::Result<()> {
    let len = u32::try_from(body.len())
        .ok()
        .filter(|l| (*l as usize) <= MAX_FRAME)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "frame too large"))?;
    w.write_all(&len.to_be_bytes())?;
    w.write_all(body)?;
    w.flush()
}

/// Read one frame.
pub fn read_frame(r: &mut impl Read) -> io::Result<Vec<u8>> {
    let mut len = [0u8; 4];
    r.read_exact(&mut len)?;
    let len = u32::from_be_bytes(len) as usize;
    if len > MAX_FRAME {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("frame of {len} bytes is larger than the limit of {MAX_FRAME}"),
        ));
    }
    // Grow with the bytes that arrive, never by the declared length: a peer that announces
    // 16 MiB and sends nothing must not cost 16 MiB.
    let mut body = Vec::new();
    r.take(len as u64).read_to_end(&mut body)?;
    if body.len() != len {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!("frame ended after {} of its {len} bytes", body.len()),
        ));
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip() {
        let mut buf = Vec::new();
        write_frame(&mut buf, b"{\"a\":1}").expect("write");
        write_frame(&mut buf, b"").expect("write");
        let mut r = buf.as_slice();
        assert_eq!(read_frame(&mut r).expect("first"), b"{\"a\":1}");
        assert_eq!(read_frame(&mut r).expect("second"), b"");
        assert!(read_frame(&mut r).is_err());
    }

    /// A frame that announces more than it holds is an error, and the reader holds only what
    /// arrived (found by fuzzing: it reserved the announced length first).
    #[test]
    fn a_truncated_frame_is_an_error_not_a_reservation() {
        let mut frame = (MAX_FRAME as u32).to_be_bytes().to_vec();
        frame.extend_from_slice(b"{\"vers");
        let e = read_frame(&mut frame.as_slice()).expect_err("truncated");
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
        assert!(e.to_string().contains("after 6 of its"), "{e}");
        let mut over = ((MAX_FRAME + 1) as u32).to_be_bytes().to_vec();
        over.push(b'{');
        let e = read_frame(&mut over.as_slice()).expect_err("too large");
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        assert!(write_frame(&mut Vec::new(), &vec![0u8; MAX_FRAME + 1]).is_err());
    }
}
