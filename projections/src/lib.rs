//! Read models built from the global event feed, and the runner that keeps
//! them current.
//!
//! - [`store`], [`feed`], [`trace_context`]: the event log as both sides
//!   read it, from the `lianxi-feed` crate beneath this one and the write path.
//! - [`checkpoint`]: where each projection stands, with its fencing epoch.
//! - [`runner`]: one active runner per projection across all instances;
//!   [`leads`]: the advisory locks that make one lead, on one connection
//!   per instance; [`shared_feed`]: one read of the feed for all the
//!   runners of an instance.
//! - [`figures`]: the 三率 figures for the public board.
//! - [`grievance_list`]: the grievance list and detail read model, and its queries.
//! - [`meetings`]: joint meetings and mediation cases, their action items and obligations.
//! - [`follow_ups`]: the outbox of case and meeting events that grievances follow.
//!
//! Architecture invariant: no business rules here. Views are folds of events
//! (the grievance list reuses the aggregate's own `apply`); who may see what
//! arrives as an [`grievance_list::Audience`] decided by the gateway.
#![forbid(unsafe_code)]

/// Runs `$body` with `$t: &mut Tx` inside a transaction on `$store`, and
/// commits if it returns `Ok`.
macro_rules! in_tx {
    ($store:expr, |$t:ident| $body:block) => {
        match $store {
            $crate::store::Store::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                let result = {
                    let mut inner = $crate::store::Tx::Postgres(&mut tx);
                    let $t = &mut inner;
                    $body
                };
                if result.is_ok() {
                    tx.commit().await?;
                }
                result
            }
            $crate::store::Store::Sqlite(pool) => {
                let mut tx = pool.begin().await?;
                let result = {
                    let mut inner = $crate::store::Tx::Sqlite(&mut tx);
                    let $t = &mut inner;
                    $body
                };
                if result.is_ok() {
                    tx.commit().await?;
                }
                result
            }
        }
    };
}

pub mod checkpoint;
pub mod figures;
pub mod follow_ups;
pub mod grievance_list;
pub mod leads;
pub mod meetings;
pub mod rebuild;
pub mod runner;
mod shadow;
pub mod shared_feed;
pub mod webhook_outbox;

pub use lianxi_feed::{feed, store, trace_context};
pub use lianxi_feed::{on_store, FeedEvent, Position};
pub use lianxi_feed::{Store, StoreError};
pub use runner::{Fold, Projection, Runner, RunnerSettings};
