//! Reads of the grievance read model, the same for the JSON API, Open311
//! and the pages: the list a caller may see, a tier's escalation queue and
//! the public figures (三率). Each answers where the read model stood and
//! whether it had reached the `min_position` asked for.

use chrono::{DateTime, Utc};
use lianxi_domain::values::Tier;
use lianxi_domain::Role;
use lianxi_projections::figures;
use lianxi_projections::grievance_list::{self, Page, QueueItem};
use lianxi_projections::Position;

use super::auth::Caller;
use super::error::ApiError;
use super::{reads, AppState};

pub use lianxi_projections::figures::{Figures, Rate, Scope as FiguresScope};
pub use lianxi_projections::grievance_list::{Cursor, ListFilter};

/// What a read answers besides its items: where the read model stood and
/// whether it had reached the position asked for.
#[derive(Clone, Copy, Debug)]
pub struct Standing {
    pub position: Position,
    pub caught_up: bool,
}

impl Standing {
    async fn of(state: &AppState, min_position: Option<&str>) -> Result<Self, ApiError> {
        let (position, caught_up) =
            reads::at(&state.db.store(), &[grievance_list::NAME], min_position).await?;
        Ok(Self {
            position,
            caught_up,
        })
    }
}

/// The grievances `caller` may see that match `filter`, newest first.
pub async fn list(
    state: &AppState,
    caller: &Caller,
    filter: &ListFilter,
    after: Option<Cursor>,
    limit: i64,
    min_position: Option<&str>,
) -> Result<(Page, Standing), ApiError> {
    let standing = Standing::of(state, min_position).await?;
    let audience = super::grievances::audience(state, caller).await?;
    let page = grievance_list::list(&state.db.store(), &audience, filter, after, limit)
        .await
        .map_err(ApiError::from_store)?;
    Ok((page, standing))
}

/// The tier whose queue an account works: the party branch the xiaoqu's,
/// a government office its own; `None` for a role with no queue.
pub fn queue_tier(role: Role) -> Option<Tier> {
    match role {
        Role::PartyBranch => Some(Tier::Xiaoqu),
        other => other.tier(),
    }
}

/// A tier's escalation queue as one caller sees it.
#[derive(Debug)]
pub struct Queue {
    pub tier: Tier,
    /// The instant overdue times are counted from.
    pub now: DateTime<Utc>,
    pub items: Vec<QueueItem>,
    pub standing: Standing,
}

/// The open items of the caller's own tier, most overdue first (an auditor
/// may ask for any tier). Asking for another tier's queue is refused.
pub async fn queue(
    state: &AppState,
    caller: &Caller,
    asked: Option<Tier>,
    limit: i64,
    min_position: Option<&str>,
) -> Result<Queue, ApiError> {
    let own = match caller.0.role {
        Role::Auditor => asked.unwrap_or(Tier::Xiaoqu),
        role => queue_tier(role).ok_or_else(|| {
            ApiError::forbidden(format!("the role {role} has no escalation queue"))
        })?,
    };
    if asked.is_some_and(|asked| asked != own) {
        return Err(ApiError::forbidden(
            "an account sees the queue of its own tier",
        ));
    }
    let standing = Standing::of(state, min_position).await?;
    let now = state.now();
    let audience = super::grievances::audience(state, caller).await?;
    let items = grievance_list::queue(&state.db.store(), &audience, own as i64, limit)
        .await
        .map_err(ApiError::from_store)?;
    Ok(Queue {
        tier: own,
        now,
        items,
        standing,
    })
}

/// The public figures of the grievances filed in `scope`, as of now. No
/// caller: they hold no personal data.
pub async fn figures(
    state: &AppState,
    scope: &FiguresScope,
    min_position: Option<&str>,
) -> Result<(Figures, DateTime<Utc>, Standing), ApiError> {
    let standing = Standing::of(state, min_position).await?;
    let now = state.now();
    let f = figures::figures(&state.db.store(), scope, now)
        .await
        .map_err(ApiError::from_store)?;
    Ok((f, now, standing))
}
