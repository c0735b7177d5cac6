//! The public read of grievances, for civic apps that read without a key
//! (Open311), when the operator opens it (`LIANXI_OPEN311_PUBLIC_READ`);
//! closed by default.
//!
//! What it shows is decided here, not by an interface:
//!
//! - which grievances: those triaged as a major or minor matter. A private
//!   matter (私事, between individuals) is never shown, nor a grievance not
//!   yet triaged, which may still turn out to be private.
//! - what of them: the category, the status and tier, the running or
//!   paused deadline, the filing and last change times, and the xiaoqu's
//!   name. Never the filer (name, phone, room, account or pseudonym), and
//!   none of the text a filer typed: not the title or description (they
//!   often name people and homes), and not the building, unit or common
//!   area either (free text, which may name a room).
//!
//! A [`PublicGrievance`] is built from the state only here, so an interface
//! cannot show more than these fields.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use lianxi_domain::deadline::{Deadline, PausedDeadline};
use lianxi_domain::grievance::GrievanceState;
use lianxi_domain::values::{Category, GrievanceId, MatterClass, Tier, XiaoquId};
use lianxi_domain::Status;
use lianxi_projections::grievance_list::{self, Audience};

use super::error::ApiError;
use super::lists::{Cursor, ListFilter};
use super::AppState;

/// Leave to read publicly: only [`admit`] makes one, and only when the
/// operator opened the public read.
#[derive(Clone, Copy, Debug)]
pub struct Public(());

/// The public read, when this deployment has it open.
pub fn admit(state: &AppState) -> Option<Public> {
    state.public_read.then_some(Public(()))
}

/// Whether anyone may read `grievance` publicly: a triaged major or minor
/// matter.
pub fn is_public(grievance: &GrievanceState) -> bool {
    match grievance.matter_class {
        Some(MatterClass::Major | MatterClass::Minor) => true,
        Some(MatterClass::Private) | None => false,
    }
}

/// What anyone may know of a grievance: nothing that names or locates a
/// person.
#[derive(Clone, Debug)]
pub struct PublicGrievance {
    pub id: GrievanceId,
    pub category: Category,
    pub status: Status,
    pub tier: Tier,
    /// The xiaoqu's registered name: the only place given.
    pub xiaoqu_name: String,
    pub filed_at: DateTime<Utc>,
    pub last_changed_at: DateTime<Utc>,
    pub deadline: Option<Deadline>,
    pub paused: Option<PausedDeadline>,
}

/// A page of the public read, newest filed first.
#[derive(Debug)]
pub struct PublicPage {
    pub items: Vec<PublicGrievance>,
    pub next: Option<Cursor>,
}

/// The xiaoqu names of a read, each looked up once.
#[derive(Debug, Default)]
struct Names(HashMap<XiaoquId, String>);

impl Names {
    async fn of(&mut self, state: &AppState, xiaoqu: XiaoquId) -> Result<String, ApiError> {
        if let Some(name) = self.0.get(&xiaoqu) {
            return Ok(name.clone());
        }
        let name = state
            .db
            .xiaoqu(xiaoqu)
            .await
            .map_err(ApiError::from_db)?
            .map(|x| x.name)
            .unwrap_or_default();
        self.0.insert(xiaoqu, name.clone());
        Ok(name)
    }

    async fn shown(
        &mut self,
        state: &AppState,
        g: &GrievanceState,
    ) -> Result<PublicGrievance, ApiError> {
        Ok(PublicGrievance {
            id: g.id,
            category: g.category,
            status: g.status,
            tier: g.tier,
            xiaoqu_name: self.of(state, g.xiaoqu).await?,
            filed_at: g.filed_at,
            last_changed_at: g.last_changed_at,
            deadline: g.deadline,
            paused: g.paused,
        })
    }
}

/// The public grievances matching `filter`, newest filed first.
pub async fn list(
    state: &AppState,
    _: Public,
    filter: &ListFilter,
    after: Option<Cursor>,
    limit: i64,
) -> Result<PublicPage, ApiError> {
    let page = grievance_list::list(&state.db.store(), &Audience::Public, filter, after, limit)
        .await
        .map_err(ApiError::from_store)?;
    let mut names = Names::default();
    let mut items = Vec::with_capacity(page.items.len());
    for (g, _) in &page.items {
        // The read model's filter, checked again on the state shown.
        if is_public(g) {
            items.push(names.shown(state, g).await?);
        }
    }
    Ok(PublicPage {
        items,
        next: page.next,
    })
}

/// One public grievance, from the log; `404` for any other, as for one
/// that does not exist.
pub async fn one(
    state: &AppState,
    _: Public,
    id: GrievanceId,
) -> Result<PublicGrievance, ApiError> {
    let (grievance, _) = state.log.load(id).await?;
    match grievance.state() {
        Some(g) if is_public(g) => Names::default().shown(state, g).await,
        _ => Err(ApiError::not_found()),
    }
}
