//! The joint-meeting service (联席会议): convening, agenda, quorum,
//! decisions with each party's position, action items, minutes, and the
//! proposed agenda of a xiaoqu. The JSON API and the meeting pages call
//! these functions; the rules are the `JointMeeting` aggregate's.
//!
//! Who sees what (`policy::reads_meetings`): the party branch, the other
//! four parties and the tiers above of the meeting's xiaoqu, and auditors,
//! read the meeting (people other than the reader pseudonymised except for
//! the branch, which chairs); residents of the xiaoqu read the public
//! minutes of closed meetings. Anyone else gets 404.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use lianxi_domain::meeting::{
    ActionItemDraft, AgendaItemDraft, AgendaSubject, CitedVote, ConveneMeeting, Invitee,
    ItemOutcome, JointMeeting, JointMeetingState, MeetingAction, MeetingCommand, MeetingStatus,
    PartyPosition,
};
use lianxi_domain::values::{
    AccountId, ActionItemId, AgendaItemId, CaseId, GrievanceId, Label, MeetingId, MeetingKind,
    PartyRole, Reason, Statement, Title, VoteId, XiaoquId,
};
use lianxi_domain::Role;
use lianxi_projections::{grievance_list, meetings as meeting_list};
use uuid::Uuid;

use super::auth::Caller;
use super::dto::PartyDto;
use super::error::{ApiError, FieldProblem};
use super::grievances::{actor, checked, covers, field, optional_field, Fields};
use super::paging;
use super::people::PersonalView;
use super::policy::reads_meetings;
use super::reads::{self, format_position};
use super::AppState;
use crate::app::dto::wire;
use crate::db::Scope;
use crate::event_log::{CommandMetadata, Committed, MeetingCommandError};

mod wire;
pub use wire::*;

// ---------- authorization ----------

pub fn parse_meeting_id(id: &str) -> Result<MeetingId, ApiError> {
    MeetingId::parse(id).map_err(|_| ApiError::not_found())
}

/// Loads a meeting whose xiaoqu the caller's scope covers.
pub async fn in_scope(
    state: &AppState,
    caller: &Caller,
    id: MeetingId,
) -> Result<(JointMeetingState, usize), ApiError> {
    let (meeting, version) = state.meetings.load(id).await.map_err(store_error)?;
    let meeting = meeting.state().cloned().ok_or_else(ApiError::not_found)?;
    if covers(state, caller, meeting.xiaoqu).await? {
        Ok((meeting, version))
    } else {
        Err(ApiError::not_found())
    }
}

/// Loads a meeting the caller may read in full.
pub async fn readable(
    state: &AppState,
    caller: &Caller,
    id: MeetingId,
) -> Result<(JointMeetingState, usize), ApiError> {
    if !reads_meetings(caller.0.role) {
        return Err(ApiError::not_found());
    }
    in_scope(state, caller, id).await
}

fn store_error(e: MeetingCommandError) -> ApiError {
    ApiError::from(e)
}

// ---------- views ----------

fn subject_dto(subject: &AgendaSubject) -> SubjectDto {
    let (kind, id) = match subject {
        AgendaSubject::Grievance(g) => ("grievance", Some(g.0)),
        AgendaSubject::MediationCase(c) => ("mediation_case", Some(c.0)),
        AgendaSubject::ActionItem(a) => ("action_item", Some(a.0)),
        AgendaSubject::Other => ("other", None),
    };
    SubjectDto {
        kind: kind.to_owned(),
        id,
    }
}

fn positions(positions: &[PartyPosition]) -> Vec<PositionDto> {
    positions
        .iter()
        .map(|p| PositionDto {
            party: p.party.into(),
            stance: p.stance.into(),
        })
        .collect()
}

fn item_view(item: &lianxi_domain::meeting::AgendaItem) -> AgendaItemView {
    let mut view = AgendaItemView {
        id: item.id.0,
        subject: subject_dto(&item.subject),
        title: item.title.as_str().to_owned(),
        outcome: "pending".into(),
        summary: None,
        decision: None,
        positions: Vec::new(),
        deferral_reason: None,
        vote: None,
    };
    match &item.outcome {
        ItemOutcome::Pending => {}
        ItemOutcome::Decided {
            summary,
            decision,
            positions: p,
            vote,
            ..
        } => {
            view.outcome = "decided".into();
            view.vote = vote.map(|v| v.0);
            view.summary = Some(summary.as_str().to_owned());
            view.decision = Some(decision.as_str().to_owned());
            view.positions = positions(p);
        }
        ItemOutcome::Deferred { reason, .. } => {
            view.outcome = "deferred".into();
            view.deferral_reason = Some(reason.as_str().to_owned());
        }
    }
    view
}

fn action_item_view(
    meeting: MeetingId,
    item: &lianxi_domain::meeting::ActionItem,
    now: DateTime<Utc>,
) -> ActionItemView {
    ActionItemView {
        id: item.id.0,
        meeting: meeting.0,
        item: Some(item.item.0),
        owner: item.owner.into(),
        description: item.description.as_str().to_owned(),
        due_at: item.due_at,
        done_at: item.done_at,
        overdue: item.is_overdue(now),
    }
}

pub fn meeting_view(
    state: &AppState,
    caller: &Caller,
    m: &JointMeetingState,
    version: usize,
) -> MeetingView {
    let now = state.meetings.services().clock.now();
    let person = |account: AccountId| {
        if caller.0.role == Role::PartyBranch
            || caller.0.role == m.chair_role()
            || caller.0.id == account
        {
            account.to_string()
        } else {
            state.people.pseudonym(account)
        }
    };
    MeetingView {
        id: m.id.0,
        version: version as u64,
        xiaoqu: m.xiaoqu.0,
        kind: m.kind.into(),
        status: m.status.as_str().to_owned(),
        scheduled_for: m.scheduled_for,
        place: m.place.as_str().to_owned(),
        invited_parties: m.invited_parties.iter().map(|p| (*p).into()).collect(),
        invited_people: m
            .invited_people
            .iter()
            .map(|i| InviteeDto {
                account: person(i.account),
                capacity: i.capacity.into(),
            })
            .collect(),
        chair: m.chair.into(),
        quorum_others_required: m.quorum.others_required,
        present_parties: m.present_parties.iter().map(|p| (*p).into()).collect(),
        present_people: m.present_people.iter().map(|a| person(*a)).collect(),
        quorum_met: m.quorum_met(),
        agenda: m.agenda.iter().map(item_view).collect(),
        action_items: m
            .action_items
            .iter()
            .map(|a| action_item_view(m.id, a, now))
            .collect(),
        public_summary: m.public_summary.as_ref().map(|s| s.as_str().to_owned()),
        convened_at: m.convened_at,
        opened_at: m.opened_at,
        closed_at: m.closed_at,
        cancelled_at: m.cancelled_at,
        position: None,
    }
}

/// Replaces every occurrence of the given personal data with `＊＊＊`.
/// Free text (titles, summaries, decisions) is written by the party branch,
/// which may slip a name in; the public minutes never carry it.
fn scrub(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_owned();
    for secret in secrets {
        if !secret.trim().is_empty() {
            out = out.replace(secret.as_str(), "＊＊＊");
        }
    }
    out
}

/// The personal data of everyone the meeting touches: invited and present
/// people, and the filers of the grievances on its agenda.
async fn personal_data_of(
    state: &AppState,
    m: &JointMeetingState,
) -> Result<Vec<String>, ApiError> {
    let mut people: Vec<AccountId> = m.invited_people.iter().map(|i| i.account).collect();
    people.extend(m.present_people.iter().copied());
    for item in &m.agenda {
        if let AgendaSubject::Grievance(g) = item.subject {
            if let Ok((grievance, _)) = state.log.load(g).await {
                if let Some(g) = grievance.state() {
                    people.push(g.filer);
                    people.extend(g.duplicates.iter().map(|d| d.filer));
                }
            }
        }
    }
    let mut seen = HashSet::new();
    let mut secrets = Vec::new();
    for person in people.into_iter().filter(|p| seen.insert(*p)) {
        if let PersonalView::Present(data) = state.people.personal_data(person).await? {
            secrets.extend(
                [Some(data.name), data.phone, data.room]
                    .into_iter()
                    .flatten()
                    .filter(|s| s.chars().count() >= 2),
            );
        }
    }
    // Longest first, so that a name inside a longer string goes whole.
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    Ok(secrets)
}

fn public_minutes(m: &JointMeetingState, secrets: &[String]) -> PublicMinutes {
    let clean = |s: &str| scrub(s, secrets);
    PublicMinutes {
        meeting: m.id.0,
        xiaoqu: m.xiaoqu.0,
        kind: m.kind.into(),
        scheduled_for: m.scheduled_for,
        place: clean(m.place.as_str()),
        present_parties: m.present_parties.iter().map(|p| (*p).into()).collect(),
        items: m
            .agenda
            .iter()
            .map(|i| {
                let v = item_view(i);
                PublicItem {
                    subject: v.subject.kind,
                    title: clean(&v.title),
                    outcome: v.outcome,
                    summary: v.summary.as_deref().map(clean),
                    decision: v.decision.as_deref().map(clean),
                    positions: v.positions,
                }
            })
            .collect(),
        action_items: m
            .action_items
            .iter()
            .map(|a| PublicActionItem {
                owner: a.owner.into(),
                description: clean(a.description.as_str()),
                due_at: a.due_at,
                done_at: a.done_at,
            })
            .collect(),
        public_summary: m.public_summary.as_ref().map(|s| clean(s.as_str())),
        closed_at: m.closed_at,
    }
}

// ---------- parsing ----------

/// Checks an agenda subject names something of this xiaoqu.
async fn subject(
    state: &AppState,
    fields: &mut Fields,
    at: &str,
    xiaoqu: XiaoquId,
    dto: &SubjectDto,
) -> Result<Option<AgendaSubject>, ApiError> {
    let mut problem = |reason: &str| {
        fields.0.push(FieldProblem {
            field: format!("{at}.subject"),
            reason: reason.to_owned(),
        });
        Ok(None)
    };
    let subject = match (dto.kind.as_str(), dto.id) {
        ("other", None) => return Ok(Some(AgendaSubject::Other)),
        ("other", Some(_)) => return problem("an `other` subject has no id"),
        (_, None) => return problem("needs an id"),
        ("grievance", Some(id)) => {
            let (g, _) = state.log.load(GrievanceId(id)).await?;
            if g.state().map(|g| g.xiaoqu) != Some(xiaoqu) {
                return problem("no such grievance in this xiaoqu");
            }
            AgendaSubject::Grievance(GrievanceId(id))
        }
        ("mediation_case", Some(id)) => {
            let (c, _) = state.cases.load(CaseId(id)).await?;
            if c.state().map(|c| c.xiaoqu) != Some(xiaoqu) {
                return problem("no such mediation case in this xiaoqu");
            }
            AgendaSubject::MediationCase(CaseId(id))
        }
        ("action_item", Some(id)) => {
            let open = meeting_list::open_action_items(&state.db.store(), xiaoqu.0)
                .await
                .map_err(|e| {
                    tracing::error!(error = %e, "action items");
                    ApiError::internal()
                })?;
            if !open.iter().any(|a| a.id == id) {
                return problem("no open action item of this xiaoqu with this id");
            }
            AgendaSubject::ActionItem(ActionItemId(id))
        }
        _ => return problem("must be grievance, mediation_case, action_item or other"),
    };
    Ok(Some(subject))
}

async fn agenda_items(
    state: &AppState,
    fields: &mut Fields,
    xiaoqu: XiaoquId,
    items: &[AgendaItemRequest],
) -> Result<Vec<AgendaItemDraft>, ApiError> {
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let at = format!("agenda[{i}]");
        let title = fields.check(&format!("{at}.title"), Title::parse(&item.title));
        let subject = subject(state, fields, &at, xiaoqu, &item.subject).await?;
        if let (Some(title), Some(subject)) = (title, subject) {
            out.push(AgendaItemDraft {
                item_id: AgendaItemId(Uuid::now_v7()),
                subject,
                title,
            });
        }
    }
    Ok(out)
}

fn parties(dtos: &[MeetingPartyDto]) -> Vec<PartyRole> {
    dtos.iter().map(|p| (*p).into()).collect()
}

// ---------- the service ----------

/// Convenes a joint meeting of a xiaoqu: the party branch its own; a
/// community, street or district one of the xiaoqu its unit covers (for a
/// matter escalated to it), which it then chairs. Who may convene is the
/// meeting's rule, decided in the domain.
pub async fn convene(
    state: &AppState,
    caller: &Caller,
    request_id: &str,
    body: &ConveneRequest,
) -> Result<(MeetingView, usize), ApiError> {
    may_convene(state, caller)?;
    let named = super::registry::named(state, "xiaoqu", body.xiaoqu.as_deref(), false).await?;
    let xiaoqu = match (named, &caller.0.scope) {
        (None, Scope::Xiaoqu(own)) => *own,
        (Some(x), Scope::Xiaoqu(own)) if x == *own => *own,
        (Some(x), _) => {
            if !covers(state, caller, x).await? {
                return Err(ApiError::invalid_field(
                    "xiaoqu",
                    "no such xiaoqu in the caller's unit",
                ));
            }
            x
        }
        (None, _) => {
            return Err(ApiError::invalid_field(
                "xiaoqu",
                "name the xiaoqu whose parties meet",
            ))
        }
    };
    let mut fields = Fields::default();
    let place = fields.check("place", Label::parse(&body.place));
    let mut invited = Vec::with_capacity(body.invited_people.len());
    for (i, invitee) in body.invited_people.iter().enumerate() {
        let at = format!("invited_people[{i}].account");
        let account = fields.check(&at, AccountId::parse(&invitee.account));
        if let Some(account) = account {
            let known = state
                .db
                .account(account)
                .await
                .map_err(ApiError::from_db)?
                .is_some();
            if known {
                invited.push(Invitee {
                    account,
                    capacity: invitee.capacity.into(),
                });
            } else {
                fields.0.push(FieldProblem {
                    field: at,
                    reason: "no such account".into(),
                });
            }
        }
    }
    let agenda = agenda_items(state, &mut fields, xiaoqu, &body.agenda).await?;
    fields.finish()?;
    let id = MeetingId(Uuid::now_v7());
    let action = MeetingAction::ConveneMeeting(ConveneMeeting {
        meeting_id: id,
        xiaoqu,
        kind: body.kind.into(),
        scheduled_for: body.scheduled_for,
        place: checked(place)?,
        invited_people: invited,
        agenda,
    });
    let metadata = CommandMetadata {
        request_id: request_id.to_owned(),
        occurred_at: state.meetings.services().clock.now(),
        reason: None,
    };
    let command = MeetingCommand::new(actor(caller), action);
    let committed = state
        .meetings
        .execute(id, Some(0), command, &metadata)
        .await?;
    committed_view(state, caller, &committed)
}

/// Whether the caller's role may convene at all: the meeting's own rule,
/// asked of the domain with a plain meeting, so that a role that never
/// convenes hears so before anything about its input.
fn may_convene(state: &AppState, caller: &Caller) -> Result<(), ApiError> {
    let services = state.meetings.services();
    let Ok(place) = Label::parse("-") else {
        return Ok(());
    };
    let probe = ConveneMeeting {
        meeting_id: MeetingId(Uuid::nil()),
        xiaoqu: XiaoquId(Uuid::nil()),
        kind: lianxi_domain::values::MeetingKind::Regular,
        scheduled_for: services.clock.now() + chrono::TimeDelta::hours(1),
        place,
        invited_people: Vec::new(),
        agenda: Vec::new(),
    };
    let command = MeetingCommand::new(actor(caller), MeetingAction::ConveneMeeting(probe));
    match JointMeeting::default().decide(command, services) {
        Err(e @ lianxi_domain::meeting::MeetingError::RoleNotAllowed { .. }) => Err(e.into()),
        _ => Ok(()),
    }
}

/// The meetings of a xiaoqu, latest first. Residents see closed meetings
/// only (their public minutes).
pub async fn list(
    state: &AppState,
    caller: &Caller,
    query: &MeetingQuery,
) -> Result<MeetingList, ApiError> {
    let limit = paging::page_limit(query.limit, paging::DEFAULT_PAGE)?;
    let after = paging::cursor(query.cursor.as_deref())?;
    if let Some(s) = query.status.as_deref() {
        if !["convened", "open", "closed", "cancelled"].contains(&s) {
            return Err(ApiError::bad_query(
                "status",
                "must be convened, open, closed or cancelled",
            ));
        }
    }
    let xiaoqu = target_xiaoqu(state, caller, query.xiaoqu.as_deref()).await?;
    let store = state.db.store();
    let (position, caught_up) =
        reads::at(&store, &[meeting_list::NAME], query.min_position.as_deref()).await?;
    let position = format_position(position);
    let residents = matches!(caller.0.role, Role::Resident);
    if !(covers(state, caller, xiaoqu).await? && (residents || reads_meetings(caller.0.role))) {
        return Ok(MeetingList {
            items: Vec::new(),
            next_cursor: None,
            position,
            caught_up,
        });
    }
    let meetings = meeting_list::meetings(&store, xiaoqu.0, LIST_SCAN)
        .await
        .map_err(ApiError::from_store)?;
    let visible: Vec<_> = meetings
        .into_iter()
        .filter(|m| !residents || m.status == MeetingStatus::Closed)
        .filter(|m| {
            query
                .status
                .as_deref()
                .is_none_or(|s| s == m.status.as_str())
        })
        .collect();
    let (page, next_cursor) = paging::page(visible, |m| (m.scheduled_for, m.id.0), after, limit);
    let items = page
        .iter()
        .map(|m| MeetingSummary {
            id: m.id.0,
            kind: m.kind.into(),
            status: m.status.as_str().to_owned(),
            scheduled_for: m.scheduled_for,
            place: m.place.as_str().to_owned(),
            items: m.agenda.len(),
            open_action_items: m
                .action_items
                .iter()
                .filter(|a| a.done_at.is_none())
                .count(),
        })
        .collect();
    Ok(MeetingList {
        items,
        next_cursor,
        position,
        caught_up,
    })
}

/// The most meetings or cases of one xiaoqu a list pages through: the
/// newest this many (years of a xiaoqu's meetings).
const LIST_SCAN: i64 = 2_000;

/// The xiaoqu a list is about: the one given, else the caller's own.
pub async fn target_xiaoqu(
    state: &AppState,
    caller: &Caller,
    given: Option<&str>,
) -> Result<XiaoquId, ApiError> {
    let named = super::registry::named(state, "xiaoqu", given, true).await?;
    match (named, &caller.0.scope) {
        (Some(x), _) => Ok(x),
        (None, Scope::Xiaoqu(x)) => Ok(*x),
        (None, _) => Err(ApiError::invalid_field(
            "xiaoqu",
            "give the xiaoqu whose meetings to list",
        )),
    }
}

/// The meeting a command left, with the feed position of the change.
fn committed_view(
    state: &AppState,
    caller: &Caller,
    committed: &Committed<JointMeeting>,
) -> Result<(MeetingView, usize), ApiError> {
    let m = committed.state.state().ok_or_else(ApiError::internal)?;
    let mut view = meeting_view(state, caller, m, committed.version);
    view.position = committed.position.map(format_position);
    Ok((view, committed.version))
}

/// One meeting in full, and its version.
pub async fn get(
    state: &AppState,
    caller: &Caller,
    id: MeetingId,
) -> Result<(MeetingView, usize), ApiError> {
    let (m, version) = readable(state, caller, id).await?;
    Ok((meeting_view(state, caller, &m, version), version))
}

/// The public minutes of a closed meeting: readable by everyone of the
/// xiaoqu, and free of personal data.
pub async fn minutes(
    state: &AppState,
    caller: &Caller,
    id: MeetingId,
) -> Result<PublicMinutes, ApiError> {
    if !(reads_meetings(caller.0.role) || caller.0.role == Role::Resident) {
        return Err(ApiError::not_found());
    }
    let (m, _) = in_scope(state, caller, id).await?;
    if m.status != MeetingStatus::Closed {
        return Err(ApiError::not_found());
    }
    let secrets = personal_data_of(state, &m).await?;
    Ok(public_minutes(&m, &secrets))
}

/// Runs one command on a meeting the caller may read, at version
/// `expected` if given; `reason` is kept in the events' metadata.
pub async fn run(
    state: &AppState,
    caller: &Caller,
    request_id: &str,
    id: MeetingId,
    expected: Option<usize>,
    reason: Option<String>,
    action: MeetingAction,
) -> Result<(MeetingView, usize), ApiError> {
    readable(state, caller, id).await?;
    let command = MeetingCommand::new(actor(caller), action);
    let metadata = CommandMetadata {
        request_id: request_id.to_owned(),
        occurred_at: state.meetings.services().clock.now(),
        reason,
    };
    let committed = state
        .meetings
        .execute(id, expected, command, &metadata)
        .await?;
    committed_view(state, caller, &committed)
}

/// The reason (kept in metadata) and the command a request stands for.
pub type Built = (Option<String>, MeetingAction);

/// Adds an item to the agenda of a meeting not yet closed.
pub async fn add_agenda_item(
    state: &AppState,
    caller: &Caller,
    id: MeetingId,
    req: &AgendaItemRequest,
) -> Result<Built, ApiError> {
    let (meeting, _) = in_scope(state, caller, id).await?;
    let mut fields = Fields::default();
    let items = agenda_items(
        state,
        &mut fields,
        meeting.xiaoqu,
        std::slice::from_ref(req),
    )
    .await?;
    fields.finish()?;
    let item = items.into_iter().next().ok_or_else(ApiError::internal)?;
    Ok((None, MeetingAction::AddAgendaItem(item)))
}

/// Opens the meeting with the parties and people present.
pub fn open(req: &OpenRequest) -> Built {
    (
        None,
        MeetingAction::OpenMeeting {
            present_parties: parties(&req.present_parties),
            present_people: req.present_people.iter().map(|p| AccountId(*p)).collect(),
        },
    )
}

/// Records the decision on agenda item `item` of meeting `id`, citing the
/// owners' vote it rests on if `vote` names one: what the vote's stream
/// says of it (its xiaoqu, whether closed) goes with the command.
pub async fn decide_item(
    state: &AppState,
    id: MeetingId,
    item: &str,
    req: &DecisionRequest,
) -> Result<Built, ApiError> {
    let item = AgendaItemId::parse(item).map_err(|_| ApiError::not_found())?;
    let cited_vote = match req.vote {
        None => None,
        Some(vote) => {
            let (meeting, _) = state.meetings.load(id).await?;
            let xiaoqu = meeting.state().map(|m| m.xiaoqu);
            let (found, _) = state.votes.load(VoteId(vote)).await?;
            let found = found
                .state()
                .ok_or_else(|| ApiError::invalid_field("vote", "no such owners' vote"))?;
            Some(CitedVote {
                vote: VoteId(vote),
                of_this_xiaoqu: Some(found.proposal.xiaoqu) == xiaoqu,
                closed: found.tally.is_some(),
            })
        }
    };
    let mut fields = Fields::default();
    let summary = fields.check("summary", Statement::parse(&req.summary));
    let decision = fields.check("decision", Statement::parse(&req.decision));
    let mut action_items = Vec::with_capacity(req.action_items.len());
    for (i, a) in req.action_items.iter().enumerate() {
        if let Some(description) = fields.check(
            &format!("action_items[{i}].description"),
            Statement::parse(&a.description),
        ) {
            action_items.push(ActionItemDraft {
                action_item_id: ActionItemId(Uuid::now_v7()),
                owner: a.owner.into(),
                description,
                due_at: a.due_at,
            });
        }
    }
    fields.finish()?;
    Ok((
        None,
        MeetingAction::DecideItem {
            item,
            summary: checked(summary)?,
            decision: checked(decision)?,
            positions: req
                .positions
                .iter()
                .map(|p| PartyPosition {
                    party: p.party.into(),
                    stance: p.stance.into(),
                })
                .collect(),
            action_items,
            cited_vote,
        },
    ))
}

/// Defers agenda item `item` to a later meeting.
pub fn defer_item(item: &str, req: &MeetingReasonRequest) -> Result<Built, ApiError> {
    let item = AgendaItemId::parse(item).map_err(|_| ApiError::not_found())?;
    let reason = field("reason", Reason::parse(&req.reason))?;
    Ok((
        Some(reason.as_str().to_owned()),
        MeetingAction::DeferItem { item, reason },
    ))
}

/// Closes the meeting and publishes its minutes.
pub fn close(req: &CloseRequest) -> Result<Built, ApiError> {
    let public_summary = optional_field(
        "public_summary",
        req.public_summary.as_deref(),
        Statement::parse,
    )?;
    Ok((None, MeetingAction::CloseMeeting { public_summary }))
}

/// Cancels a meeting that has not opened.
pub fn cancel(req: &MeetingReasonRequest) -> Result<Built, ApiError> {
    let reason = field("reason", Reason::parse(&req.reason))?;
    Ok((
        Some(reason.as_str().to_owned()),
        MeetingAction::CancelMeeting { reason },
    ))
}

/// Marks action item `action_item` done.
pub fn complete_action_item(action_item: &str, req: &CompletionRequest) -> Result<Built, ApiError> {
    let action_item = ActionItemId::parse(action_item).map_err(|_| ApiError::not_found())?;
    let note = optional_field("note", req.note.as_deref(), Statement::parse)?;
    Ok((
        None,
        MeetingAction::CompleteActionItem { action_item, note },
    ))
}

/// The proposed agenda of a xiaoqu: major matters awaiting an urgent
/// meeting (with the window's end), minor matters for the next regular
/// meeting, and open action items of earlier meetings.
pub async fn agenda(
    state: &AppState,
    caller: &Caller,
    xiaoqu: XiaoquId,
    query: &AgendaQuery,
) -> Result<ProposedAgenda, ApiError> {
    if !(reads_meetings(caller.0.role) && covers(state, caller, xiaoqu).await?) {
        return Err(ApiError::not_found());
    }
    let store = state.db.store();
    // Waiting grievances come from the grievance list, action items from
    // the meetings read model: the agenda is as current as the later of them.
    let (position, caught_up) = reads::at(
        &store,
        &[grievance_list::NAME, meeting_list::NAME],
        query.min_position.as_deref(),
    )
    .await?;
    let internal = |e: lianxi_projections::StoreError| {
        tracing::error!(error = %e, "agenda");
        ApiError::internal()
    };
    let now = state.meetings.services().clock.now();
    let waiting = grievance_list::awaiting_meeting(&store, xiaoqu.0)
        .await
        .map_err(internal)?;
    let (mut urgent, mut regular) = (Vec::new(), Vec::new());
    for g in waiting {
        let Some(r) = g.meeting_referral else {
            continue;
        };
        let entry = AwaitingGrievance {
            grievance: g.id.0,
            title: g.title.as_str().to_owned(),
            category: wire(&g.category),
            matter_class: g.matter_class.as_ref().map(wire),
            tier: g.tier.into(),
            since: r.since,
            due_at: r.due_at,
            overdue: r.meeting.is_none() && r.due_at.is_some_and(|d| d < now),
            meeting: r.meeting.map(|m| m.0),
        };
        match r.kind {
            MeetingKind::Urgent => urgent.push(entry),
            MeetingKind::Regular => regular.push(entry),
        }
    }
    urgent.sort_by_key(|e| (e.due_at, e.since));
    regular.sort_by_key(|e| e.since);
    let open_action_items = meeting_list::open_action_items(&store, xiaoqu.0)
        .await
        .map_err(internal)?
        .into_iter()
        .map(|a| ActionItemView {
            id: a.id,
            meeting: a.meeting,
            item: None,
            owner: serde_json::from_value(serde_json::Value::String(a.owner))
                .unwrap_or(PartyDto::PartyBranch),
            description: a.description,
            due_at: a.due_at,
            done_at: None,
            overdue: a.due_at < now,
        })
        .collect();
    let open_obligations = owed_obligations(state, caller, &store, xiaoqu, now).await?;
    Ok(ProposedAgenda {
        xiaoqu: xiaoqu.0,
        urgent,
        regular,
        open_action_items,
        open_obligations,
        position: format_position(position),
        caught_up,
    })
}

/// The obligations still owed in the xiaoqu's mediation cases the caller
/// may read, as the case view shows them (persons pseudonymised alike).
async fn owed_obligations(
    state: &AppState,
    caller: &Caller,
    store: &lianxi_projections::Store,
    xiaoqu: XiaoquId,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<OwedObligation>, ApiError> {
    let cases = meeting_list::cases_with_open_obligations(store, xiaoqu.0)
        .await
        .map_err(ApiError::from_store)?;
    let mut owed = Vec::new();
    for case in cases {
        let Ok((view, _)) = super::cases::get(state, caller, CaseId(case)).await else {
            continue; // not the caller's to read
        };
        let Some(agreement) = view.agreement else {
            continue;
        };
        for obligation in agreement.obligations {
            if obligation.status == "open" {
                owed.push(OwedObligation {
                    case,
                    matter: view.matter.clone(),
                    overdue: obligation.due_at < now,
                    obligation,
                });
            }
        }
    }
    owed.sort_by_key(|o| (o.obligation.due_at, o.case));
    Ok(owed)
}
