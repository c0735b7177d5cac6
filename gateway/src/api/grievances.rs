//! `/api/v1/grievances`: filing, reading, and one POST per lifecycle command.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use lianxi_domain::values::MatterClass;
use lianxi_domain::values::{Comment, GrievanceId, Reason, Statement};
use lianxi_domain::{GrievanceAction, Status};

use super::dto::*;
use super::error::{ApiError, Problem, PROBLEM};
use super::json::{ApiJson, ApiQuery, OptionalJson};
use super::request_id::RequestId;
use super::AppState;
use crate::app::auth::{Caller, ClientAddress};
use crate::app::dto::wire;
pub(super) use crate::app::grievances::{field, optional_field, view, visible};
use crate::app::lists::{Cursor, ListFilter};
use crate::app::paging::{page_limit, DEFAULT_PAGE};
use crate::app::reads::format_position;
use crate::app::Committed;
use crate::app::{duplicates, grievances, lists, policy, registry};

pub(super) fn parse_id(id: &str) -> Result<GrievanceId, ApiError> {
    GrievanceId::parse(id).map_err(|_| ApiError::not_found())
}

/// What [`if_match`] reads, as the OpenAPI document states it: a version,
/// bare or as its (weak) entity tag.
pub(super) const IF_MATCH_PATTERN: &str = r#"^[ \t]*(W/)*"*\+?[0-9]{1,19}"*[ \t]*$"#;

/// `If-Match: 3` or `If-Match: "3"`.
pub(super) fn if_match(headers: &HeaderMap) -> Result<Option<usize>, ApiError> {
    let Some(value) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .map(|v| v.trim().trim_start_matches("W/").trim_matches('"'))
        .and_then(|v| v.parse::<usize>().ok())
        .map(Some)
        .ok_or_else(|| ApiError::bad_header("If-Match", "must be a version number such as \"3\""))
}

pub(super) fn etag(version: usize) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{version}\""))
        .unwrap_or_else(|_| HeaderValue::from_static("\"0\""))
}

pub(super) fn command_response(
    id: GrievanceId,
    committed: &Committed,
    status: StatusCode,
) -> Result<Response, ApiError> {
    let state = committed.state.state().ok_or_else(ApiError::internal)?;
    let body = CommandResponse {
        id: id.0,
        version: committed.version as u64,
        status: state.status.into(),
        tier: state.tier.into(),
        position: committed.position.map(format_position),
    };
    let mut response = (status, Json(body)).into_response();
    response
        .headers_mut()
        .insert(header::ETAG, etag(committed.version));
    Ok(response)
}

/// File a grievance.
#[utoipa::path(
    post, path = "/api/v1/grievances", tag = "grievances",
    request_body = FileGrievanceRequest,
    responses(
        (status = 201, description = "Filed", body = CommandResponse,
         headers(("Location" = String, description = "The new grievance"), ("ETag" = String))),
        (status = 400, description = "Malformed body", body = Problem, content_type = PROBLEM),
        (status = 401, description = "No or bad token", body = Problem, content_type = PROBLEM),
        (status = 403, description = "This role may not file", body = Problem, content_type = PROBLEM),
        (status = 413, description = "Body too large", body = Problem, content_type = PROBLEM),
        (status = 415, description = "Not JSON", body = Problem, content_type = PROBLEM),
        (status = 422, description = "A field is invalid", body = Problem, content_type = PROBLEM),
    ),
    security(("bearer" = []))
)]
pub async fn file(
    State(state): State<AppState>,
    Extension(request_id): Extension<RequestId>,
    ClientAddress(client): ClientAddress,
    caller: Caller,
    ApiJson(body): ApiJson<FileGrievanceRequest>,
) -> Result<Response, ApiError> {
    let new = grievances::parse_filing(&body)?;
    let (id, committed) = grievances::file(&state, &caller, &request_id.0, client, new).await?;
    let mut response = command_response(id, &committed, StatusCode::CREATED)?;
    let location = HeaderValue::from_str(&format!("/api/v1/grievances/{id}"))
        .map_err(|_| ApiError::internal())?;
    response.headers_mut().insert(header::LOCATION, location);
    Ok(response)
}

/// Public figures (三率) of the grievances filed in a scope and period. No
/// token needed: the answer holds no personal data.
#[utoipa::path(
    get, path = "/api/v1/figures", tag = "figures",
    params(FiguresQuery),
    responses(
        (status = 200, description = "The figures", body = FiguresDto),
        (status = 400, description = "A query parameter is invalid", body = Problem, content_type = PROBLEM),
    )
)]
pub async fn figures(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<FiguresQuery>,
) -> Result<Json<FiguresDto>, ApiError> {
    let scope = lists::FiguresScope {
        xiaoqu: registry::named(&state, "xiaoqu", query.xiaoqu.as_deref(), true)
            .await?
            .map(|x| x.0),
        party: query.party.map(Into::into),
        tier: query.tier.map(Into::into),
        filed_from: query.filed_from,
        filed_to: query.filed_to,
    };
    let (f, now, at) = lists::figures(&state, &scope, query.min_position.as_deref()).await?;
    Ok(Json(FiguresDto {
        filed: f.filed,
        response_rate: f.response_rate.into(),
        resolution_rate: f.resolution_rate.into(),
        satisfaction_rate: f.satisfaction_rate.into(),
        escalation_rate: f.escalation_rate.into(),
        reopen_rate: f.reopen_rate.into(),
        median_seconds_to_accept: f.median_seconds_to_accept,
        median_seconds_to_respond: f.median_seconds_to_respond,
        median_seconds_to_resolve: f.median_seconds_to_resolve,
        as_of: now,
        position: format_position(at.position),
        caught_up: at.caught_up,
    }))
}

/// The escalation queue of a tier: its open items, most overdue first.
#[utoipa::path(
    get, path = "/api/v1/escalation-queue", tag = "grievances",
    params(QueueQuery),
    responses(
        (status = 200, description = "Open items of the tier", body = EscalationQueue),
        (status = 400, description = "A query parameter is invalid", body = Problem, content_type = PROBLEM),
        (status = 401, description = "No or bad token", body = Problem, content_type = PROBLEM),
        (status = 403, description = "This role has no queue", body = Problem, content_type = PROBLEM),
    ),
    security(("bearer" = []))
)]
pub async fn queue(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<QueueQuery>,
) -> Result<Json<EscalationQueue>, ApiError> {
    let limit = page_limit(query.limit, 100)?;
    let queue = lists::queue(
        &state,
        &caller,
        query.tier.map(Into::into),
        limit,
        query.min_position.as_deref(),
    )
    .await?;
    let now = queue.now;
    Ok(Json(EscalationQueue {
        tier: queue.tier.into(),
        now,
        items: queue
            .items
            .iter()
            .filter_map(|item| {
                let g = &item.state;
                let stage = g.current_stage()?;
                Some(QueueItemDto {
                    grievance: view(&state, &caller, g, item.version as usize),
                    stage: stage.into(),
                    due_at: g.deadline.map(|d| d.due_at),
                    overdue_seconds: g.deadline.map(|d| (now - d.due_at).num_seconds()),
                    paused: g.paused.is_some(),
                    urgent_meeting: g.matter_class == Some(MatterClass::Major),
                    convene_in: g.urgent_meeting_pending().then_some(g.xiaoqu.0),
                })
            })
            .collect(),
        position: format_position(queue.standing.position),
        caught_up: queue.standing.caught_up,
    }))
}

/// List the grievances the caller may see, newest first.
#[utoipa::path(
    get, path = "/api/v1/grievances", tag = "grievances", operation_id = "list_grievances",
    params(ListQuery),
    responses(
        (status = 200, description = "A page of grievances", body = GrievancePage),
        (status = 400, description = "A query parameter is invalid", body = Problem, content_type = PROBLEM),
        (status = 401, description = "No or bad token", body = Problem, content_type = PROBLEM),
    ),
    security(("bearer" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<GrievancePage>, ApiError> {
    let limit = page_limit(query.limit, DEFAULT_PAGE)?;
    let cursor = query
        .cursor
        .as_deref()
        .map(|c| {
            Cursor::decode(c)
                .ok_or_else(|| ApiError::bad_query("cursor", "is not a cursor this service issued"))
        })
        .transpose()?;
    let filter = ListFilter {
        xiaoqu: registry::named(&state, "xiaoqu", query.xiaoqu.as_deref(), true)
            .await?
            .map(|x| x.0),
        status: query.status.map(|s| Status::from(s).as_str().to_owned()),
        category: query.category.map(|c| wire(&c)),
        respondent: query.respondent.map(|r| wire(&r)),
        tier: query.tier.map(|t| wire(&t)),
        assigned_party: query.assigned_party.map(|p| wire(&p)),
        filed_from: query.filed_from,
        filed_to: query.filed_to,
    };
    let (page, at) = lists::list(
        &state,
        &caller,
        &filter,
        cursor,
        limit,
        query.min_position.as_deref(),
    )
    .await?;
    Ok(Json(GrievancePage {
        items: page
            .items
            .iter()
            .map(|(g, v)| view(&state, &caller, g, *v as usize))
            .collect(),
        next_cursor: page.next.map(|c| c.encode()),
        position: format_position(at.position),
        caught_up: at.caught_up,
    }))
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct GetQuery {
    /// Replay the grievance's history up to this instant (RFC 3339) and
    /// answer its state as it was then.
    #[param(format = DateTime)]
    pub as_of: Option<String>,
}

/// Read one grievance, now or as of an earlier instant.
#[utoipa::path(
    get, path = "/api/v1/grievances/{id}", tag = "grievances", operation_id = "get_grievance",
    params(("id" = Uuid, Path, description = "Grievance id"), GetQuery),
    responses(
        (status = 200, description = "The grievance (with `as_of`: as it stood then; `version` counts the events replayed)", body = GrievanceView, headers(("ETag" = String))),
        (status = 400, description = "`as_of` is not an RFC 3339 instant", body = Problem, content_type = PROBLEM),
        (status = 401, description = "No or bad token", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such grievance visible to the caller (or not yet filed at `as_of`)", body = Problem, content_type = PROBLEM),
    ),
    security(("bearer" = []))
)]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<GetQuery>,
) -> Result<Response, ApiError> {
    let as_of = query
        .as_of
        .as_deref()
        .map(|t| {
            chrono::DateTime::parse_from_rfc3339(t)
                .map(|t| t.with_timezone(&chrono::Utc))
                .map_err(|_| ApiError::bad_query("as_of", "must be an RFC 3339 instant"))
        })
        .transpose()?;
    let id = parse_id(&id)?;
    let (g, version) = visible(&state, &caller, id).await?;
    let (g, version) = match as_of {
        None => (g, version),
        Some(at) => {
            let (past, replayed) = crate::app::story::state_as_of(&state, id, at)
                .await
                .map_err(|e| {
                    tracing::error!(error = %e, "cannot replay a grievance");
                    ApiError::internal()
                })?
                .ok_or_else(ApiError::not_found)?;
            let past = past.state().cloned().ok_or_else(ApiError::not_found)?;
            (past, replayed)
        }
    };
    let mut view = view(&state, &caller, &g, version);
    if policy::sees_filer_identity(&caller.0, &g) {
        view.filer_contact = super::identity::contact(&state, g.filer).await?;
    }
    if g.category == lianxi_domain::values::Category::MaintenanceFund {
        view.fund_votes = Some(crate::app::votes::fund_votes(&state, g.xiaoqu).await?);
    }
    let mut response = Json(view).into_response();
    response.headers_mut().insert(header::ETAG, etag(version));
    Ok(response)
}

/// The grievance's event stream, in order.
#[utoipa::path(
    get, path = "/api/v1/grievances/{id}/events", tag = "grievances",
    params(("id" = Uuid, Path, description = "Grievance id")),
    responses(
        (status = 200, description = "The stream in sequence order", body = EventList),
        (status = 401, description = "No or bad token", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such grievance visible to the caller", body = Problem, content_type = PROBLEM),
    ),
    security(("bearer" = []))
)]
pub async fn events(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<EventList>, ApiError> {
    let id = parse_id(&id)?;
    let stored = grievances::history(&state, &caller, id).await?;
    let events = stored
        .into_iter()
        .map(|e| EventView {
            sequence: e.sequence,
            global_position: e.global_position,
            event_id: e.event_id,
            event_type: e.event_type,
            event_version: e.event_version,
            recorded_at: e.recorded_at,
            payload: e.payload,
            metadata: e.metadata,
            hash: e.hash.as_deref().map(hex::encode),
        })
        .collect();
    Ok(Json(EventList {
        grievance: id.0,
        events,
    }))
}

/// Declares a lifecycle command endpoint: path, request body, and how the
/// body becomes the stated reason (kept in metadata) and a domain action.
macro_rules! command_endpoint {
    // A body read with OptionalJson is documented as optional.
    (
        $(#[$doc:meta])*
        $name:ident, $path:literal, $body:ty, OptionalJson,
        |$req:ident| $build:block
    ) => {
        command_endpoint!(@documented [Option<$body>] $(#[$doc])* $name, $path, $body, OptionalJson, |$req| $build);
    };
    (
        $(#[$doc:meta])*
        $name:ident, $path:literal, $body:ty, ApiJson,
        |$req:ident| $build:block
    ) => {
        command_endpoint!(@documented [$body] $(#[$doc])* $name, $path, $body, ApiJson, |$req| $build);
    };
    (
        @documented [$($documented:tt)*]
        $(#[$doc:meta])*
        $name:ident, $path:literal, $body:ty, $extract:ident,
        |$req:ident| $build:block
    ) => {
        $(#[$doc])*
        #[utoipa::path(
            post, path = $path, tag = "grievances",
            params(
                ("id" = Uuid, Path, description = "Grievance id"),
                ("If-Match" = Option<String>, Header, description = "Apply only at this version, else 412"),
            ),
            request_body = $($documented)*,
            responses(
                (status = 200, description = "Applied", body = CommandResponse, headers(("ETag" = String))),
                (status = 400, description = "Malformed body or header", body = Problem, content_type = PROBLEM),
                (status = 401, description = "No or bad token", body = Problem, content_type = PROBLEM),
                (status = 403, description = "This account may not do this", body = Problem, content_type = PROBLEM),
                (status = 404, description = "No such grievance visible to the caller", body = Problem, content_type = PROBLEM),
                (status = 409, description = "Not allowed in the current status, or concurrent change", body = Problem, content_type = PROBLEM),
                (status = 412, description = "Stale If-Match version", body = Problem, content_type = PROBLEM),
                (status = 413, description = "Body too large", body = Problem, content_type = PROBLEM),
                (status = 415, description = "Not JSON", body = Problem, content_type = PROBLEM),
                (status = 422, description = "Invalid field or broken rule", body = Problem, content_type = PROBLEM),
            ),
            security(("bearer" = []))
        )]
        pub async fn $name(
            State(state): State<AppState>,
            Extension(request_id): Extension<RequestId>,
            caller: Caller,
            Path(id): Path<String>,
            headers: HeaderMap,
            $extract($req): $extract<$body>,
        ) -> Result<Response, ApiError> {
            let id = parse_id(&id)?;
            let expected = if_match(&headers)?;
            let (reason, action): (Option<String>, GrievanceAction) = $build;
            let committed =
                grievances::run(&state, &caller, &request_id.0, id, expected, reason, action).await?;
            command_response(id, &committed, StatusCode::OK)
        }
    };
}

command_endpoint!(
    /// Accept a filed grievance (party branch).
    accept, "/api/v1/grievances/{id}/accept", EmptyRequest, OptionalJson,
    |_req| {
        (None, GrievanceAction::AcceptGrievance)
    }
);

command_endpoint!(
    /// Reject a filed grievance with a reason (party branch).
    reject, "/api/v1/grievances/{id}/reject", ReasonRequest, ApiJson,
    |req| {
        let reason = field("reason", Reason::parse(&req.reason))?;
        (Some(reason.as_str().to_owned()), GrievanceAction::RejectGrievance { reason })
    }
);

command_endpoint!(
    /// Triage: matter class, responsible tier and party (三事分流).
    triage, "/api/v1/grievances/{id}/triage", TriageRequest, ApiJson,
    |req| {
        (None, GrievanceAction::TriageGrievance {
            matter_class: req.matter_class.into(),
            tier: req.tier.map(Into::into),
            party: req.party.into(),
        })
    }
);

command_endpoint!(
    /// Assign the party that must respond (defaults to the one named at triage).
    assign, "/api/v1/grievances/{id}/assign", AssignRequest, ApiJson,
    |req| {
        let note = optional_field("note", req.note.as_deref(), Reason::parse)?;
        (None, GrievanceAction::AssignGrievance {
            party: req.party.map(Into::into),
            note,
        })
    }
);

command_endpoint!(
    /// Respond (the assigned party).
    respond, "/api/v1/grievances/{id}/respond", RespondRequest, ApiJson,
    |req| {
        let response = field("response", Statement::parse(&req.response))?;
        (None, GrievanceAction::RespondToGrievance { response })
    }
);

command_endpoint!(
    /// Escalate one tier up (`manual` by the handler, `filer_request` by the filer).
    escalate, "/api/v1/grievances/{id}/escalate", EscalateRequest, ApiJson,
    |req| {
        let note = optional_field("note", req.note.as_deref(), Reason::parse)?;
        let reason = note.as_ref().map(|n| n.as_str().to_owned());
        (reason, GrievanceAction::EscalateGrievance {
            reason: req.reason.into(),
            note,
        })
    }
);

command_endpoint!(
    /// Stop the deadline clock, e.g. while waiting for the filer (the handler).
    pause, "/api/v1/grievances/{id}/pause", ReasonRequest, ApiJson,
    |req| {
        let reason = field("reason", Reason::parse(&req.reason))?;
        (Some(reason.as_str().to_owned()), GrievanceAction::PauseDeadline { reason })
    }
);

command_endpoint!(
    /// Restart a paused deadline clock with the time it had left (the handler).
    resume, "/api/v1/grievances/{id}/resume", EmptyRequest, OptionalJson,
    |_req| {
        (None, GrievanceAction::ResumeDeadline)
    }
);

command_endpoint!(
    /// Give or withdraw consent to reveal the filer's identity (name, phone,
    /// room) to the respondent (the filer). Without it the respondent sees a
    /// pseudonym.
    identity_consent, "/api/v1/grievances/{id}/identity-consent", IdentityConsentRequest, ApiJson,
    |req| {
        let reveal_to_respondent = req.reveal_to_respondent;
        (None, GrievanceAction::SetIdentityConsent { reveal_to_respondent })
    }
);

command_endpoint!(
    /// Withdraw (the filer, before resolution).
    withdraw, "/api/v1/grievances/{id}/withdraw", WithdrawRequest, OptionalJson,
    |req| {
        let reason = optional_field("reason", req.reason.as_deref(), Reason::parse)?;
        (reason.as_ref().map(|r| r.as_str().to_owned()), GrievanceAction::WithdrawGrievance { reason })
    }
);

command_endpoint!(
    /// Resolve a responded grievance (the handler at the current tier).
    resolve, "/api/v1/grievances/{id}/resolve", ResolveRequest, ApiJson,
    |req| {
        let summary = field("summary", Statement::parse(&req.summary))?;
        (None, GrievanceAction::ResolveGrievance { summary })
    }
);

command_endpoint!(
    /// Rate the outcome (the filer); closes the grievance.
    rate, "/api/v1/grievances/{id}/rate", RateRequest, ApiJson,
    |req| {
        let comment = optional_field("comment", req.comment.as_deref(), Comment::parse)?;
        (None, GrievanceAction::RateOutcome {
            rating: req.rating.into(),
            comment,
        })
    }
);

command_endpoint!(
    /// Ask for collective discussion at the next regular joint meeting
    /// (the handler; major matters are sent to an urgent meeting at triage).
    refer_to_meeting, "/api/v1/grievances/{id}/refer-to-meeting", ReferToMeetingRequest, OptionalJson,
    |req| {
        let note = optional_field("note", req.note.as_deref(), Reason::parse)?;
        (note.as_ref().map(|n| n.as_str().to_owned()), GrievanceAction::ReferToMeeting { note })
    }
);

command_endpoint!(
    /// Reopen within the reopen window (the filer, if not satisfied).
    reopen, "/api/v1/grievances/{id}/reopen", ReasonRequest, ApiJson,
    |req| {
        let reason = field("reason", Reason::parse(&req.reason))?;
        (Some(reason.as_str().to_owned()), GrievanceAction::ReopenGrievance { reason })
    }
);

/// The open grievances of the caller's xiaoqu that look like a draft about
/// to be filed, most alike first (at most 3): read before filing, so that one
/// matter is filed once.
#[utoipa::path(
    get, path = "/api/v1/grievances/likely-duplicates", tag = "grievances",
    params(DraftQuery),
    responses(
        (status = 200, description = "Likely duplicates", body = LikelyDuplicates),
        (status = 400, description = "A query parameter is invalid", body = Problem, content_type = PROBLEM),
        (status = 401, description = "No or bad token", body = Problem, content_type = PROBLEM),
    ),
    security(("bearer" = []))
)]
pub async fn likely_duplicates_of_draft(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<DraftQuery>,
) -> Result<Json<LikelyDuplicates>, ApiError> {
    let title = query.title.trim();
    if title.is_empty() || title.chars().count() > 500 {
        return Err(ApiError::bad_query("title", "must be 1 to 500 characters"));
    }
    let building = query.building.as_deref().unwrap_or_default();
    if building.chars().count() > 100 {
        return Err(ApiError::bad_query(
            "building",
            "must be at most 100 characters",
        ));
    }
    let category = wire(&query.category);
    let found = duplicates::likely(&state, &caller, &category, title, building).await;
    Ok(Json(LikelyDuplicates {
        items: found.into_iter().map(Into::into).collect(),
    }))
}

/// The open grievances of the same xiaoqu that look like this one, most
/// alike first (at most 100), for the handler who merges duplicates.
#[utoipa::path(
    get, path = "/api/v1/grievances/{id}/likely-duplicates", tag = "grievances",
    params(("id" = Uuid, Path, description = "Grievance id")),
    responses(
        (status = 200, description = "Likely duplicates", body = LikelyDuplicates),
        (status = 401, description = "No or bad token", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such grievance visible to the caller", body = Problem, content_type = PROBLEM),
    ),
    security(("bearer" = []))
)]
pub async fn likely_duplicates(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<LikelyDuplicates>, ApiError> {
    let id = parse_id(&id)?;
    let found = duplicates::likely_for(&state, &caller, id).await?;
    Ok(Json(LikelyDuplicates {
        items: found.into_iter().map(Into::into).collect(),
    }))
}

/// Merge several duplicates into this grievance (the primary), all or none:
/// one refused duplicate refuses the request and nothing is written. Each
/// duplicate's filer then rates and may ask to reopen as their own household.
#[utoipa::path(
    post, path = "/api/v1/grievances/{id}/duplicates", tag = "grievances",
    params(("id" = Uuid, Path, description = "The primary grievance")),
    request_body = MergeDuplicatesRequest,
    responses(
        (status = 200, description = "All merged; the primary as it stands, `position` of the last change", body = CommandResponse, headers(("ETag" = String))),
        (status = 400, description = "Malformed body", body = Problem, content_type = PROBLEM),
        (status = 401, description = "No or bad token", body = Problem, content_type = PROBLEM),
        (status = 403, description = "This account may not merge", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such primary visible to the caller", body = Problem, content_type = PROBLEM),
        (status = 409, description = "The primary takes no duplicates in its status", body = Problem, content_type = PROBLEM),
        (status = 422, description = "A duplicate cannot be merged (each named as `duplicates[i]`)", body = Problem, content_type = PROBLEM),
    ),
    security(("bearer" = []))
)]
pub async fn merge_duplicates(
    State(state): State<AppState>,
    Extension(request_id): Extension<RequestId>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<MergeDuplicatesRequest>,
) -> Result<Response, ApiError> {
    let primary = parse_id(&id)?;
    let duplicates: Vec<GrievanceId> = req.duplicates.into_iter().map(GrievanceId).collect();
    let committed =
        grievances::merge_many(&state, &caller, &request_id.0, primary, &duplicates).await?;
    command_response(primary, &committed, StatusCode::OK)
}

/// Merge this grievance, a duplicate, into a primary grievance of the same xiaoqu.
#[utoipa::path(
    post, path = "/api/v1/grievances/{id}/merge", tag = "grievances",
    params(
        ("id" = Uuid, Path, description = "The duplicate grievance"),
        ("If-Match" = Option<String>, Header, description = "Apply only at this version, else 412"),
    ),
    request_body = MergeRequest,
    responses(
        (status = 200, description = "Merged", body = CommandResponse, headers(("ETag" = String))),
        (status = 400, description = "Malformed body or header", body = Problem, content_type = PROBLEM),
        (status = 401, description = "No or bad token", body = Problem, content_type = PROBLEM),
        (status = 403, description = "This account may not merge", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such grievance visible to the caller", body = Problem, content_type = PROBLEM),
        (status = 409, description = "Not allowed in the current status", body = Problem, content_type = PROBLEM),
        (status = 412, description = "Stale If-Match version", body = Problem, content_type = PROBLEM),
        (status = 422, description = "Invalid primary", body = Problem, content_type = PROBLEM),
    ),
    security(("bearer" = []))
)]
pub async fn merge(
    State(state): State<AppState>,
    Extension(request_id): Extension<RequestId>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<MergeRequest>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let expected = if_match(&headers)?;
    let primary = GrievanceId(req.primary);
    let committed =
        grievances::merge(&state, &caller, &request_id.0, id, expected, primary).await?;
    command_response(id, &committed, StatusCode::OK)
}
