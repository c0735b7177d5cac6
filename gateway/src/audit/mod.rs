//! Tamper evidence for the event log.
//!
//! - [`chain`]: each stream's hash chain, computed at append.
//! - [`merkle`]: RFC 6962 Merkle trees over every event hash in feed order.
//! - [`checkpoint`]: signed tree heads auditors keep outside the system,
//!   and consistency proofs between them.
//! - [`story`]: a case told in order, and its state as of any instant.
//! - [`verify`]: recomputes every chain and stream head, and checks a kept
//!   checkpoint against the log.
//!
//! See `docs/auditors.md` for how to verify independently.

pub mod chain;
pub mod checkpoint;
pub mod merkle;
pub mod story;
pub mod verify;

pub use checkpoint::{AuditKey, Checkpoint, CheckpointFile};
pub use verify::{verify, Verification};
