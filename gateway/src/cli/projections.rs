//! `lianxi projections status|rebuild`: where each read model stands in the
//! event feed, and rebuilding them from the first event.

use std::time::Duration;

use lianxi_gateway::db::Database;
use lianxi_gateway::server;
use lianxi_projections::{checkpoint, feed, Runner, RunnerSettings};

use super::error::CliError;

/// The subcommands of `lianxi projections`.
#[derive(Debug, clap::Subcommand)]
pub enum Projections {
    /// Each projection's position in the event feed and how far behind it is.
    Status,
    /// Rebuild read models from the first event (all, or the one named).
    Rebuild {
        /// A projection name, as listed by `status`.
        name: Option<String>,
    },
}

/// Runs one `projections` subcommand.
pub async fn run(db: &Database, command: Projections) -> Result<(), CliError> {
    match command {
        Projections::Status => status(db).await,
        Projections::Rebuild { name } => rebuild(db, name).await,
    }
}

async fn status(db: &Database) -> Result<(), CliError> {
    let store = db.store();
    // A projection that never ran has no checkpoint row yet; list it anyway.
    for projection in &server::projections() {
        checkpoint::ensure(&store, projection.name()).await?;
    }
    println!(
        "{:<20} {:>14} {:>12} {:>10} {:>10}",
        "projection", "position", "applied", "lag", "lag_ms"
    );
    let now = chrono::Utc::now();
    for c in checkpoint::all(&store).await? {
        let lag = feed::lag(&store, c.position).await?;
        let lag_ms = lag
            .oldest_recorded_at
            .map(|t| (now - t).num_milliseconds().max(0))
            .unwrap_or(0);
        println!(
            "{:<20} {:>14} {:>12} {:>10} {:>10}",
            c.name,
            format!(
                "{}.{}",
                c.position.transaction_id, c.position.global_position
            ),
            c.events_applied,
            lag.events,
            lag_ms
        );
    }
    Ok(())
}

async fn rebuild(db: &Database, name: Option<String>) -> Result<(), CliError> {
    let store = db.store();
    let chosen: Vec<_> = server::projections()
        .into_iter()
        .filter(|p| name.as_deref().is_none_or(|n| n == p.name()))
        .collect();
    if chosen.is_empty() {
        return Err(CliError::NoProjection(name.unwrap_or_default()));
    }
    let (_wake, woken) = tokio::sync::watch::channel(0u64);
    for projection in chosen {
        let name = projection.name().to_owned();
        if projection.shadow().is_none() {
            // The follow-up outbox: what it held was delivered.
            println!("{name}: not a read model; nothing to rebuild");
            continue;
        }
        let runner = Runner::new(
            store.clone(),
            projection,
            RunnerSettings::default(),
            woken.clone(),
        );
        // Another rebuild may hold the shadow's lead (on SQLite, a
        // stopped one's lease runs out on its own): wait a little.
        let give_up = tokio::time::Instant::now() + Duration::from_secs(15);
        loop {
            match runner.rebuild().await? {
                Some(n) => {
                    println!("{name}: rebuilt from {n} events and swapped in");
                    break;
                }
                None if tokio::time::Instant::now() < give_up => {
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
                None => return Err(CliError::RebuildRunning(name)),
            }
        }
    }
    Ok(())
}
