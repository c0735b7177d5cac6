//! The xiaoqu registry, event-sourced: admins register xiaoqu, move them,
//! rename them and name the organizations acting as their parties (one
//! property company serving several xiaoqu); auditors read who changed
//! what, and when. Over HTTP and the command line, on both stores.

use lianxi_tests::{lianxi_cli, ok, on_both_stores, value_of, Api, Cast, Server, TempDir, TestDb};
use reqwest::StatusCode;
use serde_json::json;

on_both_stores!(
    admins_keep_the_registry_and_auditors_read_its_history,
    the_command_line_keeps_the_registry_too,
);

async fn admins_keep_the_registry_and_auditors_read_its_history(t: TestDb) {
    let cast = Cast::new(&t.db).await;
    let server = Server::start(&t.db).await;
    let api = Api::new(&server.base);
    let admin = &cast.admin.token;

    let created = ok(
        &api.post(
            "/api/v1/admin/xiaoqu",
            admin,
            json!({"name": "新村", "community": "东苑社区", "street": "城厢街道", "district": "涪城区"}),
        )
        .await,
        "register",
    );
    let id = created["id"].as_str().expect("id").to_owned();
    let path = |tail: &str| format!("/api/v1/admin/xiaoqu/{id}{tail}");

    // One property company serving the new xiaoqu and xiaoqu A (registered
    // before the registry kept events: recorded on first use).
    let company = json!({"party": "property_company", "name": "安居物业服务有限公司"});
    let first = ok(
        &api.post(&path("/parties"), admin, company).await,
        "company",
    );
    let organization = first["parties"][0]["organization"]
        .as_str()
        .expect("organization")
        .to_owned();
    ok(
        &api.post(
            &format!("/api/v1/admin/xiaoqu/{}/parties", cast.a.id),
            admin,
            json!({"party": "property_company", "name": "安居物业服务有限公司", "organization": organization}),
        )
        .await,
        "the same company in A",
    );
    let serves = ok(
        &api.get(
            &format!("/api/v1/registry/organizations/{organization}"),
            &cast.auditor.token,
        )
        .await,
        "organization",
    );
    let mut served: Vec<String> = serves["serves"]
        .as_array()
        .expect("serves")
        .iter()
        .map(|s| s["xiaoqu"].as_str().unwrap_or_default().to_owned())
        .collect();
    served.sort();
    let mut expected = vec![id.clone(), cast.a.id.to_string()];
    expected.sort();
    assert_eq!(served, expected);

    // One property company at a time; micro-organizations may be several.
    api.post(
        &path("/parties"),
        admin,
        json!({"party": "property_company", "name": "另一家物业"}),
    )
    .await
    .assert_problem(409, "already-exists");
    api.post(
        &path("/parties"),
        admin,
        json!({"party": "community", "name": "东苑社区居委会"}),
    )
    .await
    .assert_problem(422, "invalid-field")
    .assert_field("party");
    ok(
        &api.post(
            &path("/parties/retirement"),
            admin,
            json!({"party": "property_company", "organization": organization}),
        )
        .await,
        "retire",
    );
    ok(
        &api.post(
            &path("/parties"),
            admin,
            json!({"party": "property_company", "name": "另一家物业"}),
        )
        .await,
        "the next company",
    );
    for group in ["楼栋互助队", "银发志愿队"] {
        ok(
            &api.post(
                &path("/parties"),
                admin,
                json!({"party": "micro_organization", "name": group}),
            )
            .await,
            "micro-organization",
        );
    }

    // Renaming keeps names unique, and accounts find the xiaoqu by its new name.
    api.post(&path("/rename"), admin, json!({"name": "幸福里"}))
        .await
        .assert_problem(409, "already-exists");
    ok(
        &api.post(&path("/rename"), admin, json!({"name": "新村二期"}))
            .await,
        "rename",
    );
    let account = api
        .post(
            "/api/v1/admin/accounts",
            admin,
            json!({"role": "party_branch", "xiaoqu": "新村二期", "personal_data": {"name": "李书记"}}),
        )
        .await;
    assert_eq!(account.status, StatusCode::CREATED, "{}", account.body);
    let moved = ok(
        &api.post(
            &path("/move"),
            admin,
            json!({"community": "西苑社区", "street": "城厢街道", "district": "涪城区"}),
        )
        .await,
        "move",
    );
    assert_eq!(moved["community"], "西苑社区");
    assert_eq!(moved["name"], "新村二期");
    assert_eq!(moved["parties"].as_array().map(Vec::len), Some(3));

    // The ladder as registered; a community sees its own branch of it.
    let tree = ok(
        &api.get("/api/v1/registry", &cast.auditor.token).await,
        "tree",
    );
    let streets = &tree["districts"][0]["streets"][0];
    let communities: Vec<&str> = streets["communities"]
        .as_array()
        .expect("communities")
        .iter()
        .map(|c| c["name"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(communities, ["东苑社区", "西苑社区"]);
    assert_eq!(
        streets["communities"][1]["xiaoqu"]
            .as_array()
            .map(|x| x.iter().filter(|x| x["name"] == "新村二期").count()),
        Some(1)
    );
    let mine = ok(
        &api.get("/api/v1/registry", &cast.a.community.token).await,
        "own part",
    );
    let text = mine.to_string();
    assert!(
        text.contains("幸福里") && !text.contains("新村二期"),
        "{text}"
    );

    // Only admins change it; a branch reads its own xiaoqu's entry only.
    api.post(
        &path("/rename"),
        &cast.a.branch.token,
        json!({"name": "别名"}),
    )
    .await
    .assert_problem(403, "forbidden");
    let own = format!("/api/v1/registry/xiaoqu/{}", cast.a.id);
    let entry = ok(&api.get(&own, &cast.a.branch.token).await, "own entry");
    assert_eq!(entry["parties"][0]["party"], "property_company");
    // Read at the position the last change answered: current at once.
    let at = moved["position"]
        .as_str()
        .expect("a change answers its position");
    let read = ok(
        &api.get(&format!("{own}?min_position={at}"), &cast.a.branch.token)
            .await,
        "entry at a position",
    );
    assert_eq!(read["caught_up"], true);
    assert!(read["position"].as_str().is_some_and(|p| p.contains('.')));
    api.get(&format!("{own}?min_position=soon"), &cast.a.branch.token)
        .await
        .assert_problem(400, "invalid-query");
    api.get(&own, &cast.b.branch.token)
        .await
        .assert_problem(404, "not-found");
    let history = format!("/api/v1/registry/xiaoqu/{id}/events");
    api.get(&history, &cast.a.branch.token)
        .await
        .assert_problem(404, "not-found");

    // The auditor reads who changed what, and when.
    let told = ok(&api.get(&history, &cast.auditor.token).await, "history");
    let entries = told["entries"].as_array().expect("entries");
    let kinds: Vec<&str> = entries
        .iter()
        .map(|e| e["event_type"].as_str().unwrap_or("?"))
        .collect();
    assert_eq!(
        kinds,
        [
            "XiaoquRegistered",
            "PartyRegistered",
            "PartyRetired",
            "PartyRegistered",
            "PartyRegistered",
            "PartyRegistered",
            "XiaoquRenamed",
            "XiaoquMoved"
        ]
    );
    assert!(entries.iter().all(|e| e["role"] == "admin"));
    assert!(!told.to_string().contains(&cast.admin.id.to_string()));
    let legacy = ok(
        &api.get(
            &format!("/api/v1/registry/xiaoqu/{}/events", cast.a.id),
            &cast.auditor.token,
        )
        .await,
        "legacy history",
    );
    assert_eq!(legacy["entries"][0]["role"], "system");
    assert_eq!(legacy["entries"][1]["event_type"], "PartyRegistered");
    server.stop().await;
}

async fn the_command_line_keeps_the_registry_too(t: TestDb) {
    let dir = TempDir::new();
    let env = [("LIANXI_DATABASE_URL", t.url.as_str())];
    let created = lianxi_cli(
        &dir.0,
        &env,
        &[
            "admin",
            "add-xiaoqu",
            "--name",
            "和平苑",
            "--community",
            "西苑社区",
            "--street",
            "城厢街道",
            "--district",
            "涪城区",
        ],
    )
    .await;
    let id = value_of(&created, "id");
    let added = lianxi_cli(
        &dir.0,
        &env,
        &[
            "admin",
            "add-party",
            "--xiaoqu",
            "和平苑",
            "--party",
            "owners_committee",
            "--name",
            "和平苑业主委员会",
        ],
    )
    .await;
    let organization = value_of(&added, "organization");
    let renamed = lianxi_cli(
        &dir.0,
        &env,
        &[
            "admin",
            "rename-xiaoqu",
            "--xiaoqu",
            &id,
            "--name",
            "和平苑东区",
        ],
    )
    .await;
    assert_eq!(value_of(&renamed, "name"), "和平苑东区");
    let retired = lianxi_cli(
        &dir.0,
        &env,
        &[
            "admin",
            "retire-party",
            "--xiaoqu",
            "和平苑东区",
            "--party",
            "owners_committee",
            "--organization",
            &organization,
        ],
    )
    .await;
    assert!(retired.iter().all(|(k, _)| k != "party"), "{retired:?}");
    let stream = t.db.stream("xiaoqu", &id).await.expect("stream");
    let kinds: Vec<&str> = stream.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "XiaoquRegistered",
            "PartyRegistered",
            "XiaoquRenamed",
            "PartyRetired"
        ]
    );
    assert!(stream.iter().all(|e| e.metadata["role"] == "admin"));
}
