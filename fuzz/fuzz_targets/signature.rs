//! Signature parsing and verification (OpenPGP, SSHSIG, X.509/CMS, gitsign): the first byte
//! says where the signature ends and the signed payload begins.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn keyring() -> &'static crypto::Keyring {
    static K: OnceLock<crypto::Keyring> = OnceLock::new();
    K.get_or_init(|| {
        let mut k = crypto::Keyring::new();
        k.add_ssh_key(
            "alice",
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl alice@example.org",
        )
        .expect("a valid key");
        k
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&cut, rest)) = data.split_first() else {
        return;
    };
    let cut = (cut as usize * rest.len() / 255).min(rest.len());
    let (sig, payload) = rest.split_at(cut);
    let _ = keyring().verify(sig, payload, 1_700_000_000);
});
