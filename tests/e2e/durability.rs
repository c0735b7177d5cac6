//! The binary as users run it: the embedded default store, restarts, SIGKILL.

use lianxi_tests::{lianxi_cli, value_of, Api, Process, TempDir, TestDb};
use reqwest::StatusCode;
use serde_json::json;

/// Registers a xiaoqu and a resident through the CLI; returns the token.
async fn resident_token(dir: &std::path::Path, env: &[(&str, &str)]) -> String {
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
    let filed = api
        .post(
            "/api/v1/grievances",
            &token,
            lianxi_tests::sample_grievance(),
        )
        .await;
    assert_eq!(filed.status, StatusCode::CREATED);
    let id = filed.body["id"].as_str().expect("id").to_owned();
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
