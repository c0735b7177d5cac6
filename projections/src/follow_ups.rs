//! The outbox of the process manager that makes grievances follow their
//! mediation cases and joint meetings.
//!
//! This "projection" records every case and meeting event, exactly once and
//! in the same transaction as its checkpoint, as a pending row. The
//! gateway's follow-up worker turns each row into grievance commands, which
//! the grievances accept at most once (they remember the last event they
//! followed), and deletes the row. A crash between the two only repeats a
//! command that then changes nothing.

use std::sync::Arc;

use async_trait::async_trait;
use cqrs_es::Aggregate;
use lianxi_domain::mediation::MediationCase;
use lianxi_domain::meeting::JointMeeting;
use sqlx::Row;

use crate::feed::FeedEvent;
use crate::on_store;
use crate::runner::Projection;
use crate::shadow::exec;
use crate::store::{sql, Store, StoreError, Tx};

/// The projection's name (its checkpoint key).
pub const NAME: &str = "follow_ups";

#[derive(Debug, Default)]
pub struct FollowUps;

/// An event whose grievances may still have to follow it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingFollowUp {
    pub source_type: String,
    pub source_id: String,
    pub sequence: i64,
    pub event_type: String,
}

#[async_trait]
impl Projection for FollowUps {
    fn name(&self) -> &str {
        NAME
    }

    async fn apply(&self, tx: &mut Tx<'_>, events: &[FeedEvent]) -> Result<(), StoreError> {
        let text = "INSERT INTO pending_follow_ups \
                    (source_type, source_id, sequence, event_type, global_position) \
                    VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING";
        let sources = [MediationCase::TYPE, JointMeeting::TYPE];
        for event in events
            .iter()
            .filter(|e| sources.contains(&e.aggregate_type.as_str()))
        {
            on_store!(tx, Tx, |conn, pg| {
                sqlx::query(&sql(pg, text))
                    .bind(&event.aggregate_type)
                    .bind(&event.aggregate_id)
                    .bind(event.sequence)
                    .bind(&event.event_type)
                    .bind(event.position.global_position)
                    .execute(&mut **conn)
                    .await?;
            });
        }
        Ok(())
    }

    async fn clear(&self, tx: &mut Tx<'_>) -> Result<(), StoreError> {
        exec(tx, "DELETE FROM pending_follow_ups").await
    }

    async fn concerns(&self, _: &Store, events: &[FeedEvent]) -> Result<bool, StoreError> {
        Ok(crate::meetings::any_meeting_or_case(events))
    }

    /// An outbox is not rebuilt: what it held was delivered.
    fn shadow(&self) -> Option<Arc<dyn Projection>> {
        None
    }
}

/// Up to `limit` pending rows, in feed order.
pub async fn pending(store: &Store, limit: i64) -> Result<Vec<PendingFollowUp>, StoreError> {
    let text = "SELECT source_type, source_id, sequence, event_type FROM pending_follow_ups \
                ORDER BY global_position LIMIT $1";
    on_store!(store, Store, |pool, pg| {
        let rows = sqlx::query(&sql(pg, text))
            .bind(limit)
            .fetch_all(pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(PendingFollowUp {
                    source_type: r.try_get("source_type")?,
                    source_id: r.try_get("source_id")?,
                    sequence: r.try_get("sequence")?,
                    event_type: r.try_get("event_type")?,
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()
            .map_err(Into::into)
    })
}

/// Removes a row whose grievances followed it.
pub async fn done(store: &Store, row: &PendingFollowUp) -> Result<(), StoreError> {
    let text = "DELETE FROM pending_follow_ups \
                WHERE source_type = $1 AND source_id = $2 AND sequence = $3";
    on_store!(store, Store, |pool, pg| {
        sqlx::query(&sql(pg, text))
            .bind(&row.source_type)
            .bind(&row.source_id)
            .bind(row.sequence)
            .execute(pool)
            .await?;
    });
    Ok(())
}

/// How many rows wait: for metrics and readiness of tests.
pub async fn backlog(store: &Store) -> Result<i64, StoreError> {
    on_store!(store, Store, |pool, _pg| {
        Ok(
            sqlx::query_scalar("SELECT count(*) FROM pending_follow_ups")
                .fetch_one(pool)
                .await?,
        )
    })
}
