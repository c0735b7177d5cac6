//! Webhook deliveries: the outbox rows the `webhook_outbox` projection
//! fills, as the delivery worker (`workers::webhooks`) claims, checks and
//! settles them. Sending them is the worker's; what is due, who may still
//! see it and how a row ends are decided here.

use lianxi_domain::values::{AccountId, GrievanceId};
use lianxi_projections::store::sql;
use sqlx::Row;

use super::auth::Caller;
use super::AppState;
use crate::db::{execute, Bind, Database, DbError};

/// The client deliveries are sent with: it reaches only the destinations
/// webhooks may reach (see `outbound`), follows no redirect.
pub fn client(state: &AppState, timeout: std::time::Duration) -> reqwest::Client {
    state.destinations.client(timeout)
}

/// Why a delivery's URL may not be reached now, if it may not (checked
/// again at every attempt: the allowlist may have changed since).
pub fn refused(state: &AppState, url: &str) -> Option<String> {
    state
        .destinations
        .check_url(url)
        .err()
        .map(|e| e.to_string())
}

/// Whether a failed send was refused by the destination check (a name
/// that resolved only to addresses webhooks may not reach).
pub fn refused_by_check(error: &reqwest::Error) -> Option<String> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = source {
        if let Some(refused) = e.downcast_ref::<crate::outbound::Refused>() {
            return Some(refused.to_string());
        }
        source = e.source();
    }
    None
}

/// One due delivery with its subscription.
#[derive(Debug)]
pub struct Due {
    pub subscription: String,
    pub event_id: String,
    pub grievance: String,
    pub event_type: String,
    pub sequence: i64,
    pub attempts: i32,
    pub next_attempt_ms: i64,
    pub url: String,
    pub secret: String,
    pub account: String,
}

macro_rules! due_row {
    ($r:expr) => {
        Ok::<Due, sqlx::Error>(Due {
            subscription: $r.try_get(0)?,
            event_id: $r.try_get(1)?,
            grievance: $r.try_get(2)?,
            event_type: $r.try_get(3)?,
            sequence: $r.try_get(4)?,
            attempts: $r.try_get(5)?,
            next_attempt_ms: $r.try_get(6)?,
            url: $r.try_get(7)?,
            secret: $r.try_get(8)?,
            account: $r.try_get(9)?,
        })
    };
}

const DUE: &str =
    "SELECT d.subscription_id, d.event_id, d.grievance_id, d.event_type, d.sequence, \
            d.attempts, d.next_attempt_ms, s.url, s.secret, s.account_id \
       FROM webhook_deliveries d JOIN webhook_subscriptions s ON s.id = d.subscription_id \
      WHERE d.status = 'pending' AND d.next_attempt_ms <= $1 AND s.disabled_ms IS NULL \
      ORDER BY d.global_position LIMIT 50";

/// The deliveries due at `now` (milliseconds), oldest event first.
pub async fn due(state: &AppState, now: i64) -> Result<Vec<Due>, DbError> {
    let rows = match &state.db {
        Database::Postgres(pool) => sqlx::query(DUE).bind(now).fetch_all(pool).await?,
        Database::Sqlite(pool) => {
            let rows = sqlx::query(&sql(false, DUE))
                .bind(now)
                .fetch_all(pool)
                .await?;
            return rows
                .iter()
                .map(|r| due_row!(r))
                .collect::<Result<_, sqlx::Error>>()
                .map_err(DbError::from);
        }
    };
    rows.iter()
        .map(|r| due_row!(r))
        .collect::<Result<_, sqlx::Error>>()
        .map_err(DbError::from)
}

/// Claims the attempt at `d` until `lease` (milliseconds): whether this
/// caller won it. Another instance that read the same row loses.
pub async fn claim(state: &AppState, d: &Due, lease: i64) -> Result<bool, DbError> {
    let claimed = execute(
        &state.db,
        "UPDATE webhook_deliveries SET next_attempt_ms = $1 \
         WHERE subscription_id = $2 AND event_id = $3 AND status = 'pending' \
           AND next_attempt_ms = $4",
        &[
            Bind::Int(lease),
            Bind::Text(&d.subscription),
            Bind::Text(&d.event_id),
            Bind::Int(d.next_attempt_ms),
        ],
    )
    .await?;
    Ok(claimed == 1)
}

/// Whether the subscriber may see the delivery's grievance now.
pub async fn may_see(app: &AppState, d: &Due) -> Result<bool, DbError> {
    let (account, grievance) = (d.account.as_str(), d.grievance.as_str());
    let (Ok(account), Ok(grievance)) = (
        uuid::Uuid::parse_str(account),
        GrievanceId::parse(grievance),
    ) else {
        return Ok(false);
    };
    let Some(record) = app.db.account(AccountId(account)).await? else {
        return Ok(false);
    };
    let caller = Caller(record);
    Ok(crate::app::grievances::visible(app, &caller, grievance)
        .await
        .is_ok())
}

/// Ends the delivery `d` as `status` (`delivered`, `skipped`, `dead`).
pub async fn settle(
    state: &AppState,
    d: &Due,
    status: &str,
    error: Option<&str>,
    now: i64,
) -> Result<(), DbError> {
    let attempts = if status == "skipped" { 0 } else { 1 };
    execute(
        &state.db,
        "UPDATE webhook_deliveries SET status = $1, attempts = attempts + $2, \
                last_error = $3, settled_ms = $4 \
         WHERE subscription_id = $5 AND event_id = $6",
        &[
            Bind::Text(status),
            Bind::Int(attempts),
            Bind::OptText(error),
            Bind::Int(now),
            Bind::Text(&d.subscription),
            Bind::Text(&d.event_id),
        ],
    )
    .await?;
    Ok(())
}

/// How long settled deliveries (delivered or skipped) are kept, for a
/// receiver's questions; dead letters stay until queued again.
const KEPT_FOR_MS: i64 = 7 * 24 * 3600 * 1000;

/// Deletes settled deliveries older than [`KEPT_FOR_MS`].
pub async fn forget_settled(state: &AppState, now: i64) -> Result<u64, DbError> {
    execute(
        &state.db,
        "DELETE FROM webhook_deliveries \
         WHERE status IN ('delivered', 'skipped') AND settled_ms < $1",
        &[Bind::Int(now - KEPT_FOR_MS)],
    )
    .await
}

/// Counts a failed attempt at `d` and sets the next for `next` (milliseconds).
pub async fn retry_later(state: &AppState, d: &Due, next: i64, error: &str) -> Result<(), DbError> {
    execute(
        &state.db,
        "UPDATE webhook_deliveries SET attempts = attempts + 1, \
                next_attempt_ms = $1, last_error = $2 \
         WHERE subscription_id = $3 AND event_id = $4",
        &[
            Bind::Int(next),
            Bind::Text(error),
            Bind::Text(&d.subscription),
            Bind::Text(&d.event_id),
        ],
    )
    .await?;
    Ok(())
}
