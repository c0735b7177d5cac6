//! The HTTP API: router, shared state, errors, JSON handling, OpenAPI.

/// Declares a POST command endpoint on one meeting or mediation case: its
/// OpenAPI entry, the handler that parses the path (`{id}` and an optional
/// second segment), builds `(reason, action)` with `$build` (which sees the
/// state, caller, stream id, request body and second segment) and hands it
/// to the module's `dispatch`.
macro_rules! stream_endpoint {
    // A body read with OptionalJson is documented as optional.
    (
        tag = $tag:literal, view = $view:ty, action = $action:ty, parse_id = $parse:path,
        $(#[$doc:meta])*
        $name:ident, $path:literal, $body:ty, OptionalJson, $params:tt,
        |$st:ident, $ca:ident, $id:ident, $req:ident, $sub:ident| $build:block
    ) => {
        stream_endpoint!(@documented [Option<$body>] tag = $tag, view = $view, action = $action, parse_id = $parse,
            $(#[$doc])* $name, $path, $body, OptionalJson, $params, |$st, $ca, $id, $req, $sub| $build);
    };
    (
        tag = $tag:literal, view = $view:ty, action = $action:ty, parse_id = $parse:path,
        $(#[$doc:meta])*
        $name:ident, $path:literal, $body:ty, ApiJson, $params:tt,
        |$st:ident, $ca:ident, $id:ident, $req:ident, $sub:ident| $build:block
    ) => {
        stream_endpoint!(@documented [$body] tag = $tag, view = $view, action = $action, parse_id = $parse,
            $(#[$doc])* $name, $path, $body, ApiJson, $params, |$st, $ca, $id, $req, $sub| $build);
    };
    (
        @documented [$($documented:tt)*]
        tag = $tag:literal, view = $view:ty, action = $action:ty, parse_id = $parse:path,
        $(#[$doc:meta])*
        $name:ident, $path:literal, $body:ty, $extract:ident, $params:tt,
        |$st:ident, $ca:ident, $id:ident, $req:ident, $sub:ident| $build:block
    ) => {
        $(#[$doc])*
        #[utoipa::path(
            post, path = $path, tag = $tag,
            params $params,
            request_body = $($documented)*,
            responses(
                (status = 200, description = "Applied", body = $view, headers(("ETag" = String))),
                (status = 400, description = "Malformed body or header", body = Problem, content_type = PROBLEM),
                (status = 401, description = "No or bad token", body = Problem, content_type = PROBLEM),
                (status = 403, description = "This account may not do this", body = Problem, content_type = PROBLEM),
                (status = 404, description = NOT_FOUND, body = Problem, content_type = PROBLEM),
                (status = 409, description = "Not allowed in the current status, or concurrent change", body = Problem, content_type = PROBLEM),
                (status = 412, description = "Stale If-Match version", body = Problem, content_type = PROBLEM),
                (status = 415, description = "Not JSON", body = Problem, content_type = PROBLEM),
                (status = 422, description = "Invalid field or broken rule", body = Problem, content_type = PROBLEM),
            ),
            security(("bearer" = []))
        )]
        pub async fn $name(
            State(state): State<AppState>,
            Extension(request_id): Extension<RequestId>,
            caller: Caller,
            Segments(path): Segments,
            headers: HeaderMap,
            $extract($req): $extract<$body>,
        ) -> Result<Response, ApiError> {
            let id = $parse(path.first().map(|(_, v)| v.as_str()).unwrap_or_default())?;
            let $sub = path.get(1).map(|(_, v)| v.clone()).unwrap_or_default();
            let ($st, $ca, $id) = (&state, &caller, id);
            let (reason, action): (Option<String>, $action) = $build;
            dispatch(&state, &caller, &request_id, id, &headers, reason, action).await
        }
    };
}

mod audit;
mod docs_page;
mod grievances;
mod health;
mod idempotency;
mod identity;
mod mediation;
mod meetings;
mod notifications;
mod open311;
pub mod openapi;
mod registry;
mod story;
mod webhooks;

pub use crate::app::{dto, error, AppState};
pub use crate::http::{json, request_id};

use axum::routing::get;
use axum::Router;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use error::ApiError;

/// Every documented operation of the JSON API, each registered together
/// with its OpenAPI entry (`routes!` reads the path and method from the
/// handler's `#[utoipa::path]`): a route cannot exist here undocumented.
pub fn documented() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .merge(operations())
        .merge(commands_and_reads())
}

fn operations() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
}

fn commands_and_reads() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(grievances::file, grievances::list))
        .routes(routes!(grievances::get))
        .routes(routes!(grievances::events))
        .routes(routes!(story::story))
        .routes(routes!(story::dossier))
        .routes(routes!(grievances::accept))
        .routes(routes!(grievances::reject))
        .routes(routes!(grievances::triage))
        .routes(routes!(grievances::assign))
        .routes(routes!(grievances::respond))
        .routes(routes!(grievances::escalate))
        .routes(routes!(grievances::withdraw))
        .routes(routes!(grievances::identity_consent))
        .routes(routes!(grievances::resolve))
        .routes(routes!(grievances::rate))
        .routes(routes!(grievances::reopen))
        .routes(routes!(grievances::refer_to_meeting))
        .routes(routes!(meetings::convene, meetings::list))
        .routes(routes!(meetings::get))
        .routes(routes!(meetings::minutes))
        .routes(routes!(meetings::add_agenda_item))
        .routes(routes!(meetings::open))
        .routes(routes!(meetings::decide_item))
        .routes(routes!(meetings::defer_item))
        .routes(routes!(meetings::close))
        .routes(routes!(meetings::cancel))
        .routes(routes!(meetings::complete_action_item))
        .routes(routes!(meetings::agenda))
        .routes(routes!(mediation::open, mediation::list))
        .routes(routes!(mediation::get))
        .routes(routes!(mediation::schedule))
        .routes(routes!(mediation::record))
        .routes(routes!(mediation::propose))
        .routes(routes!(mediation::accept))
        .routes(routes!(mediation::decline))
        .routes(routes!(mediation::fail))
        .routes(routes!(mediation::fulfil))
        .routes(routes!(mediation::missed))
        .routes(routes!(grievances::merge))
        .routes(routes!(grievances::pause))
        .routes(routes!(grievances::resume))
        .routes(routes!(grievances::queue))
        .routes(routes!(grievances::figures))
        .routes(routes!(audit::verify))
        .routes(routes!(audit::take_checkpoint, audit::list_checkpoints))
        .routes(routes!(audit::get_checkpoint))
        .routes(routes!(audit::consistency))
        .routes(routes!(identity::login))
        .routes(routes!(identity::logout))
        .routes(routes!(identity::me))
        .routes(routes!(identity::erase))
        .routes(routes!(identity::add_xiaoqu))
        .routes(routes!(registry::rename))
        .routes(routes!(registry::move_to))
        .routes(routes!(registry::add_party))
        .routes(routes!(registry::retire_party))
        .routes(routes!(registry::hierarchy))
        .routes(routes!(registry::get))
        .routes(routes!(registry::history))
        .routes(routes!(registry::organization))
        .routes(routes!(identity::add_account))
        .routes(routes!(identity::revoke_tokens))
        .routes(routes!(identity::grant_role))
        .routes(routes!(identity::withdraw_role))
        .routes(routes!(notifications::stream))
        .routes(routes!(webhooks::subscribe, webhooks::list))
        .routes(routes!(webhooks::unsubscribe))
        .routes(routes!(webhooks::dead_letters))
        .routes(routes!(webhooks::retry))
}

/// The JSON API under `/api/v1` (POSTs behind the `Idempotency-Key`
/// middleware), its document and its page, Open311 under `/open311/v2`,
/// health and metrics: routes the server assembles with the pages
/// (`server::app`).
pub fn router(state: &AppState) -> Router<AppState> {
    let (api, _) = commands_and_reads().split_for_parts();
    let api = api.route_layer(axum::middleware::from_fn_with_state(
        idempotency::Idempotency::new(state.clone()),
        idempotency::middleware,
    ));
    let (operations, _) = operations().split_for_parts();
    operations
        .merge(api)
        .route("/metrics", get(health::metrics))
        .route("/api/v1/openapi.json", get(openapi::openapi_json))
        .route("/api/v1/docs", get(docs_page::docs))
        .nest("/open311/v2", open311::router())
}

/// What the 404 for a path no route serves says, so that a client (and the
/// route coverage test) can tell a mistyped path from an unknown id.
pub const NO_ROUTE: &str = "no route serves this path";

/// 404 for what no route serves.
pub async fn not_found() -> ApiError {
    ApiError::not_found().with_detail(NO_ROUTE)
}

/// 405 for a method a route does not take.
pub async fn method_not_allowed() -> ApiError {
    ApiError::method_not_allowed()
}
