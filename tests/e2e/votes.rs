//! Owners deciding together: a register of 120 units with real-looking
//! areas imported from CSV (its bad rows reported), then votes on using the
//! maintenance fund counted under Civil Code art. 278 — one short of the
//! participating area though not of owners, one decided — with ballots
//! changed, paper ballots entered by the committee, ballots secret from all
//! but their owners, and every tally equal to an independent count over the
//! raw events.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::{TimeDelta, Utc};
use lianxi_domain::values::{AccountId, XiaoquId};
use lianxi_domain::{FixedClock, GrievancePolicy, GrievanceServices, Role};
use lianxi_gateway::db::{Database, NewAccount, Scope};
use lianxi_gateway::server::{state_with, Service};
use lianxi_tests::{
    ok, on_both_stores, quick_background, Answer, Api, Cast, Person, Server, TestDb,
};
use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

on_both_stores!(
    owners_vote_on_the_maintenance_fund_under_the_civil_code_thresholds,
    the_register_is_kept_by_the_branch_or_committee_and_votes_by_their_rules,
);

/// A resident of `xiaoqu` who signs in as `login`, with an API token.
async fn owner(db: &Database, xiaoqu: XiaoquId, login: &str) -> Person {
    let id = AccountId(Uuid::new_v4());
    db.add_account(&NewAccount {
        id,
        role: Role::Resident,
        scope: Scope::Xiaoqu(xiaoqu),
        login_hash: Some(lianxi_tests::test_vault().login_hash(login)),
        password_hash: None,
    })
    .await
    .expect("add owner");
    let (token, _) = lianxi_gateway::app::auth::issue_token(
        db,
        id,
        lianxi_gateway::db::TokenKind::Api,
        Some(TimeDelta::days(1)),
    )
    .await
    .expect("token");
    Person {
        id,
        role: Role::Resident,
        token,
    }
}

/// The register of the test: 100 flats of 60–76 m² in five buildings and
/// 20 shops of 250–320 m². Flat 1 has two co-owners (owners 1 and 100),
/// owner 2 also owns flats 98 and 99, shops 0–14 have one owner each
/// (owners 101–115), shops 15–19 are the developer's. Returns the CSV and,
/// per line, the unit's address as the register shows it.
fn register_csv() -> String {
    let mut csv = String::from("楼栋,单元,房号,面积,业主\n");
    for i in 0..100u32 {
        let area = 6000 + (i * 379) % 1600;
        let owners = match i {
            1 => "owner-1; owner-100".to_owned(),
            98 | 99 => "owner-2".to_owned(),
            _ => format!("owner-{i}"),
        };
        csv.push_str(&format!(
            "{}栋,{}单元,{}{:02},{}.{:02},{owners}\n",
            i / 20 + 1,
            i % 2 + 1,
            (i % 20) / 2 + 1,
            i % 2 + 1,
            area / 100,
            area % 100
        ));
    }
    for s in 0..20u32 {
        let area = 25000 + (s * 1733) % 7000;
        let owners = if s < 15 {
            format!("owner-{}", 101 + s)
        } else {
            "developer".to_owned()
        };
        csv.push_str(&format!(
            "商铺,,S{:02},{}.{:02},{owners}\n",
            s + 1,
            area / 100,
            area % 100
        ));
    }
    csv
}

async fn put_register(api: &Api, xiaoqu: XiaoquId, token: &str, csv: &str) -> Answer {
    Api::send(
        api.request(
            Method::PUT,
            &format!("/api/v1/xiaoqu/{xiaoqu}/owners-register"),
            Some(token),
        )
        .header("content-type", "text/csv; charset=utf-8")
        .body(csv.to_owned()),
    )
    .await
}

/// An independent count of a vote from its raw events: the register of
/// `VoteOpened`, the last `BallotCast` of each unit, owners counted one per
/// holder; a holder with several units counts for the choice with most of
/// their voted area (a tie abstains).
#[derive(Debug, Default, PartialEq)]
struct Counted {
    register: (u64, u64),
    participated: (u64, u64),
    approve: (u64, u64),
    oppose: (u64, u64),
    abstain: (u64, u64),
    ballots: u64,
}

fn count_events(events: &[Value]) -> Counted {
    let opened = events
        .iter()
        .find_map(|e| e.get("VoteOpened"))
        .expect("VoteOpened");
    let units = opened["proposal"]["register"]["units"]
        .as_array()
        .expect("units");
    let mut holder_of = BTreeMap::new();
    let mut area_of = BTreeMap::new();
    for u in units {
        let unit = u["unit"].as_str().expect("unit").to_owned();
        holder_of.insert(unit.clone(), u["holder"].to_string());
        area_of.insert(unit, u["area"].as_u64().expect("area"));
    }
    let mut last = BTreeMap::new();
    for e in events {
        if let Some(b) = e.get("BallotCast") {
            last.insert(
                b["unit"].as_str().expect("unit").to_owned(),
                b["choice"].as_str().expect("choice").to_owned(),
            );
        }
    }
    let holders: BTreeSet<&String> = holder_of.values().collect();
    let mut c = Counted {
        register: (area_of.values().sum(), holders.len() as u64),
        ballots: last.len() as u64,
        ..Default::default()
    };
    // Area by choice, and each holder's voted area by choice.
    let mut by_holder: BTreeMap<&String, BTreeMap<&str, u64>> = BTreeMap::new();
    for (unit, choice) in &last {
        let area = area_of[unit];
        c.participated.0 += area;
        match choice.as_str() {
            "approve" => c.approve.0 += area,
            "oppose" => c.oppose.0 += area,
            _ => c.abstain.0 += area,
        }
        *by_holder
            .entry(&holder_of[unit])
            .or_default()
            .entry(choice.as_str())
            .or_default() += area;
    }
    for choices in by_holder.values() {
        c.participated.1 += 1;
        let most = choices.values().max().copied().unwrap_or(0);
        let top: Vec<&&str> = choices
            .iter()
            .filter(|(_, a)| **a == most)
            .map(|(k, _)| k)
            .collect();
        match (top.len(), top.first().map(|s| **s)) {
            (1, Some("approve")) => c.approve.1 += 1,
            (1, Some("oppose")) => c.oppose.1 += 1,
            _ => c.abstain.1 += 1,
        }
    }
    c
}

fn counted_by_api(tally: &Value) -> Counted {
    let pair = |k: &str| {
        (
            tally[k]["area"].as_u64().expect("area"),
            tally[k]["owners"].as_u64().expect("owners"),
        )
    };
    Counted {
        register: pair("register"),
        participated: pair("participated"),
        approve: pair("approve"),
        oppose: pair("oppose"),
        abstain: pair("abstain"),
        ballots: tally["ballots"].as_u64().expect("ballots"),
    }
}

/// The vote's raw events, straight from the store.
async fn raw_events(db: &Database, vote: &str) -> Vec<Value> {
    let payloads: Vec<String> = match db {
        Database::Postgres(pool) => sqlx::query_scalar(
            "SELECT payload::text FROM events WHERE aggregate_type = 'owners_vote' \
             AND aggregate_id = $1 ORDER BY sequence",
        )
        .bind(vote)
        .fetch_all(pool)
        .await
        .expect("events"),
        Database::Sqlite(pool) => sqlx::query_scalar(
            "SELECT payload FROM events WHERE aggregate_type = 'owners_vote' \
             AND aggregate_id = ?1 ORDER BY sequence",
        )
        .bind(vote)
        .fetch_all(pool)
        .await
        .expect("events"),
    };
    payloads
        .iter()
        .map(|p| serde_json::from_str(p).expect("JSON"))
        .collect()
}

struct Scene {
    server: Server,
    api: Api,
    clock: FixedClock,
    cast: Cast,
    /// owner-0 … owner-115.
    owners: Vec<Person>,
    /// Unit id by address (`1栋 / 1单元 / 101`).
    units: BTreeMap<String, String>,
}

async fn scene(t: &TestDb) -> Scene {
    let cast = Cast::new(&t.db).await;
    let clock = FixedClock::at(Utc::now());
    let services = GrievanceServices::new(Arc::new(clock.clone()), GrievancePolicy::default());
    let server = Server::serve(Service::start_with(
        state_with(t.db.clone(), services).with_vault(lianxi_tests::test_vault()),
        quick_background(),
    ))
    .await;
    let api = Api::new(&server.base);
    let mut owners = Vec::new();
    for i in 0..116 {
        owners.push(owner(&t.db, cast.a.id, &format!("owner-{i}")).await);
    }
    Scene {
        server,
        api,
        clock,
        cast,
        owners,
        units: BTreeMap::new(),
    }
}

/// Unit ids by address, as the register lists them.
async fn units(api: &Api, xiaoqu: XiaoquId, token: &str) -> BTreeMap<String, String> {
    let register = ok(
        &api.get(&format!("/api/v1/xiaoqu/{xiaoqu}/owners-register"), token)
            .await,
        "register",
    );
    register["units"]
        .as_array()
        .expect("units")
        .iter()
        .map(|u| {
            let address = match u["entrance"].as_str() {
                Some(e) => format!(
                    "{} / {} / {}",
                    u["building"].as_str().unwrap_or(""),
                    e,
                    u["room"].as_str().unwrap_or("")
                ),
                None => format!(
                    "{} / {}",
                    u["building"].as_str().unwrap_or(""),
                    u["room"].as_str().unwrap_or("")
                ),
            };
            (address, u["unit"].as_str().expect("unit").to_owned())
        })
        .collect()
}

/// Flat `i`'s address (see [`register_csv`]).
fn flat(i: u32) -> String {
    format!(
        "{}栋 / {}单元 / {}{:02}",
        i / 20 + 1,
        i % 2 + 1,
        (i % 20) / 2 + 1,
        i % 2 + 1
    )
}

fn shop(s: u32) -> String {
    format!("商铺 / S{:02}", s + 1)
}

async fn open_vote(s: &Scene, question: &str, paper: bool) -> String {
    let closes_at = s.clock_now() + TimeDelta::days(7);
    let opened = s
        .api
        .post(
            "/api/v1/owners-votes",
            &s.cast.a.committee.token,
            json!({
                "matter": "use_maintenance_fund",
                "question": question,
                "explanation": "3栋外墙脱落,拟动用专项维修资金12.8万元维修,详见报价单与施工方案。",
                "closes_at": closes_at,
                "online": true,
                "paper": paper,
            }),
        )
        .await;
    assert_eq!(opened.status, 201, "open: {}", opened.body);
    assert_eq!(opened.body["status"], "open");
    assert_eq!(opened.body["special"], false);
    assert_eq!(
        opened.body["thresholds"]["participation"],
        json!({"numerator": 2, "denominator": 3})
    );
    opened.body["id"].as_str().expect("id").to_owned()
}

impl Scene {
    fn clock_now(&self) -> chrono::DateTime<Utc> {
        use lianxi_domain::Clock;
        self.clock.now()
    }

    async fn ballot(&self, vote: &str, who: &Person, address: &str, choice: &str) -> Answer {
        self.api
            .post(
                &format!("/api/v1/owners-votes/{vote}/ballots"),
                &who.token,
                json!({"unit": self.units[address], "choice": choice}),
            )
            .await
    }

    async fn paper(&self, vote: &str, address: &str, choice: &str) -> Answer {
        self.api
            .post(
                &format!("/api/v1/owners-votes/{vote}/paper-ballots"),
                &self.cast.a.committee.token,
                json!({"unit": self.units[address], "choice": choice}),
            )
            .await
    }

    /// The owner who casts flat `i`'s ballot (see [`register_csv`]).
    fn flat_owner(&self, i: u32) -> &Person {
        match i {
            98 | 99 => &self.owners[2],
            _ => &self.owners[i as usize],
        }
    }

    async fn close(&self, vote: &str) -> Value {
        ok(
            &self
                .api
                .post(
                    &format!("/api/v1/owners-votes/{vote}/close"),
                    &self.cast.a.committee.token,
                    json!({}),
                )
                .await,
            "close",
        )
    }
}

async fn owners_vote_on_the_maintenance_fund_under_the_civil_code_thresholds(t: TestDb) {
    let mut s = scene(&t).await;
    let a = s.cast.a.id;

    // The committee imports the register; three bad rows are reported by
    // line and column, the 120 good ones registered.
    let mut csv = register_csv();
    csv.push_str("6栋,1单元,101,八十,owner-0\n");
    csv.push_str("6栋,1单元,102,80.00,nobody-here\n");
    csv.push_str("1栋,1单元,101,70.00,owner-0\n");
    let report = put_register(&s.api, a, &s.cast.a.committee.token, &csv).await;
    assert_eq!(report.status, 200, "import: {}", report.body);
    assert_eq!(report.body["units"], 120);
    assert_eq!(
        report.body["owners"], 114,
        "98 flat holders, 15 shop owners, the developer"
    );
    let rejected: Vec<(u64, String)> = report.body["rejected"]
        .as_array()
        .expect("rejected")
        .iter()
        .map(|r| {
            (
                r["line"].as_u64().unwrap_or(0),
                r["field"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        rejected,
        vec![
            (122, "area".into()),
            (123, "owners".into()),
            (124, "room".into())
        ]
    );
    s.units = units(&s.api, a, &s.owners[0].token).await;
    assert_eq!(s.units.len(), 120);

    // Vote 1: every flat's owners vote, no shop's: 98 of 114 owners (enough
    // in number) but barely over half the area (not enough).
    let first = open_vote(&s, "动用维修资金维修3栋外墙(第一次)", false).await;
    for i in 0..100 {
        if i == 99 {
            continue; // owner 2's third flat: already voted for by owner 2 below
        }
        let choice = if i % 3 == 0 { "oppose" } else { "approve" };
        let answer = s.ballot(&first, s.flat_owner(i), &flat(i), choice).await;
        assert_eq!(answer.status, 200, "ballot of flat {i}: {}", answer.body);
    }
    // Co-owner 100 changes flat 1's ballot: the unit still has one ballot.
    let changed = s.ballot(&first, &s.owners[100], &flat(1), "abstain").await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(changed.body["ballots"], 99);
    // Too early to close.
    s.api
        .post(
            &format!("/api/v1/owners-votes/{first}/close"),
            &s.cast.a.committee.token,
            json!({}),
        )
        .await
        .assert_problem(409, "invalid-transition");
    s.clock.advance(TimeDelta::days(8));
    let closed = s.close(&first).await;
    let tally = &closed["tally"];
    assert_eq!(tally["outcome"], "not_decided", "{tally}");
    assert_eq!(tally["short_of_area"], true);
    assert_eq!(tally["short_of_owners"], false);
    assert_eq!(
        counted_by_api(tally),
        count_events(&raw_events(&t.db, &first).await)
    );
    // A ballot after closing is refused and changes nothing.
    s.ballot(&first, &s.owners[0], &flat(0), "approve")
        .await
        .assert_problem(409, "invalid-transition");

    // Vote 2: the flats and ten shops take part; the shops' ballots come on
    // paper, entered by the committee.
    let second = open_vote(&s, "动用维修资金维修3栋外墙(第二次)", true).await;
    for i in 0..99 {
        let choice = if i % 4 == 0 { "oppose" } else { "approve" };
        ok(
            &s.ballot(&second, s.flat_owner(i), &flat(i), choice).await,
            "ballot",
        );
    }
    // Owner 2's third flat: the other way, a smaller area.
    ok(
        &s.ballot(&second, s.flat_owner(99), &flat(99), "oppose")
            .await,
        "ballot",
    );
    // Owner 3 changes their mind before the window closes.
    ok(
        &s.ballot(&second, &s.owners[3], &flat(3), "oppose").await,
        "first thought",
    );
    ok(
        &s.ballot(&second, &s.owners[3], &flat(3), "approve").await,
        "second thought",
    );
    for sh in 0..10 {
        let choice = if sh % 2 == 0 { "approve" } else { "oppose" };
        ok(&s.paper(&second, &shop(sh), choice).await, "paper ballot");
    }
    // A resident cannot enter paper ballots; an owner cannot vote for a
    // unit that is not theirs; the vote is not another xiaoqu's business.
    s.api
        .post(
            &format!("/api/v1/owners-votes/{second}/paper-ballots"),
            &s.owners[5].token,
            json!({"unit": s.units[&shop(12)], "choice": "approve"}),
        )
        .await
        .assert_problem(403, "forbidden");
    s.ballot(&second, &s.owners[5], &flat(6), "approve")
        .await
        .assert_problem(403, "forbidden");
    s.api
        .get(
            &format!("/api/v1/owners-votes/{second}"),
            &s.cast.b.resident.token,
        )
        .await
        .assert_problem(404, "not-found");

    // Secrecy: an owner sees their own ballot; nobody else sees any.
    let own = ok(
        &s.api
            .get(
                &format!("/api/v1/owners-votes/{second}"),
                &s.owners[3].token,
            )
            .await,
        "own",
    );
    let mine = own["my_units"].as_array().expect("my units");
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0]["ballot"]["choice"], "approve");
    assert_eq!(mine[0]["ballot"]["counted"], false);
    let multi = ok(
        &s.api
            .get(
                &format!("/api/v1/owners-votes/{second}"),
                &s.owners[2].token,
            )
            .await,
        "owner 2",
    );
    assert_eq!(multi["my_units"].as_array().map(Vec::len), Some(3));
    for who in [
        &s.cast.a.branch,
        &s.cast.a.committee,
        &s.cast.a.company,
        &s.cast.a.neighbour,
        &s.cast.auditor,
    ] {
        let seen = ok(
            &s.api
                .get(&format!("/api/v1/owners-votes/{second}"), &who.token)
                .await,
            "view",
        );
        assert_eq!(seen["my_units"], json!([]), "{:?} sees no ballot", who.role);
        assert!(
            !seen.to_string().contains("\"choice\""),
            "{:?}: {seen}",
            who.role
        );
        assert_eq!(seen["ballots"], 110);
        assert_eq!(seen["tally"], Value::Null, "no tally while open");
    }

    // A joint meeting's decision on a grievance cites the vote only once it
    // is closed.
    let branch = &s.cast.a.branch.token;
    let mut body = lianxi_tests::sample_grievance();
    body["category"] = json!("maintenance_fund");
    body["title"] = json!("3栋外墙维修何时开工");
    let discussed = ok(
        &s.api
            .post("/api/v1/grievances", &s.owners[10].token, body)
            .await,
        "file",
    )["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let when = s.clock_now() + TimeDelta::hours(1);
    let meeting = ok(
        &s.api
            .post(
                "/api/v1/meetings",
                branch,
                json!({
                    "kind": "regular",
                    "scheduled_for": when,
                    "place": "小区党群服务站",
                    "agenda": [{"subject": {"kind": "grievance", "id": discussed}, "title": "3栋外墙维修的实施"}]
                }),
            )
            .await,
        "convene",
    );
    let meeting_id = meeting["id"].as_str().expect("meeting id").to_owned();
    let item = meeting["agenda"][0]["id"]
        .as_str()
        .expect("item")
        .to_owned();
    ok(
        &s.api
            .post(
                &format!("/api/v1/meetings/{meeting_id}/open"),
                branch,
                json!({"present_parties": super::meetings::present()}),
            )
            .await,
        "open the meeting",
    );
    let decision = |vote: &str| {
        json!({
            "summary": "业主表决结果的落实",
            "decision": "按业主表决结果动用维修资金,物业组织施工",
            "positions": super::meetings::positions(),
            "vote": vote,
        })
    };
    let decide = format!("/api/v1/meetings/{meeting_id}/items/{item}/decision");
    s.api
        .post(&decide, branch, decision(&second))
        .await
        .assert_problem(422, "invalid-field")
        .assert_field("vote");

    s.clock.advance(TimeDelta::days(8));
    let closed = s.close(&second).await;
    let decided = ok(
        &s.api.post(&decide, branch, decision(&second)).await,
        "decide citing the vote",
    );
    assert_eq!(decided["agenda"][0]["vote"], json!(second));
    // The grievance's dossier covers the meeting and the vote it cites,
    // ballots sealed.
    let dossier = lianxi_tests::eventually(
        "the dossier covering the cited vote",
        || async {
            s.api
                .get(
                    &format!("/api/v1/grievances/{discussed}/dossier?format=json"),
                    &s.cast.auditor.token,
                )
                .await
                .body
        },
        |d| {
            d["streams"]
                .as_array()
                .is_some_and(|all| all.iter().any(|st| st["stream"] == json!(second)))
        },
    )
    .await;
    let cited: Vec<&Value> = dossier["streams"]
        .as_array()
        .expect("streams")
        .iter()
        .filter(|st| st["aggregate_type"] == "owners_vote")
        .collect();
    assert_eq!(cited.len(), 1, "{dossier}");
    assert_eq!(cited[0]["chain"]["ok"], true);
    let sealed: Vec<&Value> = dossier["story"]
        .as_array()
        .expect("story")
        .iter()
        .filter_map(|e| e["payload"].get("BallotCast"))
        .collect();
    assert!(!sealed.is_empty() && sealed.iter().all(|b| b["choice"] == "sealed"));
    let tally = &closed["tally"];
    let independent = count_events(&raw_events(&t.db, &second).await);
    assert_eq!(counted_by_api(tally), independent);
    assert_eq!(independent.ballots, 110, "a changed ballot counts once");
    // Both thresholds reached: 108 of 114 owners, the flats and ten shops
    // well over two thirds of the area; more than half of each approves.
    assert_eq!(tally["outcome"], "approved", "{tally}");
    assert!(independent.participated.0 * 3 >= independent.register.0 * 2);
    assert!(independent.approve.0 * 2 > independent.participated.0);
    assert!(independent.approve.1 * 2 > independent.participated.1);
    // Owner 2 voted two flats for and a smaller one against: one owner, for.
    let own = ok(
        &s.api
            .get(
                &format!("/api/v1/owners-votes/{second}"),
                &s.owners[3].token,
            )
            .await,
        "own",
    );
    assert_eq!(own["my_units"][0]["ballot"]["counted"], true);

    // The auditor's story of the vote: every ballot, none with its choice.
    let story = ok(
        &s.api
            .get(
                &format!("/api/v1/owners-votes/{second}/story"),
                &s.cast.auditor.token,
            )
            .await,
        "story",
    );
    let entries = story["entries"].as_array().expect("entries");
    let ballots: Vec<&Value> = entries
        .iter()
        .filter_map(|e| e["payload"].get("BallotCast"))
        .collect();
    assert_eq!(
        ballots.len(),
        112,
        "every ballot cast, the changed one twice"
    );
    assert!(ballots.iter().all(|b| b["choice"] == "sealed"));
    let told = story.to_string();
    for choice in ["approve", "oppose", "abstain"] {
        assert!(
            !told.contains(&format!("\"choice\":\"{choice}\"")),
            "no choice in the story"
        );
    }
    s.api
        .get(
            &format!("/api/v1/owners-votes/{second}/story"),
            &s.cast.a.committee.token,
        )
        .await
        .assert_problem(404, "not-found");
    // The chain covers the vote and register streams like every other.
    let verified = ok(
        &s.api
            .post("/api/v1/audit/verify", &s.cast.auditor.token, json!({}))
            .await,
        "verify",
    );
    assert_eq!(verified["ok"], true, "{verified}");

    // A maintenance-fund grievance shows whether the owners approved the spending.
    let mut body = lianxi_tests::sample_grievance();
    body["category"] = json!("maintenance_fund");
    body["title"] = json!("外墙维修动用维修资金是否经业主表决");
    let filed = ok(
        &s.api
            .post("/api/v1/grievances", &s.owners[9].token, body)
            .await,
        "file",
    );
    let id = filed["id"].as_str().expect("id");
    let shown = ok(
        &s.api
            .get(&format!("/api/v1/grievances/{id}"), &s.owners[9].token)
            .await,
        "grievance",
    );
    let fund_votes: Vec<(&str, &str)> = shown["fund_votes"]
        .as_array()
        .expect("fund votes")
        .iter()
        .map(|v| {
            (
                v["id"].as_str().unwrap_or(""),
                v["outcome"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        fund_votes,
        vec![
            (second.as_str(), "approved"),
            (first.as_str(), "not_decided")
        ]
    );

    // The list shows both, latest first, with their outcomes.
    let list = ok(
        &s.api
            .get(
                &format!("/api/v1/owners-votes?xiaoqu={a}"),
                &s.owners[7].token,
            )
            .await,
        "list",
    );
    let outcomes: Vec<&str> = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|v| v["outcome"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(outcomes, vec!["approved", "not_decided"]);
    s.server.stop().await;
}

async fn the_register_is_kept_by_the_branch_or_committee_and_votes_by_their_rules(t: TestDb) {
    let s = scene(&t).await;
    let a = s.cast.a.id;
    let csv = register_csv();
    // Not the company's, nor a resident's, nor another xiaoqu's committee.
    put_register(&s.api, a, &s.cast.a.company.token, &csv)
        .await
        .assert_problem(403, "forbidden");
    put_register(&s.api, a, &s.owners[0].token, &csv)
        .await
        .assert_problem(403, "forbidden");
    put_register(&s.api, a, &s.cast.b.committee.token, &csv)
        .await
        .assert_problem(404, "not-found");
    // A file without an area column, or not UTF-8, registers nothing.
    put_register(
        &s.api,
        a,
        &s.cast.a.branch.token,
        "楼栋,房号,业主\n1栋,101,owner-0\n",
    )
    .await
    .assert_problem(422, "invalid-field")
    .assert_field("file");
    let register = ok(
        &s.api
            .get(
                &format!("/api/v1/xiaoqu/{a}/owners-register"),
                &s.cast.a.branch.token,
            )
            .await,
        "empty register",
    );
    assert_eq!(register["units"], json!([]));
    // No vote before there is a register.
    let closes_at = Utc::now() + TimeDelta::days(7);
    s.api
        .post("/api/v1/owners-votes", &s.cast.a.committee.token,
              json!({"matter": "rebuild", "question": "重建自行车棚", "explanation": "见方案", "closes_at": closes_at}))
        .await
        .assert_problem(422, "invalid-field")
        .assert_field("xiaoqu");
    ok(
        &put_register(&s.api, a, &s.cast.a.branch.token, &csv).await,
        "import by the branch",
    );
    // A second import keeps every unit's id.
    let before = units(&s.api, a, &s.cast.a.branch.token).await;
    ok(
        &put_register(&s.api, a, &s.cast.a.committee.token, &csv).await,
        "import again",
    );
    assert_eq!(units(&s.api, a, &s.cast.a.branch.token).await, before);
    // The company does not open votes; a special matter needs three quarters.
    s.api
        .post("/api/v1/owners-votes", &s.cast.a.company.token,
              json!({"matter": "rebuild", "question": "重建自行车棚", "explanation": "见方案", "closes_at": closes_at}))
        .await
        .assert_problem(403, "forbidden");
    let opened = ok(
        &s.api
            .post("/api/v1/owners-votes", &s.cast.a.committee.token,
                  json!({"matter": "rebuild", "question": "重建自行车棚", "explanation": "见方案", "closes_at": closes_at}))
            .await,
        "special matter",
    );
    assert_eq!(opened["special"], true);
    assert_eq!(
        opened["thresholds"]["special"],
        json!({"numerator": 3, "denominator": 4})
    );
    assert_eq!(opened["register"]["owners"], 114);
    // Local rules: thresholds of the opener's choosing, whole numbers as
    // JSON Schema counts them; a share over the whole is refused.
    let local = json!({"participation": {"numerator": 3.0, "denominator": 5},
                       "special": {"numerator": 2, "denominator": 3},
                       "ordinary": {"numerator": 1, "denominator": 2}});
    let opened = ok(
        &s.api
            .post(
                "/api/v1/owners-votes",
                &s.cast.a.committee.token,
                json!({"matter": "other_major", "question": "增设快递柜", "explanation": "见方案",
                         "closes_at": closes_at, "thresholds": local}),
            )
            .await,
        "local thresholds",
    );
    assert_eq!(
        opened["thresholds"]["participation"],
        json!({"numerator": 3, "denominator": 5})
    );
    s.api
        .post("/api/v1/owners-votes", &s.cast.a.committee.token,
              json!({"matter": "other_major", "question": "q", "explanation": "e", "closes_at": closes_at,
                     "thresholds": {"participation": {"numerator": 4, "denominator": 3},
                                    "special": {"numerator": 3, "denominator": 4},
                                    "ordinary": {"numerator": 1, "denominator": 2}}}))
        .await
        .assert_problem(422, "invalid-field")
        .assert_field("thresholds");
    // A window that ends before it begins is refused, naming the field.
    s.api
        .post("/api/v1/owners-votes", &s.cast.a.committee.token,
              json!({"matter": "other_major", "question": "q", "explanation": "e", "closes_at": Utc::now() - TimeDelta::days(1)}))
        .await
        .assert_problem(422, "invalid-field")
        .assert_field("closes_at");
    s.server.stop().await;
}
