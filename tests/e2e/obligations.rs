//! A missed obligation of a mediation agreement, on both stores, in a
//! deployment that escalates on it at once (`escalate_on_missed_obligation`):
//! the grievance reopens with its case and climbs one tier, exactly once,
//! while the obligations still owed stay open.

use std::sync::Arc;

use chrono::TimeDelta;
use lianxi_domain::{FixedClock, GrievancePolicy, GrievanceServices};
use lianxi_gateway::server::{state_with, Service};
use lianxi_tests::{eventually, ok, on_both_stores, quick_background, test_vault, Api, Cast};
use lianxi_tests::{Server, TestDb};
use serde_json::json;

use super::meetings::{clock_now, grievance, responded};
use super::web::signed_in_as;

on_both_stores!(a_missed_obligation_escalates_at_once_where_the_deployment_says_so);

async fn a_missed_obligation_escalates_at_once_where_the_deployment_says_so(t: TestDb) {
    let cast = Cast::new(&t.db).await;
    let clock = FixedClock::at(chrono::Utc::now());
    let policy = GrievancePolicy {
        escalate_on_missed_obligation: true,
        ..GrievancePolicy::default()
    };
    let services = GrievanceServices::new(Arc::new(clock.clone()), policy);
    let state = state_with(t.db.clone(), services).with_vault(test_vault());
    let server = Server::serve(Service::start_with(state, quick_background())).await;
    let api = Api::new(&server.base);
    let a = &cast.a;
    let id = responded(&api, a, &a.resident).await;
    let opened = ok(
        &api.post(
            "/api/v1/mediation-cases",
            &a.branch.token,
            json!({"matter": "车位纠纷", "grievances": [id], "respondents": [{"kind": "party", "id": "property_company"}]}),
        )
        .await,
        "open a case",
    );
    let case = opened["id"].as_str().expect("case").to_owned();
    let path = |tail: &str| format!("/api/v1/mediation-cases/{case}{tail}");
    let now = clock_now(&clock);
    let company = json!({"kind": "party", "id": "property_company"});
    let resident = json!({"kind": "person", "id": a.resident.id.to_string()});
    ok(
        &api.post(
            &path("/sessions"),
            &a.branch.token,
            json!({"scheduled_for": now + TimeDelta::hours(2), "place": "调解室"}),
        )
        .await,
        "schedule",
    );
    ok(
        &api.post(
            &path("/sessions/1/record"),
            &a.branch.token,
            json!({"attendance": [resident, company], "statements": []}),
        )
        .await,
        "record",
    );
    ok(
        &api.post(
            &path("/proposal"),
            &a.branch.token,
            json!({"terms": "物业公示账目并退费",
                   "obligations": [
                       {"party": company, "description": "七天内公示账目", "due_at": now + TimeDelta::days(7)},
                       {"party": company, "description": "三十天内退还多收费用", "due_at": now + TimeDelta::days(30)}]}),
        )
        .await,
        "propose",
    );
    for who in [&a.resident, &a.company] {
        ok(
            &api.post(&path("/proposal/acceptance"), &who.token, json!({}))
                .await,
            "accept the proposal",
        );
    }
    eventually(
        "the grievance resolved by the agreement",
        || grievance(&api, &id, &a.resident),
        |g| g["status"] == "resolved",
    )
    .await;

    // The accounts are not published in time.
    clock.advance(TimeDelta::days(8));
    let g = eventually(
        "the grievance reopened with its case and one tier up",
        || grievance(&api, &id, &a.resident),
        |g| g["status"] == "in_mediation" && g["tier"] == "community",
    )
    .await;
    assert_eq!(g["escalations"], 1, "{g}");
    let reopened = ok(&api.get(&path(""), &a.branch.token).await, "the case");
    let obligations = &reopened["agreement"]["obligations"];
    assert_eq!(obligations[0]["status"], "missed");
    assert_eq!(obligations[1]["status"], "open", "the refund is still owed");
    // Still owed: on the joint meeting's proposed agenda too.
    let agenda = ok(
        &api.get(
            &format!("/api/v1/xiaoqu/{}/agenda", a.id.0),
            &a.branch.token,
        )
        .await,
        "the agenda",
    );
    let owed = agenda["open_obligations"].as_array().expect("owed");
    assert_eq!(owed.len(), 1, "{agenda}");
    assert_eq!(owed[0]["case"], json!(case));
    assert_eq!(owed[0]["obligation"]["description"], "三十天内退还多收费用");
    assert_eq!(owed[0]["obligation"]["party"], company);
    let (mut branch, _) = signed_in_as(
        &server,
        &cast,
        json!({"role": "party_branch", "xiaoqu": a.id, "personal_data": {"name": "张书记"}}),
        "branch-owed",
    )
    .await;
    let page = branch.get("/meetings").await;
    assert!(
        page.html.contains("调解协议中尚未履行的义务")
            && page.html.contains("三十天内退还多收费用"),
        "{}",
        page.html
    );
    assert!(
        !page.html.contains("七天内公示账目"),
        "the missed one is not owed"
    );
    // Exactly once, though the scheduler and the follow-up worker go on.
    api.settled().await;
    let escalations: Vec<_> = api
        .events(&id, &a.branch)
        .await
        .into_iter()
        .filter(|e| e["event_type"] == "GrievanceEscalated")
        .collect();
    assert_eq!(escalations.len(), 1, "{escalations:?}");
    assert_eq!(
        escalations[0]["payload"]["GrievanceEscalated"]["reason"],
        "obligation_missed"
    );
    server.stop().await;
}
