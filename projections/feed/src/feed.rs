//! The global event feed in commit-safe order.
//!
//! PostgreSQL assigns `global_position` at INSERT, but transactions commit
//! out of order: a reader doing `position > last` could skip a late commit
//! forever. Readers therefore take only events of transactions older than
//! every transaction still running (`transaction_id < pg_snapshot_xmin(…)`)
//! and order by `(transaction_id, global_position)`. SQLite has one writer at
//! a time, so `global_position` is commit order and `transaction_id` is 0.

use chrono::{DateTime, Utc};
use sqlx::Row;

use crate::store::{Store, StoreError};

/// The PostgreSQL channel on which instances announce appends, so that
/// runners wake without waiting for their next poll.
pub const WAKE_CHANNEL: &str = "lianxi_events";

/// A place in the feed: after the event at this position.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    pub transaction_id: i64,
    pub global_position: i64,
}

/// One event of the global feed.
#[derive(Clone, Debug, PartialEq)]
pub struct FeedEvent {
    pub position: Position,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub sequence: i64,
    pub event_type: String,
    pub event_version: String,
    /// The payload as JSON text; each projection parses what it needs.
    pub payload: String,
    /// The metadata as JSON text.
    pub metadata: String,
}

const READ_POSTGRES: &str = "
-- The alias must differ from the column: ORDER BY would otherwise sort by
-- the alias (an expression) instead of walking the (transaction_id,
-- global_position) index.
SELECT transaction_id::text::bigint AS tx_id, global_position, aggregate_type, aggregate_id,
       sequence, event_type, event_version, payload::text AS payload, metadata::text AS metadata
  FROM events
 WHERE (transaction_id, global_position) > ($1::text::xid8, $2)
   AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())
 ORDER BY transaction_id, global_position
 LIMIT $3";

const READ_SQLITE: &str = "
SELECT 0 AS tx_id, global_position, aggregate_type, aggregate_id,
       sequence, event_type, event_version, payload, metadata
  FROM events
 WHERE global_position > ?1
 ORDER BY global_position
 LIMIT ?2";

/// Up to `limit` events after `after`, in commit-safe order.
pub async fn read_after(
    store: &Store,
    after: Position,
    limit: i64,
) -> Result<Vec<FeedEvent>, StoreError> {
    read(store, after, limit, READ_POSTGRES, READ_SQLITE).await
}

/// As [`read_after`], without the metadata (left empty): for folds that
/// need only what happened, such as a rebuild's.
pub async fn read_payloads_after(
    store: &Store,
    after: Position,
    limit: i64,
) -> Result<Vec<FeedEvent>, StoreError> {
    let (postgres, sqlite) = without_metadata();
    read(store, after, limit, &postgres, &sqlite).await
}

/// The reads of both stores, selecting an empty metadata.
fn without_metadata() -> (String, String) {
    (
        READ_POSTGRES.replace("metadata::text AS metadata", "'' AS metadata"),
        READ_SQLITE.replace("payload, metadata", "payload, '' AS metadata"),
    )
}

async fn read(
    store: &Store,
    after: Position,
    limit: i64,
    postgres: &str,
    sqlite: &str,
) -> Result<Vec<FeedEvent>, StoreError> {
    match store {
        Store::Postgres(pool) => {
            let rows = sqlx::query(postgres)
                .bind(after.transaction_id.to_string())
                .bind(after.global_position)
                .bind(limit)
                .fetch_all(pool)
                .await?;
            Ok(rows.iter().map(decode_pg).collect::<Result<Vec<_>, _>>()?)
        }
        Store::Sqlite(pool) => {
            let rows = sqlx::query(sqlite)
                .bind(after.global_position)
                .bind(limit)
                .fetch_all(pool)
                .await?;
            Ok(rows
                .iter()
                .map(decode_sqlite)
                .collect::<Result<Vec<_>, _>>()?)
        }
    }
}

macro_rules! decode_row {
    ($name:ident, $row:ty) => {
        fn $name(r: &$row) -> Result<FeedEvent, sqlx::Error> {
            Ok(FeedEvent {
                position: Position {
                    transaction_id: r.try_get("tx_id")?,
                    global_position: r.try_get("global_position")?,
                },
                aggregate_type: r.try_get("aggregate_type")?,
                aggregate_id: r.try_get("aggregate_id")?,
                sequence: r.try_get("sequence")?,
                event_type: r.try_get("event_type")?,
                event_version: r.try_get("event_version")?,
                payload: r.try_get("payload")?,
                metadata: r.try_get("metadata")?,
            })
        }
    };
}

decode_row!(decode_pg, sqlx::postgres::PgRow);
decode_row!(decode_sqlite, sqlx::sqlite::SqliteRow);

/// How far a projection at `at` is behind the feed: the number of readable
/// events after it, and when the oldest of them was recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lag {
    pub events: i64,
    pub oldest_recorded_at: Option<DateTime<Utc>>,
}

pub async fn lag(store: &Store, at: Position) -> Result<Lag, StoreError> {
    match store {
        Store::Postgres(pool) => {
            let row = sqlx::query(
                "SELECT count(*) AS events, min(recorded_at) AS oldest FROM events
                  WHERE (transaction_id, global_position) > ($1::text::xid8, $2)",
            )
            .bind(at.transaction_id.to_string())
            .bind(at.global_position)
            .fetch_one(pool)
            .await?;
            Ok(Lag {
                events: row.try_get("events")?,
                oldest_recorded_at: row.try_get("oldest")?,
            })
        }
        Store::Sqlite(pool) => {
            let row = sqlx::query("SELECT count(*) AS events, min(recorded_at) AS oldest FROM events WHERE global_position > ?")
                .bind(at.global_position)
                .fetch_one(pool)
                .await?;
            let oldest: Option<String> = row.try_get("oldest")?;
            Ok(Lag {
                events: row.try_get("events")?,
                oldest_recorded_at: oldest
                    .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
                    .map(|t| t.with_timezone(&Utc)),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reading_payloads_only_leaves_the_metadata_out_on_both_stores() {
        let (postgres, sqlite) = without_metadata();
        assert_ne!(postgres, READ_POSTGRES);
        assert_ne!(sqlite, READ_SQLITE);
        assert!(!postgres.contains("metadata::text"));
        assert!(sqlite.contains("'' AS metadata"));
    }
}
