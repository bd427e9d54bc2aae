//! `pushguard-hook`: what the installed hook scripts run. The same as `pushguard hook ...`, in a
//! small program that links only the hook client (no git library, crypto, OpenSSL or async
//! runtime), because git starts it on every push: each millisecond of start-up is on the
//! pusher's path (see docs/benchmarks.md).
//!
//! Usage: `pushguard-hook pre-receive` (ref updates on stdin) or
//! `pushguard-hook update REF OLD NEW`. Exit 0 allowed, 1 rejected.

use hooks::wire::HookKind;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let kind = match args.first().map(String::as_str) {
        Some("pre-receive") => HookKind::PreReceive,
        Some("update") => HookKind::Update,
        _ => {
            eprintln!(
                "pushguard: usage: pushguard-hook pre-receive | pushguard-hook update REF OLD NEW"
            );
            eprintln!("pushguard: push rejected: the hook was called wrongly; please contact your git administrator.");
            return ExitCode::from(1);
        }
    };
    let stdin = std::io::stdin().lock();
    let mut stderr = std::io::stderr().lock();
    let code = hooks::client::run(kind, &args[1..], stdin, &mut stderr);
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}
