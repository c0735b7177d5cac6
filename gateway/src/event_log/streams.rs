//! The streams of one aggregate type on either store: load one, or run one
//! command on it once (load, decide, append). Retries, metrics and error
//! wording belong to the callers (the event log, and the people service).
//!
//! A command may start from the state this process last saw of its stream
//! ([`Recent`]) instead of loading it: an append then succeeds only if the
//! stream is still at that version (the primary key refuses it otherwise, and
//! the caller retries on a fresh load), so a decision that is stored was
//! always taken on the current state. A refusal, a command with nothing to
//! do, or a version mismatch seen on a remembered state is taken again on a
//! fresh load before it is answered.

use std::collections::HashMap;
use std::sync::Arc;

use cqrs_es::event_sink::EventSink;
use cqrs_es::persist::{EventStoreAggregateContext, PersistedEventStore};
use cqrs_es::{Aggregate, AggregateError, EventStore};
use postgres_es::PostgresEventRepository;
use sqlite_es::SqliteEventRepository;

use lianxi_feed::Position;

use crate::db::{ChainedRepository, Database, Heads};

/// One aggregate type's streams, appended through the hash chain, with
/// what this process knows of the streams it appended to.
pub(crate) struct Streams<A: Aggregate> {
    store: Store<A>,
    heads: Arc<Heads>,
    recent: Recent<A>,
}

enum Store<A: Aggregate> {
    Postgres(PersistedEventStore<ChainedRepository<PostgresEventRepository>, A>),
    Sqlite(PersistedEventStore<ChainedRepository<SqliteEventRepository>, A>),
}

/// The state and version of the streams this process last ran commands on,
/// at most `capacity` of them (none: every command loads its stream).
pub(crate) struct Recent<A> {
    capacity: usize,
    states: std::sync::Mutex<HashMap<String, (A, usize)>>,
}

impl<A: Clone> Recent<A> {
    fn new(capacity: usize) -> Self {
        Self {
            capacity,
            states: std::sync::Mutex::default(),
        }
    }

    fn get(&self, key: &str) -> Option<(A, usize)> {
        let states = self.states.lock().unwrap_or_else(|e| e.into_inner());
        states.get(key).cloned()
    }

    fn put(&self, key: &str, state: A, version: usize) {
        if self.capacity == 0 {
            return;
        }
        let mut states = self.states.lock().unwrap_or_else(|e| e.into_inner());
        match states.get(key) {
            // A load that began before a command's append may end after it.
            Some((_, known)) if *known > version => return,
            Some(_) => {}
            None if states.len() >= self.capacity => {
                // Starting afresh costs each busy stream one load.
                states.clear();
            }
            None => {}
        }
        states.insert(key.to_owned(), (state, version));
    }

    fn forget(&self, key: &str) {
        let mut states = self.states.lock().unwrap_or_else(|e| e.into_inner());
        states.remove(key);
    }
}

/// Why one attempt did not commit.
#[derive(Debug)]
pub(crate) enum Attempt<E: std::error::Error> {
    /// The stream is not at the version the caller expected.
    Stale { expected: usize, current: usize },
    /// The aggregate refused, the append lost a race, or the store failed.
    Failed(AggregateError<E>),
}

impl<E: std::error::Error> From<AggregateError<E>> for Attempt<E> {
    fn from(e: AggregateError<E>) -> Self {
        Attempt::Failed(e)
    }
}

/// A committed attempt.
#[derive(Debug)]
pub(crate) struct Handled<A> {
    /// The state after the command.
    pub state: A,
    /// The stream's version before the command.
    pub version: usize,
    /// How many events the command appended (0: nothing to do).
    pub appended: usize,
}

impl<A: Aggregate + Clone> Streams<A> {
    /// Streams whose every command loads its stream.
    pub fn new(db: &Database) -> Self {
        Self::remembering(db, 0)
    }

    /// Streams that remember the state of up to `capacity` streams they ran
    /// commands on, to start the next command there.
    pub fn remembering(db: &Database, capacity: usize) -> Self {
        let heads = Arc::new(Heads::default());
        let store = match db {
            Database::Postgres(pool) => Store::Postgres(PersistedEventStore::new_event_store(
                ChainedRepository::remembering(
                    PostgresEventRepository::new(pool.clone()),
                    db.clone(),
                    heads.clone(),
                ),
            )),
            Database::Sqlite(pool) => Store::Sqlite(PersistedEventStore::new_event_store(
                ChainedRepository::remembering(
                    SqliteEventRepository::new(pool.clone()),
                    db.clone(),
                    heads.clone(),
                ),
            )),
        };
        Self {
            store,
            heads,
            recent: Recent::new(capacity),
        }
    }

    /// The feed position of event `sequence` of stream `key`, if this
    /// process appended it last (`None`: ask the store).
    pub fn known_position(&self, key: &str, sequence: i64) -> Option<Position> {
        self.heads.position(A::TYPE, key, sequence)
    }

    /// The state of stream `key` and its version (0: no events yet), loaded
    /// from the store.
    pub async fn load(&self, key: &str) -> Result<(A, usize), AggregateError<A::Error>> {
        let context = self.load_context(key).await?;
        Ok((context.aggregate, context.current_sequence))
    }

    /// The state of stream `key` this process last saw, else loaded: for a
    /// command about to run, whose append checks the version anyway. Whoever
    /// refuses on it must ask [`Streams::load`] before answering.
    pub async fn load_for_command(
        &self,
        key: &str,
    ) -> Result<(A, usize), AggregateError<A::Error>> {
        match self.recent.get(key) {
            Some(known) => Ok(known),
            None => self.load(key).await,
        }
    }

    async fn load_context(
        &self,
        key: &str,
    ) -> Result<EventStoreAggregateContext<A>, AggregateError<A::Error>> {
        let context = match &self.store {
            Store::Postgres(s) => s.load_aggregate(key).await?,
            Store::Sqlite(s) => s.load_aggregate(key).await?,
        };
        self.recent
            .put(key, context.aggregate.clone(), context.current_sequence);
        Ok(context)
    }

    async fn commit(
        &self,
        events: Vec<A::Event>,
        context: EventStoreAggregateContext<A>,
        metadata: HashMap<String, String>,
    ) -> Result<(), AggregateError<A::Error>> {
        match &self.store {
            Store::Postgres(s) => s.commit(events, context, metadata).await.map(drop),
            Store::Sqlite(s) => s.commit(events, context, metadata).await.map(drop),
        }
    }

    /// Runs `command` on stream `key` once: at version `expected` if given.
    pub async fn execute_once(
        &self,
        key: &str,
        expected: Option<usize>,
        command: A::Command,
        services: &A::Services,
        metadata: HashMap<String, String>,
    ) -> Result<Handled<A>, Attempt<A::Error>>
    where
        A::Command: Clone,
    {
        let remembered = match self.recent.get(key) {
            Some((aggregate, current_sequence)) => Some(EventStoreAggregateContext {
                aggregate_id: key.to_owned(),
                aggregate,
                current_sequence,
                current_snapshot: None,
            }),
            // A command creating its stream needs not look for it: were it
            // there, the append would lose on the primary key.
            None if expected == Some(0) => Some(EventStoreAggregateContext {
                aggregate_id: key.to_owned(),
                aggregate: A::default(),
                current_sequence: 0,
                current_snapshot: None,
            }),
            None => None,
        };
        if let Some(context) = remembered {
            match self
                .decide_and_commit(context, expected, command.clone(), services, &metadata)
                .await
            {
                Ok(handled) if handled.appended > 0 => return Ok(handled),
                Err(Attempt::Failed(AggregateError::AggregateConflict)) => {
                    self.recent.forget(key);
                    return Err(Attempt::Failed(AggregateError::AggregateConflict));
                }
                Err(e @ Attempt::Failed(AggregateError::DatabaseConnectionError(_)))
                | Err(e @ Attempt::Failed(AggregateError::UnexpectedError(_))) => {
                    self.recent.forget(key);
                    return Err(e);
                }
                // Nothing to do, refused, or another version: decided on
                // what may be out of date, so decided again on a fresh load.
                _ => {}
            }
        }
        let context = self.load_context(key).await?;
        self.decide_and_commit(context, expected, command, services, &metadata)
            .await
    }

    async fn decide_and_commit(
        &self,
        context: EventStoreAggregateContext<A>,
        expected: Option<usize>,
        command: A::Command,
        services: &A::Services,
        metadata: &HashMap<String, String>,
    ) -> Result<Handled<A>, Attempt<A::Error>> {
        let current = context.current_sequence;
        if let Some(expected) = expected {
            if expected != current {
                return Err(Attempt::Stale { expected, current });
            }
        }
        let mut state = context.aggregate.clone();
        let sink = EventSink::default();
        state
            .handle(command, services, &sink)
            .await
            .map_err(|e| Attempt::Failed(AggregateError::UserError(e)))?;
        let events = sink.collect().await;
        let appended = events.len();
        if appended > 0 {
            let key = context.aggregate_id.clone();
            if let Err(e) = self.commit(events, context, metadata.clone()).await {
                self.recent.forget(&key);
                return Err(e.into());
            }
            self.recent.put(&key, state.clone(), current + appended);
        }
        Ok(Handled {
            state,
            version: current,
            appended,
        })
    }
}
