//! The PostgreSQL connections of one instance add up to the documented
//! budget (docs/operators.md, "Several instances"): its pool, one `LISTEN`
//! connection shared by the projection runners, and one connection holding
//! the advisory lock of every read model this instance leads.

use lianxi_tests::{Api, Cast, Server, Store, TestDb};
use sqlx::Row;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_instance_holds_its_pool_one_listener_and_one_lock_connection() {
    let Some(t) = TestDb::new(Store::Postgres).await else {
        return;
    };
    let cast = Cast::new(&t.db).await;
    let server = Server::start(&t.db).await;
    let api = Api::new(&server.base);
    for _ in 0..20 {
        api.file(&cast.a.resident).await;
    }
    api.settled().await;

    let lianxi_gateway::db::Database::Postgres(pool) = &t.db else {
        panic!("a PostgreSQL test database");
    };
    let pool_max = pool.options().get_max_connections();
    let counter = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(&t.url)
        .await
        .expect("a connection to count with");
    let rows = sqlx::query(
        "SELECT pid, query FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .fetch_all(&counter)
    .await
    .expect("pg_stat_activity");
    let listening = rows
        .iter()
        .filter(|r| {
            r.try_get::<Option<String>, _>("query")
                .ok()
                .flatten()
                .is_some_and(|q| q.starts_with("LISTEN"))
        })
        .count();
    let locks = sqlx::query(
        "SELECT count(DISTINCT pid) AS holders, count(*) AS locks FROM pg_locks \
         WHERE locktype = 'advisory' AND granted AND database = \
           (SELECT oid FROM pg_database WHERE datname = current_database())",
    )
    .fetch_one(&counter)
    .await
    .expect("pg_locks");
    let holders: i64 = locks.get("holders");
    let leads: i64 = locks.get("locks");
    let read_models = lianxi_gateway::server::projections().len();
    assert_eq!(listening, 1, "one LISTEN connection for every runner");
    assert_eq!(leads as usize, read_models, "one lead per read model");
    assert_eq!(holders, 1, "every lead on one lock connection");
    let budget = pool_max as usize + 2;
    assert!(
        rows.len() <= budget,
        "{} connections, budget {budget} (pool {pool_max} + 1 listener + 1 lock connection)",
        rows.len()
    );
    eprintln!(
        "connections: {} of a budget of {budget} (pool {pool_max}, 1 listener, 1 lock connection for {read_models} leads)",
        rows.len()
    );
    counter.close().await;
    server.stop().await;
}
