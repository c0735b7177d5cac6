//! Signing in and proving who calls.
//!
//! - Passwords are kept as Argon2id hashes (PHC strings); login names only as
//!   keyed hashes (see [`crate::vault::Vault::login_hash`]).
//! - A login gives a bearer token that expires ([`SESSION_TTL`]); admins
//!   issue longer-lived tokens for API clients. Tokens are random 256-bit
//!   values shown once; only their SHA-256 is stored, with expiry and
//!   revocation.
//! - Each instance remembers the tokens it looked up for
//!   [`TOKEN_CACHE_TTL`] ([`TokenCache`]), so that a busy client costs no
//!   lookup per request. Whatever ends a token here (sign-out, revocation, a
//!   withdrawn role, erasure, new credentials) forgets them all at once; done
//!   through another instance or the command line, it takes effect here
//!   within [`TOKEN_CACHE_TTL`].
//! - Failed logins are throttled per login name and per client address, in
//!   the database, so that every instance counts the same failures.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use base64::Engine;
use chrono::{DateTime, TimeDelta, Utc};
use lianxi_domain::values::{AccountId, XiaoquId};
use lianxi_domain::Role;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::app::error::ApiError;
use crate::app::AppState;
use crate::db::{Database, DbError, TokenKind};

pub use crate::db::{AccountRecord, Scope, TokenState};

/// Token prefix: makes leaked tokens easy to recognise in scanners.
const PREFIX: &str = "lx_";

/// How long a token from a password login lasts.
pub const SESSION_TTL: TimeDelta = TimeDelta::hours(12);
/// How long an admin-issued API token lasts unless told otherwise.
pub const API_TOKEN_TTL: TimeDelta = TimeDelta::days(90);

/// Failed logins counted within this window.
pub const THROTTLE_WINDOW: TimeDelta = TimeDelta::minutes(15);
/// Failures per login name within the window before further attempts wait.
pub const MAX_FAILURES_PER_LOGIN: i64 = 5;
/// Failures per client address within the window before it waits.
pub const MAX_FAILURES_PER_ADDRESS: i64 = 20;

/// Shortest and longest passwords accepted.
pub const PASSWORD_LENGTH: std::ops::RangeInclusive<usize> = 12..=128;

/// How long an instance trusts a token it looked up without looking again.
pub const TOKEN_CACHE_TTL: Duration = Duration::from_secs(2);

/// How many tokens an instance remembers before starting afresh.
const TOKEN_CACHE_MOST: usize = 10_000;

/// The live tokens this instance looked up lately, by hash.
#[derive(Debug, Default)]
pub struct TokenCache(Mutex<HashMap<String, Remembered>>);

#[derive(Debug)]
struct Remembered {
    account: AccountRecord,
    kind: TokenKind,
    expires_at: Option<DateTime<Utc>>,
    looked_up: Instant,
    generation: u64,
}

impl TokenCache {
    fn live(&self, hash: &str, now: DateTime<Utc>) -> Option<TokenState> {
        let entries = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let r = entries.get(hash)?;
        let fresh = r.looked_up.elapsed() < TOKEN_CACHE_TTL
            && r.generation == crate::db::tokens_generation();
        if !fresh {
            return None;
        }
        Some(if r.expires_at.is_some_and(|e| e <= now) {
            TokenState::Expired
        } else {
            TokenState::Live {
                account: r.account.clone(),
                kind: r.kind,
                expires_at: r.expires_at,
            }
        })
    }

    fn remember(&self, hash: &str, state: &TokenState, generation: u64) {
        let TokenState::Live {
            account,
            kind,
            expires_at,
        } = state
        else {
            return;
        };
        let mut entries = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= TOKEN_CACHE_MOST {
            entries.retain(|_, r| r.looked_up.elapsed() < TOKEN_CACHE_TTL);
            if entries.len() >= TOKEN_CACHE_MOST {
                entries.clear();
            }
        }
        entries.insert(
            hash.to_owned(),
            Remembered {
                account: account.clone(),
                kind: *kind,
                expires_at: *expires_at,
                looked_up: Instant::now(),
                generation,
            },
        );
    }
}

/// What the token with this hash is now: as this instance remembers it, or
/// looked up.
pub async fn token_state(state: &AppState, hash: &str) -> Result<TokenState, DbError> {
    let now = Utc::now();
    if let Some(known) = state.tokens.live(hash, now) {
        return Ok(known);
    }
    // Read before the lookup: a change during it makes the answer stale.
    let generation = crate::db::tokens_generation();
    let looked_up = state.db.token_state(hash, now).await?;
    state.tokens.remember(hash, &looked_up, generation);
    Ok(looked_up)
}

/// A new random token (256 bits) and the hash to store for it.
pub fn new_token() -> (String, String) {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = format!(
        "{PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    );
    let hash = token_hash(&token);
    (token, hash)
}

/// The stored form of a token.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Issues a token for `account` acting in its own role, valid for `ttl`
/// (`None`: until revoked).
pub async fn issue_token(
    db: &Database,
    account: AccountId,
    kind: TokenKind,
    ttl: Option<TimeDelta>,
) -> Result<(String, Option<DateTime<Utc>>), DbError> {
    issue_token_as(db, account, None, kind, ttl).await
}

/// Issues a token acting in `grant`, a role granted to `account` besides
/// its own (`None`: its own).
pub async fn issue_token_as(
    db: &Database,
    account: AccountId,
    grant: Option<&AccountRecord>,
    kind: TokenKind,
    ttl: Option<TimeDelta>,
) -> Result<(String, Option<DateTime<Utc>>), DbError> {
    let (token, hash) = new_token();
    let now = Utc::now();
    let expires_at = ttl.map(|ttl| now + ttl);
    db.insert_token(&hash, account, grant, kind, now, expires_at)
        .await?;
    Ok((token, expires_at))
}

/// Whether `password` is acceptable as a new password; the reason if not.
pub fn password_problem(password: &str) -> Option<String> {
    let chars = password.chars().count();
    if !PASSWORD_LENGTH.contains(&chars) {
        return Some(format!(
            "must be {} to {} characters long",
            PASSWORD_LENGTH.start(),
            PASSWORD_LENGTH.end()
        ));
    }
    if password.trim() != password {
        return Some("must not start or end with spaces".into());
    }
    None
}

/// The Argon2id hash (PHC string) of `password`, with a fresh salt.
pub fn hash_password(password: &str) -> String {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).expect("16 bytes make a valid salt");
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("Argon2id with default parameters hashes any password")
        .to_string()
}

/// Whether `password` matches `hash`. Without a hash a fixed dummy is
/// checked instead, so that unknown logins take as long as known ones.
pub fn verify_password(password: &str, hash: Option<&str>) -> bool {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let dummy = DUMMY.get_or_init(|| hash_password("lianxi dummy password"));
    let (candidate, real) = match hash {
        Some(h) => (h, true),
        None => (dummy.as_str(), false),
    };
    let Ok(parsed) = PasswordHash::new(candidate) else {
        return false;
    };
    Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok()
        && real
}

/// Which of the person's roles a login asks to act in.
#[derive(Clone, Debug)]
pub struct RoleChoice {
    pub role: Role,
    /// Narrows a role held in several xiaoqu.
    pub xiaoqu: Option<XiaoquId>,
    /// Narrows a tier role held for several units.
    pub unit: Option<String>,
}

impl RoleChoice {
    fn matches(&self, grant: &AccountRecord) -> bool {
        grant.role == self.role
            && self.xiaoqu.is_none_or(|x| grant.scope == Scope::Xiaoqu(x))
            && self
                .unit
                .as_ref()
                .is_none_or(|u| grant.scope == Scope::Unit(u.clone()))
    }
}

/// Why a login did not succeed.
#[derive(Debug)]
pub enum LoginRefusal {
    InvalidCredentials,
    /// The credentials hold, but not the role asked for (or ambiguously).
    RoleNotHeld(String),
    /// Too many recent failures; try again after this many seconds.
    Throttled {
        retry_after: u64,
    },
    Db(DbError),
}

impl From<DbError> for LoginRefusal {
    fn from(e: DbError) -> Self {
        LoginRefusal::Db(e)
    }
}

/// A successful login.
#[derive(Debug)]
pub struct Session {
    pub account: AccountRecord,
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

/// Checks a login name and password (throttled) and issues a session token.
pub async fn sign_in(
    state: &AppState,
    login_name: &str,
    password: &str,
    client: Option<IpAddr>,
    wanted: Option<&RoleChoice>,
) -> Result<Session, LoginRefusal> {
    let login_hash = state.people.vault().login_hash(login_name);
    login(&state.db, &login_hash, password, client, wanted).await
}

/// Ends the session of the token whose hash is `token_hash`.
pub async fn sign_out(state: &AppState, token_hash: &str) -> Result<(), DbError> {
    state.db.revoke_token(token_hash, Utc::now()).await?;
    Ok(())
}

/// Checks a login (by its hash) and password (throttled) and issues a
/// session token.
async fn login(
    db: &Database,
    login_hash: &str,
    password: &str,
    client: Option<IpAddr>,
    wanted: Option<&RoleChoice>,
) -> Result<Session, LoginRefusal> {
    let now = Utc::now();
    let since = now - THROTTLE_WINDOW;
    let login_key = format!("login:{login_hash}");
    let address_key = client.map(|ip| format!("address:{ip}"));
    let mut keys = vec![(login_key.as_str(), MAX_FAILURES_PER_LOGIN)];
    if let Some(key) = &address_key {
        keys.push((key.as_str(), MAX_FAILURES_PER_ADDRESS));
    }
    for (key, limit) in &keys {
        let (failures, oldest) = db.login_failures(key, since).await?;
        if failures >= *limit {
            let free_at = oldest.unwrap_or(now) + THROTTLE_WINDOW;
            let retry_after = (free_at - now).num_seconds().max(1) as u64;
            return Err(LoginRefusal::Throttled { retry_after });
        }
    }
    let found = db.login_account(login_hash).await?;
    let hash = found.as_ref().and_then(|(_, h)| h.as_deref());
    let password = password.to_owned();
    let hash_owned = hash.map(str::to_owned);
    // Argon2id takes tens of milliseconds: keep it off the async workers.
    let matches =
        tokio::task::spawn_blocking(move || verify_password(&password, hash_owned.as_deref()))
            .await
            .unwrap_or(false);
    match found {
        Some((account, _)) if matches => {
            db.clear_login_failures(&login_key, since).await?;
            // Act in the account's own role unless another is asked for.
            let grant = match wanted {
                None => None,
                Some(wanted) => {
                    let grants = db.grants_of(account.id).await?;
                    let held: Vec<(usize, &AccountRecord)> = grants
                        .iter()
                        .enumerate()
                        .filter(|(_, g)| wanted.matches(g))
                        .collect();
                    match held.as_slice() {
                        [] => {
                            return Err(LoginRefusal::RoleNotHeld(format!(
                                "this account does not hold the role {} here",
                                wanted.role
                            )))
                        }
                        [(0, _)] => None,
                        [(_, g)] => Some((*g).clone()),
                        _ => {
                            return Err(LoginRefusal::RoleNotHeld(format!(
                                "the role {} is held in several places: name the xiaoqu or unit",
                                wanted.role
                            )))
                        }
                    }
                }
            };
            let (token, expires_at) = issue_token_as(
                db,
                account.id,
                grant.as_ref(),
                TokenKind::Session,
                Some(SESSION_TTL),
            )
            .await?;
            let account = grant.unwrap_or(account);
            Ok(Session {
                account,
                token,
                expires_at: expires_at.unwrap_or(now + SESSION_TTL),
            })
        }
        _ => {
            for (key, _) in &keys {
                db.record_login_failure(key, now).await?;
            }
            Err(LoginRefusal::InvalidCredentials)
        }
    }
}

/// The client's address as the server saw it (the proxy's, behind one).
#[derive(Clone, Copy, Debug)]
pub struct ClientAddress(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddress(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip()),
        ))
    }
}

/// The bearer token of a request, if it is well-formed.
fn bearer(parts: &Parts) -> Result<&str, ApiError> {
    let header = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .ok_or_else(|| ApiError::unauthorized("an Authorization: Bearer token is required"))?;
    header
        .to_str()
        .ok()
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| t.starts_with(PREFIX) && t.len() < 200)
        .ok_or_else(|| ApiError::unauthorized("the Authorization header must be 'Bearer <token>'"))
}

/// The authenticated caller of a request.
#[derive(Clone, Debug)]
pub struct Caller(pub AccountRecord);

/// The caller and the hash of the token they presented (to sign out).
#[derive(Clone, Debug)]
pub struct CallerToken {
    pub caller: Caller,
    pub token_hash: String,
}

impl FromRequestParts<AppState> for CallerToken {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let hash = token_hash(bearer(parts)?);
        match token_state(state, &hash).await.map_err(ApiError::from_db)? {
            TokenState::Live { account, .. } => Ok(CallerToken {
                caller: Caller(account),
                token_hash: hash,
            }),
            TokenState::Expired => Err(ApiError::token_expired()),
            TokenState::Revoked => Err(ApiError::token_revoked()),
            TokenState::Unknown => Err(ApiError::unauthorized("the token is unknown")),
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        Ok(CallerToken::from_request_parts(parts, state).await?.caller)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_only_their_hash_is_kept() {
        let (a, hash_a) = new_token();
        let (b, _) = new_token();
        assert_ne!(a, b);
        assert!(a.starts_with(PREFIX));
        assert_eq!(hash_a, token_hash(&a));
        assert!(!hash_a.contains(&a[PREFIX.len()..]));
        assert_eq!(hash_a.len(), 64);
    }

    #[test]
    fn passwords_verify_only_against_their_own_argon2id_hash() {
        let hash = hash_password("correct horse battery");
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert_ne!(hash, hash_password("correct horse battery"), "fresh salt");
        assert!(verify_password("correct horse battery", Some(&hash)));
        assert!(!verify_password("correct horse batterY", Some(&hash)));
        assert!(!verify_password("correct horse battery", None));
        assert!(!verify_password("anything", Some("not a phc string")));
    }

    #[test]
    fn weak_or_padded_passwords_are_refused() {
        assert!(password_problem("short").is_some());
        assert!(password_problem(" twelve chars ok").is_some());
        assert!(password_problem(&"x".repeat(129)).is_some());
        assert!(password_problem("长城长城长城长城长城长城").is_none());
        assert!(password_problem("a sound passphrase").is_none());
    }
}
