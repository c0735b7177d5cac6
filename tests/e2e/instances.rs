//! Several `lianxi serve` processes on one PostgreSQL database, one killed
//! mid-load: nothing acknowledged is lost, read models converge to a fresh
//! rebuild, and no deadline escalates twice.

use std::sync::Arc;
use std::time::Duration;

use lianxi_projections::grievance_list::{self, GrievanceList};
use lianxi_projections::{checkpoint, feed, Projection};
use lianxi_tests::{quick_runners, Api, Cast, Process, TempDir, TestDb};
use reqwest::Method;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_one_killed_lose_nothing_and_escalate_each_deadline_once() {
    let Some(t) = TestDb::new(lianxi_tests::Store::Postgres).await else {
        return;
    };
    let cast = Cast::new(&t.db).await;
    let dir = TempDir::new();
    // Deadlines of two seconds, so that schedulers on every instance race.
    let config = dir.0.join("lianxi.toml");
    std::fs::write(
        &config,
        "[deadlines.default]\naccept = { normal = \"2s\", urgent = \"2s\" }\nrespond = { normal = \"2s\", urgent = \"2s\" }\n",
    )
    .expect("config");
    let config = config.display().to_string();
    let env = [
        ("LIANXI_DATABASE_URL", t.url.as_str()),
        ("LIANXI_CONFIG", config.as_str()),
        ("LIANXI_SCHEDULER_INTERVAL_MS", "100"),
        ("LIANXI_PROJECTION_BATCH_SIZE", "50"),
    ];
    let mut instances = Vec::new();
    for _ in 0..3 {
        instances.push(Process::start(&dir.0, &env).await);
    }
    let bases: Vec<String> = instances.iter().map(|p| p.base.clone()).collect();

    // Spread filings and acceptances across the instances; kill one midway.
    let mut acknowledged: Vec<(String, String)> = Vec::new();
    let mut filed: Vec<String> = Vec::new();
    let mut victim = Some(instances.remove(1));
    for i in 0..90 {
        if i == 45 {
            if let Some(p) = victim.take() {
                p.kill().await;
            }
        }
        let api = Api::new(&bases[i % 3]);
        let request_id = format!("multi-{i}");
        let request = if i % 3 == 2 && !filed.is_empty() {
            let id = filed[filed.len() - 1].clone();
            api.request(
                Method::POST,
                &format!("/api/v1/grievances/{id}/accept"),
                Some(&cast.a.branch.token),
            )
            .json(&json!({}))
        } else {
            api.request(
                Method::POST,
                "/api/v1/grievances",
                Some(&cast.a.resident.token),
            )
            .json(&lianxi_tests::sample_grievance())
        };
        let Some(answer) = Api::try_send(request.header("x-request-id", &request_id)).await else {
            continue; // the killed instance: not acknowledged
        };
        assert!(
            answer.status.as_u16() < 500,
            "{request_id}: {}",
            answer.body
        );
        if answer.status.is_success() {
            if let Some(id) = answer.body["id"].as_str() {
                if answer.status.as_u16() == 201 {
                    filed.push(id.to_owned());
                }
                acknowledged.push((id.to_owned(), request_id));
            }
        }
    }
    assert!(
        acknowledged.len() > 50,
        "most requests reached a live instance"
    );

    // The schedulers climb every grievance, answered by nobody, to the district.
    tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            let mut at_top = 0;
            for id in &filed {
                let stream = t.db.stream("grievance", id).await.expect("stream");
                let escalations = stream
                    .iter()
                    .filter(|e| e.event_type == "GrievanceEscalated")
                    .count();
                at_top += usize::from(escalations == 3);
            }
            if at_top == filed.len() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await
    .expect("every grievance reaches the district");
    let store = t.db.store();
    tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let cp = checkpoint::load(&store, grievance_list::NAME)
                .await
                .expect("checkpoint");
            if feed::lag(&store, cp.position).await.expect("lag").events == 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the surviving instances' runners catch up");
    for p in instances {
        p.kill().await;
    }

    // Every acknowledged command is in the log, exactly once.
    for (id, request_id) in &acknowledged {
        let stream = t.db.stream("grievance", id).await.expect("stream");
        let own: Vec<&str> = stream
            .iter()
            .filter(|e| e.metadata["request_id"] == request_id.as_str())
            .map(|e| e.event_type.as_str())
            .filter(|t| *t != "DeadlineSet")
            .collect();
        assert_eq!(own.len(), 1, "{request_id} on {id}: {own:?}");
        // No deadline escalates twice: each escalation follows a deadline
        // set after the previous escalation, and tiers only climb.
        let mut since_deadline = false;
        let mut tiers = Vec::new();
        for e in &stream {
            match e.event_type.as_str() {
                "DeadlineSet" => since_deadline = true,
                "GrievanceEscalated" => {
                    assert!(since_deadline, "{id} escalated twice on one deadline");
                    since_deadline = false;
                    tiers.push(
                        e.payload["GrievanceEscalated"]["to"]
                            .as_str()
                            .unwrap_or("?")
                            .to_owned(),
                    );
                }
                _ => {}
            }
        }
        assert!(tiers.len() <= 3, "{id}: {tiers:?}");
    }
    let escalations: usize = {
        let mut n = 0;
        for id in &filed {
            n +=
                t.db.stream("grievance", id)
                    .await
                    .expect("stream")
                    .iter()
                    .filter(|e| e.event_type == "GrievanceEscalated")
                    .count();
        }
        n
    };
    assert!(
        escalations > 0,
        "the short deadlines were missed and escalated"
    );

    // The read model the instances kept equals a fresh rebuild.
    let kept = lianxi_tests::read_model_rows(&store).await;
    let grievances: Arc<dyn Projection> = Arc::new(GrievanceList);
    lianxi_projections::rebuild::rebuild(&store, &[grievances], quick_runners())
        .await
        .expect("rebuild")
        .expect("no other rebuild");
    assert_eq!(
        kept,
        lianxi_tests::read_model_rows(&store).await,
        "converged read model equals a rebuild"
    );
}

mod defaults {
    //! Two instances, each remembering what its own commands left: a command
    //! whose input has a default gets it from the stream just loaded, never
    //! from what the instance remembered.

    use lianxi_tests::{on_both_stores, Api, Cast, Server, TestDb};
    use reqwest::StatusCode;
    use serde_json::json;

    on_both_stores!(a_default_comes_from_the_stream_whichever_instance_ran_the_last_command,);

    async fn a_default_comes_from_the_stream_whichever_instance_ran_the_last_command(t: TestDb) {
        let cast = Cast::new(&t.db).await;
        let (one, two) = (Server::start(&t.db).await, Server::start(&t.db).await);
        let (a, b) = (Api::new(&one.base), Api::new(&two.base));
        let x = &cast.a;

        // Assign without a party: the party named at triage, on the other instance.
        let id = a.file(&x.resident).await;
        a.command(&id, "accept", &x.branch, json!({})).await;
        b.command(
            &id,
            "triage",
            &x.branch,
            json!({"matter_class": "minor", "party": "property_company"}),
        )
        .await;
        a.command(&id, "assign", &x.branch, json!({})).await;
        let got = a
            .get(&format!("/api/v1/grievances/{id}"), &x.branch.token)
            .await;
        assert_eq!(
            got.body["assigned_party"], "property_company",
            "{}",
            got.body
        );
        let responded = a
            .post(
                &format!("/api/v1/grievances/{id}/respond"),
                &x.company.token,
                json!({"response": "已安排维修"}),
            )
            .await;
        assert_eq!(responded.status, StatusCode::OK, "{}", responded.body);

        // Triage without a tier: the tier the grievance reached on the other instance.
        let id = a.file(&x.resident).await;
        a.command(&id, "accept", &x.branch, json!({})).await;
        b.command(&id, "escalate", &x.branch, json!({"reason": "manual"}))
            .await;
        let triaged = a
            .command(
                &id,
                "triage",
                &x.community,
                json!({"matter_class": "minor", "party": "property_company"}),
            )
            .await;
        assert_eq!(triaged["tier"], "community", "{triaged}");

        one.stop().await;
        two.stop().await;
    }
}
