//! 32-byte secrets kept in files of 64 hex digits, readable by their owner
//! only (the audit signing key, the master key).
//!
//! A missing file is made only when the caller says so ([`IfMissing`]):
//! `lianxi init`, and the first run of a new embedded store. Anywhere else
//! a missing key is an error naming the file, so a command started from the
//! wrong folder cannot quietly give a deployment a second key.

use std::io::Write as _;
use std::path::Path;

use rand::RngCore;

#[derive(Debug, thiserror::Error)]
pub enum SecretFileError {
    #[error("cannot read the {what} {path}: {source}")]
    Read {
        what: &'static str,
        path: String,
        source: std::io::Error,
    },
    #[error("cannot create the {what} {path}: {source}")]
    Create {
        what: &'static str,
        path: String,
        source: std::io::Error,
    },
    #[error("the {what} {path} must hold 64 hex digits (32 bytes)")]
    Malformed { what: &'static str, path: String },
    #[error("the {what} {path} does not exist: a deployment's keys are made once, by `lianxi init`; run that, or point the setting at the deployment's key file")]
    Missing { what: &'static str, path: String },
}

/// What to do when a secret's file does not exist.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IfMissing {
    /// Make it, with fresh random bytes (mode 0600).
    Create,
    /// Fail with [`SecretFileError::Missing`].
    Refuse,
}

/// Reads the secret at `path`; when the file does not exist, makes it or
/// refuses as `if_missing` says. Returns whether it was created.
pub fn load(
    path: &Path,
    what: &'static str,
    if_missing: IfMissing,
) -> Result<([u8; 32], bool), SecretFileError> {
    if if_missing == IfMissing::Refuse && !path.exists() {
        return Err(SecretFileError::Missing {
            what,
            path: path.display().to_string(),
        });
    }
    load_or_create(path, what)
}

/// 32 fresh random bytes.
pub fn random_secret() -> [u8; 32] {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    bytes
}

/// Reads the secret at `path`, or creates it (mode 0600) with fresh random
/// bytes when the file does not exist. Returns whether it was created.
pub fn load_or_create(
    path: &Path,
    what: &'static str,
) -> Result<([u8; 32], bool), SecretFileError> {
    let shown = path.display().to_string();
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let secret: [u8; 32] = hex::decode(text.trim())
                .ok()
                .and_then(|b| b.try_into().ok())
                .ok_or(SecretFileError::Malformed { what, path: shown })?;
            Ok((secret, false))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let secret = random_secret();
            write_new(path, &hex::encode(secret)).map_err(|source| SecretFileError::Create {
                what,
                path: shown,
                source,
            })?;
            Ok((secret, true))
        }
        Err(source) => Err(SecretFileError::Read {
            what,
            path: shown,
            source,
        }),
    }
}

/// Writes `text` to a file that must not exist yet, readable by its owner only.
fn write_new(path: &Path, text: &str) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        if !parent.as_os_str().is_empty() {
            std::fs::create_dir_all(parent)?;
        }
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    writeln!(file, "{text}")?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_secret_is_created_once_and_read_back() {
        let dir = std::env::temp_dir().join(format!("lianxi-secret-{}", uuid::Uuid::new_v4()));
        let path = dir.join("nested").join("key");
        let (first, created) = load_or_create(&path, "test key").expect("create");
        assert!(created);
        let (again, created) = load_or_create(&path, "test key").expect("read");
        assert!(!created);
        assert_eq!(first, again);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let elsewhere = dir.join("elsewhere");
        let err = load(&elsewhere, "test key", IfMissing::Refuse).expect_err("missing");
        assert!(err.to_string().contains("lianxi init"), "{err}");
        assert!(!elsewhere.exists(), "nothing is made when refusing");
        assert_eq!(
            load(&path, "test key", IfMissing::Refuse)
                .expect("exists")
                .0,
            first
        );
        std::fs::write(&path, "not hex").expect("overwrite");
        let err = load_or_create(&path, "test key").expect_err("malformed");
        assert!(err.to_string().contains("64 hex digits"), "{err}");
        std::fs::remove_dir_all(dir).ok();
    }
}
