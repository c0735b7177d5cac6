//! Verifying the whole log: every stream's hash chain, every stream head,
//! and optionally a kept checkpoint.
//!
//! The log is read once, in feed order, inside one read-only snapshot, so
//! events and stream heads are seen as of the same instant while appends go
//! on.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use futures::TryStreamExt as _;
use serde::Serialize;
use sqlx::Row;
use uuid::Uuid;

use super::chain::{self, EventFields, Hash, GENESIS};
use super::checkpoint::Checkpoint;
use super::merkle;
use crate::db::{Database, DbError, UPSERT_HEAD};

/// At most this many problems are listed; the first is what matters.
pub const MAX_PROBLEMS: usize = 100;

/// What is wrong at one place in the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// The stored hash differs from the one recomputed from the event and
    /// its predecessor: the event (or one before it) was edited.
    HashMismatch,
    /// The stream skips or repeats a sequence number here: an event was
    /// deleted, inserted or moved.
    SequenceBreak,
    /// The event has no hash.
    Unsealed,
    /// A column (the event id, the instant) cannot be read.
    Unreadable,
    /// The stream's head names another last event than the log holds.
    HeadMismatch,
    /// The stream has events but no head.
    MissingHead,
}

/// The first place a stream stops verifying.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Problem {
    pub aggregate_type: String,
    pub aggregate_id: String,
    /// The sequence number in the stream where verification fails.
    pub sequence: i64,
    /// Feed position of the offending row, when there is one.
    pub global_position: Option<i64>,
    pub kind: ProblemKind,
    pub detail: String,
}

/// A tree head kept outside the system, from a checkpoint file or a signed
/// note, with whether its signature held.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeptHead {
    pub tree_size: u64,
    pub root: Hash,
    /// When it was signed (a note does not say).
    pub signed_at: Option<String>,
    pub public_key: [u8; 32],
    pub signature_valid: bool,
}

impl From<&Checkpoint> for KeptHead {
    fn from(cp: &Checkpoint) -> Self {
        KeptHead {
            tree_size: cp.tree_size,
            root: cp.root,
            signed_at: Some(cp.to_file().signed_at),
            public_key: cp.public_key,
            signature_valid: cp.signature_valid(),
        }
    }
}

impl KeptHead {
    /// The head of a signed note whose signature by `public_key` held.
    pub fn from_note(head: &super::note::NoteHead, public_key: [u8; 32]) -> Self {
        KeptHead {
            tree_size: head.tree_size,
            root: head.root,
            signed_at: None,
            public_key,
            signature_valid: true,
        }
    }
}

/// How a kept checkpoint compares with the log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CheckpointCheck {
    pub tree_size: u64,
    pub root: String,
    /// When it was signed; absent for a signed note, which does not say.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signed_at: Option<String>,
    pub public_key: String,
    /// The signature matches the checkpoint and its public key.
    pub signature_valid: bool,
    /// The first `tree_size` events of the log hash to `root`.
    pub matches_log: bool,
    pub detail: String,
}

/// The outcome of verifying the log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Verification {
    /// True when no problem was found (and the checkpoint, if any, holds).
    pub ok: bool,
    pub events: u64,
    pub streams: u64,
    /// Merkle tree head over every event read, in feed order.
    pub tree_size: u64,
    pub root: String,
    /// Problems in the order found (feed order, then stream heads); at most 100.
    pub problems: Vec<Problem>,
    pub checkpoint: Option<CheckpointCheck>,
}

/// One stored row, as read for verification: where it sits, its stored
/// hash, and the digest of its content (computed by PostgreSQL, or here
/// for SQLite). Borrowed from the driver's buffer: reading allocates nothing.
struct LogRow<'r> {
    global_position: i64,
    aggregate_type: &'r str,
    aggregate_id: &'r str,
    sequence: i64,
    hash: Option<&'r [u8]>,
    /// `SHA-256(canonical bytes)`, or why the content could not be read.
    digest: Result<Hash, String>,
}

/// Where a stream's chain stands during the scan.
struct StreamState {
    next_sequence: i64,
    prev: Hash,
    broken: bool,
}

/// Stream states by aggregate type, then id: looked up by `&str`, so a row
/// costs one hash of its id and no allocation once its stream is known.
#[derive(Default)]
struct Streams(HashMap<String, HashMap<String, StreamState>>);

impl Streams {
    fn state(&mut self, aggregate_type: &str, aggregate_id: &str) -> &mut StreamState {
        if !self.0.contains_key(aggregate_type) {
            self.0.insert(aggregate_type.to_owned(), HashMap::new());
        }
        let ids = self.0.get_mut(aggregate_type).expect("inserted just above");
        if !ids.contains_key(aggregate_id) {
            ids.insert(
                aggregate_id.to_owned(),
                StreamState {
                    next_sequence: 1,
                    prev: GENESIS,
                    broken: false,
                },
            );
        }
        ids.get_mut(aggregate_id).expect("inserted just above")
    }

    fn get(&self, aggregate_type: &str, aggregate_id: &str) -> Option<&StreamState> {
        self.0.get(aggregate_type)?.get(aggregate_id)
    }

    fn len(&self) -> usize {
        self.0.values().map(HashMap::len).sum()
    }

    fn iter(&self) -> impl Iterator<Item = ((&String, &String), &StreamState)> {
        self.0
            .iter()
            .flat_map(|(t, ids)| ids.iter().map(move |(id, s)| ((t, id), s)))
    }
}

struct Scan {
    streams: Streams,
    /// Leaf hashes in feed order.
    leaves: Vec<Hash>,
    /// Problems in the order found.
    problems: Vec<Problem>,
}

impl Scan {
    fn new() -> Self {
        Scan {
            streams: Streams::default(),
            leaves: Vec::new(),
            problems: Vec::new(),
        }
    }

    fn problem(&mut self, problem: Problem) {
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(problem);
        }
    }

    fn row(&mut self, row: LogRow<'_>) {
        self.leaves
            .push(merkle::leaf_hash(row.hash.unwrap_or_default()));
        let state = self.streams.state(row.aggregate_type, row.aggregate_id);
        if state.broken {
            return;
        }
        let expected = state.next_sequence;
        let problem = |sequence: i64, kind: ProblemKind, detail: String| Problem {
            aggregate_type: row.aggregate_type.to_owned(),
            aggregate_id: row.aggregate_id.to_owned(),
            sequence,
            global_position: Some(row.global_position),
            kind,
            detail,
        };
        let found = if row.sequence != expected {
            Err(problem(
                expected,
                ProblemKind::SequenceBreak,
                format!(
                    "expected sequence {expected} next, found {} (global position {})",
                    row.sequence, row.global_position
                ),
            ))
        } else {
            check_hash(&row, &state.prev)
                .map_err(|(kind, detail)| problem(row.sequence, kind, detail))
        };
        match found {
            Ok(hash) => {
                state.prev = hash;
                state.next_sequence += 1;
            }
            Err(p) => {
                state.broken = true;
                self.problem(p);
            }
        }
    }
}

fn check_hash(row: &LogRow<'_>, prev: &Hash) -> Result<Hash, (ProblemKind, String)> {
    let stored: Hash = match row.hash.map(Hash::try_from) {
        None => return Err((ProblemKind::Unsealed, "the event has no hash".into())),
        Some(Err(_)) => return Err((ProblemKind::Unreadable, "the hash is not 32 bytes".into())),
        Some(Ok(h)) => h,
    };
    let digest = row
        .digest
        .as_ref()
        .map_err(|e| (ProblemKind::Unreadable, e.clone()))?;
    let computed = chain::link(prev, digest);
    if computed == stored {
        Ok(stored)
    } else {
        Err((
            ProblemKind::HashMismatch,
            format!(
                "stored hash {} but the event and its predecessor hash to {}",
                hex::encode(stored),
                hex::encode(computed)
            ),
        ))
    }
}

/// PostgreSQL: the rows, payload and metadata as `jsonb` text, in feed
/// order (a `WHERE` is inserted by [`Filter::apply`]).
const EVENTS_POSTGRES: &str = "
SELECT global_position, aggregate_type, aggregate_id, sequence, hash,
       event_type, event_version, payload::text, metadata::text, event_id, recorded_at
  FROM events
 ORDER BY transaction_id, global_position";

/// SQLite: the same columns, as stored.
const EVENTS_SQLITE: &str = "
SELECT global_position, aggregate_type, aggregate_id, sequence, hash,
       event_type, event_version, payload, metadata, event_id, recorded_at
  FROM events
 ORDER BY global_position";

const HEADS: &str =
    "SELECT aggregate_type, aggregate_id, last_sequence, last_hash FROM event_streams";

// Columns by position (the order of the queries above): looking each up by
// name costs more than the rest of decoding.
fn decode_pg<'r>(
    r: &'r sqlx::postgres::PgRow,
    buf: &mut Vec<u8>,
) -> Result<LogRow<'r>, sqlx::Error> {
    let (aggregate_type, aggregate_id, sequence) = (r.try_get(1)?, r.try_get(2)?, r.try_get(3)?);
    let digest = chain::content_digest(
        &EventFields {
            aggregate_type,
            aggregate_id,
            sequence,
            event_type: r.try_get(5)?,
            event_version: r.try_get(6)?,
            event_id: r.try_get(9)?,
            recorded_at: r.try_get(10)?,
            payload: r.try_get(7)?,
            metadata: r.try_get(8)?,
        },
        buf,
    );
    Ok(LogRow {
        global_position: r.try_get(0)?,
        aggregate_type,
        aggregate_id,
        sequence,
        hash: r.try_get(4)?,
        digest: Ok(digest),
    })
}

fn decode_sqlite<'r>(
    r: &'r sqlx::sqlite::SqliteRow,
    buf: &mut Vec<u8>,
) -> Result<LogRow<'r>, sqlx::Error> {
    let (aggregate_type, aggregate_id, sequence) = (r.try_get(1)?, r.try_get(2)?, r.try_get(3)?);
    let event_id: &str = r.try_get(9)?;
    let recorded_at: &str = r.try_get(10)?;
    let digest = match (
        Uuid::parse_str(event_id),
        DateTime::parse_from_rfc3339(recorded_at),
    ) {
        (Ok(event_id), Ok(recorded_at)) => Ok(chain::content_digest(
            &EventFields {
                aggregate_type,
                aggregate_id,
                sequence,
                event_type: r.try_get(5)?,
                event_version: r.try_get(6)?,
                event_id,
                recorded_at: recorded_at.with_timezone(&Utc),
                payload: r.try_get(7)?,
                metadata: r.try_get(8)?,
            },
            buf,
        )),
        (Err(e), _) => Err(format!("event_id: {e}")),
        (_, Err(e)) => Err(format!("recorded_at: {e}")),
    };
    Ok(LogRow {
        global_position: r.try_get(0)?,
        aggregate_type,
        aggregate_id,
        sequence,
        hash: r.try_get(4)?,
        digest,
    })
}

/// Reads PostgreSQL's binary COPY format: a header, then per row a field
/// count and each field as a length (-1 for NULL) and its bytes, then -1.
/// The fields are those of `EVENTS_POSTGRES`, in order.
#[derive(Default)]
struct CopyReader {
    buf: Vec<u8>,
    /// Scratch space for canonical bytes.
    scratch: Vec<u8>,
    header_done: bool,
    ended: bool,
}

/// Microseconds from 1970-01-01 to PostgreSQL's epoch, 2000-01-01 (UTC).
const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;

const COPY_SIGNATURE: &[u8] = b"PGCOPY\n\xff\r\n\0";

fn copy_error(what: &str) -> DbError {
    DbError::Invalid(format!("unexpected COPY data: {what}"))
}

impl CopyReader {
    /// Takes in one chunk and hands every complete row to `scan`.
    fn feed(&mut self, chunk: &[u8], scan: &mut Scan) -> Result<(), DbError> {
        self.buf.extend_from_slice(chunk);
        let mut at = 0;
        if !self.header_done {
            // Signature, flags (i32), header extension length (i32) and data.
            if self.buf.len() < COPY_SIGNATURE.len() + 8 {
                return Ok(());
            }
            if !self.buf.starts_with(COPY_SIGNATURE) {
                return Err(copy_error("no binary COPY signature"));
            }
            let ext = i32_at(&self.buf, COPY_SIGNATURE.len() + 4) as usize;
            at = COPY_SIGNATURE.len() + 8 + ext;
            if self.buf.len() < at {
                return Ok(());
            }
            self.header_done = true;
        }
        while let Some((row, next)) = parse_row(&self.buf, at, &mut self.scratch)? {
            match row {
                Some(row) => scan.row(row),
                None => self.ended = true,
            }
            at = next;
        }
        self.buf.drain(..at);
        Ok(())
    }

    fn finish(&self) -> Result<(), DbError> {
        if self.ended && self.buf.is_empty() {
            Ok(())
        } else {
            Err(copy_error("the data ended early"))
        }
    }
}

fn i16_at(b: &[u8], at: usize) -> i16 {
    i16::from_be_bytes([b[at], b[at + 1]])
}

fn i32_at(b: &[u8], at: usize) -> i32 {
    i32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn i64_of(field: Option<&[u8]>) -> Result<i64, DbError> {
    field
        .and_then(|f| <[u8; 8]>::try_from(f).ok())
        .map(i64::from_be_bytes)
        .ok_or_else(|| copy_error("an integer that is NULL or not 8 bytes"))
}

/// A parsed row (`None` for the trailer) and where the next one begins.
type Parsed<'b> = (Option<LogRow<'b>>, usize);

/// The complete row starting at `at`; `Ok(None)` when the buffer does not
/// hold all of it yet.
fn parse_row<'b>(
    b: &'b [u8],
    at: usize,
    scratch: &mut Vec<u8>,
) -> Result<Option<Parsed<'b>>, DbError> {
    const FIELDS: usize = 11;
    if b.len() < at + 2 {
        return Ok(None);
    }
    let count = i16_at(b, at);
    if count == -1 {
        return Ok(Some((None, at + 2)));
    }
    if count != FIELDS as i16 {
        return Err(copy_error("a row with another number of columns"));
    }
    let mut fields: [Option<&[u8]>; FIELDS] = [None; FIELDS];
    let mut pos = at + 2;
    for field in &mut fields {
        if b.len() < pos + 4 {
            return Ok(None);
        }
        let len = i32_at(b, pos);
        pos += 4;
        if len >= 0 {
            let end = pos + len as usize;
            if b.len() < end {
                return Ok(None);
            }
            *field = Some(&b[pos..end]);
            pos = end;
        }
    }
    let text = |i: usize| -> Result<&'b str, DbError> {
        std::str::from_utf8(fields[i].ok_or_else(|| copy_error("a NULL text column"))?)
            .map_err(|_| copy_error("text that is not UTF-8"))
    };
    let (aggregate_type, aggregate_id, sequence) = (text(1)?, text(2)?, i64_of(fields[3])?);
    let event_id = fields[9].and_then(|f| Uuid::from_slice(f).ok());
    let recorded_at = fields[10]
        .and_then(|f| <[u8; 8]>::try_from(f).ok())
        .and_then(|f| DateTime::from_timestamp_micros(i64::from_be_bytes(f) + PG_EPOCH_MICROS));
    let digest = match (event_id, recorded_at) {
        (Some(event_id), Some(recorded_at)) => Ok(chain::content_digest(
            &EventFields {
                aggregate_type,
                aggregate_id,
                sequence,
                event_type: text(5)?,
                event_version: text(6)?,
                event_id,
                recorded_at,
                payload: text(7)?,
                metadata: text(8)?,
            },
            scratch,
        )),
        _ => Err("the event id or instant cannot be read".to_owned()),
    };
    let row = LogRow {
        global_position: i64_of(fields[0])?,
        aggregate_type,
        aggregate_id,
        sequence,
        hash: fields[4],
        digest,
    };
    Ok(Some((Some(row), pos)))
}

/// A stream head as stored.
struct Head {
    aggregate_type: String,
    aggregate_id: String,
    last_sequence: i64,
    last_hash: Vec<u8>,
}

macro_rules! decode_head {
    ($r:expr) => {
        Head {
            aggregate_type: $r.try_get("aggregate_type")?,
            aggregate_id: $r.try_get("aggregate_id")?,
            last_sequence: $r.try_get("last_sequence")?,
            last_hash: $r.try_get("last_hash")?,
        }
    };
}

/// Verifies every chain and head of the log and, with `checkpoint`, that
/// the log still holds the tree the checkpoint signed.
pub async fn verify(db: &Database, checkpoint: Option<&KeptHead>) -> Result<Verification, DbError> {
    verify_observed(db, checkpoint, &AtomicU64::new(0)).await
}

/// Like [`verify`], counting into `read_so_far` the events read as it goes
/// (what a progress bar shows).
pub async fn verify_observed(
    db: &Database,
    checkpoint: Option<&KeptHead>,
    read_so_far: &AtomicU64,
) -> Result<Verification, DbError> {
    let (scan, heads) = read(db, None, Some(read_so_far)).await?;
    Ok(finish(scan, heads, checkpoint))
}

/// How one stream's chain stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct StreamVerification {
    pub ok: bool,
    pub events: u64,
    /// The hash of the stream's last event, hex: what its head must say.
    pub last_hash: Option<String>,
    pub problems: Vec<Problem>,
}

/// Verifies the chain and head of one stream.
pub async fn verify_stream(
    db: &Database,
    aggregate_type: &str,
    aggregate_id: &str,
) -> Result<StreamVerification, DbError> {
    let (scan, heads) = read(db, Some((aggregate_type, aggregate_id)), None).await?;
    let last_hash = scan
        .streams
        .iter()
        .next()
        .map(|(_, s)| s)
        .filter(|s| s.next_sequence > 1)
        .map(|s| hex::encode(s.prev));
    let report = finish(scan, heads, None);
    Ok(StreamVerification {
        ok: report.ok,
        events: report.events,
        last_hash,
        problems: report.problems,
    })
}

/// Reads the events (all, or one stream's) in feed order and the heads, in
/// one snapshot.
async fn read(
    db: &Database,
    stream: Option<(&str, &str)>,
    progress: Option<&AtomicU64>,
) -> Result<(Scan, Vec<Head>), DbError> {
    let told = |scan: &Scan| {
        if let Some(p) = progress {
            p.store(scan.leaves.len() as u64, Ordering::Relaxed);
        }
    };
    let filter = match stream {
        Some(_) => Filter::Stream,
        None => Filter::All,
    };
    let (aggregate_type, aggregate_id) = stream.unwrap_or_default();
    match db {
        Database::Postgres(pool) => {
            let mut tx = pool.begin().await?;
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                .execute(&mut *tx)
                .await?;
            let mut scan = Scan::new();
            if stream.is_some() {
                let sql = filter.apply(EVENTS_POSTGRES);
                let query = sqlx::query(&sql).bind(aggregate_type).bind(aggregate_id);
                let mut rows = query.fetch(&mut *tx);
                let mut buf = Vec::with_capacity(1024);
                while let Some(r) = rows.try_next().await? {
                    scan.row(decode_pg(&r, &mut buf)?);
                }
            } else {
                // The whole log as one binary COPY: cheaper than decoding a
                // million result rows one by one.
                let sql = format!(
                    "COPY ({}) TO STDOUT (FORMAT binary)",
                    EVENTS_POSTGRES.trim()
                );
                let mut chunks = tx.copy_out_raw(&sql).await?;
                let mut reader = CopyReader::default();
                while let Some(chunk) = chunks.try_next().await? {
                    reader.feed(&chunk, &mut scan)?;
                    told(&scan);
                }
                reader.finish()?;
            }
            let sql = filter.apply_heads();
            let mut query = sqlx::query(&sql);
            if stream.is_some() {
                query = query.bind(aggregate_type).bind(aggregate_id);
            }
            let mut heads = Vec::new();
            for r in query.fetch_all(&mut *tx).await? {
                heads.push(decode_head!(r));
            }
            tx.commit().await?;
            Ok((scan, heads))
        }
        Database::Sqlite(pool) => {
            // A read transaction in WAL mode sees one snapshot throughout.
            let mut tx = pool.begin().await?;
            let mut scan = Scan::new();
            let mut buf = Vec::with_capacity(1024);
            {
                let sql = filter.apply(EVENTS_SQLITE);
                let mut query = sqlx::query(&sql);
                if stream.is_some() {
                    query = query.bind(aggregate_type).bind(aggregate_id);
                }
                let mut rows = query.fetch(&mut *tx);
                while let Some(r) = rows.try_next().await? {
                    scan.row(decode_sqlite(&r, &mut buf)?);
                    if scan.leaves.len().is_multiple_of(1024) {
                        told(&scan);
                    }
                }
                told(&scan);
            }
            let sql = filter.apply_heads();
            let mut query = sqlx::query(&sql);
            if stream.is_some() {
                query = query.bind(aggregate_type).bind(aggregate_id);
            }
            let mut heads = Vec::new();
            for r in query.fetch_all(&mut *tx).await? {
                heads.push(decode_head!(r));
            }
            tx.commit().await?;
            Ok((scan, heads))
        }
    }
}

/// Which rows a read takes.
#[derive(Clone, Copy, Debug)]
enum Filter {
    All,
    /// One stream: binds `$1` (aggregate type) and `$2` (aggregate id).
    Stream,
}

impl Filter {
    fn condition(self) -> Option<String> {
        match self {
            Filter::All => None,
            Filter::Stream => Some("aggregate_type = $1 AND aggregate_id = $2".to_owned()),
        }
    }

    fn apply(self, events_sql: &str) -> String {
        match self.condition() {
            Some(c) => events_sql.replace("\n ORDER BY", &format!("\n WHERE {c}\n ORDER BY")),
            None => events_sql.to_owned(),
        }
    }

    fn apply_heads(self) -> String {
        match self {
            Filter::Stream => format!("{HEADS} WHERE aggregate_type = $1 AND aggregate_id = $2"),
            _ => HEADS.to_owned(),
        }
    }
}

fn finish(mut scan: Scan, heads: Vec<Head>, checkpoint: Option<&KeptHead>) -> Verification {
    let mut headed: HashMap<&str, std::collections::HashSet<&str>> = HashMap::new();
    for head in &heads {
        headed
            .entry(head.aggregate_type.as_str())
            .or_default()
            .insert(head.aggregate_id.as_str());
    }
    let mut headless: Vec<(String, String)> = scan
        .streams
        .iter()
        .filter(|((t, id), _)| {
            !headed
                .get(t.as_str())
                .is_some_and(|ids| ids.contains(id.as_str()))
        })
        .map(|((t, id), _)| (t.clone(), id.clone()))
        .collect();
    drop(headed);
    let mut found_problems = Vec::new();
    for head in &heads {
        let key = (head.aggregate_type.clone(), head.aggregate_id.clone());
        let problem = |sequence: i64, kind: ProblemKind, detail: String| Problem {
            aggregate_type: key.0.clone(),
            aggregate_id: key.1.clone(),
            sequence,
            global_position: None,
            kind,
            detail,
        };
        let found = match scan.streams.get(&key.0, &key.1) {
            None => Some(problem(
                1,
                ProblemKind::SequenceBreak,
                format!(
                    "the stream head names {} events but the log holds none",
                    head.last_sequence
                ),
            )),
            Some(state) if state.broken => None,
            Some(state) => {
                let last = state.next_sequence - 1;
                if last < head.last_sequence {
                    Some(problem(
                        last + 1,
                        ProblemKind::SequenceBreak,
                        format!(
                            "the stream head names {} events but the log ends at {last}",
                            head.last_sequence
                        ),
                    ))
                } else if last > head.last_sequence {
                    Some(problem(
                        head.last_sequence + 1,
                        ProblemKind::HeadMismatch,
                        format!(
                            "the log holds events after the stream head's last sequence {}",
                            head.last_sequence
                        ),
                    ))
                } else if head.last_hash != state.prev {
                    Some(problem(
                        last,
                        ProblemKind::HeadMismatch,
                        "the last event's hash differs from the stream head's".into(),
                    ))
                } else {
                    None
                }
            }
        };
        found_problems.extend(found);
    }
    for p in found_problems {
        scan.problem(p);
    }
    headless.sort();
    for key in headless {
        scan.problem(Problem {
            aggregate_type: key.0,
            aggregate_id: key.1,
            sequence: 1,
            global_position: None,
            kind: ProblemKind::MissingHead,
            detail: "the stream has events but no head".into(),
        });
    }
    let leaves = scan.leaves;
    let checkpoint = checkpoint.map(|cp| check_checkpoint(cp, &leaves));
    let root = merkle::root(&leaves);
    Verification {
        ok: scan.problems.is_empty()
            && checkpoint
                .as_ref()
                .is_none_or(|c| c.signature_valid && c.matches_log),
        events: leaves.len() as u64,
        streams: scan.streams.len() as u64,
        tree_size: leaves.len() as u64,
        root: hex::encode(root),
        problems: scan.problems,
        checkpoint,
    }
}

fn check_checkpoint(cp: &KeptHead, leaves: &[Hash]) -> CheckpointCheck {
    let size = cp.tree_size as usize;
    let (matches_log, detail) = if size > leaves.len() {
        (
            false,
            format!(
                "the checkpoint covers {size} events but the log holds only {}: events were removed",
                leaves.len()
            ),
        )
    } else if merkle::root(&leaves[..size]) == cp.root {
        (
            true,
            format!("the first {size} events hash to the signed root"),
        )
    } else {
        (
            false,
            format!(
                "the first {size} events no longer hash to the signed root: the log was rewritten"
            ),
        )
    };
    let signature_valid = cp.signature_valid;
    CheckpointCheck {
        tree_size: cp.tree_size,
        root: hex::encode(cp.root),
        signed_at: cp.signed_at.clone(),
        public_key: hex::encode(cp.public_key),
        signature_valid,
        matches_log,
        detail: if signature_valid {
            detail
        } else {
            format!("the signature is not valid; {detail}")
        },
    }
}

/// Seals events stored before the hash chain existed: computes their hashes
/// and stream heads once. Returns how many events were sealed.
pub async fn seal_unsealed(db: &Database) -> Result<u64, DbError> {
    const STREAMS: &str =
        "SELECT DISTINCT aggregate_type, aggregate_id FROM events WHERE hash IS NULL";
    let streams: Vec<(String, String)> = match db {
        Database::Postgres(pool) => sqlx::query_as(STREAMS).fetch_all(pool).await?,
        Database::Sqlite(pool) => sqlx::query_as(STREAMS).fetch_all(pool).await?,
    };
    let mut sealed = 0;
    for (aggregate_type, aggregate_id) in streams {
        sealed += seal_stream(db, &aggregate_type, &aggregate_id).await?;
    }
    Ok(sealed)
}

async fn seal_stream(
    db: &Database,
    aggregate_type: &str,
    aggregate_id: &str,
) -> Result<u64, DbError> {
    const UPDATE: &str = "UPDATE events SET hash = $1 \
         WHERE aggregate_type = $2 AND aggregate_id = $3 AND sequence = $4 AND hash IS NULL";
    let Seal {
        updates,
        last_hash: prev,
        events: last,
    } = match db {
        Database::Postgres(pool) => {
            let sql = Filter::Stream.apply(EVENTS_POSTGRES);
            let rows = sqlx::query(&sql)
                .bind(aggregate_type)
                .bind(aggregate_id)
                .fetch_all(pool)
                .await?;
            let mut buf = Vec::new();
            let rows = rows
                .iter()
                .map(|r| decode_pg(r, &mut buf))
                .collect::<Result<Vec<_>, _>>()?;
            seal_rows(&rows)?
        }
        Database::Sqlite(pool) => {
            let sql = Filter::Stream.apply(EVENTS_SQLITE);
            let rows = sqlx::query(&sql)
                .bind(aggregate_type)
                .bind(aggregate_id)
                .fetch_all(pool)
                .await?;
            let mut buf = Vec::new();
            let rows = rows
                .iter()
                .map(|r| decode_sqlite(r, &mut buf))
                .collect::<Result<Vec<_>, _>>()?;
            seal_rows(&rows)?
        }
    };
    macro_rules! apply {
        ($pool:expr) => {{
            let mut tx = $pool.begin().await?;
            for (sequence, hash) in &updates {
                sqlx::query(UPDATE)
                    .bind(&hash[..])
                    .bind(aggregate_type)
                    .bind(aggregate_id)
                    .bind(sequence)
                    .execute(&mut *tx)
                    .await?;
            }
            if last > 0 {
                sqlx::query(UPSERT_HEAD)
                    .bind(aggregate_type)
                    .bind(aggregate_id)
                    .bind(last)
                    .bind(&prev[..])
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
        }};
    }
    match db {
        Database::Postgres(pool) => apply!(pool),
        Database::Sqlite(pool) => apply!(pool),
    }
    Ok(updates.len() as u64)
}

/// What sealing one stream fills in.
struct Seal {
    /// (sequence, hash) of each event that had none.
    updates: Vec<(i64, Hash)>,
    last_hash: Hash,
    events: i64,
}

/// The hashes to fill in for one stream's rows (in sequence order).
fn seal_rows(rows: &[LogRow<'_>]) -> Result<Seal, DbError> {
    let mut prev = GENESIS;
    let mut updates = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        let stream = format!("{}/{}", row.aggregate_type, row.aggregate_id);
        if row.sequence != i as i64 + 1 {
            return Err(DbError::Invalid(format!(
                "cannot seal {stream}: sequence {} follows {i}",
                row.sequence
            )));
        }
        let hash = match row.hash {
            Some(h) => Hash::try_from(h)
                .map_err(|_| DbError::Invalid(format!("{stream}: bad hash at {}", row.sequence)))?,
            None => {
                let digest = row.digest.as_ref().map_err(|detail| {
                    DbError::Invalid(format!(
                        "cannot seal {stream} at {}: {detail}",
                        row.sequence
                    ))
                })?;
                let h = chain::link(&prev, digest);
                updates.push((row.sequence, h));
                h
            }
        };
        prev = hash;
    }
    Ok(Seal {
        updates,
        last_hash: prev,
        events: rows.len() as i64,
    })
}
