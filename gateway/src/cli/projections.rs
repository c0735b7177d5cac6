//! `lianxi projections status|rebuild`: where each read model stands in the
//! event feed, and rebuilding them from the first event.

use lianxi_gateway::app::projections::{self, Rebuilt};
use lianxi_gateway::db::Database;
use lianxi_gateway::server;

use super::error::CliError;

impl Projections {
    /// Whether the subcommand only reads (and so needs no migration).
    pub fn reads_only(&self) -> bool {
        matches!(self, Projections::Status { .. })
    }
}

/// The subcommands of `lianxi projections`.
#[derive(Debug, clap::Subcommand)]
pub enum Projections {
    /// Each projection's position in the event feed and how far behind it
    /// is. Reads only: a read-only database role may run it.
    Status {
        /// Print a JSON array instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Rebuild read models from the first event (all, or the one named).
    Rebuild {
        /// A projection name, as listed by `status`.
        name: Option<String>,
    },
}

/// Runs one `projections` subcommand.
pub async fn run(db: &Database, command: Projections) -> Result<(), CliError> {
    match command {
        Projections::Status { json } => status(db, json).await,
        Projections::Rebuild { name } => rebuild(db, name).await,
    }
}

async fn status(db: &Database, json: bool) -> Result<(), CliError> {
    let state = server::state(db.clone());
    if json {
        let standing = projections::status(&state).await?;
        println!("{}", serde_json::to_string_pretty(&standing)?);
        return Ok(());
    }
    println!(
        "{:<20} {:>14} {:>12} {:>10} {:>10}",
        "projection", "position", "applied", "lag", "lag_ms"
    );
    for s in projections::status(&state).await? {
        println!(
            "{:<20} {:>14} {:>12} {:>10} {:>10}",
            s.name, s.position, s.applied, s.lag, s.lag_ms
        );
    }
    Ok(())
}

async fn rebuild(db: &Database, name: Option<String>) -> Result<(), CliError> {
    let state = server::state(db.clone());
    if let Some(name) = &name {
        if !projections::names().contains(name) {
            return Err(CliError::NoProjection(name.clone()));
        }
    }
    let total = projections::feed_length(&state).await?;
    // All read models in one pass, with one bar on a terminal.
    let watched = state.clone();
    let which = name.clone();
    let bar = name
        .as_deref()
        .is_none_or(projections::is_read_model)
        .then(|| {
            let label = name.as_deref().unwrap_or("read models");
            super::progress::follow(label, total, move || {
                let (state, which) = (watched.clone(), which.clone());
                async move { projections::rebuild_progress(&state, which.as_deref()).await }
            })
        })
        .flatten();
    let rebuilt = projections::rebuild(&state, name.as_deref()).await;
    super::progress::finish(bar);
    for rebuilt in rebuilt?.unwrap_or_default() {
        match rebuilt {
            Rebuilt::Swapped { name, events } => {
                println!("{name}: rebuilt from {events} events and swapped in");
            }
            Rebuilt::NotAReadModel { name } => {
                // The follow-up outbox: what it held was delivered.
                println!("{name}: not a read model; nothing to rebuild");
            }
            Rebuilt::StillRunning { name } => return Err(CliError::RebuildRunning(name)),
        }
    }
    Ok(())
}
