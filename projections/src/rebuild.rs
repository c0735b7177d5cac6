//! Rebuilding read models from the first event in one pass over the feed,
//! while the service keeps answering.
//!
//! One reader walks the feed; every read model folds each batch in memory
//! in a task of its own ([`Fold`]), so reading and folding run side by side
//! and each row is written once, in bulk, into the read model's shadow
//! tables. A fold holding more rows than
//! [`RunnerSettings::rebuild_rows_in_memory`] writes them out and reads back
//! the ones whose streams go on. Then one transaction fences every live
//! runner, applies the events that arrived meanwhile to the shadows, swaps
//! the shadow tables in and moves each live checkpoint there; the fenced
//! runners take the lead again and carry on from that point.

use std::sync::Arc;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::info;

use crate::checkpoint;
use crate::feed::{self, FeedEvent, Position};
use crate::runner::{shared_locks, Fold, Lead, Projection, Runner, RunnerSettings};
use crate::store::{Store, StoreError};

/// Batches a fold may have waiting before the reader waits for it.
const QUEUED_BATCHES: usize = 2;

/// How often (in events read) the shadows' checkpoints record progress.
const PROGRESS_EVERY: i64 = 100_000;

/// A shadow read model and the lead its rebuild holds.
struct Building {
    live: Arc<dyn Projection>,
    shadow: Arc<dyn Projection>,
    runner: Runner,
    lead: Option<Lead>,
    epoch: i64,
}

/// Rebuilds `projections` (each must have a shadow) together from the first
/// event and swaps them in. Returns the events each now reflects; `Ok(None)`
/// when another rebuild of one of them runs.
pub async fn rebuild(
    store: &Store,
    projections: &[Arc<dyn Projection>],
    settings: RunnerSettings,
) -> Result<Option<u64>, StoreError> {
    let locks = shared_locks(store);
    let mut building = Vec::with_capacity(projections.len());
    for live in projections {
        let Some(shadow) = live.shadow() else {
            return Err(StoreError::Decode {
                what: live.name().to_owned(),
                message: "this projection has no shadow to rebuild into".into(),
            });
        };
        let runner = Runner::of_shadow(store, shadow.clone(), settings, locks.clone());
        building.push(Building {
            live: live.clone(),
            shadow,
            runner,
            lead: None,
            epoch: 0,
        });
    }
    let mut result = Ok(None);
    let mut all_led = true;
    for b in &mut building {
        match b.runner.try_lead().await {
            Ok(Some((lead, epoch))) => {
                b.lead = Some(lead);
                b.epoch = epoch;
            }
            Ok(None) => {
                all_led = false;
                break;
            }
            Err(e) => {
                result = Err(e);
                all_led = false;
                break;
            }
        }
    }
    if all_led {
        result = build(store, &building, settings).await.map(Some);
    }
    for b in &mut building {
        if let Some(lead) = b.lead.take() {
            b.runner.step_down(lead).await;
        }
    }
    result
}

/// With every shadow's lead held: folds the feed into the shadows, then
/// swaps them in.
async fn build(
    store: &Store,
    building: &[Building],
    settings: RunnerSettings,
) -> Result<u64, StoreError> {
    in_tx!(store, |t| {
        for b in building {
            let shadow = b.shadow.name();
            checkpoint::advance(t, shadow, b.epoch, Position::default(), 0).await?;
            checkpoint::reset(t, shadow).await?;
            b.shadow.clear(t).await?;
        }
        Ok::<(), StoreError>(())
    })?;
    let started = std::time::Instant::now();
    let (at, read) = one_pass(store, building, settings).await?;
    info!(
        events = read,
        seconds = started.elapsed().as_secs_f64(),
        "folded the feed into the shadow read models"
    );
    for b in building {
        checkpoint::ensure(store, b.live.name()).await?;
    }
    let batch = settings.rebuild_batch_size;
    in_tx!(store, |t| {
        // Fence the live runners first: this also locks their checkpoint
        // rows until the swap commits.
        for b in building {
            checkpoint::bump_epoch(t, b.live.name()).await?;
        }
        let (mut at, mut applied) = (at, read);
        loop {
            let events = feed::read_after(store, at, batch).await?;
            let Some(last) = events.last().map(|e| e.position) else {
                break;
            };
            for b in building {
                b.shadow.apply(t, &events).await?;
            }
            at = last;
            applied += events.len() as i64;
        }
        for b in building {
            b.shadow.swap_in(t).await?;
            checkpoint::set(t, b.live.name(), at, applied).await?;
        }
        Ok::<u64, StoreError>(applied.max(0) as u64)
    })
}

/// Reads the feed once, handing every batch to each read model's fold, and
/// writes out what the folds hold. Returns where the pass ended and how
/// many events it read.
async fn one_pass(
    store: &Store,
    building: &[Building],
    settings: RunnerSettings,
) -> Result<(Position, i64), StoreError> {
    let mut senders = Vec::with_capacity(building.len());
    let mut folds: Vec<JoinHandle<Result<(), StoreError>>> = Vec::with_capacity(building.len());
    let made: Vec<Box<dyn Fold>> = building
        .iter()
        .map(|b| {
            b.shadow.fold().ok_or_else(|| StoreError::Decode {
                what: b.live.name().to_owned(),
                message: "this read model has no fold to rebuild with".into(),
            })
        })
        .collect::<Result<_, _>>()?;
    for fold in made {
        let (send, receive) = mpsc::channel::<Arc<Vec<FeedEvent>>>(QUEUED_BATCHES);
        folds.push(tokio::spawn(fold_all(
            store.clone(),
            fold,
            receive,
            settings.rebuild_rows_in_memory.max(1),
        )));
        senders.push(send);
    }
    let read = read_all(store, building, &senders, settings.rebuild_batch_size).await;
    drop(senders);
    let mut failed = None;
    for fold in folds {
        let done = fold.await.unwrap_or_else(|e| {
            Err(StoreError::Decode {
                what: "rebuild".into(),
                message: e.to_string(),
            })
        });
        if let Err(e) = done {
            failed.get_or_insert(e);
        }
    }
    match failed {
        Some(e) => Err(e),
        None => read,
    }
}

/// The reader: the whole feed, batch after batch, to every fold. Stops
/// early when a fold has failed (its receiver is gone).
async fn read_all(
    store: &Store,
    building: &[Building],
    senders: &[mpsc::Sender<Arc<Vec<FeedEvent>>>],
    batch: i64,
) -> Result<(Position, i64), StoreError> {
    let mut at = Position::default();
    let mut read = 0i64;
    let mut noted = 0i64;
    loop {
        let events = feed::read_payloads_after(store, at, batch).await?;
        let Some(last) = events.last().map(|e| e.position) else {
            break;
        };
        let full = events.len() as i64 >= batch;
        read += events.len() as i64;
        at = last;
        let events = Arc::new(events);
        for send in senders {
            if send.send(events.clone()).await.is_err() {
                return Ok((at, read));
            }
        }
        if read - noted >= PROGRESS_EVERY {
            noted = read;
            progress(store, building, at, read).await?;
        }
        if !full {
            break;
        }
    }
    Ok((at, read))
}

/// Records how far the pass has read on each shadow's checkpoint, where
/// `lianxi projections status` and progress bars see it.
async fn progress(
    store: &Store,
    building: &[Building],
    at: Position,
    read: i64,
) -> Result<(), StoreError> {
    in_tx!(store, |t| {
        for b in building {
            checkpoint::set(t, b.shadow.name(), at, read).await?;
        }
        Ok::<(), StoreError>(())
    })
}

/// One read model's fold: every batch in, rows written out when too many
/// are held, and the rest at the end.
async fn fold_all(
    store: Store,
    mut fold: Box<dyn Fold>,
    mut batches: mpsc::Receiver<Arc<Vec<FeedEvent>>>,
    rows_in_memory: usize,
) -> Result<(), StoreError> {
    while let Some(events) = batches.recv().await {
        fold.add(&store, &events).await?;
        if fold.held() >= rows_in_memory {
            fold.flush(&store).await?;
        }
    }
    fold.flush(&store).await
}
