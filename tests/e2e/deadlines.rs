//! Deadlines: escalation queues, pausing, and the scheduler that escalates
//! a missed deadline exactly once however many instances run it.

use std::sync::Arc;

use chrono::{TimeDelta, Utc};
use lianxi_domain::{FixedClock, GrievancePolicy, GrievanceServices};
use lianxi_gateway::app::deadlines;
use lianxi_gateway::server::state_with;
use lianxi_projections::grievance_list::GrievanceList;
use lianxi_projections::Runner;
use lianxi_tests::{on_both_stores, quick_runners, Api, Cast, Server, TestDb};
use serde_json::json;

on_both_stores!(
    two_schedulers_escalate_a_missed_deadline_exactly_once,
    the_escalation_queue_lists_open_items_most_overdue_first,
);

async fn catch_up(t: &TestDb) {
    let (_wake, woken) = tokio::sync::watch::channel(0u64);
    let runner = Runner::new(
        t.db.store(),
        Arc::new(GrievanceList),
        quick_runners(),
        woken,
    );
    runner.catch_up().await.expect("catch up").expect("leads");
}

async fn two_schedulers_escalate_a_missed_deadline_exactly_once(t: TestDb) {
    let cast = Cast::new(&t.db).await;
    let server = Server::start_with(&t.db, false).await;
    let api = Api::new(&server.base);
    let mut ids = Vec::new();
    for i in 0..6 {
        let id = api.file(&cast.a.resident).await;
        if i % 2 == 0 {
            api.command(&id, "accept", &cast.a.branch, json!({})).await;
        }
        ids.push(id);
    }
    server.stop().await;
    catch_up(&t).await;

    // Two instances whose clocks both stand past every deadline.
    let later = Utc::now() + TimeDelta::days(30);
    let instance = || {
        let services =
            GrievanceServices::new(Arc::new(FixedClock::at(later)), GrievancePolicy::default());
        state_with(t.db.clone(), services)
    };
    let (one, two) = (instance(), instance());
    for _ in 0..3 {
        let (a, b) = tokio::join!(deadlines::tick(&one), deadlines::tick(&two));
        let (a, b) = (a.expect("tick"), b.expect("tick"));
        eprintln!("{:?} {:?} on {:?}", a, b, t.store);
    }
    catch_up(&t).await;
    let (a, b) = tokio::join!(deadlines::tick(&one), deadlines::tick(&two));
    assert_eq!(
        a.expect("tick").escalated + b.expect("tick").escalated,
        0,
        "fresh deadlines are not due"
    );

    for id in &ids {
        let stream = t.db.stream("grievance", id).await.expect("stream");
        let escalations: Vec<_> = stream
            .iter()
            .filter(|e| e.event_type == "GrievanceEscalated")
            .collect();
        assert_eq!(escalations.len(), 1, "exactly one escalation for {id}");
        let e = escalations[0];
        assert_eq!(e.payload["GrievanceEscalated"]["reason"], "deadline_missed");
        assert_eq!(e.payload["GrievanceEscalated"]["to"], "community");
        assert_eq!(e.metadata["role"], "system");
        assert!(e.metadata["reason"]
            .as_str()
            .is_some_and(|r| r.contains("deadline missed")));
        // The new tier got a fresh deadline from the moment of escalation.
        let last = stream.last().expect("event");
        assert_eq!(last.event_type, "DeadlineSet");
        let due = last.payload["DeadlineSet"]["due_at"].as_str().expect("due");
        assert!(chrono::DateTime::parse_from_rfc3339(due).expect("time") > later);
    }
}

async fn the_escalation_queue_lists_open_items_most_overdue_first(t: TestDb) {
    let cast = Cast::new(&t.db).await;
    let server = Server::start(&t.db).await;
    let api = Api::new(&server.base);
    let a = &cast.a;
    let file = |urgency: &'static str| {
        let api = api.clone();
        let token = a.resident.token.clone();
        async move {
            let mut body = lianxi_tests::sample_grievance();
            body["urgency"] = json!(urgency);
            let answer = api.post("/api/v1/grievances", &token, body).await;
            answer.body["id"].as_str().expect("id").to_owned()
        }
    };
    let normal = file("normal").await;
    let urgent = file("urgent").await;
    let paused = file("normal").await;
    let escalated = file("urgent").await;
    api.command(&paused, "accept", &a.branch, json!({})).await;
    api.command(
        &paused,
        "pause",
        &a.branch,
        json!({"reason": "等待业主补充照片"}),
    )
    .await;
    api.command(&escalated, "accept", &a.branch, json!({}))
        .await;
    api.command(
        &escalated,
        "triage",
        &a.branch,
        json!({"matter_class": "major", "party": "property_company"}),
    )
    .await;
    let last = api
        .command(
            &escalated,
            "escalate",
            &a.branch,
            json!({"reason": "manual"}),
        )
        .await;
    let position = last["position"].as_str().expect("position");

    let queue = api
        .get(
            &format!("/api/v1/escalation-queue?min_position={position}"),
            &a.branch.token,
        )
        .await;
    assert_eq!(queue.status.as_u16(), 200, "{}", queue.body);
    assert_eq!(queue.body["tier"], "xiaoqu");
    let items = queue.body["items"].as_array().expect("items");
    let order: Vec<&str> = items
        .iter()
        .map(|i| i["grievance"]["id"].as_str().expect("id"))
        .collect();
    // Urgent (accept within 2 h) before normal (24 h); the paused one last.
    assert_eq!(
        order,
        vec![urgent.as_str(), normal.as_str(), paused.as_str()]
    );
    assert_eq!(items[0]["stage"], "accept");
    assert!(items[0]["due_at"].is_string());
    assert!(
        items[0]["overdue_seconds"].as_i64().is_some_and(|s| s < 0),
        "not yet due"
    );
    assert_eq!(items[2]["paused"], true);
    assert!(items[2]["due_at"].is_null());
    assert_eq!(items[2]["grievance"]["paused"]["stage"], "respond");

    let community = api
        .get(
            &format!("/api/v1/escalation-queue?min_position={position}"),
            &a.community.token,
        )
        .await;
    let items = community.body["items"].as_array().expect("items");
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["grievance"]["id"], escalated.as_str());
    assert_eq!(
        items[0]["urgent_meeting"], true,
        "a major matter calls for an urgent meeting"
    );
    assert_eq!(
        items[0]["stage"], "convene",
        "the urgent window runs until the meeting is convened"
    );
    // Another community's queue is empty; residents have none.
    let other = api
        .get(
            &format!("/api/v1/escalation-queue?min_position={position}"),
            &cast.b.community.token,
        )
        .await;
    assert_eq!(other.body["items"], json!([]));
    api.get("/api/v1/escalation-queue", &a.resident.token)
        .await
        .assert_problem(403, "forbidden");
    api.get("/api/v1/escalation-queue?tier=district", &a.branch.token)
        .await
        .assert_problem(403, "forbidden");

    // Resuming restarts the clock with the time that was left.
    let resumed = api.command(&paused, "resume", &a.branch, json!({})).await;
    let view = api
        .get(&format!("/api/v1/grievances/{paused}"), &a.branch.token)
        .await;
    assert_eq!(view.body["deadline"]["stage"], "respond");
    assert!(view.body["paused"].is_null());
    api.post(
        &format!("/api/v1/grievances/{paused}/resume"),
        &a.branch.token,
        json!({}),
    )
    .await
    .assert_problem(409, "invalid-transition");
    assert!(resumed["position"].is_string());
    server.stop().await;
}
