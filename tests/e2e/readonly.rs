//! Auditing needs no write access: `lianxi audit verify` and
//! `lianxi projections status --json` run on a PostgreSQL session that may
//! only read (`default_transaction_read_only`), where any write fails.

use lianxi_tests::{lianxi_binary, lianxi_cli, Api, Cast, Server, Store, TempDir, TestDb};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auditing_runs_on_a_read_only_session() {
    let Some(t) = TestDb::new(Store::Postgres).await else {
        return;
    };
    let cast = Cast::new(&t.db).await;
    let server = Server::start(&t.db).await;
    let api = Api::new(&server.base);
    for _ in 0..3 {
        api.file(&cast.a.resident).await;
    }
    api.settled().await;
    server.stop().await;

    let separator = if t.url.contains('?') { '&' } else { '?' };
    let read_only = format!(
        "{}{separator}options=-c%20default_transaction_read_only%3Don",
        t.url
    );
    let dir = TempDir::new();
    let env = [("LIANXI_DATABASE_URL", read_only.as_str())];
    // The session really is read-only: a write is refused.
    let write = tokio::process::Command::new(lianxi_binary())
        .args([
            "admin",
            "add-xiaoqu",
            "--name",
            "只读",
            "--community",
            "c",
            "--street",
            "s",
            "--district",
            "d",
        ])
        .current_dir(&dir.0)
        .env("LIANXI_DATABASE_URL", &read_only)
        .output()
        .await
        .expect("run lianxi");
    assert!(
        !write.status.success(),
        "a write on a read-only session fails"
    );
    let refused = String::from_utf8_lossy(&write.stderr);
    assert!(refused.contains("read-only"), "{refused}");

    // `audit verify` exits 0 only when every chain verifies.
    lianxi_cli(&dir.0, &env, &["audit", "verify"]).await;
    let output = tokio::process::Command::new(lianxi_binary())
        .args(["projections", "status", "--json"])
        .current_dir(&dir.0)
        .env("LIANXI_DATABASE_URL", &read_only)
        .output()
        .await
        .expect("run lianxi");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let standing: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let list = standing.as_array().expect("a list");
    assert!(list.len() >= 4, "{standing}");
    let grievances = list
        .iter()
        .find(|p| p["name"] == "grievance_list")
        .expect("the grievance list");
    assert_eq!(grievances["lag"], 0, "{standing}");
    assert!(grievances["applied"].as_i64() >= Some(6), "{standing}");
}
