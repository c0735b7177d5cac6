//! Sending a stored file: the same headers from the API and the pages.

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};

use crate::app::attachments::Download;

/// A stored file as an answer: its type, never run as a page, cached by
/// the reader's browser only (`nosniff` comes with every answer,
/// `http::headers`).
pub fn send(file: Download) -> Response {
    let mut response = file.bytes.into_response();
    let headers = response.headers_mut();
    let content_type = HeaderValue::from_str(&file.media_type)
        .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"));
    headers.insert(header::CONTENT_TYPE, content_type);
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=3600"),
    );
    // Photos show in the browser; documents download.
    let disposition = if file.media_type.starts_with("image/") {
        "inline"
    } else {
        "attachment"
    };
    if let Ok(value) =
        HeaderValue::from_str(&format!("{disposition}; filename=\"{}\"", file.file_name))
    {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

/// A ledger export as an answer: always downloaded, never cached (it holds
/// what the caller may read now, and each export is recorded).
pub fn send_export(export: crate::app::ledgers::Export) -> Response {
    let mut response = export.bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(export.media_type),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    if let Ok(value) =
        HeaderValue::from_str(&format!("attachment; filename=\"{}\"", export.file_name))
    {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    if let Ok(value) = HeaderValue::from_str(&export.rows.to_string()) {
        headers.insert("Lianxi-Rows", value);
    }
    response
}
