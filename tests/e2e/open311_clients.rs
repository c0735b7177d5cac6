//! Open311 GeoReport v2 as client libraries speak it: form-encoded POSTs
//! with `api_key` and `jurisdiction_id`, GETs with `api_key` in the query,
//! `.xml` (the specification's required format) and `.json` alike;
//! discovery, services, a definition, filing, paging, one request, tokens,
//! and every error in the specification's shape. XML answers are read with
//! an independent parser and checked against the specification's element
//! names.

use lianxi_tests::{on_both_stores, Api, Cast, Server, TestDb};
use reqwest::StatusCode;
use serde_json::Value;

on_both_stores!(a_client_library_walks_the_whole_endpoint_in_xml_and_json);

/// One answer: status, content type and body text.
struct Reply {
    status: StatusCode,
    content_type: String,
    text: String,
}

impl Reply {
    fn xml(&self) -> roxmltree::Document<'_> {
        assert!(
            self.content_type.starts_with("text/xml"),
            "{}: {}",
            self.content_type,
            self.text
        );
        assert!(self
            .text
            .starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?>"));
        roxmltree::Document::parse(&self.text).unwrap_or_else(|e| panic!("{e}: {}", self.text))
    }

    fn json(&self) -> Value {
        assert!(self.content_type.starts_with("application/json"));
        serde_json::from_str(&self.text).expect("JSON")
    }
}

struct Client {
    base: String,
    http: reqwest::Client,
}

impl Client {
    /// GET with the key and jurisdiction in the query, as the libraries do.
    async fn get(&self, path: &str, api_key: Option<&str>, more: &[(&str, &str)]) -> Reply {
        let mut query: Vec<(&str, &str)> = vec![("jurisdiction_id", "lianxi")];
        if let Some(key) = api_key {
            query.push(("api_key", key));
        }
        query.extend_from_slice(more);
        let response = self
            .http
            .get(format!(
                "{}/open311/v2/{path}?{}",
                self.base,
                super::open311::urlencoded(&query)
            ))
            .send()
            .await
            .expect("GET");
        Self::reply(response).await
    }

    async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> Reply {
        let response = self
            .http
            .post(format!("{}/open311/v2/{path}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(super::open311::urlencoded(form))
            .send()
            .await
            .expect("POST");
        Self::reply(response).await
    }

    async fn reply(response: reqwest::Response) -> Reply {
        let status = response.status();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let text = response.text().await.expect("body");
        Reply {
            status,
            content_type,
            text,
        }
    }
}

/// The text of `parent`'s child element `name`.
fn child<'a>(parent: roxmltree::Node<'a, 'a>, name: &str) -> Option<roxmltree::Node<'a, 'a>> {
    parent.children().find(|n| n.has_tag_name(name))
}

fn text_of(parent: roxmltree::Node<'_, '_>, name: &str) -> String {
    child(parent, name)
        .and_then(|n| n.text())
        .unwrap_or_default()
        .to_owned()
}

fn elements<'a>(parent: roxmltree::Node<'a, 'a>, name: &str) -> Vec<roxmltree::Node<'a, 'a>> {
    parent.children().filter(|n| n.has_tag_name(name)).collect()
}

/// An error answer in the specification's shape, in either format.
fn assert_error(reply: &Reply, status: u16, mentions: &str) {
    assert_eq!(reply.status.as_u16(), status, "{}", reply.text);
    let descriptions: Vec<String> = if reply.content_type.starts_with("text/xml") {
        let doc = reply.xml();
        let root = doc.root_element();
        assert!(root.has_tag_name("errors"), "{}", reply.text);
        elements(root, "error")
            .into_iter()
            .map(|e| {
                assert_eq!(text_of(e, "code"), status.to_string());
                text_of(e, "description")
            })
            .collect()
    } else {
        reply
            .json()
            .as_array()
            .expect("a list of errors")
            .iter()
            .map(|e| {
                assert_eq!(e["code"], status);
                e["description"].as_str().expect("description").to_owned()
            })
            .collect()
    };
    assert!(!descriptions.is_empty());
    assert!(
        descriptions.iter().any(|d| d.contains(mentions)),
        "no error mentions {mentions}: {descriptions:?}"
    );
}

async fn a_client_library_walks_the_whole_endpoint_in_xml_and_json(t: TestDb) {
    let cast = Cast::new(&t.db).await;
    let server = Server::start(&t.db).await;
    let client = Client {
        base: server.base.clone(),
        http: lianxi_tests::http_client().build().expect("HTTP client"),
    };
    let key = cast.a.resident.token.as_str();

    // Discovery, where the specification looks for it and under v2.
    let response = client
        .http
        .get(format!("{}/open311/discovery.xml", server.base))
        .send()
        .await
        .expect("discovery");
    let discovery = Client::reply(response).await;
    let doc = discovery.xml();
    let root = doc.root_element();
    assert!(root.has_tag_name("discovery"));
    let endpoint = child(child(root, "endpoints").expect("endpoints"), "endpoint").expect("one");
    assert!(text_of(endpoint, "url").ends_with("/open311/v2"));
    assert_eq!(
        text_of(endpoint, "specification"),
        "http://wiki.open311.org/GeoReport_v2"
    );
    let formats: Vec<String> = elements(child(endpoint, "formats").expect("formats"), "format")
        .into_iter()
        .filter_map(|f| f.text().map(str::to_owned))
        .collect();
    assert_eq!(formats, ["text/xml", "application/json"]);
    let json = client.get("discovery.json", None, &[]).await.json();
    assert_eq!(json["endpoints"][0]["formats"][0], "text/xml");

    // Services: the same list in both formats, no key needed.
    let services = client.get("services.xml", None, &[]).await;
    let doc = services.xml();
    let root = doc.root_element();
    assert!(root.has_tag_name("services"));
    let listed = elements(root, "service");
    let json = client.get("services.json", None, &[]).await.json();
    assert_eq!(listed.len(), json.as_array().expect("list").len());
    for (service, same) in listed.iter().zip(json.as_array().expect("list")) {
        for name in [
            "service_code",
            "service_name",
            "description",
            "metadata",
            "type",
            "keywords",
            "group",
        ] {
            assert!(
                child(*service, name).is_some(),
                "{name} in {}",
                services.text
            );
        }
        assert_eq!(text_of(*service, "service_code"), same["service_code"]);
        assert_eq!(text_of(*service, "metadata"), "true");
        assert_eq!(text_of(*service, "type"), "realtime");
    }

    // A definition.
    let definition = client.get("services/repairs.xml", None, &[]).await;
    let doc = definition.xml();
    let root = doc.root_element();
    assert!(root.has_tag_name("service_definition"));
    assert_eq!(text_of(root, "service_code"), "repairs");
    let attributes = elements(child(root, "attributes").expect("attributes"), "attribute");
    assert!(!attributes.is_empty());
    for attribute in &attributes {
        for name in [
            "variable",
            "code",
            "datatype",
            "required",
            "order",
            "description",
        ] {
            assert!(child(*attribute, name).is_some(), "{name} in an attribute");
        }
    }
    let urgency = attributes
        .iter()
        .find(|a| text_of(**a, "code") == "urgency")
        .expect("the urgency attribute");
    let values = elements(child(*urgency, "values").expect("values"), "value");
    assert!(values
        .iter()
        .any(|v| text_of(*v, "key") == "urgent" && !text_of(*v, "name").is_empty()));
    assert_error(
        &client.get("services/nothing.xml", None, &[]).await,
        404,
        "no such service",
    );

    // Filing, form-encoded, with the key and jurisdiction in the body.
    let mut ids = Vec::new();
    for (i, path) in ["requests.xml", "requests.json", "requests.xml"]
        .iter()
        .enumerate()
    {
        let description = format!("楼道灯坏了,第{i}次反映");
        let filed = client
            .post_form(
                path,
                &[
                    ("api_key", key),
                    ("jurisdiction_id", "lianxi"),
                    ("service_code", "repairs"),
                    ("description", &description),
                    ("address_string", "幸福里小区3栋"),
                    ("attribute[urgency]", "urgent"),
                ],
            )
            .await;
        assert_eq!(filed.status, StatusCode::CREATED, "{}", filed.text);
        let id = if path.ends_with(".xml") {
            let doc = filed.xml();
            let root = doc.root_element();
            assert!(root.has_tag_name("service_requests"), "{}", filed.text);
            let request = child(root, "request").expect("a request");
            let id = text_of(request, "service_request_id");
            assert_eq!(text_of(request, "token"), id);
            id
        } else {
            let json = filed.json();
            json[0]["service_request_id"]
                .as_str()
                .expect("id")
                .to_owned()
        };
        ids.push(id);
    }
    Api::new(&server.base).settled().await;

    // Listing, a page at a time, newest first, with the key in the query.
    let first = client
        .get("requests.xml", Some(key), &[("page_size", "2")])
        .await;
    let second = client
        .get(
            "requests.xml",
            Some(key),
            &[("page_size", "2"), ("page", "2")],
        )
        .await;
    let paged: Vec<String> = [&first, &second]
        .iter()
        .flat_map(|reply| {
            let doc = reply.xml();
            let root = doc.root_element();
            assert!(root.has_tag_name("service_requests"));
            elements(root, "request")
                .into_iter()
                .map(|r| text_of(r, "service_request_id"))
                .collect::<Vec<_>>()
        })
        .collect();
    let newest_first: Vec<String> = ids.iter().rev().cloned().collect();
    assert_eq!(
        paged, newest_first,
        "two pages of two hold all three, newest first"
    );
    let json = client
        .get(
            "requests.json",
            Some(key),
            &[("page_size", "1"), ("page", "3")],
        )
        .await
        .json();
    assert_eq!(json[0]["service_request_id"], ids[0]);
    // Dates alone and statuses in any case, as clients send them.
    let today = chrono::Utc::now()
        .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).expect("CST"))
        .format("%Y-%m-%d")
        .to_string();
    let json = client
        .get(
            "requests.json",
            Some(key),
            &[
                ("start_date", &today),
                ("end_date", &today),
                ("status", "OPEN"),
            ],
        )
        .await
        .json();
    assert_eq!(json.as_array().map(Vec::len), Some(3), "{json}");

    // One request: every element of the specification, in its order.
    let one = client
        .get(&format!("requests/{}.xml", ids[1]), Some(key), &[])
        .await;
    let doc = one.xml();
    let root = doc.root_element();
    assert!(root.has_tag_name("service_requests"));
    let requests = elements(root, "request");
    assert_eq!(requests.len(), 1);
    let names: Vec<&str> = requests[0]
        .children()
        .filter(|n| n.is_element())
        .map(|n| n.tag_name().name())
        .collect();
    assert_eq!(
        names,
        super::open311::REQUEST_FIELDS,
        "the specification's elements, in its order"
    );
    assert_eq!(text_of(requests[0], "service_request_id"), ids[1]);
    assert_eq!(text_of(requests[0], "status"), "open");
    assert_eq!(text_of(requests[0], "service_code"), "repairs");

    // A token stands for its request.
    let token = client
        .get(&format!("tokens/{}.xml", ids[2]), Some(key), &[])
        .await;
    let doc = token.xml();
    let request = child(doc.root_element(), "request").expect("a request");
    assert_eq!(text_of(request, "service_request_id"), ids[2]);
    let json = client
        .get(&format!("tokens/{}.json", ids[2]), Some(key), &[])
        .await
        .json();
    assert_eq!(json[0]["token"], ids[2]);

    // Errors: the specification's shape in both formats, naming what was sent.
    assert_error(&client.get("requests.xml", None, &[]).await, 401, "api_key");
    assert_error(
        &client.get("requests.xml", Some("not-a-token"), &[]).await,
        401,
        "api_key: not a valid token",
    );
    assert_error(
        &client.get("requests.json", Some("not-a-token"), &[]).await,
        401,
        "api_key",
    );
    assert_error(
        &client
            .get("requests.xml", Some(key), &[("status", "maybe")])
            .await,
        400,
        "status",
    );
    assert_error(
        &client
            .get("requests.xml", Some(key), &[("page_size", "0")])
            .await,
        400,
        "page_size",
    );
    assert_error(
        &client
            .get(
                "requests/00000000-0000-4000-8000-000000000000.xml",
                Some(key),
                &[],
            )
            .await,
        404,
        "no such request",
    );
    let refused = client
        .post_form(
            "requests.xml",
            &[
                ("api_key", key),
                ("service_code", "repairs"),
                ("address_string", "幸福里小区3栋"),
                ("attribute[urgency]", "extreme"),
            ],
        )
        .await;
    assert_error(&refused, 400, "attribute[urgency]");
    server.stop().await;
}
