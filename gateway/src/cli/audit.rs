//! `lianxi audit verify|checkpoint`: recompute the log's hash chains against
//! a kept checkpoint, and sign checkpoints for auditors to keep; also the
//! loading of the signing key, which `serve` shares.

use std::path::{Path, PathBuf};

use lianxi_gateway::app::audit::{
    checkpoint_signed_with, note, verify_kept, AuditKey, Checkpoint, CheckpointFile, KeptHead,
    Verification,
};
use lianxi_gateway::db::Database;
use lianxi_gateway::secret_file::IfMissing;
use lianxi_gateway::AppState;

use super::error::CliError;

/// How `audit checkpoint` writes the checkpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum CheckpointFormat {
    /// The JSON checkpoint file (`lianxi-checkpoint-v1`).
    Json,
    /// A C2SP signed note (tlog-checkpoint).
    Note,
}

/// The subcommands of `lianxi audit`.
#[derive(Debug, clap::Subcommand)]
pub enum Audit {
    /// Recompute every stream's hash chain and head; with --checkpoint, also
    /// check that the log still holds the tree a kept checkpoint signed.
    /// Exits with status 1 when anything does not verify.
    Verify {
        /// A checkpoint kept outside the system: the JSON file, or the
        /// signed note (which needs --public-key).
        #[arg(long)]
        checkpoint: Option<PathBuf>,
        /// Trust the checkpoint only if signed by this public key (hex).
        #[arg(long)]
        public_key: Option<String>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Sign a checkpoint of everything committed now and print it (or write
    /// it to --out) as the file auditors keep: JSON, or with --format note
    /// the C2SP signed note transparency-log tools read.
    Checkpoint {
        #[arg(long)]
        out: Option<PathBuf>,
        #[arg(long, value_enum, default_value = "json")]
        format: CheckpointFormat,
    },
    /// An auditor's witness, run from outside the deployment (e.g. hourly):
    /// ask the service at --url for a fresh signed checkpoint, check it
    /// against the newest one kept in --dir (same key, never fewer events,
    /// a consistency proof checked here) and keep it. Exits with status 1
    /// when the log was truncated or rewritten. Needs no database.
    Keep {
        /// The service's base URL, e.g. https://lianxi.example.org
        #[arg(long)]
        url: String,
        /// An auditor's API token.
        #[arg(long, env = "LIANXI_AUDITOR_TOKEN", hide_env_values = true)]
        token: String,
        /// Where the witness keeps its checkpoints.
        #[arg(long)]
        dir: PathBuf,
        /// Accept only checkpoints signed by this public key (hex); by
        /// default, the key of the first checkpoint kept.
        #[arg(long)]
        public_key: Option<String>,
    },
}

/// Runs `audit keep`, which needs no store.
pub async fn keep(command: &Audit) -> Result<(), CliError> {
    let Audit::Keep {
        url,
        token,
        dir,
        public_key,
    } = command
    else {
        return Err(CliError::Usage("only `audit keep` runs without a store"));
    };
    use lianxi_gateway::app::witness::{self, WitnessError};
    match witness::keep(url, token, dir, public_key.as_deref()).await {
        Ok(kept) => {
            println!("tree_size={}", kept.tree_size);
            println!("root={}", kept.root);
            println!("file={}", kept.file.display());
            if let Some(previous) = kept.previous {
                println!("extends={previous}");
            }
            Ok(())
        }
        Err(e @ (WitnessError::Truncated { .. } | WitnessError::Rewritten { .. })) => {
            eprintln!("NOT consistent: {e}");
            Err(CliError::NotVerified)
        }
        Err(e) => Err(CliError::failed("keep a checkpoint", e)),
    }
}

/// Runs one `audit` subcommand; `key_file` is the checkpoint signing key.
impl Audit {
    /// Whether the subcommand only reads (and so needs no migration).
    pub fn reads_only(&self) -> bool {
        matches!(self, Audit::Verify { .. })
    }
}

pub async fn run(
    db: &Database,
    key_file: &Path,
    if_missing: IfMissing,
    command: Audit,
) -> Result<(), CliError> {
    let app = lianxi_gateway::server::state(db.clone());
    match command {
        Audit::Verify {
            checkpoint,
            public_key,
            json,
        } => verify(&app, checkpoint.as_deref(), public_key.as_deref(), json).await,
        Audit::Checkpoint { out, format } => {
            let key = audit_key(key_file, if_missing)?;
            take_checkpoint(&app, &key, out.as_deref(), format).await
        }
        Audit::Keep { .. } => keep(&command).await,
    }
}

/// Loads the checkpoint signing key; makes it when missing only as
/// `if_missing` says.
pub fn audit_key(path: &Path, if_missing: IfMissing) -> Result<AuditKey, CliError> {
    let (key, created) = AuditKey::load(path, if_missing)?;
    if created {
        // The target stays `lianxi`, as when this lived in main.rs.
        tracing::warn!(target: "lianxi", path = %path.display(), public_key = %key.public_key_hex(),
            "created a new audit signing key; back it up and give auditors its public key");
    }
    Ok(key)
}

async fn verify(
    app: &AppState,
    checkpoint: Option<&Path>,
    public_key: Option<&str>,
    json: bool,
) -> Result<(), CliError> {
    let kept = match checkpoint {
        Some(path) => Some(kept_checkpoint(path, public_key)?),
        None => None,
    };
    let read_so_far = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let total = lianxi_gateway::app::audit::log_length(app).await?;
    let counter = read_so_far.clone();
    let bar = super::progress::follow("verifying", total, move || {
        let n = counter.load(std::sync::atomic::Ordering::Relaxed);
        async move { Some(n) }
    });
    let report = verify_kept(app, kept.as_ref(), &read_so_far).await;
    super::progress::finish(bar);
    let report = report?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_verification(&report);
    }
    if report.ok {
        Ok(())
    } else {
        Err(CliError::NotVerified)
    }
}

/// A checkpoint file kept outside the system, refused unless signed by
/// `trusted` when that is given.
fn kept_checkpoint(path: &Path, trusted: Option<&str>) -> Result<KeptHead, CliError> {
    let text = std::fs::read_to_string(path).map_err(|source| CliError::ReadFile {
        path: path.to_owned(),
        source,
    })?;
    if !text.trim_start().starts_with('{') {
        // A signed note names no key of its own: the auditor says whose.
        let trusted = trusted.ok_or(CliError::Usage(
            "a checkpoint kept as a signed note needs --public-key (the audit key's public half, hex)",
        ))?;
        let public_key: [u8; 32] = hex::decode(trusted.trim())
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or(CliError::Usage("--public-key must be 64 hex digits"))?;
        let head = note::open(&text, &public_key).map_err(|source| CliError::BadNote {
            path: path.to_owned(),
            source,
        })?;
        return Ok(KeptHead::from_note(&head, public_key));
    }
    let file: CheckpointFile =
        serde_json::from_str(&text).map_err(|source| CliError::NotACheckpoint {
            path: path.to_owned(),
            source,
        })?;
    let kept = Checkpoint::from_file(&file).map_err(|source| CliError::BadCheckpoint {
        path: path.to_owned(),
        source,
    })?;
    if let Some(trusted) = trusted {
        if !trusted.trim().eq_ignore_ascii_case(&file.public_key) {
            return Err(CliError::UntrustedCheckpoint {
                path: path.to_owned(),
                signer: file.public_key,
                trusted: trusted.trim().to_owned(),
            });
        }
    }
    Ok(KeptHead::from(&kept))
}

async fn take_checkpoint(
    app: &AppState,
    key: &AuditKey,
    out: Option<&Path>,
    format: CheckpointFormat,
) -> Result<(), CliError> {
    let checkpoint = checkpoint_signed_with(app, key).await?;
    let text = match format {
        CheckpointFormat::Json => serde_json::to_string_pretty(&checkpoint.to_file())?,
        CheckpointFormat::Note => key
            .sign_note(checkpoint.tree_size, &checkpoint.root)
            .trim_end()
            .to_owned(),
    };
    match out {
        Some(path) => {
            std::fs::write(path, format!("{text}\n")).map_err(|source| CliError::WriteFile {
                path: path.to_owned(),
                source,
            })?;
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

fn print_verification(report: &Verification) {
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
            c.tree_size,
            c.signed_at.as_deref().unwrap_or("(a note: no time)"),
            c.public_key,
            c.detail
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
