//! The secret scanner on arbitrary bytes (text decoding included): never panics, and every
//! finding lies inside the blob.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn scanner() -> &'static secrets::Scanner {
    static S: OnceLock<secrets::Scanner> = OnceLock::new();
    S.get_or_init(|| secrets::Scanner::new(&secrets::RuleSet::builtin()).expect("built-in rules"))
}

fuzz_target!(|data: &[u8]| {
    let _ = secrets::text::classify(data);
    let lines = data.iter().filter(|&&b| b == b'\n').count() as u32 + 1;
    for f in scanner().scan("config/settings.env", data) {
        assert!(f.line >= 1 && f.line <= f.end_line, "{f:?}");
        // UTF-16/32 decoding keeps lines: never more lines than newlines in the bytes.
        assert!(f.end_line <= lines, "{f:?}");
    }
    let _ = scanner().scan_path(&String::from_utf8_lossy(data));
});
