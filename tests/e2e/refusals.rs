//! Every refused transition and every bad input answers a 4xx problem+json
//! and writes nothing.

use lianxi_tests::{on_both_stores, Answer, Api, Cast, Person, Server, TestDb};
use reqwest::Method;
use serde_json::{json, Value};

on_both_stores!(
    bad_input_is_refused_with_the_field_and_the_reason,
    refused_transitions_write_nothing,
    filing_refusals_create_no_stream,
    list_queries_are_refused_with_the_parameter,
    bodies_are_objects_and_optional_ones_may_be_null,
    admin_endpoints_refuse_other_roles_before_reading_the_body,
);

/// A caller without the admin role is refused before the body is read, so
/// probing an admin endpoint says nothing of what its requests must hold;
/// an admin sending the same body hears what is wrong with it.
async fn admin_endpoints_refuse_other_roles_before_reading_the_body(t: TestDb) {
    let cast = Cast::new(&t.db).await;
    let server = Server::start(&t.db).await;
    let api = Api::new(&server.base);
    let broken = json!({"role": 17, "unexpected": true});
    for path in [
        "/api/v1/admin/accounts",
        "/api/v1/admin/xiaoqu",
        &format!("/api/v1/admin/accounts/{}/roles", cast.a.resident.id.0),
    ] {
        for person in [&cast.a.resident, &cast.a.branch, &cast.auditor] {
            api.post(path, &person.token, broken.clone())
                .await
                .assert_problem(403, "forbidden");
            let not_json = post_raw(
                &api,
                path,
                person,
                "application/json",
                b"{not json".to_vec(),
            )
            .await;
            not_json.assert_problem(403, "forbidden");
        }
        let answer = api.post(path, &cast.admin.token, broken.clone()).await;
        assert!(
            matches!(answer.status.as_u16(), 400 | 422),
            "{path}: an admin hears what is wrong: {} {}",
            answer.status,
            answer.body
        );
    }

    // Whole numbers as JSON Schema counts them: 30.0 is the integer 30, in
    // a body and in a query.
    let created = api
        .post(
            "/api/v1/admin/accounts",
            &cast.admin.token,
            json!({"role": "auditor", "personal_data": {"name": "审计员乙"},
                   "api_token_ttl_days": 30.0}),
        )
        .await;
    assert_eq!(created.status.as_u16(), 201, "{}", created.body);
    let listed = api
        .get("/api/v1/grievances?limit=5.0", &cast.a.resident.token)
        .await;
    assert_eq!(listed.status.as_u16(), 200, "{}", listed.body);
    api.post(
        "/api/v1/admin/accounts",
        &cast.admin.token,
        json!({"role": "auditor", "personal_data": {"name": "审计员丙"},
               "api_token_ttl_days": 30.5}),
    )
    .await
    .assert_problem(400, "malformed-body")
    .assert_field("api_token_ttl_days");
    server.stop().await;
}

/// Asserts that the stream of `id` is exactly `before`.
async fn unchanged(t: &TestDb, id: &str, before: &[lianxi_gateway::db::StoredEvent]) {
    let after = t.db.stream("grievance", id).await.expect("read stream");
    assert_eq!(after, before, "a refused request changed the stream");
}

async fn post_raw(
    api: &Api,
    path: &str,
    person: &Person,
    content_type: &str,
    body: Vec<u8>,
) -> Answer {
    Api::send(
        api.request(Method::POST, path, Some(&person.token))
            .header("content-type", content_type)
            .body(body),
    )
    .await
}

async fn bad_input_is_refused_with_the_field_and_the_reason(t: TestDb) {
    let cast = Cast::new(&t.db).await;
    let server = Server::start(&t.db).await;
    let api = Api::new(&server.base);
    let a = &cast.a;
    let id = api.file(&a.resident).await;
    api.command(&id, "accept", &a.branch, json!({})).await;
    let before = t.db.stream("grievance", &id).await.expect("stream");
    let triage = format!("/api/v1/grievances/{id}/triage");

    post_raw(
        &api,
        &triage,
        &a.branch,
        "application/json",
        br#"{"matter_class": "#.to_vec(),
    )
    .await
    .assert_problem(400, "malformed-body");
    post_raw(
        &api,
        &triage,
        &a.branch,
        "application/json",
        b"[1, 2]".to_vec(),
    )
    .await
    .assert_problem(400, "malformed-body");
    api.post(
        &triage,
        &a.branch.token,
        json!({"matter_class": "minor", "party": "property_company", "priority": 1}),
    )
    .await
    .assert_problem(400, "malformed-body");
    api.post(
        &triage,
        &a.branch.token,
        json!({"matter_class": "enormous", "party": "property_company"}),
    )
    .await
    .assert_problem(400, "malformed-body")
    .assert_field("matter_class");
    api.post(&triage, &a.branch.token, json!({"matter_class": "minor"}))
        .await
        .assert_problem(400, "malformed-body");
    post_raw(
        &api,
        &triage,
        &a.branch,
        "text/plain",
        br#"{"matter_class": "minor", "party": "property_company"}"#.to_vec(),
    )
    .await
    .assert_problem(415, "unsupported-media-type");
    let huge =
        json!({"matter_class": "minor", "party": "property_company", "pad": "x".repeat(100_000)});
    api.post(&triage, &a.branch.token, huge)
        .await
        .assert_problem(413, "payload-too-large");
    api.post(
        &format!("/api/v1/grievances/{id}/reject"),
        &a.branch.token,
        json!({"reason": "  "}),
    )
    .await
    .assert_problem(422, "invalid-field")
    .assert_field("reason");
    api.post(
        &format!("/api/v1/grievances/{id}/escalate"),
        &a.branch.token,
        json!({"reason": "manual", "note": "x".repeat(1001)}),
    )
    .await
    .assert_problem(422, "invalid-field")
    .assert_field("note");
    Api::send(
        api.request(Method::POST, &triage, Some(&a.branch.token))
            .header("if-match", "yesterday")
            .json(&json!({"matter_class": "minor", "party": "property_company"})),
    )
    .await
    .assert_problem(400, "invalid-header");
    unchanged(&t, &id, &before).await;
    server.stop().await;
}

async fn refused_transitions_write_nothing(t: TestDb) {
    let cast = Cast::new(&t.db).await;
    let server = Server::start(&t.db).await;
    let api = Api::new(&server.base);
    let a = &cast.a;
    let id = api.file(&a.resident).await;
    let before = t.db.stream("grievance", &id).await.expect("stream");
    let path = |action: &str| format!("/api/v1/grievances/{id}/{action}");

    let cases: Vec<(&str, &Person, Value, u16, &str)> = vec![
        // Illegal transitions from `filed`.
        (
            "resolve",
            &a.branch,
            json!({"summary": "done"}),
            409,
            "invalid-transition",
        ),
        (
            "respond",
            &a.company,
            json!({"response": "ok"}),
            409,
            "invalid-transition",
        ),
        (
            "rate",
            &a.resident,
            json!({"rating": "satisfied"}),
            409,
            "invalid-transition",
        ),
        (
            "reopen",
            &a.resident,
            json!({"reason": "again"}),
            409,
            "invalid-transition",
        ),
        (
            "triage",
            &a.branch,
            json!({"matter_class": "minor", "party": "property_company"}),
            409,
            "invalid-transition",
        ),
        (
            "escalate",
            &a.branch,
            json!({"reason": "manual"}),
            409,
            "invalid-transition",
        ),
        // Roles that may not do this.
        ("accept", &a.company, json!({}), 403, "forbidden"),
        (
            "reject",
            &a.company,
            json!({"reason": "no"}),
            403,
            "forbidden",
        ),
        ("withdraw", &a.branch, json!({}), 403, "forbidden"),
        (
            "escalate",
            &a.branch,
            json!({"reason": "deadline_missed"}),
            403,
            "forbidden",
        ),
        (
            "merge",
            &a.branch,
            json!({"primary": id}),
            422,
            "invalid-field",
        ),
        // People who may not even know it exists.
        ("withdraw", &a.neighbour, json!({}), 404, "not-found"),
        ("accept", &cast.b.branch, json!({}), 404, "not-found"),
        ("accept", &a.community, json!({}), 404, "not-found"),
        ("accept", &cast.admin, json!({}), 404, "not-found"),
    ];
    for (action, person, body, status, slug) in cases {
        let answer = api.post(&path(action), &person.token, body).await;
        assert_eq!(
            answer.status.as_u16(),
            status,
            "{action} by {}: {}",
            person.role,
            answer.body
        );
        answer.assert_problem(status, slug);
        unchanged(&t, &id, &before).await;
    }

    // A stale If-Match is refused; the right one applies.
    let stale = Api::send(
        api.request(Method::POST, &path("accept"), Some(&a.branch.token))
            .header("if-match", "\"7\"")
            .json(&json!({})),
    )
    .await;
    stale.assert_problem(412, "stale-version");
    unchanged(&t, &id, &before).await;
    let fresh = Api::send(
        api.request(Method::POST, &path("accept"), Some(&a.branch.token))
            .header("if-match", "\"2\"")
            .json(&json!({})),
    )
    .await;
    assert_eq!(fresh.status.as_u16(), 200, "{}", fresh.body);

    // Authentication.
    let before = t.db.stream("grievance", &id).await.expect("stream");
    let no_token = Api::send(
        api.request(Method::POST, &path("triage"), None)
            .json(&json!({})),
    )
    .await;
    no_token.assert_problem(401, "unauthorized");
    assert_eq!(no_token.header("www-authenticate"), Some("Bearer"));
    let bad_token = Api::send(
        api.request(Method::POST, &path("triage"), Some("lx_not-a-real-token"))
            .json(&json!({})),
    )
    .await;
    bad_token.assert_problem(401, "unauthorized");
    let not_bearer = Api::send(
        api.request(Method::POST, &path("triage"), None)
            .header("authorization", "Basic dXNlcjpwYXNz")
            .json(&json!({})),
    )
    .await;
    not_bearer.assert_problem(401, "unauthorized");
    unchanged(&t, &id, &before).await;

    // Unknown ids and routes.
    let unknown = uuid::Uuid::new_v4();
    api.post(
        &format!("/api/v1/grievances/{unknown}/accept"),
        &a.branch.token,
        json!({}),
    )
    .await
    .assert_problem(404, "not-found");
    api.get(&format!("/api/v1/grievances/{unknown}"), &a.branch.token)
        .await
        .assert_problem(404, "not-found");
    api.get("/api/v1/grievances/not-a-uuid", &a.branch.token)
        .await
        .assert_problem(404, "not-found");
    api.get("/api/v1/nothing-here", &a.branch.token)
        .await
        .assert_problem(404, "not-found");
    Api::send(api.request(
        Method::DELETE,
        &format!("/api/v1/grievances/{id}"),
        Some(&a.branch.token),
    ))
    .await
    .assert_problem(405, "method-not-allowed");
    assert!(t
        .db
        .stream("grievance", &unknown.to_string())
        .await
        .expect("stream")
        .is_empty());
    server.stop().await;
}

async fn filing_refusals_create_no_stream(t: TestDb) {
    let cast = Cast::new(&t.db).await;
    let server = Server::start(&t.db).await;
    let api = Api::new(&server.base);
    let a = &cast.a;
    let named = || {
        let mut body = lianxi_tests::sample_grievance();
        body["attachments"] = json!([lianxi_tests::never_uploaded_attachment()]);
        body
    };
    let mut sample = named();
    let with = |path: &[&str], value: Value| {
        let mut body = named();
        let mut cursor = &mut body;
        for key in &path[..path.len() - 1] {
            cursor = if let Ok(i) = key.parse::<usize>() {
                &mut cursor[i]
            } else {
                &mut cursor[*key]
            };
        }
        cursor[path[path.len() - 1]] = value;
        body
    };
    let cases: Vec<(Value, &str)> = vec![
        (with(&["title"], json!("x".repeat(121))), "title"),
        (with(&["title"], json!("")), "title"),
        (with(&["title"], json!("line\nbreak")), "title"),
        (
            with(&["description"], json!("x".repeat(4001))),
            "description",
        ),
        (with(&["location"], json!({})), "location"),
        (with(&["location"], json!({"unit": "2单元"})), "location"),
        (
            with(&["location", "building"], json!("x".repeat(65))),
            "location.building",
        ),
        (
            with(&["attachments", "0", "sha256"], json!("abc")),
            "attachments[0].sha256",
        ),
        (
            with(&["attachments", "0", "media_type"], json!("jpeg")),
            "attachments[0].media_type",
        ),
        (
            with(&["attachments", "0", "size"], json!(0)),
            "attachments[0].size",
        ),
    ];
    for (body, field) in cases {
        api.post("/api/v1/grievances", &a.resident.token, body)
            .await
            .assert_problem(422, "invalid-field")
            .assert_field(field);
    }
    sample["attachments"] = Value::Array(vec![sample["attachments"][0].clone(); 11]);
    api.post("/api/v1/grievances", &a.resident.token, sample)
        .await
        .assert_problem(422, "invalid-field")
        .assert_field("attachments");
    api.post(
        "/api/v1/grievances",
        &a.resident.token,
        with(&["category"], json!("gossip")),
    )
    .await
    .assert_problem(400, "malformed-body")
    .assert_field("category");
    api.post(
        "/api/v1/grievances",
        &a.resident.token,
        with(&["filer"], json!("someone else")),
    )
    .await
    .assert_problem(400, "malformed-body");
    // Roles that do not file.
    for person in [&a.branch, &a.company, &a.community, &cast.auditor] {
        let answer = api
            .post(
                "/api/v1/grievances",
                &person.token,
                lianxi_tests::sample_grievance(),
            )
            .await;
        answer.assert_problem(403, "forbidden");
    }
    let count = count_events(&t).await;
    assert_eq!(count, 0, "refused filings wrote events");
    server.stop().await;
}

async fn count_events(t: &TestDb) -> i64 {
    match &t.db {
        lianxi_gateway::db::Database::Postgres(pool) => {
            sqlx::query_scalar("SELECT count(*) FROM events")
                .fetch_one(pool)
                .await
                .expect("count")
        }
        lianxi_gateway::db::Database::Sqlite(pool) => {
            sqlx::query_scalar("SELECT count(*) FROM events")
                .fetch_one(pool)
                .await
                .expect("count")
        }
    }
}

/// The lists of meetings and mediation cases refuse a malformed query with a
/// problem naming the parameter, as every other list does.
async fn list_queries_are_refused_with_the_parameter(t: TestDb) {
    let cast = Cast::new(&t.db).await;
    let server = Server::start(&t.db).await;
    let api = Api::new(&server.base);
    let branch = &cast.a.branch;
    for list in ["/api/v1/meetings", "/api/v1/mediation-cases"] {
        for bad in ["not-a-uuid", "", "%C3%91"] {
            api.get(&format!("{list}?xiaoqu={bad}"), &branch.token)
                .await
                .assert_problem(400, "invalid-query")
                .assert_field("xiaoqu");
        }
        api.get(&format!("{list}?colour=red"), &branch.token)
            .await
            .assert_problem(400, "invalid-query");
        let answer = api
            .get(&format!("{list}?xiaoqu={}", cast.a.id.0), &branch.token)
            .await;
        assert_eq!(answer.status.as_u16(), 200, "{list}: {}", answer.body);
    }
    server.stop().await;
}

/// A body is a JSON object as documented: an array is refused even where
/// serde would read the command from one (and the stale If-Match it came
/// with is never reached). An optional body may be absent or `null`.
async fn bodies_are_objects_and_optional_ones_may_be_null(t: TestDb) {
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
    let before = t.db.stream("grievance", &id).await.expect("stream");
    let assign = format!("/api/v1/grievances/{id}/assign");
    for array in [
        &b"[null, null]"[..],
        br#" ["\u4e09\u5929\u5185", null]"#,
        b"[]",
    ] {
        post_raw(&api, &assign, &a.branch, "application/json", array.to_vec())
            .await
            .assert_problem(400, "malformed-body");
        Api::send(
            api.request(Method::POST, &assign, Some(&a.branch.token))
                .header("content-type", "application/json")
                .header("if-match", "0")
                .body(array.to_vec()),
        )
        .await
        .assert_problem(400, "malformed-body");
    }
    unchanged(&t, &id, &before).await;

    // `null` where the body is optional: the command runs as with none.
    let other = api.file(&a.resident).await;
    let answer = post_raw(
        &api,
        &format!("/api/v1/grievances/{other}/accept"),
        &a.branch,
        "application/json",
        b"null".to_vec(),
    )
    .await;
    assert_eq!(
        answer.status.as_u16(),
        200,
        "accept with null: {}",
        answer.body
    );
    server.stop().await;
}
