//! What an admin does, for the command line and the API alike: keep the
//! xiaoqu registry (xiaoqu, their place in the hierarchy, their parties),
//! create an account (with the person's sealed personal data and,
//! optionally, a login), issue tokens.

use chrono::{DateTime, TimeDelta, Utc};
use lianxi_domain::registry::{Placement, RegistryAction, RegistryCommand, XiaoquState};
use lianxi_domain::values::{AccountId, OrganizationId, PartyRole, PlaceName, XiaoquId};
use lianxi_domain::{Actor, Role};
use uuid::Uuid;

use crate::app::people::{People, PeopleError};
use crate::app::registry::{self, RegistryCommandError};
use crate::app::{auth, policy, AppState};
use crate::db::{AccountRecord, Database, DbError, NewAccount, Scope, TokenKind, XiaoquRecord};
use crate::event_log::{CommandError, CommandMetadata};
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
    #[error(transparent)]
    Registry(#[from] RegistryCommandError),
    /// The person's uploaded files could not be erased.
    #[error("uploaded files: {0}")]
    Files(String),
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

fn place(field: &'static str, value: &str) -> Result<PlaceName, AdminError> {
    PlaceName::parse(value).map_err(|e| invalid(field, e.to_string()))
}

/// Where a xiaoqu sits, as an admin gives it.
#[derive(Clone, Debug)]
pub struct PlacementRequest {
    pub community: String,
    pub street: String,
    pub district: String,
}

fn placement(req: &PlacementRequest) -> Result<Placement, AdminError> {
    Ok(Placement {
        community: place("community", &req.community)?,
        street: place("street", &req.street)?,
        district: place("district", &req.district)?,
    })
}

fn record(state: &XiaoquState) -> XiaoquRecord {
    XiaoquRecord {
        id: state.id,
        name: state.name.as_str().to_owned(),
        community: state.placement.community.as_str().to_owned(),
        street: state.placement.street.as_str().to_owned(),
        district: state.placement.district.as_str().to_owned(),
    }
}

/// Refuses a name another xiaoqu has.
async fn name_free(
    db: &Database,
    name: &PlaceName,
    except: Option<XiaoquId>,
) -> Result<(), AdminError> {
    match db.find_xiaoqu(name.as_str()).await? {
        Some(other) if Some(other.id) != except && other.name == name.as_str() => {
            Err(AdminError::Taken {
                field: "name",
                reason: "a xiaoqu of this name exists".into(),
            })
        }
        _ => Ok(()),
    }
}

/// Registers a xiaoqu in its community, street and district.
pub async fn add_xiaoqu(
    state: &AppState,
    actor: Actor,
    req: &XiaoquRequest,
    metadata: &CommandMetadata,
) -> Result<XiaoquRecord, AdminError> {
    let (db, registry) = (&state.db, &*state.registry);
    let name = place("name", &req.name)?;
    let placement = placement(&PlacementRequest {
        community: req.community.clone(),
        street: req.street.clone(),
        district: req.district.clone(),
    })?;
    name_free(db, &name, None).await?;
    let id = XiaoquId(Uuid::new_v4());
    let action = RegistryAction::RegisterXiaoqu {
        xiaoqu: id,
        name,
        placement,
    };
    let (state, _) = registry::execute(
        db,
        registry,
        id,
        Some(0),
        RegistryCommand::new(actor, action),
        metadata,
    )
    .await
    .map_err(taken_name)?;
    Ok(record(&state))
}

/// A unique-name race lost to another admin reads as a taken name.
fn taken_name(e: RegistryCommandError) -> AdminError {
    match e {
        CommandError::Store(message)
            if message.contains("UNIQUE") || message.contains("unique") =>
        {
            AdminError::Taken {
                field: "name",
                reason: "a xiaoqu of this name exists".into(),
            }
        }
        other => other.into(),
    }
}

/// Runs a registry command on the xiaoqu named by `xiaoqu` (id or name).
async fn change_xiaoqu(
    state: &AppState,
    xiaoqu: &str,
    command: RegistryCommand,
    metadata: &CommandMetadata,
) -> Result<(XiaoquState, usize), AdminError> {
    let (db, registry) = (&state.db, &*state.registry);
    let found = db
        .find_xiaoqu(xiaoqu)
        .await?
        .ok_or_else(|| AdminError::NotFound(format!("no xiaoqu {xiaoqu:?}")))?;
    registry::record_if_missing(db, registry, found.id)
        .await
        .map_err(AdminError::Registry)?;
    registry::execute(db, registry, found.id, None, command, metadata)
        .await
        .map_err(taken_name)
}

/// Renames a xiaoqu.
pub async fn rename_xiaoqu(
    state: &AppState,
    actor: Actor,
    xiaoqu: &str,
    name: &str,
    metadata: &CommandMetadata,
) -> Result<(XiaoquState, usize), AdminError> {
    let db = &state.db;
    let name = place("name", name)?;
    let current = db.find_xiaoqu(xiaoqu).await?.map(|x| x.id);
    name_free(db, &name, current).await?;
    let command = RegistryCommand::new(actor, RegistryAction::RenameXiaoqu { name });
    change_xiaoqu(state, xiaoqu, command, metadata).await
}

/// Attaches a xiaoqu to another community, street or district.
pub async fn move_xiaoqu(
    state: &AppState,
    actor: Actor,
    xiaoqu: &str,
    to: &PlacementRequest,
    metadata: &CommandMetadata,
) -> Result<(XiaoquState, usize), AdminError> {
    let placement = placement(to)?;
    let command = RegistryCommand::new(actor, RegistryAction::MoveXiaoqu { placement });
    change_xiaoqu(state, xiaoqu, command, metadata).await
}

fn party_role(party: &str) -> Result<PartyRole, AdminError> {
    serde_json::from_value(serde_json::Value::String(party.to_owned())).map_err(|_| {
        invalid(
            "party",
            "must be party_branch, owners_committee, supervisory_committee, property_company or micro_organization",
        )
    })
}

fn organization_id(value: &str) -> Result<OrganizationId, AdminError> {
    OrganizationId::parse(value).map_err(|e| invalid("organization", e.to_string()))
}

/// An organization to register as a party, as an admin names it.
#[derive(Clone, Debug)]
pub struct PartyRequest {
    /// The party's wire name (`property_company`, …).
    pub party: String,
    /// The organization's name.
    pub name: String,
    /// An organization serving other xiaoqu already (its id); `None`: a new one.
    pub organization: Option<String>,
}

/// An organization starts acting as a party of a xiaoqu; a new
/// organization id is made unless an existing one (serving other xiaoqu) is
/// named.
pub async fn register_party(
    state: &AppState,
    actor: Actor,
    xiaoqu: &str,
    req: &PartyRequest,
    metadata: &CommandMetadata,
) -> Result<(XiaoquState, OrganizationId), AdminError> {
    let party = party_role(&req.party)?;
    let name = place("name", &req.name)?;
    let organization = match req.organization.as_deref() {
        Some(o) => organization_id(o)?,
        None => OrganizationId(Uuid::new_v4()),
    };
    let action = RegistryAction::RegisterParty {
        party,
        organization,
        name,
    };
    let command = RegistryCommand::new(actor, action);
    let (entry, _) = change_xiaoqu(state, xiaoqu, command, metadata).await?;
    Ok((entry, organization))
}

/// An organization stops acting as a party of a xiaoqu.
pub async fn retire_party(
    state: &AppState,
    actor: Actor,
    xiaoqu: &str,
    party: &str,
    organization: &str,
    metadata: &CommandMetadata,
) -> Result<(XiaoquState, usize), AdminError> {
    let action = RegistryAction::RetireParty {
        party: party_role(party)?,
        organization: organization_id(organization)?,
    };
    let command = RegistryCommand::new(actor, action);
    change_xiaoqu(state, xiaoqu, command, metadata).await
}

/// A new account and the person behind it.
#[derive(Clone)]
pub struct AccountRequest {
    pub role: String,
    /// The xiaoqu (id or name) of a xiaoqu role.
    pub xiaoqu: Option<String>,
    /// The community, street or district of a tier role.
    pub unit: Option<String>,
    /// The organization (its id in the registry) a party role acts for in
    /// every xiaoqu it serves, instead of one xiaoqu.
    pub organization: Option<String>,
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

/// The role and scope of an account acting for organization `named`: a
/// party role the registry has that organization act as, in at least one
/// xiaoqu; no xiaoqu or unit besides.
async fn organization_scope(
    db: &Database,
    req: &RoleRequest,
    named: &str,
) -> Result<(Role, Scope), AdminError> {
    let role = Role::parse(req.role.trim())
        .ok_or_else(|| invalid("role", format!("unknown role {:?}", req.role)))?;
    let Some(party) = role.party().filter(|p| *p != PartyRole::PartyBranch) else {
        return Err(invalid(
            "organization",
            format!("the role {role} does not act for an organization"),
        ));
    };
    if req.xiaoqu.is_some() || req.unit.is_some() {
        return Err(invalid(
            "organization",
            "an organization's account names no xiaoqu or unit",
        ));
    }
    let organization = organization_id(named)
        .map_err(|_| invalid("organization", "must be an organization id"))?;
    let acts = db
        .organization_parties(organization)
        .await?
        .iter()
        .any(|row| row.party == policy::wire_party(party));
    if !acts {
        return Err(invalid(
            "organization",
            format!(
                "the registry has it act as {} nowhere",
                policy::wire_party(party)
            ),
        ));
    }
    Ok((role, Scope::Organization(organization)))
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
    state: &AppState,
    actor: &Actor,
    metadata: &CommandMetadata,
    req: &AccountRequest,
) -> Result<CreatedAccount, AdminError> {
    let (db, people) = (&state.db, &*state.people);
    let asked = RoleRequest {
        role: req.role.clone(),
        xiaoqu: req.xiaoqu.clone(),
        unit: req.unit.clone(),
    };
    let organization = req
        .organization
        .as_deref()
        .map(str::trim)
        .filter(|o| !o.is_empty());
    let (role, scope) = match organization {
        None => role_and_scope(db, &asked).await?,
        Some(o) => organization_scope(db, &asked, o).await?,
    };
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
    state: &AppState,
    account: AccountId,
    req: &RoleRequest,
) -> Result<AccountRecord, AdminError> {
    let db = &state.db;
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
    state: &AppState,
    account: AccountId,
    req: &RoleRequest,
) -> Result<(), AdminError> {
    let db = &state.db;
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

/// Every role the account holds, its own first.
pub async fn grants(state: &AppState, account: AccountId) -> Result<Vec<AccountRecord>, DbError> {
    state.db.grants_of(account).await
}

/// Revokes every token of the account; how many were live.
pub async fn revoke_tokens(state: &AppState, account: AccountId) -> Result<u64, AdminError> {
    existing(&state.db, account).await?;
    Ok(state.db.revoke_tokens_of(account, Utc::now()).await?)
}

/// Erases the person's personal data (their data key is destroyed and
/// their sign-in ends); when it was erased.
pub async fn erase_person(
    state: &AppState,
    actor: &Actor,
    person: AccountId,
    metadata: &CommandMetadata,
) -> Result<DateTime<Utc>, AdminError> {
    existing(&state.db, person).await?;
    // The files first: a failure leaves the person unerased, to try again.
    super::attachments::erase_uploads_of(state, actor, person, metadata)
        .await
        .map_err(|e| AdminError::Files(e.to_string()))?;
    state.people.erase(actor, person, metadata).await?;
    let (person_state, _) = state.people.load(person).await?;
    Ok(person_state.erased_at.unwrap_or(metadata.occurred_at))
}

/// What [`first_admin`] refuses: an admin exists already.
#[derive(Debug, thiserror::Error)]
pub enum FirstAdminError {
    #[error("an admin account exists already")]
    AdminExists,
    #[error(transparent)]
    Admin(#[from] AdminError),
}

/// Creates the first admin account, with the person's sealed name and a
/// password sign-in; refused once any admin exists.
pub async fn first_admin(
    state: &AppState,
    actor: &Actor,
    metadata: &CommandMetadata,
    login: &str,
    name: &str,
    password: &str,
) -> Result<AccountId, FirstAdminError> {
    let db = &state.db;
    if db.has_admin().await.map_err(AdminError::from)? {
        return Err(FirstAdminError::AdminExists);
    }
    let (login_hash, password_hash) = credentials(&state.people, login, password)?;
    let id = AccountId(Uuid::new_v4());
    db.add_account(&NewAccount {
        id,
        role: Role::Admin,
        scope: Scope::Global,
        login_hash: Some(login_hash),
        password_hash: Some(password_hash),
    })
    .await
    .map_err(AdminError::from)?;
    state
        .people
        .register(actor, id, &personal_data(name, None, None)?, metadata)
        .await
        .map_err(AdminError::from)?;
    Ok(id)
}

/// Sets the account's login name and password; `false` when no live
/// (unerased) account has that id.
pub async fn set_password(
    state: &AppState,
    account: AccountId,
    login: &str,
    password: &str,
) -> Result<bool, AdminError> {
    let (login_hash, password_hash) = credentials(&state.people, login, password)?;
    Ok(state
        .db
        .set_credentials(account, &login_hash, &password_hash)
        .await?)
}

/// Issues the account an API token lasting `ttl` (`None`: until revoked).
pub async fn issue_api_token(
    state: &AppState,
    account: AccountId,
    ttl: Option<TimeDelta>,
) -> Result<(String, Option<DateTime<Utc>>), AdminError> {
    existing(&state.db, account).await?;
    Ok(auth::issue_token(&state.db, account, TokenKind::Api, ttl).await?)
}

/// Whether the store holds nothing yet (no event, no vault secret): a new
/// embedded store may still have its keys made on its first run.
pub async fn store_is_untouched(state: &AppState) -> Result<bool, DbError> {
    state.db.is_untouched().await
}

/// Whether the store was sealed by a master key already (it holds a
/// wrapped vault secret): a new master key could never open it.
pub async fn store_is_sealed(state: &AppState) -> Result<bool, DbError> {
    Ok(!state.db.vault_secrets().await?.is_empty())
}
