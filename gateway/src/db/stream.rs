//! Reading one stream as stored, with the log's own columns.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::Row;

use super::{Database, DbError};

/// An event as stored: the payload and metadata plus the log's columns.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredEvent {
    pub sequence: i64,
    pub global_position: i64,
    pub event_id: String,
    pub event_type: String,
    pub event_version: String,
    pub recorded_at: DateTime<Utc>,
    pub payload: Value,
    pub metadata: Value,
    /// The chain hash (`None` only for events not yet sealed).
    pub hash: Option<Vec<u8>>,
}

impl Database {
    /// The feed position of one event, to tell callers how far read models must be.
    pub async fn position_of(
        &self,
        aggregate_type: &str,
        aggregate_id: &str,
        sequence: i64,
    ) -> Result<Option<lianxi_feed::Position>, DbError> {
        let row = match self {
            Database::Postgres(pool) => sqlx::query(
                "SELECT transaction_id::text::bigint AS transaction_id, global_position FROM events \
                  WHERE aggregate_type = $1 AND aggregate_id = $2 AND sequence = $3",
            )
            .bind(aggregate_type)
            .bind(aggregate_id)
            .bind(sequence)
            .fetch_optional(pool)
            .await?
            .map(|r| (r.try_get("transaction_id"), r.try_get("global_position"))),
            Database::Sqlite(pool) => sqlx::query(
                "SELECT 0 AS transaction_id, global_position FROM events \
                  WHERE aggregate_type = ? AND aggregate_id = ? AND sequence = ?",
            )
            .bind(aggregate_type)
            .bind(aggregate_id)
            .bind(sequence)
            .fetch_optional(pool)
            .await?
            .map(|r| (r.try_get("transaction_id"), r.try_get("global_position"))),
        };
        match row {
            Some((Ok(transaction_id), Ok(global_position))) => Ok(Some(lianxi_feed::Position {
                transaction_id,
                global_position,
            })),
            Some((Err(e), _)) | Some((_, Err(e))) => Err(e.into()),
            None => Ok(None),
        }
    }

    /// The events of one stream in sequence order.
    pub async fn stream(
        &self,
        aggregate_type: &str,
        aggregate_id: &str,
    ) -> Result<Vec<StoredEvent>, DbError> {
        match self {
            Database::Postgres(pool) => {
                let rows = sqlx::query(
                    "SELECT sequence, global_position, event_id::text AS event_id, event_type, event_version, \
                            recorded_at, payload, metadata, hash \
                       FROM events WHERE aggregate_type = $1 AND aggregate_id = $2 ORDER BY sequence",
                )
                .bind(aggregate_type)
                .bind(aggregate_id)
                .fetch_all(pool)
                .await?;
                rows.iter()
                    .map(|r| {
                        Ok(StoredEvent {
                            sequence: r.try_get("sequence")?,
                            global_position: r.try_get("global_position")?,
                            event_id: r.try_get("event_id")?,
                            event_type: r.try_get("event_type")?,
                            event_version: r.try_get("event_version")?,
                            recorded_at: r.try_get("recorded_at")?,
                            payload: r.try_get("payload")?,
                            metadata: r.try_get("metadata")?,
                            hash: r.try_get("hash")?,
                        })
                    })
                    .collect::<Result<_, sqlx::Error>>()
                    .map_err(Into::into)
            }
            Database::Sqlite(pool) => {
                let rows = sqlx::query(
                    "SELECT sequence, global_position, event_id, event_type, event_version, \
                            recorded_at, payload, metadata, hash \
                       FROM events WHERE aggregate_type = ? AND aggregate_id = ? ORDER BY sequence",
                )
                .bind(aggregate_type)
                .bind(aggregate_id)
                .fetch_all(pool)
                .await?;
                rows.iter()
                    .map(|r| {
                        let recorded_at: String = r.try_get("recorded_at")?;
                        let payload: String = r.try_get("payload")?;
                        let metadata: String = r.try_get("metadata")?;
                        let decode =
                            |e: Box<dyn std::error::Error + Send + Sync>| sqlx::Error::Decode(e);
                        Ok(StoredEvent {
                            sequence: r.try_get("sequence")?,
                            global_position: r.try_get("global_position")?,
                            event_id: r.try_get("event_id")?,
                            event_type: r.try_get("event_type")?,
                            event_version: r.try_get("event_version")?,
                            recorded_at: DateTime::parse_from_rfc3339(&recorded_at)
                                .map_err(|e| decode(Box::new(e)))?
                                .with_timezone(&Utc),
                            payload: serde_json::from_str(&payload)
                                .map_err(|e| decode(Box::new(e)))?,
                            metadata: serde_json::from_str(&metadata)
                                .map_err(|e| decode(Box::new(e)))?,
                            hash: r.try_get("hash")?,
                        })
                    })
                    .collect::<Result<_, sqlx::Error>>()
                    .map_err(Into::into)
            }
        }
    }
}
