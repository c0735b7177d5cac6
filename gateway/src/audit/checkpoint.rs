//! Signed checkpoints: the size and Merkle root of the log, in feed order,
//! signed with the service's Ed25519 audit key.
//!
//! A checkpoint file is small JSON an auditor keeps outside the system:
//!
//! ```json
//! {"format":"lianxi-checkpoint-v1","tree_size":1234,"root":"<64 hex>",
//!  "signed_at":"2026-11-27T08:00:00.000000Z","public_key":"<64 hex>","signature":"<128 hex>"}
//! ```
//!
//! The signature covers the UTF-8 text
//! `lianxi-checkpoint-v1\n{tree_size}\n{root}\n{signed_at}\n`. The same
//! tree head is also given as a C2SP signed note ([`super::note`]) for
//! transparency-log tools.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use sqlx::Row;

use super::merkle::{self, Hash};
use crate::db::{Database, DbError};
use crate::secret_file;

pub const FORMAT: &str = "lianxi-checkpoint-v1";

/// The key that signs checkpoints.
pub struct AuditKey {
    key: SigningKey,
    path: Option<PathBuf>,
}

impl std::fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditKey")
            .field("public_key", &self.public_key_hex())
            .field("path", &self.path)
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(transparent)]
    File(#[from] secret_file::SecretFileError),
}

impl AuditKey {
    /// A key that lives only in memory (tests and tools).
    pub fn ephemeral() -> Self {
        Self {
            key: SigningKey::from_bytes(&secret_file::random_secret()),
            path: None,
        }
    }

    /// Loads the key at `path`; when the file does not exist, makes it
    /// (readable by its owner only) or refuses as `if_missing` says.
    /// Returns whether it was created.
    pub fn load(path: &Path, if_missing: secret_file::IfMissing) -> Result<(Self, bool), KeyError> {
        let (seed, created) = secret_file::load(path, "audit key", if_missing)?;
        Ok((
            Self {
                key: SigningKey::from_bytes(&seed),
                path: Some(path.to_owned()),
            },
            created,
        ))
    }

    pub fn public_key(&self) -> [u8; 32] {
        self.key.verifying_key().to_bytes()
    }

    pub fn public_key_hex(&self) -> String {
        hex::encode(self.public_key())
    }

    /// The tree head as a C2SP signed note ([`super::note`]), signed with
    /// this key.
    pub fn sign_note(&self, tree_size: u64, root: &Hash) -> String {
        super::note::sign(&self.key, tree_size, root)
    }

    /// The verifier key note tools take for this key.
    pub fn verifier_key(&self) -> String {
        super::note::verifier_key(&self.public_key()).unwrap_or_default()
    }

    /// Signs a tree head.
    pub fn sign(&self, tree_size: u64, root: Hash, signed_at: DateTime<Utc>) -> Checkpoint {
        let signed_at = truncate_micros(signed_at);
        let message = signed_message(tree_size, &root, &signed_at);
        Checkpoint {
            tree_size,
            root,
            signed_at,
            public_key: self.public_key(),
            signature: self.key.sign(&message).to_bytes(),
        }
    }
}

fn truncate_micros(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap_or(t)
}

fn signed_message(tree_size: u64, root: &Hash, signed_at: &DateTime<Utc>) -> Vec<u8> {
    format!(
        "{FORMAT}\n{tree_size}\n{}\n{}\n",
        hex::encode(root),
        format_time(signed_at)
    )
    .into_bytes()
}

fn format_time(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// A signed tree head.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    pub tree_size: u64,
    pub root: Hash,
    pub signed_at: DateTime<Utc>,
    pub public_key: [u8; 32],
    pub signature: [u8; 64],
}

/// The exported form of a checkpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckpointFile {
    /// Always `lianxi-checkpoint-v1`.
    pub format: String,
    /// How many events the tree covers: the first `tree_size` in feed order.
    pub tree_size: u64,
    /// RFC 6962 Merkle tree root over the event hashes, hex.
    pub root: String,
    /// When it was signed (UTC, microseconds).
    pub signed_at: String,
    /// Ed25519 public key of the signer, hex.
    pub public_key: String,
    /// Ed25519 signature of `format\ntree_size\nroot\nsigned_at\n`, hex.
    pub signature: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CheckpointError {
    #[error("{field}: {reason}")]
    Field { field: &'static str, reason: String },
    #[error("the signature does not match the checkpoint and its public key")]
    BadSignature,
}

fn field(field: &'static str, reason: &str) -> CheckpointError {
    CheckpointError::Field {
        field,
        reason: reason.to_owned(),
    }
}

fn hex_array<const N: usize>(name: &'static str, text: &str) -> Result<[u8; N], CheckpointError> {
    hex::decode(text)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| field(name, &format!("must be {} hex digits", N * 2)))
}

impl Checkpoint {
    pub fn to_file(&self) -> CheckpointFile {
        CheckpointFile {
            format: FORMAT.to_owned(),
            tree_size: self.tree_size,
            root: hex::encode(self.root),
            signed_at: format_time(&self.signed_at),
            public_key: hex::encode(self.public_key),
            signature: hex::encode(self.signature),
        }
    }

    /// Parses an exported checkpoint and checks its signature.
    pub fn from_file(file: &CheckpointFile) -> Result<Self, CheckpointError> {
        if file.format != FORMAT {
            return Err(field("format", &format!("must be {FORMAT}")));
        }
        let signed_at = DateTime::parse_from_rfc3339(&file.signed_at)
            .map_err(|_| field("signed_at", "must be an RFC 3339 instant"))?
            .with_timezone(&Utc);
        let checkpoint = Self {
            tree_size: file.tree_size,
            root: hex_array("root", &file.root)?,
            signed_at,
            public_key: hex_array("public_key", &file.public_key)?,
            signature: hex_array("signature", &file.signature)?,
        };
        if checkpoint.to_file() != *file || !checkpoint.signature_valid() {
            return Err(CheckpointError::BadSignature);
        }
        Ok(checkpoint)
    }

    /// Whether the signature matches the tree head and the public key.
    pub fn signature_valid(&self) -> bool {
        let Ok(key) = VerifyingKey::from_bytes(&self.public_key) else {
            return false;
        };
        let message = signed_message(self.tree_size, &self.root, &self.signed_at);
        key.verify_strict(&message, &Signature::from_bytes(&self.signature))
            .is_ok()
    }
}

/// The leaf hashes of the first events in feed order: all events of
/// finished transactions (`None`), or exactly `size` of them.
pub async fn leaves(db: &Database, size: Option<u64>) -> Result<Vec<Hash>, DbError> {
    let limit = size.map_or(i64::MAX, |s| s.min(i64::MAX as u64) as i64);
    let hashes: Vec<Option<Vec<u8>>> = match db {
        Database::Postgres(pool) => {
            sqlx::query_scalar(
                "SELECT hash FROM events \
                  WHERE transaction_id < pg_snapshot_xmin(pg_current_snapshot()) \
                  ORDER BY transaction_id, global_position LIMIT $1",
            )
            .bind(limit)
            .fetch_all(pool)
            .await?
        }
        Database::Sqlite(pool) => {
            sqlx::query_scalar("SELECT hash FROM events ORDER BY global_position LIMIT ?")
                .bind(limit)
                .fetch_all(pool)
                .await?
        }
    };
    Ok(hashes
        .iter()
        .map(|h| merkle::leaf_hash(h.as_deref().unwrap_or_default()))
        .collect())
}

/// On PostgreSQL, waits (up to two seconds) until every transaction that
/// wrote the events visible now has left the commit-safe horizon, so that a
/// checkpoint covers everything committed before it was asked for. A
/// transaction still open after that only shortens the checkpoint.
async fn settle(db: &Database) -> Result<(), DbError> {
    let Database::Postgres(pool) = db else {
        return Ok(());
    };
    let give_up = tokio::time::Instant::now() + std::time::Duration::from_secs(2);
    loop {
        let settled: bool = sqlx::query_scalar(
            "SELECT coalesce(max(transaction_id) < pg_snapshot_xmin(pg_current_snapshot()), true) FROM events",
        )
        .fetch_one(pool)
        .await?;
        if settled || tokio::time::Instant::now() >= give_up {
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

/// Takes a checkpoint of everything committed now, or returns the stored
/// one when the log has not grown since.
pub async fn take(db: &Database, key: &AuditKey) -> Result<Checkpoint, DbError> {
    settle(db).await?;
    let leaves = leaves(db, None).await?;
    let size = leaves.len() as u64;
    if let Some(existing) = get(db, size).await? {
        return Ok(existing);
    }
    let checkpoint = key.sign(size, merkle::root(&leaves), Utc::now());
    let inserted = match db {
        Database::Postgres(pool) => sqlx::query(
            "INSERT INTO audit_checkpoints (tree_size, root, signed_at, public_key, signature) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tree_size) DO NOTHING",
        )
        .bind(size as i64)
        .bind(&checkpoint.root[..])
        .bind(checkpoint.signed_at)
        .bind(&checkpoint.public_key[..])
        .bind(&checkpoint.signature[..])
        .execute(pool)
        .await?
        .rows_affected(),
        Database::Sqlite(pool) => sqlx::query(
            "INSERT INTO audit_checkpoints (tree_size, root, signed_at, public_key, signature) \
             VALUES (?, ?, ?, ?, ?) ON CONFLICT (tree_size) DO NOTHING",
        )
        .bind(size as i64)
        .bind(&checkpoint.root[..])
        .bind(format_time(&checkpoint.signed_at))
        .bind(&checkpoint.public_key[..])
        .bind(&checkpoint.signature[..])
        .execute(pool)
        .await?
        .rows_affected(),
    };
    if inserted == 0 {
        // Another instance signed the same size first; keep one per size.
        if let Some(existing) = get(db, size).await? {
            return Ok(existing);
        }
    }
    Ok(checkpoint)
}

const SELECT: &str =
    "SELECT tree_size, root, signed_at, public_key, signature FROM audit_checkpoints";

/// Stored checkpoints, newest first.
pub async fn list(db: &Database, limit: i64) -> Result<Vec<Checkpoint>, DbError> {
    let sql = format!("{SELECT} ORDER BY tree_size DESC LIMIT {}", limit.max(0));
    match db {
        Database::Postgres(pool) => sqlx::query(&sql)
            .fetch_all(pool)
            .await?
            .iter()
            .map(decode_pg)
            .collect(),
        Database::Sqlite(pool) => sqlx::query(&sql)
            .fetch_all(pool)
            .await?
            .iter()
            .map(decode_sqlite)
            .collect(),
    }
}

/// The stored checkpoint of exactly `size` events.
pub async fn get(db: &Database, size: u64) -> Result<Option<Checkpoint>, DbError> {
    let sql = format!("{SELECT} WHERE tree_size = $1");
    match db {
        Database::Postgres(pool) => sqlx::query(&sql)
            .bind(size as i64)
            .fetch_optional(pool)
            .await?
            .as_ref()
            .map(decode_pg)
            .transpose(),
        Database::Sqlite(pool) => sqlx::query(&sql)
            .bind(size as i64)
            .fetch_optional(pool)
            .await?
            .as_ref()
            .map(decode_sqlite)
            .transpose(),
    }
}

fn decode_parts(
    size: i64,
    root: Vec<u8>,
    signed_at: DateTime<Utc>,
    public_key: Vec<u8>,
    signature: Vec<u8>,
) -> Result<Checkpoint, DbError> {
    let bad = |what: &str| DbError::Invalid(format!("stored checkpoint {size}: bad {what}"));
    Ok(Checkpoint {
        tree_size: u64::try_from(size).map_err(|_| bad("size"))?,
        root: root.try_into().map_err(|_| bad("root"))?,
        signed_at,
        public_key: public_key.try_into().map_err(|_| bad("public key"))?,
        signature: signature.try_into().map_err(|_| bad("signature"))?,
    })
}

fn decode_pg(r: &sqlx::postgres::PgRow) -> Result<Checkpoint, DbError> {
    decode_parts(
        r.try_get("tree_size")?,
        r.try_get("root")?,
        r.try_get("signed_at")?,
        r.try_get("public_key")?,
        r.try_get("signature")?,
    )
}

fn decode_sqlite(r: &sqlx::sqlite::SqliteRow) -> Result<Checkpoint, DbError> {
    let signed_at: String = r.try_get("signed_at")?;
    let signed_at = DateTime::parse_from_rfc3339(&signed_at)
        .map_err(|e| DbError::Invalid(format!("stored checkpoint time: {e}")))?
        .with_timezone(&Utc);
    decode_parts(
        r.try_get("tree_size")?,
        r.try_get("root")?,
        signed_at,
        r.try_get("public_key")?,
        r.try_get("signature")?,
    )
}

/// A consistency proof between two tree sizes of the current log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Consistency {
    pub old_size: u64,
    pub new_size: u64,
    pub old_root: Hash,
    pub new_root: Hash,
    pub proof: Vec<Hash>,
}

/// Proves that the first `new_size` events extend the first `old_size`.
/// `None` when the sizes are not `1 ≤ old ≤ new ≤ committed events`.
pub async fn consistency(
    db: &Database,
    old_size: u64,
    new_size: u64,
) -> Result<Option<Consistency>, DbError> {
    if old_size == 0 || old_size > new_size {
        return Ok(None);
    }
    let leaves = leaves(db, Some(new_size)).await?;
    if (leaves.len() as u64) < new_size {
        return Ok(None);
    }
    let old = old_size as usize;
    let Some(proof) = merkle::consistency_proof(&leaves, old) else {
        return Ok(None);
    };
    Ok(Some(Consistency {
        old_size,
        new_size,
        old_root: merkle::root(&leaves[..old]),
        new_root: merkle::root(&leaves),
        proof,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_checkpoint_survives_export_and_any_edit_breaks_it() {
        let key = AuditKey::ephemeral();
        let cp = key.sign(42, [7; 32], Utc::now());
        assert!(cp.signature_valid());
        let file = cp.to_file();
        assert_eq!(Checkpoint::from_file(&file), Ok(cp.clone()));
        let text = serde_json::to_string(&file).unwrap_or_default();
        let back: CheckpointFile = serde_json::from_str(&text).unwrap_or_else(|_| file.clone());
        assert_eq!(back, file);

        let mut grown = file.clone();
        grown.tree_size = 43;
        assert_eq!(
            Checkpoint::from_file(&grown),
            Err(CheckpointError::BadSignature)
        );
        let mut rerooted = file.clone();
        rerooted.root = hex::encode([8; 32]);
        assert_eq!(
            Checkpoint::from_file(&rerooted),
            Err(CheckpointError::BadSignature)
        );
        let mut other_key = file.clone();
        other_key.public_key = AuditKey::ephemeral().public_key_hex();
        assert_eq!(
            Checkpoint::from_file(&other_key),
            Err(CheckpointError::BadSignature)
        );
        let mut short = file;
        short.root = "abc".into();
        assert!(matches!(
            Checkpoint::from_file(&short),
            Err(CheckpointError::Field { field: "root", .. })
        ));
    }

    #[test]
    fn the_key_file_is_created_once_and_owner_only() {
        let dir = std::env::temp_dir().join(format!("lianxi-key-{}", uuid::Uuid::new_v4()));
        let path = dir.join("audit.key");
        let (first, created) =
            AuditKey::load(&path, secret_file::IfMissing::Create).expect("create");
        assert!(created);
        let (again, created) = AuditKey::load(&path, secret_file::IfMissing::Create).expect("load");
        assert!(!created);
        assert_eq!(first.public_key(), again.public_key());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path)
                .expect("metadata")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(&path, "not hex").expect("overwrite");
        assert!(matches!(
            AuditKey::load(&path, secret_file::IfMissing::Create),
            Err(KeyError::File(
                secret_file::SecretFileError::Malformed { .. }
            ))
        ));
        let _ = std::fs::remove_dir_all(dir);
    }
}
