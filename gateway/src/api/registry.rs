//! The xiaoqu registry over HTTP: admins change it (`/admin/xiaoqu/…`);
//! anyone whose scope covers a xiaoqu reads its entry, and admins and
//! auditors read its history and where an organization acts
//! (`/registry/…`).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use chrono::{DateTime, Utc};
use lianxi_domain::registry::XiaoquState;
use lianxi_domain::values::{OrganizationId, XiaoquId};
use lianxi_domain::Actor;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::dto::PartyDto;
use super::error::{ApiError, Problem, PROBLEM};
use super::identity::{metadata, require_admin};
use super::json::{ApiJson, ApiQuery};
use super::request_id::RequestId;
use super::AppState;
use crate::app::admin::{self, PlacementRequest};
use crate::app::auth::Caller;
use crate::app::reads::{format_position, Position};
use crate::app::registry;
use crate::app::story::StoryEntry;

/// An organization acting as one of a xiaoqu's parties.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct PartyEntry {
    pub party: PartyDto,
    pub organization: Uuid,
    pub name: String,
    pub since: DateTime<Utc>,
}

/// A xiaoqu's registry entry.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct RegistryView {
    pub id: Uuid,
    /// The registry stream's last sequence number.
    pub version: u64,
    pub name: String,
    pub community: String,
    pub street: String,
    pub district: String,
    /// The organizations acting as its parties now.
    pub parties: Vec<PartyEntry>,
    pub registered_at: DateTime<Utc>,
    pub last_changed_at: DateTime<Utc>,
    /// The event feed's position when this was read; pass it as
    /// `min_position` to later reads.
    pub position: String,
    /// Always true: the registry is read from its streams, current whatever
    /// position is asked for.
    pub caught_up: bool,
}

/// A new name.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RenameRequest {
    /// 1–100 characters, unique among xiaoqu.
    pub name: String,
}

/// A new place in the hierarchy.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveRequest {
    pub community: String,
    pub street: String,
    pub district: String,
}

/// An organization to register as a party.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PartyRequest {
    /// `party_branch`, `owners_committee`, `supervisory_committee`,
    /// `property_company` or `micro_organization`.
    pub party: String,
    /// The organization's name, 1–100 characters.
    #[schema(example = "安居物业服务有限公司")]
    pub name: String,
    /// An organization already acting in other xiaoqu (a property company
    /// serving several); left out, a new organization id is made.
    pub organization: Option<Uuid>,
}

/// An organization to retire from a party.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetireRequest {
    pub party: String,
    pub organization: Uuid,
}

/// Where an organization acts.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct OrganizationView {
    pub organization: Uuid,
    pub serves: Vec<ServedXiaoqu>,
}

/// One xiaoqu an organization acts in.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ServedXiaoqu {
    pub xiaoqu: Uuid,
    pub party: String,
    pub name: String,
    pub since: DateTime<Utc>,
}

/// The escalation ladder as registered: districts, their streets, their
/// communities, their xiaoqu.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Hierarchy {
    pub districts: Vec<DistrictNode>,
    /// The event feed's position when this was read.
    pub position: String,
    /// Always true (see `RegistryView.caught_up`).
    pub caught_up: bool,
}

/// Query of the registry reads.
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RegistryQuery {
    /// A position from a command's answer. Accepted as by every read; the
    /// registry is current whatever is asked, so it never waits.
    pub min_position: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct DistrictNode {
    pub name: String,
    pub streets: Vec<StreetNode>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct StreetNode {
    pub name: String,
    pub communities: Vec<CommunityNode>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct CommunityNode {
    pub name: String,
    pub xiaoqu: Vec<XiaoquNode>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct XiaoquNode {
    pub id: Uuid,
    pub name: String,
}

/// A registry stream's history, actors as role and pseudonym.
#[derive(Debug, Serialize, ToSchema)]
pub struct RegistryHistory {
    pub xiaoqu: Uuid,
    pub entries: Vec<StoryEntry>,
}

fn view(state: &XiaoquState, version: usize, standing: (Position, bool)) -> RegistryView {
    RegistryView {
        position: format_position(standing.0),
        caught_up: standing.1,
        id: state.id.0,
        version: version as u64,
        name: state.name.as_str().to_owned(),
        community: state.placement.community.as_str().to_owned(),
        street: state.placement.street.as_str().to_owned(),
        district: state.placement.district.as_str().to_owned(),
        parties: state
            .parties
            .iter()
            .map(|p| PartyEntry {
                party: p.party.into(),
                organization: p.organization.0,
                name: p.name.as_str().to_owned(),
                since: p.since,
            })
            .collect(),
        registered_at: state.registered_at,
        last_changed_at: state.last_changed_at,
    }
}

fn admin_actor(caller: &Caller) -> Result<Actor, ApiError> {
    require_admin(caller)?;
    Ok(Actor::new(caller.0.id, caller.0.role))
}

/// The xiaoqu a path names, by id or by name; none: 404.
async fn xiaoqu_id(state: &AppState, id_or_name: &str) -> Result<XiaoquId, ApiError> {
    registry::find(state, id_or_name)
        .await
        .map_err(ApiError::from_db)?
        .map(|x| x.id)
        .ok_or_else(ApiError::not_found)
}

async fn changed(app: &AppState, state: (XiaoquState, usize)) -> Result<Response, ApiError> {
    let standing = registry::standing(app, None).await?;
    Ok((StatusCode::OK, Json(view(&state.0, state.1, standing))).into_response())
}

/// Rename a xiaoqu (admin only).
#[utoipa::path(
    post, path = "/api/v1/admin/xiaoqu/{id}/rename", tag = "registry",
    params(("id" = String, Path, description = "Xiaoqu id or name")),
    request_body = RenameRequest,
    responses(
        (status = 200, description = "Renamed", body = RegistryView),
        (status = 401, description = "No or bad token", body = Problem, content_type = PROBLEM),
        (status = 403, description = "Not an admin", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such xiaoqu", body = Problem, content_type = PROBLEM),
        (status = 409, description = "The name is taken", body = Problem, content_type = PROBLEM),
        (status = 422, description = "A field is invalid", body = Problem, content_type = PROBLEM),
    ),
    security(("bearer" = []))
)]
pub async fn rename(
    State(state): State<AppState>,
    Extension(request_id): Extension<RequestId>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<RenameRequest>,
) -> Result<Response, ApiError> {
    let actor = admin_actor(&caller)?;
    let id = xiaoqu_id(&state, &id).await?;
    let done = admin::rename_xiaoqu(
        &state,
        actor,
        &id.to_string(),
        &body.name,
        &metadata(&state, &request_id),
    )
    .await?;
    changed(&state, done).await
}

/// Attach a xiaoqu to another community, street or district (admin only).
#[utoipa::path(
    post, path = "/api/v1/admin/xiaoqu/{id}/move", tag = "registry",
    params(("id" = String, Path, description = "Xiaoqu id or name")),
    request_body = MoveRequest,
    responses(
        (status = 200, description = "Moved", body = RegistryView),
        (status = 401, description = "No or bad token", body = Problem, content_type = PROBLEM),
        (status = 403, description = "Not an admin", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such xiaoqu", body = Problem, content_type = PROBLEM),
        (status = 422, description = "A field is invalid", body = Problem, content_type = PROBLEM),
    ),
    security(("bearer" = []))
)]
pub async fn move_to(
    State(state): State<AppState>,
    Extension(request_id): Extension<RequestId>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<MoveRequest>,
) -> Result<Response, ApiError> {
    let actor = admin_actor(&caller)?;
    let id = xiaoqu_id(&state, &id).await?;
    let to = PlacementRequest {
        community: body.community,
        street: body.street,
        district: body.district,
    };
    let done = admin::move_xiaoqu(
        &state,
        actor,
        &id.to_string(),
        &to,
        &metadata(&state, &request_id),
    )
    .await?;
    changed(&state, done).await
}

/// Register an organization as one of a xiaoqu's parties (admin only).
#[utoipa::path(
    post, path = "/api/v1/admin/xiaoqu/{id}/parties", tag = "registry",
    params(("id" = String, Path, description = "Xiaoqu id or name")),
    request_body = PartyRequest,
    responses(
        (status = 200, description = "Registered", body = RegistryView),
        (status = 401, description = "No or bad token", body = Problem, content_type = PROBLEM),
        (status = 403, description = "Not an admin", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such xiaoqu", body = Problem, content_type = PROBLEM),
        (status = 409, description = "Another organization acts as that party", body = Problem, content_type = PROBLEM),
        (status = 422, description = "A field is invalid", body = Problem, content_type = PROBLEM),
    ),
    security(("bearer" = []))
)]
pub async fn add_party(
    State(state): State<AppState>,
    Extension(request_id): Extension<RequestId>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<PartyRequest>,
) -> Result<Response, ApiError> {
    let actor = admin_actor(&caller)?;
    let id = xiaoqu_id(&state, &id).await?;
    let request = admin::PartyRequest {
        party: body.party,
        name: body.name,
        organization: body.organization.map(|o| o.to_string()),
    };
    let (registry, _) = admin::register_party(
        &state,
        actor,
        &id.to_string(),
        &request,
        &metadata(&state, &request_id),
    )
    .await?;
    let (_, version) = crate::app::registry::entry(&state, &caller, id).await?;
    changed(&state, (registry, version)).await
}

/// An organization stops acting as a party of a xiaoqu (admin only).
#[utoipa::path(
    post, path = "/api/v1/admin/xiaoqu/{id}/parties/retirement", tag = "registry",
    params(("id" = String, Path, description = "Xiaoqu id or name")),
    request_body = RetireRequest,
    responses(
        (status = 200, description = "Retired", body = RegistryView),
        (status = 401, description = "No or bad token", body = Problem, content_type = PROBLEM),
        (status = 403, description = "Not an admin", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such xiaoqu", body = Problem, content_type = PROBLEM),
        (status = 422, description = "That organization does not act as that party", body = Problem, content_type = PROBLEM),
    ),
    security(("bearer" = []))
)]
pub async fn retire_party(
    State(state): State<AppState>,
    Extension(request_id): Extension<RequestId>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<RetireRequest>,
) -> Result<Response, ApiError> {
    let actor = admin_actor(&caller)?;
    let id = xiaoqu_id(&state, &id).await?;
    let done = admin::retire_party(
        &state,
        actor,
        &id.to_string(),
        &body.party,
        &body.organization.to_string(),
        &metadata(&state, &request_id),
    )
    .await?;
    changed(&state, done).await
}

/// A xiaoqu's registry entry: its place and its parties. Admins and
/// auditors read every entry; others the xiaoqu their scope covers.
#[utoipa::path(
    get, path = "/api/v1/registry/xiaoqu/{id}", tag = "registry", operation_id = "get_xiaoqu",
    params(("id" = String, Path, description = "Xiaoqu id or name"), RegistryQuery),
    responses(
        (status = 200, description = "The entry", body = RegistryView),
        (status = 400, description = "`min_position` is not a position", body = Problem, content_type = PROBLEM),
        (status = 401, description = "No or bad token", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such xiaoqu visible to the caller", body = Problem, content_type = PROBLEM),
    ),
    security(("bearer" = []))
)]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<RegistryQuery>,
) -> Result<Json<RegistryView>, ApiError> {
    let id = xiaoqu_id(&state, &id).await?;
    let standing = registry::standing(&state, query.min_position.as_deref()).await?;
    let (entry, version) = registry::entry(&state, &caller, id).await?;
    Ok(Json(view(&entry, version, standing)))
}

/// The hierarchy: districts → streets → communities → xiaoqu. Admins and
/// auditors read all of it; others the part their scope covers.
#[utoipa::path(
    get, path = "/api/v1/registry", tag = "registry",
    params(RegistryQuery),
    responses(
        (status = 200, description = "The hierarchy", body = Hierarchy),
        (status = 400, description = "`min_position` is not a position", body = Problem, content_type = PROBLEM),
        (status = 401, description = "No or bad token", body = Problem, content_type = PROBLEM),
    ),
    security(("bearer" = []))
)]
pub async fn hierarchy(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<RegistryQuery>,
) -> Result<Json<Hierarchy>, ApiError> {
    let (position, caught_up) = registry::standing(&state, query.min_position.as_deref()).await?;
    let mut tree = Hierarchy {
        districts: Vec::new(),
        position: format_position(position),
        caught_up,
    };
    for x in registry::places(&state, &caller).await? {
        // Rows arrive sorted, so each level's node is the last one or a new one.
        if tree.districts.last().is_none_or(|d| d.name != x.district) {
            tree.districts.push(DistrictNode {
                name: x.district.clone(),
                streets: Vec::new(),
            });
        }
        let Some(district) = tree.districts.last_mut() else {
            continue;
        };
        if district.streets.last().is_none_or(|s| s.name != x.street) {
            district.streets.push(StreetNode {
                name: x.street.clone(),
                communities: Vec::new(),
            });
        }
        let Some(street) = district.streets.last_mut() else {
            continue;
        };
        if street
            .communities
            .last()
            .is_none_or(|c| c.name != x.community)
        {
            street.communities.push(CommunityNode {
                name: x.community.clone(),
                xiaoqu: Vec::new(),
            });
        }
        if let Some(community) = street.communities.last_mut() {
            community.xiaoqu.push(XiaoquNode {
                id: x.id.0,
                name: x.name,
            });
        }
    }
    Ok(Json(tree))
}

/// Who changed a xiaoqu's registry entry, what and when (admins and auditors).
#[utoipa::path(
    get, path = "/api/v1/registry/xiaoqu/{id}/events", tag = "registry",
    params(("id" = String, Path, description = "Xiaoqu id or name")),
    responses(
        (status = 200, description = "Every change in order, actors as role and pseudonym", body = RegistryHistory),
        (status = 401, description = "No or bad token", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such xiaoqu visible to the caller", body = Problem, content_type = PROBLEM),
    ),
    security(("bearer" = []))
)]
pub async fn history(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<RegistryHistory>, ApiError> {
    let id = xiaoqu_id(&state, &id).await?;
    let entries = registry::history(&state, &caller, id).await?;
    Ok(Json(RegistryHistory {
        xiaoqu: id.0,
        entries,
    }))
}

/// Where an organization acts: a property company serving several xiaoqu
/// (admins and auditors).
#[utoipa::path(
    get, path = "/api/v1/registry/organizations/{id}", tag = "registry",
    params(("id" = Uuid, Path, description = "Organization id")),
    responses(
        (status = 200, description = "The xiaoqu it acts in", body = OrganizationView),
        (status = 401, description = "No or bad token", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such organization", body = Problem, content_type = PROBLEM),
    ),
    security(("bearer" = []))
)]
pub async fn organization(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<OrganizationView>, ApiError> {
    let id = OrganizationId::parse(&id).map_err(|_| ApiError::not_found())?;
    let rows = registry::organization(&state, &caller, id).await?;
    Ok(Json(OrganizationView {
        organization: id.0,
        serves: rows
            .into_iter()
            .map(|r| ServedXiaoqu {
                xiaoqu: r.xiaoqu.0,
                party: r.party,
                name: r.name,
                since: r.since,
            })
            .collect(),
    }))
}
