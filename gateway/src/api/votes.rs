//! `/api/v1/owners-votes`: owners deciding together (业主共同决定) under
//! Civil Code article 278 — opening a vote, ballots online and on paper,
//! closing with the tally — and `/api/v1/xiaoqu/{id}/owners-register`, the
//! owners' register the votes count from.
//!
//! Who sees what: anyone whose scope covers the vote's xiaoqu reads the
//! vote and its tally; how a unit voted only an owner of that unit
//! (`my_units`). Anyone else gets 404.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use axum::{Extension, Json};

use super::error::{ApiError, Problem, PROBLEM};
use super::grievances::if_match;
use super::json::{ApiJson, ApiQuery};
use super::request_id::RequestId;
use super::AppState;
use crate::app::auth::Caller;
use crate::app::votes::{self, parse_vote_id, register};
pub use crate::app::votes::{
    BallotRequest, ImportReport, OpenVoteRequest, RegisterView, VoteList, VoteQuery, VoteStory,
    VoteView,
};

/// The vote as the answer's body, its version as the `ETag`.
fn respond(view: VoteView, version: usize, status: StatusCode) -> Result<Response, ApiError> {
    let location = format!("/api/v1/owners-votes/{}", view.id);
    super::micro::respond(view, location, version, status)
}

const NOT_FOUND: &str = "No such vote visible to the caller";

/// Open a vote of the caller's xiaoqu on the owners' register as it stands
/// (the owners' committee; the party branch where the xiaoqu has none).
#[utoipa::path(
    post, path = "/api/v1/owners-votes", tag = "votes", operation_id = "open_vote",
    request_body = OpenVoteRequest,
    responses(
        (status = 201, description = "Opened", body = VoteView,
         headers(("Location" = String, description = "The new vote"), ("ETag" = String))),
        (status = 400, description = "Malformed body", body = Problem, content_type = PROBLEM),
        (status = 401, description = "No or bad token", body = Problem, content_type = PROBLEM),
        (status = 403, description = "Only the owners' committee opens votes (the party branch where there is none)", body = Problem, content_type = PROBLEM),
        (status = 415, description = "Not JSON", body = Problem, content_type = PROBLEM),
        (status = 422, description = "A field is invalid, the window is reversed or past, or the xiaoqu has no register", body = Problem, content_type = PROBLEM),
    ),
    security(("bearer" = []))
)]
pub async fn open(
    State(state): State<AppState>,
    Extension(request_id): Extension<RequestId>,
    caller: Caller,
    ApiJson(body): ApiJson<OpenVoteRequest>,
) -> Result<Response, ApiError> {
    let (view, version) = votes::open(&state, &caller, &request_id.0, &body).await?;
    respond(view, version, StatusCode::CREATED)
}

/// The votes of a xiaoqu, latest first.
#[utoipa::path(
    get, path = "/api/v1/owners-votes", tag = "votes", operation_id = "list_votes",
    params(VoteQuery),
    responses(
        (status = 200, description = "The votes, latest opening first", body = VoteList),
        (status = 400, description = "A query parameter is invalid", body = Problem, content_type = PROBLEM),
        (status = 401, description = "No or bad token", body = Problem, content_type = PROBLEM),
    ),
    security(("bearer" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<VoteQuery>,
) -> Result<Json<VoteList>, ApiError> {
    Ok(Json(votes::list(&state, &caller, &query).await?))
}

/// One vote: its question, window, thresholds, turnout, the tally once
/// closed, and the caller's own units with their ballots.
#[utoipa::path(
    get, path = "/api/v1/owners-votes/{id}", tag = "votes", operation_id = "get_vote",
    params(("id" = Uuid, Path, description = "Vote id")),
    responses(
        (status = 200, description = "The vote", body = VoteView, headers(("ETag" = String))),
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
    let id = parse_vote_id(&id)?;
    let (view, version) = votes::get(&state, &caller, id).await?;
    respond(view, version, StatusCode::OK)
}

/// Cast, or change, the ballot of one of the caller's units (an owner,
/// while the window is open). Only the last ballot of a unit counts.
#[utoipa::path(
    post, path = "/api/v1/owners-votes/{id}/ballots", tag = "votes", operation_id = "cast_ballot",
    params(("id" = Uuid, Path, description = "Vote id")),
    request_body = BallotRequest,
    responses(
        (status = 200, description = "The vote, with the caller's ballot", body = VoteView, headers(("ETag" = String))),
        (status = 400, description = "Malformed body", body = Problem, content_type = PROBLEM),
        (status = 401, description = "No or bad token", body = Problem, content_type = PROBLEM),
        (status = 403, description = "Not an owner of the unit", body = Problem, content_type = PROBLEM),
        (status = 404, description = NOT_FOUND, body = Problem, content_type = PROBLEM),
        (status = 409, description = "The vote is closed", body = Problem, content_type = PROBLEM),
        (status = 415, description = "Not JSON", body = Problem, content_type = PROBLEM),
        (status = 422, description = "The unit is not in the register, the window is not open, or the vote takes no online ballots", body = Problem, content_type = PROBLEM),
    ),
    security(("bearer" = []))
)]
pub async fn cast(
    State(state): State<AppState>,
    Extension(request_id): Extension<RequestId>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<BallotRequest>,
) -> Result<Response, ApiError> {
    let id = parse_vote_id(&id)?;
    let (view, version) = votes::cast(&state, &caller, &request_id.0, id, &body).await?;
    respond(view, version, StatusCode::OK)
}

/// Enter a paper ballot (whoever opened the vote, while the window is
/// open). The unit's earlier ballot, online or on paper, is replaced.
#[utoipa::path(
    post, path = "/api/v1/owners-votes/{id}/paper-ballots", tag = "votes", operation_id = "enter_paper_ballot",
    params(("id" = Uuid, Path, description = "Vote id")),
    request_body = BallotRequest,
    responses(
        (status = 200, description = "The vote", body = VoteView, headers(("ETag" = String))),
        (status = 400, description = "Malformed body", body = Problem, content_type = PROBLEM),
        (status = 401, description = "No or bad token", body = Problem, content_type = PROBLEM),
        (status = 403, description = "Only the vote's opener enters paper ballots", body = Problem, content_type = PROBLEM),
        (status = 404, description = NOT_FOUND, body = Problem, content_type = PROBLEM),
        (status = 409, description = "The vote is closed", body = Problem, content_type = PROBLEM),
        (status = 415, description = "Not JSON", body = Problem, content_type = PROBLEM),
        (status = 422, description = "The unit is not in the register, the window is not open, or the vote takes no paper ballots", body = Problem, content_type = PROBLEM),
    ),
    security(("bearer" = []))
)]
pub async fn enter_paper(
    State(state): State<AppState>,
    Extension(request_id): Extension<RequestId>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<BallotRequest>,
) -> Result<Response, ApiError> {
    let id = parse_vote_id(&id)?;
    let (view, version) = votes::enter_paper(&state, &caller, &request_id.0, id, &body).await?;
    respond(view, version, StatusCode::OK)
}

/// Close a vote whose window has passed and record its tally (whoever
/// opened it).
#[utoipa::path(
    post, path = "/api/v1/owners-votes/{id}/close", tag = "votes", operation_id = "close_vote",
    params(
        ("id" = Uuid, Path, description = "Vote id"),
        ("If-Match" = Option<String>, Header, description = "Close only at this version"),
    ),
    responses(
        (status = 200, description = "Closed, with the tally", body = VoteView, headers(("ETag" = String))),
        (status = 401, description = "No or bad token", body = Problem, content_type = PROBLEM),
        (status = 403, description = "Only the vote's opener closes it", body = Problem, content_type = PROBLEM),
        (status = 404, description = NOT_FOUND, body = Problem, content_type = PROBLEM),
        (status = 409, description = "Already closed, or the window has not passed", body = Problem, content_type = PROBLEM),
        (status = 412, description = "The vote changed since the version in If-Match", body = Problem, content_type = PROBLEM),
    ),
    security(("bearer" = []))
)]
pub async fn close(
    State(state): State<AppState>,
    Extension(request_id): Extension<RequestId>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let id = parse_vote_id(&id)?;
    let expected = if_match(&headers)?;
    let (view, version) = votes::close(&state, &caller, &request_id.0, id, expected).await?;
    respond(view, version, StatusCode::OK)
}

/// A vote's history, for auditors and admins: every event with its chain
/// hash and the actor as role and pseudonym; ballots show their unit,
/// channel and time, their choice `sealed`.
#[utoipa::path(
    get, path = "/api/v1/owners-votes/{id}/story", tag = "audit", operation_id = "vote_story",
    params(("id" = Uuid, Path, description = "Vote id")),
    responses(
        (status = 200, description = "Every event of the vote in the order stored", body = VoteStory),
        (status = 401, description = "No or bad token", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such vote, or not for this role", body = Problem, content_type = PROBLEM),
    ),
    security(("bearer" = []))
)]
pub async fn story(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<VoteStory>, ApiError> {
    let id = parse_vote_id(&id)?;
    let entries = votes::story(&state, &caller, id).await?;
    Ok(Json(VoteStory {
        vote: id.0,
        entries,
    }))
}

/// A xiaoqu's owners' register: its units with their areas, how many
/// owners hold each, and which are the caller's.
#[utoipa::path(
    get, path = "/api/v1/xiaoqu/{id}/owners-register", tag = "votes", operation_id = "get_owners_register",
    params(("id" = Uuid, Path, description = "Xiaoqu id")),
    responses(
        (status = 200, description = "The register (empty before the first import)", body = RegisterView),
        (status = 401, description = "No or bad token", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such xiaoqu in the caller's scope", body = Problem, content_type = PROBLEM),
    ),
    security(("bearer" = []))
)]
pub async fn owners_register(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<RegisterView>, ApiError> {
    Ok(Json(register::view(&state, &caller, &id).await?))
}

/// Replace a xiaoqu's owners' register with a CSV file (the party branch
/// or the owners' committee): a header naming `building`, `entrance`,
/// `room`, `area` (m²) and `owners` (logins separated by `;`, or
/// `developer`), in English or Chinese (楼栋, 单元, 房号, 面积, 业主), then
/// one row per unit. Rows that cannot be registered are reported, line by
/// line; the others are registered. A unit keeps its id from one import to
/// the next.
#[utoipa::path(
    put, path = "/api/v1/xiaoqu/{id}/owners-register", tag = "votes", operation_id = "import_owners_register",
    params(("id" = Uuid, Path, description = "Xiaoqu id")),
    request_body(content = String, content_type = "text/csv", description = "The register, UTF-8 CSV with a header line"),
    responses(
        (status = 200, description = "Imported: the register's totals and every row left out", body = ImportReport),
        (status = 401, description = "No or bad token", body = Problem, content_type = PROBLEM),
        (status = 403, description = "Only the party branch or the owners' committee imports", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such xiaoqu in the caller's scope", body = Problem, content_type = PROBLEM),
        (status = 413, description = "Larger than 4 MiB", body = Problem, content_type = PROBLEM),
        (status = 415, description = "Not text/csv", body = Problem, content_type = PROBLEM),
        (status = 422, description = "Not UTF-8, a column missing from the header, or no row to register", body = Problem, content_type = PROBLEM),
    ),
    security(("bearer" = []))
)]
pub async fn import_register(
    State(state): State<AppState>,
    Extension(request_id): Extension<RequestId>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<ImportReport>, ApiError> {
    let csv = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("text/csv"));
    if !csv {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "The body must be text/csv",
        ));
    }
    Ok(Json(
        register::import(&state, &caller, &request_id.0, &id, &body).await?,
    ))
}
