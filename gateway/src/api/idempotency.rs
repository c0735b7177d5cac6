//! `Idempotency-Key` on POST requests under `/api/v1`: a retry with the same
//! key and the same request gets the first answer again instead of running
//! the command twice.
//!
//! Keys are scoped per account and kept 48 hours (`app::idempotency`). The
//! middleware claims the key, runs the request under
//! [`with_idempotency_key`], so that every event it appends carries the
//! key's scoped hash and the append marks the key committed to its stream in
//! the events' own transaction; then it keeps the answer (unless a server
//! error). A retry that finds the key still in progress past
//! [`Limits::stale_after`](crate::app::rate_limit::Limits::stale_after) knows its first run died: if a stream was marked, the
//! answer is rebuilt from the resource's current representation; if not,
//! the request runs again.
//!
//! Not for `/auth/login`, `/auth/logout` and `/admin/accounts`: their
//! answers hold (or end) a bearer token, which must never be kept, and the
//! last one's request carries a password and personal data.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, FromRequestParts, OriginalUri, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use chrono::{TimeDelta, Utc};
use cqrs_es::Aggregate;
use lianxi_domain::mediation::MediationCase;
use lianxi_domain::meeting::JointMeeting;
use lianxi_domain::values::AccountId;
use lianxi_domain::Grievance;
use sha2::{Digest, Sha256};
use tower::ServiceExt;
use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::Required;
use utoipa::Modify;

use super::error::ApiError;
use super::AppState;
use crate::app::auth::Caller;
use crate::app::idempotency::{self as keys, with_idempotency_key};
use crate::app::idempotency::{Claim, KeptAnswer, KeyedRequest};

/// The request header.
pub const HEADER: &str = "idempotency-key";
/// The answer header marking a replayed answer.
pub const REPLAYED: &str = "idempotent-replayed";
/// How long a key is kept (the API promises at least 24 hours).
pub const KEPT_FOR: Duration = Duration::from_secs(48 * 3600);
/// Longest key accepted.
const MAX_KEY_LEN: usize = 255;
/// POSTs never kept: their answers hold or end a bearer token (paths below `/api/v1`).
const NOT_KEPT: [&str; 3] = ["/auth/login", "/auth/logout", "/admin/accounts"];
/// The answer headers kept and replayed.
const KEPT_HEADERS: [header::HeaderName; 3] =
    [header::CONTENT_TYPE, header::LOCATION, header::ETAG];

/// The middleware's state: the app's, and a router to read resources with
/// when an answer has to be rebuilt.
#[derive(Clone, Debug)]
pub struct Idempotency {
    state: AppState,
    readers: Router,
}

impl Idempotency {
    pub fn new(state: AppState) -> Self {
        let readers = Router::new()
            .route("/grievances/{id}", get(super::grievances::get))
            .route("/mediation-cases/{id}", get(super::mediation::get))
            .route("/meetings/{id}", get(super::meetings::get))
            .with_state(state.clone());
        Self { state, readers }
    }
}

/// One POST under a key, as the middleware handles it.
struct Keyed {
    account: AccountId,
    key: String,
    key_hash: String,
    request_hash: String,
    /// The path below `/api/v1`.
    path: String,
    authorization: Option<HeaderValue>,
}

impl Keyed {
    fn request(&self) -> KeyedRequest<'_> {
        KeyedRequest {
            account: self.account,
            key: &self.key,
            key_hash: &self.key_hash,
            request_hash: &self.request_hash,
        }
    }
}

/// `axum::middleware::from_fn_with_state` on the `/api/v1` routes.
pub async fn middleware(State(this): State<Idempotency>, req: Request, next: Next) -> Response {
    let below = below_api(req.uri().path()).to_owned();
    if req.method() != Method::POST
        || !req.headers().contains_key(HEADER)
        || NOT_KEPT.contains(&below.as_str())
    {
        return next.run(req).await;
    }
    let path = below;
    let full = req
        .extensions()
        .get::<OriginalUri>()
        .map(|u| u.0.clone())
        .unwrap_or_else(|| req.uri().clone());
    let (mut parts, body) = req.into_parts();
    // Without a valid token the handler answers 401; nothing is kept.
    let Ok(caller) = Caller::from_request_parts(&mut parts, &this.state).await else {
        return next.run(Request::from_parts(parts, body)).await;
    };
    let key = match key_of(&parts.headers) {
        Ok(key) => key,
        Err(e) => return e.into_response(),
    };
    let bytes = match Bytes::from_request(Request::from_parts(parts.clone(), body), &()).await {
        Ok(bytes) => bytes,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return ApiError::payload_too_large().into_response()
        }
        Err(rejection) => {
            return ApiError::malformed_body(None, rejection.body_text()).into_response()
        }
    };
    let keyed = Keyed {
        account: caller.0.id,
        key_hash: key_hash(caller.0.id, &key),
        key,
        request_hash: request_hash(&parts.method, &full, &bytes),
        path,
        authorization: parts.headers.get(header::AUTHORIZATION).cloned(),
    };
    let req = Request::from_parts(parts, Body::from(bytes));
    match this.decide(&keyed).await {
        Ok(None) => this.run(&keyed, req, next).await,
        Ok(Some(answer)) => answer,
        Err(e) => e.into_response(),
    }
}

/// The key of a request: 1 to 255 visible ASCII characters, given once.
fn key_of(headers: &HeaderMap) -> Result<String, ApiError> {
    let refuse = |reason| ApiError::bad_header("Idempotency-Key", reason);
    let mut values = headers.get_all(HEADER).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return Err(refuse("must be given once"));
    };
    let bytes = value.as_bytes();
    if bytes.is_empty()
        || bytes.len() > MAX_KEY_LEN
        || !bytes.iter().all(|b| (0x21..=0x7e).contains(b))
    {
        return Err(refuse("must be 1 to 255 visible ASCII characters"));
    }
    Ok(String::from_utf8_lossy(bytes).into_owned())
}

/// What the events' metadata carries: neither the account (which readers
/// may only know as a pseudonym) nor the client's key in the clear.
fn key_hash(account: AccountId, key: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"lianxi idempotency key\n");
    hasher.update(account.0.to_string().as_bytes());
    hasher.update(b"\n");
    hasher.update(key.as_bytes());
    hex::encode(hasher.finalize())
}

fn request_hash(method: &Method, uri: &Uri, body: &[u8]) -> String {
    let target = uri.path_and_query().map_or(uri.path(), |p| p.as_str());
    let mut hasher = Sha256::new();
    hasher.update(method.as_str().as_bytes());
    hasher.update(b"\n");
    hasher.update(target.as_bytes());
    hasher.update(b"\n");
    hasher.update(body);
    hex::encode(hasher.finalize())
}

/// A request's path below `/api/v1` (the routes are registered with the
/// prefix, as their OpenAPI entries name them).
fn below_api(path: &str) -> &str {
    path.strip_prefix("/api/v1").unwrap_or(path)
}

/// The collection a path below `/api/v1` is in, with its aggregate type,
/// and the id it names (`None`: a POST to the collection creates one).
fn collection_of(path: &str) -> Option<(&'static str, &'static str, Option<&str>)> {
    let mut segments = path.trim_start_matches('/').split('/');
    let (collection, aggregate_type) = match segments.next()? {
        "grievances" => ("grievances", Grievance::TYPE),
        "mediation-cases" => ("mediation-cases", MediationCase::TYPE),
        "meetings" => ("meetings", JointMeeting::TYPE),
        _ => return None,
    };
    Some((collection, aggregate_type, segments.next()))
}

impl Idempotency {
    /// `None`: run the request; `Some`: the answer without running it.
    async fn decide(&self, keyed: &Keyed) -> Result<Option<Response>, ApiError> {
        // A takeover lost to another retry goes round once more, to a 409.
        for _ in 0..3 {
            let now = Utc::now();
            let kept_for = TimeDelta::from_std(KEPT_FOR).unwrap_or(TimeDelta::MAX);
            let claim = keys::claim(&self.state, &keyed.request(), now, now + kept_for)
                .await
                .map_err(ApiError::from_db)?;
            let record = match claim {
                Claim::Claimed => return Ok(None),
                Claim::Held(record) => record,
            };
            if record.request_hash != keyed.request_hash {
                return Err(ApiError::idempotency_key_reused());
            }
            if let Some(answer) = record.answer {
                tracing::debug!("replaying the kept answer of an idempotency key");
                return Ok(Some(replay(&answer)));
            }
            let stale_after = self.state.limits.stale_after();
            let stale_before = now - TimeDelta::from_std(stale_after).unwrap_or(TimeDelta::MAX);
            if record.started_at > stale_before {
                return Err(ApiError::idempotency_key_in_use());
            }
            // The first run died. Did its command commit?
            if let Some((aggregate_type, id)) = &record.committed {
                match collection_of(&keyed.path) {
                    Some((collection, ty, named)) => {
                        if ty == aggregate_type && named.is_none_or(|n| n == id) {
                            let created = named.is_none();
                            return self.rebuild(keyed, collection, id, created).await.map(Some);
                        }
                        // It appended to another stream first (a merge
                        // links on the primary, idempotently) and died
                        // before its own: running it again completes it.
                    }
                    None => {
                        let lost = ApiError::conflict(
                            "idempotency-answer-lost",
                            "The request was applied but its answer was lost",
                            format!("it changed {aggregate_type} {id}; read it to see the outcome"),
                        );
                        return self.keep(keyed, lost.into_response()).await.map(Some);
                    }
                }
            }
            if keys::take_over(&self.state, keyed.account, &keyed.key, stale_before, now)
                .await
                .map_err(ApiError::from_db)?
            {
                tracing::info!(
                    "running a request again whose first run under its idempotency key died"
                );
                return Ok(None);
            }
        }
        Err(ApiError::idempotency_key_in_use())
    }

    /// Runs the request with the key in its events' metadata; keeps the
    /// answer, or lets the key go on a server error.
    async fn run(&self, keyed: &Keyed, req: Request, next: Next) -> Response {
        let response = with_idempotency_key(keyed.key_hash.clone(), next.run(req)).await;
        if response.status().is_server_error() {
            // Uncommitted: deleted, so a retry runs again. Committed (the
            // failure came after the append): made stale at once, so a
            // retry rebuilds the answer instead of appending twice.
            let stale =
                TimeDelta::from_std(self.state.limits.stale_after() + Duration::from_secs(1))
                    .unwrap_or(TimeDelta::MAX);
            if let Err(e) =
                keys::release(&self.state, keyed.account, &keyed.key, Utc::now() - stale).await
            {
                tracing::error!(error = %e, "cannot release an idempotency key");
            }
            return response;
        }
        match self.keep(keyed, response).await {
            Ok(response) => response,
            Err(e) => e.into_response(),
        }
    }

    /// Keeps `response` as the key's answer and returns it.
    async fn keep(&self, keyed: &Keyed, response: Response) -> Result<Response, ApiError> {
        let (parts, body) = response.into_parts();
        let bytes = axum::body::to_bytes(body, usize::MAX).await.map_err(|e| {
            tracing::error!(error = %e, "cannot read an answer to keep it");
            ApiError::internal()
        })?;
        let answer = KeptAnswer {
            status: parts.status.as_u16(),
            headers: kept_headers(&parts.headers),
            body: bytes.to_vec(),
        };
        // Unkept, the key stays in progress: a retry once stale
        // rebuilds the answer or runs again, as after a crash.
        if let Err(e) = keys::complete(&self.state, keyed.account, &keyed.key, &answer).await {
            tracing::error!(error = %e, "cannot keep the answer of an idempotency key");
        }
        Ok(Response::from_parts(parts, Body::from(bytes)))
    }

    /// The answer of a request whose command committed to `collection/id`
    /// but whose first run died before answering: the resource as it is
    /// now, read with the caller's token (`201` for a creation).
    async fn rebuild(
        &self,
        keyed: &Keyed,
        collection: &str,
        id: &str,
        created: bool,
    ) -> Result<Response, ApiError> {
        let mut read = Request::get(format!("/{collection}/{id}"))
            .body(Body::empty())
            .map_err(|_| ApiError::internal())?;
        if let Some(authorization) = &keyed.authorization {
            read.headers_mut()
                .insert(header::AUTHORIZATION, authorization.clone());
        }
        let Ok(current) = self.readers.clone().oneshot(read).await;
        if current.status().is_server_error() {
            return Ok(current);
        }
        let (mut parts, body) = current.into_parts();
        let bytes = axum::body::to_bytes(body, usize::MAX)
            .await
            .map_err(|_| ApiError::internal())?;
        let bytes = if parts.status == StatusCode::OK {
            parts.status = if created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            if created {
                let location = HeaderValue::from_str(&format!("/api/v1/{collection}/{id}"))
                    .map_err(|_| ApiError::internal())?;
                parts.headers.insert(header::LOCATION, location);
            }
            without_personal_data(bytes)
        } else {
            bytes
        };
        tracing::info!(
            status = parts.status.as_u16(),
            "rebuilt the lost answer of a committed request under an idempotency key"
        );
        let response = self
            .keep(keyed, Response::from_parts(parts, Body::from(bytes)))
            .await?;
        Ok(mark_replayed(response))
    }
}

/// A grievance's `filer_contact` (name, phone, room) exists in plaintext
/// only in memory: it is never kept in a table.
fn without_personal_data(bytes: Bytes) -> Bytes {
    match serde_json::from_slice::<serde_json::Value>(&bytes) {
        Ok(serde_json::Value::Object(mut view)) if view.contains_key("filer_contact") => {
            view.remove("filer_contact");
            serde_json::to_vec(&view).map_or(bytes, Bytes::from)
        }
        _ => bytes,
    }
}

fn kept_headers(headers: &HeaderMap) -> Vec<(String, String)> {
    KEPT_HEADERS
        .iter()
        .filter_map(|name| {
            let value = headers.get(name)?.to_str().ok()?;
            Some((name.as_str().to_owned(), value.to_owned()))
        })
        .collect()
}

fn replay(answer: &KeptAnswer) -> Response {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    // Only the kept headers: no default `Content-Type` for a body that had none.
    let mut response = Response::new(Body::from(answer.body.clone()));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    for (name, value) in &answer.headers {
        if let (Ok(name), Ok(value)) = (
            header::HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            headers.insert(name, value);
        }
    }
    mark_replayed(response)
}

fn mark_replayed(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(REPLAYED, HeaderValue::from_static("true"));
    response
}

/// Adds the optional `Idempotency-Key` header to every POST of the OpenAPI
/// document that takes it.
#[derive(Debug)]
pub struct IdempotencyHeader;

impl Modify for IdempotencyHeader {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (path, item) in openapi.paths.paths.iter_mut() {
            let below = path.strip_prefix("/api/v1").unwrap_or(path);
            if NOT_KEPT.contains(&below) {
                continue;
            }
            let Some(post) = item.post.as_mut() else {
                continue;
            };
            let parameter = ParameterBuilder::new()
                .name("Idempotency-Key")
                .parameter_in(ParameterIn::Header)
                .required(Required::False)
                .description(Some(
                    "1–255 visible ASCII characters, chosen by the client (a UUID, say). A retry \
                     with the same key and request gets the first answer again, marked \
                     `Idempotent-Replayed: true`, instead of running twice. Scoped per account, \
                     kept at least 24 h. The same key with another request: 422 \
                     `idempotency-key-reused`; while the first still runs: 409 \
                     `idempotency-key-in-use` with `Retry-After`.",
                ))
                .schema(Some(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .min_length(Some(1))
                        .max_length(Some(MAX_KEY_LEN))
                        .pattern(Some("^[!-~]+$")),
                ))
                .build();
            post.parameters.get_or_insert_with(Vec::new).push(parameter);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for v in values {
            map.append(HEADER, HeaderValue::from_str(v).expect("header value"));
        }
        map
    }

    #[test]
    fn keys_are_one_to_255_visible_ascii_characters_given_once() {
        assert_eq!(
            key_of(&headers(&["a-b_c.9~!"])).ok().as_deref(),
            Some("a-b_c.9~!")
        );
        assert!(key_of(&headers(&[&"k".repeat(255)])).is_ok());
        assert!(key_of(&headers(&[&"k".repeat(256)])).is_err());
        assert!(key_of(&headers(&[""])).is_err());
        assert!(key_of(&headers(&["has space"])).is_err());
        assert!(key_of(&headers(&["one", "two"])).is_err());
    }

    #[test]
    fn the_request_hash_covers_method_path_query_and_body() {
        let uri: Uri = "/api/v1/grievances?x=1".parse().expect("uri");
        let other: Uri = "/api/v1/grievances?x=2".parse().expect("uri");
        let base = request_hash(&Method::POST, &uri, b"{}");
        assert_eq!(base, request_hash(&Method::POST, &uri, b"{}"));
        assert_ne!(base, request_hash(&Method::POST, &other, b"{}"));
        assert_ne!(base, request_hash(&Method::POST, &uri, b"{ }"));
        assert_ne!(base, request_hash(&Method::PUT, &uri, b"{}"));
    }

    #[test]
    fn key_hashes_are_scoped_per_account() {
        let a = AccountId(uuid::Uuid::new_v4());
        let b = AccountId(uuid::Uuid::new_v4());
        assert_eq!(key_hash(a, "k"), key_hash(a, "k"));
        assert_ne!(key_hash(a, "k"), key_hash(b, "k"));
        assert_ne!(key_hash(a, "k"), key_hash(a, "k2"));
    }

    #[test]
    fn paths_name_their_collection_and_stream() {
        assert_eq!(
            collection_of("/grievances"),
            Some(("grievances", "grievance", None))
        );
        assert_eq!(
            collection_of("/meetings/abc/open"),
            Some(("meetings", "joint_meeting", Some("abc")))
        );
        assert_eq!(collection_of("/admin/xiaoqu"), None);
    }

    #[test]
    fn answers_holding_a_token_are_never_kept_whatever_the_prefix() {
        for path in [
            "/api/v1/auth/login",
            "/api/v1/auth/logout",
            "/api/v1/admin/accounts",
        ] {
            assert!(NOT_KEPT.contains(&below_api(path)), "{path}");
        }
        assert_eq!(
            below_api("/api/v1/grievances/x/accept"),
            "/grievances/x/accept"
        );
    }
}
