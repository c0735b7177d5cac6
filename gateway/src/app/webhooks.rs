//! The webhook service: the calling account's subscriptions (subscribe a
//! URL, the answer carrying the signing secret once; list; unsubscribe),
//! its dead letters, and queueing one again. Deliveries: the webhook worker.

use chrono::{DateTime, TimeZone, Utc};
use lianxi_projections::store::sql;
use serde::{Deserialize, Serialize};
use sqlx::Row;
use utoipa::ToSchema;
use uuid::Uuid;

use super::auth::Caller;
use super::error::ApiError;
use super::AppState;
use crate::db::Database;
use crate::db::{execute, Bind};

/// Subscribing a URL to the changes of the grievances the account may see.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscribeRequest {
    /// `http://` or `https://`, at most 2,000 characters.
    #[schema(example = "https://hotline.example.org/lianxi-events")]
    pub url: String,
}

/// A subscription (its secret only in the answer that created it).
#[derive(Debug, Serialize, ToSchema)]
pub struct Subscription {
    pub id: Uuid,
    pub url: String,
    /// The HMAC-SHA256 key of `Lianxi-Signature`; shown once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// The same key as Standard Webhooks verifiers take it (`whsec_…`),
    /// for `webhook-signature`; shown once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signing_secret: Option<String>,
    pub created_at: DateTime<Utc>,
    pub active: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SubscriptionList {
    pub items: Vec<Subscription>,
}

/// A delivery that failed every attempt.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeadLetter {
    pub event_id: String,
    pub event_type: String,
    pub grievance: String,
    pub sequence: i64,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub failed_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeadLetterList {
    pub items: Vec<DeadLetter>,
}

/// A `webhook_deliveries` row of the dead-letter query.
macro_rules! dead_letter {
    ($r:expr) => {
        Ok::<DeadLetter, sqlx::Error>(DeadLetter {
            event_id: $r.try_get(0)?,
            event_type: $r.try_get(1)?,
            grievance: $r.try_get(2)?,
            sequence: $r.try_get(3)?,
            attempts: $r.try_get(4)?,
            last_error: $r.try_get(5)?,
            failed_at: $r.try_get::<Option<i64>, _>(6)?.map(instant),
        })
    };
}

fn instant(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

fn db_error(e: sqlx::Error) -> ApiError {
    ApiError::from_db(e.into())
}

/// The caller's subscription `id`, or 404.
async fn own(db: &Database, caller: &Caller, id: &str) -> Result<Subscription, ApiError> {
    let id = Uuid::parse_str(id).map_err(|_| ApiError::not_found())?;
    let text = "SELECT url, created_ms, disabled_ms FROM webhook_subscriptions \
                WHERE id = $1 AND account_id = $2";
    let account = caller.0.id.0.to_string();
    let row: Option<(String, i64, Option<i64>)> = match db {
        Database::Postgres(pool) => sqlx::query_as(text)
            .bind(id.to_string())
            .bind(&account)
            .fetch_optional(pool)
            .await
            .map_err(db_error)?,
        Database::Sqlite(pool) => sqlx::query_as(&sql(false, text))
            .bind(id.to_string())
            .bind(&account)
            .fetch_optional(pool)
            .await
            .map_err(db_error)?,
    };
    let (url, created, disabled) = row.ok_or_else(ApiError::not_found)?;
    Ok(Subscription {
        id,
        url,
        secret: None,
        signing_secret: None,
        created_at: instant(created),
        active: disabled.is_none(),
    })
}

fn check_url(url: &str) -> Result<(), ApiError> {
    let ok = url.chars().count() <= 2000
        && (url.starts_with("http://") || url.starts_with("https://"))
        && url.len() > "https://".len()
        && !url.chars().any(char::is_whitespace);
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid_field(
            "url",
            "must be an http:// or https:// URL of at most 2,000 characters",
        ))
    }
}

/// The key a subscription's secret stands for: its 32 bytes.
fn key_of(secret: &str) -> Vec<u8> {
    hex::decode(secret).unwrap_or_else(|_| secret.as_bytes().to_vec())
}

/// The secret as Standard Webhooks verifiers take it: `whsec_` and the
/// key in base64.
pub fn signing_secret(secret: &str) -> String {
    use base64::Engine;
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(key_of(secret))
    )
}

/// The `webhook-signature` header of Standard Webhooks: `v1,` and the
/// base64 HMAC-SHA256 of `<id>.<timestamp>.<body>` under the key.
pub fn standard_signature(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> String {
    use base64::Engine;
    use hmac::Mac;
    let mut mac = <hmac::Hmac<sha2::Sha256> as Mac>::new_from_slice(&key_of(secret))
        .expect("HMAC takes a key of any length");
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    )
}

/// Subscribes `body.url` for the caller, once it is a destination webhooks
/// may reach: on the allowlist, else public (its name resolved now, and
/// again at every delivery).
pub async fn subscribe(
    state: &AppState,
    caller: &Caller,
    body: &SubscribeRequest,
) -> Result<Subscription, ApiError> {
    // Webhooks feed the systems of the parties and the tiers (a property
    // company's ticketing, a street's hotline); residents, auditors and
    // admins follow changes on the pages or the event stream.
    if caller.0.role.party().is_none() {
        return Err(ApiError::forbidden(
            "webhooks are for the accounts of the parties and the tiers",
        ));
    }
    check_url(&body.url)?;
    if let Err(refused) = state.destinations.check_resolved(&body.url).await {
        return Err(ApiError::invalid_field("url", refused.to_string()));
    }
    let id = Uuid::now_v7();
    let secret = {
        use rand::Rng;
        let bytes: [u8; 32] = rand::rng().random();
        hex::encode(bytes)
    };
    let now = Utc::now().timestamp_millis();
    let text = "INSERT INTO webhook_subscriptions (id, account_id, url, secret, created_ms) \
                VALUES ($1, $2, $3, $4, $5)";
    let (id_text, account) = (id.to_string(), caller.0.id.0.to_string());
    execute(
        &state.db,
        text,
        &[
            Bind::Text(&id_text),
            Bind::Text(&account),
            Bind::Text(&body.url),
            Bind::Text(&secret),
            Bind::Int(now),
        ],
    )
    .await
    .map_err(ApiError::from_db)?;
    Ok(Subscription {
        id,
        url: body.url.clone(),
        signing_secret: Some(signing_secret(&secret)),
        secret: Some(secret),
        created_at: instant(now),
        active: true,
    })
}

/// The caller's subscriptions, newest first.
pub async fn list(state: &AppState, caller: &Caller) -> Result<SubscriptionList, ApiError> {
    let text = "SELECT id, url, created_ms, disabled_ms FROM webhook_subscriptions \
                WHERE account_id = $1 ORDER BY created_ms DESC, id DESC LIMIT 100";
    let account = caller.0.id.0.to_string();
    let rows: Vec<(String, String, i64, Option<i64>)> = match &state.db {
        Database::Postgres(pool) => sqlx::query_as(text)
            .bind(&account)
            .fetch_all(pool)
            .await
            .map_err(db_error)?,
        Database::Sqlite(pool) => sqlx::query_as(&sql(false, text))
            .bind(&account)
            .fetch_all(pool)
            .await
            .map_err(db_error)?,
    };
    let items = rows
        .into_iter()
        .filter_map(|(id, url, created, disabled)| {
            Some(Subscription {
                id: Uuid::parse_str(&id).ok()?,
                url,
                secret: None,
                signing_secret: None,
                created_at: instant(created),
                active: disabled.is_none(),
            })
        })
        .collect();
    Ok(SubscriptionList { items })
}

/// Ends the caller's subscription `id`: nothing more is queued or sent.
pub async fn unsubscribe(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<Subscription, ApiError> {
    let mut subscription = own(&state.db, caller, id).await?;
    let text = "UPDATE webhook_subscriptions SET disabled_ms = $1 \
                WHERE id = $2 AND disabled_ms IS NULL";
    let now = Utc::now().timestamp_millis();
    let id = subscription.id.to_string();
    execute(&state.db, text, &[Bind::Int(now), Bind::Text(&id)])
        .await
        .map_err(ApiError::from_db)?;
    subscription.active = false;
    Ok(subscription)
}

/// The deliveries of the caller's subscription `id` that failed every attempt.
pub async fn dead_letters(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<DeadLetterList, ApiError> {
    let subscription = own(&state.db, caller, id).await?;
    let text =
        "SELECT event_id, event_type, grievance_id, sequence, attempts, last_error, settled_ms \
                FROM webhook_deliveries WHERE subscription_id = $1 AND status = 'dead' \
                ORDER BY global_position LIMIT 500";
    let items = match &state.db {
        Database::Postgres(pool) => sqlx::query(text)
            .bind(subscription.id.to_string())
            .fetch_all(pool)
            .await
            .map_err(db_error)?
            .iter()
            .map(|r| dead_letter!(r))
            .collect::<Result<Vec<_>, sqlx::Error>>(),
        Database::Sqlite(pool) => sqlx::query(&sql(false, text))
            .bind(subscription.id.to_string())
            .fetch_all(pool)
            .await
            .map_err(db_error)?
            .iter()
            .map(|r| dead_letter!(r))
            .collect::<Result<Vec<_>, sqlx::Error>>(),
    }
    .map_err(db_error)?;
    Ok(DeadLetterList { items })
}

/// Queues dead letter `event_id` of subscription `id` again, from its first
/// attempt.
pub async fn retry(
    state: &AppState,
    caller: &Caller,
    id: &str,
    event_id: &str,
) -> Result<(), ApiError> {
    let subscription = own(&state.db, caller, id).await?;
    let event_id = Uuid::parse_str(event_id).map_err(|_| ApiError::not_found())?;
    let text = "UPDATE webhook_deliveries SET status = 'pending', attempts = 0, \
                next_attempt_ms = $1, settled_ms = NULL \
                WHERE subscription_id = $2 AND event_id = $3 AND status = 'dead'";
    let now = Utc::now().timestamp_millis();
    let (id, event_id) = (subscription.id.to_string(), event_id.to_string());
    let changed = execute(
        &state.db,
        text,
        &[Bind::Int(now), Bind::Text(&id), Bind::Text(&event_id)],
    )
    .await
    .map_err(ApiError::from_db)?;
    if changed == 1 {
        Ok(())
    } else {
        Err(ApiError::not_found())
    }
}
