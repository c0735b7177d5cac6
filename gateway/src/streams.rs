//! The streams of one aggregate type on either store: load one, or run one
//! command on it once (load, decide, append). Retries, metrics and error
//! wording belong to the callers ([`crate::event_log`], [`crate::people`]).

use std::collections::HashMap;
use std::sync::Arc;

use cqrs_es::event_sink::EventSink;
use cqrs_es::persist::{EventStoreAggregateContext, PersistedEventStore};
use cqrs_es::{Aggregate, AggregateError, EventStore};
use postgres_es::PostgresEventRepository;
use sqlite_es::SqliteEventRepository;

use lianxi_projections::Position;

use crate::db::{ChainedRepository, Database, Heads};

/// One aggregate type's streams, appended through the hash chain, with
/// what this process knows of the streams it appended to.
pub(crate) enum Streams<A: Aggregate> {
    Postgres(
        PersistedEventStore<ChainedRepository<PostgresEventRepository>, A>,
        Arc<Heads>,
    ),
    Sqlite(
        PersistedEventStore<ChainedRepository<SqliteEventRepository>, A>,
        Arc<Heads>,
    ),
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
    pub fn new(db: &Database) -> Self {
        let heads = Arc::new(Heads::default());
        match db {
            Database::Postgres(pool) => Streams::Postgres(
                PersistedEventStore::new_event_store(ChainedRepository::remembering(
                    PostgresEventRepository::new(pool.clone()),
                    db.clone(),
                    heads.clone(),
                )),
                heads,
            ),
            Database::Sqlite(pool) => Streams::Sqlite(
                PersistedEventStore::new_event_store(ChainedRepository::remembering(
                    SqliteEventRepository::new(pool.clone()),
                    db.clone(),
                    heads.clone(),
                )),
                heads,
            ),
        }
    }

    /// The feed position of event `sequence` of stream `key`, if this
    /// process appended it last (`None`: ask the store).
    pub fn known_position(&self, key: &str, sequence: i64) -> Option<Position> {
        let heads = match self {
            Streams::Postgres(_, heads) | Streams::Sqlite(_, heads) => heads,
        };
        heads.position(A::TYPE, key, sequence)
    }

    /// The state of stream `key` and its version (0: no events yet).
    pub async fn load(&self, key: &str) -> Result<(A, usize), AggregateError<A::Error>> {
        let context = match self {
            Streams::Postgres(s, _) => s.load_aggregate(key).await?,
            Streams::Sqlite(s, _) => s.load_aggregate(key).await?,
        };
        Ok((context.aggregate, context.current_sequence))
    }

    /// Runs `command` on stream `key` once: at version `expected` if given.
    pub async fn execute_once(
        &self,
        key: &str,
        expected: Option<usize>,
        command: A::Command,
        services: &A::Services,
        metadata: HashMap<String, String>,
    ) -> Result<Handled<A>, Attempt<A::Error>> {
        match self {
            Streams::Postgres(s, _) => {
                execute_on(s, key, expected, command, services, metadata).await
            }
            Streams::Sqlite(s, _) => {
                execute_on(s, key, expected, command, services, metadata).await
            }
        }
    }
}

async fn execute_on<A, ES>(
    store: &ES,
    key: &str,
    expected: Option<usize>,
    command: A::Command,
    services: &A::Services,
    metadata: HashMap<String, String>,
) -> Result<Handled<A>, Attempt<A::Error>>
where
    A: Aggregate + Clone,
    ES: EventStore<A, AC = EventStoreAggregateContext<A>>,
{
    let context = store.load_aggregate(key).await?;
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
        store.commit(events, context, metadata).await?;
    }
    Ok(Handled {
        state,
        version: current,
        appended,
    })
}
