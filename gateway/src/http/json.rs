//! JSON bodies: content type checked, size bounded, unknown fields refused,
//! and every error names the field.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::app::error::ApiError;

/// A JSON request body. Refuses a wrong content type (415), an oversize
/// body (413) and a body that does not match `T` (400, with the field path).
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

/// Like [`ApiJson`], but an empty body (or `null`) stands for
/// `T::default()`; for commands whose fields are all optional. Their
/// OpenAPI entries document the body as optional and nullable.
#[derive(Debug)]
pub struct OptionalJson<T>(pub T);

fn is_json(req: &Request) -> bool {
    req.headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|mime| {
            let mime = mime.trim().to_ascii_lowercase();
            mime == "application/json"
                || (mime.starts_with("application/") && mime.ends_with("+json"))
        })
        .unwrap_or(false)
}

async fn body_bytes<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError> {
    Bytes::from_request(req, state).await.map_err(|rejection| {
        if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::payload_too_large()
        } else {
            ApiError::malformed_body(None, rejection.body_text())
        }
    })
}

/// A deserializer's message without the value that was sent (which may be
/// a phone number or a name): `invalid type: integer `13961180007`,
/// expected a string` becomes `invalid type: integer, expected a string`,
/// `unknown variant `x`, expected one of …` loses the `x`. What was
/// expected stays.
pub fn without_value(message: &str) -> String {
    let Some((found, expected)) = message.split_once(", expected") else {
        return message.to_owned();
    };
    if found.starts_with("unknown field") {
        return message.to_owned(); // a key of the request, not a value
    }
    let kind = found.split(['`', '"']).next().unwrap_or(found).trim_end();
    format!("{kind}, expected{expected}")
}

/// Deserializes `bytes`, reporting the path of the offending field. Every
/// request body is a JSON object: an array is refused, though serde would
/// read a struct from one.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        return Err(ApiError::malformed_body(
            None,
            "the body must be a JSON object".into(),
        ));
    }
    let deserializer = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(deserializer).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let field = (path != "." && !path.is_empty()).then_some(path);
        let message = inner.to_string();
        // With a field path, serde's "at line 1 column 9" suffix adds nothing.
        let reason = match (message.rfind(" at line "), &field) {
            (Some(i), Some(_)) => message[..i].to_owned(),
            _ => message,
        };
        ApiError::malformed_body(field, without_value(&reason))
    })
}

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        if !is_json(&req) {
            return Err(ApiError::unsupported_media_type());
        }
        let bytes = body_bytes(req, state).await?;
        parse_json(&bytes).map(ApiJson)
    }
}

impl<S, T> FromRequest<S> for OptionalJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Default,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let declared_json = is_json(&req);
        let bytes = body_bytes(req, state).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJson(T::default()));
        }
        if !declared_json {
            return Err(ApiError::unsupported_media_type());
        }
        if bytes.trim_ascii() == b"null" {
            return Ok(OptionalJson(T::default()));
        }
        parse_json(&bytes).map(OptionalJson)
    }
}

/// Query parameters, refused with the parameter's name when invalid.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or_default();
        let deserializer =
            serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(deserializer)
            .map(ApiQuery)
            .map_err(|e| {
                let path = e.path().to_string();
                let field = (path != "." && !path.is_empty()).then_some(path);
                ApiError::bad_query(
                    field.as_deref().unwrap_or("query"),
                    &without_value(&e.into_inner().to_string()),
                )
            })
    }
}

/// The path's segments as (name, value) pairs. Named apart from `Path` so
/// that the OpenAPI macro takes the parameters from the `params` listed.
#[derive(Debug)]
pub struct Segments(pub Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for Segments {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Path::<Vec<(String, String)>>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(segments)| Segments(segments))
            .map_err(|_| ApiError::not_found())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_refusal_names_what_was_expected_never_what_was_sent() {
        assert_eq!(
            without_value("invalid type: integer `13961180007`, expected a string"),
            "invalid type: integer, expected a string"
        );
        assert_eq!(
            without_value("invalid type: string \"王小明\", expected a map"),
            "invalid type: string, expected a map"
        );
        assert_eq!(
            without_value("unknown variant `gossip`, expected one of `repairs`, `fees`"),
            "unknown variant, expected one of `repairs`, `fees`"
        );
        assert_eq!(
            without_value("missing field `title`"),
            "missing field `title`"
        );
    }

    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        title: String,
        location: Location,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Location {
        building: String,
    }

    #[test]
    fn errors_name_the_offending_field() {
        let e = parse_json::<Body>(br#"{"title": "x", "location": {"building": 3}}"#)
            .expect_err("wrong type");
        let p = e.to_problem();
        assert_eq!(p.status, 400);
        assert_eq!(p.field.as_deref(), Some("location.building"));

        let e =
            parse_json::<Body>(br#"{"title": "x", "colour": 1, "location": {"building": "3"}}"#)
                .expect_err("unknown field");
        assert!(e
            .to_problem()
            .reason
            .unwrap_or_default()
            .contains("unknown field `colour`"));

        let e = parse_json::<Body>(br#"{"title": "x""#).expect_err("truncated");
        assert_eq!(e.to_problem().status, 400);

        // Not an object, though serde reads a struct from an array.
        let e = parse_json::<Body>(br#" ["x", {"building": "3"}]"#).expect_err("array");
        assert_eq!(e.to_problem().status, 400);
    }
}
