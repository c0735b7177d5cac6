//! Joint meetings and mediation cases over HTTP, on both stores: the
//! regular agenda, the urgent window, agreements, missed obligations,
//! failed mediations, and public minutes without personal data.

use std::sync::Arc;

use chrono::{TimeDelta, Utc};
use lianxi_domain::{Actor, FixedClock, GrievancePolicy, GrievanceServices, Role};
use lianxi_gateway::event_log::CommandMetadata;
use lianxi_gateway::server::{state_with, Service};
use lianxi_gateway::vault::PersonalData;
use lianxi_tests::{
    eventually, ok, on_both_stores, quick_background, test_vault, Api, Cast, Person, Server, TestDb,
};
use reqwest::StatusCode;
use serde_json::{json, Value};

on_both_stores!(
    a_minor_parking_dispute_is_decided_at_the_next_regular_meeting,
    a_major_matter_needs_an_urgent_meeting_and_escalates_once_when_the_window_passes,
    an_agreement_with_a_missed_obligation_reopens_the_case_and_its_grievance,
    a_failed_mediation_escalates_its_grievances_one_tier_or_refers_them_out,
    public_minutes_carry_no_personal_data,
    two_workers_and_a_replayed_outbox_make_each_grievance_follow_each_step_once,
    the_quorum_is_configurable_per_xiaoqu,
    meeting_and_case_lists_page_filter_and_refuse_bad_queries,
);

fn parking() -> Value {
    json!({
        "category": "parking",
        "title": "地下车库车位被长期占用",
        "description": "B2层公共车位被同一辆车长期占用。",
        "location": {"common_area": "地下车库B2"},
        "respondent": "property_company",
        "urgency": "normal",
        "channel": "web"
    })
}

async fn file(api: &Api, who: &Person, body: Value) -> String {
    let answer = api.post("/api/v1/grievances", &who.token, body).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
    answer.body["id"].as_str().expect("id").to_owned()
}

pub(super) async fn grievance(api: &Api, id: &str, who: &Person) -> Value {
    let answer = api
        .get(&format!("/api/v1/grievances/{id}"), &who.token)
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    answer.body
}

pub(super) fn present() -> Value {
    json!([
        "party_branch",
        "owners_committee",
        "supervisory_committee",
        "property_company"
    ])
}

pub(super) fn positions() -> Value {
    json!([
        {"party": "party_branch", "stance": "agree"},
        {"party": "owners_committee", "stance": "agree"},
        {"party": "supervisory_committee", "stance": "abstain"},
        {"party": "property_company", "stance": "object"}
    ])
}

async fn a_minor_parking_dispute_is_decided_at_the_next_regular_meeting(t: TestDb) {
    let cast = Cast::new(&t.db).await;
    let server = Server::start(&t.db).await;
    let api = Api::new(&server.base);
    let a = &cast.a;
    let id = file(&api, &a.resident, parking()).await;
    api.command(&id, "accept", &a.branch, json!({})).await;
    api.command(
        &id,
        "triage",
        &a.branch,
        json!({"matter_class": "minor", "party": "property_company"}),
    )
    .await;
    // Only the handler refers a matter to the meeting.
    api.post(
        &format!("/api/v1/grievances/{id}/refer-to-meeting"),
        &a.company.token,
        json!({}),
    )
    .await
    .assert_problem(403, "forbidden");
    api.command(
        &id,
        "refer-to-meeting",
        &a.branch,
        json!({"note": "车位分配需业委会、物业共同商议"}),
    )
    .await;

    let agenda_path = format!("/api/v1/xiaoqu/{}/agenda", a.id);
    let agenda = eventually(
        "the grievance on the proposed agenda",
        || async { api.get(&agenda_path, &a.branch.token).await.body },
        |b| {
            b["regular"]
                .as_array()
                .is_some_and(|r| r.iter().any(|g| g["grievance"] == id.as_str()))
        },
    )
    .await;
    assert_eq!(agenda["urgent"], json!([]));
    // A matter escalated to the community comes back to the xiaoqu's table
    // when the community refers it to the meeting.
    let returned = file(&api, &a.neighbour, parking()).await;
    api.command(&returned, "accept", &a.branch, json!({})).await;
    api.command(
        &returned,
        "escalate",
        &a.branch,
        json!({"reason": "manual", "note": "涉及多个小区"}),
    )
    .await;
    api.command(
        &returned,
        "refer-to-meeting",
        &a.community,
        json!({"note": "请小区联席会议先行商议"}),
    )
    .await;
    let agenda = eventually(
        "the returned matter on the proposed agenda",
        || async { api.get(&agenda_path, &a.branch.token).await.body },
        |b| {
            b["regular"]
                .as_array()
                .is_some_and(|r| r.iter().any(|g| g["grievance"] == returned.as_str()))
        },
    )
    .await;
    let entry = agenda["regular"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|g| g["grievance"] == returned.as_str())
        .cloned()
        .unwrap_or_default();
    assert_eq!(entry["tier"], "community", "{agenda}");
    // Another xiaoqu's branch learns nothing of it.
    api.get(&agenda_path, &cast.b.branch.token)
        .await
        .assert_problem(404, "not-found");

    let when = Utc::now() + TimeDelta::days(3);
    let convened = api
        .post(
            "/api/v1/meetings",
            &a.branch.token,
            json!({
                "kind": "regular",
                "scheduled_for": when,
                "place": "小区党群服务站",
                "agenda": [{"subject": {"kind": "grievance", "id": id}, "title": "地下车库公共车位管理"}]
            }),
        )
        .await;
    let meeting = ok(&convened, "convene");
    assert_eq!(convened.status, StatusCode::CREATED);
    let meeting_id = meeting["id"].as_str().expect("meeting id").to_owned();
    let item = meeting["agenda"][0]["id"]
        .as_str()
        .expect("item")
        .to_owned();
    assert_eq!(meeting["status"], "convened");
    assert_eq!(meeting["quorum_others_required"], 3);
    // Residents cannot convene; nor can anyone name another xiaoqu's grievance.
    api.post(
        "/api/v1/meetings",
        &a.resident.token,
        json!({"kind": "regular", "scheduled_for": when, "place": "x"}),
    )
    .await
    .assert_problem(403, "forbidden");
    api.post(
        "/api/v1/meetings",
        &cast.b.branch.token,
        json!({"kind": "regular", "scheduled_for": when, "place": "x",
               "agenda": [{"subject": {"kind": "grievance", "id": id}, "title": "别处的诉求"}]}),
    )
    .await
    .assert_problem(422, "invalid-field")
    .assert_field("agenda[0].subject");

    // The grievance follows the meeting: it is on a convened agenda now.
    eventually(
        "the grievance following the convened meeting",
        || grievance(&api, &id, &a.resident),
        |g| g["meeting_referral"]["meeting"] == meeting_id.as_str(),
    )
    .await;

    let path = |tail: &str| format!("/api/v1/meetings/{meeting_id}{tail}");
    // Without quorum the meeting does not open, and nothing changes.
    api.post(
        &path("/open"),
        &a.branch.token,
        json!({"present_parties": ["party_branch", "property_company"]}),
    )
    .await
    .assert_problem(422, "quorum-not-met");
    assert_eq!(
        api.get(&path(""), &a.branch.token).await.body["status"],
        "convened"
    );
    let opened = ok(
        &api.post(
            &path("/open"),
            &a.branch.token,
            json!({"present_parties": present()}),
        )
        .await,
        "open",
    );
    assert_eq!(opened["quorum_met"], true);

    // A missing position is refused; the full decision is recorded.
    let due = Utc::now() + TimeDelta::days(7);
    api.post(
        &path(&format!("/items/{item}/decision")),
        &a.branch.token,
        json!({"summary": "讨论B2层车位", "decision": "划线并张贴告示", "positions": [{"party": "party_branch", "stance": "agree"}]}),
    )
    .await
    .assert_problem(422, "invalid-field")
    .assert_field("positions");
    let decided = ok(
        &api.post(
            &path(&format!("/items/{item}/decision")),
            &a.branch.token,
            json!({
                "summary": "讨论B2层公共车位长期被占用的问题",
                "decision": "物业一周内划线并张贴告示,业委会监督",
                "positions": positions(),
                "action_items": [{"owner": "property_company", "description": "B2层公共车位划线并张贴告示", "due_at": due}]
            }),
        )
        .await,
        "decide",
    );
    assert_eq!(decided["agenda"][0]["outcome"], "decided");
    assert_eq!(decided["agenda"][0]["positions"][3]["stance"], "object");
    let action_item = decided["action_items"][0]["id"]
        .as_str()
        .expect("action item")
        .to_owned();
    let closed = ok(
        &api.post(
            &path("/close"),
            &a.branch.token,
            json!({"public_summary": "本次会议讨论了地下车库车位管理。"}),
        )
        .await,
        "close",
    );
    assert_eq!(closed["status"], "closed");

    // The decision ends the grievance's wait; the action item comes back
    // on the next agenda until done.
    eventually(
        "the grievance following the decision",
        || grievance(&api, &id, &a.resident),
        |g| g["meeting_referral"].is_null(),
    )
    .await;
    let agenda = eventually(
        "the open action item on the next agenda",
        || async { api.get(&agenda_path, &a.branch.token).await.body },
        |b| {
            b["open_action_items"]
                .as_array()
                .is_some_and(|x| x.len() == 1)
                && !b["regular"].to_string().contains(id.as_str())
        },
    )
    .await;
    assert_eq!(agenda["open_action_items"][0]["overdue"], false);

    // Who reads what: parties read the meeting, residents its public minutes.
    assert_eq!(
        api.get(&path(""), &a.company.token).await.status,
        StatusCode::OK
    );
    api.get(&path(""), &a.resident.token)
        .await
        .assert_problem(404, "not-found");
    api.get(&path(""), &cast.b.branch.token)
        .await
        .assert_problem(404, "not-found");
    let minutes = ok(
        &api.get(&path("/minutes"), &a.resident.token).await,
        "minutes",
    );
    assert_eq!(
        minutes["items"][0]["decision"],
        "物业一周内划线并张贴告示,业委会监督"
    );
    // The list is a read model: it shows the meeting once its runner has
    // applied the minutes.
    eventually(
        "the meeting with published minutes in the resident's list",
        || async { api.get("/api/v1/meetings", &a.resident.token).await.body },
        |b| b["items"].as_array().map(Vec::len) == Some(1),
    )
    .await;

    // The owner party marks its action item done; only once.
    let completion = path(&format!("/action-items/{action_item}/completion"));
    api.post(&completion, &a.committee.token, json!({}))
        .await
        .assert_problem(403, "forbidden");
    let done = ok(
        &api.post(&completion, &a.company.token, json!({"note": "已划线"}))
            .await,
        "complete",
    );
    assert!(done["action_items"][0]["done_at"].is_string());
    api.post(&completion, &a.company.token, json!({}))
        .await
        .assert_problem(409, "invalid-transition");
    eventually(
        "the done action item leaving the agenda",
        || async { api.get(&agenda_path, &a.branch.token).await.body },
        |b| b["open_action_items"] == json!([]),
    )
    .await;
    server.stop().await;
    lianxi_tests::assert_read_models_equal_a_rebuild(&t.db).await;
}

/// A server whose clock the test moves.
async fn server_with_clock(t: &TestDb, clock: &FixedClock) -> Server {
    let services = GrievanceServices::new(Arc::new(clock.clone()), GrievancePolicy::default());
    let state = state_with(t.db.clone(), services).with_vault(test_vault());
    Server::serve(Service::start_with(state, quick_background())).await
}

async fn a_major_matter_needs_an_urgent_meeting_and_escalates_once_when_the_window_passes(
    t: TestDb,
) {
    let cast = Cast::new(&t.db).await;
    let clock = FixedClock::at(Utc::now());
    let server = server_with_clock(&t, &clock).await;
    let api = Api::new(&server.base);
    let a = &cast.a;
    let mut ids = Vec::new();
    // Normal urgency: a convened matter's respond window (72 h) outlasts the test.
    let mut major = lianxi_tests::sample_grievance();
    major["urgency"] = json!("normal");
    for _ in 0..2 {
        let id = file(&api, &a.resident, major.clone()).await;
        api.command(&id, "accept", &a.branch, json!({})).await;
        let triaged = api
            .command(
                &id,
                "triage",
                &a.branch,
                json!({"matter_class": "major", "party": "property_company"}),
            )
            .await;
        assert_eq!(triaged["status"], "triaged");
        let g = grievance(&api, &id, &a.branch).await;
        assert_eq!(g["deadline"]["stage"], "convene");
        assert_eq!(g["meeting_referral"]["kind"], "urgent");
        ids.push(id);
    }
    let (answered, waiting) = (&ids[0], &ids[1]);
    let agenda_path = format!("/api/v1/xiaoqu/{}/agenda", a.id);
    eventually(
        "both major matters in the branch's urgent queue",
        || async { api.get(&agenda_path, &a.branch.token).await.body },
        |b| {
            b["urgent"]
                .as_array()
                .is_some_and(|u| u.len() == 2 && u.iter().all(|g| g["due_at"].is_string()))
        },
    )
    .await;

    // An urgent meeting on the first one, within the window.
    let meeting = convene_urgent(&api, &a.branch, None, answered, &clock).await;
    assert_eq!(meeting["kind"], "urgent");
    assert_eq!(meeting["chair"], "xiaoqu");
    urgent_clock_stops(&api, answered, &a.branch).await;

    // The window passes: the unconvened matter climbs one tier, once.
    clock.advance(TimeDelta::hours(49));
    eventually(
        "the unconvened matter escalating",
        || grievance(&api, waiting, &a.branch),
        |g| g["tier"] == "community" || g["status"] == "not-found",
    )
    .await;
    api.settled().await;
    let escalations = |events: Vec<Value>| {
        events
            .iter()
            .filter(|e| e["event_type"] == "GrievanceEscalated")
            .count()
    };
    assert_eq!(escalations(api.events(waiting, &a.community).await), 1);
    assert_eq!(escalations(api.events(answered, &a.branch).await), 0);
    let g = grievance(&api, waiting, &a.community).await;
    assert_eq!(
        g["deadline"]["stage"], "convene",
        "a fresh window at the new tier"
    );

    // The community holds it now, and convenes (through a second instance,
    // both schedulers running): it chairs a meeting of the xiaoqu's parties,
    // and the urgent window stops as the branch's meeting would stop it.
    let second = server_with_clock(&t, &clock).await;
    let other = Api::new(&second.base);
    let item = queue_item(&other, &a.community, waiting).await;
    assert_eq!(item["urgent_meeting"], true);
    assert_eq!(item["convene_in"], a.id.to_string(), "{item}");
    let chaired = convene_urgent(&other, &a.community, Some(a.id), waiting, &clock).await;
    assert_eq!(chaired["chair"], "community");
    urgent_clock_stops(&api, waiting, &a.community).await;
    // The community chairs; the branch does not open it.
    let meeting_id = chaired["id"].as_str().expect("meeting id");
    api.post(
        &format!("/api/v1/meetings/{meeting_id}/open"),
        &a.branch.token,
        json!({"present_parties": ["party_branch", "owners_committee", "property_company", "supervisory_committee"]}),
    )
    .await
    .assert_problem(403, "forbidden");
    // Past the old window: nothing climbs again.
    clock.advance(TimeDelta::hours(49));
    api.settled().await;
    other.settled().await;
    assert_eq!(escalations(api.events(waiting, &a.community).await), 1);
    let item = queue_item(&api, &a.community, waiting).await;
    assert_eq!(item["convene_in"], Value::Null);
    second.stop().await;
    server.stop().await;
}

/// Convenes an urgent meeting for grievance `id` as `who` (naming
/// `xiaoqu` when a tier convenes), twenty hours ahead; answers the meeting.
async fn convene_urgent(
    api: &Api,
    who: &Person,
    xiaoqu: Option<lianxi_domain::values::XiaoquId>,
    id: &str,
    clock: &FixedClock,
) -> Value {
    ok(
        &api.post(
            "/api/v1/meetings",
            &who.token,
            json!({
                "xiaoqu": xiaoqu,
                "kind": "urgent",
                "scheduled_for": clock_now(clock) + TimeDelta::hours(20),
                "place": "党群服务站",
                "agenda": [{"subject": {"kind": "grievance", "id": id}, "title": "电梯停运"}]
            }),
        )
        .await,
        "convene urgent",
    )
}

/// Grievance `id`'s item in the escalation queue of `reader`'s tier.
async fn queue_item(api: &Api, reader: &Person, id: &str) -> Value {
    let queue = ok(
        &api.get("/api/v1/escalation-queue", &reader.token).await,
        "the queue",
    );
    queue["items"]
        .as_array()
        .and_then(|items| items.iter().find(|i| i["grievance"]["id"] == id))
        .cloned()
        .expect("the grievance in the tier's queue")
}

/// Waits for grievance `id`'s urgent window to stop: a fresh respond clock.
async fn urgent_clock_stops(api: &Api, id: &str, reader: &Person) {
    eventually(
        "the urgent clock stopping",
        || grievance(api, id, reader),
        |g| g["deadline"]["stage"] == "respond",
    )
    .await;
}

pub(super) fn clock_now(clock: &FixedClock) -> chrono::DateTime<Utc> {
    use lianxi_domain::Clock;
    clock.now()
}

/// Files a grievance and takes it to `responded`.
pub(super) async fn responded(api: &Api, x: &lianxi_tests::Xiaoqu, filer: &Person) -> String {
    let id = file(api, filer, parking()).await;
    api.command(&id, "accept", &x.branch, json!({})).await;
    api.command(
        &id,
        "triage",
        &x.branch,
        json!({"matter_class": "private", "party": "property_company"}),
    )
    .await;
    api.command(&id, "assign", &x.branch, json!({})).await;
    api.command(
        &id,
        "respond",
        &x.company,
        json!({"response": "车位由业主自行协商"}),
    )
    .await;
    id
}

async fn an_agreement_with_a_missed_obligation_reopens_the_case_and_its_grievance(t: TestDb) {
    let cast = Cast::new(&t.db).await;
    let clock = FixedClock::at(Utc::now());
    let server = server_with_clock(&t, &clock).await;
    let api = Api::new(&server.base);
    let a = &cast.a;
    let id = responded(&api, a, &a.resident).await;

    // A filed grievance cannot enter mediation; a responded one can.
    let fresh = file(&api, &a.neighbour, parking()).await;
    api.post(
        "/api/v1/mediation-cases",
        &a.branch.token,
        json!({"matter": "车位纠纷", "grievances": [fresh], "respondents": [{"kind": "party", "id": "property_company"}]}),
    )
    .await
    .assert_problem(422, "invalid-field")
    .assert_field("grievances[0]");
    let opened = api
        .post(
            "/api/v1/mediation-cases",
            &a.branch.token,
            json!({"matter": "地下车库车位纠纷", "grievances": [id], "respondents": [{"kind": "party", "id": "property_company"}]}),
        )
        .await;
    assert_eq!(opened.status, StatusCode::CREATED, "{}", opened.body);
    let case = opened.body["id"].as_str().expect("case").to_owned();
    assert_eq!(
        opened.body["applicants"][0]["id"],
        a.resident.id.to_string()
    );
    let path = |tail: &str| format!("/api/v1/mediation-cases/{case}{tail}");
    eventually(
        "the grievance entering mediation",
        || grievance(&api, &id, &a.resident),
        |g| g["status"] == "in_mediation" && g["mediation_case"] == case.as_str(),
    )
    .await;
    // The respondent sees the case, the filer as a pseudonym; another xiaoqu nothing.
    let seen = ok(&api.get(&path(""), &a.company.token).await, "company reads");
    assert_ne!(seen["applicants"][0]["id"], a.resident.id.to_string());
    api.get(&path(""), &cast.b.branch.token)
        .await
        .assert_problem(404, "not-found");
    api.get(&path(""), &a.neighbour.token)
        .await
        .assert_problem(404, "not-found");

    let now = clock_now(&clock);
    ok(
        &api.post(
            &path("/sessions"),
            &a.branch.token,
            json!({"scheduled_for": now + TimeDelta::hours(2), "place": "调解室"}),
        )
        .await,
        "schedule",
    );
    let resident = json!({"kind": "person", "id": a.resident.id.to_string()});
    let company = json!({"kind": "party", "id": "property_company"});
    ok(
        &api.post(
            &path("/sessions/1/record"),
            &a.branch.token,
            json!({"attendance": [resident, company],
                   "statements": [{"party": company, "statement": "愿意每月清理一次"}]}),
        )
        .await,
        "record",
    );
    let proposed = ok(
        &api.post(
            &path("/proposal"),
            &a.branch.token,
            json!({"terms": "物业每月清理占用车位的车辆",
                   "obligations": [
                       {"party": company, "description": "三天内贴出车位使用公告", "due_at": now + TimeDelta::days(3)},
                       {"party": company, "description": "退还多收的停车费", "due_at": now + TimeDelta::days(30)}]}),
        )
        .await,
        "propose",
    );
    assert_eq!(proposed["status"], "proposed");
    // A stranger to the case cannot accept for it.
    api.post(&path("/proposal/acceptance"), &a.committee.token, json!({}))
        .await
        .assert_problem(404, "not-found");
    let half = ok(
        &api.post(&path("/proposal/acceptance"), &a.resident.token, json!({}))
            .await,
        "resident accepts",
    );
    assert_eq!(half["status"], "proposed");
    let agreed = ok(
        &api.post(&path("/proposal/acceptance"), &a.company.token, json!({}))
            .await,
        "company accepts",
    );
    assert_eq!(agreed["status"], "agreed");
    eventually(
        "the grievance resolved by the agreement",
        || grievance(&api, &id, &a.resident),
        |g| g["status"] == "resolved",
    )
    .await;

    // The due date passes unfulfilled: the case and the grievance reopen.
    clock.advance(TimeDelta::days(4));
    let reopened = eventually(
        "the case reopening on the missed obligation",
        || async { api.get(&path(""), &a.branch.token).await.body },
        |c| c["status"] == "open",
    )
    .await;
    assert_eq!(reopened["reopenings"], 1);
    assert_eq!(reopened["agreement"]["obligations"][0]["status"], "missed");
    // The refund is still owed, listed and kept: the case stays open.
    let refund = &reopened["agreement"]["obligations"][1];
    assert_eq!(refund["status"], "open", "{reopened}");
    let refund_id = refund["id"].as_str().expect("obligation id").to_owned();
    let kept = ok(
        &api.post(
            &path(&format!("/obligations/{refund_id}/fulfilment")),
            &a.company.token,
            json!({}),
        )
        .await,
        "the refund kept after the reopening",
    );
    assert_eq!(kept["status"], "open");
    assert_eq!(kept["agreement"]["obligations"][1]["status"], "fulfilled");
    let g = eventually(
        "the grievance reopening with its case",
        || grievance(&api, &id, &a.resident),
        |g| g["status"] == "in_mediation",
    )
    .await;
    assert_eq!(g["reopenings"], 1);
    // Exactly once, though the scheduler and the worker keep running.
    api.settled().await;
    let types: Vec<String> = api
        .events(&id, &a.branch)
        .await
        .iter()
        .map(|e| e["event_type"].as_str().unwrap_or("?").to_owned())
        .collect();
    assert_eq!(
        types.iter().filter(|t| *t == "CaseFollowed").count(),
        3,
        "{types:?}"
    );

    // The auditor's story and dossier take in the case; persons stay pseudonyms.
    let story = ok(
        &api.get(
            &format!("/api/v1/grievances/{id}/story"),
            &cast.auditor.token,
        )
        .await,
        "story",
    );
    let kinds: Vec<&str> = story["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter_map(|e| e["aggregate_type"].as_str())
        .collect();
    assert!(kinds.contains(&"mediation_case") && kinds.contains(&"grievance"));
    let dossier = ok(
        &api.get(
            &format!("/api/v1/grievances/{id}/dossier"),
            &cast.auditor.token,
        )
        .await,
        "dossier",
    );
    let streams = dossier["streams"].as_array().expect("streams");
    assert_eq!(streams.len(), 2, "the grievance and its case");
    assert!(
        streams.iter().all(|s| s["chain"]["ok"] == true),
        "{dossier}"
    );
    for text in [story.to_string(), dossier.to_string()] {
        for person in [&a.resident, &a.branch, &a.company] {
            assert!(
                !text.contains(&person.id.to_string()),
                "no account id in the story"
            );
        }
    }
    // The filer's own story is the grievance alone.
    let own = ok(
        &api.get(&format!("/api/v1/grievances/{id}/story"), &a.resident.token)
            .await,
        "own story",
    );
    assert!(own["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .all(|e| e["aggregate_type"] == "grievance"));
    server.stop().await;
    lianxi_tests::assert_read_models_equal_a_rebuild(&t.db).await;
}

async fn a_failed_mediation_escalates_its_grievances_one_tier_or_refers_them_out(t: TestDb) {
    let cast = Cast::new(&t.db).await;
    let server = Server::start(&t.db).await;
    let api = Api::new(&server.base);
    let a = &cast.a;
    let first = responded(&api, a, &a.resident).await;
    let second = responded(&api, a, &a.neighbour).await;
    let open = |grievances: Vec<&String>| {
        api.post(
            "/api/v1/mediation-cases",
            &a.branch.token,
            json!({"matter": "车位纠纷", "grievances": grievances,
                   "respondents": [{"kind": "party", "id": "property_company"}]}),
        )
    };
    let case = ok(&open(vec![&first, &second]).await, "open")["id"]
        .as_str()
        .expect("case")
        .to_owned();
    for id in [&first, &second] {
        eventually(
            "the grievance entering mediation",
            || grievance(&api, id, &a.branch),
            |g| g["status"] == "in_mediation",
        )
        .await;
    }
    // Only the mediator ends it.
    api.post(
        &format!("/api/v1/mediation-cases/{case}/failure"),
        &a.company.token,
        json!({"outcome": "escalate", "reason": "双方分歧过大"}),
    )
    .await
    .assert_problem(403, "forbidden");
    let failed = ok(
        &api.post(
            &format!("/api/v1/mediation-cases/{case}/failure"),
            &a.branch.token,
            json!({"outcome": "escalate", "reason": "双方分歧过大"}),
        )
        .await,
        "fail",
    );
    assert_eq!(failed["status"], "failed");
    for id in [&first, &second] {
        let g = eventually(
            "the grievance climbing one tier",
            || grievance(&api, id, &a.branch),
            |g| g["tier"] == "community",
        )
        .await;
        assert_eq!(g["status"], "triaged");
        assert_eq!(g["escalations"], 1);
    }

    // A matter referred to the courts leaves the service.
    let third = responded(&api, a, &a.resident).await;
    let case = ok(&open(vec![&third]).await, "open")["id"]
        .as_str()
        .expect("case")
        .to_owned();
    eventually(
        "the grievance entering mediation",
        || grievance(&api, &third, &a.branch),
        |g| g["status"] == "in_mediation",
    )
    .await;
    ok(
        &api.post(
            &format!("/api/v1/mediation-cases/{case}/failure"),
            &a.branch.token,
            json!({"outcome": "litigation", "reason": "当事人选择诉讼"}),
        )
        .await,
        "refer",
    );
    eventually(
        "the grievance referred out",
        || grievance(&api, &third, &a.branch),
        |g| g["status"] == "referred" && g["tier"] == "xiaoqu",
    )
    .await;
    server.stop().await;
}

async fn public_minutes_carry_no_personal_data(t: TestDb) {
    let cast = Cast::new(&t.db).await;
    let state = lianxi_gateway::server::state(t.db.clone()).with_vault(test_vault());
    let a = &cast.a;
    let data = PersonalData {
        name: "王小明".into(),
        phone: Some("13800138000".into()),
        room: Some("3栋2单元501".into()),
    };
    let metadata = CommandMetadata {
        request_id: "test".into(),
        occurred_at: Utc::now(),
        reason: None,
    };
    state
        .people
        .register(
            &Actor::new(cast.admin.id, Role::Admin),
            a.resident.id,
            &data,
            &metadata,
        )
        .await
        .expect("register personal data");
    let server = Server::serve(Service::start_with(state, quick_background())).await;
    let api = Api::new(&server.base);
    let id = file(&api, &a.resident, parking()).await;
    api.command(&id, "accept", &a.branch, json!({})).await;
    api.command(
        &id,
        "triage",
        &a.branch,
        json!({"matter_class": "minor", "party": "property_company"}),
    )
    .await;
    // The branch writes careless minutes: the filer's name, phone and room.
    let careless = "王小明(13800138000,3栋2单元501)反映车位被占";
    let meeting = ok(
        &api.post(
            "/api/v1/meetings",
            &a.branch.token,
            json!({
                "kind": "regular",
                "scheduled_for": Utc::now() + TimeDelta::hours(1),
                "place": "小区党群服务站",
                "invited_people": [{"account": a.resident.id.to_string(), "capacity": "filer"}],
                "agenda": [{"subject": {"kind": "grievance", "id": id}, "title": "王小明反映的车位问题"}]
            }),
        )
        .await,
        "convene",
    );
    let meeting_id = meeting["id"].as_str().expect("meeting").to_owned();
    let item = meeting["agenda"][0]["id"]
        .as_str()
        .expect("item")
        .to_owned();
    let path = |tail: &str| format!("/api/v1/meetings/{meeting_id}{tail}");
    ok(
        &api.post(
            &path("/open"),
            &a.branch.token,
            json!({"present_parties": present(), "present_people": [a.resident.id.to_string()]}),
        )
        .await,
        "open",
    );
    ok(
        &api.post(
            &path(&format!("/items/{item}/decision")),
            &a.branch.token,
            json!({"summary": careless, "decision": "物业联系王小明协商", "positions": positions()}),
        )
        .await,
        "decide",
    );
    // Before closing there are no minutes to publish.
    api.get(&path("/minutes"), &a.resident.token)
        .await
        .assert_problem(404, "not-found");
    ok(
        &api.post(
            &path("/close"),
            &a.branch.token,
            json!({"public_summary": careless}),
        )
        .await,
        "close",
    );

    // The public minutes, read by a neighbour, name nobody.
    let minutes = ok(
        &api.get(&path("/minutes"), &a.neighbour.token).await,
        "minutes",
    );
    let text = minutes.to_string();
    for secret in [
        "王小明",
        "13800138000",
        "3栋2单元501",
        &a.resident.id.to_string(),
    ] {
        assert!(
            !text.contains(secret),
            "public minutes hold {secret}: {text}"
        );
    }
    for secret in lianxi_tests::PERSONAL_DATA
        .lines()
        .filter(|l| !l.trim().is_empty())
    {
        assert!(
            !text.contains(secret.trim()),
            "public minutes hold {secret}"
        );
    }
    assert!(text.contains("＊＊＊"), "{text}");
    assert_eq!(minutes["items"][0]["positions"][0]["party"], "party_branch");

    // A party reads the full meeting, the filer as a pseudonym.
    let full = ok(&api.get(&path(""), &a.company.token).await, "company reads");
    assert_ne!(
        full["invited_people"][0]["account"],
        a.resident.id.to_string()
    );
    assert_eq!(
        ok(&api.get(&path(""), &a.branch.token).await, "branch reads")["invited_people"][0]
            ["account"],
        a.resident.id.to_string()
    );
    server.stop().await;
}

/// Sets the follow-up outbox's checkpoint back to the start of the feed, as
/// a restored backup or a lost checkpoint would.
async fn rewind_follow_ups(t: &TestDb) {
    let sql = "UPDATE projection_checkpoints SET transaction_id = 0, global_position = 0 \
               WHERE name = 'follow_ups'";
    match &t.db {
        lianxi_gateway::db::Database::Postgres(pool) => {
            sqlx::query(sql).execute(pool).await.expect("rewind");
        }
        lianxi_gateway::db::Database::Sqlite(pool) => {
            sqlx::query(sql).execute(pool).await.expect("rewind");
        }
    }
}

async fn fill_outbox(t: &TestDb) {
    let (_wake, woken) = tokio::sync::watch::channel(0u64);
    lianxi_projections::Runner::new(
        t.db.store(),
        Arc::new(lianxi_projections::follow_ups::FollowUps),
        lianxi_tests::quick_runners(),
        woken,
    )
    .catch_up()
    .await
    .expect("catch up")
    .expect("leads");
}

fn count(events: &[lianxi_gateway::db::StoredEvent], kind: &str) -> usize {
    events.iter().filter(|e| e.event_type == kind).count()
}

async fn two_workers_and_a_replayed_outbox_make_each_grievance_follow_each_step_once(t: TestDb) {
    use lianxi_gateway::app::follow_ups;
    let cast = Cast::new(&t.db).await;
    // No background work: the test runs the outbox and two workers itself.
    let server = Server::start_with(&t.db, false).await;
    let api = Api::new(&server.base);
    let a = &cast.a;
    let grievances = [
        responded(&api, a, &a.resident).await,
        responded(&api, a, &a.neighbour).await,
    ];
    let case = ok(
        &api.post(
            "/api/v1/mediation-cases",
            &a.branch.token,
            json!({"matter": "车位纠纷", "grievances": grievances,
                   "respondents": [{"kind": "party", "id": "property_company"}]}),
        )
        .await,
        "open",
    )["id"]
        .as_str()
        .expect("case")
        .to_owned();
    let one = lianxi_gateway::server::state(t.db.clone());
    let two = lianxi_gateway::server::state(t.db.clone());
    let both = || async {
        let (x, y) = tokio::join!(follow_ups::tick(&one), follow_ups::tick(&two));
        x.expect("worker one");
        y.expect("worker two");
    };
    fill_outbox(&t).await;
    both().await;
    for id in &grievances {
        let events = t.db.stream("grievance", id).await.expect("stream");
        assert_eq!(count(&events, "CaseFollowed"), 1, "entered once: {id}");
    }

    ok(
        &api.post(
            &format!("/api/v1/mediation-cases/{case}/failure"),
            &a.branch.token,
            json!({"outcome": "escalate", "reason": "分歧过大"}),
        )
        .await,
        "fail",
    );
    fill_outbox(&t).await;
    both().await;
    // The whole outbox again, as after a lost checkpoint: nothing doubles.
    rewind_follow_ups(&t).await;
    fill_outbox(&t).await;
    both().await;
    both().await;
    for id in &grievances {
        let events = t.db.stream("grievance", id).await.expect("stream");
        assert_eq!(count(&events, "CaseFollowed"), 2, "two steps: {id}");
        assert_eq!(
            count(&events, "GrievanceEscalated"),
            1,
            "one escalation: {id}"
        );
    }
    let store = t.db.store();
    assert_eq!(
        lianxi_projections::follow_ups::backlog(&store)
            .await
            .expect("backlog"),
        0,
        "every row worked off"
    );
    server.stop().await;
}

async fn the_quorum_is_configurable_per_xiaoqu(t: TestDb) {
    use lianxi_gateway::config::FileConfig;
    let cast = Cast::new(&t.db).await;
    let too_many = FileConfig::parse("[meetings]\nquorum_others = 5").expect("parses");
    let e = too_many
        .meeting_policy(&t.db)
        .await
        .expect_err("five of four");
    assert!(e.contains("meetings.quorum_others"), "{e}");
    let unknown =
        FileConfig::parse("[[meetings.overrides]]\nxiaoqu = \"无此小区\"\nquorum_others = 2")
            .expect("parses");
    let e = unknown
        .meeting_policy(&t.db)
        .await
        .expect_err("unknown xiaoqu");
    assert!(e.contains("无此小区"), "{e}");
    // 幸福里 (xiaoqu A) meets with the branch and two others; the rest keep three.
    let file = FileConfig::parse(
        "[meetings]\nquorum_others = 3\n[[meetings.overrides]]\nxiaoqu = \"幸福里\"\nquorum_others = 2",
    )
    .expect("parses");
    let policy = file.meeting_policy(&t.db).await.expect("policy");
    let services = GrievanceServices::new(
        Arc::new(lianxi_domain::SystemClock),
        GrievancePolicy::default(),
    );
    let state = lianxi_gateway::server::state_with_meetings(t.db.clone(), services, policy)
        .with_vault(test_vault());
    let server = Server::serve(Service::start_with(state, quick_background())).await;
    let api = Api::new(&server.base);
    let few = json!({"present_parties": ["party_branch", "owners_committee", "property_company"]});
    for (branch, opens) in [(&cast.a.branch, true), (&cast.b.branch, false)] {
        let meeting = ok(
            &api.post(
                "/api/v1/meetings",
                &branch.token,
                json!({"kind": "regular", "scheduled_for": Utc::now() + TimeDelta::hours(1),
                       "place": "党群服务站"}),
            )
            .await,
            "convene",
        );
        assert_eq!(meeting["quorum_others_required"], if opens { 2 } else { 3 });
        let id = meeting["id"].as_str().expect("meeting");
        let answer = api
            .post(
                &format!("/api/v1/meetings/{id}/open"),
                &branch.token,
                few.clone(),
            )
            .await;
        if opens {
            assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        } else {
            answer.assert_problem(422, "quorum-not-met");
        }
    }
    server.stop().await;
}

async fn meeting_and_case_lists_page_filter_and_refuse_bad_queries(t: TestDb) {
    let cast = Cast::new(&t.db).await;
    let server = Server::start(&t.db).await;
    let api = Api::new(&server.base);
    let a = &cast.a;
    let mut convened = Vec::new();
    for days in 1..=5 {
        let meeting = api
            .post(
                "/api/v1/meetings",
                &a.branch.token,
                json!({"kind": "regular", "scheduled_for": Utc::now() + TimeDelta::days(days),
                       "place": format!("会议室{days}")}),
            )
            .await;
        convened.push(
            ok(&meeting, "convene")["id"]
                .as_str()
                .expect("id")
                .to_owned(),
        );
    }
    let cancelled = &convened[0];
    ok(
        &api.post(
            &format!("/api/v1/meetings/{cancelled}/cancel"),
            &a.branch.token,
            json!({"reason": "改期"}),
        )
        .await,
        "cancel",
    );
    // Page by page, latest scheduled first, each meeting once.
    let mut seen: Vec<String> = Vec::new();
    let mut path = "/api/v1/meetings?limit=2".to_owned();
    let pages = loop {
        let listed = eventually(
            "the meetings in the read model",
            || async {
                api.get("/api/v1/meetings?limit=200", &a.branch.token)
                    .await
                    .body
            },
            |b| b["items"].as_array().is_some_and(|i| i.len() == 5),
        )
        .await;
        assert_eq!(listed["next_cursor"], Value::Null);
        let page = ok(&api.get(&path, &a.branch.token).await, "a page");
        let items = page["items"].as_array().expect("items");
        assert!(items.len() <= 2, "{page}");
        seen.extend(
            items
                .iter()
                .map(|m| m["id"].as_str().expect("id").to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/v1/meetings?limit=2&cursor={cursor}"),
            None => break seen.len(),
        }
    };
    assert_eq!(pages, 5);
    let mut expected = convened.clone();
    expected.reverse();
    assert_eq!(seen, expected, "latest scheduled first, each once");
    let only = eventually(
        "the cancellation in the read model",
        || async {
            api.get("/api/v1/meetings?status=cancelled", &a.branch.token)
                .await
                .body
        },
        |b| b["items"].as_array().is_some_and(|i| !i.is_empty()),
    )
    .await;
    assert_eq!(only["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(only["items"][0]["id"], cancelled.as_str());

    for (path, field) in [
        ("/api/v1/meetings?status=finished", "status"),
        ("/api/v1/meetings?limit=0", "limit"),
        ("/api/v1/meetings?limit=201", "limit"),
        ("/api/v1/meetings?cursor=nonsense", "cursor"),
        ("/api/v1/mediation-cases?status=won", "status"),
        ("/api/v1/mediation-cases?limit=0", "limit"),
        ("/api/v1/mediation-cases?cursor=nonsense", "cursor"),
    ] {
        api.get(path, &a.branch.token)
            .await
            .assert_problem(400, "invalid-query")
            .assert_field(field);
    }
    let cases = ok(
        &api.get("/api/v1/mediation-cases?limit=10", &a.branch.token)
            .await,
        "cases",
    );
    assert_eq!(cases["items"], json!([]));
    assert_eq!(cases["next_cursor"], Value::Null);
    server.stop().await;
}
