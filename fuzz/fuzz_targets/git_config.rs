//! The hook's reader of the repository's git config (it runs on every push).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let entries = hooks::env::parse_git_config(text);
        let _ = hooks::env::HookConfig::from_entries(&entries);
    }
});
