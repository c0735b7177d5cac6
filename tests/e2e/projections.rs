//! Read models: lists under the authorization rules, commit-safe feed,
//! one active runner, crash consistency.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use lianxi_projections::grievance_list::{self, Audience, GrievanceList, ListFilter};
use lianxi_projections::{checkpoint, Projection, Runner, Store};
use lianxi_tests::{on_both_stores, quick_runners, Api, Cast, Person, Server, TestDb};
use reqwest::StatusCode;
use serde_json::{json, Value};

on_both_stores!(
    lists_show_each_person_exactly_what_they_could_open,
    lists_filter_and_page_without_gaps_or_repeats,
    two_runners_share_a_projection_one_at_a_time_and_apply_nothing_twice,
    a_runner_killed_mid_batch_leaves_read_models_equal_to_a_rebuild,
    a_rebuild_swaps_in_while_the_service_keeps_answering,
);

/// Every id `person` sees through the list, waiting for `position`.
async fn listed(api: &Api, person: &Person, position: &str, query: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/api/v1/grievances?min_position={position}&limit=3{query}");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let page = api.get(&path, &person.token).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        assert_eq!(
            page.body["caught_up"], true,
            "the list reached the position"
        );
        for item in page.body["items"].as_array().expect("items") {
            ids.push(item["id"].as_str().expect("id").to_owned());
        }
        match page.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return ids,
        }
    }
}

async fn lists_show_each_person_exactly_what_they_could_open(t: TestDb) {
    let cast = Cast::new(&t.db).await;
    let server = Server::start(&t.db).await;
    let api = Api::new(&server.base);
    let (a, b) = (&cast.a, &cast.b);
    let mut all = Vec::new();
    let mut position = String::new();
    // A spread of situations: own, neighbour's, other xiaoqu, escalated,
    // assigned to the owners' committee, merged duplicate.
    let g1 = api.file(&a.resident).await;
    let g2 = api.file(&a.neighbour).await;
    let g3 = api.file(&b.resident).await;
    let mut body = lianxi_tests::sample_grievance();
    body["respondent"] = json!("neighbour");
    let g4 = api
        .post("/api/v1/grievances", &a.resident.token, body)
        .await
        .body["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let g5 = api.file(&a.neighbour).await;
    all.extend([g1.clone(), g2.clone(), g3.clone(), g4.clone(), g5.clone()]);
    api.command(&g2, "accept", &a.branch, json!({})).await;
    api.command(&g2, "escalate", &a.branch, json!({"reason": "manual"}))
        .await;
    api.command(&g4, "accept", &a.branch, json!({})).await;
    api.command(
        &g4,
        "triage",
        &a.branch,
        json!({"matter_class": "minor", "party": "owners_committee"}),
    )
    .await;
    api.command(&g4, "assign", &a.branch, json!({})).await;
    let merged = api
        .command(&g5, "merge", &a.branch, json!({"primary": g1}))
        .await;
    position = merged["position"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or(position);
    assert!(
        !position.is_empty(),
        "commands answer with their feed position"
    );

    let people: Vec<&Person> = vec![
        &a.resident,
        &a.neighbour,
        &a.branch,
        &a.company,
        &a.committee,
        &a.community,
        &b.resident,
        &b.branch,
        &b.company,
        &b.community,
        &cast.auditor,
        &cast.admin,
    ];
    for person in people {
        let mut openable = BTreeSet::new();
        for id in &all {
            let answer = api
                .get(&format!("/api/v1/grievances/{id}"), &person.token)
                .await;
            if answer.status == StatusCode::OK {
                openable.insert(id.clone());
            } else {
                assert_eq!(answer.status, StatusCode::NOT_FOUND);
            }
        }
        let seen: Vec<String> = listed(&api, person, &position, "").await;
        let seen_set: BTreeSet<String> = seen.iter().cloned().collect();
        assert_eq!(seen.len(), seen_set.len(), "no grievance listed twice");
        assert_eq!(
            seen_set, openable,
            "{} lists exactly what it can open",
            person.role
        );
    }
    // An account that may see no grievance lists none, even when it asks
    // for a xiaoqu that has some.
    let admin_asks = listed(&api, &cast.admin, &position, &format!("&xiaoqu={}", a.id)).await;
    assert!(admin_asks.is_empty(), "{admin_asks:?}");
    // Spot checks of the policy itself.
    let resident_sees = listed(&api, &a.resident, &position, "").await;
    assert_eq!(
        resident_sees.iter().cloned().collect::<BTreeSet<_>>(),
        [g1.clone(), g4.clone()].into()
    );
    let neighbour_sees: BTreeSet<String> = listed(&api, &a.neighbour, &position, "")
        .await
        .into_iter()
        .collect();
    assert_eq!(
        neighbour_sees,
        [g1.clone(), g2.clone(), g5.clone()].into(),
        "duplicates' filers follow the primary"
    );
    let community_sees = listed(&api, &a.community, &position, "").await;
    assert_eq!(community_sees, vec![g2.clone()]);
    assert!(listed(&api, &cast.admin, &position, "").await.is_empty());
    let company_page = api
        .get(
            &format!("/api/v1/grievances?min_position={position}"),
            &a.company.token,
        )
        .await;
    for item in company_page.body["items"].as_array().expect("items") {
        assert!(
            item["filer"]
                .as_str()
                .is_some_and(|f| f.starts_with("person-")),
            "respondents see pseudonyms"
        );
    }
    server.stop().await;
}

async fn lists_filter_and_page_without_gaps_or_repeats(t: TestDb) {
    let cast = Cast::new(&t.db).await;
    let server = Server::start(&t.db).await;
    let api = Api::new(&server.base);
    let a = &cast.a;
    let mut ids = Vec::new();
    for _ in 0..7 {
        ids.push(api.file(&a.resident).await);
    }
    let accepted = api.command(&ids[3], "accept", &a.branch, json!({})).await;
    let position = accepted["position"].as_str().expect("position").to_owned();
    let everything = listed(&api, &a.branch, &position, "").await;
    let mut newest_first = ids.clone();
    newest_first.reverse();
    assert_eq!(
        everything, newest_first,
        "newest first, every one once across pages"
    );
    assert_eq!(
        listed(&api, &a.branch, &position, "&status=accepted").await,
        vec![ids[3].clone()]
    );
    assert_eq!(
        listed(&api, &a.branch, &position, "&category=noise").await,
        Vec::<String>::new()
    );
    assert_eq!(
        listed(&api, &a.branch, &position, "&category=repairs&status=filed")
            .await
            .len(),
        6
    );
    let future = "2999-01-01T00:00:00Z";
    assert!(
        listed(&api, &a.branch, &position, &format!("&filed_from={future}"))
            .await
            .is_empty()
    );
    assert_eq!(
        listed(&api, &a.branch, &position, &format!("&filed_to={future}"))
            .await
            .len(),
        7
    );

    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("status=lost", "status"),
        ("cursor=garbage", "cursor"),
        ("min_position=soon", "min_position"),
        ("colour=red", "query"),
    ] {
        let answer = api
            .get(&format!("/api/v1/grievances?{query}"), &a.branch.token)
            .await;
        answer.assert_problem(400, "invalid-query");
        if field != "query" {
            answer.assert_field(field);
        }
    }
    server.stop().await;
}

fn grievance_filed(id: uuid::Uuid, xiaoqu: uuid::Uuid, filer: uuid::Uuid) -> Value {
    json!({"GrievanceFiled": {
        "grievance_id": id, "xiaoqu": xiaoqu, "filer": filer, "category": "noise",
        "title": "噪音", "description": "", "location": {"building": "1栋", "unit": null, "common_area": null},
        "respondent": "neighbour", "urgency": "normal", "channel": "web", "attachments": [],
        "filed_at": "2026-03-01T09:00:00Z"
    }})
}

async fn visible_ids(store: &Store) -> BTreeSet<uuid::Uuid> {
    grievance_list::list(
        store,
        &Audience::Everything,
        &ListFilter::default(),
        None,
        10_000,
    )
    .await
    .expect("list")
    .items
    .into_iter()
    .map(|(s, _)| s.id.0)
    .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_that_commits_late_is_never_skipped() {
    let Some(t) = TestDb::new(lianxi_tests::Store::Postgres).await else {
        return;
    };
    let lianxi_gateway::db::Database::Postgres(pool) = &t.db else {
        unreachable!()
    };
    let insert = "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
                  VALUES ('grievance', $1, 1, 'GrievanceFiled', '1', $2, '{}')";
    let (xiaoqu, filer) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
    // The slow writer takes its transaction id (and a lower global position) first...
    let late = uuid::Uuid::new_v4();
    let mut slow = pool.begin().await.expect("begin");
    sqlx::query(insert)
        .bind(late.to_string())
        .bind(grievance_filed(late, xiaoqu, filer))
        .execute(&mut *slow)
        .await
        .expect("insert late event");
    // ...while others commit after it.
    let mut early = Vec::new();
    for _ in 0..3 {
        let id = uuid::Uuid::new_v4();
        sqlx::query(insert)
            .bind(id.to_string())
            .bind(grievance_filed(id, xiaoqu, filer))
            .execute(pool)
            .await
            .expect("insert event");
        early.push(id);
    }
    let store = t.db.store();
    let (_tx, rx) = tokio::sync::watch::channel(0u64);
    let runner = Runner::new(store.clone(), Arc::new(GrievanceList), quick_runners(), rx);
    runner.catch_up().await.expect("catch up").expect("leads");
    // The committed events wait behind the open transaction: none is taken
    // out of order, so none can be skipped.
    assert!(
        visible_ids(&store).await.is_empty(),
        "nothing is read past an open transaction"
    );
    slow.commit().await.expect("commit late");
    runner.catch_up().await.expect("catch up").expect("leads");
    let mut expected: BTreeSet<uuid::Uuid> = early.into_iter().collect();
    expected.insert(late);
    assert_eq!(
        visible_ids(&store).await,
        expected,
        "the late commit is applied"
    );
    let cp = checkpoint::load(&store, grievance_list::NAME)
        .await
        .expect("checkpoint");
    assert_eq!(cp.events_applied, 4);
}

async fn two_runners_share_a_projection_one_at_a_time_and_apply_nothing_twice(t: TestDb) {
    let cast = Cast::new(&t.db).await;
    // The API without runners of its own: the test runs two.
    let server = Server::start_with(&t.db, false).await;
    let api = Api::new(&server.base);
    let store = t.db.store();
    let (_wake, woken) = tokio::sync::watch::channel(0u64);
    let (stop_first, first_stop) = tokio::sync::watch::channel(false);
    let (stop_second, second_stop) = tokio::sync::watch::channel(false);
    let first = tokio::spawn(
        Runner::new(
            store.clone(),
            Arc::new(GrievanceList),
            quick_runners(),
            woken.clone(),
        )
        .run(first_stop),
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    let second = tokio::spawn(
        Runner::new(
            store.clone(),
            Arc::new(GrievanceList),
            quick_runners(),
            woken.clone(),
        )
        .run(second_stop),
    );
    let mut ids = Vec::new();
    for round in 0..3 {
        for _ in 0..5 {
            let id = api.file(&cast.a.resident).await;
            api.command(&id, "accept", &cast.a.branch, json!({})).await;
            ids.push(id);
        }
        if round == 1 {
            // Kill one runner abruptly (its lock connection dies with it).
            first.abort();
            let _ = stop_first.send(true);
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    server.stop().await;
    let total = ids.len() as i64 * 4; // filing and accepting each append the event and a deadline
    let caught_up = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let cp = checkpoint::load(&store, grievance_list::NAME)
                .await
                .expect("checkpoint");
            let lag = lianxi_projections::feed::lag(&store, cp.position)
                .await
                .expect("lag");
            if lag.events == 0 && cp.events_applied >= total {
                return cp;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("a surviving runner catches up");
    assert_eq!(
        caught_up.events_applied, total,
        "every event applied exactly once"
    );
    assert!(
        caught_up.epoch >= 2,
        "leadership changed hands at least once"
    );
    let listed = grievance_list::list(
        &store,
        &Audience::Everything,
        &ListFilter::default(),
        None,
        1000,
    )
    .await
    .expect("list");
    assert_eq!(listed.items.len(), ids.len());
    assert!(listed.items.iter().all(|(_, version)| *version == 4));
    let _ = stop_second.send(true);
    let _ = second.await;
}

async fn followers(db: &lianxi_gateway::db::Database) -> Vec<(String, String)> {
    let q = "SELECT CAST(grievance_id AS text) AS g, CAST(account_id AS text) AS a FROM grievance_followers ORDER BY 1, 2";
    match db {
        lianxi_gateway::db::Database::Postgres(pool) => {
            sqlx::query_as(q).fetch_all(pool).await.expect("followers")
        }
        lianxi_gateway::db::Database::Sqlite(pool) => {
            sqlx::query_as(q).fetch_all(pool).await.expect("followers")
        }
    }
}

async fn a_runner_killed_mid_batch_leaves_read_models_equal_to_a_rebuild(t: TestDb) {
    let cast = Cast::new(&t.db).await;
    // Write a history with no runner at all.
    let server = Server::start_with(&t.db, false).await;
    let api = Api::new(&server.base);
    for i in 0..120 {
        let id = api.file(&cast.a.resident).await;
        api.command(&id, "accept", &cast.a.branch, json!({})).await;
        if i % 2 == 0 {
            api.command(
                &id,
                "triage",
                &cast.a.branch,
                json!({"matter_class": "minor", "party": "property_company"}),
            )
            .await;
        }
    }
    server.stop().await;
    let store = t.db.store();
    let total = lianxi_projections::feed::lag(&store, Default::default())
        .await
        .expect("lag")
        .events;

    let dir = lianxi_tests::TempDir::new();
    let env = [
        ("LIANXI_DATABASE_URL", t.url.as_str()),
        ("LIANXI_PROJECTION_BATCH_SIZE", "7"),
        ("LIANXI_PROJECTION_LEASE_MS", "1000"),
    ];
    let process = lianxi_tests::Process::start(&dir.0, &env).await;
    let applied_at_kill = loop {
        let cp = checkpoint::load(&store, grievance_list::NAME)
            .await
            .expect("checkpoint");
        if cp.events_applied > 0 {
            break cp.events_applied;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    };
    process.kill().await;
    // Whatever was committed is whole: each applied event moved one row one version.
    let cp = checkpoint::load(&store, grievance_list::NAME)
        .await
        .expect("checkpoint");
    let versions: i64 = lianxi_tests::read_model_rows(&store)
        .await
        .iter()
        .map(|(_, v)| v)
        .sum();
    // The checkpoint counts every event it moved past, the registry's too
    // (the service records the cast's xiaoqu when it starts); the read model
    // holds only the grievance events among them.
    let grievance_events = lianxi_projections::feed::read_after(&store, Default::default(), 100_000)
        .await
        .expect("feed")
        .into_iter()
        .take_while(|e| e.position <= cp.position)
        .filter(|e| e.aggregate_type == "grievance")
        .count() as i64;
    assert_eq!(
        versions, grievance_events,
        "read model and checkpoint committed together"
    );
    eprintln!(
        "killed after {applied_at_kill}..{} of {total} events",
        cp.events_applied
    );

    let process = lianxi_tests::Process::start(&dir.0, &env).await;
    tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let cp = checkpoint::load(&store, grievance_list::NAME)
                .await
                .expect("checkpoint");
            if lianxi_projections::feed::lag(&store, cp.position)
                .await
                .expect("lag")
                .events
                == 0
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the restarted runner catches up");
    lianxi_tests::lianxi_cli(&dir.0, &env, &["projections", "status"]).await;
    process.kill().await;
    let resumed = lianxi_tests::read_model_rows(&store).await;
    let resumed_followers = followers(&t.db).await;
    let cp = checkpoint::load(&store, grievance_list::NAME)
        .await
        .expect("checkpoint");
    // The restarted service recorded the cast's xiaoqu in the registry.
    let total = lianxi_projections::feed::lag(&store, Default::default())
        .await
        .expect("lag")
        .events;
    assert_eq!(
        cp.events_applied, total,
        "no event applied twice across the crash"
    );

    lianxi_tests::lianxi_cli(&dir.0, &env, &["projections", "rebuild", "grievance_list"]).await;
    let rebuilt = lianxi_tests::read_model_rows(&store).await;
    assert_eq!(rebuilt.len(), 120);
    assert_eq!(
        resumed, rebuilt,
        "the resumed read model equals a fresh rebuild"
    );
    assert_eq!(resumed_followers, followers(&t.db).await);
}

async fn a_rebuild_swaps_in_while_the_service_keeps_answering(t: TestDb) {
    let cast = Cast::new(&t.db).await;
    let server = Server::start(&t.db).await;
    let api = Api::new(&server.base);
    let a = &cast.a;
    for _ in 0..30 {
        let id = api.file(&a.resident).await;
        api.command(&id, "accept", &a.branch, json!({})).await;
    }
    // Keep writing and reading while the rebuild runs.
    let busy = {
        let api = api.clone();
        let cast = cast.clone();
        tokio::spawn(async move {
            let mut ids = Vec::new();
            for _ in 0..40 {
                let id = api.file(&cast.a.resident).await;
                let page = api
                    .get("/api/v1/grievances?limit=5", &cast.a.branch.token)
                    .await;
                assert_eq!(
                    page.status,
                    StatusCode::OK,
                    "lists answer during the rebuild: {}",
                    page.body
                );
                ids.push(id);
            }
            ids
        })
    };
    let store = t.db.store();
    let grievances: Vec<Arc<dyn Projection>> = vec![Arc::new(GrievanceList)];
    let rebuild = || lianxi_projections::rebuild::rebuild(&store, &grievances, quick_runners());
    let rebuilt = rebuild().await.expect("rebuild").expect("no other rebuild");
    assert!(rebuilt >= 120, "rebuilt from {rebuilt} events");
    let late = busy.await.expect("writer");
    // Afterwards the live runner carries on from the swapped-in checkpoint.
    let last = api
        .command(&late[late.len() - 1], "accept", &a.branch, json!({}))
        .await;
    let position = last["position"].as_str().expect("position").to_owned();
    let ids = listed(&api, &a.branch, &position, "").await;
    assert_eq!(ids.len(), 70, "every grievance listed once after the swap");
    let cp = checkpoint::load(&store, grievance_list::NAME)
        .await
        .expect("checkpoint");
    let events = lianxi_projections::feed::lag(&store, Default::default())
        .await
        .expect("count")
        .events;
    assert_eq!(
        cp.events_applied, events,
        "the swapped-in checkpoint counts every event once"
    );
    for (state, version) in lianxi_tests::read_model_rows(&store).await {
        let stream =
            t.db.stream("grievance", &state.id.to_string())
                .await
                .expect("stream");
        assert_eq!(
            version as usize,
            stream.len(),
            "row {} is current",
            state.id
        );
    }
    // A second rebuild works too (the copy of a copy).
    rebuild()
        .await
        .expect("rebuild again")
        .expect("no other rebuild");
    assert_eq!(lianxi_tests::read_model_rows(&store).await.len(), 70);
    server.stop().await;
}
