//! Deadlines: escalates grievances whose stage deadline passed, and marks
//! missed the obligations of mediation agreements that fell due. The
//! scheduler worker (`workers::scheduler`) runs a pass every few seconds.
//!
//! Every instance runs one. Exactly-once comes from the domain, not from
//! coordination: the escalation command names the deadline it acts on, and a
//! grievance whose deadline is no longer that one (because another instance
//! escalated it a moment ago, which set a fresh deadline) refuses it. Two
//! instances racing on one grievance append at the same sequence number, so
//! the loser re-runs on the new state and is refused.

use lianxi_domain::mediation::{MediationAction, MediationCommand, MediationError};
use lianxi_domain::values::{CaseId, GrievanceId, ObligationId};
use lianxi_domain::{Actor, GrievanceAction, GrievanceCommand, GrievanceError, Role};
use lianxi_projections::{grievance_list, meetings};
use tracing::{info, warn};
use uuid::Uuid;

use super::{AppState, SYSTEM_ACCOUNT};
use crate::event_log::{CommandError, CommandMetadata};

/// What one pass of the scheduler did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tick {
    pub escalated: usize,
    pub skipped: usize,
}

/// Escalates every deadline due now (by the log's clock), once.
pub async fn tick(state: &AppState) -> Result<Tick, String> {
    let log = &state.log;
    let now = log.services().clock.now();
    let due = grievance_list::due(&state.db.store(), now, 100)
        .await
        .map_err(|e| e.to_string())?;
    let mut result = Tick::default();
    for item in due {
        let command = GrievanceCommand::new(
            Actor::new(SYSTEM_ACCOUNT, Role::System),
            GrievanceAction::EscalateOnMissedDeadline {
                deadline: item.deadline,
            },
        );
        let metadata = CommandMetadata {
            request_id: format!("deadline-{}", Uuid::new_v4()),
            occurred_at: now,
            reason: Some(format!(
                "{} deadline missed (due {})",
                item.deadline.stage.as_str(),
                item.deadline.due_at.to_rfc3339()
            )),
        };
        match log
            .execute(GrievanceId(item.grievance), None, command, &metadata)
            .await
        {
            Ok(_) => {
                info!(grievance = %item.grievance, stage = item.deadline.stage.as_str(), "escalated on a missed deadline");
                result.escalated += 1;
            }
            // Someone else escalated it, it moved on, or it cannot climb:
            // the read model will catch up.
            Err(CommandError::Domain(
                GrievanceError::DeadlineNotCurrent
                | GrievanceError::DeadlineNotDue { .. }
                | GrievanceError::AlreadyAtTopTier
                | GrievanceError::InvalidTransition { .. },
            )) => result.skipped += 1,
            Err(CommandError::Conflict) => result.skipped += 1,
            Err(e) => warn!(grievance = %item.grievance, error = %e, "deadline escalation failed"),
        }
    }
    Ok(result)
}

/// Marks missed every open obligation due now (by the log's clock), once:
/// the command names the due date, and an obligation no longer open (or
/// given another due date) refuses it.
pub async fn tick_obligations(state: &AppState) -> Result<Tick, String> {
    let cases = &state.cases;
    let now = cases.services().clock.now();
    let due = meetings::due_obligations(&state.db.store(), now, 100)
        .await
        .map_err(|e| e.to_string())?;
    let mut result = Tick::default();
    for item in due {
        // The read model keeps microseconds; the command names the due
        // date exactly as the case holds it.
        let (case, _) = cases
            .load(CaseId(item.case))
            .await
            .map_err(|e| e.to_string())?;
        let Some(due_at) = case
            .state()
            .and_then(|c| c.obligation(ObligationId(item.obligation)))
            .map(|o| o.due_at)
        else {
            continue;
        };
        let command = MediationCommand::new(
            Actor::new(SYSTEM_ACCOUNT, Role::System),
            MediationAction::ObligationDeadlinePassed {
                obligation: ObligationId(item.obligation),
                due_at,
            },
        );
        let metadata = CommandMetadata {
            request_id: format!("deadline-{}", Uuid::new_v4()),
            occurred_at: now,
            reason: Some(format!(
                "obligation due {} not fulfilled",
                item.due_at.to_rfc3339()
            )),
        };
        match cases
            .execute(CaseId(item.case), None, command, &metadata)
            .await
        {
            Ok(c) if c.appended > 0 => {
                info!(case = %item.case, obligation = %item.obligation, "obligation missed; case reopened");
                result.escalated += 1;
            }
            Ok(_) | Err(CommandError::Conflict) => result.skipped += 1,
            Err(CommandError::Domain(
                MediationError::ObligationNotOpen(_)
                | MediationError::DeadlineNotDue { .. }
                | MediationError::DueDateChanged
                | MediationError::InvalidTransition { .. },
            )) => result.skipped += 1,
            Err(e) => warn!(case = %item.case, error = %e, "obligation deadline failed"),
        }
    }
    Ok(result)
}
