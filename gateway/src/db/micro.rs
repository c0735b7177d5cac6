//! The `micro_funds` and `micro_projects` tables: each fund with its
//! totals and each project with its standing, written from their streams
//! right after each command (see `app::micro`), so that funds, balances and
//! projects are listed without reading every stream. A row is replaced
//! only by one of a later stream version: two instances writing the same
//! row in the wrong order leave the later one.

use chrono::{DateTime, Utc};
use lianxi_domain::values::{FundId, ProjectId, XiaoquId};
use lianxi_feed::store::{sql, Id};
use sqlx::Row;

use super::{Database, DbError};

/// A fund as listed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FundRow {
    pub id: FundId,
    /// `xiaoqu` or `community`.
    pub place_kind: String,
    /// The xiaoqu's id, or the community's name.
    pub place: String,
    pub name: String,
    /// `named` or `crowd`.
    pub kind: String,
    pub received: i64,
    pub spent: i64,
    pub opened_at: DateTime<Utc>,
    pub version: i64,
}

/// A project as listed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProjectRow {
    pub id: ProjectId,
    pub fund: FundId,
    pub xiaoqu: XiaoquId,
    pub title: String,
    pub status: String,
    pub budget: i64,
    /// What its fund paid for it: written from the fund's stream.
    pub spent: i64,
    pub supporters: i64,
    /// The mean rating in hundredths of a star.
    pub rating: Option<i64>,
    pub ratings: i64,
    pub proposed_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    pub version: i64,
}

macro_rules! on_db {
    ($db:expr, |$pool:ident, $pg:ident| $body:expr) => {
        match $db {
            Database::Postgres($pool) => {
                let $pg = true;
                $body
            }
            Database::Sqlite($pool) => {
                let $pg = false;
                $body
            }
        }
    };
}

const FUND_COLUMNS: &str = "id, place_kind, place, name, kind, received, spent, opened_at, version";
const PROJECT_COLUMNS: &str = "id, fund, xiaoqu, title, status, budget, spent, supporters, \
                               rating, ratings, proposed_at, closed_at, version";

fn fund_row<R: Row>(r: &R) -> Result<FundRow, sqlx::Error>
where
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    for<'a> Id: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> i64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> DateTime<Utc>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    Ok(FundRow {
        id: FundId(r.try_get::<Id, _>("id")?.0),
        place_kind: r.try_get("place_kind")?,
        place: r.try_get("place")?,
        name: r.try_get("name")?,
        kind: r.try_get("kind")?,
        received: r.try_get("received")?,
        spent: r.try_get("spent")?,
        opened_at: r.try_get("opened_at")?,
        version: r.try_get("version")?,
    })
}

fn project_row<R: Row>(r: &R) -> Result<ProjectRow, sqlx::Error>
where
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    for<'a> Id: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> i64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> DateTime<Utc>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    Ok(ProjectRow {
        id: ProjectId(r.try_get::<Id, _>("id")?.0),
        fund: FundId(r.try_get::<Id, _>("fund")?.0),
        xiaoqu: XiaoquId(r.try_get::<Id, _>("xiaoqu")?.0),
        title: r.try_get("title")?,
        status: r.try_get("status")?,
        budget: r.try_get("budget")?,
        spent: r.try_get("spent")?,
        supporters: r.try_get("supporters")?,
        rating: r.try_get("rating")?,
        ratings: r.try_get("ratings")?,
        proposed_at: r.try_get("proposed_at")?,
        closed_at: r.try_get("closed_at")?,
        version: r.try_get("version")?,
    })
}

impl Database {
    /// Writes a fund's row unless a later version is there already.
    pub async fn upsert_fund(&self, f: &FundRow) -> Result<(), DbError> {
        let text = format!(
            "INSERT INTO micro_funds ({FUND_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (id) DO UPDATE SET received = excluded.received, \
             spent = excluded.spent, version = excluded.version \
             WHERE micro_funds.version < excluded.version"
        );
        on_db!(self, |pool, pg| {
            sqlx::query(&sql(pg, &text))
                .bind(Id(f.id.0))
                .bind(&f.place_kind)
                .bind(&f.place)
                .bind(&f.name)
                .bind(&f.kind)
                .bind(f.received)
                .bind(f.spent)
                .bind(f.opened_at)
                .bind(f.version)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(())
    }

    /// Sets what a fund paid for each of `projects`, as of the fund's
    /// `version`.
    pub async fn set_project_spending(
        &self,
        fund: FundId,
        version: i64,
        projects: &[(ProjectId, i64)],
    ) -> Result<(), DbError> {
        // Only while the fund's row is at this version: an older writer
        // arriving late changes nothing.
        let text = "UPDATE micro_projects SET spent = $1 WHERE id = $2 AND fund = $3 \
                    AND EXISTS (SELECT 1 FROM micro_funds WHERE id = $3 AND version = $4)";
        for (project, spent) in projects {
            on_db!(self, |pool, pg| {
                sqlx::query(&sql(pg, text))
                    .bind(*spent)
                    .bind(Id(project.0))
                    .bind(Id(fund.0))
                    .bind(version)
                    .execute(pool)
                    .await?
                    .rows_affected()
            });
        }
        Ok(())
    }

    /// The funds of `place_kind` and `place`, oldest first.
    pub async fn funds_of(&self, places: &[(&str, String)]) -> Result<Vec<FundRow>, DbError> {
        let mut out = Vec::new();
        for (kind, place) in places {
            let text = format!(
                "SELECT {FUND_COLUMNS} FROM micro_funds WHERE place_kind = $1 AND place = $2 \
                 ORDER BY opened_at, id"
            );
            let rows = on_db!(self, |pool, pg| {
                sqlx::query(&sql(pg, &text))
                    .bind(*kind)
                    .bind(place)
                    .fetch_all(pool)
                    .await?
                    .iter()
                    .map(fund_row)
                    .collect::<Result<Vec<_>, sqlx::Error>>()?
            });
            out.extend(rows);
        }
        Ok(out)
    }

    /// Writes a project's row unless a later version is there already;
    /// what its fund paid stays.
    pub async fn upsert_project(&self, p: &ProjectRow) -> Result<(), DbError> {
        let text = format!(
            "INSERT INTO micro_projects ({PROJECT_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
             ON CONFLICT (id) DO UPDATE SET status = excluded.status, \
             supporters = excluded.supporters, rating = excluded.rating, \
             ratings = excluded.ratings, closed_at = excluded.closed_at, \
             version = excluded.version WHERE micro_projects.version < excluded.version"
        );
        on_db!(self, |pool, pg| {
            sqlx::query(&sql(pg, &text))
                .bind(Id(p.id.0))
                .bind(Id(p.fund.0))
                .bind(Id(p.xiaoqu.0))
                .bind(&p.title)
                .bind(&p.status)
                .bind(p.budget)
                .bind(p.spent)
                .bind(p.supporters)
                .bind(p.rating)
                .bind(p.ratings)
                .bind(p.proposed_at)
                .bind(p.closed_at)
                .bind(p.version)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(())
    }

    /// The projects of `xiaoqu`, latest proposal first.
    pub async fn projects_of(&self, xiaoqu: XiaoquId) -> Result<Vec<ProjectRow>, DbError> {
        let text = format!(
            "SELECT {PROJECT_COLUMNS} FROM micro_projects WHERE xiaoqu = $1 \
             ORDER BY proposed_at DESC, id"
        );
        Ok(on_db!(self, |pool, pg| {
            sqlx::query(&sql(pg, &text))
                .bind(Id(xiaoqu.0))
                .fetch_all(pool)
                .await?
                .iter()
                .map(project_row)
                .collect::<Result<Vec<_>, sqlx::Error>>()?
        }))
    }
}
