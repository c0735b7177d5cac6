//! Webhook delivery: works off the outbox the `webhook_outbox` projection
//! fills, one row per grievance event and subscription.
//!
//! For each due row the worker claims it (a conditional update, so two
//! instances never send the same attempt), checks that the subscribing
//! account may see the grievance now (otherwise the row is `skipped`), and
//! POSTs a JSON body signed with the subscription's secret:
//!
//! - Standard Webhooks headers, which its published verifiers check:
//!   `webhook-id` (the event's id, the same on every retry),
//!   `webhook-timestamp` (seconds since the epoch) and `webhook-signature`
//!   (`v1,` and the base64 HMAC-SHA256 of `<id>.<timestamp>.<body>` under
//!   the subscription's key, given as `signing_secret`);
//! - the same as `Lianxi-Event-Id`, `Lianxi-Timestamp` and
//!   `Lianxi-Signature` (`v1=` and the hex HMAC-SHA256 of
//!   `<timestamp>.<body>` under `secret`), as before.
//!
//! Only destinations webhooks may reach are sent to (the allowlist, else
//! public addresses, checked again at each attempt and when a name is
//! resolved); a refused destination is a dead letter at once, and a
//! redirect answer is a failure, never followed.
//!
//! A 2xx answer settles the row; anything else is retried with exponential
//! backoff until the attempts run out, then the row is `dead` and listed at
//! `GET /api/v1/webhooks/{id}/dead-letters`, from where it can be queued
//! again.

use std::time::Duration;

use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;
use tokio::sync::watch;
use tracing::{debug, warn};

use crate::app::deliveries::{
    claim, due, forget_settled, may_see, refused, refused_by_check, retry_later, settle,
};
use crate::app::error::DbError;
use crate::app::webhooks::standard_signature;
use crate::app::AppState;

/// How deliveries are retried.
#[derive(Clone, Copy, Debug)]
pub struct WebhookSettings {
    /// Attempts before a delivery is dead.
    pub max_attempts: i32,
    /// The wait after the first failed attempt; doubled after each next one.
    pub backoff: Duration,
    /// The longest wait between attempts.
    pub max_backoff: Duration,
    /// How long one attempt may take.
    pub timeout: Duration,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            max_attempts: 8,
            backoff: Duration::from_secs(5),
            max_backoff: Duration::from_secs(3600),
            timeout: Duration::from_secs(10),
        }
    }
}

impl WebhookSettings {
    /// The wait after `attempts` failed attempts.
    pub fn wait_after(&self, attempts: i32) -> Duration {
        let doublings = attempts.saturating_sub(1).clamp(0, 20) as u32;
        self.backoff
            .saturating_mul(2u32.saturating_pow(doublings))
            .min(self.max_backoff)
    }
}

/// The signature header's value for `body` sent at `timestamp`.
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .expect("HMAC takes a key of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// One pass: claims, checks and sends every due delivery; how many were sent.
pub async fn tick(
    app: &AppState,
    client: &reqwest::Client,
    settings: &WebhookSettings,
) -> Result<usize, DbError> {
    let now = chrono::Utc::now().timestamp_millis();
    let mut sent = 0;
    for d in due(app, now).await? {
        // Claim the attempt: another instance that read the same row loses.
        let lease = now + settings.timeout.as_millis() as i64 * 3;
        if !claim(app, &d, lease).await? {
            continue;
        }
        if let Some(reason) = refused(app, &d.url) {
            counted("refused");
            settle(app, &d, "dead", Some(&reason), now).await?;
            continue;
        }
        if !may_see(app, &d).await? {
            counted("skipped");
            settle(app, &d, "skipped", None, now).await?;
            continue;
        }
        let body = json!({
            "event_id": d.event_id,
            "event_type": d.event_type,
            "grievance": d.grievance,
            "sequence": d.sequence,
            "subscription": d.subscription,
        })
        .to_string();
        let timestamp = chrono::Utc::now().timestamp();
        let answer = client
            .post(&d.url)
            .header("content-type", "application/json")
            .header("webhook-id", &d.event_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header(
                "webhook-signature",
                standard_signature(&d.secret, &d.event_id, timestamp, body.as_bytes()),
            )
            .header("lianxi-event-id", &d.event_id)
            .header("lianxi-timestamp", timestamp.to_string())
            .header(
                "lianxi-signature",
                signature(&d.secret, timestamp, body.as_bytes()),
            )
            .timeout(settings.timeout)
            .body(body)
            .send()
            .await;
        let failure = match answer {
            Ok(r) if r.status().is_success() => None,
            Ok(r) => Some(format!("answered {}", r.status().as_u16())),
            Err(e) => {
                if let Some(reason) = refused_by_check(&e) {
                    // Nothing was sent: the name resolves inside.
                    let now = chrono::Utc::now().timestamp_millis();
                    counted("refused");
                    settle(app, &d, "dead", Some(&reason), now).await?;
                    continue;
                }
                Some(if e.is_timeout() {
                    "timed out".to_owned()
                } else {
                    "could not connect".to_owned()
                })
            }
        };
        sent += 1;
        let now = chrono::Utc::now().timestamp_millis();
        match failure {
            None => {
                counted("delivered");
                settle(app, &d, "delivered", None, now).await?
            }
            Some(error) if d.attempts + 1 >= settings.max_attempts => {
                warn!(event_id = %d.event_id, %error, "a webhook delivery is dead after its last attempt");
                counted("dead");
                settle(app, &d, "dead", Some(&error), now).await?
            }
            Some(error) => {
                debug!(event_id = %d.event_id, %error, "a webhook delivery failed; retrying later");
                counted("failed");
                let next = now + settings.wait_after(d.attempts + 1).as_millis() as i64;
                retry_later(app, &d, next, &error).await?;
            }
        }
    }
    Ok(sent)
}

fn counted(outcome: &'static str) {
    metrics::counter!("lianxi_webhook_deliveries_total", "outcome" => outcome).increment(1);
}

/// Runs [`tick`] every `interval` until `shutdown` turns true.
pub async fn run(
    app: AppState,
    settings: WebhookSettings,
    interval: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    let client = crate::app::deliveries::client(&app, settings.timeout);
    let mut passes: u64 = 0;
    while !*shutdown.borrow() {
        // Now and then, not on every pass: the table only grows slowly.
        if passes.is_multiple_of(1000) {
            if let Err(e) = forget_settled(&app, chrono::Utc::now().timestamp_millis()).await {
                warn!(error = %e, "cannot forget settled webhook deliveries");
            }
        }
        passes = passes.wrapping_add(1);
        match tick(&app, &client, &settings).await {
            Ok(n) if n > 0 => debug!(sent = n, "webhook pass"),
            Ok(_) => {}
            Err(e) => warn!(error = %e, "webhook pass failed"),
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = shutdown.changed() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        let s = WebhookSettings {
            backoff: Duration::from_secs(5),
            max_backoff: Duration::from_secs(60),
            ..WebhookSettings::default()
        };
        let waits: Vec<u64> = (1..=6).map(|a| s.wait_after(a).as_secs()).collect();
        assert_eq!(waits, vec![5, 10, 20, 40, 60, 60]);
    }

    #[test]
    fn the_signature_covers_timestamp_and_body() {
        let a = signature("secret", 1_700_000_000, b"{}");
        assert!(a.starts_with("v1=") && a.len() == 3 + 64);
        assert_ne!(a, signature("secret", 1_700_000_001, b"{}"));
        assert_ne!(a, signature("secret", 1_700_000_000, b"{ }"));
        assert_ne!(a, signature("other", 1_700_000_000, b"{}"));
    }
}
