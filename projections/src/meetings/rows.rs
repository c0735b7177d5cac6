//! Folding meeting and case streams onto their rows, and writing the rows
//! and their action items and obligations a few thousand per statement.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};

use cqrs_es::Aggregate;
use lianxi_domain::mediation::MediationCase;
use lianxi_domain::meeting::JointMeeting;
use serde::de::DeserializeOwned;
use serde::Serialize;
use sqlx::Row;
use uuid::Uuid;

use super::{wire, Tables};
use crate::feed::FeedEvent;
use crate::grievance_list::stamp;
use crate::on_store;
use crate::store::{StoreError, Tx};

/// Rows written per statement.
const ROWS_PER_STATEMENT: usize = 2_000;

/// Which read model a stream feeds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum Kind {
    Meeting,
    Case,
}

/// The meeting and case events of `events`, with their streams.
pub(super) fn parse(events: &[FeedEvent]) -> Result<Vec<(Kind, Uuid, &FeedEvent)>, StoreError> {
    let mut out = Vec::new();
    for event in events {
        let kind = match event.aggregate_type.as_str() {
            t if t == JointMeeting::TYPE => Kind::Meeting,
            t if t == MediationCase::TYPE => Kind::Case,
            _ => continue,
        };
        let id = Uuid::parse_str(&event.aggregate_id).map_err(|e| StoreError::Decode {
            what: format!("{} id {}", event.aggregate_type, event.aggregate_id),
            message: e.to_string(),
        })?;
        out.push((kind, id, event));
    }
    Ok(out)
}

/// A stream's folded state.
struct Held<A> {
    aggregate: A,
    version: i64,
    /// Whether an event changed it (a replayed one does not).
    changed: bool,
}

/// One kind of row, folded and not yet written, in the order first touched.
struct Folded<A> {
    rows: HashMap<Uuid, Held<A>>,
    order: Vec<Uuid>,
}

impl<A> Default for Folded<A> {
    fn default() -> Self {
        Self {
            rows: HashMap::new(),
            order: Vec::new(),
        }
    }
}

impl<A: Aggregate + Default> Folded<A> {
    fn fold(
        &mut self,
        id: Uuid,
        event: &FeedEvent,
        stored: &mut HashMap<Uuid, (A, i64)>,
    ) -> Result<(), StoreError> {
        let held = match self.rows.entry(id) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) => {
                let (aggregate, version) = stored.remove(&id).unwrap_or_default();
                self.order.push(id);
                e.insert(Held {
                    aggregate,
                    version,
                    changed: false,
                })
            }
        };
        if event.sequence <= held.version {
            // Already applied: a replayed batch changes nothing.
            return Ok(());
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
        held.aggregate.apply(payload);
        held.version = event.sequence;
        held.changed = true;
        Ok(())
    }

    /// The changed rows, a statement's worth at a time.
    fn changed(&self) -> impl Iterator<Item = Vec<(&A, i64)>> + '_ {
        self.order.chunks(ROWS_PER_STATEMENT).map(|ids| {
            ids.iter()
                .filter_map(|id| self.rows.get(id))
                .filter(|h| h.changed)
                .map(|h| (&h.aggregate, h.version))
                .collect()
        })
    }
}

/// Meetings and cases folded from events and not yet written.
#[derive(Default)]
pub(super) struct Rows {
    meetings: Folded<JointMeeting>,
    cases: Folded<MediationCase>,
}

impl Rows {
    pub(super) fn len(&self) -> usize {
        self.meetings.rows.len() + self.cases.rows.len()
    }

    /// The streams of `parsed` this holds no row of, and that `stored`
    /// admits (`None`: any may have a stored row).
    pub(super) fn missing(
        &self,
        parsed: &[(Kind, Uuid, &FeedEvent)],
        stored: Option<&HashSet<Uuid>>,
    ) -> (Vec<Uuid>, Vec<Uuid>) {
        let mut seen = HashSet::new();
        let (mut meetings, mut cases) = (Vec::new(), Vec::new());
        for (kind, id, _) in parsed {
            let held = match kind {
                Kind::Meeting => self.meetings.rows.contains_key(id),
                Kind::Case => self.cases.rows.contains_key(id),
            };
            if held || !stored.is_none_or(|s| s.contains(id)) || !seen.insert(*id) {
                continue;
            }
            match kind {
                Kind::Meeting => meetings.push(*id),
                Kind::Case => cases.push(*id),
            }
        }
        (meetings, cases)
    }

    /// Folds `parsed` onto the rows held, starting a stream not held from
    /// its stored row (or from nothing).
    pub(super) fn fold(
        &mut self,
        parsed: Vec<(Kind, Uuid, &FeedEvent)>,
        mut meetings: HashMap<Uuid, (JointMeeting, i64)>,
        mut cases: HashMap<Uuid, (MediationCase, i64)>,
    ) -> Result<(), StoreError> {
        for (kind, id, event) in parsed {
            match kind {
                Kind::Meeting => self.meetings.fold(id, event, &mut meetings)?,
                Kind::Case => self.cases.fold(id, event, &mut cases)?,
            }
        }
        Ok(())
    }

    /// Every stream held.
    pub(super) fn ids(&self) -> impl Iterator<Item = Uuid> + '_ {
        self.meetings
            .order
            .iter()
            .chain(self.cases.order.iter())
            .copied()
    }

    /// Writes every changed row, and rewrites its action items or
    /// obligations.
    pub(super) async fn write(&self, tx: &mut Tx<'_>, tables: Tables) -> Result<(), StoreError> {
        for chunk in self.meetings.changed() {
            write_meetings(tx, tables, &chunk).await?;
        }
        for chunk in self.cases.changed() {
            write_cases(tx, tables, &chunk).await?;
        }
        Ok(())
    }
}

/// The stored state and version of each of `ids` in `table`.
pub(super) async fn load<A: DeserializeOwned>(
    tx: &mut Tx<'_>,
    table: &str,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, (A, i64)>, StoreError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(String, String, i64)> = match tx {
        Tx::Postgres(conn) => sqlx::query(&format!(
            "SELECT id::text AS id, state::text AS state, version FROM {table} WHERE id = ANY($1)"
        ))
        .bind(ids)
        .fetch_all(&mut **conn)
        .await?
        .into_iter()
        .map(|r| Ok((r.try_get("id")?, r.try_get("state")?, r.try_get("version")?)))
        .collect::<Result<_, sqlx::Error>>()?,
        Tx::Sqlite(conn) => sqlx::query(&format!(
            "SELECT id, state, version FROM {table} WHERE id IN (SELECT value FROM json_each(?1))"
        ))
        .bind(id_list(ids))
        .fetch_all(&mut **conn)
        .await?
        .into_iter()
        .map(|r| Ok((r.try_get("id")?, r.try_get("state")?, r.try_get("version")?)))
        .collect::<Result<_, sqlx::Error>>()?,
    };
    rows.into_iter()
        .map(|(id, state, version)| {
            let decode = |message: String| StoreError::Decode {
                what: format!("row {id} of {table}"),
                message,
            };
            let id = Uuid::parse_str(&id).map_err(|e| decode(e.to_string()))?;
            let state = serde_json::from_str(&state).map_err(|e| decode(e.to_string()))?;
            Ok((id, (state, version)))
        })
        .collect()
}

/// A JSON array of ids, for SQLite's `json_each`.
fn id_list(ids: &[Uuid]) -> String {
    serde_json::to_string(&ids.iter().map(Uuid::to_string).collect::<Vec<_>>())
        .unwrap_or_else(|_| "[]".to_owned())
}

fn to_json<T: Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Decode {
        what: "rows".into(),
        message: e.to_string(),
    })
}

/// A column of a bulk write: its name and PostgreSQL type (`jsonb` columns
/// arrive as JSON text).
type Column = (&'static str, &'static str);

const MEETING_COLUMNS: [Column; 9] = [
    ("id", "uuid"),
    ("xiaoqu", "uuid"),
    ("kind", "text"),
    ("status", "text"),
    ("scheduled_for", "timestamptz"),
    ("convened_at", "timestamptz"),
    ("closed_at", "timestamptz"),
    ("version", "bigint"),
    ("state", "jsonb"),
];
const MEETING_UPDATED: [&str; 5] = ["status", "scheduled_for", "closed_at", "version", "state"];

const ITEM_COLUMNS: [Column; 7] = [
    ("id", "uuid"),
    ("meeting", "uuid"),
    ("xiaoqu", "uuid"),
    ("owner", "text"),
    ("description", "text"),
    ("due_at", "timestamptz"),
    ("done_at", "timestamptz"),
];

const CASE_COLUMNS: [Column; 8] = [
    ("id", "uuid"),
    ("xiaoqu", "uuid"),
    ("status", "text"),
    ("tier", "text"),
    ("matter", "text"),
    ("opened_at", "timestamptz"),
    ("version", "bigint"),
    ("state", "jsonb"),
];
const CASE_UPDATED: [&str; 4] = ["status", "tier", "version", "state"];

const OBLIGATION_COLUMNS: [Column; 5] = [
    ("id", "uuid"),
    ("case_id", "uuid"),
    ("xiaoqu", "uuid"),
    ("status", "text"),
    ("due_at", "timestamptz"),
];

/// Inserts the rows of `json` (an array of objects keyed by column) into
/// `table`, updating `updated` on a conflict of ids when given.
async fn insert_rows(
    tx: &mut Tx<'_>,
    table: &str,
    columns: &[Column],
    updated: &[&str],
    json: String,
) -> Result<(), StoreError> {
    let names = columns.iter().map(|c| c.0).collect::<Vec<_>>().join(", ");
    let on_conflict = if updated.is_empty() {
        String::new()
    } else {
        let set = updated
            .iter()
            .map(|c| format!("{c} = excluded.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        format!(" ON CONFLICT (id) DO UPDATE SET {set}")
    };
    let statement = match tx {
        Tx::Postgres(_) => {
            let record = columns
                .iter()
                .map(|(c, t)| format!("{c} {}", if *t == "jsonb" { "text" } else { t }))
                .collect::<Vec<_>>()
                .join(", ");
            let selected = columns
                .iter()
                .map(|(c, t)| {
                    if *t == "jsonb" {
                        format!("{c}::jsonb")
                    } else {
                        (*c).to_owned()
                    }
                })
                .collect::<Vec<_>>()
                .join(", ");
            format!(
                "INSERT INTO {table} ({names}) SELECT {selected} FROM json_to_recordset($1::json) AS r({record}){on_conflict}"
            )
        }
        Tx::Sqlite(_) => {
            let selected = columns
                .iter()
                .map(|(c, _)| format!("json_extract(value, '$.{c}')"))
                .collect::<Vec<_>>()
                .join(", ");
            format!(
                "INSERT INTO {table} ({names}) SELECT {selected} FROM json_each(?1) WHERE true{on_conflict}"
            )
        }
    };
    on_store!(tx, Tx, |conn, _pg| {
        sqlx::query(&statement)
            .bind(json)
            .execute(&mut **conn)
            .await?;
    });
    Ok(())
}

/// Deletes the rows of `table` whose `column` is one of `ids`.
async fn delete_of(
    tx: &mut Tx<'_>,
    table: &str,
    column: &str,
    ids: &[Uuid],
) -> Result<(), StoreError> {
    match tx {
        Tx::Postgres(conn) => {
            sqlx::query(&format!("DELETE FROM {table} WHERE {column} = ANY($1)"))
                .bind(ids)
                .execute(&mut **conn)
                .await?;
        }
        Tx::Sqlite(conn) => {
            sqlx::query(&format!(
                "DELETE FROM {table} WHERE {column} IN (SELECT value FROM json_each(?1))"
            ))
            .bind(id_list(ids))
            .execute(&mut **conn)
            .await?;
        }
    }
    Ok(())
}

#[derive(Serialize)]
struct MeetingRow {
    id: Uuid,
    xiaoqu: Uuid,
    kind: String,
    status: &'static str,
    scheduled_for: String,
    convened_at: String,
    closed_at: Option<String>,
    version: i64,
    state: String,
}

#[derive(Serialize)]
struct ItemRow<'a> {
    id: Uuid,
    meeting: Uuid,
    xiaoqu: Uuid,
    owner: String,
    description: &'a str,
    due_at: String,
    done_at: Option<String>,
}

async fn write_meetings(
    tx: &mut Tx<'_>,
    tables: Tables,
    meetings: &[(&JointMeeting, i64)],
) -> Result<(), StoreError> {
    let mut rows = Vec::with_capacity(meetings.len());
    let mut items = Vec::new();
    for (meeting, version) in meetings {
        let Some(m) = meeting.state() else { continue };
        rows.push(MeetingRow {
            id: m.id.0,
            xiaoqu: m.xiaoqu.0,
            kind: wire(&m.kind),
            status: m.status.as_str(),
            scheduled_for: stamp(m.scheduled_for),
            convened_at: stamp(m.convened_at),
            closed_at: m.closed_at.map(stamp),
            version: *version,
            state: to_json(meeting)?,
        });
        items.extend(m.action_items.iter().map(|item| ItemRow {
            id: item.id.0,
            meeting: m.id.0,
            xiaoqu: m.xiaoqu.0,
            owner: wire(&item.owner),
            description: item.description.as_str(),
            due_at: stamp(item.due_at),
            done_at: item.done_at.map(stamp),
        }));
    }
    if rows.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    insert_rows(
        tx,
        tables.meetings,
        &MEETING_COLUMNS,
        &MEETING_UPDATED,
        to_json(&rows)?,
    )
    .await?;
    delete_of(tx, tables.action_items, "meeting", &ids).await?;
    if !items.is_empty() {
        insert_rows(
            tx,
            tables.action_items,
            &ITEM_COLUMNS,
            &[],
            to_json(&items)?,
        )
        .await?;
    }
    Ok(())
}

#[derive(Serialize)]
struct CaseRow<'a> {
    id: Uuid,
    xiaoqu: Uuid,
    status: &'static str,
    tier: String,
    matter: &'a str,
    opened_at: String,
    version: i64,
    state: String,
}

#[derive(Serialize)]
struct ObligationRow {
    id: Uuid,
    case_id: Uuid,
    xiaoqu: Uuid,
    status: String,
    due_at: String,
}

async fn write_cases(
    tx: &mut Tx<'_>,
    tables: Tables,
    cases: &[(&MediationCase, i64)],
) -> Result<(), StoreError> {
    let mut rows = Vec::with_capacity(cases.len());
    let mut obligations = Vec::new();
    for (case, version) in cases {
        let Some(c) = case.state() else { continue };
        rows.push(CaseRow {
            id: c.id.0,
            xiaoqu: c.xiaoqu.0,
            status: c.status.as_str(),
            tier: wire(&c.tier),
            matter: c.matter.as_str(),
            opened_at: stamp(c.opened_at),
            version: *version,
            state: to_json(case)?,
        });
        obligations.extend(
            c.agreement
                .iter()
                .flat_map(|a| a.obligations.iter())
                .map(|o| ObligationRow {
                    id: o.id.0,
                    case_id: c.id.0,
                    xiaoqu: c.xiaoqu.0,
                    status: wire(&o.status),
                    due_at: stamp(o.due_at),
                }),
        );
    }
    if rows.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    insert_rows(
        tx,
        tables.cases,
        &CASE_COLUMNS,
        &CASE_UPDATED,
        to_json(&rows)?,
    )
    .await?;
    delete_of(tx, tables.obligations, "case_id", &ids).await?;
    if !obligations.is_empty() {
        insert_rows(
            tx,
            tables.obligations,
            &OBLIGATION_COLUMNS,
            &[],
            to_json(&obligations)?,
        )
        .await?;
    }
    Ok(())
}
