//! The gitleaks TOML importer, and compiling what it accepts.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok((rules, _)) = secrets::RuleSet::from_gitleaks_toml(text, None) {
            let _ = secrets::Scanner::new(&rules);
        }
    }
});
