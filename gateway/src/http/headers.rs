//! Security headers on every answer, whichever interface gave it: no
//! content sniffing; for HTML, a strict content security policy (unless the
//! page set its own), no framing and no referrer outside the site; and when
//! the service's public address is https (`LIANXI_PUBLIC_URL`), HSTS and
//! `Secure` on every cookie, so a session never travels in the clear.

use axum::extract::{Request, State};
use axum::http::header::{
    CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY, SET_COOKIE, STRICT_TRANSPORT_SECURITY,
    X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

use crate::app::AppState;

/// The policy of an HTML answer that names none: its own styles, no
/// script, no frames, forms only to this site.
const HTML_POLICY: &str = "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self'; \
     form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

pub async fn middleware(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    harden(response.headers_mut(), state.public_https());
    response
}

/// Adds what is missing of the security headers to an answer's `headers`.
pub fn harden(headers: &mut HeaderMap, https: bool) {
    headers
        .entry(X_CONTENT_TYPE_OPTIONS)
        .or_insert(HeaderValue::from_static("nosniff"));
    let html = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if html {
        headers
            .entry(CONTENT_SECURITY_POLICY)
            .or_insert(HeaderValue::from_static(HTML_POLICY));
        headers
            .entry(X_FRAME_OPTIONS)
            .or_insert(HeaderValue::from_static("DENY"));
        headers
            .entry(REFERRER_POLICY)
            .or_insert(HeaderValue::from_static("same-origin"));
    }
    if https {
        headers.insert(
            STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
        let cookies: Vec<HeaderValue> = headers.get_all(SET_COOKIE).iter().cloned().collect();
        if !cookies.is_empty() {
            headers.remove(SET_COOKIE);
            for cookie in cookies {
                let text = cookie.to_str().unwrap_or_default();
                let secure = text
                    .split(';')
                    .any(|part| part.trim().eq_ignore_ascii_case("secure"));
                let value = if secure {
                    cookie
                } else {
                    HeaderValue::from_str(&format!("{text}; Secure")).unwrap_or(cookie)
                };
                headers.append(SET_COOKIE, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_secure_and_hsts_is_sent_only_behind_https() {
        let mut headers = HeaderMap::new();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        headers.append(
            SET_COOKIE,
            HeaderValue::from_static("a=1; Path=/; HttpOnly"),
        );
        headers.append(SET_COOKIE, HeaderValue::from_static("b=2; Secure"));
        let mut plain = headers.clone();
        harden(&mut plain, false);
        assert!(plain.get(STRICT_TRANSPORT_SECURITY).is_none());
        assert_eq!(plain.get_all(SET_COOKIE).iter().count(), 2);
        assert!(plain
            .get_all(SET_COOKIE)
            .iter()
            .any(|c| c == "a=1; Path=/; HttpOnly"));
        harden(&mut headers, true);
        let cookies: Vec<_> = headers.get_all(SET_COOKIE).iter().collect();
        assert_eq!(cookies, ["a=1; Path=/; HttpOnly; Secure", "b=2; Secure"]);
        assert!(headers.get(STRICT_TRANSPORT_SECURITY).is_some());
        assert_eq!(
            headers.get(X_FRAME_OPTIONS).map(|v| v.as_bytes()),
            Some(&b"DENY"[..])
        );
        assert!(headers.get(CONTENT_SECURITY_POLICY).is_some());
    }

    #[test]
    fn a_page_keeps_its_own_policy() {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/html"));
        headers.insert(
            CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'self'"),
        );
        harden(&mut headers, false);
        assert_eq!(
            headers.get(CONTENT_SECURITY_POLICY).map(|v| v.as_bytes()),
            Some(&b"default-src 'self'"[..])
        );
        let mut json = HeaderMap::new();
        json.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        harden(&mut json, false);
        assert!(json.get(CONTENT_SECURITY_POLICY).is_none());
        assert!(json.get(X_CONTENT_TYPE_OPTIONS).is_some());
    }
}
