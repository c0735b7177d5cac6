use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::actor::Actor;
use crate::values::{
    AccountId, ActionItemId, AgendaItemId, CaseId, GrievanceId, Label, MeetingId, MeetingKind,
    PartyRole, Reason, Stance, Statement, Title, VoteId, XiaoquId,
};

/// An owners' vote a decision cites, with what the app found on its
/// stream: whether it is a vote of the meeting's xiaoqu, and closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CitedVote {
    pub vote: VoteId,
    pub of_this_xiaoqu: bool,
    pub closed: bool,
}

/// What an agenda item is about: a grievance, a mediation case, an open action
/// item from an earlier meeting, or another matter with no record of its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "id")]
pub enum AgendaSubject {
    Grievance(GrievanceId),
    MediationCase(CaseId),
    ActionItem(ActionItemId),
    /// A matter with no record of its own; it may appear more than once.
    Other,
}

/// An item to put on the agenda; its id comes from the caller.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgendaItemDraft {
    pub item_id: AgendaItemId,
    pub subject: AgendaSubject,
    pub title: Title,
}

/// Why a person (as opposed to a party) is invited.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InviteeCapacity {
    /// The filer of a grievance on the agenda.
    Filer,
    /// A building head (楼栋长).
    BuildingHead,
    Other,
}

/// A person invited besides the five parties, known only by account.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Invitee {
    pub account: AccountId,
    pub capacity: InviteeCapacity,
}

/// An action item (督办事项) to assign with a decision; its id comes from the caller.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionItemDraft {
    pub action_item_id: ActionItemId,
    /// One of the five meeting parties.
    pub owner: PartyRole,
    pub description: Statement,
    pub due_at: DateTime<Utc>,
}

/// A present party's position on a decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PartyPosition {
    pub party: PartyRole,
    pub stance: Stance,
}

/// Everything needed to convene a meeting; the ids come from the caller's id
/// generator, never from the aggregate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConveneMeeting {
    pub meeting_id: MeetingId,
    pub xiaoqu: XiaoquId,
    pub kind: MeetingKind,
    pub scheduled_for: DateTime<Utc>,
    pub place: Label,
    /// People invited besides the five parties, which are always invited.
    pub invited_people: Vec<Invitee>,
    pub agenda: Vec<AgendaItemDraft>,
}

/// A command on one joint meeting: who asks, and what.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeetingCommand {
    pub actor: Actor,
    pub action: MeetingAction,
}

impl MeetingCommand {
    pub fn new(actor: Actor, action: MeetingAction) -> Self {
        Self { actor, action }
    }
}

/// The lifecycle commands of a joint meeting (DOMAIN.md, "Joint meeting").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MeetingAction {
    ConveneMeeting(ConveneMeeting),
    /// Add an item before or during the meeting.
    AddAgendaItem(AgendaItemDraft),
    /// Open the meeting with who is there; the quorum must be met.
    OpenMeeting {
        present_parties: Vec<PartyRole>,
        present_people: Vec<AccountId>,
    },
    /// Record the minutes of one item: summary, decision (决议), each present
    /// party's position, and the action items it assigns.
    DecideItem {
        item: AgendaItemId,
        summary: Statement,
        decision: Statement,
        positions: Vec<PartyPosition>,
        action_items: Vec<ActionItemDraft>,
        /// The owners' vote the decision rests on, as its own stream says.
        cited_vote: Option<CitedVote>,
    },
    /// Leave an item for the next meeting's agenda.
    DeferItem {
        item: AgendaItemId,
        reason: Reason,
    },
    /// Close the meeting and publish its minutes; `public_summary` is the
    /// public version, without personal data.
    CloseMeeting {
        public_summary: Option<Statement>,
    },
    /// Call off a meeting that has not opened.
    CancelMeeting {
        reason: Reason,
    },
    /// The owner party (or the party branch) reports an action item done.
    CompleteActionItem {
        action_item: ActionItemId,
        note: Option<Statement>,
    },
}

impl MeetingAction {
    /// The action's name as used in errors and the API (`convene`, `open`, …).
    pub fn name(&self) -> &'static str {
        match self {
            MeetingAction::ConveneMeeting(_) => "convene",
            MeetingAction::AddAgendaItem(_) => "add_agenda_item",
            MeetingAction::OpenMeeting { .. } => "open",
            MeetingAction::DecideItem { .. } => "decide_item",
            MeetingAction::DeferItem { .. } => "defer_item",
            MeetingAction::CloseMeeting { .. } => "close",
            MeetingAction::CancelMeeting { .. } => "cancel",
            MeetingAction::CompleteActionItem { .. } => "complete_action_item",
        }
    }
}
