//! Folding grievance events onto rows of the list, and writing the rows a
//! few thousand per statement: a set-based upsert from JSON on both stores,
//! and `COPY` on PostgreSQL for rows a rebuild writes for the first time.

use std::borrow::Cow;
use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, SubsecRound, Utc};
use cqrs_es::Aggregate;
use lianxi_domain::grievance::{Grievance, GrievanceEvent, GrievanceState};
use serde::Serialize;
use sqlx::Row;
use uuid::Uuid;

use super::{Tables, SHADOW};
use crate::feed::FeedEvent;
use crate::runner::Fold;
use crate::store::{Id, Store, StoreError, Tx};

/// Serialises a domain enum to its wire name (`property_company`, …).
fn name_of<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        other => other.map(|v| v.to_string()).unwrap_or_default(),
    }
}

fn tier_rank(tier: lianxi_domain::values::Tier) -> i64 {
    tier as i64
}

/// A row being folded in this batch.
struct PendingRow {
    grievance: Grievance,
    version: i64,
    last_position: i64,
    /// Whether an event changed it (a replayed one does not).
    changed: bool,
    new_followers: Vec<Uuid>,
}

/// Loads the current state of every grievance in `ids` with one query.
async fn load_states(
    tx: &mut Tx<'_>,
    tables: Tables,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, (Grievance, i64)>, StoreError> {
    let rows = match tx {
        Tx::Postgres(conn) => sqlx::query(&format!(
            "SELECT id, state, version FROM {} WHERE id = ANY($1)",
            tables.list
        ))
        .bind(ids)
        .fetch_all(&mut **conn)
        .await?
        .into_iter()
        .map(|r| -> Result<_, sqlx::Error> {
            let state = state_of(&r)?;
            Ok((
                r.try_get::<Uuid, _>("id")?,
                (state, r.try_get::<i64, _>("version")?),
            ))
        })
        .collect::<Result<HashMap<_, _>, _>>()?,
        Tx::Sqlite(conn) => {
            let list = serde_json::to_string(&ids.iter().map(Uuid::to_string).collect::<Vec<_>>())
                .unwrap_or_else(|_| "[]".to_owned());
            sqlx::query(&format!(
                "SELECT id, state, version FROM {} WHERE id IN (SELECT value FROM json_each(?1))",
                tables.list
            ))
            .bind(list)
            .fetch_all(&mut **conn)
            .await?
            .into_iter()
            .map(|r| -> Result<_, sqlx::Error> {
                let state = state_of(&r)?;
                let Id(id) = r.try_get("id")?;
                Ok((id, (state, r.try_get::<i64, _>("version")?)))
            })
            .collect::<Result<HashMap<_, _>, _>>()?
        }
    };
    Ok(rows)
}

/// The folded grievance of a row: its `state` column, JSON as text on
/// both stores.
pub(super) fn state_of<R: Row>(r: &R) -> Result<Grievance, sqlx::Error>
where
    for<'c> &'c str: sqlx::ColumnIndex<R>,
    for<'v> &'v str: sqlx::Decode<'v, R::Database> + sqlx::Type<R::Database>,
{
    let text: &str = r.try_get("state")?;
    serde_json::from_str(text).map_err(|e| sqlx::Error::Decode(e.into()))
}

/// Times as both stores compare them: RFC 3339, microseconds at most.
pub(crate) fn stamp(t: DateTime<Utc>) -> String {
    t.trunc_subsecs(6)
        .to_rfc3339_opts(SecondsFormat::AutoSi, false)
}

/// One row of `grievance_list`, as JSON for a set-based upsert.
#[derive(Serialize)]
struct RowJson<'a> {
    id: String,
    xiaoqu: String,
    filer: String,
    title: &'a str,
    category: String,
    respondent: String,
    urgency: String,
    channel: String,
    status: &'static str,
    tier: String,
    tier_rank: i64,
    matter_class: Option<String>,
    responsible_party: Option<String>,
    assigned_party: Option<String>,
    rating: Option<String>,
    escalations: i64,
    reopenings: i64,
    merged_into: Option<String>,
    filed_at: String,
    accepted_at: Option<String>,
    responded_at: Option<String>,
    resolved_at: Option<String>,
    last_changed_at: String,
    version: i64,
    last_position: i64,
    state: &'a Grievance,
    deadline_stage: Option<&'static str>,
    due_at: Option<String>,
    paused: bool,
}

fn row_json<'a>(s: &'a GrievanceState, row: &'a PendingRow) -> RowJson<'a> {
    RowJson {
        id: s.id.to_string(),
        xiaoqu: s.xiaoqu.to_string(),
        filer: s.filer.to_string(),
        title: s.title.as_str(),
        category: name_of(&s.category),
        respondent: name_of(&s.respondent),
        urgency: name_of(&s.urgency),
        channel: name_of(&s.channel),
        status: s.status.as_str(),
        tier: name_of(&s.tier),
        tier_rank: tier_rank(s.tier),
        matter_class: s.matter_class.as_ref().map(name_of),
        responsible_party: s.responsible_party.as_ref().map(name_of),
        assigned_party: s.assigned_party.as_ref().map(name_of),
        rating: s.rating.as_ref().map(name_of),
        escalations: i64::from(s.escalations),
        reopenings: i64::from(s.reopenings),
        merged_into: s.merged_into.map(|m| m.to_string()),
        filed_at: stamp(s.filed_at),
        accepted_at: s.accepted_at.map(stamp),
        responded_at: s.responded_at.map(stamp),
        resolved_at: s.resolved_at.map(stamp),
        last_changed_at: stamp(s.last_changed_at),
        version: row.version,
        last_position: row.last_position,
        state: &row.grievance,
        deadline_stage: s.current_stage().map(|st| st.as_str()),
        due_at: s.deadline.map(|d| stamp(d.due_at)),
        paused: s.paused.is_some(),
    }
}

const COLUMNS: [&str; 29] = [
    "id",
    "xiaoqu",
    "filer",
    "title",
    "category",
    "respondent",
    "urgency",
    "channel",
    "status",
    "tier",
    "tier_rank",
    "matter_class",
    "responsible_party",
    "assigned_party",
    "rating",
    "escalations",
    "reopenings",
    "merged_into",
    "filed_at",
    "accepted_at",
    "responded_at",
    "resolved_at",
    "last_changed_at",
    "version",
    "last_position",
    "state",
    "deadline_stage",
    "due_at",
    "paused",
];

/// The PostgreSQL type of each column, for the upsert from text arrays.
const PG_TYPES: [&str; 29] = [
    "uuid",
    "uuid",
    "uuid",
    "text",
    "text",
    "text",
    "text",
    "text",
    "text",
    "text",
    "integer",
    "text",
    "text",
    "text",
    "text",
    "integer",
    "integer",
    "uuid",
    "timestamptz",
    "timestamptz",
    "timestamptz",
    "timestamptz",
    "timestamptz",
    "bigint",
    "bigint",
    "text",
    "text",
    "timestamptz",
    "boolean",
];

/// Columns fixed at filing; every other column is rewritten on update.
const FIXED: [&str; 8] = [
    "id",
    "xiaoqu",
    "filer",
    "category",
    "respondent",
    "urgency",
    "channel",
    "filed_at",
];

fn upsert_sql(postgres: bool, table: &str) -> String {
    let columns = COLUMNS.join(", ");
    let set = COLUMNS
        .iter()
        .filter(|c| !FIXED.contains(c))
        .map(|c| format!("{c} = excluded.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    if postgres {
        // One text array per column: no JSON for PostgreSQL to parse.
        let arrays: Vec<String> = (1..=COLUMNS.len())
            .map(|i| format!("${i}::text[]"))
            .collect();
        let typed: Vec<String> = COLUMNS
            .iter()
            .zip(PG_TYPES)
            .map(|(c, t)| format!("{c}::{t}"))
            .collect();
        format!(
            "INSERT INTO {table} ({columns}) SELECT {} FROM UNNEST({}) AS r({columns}) \
             ON CONFLICT (id) DO UPDATE SET {set}",
            typed.join(", "),
            arrays.join(", ")
        )
    } else {
        let values: Vec<String> = COLUMNS
            .iter()
            .map(|c| format!("json_extract(value, '$.{c}')"))
            .collect();
        format!(
            "INSERT INTO {table} ({columns}) SELECT {} FROM json_each(?1) WHERE true \
             ON CONFLICT (id) DO UPDATE SET {set}",
            values.join(", ")
        )
    }
}

/// A row's columns as text, in the order of [`COLUMNS`] (`None` for NULL):
/// what `COPY` and the PostgreSQL upsert send.
fn fields<'r>(r: &'r RowJson<'_>) -> Result<[Option<Cow<'r, str>>; 29], StoreError> {
    let state = serde_json::to_string(r.state).map_err(|e| StoreError::Decode {
        what: "grievance_list row".into(),
        message: e.to_string(),
    })?;
    let int = |n: i64| Some(Cow::Owned(n.to_string()));
    let text = |t: &'r str| Some(Cow::Borrowed(t));
    let maybe = |t: &'r Option<String>| t.as_deref().map(Cow::Borrowed);
    Ok([
        text(&r.id),
        text(&r.xiaoqu),
        text(&r.filer),
        text(r.title),
        text(&r.category),
        text(&r.respondent),
        text(&r.urgency),
        text(&r.channel),
        text(r.status),
        text(&r.tier),
        int(r.tier_rank),
        maybe(&r.matter_class),
        maybe(&r.responsible_party),
        maybe(&r.assigned_party),
        maybe(&r.rating),
        int(r.escalations),
        int(r.reopenings),
        maybe(&r.merged_into),
        text(&r.filed_at),
        maybe(&r.accepted_at),
        maybe(&r.responded_at),
        maybe(&r.resolved_at),
        text(&r.last_changed_at),
        int(r.version),
        int(r.last_position),
        Some(Cow::Owned(state)),
        r.deadline_stage.map(Cow::Borrowed),
        maybe(&r.due_at),
        text(if r.paused { "true" } else { "false" }),
    ])
}

/// Writes every changed row, and every new follower, with one statement each.
async fn store_rows(
    tx: &mut Tx<'_>,
    tables: Tables,
    rows: &[RowJson<'_>],
    followers: &[(Uuid, Uuid)],
) -> Result<(), StoreError> {
    match tx {
        Tx::Postgres(conn) => {
            let mut columns: Vec<Vec<Option<String>>> = (0..COLUMNS.len())
                .map(|_| Vec::with_capacity(rows.len()))
                .collect();
            for row in rows {
                for (column, field) in columns.iter_mut().zip(fields(row)?) {
                    column.push(field.map(Cow::into_owned));
                }
            }
            let statement = upsert_sql(true, tables.list);
            let mut upsert = sqlx::query(&statement);
            for column in columns {
                upsert = upsert.bind(column);
            }
            upsert.execute(&mut **conn).await?;
            let (grievances, accounts): (Vec<Uuid>, Vec<Uuid>) = followers.iter().copied().unzip();
            sqlx::query(&format!(
                "INSERT INTO {} (grievance_id, account_id) \
                 SELECT * FROM UNNEST($1::uuid[], $2::uuid[]) ON CONFLICT DO NOTHING",
                tables.followers
            ))
            .bind(grievances)
            .bind(accounts)
            .execute(&mut **conn)
            .await?;
        }
        Tx::Sqlite(conn) => {
            let rows_json = serde_json::to_string(rows).map_err(|e| StoreError::Decode {
                what: "grievance_list rows".into(),
                message: e.to_string(),
            })?;
            let followers_json = serde_json::to_string(
                &followers
                    .iter()
                    .map(|(g, a)| serde_json::json!({"grievance_id": g, "account_id": a}))
                    .collect::<Vec<_>>(),
            )
            .unwrap_or_else(|_| "[]".to_owned());
            sqlx::query(&upsert_sql(false, tables.list))
                .bind(rows_json)
                .execute(&mut **conn)
                .await?;
            sqlx::query(&format!(
                "INSERT INTO {} (grievance_id, account_id) \
                 SELECT json_extract(value, '$.grievance_id'), json_extract(value, '$.account_id') FROM json_each(?1) WHERE true \
                 ON CONFLICT DO NOTHING",
                tables.followers
            ))
            .bind(followers_json)
            .execute(&mut **conn)
            .await?;
        }
    }
    Ok(())
}

/// The grievance events of `events`, with their stream ids.
fn parse(events: &[FeedEvent]) -> Result<Vec<(Uuid, &FeedEvent)>, StoreError> {
    let grievance_type = <Grievance as Aggregate>::TYPE;
    events
        .iter()
        .filter(|e| e.aggregate_type == grievance_type)
        .map(|event| {
            let id = Uuid::parse_str(&event.aggregate_id).map_err(|e| StoreError::Decode {
                what: format!("grievance id {}", event.aggregate_id),
                message: e.to_string(),
            })?;
            Ok((id, event))
        })
        .collect()
}

/// Each stream id of `parsed` once, in the order first seen.
fn ids_of(parsed: &[(Uuid, &FeedEvent)]) -> Vec<Uuid> {
    let mut seen = std::collections::HashSet::new();
    parsed
        .iter()
        .map(|(id, _)| *id)
        .filter(|id| seen.insert(*id))
        .collect()
}

/// Rows folded from events and not yet written, in the order first touched.
#[derive(Default)]
struct Rows {
    rows: HashMap<Uuid, PendingRow>,
    order: Vec<Uuid>,
}

/// Rows written per statement.
const ROWS_PER_STATEMENT: usize = 2_000;

impl Rows {
    /// Folds `parsed` onto the rows held, starting a stream not held from
    /// its stored row in `stored` (or from nothing).
    fn fold(
        &mut self,
        parsed: Vec<(Uuid, &FeedEvent)>,
        stored: &mut HashMap<Uuid, (Grievance, i64)>,
    ) -> Result<(), StoreError> {
        for (id, event) in parsed {
            let row = match self.rows.entry(id) {
                Entry::Occupied(e) => e.into_mut(),
                Entry::Vacant(e) => {
                    let (grievance, version) = stored.remove(&id).unwrap_or_default();
                    self.order.push(id);
                    e.insert(PendingRow {
                        grievance,
                        version,
                        last_position: 0,
                        changed: false,
                        new_followers: Vec::new(),
                    })
                }
            };
            if event.sequence <= row.version {
                // Already applied: a replayed batch changes nothing.
                continue;
            }
            let payload = serde_json::from_str::<GrievanceEvent>(&event.payload).map_err(|e| {
                StoreError::Decode {
                    what: format!("{} {} of grievance {id}", event.event_type, event.sequence),
                    message: e.to_string(),
                }
            })?;
            match &payload {
                GrievanceEvent::GrievanceFiled { filer, .. } => row.new_followers.push(filer.0),
                GrievanceEvent::DuplicateLinked { filer, .. } => row.new_followers.push(filer.0),
                _ => {}
            }
            row.grievance.apply(payload);
            row.version = event.sequence;
            row.last_position = event.position.global_position;
            row.changed = true;
        }
        Ok(())
    }

    /// Writes every changed row and its new followers, a few thousand rows
    /// per statement.
    async fn write(
        &self,
        tx: &mut Tx<'_>,
        tables: Tables,
        written: Option<&HashSet<Uuid>>,
    ) -> Result<(), StoreError> {
        // A rebuild's rows never written before go in with COPY.
        let (fresh, again): (Vec<Uuid>, Vec<Uuid>) = match (written, &mut *tx) {
            (Some(written), Tx::Postgres(_)) => {
                self.order.iter().partition(|id| !written.contains(id))
            }
            _ => (Vec::new(), self.order.clone()),
        };
        if let Tx::Postgres(conn) = tx {
            if !fresh.is_empty() {
                self.copy(conn, tables, &fresh).await?;
            }
        }
        for ids in again.chunks(ROWS_PER_STATEMENT) {
            let mut out = Vec::with_capacity(ids.len());
            let mut followers = Vec::new();
            for id in ids {
                let Some(row) = self.rows.get(id).filter(|r| r.changed) else {
                    continue;
                };
                if let Some(state) = row.grievance.state() {
                    out.push(row_json(state, row));
                    followers.extend(row.new_followers.iter().map(|f| (*id, *f)));
                }
            }
            if !out.is_empty() {
                store_rows(tx, tables, &out, &followers).await?;
            }
        }
        Ok(())
    }

    /// Writes the rows of `ids`, none of them in the tables yet, and their
    /// followers with `COPY`, a few megabytes per message.
    async fn copy(
        &self,
        conn: &mut sqlx::PgConnection,
        tables: Tables,
        ids: &[Uuid],
    ) -> Result<(), StoreError> {
        let mut copy = Copy::begin(
            conn,
            &format!("COPY {} ({}) FROM STDIN", tables.list, COLUMNS.join(", ")),
        )
        .await?;
        let mut followers = String::new();
        for id in ids {
            let Some(row) = self.rows.get(id).filter(|r| r.changed) else {
                continue;
            };
            let Some(state) = row.grievance.state() else {
                continue;
            };
            copy.row(&row_json(state, row)).await?;
            let mut seen = HashSet::new();
            for f in row.new_followers.iter().filter(|f| seen.insert(**f)) {
                followers.push_str(&format!("{id}\t{f}\n"));
            }
        }
        copy.finish().await?;
        if !followers.is_empty() {
            let mut copy = conn
                .copy_in_raw(&format!(
                    "COPY {} (grievance_id, account_id) FROM STDIN",
                    tables.followers
                ))
                .await?;
            copy.send(followers.into_bytes()).await?;
            copy.finish().await?;
        }
        Ok(())
    }
}

/// Bytes of `COPY` data sent per message.
const COPY_CHUNK: usize = 4 << 20;

/// Rows of the list on their way in with `COPY … FROM STDIN` (text format).
struct Copy<'c> {
    copy: sqlx::postgres::PgCopyIn<&'c mut sqlx::PgConnection>,
    buf: String,
}

impl<'c> Copy<'c> {
    async fn begin(conn: &'c mut sqlx::PgConnection, statement: &str) -> Result<Self, StoreError> {
        Ok(Copy {
            copy: conn.copy_in_raw(statement).await?,
            buf: String::with_capacity(COPY_CHUNK + (64 << 10)),
        })
    }

    /// Adds one row, in the order of [`COLUMNS`].
    async fn row(&mut self, r: &RowJson<'_>) -> Result<(), StoreError> {
        let fields = fields(r)?;
        for (i, field) in fields.iter().enumerate() {
            if i > 0 {
                self.buf.push('\t');
            }
            match field {
                None => self.buf.push_str("\\N"),
                Some(text) => copy_escape(&mut self.buf, text),
            }
        }
        self.buf.push('\n');
        if self.buf.len() >= COPY_CHUNK {
            self.copy.send(self.buf.as_bytes()).await?;
            self.buf.clear();
        }
        Ok(())
    }

    async fn finish(mut self) -> Result<(), StoreError> {
        if !self.buf.is_empty() {
            self.copy.send(self.buf.as_bytes()).await?;
        }
        self.copy.finish().await?;
        Ok(())
    }
}

/// `text` as a field of `COPY`'s text format: backslash, tab, newline and
/// carriage return escaped.
fn copy_escape(buf: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '\\' => buf.push_str("\\\\"),
            '\t' => buf.push_str("\\t"),
            '\n' => buf.push_str("\\n"),
            '\r' => buf.push_str("\\r"),
            c => buf.push(c),
        }
    }
}

/// Folds a batch into the rows it touches: one query to load them, one to
/// write them back.
pub(super) async fn apply(
    tx: &mut Tx<'_>,
    tables: Tables,
    events: &[FeedEvent],
) -> Result<(), StoreError> {
    let parsed = parse(events)?;
    if parsed.is_empty() {
        return Ok(());
    }
    let mut stored = load_states(tx, tables, &ids_of(&parsed)).await?;
    let mut rows = Rows::default();
    rows.fold(parsed, &mut stored)?;
    rows.write(tx, tables, None).await
}

/// The read model folded in memory during a one-pass rebuild, written to
/// the shadow tables.
#[derive(Default)]
pub(super) struct ShadowFold {
    rows: Rows,
    /// Streams whose rows were written out: read back when they go on.
    written: std::collections::HashSet<Uuid>,
}

#[async_trait]
impl Fold for ShadowFold {
    async fn add(&mut self, store: &Store, events: &[FeedEvent]) -> Result<(), StoreError> {
        let parsed = parse(events)?;
        let missing: Vec<Uuid> = ids_of(&parsed)
            .into_iter()
            .filter(|id| !self.rows.rows.contains_key(id) && self.written.contains(id))
            .collect();
        let mut stored = if missing.is_empty() {
            HashMap::new()
        } else {
            in_tx!(store, |t| { load_states(t, SHADOW, &missing).await })?
        };
        self.rows.fold(parsed, &mut stored)
    }

    fn held(&self) -> usize {
        self.rows.rows.len()
    }

    async fn flush(&mut self, store: &Store) -> Result<(), StoreError> {
        if self.rows.order.is_empty() {
            return Ok(());
        }
        let (rows, written) = (&self.rows, &self.written);
        in_tx!(store, |t| { rows.write(t, SHADOW, Some(written)).await })?;
        self.written.extend(self.rows.order.iter().copied());
        self.rows = Rows::default();
        Ok(())
    }
}
