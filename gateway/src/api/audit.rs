//! Audit endpoints: verify the log, take and export signed checkpoints,
//! prove that a later checkpoint extends an earlier one.
//!
//! Only auditors and administrators reach them; everyone else gets 403.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiError, Problem, PROBLEM};
use super::json::{ApiQuery, OptionalJson};
use super::AppState;
use crate::app::audit;
use crate::app::audit::{CheckpointFile, Verification};
use crate::app::auth::Caller;

/// The optional body of a verification request.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest {
    /// A checkpoint kept outside the system: the log must still hold the
    /// tree it signed.
    #[serde(default)]
    pub checkpoint: Option<CheckpointFile>,
}

#[utoipa::path(
    post, path = "/api/v1/audit/verify", tag = "audit",
    request_body(content = Option<VerifyRequest>, description = "Optional checkpoint to check against"),
    responses(
        (status = 200, description = "The verification report; `ok` is false when anything was found", body = Verification),
        (status = 401, description = "No or bad token", body = Problem, content_type = PROBLEM),
        (status = 403, description = "Not an auditor", body = Problem, content_type = PROBLEM),
        (status = 422, description = "The checkpoint is malformed or its signature is wrong", body = Problem, content_type = PROBLEM),
    ),
    security(("bearer" = []))
)]
pub async fn verify(
    State(state): State<AppState>,
    caller: Caller,
    OptionalJson(body): OptionalJson<VerifyRequest>,
) -> Result<Json<Verification>, ApiError> {
    let report = audit::verify_log(&state, &caller, body.checkpoint.as_ref()).await?;
    Ok(Json(report))
}

/// Sign a checkpoint of everything committed now (or return the existing
/// one when the log has not grown).
#[utoipa::path(
    post, path = "/api/v1/audit/checkpoints", tag = "audit",
    responses(
        (status = 201, description = "The signed checkpoint, ready to keep", body = CheckpointFile),
        (status = 401, description = "No or bad token", body = Problem, content_type = PROBLEM),
        (status = 403, description = "Not an auditor", body = Problem, content_type = PROBLEM),
    ),
    security(("bearer" = []))
)]
pub async fn take_checkpoint(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<(StatusCode, Json<CheckpointFile>), ApiError> {
    let checkpoint = audit::take_checkpoint(&state, &caller).await?;
    Ok((StatusCode::CREATED, Json(checkpoint)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CheckpointQuery {
    /// How many, newest first (1–200, default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
}

/// The checkpoints of this log and the key that signs new ones.
#[derive(Debug, Serialize, ToSchema)]
pub struct CheckpointList {
    /// Ed25519 public key that signs new checkpoints, hex.
    pub public_key: String,
    /// The same key as C2SP note tools take it:
    /// `<origin>+<key id>+<base64 key>`.
    pub verifier_key: String,
    /// The origin line of this log's signed notes.
    pub origin: String,
    pub checkpoints: Vec<CheckpointFile>,
}

/// Stored checkpoints, newest first.
#[utoipa::path(
    get, path = "/api/v1/audit/checkpoints", tag = "audit",
    params(CheckpointQuery),
    responses(
        (status = 200, description = "Checkpoints, newest first", body = CheckpointList),
        (status = 400, description = "Bad query", body = Problem, content_type = PROBLEM),
        (status = 401, description = "No or bad token", body = Problem, content_type = PROBLEM),
        (status = 403, description = "Not an auditor", body = Problem, content_type = PROBLEM),
    ),
    security(("bearer" = []))
)]
pub async fn list_checkpoints(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<CheckpointQuery>,
) -> Result<Json<CheckpointList>, ApiError> {
    let (public_key, checkpoints) = audit::checkpoints(&state, &caller, query.limit).await?;
    let (verifier_key, origin) = audit::note_verifier(&state);
    Ok(Json(CheckpointList {
        public_key,
        verifier_key,
        origin,
        checkpoints,
    }))
}

/// One stored checkpoint as a C2SP signed note (tlog-checkpoint), the text
/// transparency-log tools read; verify it with the list's `verifier_key`.
#[utoipa::path(
    get, path = "/api/v1/audit/checkpoints/{tree_size}/note", tag = "audit",
    params(("tree_size" = u64, Path, description = "Events the checkpoint covers")),
    responses(
        (status = 200, description = "The signed note", body = String, content_type = "text/plain; charset=utf-8"),
        (status = 401, description = "No or bad token", body = Problem, content_type = PROBLEM),
        (status = 403, description = "Not an auditor", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No checkpoint of that size", body = Problem, content_type = PROBLEM),
        (status = 410, description = "Signed by an earlier key: only its JSON file exists", body = Problem, content_type = PROBLEM),
    ),
    security(("bearer" = []))
)]
pub async fn get_checkpoint_note(
    State(state): State<AppState>,
    caller: Caller,
    Path(tree_size): Path<String>,
) -> Result<([(axum::http::HeaderName, &'static str); 1], String), ApiError> {
    let note = audit::checkpoint_note(&state, &caller, &tree_size).await?;
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; charset=utf-8",
        )],
        note,
    ))
}

/// One stored checkpoint, as the file to keep.
#[utoipa::path(
    get, path = "/api/v1/audit/checkpoints/{tree_size}", tag = "audit",
    params(("tree_size" = u64, Path, description = "Events the checkpoint covers")),
    responses(
        (status = 200, description = "The checkpoint file", body = CheckpointFile),
        (status = 401, description = "No or bad token", body = Problem, content_type = PROBLEM),
        (status = 403, description = "Not an auditor", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No checkpoint of that size", body = Problem, content_type = PROBLEM),
    ),
    security(("bearer" = []))
)]
pub async fn get_checkpoint(
    State(state): State<AppState>,
    caller: Caller,
    Path(tree_size): Path<String>,
) -> Result<Json<CheckpointFile>, ApiError> {
    Ok(Json(audit::checkpoint(&state, &caller, &tree_size).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyQuery {
    /// The earlier tree size (at least 1).
    #[param(minimum = 1)]
    pub from: u64,
    /// The later tree size (at least `from`, at most the committed events).
    #[param(minimum = 1)]
    pub to: u64,
}

/// An RFC 6962 consistency proof between two tree sizes.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConsistencyProof {
    pub from: u64,
    pub to: u64,
    /// Root of the first `from` events, hex.
    pub from_root: String,
    /// Root of the first `to` events, hex.
    pub to_root: String,
    /// The proof's node hashes, hex, in RFC 6962 order.
    pub proof: Vec<String>,
}

/// Proof that the log's first `to` events extend its first `from` events.
#[utoipa::path(
    get, path = "/api/v1/audit/consistency", tag = "audit",
    params(ConsistencyQuery),
    responses(
        (status = 200, description = "The proof", body = ConsistencyProof),
        (status = 400, description = "Sizes out of range", body = Problem, content_type = PROBLEM),
        (status = 401, description = "No or bad token", body = Problem, content_type = PROBLEM),
        (status = 403, description = "Not an auditor", body = Problem, content_type = PROBLEM),
    ),
    security(("bearer" = []))
)]
pub async fn consistency(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ConsistencyQuery>,
) -> Result<Json<ConsistencyProof>, ApiError> {
    let proof = audit::consistency(&state, &caller, query.from, query.to).await?;
    Ok(Json(ConsistencyProof {
        from: proof.old_size,
        to: proof.new_size,
        from_root: hex::encode(proof.old_root),
        to_root: hex::encode(proof.new_root),
        proof: proof.proof.iter().map(hex::encode).collect(),
    }))
}
