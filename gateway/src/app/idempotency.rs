//! Idempotency keys: the claims, kept answers and takeovers behind the
//! API's `Idempotency-Key` (the HTTP middleware is `api::idempotency`).
//! Keys are scoped per account; an append made under a key marks it
//! committed to its stream in the events' own transaction.

use chrono::{DateTime, Utc};
use lianxi_domain::values::AccountId;

use super::AppState;
use crate::db::DbError;

pub use crate::db::{Claim, KeptAnswer, KeyedRequest};
pub use crate::event_log::with_idempotency_key;

/// Claims the key for `request` until `expires_at`, or finds who holds it.
pub async fn claim(
    state: &AppState,
    request: &KeyedRequest<'_>,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<Claim, DbError> {
    state
        .db
        .claim_idempotency_key(request, now, expires_at)
        .await
}

/// Takes over a key whose first run started before `stale_before` and
/// died; whether this caller won it.
pub async fn take_over(
    state: &AppState,
    account: AccountId,
    key: &str,
    stale_before: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<bool, DbError> {
    state
        .db
        .take_over_idempotency_key(account, key, stale_before, now)
        .await
}

/// Keeps `answer` as the key's answer.
pub async fn complete(
    state: &AppState,
    account: AccountId,
    key: &str,
    answer: &KeptAnswer,
) -> Result<(), DbError> {
    state
        .db
        .complete_idempotency_key(account, key, answer)
        .await
}

/// Lets the key go after a server error: deleted when nothing committed
/// under it, else made stale as of `stale_since` so that a retry rebuilds
/// the answer.
pub async fn release(
    state: &AppState,
    account: AccountId,
    key: &str,
    stale_since: DateTime<Utc>,
) -> Result<(), DbError> {
    state
        .db
        .release_idempotency_key(account, key, stale_since)
        .await
}
