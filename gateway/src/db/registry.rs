//! The registry's tables: `xiaoqu` (names and hierarchy, read by scope
//! checks everywhere) and `xiaoqu_parties`, both written from the xiaoqu
//! registry streams right after each change (see the registry service, `app::registry`).

use chrono::{DateTime, Utc};
use lianxi_domain::values::{OrganizationId, XiaoquId};
use lianxi_feed::store::{sql, Id};
use sqlx::Row;
use uuid::Uuid;

use super::{Database, DbError, NewXiaoqu};

/// An organization acting as a party of a xiaoqu.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartyRow {
    pub xiaoqu: XiaoquId,
    /// The party's wire name (`property_company`, …).
    pub party: String,
    pub organization: OrganizationId,
    pub name: String,
    pub since: DateTime<Utc>,
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

impl Database {
    /// Writes a xiaoqu's name and place, creating its row if needed.
    pub async fn upsert_xiaoqu(&self, id: XiaoquId, x: &NewXiaoqu) -> Result<(), DbError> {
        let text = "INSERT INTO xiaoqu (id, name, community, street, district) \
                    VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO UPDATE SET \
                    name = excluded.name, community = excluded.community, \
                    street = excluded.street, district = excluded.district";
        on_db!(self, |pool, pg| {
            sqlx::query(&sql(pg, text))
                .bind(Id(id.0))
                .bind(&x.name)
                .bind(&x.community)
                .bind(&x.street)
                .bind(&x.district)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Replaces the parties of `xiaoqu` with `parties`, in one transaction.
    pub async fn replace_parties(
        &self,
        xiaoqu: XiaoquId,
        parties: &[PartyRow],
    ) -> Result<(), DbError> {
        let delete = "DELETE FROM xiaoqu_parties WHERE xiaoqu = $1";
        let insert = "INSERT INTO xiaoqu_parties (xiaoqu, party, organization, name, since) \
                      VALUES ($1, $2, $3, $4, $5)";
        on_db!(self, |pool, pg| {
            let mut tx = pool.begin().await?;
            sqlx::query(&sql(pg, delete))
                .bind(Id(xiaoqu.0))
                .execute(&mut *tx)
                .await?;
            for p in parties {
                sqlx::query(&sql(pg, insert))
                    .bind(Id(xiaoqu.0))
                    .bind(&p.party)
                    .bind(Id(p.organization.0))
                    .bind(&p.name)
                    .bind(p.since)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Where an organization acts: every xiaoqu and party, oldest first.
    pub async fn organization_parties(
        &self,
        organization: OrganizationId,
    ) -> Result<Vec<PartyRow>, DbError> {
        let text = "SELECT xiaoqu, party, organization, name, since FROM xiaoqu_parties \
                    WHERE organization = $1 ORDER BY since, xiaoqu";
        let rows = on_db!(self, |pool, pg| {
            let rows = sqlx::query(&sql(pg, text))
                .bind(Id(organization.0))
                .fetch_all(pool)
                .await?;
            rows.iter()
                .map(|r| {
                    Ok(PartyRow {
                        xiaoqu: XiaoquId(r.try_get::<Id, _>("xiaoqu")?.0),
                        party: r.try_get("party")?,
                        organization: OrganizationId(r.try_get::<Id, _>("organization")?.0),
                        name: r.try_get("name")?,
                        since: r.try_get("since")?,
                    })
                })
                .collect::<Result<Vec<_>, sqlx::Error>>()?
        });
        Ok(rows)
    }

    /// Every xiaoqu with its place, by district, street, community and name.
    pub async fn all_xiaoqu(&self) -> Result<Vec<super::XiaoquRecord>, DbError> {
        let text = "SELECT id, name, community, street, district FROM xiaoqu \
                    ORDER BY district, street, community, name";
        let rows = on_db!(self, |pool, _pg| {
            sqlx::query(text)
                .fetch_all(pool)
                .await?
                .iter()
                .map(|r| {
                    Ok(super::XiaoquRecord {
                        id: XiaoquId(r.try_get::<Id, _>("id")?.0),
                        name: r.try_get("name")?,
                        community: r.try_get("community")?,
                        street: r.try_get("street")?,
                        district: r.try_get("district")?,
                    })
                })
                .collect::<Result<Vec<_>, sqlx::Error>>()?
        });
        Ok(rows)
    }

    /// The ids of every xiaoqu in the table.
    pub async fn xiaoqu_ids(&self) -> Result<Vec<XiaoquId>, DbError> {
        let ids = on_db!(self, |pool, _pg| {
            sqlx::query("SELECT id FROM xiaoqu ORDER BY name")
                .fetch_all(pool)
                .await?
                .iter()
                .map(|r| r.try_get::<Id, _>("id").map(|id| XiaoquId(id.0)))
                .collect::<Result<Vec<_>, sqlx::Error>>()?
        });
        Ok(ids)
    }

    /// The ids of every stream of `aggregate_type`.
    pub async fn stream_ids(&self, aggregate_type: &str) -> Result<Vec<Uuid>, DbError> {
        let text = "SELECT DISTINCT aggregate_id FROM events WHERE aggregate_type = $1";
        let ids: Vec<String> = on_db!(self, |pool, pg| {
            sqlx::query_scalar(&sql(pg, text))
                .bind(aggregate_type)
                .fetch_all(pool)
                .await?
        });
        Ok(ids.iter().filter_map(|s| Uuid::parse_str(s).ok()).collect())
    }
}
