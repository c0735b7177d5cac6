//! Shared helpers of the end-to-end suites: a fresh database per test on
//! either store, the real server on port 0 (in-process or as the `lianxi`
//! binary), accounts, and a small HTTP client.

pub mod cluster;
pub mod dba;
pub mod read_models;
pub mod xlsx;

pub use read_models::{assert_read_models_equal_a_rebuild, read_model_rows, read_model_tables};

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use lianxi_domain::values::{AccountId, XiaoquId};
use lianxi_domain::Role;
use lianxi_gateway::db::{Database, NewAccount, NewXiaoqu, PoolSettings, Scope};
use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use uuid::Uuid;

/// Which store a test runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Store {
    Sqlite,
    Postgres,
}

/// Runs an async test body once per store, as two named tests.
#[macro_export]
macro_rules! on_both_stores {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(db) = $crate::TestDb::new($crate::Store::Sqlite).await {
                        super::$name(db).await;
                    }
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(db) = $crate::TestDb::new($crate::Store::Postgres).await {
                        super::$name(db).await;
                    }
                }
            )+
        }
    };
}

/// A fresh, empty, migrated database of its own.
#[derive(Debug)]
pub struct TestDb {
    pub store: Store,
    pub url: String,
    pub db: Database,
    _dir: Option<TempDir>,
}

/// A directory removed when dropped.
#[derive(Debug)]
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new() -> Self {
        let path = std::env::temp_dir().join(format!("lianxi-test-{}", Uuid::new_v4()));
        std::fs::create_dir_all(&path).expect("create a temporary directory");
        TempDir(path)
    }
}

impl Default for TempDir {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The PostgreSQL server tests create their databases on.
pub fn postgres_admin_url() -> String {
    std::env::var("LIANXI_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let host_end = base[scheme_end..]
        .find('/')
        .map(|i| scheme_end + i)
        .unwrap_or(base.len());
    let mut out = format!("{}/{}", &base[..host_end], name);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

/// A new, empty PostgreSQL database (no migrations): its URL, or `None`
/// when PostgreSQL is unreachable outside CI.
pub async fn empty_postgres_database() -> Option<String> {
    let admin_url = postgres_admin_url();
    let admin = match Database::connect(
        &admin_url,
        PoolSettings {
            max_connections: 1,
            acquire_timeout: Duration::from_secs(5),
        },
    )
    .await
    {
        Ok(db) => db,
        Err(e) if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") => {
            panic!("PostgreSQL is required under CI but {admin_url} is unreachable: {e}")
        }
        Err(_) => return None,
    };
    let Database::Postgres(pool) = &admin else {
        panic!("LIANXI_TEST_DATABASE_URL must be a postgres:// URL");
    };
    let name = format!("lianxi_test_{}", Uuid::new_v4().simple());
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(pool)
        .await
        .expect("create a database");
    admin.close().await;
    Some(with_database(&admin_url, &name))
}

/// Applies the migrations to a new test database: those of this build, or
/// (`LIANXI_TEST_MIGRATE_WITH` naming a `lianxi` binary) those of that
/// binary, so that a benchmark can run an earlier build on the schema it
/// knows.
async fn migrate(db: &Database, url: &str) {
    let Some(binary) = std::env::var_os("LIANXI_TEST_MIGRATE_WITH") else {
        db.migrate().await.expect("migrate the test database");
        return;
    };
    let status = tokio::process::Command::new(&binary)
        .arg("migrate")
        .env("LIANXI_DATABASE_URL", url)
        .stdout(std::process::Stdio::null())
        .status()
        .await
        .expect("run lianxi migrate");
    assert!(status.success(), "{binary:?} migrate failed");
}

impl TestDb {
    /// A new database, or `None` when PostgreSQL is unreachable outside CI
    /// (said loudly). Under `CI=true` an unreachable PostgreSQL fails the test.
    pub async fn new(store: Store) -> Option<TestDb> {
        match store {
            Store::Sqlite => {
                let dir = TempDir::new();
                let url = format!("sqlite://{}", dir.0.join("lianxi.db").display());
                let db = Database::connect(&url, PoolSettings::default())
                    .await
                    .expect("open SQLite");
                migrate(&db, &url).await;
                Some(TestDb {
                    store,
                    url,
                    db,
                    _dir: Some(dir),
                })
            }
            Store::Postgres => {
                let admin_url = postgres_admin_url();
                let admin = match Database::connect(
                    &admin_url,
                    PoolSettings {
                        max_connections: 2,
                        acquire_timeout: Duration::from_secs(5),
                    },
                )
                .await
                {
                    Ok(db) => db,
                    Err(e) => {
                        let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
                        if ci {
                            panic!("PostgreSQL is required under CI but {admin_url} is unreachable: {e}");
                        }
                        eprintln!("SKIPPED (PostgreSQL unreachable at {admin_url}: {e}); run tests/run to provision it");
                        return None;
                    }
                };
                let name = format!("lianxi_test_{}", Uuid::new_v4().simple());
                let Database::Postgres(pool) = &admin else {
                    panic!("LIANXI_TEST_DATABASE_URL must be a postgres:// URL");
                };
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(pool)
                    .await
                    .expect("create a test database");
                admin.close().await;
                let url = with_database(&admin_url, &name);
                let db = Database::connect(&url, PoolSettings::default())
                    .await
                    .expect("connect to the test database");
                migrate(&db, &url).await;
                Some(TestDb {
                    store,
                    url,
                    db,
                    _dir: None,
                })
            }
        }
    }
}

/// People of one xiaoqu, each with a bearer token.
#[derive(Clone, Debug)]
pub struct Person {
    pub id: AccountId,
    pub role: Role,
    pub token: String,
}

#[derive(Clone, Debug)]
pub struct Xiaoqu {
    pub id: XiaoquId,
    pub resident: Person,
    pub neighbour: Person,
    pub branch: Person,
    pub company: Person,
    pub committee: Person,
    pub community: Person,
}

/// The people of a test: two xiaoqu in different communities, and an auditor.
#[derive(Clone, Debug)]
pub struct Cast {
    pub a: Xiaoqu,
    pub b: Xiaoqu,
    pub auditor: Person,
    pub admin: Person,
}

pub async fn add_person(db: &Database, role: Role, scope: Scope) -> Person {
    let id = AccountId(Uuid::new_v4());
    db.add_account(&NewAccount {
        id,
        role,
        scope,
        login_hash: None,
        password_hash: None,
    })
    .await
    .expect("add account");
    let (token, _) = lianxi_gateway::app::auth::issue_token(
        db,
        id,
        lianxi_gateway::db::TokenKind::Api,
        Some(chrono::TimeDelta::days(1)),
    )
    .await
    .expect("issue a token");
    Person { id, role, token }
}

async fn add_xiaoqu(db: &Database, name: &str, community: &str) -> Xiaoqu {
    let record = db
        .add_xiaoqu(
            XiaoquId(Uuid::new_v4()),
            &NewXiaoqu {
                name: name.into(),
                community: community.into(),
                street: "城厢街道".into(),
                district: "涪城区".into(),
            },
        )
        .await
        .expect("add xiaoqu");
    let x = Scope::Xiaoqu(record.id);
    Xiaoqu {
        id: record.id,
        resident: add_person(db, Role::Resident, x.clone()).await,
        neighbour: add_person(db, Role::Resident, x.clone()).await,
        branch: add_person(db, Role::PartyBranch, x.clone()).await,
        company: add_person(db, Role::PropertyCompany, x.clone()).await,
        committee: add_person(db, Role::OwnersCommittee, x).await,
        community: add_person(db, Role::Community, Scope::Unit(community.into())).await,
    }
}

impl Cast {
    pub async fn new(db: &Database) -> Cast {
        Cast {
            a: add_xiaoqu(db, "幸福里", "东苑社区").await,
            b: add_xiaoqu(db, "和平苑", "西苑社区").await,
            auditor: add_person(db, Role::Auditor, Scope::Global).await,
            admin: add_person(db, Role::Admin, Scope::Global).await,
        }
    }
}

/// The real application, served in-process on an ephemeral port, with its
/// projection runners.
#[derive(Debug)]
pub struct Server {
    pub base: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    service: Option<lianxi_gateway::server::Service>,
}

/// Runner settings for tests: quick polls and short leases.
pub fn quick_runners() -> lianxi_projections::RunnerSettings {
    lianxi_projections::RunnerSettings {
        batch_size: 100,
        poll_interval: Duration::from_millis(50),
        standby_interval: Duration::from_millis(50),
        lease: Duration::from_millis(500),
        pass_interval: Duration::from_millis(2),
        rebuild_batch_size: 1000,
        // Small, so that rebuilds in tests write rows out and read them back.
        rebuild_rows_in_memory: 7,
    }
}

/// Background settings for tests: quick runners and scheduler.
pub fn quick_background() -> lianxi_gateway::server::Background {
    lianxi_gateway::server::Background {
        runners: quick_runners(),
        scheduler_interval: Duration::from_millis(100),
        checkpoint_interval: None,
        webhooks: lianxi_gateway::workers::webhooks::WebhookSettings {
            backoff: Duration::from_millis(200),
            max_attempts: 3,
            ..Default::default()
        },
    }
}

/// The vault of in-process test servers: a fixed master key, so that
/// servers over one database (or its restored copy) agree on pseudonyms.
pub fn test_vault() -> lianxi_gateway::vault::Vault {
    lianxi_gateway::vault::Vault::from_master(&[7u8; 32])
}

impl Server {
    pub async fn start(db: &Database) -> Server {
        Self::start_with(db, true).await
    }

    /// With `runners == false` the read models stay where they are unless
    /// the test runs projection runners itself.
    /// Webhooks may reach the suite's receivers on 127.0.0.1, allowed
    /// explicitly as an operator would allow an internal host.
    pub async fn start_with(db: &Database, runners: bool) -> Server {
        let state = lianxi_gateway::server::state(db.clone())
            .with_vault(test_vault())
            .with_webhook_hosts(vec!["127.0.0.1".to_owned()]);
        let service = if runners {
            lianxi_gateway::server::Service::start_with(state, quick_background())
        } else {
            lianxi_gateway::server::Service::without_runners(state)
        };
        Self::serve(service).await
    }

    /// Serves a service built by the test (e.g. with an injected clock).
    pub async fn serve(service: lianxi_gateway::server::Service) -> Server {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind port 0");
        let addr = listener.local_addr().expect("local address");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let handle = tokio::spawn(lianxi_gateway::server::serve(
            listener,
            service.state.clone(),
            async {
                let _ = rx.await;
            },
        ));
        Server {
            base: format!("http://{addr}"),
            shutdown: Some(tx),
            handle: Some(handle),
            service: Some(service),
        }
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(handle) = self.handle.take() {
            let _ = handle.await;
        }
        if let Some(service) = self.service.take() {
            service.stop().await;
        }
    }
}

/// An HTTP answer: status, headers and the body as JSON (Null when empty).
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts an RFC 9457 problem with this status and type slug.
    pub fn assert_problem(&self, status: u16, slug: &str) -> &Self {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.body
        );
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "problems are application/problem+json"
        );
        assert_eq!(
            self.body["type"],
            format!("urn:lianxi:problem:{slug}"),
            "body: {}",
            self.body
        );
        assert_eq!(self.body["status"], status);
        assert!(self.body["title"].is_string());
        self
    }

    pub fn assert_field(&self, field: &str) -> &Self {
        assert_eq!(self.body["field"], field, "body: {}", self.body);
        assert!(self.body["reason"].as_str().is_some_and(|r| !r.is_empty()));
        self
    }
}

/// A thin client for the API.
#[derive(Clone, Debug)]
pub struct Api {
    pub base: String,
    http: reqwest::Client,
}

impl Api {
    pub fn new(base: &str) -> Api {
        Api {
            base: base.to_owned(),
            http: http_client()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("HTTP client"),
        }
    }

    pub fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
    ) -> reqwest::RequestBuilder {
        let mut req = self.http.request(method, format!("{}{}", self.base, path));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        req
    }

    pub async fn send(req: reqwest::RequestBuilder) -> Answer {
        Self::try_send(req).await.expect("request sent")
    }

    /// Like [`Api::send`], but a connection that fails (a killed server) is `None`.
    pub async fn try_send(req: reqwest::RequestBuilder) -> Option<Answer> {
        let response = req.send().await.ok()?;
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.ok()?;
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
        };
        Some(Answer {
            status,
            headers,
            body,
        })
    }

    pub async fn get(&self, path: &str, token: &str) -> Answer {
        Self::send(self.request(reqwest::Method::GET, path, Some(token))).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Answer {
        Self::send(
            self.request(reqwest::Method::POST, path, Some(token))
                .json(&body),
        )
        .await
    }

    /// Files a typical grievance as `person`; returns its id.
    pub async fn file(&self, person: &Person) -> String {
        self.file_with(&person.token).await
    }

    /// Files the sample grievance with `token`, asserts it was filed; returns its id.
    pub async fn file_with(&self, token: &str) -> String {
        let answer = self
            .post("/api/v1/grievances", token, sample_grievance())
            .await;
        assert_eq!(
            answer.status,
            StatusCode::CREATED,
            "filing failed: {}",
            answer.body
        );
        answer.body["id"].as_str().expect("id").to_owned()
    }

    /// Runs a lifecycle command and asserts it succeeded; returns the body.
    pub async fn command(&self, id: &str, action: &str, person: &Person, body: Value) -> Value {
        let answer = self
            .post(
                &format!("/api/v1/grievances/{id}/{action}"),
                &person.token,
                body,
            )
            .await;
        assert_eq!(
            answer.status,
            StatusCode::OK,
            "{action} by {} failed: {}",
            person.role,
            answer.body
        );
        answer.body
    }

    /// GETs `path` as of `position` (a command's answer): the read model
    /// behind it waits until it reflects that position, and must have.
    pub async fn get_at(&self, path: &str, token: &str, position: &str) -> Answer {
        let joiner = if path.contains('?') { '&' } else { '?' };
        let answer = self
            .get(&format!("{path}{joiner}min_position={position}"), token)
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{path}: {}", answer.body);
        assert_eq!(
            answer.body["caught_up"], true,
            "{path} did not reach {position}: {}",
            answer.body
        );
        answer
    }

    /// Waits (at most ten seconds) until whatever the commands so far set in
    /// motion has happened: every read model has caught up with the feed
    /// and no follow-up is pending, seen on two scrapes of `/metrics` a
    /// few scheduler passes apart.
    pub async fn settled(&self) {
        let quiet = |text: &str| {
            let mut lags = 0;
            for line in text.lines() {
                let Some((name, value)) = line.rsplit_once(' ') else {
                    continue;
                };
                let pending = name.starts_with("lianxi_projection_lag_events")
                    || name.starts_with("lianxi_follow_ups_pending");
                if pending {
                    lags += 1;
                    if value.trim().parse::<f64>().ok() != Some(0.0) {
                        return false;
                    }
                }
            }
            lags > 0
        };
        let mut quiet_since: Option<tokio::time::Instant> = None;
        for _ in 0..200 {
            let metrics = Self::send(self.request(reqwest::Method::GET, "/metrics", None)).await;
            let text = metrics.body.as_str().unwrap_or_default().to_owned();
            if quiet(&text) {
                let since = *quiet_since.get_or_insert_with(tokio::time::Instant::now);
                if since.elapsed() >= Duration::from_millis(300) {
                    return;
                }
            } else {
                quiet_since = None;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the service never settled");
    }

    /// The stored events of a grievance, as seen by `person`.
    pub async fn events(&self, id: &str, person: &Person) -> Vec<Value> {
        let answer = self
            .get(&format!("/api/v1/grievances/{id}/events"), &person.token)
            .await;
        assert_eq!(answer.status, StatusCode::OK, "events: {}", answer.body);
        answer.body["events"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }
}

pub fn sample_grievance() -> Value {
    serde_json::json!({
        "category": "repairs",
        "title": "3栋电梯停运三天",
        "description": "电梯从周一起停运,老人上下楼困难。",
        "location": {"building": "3栋", "unit": "2单元"},
        "respondent": "property_company",
        "urgency": "urgent",
        "channel": "wechat"
    })
}

/// An attachment as a filing names it, for a file never uploaded: refused
/// (`422`, `attachments[0].sha256`) unless the refusal under test comes first.
pub fn never_uploaded_attachment() -> Value {
    serde_json::json!({"sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "media_type": "image/jpeg", "size": 20480})
}

/// The body of a successful answer; a failed one fails the test, saying `what`.
pub fn ok(answer: &Answer, what: &str) -> Value {
    assert!(
        answer.status.is_success(),
        "{what}: {} {}",
        answer.status,
        answer.body
    );
    answer.body.clone()
}

/// Polls `probe` until `done` holds of its answer (at most ten seconds):
/// read models and follow-ups are a moment behind the log.
pub async fn eventually<F, Fut>(what: &str, mut probe: F, done: impl Fn(&Value) -> bool) -> Value
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Value>,
{
    let mut last = Value::Null;
    for _ in 0..200 {
        last = probe().await;
        if done(&last) {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{what} never happened; last seen: {last}");
}

/// The `lianxi` binary, built next to this test binary.
pub fn lianxi_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target directory");
    let bin = dir.join(format!("lianxi{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.exists(),
        "{} is missing: build it first with `cargo build -p lianxi-gateway --bin lianxi` (tests/run does)",
        bin.display()
    );
    bin
}

/// What an operator does once per deployment before anything else:
/// `lianxi init` in `cwd` with `env` (it keeps key files that exist). A
/// store that cannot be reached is left for the command that follows to
/// report.
pub async fn init_deployment(cwd: &std::path::Path, env: &[(&str, &str)]) {
    let _ = Command::new(lianxi_binary())
        .arg("init")
        .current_dir(cwd)
        .env_remove("LIANXI_DATABASE_URL")
        .envs(env.iter().copied())
        .output()
        .await;
}

/// Runs `lianxi <args>` to completion in `cwd` (after `lianxi init` for the
/// commands that need the deployment's keys); returns stdout's `key=value`
/// lines.
pub async fn lianxi_cli(
    cwd: &std::path::Path,
    env: &[(&str, &str)],
    args: &[&str],
) -> Vec<(String, String)> {
    if matches!(
        args,
        ["admin", ..] | ["audit", "checkpoint", ..] | ["report", ..]
    ) {
        init_deployment(cwd, env).await;
    }
    let output = Command::new(lianxi_binary())
        .args(args)
        .current_dir(cwd)
        .env_remove("LIANXI_DATABASE_URL")
        .envs(env.iter().copied())
        .output()
        .await
        .expect("run lianxi");
    assert!(
        output.status.success(),
        "lianxi {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|l| l.split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned())))
        .collect()
}

/// A builder for an HTTP client of the tests, with the binary's one TLS
/// crypto provider installed first (no client can be built without it).
pub fn http_client() -> reqwest::ClientBuilder {
    lianxi_gateway::tls::install_crypto_provider();
    reqwest::Client::builder()
}

/// Names, phone numbers, rooms and passwords the tests give the service,
/// one per line: none may ever appear in a server's log (`tests/run` checks
/// every log of the suite).
pub const PERSONAL_DATA: &str = include_str!("../personal-data.txt");

/// Registers a xiaoqu and a resident through the CLI; returns the token.
pub async fn resident_token(dir: &std::path::Path, env: &[(&str, &str)]) -> String {
    let xiaoqu = lianxi_cli(
        dir,
        env,
        &[
            "admin",
            "add-xiaoqu",
            "--name",
            "幸福里",
            "--community",
            "东苑社区",
            "--street",
            "城厢街道",
            "--district",
            "涪城区",
        ],
    )
    .await;
    value_of(&xiaoqu, "id");
    let account = lianxi_cli(
        dir,
        env,
        &[
            "admin",
            "add-account",
            "--name",
            "张三",
            "--role",
            "resident",
            "--xiaoqu",
            "幸福里",
        ],
    )
    .await;
    value_of(&account, "token")
}

pub fn value_of(lines: &[(String, String)], key: &str) -> String {
    lines
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| panic!("no {key}= in {lines:?}"))
}

/// The base URL a just spawned `lianxi serve` (stdout piped) announces, read
/// within `within`; stdout is drained from then on, so the child never
/// blocks on a full pipe.
pub async fn listening_on(child: &mut Child, within: Duration) -> String {
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let base = tokio::time::timeout(within, async {
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(url) = line.strip_prefix("lianxi listening on ") {
                return url.trim().to_owned();
            }
        }
        panic!("lianxi serve exited before listening");
    })
    .await
    .unwrap_or_else(|_| panic!("lianxi serve listening within {within:?}"));
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    base
}

/// `lianxi serve` as a child process on an ephemeral port.
#[derive(Debug)]
pub struct Process {
    pub child: Child,
    pub base: String,
}

impl Process {
    /// Its log goes to a file of the suite's log folder when
    /// `LIANXI_E2E_LOG_DIR` is set (as `tests/run` does, to check afterwards
    /// that no personal data of [`PERSONAL_DATA`] was ever logged).
    pub async fn start(cwd: &std::path::Path, env: &[(&str, &str)]) -> Process {
        let log = std::env::var_os("LIANXI_E2E_LOG_DIR").map(|dir| {
            let dir = PathBuf::from(dir);
            std::fs::create_dir_all(&dir).expect("create the log folder");
            let file = std::fs::File::create(dir.join(format!("serve-{}.log", Uuid::new_v4())))
                .expect("create a log file");
            Stdio::from(file)
        });
        match log {
            Some(stderr) => {
                // Everything the service may log, unless the test chose.
                let mut env = env.to_vec();
                if !env.iter().any(|(k, _)| *k == "RUST_LOG") {
                    env.push(("RUST_LOG", "debug"));
                }
                Self::start_with_stderr(cwd, &env, stderr).await
            }
            None => Self::start_with_stderr(cwd, env, Stdio::null()).await,
        }
    }

    /// Like [`Process::start`], with the server's log (standard error) sent
    /// to `stderr`.
    pub async fn start_with_stderr(
        cwd: &std::path::Path,
        env: &[(&str, &str)],
        stderr: Stdio,
    ) -> Process {
        init_deployment(cwd, env).await;
        let mut child = Command::new(lianxi_binary())
            .arg("serve")
            .current_dir(cwd)
            .env_remove("LIANXI_DATABASE_URL")
            .env("LIANXI_LISTEN", "127.0.0.1:0")
            // Load and drill tests file far more than a resident would;
            // a test of the limits sets its own.
            .env("LIANXI_FILINGS_PER_ACCOUNT_HOUR", "0")
            .env("LIANXI_FILINGS_PER_ADDRESS_HOUR", "0")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .kill_on_drop(true)
            .spawn()
            .expect("start lianxi serve");
        let base = listening_on(&mut child, Duration::from_secs(30)).await;
        Process { child, base }
    }

    /// SIGKILL: no shutdown code runs.
    pub async fn kill(mut self) {
        self.child.kill().await.expect("kill");
    }

    /// SIGTERM, then wait for a clean exit.
    pub async fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().expect("pid");
        let status = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .await
            .expect("send SIGTERM");
        assert!(status.success());
        tokio::time::timeout(Duration::from_secs(30), self.child.wait())
            .await
            .expect("exits within 30 s after SIGTERM")
            .expect("exit status")
    }
}

/// A `multipart/form-data` body of text `fields` and `files` (field name,
/// file name, declared type, bytes), and its `Content-Type`.
pub fn multipart_body(
    fields: &[(&str, &str)],
    files: &[(&str, &str, &str, &[u8])],
) -> (String, Vec<u8>) {
    let boundary = format!("lianxi-test-{}", Uuid::new_v4().simple());
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                .as_bytes(),
        );
    }
    for (name, file_name, media_type, bytes) in files {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\nContent-Type: {media_type}\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// A phone photo: a `width` x `height` JPEG with an EXIF block holding
/// Orientation 6 and a GPS position (latitude 31°N), as phones write it.
pub fn phone_photo(width: u32, height: u32) -> Vec<u8> {
    let mut plain = Vec::new();
    image::DynamicImage::new_rgb8(width, height)
        .write_to(
            &mut std::io::Cursor::new(&mut plain),
            image::ImageFormat::Jpeg,
        )
        .expect("encode a JPEG");
    let mut tiff: Vec<u8> = b"II*\0".to_vec();
    tiff.extend_from_slice(&8u32.to_le_bytes());
    tiff.extend_from_slice(&2u16.to_le_bytes());
    tiff.extend_from_slice(&[0x12, 0x01, 3, 0, 1, 0, 0, 0, 6, 0, 0, 0]);
    tiff.extend_from_slice(&[0x25, 0x88, 4, 0, 1, 0, 0, 0, 38, 0, 0, 0]);
    tiff.extend_from_slice(&0u32.to_le_bytes());
    // The GPS IFD: GPSLatitudeRef "N", GPSLatitude 31/1 0/1 0/1.
    tiff.extend_from_slice(&2u16.to_le_bytes());
    tiff.extend_from_slice(&[0x01, 0x00, 2, 0, 2, 0, 0, 0, b'N', 0, 0, 0]);
    tiff.extend_from_slice(&[0x02, 0x00, 5, 0, 3, 0, 0, 0, 68, 0, 0, 0]);
    tiff.extend_from_slice(&0u32.to_le_bytes());
    for (num, den) in [(31u32, 1u32), (0, 1), (0, 1)] {
        tiff.extend_from_slice(&num.to_le_bytes());
        tiff.extend_from_slice(&den.to_le_bytes());
    }
    let mut exif = b"Exif\0\0".to_vec();
    exif.extend_from_slice(&tiff);
    let mut out = plain[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&u16::try_from(exif.len() + 2).expect("short").to_be_bytes());
    out.extend_from_slice(&exif);
    out.extend_from_slice(&plain[2..]);
    out
}

/// The APP1 (EXIF, XMP) segments of a JPEG, walked marker by marker up to
/// the image data: where location metadata would be.
pub fn jpeg_app1_segments(jpeg: &[u8]) -> usize {
    assert_eq!(&jpeg[..2], &[0xFF, 0xD8], "a JPEG starts with SOI");
    let (mut at, mut found) = (2, 0);
    while at + 4 <= jpeg.len() && jpeg[at] == 0xFF {
        let marker = jpeg[at + 1];
        if marker == 0xDA {
            break; // start of scan: metadata comes before it
        }
        let len = usize::from(u16::from_be_bytes([jpeg[at + 2], jpeg[at + 3]]));
        found += usize::from(marker == 0xE1);
        at += 2 + len;
    }
    found
}
