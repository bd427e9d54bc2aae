//! The YAML policy parser and validator: any text gives a policy or a located error.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Err(e) = rules::Policy::from_yaml(text) {
            // Errors point into the text.
            assert!(e.at.line >= 1, "{e:?}");
        }
    }
});
