//! Benchmarks that print numbers (never timed tests):
//!
//! - `lianxi-bench rebuild [--store sqlite|postgres] [--events N] [--batch B]`:
//!   rebuilds the read models from N generated events and reports events/s.
//! - `lianxi-bench lag [--store sqlite|postgres] [--rate R] [--seconds S]`:
//!   drives commands at R per second over HTTP against the real server and
//!   reports the projection lag (command answered → read model caught up).
//!
//! - `lianxi-bench verify [--store sqlite|postgres] [--events N]`: verifies
//!   the hash chains (and a checkpoint) of N generated events; reports events/s.
//! - `lianxi-bench dossier [--store sqlite|postgres] [--events N] [--requests R]`:
//!   builds a case of about N events over HTTP and times R dossier requests.
//!
//! - `lianxi-bench suite [--seconds S] [--clients C]`: the goals P1, P2, P3
//!   and P6 in one run against the release `lianxi` binary on PostgreSQL:
//!   command throughput over HTTP against pgbench, open-loop latency at half
//!   that rate, projection lag under that load, memory and cold start.
//! - `lianxi-bench replay [--events N] [--store sqlite|postgres]`: P4 and P5
//!   on a realistic generated log: rebuilds every read model, verifies.
//! - `lianxi-bench all`: `suite` then `replay`, with one summary.
//! - `lianxi-bench throughput|latency --rate R|footprint`: P1, P2, P6 alone.
//! - `lianxi-bench smoke [--seconds S]`: the driver end to end in seconds
//!   (`tests/run` runs it): fails when a command fails, holds no goal.
//!
//! Every summary line shows the commands behind it that failed and that met
//! a version conflict; a figure measured with errors is not met.
//!
//! Each creates a fresh database (PostgreSQL from `LIANXI_TEST_DATABASE_URL`).

mod hot;
mod load;
mod photos;
mod realistic;
mod suite;

use std::sync::Arc;
use std::time::{Duration, Instant};

use lianxi_gateway::db::chain::{self, EventFields, Hash, GENESIS};
use lianxi_projections::grievance_list::GrievanceList;
use lianxi_projections::{checkpoint, Position, Projection, RunnerSettings};
use lianxi_tests::{Api, Cast, Server, Store, TestDb};
use serde_json::json;
use uuid::Uuid;

pub(crate) fn arg(args: &[String], name: &str, default: &str) -> String {
    args.windows(2)
        .find(|w| w[0] == name)
        .map(|w| w[1].clone())
        .unwrap_or_else(|| default.to_owned())
}

pub(crate) fn store(args: &[String]) -> Store {
    match arg(args, "--store", "postgres").as_str() {
        "sqlite" => Store::Sqlite,
        _ => Store::Postgres,
    }
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("rebuild") => rebuild(&args).await,
        Some("lag") => lag(&args).await,
        Some("verify") => verify(&args).await,
        Some("dossier") => dossier(&args).await,
        Some("suite") => {
            let mut lines = Vec::new();
            suite::suite(&args, &mut lines).await;
            suite::print_summary(&lines);
        }
        Some("replay") => {
            let mut lines = Vec::new();
            suite::replay(&args, &mut lines).await;
            suite::print_summary(&lines);
        }
        Some("all") => {
            let mut lines = Vec::new();
            suite::suite(&args, &mut lines).await;
            hot::p7(&args, &mut lines).await;
            suite::replay(&args, &mut lines).await;
            suite::print_summary(&lines);
        }
        Some("hot") => {
            let mut lines = Vec::new();
            hot::p7(&args, &mut lines).await;
            suite::print_summary(&lines);
        }
        Some("smoke") => {
            if !suite::smoke(&args).await {
                std::process::exit(1);
            }
        }
        Some("throughput") => suite::throughput(&args).await,
        Some("latency") => suite::latency(&args).await,
        Some("footprint") => suite::footprint(&args).await,
        Some("photos") => photos::photos(&args),
        _ => eprintln!(
            "usage: lianxi-bench suite|replay|hot|all|throughput|latency|footprint|rebuild|lag|verify|dossier|photos [--store sqlite|postgres] [options]"
        ),
    }
}

/// The ten events of one grievance's typical life, as stored payloads.
fn life(id: Uuid, xiaoqu: Uuid, filer: Uuid, at: &str) -> Vec<(&'static str, serde_json::Value)> {
    vec![
        (
            "GrievanceFiled",
            json!({"GrievanceFiled": {
            "grievance_id": id, "xiaoqu": xiaoqu, "filer": filer, "category": "repairs",
            "title": "3栋电梯停运", "description": "电梯从周一起停运,老人上下楼困难。",
            "location": {"building": "3栋", "unit": null, "common_area": null},
            "respondent": "property_company", "urgency": "normal", "channel": "web",
            "attachments": [], "filed_at": at}}),
        ),
        (
            "DeadlineSet",
            json!({"DeadlineSet": {"stage": "accept", "due_at": at, "at": at}}),
        ),
        (
            "GrievanceAccepted",
            json!({"GrievanceAccepted": {"at": at}}),
        ),
        (
            "DeadlineSet",
            json!({"DeadlineSet": {"stage": "respond", "due_at": at, "at": at}}),
        ),
        (
            "GrievanceTriaged",
            json!({"GrievanceTriaged": {"matter_class": "minor", "tier": "xiaoqu", "party": "property_company", "at": at}}),
        ),
        (
            "GrievanceAssigned",
            json!({"GrievanceAssigned": {"party": "property_company", "note": null, "at": at}}),
        ),
        (
            "GrievanceResponded",
            json!({"GrievanceResponded": {"party": "property_company", "response": "已处理", "at": at}}),
        ),
        (
            "DeadlineSet",
            json!({"DeadlineSet": {"stage": "resolve", "due_at": at, "at": at}}),
        ),
        (
            "GrievanceResolved",
            json!({"GrievanceResolved": {"summary": "已解决", "at": at}}),
        ),
        (
            "OutcomeRated",
            json!({"OutcomeRated": {"rating": "satisfied", "comment": null, "at": at}}),
        ),
    ]
}

/// Inserts `events` events (ten per grievance), interleaving grievances in
/// waves of 1,000 the way a busy log interleaves them.
async fn generate(t: &TestDb, events: usize) {
    let grievances = events / 10;
    let xiaoqu = Uuid::new_v4();
    let at = "2026-03-01T09:00:00Z";
    // Stored (and hashed) in canonical form, as the service writes it.
    let metadata = chain::canonical_json(
        &json!({"actor": Uuid::nil(), "role": "system", "command": "bench", "request_id": "bench", "occurred_at": at}),
    );
    let recorded_at =
        chrono::DateTime::from_timestamp_micros(chrono::Utc::now().timestamp_micros())
            .expect("now");
    let started = Instant::now();
    let mut rows: Vec<Row> = Vec::with_capacity(10_000);
    let mut heads: Vec<(String, Hash)> = Vec::with_capacity(grievances);
    let mut wave_start = 0;
    while wave_start < grievances {
        // Each grievance of the wave: id, its ten events, its last hash.
        let mut wave: Vec<Life> = (wave_start..(wave_start + 1000).min(grievances))
            .map(|_| {
                let id = Uuid::new_v4();
                (id, life(id, xiaoqu, Uuid::new_v4(), at), GENESIS)
            })
            .collect();
        for step in 0..10 {
            for (id, events, prev) in &mut wave {
                let aggregate_id = id.to_string();
                let event_id = Uuid::new_v4();
                let (event_type, payload) = &events[step];
                let payload = chain::canonical_json(payload);
                // Stored exactly as the service stores it: with its chain hash.
                let hash = chain::event_hash(
                    prev,
                    &EventFields {
                        aggregate_type: "grievance",
                        aggregate_id: &aggregate_id,
                        sequence: step as i64 + 1,
                        event_type,
                        event_version: "1",
                        event_id,
                        recorded_at,
                        payload: &payload,
                        metadata: &metadata,
                    },
                );
                *prev = hash;
                rows.push(Row {
                    aggregate_id,
                    sequence: step as i64 + 1,
                    event_type,
                    payload,
                    event_id,
                    hash,
                });
            }
            flush(t, &mut rows, &metadata, recorded_at, false).await;
        }
        heads.extend(wave.iter().map(|(id, _, prev)| (id.to_string(), *prev)));
        wave_start += 1000;
    }
    flush(t, &mut rows, &metadata, recorded_at, true).await;
    insert_heads(t, &heads).await;
    eprintln!(
        "generated {events} events in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

/// A generated grievance: id, its ten events, and its chain's last hash.
type Life = (Uuid, Vec<(&'static str, serde_json::Value)>, Hash);

/// One generated event, ready for the INSERT.
struct Row {
    aggregate_id: String,
    sequence: i64,
    event_type: &'static str,
    payload: String,
    event_id: Uuid,
    hash: Hash,
}

async fn flush(
    t: &TestDb,
    rows: &mut Vec<Row>,
    metadata: &str,
    recorded_at: chrono::DateTime<chrono::Utc>,
    force: bool,
) {
    if rows.is_empty() || (!force && rows.len() < 5000) {
        return;
    }
    let meta = metadata;
    match &t.db {
        lianxi_gateway::db::Database::Postgres(pool) => {
            let ids: Vec<&str> = rows.iter().map(|r| r.aggregate_id.as_str()).collect();
            let seqs: Vec<i64> = rows.iter().map(|r| r.sequence).collect();
            let types: Vec<&str> = rows.iter().map(|r| r.event_type).collect();
            let payloads: Vec<&str> = rows.iter().map(|r| r.payload.as_str()).collect();
            let event_ids: Vec<Uuid> = rows.iter().map(|r| r.event_id).collect();
            let hashes: Vec<&[u8]> = rows.iter().map(|r| &r.hash[..]).collect();
            sqlx::query(
                "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version,
                                     payload, metadata, event_id, recorded_at, hash)
                 SELECT 'grievance', id, seq, ty, '1', p::json, $5::json, eid, $6, h
                   FROM UNNEST($1::text[], $2::bigint[], $3::text[], $4::text[], $7::uuid[], $8::bytea[])
                        AS u(id, seq, ty, p, eid, h)",
            )
            .bind(&ids)
            .bind(&seqs)
            .bind(&types)
            .bind(&payloads)
            .bind(meta)
            .bind(recorded_at)
            .bind(&event_ids)
            .bind(&hashes)
            .execute(pool)
            .await
            .expect("insert events");
        }
        lianxi_gateway::db::Database::Sqlite(pool) => {
            let recorded_at = recorded_at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string();
            let mut tx = pool.begin().await.expect("begin");
            for r in rows.iter() {
                sqlx::query(
                    "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version,
                                         payload, metadata, event_id, recorded_at, hash)
                     VALUES ('grievance', ?, ?, ?, '1', ?, ?, ?, ?, ?)",
                )
                .bind(&r.aggregate_id)
                .bind(r.sequence)
                .bind(r.event_type)
                .bind(&r.payload)
                .bind(meta)
                .bind(r.event_id.to_string())
                .bind(&recorded_at)
                .bind(&r.hash[..])
                .execute(&mut *tx)
                .await
                .expect("insert event");
            }
            tx.commit().await.expect("commit");
        }
    }
    rows.clear();
}

/// The stream heads of the generated grievances (ten events each).
async fn insert_heads(t: &TestDb, heads: &[(String, Hash)]) {
    for chunk in heads.chunks(10_000) {
        match &t.db {
            lianxi_gateway::db::Database::Postgres(pool) => {
                let ids: Vec<&str> = chunk.iter().map(|h| h.0.as_str()).collect();
                let hashes: Vec<&[u8]> = chunk.iter().map(|h| &h.1[..]).collect();
                sqlx::query(
                    "INSERT INTO event_streams (aggregate_type, aggregate_id, last_sequence, last_hash)
                     SELECT 'grievance', id, 10, h FROM UNNEST($1::text[], $2::bytea[]) AS u(id, h)",
                )
                .bind(&ids)
                .bind(&hashes)
                .execute(pool)
                .await
                .expect("insert heads");
            }
            lianxi_gateway::db::Database::Sqlite(pool) => {
                let mut tx = pool.begin().await.expect("begin");
                for (id, hash) in chunk {
                    sqlx::query(
                        "INSERT INTO event_streams (aggregate_type, aggregate_id, last_sequence, last_hash)
                         VALUES ('grievance', ?, 10, ?)",
                    )
                    .bind(id)
                    .bind(&hash[..])
                    .execute(&mut *tx)
                    .await
                    .expect("insert head");
                }
                tx.commit().await.expect("commit");
            }
        }
    }
}

async fn rebuild(args: &[String]) {
    let events: usize = arg(args, "--events", "1000000")
        .parse()
        .expect("--events N");
    let batch: i64 = arg(args, "--batch", "5000").parse().expect("--batch B");
    let Some(t) = TestDb::new(store(args)).await else {
        eprintln!("no database");
        return;
    };
    generate(&t, events).await;
    let settings = RunnerSettings {
        batch_size: batch,
        ..RunnerSettings::default()
    };
    if args.iter().any(|a| a == "--read-only") {
        // How long reading and decoding the feed alone takes.
        let started = Instant::now();
        let mut at = Position::default();
        let mut n = 0;
        loop {
            let events = lianxi_projections::feed::read_after(&t.db.store(), at, batch)
                .await
                .expect("read");
            let Some(last) = events.last() else { break };
            at = last.position;
            n += events.len();
        }
        let seconds = started.elapsed().as_secs_f64();
        println!(
            "feed read events={n} seconds={seconds:.2} events_per_second={:.0}",
            n as f64 / seconds
        );
    }
    let grievances: Arc<dyn Projection> = Arc::new(GrievanceList);
    let started = Instant::now();
    let applied = lianxi_projections::rebuild::rebuild(&t.db.store(), &[grievances], settings)
        .await
        .expect("rebuild")
        .expect("leads");
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "rebuild store={:?} events={applied} batch={batch} seconds={seconds:.2} events_per_second={:.0}",
        t.store,
        applied as f64 / seconds
    );
}

/// How often the lag watcher reads the checkpoint.
const WATCH_MS: u64 = 5;

pub(crate) fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * (sorted.len() as f64 - 1.0)).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn parse_position(p: &str) -> Position {
    let (tx, pos) = p.split_once('.').expect("position");
    Position {
        transaction_id: tx.parse().expect("tx"),
        global_position: pos.parse().expect("pos"),
    }
}

async fn lag(args: &[String]) {
    let rate: u64 = arg(args, "--rate", "100").parse().expect("--rate R");
    let seconds: u64 = arg(args, "--seconds", "20").parse().expect("--seconds S");
    let Some(t) = TestDb::new(store(args)).await else {
        eprintln!("no database");
        return;
    };
    let cast = Cast::new(&t.db).await;
    let server = Server::start_with(&t.db, true).await;
    let api = Api::new(&server.base);
    let store = t.db.store();
    // Watch the checkpoint closely and note when it passes each position.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(Position, Instant)>();
    let watcher = {
        let store = store.clone();
        tokio::spawn(async move {
            let mut pending: Vec<(Position, Instant)> = Vec::new();
            let mut lags = Vec::new();
            let mut closed = false;
            loop {
                loop {
                    match rx.try_recv() {
                        Ok(item) => pending.push(item),
                        Err(tokio::sync::mpsc::error::TryRecvError::Empty) => break,
                        Err(tokio::sync::mpsc::error::TryRecvError::Disconnected) => {
                            closed = true;
                            break;
                        }
                    }
                }
                if closed && pending.is_empty() {
                    return lags;
                }
                let at = checkpoint::load(&store, "grievance_list")
                    .await
                    .expect("checkpoint")
                    .position;
                let now = Instant::now();
                pending.retain(|(p, sent)| {
                    if *p <= at {
                        lags.push(now.duration_since(*sent).as_secs_f64() * 1000.0);
                        false
                    } else {
                        true
                    }
                });
                tokio::time::sleep(Duration::from_millis(WATCH_MS)).await;
            }
        })
    };
    let interval = Duration::from_secs_f64(1.0 / rate as f64);
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut ids: Vec<String> = Vec::new();
    let mut sent = 0u64;
    let mut tasks = Vec::new();
    let mut i = 0usize;
    while Instant::now() < deadline {
        ticker.tick().await;
        let api = api.clone();
        let tx = tx.clone();
        let cast = cast.clone();
        // Alternate filing and accepting what was filed.
        let target = if i % 2 == 1 { ids.pop() } else { None };
        i += 1;
        sent += 1;
        tasks.push(tokio::spawn(async move {
            let answer = match &target {
                Some(id) => {
                    api.post(
                        &format!("/api/v1/grievances/{id}/accept"),
                        &cast.a.branch.token,
                        json!({}),
                    )
                    .await
                }
                None => {
                    api.post(
                        "/api/v1/grievances",
                        &cast.a.resident.token,
                        lianxi_tests::sample_grievance(),
                    )
                    .await
                }
            };
            let answered = Instant::now();
            if let Some(p) = answer.body["position"].as_str() {
                let _ = tx.send((parse_position(p), answered));
            }
            answer.body["id"]
                .as_str()
                .map(str::to_owned)
                .filter(|_| target.is_none())
        }));
        // Take the filings answered so far without waiting for the others:
        // the next command goes out on schedule whatever the earlier ones do.
        let mut pending = Vec::with_capacity(tasks.len());
        for task in tasks.drain(..) {
            if task.is_finished() {
                if let Ok(Some(id)) = task.await {
                    ids.push(id);
                }
            } else {
                pending.push(task);
            }
        }
        tasks = pending;
    }
    for task in tasks.drain(..) {
        let _ = task.await;
    }
    drop(tx);
    let mut lags = watcher.await.expect("watcher");
    lags.sort_by(f64::total_cmp);
    println!(
        "lag store={:?} rate={rate}/s seconds={seconds} commands={sent} measured={} p50_ms={:.1} p90_ms={:.1} p99_ms={:.1} max_ms={:.1}",
        t.store,
        lags.len(),
        percentile(&lags, 50.0),
        percentile(&lags, 90.0),
        percentile(&lags, 99.0),
        lags.last().copied().unwrap_or(f64::NAN)
    );
    server.stop().await;
}

async fn verify(args: &[String]) {
    let events: usize = arg(args, "--events", "1000000")
        .parse()
        .expect("--events N");
    let Some(t) = TestDb::new(store(args)).await else {
        eprintln!("no database");
        return;
    };
    // `--database-url URL`: verify a log generated by an earlier run.
    let existing = arg(args, "--database-url", "");
    let db = if existing.is_empty() {
        generate(&t, events).await;
        t.db.clone()
    } else {
        lianxi_gateway::db::Database::connect(&existing, Default::default())
            .await
            .expect("connect")
    };
    for round in 1..=2 {
        let started = Instant::now();
        let report = lianxi_gateway::audit::verify(&db, None)
            .await
            .expect("verify");
        let seconds = started.elapsed().as_secs_f64();
        if !report.ok {
            eprintln!("not ok");
        }
        println!(
            "verify store={:?} round={round} events={} streams={} seconds={seconds:.2} events_per_second={:.0}",
            t.store,
            report.events,
            report.streams,
            report.events as f64 / seconds
        );
    }
    let key = lianxi_gateway::audit::AuditKey::ephemeral();
    let started = Instant::now();
    let checkpoint = lianxi_gateway::audit::checkpoint::take(&db, &key)
        .await
        .expect("checkpoint");
    println!(
        "checkpoint store={:?} tree_size={} seconds={:.2}",
        t.store,
        checkpoint.tree_size,
        started.elapsed().as_secs_f64()
    );
    let started = Instant::now();
    let report = lianxi_gateway::audit::verify(&db, Some(&(&checkpoint).into()))
        .await
        .expect("verify");
    let seconds = started.elapsed().as_secs_f64();
    assert!(report.ok);
    println!(
        "verify+checkpoint store={:?} events={} seconds={seconds:.2} events_per_second={:.0}",
        t.store,
        report.events,
        report.events as f64 / seconds
    );
}

async fn dossier(args: &[String]) {
    let target: usize = arg(args, "--events", "200").parse().expect("--events N");
    let requests: usize = arg(args, "--requests", "200")
        .parse()
        .expect("--requests R");
    let Some(t) = TestDb::new(store(args)).await else {
        eprintln!("no database");
        return;
    };
    let cast = Cast::new(&t.db).await;
    let server = Server::start(&t.db).await;
    let api = Api::new(&server.base);
    let a = &cast.a;
    let id = api.file(&a.resident).await;
    api.command(&id, "accept", &a.branch, json!({})).await;
    // Pausing and resuming the clock: each round adds two or three events.
    let mut version = 0;
    while version < target {
        api.command(
            &id,
            "pause",
            &a.branch,
            json!({"reason": "等待业主补充材料"}),
        )
        .await;
        let resumed = api.command(&id, "resume", &a.branch, json!({})).await;
        version = resumed["version"].as_u64().expect("version") as usize;
    }
    api.post("/api/v1/audit/checkpoints", &cast.auditor.token, json!({}))
        .await;
    let path = format!("/api/v1/grievances/{id}/dossier");
    for (format, accept) in [("json", "application/json"), ("html", "text/html")] {
        let mut times = Vec::with_capacity(requests);
        let mut size = 0;
        for _ in 0..requests {
            let started = Instant::now();
            let answer = Api::send(
                api.request(reqwest::Method::GET, &path, Some(&cast.auditor.token))
                    .header("accept", accept),
            )
            .await;
            times.push(started.elapsed().as_secs_f64() * 1000.0);
            assert_eq!(answer.status, reqwest::StatusCode::OK);
            size = answer.body.to_string().len();
        }
        times.sort_by(f64::total_cmp);
        println!(
            "dossier store={:?} format={format} events={version} requests={requests} bytes={size} p50_ms={:.2} p99_ms={:.2} max_ms={:.2}",
            t.store,
            percentile(&times, 50.0),
            percentile(&times, 99.0),
            times.last().copied().unwrap_or(f64::NAN)
        );
    }
    server.stop().await;
}
