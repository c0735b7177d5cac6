//! Joint-meeting pages: the party branch convenes a meeting from the
//! proposed agenda, records who is present (quorum shown), each item's
//! decision with every present party's position and its action items, and
//! closes the meeting, publishing the minutes; owners mark their action
//! items done; residents read the public minutes.
//!
//! Every read and command goes through the meeting service
//! (`app::meetings`) with the request types the JSON API takes, so the
//! pages apply exactly the API's validation, rules and authorization;
//! refusals come back as fields to mark, in the page's language.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, RawForm, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use lianxi_domain::values::MeetingId;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};

use super::{message, render, see_other, Page, Visit};
use crate::app::auth::Caller;
use crate::app::error::ApiError;
use crate::app::meetings::{self, MeetingQuery};
use crate::app::AppState;
use lianxi_domain::Role;

/// The five parties of a joint meeting, in the order pages list them.
const MEETING_PARTIES: [&str; 5] = [
    "party_branch",
    "owners_committee",
    "supervisory_committee",
    "property_company",
    "micro_organization",
];

/// One answer of the JSON API.
pub(super) struct Answer {
    pub status: StatusCode,
    pub body: Value,
}

impl Answer {
    /// The refused fields, each with the page's message for it.
    pub fn errors(&self, page: &Page) -> HashMap<String, String> {
        let slug = self.body["type"].as_str().unwrap_or_default();
        if slug.ends_with(":quorum-not-met") {
            let quorum = page.t("meeting.error.quorum");
            return HashMap::from([("present_parties".to_owned(), quorum)]);
        }
        self.errors_in(page, "meeting")
    }

    /// The refused fields, each with its message `<group>.error.<field>`
    /// (`<group>.error.other` for what has none).
    pub fn errors_in(&self, page: &Page, group: &str) -> HashMap<String, String> {
        let mut out = HashMap::new();
        for e in self.body["errors"].as_array().into_iter().flatten() {
            let field = e["field"].as_str().unwrap_or_default();
            // `action_items[0].description` → `action_items`.
            let field = field.split(['[', '.']).next().unwrap_or(field).to_owned();
            let key = format!("{group}.error.{field}");
            let text = page.t(&key);
            let text = if text == key {
                page.t(&format!("{group}.error.other"))
            } else {
                text
            };
            out.entry(field).or_insert(text);
        }
        if out.is_empty() {
            out.insert("form".to_owned(), page.t(&format!("{group}.error.other")));
        }
        out
    }
}

/// A service's answer as the pages read it: the body the JSON API would
/// give for it, a problem document when refused.
pub(super) fn answer<T: Serialize>(result: Result<T, ApiError>) -> Answer {
    match result {
        Ok(value) => Answer {
            status: StatusCode::OK,
            body: serde_json::to_value(value).unwrap_or(Value::Null),
        },
        Err(e) => Answer {
            status: e.status_code(),
            body: serde_json::to_value(e.to_problem()).unwrap_or(Value::Null),
        },
    }
}

/// A request body as the JSON API would read it, from what a form gave.
pub(super) fn request<T: DeserializeOwned>(body: Value) -> Result<T, ApiError> {
    serde_json::from_value(body).map_err(|e| ApiError::malformed_body(None, e.to_string()))
}

/// A new request id for a command sent from a page.
pub(super) fn request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A submitted form's fields in order; a checkbox group repeats its name.
pub(super) fn pairs(raw: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(raw).into_owned().collect()
}

/// The first value of `name` in a submitted form.
pub(super) fn first(pairs: &[(String, String)], name: &str) -> String {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

/// Every value of `name` in a submitted form.
fn all(pairs: &[(String, String)], name: &str) -> Vec<String> {
    pairs
        .iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .collect()
}

pub(super) fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

pub(super) fn instant(v: &Value) -> Option<DateTime<Utc>> {
    v.as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.to_utc())
}

/// A `datetime-local` value, read as China time (UTC+8).
pub(super) fn china_time(local: &str) -> Option<DateTime<Utc>> {
    let naive = NaiveDateTime::parse_from_str(local.trim(), "%Y-%m-%dT%H:%M").ok()?;
    chrono::FixedOffset::east_opt(8 * 3600)?
        .from_local_datetime(&naive)
        .single()
        .map(|t| t.to_utc())
}

/// A `date` value: the end of that day, China time.
fn china_day_end(day: &str) -> Option<DateTime<Utc>> {
    let date = NaiveDate::parse_from_str(day.trim(), "%Y-%m-%d").ok()?;
    china_time(&format!("{}T23:59", date.format("%Y-%m-%d")))
}

// ---------- the list and the convening form ----------

/// A grievance the proposed agenda offers.
#[derive(Debug)]
pub struct Offered {
    pub id: String,
    pub title: String,
    pub due_at: Option<DateTime<Utc>>,
}

/// An obligation of a mediation agreement still owed, for the meeting to
/// follow up.
#[derive(Debug)]
pub struct Owed {
    pub case: String,
    pub matter: String,
    pub description: String,
    pub due_at: Option<DateTime<Utc>>,
    pub overdue: bool,
}

/// A meeting in the list.
#[derive(Debug)]
pub struct Listed {
    pub id: String,
    pub kind: String,
    pub status: String,
    pub scheduled_for: Option<DateTime<Utc>>,
    pub place: String,
    pub open_action_items: u64,
}

/// What the convening form holds, as typed.
#[derive(Clone, Debug, Default)]
pub struct ConveneForm {
    csrf: String,
    /// The xiaoqu whose parties meet: a tier names it (from its queue); the
    /// branch's is its own.
    pub xiaoqu: String,
    pub kind: String,
    pub scheduled_for: String,
    pub place: String,
    /// `grievance:<id>` per chosen item.
    pub item: Vec<String>,
}

#[derive(Template)]
#[template(path = "meetings.html")]
struct MeetingsPage {
    page: Page,
    convenes: bool,
    meetings: Vec<Listed>,
    urgent: Vec<Offered>,
    regular: Vec<Offered>,
    owed: Vec<Owed>,
    form: ConveneForm,
    errors: HashMap<String, String>,
}

impl MeetingsPage {
    fn error(&self, field: &str) -> Option<&String> {
        self.errors.get(field)
    }

    fn chosen(&self, id: &str) -> bool {
        self.form
            .item
            .iter()
            .any(|i| i == &format!("grievance:{id}"))
    }
}

fn offered(list: &Value) -> Vec<Offered> {
    list.as_array()
        .into_iter()
        .flatten()
        // One already on a convened meeting's agenda is not offered again.
        .filter(|g| g["meeting"].is_null())
        .map(|g| Offered {
            id: text(&g["grievance"]),
            title: text(&g["title"]),
            due_at: instant(&g["due_at"]),
        })
        .collect()
}

async fn meetings_page(
    state: &AppState,
    visit: &Visit,
    form: ConveneForm,
    errors: HashMap<String, String>,
) -> Response {
    let (Some((_, account)), Some(caller)) = (&visit.session, visit.caller()) else {
        return see_other("/login");
    };
    let target = target_xiaoqu(account, &form.xiaoqu);
    let query = MeetingQuery {
        xiaoqu: target.map(|x| x.to_string()),
        ..MeetingQuery::default()
    };
    let listed = answer(meetings::list(state, &caller, &query).await);
    if !listed.status.is_success() {
        return message(visit, StatusCode::NOT_FOUND, "error.not_found");
    }
    let meetings = listed.body["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| Listed {
            id: text(&m["id"]),
            kind: text(&m["kind"]),
            status: text(&m["status"]),
            scheduled_for: instant(&m["scheduled_for"]),
            place: text(&m["place"]),
            open_action_items: m["open_action_items"].as_u64().unwrap_or(0),
        })
        .collect();
    // The branch convenes its xiaoqu's meetings; a tier one for a xiaoqu of
    // its unit (the domain decides; the page only offers).
    let convenes = target.is_some()
        && matches!(
            account.role,
            Role::PartyBranch | Role::Community | Role::Street | Role::District
        );
    let (mut urgent, mut regular, mut owed) = (Vec::new(), Vec::new(), Vec::new());
    if let (true, Some(x)) = (convenes, target) {
        let agenda = answer(meetings::agenda(state, &caller, x, &Default::default()).await);
        urgent = offered(&agenda.body["urgent"]);
        regular = offered(&agenda.body["regular"]);
        owed = agenda.body["open_obligations"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|o| Owed {
                case: text(&o["case"]),
                matter: text(&o["matter"]),
                description: text(&o["obligation"]["description"]),
                due_at: instant(&o["obligation"]["due_at"]),
                overdue: o["overdue"].as_bool().unwrap_or(false),
            })
            .collect();
    }
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let html = MeetingsPage {
        page: visit.page(),
        convenes,
        meetings,
        urgent,
        regular,
        owed,
        form,
        errors,
    }
    .render();
    render(visit, status, html)
}

/// The xiaoqu a meetings page is about: the branch's own, else the one a
/// tier named (from its queue's link or the form).
fn target_xiaoqu(
    account: &crate::app::auth::AccountRecord,
    named: &str,
) -> Option<lianxi_domain::values::XiaoquId> {
    match (&account.scope, uuid::Uuid::parse_str(named.trim())) {
        (crate::app::auth::Scope::Xiaoqu(x), _) => Some(*x),
        (_, Ok(x)) => Some(lianxi_domain::values::XiaoquId(x)),
        _ => None,
    }
}

pub(super) async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> Response {
    let visit = Visit::of(&state, &headers).await;
    let asked = pairs(query.as_deref().unwrap_or_default().as_bytes());
    let xiaoqu = first(&asked, "xiaoqu");
    let form = ConveneForm {
        kind: if first(&asked, "kind") == "urgent" {
            "urgent".to_owned()
        } else {
            "regular".to_owned()
        },
        xiaoqu,
        item: all(&asked, "item"),
        ..ConveneForm::default()
    };
    meetings_page(&state, &visit, form, HashMap::new()).await
}

pub(super) async fn convene(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawForm(raw): RawForm,
) -> Response {
    let visit = Visit::of(&state, &headers).await;
    let fields = pairs(&raw);
    let form = ConveneForm {
        csrf: first(&fields, "csrf"),
        xiaoqu: first(&fields, "xiaoqu"),
        kind: first(&fields, "kind"),
        scheduled_for: first(&fields, "scheduled_for"),
        place: first(&fields, "place"),
        item: all(&fields, "item"),
    };
    if let Err(refusal) = visit.form_caller(&form.csrf) {
        return *refusal;
    }
    let page = visit.page();
    let mut errors = HashMap::new();
    let scheduled_for = china_time(&form.scheduled_for);
    if scheduled_for.is_none() {
        errors.insert(
            "scheduled_for".to_owned(),
            page.t("meeting.error.scheduled_for"),
        );
    }
    let kind = match form.kind.as_str() {
        "regular" | "urgent" => form.kind.clone(),
        _ => {
            errors.insert("kind".to_owned(), page.t("meeting.error.kind"));
            String::new()
        }
    };
    if !errors.is_empty() {
        return meetings_page(&state, &visit, form, errors).await;
    }
    // The chosen grievances, titled as the proposed agenda titles them.
    let (Some((_, account)), Some(caller)) = (&visit.session, visit.caller()) else {
        return see_other("/login");
    };
    let mut titles = HashMap::new();
    let target = target_xiaoqu(account, &form.xiaoqu);
    if let Some(x) = target {
        let agenda = answer(meetings::agenda(&state, &caller, x, &Default::default()).await);
        for g in offered(&agenda.body["urgent"])
            .into_iter()
            .chain(offered(&agenda.body["regular"]))
        {
            titles.insert(g.id, g.title);
        }
    }
    let agenda: Vec<Value> = form
        .item
        .iter()
        .filter_map(|i| i.strip_prefix("grievance:"))
        .filter_map(|id| {
            titles.get(id).map(|title| {
                json!({"subject": {"kind": "grievance", "id": id},
                       "title": title.chars().take(120).collect::<String>()})
            })
        })
        .collect();
    let body = json!({
        "xiaoqu": target.map(|x| x.0),
        "kind": kind,
        "scheduled_for": scheduled_for,
        "place": form.place,
        "agenda": agenda,
    });
    let convened = match request(body) {
        Ok(body) => meetings::convene(&state, &caller, &request_id(), &body)
            .await
            .map(|(view, _)| view),
        Err(e) => Err(e),
    };
    let convened = answer(convened);
    if convened.status.is_success() {
        return see_other(&format!(
            "/meetings/{}?done=convene",
            text(&convened.body["id"])
        ));
    }
    let errors = convened.errors(&page);
    meetings_page(&state, &visit, form, errors).await
}

// ---------- one meeting ----------

/// A party's position on a decided item.
#[derive(Debug)]
pub struct Position {
    pub party: String,
    pub stance: String,
}

/// An agenda item of the meeting page.
#[derive(Debug)]
pub struct Item {
    pub id: String,
    pub title: String,
    pub outcome: String,
    pub summary: String,
    pub decision: String,
    pub positions: Vec<Position>,
    /// The owners' vote the decision rests on (its id), if any.
    pub vote: String,
}

/// An action item of the meeting page.
#[derive(Debug)]
pub struct Action {
    pub id: String,
    pub owner: String,
    pub description: String,
    pub due_at: Option<DateTime<Utc>>,
    pub done: bool,
    pub overdue: bool,
    /// The reader may mark it done (its owner party, or the branch).
    pub completes: bool,
}

#[derive(Template)]
#[template(path = "meeting.html")]
struct MeetingPage {
    page: Page,
    id: String,
    kind: String,
    status: String,
    scheduled_for: Option<DateTime<Utc>>,
    place: String,
    invited: Vec<String>,
    present: Vec<String>,
    others_required: u64,
    quorum_met: bool,
    items: Vec<Item>,
    actions: Vec<Action>,
    public_summary: String,
    /// The reader chairs: the party branch of the meeting's xiaoqu.
    chairs: bool,
    /// The xiaoqu's closed owners' votes a decision may cite: id, question.
    votes: Vec<(String, String)>,
    /// The key of the notice confirming what the reader just did.
    done: Option<String>,
    /// Errors by field, and the item they belong to.
    errors: HashMap<String, String>,
    failed_item: String,
    /// What the failed form held, to show again.
    typed: HashMap<String, String>,
}

impl MeetingPage {
    fn error(&self, field: &str) -> Option<&String> {
        self.errors.get(field)
    }

    /// An error of the decision form of `item`.
    fn item_error(&self, item: &str, field: &str) -> Option<&String> {
        (self.failed_item == item)
            .then(|| self.errors.get(field))
            .flatten()
    }

    fn typed(&self, item: &str, field: &str) -> String {
        if self.failed_item == item {
            self.typed.get(field).cloned().unwrap_or_default()
        } else {
            String::new()
        }
    }
}

/// The agenda items of a meeting view (or of public minutes, which carry
/// no item ids).
fn items(list: &Value) -> Vec<Item> {
    list.as_array()
        .into_iter()
        .flatten()
        .map(|i| Item {
            id: text(&i["id"]),
            title: text(&i["title"]),
            outcome: text(&i["outcome"]),
            summary: text(&i["summary"]),
            decision: text(&i["decision"]),
            vote: text(&i["vote"]),
            positions: i["positions"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| Position {
                    party: text(&p["party"]),
                    stance: text(&p["stance"]),
                })
                .collect(),
        })
        .collect()
}

async fn meeting_page(
    state: &AppState,
    visit: &Visit,
    (id, done): (&str, Option<String>),
    errors: HashMap<String, String>,
    failed_item: String,
    typed: HashMap<String, String>,
) -> Response {
    let (Some((_, account)), Some(caller)) = (&visit.session, visit.caller()) else {
        return see_other("/login");
    };
    let Ok(id) = uuid::Uuid::parse_str(id) else {
        return message(visit, StatusCode::NOT_FOUND, "error.not_found");
    };
    let shown = answer(
        meetings::get(state, &caller, MeetingId(id))
            .await
            .map(|(view, _)| view),
    );
    if !shown.status.is_success() {
        // Residents read the public minutes of their xiaoqu's meetings.
        return minutes_page(state, visit, &id.to_string()).await;
    }
    let m = &shown.body;
    let strings =
        |v: &Value| -> Vec<String> { v.as_array().into_iter().flatten().map(text).collect() };
    let chairs = account.role == Role::PartyBranch;
    let own_party = account.role.party().map(|p| {
        serde_json::to_value(crate::app::dto::PartyDto::from(p))
            .map(|v| text(&v))
            .unwrap_or_default()
    });
    let items = items(&m["agenda"]);
    let votes = if chairs && m["status"] == "open" {
        let query = crate::app::votes::VoteQuery {
            xiaoqu: Some(text(&m["xiaoqu"])),
        };
        let listed = answer(crate::app::votes::list(state, &caller, &query).await);
        listed.body["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|v| v["status"] == "closed")
            .map(|v| (text(&v["id"]), text(&v["question"])))
            .collect()
    } else {
        Vec::new()
    };
    let actions = m["action_items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| {
            let owner = text(&a["owner"]);
            let done = !a["done_at"].is_null();
            Action {
                id: text(&a["id"]),
                completes: !done && (chairs || own_party.as_deref() == Some(owner.as_str())),
                owner,
                description: text(&a["description"]),
                due_at: instant(&a["due_at"]),
                done,
                overdue: a["overdue"].as_bool().unwrap_or(false),
            }
        })
        .collect();
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let html = MeetingPage {
        done,
        page: visit.page(),
        id: id.to_string(),
        kind: text(&m["kind"]),
        status: text(&m["status"]),
        scheduled_for: instant(&m["scheduled_for"]),
        place: text(&m["place"]),
        invited: strings(&m["invited_parties"]),
        present: strings(&m["present_parties"]),
        others_required: m["quorum_others_required"].as_u64().unwrap_or(3),
        quorum_met: m["quorum_met"].as_bool().unwrap_or(false),
        items,
        actions,
        public_summary: text(&m["public_summary"]),
        chairs,
        votes,
        errors,
        failed_item,
        typed,
    }
    .render();
    render(visit, status, html)
}

pub(super) async fn show(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(shown): Query<super::Notice>,
    headers: HeaderMap,
) -> Response {
    let visit = Visit::of(&state, &headers).await;
    meeting_page(
        &state,
        &visit,
        (
            &id,
            shown.key(
                "meeting",
                &["convene", "open", "decide", "complete", "close"],
            ),
        ),
        HashMap::new(),
        String::new(),
        HashMap::new(),
    )
    .await
}

/// Runs one command of the meeting page and shows the meeting again:
/// after a refusal, with the errors next to the fields and what was typed.
async fn command(
    state: &AppState,
    (visit, caller): (&Visit, &Caller),
    (id, name): (MeetingId, &str),
    built: Result<meetings::Built, ApiError>,
    item: &str,
    typed: HashMap<String, String>,
) -> Response {
    let done = match built {
        Ok((reason, action)) => {
            meetings::run(state, caller, &request_id(), id, None, reason, action)
                .await
                .map(|(view, _)| view)
        }
        Err(e) => Err(e),
    };
    let answer = answer(done);
    let id = id.to_string();
    if answer.status.is_success() {
        return see_other(&format!("/meetings/{id}?done={name}"));
    }
    if answer.status == StatusCode::NOT_FOUND {
        return message(visit, StatusCode::NOT_FOUND, "error.not_found");
    }
    let errors = answer.errors(&visit.page());
    meeting_page(state, visit, (&id, None), errors, item.to_owned(), typed).await
}

pub(super) async fn act(
    State(state): State<AppState>,
    Path((id, action)): Path<(String, String)>,
    headers: HeaderMap,
    RawForm(raw): RawForm,
) -> Response {
    let visit = Visit::of(&state, &headers).await;
    let submitted = pairs(&raw);
    let caller = match visit.form_caller(&first(&submitted, "csrf")) {
        Ok(caller) => caller,
        Err(refusal) => return *refusal,
    };
    let present = all(&submitted, "present");
    let typed: HashMap<String, String> = submitted.into_iter().collect();
    let Ok(meeting) = MeetingId::parse(&id) else {
        return message(&visit, StatusCode::NOT_FOUND, "error.not_found");
    };
    let who = (&visit, &caller);
    let field = |name: &str| typed.get(name).cloned().unwrap_or_default();
    match action.as_str() {
        "open" => {
            let built = request(json!({"present_parties": present})).map(|r| meetings::open(&r));
            command(&state, who, (meeting, "open"), built, "", HashMap::new()).await
        }
        "close" => {
            let summary = field("public_summary");
            let body = if summary.trim().is_empty() {
                json!({})
            } else {
                json!({"public_summary": summary})
            };
            let typed = HashMap::from([("public_summary".to_owned(), summary)]);
            let built = request(body).and_then(|r| meetings::close(&r));
            command(&state, who, (meeting, "close"), built, "", typed).await
        }
        "complete" => {
            let action_item = field("action_item");
            let built =
                request(json!({})).and_then(|r| meetings::complete_action_item(&action_item, &r));
            command(
                &state,
                who,
                (meeting, "complete"),
                built,
                "",
                HashMap::new(),
            )
            .await
        }
        "decide" => {
            let item = field("item");
            let positions: Vec<Value> = MEETING_PARTIES
                .iter()
                .filter_map(|p| {
                    let stance = field(&format!("stance_{p}"));
                    (!stance.is_empty()).then(|| json!({"party": p, "stance": stance}))
                })
                .collect();
            let mut action_items = Vec::new();
            let description = field("action_description");
            if !description.trim().is_empty() || !field("action_due").is_empty() {
                match china_day_end(&field("action_due")) {
                    Some(due_at) => action_items.push(json!({
                        "owner": field("action_owner"),
                        "description": description,
                        "due_at": due_at,
                    })),
                    None => {
                        let page = visit.page();
                        let errors = HashMap::from([(
                            "action_items".to_owned(),
                            page.t("meeting.error.action_items"),
                        )]);
                        return meeting_page(&state, &visit, (&id, None), errors, item, typed)
                            .await;
                    }
                }
            }
            let mut body = json!({
                "summary": field("summary"),
                "decision": field("decision"),
                "positions": positions,
                "action_items": action_items,
            });
            let vote = field("vote");
            if !vote.is_empty() {
                body["vote"] = json!(vote);
            }
            let built = match request(body) {
                Ok(r) => meetings::decide_item(&state, meeting, &item, &r).await,
                Err(e) => Err(e),
            };
            command(
                &state,
                who,
                (meeting, "decide"),
                built,
                &item,
                typed.clone(),
            )
            .await
        }
        _ => message(&visit, StatusCode::NOT_FOUND, "error.not_found"),
    }
}

// ---------- public minutes ----------

#[derive(Template)]
#[template(path = "minutes.html")]
struct MinutesPage {
    page: Page,
    kind: String,
    scheduled_for: Option<DateTime<Utc>>,
    place: String,
    present: Vec<String>,
    items: Vec<Item>,
    actions: Vec<Action>,
    public_summary: String,
}

async fn minutes_page(state: &AppState, visit: &Visit, id: &str) -> Response {
    let (Some(caller), Ok(id)) = (visit.caller(), MeetingId::parse(id)) else {
        return message(visit, StatusCode::NOT_FOUND, "error.not_found");
    };
    let minutes = answer(meetings::minutes(state, &caller, id).await);
    if !minutes.status.is_success() {
        return message(visit, StatusCode::NOT_FOUND, "error.not_found");
    }
    let m = &minutes.body;
    let html = MinutesPage {
        page: visit.page(),
        kind: text(&m["kind"]),
        scheduled_for: instant(&m["scheduled_for"]),
        place: text(&m["place"]),
        present: m["present_parties"]
            .as_array()
            .into_iter()
            .flatten()
            .map(text)
            .collect(),
        items: items(&m["items"]),
        actions: m["action_items"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|a| Action {
                id: String::new(),
                owner: text(&a["owner"]),
                description: text(&a["description"]),
                due_at: instant(&a["due_at"]),
                done: !a["done_at"].is_null(),
                overdue: false,
                completes: false,
            })
            .collect(),
        public_summary: text(&m["public_summary"]),
    }
    .render();
    render(visit, StatusCode::OK, html)
}

pub(super) async fn minutes(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let visit = Visit::of(&state, &headers).await;
    if visit.session.is_none() {
        return see_other("/login");
    }
    if uuid::Uuid::parse_str(&id).is_err() {
        return message(&visit, StatusCode::NOT_FOUND, "error.not_found");
    }
    minutes_page(&state, &visit, &id).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_times_are_china_time() {
        let t = china_time("2026-12-05T19:00").expect("a time");
        assert_eq!(t.to_rfc3339(), "2026-12-05T11:00:00+00:00");
        assert!(china_time("tomorrow").is_none());
        let d = china_day_end("2026-12-20").expect("a day");
        assert_eq!(d.to_rfc3339(), "2026-12-20T15:59:00+00:00");
        assert!(china_day_end("").is_none());
    }
}
