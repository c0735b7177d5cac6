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

mod attachments;
mod audit;
mod docs_page;
mod grievances;
mod health;
mod idempotency;
mod identity;
mod ledgers;
mod mediation;
mod meetings;
mod micro;
mod notifications;
mod open311;
pub mod openapi;
mod registry;
mod rules;
mod story;
mod votes;
mod webhooks;

pub use crate::app::{dto, error, AppState};
pub use crate::http::{json, request_id};

use axum::routing::{get, MethodRouter};
use axum::Router;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use error::ApiError;

/// Every documented operation, once, as `module::handler`. The router
/// registers each at the path and methods its `#[utoipa::path]` names
/// ([`operations`], [`commands_and_reads`]); the OpenAPI document describes
/// the same list ([`documented`]) and is built only when asked for, so that
/// a serving instance does not hold it.
macro_rules! operations {
    ($name:ident, $docs:ident: $($module:ident :: $handler:ident),+ $(,)?) => {
        /// The routes of these operations.
        fn $name() -> Router<AppState> {
            use utoipa::Path as _;
            use utoipa_axum::PathItemExt as _;
            let mut router = Router::new();
            $(
                router = utoipa_axum::paste! {{
                    let methods = $module::[<__path_ $handler>]::methods();
                    let on = methods.iter().fold(MethodRouter::new(), |on, method| {
                        on.on(method.to_method_filter(), $module::$handler)
                    });
                    router.route(&$module::[<__path_ $handler>]::path(), on)
                }};
            )+
            router
        }

        /// The document's entries of these operations.
        fn $docs() -> OpenApiRouter<AppState> {
            OpenApiRouter::new() $( .routes(routes!($module::$handler)) )+
        }
    };
}

operations!(operations, operation_docs: health::healthz, health::readyz);

operations!(uploads, upload_docs: attachments::upload, attachments::attach);

operations!(registers, register_docs: votes::import_register);

operations!(
    commands_and_reads,
    command_and_read_docs:
    grievances::file,
    grievances::list,
    grievances::get,
    grievances::events,
    story::story,
    story::dossier,
    grievances::accept,
    grievances::reject,
    grievances::triage,
    grievances::assign,
    grievances::respond,
    grievances::escalate,
    grievances::withdraw,
    grievances::identity_consent,
    grievances::resolve,
    grievances::rate,
    grievances::reopen,
    grievances::refer_to_meeting,
    meetings::convene,
    meetings::list,
    meetings::get,
    meetings::minutes,
    meetings::add_agenda_item,
    meetings::open_meeting,
    meetings::decide_item,
    meetings::defer_item,
    meetings::close,
    meetings::cancel,
    meetings::complete_action_item,
    meetings::agenda,
    mediation::open,
    mediation::list,
    mediation::get,
    mediation::schedule,
    mediation::record,
    mediation::propose,
    mediation::accept_proposal,
    mediation::decline,
    mediation::fail,
    mediation::fulfil,
    mediation::missed,
    attachments::download,
    attachments::thumbnail,
    grievances::merge,
    grievances::merge_duplicates,
    grievances::likely_duplicates,
    grievances::likely_duplicates_of_draft,
    grievances::pause,
    grievances::resume,
    grievances::queue,
    grievances::figures,
    ledgers::export,
    ledgers::exports,
    audit::verify,
    audit::take_checkpoint,
    audit::list_checkpoints,
    audit::get_checkpoint,
    audit::get_checkpoint_note,
    audit::consistency,
    identity::login,
    identity::logout,
    identity::me,
    identity::erase,
    identity::add_xiaoqu,
    registry::rename,
    registry::move_to,
    registry::add_party,
    registry::retire_party,
    registry::hierarchy,
    registry::get,
    registry::history,
    registry::organization,
    identity::add_account,
    identity::revoke_tokens,
    identity::grant_role,
    identity::withdraw_role,
    notifications::stream,
    webhooks::subscribe,
    webhooks::list,
    webhooks::unsubscribe,
    webhooks::dead_letters,
    webhooks::retry,
    votes::open,
    votes::list,
    votes::get,
    votes::cast,
    votes::enter_paper,
    votes::close,
    votes::story,
    votes::owners_register,
    micro::open_fund,
    micro::list_funds,
    micro::get_fund,
    micro::receive_money,
    micro::spend_money,
    micro::fund_file,
    micro::fund_story,
    micro::propose_project,
    micro::list_projects,
    micro::get_project,
    micro::support_project,
    micro::shortlist_project,
    micro::review_project,
    micro::publish_project,
    micro::comment_on_project,
    micro::start_project,
    micro::report_progress,
    micro::evaluate_project,
    micro::rate_project,
    micro::evaluate_project_as_third_party,
    micro::close_project,
    micro::project_file,
    micro::project_story
);

/// Every documented operation of the JSON API with its OpenAPI entry: what
/// `openapi.json` and the docs page describe, the same list the router
/// serves.
pub fn documented() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .merge(operation_docs())
        .merge(command_and_read_docs())
        .merge(upload_docs())
        .merge(register_docs())
}

/// The JSON API under `/api/v1` (POSTs behind the `Idempotency-Key`
/// middleware), its document and its page, Open311 under `/open311/v2`,
/// health and metrics: routes the server assembles with the pages
/// (`server::app`).
pub fn router(state: &AppState) -> Router<AppState> {
    let idempotent = || {
        axum::middleware::from_fn_with_state(
            idempotency::Idempotency::new(state.clone()),
            idempotency::middleware,
        )
    };
    let api = commands_and_reads().route_layer(idempotent());
    // Uploads take larger bodies; the limit is set outside the idempotency
    // layer, which reads the whole body first.
    let uploads = uploads()
        .route_layer(idempotent())
        .layer(axum::extract::DefaultBodyLimit::max(
            crate::app::attachments::request_limit(state),
        ));
    // Owners' registers come as CSV files of up to 4 MiB.
    let registers =
        registers()
            .route_layer(idempotent())
            .layer(axum::extract::DefaultBodyLimit::max(
                crate::app::votes::register::MOST_FILE_BYTES,
            ));
    operations()
        .merge(api)
        .merge(uploads)
        .merge(registers)
        .route("/metrics", get(health::metrics))
        .route("/api/v1/openapi.json", get(openapi::openapi_json))
        .route("/api/v1/docs", get(docs_page::docs))
        .nest("/open311/v2", open311::router())
        .merge(open311::discovery_router())
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
