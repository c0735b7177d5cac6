//! What the service says about itself: health, readiness, OpenAPI.

use lianxi_tests::{on_both_stores, Api, Server, TestDb};
use reqwest::{Method, StatusCode};

on_both_stores!(the_openapi_document_describes_every_route);

async fn the_openapi_document_describes_every_route(t: TestDb) {
    let server = Server::start(&t.db).await;
    let api = Api::new(&server.base);
    let doc = Api::send(api.request(Method::GET, "/api/v1/openapi.json", None)).await;
    assert_eq!(doc.status, StatusCode::OK);
    assert!(doc.body["openapi"]
        .as_str()
        .is_some_and(|v| v.starts_with("3.")));
    let paths = doc.body["paths"].as_object().expect("paths");
    let mut expected = vec![
        "/healthz".to_owned(),
        "/readyz".to_owned(),
        "/api/v1/grievances".to_owned(),
        "/api/v1/grievances/{id}".to_owned(),
        "/api/v1/grievances/{id}/events".to_owned(),
        "/api/v1/grievances/{id}/story".to_owned(),
        "/api/v1/grievances/{id}/dossier".to_owned(),
        "/api/v1/escalation-queue".to_owned(),
        "/api/v1/figures".to_owned(),
        "/api/v1/audit/verify".to_owned(),
        "/api/v1/audit/checkpoints".to_owned(),
        "/api/v1/audit/checkpoints/{tree_size}".to_owned(),
        "/api/v1/audit/consistency".to_owned(),
        "/api/v1/auth/login".to_owned(),
        "/api/v1/auth/logout".to_owned(),
        "/api/v1/auth/me".to_owned(),
        "/api/v1/admin/people/{id}/erasure".to_owned(),
        "/api/v1/admin/xiaoqu".to_owned(),
        "/api/v1/admin/accounts".to_owned(),
        "/api/v1/admin/accounts/{id}/revocation".to_owned(),
        "/api/v1/admin/accounts/{id}/roles".to_owned(),
        "/api/v1/admin/accounts/{id}/roles/revocation".to_owned(),
    ];
    for action in [
        "accept",
        "reject",
        "triage",
        "assign",
        "respond",
        "escalate",
        "withdraw",
        "resolve",
        "rate",
        "reopen",
        "merge",
        "pause",
        "resume",
        "identity-consent",
    ] {
        expected.push(format!("/api/v1/grievances/{{id}}/{action}"));
    }
    for path in &expected {
        assert!(
            paths.contains_key(path),
            "{path} is missing from openapi.json"
        );
    }
    assert_eq!(
        paths.len(),
        expected.len(),
        "openapi.json lists routes that do not exist"
    );
    assert!(doc.body["components"]["securitySchemes"]["bearer"].is_object());
    let ready = Api::send(api.request(Method::GET, "/readyz", None)).await;
    assert_eq!(
        ready.body["store"],
        if t.store == lianxi_tests::Store::Sqlite {
            "sqlite"
        } else {
            "postgres"
        }
    );
    server.stop().await;
}
