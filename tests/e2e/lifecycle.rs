//! A grievance's whole life over HTTP, on both stores.

use lianxi_tests::{on_both_stores, Api, Cast, Server, TestDb};
use reqwest::StatusCode;
use serde_json::{json, Value};

on_both_stores!(
    a_grievance_lives_from_filing_through_reopening_to_a_satisfied_rating,
    a_duplicate_is_merged_and_its_filer_still_follows_the_primary,
    a_merge_at_a_stale_version_is_refused_and_writes_nothing,
    a_grievance_can_be_rejected_or_withdrawn,
    escalation_hands_the_grievance_to_the_next_tier,
);

fn types(events: &[Value]) -> Vec<&str> {
    events
        .iter()
        .map(|e| e["event_type"].as_str().unwrap_or("?"))
        .collect()
}

async fn a_grievance_lives_from_filing_through_reopening_to_a_satisfied_rating(t: TestDb) {
    let cast = Cast::new(&t.db).await;
    let server = Server::start(&t.db).await;
    let api = Api::new(&server.base);
    let a = &cast.a;

    let filed = api
        .post(
            "/api/v1/grievances",
            &a.resident.token,
            lianxi_tests::sample_grievance(),
        )
        .await;
    assert_eq!(filed.status, StatusCode::CREATED);
    let id = filed.body["id"].as_str().expect("id").to_owned();
    assert_eq!(
        filed.header("location"),
        Some(format!("/api/v1/grievances/{id}").as_str())
    );
    assert_eq!(filed.header("etag"), Some("\"2\""));
    assert_eq!(filed.body["status"], "filed");
    assert_eq!(filed.body["version"], 2);

    let steps: Vec<(&str, &lianxi_tests::Person, Value, &str)> = vec![
        ("accept", &a.branch, json!({}), "accepted"),
        (
            "triage",
            &a.branch,
            json!({"matter_class": "minor", "party": "property_company"}),
            "triaged",
        ),
        (
            "assign",
            &a.branch,
            json!({"note": "三天内修复"}),
            "assigned",
        ),
        (
            "respond",
            &a.company,
            json!({"response": "已联系维保单位,周五前修复。"}),
            "responded",
        ),
        (
            "resolve",
            &a.branch,
            json!({"summary": "电梯已修复并通过检验"}),
            "resolved",
        ),
        (
            "rate",
            &a.resident,
            json!({"rating": "unsatisfied", "comment": "又坏了"}),
            "closed",
        ),
        (
            "reopen",
            &a.resident,
            json!({"reason": "电梯周末再次停运"}),
            "assigned",
        ),
        (
            "respond",
            &a.company,
            json!({"response": "更换了控制板"}),
            "responded",
        ),
        (
            "resolve",
            &a.branch,
            json!({"summary": "控制板已更换"}),
            "resolved",
        ),
        (
            "rate",
            &a.resident,
            json!({"rating": "satisfied"}),
            "closed",
        ),
    ];
    let mut last_version = 2;
    for (step, (action, person, body, status)) in steps.into_iter().enumerate() {
        let request_id = format!("walk-{step}-{action}");
        let answer = lianxi_tests::Api::send(
            api.request(
                reqwest::Method::POST,
                &format!("/api/v1/grievances/{id}/{action}"),
                Some(&person.token),
            )
            .header("x-request-id", &request_id)
            .json(&body),
        )
        .await;
        assert_eq!(answer.status, StatusCode::OK, "{action}: {}", answer.body);
        assert_eq!(answer.body["status"], status, "after {action}");
        let version = answer.body["version"].as_u64().expect("version");
        assert!(version > last_version, "every command appends");
        assert_eq!(
            answer.header("etag"),
            Some(format!("\"{version}\"").as_str())
        );
        last_version = version;
        assert_eq!(answer.header("x-request-id"), Some(request_id.as_str()));
    }

    let view = api
        .get(&format!("/api/v1/grievances/{id}"), &a.resident.token)
        .await;
    assert_eq!(view.status, StatusCode::OK);
    assert_eq!(
        view.header("etag"),
        Some(format!("\"{last_version}\"").as_str())
    );
    assert!(
        view.body["deadline"].is_null(),
        "a closed grievance has no deadline"
    );
    assert_eq!(view.body["status"], "closed");
    assert_eq!(view.body["rating"], "satisfied");
    assert_eq!(view.body["reopenings"], 1);
    assert_eq!(view.body["assigned_party"], "property_company");
    assert_eq!(view.body["filer"], a.resident.id.to_string());
    assert_eq!(view.body["location"]["unit"], "2单元");
    assert_eq!(view.body["attachments"], json!([]));

    let events = api.events(&id, &a.branch).await;
    assert_eq!(events.len() as u64, last_version);
    // Each stage start sets a deadline right after the event that starts it.
    let all_types = types(&events);
    for (i, t) in all_types.iter().enumerate() {
        if matches!(
            *t,
            "GrievanceFiled" | "GrievanceAccepted" | "GrievanceResponded" | "GrievanceReopened"
        ) {
            assert_eq!(
                all_types.get(i + 1),
                Some(&"DeadlineSet"),
                "{t} starts a clock"
            );
        }
    }
    let lifecycle: Vec<&str> = all_types
        .iter()
        .copied()
        .filter(|t| *t != "DeadlineSet")
        .collect();
    assert_eq!(
        lifecycle,
        [
            "GrievanceFiled",
            "GrievanceAccepted",
            "GrievanceTriaged",
            "GrievanceAssigned",
            "GrievanceResponded",
            "GrievanceResolved",
            "OutcomeRated",
            "GrievanceReopened",
            "GrievanceResponded",
            "GrievanceResolved",
            "OutcomeRated",
        ]
    );
    let mut last_position = 0;
    for (i, event) in events.iter().enumerate() {
        assert_eq!(event["sequence"], i + 1);
        let position = event["global_position"].as_i64().expect("global position");
        assert!(
            position > last_position,
            "global positions increase along a stream"
        );
        last_position = position;
        assert!(event["event_id"].as_str().is_some_and(|s| s.len() == 36));
        assert!(event["recorded_at"].is_string());
        for key in ["actor", "role", "request_id", "occurred_at", "command"] {
            assert!(
                event["metadata"][key].is_string(),
                "metadata.{key} in {event}"
            );
        }
    }
    let of_type = |t: &str| {
        events
            .iter()
            .find(|e| e["event_type"] == t)
            .expect("event present")
    };
    let accepted = of_type("GrievanceAccepted");
    assert_eq!(accepted["metadata"]["request_id"], "walk-0-accept");
    assert_eq!(accepted["metadata"]["role"], "party_branch");
    assert_eq!(accepted["metadata"]["actor"], a.branch.id.to_string());
    assert_eq!(
        of_type("GrievanceReopened")["metadata"]["reason"],
        "电梯周末再次停运"
    );

    // The respondent sees the case, but not who filed it.
    let seen_by_company = api
        .get(&format!("/api/v1/grievances/{id}"), &a.company.token)
        .await;
    assert_eq!(seen_by_company.status, StatusCode::OK);
    let pseudonym = seen_by_company.body["filer"]
        .as_str()
        .expect("filer")
        .to_owned();
    assert!(pseudonym.starts_with("person-"));
    let company_events = api.events(&id, &a.company).await;
    let text = serde_json::to_string(&company_events).expect("json");
    assert!(
        !text.contains(&a.resident.id.to_string()),
        "the filer's id never reaches the respondent"
    );
    assert!(text.contains(&pseudonym));
    // The auditor reads everything, pseudonymised.
    let audited = api
        .get(&format!("/api/v1/grievances/{id}"), &cast.auditor.token)
        .await;
    assert_eq!(audited.body["filer"], pseudonym.as_str());

    server.stop().await;
}

async fn a_duplicate_is_merged_and_its_filer_still_follows_the_primary(t: TestDb) {
    let cast = Cast::new(&t.db).await;
    let server = Server::start(&t.db).await;
    let api = Api::new(&server.base);
    let a = &cast.a;
    let primary = api.file(&a.resident).await;
    let duplicate = api.file(&a.neighbour).await;
    // The neighbour cannot see the primary before the merge.
    let before = api
        .get(&format!("/api/v1/grievances/{primary}"), &a.neighbour.token)
        .await;
    assert_eq!(before.status, StatusCode::NOT_FOUND);

    let merged = api
        .command(&duplicate, "merge", &a.branch, json!({"primary": primary}))
        .await;
    assert_eq!(merged["status"], "merged");
    let primary_view = api
        .get(&format!("/api/v1/grievances/{primary}"), &a.branch.token)
        .await;
    assert_eq!(primary_view.body["duplicates"], json!([duplicate]));
    let duplicate_view = api
        .get(&format!("/api/v1/grievances/{duplicate}"), &a.branch.token)
        .await;
    assert_eq!(duplicate_view.body["merged_into"], primary.as_str());

    let followed = api
        .get(&format!("/api/v1/grievances/{primary}"), &a.neighbour.token)
        .await;
    assert_eq!(
        followed.status,
        StatusCode::OK,
        "the duplicate's filer follows the primary"
    );

    // Merging again is refused and links nothing twice.
    let again = api
        .post(
            &format!("/api/v1/grievances/{duplicate}/merge"),
            &a.branch.token,
            json!({"primary": primary}),
        )
        .await;
    again.assert_problem(409, "invalid-transition");
    assert_eq!(
        types(&api.events(&primary, &a.branch).await),
        ["GrievanceFiled", "DeadlineSet", "DuplicateLinked"]
    );
    server.stop().await;
}

async fn a_grievance_can_be_rejected_or_withdrawn(t: TestDb) {
    let cast = Cast::new(&t.db).await;
    let server = Server::start(&t.db).await;
    let api = Api::new(&server.base);
    let a = &cast.a;
    let rejected = api.file(&a.resident).await;
    let body = api
        .command(
            &rejected,
            "reject",
            &a.branch,
            json!({"reason": "不属于物业服务范围"}),
        )
        .await;
    assert_eq!(body["status"], "rejected");
    let events = api.events(&rejected, &a.branch).await;
    let rejection = events
        .iter()
        .find(|e| e["event_type"] == "GrievanceRejected")
        .expect("rejected");
    assert_eq!(rejection["metadata"]["reason"], "不属于物业服务范围");

    let withdrawn = api.file(&a.resident).await;
    api.command(&withdrawn, "accept", &a.branch, json!({}))
        .await;
    // An empty body is fine for commands whose fields are all optional.
    let answer = lianxi_tests::Api::send(api.request(
        reqwest::Method::POST,
        &format!("/api/v1/grievances/{withdrawn}/withdraw"),
        Some(&a.resident.token),
    ))
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.body["status"], "withdrawn");
    server.stop().await;
}

async fn escalation_hands_the_grievance_to_the_next_tier(t: TestDb) {
    let cast = Cast::new(&t.db).await;
    let server = Server::start(&t.db).await;
    let api = Api::new(&server.base);
    let a = &cast.a;
    let id = api.file(&a.resident).await;
    api.command(&id, "accept", &a.branch, json!({})).await;
    // Not yet escalated: the community does not see it.
    let hidden = api
        .get(&format!("/api/v1/grievances/{id}"), &a.community.token)
        .await;
    hidden.assert_problem(404, "not-found");

    let body = api
        .command(
            &id,
            "escalate",
            &a.resident,
            json!({"reason": "filer_request", "note": "三天无人处理"}),
        )
        .await;
    assert_eq!(body["tier"], "community");
    assert_eq!(body["status"], "accepted");

    let seen = api
        .get(&format!("/api/v1/grievances/{id}"), &a.community.token)
        .await;
    assert_eq!(seen.status, StatusCode::OK);
    // The community now handles it; the branch no longer does.
    api.post(
        &format!("/api/v1/grievances/{id}/triage"),
        &a.branch.token,
        json!({"matter_class": "major", "party": "community"}),
    )
    .await
    .assert_problem(403, "forbidden");
    api.command(
        &id,
        "triage",
        &a.community,
        json!({"matter_class": "major", "party": "community"}),
    )
    .await;
    // Another community sees nothing of it.
    let other = api
        .get(&format!("/api/v1/grievances/{id}"), &cast.b.community.token)
        .await;
    other.assert_problem(404, "not-found");
    server.stop().await;
}

async fn a_merge_at_a_stale_version_is_refused_and_writes_nothing(t: TestDb) {
    let cast = Cast::new(&t.db).await;
    let server = Server::start(&t.db).await;
    let api = Api::new(&server.base);
    let a = &cast.a;
    let primary = api.file(&a.resident).await;
    let duplicate = api.file(&a.neighbour).await;
    // The handler read the duplicate at version 2; then it was accepted.
    api.command(&duplicate, "accept", &a.branch, json!({}))
        .await;
    let before = (
        api.events(&primary, &a.branch).await.len(),
        api.events(&duplicate, &a.branch).await.len(),
    );
    let merge_at = |version: &'static str| {
        Api::send(
            api.request(
                reqwest::Method::POST,
                &format!("/api/v1/grievances/{duplicate}/merge"),
                Some(&a.branch.token),
            )
            .header("If-Match", version)
            .json(&json!({"primary": primary})),
        )
    };
    merge_at("\"2\"").await.assert_problem(412, "stale-version");
    let after = (
        api.events(&primary, &a.branch).await.len(),
        api.events(&duplicate, &a.branch).await.len(),
    );
    assert_eq!(before, after, "a refused merge wrote nothing");
    // At the current version it goes through, linking once.
    let merged = merge_at("\"4\"").await;
    assert_eq!(merged.status, StatusCode::OK, "{}", merged.body);
    assert_eq!(api.events(&primary, &a.branch).await.len(), before.0 + 1);
    server.stop().await;
}
