//! Credentials and personal-data keys: access tokens, password logins and
//! their throttling, the wrapped data key of each person.

use chrono::{DateTime, SecondsFormat, Utc};
use lianxi_domain::values::AccountId;
use sqlx::Row;

use super::accounts::{pg_account, sqlite_account};
use super::{AccountRecord, Database, DbError};

/// Bumped by everything in this process that can end a token's life; a
/// token an instance remembered before the bump is looked up again.
static TOKENS_CHANGED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Makes this process look up every token again: called by whatever revokes
/// tokens or changes what they stand for.
fn tokens_changed() {
    TOKENS_CHANGED.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
}

/// How often tokens changed in this process: a remembered token is good only
/// while this stays as it was when it was looked up.
pub fn tokens_generation() -> u64 {
    TOKENS_CHANGED.load(std::sync::atomic::Ordering::SeqCst)
}

/// What a token is for: an API client, or a browser session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenKind {
    Api,
    Session,
}

impl TokenKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Api => "api",
            TokenKind::Session => "session",
        }
    }

    fn parse(s: &str) -> TokenKind {
        if s == "session" {
            TokenKind::Session
        } else {
            TokenKind::Api
        }
    }
}

/// What a presented token turns out to be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenState {
    Live {
        account: AccountRecord,
        kind: TokenKind,
        expires_at: Option<DateTime<Utc>>,
    },
    Expired,
    /// The token, or its whole account, was revoked (or erased).
    Revoked,
    Unknown,
}

/// The role, xiaoqu and unit columns of a grant (all `None` for none).
fn grant_columns(
    grant: Option<&AccountRecord>,
) -> (
    Option<&'static str>,
    Option<lianxi_domain::values::XiaoquId>,
    Option<String>,
) {
    match grant {
        None => (None, None, None),
        Some(g) => {
            let (xiaoqu, unit) = match &g.scope {
                super::Scope::Xiaoqu(x) => (Some(*x), None),
                super::Scope::Unit(u) => (None, Some(u.clone())),
                // Grants are of a xiaoqu, a unit or everything; an
                // organization is an account's own scope only.
                super::Scope::Organization(_) | super::Scope::Global => (None, None),
            };
            (Some(g.role.as_str()), xiaoqu, unit)
        }
    }
}

/// SQLite keeps instants as text in one fixed format, so that text order is
/// time order.
fn text_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn parse_text_time(s: Option<String>) -> Option<DateTime<Utc>> {
    s.and_then(|s| DateTime::parse_from_rfc3339(&s).ok())
        .map(|t| t.with_timezone(&Utc))
}

/// The token's account, acting in the token's role (the account's own when
/// the token names none).
const TOKEN_SQL: &str = "
SELECT a.id,
       CASE WHEN t.role IS NULL THEN a.role ELSE t.role END AS role,
       CASE WHEN t.role IS NULL THEN a.xiaoqu_id ELSE t.xiaoqu_id END AS xiaoqu_id,
       CASE WHEN t.role IS NULL THEN a.unit ELSE t.unit END AS unit,
       CASE WHEN t.role IS NULL THEN a.organization_id ELSE NULL END AS organization_id,
       t.kind, t.expires_at,
       (t.revoked_at IS NOT NULL OR a.revoked_at IS NOT NULL OR a.erased_at IS NOT NULL) AS revoked
  FROM access_tokens t JOIN accounts a ON a.id = t.account_id
 WHERE t.token_hash = ";

const LOGIN_SQL: &str = "
SELECT id, role, xiaoqu_id, unit, organization_id, password_hash FROM accounts
 WHERE revoked_at IS NULL AND erased_at IS NULL AND login_hash = ";

impl Database {
    /// Stores a new token's hash for `account`, acting in `grant` (a role
    /// granted besides the account's own; `None`: the account's own).
    pub async fn insert_token(
        &self,
        token_hash: &str,
        account: AccountId,
        grant: Option<&AccountRecord>,
        kind: TokenKind,
        issued_at: DateTime<Utc>,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<(), DbError> {
        let (role, xiaoqu, unit) = grant_columns(grant);
        match self {
            Database::Postgres(pool) => {
                sqlx::query(
                    "INSERT INTO access_tokens (token_hash, account_id, kind, issued_at, expires_at, role, xiaoqu_id, unit) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(token_hash)
                .bind(account.0)
                .bind(kind.as_str())
                .bind(issued_at)
                .bind(expires_at)
                .bind(role)
                .bind(xiaoqu.map(|x| x.0))
                .bind(unit)
                .execute(pool)
                .await?;
            }
            Database::Sqlite(pool) => {
                sqlx::query(
                    "INSERT INTO access_tokens (token_hash, account_id, kind, issued_at, expires_at, role, xiaoqu_id, unit) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                )
                .bind(token_hash)
                .bind(account.to_string())
                .bind(kind.as_str())
                .bind(text_time(issued_at))
                .bind(expires_at.map(text_time))
                .bind(role)
                .bind(xiaoqu.map(|x| x.to_string()))
                .bind(unit)
                .execute(pool)
                .await?;
            }
        }
        Ok(())
    }

    /// Every role `account` holds: its own first, then the granted ones.
    pub async fn grants_of(&self, account: AccountId) -> Result<Vec<AccountRecord>, DbError> {
        let Some(own) = self.account(account).await? else {
            return Ok(Vec::new());
        };
        const SQL: &str =
            "SELECT account_id AS id, role, xiaoqu_id, unit FROM role_grants WHERE account_id = ";
        let mut grants = vec![own];
        match self {
            Database::Postgres(pool) => {
                for r in sqlx::query(&format!("{SQL}$1 ORDER BY granted_at, role"))
                    .bind(account.0)
                    .fetch_all(pool)
                    .await?
                {
                    grants.push(pg_account(&r)?);
                }
            }
            Database::Sqlite(pool) => {
                for r in sqlx::query(&format!("{SQL}? ORDER BY granted_at, role"))
                    .bind(account.to_string())
                    .fetch_all(pool)
                    .await?
                {
                    grants.push(sqlite_account(&r)?);
                }
            }
        }
        Ok(grants)
    }

    /// Grants `grant.role` in `grant.scope` to the account `grant.id`.
    pub async fn add_grant(&self, grant: &AccountRecord) -> Result<(), DbError> {
        let (role, xiaoqu, unit) = grant_columns(Some(grant));
        match self {
            Database::Postgres(pool) => {
                sqlx::query("INSERT INTO role_grants (account_id, role, xiaoqu_id, unit) VALUES ($1, $2, $3, $4)")
                    .bind(grant.id.0)
                    .bind(role)
                    .bind(xiaoqu.map(|x| x.0))
                    .bind(unit)
                    .execute(pool)
                    .await?;
            }
            Database::Sqlite(pool) => {
                sqlx::query("INSERT INTO role_grants (account_id, role, xiaoqu_id, unit) VALUES (?, ?, ?, ?)")
                    .bind(grant.id.to_string())
                    .bind(role)
                    .bind(xiaoqu.map(|x| x.to_string()))
                    .bind(unit)
                    .execute(pool)
                    .await?;
            }
        }
        Ok(())
    }

    /// Withdraws a granted role and revokes every token acting in it, in one
    /// transaction; `false` when no such grant existed.
    pub async fn remove_grant(
        &self,
        grant: &AccountRecord,
        now: DateTime<Utc>,
    ) -> Result<bool, DbError> {
        let (role, xiaoqu, unit) = grant_columns(Some(grant));
        const DELETE: &str = "DELETE FROM role_grants WHERE account_id = $1 AND role = $2 AND coalesce(xiaoqu_id::text, '') = coalesce($3, '') AND coalesce(unit, '') = coalesce($4, '')";
        const REVOKE: &str = "UPDATE access_tokens SET revoked_at = $5 WHERE account_id = $1 AND role = $2 AND coalesce(xiaoqu_id::text, '') = coalesce($3, '') AND coalesce(unit, '') = coalesce($4, '') AND revoked_at IS NULL";
        let removed = match self {
            Database::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                let removed = sqlx::query(DELETE)
                    .bind(grant.id.0)
                    .bind(role)
                    .bind(xiaoqu.map(|x| x.to_string()))
                    .bind(&unit)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                sqlx::query(REVOKE)
                    .bind(grant.id.0)
                    .bind(role)
                    .bind(xiaoqu.map(|x| x.to_string()))
                    .bind(&unit)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                removed
            }
            Database::Sqlite(pool) => {
                let lite = |sql: &str| sql.replace("::text", "").replace('$', "?");
                let mut tx = pool.begin().await?;
                let removed = sqlx::query(&lite(DELETE))
                    .bind(grant.id.to_string())
                    .bind(role)
                    .bind(xiaoqu.map(|x| x.to_string()))
                    .bind(&unit)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                sqlx::query(&lite(REVOKE))
                    .bind(grant.id.to_string())
                    .bind(role)
                    .bind(xiaoqu.map(|x| x.to_string()))
                    .bind(&unit)
                    .bind(text_time(now))
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                removed
            }
        };
        tokens_changed();
        Ok(removed > 0)
    }

    /// Whether the token with this hash is live at `now`, and whose it is.
    pub async fn token_state(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<TokenState, DbError> {
        let (account, kind, expires_at, revoked) = match self {
            Database::Postgres(pool) => {
                let Some(r) = sqlx::query(&format!("{TOKEN_SQL}$1"))
                    .bind(token_hash)
                    .fetch_optional(pool)
                    .await?
                else {
                    return Ok(TokenState::Unknown);
                };
                let expires: Option<DateTime<Utc>> = r.try_get("expires_at")?;
                let kind: String = r.try_get("kind")?;
                let revoked: bool = r.try_get("revoked")?;
                (pg_account(&r)?, kind, expires, revoked)
            }
            Database::Sqlite(pool) => {
                let Some(r) = sqlx::query(&format!("{TOKEN_SQL}?"))
                    .bind(token_hash)
                    .fetch_optional(pool)
                    .await?
                else {
                    return Ok(TokenState::Unknown);
                };
                let expires = parse_text_time(r.try_get("expires_at")?);
                let kind: String = r.try_get("kind")?;
                let revoked: bool = r.try_get("revoked")?;
                (sqlite_account(&r)?, kind, expires, revoked)
            }
        };
        Ok(if revoked {
            TokenState::Revoked
        } else if expires_at.is_some_and(|e| e <= now) {
            TokenState::Expired
        } else {
            TokenState::Live {
                account,
                kind: TokenKind::parse(&kind),
                expires_at,
            }
        })
    }

    /// Revokes one token; `false` when it was unknown or already revoked.
    pub async fn revoke_token(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, DbError> {
        let done = match self {
            Database::Postgres(pool) => sqlx::query(
                "UPDATE access_tokens SET revoked_at = $2 WHERE token_hash = $1 AND revoked_at IS NULL",
            )
            .bind(token_hash)
            .bind(now)
            .execute(pool)
            .await?
            .rows_affected(),
            Database::Sqlite(pool) => sqlx::query(
                "UPDATE access_tokens SET revoked_at = ? WHERE token_hash = ? AND revoked_at IS NULL",
            )
            .bind(text_time(now))
            .bind(token_hash)
            .execute(pool)
            .await?
            .rows_affected(),
        };
        tokens_changed();
        Ok(done > 0)
    }

    /// Revokes every live token of `account`; returns how many.
    pub async fn revoke_tokens_of(
        &self,
        account: AccountId,
        now: DateTime<Utc>,
    ) -> Result<u64, DbError> {
        let revoked = match self {
            Database::Postgres(pool) => sqlx::query(
                "UPDATE access_tokens SET revoked_at = $2 WHERE account_id = $1 AND revoked_at IS NULL",
            )
            .bind(account.0)
            .bind(now)
            .execute(pool)
            .await?
            .rows_affected(),
            Database::Sqlite(pool) => sqlx::query(
                "UPDATE access_tokens SET revoked_at = ? WHERE account_id = ? AND revoked_at IS NULL",
            )
            .bind(text_time(now))
            .bind(account.to_string())
            .execute(pool)
            .await?
            .rows_affected(),
        };
        tokens_changed();
        Ok(revoked)
    }

    /// The live account that signs in with this login hash, and its
    /// password hash.
    pub async fn login_account(
        &self,
        login_hash: &str,
    ) -> Result<Option<(AccountRecord, Option<String>)>, DbError> {
        Ok(match self {
            Database::Postgres(pool) => {
                match sqlx::query(&format!("{LOGIN_SQL}$1"))
                    .bind(login_hash)
                    .fetch_optional(pool)
                    .await?
                {
                    Some(r) => Some((pg_account(&r)?, r.try_get("password_hash")?)),
                    None => None,
                }
            }
            Database::Sqlite(pool) => {
                match sqlx::query(&format!("{LOGIN_SQL}?"))
                    .bind(login_hash)
                    .fetch_optional(pool)
                    .await?
                {
                    Some(r) => Some((sqlite_account(&r)?, r.try_get("password_hash")?)),
                    None => None,
                }
            }
        })
    }

    /// Sets (or replaces) an account's login and password.
    pub async fn set_credentials(
        &self,
        account: AccountId,
        login_hash: &str,
        password_hash: &str,
    ) -> Result<bool, DbError> {
        let done = match self {
            Database::Postgres(pool) => sqlx::query(
                "UPDATE accounts SET login_hash = $2, password_hash = $3 WHERE id = $1 AND erased_at IS NULL",
            )
            .bind(account.0)
            .bind(login_hash)
            .bind(password_hash)
            .execute(pool)
            .await?
            .rows_affected(),
            Database::Sqlite(pool) => sqlx::query(
                "UPDATE accounts SET login_hash = ?, password_hash = ? WHERE id = ? AND erased_at IS NULL",
            )
            .bind(login_hash)
            .bind(password_hash)
            .bind(account.to_string())
            .execute(pool)
            .await?
            .rows_affected(),
        };
        Ok(done > 0)
    }

    pub async fn record_login_failure(&self, key: &str, at: DateTime<Utc>) -> Result<(), DbError> {
        match self {
            Database::Postgres(pool) => {
                sqlx::query("INSERT INTO login_failures (key, failed_at) VALUES ($1, $2)")
                    .bind(key)
                    .bind(at)
                    .execute(pool)
                    .await?;
            }
            Database::Sqlite(pool) => {
                sqlx::query("INSERT INTO login_failures (key, failed_at) VALUES (?, ?)")
                    .bind(key)
                    .bind(text_time(at))
                    .execute(pool)
                    .await?;
            }
        }
        Ok(())
    }

    /// Failures recorded under `key` after `since`: how many, and the oldest.
    pub async fn login_failures(
        &self,
        key: &str,
        since: DateTime<Utc>,
    ) -> Result<(i64, Option<DateTime<Utc>>), DbError> {
        Ok(match self {
            Database::Postgres(pool) => {
                let r = sqlx::query(
                    "SELECT count(*) AS n, min(failed_at) AS oldest FROM login_failures WHERE key = $1 AND failed_at > $2",
                )
                .bind(key)
                .bind(since)
                .fetch_one(pool)
                .await?;
                (r.try_get("n")?, r.try_get("oldest")?)
            }
            Database::Sqlite(pool) => {
                let r = sqlx::query(
                    "SELECT count(*) AS n, min(failed_at) AS oldest FROM login_failures WHERE key = ? AND failed_at > ?",
                )
                .bind(key)
                .bind(text_time(since))
                .fetch_one(pool)
                .await?;
                (r.try_get("n")?, parse_text_time(r.try_get("oldest")?))
            }
        })
    }

    /// Forgets the failures under `key`, and every failure older than
    /// `expired_before` (they no longer count).
    pub async fn clear_login_failures(
        &self,
        key: &str,
        expired_before: DateTime<Utc>,
    ) -> Result<(), DbError> {
        match self {
            Database::Postgres(pool) => {
                sqlx::query("DELETE FROM login_failures WHERE key = $1 OR failed_at < $2")
                    .bind(key)
                    .bind(expired_before)
                    .execute(pool)
                    .await?;
            }
            Database::Sqlite(pool) => {
                sqlx::query("DELETE FROM login_failures WHERE key = ? OR failed_at < ?")
                    .bind(key)
                    .bind(text_time(expired_before))
                    .execute(pool)
                    .await?;
            }
        }
        Ok(())
    }

    /// Accounts whose name was stored in plain text, before person streams.
    pub async fn legacy_names(&self) -> Result<Vec<(AccountId, String)>, DbError> {
        const SQL: &str = "SELECT id, display_name FROM accounts WHERE display_name IS NOT NULL AND display_name <> '' ORDER BY id";
        Ok(match self {
            Database::Postgres(pool) => sqlx::query(SQL)
                .fetch_all(pool)
                .await?
                .iter()
                .map(|r| Ok((AccountId(r.try_get("id")?), r.try_get("display_name")?)))
                .collect::<Result<_, sqlx::Error>>()?,
            Database::Sqlite(pool) => sqlx::query(SQL)
                .fetch_all(pool)
                .await?
                .iter()
                .map(|r| {
                    let id: String = r.try_get("id")?;
                    let id =
                        uuid::Uuid::parse_str(&id).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
                    Ok((AccountId(id), r.try_get("display_name")?))
                })
                .collect::<Result<_, sqlx::Error>>()?,
        })
    }

    /// Forgets an account's plain-text name.
    pub async fn clear_legacy_name(&self, account: AccountId) -> Result<(), DbError> {
        match self {
            Database::Postgres(pool) => {
                sqlx::query("UPDATE accounts SET display_name = NULL WHERE id = $1")
                    .bind(account.0)
                    .execute(pool)
                    .await?;
            }
            Database::Sqlite(pool) => {
                sqlx::query("UPDATE accounts SET display_name = NULL WHERE id = ?")
                    .bind(account.to_string())
                    .execute(pool)
                    .await?;
            }
        }
        Ok(())
    }

    /// Whether a live admin account exists.
    pub async fn has_admin(&self) -> Result<bool, DbError> {
        const SQL: &str = "SELECT count(*) AS n FROM accounts WHERE role = 'admin' AND revoked_at IS NULL AND erased_at IS NULL";
        let n: i64 = match self {
            Database::Postgres(pool) => sqlx::query(SQL).fetch_one(pool).await?.try_get("n")?,
            Database::Sqlite(pool) => sqlx::query(SQL).fetch_one(pool).await?.try_get("n")?,
        };
        Ok(n > 0)
    }

    /// The vault secret `name`, storing `wrapped` first if there is none.
    pub async fn vault_secret_or_insert(
        &self,
        name: &str,
        wrapped: &str,
    ) -> Result<String, DbError> {
        Ok(match self {
            Database::Postgres(pool) => {
                sqlx::query("INSERT INTO vault_secrets (name, wrapped) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
                    .bind(name)
                    .bind(wrapped)
                    .execute(pool)
                    .await?;
                sqlx::query("SELECT wrapped FROM vault_secrets WHERE name = $1")
                    .bind(name)
                    .fetch_one(pool)
                    .await?
                    .try_get("wrapped")?
            }
            Database::Sqlite(pool) => {
                sqlx::query("INSERT INTO vault_secrets (name, wrapped) VALUES (?, ?) ON CONFLICT (name) DO NOTHING")
                    .bind(name)
                    .bind(wrapped)
                    .execute(pool)
                    .await?;
                sqlx::query("SELECT wrapped FROM vault_secrets WHERE name = ?")
                    .bind(name)
                    .fetch_one(pool)
                    .await?
                    .try_get("wrapped")?
            }
        })
    }

    /// Whether nothing was ever kept here: no event and no vault secret (a
    /// new embedded store, where missing keys may still be made).
    pub async fn is_untouched(&self) -> Result<bool, DbError> {
        const SQL: &str = "SELECT CASE WHEN EXISTS (SELECT 1 FROM events) \
            OR EXISTS (SELECT 1 FROM vault_secrets) THEN 0 ELSE 1 END AS untouched";
        let untouched: i32 = match self {
            Database::Postgres(pool) => sqlx::query(SQL)
                .fetch_one(pool)
                .await?
                .try_get("untouched")?,
            Database::Sqlite(pool) => sqlx::query(SQL)
                .fetch_one(pool)
                .await?
                .try_get("untouched")?,
        };
        Ok(untouched == 1)
    }

    /// Every vault secret, wrapped.
    pub async fn vault_secrets(&self) -> Result<Vec<(String, String)>, DbError> {
        const SQL: &str = "SELECT name, wrapped FROM vault_secrets ORDER BY name";
        Ok(match self {
            Database::Postgres(pool) => sqlx::query(SQL)
                .fetch_all(pool)
                .await?
                .iter()
                .map(|r| Ok((r.try_get("name")?, r.try_get("wrapped")?)))
                .collect::<Result<_, sqlx::Error>>()?,
            Database::Sqlite(pool) => sqlx::query(SQL)
                .fetch_all(pool)
                .await?
                .iter()
                .map(|r| Ok((r.try_get("name")?, r.try_get("wrapped")?)))
                .collect::<Result<_, sqlx::Error>>()?,
        })
    }

    /// Stores a person's wrapped data key (once).
    pub async fn insert_person_key(&self, person: AccountId, wrapped: &str) -> Result<(), DbError> {
        match self {
            Database::Postgres(pool) => {
                sqlx::query("INSERT INTO person_keys (person_id, wrapped_key) VALUES ($1, $2)")
                    .bind(person.0)
                    .bind(wrapped)
                    .execute(pool)
                    .await?;
            }
            Database::Sqlite(pool) => {
                sqlx::query("INSERT INTO person_keys (person_id, wrapped_key) VALUES (?, ?)")
                    .bind(person.to_string())
                    .bind(wrapped)
                    .execute(pool)
                    .await?;
            }
        }
        Ok(())
    }

    pub async fn person_key(&self, person: AccountId) -> Result<Option<String>, DbError> {
        Ok(match self {
            Database::Postgres(pool) => {
                sqlx::query("SELECT wrapped_key FROM person_keys WHERE person_id = $1")
                    .bind(person.0)
                    .fetch_optional(pool)
                    .await?
                    .map(|r| r.try_get("wrapped_key"))
                    .transpose()?
            }
            Database::Sqlite(pool) => {
                sqlx::query("SELECT wrapped_key FROM person_keys WHERE person_id = ?")
                    .bind(person.to_string())
                    .fetch_optional(pool)
                    .await?
                    .map(|r| r.try_get("wrapped_key"))
                    .transpose()?
            }
        })
    }

    /// Every stored data key, for re-wrapping under a new master key.
    pub async fn person_keys(&self) -> Result<Vec<(AccountId, String)>, DbError> {
        const SQL: &str = "SELECT person_id, wrapped_key FROM person_keys ORDER BY person_id";
        Ok(match self {
            Database::Postgres(pool) => sqlx::query(SQL)
                .fetch_all(pool)
                .await?
                .iter()
                .map(|r| {
                    Ok((
                        AccountId(r.try_get("person_id")?),
                        r.try_get("wrapped_key")?,
                    ))
                })
                .collect::<Result<_, sqlx::Error>>()?,
            Database::Sqlite(pool) => sqlx::query(SQL)
                .fetch_all(pool)
                .await?
                .iter()
                .map(|r| {
                    let id: String = r.try_get("person_id")?;
                    let id =
                        uuid::Uuid::parse_str(&id).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
                    Ok((AccountId(id), r.try_get("wrapped_key")?))
                })
                .collect::<Result<_, sqlx::Error>>()?,
        })
    }

    /// Replaces wrapped keys and secrets (master key rotation), all in one
    /// transaction.
    pub async fn replace_wrapped(
        &self,
        keys: &[(AccountId, String)],
        secrets: &[(String, String)],
    ) -> Result<(), DbError> {
        match self {
            Database::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                for (person, wrapped) in keys {
                    sqlx::query("UPDATE person_keys SET wrapped_key = $2 WHERE person_id = $1")
                        .bind(person.0)
                        .bind(wrapped)
                        .execute(&mut *tx)
                        .await?;
                }
                for (name, wrapped) in secrets {
                    sqlx::query("UPDATE vault_secrets SET wrapped = $2 WHERE name = $1")
                        .bind(name)
                        .bind(wrapped)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
            }
            Database::Sqlite(pool) => {
                let mut tx = pool.begin().await?;
                for (person, wrapped) in keys {
                    sqlx::query("UPDATE person_keys SET wrapped_key = ? WHERE person_id = ?")
                        .bind(wrapped)
                        .bind(person.to_string())
                        .execute(&mut *tx)
                        .await?;
                }
                for (name, wrapped) in secrets {
                    sqlx::query("UPDATE vault_secrets SET wrapped = ? WHERE name = ?")
                        .bind(wrapped)
                        .bind(name)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
            }
        }
        Ok(())
    }

    /// Erasure of a person's credentials and key: the data key row is
    /// deleted, the account can no longer sign in, and its tokens are
    /// revoked — one transaction.
    pub async fn erase_person_secrets(
        &self,
        person: AccountId,
        at: DateTime<Utc>,
    ) -> Result<(), DbError> {
        match self {
            Database::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                sqlx::query("DELETE FROM person_keys WHERE person_id = $1")
                    .bind(person.0)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(
                    "UPDATE accounts SET erased_at = coalesce(erased_at, $2), display_name = NULL, login_hash = NULL, password_hash = NULL WHERE id = $1",
                )
                .bind(person.0)
                .bind(at)
                .execute(&mut *tx)
                .await?;
                sqlx::query(
                    "UPDATE access_tokens SET revoked_at = $2 WHERE account_id = $1 AND revoked_at IS NULL",
                )
                .bind(person.0)
                .bind(at)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
            }
            Database::Sqlite(pool) => {
                let mut tx = pool.begin().await?;
                let id = person.to_string();
                sqlx::query("DELETE FROM person_keys WHERE person_id = ?")
                    .bind(&id)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(
                    "UPDATE accounts SET erased_at = coalesce(erased_at, ?), display_name = NULL, login_hash = NULL, password_hash = NULL WHERE id = ?",
                )
                .bind(text_time(at))
                .bind(&id)
                .execute(&mut *tx)
                .await?;
                sqlx::query(
                    "UPDATE access_tokens SET revoked_at = ? WHERE account_id = ? AND revoked_at IS NULL",
                )
                .bind(text_time(at))
                .bind(&id)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
            }
        }
        tokens_changed();
        Ok(())
    }
}
