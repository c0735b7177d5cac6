//! What an admin does, for the command line and the API alike: register a
//! xiaoqu, create an account (with the person's sealed personal data and,
//! optionally, a login), issue tokens.

use chrono::{DateTime, TimeDelta, Utc};
use lianxi_domain::values::{AccountId, XiaoquId};
use lianxi_domain::{Actor, Role};
use uuid::Uuid;

use crate::auth;
use crate::db::{
    AccountRecord, Database, DbError, NewAccount, NewXiaoqu, Scope, TokenKind, XiaoquRecord,
};
use crate::event_log::CommandMetadata;
use crate::people::{People, PeopleError};
use crate::vault::PersonalData;

/// Why an admin request was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// A field is missing or invalid (`field` as the API names it).
    #[error("{field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    /// Something unique is taken already.
    #[error("{field}: {reason}")]
    Taken { field: &'static str, reason: String },
    /// No such account, or no such grant.
    #[error("{0}")]
    NotFound(String),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    People(#[from] PeopleError),
}

fn invalid(field: &'static str, reason: impl Into<String>) -> AdminError {
    AdminError::Invalid {
        field,
        reason: reason.into(),
    }
}

/// A xiaoqu and where it sits: community, street, district.
#[derive(Clone, Debug)]
pub struct XiaoquRequest {
    pub name: String,
    pub community: String,
    pub street: String,
    pub district: String,
}

pub async fn add_xiaoqu(db: &Database, req: &XiaoquRequest) -> Result<XiaoquRecord, AdminError> {
    let clean = |field: &'static str, value: &str| {
        let value = value.trim();
        if value.is_empty() || value.chars().count() > 100 {
            return Err(invalid(field, "must be 1 to 100 characters"));
        }
        Ok(value.to_owned())
    };
    let new = NewXiaoqu {
        name: clean("name", &req.name)?,
        community: clean("community", &req.community)?,
        street: clean("street", &req.street)?,
        district: clean("district", &req.district)?,
    };
    db.add_xiaoqu(XiaoquId(Uuid::new_v4()), &new)
        .await
        .map_err(|e| {
            if e.is_unique_violation() {
                AdminError::Taken {
                    field: "name",
                    reason: "a xiaoqu of this name exists".into(),
                }
            } else {
                e.into()
            }
        })
}

/// A new account and the person behind it.
#[derive(Clone)]
pub struct AccountRequest {
    pub role: String,
    /// The xiaoqu (id or name) of a xiaoqu role.
    pub xiaoqu: Option<String>,
    /// The community, street or district of a tier role.
    pub unit: Option<String>,
    pub name: String,
    pub phone: Option<String>,
    pub room: Option<String>,
    /// A login name and password for signing in, both or neither.
    pub login: Option<String>,
    pub password: Option<String>,
    /// Issue an API token lasting this long (`Some(None)`: until revoked).
    pub token: Option<Option<TimeDelta>>,
}

/// Passwords and personal data never reach a log through `Debug`.
impl std::fmt::Debug for AccountRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountRequest")
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

/// A created account, and its API token when one was asked for.
#[derive(Debug)]
pub struct CreatedAccount {
    pub account: AccountRecord,
    pub token: Option<(String, Option<DateTime<Utc>>)>,
}

/// A role and where it applies, as an admin names them.
#[derive(Clone, Debug)]
pub struct RoleRequest {
    pub role: String,
    /// The xiaoqu (id or name) of a xiaoqu role.
    pub xiaoqu: Option<String>,
    /// The community, street or district of a tier role.
    pub unit: Option<String>,
}

/// The role and scope of a request, checked against each other.
async fn role_and_scope(db: &Database, req: &RoleRequest) -> Result<(Role, Scope), AdminError> {
    let role = Role::parse(req.role.trim())
        .filter(|r| *r != Role::System)
        .ok_or_else(|| invalid("role", format!("unknown role {:?}", req.role)))?;
    fn given(v: &Option<String>) -> Option<&str> {
        v.as_deref().map(str::trim).filter(|v| !v.is_empty())
    }
    let scope = match (role, given(&req.xiaoqu), given(&req.unit)) {
        (Role::Community | Role::Street | Role::District, None, Some(unit)) => {
            Scope::Unit(unit.to_owned())
        }
        (Role::Community | Role::Street | Role::District, _, _) => {
            return Err(invalid(
                "unit",
                format!("the role {role} needs a unit and no xiaoqu"),
            ))
        }
        (Role::Auditor | Role::Admin, None, None) => Scope::Global,
        (Role::Auditor | Role::Admin, _, _) => {
            return Err(invalid(
                "xiaoqu",
                format!("the role {role} has no xiaoqu or unit"),
            ))
        }
        (_, Some(x), None) => {
            let record = db
                .find_xiaoqu(x)
                .await?
                .ok_or_else(|| invalid("xiaoqu", format!("no xiaoqu {x:?}")))?;
            Scope::Xiaoqu(record.id)
        }
        (_, _, _) => {
            return Err(invalid(
                "xiaoqu",
                format!("the role {role} needs a xiaoqu and no unit"),
            ))
        }
    };
    Ok((role, scope))
}

/// The personal data of a request, trimmed and bounded.
pub fn personal_data(
    name: &str,
    phone: Option<&str>,
    room: Option<&str>,
) -> Result<PersonalData, AdminError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(invalid("name", "must be 1 to 100 characters"));
    }
    let optional = |field: &'static str, v: Option<&str>, max: usize| match v
        .map(str::trim)
        .filter(|v| !v.is_empty())
    {
        Some(v) if v.chars().count() > max => {
            Err(invalid(field, format!("must be at most {max} characters")))
        }
        other => Ok(other.map(str::to_owned)),
    };
    Ok(PersonalData {
        name: name.to_owned(),
        phone: optional("phone", phone, 32)?,
        room: optional("room", room, 100)?,
    })
}

/// The login hash and Argon2id hash for a login name and password.
pub fn credentials(
    people: &People,
    login: &str,
    password: &str,
) -> Result<(String, String), AdminError> {
    let login = login.trim();
    if login.is_empty() || login.chars().count() > 64 {
        return Err(invalid("login", "must be 1 to 64 characters"));
    }
    if let Some(problem) = auth::password_problem(password) {
        return Err(invalid("password", problem));
    }
    Ok((
        people.vault().login_hash(login),
        auth::hash_password(password),
    ))
}

/// Creates an account, records the person's sealed personal data, and
/// issues an API token if asked. Every field is checked before anything is
/// written.
pub async fn create_account(
    db: &Database,
    people: &People,
    actor: &Actor,
    metadata: &CommandMetadata,
    req: &AccountRequest,
) -> Result<CreatedAccount, AdminError> {
    let (role, scope) = role_and_scope(
        db,
        &RoleRequest {
            role: req.role.clone(),
            xiaoqu: req.xiaoqu.clone(),
            unit: req.unit.clone(),
        },
    )
    .await?;
    let personal = personal_data(&req.name, req.phone.as_deref(), req.room.as_deref())?;
    let credentials = match (&req.login, &req.password) {
        (Some(login), Some(password)) => Some(credentials(people, login, password)?),
        (None, None) => None,
        (Some(_), None) => return Err(invalid("password", "a login needs a password")),
        (None, Some(_)) => return Err(invalid("login", "a password needs a login")),
    };
    let id = AccountId(Uuid::new_v4());
    let (login_hash, password_hash) = credentials.unzip();
    let account = db
        .add_account(&NewAccount {
            id,
            role,
            scope,
            login_hash,
            password_hash,
        })
        .await
        .map_err(|e| {
            if e.is_unique_violation() {
                AdminError::Taken {
                    field: "login",
                    reason: "this login name is taken".into(),
                }
            } else {
                e.into()
            }
        })?;
    people.register(actor, id, &personal, metadata).await?;
    let token = match req.token {
        Some(ttl) => Some(auth::issue_token(db, id, TokenKind::Api, ttl).await?),
        None => None,
    };
    Ok(CreatedAccount { account, token })
}

/// The account `id`, or `NotFound`.
async fn existing(db: &Database, id: AccountId) -> Result<AccountRecord, AdminError> {
    db.account(id)
        .await?
        .ok_or_else(|| AdminError::NotFound(format!("no account {id}")))
}

/// Grants the account a further role; it then signs in with that role by
/// naming it.
pub async fn grant_role(
    db: &Database,
    account: AccountId,
    req: &RoleRequest,
) -> Result<AccountRecord, AdminError> {
    existing(db, account).await?;
    let (role, scope) = role_and_scope(db, req).await?;
    let grant = AccountRecord {
        id: account,
        role,
        scope,
    };
    if db.grants_of(account).await?.contains(&grant) {
        return Err(AdminError::Taken {
            field: "role",
            reason: "the account holds this role here already".into(),
        });
    }
    db.add_grant(&grant).await.map_err(|e| {
        if e.is_unique_violation() {
            AdminError::Taken {
                field: "role",
                reason: "the account holds this role here already".into(),
            }
        } else {
            e.into()
        }
    })?;
    Ok(grant)
}

/// Withdraws a granted role and ends every token acting in it. The role an
/// account was created with is not a grant and stays.
pub async fn withdraw_role(
    db: &Database,
    account: AccountId,
    req: &RoleRequest,
) -> Result<(), AdminError> {
    existing(db, account).await?;
    let (role, scope) = role_and_scope(db, req).await?;
    let grant = AccountRecord {
        id: account,
        role,
        scope,
    };
    if db.remove_grant(&grant, Utc::now()).await? {
        Ok(())
    } else {
        Err(AdminError::NotFound(format!(
            "the account was not granted the role {role} here"
        )))
    }
}
