//! Services injected into aggregates: the clock and the rules that are
//! configuration rather than code.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, TimeDelta, Utc};

use crate::deadline::DeadlinePolicy;

/// The source of "now". Aggregates never read the system clock themselves.
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> DateTime<Utc>;
}

/// The wall clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that stands still until told to move; for tests and replays.
#[derive(Clone, Debug)]
pub struct FixedClock(Arc<Mutex<DateTime<Utc>>>);

impl FixedClock {
    pub fn at(now: DateTime<Utc>) -> Self {
        Self(Arc::new(Mutex::new(now)))
    }

    pub fn advance(&self, by: TimeDelta) {
        let mut now = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *now += by;
    }
}

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Configurable grievance rules (DOMAIN.md defaults).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GrievancePolicy {
    /// How long after resolution the filer may ask to reopen.
    pub reopen_window: TimeDelta,
    /// Stage deadlines.
    pub deadlines: DeadlinePolicy,
    /// When an obligation of a mediation agreement is missed, the grievance
    /// reopens with its case; with this set it also climbs one tier at
    /// once. Without it (the default) the resolve deadline decides.
    pub escalate_on_missed_obligation: bool,
}

impl Default for GrievancePolicy {
    fn default() -> Self {
        Self {
            reopen_window: TimeDelta::days(15),
            deadlines: DeadlinePolicy::default(),
            escalate_on_missed_obligation: false,
        }
    }
}

/// Everything `Grievance::handle` may consult besides the command and state.
#[derive(Clone, Debug)]
pub struct GrievanceServices {
    pub clock: Arc<dyn Clock>,
    pub policy: GrievancePolicy,
}

impl GrievanceServices {
    pub fn new(clock: Arc<dyn Clock>, policy: GrievancePolicy) -> Self {
        Self { clock, policy }
    }
}
