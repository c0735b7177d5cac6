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

use axum::routing::{get, post};
use axum::Router;

use error::ApiError;

/// The JSON API under `/api/v1` (behind its `Idempotency-Key`
/// middleware), Open311 under `/open311/v2`, health and metrics: routes the
/// server assembles with the pages (`server::app`).
pub fn router(state: &AppState) -> Router<AppState> {
    let api = Router::new()
        .route("/grievances", post(grievances::file).get(grievances::list))
        .route("/grievances/{id}", get(grievances::get))
        .route("/grievances/{id}/events", get(grievances::events))
        .route("/grievances/{id}/story", get(story::story))
        .route("/grievances/{id}/dossier", get(story::dossier))
        .route("/grievances/{id}/accept", post(grievances::accept))
        .route("/grievances/{id}/reject", post(grievances::reject))
        .route("/grievances/{id}/triage", post(grievances::triage))
        .route("/grievances/{id}/assign", post(grievances::assign))
        .route("/grievances/{id}/respond", post(grievances::respond))
        .route("/grievances/{id}/escalate", post(grievances::escalate))
        .route("/grievances/{id}/withdraw", post(grievances::withdraw))
        .route(
            "/grievances/{id}/identity-consent",
            post(grievances::identity_consent),
        )
        .route("/grievances/{id}/resolve", post(grievances::resolve))
        .route("/grievances/{id}/rate", post(grievances::rate))
        .route("/grievances/{id}/reopen", post(grievances::reopen))
        .route(
            "/grievances/{id}/refer-to-meeting",
            post(grievances::refer_to_meeting),
        )
        .route("/meetings", post(meetings::convene).get(meetings::list))
        .route("/meetings/{id}", get(meetings::get))
        .route("/meetings/{id}/minutes", get(meetings::minutes))
        .route("/meetings/{id}/agenda", post(meetings::add_agenda_item))
        .route("/meetings/{id}/open", post(meetings::open))
        .route(
            "/meetings/{id}/items/{item}/decision",
            post(meetings::decide_item),
        )
        .route(
            "/meetings/{id}/items/{item}/deferral",
            post(meetings::defer_item),
        )
        .route("/meetings/{id}/close", post(meetings::close))
        .route("/meetings/{id}/cancel", post(meetings::cancel))
        .route(
            "/meetings/{id}/action-items/{action_item}/completion",
            post(meetings::complete_action_item),
        )
        .route("/xiaoqu/{id}/agenda", get(meetings::agenda))
        .route(
            "/mediation-cases",
            post(mediation::open).get(mediation::list),
        )
        .route("/mediation-cases/{id}", get(mediation::get))
        .route("/mediation-cases/{id}/sessions", post(mediation::schedule))
        .route(
            "/mediation-cases/{id}/sessions/{session}/record",
            post(mediation::record),
        )
        .route("/mediation-cases/{id}/proposal", post(mediation::propose))
        .route(
            "/mediation-cases/{id}/proposal/acceptance",
            post(mediation::accept),
        )
        .route(
            "/mediation-cases/{id}/proposal/decline",
            post(mediation::decline),
        )
        .route("/mediation-cases/{id}/failure", post(mediation::fail))
        .route(
            "/mediation-cases/{id}/obligations/{obligation}/fulfilment",
            post(mediation::fulfil),
        )
        .route(
            "/mediation-cases/{id}/obligations/{obligation}/missed",
            post(mediation::missed),
        )
        .route("/grievances/{id}/merge", post(grievances::merge))
        .route("/grievances/{id}/pause", post(grievances::pause))
        .route("/grievances/{id}/resume", post(grievances::resume))
        .route("/escalation-queue", get(grievances::queue))
        .route("/figures", get(grievances::figures))
        .route("/audit/verify", post(audit::verify))
        .route(
            "/audit/checkpoints",
            post(audit::take_checkpoint).get(audit::list_checkpoints),
        )
        .route("/audit/checkpoints/{tree_size}", get(audit::get_checkpoint))
        .route("/audit/consistency", get(audit::consistency))
        .route("/auth/login", post(identity::login))
        .route("/auth/logout", post(identity::logout))
        .route("/auth/me", get(identity::me))
        .route("/admin/people/{id}/erasure", post(identity::erase))
        .route("/admin/xiaoqu", post(identity::add_xiaoqu))
        .route("/admin/xiaoqu/{id}/rename", post(registry::rename))
        .route("/admin/xiaoqu/{id}/move", post(registry::move_to))
        .route("/admin/xiaoqu/{id}/parties", post(registry::add_party))
        .route(
            "/admin/xiaoqu/{id}/parties/retirement",
            post(registry::retire_party),
        )
        .route("/registry", get(registry::hierarchy))
        .route("/registry/xiaoqu/{id}", get(registry::get))
        .route("/registry/xiaoqu/{id}/events", get(registry::history))
        .route("/registry/organizations/{id}", get(registry::organization))
        .route("/admin/accounts", post(identity::add_account))
        .route(
            "/admin/accounts/{id}/revocation",
            post(identity::revoke_tokens),
        )
        .route("/admin/accounts/{id}/roles", post(identity::grant_role))
        .route(
            "/admin/accounts/{id}/roles/revocation",
            post(identity::withdraw_role),
        )
        .route("/notifications/stream", get(notifications::stream))
        .route("/webhooks", post(webhooks::subscribe).get(webhooks::list))
        .route("/webhooks/{id}/deletion", post(webhooks::unsubscribe))
        .route("/webhooks/{id}/dead-letters", get(webhooks::dead_letters))
        .route(
            "/webhooks/{id}/dead-letters/{event_id}/retry",
            post(webhooks::retry),
        )
        .route("/openapi.json", get(openapi::openapi_json))
        .route("/docs", get(docs_page::docs));
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .nest("/open311/v2", open311::router())
        .nest(
            "/api/v1",
            api.route_layer(axum::middleware::from_fn_with_state(
                idempotency::Idempotency::new(state.clone()),
                idempotency::middleware,
            )),
        )
}

/// 404 for what no route serves.
pub async fn not_found() -> ApiError {
    ApiError::not_found()
}

/// 405 for a method a route does not take.
pub async fn method_not_allowed() -> ApiError {
    ApiError::method_not_allowed()
}
