//! A fresh, migrated PostgreSQL database per test, for the store's own tests.

use uuid::Uuid;

use crate::db::{Database, PoolSettings};

/// A fresh, migrated PostgreSQL database on the server
/// `LIANXI_TEST_DATABASE_URL` names (none without it).
pub(crate) struct FreshPostgres {
    pub db: Database,
    admin: Database,
    name: String,
}

impl FreshPostgres {
    /// `None` when no PostgreSQL is at hand, which under `CI=true`
    /// fails the test instead: there no PostgreSQL test may skip.
    pub async fn create() -> Option<Self> {
        let unreachable = |why: String| {
            let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
            assert!(!ci, "PostgreSQL is required under CI: {why}");
            eprintln!("skipped: {why}");
            None
        };
        let Ok(admin_url) = std::env::var("LIANXI_TEST_DATABASE_URL") else {
            return unreachable("LIANXI_TEST_DATABASE_URL is not set".to_owned());
        };
        let admin = match Database::connect(&admin_url, PoolSettings::default()).await {
            Ok(admin) => admin,
            Err(e) => return unreachable(format!("cannot connect: {e}")),
        };
        let Database::Postgres(pool) = &admin else {
            return unreachable("LIANXI_TEST_DATABASE_URL is not a PostgreSQL URL".to_owned());
        };
        let name = format!("lianxi_test_{}", Uuid::new_v4().simple());
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(pool)
            .await
            .expect("create a database");
        let (base, query) = admin_url
            .split_once('?')
            .map_or((admin_url.as_str(), None), |(b, q)| (b, Some(q)));
        let base = base.rsplit_once('/').map_or(base, |(b, _)| b);
        let url = match query {
            Some(q) => format!("{base}/{name}?{q}"),
            None => format!("{base}/{name}"),
        };
        let db = Database::connect(&url, PoolSettings::default())
            .await
            .expect("connect");
        db.migrate().await.expect("migrate");
        Some(Self { db, admin, name })
    }

    pub async fn drop(self) {
        self.db.close().await;
        if let Database::Postgres(pool) = &self.admin {
            let _ = sqlx::query(&format!("DROP DATABASE {} WITH (FORCE)", self.name))
                .execute(pool)
                .await;
        }
        self.admin.close().await;
    }
}
