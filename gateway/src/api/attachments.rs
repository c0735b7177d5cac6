//! Files: uploading (`POST /api/v1/files`, then named in a filing),
//! attaching to a grievance in one request, downloading the file or its
//! thumbnail. Bodies are `multipart/form-data` with one or more `file` parts.

use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use utoipa::ToSchema;

use super::dto::*;
use super::error::{ApiError, Problem, PROBLEM};
use super::grievances::{command_response, if_match, parse_id};
use super::request_id::RequestId;
use super::AppState;
use crate::app::attachments;
use crate::app::auth::Caller;
use crate::http::download::send;
use crate::http::multipart;

/// A `multipart/form-data` body of files.
#[derive(Debug, ToSchema)]
#[allow(dead_code)] // documents the body; read by `multipart::read`
pub struct FileUpload {
    /// One or more files (JPEG, PNG or WebP photos, PDF documents), each at
    /// most the upload limit (10 MiB unless configured).
    #[schema(value_type = Vec<String>, format = Binary, min_items = 1, max_items = 10)]
    file: Vec<Vec<u8>>,
}

/// Upload files to name in a filing's `attachments`. Photos are stored
/// without their metadata (EXIF GPS included): the digest answered is the
/// stored file's.
#[utoipa::path(
    post, path = "/api/v1/files", tag = "files",
    request_body(content = FileUpload, content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "Stored", body = UploadedFiles),
        (status = 400, description = "Malformed body", body = Problem, content_type = PROBLEM),
        (status = 401, description = "No or bad token", body = Problem, content_type = PROBLEM),
        (status = 413, description = "A file or the body is too large", body = Problem, content_type = PROBLEM),
        (status = 415, description = "Not multipart/form-data", body = Problem, content_type = PROBLEM),
        (status = 422, description = "A file is refused (type, content, count)", body = Problem, content_type = PROBLEM),
    ),
    security(("bearer" = []))
)]
pub async fn upload(
    State(state): State<AppState>,
    caller: Caller,
    form: Result<Multipart, MultipartRejection>,
) -> Result<Response, ApiError> {
    let form = multipart::read(form).await?;
    let stored = attachments::store(&state, &caller, form.files).await?;
    let files = stored
        .iter()
        .map(|a| AttachmentDto {
            sha256: a.sha256.as_str().to_owned(),
            media_type: a.media_type.as_str().to_owned(),
            size: a.size,
        })
        .collect();
    Ok((StatusCode::CREATED, Json(UploadedFiles { files })).into_response())
}

/// Attach files to a grievance: the filer, a household merged in, the
/// handler or the responsible party; at most 10 stay attached.
#[utoipa::path(
    post, path = "/api/v1/grievances/{id}/attachments", tag = "files",
    params(
        ("id" = Uuid, Path, description = "The grievance"),
        ("If-Match" = Option<String>, Header, description = "Apply only at this version, else 412"),
    ),
    request_body(content = FileUpload, content_type = "multipart/form-data"),
    responses(
        (status = 200, description = "Attached", body = CommandResponse, headers(("ETag" = String))),
        (status = 400, description = "Malformed body or header", body = Problem, content_type = PROBLEM),
        (status = 401, description = "No or bad token", body = Problem, content_type = PROBLEM),
        (status = 403, description = "This account may not attach files here", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such grievance visible to the caller", body = Problem, content_type = PROBLEM),
        (status = 409, description = "Not allowed in the current status", body = Problem, content_type = PROBLEM),
        (status = 412, description = "Stale If-Match version", body = Problem, content_type = PROBLEM),
        (status = 413, description = "A file or the body is too large", body = Problem, content_type = PROBLEM),
        (status = 415, description = "Not multipart/form-data", body = Problem, content_type = PROBLEM),
        (status = 422, description = "A file is refused (type, content, count, attached already)", body = Problem, content_type = PROBLEM),
    ),
    security(("bearer" = []))
)]
pub async fn attach(
    State(state): State<AppState>,
    Extension(request_id): Extension<RequestId>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    form: Result<Multipart, MultipartRejection>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let expected = if_match(&headers)?;
    let form = multipart::read(form).await?;
    let committed =
        attachments::attach(&state, &caller, &request_id.0, id, expected, form.files).await?;
    command_response(id, &committed, StatusCode::OK)
}

/// Download a file attached to a grievance, as stored. Readable by exactly
/// who may read the grievance; 410 once erased with its uploader.
#[utoipa::path(
    get, path = "/api/v1/grievances/{id}/attachments/{sha256}", tag = "files",
    params(
        ("id" = Uuid, Path, description = "The grievance"),
        ("sha256" = String, Path, description = "The file's digest: SHA-256, 64 lowercase hex digits", pattern = r"^[0-9a-f]{64}$"),
    ),
    responses(
        (status = 200, description = "The file, as the media type it was stored as",
            content(("image/jpeg"), ("image/png"), ("image/webp"), ("application/pdf"))),
        (status = 401, description = "No or bad token", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such grievance or file visible to the caller", body = Problem, content_type = PROBLEM),
        (status = 410, description = "Erased with its uploader's personal data", body = Problem, content_type = PROBLEM),
    ),
    security(("bearer" = []))
)]
pub async fn download(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, sha256)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let file = attachments::download(&state, &caller, id, &sha256, false).await?;
    Ok(send(file))
}

/// A photo's thumbnail (JPEG, at most 320 pixels a side).
#[utoipa::path(
    get, path = "/api/v1/grievances/{id}/attachments/{sha256}/thumbnail", tag = "files",
    params(
        ("id" = Uuid, Path, description = "The grievance"),
        ("sha256" = String, Path, description = "The photo's digest: SHA-256, 64 lowercase hex digits", pattern = r"^[0-9a-f]{64}$"),
    ),
    responses(
        (status = 200, description = "The thumbnail", content_type = "image/jpeg"),
        (status = 401, description = "No or bad token", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such grievance or photo visible to the caller", body = Problem, content_type = PROBLEM),
        (status = 410, description = "Erased with its uploader's personal data", body = Problem, content_type = PROBLEM),
    ),
    security(("bearer" = []))
)]
pub async fn thumbnail(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, sha256)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let file = attachments::download(&state, &caller, id, &sha256, true).await?;
    Ok(send(file))
}
