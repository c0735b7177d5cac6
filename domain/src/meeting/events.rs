use chrono::{DateTime, Utc};
use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};

use crate::values::{
    AccountId, ActionItemId, AgendaItemId, Label, MeetingId, MeetingKind, PartyRole, Reason,
    Statement, Tier, Title, VoteId, XiaoquId,
};

use super::aggregate::QuorumRule;
use super::commands::{AgendaSubject, Invitee, PartyPosition};

/// What happened to a joint meeting. The actor, role and request id of each
/// event are in its metadata; the payload carries what views need.
///
/// Payloads are a compatibility contract: a change bumps `event_version` and
/// adds an upcaster.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MeetingEvent {
    /// The party branch convened the meeting; the five parties are invited and
    /// the quorum in force for the xiaoqu is fixed for this meeting.
    MeetingConvened {
        meeting_id: MeetingId,
        xiaoqu: XiaoquId,
        kind: MeetingKind,
        scheduled_for: DateTime<Utc>,
        place: Label,
        invited_parties: Vec<PartyRole>,
        invited_people: Vec<Invitee>,
        quorum: QuorumRule,
        /// The tier that convened and chairs it: the xiaoqu (the party
        /// branch), or the tier holding an escalated matter. Version 1
        /// payloads have none: the branch chaired every meeting then.
        #[serde(default = "chaired_by_the_branch")]
        chair: Tier,
        convened_at: DateTime<Utc>,
    },
    AgendaItemAdded {
        item_id: AgendaItemId,
        subject: AgendaSubject,
        title: Title,
        at: DateTime<Utc>,
    },
    /// The meeting opened with a quorum of these parties and people.
    MeetingOpened {
        present_parties: Vec<PartyRole>,
        present_people: Vec<AccountId>,
        at: DateTime<Utc>,
    },
    /// The minutes of one item: one position per present party. Its action
    /// items follow as `ActionItemAssigned`.
    ItemDecided {
        item: AgendaItemId,
        summary: Statement,
        decision: Statement,
        positions: Vec<PartyPosition>,
        /// The owners' vote (业主共同决定) the decision rests on, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        vote: Option<VoteId>,
        at: DateTime<Utc>,
    },
    ActionItemAssigned {
        action_item_id: ActionItemId,
        item: AgendaItemId,
        owner: PartyRole,
        description: Statement,
        due_at: DateTime<Utc>,
        at: DateTime<Utc>,
    },
    /// The item returns on the next agenda.
    ItemDeferred {
        item: AgendaItemId,
        reason: Reason,
        at: DateTime<Utc>,
    },
    /// The minutes are final and published; `public_summary` carries no personal data.
    MeetingClosed {
        public_summary: Option<Statement>,
        at: DateTime<Utc>,
    },
    MeetingCancelled {
        reason: Reason,
        at: DateTime<Utc>,
    },
    ActionItemCompleted {
        action_item: ActionItemId,
        note: Option<Statement>,
        at: DateTime<Utc>,
    },
}

impl MeetingEvent {
    /// When the event happened, by the injected clock.
    pub fn at(&self) -> DateTime<Utc> {
        match self {
            MeetingEvent::MeetingConvened { convened_at, .. } => *convened_at,
            MeetingEvent::AgendaItemAdded { at, .. }
            | MeetingEvent::MeetingOpened { at, .. }
            | MeetingEvent::ItemDecided { at, .. }
            | MeetingEvent::ActionItemAssigned { at, .. }
            | MeetingEvent::ItemDeferred { at, .. }
            | MeetingEvent::MeetingClosed { at, .. }
            | MeetingEvent::MeetingCancelled { at, .. }
            | MeetingEvent::ActionItemCompleted { at, .. } => *at,
        }
    }
}

impl DomainEvent for MeetingEvent {
    fn event_type(&self) -> String {
        let name = match self {
            MeetingEvent::MeetingConvened { .. } => "MeetingConvened",
            MeetingEvent::AgendaItemAdded { .. } => "AgendaItemAdded",
            MeetingEvent::MeetingOpened { .. } => "MeetingOpened",
            MeetingEvent::ItemDecided { .. } => "ItemDecided",
            MeetingEvent::ActionItemAssigned { .. } => "ActionItemAssigned",
            MeetingEvent::ItemDeferred { .. } => "ItemDeferred",
            MeetingEvent::MeetingClosed { .. } => "MeetingClosed",
            MeetingEvent::MeetingCancelled { .. } => "MeetingCancelled",
            MeetingEvent::ActionItemCompleted { .. } => "ActionItemCompleted",
        };
        name.to_owned()
    }

    fn event_version(&self) -> String {
        match self {
            // Version 2: the chairing tier is recorded.
            MeetingEvent::MeetingConvened { .. } => "2".to_owned(),
            _ => "1".to_owned(),
        }
    }
}

/// Who chaired a meeting convened before the chair was recorded.
fn chaired_by_the_branch() -> Tier {
    Tier::Xiaoqu
}
