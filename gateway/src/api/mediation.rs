//! `/api/v1/mediation-cases`: mediation cases (调解) — opened by the party
//! branch or a higher tier for grievances on one matter; sessions; a
//! proposal every party accepts (the agreement) or one declines; obligations
//! fulfilled or missed; failure, which escalates or refers the matter out.
//!
//! Who sees a case: the party branch of its xiaoqu, the tiers it reached,
//! auditors, and its own parties (a person named in it, or an operator of a
//! party named in it). Persons appear as account ids to the mediators and
//! to themselves, as pseudonyms to everyone else. Anyone else gets 404.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use lianxi_domain::mediation::MediationAction;
use lianxi_domain::values::CaseId;

use super::error::{ApiError, Problem, PROBLEM};
use super::grievances::{etag, if_match};
use super::json::{ApiJson, ApiQuery, OptionalJson, Segments};
use super::request_id::RequestId;
use super::AppState;
use crate::app::auth::Caller;
use crate::app::cases::{self, parse_case_id};
pub use crate::app::cases::{
    AcceptRequest, CaseList, CaseQuery, CaseView, DeclineRequest, FailRequest,
    ObligationNoteRequest, OpenCaseRequest, ProposeRequest, RecordRequest, ScheduleRequest,
};

/// The case as the answer's body, its version as the `ETag`.
fn respond(view: CaseView, version: usize, status: StatusCode) -> Result<Response, ApiError> {
    let location = format!("/api/v1/mediation-cases/{}", view.id);
    let mut response = (status, Json(view)).into_response();
    response.headers_mut().insert(header::ETAG, etag(version));
    if status == StatusCode::CREATED {
        let location = HeaderValue::from_str(&location).map_err(|_| ApiError::internal())?;
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

// ---------- handlers ----------

const NOT_FOUND: &str = "No such case visible to the caller";

/// Open a mediation case for grievances of one xiaoqu (party branch or tier).
#[utoipa::path(
    post, path = "/api/v1/mediation-cases", tag = "mediation", operation_id = "open_case",
    request_body = OpenCaseRequest,
    responses(
        (status = 201, description = "Opened", body = CaseView,
         headers(("Location" = String, description = "The new case"), ("ETag" = String))),
        (status = 400, description = "Malformed body", body = Problem, content_type = PROBLEM),
        (status = 401, description = "No or bad token", body = Problem, content_type = PROBLEM),
        (status = 403, description = "Only the party branch or a tier opens cases", body = Problem, content_type = PROBLEM),
        (status = 415, description = "Not JSON", body = Problem, content_type = PROBLEM),
        (status = 422, description = "A field is invalid or a rule broken", body = Problem, content_type = PROBLEM),
    ),
    security(("bearer" = []))
)]
pub async fn open(
    State(state): State<AppState>,
    Extension(request_id): Extension<RequestId>,
    caller: Caller,
    ApiJson(body): ApiJson<OpenCaseRequest>,
) -> Result<Response, ApiError> {
    let (view, version) = cases::open(&state, &caller, &request_id.0, &body).await?;
    respond(view, version, StatusCode::CREATED)
}

/// The mediation cases of a xiaoqu that the caller may see, latest first.
#[utoipa::path(
    get, path = "/api/v1/mediation-cases", tag = "mediation", operation_id = "list_cases",
    params(CaseQuery),
    responses(
        (status = 200, description = "The cases, latest opened first, a page at a time", body = CaseList),
        (status = 400, description = "A query parameter is invalid", body = Problem, content_type = PROBLEM),
        (status = 401, description = "No or bad token", body = Problem, content_type = PROBLEM),
        (status = 422, description = "Give a xiaoqu", body = Problem, content_type = PROBLEM),
    ),
    security(("bearer" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<CaseQuery>,
) -> Result<Json<CaseList>, ApiError> {
    Ok(Json(cases::list(&state, &caller, &query).await?))
}

/// One case.
#[utoipa::path(
    get, path = "/api/v1/mediation-cases/{id}", tag = "mediation", operation_id = "get_case",
    params(("id" = Uuid, Path, description = "Case id")),
    responses(
        (status = 200, description = "The case", body = CaseView, headers(("ETag" = String))),
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
    let id = parse_case_id(&id)?;
    let (view, version) = cases::get(&state, &caller, id).await?;
    respond(view, version, StatusCode::OK)
}

/// Runs one command on a case the caller can see (`stream_endpoint!`).
async fn dispatch(
    state: &AppState,
    caller: &Caller,
    request_id: &RequestId,
    id: CaseId,
    headers: &HeaderMap,
    reason: Option<String>,
    action: MediationAction,
) -> Result<Response, ApiError> {
    let expected = if_match(headers)?;
    let (view, version) =
        cases::run(state, caller, &request_id.0, id, expected, reason, action).await?;
    respond(view, version, StatusCode::OK)
}

/// A command endpoint on one case (see `stream_endpoint!`).
macro_rules! case_endpoint {
    ($($rest:tt)*) => {
        stream_endpoint!(
            tag = "mediation", view = CaseView, action = MediationAction,
            parse_id = parse_case_id, $($rest)*
        );
    };
}

case_endpoint!(
    /// Schedule a session at a place or as an item of a joint meeting (the mediator).
    schedule, "/api/v1/mediation-cases/{id}/sessions", ScheduleRequest, ApiJson,
    (("id" = Uuid, Path, description = "Case id")),
    |state, caller, id, req, _sub| {
        cases::schedule(state, caller, id, &req).await?
    }
);

case_endpoint!(
    /// Record a held session: attendance and statements (the mediator).
    record, "/api/v1/mediation-cases/{id}/sessions/{session}/record", RecordRequest, ApiJson,
    (("id" = Uuid, Path, description = "Case id"), ("session" = u32, Path, description = "Session number")),
    |_state, _caller, _id, req, session| {
        cases::record(&session, &req)?
    }
);

case_endpoint!(
    /// Propose terms and per-party obligations (the mediator).
    propose, "/api/v1/mediation-cases/{id}/proposal", ProposeRequest, ApiJson,
    (("id" = Uuid, Path, description = "Case id")),
    |_state, _caller, _id, req, _sub| {
        cases::propose(&req)?
    }
);

case_endpoint!(
    /// Accept the pending proposal: a party for itself, or the mediator
    /// recording a party's signature. When every party has accepted, it is
    /// the agreement and the case's grievances are resolved by it.
    accept_proposal, "/api/v1/mediation-cases/{id}/proposal/acceptance", AcceptRequest, OptionalJson,
    (("id" = Uuid, Path, description = "Case id")),
    |state, caller, id, req, _sub| {
        cases::accept(state, caller, id, &req).await?
    }
);

case_endpoint!(
    /// Decline the pending proposal with a reason; the case goes on.
    decline, "/api/v1/mediation-cases/{id}/proposal/decline", DeclineRequest, ApiJson,
    (("id" = Uuid, Path, description = "Case id")),
    |state, caller, id, req, _sub| {
        cases::decline(state, caller, id, &req).await?
    }
);

case_endpoint!(
    /// End the mediation without agreement (调解不成): its grievances climb
    /// one tier (`escalate`) or are referred out (the mediator).
    fail, "/api/v1/mediation-cases/{id}/failure", FailRequest, ApiJson,
    (("id" = Uuid, Path, description = "Case id")),
    |_state, _caller, _id, req, _sub| {
        cases::fail(&req)?
    }
);

case_endpoint!(
    /// Mark an obligation fulfilled (the mediator, or the obligated party).
    fulfil, "/api/v1/mediation-cases/{id}/obligations/{obligation}/fulfilment", ObligationNoteRequest, OptionalJson,
    (("id" = Uuid, Path, description = "Case id"), ("obligation" = Uuid, Path, description = "Obligation id")),
    |_state, _caller, _id, req, obligation| {
        cases::fulfil(&obligation, &req)?
    }
);

case_endpoint!(
    /// Mark an obligation missed (the mediator): the case and its
    /// grievances reopen. The service does the same when it falls due.
    missed, "/api/v1/mediation-cases/{id}/obligations/{obligation}/missed", ObligationNoteRequest, OptionalJson,
    (("id" = Uuid, Path, description = "Case id"), ("obligation" = Uuid, Path, description = "Obligation id")),
    |_state, _caller, _id, req, obligation| {
        cases::missed(&obligation, &req)?
    }
);
