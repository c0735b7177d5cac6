//! The `.xml` format of every Open311 endpoint, as the GeoReport v2
//! specification's examples show it (XML is its required format).
//!
//! Handlers answer JSON only; for a path ending in `.xml`, [`middleware`]
//! rewrites the answer: the spec's root and item elements around the same
//! fields (`<services><service>…`, `<service_requests><request>…`,
//! `<service_definition>`, `<discovery>`, and `<errors><error>` for every
//! error), nested lists named by their items (`<attributes><attribute>`,
//! `<values><value>`, `<endpoints><endpoint>`, `<formats><format>`).

use axum::body::{to_bytes, Body};
use axum::extract::Request;
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use serde_json::Value;

/// Largest JSON answer rewritten (every Open311 answer is far smaller).
const MAX_BODY: usize = 8 * 1024 * 1024;

/// Whether `path` asks for XML: its last segment ends in `.xml`.
pub(super) fn wants_xml(path: &str) -> bool {
    path.rsplit('/').next().is_some_and(|s| s.ends_with(".xml"))
}

/// The root and item element of an answer to `path`.
fn names(path: &str, error: bool) -> (&'static str, &'static str) {
    if error {
        return ("errors", "error");
    }
    let last = path.rsplit('/').next().unwrap_or_default();
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let parent = segments.iter().rev().nth(1).copied().unwrap_or_default();
    if last.starts_with("discovery.") {
        ("discovery", "")
    } else if last.starts_with("services.") {
        ("services", "service")
    } else if parent == "services" {
        ("service_definition", "")
    } else {
        // requests, requests/{id}, tokens/{id} and a created request.
        ("service_requests", "request")
    }
}

/// The element of one item of a nested list named `list`.
fn item_of(list: &str) -> &str {
    match list {
        "attributes" => "attribute",
        "values" => "value",
        "endpoints" => "endpoint",
        "formats" => "format",
        "errors" => "error",
        other => other.strip_suffix('s').unwrap_or(other),
    }
}

/// The specification's order of the children of `element` (JSON objects
/// carry no order); children it does not list follow, by name.
fn order_of(element: &str) -> &'static [&'static str] {
    match element {
        "request" => &[
            "service_request_id",
            "token",
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
            "account_id",
        ],
        "service" => &[
            "service_code",
            "service_name",
            "description",
            "metadata",
            "type",
            "keywords",
            "group",
        ],
        "service_definition" => &["service_code", "attributes"],
        "attribute" => &[
            "variable",
            "code",
            "datatype",
            "required",
            "datatype_description",
            "order",
            "description",
            "values",
        ],
        "value" => &["key", "name"],
        "discovery" => &["changeset", "contact", "key_service", "endpoints"],
        "endpoint" => &["specification", "url", "changeset", "type", "formats"],
        "error" => &["code", "description"],
        _ => &[],
    }
}

fn element(name: &str, value: &Value, out: &mut String) {
    match value {
        Value::Null => {
            out.push('<');
            out.push_str(name);
            out.push_str("/>");
        }
        Value::Array(items) => {
            out.push('<');
            out.push_str(name);
            out.push('>');
            for item in items {
                element(item_of(name), item, out);
            }
            out.push_str("</");
            out.push_str(name);
            out.push('>');
        }
        Value::Object(fields) => {
            out.push('<');
            out.push_str(name);
            out.push('>');
            let order = order_of(name);
            let mut keys: Vec<&String> = fields.keys().collect();
            keys.sort_by_key(|k| {
                (
                    order.iter().position(|o| o == k).unwrap_or(order.len()),
                    k.as_str(),
                )
            });
            for key in keys {
                element(key, &fields[key.as_str()], out);
            }
            out.push_str("</");
            out.push_str(name);
            out.push('>');
        }
        Value::String(s) => {
            out.push('<');
            out.push_str(name);
            out.push('>');
            // `&#39;` for an apostrophe is as good XML as it is HTML.
            out.push_str(&crate::app::dossier::escape(s));
            out.push_str("</");
            out.push_str(name);
            out.push('>');
        }
        Value::Bool(_) | Value::Number(_) => {
            out.push('<');
            out.push_str(name);
            out.push('>');
            out.push_str(&value.to_string());
            out.push_str("</");
            out.push_str(name);
            out.push('>');
        }
    }
}

/// The XML document of a JSON answer to `path`.
pub(super) fn document(path: &str, error: bool, json: &Value) -> String {
    let (root, item) = names(path, error);
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    match json {
        Value::Array(items) if !item.is_empty() => {
            out.push('<');
            out.push_str(root);
            out.push('>');
            for one in items {
                element(item, one, &mut out);
            }
            out.push_str("</");
            out.push_str(root);
            out.push('>');
        }
        other => element(root, other, &mut out),
    }
    out.push('\n');
    out
}

/// Rewrites the JSON answer of a `.xml` path as XML.
pub(super) async fn middleware(req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    if !wants_xml(&path) {
        return next.run(req).await;
    }
    let response = next.run(req).await;
    let is_json = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/json"));
    if !is_json {
        return response;
    }
    let error = response.status().is_client_error() || response.status().is_server_error();
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_BODY).await else {
        return Response::from_parts(parts, Body::empty());
    };
    let Ok(json) = serde_json::from_slice::<Value>(&bytes) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    let xml = document(&path, error, &json);
    parts.headers.remove(CONTENT_LENGTH);
    parts.headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/xml; charset=utf-8"),
    );
    Response::from_parts(parts, Body::from(xml))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lists_take_the_spec_root_and_item_names() {
        let services = document(
            "/open311/v2/services.xml",
            false,
            &json!([{"service_code": "repairs", "metadata": true}]),
        );
        assert!(services.contains(
            "<services><service><service_code>repairs</service_code><metadata>true</metadata></service></services>"
        ), "{services}");
        let ordered = document(
            "/open311/v2/requests.xml",
            false,
            &json!([{"status": "open", "long": 1, "lat": 2, "service_request_id": "x"}]),
        );
        assert!(ordered.contains(
            "<request><service_request_id>x</service_request_id><status>open</status><lat>2</lat><long>1</long></request>"
        ), "in the specification's order: {ordered}");
        let requests = document(
            "/open311/v2/requests/abc.xml",
            false,
            &json!([{"service_request_id": "abc", "media_url": null}]),
        );
        assert!(requests.contains(
            "<service_requests><request><service_request_id>abc</service_request_id><media_url/></request></service_requests>"
        ), "{requests}");
        let definition = document(
            "/open311/v2/services/repairs.xml",
            false,
            &json!({"service_code": "repairs", "attributes": [{"code": "x", "values": [{"key": "a", "name": "A & B"}]}]}),
        );
        assert!(definition.contains(
            "<service_definition><service_code>repairs</service_code><attributes><attribute><code>x</code><values><value><key>a</key><name>A &amp; B</name></value></values></attribute></attributes></service_definition>"
        ), "{definition}");
        let errors = document(
            "/open311/v2/requests.xml",
            true,
            &json!([{"code": 400, "description": "status: <bad>"}]),
        );
        assert!(errors.contains(
            "<errors><error><code>400</code><description>status: &lt;bad&gt;</description></error></errors>"
        ), "{errors}");
        assert!(wants_xml("/open311/v2/requests/abc.xml"));
        assert!(!wants_xml("/open311/v2/requests.json"));
    }
}
