//! `lianxi`: serve the API, apply migrations, administer xiaoqu and accounts.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use chrono::TimeDelta;
use clap::{Parser, Subcommand, ValueEnum};
use lianxi_domain::meeting::MeetingPolicy;
use lianxi_domain::values::AccountId;
use lianxi_domain::{Actor, GrievancePolicy, GrievanceServices, Role, SystemClock};
use lianxi_gateway::app::people::People;
use lianxi_gateway::app::{admin, auth};
use lianxi_gateway::audit::{AuditKey, Checkpoint, CheckpointFile};
use lianxi_gateway::config::FileConfig;
use lianxi_gateway::db::{self, Database, NewAccount, PoolSettings, Scope, TokenKind};
use lianxi_gateway::event_log::CommandMetadata;
use lianxi_gateway::vault::Vault;
use lianxi_gateway::{server, telemetry};
use lianxi_projections::{checkpoint, feed, RunnerSettings};
use std::sync::Arc;
use uuid::Uuid;

#[derive(Debug, Parser)]
#[command(
    name = "lianxi",
    version,
    about = "Lianxi: public grievances and mediation for residential compounds"
)]
struct Cli {
    /// The store: postgres://user@host/db or sqlite://path/to/file.db
    #[arg(long, env = "LIANXI_DATABASE_URL", default_value = db::DEFAULT_DATABASE_URL, global = true, hide_env_values = true)]
    database_url: String,

    /// Log format on standard error.
    #[arg(long, env = "LIANXI_LOG_FORMAT", default_value = "text", global = true)]
    log_format: LogFormat,

    /// Largest number of database connections.
    #[arg(
        long,
        env = "LIANXI_DATABASE_MAX_CONNECTIONS",
        default_value_t = 16,
        global = true
    )]
    max_connections: u32,

    /// The Ed25519 key that signs audit checkpoints (64 hex digits); created,
    /// readable by its owner only, when missing. Every instance of one
    /// deployment must use the same key.
    #[arg(
        long,
        env = "LIANXI_AUDIT_KEY_FILE",
        default_value = "./data/audit-signing.key",
        global = true
    )]
    audit_key_file: std::path::PathBuf,

    /// The master key (64 hex digits) wrapping every person's data key;
    /// created, readable by its owner only, when missing. Every instance of
    /// one deployment must use the same key; without it personal data is lost.
    #[arg(
        long,
        env = "LIANXI_MASTER_KEY_FILE",
        default_value = "./data/master.key",
        global = true
    )]
    master_key_file: std::path::PathBuf,

    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Apply migrations, then serve the HTTP API until SIGINT or SIGTERM.
    #[command(after_help = telemetry::HELP)]
    Serve {
        /// Address to listen on.
        #[arg(long, env = "LIANXI_LISTEN", default_value = "127.0.0.1:8080")]
        listen: String,
        /// Most events a projection applies in one transaction.
        #[arg(long, env = "LIANXI_PROJECTION_BATCH_SIZE", default_value_t = 500)]
        projection_batch_size: u32,
        /// SQLite only: how long a projection lease lasts unless renewed (ms).
        #[arg(long, env = "LIANXI_PROJECTION_LEASE_MS", default_value_t = 10_000)]
        projection_lease_ms: u64,
        /// How often the deadline scheduler looks for missed deadlines (ms).
        #[arg(long, env = "LIANXI_SCHEDULER_INTERVAL_MS", default_value_t = 5_000)]
        scheduler_interval_ms: u64,
        /// Configuration file (TOML): deadline windows, working-day calendar.
        #[arg(long, env = "LIANXI_CONFIG")]
        config: Option<std::path::PathBuf>,
        /// How often a signed audit checkpoint is taken while the log grows
        /// (ms; 0: only on demand).
        #[arg(
            long,
            env = "LIANXI_CHECKPOINT_INTERVAL_MS",
            default_value_t = 3_600_000
        )]
        checkpoint_interval_ms: u64,
        /// Most grievances one account may file per hour (0: no limit).
        #[arg(long, env = "LIANXI_FILINGS_PER_ACCOUNT_HOUR", default_value_t = 20)]
        filings_per_account_hour: u32,
        /// Most grievances filed from one client address per hour (0: no limit).
        #[arg(long, env = "LIANXI_FILINGS_PER_ADDRESS_HOUR", default_value_t = 200)]
        filings_per_address_hour: u32,
        /// Longest a request may take before it is answered with 503; a
        /// command cut off then may or may not have been applied (retry it
        /// with the same Idempotency-Key).
        #[arg(long, env = "LIANXI_REQUEST_TIMEOUT_MS", default_value_t = 30_000)]
        request_timeout_ms: u64,
        /// How long one event stream (`/api/v1/notifications/stream`) lasts
        /// before the client must reconnect (1–3600).
        #[arg(long, env = "LIANXI_SSE_MAX_SECONDS", default_value_t = 60)]
        sse_max_seconds: u64,
        /// Attempts at delivering a webhook before it is a dead letter.
        #[arg(long, env = "LIANXI_WEBHOOK_MAX_ATTEMPTS", default_value_t = 8)]
        webhook_max_attempts: u32,
        /// The wait after a failed webhook attempt, doubled after each next
        /// one (at most an hour).
        #[arg(long, env = "LIANXI_WEBHOOK_BACKOFF_MS", default_value_t = 5_000)]
        webhook_backoff_ms: u64,
        /// The only hosts webhooks may be sent to, comma-separated (empty:
        /// any host the network reaches).
        #[arg(long, env = "LIANXI_WEBHOOK_ALLOWED_HOSTS", default_value = "")]
        webhook_allowed_hosts: String,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Ask a running `lianxi serve` on this machine whether it is ready
    /// (container health checks): exit 0 when the probe answers 2xx.
    Probe {
        /// The address `serve` listens on; 0.0.0.0 and [::] mean this machine.
        #[arg(long, env = "LIANXI_LISTEN", default_value = "127.0.0.1:8080")]
        listen: String,
        /// `/readyz` (store reachable, migrations applied) or `/healthz`.
        #[arg(long, default_value = "/readyz")]
        path: String,
    },
    /// Register xiaoqu and accounts.
    Admin {
        #[command(subcommand)]
        command: Admin,
    },
    /// Inspect and rebuild the read models.
    Projections {
        #[command(subcommand)]
        command: Projections,
    },
    /// Verify the log's hash chains and take signed checkpoints.
    Audit {
        #[command(subcommand)]
        command: Audit,
    },
}

#[derive(Debug, Subcommand)]
enum Audit {
    /// Recompute every stream's hash chain and head; with --checkpoint, also
    /// check that the log still holds the tree a kept checkpoint signed.
    /// Exits with status 1 when anything does not verify.
    Verify {
        /// A checkpoint file kept outside the system.
        #[arg(long)]
        checkpoint: Option<std::path::PathBuf>,
        /// Trust the checkpoint only if signed by this public key (hex).
        #[arg(long)]
        public_key: Option<String>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Sign a checkpoint of everything committed now and print it (or write
    /// it to --out) as the file auditors keep.
    Checkpoint {
        #[arg(long)]
        out: Option<std::path::PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum Projections {
    /// Each projection's position in the event feed and how far behind it is.
    Status,
    /// Rebuild read models from the first event (all, or the one named).
    Rebuild {
        /// A projection name, as listed by `status`.
        name: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum Admin {
    /// Register a xiaoqu and its place in the hierarchy; prints its id.
    AddXiaoqu {
        #[arg(long)]
        name: String,
        /// The community (社区) it belongs to.
        #[arg(long)]
        community: String,
        /// The street (街道) the community belongs to.
        #[arg(long)]
        street: String,
        /// The district (区) the street belongs to.
        #[arg(long)]
        district: String,
    },
    /// Rename a xiaoqu (by id or current name).
    RenameXiaoqu {
        #[arg(long)]
        xiaoqu: String,
        #[arg(long)]
        name: String,
    },
    /// Attach a xiaoqu to another community, street or district.
    MoveXiaoqu {
        #[arg(long)]
        xiaoqu: String,
        #[arg(long)]
        community: String,
        #[arg(long)]
        street: String,
        #[arg(long)]
        district: String,
    },
    /// Register an organization acting as one of a xiaoqu's parties; give
    /// --organization to name one that serves other xiaoqu already.
    AddParty {
        #[arg(long)]
        xiaoqu: String,
        /// party_branch, owners_committee, supervisory_committee,
        /// property_company or micro_organization.
        #[arg(long)]
        party: String,
        /// The organization's name (e.g. the property company's).
        #[arg(long)]
        name: String,
        #[arg(long)]
        organization: Option<String>,
    },
    /// An organization stops acting as a party of a xiaoqu.
    RetireParty {
        #[arg(long)]
        xiaoqu: String,
        #[arg(long)]
        party: String,
        #[arg(long)]
        organization: String,
    },
    /// Create the first admin account (only while there is none). The
    /// password is read from standard input with --password-stdin, or made
    /// up and printed once.
    Init {
        /// The admin's login name.
        #[arg(long)]
        login: String,
        /// The admin's name (personal data, sealed).
        #[arg(long, default_value = "admin")]
        name: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Create an account and record the person's name, phone and room
    /// (sealed); prints its id and an API token, once.
    AddAccount {
        /// The person's name (personal data, sealed).
        #[arg(long)]
        name: String,
        /// The person's phone number (personal data, sealed).
        #[arg(long)]
        phone: Option<String>,
        /// The person's building, unit and room (personal data, sealed).
        #[arg(long)]
        room: Option<String>,
        /// A login name for password sign-in (needs --password-stdin).
        #[arg(long)]
        login: Option<String>,
        /// Read the password from the first line of standard input.
        #[arg(long, requires = "login")]
        password_stdin: bool,
        /// Days the printed API token lasts (0: until revoked).
        #[arg(long, default_value_t = 90)]
        token_ttl_days: u32,
        /// resident, property_company, owners_committee, supervisory_committee,
        /// micro_organization, party_branch, community, street, district, auditor or admin.
        #[arg(long)]
        role: String,
        /// The xiaoqu (id or name) of a xiaoqu role.
        #[arg(long)]
        xiaoqu: Option<String>,
        /// The community, street or district name served by a tier role.
        #[arg(long)]
        unit: Option<String>,
    },
    /// Set an account's login name and password (read from standard input).
    SetPassword {
        #[arg(long)]
        account: Uuid,
        #[arg(long)]
        login: String,
    },
    /// Grant an account a further role in a scope; the person then signs in
    /// naming that role.
    GrantRole {
        #[arg(long)]
        account: Uuid,
        #[arg(long)]
        role: String,
        /// The xiaoqu (id or name) of a xiaoqu role.
        #[arg(long)]
        xiaoqu: Option<String>,
        /// The community, street or district name of a tier role.
        #[arg(long)]
        unit: Option<String>,
    },
    /// Withdraw a granted role; tokens acting in it stop working.
    RevokeRole {
        #[arg(long)]
        account: Uuid,
        #[arg(long)]
        role: String,
        #[arg(long)]
        xiaoqu: Option<String>,
        #[arg(long)]
        unit: Option<String>,
    },
    /// Issue an API token for an account; prints it once.
    IssueToken {
        #[arg(long)]
        account: Uuid,
        /// Days the token lasts (0: until revoked).
        #[arg(long, default_value_t = 90)]
        ttl_days: u32,
    },
    /// Revoke every token of an account.
    RevokeTokens {
        #[arg(long)]
        account: Uuid,
    },
    /// Erase a person's personal data (PIPL): destroys their key, ends their
    /// sign-in and records PersonalDataErased. Cannot be undone.
    ErasePerson {
        #[arg(long)]
        account: Uuid,
        /// Why (e.g. the request's reference); stored with the event.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Re-wrap every data key under a new master key, written to
    /// --new-key-file (which must not exist). Stop every `serve` first, then
    /// point LIANXI_MASTER_KEY_FILE at the new file and start them again.
    RotateMasterKey {
        #[arg(long)]
        new_key_file: std::path::PathBuf,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    // Only the service exports traces; one-shot commands would only add noise.
    let _telemetry = telemetry::init(
        matches!(cli.log_format, LogFormat::Json),
        matches!(cli.command, Command::Serve { .. }),
    );
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    if let Command::Probe { listen, path } = &cli.command {
        return probe(listen, path).await;
    }
    let settings = PoolSettings {
        max_connections: cli.max_connections.max(1),
        ..PoolSettings::default()
    };
    let db = Database::connect(&cli.database_url, settings)
        .await
        .map_err(|e| {
            format!(
                "cannot open the store {}: {e}",
                db::redact(&cli.database_url)
            )
        })?;
    lianxi_gateway::audit::migrate(&db)
        .await
        .map_err(|e| format!("migrations failed: {e}"))?;
    let result = match cli.command {
        Command::Migrate => {
            println!("migrations applied ({})", db.kind());
            Ok(())
        }
        Command::Serve {
            listen,
            projection_batch_size,
            projection_lease_ms,
            scheduler_interval_ms,
            config,
            checkpoint_interval_ms,
            filings_per_account_hour,
            filings_per_address_hour,
            request_timeout_ms,
            webhook_max_attempts,
            webhook_backoff_ms,
            webhook_allowed_hosts,
            sse_max_seconds,
        } => {
            let webhook_hosts: Vec<String> = webhook_allowed_hosts
                .split(',')
                .map(|h| h.trim().to_ascii_lowercase())
                .filter(|h| !h.is_empty())
                .collect();
            let limit = |n: u32| (n > 0).then_some(n);
            let limits = lianxi_gateway::app::rate_limit::Limits {
                filings_per_account: limit(filings_per_account_hour),
                filings_per_address: limit(filings_per_address_hour),
                request_timeout: std::time::Duration::from_millis(request_timeout_ms.max(100)),
                event_stream_lifetime: std::time::Duration::from_secs(
                    sse_max_seconds.clamp(1, 3600),
                ),
            };
            let settings = server::Background {
                runners: RunnerSettings {
                    batch_size: i64::from(projection_batch_size.max(1)),
                    lease: std::time::Duration::from_millis(projection_lease_ms.max(100)),
                    ..RunnerSettings::default()
                },
                scheduler_interval: std::time::Duration::from_millis(scheduler_interval_ms.max(10)),
                checkpoint_interval: (checkpoint_interval_ms > 0)
                    .then(|| std::time::Duration::from_millis(checkpoint_interval_ms.max(1000))),
                webhooks: lianxi_gateway::workers::webhooks::WebhookSettings {
                    max_attempts: webhook_max_attempts.clamp(1, 100) as i32,
                    backoff: std::time::Duration::from_millis(webhook_backoff_ms.max(10)),
                    ..Default::default()
                },
            };
            match (
                policies(&db, config.as_deref()).await,
                audit_key(&cli.audit_key_file),
                open_vault(&db, &cli.master_key_file).await,
            ) {
                (Ok(policies), Ok(key), Ok(vault)) => {
                    let state = (limits, webhook_hosts);
                    serve(db.clone(), &listen, settings, policies, key, vault, state).await
                }
                (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => Err(e),
            }
        }
        Command::Audit { command } => audit(&db, &cli.audit_key_file, command).await,
        Command::Admin { command } => match open_people(&db, &cli.master_key_file).await {
            Ok(people) => admin(&db, &people, command).await,
            Err(e) => Err(e),
        },
        Command::Projections { command } => projections(&db, command).await,
        Command::Probe { .. } => Err("the probe needs no store".to_owned()),
    };
    db.close().await;
    result
}

/// The deployment's vault (master key file and identity secret).
async fn open_vault(db: &Database, path: &std::path::Path) -> Result<Vault, String> {
    Vault::open(db, path).await.map_err(|e| e.to_string())
}

/// The person streams, sealed under the deployment's vault.
async fn open_people(db: &Database, path: &std::path::Path) -> Result<People, String> {
    let vault = open_vault(db, path).await?;
    Ok(People::new(db, Arc::new(vault), Arc::new(SystemClock)))
}

/// The grievance and meeting rules: defaults, or those of the configuration file.
async fn policies(
    db: &Database,
    path: Option<&std::path::Path>,
) -> Result<(GrievancePolicy, MeetingPolicy), String> {
    let Some(path) = path else {
        return Ok((GrievancePolicy::default(), MeetingPolicy::default()));
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let file = FileConfig::parse(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let in_file = |e: String| format!("{}: {e}", path.display());
    Ok((
        file.policy(db).await.map_err(in_file)?,
        file.meeting_policy(db).await.map_err(in_file)?,
    ))
}

/// Loads the checkpoint signing key, creating it on first start.
fn audit_key(path: &std::path::Path) -> Result<AuditKey, String> {
    let (key, created) = AuditKey::load_or_create(path).map_err(|e| e.to_string())?;
    if created {
        tracing::warn!(path = %path.display(), public_key = %key.public_key_hex(),
            "created a new audit signing key; back it up and give auditors its public key");
    }
    Ok(key)
}

async fn audit(db: &Database, key_file: &std::path::Path, command: Audit) -> Result<(), String> {
    match command {
        Audit::Verify {
            checkpoint,
            public_key,
            json,
        } => {
            let kept = match &checkpoint {
                Some(path) => {
                    let text = std::fs::read_to_string(path)
                        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
                    let file: CheckpointFile = serde_json::from_str(&text)
                        .map_err(|e| format!("{}: not a checkpoint file: {e}", path.display()))?;
                    let kept = Checkpoint::from_file(&file)
                        .map_err(|e| format!("{}: {e}", path.display()))?;
                    if let Some(trusted) = &public_key {
                        if !trusted.trim().eq_ignore_ascii_case(&file.public_key) {
                            return Err(format!(
                                "{}: signed by {}, not by the trusted key {}",
                                path.display(),
                                file.public_key,
                                trusted.trim()
                            ));
                        }
                    }
                    Some(kept)
                }
                None => None,
            };
            let report = lianxi_gateway::audit::verify(db, kept.as_ref())
                .await
                .map_err(|e| e.to_string())?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?
                );
            } else {
                print_verification(&report);
            }
            if report.ok {
                Ok(())
            } else {
                Err("the log does not verify".into())
            }
        }
        Audit::Checkpoint { out } => {
            let key = audit_key(key_file)?;
            let checkpoint = lianxi_gateway::audit::checkpoint::take(db, &key)
                .await
                .map_err(|e| e.to_string())?;
            let text =
                serde_json::to_string_pretty(&checkpoint.to_file()).map_err(|e| e.to_string())?;
            match out {
                Some(path) => {
                    std::fs::write(&path, format!("{text}\n"))
                        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
                    eprintln!(
                        "checkpoint of {} events written to {}",
                        checkpoint.tree_size,
                        path.display()
                    );
                }
                None => println!("{text}"),
            }
            Ok(())
        }
    }
}

fn print_verification(report: &lianxi_gateway::audit::Verification) {
    println!(
        "events: {}  streams: {}  tree: {} {}",
        report.events, report.streams, report.tree_size, report.root
    );
    for p in &report.problems {
        println!(
            "BAD {}/{} at sequence {}: {:?}: {}",
            p.aggregate_type, p.aggregate_id, p.sequence, p.kind, p.detail
        );
    }
    if let Some(c) = &report.checkpoint {
        let verdict = if c.signature_valid && c.matches_log {
            "holds"
        } else {
            "FAILS"
        };
        println!(
            "checkpoint {} signed {} by {}: {verdict}: {}",
            c.tree_size, c.signed_at, c.public_key, c.detail
        );
    }
    println!(
        "{}",
        if report.ok {
            "verified"
        } else {
            "NOT verified"
        }
    );
}

async fn serve(
    db: Database,
    listen: &str,
    settings: server::Background,
    (policy, meetings): (GrievancePolicy, MeetingPolicy),
    key: AuditKey,
    vault: Vault,
    (limits, webhook_hosts): (lianxi_gateway::app::rate_limit::Limits, Vec<String>),
) -> Result<(), String> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    tracing::info!(%addr, store = db.kind(), "lianxi is listening");
    // One plain line on stdout for scripts and tests that start the binary.
    println!("lianxi listening on http://{addr}");
    let services = GrievanceServices::new(Arc::new(SystemClock), policy);
    let state = server::state_with_meetings(db, services, meetings)
        .with_limits(limits)
        .with_webhook_hosts(webhook_hosts)
        .with_audit_key(key)
        .with_vault(vault);
    let moved = state
        .people
        .seal_legacy_names()
        .await
        .map_err(|e| format!("cannot seal the names stored before person streams: {e}"))?;
    if moved > 0 {
        tracing::info!(
            moved,
            "names moved from the accounts table into sealed person streams"
        );
    }
    lianxi_gateway::app::registry::reconcile(&state.db, &state.registry)
        .await
        .map_err(|e| format!("cannot bring the xiaoqu registry up to date: {e}"))?;
    let service = server::Service::start_with(state, settings);
    let served = server::serve(listener, service.state.clone(), server::shutdown_signal()).await;
    service.stop().await;
    served.map_err(|e| format!("server error: {e}"))
}

async fn projections(db: &Database, command: Projections) -> Result<(), String> {
    let store = db.store();
    let known = server::projections();
    match command {
        Projections::Status => {
            for projection in &known {
                checkpoint::ensure(&store, projection.name())
                    .await
                    .map_err(|e| e.to_string())?;
            }
            println!(
                "{:<20} {:>14} {:>12} {:>10} {:>10}",
                "projection", "position", "applied", "lag", "lag_ms"
            );
            let now = chrono::Utc::now();
            for c in checkpoint::all(&store).await.map_err(|e| e.to_string())? {
                let lag = feed::lag(&store, c.position)
                    .await
                    .map_err(|e| e.to_string())?;
                let lag_ms = lag
                    .oldest_recorded_at
                    .map(|t| (now - t).num_milliseconds().max(0))
                    .unwrap_or(0);
                println!(
                    "{:<20} {:>14} {:>12} {:>10} {:>10}",
                    c.name,
                    format!(
                        "{}.{}",
                        c.position.transaction_id, c.position.global_position
                    ),
                    c.events_applied,
                    lag.events,
                    lag_ms
                );
            }
            Ok(())
        }
        Projections::Rebuild { name } => {
            let chosen: Vec<_> = known
                .into_iter()
                .filter(|p| name.as_deref().is_none_or(|n| n == p.name()))
                .collect();
            if chosen.is_empty() {
                return Err(format!(
                    "no projection named {:?}",
                    name.unwrap_or_default()
                ));
            }
            let (_wake, woken) = tokio::sync::watch::channel(0u64);
            for projection in chosen {
                let name = projection.name().to_owned();
                if projection.shadow().is_none() {
                    // The follow-up outbox: what it held was delivered.
                    println!("{name}: not a read model; nothing to rebuild");
                    continue;
                }
                let runner = lianxi_projections::Runner::new(
                    store.clone(),
                    projection,
                    RunnerSettings::default(),
                    woken.clone(),
                );
                // Another rebuild may hold the shadow's lead (on SQLite, a
                // stopped one's lease runs out on its own): wait a little.
                let give_up = tokio::time::Instant::now() + std::time::Duration::from_secs(15);
                loop {
                    match runner.rebuild().await.map_err(|e| e.to_string())? {
                        Some(n) => {
                            println!("{name}: rebuilt from {n} events and swapped in");
                            break;
                        }
                        None if tokio::time::Instant::now() < give_up => {
                            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
                        }
                        None => {
                            return Err(format!(
                            "another rebuild of {name} is running; try again when it has finished"
                        ))
                        }
                    }
                }
            }
            Ok(())
        }
    }
}

async fn admin(db: &Database, people: &People, command: Admin) -> Result<(), String> {
    let vault = people.vault();
    match command {
        Admin::RenameXiaoqu { xiaoqu, name } => {
            let registry = cli_registry(db);
            let (state, _) = admin::rename_xiaoqu(
                db,
                &registry,
                cli_actor(),
                &xiaoqu,
                &name,
                &cli_metadata(None),
            )
            .await
            .map_err(cli_error)?;
            print_registry(&state);
            Ok(())
        }
        Admin::MoveXiaoqu {
            xiaoqu,
            community,
            street,
            district,
        } => {
            let registry = cli_registry(db);
            let to = admin::PlacementRequest {
                community,
                street,
                district,
            };
            let (state, _) = admin::move_xiaoqu(
                db,
                &registry,
                cli_actor(),
                &xiaoqu,
                &to,
                &cli_metadata(None),
            )
            .await
            .map_err(cli_error)?;
            print_registry(&state);
            Ok(())
        }
        Admin::AddParty {
            xiaoqu,
            party,
            name,
            organization,
        } => {
            let registry = cli_registry(db);
            let request = admin::PartyRequest {
                party,
                name,
                organization,
            };
            let (state, organization) = admin::register_party(
                db,
                &registry,
                cli_actor(),
                &xiaoqu,
                &request,
                &cli_metadata(None),
            )
            .await
            .map_err(cli_error)?;
            print_registry(&state);
            println!("organization={organization}");
            Ok(())
        }
        Admin::RetireParty {
            xiaoqu,
            party,
            organization,
        } => {
            let registry = cli_registry(db);
            let (state, _) = admin::retire_party(
                db,
                &registry,
                cli_actor(),
                &xiaoqu,
                &party,
                &organization,
                &cli_metadata(None),
            )
            .await
            .map_err(cli_error)?;
            print_registry(&state);
            Ok(())
        }
        Admin::AddXiaoqu {
            name,
            community,
            street,
            district,
        } => {
            let request = admin::XiaoquRequest {
                name,
                community,
                street,
                district,
            };
            let registry = cli_registry(db);
            let xiaoqu =
                admin::add_xiaoqu(db, &registry, cli_actor(), &request, &cli_metadata(None))
                    .await
                    .map_err(cli_error)?;
            println!("id={}", xiaoqu.id);
            Ok(())
        }
        Admin::AddAccount {
            name,
            phone,
            room,
            login,
            password_stdin,
            token_ttl_days,
            role,
            xiaoqu,
            unit,
        } => {
            let password = match (&login, password_stdin) {
                (Some(_), true) => Some(read_password()?),
                (Some(_), false) => return Err("--login needs --password-stdin".into()),
                (None, _) => None,
            };
            let request = admin::AccountRequest {
                role,
                xiaoqu,
                unit,
                name,
                phone,
                room,
                login,
                password,
                token: Some(
                    (token_ttl_days > 0).then(|| TimeDelta::days(i64::from(token_ttl_days))),
                ),
            };
            let created =
                admin::create_account(db, people, &cli_actor(), &cli_metadata(None), &request)
                    .await
                    .map_err(cli_error)?;
            println!("id={}", created.account.id);
            println!("role={}", created.account.role);
            if let Some((token, expires_at)) = created.token {
                println!("token={token}");
                print_expiry(expires_at);
                eprintln!("The token is shown only this once; only its hash is stored.");
            }
            Ok(())
        }
        Admin::Init {
            login,
            name,
            password_stdin,
        } => {
            if db.has_admin().await.map_err(|e| e.to_string())? {
                return Err(
                    "an admin account exists already; `admin init` only creates the first".into(),
                );
            }
            let (password, made_up) = if password_stdin {
                (read_password()?, false)
            } else {
                (made_up_password(), true)
            };
            let (login_hash, password_hash) =
                admin::credentials(people, &login, &password).map_err(cli_error)?;
            let id = AccountId(Uuid::new_v4());
            db.add_account(&NewAccount {
                id,
                role: Role::Admin,
                scope: Scope::Global,
                login_hash: Some(login_hash),
                password_hash: Some(password_hash),
            })
            .await
            .map_err(|e| format!("cannot add the admin: {e}"))?;
            people
                .register(
                    &cli_actor(),
                    id,
                    &admin::personal_data(&name, None, None).map_err(cli_error)?,
                    &cli_metadata(None),
                )
                .await
                .map_err(|e| format!("cannot record the personal data: {e}"))?;
            println!("id={id}");
            println!("login={}", login.trim());
            if made_up {
                println!("password={password}");
                eprintln!(
                    "The password is shown only this once; only its Argon2id hash is stored."
                );
            }
            Ok(())
        }
        Admin::SetPassword { account, login } => {
            let password = read_password()?;
            let (login_hash, password_hash) =
                admin::credentials(people, &login, &password).map_err(cli_error)?;
            let done = db
                .set_credentials(AccountId(account), &login_hash, &password_hash)
                .await
                .map_err(|e| format!("cannot set the password: {e}"))?;
            if !done {
                return Err(format!("no live account {account}"));
            }
            println!("id={account}");
            Ok(())
        }
        Admin::IssueToken { account, ttl_days } => {
            db.account(AccountId(account))
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("no account {account}"))?;
            let ttl = (ttl_days > 0).then(|| TimeDelta::days(i64::from(ttl_days)));
            let (token, expires_at) =
                auth::issue_token(db, AccountId(account), TokenKind::Api, ttl)
                    .await
                    .map_err(|e| format!("cannot issue a token: {e}"))?;
            println!("token={token}");
            print_expiry(expires_at);
            Ok(())
        }
        Admin::GrantRole {
            account,
            role,
            xiaoqu,
            unit,
        } => {
            let request = admin::RoleRequest { role, xiaoqu, unit };
            let grant = admin::grant_role(db, AccountId(account), &request)
                .await
                .map_err(cli_error)?;
            println!("id={account}");
            println!("role={}", grant.role);
            Ok(())
        }
        Admin::RevokeRole {
            account,
            role,
            xiaoqu,
            unit,
        } => {
            let request = admin::RoleRequest { role, xiaoqu, unit };
            admin::withdraw_role(db, AccountId(account), &request)
                .await
                .map_err(cli_error)?;
            println!("id={account}");
            Ok(())
        }
        Admin::RevokeTokens { account } => {
            let n = db
                .revoke_tokens_of(AccountId(account), chrono::Utc::now())
                .await
                .map_err(|e| e.to_string())?;
            println!("revoked={n}");
            Ok(())
        }
        Admin::ErasePerson { account, reason } => {
            db.account(AccountId(account))
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("no account {account}"))?;
            people
                .erase(&cli_actor(), AccountId(account), &cli_metadata(reason))
                .await
                .map_err(|e| format!("cannot erase: {e}"))?;
            println!("erased={account}");
            Ok(())
        }
        Admin::RotateMasterKey { new_key_file } => {
            if new_key_file.exists() {
                return Err(format!(
                    "{} exists already; name a new file",
                    new_key_file.display()
                ));
            }
            let (master, _) =
                lianxi_gateway::secret_file::load_or_create(&new_key_file, "master key")
                    .map_err(|e| e.to_string())?;
            let new = Vault::from_master(&master);
            let keys = db.person_keys().await.map_err(|e| e.to_string())?;
            let secrets = db.vault_secrets().await.map_err(|e| e.to_string())?;
            let rewrap = || -> Result<_, lianxi_gateway::vault::VaultError> {
                let keys = keys
                    .iter()
                    .map(|(p, w)| Ok((*p, new.rewrap(vault, *p, w)?)))
                    .collect::<Result<Vec<_>, _>>()?;
                let secrets = secrets
                    .iter()
                    .map(|(n, w)| Ok((n.clone(), new.rewrap_secret(vault, n, w)?)))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok((keys, secrets))
            };
            let (keys, secrets) = match rewrap() {
                Ok(done) => done,
                Err(e) => {
                    let _ = std::fs::remove_file(&new_key_file);
                    return Err(format!(
                        "a stored key does not open with the current master key: {e}"
                    ));
                }
            };
            db.replace_wrapped(&keys, &secrets)
                .await
                .map_err(|e| format!("cannot store the re-wrapped keys: {e}"))?;
            println!("rewrapped={}", keys.len() + secrets.len());
            println!("new_key_file={}", new_key_file.display());
            eprintln!("Point LIANXI_MASTER_KEY_FILE at the new file on every instance; keep the old one until a backup taken after this point exists.");
            Ok(())
        }
    }
}

/// The xiaoqu registry, for the command line.
fn cli_registry(db: &Database) -> lianxi_gateway::app::registry::RegistryLog {
    lianxi_gateway::app::registry::RegistryLog::new(
        db,
        lianxi_domain::registry::RegistryServices::new(Arc::new(SystemClock)),
        lianxi_gateway::event_log::RetryPolicy::default(),
    )
}

/// Prints a xiaoqu's registry entry as `key=value` lines.
fn print_registry(state: &lianxi_domain::registry::XiaoquState) {
    println!("id={}", state.id);
    println!("name={}", state.name.as_str());
    println!(
        "placement={} / {} / {}",
        state.placement.community.as_str(),
        state.placement.street.as_str(),
        state.placement.district.as_str()
    );
    for p in &state.parties {
        let party = serde_json::to_value(p.party).unwrap_or_default();
        println!(
            "party={} organization={} name={}",
            party.as_str().unwrap_or_default(),
            p.organization,
            p.name.as_str()
        );
    }
}

/// The command line acts as an admin without an account.
fn cli_actor() -> Actor {
    Actor::new(AccountId(Uuid::nil()), Role::Admin)
}

fn cli_metadata(reason: Option<String>) -> CommandMetadata {
    CommandMetadata {
        request_id: format!("cli-{}", Uuid::new_v4()),
        occurred_at: chrono::Utc::now(),
        reason,
    }
}

/// An admin error as the command line says it: with the option's name.
fn cli_error(e: admin::AdminError) -> String {
    match e {
        admin::AdminError::Invalid { field, reason }
        | admin::AdminError::Taken { field, reason } => {
            format!("--{field}: {reason}")
        }
        other => other.to_string(),
    }
}

fn read_password() -> Result<String, String> {
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| format!("cannot read the password: {e}"))?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

/// 20 random characters from an alphabet without look-alikes.
fn made_up_password() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    (0..20)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

fn print_expiry(expires_at: Option<chrono::DateTime<chrono::Utc>>) {
    match expires_at {
        Some(t) => println!(
            "expires_at={}",
            t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        ),
        None => println!("expires_at=never"),
    }
}

/// One HTTP/1.0 GET to the local server; `Ok` on a 2xx answer.
async fn probe(listen: &str, path: &str) -> Result<(), String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let address = match listen.rsplit_once(':') {
        Some(("0.0.0.0", port)) => format!("127.0.0.1:{port}"),
        Some(("[::]", port)) => format!("[::1]:{port}"),
        _ => listen.to_owned(),
    };
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(&address).await?;
        stream
            .write_all(format!("GET {path} HTTP/1.0\r\nHost: {address}\r\n\r\n").as_bytes())
            .await?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await?;
        Ok::<_, std::io::Error>(answer)
    };
    let answer = tokio::time::timeout(std::time::Duration::from_secs(5), exchange)
        .await
        .map_err(|_| format!("{address}{path}: no answer within 5 s"))?
        .map_err(|e| format!("{address}{path}: {e}"))?;
    let answer = String::from_utf8_lossy(&answer);
    let status = answer.lines().next().unwrap_or_default();
    let code = status.split_whitespace().nth(1).unwrap_or_default();
    if code.starts_with('2') {
        println!("{path}: {status}");
        Ok(())
    } else {
        Err(format!("{path}: {status}"))
    }
}
