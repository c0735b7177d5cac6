//! `/api/v1/meetings`: joint meetings of the five parties (联席会议) —
//! convening, agenda, quorum, decisions with each party's position, action
//! items, minutes — and `/api/v1/xiaoqu/{id}/agenda`, the proposed agenda.
//!
//! Who sees what: the party branch, the other four parties and the tiers
//! above of the meeting's xiaoqu, and auditors, read the meeting (people
//! other than the reader pseudonymised except for the branch, which
//! chairs); residents of the xiaoqu read the public minutes of closed
//! meetings. Anyone else gets 404.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use lianxi_domain::meeting::MeetingAction;
use lianxi_domain::values::MeetingId;

use super::error::{ApiError, Problem, PROBLEM};
use super::grievances::{etag, if_match};
use super::json::{ApiJson, ApiQuery, OptionalJson, Segments};
use super::request_id::RequestId;
use super::AppState;
use crate::app::auth::Caller;
use crate::app::meetings::{self, parse_meeting_id};
pub use crate::app::meetings::{
    AgendaItemRequest, AgendaQuery, CloseRequest, CompletionRequest, ConveneRequest,
    DecisionRequest, MeetingList, MeetingQuery, MeetingReasonRequest, MeetingView, OpenRequest,
    ProposedAgenda, PublicMinutes,
};

/// The meeting as the answer's body, its version as the `ETag`.
fn respond(view: MeetingView, version: usize, status: StatusCode) -> Result<Response, ApiError> {
    let location = format!("/api/v1/meetings/{}", view.id);
    let mut response = (status, Json(view)).into_response();
    response.headers_mut().insert(header::ETAG, etag(version));
    if status == StatusCode::CREATED {
        let location = HeaderValue::from_str(&location).map_err(|_| ApiError::internal())?;
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// Runs one command on a meeting the caller may read (`stream_endpoint!`).
async fn dispatch(
    state: &AppState,
    caller: &Caller,
    request_id: &RequestId,
    id: MeetingId,
    headers: &HeaderMap,
    reason: Option<String>,
    action: MeetingAction,
) -> Result<Response, ApiError> {
    let expected = if_match(headers)?;
    let (view, version) =
        meetings::run(state, caller, &request_id.0, id, expected, reason, action).await?;
    respond(view, version, StatusCode::OK)
}

// ---------- handlers ----------

const NOT_FOUND: &str = "No such meeting visible to the caller";

/// Convene a joint meeting of the caller's xiaoqu (party branch).
#[utoipa::path(
    post, path = "/api/v1/meetings", tag = "meetings",
    request_body = ConveneRequest,
    responses(
        (status = 201, description = "Convened", body = MeetingView,
         headers(("Location" = String, description = "The new meeting"), ("ETag" = String))),
        (status = 400, description = "Malformed body", body = Problem, content_type = PROBLEM),
        (status = 401, description = "No or bad token", body = Problem, content_type = PROBLEM),
        (status = 403, description = "Only the party branch convenes", body = Problem, content_type = PROBLEM),
        (status = 415, description = "Not JSON", body = Problem, content_type = PROBLEM),
        (status = 422, description = "A field is invalid or a rule broken", body = Problem, content_type = PROBLEM),
    ),
    security(("bearer" = []))
)]
pub async fn convene(
    State(state): State<AppState>,
    Extension(request_id): Extension<RequestId>,
    caller: Caller,
    ApiJson(body): ApiJson<ConveneRequest>,
) -> Result<Response, ApiError> {
    let (view, version) = meetings::convene(&state, &caller, &request_id.0, &body).await?;
    respond(view, version, StatusCode::CREATED)
}

/// The meetings of a xiaoqu, latest first. Residents see closed meetings
/// only (their public minutes).
#[utoipa::path(
    get, path = "/api/v1/meetings", tag = "meetings", operation_id = "list_meetings",
    params(MeetingQuery),
    responses(
        (status = 200, description = "The meetings, latest scheduled first, a page at a time", body = MeetingList),
        (status = 400, description = "A query parameter is invalid", body = Problem, content_type = PROBLEM),
        (status = 401, description = "No or bad token", body = Problem, content_type = PROBLEM),
        (status = 422, description = "Give a xiaoqu", body = Problem, content_type = PROBLEM),
    ),
    security(("bearer" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<MeetingQuery>,
) -> Result<Json<MeetingList>, ApiError> {
    Ok(Json(meetings::list(&state, &caller, &query).await?))
}

/// One meeting, in full.
#[utoipa::path(
    get, path = "/api/v1/meetings/{id}", tag = "meetings", operation_id = "get_meeting",
    params(("id" = Uuid, Path, description = "Meeting id")),
    responses(
        (status = 200, description = "The meeting", body = MeetingView, headers(("ETag" = String))),
        (status = 401, description = "No or bad token", body = Problem, content_type = PROBLEM),
        (status = 404, description = NOT_FOUND, body = Problem, content_type = PROBLEM),
    ),
    security(("bearer" = []))
)]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_meeting_id(&id)?;
    let (view, version) = meetings::get(&state, &caller, id).await?;
    respond(view, version, StatusCode::OK)
}

/// The public minutes of a closed meeting: readable by everyone of the
/// xiaoqu, and free of personal data.
#[utoipa::path(
    get, path = "/api/v1/meetings/{id}/minutes", tag = "meetings",
    params(("id" = Uuid, Path, description = "Meeting id")),
    responses(
        (status = 200, description = "The public minutes", body = PublicMinutes),
        (status = 401, description = "No or bad token", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such closed meeting visible to the caller", body = Problem, content_type = PROBLEM),
    ),
    security(("bearer" = []))
)]
pub async fn minutes(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<PublicMinutes>, ApiError> {
    let id = parse_meeting_id(&id)?;
    Ok(Json(meetings::minutes(&state, &caller, id).await?))
}

/// A command endpoint on one meeting (see `stream_endpoint!`).
macro_rules! meeting_endpoint {
    ($($rest:tt)*) => {
        stream_endpoint!(
            tag = "meetings", view = MeetingView, action = MeetingAction,
            parse_id = parse_meeting_id, $($rest)*
        );
    };
}

meeting_endpoint!(
    /// Add an item to the agenda of a meeting not yet closed (party branch).
    add_agenda_item, "/api/v1/meetings/{id}/agenda", AgendaItemRequest, ApiJson,
    (("id" = Uuid, Path, description = "Meeting id")),
    |state, caller, id, req, _sub| {
        meetings::add_agenda_item(state, caller, id, &req).await?
    }
);

meeting_endpoint!(
    /// Open the meeting with the parties and people present; refused
    /// without quorum (party branch).
    open_meeting, "/api/v1/meetings/{id}/open", OpenRequest, ApiJson,
    (("id" = Uuid, Path, description = "Meeting id")),
    |_state, _caller, _id, req, _sub| {
        meetings::open(&req)
    }
);

meeting_endpoint!(
    /// Record the decision on an agenda item: summary, decision, each
    /// present party's position and the action items (party branch).
    decide_item, "/api/v1/meetings/{id}/items/{item}/decision", DecisionRequest, ApiJson,
    (("id" = Uuid, Path, description = "Meeting id"), ("item" = Uuid, Path, description = "Agenda item id")),
    |state, _caller, id, req, item| {
        meetings::decide_item(state, id, &item, &req).await?
    }
);

meeting_endpoint!(
    /// Defer an agenda item to a later meeting (party branch).
    defer_item, "/api/v1/meetings/{id}/items/{item}/deferral", MeetingReasonRequest, ApiJson,
    (("id" = Uuid, Path, description = "Meeting id"), ("item" = Uuid, Path, description = "Agenda item id")),
    |_state, _caller, _id, req, item| {
        meetings::defer_item(&item, &req)?
    }
);

meeting_endpoint!(
    /// Close the meeting and publish its minutes (party branch).
    close, "/api/v1/meetings/{id}/close", CloseRequest, OptionalJson,
    (("id" = Uuid, Path, description = "Meeting id")),
    |_state, _caller, _id, req, _sub| {
        meetings::close(&req)?
    }
);

meeting_endpoint!(
    /// Cancel a meeting that has not opened (party branch).
    cancel, "/api/v1/meetings/{id}/cancel", MeetingReasonRequest, ApiJson,
    (("id" = Uuid, Path, description = "Meeting id")),
    |_state, _caller, _id, req, _sub| {
        meetings::cancel(&req)?
    }
);

meeting_endpoint!(
    /// Mark an action item done (its owner party, or the party branch).
    complete_action_item, "/api/v1/meetings/{id}/action-items/{action_item}/completion", CompletionRequest, OptionalJson,
    (("id" = Uuid, Path, description = "Meeting id"), ("action_item" = Uuid, Path, description = "Action item id")),
    |_state, _caller, _id, req, action_item| {
        meetings::complete_action_item(&action_item, &req)?
    }
);

/// The proposed agenda of a xiaoqu: major matters awaiting an urgent
/// meeting (with the window's end), minor matters for the next regular
/// meeting, and open action items of earlier meetings.
#[utoipa::path(
    get, path = "/api/v1/xiaoqu/{id}/agenda", tag = "meetings",
    params(("id" = String, Path, description = "Xiaoqu id or name"), AgendaQuery),
    responses(
        (status = 200, description = "The proposed agenda", body = ProposedAgenda),
        (status = 400, description = "A query parameter is invalid", body = Problem, content_type = PROBLEM),
        (status = 401, description = "No or bad token", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such xiaoqu visible to the caller", body = Problem, content_type = PROBLEM),
    ),
    security(("bearer" = []))
)]
pub async fn agenda(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<AgendaQuery>,
) -> Result<Json<ProposedAgenda>, ApiError> {
    // By id or by name; one that names no xiaoqu is not found.
    let xiaoqu = crate::app::registry::find(&state, &id)
        .await
        .map_err(ApiError::from_db)?
        .map(|x| x.id)
        .ok_or_else(ApiError::not_found)?;
    Ok(Json(
        meetings::agenda(&state, &caller, xiaoqu, &query).await?,
    ))
}
