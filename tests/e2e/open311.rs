//! Open311 GeoReport v2 under `/open311/v2`, on both stores: the service
//! list and definitions, creating a request the way civic apps send it
//! (form-encoded, the spec's fields), reading requests back with the same
//! visibility as `/api/v1`, and errors in the spec's shape.

use chrono::{DateTime, SubsecRound, Utc};
use lianxi_tests::{eventually, on_both_stores, Answer, Api, Cast, Person, Server, TestDb};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

on_both_stores!(
    the_service_list_offers_every_category_with_the_spec_fields,
    a_service_definition_lists_lianxi_attributes_and_an_unknown_service_is_not_found,
    a_form_encoded_request_files_a_grievance_and_keeps_no_contact_details,
    a_json_request_takes_its_common_area_from_the_address_string,
    requests_list_what_the_caller_may_see_newest_first_with_the_spec_filters,
    one_request_is_open_with_its_accept_deadline_until_the_branch_resolves_it,
    refusals_answer_in_the_open311_error_shape_and_write_nothing,
);

const CATEGORIES: [&str; 13] = [
    "property_service",
    "fees",
    "repairs",
    "maintenance_fund",
    "public_revenue",
    "parking",
    "sanitation",
    "safety",
    "noise",
    "renovation",
    "neighbour",
    "owners_committee",
    "other",
];

/// The fields of a service request, as GeoReport v2 lists them.
pub(super) const REQUEST_FIELDS: [&str; 17] = [
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
];

// Contact details a civic app sends; the names and the phone number are in
// tests/personal-data.txt, so that tests/run also checks the server logs.
const FIRST_NAME: &str = "王小明";
const LAST_NAME: &str = "赵六";
const PHONE: &str = "13800138000";
const EMAIL: &str = "wang.xiaoming@example.org";
const DEVICE_ID: &str = "device-5f2c9a";
const LAT: &str = "31.4675";
const LONG: &str = "104.6796";

/// `application/x-www-form-urlencoded`, by hand: the tests' reqwest has no
/// `form` feature.
pub(super) fn urlencoded(pairs: &[(&str, &str)]) -> String {
    let encode = |s: &str| -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    char::from(b).to_string()
                }
                b' ' => "+".to_owned(),
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// A form-encoded POST, authenticated only if `token` is given (as a header).
async fn post_form(api: &Api, path: &str, token: Option<&str>, pairs: &[(&str, &str)]) -> Answer {
    Api::send(
        api.request(Method::POST, path, token)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(urlencoded(pairs)),
    )
    .await
}

/// Every field GeoReport v2 lists for `POST requests.json`, as a civic app
/// fills them in; the token travels as `api_key`.
fn spec_request<'a>(
    api_key: &'a str,
    service_code: &'a str,
    description: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("api_key", api_key),
        ("service_code", service_code),
        ("lat", LAT),
        ("long", LONG),
        ("address_string", "幸福里小区3栋"),
        ("email", EMAIL),
        ("device_id", DEVICE_ID),
        ("account_id", "civic-app-account-77"),
        ("first_name", FIRST_NAME),
        ("last_name", LAST_NAME),
        ("phone", PHONE),
        ("description", description),
        ("media_url", "https://example.org/photo.jpg"),
        ("attribute[respondent]", "property_company"),
        ("attribute[building]", "3栋"),
        ("attribute[unit]", "2单元"),
    ]
}

/// Creates a request as `person` (token as `api_key`); returns its id.
async fn create(api: &Api, person: &Person, service_code: &str, description: &str) -> String {
    let answer = post_form(
        api,
        "/open311/v2/requests.json",
        None,
        &spec_request(&person.token, service_code, description),
    )
    .await;
    assert_eq!(answer.status, StatusCode::CREATED, "body: {}", answer.body);
    answer.body[0]["service_request_id"]
        .as_str()
        .expect("service_request_id")
        .to_owned()
}

/// Asserts the spec's error shape: `[{"code": status, "description"}]`.
fn assert_open311_error(answer: &Answer, status: u16, mentions: &str) {
    assert_eq!(answer.status.as_u16(), status, "body: {}", answer.body);
    assert_eq!(
        answer.header("content-type"),
        Some("application/json"),
        "Open311 errors are plain JSON"
    );
    let errors = answer.body.as_array().expect("an array of errors");
    assert!(!errors.is_empty(), "body: {}", answer.body);
    for error in errors {
        assert_eq!(error["code"], status, "body: {}", answer.body);
        assert!(error["description"].is_string());
    }
    assert!(
        errors.iter().any(|e| e["description"]
            .as_str()
            .is_some_and(|d| d.contains(mentions))),
        "no error mentions {mentions}: {}",
        answer.body
    );
}

fn keys(value: &Value) -> Vec<String> {
    let mut keys: Vec<String> = value
        .as_object()
        .expect("an object")
        .keys()
        .cloned()
        .collect();
    keys.sort();
    keys
}

fn sorted(names: &[&str]) -> Vec<String> {
    let mut names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    names.sort();
    names
}

fn ids(list: &Value) -> Vec<&str> {
    list.as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|i| i["service_request_id"].as_str())
                .collect()
        })
        .unwrap_or_default()
}

fn instant(value: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(value.as_str().expect("a time"))
        .expect("RFC 3339")
        .with_timezone(&Utc)
}

async fn the_service_list_offers_every_category_with_the_spec_fields(t: TestDb) {
    let server = Server::start(&t.db).await;
    let api = Api::new(&server.base);

    let list = Api::send(api.request(Method::GET, "/open311/v2/services.json", None)).await;
    assert_eq!(
        list.status,
        StatusCode::OK,
        "no token needed: {}",
        list.body
    );
    assert_eq!(list.header("content-type"), Some("application/json"));
    let services = list.body.as_array().expect("a list of services");
    let codes: Vec<&str> = services
        .iter()
        .filter_map(|s| s["service_code"].as_str())
        .collect();
    assert_eq!(codes, CATEGORIES, "one service per category");
    for service in services {
        assert_eq!(
            keys(service),
            sorted(&[
                "service_code",
                "service_name",
                "description",
                "metadata",
                "type",
                "keywords",
                "group"
            ]),
            "the spec's fields: {service}"
        );
        assert_eq!(service["metadata"], true, "every service takes attributes");
        assert_eq!(service["type"], "realtime");
        for field in ["service_name", "description", "keywords", "group"] {
            assert!(
                service[field].as_str().is_some_and(|v| !v.is_empty()),
                "{field} of {service}"
            );
        }
    }
    let name = |code: &str| {
        services
            .iter()
            .find(|s| s["service_code"] == code)
            .map(|s| s["service_name"].clone())
    };
    assert_eq!(name("repairs"), Some(json!("维修")));
    assert_eq!(name("parking"), Some(json!("停车")));
    assert_eq!(name("owners_committee"), Some(json!("业委会履职")));

    let bare = Api::send(api.request(Method::GET, "/open311/v2/services", None)).await;
    assert_eq!(bare.status, StatusCode::OK);
    assert_eq!(bare.body, list.body, "the .json suffix is optional");
    server.stop().await;
}

async fn a_service_definition_lists_lianxi_attributes_and_an_unknown_service_is_not_found(
    t: TestDb,
) {
    let server = Server::start(&t.db).await;
    let api = Api::new(&server.base);

    let definition =
        Api::send(api.request(Method::GET, "/open311/v2/services/repairs.json", None)).await;
    assert_eq!(definition.status, StatusCode::OK, "{}", definition.body);
    assert_eq!(definition.body["service_code"], "repairs");
    let attributes = definition.body["attributes"]
        .as_array()
        .expect("attributes");
    let codes: Vec<&str> = attributes
        .iter()
        .filter_map(|a| a["code"].as_str())
        .collect();
    assert_eq!(
        codes,
        ["respondent", "urgency", "building", "unit", "common_area"]
    );
    for (i, attribute) in attributes.iter().enumerate() {
        for field in [
            "variable",
            "code",
            "datatype",
            "required",
            "datatype_description",
            "order",
            "description",
        ] {
            assert!(
                attribute.get(field).is_some(),
                "{field} missing in {attribute}"
            );
        }
        assert_eq!(attribute["variable"], true);
        assert_eq!(attribute["order"], i + 1);
    }
    let values = |code: &str| -> Vec<String> {
        attributes
            .iter()
            .find(|a| a["code"] == code)
            .and_then(|a| a["values"].as_array())
            .map(|vs| {
                vs.iter()
                    .filter_map(|v| v["key"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(attributes[0]["datatype"], "singlevaluelist");
    assert_eq!(
        values("respondent"),
        [
            "property_company",
            "owners_committee",
            "neighbour",
            "unknown"
        ]
    );
    assert_eq!(attributes[1]["datatype"], "singlevaluelist");
    assert_eq!(values("urgency"), ["normal", "urgent"]);
    for code in ["building", "unit", "common_area"] {
        let attribute = attributes
            .iter()
            .find(|a| a["code"] == code)
            .expect("attribute");
        assert_eq!(attribute["datatype"], "string");
        assert!(attribute.get("values").is_none(), "only lists have values");
    }

    let bare = Api::send(api.request(Method::GET, "/open311/v2/services/noise", None)).await;
    assert_eq!(bare.status, StatusCode::OK);
    assert_eq!(bare.body["service_code"], "noise");

    let unknown =
        Api::send(api.request(Method::GET, "/open311/v2/services/potholes.json", None)).await;
    assert_open311_error(&unknown, 404, "service_code");
    server.stop().await;
}

async fn a_form_encoded_request_files_a_grievance_and_keeps_no_contact_details(t: TestDb) {
    let cast = Cast::new(&t.db).await;
    let server = Server::start(&t.db).await;
    let api = Api::new(&server.base);
    let a = &cast.a;

    let description = "3栋2单元电梯停运三天\n老人上下楼困难,请尽快维修。";
    let answer = post_form(
        &api,
        "/open311/v2/requests.json",
        None,
        &spec_request(&a.resident.token, "repairs", description),
    )
    .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
    assert_eq!(answer.header("content-type"), Some("application/json"));
    let created = answer.body.as_array().expect("an array");
    assert_eq!(created.len(), 1, "one created request: {}", answer.body);
    assert_eq!(
        keys(&created[0]),
        sorted(&[
            "service_request_id",
            "token",
            "service_notice",
            "account_id"
        ])
    );
    assert_eq!(created[0]["account_id"], Value::Null);
    assert!(created[0]["service_notice"].is_string());
    let id = created[0]["service_request_id"]
        .as_str()
        .expect("id")
        .to_owned();
    assert_eq!(
        answer.header("location"),
        Some(format!("/open311/v2/requests/{id}.json").as_str())
    );

    let view = api
        .get(&format!("/api/v1/grievances/{id}"), &a.resident.token)
        .await;
    assert_eq!(view.status, StatusCode::OK, "{}", view.body);
    let g = &view.body;
    assert_eq!(g["status"], "filed");
    assert_eq!(g["xiaoqu"], a.id.to_string());
    assert_eq!(g["filer"], a.resident.id.to_string());
    assert_eq!(g["category"], "repairs");
    assert_eq!(g["respondent"], "property_company");
    assert_eq!(g["urgency"], "normal");
    assert_eq!(g["channel"], "web");
    assert_eq!(
        g["location"],
        json!({"building": "3栋", "unit": "2单元", "common_area": null}),
        "with a building, address_string is not the common area"
    );
    assert_eq!(g["title"], "3栋2单元电梯停运三天", "the first line");
    assert_eq!(g["description"], description);
    assert_eq!(g["attachments"], json!([]), "media_url is not fetched");

    let stored = t.db.stream("grievance", &id).await.expect("stream");
    assert!(!stored.is_empty());
    for event in &stored {
        let text = format!("{} {}", event.payload, event.metadata);
        for sent in [
            FIRST_NAME,
            LAST_NAME,
            PHONE,
            EMAIL,
            DEVICE_ID,
            LAT,
            LONG,
            "civic-app-account-77",
            "example.org",
        ] {
            assert!(
                !text.contains(sent),
                "{sent} was stored in {}: {text}",
                event.event_type
            );
        }
        assert!(
            !text.contains(&a.resident.token),
            "the api_key is not stored"
        );
    }
    server.stop().await;
}

async fn a_json_request_takes_its_common_area_from_the_address_string(t: TestDb) {
    let cast = Cast::new(&t.db).await;
    let server = Server::start(&t.db).await;
    let api = Api::new(&server.base);
    let a = &cast.a;

    let answer = api
        .post(
            "/open311/v2/requests.json",
            &a.resident.token,
            json!({
                "service_code": "parking",
                "lat": 31.4675,
                "long": 104.6796,
                "address_string": "地下车库B2",
                "description": "B2层公共车位被同一辆车长期占用。",
                "attribute": {"respondent": "unknown", "urgency": "urgent"},
            }),
        )
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
    let id = answer.body[0]["service_request_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let view = api
        .get(&format!("/api/v1/grievances/{id}"), &a.resident.token)
        .await;
    assert_eq!(view.body["category"], "parking");
    assert_eq!(view.body["respondent"], "unknown");
    assert_eq!(view.body["urgency"], "urgent");
    assert_eq!(
        view.body["location"],
        json!({"building": null, "unit": null, "common_area": "地下车库B2"})
    );

    let untitled = api
        .post(
            "/open311/v2/requests",
            &a.resident.token,
            json!({"service_code": "noise", "address_string": "中心花园"}),
        )
        .await;
    assert_eq!(untitled.status, StatusCode::CREATED, "{}", untitled.body);
    let id = untitled.body[0]["service_request_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let view = api
        .get(&format!("/api/v1/grievances/{id}"), &a.resident.token)
        .await;
    assert_eq!(
        view.body["title"], "噪音",
        "without a description the service name is the title"
    );
    assert_eq!(view.body["respondent"], "unknown", "the default respondent");
    server.stop().await;
}

async fn requests_list_what_the_caller_may_see_newest_first_with_the_spec_filters(t: TestDb) {
    let cast = Cast::new(&t.db).await;
    let server = Server::start(&t.db).await;
    let api = Api::new(&server.base);
    let a = &cast.a;

    let first = create(&api, &a.resident, "repairs", "3栋电梯停运").await;
    let second = create(&api, &a.resident, "noise", "楼上夜间施工噪音").await;
    let other = create(&api, &cast.b.resident, "repairs", "和平苑水管漏水").await;

    let mine = eventually(
        "both requests in the filer's list",
        || async {
            api.get("/open311/v2/requests.json", &a.resident.token)
                .await
                .body
        },
        |list| ids(list).len() == 2,
    )
    .await;
    assert_eq!(
        ids(&mine),
        [second.as_str(), first.as_str()],
        "newest first"
    );
    for request in mine.as_array().expect("list") {
        assert_eq!(keys(request), sorted(&REQUEST_FIELDS), "{request}");
        assert_eq!(request["status"], "open");
    }

    let theirs = eventually(
        "the other xiaoqu's request in its filer's list",
        || async {
            api.get("/open311/v2/requests.json", &cast.b.resident.token)
                .await
                .body
        },
        |list| !ids(list).is_empty(),
    )
    .await;
    assert_eq!(
        ids(&theirs),
        [other.as_str()],
        "a resident of the other xiaoqu sees only their own"
    );

    let branch = api.get("/open311/v2/requests", &a.branch.token).await.body;
    assert_eq!(
        ids(&branch),
        [second.as_str(), first.as_str()],
        "the party branch sees all of its xiaoqu, as in /api/v1"
    );

    let noise = api
        .get(
            "/open311/v2/requests.json?service_code=noise",
            &a.resident.token,
        )
        .await;
    assert_eq!(ids(&noise.body), [second.as_str()]);

    let both = api
        .get(
            &format!("/open311/v2/requests.json?service_request_id={first},{other}"),
            &a.resident.token,
        )
        .await;
    assert_eq!(
        ids(&both.body),
        [first.as_str()],
        "ids the caller may not see are left out"
    );

    let open = api
        .get("/open311/v2/requests.json?status=open", &a.resident.token)
        .await;
    assert_eq!(ids(&open.body).len(), 2);
    let closed = api
        .get("/open311/v2/requests.json?status=closed", &a.resident.token)
        .await;
    assert_eq!(closed.status, StatusCode::OK);
    assert_eq!(closed.body, json!([]));

    let later = api
        .get(
            "/open311/v2/requests.json?start_date=2999-01-01T00:00:00%2B08:00",
            &a.resident.token,
        )
        .await;
    assert_eq!(later.body, json!([]));
    let earlier = api
        .get(
            "/open311/v2/requests.json?start_date=2000-01-01T00:00:00Z&end_date=2999-01-01T00:00:00Z",
            &a.resident.token,
        )
        .await;
    assert_eq!(ids(&earlier.body).len(), 2);

    let bad_date = api
        .get(
            "/open311/v2/requests.json?start_date=yesterday",
            &a.resident.token,
        )
        .await;
    assert_open311_error(&bad_date, 400, "start_date");
    let bad_status = api
        .get(
            "/open311/v2/requests.json?status=pending",
            &a.resident.token,
        )
        .await;
    assert_open311_error(&bad_status, 400, "status");
    server.stop().await;
}

async fn one_request_is_open_with_its_accept_deadline_until_the_branch_resolves_it(t: TestDb) {
    let cast = Cast::new(&t.db).await;
    let server = Server::start(&t.db).await;
    let api = Api::new(&server.base);
    let a = &cast.a;

    let id = create(&api, &a.resident, "repairs", "3栋电梯停运三天").await;
    let path = format!("/open311/v2/requests/{id}.json");
    let answer = api.get(&path, &a.resident.token).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let list = answer.body.as_array().expect("an array of one");
    assert_eq!(list.len(), 1);
    let request = &list[0];
    assert_eq!(keys(request), sorted(&REQUEST_FIELDS));
    assert_eq!(request["service_request_id"], id);
    assert_eq!(request["status"], "open");
    assert_eq!(request["status_notes"], "filed; tier xiaoqu");
    assert_eq!(request["service_code"], "repairs");
    assert_eq!(request["service_name"], "维修");
    assert_eq!(request["agency_responsible"], "小区党支部 (party branch)");
    assert_eq!(request["address"], "3栋 2单元");
    for absent in ["address_id", "zipcode", "lat", "long", "media_url"] {
        assert_eq!(request[absent], Value::Null, "{absent}");
    }

    let view = api
        .get(&format!("/api/v1/grievances/{id}"), &a.resident.token)
        .await
        .body;
    assert_eq!(view["deadline"]["stage"], "accept");
    let due = instant(&view["deadline"]["due_at"]);
    assert!(
        request["expected_datetime"]
            .as_str()
            .is_some_and(|t| t.ends_with("+00:00")),
        "ISO 8601 with an offset: {}",
        request["expected_datetime"]
    );
    assert_eq!(
        instant(&request["expected_datetime"]),
        due.trunc_subsecs(0),
        "expected_datetime is the accept deadline"
    );
    assert_eq!(
        instant(&request["requested_datetime"]),
        instant(&view["filed_at"]).trunc_subsecs(0)
    );

    let bare = api
        .get(&format!("/open311/v2/requests/{id}"), &a.resident.token)
        .await;
    assert_eq!(bare.body, answer.body, "the .json suffix is optional");

    let hidden = api.get(&path, &cast.b.resident.token).await;
    assert_open311_error(&hidden, 404, "service_request_id");
    let hidden = api.get(&path, &a.neighbour.token).await;
    assert_open311_error(&hidden, 404, "service_request_id");

    api.command(&id, "accept", &a.branch, json!({})).await;
    api.command(
        &id,
        "triage",
        &a.branch,
        json!({"matter_class": "minor", "party": "property_company"}),
    )
    .await;
    let assigned = api.get(&path, &a.company.token).await;
    assert_eq!(assigned.body[0]["status"], "open");
    assert_eq!(assigned.body[0]["status_notes"], "triaged; tier xiaoqu");
    api.command(&id, "assign", &a.branch, json!({})).await;
    api.command(
        &id,
        "respond",
        &a.company,
        json!({"response": "已联系维保单位,周五前修复。"}),
    )
    .await;
    api.command(
        &id,
        "resolve",
        &a.branch,
        json!({"summary": "电梯已修复并通过检验"}),
    )
    .await;

    let resolved = api.get(&path, &a.resident.token).await;
    assert_eq!(resolved.status, StatusCode::OK);
    let request = &resolved.body[0];
    assert_eq!(request["status"], "closed");
    assert_eq!(request["status_notes"], "resolved; tier xiaoqu");
    assert!(
        instant(&request["updated_datetime"]) >= instant(&request["requested_datetime"]),
        "{request}"
    );

    let closed = eventually(
        "the resolved request among the closed ones",
        || async {
            api.get("/open311/v2/requests.json?status=closed", &a.resident.token)
                .await
                .body
        },
        |list| ids(list) == [id.as_str()],
    )
    .await;
    assert_eq!(closed[0]["status"], "closed");
    let open = api
        .get("/open311/v2/requests.json?status=open", &a.resident.token)
        .await;
    assert_eq!(open.body, json!([]));
    server.stop().await;
}

async fn refusals_answer_in_the_open311_error_shape_and_write_nothing(t: TestDb) {
    let cast = Cast::new(&t.db).await;
    let server = Server::start(&t.db).await;
    let api = Api::new(&server.base);
    let a = &cast.a;
    let path = "/open311/v2/requests.json";

    let mut missing = spec_request(&a.resident.token, "repairs", "电梯停运");
    missing.retain(|(k, _)| *k != "service_code");
    let answer = post_form(&api, path, None, &missing).await;
    assert_open311_error(&answer, 400, "service_code");

    let mut anonymous = spec_request("", "repairs", "电梯停运");
    anonymous.retain(|(k, _)| *k != "api_key");
    let answer = post_form(&api, path, None, &anonymous).await;
    assert_open311_error(&answer, 401, "token");
    assert_eq!(answer.header("www-authenticate"), Some("Bearer"));
    let answer = post_form(
        &api,
        path,
        None,
        &spec_request("lx_not-a-real-token", "repairs", "电梯停运"),
    )
    .await;
    assert_open311_error(&answer, 401, "token");
    let answer = Api::send(api.request(Method::GET, path, None)).await;
    assert_open311_error(&answer, 401, "token");

    let answer = post_form(
        &api,
        path,
        None,
        &spec_request(&a.company.token, "repairs", "电梯停运"),
    )
    .await;
    assert_open311_error(&answer, 403, "property_company");
    let answer = post_form(&api, path, Some(&cast.auditor.token), &anonymous).await;
    assert_open311_error(&answer, 403, "xiaoqu");

    let answer = post_form(
        &api,
        path,
        None,
        &spec_request(&a.resident.token, "potholes", "路面坑洼"),
    )
    .await;
    assert_open311_error(&answer, 404, "service_code");

    let mut bad_respondent = spec_request(&a.resident.token, "repairs", "电梯停运");
    bad_respondent.retain(|(k, _)| *k != "attribute[respondent]");
    bad_respondent.push(("attribute[respondent]", "the_mayor"));
    let answer = post_form(&api, path, None, &bad_respondent).await;
    assert_open311_error(&answer, 400, "attribute[respondent]");

    let nowhere = [
        ("api_key", a.resident.token.as_str()),
        ("service_code", "noise"),
        ("lat", LAT),
        ("long", LONG),
        ("description", "夜间噪音"),
    ];
    let answer = post_form(&api, path, None, &nowhere).await;
    assert_open311_error(&answer, 400, "address_string");

    let mut unknown = spec_request(&a.resident.token, "repairs", "电梯停运");
    unknown.push(("attribute[colour]", "red"));
    let answer = post_form(&api, path, None, &unknown).await;
    assert_open311_error(&answer, 400, "attribute[colour]");

    let answer = Api::send(
        api.request(Method::POST, path, Some(&a.resident.token))
            .header("content-type", "text/plain")
            .body("service_code=repairs"),
    )
    .await;
    assert_open311_error(&answer, 415, "application/x-www-form-urlencoded");

    // Only this one is filed: once the branch's list shows it, it shows
    // everything appended before it too.
    let id = create(&api, &a.resident, "repairs", "电梯停运").await;
    let list = eventually(
        "the one filed request in the branch's list",
        || async { api.get(path, &a.branch.token).await.body },
        |list| !ids(list).is_empty(),
    )
    .await;
    assert_eq!(ids(&list), [id.as_str()], "refused requests wrote nothing");
    server.stop().await;
}
