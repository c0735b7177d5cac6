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
    // The router registers each operation with its document entry, so the
    // document is the list of routes: every operation it names is served
    // (a route no handler serves answers 404 "no route serves this path";
    // a method it does not take, 405).
    let mut operations = 0;
    for (path, item) in paths {
        let concrete = path
            .split('/')
            .map(|segment| match segment {
                "{tree_size}" | "{session}" => "1".to_owned(),
                s if s.starts_with('{') => uuid::Uuid::new_v4().to_string(),
                s => s.to_owned(),
            })
            .collect::<Vec<_>>()
            .join("/");
        for method in ["get", "post"] {
            if item.get(method).is_none() {
                continue;
            }
            operations += 1;
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
            let request = api
                .request(method.clone(), &concrete, Some("not-a-token"))
                .header("content-type", "application/json")
                .body("{");
            let answer = Api::send(request).await;
            assert_ne!(
                answer.status,
                StatusCode::METHOD_NOT_ALLOWED,
                "{method} {path} is documented but not served"
            );
            assert!(
                !(answer.status == StatusCode::NOT_FOUND
                    && answer.body["detail"] == "no route serves this path"),
                "{method} {path} is documented but no route serves it"
            );
        }
    }
    assert!(operations >= 70, "only {operations} operations documented");
    // And what no route serves says so.
    let nowhere = Api::send(api.request(Method::GET, "/api/v1/nowhere", None)).await;
    assert_eq!(nowhere.status, StatusCode::NOT_FOUND);
    assert_eq!(nowhere.body["detail"], "no route serves this path");
    assert!(doc.body["components"]["securitySchemes"]["bearer"].is_object());

    // The same document as a page that needs nothing from elsewhere.
    let page = lianxi_tests::http_client()
        .build()
        .expect("HTTP client")
        .get(format!("{}/api/v1/docs", server.base))
        .send()
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
