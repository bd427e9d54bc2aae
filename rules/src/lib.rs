//! pushguard's policy engine (work in progress).
pub mod facts;
