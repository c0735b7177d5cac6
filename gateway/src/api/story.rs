//! A grievance's story and its dossier (JSON, or a printable HTML page).
//!
//! Both are read by whoever may open the grievance; actors always appear as
//! role and pseudonym, never as account ids. The mediation cases and joint
//! meetings the grievance followed belong to its story for the mediators
//! (party branch, tiers) and auditors; other readers get the grievance
//! streams alone.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use lianxi_domain::values::GrievanceId;
use lianxi_domain::Role;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::dto::GrievanceView;
use super::error::{ApiError, Problem, PROBLEM};
use super::grievances::{parse_id, view, visible};
use super::json::ApiQuery;
use super::AppState;
use crate::audit::checkpoint::{self, CheckpointFile};
use crate::audit::story::{self, StoryEntry, StreamRef};
use crate::audit::verify::{self, StreamVerification};
use crate::auth::Caller;

/// Everything that happened to a case, in order.
#[derive(Debug, Serialize, ToSchema)]
pub struct Story {
    pub grievance: Uuid,
    /// The grievance, the duplicates merged into it, and the cases and
    /// meetings they followed.
    pub streams: Vec<Uuid>,
    pub entries: Vec<StoryEntry>,
}

/// The streams a case's story covers: the grievance and its duplicates,
/// and for mediators and auditors the cases and meetings they followed.
pub(crate) async fn case_streams(
    state: &AppState,
    caller: &Caller,
    id: GrievanceId,
    g: &lianxi_domain::grievance::GrievanceState,
) -> Result<Vec<StreamRef>, ApiError> {
    let grievances: Vec<StreamRef> = std::iter::once(id)
        .chain(g.duplicates.iter().map(|d| d.grievance))
        .map(StreamRef::grievance)
        .collect();
    let mut streams = grievances.clone();
    let reads_followed = matches!(
        caller.0.role,
        Role::PartyBranch | Role::Community | Role::Street | Role::District | Role::Auditor
    );
    if reads_followed {
        for stream in &grievances {
            let events = story::events(&state.db, GrievanceId(stream.id))
                .await
                .map_err(ApiError::from_db)?;
            for followed in story::followed_streams(&events) {
                if !streams.contains(&followed) {
                    streams.push(followed);
                }
            }
        }
    }
    Ok(streams)
}

/// The story of a grievance and the duplicates merged into it.
#[utoipa::path(
    get, path = "/api/v1/grievances/{id}/story", tag = "audit",
    params(("id" = Uuid, Path, description = "Grievance id")),
    responses(
        (status = 200, description = "Every event of the case in the order stored, actors as role and pseudonym", body = Story),
        (status = 401, description = "No or bad token", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such grievance visible to the caller", body = Problem, content_type = PROBLEM),
    ),
    security(("bearer" = []))
)]
pub async fn story(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Story>, ApiError> {
    let id = parse_id(&id)?;
    let (g, _) = visible(&state, &caller, id).await?;
    let streams = case_streams(&state, &caller, id, &g).await?;
    let entries = story::story(&state.db, state.people.vault(), &streams)
        .await
        .map_err(ApiError::from_db)?;
    Ok(Json(Story {
        grievance: id.0,
        streams: streams.iter().map(|s| s.id).collect(),
        entries,
    }))
}

/// One stream of the case and how its chain verifies.
#[derive(Debug, Serialize, ToSchema)]
pub struct DossierStream {
    pub stream: Uuid,
    /// `grievance`, `mediation_case` or `joint_meeting`.
    pub aggregate_type: String,
    pub chain: StreamVerification,
}

/// Everything an auditor files about a case.
#[derive(Debug, Serialize, ToSchema)]
pub struct Dossier {
    /// Always `lianxi-dossier-v1`.
    pub format: String,
    pub generated_at: DateTime<Utc>,
    /// The grievance now, as the caller may see it.
    pub grievance: GrievanceView,
    /// Each stream of the case with its chain verification.
    pub streams: Vec<DossierStream>,
    pub story: Vec<StoryEntry>,
    /// The newest signed checkpoint, to check the log against later.
    pub checkpoint: Option<CheckpointFile>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DossierQuery {
    /// `json` (default) or `html` (a printable page). `Accept: text/html`
    /// also selects the page.
    #[param(pattern = "^(json|html)$")]
    pub format: Option<String>,
}

/// A case dossier: state, story, chain verification and the newest checkpoint.
#[utoipa::path(
    get, path = "/api/v1/grievances/{id}/dossier", tag = "audit",
    params(("id" = Uuid, Path, description = "Grievance id"), DossierQuery),
    responses(
        (status = 200, description = "The dossier", content(
            (Dossier = "application/json"),
            (String = "text/html"),
        )),
        (status = 400, description = "Unknown format", body = Problem, content_type = PROBLEM),
        (status = 401, description = "No or bad token", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such grievance visible to the caller", body = Problem, content_type = PROBLEM),
    ),
    security(("bearer" = []))
)]
pub async fn dossier(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<DossierQuery>,
) -> Result<Response, ApiError> {
    let html = match query.format.as_deref() {
        Some("html") => true,
        Some("json") => false,
        None => headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|accept| accept.contains("text/html")),
        Some(_) => return Err(ApiError::bad_query("format", "must be json or html")),
    };
    let id = parse_id(&id)?;
    let (g, version) = visible(&state, &caller, id).await?;
    let streams = case_streams(&state, &caller, id, &g).await?;
    // The story, each stream's verification and the newest checkpoint are
    // independent reads: run them at once.
    let ids: Vec<String> = streams.iter().map(|s| s.id.to_string()).collect();
    let (entries, chains, newest) = tokio::try_join!(
        story::story(&state.db, state.people.vault(), &streams),
        futures::future::try_join_all(
            streams
                .iter()
                .zip(&ids)
                .map(|(s, id)| verify::verify_stream(&state.db, s.aggregate_type, id))
        ),
        checkpoint::list(&state.db, 1),
    )
    .map_err(ApiError::from_db)?;
    let chains = streams
        .iter()
        .zip(chains)
        .map(|(s, chain)| DossierStream {
            stream: s.id,
            aggregate_type: s.aggregate_type.to_owned(),
            chain,
        })
        .collect();
    let checkpoint = newest.first().map(|c| c.to_file());
    let dossier = Dossier {
        format: "lianxi-dossier-v1".to_owned(),
        generated_at: Utc::now(),
        grievance: view(&state, &caller, &g, version),
        streams: chains,
        story: entries,
        checkpoint,
    };
    if html {
        let mut response = render_html(&dossier).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        Ok(response)
    } else {
        Ok(Json(dossier).into_response())
    }
}

/// Escapes text for HTML element content and attribute values.
pub(super) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn wire<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

/// The dossier as one self-contained page, laid out for printing.
fn render_html(d: &Dossier) -> String {
    use std::fmt::Write as _;
    let g = &d.grievance;
    let mut page = String::with_capacity(8192 + d.story.len() * 512);
    let _ = write!(
        page,
        r#"<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<title>案件档案 Case dossier {id}</title>
<style>
body {{ font: 11pt/1.45 "Noto Sans CJK SC", "PingFang SC", sans-serif; margin: 2em; color: #111; }}
h1 {{ font-size: 16pt; margin-bottom: 0; }}
h2 {{ font-size: 13pt; margin-top: 1.6em; border-bottom: 1px solid #999; }}
table {{ border-collapse: collapse; width: 100%; }}
th, td {{ border: 1px solid #bbb; padding: 3px 6px; vertical-align: top; text-align: left; }}
th {{ background: #eee; }}
code, .hash {{ font-family: monospace; font-size: 8.5pt; word-break: break-all; }}
.ok {{ color: #064; }} .bad {{ color: #a00; font-weight: bold; }}
@media print {{ body {{ margin: 0; }} tr {{ page-break-inside: avoid; }} }}
</style>
</head>
<body>
<h1>案件档案 Case dossier</h1>
<p>Grievance <code>{id}</code> · generated {generated}</p>
<h2>现状 Current state</h2>
<table>
<tr><th>Title</th><td>{title}</td></tr>
<tr><th>Status</th><td>{status}</td></tr>
<tr><th>Tier</th><td>{tier}</td></tr>
<tr><th>Category</th><td>{category}</td></tr>
<tr><th>Respondent</th><td>{respondent}</td></tr>
<tr><th>Filer</th><td>{filer}</td></tr>
<tr><th>Filed</th><td>{filed}</td></tr>
<tr><th>Version</th><td>{version}</td></tr>
</table>
<h2>完整性 Integrity</h2>
<table>
<tr><th>Stream</th><th>Events</th><th>Chain</th><th>Last hash</th></tr>
"#,
        id = g.id,
        generated = d.generated_at.to_rfc3339(),
        title = escape(&g.title),
        status = escape(&wire(&g.status)),
        tier = escape(&wire(&g.tier)),
        category = escape(&wire(&g.category)),
        respondent = escape(&wire(&g.respondent)),
        filer = escape(&g.filer),
        filed = g.filed_at.to_rfc3339(),
        version = g.version,
    );
    for s in &d.streams {
        let verdict = if s.chain.ok {
            r#"<span class="ok">verified</span>"#.to_owned()
        } else {
            let first = s
                .chain
                .problems
                .first()
                .map(|p| format!("at sequence {}: {}", p.sequence, escape(&p.detail)))
                .unwrap_or_default();
            format!(r#"<span class="bad">NOT verified {first}</span>"#)
        };
        let _ = writeln!(
            page,
            r#"<tr><td>{} <code>{}</code></td><td>{}</td><td>{verdict}</td><td class="hash">{}</td></tr>"#,
            escape(&s.aggregate_type),
            s.stream,
            s.chain.events,
            s.chain.last_hash.as_deref().unwrap_or("")
        );
    }
    page.push_str("</table>\n");
    match &d.checkpoint {
        Some(c) => {
            let _ = writeln!(
                page,
                r#"<p>Newest signed checkpoint: {} events, signed {} by key <code>{}</code>, root <span class="hash">{}</span>.</p>"#,
                c.tree_size,
                escape(&c.signed_at),
                escape(&c.public_key),
                escape(&c.root)
            );
        }
        None => page.push_str("<p>No signed checkpoint yet.</p>\n"),
    }
    page.push_str(
        "<h2>经过 Story</h2>\n<table>\n<tr><th>#</th><th>Recorded</th><th>Stream · seq</th><th>Event</th><th>Actor</th><th>Reason</th><th>Details</th><th>Hash</th></tr>\n",
    );
    for (i, e) in d.story.iter().enumerate() {
        let details = escape(&e.payload.to_string());
        let _ = writeln!(
            page,
            r#"<tr><td>{}</td><td>{}</td><td><code>{}</code> · {}</td><td>{}</td><td>{} · {}</td><td>{}</td><td><code>{details}</code></td><td class="hash">{}</td></tr>"#,
            i + 1,
            e.recorded_at.to_rfc3339(),
            &e.stream.to_string()[..8],
            e.sequence,
            escape(&e.event_type),
            escape(&e.role),
            escape(&e.actor),
            escape(e.reason.as_deref().unwrap_or("")),
            e.hash.as_deref().unwrap_or("")
        );
    }
    page.push_str("</table>\n</body>\n</html>\n");
    page
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn markup_in_text_is_escaped() {
        assert_eq!(
            escape(r#"<script>alert("x")</script> & '"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;"
        );
    }
}
