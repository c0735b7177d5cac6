//! How a grievance follows the steps of its mediation case and of the
//! joint meetings that have it on their agenda (`FollowCase`,
//! `FollowMeeting`).

use chrono::{DateTime, Utc};

use crate::actor::require;
use crate::deadline::Stage;
use crate::services::GrievanceServices;
use crate::values::{CaseId, EscalationReason, MeetingId, MeetingKind};

use super::aggregate::{GrievanceState, Status};
use super::commands::{CaseStep, MeetingStep};
use super::error::GrievanceError;
use super::events::GrievanceEvent;

/// The events by which a grievance follows a step of its mediation case.
pub(super) fn follow_case(
    state: &GrievanceState,
    services: &GrievanceServices,
    now: DateTime<Utc>,
    case: CaseId,
    sequence: u64,
    step: CaseStep,
) -> Result<Vec<GrievanceEvent>, GrievanceError> {
    let in_case = state.mediation.filter(|link| link.case == case);
    if in_case.is_some_and(|link| sequence <= link.sequence) {
        // Followed already: the process manager repeated itself.
        return Ok(Vec::new());
    }
    let refuse = |action| GrievanceError::InvalidTransition {
        action,
        status: state.status,
    };
    let followed = GrievanceEvent::CaseFollowed {
        case,
        sequence,
        step: step.clone(),
        at: now,
    };
    let resolve_clock = |tier_state: &GrievanceState| GrievanceEvent::DeadlineSet {
        stage: Stage::Resolve,
        due_at: tier_state.due(services, Stage::Resolve, now),
        at: now,
    };
    match step {
        CaseStep::Opened => {
            // DOMAIN: open mediation from Triaged..Responded.
            require(
                matches!(
                    state.status,
                    Status::Triaged | Status::Assigned | Status::Responded
                ),
                || refuse("enter mediation"),
            )?;
            Ok(vec![followed, resolve_clock(state)])
        }
        CaseStep::Agreed { .. } | CaseStep::Failed { .. } if in_case.is_none() => {
            Err(GrievanceError::NotInCase { case })
        }
        CaseStep::Agreed { .. } => {
            require(state.status == Status::InMediation, || {
                refuse("resolve by agreement")
            })?;
            Ok(vec![followed])
        }
        CaseStep::Reopened => {
            if in_case.is_none() {
                return Err(GrievanceError::NotInCase { case });
            }
            require(
                matches!(state.status, Status::Resolved | Status::Closed),
                || refuse("reopen with its case"),
            )?;
            // DOMAIN: a missed obligation reopens the matter; by
            // configuration it also climbs a tier at once (else the resolve
            // deadline decides).
            let mut events = vec![followed];
            if services.policy.escalate_on_missed_obligation {
                if let Some(to) = state.tier.next() {
                    events.push(GrievanceEvent::GrievanceEscalated {
                        from: state.tier,
                        to,
                        reason: EscalationReason::ObligationMissed,
                        note: None,
                        at: now,
                    });
                }
            }
            events.push(resolve_clock(state));
            Ok(events)
        }
        CaseStep::Failed { escalate } => {
            require(state.status == Status::InMediation, || {
                refuse("leave a failed mediation")
            })?;
            let mut events = vec![followed];
            if escalate {
                if let Some(to) = state.tier.next() {
                    events.push(GrievanceEvent::GrievanceEscalated {
                        from: state.tier,
                        to,
                        reason: EscalationReason::MediationFailed,
                        note: None,
                        at: now,
                    });
                }
                events.push(resolve_clock(state));
            }
            Ok(events)
        }
    }
}

/// The events by which a grievance follows a step of a joint meeting.
/// Meetings only inform; they never refuse, so a meeting about a grievance
/// withdrawn meanwhile still leaves its mark.
pub(super) fn follow_meeting(
    state: &GrievanceState,
    services: &GrievanceServices,
    now: DateTime<Utc>,
    meeting: MeetingId,
    sequence: u64,
    step: MeetingStep,
) -> Vec<GrievanceEvent> {
    let followed_already = state
        .meetings
        .iter()
        .any(|m| m.meeting == meeting && sequence <= m.sequence);
    if followed_already {
        return Vec::new();
    }
    let live = state.status == Status::Filed || state.status.is_in_progress();
    let mut events = vec![GrievanceEvent::MeetingFollowed {
        meeting,
        sequence,
        step: step.clone(),
        at: now,
    }];
    let referral = state.meeting_referral;
    let stage = state.current_stage();
    match (step, referral) {
        // The urgent meeting is convened: the matter is on track again.
        (MeetingStep::Convened { kind }, Some(r))
            if live
                && r.meeting.is_none()
                && satisfies(kind, r.kind)
                && stage == Some(Stage::Convene) =>
        {
            events.push(GrievanceEvent::DeadlineSet {
                stage: Stage::Respond,
                due_at: state.due(services, Stage::Respond, now),
                at: now,
            });
        }
        // The urgent meeting fell through: the urgent window runs again,
        // never longer than it first was.
        (MeetingStep::Cancelled | MeetingStep::Deferred, Some(r))
            if live && r.meeting == Some(meeting) && r.kind == MeetingKind::Urgent =>
        {
            events.push(GrievanceEvent::DeadlineSet {
                stage: Stage::Convene,
                due_at: r.due_at.map_or(now, |due| due.max(now)),
                at: now,
            });
        }
        _ => {}
    }
    events
}

/// Whether a meeting of `kind` answers a referral of `wanted`: an urgent
/// matter needs an urgent meeting; a regular one takes any.
pub(super) fn satisfies(kind: MeetingKind, wanted: MeetingKind) -> bool {
    kind == MeetingKind::Urgent || wanted == MeetingKind::Regular
}
