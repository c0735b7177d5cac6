//! Lianxi's domain: aggregates, their commands, events and errors, the value
//! types they are made of, and the services (clock, policy) they are given.
//!
//! - [`values`]: parsed value types (`Title`, `Category`, `Location`, …) that
//!   cannot hold an invalid value.
//! - [`actor`]: who issues a command (`Actor`, `Role`).
//! - [`services`]: the clock and the per-xiaoqu policy injected into `handle`.
//! - [`deadline`]: stages, deadlines and the windows that set them.
//! - [`grievance`]: the `Grievance` aggregate (诉求) and its lifecycle.
//! - [`mediation`]: the `MediationCase` aggregate (调解): sessions, agreement, obligations.
//! - [`meeting`]: the `JointMeeting` aggregate (联席会议): agenda, quorum, decisions, action items.
//! - [`registry`]: the `XiaoquRegistry` aggregate: a xiaoqu's place in the
//!   hierarchy and the organizations acting as its parties.
//! - [`owners_register`], [`owners_vote`]: a xiaoqu's owners' register and
//!   the owners' votes counted from it (Civil Code art. 278); [`micro`]:
//!   micro-funds paying for micro-projects.
//! - [`person`]: the `Person` aggregate: sealed personal data and its erasure.
//! - [`following`]: how grievances follow their cases and meetings.
//!
//! Architecture invariant: this crate performs no IO and reads no clock or
//! random source; time arrives through [`services::Clock`], ids in commands.
#![forbid(unsafe_code)]

pub mod actor;
pub mod deadline;
pub mod following;
pub mod grievance;
pub mod ledger;
pub mod mediation;
pub mod meeting;
pub mod micro;
pub mod owners_register;
pub mod owners_vote;
pub mod person;
pub mod registry;
pub mod services;
pub mod values;

pub use actor::{Actor, Role};
pub use grievance::{
    Grievance, GrievanceAction, GrievanceCommand, GrievanceError, GrievanceEvent, Status,
};
pub use person::{Person, PersonAction, PersonCommand, PersonError, PersonEvent, PersonServices};
pub use services::{Clock, FixedClock, GrievancePolicy, GrievanceServices, SystemClock};
