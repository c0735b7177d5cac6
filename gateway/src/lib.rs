//! The Lianxi service: its interfaces, the application layer they call, the
//! event log, and the stores beneath, in layers that point one way
//! (ARCHITECTURE.md; kept by `tests/layers.rs`):
//!
//! 1. interfaces: [`api`] (JSON API and Open311), [`web`] (server-rendered
//!    pages), [`workers`] (scheduler, follow-ups, webhook deliveries), the
//!    `lianxi` command line (`main.rs`); [`http`] holds what the HTTP
//!    interfaces share; [`server`] assembles them.
//! 2. application: [`app`], one service per aggregate and concern, and the
//!    shared state.
//! 3. event log, read models and crypto: [`event_log`] (commands with
//!    optimistic concurrency), [`audit`] (checkpoints, verification),
//!    [`vault`] (personal data sealed per person), [`config`]; the read
//!    models are the `lianxi-projections` crate.
//! 4. store: [`db`] (PostgreSQL or SQLite, migrations, the hash-chained
//!    append, tables), [`wake`], [`secret_file`], [`telemetry`], [`tls`].
//!
//! Architecture invariant: this is the only crate that knows HTTP and JSON DTOs.
#![forbid(unsafe_code)]

pub mod api;
pub mod app;
pub mod audit;
pub mod config;
pub mod db;
pub mod event_log;
pub mod files;
pub mod http;
pub mod media;
pub mod outbound;
pub mod secret_file;
pub mod server;
pub mod telemetry;
pub mod tls;
pub mod vault;
pub mod wake;
pub mod web;
pub mod workers;

pub use app::AppState;
pub use server::app;
