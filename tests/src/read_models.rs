//! The read models as tables: dumps to compare across runs, and the check
//! that what the runners kept equals a rebuild from the first event.

use std::time::Duration;

use lianxi_gateway::db::Database;

use crate::quick_runners;

/// Every row of the grievance read model, by id: comparable across runs.
pub async fn read_model_rows(
    store: &lianxi_projections::Store,
) -> Vec<(lianxi_domain::grievance::GrievanceState, i64)> {
    use lianxi_projections::grievance_list::{list, Audience, ListFilter};
    let mut rows = list(
        store,
        &Audience::Everything,
        &ListFilter::default(),
        None,
        100_000,
    )
    .await
    .expect("list the read model")
    .items;
    rows.sort_by_key(|(s, _)| s.id);
    rows
}

/// Every table of the read models that a rebuild writes, in the order
/// [`read_model_tables`] dumps them.
pub const READ_MODEL_TABLES: [&str; 6] = [
    "grievance_list",
    "grievance_followers",
    "meeting_list",
    "meeting_action_items",
    "case_list",
    "case_obligations",
];

/// Every row of every read-model table, each as text, sorted: comparable
/// across runs and rebuilds.
pub async fn read_model_tables(store: &lianxi_projections::Store) -> Vec<(String, Vec<String>)> {
    use lianxi_projections::Store;
    let mut out = Vec::new();
    for table in READ_MODEL_TABLES {
        let rows: Vec<String> = match store {
            Store::Postgres(pool) => sqlx::query_scalar(&format!(
                "SELECT row_to_json(t)::text AS r FROM {table} t ORDER BY r"
            ))
            .fetch_all(pool)
            .await
            .expect("dump a read-model table"),
            Store::Sqlite(pool) => {
                let columns: Vec<String> =
                    sqlx::query_scalar("SELECT name FROM pragma_table_info(?1) ORDER BY cid")
                        .bind(table)
                        .fetch_all(pool)
                        .await
                        .expect("columns");
                sqlx::query_scalar(&format!(
                    "SELECT json_array({}) AS r FROM {table} ORDER BY r",
                    columns.join(", ")
                ))
                .fetch_all(pool)
                .await
                .expect("dump a read-model table")
            }
        };
        out.push((table.to_owned(), rows));
    }
    out
}

/// Brings every read model up to the end of the feed (the service that
/// kept them has stopped), then rebuilds them all in one pass, holding a
/// few rows at a time (so that rows are written out and read back), and
/// asserts that every table is as it was.
pub async fn assert_read_models_equal_a_rebuild(db: &Database) {
    use lianxi_projections::{checkpoint, feed, Runner};
    let store = db.store();
    let models: Vec<_> = lianxi_gateway::server::projections()
        .into_iter()
        .filter(|p| p.shadow().is_some())
        .collect();
    let give_up = std::time::Instant::now() + Duration::from_secs(30);
    let (_wake, woken) = tokio::sync::watch::channel(0u64);
    loop {
        let mut behind = 0;
        for p in &models {
            // A stopped runner's SQLite lease may hold for a moment yet.
            Runner::new(store.clone(), p.clone(), quick_runners(), woken.clone())
                .catch_up()
                .await
                .expect("catch up");
            let at = checkpoint::load(&store, p.name())
                .await
                .expect("checkpoint");
            behind += feed::lag(&store, at.position).await.expect("lag").events;
        }
        if behind == 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < give_up,
            "the read models did not catch up"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let live = read_model_tables(&store).await;
    assert!(
        live.iter().any(|(_, rows)| !rows.is_empty()),
        "something to rebuild"
    );
    lianxi_projections::rebuild::rebuild(&store, &models, quick_runners())
        .await
        .expect("rebuild")
        .expect("no other rebuild");
    let rebuilt = read_model_tables(&store).await;
    for ((table, kept), (_, again)) in live.iter().zip(&rebuilt) {
        assert_eq!(
            kept, again,
            "{table}: the read model kept live equals a one-pass rebuild"
        );
    }
}
