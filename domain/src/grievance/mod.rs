//! The Grievance aggregate (诉求): filed by a resident, accepted and triaged by
//! the party branch, answered by the responsible party, escalated up the tiers,
//! resolved, rated, reopened or merged.

mod aggregate;
mod commands;
mod error;
mod events;
mod offers;
mod state;
mod steps;
mod upcast;

#[cfg(test)]
mod attachment_tests;
#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

pub use aggregate::{
    files_grievances, Duplicate, Grievance, GrievanceState, HeldAttachment, HouseholdRating,
    MediationLink, MeetingMark, MeetingReferral, Status,
};
pub use commands::{
    CaseStep, DuplicateToLink, FileGrievance, GrievanceAction, GrievanceCommand, MeetingStep,
    PrimaryOfMerge,
};
pub use error::GrievanceError;
pub use events::{GrievanceEvent, Timeliness};
