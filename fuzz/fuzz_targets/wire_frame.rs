//! The hook <-> daemon frames and the request and response they carry.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut r = data;
    while let Ok(body) = hooks::wire::read_frame(&mut r) {
        let _ = serde_json::from_slice::<hooks::wire::HookRequest>(&body);
        let _ = serde_json::from_slice::<hooks::wire::HookResponse>(&body);
    }
});
