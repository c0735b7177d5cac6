//! Many commands racing on one grievance: every success is in the stream
//! exactly once, sequence numbers stay contiguous, and nothing fails with 5xx.

use std::collections::HashMap;

use lianxi_tests::{on_both_stores, Api, Cast, Server, TestDb};
use reqwest::Method;
use serde_json::json;

on_both_stores!(fifty_concurrent_commands_on_one_grievance_are_each_stored_once_or_refused);

async fn fifty_concurrent_commands_on_one_grievance_are_each_stored_once_or_refused(t: TestDb) {
    let cast = Cast::new(&t.db).await;
    let server = Server::start(&t.db).await;
    let api = Api::new(&server.base);
    let a = &cast.a;
    let id = api.file(&a.resident).await;
    api.command(&id, "accept", &a.branch, json!({})).await;
    api.command(
        &id,
        "triage",
        &a.branch,
        json!({"matter_class": "minor", "party": "property_company"}),
    )
    .await;
    api.command(&id, "assign", &a.branch, json!({})).await;
    let setup = t.db.stream("grievance", &id).await.expect("stream").len();

    // Reassignments (always legal while assigned) race with a response,
    // which wins once and then makes further reassignments illegal.
    let requests = (0..50).map(|i| {
        let api = api.clone();
        let id = id.clone();
        let (person, action, body) = match i % 25 {
            24 => (
                a.company.clone(),
                "respond",
                json!({"response": format!("response {i}")}),
            ),
            _ => (
                a.branch.clone(),
                "assign",
                json!({"party": "property_company", "note": format!("reminder {i}")}),
            ),
        };
        async move {
            let request_id = format!("race-{i}");
            let answer = Api::send(
                api.request(
                    Method::POST,
                    &format!("/api/v1/grievances/{id}/{action}"),
                    Some(&person.token),
                )
                .header("x-request-id", &request_id)
                .json(&body),
            )
            .await;
            (request_id, answer)
        }
    });
    let answers = futures::future::join_all(requests).await;

    let mut succeeded = Vec::new();
    let mut statuses: HashMap<String, usize> = HashMap::new();
    for (request_id, answer) in &answers {
        let status = answer.status.as_u16();
        *statuses
            .entry(format!(
                "{status} {}",
                answer.body["type"].as_str().unwrap_or("")
            ))
            .or_default() += 1;
        assert!(
            status < 500,
            "{request_id} failed with {status}: {}",
            answer.body
        );
        if answer.status.is_success() {
            succeeded.push(request_id.clone());
        } else {
            assert!(
                status == 409,
                "{request_id}: only conflicts and illegal transitions are expected, got {status}: {}",
                answer.body
            );
        }
    }
    eprintln!("{:?} on {:?}", statuses, t.store);
    assert!(!succeeded.is_empty());
    // One process serves them all: commands on the stream take turns, so
    // none loses a race; every refusal is the domain's.
    assert!(
        !statuses.contains_key("409 urn:lianxi:problem:version-conflict"),
        "{statuses:?}"
    );

    let stream = t.db.stream("grievance", &id).await.expect("stream");
    for (i, event) in stream.iter().enumerate() {
        assert_eq!(
            event.sequence,
            i as i64 + 1,
            "sequence numbers are contiguous"
        );
    }
    let written: Vec<String> = stream[setup..]
        .iter()
        .filter(|e| e.event_type != "DeadlineSet")
        .map(|e| {
            e.metadata["request_id"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    for request_id in &succeeded {
        let times = written.iter().filter(|w| *w == request_id).count();
        assert_eq!(
            times, 1,
            "{request_id} answered 2xx and must be stored exactly once"
        );
    }
    assert_eq!(
        written.len(),
        succeeded.len(),
        "no event without a 2xx answer"
    );
    let responses = stream
        .iter()
        .filter(|e| e.event_type == "GrievanceResponded")
        .count();
    assert_eq!(responses, 1, "the response wins exactly once");
    // Racing appends kept the hash chain and the stream head intact.
    let audit = lianxi_gateway::audit::verify(&t.db, None)
        .await
        .expect("verify");
    assert!(audit.ok, "{audit:?}");
    assert_eq!(audit.events as usize, stream.len());
    server.stop().await;
}
