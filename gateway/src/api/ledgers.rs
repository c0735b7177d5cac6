//! `GET /api/v1/ledgers`: a place's ledgers (台账) over a period, as an XLSX
//! workbook or a CSV file; each export is recorded on the exporter's
//! `ledger_exports` stream before it is made.

use axum::extract::State;
use axum::response::Response;
use axum::{Extension, Json};
use serde::Serialize;
use utoipa::ToSchema;

use super::error::{ApiError, Problem, PROBLEM};
use super::json::ApiQuery;
use super::request_id::RequestId;
use super::AppState;
use crate::app::auth::Caller;
use crate::app::ledgers::{self, LedgerQuery};
use crate::app::story::StoryEntry;
use crate::http::download::send_export;

/// A xiaoqu's, a community's or a street's ledgers over a period: the
/// grievance ledger, the joint-meeting ledger, the mediation ledger and the
/// three rates month by month (docs/ledgers.md lists their columns). People
/// are named only where the API names them; pseudonyms otherwise. The
/// export is recorded (who, what, when) before it is made.
#[utoipa::path(
    get, path = "/api/v1/ledgers", tag = "ledgers",
    params(LedgerQuery),
    responses(
        (status = 200, description = "The ledger file (header `Lianxi-Rows`: rows written)",
            content(
                ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
                ("text/csv; charset=utf-8"),
            ),
            headers(("Lianxi-Rows" = u64, description = "Rows written over all sheets"))),
        (status = 400, description = "A query parameter is invalid", body = Problem, content_type = PROBLEM),
        (status = 401, description = "No or bad token", body = Problem, content_type = PROBLEM),
        (status = 403, description = "This role keeps no ledgers (residents)", body = Problem, content_type = PROBLEM),
        (status = 404, description = "The place is outside the caller's scope, or has no xiaoqu", body = Problem, content_type = PROBLEM),
        (status = 422, description = "The period is reversed or longer than ten years, or a CSV file is asked for all ledgers", body = Problem, content_type = PROBLEM),
    ),
    security(("bearer" = []))
)]
pub async fn export(
    State(state): State<AppState>,
    Extension(request_id): Extension<RequestId>,
    caller: Caller,
    ApiQuery(query): ApiQuery<LedgerQuery>,
) -> Result<Response, ApiError> {
    let export = ledgers::export(&state, &caller, &request_id.0, &query).await?;
    Ok(send_export(export))
}

/// Every export recorded, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecordedExports {
    /// One `LedgerExported` event per export: the exporter as role and
    /// pseudonym, the ledger, place, period and format in `payload.request`.
    pub items: Vec<StoryEntry>,
}

/// Who exported which ledger, of which place and period, and when
/// (auditors and admins).
#[utoipa::path(
    get, path = "/api/v1/ledgers/exports", tag = "ledgers",
    responses(
        (status = 200, description = "Every recorded export, oldest first", body = RecordedExports),
        (status = 401, description = "No or bad token", body = Problem, content_type = PROBLEM),
        (status = 404, description = "Not for this role", body = Problem, content_type = PROBLEM),
    ),
    security(("bearer" = []))
)]
pub async fn exports(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<RecordedExports>, ApiError> {
    let items = ledgers::recorded_exports(&state, &caller).await?;
    Ok(Json(RecordedExports { items }))
}
