//! Signature parsing and verification (OpenPGP, SSHSIG, X.509/CMS, gitsign). The first byte
//! picks the armor the rest is wrapped in (or none: the raw bytes), so the fuzzer reaches the
//! packet parsers behind each format instead of stopping at the armor line; the second says
//! where the signature ends and the signed payload begins.
#![no_main]
use base64::Engine;
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

fn armored(kind: &str, body: &[u8]) -> Vec<u8> {
    let b64 = base64::engine::general_purpose::STANDARD.encode(body);
    let mut out = format!("-----BEGIN {kind}-----\n\n").into_bytes();
    for line in b64.as_bytes().chunks(64) {
        out.extend_from_slice(line);
        out.push(b'\n');
    }
    out.extend_from_slice(format!("-----END {kind}-----\n").as_bytes());
    out
}

fuzz_target!(|data: &[u8]| {
    let [armor, cut, rest @ ..] = data else {
        return;
    };
    let cut = (*cut as usize * rest.len() / 255).min(rest.len());
    let (sig, payload) = rest.split_at(cut);
    let sig = match armor % 4 {
        0 => sig.to_vec(),
        1 => armored("PGP SIGNATURE", sig),
        2 => armored("SSH SIGNATURE", sig),
        _ => armored("SIGNED MESSAGE", sig),
    };
    let _ = keyring().verify(&sig, payload, 1_700_000_000);
});
