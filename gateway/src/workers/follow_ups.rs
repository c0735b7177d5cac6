//! The worker making grievances follow their mediation cases and joint
//! meetings: every instance runs one, and each pass works off the pending
//! follow-ups through the application layer (`app::follow_ups`).

use std::time::Duration;

use tokio::sync::watch;
use tracing::{debug, warn};

use crate::app::follow_ups::tick;
use crate::app::AppState;

/// Runs [`tick`] every `interval` until `shutdown` turns true.
pub async fn run(app: AppState, interval: Duration, mut shutdown: watch::Receiver<bool>) {
    while !*shutdown.borrow() {
        match tick(&app).await {
            Ok(p) if p.rows > 0 => debug!(?p, "follow-up pass"),
            Ok(_) => {}
            Err(e) => warn!(error = %e, "follow-up pass failed"),
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = shutdown.changed() => {}
        }
    }
}
