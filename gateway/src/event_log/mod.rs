//! Executing commands against the event log: load the stream, let the
//! aggregate decide, append with optimistic concurrency, retry on conflict.
//! One [`Log`] per aggregate type: grievances ([`EventLog`]), mediation cases
//! ([`CaseLog`]) and joint meetings ([`MeetingLog`]).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use cqrs_es::{Aggregate, AggregateError};
use lianxi_domain::mediation::{MediationCase, MediationCommand, MediationError};
use lianxi_domain::meeting::{JointMeeting, MeetingCommand, MeetingError};
use lianxi_domain::{Actor, Grievance, GrievanceAction, GrievanceCommand, GrievanceError};
use lianxi_feed::{trace_context, Position};
use rand::Rng;
use tokio::sync::watch;
use tracing::{debug, warn, Instrument};

use crate::db::Database;
pub(crate) mod streams;

use streams::{Attempt, Streams};

/// How often a command is re-run on fresh state after losing a race.
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    pub attempts: u32,
    pub base_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 12,
            base_delay: Duration::from_millis(4),
        }
    }
}

/// Who, why and under which request an event was written; stored as metadata.
#[derive(Clone, Debug)]
pub struct CommandMetadata {
    pub request_id: String,
    pub occurred_at: chrono::DateTime<chrono::Utc>,
    pub reason: Option<String>,
}

/// The metadata stored with a command's events: who, which command, under
/// which request, when and why, and the command span's trace context.
pub(crate) fn metadata_map(
    actor: &Actor,
    command: &str,
    metadata: &CommandMetadata,
    span: &tracing::Span,
) -> HashMap<String, String> {
    let mut map = HashMap::from([
        ("actor".to_owned(), actor.account.to_string()),
        ("role".to_owned(), actor.role.as_str().to_owned()),
        ("command".to_owned(), command.to_owned()),
        ("request_id".to_owned(), metadata.request_id.clone()),
        ("occurred_at".to_owned(), metadata.occurred_at.to_rfc3339()),
    ]);
    if let Some(reason) = &metadata.reason {
        map.insert("reason".to_owned(), reason.clone());
    }
    if let Some(traceparent) = trace_context::traceparent_of(span) {
        map.insert(trace_context::METADATA_KEY.to_owned(), traceparent);
    }
    if let Ok(key) = IDEMPOTENCY_KEY.try_with(Clone::clone) {
        map.insert(IDEMPOTENCY_METADATA_KEY.to_owned(), key);
    }
    map
}

pub use crate::db::IDEMPOTENCY_METADATA_KEY;

tokio::task_local! {
    /// The scoped hash of the idempotency key of the request being served.
    static IDEMPOTENCY_KEY: String;
}

/// Runs `f` so that every command it executes writes `key_hash` into its
/// events' metadata, where the append finds it and marks the key committed
/// in the events' own transaction (see `api::idempotency`). A task-local
/// rather than a `CommandMetadata` field, so that no handler has to pass it
/// on; commands executed in a spawned task would not carry it.
pub async fn with_idempotency_key<F: std::future::Future>(key_hash: String, f: F) -> F::Output {
    IDEMPOTENCY_KEY.scope(key_hash, f).await
}

/// What the log needs to know of a command: who issues it and its name.
pub trait LoggedCommand: Clone + Send + Sync {
    fn actor(&self) -> Actor;
    /// The action's wire name (`accept`, `propose`, …): metrics, spans, metadata.
    fn name(&self) -> &'static str;
    /// The escalation reason's wire name, if the command escalates.
    fn escalation(&self) -> Option<String> {
        None
    }
}

impl LoggedCommand for GrievanceCommand {
    fn actor(&self) -> Actor {
        self.actor
    }
    fn name(&self) -> &'static str {
        self.action.name()
    }
    fn escalation(&self) -> Option<String> {
        match &self.action {
            GrievanceAction::EscalateGrievance { reason, .. } => Some(wire_name(reason)),
            GrievanceAction::EscalateOnMissedDeadline { .. } => Some("deadline_missed".to_owned()),
            _ => None,
        }
    }
}

impl LoggedCommand for MediationCommand {
    fn actor(&self) -> Actor {
        self.actor
    }
    fn name(&self) -> &'static str {
        self.action.name()
    }
}

impl LoggedCommand for lianxi_domain::registry::RegistryCommand {
    fn actor(&self) -> Actor {
        self.actor
    }
    fn name(&self) -> &'static str {
        self.action.name()
    }
}

impl LoggedCommand for lianxi_domain::ledger::ExportCommand {
    fn actor(&self) -> Actor {
        self.actor
    }
    fn name(&self) -> &'static str {
        self.action.name()
    }
}

impl LoggedCommand for MeetingCommand {
    fn actor(&self) -> Actor {
        self.actor
    }
    fn name(&self) -> &'static str {
        self.action.name()
    }
}

/// A command's outcome after commit.
#[derive(Clone, Debug)]
pub struct Committed<A = Grievance> {
    pub state: A,
    /// The stream's last sequence number after the command.
    pub version: usize,
    /// How many events the command appended (0 for an idempotent no-op).
    pub appended: usize,
    /// Feed position of the stream's last event: read models that reached it
    /// reflect this command.
    pub position: Option<Position>,
}

#[derive(Debug, thiserror::Error)]
pub enum CommandError<E: std::error::Error = GrievanceError> {
    #[error(transparent)]
    Domain(E),
    #[error("the stream is at version {current}, not the expected {expected}")]
    Stale { expected: usize, current: usize },
    #[error("the stream kept changing; retries exhausted")]
    Conflict,
    #[error("the event store is unreachable: {0}")]
    Unavailable(String),
    #[error("event store: {0}")]
    Store(String),
}

impl<E: std::error::Error> From<AggregateError<E>> for CommandError<E> {
    fn from(e: AggregateError<E>) -> Self {
        match e {
            AggregateError::UserError(e) => CommandError::Domain(e),
            AggregateError::AggregateConflict => CommandError::Conflict,
            AggregateError::DatabaseConnectionError(e) => CommandError::Unavailable(e.to_string()),
            AggregateError::UnexpectedError(e) if crate::db::caused_by_unavailable(e.as_ref()) => {
                CommandError::Unavailable(e.to_string())
            }
            other => CommandError::Store(other.to_string()),
        }
    }
}

impl<E: std::error::Error> From<Attempt<E>> for CommandError<E> {
    fn from(e: Attempt<E>) -> Self {
        match e {
            Attempt::Stale { expected, current } => CommandError::Stale { expected, current },
            Attempt::Failed(e) => e.into(),
        }
    }
}

/// The grievance event log.
pub type EventLog = Log<Grievance>;
/// The mediation case event log.
pub type CaseLog = Log<MediationCase>;
/// The joint meeting event log.
pub type MeetingLog = Log<JointMeeting>;

/// Errors of commands on mediation cases.
pub type CaseCommandError = CommandError<MediationError>;
/// Errors of commands on joint meetings.
pub type MeetingCommandError = CommandError<MeetingError>;

/// One aggregate type's event log on either store.
pub struct Log<A: Aggregate> {
    store: Streams<A>,
    db: Database,
    services: A::Services,
    retry: RetryPolicy,
    /// Bumped after every append, by every log of the process: wakes this
    /// instance's projection runners.
    appended: Arc<watch::Sender<u64>>,
    /// Commands on one stream take turns within this process (striped by
    /// stream id), so they do not race each other into version conflicts;
    /// conflicts remain only between instances.
    turns: Vec<tokio::sync::Mutex<()>>,
}

/// How many stripes of per-stream turns a process keeps.
const TURN_STRIPES: usize = 1024;

/// Of how many streams a log remembers the state its last command left, to
/// run the next command there without loading the stream (see
/// [`streams`]).
const REMEMBERED_STREAMS: usize = 4096;

impl<A: Aggregate> std::fmt::Debug for Log<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Log")
            .field("aggregate", &A::TYPE)
            .field("retry", &self.retry)
            .finish()
    }
}

impl<A> Log<A>
where
    A: Aggregate + Clone,
    A::Command: LoggedCommand,
{
    /// A log of its own; its appends wake only its own receivers.
    pub fn new(db: &Database, services: A::Services, retry: RetryPolicy) -> Self {
        Self::sharing(db, services, retry, Arc::new(watch::Sender::new(0)))
    }

    /// A log whose appends bump `appended`, shared with the other logs.
    pub fn sharing(
        db: &Database,
        services: A::Services,
        retry: RetryPolicy,
        appended: Arc<watch::Sender<u64>>,
    ) -> Self {
        Self {
            store: Streams::remembering(db, REMEMBERED_STREAMS),
            db: db.clone(),
            services,
            retry,
            appended,
            turns: (0..TURN_STRIPES)
                .map(|_| tokio::sync::Mutex::new(()))
                .collect(),
        }
    }

    /// A receiver that changes whenever this log appended events.
    pub fn appended(&self) -> watch::Receiver<u64> {
        self.appended.subscribe()
    }

    /// The sender the log bumps after appending, to share with other logs.
    pub fn appended_sender(&self) -> Arc<watch::Sender<u64>> {
        self.appended.clone()
    }

    pub fn services(&self) -> &A::Services {
        &self.services
    }

    /// The current state and version (0 when the stream `id` has no events).
    pub async fn load(
        &self,
        id: impl std::fmt::Display,
    ) -> Result<(A, usize), CommandError<A::Error>> {
        Ok(self.store.load(&id.to_string()).await?)
    }

    /// The state and version a command on stream `id` will start from: what
    /// this process last saw of it, else loaded. It may be out of date (if
    /// another instance appended since); a command run on it is checked
    /// against the store, but a refusal taken on it must be confirmed by
    /// [`Log::load`].
    pub async fn load_for_command(
        &self,
        id: impl std::fmt::Display,
    ) -> Result<(A, usize), CommandError<A::Error>> {
        Ok(self.store.load_for_command(&id.to_string()).await?)
    }

    /// Runs `command` on stream `id`.
    ///
    /// With `expected`, the command applies only to that version (else
    /// `Stale`). Without it, a lost race re-runs the command on the new state,
    /// which is safe because the aggregate re-checks every rule there.
    pub async fn execute(
        &self,
        id: impl std::fmt::Display,
        expected: Option<usize>,
        command: A::Command,
        metadata: &CommandMetadata,
    ) -> Result<Committed<A>, CommandError<A::Error>> {
        let command_name = command.name();
        let key = id.to_string();
        let span = tracing::info_span!(
            "command",
            otel.name = %format!("command {command_name}"),
            command = command_name,
            aggregate = A::TYPE,
            stream = %key,
            outcome = tracing::field::Empty,
        );
        let map = metadata_map(&command.actor(), command_name, metadata, &span);
        let escalation = command.escalation();
        let result = self
            .execute_with_retries(key, expected, command, map)
            .instrument(span.clone())
            .await;
        let outcome = match &result {
            Ok(c) if c.appended == 0 => "unchanged",
            Ok(_) => "applied",
            Err(CommandError::Domain(_)) => "refused",
            Err(CommandError::Stale { .. }) => "stale",
            Err(CommandError::Conflict) => "conflict",
            Err(CommandError::Store(_) | CommandError::Unavailable(_)) => "error",
        };
        span.record("outcome", outcome);
        metrics::counter!("lianxi_commands_total", "command" => command_name, "outcome" => outcome)
            .increment(1);
        if let (Some(reason), Ok(c)) = (escalation, &result) {
            if c.appended > 0 {
                metrics::counter!("lianxi_escalations_total", "reason" => reason).increment(1);
            }
        }
        result
    }

    async fn execute_with_retries(
        &self,
        key: String,
        expected: Option<usize>,
        command: A::Command,
        map: HashMap<String, String>,
    ) -> Result<Committed<A>, CommandError<A::Error>> {
        let stripe = {
            use std::hash::{Hash, Hasher};
            let mut hasher = std::collections::hash_map::DefaultHasher::new();
            key.hash(&mut hasher);
            hasher.finish() as usize % TURN_STRIPES
        };
        let _turn = self.turns[stripe].lock().await;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let outcome = self
                .store
                .execute_once(&key, expected, command.clone(), &self.services, map.clone())
                .await
                .map(|h| Committed {
                    state: h.state,
                    version: h.version + h.appended,
                    appended: h.appended,
                    position: None,
                })
                .map_err(CommandError::from);
            match outcome {
                Err(CommandError::Conflict)
                    if expected.is_none() && attempt < self.retry.attempts =>
                {
                    metrics::counter!("lianxi_command_conflicts_total", "command" => command.name())
                        .increment(1);
                    let delay = self.retry.base_delay * attempt;
                    let jitter = rand::rng().random_range(Duration::ZERO..=delay);
                    debug!(attempt, ?jitter, "version conflict; re-running the command");
                    tokio::time::sleep(delay / 2 + jitter).await;
                }
                Err(CommandError::Conflict) if expected.is_some() => {
                    // Someone else appended after the caller read its version.
                    let (_, current) = self.load(&key).await?;
                    return Err(CommandError::Stale {
                        expected: expected.unwrap_or_default(),
                        current,
                    });
                }
                Err(CommandError::Conflict) => {
                    warn!(
                        attempts = attempt,
                        "version conflicts exhausted the retries"
                    );
                    return Err(CommandError::Conflict);
                }
                Ok(mut committed) => {
                    if committed.appended > 0 {
                        self.appended.send_modify(|n| *n = n.wrapping_add(1));
                    }
                    let version = committed.version as i64;
                    committed.position = match self.store.known_position(&key, version) {
                        Some(position) => Some(position),
                        None => self
                            .db
                            .position_of(A::TYPE, &key, version)
                            .await
                            .map_err(|e| CommandError::Store(e.to_string()))?,
                    };
                    return Ok(committed);
                }
                Err(e) => return Err(e),
            }
        }
    }
}

/// A domain enum's wire name (`filer_request`, …), for metric labels.
fn wire_name<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => "other".to_owned(),
    }
}
