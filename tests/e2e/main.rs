//! End-to-end tests: real bare repositories, pushguard's hooks installed by a real
//! `pushguard serve`, real `git push` from clients whose commits are signed with keys generated
//! for the test (fixtures-repos/keys.sh). Nothing is faked.

mod harness;

/// Full attestation of merges, evil merges, mergetags, identity binding, signed pushes.
mod attestation;
/// The attacks an outside review reproduced against the gate (issue 10), each performed through
/// a real push and named for what it tries.
mod bypasses;
/// `pushguard check`, `policy check`, `install`.
mod cli;
/// `pushguard doctor`: a healthy installation, and each way one breaks.
mod doctor;
/// Faults: the daemon killed, stopped or without its socket, a full disk, a deleted policy.
mod faults;
/// `pushguard scan --git` over histories: each secret once where it came in, removals, damaged
/// clones, the adoption baseline (issue 17).
mod history;
/// The pusher's messages, whole: one real push per kind, compared with insta snapshots.
mod messages;
/// The daemon down, fail-open repositories, concurrency, per-ref mode, reloads.
mod operations;
/// Force-push, deletion, linear history, commits parked on other branches.
mod protection;
/// Secret push protection: new blobs, legacy secrets, suppressions, bypass, limits.
mod push_secrets;
/// Signed and unsigned commits on a protected branch.
mod push_signed;
/// Four eyes (issue 14): signed approvals made with `pushguard approve`, counted by the gate.
mod review;
/// Real git servers (issue 16): gitolite3 and git-shell over sshd, smart HTTP through nginx +
/// fcgiwrap, and the hook layouts of Gitea and GitLab; the pusher named by each server.
mod servers;
/// Release tags: who may create them, immutability, signatures.
mod tags;
/// `pushguard verify`: verdicts per object, records of accepted pushes, signature time.
mod verify;
