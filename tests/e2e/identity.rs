//! Signing in, token expiry and revocation, login throttling, personal data
//! sealed per person, and erasure: through the real binary, on both stores.

use std::process::Stdio;

use lianxi_tests::{lianxi_binary, on_both_stores, value_of, Api, Process, TempDir, TestDb};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;

on_both_stores!(
    a_person_with_two_roles_signs_in_as_either,
    names_stored_before_person_streams_are_sealed_at_start,
    admins_register_xiaoqu_and_accounts_through_the_api,
    sign_in_expiry_revocation_and_throttling_each_answer_their_own_problem,
    erasure_leaves_no_personal_data_and_every_stream_replays,
    the_operator_commands_manage_sign_in_tokens_keys_and_erasure,
);

const NAME: &str = "王小明";
const PHONE: &str = "13800138000";
const ROOM: &str = "3栋2单元501";
const PASSWORD: &str = "a long passphrase";

/// `lianxi <args>` with `stdin` on standard input: (success, stdout, stderr).
async fn cli(dir: &TempDir, url: &str, args: &[&str], stdin: &str) -> (bool, String, String) {
    cli_with(dir, url, &[], args, stdin).await
}

/// [`cli`] with more environment.
async fn cli_with(
    dir: &TempDir,
    url: &str,
    env: &[(&str, &str)],
    args: &[&str],
    stdin: &str,
) -> (bool, String, String) {
    if args.first() == Some(&"admin") {
        let mut all = vec![("LIANXI_DATABASE_URL", url)];
        all.extend(env.iter().copied());
        lianxi_tests::init_deployment(&dir.0, &all).await;
    }
    let mut child = tokio::process::Command::new(lianxi_binary())
        .args(args)
        .current_dir(&dir.0)
        .env("LIANXI_DATABASE_URL", url)
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run lianxi");
    let mut input = child.stdin.take().expect("stdin");
    input
        .write_all(stdin.as_bytes())
        .await
        .expect("write stdin");
    drop(input);
    let out = child.wait_with_output().await.expect("lianxi output");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn lines(stdout: &str) -> Vec<(String, String)> {
    stdout
        .lines()
        .filter_map(|l| l.split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned())))
        .collect()
}

/// A xiaoqu, the first admin, a resident who signs in with a password, a
/// party branch and a property company. Returns (admin password, resident
/// id, branch token, company token).
async fn register(dir: &TempDir, url: &str) -> (String, String, String, String) {
    let (ok, out, err) = cli(dir, url, &["admin", "init", "--login", "root-admin"], "").await;
    assert!(ok, "{err}");
    let admin_password = value_of(&lines(&out), "password");
    let (ok, _, err) = cli(dir, url, &["admin", "init", "--login", "second"], "").await;
    assert!(
        !ok && err.contains("exists already"),
        "a second init is refused: {err}"
    );
    let (ok, _, err) = cli(
        dir,
        url,
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
        "",
    )
    .await;
    assert!(ok, "{err}");
    let (ok, out, err) = cli(
        dir,
        url,
        &[
            "admin",
            "add-account",
            "--name",
            NAME,
            "--phone",
            PHONE,
            "--room",
            ROOM,
            "--role",
            "resident",
            "--xiaoqu",
            "幸福里",
            "--login",
            "WangXM",
            "--password-stdin",
        ],
        &format!("{PASSWORD}\n"),
    )
    .await;
    assert!(ok, "{err}");
    let resident = value_of(&lines(&out), "id");
    let mut tokens = Vec::new();
    for (name, role) in [("李书记", "party_branch"), ("物业客服", "property_company")] {
        let (ok, out, err) = cli(
            dir,
            url,
            &[
                "admin",
                "add-account",
                "--name",
                name,
                "--role",
                role,
                "--xiaoqu",
                "幸福里",
            ],
            "",
        )
        .await;
        assert!(ok, "{err}");
        tokens.push(value_of(&lines(&out), "token"));
    }
    let company = tokens.pop().expect("company");
    let branch = tokens.pop().expect("branch");
    (admin_password, resident, branch, company)
}

async fn login(api: &Api, login: &str, password: &str) -> lianxi_tests::Answer {
    Api::send(
        api.request(Method::POST, "/api/v1/auth/login", None)
            .json(&json!({"login": login, "password": password})),
    )
    .await
}

async fn failure_rows(t: &TestDb) -> i64 {
    use sqlx::Row;
    let sql = "SELECT count(*) AS n FROM login_failures";
    match &t.db {
        lianxi_gateway::db::Database::Postgres(p) => {
            sqlx::query(sql).fetch_one(p).await.expect("count").get("n")
        }
        lianxi_gateway::db::Database::Sqlite(p) => {
            sqlx::query(sql).fetch_one(p).await.expect("count").get("n")
        }
    }
}

async fn sign_in_expiry_revocation_and_throttling_each_answer_their_own_problem(t: TestDb) {
    let dir = TempDir::new();
    let (_, _, _, _) = register(&dir, &t.url).await;
    let server = Process::start(&dir.0, &[("LIANXI_DATABASE_URL", t.url.as_str())]).await;
    let api = Api::new(&server.base);

    // Wrong password and unknown login: the same answer.
    login(&api, "wangxm", "not the passphrase")
        .await
        .assert_problem(401, "invalid-credentials");
    login(&api, "nobody", PASSWORD)
        .await
        .assert_problem(401, "invalid-credentials");
    login(&api, "", PASSWORD)
        .await
        .assert_problem(422, "invalid-field")
        .assert_field("login");

    // The login name is case-insensitive; the answer is a session token.
    let session = login(&api, " wangxm ", PASSWORD).await;
    assert_eq!(session.status, StatusCode::OK, "{}", session.body);
    let token = session.body["token"].as_str().expect("token").to_owned();
    assert_eq!(session.body["account"]["role"], "resident");
    let expires: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(session.body["expires_at"].clone()).expect("expiry");
    let hours = (expires - chrono::Utc::now()).num_minutes();
    assert!((11 * 60..=12 * 60).contains(&hours), "{hours} minutes");
    let me = api.get("/api/v1/auth/me", &token).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);
    assert_eq!(me.body["personal_data"]["name"], NAME);
    assert_eq!(me.body["personal_data"]["phone"], PHONE);
    assert_eq!(me.body["personal_data"]["room"], ROOM);
    let filed = api
        .post(
            "/api/v1/grievances",
            &token,
            lianxi_tests::sample_grievance(),
        )
        .await;
    assert_eq!(filed.status, StatusCode::CREATED);

    // Signing out revokes exactly this token.
    let out = Api::send(api.request(Method::POST, "/api/v1/auth/logout", Some(&token))).await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    api.get("/api/v1/auth/me", &token)
        .await
        .assert_problem(401, "token-revoked");

    // An expired token has its own answer, and writes nothing.
    let second = login(&api, "wangxm", PASSWORD).await;
    let second = second.body["token"].as_str().expect("token").to_owned();
    let past = chrono::Utc::now() - chrono::TimeDelta::seconds(5);
    match &t.db {
        lianxi_gateway::db::Database::Postgres(p) => {
            sqlx::query("UPDATE access_tokens SET expires_at = $1 WHERE kind = 'session' AND revoked_at IS NULL")
                .bind(past)
                .execute(p)
                .await
                .expect("expire");
        }
        lianxi_gateway::db::Database::Sqlite(p) => {
            sqlx::query("UPDATE access_tokens SET expires_at = ? WHERE kind = 'session' AND revoked_at IS NULL")
                .bind(past.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
                .execute(p)
                .await
                .expect("expire");
        }
    }
    let before = lianxi_tests::read_model_rows(&t.db.store()).await.len();
    api.post(
        "/api/v1/grievances",
        &second,
        lianxi_tests::sample_grievance(),
    )
    .await
    .assert_problem(401, "token-expired");
    api.get("/api/v1/auth/me", "lx_not-a-real-token")
        .await
        .assert_problem(401, "unauthorized");
    assert_eq!(
        lianxi_tests::read_model_rows(&t.db.store()).await.len(),
        before
    );

    // Five failures for one login: the sixth attempt waits, even with the
    // right password, and records nothing more.
    for _ in 0..5 {
        login(&api, "wangxm", "still wrong!")
            .await
            .assert_problem(401, "invalid-credentials");
    }
    let rows = failure_rows(&t).await;
    let throttled = login(&api, "wangxm", PASSWORD).await;
    throttled.assert_problem(429, "too-many-attempts");
    let retry: u64 = throttled
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .expect("Retry-After seconds");
    assert!((1..=15 * 60).contains(&retry), "{retry}");
    assert_eq!(
        failure_rows(&t).await,
        rows,
        "a throttled attempt writes nothing"
    );

    // Twenty failures from one address, across logins: the address waits.
    for i in 0..20 {
        let answer = login(&api, &format!("guess-{i}"), "wrong guess!").await;
        if answer.status == StatusCode::TOO_MANY_REQUESTS {
            break;
        }
        answer.assert_problem(401, "invalid-credentials");
    }
    login(&api, "someone-else", "wrong guess!")
        .await
        .assert_problem(429, "too-many-attempts");
    server.terminate().await;
}

/// Every row of every table, as text: a logical dump of the database.
async fn dump(t: &TestDb) -> String {
    match &t.db {
        lianxi_gateway::db::Database::Postgres(_) => {
            let out = tokio::process::Command::new("pg_dump")
                .args(["--data-only", "--no-owner", &t.url])
                .output()
                .await
                .expect("pg_dump");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8_lossy(&out.stdout).into_owned()
        }
        lianxi_gateway::db::Database::Sqlite(p) => {
            use sqlx::{Column, Row};
            let tables: Vec<String> =
                sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table'")
                    .fetch_all(p)
                    .await
                    .expect("tables");
            let mut text = String::new();
            for table in tables {
                for row in sqlx::query(&format!("SELECT * FROM \"{table}\""))
                    .fetch_all(p)
                    .await
                    .expect("rows")
                {
                    for (i, column) in row.columns().iter().enumerate() {
                        let value: Option<String> = row
                            .try_get::<Option<String>, _>(i)
                            .ok()
                            .flatten()
                            .or_else(|| {
                                row.try_get::<Option<Vec<u8>>, _>(i)
                                    .ok()
                                    .flatten()
                                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                            });
                        text.push_str(&format!("{table}.{}={:?}\n", column.name(), value));
                    }
                }
            }
            text
        }
    }
}

#[test]
fn the_suite_log_check_knows_this_personal_data() {
    for secret in [NAME, PHONE, ROOM, PASSWORD, "张三", "李书记", "物业客服"] {
        assert!(
            lianxi_tests::PERSONAL_DATA.lines().any(|l| l == secret),
            "{secret} is missing from tests/personal-data.txt"
        );
    }
}

async fn erasure_leaves_no_personal_data_and_every_stream_replays(t: TestDb) {
    let dir = TempDir::new();
    let (admin_password, resident, branch, company) = register(&dir, &t.url).await;
    let log = dir.0.join("serve.log");
    let server = Process::start_with_stderr(
        &dir.0,
        &[
            ("LIANXI_DATABASE_URL", t.url.as_str()),
            ("RUST_LOG", "debug"),
        ],
        std::fs::File::create(&log).expect("log file").into(),
    )
    .await;
    let api = Api::new(&server.base);
    let session = login(&api, "wangxm", PASSWORD).await;
    let token = session.body["token"].as_str().expect("token").to_owned();
    let id = api.file_with(&token).await;
    let path = format!("/api/v1/grievances/{id}");

    // The party branch sees who filed; the property company a pseudonym.
    let seen = api.get(&path, &branch).await;
    assert_eq!(seen.body["filer_contact"]["name"], NAME, "{}", seen.body);
    assert_eq!(seen.body["filer_contact"]["phone"], PHONE);
    let by_company = api.get(&path, &company).await;
    assert_eq!(by_company.status, StatusCode::OK);
    let pseudonym = by_company.body["filer"].as_str().expect("filer").to_owned();
    assert!(pseudonym.starts_with("person-"), "{pseudonym}");
    assert!(by_company.body.get("filer_contact").is_none());
    assert!(!by_company.body.to_string().contains(&resident));

    // Only the filer decides whether the respondent may know them.
    let consent = format!("{path}/identity-consent");
    api.post(&consent, &branch, json!({"reveal_to_respondent": true}))
        .await
        .assert_problem(403, "forbidden");
    let given = api
        .post(&consent, &token, json!({"reveal_to_respondent": true}))
        .await;
    assert_eq!(given.status, StatusCode::OK, "{}", given.body);
    let by_company = api.get(&path, &company).await;
    assert_eq!(by_company.body["identity_revealed"], true);
    assert_eq!(by_company.body["filer"], resident.as_str());
    assert_eq!(by_company.body["filer_contact"]["phone"], PHONE);
    let events = api.get(&format!("{path}/events"), &company).await;
    assert!(events.body.to_string().contains(&resident));
    // Withdrawn: the respondent is back to the pseudonym.
    let withdrawn = api
        .post(&consent, &token, json!({"reveal_to_respondent": false}))
        .await;
    assert_eq!(withdrawn.status, StatusCode::OK);
    let by_company = api.get(&path, &company).await;
    assert_eq!(by_company.body["filer"], pseudonym.as_str());
    assert!(by_company.body.get("filer_contact").is_none());
    let events = api.get(&format!("{path}/events"), &company).await;
    assert!(!events.body.to_string().contains(&resident));

    // Sealed from the start: no plaintext anywhere in the database.
    let before = dump(&t).await;
    assert!(before.contains("lxpd1:"), "the sealed data is in the dump");
    for secret in [NAME, PHONE, ROOM] {
        assert!(
            !before.contains(secret),
            "{secret} in the dump before erasure"
        );
    }

    // Only an admin erases.
    let admin = login(&api, "root-admin", &admin_password).await;
    assert_eq!(admin.status, StatusCode::OK, "{}", admin.body);
    let admin = admin.body["token"].as_str().expect("token").to_owned();
    let erasure = format!("/api/v1/admin/people/{resident}/erasure");
    api.post(&erasure, &branch, json!({}))
        .await
        .assert_problem(403, "forbidden");
    api.post(
        &format!("/api/v1/admin/people/{}/erasure", uuid::Uuid::new_v4()),
        &admin,
        json!({}),
    )
    .await
    .assert_problem(404, "not-found");
    let erased = api
        .post(&erasure, &admin, json!({"reason": "PIPL request 2026-117"}))
        .await;
    assert_eq!(erased.status, StatusCode::OK, "{}", erased.body);
    api.post(&erasure, &admin, json!({}))
        .await
        .assert_problem(409, "already-erased");

    // The person can no longer sign in; views say the data was erased.
    api.get("/api/v1/auth/me", &token)
        .await
        .assert_problem(401, "token-revoked");
    login(&api, "wangxm", PASSWORD)
        .await
        .assert_problem(401, "invalid-credentials");
    let seen = api.get(&path, &branch).await;
    assert_eq!(seen.status, StatusCode::OK);
    assert_eq!(seen.body["filer_contact"]["erased"], true);
    assert!(seen.body["filer_contact"]["name"].is_null());
    // The pseudonym stays: the history still reads the same to respondents.
    assert_eq!(api.get(&path, &company).await.body["filer"], pseudonym);

    // Nothing of the person is left in the database, and no key opens the
    // sealed data that remains.
    let after = dump(&t).await;
    for secret in [NAME, PHONE, ROOM] {
        assert!(
            !after.contains(secret),
            "{secret} in the dump after erasure"
        );
    }
    let keys = match &t.db {
        lianxi_gateway::db::Database::Postgres(p) => {
            sqlx::query_scalar::<_, i64>(
                "SELECT count(*) FROM person_keys WHERE person_id = $1::uuid",
            )
            .bind(&resident)
            .fetch_one(p)
            .await
        }
        lianxi_gateway::db::Database::Sqlite(p) => {
            sqlx::query_scalar::<_, i64>("SELECT count(*) FROM person_keys WHERE person_id = ?")
                .bind(&resident)
                .fetch_one(p)
                .await
        }
    }
    .expect("count keys");
    assert_eq!(keys, 0);

    // Every stream still replays and verifies: the grievance, as of now and
    // event by event, and the person's stream with its erasure.
    let events = api.get(&format!("{path}/events"), &branch).await;
    assert_eq!(events.status, StatusCode::OK);
    let as_of = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let replayed = api.get(&format!("{path}?as_of={as_of}"), &branch).await;
    assert_eq!(replayed.status, StatusCode::OK, "{}", replayed.body);
    assert_eq!(replayed.body["status"], seen.body["status"]);
    server.terminate().await;
    let (ok, out, err) = cli(&dir, &t.url, &["audit", "verify", "--json"], "").await;
    assert!(ok, "{out}{err}");
    let report: Value = serde_json::from_str(&out).expect("report");
    assert_eq!(report["ok"], true, "{report:#}");

    // The server's own log never held the person's data.
    let logged = std::fs::read_to_string(&log).expect("log");
    assert!(logged.contains("request finished"), "the log was captured");
    for secret in [NAME, PHONE, ROOM, PASSWORD] {
        assert!(!logged.contains(secret), "{secret} in the server log");
    }
}

async fn admins_register_xiaoqu_and_accounts_through_the_api(t: TestDb) {
    let dir = TempDir::new();
    let (admin_password, _, _, _) = register(&dir, &t.url).await;
    let server = Process::start(&dir.0, &[("LIANXI_DATABASE_URL", t.url.as_str())]).await;
    let api = Api::new(&server.base);
    let admin = login(&api, "root-admin", &admin_password).await;
    let admin = admin.body["token"].as_str().expect("token").to_owned();

    let xiaoqu = api
        .post(
            "/api/v1/admin/xiaoqu",
            &admin,
            json!({"name": "和平苑", "community": "西苑社区", "street": "城厢街道", "district": "涪城区"}),
        )
        .await;
    assert_eq!(xiaoqu.status, StatusCode::CREATED, "{}", xiaoqu.body);
    api.post(
        "/api/v1/admin/xiaoqu",
        &admin,
        json!({"name": "和平苑", "community": "西苑社区", "street": "城厢街道", "district": "涪城区"}),
    )
    .await
    .assert_problem(409, "already-exists");
    api.post(
        "/api/v1/admin/xiaoqu",
        &admin,
        json!({"name": " ", "community": "西苑社区", "street": "城厢街道", "district": "涪城区"}),
    )
    .await
    .assert_problem(422, "invalid-field")
    .assert_field("name");

    // Refusals name the field, and create nothing.
    let account = |body: Value| api.post("/api/v1/admin/accounts", &admin, body);
    let person = json!({"name": "赵六", "phone": "13900139000"});
    for (body, field) in [
        (
            json!({"role": "mayor", "xiaoqu": "和平苑", "personal_data": person}),
            "role",
        ),
        (
            json!({"role": "resident", "personal_data": person}),
            "xiaoqu",
        ),
        (
            json!({"role": "street", "xiaoqu": "和平苑", "personal_data": person}),
            "unit",
        ),
        (
            json!({"role": "resident", "xiaoqu": "无此小区", "personal_data": person}),
            "xiaoqu",
        ),
        (
            json!({"role": "resident", "xiaoqu": "和平苑", "personal_data": {"name": ""}}),
            "personal_data.name",
        ),
        (
            json!({"role": "resident", "xiaoqu": "和平苑", "personal_data": person, "login": "zhao6"}),
            "password",
        ),
        (
            json!({"role": "resident", "xiaoqu": "和平苑", "personal_data": person, "login": "zhao6", "password": "short"}),
            "password",
        ),
        (
            json!({"role": "resident", "xiaoqu": "和平苑", "personal_data": person, "login": "WangXM", "password": PASSWORD}),
            "login",
        ),
    ] {
        let answer = account(body).await;
        if field == "login" {
            answer.assert_problem(409, "already-exists");
        } else {
            answer
                .assert_problem(422, "invalid-field")
                .assert_field(field);
        }
    }
    let created = account(
        json!({"role": "resident", "xiaoqu": "和平苑", "personal_data": person,
                                 "login": "zhao6", "password": PASSWORD, "api_token_ttl_days": 7}),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.body["account"]["role"], "resident");
    assert_eq!(created.body["account"]["xiaoqu"], xiaoqu.body["id"]);
    assert!(created.body["account"].get("personal_data").is_none());
    let api_token = created.body["token"]
        .as_str()
        .expect("an API token")
        .to_owned();
    let session = login(&api, "zhao6", PASSWORD).await;
    assert_eq!(session.status, StatusCode::OK, "{}", session.body);
    let me = api.get("/api/v1/auth/me", &api_token).await;
    assert_eq!(me.body["personal_data"]["name"], "赵六");

    // Revocation ends every token of the account.
    let id = created.body["account"]["id"].as_str().expect("id");
    let revoked = api
        .post(
            &format!("/api/v1/admin/accounts/{id}/revocation"),
            &admin,
            json!({}),
        )
        .await;
    assert_eq!(revoked.body["revoked"], 2, "{}", revoked.body);
    api.get("/api/v1/auth/me", &api_token)
        .await
        .assert_problem(401, "token-revoked");
    server.terminate().await;
}

async fn names_stored_before_person_streams_are_sealed_at_start(t: TestDb) {
    use lianxi_domain::values::{AccountId, XiaoquId};
    use lianxi_gateway::db::{Database, NewAccount, NewXiaoqu, Scope, TokenKind};
    let xiaoqu =
        t.db.add_xiaoqu(
            XiaoquId(uuid::Uuid::new_v4()),
            &NewXiaoqu {
                name: "幸福里".into(),
                community: "东苑社区".into(),
                street: "城厢街道".into(),
                district: "涪城区".into(),
            },
        )
        .await
        .expect("xiaoqu");
    let id = AccountId(uuid::Uuid::new_v4());
    t.db.add_account(&NewAccount {
        id,
        role: lianxi_domain::Role::Resident,
        scope: Scope::Xiaoqu(xiaoqu.id),
        login_hash: None,
        password_hash: None,
    })
    .await
    .expect("account");
    // As an earlier version stored it: the name in plain text.
    let sql_pg = "UPDATE accounts SET display_name = '老王' WHERE id = $1::uuid";
    let sql_lite = "UPDATE accounts SET display_name = '老王' WHERE id = ?";
    let updated = match &t.db {
        Database::Postgres(p) => sqlx::query(sql_pg)
            .bind(id.to_string())
            .execute(p)
            .await
            .map(|r| r.rows_affected()),
        Database::Sqlite(p) => sqlx::query(sql_lite)
            .bind(id.to_string())
            .execute(p)
            .await
            .map(|r| r.rows_affected()),
    };
    assert_eq!(updated.expect("legacy name"), 1);
    assert!(dump(&t).await.contains("老王"));
    let (token, _) = lianxi_gateway::app::auth::issue_token(&t.db, id, TokenKind::Api, None)
        .await
        .expect("token");

    let dir = TempDir::new();
    for _ in 0..2 {
        // Twice: the second start finds nothing left to move.
        let server = Process::start(&dir.0, &[("LIANXI_DATABASE_URL", t.url.as_str())]).await;
        let api = Api::new(&server.base);
        let me = api.get("/api/v1/auth/me", &token).await;
        assert_eq!(me.body["personal_data"]["name"], "老王", "{}", me.body);
        assert!(server.terminate().await.success());
    }
    let dumped = dump(&t).await;
    assert!(!dumped.contains("老王"), "the plain-text name is gone");
    assert!(dumped.contains("lxpd1:"));
}

async fn a_person_with_two_roles_signs_in_as_either(t: TestDb) {
    let dir = TempDir::new();
    let (admin_password, resident, _, _) = register(&dir, &t.url).await;
    let server = Process::start(&dir.0, &[("LIANXI_DATABASE_URL", t.url.as_str())]).await;
    let api = Api::new(&server.base);
    let admin = login(&api, "root-admin", &admin_password).await;
    let admin = admin.body["token"].as_str().expect("token").to_owned();
    let sign_in_as = |role: &str| {
        Api::send(
            api.request(Method::POST, "/api/v1/auth/login", None)
                .json(&json!({"login": "wangxm", "password": PASSWORD, "role": role})),
        )
    };

    // The resident also sits on the owners' committee of the same xiaoqu.
    let roles = format!("/api/v1/admin/accounts/{resident}/roles");
    let committee = json!({"role": "owners_committee", "xiaoqu": "幸福里"});
    let granted = api.post(&roles, &admin, committee.clone()).await;
    assert_eq!(granted.status, StatusCode::CREATED, "{}", granted.body);
    api.post(&roles, &admin, committee.clone())
        .await
        .assert_problem(409, "already-exists");
    api.post(
        &roles,
        &admin,
        json!({"role": "resident", "xiaoqu": "幸福里"}),
    )
    .await
    .assert_problem(409, "already-exists");
    api.post(&roles, &admin, json!({"role": "owners_committee"}))
        .await
        .assert_problem(422, "invalid-field")
        .assert_field("xiaoqu");

    // Without naming a role, the account's own; the person sees both.
    let as_resident = login(&api, "wangxm", PASSWORD).await;
    let as_resident = as_resident.body["token"]
        .as_str()
        .expect("token")
        .to_owned();
    let me = api.get("/api/v1/auth/me", &as_resident).await;
    assert_eq!(me.body["role"], "resident");
    let held: Vec<&str> = me.body["roles"]
        .as_array()
        .expect("roles")
        .iter()
        .filter_map(|r| r["role"].as_str())
        .collect();
    assert_eq!(held, ["resident", "owners_committee"]);

    // Naming the committee: the token acts as the committee, in every rule.
    let signed_in = sign_in_as("owners_committee").await;
    assert_eq!(signed_in.status, StatusCode::OK, "{}", signed_in.body);
    assert_eq!(signed_in.body["account"]["role"], "owners_committee");
    assert_eq!(signed_in.body["account"]["id"], resident.as_str());
    let as_committee = signed_in.body["token"].as_str().expect("token").to_owned();
    api.post(
        "/api/v1/grievances",
        &as_committee,
        lianxi_tests::sample_grievance(),
    )
    .await
    .assert_problem(403, "forbidden");
    let mut against_committee = lianxi_tests::sample_grievance();
    against_committee["respondent"] = json!("owners_committee");
    let filed = api
        .post("/api/v1/grievances", &as_resident, against_committee)
        .await;
    assert_eq!(filed.status, StatusCode::CREATED);
    let id = filed.body["id"].as_str().expect("id");
    let seen = api
        .get(&format!("/api/v1/grievances/{id}"), &as_committee)
        .await;
    assert_eq!(seen.status, StatusCode::OK);
    api.post(
        &format!("/api/v1/grievances/{id}/withdraw"),
        &as_committee,
        json!({}),
    )
    .await
    .assert_problem(403, "forbidden");

    // The xiaoqu may be named by its name as well as its id; a name that is
    // no xiaoqu's is refused as the field it is.
    let by_name = Api::send(api.request(Method::POST, "/api/v1/auth/login", None).json(
        &json!({"login": "wangxm", "password": PASSWORD, "role": "owners_committee", "xiaoqu": "幸福里"}),
    ))
    .await;
    assert_eq!(by_name.status, StatusCode::OK, "{}", by_name.body);
    assert_eq!(by_name.body["account"]["role"], "owners_committee");
    Api::send(api.request(Method::POST, "/api/v1/auth/login", None).json(
        &json!({"login": "wangxm", "password": PASSWORD, "role": "owners_committee", "xiaoqu": "无此小区"}),
    ))
    .await
    .assert_problem(422, "invalid-field")
    .assert_field("xiaoqu");

    // A role not held is refused by name; a withdrawn one ends its tokens.
    sign_in_as("party_branch")
        .await
        .assert_problem(422, "invalid-field")
        .assert_field("role");
    let withdrawn = api
        .post(&format!("{roles}/revocation"), &admin, committee.clone())
        .await;
    assert_eq!(withdrawn.status, StatusCode::NO_CONTENT);
    api.post(&format!("{roles}/revocation"), &admin, committee)
        .await
        .assert_problem(404, "not-found");
    api.get("/api/v1/auth/me", &as_committee)
        .await
        .assert_problem(401, "token-revoked");
    sign_in_as("owners_committee")
        .await
        .assert_problem(422, "invalid-field");
    let me = api.get("/api/v1/auth/me", &as_resident).await;
    assert_eq!(
        me.status,
        StatusCode::OK,
        "the own role's token still works"
    );
    server.terminate().await;
}

/// `lianxi <args>` as an operator, with the master key file `key` when given.
async fn operator(
    dir: &TempDir,
    url: &str,
    key: Option<&str>,
    args: &[&str],
    stdin: &str,
) -> (bool, String, String) {
    let env: Vec<(&str, &str)> = key
        .map(|k| vec![("LIANXI_MASTER_KEY_FILE", k)])
        .unwrap_or_default();
    cli_with(dir, url, &env, args, stdin).await
}

async fn the_operator_commands_manage_sign_in_tokens_keys_and_erasure(t: TestDb) {
    let dir = TempDir::new();
    let url = t.url.as_str();
    let (_, resident, _, _) = register(&dir, url).await;
    let id = resident.as_str();

    // A new login name and password, read from standard input.
    let (ok, out, err) = operator(
        &dir,
        url,
        None,
        &[
            "admin",
            "set-password",
            "--account",
            id,
            "--login",
            "xiaoming",
        ],
        "another long passphrase\n",
    )
    .await;
    assert!(ok, "{err}");
    assert_eq!(value_of(&lines(&out), "id"), resident);

    // An API token for the account; none for an account that does not exist.
    let (ok, out, err) = operator(
        &dir,
        url,
        None,
        &["admin", "issue-token", "--account", id, "--ttl-days", "1"],
        "",
    )
    .await;
    assert!(ok, "{err}");
    let token = value_of(&lines(&out), "token");
    let nobody = uuid::Uuid::new_v4().to_string();
    let (ok, _, err) = operator(
        &dir,
        url,
        None,
        &["admin", "issue-token", "--account", &nobody],
        "",
    )
    .await;
    assert!(!ok, "a token for nobody: {err}");

    // The master key changes; everything sealed still opens under the new one.
    let new_key = dir.0.join("rotated.key").display().to_string();
    let (ok, out, err) = operator(
        &dir,
        url,
        None,
        &["admin", "rotate-master-key", "--new-key-file", &new_key],
        "",
    )
    .await;
    assert!(ok, "{err}");
    let rewrapped: u64 = value_of(&lines(&out), "rewrapped")
        .parse()
        .expect("a count");
    assert!(rewrapped >= 1);
    let server = Process::start(
        &dir.0,
        &[
            ("LIANXI_DATABASE_URL", url),
            ("LIANXI_MASTER_KEY_FILE", new_key.as_str()),
        ],
    )
    .await;
    let api = Api::new(&server.base);
    let me = api.get("/api/v1/auth/me", &token).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);
    assert_eq!(me.body["personal_data"]["name"], NAME);
    let signed_in = login(&api, "xiaoming", "another long passphrase").await;
    assert_eq!(signed_in.status, StatusCode::OK, "{}", signed_in.body);

    // Revoking ends the token; erasing ends the person's data, once.
    let key = Some(new_key.as_str());
    let (ok, out, err) = operator(
        &dir,
        url,
        key,
        &["admin", "revoke-tokens", "--account", id],
        "",
    )
    .await;
    assert!(ok, "{err}");
    let revoked: u64 = value_of(&lines(&out), "revoked").parse().expect("a count");
    assert!(revoked >= 1);
    // The running instance trusts a token it looked up for two seconds
    // (docs/operators.md): a revocation from the command line takes effect
    // within that.
    lianxi_tests::eventually(
        "the revoked token refused",
        || async { json!(api.get("/api/v1/auth/me", &token).await.status.as_u16()) },
        |status| *status == json!(401),
    )
    .await;
    let erase = [
        "admin",
        "erase-person",
        "--account",
        id,
        "--reason",
        "moved away",
    ];
    let (ok, out, err) = operator(&dir, url, key, &erase, "").await;
    assert!(ok, "{err}");
    assert_eq!(value_of(&lines(&out), "erased"), resident);
    let (ok, _, err) = operator(&dir, url, key, &erase, "").await;
    assert!(!ok, "a second erasure is refused: {err}");
    server.terminate().await;
}
