//! Revocation inputs: OpenSSH KRLs and key lists, X.509 CRLs.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut keyring = crypto::Keyring::new();
    let _ = keyring.add_ssh_revocations("fuzz", data);
    let _ = keyring.add_x509_crls("fuzz", data);
});
