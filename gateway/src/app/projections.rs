//! The read models the service keeps: their runners, where each stands in
//! the event feed, and rebuilding them from the first event.

use std::sync::Arc;
use std::time::Duration;

use lianxi_projections::{checkpoint, feed, Projection, Runner, RunnerSettings, StoreError};

use super::AppState;

/// Every read model the service keeps.
pub fn all() -> Vec<Arc<dyn Projection>> {
    vec![
        Arc::new(lianxi_projections::grievance_list::GrievanceList),
        Arc::new(lianxi_projections::meetings::MeetingsAndCases),
        Arc::new(lianxi_projections::follow_ups::FollowUps),
        Arc::new(lianxi_projections::webhook_outbox::WebhookOutbox),
    ]
}

/// The runners of every projection, built for `state`'s store, woken by
/// one shared `LISTEN` connection, leading with advisory locks on one
/// shared lock connection (PostgreSQL) and reading the feed once for all.
pub fn runners(state: &AppState, settings: RunnerSettings) -> Vec<Runner> {
    let store = state.db.store();
    let elsewhere = lianxi_projections::runner::appends_elsewhere(&store);
    let locks = lianxi_projections::runner::shared_locks(&store);
    // The window holds a few batches, so that a runner a batch behind the
    // others still reads from it.
    let window = usize::try_from(settings.batch_size.max(1)).unwrap_or(500) * 4;
    let feed = lianxi_projections::shared_feed::SharedFeed::new(store.clone(), window);
    all()
        .into_iter()
        .map(|p| {
            let runner = Runner::new(store.clone(), p, settings, state.log.appended())
                .sharing_locks(locks.clone())
                .sharing_feed(feed.clone());
            match &elsewhere {
                Some(heard) => runner.hearing(heard.clone()),
                None => runner,
            }
        })
        .collect()
}

/// Where one projection stands.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Standing {
    pub name: String,
    /// Its checkpoint, as `transaction.global`.
    pub position: String,
    /// Events it moved past since it was last rebuilt.
    pub applied: i64,
    /// Events in the feed after its checkpoint.
    pub lag: i64,
    /// How long ago the oldest of them was recorded (0 when none).
    pub lag_ms: i64,
}

/// Where every projection stands, including one that never ran.
///
/// Reads only: a projection without a checkpoint row yet stands at the
/// feed's start, and nothing is written (a read-only role may ask).
pub async fn status(state: &AppState) -> Result<Vec<Standing>, StoreError> {
    let store = state.db.store();
    let mut kept = checkpoint::all(&store).await?;
    for projection in &all() {
        if !kept.iter().any(|c| c.name == projection.name()) {
            kept.push(checkpoint::Checkpoint {
                name: projection.name().to_owned(),
                position: Default::default(),
                events_applied: 0,
                epoch: 0,
            });
        }
    }
    let now = chrono::Utc::now();
    let mut out = Vec::new();
    for c in kept {
        let lag = feed::lag(&store, c.position).await?;
        out.push(Standing {
            position: super::reads::format_position(c.position),
            applied: c.events_applied,
            lag: lag.events,
            lag_ms: lag
                .oldest_recorded_at
                .map(|t| (now - t).num_milliseconds().max(0))
                .unwrap_or(0),
            name: c.name,
        });
    }
    Ok(out)
}

/// The names of every projection, in the order they are rebuilt.
pub fn names() -> Vec<String> {
    all().iter().map(|p| p.name().to_owned()).collect()
}

/// Whether `name` is a read model a rebuild goes through (the outboxes are
/// not).
pub fn is_read_model(name: &str) -> bool {
    all()
        .iter()
        .any(|p| p.name() == name && p.shadow().is_some())
}

/// Events in the feed: what a rebuild goes through.
pub async fn feed_length(state: &AppState) -> Result<u64, StoreError> {
    let lag = feed::lag(&state.db.store(), Default::default()).await?;
    Ok(lag.events.max(0) as u64)
}

/// How far a running rebuild has come: the events read so far by the
/// rebuild of `name`, or of every read model when `None` (`None` before it
/// began, or for a name that is not a read model).
pub async fn rebuild_progress(state: &AppState, name: Option<&str>) -> Option<u64> {
    let store = state.db.store();
    let mut least: Option<u64> = None;
    for projection in all() {
        if name.is_some_and(|n| n != projection.name()) {
            continue;
        }
        let Some(shadow) = projection.shadow() else {
            continue;
        };
        let at = checkpoint::load(&store, shadow.name()).await.ok()?;
        let read = at.events_applied.max(0) as u64;
        least = Some(least.map_or(read, |l| l.min(read)));
    }
    least
}

/// What a rebuild did to one projection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rebuilt {
    /// Rebuilt from this many events and swapped in.
    Swapped { name: String, events: u64 },
    /// Not a read model (the follow-up outbox): nothing to rebuild.
    NotAReadModel { name: String },
    /// Another rebuild held it for longer than we waited.
    StillRunning { name: String },
}

/// Rebuilds the read models (all, or the one named) from the first event
/// while the service keeps answering: in one pass over the feed for all of
/// them ([`lianxi_projections::rebuild`]). `None` when no projection has
/// that name.
pub async fn rebuild(
    state: &AppState,
    name: Option<&str>,
) -> Result<Option<Vec<Rebuilt>>, StoreError> {
    let chosen: Vec<_> = all()
        .into_iter()
        .filter(|p| name.is_none_or(|n| n == p.name()))
        .collect();
    if chosen.is_empty() {
        return Ok(None);
    }
    let models: Vec<_> = chosen
        .iter()
        .filter(|p| p.shadow().is_some())
        .cloned()
        .collect();
    let mut outcome = None;
    if !models.is_empty() {
        // Another rebuild may hold a shadow's lead (on SQLite, a stopped
        // one's lease runs out on its own): wait a little.
        let give_up = tokio::time::Instant::now() + Duration::from_secs(15);
        loop {
            let rebuilt = lianxi_projections::rebuild::rebuild(
                &state.db.store(),
                &models,
                RunnerSettings::default(),
            )
            .await?;
            match rebuilt {
                Some(events) => {
                    outcome = Some(events);
                    break;
                }
                None if tokio::time::Instant::now() < give_up => {
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
                None => break,
            }
        }
    }
    Ok(Some(
        chosen
            .iter()
            .map(|p| {
                let name = p.name().to_owned();
                match (p.shadow().is_some(), outcome) {
                    (false, _) => Rebuilt::NotAReadModel { name },
                    (true, Some(events)) => Rebuilt::Swapped { name, events },
                    (true, None) => Rebuilt::StillRunning { name },
                }
            })
            .collect(),
    ))
}
