//! The hook <-> daemon frames and the request and response they carry. The blocking reader and
//! the pure splitter (what the daemon's async reader is built from) must agree on every input,
//! and every frame read must encode back to the bytes it was read from.
#![no_main]
use hooks::wire::{encode_frame, read_frame, split_frame};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut reader = data;
    let mut rest = data;
    loop {
        match (read_frame(&mut reader), split_frame(rest)) {
            (Ok(body), Ok((split, tail))) => {
                assert_eq!(body, split, "the readers disagree on the body");
                let consumed = &rest[..rest.len() - tail.len()];
                let again = encode_frame(&body).expect("a frame read is small enough to write");
                assert_eq!(again, consumed, "a frame does not encode back to its bytes");
                let _ = serde_json::from_slice::<hooks::wire::HookRequest>(&body);
                let _ = serde_json::from_slice::<hooks::wire::HookResponse>(&body);
                rest = tail;
            }
            (Err(a), Err(b)) => {
                assert_eq!(
                    a.to_string(),
                    b.to_string(),
                    "the readers disagree on the error"
                );
                break;
            }
            (a, b) => panic!("the readers disagree: {a:?} / {b:?}"),
        }
    }
});
