//! A witness of a deployment's log, kept by an auditor outside it
//! (`lianxi audit keep`): each run asks the service for a fresh signed
//! checkpoint, checks it against the newest one kept (same signing key;
//! never fewer events; an RFC 6962 consistency proof that the new tree
//! extends the kept one, checked here, not by the service), and keeps it.
//! A log whose tail was removed, or whose past was rewritten, cannot pass:
//! the checkpoints the witness kept say what the log held.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::audit::checkpoint::{Checkpoint, CheckpointFile};
use crate::audit::merkle::{self, Hash};

/// What a run kept.
#[derive(Debug)]
pub struct Kept {
    pub tree_size: u64,
    pub root: String,
    pub file: PathBuf,
    /// The tree size of the newest checkpoint kept before, if any.
    pub previous: Option<u64>,
}

/// Why a checkpoint was not kept.
#[derive(Debug, thiserror::Error)]
pub enum WitnessError {
    #[error("cannot reach {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("{url} answered {status}: {body}")]
    Refused {
        url: String,
        status: u16,
        body: String,
    },
    #[error("{path}: {reason}")]
    Io { path: String, reason: String },
    #[error("not a valid signed checkpoint: {0}")]
    Invalid(String),
    #[error("signed by {found}, not by the key this witness keeps ({pinned})")]
    OtherKey { found: String, pinned: String },
    #[error(
        "the log now holds {now} events, fewer than the {kept} a kept checkpoint signed: its tail was removed"
    )]
    Truncated { now: u64, kept: u64 },
    #[error("the log's first {kept} events are not those a kept checkpoint signed: the log was rewritten")]
    Rewritten { kept: u64 },
}

#[derive(Deserialize)]
struct ProofAnswer {
    from_root: String,
    to_root: String,
    proof: Vec<String>,
}

/// Keeps a fresh checkpoint of the service at `base` (an auditor's `token`)
/// in `dir`, once it is consistent with what `dir` holds. `public_key`
/// (hex) pins the signer; without it the key of the first checkpoint kept
/// is pinned.
pub async fn keep(
    base: &str,
    token: &str,
    dir: &Path,
    public_key: Option<&str>,
) -> Result<Kept, WitnessError> {
    let kept = kept_in(dir)?;
    let newest = kept.iter().max_by_key(|c| c.tree_size);
    crate::tls::install_crypto_provider();
    let client = reqwest::Client::new();
    let base = base.trim_end_matches('/');
    let url = format!("{base}/api/v1/audit/checkpoints");
    let file: CheckpointFile = answer(client.post(&url).bearer_auth(token), &url).await?;
    let fresh = Checkpoint::from_file(&file).map_err(|e| WitnessError::Invalid(e.to_string()))?;
    let pinned = public_key
        .map(|k| k.trim().to_ascii_lowercase())
        .or_else(|| newest.map(|c| hex::encode(c.public_key)));
    let found = hex::encode(fresh.public_key);
    if let Some(pinned) = pinned.filter(|p| *p != found) {
        return Err(WitnessError::OtherKey { found, pinned });
    }
    if let Some(old) = newest {
        if fresh.tree_size < old.tree_size {
            return Err(WitnessError::Truncated {
                now: fresh.tree_size,
                kept: old.tree_size,
            });
        }
        if old.tree_size > 0 && fresh.tree_size == old.tree_size && fresh.root != old.root {
            return Err(WitnessError::Rewritten {
                kept: old.tree_size,
            });
        }
        if old.tree_size > 0 && fresh.tree_size > old.tree_size {
            let url = format!(
                "{base}/api/v1/audit/consistency?from={}&to={}",
                old.tree_size, fresh.tree_size
            );
            let proof: ProofAnswer = answer(client.get(&url).bearer_auth(token), &url).await?;
            if !consistent(old, &fresh, &proof) {
                return Err(WitnessError::Rewritten {
                    kept: old.tree_size,
                });
            }
        }
    }
    let path = dir.join(format!("checkpoint-{:012}.json", fresh.tree_size));
    let text =
        serde_json::to_string_pretty(&file).map_err(|e| WitnessError::Invalid(e.to_string()))?;
    std::fs::write(&path, format!("{text}\n")).map_err(|e| io(&path, e))?;
    Ok(Kept {
        tree_size: fresh.tree_size,
        root: file.root,
        file: path,
        previous: newest.map(|c| c.tree_size),
    })
}

/// Whether `proof` (as the service answered it) shows that `new` extends
/// `old`, checked against the roots the two signed checkpoints carry.
fn consistent(old: &Checkpoint, new: &Checkpoint, proof: &ProofAnswer) -> bool {
    let hash = |h: &str| -> Option<Hash> { hex::decode(h).ok()?.try_into().ok() };
    let nodes: Option<Vec<Hash>> = proof.proof.iter().map(|h| hash(h)).collect();
    let (Some(from), Some(to), Some(nodes)) = (hash(&proof.from_root), hash(&proof.to_root), nodes)
    else {
        return false;
    };
    from == old.root
        && to == new.root
        && merkle::verify_consistency(old.tree_size, new.tree_size, &old.root, &new.root, &nodes)
}

/// The checkpoints kept in `dir` (created when missing), each checked.
fn kept_in(dir: &Path) -> Result<Vec<Checkpoint>, WitnessError> {
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    let mut kept = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| io(dir, e))? {
        let path = entry.map_err(|e| io(dir, e))?.path();
        let named = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("checkpoint-") && n.ends_with(".json"));
        if !named {
            continue;
        }
        let text = std::fs::read_to_string(&path).map_err(|e| io(&path, e))?;
        let file: CheckpointFile = serde_json::from_str(&text).map_err(|e| WitnessError::Io {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        kept.push(Checkpoint::from_file(&file).map_err(|e| WitnessError::Io {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?);
    }
    Ok(kept)
}

async fn answer<T: serde::de::DeserializeOwned>(
    request: reqwest::RequestBuilder,
    url: &str,
) -> Result<T, WitnessError> {
    let response = request
        .send()
        .await
        .map_err(|e| WitnessError::Unreachable {
            url: url.to_owned(),
            reason: e.to_string(),
        })?;
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    if !status.is_success() {
        return Err(WitnessError::Refused {
            url: url.to_owned(),
            status: status.as_u16(),
            body,
        });
    }
    serde_json::from_str(&body).map_err(|e| WitnessError::Invalid(e.to_string()))
}

fn io(path: &Path, e: std::io::Error) -> WitnessError {
    WitnessError::Io {
        path: path.display().to_string(),
        reason: e.to_string(),
    }
}
