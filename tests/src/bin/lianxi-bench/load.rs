//! Command load over HTTP against the real `lianxi serve` binary: a
//! realistic mix of grievance lifecycles by the right roles, driven closed
//! loop (N clients, each sending its next command when the last answered)
//! or open loop (commands sent on a fixed schedule, latency measured from
//! each command's intended send time, so a stalled server cannot hide its
//! queueing: no coordinated omission).

use std::collections::VecDeque;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lianxi_domain::values::XiaoquId;
use lianxi_domain::Role;
use lianxi_gateway::db::{Database, NewXiaoqu, Scope};
use lianxi_projections::{checkpoint, Position};
use lianxi_tests::{add_person, Person, TempDir};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use tokio::process::{Child, Command};
use uuid::Uuid;

/// The release `lianxi` binary next to this one (or `LIANXI_BIN`).
pub fn lianxi_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("LIANXI_BIN") {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().expect("own path");
    let bin = exe.with_file_name(format!("lianxi{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.exists(),
        "{} is missing: build it with `cargo build --release -p lianxi-gateway --bin lianxi`",
        bin.display()
    );
    bin
}

/// `lianxi serve` as a child process.
#[derive(Debug)]
pub struct ServerProcess {
    pub child: Child,
    pub pid: u32,
    pub base: String,
    /// From spawning to the "listening" line.
    pub listening_after: Duration,
    pub spawned_at: Instant,
}

impl ServerProcess {
    /// Starts `lianxi serve` in `cwd` with `env`; `database_url` `None`
    /// keeps the embedded default (`./data/lianxi.db`).
    pub async fn start(cwd: &std::path::Path, database_url: Option<&str>) -> ServerProcess {
        let mut command = Command::new(lianxi_binary());
        command
            .arg("serve")
            .current_dir(cwd)
            .env_remove("LIANXI_DATABASE_URL")
            .env("LIANXI_LISTEN", "127.0.0.1:0")
            // A load test files far more than a resident would.
            .env("LIANXI_FILINGS_PER_ACCOUNT_HOUR", "0")
            .env("LIANXI_FILINGS_PER_ADDRESS_HOUR", "0")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true);
        if let Some(url) = database_url {
            command.env("LIANXI_DATABASE_URL", url);
            // A deployment on PostgreSQL gets its keys from `lianxi init`.
            let init = Command::new(lianxi_binary())
                .arg("init")
                .current_dir(cwd)
                .env("LIANXI_DATABASE_URL", url)
                .output()
                .await
                .expect("run lianxi init");
            assert!(
                init.status.success(),
                "lianxi init failed: {}",
                String::from_utf8_lossy(&init.stderr)
            );
        }
        let spawned_at = Instant::now();
        let mut child = command.spawn().expect("start lianxi serve");
        let pid = child.id().expect("pid");
        let base = lianxi_tests::listening_on(&mut child, Duration::from_secs(60)).await;
        let listening_after = spawned_at.elapsed();
        ServerProcess {
            child,
            pid,
            base,
            listening_after,
            spawned_at,
        }
    }

    /// Polls `/readyz` until it answers 200; returns the time since spawning.
    pub async fn ready(&self, http: &reqwest::Client) -> Duration {
        let url = format!("{}/readyz", self.base);
        loop {
            if let Ok(r) = http.get(&url).send().await {
                if r.status() == reqwest::StatusCode::OK {
                    return self.spawned_at.elapsed();
                }
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    /// A kilobyte figure of `/proc/<pid>/status` (`VmRSS`, `VmHWM`).
    pub fn memory_kb(&self, field: &str) -> u64 {
        proc_status_kb(self.pid, field)
    }

    /// SIGTERM, then wait for the exit.
    pub async fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status()
            .await;
        if tokio::time::timeout(Duration::from_secs(30), self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
    }
}

pub fn proc_status_kb(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field).and_then(|r| r.strip_prefix(':')))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// CPU time (user and system) a process has used so far, in seconds; 0
/// once it is gone.
pub fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The fields after the command name, which is in parentheses: state is
    // the first, utime the 12th, stime the 13th (clock ticks of 1/100 s).
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

/// CPU seconds used so far by every PostgreSQL process of the machine.
pub fn postgres_cpu_seconds() -> f64 {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0.0;
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|c| c.trim() == "postgres")
        })
        .map(cpu_seconds)
        .sum()
}

/// CPU seconds so far of the server, PostgreSQL and this driver.
#[derive(Clone, Copy, Debug, Default)]
pub struct Cpu {
    pub server: f64,
    pub postgres: f64,
    pub driver: f64,
}

impl Cpu {
    pub fn now(server: u32) -> Cpu {
        Cpu {
            server: cpu_seconds(server),
            postgres: postgres_cpu_seconds(),
            driver: cpu_seconds(std::process::id()),
        }
    }

    /// Microseconds of CPU per command between `self` and `later`, by process.
    pub fn per_command(&self, later: &Cpu, commands: u64) -> Cpu {
        let per = |a: f64, b: f64| (b - a) * 1e6 / commands.max(1) as f64;
        Cpu {
            server: per(self.server, later.server),
            postgres: per(self.postgres, later.postgres),
            driver: per(self.driver, later.driver),
        }
    }

    pub fn describe(&self) -> String {
        format!(
            "CPU per command: gateway {:.0} µs, PostgreSQL {:.0} µs, driver {:.0} µs",
            self.server, self.postgres, self.driver
        )
    }
}

/// The people of one xiaoqu.
#[derive(Clone, Debug)]
pub struct Xiaoqu {
    pub residents: Vec<Person>,
    pub branch: Person,
    pub company: Person,
    pub committee: Person,
}

/// Registers `xiaoqu` xiaoqu with `residents` residents each, and their
/// party branch, property company and owners' committee accounts.
pub async fn population(db: &Database, xiaoqu: usize, residents: usize) -> Vec<Xiaoqu> {
    let mut out = Vec::with_capacity(xiaoqu);
    for i in 0..xiaoqu {
        let community = format!("第{}社区", i / 3 + 1);
        let record = db
            .add_xiaoqu(
                XiaoquId(Uuid::new_v4()),
                &NewXiaoqu {
                    name: format!("压测小区{:02}", i + 1),
                    community: community.clone(),
                    street: "城厢街道".into(),
                    district: "涪城区".into(),
                },
            )
            .await
            .expect("add xiaoqu");
        let x = Scope::Xiaoqu(record.id);
        let mut people = Vec::with_capacity(residents);
        for _ in 0..residents {
            people.push(add_person(db, Role::Resident, x.clone()).await);
        }
        out.push(Xiaoqu {
            residents: people,
            branch: add_person(db, Role::PartyBranch, x.clone()).await,
            company: add_person(db, Role::PropertyCompany, x.clone()).await,
            committee: add_person(db, Role::OwnersCommittee, x).await,
        });
    }
    out
}

/// One API command of a grievance's life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cmd {
    File,
    Accept,
    Reject,
    Withdraw,
    Pause,
    Resume,
    Triage,
    Assign,
    Respond,
    Resolve,
    Rate(&'static str),
    Reopen,
}

const LIFE: [Cmd; 7] = [
    Cmd::File,
    Cmd::Accept,
    Cmd::Triage,
    Cmd::Assign,
    Cmd::Respond,
    Cmd::Resolve,
    Cmd::Rate("satisfied"),
];

/// A grievance on its way through its planned life.
#[derive(Clone, Debug)]
struct Case {
    id: Option<String>,
    xiaoqu: usize,
    filer: usize,
    /// Who answers for it: the property company or the owners' committee.
    committee: bool,
    plan: Vec<Cmd>,
    next: usize,
    version: u64,
}

/// What one command did.
#[derive(Clone, Copy, Debug)]
pub struct Outcome {
    pub ok: bool,
    /// Refused as a version conflict (409) or a stale `If-Match` (412):
    /// counted apart from other errors.
    pub conflict: bool,
    pub events: u64,
    pub position: Option<Position>,
}

/// The command mix: grievances in flight, the next command of each, and
/// who sends it.
#[derive(Debug)]
pub struct Workload {
    http: reqwest::Client,
    base: String,
    people: Vec<Xiaoqu>,
    state: Mutex<(StdRng, VecDeque<Case>)>,
    /// Grievances in flight: their next commands are interleaved, as
    /// many residents' cases are.
    in_flight: usize,
}

impl Workload {
    pub fn new(base: &str, people: Vec<Xiaoqu>, seed: u64) -> Arc<Workload> {
        let http = lianxi_tests::http_client()
            .timeout(Duration::from_secs(60))
            .pool_max_idle_per_host(512)
            .build()
            .expect("HTTP client");
        Arc::new(Workload {
            http,
            base: base.to_owned(),
            people,
            state: Mutex::new((StdRng::seed_from_u64(seed), VecDeque::new())),
            in_flight: 256,
        })
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// A new grievance's planned life: most are handled, answered, resolved
    /// and rated; some are rejected or withdrawn, some paused for the
    /// filer's papers, some rated unsatisfied and reopened.
    fn plan(rng: &mut StdRng) -> Vec<Cmd> {
        let x: f64 = rng.random();
        if x < 0.04 {
            vec![Cmd::File, Cmd::Reject]
        } else if x < 0.10 {
            vec![Cmd::File, Cmd::Withdraw]
        } else if x < 0.18 {
            vec![
                Cmd::File,
                Cmd::Accept,
                Cmd::Pause,
                Cmd::Resume,
                Cmd::Triage,
                Cmd::Assign,
                Cmd::Respond,
                Cmd::Resolve,
                Cmd::Rate("mostly_satisfied"),
            ]
        } else if x < 0.24 {
            vec![
                Cmd::File,
                Cmd::Accept,
                Cmd::Triage,
                Cmd::Assign,
                Cmd::Respond,
                Cmd::Resolve,
                Cmd::Rate("unsatisfied"),
                Cmd::Reopen,
                Cmd::Respond,
                Cmd::Resolve,
                Cmd::Rate("mostly_satisfied"),
            ]
        } else {
            LIFE.to_vec()
        }
    }

    /// The next command to send: the oldest grievance waiting for its next
    /// step, or a new filing while fewer than `in_flight` are under way.
    fn take(&self) -> Case {
        let mut guard = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let (rng, ready) = &mut *guard;
        if ready.len() >= self.in_flight {
            if let Some(case) = ready.pop_front() {
                return case;
            }
        }
        let xiaoqu = rng.random_range(0..self.people.len());
        let filer = rng.random_range(0..self.people[xiaoqu].residents.len());
        Case {
            id: None,
            xiaoqu,
            filer,
            committee: rng.random_bool(0.15),
            plan: Self::plan(rng),
            next: 0,
            version: 0,
        }
    }

    fn put_back(&self, case: Case) {
        if case.next < case.plan.len() {
            let mut guard = self.state.lock().unwrap_or_else(|e| e.into_inner());
            guard.1.push_back(case);
        }
    }

    fn request(&self, case: &Case, rng_pick: u32) -> (String, &Person, Value) {
        let x = &self.people[case.xiaoqu];
        let filer = &x.residents[case.filer];
        let id = case.id.as_deref().unwrap_or_default();
        let at = |action: &str| format!("/api/v1/grievances/{id}/{action}");
        let responder = if case.committee {
            &x.committee
        } else {
            &x.company
        };
        match case.plan[case.next] {
            Cmd::File => {
                let (category, title, respondent) = [
                    ("repairs", "3栋电梯停运三天", "property_company"),
                    ("parking", "消防通道被占用停车", "property_company"),
                    ("sanitation", "垃圾清运不及时", "property_company"),
                    ("property_service", "保安夜间脱岗", "property_company"),
                    ("fees", "物业费上涨未公示", "property_company"),
                    ("public_revenue", "电梯广告收入未公示", "owners_committee"),
                ][rng_pick as usize % 6];
                let respondent = if case.committee {
                    "owners_committee"
                } else {
                    respondent
                };
                let channel = ["wechat", "web", "phone", "wechat"][rng_pick as usize % 4];
                let body = json!({
                    "category": category,
                    "title": title,
                    "description": "问题已持续一周,多次向物业反映未果,影响全楼住户正常生活,请尽快处理。",
                    "location": {"building": format!("{}栋", rng_pick % 30 + 1), "unit": "2单元"},
                    "respondent": respondent,
                    "urgency": if rng_pick.is_multiple_of(10) { "urgent" } else { "normal" },
                    "channel": channel,
                });
                // No attachments: a filing names only files its filer uploaded
                // first (`POST /api/v1/files`), which this load does not do.
                ("/api/v1/grievances".to_owned(), filer, body)
            }
            Cmd::Accept => (at("accept"), &x.branch, json!({})),
            Cmd::Reject => (
                at("reject"),
                &x.branch,
                json!({"reason": "不属于本平台受理范围,请向市场监管部门反映"}),
            ),
            Cmd::Withdraw => (at("withdraw"), filer, json!({"reason": "已自行解决"})),
            Cmd::Pause => (
                at("pause"),
                &x.branch,
                json!({"reason": "等待业主补充材料"}),
            ),
            Cmd::Resume => (at("resume"), &x.branch, json!({})),
            Cmd::Triage => (
                at("triage"),
                &x.branch,
                json!({"matter_class": "minor", "party": if case.committee { "owners_committee" } else { "property_company" }}),
            ),
            Cmd::Assign => (
                at("assign"),
                &x.branch,
                json!({"note": "请三日内到现场查看并答复"}),
            ),
            Cmd::Respond => (
                at("respond"),
                responder,
                json!({"response": "已安排维修人员到场处理,预计三日内完成。"}),
            ),
            Cmd::Resolve => (
                at("resolve"),
                &x.branch,
                json!({"summary": "经现场核实,问题已处理完毕。"}),
            ),
            Cmd::Rate(rating) => (
                at("rate"),
                filer,
                if rating == "satisfied" {
                    json!({"rating": rating})
                } else {
                    json!({"rating": rating, "comment": "处理速度还需加快"})
                },
            ),
            Cmd::Reopen => (
                at("reopen"),
                filer,
                json!({"reason": "问题再次出现,要求重新处理"}),
            ),
        }
    }

    /// Sends the next command of the mix and waits for its answer.
    pub async fn one(&self) -> Outcome {
        let mut case = self.take();
        let pick = rand::rng().random::<u32>();
        let (path, person, body) = self.request(&case, pick);
        let answer = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&person.token)
            .json(&body)
            .send()
            .await;
        let Ok(answer) = answer else {
            return Outcome {
                ok: false,
                conflict: false,
                events: 0,
                position: None,
            };
        };
        let ok = answer.status().is_success();
        let conflict = matches!(answer.status().as_u16(), 409 | 412);
        let bytes = answer.bytes().await.unwrap_or_default();
        if !ok {
            // The grievance is dropped; the mix goes on with others.
            return Outcome {
                ok,
                conflict,
                events: 0,
                position: None,
            };
        }
        let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        let version = body["version"].as_u64().unwrap_or(case.version);
        let events = version.saturating_sub(case.version);
        let position = body["position"].as_str().map(parse_position);
        if case.id.is_none() {
            case.id = body["id"].as_str().map(str::to_owned);
        }
        case.version = version;
        case.next += 1;
        self.put_back(case);
        Outcome {
            ok,
            conflict,
            events,
            position,
        }
    }
}

pub fn parse_position(p: &str) -> Position {
    let (tx, pos) = p.split_once('.').unwrap_or(("0", "0"));
    Position {
        transaction_id: tx.parse().unwrap_or(0),
        global_position: pos.parse().unwrap_or(0),
    }
}

/// What a closed-loop run measured.
#[derive(Clone, Debug, Default)]
pub struct Throughput {
    pub seconds: f64,
    pub commands: u64,
    pub events: u64,
    /// Answers that were neither a success nor a conflict, and commands
    /// that got no answer.
    pub errors: u64,
    /// Version conflicts and stale versions (409, 412).
    pub conflicts: u64,
    /// Service times of every answered command, failed ones included, in
    /// ms, sorted.
    pub latencies: Vec<f64>,
}

impl Throughput {
    pub fn commands_per_second(&self) -> f64 {
        self.commands as f64 / self.seconds
    }
    pub fn events_per_second(&self) -> f64 {
        self.events as f64 / self.seconds
    }
}

/// `clients` clients each sending their next command as soon as the last
/// one answered, for `seconds`; `answered` sees every answer.
pub async fn closed_loop(
    work: &Arc<Workload>,
    clients: usize,
    seconds: f64,
    answered: Option<tokio::sync::mpsc::UnboundedSender<(Position, Instant)>>,
) -> Throughput {
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(seconds);
    let mut tasks = Vec::with_capacity(clients);
    for _ in 0..clients {
        let work = work.clone();
        let answered = answered.clone();
        tasks.push(tokio::spawn(async move {
            let mut t = Throughput::default();
            while Instant::now() < deadline {
                let sent = Instant::now();
                let outcome = work.one().await;
                let now = Instant::now();
                t.latencies
                    .push(now.duration_since(sent).as_secs_f64() * 1000.0);
                if outcome.ok {
                    t.commands += 1;
                    t.events += outcome.events;
                    if let (Some(tx), Some(p)) = (&answered, outcome.position) {
                        let _ = tx.send((p, now));
                    }
                } else if outcome.conflict {
                    t.conflicts += 1;
                } else {
                    t.errors += 1;
                }
            }
            t
        }));
    }
    let mut total = Throughput::default();
    for task in tasks {
        let t = task.await.expect("client");
        total.commands += t.commands;
        total.events += t.events;
        total.errors += t.errors;
        total.conflicts += t.conflicts;
        total.latencies.extend(t.latencies);
    }
    // Until the last client's last answer.
    total.seconds = started.elapsed().as_secs_f64();
    total.latencies.sort_by(f64::total_cmp);
    total
}

/// What an open-loop run measured.
#[derive(Clone, Debug, Default)]
pub struct Latency {
    pub rate: f64,
    pub seconds: f64,
    pub sent: u64,
    /// As [`Throughput::errors`].
    pub errors: u64,
    /// As [`Throughput::conflicts`].
    pub conflicts: u64,
    /// From each command's intended send time to its answer, ms, sorted;
    /// failed commands included (their answer took that long too).
    pub corrected: Vec<f64>,
    /// From the actual send to the answer, ms, sorted (what a closed-loop
    /// tool would report).
    pub service: Vec<f64>,
    /// The largest delay between a command's intended and actual send.
    pub max_send_lag_ms: f64,
}

/// Sends commands at `rate` per second for `seconds`, each at its
/// scheduled instant whatever the earlier ones are doing.
pub async fn open_loop(work: &Arc<Workload>, rate: f64, seconds: f64) -> Latency {
    let start = tokio::time::Instant::now() + Duration::from_millis(50);
    let count = (rate * seconds).round() as u64;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(Outcome, f64, f64, f64)>();
    let mut max_send_lag_ms: f64 = 0.0;
    for i in 0..count {
        let intended = start + Duration::from_secs_f64(i as f64 / rate);
        tokio::time::sleep_until(intended).await;
        let work = work.clone();
        let tx = tx.clone();
        let intended: Instant = intended.into_std();
        max_send_lag_ms = max_send_lag_ms.max(intended.elapsed().as_secs_f64() * 1000.0);
        tokio::spawn(async move {
            let sent = Instant::now();
            let outcome = work.one().await;
            let now = Instant::now();
            let _ = tx.send((
                outcome,
                now.duration_since(intended).as_secs_f64() * 1000.0,
                now.duration_since(sent).as_secs_f64() * 1000.0,
                sent.duration_since(intended).as_secs_f64() * 1000.0,
            ));
        });
    }
    drop(tx);
    let mut result = Latency {
        rate,
        seconds,
        sent: count,
        ..Latency::default()
    };
    while let Some((outcome, corrected, service, send_lag)) = rx.recv().await {
        max_send_lag_ms = max_send_lag_ms.max(send_lag);
        result.corrected.push(corrected);
        result.service.push(service);
        if outcome.conflict {
            result.conflicts += 1;
        } else if !outcome.ok {
            result.errors += 1;
        }
    }
    result.max_send_lag_ms = max_send_lag_ms;
    result.corrected.sort_by(f64::total_cmp);
    result.service.sort_by(f64::total_cmp);
    result
}

/// How often the lag watcher reads the checkpoint.
pub const WATCH_MS: u64 = 5;

/// Watches the grievance read model's checkpoint and, for every answered
/// command (its feed position and when it was answered), records the time
/// until the checkpoint passed it. Ends when the sender is dropped.
pub fn watch_lag(
    store: lianxi_projections::Store,
    mut rx: tokio::sync::mpsc::UnboundedReceiver<(Position, Instant)>,
) -> tokio::task::JoinHandle<Vec<f64>> {
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
                lags.sort_by(f64::total_cmp);
                return lags;
            }
            let at = checkpoint::load(&store, "grievance_list")
                .await
                .expect("checkpoint")
                .position;
            let now = Instant::now();
            pending.retain(|(p, answered)| {
                if *p <= at {
                    lags.push(now.duration_since(*answered).as_secs_f64() * 1000.0);
                    false
                } else {
                    true
                }
            });
            tokio::time::sleep(Duration::from_millis(WATCH_MS)).await;
        }
    })
}

/// The result of pgbench: single-row INSERT transactions per second.
#[derive(Clone, Debug)]
pub struct Pgbench {
    pub tps: f64,
    pub transactions: u64,
    pub latency_ms: f64,
    pub row_bytes: usize,
}

/// Runs pgbench against a copy of the events table in `url`'s database:
/// `clients` connections, each committing one event-sized INSERT per
/// transaction (prepared, as the service's statements are), for `seconds`.
pub async fn pgbench(
    db: &Database,
    url: &str,
    payload: &str,
    metadata: &str,
    clients: usize,
    seconds: u64,
) -> Pgbench {
    let Database::Postgres(pool) = db else {
        panic!("pgbench needs PostgreSQL");
    };
    sqlx::query("CREATE TABLE bench_events (LIKE events INCLUDING ALL)")
        .execute(pool)
        .await
        .expect("create bench_events");
    let dir = TempDir::new();
    let script = dir.0.join("insert.sql");
    std::fs::write(
        &script,
        "INSERT INTO bench_events (aggregate_type, aggregate_id, sequence, event_type, event_version, \
         payload, metadata, event_id, recorded_at, hash) \
         VALUES ('grievance', gen_random_uuid()::text, 1, 'GrievanceFiled', '1', \
         CAST(:payload AS json), CAST(:metadata AS json), gen_random_uuid(), now(), \
         CAST(:hash AS bytea));\n",
    )
    .expect("write the script");
    let hash = format!("\\x{}", "ab".repeat(32));
    let output = Command::new("pgbench")
        .args([
            "-n",
            "-M",
            "prepared",
            "-c",
            &clients.to_string(),
            "-j",
            "2",
            "-T",
            &seconds.to_string(),
            "-f",
        ])
        .arg(&script)
        .arg("-D")
        .arg(format!("payload={payload}"))
        .arg("-D")
        .arg(format!("metadata={metadata}"))
        .arg("-D")
        .arg(format!("hash={hash}"))
        .arg(url)
        .output()
        .await
        .expect("run pgbench");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "pgbench failed: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let number_after = |prefix: &str| -> f64 {
        stdout
            .lines()
            .find_map(|l| l.trim().strip_prefix(prefix))
            .and_then(|r| r.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(f64::NAN)
    };
    Pgbench {
        tps: number_after("tps ="),
        transactions: number_after("number of transactions actually processed:") as u64,
        latency_ms: number_after("latency average ="),
        row_bytes: payload.len() + metadata.len() + 32 + 16 + 36 + 40,
    }
}
