//! git's allowed_signers format (principals, options, keys).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let mut keyring = crypto::Keyring::new();
        let _ = keyring.add_allowed_signers(text, |p| Some(p.to_string()));
    }
});
