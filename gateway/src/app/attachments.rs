//! Files people attach to grievances: uploaded, judged by their content,
//! made safe (photos lose every metadata block, EXIF GPS included), stored
//! under their uploader, attached by a grievance command, read back by
//! exactly who may read the grievance, and erased with their uploader's
//! personal data while their digests stay in the log.

use axum::body::Bytes;
use lianxi_domain::grievance::{Grievance, GrievanceAction, GrievanceCommand};
use lianxi_domain::values::{AccountId, Attachment, GrievanceId, MediaType, Sha256Hex};
use lianxi_domain::Actor;

use super::auth::Caller;
use super::error::ApiError;
use super::grievances::{actor, visible, visible_for_command};
use super::{AppState, CommandMetadata, Committed};
use crate::files::FilesError;
use crate::media::{self, MediaError};

/// One file of an upload, as the client sent it; `field` names it in
/// errors (`file[0]`, …).
#[derive(Clone, Debug)]
pub struct Upload {
    pub field: String,
    pub bytes: Bytes,
}

/// A stored file or thumbnail, ready to send.
#[derive(Clone, Debug)]
pub struct Download {
    pub bytes: Bytes,
    pub media_type: String,
    /// A file name for the download: the digest's start and the type's
    /// usual extension.
    pub file_name: String,
}

/// The largest request body carrying uploads: three files at the limit.
pub fn request_limit(state: &AppState) -> usize {
    usize::try_from(state.limits.upload_bytes.saturating_mul(3))
        .unwrap_or(usize::MAX)
        .saturating_add(64 * 1024)
}

/// Checks and stores `uploads` for `caller`, all or none: nothing is stored
/// unless every file is accepted. The attachments, in order, for a filing
/// or an [`attach`].
pub async fn store(
    state: &AppState,
    caller: &Caller,
    uploads: Vec<Upload>,
) -> Result<Vec<Attachment>, ApiError> {
    let prepared = prepare_all(state, uploads).await?;
    store_prepared(state, caller.0.id, prepared).await
}

/// Checks, stores and attaches `uploads` to grievance `id`: one
/// `AttachmentsAdded` event, decided on the stream as loaded. Nothing is
/// stored if the grievance would refuse them.
pub async fn attach(
    state: &AppState,
    caller: &Caller,
    request_id: &str,
    id: GrievanceId,
    expected: Option<usize>,
    uploads: Vec<Upload>,
) -> Result<Committed, ApiError> {
    let current = visible_for_command(state, caller, id).await?;
    let prepared = prepare_all(state, uploads).await?;
    let attachments: Vec<Attachment> = prepared
        .iter()
        .map(|(_, p, size)| attachment(p, *size))
        .collect::<Result<_, _>>()?;
    let action = GrievanceAction::AddAttachments { attachments };
    // A dry run on the state just loaded: a refusal stores nothing.
    Grievance::from(current)
        .decide(
            GrievanceCommand::new(actor(caller), action.clone()),
            state.log.services(),
        )
        .map_err(ApiError::from)?;
    store_prepared(state, caller.0.id, prepared).await?;
    mark_attached(state, caller.0.id, id).await?;
    super::grievances::run(state, caller, request_id, id, expected, None, action).await
}

/// Before a filing names files by digest: each must have been uploaded by
/// `caller`, with the size and media type given.
pub async fn check_uploaded(
    state: &AppState,
    caller: &Caller,
    attachments: &[Attachment],
) -> Result<(), ApiError> {
    check_uploaded_as(state, caller, &|i| format!("attachments[{i}]"), attachments).await
}

/// [`check_uploaded`] for files a request names elsewhere, each refusal
/// under `at(i)`.
pub async fn check_uploaded_as(
    state: &AppState,
    caller: &Caller,
    at: &(dyn Fn(usize) -> String + Sync),
    attachments: &[Attachment],
) -> Result<(), ApiError> {
    for (i, a) in attachments.iter().enumerate() {
        let found = state
            .files
            .peek(caller.0.id.0, a.sha256.as_str(), 64)
            .await
            .map_err(unavailable)?;
        let field = |part: &str| format!("{}.{part}", at(i));
        let Some((head, size)) = found else {
            return Err(ApiError::invalid_field(
                field("sha256"),
                "no file with this digest was uploaded by this account; upload it first (POST /api/v1/files)",
            ));
        };
        if size != a.size {
            return Err(ApiError::invalid_field(
                field("size"),
                format!("the uploaded file has {size} bytes"),
            ));
        }
        match media::sniff(&head) {
            Ok(t) if t == a.media_type.as_str() => {}
            Ok(t) => {
                return Err(ApiError::invalid_field(
                    field("media_type"),
                    format!("the uploaded file is {t}"),
                ))
            }
            Err(e) => return Err(ApiError::invalid_field(field("sha256"), e.to_string())),
        }
    }
    Ok(())
}

/// Records, beside the uploader's files, that they attached files to
/// `grievance`, so that erasing the uploader finds the grievance.
pub async fn mark_attached(
    state: &AppState,
    uploader: AccountId,
    grievance: GrievanceId,
) -> Result<(), ApiError> {
    state
        .files
        .mark_attached(uploader.0, grievance.0)
        .await
        .map_err(unavailable)
}

/// A file attached to grievance `id` (or its thumbnail), for a caller who
/// may read the grievance; 404 otherwise, 410 once erased.
pub async fn download(
    state: &AppState,
    caller: &Caller,
    id: GrievanceId,
    sha256: &str,
    thumbnail: bool,
) -> Result<Download, ApiError> {
    let (g, _) = visible(state, caller, id).await?;
    let held = g
        .attachments
        .iter()
        .rev()
        .find(|a| a.file.sha256.as_str() == sha256)
        .ok_or_else(ApiError::not_found)?;
    if held.erased_at.is_some() {
        return Err(ApiError::gone(
            "the file was erased with its uploader's personal data",
        ));
    }
    let media_type = held.file.media_type.as_str();
    if thumbnail && !media_type.starts_with("image/") {
        return Err(ApiError::not_found().with_detail("a document has no thumbnail"));
    }
    let bytes = state
        .files
        .get(held.uploader(&g).0, sha256, thumbnail)
        .await
        .map_err(unavailable)?
        .ok_or_else(|| ApiError::not_found().with_detail("the file is not stored"))?;
    let (media_type, extension) = if thumbnail {
        ("image/jpeg", "jpg")
    } else {
        (media_type, extension_of(media_type))
    };
    Ok(Download {
        bytes,
        media_type: media_type.to_owned(),
        file_name: format!("{}.{extension}", &sha256[..sha256.len().min(16)]),
    })
}

/// Erases every file `person` uploaded: marks them erased on each grievance
/// they were attached to (the digests stay), then deletes them from the
/// store. Safe to repeat. How many grievances changed.
pub async fn erase_uploads_of(
    state: &AppState,
    admin: &Actor,
    person: AccountId,
    metadata: &CommandMetadata,
) -> Result<usize, FilesError> {
    let grievances = state.files.attached_by(person.0).await?;
    let mut changed = 0;
    for grievance in grievances {
        let command = GrievanceCommand::new(
            *admin,
            GrievanceAction::EraseAttachmentsOf { uploader: person },
        );
        let id = GrievanceId(grievance);
        let committed = state
            .log
            .execute(id, None, command, metadata)
            .await
            .map_err(|e| FilesError::new(format!("grievance {grievance}: {e}")))?;
        changed += usize::from(committed.appended > 0);
    }
    state.files.delete_uploads_of(person.0).await?;
    Ok(changed)
}

/// The usual file extension of an accepted media type.
pub fn extension_of(media_type: &str) -> &'static str {
    match media_type {
        "image/jpeg" => "jpg",
        "image/png" => "png",
        "image/webp" => "webp",
        "application/pdf" => "pdf",
        _ => "bin",
    }
}

type Prepared = (String, media::Prepared, u64);

async fn prepare_all(state: &AppState, uploads: Vec<Upload>) -> Result<Vec<Prepared>, ApiError> {
    if uploads.is_empty() {
        return Err(ApiError::invalid_field("file", "send at least one file"));
    }
    if uploads.len() > Attachment::MAX_COUNT {
        return Err(ApiError::invalid_field(
            "file",
            format!("at most {} files", Attachment::MAX_COUNT),
        ));
    }
    let limit = state.limits.upload_bytes;
    if let Some(big) = uploads.iter().find(|u| u.bytes.len() as u64 > limit) {
        return Err(ApiError::file_too_large(big.field.clone(), limit));
    }
    // Decoding and encoding photos is CPU work: off the request threads.
    tokio::task::spawn_blocking(move || {
        uploads
            .into_iter()
            .map(|u| match media::prepare(&u.bytes) {
                Ok(p) => {
                    let size = p.bytes.len() as u64;
                    Ok((u.field, p, size))
                }
                Err(e) => Err(refused(&u.field, e)),
            })
            .collect()
    })
    .await
    .map_err(|_| ApiError::internal())?
}

async fn store_prepared(
    state: &AppState,
    uploader: AccountId,
    prepared: Vec<Prepared>,
) -> Result<Vec<Attachment>, ApiError> {
    let mut out = Vec::with_capacity(prepared.len());
    for (_, p, size) in prepared {
        let a = attachment(&p, size)?;
        state
            .files
            .put(
                uploader.0,
                &p.sha256,
                Bytes::from(p.bytes),
                p.thumbnail.map(Bytes::from),
            )
            .await
            .map_err(unavailable)?;
        out.push(a);
    }
    Ok(out)
}

fn attachment(p: &media::Prepared, size: u64) -> Result<Attachment, ApiError> {
    let sha = Sha256Hex::parse(&p.sha256).map_err(|_| ApiError::internal())?;
    let media_type = MediaType::parse(p.media_type).map_err(|_| ApiError::internal())?;
    Attachment::new(sha, media_type, size)
        .map_err(|e| ApiError::invalid_field("file", e.to_string()))
}

fn refused(field: &str, e: MediaError) -> ApiError {
    ApiError::invalid_field(field, e.to_string())
}

fn unavailable(e: FilesError) -> ApiError {
    tracing::error!(error = %e, "file store error");
    ApiError::unavailable("the file store is not reachable")
}
