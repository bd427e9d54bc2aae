//! Approval envelopes (DSSE with an in-toto statement) as pushed to refs/pushguard/approvals/:
//! parsing never panics, and a parsed envelope's statement re-encodes to what parses back.
#![no_main]
use crypto::approval::{verify_approval, Envelope, Statement};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(envelope) = Envelope::parse(data) {
        let _ = envelope.pae();
        if let Ok(statement) = Statement::parse(&envelope.payload) {
            let again = Statement::parse(&statement.to_payload()).expect("a statement re-parses");
            assert_eq!(again, statement);
        }
    }
    // With no keys nothing verifies, whatever the bytes.
    assert!(verify_approval(data, &crypto::Keyring::new(), 1_800_000_000).is_err());
});
