//! Where uploaded files are kept: a directory on the embedded default
//! (`./data/files`), an S3-compatible object store in production, memory in
//! tests. One interface over `object_store`; the event log keeps each file's
//! digest, media type and size, never its bytes.
//!
//! Keys: `uploads/<uploader account>/<sha256>` for a file as stored and
//! `uploads/<uploader account>/<sha256>.thumb.jpg` for its thumbnail, so
//! that erasing an uploader removes one prefix; and an empty
//! `uploads/<uploader account>/attached/<grievance>` for each grievance the
//! uploader attached files to, so that erasure finds them.

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use futures::TryStreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::prefix::PrefixStore;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use uuid::Uuid;

/// Where files go unless configured: beside the embedded store.
pub const DEFAULT_LOCATION: &str = "./data/files";

/// A failure of the file store (unreachable, refused, misconfigured).
#[derive(Debug, thiserror::Error)]
#[error("file store: {0}")]
pub struct FilesError(String);

impl FilesError {
    pub fn new(reason: impl Into<String>) -> Self {
        FilesError(reason.into())
    }
}

impl From<object_store::Error> for FilesError {
    fn from(e: object_store::Error) -> Self {
        FilesError(e.to_string())
    }
}

/// The uploaded files of one deployment.
#[derive(Clone)]
pub struct Files {
    store: Arc<dyn ObjectStore>,
    kind: &'static str,
    location: String,
}

impl fmt::Debug for Files {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Files")
            .field("kind", &self.kind)
            .field("location", &self.location)
            .finish()
    }
}

impl Files {
    /// Files kept in memory: for tests and one-shot commands.
    pub fn memory() -> Self {
        Files {
            store: Arc::new(InMemory::new()),
            kind: "memory",
            location: "memory".into(),
        }
    }

    /// Opens `location`: `s3://bucket/optional/prefix` (endpoint, region and
    /// credentials from the usual `AWS_*` variables: `AWS_ENDPOINT`,
    /// `AWS_REGION`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
    /// `AWS_ALLOW_HTTP`), or a directory, created if missing.
    pub fn open(location: &str) -> Result<Self, FilesError> {
        if let Some(rest) = location.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(FilesError(format!("{location}: names no bucket")));
            }
            let s3 = AmazonS3Builder::from_env()
                .with_bucket_name(bucket)
                .build()?;
            let store: Arc<dyn ObjectStore> = match prefix.trim_matches('/') {
                "" => Arc::new(s3),
                prefix => Arc::new(PrefixStore::new(s3, prefix)),
            };
            return Ok(Files {
                store,
                kind: "s3",
                location: location.to_owned(),
            });
        }
        let dir = location.strip_prefix("file://").unwrap_or(location);
        std::fs::create_dir_all(dir).map_err(|e| FilesError(format!("{dir}: {e}")))?;
        let local = LocalFileSystem::new_with_prefix(dir)?.with_automatic_cleanup(true);
        Ok(Files {
            store: Arc::new(local),
            kind: "directory",
            location: dir.to_owned(),
        })
    }

    /// `memory`, `directory` or `s3`.
    pub fn kind(&self) -> &'static str {
        self.kind
    }

    /// Where the files are, as configured (no credentials).
    pub fn location(&self) -> &str {
        &self.location
    }

    /// Stores a file as uploaded by `uploader`, and its thumbnail if any.
    pub async fn put(
        &self,
        uploader: Uuid,
        sha256: &str,
        file: Bytes,
        thumbnail: Option<Bytes>,
    ) -> Result<(), FilesError> {
        if let Some(thumbnail) = thumbnail {
            self.store
                .put(
                    &thumbnail_key(uploader, sha256),
                    PutPayload::from(thumbnail),
                )
                .await?;
        }
        self.store
            .put(&file_key(uploader, sha256), PutPayload::from(file))
            .await?;
        Ok(())
    }

    /// The file, or its thumbnail; `None` if it is not stored (never
    /// uploaded, or erased).
    pub async fn get(
        &self,
        uploader: Uuid,
        sha256: &str,
        thumbnail: bool,
    ) -> Result<Option<Bytes>, FilesError> {
        let key = if thumbnail {
            thumbnail_key(uploader, sha256)
        } else {
            file_key(uploader, sha256)
        };
        match self.store.get(&key).await {
            Ok(found) => Ok(Some(found.bytes().await?)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// The first `len` bytes and the size of a stored file; `None` if it
    /// is not stored.
    pub async fn peek(
        &self,
        uploader: Uuid,
        sha256: &str,
        len: u64,
    ) -> Result<Option<(Bytes, u64)>, FilesError> {
        let key = file_key(uploader, sha256);
        let size = match self.store.head(&key).await {
            Ok(meta) => meta.size,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let head = self.store.get_range(&key, 0..len.min(size)).await?;
        Ok(Some((head, size)))
    }

    /// Records that `uploader` attached files to `grievance`.
    pub async fn mark_attached(&self, uploader: Uuid, grievance: Uuid) -> Result<(), FilesError> {
        let key = Path::from(format!("uploads/{uploader}/attached/{grievance}"));
        self.store.put(&key, PutPayload::default()).await?;
        Ok(())
    }

    /// The grievances `uploader` attached files to, as recorded by
    /// [`Files::mark_attached`].
    pub async fn attached_by(&self, uploader: Uuid) -> Result<Vec<Uuid>, FilesError> {
        let prefix = Path::from(format!("uploads/{uploader}/attached"));
        let found: Vec<_> = self.store.list(Some(&prefix)).try_collect().await?;
        Ok(found
            .iter()
            .filter_map(|m| m.location.filename().and_then(|f| f.parse().ok()))
            .collect())
    }

    /// Deletes every file `uploader` stored, thumbnails included; how many
    /// objects went.
    pub async fn delete_uploads_of(&self, uploader: Uuid) -> Result<usize, FilesError> {
        let prefix = Path::from(format!("uploads/{uploader}"));
        let found: Vec<_> = self.store.list(Some(&prefix)).try_collect().await?;
        for meta in &found {
            match self.store.delete(&meta.location).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(found.len())
    }

    /// Whether the store answers (lists at most one object).
    pub async fn check(&self) -> Result<(), FilesError> {
        let mut listing = self.store.list(Some(&Path::from("uploads")));
        listing.try_next().await?;
        Ok(())
    }
}

fn file_key(uploader: Uuid, sha256: &str) -> Path {
    Path::from(format!("uploads/{uploader}/{sha256}"))
}

fn thumbnail_key(uploader: Uuid, sha256: &str) -> Path {
    Path::from(format!("uploads/{uploader}/{sha256}.thumb.jpg"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_directory_keeps_files_by_uploader_and_erasure_removes_them_all() {
        let dir = std::env::temp_dir().join(format!("lianxi-files-{}", Uuid::new_v4()));
        let files = Files::open(&dir.to_string_lossy()).expect("a directory store");
        let (alice, bob) = (Uuid::new_v4(), Uuid::new_v4());
        let digest = "ab".repeat(32);
        files
            .put(
                alice,
                &digest,
                Bytes::from_static(b"photo"),
                Some(Bytes::from_static(b"thumb")),
            )
            .await
            .expect("stored");
        files
            .put(bob, &digest, Bytes::from_static(b"photo"), None)
            .await
            .expect("stored");
        assert!(dir
            .join(format!("uploads/{alice}/{digest}.thumb.jpg"))
            .exists());
        let got = files.get(alice, &digest, false).await.expect("read");
        assert_eq!(got.as_deref(), Some(&b"photo"[..]));
        let peeked = files.peek(alice, &digest, 2).await.expect("read");
        assert_eq!(peeked, Some((Bytes::from_static(b"ph"), 5)));
        let grievance = Uuid::new_v4();
        files.mark_attached(alice, grievance).await.expect("marked");
        assert_eq!(
            files.attached_by(alice).await.expect("listed"),
            vec![grievance]
        );
        assert_eq!(
            files.attached_by(bob).await.expect("listed"),
            Vec::<Uuid>::new()
        );
        assert_eq!(files.delete_uploads_of(alice).await.expect("deleted"), 3);
        assert_eq!(
            files.attached_by(alice).await.expect("listed"),
            Vec::<Uuid>::new()
        );
        assert_eq!(files.get(alice, &digest, true).await.expect("read"), None);
        assert_eq!(files.peek(alice, &digest, 2).await.expect("read"), None);
        assert!(files
            .get(bob, &digest, false)
            .await
            .expect("read")
            .is_some());
        std::fs::remove_dir_all(dir).expect("cleaned up");
    }

    #[test]
    fn an_s3_location_must_name_a_bucket() {
        assert!(Files::open("s3://").is_err());
    }
}
