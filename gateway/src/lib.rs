//! The Lianxi service: HTTP API, event log access, accounts and the
//! `lianxi` command line.
//!
//! - [`api`]: the axum router ([`api::app`]), handlers, DTOs, problem+json errors, OpenAPI.
//! - [`audit`]: hash chains, signed checkpoints, verification.
//! - [`event_log`]: runs commands against the event log with optimistic concurrency.
//! - [`db`]: connection to PostgreSQL or SQLite, migrations, accounts, stream reads.
//! - [`config`]: the optional configuration file (deadlines, calendar).
//! - [`auth`]: bearer tokens and the `Caller` extractor.
//! - [`policy`]: who may see what.
//! - [`vault`], [`people`]: personal data sealed per person, pseudonyms, erasure.
//! - [`registry`]: the xiaoqu registry (hierarchy, parties) and its tables.
//! - [`scheduler`]: escalates grievances whose deadline passed, exactly once;
//!   marks missed the obligations that fell due.
//! - [`follow_ups`]: the process manager making grievances follow their
//!   mediation cases and joint meetings.
//! - [`metrics`]: Prometheus metrics at `/metrics`.
//! - [`server`]: serving with graceful shutdown; [`telemetry`]: logs.
//!
//! - [`web`]: server-rendered pages for residents (中文 / English).
//!
//! Architecture invariant: this is the only crate that knows HTTP and JSON DTOs.
#![forbid(unsafe_code)]

pub mod admin;
pub mod api;
pub mod audit;
pub mod auth;
pub mod config;
pub mod db;
pub mod event_log;
pub mod follow_ups;
pub mod metrics;
pub mod people;
pub mod policy;
pub mod rate_limit;
pub mod registry;
pub mod scheduler;
pub mod secret_file;
pub mod server;
mod streams;
pub mod telemetry;
pub mod vault;
pub mod wake;
pub mod web;
pub mod webhooks;

pub use api::{app, AppState};
