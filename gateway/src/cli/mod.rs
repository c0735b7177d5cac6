//! The `lianxi` command families, one module each, and what they share.
//!
//! - [`init`]: a deployment's keys, made once.
//! - [`serve`]: the HTTP service.
//! - [`probe`]: the health check of a running service.
//! - [`admin`]: xiaoqu, accounts and keys.
//! - [`projections`]: read models' positions and rebuilds.
//! - [`audit`]: verifying the log and signing checkpoints.
//! - [`report`]: ledgers (台账) written to files.
//! - [`progress`]: progress bars of the long commands on a terminal.
//! - [`error`]: [`error::CliError`], how each of them fails.

pub mod admin;
pub mod audit;
pub mod error;
pub mod init;
pub mod probe;
pub mod progress;
pub mod projections;
pub mod report;
pub mod serve;

use std::path::Path;

use lianxi_gateway::db::Database;
use lianxi_gateway::secret_file::IfMissing;
use lianxi_gateway::vault::Vault;

use error::CliError;

/// The store of uploaded files at `location` (a directory or s3://…).
pub fn open_files(location: &str) -> Result<lianxi_gateway::files::Files, CliError> {
    lianxi_gateway::files::Files::open(location)
        .map_err(|e| CliError::failed("open the file store", e))
}

/// The deployment's vault (master key file and identity secret), which
/// `serve` and `admin` both need.
pub async fn open_vault(
    db: &Database,
    master_key_file: &Path,
    if_missing: IfMissing,
) -> Result<Vault, CliError> {
    Ok(Vault::open(db, master_key_file, if_missing).await?)
}

/// Whether a command other than `init` may make missing key files: only on
/// the first run of a new embedded store (SQLite, nothing kept yet), so that
/// `lianxi serve` alone starts a machine from nothing; that first run makes
/// both keys at once, whichever command it is. A store that holds anything
/// already has its keys somewhere; a second pair would strand it.
pub async fn keys_if_missing(
    db: &Database,
    audit_key_file: &Path,
    master_key_file: &Path,
) -> Result<IfMissing, CliError> {
    let state = lianxi_gateway::server::state(db.clone());
    if db.kind() == "sqlite" && lianxi_gateway::app::admin::store_is_untouched(&state).await? {
        audit::audit_key(audit_key_file, IfMissing::Create)?;
        lianxi_gateway::secret_file::load(master_key_file, "master key", IfMissing::Create)?;
        Ok(IfMissing::Create)
    } else {
        Ok(IfMissing::Refuse)
    }
}
