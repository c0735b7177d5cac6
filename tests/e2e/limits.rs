//! Rate limits on filing: per account and per client address, counted in
//! the database, answered 429 with `Retry-After`, writing nothing.

use lianxi_gateway::app::rate_limit::Limits;
use lianxi_gateway::server::Service;
use lianxi_tests::{on_both_stores, quick_background, test_vault, Api, Cast, Server, TestDb};
use reqwest::StatusCode;

on_both_stores!(filing_beyond_a_rate_limit_answers_429_and_writes_nothing);

async fn grievance_count(t: &TestDb) -> usize {
    t.db.stream_ids("grievance").await.expect("streams").len()
}

async fn filing_beyond_a_rate_limit_answers_429_and_writes_nothing(t: TestDb) {
    let cast = Cast::new(&t.db).await;
    let limits = Limits {
        filings_per_account: Some(3),
        filings_per_address: Some(5),
        ..Limits::default()
    };
    let state = lianxi_gateway::server::state(t.db.clone())
        .with_vault(test_vault())
        .with_limits(limits);
    let server = Server::serve(Service::start_with(state, quick_background())).await;
    let api = Api::new(&server.base);
    let file = |token: String| {
        let api = &api;
        async move {
            api.post(
                "/api/v1/grievances",
                &token,
                lianxi_tests::sample_grievance(),
            )
            .await
        }
    };

    for _ in 0..3 {
        assert_eq!(
            file(cast.a.resident.token.clone()).await.status,
            StatusCode::CREATED
        );
    }
    let limited = file(cast.a.resident.token.clone()).await;
    limited.assert_problem(429, "rate-limited");
    let retry: u64 = limited
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .expect("Retry-After");
    assert!((1..=3600).contains(&retry), "{retry}");
    assert_eq!(
        grievance_count(&t).await,
        3,
        "the refused filing wrote nothing"
    );

    // Another account files on, until the address (all of these requests
    // come from 127.0.0.1) reaches its limit; then nobody from it files.
    for _ in 0..2 {
        assert_eq!(
            file(cast.a.neighbour.token.clone()).await.status,
            StatusCode::CREATED
        );
    }
    file(cast.a.neighbour.token.clone())
        .await
        .assert_problem(429, "rate-limited");
    // Open311 filings count the same way.
    let open311 = lianxi_tests::Api::send(
        api.request(reqwest::Method::POST, "/open311/v2/requests.json", Some(&cast.b.resident.token))
            .json(&serde_json::json!({"service_code": "parking", "description": "车位被占", "address_string": "地下车库"})),
    )
    .await;
    assert_eq!(
        open311.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        open311.body
    );
    assert_eq!(grievance_count(&t).await, 5);
    // Invalid input is refused as such, and does not use up the limit.
    let mut invalid = lianxi_tests::sample_grievance();
    invalid["title"] = serde_json::json!("");
    api.post("/api/v1/grievances", &cast.b.resident.token, invalid)
        .await
        .assert_problem(422, "invalid-field");
    server.stop().await;
}
