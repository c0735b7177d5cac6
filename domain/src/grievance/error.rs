use chrono::{DateTime, Utc};

use crate::actor::Role;
use crate::values::{CaseId, EscalationReason, Tier};

use super::Status;

/// Every rule a grievance command can break, one variant per rule.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GrievanceError {
    #[error("no grievance has been filed under this id")]
    NotFiled,
    #[error("a grievance has already been filed under this id")]
    AlreadyFiled,
    #[error("cannot {action} a grievance that is {status}")]
    InvalidTransition {
        action: &'static str,
        status: Status,
    },
    #[error("the role {role} may not {action} grievances")]
    RoleNotAllowed { action: &'static str, role: Role },
    #[error("only the filer may {action} this grievance")]
    NotTheFiler { action: &'static str },
    #[error("only the party handling this grievance at its current tier may {action} it")]
    NotTheHandler { action: &'static str },
    #[error("only the assigned party may respond to this grievance")]
    NotTheAssignedParty,
    #[error("the reopen window closed at {closed_at}")]
    ReopenWindowClosed { closed_at: DateTime<Utc> },
    #[error("the filer rated the outcome as satisfied; it cannot be reopened")]
    RatedSatisfied,
    #[error("this household has rated the outcome already")]
    AlreadyRated,
    #[error("the outcome could be rated until {closed_at}")]
    RatingWindowClosed { closed_at: DateTime<Utc> },
    #[error("a grievance holds at most {max} attachments")]
    TooManyAttachments { max: usize },
    #[error("the file {sha256} is attached already")]
    AlreadyAttached { sha256: String },
    #[error("no files to attach")]
    NothingToAttach,
    #[error("the grievance is already at the top tier")]
    AlreadyAtTopTier,
    #[error("triage cannot move a grievance down from {current:?} to {requested:?}")]
    TierBelowCurrent { current: Tier, requested: Tier },
    #[error("a grievance cannot be merged into itself")]
    CannotMergeIntoItself,
    #[error("the primary grievance belongs to another xiaoqu")]
    MergeAcrossXiaoqu,
    #[error("the primary grievance is {status} and takes no duplicates")]
    PrimaryTakesNoDuplicates { status: Status },
    #[error("the deadline given is not the grievance's current deadline")]
    DeadlineNotCurrent,
    #[error("the deadline falls due at {due_at}, not yet")]
    DeadlineNotDue { due_at: DateTime<Utc> },
    #[error("the deadline is already paused")]
    AlreadyPaused,
    #[error("the deadline is not paused")]
    NotPaused,
    #[error("there is no running deadline to pause")]
    NoRunningDeadline,
    #[error("the grievance is not in the mediation case {case}")]
    NotInCase { case: CaseId },
    #[error("the escalation reason {reason:?} is not available to the role {role}")]
    EscalationReasonNotAllowed {
        reason: EscalationReason,
        role: Role,
    },
}
