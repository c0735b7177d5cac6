//! The visit behind every page: its cookies, language, CSRF token (double
//! submit) and signed-in session.

use std::collections::HashMap;

use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use rand::Rng;

use super::home::handler_tier;
use super::{message, see_other, Lang, Page};
use crate::app::auth::{self, Caller};
use crate::app::auth::{AccountRecord, Scope, TokenState};
use crate::app::policy::{audits, reads_meetings};
use crate::app::AppState;
use lianxi_domain::grievance::files_grievances;
use lianxi_domain::ledger::exports_ledgers;

pub(super) const SESSION: &str = "lianxi_session";
pub(super) const CSRF: &str = "lianxi_csrf";
pub(super) const LANG: &str = "lianxi_lang";

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
pub(super) struct Visit {
    pub(super) lang: Lang,
    pub(super) csrf: String,
    /// The CSRF cookie must be set with the answer.
    pub(super) new_csrf: bool,
    pub(super) session: Option<(String, AccountRecord)>,
}

impl Visit {
    pub(super) async fn of(state: &AppState, headers: &HeaderMap) -> Visit {
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

    pub(super) fn page(&self) -> Page {
        Page {
            lang: self.lang,
            csrf: self.csrf.clone(),
            signed_in: self.session.is_some(),
            handles: self
                .session
                .as_ref()
                .is_some_and(|(_, account)| handler_tier(account.role).is_some()),
            files: self
                .session
                .as_ref()
                .is_some_and(|(_, account)| files_grievances(account.role)),
            // Residents read their xiaoqu's public minutes there.
            meets: self.session.as_ref().is_some_and(|(_, account)| {
                reads_meetings(account.role) || files_grievances(account.role)
            }),
            audits: self
                .session
                .as_ref()
                .is_some_and(|(_, account)| audits(account.role)),
            reports: self
                .session
                .as_ref()
                .is_some_and(|(_, account)| exports_ledgers(account.role)),
            votes: self
                .session
                .as_ref()
                .is_some_and(|(_, account)| matches!(account.scope, Scope::Xiaoqu(_))),
        }
    }

    pub(super) fn caller(&self) -> Option<Caller> {
        self.session.as_ref().map(|(_, a)| Caller(a.clone()))
    }

    /// The signed-in caller submitting one of this site's forms, or the
    /// answer to give instead (sign in first; 403 for a foreign form).
    pub(super) fn form_caller(&self, csrf: &str) -> Result<Caller, Box<Response>> {
        let Some(caller) = self.caller() else {
            return Err(Box::new(see_other("/login")));
        };
        if !self.form_is_ours(csrf) {
            return Err(Box::new(message(self, StatusCode::FORBIDDEN, "error.csrf")));
        }
        Ok(caller)
    }

    /// Whether a submitted form carries this visit's CSRF token.
    pub(super) fn form_is_ours(&self, submitted: &str) -> bool {
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

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

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
