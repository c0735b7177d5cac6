//! Shadow copies of a read model's tables: created afresh for a rebuild,
//! shaped like the live ones, then swapped in for them.

use crate::on_store;
use crate::store::{StoreError, Tx};

/// Runs one statement. Quotes nothing: table names are constants of the
/// read models.
pub(crate) async fn exec(tx: &mut Tx<'_>, statement: &str) -> Result<(), StoreError> {
    on_store!(tx, Tx, |conn, _pg| {
        sqlx::query(statement).execute(&mut **conn).await?;
    });
    Ok(())
}

/// Drops each shadow table of `pairs` (live, shadow) if it is left from
/// an earlier rebuild, and creates it afresh like its live table, with its
/// keys and indexes.
pub(crate) async fn create(tx: &mut Tx<'_>, pairs: &[(&str, &str)]) -> Result<(), StoreError> {
    for (live, shadow) in pairs {
        exec(tx, &format!("DROP TABLE IF EXISTS {shadow}")).await?;
        match tx {
            Tx::Postgres(_) => {
                exec(
                    tx,
                    &format!("CREATE TABLE {shadow} (LIKE {live} INCLUDING ALL)"),
                )
                .await?;
            }
            Tx::Sqlite(_) => {
                for ddl in sqlite_copy_ddl(tx, live, shadow).await? {
                    exec(tx, &ddl).await?;
                }
            }
        }
    }
    Ok(())
}

/// Replaces each live table of `pairs` (live, shadow) with its shadow.
pub(crate) async fn swap_in(tx: &mut Tx<'_>, pairs: &[(&str, &str)]) -> Result<(), StoreError> {
    for (live, shadow) in pairs {
        exec(tx, &format!("DROP TABLE {live}")).await?;
        exec(tx, &format!("ALTER TABLE {shadow} RENAME TO {live}")).await?;
    }
    Ok(())
}

/// SQLite keeps each object's DDL; a copy under another name is that DDL
/// with the names changed. Index names toggle a `_r` suffix so that the copy
/// of a copy does not collide with the original.
async fn sqlite_copy_ddl(tx: &mut Tx<'_>, from: &str, to: &str) -> Result<Vec<String>, StoreError> {
    let Tx::Sqlite(conn) = tx else {
        return Ok(Vec::new());
    };
    let rows: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT type, name, sql FROM sqlite_master WHERE tbl_name = ?1 AND sql IS NOT NULL ORDER BY type DESC",
    )
    .bind(from)
    .fetch_all(&mut **conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(kind, name, sql)| {
            if kind == "table" {
                sql.replacen(from, to, 1)
            } else {
                let renamed = match name.strip_suffix("_r") {
                    Some(base) => base.to_owned(),
                    None => format!("{name}_r"),
                };
                sql.replacen(&name, &renamed, 1)
                    .replacen(&format!(" ON {from} "), &format!(" ON {to} "), 1)
                    .replacen(&format!(" ON {from}("), &format!(" ON {to}("), 1)
            }
        })
        .collect())
}
