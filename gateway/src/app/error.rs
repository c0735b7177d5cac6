//! Errors as `application/problem+json` (RFC 9457), with a stable `type`
//! and, for bad input, the field and the reason.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use lianxi_domain::mediation::MediationError;
use lianxi_domain::meeting::MeetingError;
use lianxi_domain::registry::RegistryError;
use lianxi_domain::GrievanceError;
use serde::Serialize;
use utoipa::ToSchema;

use crate::app::people::PeopleError;
pub use crate::db::DbError;
use crate::event_log::CommandError;
use lianxi_domain::PersonError;

/// One refused field.
/// The media type of error bodies.
pub const PROBLEM: &str = "application/problem+json";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldProblem {
    /// The field, as a JSON path (`location.building`, `attachments[0].sha256`).
    pub field: String,
    pub reason: String,
}

/// An RFC 9457 problem document.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Problem {
    /// Stable identifier of the kind of problem, `urn:lianxi:problem:<slug>`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The first refused field, when the problem is about input.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldProblem>,
}

/// The one error type of the HTTP edge.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    slug: &'static str,
    title: &'static str,
    detail: Option<String>,
    errors: Vec<FieldProblem>,
    /// Seconds for a `Retry-After` header (429, 503).
    retry_after: Option<u64>,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, slug: &'static str, title: &'static str) -> Self {
        Self {
            status,
            slug,
            title,
            detail: None,
            errors: Vec::new(),
            retry_after: None,
        }
    }

    /// 401: the login name or the password is wrong (which one is not said).
    pub fn invalid_credentials() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "invalid-credentials",
            "The login name or password is wrong",
        )
    }

    /// 401: the token was valid but has expired.
    pub fn token_expired() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "token-expired",
            "The token has expired; sign in again",
        )
    }

    /// 401: the token, or its account, was revoked.
    pub fn token_revoked() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "token-revoked",
            "The token has been revoked",
        )
    }

    /// 429: too many recent failures; wait `retry_after` seconds.
    pub fn too_many_attempts(retry_after: u64) -> Self {
        let mut e = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too-many-attempts",
            "Too many failed attempts; wait before trying again",
        )
        .with_detail(format!("try again in {retry_after} s"));
        e.retry_after = Some(retry_after);
        e
    }

    /// 429: a rate limit; try again after `retry_after` seconds.
    pub fn rate_limited(retry_after: u64) -> Self {
        let mut e = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate-limited",
            "Too many requests of this kind; wait before trying again",
        )
        .with_detail(format!("try again in {retry_after} s"));
        e.retry_after = Some(retry_after);
        e
    }

    /// 409: the resource is not in a state that allows this.
    pub fn conflict(slug: &'static str, title: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, slug, title).with_detail(detail)
    }

    /// 409: a request under this `Idempotency-Key` is still running.
    pub fn idempotency_key_in_use() -> Self {
        let mut e = Self::new(
            StatusCode::CONFLICT,
            "idempotency-key-in-use",
            "A request with this Idempotency-Key is still being processed",
        )
        .with_detail("try again in 1 s");
        e.retry_after = Some(1);
        e
    }

    /// 422: this `Idempotency-Key` was first used for a different request.
    pub fn idempotency_key_reused() -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "idempotency-key-reused",
            "This Idempotency-Key was used for a different request",
        )
        .with_detail("the method, path or body differ from the first request with this key; use a new key for a new request")
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    pub fn status_code(&self) -> StatusCode {
        self.status
    }

    pub fn slug(&self) -> &'static str {
        self.slug
    }

    /// 422: a value was well-formed JSON but is not acceptable.
    pub fn invalid_field(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::invalid_fields(vec![FieldProblem {
            field: field.into(),
            reason: reason.into(),
        }])
    }

    pub fn invalid_fields(errors: Vec<FieldProblem>) -> Self {
        let mut e = Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-field",
            "A field has an invalid value",
        );
        e.detail = errors.first().map(|f| format!("{}: {}", f.field, f.reason));
        e.errors = errors;
        e
    }

    /// 400: the body is not the JSON this endpoint takes.
    pub fn malformed_body(field: Option<String>, reason: String) -> Self {
        let mut e = Self::new(
            StatusCode::BAD_REQUEST,
            "malformed-body",
            "The request body is not valid for this endpoint",
        );
        e.detail = Some(match &field {
            Some(f) => format!("{f}: {reason}"),
            None => reason.clone(),
        });
        if let Some(field) = field {
            e.errors.push(FieldProblem { field, reason });
        }
        e
    }

    pub fn unsupported_media_type() -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "The request body must be application/json",
        )
    }

    /// 410: the resource existed and was erased.
    pub fn gone(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::GONE, "gone", "The resource was erased").with_detail(detail)
    }

    /// 413: one uploaded file exceeds the limit.
    pub fn file_too_large(field: String, limit: u64) -> Self {
        let mut e = Self::payload_too_large();
        let reason = format!("is larger than {limit} bytes");
        e.detail = Some(format!("{field}: {reason}"));
        e.errors.push(FieldProblem { field, reason });
        e
    }

    /// 415: an upload must be `multipart/form-data`.
    pub fn not_multipart(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "The request body must be multipart/form-data",
        )
        .with_detail(detail)
    }

    pub fn payload_too_large() -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload-too-large",
            "The request body is too large",
        )
    }

    pub fn bad_header(name: &str, reason: &str) -> Self {
        let mut e = Self::new(
            StatusCode::BAD_REQUEST,
            "invalid-header",
            "A header has an invalid value",
        );
        e.detail = Some(format!("{name}: {reason}"));
        e.errors.push(FieldProblem {
            field: name.to_owned(),
            reason: reason.to_owned(),
        });
        e
    }

    /// 400: a query parameter is not acceptable.
    pub fn bad_query(name: &str, reason: &str) -> Self {
        let mut e = Self::new(
            StatusCode::BAD_REQUEST,
            "invalid-query",
            "A query parameter is invalid",
        );
        e.detail = Some(format!("{name}: {reason}"));
        e.errors.push(FieldProblem {
            field: name.to_owned(),
            reason: reason.to_owned(),
        });
        e
    }

    pub fn from_store(e: lianxi_projections::StoreError) -> Self {
        tracing::error!(error = %e, "read model error");
        match e {
            lianxi_projections::StoreError::Sqlx(e) if crate::db::is_unavailable(&e) => {
                Self::unavailable("the store is not reachable")
            }
            _ => Self::internal(),
        }
    }

    pub fn unauthorized(detail: &str) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Authentication is required",
        )
        .with_detail(detail)
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Not allowed for this account",
        )
        .with_detail(detail)
    }

    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", "No such resource")
    }

    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method-not-allowed",
            "This resource does not take this method",
        )
    }

    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "An unexpected error occurred; it has been logged",
        )
    }

    pub fn unavailable(detail: &str) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "The service is temporarily unavailable",
        )
        .with_detail(detail)
    }

    pub fn from_db(e: DbError) -> Self {
        tracing::error!(error = %e, "database error");
        match e {
            DbError::Sqlx(e) if crate::db::is_unavailable(&e) => {
                Self::unavailable("the store is not reachable")
            }
            _ => Self::internal(),
        }
    }

    pub fn to_problem(&self) -> Problem {
        Problem {
            kind: format!("urn:lianxi:problem:{}", self.slug),
            title: self.title.to_owned(),
            status: self.status.as_u16(),
            detail: self.detail.clone(),
            field: self.errors.first().map(|f| f.field.clone()),
            reason: self.errors.first().map(|f| f.reason.clone()),
            errors: self.errors.clone(),
        }
    }
}

impl From<GrievanceError> for ApiError {
    fn from(e: GrievanceError) -> Self {
        use GrievanceError as E;
        let detail = e.to_string();
        match e {
            E::NotFiled => Self::not_found(),
            E::AlreadyFiled => Self::new(
                StatusCode::CONFLICT,
                "already-exists",
                "The resource already exists",
            )
            .with_detail(detail),
            E::InvalidTransition { .. } => Self::new(
                StatusCode::CONFLICT,
                "invalid-transition",
                "The grievance's status does not allow this command",
            )
            .with_detail(detail),
            E::RoleNotAllowed { .. }
            | E::NotTheFiler { .. }
            | E::NotTheHandler { .. }
            | E::NotTheAssignedParty
            | E::EscalationReasonNotAllowed { .. } => Self::forbidden(detail),
            E::TierBelowCurrent { .. } => Self::invalid_field("tier", detail),
            E::TooManyAttachments { .. } | E::AlreadyAttached { .. } | E::NothingToAttach => {
                Self::invalid_field("file", detail)
            }
            E::NotInCase { .. } => Self::new(
                StatusCode::CONFLICT,
                "invalid-transition",
                "The grievance is not in that mediation case",
            )
            .with_detail(detail),
            E::CannotMergeIntoItself
            | E::MergeAcrossXiaoqu
            | E::PrimaryTakesNoDuplicates { .. } => Self::invalid_field("primary", detail),
            E::AlreadyPaused | E::NotPaused | E::NoRunningDeadline => Self::new(
                StatusCode::CONFLICT,
                "invalid-transition",
                "The grievance's deadline does not allow this command",
            )
            .with_detail(detail),
            E::DeadlineNotCurrent | E::DeadlineNotDue { .. } => Self::new(
                StatusCode::CONFLICT,
                "deadline-not-current",
                "The deadline named is not the grievance's current, passed deadline",
            )
            .with_detail(detail),
            E::ReopenWindowClosed { .. }
            | E::RatingWindowClosed { .. }
            | E::RatedSatisfied
            | E::AlreadyRated
            | E::AlreadyAtTopTier => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "rule-violated",
                "The command breaks a rule of the grievance lifecycle",
            )
            .with_detail(detail),
        }
    }
}

impl From<MeetingError> for ApiError {
    fn from(e: MeetingError) -> Self {
        use MeetingError as E;
        let detail = e.to_string();
        let field = match e {
            E::NotConvened => return Self::not_found(),
            E::UnknownItem(_) | E::UnknownActionItem(_) => return Self::not_found(),
            E::AlreadyConvened => {
                return Self::conflict("already-exists", "The resource already exists", detail)
            }
            E::RoleNotAllowed { .. } | E::NotTheOwner => return Self::forbidden(detail),
            E::InvalidTransition { .. }
            | E::ItemAlreadySettled(_)
            | E::ActionItemAlreadyDone(_)
            | E::ItemsPending { .. } => {
                return Self::conflict(
                    "invalid-transition",
                    "The meeting's status does not allow this command",
                    detail,
                )
            }
            E::QuorumNotMet { .. } => {
                return Self::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "quorum-not-met",
                    "The parties present do not make a quorum",
                )
                .with_detail(detail)
            }
            E::ScheduledInThePast => "scheduled_for",
            E::UrgentMeetingNeedsAnItem | E::TooManyAgendaItems { .. } | E::DuplicateItem(_) => {
                "agenda"
            }
            E::SubjectAlreadyOnAgenda(_) => "subject",
            E::TooManyInvitees { .. } | E::DuplicateInvitee(_) => "invited_people",
            E::NotAMeetingParty(_) | E::DuplicatePresentParty(_) => "present_parties",
            E::NotInvited(_) | E::DuplicatePresentPerson(_) => "present_people",
            E::PositionMissing(_) | E::PartyNotPresent(_) | E::DuplicatePosition(_) => "positions",
            E::TooManyActionItems { .. }
            | E::DuplicateActionItem(_)
            | E::DueDateNotInTheFuture(_) => "action_items",
            E::VoteNotCitable => "vote",
        };
        Self::invalid_field(field, detail)
    }
}

impl From<RegistryError> for ApiError {
    fn from(e: RegistryError) -> Self {
        use RegistryError as E;
        let detail = e.to_string();
        match e {
            E::RoleNotAllowed { .. } => Self::forbidden(detail),
            E::NotRegistered => Self::not_found(),
            E::AlreadyRegistered | E::PartyTaken(_) => {
                Self::conflict("already-exists", "The resource already exists", detail)
            }
            E::NotAXiaoquParty(_) => Self::invalid_field("party", detail),
            E::NotActing(_) => Self::invalid_field("organization", detail),
        }
    }
}

impl From<MediationError> for ApiError {
    fn from(e: MediationError) -> Self {
        use MediationError as E;
        let detail = e.to_string();
        let field = match e {
            E::NotOpened | E::UnknownSession(_) | E::UnknownObligation(_) => {
                return Self::not_found()
            }
            E::AlreadyOpened => {
                return Self::conflict("already-exists", "The resource already exists", detail)
            }
            E::RoleNotAllowed { .. } | E::NotTheMediator { .. } | E::NotThatParty => {
                return Self::forbidden(detail)
            }
            E::InvalidTransition { .. }
            | E::SessionAlreadyRecorded(_)
            | E::ObligationNotOpen(_)
            | E::DeadlineNotDue { .. }
            | E::DueDateChanged => {
                return Self::conflict(
                    "invalid-transition",
                    "The case's status does not allow this command",
                    detail,
                )
            }
            E::NoGrievances | E::TooManyGrievances { .. } | E::DuplicateGrievance(_) => {
                "grievances"
            }
            E::NoApplicants => "applicants",
            E::NoRespondents | E::PartyCannotBeMediated(_) => "respondents",
            E::TooManyParties { .. } | E::DuplicateParty(_) => "parties",
            E::NotACaseParty(_) => "party",
            E::NoPlaceOrMeeting => "place",
            E::SessionInThePast => "scheduled_for",
            E::StatementFromAbsentParty(_) | E::DuplicateStatement(_) => "statements",
            E::TooManyObligations { .. } | E::DuplicateObligation(_) | E::DueDateNotInTheFuture => {
                "obligations"
            }
        };
        Self::invalid_field(field, detail)
    }
}

impl From<lianxi_domain::ledger::ExportError> for ApiError {
    fn from(e: lianxi_domain::ledger::ExportError) -> Self {
        use lianxi_domain::ledger::ExportError as E;
        let detail = e.to_string();
        match e {
            E::RoleNotAllowed(_) => Self::forbidden(detail),
            // A place the caller does not serve is not told apart from one
            // that does not exist.
            E::OutsideScope => Self::not_found().with_detail(detail),
            E::PeriodReversed | E::PeriodTooLong { .. } => Self::invalid_field("to", detail),
            E::CsvHoldsOneLedger => Self::invalid_field("ledger", detail),
        }
    }
}

impl<E> From<CommandError<E>> for ApiError
where
    E: std::error::Error,
    ApiError: From<E>,
{
    fn from(e: CommandError<E>) -> Self {
        match e {
            CommandError::Domain(e) => e.into(),
            CommandError::Stale { expected, current } => Self::new(
                StatusCode::PRECONDITION_FAILED,
                "stale-version",
                "The resource has changed since the version given in If-Match",
            )
            .with_detail(format!(
                "expected version {expected}, current version {current}"
            )),
            CommandError::Conflict => Self::new(
                StatusCode::CONFLICT,
                "version-conflict",
                "The resource is being changed concurrently; try again",
            ),
            CommandError::Unavailable(message) => {
                tracing::error!(error = %message, "event store unreachable");
                Self::unavailable("the store is not reachable")
            }
            CommandError::Store(message) => {
                tracing::error!(error = %message, "event store error");
                Self::internal()
            }
        }
    }
}

impl From<PeopleError> for ApiError {
    fn from(e: PeopleError) -> Self {
        match e {
            PeopleError::Domain(PersonError::NotPermitted(role)) => {
                Self::forbidden(format!("the role {role} may not do this"))
            }
            PeopleError::Domain(PersonError::Erased) => Self::conflict(
                "already-erased",
                "This person's personal data was erased",
                "erasure cannot be undone or repeated",
            ),
            PeopleError::Domain(PersonError::NotRegistered) => Self::not_found(),
            PeopleError::Domain(e @ PersonError::AlreadyRegistered) => Self::conflict(
                "already-exists",
                "The resource already exists",
                e.to_string(),
            ),
            PeopleError::Domain(PersonError::NotSealed) | PeopleError::Unopenable(..) => {
                tracing::error!(error = %e, "personal data");
                Self::internal()
            }
            PeopleError::Db(e) => Self::from_db(e),
            PeopleError::Conflict => Self::new(
                StatusCode::CONFLICT,
                "version-conflict",
                "The person is being changed concurrently; try again",
            ),
            PeopleError::Unavailable(message) => {
                tracing::error!(error = %message, "event store unreachable");
                Self::unavailable("the store is not reachable")
            }
            PeopleError::Store(message) => {
                tracing::error!(error = %message, "event store error");
                Self::internal()
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self.to_problem()).unwrap_or_default();
        let mut response = (self.status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM));
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(seconds) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        } else if self.status == StatusCode::SERVICE_UNAVAILABLE {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}
