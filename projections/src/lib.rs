//! Read models built from the global event feed, and the runner that keeps
//! them current.
//!
//! - [`store`]: the two stores and SQL shared between them.
//! - [`feed`]: the global feed in commit-safe order.
//! - [`checkpoint`]: where each projection stands, with its fencing epoch.
//! - [`runner`]: one active runner per projection across all instances.
//! - [`figures`]: the 三率 figures for the public board.
//! - [`grievance_list`]: the grievance list and detail read model, and its queries.
//! - [`meetings`]: joint meetings and mediation cases, their action items and obligations.
//! - [`follow_ups`]: the outbox of case and meeting events that grievances follow.
//! - [`trace_context`]: W3C trace context carried in event metadata.
//!
//! Architecture invariant: no business rules here. Views are folds of events
//! (the grievance list reuses the aggregate's own `apply`); who may see what
//! arrives as an [`grievance_list::Audience`] decided by the gateway.
#![forbid(unsafe_code)]

pub mod checkpoint;
pub mod feed;
pub mod figures;
pub mod follow_ups;
pub mod grievance_list;
pub mod meetings;
pub mod runner;
pub mod store;
pub mod trace_context;
pub mod webhook_outbox;

pub use feed::{FeedEvent, Position};
pub use runner::{Projection, Runner, RunnerSettings};
pub use store::{Store, StoreError};
