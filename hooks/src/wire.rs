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
    let mut body = vec![0u8; len];
    r.read_exact(&mut body)?;
    Ok(body)
}
