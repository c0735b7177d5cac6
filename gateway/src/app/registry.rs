//! The xiaoqu registry: commands on the `XiaoquRegistry` streams, and the
//! tables kept from them (`xiaoqu`, read by every scope check, and
//! `xiaoqu_parties`).
//!
//! The stream is the truth; the tables are written right after each change
//! so that the next request (an account for the new xiaoqu, say) sees it.
//! [`reconcile`] repairs what a crash between the two left behind, and
//! records xiaoqu registered before the registry existed: `lianxi serve`
//! runs it at start.

use lianxi_domain::registry::{
    Placement, RegistryAction, RegistryCommand, RegistryError, XiaoquRegistry, XiaoquState,
};
use lianxi_domain::values::{PlaceName, XiaoquId};
use lianxi_domain::{Actor, Role};
use tracing::{info, warn};

use lianxi_domain::values::OrganizationId;

use super::auth::Caller;
use super::error::ApiError;
use super::story::{StoryEntry, StreamRef};
use super::{policy, AppState, SYSTEM_ACCOUNT};
use crate::db::{Database, DbError, NewXiaoqu, PartyRow};

use super::dto::wire;
pub use crate::db::XiaoquRecord;
use crate::event_log::{CommandError, CommandMetadata, Log};

/// The registry's event log.
pub type RegistryLog = Log<XiaoquRegistry>;

/// Errors of registry commands.
pub type RegistryCommandError = CommandError<RegistryError>;

/// Writes the tables from a xiaoqu's registry state.
pub async fn sync(db: &Database, state: &XiaoquState) -> Result<(), DbError> {
    db.upsert_xiaoqu(
        state.id,
        &NewXiaoqu {
            name: state.name.as_str().to_owned(),
            community: state.placement.community.as_str().to_owned(),
            street: state.placement.street.as_str().to_owned(),
            district: state.placement.district.as_str().to_owned(),
        },
    )
    .await?;
    let parties: Vec<PartyRow> = state
        .parties
        .iter()
        .map(|p| PartyRow {
            xiaoqu: state.id,
            party: wire(&p.party),
            organization: p.organization,
            name: p.name.as_str().to_owned(),
            since: p.since,
        })
        .collect();
    db.replace_parties(state.id, &parties).await
}

/// Runs a registry command on xiaoqu `id` and brings the tables up to date.
pub async fn execute(
    db: &Database,
    log: &RegistryLog,
    id: XiaoquId,
    expected: Option<usize>,
    command: RegistryCommand,
    metadata: &CommandMetadata,
) -> Result<(XiaoquState, usize), RegistryCommandError> {
    let committed = log.execute(id, expected, command, metadata).await?;
    let state = committed
        .state
        .state()
        .cloned()
        .ok_or_else(|| CommandError::Store("the registry stream holds no xiaoqu".into()))?;
    sync(db, &state)
        .await
        .map_err(|e| CommandError::Store(e.to_string()))?;
    Ok((state, committed.version))
}

/// Records xiaoqu `id` of the table in the registry (as the service,
/// `system`) if it has no stream yet: a xiaoqu registered before the
/// registry kept events. Returns whether it did.
pub async fn record_if_missing(
    db: &Database,
    log: &RegistryLog,
    id: XiaoquId,
) -> Result<bool, RegistryCommandError> {
    let (registry, version) = log.load(id).await?;
    if version > 0 || registry.state().is_some() {
        return Ok(false);
    }
    let Some(row) = db
        .xiaoqu(id)
        .await
        .map_err(|e| CommandError::Store(e.to_string()))?
    else {
        return Ok(false);
    };
    let name = |field: &str, value: &str| {
        PlaceName::parse(value)
            .map_err(|e| CommandError::Store(format!("xiaoqu {id} {field}: {e}")))
    };
    let action = RegistryAction::RegisterXiaoqu {
        xiaoqu: id,
        name: name("name", &row.name)?,
        placement: Placement {
            community: name("community", &row.community)?,
            street: name("street", &row.street)?,
            district: name("district", &row.district)?,
        },
    };
    let metadata = CommandMetadata {
        request_id: format!("registry-{id}"),
        occurred_at: log.services().clock.now(),
        reason: Some("registered before the registry kept events".into()),
    };
    let command = RegistryCommand::new(Actor::new(SYSTEM_ACCOUNT, Role::System), action);
    match log.execute(id, Some(0), command, &metadata).await {
        Ok(_) => Ok(true),
        // Another instance recorded it a moment ago.
        Err(CommandError::Stale { .. } | CommandError::Conflict) => Ok(false),
        Err(e) => Err(e),
    }
}

/// What [`reconcile`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Reconciled {
    /// Xiaoqu of the table that had no registry stream, now recorded.
    pub recorded: usize,
    /// Streams whose tables were rewritten.
    pub synced: usize,
}

/// Records every xiaoqu of the table that has no stream yet (as the
/// service, `system`), then rewrites the tables from every stream.
pub async fn reconcile(state: &AppState) -> Result<Reconciled, String> {
    let (db, log) = (&state.db, &*state.registry);
    let mut done = Reconciled::default();
    for id in db.xiaoqu_ids().await.map_err(|e| e.to_string())? {
        if record_if_missing(db, log, id)
            .await
            .map_err(|e| e.to_string())?
        {
            done.recorded += 1;
        }
    }
    for stream in db
        .stream_ids(<XiaoquRegistry as cqrs_es::Aggregate>::TYPE)
        .await
        .map_err(|e| e.to_string())?
    {
        let (registry, _) = log
            .load(XiaoquId(stream))
            .await
            .map_err(|e| e.to_string())?;
        if let Some(state) = registry.state() {
            match sync(db, state).await {
                Ok(()) => done.synced += 1,
                Err(e) => {
                    warn!(xiaoqu = %stream, error = %e, "cannot bring the registry tables up to date")
                }
            }
        }
    }
    if done.recorded > 0 {
        info!(
            recorded = done.recorded,
            "xiaoqu registered before the registry kept events are now in it"
        );
    }
    Ok(done)
}

/// Where a registry read stands. The registry is read from its streams
/// and the tables written before a command answers, so it is current
/// whatever position is asked for: `caught_up` is always true. The position
/// is the feed's commit-safe head; `min_position` is still checked, so that
/// clients pass it to every read alike.
pub async fn standing(
    state: &AppState,
    min_position: Option<&str>,
) -> Result<(super::reads::Position, bool), ApiError> {
    if let Some(p) = min_position {
        super::reads::parse_position(p).ok_or_else(|| {
            ApiError::bad_query("min_position", "must be a position such as \"0.42\"")
        })?;
    }
    Ok((super::reads::head(state).await?, true))
}

/// Whether the caller reads every registry entry (admins and auditors).
fn reads_everything(caller: &Caller) -> bool {
    matches!(caller.0.role, Role::Admin | Role::Auditor)
}

/// The xiaoqu a request's field or parameter names, by id or by name;
/// `None` when not given. One that names no xiaoqu (or is empty) is refused
/// as `field`
/// (`400 invalid-query` for a query parameter, else `422 invalid-field`).
pub async fn named(
    state: &AppState,
    field: &str,
    given: Option<&str>,
    in_query: bool,
) -> Result<Option<XiaoquId>, ApiError> {
    let Some(text) = given.map(str::trim) else {
        return Ok(None);
    };
    let found = if text.is_empty() {
        None // given, but empty: it names nothing
    } else {
        find(state, text).await.map_err(ApiError::from_db)?
    };
    match found {
        Some(x) => Ok(Some(x.id)),
        None if in_query => Err(ApiError::bad_query(
            field,
            "names no xiaoqu (an id or a name)",
        )),
        None => Err(ApiError::invalid_field(
            field,
            "names no xiaoqu (an id or a name)",
        )),
    }
}

/// The xiaoqu named by `id_or_name`: its id, or its registered name.
pub async fn find(state: &AppState, id_or_name: &str) -> Result<Option<XiaoquRecord>, DbError> {
    state.db.find_xiaoqu(id_or_name.trim()).await
}

/// Xiaoqu `id`'s registry entry and its version. Admins and auditors read
/// every entry; others the xiaoqu their scope covers (else 404).
pub async fn entry(
    state: &AppState,
    caller: &Caller,
    id: XiaoquId,
) -> Result<(XiaoquState, usize), ApiError> {
    if !reads_everything(caller) && !super::grievances::covers(state, caller, id).await? {
        return Err(ApiError::not_found());
    }
    record_if_missing(&state.db, &state.registry, id).await?;
    let (registry, version) = state.registry.load(id).await?;
    let entry = registry.state().cloned().ok_or_else(ApiError::not_found)?;
    Ok((entry, version))
}

/// The xiaoqu the caller may see in the hierarchy, sorted by district,
/// street, community and name.
pub async fn places(state: &AppState, caller: &Caller) -> Result<Vec<XiaoquRecord>, ApiError> {
    let everything = reads_everything(caller);
    // An organization's xiaoqu are the registry's to say.
    let served = super::grievances::organization_places(state, caller).await?;
    Ok(state
        .db
        .all_xiaoqu()
        .await
        .map_err(ApiError::from_db)?
        .into_iter()
        .filter(|x| everything || served.contains(&x.id.0) || policy::scope_covers(&caller.0, x))
        .collect())
}

/// Who changed xiaoqu `id`'s entry, what and when (admins and auditors;
/// else, or when it has no stream, 404).
pub async fn history(
    state: &AppState,
    caller: &Caller,
    id: XiaoquId,
) -> Result<Vec<StoryEntry>, ApiError> {
    if !reads_everything(caller) {
        return Err(ApiError::not_found());
    }
    let stream = StreamRef {
        aggregate_type: <XiaoquRegistry as cqrs_es::Aggregate>::TYPE,
        id: id.0,
    };
    let entries = super::story::story(state, &[stream])
        .await
        .map_err(ApiError::from_db)?;
    if entries.is_empty() {
        return Err(ApiError::not_found());
    }
    Ok(entries)
}

/// Where organization `id` acts (admins and auditors; else, or when it
/// acts nowhere, 404).
pub async fn organization(
    state: &AppState,
    caller: &Caller,
    id: OrganizationId,
) -> Result<Vec<PartyRow>, ApiError> {
    if !reads_everything(caller) {
        return Err(ApiError::not_found());
    }
    let rows = state
        .db
        .organization_parties(id)
        .await
        .map_err(ApiError::from_db)?;
    if rows.is_empty() {
        return Err(ApiError::not_found());
    }
    Ok(rows)
}
