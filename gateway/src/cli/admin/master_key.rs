//! `lianxi admin rotate-master-key`: re-wraps every person's data key and
//! every vault secret under a new master key, written to a new file.

use std::path::Path;

use lianxi_gateway::db::Database;
use lianxi_gateway::vault::{Vault, VaultError};

use crate::cli::error::CliError;

/// Writes a new master key to `new_key_file` and re-wraps every stored key
/// under it; the old key `current` must open them all.
pub async fn rotate(db: &Database, current: &Vault, new_key_file: &Path) -> Result<(), CliError> {
    // Overwriting a key file could destroy the only copy of a master key.
    if new_key_file.exists() {
        return Err(CliError::FileExists(new_key_file.to_owned()));
    }
    let (master, _) = lianxi_gateway::secret_file::load_or_create(new_key_file, "master key")?;
    let new = Vault::from_master(&master);
    let keys = db.person_keys().await?;
    let secrets = db.vault_secrets().await?;
    let rewrap = || -> Result<_, VaultError> {
        let keys = keys
            .iter()
            .map(|(p, w)| Ok((*p, new.rewrap(current, *p, w)?)))
            .collect::<Result<Vec<_>, _>>()?;
        let secrets = secrets
            .iter()
            .map(|(n, w)| Ok((n.clone(), new.rewrap_secret(current, n, w)?)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok((keys, secrets))
    };
    let (keys, secrets) = match rewrap() {
        Ok(done) => done,
        Err(e) => {
            // Nothing was stored under the new key: leave no file that
            // could be mistaken for the deployment's key.
            let _ = std::fs::remove_file(new_key_file);
            return Err(CliError::StaleMasterKey(e));
        }
    };
    db.replace_wrapped(&keys, &secrets)
        .await
        .map_err(|e| CliError::failed("store the re-wrapped keys", e))?;
    println!("rewrapped={}", keys.len() + secrets.len());
    println!("new_key_file={}", new_key_file.display());
    eprintln!("Point LIANXI_MASTER_KEY_FILE at the new file on every instance; keep the old one until a backup taken after this point exists.");
    Ok(())
}
