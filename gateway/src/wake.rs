//! Telling the projection runners of every instance that this one appended.
//!
//! On PostgreSQL each instance announces its appends with `NOTIFY
//! lianxi_events`, which the runners `LISTEN` to. The announcement is its own
//! statement, after the appends committed, and at most one per
//! [`ANNOUNCE_EVERY`]: a `NOTIFY` inside an append's transaction would hold
//! PostgreSQL's notification lock until that commit is flushed, so appends
//! could no longer share a WAL flush. The runners of this instance are also
//! woken directly, and every runner polls as well, so a lost announcement
//! costs at most a poll interval. SQLite serves one instance: nothing to
//! announce.

use std::time::Duration;

use lianxi_feed::feed::WAKE_CHANNEL;
use tokio::sync::watch;
use tracing::debug;

use crate::db::Database;

/// Appends within this long of an announcement share the next one.
pub const ANNOUNCE_EVERY: Duration = Duration::from_millis(5);

/// Announces every change of `appended` until `stop` turns true (or every
/// log is gone).
pub async fn announce(
    db: Database,
    mut appended: watch::Receiver<u64>,
    mut stop: watch::Receiver<bool>,
) {
    let Database::Postgres(pool) = db else {
        return;
    };
    loop {
        tokio::select! {
            changed = appended.changed() => {
                if changed.is_err() {
                    return;
                }
            }
            _ = stop.changed() => {}
        }
        if *stop.borrow() {
            return;
        }
        if let Err(e) = sqlx::query("SELECT pg_notify($1, '')")
            .bind(WAKE_CHANNEL)
            .execute(&pool)
            .await
        {
            // The runners poll; the next append announces again.
            debug!(error = %e, "cannot announce appends");
        }
        tokio::time::sleep(ANNOUNCE_EVERY).await;
    }
}
