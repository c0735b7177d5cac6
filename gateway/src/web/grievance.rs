//! One grievance (`/g/{id}`): its timeline and deadline, and the commands
//! it offers the reader (`/g/{id}/{action}`), as filer or as handler.

use askama::Template;
use axum::extract::{Form, Path, State};
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
use super::{message, render, see_other, wire, Page, Visit};
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
}

pub(super) async fn grievance(
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
    let steps = match grievances::history(&state, &caller, id).await {
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
    let similar = match duplicates::likely_for(&state, &caller, id).await {
        Ok(found) => found.into_iter().filter(|s| s.id.is_some()).collect(),
        Err(e) => {
            tracing::warn!(error = ?e, "likely duplicates could not be read");
            Vec::new()
        }
    };
    // What the aggregate would accept from this caller now; a form's path
    // names the command with dashes.
    let offered = grievances::offered_actions(&state, &caller, &g);
    let attaches = offered.contains(&"attach");
    let actions: Vec<&'static str> = offered
        .into_iter()
        .filter(|name| *name != "attach")
        .map(|name| match name {
            "refer_to_meeting" => "refer-to-meeting",
            name => name,
        })
        .collect();
    let html = GrievancePage {
        page: visit.page(),
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
        opens_case: crate::app::cases::may_open(&state, &caller, &g),
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
    }
    .render();
    render(&visit, StatusCode::OK, html)
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
    let Ok(domain_action) = domain_action else {
        return message(
            &visit,
            StatusCode::UNPROCESSABLE_ENTITY,
            "error.action_input",
        );
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
        Ok(_) => see_other(&format!("/g/{id}")),
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
        Ok(_) => see_other(&format!("/g/{id}")),
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
