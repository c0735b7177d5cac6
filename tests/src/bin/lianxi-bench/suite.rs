//! The performance goals P1–P6, measured in one run each, with a summary
//! of every figure against its goal.
//!
//! - P1 command throughput over HTTP (32 closed-loop clients) as a ratio to
//!   pgbench's single-row INSERT commits/s at the same concurrency.
//! - P2 p99 command latency in open loop at half the P1 rate, measured from
//!   each command's intended send time.
//! - P3 projection lag p99 under P1 load.
//! - P4 rebuilding every read model from 1,000,000 realistic events.
//! - P5 verifying the hash chains of those events.
//! - P6 the gateway's resident memory idle and under load, and its cold
//!   start on the embedded default store.

use std::sync::Arc;
use std::time::{Duration, Instant};

use lianxi_tests::{Store, TempDir, TestDb};

use crate::load::{self, ServerProcess, Throughput, Workload};
use crate::{arg, percentile, realistic, store};

/// One line of the summary: the figure, its goal, and how it compares
/// (`ratio` ≥ 1 means the goal is met), with the commands behind it that
/// failed (`errors`) or met a version conflict (`conflicts`). A figure
/// measured with errors does not meet its goal, whatever its ratio.
pub struct Line {
    pub id: &'static str,
    pub what: String,
    pub value: String,
    pub goal: String,
    pub ratio: f64,
    pub errors: u64,
    pub conflicts: u64,
}

impl Line {
    /// The verdict: met only with the ratio reached and no error; "—" for
    /// a figure without a goal.
    pub fn verdict(&self) -> &'static str {
        match (self.ratio >= 1.0, self.errors) {
            (_, e) if e > 0 => "**no** (errors)",
            _ if self.goal.is_empty() => "—",
            (true, _) => "yes",
            (false, _) => "**no**",
        }
    }
}

pub fn print_summary(lines: &[Line]) {
    println!();
    println!("| goal | measured | value | goal | ratio to goal | errors | conflicts | met |");
    println!("|---|---|---|---|---|---|---|---|");
    for l in lines {
        println!(
            "| {} | {} | {} | {} | {:.2} | {} | {} | {} |",
            l.id,
            l.what,
            l.value,
            l.goal,
            l.ratio,
            l.errors,
            l.conflicts,
            l.verdict()
        );
    }
    let errors: u64 = lines.iter().map(|l| l.errors).sum();
    if errors > 0 {
        println!();
        println!(
            "**{errors} command(s) failed during this run: its figures are not to be trusted.**"
        );
    }
}

pub(crate) fn num<T: std::str::FromStr>(args: &[String], name: &str, default: &str) -> T {
    arg(args, name, default)
        .parse()
        .unwrap_or_else(|_| panic!("{name} must be a number"))
}

fn ms(sorted: &[f64], p: f64) -> f64 {
    percentile(sorted, p)
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    percentile(&xs, 50.0)
}

/// The real server on a fresh PostgreSQL database with its accounts, and
/// the command mix aimed at it.
struct Bench {
    t: TestDb,
    _dir: TempDir,
    server: ServerProcess,
    work: Arc<Workload>,
    idle_rss_kb: u64,
}

async fn prepare(args: &[String]) -> Option<Bench> {
    let xiaoqu: usize = num(args, "--xiaoqu", "8");
    let residents: usize = num(args, "--residents", "40");
    let t = TestDb::new(Store::Postgres).await?;
    let people = load::population(&t.db, xiaoqu, residents).await;
    let dir = TempDir::new();
    let server = ServerProcess::start(&dir.0, Some(&t.url)).await;
    let work = Workload::new(&server.base, people, 7);
    server.ready(work.http()).await;
    // Idle: started, migrated, runners leading, nothing asked of it yet.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let idle_rss_kb = server.memory_kb("VmRSS");
    eprintln!(
        "server pid {} at {}; idle VmRSS {} kB",
        server.pid, server.base, idle_rss_kb
    );
    Some(Bench {
        t,
        _dir: dir,
        server,
        work,
        idle_rss_kb,
    })
}

impl Bench {
    async fn stop(self) {
        self.server.stop().await;
        drop_database(self.t).await;
    }
}

/// Drops a database the benchmark created (a million events take room).
pub(crate) async fn drop_database(t: TestDb) {
    t.db.close().await;
    if t.store != Store::Postgres {
        return;
    }
    let Some(name) = t
        .url
        .rsplit('/')
        .next()
        .map(|n| n.split('?').next().unwrap_or(n).to_owned())
    else {
        return;
    };
    if let Ok(admin) = lianxi_gateway::db::Database::connect(
        &lianxi_tests::postgres_admin_url(),
        Default::default(),
    )
    .await
    {
        if let lianxi_gateway::db::Database::Postgres(pool) = &admin {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(pool)
                .await;
        }
        admin.close().await;
    }
}

struct P1 {
    http: Throughput,
    /// CPU per command by process while it ran.
    cpu: load::Cpu,
    pgbench: load::Pgbench,
    clients: usize,
    peak_rss_kb: u64,
}

/// P1: the closed-loop mix, then pgbench for as long on the same machine.
async fn p1(b: &Bench, clients: usize, seconds: f64, warmup: f64) -> P1 {
    if warmup > 0.0 {
        let w = load::closed_loop(&b.work, clients, warmup, None).await;
        eprintln!(
            "warm-up: {} commands in {:.1} s ({} errors, {} conflicts)",
            w.commands, w.seconds, w.errors, w.conflicts
        );
    }
    // Sample the resident set while the load runs.
    let pid = b.server.pid;
    let sampling = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let sampler = {
        let sampling = sampling.clone();
        tokio::spawn(async move {
            let mut peak = 0;
            while sampling.load(std::sync::atomic::Ordering::Relaxed) {
                peak = peak.max(load::proc_status_kb(pid, "VmRSS"));
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            peak
        })
    };
    let cpu_before = load::Cpu::now(pid);
    let http = load::closed_loop(&b.work, clients, seconds, None).await;
    let cpu = cpu_before.per_command(&load::Cpu::now(pid), http.commands);
    eprintln!("P1 {}", cpu.describe());
    sampling.store(false, std::sync::atomic::Ordering::Relaxed);
    let sampled = sampler.await.unwrap_or(0);
    let peak_rss_kb = sampled.max(b.server.memory_kb("VmHWM"));
    eprintln!(
        "P1 HTTP: {} commands, {} events in {:.1} s: {:.0} commands/s, {:.0} events/s ({} errors, {} conflicts)",
        http.commands,
        http.events,
        http.seconds,
        http.commands_per_second(),
        http.events_per_second(),
        http.errors,
        http.conflicts
    );
    // The row pgbench inserts: a real GrievanceFiled of this run.
    let lianxi_gateway::db::Database::Postgres(pool) = &b.t.db else {
        panic!("PostgreSQL");
    };
    let (payload, metadata): (String, String) = sqlx::query_as(
        "SELECT payload::text, metadata::text FROM events
          WHERE event_type = 'GrievanceFiled' ORDER BY global_position DESC LIMIT 1",
    )
    .fetch_one(pool)
    .await
    .expect("a filed grievance");
    let target = TestDb::new(Store::Postgres).await.expect("PostgreSQL");
    let pgbench = load::pgbench(
        &target.db,
        &target.url,
        &payload,
        &metadata,
        clients,
        seconds.round() as u64,
    )
    .await;
    eprintln!(
        "P1 pgbench: {:.0} single-row INSERT commits/s at {clients} clients ({} transactions, {:.2} ms average, row of ~{} bytes)",
        pgbench.tps, pgbench.transactions, pgbench.latency_ms, pgbench.row_bytes
    );
    drop_database(target).await;
    P1 {
        http,
        cpu,
        pgbench,
        clients,
        peak_rss_kb,
    }
}

/// Commands/s of the closed loop at fewer clients, and their cost.
async fn at_clients(b: &Bench, clients: usize, seconds: f64, out: &mut Vec<Line>) {
    let before = load::Cpu::now(b.server.pid);
    let t = load::closed_loop(&b.work, clients, seconds, None).await;
    let cpu = before.per_command(&load::Cpu::now(b.server.pid), t.commands);
    // `closed_loop` answers its latencies sorted.
    let latencies = &t.latencies;
    eprintln!(
        "closed loop at {clients} client(s): {:.0} commands/s; {}",
        t.commands_per_second(),
        cpu.describe()
    );
    out.push(Line {
        id: "P1",
        what: format!(
            "HTTP commands/s at {clients} client(s) (p50 {:.1} / p99 {:.1} ms; {})",
            ms(latencies, 50.0),
            ms(latencies, 99.0),
            cpu.describe()
        ),
        value: format!("{:.0}/s", t.commands_per_second()),
        goal: String::new(),
        ratio: 1.0,
        errors: t.errors,
        conflicts: t.conflicts,
    });
}

fn p1_lines(p: &P1, out: &mut Vec<Line>) {
    let ratio = p.http.commands_per_second() / p.pgbench.tps;
    out.push(Line {
        id: "P1",
        what: format!(
            "HTTP commands/s at {} clients ÷ pgbench INSERT commits/s ({:.0} ÷ {:.0}; {:.0} events/s; {})",
            p.clients,
            p.http.commands_per_second(),
            p.pgbench.tps,
            p.http.events_per_second(),
            p.cpu.describe()
        ),
        value: format!("{ratio:.2}×"),
        goal: "≥ 0.5×".into(),
        ratio: ratio / 0.5,
        errors: p.http.errors,
        conflicts: p.http.conflicts,
    });
}

/// P2: open loop at `rate`.
async fn p2(b: &Bench, rate: f64, seconds: f64) -> load::Latency {
    let l = load::open_loop(&b.work, rate, seconds).await;
    let c = &l.corrected;
    eprintln!(
        "P2 open loop at {rate:.0}/s for {:.0} s: {} sent, {} errors, {} conflicts; from intended send: p50 {:.1} p90 {:.1} p99 {:.1} p99.9 {:.1} max {:.1} ms; service time p99 {:.1} ms; largest send delay {:.1} ms",
        l.seconds,
        l.sent,
        l.errors,
        l.conflicts,
        ms(c, 50.0),
        ms(c, 90.0),
        ms(c, 99.0),
        ms(c, 99.9),
        c.last().copied().unwrap_or(f64::NAN),
        ms(&l.service, 99.0),
        l.max_send_lag_ms,
    );
    l
}

fn p2_lines(l: &load::Latency, out: &mut Vec<Line>) {
    let c = &l.corrected;
    let p99 = ms(c, 99.0);
    out.push(Line {
        id: "P2",
        what: format!(
            "p99 command latency, open loop at {:.0}/s, from intended send (p50 {:.1} / p90 {:.1} / p99.9 {:.1} / max {:.1} ms)",
            l.rate,
            ms(c, 50.0),
            ms(c, 90.0),
            ms(c, 99.9),
            c.last().copied().unwrap_or(f64::NAN)
        ),
        value: format!("{p99:.1} ms"),
        goal: "≤ 25 ms".into(),
        ratio: 25.0 / p99,
        errors: l.errors,
        conflicts: l.conflicts,
    });
}

/// P3: the closed-loop load again, with the lag watcher.
async fn p3(b: &Bench, clients: usize, seconds: f64) -> (Throughput, Vec<f64>) {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let watcher = load::watch_lag(b.t.db.store(), rx);
    let t = load::closed_loop(&b.work, clients, seconds, Some(tx)).await;
    let lags = watcher.await.expect("watcher");
    eprintln!(
        "P3 lag under {:.0} commands/s ({} measured): p50 {:.1} p90 {:.1} p99 {:.1} max {:.1} ms",
        t.commands_per_second(),
        lags.len(),
        ms(&lags, 50.0),
        ms(&lags, 90.0),
        ms(&lags, 99.0),
        lags.last().copied().unwrap_or(f64::NAN)
    );
    (t, lags)
}

fn p3_lines(t: &Throughput, lags: &[f64], out: &mut Vec<Line>) {
    let p99 = ms(lags, 99.0);
    out.push(Line {
        id: "P3",
        what: format!(
            "projection lag p99 under {:.0} commands/s (p50 {:.1} / p90 {:.1} / max {:.1} ms; {} ms polling)",
            t.commands_per_second(),
            ms(lags, 50.0),
            ms(lags, 90.0),
            lags.last().copied().unwrap_or(f64::NAN),
            load::WATCH_MS
        ),
        value: format!("{p99:.1} ms"),
        goal: "≤ 100 ms".into(),
        ratio: 100.0 / p99,
        errors: t.errors,
        conflicts: t.conflicts,
    });
}

/// Cold starts on the embedded default store: `runs` on a fresh data
/// folder, then `runs` on the folder the first run left.
pub struct ColdStart {
    pub fresh_ms: Vec<f64>,
    pub existing_ms: Vec<f64>,
    pub idle_rss_kb: Vec<f64>,
}

async fn cold_start(runs: usize) -> ColdStart {
    let http = lianxi_tests::http_client()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("HTTP client");
    let mut result = ColdStart {
        fresh_ms: Vec::new(),
        existing_ms: Vec::new(),
        idle_rss_kb: Vec::new(),
    };
    let mut kept = Vec::new();
    for _ in 0..runs {
        let dir = TempDir::new();
        let server = ServerProcess::start(&dir.0, None).await;
        let ready = server.ready(&http).await;
        eprintln!(
            "cold start: listening after {:.0} ms, ready after {:.0} ms",
            server.listening_after.as_secs_f64() * 1000.0,
            ready.as_secs_f64() * 1000.0
        );
        result.fresh_ms.push(ready.as_secs_f64() * 1000.0);
        tokio::time::sleep(Duration::from_secs(1)).await;
        result.idle_rss_kb.push(server.memory_kb("VmRSS") as f64);
        server.stop().await;
        kept.push(dir);
    }
    for dir in &kept {
        let server = ServerProcess::start(&dir.0, None).await;
        let ready = server.ready(&http).await;
        result.existing_ms.push(ready.as_secs_f64() * 1000.0);
        server.stop().await;
    }
    eprintln!(
        "P6 cold start (embedded default): fresh {:?} ms, existing {:?} ms",
        result
            .fresh_ms
            .iter()
            .map(|x| x.round() as i64)
            .collect::<Vec<_>>(),
        result
            .existing_ms
            .iter()
            .map(|x| x.round() as i64)
            .collect::<Vec<_>>()
    );
    result
}

fn p6_lines(idle_kb: u64, peak_kb: u64, load: &str, cold: &ColdStart, out: &mut Vec<Line>) {
    let idle = idle_kb as f64 / 1024.0;
    let peak = peak_kb as f64 / 1024.0;
    out.push(Line {
        id: "P6",
        what: "gateway resident memory idle (VmRSS, PostgreSQL, after start)".into(),
        value: format!("{idle:.1} MB"),
        goal: "≤ 50 MB".into(),
        ratio: 50.0 / idle,
        errors: 0,
        conflicts: 0,
    });
    out.push(Line {
        id: "P6",
        what: format!("gateway resident memory under load (peak VmHWM, {load})"),
        value: format!("{peak:.1} MB"),
        goal: "≤ 150 MB".into(),
        ratio: 150.0 / peak,
        errors: 0,
        conflicts: 0,
    });
    let fresh = median(cold.fresh_ms.clone());
    let existing = median(cold.existing_ms.clone());
    out.push(Line {
        id: "P6",
        what: format!(
            "cold start, spawn → first 200 from /readyz, embedded default, fresh data folder (median of {}; idle VmRSS {:.1} MB)",
            cold.fresh_ms.len(),
            median(cold.idle_rss_kb.clone()) / 1024.0
        ),
        value: format!("{fresh:.0} ms"),
        goal: "≤ 1 s".into(),
        ratio: 1000.0 / fresh,
        errors: 0,
        conflicts: 0,
    });
    out.push(Line {
        id: "P6",
        what: format!(
            "cold start, existing data folder (median of {})",
            cold.existing_ms.len()
        ),
        value: format!("{existing:.0} ms"),
        goal: "≤ 1 s".into(),
        ratio: 1000.0 / existing,
        errors: 0,
        conflicts: 0,
    });
}

/// P1 → P2 at half P1 → P3 under P1 load → P6, on one server.
pub async fn suite(args: &[String], out: &mut Vec<Line>) {
    let clients: usize = num(args, "--clients", "32");
    let seconds: f64 = num(args, "--seconds", "30");
    let warmup: f64 = num(args, "--warmup", "5");
    let cold_runs: usize = num(args, "--cold-runs", "5");
    let Some(b) = prepare(args).await else {
        eprintln!("no PostgreSQL");
        return;
    };
    let p = p1(&b, clients, seconds, warmup).await;
    p1_lines(&p, out);
    for few in [1, 8] {
        at_clients(&b, few, seconds / 2.0, out).await;
    }
    let rate = p.http.commands_per_second() / 2.0;
    let l = p2(&b, rate, seconds).await;
    p2_lines(&l, out);
    let (t, lags) = p3(&b, clients, seconds).await;
    p3_lines(&t, &lags, out);
    let peak = p.peak_rss_kb.max(b.server.memory_kb("VmHWM"));
    let idle = b.idle_rss_kb;
    b.stop().await;
    let cold = cold_start(cold_runs).await;
    p6_lines(idle, peak, &format!("{clients} clients, P1–P3"), &cold, out);
}

pub async fn throughput(args: &[String]) {
    let clients: usize = num(args, "--clients", "32");
    let seconds: f64 = num(args, "--seconds", "30");
    let warmup: f64 = num(args, "--warmup", "5");
    let Some(b) = prepare(args).await else {
        eprintln!("no PostgreSQL");
        return;
    };
    let p = p1(&b, clients, seconds, warmup).await;
    let mut out = Vec::new();
    p1_lines(&p, &mut out);
    let t = &p.http;
    println!(
        "throughput clients={clients} seconds={:.1} commands={} events={} errors={} conflicts={} commands_per_second={:.0} events_per_second={:.0} p50_ms={:.1} p99_ms={:.1} pgbench_tps={:.0} ratio={:.2}",
        t.seconds,
        t.commands,
        t.events,
        t.errors,
        t.conflicts,
        t.commands_per_second(),
        t.events_per_second(),
        ms(&t.latencies, 50.0),
        ms(&t.latencies, 99.0),
        p.pgbench.tps,
        t.commands_per_second() / p.pgbench.tps
    );
    b.stop().await;
    print_summary(&out);
}

pub async fn latency(args: &[String]) {
    let rate: f64 = num(args, "--rate", "100");
    let seconds: f64 = num(args, "--seconds", "30");
    let warmup: f64 = num(args, "--warmup", "5");
    let Some(b) = prepare(args).await else {
        eprintln!("no PostgreSQL");
        return;
    };
    if warmup > 0.0 {
        load::closed_loop(&b.work, 8, warmup, None).await;
    }
    let l = p2(&b, rate, seconds).await;
    let mut out = Vec::new();
    p2_lines(&l, &mut out);
    b.stop().await;
    print_summary(&out);
}

pub async fn footprint(args: &[String]) {
    let clients: usize = num(args, "--clients", "32");
    let seconds: f64 = num(args, "--seconds", "30");
    let cold_runs: usize = num(args, "--cold-runs", "5");
    let Some(b) = prepare(args).await else {
        eprintln!("no PostgreSQL");
        return;
    };
    let t = load::closed_loop(&b.work, clients, seconds, None).await;
    let peak = b.server.memory_kb("VmHWM");
    eprintln!(
        "load: {:.0} commands/s; peak VmHWM {peak} kB",
        t.commands_per_second()
    );
    let idle = b.idle_rss_kb;
    b.stop().await;
    let cold = cold_start(cold_runs).await;
    let mut out = Vec::new();
    p6_lines(idle, peak, &format!("{clients} clients"), &cold, &mut out);
    print_summary(&out);
}

/// Runs `lianxi projections rebuild [name]` on `url`; returns its seconds.
async fn rebuild_cli(url: &str, name: Option<&str>) -> f64 {
    let dir = TempDir::new();
    let mut command = tokio::process::Command::new(load::lianxi_binary());
    command.args(["projections", "rebuild"]);
    if let Some(name) = name {
        command.arg(name);
    }
    let started = Instant::now();
    let status = command
        .current_dir(&dir.0)
        .env("LIANXI_DATABASE_URL", url)
        .stdout(std::process::Stdio::null())
        // `LIANXI_BENCH_LOG=1`: the rebuild's own log lines (with `RUST_LOG`).
        .stderr(if std::env::var_os("LIANXI_BENCH_LOG").is_some() {
            std::process::Stdio::inherit()
        } else {
            std::process::Stdio::null()
        })
        .status()
        .await
        .expect("run lianxi projections rebuild");
    let seconds = started.elapsed().as_secs_f64();
    assert!(status.success(), "lianxi projections rebuild failed");
    seconds
}

/// P4 and P5 on a generated realistic log.
pub async fn replay(args: &[String], out: &mut Vec<Line>) {
    let events: usize = num(args, "--events", "1000000");
    let xiaoqu: usize = num(args, "--xiaoqu", "40");
    let seed: u64 = num(args, "--seed", "2026");
    let Some(t) = TestDb::new(store(args)).await else {
        eprintln!("no database");
        return;
    };
    let mix = realistic::generate(&t.db, events, xiaoqu, seed).await;
    print_mix(&mix, events);
    // Rebuilds as an operator runs them: the real binary (`LIANXI_BIN`
    // picks another build), each read model alone, then all of them.
    let mut per = Vec::new();
    for projection in lianxi_gateway::server::projections() {
        let name = projection.name().to_owned();
        if projection.shadow().is_none() {
            eprintln!("{name}: an outbox, not rebuilt (as `lianxi projections rebuild` skips it)");
            continue;
        }
        let seconds = rebuild_cli(&t.url, Some(&name)).await;
        println!(
            "rebuild-cli store={:?} projection={name} events={events} seconds={seconds:.2} events_per_second={:.0}",
            t.store,
            events as f64 / seconds
        );
        per.push((name, seconds));
    }
    let cli_seconds = rebuild_cli(&t.url, None).await;
    println!(
        "rebuild-cli store={:?} projections=all events={events} seconds={cli_seconds:.2} events_per_second={:.0}",
        t.store,
        events as f64 / cli_seconds
    );
    for (name, seconds) in &per {
        let rate = events as f64 / seconds;
        out.push(Line {
            id: "P4",
            what: format!(
                "`lianxi projections rebuild {name}` of {events} events ({seconds:.2} s)"
            ),
            value: format!("{rate:.0} events/s"),
            goal: "≥ 100,000/s".into(),
            ratio: rate / 100_000.0,
            errors: 0,
            conflicts: 0,
        });
    }
    let overall = events as f64 / cli_seconds;
    out.push(Line {
        id: "P4",
        what: format!(
            "`lianxi projections rebuild`: every read model from {events} events ({cli_seconds:.2} s)"
        ),
        value: format!("{overall:.0} events/s"),
        goal: "≥ 100,000/s".into(),
        ratio: overall / 100_000.0,
        errors: 0,
        conflicts: 0,
    });
    let mut rounds = Vec::new();
    for round in 1..=2 {
        let started = Instant::now();
        let report = lianxi_gateway::audit::verify(&t.db, None)
            .await
            .expect("verify");
        let seconds = started.elapsed().as_secs_f64();
        assert!(report.ok, "the generated log must verify");
        let rate = report.events as f64 / seconds;
        println!(
            "verify store={:?} round={round} events={} streams={} seconds={seconds:.2} events_per_second={rate:.0}",
            t.store, report.events, report.streams
        );
        rounds.push(format!("{rate:.0}"));
    }
    let first: f64 = rounds[0].parse().unwrap_or(0.0);
    out.push(Line {
        id: "P5",
        what: format!(
            "verify every hash chain and stream head ({events} events; rounds {})",
            rounds.join(", ")
        ),
        value: format!("{first:.0} events/s"),
        goal: "≥ 300,000/s".into(),
        ratio: first / 300_000.0,
        errors: 0,
        conflicts: 0,
    });
    drop_database(t).await;
}

fn print_mix(mix: &realistic::Mix, events: usize) {
    println!(
        "generated {events} events in {:.1} s: {} xiaoqu, {} residents",
        mix.seconds, mix.xiaoqu, mix.residents
    );
    let mut lives: Vec<_> = mix.lives.iter().collect();
    lives.sort_by(|a, b| b.1.cmp(a.1));
    for (kind, n) in lives {
        println!("  lives {kind}: {n}");
    }
    let mut types: Vec<_> = mix.events_by_type.iter().collect();
    types.sort_by(|a, b| b.1.cmp(a.1));
    for (ty, n) in types {
        println!(
            "  {ty}: {n} events in {} streams",
            mix.streams_by_type.get(ty).copied().unwrap_or(0)
        );
    }
    let mut names: Vec<_> = mix.event_types.iter().collect();
    names.sort_by(|a, b| b.1.cmp(a.1));
    let line: Vec<String> = names.iter().map(|(n, c)| format!("{n} {c}")).collect();
    println!("  event types: {}", line.join(", "));
}

/// `lianxi-bench smoke`: the driver end to end in seconds, so that it cannot
/// rot unnoticed (`tests/run` runs it): the command mix over HTTP against the
/// `lianxi` binary next to this one on a fresh PostgreSQL database, closed
/// loop then open loop, then a small generated log rebuilt and verified,
/// then P7 small (a dozen merges into one grievance through one instance
/// and through two). Prints its figures and fails when any command failed
/// or a read model differs from its streams; no figure is held to a goal (this machine is busy with the rest of the suite).
pub async fn smoke(args: &[String]) -> bool {
    let base = ["lianxi-bench", "smoke", "--xiaoqu", "2", "--residents", "6"].map(str::to_owned);
    let Some(b) = prepare(&base).await else {
        eprintln!("smoke: no PostgreSQL");
        return false;
    };
    let t = load::closed_loop(&b.work, 4, num(args, "--seconds", "3"), None).await;
    println!(
        "smoke closed loop: 4 clients, {} commands, {} events in {:.1} s ({:.0} commands/s), {} errors, {} conflicts, p50 {:.1} ms, p99 {:.1} ms",
        t.commands,
        t.events,
        t.seconds,
        t.commands_per_second(),
        t.errors,
        t.conflicts,
        ms(&t.latencies, 50.0),
        ms(&t.latencies, 99.0)
    );
    let l = load::open_loop(&b.work, 20.0, 2.0).await;
    println!(
        "smoke open loop: {} sent at {:.0}/s, {} errors, {} conflicts, p99 from intended send {:.1} ms",
        l.sent,
        l.rate,
        l.errors,
        l.conflicts,
        ms(&l.corrected, 99.0)
    );
    b.stop().await;
    let replay_args = [
        "lianxi-bench",
        "replay",
        "--events",
        "3000",
        "--xiaoqu",
        "3",
    ]
    .map(str::to_owned);
    let mut lines = Vec::new();
    replay(&replay_args, &mut lines).await;
    let hot_args = ["--hot-clients", "4", "--hot-merges", "3"].map(str::to_owned);
    crate::hot::p7(&hot_args, &mut lines).await;
    print_summary(&lines);
    let errors = t.errors + l.errors + lines.iter().map(|l| l.errors).sum::<u64>();
    // Every P7 run: every merge linked and every row equal to its stream.
    let hot_whole = lines.iter().filter(|l| l.id == "P7").all(|l| l.ratio > 0.0);
    let answered = t.commands > 0 && l.sent > 0 && lines.iter().any(|l| l.id == "P7") && hot_whole;
    println!(
        "smoke: {}",
        if errors == 0 && answered {
            "no error"
        } else {
            "FAILED"
        }
    );
    errors == 0 && answered
}
