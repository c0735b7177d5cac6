//! How grievances follow their mediation cases and joint meetings: which
//! grievances a case or meeting event concerns, and the step each takes.
//! The process manager (the gateway's follow-up worker) turns each pair into
//! a `FollowCase` / `FollowMeeting` command; the grievance's own `decide`
//! then judges the step on its stream.

use crate::grievance::{CaseStep, MeetingStep};
use crate::mediation::{FailureOutcome, MediationCaseState, MediationEvent};
use crate::meeting::{AgendaSubject, ItemOutcome, JointMeetingState, MeetingEvent};
use crate::values::GrievanceId;

/// The grievances that follow a case event, and the step each takes.
/// `state` is the case as it stood right after `event`.
pub fn case_steps(
    state: &MediationCaseState,
    event: &MediationEvent,
) -> Vec<(GrievanceId, CaseStep)> {
    let step = match event {
        MediationEvent::MediationCaseOpened { .. } => CaseStep::Opened,
        MediationEvent::AgreementReached { terms, .. } => CaseStep::Agreed {
            terms: terms.clone(),
        },
        MediationEvent::CaseReopened { .. } => CaseStep::Reopened,
        MediationEvent::MediationFailed { outcome, .. } => CaseStep::Failed {
            escalate: *outcome == FailureOutcome::Escalate,
        },
        _ => return Vec::new(),
    };
    state
        .grievances
        .iter()
        .map(|g| (*g, step.clone()))
        .collect()
}

/// The grievances that follow a meeting event, and the step each takes.
/// `state` is the meeting as it stood right after `event`.
pub fn meeting_steps(
    state: &JointMeetingState,
    event: &MeetingEvent,
) -> Vec<(GrievanceId, MeetingStep)> {
    let grievance_of = |item| {
        state
            .agenda
            .iter()
            .find(|i| i.id == item)
            .and_then(|i| match i.subject {
                AgendaSubject::Grievance(g) => Some(g),
                _ => None,
            })
    };
    match event {
        MeetingEvent::AgendaItemAdded {
            subject: AgendaSubject::Grievance(g),
            ..
        } => vec![(*g, MeetingStep::Convened { kind: state.kind })],
        MeetingEvent::ItemDecided { item, decision, .. } => grievance_of(*item)
            .map(|g| {
                (
                    g,
                    MeetingStep::Decided {
                        decision: decision.clone(),
                    },
                )
            })
            .into_iter()
            .collect(),
        MeetingEvent::ItemDeferred { item, .. } => grievance_of(*item)
            .map(|g| (g, MeetingStep::Deferred))
            .into_iter()
            .collect(),
        MeetingEvent::MeetingCancelled { .. } => state
            .agenda
            .iter()
            .filter(|i| matches!(i.outcome, ItemOutcome::Pending))
            .filter_map(|i| match i.subject {
                AgendaSubject::Grievance(g) => Some((g, MeetingStep::Cancelled)),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}
