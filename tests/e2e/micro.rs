//! Micro-governance through the API: a xiaoqu's micro-fund takes donations
//! and a grant, a micro-organization's project goes from proposal to
//! closing (supported, shortlisted, reviewed, publicly noticed, started,
//! reported on with receipts, evaluated, rated, closed), the fund pays for
//! it only while it is approved and under way and never more than it
//! holds, its balance equals donations minus spending at every step, and
//! the audit verification covers the fund's stream and finds a rewrite.

use std::sync::Arc;

use chrono::{TimeDelta, Utc};
use lianxi_domain::{FixedClock, GrievancePolicy, GrievanceServices, Role};
use lianxi_gateway::audit::verify::verify;
use lianxi_gateway::db::Scope;
use lianxi_gateway::server::{state_with, Service};
use lianxi_tests::dba::Dba;
use lianxi_tests::{add_person, ok, on_both_stores, quick_background, Api, Cast, Server, TestDb};
use serde_json::{json, Value};

on_both_stores!(
    a_micro_project_goes_from_proposal_to_closing_paid_by_its_fund,
    the_project_lifecycle_runs_on_the_pages,
);

/// Uploads one file as `token`; its digest, type and size.
async fn upload(api: &Api, token: &str, name: &str, bytes: &[u8]) -> Value {
    let (content_type, body) =
        lianxi_tests::multipart_body(&[], &[("file", name, "application/octet-stream", bytes)]);
    let response = api
        .request(reqwest::Method::POST, "/api/v1/files", Some(token))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .expect("upload");
    assert_eq!(response.status().as_u16(), 201, "upload");
    let body: Value = response.json().await.expect("JSON");
    body["files"][0].clone()
}

/// The fund as read, checked: its balance is what its entries received
/// minus what they spent, the balance after each entry runs on from the
/// one before, and the listed row says the same. Returns the balance.
async fn balance(api: &Api, token: &str, fund: &str, came_in: u64, went_out: u64) -> u64 {
    let f = ok(
        &api.get(&format!("/api/v1/micro-funds/{fund}"), token).await,
        "fund",
    );
    let mut running = 0i64;
    for e in f["entries"].as_array().expect("entries") {
        let amount = e["amount_fen"].as_i64().expect("amount");
        running += if e["entry"] == "received" {
            amount
        } else {
            -amount
        };
        assert_eq!(e["balance_fen"], json!(running), "{e}");
    }
    let balance = f["balance_fen"].as_u64().expect("balance");
    assert_eq!(
        balance,
        came_in - went_out,
        "balance = donations − spending"
    );
    assert_eq!(running as u64, balance);
    assert_eq!(f["received_fen"], json!(came_in));
    assert_eq!(f["spent_fen"], json!(went_out));
    let listed = ok(&api.get("/api/v1/micro-funds", token).await, "funds");
    let row = listed["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|r| r["id"] == json!(fund))
        .expect("listed")
        .clone();
    assert_eq!(row["balance_fen"], json!(balance), "the listed balance");
    balance
}

/// The people of the test and the service on a clock the test moves.
async fn serve(t: &TestDb) -> (Cast, FixedClock, Server, Api) {
    let cast = Cast::new(&t.db).await;
    let clock = FixedClock::at(Utc::now());
    let services = GrievanceServices::new(Arc::new(clock.clone()), GrievancePolicy::default());
    let server = Server::serve(Service::start_with(
        state_with(t.db.clone(), services).with_vault(lianxi_tests::test_vault()),
        quick_background(),
    ))
    .await;
    let api = Api::new(&server.base);
    (cast, clock, server, api)
}

async fn a_micro_project_goes_from_proposal_to_closing_paid_by_its_fund(t: TestDb) {
    let (cast, clock, server, api) = serve(&t).await;
    let a = &cast.a;
    let group = add_person(&t.db, Role::MicroOrganization, Scope::Xiaoqu(a.id)).await;
    let branch = &a.branch.token;

    // The branch opens the xiaoqu's crowd fund; a resident may not.
    api.post(
        "/api/v1/micro-funds",
        &a.resident.token,
        json!({"name": "幸福里微基金", "kind": "crowd"}),
    )
    .await
    .assert_problem(403, "forbidden");
    let opened = api
        .post(
            "/api/v1/micro-funds",
            branch,
            json!({"name": "幸福里微基金", "kind": "crowd"}),
        )
        .await;
    assert_eq!(opened.status, 201, "{}", opened.body);
    assert_eq!(opened.body["place_kind"], "xiaoqu");
    assert_eq!(opened.body["place"], json!(a.id.0.to_string()));
    let fund = opened.body["id"].as_str().expect("id").to_owned();
    api.post(
        "/api/v1/micro-funds",
        branch,
        json!({"name": "幸福里微基金", "kind": "named"}),
    )
    .await
    .assert_problem(422, "invalid-field")
    .assert_field("donor");
    let (mut came_in, mut went_out) = (0u64, 0u64);
    assert_eq!(balance(&api, branch, &fund, came_in, went_out).await, 0);

    // Donations, named and anonymous, and a grant.
    let income = format!("/api/v1/micro-funds/{fund}/income");
    for (amount, body) in [
        (
            50_000u64,
            json!({"amount_fen": 50_000, "source": "named", "name": "3栋王女士"}),
        ),
        (20_000, json!({"amount_fen": 20_000, "source": "anonymous"})),
        (
            100_000,
            json!({"amount_fen": 100_000, "source": "grant", "name": "城厢街道"}),
        ),
    ] {
        ok(&api.post(&income, branch, body).await, "income");
        came_in += amount;
        balance(&api, branch, &fund, came_in, went_out).await;
    }
    api.post(
        &income,
        branch,
        json!({"amount_fen": 0, "source": "anonymous"}),
    )
    .await
    .assert_problem(422, "invalid-field")
    .assert_field("amount_fen");
    api.post(
        &income,
        branch,
        json!({"amount_fen": 100, "source": "named"}),
    )
    .await
    .assert_problem(422, "invalid-field")
    .assert_field("name");
    api.post(
        &income,
        &a.resident.token,
        json!({"amount_fen": 100, "source": "anonymous"}),
    )
    .await
    .assert_problem(403, "forbidden");
    // Another xiaoqu's people do not see the fund at all.
    api.get(
        &format!("/api/v1/micro-funds/{fund}"),
        &cast.b.resident.token,
    )
    .await
    .assert_problem(404, "not-found");

    // The micro-organization proposes; a fund of another xiaoqu is refused.
    let other = ok(
        &api.post(
            "/api/v1/micro-funds",
            &cast.b.branch.token,
            json!({"name": "和平苑微基金", "kind": "crowd"}),
        )
        .await,
        "other fund",
    );
    let proposal = |fund: &str| {
        json!({
            "fund": fund,
            "title": "楼道口微花园",
            "plan": "在5栋楼道口空地种植花草,志愿者每周养护。",
            "budget_fen": 120_000
        })
    };
    api.post(
        "/api/v1/micro-projects",
        &group.token,
        proposal(other["id"].as_str().expect("id")),
    )
    .await
    .assert_problem(422, "invalid-field")
    .assert_field("fund");
    api.post("/api/v1/micro-projects", &a.company.token, proposal(&fund))
        .await
        .assert_problem(403, "forbidden");
    let proposed = api
        .post("/api/v1/micro-projects", &group.token, proposal(&fund))
        .await;
    assert_eq!(proposed.status, 201, "{}", proposed.body);
    assert_eq!(proposed.body["status"], "proposed");
    assert_eq!(proposed.body["proposer_role"], "micro_organization");
    assert_eq!(proposed.body["proposed_by_me"], true);
    let project = proposed.body["id"].as_str().expect("id").to_owned();
    let at = |step: &str| format!("/api/v1/micro-projects/{project}/{step}");

    // Spending for it before it is approved and under way is refused, and
    // changes nothing.
    let receipt = upload(
        &api,
        branch,
        "发票.pdf",
        b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<<>>\n%%EOF\n",
    )
    .await;
    let spending = format!("/api/v1/micro-funds/{fund}/spending");
    let spend = |amount: u64| {
        json!({
            "amount_fen": amount,
            "project": project,
            "purpose": "购买花苗和种植土",
            "receipt": receipt,
        })
    };
    let before = ok(
        &api.get(&format!("/api/v1/micro-funds/{fund}"), branch)
            .await,
        "fund",
    );
    api.post(&spending, branch, spend(30_000))
        .await
        .assert_problem(422, "rule-violated");
    let mut nowhere = spend(30_000);
    nowhere["project"] = json!(uuid::Uuid::new_v4());
    api.post(&spending, branch, nowhere)
        .await
        .assert_problem(422, "invalid-field")
        .assert_field("project");
    let after = ok(
        &api.get(&format!("/api/v1/micro-funds/{fund}"), branch)
            .await,
        "fund",
    );
    assert_eq!(before, after, "a refused spending records nothing");
    balance(&api, branch, &fund, came_in, went_out).await;

    // 征集 → 评审: supported (once per resident), shortlisted, reviewed,
    // publicly noticed with a comment.
    for _ in 0..2 {
        ok(
            &api.post(&at("support"), &a.resident.token, json!({})).await,
            "support",
        );
    }
    api.post(&at("support"), &group.token, json!({}))
        .await
        .assert_problem(403, "forbidden");
    api.post(
        &at("review"),
        branch,
        json!({"approved": true, "opinion": "同意"}),
    )
    .await
    .assert_problem(409, "invalid-transition");
    ok(
        &api.post(&at("shortlist"), branch, json!({})).await,
        "shortlist",
    );
    ok(
        &api.post(
            &at("review"),
            branch,
            json!({"approved": true, "opinion": "五方联席会议评审通过,预算合理"}),
        )
        .await,
        "review",
    );
    let until = clock_now(&clock) + TimeDelta::days(7);
    api.post(
        &at("publish"),
        branch,
        json!({"comments_until": clock_now(&clock) - TimeDelta::hours(1)}),
    )
    .await
    .assert_problem(422, "invalid-field")
    .assert_field("comments_until");
    let published = ok(
        &api.post(&at("publish"), branch, json!({"comments_until": until}))
            .await,
        "publish",
    );
    assert_eq!(published["status"], "publicly_noticed");
    ok(
        &api.post(
            &at("comments"),
            &a.neighbour.token,
            json!({"text": "建议选耐旱的花"}),
        )
        .await,
        "comment",
    );
    api.post(&at("start"), branch, json!({}))
        .await
        .assert_problem(422, "rule-violated");
    api.post(&spending, branch, spend(30_000))
        .await
        .assert_problem(422, "rule-violated");
    clock.advance(TimeDelta::days(8));
    api.post(&at("comments"), &a.neighbour.token, json!({"text": "晚了"}))
        .await
        .assert_problem(422, "rule-violated");
    let started = ok(&api.post(&at("start"), branch, json!({})).await, "start");
    assert_eq!(started["status"], "under_way");
    assert_eq!(started["supporters"], 1);
    assert_eq!(started["comments"][0]["text"], "建议选耐旱的花");
    assert!(started["comments"][0].get("author").is_none());

    // 实施: the fund pays, never more than it holds; the proposer reports
    // with receipts.
    ok(&api.post(&spending, branch, spend(80_000)).await, "spend");
    went_out += 80_000;
    balance(&api, branch, &fund, came_in, went_out).await;
    api.post(&spending, branch, spend(came_in - went_out + 1))
        .await
        .assert_problem(422, "rule-violated");
    balance(&api, branch, &fund, came_in, went_out).await;
    let photo = upload(
        &api,
        &group.token,
        "进度.pdf",
        b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Progress 1 >>\nendobj\ntrailer\n<<>>\n%%EOF\n",
    )
    .await;
    api.post(
        &at("reports"),
        &group.token,
        json!({"text": "已完成种植", "receipts": []}),
    )
    .await
    .assert_problem(422, "invalid-field")
    .assert_field("receipts");
    api.post(
        &at("reports"),
        &a.resident.token,
        json!({"text": "x", "receipts": [photo]}),
    )
    .await
    .assert_problem(422, "invalid-field")
    .assert_field("receipts[0].sha256");
    let reported = ok(
        &api.post(
            &at("reports"),
            &group.token,
            json!({"text": "已完成种植,附发票", "receipts": [photo]}),
        )
        .await,
        "report",
    );
    assert_eq!(reported["spent_fen"], 80_000);
    assert_eq!(reported["spending"][0]["amount_fen"], 80_000);
    let href = reported["reports"][0]["receipts"][0]["href"]
        .as_str()
        .expect("href")
        .to_owned();
    let file = api
        .request(reqwest::Method::GET, &href, Some(&a.resident.token))
        .send()
        .await
        .expect("download");
    assert_eq!(file.status().as_u16(), 200);
    assert!(file.bytes().await.expect("bytes").starts_with(b"%PDF-1.4"));
    let fund_receipt = reported["spending"][0]["receipt_href"]
        .as_str()
        .expect("receipt href")
        .to_owned();
    let file = api
        .request(reqwest::Method::GET, &fund_receipt, Some(&a.resident.token))
        .send()
        .await
        .expect("download");
    assert_eq!(file.status().as_u16(), 200);

    // 评估 → 结项: the proposer evaluates, residents rate (a second rating
    // replaces the first), a third party evaluates, the branch closes.
    api.post(&at("evaluation"), &a.resident.token, json!({"text": "好"}))
        .await
        .assert_problem(403, "forbidden");
    ok(
        &api.post(
            &at("evaluation"),
            &group.token,
            json!({"text": "花园建成,居民满意"}),
        )
        .await,
        "evaluate",
    );
    ok(
        &api.post(&at("ratings"), &a.resident.token, json!({"stars": 3}))
            .await,
        "rate",
    );
    ok(
        &api.post(&at("ratings"), &a.resident.token, json!({"stars": 4}))
            .await,
        "rate again",
    );
    api.post(&at("ratings"), &a.neighbour.token, json!({"stars": 6}))
        .await
        .assert_problem(422, "invalid-field")
        .assert_field("stars");
    ok(
        &api.post(&at("ratings"), &a.neighbour.token, json!({"stars": 5}))
            .await,
        "rate",
    );
    ok(
        &api.post(
            &at("third-party-evaluation"),
            branch,
            json!({"text": "第三方评估:达到预期"}),
        )
        .await,
        "third party",
    );
    let closed = ok(&api.post(&at("close"), branch, json!({})).await, "close");
    assert_eq!(closed["status"], "closed");
    assert_eq!(closed["rating"], 4.5);
    assert_eq!(closed["ratings"], 2);
    assert_eq!(closed["my_rating"], json!(null), "the branch did not rate");
    assert_eq!(closed["evaluations"].as_array().map(Vec::len), Some(2));
    api.post(&spending, branch, spend(1_000))
        .await
        .assert_problem(422, "rule-violated");
    balance(&api, branch, &fund, came_in, went_out).await;

    // Listed for the xiaoqu, with no person in it; not for another xiaoqu.
    let listed = ok(
        &api.get("/api/v1/micro-projects", &a.resident.token).await,
        "projects",
    );
    let row = &listed["items"][0];
    assert_eq!(row["id"], json!(project));
    assert_eq!(
        (
            row["status"].as_str(),
            row["spent_fen"].as_u64(),
            row["supporters"].as_u64()
        ),
        (Some("closed"), Some(80_000), Some(1))
    );
    assert!(!listed.to_string().contains(&group.id.0.to_string()));
    api.get(
        &format!("/api/v1/micro-projects/{project}"),
        &cast.b.resident.token,
    )
    .await
    .assert_problem(404, "not-found");
    let board = api
        .request(reqwest::Method::GET, &format!("/board/{}", a.id.0), None)
        .send()
        .await
        .expect("board");
    let board = board.text().await.expect("page");
    assert!(
        board.contains("楼道口微花园"),
        "the public board lists the project"
    );
    assert!(
        board.contains("幸福里微基金") && board.contains("900.00"),
        "and the fund's balance"
    );

    // Auditors read each stream's story; the log verifies, and a rewritten
    // fund entry is found at its stream.
    let story = ok(
        &api.get(
            &format!("/api/v1/micro-funds/{fund}/story"),
            &cast.auditor.token,
        )
        .await,
        "fund story",
    );
    let types: Vec<&str> = story["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter_map(|e| e["event_type"].as_str())
        .collect();
    assert_eq!(
        types,
        [
            "FundOpened",
            "MoneyReceived",
            "MoneyReceived",
            "MoneyReceived",
            "MoneySpent"
        ]
    );
    api.get(&format!("/api/v1/micro-funds/{fund}/story"), branch)
        .await
        .assert_problem(404, "not-found");
    let story = ok(
        &api.get(
            &format!("/api/v1/micro-projects/{project}/story"),
            &cast.auditor.token,
        )
        .await,
        "project story",
    );
    assert_eq!(story["entries"].as_array().map(Vec::len), Some(14));
    let verified = ok(
        &api.post("/api/v1/audit/verify", &cast.auditor.token, json!({}))
            .await,
        "verify",
    );
    assert_eq!(verified["ok"], true, "{verified}");
    server.stop().await;
    // `lianxi audit verify`, as an auditor runs it on the store.
    let dir = lianxi_tests::TempDir::new();
    let env = [("LIANXI_DATABASE_URL", t.url.as_str())];
    let (passed, out, err) = super::keys::lianxi(&dir.0, &env, &["audit", "verify"]).await;
    assert!(passed, "{out}{err}");

    let dba = Dba { db: &t.db };
    dba.unlock().await;
    let grant = dba
        .stream(&fund)
        .await
        .into_iter()
        .find(|e| e.payload.contains("城厢街道"))
        .expect("the grant");
    dba.update(&grant, "payload", &grant.payload.replace("100000", "10000"))
        .await;
    let (passed, out, err) = super::keys::lianxi(&dir.0, &env, &["audit", "verify"]).await;
    assert!(!passed, "the rewrite is found: {out}{err}");
    assert!(format!("{out}{err}").contains(&fund), "{out}{err}");
    let report = verify(&t.db, None).await.expect("verify");
    assert!(!report.ok);
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.aggregate_type == "micro_fund" && p.aggregate_id == fund && p.sequence == 4),
        "{:?}",
        report.problems
    );
}

fn clock_now(clock: &FixedClock) -> chrono::DateTime<Utc> {
    use lianxi_domain::Clock;
    clock.now()
}

const RECEIPT: &[u8] =
    b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Receipt 1 >>\nendobj\ntrailer\n<<>>\n%%EOF\n";

/// The pages, as a person would use them: the branch opens the fund and
/// records a donation (an unreadable amount refused by the field), the
/// micro-organization proposes, a resident supports and comments, the
/// branch shortlists, approves, publishes and, once the notice is over,
/// starts the project and pays for it with a receipt; the proposer reports
/// with a receipt and evaluates, the resident rates, the branch records a
/// third party's evaluation and closes it. Every receipt downloads.
async fn the_project_lifecycle_runs_on_the_pages(t: TestDb) {
    use super::web::{location, signed_in};
    use reqwest::StatusCode;
    let (cast, clock, server, api) = serve(&t).await;
    let a = &cast.a;
    let person =
        |role: &str| json!({"role": role, "xiaoqu": a.id, "personal_data": {"name": "测试"}});
    let mut branch = signed_in(&server, &cast, person("party_branch"), "lishuji").await;
    let mut group = signed_in(&server, &cast, person("micro_organization"), "weizuzhi").await;
    let mut resident = signed_in(&server, &cast, person("resident"), "zhaodaye").await;
    let moved = |page: &super::web::Page| {
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.html);
        location(page).to_owned()
    };

    // The fund, opened on the projects page; a donation on its own page.
    let page = branch.get("/projects").await;
    assert_eq!(page.status, StatusCode::OK);
    let csrf = branch.csrf();
    let to = moved(
        &branch
            .post(
                "/projects",
                &[
                    ("csrf", &csrf),
                    ("open_fund", "1"),
                    ("name", "幸福里微基金"),
                    ("kind", "crowd"),
                    ("donor", ""),
                ],
            )
            .await,
    );
    assert_eq!(to, "/projects?done=fund");
    let funds = ok(
        &api.get("/api/v1/micro-funds", &a.branch.token).await,
        "funds",
    );
    let fund = funds["items"][0]["id"].as_str().expect("fund").to_owned();
    let refused = branch
        .post(
            &format!("/funds/{fund}/income"),
            &[
                ("csrf", &csrf),
                ("amount", "一千"),
                ("source", "named"),
                ("name", "3栋王女士"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::OK);
    assert!(
        refused.html.contains("请填写大于零的金额"),
        "{}",
        refused.html
    );
    let to = moved(
        &branch
            .post(
                &format!("/funds/{fund}/income"),
                &[
                    ("csrf", &csrf),
                    ("amount", "1,000.50"),
                    ("source", "named"),
                    ("name", "3栋王女士"),
                ],
            )
            .await,
    );
    assert_eq!(to, format!("/funds/{fund}?done=income"));

    // The proposal: a budget of nothing is refused by the field, what was
    // typed kept; then proposed.
    group.get("/projects").await;
    let g_csrf = group.csrf();
    let proposal = |budget: &'static str| {
        vec![
            ("csrf", g_csrf.clone()),
            ("fund", fund.clone()),
            ("title", "共享工具箱".to_owned()),
            ("plan", "在门卫室放一套共享工具,志愿者管理借还。".to_owned()),
            ("budget", budget.to_owned()),
        ]
    };
    let zero = proposal("0");
    let page = group.post("/projects", &as_refs(&zero)).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.html.contains("请填写大于零的预算金额") && page.html.contains("共享工具箱"));
    let good = proposal("800");
    let to = moved(&group.post("/projects", &as_refs(&good)).await);
    let project = to
        .trim_start_matches("/projects/")
        .trim_end_matches("?done=propose")
        .to_owned();
    let step = |name: &str| format!("/projects/{project}/{name}");

    // 征集 → 评审 → 公示.
    resident.get("/projects").await;
    let r_csrf = resident.csrf();
    moved(&resident.post(&step("support"), &[("csrf", &r_csrf)]).await);
    moved(&branch.post(&step("shortlist"), &[("csrf", &csrf)]).await);
    moved(
        &branch
            .post(
                &step("review"),
                &[
                    ("csrf", &csrf),
                    ("approved", "yes"),
                    ("opinion", "同意实施"),
                ],
            )
            .await,
    );
    let china = chrono::FixedOffset::east_opt(8 * 3600).expect("UTC+8");
    let until = (clock_now(&clock) + TimeDelta::days(3))
        .with_timezone(&china)
        .format("%Y-%m-%dT%H:%M")
        .to_string();
    moved(
        &branch
            .post(
                &step("publish"),
                &[("csrf", &csrf), ("comments_until", &until)],
            )
            .await,
    );
    moved(
        &resident
            .post(
                &step("comment"),
                &[("csrf", &r_csrf), ("text", "工具要登记借还")],
            )
            .await,
    );
    let early = branch.post(&step("start"), &[("csrf", &csrf)]).await;
    assert_eq!(early.status, StatusCode::OK);
    assert!(early.html.contains("公示期尚未结束"), "{}", early.html);
    clock.advance(TimeDelta::days(4));
    moved(&branch.post(&step("start"), &[("csrf", &csrf)]).await);

    // 实施: the fund pays with a receipt; the proposer reports with one.
    let to = moved(
        &branch
            .post_files(
                &format!("/funds/{fund}/spending"),
                &[
                    ("csrf", &csrf),
                    ("project", &project),
                    ("amount", "300"),
                    ("purpose", "购买工具"),
                ],
                &[("file", "发票.pdf", "application/pdf", RECEIPT)],
            )
            .await,
    );
    assert_eq!(to, format!("/funds/{fund}?done=spending"));
    moved(
        &group
            .post_files(
                &step("report"),
                &[("csrf", &g_csrf), ("text", "工具箱已放置")],
                &[("file", "照片.pdf", "application/pdf", RECEIPT)],
            )
            .await,
    );

    // 评估 → 结项.
    moved(
        &group
            .post(
                &step("evaluate"),
                &[("csrf", &g_csrf), ("text", "借还有序")],
            )
            .await,
    );
    moved(
        &resident
            .post(&step("rate"), &[("csrf", &r_csrf), ("stars", "5")])
            .await,
    );
    moved(
        &branch
            .post(
                &step("third_party"),
                &[("csrf", &csrf), ("text", "达到预期")],
            )
            .await,
    );
    moved(&branch.post(&step("close"), &[("csrf", &csrf)]).await);

    let page = resident.get(&format!("/projects/{project}")).await;
    assert_eq!(page.status, StatusCode::OK);
    for shown in [
        "已结项",
        "¥300.00",
        "工具要登记借还",
        "借还有序",
        "达到预期",
        "5.0 ★",
    ] {
        assert!(page.html.contains(shown), "the project page shows {shown}");
    }
    let page = resident.get(&format!("/funds/{fund}")).await;
    assert!(page.html.contains("¥700.50"), "balance = 1,000.50 − 300");
    let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(RECEIPT));
    for path in [
        format!("/funds/{fund}/files/{sha}"),
        format!("/projects/{project}/files/{sha}"),
    ] {
        let (status, kind, bytes) = resident.get_bytes(&path).await;
        assert_eq!(
            (status, kind.as_str()),
            (StatusCode::OK, "application/pdf"),
            "{path}"
        );
        assert_eq!(bytes, RECEIPT);
    }
    let other = signed_in(
        &server,
        &cast,
        json!({"role": "resident", "xiaoqu": cast.b.id, "personal_data": {"name": "邻居"}}),
        "linju",
    )
    .await
    .get(&format!("/projects/{project}"))
    .await;
    assert_eq!(
        other.status,
        StatusCode::NOT_FOUND,
        "another xiaoqu's resident"
    );
}

/// A form's fields as the test browser posts them.
fn as_refs<'a>(v: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    v.iter().map(|(k, s)| (*k, s.as_str())).collect()
}
