//! Building the application state and serving it until shutdown.

use std::future::Future;
use std::sync::Arc;

use lianxi_domain::{GrievancePolicy, GrievanceServices, SystemClock};
use tokio::net::TcpListener;

use crate::api::{app, AppState};
use crate::db::Database;
use crate::event_log::{EventLog, RetryPolicy};

/// The state for a real server: system clock, default policy.
pub fn state(db: Database) -> AppState {
    let services = GrievanceServices::new(Arc::new(SystemClock), GrievancePolicy::default());
    AppState {
        log: Arc::new(EventLog::new(&db, services, RetryPolicy::default())),
        db,
    }
}

/// Serves `state` on `listener` until `shutdown` completes; in-flight
/// requests are allowed to finish.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown)
        .await
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
