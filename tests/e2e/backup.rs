//! Backup and restore with PostgreSQL's own tools: a restored database holds
//! the same history, proven by a checkpoint kept before the backup.

use lianxi_gateway::db::{Database, PoolSettings};
use lianxi_tests::{empty_postgres_database, Api, Cast, Server, Store, TempDir, TestDb};
use reqwest::StatusCode;
use serde_json::json;

async fn run(program: &str, args: &[&str]) {
    let out = tokio::process::Command::new(program)
        .args(args)
        .output()
        .await
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restored_backup_verifies_against_a_checkpoint_kept_before_it() {
    let Some(t) = TestDb::new(Store::Postgres).await else {
        return;
    };
    let cast = Cast::new(&t.db).await;
    let server = Server::start(&t.db).await;
    let api = Api::new(&server.base);
    let mut ids = Vec::new();
    for x in [&cast.a, &cast.b, &cast.a] {
        let id = api.file(&x.resident).await;
        api.command(&id, "accept", &x.branch, json!({})).await;
        ids.push(id);
    }
    let kept = api
        .post("/api/v1/audit/checkpoints", &cast.auditor.token, json!({}))
        .await;
    assert_eq!(kept.status, StatusCode::CREATED);
    let before = api
        .get(
            &format!("/api/v1/grievances/{}", ids[1]),
            &cast.auditor.token,
        )
        .await
        .body;
    server.stop().await;

    // pg_dump, then pg_restore into a new, empty database.
    let dir = TempDir::new();
    let dump = dir.0.join("lianxi.dump");
    let dump = dump.to_str().expect("path");
    run("pg_dump", &["--format=custom", "--file", dump, &t.url]).await;
    let Some(restored_url) = empty_postgres_database().await else {
        return;
    };
    run(
        "pg_restore",
        &["--no-owner", "--dbname", &restored_url, dump],
    )
    .await;

    // The restored log verifies against the checkpoint kept before the backup.
    let restored = Database::connect(&restored_url, PoolSettings::default())
        .await
        .expect("connect to the restored database");
    restored.migrate().await.expect("nothing left to migrate");
    let checkpoint = lianxi_gateway::audit::Checkpoint::from_file(
        &serde_json::from_value(kept.body).expect("checkpoint file"),
    )
    .expect("valid checkpoint");
    let report = lianxi_gateway::audit::verify(&restored, Some(&(&checkpoint).into()))
        .await
        .expect("verify");
    assert!(report.ok, "{report:?}");
    assert_eq!(report.checkpoint.map(|c| c.matches_log), Some(true));

    // And the service carries on from it: same state, same people, new commands.
    let server = Server::start(&restored).await;
    let api = Api::new(&server.base);
    let after = api
        .get(
            &format!("/api/v1/grievances/{}", ids[1]),
            &cast.auditor.token,
        )
        .await
        .body;
    assert_eq!(after, before);
    let triaged = api
        .command(
            &ids[1],
            "triage",
            &cast.b.branch,
            json!({"matter_class": "minor", "party": "property_company"}),
        )
        .await;
    let position = triaged["position"].as_str().expect("position").to_owned();
    let listed = api
        .get(
            &format!("/api/v1/grievances?min_position={position}"),
            &cast.b.branch.token,
        )
        .await;
    assert_eq!(listed.body["caught_up"], true, "{}", listed.body);
    let items = listed.body["items"].as_array().expect("items");
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["status"], "triaged");
    server.stop().await;
    let report = lianxi_gateway::audit::verify(&restored, Some(&(&checkpoint).into()))
        .await
        .expect("verify");
    assert!(report.ok, "{report:?}");
}
