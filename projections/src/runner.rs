//! Runs a projection: exactly one active runner per projection across all
//! instances, each batch applied in the same transaction as its checkpoint.
//!
//! Leadership: PostgreSQL advisory lock on a dedicated connection; SQLite a
//! renewed lease. Either way the leader bumps the projection's epoch when it
//! takes over, and every batch commits only if that epoch is still current,
//! so a runner that lost its lock (paused, partitioned) cannot write.

use std::fmt::Debug;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use sqlx::postgres::PgListener;
use tokio::sync::watch;
use tracing::{debug, info, warn, Instrument};

use crate::checkpoint;
use crate::feed::{self, FeedEvent, Position};
use crate::leads::{HeldLock, SharedLocks};
use crate::shared_feed::SharedFeed;
use crate::store::{Store, StoreError, Tx};
use crate::trace_context;

pub use crate::feed::WAKE_CHANNEL;

/// A read model fed by the global feed.
#[async_trait]
pub trait Projection: Send + Sync + Debug {
    /// Stable name: the checkpoint's key.
    fn name(&self) -> &str;

    /// Applies a batch of events (any aggregate type) inside the batch's transaction.
    async fn apply(&self, tx: &mut Tx<'_>, events: &[FeedEvent]) -> Result<(), StoreError>;

    /// Whether any of `events` can change the read model. A batch that
    /// cannot is passed over without a transaction; the checkpoint moves
    /// past such batches every [`PASSED_OVER_AT_MOST`] rather than each time.
    async fn concerns(&self, _store: &Store, _events: &[FeedEvent]) -> Result<bool, StoreError> {
        Ok(true)
    }

    /// Empties the read model. For a shadow copy: creates its tables afresh.
    async fn clear(&self, tx: &mut Tx<'_>) -> Result<(), StoreError>;

    /// The same read model written to fresh tables, for rebuilds that swap
    /// in while the service keeps answering; `None` for a shadow itself.
    fn shadow(&self) -> Option<Arc<dyn Projection>>;

    /// For a shadow: replaces the live tables with its own.
    async fn swap_in(&self, _tx: &mut Tx<'_>) -> Result<(), StoreError> {
        Ok(())
    }

    /// For a shadow: the read model folded in memory from the whole feed,
    /// for a one-pass rebuild (the `rebuild` module). Every shadow has one;
    /// `None` for the live read models and the outboxes.
    fn fold(&self) -> Option<Box<dyn Fold>> {
        None
    }
}

/// A read model folded in memory while a rebuild reads the feed once, and
/// written to its shadow tables in bulk: each row once, not once per batch
/// that touched it.
#[async_trait]
pub trait Fold: Send {
    /// Folds the next events of the feed. A row written out by an earlier
    /// [`Fold::flush`] is read back from the shadow tables when its stream
    /// goes on.
    async fn add(&mut self, store: &Store, events: &[FeedEvent]) -> Result<(), StoreError>;

    /// Rows held in memory.
    fn held(&self) -> usize;

    /// Writes every row held to the shadow tables, with a few statements
    /// per thousands of rows, and forgets them.
    async fn flush(&mut self, store: &Store) -> Result<(), StoreError>;
}

#[derive(Clone, Copy, Debug)]
pub struct RunnerSettings {
    /// Most events per transaction.
    pub batch_size: i64,
    /// Fallback poll when no wake-up hint arrives.
    pub poll_interval: Duration,
    /// How often a standby runner tries to take over.
    pub standby_interval: Duration,
    /// SQLite lease length; renewed at every poll.
    pub lease: Duration,
    /// Least time from one pass over the feed to the next while appends
    /// keep coming (a pass after a quiet spell starts at once).
    pub pass_interval: Duration,
    /// Most events per read of the feed while rebuilding.
    pub rebuild_batch_size: i64,
    /// Most rows a rebuild holds in memory per read model before it writes
    /// them out (and reads them back when their streams go on).
    pub rebuild_rows_in_memory: usize,
}

impl Default for RunnerSettings {
    fn default() -> Self {
        Self {
            batch_size: 500,
            poll_interval: Duration::from_millis(500),
            standby_interval: Duration::from_secs(1),
            lease: Duration::from_secs(10),
            pass_interval: Duration::from_millis(25),
            rebuild_batch_size: 20_000,
            rebuild_rows_in_memory: 250_000,
        }
    }
}

/// How long a leader may leave its checkpoint behind batches that did not
/// concern its read model (it moves it with the next batch that does, or
/// after this long). A runner taking over from there reads those batches
/// again and passes them over again.
pub const PASSED_OVER_AT_MOST: Duration = Duration::from_millis(250);

/// The events a leader passed over since it last wrote its checkpoint.
#[derive(Debug, Default)]
struct PassedOver {
    events: i64,
    since: Option<tokio::time::Instant>,
}

/// A batch of a read model commits without waiting for its WAL to reach
/// the disk (PostgreSQL): the batch and its checkpoint are lost or kept
/// together, and a batch lost in a crash is applied again from the
/// checkpoint, which the feed still holds. Anything later that waits for
/// the disk (an append, an outbox row taken) flushes it first.
async fn unflushed_commit(tx: &mut Tx<'_>) -> Result<(), StoreError> {
    if let Tx::Postgres(conn) = tx {
        sqlx::query("SET LOCAL synchronous_commit = off")
            .execute(&mut **conn)
            .await?;
    }
    Ok(())
}

/// Proof of leadership while it lasts.
pub(crate) enum Lead {
    /// An advisory lock on the instance's lock connection ([`SharedLocks`]).
    Postgres(HeldLock),
    Sqlite,
}

/// Keeps one projection current.
#[derive(Debug, Clone)]
pub struct Runner {
    store: Store,
    projection: Arc<dyn Projection>,
    settings: RunnerSettings,
    /// Changes whenever this instance appended events: a wake-up hint.
    wake: watch::Receiver<u64>,
    /// Changes whenever another instance announced appends, heard on the
    /// instance's one shared `LISTEN` connection ([`appends_elsewhere`]);
    /// without it the runner listens on a connection of its own.
    elsewhere: Option<watch::Receiver<u64>>,
    /// Identifies this runner in SQLite leases.
    holder: String,
    /// Where its advisory lock is taken (PostgreSQL): the instance's one
    /// lock connection when shared ([`Runner::sharing_locks`]), else a
    /// connection of its own.
    locks: Option<Arc<SharedLocks>>,
    /// The instance's one read of the feed, shared with its other runners
    /// ([`Runner::sharing_feed`]); without it the runner reads the store.
    feed: Option<Arc<SharedFeed>>,
}

fn lock_key(name: &str) -> String {
    format!("lianxi.projection.{name}")
}

impl Runner {
    pub fn new(
        store: Store,
        projection: Arc<dyn Projection>,
        settings: RunnerSettings,
        wake: watch::Receiver<u64>,
    ) -> Self {
        Self {
            projection,
            settings,
            wake,
            elsewhere: None,
            holder: uuid::Uuid::new_v4().to_string(),
            locks: shared_locks(&store),
            feed: None,
            store,
        }
    }

    /// The same runner, reading the feed through `feed`, which the
    /// instance's other runners share.
    pub fn sharing_feed(self, feed: Arc<SharedFeed>) -> Self {
        Self {
            feed: Some(feed),
            ..self
        }
    }

    /// Up to `limit` events after `after`, as fresh as a read begun at
    /// `fresh_since` or later.
    async fn read_after(
        &self,
        after: Position,
        limit: i64,
        fresh_since: tokio::time::Instant,
    ) -> Result<Vec<FeedEvent>, StoreError> {
        match &self.feed {
            Some(feed) => feed.read_after(after, limit, fresh_since).await,
            None => feed::read_after(&self.store, after, limit).await,
        }
    }

    /// The same runner, leading with an advisory lock on the instance's one
    /// lock connection (PostgreSQL) instead of a connection of its own.
    pub fn sharing_locks(self, locks: Option<Arc<SharedLocks>>) -> Self {
        match locks {
            Some(locks) => Self {
                locks: Some(locks),
                ..self
            },
            None => self,
        }
    }

    /// The same runner, woken by the instance's shared listener instead of
    /// a `LISTEN` connection of its own.
    pub fn hearing(self, elsewhere: watch::Receiver<u64>) -> Self {
        Self {
            elsewhere: Some(elsewhere),
            ..self
        }
    }

    pub fn name(&self) -> &str {
        self.projection.name()
    }

    /// Tries to become the projection's one active runner.
    pub(crate) async fn try_lead(&self) -> Result<Option<(Lead, i64)>, StoreError> {
        let name = self.projection.name();
        match &self.store {
            Store::Postgres(_) => {
                let Some(locks) = &self.locks else {
                    return Ok(None);
                };
                let Some(lock) = locks.try_lock(name, &lock_key(name)).await? else {
                    return Ok(None);
                };
                match checkpoint::claim(&self.store, name).await {
                    Ok(epoch) => Ok(Some((Lead::Postgres(lock), epoch))),
                    Err(e) => {
                        locks.unlock(lock, &lock_key(name)).await;
                        Err(e)
                    }
                }
            }
            Store::Sqlite(_) => {
                let now = Utc::now();
                let until = now + self.settings.lease;
                let epoch = checkpoint::lease(&self.store, name, &self.holder, now, until).await?;
                Ok(epoch.map(|e| (Lead::Sqlite, e)))
            }
        }
    }

    /// Whether this runner still leads (the lock connection lives, the lease renews).
    async fn still_leading(&self, lead: &mut Lead, epoch: i64) -> Result<bool, StoreError> {
        match lead {
            Lead::Postgres(lock) => Ok(match &self.locks {
                Some(locks) => locks.still_held(lock).await,
                None => false,
            }),
            Lead::Sqlite => {
                let now = Utc::now();
                let until = now + self.settings.lease;
                let renewed = checkpoint::lease(
                    &self.store,
                    self.projection.name(),
                    &self.holder,
                    now,
                    until,
                )
                .await?;
                Ok(renewed == Some(epoch))
            }
        }
    }

    pub(crate) async fn step_down(&self, lead: Lead) {
        match lead {
            Lead::Postgres(lock) => {
                if let Some(locks) = &self.locks {
                    locks.unlock(lock, &lock_key(self.projection.name())).await;
                }
            }
            Lead::Sqlite => {
                checkpoint::release(&self.store, self.projection.name(), &self.holder)
                    .await
                    .ok();
            }
        }
    }

    /// Applies one batch and its checkpoint in one transaction.
    /// Applies `events` and moves the checkpoint past them (and past the
    /// `passed_over` events before them).
    async fn apply_batch(
        &self,
        epoch: i64,
        events: &[FeedEvent],
        passed_over: i64,
    ) -> Result<Position, StoreError> {
        let Some(last) = events.last().map(|e| e.position) else {
            return Err(StoreError::Decode {
                what: "batch".into(),
                message: "empty".into(),
            });
        };
        let name = self.projection.name();
        let count = events.len() as i64;
        let span = tracing::info_span!(
            "projection.apply",
            otel.name = %format!("apply {name}"),
            projection = name,
            events = count,
            to_position = last.global_position,
        );
        trace_context::link_causes(&span, events);
        let applied: Result<(), StoreError> = async {
            in_tx!(&self.store, |t| {
                unflushed_commit(t).await?;
                checkpoint::advance(t, name, epoch, last, count + passed_over).await?;
                self.projection.apply(t, events).await?;
                Ok::<(), StoreError>(())
            })
        }
        .instrument(span)
        .await;
        applied?;
        Ok(last)
    }

    async fn drain_in(&self, epoch: i64, batch: i64) -> Result<u64, StoreError> {
        let mut passed = PassedOver::default();
        let now = tokio::time::Instant::now();
        let (applied, at) = self
            .drain_from(epoch, None, batch, &mut passed, now)
            .await?;
        self.write_passed_over(epoch, at, &mut passed).await?;
        Ok(applied)
    }

    /// Moves the checkpoint to `at`, past the events passed over.
    async fn write_passed_over(
        &self,
        epoch: i64,
        at: Position,
        passed: &mut PassedOver,
    ) -> Result<(), StoreError> {
        if passed.events == 0 {
            return Ok(());
        }
        let name = self.projection.name();
        let events = passed.events;
        in_tx!(&self.store, |t| {
            checkpoint::advance(t, name, epoch, at, events).await
        })?;
        *passed = PassedOver::default();
        Ok(())
    }

    /// Applies batches until the feed is exhausted, as the leader at `epoch`,
    /// from `known` (where this leader left the checkpoint) or, without it,
    /// from the stored checkpoint. Returns the number of events applied and
    /// where the checkpoint stands now.
    ///
    /// While `epoch` is current nobody else moves the checkpoint: a rebuild
    /// that does bumps the epoch first, and the next batch is then fenced.
    ///
    /// Every read is at least as fresh as one begun at `fresh_since` (when
    /// the runner was woken), so that the appends it was woken for are read.
    async fn drain_from(
        &self,
        epoch: i64,
        known: Option<Position>,
        batch: i64,
        passed: &mut PassedOver,
        fresh_since: tokio::time::Instant,
    ) -> Result<(u64, Position), StoreError> {
        let mut at = match known {
            Some(at) => at,
            None => {
                checkpoint::load(&self.store, self.projection.name())
                    .await?
                    .position
            }
        };
        let mut applied = 0u64;
        let mut events = self.read_after(at, batch, fresh_since).await?;
        while let Some(last) = events.last().map(|e| e.position) {
            // A short batch was all there was to read; the next append wakes
            // the runner again.
            let more = events.len() as i64 >= batch;
            let next = async {
                if more {
                    self.read_after(last, batch, fresh_since).await
                } else {
                    Ok(Vec::new())
                }
            };
            let next = if self.projection.concerns(&self.store, &events).await? {
                // Read the next batch while this one is applied: they are independent.
                let (done, next) =
                    tokio::join!(self.apply_batch(epoch, &events, passed.events), next);
                done?;
                *passed = PassedOver::default();
                applied += events.len() as u64;
                next
            } else {
                passed.events += events.len() as i64;
                passed.since.get_or_insert_with(tokio::time::Instant::now);
                next.await
            };
            at = last;
            events = next?;
        }
        if passed
            .since
            .is_some_and(|since| since.elapsed() >= PASSED_OVER_AT_MOST)
        {
            self.write_passed_over(epoch, at, passed).await?;
        }
        Ok((applied, at))
    }

    /// Takes the lead once and applies everything readable now; for the
    /// command line and tests. `Ok(None)` when another runner leads.
    pub async fn catch_up(&self) -> Result<Option<u64>, StoreError> {
        let Some((lead, epoch)) = self.try_lead().await? else {
            return Ok(None);
        };
        let result = self.drain_in(epoch, self.settings.batch_size).await;
        self.step_down(lead).await;
        result.map(Some)
    }

    /// A runner of `shadow` for a rebuild: it only takes and gives up the
    /// shadow's lead.
    pub(crate) fn of_shadow(
        store: &Store,
        shadow: Arc<dyn Projection>,
        settings: RunnerSettings,
        locks: Option<Arc<SharedLocks>>,
    ) -> Runner {
        Runner {
            store: store.clone(),
            projection: shadow,
            settings,
            wake: watch::channel(0).1,
            elsewhere: None,
            holder: uuid::Uuid::new_v4().to_string(),
            locks,
            feed: None,
        }
    }

    /// Runs until `shutdown` turns true: stands by while another runner
    /// leads, takes over when it can, and keeps the projection current.
    pub async fn run(mut self, mut shutdown: watch::Receiver<bool>) {
        let name = self.projection.name().to_owned();
        let mut listener = match &self.store {
            // The instance's shared listener wakes this runner.
            _ if self.elsewhere.is_some() => None,
            // On a pool of its own: a connection that listens must never be
            // handed out for other statements, where a notification
            // arriving mid-statement breaks the protocol.
            Store::Postgres(pool) => match PgListener::connect_with(&listener_pool(pool)).await {
                Ok(mut l) => match l.listen(WAKE_CHANNEL).await {
                    Ok(()) => Some(l),
                    Err(e) => {
                        warn!(projection = %name, error = %e, "cannot LISTEN; polling only");
                        None
                    }
                },
                Err(e) => {
                    warn!(projection = %name, error = %e, "cannot LISTEN; polling only");
                    None
                }
            },
            Store::Sqlite(_) => None,
        };
        while !*shutdown.borrow() {
            let lead = match self.try_lead().await {
                Ok(Some(lead)) => lead,
                Ok(None) => {
                    debug!(projection = %name, "standing by: another runner leads");
                    wait(&mut shutdown, self.settings.standby_interval).await;
                    continue;
                }
                Err(e) => {
                    warn!(projection = %name, error = %e, "cannot take the lead");
                    wait(&mut shutdown, self.settings.standby_interval).await;
                    continue;
                }
            };
            let (mut lead, epoch) = lead;
            info!(projection = %name, epoch, "leading the projection");
            // Where this leader left the checkpoint (`None`: read it), and
            // the events it passed over since it last wrote it.
            let mut at: Option<Position> = None;
            let mut passed = PassedOver::default();
            // When the lead was last confirmed: it was just taken.
            let mut confirmed = tokio::time::Instant::now();
            // When the runner was last woken: every read of the next pass
            // is at least this fresh.
            let mut woken = tokio::time::Instant::now();
            loop {
                if *shutdown.borrow() {
                    break;
                }
                // A SQLite lease is renewed at every pass. An advisory lock
                // is held as long as its connection lives; checking that
                // connection at every pass would cost a round trip per
                // pass, and a runner that lost it is fenced at its next
                // batch anyway, so it is checked at most every standby
                // interval.
                let check = matches!(lead, Lead::Sqlite)
                    || confirmed.elapsed() >= self.settings.standby_interval;
                if check {
                    match self.still_leading(&mut lead, epoch).await {
                        Ok(true) => confirmed = tokio::time::Instant::now(),
                        Ok(false) => {
                            warn!(projection = %name, epoch, "lost the lead");
                            break;
                        }
                        Err(e) => {
                            warn!(projection = %name, error = %e, "cannot confirm the lead");
                            break;
                        }
                    }
                }
                let pass_started = tokio::time::Instant::now();
                match self
                    .drain_from(epoch, at, self.settings.batch_size, &mut passed, woken)
                    .await
                {
                    Ok((n, to)) => {
                        at = Some(to);
                        if n > 0 {
                            debug!(projection = %name, events = n, "applied");
                        }
                    }
                    Err(StoreError::Fenced(_)) => {
                        warn!(projection = %name, epoch, "fenced out by a newer runner");
                        break;
                    }
                    Err(e) => {
                        // Some batches may have committed: read the checkpoint again.
                        at = None;
                        passed = PassedOver::default();
                        warn!(projection = %name, error = %e, "batch failed; retrying");
                        wait(&mut shutdown, self.settings.poll_interval).await;
                        continue;
                    }
                }
                // Sleep until a hint (this instance appended, or NOTIFY) or the poll interval.
                tokio::select! {
                    _ = changed(&mut self.wake) => {}
                    _ = heard(&mut self.elsewhere) => {}
                    _ = notified(&mut listener) => {}
                    _ = tokio::time::sleep(self.settings.poll_interval) => {}
                    _ = shutdown.changed() => {}
                }
                woken = tokio::time::Instant::now();
                // While appends keep coming, passes come at most every
                // `pass_interval`: batches grow with the load instead of
                // passes (each a read of the feed and a transaction)
                // multiplying. After a quiet spell the first append is
                // read at once.
                tokio::select! {
                    _ = tokio::time::sleep_until(pass_started + self.settings.pass_interval) => {}
                    _ = shutdown.changed() => {}
                }
            }
            self.step_down(lead).await;
        }
        info!(projection = %name, "projection runner stopped");
    }
}

/// One lock connection for all the runners of an instance (PostgreSQL;
/// `None` on SQLite, where leads are leases in a table).
pub fn shared_locks(store: &Store) -> Option<Arc<SharedLocks>> {
    match store {
        Store::Postgres(pool) => Some(Arc::new(SharedLocks::new(pool))),
        Store::Sqlite(_) => None,
    }
}

/// One `LISTEN` connection for all the runners of an instance: the answer
/// changes whenever another instance announces appends (`NOTIFY
/// lianxi_events`). The listening task ends when every runner is gone; if
/// it cannot listen, the runners poll. `None` on SQLite (one instance).
pub fn appends_elsewhere(store: &Store) -> Option<watch::Receiver<u64>> {
    let Store::Postgres(pool) = store else {
        return None;
    };
    let pool = listener_pool(pool);
    let (heard, receiver) = watch::channel(0u64);
    tokio::spawn(async move {
        let mut listener = match PgListener::connect_with(&pool).await {
            Ok(l) => l,
            Err(e) => {
                warn!(error = %e, "cannot LISTEN; the runners poll");
                return;
            }
        };
        if let Err(e) = listener.listen(WAKE_CHANNEL).await {
            warn!(error = %e, "cannot LISTEN; the runners poll");
            return;
        }
        loop {
            tokio::select! {
                _ = heard.closed() => return,
                received = listener.try_recv() => match received {
                    Ok(Some(_)) => heard.send_modify(|n| *n = n.wrapping_add(1)),
                    // The connection dropped: the next call reconnects and
                    // listens again; the runners poll meanwhile.
                    Ok(None) => {}
                    Err(e) => {
                        debug!(error = %e, "the shared listener failed; retrying");
                        tokio::time::sleep(Duration::from_millis(500)).await;
                    }
                },
            }
        }
    });
    Some(receiver)
}

/// Completes when the shared listener heard of appends elsewhere; never
/// without one.
async fn heard(elsewhere: &mut Option<watch::Receiver<u64>>) {
    match elsewhere {
        Some(rx) => changed(rx).await,
        None => std::future::pending::<()>().await,
    }
}

/// A pool of one connection, to `pool`'s database, for a listener.
fn listener_pool(pool: &sqlx::PgPool) -> sqlx::PgPool {
    sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .max_lifetime(None)
        .idle_timeout(None)
        .connect_lazy_with((*pool.connect_options()).clone())
}

async fn notified(listener: &mut Option<PgListener>) {
    match listener {
        Some(l) => {
            if l.try_recv().await.is_err() {
                // The listener reconnects on the next call; fall back to polling meanwhile.
                std::future::pending::<()>().await;
            }
        }
        None => std::future::pending::<()>().await,
    }
}

/// Completes when this instance appended events; never, once the log is gone.
async fn changed(wake: &mut watch::Receiver<u64>) {
    if wake.changed().await.is_err() {
        std::future::pending::<()>().await;
    }
}

async fn wait(shutdown: &mut watch::Receiver<bool>, duration: Duration) {
    tokio::select! {
        _ = tokio::time::sleep(duration) => {}
        _ = shutdown.changed() => {}
    }
}
