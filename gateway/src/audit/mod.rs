//! Tamper evidence for the event log.
//!
//! - [`chain`]: each stream's hash chain, computed at append (by the store,
//!   `db::chain`).
//! - [`merkle`]: RFC 6962 Merkle trees over every event hash in feed order.
//! - [`checkpoint`]: signed tree heads auditors keep outside the system,
//!   and consistency proofs between them.
//! - [`verify`]: recomputes every chain and stream head, and checks a kept
//!   checkpoint against the log.
//!
//! See `docs/auditors.md` for how to verify independently.

pub mod checkpoint;
pub mod merkle;
pub mod note;
pub mod verify;

pub use crate::db::chain;
pub use checkpoint::{AuditKey, Checkpoint, CheckpointFile};
pub use verify::{verify, Verification};

use crate::db::{Database, DbError};

/// Applies pending migrations, then seals the events stored before the hash
/// chain existed (computes their hashes and stream heads once).
pub async fn migrate(db: &Database) -> Result<(), DbError> {
    db.migrate().await?;
    let sealed = verify::seal_unsealed(db).await?;
    if sealed > 0 {
        tracing::info!(sealed, "sealed events stored before the hash chain");
    }
    Ok(())
}
