//! One property company serving two xiaoqu: one account acting for the
//! organization sees what is addressed to it in both, and nothing else.

use lianxi_tests::{ok, on_both_stores, Api, Cast, Server, TestDb};

use super::meetings::{positions, present};
use super::web::signed_in_as;
use serde_json::{json, Value};

on_both_stores!(
    an_organization_serving_two_xiaoqu_has_one_inbox_across_them,
    a_xiaoqu_is_named_by_its_name_wherever_by_its_id,
);

fn against(respondent: &str) -> Value {
    let mut body = lianxi_tests::sample_grievance();
    body["respondent"] = json!(respondent);
    body
}

async fn an_organization_serving_two_xiaoqu_has_one_inbox_across_them(t: TestDb) {
    let cast = Cast::new(&t.db).await;
    let server = Server::start(&t.db).await;
    let api = Api::new(&server.base);
    let admin = &cast.admin.token;

    // The registry has one company act as property company in both xiaoqu.
    let first = ok(
        &api.post(
            &format!("/api/v1/admin/xiaoqu/{}/parties", cast.a.id),
            admin,
            json!({"party": "property_company", "name": "安居物业"}),
        )
        .await,
        "the company in 幸福里",
    );
    let organization = first["parties"]
        .as_array()
        .and_then(|p| p.iter().find(|p| p["name"] == "安居物业"))
        .and_then(|p| p["organization"].as_str())
        .expect("the organization's id")
        .to_owned();
    ok(
        &api.post(
            &format!("/api/v1/admin/xiaoqu/{}/parties", cast.b.id),
            admin,
            json!({"party": "property_company", "name": "安居物业", "organization": organization}),
        )
        .await,
        "the same company in 和平苑",
    );

    // One account for the organization; not as a party it does not act as,
    // and not tied to a xiaoqu besides.
    let account = |role: &str, extra: Value| {
        let mut body = json!({"role": role, "organization": organization,
            "personal_data": {"name": "物业总部客服"}, "api_token_ttl_days": 1});
        if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            body.extend(extra.clone());
        }
        api.post("/api/v1/admin/accounts", admin, body)
    };
    account("owners_committee", json!({}))
        .await
        .assert_problem(422, "invalid-field")
        .assert_field("organization");
    account("property_company", json!({"xiaoqu": "幸福里"}))
        .await
        .assert_problem(422, "invalid-field")
        .assert_field("organization");
    let created = ok(&account("property_company", json!({})).await, "the account");
    assert_eq!(created["account"]["organization"], organization.as_str());
    let company = created["token"].as_str().expect("a token").to_owned();
    // Its part of the hierarchy: the two xiaoqu it serves.
    let tree = ok(
        &api.get("/api/v1/registry", &company).await,
        "the hierarchy",
    );
    let text = tree.to_string();
    assert!(text.contains("幸福里") && text.contains("和平苑"), "{text}");

    // Filings in both xiaoqu, one of them addressed to the owners' committee.
    let mut addressed = Vec::new();
    let mut position = String::new();
    for (who, respondent) in [
        (&cast.a.resident, "property_company"),
        (&cast.b.resident, "property_company"),
        (&cast.a.neighbour, "owners_committee"),
    ] {
        let filed = ok(
            &api.post("/api/v1/grievances", &who.token, against(respondent))
                .await,
            "filing",
        );
        position = filed["position"].as_str().expect("position").to_owned();
        if respondent == "property_company" {
            addressed.push(filed["id"].as_str().expect("id").to_owned());
        }
    }
    let other = {
        let listed = api
            .get_at("/api/v1/grievances", &cast.a.branch.token, &position)
            .await;
        listed.body["items"]
            .as_array()
            .and_then(|items| {
                items
                    .iter()
                    .find(|g| g["respondent"] == "owners_committee")
                    .and_then(|g| g["id"].as_str())
            })
            .expect("the committee's grievance")
            .to_owned()
    };

    // The inbox: exactly what is addressed to the company, in both xiaoqu.
    let inbox = api.get_at("/api/v1/grievances", &company, &position).await;
    let mut listed: Vec<&str> = inbox.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|g| g["id"].as_str())
        .collect();
    listed.sort_unstable();
    let mut expected: Vec<&str> = addressed.iter().map(String::as_str).collect();
    expected.sort_unstable();
    assert_eq!(listed, expected, "{}", inbox.body);
    for id in &addressed {
        ok(
            &api.get(&format!("/api/v1/grievances/{id}"), &company).await,
            "the company reads what is addressed to it",
        );
    }
    api.get(&format!("/api/v1/grievances/{other}"), &company)
        .await
        .assert_problem(404, "not-found");

    // A resident of either xiaoqu sees nothing of the other.
    let a_sees = api
        .get_at("/api/v1/grievances", &cast.a.resident.token, &position)
        .await;
    assert_eq!(a_sees.body["items"].as_array().map(Vec::len), Some(1));
    api.get(
        &format!("/api/v1/grievances/{}", addressed[1]),
        &cast.a.resident.token,
    )
    .await
    .assert_problem(404, "not-found");
    api.get(
        &format!("/api/v1/grievances/{}", addressed[0]),
        &cast.b.resident.token,
    )
    .await
    .assert_problem(404, "not-found");

    // On the pages: one sign-in; the home page lists what is addressed to
    // the company in both xiaoqu, and its to-do takes in a joint meeting's
    // action item of the second xiaoqu.
    let due = chrono::Utc::now() + chrono::TimeDelta::days(7);
    let convened = ok(
        &api.post(
            "/api/v1/meetings",
            &cast.b.branch.token,
            json!({"kind": "regular", "scheduled_for": chrono::Utc::now() + chrono::TimeDelta::hours(1),
                   "place": "和平苑党群服务站",
                   "agenda": [{"subject": {"kind": "grievance", "id": addressed[1]}, "title": "电梯停运"}]}),
        )
        .await,
        "convene in 和平苑",
    );
    let meeting = convened["id"].as_str().expect("meeting").to_owned();
    let item = convened["agenda"][0]["id"]
        .as_str()
        .expect("item")
        .to_owned();
    ok(
        &api.post(
            &format!("/api/v1/meetings/{meeting}/open"),
            &cast.b.branch.token,
            json!({"present_parties": present()}),
        )
        .await,
        "open",
    );
    ok(
        &api.post(
            &format!("/api/v1/meetings/{meeting}/items/{item}/decision"),
            &cast.b.branch.token,
            json!({"summary": "电梯停运", "decision": "物业三日内修复", "positions": positions(),
                   "action_items": [{"owner": "property_company", "description": "和平苑电梯三日内修复", "due_at": due}]}),
        )
        .await,
        "decide",
    );
    let (mut browser, _) = signed_in_as(
        &server,
        &cast,
        json!({"role": "property_company", "organization": organization,
               "personal_data": {"name": "物业总部值班"}}),
        "anju-duty",
    )
    .await;
    // Read models follow the log a moment later.
    let home = browser
        .get_until("/", &format!("/g/{}", addressed[1]))
        .await;
    for id in &addressed {
        assert!(home.html.contains(&format!("/g/{id}")), "{}", home.html);
    }
    assert!(!home.html.contains(&format!("/g/{other}")));
    let todo = browser.get_until("/", "和平苑电梯三日内修复").await;
    assert!(
        todo.html.contains("和平苑电梯三日内修复")
            && todo.html.contains(&format!("/meetings/{meeting}")),
        "{}",
        todo.html
    );
    server.stop().await;
}

async fn a_xiaoqu_is_named_by_its_name_wherever_by_its_id(t: TestDb) {
    let cast = Cast::new(&t.db).await;
    let server = Server::start(&t.db).await;
    let api = Api::new(&server.base);
    let branch = &cast.a.branch.token;
    let filed = ok(
        &api.post(
            "/api/v1/grievances",
            &cast.a.resident.token,
            lianxi_tests::sample_grievance(),
        )
        .await,
        "filing",
    );
    let position = filed["position"].as_str().expect("position");
    for by in [cast.a.id.to_string(), "幸福里".to_owned()] {
        let listed = api
            .get_at(&format!("/api/v1/grievances?xiaoqu={by}"), branch, position)
            .await;
        assert_eq!(listed.body["items"].as_array().map(Vec::len), Some(1));
        let figures = api
            .get_at(&format!("/api/v1/figures?xiaoqu={by}"), branch, position)
            .await;
        assert_eq!(figures.body["filed"], 1, "{}", figures.body);
        let entry = ok(
            &api.get(&format!("/api/v1/registry/xiaoqu/{by}"), branch)
                .await,
            "the registry entry",
        );
        assert_eq!(entry["name"], "幸福里");
        ok(
            &api.get(&format!("/api/v1/xiaoqu/{by}/agenda"), branch)
                .await,
            "the agenda",
        );
        ok(
            &api.get(&format!("/api/v1/meetings?xiaoqu={by}"), branch)
                .await,
            "the meetings",
        );
    }
    // A name that is no xiaoqu's: a bad parameter, or a path not found.
    api.get("/api/v1/grievances?xiaoqu=无此小区", branch)
        .await
        .assert_problem(400, "invalid-query");
    api.get("/api/v1/registry/xiaoqu/无此小区", branch)
        .await
        .assert_problem(404, "not-found");
    server.stop().await;
}
