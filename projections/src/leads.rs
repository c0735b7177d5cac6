//! The advisory locks that make a runner the lead of its read model, held
//! on one PostgreSQL connection for all the runners of an instance.
//!
//! A session advisory lock lasts as long as the connection that took it, so
//! the locks need a connection outside the pool. One per read model would
//! cost an instance a connection per projection; here one connection holds
//! every lock this instance's runners have. If it drops, every lock it held
//! is gone at once: each runner sees that at its next check (the connection
//! it locked on is not the current one) and stands by, and the next
//! `try_lock` opens a fresh connection. Advisory locks are re-entrant within
//! a session, so this instance also refuses a second lock of a name it
//! already holds.

use std::collections::HashSet;

use sqlx::postgres::{PgConnection, PgPool};
use sqlx::{ConnectOptions as _, Connection as _};
use tokio::sync::Mutex;

use crate::StoreError;

/// The instance's lock connection and the names locked on it.
#[derive(Debug)]
pub struct SharedLocks {
    pool: PgPool,
    inner: Mutex<Held>,
}

#[derive(Debug, Default)]
struct Held {
    conn: Option<PgConnection>,
    /// Counts the connections opened: a lock belongs to one of them.
    generation: u64,
    names: HashSet<String>,
}

/// A lock this instance holds: the name and the connection it was taken on.
#[derive(Debug)]
pub struct HeldLock {
    name: String,
    generation: u64,
}

impl SharedLocks {
    /// Locks taken on connections made with `pool`'s options (not from the
    /// pool: a pooled connection would be handed to others).
    pub fn new(pool: &PgPool) -> Self {
        SharedLocks {
            pool: pool.clone(),
            inner: Mutex::new(Held::default()),
        }
    }

    /// Takes the lock `key` names for `name`, unless another session (or
    /// this instance) holds it.
    pub async fn try_lock(&self, name: &str, key: &str) -> Result<Option<HeldLock>, StoreError> {
        let mut held = self.inner.lock().await;
        if held.names.contains(name) {
            return Ok(None);
        }
        if held.conn.is_none() {
            let conn = self.pool.connect_options().connect().await?;
            held.conn = Some(conn);
            held.generation += 1;
            held.names.clear();
        }
        let generation = held.generation;
        let Some(conn) = held.conn.as_mut() else {
            return Ok(None);
        };
        let locked: Result<bool, sqlx::Error> =
            sqlx::query_scalar("SELECT pg_try_advisory_lock(hashtext($1)::bigint)")
                .bind(key)
                .fetch_one(&mut *conn)
                .await;
        match locked {
            Ok(true) => {
                held.names.insert(name.to_owned());
                Ok(Some(HeldLock {
                    name: name.to_owned(),
                    generation,
                }))
            }
            Ok(false) => Ok(None),
            Err(e) => {
                // The connection may be gone, and every lock with it.
                held.forget();
                Err(e.into())
            }
        }
    }

    /// Whether `lock` is still held: its connection is the current one and
    /// answers.
    pub async fn still_held(&self, lock: &HeldLock) -> bool {
        let mut held = self.inner.lock().await;
        if held.generation != lock.generation || !held.names.contains(&lock.name) {
            return false;
        }
        let alive = match held.conn.as_mut() {
            Some(conn) => conn.ping().await.is_ok(),
            None => false,
        };
        if !alive {
            held.forget();
        }
        alive
    }

    /// Gives `lock` up (nothing to do if its connection is gone already).
    pub async fn unlock(&self, lock: HeldLock, key: &str) {
        let mut held = self.inner.lock().await;
        if held.generation != lock.generation || !held.names.remove(&lock.name) {
            return;
        }
        let released = match held.conn.as_mut() {
            Some(conn) => {
                sqlx::query_scalar::<_, bool>("SELECT pg_advisory_unlock(hashtext($1)::bigint)")
                    .bind(key)
                    .fetch_one(&mut *conn)
                    .await
                    .is_ok()
            }
            None => true,
        };
        if !released {
            held.forget();
        } else if held.names.is_empty() {
            // Nothing is held: no reason to keep a connection open.
            if let Some(conn) = held.conn.take() {
                conn.close().await.ok();
            }
        }
    }
}

impl Held {
    /// The connection is unusable: drop it and every lock it held.
    fn forget(&mut self) {
        self.conn = None;
        self.names.clear();
    }
}
