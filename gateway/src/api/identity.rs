//! Signing in and out, the caller's own account, and erasure of a person's
//! personal data.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use lianxi_domain::values::AccountId;
use lianxi_domain::{Actor, Role};
use uuid::Uuid;

use super::dto::{
    AccountCreated, AccountRequest, AccountView, ContactDto, ErasureRequest, ErasureResult,
    LoginRequest, LoginResponse, RevocationResult, RoleGrantDto, XiaoquRequest, XiaoquView,
};
use super::error::{ApiError, Problem, PROBLEM};
use super::json::{ApiJson, OptionalJson};
use super::request_id::RequestId;
use super::AppState;
use crate::app::admin::{self, AdminError};
use crate::app::auth::{self, Caller, CallerToken, ClientAddress, LoginRefusal, RoleChoice};
use crate::app::auth::{AccountRecord, Scope};
use crate::app::people::PersonalView;
use crate::app::CommandMetadata;

fn account_view(
    state: &AppState,
    account: &AccountRecord,
    contact: Option<ContactDto>,
) -> AccountView {
    let (xiaoqu, unit, organization) = match &account.scope {
        Scope::Xiaoqu(x) => (Some(x.0), None, None),
        Scope::Unit(u) => (None, Some(u.clone()), None),
        Scope::Organization(o) => (None, None, Some(o.0)),
        Scope::Global => (None, None, None),
    };
    AccountView {
        id: account.id.0,
        role: account.role.as_str().to_owned(),
        xiaoqu,
        unit,
        organization,
        pseudonym: state.people.pseudonym(account.id),
        personal_data: contact,
        roles: Vec::new(),
    }
}

fn grant_view(grant: &AccountRecord) -> RoleGrantDto {
    let (xiaoqu, unit) = match &grant.scope {
        Scope::Xiaoqu(x) => (Some(x.to_string()), None),
        Scope::Unit(u) => (None, Some(u.clone())),
        Scope::Organization(_) | Scope::Global => (None, None),
    };
    RoleGrantDto {
        role: grant.role.as_str().to_owned(),
        xiaoqu,
        unit,
    }
}

/// The personal data of `person` for a view entitled to see it.
pub(super) async fn contact(
    state: &AppState,
    person: AccountId,
) -> Result<Option<ContactDto>, ApiError> {
    Ok(match state.people.personal_data(person).await? {
        PersonalView::Present(data) => Some(ContactDto {
            name: Some(data.name),
            phone: data.phone,
            room: data.room,
            erased: false,
        }),
        PersonalView::Erased => Some(ContactDto {
            name: None,
            phone: None,
            room: None,
            erased: true,
        }),
        PersonalView::Unrecorded => None,
    })
}

/// Sign in with a login name and password; answers a bearer token that
/// expires after 12 hours.
#[utoipa::path(
    post, path = "/api/v1/auth/login", tag = "accounts",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in", body = LoginResponse),
        (status = 400, description = "Malformed body", body = Problem, content_type = PROBLEM),
        (status = 401, description = "Wrong login name or password", body = Problem, content_type = PROBLEM),
        (status = 422, description = "A field is invalid", body = Problem, content_type = PROBLEM),
        (status = 429, description = "Too many failed attempts (see Retry-After)", body = Problem, content_type = PROBLEM),
    )
)]
pub async fn login(
    State(state): State<AppState>,
    ClientAddress(client): ClientAddress,
    ApiJson(body): ApiJson<LoginRequest>,
) -> Result<Json<LoginResponse>, ApiError> {
    let login = body.login.trim();
    if login.is_empty() || login.chars().count() > 64 {
        return Err(ApiError::invalid_field(
            "login",
            "must be 1 to 64 characters",
        ));
    }
    if body.password.is_empty() || body.password.chars().count() > *auth::PASSWORD_LENGTH.end() {
        return Err(ApiError::invalid_field(
            "password",
            format!("must be 1 to {} characters", auth::PASSWORD_LENGTH.end()),
        ));
    }
    let xiaoqu = match body
        .xiaoqu
        .as_deref()
        .map(str::trim)
        .filter(|x| !x.is_empty())
    {
        None => None,
        Some(named) => Some(
            crate::app::registry::find(&state, named)
                .await
                .map_err(ApiError::from_db)?
                .ok_or_else(|| ApiError::invalid_field("xiaoqu", format!("no xiaoqu {named:?}")))?
                .id,
        ),
    };
    let wanted = match &body.role {
        None => None,
        Some(role) => Some(RoleChoice {
            role: Role::parse(role.trim())
                .filter(|r| *r != Role::System)
                .ok_or_else(|| ApiError::invalid_field("role", format!("unknown role {role:?}")))?,
            xiaoqu,
            unit: body.unit.clone(),
        }),
    };
    match auth::sign_in(&state, login, &body.password, client, wanted.as_ref()).await {
        Ok(session) => {
            let view = account_view(&state, &session.account, None);
            Ok(Json(LoginResponse {
                token: session.token,
                token_type: "Bearer".to_owned(),
                expires_at: session.expires_at,
                account: view,
            }))
        }
        Err(LoginRefusal::InvalidCredentials) => Err(ApiError::invalid_credentials()),
        Err(LoginRefusal::RoleNotHeld(reason)) => Err(ApiError::invalid_field("role", reason)),
        Err(LoginRefusal::Throttled { retry_after }) => {
            Err(ApiError::too_many_attempts(retry_after))
        }
        Err(LoginRefusal::Db(e)) => Err(ApiError::from_db(e)),
    }
}

/// Sign out: revokes the token of this request.
#[utoipa::path(
    post, path = "/api/v1/auth/logout", tag = "accounts",
    responses(
        (status = 204, description = "The token is revoked"),
        (status = 401, description = "No or bad token", body = Problem, content_type = PROBLEM),
    ),
    security(("bearer" = []))
)]
pub async fn logout(
    State(state): State<AppState>,
    token: CallerToken,
) -> Result<Response, ApiError> {
    auth::sign_out(&state, &token.token_hash)
        .await
        .map_err(ApiError::from_db)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The caller's own account, with their personal data.
#[utoipa::path(
    get, path = "/api/v1/auth/me", tag = "accounts",
    responses(
        (status = 200, description = "The caller's account", body = AccountView),
        (status = 401, description = "No or bad token", body = Problem, content_type = PROBLEM),
    ),
    security(("bearer" = []))
)]
pub async fn me(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<AccountView>, ApiError> {
    let contact = contact(&state, caller.0.id).await?;
    let mut view = account_view(&state, &caller.0, contact);
    view.roles = admin::grants(&state, caller.0.id)
        .await
        .map_err(ApiError::from_db)?
        .iter()
        .map(grant_view)
        .collect();
    Ok(Json(view))
}

/// Erase a person's personal data (admin only): their data key is
/// destroyed, their sign-in ends and `PersonalDataErased` is recorded. Every
/// stream still replays; views show the data as erased. Cannot be undone.
#[utoipa::path(
    post, path = "/api/v1/admin/people/{id}/erasure", tag = "accounts",
    params(("id" = Uuid, Path, description = "The person's account id")),
    request_body(content = Option<ErasureRequest>, description = "Optional: why"),
    responses(
        (status = 200, description = "Erased", body = ErasureResult),
        (status = 401, description = "No or bad token", body = Problem, content_type = PROBLEM),
        (status = 403, description = "Not an admin", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such account", body = Problem, content_type = PROBLEM),
        (status = 409, description = "Already erased", body = Problem, content_type = PROBLEM),
    ),
    security(("bearer" = []))
)]
pub async fn erase(
    State(state): State<AppState>,
    Extension(request_id): Extension<RequestId>,
    AdminCaller(caller): AdminCaller,
    Path(id): Path<String>,
    OptionalJson(body): OptionalJson<ErasureRequest>,
) -> Result<Json<ErasureResult>, ApiError> {
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::not_found())?;
    let person = AccountId(id);
    let reason = body
        .reason
        .map(|r| r.trim().to_owned())
        .filter(|r| !r.is_empty());
    if reason.as_ref().is_some_and(|r| r.chars().count() > 500) {
        return Err(ApiError::invalid_field(
            "reason",
            "must be at most 500 characters",
        ));
    }
    let metadata = CommandMetadata {
        request_id: request_id.0.clone(),
        occurred_at: state.now(),
        reason,
    };
    let actor = lianxi_domain::Actor::new(caller.0.id, caller.0.role);
    let erased_at = admin::erase_person(&state, &actor, person, &metadata).await?;
    Ok(Json(ErasureResult {
        account: id,
        erased_at,
    }))
}

impl From<AdminError> for ApiError {
    fn from(e: AdminError) -> Self {
        match e {
            AdminError::Invalid { field, reason } => ApiError::invalid_field(field, reason),
            AdminError::Taken { field, reason } => ApiError::conflict(
                "already-exists",
                "The resource already exists",
                format!("{field}: {reason}"),
            ),
            AdminError::NotFound(_) => ApiError::not_found(),
            AdminError::Db(e) => ApiError::from_db(e),
            AdminError::People(e) => e.into(),
            AdminError::Registry(e) => e.into(),
            AdminError::Files(_) => ApiError::unavailable("the file store is not reachable"),
        }
    }
}

/// The caller of an admin endpoint, refused (`403`) unless an admin before
/// the body is read: a caller without the role learns nothing of what an
/// admin request must hold.
pub(super) struct AdminCaller(pub(super) Caller);

impl axum::extract::FromRequestParts<AppState> for AdminCaller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, ApiError> {
        let caller = Caller::from_request_parts(parts, state).await?;
        require_admin(&caller)?;
        Ok(AdminCaller(caller))
    }
}

pub(super) fn require_admin(caller: &Caller) -> Result<(), ApiError> {
    if caller.0.role == Role::Admin {
        Ok(())
    } else {
        Err(ApiError::forbidden("only an admin does this"))
    }
}

pub(super) fn metadata(state: &AppState, request_id: &RequestId) -> CommandMetadata {
    CommandMetadata {
        request_id: request_id.0.clone(),
        occurred_at: state.now(),
        reason: None,
    }
}

/// Register a xiaoqu and its place in the hierarchy (admin only).
#[utoipa::path(
    post, path = "/api/v1/admin/xiaoqu", tag = "accounts",
    request_body = XiaoquRequest,
    responses(
        (status = 201, description = "Registered", body = XiaoquView),
        (status = 400, description = "Malformed body", body = Problem, content_type = PROBLEM),
        (status = 401, description = "No or bad token", body = Problem, content_type = PROBLEM),
        (status = 403, description = "Not an admin", body = Problem, content_type = PROBLEM),
        (status = 409, description = "The name is taken", body = Problem, content_type = PROBLEM),
        (status = 422, description = "A field is invalid", body = Problem, content_type = PROBLEM),
    ),
    security(("bearer" = []))
)]
pub async fn add_xiaoqu(
    State(state): State<AppState>,
    Extension(request_id): Extension<RequestId>,
    AdminCaller(caller): AdminCaller,
    ApiJson(body): ApiJson<XiaoquRequest>,
) -> Result<Response, ApiError> {
    let request = admin::XiaoquRequest {
        name: body.name,
        community: body.community,
        street: body.street,
        district: body.district,
    };
    let actor = Actor::new(caller.0.id, caller.0.role);
    let metadata = metadata(&state, &request_id);
    let x = admin::add_xiaoqu(&state, actor, &request, &metadata).await?;
    let view = XiaoquView {
        id: x.id.0,
        name: x.name,
        community: x.community,
        street: x.street,
        district: x.district,
    };
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

/// Create an account and record the person's personal data, sealed (admin
/// only). With `login` and `password` the person can sign in; with
/// `api_token_ttl_days` an API token is issued and shown once.
#[utoipa::path(
    post, path = "/api/v1/admin/accounts", tag = "accounts",
    request_body = AccountRequest,
    responses(
        (status = 201, description = "Created", body = AccountCreated),
        (status = 400, description = "Malformed body", body = Problem, content_type = PROBLEM),
        (status = 401, description = "No or bad token", body = Problem, content_type = PROBLEM),
        (status = 403, description = "Not an admin", body = Problem, content_type = PROBLEM),
        (status = 409, description = "The login name is taken", body = Problem, content_type = PROBLEM),
        (status = 422, description = "A field is invalid", body = Problem, content_type = PROBLEM),
    ),
    security(("bearer" = []))
)]
pub async fn add_account(
    State(state): State<AppState>,
    Extension(request_id): Extension<RequestId>,
    AdminCaller(caller): AdminCaller,
    ApiJson(body): ApiJson<AccountRequest>,
) -> Result<Response, ApiError> {
    let request = admin::AccountRequest {
        role: body.role,
        xiaoqu: body.xiaoqu,
        unit: body.unit,
        organization: body.organization,
        name: body.personal_data.name,
        phone: body.personal_data.phone,
        room: body.personal_data.room,
        login: body.login,
        password: body.password,
        token: body
            .api_token_ttl_days
            .map(|days| (days > 0).then(|| chrono::TimeDelta::days(i64::from(days)))),
    };
    let actor = lianxi_domain::Actor::new(caller.0.id, caller.0.role);
    let created = admin::create_account(&state, &actor, &metadata(&state, &request_id), &request)
        .await
        .map_err(|e| match e {
            // The person's fields are nested in the request.
            AdminError::Invalid { field, reason } if matches!(field, "name" | "phone" | "room") => {
                ApiError::invalid_field(format!("personal_data.{field}"), reason)
            }
            other => other.into(),
        })?;
    let (token, expires_at) = match created.token {
        Some((token, expires_at)) => (Some(token), expires_at),
        None => (None, None),
    };
    let body = AccountCreated {
        account: account_view(&state, &created.account, None),
        token,
        expires_at,
    };
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// Revoke every token of an account (admin only).
#[utoipa::path(
    post, path = "/api/v1/admin/accounts/{id}/revocation", tag = "accounts",
    params(("id" = Uuid, Path, description = "The account id")),
    responses(
        (status = 200, description = "Revoked", body = RevocationResult),
        (status = 401, description = "No or bad token", body = Problem, content_type = PROBLEM),
        (status = 403, description = "Not an admin", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such account", body = Problem, content_type = PROBLEM),
    ),
    security(("bearer" = []))
)]
pub async fn revoke_tokens(
    State(state): State<AppState>,
    _admin: AdminCaller,
    Path(id): Path<String>,
) -> Result<Json<RevocationResult>, ApiError> {
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::not_found())?;
    let revoked = admin::revoke_tokens(&state, AccountId(id)).await?;
    Ok(Json(RevocationResult { revoked }))
}

fn role_request(body: RoleGrantDto) -> admin::RoleRequest {
    admin::RoleRequest {
        role: body.role,
        xiaoqu: body.xiaoqu,
        unit: body.unit,
    }
}

/// Grant an account a further role in a scope (admin only). The person then
/// signs in naming that role.
#[utoipa::path(
    post, path = "/api/v1/admin/accounts/{id}/roles", tag = "accounts",
    params(("id" = Uuid, Path, description = "The account id")),
    request_body = RoleGrantDto,
    responses(
        (status = 201, description = "Granted", body = RoleGrantDto),
        (status = 400, description = "Malformed body", body = Problem, content_type = PROBLEM),
        (status = 401, description = "No or bad token", body = Problem, content_type = PROBLEM),
        (status = 403, description = "Not an admin", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such account", body = Problem, content_type = PROBLEM),
        (status = 409, description = "Held already", body = Problem, content_type = PROBLEM),
        (status = 422, description = "A field is invalid", body = Problem, content_type = PROBLEM),
    ),
    security(("bearer" = []))
)]
pub async fn grant_role(
    State(state): State<AppState>,
    _admin: AdminCaller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<RoleGrantDto>,
) -> Result<Response, ApiError> {
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::not_found())?;
    let grant = admin::grant_role(&state, AccountId(id), &role_request(body)).await?;
    Ok((StatusCode::CREATED, Json(grant_view(&grant))).into_response())
}

/// Withdraw a granted role (admin only); tokens acting in it stop working.
#[utoipa::path(
    post, path = "/api/v1/admin/accounts/{id}/roles/revocation", tag = "accounts",
    params(("id" = Uuid, Path, description = "The account id")),
    request_body = RoleGrantDto,
    responses(
        (status = 204, description = "Withdrawn"),
        (status = 400, description = "Malformed body", body = Problem, content_type = PROBLEM),
        (status = 401, description = "No or bad token", body = Problem, content_type = PROBLEM),
        (status = 403, description = "Not an admin", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such account or grant", body = Problem, content_type = PROBLEM),
        (status = 422, description = "A field is invalid", body = Problem, content_type = PROBLEM),
    ),
    security(("bearer" = []))
)]
pub async fn withdraw_role(
    State(state): State<AppState>,
    _admin: AdminCaller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<RoleGrantDto>,
) -> Result<Response, ApiError> {
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::not_found())?;
    admin::withdraw_role(&state, AccountId(id), &role_request(body)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
