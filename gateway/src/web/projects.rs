//! Micro-project and micro-fund pages (五微工作法): the xiaoqu's projects
//! and the funds serving it; micro-organizations and residents propose,
//! residents support, comment and rate, the proposer reports with receipts
//! and evaluates, the party branch opens the fund, records what comes in,
//! shortlists, reviews, publishes, starts, pays with a receipt and closes.
//!
//! Every read and command goes through the micro services (`app::micro`)
//! with the request types the JSON API takes, so the pages apply exactly
//! the API's validation, rules and authorization.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use lianxi_domain::Role;
use serde_json::{json, Value};

use super::board::yuan;
use super::meetings::{answer, china_time, instant, request, request_id, text, Answer};
use super::{message, render, see_other, Notice, Page, Visit};
use crate::app::auth::{Caller, Scope};
use crate::app::micro::projects::{self, Step};
use crate::app::micro::{funds, parse_fund_id, parse_project_id, FundQuery, ProjectQuery};
use crate::app::AppState;
use crate::http::download::send;
use crate::http::multipart::{self, Form};

/// Yuan as typed (`1200`, `1200.5`, `1,200.50`) in whole fen.
fn fen(typed: &str) -> Option<u64> {
    let cleaned: String = typed
        .trim()
        .trim_start_matches('¥')
        .chars()
        .filter(|c| *c != ',')
        .collect();
    let (whole, part) = cleaned.split_once('.').unwrap_or((&cleaned, ""));
    if whole.is_empty() || part.len() > 2 || !whole.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    if !part.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let part = format!("{part:0<2}");
    whole
        .parse::<u64>()
        .ok()?
        .checked_mul(100)?
        .checked_add(part.parse::<u64>().ok()?)
}

fn money(v: &Value) -> String {
    yuan(v.as_u64().unwrap_or(0))
}

/// A refusal as the pages show it: each field refused, or what the
/// refusal means for the whole form.
fn refusal(page: &Page, answered: &Answer) -> HashMap<String, String> {
    let slug = answered.body["type"].as_str().unwrap_or_default();
    let key = match slug.rsplit(':').next().unwrap_or_default() {
        "forbidden" => "project.error.forbidden",
        "invalid-transition" => "project.error.status",
        "rule-violated" => {
            let title = answered.body["title"].as_str().unwrap_or_default();
            if title.contains("holds less") {
                "project.error.balance"
            } else if title.contains("approved and under way") {
                "project.error.not_under_way"
            } else if title.contains("comment period") {
                "project.error.comment_period"
            } else {
                "project.error.comments_closed"
            }
        }
        _ => return answered.errors_in(page, "project"),
    };
    HashMap::from([("form".to_owned(), page.t(key))])
}

/// The caller's xiaoqu: the pages show one xiaoqu's projects.
fn own_xiaoqu(caller: &Caller) -> Option<lianxi_domain::values::XiaoquId> {
    match &caller.0.scope {
        Scope::Xiaoqu(x) => Some(*x),
        _ => None,
    }
}

fn proposes(role: Role) -> bool {
    matches!(role, Role::MicroOrganization | Role::Resident)
}

// ---------- the list ----------

#[derive(Debug)]
pub struct ListedProject {
    pub id: String,
    pub title: String,
    pub status: String,
    pub budget: String,
    pub supporters: u64,
}

#[derive(Debug)]
pub struct ListedFund {
    pub id: String,
    pub name: String,
    pub balance: String,
}

/// What the proposal and fund forms hold, as typed.
#[derive(Clone, Debug, Default)]
pub struct ProposalForm {
    pub fund: String,
    pub title: String,
    pub plan: String,
    pub budget: String,
    pub name: String,
    pub kind: String,
    pub donor: String,
}

#[derive(Template)]
#[template(path = "projects.html")]
struct ProjectsPage {
    page: Page,
    done: Option<String>,
    proposes: bool,
    /// The party branch: opens the xiaoqu's fund.
    keeps: bool,
    projects: Vec<ListedProject>,
    funds: Vec<ListedFund>,
    form: ProposalForm,
    errors: HashMap<String, String>,
}

impl ProjectsPage {
    fn error(&self, field: &str) -> Option<&String> {
        self.errors.get(field)
    }
}

async fn projects_page(
    state: &AppState,
    visit: &Visit,
    done: Option<String>,
    form: ProposalForm,
    errors: HashMap<String, String>,
) -> Response {
    let Some(caller) = visit.caller() else {
        return see_other("/login");
    };
    if own_xiaoqu(&caller).is_none() {
        return message(visit, StatusCode::NOT_FOUND, "error.not_found");
    }
    let listed = answer(projects::list(state, &caller, &ProjectQuery::default()).await);
    let served = answer(funds::list(state, &caller, &FundQuery::default()).await);
    if !listed.status.is_success() || !served.status.is_success() {
        return message(visit, StatusCode::NOT_FOUND, "error.not_found");
    }
    let projects = listed.body["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| ListedProject {
            id: text(&p["id"]),
            title: text(&p["title"]),
            status: text(&p["status"]),
            budget: money(&p["budget_fen"]),
            supporters: p["supporters"].as_u64().unwrap_or(0),
        })
        .collect();
    let funds = served.body["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| ListedFund {
            id: text(&f["id"]),
            name: text(&f["name"]),
            balance: money(&f["balance_fen"]),
        })
        .collect();
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let html = ProjectsPage {
        page: visit.page(),
        done,
        proposes: proposes(caller.0.role),
        keeps: caller.0.role == Role::PartyBranch,
        projects,
        funds,
        form,
        errors,
    }
    .render();
    render(visit, status, html)
}

pub(super) async fn list(
    State(state): State<AppState>,
    Query(notice): Query<Notice>,
    headers: HeaderMap,
) -> Response {
    let visit = Visit::of(&state, &headers).await;
    let done = notice.key("project", &["fund"]);
    let form = ProposalForm {
        kind: "crowd".into(),
        ..ProposalForm::default()
    };
    projects_page(&state, &visit, done, form, HashMap::new()).await
}

/// A form, URL-encoded or multipart, and its signed-in sender.
async fn form_of(visit: &Visit, request: Request) -> Result<(Caller, Form), Box<Response>> {
    let form = match multipart::read_either(request).await {
        Ok(form) => form,
        Err(e) => return Err(Box::new(message(visit, e.status_code(), "error.title"))),
    };
    let caller = visit.form_caller(form.field("csrf").unwrap_or_default())?;
    Ok((caller, form))
}

fn field(form: &Form, name: &str) -> String {
    form.field(name).unwrap_or_default().to_owned()
}

/// A proposal, or (the branch) a new fund, from the list page.
pub(super) async fn propose(
    State(state): State<AppState>,
    headers: HeaderMap,
    request_body: Request,
) -> Response {
    let visit = Visit::of(&state, &headers).await;
    let (caller, form) = match form_of(&visit, request_body).await {
        Ok(sent) => sent,
        Err(refusal) => return *refusal,
    };
    let typed = ProposalForm {
        fund: field(&form, "fund"),
        title: field(&form, "title"),
        plan: field(&form, "plan"),
        budget: field(&form, "budget"),
        name: field(&form, "name"),
        kind: field(&form, "kind"),
        donor: field(&form, "donor"),
    };
    let page = visit.page();
    let opening_fund = form.field("open_fund").is_some();
    let answered = if opening_fund {
        let mut body = json!({"name": typed.name, "kind": typed.kind});
        if typed.kind == "named" {
            body["donor"] = json!(typed.donor);
        }
        match request(body) {
            Ok(body) => answer(
                funds::open(&state, &caller, &request_id(), &body)
                    .await
                    .map(|(v, _)| v),
            ),
            Err(e) => answer::<Value>(Err(e)),
        }
    } else {
        let Some(budget) = fen(&typed.budget).filter(|f| *f > 0) else {
            let errors =
                HashMap::from([("budget_fen".to_owned(), page.t("project.error.budget_fen"))]);
            return projects_page(&state, &visit, None, typed, errors).await;
        };
        let body = json!({
            "fund": typed.fund,
            "title": typed.title,
            "plan": typed.plan,
            "budget_fen": budget,
        });
        match request(body) {
            Ok(body) => answer(
                projects::propose(&state, &caller, &request_id(), &body)
                    .await
                    .map(|(v, _)| v),
            ),
            Err(_) => {
                let errors = HashMap::from([("fund".to_owned(), page.t("project.error.fund"))]);
                return projects_page(&state, &visit, None, typed, errors).await;
            }
        }
    };
    if answered.status.is_success() {
        let id = text(&answered.body["id"]);
        return if opening_fund {
            see_other("/projects?done=fund")
        } else {
            see_other(&format!("/projects/{id}?done=propose"))
        };
    }
    let errors = refusal(&page, &answered);
    projects_page(&state, &visit, None, typed, errors).await
}

// ---------- one project ----------

#[derive(Debug)]
pub struct Dated {
    pub text: String,
    pub at: Option<DateTime<Utc>>,
    /// `(label, href)` of each file.
    pub files: Vec<(String, String)>,
}

#[derive(Debug)]
pub struct Paid {
    pub amount: String,
    pub purpose: String,
    pub at: Option<DateTime<Utc>>,
    pub receipt: String,
}

#[derive(Template)]
#[template(path = "project.html")]
struct ProjectPage {
    page: Page,
    done: Option<String>,
    id: String,
    title: String,
    status: String,
    fund: String,
    fund_name: String,
    plan: String,
    budget: String,
    spent: String,
    supporters: u64,
    rating: Option<String>,
    ratings: u64,
    proposer_role: String,
    opinion: String,
    comments_until: Option<DateTime<Utc>>,
    taking_comments: bool,
    comments: Vec<Dated>,
    reports: Vec<Dated>,
    evaluations: Vec<(String, Dated)>,
    spending: Vec<Paid>,
    role: String,
    mine: bool,
    supported: bool,
    my_rating: u64,
    errors: HashMap<String, String>,
}

impl ProjectPage {
    fn error(&self, field: &str) -> Option<&String> {
        self.errors.get(field)
    }

    fn branch(&self) -> bool {
        self.role == "party_branch"
    }

    fn resident(&self) -> bool {
        self.role == "resident"
    }
}

fn short(sha256: &str) -> String {
    sha256.chars().take(12).collect()
}

async fn project_page(
    state: &AppState,
    visit: &Visit,
    id: &str,
    done: Option<String>,
    errors: HashMap<String, String>,
) -> Response {
    let Some(caller) = visit.caller() else {
        return see_other("/login");
    };
    let Ok(project) = parse_project_id(id) else {
        return message(visit, StatusCode::NOT_FOUND, "error.not_found");
    };
    let shown = answer(projects::get(state, &caller, project).await.map(|(v, _)| v));
    if !shown.status.is_success() {
        return message(visit, StatusCode::NOT_FOUND, "error.not_found");
    }
    let p = &shown.body;
    let comments_until = instant(&p["comments_until"]);
    let status = text(&p["status"]);
    let dated = |v: &Value| Dated {
        text: text(&v["text"]),
        at: instant(&v["at"]),
        files: v["receipts"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|f| {
                let sha = text(&f["sha256"]);
                (short(&sha), format!("/projects/{id}/files/{sha}"))
            })
            .collect(),
    };
    let list =
        |key: &str| -> Vec<Dated> { p[key].as_array().into_iter().flatten().map(dated).collect() };
    let fund = text(&p["fund"]);
    let html = ProjectPage {
        done,
        id: text(&p["id"]),
        title: text(&p["title"]),
        taking_comments: status == "publicly_noticed"
            && comments_until.is_some_and(|u| state.now() < u),
        status,
        fund_name: text(&p["fund_name"]),
        plan: text(&p["plan"]),
        budget: money(&p["budget_fen"]),
        spent: money(&p["spent_fen"]),
        supporters: p["supporters"].as_u64().unwrap_or(0),
        rating: p["rating"].as_f64().map(|r| format!("{r:.1}")),
        ratings: p["ratings"].as_u64().unwrap_or(0),
        proposer_role: text(&p["proposer_role"]),
        opinion: text(&p["opinion"]),
        comments_until,
        comments: list("comments"),
        reports: list("reports"),
        evaluations: p["evaluations"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| (text(&e["by"]), dated(e)))
            .collect(),
        spending: p["spending"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| Paid {
                amount: money(&e["amount_fen"]),
                purpose: text(&e["purpose"]),
                at: instant(&e["at"]),
                receipt: format!("/funds/{fund}/files/{}", text(&e["receipt"]["sha256"])),
            })
            .collect(),
        fund,
        role: crate::app::dto::wire(&caller.0.role),
        mine: p["proposed_by_me"].as_bool().unwrap_or(false),
        supported: p["supported_by_me"].as_bool().unwrap_or(false),
        my_rating: p["my_rating"].as_u64().unwrap_or(0),
        errors,
        page: visit.page(),
    }
    .render();
    render(visit, StatusCode::OK, html)
}

const PROJECT_STEPS: [&str; 12] = [
    "propose",
    "support",
    "shortlist",
    "review",
    "publish",
    "comment",
    "start",
    "report",
    "evaluate",
    "rate",
    "third_party",
    "close",
];

pub(super) async fn show(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(notice): Query<Notice>,
    headers: HeaderMap,
) -> Response {
    let visit = Visit::of(&state, &headers).await;
    let done = notice.key("project", &PROJECT_STEPS);
    project_page(&state, &visit, &id, done, HashMap::new()).await
}

/// Stores the files of a form for `caller`; their descriptions for a request.
async fn stored_files(
    state: &AppState,
    caller: &Caller,
    form: Form,
) -> Result<Vec<Value>, crate::app::error::ApiError> {
    let stored = crate::app::attachments::store(state, caller, form.files).await?;
    Ok(stored
        .iter()
        .map(|a| {
            json!({
                "sha256": a.sha256.as_str(),
                "media_type": a.media_type.as_str(),
                "size": a.size,
            })
        })
        .collect())
}

/// One step of a project, from its page.
pub(super) async fn act(
    State(state): State<AppState>,
    Path((id, action)): Path<(String, String)>,
    headers: HeaderMap,
    request_body: Request,
) -> Response {
    let visit = Visit::of(&state, &headers).await;
    let (caller, form) = match form_of(&visit, request_body).await {
        Ok(sent) => sent,
        Err(refusal) => return *refusal,
    };
    let Ok(project) = parse_project_id(&id) else {
        return message(&visit, StatusCode::NOT_FOUND, "error.not_found");
    };
    let page = visit.page();
    let typed = |name: &str| field(&form, name);
    let step = match action.as_str() {
        "support" => Step::Support,
        "shortlist" => Step::Shortlist,
        "review" => Step::Review {
            approved: typed("approved") == "yes",
            opinion: typed("opinion"),
        },
        "publish" => match china_time(&typed("comments_until")) {
            Some(until) => Step::Publish(until),
            None => {
                let errors = HashMap::from([(
                    "comments_until".to_owned(),
                    page.t("project.error.comments_until"),
                )]);
                return project_page(&state, &visit, &id, None, errors).await;
            }
        },
        "comment" => Step::Comment(typed("text")),
        "start" => Step::Start,
        "report" => {
            let text = typed("text");
            if form.files.is_empty() {
                let errors =
                    HashMap::from([("receipts".to_owned(), page.t("project.error.receipts"))]);
                return project_page(&state, &visit, &id, None, errors).await;
            }
            let receipts = match stored_files(&state, &caller, form).await {
                Ok(r) => r,
                Err(e) => {
                    let errors = refusal(&page, &answer::<Value>(Err(e)));
                    return project_page(&state, &visit, &id, None, errors).await;
                }
            };
            match request(json!({"text": text, "receipts": receipts})) {
                Ok(body) => Step::Report(body),
                Err(_) => return message(&visit, StatusCode::BAD_REQUEST, "error.title"),
            }
        }
        "evaluate" => Step::Evaluate(typed("text")),
        "rate" => Step::Rate(typed("stars").parse().unwrap_or(0)),
        "third_party" => Step::EvaluateAsThirdParty(typed("text")),
        "close" => Step::Close,
        _ => return message(&visit, StatusCode::NOT_FOUND, "error.not_found"),
    };
    let done = projects::step(&state, &caller, &request_id(), project, None, step).await;
    let answered = answer(done.map(|(v, _)| v));
    if answered.status.is_success() {
        return see_other(&format!("/projects/{id}?done={action}"));
    }
    if answered.status == StatusCode::NOT_FOUND {
        return message(&visit, StatusCode::NOT_FOUND, "error.not_found");
    }
    let errors = refusal(&page, &answered);
    project_page(&state, &visit, &id, None, errors).await
}

// ---------- one fund ----------

#[derive(Debug)]
pub struct Entry {
    pub received: bool,
    pub source: String,
    pub name: String,
    pub purpose: String,
    pub project: String,
    pub amount: String,
    pub balance: String,
    pub at: Option<DateTime<Utc>>,
    pub receipt: String,
}

#[derive(Template)]
#[template(path = "fund.html")]
struct FundPage {
    page: Page,
    done: Option<String>,
    id: String,
    name: String,
    kind: String,
    donor: String,
    received: String,
    spent: String,
    balance: String,
    entries: Vec<Entry>,
    /// The fund's keeper: records money in and out.
    keeps: bool,
    /// The fund's projects under way, which it may pay for.
    payable: Vec<(String, String)>,
    errors: HashMap<String, String>,
}

impl FundPage {
    fn error(&self, field: &str) -> Option<&String> {
        self.errors.get(field)
    }
}

async fn fund_page(
    state: &AppState,
    visit: &Visit,
    id: &str,
    done: Option<String>,
    errors: HashMap<String, String>,
) -> Response {
    let Some(caller) = visit.caller() else {
        return see_other("/login");
    };
    let Ok(fund) = parse_fund_id(id) else {
        return message(visit, StatusCode::NOT_FOUND, "error.not_found");
    };
    let shown = answer(funds::get(state, &caller, fund).await.map(|(v, _)| v));
    if !shown.status.is_success() {
        return message(visit, StatusCode::NOT_FOUND, "error.not_found");
    }
    let f = &shown.body;
    let keeps = match text(&f["place_kind"]).as_str() {
        "xiaoqu" => caller.0.role == Role::PartyBranch,
        _ => caller.0.role == Role::Community,
    };
    let payable = if keeps && own_xiaoqu(&caller).is_some() {
        let listed = answer(projects::list(state, &caller, &ProjectQuery::default()).await);
        listed.body["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["fund"] == f["id"] && p["status"] == "under_way")
            .map(|p| (text(&p["id"]), text(&p["title"])))
            .collect()
    } else {
        Vec::new()
    };
    let html = FundPage {
        done,
        id: text(&f["id"]),
        name: text(&f["name"]),
        kind: text(&f["kind"]),
        donor: text(&f["donor"]),
        received: money(&f["received_fen"]),
        spent: money(&f["spent_fen"]),
        balance: money(&f["balance_fen"]),
        entries: f["entries"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| Entry {
                received: e["entry"] == "received",
                source: text(&e["source"]),
                name: text(&e["name"]),
                purpose: text(&e["purpose"]),
                project: text(&e["project"]),
                amount: money(&e["amount_fen"]),
                balance: money(&e["balance_fen"]),
                at: instant(&e["at"]),
                receipt: if e["receipt"].is_null() {
                    String::new()
                } else {
                    format!("/funds/{id}/files/{}", text(&e["receipt"]["sha256"]))
                },
            })
            .collect(),
        keeps,
        payable,
        errors,
        page: visit.page(),
    }
    .render();
    render(visit, StatusCode::OK, html)
}

pub(super) async fn fund(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(notice): Query<Notice>,
    headers: HeaderMap,
) -> Response {
    let visit = Visit::of(&state, &headers).await;
    let done = notice.key("fund", &["income", "spending"]);
    fund_page(&state, &visit, &id, done, HashMap::new()).await
}

/// Money in or out, from the fund's page.
pub(super) async fn fund_act(
    State(state): State<AppState>,
    Path((id, action)): Path<(String, String)>,
    headers: HeaderMap,
    request_body: Request,
) -> Response {
    let visit = Visit::of(&state, &headers).await;
    let (caller, form) = match form_of(&visit, request_body).await {
        Ok(sent) => sent,
        Err(refusal) => return *refusal,
    };
    let Ok(fund) = parse_fund_id(&id) else {
        return message(&visit, StatusCode::NOT_FOUND, "error.not_found");
    };
    let page = visit.page();
    let Some(amount) = fen(&field(&form, "amount")).filter(|a| *a > 0) else {
        let errors = HashMap::from([("amount_fen".to_owned(), page.t("project.error.amount_fen"))]);
        return fund_page(&state, &visit, &id, None, errors).await;
    };
    let rid = request_id();
    let done = match action.as_str() {
        "income" => {
            let source = field(&form, "source");
            let mut body = json!({"amount_fen": amount, "source": source});
            let name = field(&form, "name");
            if source != "anonymous" {
                body["name"] = json!(name);
            }
            match request(body) {
                Ok(body) => funds::receive(&state, &caller, &rid, fund, None, &body).await,
                Err(e) => Err(e),
            }
        }
        "spending" => {
            let project = field(&form, "project");
            let purpose = field(&form, "purpose");
            if form.files.is_empty() {
                let errors =
                    HashMap::from([("receipt".to_owned(), page.t("project.error.receipts"))]);
                return fund_page(&state, &visit, &id, None, errors).await;
            }
            match stored_files(&state, &caller, form).await {
                Ok(receipts) => match request(json!({
                    "amount_fen": amount,
                    "project": project,
                    "purpose": purpose,
                    "receipt": receipts[0],
                })) {
                    Ok(body) => funds::spend(&state, &caller, &rid, fund, None, &body).await,
                    Err(_) => {
                        let errors = HashMap::from([(
                            "project".to_owned(),
                            page.t("project.error.project"),
                        )]);
                        return fund_page(&state, &visit, &id, None, errors).await;
                    }
                },
                Err(e) => Err(e),
            }
        }
        _ => return message(&visit, StatusCode::NOT_FOUND, "error.not_found"),
    };
    let answered = answer(done.map(|(v, _)| v));
    if answered.status.is_success() {
        return see_other(&format!("/funds/{id}?done={action}"));
    }
    if answered.status == StatusCode::NOT_FOUND {
        return message(&visit, StatusCode::NOT_FOUND, "error.not_found");
    }
    let errors = refusal(&page, &answered);
    fund_page(&state, &visit, &id, None, errors).await
}

/// A receipt of a project's report.
pub(super) async fn project_file(
    State(state): State<AppState>,
    Path((id, sha256)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    receipt(state, headers, true, id, sha256).await
}

/// A receipt of a fund's spending.
pub(super) async fn fund_file(
    State(state): State<AppState>,
    Path((id, sha256)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    receipt(state, headers, false, id, sha256).await
}

async fn receipt(
    state: AppState,
    headers: HeaderMap,
    of_project: bool,
    id: String,
    sha256: String,
) -> Response {
    let visit = Visit::of(&state, &headers).await;
    let Some(caller) = visit.caller() else {
        return see_other("/login");
    };
    let found = if of_project {
        match parse_project_id(&id) {
            Ok(p) => projects::file(&state, &caller, p, &sha256).await,
            Err(e) => Err(e),
        }
    } else {
        match parse_fund_id(&id) {
            Ok(f) => funds::file(&state, &caller, f, &sha256).await,
            Err(e) => Err(e),
        }
    };
    match found {
        Ok(file) => send(file),
        Err(e) if e.status_code().is_client_error() => {
            message(&visit, StatusCode::NOT_FOUND, "error.not_found")
        }
        Err(e) => e.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::fen;

    #[test]
    fn yuan_as_typed_become_whole_fen() {
        assert_eq!(fen("1200"), Some(120_000));
        assert_eq!(fen("1,200.5"), Some(120_050));
        assert_eq!(fen("¥0.07"), Some(7));
        assert_eq!(fen(" 12.34 "), Some(1_234));
        for bad in ["", "1.234", "-5", "12a", ".5", "1.2.3"] {
            assert_eq!(fen(bad), None, "{bad}");
        }
    }
}
