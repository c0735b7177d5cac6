//! `GET /api/v1/docs`: the OpenAPI document as one self-contained HTML page,
//! rendered on the server from the same document as `/api/v1/openapi.json`.
//! No script and nothing fetched from elsewhere, so it reads offline.

use std::fmt::Write as _;

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::app::dossier::escape;

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// The last segment of a `$ref`, e.g. `Problem`.
fn schema_name(schema: &Value) -> Option<String> {
    let reference = schema
        .get("$ref")
        .or_else(|| schema.get("items").and_then(|i| i.get("$ref")))?;
    let name = reference.as_str()?.rsplit('/').next()?.to_owned();
    Some(if schema.get("items").is_some() {
        format!("[{name}]")
    } else {
        name
    })
}

fn text(value: &Value, key: &str) -> String {
    value
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned()
}

fn schema_link(schema: &Value) -> String {
    match schema_name(schema) {
        Some(name) => {
            let bare = name.trim_matches(|c| c == '[' || c == ']');
            format!(
                r##"<a href="#schema-{0}">{1}</a>"##,
                escape(bare),
                escape(&name)
            )
        }
        None => escape(&text(schema, "type")),
    }
}

fn operation(page: &mut String, method: &str, path: &str, op: &Value) {
    let _ = write!(
        page,
        r#"<section class="op"><h3><span class="method {m}">{M}</span> <code>{p}</code></h3>"#,
        m = method,
        M = method.to_uppercase(),
        p = escape(path)
    );
    for key in ["summary", "description"] {
        let t = text(op, key);
        if !t.is_empty() {
            let _ = write!(page, "<p>{}</p>", escape(&t));
        }
    }
    if let Some(params) = op.get("parameters").and_then(Value::as_array) {
        page.push_str(
            "<table><tr><th>parameter</th><th>in</th><th>required</th><th>description</th></tr>",
        );
        for p in params {
            let _ = write!(
                page,
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&text(p, "name")),
                escape(&text(p, "in")),
                if p.get("required").and_then(Value::as_bool) == Some(true) {
                    "yes"
                } else {
                    "no"
                },
                escape(&text(p, "description"))
            );
        }
        page.push_str("</table>");
    }
    if let Some(content) = op
        .pointer("/requestBody/content")
        .and_then(Value::as_object)
    {
        for (media, body) in content {
            let schema = body.get("schema").cloned().unwrap_or(Value::Null);
            let _ = write!(
                page,
                "<p>Request body (<code>{}</code>): {}</p>",
                escape(media),
                schema_link(&schema)
            );
        }
    }
    if let Some(responses) = op.get("responses").and_then(Value::as_object) {
        page.push_str("<table><tr><th>status</th><th>meaning</th><th>body</th></tr>");
        for (status, response) in responses {
            let body = response
                .get("content")
                .and_then(Value::as_object)
                .and_then(|c| c.values().next())
                .and_then(|c| c.get("schema"))
                .map(schema_link)
                .unwrap_or_default();
            let _ = write!(
                page,
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(status),
                escape(&text(response, "description")),
                body
            );
        }
        page.push_str("</table>");
    }
    page.push_str("</section>\n");
}

fn schema(page: &mut String, name: &str, schema: &Value) {
    let _ = write!(
        page,
        r#"<section class="schema" id="schema-{0}"><h3>{0}</h3>"#,
        escape(name)
    );
    let description = text(schema, "description");
    if !description.is_empty() {
        let _ = write!(page, "<p>{}</p>", escape(&description));
    }
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        let names: Vec<String> = values
            .iter()
            .filter_map(Value::as_str)
            .map(|v| format!("<code>{}</code>", escape(v)))
            .collect();
        let _ = write!(page, "<p>One of {}.</p>", names.join(", "));
    }
    if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
        let required: Vec<&str> = schema
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        page.push_str(
            "<table><tr><th>field</th><th>type</th><th>required</th><th>description</th></tr>",
        );
        for (field, property) in properties {
            let kind = match schema_name(property) {
                Some(_) => schema_link(property),
                None => escape(
                    &property
                        .get("type")
                        .map(|t| t.to_string().replace('"', ""))
                        .unwrap_or_default(),
                ),
            };
            let _ = write!(
                page,
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(field),
                kind,
                if required.contains(&field.as_str()) {
                    "yes"
                } else {
                    "no"
                },
                escape(&text(property, "description"))
            );
        }
        page.push_str("</table>");
    }
    page.push_str("</section>\n");
}

/// The whole page.
pub fn render(doc: &Value) -> String {
    let mut page = String::with_capacity(256 * 1024);
    let title = doc
        .pointer("/info/title")
        .and_then(Value::as_str)
        .unwrap_or("API");
    let version = doc
        .pointer("/info/version")
        .and_then(Value::as_str)
        .unwrap_or("");
    let _ = write!(
        page,
        r##"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} API {version}</title>
<style>
body {{ font: 15px/1.5 system-ui, "Noto Sans CJK SC", sans-serif; margin: 0 auto; max-width: 60em; padding: 1em; color: #111; }}
h2 {{ border-bottom: 2px solid #333; margin-top: 2em; }}
.op, .schema {{ border: 1px solid #ccc; border-radius: 4px; padding: 0 .8em .6em; margin: .8em 0; }}
.method {{ display: inline-block; min-width: 4em; text-align: center; color: #fff; border-radius: 3px; padding: 0 .3em; font-size: .85em; }}
.get {{ background: #1f5f99; }} .post {{ background: #2c7a3f; }} .put, .patch {{ background: #8a5a00; }} .delete {{ background: #a11; }}
table {{ border-collapse: collapse; width: 100%; margin: .4em 0; }}
th, td {{ border: 1px solid #ddd; padding: 2px 6px; text-align: left; vertical-align: top; }}
code {{ word-break: break-all; }}
</style>
</head>
<body>
<h1>{title} <small>{version}</small></h1>
<p>{description}</p>
<p>The same document as JSON: <a href="openapi.json"><code>/api/v1/openapi.json</code></a>. Authenticate with <code>Authorization: Bearer &lt;token&gt;</code>; errors are <code>application/problem+json</code> (<a href="#schema-Problem">Problem</a>).</p>
"##,
        title = escape(title),
        version = escape(version),
        description = escape(
            doc.pointer("/info/description")
                .and_then(Value::as_str)
                .unwrap_or("")
        ),
    );
    let tags: Vec<(String, String)> = doc
        .get("tags")
        .and_then(Value::as_array)
        .map(|tags| {
            tags.iter()
                .map(|t| (text(t, "name"), text(t, "description")))
                .collect()
        })
        .unwrap_or_default();
    let paths = doc.get("paths").and_then(Value::as_object);
    for (tag, description) in &tags {
        let _ = writeln!(
            page,
            "<h2 id=\"tag-{0}\">{0}</h2><p>{1}</p>",
            escape(tag),
            escape(description)
        );
        for (path, item) in paths.into_iter().flatten() {
            for method in METHODS {
                let Some(op) = item.get(method) else { continue };
                let tagged = op
                    .get("tags")
                    .and_then(Value::as_array)
                    .is_some_and(|t| t.iter().any(|x| x.as_str() == Some(tag.as_str())));
                if tagged {
                    operation(&mut page, method, path, op);
                }
            }
        }
    }
    page.push_str("<h2 id=\"schemas\">Schemas</h2>\n");
    if let Some(schemas) = doc
        .pointer("/components/schemas")
        .and_then(Value::as_object)
    {
        for (name, s) in schemas {
            schema(&mut page, name, s);
        }
    }
    page.push_str("</body>\n</html>\n");
    page
}

/// `GET /api/v1/docs`
pub async fn docs() -> Response {
    let doc = serde_json::to_value(super::openapi::document()).unwrap_or(Value::Null);
    let mut response = render(&doc).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
        ),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_and_schema_of_the_document_is_on_the_page() {
        let doc = serde_json::to_value(crate::api::openapi::document()).expect("document");
        let page = render(&doc);
        let paths = doc["paths"].as_object().expect("paths");
        for (path, item) in paths {
            for method in METHODS {
                if item.get(method).is_some() {
                    let heading = format!(
                        r#"<span class="method {method}">{}</span> <code>{}</code>"#,
                        method.to_uppercase(),
                        escape(path)
                    );
                    assert!(page.contains(&heading), "{method} {path} missing");
                }
            }
        }
        for name in doc["components"]["schemas"]
            .as_object()
            .expect("schemas")
            .keys()
        {
            assert!(
                page.contains(&format!("id=\"schema-{name}\"")),
                "{name} missing"
            );
        }
        assert!(!page.contains("<script"), "no script");
        // Examples may mention URLs (a webhook's, say); nothing may load one.
        for fetch in ["src=\"http", "href=\"http", "href=\"//", "url(", "@import"] {
            assert!(!page.contains(fetch), "nothing fetched: {fetch}");
        }
    }
}
