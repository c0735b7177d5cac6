//! Where a deployment's keys come from: `lianxi init`, or the first run of a
//! new embedded store. Anywhere else a missing key file stops the command
//! with the file's name, and nothing is made: a command run from the wrong
//! folder cannot give a deployment a second master key.

use std::path::Path;

use lianxi_tests::{lianxi_binary, listening_on, value_of, Store, TempDir, TestDb};

/// Runs `lianxi <args>` in `dir` with exactly `env` (nothing of the harness,
/// no key file named, the embedded store unless `env` names another).
pub(super) async fn lianxi(
    dir: &Path,
    env: &[(&str, &str)],
    args: &[&str],
) -> (bool, String, String) {
    let output = tokio::process::Command::new(lianxi_binary())
        .args(args)
        .current_dir(dir)
        .env_remove("LIANXI_DATABASE_URL")
        .env_remove("LIANXI_AUDIT_KEY_FILE")
        .env_remove("LIANXI_MASTER_KEY_FILE")
        .envs(env.iter().copied())
        .output()
        .await
        .expect("run lianxi");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn lines(stdout: &str) -> Vec<(String, String)> {
    stdout
        .lines()
        .filter_map(|l| l.split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned())))
        .collect()
}

const ADD_XIAOQU: [&str; 10] = [
    "admin",
    "add-xiaoqu",
    "--name",
    "钥匙苑",
    "--community",
    "东苑社区",
    "--street",
    "城厢街道",
    "--district",
    "涪城区",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgresql_only_init_makes_keys_and_a_missing_one_is_named() {
    let Some(t) = TestDb::new(Store::Postgres).await else {
        return;
    };
    let dir = TempDir::new();
    let d = dir.0.as_path();
    let env = [("LIANXI_DATABASE_URL", t.url.as_str())];
    let master = d.join("data").join("master.key");
    let audit = d.join("data").join("audit-signing.key");

    // An admin command before `init` (the Compose path without the key
    // mounted) makes nothing and names the file it needs.
    let (ok, _, err) = lianxi(d, &env, &ADD_XIAOQU).await;
    assert!(!ok, "an admin command without the master key fails");
    assert!(
        err.contains("master.key") && err.contains("lianxi init"),
        "{err}"
    );
    assert!(!master.exists() && !audit.exists(), "no key was made");

    // `serve` refuses too, at once, naming a key.
    let started = std::time::Instant::now();
    let (ok, _, err) = lianxi(d, &[env[0], ("LIANXI_LISTEN", "127.0.0.1:0")], &["serve"]).await;
    assert!(!ok, "serve without keys fails");
    assert!(err.contains(".key") && err.contains("lianxi init"), "{err}");
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    assert!(!master.exists() && !audit.exists(), "no key was made");

    // `init` makes both, readable by their owner only, and says so.
    let (ok, out, err) = lianxi(d, &env, &["init"]).await;
    assert!(ok, "{err}");
    let said = lines(&out);
    assert_eq!(value_of(&said, "audit_key"), "created");
    assert_eq!(value_of(&said, "master_key"), "created");
    let public_key = value_of(&said, "audit_public_key");
    assert_eq!(public_key.len(), 64);
    #[cfg(unix)]
    for file in [&master, &audit] {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(file)
            .expect("key file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{}", file.display());
    }
    let master_bytes = std::fs::read(&master).expect("master key");

    // Run again, it keeps both files.
    let (ok, out, err) = lianxi(d, &env, &["init"]).await;
    assert!(ok, "{err}");
    let said = lines(&out);
    assert_eq!(value_of(&said, "audit_key"), "kept");
    assert_eq!(value_of(&said, "master_key"), "kept");
    assert_eq!(value_of(&said, "audit_public_key"), public_key);
    assert_eq!(std::fs::read(&master).expect("master key"), master_bytes);

    // Now the admin command works.
    let (ok, out, err) = lianxi(d, &env, &ADD_XIAOQU).await;
    assert!(ok, "{err}");
    assert!(!value_of(&lines(&out), "id").is_empty());

    // The same store seen from another folder: no key there, and none made.
    let elsewhere = TempDir::new();
    let (ok, _, err) = lianxi(&elsewhere.0, &env, &ADD_XIAOQU).await;
    assert!(!ok);
    assert!(err.contains("lianxi init"), "{err}");
    assert!(
        !elsewhere.0.join("data").exists(),
        "nothing was made elsewhere"
    );

    // Nor does `init` there: the store was sealed by a master key that is
    // elsewhere, and a second one could never open it.
    let (ok, _, err) = lianxi(&elsewhere.0, &env, &["init"]).await;
    assert!(!ok, "a second master key is refused");
    assert!(
        err.contains("master key") && err.contains("no key was made"),
        "{err}"
    );
    assert!(
        !elsewhere.0.join("data").exists(),
        "nothing was made elsewhere"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_store_makes_its_keys_on_its_first_run_only() {
    let dir = TempDir::new();
    let d = dir.0.as_path();
    let master = d.join("data").join("master.key");
    let audit = d.join("data").join("audit-signing.key");

    // The very first command on a new embedded store makes both keys, even
    // an admin command that needs only one.
    let (ok, _, err) = lianxi(d, &[], &ADD_XIAOQU).await;
    assert!(ok, "{err}");
    assert!(master.exists() && audit.exists(), "both keys were made");

    // `serve` then starts on them.
    let mut child = tokio::process::Command::new(lianxi_binary())
        .arg("serve")
        .current_dir(d)
        .env_remove("LIANXI_DATABASE_URL")
        .env_remove("LIANXI_AUDIT_KEY_FILE")
        .env_remove("LIANXI_MASTER_KEY_FILE")
        .env("LIANXI_LISTEN", "127.0.0.1:0")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start lianxi serve");
    listening_on(&mut child, std::time::Duration::from_secs(30)).await;
    child.kill().await.expect("stop");

    // Once the store holds something, a lost key is not silently replaced.
    std::fs::remove_file(&audit).expect("remove the audit key");
    let (ok, _, err) = lianxi(d, &[], &["audit", "checkpoint"]).await;
    assert!(!ok, "a checkpoint without the audit key fails");
    assert!(err.contains("audit-signing.key"), "{err}");
    assert!(!audit.exists(), "no new audit key was made");
    let (ok, _, err) = lianxi(d, &[("LIANXI_LISTEN", "127.0.0.1:0")], &["serve"]).await;
    assert!(!ok, "serve without the audit key fails");
    assert!(err.contains("audit-signing.key"), "{err}");
    assert!(!audit.exists(), "no new audit key was made");

    // `init` restores a missing audit key (the log's chain does not depend
    // on it); the master key is kept as it was.
    let master_bytes = std::fs::read(&master).expect("master key");
    let (ok, out, err) = lianxi(d, &[], &["init"]).await;
    assert!(ok, "{err}");
    let said = lines(&out);
    assert_eq!(value_of(&said, "audit_key"), "created");
    assert_eq!(value_of(&said, "master_key"), "kept");
    assert_eq!(std::fs::read(&master).expect("master key"), master_bytes);
}
