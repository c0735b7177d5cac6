//! `/api/v1/webhooks`: the calling account's webhook subscriptions and
//! their dead letters, over the webhook service (`app::webhooks`).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;

use super::error::{ApiError, Problem, PROBLEM};
use super::json::ApiJson;
use super::AppState;
use crate::app::auth::Caller;
use crate::app::webhooks;
pub use crate::app::webhooks::{DeadLetterList, SubscribeRequest, Subscription, SubscriptionList};

/// Subscribe a URL to signed deliveries of every change to the grievances
/// the caller may see.
#[utoipa::path(
    post, path = "/api/v1/webhooks", tag = "notifications",
    request_body = SubscribeRequest,
    responses(
        (status = 201, description = "Subscribed; the secret is shown only now", body = Subscription),
        (status = 400, description = "Malformed body", body = Problem, content_type = PROBLEM),
        (status = 401, description = "No or bad token", body = Problem, content_type = PROBLEM),
        (status = 403, description = "Not an account of a party or a tier", body = Problem, content_type = PROBLEM),
        (status = 415, description = "Not JSON", body = Problem, content_type = PROBLEM),
        (status = 422, description = "The URL is not acceptable, or reaches no destination webhooks may reach", body = Problem, content_type = PROBLEM),
    ),
    security(("bearer" = []))
)]
pub async fn subscribe(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<SubscribeRequest>,
) -> Result<(StatusCode, Json<Subscription>), ApiError> {
    let subscription = webhooks::subscribe(&state, &caller, &body).await?;
    Ok((StatusCode::CREATED, Json(subscription)))
}

/// The caller's subscriptions, newest first.
#[utoipa::path(
    get, path = "/api/v1/webhooks", tag = "notifications", operation_id = "list_webhooks",
    responses(
        (status = 200, description = "The caller's subscriptions", body = SubscriptionList),
        (status = 401, description = "No or bad token", body = Problem, content_type = PROBLEM),
    ),
    security(("bearer" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<SubscriptionList>, ApiError> {
    Ok(Json(webhooks::list(&state, &caller).await?))
}

/// Unsubscribe: nothing more is queued or sent for it.
#[utoipa::path(
    post, path = "/api/v1/webhooks/{id}/deletion", tag = "notifications",
    params(("id" = Uuid, Path, description = "Subscription id")),
    responses(
        (status = 200, description = "Unsubscribed", body = Subscription),
        (status = 401, description = "No or bad token", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such subscription of the caller", body = Problem, content_type = PROBLEM),
    ),
    security(("bearer" = []))
)]
pub async fn unsubscribe(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Subscription>, ApiError> {
    Ok(Json(webhooks::unsubscribe(&state, &caller, &id).await?))
}

/// Deliveries of a subscription that failed every attempt.
#[utoipa::path(
    get, path = "/api/v1/webhooks/{id}/dead-letters", tag = "notifications",
    params(("id" = Uuid, Path, description = "Subscription id")),
    responses(
        (status = 200, description = "The dead letters, oldest first", body = DeadLetterList),
        (status = 401, description = "No or bad token", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such subscription of the caller", body = Problem, content_type = PROBLEM),
    ),
    security(("bearer" = []))
)]
pub async fn dead_letters(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<DeadLetterList>, ApiError> {
    Ok(Json(webhooks::dead_letters(&state, &caller, &id).await?))
}

/// Queue a dead letter again: it is retried from its first attempt.
#[utoipa::path(
    post, path = "/api/v1/webhooks/{id}/dead-letters/{event_id}/retry", tag = "notifications",
    params(
        ("id" = Uuid, Path, description = "Subscription id"),
        ("event_id" = Uuid, Path, description = "The dead letter's event id"),
    ),
    responses(
        (status = 204, description = "Queued again"),
        (status = 401, description = "No or bad token", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such dead letter of the caller's subscription", body = Problem, content_type = PROBLEM),
    ),
    security(("bearer" = []))
)]
pub async fn retry(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, event_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    webhooks::retry(&state, &caller, &id, &event_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
