//! The daemon side of pushguard as a library: everything with I/O (git, keys, sockets, the
//! audit log, records) that the `pushguard` binary drives. A library so that its modules carry
//! unit tests and fuzz targets of their own; the binary in `main.rs` is only the CLI.

pub mod approve;
pub mod audit;
pub mod budget;
pub mod bundle;
pub mod collect;
pub mod doctor;
pub mod fpkey;
pub mod git;
pub mod history;
pub mod records;
pub mod scan;
pub mod scan_cmd;
pub mod server;
pub mod state_dir;
pub mod verify;
