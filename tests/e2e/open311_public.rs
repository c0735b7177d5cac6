//! The public read of Open311 an operator may open
//! (`LIANXI_OPEN311_PUBLIC_READ`): closed by default; when open, a GET
//! without a key lists triaged major and minor matters without personal
//! data or the filer's text, never a private matter or one not yet
//! triaged; a bad key is still refused, and keyed reads are unchanged.
//! Through the real binary, on both stores.

use lianxi_domain::Role;
use lianxi_tests::{on_both_stores, value_of, Api, Person, Process, TempDir, TestDb};
use reqwest::StatusCode;
use serde_json::{json, Value};

on_both_stores!(an_operator_may_open_a_public_read_of_non_private_matters);

const NAME: &str = "王小明";
const PHONE: &str = "13800138000";
const ROOM: &str = "3栋2单元501";

/// `lianxi admin <args>` on the deployment in `dir`; stdout's `key=value` lines.
async fn admin(dir: &TempDir, url: &str, args: &[&str]) -> Vec<(String, String)> {
    let args: Vec<&str> = std::iter::once("admin")
        .chain(args.iter().copied())
        .collect();
    lianxi_tests::lianxi_cli(&dir.0, &[("LIANXI_DATABASE_URL", url)], &args).await
}

/// An account of 幸福里 with `role`, and with name, phone and room when given.
async fn account(dir: &TempDir, url: &str, role: Role, person: &[&str]) -> Person {
    let wire = serde_json::to_value(role).expect("role");
    let wire = wire.as_str().expect("a role's name");
    let mut args = vec!["add-account", "--role", wire, "--xiaoqu", "幸福里"];
    args.extend_from_slice(person);
    let out = admin(dir, url, &args).await;
    Person {
        id: lianxi_domain::values::AccountId(
            uuid::Uuid::parse_str(&value_of(&out, "id")).expect("account id"),
        ),
        role,
        token: value_of(&out, "token"),
    }
}

/// GET `/open311/v2/{path}` with the query `query`: status and body text.
async fn get(base: &str, path: &str, query: &[(&str, &str)]) -> (StatusCode, String) {
    let url = if query.is_empty() {
        format!("{base}/open311/v2/{path}")
    } else {
        format!(
            "{base}/open311/v2/{path}?{}",
            super::open311::urlencoded(query)
        )
    };
    let response = lianxi_tests::http_client()
        .build()
        .expect("HTTP client")
        .get(url)
        .send()
        .await
        .expect("GET");
    let status = response.status();
    (status, response.text().await.expect("body"))
}

/// Files a request through Open311 as `person`, in building 3栋, unit 2单元,
/// with a description naming the filer and their room.
async fn file(base: &str, person: &Person) -> String {
    let description = format!("{NAME}({PHONE})反映{ROOM}楼上漏水");
    let response = lianxi_tests::http_client()
        .build()
        .expect("HTTP client")
        .post(format!("{base}/open311/v2/requests.json"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(super::open311::urlencoded(&[
            ("api_key", &person.token),
            ("service_code", "repairs"),
            ("description", &description),
            ("attribute[building]", "3栋"),
            ("attribute[unit]", "2单元"),
        ]))
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.expect("JSON");
    body[0]["service_request_id"]
        .as_str()
        .expect("id")
        .to_owned()
}

/// Nothing of the filer, their home or their text is in `body`.
fn assert_no_personal_data(body: &str) {
    for secret in [NAME, PHONE, ROOM, "3栋", "2单元", "漏水"] {
        assert!(!body.contains(secret), "{secret} in {body}");
    }
}

async fn an_operator_may_open_a_public_read_of_non_private_matters(t: TestDb) {
    let dir = TempDir::new();
    let url = t.url.as_str();
    admin(
        &dir,
        url,
        &[
            "add-xiaoqu",
            "--name",
            "幸福里",
            "--community",
            "东苑社区",
            "--street",
            "城厢街道",
            "--district",
            "涪城区",
        ],
    )
    .await;
    let resident = account(
        &dir,
        url,
        Role::Resident,
        &["--name", NAME, "--phone", PHONE, "--room", ROOM],
    )
    .await;
    let branch = account(&dir, url, Role::PartyBranch, &["--name", "李书记"]).await;

    // By default there is no public read: a keyless GET is refused.
    let server = Process::start(&dir.0, &[("LIANXI_DATABASE_URL", url)]).await;
    let minor = file(&server.base, &resident).await;
    for path in [
        "requests.json",
        "requests.xml",
        &format!("requests/{minor}.json"),
    ] {
        let (status, body) = get(&server.base, path, &[]).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}: {body}");
    }
    assert!(server.terminate().await.success());

    // Opened by the operator.
    let server = Process::start(
        &dir.0,
        &[
            ("LIANXI_DATABASE_URL", url),
            ("LIANXI_OPEN311_PUBLIC_READ", "true"),
        ],
    )
    .await;
    let base = server.base.as_str();
    let api = Api::new(base);
    let private = file(base, &resident).await;
    let untriaged = file(base, &resident).await;
    for (id, class) in [(&minor, "minor"), (&private, "private")] {
        api.command(id, "accept", &branch, json!({})).await;
        api.command(
            id,
            "triage",
            &branch,
            json!({"matter_class": class, "party": "property_company"}),
        )
        .await;
    }
    api.settled().await;

    // Keyless: the minor matter only, without personal data or the
    // filer's text, in both formats; the address is the xiaoqu's name.
    let (status, body) = get(base, "requests.json", &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let list: Value = serde_json::from_str(&body).expect("JSON");
    let ids: Vec<&str> = list
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|r| r["service_request_id"].as_str())
        .collect();
    assert_eq!(ids, [minor.as_str()], "{body}");
    assert_eq!(list[0]["service_code"], "repairs");
    assert_eq!(list[0]["status"], "open");
    assert_eq!(list[0]["address"], "幸福里");
    assert_eq!(list[0]["description"], Value::Null);
    assert!(list[0]["agency_responsible"].is_string());
    assert!(list[0]["requested_datetime"].is_string());
    assert_no_personal_data(&body);
    assert!(!body.contains(&resident.id.0.to_string()));

    let (status, xml) = get(base, "requests.xml", &[]).await;
    assert_eq!(status, StatusCode::OK, "{xml}");
    assert!(xml.contains(&minor), "{xml}");
    assert!(
        !xml.contains(&private) && !xml.contains(&untriaged),
        "{xml}"
    );
    assert_no_personal_data(&xml);

    // One by one: the minor matter and its token; the others as if absent.
    let (status, one) = get(base, &format!("requests/{minor}.xml"), &[]).await;
    assert_eq!(status, StatusCode::OK, "{one}");
    assert_no_personal_data(&one);
    let (status, _) = get(base, &format!("tokens/{minor}.json"), &[]).await;
    assert_eq!(status, StatusCode::OK);
    for id in [&private, &untriaged] {
        let (status, body) = get(base, &format!("requests/{id}.json"), &[]).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
        let (status, _) = get(base, &format!("tokens/{id}.json"), &[]).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
    let both = format!("{minor},{private}");
    let (status, body) = get(base, "requests.json", &[("service_request_id", &both)]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains(&minor) && !body.contains(&private), "{body}");

    // A bad or unknown key is still refused; filing still needs a key.
    for key in ["not-a-token", "lx_0123456789abcdef0123456789abcdef"] {
        let (status, body) = get(base, "requests.json", &[("api_key", key)]).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        assert!(body.contains("api_key"), "{body}");
    }
    let filed = lianxi_tests::http_client()
        .build()
        .expect("HTTP client")
        .post(format!("{base}/open311/v2/requests.json"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("service_code=repairs&address_string=%E5%A4%A7%E9%97%A8")
        .send()
        .await
        .expect("POST");
    assert_eq!(filed.status(), StatusCode::UNAUTHORIZED);

    // With a key, reads are as before: the filer sees all three, with
    // their description.
    let (status, body) = get(base, "requests.json", &[("api_key", &resident.token)]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let mine: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(mine.as_array().map(Vec::len), Some(3), "{body}");
    assert!(
        body.contains("漏水") && body.contains("3栋 2单元"),
        "{body}"
    );
    assert!(server.terminate().await.success());
}
