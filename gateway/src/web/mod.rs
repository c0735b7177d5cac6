//! Web pages served by the binary itself: server-rendered (askama), every
//! asset embedded, no script, Chinese by default and English by switch.
//!
//! - Sessions: signing in on `/login` sets an `HttpOnly`, `SameSite=Lax`
//!   cookie holding a session token (the same 12-hour tokens as
//!   `POST /api/v1/auth/login`); signing out revokes it.
//! - CSRF: every form carries the value of an `HttpOnly`, `SameSite=Strict`
//!   cookie (double submit); a POST without the match is refused with 403
//!   and changes nothing.
//! - Security headers on every page: a CSP without inline script, and
//!   `frame-ancestors 'none'`.
//!
//! First pages: the resident signs in, files a grievance (errors shown next
//! to the field, in the page's language, with what was typed kept), lists
//! their grievances and follows one with its timeline and deadline.

mod cases;
mod i18n;
mod meetings;

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Form, Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use chrono::{DateTime, FixedOffset, Offset, Utc};
use lianxi_domain::values::{
    AccountId, Comment, Description, GrievanceId, Label, Location, MatterClass, PartyRole, Rating,
    Reason, Statement, Tier, Title, ValueError,
};
use lianxi_domain::{GrievanceAction, Role, Status};
use lianxi_projections::grievance_list::{self, ListFilter};
use rand::Rng;
use serde::Deserialize;
use uuid::Uuid;

use crate::app::auth::{self, Caller, ClientAddress, LoginRefusal};
use crate::app::dto::{
    CategoryDto, ChannelDto, FileGrievanceRequest, LocationDto, RespondentDto, UrgencyDto,
};
use crate::app::AppState;
use crate::app::{grievances, policy};
use crate::db::{AccountRecord, TokenState};
use crate::http::request_id::RequestId;
pub use i18n::Lang;

const SESSION: &str = "lianxi_session";
const CSRF: &str = "lianxi_csrf";
const LANG: &str = "lianxi_lang";
const CSS: &str = include_str!("../../static/app.css");

/// The web pages' routes, merged into the application's router.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/file", get(file_page).post(file))
        .route("/g/{id}", get(grievance))
        .route("/g/{id}/{action}", post(act))
        .route("/meetings", get(meetings::list).post(meetings::convene))
        .route("/meetings/{id}", get(meetings::show))
        .route("/meetings/{id}/minutes", get(meetings::minutes))
        .route("/meetings/{id}/{action}", post(meetings::act))
        .route("/cases", post(cases::open))
        .route("/cases/new", get(cases::new_case))
        .route("/cases/{id}", get(cases::show))
        .route("/audit/{id}", get(audit))
        .route("/audit/{id}/dossier", get(audit_dossier))
        .route("/lang/{code}", get(switch_language))
        .route("/board/{xiaoqu}", get(board))
        .route("/static/app.css", get(stylesheet))
}

/// Cookies of a request, by name.
fn cookies(headers: &HeaderMap) -> HashMap<String, String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// What a page needs to know of the visit: language, CSRF token, and the
/// signed-in account with its session token.
#[derive(Debug)]
struct Visit {
    lang: Lang,
    csrf: String,
    /// The CSRF cookie must be set with the answer.
    new_csrf: bool,
    session: Option<(String, AccountRecord)>,
}

impl Visit {
    async fn of(state: &AppState, headers: &HeaderMap) -> Visit {
        let jar = cookies(headers);
        let lang = jar
            .get(LANG)
            .and_then(|l| Lang::parse(l))
            .unwrap_or(Lang::Zh);
        let (csrf, new_csrf) = match jar.get(CSRF).filter(|c| valid_token(c)) {
            Some(c) => (c.clone(), false),
            None => (random_token(), true),
        };
        let mut session = None;
        if let Some(token) = jar.get(SESSION) {
            let hash = auth::token_hash(token);
            if let Ok(TokenState::Live { account, .. }) = auth::token_state(state, &hash).await {
                session = Some((token.clone(), account));
            }
        }
        Visit {
            lang,
            csrf,
            new_csrf,
            session,
        }
    }

    fn page(&self) -> Page {
        Page {
            lang: self.lang,
            csrf: self.csrf.clone(),
            signed_in: self.session.is_some(),
            handles: self
                .session
                .as_ref()
                .is_some_and(|(_, account)| handler_tier(account.role).is_some()),
        }
    }

    fn caller(&self) -> Option<Caller> {
        self.session.as_ref().map(|(_, a)| Caller(a.clone()))
    }

    /// The signed-in caller submitting one of this site's forms, or the
    /// answer to give instead (sign in first; 403 for a foreign form).
    fn form_caller(&self, csrf: &str) -> Result<Caller, Box<Response>> {
        let Some(caller) = self.caller() else {
            return Err(Box::new(see_other("/login")));
        };
        if !self.form_is_ours(csrf) {
            return Err(Box::new(message(self, StatusCode::FORBIDDEN, "error.csrf")));
        }
        Ok(caller)
    }

    /// Whether a submitted form carries this visit's CSRF token.
    fn form_is_ours(&self, submitted: &str) -> bool {
        !self.new_csrf && constant_time_eq(submitted.as_bytes(), self.csrf.as_bytes())
    }
}

fn valid_token(text: &str) -> bool {
    text.len() == 32 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

fn random_token() -> String {
    let bytes: [u8; 16] = rand::rng().random();
    hex::encode(bytes)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The parts every page shares.
#[derive(Debug)]
pub struct Page {
    lang: Lang,
    csrf: String,
    signed_in: bool,
    /// The reader handles grievances: home is its queue.
    handles: bool,
}

impl Page {
    /// The string of `key` in the page's language.
    pub fn t(&self, key: &str) -> String {
        i18n::t(self.lang, key)
    }

    /// A wire name's label, e.g. `status` + `in_mediation`.
    pub fn label(&self, group: &str, value: &str) -> String {
        self.t(&format!("{group}.{value}"))
    }

    pub fn lang_tag(&self) -> &'static str {
        self.lang.tag()
    }

    pub fn other_lang(&self) -> &'static str {
        self.lang.other().code()
    }

    pub fn other_lang_tag(&self) -> &'static str {
        self.lang.other().tag()
    }

    pub fn csrf(&self) -> &str {
        &self.csrf
    }

    /// A time as people of the xiaoqu read it: China Standard Time.
    pub fn time(&self, at: &DateTime<Utc>) -> String {
        let china = FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| Utc.fix());
        at.with_timezone(&china)
            .format("%Y-%m-%d %H:%M")
            .to_string()
    }
}

/// Renders a page with the security headers and, when new, the CSRF cookie.
fn render(visit: &Visit, status: StatusCode, page: Result<String, askama::Error>) -> Response {
    let body = match page {
        Ok(body) => body,
        Err(e) => {
            tracing::error!(error = %e, "a page failed to render");
            return (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response();
        }
    };
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    secure(headers);
    if visit.new_csrf {
        set_cookie(
            headers,
            &format!("{CSRF}={}; Path=/; HttpOnly; SameSite=Strict", visit.csrf),
        );
    }
    response
}

fn secure(headers: &mut HeaderMap) {
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
        ),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
}

fn set_cookie(headers: &mut HeaderMap, cookie: &str) {
    if let Ok(value) = HeaderValue::from_str(cookie) {
        headers.append(header::SET_COOKIE, value);
    }
}

fn see_other(to: &str) -> Response {
    let mut response = Redirect::to(to).into_response();
    *response.status_mut() = StatusCode::SEE_OTHER;
    response
}

#[derive(Template)]
#[template(path = "message.html")]
struct MessagePage {
    page: Page,
    title: String,
    message: String,
}

fn message(visit: &Visit, status: StatusCode, key: &str) -> Response {
    let page = visit.page();
    let title = page.t("error.title");
    let message = page.t(key);
    let html = MessagePage {
        page,
        title,
        message,
    }
    .render();
    render(visit, status, html)
}

async fn stylesheet() -> Response {
    let mut response = CSS.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    secure(headers);
    response
}

/// Sets the language and goes back where the visitor came from.
async fn switch_language(Path(code): Path<String>, headers: HeaderMap) -> Response {
    let lang = Lang::parse(&code).unwrap_or(Lang::Zh);
    // Only a path of this site, never another origin.
    let back = headers
        .get(header::REFERER)
        .and_then(|r| r.to_str().ok())
        .and_then(|r| r.split_once("://").map(|(_, rest)| rest))
        .and_then(|rest| rest.find('/').map(|i| rest[i..].to_owned()))
        .filter(|p| p.starts_with('/') && !p.starts_with("//"))
        .unwrap_or_else(|| "/".to_owned());
    let mut response = see_other(&back);
    set_cookie(
        response.headers_mut(),
        &format!(
            "{LANG}={}; Path=/; SameSite=Lax; Max-Age=31536000",
            lang.code()
        ),
    );
    response
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    page: Page,
    login: String,
    error: Option<String>,
}

async fn login_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let visit = Visit::of(&state, &headers).await;
    if visit.session.is_some() {
        return see_other("/");
    }
    let html = LoginPage {
        page: visit.page(),
        login: String::new(),
        error: None,
    }
    .render();
    render(&visit, StatusCode::OK, html)
}

#[derive(Debug, Deserialize)]
struct LoginForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    login: String,
    #[serde(default)]
    password: String,
}

async fn login(
    State(state): State<AppState>,
    ClientAddress(client): ClientAddress,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let visit = Visit::of(&state, &headers).await;
    if !visit.form_is_ours(&form.csrf) {
        return message(&visit, StatusCode::FORBIDDEN, "error.csrf");
    }
    let name = form.login.trim().to_owned();
    let refused = |status: StatusCode, key: &str| {
        let page = visit.page();
        let error = Some(page.t(key));
        let html = LoginPage {
            page,
            login: name.clone(),
            error,
        }
        .render();
        render(&visit, status, html)
    };
    if name.is_empty() || form.password.is_empty() {
        return refused(StatusCode::UNPROCESSABLE_ENTITY, "login.invalid");
    }
    let login_hash = state.people.vault().login_hash(&name);
    match auth::login(&state.db, &login_hash, &form.password, client, None).await {
        Ok(session) => {
            let mut response = see_other("/");
            set_cookie(
                response.headers_mut(),
                &format!(
                    "{SESSION}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}",
                    session.token,
                    auth::SESSION_TTL.num_seconds()
                ),
            );
            response
        }
        Err(LoginRefusal::Throttled { .. }) => {
            refused(StatusCode::TOO_MANY_REQUESTS, "login.throttled")
        }
        Err(LoginRefusal::InvalidCredentials | LoginRefusal::RoleNotHeld(_)) => {
            refused(StatusCode::UNAUTHORIZED, "login.invalid")
        }
        Err(LoginRefusal::Db(e)) => {
            tracing::error!(error = %e, "sign-in failed");
            message(&visit, StatusCode::SERVICE_UNAVAILABLE, "error.title")
        }
    }
}

#[derive(Debug, Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    let visit = Visit::of(&state, &headers).await;
    if !visit.form_is_ours(&form.csrf) {
        return message(&visit, StatusCode::FORBIDDEN, "error.csrf");
    }
    if let Some((token, _)) = &visit.session {
        if let Err(e) = state
            .db
            .revoke_token(&auth::token_hash(token), Utc::now())
            .await
        {
            tracing::error!(error = %e, "sign-out failed");
        }
    }
    let mut response = see_other("/login");
    set_cookie(
        response.headers_mut(),
        &format!("{SESSION}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"),
    );
    response
}

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
    items: Vec<Item>,
    /// The reader is a respondent party: its to-do list is shown.
    responds: bool,
    todo: Vec<Todo>,
}

/// What `party` (a wire name) must do in its xiaoqu: open action items of
/// joint meetings, and open or missed obligations of mediation agreements.
async fn todo_of(state: &AppState, visit: &Visit, xiaoqu: Uuid, party: &str) -> Vec<Todo> {
    use meetings::{answer, instant, text};
    let now = Utc::now();
    let mut todo = Vec::new();
    let Some(caller) = visit.caller() else {
        return todo;
    };
    let agenda = answer(
        crate::app::meetings::agenda(
            state,
            &caller,
            lianxi_domain::values::XiaoquId(xiaoqu),
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

fn wire<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

async fn home(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let visit = Visit::of(&state, &headers).await;
    let Some(caller) = visit.caller() else {
        return see_other("/login");
    };
    if let Some(tier) = handler_tier(caller.0.role) {
        return dashboard(&state, &visit, &caller, tier).await;
    }
    let audience = policy::audience(&caller.0);
    let page = grievance_list::list(
        &state.db.store(),
        &audience,
        &ListFilter::default(),
        None,
        50,
    )
    .await;
    let items = match page {
        Ok(page) => page
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
            tracing::error!(error = %e, "the grievance list failed");
            return message(&visit, StatusCode::SERVICE_UNAVAILABLE, "error.title");
        }
    };
    let party = caller
        .0
        .role
        .party()
        .and_then(|p| serde_json::to_value(crate::app::dto::PartyDto::from(p)).ok())
        .and_then(|v| v.as_str().map(str::to_owned));
    let (responds, todo) = match (party, &caller.0.scope) {
        (Some(party), crate::db::Scope::Xiaoqu(x)) => {
            (true, todo_of(&state, &visit, x.0, &party).await)
        }
        _ => (false, Vec::new()),
    };
    let html = HomePage {
        page: visit.page(),
        items,
        responds,
        todo,
    }
    .render();
    render(&visit, StatusCode::OK, html)
}

/// What the filing form holds, as typed.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct FileForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    pub category: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub building: String,
    #[serde(default)]
    pub unit: String,
    #[serde(default)]
    pub common_area: String,
    #[serde(default)]
    pub respondent: String,
    #[serde(default)]
    pub urgency: String,
    /// `1` once the filer has seen the likely duplicates and files anyway.
    #[serde(default)]
    pub confirmed: String,
}

/// An open grievance of the filer's xiaoqu that looks like the one being
/// filed: shown before it is submitted, without anyone's personal data.
#[derive(Debug)]
pub struct Similar {
    pub title: String,
    pub status: String,
    pub filed_at: DateTime<Utc>,
}

#[derive(Template)]
#[template(path = "file.html")]
struct FilePage {
    page: Page,
    form: FileForm,
    errors: HashMap<String, String>,
    categories: Vec<&'static str>,
    respondents: Vec<&'static str>,
    similar: Vec<Similar>,
}

impl FilePage {
    fn error(&self, field: &str) -> Option<&String> {
        self.errors.get(field)
    }
}

const CATEGORIES: [&str; 13] = [
    "property_service",
    "fees",
    "repairs",
    "maintenance_fund",
    "public_revenue",
    "parking",
    "sanitation",
    "safety",
    "noise",
    "renovation",
    "neighbour",
    "owners_committee",
    "other",
];
const PARTIES: [&str; 5] = [
    "property_company",
    "owners_committee",
    "supervisory_committee",
    "micro_organization",
    "party_branch",
];
const RESPONDENTS: [&str; 4] = [
    "property_company",
    "owners_committee",
    "neighbour",
    "unknown",
];

fn file_form_page(
    visit: &Visit,
    status: StatusCode,
    form: FileForm,
    errors: HashMap<String, String>,
) -> Response {
    file_form_with(visit, status, form, errors, Vec::new())
}

fn file_form_with(
    visit: &Visit,
    status: StatusCode,
    form: FileForm,
    errors: HashMap<String, String>,
    similar: Vec<Similar>,
) -> Response {
    let html = FilePage {
        page: visit.page(),
        form,
        errors,
        categories: CATEGORIES.to_vec(),
        respondents: RESPONDENTS.to_vec(),
        similar,
    }
    .render();
    render(visit, status, html)
}

/// The title's overlapping character pairs: Chinese titles have no spaces,
/// so two titles about one matter share bigrams such as 电梯 or 停运.
fn bigrams(text: &str) -> std::collections::HashSet<(char, char)> {
    let chars: Vec<char> = text
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect();
    chars.windows(2).map(|w| (w[0], w[1])).collect()
}

/// How alike two grievances look (0 to 1): the Jaccard index of their
/// titles' bigrams, raised when they name the same building.
fn likeness(title: &str, building: &str, other_title: &str, other_building: &str) -> f64 {
    let (a, b) = (bigrams(title), bigrams(other_title));
    let union = a.union(&b).count();
    let shared = a.intersection(&b).count();
    let titles = if union == 0 {
        0.0
    } else {
        shared as f64 / union as f64
    };
    let same_building = !building.trim().is_empty() && building.trim() == other_building.trim();
    titles + if same_building { 0.15 } else { 0.0 }
}

/// Up to three open grievances of `xiaoqu` in the same category that look
/// like `form` (likeness at least 0.3), most alike first.
async fn likely_duplicates(state: &AppState, xiaoqu: Uuid, form: &FileForm) -> Vec<Similar> {
    let filter = ListFilter {
        xiaoqu: Some(xiaoqu),
        category: Some(form.category.clone()),
        ..ListFilter::default()
    };
    let audience = grievance_list::Audience::Xiaoqu(xiaoqu);
    let page = match grievance_list::list(&state.db.store(), &audience, &filter, None, 200).await {
        Ok(page) => page,
        Err(e) => {
            // Suggestions are a courtesy: filing goes on without them.
            tracing::warn!(error = %e, "likely duplicates could not be read");
            return Vec::new();
        }
    };
    let mut scored: Vec<(f64, AccountId, Similar)> = page
        .items
        .into_iter()
        .filter(|(g, _)| !g.status.is_final() && g.status != Status::Resolved)
        .map(|(g, _)| {
            let building = g
                .location
                .building
                .as_ref()
                .map(|b| b.as_str().to_owned())
                .unwrap_or_default();
            let score = likeness(&form.title, &form.building, g.title.as_str(), &building);
            (
                score,
                g.filer,
                Similar {
                    title: g.title.as_str().to_owned(),
                    status: g.status.as_str().to_owned(),
                    filed_at: g.filed_at,
                },
            )
        })
        .filter(|(score, _, _)| *score >= 0.3)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut out = Vec::new();
    for (_, filer, mut similar) in scored.into_iter().take(3) {
        // Another resident's title may carry their name or phone: never shown.
        match state.people.personal_data(filer).await {
            Ok(crate::app::people::PersonalView::Present(data)) => {
                for secret in [Some(data.name), data.phone, data.room]
                    .into_iter()
                    .flatten()
                {
                    if secret.chars().count() >= 2 {
                        similar.title = similar.title.replace(&secret, "＊＊＊");
                    }
                }
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "a likely duplicate's filer could not be read");
                continue;
            }
        }
        out.push(similar);
    }
    out
}

async fn file_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let visit = Visit::of(&state, &headers).await;
    if visit.session.is_none() {
        return see_other("/login");
    }
    let form = FileForm {
        category: "repairs".into(),
        respondent: "property_company".into(),
        urgency: "normal".into(),
        ..FileForm::default()
    };
    file_form_page(&visit, StatusCode::OK, form, HashMap::new())
}

/// A value problem in the page's language.
fn reason(lang: Lang, e: &ValueError) -> String {
    match e {
        ValueError::Empty => i18n::t(lang, "reason.empty"),
        ValueError::TooLong { max } => {
            i18n::t(lang, "reason.too_long").replace("{max}", &max.to_string())
        }
        ValueError::ControlCharacter => i18n::t(lang, "reason.control"),
        ValueError::Invalid(_) => i18n::t(lang, "reason.invalid"),
    }
}

/// Checks the form the way the API checks a filing, with the problems in
/// the page's language; the request to file when nothing is wrong.
fn check(lang: Lang, form: &FileForm) -> Result<FileGrievanceRequest, HashMap<String, String>> {
    let mut errors = HashMap::new();
    let mut note = |field: &str, e: ValueError| {
        errors.insert(field.to_owned(), reason(lang, &e));
    };
    let choice = |value: &str| serde_json::Value::String(value.to_owned());
    let category = serde_json::from_value::<CategoryDto>(choice(&form.category));
    if category.is_err() {
        note("category", ValueError::Invalid("category"));
    }
    let respondent = serde_json::from_value::<RespondentDto>(choice(&form.respondent));
    if respondent.is_err() {
        note("respondent", ValueError::Invalid("respondent"));
    }
    let urgency = serde_json::from_value::<UrgencyDto>(choice(&form.urgency));
    if urgency.is_err() {
        note("urgency", ValueError::Invalid("urgency"));
    }
    if let Err(e) = Title::parse(&form.title) {
        note("title", e);
    }
    if let Err(e) = Description::parse(&form.description) {
        note("description", e);
    }
    let optional = |value: &str| {
        let value = value.trim();
        (!value.is_empty()).then(|| value.to_owned())
    };
    let (building, unit, common_area) = (
        optional(&form.building),
        optional(&form.unit),
        optional(&form.common_area),
    );
    let mut labels = Vec::new();
    for (field, value) in [
        ("building", &building),
        ("unit", &unit),
        ("common_area", &common_area),
    ] {
        match value.as_deref().map(Label::parse) {
            Some(Err(e)) => note(field, e),
            Some(Ok(label)) => labels.push(Some(label)),
            None => labels.push(None),
        }
    }
    if let [b, u, c] = labels.as_slice() {
        if let Err(e) = Location::new(b.clone(), u.clone(), c.clone()) {
            errors.insert("location".into(), i18n::t(lang, "reason.location"));
            let _ = e;
        }
    }
    match (category, respondent, urgency) {
        (Ok(category), Ok(respondent), Ok(urgency)) if errors.is_empty() => {
            Ok(FileGrievanceRequest {
                category,
                title: form.title.clone(),
                description: form.description.clone(),
                location: LocationDto {
                    building,
                    unit,
                    common_area,
                },
                respondent,
                urgency,
                channel: ChannelDto::Web,
                attachments: Vec::new(),
            })
        }
        _ => Err(errors),
    }
}

async fn file(
    State(state): State<AppState>,
    Extension(request_id): Extension<RequestId>,
    ClientAddress(client): ClientAddress,
    headers: HeaderMap,
    Form(form): Form<FileForm>,
) -> Response {
    let visit = Visit::of(&state, &headers).await;
    let caller = match visit.form_caller(&form.csrf) {
        Ok(caller) => caller,
        Err(answer) => return *answer,
    };
    let request = match check(visit.lang, &form) {
        Ok(request) => request,
        Err(errors) => {
            return file_form_page(&visit, StatusCode::UNPROCESSABLE_ENTITY, form, errors)
        }
    };
    // Before the first submission goes through, the filer sees what looks
    // like the same matter, already filed in the xiaoqu.
    if form.confirmed != "1" {
        if let crate::db::Scope::Xiaoqu(xiaoqu) = caller.0.scope {
            let similar = likely_duplicates(&state, xiaoqu.0, &form).await;
            if !similar.is_empty() {
                let form = FileForm {
                    confirmed: "1".to_owned(),
                    ..form
                };
                return file_form_with(&visit, StatusCode::OK, form, HashMap::new(), similar);
            }
        }
    }
    let filed = match grievances::parse_filing(&request) {
        Ok(new) => grievances::file(&state, &caller, &request_id.0, client, new).await,
        Err(e) => Err(e),
    };
    match filed {
        Ok((id, _)) => see_other(&format!("/g/{id}")),
        Err(e) => {
            let problem = e.to_problem();
            if problem.status == 403 {
                return message(&visit, StatusCode::FORBIDDEN, "error.not_allowed");
            }
            if problem.status == 429 {
                return message(&visit, StatusCode::TOO_MANY_REQUESTS, "error.rate_limited");
            }
            tracing::warn!(status = problem.status, "filing from the web page refused");
            message(
                &visit,
                StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                "error.title",
            )
        }
    }
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
}

async fn grievance(
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
    let steps = match state.db.stream("grievance", &id.to_string()).await {
        Ok(events) => events
            .into_iter()
            .filter(|e| e.event_type != "DeadlineSet")
            .map(|e| Step {
                at: e.recorded_at,
                event: e.event_type,
            })
            .collect(),
        Err(e) => {
            tracing::error!(error = %e, "a grievance's events failed to load");
            Vec::new()
        }
    };
    // What the aggregate would accept from this caller now; a form's path
    // names the command with dashes.
    let actions: Vec<&'static str> = grievances::offered_actions(&state, &caller, &g)
        .into_iter()
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
        opens_case: caller.0.role == Role::PartyBranch
            && g.mediation.is_none()
            && matches!(
                g.status,
                Status::Triaged | Status::Assigned | Status::Responded
            ),
    }
    .render();
    render(&visit, StatusCode::OK, html)
}

/// Whether `role` reads cases' stories, past states and verifications.
fn audits(role: Role) -> bool {
    matches!(role, Role::Auditor | Role::Admin)
}

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
async fn audit(
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
            Ok(at) => match crate::app::story::state_as_of(&state.db, id, at.to_utc()).await {
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
    let ids: Vec<String> = streams.iter().map(|s| s.id.to_string()).collect();
    let read = tokio::try_join!(
        crate::app::story::story(&state.db, state.people.vault(), &streams),
        futures::future::try_join_all(streams.iter().zip(&ids).map(|(s, id)| {
            crate::audit::verify::verify_stream(&state.db, s.aggregate_type, id)
        })),
    );
    let (story, chains) = match read {
        Ok(read) => read,
        Err(e) => {
            tracing::error!(error = %e, "the audit page's reads failed");
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
async fn audit_dossier(
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

/// The tier a role handles grievances at: the party branch its xiaoqu, a
/// community, street or district its own.
fn handler_tier(role: Role) -> Option<Tier> {
    match role {
        Role::PartyBranch => Some(Tier::Xiaoqu),
        other => other.tier(),
    }
}

/// One item of a handler's queue.
#[derive(Debug)]
pub struct QueueEntry {
    pub id: Uuid,
    pub title: String,
    pub status: String,
    pub stage: String,
    pub due_at: Option<DateTime<Utc>>,
    pub overdue: bool,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    page: Page,
    queue: Vec<QueueEntry>,
}

/// The handler's page: the escalation queue of its tier, most overdue first.
async fn dashboard(state: &AppState, visit: &Visit, caller: &Caller, tier: Tier) -> Response {
    let audience = policy::audience(&caller.0);
    let now = state.log.services().clock.now();
    let items = grievance_list::queue(&state.db.store(), &audience, tier as i64, 200).await;
    let queue = match items {
        Ok(items) => items
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
                    due_at,
                    overdue: due_at.is_some_and(|d| d < now),
                }
            })
            .collect(),
        Err(e) => {
            tracing::error!(error = %e, "the queue failed");
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

/// One figure of the public board.
#[derive(Debug)]
pub struct Figure {
    /// The translation key of its name.
    pub key: &'static str,
    pub count: u64,
    pub of: u64,
    /// Whole percent, when anything counts.
    pub percent: Option<u32>,
}

/// One bar of the board's chart, laid out on the server.
#[derive(Debug)]
pub struct Bar {
    pub x: u32,
    pub y: u32,
    pub height: u32,
    pub fill: &'static str,
    pub label: String,
}

#[derive(Template)]
#[template(path = "board.html")]
struct BoardPage {
    page: Page,
    name: String,
    filed: u64,
    figures: Vec<Figure>,
    bars: Vec<Bar>,
    months: Vec<(u32, String)>,
    /// The chart's figures as a table: month, then the three rates.
    trend: Vec<(String, [String; 3])>,
}

/// The three rates the board charts, with their colours (distinguishable
/// without colour too: each bar is labelled in its `<title>`).
const CHARTED: [(&str, &str); 3] = [
    ("board.response_rate", "#1f5f99"),
    ("board.resolution_rate", "#2c7a3f"),
    ("board.satisfaction_rate", "#a4161a"),
];

fn percent(rate: &lianxi_projections::figures::Rate) -> Option<u32> {
    rate.rate.map(|r| (r * 100.0).round() as u32)
}

/// The public board of a xiaoqu (no sign-in): its 三率 figures over the last
/// twelve months and their trend month by month, drawn as SVG on the server.
/// Counts only: no grievance, no person.
async fn board(
    State(state): State<AppState>,
    Path(xiaoqu): Path<String>,
    headers: HeaderMap,
) -> Response {
    use chrono::{Datelike, TimeZone};
    use lianxi_projections::figures::{figures, Scope};
    let visit = Visit::of(&state, &headers).await;
    let Ok(id) = lianxi_domain::values::XiaoquId::parse(&xiaoqu) else {
        return message(&visit, StatusCode::NOT_FOUND, "error.not_found");
    };
    let Ok(Some(record)) = state.db.xiaoqu(id).await else {
        return message(&visit, StatusCode::NOT_FOUND, "error.not_found");
    };
    let now = state.log.services().clock.now();
    let store = state.db.store();
    let scope = |from, to| Scope {
        xiaoqu: Some(id.0),
        party: None,
        tier: None,
        filed_from: Some(from),
        filed_to: Some(to),
    };
    let Ok(year) = figures(&store, &scope(now - chrono::TimeDelta::days(365), now), now).await
    else {
        return message(&visit, StatusCode::SERVICE_UNAVAILABLE, "error.title");
    };
    let rows = [
        ("board.response_rate", &year.response_rate),
        ("board.resolution_rate", &year.resolution_rate),
        ("board.satisfaction_rate", &year.satisfaction_rate),
        ("board.escalation_rate", &year.escalation_rate),
        ("board.reopen_rate", &year.reopen_rate),
    ];
    let figures_now = rows
        .iter()
        .map(|(key, rate)| Figure {
            key,
            count: rate.count,
            of: rate.of,
            percent: percent(rate),
        })
        .collect();
    // The last six calendar months (China Standard Time), oldest first.
    let china = FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| Utc.fix());
    let local = now.with_timezone(&china);
    let mut months = Vec::new();
    let mut bars = Vec::new();
    let mut trend = Vec::new();
    let page = visit.page();
    for back in (0..6).rev() {
        let (mut year_n, mut month_n) = (local.year(), local.month() as i32 - back);
        while month_n < 1 {
            month_n += 12;
            year_n -= 1;
        }
        let month_n = month_n as u32;
        let start = china
            .with_ymd_and_hms(year_n, month_n, 1, 0, 0, 0)
            .single()
            .map(|t| t.with_timezone(&Utc));
        let (next_y, next_m) = if month_n == 12 {
            (year_n + 1, 1)
        } else {
            (year_n, month_n + 1)
        };
        let end = china
            .with_ymd_and_hms(next_y, next_m, 1, 0, 0, 0)
            .single()
            .map(|t| t.with_timezone(&Utc));
        let (Some(start), Some(end)) = (start, end) else {
            continue;
        };
        let slot = (5 - back) as u32;
        let x0 = 40 + slot * 90;
        months.push((x0 + 36, format!("{year_n}-{month_n:02}")));
        let Ok(f) = figures(&store, &scope(start, end), now).await else {
            continue;
        };
        let shown = |rate| percent(rate).map_or("–".to_owned(), |p| format!("{p}%"));
        trend.push((
            format!("{year_n}-{month_n:02}"),
            [
                shown(&f.response_rate),
                shown(&f.resolution_rate),
                shown(&f.satisfaction_rate),
            ],
        ));
        for (i, (key, rate)) in [
            (CHARTED[0], &f.response_rate),
            (CHARTED[1], &f.resolution_rate),
            (CHARTED[2], &f.satisfaction_rate),
        ]
        .into_iter()
        .enumerate()
        {
            let p = percent(rate).unwrap_or(0);
            let height = p * 2;
            bars.push(Bar {
                x: x0 + i as u32 * 24,
                y: 220 - height,
                height,
                fill: key.1,
                label: format!(
                    "{year_n}-{month_n:02} {}: {}",
                    page.t(key.0),
                    percent(rate).map_or("–".to_owned(), |p| format!("{p}%"))
                ),
            });
        }
    }
    let html = BoardPage {
        page,
        name: record.name,
        filed: year.filed,
        figures: figures_now,
        bars,
        months,
        trend,
    }
    .render();
    render(&visit, StatusCode::OK, html)
}

#[derive(Debug, Default, Deserialize)]
struct ActionForm {
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
async fn act(
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_about_one_matter_look_alike_and_others_do_not() {
        let same = likeness("3栋电梯停运三天", "3栋", "3栋电梯又停运了", "3栋");
        let related = likeness("地下车库车位被占用", "", "地下车库公共车位被长期占用", "");
        let other = likeness("3栋电梯停运三天", "3栋", "广场舞噪音扰民", "5栋");
        assert!(same >= 0.3, "{same}");
        assert!(related >= 0.3, "{related}");
        assert!(other < 0.3, "{other}");
        assert_eq!(likeness("", "", "", ""), 0.0);
    }

    #[test]
    fn a_form_is_checked_in_the_page_language_and_keeps_nothing_half_done() {
        let form = FileForm {
            category: "parking".into(),
            title: String::new(),
            respondent: "property_company".into(),
            urgency: "normal".into(),
            ..FileForm::default()
        };
        let zh = check(Lang::Zh, &form).expect_err("no title, no place");
        let en = check(Lang::En, &form).expect_err("no title, no place");
        assert!(
            zh.contains_key("title") && zh.contains_key("location"),
            "{zh:?}"
        );
        assert_ne!(zh.get("title"), en.get("title"));
        let good = FileForm {
            title: "地下车库积水".into(),
            common_area: "地下车库".into(),
            ..form
        };
        let request = check(Lang::Zh, &good).expect("valid");
        assert_eq!(request.location.common_area.as_deref(), Some("地下车库"));
    }

    #[test]
    fn cookies_are_read_by_name() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static(
                "lianxi_lang=en; lianxi_csrf=00112233445566778899aabbccddeeff",
            ),
        );
        let jar = cookies(&headers);
        assert_eq!(jar.get(LANG).map(String::as_str), Some("en"));
        assert!(valid_token(&jar[CSRF]));
    }
}
