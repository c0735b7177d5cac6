//! Where each projection stands, and who may advance it.

use chrono::{DateTime, Utc};
use sqlx::Row;

use crate::feed::Position;
use crate::on_store;
use crate::store::{sql, Store, StoreError, Tx};

/// A projection's checkpoint row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    pub name: String,
    pub position: Position,
    pub events_applied: i64,
    pub epoch: i64,
}

/// Creates the checkpoint row of `name` if it does not exist yet.
pub async fn ensure(store: &Store, name: &str) -> Result<(), StoreError> {
    on_store!(store, Store, |pool, pg| {
        sqlx::query(&sql(
            pg,
            "INSERT INTO projection_checkpoints (name) VALUES ($1) ON CONFLICT (name) DO NOTHING",
        ))
        .bind(name)
        .execute(pool)
        .await?;
    });
    Ok(())
}

/// Every checkpoint, by name.
pub async fn all(store: &Store) -> Result<Vec<Checkpoint>, StoreError> {
    const SELECT: &str =
        "SELECT name, transaction_id, global_position, events_applied, epoch FROM projection_checkpoints ORDER BY name";
    on_store!(store, Store, |pool, _pg| {
        let rows = sqlx::query(SELECT).fetch_all(pool).await?;
        rows.iter()
            .map(|r| {
                Ok(Checkpoint {
                    name: r.try_get("name")?,
                    position: Position {
                        transaction_id: r.try_get("transaction_id")?,
                        global_position: r.try_get("global_position")?,
                    },
                    events_applied: r.try_get("events_applied")?,
                    epoch: r.try_get("epoch")?,
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()
            .map_err(Into::into)
    })
}

pub async fn load(store: &Store, name: &str) -> Result<Checkpoint, StoreError> {
    ensure(store, name).await?;
    all(store)
        .await?
        .into_iter()
        .find(|c| c.name == name)
        .ok_or_else(|| StoreError::Decode {
            what: "projection_checkpoints".into(),
            message: format!("no checkpoint {name}"),
        })
}

/// Takes a projection over: bumps its epoch, fencing out any previous runner.
pub async fn claim(store: &Store, name: &str) -> Result<i64, StoreError> {
    ensure(store, name).await?;
    on_store!(store, Store, |pool, pg| {
        let epoch: i64 = sqlx::query_scalar(&sql(
            pg,
            "UPDATE projection_checkpoints SET epoch = epoch + 1 WHERE name = $1 RETURNING epoch",
        ))
        .bind(name)
        .fetch_one(pool)
        .await?;
        Ok(epoch)
    })
}

/// SQLite has no advisory locks: the active runner holds a lease that it
/// renews. Taking an expired or free lease bumps the epoch; renewing keeps it.
/// Returns the epoch when `holder` holds the lease.
pub async fn lease(
    store: &Store,
    name: &str,
    holder: &str,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<Option<i64>, StoreError> {
    ensure(store, name).await?;
    let Store::Sqlite(pool) = store else {
        return Err(StoreError::Decode {
            what: "lease".into(),
            message: "leases are for SQLite; PostgreSQL uses advisory locks".into(),
        });
    };
    let epoch: Option<i64> = sqlx::query_scalar(
        "UPDATE projection_checkpoints
            SET epoch = CASE WHEN lease_holder = ?2 THEN epoch ELSE epoch + 1 END,
                lease_holder = ?2, lease_until = ?3
          WHERE name = ?1 AND (lease_holder IS NULL OR lease_holder = ?2 OR lease_until < ?4)
         RETURNING epoch",
    )
    .bind(name)
    .bind(holder)
    .bind(until.to_rfc3339())
    .bind(now.to_rfc3339())
    .fetch_optional(pool)
    .await?;
    Ok(epoch)
}

/// Gives a SQLite lease up so that another runner need not wait for it to expire.
pub async fn release(store: &Store, name: &str, holder: &str) -> Result<(), StoreError> {
    if let Store::Sqlite(pool) = store {
        sqlx::query("UPDATE projection_checkpoints SET lease_holder = NULL, lease_until = NULL WHERE name = ? AND lease_holder = ?")
            .bind(name)
            .bind(holder)
            .execute(pool)
            .await?;
    }
    Ok(())
}

/// Advances the checkpoint inside the batch's transaction, only if `epoch`
/// is still current. Runs first in the transaction, so it also locks the row
/// against a concurrent takeover until commit.
pub async fn advance(
    tx: &mut Tx<'_>,
    name: &str,
    epoch: i64,
    to: Position,
    applied: i64,
) -> Result<(), StoreError> {
    const UPDATE: &str = "UPDATE projection_checkpoints
           SET transaction_id = $2, global_position = $3, events_applied = events_applied + $4, updated_at = $5
         WHERE name = $1 AND epoch = $6";
    let now = Utc::now();
    let rows = on_store!(tx, Tx, |conn, pg| {
        sqlx::query(&sql(pg, UPDATE))
            .bind(name)
            .bind(to.transaction_id)
            .bind(to.global_position)
            .bind(applied)
            .bind(now)
            .bind(epoch)
            .execute(&mut **conn)
            .await?
            .rows_affected()
    });
    if rows == 1 {
        Ok(())
    } else {
        Err(StoreError::Fenced(name.to_owned()))
    }
}

/// Fences whoever runs `name` now, inside the caller's transaction.
pub async fn bump_epoch(tx: &mut Tx<'_>, name: &str) -> Result<(), StoreError> {
    on_store!(tx, Tx, |conn, pg| {
        sqlx::query(&sql(
            pg,
            "UPDATE projection_checkpoints SET epoch = epoch + 1 WHERE name = $1",
        ))
        .bind(name)
        .execute(&mut **conn)
        .await?;
    });
    Ok(())
}

/// Moves `name` to `to`, with `applied` events behind it.
pub async fn set(
    tx: &mut Tx<'_>,
    name: &str,
    to: Position,
    applied: i64,
) -> Result<(), StoreError> {
    let now = Utc::now();
    on_store!(tx, Tx, |conn, pg| {
        sqlx::query(&sql(
            pg,
            "UPDATE projection_checkpoints SET transaction_id = $2, global_position = $3, events_applied = $4, updated_at = $5 WHERE name = $1",
        ))
        .bind(name)
        .bind(to.transaction_id)
        .bind(to.global_position)
        .bind(applied)
        .bind(now)
        .execute(&mut **conn)
        .await?;
    });
    Ok(())
}

/// Resets a projection to the start of the feed (inside a rebuild's transaction).
pub async fn reset(tx: &mut Tx<'_>, name: &str) -> Result<(), StoreError> {
    on_store!(tx, Tx, |conn, pg| {
        sqlx::query(&sql(
            pg,
            "UPDATE projection_checkpoints SET transaction_id = 0, global_position = 0, events_applied = 0 WHERE name = $1",
        ))
        .bind(name)
        .execute(&mut **conn)
        .await?;
    });
    Ok(())
}
