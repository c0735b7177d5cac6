//! Micro-governance (五微工作法): micro-funds (微基金) of a xiaoqu or a
//! community, and the micro-projects (微项目) they pay for. The JSON API and
//! the pages call these functions; the rules (who proposes, reviews,
//! publishes, pays; when; the balance never below zero; spending only for
//! the fund's own projects under way) are the `MicroProject` and
//! `MicroFund` aggregates'.
//!
//! Who sees what: anyone whose scope covers a project's xiaoqu reads the
//! project; a fund is read by anyone whose scope covers its xiaoqu, or a
//! xiaoqu of its community. Proposers appear by role only; supporters and
//! raters are counted, commenters not named. The public board shows
//! projects and funds as listed, with no person at all.

use std::collections::BTreeMap;

use lianxi_domain::micro::{
    FundCommand, FundEntry, FundError, FundPlace, FundState, MicroFund, MicroProject,
    ProjectCommand, ProjectError, ProjectState,
};
use lianxi_domain::values::{FundId, ProjectId, XiaoquId};
use lianxi_domain::Actor;
use tracing::warn;

use super::auth::Caller;
use super::error::ApiError;
use super::grievances::covers;
use super::AppState;
use crate::app::dto::{wire, AttachmentDto};
use crate::db::{FundRow, ProjectRow, Scope};
use crate::event_log::{CommandMetadata, LoggedCommand};

pub mod funds;
pub mod projects;
mod wire;
pub use wire::*;

/// The micro-project streams.
pub type ProjectLog = crate::event_log::Log<MicroProject>;
/// The micro-fund streams.
pub type FundLog = crate::event_log::Log<MicroFund>;

impl LoggedCommand for ProjectCommand {
    fn actor(&self) -> Actor {
        self.actor
    }
    fn name(&self) -> &'static str {
        self.action.name()
    }
}

impl LoggedCommand for FundCommand {
    fn actor(&self) -> Actor {
        self.actor
    }
    fn name(&self) -> &'static str {
        self.action.name()
    }
}

impl From<ProjectError> for ApiError {
    fn from(e: ProjectError) -> Self {
        use axum::http::StatusCode;
        use ProjectError as E;
        let detail = e.to_string();
        let rule = |title: &'static str| {
            Self::new(StatusCode::UNPROCESSABLE_ENTITY, "rule-violated", title)
                .with_detail(detail.clone())
        };
        match e {
            E::RoleNotAllowed(_) | E::NotTheProposer => Self::forbidden(detail),
            E::OutsideScope | E::NotProposed => Self::not_found(),
            E::AlreadyProposed => {
                Self::conflict("already-exists", "The resource already exists", detail)
            }
            E::WrongStatus { .. } => Self::conflict(
                "invalid-transition",
                "The project's status does not allow this command",
                detail,
            ),
            E::NoBudget => Self::invalid_field("budget_fen", detail),
            E::FundElsewhere => Self::invalid_field("fund", detail),
            E::CommentPeriodPast => Self::invalid_field("comments_until", detail),
            E::CommentPeriodOpen => rule("The public comment period has not ended"),
            E::NotTakingComments => rule("Comments are taken only during the public notice"),
            E::NoReceipts => Self::invalid_field("receipts", detail),
        }
    }
}

impl From<FundError> for ApiError {
    fn from(e: FundError) -> Self {
        use axum::http::StatusCode;
        use FundError as E;
        let detail = e.to_string();
        match e {
            E::RoleNotAllowed(_) => Self::forbidden(detail),
            E::OutsideScope | E::NotOpen => Self::not_found(),
            E::AlreadyOpen => {
                Self::conflict("already-exists", "The resource already exists", detail)
            }
            E::NoAmount => Self::invalid_field("amount_fen", detail),
            E::NoProject | E::OtherFundsProject => Self::invalid_field("project", detail),
            E::ProjectNotApproved => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "rule-violated",
                "A fund pays only for its projects approved and under way",
            )
            .with_detail(detail),
            E::Insufficient { .. } => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "rule-violated",
                "The fund holds less than this",
            )
            .with_detail(detail),
        }
    }
}

fn metadata(state: &AppState, request_id: &str) -> CommandMetadata {
    CommandMetadata {
        request_id: request_id.to_owned(),
        occurred_at: state.now(),
        reason: None,
    }
}

pub fn parse_project_id(id: &str) -> Result<ProjectId, ApiError> {
    ProjectId::parse(id).map_err(|_| ApiError::not_found())
}

pub fn parse_fund_id(id: &str) -> Result<FundId, ApiError> {
    FundId::parse(id).map_err(|_| ApiError::not_found())
}

/// `xiaoqu` or `community`, and the place as the table keeps it.
fn place_key(place: &FundPlace) -> (&'static str, String) {
    match place {
        FundPlace::Xiaoqu(x) => ("xiaoqu", x.0.to_string()),
        FundPlace::Community(name) => ("community", name.as_str().to_owned()),
    }
}

/// Whether `caller`'s scope covers `place`: its xiaoqu, or any xiaoqu of
/// its community (a community account: its own community).
async fn covers_place(
    state: &AppState,
    caller: &Caller,
    place: &FundPlace,
) -> Result<bool, ApiError> {
    let community = match place {
        FundPlace::Xiaoqu(x) => return covers(state, caller, *x).await,
        FundPlace::Community(name) => name.as_str(),
    };
    Ok(match &caller.0.scope {
        Scope::Global => true,
        Scope::Xiaoqu(x) => state
            .db
            .xiaoqu(*x)
            .await
            .map_err(ApiError::from_db)?
            .is_some_and(|r| r.community == community),
        Scope::Unit(_) | Scope::Organization(_) => {
            let all = state.db.all_xiaoqu().await.map_err(ApiError::from_db)?;
            let places = super::grievances::organization_places(state, caller).await?;
            all.iter()
                .filter(|r| r.community == community)
                .any(|r| super::policy::scope_covers(&caller.0, r) || places.contains(&r.id.0))
        }
    })
}

/// Whether `fund` may pay for projects of `xiaoqu`: a fund of the xiaoqu
/// itself, or of its community.
async fn serves(state: &AppState, fund: &FundState, xiaoqu: XiaoquId) -> Result<bool, ApiError> {
    Ok(match &fund.place {
        FundPlace::Xiaoqu(x) => *x == xiaoqu,
        FundPlace::Community(name) => state
            .db
            .xiaoqu(xiaoqu)
            .await
            .map_err(ApiError::from_db)?
            .is_some_and(|r| r.community == name.as_str()),
    })
}

fn fen(amount: u64) -> i64 {
    i64::try_from(amount).unwrap_or(i64::MAX)
}

fn attachment_dto(a: &lianxi_domain::values::Attachment) -> AttachmentDto {
    AttachmentDto {
        sha256: a.sha256.as_str().to_owned(),
        media_type: a.media_type.as_str().to_owned(),
        size: a.size,
    }
}

/// A fund's entries with the balance after each; `only` keeps those of
/// one project.
fn entries(fund: &FundState, only: Option<ProjectId>) -> Vec<FundEntryView> {
    let mut balance = 0u64;
    let mut out = Vec::new();
    for entry in &fund.entries {
        let view = match entry {
            FundEntry::Received {
                amount,
                source,
                project,
                at,
            } => {
                balance += amount;
                let (kind, name) = source_parts(source);
                FundEntryView {
                    entry: "received".into(),
                    amount_fen: *amount,
                    source: Some(kind),
                    name,
                    project: project.map(|p| p.0),
                    purpose: None,
                    receipt: None,
                    receipt_href: None,
                    balance_fen: balance,
                    at: *at,
                }
            }
            FundEntry::Spent {
                amount,
                project,
                purpose,
                receipt,
                at,
                ..
            } => {
                balance = balance.saturating_sub(*amount);
                FundEntryView {
                    entry: "spent".into(),
                    amount_fen: *amount,
                    source: None,
                    name: None,
                    project: Some(project.0),
                    purpose: Some(purpose.as_str().to_owned()),
                    receipt: Some(attachment_dto(receipt)),
                    receipt_href: Some(format!(
                        "/api/v1/micro-funds/{}/files/{}",
                        fund.id.0,
                        receipt.sha256.as_str()
                    )),
                    balance_fen: balance,
                    at: *at,
                }
            }
        };
        if only.is_none() || view.project == only.map(|p| p.0) && view.entry == "spent" {
            out.push(view);
        }
    }
    out
}

/// What the fund paid for each of its projects.
fn spent_by_project(fund: &FundState) -> BTreeMap<ProjectId, u64> {
    let mut by = BTreeMap::new();
    for entry in &fund.entries {
        if let FundEntry::Spent {
            amount, project, ..
        } = entry
        {
            *by.entry(*project).or_insert(0) += amount;
        }
    }
    by
}

fn fund_summary(f: &FundState) -> FundSummary {
    let (place_kind, place) = place_key(&f.place);
    FundSummary {
        id: f.id.0,
        place_kind: place_kind.to_owned(),
        place,
        name: f.name.as_str().to_owned(),
        kind: (&f.kind).into(),
        received_fen: f.received,
        spent_fen: f.spent,
        balance_fen: f.balance(),
        opened_at: f.opened_at,
    }
}

fn fund_summary_of_row(r: FundRow) -> Option<FundSummary> {
    let kind = match r.kind.as_str() {
        "named" => FundKindDto::Named,
        "crowd" => FundKindDto::Crowd,
        other => {
            warn!(fund = %r.id.0, kind = other, "unknown kind in micro_funds");
            return None;
        }
    };
    let received = u64::try_from(r.received).unwrap_or(0);
    let spent = u64::try_from(r.spent).unwrap_or(0);
    Some(FundSummary {
        id: r.id.0,
        place_kind: r.place_kind,
        place: r.place,
        name: r.name,
        kind,
        received_fen: received,
        spent_fen: spent,
        balance_fen: received.saturating_sub(spent),
        opened_at: r.opened_at,
    })
}

fn project_row(p: &ProjectState, version: usize) -> ProjectRow {
    ProjectRow {
        id: p.id,
        fund: p.fund,
        xiaoqu: p.xiaoqu,
        title: p.title.as_str().to_owned(),
        status: p.status.as_str().to_owned(),
        budget: fen(p.budget),
        spent: 0,
        supporters: p.supporters.len() as i64,
        rating: p.mean_rating().map(i64::from),
        ratings: p.ratings.len() as i64,
        proposed_at: p.proposed_at,
        closed_at: p.closed_at,
        version: version as i64,
    }
}

fn project_summary_of_row(r: ProjectRow) -> Option<ProjectSummary> {
    let status = serde_json::from_value(serde_json::Value::String(r.status.clone()));
    let Ok(status) = status else {
        warn!(project = %r.id.0, status = %r.status, "unknown status in micro_projects");
        return None;
    };
    Some(ProjectSummary {
        id: r.id.0,
        fund: r.fund.0,
        xiaoqu: r.xiaoqu.0,
        title: r.title,
        status,
        budget_fen: u64::try_from(r.budget).unwrap_or(0),
        spent_fen: u64::try_from(r.spent).unwrap_or(0),
        supporters: u64::try_from(r.supporters).unwrap_or(0),
        rating: r.rating.map(|h| h as f64 / 100.0),
        ratings: u64::try_from(r.ratings).unwrap_or(0),
        proposed_at: r.proposed_at,
        closed_at: r.closed_at,
    })
}

/// The projects of `xiaoqu` and the funds serving it, as listed: what the
/// public board shows (no person).
pub async fn board(
    state: &AppState,
    xiaoqu: XiaoquId,
) -> Result<(Vec<ProjectSummary>, Vec<FundSummary>), ApiError> {
    let projects = state
        .db
        .projects_of(xiaoqu)
        .await
        .map_err(ApiError::from_db)?
        .into_iter()
        .filter_map(project_summary_of_row)
        .collect();
    let funds = funds::serving(state, xiaoqu).await?;
    Ok((projects, funds))
}

/// Rewrites `micro_funds` and `micro_projects` from every stream; how many
/// rows. `lianxi serve` runs it at start, repairing what a crash between a
/// command and its row left behind.
pub async fn reconcile(state: &AppState) -> Result<usize, String> {
    let mut synced = 0;
    let ids = state
        .db
        .stream_ids(<MicroProject as cqrs_es::Aggregate>::TYPE)
        .await
        .map_err(|e| e.to_string())?;
    for id in ids {
        let (project, version) = state
            .projects
            .load(ProjectId(id))
            .await
            .map_err(|e| e.to_string())?;
        if let Some(p) = project.state() {
            match state.db.upsert_project(&project_row(p, version)).await {
                Ok(()) => synced += 1,
                Err(e) => {
                    warn!(project = %id, error = %e, "cannot bring micro_projects up to date")
                }
            }
        }
    }
    let ids = state
        .db
        .stream_ids(<MicroFund as cqrs_es::Aggregate>::TYPE)
        .await
        .map_err(|e| e.to_string())?;
    for id in ids {
        let (fund, version) = state
            .funds
            .load(FundId(id))
            .await
            .map_err(|e| e.to_string())?;
        if let Some(f) = fund.state() {
            match funds::sync(state, f, version).await {
                Ok(()) => synced += 1,
                Err(e) => warn!(fund = %id, error = ?e, "cannot bring micro_funds up to date"),
            }
        }
    }
    Ok(synced)
}

/// The history of a project or fund stream for auditors and admins: every
/// event in order with its chain hash and people as pseudonyms.
async fn story_of(
    state: &AppState,
    aggregate_type: &'static str,
    id: uuid::Uuid,
) -> Result<Vec<super::story::StoryEntry>, ApiError> {
    let stream = super::story::StreamRef { aggregate_type, id };
    super::story::story(state, &[stream])
        .await
        .map_err(ApiError::from_db)
}

/// A stored file (a receipt) for a download.
async fn download(
    state: &AppState,
    uploader: lianxi_domain::values::AccountId,
    file: &lianxi_domain::values::Attachment,
) -> Result<super::attachments::Download, ApiError> {
    let sha256 = file.sha256.as_str();
    let bytes = state
        .files
        .get(uploader.0, sha256, false)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "file store error");
            ApiError::unavailable("the file store is not reachable")
        })?
        .ok_or_else(|| ApiError::gone("the file is no longer stored"))?;
    let media_type = file.media_type.as_str();
    Ok(super::attachments::Download {
        bytes,
        media_type: media_type.to_owned(),
        file_name: format!(
            "{}.{}",
            &sha256[..sha256.len().min(16)],
            super::attachments::extension_of(media_type)
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fund_place_is_kept_as_its_kind_and_its_id_or_name() {
        let x = XiaoquId(uuid::Uuid::from_u128(7));
        assert_eq!(
            place_key(&FundPlace::Xiaoqu(x)),
            ("xiaoqu", x.0.to_string())
        );
        let name = lianxi_domain::values::PlaceName::parse("城厢社区").expect("name");
        assert_eq!(
            place_key(&FundPlace::Community(name)),
            ("community", "城厢社区".to_owned())
        );
    }
}
