//! The 三率 figures of a generated history against an independent
//! computation over the raw events.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use lianxi_domain::{FixedClock, GrievancePolicy, GrievanceServices};
use lianxi_gateway::server::{state_with, Service};
use lianxi_tests::{on_both_stores, quick_background, Api, Cast, Server, TestDb};
use serde_json::{json, Value};

on_both_stores!(the_public_figures_match_an_independent_count_of_the_events);

/// A small deterministic generator, so that a failure replays.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

fn time(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().expect("time"))
        .expect("rfc3339")
        .with_timezone(&Utc)
}

#[derive(Default, Debug)]
struct Expected {
    filed: u64,
    on_time: u64,
    response_of: u64,
    resolved: u64,
    resolvable: u64,
    rated: u64,
    satisfied: u64,
    escalated: u64,
    reopened: u64,
    to_accept: Vec<i64>,
    to_respond: Vec<i64>,
    to_resolve: Vec<i64>,
}

fn median(mut v: Vec<i64>) -> Value {
    if v.is_empty() {
        return Value::Null;
    }
    v.sort_unstable();
    let m = v.len() / 2;
    json!(if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2
    })
}

/// Reads the stored events only; knows nothing of the aggregate.
fn count(
    streams: &BTreeMap<String, Vec<lianxi_gateway::db::StoredEvent>>,
    now: DateTime<Utc>,
) -> Expected {
    let mut e = Expected::default();
    for events in streams.values() {
        let (mut filed_at, mut accept_due, mut accepted_or_rejected) = (None, None, None);
        let (mut first_response, mut first_resolution) = (None, None);
        let (mut rating, mut reopenings, mut escalations) = (None::<String>, 0, 0);
        let mut last_status = "filed";
        for ev in events {
            let p = &ev.payload[&ev.event_type];
            match ev.event_type.as_str() {
                "GrievanceFiled" => filed_at = Some(time(&p["filed_at"])),
                "DeadlineSet" if p["stage"] == "accept" => accept_due = Some(time(&p["due_at"])),
                "GrievanceAccepted" => {
                    accepted_or_rejected = Some(time(&p["at"]));
                    e.to_accept
                        .push((time(&p["at"]) - filed_at.expect("filed")).num_seconds());
                    last_status = "accepted";
                }
                "GrievanceRejected" => {
                    accepted_or_rejected = Some(time(&p["at"]));
                    last_status = "rejected";
                }
                "GrievanceResponded" => {
                    first_response.get_or_insert(time(&p["at"]));
                }
                "GrievanceResolved" => {
                    first_resolution.get_or_insert(time(&p["at"]));
                }
                "OutcomeRated" => rating = p["rating"].as_str().map(str::to_owned),
                "GrievanceReopened" => {
                    reopenings += 1;
                    rating = None;
                }
                "GrievanceEscalated" => escalations += 1,
                "GrievanceWithdrawn" => last_status = "withdrawn",
                "GrievanceMerged" => last_status = "merged",
                _ => {}
            }
        }
        let filed_at = filed_at.expect("every stream starts with GrievanceFiled");
        e.filed += 1;
        match (accepted_or_rejected, accept_due) {
            (Some(at), Some(due)) => {
                e.response_of += 1;
                if at <= due {
                    e.on_time += 1;
                }
            }
            (None, Some(due)) if last_status == "filed" && due < now => e.response_of += 1,
            _ => {}
        }
        if !matches!(last_status, "rejected" | "withdrawn" | "merged") {
            e.resolvable += 1;
        }
        if let Some(at) = first_resolution {
            e.resolved += 1;
            e.to_resolve.push((at - filed_at).num_seconds());
            if reopenings > 0 {
                e.reopened += 1;
            }
        }
        if let Some(at) = first_response {
            e.to_respond.push((at - filed_at).num_seconds());
        }
        if let Some(r) = rating {
            e.rated += 1;
            if r == "satisfied" || r == "mostly_satisfied" {
                e.satisfied += 1;
            }
        }
        if escalations > 0 {
            e.escalated += 1;
        }
    }
    e
}

/// Asserts a rate's counts exactly and its ratio to within float parsing.
fn assert_rate(actual: &Value, count: u64, of: u64, name: &str) {
    assert_eq!(actual["count"], count, "{name}: {actual}");
    assert_eq!(actual["of"], of, "{name}: {actual}");
    if of == 0 {
        assert!(actual["rate"].is_null(), "{name}: {actual}");
    } else {
        let rate = actual["rate"].as_f64().expect("rate");
        assert!(
            (rate - count as f64 / of as f64).abs() < 1e-12,
            "{name}: {actual}"
        );
    }
}

async fn the_public_figures_match_an_independent_count_of_the_events(t: TestDb) {
    let cast = Cast::new(&t.db).await;
    let start = Utc::now() - TimeDelta::days(60);
    let clock = FixedClock::at(start);
    let services = GrievanceServices::new(Arc::new(clock.clone()), GrievancePolicy::default());
    // Deadlines pass on this clock; the scheduler stays out of the way so
    // that the history is exactly the one generated here.
    let background = lianxi_gateway::server::Background {
        scheduler_interval: std::time::Duration::from_secs(3600),
        ..quick_background()
    };
    let server = Server::serve(Service::start_with(
        state_with(t.db.clone(), services),
        background,
    ))
    .await;
    let api = Api::new(&server.base);
    let a = &cast.a;
    let mut rng = Lcg(0x5eed);
    let mut ids = Vec::new();
    let mut position = String::new();
    let mut note = |answer: &Value| {
        if let Some(p) = answer["position"].as_str() {
            position = p.to_owned();
        }
    };
    for i in 0..40 {
        clock.advance(TimeDelta::minutes(rng.next(600) as i64));
        let mut body = lianxi_tests::sample_grievance();
        body["urgency"] = json!(if rng.next(3) == 0 { "urgent" } else { "normal" });
        let filer = if i % 2 == 0 {
            &a.resident
        } else {
            &a.neighbour
        };
        let filed = api.post("/api/v1/grievances", &filer.token, body).await;
        let id = filed.body["id"].as_str().expect("id").to_owned();
        note(&filed.body);
        ids.push(id.clone());
        // Some wait past the accept deadline (2 h urgent, 24 h normal).
        clock.advance(TimeDelta::hours(rng.next(30) as i64));
        match rng.next(10) {
            0 => {
                note(&api.command(&id, "withdraw", filer, json!({})).await);
                continue;
            }
            1 => {
                note(
                    &api.command(
                        &id,
                        "reject",
                        &a.branch,
                        json!({"reason": "不属于受理范围"}),
                    )
                    .await,
                );
                continue;
            }
            2 => continue,
            _ => note(&api.command(&id, "accept", &a.branch, json!({})).await),
        }
        if rng.next(4) == 0 {
            note(
                &api.command(&id, "escalate", &a.branch, json!({"reason": "manual"}))
                    .await,
            );
            continue;
        }
        note(
            &api.command(
                &id,
                "triage",
                &a.branch,
                json!({"matter_class": "minor", "party": "property_company"}),
            )
            .await,
        );
        note(&api.command(&id, "assign", &a.branch, json!({})).await);
        if rng.next(5) == 0 {
            continue;
        }
        clock.advance(TimeDelta::hours(rng.next(72) as i64));
        note(
            &api.command(&id, "respond", &a.company, json!({"response": "已处理"}))
                .await,
        );
        clock.advance(TimeDelta::hours(rng.next(200) as i64));
        note(
            &api.command(&id, "resolve", &a.branch, json!({"summary": "已解决"}))
                .await,
        );
        let ratings = ["satisfied", "mostly_satisfied", "unsatisfied"];
        let r = ratings[rng.next(3) as usize];
        if rng.next(4) != 0 {
            note(&api.command(&id, "rate", filer, json!({"rating": r})).await);
        }
        if r == "unsatisfied" && rng.next(2) == 0 {
            note(
                &api.command(&id, "reopen", filer, json!({"reason": "没修好"}))
                    .await,
            );
            clock.advance(TimeDelta::hours(5));
            note(
                &api.command(&id, "respond", &a.company, json!({"response": "再次处理"}))
                    .await,
            );
        }
    }
    // Another xiaoqu's grievances are outside the scope.
    api.file(&cast.b.resident).await;

    let mut streams = BTreeMap::new();
    for id in &ids {
        streams.insert(
            id.clone(),
            t.db.stream("grievance", id).await.expect("stream"),
        );
    }
    let now = lianxi_domain::Clock::now(&clock);
    let e = count(&streams, now);
    let answer = Api::send(api.request(
        reqwest::Method::GET,
        &format!("/api/v1/figures?xiaoqu={}&min_position={position}", a.id),
        None,
    ))
    .await;
    assert_eq!(answer.status.as_u16(), 200, "{}", answer.body);
    let f = &answer.body;
    assert_eq!(f["caught_up"], true);
    assert_eq!(f["filed"], e.filed);
    assert_rate(
        &f["response_rate"],
        e.on_time,
        e.response_of,
        "response_rate",
    );
    assert_rate(
        &f["resolution_rate"],
        e.resolved,
        e.resolvable,
        "resolution_rate",
    );
    assert_rate(
        &f["satisfaction_rate"],
        e.satisfied,
        e.rated,
        "satisfaction_rate",
    );
    assert_rate(
        &f["escalation_rate"],
        e.escalated,
        e.filed,
        "escalation_rate",
    );
    assert_rate(&f["reopen_rate"], e.reopened, e.resolved, "reopen_rate");
    assert_eq!(f["median_seconds_to_accept"], median(e.to_accept.clone()));
    assert_eq!(f["median_seconds_to_respond"], median(e.to_respond.clone()));
    assert_eq!(f["median_seconds_to_resolve"], median(e.to_resolve.clone()));
    // The history is varied enough to mean something.
    assert!(e.on_time > 0 && e.on_time < e.response_of, "{e:?}");
    assert!(e.satisfied > 0 && e.satisfied < e.rated, "{e:?}");
    assert!(e.reopened > 0 && e.escalated > 0, "{e:?}");
    // No personal data: no account id appears anywhere in the answer.
    let text = answer.body.to_string();
    for person in [&a.resident, &a.neighbour, &a.branch, &a.company] {
        assert!(!text.contains(&person.id.to_string()));
    }
    server.stop().await;
}
