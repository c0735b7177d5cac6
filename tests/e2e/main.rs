//! End-to-end suites: the real server over HTTP, on SQLite and on PostgreSQL.

mod access;
mod audit;
mod authorization;
mod backup;
mod concurrency;
mod deadlines;
mod deploy;
mod durability;
mod faults;
mod figures;
mod households;
mod idempotency;
mod identity;
mod instances;
mod lifecycle;
mod limits;
mod meetings;
mod notifications;
mod open311;
mod organizations;
mod projections;
mod refusals;
mod registry;
mod traces;
mod web;
mod webhooks;
