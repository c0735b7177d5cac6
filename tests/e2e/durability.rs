//! The binary as users run it: the embedded default store, restarts, SIGKILL.

use lianxi_tests::{lianxi_cli, resident_token, value_of, Api, Process, TempDir, TestDb};
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_run_needs_no_postgres_and_keeps_grievances_across_restarts() {
    let dir = TempDir::new();
    // No LIANXI_DATABASE_URL: the embedded default under ./data is created.
    let token = resident_token(&dir.0, &[]).await;
    assert!(dir.0.join("data").join("lianxi.db").exists());

    let server = Process::start(&dir.0, &[]).await;
    let api = Api::new(&server.base);
    let ready = Api::send(api.request(reqwest::Method::GET, "/readyz", None)).await;
    assert_eq!(ready.status, StatusCode::OK);
    assert_eq!(ready.body["store"], "sqlite");
    let health = Api::send(api.request(reqwest::Method::GET, "/healthz", None)).await;
    assert_eq!(health.status, StatusCode::OK);
    let id = api.file_with(&token).await;
    let exit = server.terminate().await;
    assert!(exit.success(), "SIGTERM ends the server cleanly: {exit:?}");

    let server = Process::start(&dir.0, &[]).await;
    let api = Api::new(&server.base);
    let read = api.get(&format!("/api/v1/grievances/{id}"), &token).await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(read.body["title"], "3栋电梯停运三天");
    server.kill().await;
}

async fn killed_right_after_a_201_loses_nothing(url: &str) {
    let dir = TempDir::new();
    let env = [("LIANXI_DATABASE_URL", url)];
    let token = resident_token(&dir.0, &env).await;
    let server = Process::start(&dir.0, &env).await;
    let api = Api::new(&server.base);
    let mut ids = Vec::new();
    for i in 0..5 {
        let mut body = lianxi_tests::sample_grievance();
        body["title"] = json!(format!("漏水 {i}"));
        let filed = api.post("/api/v1/grievances", &token, body).await;
        assert_eq!(filed.status, StatusCode::CREATED);
        ids.push(filed.body["id"].as_str().expect("id").to_owned());
    }
    server.kill().await;

    let server = Process::start(&dir.0, &env).await;
    let api = Api::new(&server.base);
    for (i, id) in ids.iter().enumerate() {
        let read = api.get(&format!("/api/v1/grievances/{id}"), &token).await;
        assert_eq!(
            read.status,
            StatusCode::OK,
            "acknowledged grievance {i} is lost"
        );
        assert_eq!(read.body["title"], format!("漏水 {i}"));
    }
    server.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_killed_with_sigkill_right_after_a_201_loses_nothing() {
    let dir = TempDir::new();
    let url = format!("sqlite://{}", dir.0.join("store.db").display());
    killed_right_after_a_201_loses_nothing(&url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_killed_with_sigkill_right_after_a_201_loses_nothing() {
    if let Some(t) = TestDb::new(lianxi_tests::Store::Postgres).await {
        t.db.close().await;
        killed_right_after_a_201_loses_nothing(&t.url).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_configuration_file_sets_deadline_windows_per_xiaoqu_and_category() {
    let dir = TempDir::new();
    let token = resident_token(&dir.0, &[]).await;
    let config = dir.0.join("lianxi.toml");
    std::fs::write(
        &config,
        "[deadlines.default]\naccept = { urgent = \"3h\" }\n\n\
         [[deadlines.overrides]]\nxiaoqu = \"幸福里\"\ncategory = \"repairs\"\naccept = { urgent = \"30m\" }\n\n\
         [[deadlines.overrides]]\ncategory = \"noise\"\naccept = { urgent = \"5h\" }\n",
    )
    .expect("write config");
    let config_path = config.display().to_string();
    let env = [("LIANXI_CONFIG", config_path.as_str())];
    let server = Process::start(&dir.0, &env).await;
    let api = Api::new(&server.base);
    let due_after_filing = |body: &serde_json::Value| {
        let filed =
            chrono::DateTime::parse_from_rfc3339(body["filed_at"].as_str().expect("filed_at"))
                .expect("time");
        let due = chrono::DateTime::parse_from_rfc3339(
            body["deadline"]["due_at"].as_str().expect("due_at"),
        )
        .expect("time");
        (due - filed).num_minutes()
    };
    for (category, minutes) in [("repairs", 30), ("noise", 300), ("parking", 180)] {
        let mut body = lianxi_tests::sample_grievance();
        body["category"] = json!(category);
        let filed = api.post("/api/v1/grievances", &token, body).await;
        let id = filed.body["id"].as_str().expect("id");
        let view = api.get(&format!("/api/v1/grievances/{id}"), &token).await;
        assert_eq!(view.body["deadline"]["stage"], "accept");
        assert_eq!(due_after_filing(&view.body), minutes, "{category}");
    }
    server.kill().await;

    // A configuration naming an unknown xiaoqu stops the start with the reason.
    std::fs::write(
        &config,
        "[[deadlines.overrides]]\nxiaoqu = \"无此小区\"\naccept = { normal = \"1h\" }\n",
    )
    .expect("write config");
    let output = tokio::process::Command::new(lianxi_tests::lianxi_binary())
        .arg("serve")
        .current_dir(&dir.0)
        .env_remove("LIANXI_DATABASE_URL")
        .env("LIANXI_LISTEN", "127.0.0.1:0")
        .env("LIANXI_CONFIG", &config_path)
        .output()
        .await
        .expect("run lianxi serve");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("deadlines.overrides[0].xiaoqu: no xiaoqu"),
        "{stderr}"
    );
}

/// The value of the sample of `name` carrying every label of `labels`.
fn sample(text: &str, name: &str, labels: &[&str]) -> Option<f64> {
    text.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} ")))
        .find(|l| labels.iter().all(|label| l.contains(label)))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_the_work_done_and_show_projection_lag() {
    let dir = TempDir::new();
    let token = resident_token(&dir.0, &[]).await;
    let branch = value_of(
        &lianxi_cli(
            &dir.0,
            &[],
            &[
                "admin",
                "add-account",
                "--name",
                "支部",
                "--role",
                "party_branch",
                "--xiaoqu",
                "幸福里",
            ],
        )
        .await,
        "token",
    );
    let server = Process::start(&dir.0, &[]).await;
    let api = Api::new(&server.base);
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(api.file_with(&token).await);
    }
    let mut position = String::new();
    for id in &ids[..2] {
        let accepted = api
            .post(
                &format!("/api/v1/grievances/{id}/accept"),
                &branch,
                json!({}),
            )
            .await;
        position = accepted.body["position"]
            .as_str()
            .expect("position")
            .to_owned();
    }
    let refused = api
        .post(
            &format!("/api/v1/grievances/{}/accept", ids[0]),
            &branch,
            json!({}),
        )
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    let caught = api
        .get(
            &format!("/api/v1/grievances?min_position={position}"),
            &branch,
        )
        .await;
    assert_eq!(caught.body["caught_up"], true);

    let scraped = Api::send(api.request(reqwest::Method::GET, "/metrics", None)).await;
    assert_eq!(scraped.status, StatusCode::OK);
    assert!(scraped
        .header("content-type")
        .is_some_and(|c| c.starts_with("text/plain")));
    let text = scraped.body.as_str().expect("text").to_owned();
    let at = |name: &str, labels: &[&str]| {
        sample(&text, name, labels).unwrap_or_else(|| panic!("{name} {labels:?} in\n{text}"))
    };
    assert_eq!(
        at(
            "http_requests_total",
            &["route=\"/api/v1/grievances\"", "status=\"201\""]
        ),
        5.0
    );
    assert_eq!(
        at(
            "http_requests_total",
            &["route=\"/api/v1/grievances/{id}/accept\"", "status=\"200\""]
        ),
        2.0
    );
    assert_eq!(
        at(
            "http_requests_total",
            &["route=\"/api/v1/grievances/{id}/accept\"", "status=\"409\""]
        ),
        1.0
    );
    assert_eq!(
        at(
            "lianxi_commands_total",
            &["command=\"file\"", "outcome=\"applied\""]
        ),
        5.0
    );
    assert_eq!(
        at(
            "lianxi_commands_total",
            &["command=\"accept\"", "outcome=\"applied\""]
        ),
        2.0
    );
    assert_eq!(
        at(
            "lianxi_commands_total",
            &["command=\"accept\"", "outcome=\"refused\""]
        ),
        1.0
    );
    // Five filings and two acceptances, each with its deadline (14 events),
    // the two people registered (resident and branch) and the xiaoqu's
    // registry entry: 17, all applied.
    assert_eq!(
        at(
            "lianxi_projection_events_applied_total",
            &["projection=\"grievance_list\""]
        ),
        17.0
    );
    assert_eq!(
        at(
            "lianxi_projection_lag_events",
            &["projection=\"grievance_list\""]
        ),
        0.0
    );
    assert_eq!(at("lianxi_open_deadlines", &["tier=\"xiaoqu\""]), 5.0);
    assert_eq!(at("lianxi_overdue_deadlines", &["tier=\"xiaoqu\""]), 0.0);
    assert!(
        text.contains("http_request_duration_seconds_bucket"),
        "latency histogram"
    );
    // From memory: the store, the build, the pool, the process.
    assert_eq!(at("lianxi_store_up", &[]), 1.0);
    assert_eq!(at("lianxi_build_info", &["store=\"sqlite\""]), 1.0);
    assert!(at("lianxi_db_pool_max_connections", &[]) >= 1.0);
    assert!(at("process_resident_memory_bytes", &[]) > 1e6);
    lint_exposition(&text);
    server.kill().await;
}

/// What Prometheus' own linter checks of an exposition, as far as this
/// service is concerned: every family has HELP and TYPE, counters end in
/// `_total`, each series appears once, histogram buckets rise.
fn lint_exposition(text: &str) {
    use std::collections::{BTreeMap, BTreeSet};
    let (mut help, mut kinds) = (BTreeSet::new(), BTreeMap::new());
    let mut series = BTreeSet::new();
    for line in text.lines().filter(|l| !l.is_empty()) {
        let words: Vec<&str> = line.splitn(4, ' ').collect();
        match words.as_slice() {
            ["#", "HELP", name, ..] => {
                help.insert((*name).to_owned());
            }
            ["#", "TYPE", name, kind] => {
                kinds.insert((*name).to_owned(), (*kind).to_owned());
            }
            _ if line.starts_with('#') => {}
            _ => {
                let key = line.rsplit_once(' ').map_or(line, |(k, _)| k);
                assert!(series.insert(key.to_owned()), "{key} appears twice");
            }
        }
    }
    assert!(!kinds.is_empty());
    for (name, kind) in &kinds {
        assert!(help.contains(name), "{name} has no HELP line");
        if kind == "counter" {
            assert!(
                name.ends_with("_total"),
                "the counter {name} ends in _total"
            );
        }
    }
}

/// A PostgreSQL nobody listens for is told at once, as the driver saw it,
/// not as a pool timeout ten seconds later.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_postgres_is_told_within_two_seconds() {
    let dir = TempDir::new();
    // A port just freed: nothing listens there.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("address").port()
    };
    let url = format!("postgres://lianxi:secret@127.0.0.1:{port}/lianxi");
    let started = std::time::Instant::now();
    let output = tokio::process::Command::new(lianxi_tests::lianxi_binary())
        .arg("serve")
        .current_dir(&dir.0)
        .env("LIANXI_DATABASE_URL", &url)
        .env("LIANXI_LISTEN", "127.0.0.1:0")
        .output()
        .await
        .expect("run lianxi serve");
    let took = started.elapsed();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(
        took < std::time::Duration::from_secs(2),
        "took {took:?}: {stderr}"
    );
    assert!(stderr.to_lowercase().contains("refused"), "{stderr}");
    assert!(
        !stderr.contains("secret"),
        "the password is never printed: {stderr}"
    );
}
