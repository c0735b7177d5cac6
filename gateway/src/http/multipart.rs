//! Reading a `multipart/form-data` body: its files and its text fields, with
//! every failure a problem that names what went wrong.

use axum::extract::multipart::{Multipart, MultipartError, MultipartRejection};
use axum::extract::{FromRequest, Request};
use axum::http::{header, StatusCode};

use crate::app::attachments::Upload;
use crate::app::error::ApiError;

/// A multipart form: its files in order, named `<name>[<n>]` for errors,
/// and its text fields.
#[derive(Debug, Default)]
pub struct Form {
    pub files: Vec<Upload>,
    pub fields: Vec<(String, String)>,
}

impl Form {
    /// The text field `name`, if sent.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Reads the whole form. A part with a file name is a file (an empty one,
/// as a browser sends for a file input left empty, is skipped); any other
/// part is a text field.
pub async fn read(multipart: Result<Multipart, MultipartRejection>) -> Result<Form, ApiError> {
    let mut multipart =
        multipart.map_err(|rejection| ApiError::not_multipart(rejection.body_text()))?;
    let mut form = Form::default();
    let mut counts = std::collections::HashMap::<String, usize>::new();
    while let Some(field) = multipart.next_field().await.map_err(malformed)? {
        let name = field.name().unwrap_or_default().to_owned();
        let is_file = field.file_name().is_some();
        if is_file {
            let bytes = field.bytes().await.map_err(malformed)?;
            if bytes.is_empty() {
                continue;
            }
            let n = counts.entry(name.clone()).or_default();
            form.files.push(Upload {
                field: format!("{name}[{n}]"),
                bytes,
            });
            *n += 1;
        } else {
            let text = field.text().await.map_err(malformed)?;
            form.fields.push((name, text));
        }
    }
    Ok(form)
}

/// Reads a page's form, sent as `multipart/form-data` (a form that carries
/// files) or `application/x-www-form-urlencoded` (one that does not, or a
/// page served before it did).
pub async fn read_either(request: Request) -> Result<Form, ApiError> {
    let urlencoded = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if urlencoded {
        let axum::Form(fields) = axum::Form::<Vec<(String, String)>>::from_request(request, &())
            .await
            .map_err(|rejection| ApiError::malformed_body(None, rejection.body_text()))?;
        return Ok(Form {
            files: Vec::new(),
            fields,
        });
    }
    read(Multipart::from_request(request, &()).await).await
}

fn malformed(e: MultipartError) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::payload_too_large()
    } else {
        ApiError::malformed_body(None, e.body_text())
    }
}
