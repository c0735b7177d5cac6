//! One grievance (`/g/{id}`): its timeline and deadline, and the commands
//! it offers the reader (`/g/{id}/{action}`), as filer or as handler.

use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Extension;
use chrono::{DateTime, Utc};
use lianxi_domain::values::{
    Comment, GrievanceId, MatterClass, PartyRole, Rating, Reason, Statement, ValueError,
};
use lianxi_domain::GrievanceAction;
use serde::Deserialize;
use uuid::Uuid;

use super::audit::audits;
use super::filing::reason;
use super::{i18n, message, render, see_other, wire, Page, Visit};
use crate::app::duplicates::{self, Similar};
use crate::app::grievances;
use crate::app::AppState;
use crate::http::request_id::RequestId;

const PARTIES: [&str; 5] = [
    "property_company",
    "owners_committee",
    "supervisory_committee",
    "micro_organization",
    "party_branch",
];

/// A file attached to the grievance, as the page shows it.
#[derive(Debug)]
pub struct ShownFile {
    pub sha256: String,
    /// A photo: shown as its thumbnail.
    pub photo: bool,
    pub erased: bool,
}

/// One step of a grievance's timeline.
#[derive(Debug)]
pub struct Step {
    pub at: DateTime<Utc>,
    pub event: String,
}

#[derive(Template)]
#[template(path = "grievance.html")]
struct GrievancePage {
    page: Page,
    id: Uuid,
    /// What the reader may do now: as the filer `withdraw`, `rate`,
    /// `reopen`; as the handler `accept`, `triage`, `assign`, … .
    actions: Vec<&'static str>,
    /// The parties a handler may name.
    parties: Vec<&'static str>,
    title: String,
    status: String,
    tier: String,
    filed_at: DateTime<Utc>,
    deadline: Option<(String, DateTime<Utc>)>,
    description: String,
    steps: Vec<Step>,
    /// The reader audits: the page links to the case's audit page.
    auditor: bool,
    /// The mediation case it follows, if any.
    case: Option<Uuid>,
    /// The reader may open a mediation case for it (the party branch).
    opens_case: bool,
    /// Open grievances that look like this one and that the reader may
    /// read (a handler): offered for merging into this one.
    similar: Vec<Similar>,
    /// Its photos and documents.
    files: Vec<ShownFile>,
    /// The reader may attach more.
    attaches: bool,
    /// What the handler triages on, as labels and values in the page's
    /// language: category, place, urgency, respondent, matter class, parties.
    context: Vec<(String, String)>,
    /// The key of the notice confirming what the reader just did.
    done: Option<String>,
    /// The filer may withdraw it: offered last, behind a confirm step.
    withdraws: bool,
    /// What was wrong with the form last submitted, shown in that form.
    problem: Option<FormProblem>,
    /// For a maintenance-fund grievance: the xiaoqu's owners' votes on
    /// using the fund (id, question, status, outcome).
    fund_votes: Vec<(Uuid, String, String, String)>,
}

impl GrievancePage {
    /// The problem to show in `action`'s form, if it was the one submitted.
    fn problem_of(&self, action: &str) -> Option<&String> {
        self.problem
            .as_ref()
            .filter(|(a, _)| *a == action)
            .map(|(_, text)| text)
    }
}

/// The actions a confirmation notice exists for (`done.<action>`).
const CONFIRMED: [&str; 12] = [
    "accept",
    "reject",
    "triage",
    "assign",
    "respond",
    "resolve",
    "refer-to-meeting",
    "withdraw",
    "rate",
    "reopen",
    "attach",
    "merge",
];

/// The grievance's particulars, labelled in the page's language.
fn context(page: &Page, g: &lianxi_domain::grievance::GrievanceState) -> Vec<(String, String)> {
    let mut rows = vec![
        (
            page.t("file.category"),
            page.label("category", &wire(&g.category)),
        ),
        (page.t("grievance.place"), place(page, g)),
        (
            page.t("file.urgency"),
            page.label("urgency", &wire(&g.urgency)),
        ),
        (
            page.t("file.respondent"),
            page.label("respondent", &wire(&g.respondent)),
        ),
    ];
    if let Some(class) = g.matter_class {
        rows.push((
            page.t("action.matter_class"),
            page.label("matter", &wire(&class)),
        ));
    }
    if let Some(party) = g.responsible_party {
        rows.push((
            page.t("grievance.responsible"),
            page.label("party", &wire(&party)),
        ));
    }
    if let Some(party) = g.assigned_party {
        rows.push((
            page.t("grievance.assigned"),
            page.label("party", &wire(&party)),
        ));
    }
    rows
}

/// Building, unit and common area as one line: `3栋 · 2单元 · 地下车库`.
fn place(page: &Page, g: &lianxi_domain::grievance::GrievanceState) -> String {
    let l = &g.location;
    let parts: Vec<String> = [
        l.building
            .as_ref()
            .map(|b| format!("{} {}", page.t("file.building"), b.as_str())),
        l.unit
            .as_ref()
            .map(|u| format!("{} {}", page.t("file.unit"), u.as_str())),
        l.common_area.as_ref().map(|c| c.as_str().to_owned()),
    ]
    .into_iter()
    .flatten()
    .collect();
    parts.join(" · ")
}

pub(super) async fn grievance(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(shown): Query<super::Notice>,
    headers: HeaderMap,
) -> Response {
    let visit = Visit::of(&state, &headers).await;
    let Some(caller) = visit.caller() else {
        return see_other("/login");
    };
    let Ok(id) = GrievanceId::parse(&id) else {
        return message(&visit, StatusCode::NOT_FOUND, "error.not_found");
    };
    let done = shown.key("", &CONFIRMED);
    show(&state, &visit, &caller, id, done, None).await
}

#[derive(Template)]
#[template(path = "filed.html")]
struct FiledPage {
    page: Page,
    id: Uuid,
    title: String,
    filed_at: DateTime<Utc>,
    /// The first deadline, in plain words: its stage's sentence, when it
    /// falls due, and in how many hours from filing.
    deadline: Option<(String, DateTime<Utc>, i64)>,
}

/// Where a filing lands (post/redirect/get): the grievance's number, what
/// happens next and its first deadline; only its filer sees it.
pub(super) async fn filed(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let visit = Visit::of(&state, &headers).await;
    let Some(caller) = visit.caller() else {
        return see_other("/login");
    };
    let Ok(id) = GrievanceId::parse(&id) else {
        return message(&visit, StatusCode::NOT_FOUND, "error.not_found");
    };
    let Ok((g, _)) = grievances::visible(&state, &caller, id).await else {
        return message(&visit, StatusCode::NOT_FOUND, "error.not_found");
    };
    if g.filer != caller.0.id {
        return see_other(&format!("/g/{id}"));
    }
    let page = visit.page();
    let deadline = g.deadline.map(|d| {
        let hours = ((d.due_at - g.filed_at).num_minutes().max(0) + 59) / 60;
        (format!("filed.stage_{}", d.stage.as_str()), d.due_at, hours)
    });
    let html = FiledPage {
        page,
        id: g.id.0,
        title: g.title.as_str().to_owned(),
        filed_at: g.filed_at,
        deadline,
    }
    .render();
    render(&visit, StatusCode::OK, html)
}

/// A problem with what was typed into one action's form: the action and
/// the message shown in that form, in the page's language.
type FormProblem = (&'static str, String);

/// The grievance's page for `caller`, with the notice of what was just
/// done, or (422) with the problem of an action's form shown in it.
async fn show(
    state: &AppState,
    visit: &Visit,
    caller: &crate::app::auth::Caller,
    id: GrievanceId,
    done: Option<String>,
    problem: Option<FormProblem>,
) -> Response {
    let Ok((g, _)) = grievances::visible(state, caller, id).await else {
        return message(visit, StatusCode::NOT_FOUND, "error.not_found");
    };
    let steps = match grievances::history(state, caller, id).await {
        Ok(events) => events
            .into_iter()
            .filter(|e| e.event_type != "DeadlineSet")
            .map(|e| Step {
                at: e.recorded_at,
                event: e.event_type,
            })
            .collect(),
        Err(e) => {
            tracing::error!(error = ?e, "a grievance's events failed to load");
            Vec::new()
        }
    };
    // Only those the reader may read are offered for merging; a page
    // without them still answers.
    let similar = match duplicates::likely_for(state, caller, id).await {
        Ok(found) => found.into_iter().filter(|s| s.id.is_some()).collect(),
        Err(e) => {
            tracing::warn!(error = ?e, "likely duplicates could not be read");
            Vec::new()
        }
    };
    // What the aggregate would accept from this caller now; a form's path
    // names the command with dashes.
    let offered = grievances::offered_actions(state, caller, &g);
    let attaches = offered.contains(&"attach");
    let withdraws = offered.contains(&"withdraw");
    let actions: Vec<&'static str> = offered
        .into_iter()
        .filter(|name| !matches!(*name, "attach" | "withdraw"))
        .map(|name| match name {
            "refer_to_meeting" => "refer-to-meeting",
            name => name,
        })
        .collect();
    let fund_votes = if g.category == lianxi_domain::values::Category::MaintenanceFund {
        crate::app::votes::fund_votes(state, g.xiaoqu)
            .await
            .unwrap_or_default()
            .into_iter()
            .map(|v| (v.id, v.question, v.status, v.outcome.unwrap_or_default()))
            .collect()
    } else {
        Vec::new()
    };
    let page = visit.page();
    let status = if problem.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let html = GrievancePage {
        problem,
        context: context(&page, &g),
        done,
        withdraws,
        page,
        id: g.id.0,
        actions,
        parties: PARTIES.to_vec(),
        title: g.title.as_str().to_owned(),
        status: g.status.as_str().to_owned(),
        tier: wire(&g.tier),
        filed_at: g.filed_at,
        deadline: g.deadline.map(|d| (d.stage.as_str().to_owned(), d.due_at)),
        description: g.description.as_str().to_owned(),
        steps,
        auditor: audits(caller.0.role),
        case: g.mediation.map(|m| m.case.0),
        opens_case: crate::app::cases::may_open(state, caller, &g),
        similar,
        files: g
            .attachments
            .iter()
            .map(|a| ShownFile {
                sha256: a.file.sha256.as_str().to_owned(),
                photo: a.file.media_type.as_str().starts_with("image/"),
                erased: a.erased_at.is_some(),
            })
            .collect(),
        attaches,
        fund_votes,
    }
    .render();
    render(visit, status, html)
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct ActionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    matter_class: String,
    #[serde(default)]
    party: String,
    #[serde(default)]
    summary: String,
    #[serde(default)]
    rating: String,
    #[serde(default)]
    comment: String,
    #[serde(default)]
    reason: String,
}

/// The filer's commands from the grievance page: withdraw, rate, reopen.
pub(super) async fn act(
    State(state): State<AppState>,
    Extension(request_id): Extension<RequestId>,
    Path((id, action)): Path<(String, String)>,
    headers: HeaderMap,
    Form(form): Form<ActionForm>,
) -> Response {
    let visit = Visit::of(&state, &headers).await;
    let caller = match visit.form_caller(&form.csrf) {
        Ok(caller) => caller,
        Err(answer) => return *answer,
    };
    let Ok(id) = GrievanceId::parse(&id) else {
        return message(&visit, StatusCode::NOT_FOUND, "error.not_found");
    };
    let text = |value: &str| {
        let value = value.trim();
        (!value.is_empty()).then(|| value.to_owned())
    };
    let domain_action = match action.as_str() {
        "withdraw" => text(&form.reason)
            .map(|r| Reason::parse(&r))
            .transpose()
            .map(|reason| GrievanceAction::WithdrawGrievance { reason }),
        "rate" => {
            let rating =
                serde_json::from_value::<Rating>(serde_json::Value::String(form.rating.clone()))
                    .map_err(|_| ValueError::Invalid("rating"));
            let comment = text(&form.comment).map(|c| Comment::parse(&c)).transpose();
            match (rating, comment) {
                (Ok(rating), Ok(comment)) => Ok(GrievanceAction::RateOutcome { rating, comment }),
                (Err(e), _) | (_, Err(e)) => Err(e),
            }
        }
        "reopen" => {
            Reason::parse(&form.reason).map(|reason| GrievanceAction::ReopenGrievance { reason })
        }
        "accept" => Ok(GrievanceAction::AcceptGrievance),
        "respond" => Statement::parse(&form.summary)
            .map(|response| GrievanceAction::RespondToGrievance { response }),
        "reject" => {
            Reason::parse(&form.reason).map(|reason| GrievanceAction::RejectGrievance { reason })
        }
        "triage" => {
            let matter_class = serde_json::from_value::<MatterClass>(serde_json::Value::String(
                form.matter_class.clone(),
            ));
            let party =
                serde_json::from_value::<PartyRole>(serde_json::Value::String(form.party.clone()));
            match (matter_class, party) {
                // The grievance stays at its tier: the page offers no other.
                (Ok(matter_class), Ok(party)) => Ok(GrievanceAction::TriageGrievance {
                    matter_class,
                    tier: None,
                    party,
                }),
                _ => Err(ValueError::Invalid("triage")),
            }
        }
        "assign" => {
            // No party chosen: the one named at triage.
            let party = text(&form.party)
                .map(|p| serde_json::from_value::<PartyRole>(serde_json::Value::String(p)))
                .transpose()
                .map_err(|_| ValueError::Invalid("party"));
            let note = text(&form.reason).map(|r| Reason::parse(&r)).transpose();
            match (party, note) {
                (Ok(party), Ok(note)) => Ok(GrievanceAction::AssignGrievance { party, note }),
                (Err(e), _) | (_, Err(e)) => Err(e),
            }
        }
        "resolve" => Statement::parse(&form.summary)
            .map(|summary| GrievanceAction::ResolveGrievance { summary }),
        "refer-to-meeting" => text(&form.reason)
            .map(|r| Reason::parse(&r))
            .transpose()
            .map(|note| GrievanceAction::ReferToMeeting { note }),
        _ => return message(&visit, StatusCode::NOT_FOUND, "error.not_found"),
    };
    let domain_action = match domain_action {
        Ok(domain_action) => domain_action,
        Err(e) => {
            // Shown in the form that was sent, naming its field, in the
            // page's language (the forms leave checking to the server).
            let Some(name) = CONFIRMED.iter().copied().find(|a| *a == action) else {
                return message(&visit, StatusCode::NOT_FOUND, "error.not_found");
            };
            let field = match name {
                "respond" => "action.response",
                "resolve" => "action.summary",
                "assign" => "action.note",
                "triage" => "action.matter_class",
                "rate" if form.rating.is_empty() => "action.rating",
                "rate" => "action.comment",
                _ => "action.reason",
            };
            let lang = visit.lang;
            let text = format!(
                "{}{}{}",
                i18n::t(lang, field),
                i18n::t(lang, "punct.colon"),
                reason(lang, &e)
            );
            return show(&state, &visit, &caller, id, None, Some((name, text))).await;
        }
    };
    match grievances::run(
        &state,
        &caller,
        &request_id.0,
        id,
        None,
        None,
        domain_action,
    )
    .await
    {
        Ok(_) => see_other(&format!("/g/{id}?done={action}")),
        Err(e) if e.status_code().is_client_error() => {
            tracing::info!(problem = e.slug(), "a page action was refused");
            let status = e.status_code();
            if status == StatusCode::NOT_FOUND {
                return message(&visit, status, "error.not_found");
            }
            message(&visit, StatusCode::CONFLICT, "error.refused")
        }
        Err(e) => {
            tracing::error!(problem = e.slug(), "a page action failed");
            message(&visit, StatusCode::SERVICE_UNAVAILABLE, "error.title")
        }
    }
}

/// The handler merges the chosen likely duplicates into this grievance
/// (`duplicate` named once per chosen grievance), all or none.
pub(super) async fn merge_duplicates(
    State(state): State<AppState>,
    Extension(request_id): Extension<RequestId>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let visit = Visit::of(&state, &headers).await;
    let csrf = pairs
        .iter()
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v.as_str())
        .unwrap_or_default();
    let caller = match visit.form_caller(csrf) {
        Ok(caller) => caller,
        Err(answer) => return *answer,
    };
    let Ok(id) = GrievanceId::parse(&id) else {
        return message(&visit, StatusCode::NOT_FOUND, "error.not_found");
    };
    let chosen: Result<Vec<GrievanceId>, _> = pairs
        .iter()
        .filter(|(k, _)| k == "duplicate")
        .map(|(_, v)| GrievanceId::parse(v))
        .collect();
    let Ok(chosen) = chosen else {
        return message(
            &visit,
            StatusCode::UNPROCESSABLE_ENTITY,
            "error.action_input",
        );
    };
    if chosen.is_empty() {
        return see_other(&format!("/g/{id}"));
    }
    match grievances::merge_many(&state, &caller, &request_id.0, id, &chosen).await {
        Ok(_) => see_other(&format!("/g/{id}?done=merge")),
        Err(e) if e.status_code() == StatusCode::NOT_FOUND => {
            message(&visit, StatusCode::NOT_FOUND, "error.not_found")
        }
        Err(e) if e.status_code().is_client_error() => {
            tracing::info!(problem = e.slug(), "a merge from the page was refused");
            message(&visit, StatusCode::CONFLICT, "error.refused")
        }
        Err(e) => {
            tracing::error!(problem = e.slug(), "a merge from the page failed");
            message(&visit, StatusCode::SERVICE_UNAVAILABLE, "error.title")
        }
    }
}
