//! Xiaoqu and accounts.

use lianxi_domain::values::{AccountId, OrganizationId, XiaoquId};
use lianxi_domain::Role;
use sqlx::Row;
use uuid::Uuid;

use super::{Database, DbError};

/// A xiaoqu and its place in the tier hierarchy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct XiaoquRecord {
    pub id: XiaoquId,
    pub name: String,
    pub community: String,
    pub street: String,
    pub district: String,
}

#[derive(Clone, Debug)]
pub struct NewXiaoqu {
    pub name: String,
    pub community: String,
    pub street: String,
    pub district: String,
}

/// What an account may see: one xiaoqu, one tier unit, or everything.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    Xiaoqu(XiaoquId),
    /// The name of the community, street or district the tier role serves.
    Unit(String),
    /// An organization acting as the role's party: every xiaoqu where the
    /// registry has it act so.
    Organization(OrganizationId),
    Global,
}

/// An account: one role in one scope. The person's name, phone and room are
/// not here but sealed in their `person` stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountRecord {
    pub id: AccountId,
    pub role: Role,
    pub scope: Scope,
}

#[derive(Clone, Debug)]
pub struct NewAccount {
    pub id: AccountId,
    pub role: Role,
    pub scope: Scope,
    /// Keyed hash of the login name (see `Vault::login_hash`), for accounts
    /// that sign in with a password.
    pub login_hash: Option<String>,
    /// Argon2id PHC string.
    pub password_hash: Option<String>,
}

fn xiaoqu_from_row(id: Uuid, row: &impl RowGet) -> Result<XiaoquRecord, sqlx::Error> {
    Ok(XiaoquRecord {
        id: XiaoquId(id),
        name: row.text("name")?,
        community: row.text("community")?,
        street: row.text("street")?,
        district: row.text("district")?,
    })
}

/// Column access shared by both row types.
trait RowGet {
    fn text(&self, column: &str) -> Result<String, sqlx::Error>;
    fn opt_text(&self, column: &str) -> Result<Option<String>, sqlx::Error>;
}

impl RowGet for sqlx::postgres::PgRow {
    fn text(&self, column: &str) -> Result<String, sqlx::Error> {
        self.try_get(column)
    }
    fn opt_text(&self, column: &str) -> Result<Option<String>, sqlx::Error> {
        self.try_get(column)
    }
}

impl RowGet for sqlx::sqlite::SqliteRow {
    fn text(&self, column: &str) -> Result<String, sqlx::Error> {
        self.try_get(column)
    }
    fn opt_text(&self, column: &str) -> Result<Option<String>, sqlx::Error> {
        self.try_get(column)
    }
}

fn parse_uuid(s: &str) -> Result<Uuid, sqlx::Error> {
    Uuid::parse_str(s).map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

fn account_from_row(
    id: Uuid,
    xiaoqu: Option<Uuid>,
    organization: Option<Uuid>,
    row: &impl RowGet,
) -> Result<AccountRecord, sqlx::Error> {
    let role_text = row.text("role")?;
    let role = Role::parse(&role_text).ok_or_else(|| {
        sqlx::Error::Decode(format!("unknown role {role_text:?} in accounts").into())
    })?;
    let scope = match (xiaoqu, row.opt_text("unit")?, organization) {
        (Some(x), _, _) => Scope::Xiaoqu(XiaoquId(x)),
        (None, Some(unit), _) => Scope::Unit(unit),
        (None, None, Some(o)) => Scope::Organization(OrganizationId(o)),
        (None, None, None) => Scope::Global,
    };
    Ok(AccountRecord {
        id: AccountId(id),
        role,
        scope,
    })
}

impl Database {
    pub async fn add_xiaoqu(&self, id: XiaoquId, new: &NewXiaoqu) -> Result<XiaoquRecord, DbError> {
        const SQL_PG: &str =
            "INSERT INTO xiaoqu (id, name, community, street, district) VALUES ($1, $2, $3, $4, $5)";
        const SQL_LITE: &str =
            "INSERT INTO xiaoqu (id, name, community, street, district) VALUES (?, ?, ?, ?, ?)";
        match self {
            Database::Postgres(pool) => {
                sqlx::query(SQL_PG)
                    .bind(id.0)
                    .bind(&new.name)
                    .bind(&new.community)
                    .bind(&new.street)
                    .bind(&new.district)
                    .execute(pool)
                    .await?;
            }
            Database::Sqlite(pool) => {
                sqlx::query(SQL_LITE)
                    .bind(id.to_string())
                    .bind(&new.name)
                    .bind(&new.community)
                    .bind(&new.street)
                    .bind(&new.district)
                    .execute(pool)
                    .await?;
            }
        }
        Ok(XiaoquRecord {
            id,
            name: new.name.clone(),
            community: new.community.clone(),
            street: new.street.clone(),
            district: new.district.clone(),
        })
    }

    /// Finds a xiaoqu by id or, failing that, by its unique name.
    pub async fn find_xiaoqu(&self, id_or_name: &str) -> Result<Option<XiaoquRecord>, DbError> {
        if let Ok(id) = Uuid::parse_str(id_or_name) {
            if let Some(found) = self.xiaoqu(XiaoquId(id)).await? {
                return Ok(Some(found));
            }
        }
        match self {
            Database::Postgres(pool) => {
                let row = sqlx::query(
                    "SELECT id, name, community, street, district FROM xiaoqu WHERE name = $1",
                )
                .bind(id_or_name)
                .fetch_optional(pool)
                .await?;
                row.map(|r| xiaoqu_from_row(r.try_get("id")?, &r))
                    .transpose()
                    .map_err(Into::into)
            }
            Database::Sqlite(pool) => {
                let row = sqlx::query(
                    "SELECT id, name, community, street, district FROM xiaoqu WHERE name = ?",
                )
                .bind(id_or_name)
                .fetch_optional(pool)
                .await?;
                row.map(|r| xiaoqu_from_row(parse_uuid(&r.text("id")?)?, &r))
                    .transpose()
                    .map_err(Into::into)
            }
        }
    }

    pub async fn xiaoqu(&self, id: XiaoquId) -> Result<Option<XiaoquRecord>, DbError> {
        match self {
            Database::Postgres(pool) => {
                let row = sqlx::query(
                    "SELECT name, community, street, district FROM xiaoqu WHERE id = $1",
                )
                .bind(id.0)
                .fetch_optional(pool)
                .await?;
                row.map(|r| xiaoqu_from_row(id.0, &r))
                    .transpose()
                    .map_err(Into::into)
            }
            Database::Sqlite(pool) => {
                let row = sqlx::query(
                    "SELECT name, community, street, district FROM xiaoqu WHERE id = ?",
                )
                .bind(id.to_string())
                .fetch_optional(pool)
                .await?;
                row.map(|r| xiaoqu_from_row(id.0, &r))
                    .transpose()
                    .map_err(Into::into)
            }
        }
    }

    pub async fn add_account(&self, new: &NewAccount) -> Result<AccountRecord, DbError> {
        let (xiaoqu, unit, organization) = match &new.scope {
            Scope::Xiaoqu(x) => (Some(*x), None, None),
            Scope::Unit(u) => (None, Some(u.clone()), None),
            Scope::Organization(o) => (None, None, Some(*o)),
            Scope::Global => (None, None, None),
        };
        match self {
            Database::Postgres(pool) => {
                sqlx::query(
                    "INSERT INTO accounts (id, role, xiaoqu_id, unit, login_hash, password_hash, organization_id) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(new.id.0)
                .bind(new.role.as_str())
                .bind(xiaoqu.map(|x| x.0))
                .bind(unit)
                .bind(&new.login_hash)
                .bind(&new.password_hash)
                .bind(organization.map(|o| o.0))
                .execute(pool)
                .await?;
            }
            Database::Sqlite(pool) => {
                sqlx::query(
                    "INSERT INTO accounts (id, role, xiaoqu_id, unit, login_hash, password_hash, organization_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
                )
                .bind(new.id.to_string())
                .bind(new.role.as_str())
                .bind(xiaoqu.map(|x| x.to_string()))
                .bind(unit)
                .bind(&new.login_hash)
                .bind(&new.password_hash)
                .bind(organization.map(|o| o.to_string()))
                .execute(pool)
                .await?;
            }
        }
        Ok(AccountRecord {
            id: new.id,
            role: new.role,
            scope: new.scope.clone(),
        })
    }

    /// The account with this id, whatever its state.
    pub async fn account(&self, id: AccountId) -> Result<Option<AccountRecord>, DbError> {
        const SQL: &str =
            "SELECT id, role, xiaoqu_id, unit, organization_id FROM accounts WHERE id = ";
        match self {
            Database::Postgres(pool) => {
                let row = sqlx::query(&format!("{SQL}$1"))
                    .bind(id.0)
                    .fetch_optional(pool)
                    .await?;
                row.map(|r| pg_account(&r)).transpose().map_err(Into::into)
            }
            Database::Sqlite(pool) => {
                let row = sqlx::query(&format!("{SQL}?"))
                    .bind(id.to_string())
                    .fetch_optional(pool)
                    .await?;
                row.map(|r| sqlite_account(&r))
                    .transpose()
                    .map_err(Into::into)
            }
        }
    }
}

/// An account from a PostgreSQL row with `id, role, xiaoqu_id, unit` and
/// `organization_id` where the row can have one (a role grant cannot).
pub(super) fn pg_account(r: &sqlx::postgres::PgRow) -> Result<AccountRecord, sqlx::Error> {
    let organization = match r.try_get::<Option<Uuid>, _>("organization_id") {
        Err(sqlx::Error::ColumnNotFound(_)) => None,
        other => other?,
    };
    account_from_row(r.try_get("id")?, r.try_get("xiaoqu_id")?, organization, r)
}

/// An account from a SQLite row with `id, role, xiaoqu_id, unit` and
/// `organization_id` where the row can have one (a role grant cannot).
pub(super) fn sqlite_account(r: &sqlx::sqlite::SqliteRow) -> Result<AccountRecord, sqlx::Error> {
    let uuid = |column: &str| -> Result<Option<Uuid>, sqlx::Error> {
        match r.opt_text(column) {
            Err(sqlx::Error::ColumnNotFound(_)) => Ok(None),
            other => other?.map(|x| parse_uuid(&x)).transpose(),
        }
    };
    account_from_row(
        parse_uuid(&r.text("id")?)?,
        uuid("xiaoqu_id")?,
        uuid("organization_id")?,
        r,
    )
}
