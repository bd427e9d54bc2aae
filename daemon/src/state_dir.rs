//! Where the daemon keeps its state (audit log, records, fingerprint key, socket).

use std::path::PathBuf;

/// Where the daemon keeps its audit log, records and keys unless told otherwise: `/var/lib/pushguard`
/// as root, else `$XDG_STATE_HOME/pushguard` or `~/.local/state/pushguard`.
pub fn default_state_dir() -> PathBuf {
    let root = std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
        .unwrap_or(false);
    if root {
        PathBuf::from("/var/lib/pushguard")
    } else if let Some(d) = std::env::var_os("XDG_STATE_HOME") {
        PathBuf::from(d).join("pushguard")
    } else if let Some(h) = std::env::var_os("HOME") {
        PathBuf::from(h).join(".local/state/pushguard")
    } else {
        PathBuf::from("/tmp/pushguard")
    }
}
