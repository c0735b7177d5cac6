use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};

use crate::actor::require;
use crate::actor::{Actor, Role};
use crate::services::Clock;
use crate::values::{
    AccountId, ActionItemId, AgendaItemId, Label, MeetingId, MeetingKind, PartyRole, Reason,
    Statement, Tier, Title, VoteId, XiaoquId,
};

use super::commands::{
    ActionItemDraft, AgendaItemDraft, AgendaSubject, ConveneMeeting, Invitee, MeetingAction,
    MeetingCommand, PartyPosition,
};
use super::error::MeetingError;
use super::events::MeetingEvent;

/// Quorum: the party branch plus `others_required` of the other four parties
/// (default 3).
///
/// A rule asking for more than four others can never be met; the policy that
/// configures it is trusted, as it is configuration rather than input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct QuorumRule {
    pub others_required: u8,
}

impl Default for QuorumRule {
    fn default() -> Self {
        Self { others_required: 3 }
    }
}

impl QuorumRule {
    /// How many of the four meeting parties other than the party branch are
    /// in `present`, each counted once.
    pub fn others_present(present: &[PartyRole]) -> u8 {
        let count = PartyRole::MEETING_PARTIES
            .iter()
            .filter(|p| **p != PartyRole::PartyBranch && present.contains(p))
            .count();
        u8::try_from(count).unwrap_or(u8::MAX)
    }

    /// The party branch is present, and at least `others_required` of the others.
    pub fn is_met(&self, present: &[PartyRole]) -> bool {
        present.contains(&PartyRole::PartyBranch)
            && Self::others_present(present) >= self.others_required
    }
}

/// Configurable meeting rules: the quorum, by default and per xiaoqu.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MeetingPolicy {
    pub default_quorum: QuorumRule,
    pub quorum_by_xiaoqu: HashMap<XiaoquId, QuorumRule>,
}

impl MeetingPolicy {
    /// The quorum in force for meetings of `xiaoqu`.
    pub fn quorum(&self, xiaoqu: XiaoquId) -> QuorumRule {
        self.quorum_by_xiaoqu
            .get(&xiaoqu)
            .copied()
            .unwrap_or(self.default_quorum)
    }
}

/// Everything `JointMeeting::handle` may consult besides the command and state.
#[derive(Clone, Debug)]
pub struct MeetingServices {
    pub clock: Arc<dyn Clock>,
    pub policy: MeetingPolicy,
}

impl MeetingServices {
    pub fn new(clock: Arc<dyn Clock>, policy: MeetingPolicy) -> Self {
        Self { clock, policy }
    }
}

/// Where a joint meeting stands: convened, then open, then closed; or
/// cancelled before it opens.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MeetingStatus {
    Convened,
    Open,
    Closed,
    Cancelled,
}

impl MeetingStatus {
    /// The stable wire name (`convened`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            MeetingStatus::Convened => "convened",
            MeetingStatus::Open => "open",
            MeetingStatus::Closed => "closed",
            MeetingStatus::Cancelled => "cancelled",
        }
    }
}

impl std::fmt::Display for MeetingStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What became of an agenda item.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum ItemOutcome {
    Pending,
    Decided {
        summary: Statement,
        decision: Statement,
        positions: Vec<PartyPosition>,
        /// The owners' vote the decision rests on.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        vote: Option<VoteId>,
        at: DateTime<Utc>,
    },
    /// Returns on the next agenda.
    Deferred {
        reason: Reason,
        at: DateTime<Utc>,
    },
}

impl ItemOutcome {
    /// Neither decided nor deferred yet.
    pub fn is_pending(&self) -> bool {
        matches!(self, ItemOutcome::Pending)
    }
}

/// An item on the agenda and its outcome.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgendaItem {
    pub id: AgendaItemId,
    pub subject: AgendaSubject,
    pub title: Title,
    pub outcome: ItemOutcome,
}

/// An action item (督办事项) assigned with a decision; it reappears on later
/// agendas until done.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionItem {
    pub id: ActionItemId,
    /// The agenda item whose decision assigned it.
    pub item: AgendaItemId,
    pub owner: PartyRole,
    pub description: Statement,
    pub due_at: DateTime<Utc>,
    pub done_at: Option<DateTime<Utc>>,
    pub note: Option<Statement>,
}

impl ActionItem {
    /// Not done, and its due date has passed.
    pub fn is_overdue(&self, now: DateTime<Utc>) -> bool {
        self.done_at.is_none() && self.due_at < now
    }
}

/// The state of a convened meeting.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JointMeetingState {
    pub id: MeetingId,
    pub xiaoqu: XiaoquId,
    pub kind: MeetingKind,
    pub status: MeetingStatus,
    pub scheduled_for: DateTime<Utc>,
    pub place: Label,
    pub invited_parties: Vec<PartyRole>,
    pub invited_people: Vec<Invitee>,
    /// The quorum in force when the meeting was convened.
    pub quorum: QuorumRule,
    /// The tier that convened and chairs it (its handler role acts as chair).
    #[serde(default = "xiaoqu_tier")]
    pub chair: Tier,
    pub agenda: Vec<AgendaItem>,
    pub action_items: Vec<ActionItem>,
    pub present_parties: Vec<PartyRole>,
    pub present_people: Vec<AccountId>,
    pub public_summary: Option<Statement>,
    pub convened_at: DateTime<Utc>,
    pub opened_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub cancellation_reason: Option<Reason>,
    pub last_changed_at: DateTime<Utc>,
}

fn xiaoqu_tier() -> Tier {
    Tier::Xiaoqu
}

impl JointMeetingState {
    /// The role that chairs: the party branch for the xiaoqu's own meeting,
    /// the tier's role for one a higher tier convened.
    pub fn chair_role(&self) -> Role {
        Role::handler_of(self.chair)
    }

    /// Whether the parties present meet the meeting's quorum.
    pub fn quorum_met(&self) -> bool {
        self.quorum.is_met(&self.present_parties)
    }

    /// The agenda item `id`, if it is on this meeting's agenda.
    pub fn item(&self, id: AgendaItemId) -> Option<&AgendaItem> {
        self.agenda.iter().find(|i| i.id == id)
    }

    /// The action item `id`, if this meeting assigned it.
    pub fn action_item(&self, id: ActionItemId) -> Option<&ActionItem> {
        self.action_items.iter().find(|a| a.id == id)
    }

    /// How many agenda items are neither decided nor deferred.
    pub fn pending_count(&self) -> usize {
        self.agenda
            .iter()
            .filter(|i| i.outcome.is_pending())
            .count()
    }
}

/// The JointMeeting aggregate (联席会议). Before `MeetingConvened` it holds nothing.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct JointMeeting {
    state: Option<JointMeetingState>,
}

impl JointMeeting {
    /// Most items on one meeting's agenda.
    pub const MAX_AGENDA_ITEMS: usize = 50;
    /// Most people invited besides the five parties.
    pub const MAX_INVITEES: usize = 100;
    /// Most action items assigned by one decision.
    pub const MAX_ACTION_ITEMS_PER_DECISION: usize = 20;

    pub fn state(&self) -> Option<&JointMeetingState> {
        self.state.as_ref()
    }

    pub fn status(&self) -> Option<MeetingStatus> {
        self.state.as_ref().map(|s| s.status)
    }

    /// Decides which events a command produces, without changing anything.
    pub fn decide(
        &self,
        command: MeetingCommand,
        services: &MeetingServices,
    ) -> Result<Vec<MeetingEvent>, MeetingError> {
        let MeetingCommand { actor, action } = command;
        let now = services.clock.now();
        let name = action.name();
        let (state, action) = match (&self.state, action) {
            (None, MeetingAction::ConveneMeeting(convene)) => {
                return convene_meeting(actor, convene, now, services)
            }
            (Some(_), MeetingAction::ConveneMeeting(_)) => {
                return Err(MeetingError::AlreadyConvened)
            }
            (None, _) => return Err(MeetingError::NotConvened),
            (Some(state), action) => (state, action),
        };
        let refuse = || MeetingError::InvalidTransition {
            action: name,
            status: state.status,
        };
        let events = match action {
            MeetingAction::ConveneMeeting(_) => return Err(MeetingError::AlreadyConvened),
            MeetingAction::AddAgendaItem(draft) => {
                require_chair(state, actor, name)?;
                require(
                    matches!(state.status, MeetingStatus::Convened | MeetingStatus::Open),
                    refuse,
                )?;
                check_agenda(&state.agenda, std::slice::from_ref(&draft))?;
                vec![item_added(draft, now)]
            }
            MeetingAction::OpenMeeting {
                present_parties,
                present_people,
            } => {
                require_chair(state, actor, name)?;
                require(state.status == MeetingStatus::Convened, refuse)?;
                check_present(state, &present_parties, &present_people)?;
                vec![MeetingEvent::MeetingOpened {
                    present_parties,
                    present_people,
                    at: now,
                }]
            }
            MeetingAction::DecideItem {
                item,
                summary,
                decision,
                positions,
                action_items,
                cited_vote,
            } => {
                require_chair(state, actor, name)?;
                require(state.status == MeetingStatus::Open, refuse)?;
                require_pending(state, item)?;
                check_positions(state, &positions)?;
                check_action_items(state, &action_items, now)?;
                if let Some(cited) = cited_vote {
                    require(cited.of_this_xiaoqu && cited.closed, || {
                        MeetingError::VoteNotCitable
                    })?;
                }
                let decided = MeetingEvent::ItemDecided {
                    item,
                    summary,
                    decision,
                    positions,
                    vote: cited_vote.map(|c| c.vote),
                    at: now,
                };
                let assigned = action_items
                    .into_iter()
                    .map(|a| MeetingEvent::ActionItemAssigned {
                        action_item_id: a.action_item_id,
                        item,
                        owner: a.owner,
                        description: a.description,
                        due_at: a.due_at,
                        at: now,
                    });
                std::iter::once(decided).chain(assigned).collect()
            }
            MeetingAction::DeferItem { item, reason } => {
                require_chair(state, actor, name)?;
                require(state.status == MeetingStatus::Open, refuse)?;
                require_pending(state, item)?;
                vec![MeetingEvent::ItemDeferred {
                    item,
                    reason,
                    at: now,
                }]
            }
            MeetingAction::CloseMeeting { public_summary } => {
                require_chair(state, actor, name)?;
                require(state.status == MeetingStatus::Open, refuse)?;
                let count = state.pending_count();
                if count > 0 {
                    return Err(MeetingError::ItemsPending { count });
                }
                vec![MeetingEvent::MeetingClosed {
                    public_summary,
                    at: now,
                }]
            }
            MeetingAction::CancelMeeting { reason } => {
                require_chair(state, actor, name)?;
                require(state.status == MeetingStatus::Convened, refuse)?;
                vec![MeetingEvent::MeetingCancelled { reason, at: now }]
            }
            MeetingAction::CompleteActionItem { action_item, note } => {
                require(
                    matches!(state.status, MeetingStatus::Open | MeetingStatus::Closed),
                    refuse,
                )?;
                let found = state
                    .action_item(action_item)
                    .ok_or(MeetingError::UnknownActionItem(action_item))?;
                // The owner answers for its own item; the chair may record it
                // on the owner's behalf.
                require(
                    actor.role == state.chair_role() || actor.role.party() == Some(found.owner),
                    || MeetingError::NotTheOwner,
                )?;
                require(found.done_at.is_none(), || {
                    MeetingError::ActionItemAlreadyDone(action_item)
                })?;
                vec![MeetingEvent::ActionItemCompleted {
                    action_item,
                    note,
                    at: now,
                }]
            }
        };
        Ok(events)
    }
}

fn convene_meeting(
    actor: Actor,
    convene: ConveneMeeting,
    now: DateTime<Utc>,
    services: &MeetingServices,
) -> Result<Vec<MeetingEvent>, MeetingError> {
    // DOMAIN: the party branch convenes the xiaoqu's meetings; the tier
    // holding an escalated matter may convene one for the xiaoqu too, and
    // chairs it.
    let chair = match actor.role {
        Role::PartyBranch => Tier::Xiaoqu,
        role => role.tier().ok_or(MeetingError::RoleNotAllowed {
            action: "convene",
            role,
        })?,
    };
    require(convene.scheduled_for >= now, || {
        MeetingError::ScheduledInThePast
    })?;
    require(
        convene.kind != MeetingKind::Urgent || !convene.agenda.is_empty(),
        || MeetingError::UrgentMeetingNeedsAnItem,
    )?;
    require(
        convene.invited_people.len() <= JointMeeting::MAX_INVITEES,
        || MeetingError::TooManyInvitees {
            max: JointMeeting::MAX_INVITEES,
        },
    )?;
    check_agenda(&[], &convene.agenda)?;
    for (i, invitee) in convene.invited_people.iter().enumerate() {
        let seen = convene.invited_people[..i]
            .iter()
            .any(|earlier| earlier.account == invitee.account);
        require(!seen, || MeetingError::DuplicateInvitee(invitee.account))?;
    }
    let convened = MeetingEvent::MeetingConvened {
        meeting_id: convene.meeting_id,
        xiaoqu: convene.xiaoqu,
        kind: convene.kind,
        scheduled_for: convene.scheduled_for,
        place: convene.place,
        invited_parties: PartyRole::MEETING_PARTIES.to_vec(),
        invited_people: convene.invited_people,
        // Fixed now, so that a later policy change does not move the bar for
        // a meeting already called.
        quorum: services.policy.quorum(convene.xiaoqu),
        chair,
        convened_at: now,
    };
    let items = convene
        .agenda
        .into_iter()
        .map(|draft| item_added(draft, now));
    Ok(std::iter::once(convened).chain(items).collect())
}

fn item_added(draft: AgendaItemDraft, now: DateTime<Utc>) -> MeetingEvent {
    MeetingEvent::AgendaItemAdded {
        item_id: draft.item_id,
        subject: draft.subject,
        title: draft.title,
        at: now,
    }
}

/// `drafts` may join `existing`: the agenda stays within its size, no id
/// appears twice, and no subject but `Other` appears twice.
fn check_agenda(existing: &[AgendaItem], drafts: &[AgendaItemDraft]) -> Result<(), MeetingError> {
    require(
        existing.len() + drafts.len() <= JointMeeting::MAX_AGENDA_ITEMS,
        || MeetingError::TooManyAgendaItems {
            max: JointMeeting::MAX_AGENDA_ITEMS,
        },
    )?;
    let earlier = |i: usize| {
        existing
            .iter()
            .map(|item| (item.id, item.subject))
            .chain(drafts[..i].iter().map(|d| (d.item_id, d.subject)))
    };
    for (i, draft) in drafts.iter().enumerate() {
        require(!earlier(i).any(|(id, _)| id == draft.item_id), || {
            MeetingError::DuplicateItem(draft.item_id)
        })?;
        let repeated = draft.subject != AgendaSubject::Other
            && earlier(i).any(|(_, subject)| subject == draft.subject);
        require(!repeated, || {
            MeetingError::SubjectAlreadyOnAgenda(draft.subject)
        })?;
    }
    Ok(())
}

/// Who is present: meeting parties and invited people, each once, with a quorum.
fn check_present(
    state: &JointMeetingState,
    parties: &[PartyRole],
    people: &[AccountId],
) -> Result<(), MeetingError> {
    for (i, party) in parties.iter().enumerate() {
        require(PartyRole::MEETING_PARTIES.contains(party), || {
            MeetingError::NotAMeetingParty(*party)
        })?;
        require(!parties[..i].contains(party), || {
            MeetingError::DuplicatePresentParty(*party)
        })?;
    }
    for (i, person) in people.iter().enumerate() {
        require(
            state.invited_people.iter().any(|p| p.account == *person),
            || MeetingError::NotInvited(*person),
        )?;
        require(!people[..i].contains(person), || {
            MeetingError::DuplicatePresentPerson(*person)
        })?;
    }
    require(state.quorum.is_met(parties), || {
        MeetingError::QuorumNotMet {
            present: QuorumRule::others_present(parties),
            required: state.quorum.others_required,
            party_branch_present: parties.contains(&PartyRole::PartyBranch),
        }
    })
}

fn require_pending(state: &JointMeetingState, item: AgendaItemId) -> Result<(), MeetingError> {
    let found = state.item(item).ok_or(MeetingError::UnknownItem(item))?;
    require(found.outcome.is_pending(), || {
        MeetingError::ItemAlreadySettled(item)
    })
}

/// Exactly one position from each present party, and none from anyone else.
fn check_positions(
    state: &JointMeetingState,
    positions: &[PartyPosition],
) -> Result<(), MeetingError> {
    for (i, position) in positions.iter().enumerate() {
        let party = position.party;
        require(state.present_parties.contains(&party), || {
            MeetingError::PartyNotPresent(party)
        })?;
        require(!positions[..i].iter().any(|p| p.party == party), || {
            MeetingError::DuplicatePosition(party)
        })?;
    }
    for party in &state.present_parties {
        require(positions.iter().any(|p| p.party == *party), || {
            MeetingError::PositionMissing(*party)
        })?;
    }
    Ok(())
}

/// New action items: few enough, ids new to the meeting, owned by a meeting
/// party, falling due after now.
fn check_action_items(
    state: &JointMeetingState,
    drafts: &[ActionItemDraft],
    now: DateTime<Utc>,
) -> Result<(), MeetingError> {
    require(
        drafts.len() <= JointMeeting::MAX_ACTION_ITEMS_PER_DECISION,
        || MeetingError::TooManyActionItems {
            max: JointMeeting::MAX_ACTION_ITEMS_PER_DECISION,
        },
    )?;
    for (i, draft) in drafts.iter().enumerate() {
        let id = draft.action_item_id;
        let seen =
            state.action_item(id).is_some() || drafts[..i].iter().any(|d| d.action_item_id == id);
        require(!seen, || MeetingError::DuplicateActionItem(id))?;
        require(PartyRole::MEETING_PARTIES.contains(&draft.owner), || {
            MeetingError::NotAMeetingParty(draft.owner)
        })?;
        require(draft.due_at > now, || {
            MeetingError::DueDateNotInTheFuture(id)
        })?;
    }
    Ok(())
}

/// The chair (the role of the tier that convened) runs the meeting.
fn require_chair(
    state: &JointMeetingState,
    actor: Actor,
    action: &'static str,
) -> Result<(), MeetingError> {
    require(actor.role == state.chair_role(), || {
        MeetingError::RoleNotAllowed {
            action,
            role: actor.role,
        }
    })
}

impl Aggregate for JointMeeting {
    /// Never changes once data exists: it is stored with every event.
    const TYPE: &'static str = "joint_meeting";
    type Command = MeetingCommand;
    type Event = MeetingEvent;
    type Error = MeetingError;
    type Services = MeetingServices;

    async fn handle(
        &mut self,
        command: Self::Command,
        services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        for event in self.decide(command, services)? {
            sink.write(event, self).await;
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        let at = event.at();
        let state = match (&mut self.state, event) {
            (
                None,
                MeetingEvent::MeetingConvened {
                    meeting_id,
                    xiaoqu,
                    kind,
                    scheduled_for,
                    place,
                    invited_parties,
                    invited_people,
                    quorum,
                    chair,
                    convened_at,
                },
            ) => {
                self.state = Some(JointMeetingState {
                    id: meeting_id,
                    xiaoqu,
                    kind,
                    status: MeetingStatus::Convened,
                    scheduled_for,
                    place,
                    invited_parties,
                    invited_people,
                    quorum,
                    chair,
                    agenda: Vec::new(),
                    action_items: Vec::new(),
                    present_parties: Vec::new(),
                    present_people: Vec::new(),
                    public_summary: None,
                    convened_at,
                    opened_at: None,
                    closed_at: None,
                    cancelled_at: None,
                    cancellation_reason: None,
                    last_changed_at: convened_at,
                });
                return;
            }
            // A stream is always opened by MeetingConvened; anything else before it is ignored.
            (None, _) | (Some(_), MeetingEvent::MeetingConvened { .. }) => return,
            (Some(state), event) => {
                apply_to(state, event);
                state
            }
        };
        state.last_changed_at = at;
    }
}

fn apply_to(state: &mut JointMeetingState, event: MeetingEvent) {
    match event {
        MeetingEvent::MeetingConvened { .. } => {}
        MeetingEvent::AgendaItemAdded {
            item_id,
            subject,
            title,
            ..
        } => state.agenda.push(AgendaItem {
            id: item_id,
            subject,
            title,
            outcome: ItemOutcome::Pending,
        }),
        MeetingEvent::MeetingOpened {
            present_parties,
            present_people,
            at,
        } => {
            state.status = MeetingStatus::Open;
            state.present_parties = present_parties;
            state.present_people = present_people;
            state.opened_at = Some(at);
        }
        MeetingEvent::ItemDecided {
            item,
            summary,
            decision,
            positions,
            vote,
            at,
        } => set_outcome(
            state,
            item,
            ItemOutcome::Decided {
                summary,
                decision,
                positions,
                vote,
                at,
            },
        ),
        MeetingEvent::ActionItemAssigned {
            action_item_id,
            item,
            owner,
            description,
            due_at,
            ..
        } => state.action_items.push(ActionItem {
            id: action_item_id,
            item,
            owner,
            description,
            due_at,
            done_at: None,
            note: None,
        }),
        MeetingEvent::ItemDeferred { item, reason, at } => {
            set_outcome(state, item, ItemOutcome::Deferred { reason, at })
        }
        MeetingEvent::MeetingClosed { public_summary, at } => {
            state.status = MeetingStatus::Closed;
            state.public_summary = public_summary;
            state.closed_at = Some(at);
        }
        MeetingEvent::MeetingCancelled { reason, at } => {
            state.status = MeetingStatus::Cancelled;
            state.cancelled_at = Some(at);
            state.cancellation_reason = Some(reason);
        }
        MeetingEvent::ActionItemCompleted {
            action_item,
            note,
            at,
        } => {
            if let Some(found) = state.action_items.iter_mut().find(|a| a.id == action_item) {
                found.done_at = Some(at);
                found.note = note;
            }
        }
    }
}

fn set_outcome(state: &mut JointMeetingState, item: AgendaItemId, outcome: ItemOutcome) {
    if let Some(found) = state.agenda.iter_mut().find(|i| i.id == item) {
        found.outcome = outcome;
    }
}
