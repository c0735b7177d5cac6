//! Idempotency keys: per account, the request a key was first used for, its
//! state (`in_progress`, `completed` with the answer kept), and the stream
//! its command committed to (marked by the append, see `append.rs`). The
//! rules live in `api::idempotency`.

use chrono::{DateTime, Utc};
use lianxi_domain::values::AccountId;
use sqlx::Row;

use super::append::sqlite_time;
use super::{Database, DbError};

/// The metadata entry naming the request's idempotency key (its scoped
/// hash): the append that finds it marks the key committed in the events'
/// own transaction.
pub const IDEMPOTENCY_METADATA_KEY: &str = "idempotency_key";

/// How many expired keys one claim deletes on its way.
const SWEEP_LIMIT: i64 = 100;

/// One request under a key.
#[derive(Clone, Copy, Debug)]
pub struct KeyedRequest<'a> {
    pub account: AccountId,
    pub key: &'a str,
    /// What the events' metadata carries (see `event_log::with_idempotency_key`).
    pub key_hash: &'a str,
    /// Method, path with query and body, hashed.
    pub request_hash: &'a str,
}

/// An answer as kept: status, the headers worth repeating, body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeptAnswer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// What the table knows of a key held by an earlier request.
#[derive(Clone, Debug)]
pub struct KeyRecord {
    pub request_hash: String,
    /// The answer, once the request completed.
    pub answer: Option<KeptAnswer>,
    /// The stream (aggregate type, id) its command appended to, if any.
    pub committed: Option<(String, String)>,
    pub started_at: DateTime<Utc>,
}

/// The outcome of claiming a key.
#[derive(Clone, Debug)]
pub enum Claim {
    /// The key was free (or expired): this request runs.
    Claimed,
    /// An earlier request holds the key.
    Held(KeyRecord),
}

fn sqlite_instant(text: &str) -> Result<DateTime<Utc>, DbError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| DbError::Invalid(format!("idempotency_keys: bad instant {text:?}: {e}")))
}

fn headers_json(headers: &[(String, String)]) -> String {
    let map: serde_json::Map<String, serde_json::Value> = headers
        .iter()
        .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
        .collect();
    serde_json::Value::Object(map).to_string()
}

fn headers_from_json(text: Option<&str>) -> Vec<(String, String)> {
    let Some(Ok(serde_json::Value::Object(map))) = text.map(serde_json::from_str) else {
        return Vec::new();
    };
    map.into_iter()
        .filter_map(|(k, v)| v.as_str().map(|v| (k, v.to_owned())))
        .collect()
}

/// The columns of a row, whichever store it came from.
struct Columns {
    request_hash: String,
    state: String,
    status: Option<i32>,
    headers: Option<String>,
    body: Option<Vec<u8>>,
    committed_type: Option<String>,
    committed_id: Option<String>,
    started_at: DateTime<Utc>,
}

impl Columns {
    fn record(self) -> KeyRecord {
        let answer = match (self.state.as_str(), self.status) {
            ("completed", Some(status)) => Some(KeptAnswer {
                status: u16::try_from(status).unwrap_or(500),
                headers: headers_from_json(self.headers.as_deref()),
                body: self.body.unwrap_or_default(),
            }),
            _ => None,
        };
        KeyRecord {
            request_hash: self.request_hash,
            answer,
            committed: self.committed_type.zip(self.committed_id),
            started_at: self.started_at,
        }
    }
}

const SELECT: &str =
    "SELECT request_hash, state, response_status, response_headers, response_body, \
     committed_type, committed_id, started_at FROM idempotency_keys \
     WHERE account_id = $1 AND key = $2";
const DELETE_EXPIRED_KEY: &str =
    "DELETE FROM idempotency_keys WHERE account_id = $1 AND key = $2 AND expires_at <= $3";
const INSERT: &str = "INSERT INTO idempotency_keys \
     (account_id, key, key_hash, request_hash, state, started_at, expires_at) \
     VALUES ($1, $2, $3, $4, 'in_progress', $5, $6) ON CONFLICT DO NOTHING";
const SWEEP: &str = "DELETE FROM idempotency_keys WHERE key_hash IN \
     (SELECT key_hash FROM idempotency_keys WHERE expires_at <= $1 LIMIT $2)";
const TAKE_OVER: &str = "UPDATE idempotency_keys \
     SET started_at = $1, committed_type = NULL, committed_id = NULL \
     WHERE account_id = $2 AND key = $3 AND state = 'in_progress' AND started_at < $4";
const COMPLETE: &str = "UPDATE idempotency_keys \
     SET state = 'completed', response_status = $1, response_headers = $2, response_body = $3 \
     WHERE account_id = $4 AND key = $5 AND state = 'in_progress'";
const DELETE_UNCOMMITTED: &str = "DELETE FROM idempotency_keys \
     WHERE account_id = $1 AND key = $2 AND state = 'in_progress' AND committed_type IS NULL";
const BACKDATE: &str = "UPDATE idempotency_keys SET started_at = $1 \
     WHERE account_id = $2 AND key = $3 AND state = 'in_progress'";

impl Database {
    /// Claims `request.key` for `request.account`, or answers what holds it.
    /// An expired key is deleted first and so claimed anew; each claim also
    /// deletes a bounded batch of other expired keys.
    pub async fn claim_idempotency_key(
        &self,
        request: &KeyedRequest<'_>,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<Claim, DbError> {
        // A holder may let go (a failed request) between our insert and read.
        for _ in 0..3 {
            let inserted = match self {
                Database::Postgres(pool) => {
                    sqlx::query(DELETE_EXPIRED_KEY)
                        .bind(request.account.0)
                        .bind(request.key)
                        .bind(now)
                        .execute(pool)
                        .await?;
                    sqlx::query(INSERT)
                        .bind(request.account.0)
                        .bind(request.key)
                        .bind(request.key_hash)
                        .bind(request.request_hash)
                        .bind(now)
                        .bind(expires_at)
                        .execute(pool)
                        .await?
                        .rows_affected()
                }
                Database::Sqlite(pool) => {
                    sqlx::query(DELETE_EXPIRED_KEY)
                        .bind(request.account.0.to_string())
                        .bind(request.key)
                        .bind(sqlite_time(&now))
                        .execute(pool)
                        .await?;
                    sqlx::query(INSERT)
                        .bind(request.account.0.to_string())
                        .bind(request.key)
                        .bind(request.key_hash)
                        .bind(request.request_hash)
                        .bind(sqlite_time(&now))
                        .bind(sqlite_time(&expires_at))
                        .execute(pool)
                        .await?
                        .rows_affected()
                }
            };
            if inserted == 1 {
                self.sweep_idempotency_keys(now).await?;
                return Ok(Claim::Claimed);
            }
            if let Some(record) = self.idempotency_key(request.account, request.key).await? {
                return Ok(Claim::Held(record));
            }
        }
        Err(DbError::Invalid(
            "an idempotency key kept changing hands".into(),
        ))
    }

    async fn sweep_idempotency_keys(&self, now: DateTime<Utc>) -> Result<(), DbError> {
        let swept = match self {
            Database::Postgres(pool) => sqlx::query(SWEEP)
                .bind(now)
                .bind(SWEEP_LIMIT)
                .execute(pool)
                .await?
                .rows_affected(),
            Database::Sqlite(pool) => sqlx::query(SWEEP)
                .bind(sqlite_time(&now))
                .bind(SWEEP_LIMIT)
                .execute(pool)
                .await?
                .rows_affected(),
        };
        if swept > 0 {
            tracing::debug!(swept, "deleted expired idempotency keys");
        }
        Ok(())
    }

    async fn idempotency_key(
        &self,
        account: AccountId,
        key: &str,
    ) -> Result<Option<KeyRecord>, DbError> {
        let columns = match self {
            Database::Postgres(pool) => {
                let row = sqlx::query(SELECT)
                    .bind(account.0)
                    .bind(key)
                    .fetch_optional(pool)
                    .await?;
                match row {
                    None => None,
                    Some(r) => Some(Columns {
                        request_hash: r.try_get("request_hash")?,
                        state: r.try_get("state")?,
                        status: r.try_get("response_status")?,
                        headers: r.try_get("response_headers")?,
                        body: r.try_get("response_body")?,
                        committed_type: r.try_get("committed_type")?,
                        committed_id: r.try_get("committed_id")?,
                        started_at: r.try_get("started_at")?,
                    }),
                }
            }
            Database::Sqlite(pool) => {
                let row = sqlx::query(SELECT)
                    .bind(account.0.to_string())
                    .bind(key)
                    .fetch_optional(pool)
                    .await?;
                match row {
                    None => None,
                    Some(r) => {
                        let started_at: String = r.try_get("started_at")?;
                        Some(Columns {
                            request_hash: r.try_get("request_hash")?,
                            state: r.try_get("state")?,
                            status: r.try_get("response_status")?,
                            headers: r.try_get("response_headers")?,
                            body: r.try_get("response_body")?,
                            committed_type: r.try_get("committed_type")?,
                            committed_id: r.try_get("committed_id")?,
                            started_at: sqlite_instant(&started_at)?,
                        })
                    }
                }
            }
        };
        Ok(columns.map(Columns::record))
    }

    /// Takes over a key whose request started before `stale_before` and
    /// never answered: it now runs anew from `now`, with no stream marked.
    /// `false` when another request took it over first.
    pub async fn take_over_idempotency_key(
        &self,
        account: AccountId,
        key: &str,
        stale_before: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, DbError> {
        let taken = match self {
            Database::Postgres(pool) => sqlx::query(TAKE_OVER)
                .bind(now)
                .bind(account.0)
                .bind(key)
                .bind(stale_before)
                .execute(pool)
                .await?
                .rows_affected(),
            Database::Sqlite(pool) => sqlx::query(TAKE_OVER)
                .bind(sqlite_time(&now))
                .bind(account.0.to_string())
                .bind(key)
                .bind(sqlite_time(&stale_before))
                .execute(pool)
                .await?
                .rows_affected(),
        };
        Ok(taken == 1)
    }

    /// Keeps `answer` as the key's answer.
    pub async fn complete_idempotency_key(
        &self,
        account: AccountId,
        key: &str,
        answer: &KeptAnswer,
    ) -> Result<(), DbError> {
        let headers = headers_json(&answer.headers);
        let status = i32::from(answer.status);
        match self {
            Database::Postgres(pool) => {
                sqlx::query(COMPLETE)
                    .bind(status)
                    .bind(&headers)
                    .bind(&answer.body)
                    .bind(account.0)
                    .bind(key)
                    .execute(pool)
                    .await?;
            }
            Database::Sqlite(pool) => {
                sqlx::query(COMPLETE)
                    .bind(status)
                    .bind(&headers)
                    .bind(&answer.body)
                    .bind(account.0.to_string())
                    .bind(key)
                    .execute(pool)
                    .await?;
            }
        }
        Ok(())
    }

    /// Lets go of a key whose request failed: deleted if its command
    /// committed nothing (a retry runs again), else dated back to
    /// `stale_since` so that the next retry rebuilds the answer at once.
    pub async fn release_idempotency_key(
        &self,
        account: AccountId,
        key: &str,
        stale_since: DateTime<Utc>,
    ) -> Result<(), DbError> {
        match self {
            Database::Postgres(pool) => {
                let deleted = sqlx::query(DELETE_UNCOMMITTED)
                    .bind(account.0)
                    .bind(key)
                    .execute(pool)
                    .await?
                    .rows_affected();
                if deleted == 0 {
                    sqlx::query(BACKDATE)
                        .bind(stale_since)
                        .bind(account.0)
                        .bind(key)
                        .execute(pool)
                        .await?;
                }
            }
            Database::Sqlite(pool) => {
                let deleted = sqlx::query(DELETE_UNCOMMITTED)
                    .bind(account.0.to_string())
                    .bind(key)
                    .execute(pool)
                    .await?
                    .rows_affected();
                if deleted == 0 {
                    sqlx::query(BACKDATE)
                        .bind(sqlite_time(&stale_since))
                        .bind(account.0.to_string())
                        .bind(key)
                        .execute(pool)
                        .await?;
                }
            }
        }
        Ok(())
    }
}
