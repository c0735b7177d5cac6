//! `CliError`: every way a `lianxi` command can fail, and the exit status
//! and message each one ends the process with.
//!
//! The messages are the ones operators, scripts and the end-to-end tests
//! have always read after `error: ` on standard error; change a wording
//! only together with whatever depends on it.

use std::path::PathBuf;

use lianxi_gateway::app::admin::AdminError;
use lianxi_gateway::audit::checkpoint::{CheckpointError, KeyError};
use lianxi_gateway::db::DbError;
use lianxi_gateway::secret_file::SecretFileError;
use lianxi_gateway::vault::{VaultError, VaultOpenError};
use lianxi_projections::StoreError;
use uuid::Uuid;

/// Why a `lianxi` command failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The store named by `--database-url` cannot be opened (`url` with its
    /// password redacted).
    #[error("cannot open the store {url}: {source}")]
    StoreUnreachable {
        url: String,
        #[source]
        source: DbError,
    },
    /// Pending migrations could not be applied.
    #[error("migrations failed: {0}")]
    Migrations(#[source] DbError),
    /// A read or write on the store failed.
    #[error(transparent)]
    Store(#[from] DbError),
    /// Reading a projection's checkpoint or lag, or rebuilding it, failed.
    #[error(transparent)]
    Projections(#[from] StoreError),
    /// One step of a command failed; `action` says which ("seal the names
    /// stored before person streams").
    #[error("cannot {action}: {source}")]
    Failed {
        action: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// An option's value is refused, or names nothing (told with the
    /// option's name where the refusal carries one).
    #[error("{}", admin_message(.0))]
    Admin(#[from] AdminError),
    /// Options that do not go together.
    #[error("{0}")]
    Usage(&'static str),
    /// `projections rebuild` names no known projection.
    #[error("no projection named {0:?}")]
    NoProjection(String),

    /// `admin init` when an admin exists already.
    #[error("an admin account exists already; `admin init` only creates the first")]
    AdminExists,
    /// No account of this id.
    #[error("no account {0}")]
    NoAccount(Uuid),
    /// No account of this id that is neither revoked nor erased.
    #[error("no live account {0}")]
    NoLiveAccount(Uuid),
    /// `init` with no master key file on a store that was sealed by one.
    #[error("the store was sealed with a master key that is not at {}: copy the deployment's key file there (or point LIANXI_MASTER_KEY_FILE at it); no key was made", .0.display())]
    MasterKeyElsewhere(PathBuf),
    /// A file the command would create exists already.
    #[error("{} exists already; name a new file", .0.display())]
    FileExists(PathBuf),
    /// Another process is rebuilding this projection.
    #[error("another rebuild of {0} is running; try again when it has finished")]
    RebuildRunning(String),

    /// A file cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    ReadFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A file cannot be written.
    #[error("cannot write {}: {source}", path.display())]
    WriteFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The configuration file is not valid (`reason` names the entry).
    #[error("{}: {reason}", path.display())]
    Config { path: PathBuf, reason: String },
    /// A kept checkpoint file is not JSON of a checkpoint.
    #[error("{}: not a checkpoint file: {source}", path.display())]
    NotACheckpoint {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    /// A kept checkpoint file does not hold a well-formed, signed checkpoint.
    #[error("{}: {source}", path.display())]
    BadCheckpoint {
        path: PathBuf,
        #[source]
        source: CheckpointError,
    },
    /// A kept signed note does not open with the trusted key, or is not a
    /// checkpoint of this log.
    #[error("{}: {source}", path.display())]
    BadNote {
        path: PathBuf,
        #[source]
        source: lianxi_gateway::app::audit::note::NoteError,
    },
    /// A kept checkpoint is signed by another key than the one trusted.
    #[error("{}: signed by {signer}, not by the trusted key {trusted}", path.display())]
    UntrustedCheckpoint {
        path: PathBuf,
        signer: String,
        trusted: String,
    },
    /// The log's hash chains or a kept checkpoint do not verify.
    #[error("the log does not verify")]
    NotVerified,
    /// A report or checkpoint cannot be written as JSON.
    #[error(transparent)]
    Json(#[from] serde_json::Error),

    /// The audit signing key cannot be read or created.
    #[error(transparent)]
    AuditKey(#[from] KeyError),
    /// The master key or the identity secret cannot be opened.
    #[error(transparent)]
    Vault(#[from] VaultOpenError),
    /// A new key file cannot be created.
    #[error(transparent)]
    SecretFile(#[from] SecretFileError),
    /// A stored key does not open with the master key in use.
    #[error("a stored key does not open with the current master key: {0}")]
    StaleMasterKey(#[source] VaultError),

    /// `serve` cannot bind its address.
    #[error("cannot listen on {address}: {source}")]
    Listen {
        address: String,
        #[source]
        source: std::io::Error,
    },
    /// Any other I/O failure, told as the operating system words it.
    #[error(transparent)]
    Io(std::io::Error),
    /// The server stopped on an error.
    #[error("server error: {0}")]
    Server(#[source] std::io::Error),

    /// `probe`: the server did not answer in time (`target` is address and
    /// path).
    #[error("{target}: no answer within 5 s")]
    ProbeTimeout { target: String },
    /// `probe`: the server cannot be reached.
    #[error("{target}: {source}")]
    ProbeUnreachable {
        target: String,
        #[source]
        source: std::io::Error,
    },
    /// `probe`: the server answered, but not with 2xx.
    #[error("{path}: {status}")]
    NotReady { path: String, status: String },
}

impl CliError {
    /// The step `action` of a command ("set the password") failed because
    /// of `source`.
    pub fn failed(
        action: &'static str,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Self::Failed {
            action,
            source: source.into(),
        }
    }

    /// The process's exit status for this failure.
    pub fn exit_code(&self) -> u8 {
        // Every failure has always ended with status 1 (clap's own usage
        // errors end with 2); health checks and scripts tell failure from
        // success by it, and none distinguishes failures by status.
        1
    }
}

/// An admin refusal as the command line words it: a field's problem is
/// told with the option's name (`--name: must not be empty`).
fn admin_message(e: &AdminError) -> String {
    match e {
        AdminError::Invalid { field, reason } | AdminError::Taken { field, reason } => {
            format!("--{field}: {reason}")
        }
        other => other.to_string(),
    }
}
