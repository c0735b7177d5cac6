//! The outbox of webhook deliveries: for every grievance event, one pending
//! row per active subscription, written in the same transaction as the
//! checkpoint, so an event is queued exactly once per subscription however
//! the runner stops. The gateway's delivery worker decides visibility,
//! signs, sends and retries; a retry carries the same event id.

use std::sync::Arc;

use async_trait::async_trait;

use crate::feed::FeedEvent;
use crate::on_store;
use crate::runner::Projection;
use crate::shadow::exec;
use crate::store::{sql, Store, StoreError, Tx};

/// The projection's name (its checkpoint key).
pub const NAME: &str = "webhook_outbox";

#[derive(Debug, Default)]
pub struct WebhookOutbox;

#[async_trait]
impl Projection for WebhookOutbox {
    fn name(&self) -> &str {
        NAME
    }

    /// Without an active subscription (the usual case) a batch costs one
    /// query and no transaction.
    async fn concerns(&self, store: &Store, events: &[FeedEvent]) -> Result<bool, StoreError> {
        if !events.iter().any(|e| e.aggregate_type == "grievance") {
            return Ok(false);
        }
        let subscribed: bool = on_store!(store, Store, |pool, _pg| {
            sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM webhook_subscriptions WHERE disabled_ms IS NULL)",
            )
            .fetch_one(pool)
            .await?
        });
        Ok(subscribed)
    }

    async fn apply(&self, tx: &mut Tx<'_>, events: &[FeedEvent]) -> Result<(), StoreError> {
        let now = chrono::Utc::now().timestamp_millis();
        for event in events.iter().filter(|e| e.aggregate_type == "grievance") {
            on_store!(tx, Tx, |conn, pg| {
                let event_id = if pg { "e.event_id::text" } else { "e.event_id" };
                let text = format!(
                    "INSERT INTO webhook_deliveries \
                     (subscription_id, event_id, grievance_id, event_type, sequence, \
                      global_position, status, attempts, next_attempt_ms) \
                     SELECT s.id, {event_id}, e.aggregate_id, e.event_type, e.sequence, \
                            e.global_position, 'pending', 0, $3 \
                       FROM webhook_subscriptions s, events e \
                      WHERE s.disabled_ms IS NULL \
                        AND e.aggregate_type = 'grievance' AND e.aggregate_id = $1 \
                        AND e.sequence = $2 \
                     ON CONFLICT DO NOTHING"
                );
                sqlx::query(&sql(pg, &text))
                    .bind(&event.aggregate_id)
                    .bind(event.sequence)
                    .bind(now)
                    .execute(&mut **conn)
                    .await?;
            });
        }
        Ok(())
    }

    async fn clear(&self, tx: &mut Tx<'_>) -> Result<(), StoreError> {
        exec(
            tx,
            "DELETE FROM webhook_deliveries WHERE status = 'pending'",
        )
        .await
    }

    /// An outbox is not rebuilt: what it held was delivered.
    fn shadow(&self) -> Option<Arc<dyn Projection>> {
        None
    }
}
