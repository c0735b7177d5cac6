//! Liveness and readiness.

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::dto::Health;
use super::error::ApiError;
use super::AppState;

/// Alive: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "Alive", body = Health)))]
pub async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
        store: None,
    })
}

/// Ready: the store answers and every migration is applied.
/// How long `/readyz` waits for the store.
const READY_WITHIN: std::time::Duration = std::time::Duration::from_secs(1);

#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses(
        (status = 200, description = "Ready", body = Health),
        (status = 503, description = "Not ready", body = Health),
    ))]
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    // A store that does not answer within a second is not ready: a probe
    // must not wait out the pool's acquire timeout during an outage.
    let checked = tokio::time::timeout(READY_WITHIN, state.check_ready()).await;
    match checked.unwrap_or_else(|_| {
        Err(crate::app::error::DbError::Invalid(
            "the store did not answer within a second".into(),
        ))
    }) {
        Ok(()) => (
            StatusCode::OK,
            Json(Health {
                status: "ready".into(),
                store: Some(state.store_kind().into()),
            }),
        ),
        Err(e) => {
            tracing::warn!(error = %e, "not ready");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(Health {
                    status: "not ready".into(),
                    store: Some(state.store_kind().into()),
                }),
            )
        }
    }
}

/// `GET /metrics`, Prometheus text format.
pub async fn metrics(State(state): State<AppState>) -> Result<Response, ApiError> {
    let text = crate::app::metrics::scrape(&state).await?;
    let mut response = text.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    Ok(response)
}
