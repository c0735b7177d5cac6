//! A database administrator with direct access to the event table: what
//! the tamper tests pit the audit trail against. Each store's append-only
//! triggers are dropped or disabled first, as a DBA could.

use lianxi_gateway::db::Database;
use sqlx::Row;

/// One stored event with every column, as text where the store allows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawEvent {
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub sequence: i64,
    pub event_type: String,
    pub event_version: String,
    pub payload: String,
    pub metadata: String,
    pub global_position: i64,
    /// PostgreSQL's xid8 as text; "0" on SQLite.
    pub transaction_id: String,
    pub event_id: String,
    pub recorded_at: String,
    pub hash: Vec<u8>,
}

/// Direct access to `events`, bypassing the service.
#[derive(Debug)]
pub struct Dba<'a> {
    pub db: &'a Database,
}

const SELECT_PG: &str = "SELECT aggregate_type, aggregate_id, sequence, event_type, event_version,
        payload::text AS payload, metadata::text AS metadata, global_position,
        transaction_id::text AS transaction_id, event_id::text AS event_id,
        recorded_at::text AS recorded_at, hash
   FROM events";
const SELECT_SQLITE: &str =
    "SELECT aggregate_type, aggregate_id, sequence, event_type, event_version,
        payload, metadata, global_position, '0' AS transaction_id, event_id, recorded_at, hash
   FROM events";

macro_rules! raw {
    ($r:expr) => {
        RawEvent {
            aggregate_type: $r.get("aggregate_type"),
            aggregate_id: $r.get("aggregate_id"),
            sequence: $r.get("sequence"),
            event_type: $r.get("event_type"),
            event_version: $r.get("event_version"),
            payload: $r.get("payload"),
            metadata: $r.get("metadata"),
            global_position: $r.get("global_position"),
            transaction_id: $r.get("transaction_id"),
            event_id: $r.get("event_id"),
            recorded_at: $r.get("recorded_at"),
            hash: $r.get("hash"),
        }
    };
}

impl Dba<'_> {
    /// Lifts the append-only protection.
    pub async fn unlock(&self) {
        match self.db {
            Database::Postgres(pool) => {
                sqlx::query("ALTER TABLE events DISABLE TRIGGER events_append_only")
                    .execute(pool)
                    .await
                    .expect("disable the trigger");
            }
            Database::Sqlite(pool) => {
                for trigger in [
                    "events_no_update",
                    "events_no_delete",
                    "events_global_position",
                ] {
                    sqlx::query(&format!("DROP TRIGGER IF EXISTS {trigger}"))
                        .execute(pool)
                        .await
                        .expect("drop a trigger");
                }
            }
        }
    }

    /// Every event, in feed order.
    pub async fn all(&self) -> Vec<RawEvent> {
        match self.db {
            Database::Postgres(pool) => sqlx::query(&format!(
                "{SELECT_PG} ORDER BY transaction_id, global_position"
            ))
            .fetch_all(pool)
            .await
            .expect("read events")
            .iter()
            .map(|r| raw!(r))
            .collect(),
            Database::Sqlite(pool) => {
                sqlx::query(&format!("{SELECT_SQLITE} ORDER BY global_position"))
                    .fetch_all(pool)
                    .await
                    .expect("read events")
                    .iter()
                    .map(|r| raw!(r))
                    .collect()
            }
        }
    }

    /// The events of one stream, in sequence order.
    pub async fn stream(&self, aggregate_id: &str) -> Vec<RawEvent> {
        let mut rows: Vec<RawEvent> = self
            .all()
            .await
            .into_iter()
            .filter(|e| e.aggregate_id == aggregate_id)
            .collect();
        rows.sort_by_key(|e| e.sequence);
        rows
    }

    /// Deletes one event.
    pub async fn delete(&self, e: &RawEvent) {
        self.exec(
            "DELETE FROM events WHERE aggregate_type = $1 AND aggregate_id = $2 AND sequence = $3",
            &e.aggregate_type,
            &e.aggregate_id,
            e.sequence,
        )
        .await;
    }

    /// Deletes every event of a stream.
    pub async fn delete_stream(&self, aggregate_id: &str) {
        match self.db {
            Database::Postgres(pool) => {
                sqlx::query("DELETE FROM events WHERE aggregate_id = $1")
                    .bind(aggregate_id)
                    .execute(pool)
                    .await
                    .expect("delete");
            }
            Database::Sqlite(pool) => {
                sqlx::query("DELETE FROM events WHERE aggregate_id = ?")
                    .bind(aggregate_id)
                    .execute(pool)
                    .await
                    .expect("delete");
            }
        }
    }

    /// Moves events `>= from` of a stream by `by` sequence numbers.
    pub async fn shift(&self, aggregate_id: &str, from: i64, by: i64) {
        // Through a far-away range, so no two rows collide on the key.
        for (add, filter) in [(1_000_000 + by, from), (-1_000_000, 1_000_000 + from + by)] {
            match self.db {
                Database::Postgres(pool) => {
                    sqlx::query("UPDATE events SET sequence = sequence + $1 WHERE aggregate_id = $2 AND sequence >= $3")
                        .bind(add)
                        .bind(aggregate_id)
                        .bind(filter)
                        .execute(pool)
                        .await
                        .expect("shift");
                }
                Database::Sqlite(pool) => {
                    sqlx::query("UPDATE events SET sequence = sequence + ? WHERE aggregate_id = ? AND sequence >= ?")
                        .bind(add)
                        .bind(aggregate_id)
                        .bind(filter)
                        .execute(pool)
                        .await
                        .expect("shift");
                }
            }
        }
    }

    /// Sets one event's sequence number.
    pub async fn renumber(&self, e: &RawEvent, sequence: i64) {
        self.update(e, "sequence", &sequence.to_string()).await;
    }

    /// Sets one column of one event from text (cast to the column's type).
    pub async fn update(&self, e: &RawEvent, column: &str, value: &str) {
        match self.db {
            Database::Postgres(pool) => {
                let cast = match column {
                    "payload" | "metadata" => "::json",
                    "sequence" => "::bigint",
                    _ => "",
                };
                sqlx::query(&format!(
                    "UPDATE events SET {column} = $1{cast} WHERE event_id = $2::uuid"
                ))
                .bind(value)
                .bind(&e.event_id)
                .execute(pool)
                .await
                .expect("update");
            }
            Database::Sqlite(pool) => {
                let sql = format!("UPDATE events SET {column} = ? WHERE event_id = ?");
                let query = sqlx::query(&sql);
                let query = if column == "sequence" {
                    query.bind(value.parse::<i64>().expect("a number"))
                } else {
                    query.bind(value.to_owned())
                };
                query.bind(&e.event_id).execute(pool).await.expect("update");
            }
        }
    }

    /// Sets one event's stored hash.
    pub async fn set_hash(&self, e: &RawEvent, hash: &[u8]) {
        match self.db {
            Database::Postgres(pool) => {
                sqlx::query("UPDATE events SET hash = $1 WHERE event_id = $2::uuid")
                    .bind(hash)
                    .bind(&e.event_id)
                    .execute(pool)
                    .await
                    .expect("set hash");
            }
            Database::Sqlite(pool) => {
                sqlx::query("UPDATE events SET hash = ? WHERE event_id = ?")
                    .bind(hash)
                    .bind(&e.event_id)
                    .execute(pool)
                    .await
                    .expect("set hash");
            }
        }
    }

    /// Sets a stream head.
    pub async fn set_head(&self, aggregate_id: &str, last_sequence: i64, last_hash: &[u8]) {
        match self.db {
            Database::Postgres(pool) => {
                sqlx::query("UPDATE event_streams SET last_sequence = $1, last_hash = $2 WHERE aggregate_id = $3")
                    .bind(last_sequence)
                    .bind(last_hash)
                    .bind(aggregate_id)
                    .execute(pool)
                    .await
                    .expect("set head");
            }
            Database::Sqlite(pool) => {
                sqlx::query("UPDATE event_streams SET last_sequence = ?, last_hash = ? WHERE aggregate_id = ?")
                    .bind(last_sequence)
                    .bind(last_hash)
                    .bind(aggregate_id)
                    .execute(pool)
                    .await
                    .expect("set head");
            }
        }
    }

    /// Inserts `e` exactly as given, position and transaction included.
    pub async fn insert(&self, e: &RawEvent) {
        match self.db {
            Database::Postgres(pool) => {
                sqlx::query(
                    "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version,
                        payload, metadata, global_position, transaction_id, event_id, recorded_at, hash)
                     OVERRIDING SYSTEM VALUE
                     VALUES ($1, $2, $3, $4, $5, $6::json, $7::json, $8, $9::xid8, $10::uuid, $11::timestamptz, $12)",
                )
                .bind(&e.aggregate_type)
                .bind(&e.aggregate_id)
                .bind(e.sequence)
                .bind(&e.event_type)
                .bind(&e.event_version)
                .bind(&e.payload)
                .bind(&e.metadata)
                .bind(e.global_position)
                .bind(&e.transaction_id)
                .bind(&e.event_id)
                .bind(&e.recorded_at)
                .bind(&e.hash)
                .execute(pool)
                .await
                .expect("insert");
            }
            Database::Sqlite(pool) => {
                sqlx::query(
                    "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version,
                        payload, metadata, global_position, event_id, recorded_at, hash)
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                )
                .bind(&e.aggregate_type)
                .bind(&e.aggregate_id)
                .bind(e.sequence)
                .bind(&e.event_type)
                .bind(&e.event_version)
                .bind(&e.payload)
                .bind(&e.metadata)
                .bind(e.global_position)
                .bind(&e.event_id)
                .bind(&e.recorded_at)
                .bind(&e.hash)
                .execute(pool)
                .await
                .expect("insert");
            }
        }
    }

    /// Puts a stream back exactly as `rows` had it.
    pub async fn restore(&self, aggregate_id: &str, rows: &[RawEvent]) {
        self.delete_stream(aggregate_id).await;
        for row in rows {
            self.insert(row).await;
        }
    }

    /// The next free global position.
    pub async fn next_position(&self) -> i64 {
        self.all()
            .await
            .iter()
            .map(|e| e.global_position)
            .max()
            .unwrap_or(0)
            + 1
    }

    async fn exec(&self, sql: &str, a: &str, b: &str, n: i64) {
        match self.db {
            Database::Postgres(pool) => {
                sqlx::query(sql)
                    .bind(a)
                    .bind(b)
                    .bind(n)
                    .execute(pool)
                    .await
                    .expect("exec");
            }
            Database::Sqlite(pool) => {
                sqlx::query(sql)
                    .bind(a)
                    .bind(b)
                    .bind(n)
                    .execute(pool)
                    .await
                    .expect("exec");
            }
        }
    }
}

/// Changes one ASCII letter or digit inside a JSON string of `text` (at
/// `pick` modulo the candidates), keeping the text valid JSON.
pub fn flip_one_byte(text: &str, pick: usize) -> String {
    let bytes = text.as_bytes();
    let mut candidates = Vec::new();
    let (mut in_string, mut escaped) = (false, false);
    for (i, &b) in bytes.iter().enumerate() {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            } else if b.is_ascii_alphanumeric() {
                candidates.push(i);
            }
        } else if b == b'"' {
            in_string = true;
        }
    }
    assert!(!candidates.is_empty(), "nothing to edit in {text}");
    let at = candidates[pick % candidates.len()];
    let mut out = bytes.to_vec();
    out[at] = match out[at] {
        b'z' => b'y',
        b'Z' => b'Y',
        b'9' => b'8',
        other => other + 1,
    };
    String::from_utf8(out).expect("still UTF-8")
}
