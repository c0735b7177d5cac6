//! Open311 GeoReport v2 under `/open311/v2`, for civic apps, in both of the
//! specification's formats: every path answers JSON with `.json` (or no
//! suffix) and XML with `.xml` ([`xml`]).
//!
//! - `discovery`: the endpoint, its formats and how to get a key (also at
//!   `/open311/discovery`).
//! - `services`: one service per grievance category; no token.
//! - `services/{code}`: the service definition, Lianxi's extra fields
//!   (respondent, urgency, building, unit, common area) as attributes.
//! - `POST requests`: files a grievance with the same domain command as
//!   `POST /api/v1/grievances`; form-encoded or JSON with the spec's keys.
//!   The request exists at once, so its token is its id.
//! - `GET requests` (with `page` and `page_size`), `requests/{id}` and
//!   `tokens/{id}`: what the caller may see, by the same visibility as
//!   `/api/v1/grievances`; the token as `Authorization: Bearer` or `api_key`.
//!   Without any token, what `app::public` lets anyone read when the
//!   operator opened the public read (else `401`).
//!
//! The wire types live here, not in `dto.rs`: they follow the GeoReport
//! spec rather than Lianxi's own contract, and are not in the OpenAPI
//! document (which describes `/api/v1`). Errors take the spec's shape,
//! `[{"code": 400, "description": "…"}]`, with the code as HTTP status.
//!
//! The spec's contact fields (`first_name`, `last_name`, `phone`, `email`)
//! and device and location details are accepted and dropped unread: personal
//! data is stored only sealed, through the person registry, which this
//! endpoint does not reach. See `docs/open311.md`.

use crate::app::lists::ListFilter;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Request, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, LOCATION};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use lianxi_domain::deadline::Stage;
use lianxi_domain::grievance::GrievanceState;
use lianxi_domain::values::{
    Category, Channel, Description, GrievanceId, Label, Location, Respondent, Tier, Title, Urgency,
    ValueError,
};
use lianxi_domain::Status;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::error::{ApiError, FieldProblem};
use super::json::ApiQuery;
use super::request_id::RequestId;
use super::AppState;
use crate::app::auth::Scope;
use crate::app::auth::{Caller, ClientAddress};
use crate::app::grievances::{self, checked, visible, Fields, NewGrievance};
use crate::app::public::{self, Public};

mod discovery;
mod requests;
mod services;
mod xml;

pub(super) use discovery::discovery;
use requests::{create, list, one, token};
use services::definition;

/// Most requests one `GET requests` answers (`page_size`'s largest value
/// and default).
const MAX_REQUESTS: usize = 200;

/// The routes, nested under `/open311/v2` by [`super::router`]. Each
/// answers without a suffix and with `.json` (JSON) or `.xml` (XML).
pub(super) fn router() -> Router<AppState> {
    let mut router = Router::new();
    for suffix in ["", ".json", ".xml"] {
        router = router
            .route(&format!("/discovery{suffix}"), get(discovery))
            .route(&format!("/services{suffix}"), get(services::services))
            .route(&format!("/requests{suffix}"), get(list).post(create));
    }
    router
        .route("/services/{service_code}", get(definition))
        .route("/requests/{service_request_id}", get(one))
        .route("/tokens/{token_id}", get(token))
        .layer(axum::middleware::from_fn(xml::middleware))
}

/// The discovery document at `/open311/discovery(.json|.xml)`, where the
/// specification looks for it.
pub(super) fn discovery_router() -> Router<AppState> {
    let mut router = Router::new();
    for suffix in ["", ".json", ".xml"] {
        router = router.route(&format!("/open311/discovery{suffix}"), get(discovery));
    }
    router.layer(axum::middleware::from_fn(xml::middleware))
}

/// `repairs.json`, `repairs.xml` and `repairs` name the same thing.
fn without_format(segment: &str) -> &str {
    segment
        .strip_suffix(".json")
        .or_else(|| segment.strip_suffix(".xml"))
        .unwrap_or(segment)
}

/// The format suffix the request's path ends in, for links in answers.
fn suffix_of(path: &str) -> &'static str {
    if xml::wants_xml(path) {
        ".xml"
    } else {
        ".json"
    }
}

// ---------------------------------------------------------------------------
// Errors in the spec's shape.

/// One error of the spec's error list.
#[derive(Debug, Serialize)]
struct ErrorItem {
    code: u16,
    description: String,
}

/// An error of this endpoint family: `[{"code", "description"}]` with the
/// code as HTTP status. Built from [`ApiError`] so that the rules stay in
/// one place: a 422 becomes a 400 (the spec knows no 422); headers such as
/// `WWW-Authenticate` and `Retry-After` are kept.
#[derive(Debug)]
pub(super) struct Open311Error {
    status: StatusCode,
    errors: Vec<ErrorItem>,
    /// Boxed: errors travel in `Result`s and should stay small.
    headers: Box<HeaderMap>,
}

impl Open311Error {
    fn new(status: StatusCode, description: impl Into<String>) -> Self {
        Self {
            status,
            errors: vec![ErrorItem {
                code: status.as_u16(),
                description: description.into(),
            }],
            headers: Box::default(),
        }
    }

    fn bad_request(field: &str, reason: &str) -> Self {
        Self::new(StatusCode::BAD_REQUEST, format!("{field}: {reason}"))
    }
}

impl From<ApiError> for Open311Error {
    fn from(e: ApiError) -> Self {
        let status = match e.status_code() {
            StatusCode::UNPROCESSABLE_ENTITY => StatusCode::BAD_REQUEST,
            other => other,
        };
        let code = status.as_u16();
        let problem = e.to_problem();
        let errors = if problem.errors.is_empty() {
            vec![ErrorItem {
                code,
                description: problem.detail.unwrap_or(problem.title),
            }]
        } else {
            problem
                .errors
                .into_iter()
                .map(|f| ErrorItem {
                    code,
                    description: format!("{}: {}", f.field, f.reason),
                })
                .collect()
        };
        let mut headers = Box::new(e.into_response().headers().clone());
        headers.remove(CONTENT_TYPE);
        Self {
            status,
            errors,
            headers,
        }
    }
}

impl IntoResponse for Open311Error {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.errors)).into_response();
        response.headers_mut().extend(*self.headers);
        response
    }
}

// ---------------------------------------------------------------------------
// Authentication: the bearer token, or the same token as `api_key`.

/// A token sent as the spec's `api_key`. Never printed.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
struct ApiKey(String);

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey(..)")
    }
}

/// The caller, by `Authorization: Bearer …` or else by `api_key`, through
/// the same extractor as every `/api/v1` request.
async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    api_key: Option<&ApiKey>,
) -> Result<Caller, Open311Error> {
    let from_key = headers.get(AUTHORIZATION).is_none() && api_key.is_some();
    let authorization = match (headers.get(AUTHORIZATION), api_key) {
        (Some(header), _) => header.clone(),
        (None, Some(key)) => HeaderValue::from_str(&format!("Bearer {}", key.0.trim()))
            .map_err(|_| ApiError::unauthorized("api_key is not a token"))?,
        (None, None) => {
            return Err(ApiError::unauthorized(
                "send the token as api_key or as Authorization: Bearer <token>",
            )
            .into())
        }
    };
    let (mut parts, ()) = Request::new(()).into_parts();
    parts.headers.insert(AUTHORIZATION, authorization);
    match Caller::from_request_parts(&mut parts, state).await {
        Ok(caller) => Ok(caller),
        // Speak of what was sent: the key, not a header the client never set.
        Err(e) if from_key && e.status_code() == StatusCode::UNAUTHORIZED => {
            let mut error = Open311Error::from(e);
            error.errors = vec![ErrorItem {
                code: 401,
                description: "api_key: not a valid token (expired, revoked or mistyped)".into(),
            }];
            Err(error)
        }
        Err(e) => Err(e.into()),
    }
}

/// Who reads: a caller known by a token, or anyone, under the public read
/// the operator opened.
#[derive(Debug)]
enum Reader {
    Caller(Caller),
    Public(Public),
}

/// The reader of a GET: without any token (neither header nor `api_key`),
/// anyone if the public read is open; otherwise the caller the token names,
/// as [`authenticate`] finds it (a bad or unknown key is refused there).
async fn reader(
    state: &AppState,
    headers: &HeaderMap,
    api_key: Option<&ApiKey>,
) -> Result<Reader, Open311Error> {
    if headers.get(AUTHORIZATION).is_none() && api_key.is_none() {
        if let Some(public) = public::admit(state) {
            return Ok(Reader::Public(public));
        }
    }
    authenticate(state, headers, api_key)
        .await
        .map(Reader::Caller)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_take_the_spec_shape_and_a_422_becomes_a_400() {
        let e = Open311Error::from(ApiError::invalid_field("attribute[unit]", "too long"));
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        let body = serde_json::to_value(&e.errors).expect("json");
        assert_eq!(
            body,
            serde_json::json!([{"code": 400, "description": "attribute[unit]: too long"}])
        );
        let e = Open311Error::from(ApiError::unauthorized("no token"));
        assert_eq!(e.status, StatusCode::UNAUTHORIZED);
        let response = e.into_response();
        assert_eq!(
            response
                .headers()
                .get("www-authenticate")
                .and_then(|v| v.to_str().ok()),
            Some("Bearer")
        );
        assert_eq!(
            response
                .headers()
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok()),
            Some("application/json")
        );
    }
}
