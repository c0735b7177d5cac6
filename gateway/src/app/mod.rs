//! The application layer: what every interface (the JSON API, the web
//! pages, Open311, the command line, the background workers) calls. It
//! holds the shared state and one service per aggregate or concern; an
//! interface parses its input, calls a service and renders the result.
//!
//! - [`grievances`]: filing, the grievance commands, merging, visibility.
//! - [`policy`]: who may see what.
//! - [`auth`]: sign-in, bearer tokens and the caller; [`admin`]: accounts,
//!   xiaoqu and roles.
//! - [`people`]: person streams and their sealed personal data.
//! - [`registry`]: the xiaoqu registry and its tables.
//! - [`ledgers`]: 台账 exports (grievances, meetings, mediation, the three
//!   rates) as spreadsheets and CSV, each export recorded.
//! - [`audit`]: verification, signed checkpoints, consistency proofs.
//! - [`story`]: a case told in order, and its state at any instant;
//!   [`dossier`]: what an auditor files about a case.
//! - [`public`]: the public read of non-private matters, when opened.
//! - [`rate_limit`]: admission of filings; [`metrics`]: Prometheus metrics.
//! - [`webhooks`]: an account's webhook subscriptions and dead letters.
//! - [`attachments`]: uploading, attaching and reading files.
//! - [`votes`]: the owners' register and owners' votes (业主共同决定).
//! - [`micro`]: micro-funds and the micro-projects they pay for (五微工作法).
//! - [`witness`]: an auditor's witness of a deployment's log, kept outside it.
//! - [`dto`]: the wire vocabulary the interfaces share; [`error`]: the one
//!   error type services answer with (`ApiError`, an RFC 9457 problem).
//!
//! Architecture invariant: nothing here imports an interface (`api`, `web`,
//! `workers`, `http`, `server`); see `tests/layers.rs`.

pub mod admin;
pub mod attachments;
pub mod audit;
pub mod auth;
pub mod cases;
pub mod deadlines;
pub mod deliveries;
pub mod dossier;
pub mod dto;
pub mod duplicates;
pub mod error;
pub mod follow_ups;
pub mod grievances;
pub mod i18n;
pub mod idempotency;
pub mod ledgers;
pub mod lists;
pub mod meetings;
pub mod metrics;
pub mod micro;
pub mod notifications;
pub mod paging;
pub mod people;
pub mod policy;
pub mod projections;
pub mod public;
pub mod rate_limit;
pub mod reads;
pub mod registry;
pub mod story;
pub mod votes;
pub mod webhooks;
pub mod whole;
pub mod witness;

use std::sync::Arc;
use std::time::Duration;

use lianxi_domain::mediation::MediationServices;
use lianxi_domain::meeting::{MeetingPolicy, MeetingServices};
use lianxi_domain::GrievanceServices;
use tokio::sync::watch;

use crate::audit::AuditKey;
use crate::db::Database;

use crate::event_log::{CaseLog, EventLog, MeetingLog, RetryPolicy};
pub use crate::event_log::{CommandMetadata, Committed};
use crate::vault::Vault;
use people::People;

/// Largest accepted request body.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Longest a request may take before it is answered with 503, unless
/// configured (`LIANXI_REQUEST_TIMEOUT_MS`).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// What every handler can reach.
#[derive(Clone, Debug)]
pub struct AppState {
    pub(in crate::app) db: Database,
    /// Grievance streams.
    pub(in crate::app) log: Arc<EventLog>,
    /// Mediation case streams.
    pub(in crate::app) cases: Arc<CaseLog>,
    /// Joint meeting streams.
    pub(in crate::app) meetings: Arc<MeetingLog>,
    /// Xiaoqu registry streams.
    pub(in crate::app) registry: Arc<registry::RegistryLog>,
    /// Each account's ledger exports.
    pub(in crate::app) exports: Arc<ledgers::ExportLog>,
    /// Owners' vote streams.
    pub(in crate::app) votes: Arc<votes::VoteLog>,
    /// Owners' register streams, one per xiaoqu.
    pub(in crate::app) owners: Arc<votes::RegisterLog>,
    /// Micro-project streams.
    pub(in crate::app) projects: Arc<micro::ProjectLog>,
    /// Micro-fund streams.
    pub(in crate::app) funds: Arc<micro::FundLog>,
    /// Rate limits on filing (none unless set, as `lianxi serve` does) and
    /// the request timeout.
    pub limits: rate_limit::Limits,
    /// Signs audit checkpoints.
    pub(in crate::app) audit_key: Arc<AuditKey>,
    /// Person streams and the vault sealing their personal data.
    pub people: Arc<People>,
    /// Set when the server begins to shut down: long-lived answers (event
    /// streams) end so that the shutdown need not wait for them.
    pub closing: Arc<tokio::sync::watch::Sender<bool>>,
    /// Where webhooks may be sent: an allowlist, else public addresses only.
    pub(in crate::app) destinations: crate::outbound::Destinations,
    /// The tokens this instance looked up lately.
    pub tokens: Arc<auth::TokenCache>,
    /// Uploaded files (photos, documents).
    pub(in crate::app) files: crate::files::Files,
    /// The address people reach the service at, when configured.
    pub(in crate::app) public_url: Option<Arc<str>>,
    /// Whether anyone may read non-private matters without a key
    /// ([`public`]); off unless the operator opens it.
    pub(in crate::app) public_read: bool,
}

impl AppState {
    /// A state on `db` with the given clock, grievance policy and meeting
    /// policy; an ephemeral vault and audit key, no limits, webhooks to public hosts only
    /// (the `with_*` methods set them).
    pub fn new(db: Database, services: GrievanceServices, meetings: MeetingPolicy) -> Self {
        let clock = services.clock.clone();
        let people = People::new(&db, Arc::new(Vault::ephemeral()), clock.clone());
        let log = EventLog::new(&db, services, RetryPolicy::default());
        let appended = log.appended_sender();
        AppState {
            cases: Arc::new(CaseLog::sharing(
                &db,
                MediationServices::new(clock.clone()),
                RetryPolicy::default(),
                appended.clone(),
            )),
            meetings: Arc::new(MeetingLog::sharing(
                &db,
                MeetingServices::new(clock.clone(), meetings),
                RetryPolicy::default(),
                appended.clone(),
            )),
            registry: Arc::new(registry::RegistryLog::sharing(
                &db,
                lianxi_domain::registry::RegistryServices::new(clock.clone()),
                RetryPolicy::default(),
                appended.clone(),
            )),
            exports: Arc::new(ledgers::ExportLog::sharing(
                &db,
                lianxi_domain::ledger::ExportServices::new(clock.clone()),
                RetryPolicy::default(),
                appended.clone(),
            )),
            votes: Arc::new(votes::VoteLog::sharing(
                &db,
                lianxi_domain::owners_vote::VoteServices::new(clock.clone()),
                RetryPolicy::default(),
                appended.clone(),
            )),
            owners: Arc::new(votes::RegisterLog::sharing(
                &db,
                lianxi_domain::owners_register::RegisterServices::new(clock.clone()),
                RetryPolicy::default(),
                appended.clone(),
            )),
            projects: Arc::new(micro::ProjectLog::sharing(
                &db,
                lianxi_domain::micro::MicroServices::new(clock.clone()),
                RetryPolicy::default(),
                appended.clone(),
            )),
            funds: Arc::new(micro::FundLog::sharing(
                &db,
                lianxi_domain::micro::MicroServices::new(clock),
                RetryPolicy::default(),
                appended,
            )),
            log: Arc::new(log),
            limits: rate_limit::Limits::default(),
            db,
            audit_key: Arc::new(AuditKey::ephemeral()),
            people: Arc::new(people),
            closing: Arc::new(watch::channel(false).0),
            destinations: crate::outbound::Destinations::default(),
            tokens: Arc::default(),
            files: crate::files::Files::memory(),
            public_url: None,
            public_read: false,
        }
    }

    /// The time by the service's clock.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.log.services().clock.now()
    }

    /// Whether the store answers and every migration is applied.
    pub async fn check_ready(&self) -> Result<(), crate::db::DbError> {
        self.db.check_ready().await
    }

    /// Which store holds the log: `postgres` or `sqlite`.
    pub fn store_kind(&self) -> &'static str {
        self.db.kind()
    }

    /// Tells the runners of every instance about this instance's appends
    /// until `stop` turns true (PostgreSQL; on SQLite they poll).
    pub fn announce_appends(
        &self,
        stop: watch::Receiver<bool>,
    ) -> impl std::future::Future<Output = ()> + Send + 'static {
        crate::wake::announce(self.db.clone(), self.log.appended(), stop)
    }

    /// The same state, sealing personal data under `vault`'s master key.
    pub fn with_vault(self, vault: Vault) -> Self {
        Self {
            people: Arc::new(People::new(
                &self.db,
                Arc::new(vault),
                self.log.services().clock.clone(),
            )),
            ..self
        }
    }

    /// The same state, sending webhooks only to these hosts, at whatever
    /// address (empty: to any host whose addresses are all public).
    pub fn with_webhook_hosts(self, hosts: Vec<String>) -> Self {
        Self {
            destinations: crate::outbound::Destinations::new(hosts),
            ..self
        }
    }

    /// The same state, keeping uploaded files in `files` (else in memory).
    pub fn with_files(self, files: crate::files::Files) -> Self {
        Self { files, ..self }
    }

    /// The same state, reached by people at `url` (`https://…` makes
    /// cookies `Secure` and sends HSTS).
    /// The address people reach the service at, when configured.
    pub fn public_url(&self) -> Option<&str> {
        self.public_url.as_deref()
    }

    pub fn with_public_url(self, url: Option<String>) -> Self {
        Self {
            public_url: url.map(Arc::from),
            ..self
        }
    }

    /// The same state, with the public read of non-private matters open
    /// (`true`) or closed.
    pub fn with_public_read(self, open: bool) -> Self {
        Self {
            public_read: open,
            ..self
        }
    }

    /// Whether people reach the service over https.
    pub fn public_https(&self) -> bool {
        self.public_url
            .as_deref()
            .is_some_and(|u| u.starts_with("https://"))
    }

    /// Where uploaded files are kept: `memory`, `directory` or `s3`.
    pub fn files_kind(&self) -> &'static str {
        self.files.kind()
    }

    /// The same state, with these rate limits.
    pub fn with_limits(self, limits: rate_limit::Limits) -> Self {
        Self { limits, ..self }
    }

    /// The same state, signing checkpoints with `key`.
    pub fn with_audit_key(self, key: AuditKey) -> Self {
        Self {
            audit_key: Arc::new(key),
            ..self
        }
    }
}

/// The account the service acts as (scheduler, follow-ups, registry
/// reconciliation).
pub const SYSTEM_ACCOUNT: lianxi_domain::values::AccountId =
    lianxi_domain::values::AccountId(uuid::Uuid::nil());
