//! Executing commands against the event log: load the stream, let the
//! aggregate decide, append with optimistic concurrency, retry on conflict.

use std::collections::HashMap;
use std::time::Duration;

use cqrs_es::{Aggregate, AggregateError};
use lianxi_domain::values::GrievanceId;
use lianxi_domain::{
    Actor, Grievance, GrievanceAction, GrievanceCommand, GrievanceError, GrievanceServices,
};
use lianxi_projections::{trace_context, Position};
use rand::Rng;
use tokio::sync::watch;
use tracing::{debug, warn, Instrument};

use crate::db::Database;
use crate::streams::{Attempt, Streams};

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
    map
}

/// A command's outcome after commit.
#[derive(Clone, Debug)]
pub struct Committed {
    pub state: Grievance,
    /// The stream's last sequence number after the command.
    pub version: usize,
    /// How many events the command appended (0 for an idempotent no-op).
    pub appended: usize,
    /// Feed position of the stream's last event: read models that reached it
    /// reflect this command.
    pub position: Option<Position>,
}

#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error(transparent)]
    Domain(#[from] GrievanceError),
    #[error("the grievance is at version {current}, not the expected {expected}")]
    Stale { expected: usize, current: usize },
    #[error("the grievance kept changing; retries exhausted")]
    Conflict,
    #[error("the event store is unreachable: {0}")]
    Unavailable(String),
    #[error("event store: {0}")]
    Store(String),
}

impl From<AggregateError<GrievanceError>> for CommandError {
    fn from(e: AggregateError<GrievanceError>) -> Self {
        match e {
            AggregateError::UserError(e) => CommandError::Domain(e),
            AggregateError::AggregateConflict => CommandError::Conflict,
            AggregateError::DatabaseConnectionError(e) => CommandError::Unavailable(e.to_string()),
            other => CommandError::Store(other.to_string()),
        }
    }
}

impl From<Attempt<GrievanceError>> for CommandError {
    fn from(e: Attempt<GrievanceError>) -> Self {
        match e {
            Attempt::Stale { expected, current } => CommandError::Stale { expected, current },
            Attempt::Failed(e) => e.into(),
        }
    }
}

/// The grievance event log on either store.
pub struct EventLog {
    store: Streams<Grievance>,
    db: Database,
    services: GrievanceServices,
    retry: RetryPolicy,
    /// Bumped after every append: wakes this instance's projection runners.
    appended: watch::Sender<u64>,
    /// Commands on one stream take turns within this process (striped by
    /// stream id), so they do not race each other into version conflicts;
    /// conflicts remain only between instances.
    turns: Vec<tokio::sync::Mutex<()>>,
}

/// How many stripes of per-stream turns a process keeps.
const TURN_STRIPES: usize = 1024;

impl std::fmt::Debug for EventLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventLog")
            .field("retry", &self.retry)
            .finish()
    }
}

impl EventLog {
    pub fn new(db: &Database, services: GrievanceServices, retry: RetryPolicy) -> Self {
        Self {
            store: Streams::new(db),
            db: db.clone(),
            services,
            retry,
            appended: watch::Sender::new(0),
            turns: (0..TURN_STRIPES)
                .map(|_| tokio::sync::Mutex::new(()))
                .collect(),
        }
    }

    /// A receiver that changes whenever this log appended events.
    pub fn appended(&self) -> watch::Receiver<u64> {
        self.appended.subscribe()
    }

    pub fn services(&self) -> &GrievanceServices {
        &self.services
    }

    /// The current state and version (0 when nothing was filed under `id`).
    pub async fn load(&self, id: GrievanceId) -> Result<(Grievance, usize), CommandError> {
        Ok(self.store.load(&id.to_string()).await?)
    }

    /// Runs `command` on grievance `id`.
    ///
    /// With `expected`, the command applies only to that version (else
    /// `Stale`). Without it, a lost race re-runs the command on the new state,
    /// which is safe because the aggregate re-checks every rule there.
    pub async fn execute(
        &self,
        id: GrievanceId,
        expected: Option<usize>,
        command: GrievanceCommand,
        metadata: &CommandMetadata,
    ) -> Result<Committed, CommandError> {
        let command_name = command.action.name();
        let span = tracing::info_span!(
            "command",
            otel.name = %format!("command {command_name}"),
            command = command_name,
            grievance_id = %id,
            outcome = tracing::field::Empty,
        );
        let key = id.to_string();
        let map = metadata_map(&command.actor, command_name, metadata, &span);
        let escalation = match &command.action {
            GrievanceAction::EscalateGrievance { reason, .. } => Some(wire_name(reason)),
            GrievanceAction::EscalateOnMissedDeadline { .. } => Some("deadline_missed".to_owned()),
            _ => None,
        };
        let result = self
            .execute_with_retries(id, key, expected, command, map)
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
        id: GrievanceId,
        key: String,
        expected: Option<usize>,
        command: GrievanceCommand,
        map: HashMap<String, String>,
    ) -> Result<Committed, CommandError> {
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
                    metrics::counter!("lianxi_command_conflicts_total", "command" => command.action.name())
                        .increment(1);
                    let delay = self.retry.base_delay * attempt;
                    let jitter = rand::rng().random_range(Duration::ZERO..=delay);
                    debug!(attempt, ?jitter, "version conflict; re-running the command");
                    tokio::time::sleep(delay / 2 + jitter).await;
                }
                Err(CommandError::Conflict) if expected.is_some() => {
                    // Someone else appended after the caller read its version.
                    let (_, current) = self.load(id).await?;
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
                    committed.position = self
                        .db
                        .position_of(
                            <Grievance as Aggregate>::TYPE,
                            &key,
                            committed.version as i64,
                        )
                        .await
                        .map_err(|e| CommandError::Store(e.to_string()))?;
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
