//! Old payloads read as the current events.
//!
//! Version 1 of `GrievanceAccepted` and `GrievanceRejected` did not record
//! whether the accept deadline was kept: replay judged it. Version 2 records
//! the verdict `decide` took. A version 1 event is upcast here with the rule
//! in force when it was written, frozen: changing how `decide` judges
//! timeliness never changes the figures of what was recorded before.

use chrono::{DateTime, Utc};

use crate::deadline::Stage;

use super::aggregate::GrievanceState;
use super::events::{GrievanceEvent, Timeliness};

/// `event` as the current version, given the state before it.
pub(super) fn upcast(state: Option<&GrievanceState>, event: GrievanceEvent) -> GrievanceEvent {
    match (state, event) {
        (Some(state), GrievanceEvent::GrievanceAccepted { at, on_time: None }) => {
            GrievanceEvent::GrievanceAccepted {
                at,
                on_time: Some(version_1_verdict(state, at)),
            }
        }
        (
            Some(state),
            GrievanceEvent::GrievanceRejected {
                reason,
                at,
                on_time: None,
            },
        ) => GrievanceEvent::GrievanceRejected {
            reason,
            on_time: Some(version_1_verdict(state, at)),
            at,
        },
        (_, event) => event,
    }
}

/// The accept-deadline verdict as version 1 replay took it. Frozen: never
/// change it, or past figures change with it.
fn version_1_verdict(state: &GrievanceState, at: DateTime<Utc>) -> Timeliness {
    let verdict = if state.accept_on_time == Some(false) {
        Some(false)
    } else {
        match (state.deadline, state.paused) {
            (Some(d), _) if d.stage == Stage::Accept => Some(at <= d.due_at),
            (_, Some(p)) if p.stage == Stage::Accept => Some(true),
            _ => state.accept_on_time,
        }
    };
    match verdict {
        Some(true) => Timeliness::OnTime,
        Some(false) => Timeliness::Late,
        None => Timeliness::Untimed,
    }
}
