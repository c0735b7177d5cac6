//! The JointMeeting aggregate (联席会议): convened and chaired by the party
//! branch with the five parties invited, opened with a quorum, its agenda
//! items decided (with each present party's position and the action items
//! assigned) or deferred, then closed, which publishes the minutes; or
//! cancelled before it opens. Action items are completed afterwards by their
//! owner party.
//!
//! - `aggregate`: the state, `decide`/`apply`, the quorum rule and policy.
//! - `commands`: `MeetingCommand`, `MeetingAction` and the drafts they carry.
//! - `events`: `MeetingEvent`.
//! - `error`: `MeetingError`, one variant per rule.

mod aggregate;
mod commands;
mod error;
mod events;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

pub use aggregate::{
    ActionItem, AgendaItem, ItemOutcome, JointMeeting, JointMeetingState, MeetingPolicy,
    MeetingServices, MeetingStatus, QuorumRule,
};
pub use commands::{
    ActionItemDraft, AgendaItemDraft, AgendaSubject, CitedVote, ConveneMeeting, Invitee,
    InviteeCapacity, MeetingAction, MeetingCommand, PartyPosition,
};
pub use error::MeetingError;
pub use events::MeetingEvent;
