//! The `lianxi` command families, one module each, and what they share.
//!
//! - [`serve`]: the HTTP service.
//! - [`probe`]: the health check of a running service.
//! - [`admin`]: xiaoqu, accounts and keys.
//! - [`projections`]: read models' positions and rebuilds.
//! - [`audit`]: verifying the log and signing checkpoints.
//! - [`error`]: [`error::CliError`], how each of them fails.

pub mod admin;
pub mod audit;
pub mod error;
pub mod probe;
pub mod projections;
pub mod serve;

use std::path::Path;

use lianxi_gateway::db::Database;
use lianxi_gateway::vault::Vault;

use error::CliError;

/// The deployment's vault (master key file and identity secret), which
/// `serve` and `admin` both need.
/// The store of uploaded files at `location` (a directory or s3://…).
pub fn open_files(location: &str) -> Result<lianxi_gateway::files::Files, CliError> {
    lianxi_gateway::files::Files::open(location)
        .map_err(|e| CliError::failed("open the file store", e))
}

pub async fn open_vault(db: &Database, master_key_file: &Path) -> Result<Vault, CliError> {
    Ok(Vault::open(db, master_key_file).await?)
}
