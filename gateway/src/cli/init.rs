//! `lianxi init`: a deployment's keys, made once.
//!
//! Applies migrations, makes the audit signing key and the master key where
//! their files are missing (mode 0600), and seals the deployment's identity
//! secret under the master key in the store. Run again, it keeps every file
//! that exists and only checks that the master key opens the store. Every
//! other command refuses to start on a missing key file (except the first
//! run of a new embedded store), so this is where a deployment's keys come
//! from.

use std::path::Path;

use lianxi_gateway::db::Database;
use lianxi_gateway::secret_file::IfMissing;

use super::error::CliError;

pub async fn run(
    db: &Database,
    audit_key_file: &Path,
    master_key_file: &Path,
) -> Result<(), CliError> {
    let audit_existed = audit_key_file.exists();
    let master_existed = master_key_file.exists();
    // A second master key could never open what the first sealed.
    let state = lianxi_gateway::server::state(db.clone());
    if !master_existed && lianxi_gateway::app::admin::store_is_sealed(&state).await? {
        return Err(CliError::MasterKeyElsewhere(master_key_file.to_owned()));
    }
    let key = super::audit::audit_key(audit_key_file, IfMissing::Create)?;
    super::open_vault(db, master_key_file, IfMissing::Create).await?;
    let said = |existed: bool| if existed { "kept" } else { "created" };
    println!("store={}", db.kind());
    println!("audit_key_file={}", audit_key_file.display());
    println!("audit_key={}", said(audit_existed));
    println!("audit_public_key={}", key.public_key_hex());
    println!("master_key_file={}", master_key_file.display());
    println!("master_key={}", said(master_existed));
    if !(audit_existed && master_existed) {
        eprintln!(
            "Back up the new key files apart from the database, give every instance the same \
             files, and give auditors the public key above."
        );
    }
    Ok(())
}
