use chrono::{DateTime, Utc};

use crate::actor::Role;
use crate::values::{GrievanceId, ObligationId, PartyRole};

use super::{CaseParty, CaseStatus};

/// Every rule a mediation command can break, one variant per rule.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MediationError {
    #[error("no mediation case has been opened under this id")]
    NotOpened,
    #[error("a mediation case has already been opened under this id")]
    AlreadyOpened,
    #[error("cannot {action} a mediation case that is {status}")]
    InvalidTransition {
        action: &'static str,
        status: CaseStatus,
    },
    #[error("the role {role} may not {action} mediation cases")]
    RoleNotAllowed { action: &'static str, role: Role },
    #[error("only the mediator of this case may {action} it")]
    NotTheMediator { action: &'static str },
    #[error("only the party named, or the mediator, may act for it")]
    NotThatParty,
    #[error("a case needs at least one grievance")]
    NoGrievances,
    #[error("a case holds at most {max} grievances")]
    TooManyGrievances { max: usize },
    #[error("the grievance {0} is listed twice")]
    DuplicateGrievance(GrievanceId),
    #[error("a case needs at least one applicant")]
    NoApplicants,
    #[error("a case needs at least one respondent")]
    NoRespondents,
    #[error("a case lists at most {max} applicants and {max} respondents")]
    TooManyParties { max: usize },
    #[error("the {0} is listed twice")]
    DuplicateParty(CaseParty),
    #[error("the {0:?} mediates and cannot be a party to a mediation")]
    PartyCannotBeMediated(PartyRole),
    #[error("the {0} is not a party to this case")]
    NotACaseParty(CaseParty),
    #[error("a session needs a place or a joint meeting")]
    NoPlaceOrMeeting,
    #[error("a session cannot be scheduled in the past")]
    SessionInThePast,
    #[error("there is no session {0}")]
    UnknownSession(u32),
    #[error("session {0} has already been recorded")]
    SessionAlreadyRecorded(u32),
    #[error("the {0} made a statement but did not attend")]
    StatementFromAbsentParty(CaseParty),
    #[error("the {0} has more than one statement")]
    DuplicateStatement(CaseParty),
    #[error("an agreement holds at most {max} obligations")]
    TooManyObligations { max: usize },
    #[error("the obligation {0} is listed twice")]
    DuplicateObligation(ObligationId),
    #[error("an obligation's due date must be in the future")]
    DueDateNotInTheFuture,
    #[error("the agreement has no obligation {0}")]
    UnknownObligation(ObligationId),
    #[error("the obligation {0} is no longer open")]
    ObligationNotOpen(ObligationId),
    #[error("the obligation falls due at {due_at}, not yet")]
    DeadlineNotDue { due_at: DateTime<Utc> },
    #[error("the due date given is not the obligation's")]
    DueDateChanged,
}
