//! The process manager that makes grievances follow their mediation cases
//! and joint meetings.
//!
//! The `follow_ups` projection records every case and meeting event as a
//! pending row, exactly once. A pass (the `workers::follow_ups` worker runs
//! one per instance every poll interval) takes the rows in feed order,
//! works out which grievances follow the event and how (the domain's
//! `following::case_steps` and `meeting_steps`), runs those grievance
//! commands as the service, and deletes the row. Each command names the event's sequence
//! number, and a grievance ignores a step it followed already, so a crash
//! between a command and the delete, or two instances working the same row,
//! never doubles an effect. A store failure stops the pass there, so that a
//! grievance never sees a later step before an earlier one.

use cqrs_es::Aggregate;
use lianxi_domain::following::{case_steps, meeting_steps};
use lianxi_domain::mediation::MediationCase;
use lianxi_domain::meeting::JointMeeting;
use lianxi_domain::values::{CaseId, GrievanceId, MeetingId};
use lianxi_domain::{Actor, GrievanceAction, GrievanceCommand, Role};
use lianxi_projections::follow_ups::{self, PendingFollowUp};
use serde::de::DeserializeOwned;
use tracing::{info, warn};
use uuid::Uuid;

use super::{AppState, SYSTEM_ACCOUNT};
use crate::db::StoredEvent;
use crate::event_log::{CommandError, CommandMetadata};

/// What one pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pass {
    /// Rows worked off.
    pub rows: usize,
    /// Grievance commands that changed a grievance.
    pub followed: usize,
    /// Grievance commands the grievance refused (it moved on meanwhile).
    pub refused: usize,
}

/// Why a row stays pending.
#[derive(Debug)]
struct Retry(String);

/// Folds the stream's events up to and including `sequence`; returns the
/// state then and that event.
fn state_at<A>(events: &[StoredEvent], sequence: i64) -> Result<(A, A::Event), Retry>
where
    A: Aggregate + Default,
    A::Event: DeserializeOwned,
{
    let mut aggregate = A::default();
    let mut last = None;
    for stored in events.iter().filter(|e| e.sequence <= sequence) {
        let event: A::Event = serde_json::from_value(stored.payload.clone())
            .map_err(|e| Retry(format!("cannot read event {}: {e}", stored.sequence)))?;
        aggregate.apply(event.clone());
        if stored.sequence == sequence {
            last = Some(event);
        }
    }
    let event = last.ok_or_else(|| Retry(format!("no event {sequence} in the stream")))?;
    Ok((aggregate, event))
}

/// The grievance commands that follow one pending row.
fn commands_for(
    row: &PendingFollowUp,
    events: &[StoredEvent],
) -> Result<Vec<(GrievanceId, GrievanceAction)>, Retry> {
    let source = Uuid::parse_str(&row.source_id)
        .map_err(|e| Retry(format!("bad source id {}: {e}", row.source_id)))?;
    let sequence = u64::try_from(row.sequence).unwrap_or_default();
    if row.source_type == MediationCase::TYPE {
        let (case, event) = state_at::<MediationCase>(events, row.sequence)?;
        let Some(state) = case.state() else {
            return Ok(Vec::new());
        };
        Ok(case_steps(state, &event)
            .into_iter()
            .map(|(g, step)| {
                let action = GrievanceAction::FollowCase {
                    case: CaseId(source),
                    sequence,
                    step,
                };
                (g, action)
            })
            .collect())
    } else if row.source_type == JointMeeting::TYPE {
        let (meeting, event) = state_at::<JointMeeting>(events, row.sequence)?;
        let Some(state) = meeting.state() else {
            return Ok(Vec::new());
        };
        Ok(meeting_steps(state, &event)
            .into_iter()
            .map(|(g, step)| {
                let action = GrievanceAction::FollowMeeting {
                    meeting: MeetingId(source),
                    sequence,
                    step,
                };
                (g, action)
            })
            .collect())
    } else {
        Ok(Vec::new())
    }
}

async fn follow(app: &AppState, row: &PendingFollowUp, pass: &mut Pass) -> Result<(), Retry> {
    let events = app
        .db
        .stream(&row.source_type, &row.source_id)
        .await
        .map_err(|e| Retry(e.to_string()))?;
    for (grievance, action) in commands_for(row, &events)? {
        let metadata = CommandMetadata {
            request_id: format!(
                "follow-{}-{}-{}",
                row.source_type, row.source_id, row.sequence
            ),
            occurred_at: app.log.services().clock.now(),
            reason: Some(format!(
                "{} {} of {} {}",
                row.event_type, row.sequence, row.source_type, row.source_id
            )),
        };
        let command = GrievanceCommand::new(Actor::new(SYSTEM_ACCOUNT, Role::System), action);
        match app.log.execute(grievance, None, command, &metadata).await {
            Ok(c) if c.appended > 0 => pass.followed += 1,
            Ok(_) => {}
            Err(CommandError::Domain(e)) => {
                // The grievance moved on (withdrawn, merged, already elsewhere):
                // it does not follow, and retrying would not change that.
                info!(%grievance, source = %row.source_id, error = %e, "grievance did not follow");
                pass.refused += 1;
            }
            Err(e) => return Err(Retry(e.to_string())),
        }
    }
    Ok(())
}

/// Works off the pending rows, in order, until one has to wait.
pub async fn tick(app: &AppState) -> Result<Pass, String> {
    let store = app.db.store();
    let rows = follow_ups::pending(&store, 100)
        .await
        .map_err(|e| e.to_string())?;
    let mut pass = Pass::default();
    for row in rows {
        if let Err(Retry(e)) = follow(app, &row, &mut pass).await {
            warn!(source = %row.source_id, sequence = row.sequence, error = %e, "follow-up postponed");
            break;
        }
        follow_ups::done(&store, &row)
            .await
            .map_err(|e| e.to_string())?;
        pass.rows += 1;
    }
    metrics::counter!("lianxi_follow_ups_total").increment(pass.rows as u64);
    Ok(pass)
}
