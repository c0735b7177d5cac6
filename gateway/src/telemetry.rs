//! Logs and traces.
//!
//! Logs: `RUST_LOG` filters (default `info`); `LIANXI_LOG_FORMAT=json` gives
//! one JSON object per line with the request span's fields (request id,
//! and `trace_id`/`span_id` of the trace it belongs to).
//!
//! Traces: when `OTEL_EXPORTER_OTLP_ENDPOINT` (or
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set, `lianxi serve` exports its
//! spans over OTLP/HTTP, as protobuf unless `OTEL_EXPORTER_OTLP_PROTOCOL`
//! (or `…_TRACES_PROTOCOL`) says `http/json`: `POST /api/v1/…` (the request, a
//! child of an incoming `traceparent`), `command <name>`, `append` and
//! `apply <projection>`, the last linked to the commands whose events it
//! applied. The standard `OTEL_*` variables (service name, resource
//! attributes, batch delays, timeouts, headers) apply. Without an endpoint no
//! exporter exists and no trace context is recorded.

use std::io::IsTerminal;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry::KeyValue;
use opentelemetry_otlp::{Protocol, WithExportConfig as _};
use opentelemetry_sdk::resource::{
    EnvResourceDetector, ResourceDetector, TelemetryResourceDetector,
};
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::Resource;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{fmt, EnvFilter, Layer};

/// The variables that switch trace export on.
pub const ENDPOINT_VARIABLES: [&str; 2] = [
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
];

/// What `lianxi serve --help` says of traces: every OpenTelemetry variable
/// the service honours (the configuration reference lists the same).
pub const HELP: &str = "\
Traces (OTLP over HTTP) are exported only when an endpoint is set:
  OTEL_EXPORTER_OTLP_ENDPOINT         collector base URL; spans go to <URL>/v1/traces
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT  full traces URL (overrides the base URL)
  OTEL_EXPORTER_OTLP_PROTOCOL         http/protobuf (default) or http/json
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL  the same for traces only (overrides the above)
  OTEL_EXPORTER_OTLP_HEADERS          k1=v1,k2=v2 sent with every export
  OTEL_EXPORTER_OTLP_TIMEOUT          export timeout (ms, default 10000)
  OTEL_SERVICE_NAME                   service.name (default lianxi)
  OTEL_RESOURCE_ATTRIBUTES            extra resource attributes, k1=v1,k2=v2
  OTEL_BSP_SCHEDULE_DELAY             batch export delay (ms, default 5000)
  OTEL_BSP_MAX_QUEUE_SIZE             spans queued before dropping (default 2048)
  OTEL_BSP_MAX_EXPORT_BATCH_SIZE      spans per export (default 512)";

/// Keeps the trace exporter alive; dropping it flushes the spans still
/// queued.
#[derive(Debug, Default)]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Whether spans are being exported.
    pub fn exporting(&self) -> bool {
        self.provider.is_some()
    }
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take() {
            lianxi_feed::trace_context::set_exporting(false);
            if let Err(e) = provider.shutdown() {
                eprintln!("flushing traces failed: {e}");
            }
        }
    }
}

/// Whether the environment asks for trace export.
pub fn export_requested() -> bool {
    ENDPOINT_VARIABLES
        .iter()
        .any(|v| std::env::var(v).is_ok_and(|s| !s.trim().is_empty()))
}

/// Installs the global subscriber: logs to standard error, and spans to the
/// OTLP endpoint when `export` and an endpoint is configured.
pub fn init(json: bool, export: bool) -> Telemetry {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let fmt_layer = if json {
        fmt::layer()
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .with_writer(std::io::stderr)
            .boxed()
    } else {
        fmt::layer()
            .with_ansi(std::io::stderr().is_terminal())
            .with_writer(std::io::stderr)
            .boxed()
    };
    let mut telemetry = Telemetry::default();
    let mut startup_error = None;
    let otel_layer = if export && export_requested() {
        match tracer_provider() {
            Ok(provider) => {
                let tracer = provider.tracer("lianxi");
                telemetry.provider = Some(provider);
                // The service's own spans, whatever RUST_LOG says of logs.
                let spans = Targets::new()
                    .with_target("lianxi_gateway", LevelFilter::INFO)
                    .with_target("lianxi_projections", LevelFilter::INFO);
                Some(
                    tracing_opentelemetry::layer()
                        .with_tracer(tracer)
                        .with_tracked_inactivity(false)
                        .with_threads(false)
                        .with_location(false)
                        .with_filter(spans),
                )
            }
            Err(e) => {
                startup_error = Some(e);
                None
            }
        }
    } else {
        None
    };
    let result = tracing_subscriber::registry()
        .with(fmt_layer.with_filter(filter))
        .with(otel_layer)
        .try_init();
    if let Err(e) = result {
        eprintln!("logging was already initialised: {e}");
    }
    if let Some(e) = startup_error {
        tracing::error!(error = %e, "trace export is configured but cannot start; no spans are exported");
    }
    lianxi_feed::trace_context::set_exporting(telemetry.exporting());
    telemetry
}

/// The OTLP protocol the environment asks for: the traces variable, then
/// the general one, then the specification's default, `http/protobuf`.
fn protocol() -> Result<Protocol, String> {
    let read = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let chosen =
        read("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL").or_else(|| read("OTEL_EXPORTER_OTLP_PROTOCOL"));
    parse_protocol(chosen.as_deref())
}

fn parse_protocol(value: Option<&str>) -> Result<Protocol, String> {
    match value.map(|v| v.trim().to_ascii_lowercase()).as_deref() {
        None | Some("http/protobuf") => Ok(Protocol::HttpBinary),
        Some("http/json") => Ok(Protocol::HttpJson),
        Some("grpc") => Err(
            "OTEL_EXPORTER_OTLP_PROTOCOL=grpc is not supported: use http/protobuf or http/json \
             (every OpenTelemetry Collector accepts both on port 4318)"
                .to_owned(),
        ),
        Some(other) => Err(format!(
            "OTEL_EXPORTER_OTLP_PROTOCOL={other} is not a protocol: use http/protobuf or http/json"
        )),
    }
}

fn tracer_provider() -> Result<SdkTracerProvider, String> {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(protocol()?)
        .build()
        .map_err(|e| e.to_string())?;
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource())
        .build())
}

/// `service.name` lianxi, the version, and an instance id unique to this
/// process; `OTEL_SERVICE_NAME` and `OTEL_RESOURCE_ATTRIBUTES` override them.
fn resource() -> Resource {
    let mut builder = Resource::builder_empty()
        .with_attributes([
            KeyValue::new("service.name", "lianxi"),
            KeyValue::new("service.version", env!("CARGO_PKG_VERSION")),
            KeyValue::new("service.instance.id", uuid::Uuid::new_v4().to_string()),
        ])
        .with_detectors(&[
            Box::new(TelemetryResourceDetector) as Box<dyn ResourceDetector>,
            Box::new(EnvResourceDetector::new()),
        ]);
    if let Ok(name) = std::env::var("OTEL_SERVICE_NAME") {
        if !name.trim().is_empty() {
            builder = builder.with_service_name(name);
        }
    }
    builder.build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_protocol_defaults_to_protobuf_and_json_is_chosen_by_name() {
        assert!(matches!(parse_protocol(None), Ok(Protocol::HttpBinary)));
        assert!(matches!(
            parse_protocol(Some("http/protobuf")),
            Ok(Protocol::HttpBinary)
        ));
        assert!(matches!(
            parse_protocol(Some(" HTTP/JSON ")),
            Ok(Protocol::HttpJson)
        ));
        let grpc = parse_protocol(Some("grpc")).expect_err("refused");
        assert!(grpc.contains("not supported"), "{grpc}");
        let other = parse_protocol(Some("carrier-pigeon")).expect_err("refused");
        assert!(other.contains("carrier-pigeon"), "{other}");
    }
}
