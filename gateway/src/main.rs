//! `lianxi`: serve the API, apply migrations, administer xiaoqu and accounts.
//!
//! This file parses the command line, opens and migrates the store, and hands
//! each command to its family in [`cli`]; a failure ends the process with
//! `error: …` on standard error and [`cli::error::CliError::exit_code`].
#![forbid(unsafe_code)]

mod cli;

use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use lianxi_gateway::db::{self, Database, PoolSettings};
use lianxi_gateway::secret_file::IfMissing;
use lianxi_gateway::telemetry;

use cli::error::CliError;

/// A command's many small allocations (JSON, rows, headers) cost less here
/// than in the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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

    /// The Ed25519 key that signs audit checkpoints (64 hex digits), made by
    /// `lianxi init` (or the first run of a new embedded store); a missing
    /// file is an error anywhere else. Every instance of one deployment must
    /// use the same key.
    #[arg(
        long,
        env = "LIANXI_AUDIT_KEY_FILE",
        default_value = "./data/audit-signing.key",
        global = true
    )]
    audit_key_file: std::path::PathBuf,

    /// The master key (64 hex digits) wrapping every person's data key, made
    /// by `lianxi init` (or the first run of a new embedded store); a missing
    /// file is an error anywhere else. Every instance of one deployment must
    /// use the same key; without it personal data is lost.
    #[arg(
        long,
        env = "LIANXI_MASTER_KEY_FILE",
        default_value = "./data/master.key",
        global = true
    )]
    master_key_file: std::path::PathBuf,

    /// Where uploaded files are kept: a directory, or
    /// s3://bucket/optional/prefix for an S3-compatible object store
    /// (endpoint and credentials from AWS_ENDPOINT, AWS_REGION,
    /// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY; AWS_ALLOW_HTTP=true for a
    /// plain-HTTP endpoint). Every instance of one deployment must use the
    /// same store.
    #[arg(long, env = "LIANXI_FILES", default_value = lianxi_gateway::files::DEFAULT_LOCATION, global = true)]
    files: String,

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
    Serve(cli::serve::ServeArgs),
    /// Make a deployment's keys once: apply migrations, create the audit
    /// signing key and the master key where their files are missing (mode
    /// 0600), seal the identity secret under the master key; existing files
    /// are kept.
    Init,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Ask a running `lianxi serve` on this machine whether it is ready
    /// (container health checks): exit 0 when the probe answers 2xx.
    Probe(cli::probe::ProbeArgs),
    /// Register xiaoqu and accounts.
    Admin {
        #[command(subcommand)]
        command: cli::admin::Admin,
    },
    /// Inspect and rebuild the read models.
    Projections {
        #[command(subcommand)]
        command: cli::projections::Projections,
    },
    /// Verify the log's hash chains and take signed checkpoints.
    Audit {
        #[command(subcommand)]
        command: cli::audit::Audit,
    },
    /// Write ledgers (台账) to files, each export recorded.
    Report {
        #[command(subcommand)]
        command: cli::report::Report,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let parsed = Cli::parse();
    lianxi_gateway::tls::install_crypto_provider();
    // Only the service exports traces; one-shot commands would only add noise.
    let _telemetry = telemetry::init(
        matches!(parsed.log_format, LogFormat::Json),
        matches!(parsed.command, Command::Serve(_)),
    );
    match run(parsed).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

async fn run(parsed: Cli) -> Result<(), CliError> {
    // The health check must answer even when the store is down.
    if let Command::Probe(args) = &parsed.command {
        return cli::probe::run(args).await;
    }
    // An auditor's witness runs outside the deployment: no store.
    if let Command::Audit {
        command: command @ cli::audit::Audit::Keep { .. },
    } = &parsed.command
    {
        return cli::audit::keep(command).await;
    }
    // Reading commands (`audit verify`, `projections status`) migrate
    // nothing: a read-only role may run them on a current schema.
    let reads_only = match &parsed.command {
        Command::Audit { command } => command.reads_only(),
        Command::Projections { command } => command.reads_only(),
        _ => false,
    };
    let db = open_store(&parsed.database_url, parsed.max_connections, !reads_only).await?;
    // Keys are made by `init`, or by the first run of a new embedded store.
    let uses_keys = match &parsed.command {
        Command::Serve(_) | Command::Admin { .. } | Command::Report { .. } => true,
        Command::Audit { command } => !command.reads_only(),
        _ => false,
    };
    let if_missing = if uses_keys {
        cli::keys_if_missing(&db, &parsed.audit_key_file, &parsed.master_key_file).await?
    } else {
        IfMissing::Refuse
    };
    let result = match parsed.command {
        Command::Migrate => {
            println!("migrations applied ({})", db.kind());
            Ok(())
        }
        Command::Init => cli::init::run(&db, &parsed.audit_key_file, &parsed.master_key_file).await,
        Command::Serve(args) => {
            cli::serve::run(
                db.clone(),
                args,
                &parsed.audit_key_file,
                &parsed.master_key_file,
                if_missing,
                &parsed.files,
            )
            .await
        }
        Command::Audit { command } => {
            cli::audit::run(&db, &parsed.audit_key_file, if_missing, command).await
        }
        Command::Admin { command } => {
            cli::admin::run(
                &db,
                &parsed.master_key_file,
                if_missing,
                &parsed.files,
                command,
            )
            .await
        }
        Command::Projections { command } => cli::projections::run(&db, command).await,
        Command::Report { command } => {
            cli::report::run(&db, &parsed.master_key_file, if_missing, command).await
        }
        Command::Probe(_) => Err(CliError::Usage("the probe needs no store")),
    };
    db.close().await;
    result
}

/// Connects to the store and applies pending migrations (with `migrate`),
/// else checks that none is pending: every command but `probe` runs on an
/// up-to-date schema.
async fn open_store(url: &str, max_connections: u32, migrate: bool) -> Result<Database, CliError> {
    let settings = PoolSettings {
        max_connections: max_connections.max(1),
        ..PoolSettings::default()
    };
    let db =
        Database::connect(url, settings)
            .await
            .map_err(|source| CliError::StoreUnreachable {
                url: db::redact(url),
                source,
            })?;
    if migrate {
        lianxi_gateway::audit::migrate(&db)
            .await
            .map_err(CliError::Migrations)?;
    } else {
        db.check_ready().await.map_err(|e| {
            CliError::failed(
                "read a schema without pending migrations (run `lianxi migrate`)",
                e,
            )
        })?;
    }
    Ok(db)
}
