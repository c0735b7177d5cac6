//! The audit service: verify the log (against a kept checkpoint, if one is
//! given), take and list signed checkpoints, prove that a later checkpoint
//! extends an earlier one, verify the streams of one case. Only those the
//! policy lets read the log whole (auditors, administrators) may.

use crate::audit::checkpoint::{self, CheckpointError};
use crate::audit::verify::{self, StreamVerification};
use crate::db::DbError;

pub use crate::audit::checkpoint::{
    AuditKey, Checkpoint, CheckpointFile, FORMAT as CHECKPOINT_FORMAT,
};
pub use crate::audit::note;
pub use crate::audit::verify::{KeptHead, Verification};

use super::auth::Caller;
use super::error::ApiError;
use super::story::StreamRef;
use super::{policy, AppState};

fn require_auditor(caller: &Caller) -> Result<(), ApiError> {
    if policy::audits(caller.0.role) {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "only auditors and administrators may use the audit endpoints",
        ))
    }
}

fn parse_checkpoint(file: &CheckpointFile) -> Result<Checkpoint, ApiError> {
    Checkpoint::from_file(file).map_err(|e| match e {
        CheckpointError::Field { field, reason } => {
            ApiError::invalid_field(format!("checkpoint.{field}"), reason)
        }
        CheckpointError::BadSignature => ApiError::invalid_field(
            "checkpoint.signature",
            "does not match the checkpoint and its public key",
        ),
    })
}

/// Every chain and stream head, and the log against `checkpoint` if given.
pub async fn verify_log(
    state: &AppState,
    caller: &Caller,
    checkpoint: Option<&CheckpointFile>,
) -> Result<Verification, ApiError> {
    require_auditor(caller)?;
    let checkpoint = checkpoint.map(parse_checkpoint).transpose()?;
    let kept = checkpoint.as_ref().map(verify::KeptHead::from);
    verify::verify(&state.db, kept.as_ref())
        .await
        .map_err(ApiError::from_db)
}

/// Signs a checkpoint of the log as it stands.
pub async fn take_checkpoint(
    state: &AppState,
    caller: &Caller,
) -> Result<CheckpointFile, ApiError> {
    require_auditor(caller)?;
    let checkpoint = checkpoint::take(&state.db, &state.audit_key)
        .await
        .map_err(ApiError::from_db)?;
    Ok(checkpoint.to_file())
}

/// Signs a checkpoint of the log as it stands, as the service (the
/// periodic checkpoint every instance takes while the log grows).
pub async fn checkpoint_now(state: &AppState) -> Result<Checkpoint, DbError> {
    checkpoint::take(&state.db, &state.audit_key).await
}

/// Every chain and stream head, and the log against `kept` if given: the
/// operator's verification from the command line (no caller; whoever runs
/// the command reads the store already). `read_so_far` counts the events
/// read as it goes.
pub async fn verify_kept(
    state: &AppState,
    kept: Option<&verify::KeptHead>,
    read_so_far: &std::sync::atomic::AtomicU64,
) -> Result<Verification, DbError> {
    verify::verify_observed(&state.db, kept, read_so_far).await
}

/// Events in the log (what a verification reads).
pub async fn log_length(state: &AppState) -> Result<u64, lianxi_projections::StoreError> {
    let lag = lianxi_projections::feed::lag(&state.db.store(), Default::default()).await?;
    Ok(lag.events.max(0) as u64)
}

/// Signs a checkpoint of the log as it stands with `key` (the operator's
/// key file, from the command line).
pub async fn checkpoint_signed_with(
    state: &AppState,
    key: &AuditKey,
) -> Result<Checkpoint, DbError> {
    checkpoint::take(&state.db, key).await
}

/// The audit key's public half and the newest `limit` checkpoints (1–200,
/// default 50).
pub async fn checkpoints(
    state: &AppState,
    caller: &Caller,
    limit: Option<u32>,
) -> Result<(String, Vec<CheckpointFile>), ApiError> {
    require_auditor(caller)?;
    let limit = i64::from(limit.unwrap_or(50));
    if !(1..=200).contains(&limit) {
        return Err(ApiError::bad_query("limit", "must be between 1 and 200"));
    }
    let checkpoints = checkpoint::list(&state.db, limit)
        .await
        .map_err(ApiError::from_db)?;
    Ok((
        state.audit_key.public_key_hex(),
        checkpoints.iter().map(Checkpoint::to_file).collect(),
    ))
}

/// The checkpoint of the first `tree_size` events, if one was taken.
pub async fn checkpoint(
    state: &AppState,
    caller: &Caller,
    tree_size: &str,
) -> Result<CheckpointFile, ApiError> {
    require_auditor(caller)?;
    let size: u64 = tree_size.parse().map_err(|_| ApiError::not_found())?;
    checkpoint::get(&state.db, size)
        .await
        .map_err(ApiError::from_db)?
        .map(|c| c.to_file())
        .ok_or_else(ApiError::not_found)
}

/// The checkpoint of the first `tree_size` events as a C2SP signed note,
/// signed (again, to the same bytes) with the service's key. A checkpoint
/// signed by an earlier key has no note: the key that could sign it is gone.
pub async fn checkpoint_note(
    state: &AppState,
    caller: &Caller,
    tree_size: &str,
) -> Result<String, ApiError> {
    require_auditor(caller)?;
    let size: u64 = tree_size.parse().map_err(|_| ApiError::not_found())?;
    let checkpoint = checkpoint::get(&state.db, size)
        .await
        .map_err(ApiError::from_db)?
        .ok_or_else(ApiError::not_found)?;
    if checkpoint.public_key != state.audit_key.public_key() {
        return Err(ApiError::gone(
            "this checkpoint was signed by an earlier audit key; keep its JSON file",
        ));
    }
    Ok(state
        .audit_key
        .sign_note(checkpoint.tree_size, &checkpoint.root))
}

/// The verifier key note tools take for the service's audit key, and the
/// origin line of its notes.
pub fn note_verifier(state: &AppState) -> (String, String) {
    (
        state.audit_key.verifier_key(),
        note::origin(&state.audit_key.public_key()),
    )
}

/// That the log of `to` events extends the log of `from` events.
pub async fn consistency(
    state: &AppState,
    caller: &Caller,
    from: u64,
    to: u64,
) -> Result<checkpoint::Consistency, ApiError> {
    require_auditor(caller)?;
    if from == 0 {
        return Err(ApiError::bad_query("from", "must be at least 1"));
    }
    if to < from {
        return Err(ApiError::bad_query("to", "must be at least `from`"));
    }
    checkpoint::consistency(&state.db, from, to)
        .await
        .map_err(ApiError::from_db)?
        .ok_or_else(|| ApiError::bad_query("to", "is beyond the events committed so far"))
}

/// How each of a case's streams verifies, in the order given.
pub async fn verify_streams(
    state: &AppState,
    caller: &Caller,
    streams: &[StreamRef],
) -> Result<Vec<StreamVerification>, ApiError> {
    require_auditor(caller)?;
    let ids: Vec<String> = streams.iter().map(|s| s.id.to_string()).collect();
    futures::future::try_join_all(
        streams
            .iter()
            .zip(&ids)
            .map(|(s, id)| verify::verify_stream(&state.db, s.aggregate_type, id)),
    )
    .await
    .map_err(ApiError::from_db)
}
