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
//!
//! The pages, by family: `sign_in` (sign-in, sign-out, language),
//! `home` (the resident's list and to-do, the handler's queue),
//! `filing` (the filing form and its likely duplicates), `grievance`
//! (one grievance and the commands it offers), `audit` (a case's story,
//! its state as of an instant, the dossier), `board` (a xiaoqu's public
//! figures), `meetings`, `cases`, `projects` (micro-projects and
//! micro-funds) and `votes` (owners' votes and the owners' register);
//! `session` reads the visit's cookies, session and CSRF token.

mod audit;
mod board;
mod cases;
mod chart;
mod files;
mod filing;
mod grievance;
mod home;

mod meetings;
mod projects;
mod reports;
mod session;
mod sign_in;
mod votes;

use askama::Template;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use chrono::{DateTime, FixedOffset, Offset, Utc};

pub(super) use crate::app::dto::wire;
use crate::app::i18n;
pub use crate::app::i18n::Lang;
use crate::app::AppState;
use session::{Visit, CSRF};

const CSS: &str = include_str!("../../static/app.css");

/// The web pages' routes, merged into the application's router; the forms
/// that carry files take bodies up to `upload_limit` bytes.
pub fn router(upload_limit: usize) -> Router<AppState> {
    let uploads = Router::new()
        .route("/file", get(filing::file_page).post(filing::file))
        .route("/g/{id}/attachments", post(files::attach))
        .route("/projects", get(projects::list).post(projects::propose))
        .route("/projects/{id}/{action}", post(projects::act))
        .route("/funds/{id}/{action}", post(projects::fund_act))
        .layer(axum::extract::DefaultBodyLimit::max(upload_limit));
    let registers = Router::new()
        .route("/votes/register", post(votes::import))
        .layer(axum::extract::DefaultBodyLimit::max(
            crate::app::votes::register::MOST_FILE_BYTES,
        ));
    Router::new()
        .merge(uploads)
        .merge(registers)
        .route("/", get(home::home))
        .route("/login", get(sign_in::login_page).post(sign_in::login))
        .route("/logout", post(sign_in::logout))
        .route("/g/{id}", get(grievance::grievance))
        .route("/g/{id}/filed", get(grievance::filed))
        .route("/g/{id}/files/{sha256}", get(files::file))
        .route("/g/{id}/files/{sha256}/thumb", get(files::thumbnail))
        .route("/g/{id}/duplicates", post(grievance::merge_duplicates))
        .route("/g/{id}/{action}", post(grievance::act))
        .route("/meetings", get(meetings::list).post(meetings::convene))
        .route("/meetings/{id}", get(meetings::show))
        .route("/meetings/{id}/minutes", get(meetings::minutes))
        .route("/meetings/{id}/{action}", post(meetings::act))
        .route("/votes", get(votes::list).post(votes::open))
        .route("/votes/{id}", get(votes::show))
        .route("/votes/{id}/{action}", post(votes::act))
        .route("/projects/{id}", get(projects::show))
        .route("/projects/{id}/files/{sha256}", get(projects::project_file))
        .route("/funds/{id}", get(projects::fund))
        .route("/funds/{id}/files/{sha256}", get(projects::fund_file))
        .route("/cases", post(cases::open))
        .route("/cases/new", get(cases::new_case))
        .route("/cases/{id}", get(cases::show))
        .route("/audit/{id}", get(audit::audit))
        .route("/audit/{id}/dossier", get(audit::audit_dossier))
        .route("/lang/{code}", get(sign_in::switch_language))
        .route("/board/{xiaoqu}", get(board::board))
        .route("/reports", get(reports::reports))
        .route("/reports/view", get(reports::view))
        .route("/reports/ledger", get(reports::ledger))
        .route("/static/app.css", get(stylesheet))
}

/// The parts every page shares.
#[derive(Debug)]
pub struct Page {
    lang: Lang,
    csrf: String,
    signed_in: bool,
    /// The reader handles grievances: home is its queue.
    handles: bool,
    /// The reader files grievances: the navigation offers the form.
    files: bool,
    /// The reader takes part in (or reads) joint meetings.
    meets: bool,
    /// The reader audits: home lists every grievance to audit.
    audits: bool,
    /// The reader keeps ledgers and reads reports.
    reports: bool,
    /// The reader belongs to one xiaoqu, whose owners' votes and
    /// micro-projects it reads.
    votes: bool,
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

/// The pages' own content security policy; `nosniff`, framing and the
/// referrer policy come with every HTML answer (`http::headers`).
fn secure(headers: &mut HeaderMap) {
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
        ),
    );
}

fn set_cookie(headers: &mut HeaderMap, cookie: &str) {
    if let Ok(value) = HeaderValue::from_str(cookie) {
        headers.append(header::SET_COOKIE, value);
    }
}

/// What a page is asked with after a command succeeded (post/redirect/get):
/// `done` names the command, for the notice confirming it.
#[derive(Debug, Default, serde::Deserialize)]
pub(super) struct Notice {
    #[serde(default)]
    done: String,
}

impl Notice {
    /// The notice's key, `<family>.done.<command>` (`done.<command>` for
    /// grievances), when `done` is one of `commands`; anything else shows
    /// no notice.
    fn key(&self, family: &str, commands: &[&str]) -> Option<String> {
        commands
            .contains(&self.done.as_str())
            .then(|| match family {
                "" => format!("done.{}", self.done),
                family => format!("{family}.done.{}", self.done),
            })
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
