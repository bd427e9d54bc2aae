//! pushguard's policy engine: a calculator. A validated [`Policy`] and a [`Change`] (facts the
//! front door gathered: ref updates, commits with already-verified signatures, the pusher, the
//! receive time) go in; a typed [`Report`] comes out. No files, network, clock, git or crypto
//! here, so every rule is testable with hand-built facts.
//!
//! ```
//! use rules::{evaluate, render, Change, Policy, RefUpdate};
//!
//! let policy = Policy::default_policy();
//! let change = Change {
//!     repo: "demo.git".into(),
//!     default_branch: Some("main".into()),
//!     updates: vec![RefUpdate {
//!         name: "refs/heads/main".into(),
//!         old: Some("1111111111111111111111111111111111111111".into()),
//!         new: Some("2222222222222222222222222222222222222222".into()),
//!         fast_forward: false, // a force-push
//!         ..RefUpdate::default()
//!     }],
//!     ..Change::default()
//! };
//! let report = evaluate(&policy, &change);
//! assert!(!report.allowed);
//! assert_eq!(report.violations[0].rule, "non_fast_forward");
//! assert!(render::text(&report).contains("force-push"));
//! ```

pub mod afterwards;
pub mod calendar;
pub mod codeowners;
pub mod engine;
pub mod facts;
pub mod identity;
pub mod policy;
pub mod render;
pub mod report;

pub use engine::evaluate;
pub use facts::{Change, Commit, KeyVerdict, ObjectKind, Person, RefUpdate, SignatureCheck, Tag};
pub use policy::{Policy, PolicyError};
pub use report::{Code, Report, Subject, Violation};
