//! Webhooks: signed deliveries of the changes an account may see (checked
//! with the Standard Webhooks verifier as published), retried with the
//! same event id until answered, dead letters after the last attempt (and
//! queued again on request), nothing for an account that may not see the
//! grievance; and nothing ever sent inside the service's network: private,
//! loopback and metadata addresses, names resolving to them, a URL that
//! parses to another host, and redirects.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use hmac::{Hmac, Mac};
use lianxi_gateway::server::Service;
use lianxi_tests::{on_both_stores, quick_background, test_vault, Api, Cast, Server, TestDb};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::Sha256;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

on_both_stores!(
    deliveries_are_signed_retried_with_one_event_id_and_dead_lettered,
    webhooks_reach_nothing_inside,
);

/// One request a receiver got, and the status it answered.
#[derive(Clone, Debug)]
struct Received {
    event_id: String,
    timestamp: String,
    signature: String,
    /// The Standard Webhooks headers: id, timestamp, signature.
    standard: [String; 3],
    body: String,
    answered: u16,
}

/// A webhook receiver on loopback that fails its first `failures` requests.
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    async fn start(failures: usize) -> Receiver {
        Self::start_on("127.0.0.1:0", failures, None).await
    }

    /// On `address`; answering `307` to `redirect_to` when given.
    async fn start_on(address: &str, failures: usize, redirect_to: Option<String>) -> Receiver {
        let listener = tokio::net::TcpListener::bind(address).await.expect("bind");
        let url = format!("http://{}/hook", listener.local_addr().expect("address"));
        let got: Arc<Mutex<Vec<Received>>> = Arc::default();
        let seen = got.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let seen = seen.clone();
                let redirect_to = redirect_to.clone();
                tokio::spawn(async move {
                    let mut raw = Vec::new();
                    let mut buf = [0u8; 4096];
                    let (head, body) = loop {
                        let Ok(n) = socket.read(&mut buf).await else {
                            return;
                        };
                        if n == 0 {
                            return;
                        }
                        raw.extend_from_slice(&buf[..n]);
                        let text = String::from_utf8_lossy(&raw).to_string();
                        if let Some(end) = text.find("\r\n\r\n") {
                            // Names are case-insensitive; values are kept as sent.
                            let head = text[..end].to_owned();
                            let length: usize = head
                                .lines()
                                .find_map(|l| {
                                    l.split_once(':')
                                        .filter(|(n, _)| n.eq_ignore_ascii_case("content-length"))
                                        .map(|(_, v)| v)
                                })
                                .and_then(|v| v.trim().parse().ok())
                                .unwrap_or(0);
                            if raw.len() >= end + 4 + length {
                                let body = String::from_utf8_lossy(&raw[end + 4..end + 4 + length])
                                    .to_string();
                                break (head, body);
                            }
                        }
                    };
                    let header = |name: &str| {
                        head.lines()
                            .find_map(|l| {
                                l.split_once(':')
                                    .filter(|(n, _)| n.eq_ignore_ascii_case(name))
                                    .map(|(_, v)| v)
                            })
                            .map(|v| v.trim().to_owned())
                            .unwrap_or_default()
                    };
                    let answered = {
                        let mut seen = seen.lock().expect("lock");
                        let answered = match (&redirect_to, seen.len() < failures) {
                            (Some(_), _) => 307,
                            (None, true) => 500,
                            (None, false) => 200,
                        };
                        seen.push(Received {
                            event_id: header("lianxi-event-id"),
                            timestamp: header("lianxi-timestamp"),
                            signature: header("lianxi-signature"),
                            standard: [
                                header("webhook-id"),
                                header("webhook-timestamp"),
                                header("webhook-signature"),
                            ],
                            body,
                            answered,
                        });
                        answered
                    };
                    let location = redirect_to
                        .map(|to| format!("location: {to}\r\n"))
                        .unwrap_or_default();
                    let reply = format!(
                        "HTTP/1.1 {answered} X\r\n{location}content-length: 0\r\nconnection: close\r\n\r\n"
                    );
                    let _ = socket.write_all(reply.as_bytes()).await;
                });
            }
        });
        Receiver { url, got }
    }

    fn received(&self) -> Vec<Received> {
        self.got.lock().expect("lock").clone()
    }
}

fn signed(secret: &str, timestamp: &str, body: &str) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).expect("key");
    mac.update(format!("{timestamp}.{body}").as_bytes());
    format!("v1={}", hex::encode(mac.finalize().into_bytes()))
}

async fn deliveries_are_signed_retried_with_one_event_id_and_dead_lettered(t: TestDb) {
    let cast = Cast::new(&t.db).await;
    let server = Server::start(&t.db).await;
    let api = Api::new(&server.base);
    let a = &cast.a;

    // Residents follow changes on the pages and the event stream.
    api.post(
        "/api/v1/webhooks",
        &a.resident.token,
        json!({"url": "http://127.0.0.1:9/hook"}),
    )
    .await
    .assert_problem(403, "forbidden");
    // Bad URLs are refused and nothing is subscribed.
    api.post(
        "/api/v1/webhooks",
        &a.branch.token,
        json!({"url": "ftp://example.org/x"}),
    )
    .await
    .assert_problem(422, "invalid-field")
    .assert_field("url");

    // The branch's receiver fails its first two requests.
    let receiver = Receiver::start(2).await;
    let created = api
        .post(
            "/api/v1/webhooks",
            &a.branch.token,
            json!({"url": receiver.url}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let secret = created.body["secret"].as_str().expect("secret").to_owned();
    assert_eq!(secret.len(), 64);
    let signing_secret = created.body["signing_secret"]
        .as_str()
        .expect("the Standard Webhooks secret")
        .to_owned();
    assert!(signing_secret.starts_with("whsec_"));
    let verifier = standardwebhooks::Webhook::new(&signing_secret).expect("a verifier");
    let subscription = created.body["id"].as_str().expect("id").to_owned();
    let listed = api.get("/api/v1/webhooks", &a.branch.token).await;
    assert_eq!(listed.body["items"][0]["id"], subscription.as_str());
    assert!(
        listed.body["items"][0].get("secret").is_none(),
        "the secret is shown once"
    );
    // Another xiaoqu's branch subscribes too: it may see none of this.
    let elsewhere = Receiver::start(0).await;
    api.post(
        "/api/v1/webhooks",
        &cast.b.branch.token,
        json!({"url": elsewhere.url}),
    )
    .await;
    // The property company subscribes a receiver that is not there: dead letters.
    let gone = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let gone_url = format!("http://{}/hook", gone.local_addr().expect("address"));
    drop(gone);
    let dead = api
        .post(
            "/api/v1/webhooks",
            &a.company.token,
            json!({"url": gone_url}),
        )
        .await;
    let dead_id = dead.body["id"].as_str().expect("id").to_owned();

    let id = api.file(&a.resident).await;
    api.command(&id, "accept", &a.branch, json!({})).await;

    // Every event of the grievance reaches the branch, answered 200 once.
    let mut delivered: Vec<Received> = Vec::new();
    for _ in 0..200 {
        delivered = receiver
            .received()
            .into_iter()
            .filter(|r| r.answered == 200)
            .collect();
        let types: Vec<String> = delivered
            .iter()
            .map(|r| {
                serde_json::from_str::<Value>(&r.body).expect("JSON")["event_type"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect();
        let retried = receiver
            .received()
            .iter()
            .filter(|r| r.answered == 500)
            .all(|f| delivered.iter().any(|d| d.event_id == f.event_id));
        if retried
            && types.contains(&"GrievanceFiled".to_owned())
            && types.contains(&"GrievanceAccepted".to_owned())
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let all = receiver.received();
    assert!(all.len() >= 4, "{all:?}");
    for r in &all {
        assert_eq!(
            r.signature,
            signed(&secret, &r.timestamp, &r.body),
            "signed: {r:?}"
        );
        // As any Standard Webhooks subscriber checks it, with the published
        // verifier; a changed body does not verify.
        let mut headers = http::HeaderMap::new();
        for (name, value) in ["webhook-id", "webhook-timestamp", "webhook-signature"]
            .iter()
            .zip(&r.standard)
        {
            headers.insert(*name, value.parse().expect("a header value"));
        }
        assert_eq!(r.standard[0], r.event_id);
        verifier
            .verify(r.body.as_bytes(), &headers)
            .unwrap_or_else(|e| panic!("verifies: {e:?} {r:?}"));
        assert!(verifier.verify(b"{}", &headers).is_err());
        let body: Value = serde_json::from_str(&r.body).expect("JSON");
        assert_eq!(body["event_id"], r.event_id.as_str());
        assert_eq!(body["grievance"], id.as_str());
        assert_eq!(body["subscription"], subscription.as_str());
    }
    let mut ids: Vec<&str> = delivered.iter().map(|r| r.event_id.as_str()).collect();
    ids.sort_unstable();
    let before = ids.len();
    ids.dedup();
    assert_eq!(ids.len(), before, "each event answered 200 once");
    for failed in all.iter().filter(|r| r.answered == 500) {
        assert!(
            ids.contains(&failed.event_id.as_str()),
            "the failed delivery {} was retried with the same event id",
            failed.event_id
        );
    }
    assert!(
        elsewhere.received().is_empty(),
        "another xiaoqu's branch got {:?}",
        elsewhere.received()
    );

    // Three attempts to a receiver that is not there: dead letters.
    let path = format!("/api/v1/webhooks/{dead_id}/dead-letters");
    let mut letters = Value::Null;
    for _ in 0..200 {
        letters = api.get(&path, &a.company.token).await.body;
        if letters["items"].as_array().is_some_and(|i| i.len() >= 2) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let first = &letters["items"][0];
    assert_eq!(first["attempts"], 3, "{letters}");
    assert_eq!(first["grievance"], id.as_str());
    assert_eq!(first["last_error"], "could not connect");
    api.get(&path, &a.branch.token)
        .await
        .assert_problem(404, "not-found");
    let event = first["event_id"].as_str().expect("event id");
    let retried = api
        .post(
            &format!("/api/v1/webhooks/{dead_id}/dead-letters/{event}/retry"),
            &a.company.token,
            json!({}),
        )
        .await;
    assert_eq!(retried.status, StatusCode::NO_CONTENT, "{}", retried.body);
    let after = api.get(&path, &a.company.token).await.body;
    assert!(
        after["items"]
            .as_array()
            .is_some_and(|i| i.iter().all(|l| l["event_id"] != event)),
        "queued again: {after}"
    );

    // Unsubscribed: listed as inactive.
    let off = api
        .post(
            &format!("/api/v1/webhooks/{dead_id}/deletion"),
            &a.company.token,
            json!({}),
        )
        .await;
    assert_eq!(off.body["active"], false, "{}", off.body);
    server.stop().await;
}

/// Counts the connections made to `address`.
async fn connections_to(address: &str) -> (u16, Arc<Mutex<usize>>) {
    let listener = tokio::net::TcpListener::bind(address).await.expect("bind");
    let port = listener.local_addr().expect("address").port();
    let count: Arc<Mutex<usize>> = Arc::default();
    let seen = count.clone();
    tokio::spawn(async move {
        while let Ok((_socket, _)) = listener.accept().await {
            *seen.lock().expect("lock") += 1;
        }
    });
    (port, count)
}

async fn webhooks_reach_nothing_inside(t: TestDb) {
    let cast = Cast::new(&t.db).await;
    let a = &cast.a;
    let inside = Receiver::start(0).await;
    let port = inside
        .url
        .rsplit(':')
        .next()
        .and_then(|p| p.split('/').next());
    let port = port.expect("a port").to_owned();

    // A default deployment (no allowlist): no loopback, private, link-local
    // (metadata) or reserved address, literal or behind a name.
    let state = lianxi_gateway::server::state(t.db.clone()).with_vault(test_vault());
    let server = Server::serve(Service::start_with(state, quick_background())).await;
    let api = Api::new(&server.base);
    for url in [
        inside.url.clone(),
        format!("http://localhost:{port}/hook"),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
        "http://[::1]:22/".to_owned(),
        "http://[::ffff:127.0.0.1]/".to_owned(),
        "http://10.0.0.1/".to_owned(),
        "http://0x7f000001/".to_owned(),
        "http://2130706433/".to_owned(),
        format!("http://127.0.0.1:{port}\\@example.org/"),
    ] {
        api.post("/api/v1/webhooks", &a.branch.token, json!({"url": url}))
            .await
            .assert_problem(422, "invalid-field")
            .assert_field("url");
    }
    let listed = api.get("/api/v1/webhooks", &a.branch.token).await;
    assert_eq!(listed.body["items"], json!([]), "nothing subscribed");
    server.stop().await;

    // Allowing 127.0.0.1 allows nothing else: not 127.0.0.2 hidden behind
    // a backslash, not 127.0.0.2 by a redirect; nothing reaches it.
    let (other_port, reached) = connections_to("127.0.0.2:0").await;
    let server = Server::start(&t.db).await;
    let api = Api::new(&server.base);
    api.post(
        "/api/v1/webhooks",
        &a.branch.token,
        json!({"url": format!("http://127.0.0.2:{other_port}\\@127.0.0.1:{port}/x")}),
    )
    .await
    .assert_problem(422, "invalid-field")
    .assert_field("url");
    let redirector = Receiver::start_on(
        "127.0.0.1:0",
        0,
        Some(format!("http://127.0.0.2:{other_port}/hook")),
    )
    .await;
    let created = api
        .post(
            "/api/v1/webhooks",
            &a.branch.token,
            json!({"url": redirector.url}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let subscription = created.body["id"].as_str().expect("id").to_owned();
    api.file(&a.resident).await;
    let path = format!("/api/v1/webhooks/{subscription}/dead-letters");
    let mut letters = Value::Null;
    for _ in 0..200 {
        letters = api.get(&path, &a.branch.token).await.body;
        if letters["items"].as_array().is_some_and(|i| !i.is_empty()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        letters["items"][0]["last_error"], "answered 307",
        "{letters}"
    );
    assert!(redirector.received().len() >= 3, "every attempt was made");
    assert_eq!(
        *reached.lock().expect("lock"),
        0,
        "127.0.0.2 received nothing"
    );
    server.stop().await;
}
