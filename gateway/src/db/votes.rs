//! The `owners_votes` table: each owners' vote by xiaoqu, written from the
//! vote streams right after each command (see the vote service,
//! `app::votes`), so that a xiaoqu's votes are listed without reading
//! every vote's stream.

use chrono::{DateTime, Utc};
use lianxi_domain::values::{VoteId, XiaoquId};
use lianxi_feed::store::{sql, Id};
use sqlx::Row;

use super::{Database, DbError};

/// A vote as listed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VoteRow {
    pub id: VoteId,
    pub xiaoqu: XiaoquId,
    /// The matter's wire name (`use_maintenance_fund`, …).
    pub matter: String,
    pub question: String,
    pub opens_at: DateTime<Utc>,
    pub closes_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    /// `approved`, `rejected`, `not_decided`; none while open.
    pub outcome: Option<String>,
}

impl Database {
    /// Writes a vote's row, creating it if needed.
    pub async fn upsert_vote(&self, v: &VoteRow) -> Result<(), DbError> {
        let text = "INSERT INTO owners_votes \
                    (id, xiaoqu, matter, question, opens_at, closes_at, closed_at, outcome) \
                    VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO UPDATE SET \
                    closed_at = excluded.closed_at, outcome = excluded.outcome";
        match self {
            Database::Postgres(pool) => {
                bind_vote(sqlx::query(&sql(true, text)), v)
                    .execute(pool)
                    .await?;
            }
            Database::Sqlite(pool) => {
                bind_vote(sqlx::query(&sql(false, text)), v)
                    .execute(pool)
                    .await?;
            }
        }
        Ok(())
    }

    /// The votes of `xiaoqu`, latest opening first.
    pub async fn votes_of(&self, xiaoqu: XiaoquId) -> Result<Vec<VoteRow>, DbError> {
        let text = "SELECT id, xiaoqu, matter, question, opens_at, closes_at, closed_at, outcome \
                    FROM owners_votes WHERE xiaoqu = $1 ORDER BY opens_at DESC, id";
        macro_rules! rows {
            ($pool:expr, $pg:expr) => {
                sqlx::query(&sql($pg, text))
                    .bind(Id(xiaoqu.0))
                    .fetch_all($pool)
                    .await?
                    .iter()
                    .map(|r| {
                        Ok(VoteRow {
                            id: VoteId(r.try_get::<Id, _>("id")?.0),
                            xiaoqu: XiaoquId(r.try_get::<Id, _>("xiaoqu")?.0),
                            matter: r.try_get("matter")?,
                            question: r.try_get("question")?,
                            opens_at: r.try_get("opens_at")?,
                            closes_at: r.try_get("closes_at")?,
                            closed_at: r.try_get("closed_at")?,
                            outcome: r.try_get("outcome")?,
                        })
                    })
                    .collect::<Result<Vec<_>, sqlx::Error>>()?
            };
        }
        Ok(match self {
            Database::Postgres(pool) => rows!(pool, true),
            Database::Sqlite(pool) => rows!(pool, false),
        })
    }
}

fn bind_vote<'q, DB>(
    q: sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments<'q>>,
    v: &'q VoteRow,
) -> sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments<'q>>
where
    DB: sqlx::Database,
    Id: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    DateTime<Utc>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    Option<DateTime<Utc>>: sqlx::Encode<'q, DB>,
    Option<String>: sqlx::Encode<'q, DB>,
{
    q.bind(Id(v.id.0))
        .bind(Id(v.xiaoqu.0))
        .bind(v.matter.clone())
        .bind(v.question.clone())
        .bind(v.opens_at)
        .bind(v.closes_at)
        .bind(v.closed_at)
        .bind(v.outcome.clone())
}
