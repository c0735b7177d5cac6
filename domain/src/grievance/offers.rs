//! What people are offered: the lifecycle commands that would go through
//! now, found by dry runs of `decide`.

use crate::actor::Actor;
use crate::services::GrievanceServices;
use crate::values::{
    Attachment, MatterClass, MediaType, PartyRole, Rating, Reason, Sha256Hex, Statement,
};

use super::aggregate::{Grievance, GrievanceState};
use super::commands::{GrievanceAction, GrievanceCommand};

impl From<GrievanceState> for Grievance {
    fn from(state: GrievanceState) -> Self {
        Self { state: Some(state) }
    }
}

impl Grievance {
    /// Whether `decide` would record anything for `command` now: a dry run,
    /// so that an interface offers exactly what would go through.
    pub fn would_record(&self, command: GrievanceCommand, services: &GrievanceServices) -> bool {
        matches!(self.decide(command, services), Ok(events) if !events.is_empty())
    }

    /// The lifecycle commands people are offered (by name, as in
    /// [`GrievanceAction::name`]) that `actor` could run now, each found by
    /// a dry run of `decide` with representative input.
    pub fn offered_actions(&self, actor: Actor, services: &GrievanceServices) -> Vec<&'static str> {
        let (Ok(reason), Ok(statement)) = (Reason::parse("-"), Statement::parse("-")) else {
            return Vec::new();
        };
        // A file no grievance holds: attaching it is refused only by who
        // asks, the status and the count.
        let Ok(probe) = Sha256Hex::parse(&"0".repeat(64)).and_then(|sha| {
            MediaType::parse("image/jpeg").and_then(|mt| Attachment::new(sha, mt, 1))
        }) else {
            return Vec::new();
        };
        let candidates = [
            GrievanceAction::AcceptGrievance,
            GrievanceAction::RejectGrievance {
                reason: reason.clone(),
            },
            GrievanceAction::TriageGrievance {
                matter_class: MatterClass::Minor,
                tier: None,
                party: PartyRole::PartyBranch,
            },
            GrievanceAction::AssignGrievance {
                party: None,
                note: None,
            },
            GrievanceAction::RespondToGrievance {
                response: statement.clone(),
            },
            GrievanceAction::ResolveGrievance { summary: statement },
            GrievanceAction::ReferToMeeting { note: None },
            GrievanceAction::WithdrawGrievance { reason: None },
            GrievanceAction::RateOutcome {
                rating: Rating::Unsatisfied,
                comment: None,
            },
            GrievanceAction::ReopenGrievance { reason },
            GrievanceAction::AddAttachments {
                attachments: vec![probe],
            },
        ];
        candidates
            .into_iter()
            .filter(|action| {
                self.would_record(GrievanceCommand::new(actor, action.clone()), services)
            })
            .map(|action| action.name())
            .collect()
    }
}
