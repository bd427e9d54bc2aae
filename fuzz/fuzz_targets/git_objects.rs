//! Commit and tag headers, and the splitting of their signatures from the signed payload.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = pushguard::git::parse_commit(data, pushguard::git::HashKind::Sha1);
    let _ = pushguard::git::parse_commit(data, pushguard::git::HashKind::Sha256);
    let _ = pushguard::git::parse_tag(data, pushguard::git::HashKind::Sha1);
    let _ = pushguard::git::parse_tag(data, pushguard::git::HashKind::Sha256);
});
