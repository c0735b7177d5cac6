//! Building the service (state plus projection runners) and serving it
//! until shutdown.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use lianxi_domain::meeting::MeetingPolicy;
use lianxi_domain::{GrievancePolicy, GrievanceServices, SystemClock};
use lianxi_projections::RunnerSettings;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use axum::extract::DefaultBodyLimit;
use axum::response::IntoResponse;
use axum::Router;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::timeout::TimeoutLayer;

use crate::app::error::ApiError;
use crate::app::{AppState, MAX_BODY_BYTES};
use crate::db::Database;
use crate::workers::scheduler;

/// The whole service as a router, ready to serve or to test: the JSON API,
/// Open311, the pages, and what every request passes through (request id,
/// body limit, timeout, panics answered 500).
pub fn app(state: AppState) -> Router {
    // Install the metrics recorder before the first request records anything.
    crate::app::metrics::handle();
    crate::api::router(&state)
        .merge(crate::web::router(crate::app::attachments::request_limit(
            &state,
        )))
        .fallback(crate::api::not_found)
        .method_not_allowed_fallback(crate::api::method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::http::headers::middleware,
        ))
        .layer(axum::middleware::from_fn(
            crate::http::request_id::middleware,
        ))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            state.limits.request_timeout,
        ))
        .layer(CatchPanicLayer::custom(
            |_: Box<dyn std::any::Any + Send>| {
                tracing::error!("a handler panicked");
                ApiError::internal().into_response()
            },
        ))
        .with_state(state)
}

/// Every read model the service keeps.
pub use crate::app::projections::all as projections;

/// The state for a real server: system clock, default policy.
pub fn state(db: Database) -> AppState {
    state_with(
        db,
        GrievanceServices::new(Arc::new(SystemClock), GrievancePolicy::default()),
    )
}

/// The state with the given clock and grievance policy, and the default
/// meeting policy.
pub fn state_with(db: Database, services: GrievanceServices) -> AppState {
    state_with_meetings(db, services, MeetingPolicy::default())
}

/// The state with the given clock, grievance policy and meeting policy.
pub fn state_with_meetings(
    db: Database,
    services: GrievanceServices,
    meetings: MeetingPolicy,
) -> AppState {
    AppState::new(db, services, meetings)
}

/// How the background work of a service runs.
#[derive(Clone, Copy, Debug)]
pub struct Background {
    pub runners: RunnerSettings,
    /// How often the deadline scheduler looks for missed deadlines.
    pub scheduler_interval: Duration,
    /// How often a signed checkpoint is taken when the log has grown
    /// (`None`: only on demand).
    pub checkpoint_interval: Option<Duration>,
    /// How webhook deliveries are retried.
    pub webhooks: crate::workers::webhooks::WebhookSettings,
}

impl Default for Background {
    fn default() -> Self {
        Self {
            runners: RunnerSettings::default(),
            scheduler_interval: Duration::from_secs(5),
            checkpoint_interval: Some(Duration::from_secs(3600)),
            webhooks: crate::workers::webhooks::WebhookSettings::default(),
        }
    }
}

/// A running service: the state handlers use and its background tasks.
#[derive(Debug)]
pub struct Service {
    pub state: AppState,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Service {
    /// Builds the state and starts one runner per projection (each stands by
    /// while another instance leads it) and the deadline scheduler.
    pub fn start(db: Database, background: Background) -> Service {
        Self::start_with(state(db), background)
    }

    pub fn start_with(state: AppState, background: Background) -> Service {
        let (shutdown, stop) = watch::channel(false);
        let mut tasks: Vec<JoinHandle<()>> =
            crate::app::projections::runners(&state, background.runners)
                .into_iter()
                .map(|runner| tokio::spawn(runner.run(stop.clone())))
                .collect();
        tasks.push(tokio::spawn(state.announce_appends(stop.clone())));
        tasks.push(tokio::spawn(crate::workers::follow_ups::run(
            state.clone(),
            background.runners.poll_interval,
            stop.clone(),
        )));
        tasks.push(tokio::spawn(crate::workers::webhooks::run(
            state.clone(),
            background.webhooks,
            background.runners.poll_interval,
            stop.clone(),
        )));
        tasks.push(tokio::spawn(scheduler::run(
            state.clone(),
            background.scheduler_interval,
            stop.clone(),
        )));
        if let Some(every) = background.checkpoint_interval {
            tasks.push(tokio::spawn(checkpoints(state.clone(), every, stop)));
        }
        Service {
            state,
            shutdown,
            tasks,
        }
    }

    /// The state alone, for a process that leaves background work to
    /// others; it still announces its appends to their runners.
    pub fn without_runners(state: AppState) -> Service {
        let (shutdown, stop) = watch::channel(false);
        let announcer = tokio::spawn(state.announce_appends(stop));
        Service {
            state,
            shutdown,
            tasks: vec![announcer],
        }
    }

    /// Stops the background tasks after their current step.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

/// Takes a signed checkpoint every `every` while the log grows. Several
/// instances may do so at once: one checkpoint is kept per tree size.
async fn checkpoints(state: AppState, every: Duration, mut stop: watch::Receiver<bool>) {
    let mut last_size = None;
    loop {
        tokio::select! {
            _ = stop.wait_for(|s| *s) => return,
            () = tokio::time::sleep(every) => {}
        }
        match crate::app::audit::checkpoint_now(&state).await {
            Ok(c) if last_size != Some(c.tree_size) => {
                last_size = Some(c.tree_size);
                tracing::info!(tree_size = c.tree_size, root = %hex::encode(c.root), "audit checkpoint signed");
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "cannot take an audit checkpoint"),
        }
    }
}

/// Serves `state` on `listener` until `shutdown` completes; in-flight
/// requests are allowed to finish, and event streams end.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let closing = state.closing.clone();
    let shutdown = async move {
        shutdown.await;
        let _ = closing.send(true);
    };
    axum::serve(
        listener,
        app(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
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
