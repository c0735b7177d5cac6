//! The GeoReport v2 discovery document: where the endpoint is, which
//! formats it speaks, and how a client gets a key.

use axum::extract::State;
use axum::http::header::HOST;
use axum::http::HeaderMap;
use axum::Json;
use serde::Serialize;

use super::super::AppState;
use super::Open311Error;

/// When this endpoint's behaviour last changed (the spec's `changeset`).
const CHANGESET: &str = "2026-12-02T00:00:00Z";

#[derive(Debug, Serialize)]
pub(in crate::api) struct Discovery {
    changeset: &'static str,
    contact: &'static str,
    key_service: &'static str,
    endpoints: Vec<Endpoint>,
}

#[derive(Debug, Serialize)]
struct Endpoint {
    specification: &'static str,
    url: String,
    changeset: &'static str,
    #[serde(rename = "type")]
    kind: &'static str,
    formats: Vec<&'static str>,
}

/// The discovery document. The endpoint's address is the configured public
/// URL, else the address this request came to.
pub(in crate::api) async fn discovery(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Discovery>, Open311Error> {
    let base = match state.public_url() {
        Some(url) => url.trim_end_matches('/').to_owned(),
        None => {
            let host = headers
                .get(HOST)
                .and_then(|h| h.to_str().ok())
                .filter(|h| {
                    h.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
                })
                .unwrap_or("localhost");
            format!("http://{host}")
        }
    };
    Ok(Json(Discovery {
        changeset: CHANGESET,
        contact: "The party branch of your xiaoqu, or the operator of this service.",
        key_service: "An account's token is its api_key: ask the party branch of your xiaoqu \
                      (or the operator) for an account; no key is needed to list services.",
        endpoints: vec![Endpoint {
            specification: "http://wiki.open311.org/GeoReport_v2",
            url: format!("{base}/open311/v2"),
            changeset: CHANGESET,
            kind: "production",
            formats: vec!["text/xml", "application/json"],
        }],
    }))
}
