//! Server-sent events: each account's stream carries the changes to the
//! grievances it may see, and only those; a reconnect with `Last-Event-ID`
//! resumes right after the last event seen.

use std::time::Duration;

use lianxi_tests::{on_both_stores, Api, Cast, Server, TestDb};
use reqwest::StatusCode;
use serde_json::{json, Value};

on_both_stores!(each_account_streams_the_changes_it_may_see_and_resumes_after_the_last);

/// One server-sent event: its id, type and JSON data.
#[derive(Debug)]
struct Sent {
    id: String,
    event: String,
    data: Value,
}

/// An open event stream, parsed as it arrives.
struct Stream {
    response: reqwest::Response,
    buffer: String,
}

impl Stream {
    async fn open(base: &str, token: &str, last_event_id: Option<&str>) -> Stream {
        let mut request = lianxi_tests::http_client()
            .build()
            .expect("HTTP client")
            .get(format!("{base}/api/v1/notifications/stream"))
            .bearer_auth(token)
            .header("accept", "text/event-stream");
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id);
        }
        let response = request.send().await.expect("open the stream");
        assert_eq!(response.status(), StatusCode::OK);
        assert!(response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/event-stream")));
        Stream {
            response,
            buffer: String::new(),
        }
    }

    /// The next event, or `None` if none arrives within `wait`.
    async fn next(&mut self, wait: Duration) -> Option<Sent> {
        let until = tokio::time::Instant::now() + wait;
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut sent = Sent {
                    id: String::new(),
                    event: String::new(),
                    data: Value::Null,
                };
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id:") {
                        sent.id = v.trim().to_owned();
                    } else if let Some(v) = line.strip_prefix("event:") {
                        sent.event = v.trim().to_owned();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        sent.data = serde_json::from_str(v.trim()).expect("JSON data");
                    }
                }
                if sent.event.is_empty() {
                    continue; // a keep-alive comment
                }
                return Some(sent);
            }
            let left = until.saturating_duration_since(tokio::time::Instant::now());
            match tokio::time::timeout(left, self.response.chunk()).await {
                Ok(Ok(Some(bytes))) => self.buffer.push_str(&String::from_utf8_lossy(&bytes)),
                _ => return None,
            }
        }
    }
}

async fn each_account_streams_the_changes_it_may_see_and_resumes_after_the_last(t: TestDb) {
    let cast = Cast::new(&t.db).await;
    let server = Server::start(&t.db).await;
    let api = Api::new(&server.base);
    let a = &cast.a;
    let id = api.file(&a.resident).await;
    // Opened now: the filing is already past; what follows is not.
    let mut filer = Stream::open(&server.base, &a.resident.token, None).await;
    let mut neighbour = Stream::open(&server.base, &a.neighbour.token, None).await;
    let mut other_branch = Stream::open(&server.base, &cast.b.branch.token, None).await;
    let mut branch = Stream::open(&server.base, &a.branch.token, None).await;
    api.command(&id, "accept", &a.branch, json!({})).await;
    api.command(
        &id,
        "triage",
        &a.branch,
        json!({"matter_class": "minor", "party": "property_company"}),
    )
    .await;

    let wait = Duration::from_secs(10);
    let first = filer.next(wait).await.expect("the acceptance");
    assert_eq!(first.event, "GrievanceAccepted");
    assert_eq!(first.data["grievance"], id.as_str());
    assert_eq!(first.data["position"], first.id.as_str());
    let mut seen = vec![first.event.clone()];
    while let Some(next) = filer.next(Duration::from_millis(1500)).await {
        assert_eq!(next.data["grievance"], id.as_str());
        seen.push(next.event);
    }
    assert!(seen.contains(&"GrievanceTriaged".to_owned()), "{seen:?}");
    assert!(!seen.contains(&"GrievanceFiled".to_owned()), "{seen:?}");
    let branch_saw = branch.next(wait).await.expect("the branch's stream");
    assert_eq!(branch_saw.event, "GrievanceAccepted");
    // Another resident of the xiaoqu, and another xiaoqu's branch: nothing.
    assert!(neighbour.next(Duration::from_millis(500)).await.is_none());
    assert!(other_branch
        .next(Duration::from_millis(500))
        .await
        .is_none());

    // Resuming after the first event gives the rest, the first not again.
    let mut resumed = Stream::open(&server.base, &a.resident.token, Some(&first.id)).await;
    let mut again = Vec::new();
    while let Some(next) = resumed.next(Duration::from_millis(1500)).await {
        assert_ne!(next.id, first.id, "the last event seen is not sent again");
        again.push(next.event);
    }
    assert_eq!(again, seen[1..].to_vec());

    let bad = Api::send(
        api.request(
            reqwest::Method::GET,
            "/api/v1/notifications/stream",
            Some(&a.resident.token),
        )
        .header("last-event-id", "yesterday"),
    )
    .await;
    bad.assert_problem(400, "invalid-header")
        .assert_field("Last-Event-ID");
    let bad = api
        .get("/api/v1/notifications/stream?after=x", &a.resident.token)
        .await;
    bad.assert_problem(400, "invalid-query")
        .assert_field("after");
    let anonymous =
        Api::send(api.request(reqwest::Method::GET, "/api/v1/notifications/stream", None)).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    server.stop().await;
}
