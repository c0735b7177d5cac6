//! Tamper evidence: hash chains, stream heads and signed checkpoints against
//! a database administrator who edits, deletes, reorders and inserts events.

use chrono::{DateTime, Utc};
use lianxi_gateway::audit::merkle;
use lianxi_gateway::audit::verify::{verify, ProblemKind, Verification};
use lianxi_gateway::db::chain::{self, EventFields, Hash, GENESIS};
use lianxi_tests::dba::{flip_one_byte, Dba, RawEvent};
use lianxi_tests::{
    on_both_stores, resident_token, Api, Cast, Person, Process, Server, TempDir, TestDb, Xiaoqu,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::StatusCode;
use serde_json::{json, Value};

on_both_stores!(
    every_tamper_is_found_at_its_stream_and_position,
    a_checkpoint_taken_before_a_rewrite_exposes_it,
    events_stored_before_the_chain_are_sealed_once,
    the_past_replays_exactly_and_the_dossier_matches_the_streams,
);

/// The commands that take a grievance of `x` from accepted to resolved.
fn lifecycle(x: &Xiaoqu) -> [(&'static str, &Person, Value); 5] {
    [
        ("accept", &x.branch, json!({})),
        (
            "triage",
            &x.branch,
            json!({"matter_class": "minor", "party": "property_company"}),
        ),
        ("assign", &x.branch, json!({"note": "三天内修复"})),
        ("respond", &x.company, json!({"response": "已安排维修"})),
        ("resolve", &x.branch, json!({"summary": "已修复"})),
    ]
}

/// Files six grievances across both xiaoqu and moves each a different
/// number of steps along, so streams have many lengths.
pub async fn history(api: &Api, cast: &Cast) -> Vec<String> {
    let mut ids = Vec::new();
    for (i, x) in [&cast.a, &cast.b, &cast.a, &cast.b, &cast.a, &cast.a]
        .into_iter()
        .enumerate()
    {
        let id = api.file(&x.resident).await;
        let mut steps = lifecycle(x).to_vec();
        steps.push(("rate", &x.resident, json!({"rating": "satisfied"})));
        for (action, person, body) in steps.into_iter().take(i + 1) {
            api.command(&id, action, person, body).await;
        }
        ids.push(id);
    }
    ids
}

fn instant(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .or_else(|_| DateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f%#z"))
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|e| panic!("{text:?} is not an instant: {e}"))
}

/// The hash `e` must carry after `prev`, as a forger who knows the
/// algorithm would compute it.
fn forge_hash(prev: &Hash, e: &RawEvent) -> Hash {
    chain::event_hash(
        prev,
        &EventFields {
            aggregate_type: &e.aggregate_type,
            aggregate_id: &e.aggregate_id,
            sequence: e.sequence,
            event_type: &e.event_type,
            event_version: &e.event_version,
            event_id: e.event_id.parse().expect("event id"),
            recorded_at: instant(&e.recorded_at),
            payload: &e.payload,
            metadata: &e.metadata,
        },
    )
}

async fn report(t: &TestDb) -> Verification {
    verify(&t.db, None).await.expect("verify")
}

#[derive(Clone, Copy, Debug)]
enum Tamper {
    EditPayload,
    EditMetadata,
    Delete,
    Reorder,
    Insert,
}

async fn every_tamper_is_found_at_its_stream_and_position(t: TestDb) {
    let cast = Cast::new(&t.db).await;
    let server = Server::start(&t.db).await;
    let api = Api::new(&server.base);
    history(&api, &cast).await;
    server.stop().await;

    let dba = Dba { db: &t.db };
    let clean = report(&t).await;
    assert!(clean.ok, "an untouched log verifies: {clean:?}");
    assert_eq!(clean.events as usize, dba.all().await.len());
    assert_eq!(clean.streams, 6);
    dba.unlock().await;

    let seed: u64 = rand::random();
    eprintln!("tamper seed: {seed}");
    let mut rng = StdRng::seed_from_u64(seed);
    let kinds = [
        Tamper::EditPayload,
        Tamper::EditMetadata,
        Tamper::Delete,
        Tamper::Reorder,
        Tamper::Insert,
    ];
    for trial in 0..12 {
        for kind in kinds {
            let all = dba.all().await;
            let victim = all[rng.random_range(0..all.len())].clone();
            let stream = dba.stream(&victim.aggregate_id).await;
            let n = stream.len() as i64;
            let (position, expected_kind) = match kind {
                Tamper::EditPayload | Tamper::EditMetadata => {
                    let (column, text) = match kind {
                        Tamper::EditPayload => ("payload", &victim.payload),
                        _ => ("metadata", &victim.metadata),
                    };
                    let edited = flip_one_byte(text, rng.random_range(0..10_000));
                    dba.update(&victim, column, &edited).await;
                    (victim.sequence, ProblemKind::HashMismatch)
                }
                Tamper::Delete => {
                    dba.delete(&victim).await;
                    (victim.sequence, ProblemKind::SequenceBreak)
                }
                Tamper::Reorder => {
                    // Swap the victim with its successor (or predecessor).
                    let k = if victim.sequence < n {
                        victim.sequence
                    } else {
                        victim.sequence - 1
                    };
                    if k < 1 {
                        continue;
                    }
                    let (first, second) = (&stream[k as usize - 1], &stream[k as usize]);
                    dba.renumber(first, 1_000_000).await;
                    dba.renumber(second, k).await;
                    dba.renumber(first, k + 1).await;
                    (k, ProblemKind::SequenceBreak)
                }
                Tamper::Insert => {
                    // A forger who knows the algorithm inserts a well-hashed
                    // event at k and renumbers the rest.
                    let k = rng.random_range(1..=n + 1);
                    let prev = if k == 1 {
                        GENESIS
                    } else {
                        Hash::try_from(stream[k as usize - 2].hash.as_slice()).expect("hash")
                    };
                    let newest = all.last().expect("events").clone();
                    let mut forged = stream[(k as usize - 1).min(stream.len() - 1)].clone();
                    forged.sequence = k;
                    forged.event_id = uuid::Uuid::new_v4().to_string();
                    forged.global_position = dba.next_position().await;
                    forged.transaction_id = newest.transaction_id;
                    forged.hash = forge_hash(&prev, &forged).to_vec();
                    dba.shift(&victim.aggregate_id, k, 1).await;
                    dba.insert(&forged).await;
                    let kind = if k <= n {
                        ProblemKind::SequenceBreak
                    } else {
                        ProblemKind::HeadMismatch
                    };
                    (k, kind)
                }
            };
            let found = report(&t).await;
            assert!(
                !found.ok,
                "trial {trial}: {kind:?} of {victim:?} went unnoticed"
            );
            let first = &found.problems[0];
            assert_eq!(
                (first.aggregate_id.as_str(), first.sequence, first.kind),
                (victim.aggregate_id.as_str(), position, expected_kind),
                "trial {trial}: {kind:?} of {victim:?} (stream of {n}) reported as {first:?}"
            );
            assert_eq!(
                found.problems.len(),
                1,
                "only that stream is flagged: {found:?}"
            );
            dba.restore(&victim.aggregate_id, &stream).await;
            let restored = report(&t).await;
            assert!(
                restored.ok,
                "trial {trial}: restoring after {kind:?} verifies: {restored:?}"
            );
        }
    }
}

/// Rewrites event `k` of a stream and re-forges every later hash and the
/// stream head, so that the chains alone verify clean.
async fn rewrite_stream(dba: &Dba<'_>, aggregate_id: &str, k: usize) {
    let mut stream = dba.stream(aggregate_id).await;
    stream[k - 1].payload = flip_one_byte(&stream[k - 1].payload, 3);
    dba.update(&stream[k - 1], "payload", &stream[k - 1].payload)
        .await;
    let mut prev = if k == 1 {
        GENESIS
    } else {
        Hash::try_from(stream[k - 2].hash.as_slice()).expect("hash")
    };
    for e in &stream[k - 1..] {
        prev = forge_hash(&prev, e);
        dba.set_hash(e, &prev).await;
    }
    dba.set_head(aggregate_id, stream.len() as i64, &prev).await;
}

async fn a_checkpoint_taken_before_a_rewrite_exposes_it(t: TestDb) {
    let cast = Cast::new(&t.db).await;
    let server = Server::start(&t.db).await;
    let api = Api::new(&server.base);
    let ids = history(&api, &cast).await;
    let auditor = &cast.auditor.token;

    // Only auditors (and administrators) reach the audit endpoints.
    api.post("/api/v1/audit/verify", &cast.a.branch.token, json!({}))
        .await
        .assert_problem(403, "forbidden");
    api.post(
        "/api/v1/audit/checkpoints",
        &cast.a.resident.token,
        json!({}),
    )
    .await
    .assert_problem(403, "forbidden");

    let taken = api
        .post("/api/v1/audit/checkpoints", auditor, json!({}))
        .await;
    assert_eq!(taken.status, StatusCode::CREATED, "{}", taken.body);
    let first = taken.body.clone();
    let size = first["tree_size"].as_u64().expect("tree size");
    assert_eq!(size as usize, Dba { db: &t.db }.all().await.len());
    let listed = api.get("/api/v1/audit/checkpoints", auditor).await;
    assert_eq!(listed.body["checkpoints"][0], first);
    assert_eq!(listed.body["public_key"], first["public_key"]);
    let fetched = api
        .get(&format!("/api/v1/audit/checkpoints/{size}"), auditor)
        .await;
    assert_eq!(fetched.body, first);

    let held = api
        .post(
            "/api/v1/audit/verify",
            auditor,
            json!({"checkpoint": first}),
        )
        .await;
    assert_eq!(held.status, StatusCode::OK, "{}", held.body);
    assert_eq!(held.body["ok"], true, "{}", held.body);
    assert_eq!(held.body["checkpoint"]["matches_log"], true);

    // A checkpoint whose root was changed no longer carries a valid signature.
    let mut forged = first.clone();
    forged["root"] = json!(hex_of(&[9; 32]));
    api.post(
        "/api/v1/audit/verify",
        auditor,
        json!({"checkpoint": forged}),
    )
    .await
    .assert_problem(422, "invalid-field")
    .assert_field("checkpoint.signature");

    // The log grows; a later checkpoint provably extends the first.
    api.file(&cast.b.resident).await;
    let second = api
        .post("/api/v1/audit/checkpoints", auditor, json!({}))
        .await
        .body;
    let later = second["tree_size"].as_u64().expect("size");
    assert!(later > size);
    let proof = api
        .get(
            &format!("/api/v1/audit/consistency?from={size}&to={later}"),
            auditor,
        )
        .await;
    assert_eq!(proof.status, StatusCode::OK, "{}", proof.body);
    let hashes: Vec<Hash> = proof.body["proof"]
        .as_array()
        .expect("proof")
        .iter()
        .map(|h| hash_of(h.as_str().expect("hex")))
        .collect();
    let (old_root, new_root) = (
        hash_of(first["root"].as_str().expect("root")),
        hash_of(second["root"].as_str().expect("root")),
    );
    assert!(merkle::verify_consistency(
        size, later, &old_root, &new_root, &hashes
    ));
    assert!(!merkle::verify_consistency(
        size, later, &new_root, &old_root, &hashes
    ));
    api.get("/api/v1/audit/consistency?from=0&to=1", auditor)
        .await
        .assert_problem(400, "invalid-query");
    api.get(
        &format!("/api/v1/audit/consistency?from=1&to={}", later + 100),
        auditor,
    )
    .await
    .assert_problem(400, "invalid-query");
    server.stop().await;

    // A careful administrator rewrites an early event and re-forges every
    // hash after it: the chains verify, the kept checkpoint does not.
    let dba = Dba { db: &t.db };
    dba.unlock().await;
    rewrite_stream(&dba, &ids[3], 2).await;
    let chains = report(&t).await;
    assert!(
        chains.ok,
        "re-forged chains verify on their own: {chains:?}"
    );
    let kept = lianxi_gateway::audit::Checkpoint::from_file(
        &serde_json::from_value(first).expect("checkpoint file"),
    )
    .expect("valid checkpoint");
    let exposed = verify(&t.db, Some(&(&kept).into())).await.expect("verify");
    assert!(!exposed.ok);
    let check = exposed.checkpoint.expect("checkpoint checked");
    assert!(check.signature_valid);
    assert!(!check.matches_log, "{check:?}");
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn hash_of(text: &str) -> Hash {
    let bytes: Vec<u8> = (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
        .collect();
    Hash::try_from(bytes.as_slice()).expect("32 bytes")
}

async fn events_stored_before_the_chain_are_sealed_once(t: TestDb) {
    // Events written by an older version: no hash, no stream head.
    let dba = Dba { db: &t.db };
    let stream = uuid::Uuid::new_v4().to_string();
    for (sequence, payload) in [
        (1, json!({"GrievanceFiled": {"title": "噪音"}})),
        (
            2,
            json!({"GrievanceAccepted": {"at": "2026-03-01T09:00:00Z"}}),
        ),
        (
            3,
            json!({"GrievanceTriaged": {"weights": [1.5, 2.0, 1e19]}}),
        ),
    ] {
        insert_unsealed(&t, &stream, sequence, &payload).await;
    }
    let unsealed = report(&t).await;
    assert_eq!(unsealed.problems[0].kind, ProblemKind::Unsealed);

    lianxi_gateway::audit::migrate(&t.db)
        .await
        .expect("migrate seals");
    let sealed = report(&t).await;
    assert!(sealed.ok, "{sealed:?}");
    assert_eq!(sealed.events, 3);
    let hashes: Vec<Vec<u8>> = dba
        .stream(&stream)
        .await
        .into_iter()
        .map(|e| e.hash)
        .collect();
    lianxi_gateway::audit::migrate(&t.db)
        .await
        .expect("migrating again changes nothing");
    let again: Vec<Vec<u8>> = dba
        .stream(&stream)
        .await
        .into_iter()
        .map(|e| e.hash)
        .collect();
    assert_eq!(hashes, again);

    // Sealed events are as protected as any other.
    let e = &dba.stream(&stream).await[0];
    let refused = match &t.db {
        lianxi_gateway::db::Database::Postgres(pool) => {
            sqlx::query("UPDATE events SET hash = NULL WHERE event_id = $1::uuid")
                .bind(&e.event_id)
                .execute(pool)
                .await
                .map(|_| ())
        }
        lianxi_gateway::db::Database::Sqlite(pool) => {
            sqlx::query("UPDATE events SET hash = NULL WHERE event_id = ?")
                .bind(&e.event_id)
                .execute(pool)
                .await
                .map(|_| ())
        }
    };
    assert!(refused.is_err(), "a sealed hash cannot be cleared");
}

/// An INSERT as the service wrote it before the hash chain existed.
async fn insert_unsealed(t: &TestDb, stream: &str, sequence: i64, payload: &Value) {
    let metadata = json!({"actor": "someone"}).to_string();
    match &t.db {
        lianxi_gateway::db::Database::Postgres(pool) => {
            sqlx::query(
                "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
                 VALUES ('grievance', $1, $2, 'Legacy', '1', $3::json, $4::json)",
            )
            .bind(stream)
            .bind(sequence)
            .bind(payload.to_string())
            .bind(&metadata)
            .execute(pool)
            .await
            .expect("insert");
        }
        lianxi_gateway::db::Database::Sqlite(pool) => {
            sqlx::query(
                "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
                 VALUES ('grievance', ?, ?, 'Legacy', '1', ?, ?)",
            )
            .bind(stream)
            .bind(sequence)
            .bind(payload.to_string())
            .bind(&metadata)
            .execute(pool)
            .await
            .expect("insert");
        }
    }
}

async fn the_past_replays_exactly_and_the_dossier_matches_the_streams(t: TestDb) {
    let cast = Cast::new(&t.db).await;
    let server = Server::start(&t.db).await;
    let api = Api::new(&server.base);
    let a = &cast.a;
    let auditor = &cast.auditor.token;
    let before_filing = Utc::now();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;

    // After every command, remember the instant and what the API answered.
    let id = api.file(&a.resident).await;
    let mut seen = Vec::new();
    seen.push(snapshot(&api, &id, auditor).await);
    let mut steps = lifecycle(a).to_vec();
    steps.push(("rate", &a.resident, json!({"rating": "unsatisfied"})));
    steps.push(("reopen", &a.resident, json!({"reason": "又坏了"})));
    for (action, person, body) in steps {
        api.command(&id, action, person, body).await;
        seen.push(snapshot(&api, &id, auditor).await);
    }
    let duplicate = api.file(&a.neighbour).await;
    api.command(&duplicate, "merge", &a.branch, json!({"primary": id}))
        .await;

    for (at, then) in &seen {
        let at = at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        let path = format!("/api/v1/grievances/{id}?as_of={}", at.replace('+', "%2B"));
        let replayed = api.get(&path, auditor).await;
        assert_eq!(replayed.status, StatusCode::OK, "{}", replayed.body);
        assert_eq!(&replayed.body, then, "state as of {at}");
        // Replays are deterministic: byte-identical each time.
        let again = api.get(&path, auditor).await;
        assert_eq!(
            serde_json::to_vec(&again.body).expect("json"),
            serde_json::to_vec(&replayed.body).expect("json")
        );
    }
    let early = before_filing.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    api.get(&format!("/api/v1/grievances/{id}?as_of={early}"), auditor)
        .await
        .assert_problem(404, "not-found");
    api.get(&format!("/api/v1/grievances/{id}?as_of=yesterday"), auditor)
        .await
        .assert_problem(400, "invalid-query");

    // The dossier tells both streams of the case, exactly as stored.
    api.post("/api/v1/audit/checkpoints", auditor, json!({}))
        .await;
    let dossier = api
        .get(&format!("/api/v1/grievances/{id}/dossier"), auditor)
        .await;
    assert_eq!(dossier.status, StatusCode::OK, "{}", dossier.body);
    let d = &dossier.body;
    assert_eq!(d["format"], "lianxi-dossier-v1");
    assert_eq!(d["grievance"]["id"], id.as_str());
    let mut stored = Vec::new();
    for stream in [&id, &duplicate] {
        stored.extend(api.events(stream, &a.branch).await.into_iter().map(|e| {
            (
                stream.clone(),
                e["sequence"].clone(),
                e["event_id"].clone(),
                e["event_type"].clone(),
                e["hash"].clone(),
            )
        }));
    }
    let story = d["story"].as_array().expect("story");
    let mut told: Vec<_> = story
        .iter()
        .map(|e| {
            (
                e["stream"].as_str().expect("stream").to_owned(),
                e["sequence"].clone(),
                e["event_id"].clone(),
                e["event_type"].clone(),
                e["hash"].clone(),
            )
        })
        .collect();
    let positions: Vec<i64> = story
        .iter()
        .map(|e| e["global_position"].as_i64().expect("position"))
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "in stored order");
    told.sort_by(|x, y| (&x.0, x.1.as_i64()).cmp(&(&y.0, y.1.as_i64())));
    stored.sort_by(|x, y| (&x.0, x.1.as_i64()).cmp(&(&y.0, y.1.as_i64())));
    assert_eq!(told, stored);
    let streams = d["streams"].as_array().expect("streams");
    assert_eq!(streams.len(), 2);
    assert!(streams.iter().all(|s| s["chain"]["ok"] == true), "{d}");
    assert!(d["checkpoint"]["tree_size"].as_u64().is_some());
    assert_eq!(story[0]["role"], "resident");
    assert!(story[0]["actor"]
        .as_str()
        .is_some_and(|a| a.starts_with("person-")));
    let text = d.to_string();
    for person in [&a.resident, &a.neighbour, &a.branch, &a.company] {
        assert!(
            !text.contains(&person.id.to_string()),
            "no account id in a dossier"
        );
    }

    // The same dossier as a printable page.
    let page = Api::send(
        api.request(
            reqwest::Method::GET,
            &format!("/api/v1/grievances/{id}/dossier"),
            Some(auditor),
        )
        .header("accept", "text/html"),
    )
    .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page
        .header("content-type")
        .is_some_and(|c| c.starts_with("text/html")));
    let html = page.body.as_str().expect("html text");
    assert!(html.contains(&id));
    for (_, _, _, event_type, _) in &stored {
        assert!(html.contains(event_type.as_str().expect("type")));
    }
    assert!(html.contains("verified"));
    api.get(
        &format!("/api/v1/grievances/{id}/dossier?format=xml"),
        auditor,
    )
    .await
    .assert_problem(400, "invalid-query");
    // Someone who may not open the grievance gets no story either.
    api.get(
        &format!("/api/v1/grievances/{id}/story"),
        &cast.b.branch.token,
    )
    .await
    .assert_problem(404, "not-found");
    server.stop().await;
}

/// The instant just after reading, and what the API answered.
async fn snapshot(api: &Api, id: &str, token: &str) -> (DateTime<Utc>, Value) {
    let body = api
        .get(&format!("/api/v1/grievances/{id}"), token)
        .await
        .body;
    (Utc::now(), body)
}

/// Runs `lianxi <args>` in `dir` on its embedded store; returns the exit
/// status and what it printed.
async fn lianxi(dir: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    super::keys::lianxi(dir, &[], args).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auditors_verify_from_the_command_line_against_a_kept_checkpoint() {
    let dir = TempDir::new();
    let d = dir.0.as_path();
    let token = resident_token(d, &[]).await;
    let server = Process::start(d, &[]).await;
    let api = Api::new(&server.base);
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(api.file_with(&token).await);
    }
    assert!(server.terminate().await.success());

    // The first start created the signing key, readable by its owner only.
    let key_file = d.join("data").join("audit-signing.key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&key_file)
            .expect("key file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    let (ok, _, err) = lianxi(d, &["audit", "checkpoint", "--out", "kept.json"]).await;
    assert!(ok, "{err}");
    let kept: Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("kept.json")).expect("kept"))
            .expect("json");
    assert_eq!(
        kept["tree_size"], 8,
        "three filings of two events each, the resident's registration and the xiaoqu's"
    );
    let public_key = kept["public_key"].as_str().expect("key").to_owned();

    let (ok, out, err) = lianxi(
        d,
        &[
            "audit",
            "verify",
            "--checkpoint",
            "kept.json",
            "--public-key",
            &public_key,
        ],
    )
    .await;
    assert!(ok, "{out}{err}");
    assert!(
        out.contains("holds") && out.trim_end().ends_with("verified"),
        "{out}"
    );
    let other = "ab".repeat(32);
    let (ok, _, err) = lianxi(
        d,
        &[
            "audit",
            "verify",
            "--checkpoint",
            "kept.json",
            "--public-key",
            &other,
        ],
    )
    .await;
    assert!(!ok);
    assert!(err.contains("not by the trusted key"), "{err}");

    // An administrator re-forges one stream: the chains pass, the kept
    // checkpoint does not, and the exit status says so.
    {
        let db = lianxi_gateway::db::Database::connect(
            &format!("sqlite://{}", d.join("data").join("lianxi.db").display()),
            lianxi_gateway::db::PoolSettings::default(),
        )
        .await
        .expect("open the store");
        let dba = Dba { db: &db };
        dba.unlock().await;
        rewrite_stream(&dba, &ids[1], 1).await;
        db.close().await;
    }
    let (ok, out, _) = lianxi(d, &["audit", "verify"]).await;
    assert!(ok, "re-forged chains verify on their own: {out}");
    let (ok, out, _) = lianxi(d, &["audit", "verify", "--checkpoint", "kept.json"]).await;
    assert!(!ok);
    assert!(
        out.contains("FAILS") && out.contains("NOT verified"),
        "{out}"
    );
    let (ok, out, _) = lianxi(
        d,
        &["audit", "verify", "--checkpoint", "kept.json", "--json"],
    )
    .await;
    assert!(!ok);
    let report: Value = serde_json::from_str(&out).expect("JSON report");
    assert_eq!(report["ok"], false);
    assert_eq!(report["checkpoint"]["matches_log"], false);
    assert_eq!(report["checkpoint"]["signature_valid"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_json_is_in_the_form_postgresql_prints() {
    let Some(t) = TestDb::new(lianxi_tests::Store::Postgres).await else {
        return;
    };
    let lianxi_gateway::db::Database::Postgres(pool) = &t.db else {
        unreachable!()
    };
    let values = [
        json!({"bb": 1, "a": [1, 2.5, 1e2, 1.5e-7, -0.0, 1e300, -12, 18446744073709551615u64]}),
        json!({"": null, "ab": true, "b": false, "aa": {"z": [], "y": {}}}),
        json!(["a\"b\\c\u{1}\u{8}\u{c}\n\r\t\u{7f}é中文🙂", "", " "]),
        json!({"GrievanceFiled": {"title": "3栋电梯停运", "location": {"building": "3栋", "unit": null}}}),
        json!(0.1),
        json!(123456789.125),
        json!(-1e-300),
    ];
    for value in values {
        let printed: String = sqlx::query_scalar("SELECT $1::jsonb::text")
            .bind(sqlx::types::Json(&value))
            .fetch_one(pool)
            .await
            .expect("print");
        assert_eq!(chain::canonical_json(&value), printed, "{value}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auditors_can_recompute_every_hash_in_sql() {
    let Some(t) = TestDb::new(lianxi_tests::Store::Postgres).await else {
        return;
    };
    let cast = Cast::new(&t.db).await;
    let server = Server::start(&t.db).await;
    history(&Api::new(&server.base), &cast).await;
    server.stop().await;
    let lianxi_gateway::db::Database::Postgres(pool) = &t.db else {
        unreachable!()
    };
    // The digest expression of the auditors' guide, evaluated by PostgreSQL.
    let sql = format!(
        "SELECT aggregate_id, sequence, hash, {} AS digest
           FROM events CROSS JOIN LATERAL (SELECT convert_to(payload::text, 'UTF8') AS p,
                                                  convert_to(metadata::text, 'UTF8') AS m) AS texts
          ORDER BY aggregate_id, sequence",
        chain::CONTENT_DIGEST_SQL
    );
    let rows: Vec<(String, i64, Vec<u8>, Vec<u8>)> =
        sqlx::query_as(&sql).fetch_all(pool).await.expect("digests");
    assert!(rows.len() > 20);
    let mut prev = GENESIS;
    for (id, sequence, hash, digest) in &rows {
        if *sequence == 1 {
            prev = GENESIS;
        }
        let digest = Hash::try_from(digest.as_slice()).expect("32 bytes");
        prev = chain::link(&prev, &digest);
        assert_eq!(prev.as_slice(), hash.as_slice(), "{id} at {sequence}");
    }
}
