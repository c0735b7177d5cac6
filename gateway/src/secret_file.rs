//! 32-byte secrets kept in files of 64 hex digits, created readable by their
//! owner only when missing (the audit signing key, the master key).

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
        std::fs::write(&path, "not hex").expect("overwrite");
        let err = load_or_create(&path, "test key").expect_err("malformed");
        assert!(err.to_string().contains("64 hex digits"), "{err}");
        std::fs::remove_dir_all(dir).ok();
    }
}
