//! `Idempotency-Key` over HTTP, on both stores: replayed answers, refused
//! reuse, keys per account, keys in use, and retries after a crash between
//! the commit and the answer.

use lianxi_gateway::db::{Database, StoredEvent};
use lianxi_tests::{on_both_stores, sample_grievance, Answer, Api, Cast, Person, Server, TestDb};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

on_both_stores!(
    a_retried_filing_gets_the_first_answer_again_and_files_once,
    a_retried_acceptance_gets_the_first_answer_again_and_appends_once,
    the_same_key_with_another_request_is_refused_and_runs_nothing,
    the_same_key_from_two_accounts_files_two_grievances,
    a_key_whose_request_still_runs_answers_409_with_retry_after,
    a_malformed_key_is_refused_and_a_request_without_a_token_keeps_nothing,
    a_retry_after_a_crash_between_commit_and_answer_rebuilds_the_answer_without_appending,
    a_stale_key_whose_command_never_committed_is_taken_over_and_runs_once,
    an_expired_key_is_treated_as_new,
    the_openapi_document_offers_the_header_on_commands_but_not_on_sign_in,
);

const LONG_AGO: &str = "2000-01-01T00:00:00.000000Z";

async fn post_keyed(api: &Api, path: &str, who: &Person, key: &str, body: &Value) -> Answer {
    Api::send(
        api.request(Method::POST, path, Some(&who.token))
            .header("Idempotency-Key", key)
            .json(body),
    )
    .await
}

async fn execute(t: &TestDb, sql: &str) {
    match &t.db {
        Database::Postgres(pool) => sqlx::query(sql).execute(pool).await.map(|_| ()),
        Database::Sqlite(pool) => sqlx::query(sql).execute(pool).await.map(|_| ()),
    }
    .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

async fn count(t: &TestDb, sql: &str) -> i64 {
    match &t.db {
        Database::Postgres(pool) => sqlx::query_scalar(sql).fetch_one(pool).await,
        Database::Sqlite(pool) => sqlx::query_scalar(sql).fetch_one(pool).await,
    }
    .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// The stream a key's command was marked committed to, as the append left it.
async fn committed(t: &TestDb, key: &str) -> (Option<String>, Option<String>) {
    let sql =
        format!("SELECT committed_type, committed_id FROM idempotency_keys WHERE key = '{key}'");
    match &t.db {
        Database::Postgres(pool) => sqlx::query_as(&sql).fetch_one(pool).await,
        Database::Sqlite(pool) => sqlx::query_as(&sql).fetch_one(pool).await,
    }
    .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Puts a key back where a crash leaves it: in progress since long ago, no
/// answer kept (the committed columns stay as the append wrote them).
async fn crash_before_answering(t: &TestDb, key: &str) {
    execute(
        t,
        &format!(
            "UPDATE idempotency_keys SET state = 'in_progress', response_status = NULL, \
             response_headers = NULL, response_body = NULL, started_at = '{LONG_AGO}' \
             WHERE key = '{key}'"
        ),
    )
    .await;
}

async fn stream(t: &TestDb, id: &str) -> Vec<StoredEvent> {
    t.db.stream("grievance", id).await.expect("read the stream")
}

fn types(events: &[StoredEvent]) -> Vec<&str> {
    events.iter().map(|e| e.event_type.as_str()).collect()
}

fn id_of(answer: &Answer) -> String {
    answer.body["id"].as_str().expect("an id").to_owned()
}

async fn a_retried_filing_gets_the_first_answer_again_and_files_once(t: TestDb) {
    let cast = Cast::new(&t.db).await;
    let server = Server::start(&t.db).await;
    let api = Api::new(&server.base);
    let resident = &cast.a.resident;
    let unkeyed = api.file(resident).await;

    let first = post_keyed(
        &api,
        "/api/v1/grievances",
        resident,
        "file-1",
        &sample_grievance(),
    )
    .await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    assert_eq!(first.header("idempotent-replayed"), None);
    let id = id_of(&first);

    let again = post_keyed(
        &api,
        "/api/v1/grievances",
        resident,
        "file-1",
        &sample_grievance(),
    )
    .await;
    assert_eq!(again.status, StatusCode::CREATED, "{}", again.body);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.body, first.body, "the first answer, exactly");
    assert_eq!(again.header("etag"), first.header("etag"));
    assert_eq!(again.header("location"), first.header("location"));
    assert_eq!(again.header("content-type"), Some("application/json"));

    let events = stream(&t, &id).await;
    assert_eq!(
        types(&events),
        types(&stream(&t, &unkeyed).await),
        "exactly the events of one filing"
    );
    assert_eq!(
        count(
            &t,
            "SELECT count(*) FROM events WHERE event_type = 'GrievanceFiled'"
        )
        .await,
        2,
        "the unkeyed filing and the keyed one, once"
    );
    // The events name the key only by its scoped hash.
    let marked = events[0].metadata["idempotency_key"]
        .as_str()
        .expect("the events carry the key");
    assert_eq!(marked.len(), 64);
    assert!(!marked.contains("file-1"));
    assert!(stream(&t, &unkeyed).await[0]
        .metadata
        .get("idempotency_key")
        .is_none());
    server.stop().await;
}

async fn a_retried_acceptance_gets_the_first_answer_again_and_appends_once(t: TestDb) {
    let cast = Cast::new(&t.db).await;
    let server = Server::start(&t.db).await;
    let api = Api::new(&server.base);
    let id = api.file(&cast.a.resident).await;
    let before = stream(&t, &id).await.len();
    let path = format!("/api/v1/grievances/{id}/accept");

    let first = post_keyed(&api, &path, &cast.a.branch, "accept-1", &json!({})).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    let after = stream(&t, &id).await.len();
    assert!(after > before, "the acceptance appended");

    let again = post_keyed(&api, &path, &cast.a.branch, "accept-1", &json!({})).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.body, first.body);
    assert_eq!(again.header("etag"), first.header("etag"));
    assert_eq!(stream(&t, &id).await.len(), after, "appended once");
    server.stop().await;
}

async fn the_same_key_with_another_request_is_refused_and_runs_nothing(t: TestDb) {
    let cast = Cast::new(&t.db).await;
    let server = Server::start(&t.db).await;
    let api = Api::new(&server.base);
    let resident = &cast.a.resident;
    let first = post_keyed(
        &api,
        "/api/v1/grievances",
        resident,
        "k",
        &sample_grievance(),
    )
    .await;
    assert_eq!(first.status, StatusCode::CREATED);
    let events = count(&t, "SELECT count(*) FROM events").await;

    let mut other = sample_grievance();
    other["title"] = json!("另一件事");
    post_keyed(&api, "/api/v1/grievances", resident, "k", &other)
        .await
        .assert_problem(422, "idempotency-key-reused");
    // Another path is another request too, even with the same body.
    let id = id_of(&first);
    post_keyed(
        &api,
        &format!("/api/v1/grievances/{id}/withdraw"),
        resident,
        "k",
        &sample_grievance(),
    )
    .await
    .assert_problem(422, "idempotency-key-reused");
    assert_eq!(
        count(&t, "SELECT count(*) FROM events").await,
        events,
        "nothing written"
    );

    // The first answer is still the key's.
    let again = post_keyed(
        &api,
        "/api/v1/grievances",
        resident,
        "k",
        &sample_grievance(),
    )
    .await;
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(id_of(&again), id);
    server.stop().await;
}

async fn the_same_key_from_two_accounts_files_two_grievances(t: TestDb) {
    let cast = Cast::new(&t.db).await;
    let server = Server::start(&t.db).await;
    let api = Api::new(&server.base);
    let mine = post_keyed(
        &api,
        "/api/v1/grievances",
        &cast.a.resident,
        "shared",
        &sample_grievance(),
    )
    .await;
    let theirs = post_keyed(
        &api,
        "/api/v1/grievances",
        &cast.a.neighbour,
        "shared",
        &sample_grievance(),
    )
    .await;
    assert_eq!(mine.status, StatusCode::CREATED);
    assert_eq!(theirs.status, StatusCode::CREATED);
    assert_eq!(theirs.header("idempotent-replayed"), None);
    assert_ne!(id_of(&mine), id_of(&theirs));
    assert_eq!(
        count(
            &t,
            "SELECT count(*) FROM events WHERE event_type = 'GrievanceFiled'"
        )
        .await,
        2
    );
    server.stop().await;
}

async fn a_key_whose_request_still_runs_answers_409_with_retry_after(t: TestDb) {
    let cast = Cast::new(&t.db).await;
    let server = Server::start(&t.db).await;
    let api = Api::new(&server.base);
    let id = api.file(&cast.a.resident).await;
    let path = format!("/api/v1/grievances/{id}/accept");
    let first = post_keyed(&api, &path, &cast.a.branch, "busy", &json!({})).await;
    assert_eq!(first.status, StatusCode::OK);
    // As it stood while the first request ran: in progress since just now.
    let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.6fZ");
    execute(
        &t,
        &format!(
            "UPDATE idempotency_keys SET state = 'in_progress', response_status = NULL, \
             response_headers = NULL, response_body = NULL, started_at = '{now}' WHERE key = 'busy'"
        ),
    )
    .await;
    let events = stream(&t, &id).await.len();

    let answer = post_keyed(&api, &path, &cast.a.branch, "busy", &json!({})).await;
    answer.assert_problem(409, "idempotency-key-in-use");
    assert_eq!(answer.header("retry-after"), Some("1"));
    assert_eq!(stream(&t, &id).await.len(), events, "nothing ran");
    server.stop().await;
}

async fn a_malformed_key_is_refused_and_a_request_without_a_token_keeps_nothing(t: TestDb) {
    let cast = Cast::new(&t.db).await;
    let server = Server::start(&t.db).await;
    let api = Api::new(&server.base);
    let resident = &cast.a.resident;
    for key in ["x".repeat(256), "two words".to_owned(), "中文".to_owned()] {
        Api::send(
            api.request(Method::POST, "/api/v1/grievances", Some(&resident.token))
                .header("Idempotency-Key", key.as_bytes())
                .json(&sample_grievance()),
        )
        .await
        .assert_problem(400, "invalid-header")
        .assert_field("Idempotency-Key");
    }
    let mut huge = sample_grievance();
    huge["description"] = json!("x".repeat(100_000));
    post_keyed(&api, "/api/v1/grievances", resident, "huge", &huge)
        .await
        .assert_problem(413, "payload-too-large");
    let longest = "k".repeat(255);
    let answer = post_keyed(
        &api,
        "/api/v1/grievances",
        resident,
        &longest,
        &sample_grievance(),
    )
    .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);

    Api::send(
        api.request(Method::POST, "/api/v1/grievances", None)
            .header("Idempotency-Key", "anonymous")
            .json(&sample_grievance()),
    )
    .await
    .assert_problem(401, "unauthorized");
    assert_eq!(
        count(&t, "SELECT count(*) FROM idempotency_keys").await,
        1,
        "only the valid key of a signed-in caller is kept"
    );
    assert_eq!(
        count(
            &t,
            "SELECT count(*) FROM events WHERE event_type = 'GrievanceFiled'"
        )
        .await,
        1
    );
    server.stop().await;
}

async fn a_retry_after_a_crash_between_commit_and_answer_rebuilds_the_answer_without_appending(
    t: TestDb,
) {
    let cast = Cast::new(&t.db).await;
    let server = Server::start(&t.db).await;
    let api = Api::new(&server.base);
    let resident = &cast.a.resident;

    // Filing: the append marked the key committed to the new stream.
    let first = post_keyed(
        &api,
        "/api/v1/grievances",
        resident,
        "crash-file",
        &sample_grievance(),
    )
    .await;
    assert_eq!(first.status, StatusCode::CREATED);
    let id = id_of(&first);
    assert_eq!(
        committed(&t, "crash-file").await,
        (Some("grievance".to_owned()), Some(id.clone()))
    );
    let filed = types(&stream(&t, &id).await).join(",");
    crash_before_answering(&t, "crash-file").await;

    let retry = post_keyed(
        &api,
        "/api/v1/grievances",
        resident,
        "crash-file",
        &sample_grievance(),
    )
    .await;
    assert_eq!(retry.status, StatusCode::CREATED, "{}", retry.body);
    assert_eq!(retry.header("idempotent-replayed"), Some("true"));
    assert_eq!(id_of(&retry), id, "the grievance filed before the crash");
    assert_eq!(
        retry.header("location"),
        Some(format!("/api/v1/grievances/{id}").as_str())
    );
    assert_eq!(retry.header("etag"), first.header("etag"));
    assert!(
        retry.body.get("filer_contact").is_none(),
        "no personal data in a kept answer"
    );
    assert_eq!(types(&stream(&t, &id).await).join(","), filed, "filed once");
    let kept = post_keyed(
        &api,
        "/api/v1/grievances",
        resident,
        "crash-file",
        &sample_grievance(),
    )
    .await;
    assert_eq!(kept.status, StatusCode::CREATED);
    assert_eq!(kept.body, retry.body, "the rebuilt answer is kept");

    // A lifecycle command: the grievance as it is now, 200.
    let path = format!("/api/v1/grievances/{id}/accept");
    let accepted = post_keyed(&api, &path, &cast.a.branch, "crash-accept", &json!({})).await;
    assert_eq!(accepted.status, StatusCode::OK);
    let events = stream(&t, &id).await.len();
    crash_before_answering(&t, "crash-accept").await;
    let retry = post_keyed(&api, &path, &cast.a.branch, "crash-accept", &json!({})).await;
    assert_eq!(retry.status, StatusCode::OK, "{}", retry.body);
    assert_eq!(retry.header("idempotent-replayed"), Some("true"));
    assert_eq!(retry.body["status"], "accepted");
    assert_eq!(retry.body["version"], accepted.body["version"]);
    assert_eq!(stream(&t, &id).await.len(), events, "accepted once");
    server.stop().await;
}

async fn a_stale_key_whose_command_never_committed_is_taken_over_and_runs_once(t: TestDb) {
    let cast = Cast::new(&t.db).await;
    let server = Server::start(&t.db).await;
    let api = Api::new(&server.base);
    let id = api.file(&cast.a.resident).await;
    let path = format!("/api/v1/grievances/{id}/accept");
    // The first run commits nothing (a stale If-Match, outside the request
    // hash); then it is made to look like a run that died.
    let refused = Api::send(
        api.request(Method::POST, &path, Some(&cast.a.branch.token))
            .header("Idempotency-Key", "taken-over")
            .header("If-Match", "\"1\"")
            .json(&json!({})),
    )
    .await;
    refused.assert_problem(412, "stale-version");
    assert_eq!(committed(&t, "taken-over").await, (None, None));
    crash_before_answering(&t, "taken-over").await;
    let before = stream(&t, &id).await.len();

    let run = post_keyed(&api, &path, &cast.a.branch, "taken-over", &json!({})).await;
    assert_eq!(run.status, StatusCode::OK, "{}", run.body);
    assert_eq!(run.header("idempotent-replayed"), None, "it ran");
    assert_eq!(run.body["status"], "accepted");
    let after = stream(&t, &id).await.len();
    assert!(after > before);

    let again = post_keyed(&api, &path, &cast.a.branch, "taken-over", &json!({})).await;
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.body, run.body);
    assert_eq!(stream(&t, &id).await.len(), after, "ran once");
    server.stop().await;
}

async fn an_expired_key_is_treated_as_new(t: TestDb) {
    let cast = Cast::new(&t.db).await;
    let server = Server::start(&t.db).await;
    let api = Api::new(&server.base);
    let resident = &cast.a.resident;
    let first = post_keyed(
        &api,
        "/api/v1/grievances",
        resident,
        "old",
        &sample_grievance(),
    )
    .await;
    assert_eq!(first.status, StatusCode::CREATED);
    execute(
        &t,
        &format!("UPDATE idempotency_keys SET expires_at = '{LONG_AGO}' WHERE key = 'old'"),
    )
    .await;
    let mut other = sample_grievance();
    other["title"] = json!("另一件事");
    let second = post_keyed(&api, "/api/v1/grievances", resident, "old", &other).await;
    assert_eq!(second.status, StatusCode::CREATED, "{}", second.body);
    assert_eq!(second.header("idempotent-replayed"), None);
    assert_ne!(id_of(&second), id_of(&first));
    assert_eq!(count(&t, "SELECT count(*) FROM idempotency_keys").await, 1);
    server.stop().await;
}

async fn the_openapi_document_offers_the_header_on_commands_but_not_on_sign_in(t: TestDb) {
    let server = Server::start(&t.db).await;
    let api = Api::new(&server.base);
    let doc = Api::send(api.request(Method::GET, "/api/v1/openapi.json", None)).await;
    let takes_key = |path: &str| {
        doc.body["paths"][path]["post"]["parameters"]
            .as_array()
            .is_some_and(|ps| {
                ps.iter()
                    .any(|p| p["name"] == "Idempotency-Key" && p["in"] == "header")
            })
    };
    assert!(takes_key("/api/v1/grievances"));
    assert!(takes_key("/api/v1/grievances/{id}/accept"));
    assert!(takes_key("/api/v1/meetings"));
    assert!(!takes_key("/api/v1/auth/login"));
    assert!(!takes_key("/api/v1/auth/logout"));
    assert!(!takes_key("/api/v1/admin/accounts"));
    server.stop().await;
}
