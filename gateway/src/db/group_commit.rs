//! Group commit: the appends that arrive while earlier ones are being
//! written go to PostgreSQL together, in one statement and one transaction.
//!
//! Every command's append would otherwise be a round trip and a commit of
//! its own; under load most of a command's cost is those. The appends of one
//! log wait in a queue; a writer takes whatever is queued when a write slot
//! is free (at most [`SLOTS`] batches are in flight, at most [`MOST`] appends
//! each), so a lone append goes at once and a busy log writes in batches.
//! Nothing waits on a timer.
//!
//! A batch commits whole or not at all. If PostgreSQL refuses it (one of its
//! appends lost a race on a stream's key, or a deadlock with another
//! instance), nothing of it was stored, and each append is written again
//! alone, so only the loser sees the conflict. If the connection failed, the
//! outcome is unknown to every append in it, as it would be to one alone.
//! The batches run on a task of their own: a request that stops waiting
//! (timeout, client gone) does not cancel the others' write.

use std::sync::{Arc, OnceLock};

use cqrs_es::persist::PersistenceError;
use lianxi_feed::Position;
use sqlx::PgPool;
use tokio::sync::{mpsc, oneshot, Semaphore};
use tracing::{debug, Instrument};

use super::append::Append;
use super::Database;

/// Batches in flight at once per log.
pub const SLOTS: usize = 3;

/// Most appends per batch.
pub const MOST: usize = 64;

type Reply = oneshot::Sender<Result<Position, PersistenceError>>;

/// The queue of one log's appends to PostgreSQL.
#[derive(Debug)]
pub(crate) struct GroupCommit {
    pool: PgPool,
    /// Started with the first append (a runtime is running by then).
    queue: OnceLock<mpsc::UnboundedSender<(Append, Reply)>>,
}

impl GroupCommit {
    /// A group commit for `db`, if it is PostgreSQL (SQLite has one writer).
    pub(crate) fn for_database(db: &Database) -> Option<Arc<Self>> {
        match db {
            Database::Postgres(pool) => Some(Arc::new(Self {
                pool: pool.clone(),
                queue: OnceLock::new(),
            })),
            Database::Sqlite(_) => None,
        }
    }

    /// Stores `append` with whatever else is queued; answers its last
    /// event's feed position once committed.
    pub(crate) async fn append(&self, append: Append) -> Result<Position, PersistenceError> {
        let queue = self.queue.get_or_init(|| {
            let (sender, receiver) = mpsc::unbounded_channel();
            tokio::spawn(write_batches(self.pool.clone(), receiver));
            sender
        });
        let (reply, answer) = oneshot::channel();
        queue
            .send((append, reply))
            .map_err(|_| PersistenceError::ConnectionError("the append queue is closed".into()))?;
        answer.await.map_err(|_| {
            PersistenceError::ConnectionError("the append was dropped unanswered".into())
        })?
    }
}

async fn write_batches(pool: PgPool, mut queue: mpsc::UnboundedReceiver<(Append, Reply)>) {
    let slots = Arc::new(Semaphore::new(SLOTS));
    while let Some(first) = queue.recv().await {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        // Whatever queued up while every slot was busy goes together.
        let mut batch = vec![first];
        while batch.len() < MOST {
            match queue.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let pool = pool.clone();
        tokio::spawn(async move {
            write(&pool, batch).await;
            drop(slot);
        });
    }
}

async fn write(pool: &PgPool, mut batch: Vec<(Append, Reply)>) {
    metrics::histogram!("lianxi_append_batch_size").record(batch.len() as f64);
    if batch.len() > 1 {
        // The same order in every batch, so that two instances' batches
        // take their streams' locks in one order.
        batch.sort_by(|(a, _), (b, _)| {
            (&a.aggregate_type, &a.aggregate_id).cmp(&(&b.aggregate_type, &b.aggregate_id))
        });
        let span = tracing::info_span!(
            "append.batch",
            otel.name = "append batch",
            appends = batch.len()
        );
        match write_together(pool, &batch).instrument(span).await {
            Ok(positions) => {
                for ((_, reply), position) in batch.into_iter().zip(positions) {
                    let _ = reply.send(Ok(position));
                }
                return;
            }
            Err(e) if matches!(e, sqlx::Error::Database(_)) && !super::is_unavailable(&e) => {
                // PostgreSQL refused the statement (a lost race, a
                // deadlock): nothing of it is stored. Each again alone.
                debug!(error = %e, appends = batch.len(), "batch refused; appending one by one");
            }
            Err(e) => {
                // The connection failed or the server went away, possibly
                // after the commit: the outcome is unknown to every append
                // of the batch, and none may be written again.
                let reason = e.to_string();
                for (_, reply) in batch {
                    let _ = reply.send(Err(PersistenceError::ConnectionError(
                        reason.clone().into(),
                    )));
                }
                return;
            }
        }
    }
    let db = Database::Postgres(pool.clone());
    for (append, reply) in batch {
        let outcome = db.write_append(&append).await.and_then(|position| {
            position.ok_or_else(|| PersistenceError::UnknownError("no feed position".into()))
        });
        let _ = reply.send(outcome);
    }
}

/// Every append of `batch` in one statement; the feed position of each one's
/// last event, in the batch's order.
async fn write_together(
    pool: &PgPool,
    batch: &[(Append, Reply)],
) -> Result<Vec<Position>, sqlx::Error> {
    let events: usize = batch.iter().map(|(a, _)| a.sequences.len()).sum();
    let mut types = Vec::with_capacity(events);
    let mut ids = Vec::with_capacity(events);
    let mut sequences = Vec::with_capacity(events);
    let mut event_types = Vec::with_capacity(events);
    let mut versions = Vec::with_capacity(events);
    let mut payloads = Vec::with_capacity(events);
    let mut metadata = Vec::with_capacity(events);
    let mut event_ids = Vec::with_capacity(events);
    let mut recorded = Vec::with_capacity(events);
    let mut hashes: Vec<&[u8]> = Vec::with_capacity(events);
    for (a, _) in batch {
        for i in 0..a.sequences.len() {
            types.push(a.aggregate_type.as_str());
            ids.push(a.aggregate_id.as_str());
            sequences.push(a.sequences[i]);
            event_types.push(a.types[i].as_str());
            versions.push(a.versions[i].as_str());
            payloads.push(a.payloads[i].as_str());
            metadata.push(a.metadata[i].as_str());
            event_ids.push(a.ids[i]);
            recorded.push(a.recorded_at);
            hashes.push(&a.hashes[i][..]);
        }
    }
    let stream_types: Vec<&str> = batch
        .iter()
        .map(|(a, _)| a.aggregate_type.as_str())
        .collect();
    let stream_ids: Vec<&str> = batch.iter().map(|(a, _)| a.aggregate_id.as_str()).collect();
    let last_sequences: Vec<i64> = batch.iter().map(|(a, _)| a.last_sequence()).collect();
    let last_hashes: Vec<Vec<u8>> = batch.iter().map(|(a, _)| a.last_hash().to_vec()).collect();
    let keys: Vec<Option<&str>> = batch
        .iter()
        .map(|(a, _)| a.idempotency_key.as_deref())
        .collect();
    let rows: Vec<(i64, String, String, i64)> = sqlx::query_as(APPEND_BATCH)
        .bind(&types)
        .bind(&ids)
        .bind(&sequences)
        .bind(&event_types)
        .bind(&versions)
        .bind(&payloads)
        .bind(&metadata)
        .bind(&event_ids)
        .bind(&recorded)
        .bind(&hashes)
        .bind(&stream_types)
        .bind(&stream_ids)
        .bind(&last_sequences)
        .bind(&last_hashes)
        .bind(&keys)
        .fetch_all(pool)
        .await?;
    batch
        .iter()
        .map(|(a, _)| {
            rows.iter()
                .find(|(_, t, id, _)| *t == a.aggregate_type && *id == a.aggregate_id)
                .map(|&(transaction_id, _, _, global_position)| Position {
                    transaction_id,
                    global_position,
                })
                .ok_or_else(|| {
                    sqlx::Error::Protocol(format!(
                        "the batch stored no event of {}/{}",
                        a.aggregate_type, a.aggregate_id
                    ))
                })
        })
        .collect()
}

/// The events of several appends, their streams' heads and idempotency keys,
/// in one statement (so one transaction): the same writes as
/// `APPEND_POSTGRES` for each append.
const APPEND_BATCH: &str = "
WITH appended AS (
    INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version,
                        payload, metadata, event_id, recorded_at, hash)
    SELECT ty, id, seq, et, ver, p::json, m::json, eid, at, h
      FROM UNNEST($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[],
                  $7::text[], $8::uuid[], $9::timestamptz[], $10::bytea[])
           WITH ORDINALITY AS u(ty, id, seq, et, ver, p, m, eid, at, h, n)
     ORDER BY n
    RETURNING aggregate_type, aggregate_id, global_position
),
marked AS (
    UPDATE idempotency_keys k SET committed_type = s.ty, committed_id = s.id
      FROM UNNEST($11::text[], $12::text[], $15::text[]) AS s(ty, id, key)
     WHERE k.key_hash = s.key AND k.state = 'in_progress'
),
-- Reading `appended` makes the events go in before the heads are touched, so
-- racing appends meet on the events' key first (no lock-order deadlock).
heads AS (
    INSERT INTO event_streams (aggregate_type, aggregate_id, last_sequence, last_hash)
    SELECT s.ty, s.id, s.seq, s.h
      FROM UNNEST($11::text[], $12::text[], $13::bigint[], $14::bytea[]) AS s(ty, id, seq, h),
           (SELECT count(*) FROM appended) AS done
    ON CONFLICT (aggregate_type, aggregate_id)
    DO UPDATE SET last_sequence = excluded.last_sequence, last_hash = excluded.last_hash
)
SELECT pg_current_xact_id()::text::bigint, aggregate_type, aggregate_id, max(global_position)
  FROM appended
 GROUP BY aggregate_type, aggregate_id";

#[cfg(test)]
mod tests {
    use cqrs_es::persist::{PersistenceError, SerializedEvent};
    use serde_json::json;
    use uuid::Uuid;

    use super::GroupCommit;
    use crate::db::fresh_postgres::FreshPostgres;
    use crate::db::Database;

    fn event(stream: &str, sequence: usize) -> SerializedEvent {
        SerializedEvent {
            aggregate_id: stream.to_owned(),
            sequence,
            aggregate_type: "grievance".to_owned(),
            event_type: "Noted".to_owned(),
            event_version: "1.0".to_owned(),
            payload: json!({"Noted": {"n": sequence}}),
            metadata: json!({"request_id": "group-commit-test"}),
        }
    }

    /// The transaction and feed position of each stream's last event.
    async fn stored(db: &Database, stream: &str, sequence: i64) -> Option<(i64, i64)> {
        let Database::Postgres(pool) = db else {
            return None;
        };
        sqlx::query_as(
            "SELECT transaction_id::text::bigint, global_position FROM events \
             WHERE aggregate_type = 'grievance' AND aggregate_id = $1 AND sequence = $2",
        )
        .bind(stream)
        .bind(sequence)
        .fetch_optional(pool)
        .await
        .expect("read an event")
    }

    /// Appends queued together go in one transaction, each with its own
    /// answer; when one of them loses its race the others still commit,
    /// and only the loser hears of a conflict.
    #[tokio::test]
    async fn queued_appends_commit_together_and_only_a_loser_is_refused() {
        let Some(fresh) = FreshPostgres::create().await else {
            return;
        };
        let db = &fresh.db;
        let group = GroupCommit::for_database(db).expect("PostgreSQL");
        let streams: Vec<String> = (0..40).map(|_| Uuid::new_v4().to_string()).collect();
        let mut appends = Vec::new();
        for stream in &streams {
            let events = [event(stream, 1), event(stream, 2)];
            appends.push(
                db.prepare_append("grievance", &events, None)
                    .await
                    .expect("prepare"),
            );
        }
        // On this single-threaded runtime every append is queued before the
        // writer runs, so all forty go in one batch.
        let answers = futures::future::join_all(appends.into_iter().map(|a| group.append(a))).await;
        let mut transactions = std::collections::BTreeSet::new();
        for (stream, answer) in streams.iter().zip(answers) {
            let position = answer.expect("committed");
            let (transaction, global) = stored(db, stream, 2).await.expect("stored");
            assert_eq!(
                (position.transaction_id, position.global_position),
                (transaction, global)
            );
            transactions.insert(transaction);
        }
        assert_eq!(transactions.len(), 1, "one transaction for the batch");

        // A second batch: two new streams and one append that loses (its
        // stream already holds sequence 1).
        let (a, b) = (Uuid::new_v4().to_string(), Uuid::new_v4().to_string());
        let loser = db
            .prepare_append("grievance", &[event(&streams[0], 1)], None)
            .await
            .expect("prepare");
        let first = db
            .prepare_append("grievance", &[event(&a, 1)], None)
            .await
            .expect("prepare");
        let second = db
            .prepare_append("grievance", &[event(&b, 1)], None)
            .await
            .expect("prepare");
        let (x, y, z) = tokio::join!(
            group.append(first),
            group.append(loser),
            group.append(second)
        );
        assert!(x.is_ok(), "{x:?}");
        assert!(
            matches!(y, Err(PersistenceError::OptimisticLockError)),
            "{y:?}"
        );
        assert!(z.is_ok(), "{z:?}");
        assert!(stored(db, &a, 1).await.is_some() && stored(db, &b, 1).await.is_some());

        let report = crate::audit::verify(db, None).await.expect("verify");
        assert!(report.ok, "{report:?}");
        assert_eq!(report.events, 82);
        fresh.drop().await;
    }
}
