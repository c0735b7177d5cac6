//! The event log as the write path and the read models both see it, so
//! that neither depends on the other:
//!
//! - [`store`]: the two stores (PostgreSQL, SQLite) and what lets one piece
//!   of SQL serve both.
//! - [`feed`]: positions in the global feed and the feed in commit-safe
//!   order; the channel on which appends are announced.
//! - [`trace_context`]: W3C trace context carried in event metadata, from
//!   the command that wrote an event to the read model that applies it.
#![forbid(unsafe_code)]

pub mod feed;
pub mod store;
pub mod trace_context;

pub use feed::{FeedEvent, Position};
pub use store::{Store, StoreError};
