//! Owners deciding together (业主共同决定): the owners' register of each
//! xiaoqu ([`register`]: imported from a CSV file, its units and areas) and
//! the owners' votes put to it. The JSON API and the pages call these
//! functions; the rules (who opens, who casts, when, the Civil Code's
//! thresholds) are the `OwnersVote` and `OwnersRegister` aggregates'.
//!
//! Who sees what: anyone whose scope covers a vote's xiaoqu reads the vote
//! and, once it is closed, its tally; how a unit voted is shown to nobody
//! but an owner of that unit (`my_units`), and the story of a vote shows
//! ballots without their choices.

use chrono::{DateTime, Utc};
use lianxi_domain::owners_register::{OwnersRegister, RegisterCommand, RegisterError};
use lianxi_domain::owners_vote::{
    Count, Holder, OwnersVote, VoteAction, VoteCommand, VoteError, VoteProposal, VoteState,
};
use lianxi_domain::registry::XiaoquRegistry;
use lianxi_domain::values::{PartyRole, Statement, Title, UnitId, VoteId, XiaoquId};
use lianxi_domain::Actor;
use tracing::warn;
use uuid::Uuid;

use super::auth::Caller;
use super::error::ApiError;
use super::grievances::{actor, checked, covers, Fields};
use super::AppState;
use crate::app::dto::wire;
use crate::db::{Scope, VoteRow};
use crate::event_log::{CommandMetadata, Committed, LoggedCommand};

pub mod register;
mod wire;
pub use wire::*;

/// The owners' vote streams.
pub type VoteLog = crate::event_log::Log<OwnersVote>;
/// The owners' register streams, one per xiaoqu.
pub type RegisterLog = crate::event_log::Log<OwnersRegister>;

impl LoggedCommand for VoteCommand {
    fn actor(&self) -> Actor {
        self.actor
    }
    fn name(&self) -> &'static str {
        self.action.name()
    }
}

impl LoggedCommand for RegisterCommand {
    fn actor(&self) -> Actor {
        self.actor
    }
    fn name(&self) -> &'static str {
        "import_register"
    }
}

impl From<VoteError> for ApiError {
    fn from(e: VoteError) -> Self {
        use axum::http::StatusCode;
        use VoteError as E;
        let detail = e.to_string();
        let rule = |title: &'static str| {
            Self::new(StatusCode::UNPROCESSABLE_ENTITY, "rule-violated", title)
                .with_detail(detail.clone())
        };
        match e {
            E::RoleNotAllowed(_) | E::CommitteeOpensVotes | E::NotAnOwner => {
                Self::forbidden(detail)
            }
            E::OutsideScope | E::NotOpen => Self::not_found(),
            E::AlreadyOpen => {
                Self::conflict("already-exists", "The resource already exists", detail)
            }
            E::Closed | E::StillOpen => Self::conflict(
                "invalid-transition",
                "The vote's status does not allow this command",
                detail,
            ),
            E::OutsideWindow => rule("Ballots are taken only while the voting window is open"),
            E::ChannelNotOffered => rule("This vote takes no ballots by this channel"),
            E::BadWindow => Self::invalid_field("closes_at", detail),
            E::NoChannel => Self::invalid_field("online", detail),
            E::BadRegister => Self::invalid_field(
                "xiaoqu",
                "the xiaoqu has no owners' register yet: import it first",
            ),
            E::BadThresholds => Self::invalid_field("thresholds", detail),
            E::UnknownUnit => Self::invalid_field("unit", detail),
        }
    }
}

impl From<RegisterError> for ApiError {
    fn from(e: RegisterError) -> Self {
        use RegisterError as E;
        let detail = e.to_string();
        match e {
            E::RoleNotAllowed(_) => Self::forbidden(detail),
            E::OutsideScope => Self::not_found(),
            E::NothingToImport | E::TooManyRows => Self::invalid_field("file", detail),
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

pub fn parse_vote_id(id: &str) -> Result<VoteId, ApiError> {
    VoteId::parse(id).map_err(|_| ApiError::not_found())
}

/// The xiaoqu a request names (by id or name), or the caller's own; 422
/// (or 400 for a query) when it names none or one outside the caller's scope.
pub(crate) async fn target_xiaoqu(
    state: &AppState,
    caller: &Caller,
    given: Option<&str>,
    in_query: bool,
) -> Result<XiaoquId, ApiError> {
    let named = super::registry::named(state, "xiaoqu", given, in_query).await?;
    let bad = |reason: &str| {
        if in_query {
            ApiError::bad_query("xiaoqu", reason)
        } else {
            ApiError::invalid_field("xiaoqu", reason)
        }
    };
    match (named, &caller.0.scope) {
        (None, Scope::Xiaoqu(own)) => Ok(*own),
        (None, _) => Err(bad("name the xiaoqu")),
        (Some(x), _) if covers(state, caller, x).await? => Ok(x),
        (Some(_), _) => Err(bad("no such xiaoqu in the caller's scope")),
    }
}

/// Loads a vote whose xiaoqu the caller's scope covers; 404 otherwise.
async fn visible(
    state: &AppState,
    caller: &Caller,
    id: VoteId,
) -> Result<(VoteState, usize), ApiError> {
    let (vote, version) = state.votes.load(id).await?;
    let vote = vote.state().cloned().ok_or_else(ApiError::not_found)?;
    if covers(state, caller, vote.proposal.xiaoqu).await? {
        Ok((vote, version))
    } else {
        Err(ApiError::not_found())
    }
}

/// `scheduled`, `open`, `awaiting_close` or `closed`.
fn status(
    opens_at: DateTime<Utc>,
    closes_at: DateTime<Utc>,
    closed: bool,
    now: DateTime<Utc>,
) -> &'static str {
    if closed {
        "closed"
    } else if now < opens_at {
        "scheduled"
    } else if now < closes_at {
        "open"
    } else {
        "awaiting_close"
    }
}

fn outcome_name(vote: &VoteState) -> Option<String> {
    vote.tally.as_ref().map(|t| TallyDto::from(t).outcome)
}

/// The vote as `caller` may see it: everything but other owners' ballots.
pub async fn vote_view(
    state: &AppState,
    caller: &Caller,
    v: &VoteState,
    version: usize,
) -> Result<VoteView, ApiError> {
    let now = state.now();
    let p = &v.proposal;
    let mine: Vec<_> = p
        .register
        .units
        .iter()
        .filter(|u| matches!(&u.holder, Holder::Owners(o) if o.contains(&caller.0.id)))
        .collect();
    let addresses = if mine.is_empty() {
        Default::default()
    } else {
        register::addresses(state, p.xiaoqu).await?
    };
    let my_units = mine
        .into_iter()
        .map(|u| OwnUnit {
            unit: u.unit.0,
            address: addresses.get(&u.unit).cloned().unwrap_or_default(),
            area_m2: u.area as f64 / 100.0,
            ballot: v.ballots.get(&u.unit).map(|b| OwnBallot {
                choice: b.choice.into(),
                channel: channel_name(b.channel).to_owned(),
                at: b.at,
                counted: v.tally.is_some(),
            }),
        })
        .collect();
    let register = Count {
        area: p.register.units.iter().map(|u| u.area).sum(),
        owners: v.count_now().register.owners,
    };
    Ok(VoteView {
        id: v.id.0,
        version: version as u64,
        xiaoqu: p.xiaoqu.0,
        matter: p.matter.into(),
        special: p.matter.is_special(),
        question: p.question.as_str().to_owned(),
        explanation: p.explanation.as_str().to_owned(),
        opens_at: p.opens_at,
        closes_at: p.closes_at,
        online: p.online,
        paper: p.paper,
        thresholds: ThresholdsDto {
            participation: v.thresholds.participation.into(),
            special: v.thresholds.special.into(),
            ordinary: v.thresholds.ordinary.into(),
        },
        status: status(p.opens_at, p.closes_at, v.tally.is_some(), now).to_owned(),
        opened_by: wire(&v.opened_by),
        opened_at: v.opened_at,
        register: register.into(),
        units: p.register.units.len() as u64,
        ballots: v.ballots.len() as u64,
        tally: v.tally.as_ref().map(TallyDto::from),
        closed_at: v.closed_at,
        my_units,
    })
}

/// Brings the vote's row of `owners_votes` up to date.
async fn sync(state: &AppState, v: &VoteState) -> Result<(), ApiError> {
    let p = &v.proposal;
    let row = VoteRow {
        id: v.id,
        xiaoqu: p.xiaoqu,
        matter: wire(&MatterDto::from(p.matter)),
        question: p.question.as_str().to_owned(),
        opens_at: p.opens_at,
        closes_at: p.closes_at,
        closed_at: v.closed_at,
        outcome: outcome_name(v),
    };
    state.db.upsert_vote(&row).await.map_err(ApiError::from_db)
}

async fn committed_view(
    state: &AppState,
    caller: &Caller,
    committed: &Committed<OwnersVote>,
) -> Result<(VoteView, usize), ApiError> {
    let v = committed.state.state().ok_or_else(ApiError::internal)?;
    // The listed row changes only when the vote opens or closes, not with
    // each ballot.
    let opened_now = committed.appended > 0 && committed.version == committed.appended;
    if opened_now || (committed.appended > 0 && v.tally.is_some()) {
        sync(state, v).await?;
    }
    Ok((
        vote_view(state, caller, v, committed.version).await?,
        committed.version,
    ))
}

/// Whether the registry says the xiaoqu has an owners' committee.
async fn has_committee(state: &AppState, xiaoqu: XiaoquId) -> Result<bool, ApiError> {
    let (registry, _): (XiaoquRegistry, usize) = state.registry.load(xiaoqu).await?;
    Ok(registry.state().is_some_and(|x| {
        x.parties
            .iter()
            .any(|p| p.party == PartyRole::OwnersCommittee)
    }))
}

/// Opens a vote of the caller's xiaoqu on the register as it stands.
pub async fn open(
    state: &AppState,
    caller: &Caller,
    request_id: &str,
    body: &OpenVoteRequest,
) -> Result<(VoteView, usize), ApiError> {
    let xiaoqu = target_xiaoqu(state, caller, body.xiaoqu.as_deref(), false).await?;
    let mut fields = Fields::default();
    let question = fields.check("question", Title::parse(&body.question));
    let explanation = fields.check("explanation", Statement::parse(&body.explanation));
    fields.finish()?;
    let (register, _) = state.owners.load(xiaoqu).await?;
    let proposal = VoteProposal {
        xiaoqu,
        matter: body.matter.into(),
        question: checked(question)?,
        explanation: checked(explanation)?,
        opens_at: body.opens_at.unwrap_or_else(|| state.now()),
        closes_at: body.closes_at,
        online: body.online,
        paper: body.paper,
        register: register.for_vote(),
        thresholds: body
            .thresholds
            .map(|t| lianxi_domain::owners_vote::Thresholds {
                participation: t.participation.into(),
                special: t.special.into(),
                ordinary: t.ordinary.into(),
            }),
    };
    let id = VoteId(Uuid::now_v7());
    let command = VoteCommand {
        actor: actor(caller),
        vote: id,
        action: VoteAction::OpenVote {
            proposal: Box::new(proposal),
            has_committee: has_committee(state, xiaoqu).await?,
            in_scope: covers(state, caller, xiaoqu).await?,
        },
    };
    let committed = state
        .votes
        .execute(id, Some(0), command, &metadata(state, request_id))
        .await?;
    committed_view(state, caller, &committed).await
}

/// One vote.
pub async fn get(
    state: &AppState,
    caller: &Caller,
    id: VoteId,
) -> Result<(VoteView, usize), ApiError> {
    let (v, version) = visible(state, caller, id).await?;
    Ok((vote_view(state, caller, &v, version).await?, version))
}

/// The votes of a xiaoqu, latest first.
pub async fn list(
    state: &AppState,
    caller: &Caller,
    query: &VoteQuery,
) -> Result<VoteList, ApiError> {
    let xiaoqu = target_xiaoqu(state, caller, query.xiaoqu.as_deref(), true).await?;
    let now = state.now();
    let rows = state.db.votes_of(xiaoqu).await.map_err(ApiError::from_db)?;
    let items = rows
        .into_iter()
        .filter_map(|r| {
            let matter = serde_json::from_value(serde_json::Value::String(r.matter.clone()));
            let Ok(matter) = matter else {
                warn!(vote = %r.id, matter = %r.matter, "unknown matter in owners_votes");
                return None;
            };
            Some(VoteSummary {
                id: r.id.0,
                xiaoqu: r.xiaoqu.0,
                matter,
                question: r.question,
                opens_at: r.opens_at,
                closes_at: r.closes_at,
                status: status(r.opens_at, r.closes_at, r.closed_at.is_some(), now).to_owned(),
                outcome: r.outcome,
            })
        })
        .collect();
    Ok(VoteList { items })
}

/// The votes of `xiaoqu` on using the maintenance fund, latest first: what
/// a maintenance-fund grievance shows.
pub async fn fund_votes(state: &AppState, xiaoqu: XiaoquId) -> Result<Vec<VoteSummary>, ApiError> {
    let matter = wire(&MatterDto::UseMaintenanceFund);
    let now = state.now();
    Ok(state
        .db
        .votes_of(xiaoqu)
        .await
        .map_err(ApiError::from_db)?
        .into_iter()
        .filter(|r| r.matter == matter)
        .map(|r| VoteSummary {
            id: r.id.0,
            xiaoqu: r.xiaoqu.0,
            matter: MatterDto::UseMaintenanceFund,
            question: r.question,
            opens_at: r.opens_at,
            closes_at: r.closes_at,
            status: status(r.opens_at, r.closes_at, r.closed_at.is_some(), now).to_owned(),
            outcome: r.outcome,
        })
        .collect())
}

/// Runs one command on a vote the caller may read.
async fn run(
    state: &AppState,
    caller: &Caller,
    request_id: &str,
    id: VoteId,
    expected: Option<usize>,
    action: impl FnOnce(bool) -> VoteAction,
) -> Result<(VoteView, usize), ApiError> {
    let (v, _) = visible(state, caller, id).await?;
    let in_scope = covers(state, caller, v.proposal.xiaoqu).await?;
    let command = VoteCommand {
        actor: actor(caller),
        vote: id,
        action: action(in_scope),
    };
    let committed = state
        .votes
        .execute(id, expected, command, &metadata(state, request_id))
        .await?;
    committed_view(state, caller, &committed).await
}

/// An owner casts (or changes) the ballot of one of their units.
pub async fn cast(
    state: &AppState,
    caller: &Caller,
    request_id: &str,
    id: VoteId,
    body: &BallotRequest,
) -> Result<(VoteView, usize), ApiError> {
    let unit = UnitId(body.unit);
    let choice = body.choice.into();
    run(state, caller, request_id, id, None, |_| {
        VoteAction::CastBallot { unit, choice }
    })
    .await
}

/// The opener enters a paper ballot.
pub async fn enter_paper(
    state: &AppState,
    caller: &Caller,
    request_id: &str,
    id: VoteId,
    body: &BallotRequest,
) -> Result<(VoteView, usize), ApiError> {
    let unit = UnitId(body.unit);
    let choice = body.choice.into();
    run(state, caller, request_id, id, None, |in_scope| {
        VoteAction::EnterPaperBallot {
            unit,
            choice,
            in_scope,
        }
    })
    .await
}

/// The opener closes the vote once its window has passed: the tally is recorded.
pub async fn close(
    state: &AppState,
    caller: &Caller,
    request_id: &str,
    id: VoteId,
    expected: Option<usize>,
) -> Result<(VoteView, usize), ApiError> {
    run(state, caller, request_id, id, expected, |in_scope| {
        VoteAction::CloseVote { in_scope }
    })
    .await
}

/// A vote's history for auditors and admins: every event of its stream in
/// order, with its chain hash, people as pseudonyms, and each ballot's unit,
/// channel and time but not its choice (`"sealed"`): the tally is recounted
/// from the log itself (`lianxi audit verify` checks the chain).
pub async fn story(
    state: &AppState,
    caller: &Caller,
    id: VoteId,
) -> Result<Vec<super::story::StoryEntry>, ApiError> {
    if !super::policy::audits(caller.0.role) {
        return Err(ApiError::not_found());
    }
    visible(state, caller, id).await?;
    let stream = super::story::StreamRef {
        aggregate_type: <OwnersVote as cqrs_es::Aggregate>::TYPE,
        id: id.0,
    };
    // The story seals every ballot's choice.
    super::story::story(state, &[stream])
        .await
        .map_err(ApiError::from_db)
}

/// Rewrites `owners_votes` from every vote stream; how many. `lianxi
/// serve` runs it at start, repairing what a crash between a command and
/// its row left behind.
pub async fn reconcile(state: &AppState) -> Result<usize, String> {
    let ids = state
        .db
        .stream_ids(<OwnersVote as cqrs_es::Aggregate>::TYPE)
        .await
        .map_err(|e| e.to_string())?;
    let mut synced = 0;
    for id in ids {
        let (vote, _) = state
            .votes
            .load(VoteId(id))
            .await
            .map_err(|e| e.to_string())?;
        if let Some(v) = vote.state() {
            match sync(state, v).await {
                Ok(()) => synced += 1,
                Err(e) => warn!(vote = %id, error = ?e, "cannot bring owners_votes up to date"),
            }
        }
    }
    Ok(synced)
}
