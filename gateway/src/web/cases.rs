//! Mediation-case pages: the party branch opens a case for a grievance
//! (what it is about, and the respondent party); every party of a case
//! reads it: its sessions, the proposal or the agreement with each party's
//! obligations and whether they were fulfilled.
//!
//! Reads and commands go through the mediation service (`app::cases`) with
//! the request types the JSON API takes, like the meeting pages.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, RawForm, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::meetings::{answer, first, instant, pairs, request, request_id, text};
use super::{message, render, see_other, Page, Visit};
use crate::app::{cases, grievances, AppState};
use lianxi_domain::values::{CaseId, GrievanceId};
use lianxi_domain::Role;

/// The parties a case may name as respondent.
const RESPONDENTS: [&str; 4] = [
    "property_company",
    "owners_committee",
    "supervisory_committee",
    "micro_organization",
];

#[derive(Template)]
#[template(path = "case_new.html")]
struct NewCasePage {
    page: Page,
    grievance: String,
    grievance_title: String,
    matter: String,
    respondent: String,
    respondents: Vec<&'static str>,
    errors: HashMap<String, String>,
}

impl NewCasePage {
    fn error(&self, field: &str) -> Option<&String> {
        self.errors.get(field)
    }
}

async fn new_case_page(
    state: &AppState,
    visit: &Visit,
    grievance: &str,
    matter: Option<String>,
    respondent: String,
    errors: HashMap<String, String>,
) -> Response {
    let (Some((_, account)), Some(caller)) = (&visit.session, visit.caller()) else {
        return see_other("/login");
    };
    let Ok(id) = GrievanceId::parse(grievance) else {
        return message(visit, StatusCode::NOT_FOUND, "error.not_found");
    };
    let Ok((g, _)) = grievances::visible(state, &caller, id).await else {
        return message(visit, StatusCode::NOT_FOUND, "error.not_found");
    };
    if account.role != Role::PartyBranch {
        return message(visit, StatusCode::NOT_FOUND, "error.not_found");
    }
    let title = g.title.as_str().to_owned();
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let html = NewCasePage {
        page: visit.page(),
        grievance: id.to_string(),
        matter: matter.unwrap_or_else(|| title.clone()),
        grievance_title: title,
        respondent,
        respondents: RESPONDENTS.to_vec(),
        errors,
    }
    .render();
    render(visit, status, html)
}

pub(super) async fn new_case(
    State(state): State<AppState>,
    axum::extract::Query(query): axum::extract::Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let visit = Visit::of(&state, &headers).await;
    let grievance = query.get("grievance").cloned().unwrap_or_default();
    new_case_page(
        &state,
        &visit,
        &grievance,
        None,
        "property_company".to_owned(),
        HashMap::new(),
    )
    .await
}

pub(super) async fn open(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawForm(raw): RawForm,
) -> Response {
    let visit = Visit::of(&state, &headers).await;
    let form = pairs(&raw);
    let caller = match visit.form_caller(&first(&form, "csrf")) {
        Ok(caller) => caller,
        Err(refusal) => return *refusal,
    };
    let grievance = first(&form, "grievance");
    let matter = first(&form, "matter");
    let respondent = first(&form, "respondent");
    let body = json!({
        "matter": matter,
        "grievances": [grievance],
        "respondents": [{"kind": "party", "id": respondent}],
    });
    let opened = match request(body) {
        Ok(body) => cases::open(&state, &caller, &request_id(), &body)
            .await
            .map(|(view, _)| view),
        Err(e) => Err(e),
    };
    let opened = answer(opened);
    if opened.status.is_success() {
        return see_other(&format!("/cases/{}?done=open", text(&opened.body["id"])));
    }
    let errors = opened.errors_in(&visit.page(), "case");
    new_case_page(&state, &visit, &grievance, Some(matter), respondent, errors).await
}

/// A party of a case as the page names it.
#[derive(Debug)]
pub struct CaseParty {
    /// `party` (with the party's wire name) or `person` (a pseudonym).
    pub kind: String,
    pub id: String,
}

/// An obligation of the proposal or agreement.
#[derive(Debug)]
pub struct Obligation {
    pub party: CaseParty,
    pub description: String,
    pub due_at: Option<DateTime<Utc>>,
    pub status: String,
}

#[derive(Template)]
#[template(path = "case.html")]
struct CasePage {
    page: Page,
    /// The key of the notice confirming what the reader just did.
    done: Option<String>,
    matter: String,
    status: String,
    tier: String,
    grievances: Vec<String>,
    applicants: Vec<CaseParty>,
    respondents: Vec<CaseParty>,
    sessions: usize,
    terms: String,
    agreed: bool,
    obligations: Vec<Obligation>,
    failure: String,
    opened_at: Option<DateTime<Utc>>,
}

fn case_parties(v: &Value) -> Vec<CaseParty> {
    v.as_array()
        .into_iter()
        .flatten()
        .map(|p| CaseParty {
            kind: text(&p["kind"]),
            id: text(&p["id"]),
        })
        .collect()
}

/// The obligations of a case's agreement, or else of its proposal.
pub(super) fn obligations(case: &Value) -> (bool, String, Vec<Obligation>) {
    let (agreed, terms) = if case["agreement"].is_object() {
        (true, &case["agreement"])
    } else {
        (false, &case["proposal"])
    };
    let list = terms["obligations"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|o| Obligation {
            party: CaseParty {
                kind: text(&o["party"]["kind"]),
                id: text(&o["party"]["id"]),
            },
            description: text(&o["description"]),
            due_at: instant(&o["due_at"]),
            status: text(&o["status"]),
        })
        .collect();
    (agreed, text(&terms["terms"]), list)
}

pub(super) async fn show(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(notice): Query<super::Notice>,
    headers: HeaderMap,
) -> Response {
    let visit = Visit::of(&state, &headers).await;
    let Some(caller) = visit.caller() else {
        return see_other("/login");
    };
    let Ok(id) = CaseId::parse(&id) else {
        return message(&visit, StatusCode::NOT_FOUND, "error.not_found");
    };
    let shown = answer(cases::get(&state, &caller, id).await.map(|(view, _)| view));
    if !shown.status.is_success() {
        return message(&visit, StatusCode::NOT_FOUND, "error.not_found");
    }
    let c = &shown.body;
    let (agreed, terms, obligations) = obligations(c);
    let html = CasePage {
        done: notice.key("case", &["open"]),
        page: visit.page(),
        matter: text(&c["matter"]),
        status: text(&c["status"]),
        tier: text(&c["tier"]),
        grievances: c["grievances"]
            .as_array()
            .into_iter()
            .flatten()
            .map(text)
            .collect(),
        applicants: case_parties(&c["applicants"]),
        respondents: case_parties(&c["respondents"]),
        sessions: c["sessions"].as_array().map_or(0, Vec::len),
        terms,
        agreed,
        obligations,
        failure: text(&c["failure"]["reason"]),
        opened_at: instant(&c["opened_at"]),
    }
    .render();
    render(&visit, StatusCode::OK, html)
}
