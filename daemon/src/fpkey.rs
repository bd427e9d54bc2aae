//! The installation's fingerprint key (`<state-dir>/fingerprint.key`): 32 random bytes that key
//! every secret fingerprint shown to pushers and written to the audit log, so that a short
//! password cannot be found again from its fingerprint by whoever reads a rejection. Servers
//! that must agree on fingerprints (suppressions, bypasses) share the file.

use anyhow::{bail, Context, Result};
use secrets::FingerprintKey;
use std::io::{Read, Write};

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// The key's file name in the state directory.
pub const FILE: &str = "fingerprint.key";

/// Read a key file: exactly 32 bytes, readable and writable by its owner only.
pub fn read(path: &Path) -> Result<FingerprintKey> {
    let mut f = std::fs::File::open(path)
        .with_context(|| format!("cannot read the fingerprint key {}", path.display()))?;
    let mode = f.metadata()?.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        bail!(
            "the fingerprint key {} may be read by others (mode {mode:o}): `chmod 600` it",
            path.display()
        );
    }
    let mut bytes = Vec::with_capacity(FingerprintKey::LEN + 1);
    Read::by_ref(&mut f)
        .take(FingerprintKey::LEN as u64 + 1)
        .read_to_end(&mut bytes)?;
    let key: [u8; FingerprintKey::LEN] = bytes.as_slice().try_into().map_err(|_| {
        anyhow::anyhow!(
            "the fingerprint key {} is not {} bytes: restore it from a backup (or another server), or delete it to start a new one (fingerprints then change)",
            path.display(),
            FingerprintKey::LEN
        )
    })?;
    Ok(FingerprintKey::new(key))
}

/// The key in `state_dir`, made (32 bytes from the kernel's random source, mode 0600) the first
/// time. Two daemons starting at once agree: the file appears whole or not at all.
pub fn load_or_create(state_dir: &Path) -> Result<FingerprintKey> {
    let path = state_dir.join(FILE);
    if path.exists() {
        return read(&path);
    }
    let mut key = [0u8; FingerprintKey::LEN];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut r| r.read_exact(&mut key))
        .context("cannot read random bytes for a new fingerprint key")?;
    // tempfile creates the file with mode 0600.
    let mut tmp = tempfile::NamedTempFile::new_in(state_dir)
        .with_context(|| format!("cannot write in {}", state_dir.display()))?;
    tmp.write_all(&key)?;
    tmp.as_file().sync_all()?;
    match tmp.persist_noclobber(&path) {
        Ok(_) => Ok(FingerprintKey::new(key)),
        // Another process made it first: use theirs.
        Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => read(&path),
        Err(e) => Err(e.error).with_context(|| format!("cannot create {}", path.display())),
    }
}

/// The key a command outside the daemon (`scan`, `check`) uses: the file given, else the
/// default state directory's when it exists, else none (fingerprints are then unkeyed and match
/// no server's).
pub fn for_command(given: Option<&Path>) -> Result<Option<FingerprintKey>> {
    match given {
        Some(p) => read(p).map(Some),
        None => {
            let p = crate::state_dir::default_state_dir().join(FILE);
            if p.exists() {
                read(&p).map(Some)
            } else {
                Ok(None)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_once_then_read_back() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = load_or_create(dir.path()).expect("create");
        let b = load_or_create(dir.path()).expect("read");
        assert_eq!(a, b);
        let meta = std::fs::metadata(dir.path().join(FILE)).expect("file");
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        assert_eq!(meta.len(), 32);
        // A second installation gets another key, and other fingerprints.
        let other = tempfile::tempdir().expect("tempdir");
        let c = load_or_create(other.path()).expect("create");
        assert_ne!(a, c);
        let sha = "0".repeat(64);
        assert_ne!(
            secrets::fingerprint(Some(&a), "github-pat", &sha),
            secrets::fingerprint(Some(&c), "github-pat", &sha)
        );
        assert_ne!(
            secrets::fingerprint(Some(&a), "github-pat", &sha),
            secrets::fingerprint(None, "github-pat", &sha)
        );
    }

    #[test]
    fn readable_by_others_or_truncated_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        load_or_create(dir.path()).expect("create");
        let path = dir.path().join(FILE);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let e = read(&path).expect_err("world-readable");
        assert!(e.to_string().contains("chmod 600"), "{e}");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        std::fs::write(&path, [1u8; 31]).expect("truncate");
        let e = read(&path).expect_err("short");
        assert!(e.to_string().contains("is not 32 bytes"), "{e}");
        std::fs::write(&path, [1u8; 33]).expect("lengthen");
        assert!(read(&path).is_err());
    }

    #[test]
    fn a_key_file_given_is_read_and_a_missing_one_is_an_error_naming_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let made = load_or_create(dir.path()).expect("create");
        let path = dir.path().join(FILE);
        assert_eq!(for_command(Some(&path)).expect("read"), Some(made));
        let missing = dir.path().join("nope.key");
        let e = for_command(Some(&missing)).expect_err("missing");
        assert!(
            e.to_string().starts_with(&format!(
                "cannot read the fingerprint key {}",
                missing.display()
            )),
            "{e}"
        );
    }

    /// A key that exists but is refused is never silently replaced by a new one (fingerprints
    /// would change under every suppression and bypass).
    #[test]
    fn a_refused_key_is_not_replaced() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(FILE);
        std::fs::write(&path, [9u8; 31]).expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        assert!(load_or_create(dir.path()).is_err());
        assert_eq!(std::fs::read(&path).expect("read"), [9u8; 31]);
    }

    #[test]
    fn a_state_dir_that_is_not_there_is_an_error_naming_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let gone = dir.path().join("gone");
        let e = load_or_create(&gone).expect_err("no directory");
        assert_eq!(e.to_string(), format!("cannot write in {}", gone.display()));
        assert!(!gone.exists());
    }

    #[test]
    fn the_key_is_the_files_bytes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(FILE);
        std::fs::write(&path, [5u8; 32]).expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        assert_eq!(read(&path).expect("read"), FingerprintKey::new([5u8; 32]));
    }
}
