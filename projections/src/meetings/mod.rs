//! Read models of joint meetings and mediation cases, and their queries.
//!
//! Like the grievance list, each row holds the aggregate's state as its own
//! `apply` folds it, plus the columns lists filter on. Two derived tables
//! are rewritten with their stream: `meeting_action_items` (open ones come
//! back on the next agenda) and `case_obligations` (the scheduler marks open
//! ones missed when they fall due).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use cqrs_es::Aggregate;
use lianxi_domain::mediation::{MediationCase, MediationCaseState, ObligationStatus};
use lianxi_domain::meeting::{JointMeeting, JointMeetingState};
use serde::de::DeserializeOwned;
use serde::Serialize;
use sqlx::types::Json;
use sqlx::Row;
use uuid::Uuid;

use crate::feed::FeedEvent;
use crate::on_store;
use crate::runner::{Fold, Projection};
use crate::shadow::{self, exec};

mod rows;
use crate::store::{sql, Id, Store, StoreError, Tx};
use rows::Rows;

/// The projection's name (its checkpoint key).
pub const NAME: &str = "meetings_and_cases";

#[derive(Debug, Default)]
pub struct MeetingsAndCases;

/// The same read model in fresh tables, for rebuilds.
#[derive(Debug, Default)]
struct Shadow;

/// Table names of one copy of the read model.
#[derive(Clone, Copy, Debug)]
struct Tables {
    meetings: &'static str,
    action_items: &'static str,
    cases: &'static str,
    obligations: &'static str,
}

impl Tables {
    fn all(self) -> [&'static str; 4] {
        [
            self.meetings,
            self.action_items,
            self.cases,
            self.obligations,
        ]
    }
}

const LIVE: Tables = Tables {
    meetings: "meeting_list",
    action_items: "meeting_action_items",
    cases: "case_list",
    obligations: "case_obligations",
};

/// Each live table and its shadow.
fn pairs() -> Vec<(&'static str, &'static str)> {
    LIVE.all().into_iter().zip(SHADOW.all()).collect()
}

const SHADOW: Tables = Tables {
    meetings: "meeting_list_rebuild",
    action_items: "meeting_action_items_rebuild",
    cases: "case_list_rebuild",
    obligations: "case_obligations_rebuild",
};

/// A serde enum's wire name (`regular`, `property_company`, …).
pub(super) fn wire<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

/// Folds a batch onto the rows it touches: one query per kind to load them,
/// a few to write them back.
async fn apply(tx: &mut Tx<'_>, tables: Tables, events: &[FeedEvent]) -> Result<(), StoreError> {
    let parsed = rows::parse(events)?;
    if parsed.is_empty() {
        return Ok(());
    }
    let mut held = Rows::default();
    let (meetings, cases) = held.missing(&parsed, None);
    let meetings = rows::load(tx, tables.meetings, &meetings).await?;
    let cases = rows::load(tx, tables.cases, &cases).await?;
    held.fold(parsed, meetings, cases)?;
    held.write(tx, tables).await
}

/// The read model folded in memory during a one-pass rebuild, written to
/// the shadow tables.
#[derive(Default)]
struct ShadowFold {
    rows: Rows,
    /// Streams whose rows were written out: read back when they go on.
    written: HashSet<Uuid>,
}

#[async_trait]
impl Fold for ShadowFold {
    async fn add(&mut self, store: &Store, events: &[FeedEvent]) -> Result<(), StoreError> {
        let parsed = rows::parse(events)?;
        let (meetings, cases) = self.rows.missing(&parsed, Some(&self.written));
        let (meetings, cases) = if meetings.is_empty() && cases.is_empty() {
            (HashMap::new(), HashMap::new())
        } else {
            in_tx!(store, |t| {
                let meetings = rows::load(t, SHADOW.meetings, &meetings).await?;
                let cases = rows::load(t, SHADOW.cases, &cases).await?;
                Ok::<_, StoreError>((meetings, cases))
            })?
        };
        self.rows.fold(parsed, meetings, cases)
    }

    fn held(&self) -> usize {
        self.rows.len()
    }

    async fn flush(&mut self, store: &Store) -> Result<(), StoreError> {
        if self.rows.len() == 0 {
            return Ok(());
        }
        let rows = &self.rows;
        in_tx!(store, |t| { rows.write(t, SHADOW).await })?;
        self.written.extend(self.rows.ids());
        self.rows = Rows::default();
        Ok(())
    }
}

/// Whether a batch holds an event of a joint meeting or a mediation case.
pub fn any_meeting_or_case(events: &[FeedEvent]) -> bool {
    events.iter().any(|e| {
        let kind = e.aggregate_type.as_str();
        kind == JointMeeting::TYPE || kind == MediationCase::TYPE
    })
}

#[async_trait]
impl Projection for MeetingsAndCases {
    fn name(&self) -> &str {
        NAME
    }

    async fn apply(&self, tx: &mut Tx<'_>, events: &[FeedEvent]) -> Result<(), StoreError> {
        apply(tx, LIVE, events).await
    }

    async fn concerns(&self, _: &Store, events: &[FeedEvent]) -> Result<bool, StoreError> {
        Ok(any_meeting_or_case(events))
    }

    async fn clear(&self, tx: &mut Tx<'_>) -> Result<(), StoreError> {
        for table in LIVE.all() {
            exec(tx, &format!("DELETE FROM {table}")).await?;
        }
        Ok(())
    }

    fn shadow(&self) -> Option<Arc<dyn Projection>> {
        Some(Arc::new(Shadow))
    }
}

#[async_trait]
impl Projection for Shadow {
    fn name(&self) -> &str {
        "meetings_and_cases~rebuild"
    }

    async fn apply(&self, tx: &mut Tx<'_>, events: &[FeedEvent]) -> Result<(), StoreError> {
        apply(tx, SHADOW, events).await
    }

    async fn concerns(&self, _: &Store, events: &[FeedEvent]) -> Result<bool, StoreError> {
        Ok(any_meeting_or_case(events))
    }

    /// Creates the shadow tables afresh, shaped like the live ones.
    async fn clear(&self, tx: &mut Tx<'_>) -> Result<(), StoreError> {
        shadow::create(tx, &pairs()).await
    }

    fn shadow(&self) -> Option<Arc<dyn Projection>> {
        None
    }

    fn fold(&self) -> Option<Box<dyn Fold>> {
        Some(Box::<ShadowFold>::default())
    }

    async fn swap_in(&self, tx: &mut Tx<'_>) -> Result<(), StoreError> {
        shadow::swap_in(tx, &pairs()).await
    }
}

async fn fetch_states<A: DeserializeOwned>(
    store: &Store,
    text: &str,
    xiaoqu: Uuid,
    limit: i64,
) -> Result<Vec<A>, StoreError> {
    on_store!(store, Store, |pool, pg| {
        let rows = sqlx::query(&sql(pg, text))
            .bind(Id(xiaoqu))
            .bind(limit)
            .fetch_all(pool)
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let state: String = if pg {
                r.try_get::<Json<serde_json::Value>, _>("state")?
                    .0
                    .to_string()
            } else {
                r.try_get("state")?
            };
            out.push(
                serde_json::from_str(&state).map_err(|e| StoreError::Decode {
                    what: "state".into(),
                    message: e.to_string(),
                })?,
            );
        }
        Ok(out)
    })
}

/// The meetings of a xiaoqu, latest scheduled first.
pub async fn meetings(
    store: &Store,
    xiaoqu: Uuid,
    limit: i64,
) -> Result<Vec<JointMeetingState>, StoreError> {
    let text = "SELECT state FROM meeting_list WHERE xiaoqu = $1 \
                ORDER BY scheduled_for DESC, id DESC LIMIT $2";
    let meetings: Vec<JointMeeting> = fetch_states(store, text, xiaoqu, limit).await?;
    Ok(meetings
        .into_iter()
        .filter_map(|m| m.state().cloned())
        .collect())
}

/// The mediation cases of a xiaoqu, latest opened first.
pub async fn cases(
    store: &Store,
    xiaoqu: Uuid,
    limit: i64,
) -> Result<Vec<MediationCaseState>, StoreError> {
    let text = "SELECT state FROM case_list WHERE xiaoqu = $1 \
                ORDER BY opened_at DESC, id DESC LIMIT $2";
    let cases: Vec<MediationCase> = fetch_states(store, text, xiaoqu, limit).await?;
    Ok(cases
        .into_iter()
        .filter_map(|c| c.state().cloned())
        .collect())
}

/// An action item not done yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenActionItem {
    pub id: Uuid,
    pub meeting: Uuid,
    /// The owner party's wire name.
    pub owner: String,
    pub description: String,
    pub due_at: DateTime<Utc>,
}

/// The open action items of a xiaoqu, soonest due first.
pub async fn open_action_items(
    store: &Store,
    xiaoqu: Uuid,
) -> Result<Vec<OpenActionItem>, StoreError> {
    let text = "SELECT id, meeting, owner, description, due_at FROM meeting_action_items \
                WHERE xiaoqu = $1 AND done_at IS NULL ORDER BY due_at, id";
    on_store!(store, Store, |pool, pg| {
        let rows = sqlx::query(&sql(pg, text))
            .bind(Id(xiaoqu))
            .fetch_all(pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(OpenActionItem {
                    id: r.try_get::<Id, _>("id")?.0,
                    meeting: r.try_get::<Id, _>("meeting")?.0,
                    owner: r.try_get("owner")?,
                    description: r.try_get("description")?,
                    due_at: r.try_get("due_at")?,
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()
            .map_err(Into::into)
    })
}

/// The mediation cases of a xiaoqu with obligations still open, the one
/// with the soonest due first.
pub async fn cases_with_open_obligations(
    store: &Store,
    xiaoqu: Uuid,
) -> Result<Vec<Uuid>, StoreError> {
    let open = wire(&ObligationStatus::Open);
    let text = "SELECT case_id, MIN(due_at) AS first_due FROM case_obligations \
                WHERE xiaoqu = $1 AND status = $2 GROUP BY case_id ORDER BY first_due, case_id";
    on_store!(store, Store, |pool, pg| {
        let rows = sqlx::query(&sql(pg, text))
            .bind(Id(xiaoqu))
            .bind(&open)
            .fetch_all(pool)
            .await?;
        rows.iter()
            .map(|r| Ok(r.try_get::<Id, _>("case_id")?.0))
            .collect::<Result<Vec<_>, sqlx::Error>>()
            .map_err(Into::into)
    })
}

/// An open obligation whose due date passed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DueObligation {
    pub case: Uuid,
    pub obligation: Uuid,
    pub due_at: DateTime<Utc>,
}

/// Open obligations due at or before `now`, oldest first.
pub async fn due_obligations(
    store: &Store,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<DueObligation>, StoreError> {
    let open = wire(&ObligationStatus::Open);
    let text = "SELECT id, case_id, due_at FROM case_obligations \
                WHERE status = $1 AND due_at <= $2 ORDER BY due_at LIMIT $3";
    on_store!(store, Store, |pool, pg| {
        let rows = sqlx::query(&sql(pg, text))
            .bind(&open)
            .bind(now)
            .bind(limit)
            .fetch_all(pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(DueObligation {
                    case: r.try_get::<Id, _>("case_id")?.0,
                    obligation: r.try_get::<Id, _>("id")?.0,
                    due_at: r.try_get("due_at")?,
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()
            .map_err(Into::into)
    })
}
