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
pub mod dto;
pub mod error;
mod grievances;
pub(crate) use grievances::{file_grievance, visible as visible_grievance};
pub(crate) use story::{case_streams, dossier, DossierQuery};
mod health;
mod idempotency;
mod identity;
pub mod json;
mod mediation;
mod meetings;
mod notifications;
mod open311;
pub mod openapi;
mod paging;
mod registry;
pub mod request_id;
mod story;
mod webhooks;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::timeout::TimeoutLayer;

use crate::audit::AuditKey;
use crate::db::Database;
use crate::event_log::{CaseLog, EventLog, MeetingLog};
use crate::people::People;
use crate::vault::Vault;
use error::ApiError;

/// Largest accepted request body.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Longest a request may take before it is answered with 503, unless
/// configured (`LIANXI_REQUEST_TIMEOUT_MS`).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// What every handler can reach.
#[derive(Clone, Debug)]
pub struct AppState {
    pub db: Database,
    /// Grievance streams.
    pub log: Arc<EventLog>,
    /// Mediation case streams.
    pub cases: Arc<CaseLog>,
    /// Joint meeting streams.
    pub meetings: Arc<MeetingLog>,
    /// Xiaoqu registry streams.
    pub registry: Arc<crate::registry::RegistryLog>,
    /// Rate limits on filing (none unless set, as `lianxi serve` does) and
    /// the request timeout.
    pub limits: crate::rate_limit::Limits,
    /// Signs audit checkpoints.
    pub audit_key: Arc<AuditKey>,
    /// Person streams and the vault sealing their personal data.
    pub people: Arc<People>,
    /// Set when the server begins to shut down: long-lived answers (event
    /// streams) end so that the shutdown need not wait for them.
    pub closing: Arc<tokio::sync::watch::Sender<bool>>,
    /// The hosts webhooks may be sent to; empty: any.
    pub webhook_hosts: Arc<Vec<String>>,
    /// The tokens this instance looked up lately.
    pub tokens: Arc<crate::auth::TokenCache>,
}

impl AppState {
    /// The same state, sealing personal data under `vault`'s master key.
    pub fn with_vault(self, vault: Vault) -> Self {
        Self {
            people: Arc::new(People::new(
                &self.db,
                Arc::new(vault),
                self.log.services().clock.clone(),
            )),
            ..self
        }
    }

    /// The same state, sending webhooks only to these hosts (empty: any).
    pub fn with_webhook_hosts(self, hosts: Vec<String>) -> Self {
        Self {
            webhook_hosts: Arc::new(hosts),
            ..self
        }
    }

    /// Whether a webhook may be sent to `url`'s host.
    pub fn webhook_host_allowed(&self, url: &str) -> bool {
        host_allowed(&self.webhook_hosts, url)
    }

    /// The same state, with these rate limits.
    pub fn with_limits(self, limits: crate::rate_limit::Limits) -> Self {
        Self { limits, ..self }
    }

    /// The same state, signing checkpoints with `key`.
    pub fn with_audit_key(self, key: AuditKey) -> Self {
        Self {
            audit_key: Arc::new(key),
            ..self
        }
    }
}

/// The whole application as a router, ready to serve or to test.
pub fn app(state: AppState) -> Router {
    // Install the metrics recorder before the first request records anything.
    crate::metrics::handle();
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
        .route("/metrics", get(crate::metrics::scrape))
        .nest("/open311/v2", open311::router())
        .merge(crate::web::router())
        .nest(
            "/api/v1",
            api.route_layer(axum::middleware::from_fn_with_state(
                idempotency::Idempotency::new(state.clone()),
                idempotency::middleware,
            )),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(request_id::middleware))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            state.limits.request_timeout,
        ))
        .layer(CatchPanicLayer::custom(
            |_: Box<dyn std::any::Any + Send>| {
                tracing::error!("a handler panicked");
                ApiError::internal().into_response()
            },
        ))
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::not_found()
}

async fn method_not_allowed() -> ApiError {
    ApiError::method_not_allowed()
}

/// Whether `url`'s host is one of `hosts` (empty: any host).
pub fn host_allowed(hosts: &[String], url: &str) -> bool {
    if hosts.is_empty() {
        return true;
    }
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit('@').next().unwrap_or_default();
    let host = match host_port.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host_port.split(':').next().unwrap_or_default(),
    };
    let host = host.to_ascii_lowercase();
    hosts.iter().any(|h| h == &host)
}

#[cfg(test)]
mod host_tests {
    use super::host_allowed;

    #[test]
    fn webhook_hosts_are_matched_by_host_alone() {
        let hosts = vec!["127.0.0.1".to_owned(), "hooks.example.org".to_owned()];
        for ok in [
            "http://127.0.0.1:8080/hook",
            "https://HOOKS.example.org/x?y=1",
            "http://user:pw@127.0.0.1/",
        ] {
            assert!(host_allowed(&hosts, ok), "{ok}");
        }
        for refused in [
            "http://127.0.0.1.evil.org/",
            "http://evil.org/?127.0.0.1",
            "http://evil.org#@127.0.0.1",
            "http://[::1]:80/",
            "http://example.org/",
        ] {
            assert!(!host_allowed(&hosts, refused), "{refused}");
        }
        assert!(host_allowed(&[], "http://anything/"));
    }
}
