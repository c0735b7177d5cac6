//! What the service says about itself: health, readiness, OpenAPI.

use lianxi_tests::{on_both_stores, Api, Server, TestDb};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::collections::BTreeSet;

on_both_stores!(
    the_openapi_document_describes_every_route,
    the_openapi_document_says_where_parameters_go_and_which_refusals_come,
    the_openapi_document_states_meeting_parties_and_digest_patterns,
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

/// The names of every schema `value` refers to, and of those they refer
/// to in turn.
fn referred(doc: &Value, value: &Value, found: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            if let Some(name) = map
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix("#/components/schemas/"))
            {
                if found.insert(name.to_owned()) {
                    referred(doc, &doc["components"]["schemas"][name], found);
                }
            }
            map.values().for_each(|v| referred(doc, v, found));
        }
        Value::Array(items) => items.iter().for_each(|v| referred(doc, v, found)),
        _ => {}
    }
}

/// Meeting bodies name only the five parties a meeting accepts (never a
/// tier), and a file's digest in a path is stated as the service reads it.
async fn the_openapi_document_states_meeting_parties_and_digest_patterns(t: TestDb) {
    let server = Server::start(&t.db).await;
    let api = Api::new(&server.base);
    let doc = Api::send(api.request(Method::GET, "/api/v1/openapi.json", None)).await;
    assert_eq!(doc.status, StatusCode::OK);
    let doc = doc.body;
    let parties: BTreeSet<&str> = doc["components"]["schemas"]["MeetingParty"]["enum"]
        .as_array()
        .expect("MeetingParty is an enum")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(
        parties,
        BTreeSet::from([
            "party_branch",
            "owners_committee",
            "supervisory_committee",
            "property_company",
            "micro_organization",
        ])
    );
    let paths = doc["paths"].as_object().expect("paths");
    let mut bodies = 0;
    for (path, item) in paths
        .iter()
        .filter(|(p, _)| p.starts_with("/api/v1/meetings"))
    {
        for (method, op) in item.as_object().expect("path item") {
            let Some(body) = op.get("requestBody") else {
                continue;
            };
            let mut names = BTreeSet::new();
            referred(&doc, body, &mut names);
            assert!(
                !names.contains("Party"),
                "{method} {path} takes a tier as a meeting party: {names:?}"
            );
            if ["/open", "/decision"].iter().any(|end| path.ends_with(end)) {
                assert!(names.contains("MeetingParty"), "{method} {path}: {names:?}");
                bodies += 1;
            }
        }
    }
    assert_eq!(bodies, 2, "opening and deciding are documented");
    let mut digests = 0;
    for (path, item) in paths.iter().filter(|(p, _)| p.contains("{sha256}")) {
        for (method, op) in item.as_object().expect("path item") {
            let parameter = op["parameters"]
                .as_array()
                .and_then(|ps| ps.iter().find(|p| p["name"] == "sha256"))
                .unwrap_or_else(|| panic!("{method} {path} documents sha256"));
            assert_eq!(parameter["in"], "path");
            assert_eq!(
                parameter["schema"]["pattern"], "^[0-9a-f]{64}$",
                "{method} {path}"
            );
            digests += 1;
        }
    }
    assert!(digests >= 2, "the file and its thumbnail");
    server.stop().await;
}
