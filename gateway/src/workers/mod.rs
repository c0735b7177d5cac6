//! The background workers every instance runs: an interface like the API,
//! driven by time and by the event feed instead of requests.
//!
//! - [`scheduler`]: escalates grievances whose deadline passed, exactly
//!   once; marks missed the obligations that fell due.
//! - [`follow_ups`]: the process manager making grievances follow their
//!   mediation cases and joint meetings.
//! - [`webhooks`]: delivers the webhook outbox.

pub mod follow_ups;
pub mod scheduler;
pub mod webhooks;
