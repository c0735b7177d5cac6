//! The MediationCase aggregate (调解): opened by the party branch (or a
//! higher tier) for grievances on one matter; sessions with attendance and
//! statements; proposal rounds that every party accepts or one declines; an
//! agreement whose per-party obligations are fulfilled (concluding the case)
//! or missed (reopening it); or failure, which refers the matter on.

mod aggregate;
mod commands;
mod error;
mod events;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

pub use aggregate::{
    Agreement, CaseStatus, Failure, HeldSession, MediationCase, MediationCaseState,
    MediationServices, Obligation, ObligationStatus, Proposal, Session,
};
pub use commands::{
    CaseParty, FailureOutcome, MediationAction, MediationCommand, ObligationDraft, OpenCase,
    PartyStatement,
};
pub use error::MediationError;
pub use events::MediationEvent;
