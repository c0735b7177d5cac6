//! P7: one hot stream. Many clients merge duplicates into one grievance at
//! once, so that every command appends to the same stream (the primary's
//! `DuplicateLinked`): through one instance, where commands on one stream
//! take turns inside the process, and through two, where they race each
//! other in PostgreSQL and the retry path carries the load. Reports the
//! share of commands that succeeded, the conflicts answered (409/412), the
//! retries inside the service (`lianxi_command_conflicts_total`), and
//! whether every grievance row of the read model equals its stream.

use std::time::{Duration, Instant};

use lianxi_projections::{checkpoint, feed};
use lianxi_tests::{Store, TempDir, TestDb};
use serde_json::{json, Value};

use crate::load::{self, ServerProcess};
use crate::suite::{drop_database, num, Line};

/// What one P7 run saw.
struct Hot {
    instances: usize,
    clients: usize,
    sent: u64,
    ok: u64,
    errors: u64,
    conflicts: u64,
    retries: u64,
    seconds: f64,
    /// Grievance rows whose version differs from their stream's last event.
    rows_behind: i64,
    /// Followers of the primary beyond its filer, against the merges that succeeded.
    linked: i64,
}

/// P7 through one instance, then through two.
pub async fn p7(args: &[String], out: &mut Vec<Line>) {
    let clients: usize = num(args, "--hot-clients", "32");
    let per_client: usize = num(args, "--hot-merges", "8");
    for instances in [1, 2] {
        let Some(h) = hot(clients, per_client, instances).await else {
            eprintln!("no PostgreSQL");
            return;
        };
        let success = 100.0 * h.ok as f64 / h.sent.max(1) as f64;
        let equal = h.rows_behind == 0 && h.linked == h.ok as i64;
        eprintln!(
            "P7 {} merges into one grievance, {} clients, {} instance(s): {} ok in {:.2} s, {} errors, {} conflicts answered, {} retries inside; rows behind their streams {}, duplicates linked {}",
            h.sent, h.clients, h.instances, h.ok, h.seconds, h.errors, h.conflicts, h.retries, h.rows_behind, h.linked
        );
        out.push(Line {
            id: "P7",
            what: format!(
                "{} merges into one grievance from {} clients through {} instance(s) in {:.1} s: {} retries inside the service; read models {}",
                h.sent,
                h.clients,
                h.instances,
                h.seconds,
                h.retries,
                if equal {
                    "equal their streams".to_owned()
                } else {
                    format!(
                        "**differ** ({} rows behind, {} of {} duplicates linked)",
                        h.rows_behind, h.linked, h.ok
                    )
                }
            ),
            value: format!("{success:.1} % succeeded"),
            goal: "≥ 99 %, read models equal".into(),
            ratio: if equal { success / 99.0 } else { 0.0 },
            errors: h.errors,
            conflicts: h.conflicts,
        });
    }
}

async fn hot(clients: usize, per_client: usize, instances: usize) -> Option<Hot> {
    let merges = clients * per_client;
    let t = TestDb::new(Store::Postgres).await?;
    let people = load::population(&t.db, 1, merges + 1).await;
    let x = &people[0];
    let dir = TempDir::new();
    let mut servers = Vec::with_capacity(instances);
    for _ in 0..instances {
        servers.push(ServerProcess::start(&dir.0, Some(&t.url)).await);
    }
    let http = lianxi_tests::http_client()
        .timeout(Duration::from_secs(60))
        .pool_max_idle_per_host(256)
        .build()
        .expect("HTTP client");
    for s in &servers {
        s.ready(&http).await;
    }
    // The primary and its duplicates, each filed by another resident.
    let mut filed = Vec::with_capacity(merges + 1);
    for (i, resident) in x.residents.iter().enumerate() {
        let base = &servers[i % instances].base;
        let answer = http
            .post(format!("{base}/api/v1/grievances"))
            .bearer_auth(&resident.token)
            .json(&json!({
                "category": "repairs",
                "title": "5栋地下室水管爆裂",
                "description": "地下室水管爆裂,积水已漫到电梯井,请尽快关阀抢修。",
                "location": {"building": "5栋"},
                "respondent": "property_company",
                "urgency": "urgent",
                "channel": "wechat",
            }))
            .send()
            .await
            .expect("file");
        assert!(answer.status().is_success(), "filing: {}", answer.status());
        let body: Value = answer.json().await.expect("JSON");
        filed.push(body["id"].as_str().expect("id").to_owned());
    }
    let primary = filed[0].clone();
    let duplicates = filed[1..].to_vec();
    let bases: Vec<String> = servers.iter().map(|s| s.base.clone()).collect();
    let retried_before = retries(&http, &bases).await;
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(clients);
    for c in 0..clients {
        let http = http.clone();
        let base = bases[c % instances].clone();
        let token = x.branch.token.clone();
        let primary = primary.clone();
        let mine = duplicates[c * per_client..(c + 1) * per_client].to_vec();
        tasks.push(tokio::spawn(async move {
            let (mut ok, mut errors, mut conflicts) = (0u64, 0u64, 0u64);
            for duplicate in mine {
                let answer = http
                    .post(format!("{base}/api/v1/grievances/{duplicate}/merge"))
                    .bearer_auth(&token)
                    .json(&json!({"primary": primary}))
                    .send()
                    .await;
                match answer.map(|a| a.status().as_u16()) {
                    Ok(s) if (200..300).contains(&s) => ok += 1,
                    Ok(409 | 412) => conflicts += 1,
                    _ => errors += 1,
                }
            }
            (ok, errors, conflicts)
        }));
    }
    let (mut ok, mut errors, mut conflicts) = (0, 0, 0);
    for task in tasks {
        let (o, e, c) = task.await.expect("client");
        ok += o;
        errors += e;
        conflicts += c;
    }
    let seconds = started.elapsed().as_secs_f64();
    let retried = retries(&http, &bases).await.saturating_sub(retried_before);
    caught_up(&t).await;
    let (rows_behind, linked) = compare(&t, &primary).await;
    for s in servers {
        s.stop().await;
    }
    drop_database(t).await;
    Some(Hot {
        instances,
        clients,
        sent: merges as u64,
        ok,
        errors,
        conflicts,
        retries: retried,
        seconds,
        rows_behind,
        linked,
    })
}

/// Version conflicts the instances met and retried, from their `/metrics`.
async fn retries(http: &reqwest::Client, bases: &[String]) -> u64 {
    let mut total = 0.0;
    for base in bases {
        let text = http
            .get(format!("{base}/metrics"))
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .unwrap_or_default();
        total += text
            .lines()
            .filter(|l| l.starts_with("lianxi_command_conflicts_total"))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum::<f64>();
    }
    total as u64
}

/// Waits (at most a minute) until every read model has applied the whole feed.
async fn caught_up(t: &TestDb) {
    let store = t.db.store();
    let give_up = Instant::now() + Duration::from_secs(60);
    while Instant::now() < give_up {
        let mut behind = 0;
        for name in ["grievance_list", "meetings_and_cases"] {
            let at = checkpoint::load(&store, name).await.expect("checkpoint");
            behind += feed::lag(&store, at.position).await.expect("lag").events;
        }
        if behind == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Grievance rows whose version is not their stream's last event, and the
/// primary's followers beyond its filer.
async fn compare(t: &TestDb, primary: &str) -> (i64, i64) {
    let lianxi_gateway::db::Database::Postgres(pool) = &t.db else {
        panic!("PostgreSQL");
    };
    let behind: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM (SELECT aggregate_id, max(sequence) AS head FROM events
                                WHERE aggregate_type = 'grievance' GROUP BY aggregate_id) e
           LEFT JOIN grievance_list g ON g.id::text = e.aggregate_id
          WHERE g.version IS DISTINCT FROM e.head",
    )
    .fetch_one(pool)
    .await
    .expect("compare");
    let followers: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM grievance_followers WHERE grievance_id = $1::uuid",
    )
    .bind(primary)
    .fetch_one(pool)
    .await
    .expect("followers");
    (behind, followers - 1)
}
