//! Appending to the event log with the hash chain.
//!
//! Reads (loading a stream, replaying) go through postgres-es / sqlite-es;
//! appends go through [`ChainedRepository::persist`], which stores each
//! event with its id, recording instant and chain hash, and moves the
//! stream's head (`event_streams`) in the same transaction. The primary key
//! `(aggregate_type, aggregate_id, sequence)` still decides races: the loser
//! gets an optimistic-lock error and cqrs-es reports a conflict.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use cqrs_es::persist::{
    PersistedEventRepository, PersistenceError, ReplayStream, SerializedEvent, SerializedSnapshot,
};
use cqrs_es::Aggregate;
use lianxi_feed::Position;
use serde_json::Value;
use tracing::Instrument;
use uuid::Uuid;

use super::{Database, GroupCommit};
use crate::db::chain::{self, canonical_json, EventFields, Hash, GENESIS};

/// A repository that reads through `inner` and appends with the hash chain.
#[derive(Debug)]
pub struct ChainedRepository<R> {
    inner: R,
    db: Database,
    heads: Arc<Heads>,
    /// On PostgreSQL, appends are written together with concurrent ones.
    group: Option<Arc<GroupCommit>>,
}

impl<R> ChainedRepository<R> {
    pub fn new(inner: R, db: Database) -> Self {
        Self::remembering(inner, db, Arc::default())
    }

    /// A repository that notes what it appended in `heads`.
    pub fn remembering(inner: R, db: Database, heads: Arc<Heads>) -> Self {
        let group = GroupCommit::for_database(&db);
        Self {
            inner,
            db,
            heads,
            group,
        }
    }
}

/// The last event of each stream this process appended to: its sequence,
/// chain hash and feed position. The next append to such a stream needs not
/// read its predecessor's hash back, nor the command its position. What a
/// committed event's hash and position are never changes, so an entry can
/// only be out of date (another instance appended since): its sequence then
/// does not match, and the store is asked as before.
#[derive(Debug, Default)]
pub struct Heads(std::sync::Mutex<HashMap<String, Head>>);

#[derive(Clone, Copy, Debug)]
struct Head {
    sequence: i64,
    hash: Hash,
    position: Option<Position>,
}

/// How many stream heads are remembered before starting afresh.
const REMEMBERED_HEADS: usize = 16_384;

impl Heads {
    fn key(aggregate_type: &str, aggregate_id: &str) -> String {
        format!("{aggregate_type}/{aggregate_id}")
    }

    fn get(&self, aggregate_type: &str, aggregate_id: &str, sequence: i64) -> Option<Head> {
        let heads = self.0.lock().unwrap_or_else(|e| e.into_inner());
        heads
            .get(&Self::key(aggregate_type, aggregate_id))
            .filter(|h| h.sequence == sequence)
            .copied()
    }

    fn put(&self, aggregate_type: &str, aggregate_id: &str, head: Head) {
        let mut heads = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if heads.len() >= REMEMBERED_HEADS {
            heads.clear();
        }
        heads.insert(Self::key(aggregate_type, aggregate_id), head);
    }

    /// The feed position of event `sequence` of a stream, if this process
    /// appended it last.
    pub fn position(
        &self,
        aggregate_type: &str,
        aggregate_id: &str,
        sequence: i64,
    ) -> Option<Position> {
        self.get(aggregate_type, aggregate_id, sequence)
            .and_then(|h| h.position)
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
        let Some(first) = events.first() else {
            return Ok(());
        };
        let known = self
            .heads
            .get(A::TYPE, &first.aggregate_id, first.sequence as i64 - 1)
            .map(|h| h.hash);
        let (hash, position) = async {
            let append = self.db.prepare_append(A::TYPE, events, known).await?;
            let hash = append.last_hash();
            let position = match &self.group {
                Some(group) => Some(group.append(append).await?),
                None => self.db.write_append(&append).await?,
            };
            Ok::<_, PersistenceError>((hash, position))
        }
        .instrument(append_span(A::TYPE, events))
        .await?;
        let head = Head {
            sequence: first.sequence as i64 + events.len() as i64 - 1,
            hash,
            position,
        };
        self.heads.put(A::TYPE, &first.aggregate_id, head);
        Ok(())
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

/// The events of one append, chained and ready to store.
#[derive(Debug)]
pub(crate) struct Append {
    pub(crate) aggregate_type: String,
    pub(crate) aggregate_id: String,
    pub(crate) recorded_at: DateTime<Utc>,
    pub(crate) sequences: Vec<i64>,
    pub(crate) types: Vec<String>,
    pub(crate) versions: Vec<String>,
    /// The payloads and metadata as stored text (what the hashes cover).
    pub(crate) payloads: Vec<String>,
    pub(crate) metadata: Vec<String>,
    pub(crate) ids: Vec<Uuid>,
    pub(crate) hashes: Vec<Hash>,
    /// The idempotency key the command ran under, marked committed with it.
    pub(crate) idempotency_key: Option<String>,
}

impl Append {
    pub(crate) fn last_sequence(&self) -> i64 {
        self.sequences.last().copied().unwrap_or(0)
    }

    pub(crate) fn last_hash(&self) -> Hash {
        self.hashes.last().copied().unwrap_or(GENESIS)
    }
}

/// The span of one append (`events` is not empty).
fn append_span(aggregate_type: &str, events: &[SerializedEvent]) -> tracing::Span {
    let first = events.first();
    tracing::info_span!(
        "append",
        otel.name = "append",
        aggregate_type,
        aggregate_id = first.map_or("", |e| e.aggregate_id.as_str()),
        events = events.len(),
        first_sequence = first.map_or(0, |e| e.sequence),
    )
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
        self.append_chained_after(aggregate_type, events, None)
            .await
            .map(|_| ())
    }

    /// Like [`Database::append_chained`], with the hash of the event before
    /// `events` when the caller knows it. Returns the last event's hash and,
    /// on PostgreSQL, its feed position.
    pub(crate) async fn append_chained_after(
        &self,
        aggregate_type: &str,
        events: &[SerializedEvent],
        known_predecessor: Option<Hash>,
    ) -> Result<Option<(Hash, Option<Position>)>, PersistenceError> {
        if events.is_empty() {
            return Ok(None);
        }
        self.append_chained_in(aggregate_type, events, known_predecessor)
            .instrument(append_span(aggregate_type, events))
            .await
            .map(Some)
    }

    async fn append_chained_in(
        &self,
        aggregate_type: &str,
        events: &[SerializedEvent],
        known_predecessor: Option<Hash>,
    ) -> Result<(Hash, Option<Position>), PersistenceError> {
        let append = self
            .prepare_append(aggregate_type, events, known_predecessor)
            .await?;
        let position = self.write_append(&append).await?;
        Ok((append.last_hash(), position))
    }

    /// Chains `events` (consecutive, of one stream, at least one) onto their
    /// predecessor: the rows to store, with their ids, recording instant and
    /// hashes.
    pub(crate) async fn prepare_append(
        &self,
        aggregate_type: &str,
        events: &[SerializedEvent],
        known_predecessor: Option<Hash>,
    ) -> Result<Append, PersistenceError> {
        let Some(first) = events.first() else {
            return Err(PersistenceError::UnknownError(
                "an append of no events".into(),
            ));
        };
        let aggregate_id = first.aggregate_id.as_str();
        // The predecessor is committed and never changes, so it is read
        // outside the write transaction; a concurrent append of the same
        // sequence loses on the primary key.
        let mut prev = match known_predecessor {
            Some(hash) if first.sequence > 1 => hash,
            _ => {
                self.predecessor(aggregate_type, aggregate_id, events)
                    .await?
            }
        };
        let recorded_at = now_micros();
        let mut append = Append {
            aggregate_type: aggregate_type.to_owned(),
            aggregate_id: aggregate_id.to_owned(),
            recorded_at,
            sequences: Vec::with_capacity(events.len()),
            types: Vec::with_capacity(events.len()),
            versions: Vec::with_capacity(events.len()),
            payloads: Vec::with_capacity(events.len()),
            metadata: Vec::with_capacity(events.len()),
            ids: Vec::with_capacity(events.len()),
            hashes: Vec::with_capacity(events.len()),
            // A command run under an idempotency key marks the key committed
            // in the events' own transaction: a retry after a crash between
            // this commit and the answer then knows not to run it again.
            idempotency_key: first
                .metadata
                .get(super::IDEMPOTENCY_METADATA_KEY)
                .and_then(Value::as_str)
                .map(str::to_owned),
        };
        for event in events {
            // The text stored is exactly the text hashed.
            let payload = canonical_json(&event.payload);
            let metadata = canonical_json(&event.metadata);
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
                    payload: &payload,
                    metadata: &metadata,
                },
            );
            append.sequences.push(event.sequence as i64);
            append.types.push(event.event_type.clone());
            append.versions.push(event.event_version.clone());
            append.payloads.push(payload);
            append.metadata.push(metadata);
            append.ids.push(event_id);
            append.hashes.push(hash);
            prev = hash;
        }
        Ok(append)
    }

    /// Stores one prepared append in its own transaction. Returns, on
    /// PostgreSQL, the feed position of its last event.
    pub(crate) async fn write_append(
        &self,
        append: &Append,
    ) -> Result<Option<Position>, PersistenceError> {
        let last_sequence = append.last_sequence();
        let last_hash = append.last_hash();
        match self {
            Database::Postgres(pool) => {
                // One statement, so one round trip: the window in which a
                // concurrent append of the same stream waits on this one is
                // as short as it can be.
                let hashes: Vec<&[u8]> = append.hashes.iter().map(|h| &h[..]).collect();
                let (transaction_id, global_position): (i64, i64) = sqlx::query_as(APPEND_POSTGRES)
                    .bind(&append.aggregate_type)
                    .bind(&append.aggregate_id)
                    .bind(append.recorded_at)
                    .bind(&append.sequences)
                    .bind(&append.types)
                    .bind(&append.versions)
                    .bind(&append.payloads)
                    .bind(&append.metadata)
                    .bind(&append.ids)
                    .bind(&hashes)
                    .bind(last_sequence)
                    .bind(&last_hash[..])
                    .bind(append.idempotency_key.as_deref())
                    .fetch_one(pool)
                    .await
                    .map_err(persistence_error)?;
                Ok(Some(Position {
                    transaction_id,
                    global_position,
                }))
            }
            Database::Sqlite(pool) => {
                let recorded_at = sqlite_time(&append.recorded_at);
                let mut tx = pool.begin().await.map_err(persistence_error)?;
                for i in 0..append.sequences.len() {
                    sqlx::query(
                        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, \
                         event_version, payload, metadata, event_id, recorded_at, hash) \
                         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    )
                    .bind(&append.aggregate_type)
                    .bind(&append.aggregate_id)
                    .bind(append.sequences[i])
                    .bind(&append.types[i])
                    .bind(&append.versions[i])
                    .bind(&append.payloads[i])
                    .bind(&append.metadata[i])
                    .bind(append.ids[i].to_string())
                    .bind(&recorded_at)
                    .bind(&append.hashes[i][..])
                    .execute(&mut *tx)
                    .await
                    .map_err(persistence_error)?;
                }
                sqlx::query(UPSERT_HEAD)
                    .bind(&append.aggregate_type)
                    .bind(&append.aggregate_id)
                    .bind(last_sequence)
                    .bind(&last_hash[..])
                    .execute(&mut *tx)
                    .await
                    .map_err(persistence_error)?;
                if let Some(key_hash) = &append.idempotency_key {
                    sqlx::query(MARK_COMMITTED)
                        .bind(&append.aggregate_type)
                        .bind(&append.aggregate_id)
                        .bind(key_hash)
                        .execute(&mut *tx)
                        .await
                        .map_err(persistence_error)?;
                }
                tx.commit().await.map_err(persistence_error)?;
                Ok(None)
            }
        }
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
    RETURNING global_position
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
DO UPDATE SET last_sequence = excluded.last_sequence, last_hash = excluded.last_hash
-- The last event's feed position (events go in in sequence order), so that
-- the command needs not read it back.
RETURNING pg_current_xact_id()::text::bigint, (SELECT max(global_position) FROM appended)";

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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use lianxi_domain::grievance::FileGrievance;
    use lianxi_domain::values::{
        AccountId, Category, Channel, Description, GrievanceId, Label, Location, MatterClass,
        PartyRole, Respondent, Tier, Title, Urgency, XiaoquId,
    };
    use lianxi_domain::{
        Actor, GrievanceAction, GrievanceCommand, GrievancePolicy, GrievanceServices, Role,
        SystemClock,
    };
    use uuid::Uuid;

    use crate::db::fresh_postgres::FreshPostgres;
    use crate::db::{Database, PoolSettings};
    use crate::event_log::{CommandMetadata, EventLog, RetryPolicy};

    fn log(db: &Database) -> EventLog {
        EventLog::new(
            db,
            GrievanceServices::new(Arc::new(SystemClock), GrievancePolicy::default()),
            RetryPolicy::default(),
        )
    }

    fn metadata() -> CommandMetadata {
        CommandMetadata {
            request_id: "test".into(),
            occurred_at: chrono::Utc::now(),
            reason: None,
        }
    }

    fn filing(id: GrievanceId) -> GrievanceAction {
        GrievanceAction::FileGrievance(FileGrievance {
            grievance_id: id,
            xiaoqu: XiaoquId(Uuid::new_v4()),
            category: Category::Repairs,
            title: Title::parse("3栋电梯停运").expect("title"),
            description: Description::parse("").expect("description"),
            location: Location::new(Some(Label::parse("3栋").expect("label")), None, None)
                .expect("location"),
            respondent: Respondent::PropertyCompany,
            urgency: Urgency::Normal,
            channel: Channel::Web,
            attachments: Vec::new(),
        })
    }

    /// Two instances take turns on one stream: each one's remembered head
    /// goes out of date, yet every append chains onto the stored
    /// predecessor, and every answer's position is where the event is.
    async fn instances_take_turns(db: &Database) {
        let (a, b) = (log(db), log(db));
        let id = GrievanceId(Uuid::new_v4());
        let filer = Actor::new(AccountId(Uuid::new_v4()), Role::Resident);
        let branch = Actor::new(AccountId(Uuid::new_v4()), Role::PartyBranch);
        let steps = [
            (&a, filer, filing(id)),
            (&b, branch, GrievanceAction::AcceptGrievance),
            (
                &a,
                branch,
                GrievanceAction::TriageGrievance {
                    matter_class: MatterClass::Minor,
                    tier: Some(Tier::Xiaoqu),
                    party: PartyRole::PropertyCompany,
                },
            ),
            (
                &a,
                branch,
                GrievanceAction::AssignGrievance {
                    party: Some(PartyRole::PropertyCompany),
                    note: None,
                },
            ),
            (
                &b,
                branch,
                GrievanceAction::PauseDeadline {
                    reason: lianxi_domain::values::Reason::parse("等待材料").expect("reason"),
                },
            ),
            (&a, branch, GrievanceAction::ResumeDeadline),
        ];
        let mut version = 0;
        for (instance, actor, action) in steps {
            let committed = instance
                .execute(id, None, GrievanceCommand::new(actor, action), &metadata())
                .await
                .expect("command");
            let stored = db
                .position_of("grievance", &id.to_string(), committed.version as i64)
                .await
                .expect("position");
            assert!(stored.is_some());
            assert_eq!(committed.position, stored);
            version = committed.version;
        }
        let report = crate::audit::verify(db, None).await.expect("verify");
        assert!(report.ok, "{report:?}");
        assert_eq!(report.events as usize, version);
    }

    #[tokio::test]
    async fn instances_taking_turns_on_a_stream_keep_its_chain_whole_sqlite() {
        let dir = std::env::temp_dir().join(format!("lianxi-append-{}", Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("temporary directory");
        let url = format!("sqlite://{}", dir.join("lianxi.db").display());
        let db = Database::connect(&url, PoolSettings::default())
            .await
            .expect("open SQLite");
        db.migrate().await.expect("migrate");
        instances_take_turns(&db).await;
        db.close().await;
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// On PostgreSQL (when `LIANXI_TEST_DATABASE_URL` names a server) the
    /// answer's position comes from the append itself.
    #[tokio::test]
    async fn instances_taking_turns_on_a_stream_keep_its_chain_whole_postgres() {
        let Some(fresh) = FreshPostgres::create().await else {
            return;
        };
        instances_take_turns(&fresh.db).await;
        fresh.drop().await;
    }
}
