//! Prometheus metrics at `/metrics`: requests by route and status, command
//! outcomes and conflicts, escalations by reason, webhook attempts, group
//! commits, the process (memory, CPU, files) and this instance's pool, all
//! from memory; and, read from the store at scrape time when it answers
//! within a second, each projection's position and lag and the open and
//! overdue deadlines per tier. A scrape answers while the store is down:
//! `lianxi_store_up` is then 0 and the store's gauges keep their last values.

use std::sync::OnceLock;
use std::time::Duration;

use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use super::error::ApiError;
use super::AppState;

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
static PROCESS: OnceLock<metrics_process::Collector> = OnceLock::new();

/// Latency buckets in seconds, from 1 ms to 10 s.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// How many commands one group commit appended: counts, not seconds.
const BATCH_BUCKETS: [f64; 10] = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0];

/// How long a scrape waits for the store's gauges.
const STORE_WITHIN: Duration = Duration::from_secs(1);

/// The process-wide recorder, installed on first use, every metric
/// described.
pub fn handle() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets(&BUCKETS)
            .and_then(|b| {
                b.set_buckets_for_metric(
                    Matcher::Full("lianxi_append_batch_size".into()),
                    &BATCH_BUCKETS,
                )
            })
            .unwrap_or_else(|_| PrometheusBuilder::new());
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was already installed");
        }
        describe();
        handle
    })
}

/// The help text and unit of every metric.
fn describe() {
    describe_counter!(
        "http_requests_total",
        "HTTP requests answered, by method, route and status."
    );
    describe_histogram!(
        "http_request_duration_seconds",
        Unit::Seconds,
        "Time to answer an HTTP request, by method and route."
    );
    describe_counter!(
        "lianxi_commands_total",
        "Commands run, by command and outcome (ok, refused, conflict, error)."
    );
    describe_counter!(
        "lianxi_command_conflicts_total",
        "Appends that lost a race for their stream and were decided again, by command."
    );
    describe_counter!(
        "lianxi_escalations_total",
        "Grievances moved up a tier, by reason."
    );
    describe_counter!(
        "lianxi_follow_ups_total",
        "Case and meeting steps the grievances followed."
    );
    describe_histogram!(
        "lianxi_append_batch_size",
        Unit::Count,
        "Commands appended together in one group commit."
    );
    describe_counter!(
        "lianxi_webhook_deliveries_total",
        "Webhook delivery attempts, by outcome (delivered, failed, dead, refused, skipped)."
    );
    describe_gauge!(
        "lianxi_store_up",
        "1 when the store answered this scrape's reads within a second, else 0."
    );
    describe_gauge!(
        "lianxi_build_info",
        "Always 1; the version and the store are labels."
    );
    describe_gauge!(
        "lianxi_db_pool_connections",
        "Connections of this instance's pool, by state (idle, in_use)."
    );
    describe_gauge!(
        "lianxi_db_pool_max_connections",
        "The most connections this instance's pool opens."
    );
    describe_gauge!(
        "lianxi_projection_position",
        "The global position each read model has applied up to."
    );
    describe_counter!(
        "lianxi_projection_events_applied_total",
        "Events each read model has applied since it was last rebuilt."
    );
    describe_gauge!(
        "lianxi_projection_lag_events",
        "Committed events a read model has not applied yet."
    );
    describe_gauge!(
        "lianxi_projection_lag_seconds",
        Unit::Seconds,
        "Age of the oldest event a read model has not applied yet."
    );
    describe_gauge!("lianxi_open_deadlines", "Running deadlines, by tier.");
    describe_gauge!(
        "lianxi_overdue_deadlines",
        "Running deadlines already past, by tier."
    );
    describe_gauge!(
        "lianxi_follow_ups_pending",
        "Case and meeting steps waiting for their grievances to follow them."
    );
    PROCESS
        .get_or_init(metrics_process::Collector::default)
        .describe();
}

/// Every metric in Prometheus text format. Answers whether or not the
/// store does.
pub async fn scrape(state: &AppState) -> Result<String, ApiError> {
    let handle = handle();
    if let Some(process) = PROCESS.get() {
        process.collect();
    }
    metrics::gauge!(
        "lianxi_build_info",
        "version" => env!("CARGO_PKG_VERSION"),
        "store" => state.db.kind()
    )
    .set(1.0);
    let (size, idle, max) = state.db.pool_state();
    metrics::gauge!("lianxi_db_pool_connections", "state" => "idle").set(f64::from(idle));
    metrics::gauge!("lianxi_db_pool_connections", "state" => "in_use")
        .set(f64::from(size.saturating_sub(idle)));
    metrics::gauge!("lianxi_db_pool_max_connections").set(f64::from(max));
    let up = match tokio::time::timeout(STORE_WITHIN, store_gauges(state)).await {
        Ok(Ok(())) => true,
        Ok(Err(e)) => {
            tracing::warn!(error = ?e, "metrics: the store's gauges could not be read");
            false
        }
        Err(_) => {
            tracing::warn!("metrics: the store did not answer within a second");
            false
        }
    };
    metrics::gauge!("lianxi_store_up").set(if up { 1.0 } else { 0.0 });
    Ok(handle.render())
}

/// The gauges read from the store: projections, deadlines, follow-ups.
async fn store_gauges(state: &AppState) -> Result<(), ApiError> {
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
        metrics::counter!("lianxi_projection_events_applied_total", "projection" => name.clone())
            .absolute(u64::try_from(c.events_applied).unwrap_or(0));
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
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_commits_are_counted_in_commands_and_every_metric_has_help() {
        let handle = handle();
        metrics::histogram!("lianxi_append_batch_size").record(3.0);
        let text = handle.render();
        assert!(
            text.contains("lianxi_append_batch_size_bucket{le=\"4\"} 1"),
            "{text}"
        );
        assert!(!text.contains("lianxi_append_batch_size_bucket{le=\"0.001\"}"));
        assert!(text.contains("# HELP lianxi_append_batch_size "));
    }
}
