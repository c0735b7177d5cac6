//! Security headers on every answer: HTML of every interface (pages, the
//! API's documentation, a printable dossier) carries a content security
//! policy, no framing, no sniffing; behind an https public address every
//! cookie is `Secure` and HSTS is sent; refusals never echo what was sent;
//! text that would display otherwise than it reads is refused.

use lianxi_gateway::server::Service;
use lianxi_tests::{quick_background, test_vault, Api, Cast, Server, Store, TestDb};
use reqwest::StatusCode;
use serde_json::json;

async fn serve(t: &TestDb, public_url: Option<&str>) -> Server {
    let state = lianxi_gateway::server::state(t.db.clone())
        .with_vault(test_vault())
        .with_public_url(public_url.map(str::to_owned));
    Server::serve(Service::start_with(state, quick_background())).await
}

async fn get(base: &str, path: &str, token: Option<&str>) -> reqwest::Response {
    let mut request = lianxi_tests::http_client()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
        .get(format!("{base}{path}"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.expect("request")
}

fn header<'a>(response: &'a reqwest::Response, name: &str) -> &'a str {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_html_answer_is_hardened_and_https_makes_cookies_secure() {
    let Some(t) = TestDb::new(Store::Sqlite).await else {
        return;
    };
    let cast = Cast::new(&t.db).await;

    // Behind https: HSTS, and the CSRF cookie of the sign-in page is Secure.
    let server = serve(&t, Some("https://lianxi.example.org")).await;
    let login = get(&server.base, "/login", None).await;
    assert!(header(&login, "strict-transport-security").starts_with("max-age="));
    let cookies: Vec<&str> = login
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    assert!(!cookies.is_empty(), "a CSRF cookie");
    assert!(
        cookies.iter().all(|c| c.ends_with("; Secure")),
        "{cookies:?}"
    );

    // HTML of the API too: the documentation and a printable dossier.
    let api = Api::new(&server.base);
    let id = api.file(&cast.a.resident).await;
    for (path, token) in [
        ("/api/v1/docs".to_owned(), None),
        (
            format!("/api/v1/grievances/{id}/dossier?format=html"),
            Some(cast.auditor.token.as_str()),
        ),
    ] {
        let page = get(&server.base, &path, token).await;
        assert_eq!(page.status(), StatusCode::OK, "{path}");
        assert!(
            header(&page, "content-type").starts_with("text/html"),
            "{path}"
        );
        assert!(
            header(&page, "content-security-policy").contains("frame-ancestors 'none'"),
            "{path}"
        );
        assert_eq!(header(&page, "x-content-type-options"), "nosniff", "{path}");
        assert_eq!(header(&page, "x-frame-options"), "DENY", "{path}");
    }
    let json = get(&server.base, "/api/v1/figures", None).await;
    assert_eq!(header(&json, "x-content-type-options"), "nosniff");

    // A refusal names the field and what was expected, not what was sent;
    // a title that would display reordered is refused.
    let mut body = lianxi_tests::sample_grievance();
    body["title"] = json!(13_961_180_007_u64);
    let refused = api
        .post("/api/v1/grievances", &cast.a.resident.token, body)
        .await;
    refused
        .assert_problem(400, "malformed-body")
        .assert_field("title");
    assert!(
        !refused.body.to_string().contains("13961180007"),
        "{}",
        refused.body
    );
    let mut body = lianxi_tests::sample_grievance();
    body["title"] = json!("物业费\u{202E}退还");
    api.post("/api/v1/grievances", &cast.a.resident.token, body)
        .await
        .assert_problem(422, "invalid-field")
        .assert_field("title");
    server.stop().await;

    // Over plain http: no HSTS, cookies as they were.
    let server = serve(&t, None).await;
    let login = get(&server.base, "/login", None).await;
    assert_eq!(header(&login, "strict-transport-security"), "");
    assert!(login
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .all(|c| !c.contains("Secure")));
    server.stop().await;
}
