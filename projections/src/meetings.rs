//! Read models of joint meetings and mediation cases, and their queries.
//!
//! Like the grievance list, each row holds the aggregate's state as its own
//! `apply` folds it, plus the columns lists filter on. Two derived tables
//! are rewritten with their stream: `meeting_action_items` (open ones come
//! back on the next agenda) and `case_obligations` (the scheduler marks open
//! ones missed when they fall due).

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, SubsecRound, Utc};
use cqrs_es::Aggregate;
use lianxi_domain::mediation::{MediationCase, MediationCaseState, ObligationStatus};
use lianxi_domain::meeting::{JointMeeting, JointMeetingState};
use serde::de::DeserializeOwned;
use serde::Serialize;
use sqlx::types::Json;
use sqlx::Row;
use uuid::Uuid;

use crate::feed::FeedEvent;
use crate::grievance_list::{exec, sqlite_copy_ddl};
use crate::on_store;
use crate::runner::Projection;
use crate::store::{sql, Id, Store, StoreError, Tx};

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

const SHADOW: Tables = Tables {
    meetings: "meeting_list_rebuild",
    action_items: "meeting_action_items_rebuild",
    cases: "case_list_rebuild",
    obligations: "case_obligations_rebuild",
};

/// Postgres keeps microseconds; both stores get the same instant.
fn micros(t: DateTime<Utc>) -> DateTime<Utc> {
    t.trunc_subsecs(6)
}

/// Loads the row of stream `id` in `table`: its folded state and version.
async fn load_row<A: DeserializeOwned + Default>(
    tx: &mut Tx<'_>,
    table: &str,
    id: Uuid,
) -> Result<(A, i64), StoreError> {
    let text = format!("SELECT state, version FROM {table} WHERE id = $1");
    let row = on_store!(tx, Tx, |conn, pg| {
        sqlx::query(&sql(pg, &text))
            .bind(Id(id))
            .fetch_optional(&mut **conn)
            .await?
            .map(|r| -> Result<(A, i64), sqlx::Error> {
                let state: String = if pg {
                    r.try_get::<Json<serde_json::Value>, _>("state")?
                        .0
                        .to_string()
                } else {
                    r.try_get("state")?
                };
                let version: i64 = r.try_get("version")?;
                let state =
                    serde_json::from_str(&state).map_err(|e| sqlx::Error::Decode(e.into()))?;
                Ok((state, version))
            })
            .transpose()?
    });
    Ok(row.unwrap_or_default())
}

/// Folds `events` (one stream, in order) onto the stored row; returns the
/// new state and version, or `None` if every event was applied already.
async fn fold<A>(
    tx: &mut Tx<'_>,
    table: &str,
    id: Uuid,
    events: &[&FeedEvent],
) -> Result<Option<(A, i64)>, StoreError>
where
    A: Aggregate + DeserializeOwned + Default,
{
    let (mut aggregate, mut version): (A, i64) = load_row(tx, table, id).await?;
    let mut changed = false;
    for event in events {
        if event.sequence <= version {
            // Already applied: a replayed batch changes nothing.
            continue;
        }
        let payload: A::Event =
            serde_json::from_str(&event.payload).map_err(|e| StoreError::Decode {
                what: format!(
                    "{} {} of {} {id}",
                    event.event_type,
                    event.sequence,
                    A::TYPE
                ),
                message: e.to_string(),
            })?;
        aggregate.apply(payload);
        version = event.sequence;
        changed = true;
    }
    Ok(changed.then_some((aggregate, version)))
}

fn to_json<T: Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Decode {
        what: "state".into(),
        message: e.to_string(),
    })
}

async fn store_meeting(
    tx: &mut Tx<'_>,
    tables: Tables,
    meeting: &JointMeeting,
    version: i64,
) -> Result<(), StoreError> {
    let Some(m) = meeting.state() else {
        return Ok(());
    };
    let state = to_json(meeting)?;
    let upsert = format!(
        "INSERT INTO {} (id, xiaoqu, kind, status, scheduled_for, convened_at, closed_at, version, state) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, {}) \
         ON CONFLICT (id) DO UPDATE SET status = excluded.status, scheduled_for = excluded.scheduled_for, \
         closed_at = excluded.closed_at, version = excluded.version, state = excluded.state",
        tables.meetings,
        if matches!(tx, Tx::Postgres(_)) { "$9::jsonb" } else { "$9" },
    );
    let delete_items = format!("DELETE FROM {} WHERE meeting = $1", tables.action_items);
    let insert_item = format!(
        "INSERT INTO {} (id, meeting, xiaoqu, owner, description, due_at, done_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        tables.action_items
    );
    on_store!(tx, Tx, |conn, pg| {
        sqlx::query(&sql(pg, &upsert))
            .bind(Id(m.id.0))
            .bind(Id(m.xiaoqu.0))
            .bind(wire(&m.kind))
            .bind(m.status.as_str())
            .bind(micros(m.scheduled_for))
            .bind(micros(m.convened_at))
            .bind(m.closed_at.map(micros))
            .bind(version)
            .bind(&state)
            .execute(&mut **conn)
            .await?;
        sqlx::query(&sql(pg, &delete_items))
            .bind(Id(m.id.0))
            .execute(&mut **conn)
            .await?;
        for item in &m.action_items {
            sqlx::query(&sql(pg, &insert_item))
                .bind(Id(item.id.0))
                .bind(Id(m.id.0))
                .bind(Id(m.xiaoqu.0))
                .bind(wire(&item.owner))
                .bind(item.description.as_str())
                .bind(micros(item.due_at))
                .bind(item.done_at.map(micros))
                .execute(&mut **conn)
                .await?;
        }
    });
    Ok(())
}

async fn store_case(
    tx: &mut Tx<'_>,
    tables: Tables,
    case: &MediationCase,
    version: i64,
) -> Result<(), StoreError> {
    let Some(c) = case.state() else {
        return Ok(());
    };
    let state = to_json(case)?;
    let upsert = format!(
        "INSERT INTO {} (id, xiaoqu, status, tier, matter, opened_at, version, state) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, {}) \
         ON CONFLICT (id) DO UPDATE SET status = excluded.status, tier = excluded.tier, \
         version = excluded.version, state = excluded.state",
        tables.cases,
        if matches!(tx, Tx::Postgres(_)) {
            "$8::jsonb"
        } else {
            "$8"
        },
    );
    let delete = format!("DELETE FROM {} WHERE case_id = $1", tables.obligations);
    let insert = format!(
        "INSERT INTO {} (id, case_id, xiaoqu, status, due_at) VALUES ($1, $2, $3, $4, $5)",
        tables.obligations
    );
    let obligations = c.agreement.iter().flat_map(|a| a.obligations.iter());
    on_store!(tx, Tx, |conn, pg| {
        sqlx::query(&sql(pg, &upsert))
            .bind(Id(c.id.0))
            .bind(Id(c.xiaoqu.0))
            .bind(c.status.as_str())
            .bind(wire(&c.tier))
            .bind(c.matter.as_str())
            .bind(micros(c.opened_at))
            .bind(version)
            .bind(&state)
            .execute(&mut **conn)
            .await?;
        sqlx::query(&sql(pg, &delete))
            .bind(Id(c.id.0))
            .execute(&mut **conn)
            .await?;
        for o in obligations {
            sqlx::query(&sql(pg, &insert))
                .bind(Id(o.id.0))
                .bind(Id(c.id.0))
                .bind(Id(c.xiaoqu.0))
                .bind(wire(&o.status))
                .bind(micros(o.due_at))
                .execute(&mut **conn)
                .await?;
        }
    });
    Ok(())
}

/// A serde enum's wire name (`regular`, `property_company`, …).
fn wire<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

async fn apply(tx: &mut Tx<'_>, tables: Tables, events: &[FeedEvent]) -> Result<(), StoreError> {
    // Streams in the order they first appear; each stream's events in order.
    let mut order: Vec<(&str, Uuid)> = Vec::new();
    let mut streams: HashMap<(&str, Uuid), Vec<&FeedEvent>> = HashMap::new();
    for event in events {
        let kind = event.aggregate_type.as_str();
        if kind != JointMeeting::TYPE && kind != MediationCase::TYPE {
            continue;
        }
        let id = Uuid::parse_str(&event.aggregate_id).map_err(|e| StoreError::Decode {
            what: format!("{kind} id {}", event.aggregate_id),
            message: e.to_string(),
        })?;
        let entry = streams.entry((kind, id)).or_default();
        if entry.is_empty() {
            order.push((kind, id));
        }
        entry.push(event);
    }
    for key in order {
        let (kind, id) = key;
        let Some(stream) = streams.get(&key) else {
            continue;
        };
        if kind == JointMeeting::TYPE {
            if let Some((meeting, version)) =
                fold::<JointMeeting>(tx, tables.meetings, id, stream).await?
            {
                store_meeting(tx, tables, &meeting, version).await?;
            }
        } else if let Some((case, version)) =
            fold::<MediationCase>(tx, tables.cases, id, stream).await?
        {
            store_case(tx, tables, &case, version).await?;
        }
    }
    Ok(())
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
        for (live, shadow) in LIVE.all().into_iter().zip(SHADOW.all()) {
            exec(tx, &format!("DROP TABLE IF EXISTS {shadow}")).await?;
            match tx {
                Tx::Postgres(_) => {
                    exec(
                        tx,
                        &format!("CREATE TABLE {shadow} (LIKE {live} INCLUDING ALL)"),
                    )
                    .await?;
                }
                Tx::Sqlite(_) => {
                    for ddl in sqlite_copy_ddl(tx, live, shadow).await? {
                        exec(tx, &ddl).await?;
                    }
                }
            }
        }
        Ok(())
    }

    fn shadow(&self) -> Option<Arc<dyn Projection>> {
        None
    }

    async fn swap_in(&self, tx: &mut Tx<'_>) -> Result<(), StoreError> {
        for (live, shadow) in LIVE.all().into_iter().zip(SHADOW.all()) {
            exec(tx, &format!("DROP TABLE {live}")).await?;
            exec(tx, &format!("ALTER TABLE {shadow} RENAME TO {live}")).await?;
        }
        Ok(())
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
