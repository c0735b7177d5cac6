//! An auditor's witness outside the deployment (`lianxi audit keep`): it
//! keeps signed checkpoints over time, each checked against the last with a
//! consistency proof, and reports a log whose tail was removed, from what
//! it kept outside the deployment.

use lianxi_tests::dba::Dba;
use lianxi_tests::{lianxi_binary, lianxi_cli, on_both_stores, value_of, Api, Cast, Server};
use lianxi_tests::{TempDir, TestDb};

on_both_stores!(a_witness_outside_catches_a_log_whose_tail_was_removed);

async fn keep(dir: &TempDir, base: &str, token: &str) -> std::process::Output {
    tokio::process::Command::new(lianxi_binary())
        .args(["audit", "keep", "--url", base, "--dir"])
        .arg(dir.0.join("kept"))
        .env("LIANXI_AUDITOR_TOKEN", token)
        .env_remove("LIANXI_DATABASE_URL")
        .current_dir(&dir.0)
        .output()
        .await
        .expect("run lianxi audit keep")
}

async fn a_witness_outside_catches_a_log_whose_tail_was_removed(t: TestDb) {
    let cast = Cast::new(&t.db).await;
    let server = Server::start(&t.db).await;
    let api = Api::new(&server.base);
    let dir = TempDir::new();
    let env = [("LIANXI_AUDITOR_TOKEN", cast.auditor.token.as_str())];
    let kept_dir = dir.0.join("kept");
    let kept_dir = kept_dir.to_str().expect("a path");
    let args = [
        "audit",
        "keep",
        "--url",
        server.base.as_str(),
        "--dir",
        kept_dir,
    ];

    api.file(&cast.a.resident).await;
    let first = lianxi_cli(&dir.0, &env, &args).await;
    let first_size: u64 = value_of(&first, "tree_size").parse().expect("a size");
    assert!(first_size > 0);
    api.file(&cast.a.resident).await;
    let second = lianxi_cli(&dir.0, &env, &args).await;
    let second_size: u64 = value_of(&second, "tree_size").parse().expect("a size");
    assert!(second_size > first_size);
    assert_eq!(value_of(&second, "extends"), first_size.to_string());
    let files = std::fs::read_dir(dir.0.join("kept")).expect("kept").count();
    assert_eq!(files, 2, "one file per checkpoint kept");

    // The newest event is removed behind the service's back.
    let dba = Dba { db: &t.db };
    dba.unlock().await;
    let last = dba.all().await.pop().expect("an event");
    dba.delete(&last).await;
    let caught = keep(&dir, &server.base, &cast.auditor.token).await;
    let stderr = String::from_utf8_lossy(&caught.stderr);
    assert_eq!(caught.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("tail was removed"), "{stderr}");
    let files = std::fs::read_dir(dir.0.join("kept")).expect("kept").count();
    assert_eq!(files, 2, "nothing kept from a truncated log");
    server.stop().await;
}
