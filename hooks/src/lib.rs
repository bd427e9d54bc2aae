//! What git runs. The hook side of pushguard: blocking, tiny, no async runtime. It reads git's
//! ref updates, sends one request to the daemon over a Unix socket with a deadline, prints the
//! verdict for the pusher (git shows stderr as `remote:` lines) and exits 0 (allowed) or 1
//! (rejected). If no verdict can be had, the push is rejected with a reason, unless the
//! repository is explicitly set to fail open (`git config pushguard.onError fail_open`).
//!
//! ```
//! use hooks::client::parse_updates;
//! let zero = "0".repeat(40);
//! let new = "a".repeat(40);
//! let updates = parse_updates(format!("{zero} {new} refs/heads/main\n").as_bytes())
//!     .expect("well-formed lines");
//! assert_eq!(updates[0].name, "refs/heads/main");
//! ```

pub mod audit;
pub mod client;
pub mod env;
pub mod install;
pub mod wire;
