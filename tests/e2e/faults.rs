//! Fault drills: commands flow through the real `lianxi serve` from several
//! clients while the gateway is SIGKILLed, PostgreSQL is restarted at once
//! or SIGKILLed, its connections are terminated, or the `events` table is
//! locked past the request timeout.
//!
//! A checker records every command as acknowledged (2xx), refused (4xx) or
//! unknown (no definite answer before the drill gave up). Clients retry an
//! unanswered command with the same `Idempotency-Key`, as a resident's app
//! would. Afterwards every acknowledged command's event is in the log exactly
//! once, nothing refused left an event, no stream has a gap, every 5xx was a
//! `503`, no request went unanswered past the request timeout, and the read
//! model equals a fresh rebuild.
//!
//! The suite runs them short. The long form, for operators:
//! `LIANXI_DRILL_SECONDS=30 cargo test -p lianxi-tests --test e2e -- faults --test-threads 1 --nocapture`
//! (docs/operators.md, "Fault drills").

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use lianxi_gateway::db::{Database, PoolSettings};
use lianxi_projections::{checkpoint, feed, grievance_list};
use lianxi_tests::cluster::Cluster;
use lianxi_tests::{Cast, Process, Store, TempDir, TestDb};
use serde_json::{json, Value};
use uuid::Uuid;

/// The request timeout the drills give the server.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(3);
/// Concurrent clients.
const CLIENTS: usize = 8;

/// How long each phase of load lasts (before, between and after faults).
fn phase() -> Duration {
    let seconds = std::env::var("LIANXI_DRILL_SECONDS")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .unwrap_or(1.5);
    Duration::from_secs_f64(seconds)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Step {
    File,
    Accept,
    Triage,
}

impl Step {
    fn event(self) -> &'static str {
        match self {
            Step::File => "GrievanceFiled",
            Step::Accept => "GrievanceAccepted",
            Step::Triage => "GrievanceTriaged",
        }
    }

    fn next(self) -> Option<Step> {
        match self {
            Step::File => Some(Step::Accept),
            Step::Accept => Some(Step::Triage),
            Step::Triage => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Acknowledged,
    Refused,
    Unknown,
}

#[derive(Debug)]
struct Record {
    step: Step,
    grievance: Option<String>,
    /// Unique per filing: finds a filing whose answer never came.
    title: String,
    outcome: Outcome,
    /// Every answer's status (0: no answer: refused connection, reset, timeout).
    statuses: Vec<u16>,
    /// The slowest single attempt.
    slowest: Duration,
}

/// Where the clients send their commands, and who they are.
struct Load {
    http: reqwest::Client,
    base: RwLock<String>,
    resident: String,
    branch: String,
    stopping: AtomicBool,
    /// Once stopping, unanswered commands are retried until then.
    settle_by: Mutex<Option<Instant>>,
}

impl Load {
    fn new(base: &str, cast: &Cast) -> Arc<Load> {
        Arc::new(Load {
            http: lianxi_tests::http_client()
                // Longer than the server's own timeout: a request the server
                // never answers shows up as a slow attempt, not a 503.
                .timeout(REQUEST_TIMEOUT * 4)
                .build()
                .expect("client"),
            base: RwLock::new(base.to_owned()),
            resident: cast.a.resident.token.clone(),
            branch: cast.a.branch.token.clone(),
            stopping: AtomicBool::new(false),
            settle_by: Mutex::new(None),
        })
    }

    fn point_at(&self, base: &str) {
        *self.base.write().expect("base") = base.to_owned();
    }

    fn start(self: &Arc<Self>) -> Vec<tokio::task::JoinHandle<Vec<Record>>> {
        (0..CLIENTS)
            .map(|n| tokio::spawn(client(self.clone(), n)))
            .collect()
    }

    /// Stops issuing new commands; unanswered ones are retried for `settle`.
    async fn finish(
        &self,
        clients: Vec<tokio::task::JoinHandle<Vec<Record>>>,
        settle: Duration,
    ) -> Vec<Record> {
        *self.settle_by.lock().expect("settle") = Some(Instant::now() + settle);
        self.stopping.store(true, Ordering::SeqCst);
        let mut records = Vec::new();
        for c in clients {
            records.extend(c.await.expect("client"));
        }
        records
    }

    /// Sends one command until it has a definite answer (or the drill gives up).
    async fn run(&self, step: Step, grievance: Option<String>, title: String) -> Record {
        let key = Uuid::new_v4().to_string();
        let (path, token, body) = match (step, &grievance) {
            (Step::File, _) => {
                let mut body = lianxi_tests::sample_grievance();
                body["title"] = json!(title);
                ("/api/v1/grievances".to_owned(), &self.resident, body)
            }
            (Step::Accept, Some(id)) => (
                format!("/api/v1/grievances/{id}/accept"),
                &self.branch,
                json!({}),
            ),
            (Step::Triage, Some(id)) => (
                format!("/api/v1/grievances/{id}/triage"),
                &self.branch,
                json!({"matter_class": "minor", "party": "property_company"}),
            ),
            _ => unreachable!("only a filing has no grievance yet"),
        };
        let mut record = Record {
            step,
            grievance,
            title,
            outcome: Outcome::Unknown,
            statuses: Vec::new(),
            slowest: Duration::ZERO,
        };
        let mut backoff = Duration::from_millis(25);
        loop {
            let base = self.base.read().expect("base").clone();
            let sent = Instant::now();
            let answer = self
                .http
                .post(format!("{base}{path}"))
                .bearer_auth(token)
                .header("Idempotency-Key", &key)
                .json(&body)
                .send()
                .await;
            let answer = match answer {
                Ok(r) => {
                    let status = r.status().as_u16();
                    Some((status, r.json::<Value>().await.unwrap_or(Value::Null)))
                }
                Err(_) => None,
            };
            record.slowest = record.slowest.max(sent.elapsed());
            let problem = |slug: &str| {
                answer
                    .as_ref()
                    .is_some_and(|(_, b)| b["type"].as_str().is_some_and(|t| t.ends_with(slug)))
            };
            match &answer {
                Some((status, body)) if (200..300).contains(status) => {
                    record.statuses.push(*status);
                    if record.grievance.is_none() {
                        record.grievance = body["id"].as_str().map(str::to_owned);
                    }
                    record.outcome = Outcome::Acknowledged;
                    return record;
                }
                // The first run committed and died before answering.
                Some((409, _)) if problem("idempotency-answer-lost") => {
                    record.statuses.push(409);
                    record.outcome = Outcome::Acknowledged;
                    return record;
                }
                Some((409, _)) if problem("idempotency-key-in-use") => record.statuses.push(409),
                Some((429, _)) => record.statuses.push(429),
                Some((status, _)) if (400..500).contains(status) => {
                    record.statuses.push(*status);
                    record.outcome = Outcome::Refused;
                    return record;
                }
                Some((status, _)) => record.statuses.push(*status),
                None => record.statuses.push(0),
            }
            let give_up = *self.settle_by.lock().expect("settle");
            if give_up.is_some_and(|at| Instant::now() >= at) {
                return record;
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_millis(500));
        }
    }
}

/// One client: files a grievance, then accepts and triages it, and again.
async fn client(load: Arc<Load>, n: usize) -> Vec<Record> {
    let mut records = Vec::new();
    let mut next: Option<(Step, String, String)> = None;
    let mut filed = 0usize;
    while !load.stopping.load(Ordering::SeqCst) {
        let (step, grievance, title) = match next.take() {
            Some((step, id, title)) => (step, Some(id), title),
            None => {
                filed += 1;
                let title = format!(
                    "演练 {n}-{filed}-{}",
                    &Uuid::new_v4().simple().to_string()[..8]
                );
                (Step::File, None, title)
            }
        };
        let record = load.run(step, grievance, title).await;
        if record.outcome == Outcome::Acknowledged {
            if let (Some(id), Some(after)) = (&record.grievance, step.next()) {
                next = Some((after, id.clone(), record.title.clone()));
            }
        }
        records.push(record);
    }
    records
}

/// The log as the checker reads it: per grievance stream, how often each
/// event type occurs; per title, how many filings; streams with a gap.
struct Log {
    counts: HashMap<(String, String), i64>,
    titles: HashMap<String, i64>,
    gaps: Vec<String>,
    events: i64,
}

async fn read_log(db: &Database) -> Log {
    let mut counts = HashMap::new();
    let mut titles = HashMap::new();
    // Per grievance and event type a count; each filing's title; per
    // stream its count and first and last sequence.
    type Counts = Vec<(String, String, i64)>;
    type Titles = Vec<(Option<String>,)>;
    type Streams = Vec<(String, String, i64, i64, i64)>;
    let (rows, filed, streams): (Counts, Titles, Streams) = match db {
        Database::Postgres(pool) => (
            sqlx::query_as(
                "SELECT aggregate_id, event_type, count(*) FROM events \
                 WHERE aggregate_type = 'grievance' GROUP BY 1, 2",
            )
            .fetch_all(pool)
            .await
            .expect("counts"),
            sqlx::query_as(
                "SELECT payload::jsonb -> 'GrievanceFiled' ->> 'title' FROM events \
                 WHERE aggregate_type = 'grievance' AND event_type = 'GrievanceFiled'",
            )
            .fetch_all(pool)
            .await
            .expect("titles"),
            sqlx::query_as(
                "SELECT aggregate_type, aggregate_id, count(*), min(sequence), max(sequence) \
                 FROM events GROUP BY 1, 2",
            )
            .fetch_all(pool)
            .await
            .expect("streams"),
        ),
        Database::Sqlite(pool) => (
            sqlx::query_as(
                "SELECT aggregate_id, event_type, count(*) FROM events \
                 WHERE aggregate_type = 'grievance' GROUP BY 1, 2",
            )
            .fetch_all(pool)
            .await
            .expect("counts"),
            sqlx::query_as(
                "SELECT json_extract(payload, '$.GrievanceFiled.title') FROM events \
                 WHERE aggregate_type = 'grievance' AND event_type = 'GrievanceFiled'",
            )
            .fetch_all(pool)
            .await
            .expect("titles"),
            sqlx::query_as(
                "SELECT aggregate_type, aggregate_id, count(*), min(sequence), max(sequence) \
                 FROM events GROUP BY 1, 2",
            )
            .fetch_all(pool)
            .await
            .expect("streams"),
        ),
    };
    for (id, event, n) in rows {
        counts.insert((id, event), n);
    }
    for (title,) in filed {
        *titles.entry(title.unwrap_or_default()).or_insert(0) += 1;
    }
    let events = streams.iter().map(|s| s.2).sum();
    let gaps = streams
        .into_iter()
        .filter(|(_, _, n, first, last)| *first != 1 || last != n)
        .map(|(ty, id, n, first, last)| format!("{ty}/{id}: {n} events, sequences {first}..{last}"))
        .collect();
    Log {
        counts,
        titles,
        gaps,
        events,
    }
}

/// Waits until the grievance read model has applied the whole feed.
async fn caught_up(db: &Database) {
    let store = db.store();
    tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            let cp = checkpoint::load(&store, grievance_list::NAME)
                .await
                .expect("checkpoint");
            if feed::lag(&store, cp.position).await.expect("lag").events == 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the read model catches up within 60 s after the faults");
}

/// Everything the drill promises, checked against the log and the read model.
/// `server` catches up its read model, then is stopped so that the read
/// model can be rebuilt in place.
async fn check(
    what: &str,
    db: &Database,
    url: &str,
    dir: &TempDir,
    server: Process,
    records: &[Record],
) {
    let count = |outcome| records.iter().filter(|r| r.outcome == outcome).count();
    let acknowledged = count(Outcome::Acknowledged);
    let refused = count(Outcome::Refused);
    let unknown = count(Outcome::Unknown);
    let answers: Vec<u16> = records.iter().flat_map(|r| r.statuses.clone()).collect();
    let of = |s: u16| answers.iter().filter(|a| **a == s).count();
    let slowest = records.iter().map(|r| r.slowest).max().unwrap_or_default();
    let log = read_log(db).await;
    eprintln!(
        "drill {what}: {} commands: {acknowledged} acknowledged, {refused} refused, {unknown} unknown; \
         {} attempts ({} unanswered, {} × 503, {} × 409 in progress); slowest attempt {:?}; {} events in the log",
        records.len(),
        answers.len(),
        of(0),
        of(503),
        of(409),
        slowest,
        log.events
    );
    assert!(acknowledged > 0, "{what}: the drill acknowledged nothing");
    assert!(
        log.gaps.is_empty(),
        "{what}: streams with gaps: {:?}",
        log.gaps
    );
    let server_errors: Vec<&u16> = answers
        .iter()
        .filter(|s| **s >= 500 && **s != 503)
        .collect();
    assert!(
        server_errors.is_empty(),
        "{what}: every 5xx must be 503 unavailable: {server_errors:?}"
    );
    // The server answers within its timeout (plus the time a dead server's
    // socket takes to refuse): nothing hangs.
    assert!(
        slowest <= REQUEST_TIMEOUT + Duration::from_secs(2),
        "{what}: an attempt took {slowest:?}"
    );
    for r in records {
        let n = |id: &String| {
            log.counts
                .get(&(id.clone(), r.step.event().to_owned()))
                .copied()
                .unwrap_or(0)
        };
        match (r.outcome, &r.grievance) {
            (Outcome::Acknowledged, Some(id)) => assert_eq!(
                n(id),
                1,
                "{what}: acknowledged {:?} of {id} is in the log {} times ({:?})",
                r.step,
                n(id),
                r.statuses
            ),
            (Outcome::Acknowledged, None) => panic!("{what}: a filing acknowledged without an id"),
            (Outcome::Refused, Some(id)) => assert_eq!(
                n(id),
                0,
                "{what}: refused {:?} of {id} left an event ({:?})",
                r.step,
                r.statuses
            ),
            (_, Some(id)) => assert!(n(id) <= 1, "{what}: {:?} of {id} doubled", r.step),
            (_, None) => {}
        }
        if r.step == Step::File {
            let filings = log.titles.get(&r.title).copied().unwrap_or(0);
            let expected = match r.outcome {
                Outcome::Acknowledged => 1..=1,
                Outcome::Refused => 0..=0,
                Outcome::Unknown => 0..=1,
            };
            assert!(
                expected.contains(&filings),
                "{what}: filing {:?} ({:?}, {:?}) is in the log {filings} times",
                r.title,
                r.outcome,
                r.statuses
            );
        }
    }
    assert_eq!(refused, 0, "{what}: nothing in the drill should be refused");

    caught_up(db).await;
    server.kill().await;
    let store = db.store();
    let resumed = lianxi_tests::read_model_rows(&store).await;
    let filed: std::collections::HashSet<String> =
        resumed.iter().map(|(s, _)| s.id.to_string()).collect();
    for r in records {
        if let (Outcome::Acknowledged, Some(id)) = (r.outcome, &r.grievance) {
            assert!(
                filed.contains(id),
                "{what}: {id} is missing from the read model"
            );
        }
    }
    let env = [("LIANXI_DATABASE_URL", url)];
    lianxi_tests::lianxi_cli(&dir.0, &env, &["projections", "rebuild", "grievance_list"]).await;
    let rebuilt = lianxi_tests::read_model_rows(&store).await;
    assert!(
        resumed == rebuilt,
        "{what}: the read model differs from a fresh rebuild"
    );
}

fn server_env(url: &str) -> Vec<(&'static str, String)> {
    vec![
        ("LIANXI_DATABASE_URL", url.to_owned()),
        (
            "LIANXI_REQUEST_TIMEOUT_MS",
            REQUEST_TIMEOUT.as_millis().to_string(),
        ),
    ]
}

async fn start_server(dir: &TempDir, env: &[(&'static str, String)]) -> Process {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    Process::start(&dir.0, &env).await
}

/// A fresh database on `store` with the gateway on it, under load.
struct Loaded {
    t: TestDb,
    dir: TempDir,
    env: Vec<(&'static str, String)>,
    server: Process,
    load: Arc<Load>,
    clients: Vec<tokio::task::JoinHandle<Vec<Record>>>,
}

async fn loaded(store: Store) -> Option<Loaded> {
    let t = TestDb::new(store).await?;
    let cast = Cast::new(&t.db).await;
    let dir = TempDir::new();
    let env = server_env(&t.url);
    let server = start_server(&dir, &env).await;
    let load = Load::new(&server.base, &cast);
    let clients = load.start();
    Some(Loaded {
        t,
        dir,
        env,
        server,
        load,
        clients,
    })
}

async fn gateway_killed_under_load(store: Store) {
    let Some(Loaded {
        t,
        dir,
        env,
        server,
        load,
        clients,
    }) = loaded(store).await
    else {
        return;
    };
    let mut server = Some(server);
    for _ in 0..3 {
        tokio::time::sleep(phase()).await;
        if let Some(s) = server.take() {
            s.kill().await;
        }
        let s = start_server(&dir, &env).await;
        load.point_at(&s.base);
        server = Some(s);
    }
    tokio::time::sleep(phase()).await;
    let records = load.finish(clients, Duration::from_secs(20)).await;
    let server = server.take().expect("the last server");
    let what = format!("gateway SIGKILL ×3 ({store:?})");
    check(&what, &t.db, &t.url, &dir, server, &records).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_gateway_killed_under_load_loses_nothing() {
    gateway_killed_under_load(Store::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_gateway_killed_under_load_loses_nothing() {
    gateway_killed_under_load(Store::Postgres).await;
}

/// Sends a command and a readiness probe while the store is down: each is
/// answered 503 within the request timeout; the metrics still answer.
async fn answers_503_while_down(load: &Load, what: &str) {
    let base = load.base.read().expect("base").clone();
    let sent = Instant::now();
    let scraped = load
        .http
        .get(format!("{base}/metrics"))
        .send()
        .await
        .expect("the gateway answers");
    assert_eq!(
        scraped.status().as_u16(),
        200,
        "{what}: /metrics while down"
    );
    let text = scraped.text().await.unwrap_or_default();
    assert!(text.contains("lianxi_store_up 0"), "{what}: {text}");
    assert!(
        sent.elapsed() <= Duration::from_secs(2),
        "{what}: /metrics took {:?}",
        sent.elapsed()
    );
    for path in ["/readyz", "/api/v1/grievances"] {
        let sent = Instant::now();
        let request = if path == "/readyz" {
            load.http.get(format!("{base}{path}"))
        } else {
            load.http
                .post(format!("{base}{path}"))
                .bearer_auth(&load.resident)
                .json(&lianxi_tests::sample_grievance())
        };
        let answer = request.send().await.expect("the gateway answers");
        assert_eq!(
            answer.status().as_u16(),
            503,
            "{what}: {path} while PostgreSQL is down"
        );
        // Readiness says so within two seconds; a command within its timeout.
        let within = if path == "/readyz" {
            Duration::from_secs(2)
        } else {
            REQUEST_TIMEOUT + Duration::from_secs(1)
        };
        assert!(
            sent.elapsed() <= within,
            "{what}: {path} took {:?} to answer",
            sent.elapsed()
        );
    }
}

/// How long after PostgreSQL is back the gateway answers a command again.
async fn recovery(load: &Load) -> Duration {
    let base = load.base.read().expect("base").clone();
    let back = Instant::now();
    loop {
        let answer = load
            .http
            .get(format!("{base}/api/v1/grievances"))
            .bearer_auth(&load.resident)
            .send()
            .await;
        if answer.is_ok_and(|a| a.status().is_success()) {
            return back.elapsed();
        }
        assert!(
            back.elapsed() < Duration::from_secs(5),
            "the gateway did not recover within 5 s after PostgreSQL was back"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restarted_and_killed_under_load_answers_503_and_loses_nothing() {
    let Some(cluster) = Cluster::start() else {
        return;
    };
    let db = Database::connect(&cluster.url, PoolSettings::default())
        .await
        .expect("connect to the cluster");
    db.migrate().await.expect("migrate");
    let cast = Cast::new(&db).await;
    let dir = TempDir::new();
    let env = server_env(&cluster.url);
    let mut server = start_server(&dir, &env).await;
    let load = Load::new(&server.base, &cast);
    let clients = load.start();
    let mut recoveries = Vec::new();
    for fault in ["immediate stop", "SIGKILL"] {
        tokio::time::sleep(phase()).await;
        match fault {
            "SIGKILL" => cluster.kill(),
            _ => cluster.stop_immediately(),
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        answers_503_while_down(&load, fault).await;
        assert!(
            server.child.try_wait().expect("wait").is_none(),
            "the gateway exited while PostgreSQL was down"
        );
        cluster.start_again();
        recoveries.push(recovery(&load).await);
    }
    tokio::time::sleep(phase()).await;
    let records = load.finish(clients, Duration::from_secs(20)).await;
    assert!(
        server.child.try_wait().expect("wait").is_none(),
        "the gateway is still running"
    );
    eprintln!("recovered after PostgreSQL was back: {recoveries:?}");
    check(
        "PostgreSQL restart and SIGKILL",
        &db,
        &cluster.url,
        &dir,
        server,
        &records,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_terminated_under_load_lose_nothing() {
    let Some(Loaded {
        t,
        dir,
        server,
        load,
        clients,
        ..
    }) = loaded(Store::Postgres).await
    else {
        return;
    };
    let Database::Postgres(pool) = &t.db else {
        unreachable!("a PostgreSQL test database");
    };
    // One connection of the drill's own, the only one it spares.
    let mut drill = pool.acquire().await.expect("a connection for the drill");
    tokio::time::sleep(phase()).await;
    let mut terminated = 0i64;
    let until = Instant::now() + phase();
    while Instant::now() < until {
        let (n,): (i64,) = sqlx::query_as(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid() \
             AND backend_type = 'client backend'",
        )
        .fetch_one(&mut *drill)
        .await
        .expect("terminate the gateway's connections");
        terminated += n;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(drill);
    tokio::time::sleep(phase()).await;
    let records = load.finish(clients, Duration::from_secs(20)).await;
    eprintln!("terminated {terminated} connections");
    assert!(terminated > 0, "the drill terminated no connection");
    check(
        "pg_terminate_backend",
        &t.db,
        &t.url,
        &dir,
        server,
        &records,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_events_table_times_requests_out_and_loses_nothing() {
    let Some(Loaded {
        t,
        dir,
        server,
        load,
        clients,
        ..
    }) = loaded(Store::Postgres).await
    else {
        return;
    };
    let Database::Postgres(pool) = &t.db else {
        unreachable!("a PostgreSQL test database");
    };
    tokio::time::sleep(phase()).await;
    // Every append (and every feed read) waits on the lock, past the timeout.
    let mut tx = pool.begin().await.expect("begin");
    sqlx::query("LOCK TABLE events IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *tx)
        .await
        .expect("lock the events table");
    tokio::time::sleep(REQUEST_TIMEOUT * 2).await;
    tx.commit().await.expect("release the lock");
    tokio::time::sleep(phase()).await;
    let records = load.finish(clients, Duration::from_secs(20)).await;
    let timed_out = records.iter().filter(|r| r.statuses.contains(&503)).count();
    assert!(
        timed_out > 0,
        "no command was cut off by the request timeout while the table was locked"
    );
    check(
        "stalled events table",
        &t.db,
        &t.url,
        &dir,
        server,
        &records,
    )
    .await;
}
