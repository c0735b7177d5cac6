//! `lianxi admin rotate-master-key`: re-wraps every person's data key and
//! every vault secret under a new master key, written to a new file.

use std::path::Path;

use lianxi_gateway::app::people::RewrapError;
use lianxi_gateway::vault::Vault;
use lianxi_gateway::AppState;

use crate::cli::error::CliError;

/// Writes a new master key to `new_key_file` and re-wraps every stored key
/// under it; the current key (the state's vault) must open them all.
pub async fn rotate(app: &AppState, new_key_file: &Path) -> Result<(), CliError> {
    // Overwriting a key file could destroy the only copy of a master key.
    if new_key_file.exists() {
        return Err(CliError::FileExists(new_key_file.to_owned()));
    }
    let (master, _) = lianxi_gateway::secret_file::load_or_create(new_key_file, "master key")?;
    let new = Vault::from_master(&master);
    let rewrapped = match app.people.rewrap_under(&new).await {
        Ok(n) => n,
        Err(e) => {
            // Nothing was stored under the new key: leave no file that
            // could be mistaken for the deployment's key.
            let _ = std::fs::remove_file(new_key_file);
            return Err(match e {
                RewrapError::Stale(e) => CliError::StaleMasterKey(e),
                RewrapError::Db(e) => CliError::failed("store the re-wrapped keys", e),
            });
        }
    };
    println!("rewrapped={rewrapped}");
    println!("new_key_file={}", new_key_file.display());
    eprintln!("Point LIANXI_MASTER_KEY_FILE at the new file on every instance; keep the old one until a backup taken after this point exists.");
    Ok(())
}
