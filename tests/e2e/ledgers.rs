//! 台账: a xiaoqu's ledgers over a period, exported as XLSX and CSV, read
//! back with an independent reader (openpyxl) and compared with the history
//! made through the API; pseudonyms for a respondent; every export recorded.

use chrono::{FixedOffset, Utc};
use lianxi_tests::{
    lianxi_cli, ok, on_both_stores, value_of, Api, Cast, Process, Server, TempDir, TestDb,
};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

on_both_stores!(
    ledgers_are_exported_as_workbooks_and_csv_read_back_and_recorded,
    the_command_line_writes_a_ledger_for_an_account_and_records_it,
);

/// A file the API answered with, and the headers that came with it.
struct Download {
    status: StatusCode,
    content_type: String,
    disposition: String,
    rows: Option<usize>,
    bytes: Vec<u8>,
}

async fn download(api: &Api, token: &str, query: &str) -> Download {
    let response = api
        .request(
            Method::GET,
            &format!("/api/v1/ledgers?{query}"),
            Some(token),
        )
        .send()
        .await
        .expect("request sent");
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let (content_type, disposition) = (header("content-type"), header("content-disposition"));
    let rows = header("lianxi-rows").parse().ok();
    Download {
        status: response.status(),
        content_type,
        disposition,
        rows,
        bytes: response.bytes().await.expect("body").to_vec(),
    }
}

/// Today in China Standard Time, `YYYY-MM-DD`.
fn today() -> String {
    let china = FixedOffset::east_opt(8 * 3600).expect("UTC+8");
    Utc::now()
        .with_timezone(&china)
        .format("%Y-%m-%d")
        .to_string()
}

/// A time later today in China (where the ledgers' days are): halfway to
/// midnight, at most three hours ahead, so that a meeting scheduled then
/// falls in today's ledger whatever the hour the test runs at.
fn later_today() -> chrono::DateTime<Utc> {
    let china = FixedOffset::east_opt(8 * 3600).expect("UTC+8");
    let now = Utc::now();
    let midnight = (now.with_timezone(&china).date_naive() + chrono::TimeDelta::days(1))
        .and_hms_opt(0, 0, 0)
        .expect("midnight")
        .and_local_timezone(china)
        .single()
        .expect("one midnight")
        .with_timezone(&Utc);
    now + ((midnight - now) / 2).min(chrono::TimeDelta::hours(3))
}

/// A sheet's rows as text, header first (numbers as openpyxl gives them).
fn sheet<'a>(book: &'a Value, name: &str) -> &'a Vec<Value> {
    book.as_array()
        .and_then(|sheets| sheets.iter().find(|s| s["name"] == name))
        .and_then(|s| s["rows"].as_array())
        .unwrap_or_else(|| panic!("no sheet {name} in {book}"))
}

fn column(rows: &[Value], title: &str) -> usize {
    rows[0]
        .as_array()
        .and_then(|h| h.iter().position(|c| c == title))
        .unwrap_or_else(|| panic!("no column {title} in {}", rows[0]))
}

async fn ledgers_are_exported_as_workbooks_and_csv_read_back_and_recorded(t: TestDb) {
    let cast = Cast::new(&t.db).await;
    let server = Server::start(&t.db).await;
    let api = Api::new(&server.base);
    let a = &cast.a;

    // A resident with a name and a phone files three grievances.
    let created = ok(
        &api.post(
            "/api/v1/admin/accounts",
            &cast.admin.token,
            json!({"role": "resident", "xiaoqu": a.id,
                   "personal_data": {"name": "王小明", "phone": "13800138000"},
                   "api_token_ttl_days": 1}),
        )
        .await,
        "the resident",
    );
    let resident = created["token"].as_str().expect("token").to_owned();
    let mut ids = Vec::new();
    for title in ["3栋电梯停运三天", "地下车库积水", "楼道灯不亮"] {
        let mut body = lianxi_tests::sample_grievance();
        body["title"] = json!(title);
        let filed = ok(
            &api.post("/api/v1/grievances", &resident, body).await,
            "file",
        );
        ids.push(filed["id"].as_str().expect("id").to_owned());
    }
    // The first goes the whole way and is rated; the second is in
    // mediation; the third is only filed.
    let branch = &a.branch;
    for id in &ids[..2] {
        api.command(id, "accept", branch, json!({})).await;
        api.command(
            id,
            "triage",
            branch,
            json!({"matter_class": "minor", "party": "property_company"}),
        )
        .await;
    }
    let first = &ids[0];
    api.command(first, "assign", branch, json!({})).await;
    api.command(
        first,
        "respond",
        &a.company,
        json!({"response": "已联系维保单位"}),
    )
    .await;
    api.command(first, "resolve", branch, json!({"summary": "电梯已修复"}))
        .await;
    ok(
        &api.post(
            &format!("/api/v1/grievances/{first}/rate"),
            &resident,
            json!({"rating": "satisfied"}),
        )
        .await,
        "rate",
    );
    let case = ok(
        &api.post(
            "/api/v1/mediation-cases",
            &branch.token,
            json!({"matter": "车库积水责任纠纷", "grievances": [ids[1]],
                   "respondents": [{"kind": "party", "id": "property_company"}]}),
        )
        .await,
        "open a case",
    );
    let case = case["id"].as_str().expect("case").to_owned();
    let when = later_today().to_rfc3339();
    let meeting = ok(
        &api.post(
            "/api/v1/meetings",
            &branch.token,
            json!({"kind": "regular", "scheduled_for": when, "place": "小区党群服务站",
                   "agenda": [{"subject": {"kind": "other"}, "title": "公共收益公示"}]}),
        )
        .await,
        "convene",
    );
    let meeting = meeting["id"].as_str().expect("meeting").to_owned();
    api.settled().await;

    // The branch's workbook: four sheets, typed, the header frozen.
    let day = today();
    let period = format!("xiaoqu={}&from={day}&to={day}", a.id);
    let book = download(&api, &branch.token, &period).await;
    assert_eq!(
        book.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&book.bytes)
    );
    assert_eq!(
        book.content_type,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    assert_eq!(
        book.disposition,
        format!("attachment; filename=\"lianxi-all-{day}-{day}.xlsx\"")
    );
    let read = lianxi_tests::xlsx::read(&book.bytes).await;
    let names: Vec<&str> = read
        .as_array()
        .expect("sheets")
        .iter()
        .map(|s| s["name"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(names, ["诉求台账", "联席会议台账", "调解台账", "三率汇总"]);
    for s in read.as_array().expect("sheets") {
        assert_eq!(s["freeze"], "A2", "the header row stays: {}", s["name"]);
    }

    // Every grievance, as the API tells it.
    let grievances = sheet(&read, "诉求台账");
    assert_eq!(grievances.len(), 1 + 3, "{grievances:?}");
    let (id_col, filer_col, status_col, title_col) = (
        column(grievances, "诉求编号"),
        column(grievances, "诉求人"),
        column(grievances, "状态"),
        column(grievances, "标题"),
    );
    let (rating_col, filed_col, on_time_col) = (
        column(grievances, "评价"),
        column(grievances, "提交时间"),
        column(grievances, "按时受理"),
    );
    for (row, id) in grievances[1..].iter().zip(&ids) {
        let view = ok(
            &api.get(&format!("/api/v1/grievances/{id}"), &branch.token)
                .await,
            "the grievance",
        );
        assert_eq!(row[id_col], json!(id));
        assert_eq!(row[title_col], view["title"]);
        assert_eq!(row[filer_col], "王小明", "the branch knows who filed");
        let filed_at =
            chrono::DateTime::parse_from_rfc3339(view["filed_at"].as_str().expect("filed_at"))
                .expect("an instant")
                .with_timezone(&FixedOffset::east_opt(8 * 3600).expect("UTC+8"));
        assert_eq!(
            row[filed_col].as_str().map(|s| &s[..16]),
            Some(filed_at.format("%Y-%m-%dT%H:%M").to_string().as_str()),
            "a real date cell in China time: {row:?}"
        );
        let status = match view["status"].as_str() {
            Some("closed") => "已办结",
            Some("in_mediation") => "调解中",
            Some("filed") => "已提交",
            other => panic!("unexpected status {other:?}"),
        };
        assert_eq!(row[status_col], status, "{row:?}");
    }
    assert_eq!(grievances[1][rating_col], "满意");
    assert_eq!(grievances[1][on_time_col], "是");
    assert_eq!(grievances[3][rating_col], Value::Null);

    // The meeting, one row per agenda item; the case with its parties.
    let meetings = sheet(&read, "联席会议台账");
    assert_eq!(meetings.len(), 2, "{meetings:?}");
    assert_eq!(meetings[1][column(meetings, "会议编号")], json!(meeting));
    assert_eq!(meetings[1][column(meetings, "议题")], "公共收益公示");
    assert_eq!(meetings[1][column(meetings, "结果")], "待讨论");
    let mediation = sheet(&read, "调解台账");
    assert_eq!(mediation.len(), 2, "{mediation:?}");
    assert_eq!(mediation[1][column(mediation, "案件编号")], json!(case));
    assert_eq!(mediation[1][column(mediation, "申请方")], "王小明");
    assert_eq!(mediation[1][column(mediation, "被申请方")], "物业服务企业");

    // The three rates this month, then the whole period: counted as the
    // public figures count them.
    let summary = sheet(&read, "三率汇总");
    assert_eq!(summary.len(), 3, "{summary:?}");
    let figures = ok(
        &api.get(&format!("/api/v1/figures?xiaoqu={}", a.id), &branch.token)
            .await,
        "figures",
    );
    let whole = &summary[2];
    assert_eq!(whole[column(summary, "月份")], "全期");
    assert_eq!(whole[column(summary, "诉求数")].as_f64(), Some(3.0));
    assert_eq!(
        whole[column(summary, "满意户数")].as_f64(),
        figures["satisfaction_rate"]["count"].as_f64()
    );
    assert_eq!(
        whole[column(summary, "满意率")].as_f64(),
        figures["satisfaction_rate"]["rate"].as_f64()
    );

    // Each ledger alone as CSV: UTF-8 with a byte-order mark, one row per
    // row of the workbook's sheet, the same cells.
    for (ledger, name) in [
        ("grievances", "诉求台账"),
        ("meetings", "联席会议台账"),
        ("mediation", "调解台账"),
        ("summary", "三率汇总"),
    ] {
        let csv = download(
            &api,
            &branch.token,
            &format!("{period}&ledger={ledger}&format=csv"),
        )
        .await;
        assert_eq!(csv.status, StatusCode::OK);
        assert_eq!(csv.content_type, "text/csv; charset=utf-8");
        assert!(csv.bytes.starts_with("\u{feff}".as_bytes()), "a BOM first");
        let mut reader = csv::Reader::from_reader(&csv.bytes[3..]);
        let header: Vec<String> = reader
            .headers()
            .expect("a header")
            .iter()
            .map(str::to_owned)
            .collect();
        let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("a row")).collect();
        let from_book = sheet(&read, name);
        assert_eq!(json!(header), from_book[0], "{ledger}");
        assert_eq!(rows.len() + 1, from_book.len(), "{ledger}");
        assert_eq!(csv.rows, Some(rows.len()));
        let first_col = &rows.first().map(|r| r[0].to_owned());
        assert_eq!(
            first_col.as_deref(),
            from_book.get(1).and_then(|r| r[0].as_str()),
            "{ledger}"
        );
    }

    // The property company, a respondent: the same grievances, nobody named.
    let company = download(&api, &a.company.token, &period).await;
    assert_eq!(company.status, StatusCode::OK);
    let text = String::from_utf8_lossy(&company.bytes).to_string();
    let theirs = lianxi_tests::xlsx::read(&company.bytes).await;
    let shown = serde_json::to_string(&theirs).expect("json");
    for secret in ["王小明", "13800138000"] {
        assert!(
            !shown.contains(secret) && !text.contains(secret),
            "{secret} in the company's export"
        );
    }
    let rows = sheet(&theirs, "诉求台账");
    assert!(rows.len() > 1, "the company sees what is addressed to it");
    assert!(rows[1][column(rows, "诉求人")]
        .as_str()
        .is_some_and(|p| !p.is_empty()));

    // Refusals change nothing: a resident, another xiaoqu, a reversed
    // period, CSV of all ledgers, an unknown ledger.
    let before = ok(
        &api.get("/api/v1/ledgers/exports", &cast.auditor.token)
            .await,
        "exports",
    );
    let count = before["items"].as_array().map(Vec::len).unwrap_or_default();
    let refused = |token: String, query: String| {
        let api = &api;
        async move { download(api, &token, &query).await.status }
    };
    assert_eq!(
        refused(resident.clone(), period.clone()).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        refused(cast.b.branch.token.clone(), period.clone()).await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        refused(
            branch.token.clone(),
            format!("xiaoqu={}&from=2026-12-31&to=2026-01-01", a.id)
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        refused(branch.token.clone(), format!("{period}&format=csv")).await,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        refused(branch.token.clone(), format!("{period}&ledger=everything")).await,
        StatusCode::BAD_REQUEST
    );
    // A community's ledger from its own account covers its xiaoqu: its rows
    // are what the community may read (nothing was escalated to it), its
    // three rates count every grievance filed there, as the board does.
    let community = download(
        &api,
        &a.community.token,
        &format!("community=东苑社区&from={day}&to={day}&ledger=summary&format=csv&lang=en"),
    )
    .await;
    assert_eq!(community.status, StatusCode::OK);
    let community = String::from_utf8_lossy(&community.bytes).to_string();
    assert!(
        community.contains("Month,Filed,Accepted on time"),
        "{community}"
    );
    assert!(community.contains("\nWhole period,3,"), "{community}");

    // Every export made is in the log, who and what; refusals are not.
    let after = ok(
        &api.get("/api/v1/ledgers/exports", &cast.auditor.token)
            .await,
        "exports",
    );
    let items = after["items"].as_array().expect("items");
    assert_eq!(items.len(), count + 1, "only the community's export since");
    assert_eq!(
        count,
        1 + 4 + 1,
        "the branch's workbook, four CSV files, the company's workbook"
    );
    let last = &items[items.len() - 1];
    assert_eq!(last["event_type"], "LedgerExported");
    assert_eq!(last["aggregate_type"], "ledger_exports");
    assert_eq!(last["role"], "community");
    assert_eq!(
        last["payload"]["LedgerExported"]["request"]["ledger"],
        "summary"
    );
    assert_eq!(
        last["payload"]["LedgerExported"]["request"]["format"],
        "csv"
    );
    assert_eq!(
        last["payload"]["LedgerExported"]["request"]["scope"],
        json!({"kind": "community", "name": "东苑社区"})
    );
    api.get("/api/v1/ledgers/exports", &branch.token)
        .await
        .assert_problem(404, "not-found");
    // The exports' streams verify with the rest of the log.
    let verified = ok(
        &api.post("/api/v1/audit/verify", &cast.auditor.token, json!({}))
            .await,
        "verify",
    );
    assert_eq!(verified["ok"], json!(true), "{verified}");
}

/// `lianxi report ledger` writes the same files for the account it names,
/// and the export is recorded under that account.
async fn the_command_line_writes_a_ledger_for_an_account_and_records_it(t: TestDb) {
    let dir = TempDir::new();
    let env = [("LIANXI_DATABASE_URL", t.url.as_str())];
    let resident = lianxi_tests::resident_token(&dir.0, &env).await;
    let admin = lianxi_cli(&dir.0, &env, &["admin", "init", "--login", "root-admin"]).await;
    let password = value_of(&admin, "password");
    let server = Process::start(&dir.0, &env).await;
    let api = Api::new(&server.base);
    ok(
        &api.post(
            "/api/v1/grievances",
            &resident,
            lianxi_tests::sample_grievance(),
        )
        .await,
        "file",
    );
    let day = today();
    let out = dir.0.join("三率.csv");
    let out_text = out.to_string_lossy().to_string();
    let written = lianxi_cli(
        &dir.0,
        &env,
        &[
            "report",
            "ledger",
            "--login",
            "root-admin",
            "--xiaoqu",
            "幸福里",
            "--from",
            &day,
            "--to",
            &day,
            "--ledger",
            "summary",
            "--format",
            "csv",
            "--out",
            &out_text,
        ],
    )
    .await;
    assert_eq!(value_of(&written, "file"), out_text);
    assert_eq!(
        value_of(&written, "rows"),
        "2",
        "this month and the whole period"
    );
    let csv = std::fs::read_to_string(&out).expect("the file");
    assert!(csv.starts_with('\u{feff}'), "a BOM first");
    assert!(csv.contains("\n全期,1,"), "{csv}");
    // Not over an existing file.
    let again = tokio::process::Command::new(lianxi_tests::lianxi_binary())
        .args([
            "report",
            "ledger",
            "--login",
            "root-admin",
            "--xiaoqu",
            "幸福里",
        ])
        .args(["--from", &day, "--to", &day, "--out", &out_text])
        .current_dir(&dir.0)
        .envs(env)
        .output()
        .await
        .expect("run lianxi");
    assert!(!again.status.success());

    // The admin, signed in, finds the export under its own role.
    let session = ok(
        &Api::send(
            api.request(Method::POST, "/api/v1/auth/login", None)
                .json(&json!({"login": "root-admin", "password": password})),
        )
        .await,
        "sign in",
    );
    let token = session["token"].as_str().expect("token");
    let exports = ok(&api.get("/api/v1/ledgers/exports", token).await, "exports");
    let items = exports["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{exports}");
    assert_eq!(items[0]["role"], "admin");
    assert_eq!(
        items[0]["payload"]["LedgerExported"]["request"]["format"],
        "csv"
    );
    server.terminate().await;
}
