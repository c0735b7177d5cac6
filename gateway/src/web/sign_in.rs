//! Signing in (`/login`), signing out (`/logout`) and switching the pages'
//! language (`/lang/{code}`).

use askama::Template;
use axum::extract::{Form, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;

use super::session::{LANG, SESSION};
use super::{message, render, see_other, set_cookie, Lang, Page, Visit};
use crate::app::auth::{self, ClientAddress, LoginRefusal};
use crate::app::AppState;

/// Sets the language and goes back where the visitor came from.
pub(super) async fn switch_language(Path(code): Path<String>, headers: HeaderMap) -> Response {
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

pub(super) async fn login_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
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
pub(super) struct LoginForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    login: String,
    #[serde(default)]
    password: String,
}

pub(super) async fn login(
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
    match auth::sign_in(&state, &name, &form.password, client, None).await {
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
pub(super) struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

pub(super) async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    let visit = Visit::of(&state, &headers).await;
    if !visit.form_is_ours(&form.csrf) {
        return message(&visit, StatusCode::FORBIDDEN, "error.csrf");
    }
    if let Some((token, _)) = &visit.session {
        if let Err(e) = auth::sign_out(&state, &auth::token_hash(token)).await {
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
