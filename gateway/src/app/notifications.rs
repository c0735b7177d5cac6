//! Changes to the grievances an account may see, read from the
//! commit-safe event feed in feed order: what the notification stream
//! sends. Visibility is decided per grievance by the same policy as
//! reading it.

use std::collections::HashMap;

use lianxi_domain::values::GrievanceId;
use lianxi_projections::{feed, FeedEvent, Position};

use super::auth::Caller;
use super::error::ApiError;
use super::AppState;

pub use super::reads::head;

/// Ticks whenever this instance appends to a log: the stream reads again.
pub fn appended(state: &AppState) -> tokio::sync::watch::Receiver<u64> {
    state.log.appended()
}

/// One read of the feed.
#[derive(Debug)]
pub struct Changes {
    /// The grievance events of the batch the caller may see.
    pub changes: Vec<FeedEvent>,
    /// Where the next read starts.
    pub after: Position,
    /// How many feed events were read (0: the feed is exhausted for now).
    pub read: usize,
}

/// Reads up to `batch` feed events after `after` and keeps the grievance
/// events `caller` may see.
pub async fn changes_after(
    state: &AppState,
    caller: &Caller,
    after: Position,
    batch: i64,
) -> Result<Changes, ApiError> {
    let events = feed::read_after(&state.db.store(), after, batch)
        .await
        .map_err(ApiError::from_store)?;
    let read = events.len();
    let after = events.last().map_or(after, |e| e.position);
    let mut visible: HashMap<String, bool> = HashMap::new();
    let mut changes = Vec::new();
    for e in events {
        if e.aggregate_type != "grievance" {
            continue;
        }
        let sees = match visible.get(&e.aggregate_id) {
            Some(sees) => *sees,
            None => {
                let sees = match GrievanceId::parse(&e.aggregate_id) {
                    Ok(id) => super::grievances::visible(state, caller, id).await.is_ok(),
                    Err(_) => false,
                };
                visible.insert(e.aggregate_id.clone(), sees);
                sees
            }
        };
        if sees {
            changes.push(e);
        }
    }
    Ok(Changes {
        changes,
        after,
        read,
    })
}
