//! The deadline scheduler: every instance runs one, and each pass asks the
//! application layer to escalate what is due (`app::deadlines`).

use std::time::Duration;

use tokio::sync::watch;
use tracing::{debug, warn};

use crate::app::deadlines::{tick, tick_obligations};
use crate::app::AppState;

/// Runs a pass of [`tick`] and [`tick_obligations`] every `interval` until
/// `shutdown` turns true.
pub async fn run(state: AppState, interval: Duration, mut shutdown: watch::Receiver<bool>) {
    while !*shutdown.borrow() {
        match tick(&state).await {
            Ok(t) if t.escalated > 0 || t.skipped > 0 => debug!(?t, "deadline scheduler pass"),
            Ok(_) => {}
            Err(e) => warn!(error = %e, "deadline scheduler pass failed"),
        }
        match tick_obligations(&state).await {
            Ok(t) if t.escalated > 0 || t.skipped > 0 => debug!(?t, "obligation scheduler pass"),
            Ok(_) => {}
            Err(e) => warn!(error = %e, "obligation scheduler pass failed"),
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = shutdown.changed() => {}
        }
    }
}
