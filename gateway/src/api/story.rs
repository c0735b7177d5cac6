//! A grievance's story and its dossier (JSON, or a printable HTML page).
//!
//! Both are read by whoever may open the grievance; actors always appear as
//! role and pseudonym, never as account ids. The mediation cases and joint
//! meetings the grievance followed belong to its story for the mediators
//! (party branch, tiers) and auditors; other readers get the grievance
//! streams alone.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::error::{ApiError, Problem, PROBLEM};
use super::grievances::{parse_id, visible};
use super::json::ApiQuery;
use super::AppState;
use crate::app::auth::Caller;
use crate::app::dossier::{self, Dossier};
use crate::app::story::{self, case_streams, StoryEntry};

/// Everything that happened to a case, in order.
#[derive(Debug, Serialize, ToSchema)]
pub struct Story {
    pub grievance: Uuid,
    /// The grievance, the duplicates merged into it, and the cases and
    /// meetings they followed.
    pub streams: Vec<Uuid>,
    pub entries: Vec<StoryEntry>,
}

/// The story of a grievance and the duplicates merged into it.
#[utoipa::path(
    get, path = "/api/v1/grievances/{id}/story", tag = "audit",
    params(("id" = Uuid, Path, description = "Grievance id")),
    responses(
        (status = 200, description = "Every event of the case in the order stored, actors as role and pseudonym", body = Story),
        (status = 401, description = "No or bad token", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such grievance visible to the caller", body = Problem, content_type = PROBLEM),
    ),
    security(("bearer" = []))
)]
pub async fn story(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Story>, ApiError> {
    let id = parse_id(&id)?;
    let (g, _) = visible(&state, &caller, id).await?;
    let streams = case_streams(&state, &caller, id, &g).await?;
    let entries = story::story(&state, &streams)
        .await
        .map_err(ApiError::from_db)?;
    Ok(Json(Story {
        grievance: id.0,
        streams: streams.iter().map(|s| s.id).collect(),
        entries,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DossierQuery {
    /// `json` (default) or `html` (a printable page). `Accept: text/html`
    /// also selects the page.
    #[param(pattern = "^(json|html)$")]
    pub format: Option<String>,
}

/// A case dossier: state, story, chain verification and the newest checkpoint.
#[utoipa::path(
    get, path = "/api/v1/grievances/{id}/dossier", tag = "audit",
    params(("id" = Uuid, Path, description = "Grievance id"), DossierQuery),
    responses(
        (status = 200, description = "The dossier", content(
            (Dossier = "application/json"),
            (String = "text/html"),
        )),
        (status = 400, description = "Unknown format", body = Problem, content_type = PROBLEM),
        (status = 401, description = "No or bad token", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such grievance visible to the caller", body = Problem, content_type = PROBLEM),
    ),
    security(("bearer" = []))
)]
pub async fn dossier(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<DossierQuery>,
) -> Result<Response, ApiError> {
    let html = match query.format.as_deref() {
        Some("html") => true,
        Some("json") => false,
        None => headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|accept| accept.contains("text/html")),
        Some(_) => return Err(ApiError::bad_query("format", "must be json or html")),
    };
    let id = parse_id(&id)?;
    let dossier = dossier::dossier(&state, &caller, id).await?;
    if html {
        let mut response = dossier::render_html(&dossier).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        Ok(response)
    } else {
        Ok(Json(dossier).into_response())
    }
}
