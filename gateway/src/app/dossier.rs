//! A case's dossier: everything an auditor files about it (the grievance as
//! the caller may see it, its story, each stream's chain verification and
//! the newest checkpoint), as JSON or one printable page.

use chrono::{DateTime, Utc};
use lianxi_domain::values::GrievanceId;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::auth::Caller;
use super::dto::GrievanceView;
use super::error::ApiError;
use super::grievances::{view, visible};
use super::story::{self, case_streams, StoryEntry};
use super::AppState;
use crate::audit::checkpoint::{self, CheckpointFile};
use crate::audit::verify::{self, StreamVerification};

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

/// The dossier of grievance `id`, if the caller may open it.
pub async fn dossier(
    state: &AppState,
    caller: &Caller,
    id: GrievanceId,
) -> Result<Dossier, ApiError> {
    let (g, version) = visible(state, caller, id).await?;
    let streams = case_streams(state, caller, id, &g).await?;
    // The story, each stream's verification and the newest checkpoint are
    // independent reads: run them at once.
    let ids: Vec<String> = streams.iter().map(|s| s.id.to_string()).collect();
    let (entries, chains, newest) = tokio::try_join!(
        story::story(state, &streams),
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
    Ok(Dossier {
        format: "lianxi-dossier-v1".to_owned(),
        generated_at: Utc::now(),
        grievance: view(state, caller, &g, version),
        streams: chains,
        story: entries,
        checkpoint,
    })
}

/// Escapes text for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
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
pub fn render_html(d: &Dossier) -> String {
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
