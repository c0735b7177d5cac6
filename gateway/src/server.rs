//! Building the service (state plus projection runners) and serving it
//! until shutdown.

use std::future::Future;
use std::sync::Arc;

use lianxi_domain::{GrievancePolicy, GrievanceServices, SystemClock};
use lianxi_projections::{Projection, Runner, RunnerSettings};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::api::{app, AppState};
use crate::db::Database;
use crate::event_log::{EventLog, RetryPolicy};

/// Every read model the service keeps.
pub fn projections() -> Vec<Arc<dyn Projection>> {
    vec![Arc::new(lianxi_projections::grievance_list::GrievanceList)]
}

/// The state for a real server: system clock, default policy.
pub fn state(db: Database) -> AppState {
    let services = GrievanceServices::new(Arc::new(SystemClock), GrievancePolicy::default());
    AppState {
        log: Arc::new(EventLog::new(&db, services, RetryPolicy::default())),
        db,
    }
}

/// The runners of every projection, built for `state`'s store.
pub fn runners(state: &AppState, settings: RunnerSettings) -> Vec<Runner> {
    projections()
        .into_iter()
        .map(|p| Runner::new(state.db.store(), p, settings, state.log.appended()))
        .collect()
}

/// A running service: the state handlers use and the background runners.
#[derive(Debug)]
pub struct Service {
    pub state: AppState,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Service {
    /// Builds the state and starts one runner per projection (each stands by
    /// while another instance leads it).
    pub fn start(db: Database, settings: RunnerSettings) -> Service {
        let state = state(db);
        let (shutdown, stop) = watch::channel(false);
        let tasks = runners(&state, settings)
            .into_iter()
            .map(|runner| tokio::spawn(runner.run(stop.clone())))
            .collect();
        Service {
            state,
            shutdown,
            tasks,
        }
    }

    /// The state alone, for a process that leaves projections to others.
    pub fn without_runners(db: Database) -> Service {
        let (shutdown, _) = watch::channel(false);
        Service {
            state: state(db),
            shutdown,
            tasks: Vec::new(),
        }
    }

    /// Stops the runners after their current batch.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
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
