//! Traces over OTLP: an in-process receiver takes the real binary's exports
//! and finds one command's spans, their parentage and the projection's link
//! back to the command.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::routing::post;
use axum::Router;
use lianxi_tests::{resident_token, Api, Process, TempDir};
use reqwest::{Method, StatusCode};
use serde_json::Value;

/// Every span the receiver got, with its resource's attributes.
#[derive(Clone, Default)]
struct Received(Arc<Mutex<Vec<(Value, Value)>>>);

impl Received {
    fn spans(&self) -> Vec<(Value, Value)> {
        self.0.lock().expect("receiver lock").clone()
    }
}

/// An OTLP/HTTP receiver taking JSON bodies at `/v1/traces`.
async fn receiver() -> (String, Received) {
    let received = Received::default();
    let sink = received.clone();
    let app = Router::new().route(
        "/v1/traces",
        post(move |body: String| {
            let sink = sink.clone();
            async move {
                let export: Value = serde_json::from_str(&body).expect("OTLP JSON body");
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
    let server = Process::start(
        d,
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ],
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
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_endpoint_no_trace_context_is_recorded() {
    let dir = TempDir::new();
    let d = dir.0.as_path();
    let token = resident_token(d, &[]).await;
    let server = Process::start(d, &[]).await;
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
}
