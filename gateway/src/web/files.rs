//! Photos and documents on the grievance page: uploading more
//! (`/g/{id}/attachments`), and reading a file or its thumbnail
//! (`/g/{id}/files/{sha256}`, `…/thumb`) with the reader's session.

use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use lianxi_domain::values::GrievanceId;

use super::{message, see_other, Visit};
use crate::app::attachments;
use crate::app::AppState;
use crate::http::download::send;
use crate::http::multipart;
use crate::http::request_id::RequestId;

/// Uploads the chosen files and attaches them to the grievance.
pub(super) async fn attach(
    State(state): State<AppState>,
    Extension(request_id): Extension<RequestId>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Multipart, MultipartRejection>,
) -> Response {
    let visit = Visit::of(&state, &headers).await;
    let form = match multipart::read(body).await {
        Ok(form) => form,
        Err(e) => return message(&visit, e.status_code(), "error.title"),
    };
    let caller = match visit.form_caller(form.field("csrf").unwrap_or_default()) {
        Ok(caller) => caller,
        Err(answer) => return *answer,
    };
    let Ok(id) = GrievanceId::parse(&id) else {
        return message(&visit, StatusCode::NOT_FOUND, "error.not_found");
    };
    if form.files.is_empty() {
        return see_other(&format!("/g/{id}"));
    }
    match attachments::attach(&state, &caller, &request_id.0, id, None, form.files).await {
        Ok(_) => see_other(&format!("/g/{id}?done=attach")),
        Err(e) if e.status_code() == StatusCode::NOT_FOUND => {
            message(&visit, StatusCode::NOT_FOUND, "error.not_found")
        }
        Err(e) if e.status_code().is_client_error() => {
            tracing::info!(problem = e.slug(), "an upload from the page was refused");
            message(&visit, e.status_code(), "reason.file")
        }
        Err(e) => {
            tracing::error!(problem = e.slug(), "an upload from the page failed");
            message(&visit, StatusCode::SERVICE_UNAVAILABLE, "error.title")
        }
    }
}

/// A file attached to the grievance, for a reader who may read it.
pub(super) async fn file(
    State(state): State<AppState>,
    Path((id, sha256)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    read(state, id, sha256, headers, false).await
}

/// A photo's thumbnail.
pub(super) async fn thumbnail(
    State(state): State<AppState>,
    Path((id, sha256)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    read(state, id, sha256, headers, true).await
}

async fn read(
    state: AppState,
    id: String,
    sha256: String,
    headers: HeaderMap,
    thumbnail: bool,
) -> Response {
    let visit = Visit::of(&state, &headers).await;
    let Some(caller) = visit.caller() else {
        return see_other("/login");
    };
    let Ok(id) = GrievanceId::parse(&id) else {
        return message(&visit, StatusCode::NOT_FOUND, "error.not_found");
    };
    match attachments::download(&state, &caller, id, &sha256, thumbnail).await {
        Ok(file) => send(file),
        Err(e) if e.status_code() == StatusCode::GONE => {
            message(&visit, StatusCode::GONE, "grievance.file_erased")
        }
        Err(e) if e.status_code().is_client_error() => {
            message(&visit, StatusCode::NOT_FOUND, "error.not_found")
        }
        Err(e) => e.into_response(),
    }
}
