//! Traces over OTLP: an in-process receiver takes the real binary's exports
//! (protobuf by default, JSON when asked) and finds one command's spans,
//! their parentage and the projection's link back to the command; the JSON
//! log lines of the request carry the same trace and span ids.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::routing::post;
use axum::Router;
use lianxi_tests::{resident_token, Api, Process, TempDir};
use reqwest::{Method, StatusCode};
use serde_json::Value;

/// Every span the receiver got, with its resource's attributes, and the
/// content types of the exports.
#[derive(Clone, Default)]
struct Received(Arc<Mutex<Vec<(Value, Value)>>>, Arc<Mutex<Vec<String>>>);

impl Received {
    fn spans(&self) -> Vec<(Value, Value)> {
        self.0.lock().expect("receiver lock").clone()
    }

    fn content_types(&self) -> Vec<String> {
        self.1.lock().expect("receiver lock").clone()
    }
}

/// An OTLP/HTTP receiver at `/v1/traces`, taking protobuf or JSON bodies;
/// protobuf is read into the JSON form of the specification, so both are
/// checked alike.
async fn receiver() -> (String, Received) {
    let received = Received::default();
    let sink = received.clone();
    let app = Router::new().route(
        "/v1/traces",
        post(move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
            let sink = sink.clone();
            async move {
                let content_type = headers
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_owned();
                let export: Value = if content_type == "application/x-protobuf" {
                    use prost::Message as _;
                    let request = opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest::decode(body)
                        .expect("OTLP protobuf body");
                    serde_json::to_value(&request).expect("as JSON")
                } else {
                    serde_json::from_slice(&body).expect("OTLP JSON body")
                };
                sink.1.lock().expect("receiver lock").push(content_type);
                let mut spans = sink.0.lock().expect("receiver lock");
                for rs in export["resourceSpans"].as_array().into_iter().flatten() {
                    let resource = rs["resource"].clone();
                    for ss in rs["scopeSpans"].as_array().into_iter().flatten() {
                        for span in ss["spans"].as_array().into_iter().flatten() {
                            spans.push((resource.clone(), span.clone()));
                        }
                    }
                }
                ([("content-type", "application/json")], "{}")
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the receiver");
    let address = listener.local_addr().expect("receiver address");
    tokio::spawn(async move { axum::serve(listener, app).await.expect("receiver") });
    (format!("http://{address}"), received)
}

fn attribute<'a>(attributes: &'a Value, key: &str) -> Option<&'a Value> {
    attributes
        .as_array()?
        .iter()
        .find(|a| a["key"] == key)
        .map(|a| &a["value"])
}

fn named<'a>(spans: &'a [(Value, Value)], name: &str, trace: &str) -> Option<&'a Value> {
    spans
        .iter()
        .map(|(_, s)| s)
        .find(|s| s["name"] == name && s["traceId"] == trace)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_command_exports_request_command_append_and_a_linked_projection_span() {
    let (endpoint, received) = receiver().await;
    let dir = TempDir::new();
    let d = dir.0.as_path();
    let token = resident_token(d, &[]).await;
    let log = d.join("serve.log");
    let server = Process::start_with_stderr(
        d,
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
            ("LIANXI_LOG_FORMAT", "json"),
        ],
        std::fs::File::create(&log).expect("log file").into(),
    )
    .await;
    let api = Api::new(&server.base);

    // The caller's own trace: the request span must continue it.
    let trace_id = format!("{:032x}", rand::random::<u128>() | 1);
    let caller_span = "00f067aa0ba902b7";
    let filed = Api::send(
        api.request(Method::POST, "/api/v1/grievances", Some(&token))
            .header("traceparent", format!("00-{trace_id}-{caller_span}-01"))
            .json(&lianxi_tests::sample_grievance()),
    )
    .await;
    assert_eq!(filed.status, StatusCode::CREATED, "{}", filed.body);
    let id = filed.body["id"].as_str().expect("id").to_owned();

    let mut spans = Vec::new();
    for _ in 0..200 {
        spans = received.spans();
        let applied = spans.iter().any(|(_, s)| {
            s["name"] == "apply grievance_list"
                && s["links"]
                    .as_array()
                    .is_some_and(|l| l.iter().any(|l| l["traceId"] == trace_id))
        });
        if applied && named(&spans, "POST /api/v1/grievances", &trace_id).is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let request = named(&spans, "POST /api/v1/grievances", &trace_id)
        .unwrap_or_else(|| panic!("no request span in {spans:#?}"));
    assert_eq!(request["parentSpanId"], caller_span);
    assert_eq!(request["kind"], 2, "a server span");
    assert_eq!(
        attribute(&request["attributes"], "http.response.status_code"),
        Some(&serde_json::json!({"intValue": "201"})),
        "{request:#}"
    );
    // OpenTelemetry's HTTP semantic conventions name the rest.
    for (key, value) in [
        ("http.request.method", "POST"),
        ("http.route", "/api/v1/grievances"),
        ("url.path", "/api/v1/grievances"),
    ] {
        assert_eq!(
            attribute(&request["attributes"], key),
            Some(&serde_json::json!({ "stringValue": value })),
            "{request:#}"
        );
    }
    // Protobuf unless JSON is asked for, as the specification says.
    let types = received.content_types();
    assert!(
        !types.is_empty() && types.iter().all(|t| t == "application/x-protobuf"),
        "{types:?}"
    );
    let command = named(&spans, "command file", &trace_id)
        .unwrap_or_else(|| panic!("no command span in {spans:#?}"));
    assert_eq!(command["parentSpanId"], request["spanId"]);
    assert_eq!(
        attribute(&command["attributes"], "outcome"),
        Some(&serde_json::json!({"stringValue": "applied"}))
    );
    let append = named(&spans, "append", &trace_id)
        .unwrap_or_else(|| panic!("no append span in {spans:#?}"));
    assert_eq!(append["parentSpanId"], command["spanId"]);
    assert_eq!(
        attribute(&append["attributes"], "aggregate_id"),
        Some(&serde_json::json!({"stringValue": id}))
    );

    // The projection runs on its own trace, linked to the command.
    let apply = spans
        .iter()
        .map(|(_, s)| s)
        .find(|s| {
            s["name"] == "apply grievance_list"
                && s["links"]
                    .as_array()
                    .is_some_and(|l| l.iter().any(|l| l["traceId"] == trace_id))
        })
        .unwrap_or_else(|| panic!("no linked projection span in {spans:#?}"));
    assert_ne!(apply["traceId"], trace_id);
    let links = apply["links"].as_array().expect("links");
    assert!(
        links
            .iter()
            .any(|l| l["traceId"] == trace_id && l["spanId"] == command["spanId"]),
        "the link names the command span: {links:#?}"
    );

    // Resource attributes name the service, its version and this process.
    let (resource, _) = spans
        .iter()
        .find(|(_, s)| s["spanId"] == command["spanId"])
        .expect("command resource");
    let attributes = &resource["attributes"];
    assert_eq!(
        attribute(attributes, "service.name"),
        Some(&serde_json::json!({"stringValue": "lianxi"}))
    );
    assert_eq!(
        attribute(attributes, "service.version"),
        Some(&serde_json::json!({"stringValue": env!("CARGO_PKG_VERSION")}))
    );
    let instance = attribute(attributes, "service.instance.id")
        .and_then(|v| v["stringValue"].as_str())
        .expect("an instance id");
    assert!(uuid::Uuid::parse_str(instance).is_ok(), "{instance}");

    // The events carry the command's trace context.
    let events = api
        .get(&format!("/api/v1/grievances/{id}/events"), &token)
        .await;
    let command_span = command["spanId"].as_str().expect("span id");
    for event in events.body["events"].as_array().expect("events") {
        assert_eq!(
            event["metadata"]["traceparent"],
            format!("00-{trace_id}-{command_span}-01")
        );
    }
    server.terminate().await;

    // The request's JSON log line names the same trace and span.
    let finished = request_log_lines(&log, "/api/v1/grievances");
    let line = finished
        .iter()
        .find(|l| l["span"]["trace_id"] == trace_id)
        .unwrap_or_else(|| panic!("no log line of the traced request in {finished:#?}"));
    assert_eq!(line["span"]["span_id"], request["spanId"], "{line:#}");
}

/// The JSON log lines saying a request to `path` finished.
fn request_log_lines(log: &std::path::Path, path: &str) -> Vec<Value> {
    std::fs::read_to_string(log)
        .expect("read the log")
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l["fields"]["message"] == "request finished" && l["span"]["url.path"] == path)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_json_protocol_is_used_when_asked_for() {
    let (endpoint, received) = receiver().await;
    let dir = TempDir::new();
    let d = dir.0.as_path();
    let token = resident_token(d, &[]).await;
    let server = Process::start(
        d,
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ],
    )
    .await;
    let api = Api::new(&server.base);
    api.file_with(&token).await;
    for _ in 0..200 {
        if received
            .spans()
            .iter()
            .any(|(_, s)| s["name"] == "POST /api/v1/grievances")
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(received
        .spans()
        .iter()
        .any(|(_, s)| s["name"] == "POST /api/v1/grievances"));
    let types = received.content_types();
    assert!(types.iter().all(|t| t == "application/json"), "{types:?}");
    server.terminate().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_endpoint_no_trace_context_is_recorded() {
    let dir = TempDir::new();
    let d = dir.0.as_path();
    let token = resident_token(d, &[]).await;
    let log = d.join("serve.log");
    let server = Process::start_with_stderr(
        d,
        &[("LIANXI_LOG_FORMAT", "json")],
        std::fs::File::create(&log).expect("log file").into(),
    )
    .await;
    let api = Api::new(&server.base);
    let filed = Api::send(
        api.request(Method::POST, "/api/v1/grievances", Some(&token))
            .header(
                "traceparent",
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            )
            .json(&lianxi_tests::sample_grievance()),
    )
    .await;
    assert_eq!(filed.status, StatusCode::CREATED);
    let id = filed.body["id"].as_str().expect("id");
    let events = api
        .get(&format!("/api/v1/grievances/{id}/events"), &token)
        .await;
    let events = events.body["events"].as_array().expect("events").clone();
    assert!(!events.is_empty());
    for event in events {
        assert!(event["metadata"].get("traceparent").is_none(), "{event:#}");
    }
    server.terminate().await;
    // The log still names the caller's trace, so its lines can be found.
    let finished = request_log_lines(&log, "/api/v1/grievances");
    let line = finished
        .iter()
        .find(|l| l["span"]["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736")
        .unwrap_or_else(|| panic!("no log line with the caller's trace id in {finished:#?}"));
    assert!(line["span"].get("span_id").is_none(), "{line:#}");
}
