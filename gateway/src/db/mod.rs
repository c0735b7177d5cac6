//! The database behind the event log and the account tables: PostgreSQL in
//! production, SQLite as the embedded default. Schema is owned by the
//! migrations in `gateway/migrations/{postgres,sqlite}`.

mod accounts;
mod append;
pub mod chain;
#[cfg(test)]
pub(crate) mod fresh_postgres;
mod group_commit;
mod idempotency;
mod identity;
mod micro;
mod registry;
mod stream;
mod votes;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgConnection, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::Connection;
use sqlx::{PgPool, SqlitePool};

pub use accounts::{AccountRecord, NewAccount, NewXiaoqu, Scope, XiaoquRecord};
pub(crate) use append::UPSERT_HEAD;
pub use append::{ChainedRepository, Heads};
use group_commit::GroupCommit;
pub use idempotency::{Claim, KeptAnswer, KeyRecord, KeyedRequest, IDEMPOTENCY_METADATA_KEY};
pub use identity::{tokens_generation, TokenKind, TokenState};
pub use micro::{FundRow, ProjectRow};
pub use registry::PartyRow;
pub use stream::StoredEvent;
pub use votes::VoteRow;

static PG_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");
static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// The embedded default store, relative to the working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://./data/lianxi.db";

/// A connection pool to one of the two supported stores.
#[derive(Clone, Debug)]
pub enum Database {
    Postgres(PgPool),
    Sqlite(SqlitePool),
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("unsupported database URL {0:?}: use postgres://… or sqlite://…")]
    UnsupportedUrl(String),
    #[error("cannot create the folder {path} for the SQLite database: {source}")]
    CreateFolder {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Sqlx(#[from] sqlx::Error),
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("{0}")]
    Invalid(String),
}

/// Whether `e` means the store cannot be reached right now (down,
/// restarting, the connection cut, a pool timeout, SQLite busy) rather than
/// a refused statement or a bug: such a request is answered `503` and may
/// be retried.
pub fn is_unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        // The connection is out of step with the server: its outcome, like
        // a broken connection's, is unknown.
        | sqlx::Error::Protocol(_) => true,
        sqlx::Error::Database(d) => d.code().is_some_and(|code| {
            // PostgreSQL: connection exceptions (08…), the server shutting
            // down or restarting (57P01–57P03), too many connections. SQLite:
            // busy or locked past the busy timeout.
            code.starts_with("08")
                || matches!(
                    code.as_ref(),
                    "57P01" | "57P02" | "57P03" | "53300" | "5" | "6" | "261" | "517"
                )
        }),
        _ => false,
    }
}

/// [`is_unavailable`] for an error boxed by the event store: true when it,
/// or what caused it, is an unavailable store.
pub fn caused_by_unavailable(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(e);
    while let Some(e) = cause {
        if e.downcast_ref::<sqlx::Error>().is_some_and(is_unavailable) {
            return true;
        }
        cause = e.source();
    }
    false
}

impl DbError {
    /// Whether a unique constraint refused the write.
    pub fn is_unique_violation(&self) -> bool {
        matches!(self, DbError::Sqlx(sqlx::Error::Database(d)) if d.is_unique_violation())
    }
}

/// Pool sizes and timeouts.
#[derive(Clone, Copy, Debug)]
pub struct PoolSettings {
    pub max_connections: u32,
    pub acquire_timeout: Duration,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            max_connections: 16,
            acquire_timeout: Duration::from_secs(10),
        }
    }
}

impl Database {
    /// Connects to `url` (`postgres://…`, `postgresql://…` or `sqlite://…`).
    /// For SQLite the file and its folder are created when missing.
    pub async fn connect(url: &str, settings: PoolSettings) -> Result<Self, DbError> {
        const FIRST_CONNECT_WITHIN: Duration = Duration::from_secs(2);
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let options = PgConnectOptions::from_str(url)?.application_name("lianxi");
            // One plain connection first: an unreachable server is told at
            // once, as the driver saw it ("connection refused"), not as the
            // pool's timeout after its retries.
            match tokio::time::timeout(FIRST_CONNECT_WITHIN, PgConnection::connect_with(&options))
                .await
            {
                Ok(Ok(first)) => drop(first.close().await),
                Ok(Err(e)) => return Err(e.into()),
                Err(_) => {
                    return Err(DbError::Invalid(format!(
                        "{} did not answer within {} s",
                        redact(url),
                        FIRST_CONNECT_WITHIN.as_secs()
                    )))
                }
            }
            let pool = PgPoolOptions::new()
                .max_connections(settings.max_connections)
                .acquire_timeout(settings.acquire_timeout)
                .connect_with(options)
                .await?;
            Ok(Database::Postgres(pool))
        } else if let Some(rest) = url.strip_prefix("sqlite:") {
            let path = rest.trim_start_matches("//");
            let path = path.split('?').next().unwrap_or(path);
            if path != ":memory:" && !path.is_empty() {
                if let Some(parent) = Path::new(path).parent() {
                    if !parent.as_os_str().is_empty() {
                        std::fs::create_dir_all(parent).map_err(|source| {
                            DbError::CreateFolder {
                                path: parent.display().to_string(),
                                source,
                            }
                        })?;
                    }
                }
            }
            let options = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                // FULL: an acknowledged commit survives a power cut, not only a crash.
                .synchronous(SqliteSynchronous::Full)
                .busy_timeout(Duration::from_secs(10))
                // Deleted rows are overwritten, not left in free pages: an
                // erased person's key must not linger in the file.
                .pragma("secure_delete", "on")
                .foreign_keys(true);
            let pool = SqlitePoolOptions::new()
                .max_connections(settings.max_connections.min(8))
                .acquire_timeout(settings.acquire_timeout)
                .connect_with(options)
                .await?;
            Ok(Database::Sqlite(pool))
        } else {
            Err(DbError::UnsupportedUrl(redact(url)))
        }
    }

    /// The pool now: open connections, idle ones, and the most it opens.
    pub fn pool_state(&self) -> (u32, u32, u32) {
        match self {
            Database::Postgres(pool) => (
                pool.size(),
                u32::try_from(pool.num_idle()).unwrap_or(u32::MAX),
                pool.options().get_max_connections(),
            ),
            Database::Sqlite(pool) => (
                pool.size(),
                u32::try_from(pool.num_idle()).unwrap_or(u32::MAX),
                pool.options().get_max_connections(),
            ),
        }
    }

    /// `postgres` or `sqlite`.
    pub fn kind(&self) -> &'static str {
        match self {
            Database::Postgres(_) => "postgres",
            Database::Sqlite(_) => "sqlite",
        }
    }

    /// Applies pending migrations (several instances may race: the migrator
    /// locks). Events stored before the hash chain are sealed by
    /// `audit::migrate`, which the service and `lianxi migrate` call.
    pub async fn migrate(&self) -> Result<(), DbError> {
        match self {
            Database::Postgres(pool) => PG_MIGRATIONS.run(pool).await?,
            Database::Sqlite(pool) => SQLITE_MIGRATIONS.run(pool).await?,
        }
        Ok(())
    }

    /// Ready means: the store answers and every known migration is applied.
    pub async fn check_ready(&self) -> Result<(), DbError> {
        let (migrator, applied): (&sqlx::migrate::Migrator, Vec<i64>) = match self {
            Database::Postgres(pool) => (
                &PG_MIGRATIONS,
                sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success")
                    .fetch_all(pool)
                    .await?,
            ),
            Database::Sqlite(pool) => (
                &SQLITE_MIGRATIONS,
                sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success")
                    .fetch_all(pool)
                    .await?,
            ),
        };
        let missing: Vec<i64> = migrator
            .iter()
            .map(|m| m.version)
            .filter(|v| !applied.contains(v))
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(DbError::Invalid(format!(
                "migrations not applied: {missing:?}"
            )))
        }
    }

    /// The same pools, as the projections crate sees them.
    pub fn store(&self) -> lianxi_feed::Store {
        match self {
            Database::Postgres(pool) => lianxi_feed::Store::Postgres(pool.clone()),
            Database::Sqlite(pool) => lianxi_feed::Store::Sqlite(pool.clone()),
        }
    }

    pub async fn close(&self) {
        match self {
            Database::Postgres(pool) => pool.close().await,
            Database::Sqlite(pool) => pool.close().await,
        }
    }
}

/// A database URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{}:***{}", &url[..scheme_end + 3], user, &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// Runs `statement` with `binds` (all i64 or text) on either store.
pub async fn execute(db: &Database, statement: &str, binds: &[Bind<'_>]) -> Result<u64, DbError> {
    macro_rules! bound {
        ($query:expr) => {{
            let mut q = $query;
            for b in binds {
                q = match b {
                    Bind::Int(v) => q.bind(*v),
                    Bind::Text(v) => q.bind(*v),
                    Bind::OptText(v) => q.bind(*v),
                };
            }
            q
        }};
    }
    Ok(match db {
        Database::Postgres(pool) => bound!(sqlx::query(statement))
            .execute(pool)
            .await?
            .rows_affected(),
        Database::Sqlite(pool) => {
            let text = lianxi_feed::store::sql(false, statement);
            bound!(sqlx::query(&text))
                .execute(pool)
                .await?
                .rows_affected()
        }
    })
}

/// A bind value of [`execute`].
#[derive(Clone, Copy, Debug)]
pub enum Bind<'a> {
    Int(i64),
    Text(&'a str),
    OptText(Option<&'a str>),
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn passwords_never_appear_in_messages() {
        assert_eq!(
            redact("postgres://lianxi:s3cret@db:5432/lianxi"),
            "postgres://lianxi:***@db:5432/lianxi"
        );
        assert_eq!(
            redact("sqlite://./data/lianxi.db"),
            "sqlite://./data/lianxi.db"
        );
    }
}
