//! Thirty households report one lift outage. The branch finds the other 29
//! as likely duplicates of the first and merges them in one request; every
//! household then rates the outcome as its own and may ask to reopen it
//! within the window.

use std::sync::Arc;

use chrono::{TimeDelta, Utc};
use lianxi_domain::{FixedClock, GrievancePolicy, GrievanceServices, Role};
use lianxi_gateway::db::Scope;
use lianxi_gateway::server::{state_with, Service};
use lianxi_tests::{
    add_person, eventually, ok, on_both_stores, quick_background, Api, Cast, Person, Server, TestDb,
};
use serde_json::{json, Value};

on_both_stores!(thirty_households_merged_at_once_each_rate_and_may_reopen);

fn rating_of(i: usize) -> &'static str {
    match i {
        0..20 => "satisfied",
        20..25 => "mostly_satisfied",
        _ => "unsatisfied",
    }
}

async fn event_count(api: &Api, id: &str, who: &Person) -> usize {
    api.events(id, who).await.len()
}

async fn thirty_households_merged_at_once_each_rate_and_may_reopen(t: TestDb) {
    let cast = Cast::new(&t.db).await;
    let clock = FixedClock::at(Utc::now());
    let services = GrievanceServices::new(Arc::new(clock.clone()), GrievancePolicy::default());
    let server = Server::serve(Service::start_with(
        state_with(t.db.clone(), services),
        quick_background(),
    ))
    .await;
    let api = Api::new(&server.base);
    let a = &cast.a;
    let mut households = vec![a.resident.clone(), a.neighbour.clone()];
    for _ in 0..28 {
        households.push(add_person(&t.db, Role::Resident, Scope::Xiaoqu(a.id)).await);
    }
    let mut ids = Vec::new();
    for h in &households {
        ids.push(api.file(h).await);
    }
    let primary = ids[0].clone();
    let elsewhere = api.file(&cast.b.resident).await;

    // Before filing, a draft about the same outage finds them (no ids for
    // a resident); the branch finds the other 29 on the first one's page.
    let draft = ok(
        &api.get(
            "/api/v1/grievances/likely-duplicates?category=repairs&title=3栋电梯又停运了&building=3栋",
            &households[3].token,
        )
        .await,
        "draft",
    );
    let found = eventually(
        "the branch sees 29 likely duplicates",
        || async {
            api.get(
                &format!("/api/v1/grievances/{primary}/likely-duplicates"),
                &a.branch.token,
            )
            .await
            .body
        },
        |v| v["items"].as_array().is_some_and(|i| i.len() == 29),
    )
    .await;
    let draft_items = draft["items"].as_array().expect("items");
    assert!(!draft_items.is_empty(), "{draft}");
    // Its own grievance first, to follow; nobody else's id.
    assert_eq!(draft_items[0]["own"], json!(true), "{draft}");
    assert!(draft_items[0]["id"].is_string(), "{draft}");
    assert!(
        draft_items[1..]
            .iter()
            .all(|i| i["id"].is_null() && i["own"] == json!(false)),
        "{draft}"
    );
    let mut listed: Vec<&str> = found["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["id"].as_str().expect("a handler sees ids"))
        .collect();
    listed.sort_unstable();
    let mut others: Vec<&str> = ids[1..].iter().map(String::as_str).collect();
    others.sort_unstable();
    assert_eq!(listed, others);

    // One refused duplicate (another xiaoqu's) refuses the request, and
    // nothing is written.
    api.command(&primary, "accept", &a.branch, json!({})).await;
    let before = (
        event_count(&api, &primary, &a.branch).await,
        event_count(&api, &ids[1], &a.branch).await,
    );
    let refused = api
        .post(
            &format!("/api/v1/grievances/{primary}/duplicates"),
            &a.branch.token,
            json!({"duplicates": [ids[1], elsewhere]}),
        )
        .await;
    refused.assert_problem(422, "invalid-field");
    refused.assert_field("duplicates[1]");
    let after = (
        event_count(&api, &primary, &a.branch).await,
        event_count(&api, &ids[1], &a.branch).await,
    );
    assert_eq!(before, after, "a refused merge writes nothing");
    // Its own filer may not merge.
    api.post(
        &format!("/api/v1/grievances/{primary}/duplicates"),
        &households[0].token,
        json!({"duplicates": [ids[1]]}),
    )
    .await
    .assert_problem(403, "forbidden");

    // All 29 in one request.
    let merged = ok(
        &api.post(
            &format!("/api/v1/grievances/{primary}/duplicates"),
            &a.branch.token,
            json!({"duplicates": ids[1..]}),
        )
        .await,
        "merge 29",
    );
    assert_eq!(merged["id"], primary.as_str());
    let linked = api
        .events(&primary, &a.branch)
        .await
        .iter()
        .filter(|e| e["event_type"] == "DuplicateLinked")
        .count();
    assert_eq!(linked, 29);
    for id in &ids[1..] {
        let g = ok(
            &api.get(&format!("/api/v1/grievances/{id}"), &a.branch.token)
                .await,
            "a duplicate",
        );
        assert_eq!(g["status"], "merged");
    }

    // The matter is handled once.
    api.command(
        &primary,
        "triage",
        &a.branch,
        json!({"matter_class": "minor", "party": "property_company"}),
    )
    .await;
    api.command(&primary, "assign", &a.branch, json!({})).await;
    api.command(
        &primary,
        "respond",
        &a.company,
        json!({"response": "已更换主板,今日恢复运行。"}),
    )
    .await;
    api.command(
        &primary,
        "resolve",
        &a.branch,
        json!({"summary": "电梯已恢复运行。"}),
    )
    .await;

    // Every household rates, as its own: 20 satisfied, 5 mostly, 5 not.
    let mut position = String::new();
    for (i, h) in households.iter().enumerate() {
        let answer = api
            .command(&primary, "rate", h, json!({"rating": rating_of(i)}))
            .await;
        position = answer["position"].as_str().expect("position").to_owned();
    }
    api.post(
        &format!("/api/v1/grievances/{primary}/rate"),
        &households[29].token,
        json!({"rating": "satisfied"}),
    )
    .await
    .assert_problem(422, "rule-violated");
    let figures = api
        .get_at(
            &format!("/api/v1/figures?xiaoqu={}", a.id),
            &a.branch.token,
            &position,
        )
        .await
        .body;
    // docs/api.md: satisfied or mostly satisfied households over the
    // households that rated, each household once.
    assert_eq!(
        figures["satisfaction_rate"],
        json!({"count": 25, "of": 30, "rate": 25.0 / 30.0}),
        "{figures}"
    );

    // A satisfied household may not reopen; an unsatisfied one may, inside
    // the window, which counts as a reopening and clears every rating.
    api.post(
        &format!("/api/v1/grievances/{primary}/reopen"),
        &households[5].token,
        json!({"reason": "想再看看"}),
    )
    .await
    .assert_problem(422, "rule-violated");
    clock.advance(TimeDelta::days(3));
    let reopened = api
        .command(
            &primary,
            "reopen",
            &households[27],
            json!({"reason": "电梯又停了"}),
        )
        .await;
    assert_eq!(reopened["status"], "assigned");
    let position = reopened["position"].as_str().expect("position");
    let figures: Value = api
        .get_at(
            &format!("/api/v1/figures?xiaoqu={}", a.id),
            &a.branch.token,
            position,
        )
        .await
        .body;
    assert_eq!(figures["reopen_rate"]["count"], 1, "{figures}");
    assert_eq!(figures["satisfaction_rate"]["of"], 0, "{figures}");

    // Resolved again; past the window a household's request is refused and
    // changes nothing.
    api.command(
        &primary,
        "respond",
        &a.company,
        json!({"response": "已全面检修。"}),
    )
    .await;
    api.command(
        &primary,
        "resolve",
        &a.branch,
        json!({"summary": "检修完成。"}),
    )
    .await;
    clock.advance(TimeDelta::days(16));
    let count = event_count(&api, &primary, &a.branch).await;
    api.post(
        &format!("/api/v1/grievances/{primary}/reopen"),
        &households[28].token,
        json!({"reason": "还是不放心"}),
    )
    .await
    .assert_problem(422, "rule-violated");
    assert_eq!(event_count(&api, &primary, &a.branch).await, count);
    server.stop().await;
}
