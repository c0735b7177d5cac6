//! What the service says about itself: health, readiness, OpenAPI.

use lianxi_tests::{on_both_stores, Api, Server, TestDb};
use reqwest::{Method, StatusCode};

on_both_stores!(
    the_openapi_document_describes_every_route,
    the_openapi_document_says_where_parameters_go_and_which_refusals_come,
);

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
        "/api/v1/admin/xiaoqu/{id}/rename".to_owned(),
        "/api/v1/admin/xiaoqu/{id}/move".to_owned(),
        "/api/v1/admin/xiaoqu/{id}/parties".to_owned(),
        "/api/v1/admin/xiaoqu/{id}/parties/retirement".to_owned(),
        "/api/v1/registry".to_owned(),
        "/api/v1/registry/xiaoqu/{id}".to_owned(),
        "/api/v1/registry/xiaoqu/{id}/events".to_owned(),
        "/api/v1/registry/organizations/{id}".to_owned(),
        "/api/v1/meetings".to_owned(),
        "/api/v1/meetings/{id}".to_owned(),
        "/api/v1/meetings/{id}/minutes".to_owned(),
        "/api/v1/meetings/{id}/agenda".to_owned(),
        "/api/v1/meetings/{id}/open".to_owned(),
        "/api/v1/meetings/{id}/items/{item}/decision".to_owned(),
        "/api/v1/meetings/{id}/items/{item}/deferral".to_owned(),
        "/api/v1/meetings/{id}/close".to_owned(),
        "/api/v1/meetings/{id}/cancel".to_owned(),
        "/api/v1/meetings/{id}/action-items/{action_item}/completion".to_owned(),
        "/api/v1/xiaoqu/{id}/agenda".to_owned(),
        "/api/v1/mediation-cases".to_owned(),
        "/api/v1/mediation-cases/{id}".to_owned(),
        "/api/v1/mediation-cases/{id}/sessions".to_owned(),
        "/api/v1/mediation-cases/{id}/sessions/{session}/record".to_owned(),
        "/api/v1/mediation-cases/{id}/proposal".to_owned(),
        "/api/v1/mediation-cases/{id}/proposal/acceptance".to_owned(),
        "/api/v1/mediation-cases/{id}/proposal/decline".to_owned(),
        "/api/v1/mediation-cases/{id}/failure".to_owned(),
        "/api/v1/mediation-cases/{id}/obligations/{obligation}/fulfilment".to_owned(),
        "/api/v1/mediation-cases/{id}/obligations/{obligation}/missed".to_owned(),
        "/api/v1/notifications/stream".to_owned(),
        "/api/v1/webhooks".to_owned(),
        "/api/v1/webhooks/{id}/deletion".to_owned(),
        "/api/v1/webhooks/{id}/dead-letters".to_owned(),
        "/api/v1/webhooks/{id}/dead-letters/{event_id}/retry".to_owned(),
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
        "refer-to-meeting",
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

    // The same document as a page that needs nothing from elsewhere.
    let page = reqwest::get(format!("{}/api/v1/docs", server.base))
        .await
        .expect("docs page");
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(
        page.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("text/html; charset=utf-8")
    );
    let html = page.text().await.expect("html");
    for path in paths.keys() {
        assert!(
            html.contains(&format!("<code>{path}</code>")),
            "{path} not on the page"
        );
    }
    assert!(!html.contains("<script"), "the page runs no script");
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

/// Query parameters documented as query parameters (not as path parameters
/// of a path without them), and the refusals shared by every command
/// documented on each: a fuzzer holds the service to its document.
async fn the_openapi_document_says_where_parameters_go_and_which_refusals_come(t: TestDb) {
    let server = Server::start(&t.db).await;
    let api = Api::new(&server.base);
    let doc = Api::send(api.request(Method::GET, "/api/v1/openapi.json", None)).await;
    assert_eq!(doc.status, StatusCode::OK);
    let paths = doc.body["paths"].as_object().expect("paths");
    let mut query = Vec::new();
    for (path, item) in paths {
        for (method, op) in item.as_object().expect("path item") {
            if !["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                continue;
            }
            let parameters = op["parameters"].as_array().cloned().unwrap_or_default();
            for p in &parameters {
                let name = p["name"].as_str().expect("parameter name");
                assert_eq!(
                    p["in"] == "path",
                    path.contains(&format!("{{{name}}}")),
                    "{method} {path}: parameter {name} is documented in {}",
                    p["in"]
                );
                if p["in"] == "query" {
                    query.push(format!("{method} {path} {name}"));
                }
                if name == "limit" {
                    assert_eq!(p["schema"]["minimum"], 1, "{method} {path} limit");
                    assert_eq!(p["schema"]["maximum"], 200, "{method} {path} limit");
                }
            }
            let responses = op["responses"].as_object().expect("responses");
            let mut wanted = Vec::new();
            if op.get("requestBody").is_some() {
                wanted.extend(["400", "413", "415"]);
            }
            if parameters.iter().any(|p| p["name"] == "Idempotency-Key") {
                wanted.extend(["400", "409", "422"]);
            }
            for status in wanted {
                assert!(
                    responses.contains_key(status),
                    "{method} {path} does not document {status}"
                );
                assert_eq!(
                    responses[status]["content"]["application/problem+json"]["schema"]["$ref"],
                    "#/components/schemas/Problem",
                    "{method} {path} {status}"
                );
            }
        }
    }
    for read in [
        "get /api/v1/audit/checkpoints limit",
        "get /api/v1/audit/consistency from",
        "get /api/v1/audit/consistency to",
        "get /api/v1/grievances/{id} as_of",
        "get /api/v1/grievances/{id}/dossier format",
        "get /api/v1/meetings xiaoqu",
        "get /api/v1/mediation-cases xiaoqu",
    ] {
        assert!(
            query.iter().any(|q| q == read),
            "{read} is not a query parameter"
        );
    }
    server.stop().await;
}
