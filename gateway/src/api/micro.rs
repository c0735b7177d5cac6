//! `/api/v1/micro-funds` and `/api/v1/micro-projects`: micro-governance
//! (五微工作法). Funds of a xiaoqu or a community take donations and grants
//! and pay, with receipts, for their own projects once approved and under
//! way; projects go from proposal to closing (征集 → 评审 → 公示 → 实施 →
//! 评估 → 结项).
//!
//! Who sees what: anyone whose scope covers a project's xiaoqu reads the
//! project, anyone whose scope covers a fund's place (or a xiaoqu of its
//! community) reads the fund. Proposers appear by role only. Anyone else
//! gets 404.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Serialize;

use super::error::{ApiError, Problem, PROBLEM};
use super::grievances::{etag, if_match};
use super::json::{ApiJson, ApiQuery};
use super::request_id::RequestId;
use super::AppState;
use crate::app::auth::Caller;
use crate::app::micro::projects::{self, Step};
use crate::app::micro::{funds, parse_fund_id, parse_project_id};
pub use crate::app::micro::{
    FundList, FundQuery, FundView, IncomeRequest, MicroStory, OpenFundRequest, ProjectList,
    ProjectQuery, ProjectView, ProposeProjectRequest, PublishRequest, RatingRequest, ReportRequest,
    ReviewRequest, SpendingRequest, TextRequest,
};
use crate::http::download::send;

/// The body, its version as the `ETag`, and where a new one is (as the
/// `Location` of a 201).
pub(super) fn respond<T: Serialize>(
    body: T,
    location: String,
    version: usize,
    status: StatusCode,
) -> Result<Response, ApiError> {
    let mut response = (status, Json(body)).into_response();
    response.headers_mut().insert(header::ETAG, etag(version));
    if status == StatusCode::CREATED {
        let location = HeaderValue::from_str(&location).map_err(|_| ApiError::internal())?;
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

fn fund_answer(
    (view, version): (FundView, usize),
    status: StatusCode,
) -> Result<Response, ApiError> {
    let location = format!("/api/v1/micro-funds/{}", view.summary.id);
    respond(view, location, version, status)
}

fn project_answer(
    (view, version): (ProjectView, usize),
    status: StatusCode,
) -> Result<Response, ApiError> {
    let location = format!("/api/v1/micro-projects/{}", view.summary.id);
    respond(view, location, version, status)
}

const NO_FUND: &str = "No such fund visible to the caller";
const NO_PROJECT: &str = "No such project visible to the caller";

/// Open a micro-fund: a xiaoqu's (its party branch) or a community's (the
/// community), named after its donor or crowd-funded.
#[utoipa::path(
    post, path = "/api/v1/micro-funds", tag = "micro", operation_id = "open_fund",
    request_body = OpenFundRequest,
    responses(
        (status = 201, description = "Opened", body = FundView,
         headers(("Location" = String, description = "The new fund"), ("ETag" = String))),
        (status = 400, description = "Malformed body", body = Problem, content_type = PROBLEM),
        (status = 401, description = "No or bad token", body = Problem, content_type = PROBLEM),
        (status = 403, description = "Only the place's keeper opens its funds", body = Problem, content_type = PROBLEM),
        (status = 415, description = "Not JSON", body = Problem, content_type = PROBLEM),
        (status = 422, description = "A field is invalid, or the place is outside the caller's scope", body = Problem, content_type = PROBLEM),
    ),
    security(("bearer" = []))
)]
pub async fn open_fund(
    State(state): State<AppState>,
    Extension(request_id): Extension<RequestId>,
    caller: Caller,
    ApiJson(body): ApiJson<OpenFundRequest>,
) -> Result<Response, ApiError> {
    fund_answer(
        funds::open(&state, &caller, &request_id.0, &body).await?,
        StatusCode::CREATED,
    )
}

/// The funds serving a xiaoqu (its own and its community's), or a
/// community's own, with their balances.
#[utoipa::path(
    get, path = "/api/v1/micro-funds", tag = "micro", operation_id = "list_funds",
    params(FundQuery),
    responses(
        (status = 200, description = "The funds, oldest first", body = FundList),
        (status = 400, description = "A query parameter is invalid", body = Problem, content_type = PROBLEM),
        (status = 401, description = "No or bad token", body = Problem, content_type = PROBLEM),
    ),
    security(("bearer" = []))
)]
pub async fn list_funds(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<FundQuery>,
) -> Result<Json<FundList>, ApiError> {
    Ok(Json(funds::list(&state, &caller, &query).await?))
}

/// One fund with every entry and the balance after each.
#[utoipa::path(
    get, path = "/api/v1/micro-funds/{id}", tag = "micro", operation_id = "get_fund",
    params(("id" = Uuid, Path, description = "Fund id")),
    responses(
        (status = 200, description = "The fund", body = FundView, headers(("ETag" = String))),
        (status = 401, description = "No or bad token", body = Problem, content_type = PROBLEM),
        (status = 404, description = NO_FUND, body = Problem, content_type = PROBLEM),
    ),
    security(("bearer" = []))
)]
pub async fn get_fund(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_fund_id(&id)?;
    fund_answer(funds::get(&state, &caller, id).await?, StatusCode::OK)
}

/// Record money received: a named or anonymous donation, or a grant,
/// optionally earmarked for a project of the fund (the fund's keeper).
#[utoipa::path(
    post, path = "/api/v1/micro-funds/{id}/income", tag = "micro", operation_id = "receive_money",
    params(
        ("id" = Uuid, Path, description = "Fund id"),
        ("If-Match" = Option<String>, Header, description = "Apply only at this version, else 412"),
    ),
    request_body = IncomeRequest,
    responses(
        (status = 200, description = "The fund", body = FundView, headers(("ETag" = String))),
        (status = 400, description = "Malformed body", body = Problem, content_type = PROBLEM),
        (status = 401, description = "No or bad token", body = Problem, content_type = PROBLEM),
        (status = 403, description = "Only the fund's keeper records money", body = Problem, content_type = PROBLEM),
        (status = 404, description = NO_FUND, body = Problem, content_type = PROBLEM),
        (status = 412, description = "Stale If-Match version", body = Problem, content_type = PROBLEM),
        (status = 415, description = "Not JSON", body = Problem, content_type = PROBLEM),
        (status = 422, description = "A field is invalid", body = Problem, content_type = PROBLEM),
    ),
    security(("bearer" = []))
)]
pub async fn receive_money(
    State(state): State<AppState>,
    Extension(request_id): Extension<RequestId>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<IncomeRequest>,
) -> Result<Response, ApiError> {
    let id = parse_fund_id(&id)?;
    let expected = if_match(&headers)?;
    fund_answer(
        funds::receive(&state, &caller, &request_id.0, id, expected, &body).await?,
        StatusCode::OK,
    )
}

/// Record money paid for a project of the fund that is approved and under
/// way, with its receipt (the fund's keeper); never more than the balance.
#[utoipa::path(
    post, path = "/api/v1/micro-funds/{id}/spending", tag = "micro", operation_id = "spend_money",
    params(
        ("id" = Uuid, Path, description = "Fund id"),
        ("If-Match" = Option<String>, Header, description = "Apply only at this version, else 412"),
    ),
    request_body = SpendingRequest,
    responses(
        (status = 200, description = "The fund", body = FundView, headers(("ETag" = String))),
        (status = 400, description = "Malformed body", body = Problem, content_type = PROBLEM),
        (status = 401, description = "No or bad token", body = Problem, content_type = PROBLEM),
        (status = 403, description = "Only the fund's keeper records money", body = Problem, content_type = PROBLEM),
        (status = 404, description = NO_FUND, body = Problem, content_type = PROBLEM),
        (status = 412, description = "Stale If-Match version", body = Problem, content_type = PROBLEM),
        (status = 415, description = "Not JSON", body = Problem, content_type = PROBLEM),
        (status = 422, description = "A field is invalid, the project is not the fund's or not under way, or the fund holds less", body = Problem, content_type = PROBLEM),
    ),
    security(("bearer" = []))
)]
pub async fn spend_money(
    State(state): State<AppState>,
    Extension(request_id): Extension<RequestId>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<SpendingRequest>,
) -> Result<Response, ApiError> {
    let id = parse_fund_id(&id)?;
    let expected = if_match(&headers)?;
    fund_answer(
        funds::spend(&state, &caller, &request_id.0, id, expected, &body).await?,
        StatusCode::OK,
    )
}

/// A receipt of the fund's spending, for whoever reads the fund.
#[utoipa::path(
    get, path = "/api/v1/micro-funds/{id}/files/{sha256}", tag = "micro", operation_id = "fund_file",
    params(
        ("id" = Uuid, Path, description = "Fund id"),
        ("sha256" = String, Path, description = "The file's digest: SHA-256, 64 lowercase hex digits", pattern = r"^[0-9a-f]{64}$"),
    ),
    responses(
        (status = 200, description = "The file, as the media type it was stored as",
            content(("image/jpeg"), ("image/png"), ("image/webp"), ("application/pdf"))),
        (status = 401, description = "No or bad token", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such fund or receipt visible to the caller", body = Problem, content_type = PROBLEM),
        (status = 410, description = "The file is no longer stored", body = Problem, content_type = PROBLEM),
    ),
    security(("bearer" = []))
)]
pub async fn fund_file(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, sha256)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let id = parse_fund_id(&id)?;
    Ok(send(funds::file(&state, &caller, id, &sha256).await?))
}

/// A fund's history, for auditors and admins: every event with its chain
/// hash and the actor as role and pseudonym.
#[utoipa::path(
    get, path = "/api/v1/micro-funds/{id}/story", tag = "audit", operation_id = "fund_story",
    params(("id" = Uuid, Path, description = "Fund id")),
    responses(
        (status = 200, description = "Every event of the fund in the order stored", body = MicroStory),
        (status = 401, description = "No or bad token", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such fund, or not for this role", body = Problem, content_type = PROBLEM),
    ),
    security(("bearer" = []))
)]
pub async fn fund_story(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<MicroStory>, ApiError> {
    let id = parse_fund_id(&id)?;
    let entries = funds::story(&state, &caller, id).await?;
    Ok(Json(MicroStory {
        stream: id.0,
        entries,
    }))
}

/// Propose a project of the caller's xiaoqu (a micro-organization or a
/// resident), to be paid by a fund serving it.
#[utoipa::path(
    post, path = "/api/v1/micro-projects", tag = "micro", operation_id = "propose_project",
    request_body = ProposeProjectRequest,
    responses(
        (status = 201, description = "Proposed", body = ProjectView,
         headers(("Location" = String, description = "The new project"), ("ETag" = String))),
        (status = 400, description = "Malformed body", body = Problem, content_type = PROBLEM),
        (status = 401, description = "No or bad token", body = Problem, content_type = PROBLEM),
        (status = 403, description = "Only micro-organizations and residents propose projects", body = Problem, content_type = PROBLEM),
        (status = 415, description = "Not JSON", body = Problem, content_type = PROBLEM),
        (status = 422, description = "A field is invalid, or the fund does not serve the xiaoqu", body = Problem, content_type = PROBLEM),
    ),
    security(("bearer" = []))
)]
pub async fn propose_project(
    State(state): State<AppState>,
    Extension(request_id): Extension<RequestId>,
    caller: Caller,
    ApiJson(body): ApiJson<ProposeProjectRequest>,
) -> Result<Response, ApiError> {
    project_answer(
        projects::propose(&state, &caller, &request_id.0, &body).await?,
        StatusCode::CREATED,
    )
}

/// The projects of a xiaoqu, latest proposal first.
#[utoipa::path(
    get, path = "/api/v1/micro-projects", tag = "micro", operation_id = "list_projects",
    params(ProjectQuery),
    responses(
        (status = 200, description = "The projects", body = ProjectList),
        (status = 400, description = "A query parameter is invalid", body = Problem, content_type = PROBLEM),
        (status = 401, description = "No or bad token", body = Problem, content_type = PROBLEM),
    ),
    security(("bearer" = []))
)]
pub async fn list_projects(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ProjectQuery>,
) -> Result<Json<ProjectList>, ApiError> {
    Ok(Json(projects::list(&state, &caller, &query).await?))
}

/// One project: its plan, review, notice and comments, reports with
/// receipts, evaluations, ratings and what its fund paid.
#[utoipa::path(
    get, path = "/api/v1/micro-projects/{id}", tag = "micro", operation_id = "get_project",
    params(("id" = Uuid, Path, description = "Project id")),
    responses(
        (status = 200, description = "The project", body = ProjectView, headers(("ETag" = String))),
        (status = 401, description = "No or bad token", body = Problem, content_type = PROBLEM),
        (status = 404, description = NO_PROJECT, body = Problem, content_type = PROBLEM),
    ),
    security(("bearer" = []))
)]
pub async fn get_project(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_project_id(&id)?;
    project_answer(projects::get(&state, &caller, id).await?, StatusCode::OK)
}

async fn run(
    state: &AppState,
    request_id: &RequestId,
    caller: &Caller,
    id: &str,
    headers: &HeaderMap,
    step: Step,
) -> Result<Response, ApiError> {
    let id = parse_project_id(id)?;
    let expected = if_match(headers)?;
    project_answer(
        projects::step(state, caller, &request_id.0, id, expected, step).await?,
        StatusCode::OK,
    )
}

/// One step of a project's lifecycle (`projects::Step`) as an endpoint,
/// documented with the refusals it may meet: who may not (403), in which
/// status not (409), and what is invalid (422).
macro_rules! project_step {
    (
        $(#[$doc:meta])*
        $name:ident, $path:literal,
        forbidden = $forbidden:literal
        $(, conflict = $conflict:literal)?
        $(, invalid = $invalid:literal)?,
        run = |$b:ident: $body:ty| $step:expr
    ) => {
        $(#[$doc])*
        #[utoipa::path(
            post, path = $path, tag = "micro", operation_id = stringify!($name),
            params(
                ("id" = Uuid, Path, description = "Project id"),
                ("If-Match" = Option<String>, Header, description = "Apply only at this version, else 412"),
            ),
            request_body = $body,
            responses(
                (status = 200, description = "The project", body = ProjectView, headers(("ETag" = String))),
                (status = 400, description = "Malformed body", body = Problem, content_type = PROBLEM),
                (status = 401, description = "No or bad token", body = Problem, content_type = PROBLEM),
                (status = 403, description = $forbidden, body = Problem, content_type = PROBLEM),
                (status = 404, description = NO_PROJECT, body = Problem, content_type = PROBLEM),
                $((status = 409, description = $conflict, body = Problem, content_type = PROBLEM),)?
                (status = 412, description = "Stale If-Match version", body = Problem, content_type = PROBLEM),
                (status = 415, description = "Not JSON", body = Problem, content_type = PROBLEM),
                $((status = 422, description = $invalid, body = Problem, content_type = PROBLEM),)?
            ),
            security(("bearer" = []))
        )]
        pub async fn $name(
            State(state): State<AppState>,
            Extension(request_id): Extension<RequestId>,
            caller: Caller,
            Path(id): Path<String>,
            headers: HeaderMap,
            ApiJson($b): ApiJson<$body>,
        ) -> Result<Response, ApiError> {
            run(&state, &request_id, &caller, &id, &headers, $step).await
        }
    };
    (
        $(#[$doc:meta])*
        $name:ident, $path:literal,
        forbidden = $forbidden:literal
        $(, conflict = $conflict:literal)?
        $(, invalid = $invalid:literal)?,
        run = $step:expr
    ) => {
        $(#[$doc])*
        #[utoipa::path(
            post, path = $path, tag = "micro", operation_id = stringify!($name),
            params(
                ("id" = Uuid, Path, description = "Project id"),
                ("If-Match" = Option<String>, Header, description = "Apply only at this version, else 412"),
            ),
            responses(
                (status = 200, description = "The project", body = ProjectView, headers(("ETag" = String))),
                (status = 400, description = "Malformed header", body = Problem, content_type = PROBLEM),
                (status = 401, description = "No or bad token", body = Problem, content_type = PROBLEM),
                (status = 403, description = $forbidden, body = Problem, content_type = PROBLEM),
                (status = 404, description = NO_PROJECT, body = Problem, content_type = PROBLEM),
                $((status = 409, description = $conflict, body = Problem, content_type = PROBLEM),)?
                (status = 412, description = "Stale If-Match version", body = Problem, content_type = PROBLEM),
                $((status = 422, description = $invalid, body = Problem, content_type = PROBLEM),)?
            ),
            security(("bearer" = []))
        )]
        pub async fn $name(
            State(state): State<AppState>,
            Extension(request_id): Extension<RequestId>,
            caller: Caller,
            Path(id): Path<String>,
            headers: HeaderMap,
        ) -> Result<Response, ApiError> {
            run(&state, &request_id, &caller, &id, &headers, $step).await
        }
    };
}

project_step!(
    /// Support a proposal (a resident of the xiaoqu); supporting twice changes nothing.
    support_project, "/api/v1/micro-projects/{id}/support",
    forbidden = "Only residents support proposals",
    conflict = "The project is past its proposal",
    run = Step::Support
);

project_step!(
    /// Shortlist a proposal for review (the party branch).
    shortlist_project, "/api/v1/micro-projects/{id}/shortlist",
    forbidden = "Only the party branch shortlists",
    conflict = "The project is not a fresh proposal",
    run = Step::Shortlist
);

project_step!(
    /// Record the branch's review with the parties: approved or declined, and why (the party branch).
    review_project, "/api/v1/micro-projects/{id}/review",
    forbidden = "Only the party branch reviews",
    conflict = "The project is not shortlisted",
    invalid = "A field is invalid",
    run = |body: ReviewRequest| Step::Review { approved: body.approved, opinion: body.opinion }
);

project_step!(
    /// Show an approved project publicly (公示) until the end of its comment period (the party branch).
    publish_project, "/api/v1/micro-projects/{id}/publish",
    forbidden = "Only the party branch publishes",
    conflict = "The project is not approved",
    invalid = "The comment period ends in the past",
    run = |body: PublishRequest| Step::Publish(body.comments_until)
);

project_step!(
    /// Comment on a project during its public notice (a resident); the comment is shown without its author.
    comment_on_project, "/api/v1/micro-projects/{id}/comments",
    forbidden = "Only residents comment",
    invalid = "A field is invalid, or the project is not taking comments",
    run = |body: TextRequest| Step::Comment(body.text)
);

project_step!(
    /// Start a project once its comment period is over (the party branch): the fund may then pay for it.
    start_project, "/api/v1/micro-projects/{id}/start",
    forbidden = "Only the party branch starts projects",
    conflict = "The project is not publicly noticed",
    invalid = "The comment period has not ended",
    run = Step::Start
);

project_step!(
    /// Report progress with receipts (the proposer; files uploaded first: POST /api/v1/files).
    report_progress, "/api/v1/micro-projects/{id}/reports",
    forbidden = "Only the proposer reports",
    conflict = "The project is not under way",
    invalid = "A field is invalid, no receipts, or a file was not uploaded by the caller",
    run = |body: ReportRequest| Step::Report(body)
);

project_step!(
    /// The proposer's own evaluation of the finished project.
    evaluate_project, "/api/v1/micro-projects/{id}/evaluation",
    forbidden = "Only the proposer evaluates it",
    conflict = "The project is not under way",
    invalid = "A field is invalid",
    run = |body: TextRequest| Step::Evaluate(body.text)
);

project_step!(
    /// Rate an evaluated project, 1 to 5 stars (a resident); rating again replaces it.
    rate_project, "/api/v1/micro-projects/{id}/ratings",
    forbidden = "Only residents rate",
    conflict = "The project is not evaluated",
    invalid = "A field is invalid",
    run = |body: RatingRequest| Step::Rate(body.stars)
);

project_step!(
    /// Record a third party's evaluation (the party branch).
    evaluate_project_as_third_party, "/api/v1/micro-projects/{id}/third-party-evaluation",
    forbidden = "Only the party branch records it",
    conflict = "The project is not evaluated",
    invalid = "A field is invalid",
    run = |body: TextRequest| Step::EvaluateAsThirdParty(body.text)
);

project_step!(
    /// Close an evaluated project (结项; the party branch).
    close_project, "/api/v1/micro-projects/{id}/close",
    forbidden = "Only the party branch closes projects",
    conflict = "The project is not evaluated",
    run = Step::Close
);

/// A receipt of one of the project's reports, for whoever reads the project.
#[utoipa::path(
    get, path = "/api/v1/micro-projects/{id}/files/{sha256}", tag = "micro", operation_id = "project_file",
    params(
        ("id" = Uuid, Path, description = "Project id"),
        ("sha256" = String, Path, description = "The file's digest: SHA-256, 64 lowercase hex digits", pattern = r"^[0-9a-f]{64}$"),
    ),
    responses(
        (status = 200, description = "The file, as the media type it was stored as",
            content(("image/jpeg"), ("image/png"), ("image/webp"), ("application/pdf"))),
        (status = 401, description = "No or bad token", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such project or receipt visible to the caller", body = Problem, content_type = PROBLEM),
        (status = 410, description = "The file is no longer stored", body = Problem, content_type = PROBLEM),
    ),
    security(("bearer" = []))
)]
pub async fn project_file(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, sha256)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let id = parse_project_id(&id)?;
    Ok(send(projects::file(&state, &caller, id, &sha256).await?))
}

/// A project's history, for auditors and admins: every event with its
/// chain hash and the actor as role and pseudonym.
#[utoipa::path(
    get, path = "/api/v1/micro-projects/{id}/story", tag = "audit", operation_id = "project_story",
    params(("id" = Uuid, Path, description = "Project id")),
    responses(
        (status = 200, description = "Every event of the project in the order stored", body = MicroStory),
        (status = 401, description = "No or bad token", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such project, or not for this role", body = Problem, content_type = PROBLEM),
    ),
    security(("bearer" = []))
)]
pub async fn project_story(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<MicroStory>, ApiError> {
    let id = parse_project_id(&id)?;
    let entries = projects::story(&state, &caller, id).await?;
    Ok(Json(MicroStory {
        stream: id.0,
        entries,
    }))
}
