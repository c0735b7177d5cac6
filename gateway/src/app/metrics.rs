//! Prometheus metrics at `/metrics`: requests by route and status, command
//! outcomes and conflicts, escalations by reason, and — read at scrape time —
//! each projection's position and lag and the open and overdue deadlines per
//! tier.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use super::error::ApiError;
use super::AppState;

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Latency buckets in seconds, from 1 ms to 10 s.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// The process-wide recorder, installed on first use.
pub fn handle() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new();
        let builder = match builder.set_buckets(&BUCKETS) {
            Ok(b) => b,
            Err(_) => PrometheusBuilder::new(),
        };
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was already installed");
        }
        handle
    })
}

/// Every metric in Prometheus text format, the gauges read from the store now.
pub async fn scrape(state: &AppState) -> Result<String, ApiError> {
    let handle = handle();
    let store = state.db.store();
    let now = state.log.services().clock.now();
    for c in lianxi_projections::checkpoint::all(&store)
        .await
        .map_err(ApiError::from_store)?
    {
        let lag = lianxi_projections::feed::lag(&store, c.position)
            .await
            .map_err(ApiError::from_store)?;
        let name = c.name.clone();
        metrics::gauge!("lianxi_projection_position", "projection" => name.clone())
            .set(c.position.global_position as f64);
        metrics::gauge!("lianxi_projection_events_applied", "projection" => name.clone())
            .set(c.events_applied as f64);
        metrics::gauge!("lianxi_projection_lag_events", "projection" => name.clone())
            .set(lag.events as f64);
        let seconds = lag
            .oldest_recorded_at
            .map(|t| (now - t).num_milliseconds().max(0) as f64 / 1000.0)
            .unwrap_or(0.0);
        metrics::gauge!("lianxi_projection_lag_seconds", "projection" => name).set(seconds);
    }
    for (tier, open, overdue) in lianxi_projections::grievance_list::open_deadlines(&store, now)
        .await
        .map_err(ApiError::from_store)?
    {
        metrics::gauge!("lianxi_open_deadlines", "tier" => tier.clone()).set(open as f64);
        metrics::gauge!("lianxi_overdue_deadlines", "tier" => tier).set(overdue as f64);
    }
    let pending = lianxi_projections::follow_ups::backlog(&store)
        .await
        .map_err(ApiError::from_store)?;
    metrics::gauge!("lianxi_follow_ups_pending").set(pending as f64);
    Ok(handle.render())
}
