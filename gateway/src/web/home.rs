//! Home (`/`): a resident's grievances and, for a respondent party, its
//! to-do list; for a handler, the escalation queue of its tier.

use crate::app::lists::ListFilter;
use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{DateTime, Utc};
use lianxi_domain::values::Tier;
use uuid::Uuid;

use super::{cases, meetings};
use super::{message, render, see_other, Page, Visit};
use crate::app::auth::Caller;
use crate::app::lists;
use crate::app::AppState;

/// One grievance in the resident's list.
#[derive(Debug)]
pub struct Item {
    pub id: Uuid,
    pub title: String,
    pub status: String,
    pub filed_at: DateTime<Utc>,
}

/// Something a respondent party must do: an action item of a joint
/// meeting, or an obligation of a mediation agreement.
#[derive(Debug)]
pub struct Todo {
    /// `home.action_item` or `home.obligation`.
    pub kind: &'static str,
    pub description: String,
    pub due_at: Option<DateTime<Utc>>,
    /// Where it is recorded: the meeting or the case.
    pub link: String,
    pub overdue: bool,
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    page: Page,
    /// `home.title` (a filer's own), `home.title_audit` or `home.title_received`.
    title: &'static str,
    items: Vec<Item>,
    /// The reader is a respondent party: its to-do list is shown.
    responds: bool,
    todo: Vec<Todo>,
}

/// What `party` (a wire name) must do in the xiaoqu it serves (one, or
/// each of an organization's): open action items of joint meetings, and
/// open or missed obligations of mediation agreements.
async fn todo_of(state: &AppState, visit: &Visit, xiaoqus: &[Uuid], party: &str) -> Vec<Todo> {
    use meetings::{answer, instant, text};
    let now = Utc::now();
    let mut todo = Vec::new();
    let Some(caller) = visit.caller() else {
        return todo;
    };
    for xiaoqu in xiaoqus {
        let agenda = answer(
            crate::app::meetings::agenda(
                state,
                &caller,
                lianxi_domain::values::XiaoquId(*xiaoqu),
                &Default::default(),
            )
            .await,
        );
        for a in agenda.body["open_action_items"]
            .as_array()
            .into_iter()
            .flatten()
        {
            if a["owner"] == party {
                todo.push(Todo {
                    kind: "home.action_item",
                    description: text(&a["description"]),
                    due_at: instant(&a["due_at"]),
                    link: format!("/meetings/{}", text(&a["meeting"])),
                    overdue: a["overdue"].as_bool().unwrap_or(false),
                });
            }
        }
    }
    let cases = answer(
        crate::app::cases::list(state, &caller, &crate::app::cases::CaseQuery::default()).await,
    );
    for c in cases.body["items"]
        .as_array()
        .into_iter()
        .flatten()
        .take(50)
    {
        let id = text(&c["id"]);
        let Ok(case_id) = lianxi_domain::values::CaseId::parse(&id) else {
            continue;
        };
        let case = answer(
            crate::app::cases::get(state, &caller, case_id)
                .await
                .map(|(view, _)| view),
        );
        let (agreed, _, obligations) = cases::obligations(&case.body);
        if !agreed {
            continue;
        }
        for o in obligations {
            if o.party.kind == "party"
                && o.party.id == party
                && matches!(o.status.as_str(), "open" | "missed")
            {
                todo.push(Todo {
                    kind: "home.obligation",
                    overdue: o.status == "missed" || o.due_at.is_some_and(|d| d < now),
                    description: o.description,
                    due_at: o.due_at,
                    link: format!("/cases/{id}"),
                });
            }
        }
    }
    todo.sort_by_key(|t| t.due_at);
    todo
}

pub(super) async fn home(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let visit = Visit::of(&state, &headers).await;
    let Some(caller) = visit.caller() else {
        return see_other("/login");
    };
    if let Some(tier) = handler_tier(caller.0.role) {
        return dashboard(&state, &visit, &caller, tier).await;
    }
    let page = lists::list(&state, &caller, &ListFilter::default(), None, 50, None).await;
    let items = match page {
        Ok((page, _)) => page
            .items
            .into_iter()
            .map(|(g, _)| Item {
                id: g.id.0,
                title: g.title.as_str().to_owned(),
                status: g.status.as_str().to_owned(),
                filed_at: g.filed_at,
            })
            .collect(),
        Err(e) => {
            tracing::error!(error = ?e, "the grievance list failed");
            return message(&visit, StatusCode::SERVICE_UNAVAILABLE, "error.title");
        }
    };
    let party = caller
        .0
        .role
        .party()
        .and_then(|p| serde_json::to_value(crate::app::dto::PartyDto::from(p)).ok())
        .and_then(|v| v.as_str().map(str::to_owned));
    let served = match &caller.0.scope {
        crate::app::auth::Scope::Xiaoqu(x) => vec![x.0],
        crate::app::auth::Scope::Organization(_) => {
            crate::app::grievances::organization_places(&state, &caller)
                .await
                .unwrap_or_default()
        }
        _ => Vec::new(),
    };
    let (responds, todo) = match party {
        Some(party) if !served.is_empty() => (true, todo_of(&state, &visit, &served, &party).await),
        _ => (false, Vec::new()),
    };
    let page = visit.page();
    let title = if page.files {
        "home.title"
    } else if page.audits {
        "home.title_audit"
    } else {
        "home.title_received"
    };
    let html = HomePage {
        page,
        title,
        items,
        responds,
        todo,
    }
    .render();
    render(&visit, StatusCode::OK, html)
}

/// The tier a role handles grievances at: the party branch its xiaoqu, a
/// community, street or district its own.
pub(super) use crate::app::lists::queue_tier as handler_tier;

/// One item of a handler's queue.
#[derive(Debug)]
pub struct QueueEntry {
    pub id: Uuid,
    pub title: String,
    pub status: String,
    pub stage: String,
    /// Its category and urgency (wire names): what triage starts from.
    pub category: String,
    pub urgent: bool,
    pub due_at: Option<DateTime<Utc>>,
    pub overdue: bool,
    /// A major matter waiting for its urgent meeting: the xiaoqu whose
    /// parties the reader may convene for it.
    pub convene_in: Option<Uuid>,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    page: Page,
    queue: Vec<QueueEntry>,
}

/// The handler's page: the escalation queue of its tier, most overdue first.
async fn dashboard(state: &AppState, visit: &Visit, caller: &Caller, tier: Tier) -> Response {
    let items = lists::queue(state, caller, Some(tier), 200, None).await;
    let queue = match items {
        Ok(queue) => queue
            .items
            .into_iter()
            .map(|item| {
                let g = item.state;
                let due_at = g.deadline.map(|d| d.due_at);
                QueueEntry {
                    id: g.id.0,
                    title: g.title.as_str().to_owned(),
                    status: g.status.as_str().to_owned(),
                    stage: g
                        .current_stage()
                        .map(|s| s.as_str().to_owned())
                        .unwrap_or_default(),
                    category: super::wire(&g.category),
                    urgent: g.urgency == lianxi_domain::values::Urgency::Urgent,
                    due_at,
                    overdue: due_at.is_some_and(|d| d < queue.now),
                    convene_in: g.urgent_meeting_pending().then_some(g.xiaoqu.0),
                }
            })
            .collect(),
        Err(e) => {
            tracing::error!(error = ?e, "the queue failed");
            return message(visit, StatusCode::SERVICE_UNAVAILABLE, "error.title");
        }
    };
    let html = DashboardPage {
        page: visit.page(),
        queue,
    }
    .render();
    render(visit, StatusCode::OK, html)
}
