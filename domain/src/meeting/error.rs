use crate::actor::Role;
use crate::values::{AccountId, ActionItemId, AgendaItemId, PartyRole};

use super::aggregate::MeetingStatus;
use super::commands::AgendaSubject;

/// Every rule a meeting command can break, one variant per rule.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MeetingError {
    #[error("no meeting has been convened under this id")]
    NotConvened,
    #[error("a meeting has already been convened under this id")]
    AlreadyConvened,
    #[error("cannot {action} a meeting that is {status}")]
    InvalidTransition {
        action: &'static str,
        status: MeetingStatus,
    },
    #[error("the role {role} may not {action} joint meetings")]
    RoleNotAllowed { action: &'static str, role: Role },
    #[error("a meeting cannot be scheduled in the past")]
    ScheduledInThePast,
    #[error("an urgent meeting needs at least one agenda item")]
    UrgentMeetingNeedsAnItem,
    #[error("an agenda holds at most {max} items")]
    TooManyAgendaItems { max: usize },
    #[error("a meeting invites at most {max} people besides the parties")]
    TooManyInvitees { max: usize },
    #[error("the agenda item {0} is already on the agenda")]
    DuplicateItem(AgendaItemId),
    #[error("{0:?} is already on the agenda")]
    SubjectAlreadyOnAgenda(AgendaSubject),
    #[error("the account {0} is invited twice")]
    DuplicateInvitee(AccountId),
    #[error("{0:?} is not one of the five parties of a joint meeting")]
    NotAMeetingParty(PartyRole),
    #[error("{0:?} is listed as present twice")]
    DuplicatePresentParty(PartyRole),
    #[error("the account {0} was not invited")]
    NotInvited(AccountId),
    #[error("the account {0} is listed as present twice")]
    DuplicatePresentPerson(AccountId),
    #[error(
        "no quorum: the party branch and {required} of the other parties must be present \
         (party branch present: {party_branch_present}, others present: {present})"
    )]
    QuorumNotMet {
        /// How many of the four parties other than the party branch are present.
        present: u8,
        required: u8,
        party_branch_present: bool,
    },
    #[error("no agenda item {0} on this meeting")]
    UnknownItem(AgendaItemId),
    #[error("the agenda item {0} is already decided or deferred")]
    ItemAlreadySettled(AgendaItemId),
    #[error("{0:?} is present but gave no position")]
    PositionMissing(PartyRole),
    #[error("{0:?} is not present and cannot take a position")]
    PartyNotPresent(PartyRole),
    #[error("{0:?} gave more than one position")]
    DuplicatePosition(PartyRole),
    #[error("a decision assigns at most {max} action items")]
    TooManyActionItems { max: usize },
    #[error("the action item {0} already exists on this meeting")]
    DuplicateActionItem(ActionItemId),
    #[error("the action item {0} must fall due after now")]
    DueDateNotInTheFuture(ActionItemId),
    #[error("{count} agenda items are neither decided nor deferred")]
    ItemsPending { count: usize },
    #[error("no action item {0} on this meeting")]
    UnknownActionItem(ActionItemId),
    #[error("the action item {0} is already done")]
    ActionItemAlreadyDone(ActionItemId),
    #[error("only the owner party or the party branch may complete this action item")]
    NotTheOwner,
    #[error("a decision cites only a closed owners' vote of the meeting's xiaoqu")]
    VoteNotCitable,
}
