//! Rate limits on filing, per account and per client address, counted in
//! the database so that every instance counts together. A refused request
//! writes nothing and answers 429 with `Retry-After`.

use std::net::IpAddr;

use chrono::{DateTime, TimeDelta, Utc};
use lianxi_domain::values::AccountId;
use lianxi_projections::store::sql;
use sqlx::Row;

use crate::db::{Database, DbError};

/// The window the limits count in.
pub const WINDOW: TimeDelta = TimeDelta::hours(1);

/// How many filings one account, and one client address, may make per
/// [`WINDOW`] (`None`: no limit), and how long a request may take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub filings_per_account: Option<u32>,
    pub filings_per_address: Option<u32>,
    /// Longest a request may take before it is answered with 503.
    pub request_timeout: std::time::Duration,
    /// How long one event stream lasts before the client must reconnect.
    pub event_stream_lifetime: std::time::Duration,
    /// The largest file one may upload, in bytes.
    pub upload_bytes: u64,
}

/// The largest upload unless configured: 10 MiB, a phone photo with room
/// to spare.
pub const DEFAULT_UPLOAD_BYTES: u64 = 10 * 1024 * 1024;

impl Limits {
    /// What `lianxi serve` applies unless configured: 20 filings an hour per
    /// account (no resident files that many in good faith), 200 per client
    /// address (a building's shared connection, or a proxy), 30 s a request.
    pub const SERVE_DEFAULT: Limits = Limits {
        filings_per_account: Some(20),
        filings_per_address: Some(200),
        request_timeout: crate::app::REQUEST_TIMEOUT,
        event_stream_lifetime: std::time::Duration::from_secs(60),
        upload_bytes: DEFAULT_UPLOAD_BYTES,
    };

    /// A request still in progress this long after it started has died:
    /// every request is answered (or dropped) within the request timeout.
    pub fn stale_after(&self) -> std::time::Duration {
        self.request_timeout + std::time::Duration::from_secs(5)
    }
}

impl Default for Limits {
    /// No filing limits; the default request timeout.
    fn default() -> Self {
        Self {
            filings_per_account: None,
            filings_per_address: None,
            request_timeout: crate::app::REQUEST_TIMEOUT,
            event_stream_lifetime: std::time::Duration::from_secs(60),
            upload_bytes: DEFAULT_UPLOAD_BYTES,
        }
    }
}

/// Why a request may not go ahead now.
#[derive(Debug)]
pub enum Refusal {
    /// Try again after this many seconds.
    Limited {
        retry_after: u64,
    },
    Db(DbError),
}

impl From<DbError> for Refusal {
    fn from(e: DbError) -> Self {
        Refusal::Db(e)
    }
}

/// Counts a filing by `account` from `address`, or refuses it (counting
/// nothing) when either is at its limit.
pub async fn admit_filing(
    db: &Database,
    limits: Limits,
    account: AccountId,
    address: Option<IpAddr>,
    now: DateTime<Utc>,
) -> Result<(), Refusal> {
    let mut keys = Vec::new();
    if let Some(max) = limits.filings_per_account {
        keys.push((format!("filing:account:{account}"), max));
    }
    if let (Some(max), Some(ip)) = (limits.filings_per_address, address) {
        keys.push((format!("filing:address:{ip}"), max));
    }
    let since = now - WINDOW;
    for (key, max) in &keys {
        let (count, oldest) = hits(db, key, since).await?;
        if count >= i64::from(*max) {
            let free_at = oldest.unwrap_or(now) + WINDOW;
            let retry_after = (free_at - now).num_seconds().max(1) as u64;
            return Err(Refusal::Limited { retry_after });
        }
    }
    for (key, _) in &keys {
        record(db, key, now, since).await?;
    }
    Ok(())
}

fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

async fn hits(
    db: &Database,
    key: &str,
    since: DateTime<Utc>,
) -> Result<(i64, Option<DateTime<Utc>>), DbError> {
    let text =
        "SELECT count(*) AS n, min(at) AS oldest FROM rate_limit_hits WHERE key = $1 AND at > $2";
    Ok(match db {
        Database::Postgres(pool) => {
            let r = sqlx::query(text)
                .bind(key)
                .bind(since)
                .fetch_one(pool)
                .await?;
            (r.try_get("n")?, r.try_get("oldest")?)
        }
        Database::Sqlite(pool) => {
            let r = sqlx::query(&sql(false, text))
                .bind(key)
                .bind(stamp(since))
                .fetch_one(pool)
                .await?;
            let oldest: Option<String> = r.try_get("oldest")?;
            (
                r.try_get("n")?,
                oldest
                    .and_then(|s| DateTime::parse_from_rfc3339(&s).ok())
                    .map(|t| t.with_timezone(&Utc)),
            )
        }
    })
}

/// Counts a hit under `key` and forgets that key's hits older than `since`.
async fn record(
    db: &Database,
    key: &str,
    now: DateTime<Utc>,
    since: DateTime<Utc>,
) -> Result<(), DbError> {
    let forget = "DELETE FROM rate_limit_hits WHERE key = $1 AND at <= $2";
    let insert = "INSERT INTO rate_limit_hits (key, at) VALUES ($1, $2)";
    match db {
        Database::Postgres(pool) => {
            sqlx::query(forget)
                .bind(key)
                .bind(since)
                .execute(pool)
                .await?;
            sqlx::query(insert)
                .bind(key)
                .bind(now)
                .execute(pool)
                .await?;
        }
        Database::Sqlite(pool) => {
            sqlx::query(&sql(false, forget))
                .bind(key)
                .bind(stamp(since))
                .execute(pool)
                .await?;
            sqlx::query(&sql(false, insert))
                .bind(key)
                .bind(stamp(now))
                .execute(pool)
                .await?;
        }
    }
    Ok(())
}
