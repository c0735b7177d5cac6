//! W3C trace context carried in event metadata.
//!
//! A command records the `traceparent` of its span in the metadata of the
//! events it appends; a projection applying those events links its span to
//! that context, so a trace viewer leads from a read-model update back to the
//! request that caused it. None of this runs unless traces are exported
//! ([`set_exporting`]): without an exporter no context is written and no
//! metadata is parsed.

use std::sync::atomic::{AtomicBool, Ordering};

use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::feed::FeedEvent;

/// The metadata key holding the writer's trace context.
pub const METADATA_KEY: &str = "traceparent";

/// Links kept on one projection span; the rest of a large batch is counted
/// in the span's `events` field only.
pub const MAX_LINKS: usize = 64;

static EXPORTING: AtomicBool = AtomicBool::new(false);

/// Declares whether spans leave the process (an exporter is installed).
pub fn set_exporting(on: bool) {
    EXPORTING.store(on, Ordering::Relaxed);
}

/// Whether spans leave the process.
pub fn exporting() -> bool {
    EXPORTING.load(Ordering::Relaxed)
}

/// The `traceparent` of `span`, when traces are exported and the span has a
/// valid context.
pub fn traceparent_of(span: &tracing::Span) -> Option<String> {
    if !exporting() {
        return None;
    }
    let context = span.context();
    let span_ref = context.span();
    let sc = span_ref.span_context();
    sc.is_valid().then(|| format_traceparent(sc))
}

/// `00-<trace id>-<span id>-<flags>`, the W3C Trace Context header form.
pub fn format_traceparent(sc: &SpanContext) -> String {
    format!(
        "00-{}-{}-{:02x}",
        sc.trace_id(),
        sc.span_id(),
        sc.trace_flags().to_u8()
    )
}

/// Parses a version-00 `traceparent`; `None` for anything malformed or for
/// the all-zero ids the specification declares invalid.
pub fn parse_traceparent(value: &str) -> Option<SpanContext> {
    let mut parts = value.trim().split('-');
    let (version, trace, span, flags) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    if version != "00" || parts.next().is_some() || trace.len() != 32 || span.len() != 16 {
        return None;
    }
    if flags.len() != 2 {
        return None;
    }
    let trace_id = TraceId::from_hex(trace).ok()?;
    let span_id = SpanId::from_hex(span).ok()?;
    let flags = u8::from_str_radix(flags, 16).ok()?;
    let sc = SpanContext::new(
        trace_id,
        span_id,
        TraceFlags::new(flags),
        true,
        TraceState::default(),
    );
    sc.is_valid().then_some(sc)
}

/// The trace context recorded in an event's metadata, if any.
pub fn cause_of(event: &FeedEvent) -> Option<SpanContext> {
    #[derive(serde::Deserialize)]
    struct Carrier<'a> {
        #[serde(borrow)]
        traceparent: Option<&'a str>,
    }
    let carrier: Carrier<'_> = serde_json::from_str(&event.metadata).ok()?;
    parse_traceparent(carrier.traceparent?)
}

/// Links `span` to the commands that wrote `events` (at most [`MAX_LINKS`],
/// each distinct context once).
pub fn link_causes(span: &tracing::Span, events: &[FeedEvent]) {
    if !exporting() {
        return;
    }
    let mut linked: Vec<SpanContext> = Vec::new();
    for cause in events.iter().filter_map(cause_of) {
        if linked.len() == MAX_LINKS {
            break;
        }
        if !linked.contains(&cause) {
            span.add_link(cause.clone());
            linked.push(cause);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traceparent_round_trips() {
        let value = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let sc = parse_traceparent(value).expect("valid");
        assert_eq!(
            sc.trace_id(),
            TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").expect("hex")
        );
        assert!(sc.is_sampled());
        assert!(sc.is_remote());
        assert_eq!(format_traceparent(&sc), value);
    }

    #[test]
    fn malformed_or_invalid_contexts_are_refused() {
        for bad in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x",
            "00-zzf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        ] {
            assert!(parse_traceparent(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn the_cause_is_read_from_metadata() {
        let event = |metadata: &str| FeedEvent {
            position: Default::default(),
            aggregate_type: "Grievance".into(),
            aggregate_id: "g".into(),
            sequence: 1,
            event_type: "GrievanceFiled".into(),
            event_version: "1".into(),
            payload: "{}".into(),
            metadata: metadata.into(),
        };
        let with = event(
            r#"{"actor":"a","traceparent":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}"#,
        );
        assert_eq!(
            cause_of(&with).map(|sc| sc.span_id()),
            SpanId::from_hex("00f067aa0ba902b7").ok()
        );
        assert!(cause_of(&event(r#"{"actor":"a"}"#)).is_none());
        assert!(cause_of(&event("not json")).is_none());
    }
}
