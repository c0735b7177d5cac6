//! The web pages over HTTP, on both stores: a resident signs in, files a
//! grievance on the form (errors next to the field, what was typed kept),
//! follows it, switches language, signs out. CSRF and security headers on
//! every step.

use std::collections::HashMap;

use lianxi_tests::{on_both_stores, Api, Cast, Server, TestDb};
use reqwest::header::{HeaderMap, CONTENT_TYPE, COOKIE, LOCATION, REFERER, SET_COOKIE};
use reqwest::{redirect, StatusCode};
use serde_json::json;

on_both_stores!(
    a_resident_signs_in_files_on_the_page_and_follows_the_grievance,
    the_branch_runs_meetings_and_mediation_on_the_pages_and_the_parties_follow,
);

const PASSWORD: &str = "a long passphrase";

/// A browser without a browser: keeps cookies, does not follow redirects.
pub(crate) struct Browser {
    client: reqwest::Client,
    base: String,
    jar: HashMap<String, String>,
}

pub(crate) struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub html: String,
}

fn form_encode(fields: &[(&str, &str)]) -> String {
    let encode = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                b' ' => "+".to_owned(),
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

impl Browser {
    fn new(base: &str) -> Browser {
        Browser {
            client: lianxi_tests::http_client()
                .redirect(redirect::Policy::none())
                .build()
                .expect("client"),
            base: base.to_owned(),
            jar: HashMap::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.jar
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub(crate) async fn send(&mut self, request: reqwest::RequestBuilder) -> Page {
        let response = request
            .header(COOKIE, self.cookie_header())
            .send()
            .await
            .expect("request");
        for cookie in response.headers().get_all(SET_COOKIE) {
            let text = cookie.to_str().unwrap_or_default();
            let pair = text.split(';').next().unwrap_or_default();
            if let Some((name, value)) = pair.split_once('=') {
                if value.is_empty() || text.contains("Max-Age=0") {
                    self.jar.remove(name);
                } else {
                    self.jar.insert(name.to_owned(), value.to_owned());
                }
            }
        }
        Page {
            status: response.status(),
            headers: response.headers().clone(),
            html: response.text().await.unwrap_or_default(),
        }
    }

    pub(crate) async fn get(&mut self, path: &str) -> Page {
        let request = self
            .client
            .get(format!("{}{path}", self.base))
            .header(REFERER, format!("{}/", self.base));
        self.send(request).await
    }

    pub(crate) async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let request = self
            .client
            .post(format!("{}{path}", self.base))
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(form_encode(fields));
        self.send(request).await
    }

    /// GETs `path` until its page holds `text` (read models follow the
    /// log a moment later); the last page either way.
    pub(crate) async fn get_until(&mut self, path: &str, text: &str) -> Page {
        let mut page = self.get(path).await;
        for _ in 0..400 {
            if page.html.contains(text) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
            page = self.get(path).await;
        }
        page
    }

    /// Posts a form that carries files, as `multipart/form-data`.
    pub(crate) async fn post_files(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        files: &[(&str, &str, &str, &[u8])],
    ) -> Page {
        let (content_type, body) = lianxi_tests::multipart_body(fields, files);
        let request = self
            .client
            .post(format!("{}{path}", self.base))
            .header(CONTENT_TYPE, content_type)
            .body(body);
        self.send(request).await
    }

    /// GETs `path` and answers the status, the type and the bytes.
    pub(crate) async fn get_bytes(&mut self, path: &str) -> (StatusCode, String, Vec<u8>) {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .header(COOKIE, self.cookie_header())
            .send()
            .await
            .expect("request");
        let kind = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let status = response.status();
        (
            status,
            kind,
            response
                .bytes()
                .await
                .map(|b| b.to_vec())
                .unwrap_or_default(),
        )
    }

    pub(crate) fn csrf(&self) -> String {
        self.jar.get("lianxi_csrf").cloned().unwrap_or_default()
    }
}

fn id_of(path: &str) -> String {
    path.trim_start_matches("/g/")
        .trim_end_matches("/filed")
        .to_owned()
}

pub(crate) fn location(page: &Page) -> &str {
    page.headers
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

/// Translation keys left in a page: `status.filed` and the like.
fn untranslated(html: &str) -> Vec<String> {
    let groups = [
        "app",
        "nav",
        "login",
        "home",
        "file",
        "grievance",
        "error",
        "category",
        "respondent",
        "urgency",
        "status",
        "tier",
        "stage",
        "event",
        "reason",
        "action",
        "rating",
        "dashboard",
        "matter",
        "party",
        "board",
        "audit",
        "stream",
        "role",
        "meetings",
        "meeting",
        "meeting_status",
        "minutes",
        "kind",
        "outcome",
        "stance",
        "list",
    ];
    let text: String = {
        // Text outside tags only: attribute values such as hrefs are not shown.
        let mut out = String::new();
        let mut in_tag = false;
        for c in html.chars() {
            match c {
                '<' => in_tag = true,
                '>' => {
                    in_tag = false;
                    out.push(' ');
                }
                c if !in_tag => out.push(c),
                _ => {}
            }
        }
        out
    };
    text.split_whitespace()
        .filter(|word| {
            groups.iter().any(|g| {
                word.strip_prefix(g)
                    .and_then(|rest| rest.strip_prefix('.'))
                    .is_some_and(|rest| {
                        !rest.is_empty()
                            && rest.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                    })
            })
        })
        .map(str::to_owned)
        .collect()
}

async fn a_resident_signs_in_files_on_the_page_and_follows_the_grievance(t: TestDb) {
    let cast = Cast::new(&t.db).await;
    let server = Server::start(&t.db).await;
    let api = Api::new(&server.base);
    let created = api
        .post(
            "/api/v1/admin/accounts",
            &cast.admin.token,
            json!({"role": "resident", "xiaoqu": cast.a.id, "personal_data": {"name": "王小明"},
                   "login": "wangxm", "password": PASSWORD}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let mut browser = Browser::new(&server.base);

    // The sign-in page: Chinese, a CSRF cookie, strict headers.
    let login = browser.get("/login").await;
    assert_eq!(login.status, StatusCode::OK);
    assert!(login.html.contains("登录名"), "{}", login.html);
    let csp = login
        .headers
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(
        csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert!(!login.html.contains("<script"));
    let csrf = browser.csrf();
    assert_eq!(csrf.len(), 32);

    // No CSRF token, no sign-in; a wrong password keeps the login typed.
    let forged = browser
        .post("/login", &[("login", "wangxm"), ("password", PASSWORD)])
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(!browser.jar.contains_key("lianxi_session"));
    let wrong = browser
        .post(
            "/login",
            &[
                ("csrf", &csrf),
                ("login", "wangxm"),
                ("password", "not the passphrase"),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.html.contains("登录名或密码不正确") && wrong.html.contains(r#"value="wangxm""#));
    let signed_in = browser
        .post(
            "/login",
            &[("csrf", &csrf), ("login", "wangxm"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER);
    assert_eq!(location(&signed_in), "/");
    assert!(browser.jar.contains_key("lianxi_session"));

    // A form with a problem comes back with the problem next to the field
    // and everything typed kept; nothing is filed.
    let form = browser.get("/file").await;
    assert_eq!(form.status, StatusCode::OK);
    let refused = browser
        .post(
            "/file",
            &[
                ("csrf", &csrf),
                ("category", "parking"),
                ("title", ""),
                ("description", "B2层车位长期被占用"),
                ("common_area", "地下车库B2"),
                ("respondent", "property_company"),
                ("urgency", "normal"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused
            .html
            .contains(r#"<p class="error" id="title-error">此项必填</p>"#),
        "{}",
        refused.html
    );
    assert!(
        refused.html.contains("B2层车位长期被占用")
            && refused.html.contains(r#"value="地下车库B2""#)
    );
    assert!(refused
        .html
        .contains(r#"<option value="parking" selected>"#));
    let listed = api.get("/api/v1/grievances", &cast.auditor.token).await;
    assert_eq!(listed.body["items"], json!([]), "nothing filed");

    let filing = [
        ("csrf", csrf.as_str()),
        ("category", "parking"),
        ("title", "地下车库车位被长期占用"),
        ("description", "B2层车位长期被占用\r\n晚上回家无处停车"),
        ("common_area", "地下车库B2"),
        ("respondent", "property_company"),
        ("urgency", "normal"),
    ];
    let filed = browser.post("/file", &filing).await;
    assert_eq!(filed.status, StatusCode::SEE_OTHER, "{}", filed.html);
    // Post/redirect/get: the confirmation names the grievance, what happens
    // next and the first deadline in plain words.
    let confirmation = location(&filed).to_owned();
    let path = confirmation
        .strip_suffix("/filed")
        .unwrap_or_else(|| panic!("not the confirmation: {confirmation}"))
        .to_owned();
    assert!(path.starts_with("/g/"), "{path}");
    let confirmed = browser.get(&confirmation).await;
    assert_eq!(confirmed.status, StatusCode::OK);
    for text in [
        "诉求已提交",
        "诉求编号",
        &path["/g/".len()..],
        "接下来会怎样",
        "小区党支部须在",
        "提交后 24 小时内",
        "上报社区",
    ] {
        assert!(
            confirmed.html.contains(text),
            "{text} not confirmed: {}",
            confirmed.html
        );
    }
    assert_eq!(untranslated(&confirmed.html), Vec::<String>::new());

    let page = browser.get(&path).await;
    assert_eq!(page.status, StatusCode::OK);
    for text in ["地下车库车位被长期占用", "已提交", "受理", "提交诉求"] {
        assert!(page.html.contains(text), "{text} not on the page");
    }
    assert_eq!(untranslated(&page.html), Vec::<String>::new());
    // The description keeps its line break (a browser sends CRLF).
    assert!(
        page.html
            .contains("<p class=\"prose\">B2层车位长期被占用\r\n晚上回家无处停车</p>")
            || page
                .html
                .contains("<p class=\"prose\">B2层车位长期被占用\n晚上回家无处停车</p>"),
        "{}",
        page.html
    );
    // The list is a read model a moment behind the log.
    let mut listed = false;
    for _ in 0..200 {
        if browser.get("/").await.html.contains(&path) {
            listed = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(listed, "the list links the grievance");
    // Filing the same matter again (the back button, a second thought):
    // the resident's own grievance is offered to follow, nothing is filed.
    // (The list that likely duplicates come from has caught up above.)
    let again = browser.post("/file", &filing).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.html);
    assert!(
        again.html.contains("您已提交过相似的诉求"),
        "{}",
        again.html
    );
    assert!(
        again.html.contains(&format!(
            r#"<a class="button" id="follow-own" href="{path}">"#
        )),
        "{}",
        again.html
    );
    let all = api.get("/api/v1/grievances", &cast.auditor.token).await;
    assert_eq!(
        all.body["items"].as_array().map(Vec::len),
        Some(1),
        "filed once"
    );

    // English, everywhere the journey went.
    let switched = browser.get("/lang/en").await;
    assert_eq!(switched.status, StatusCode::SEE_OTHER);
    for (path, english) in [
        (path.as_str(), "Filed"),
        ("/", "My grievances"),
        ("/file", "File a grievance"),
    ] {
        let page = browser.get(path).await;
        assert!(page.html.contains(english), "{path}: {}", page.html);
        assert_eq!(untranslated(&page.html), Vec::<String>::new(), "{path}");
        for chinese in ["我的诉求", "已提交", "提交诉求", "登录"] {
            assert!(!page.html.contains(chinese), "{path} still says {chinese}");
        }
    }

    // The branch and the company carry it to resolution; on the page the
    // resident rates the outcome, then asks to reopen it.
    let branch_account = api
        .post(
            "/api/v1/admin/accounts",
            &cast.admin.token,
            json!({"role": "party_branch", "xiaoqu": cast.a.id, "personal_data": {"name": "李书记"},
                   "login": "lishuji", "password": PASSWORD}),
        )
        .await;
    assert_eq!(
        branch_account.status,
        StatusCode::CREATED,
        "{}",
        branch_account.body
    );
    let mut branch = Browser::new(&server.base);
    branch.get("/login").await;
    let branch_csrf = branch.csrf();
    let signed_in = branch
        .post(
            "/login",
            &[
                ("csrf", &branch_csrf),
                ("login", "lishuji"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER);
    // The branch's page is its queue, with the new grievance and its due time.
    let mut queued = None;
    for _ in 0..200 {
        let page = branch.get("/").await;
        if page.html.contains(&path) {
            queued = Some(page);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let queue = queued.expect("the grievance in the branch's queue");
    assert!(
        queue.html.contains("待办队列") && queue.html.contains("期限"),
        "{}",
        queue.html
    );
    assert_eq!(untranslated(&queue.html), Vec::<String>::new());
    let handling = branch.get(&path).await;
    assert!(handling.html.contains("受理") && !handling.html.contains("撤回诉求"));
    for (action, fields) in [
        ("accept", vec![]),
        (
            "triage",
            vec![("matter_class", "minor"), ("party", "property_company")],
        ),
        (
            "assign",
            vec![("party", "property_company"), ("reason", "三天内划线")],
        ),
    ] {
        let mut form = vec![("csrf", branch_csrf.as_str())];
        form.extend(fields);
        let done = branch.post(&format!("{path}/{action}"), &form).await;
        assert_eq!(
            done.status,
            StatusCode::SEE_OTHER,
            "{action}: {}",
            done.html
        );
    }
    // The property company answers on its page, the filer out of sight.
    let company_account = api
        .post(
            "/api/v1/admin/accounts",
            &cast.admin.token,
            json!({"role": "property_company", "xiaoqu": cast.a.id, "personal_data": {"name": "物业客服"},
                   "login": "wuye", "password": PASSWORD}),
        )
        .await;
    assert_eq!(
        company_account.status,
        StatusCode::CREATED,
        "{}",
        company_account.body
    );
    let mut company = Browser::new(&server.base);
    company.get("/login").await;
    let company_csrf = company.csrf();
    company
        .post(
            "/login",
            &[
                ("csrf", &company_csrf),
                ("login", "wuye"),
                ("password", PASSWORD),
            ],
        )
        .await;
    let inbox = company.get(&path).await;
    assert!(
        inbox.html.contains("提交答复") && !inbox.html.contains("王小明"),
        "{}",
        inbox.html
    );
    // Nothing typed: the server's message, in the page's language, in the
    // form that was sent (the forms leave checking to the server); nothing
    // is recorded.
    let empty = company
        .post(
            &format!("{path}/respond"),
            &[("csrf", &company_csrf), ("summary", "  ")],
        )
        .await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        empty
            .html
            .contains(r#"<p class="error" id="respond-error" role="alert">答复内容：此项必填</p>"#),
        "{}",
        empty.html
    );
    assert!(empty.html.contains(r#"aria-describedby="respond-error""#));
    assert!(!company.get(&path).await.html.contains("已答复"));
    // A respondent neither files nor is offered the form.
    assert!(!inbox.html.contains(r#"href="/file""#), "{}", inbox.html);
    let responded = company
        .post(
            &format!("{path}/respond"),
            &[
                ("csrf", &company_csrf),
                ("summary", "已联系车主，周五前划线"),
            ],
        )
        .await;
    assert_eq!(
        responded.status,
        StatusCode::SEE_OTHER,
        "{}",
        responded.html
    );
    let again = company
        .post(
            &format!("{path}/respond"),
            &[("csrf", &company_csrf), ("summary", "再答一次")],
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "no second answer");
    let resolved = branch
        .post(
            &format!("{path}/resolve"),
            &[("csrf", &branch_csrf), ("summary", "已划线并张贴告示")],
        )
        .await;
    assert_eq!(resolved.status, StatusCode::SEE_OTHER, "{}", resolved.html);
    // Another visitor's CSRF token does not pass.
    let foreign = branch
        .post(&format!("{path}/accept"), &[("csrf", &csrf)])
        .await;
    assert_eq!(foreign.status, StatusCode::FORBIDDEN);
    let resolved = browser.get(&path).await;
    assert!(
        resolved.html.contains("Rate the outcome")
            && resolved.html.contains("Ask to reopen")
            && !resolved.html.contains("Withdraw the grievance"),
        "{}",
        resolved.html
    );
    assert_eq!(untranslated(&resolved.html), Vec::<String>::new());
    let rate = format!("{path}/rate");
    let forged = browser.post(&rate, &[("rating", "unsatisfied")]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let rated = browser
        .post(
            &rate,
            &[
                ("csrf", &csrf),
                ("rating", "unsatisfied"),
                ("comment", "还是有车占位"),
            ],
        )
        .await;
    assert_eq!(rated.status, StatusCode::SEE_OTHER);
    assert!(browser.get(&path).await.html.contains("Closed"));
    let reopened = browser
        .post(
            &format!("{path}/reopen"),
            &[("csrf", &csrf), ("reason", "占位车辆又回来了")],
        )
        .await;
    assert_eq!(reopened.status, StatusCode::SEE_OTHER);
    assert_eq!(location(&reopened), format!("{path}?done=reopen"));
    let page = browser.get(&format!("{path}?done=reopen")).await;
    assert!(page.html.contains("Assigned") && page.html.contains("Withdraw the grievance"));
    // The notice of what was just done; withdrawing is last, behind a
    // confirm step that says what it means.
    assert!(
        page.html
            .contains(r#"<p class="done" role="status">Reopening asked; the party branch takes it up again.</p>"#),
        "{}",
        page.html
    );
    let timeline = page
        .html
        .find("<ol class=\"timeline\">")
        .expect("the timeline");
    let withdraw = page
        .html
        .find("<details class=\"danger\">")
        .expect("withdrawing folded away");
    assert!(
        timeline < withdraw,
        "withdrawing comes after everything else"
    );
    assert!(page.html[withdraw..].contains("it cannot be restored"));
    assert!(page.html[withdraw..].contains(">Withdraw it</button>"));
    // The aggregate has the last word: rating an open grievance is refused.
    let refused = browser
        .post(&rate, &[("csrf", &csrf), ("rating", "satisfied")])
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT);

    // The public board: figures and their trend, no sign-in, nobody named.
    let mut anyone = Browser::new(&server.base);
    // Figures come from the read model, a moment behind the log.
    let mut board = anyone.get(&format!("/board/{}", cast.a.id)).await;
    for _ in 0..200 {
        if board.html.contains("100%") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        board = anyone.get(&format!("/board/{}", cast.a.id)).await;
    }
    assert_eq!(board.status, StatusCode::OK);
    assert!(
        board.html.contains("诉求办理公示") && board.html.contains("<svg"),
        "{}",
        board.html
    );
    assert!(
        board.html.contains("100%"),
        "resolved once of one: {}",
        board.html
    );
    assert!(board.html.contains("<rect") && board.html.contains("<title>"));
    for secret in ["王小明", "wangxm", &id_of(&path)] {
        assert!(!board.html.contains(secret), "the board shows {secret}");
    }
    assert_eq!(untranslated(&board.html), Vec::<String>::new());
    let nowhere = anyone
        .get("/board/00000000-0000-0000-0000-000000000009")
        .await;
    assert_eq!(nowhere.status, StatusCode::NOT_FOUND);

    // An auditor reads the case's story, checks its integrity, asks for
    // its state before it was filed and at a bad instant, and downloads the
    // dossier; a resident may not open the audit page.
    let auditor_account = api
        .post(
            "/api/v1/admin/accounts",
            &cast.admin.token,
            json!({"role": "auditor", "personal_data": {"name": "审计员"},
                   "login": "shenji", "password": PASSWORD}),
        )
        .await;
    assert_eq!(auditor_account.status, StatusCode::CREATED);
    let mut auditor = Browser::new(&server.base);
    auditor.get("/login").await;
    let auditor_csrf = auditor.csrf();
    let signed_in = auditor
        .post(
            "/login",
            &[
                ("csrf", &auditor_csrf),
                ("login", "shenji"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER);
    let id = id_of(&path);
    let case = auditor.get(&path).await;
    assert!(case.html.contains(&format!("/audit/{id}")), "{}", case.html);
    // The auditor's navigation offers what an auditor does: no filing form,
    // a home titled for every grievance, each with its audit link.
    assert!(!case.html.contains(r#"href="/file""#), "{}", case.html);
    let home = auditor.get("/").await;
    assert!(home.html.contains("全部诉求（审计）") && !home.html.contains("我的诉求"));
    assert!(
        home.html.contains(&format!(r#"href="/audit/{id}""#)),
        "{}",
        home.html
    );
    let audit = auditor.get(&format!("/audit/{id}")).await;
    assert_eq!(audit.status, StatusCode::OK);
    for expected in [
        "本案每条记录流均通过校验",
        "GrievanceFiled",
        "OutcomeRated",
        "居民",
        "小区党支部",
        "/dossier?format=json",
    ] {
        assert!(
            audit.html.contains(expected),
            "no {expected}: {}",
            audit.html
        );
    }
    for secret in ["王小明", "wangxm"] {
        assert!(
            !audit.html.contains(secret),
            "the audit page shows {secret}"
        );
    }
    assert_eq!(untranslated(&audit.html), Vec::<String>::new());
    let before = auditor
        .get(&format!("/audit/{id}?as_of=2000-01-01T00%3A00%3A00Z"))
        .await;
    assert!(
        before.html.contains("该时刻诉求尚未提交"),
        "{}",
        before.html
    );
    let later = auditor
        .get(&format!(
            "/audit/{id}?as_of=2100-01-01T00%3A00%3A00%2B08%3A00"
        ))
        .await;
    assert!(later.html.contains("当时已记录的事件数"), "{}", later.html);
    let bad = auditor.get(&format!("/audit/{id}?as_of=yesterday")).await;
    assert_eq!(bad.status, StatusCode::OK);
    assert!(
        bad.html.contains(r#"value="yesterday""#) && bad.html.contains(r#"id="as_of-error""#),
        "the typed instant is kept and the error is next to it: {}",
        bad.html
    );
    let printable = auditor.get(&format!("/audit/{id}/dossier")).await;
    assert_eq!(printable.status, StatusCode::OK);
    let disposition = |page: &Page| {
        page.headers
            .get("content-disposition")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(
        disposition(&printable),
        format!("attachment; filename=\"dossier-{id}.html\"")
    );
    assert!(printable.html.contains("<html"));
    let file = auditor
        .get(&format!("/audit/{id}/dossier?format=json"))
        .await;
    assert!(disposition(&file).ends_with(".json\""));
    let dossier: serde_json::Value = serde_json::from_str(&file.html).expect("JSON dossier");
    assert_eq!(dossier["format"], "lianxi-dossier-v1");
    assert!(dossier["streams"][0]["chain"]["ok"]
        .as_bool()
        .unwrap_or(false));
    auditor.get("/lang/en").await;
    let english = auditor.get(&format!("/audit/{id}")).await;
    assert!(english.html.contains("Every stream of this case verifies"));
    assert_eq!(untranslated(&english.html), Vec::<String>::new());
    let refused = browser.get(&format!("/audit/{id}")).await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND);
    let refused = browser.get(&format!("/audit/{id}/dossier")).await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND);

    // Another person's grievance is not there; signing out ends the session.
    let other = browser.get("/g/00000000-0000-0000-0000-000000000001").await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);
    let session = browser
        .jar
        .get("lianxi_session")
        .cloned()
        .unwrap_or_default();
    let out = browser.post("/logout", &[("csrf", &csrf)]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(location(&out), "/login");
    browser.jar.insert("lianxi_session".into(), session);
    let after = browser.get("/").await;
    assert_eq!(
        after.status,
        StatusCode::SEE_OTHER,
        "the old session is revoked"
    );
    assert_eq!(location(&after), "/login");
    server.stop().await;
}

/// Creates an account with a password through the admin API and signs it
/// in on the login page.
pub(crate) async fn signed_in(
    server: &Server,
    cast: &Cast,
    account: serde_json::Value,
    login: &str,
) -> Browser {
    signed_in_as(server, cast, account, login).await.0
}

/// As [`signed_in`], with the new account's id.
pub(crate) async fn signed_in_as(
    server: &Server,
    cast: &Cast,
    account: serde_json::Value,
    login: &str,
) -> (Browser, String) {
    let api = Api::new(&server.base);
    let mut account = account;
    account["login"] = json!(login);
    account["password"] = json!(PASSWORD);
    let created = api
        .post("/api/v1/admin/accounts", &cast.admin.token, account)
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let mut browser = Browser::new(&server.base);
    browser.get("/login").await;
    let csrf = browser.csrf();
    let page = browser
        .post(
            "/login",
            &[("csrf", &csrf), ("login", login), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{login} signs in");
    let id = created.body["account"]["id"]
        .as_str()
        .expect("the new account's id")
        .to_owned();
    (browser, id)
}

/// A `datetime-local` value `days` from now, China time.
fn local_time(days: i64) -> String {
    let china = chrono::FixedOffset::east_opt(8 * 3600).expect("UTC+8");
    (chrono::Utc::now() + chrono::TimeDelta::days(days))
        .with_timezone(&china)
        .format("%Y-%m-%dT%H:%M")
        .to_string()
}

async fn the_branch_runs_meetings_and_mediation_on_the_pages_and_the_parties_follow(t: TestDb) {
    let cast = Cast::new(&t.db).await;
    let server = Server::start(&t.db).await;
    let api = Api::new(&server.base);
    let a = &cast.a;
    // A parking dispute triaged as a minor matter and referred to the meeting.
    let mut body = lianxi_tests::sample_grievance();
    body["category"] = json!("parking");
    body["title"] = json!("地下车库公共车位被长期占用");
    let filed = api
        .post("/api/v1/grievances", &a.resident.token, body)
        .await;
    let id = lianxi_tests::ok(&filed, "file")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    api.command(&id, "accept", &a.branch, json!({})).await;
    api.command(
        &id,
        "triage",
        &a.branch,
        json!({"matter_class": "minor", "party": "property_company"}),
    )
    .await;
    api.command(&id, "refer-to-meeting", &a.branch, json!({}))
        .await;

    let mut branch = signed_in(
        &server,
        &cast,
        json!({"role": "party_branch", "xiaoqu": a.id, "personal_data": {"name": "李书记"}}),
        "lishuji",
    )
    .await;
    // The read model behind the proposed agenda catches up.
    let mut list = String::new();
    for _ in 0..400 {
        list = branch.get("/meetings").await.html;
        if list.contains("地下车库公共车位被长期占用") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert!(list.contains("地下车库公共车位被长期占用"), "{list}");
    assert!(list.contains(r#"name="scheduled_for""#), "{list}");
    assert_eq!(untranslated(&list), Vec::<String>::new());
    let item = format!("grievance:{id}");
    let csrf = branch.csrf();

    // A time in the past is refused next to its field; what was typed stays.
    let past = branch
        .post(
            "/meetings",
            &[
                ("csrf", &csrf),
                ("kind", "regular"),
                ("scheduled_for", &local_time(-1)),
                ("place", "小区党群服务站"),
                ("item", &item),
            ],
        )
        .await;
    assert_eq!(
        past.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        past.html
    );
    assert!(
        past.html.contains(r#"id="scheduled_for-error""#),
        "{}",
        past.html
    );
    assert!(past.html.contains("请选择一个将来的日期和时间"));
    assert!(past.html.contains(r#"value="小区党群服务站""#));
    assert!(
        past.html.contains(" checked>"),
        "the chosen item stays ticked"
    );
    let convened = branch
        .post(
            "/meetings",
            &[
                ("csrf", &csrf),
                ("kind", "regular"),
                ("scheduled_for", &local_time(1)),
                ("place", "小区党群服务站"),
                ("item", &item),
            ],
        )
        .await;
    assert_eq!(convened.status, StatusCode::SEE_OTHER, "{}", convened.html);
    let landed = location(&convened).to_owned();
    let meeting = landed
        .strip_suffix("?done=convene")
        .unwrap_or_else(|| panic!("no notice asked for: {landed}"))
        .to_owned();
    assert!(meeting.starts_with("/meetings/"), "{meeting}");
    let page = branch.get(&landed).await;
    assert!(page.html.contains("已召集") && page.html.contains("地下车库公共车位被长期占用"));
    assert!(
        page.html
            .contains(r#"<p class="done" role="status">会议已召集"#),
        "{}",
        page.html
    );
    // On a convened meeting's agenda, the matter is no longer proposed.
    let ticked = format!(r#"value="{item}""#);
    let mut list = String::new();
    for _ in 0..400 {
        list = branch.get("/meetings").await.html;
        if !list.contains(&ticked) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert!(!list.contains(&ticked), "still proposed: {list}");

    // Two parties are no quorum; four are.
    let open = format!("{meeting}/open");
    let short = branch
        .post(
            &open,
            &[
                ("csrf", &csrf),
                ("present", "party_branch"),
                ("present", "owners_committee"),
            ],
        )
        .await;
    assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(short.html.contains("未达到法定人数"), "{}", short.html);
    let opened = branch
        .post(
            &open,
            &[
                ("csrf", &csrf),
                ("present", "party_branch"),
                ("present", "owners_committee"),
                ("present", "supervisory_committee"),
                ("present", "property_company"),
            ],
        )
        .await;
    assert_eq!(opened.status, StatusCode::SEE_OTHER, "{}", opened.html);
    let page = branch.get(&meeting).await;
    assert!(page.html.contains("会议进行中") && page.html.contains("已达到"));
    let item_id = page
        .html
        .split(r#"name="item" value=""#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the decision form names its item")
        .to_owned();

    // A decision without its discussion is refused; the decision typed stays.
    let decide = format!("{meeting}/decide");
    let due = local_time(14)[..10].to_owned();
    let mut fields = vec![
        ("csrf", csrf.as_str()),
        ("item", item_id.as_str()),
        ("summary", ""),
        ("decision", "划定访客临时车位,物业两周内完成标线"),
        ("stance_party_branch", "agree"),
        ("stance_owners_committee", "agree"),
        ("stance_supervisory_committee", "abstain"),
        ("stance_property_company", "object"),
        ("action_owner", "property_company"),
        ("action_description", "完成地下车库访客车位标线"),
        ("action_due", due.as_str()),
    ];
    let refused = branch.post(&decide, &fields).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.html.contains("请填写讨论情况"), "{}", refused.html);
    assert!(refused.html.contains("划定访客临时车位,物业两周内完成标线"));
    fields[2] = (
        "summary",
        "业委会与物业就占用公共车位的车辆处理方式充分讨论",
    );
    let decided = branch.post(&decide, &fields).await;
    assert_eq!(decided.status, StatusCode::SEE_OTHER, "{}", decided.html);
    let page = branch.get(&meeting).await;
    assert!(page.html.contains("已决议"), "{}", page.html);
    assert!(page.html.contains("物业服务企业：反对"), "{}", page.html);
    assert!(page.html.contains("完成地下车库访客车位标线"));

    // The property company marks its action item done.
    let mut company = signed_in(
        &server,
        &cast,
        json!({"role": "property_company", "xiaoqu": a.id, "personal_data": {"name": "物业经理"}}),
        "wuye",
    )
    .await;
    let home = company.get_until("/", "完成地下车库访客车位标线").await;
    assert!(
        home.html.contains("本方待办")
            && home.html.contains("会议督办事项")
            && home.html.contains("完成地下车库访客车位标线")
            && home.html.contains(&format!(r#"href="{meeting}""#)),
        "the company's to-do list: {}",
        home.html
    );
    let page = company.get(&meeting).await;
    assert!(page.html.contains("标记为已办结"), "{}", page.html);
    let action_item = page
        .html
        .split(r#"name="action_item" value=""#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the completion form names its action item")
        .to_owned();
    let company_csrf = company.csrf();
    let done = company
        .post(
            &format!("{meeting}/complete"),
            &[("csrf", &company_csrf), ("action_item", &action_item)],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.html);
    assert!(company.get(&meeting).await.html.contains("已办结"));
    let forged = company
        .post(
            &format!("{meeting}/close"),
            &[("action_item", &action_item)],
        )
        .await;
    assert_eq!(
        forged.status,
        StatusCode::FORBIDDEN,
        "a form without the CSRF token"
    );

    // The branch closes the meeting and publishes the minutes.
    let closed = branch
        .post(
            &format!("{meeting}/close"),
            &[
                ("csrf", &csrf),
                ("public_summary", "本次会议议定地下车库访客车位方案"),
            ],
        )
        .await;
    assert_eq!(closed.status, StatusCode::SEE_OTHER, "{}", closed.html);
    let page = branch.get(&meeting).await;
    assert!(page.html.contains("已结束，纪要已公开"));
    assert_eq!(untranslated(&page.html), Vec::<String>::new());

    // A resident of the xiaoqu reads the public minutes: no personal data.
    let mut resident = signed_in(
        &server,
        &cast,
        json!({"role": "resident", "xiaoqu": a.id, "personal_data": {"name": "赵大爷", "phone": "13700001111"}}),
        "zhaodaye",
    )
    .await;
    let listed = resident.get_until("/meetings", &meeting).await;
    assert!(listed.html.contains(&meeting), "{}", listed.html);

    // Filing what looks like an open grievance of the xiaoqu shows it
    // first (without its filer's data); filing anyway goes through.
    let mut neighbour = signed_in(
        &server,
        &cast,
        json!({"role": "resident", "xiaoqu": a.id, "personal_data": {"name": "钱阿姨"}}),
        "qianayi",
    )
    .await;
    let neighbour_csrf = neighbour.csrf();
    let first = neighbour
        .post(
            "/file",
            &[
                ("csrf", neighbour_csrf.as_str()),
                ("category", "parking"),
                ("title", "3号楼地下车库车位被占用,钱阿姨反映"),
                ("description", "访客车辆占用业主车位"),
                ("common_area", "地下车库"),
                ("respondent", "property_company"),
                ("urgency", "normal"),
                ("confirmed", "1"),
            ],
        )
        .await;
    assert_eq!(first.status, StatusCode::SEE_OTHER, "{}", first.html);
    let resident_csrf = resident.csrf();
    let typed = [
        ("csrf", resident_csrf.as_str()),
        ("category", "parking"),
        ("title", "地下车库车位被占用"),
        ("description", "访客车辆长期占用车位"),
        ("common_area", "地下车库"),
        ("respondent", "property_company"),
        ("urgency", "normal"),
    ];
    let mut suggested = String::new();
    for _ in 0..400 {
        let page = resident.post("/file", &typed).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.html);
        if page.html.contains("3号楼地下车库车位被占用,") {
            suggested = page.html;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert!(suggested.contains("小区里是否已有人反映"), "{suggested}");
    assert!(
        !suggested.contains("钱阿姨"),
        "a suggestion shows its filer's name"
    );
    assert!(suggested.contains("3号楼地下车库车位被占用,＊＊＊反映"));
    assert!(suggested.contains(r#"name="confirmed" value="1""#));
    assert!(
        suggested.contains(r#"value="地下车库车位被占用""#),
        "what was typed stays"
    );
    let mut anyway = typed.to_vec();
    anyway.push(("confirmed", "1"));
    let filed = resident.post("/file", &anyway).await;
    assert_eq!(filed.status, StatusCode::SEE_OTHER, "{}", filed.html);
    assert!(location(&filed).starts_with("/g/"));

    // The branch opens a mediation case for the neighbour's grievance on
    // the pages; the agreement's obligation shows on the company's to-do.
    let neighbours = id_of(location(&first));
    api.command(&neighbours, "accept", &a.branch, json!({}))
        .await;
    // Accepted but not triaged: the grievance could not enter mediation,
    // so the page offers no case (the grievance's own rule, dry run).
    let new_case = format!("/cases/new?grievance={neighbours}");
    let page = branch.get(&format!("/g/{neighbours}")).await;
    assert!(!page.html.contains(&new_case), "{}", page.html);
    api.command(
        &neighbours,
        "triage",
        &a.branch,
        json!({"matter_class": "private", "party": "property_company"}),
    )
    .await;
    let page = branch.get(&format!("/g/{neighbours}")).await;
    assert!(page.html.contains(&new_case), "{}", page.html);
    let form = branch.get(&new_case).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(
        form.html.contains(r#"value="3号楼地下车库车位被占用"#),
        "{}",
        form.html
    );
    let opening = |matter: &'static str| {
        [
            ("csrf", csrf.clone()),
            ("grievance", neighbours.clone()),
            ("matter", matter.to_owned()),
            ("respondent", "property_company".to_owned()),
        ]
    };
    let fields = opening("");
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let refused = branch.post("/cases", &fields).await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.html
    );
    assert!(refused.html.contains("请填写调解事项"), "{}", refused.html);
    let fields = opening("地下车库车位占用纠纷");
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let opened = branch.post("/cases", &fields).await;
    assert_eq!(opened.status, StatusCode::SEE_OTHER, "{}", opened.html);
    let landed = location(&opened).to_owned();
    let case_page = landed.trim_end_matches("?done=open").to_owned();
    let case = case_page.trim_start_matches("/cases/").to_owned();
    let page = branch.get(&landed).await;
    assert!(page.html.contains("调解案件已发起"), "{}", page.html);
    assert!(
        page.html.contains("调解中") && page.html.contains("物业服务企业"),
        "{}",
        page.html
    );
    assert_eq!(untranslated(&page.html), Vec::<String>::new());
    let path = |tail: &str| format!("/api/v1/mediation-cases/{case}{tail}");
    let now = chrono::Utc::now();
    lianxi_tests::ok(
        &api.post(
            &path("/sessions"),
            &a.branch.token,
            json!({"scheduled_for": now + chrono::TimeDelta::hours(2), "place": "调解室"}),
        )
        .await,
        "schedule",
    );
    let company_party = json!({"kind": "party", "id": "property_company"});
    let records = api.get(&path(""), &a.branch.token).await.body["applicants"].clone();
    let mut attendance = records.as_array().cloned().unwrap_or_default();
    attendance.push(company_party.clone());
    lianxi_tests::ok(
        &api.post(
            &path("/sessions/1/record"),
            &a.branch.token,
            json!({"attendance": attendance}),
        )
        .await,
        "record",
    );
    lianxi_tests::ok(
        &api.post(
            &path("/proposal"),
            &a.branch.token,
            json!({"terms": "物业清理占用车位的访客车辆",
                   "obligations": [{"party": company_party, "description": "三天内贴出车位使用公告",
                                    "due_at": now + chrono::TimeDelta::days(3)}]}),
        )
        .await,
        "propose",
    );
    for browser in [&neighbour, &company] {
        let token = browser
            .jar
            .get("lianxi_session")
            .cloned()
            .unwrap_or_default();
        lianxi_tests::ok(
            &api.post(&path("/proposal/acceptance"), &token, json!({}))
                .await,
            "accept the proposal",
        );
    }
    let home = company.get_until("/", "三天内贴出车位使用公告").await;
    assert!(
        home.html.contains("调解协议义务")
            && home.html.contains("三天内贴出车位使用公告")
            && home.html.contains(&format!(r#"href="/cases/{case}""#)),
        "{}",
        home.html
    );
    let page = company.get(&case_page).await;
    assert!(
        page.html.contains("调解协议") && page.html.contains("待履行"),
        "{}",
        page.html
    );
    // The grievance follows its case a moment later (the follow-up worker).
    let mut page = branch.get(&format!("/g/{neighbours}")).await;
    for _ in 0..400 {
        if page.html.contains(&format!(r#"href="{case_page}""#)) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        page = branch.get(&format!("/g/{neighbours}")).await;
    }
    assert!(
        page.html.contains(&format!(r#"href="{case_page}""#)),
        "{}",
        page.html
    );
    assert!(
        !listed.html.contains(r#"name="scheduled_for""#),
        "residents do not convene"
    );
    let minutes = resident.get(&format!("{meeting}/minutes")).await;
    assert_eq!(minutes.status, StatusCode::OK);
    for expected in [
        "会议纪要",
        "划定访客临时车位",
        "物业服务企业：反对",
        "本次会议议定地下车库访客车位方案",
        "已办结",
    ] {
        assert!(
            minutes.html.contains(expected),
            "no {expected}: {}",
            minutes.html
        );
    }
    for secret in ["李书记", "物业经理", "赵大爷", "13700001111"] {
        assert!(!minutes.html.contains(secret), "the minutes show {secret}");
    }
    resident.get("/lang/en").await;
    let english = resident.get(&format!("{meeting}/minutes")).await;
    assert!(english.html.contains("Minutes") && english.html.contains("Property company: Object"));
    assert_eq!(untranslated(&english.html), Vec::<String>::new());
    server.stop().await;
}
