//! Owners' vote pages (业主表决): a xiaoqu's votes and its owners' register;
//! the owners' committee (or the branch where there is none) imports the
//! register from a CSV file, opens a vote, enters paper ballots and closes
//! it; an owner votes for each of their units, changes their vote while the
//! window is open, and sees their own ballot counted; everyone of the
//! xiaoqu reads the tally.
//!
//! Every read and command goes through the vote service (`app::votes`)
//! with the request types the JSON API takes, so the pages apply exactly
//! the API's validation, rules and authorization.

use std::collections::HashMap;

use askama::Template;
use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::extract::{Path, Query, RawForm, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{DateTime, Utc};
use lianxi_domain::Role;
use serde_json::{json, Value};

use super::meetings::{answer, first, instant, pairs, request, request_id, text, Answer};
use super::{message, render, see_other, Notice, Page, Visit};
use crate::app::auth::{Caller, Scope};
use crate::app::votes::{self, register, MatterDto, VoteQuery};
use crate::app::AppState;
use crate::http::multipart;

/// The roles that keep the register and open votes.
fn keeps_votes(role: Role) -> bool {
    matches!(role, Role::OwnersCommittee | Role::PartyBranch)
}

/// A vote in the list.
#[derive(Debug)]
pub struct Listed {
    pub id: String,
    pub question: String,
    pub matter: String,
    pub status: String,
    pub outcome: String,
    pub closes_at: Option<DateTime<Utc>>,
}

/// A row of an import left out.
#[derive(Debug)]
pub struct Rejected {
    pub line: u64,
    pub field: String,
    pub problem: String,
}

/// What the opening form holds, as typed.
#[derive(Clone, Debug, Default)]
pub struct OpenForm {
    pub matter: String,
    pub question: String,
    pub explanation: String,
    pub closes_at: String,
    pub online: bool,
    pub paper: bool,
}

#[derive(Template)]
#[template(path = "votes.html")]
struct VotesPage {
    page: Page,
    keeps: bool,
    votes: Vec<Listed>,
    matters: Vec<String>,
    units: u64,
    area_m2: String,
    owners: u64,
    imported: Option<Vec<Rejected>>,
    form: OpenForm,
    errors: HashMap<String, String>,
}

impl VotesPage {
    fn error(&self, field: &str) -> Option<&String> {
        self.errors.get(field)
    }
}

/// The caller's xiaoqu: votes and registers are a xiaoqu's.
fn own_xiaoqu(caller: &Caller) -> Option<lianxi_domain::values::XiaoquId> {
    match &caller.0.scope {
        Scope::Xiaoqu(x) => Some(*x),
        _ => None,
    }
}

async fn votes_page(
    state: &AppState,
    visit: &Visit,
    form: OpenForm,
    imported: Option<Vec<Rejected>>,
    errors: HashMap<String, String>,
) -> Response {
    let Some(caller) = visit.caller() else {
        return see_other("/login");
    };
    let Some(xiaoqu) = own_xiaoqu(&caller) else {
        return message(visit, StatusCode::NOT_FOUND, "error.not_found");
    };
    let listed = answer(votes::list(state, &caller, &VoteQuery::default()).await);
    let register = answer(register::view(state, &caller, &xiaoqu.to_string()).await);
    if !listed.status.is_success() || !register.status.is_success() {
        return message(visit, StatusCode::NOT_FOUND, "error.not_found");
    }
    let votes = listed.body["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|v| Listed {
            id: text(&v["id"]),
            question: text(&v["question"]),
            matter: text(&v["matter"]),
            status: text(&v["status"]),
            outcome: text(&v["outcome"]),
            closes_at: instant(&v["closes_at"]),
        })
        .collect();
    let totals = &register.body["totals"];
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let html = VotesPage {
        page: visit.page(),
        keeps: keeps_votes(caller.0.role),
        votes,
        matters: MatterDto::ALL.iter().map(crate::app::dto::wire).collect(),
        units: register.body["units"]
            .as_array()
            .map_or(0, |u| u.len() as u64),
        area_m2: format!("{:.2}", totals["area_m2"].as_f64().unwrap_or(0.0)),
        owners: totals["owners"].as_u64().unwrap_or(0),
        imported,
        form,
        errors,
    }
    .render();
    render(visit, status, html)
}

pub(super) async fn list(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let visit = Visit::of(&state, &headers).await;
    let form = OpenForm {
        online: true,
        ..OpenForm::default()
    };
    votes_page(&state, &visit, form, None, HashMap::new()).await
}

/// Opens a vote from the form.
pub(super) async fn open(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawForm(raw): RawForm,
) -> Response {
    let visit = Visit::of(&state, &headers).await;
    let fields = pairs(&raw);
    let caller = match visit.form_caller(&first(&fields, "csrf")) {
        Ok(caller) => caller,
        Err(refusal) => return *refusal,
    };
    let form = OpenForm {
        matter: first(&fields, "matter"),
        question: first(&fields, "question"),
        explanation: first(&fields, "explanation"),
        closes_at: first(&fields, "closes_at"),
        online: first(&fields, "online") == "on",
        paper: first(&fields, "paper") == "on",
    };
    let page = visit.page();
    let Some(closes_at) = super::meetings::china_time(&form.closes_at) else {
        let errors = HashMap::from([("closes_at".to_owned(), page.t("vote.error.closes_at"))]);
        return votes_page(&state, &visit, form, None, errors).await;
    };
    let body = json!({
        "matter": form.matter,
        "question": form.question,
        "explanation": form.explanation,
        "closes_at": closes_at,
        "online": form.online,
        "paper": form.paper,
    });
    let opened = match request(body) {
        Ok(body) => votes::open(&state, &caller, &request_id(), &body)
            .await
            .map(|(view, _)| view),
        Err(e) => Err(e),
    };
    match answer(opened) {
        a if a.status.is_success() => {
            see_other(&format!("/votes/{}?done=open", text(&a.body["id"])))
        }
        a => {
            let errors = refusal(&page, &a);
            votes_page(&state, &visit, form, None, errors).await
        }
    }
}

/// Imports the register from the uploaded CSV file.
pub(super) async fn import(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Multipart, MultipartRejection>,
) -> Response {
    let visit = Visit::of(&state, &headers).await;
    let form = match multipart::read(body).await {
        Ok(form) => form,
        Err(e) => return message(&visit, e.status_code(), "error.title"),
    };
    let caller = match visit.form_caller(form.field("csrf").unwrap_or_default()) {
        Ok(caller) => caller,
        Err(refusal) => return *refusal,
    };
    let Some(xiaoqu) = own_xiaoqu(&caller) else {
        return message(&visit, StatusCode::NOT_FOUND, "error.not_found");
    };
    let page = visit.page();
    let blank = OpenForm {
        online: true,
        ..OpenForm::default()
    };
    let Some(file) = form.files.first() else {
        let errors = HashMap::from([("file".to_owned(), page.t("vote.error.file"))]);
        return votes_page(&state, &visit, blank, None, errors).await;
    };
    let imported = answer(
        register::import(
            &state,
            &caller,
            &request_id(),
            &xiaoqu.to_string(),
            &file.bytes,
        )
        .await,
    );
    if !imported.status.is_success() {
        let errors = refusal(&page, &imported);
        return votes_page(&state, &visit, blank, None, errors).await;
    }
    let rejected = imported.body["rejected"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| Rejected {
            line: r["line"].as_u64().unwrap_or(0),
            field: text(&r["field"]),
            problem: text(&r["problem"]),
        })
        .collect();
    votes_page(&state, &visit, blank, Some(rejected), HashMap::new()).await
}

/// A refusal as the pages show it: each field refused, or what the
/// refusal means for the whole form.
fn refusal(page: &Page, answered: &Answer) -> HashMap<String, String> {
    let slug = answered.body["type"].as_str().unwrap_or_default();
    let key = match slug.rsplit(':').next().unwrap_or_default() {
        "forbidden" => "vote.error.forbidden",
        "invalid-transition" => "vote.error.status",
        "rule-violated" => "vote.error.window",
        _ => return answered.errors_in(page, "vote"),
    };
    HashMap::from([("form".to_owned(), page.t(key))])
}

// ---------- one vote ----------

/// One of the caller's units, with its ballot.
#[derive(Debug)]
pub struct MyUnit {
    pub unit: String,
    pub address: String,
    pub area_m2: String,
    pub choice: String,
    pub channel: String,
    pub at: Option<DateTime<Utc>>,
    pub counted: bool,
}

/// A unit of the register, for entering a paper ballot.
#[derive(Debug)]
pub struct RegisterUnit {
    pub unit: String,
    pub address: String,
}

/// One line of the tally.
#[derive(Debug)]
pub struct TallyLine {
    pub what: String,
    pub area_m2: String,
    pub owners: u64,
}

#[derive(Template)]
#[template(path = "vote.html")]
struct VotePage {
    page: Page,
    done: Option<String>,
    id: String,
    question: String,
    explanation: String,
    matter: String,
    special: bool,
    status: String,
    opens_at: Option<DateTime<Utc>>,
    closes_at: Option<DateTime<Utc>>,
    online: bool,
    paper: bool,
    participation: String,
    approval: String,
    units: u64,
    ballots: u64,
    outcome: String,
    short_of_area: bool,
    short_of_owners: bool,
    tally: Vec<TallyLine>,
    my_units: Vec<MyUnit>,
    /// The caller opened it: enters paper ballots, closes it.
    opener: bool,
    register: Vec<RegisterUnit>,
    errors: HashMap<String, String>,
}

impl VotePage {
    fn error(&self, field: &str) -> Option<&String> {
        self.errors.get(field)
    }
}

fn share(v: &Value) -> String {
    format!(
        "{}/{}",
        v["numerator"].as_u64().unwrap_or(0),
        v["denominator"].as_u64().unwrap_or(1)
    )
}

fn m2(v: &Value) -> String {
    format!("{:.2}", v["area_m2"].as_f64().unwrap_or(0.0))
}

async fn vote_page(
    state: &AppState,
    visit: &Visit,
    id: &str,
    done: Option<String>,
    errors: HashMap<String, String>,
) -> Response {
    let Some(caller) = visit.caller() else {
        return see_other("/login");
    };
    let Ok(vote_id) = votes::parse_vote_id(id) else {
        return message(visit, StatusCode::NOT_FOUND, "error.not_found");
    };
    let shown = answer(votes::get(state, &caller, vote_id).await.map(|(v, _)| v));
    if !shown.status.is_success() {
        return message(visit, StatusCode::NOT_FOUND, "error.not_found");
    }
    let v = &shown.body;
    let page = visit.page();
    let opener = text(&v["opened_by"]) == crate::app::dto::wire(&caller.0.role);
    let register = if opener && v["paper"].as_bool().unwrap_or(false) {
        let units = answer(register::view(state, &caller, &text(&v["xiaoqu"])).await);
        units.body["units"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|u| RegisterUnit {
                unit: text(&u["unit"]),
                address: text(&u["address"]),
            })
            .collect()
    } else {
        Vec::new()
    };
    let tally = &v["tally"];
    let lines = if tally.is_null() {
        Vec::new()
    } else {
        ["register", "participated", "approve", "oppose", "abstain"]
            .iter()
            .map(|k| TallyLine {
                what: page.t(&format!("vote.tally.{k}")),
                area_m2: m2(&tally[*k]),
                owners: tally[*k]["owners"].as_u64().unwrap_or(0),
            })
            .collect()
    };
    let special = v["special"].as_bool().unwrap_or(false);
    let thresholds = &v["thresholds"];
    let html = VotePage {
        done,
        id: text(&v["id"]),
        question: text(&v["question"]),
        explanation: text(&v["explanation"]),
        matter: text(&v["matter"]),
        special,
        status: text(&v["status"]),
        opens_at: instant(&v["opens_at"]),
        closes_at: instant(&v["closes_at"]),
        online: v["online"].as_bool().unwrap_or(false),
        paper: v["paper"].as_bool().unwrap_or(false),
        participation: share(&thresholds["participation"]),
        approval: if special {
            share(&thresholds["special"])
        } else {
            share(&thresholds["ordinary"])
        },
        units: v["units"].as_u64().unwrap_or(0),
        ballots: v["ballots"].as_u64().unwrap_or(0),
        outcome: text(&tally["outcome"]),
        short_of_area: tally["short_of_area"].as_bool().unwrap_or(false),
        short_of_owners: tally["short_of_owners"].as_bool().unwrap_or(false),
        tally: lines,
        my_units: v["my_units"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|u| MyUnit {
                unit: text(&u["unit"]),
                address: text(&u["address"]),
                area_m2: format!("{:.2}", u["area_m2"].as_f64().unwrap_or(0.0)),
                choice: text(&u["ballot"]["choice"]),
                channel: text(&u["ballot"]["channel"]),
                at: instant(&u["ballot"]["at"]),
                counted: u["ballot"]["counted"].as_bool().unwrap_or(false),
            })
            .collect(),
        opener,
        register,
        errors,
        page,
    }
    .render();
    render(visit, StatusCode::OK, html)
}

pub(super) async fn show(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(notice): Query<Notice>,
    headers: HeaderMap,
) -> Response {
    let visit = Visit::of(&state, &headers).await;
    let done = notice.key("vote", &["open", "ballot", "paper", "close"]);
    vote_page(&state, &visit, &id, done, HashMap::new()).await
}

/// A ballot, a paper ballot or closing, from the vote page.
pub(super) async fn act(
    State(state): State<AppState>,
    Path((id, action)): Path<(String, String)>,
    headers: HeaderMap,
    RawForm(raw): RawForm,
) -> Response {
    let visit = Visit::of(&state, &headers).await;
    let fields = pairs(&raw);
    let caller = match visit.form_caller(&first(&fields, "csrf")) {
        Ok(caller) => caller,
        Err(refusal) => return *refusal,
    };
    let Ok(vote) = votes::parse_vote_id(&id) else {
        return message(&visit, StatusCode::NOT_FOUND, "error.not_found");
    };
    let ballot =
        || request(json!({"unit": first(&fields, "unit"), "choice": first(&fields, "choice")}));
    let rid = request_id();
    let done = match action.as_str() {
        "ballot" => match ballot() {
            Ok(b) => votes::cast(&state, &caller, &rid, vote, &b).await,
            Err(e) => Err(e),
        },
        "paper" => match ballot() {
            Ok(b) => votes::enter_paper(&state, &caller, &rid, vote, &b).await,
            Err(e) => Err(e),
        },
        "close" => votes::close(&state, &caller, &rid, vote, None).await,
        _ => return message(&visit, StatusCode::NOT_FOUND, "error.not_found"),
    };
    let answered: Answer = answer(done.map(|(v, _)| v));
    if answered.status.is_success() {
        return see_other(&format!("/votes/{id}?done={action}"));
    }
    if answered.status == StatusCode::NOT_FOUND {
        return message(&visit, StatusCode::NOT_FOUND, "error.not_found");
    }
    let page = visit.page();
    let errors = refusal(&page, &answered);
    vote_page(&state, &visit, &id, None, errors).await
}
