//! Hostile and odd input: no panics, bounded output, thread safety.

use secrets::{RuleSet, Scanner, MAX_FINDINGS_PER_BLOB};

fn assert_send_sync<T: Send + Sync>() {}

#[test]
fn scanner_is_send_and_sync() {
    assert_send_sync::<Scanner>();
    assert_send_sync::<RuleSet>();
}

/// Deterministic pseudo-random blobs built from rule keywords, token fragments, separators,
/// invalid UTF-8 and long lines: the scanner must not panic and must stay bounded.
#[test]
fn keyword_soup_does_not_panic() {
    let scanner = Scanner::new(&RuleSet::builtin()).expect("built-in rules compile");
    let pieces: &[&[u8]] = &[
        b"ghp_",
        b"github_pat_",
        b"AKIA",
        b"-----BEGIN RSA PRIVATE KEY-----",
        b"-----END RSA PRIVATE KEY-----",
        b"password",
        b"api_key",
        b" = ",
        b": ",
        b"\"",
        b"'",
        b"\n",
        b"\r\n",
        b"postgres://u:",
        b"@h",
        b"\xff\xfe",
        b"\xe2\x82",
        b"eyJ",
        b".",
        b"Q~",
        b"xoxb-",
        b"AGE-SECRET-KEY-1",
        b"PuTTY-User-Key-File-3: ",
        b"Private-Lines: 3\n",
        b"\"type\": \"service_account\"",
        b"{",
        b"}",
        b"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        b"0123456789abcdef0123456789abcdef",
        b"glpat-",
        b".01.",
        b"sk-ant-api03-",
        b"\t",
        b" ",
    ];
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for round in 0..300 {
        let mut blob = Vec::new();
        let n = 1 + (next() % 400) as usize;
        for _ in 0..n {
            let p = pieces[(next() % pieces.len() as u64) as usize];
            blob.extend_from_slice(p);
            if next() % 3 == 0 {
                for _ in 0..(next() % 50) {
                    blob.push(
                        b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz+/=_-"
                            [(next() % 66) as usize],
                    );
                }
            }
        }
        let f = scanner.scan(&format!("r{round}/file.txt"), &blob);
        assert!(f.len() <= MAX_FINDINGS_PER_BLOB);
        for finding in &f {
            assert!(
                finding.line >= 1 && finding.end_line >= finding.line,
                "{finding:?}"
            );
            assert!(finding.column >= 1, "{finding:?}");
            assert!(finding.redacted.chars().count() <= 5, "{finding:?}");
        }
    }
}

#[test]
fn one_long_line_and_empty_input() {
    let scanner = Scanner::new(&RuleSet::builtin()).expect("built-in rules compile");
    assert!(scanner.scan("empty", b"").is_empty());
    let long = "password = x".repeat(100_000);
    let _ = scanner.scan("long.txt", long.as_bytes());
    let keys = "key token secret pass ".repeat(50_000);
    assert!(scanner.scan("words.txt", keys.as_bytes()).is_empty());
}

#[test]
fn concurrent_scans_agree() {
    let scanner =
        std::sync::Arc::new(Scanner::new(&RuleSet::builtin()).expect("built-in rules compile"));
    let blob = "db: postgres://app:Zq8vL2mN4pR7tW1x@db.internal/app\n".repeat(50);
    let expected = scanner.scan("a.yml", blob.as_bytes());
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let s = scanner.clone();
            let b = blob.clone();
            std::thread::spawn(move || s.scan("a.yml", b.as_bytes()))
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().expect("scan thread"), expected);
    }
}
