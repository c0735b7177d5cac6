//! Appending to the event log with the hash chain.
//!
//! Reads (loading a stream, replaying) go through postgres-es / sqlite-es;
//! appends go through [`ChainedRepository::persist`], which stores each
//! event with its id, recording instant and chain hash, and moves the
//! stream's head (`event_streams`) in the same transaction. The primary key
//! `(aggregate_type, aggregate_id, sequence)` still decides races: the loser
//! gets an optimistic-lock error and cqrs-es reports a conflict.

use chrono::{DateTime, Utc};
use cqrs_es::persist::{
    PersistedEventRepository, PersistenceError, ReplayStream, SerializedEvent, SerializedSnapshot,
};
use cqrs_es::Aggregate;
use serde_json::Value;
use tracing::Instrument;
use uuid::Uuid;

use super::Database;
use crate::audit::chain::{self, canonical_json, EventFields, Hash, GENESIS};

/// A repository that reads through `inner` and appends with the hash chain.
#[derive(Debug)]
pub struct ChainedRepository<R> {
    inner: R,
    db: Database,
}

impl<R> ChainedRepository<R> {
    pub fn new(inner: R, db: Database) -> Self {
        Self { inner, db }
    }
}

impl<R: PersistedEventRepository> PersistedEventRepository for ChainedRepository<R> {
    async fn get_events<A: Aggregate>(
        &self,
        aggregate_id: &str,
    ) -> Result<Vec<SerializedEvent>, PersistenceError> {
        self.inner.get_events::<A>(aggregate_id).await
    }

    async fn get_last_events<A: Aggregate>(
        &self,
        aggregate_id: &str,
        last_sequence: usize,
    ) -> Result<Vec<SerializedEvent>, PersistenceError> {
        self.inner
            .get_last_events::<A>(aggregate_id, last_sequence)
            .await
    }

    async fn get_snapshot<A: Aggregate>(
        &self,
        aggregate_id: &str,
    ) -> Result<Option<SerializedSnapshot>, PersistenceError> {
        self.inner.get_snapshot::<A>(aggregate_id).await
    }

    async fn persist<A: Aggregate>(
        &self,
        events: &[SerializedEvent],
        snapshot_update: Option<(String, Value, usize)>,
    ) -> Result<(), PersistenceError> {
        if snapshot_update.is_some() {
            return Err(PersistenceError::UnknownError(
                "aggregate snapshots are not kept; streams are short".into(),
            ));
        }
        self.db.append_chained(A::TYPE, events).await
    }

    async fn stream_events<A: Aggregate>(
        &self,
        aggregate_id: &str,
    ) -> Result<ReplayStream, PersistenceError> {
        self.inner.stream_events::<A>(aggregate_id).await
    }

    async fn stream_all_events<A: Aggregate>(&self) -> Result<ReplayStream, PersistenceError> {
        self.inner.stream_all_events::<A>().await
    }
}

/// One event ready for the INSERT.
struct Row<'a> {
    event: &'a SerializedEvent,
    event_id: Uuid,
    hash: Hash,
    /// The payload and metadata as stored text (what the hash covers).
    payload: &'a str,
    metadata: &'a str,
}

/// The recording instant, at the precision both stores keep (microseconds).
pub(crate) fn now_micros() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now)
}

/// The text form SQLite keeps for `recorded_at`.
pub(crate) fn sqlite_time(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

impl Database {
    /// Appends `events` (consecutive, of one stream) with their chain hashes.
    pub async fn append_chained(
        &self,
        aggregate_type: &str,
        events: &[SerializedEvent],
    ) -> Result<(), PersistenceError> {
        let Some(first) = events.first() else {
            return Ok(());
        };
        let span = tracing::info_span!(
            "append",
            otel.name = "append",
            aggregate_type,
            aggregate_id = %first.aggregate_id,
            events = events.len(),
            first_sequence = first.sequence,
        );
        self.append_chained_in(aggregate_type, events)
            .instrument(span)
            .await
    }

    async fn append_chained_in(
        &self,
        aggregate_type: &str,
        events: &[SerializedEvent],
    ) -> Result<(), PersistenceError> {
        let Some(first) = events.first() else {
            return Ok(());
        };
        let aggregate_id = first.aggregate_id.as_str();
        // The predecessor is committed and never changes, so it is read
        // outside the write transaction; a concurrent append of the same
        // sequence loses on the primary key.
        let mut prev = self
            .predecessor(aggregate_type, aggregate_id, events)
            .await?;
        // The text stored is exactly the text hashed.
        let texts: Vec<(String, String)> = events
            .iter()
            .map(|e| (canonical_json(&e.payload), canonical_json(&e.metadata)))
            .collect();
        let recorded_at = now_micros();
        let mut rows = Vec::with_capacity(events.len());
        for (event, (payload, metadata)) in events.iter().zip(&texts) {
            let event_id = Uuid::new_v4();
            let hash = chain::event_hash(
                &prev,
                &EventFields {
                    aggregate_type,
                    aggregate_id,
                    sequence: event.sequence as i64,
                    event_type: &event.event_type,
                    event_version: &event.event_version,
                    event_id,
                    recorded_at,
                    payload,
                    metadata,
                },
            );
            rows.push(Row {
                event,
                event_id,
                hash,
                payload,
                metadata,
            });
            prev = hash;
        }
        let last_sequence = events.last().map_or(0, |e| e.sequence as i64);
        // A command run under an idempotency key marks the key committed in
        // the events' own transaction: a retry after a crash between this
        // commit and the answer then knows not to run the command again.
        let idempotency_key = first
            .metadata
            .get(crate::event_log::IDEMPOTENCY_METADATA_KEY)
            .and_then(Value::as_str);
        match self {
            Database::Postgres(pool) => {
                // One statement, so one round trip: the window in which a
                // concurrent append of the same stream waits on this one is
                // as short as it can be.
                let sequences: Vec<i64> = rows.iter().map(|r| r.event.sequence as i64).collect();
                let types: Vec<&str> = rows.iter().map(|r| r.event.event_type.as_str()).collect();
                let versions: Vec<&str> = rows
                    .iter()
                    .map(|r| r.event.event_version.as_str())
                    .collect();
                let payloads: Vec<&str> = rows.iter().map(|r| r.payload).collect();
                let metadata: Vec<&str> = rows.iter().map(|r| r.metadata).collect();
                let ids: Vec<Uuid> = rows.iter().map(|r| r.event_id).collect();
                let hashes: Vec<&[u8]> = rows.iter().map(|r| &r.hash[..]).collect();
                sqlx::query(APPEND_POSTGRES)
                    .bind(aggregate_type)
                    .bind(aggregate_id)
                    .bind(recorded_at)
                    .bind(&sequences)
                    .bind(&types)
                    .bind(&versions)
                    .bind(&payloads)
                    .bind(&metadata)
                    .bind(&ids)
                    .bind(&hashes)
                    .bind(last_sequence)
                    .bind(&prev[..])
                    .bind(idempotency_key)
                    .execute(pool)
                    .await
                    .map_err(persistence_error)?;
            }
            Database::Sqlite(pool) => {
                let recorded_at = sqlite_time(&recorded_at);
                let mut tx = pool.begin().await.map_err(persistence_error)?;
                for row in &rows {
                    sqlx::query(
                        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, \
                         event_version, payload, metadata, event_id, recorded_at, hash) \
                         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    )
                    .bind(aggregate_type)
                    .bind(aggregate_id)
                    .bind(row.event.sequence as i64)
                    .bind(&row.event.event_type)
                    .bind(&row.event.event_version)
                    .bind(row.payload)
                    .bind(row.metadata)
                    .bind(row.event_id.to_string())
                    .bind(&recorded_at)
                    .bind(&row.hash[..])
                    .execute(&mut *tx)
                    .await
                    .map_err(persistence_error)?;
                }
                sqlx::query(UPSERT_HEAD)
                    .bind(aggregate_type)
                    .bind(aggregate_id)
                    .bind(last_sequence)
                    .bind(&prev[..])
                    .execute(&mut *tx)
                    .await
                    .map_err(persistence_error)?;
                if let Some(key_hash) = idempotency_key {
                    sqlx::query(MARK_COMMITTED)
                        .bind(aggregate_type)
                        .bind(aggregate_id)
                        .bind(key_hash)
                        .execute(&mut *tx)
                        .await
                        .map_err(persistence_error)?;
                }
                tx.commit().await.map_err(persistence_error)?;
            }
        }
        Ok(())
    }

    /// The hash of the event before `events` (zeros for a new stream).
    async fn predecessor(
        &self,
        aggregate_type: &str,
        aggregate_id: &str,
        events: &[SerializedEvent],
    ) -> Result<Hash, PersistenceError> {
        let previous = events.first().map_or(0, |e| e.sequence as i64 - 1);
        if previous < 1 {
            return Ok(GENESIS);
        }
        const SELECT: &str = "SELECT hash FROM events \
             WHERE aggregate_type = $1 AND aggregate_id = $2 AND sequence = $3";
        let hash: Option<Option<Vec<u8>>> = match self {
            Database::Postgres(pool) => sqlx::query_scalar(SELECT)
                .bind(aggregate_type)
                .bind(aggregate_id)
                .bind(previous)
                .fetch_optional(pool)
                .await
                .map_err(persistence_error)?,
            Database::Sqlite(pool) => sqlx::query_scalar(SELECT)
                .bind(aggregate_type)
                .bind(aggregate_id)
                .bind(previous)
                .fetch_optional(pool)
                .await
                .map_err(persistence_error)?,
        };
        hash.flatten()
            .and_then(|h| Hash::try_from(h.as_slice()).ok())
            .ok_or_else(|| {
                PersistenceError::UnknownError(
                    format!(
                        "stream {aggregate_type}/{aggregate_id} has no chained event at sequence {previous}"
                    )
                    .into(),
                )
            })
    }
}

/// The events of one append and the stream's new head, in one statement.
const APPEND_POSTGRES: &str = "
WITH appended AS (
    INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version,
                        payload, metadata, event_id, recorded_at, hash)
    SELECT $1, $2, seq, ty, ver, p::json, m::json, eid, $3, h
      FROM UNNEST($4::bigint[], $5::text[], $6::text[], $7::text[], $8::text[], $9::uuid[], $10::bytea[])
           AS u(seq, ty, ver, p, m, eid, h)
     ORDER BY seq
    RETURNING 1
),
-- The idempotency key the command ran under, if any ($13 NULL: none).
marked AS (
    UPDATE idempotency_keys SET committed_type = $1, committed_id = $2
     WHERE key_hash = $13 AND state = 'in_progress'
)
-- Reading `appended` makes the events go in before the head is touched, so
-- two racing appends meet on the events' key first (no lock-order deadlock).
INSERT INTO event_streams (aggregate_type, aggregate_id, last_sequence, last_hash)
SELECT $1, $2, $11, $12 FROM (SELECT count(*) FROM appended) AS done
ON CONFLICT (aggregate_type, aggregate_id)
DO UPDATE SET last_sequence = excluded.last_sequence, last_hash = excluded.last_hash";

/// Marks the idempotency key a command ran under committed to its stream
/// (SQLite; PostgreSQL does it in [`APPEND_POSTGRES`]).
const MARK_COMMITTED: &str = "UPDATE idempotency_keys SET committed_type = $1, committed_id = $2 \
     WHERE key_hash = $3 AND state = 'in_progress'";

/// Moves a stream's head to its last sequence and hash (appends on SQLite,
/// sealing on both stores).
pub(crate) const UPSERT_HEAD: &str =
    "INSERT INTO event_streams (aggregate_type, aggregate_id, last_sequence, last_hash) \
     VALUES ($1, $2, $3, $4) \
     ON CONFLICT (aggregate_type, aggregate_id) \
     DO UPDATE SET last_sequence = excluded.last_sequence, last_hash = excluded.last_hash";

/// Maps a store error as postgres-es and sqlite-es do: a duplicate key is a
/// lost race, a broken connection is unavailability.
fn persistence_error(err: sqlx::Error) -> PersistenceError {
    match &err {
        sqlx::Error::Database(db)
            if matches!(
                db.code().as_deref(),
                // PostgreSQL unique_violation; SQLite PRIMARYKEY / UNIQUE.
                Some("23505") | Some("1555") | Some("2067")
            ) =>
        {
            PersistenceError::OptimisticLockError
        }
        e if super::is_unavailable(e) => PersistenceError::ConnectionError(Box::new(err)),
        _ => PersistenceError::UnknownError(Box::new(err)),
    }
}
