//! The authorization matrix: every endpoint × every role × a grievance of
//! the caller's own xiaoqu and of another, checked against a table written
//! from DOMAIN.md's rules (not from the code). A grievance the caller may
//! not see answers 404 to reads and commands alike, and never shows up in a
//! list or a queue; a visible one the role may not change answers 403.

use std::collections::{BTreeMap, BTreeSet};

use lianxi_domain::Role;
use lianxi_gateway::db::Scope;
use lianxi_tests::{add_person, on_both_stores, Api, Cast, Person, Server, TestDb};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

on_both_stores!(every_endpoint_answers_every_role_as_the_rules_say);

/// Everyone of the matrix, by label.
async fn everyone(t: &TestDb, cast: &Cast) -> BTreeMap<&'static str, Person> {
    let a = Scope::Xiaoqu(cast.a.id);
    let mut people = BTreeMap::from([
        ("a.resident (filer)", cast.a.resident.clone()),
        ("a.neighbour", cast.a.neighbour.clone()),
        ("a.party_branch", cast.a.branch.clone()),
        ("a.property_company", cast.a.company.clone()),
        ("a.owners_committee", cast.a.committee.clone()),
        ("a.community", cast.a.community.clone()),
        ("b.resident", cast.b.resident.clone()),
        ("b.party_branch", cast.b.branch.clone()),
        ("b.property_company", cast.b.company.clone()),
        ("b.community", cast.b.community.clone()),
        ("auditor", cast.auditor.clone()),
        ("admin", cast.admin.clone()),
    ]);
    people.insert(
        "a.supervisory_committee",
        add_person(&t.db, Role::SupervisoryCommittee, a.clone()).await,
    );
    people.insert(
        "a.micro_organization",
        add_person(&t.db, Role::MicroOrganization, a).await,
    );
    people.insert(
        "street",
        add_person(&t.db, Role::Street, Scope::Unit("城厢街道".into())).await,
    );
    people.insert(
        "district",
        add_person(&t.db, Role::District, Scope::Unit("涪城区".into())).await,
    );
    people
}

/// Who may see a grievance of xiaoqu A filed by a.resident against the
/// property company, still at the xiaoqu tier: the filer, the xiaoqu's party
/// branch, the respondent, and auditors. Nobody of xiaoqu B, no tier above
/// (nothing was escalated), no other party, no admin.
const SEES_A: [&str; 4] = [
    "a.resident (filer)",
    "a.party_branch",
    "a.property_company",
    "auditor",
];

/// A command's path segment, and its body given a primary grievance's id.
type CommandCase = (&'static str, fn(&str) -> Value);

/// Commands only the handler (the party branch at the xiaoqu tier) may give.
const HANDLER_COMMANDS: [CommandCase; 8] = [
    ("accept", |_| json!({})),
    ("reject", |_| json!({"reason": "不属于受理范围"})),
    (
        "triage",
        |_| json!({"matter_class": "minor", "party": "property_company"}),
    ),
    ("assign", |_| json!({"party": "property_company"})),
    (
        "escalate",
        |_| json!({"reason": "manual", "note": "需要社区协调"}),
    ),
    ("pause", |_| json!({"reason": "等待业主大会"})),
    ("resume", |_| json!({})),
    ("merge", |primary| json!({"primary": primary})),
];

/// Commands only the filer may give.
const FILER_COMMANDS: [CommandCase; 4] = [
    (
        "identity-consent",
        |_| json!({"reveal_to_respondent": true}),
    ),
    ("withdraw", |_| json!({"reason": "已自行解决"})),
    ("rate", |_| json!({"rating": "satisfied"})),
    ("reopen", |_| json!({"reason": "问题再次出现"})),
];

fn denied(status: StatusCode) -> bool {
    matches!(
        status,
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN | StatusCode::NOT_FOUND
    )
}

async fn every_endpoint_answers_every_role_as_the_rules_say(t: TestDb) {
    let cast = Cast::new(&t.db).await;
    let people = everyone(&t, &cast).await;
    let server = Server::start(&t.db).await;
    let api = Api::new(&server.base);
    let mut wrong: Vec<String> = Vec::new();

    // Reads, on a grievance of A and one of B (mirror images: B's grievance
    // is seen by b's filer, branch and company, and the auditor).
    let own = api.file(&cast.a.resident).await;
    let other = api.file(&cast.b.resident).await;
    let sees = |label: &str, of_a: bool| {
        if of_a {
            SEES_A.contains(&label)
        } else {
            [
                "b.resident",
                "b.party_branch",
                "b.property_company",
                "auditor",
            ]
            .contains(&label)
        }
    };
    // Escalated to the community: now its community sees it too (and still
    // not the street or district, nor the other community).
    let escalated = api.file(&cast.a.resident).await;
    api.command(&escalated, "accept", &cast.a.branch, json!({}))
        .await;
    api.command(
        &escalated,
        "escalate",
        &cast.a.branch,
        json!({"reason": "manual", "note": "需要社区协调"}),
    )
    .await;
    let mut sees_escalated: Vec<&str> = SEES_A.to_vec();
    sees_escalated.push("a.community");
    for (label, person) in &people {
        let targets = [
            (&own, sees(label, true)),
            (&other, sees(label, false)),
            (&escalated, sees_escalated.contains(label)),
        ];
        for (id, visible) in targets {
            for suffix in ["", "/events", "/story", "/dossier"] {
                let path = format!("/api/v1/grievances/{id}{suffix}");
                let status = api.get(&path, &person.token).await.status;
                let ok = if visible {
                    status == StatusCode::OK
                } else {
                    status == StatusCode::NOT_FOUND
                };
                if !ok {
                    wrong.push(format!("{label} GET {path}: {status}, visible={visible}"));
                }
            }
            // Lists and queues: exactly what the caller could open.
            let listed = api.get("/api/v1/grievances", &person.token).await;
            let ids: BTreeSet<String> = listed.body["items"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|g| g["id"].as_str().map(str::to_owned))
                .collect();
            if ids.contains(id.as_str()) != visible {
                wrong.push(format!(
                    "{label} list {}: contains={}, visible={visible}",
                    listed.status,
                    ids.contains(id.as_str())
                ));
            }
            let queue = api.get("/api/v1/escalation-queue", &person.token).await;
            let queued = queue.body.to_string().contains(id.as_str());
            if queued && !visible {
                wrong.push(format!("{label} sees {id} in the escalation queue"));
            }
        }
        // The caller's own account, always; audit, for auditors and admins.
        let me = api.get("/api/v1/auth/me", &person.token).await.status;
        if me != StatusCode::OK {
            wrong.push(format!("{label} GET /auth/me: {me}"));
        }
        let audits = matches!(*label, "auditor" | "admin");
        for (method, path) in [
            (Method::POST, "/api/v1/audit/verify"),
            (Method::GET, "/api/v1/audit/checkpoints"),
            (Method::GET, "/api/v1/audit/consistency?from=1&to=1"),
        ] {
            let answer = Api::send(
                api.request(method.clone(), path, Some(&person.token))
                    .json(&json!({})),
            )
            .await;
            if denied(answer.status) == audits {
                wrong.push(format!("{label} {method} {path}: {}", answer.status));
            }
        }
        // Registering xiaoqu and accounts, revoking tokens: only an admin.
        let is_admin = *label == "admin";
        let registered = api
            .post(
                "/api/v1/admin/xiaoqu",
                &person.token,
                json!({"name": format!("小区-{}", uuid::Uuid::new_v4()), "community": "东苑社区",
                       "street": "城厢街道", "district": "涪城区"}),
            )
            .await
            .status;
        let created = api
            .post(
                "/api/v1/admin/accounts",
                &person.token,
                json!({"role": "auditor", "personal_data": {"name": "审计员"}}),
            )
            .await
            .status;
        let mut statuses = vec![registered, created];
        for (path, body) in [
            ("revocation", json!({})),
            ("roles", json!({"role": "auditor"})),
            ("roles/revocation", json!({"role": "auditor"})),
        ] {
            let unknown = uuid::Uuid::new_v4();
            let answer = api
                .post(
                    &format!("/api/v1/admin/accounts/{unknown}/{path}"),
                    &person.token,
                    body,
                )
                .await;
            statuses.push(answer.status);
        }
        let expected = if is_admin {
            vec![
                StatusCode::CREATED,
                StatusCode::CREATED,
                StatusCode::NOT_FOUND,
                StatusCode::NOT_FOUND,
                StatusCode::NOT_FOUND,
            ]
        } else {
            vec![StatusCode::FORBIDDEN; 5]
        };
        if statuses != expected {
            wrong.push(format!("{label} admin endpoints: {statuses:?}"));
        }
        // Erasure: only an admin (who then learns the id is unknown).
        let erase = api
            .post(
                &format!("/api/v1/admin/people/{}/erasure", uuid::Uuid::new_v4()),
                &person.token,
                json!({}),
            )
            .await
            .status;
        let expected = if *label == "admin" {
            StatusCode::NOT_FOUND
        } else {
            StatusCode::FORBIDDEN
        };
        if erase != expected {
            wrong.push(format!("{label} erasure: {erase}"));
        }
    }

    // Filing: residents (and the supervisory committee, on owners' behalf)
    // of a xiaoqu; nobody without one.
    let filers = [
        "a.resident (filer)",
        "a.neighbour",
        "b.resident",
        "a.supervisory_committee",
    ];
    for (label, person) in &people {
        let status = api
            .post(
                "/api/v1/grievances",
                &person.token,
                lianxi_tests::sample_grievance(),
            )
            .await
            .status;
        if (status == StatusCode::CREATED) != filers.contains(label) {
            wrong.push(format!("{label} files: {status}"));
        }
    }

    // Commands. Each is tried by every role on a fresh grievance of A (so
    // no earlier command changed it) and on B's grievance. A role is
    // refused before the grievance's state is considered.
    let commands = HANDLER_COMMANDS
        .iter()
        .map(|(c, body)| (*c, *body, "a.party_branch"))
        .chain(
            FILER_COMMANDS
                .iter()
                .map(|(c, body)| (*c, *body, "a.resident (filer)")),
        );
    let primary_a = api.file(&cast.a.neighbour).await;
    let primary_b = api.file(&cast.b.neighbour).await;
    // The same rule in xiaoqu B names B's people.
    fn mirror(label: &'static str) -> &'static str {
        match label {
            "a.resident (filer)" => "b.resident",
            "a.party_branch" => "b.party_branch",
            other => other,
        }
    }
    for (command, body, only) in commands {
        for (label, person) in &people {
            let fresh_a = api.file(&cast.a.resident).await;
            let fresh_b = api.file(&cast.b.resident).await;
            for (id, of_a) in [(&fresh_a, true), (&fresh_b, false)] {
                let primary = if of_a { &primary_a } else { &primary_b };
                let answer = api
                    .post(
                        &format!("/api/v1/grievances/{id}/{command}"),
                        &person.token,
                        body(primary),
                    )
                    .await;
                let visible = sees(label, of_a);
                let expected_ok = *label == if of_a { only } else { mirror(only) };
                let ok = if !visible {
                    answer.status == StatusCode::NOT_FOUND
                } else if expected_ok {
                    !denied(answer.status)
                        && answer.status != StatusCode::UNPROCESSABLE_ENTITY
                        && answer.status != StatusCode::BAD_REQUEST
                } else {
                    answer.status == StatusCode::FORBIDDEN
                };
                if !ok {
                    wrong.push(format!(
                        "{label} {command} on {} grievance: {} {}",
                        if of_a { "A's" } else { "B's" },
                        answer.status,
                        answer.body["detail"]
                    ));
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} answers differ from the rules:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    server.stop().await;
}
