//! An auditor's pages of a case (`/audit/{id}`): its state as of an
//! instant, each stream's chain verified, the whole story; and its dossier
//! to download (`/audit/{id}/dossier`).

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use lianxi_domain::values::GrievanceId;
use uuid::Uuid;

use super::{i18n, message, render, see_other, wire, Page, Visit};
use crate::app::grievances;
use crate::app::AppState;

/// Whether `role` reads cases' stories, past states and verifications (the policy's).
pub(super) use crate::app::policy::audits;

/// One stream of a case on the audit page, with its verification.
#[derive(Debug)]
pub struct AuditStream {
    pub aggregate_type: String,
    pub id: Uuid,
    pub events: u64,
    pub ok: bool,
    pub problems: Vec<String>,
}

/// One event of a case's story on the audit page.
#[derive(Debug)]
pub struct AuditEntry {
    pub at: DateTime<Utc>,
    pub aggregate_type: String,
    pub sequence: i64,
    pub event_type: String,
    /// The event's label where the page's language has one.
    pub label: Option<String>,
    pub role: String,
    pub actor: String,
    pub reason: Option<String>,
    /// The first 16 hex digits of its chain hash.
    pub hash: String,
}

/// The grievance as it stood at the chosen instant.
#[derive(Debug)]
pub struct PastState {
    pub status: String,
    pub tier: String,
    /// How many of its events had been stored by then.
    pub version: usize,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    page: Page,
    id: Uuid,
    title: String,
    /// The instant asked for, as typed, and why it was refused.
    as_of: String,
    as_of_error: Option<String>,
    /// The state at `as_of`; `None` when not asked or not yet filed then.
    then: Option<PastState>,
    asked: bool,
    streams: Vec<AuditStream>,
    verified: bool,
    entries: Vec<AuditEntry>,
}

/// An auditor's page of one case: its state as of a chosen instant, each
/// stream's chain verified, the whole story, and the dossier to download.
/// Other roles, and cases outside the auditor's scope, get 404.
pub(super) async fn audit(
    State(state): State<AppState>,
    Path(id): Path<String>,
    axum::extract::Query(query): axum::extract::Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let visit = Visit::of(&state, &headers).await;
    let Some(caller) = visit.caller() else {
        return see_other("/login");
    };
    let (Ok(id), true) = (GrievanceId::parse(&id), audits(caller.0.role)) else {
        return message(&visit, StatusCode::NOT_FOUND, "error.not_found");
    };
    let Ok((g, _)) = grievances::visible(&state, &caller, id).await else {
        return message(&visit, StatusCode::NOT_FOUND, "error.not_found");
    };
    let lang = visit.lang;
    let typed = query
        .get("as_of")
        .map(|s| s.trim().to_owned())
        .unwrap_or_default();
    let mut as_of_error = None;
    let mut then = None;
    if !typed.is_empty() {
        match DateTime::parse_from_rfc3339(&typed) {
            Err(_) => as_of_error = Some(i18n::t(lang, "audit.as_of_invalid")),
            Ok(at) => match crate::app::story::state_as_of(&state, id, at.to_utc()).await {
                Ok(past) => {
                    then = past.and_then(|(g, version)| {
                        g.state().map(|s| PastState {
                            status: s.status.as_str().to_owned(),
                            tier: wire(&s.tier),
                            version,
                        })
                    })
                }
                Err(e) => {
                    tracing::error!(error = %e, "cannot replay a grievance");
                    return message(&visit, StatusCode::INTERNAL_SERVER_ERROR, "error.title");
                }
            },
        }
    }
    let Ok(streams) = crate::app::story::case_streams(&state, &caller, id, &g).await else {
        return message(&visit, StatusCode::SERVICE_UNAVAILABLE, "error.title");
    };
    let read = tokio::try_join!(
        async {
            crate::app::story::story(&state, &streams)
                .await
                .map_err(crate::app::error::ApiError::from_db)
        },
        crate::app::audit::verify_streams(&state, &caller, &streams),
    );
    let (story, chains) = match read {
        Ok(read) => read,
        Err(e) => {
            tracing::error!(problem = e.slug(), "the audit page's reads failed");
            return message(&visit, StatusCode::SERVICE_UNAVAILABLE, "error.title");
        }
    };
    let streams: Vec<AuditStream> = streams
        .iter()
        .zip(chains)
        .map(|(s, chain)| AuditStream {
            aggregate_type: s.aggregate_type.to_owned(),
            id: s.id,
            events: chain.events,
            ok: chain.ok,
            problems: chain
                .problems
                .iter()
                .map(|p| format!("#{} {}", p.sequence, p.detail))
                .collect(),
        })
        .collect();
    let entries = story
        .into_iter()
        .map(|e| {
            let key = format!("event.{}", e.event_type);
            let label = i18n::t(lang, &key);
            AuditEntry {
                at: e.recorded_at,
                aggregate_type: e.aggregate_type,
                sequence: e.sequence,
                label: (label != key).then_some(label),
                event_type: e.event_type,
                role: e.role,
                actor: e.actor,
                reason: e.reason,
                hash: e
                    .hash
                    .map(|h| h.chars().take(16).collect())
                    .unwrap_or_default(),
            }
        })
        .collect();
    let html = AuditPage {
        page: visit.page(),
        id: g.id.0,
        title: g.title.as_str().to_owned(),
        asked: !typed.is_empty() && as_of_error.is_none(),
        as_of: typed,
        as_of_error,
        then,
        verified: streams.iter().all(|s| s.ok),
        streams,
        entries,
    }
    .render();
    render(&visit, StatusCode::OK, html)
}

/// The case's dossier as a download: the printable page, or JSON with
/// `?format=json`; the same document as `GET /api/v1/grievances/{id}/dossier`.
pub(super) async fn audit_dossier(
    State(state): State<AppState>,
    Path(id): Path<String>,
    axum::extract::Query(query): axum::extract::Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let visit = Visit::of(&state, &headers).await;
    let Some(caller) = visit.caller() else {
        return see_other("/login");
    };
    if !audits(caller.0.role) {
        return message(&visit, StatusCode::NOT_FOUND, "error.not_found");
    }
    let json = query.get("format").is_some_and(|f| f == "json");
    let answer = match GrievanceId::parse(&id) {
        Ok(grievance) => crate::app::dossier::dossier(&state, &caller, grievance)
            .await
            .map(|d| {
                if json {
                    axum::Json(d).into_response()
                } else {
                    let mut response = crate::app::dossier::render_html(&d).into_response();
                    response.headers_mut().insert(
                        header::CONTENT_TYPE,
                        HeaderValue::from_static("text/html; charset=utf-8"),
                    );
                    response
                }
            }),
        Err(_) => Err(crate::app::error::ApiError::not_found()),
    };
    match answer {
        Ok(mut response) => {
            let name = format!(
                "attachment; filename=\"dossier-{}.{}\"",
                id.chars()
                    .filter(|c| c.is_ascii_hexdigit() || *c == '-')
                    .collect::<String>(),
                if json { "json" } else { "html" }
            );
            if let Ok(value) = HeaderValue::from_str(&name) {
                response
                    .headers_mut()
                    .insert(header::CONTENT_DISPOSITION, value);
            }
            // The printable page carries its own style sheet, inline.
            response.headers_mut().insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(
                    "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
                ),
            );
            response.headers_mut().insert(
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            );
            response
        }
        Err(e)
            if matches!(
                e.status_code(),
                StatusCode::NOT_FOUND | StatusCode::BAD_REQUEST
            ) =>
        {
            message(&visit, StatusCode::NOT_FOUND, "error.not_found")
        }
        Err(_) => message(&visit, StatusCode::SERVICE_UNAVAILABLE, "error.title"),
    }
}
