//! `lianxi serve`: its options, and the start-up that turns them into a
//! running service (policies, keys, vault, listener) until SIGINT or SIGTERM.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use lianxi_domain::meeting::MeetingPolicy;
use lianxi_domain::{GrievancePolicy, GrievanceServices, SystemClock};
use lianxi_gateway::app::audit::AuditKey;
use lianxi_gateway::app::rate_limit::Limits;
use lianxi_gateway::config::FileConfig;
use lianxi_gateway::db::Database;
use lianxi_gateway::secret_file::IfMissing;
use lianxi_gateway::server;
use lianxi_gateway::vault::Vault;
use lianxi_gateway::workers::webhooks::WebhookSettings;
use lianxi_projections::RunnerSettings;

use super::error::CliError;

/// The options of `lianxi serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "LIANXI_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Most events a projection applies in one transaction.
    #[arg(long, env = "LIANXI_PROJECTION_BATCH_SIZE", default_value_t = 500)]
    pub projection_batch_size: u32,
    /// Least time between two passes of a projection over the event feed
    /// while appends keep coming (ms): larger batches under load, at most
    /// this much more projection lag.
    #[arg(long, env = "LIANXI_PROJECTION_PASS_INTERVAL_MS", default_value_t = 25)]
    pub projection_pass_interval_ms: u64,
    /// SQLite only: how long a projection lease lasts unless renewed (ms).
    #[arg(long, env = "LIANXI_PROJECTION_LEASE_MS", default_value_t = 10_000)]
    pub projection_lease_ms: u64,
    /// How often the deadline scheduler looks for missed deadlines (ms).
    #[arg(long, env = "LIANXI_SCHEDULER_INTERVAL_MS", default_value_t = 5_000)]
    pub scheduler_interval_ms: u64,
    /// Configuration file (TOML): deadline windows, working-day calendar.
    #[arg(long, env = "LIANXI_CONFIG")]
    pub config: Option<std::path::PathBuf>,
    /// How often a signed audit checkpoint is taken while the log grows
    /// (ms; 0: only on demand).
    #[arg(
        long,
        env = "LIANXI_CHECKPOINT_INTERVAL_MS",
        default_value_t = 3_600_000
    )]
    pub checkpoint_interval_ms: u64,
    /// Most grievances one account may file per hour (0: no limit).
    #[arg(long, env = "LIANXI_FILINGS_PER_ACCOUNT_HOUR", default_value_t = 20)]
    pub filings_per_account_hour: u32,
    /// Most grievances filed from one client address per hour (0: no limit).
    #[arg(long, env = "LIANXI_FILINGS_PER_ADDRESS_HOUR", default_value_t = 200)]
    pub filings_per_address_hour: u32,
    /// Longest a request may take before it is answered with 503; a
    /// command cut off then may or may not have been applied (retry it
    /// with the same Idempotency-Key).
    #[arg(long, env = "LIANXI_REQUEST_TIMEOUT_MS", default_value_t = 30_000)]
    pub request_timeout_ms: u64,
    /// How long one event stream (`/api/v1/notifications/stream`) lasts
    /// before the client must reconnect (1–3600).
    #[arg(long, env = "LIANXI_SSE_MAX_SECONDS", default_value_t = 60)]
    pub sse_max_seconds: u64,
    /// Attempts at delivering a webhook before it is a dead letter.
    #[arg(long, env = "LIANXI_WEBHOOK_MAX_ATTEMPTS", default_value_t = 8)]
    pub webhook_max_attempts: u32,
    /// The wait after a failed webhook attempt, doubled after each next
    /// one (at most an hour).
    #[arg(long, env = "LIANXI_WEBHOOK_BACKOFF_MS", default_value_t = 5_000)]
    pub webhook_backoff_ms: u64,
    /// The only hosts webhooks may be sent to, comma-separated (empty:
    /// any host the network reaches).
    #[arg(long, env = "LIANXI_WEBHOOK_ALLOWED_HOSTS", default_value = "")]
    pub webhook_allowed_hosts: String,
    /// The address people reach the service at, e.g.
    /// https://lianxi.example.org; with https, cookies are marked Secure and
    /// HSTS is sent (set it behind a TLS proxy).
    #[arg(long, env = "LIANXI_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// The largest file one may upload, in bytes (at most 52428800).
    #[arg(long, env = "LIANXI_MAX_UPLOAD_BYTES", default_value_t = lianxi_gateway::app::rate_limit::DEFAULT_UPLOAD_BYTES)]
    pub max_upload_bytes: u64,
    /// Lets anyone read, through Open311 without a key, the grievances
    /// triaged as major or minor matters, without personal data or the
    /// filer's text (true/false; off by default).
    #[arg(
        long,
        env = "LIANXI_OPEN311_PUBLIC_READ",
        default_value_t = false,
        action = clap::ArgAction::Set,
        value_parser = clap::builder::BoolishValueParser::new(),
    )]
    pub open311_public_read: bool,
}

/// Serves the API on `db` (migrated already) until a shutdown signal.
pub async fn run(
    db: Database,
    args: ServeArgs,
    audit_key_file: &Path,
    master_key_file: &Path,
    if_missing: IfMissing,
    files: &str,
) -> Result<(), CliError> {
    let webhook_hosts: Vec<String> = args
        .webhook_allowed_hosts
        .split(',')
        .map(|h| h.trim().to_ascii_lowercase())
        .filter(|h| !h.is_empty())
        .collect();
    let limit = |n: u32| (n > 0).then_some(n);
    // Floors and ceilings keep a mistyped value from stalling the service
    // (a 0 ms interval would spin, a 0 ms timeout would refuse everything).
    let limits = Limits {
        filings_per_account: limit(args.filings_per_account_hour),
        filings_per_address: limit(args.filings_per_address_hour),
        request_timeout: Duration::from_millis(args.request_timeout_ms.max(100)),
        event_stream_lifetime: Duration::from_secs(args.sse_max_seconds.clamp(1, 3600)),
        upload_bytes: args
            .max_upload_bytes
            .clamp(1024, lianxi_domain::values::Attachment::MAX_SIZE),
    };
    let settings = server::Background {
        runners: RunnerSettings {
            batch_size: i64::from(args.projection_batch_size.max(1)),
            lease: Duration::from_millis(args.projection_lease_ms.max(100)),
            pass_interval: Duration::from_millis(args.projection_pass_interval_ms.min(1000)),
            ..RunnerSettings::default()
        },
        scheduler_interval: Duration::from_millis(args.scheduler_interval_ms.max(10)),
        checkpoint_interval: (args.checkpoint_interval_ms > 0)
            .then(|| Duration::from_millis(args.checkpoint_interval_ms.max(1000))),
        webhooks: WebhookSettings {
            max_attempts: args.webhook_max_attempts.clamp(1, 100) as i32,
            backoff: Duration::from_millis(args.webhook_backoff_ms.max(10)),
            ..Default::default()
        },
    };
    let policies = policies(&db, args.config.as_deref()).await?;
    let key = super::audit::audit_key(audit_key_file, if_missing)?;
    let vault = super::open_vault(&db, master_key_file, if_missing).await?;
    let files = super::open_files(files)?;
    if let Some(url) = &args.public_url {
        let parsed = url::Url::parse(url)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"));
        if parsed.is_none() {
            return Err(CliError::failed(
                "read LIANXI_PUBLIC_URL",
                format!("{url} is not an http:// or https:// URL"),
            ));
        }
    }
    let state = (
        limits,
        webhook_hosts,
        files,
        args.public_url.clone(),
        args.open311_public_read,
    );
    serve(db, &args.listen, settings, policies, key, vault, state).await
}

/// The grievance and meeting rules: defaults, or those of the configuration file.
async fn policies(
    db: &Database,
    path: Option<&Path>,
) -> Result<(GrievancePolicy, MeetingPolicy), CliError> {
    let Some(path) = path else {
        return Ok((GrievancePolicy::default(), MeetingPolicy::default()));
    };
    let text = std::fs::read_to_string(path).map_err(|source| CliError::ReadFile {
        path: path.to_owned(),
        source,
    })?;
    let in_file = |reason: String| CliError::Config {
        path: path.to_owned(),
        reason,
    };
    let file = FileConfig::parse(&text).map_err(in_file)?;
    Ok((
        file.policy(db).await.map_err(in_file)?,
        file.meeting_policy(db).await.map_err(in_file)?,
    ))
}

async fn serve(
    db: Database,
    listen: &str,
    settings: server::Background,
    (policy, meetings): (GrievancePolicy, MeetingPolicy),
    key: AuditKey,
    vault: Vault,
    (limits, webhook_hosts, files, public_url, public_read): (
        Limits,
        Vec<String>,
        lianxi_gateway::files::Files,
        Option<String>,
        bool,
    ),
) -> Result<(), CliError> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|source| CliError::Listen {
            address: listen.to_owned(),
            source,
        })?;
    let addr = listener.local_addr().map_err(CliError::Io)?;
    // The target stays `lianxi`, as when this lived in main.rs, so RUST_LOG
    // filters and readers of the JSON log see no change.
    tracing::info!(target: "lianxi", %addr, store = db.kind(), files = files.kind(), "lianxi is listening");
    // One plain line on stdout for scripts and tests that start the binary.
    println!("lianxi listening on http://{addr}");
    let services = GrievanceServices::new(Arc::new(SystemClock), policy);
    let state = server::state_with_meetings(db, services, meetings)
        .with_limits(limits)
        .with_webhook_hosts(webhook_hosts)
        .with_audit_key(key)
        .with_vault(vault)
        .with_files(files)
        .with_public_url(public_url)
        .with_public_read(public_read);
    let moved = state
        .people
        .seal_legacy_names()
        .await
        .map_err(|e| CliError::failed("seal the names stored before person streams", e))?;
    if moved > 0 {
        tracing::info!(
            target: "lianxi",
            moved,
            "names moved from the accounts table into sealed person streams"
        );
    }
    lianxi_gateway::app::registry::reconcile(&state)
        .await
        .map_err(|e| CliError::failed("bring the xiaoqu registry up to date", e))?;
    lianxi_gateway::app::votes::reconcile(&state)
        .await
        .map_err(|e| CliError::failed("bring the list of owners' votes up to date", e))?;
    lianxi_gateway::app::micro::reconcile(&state)
        .await
        .map_err(|e| {
            CliError::failed("bring the list of micro-funds and projects up to date", e)
        })?;
    let service = server::Service::start_with(state, settings);
    let served = server::serve(listener, service.state.clone(), server::shutdown_signal()).await;
    service.stop().await;
    served.map_err(CliError::Server)
}
