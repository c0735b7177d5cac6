//! What a grievance holds between commands: its status, the duplicates and
//! households merged into it, its links to cases and meetings, its clock.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::actor::Role;
use crate::deadline::{Deadline, PausedDeadline, Stage};
use crate::services::GrievanceServices;
use crate::values::{
    AccountId, Attachment, CaseId, Category, Channel, Description, GrievanceId, Location,
    MatterClass, MeetingId, MeetingKind, PartyRole, Rating, Respondent, Tier, Title, Urgency,
    XiaoquId,
};

/// Where a grievance stands in its lifecycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Filed,
    Accepted,
    Rejected,
    Triaged,
    Assigned,
    Responded,
    /// Reserved for mediation cases: the grievance follows its case.
    InMediation,
    Resolved,
    Closed,
    Withdrawn,
    Merged,
    /// A failed mediation referred the matter out (people's mediation
    /// committee, court).
    Referred,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Filed => "filed",
            Status::Accepted => "accepted",
            Status::Rejected => "rejected",
            Status::Triaged => "triaged",
            Status::Assigned => "assigned",
            Status::Responded => "responded",
            Status::InMediation => "in_mediation",
            Status::Resolved => "resolved",
            Status::Closed => "closed",
            Status::Withdrawn => "withdrawn",
            Status::Merged => "merged",
            Status::Referred => "referred",
        }
    }

    /// Still being worked on: between acceptance and a response, or in mediation.
    pub(super) fn is_in_progress(self) -> bool {
        matches!(
            self,
            Status::Accepted
                | Status::Triaged
                | Status::Assigned
                | Status::Responded
                | Status::InMediation
        )
    }

    /// No command but reopening (for resolved/closed) changes it any more.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Status::Rejected
                | Status::Closed
                | Status::Withdrawn
                | Status::Merged
                | Status::Referred
        )
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A duplicate that joined this grievance; its filer keeps being informed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Duplicate {
    pub grievance: GrievanceId,
    pub filer: AccountId,
}

/// How a household that filed a duplicate rated the outcome of the
/// grievance its filing was merged into. The primary's own filer rates in
/// `GrievanceState::rating`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HouseholdRating {
    pub household: AccountId,
    pub rating: Rating,
}

/// The mediation case a grievance belongs (or last belonged) to, and the
/// last case event it followed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediationLink {
    pub case: CaseId,
    pub sequence: u64,
}

/// The last event of a joint meeting that a grievance followed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeetingMark {
    pub meeting: MeetingId,
    pub sequence: u64,
}

/// A grievance waiting for a joint meeting to discuss it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeetingReferral {
    pub kind: MeetingKind,
    pub since: DateTime<Utc>,
    /// An urgent meeting must be convened by then (the urgent window).
    pub due_at: Option<DateTime<Utc>>,
    /// The convened meeting that has it on its agenda, if any.
    pub meeting: Option<MeetingId>,
}

/// A file attached to a grievance: the file, who attached it, and whether it
/// was erased with its uploader's personal data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldAttachment {
    #[serde(flatten)]
    pub file: Attachment,
    /// Who attached it; absent on states kept before uploads were
    /// recorded, when only the filer attached files.
    #[serde(default)]
    pub by: Option<AccountId>,
    #[serde(default)]
    pub erased_at: Option<DateTime<Utc>>,
}

impl HeldAttachment {
    /// Who attached the file: `by`, or the filer of `state`.
    pub fn uploader(&self, state: &GrievanceState) -> AccountId {
        self.by.unwrap_or(state.filer)
    }
}

/// The state of a filed grievance.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GrievanceState {
    pub id: GrievanceId,
    pub xiaoqu: XiaoquId,
    pub filer: AccountId,
    pub category: Category,
    pub title: Title,
    pub description: Description,
    pub location: Location,
    pub respondent: Respondent,
    pub urgency: Urgency,
    pub channel: Channel,
    pub attachments: Vec<HeldAttachment>,
    pub filed_at: DateTime<Utc>,
    pub status: Status,
    pub tier: Tier,
    pub matter_class: Option<MatterClass>,
    /// The party made responsible at triage.
    pub responsible_party: Option<PartyRole>,
    /// The party currently asked to respond.
    pub assigned_party: Option<PartyRole>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub responded_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub rating: Option<Rating>,
    pub escalations: u32,
    pub reopenings: u32,
    pub merged_into: Option<GrievanceId>,
    pub duplicates: Vec<Duplicate>,
    /// The ratings of the outcome by the households whose duplicates were
    /// merged in, one per household; cleared when the grievance reopens.
    #[serde(default)]
    pub household_ratings: Vec<HouseholdRating>,
    pub last_changed_at: DateTime<Utc>,
    /// The running deadline of the current stage, if any.
    #[serde(default)]
    pub deadline: Option<Deadline>,
    /// The filer consents to the respondent knowing who filed.
    #[serde(default)]
    pub identity_revealed: bool,
    /// A stopped deadline, if the handler paused the clock.
    #[serde(default)]
    pub paused: Option<PausedDeadline>,
    /// Whether it was accepted or rejected before its accept deadline.
    #[serde(default)]
    pub accept_on_time: Option<bool>,
    /// The first response, kept across reopenings.
    #[serde(default)]
    pub first_responded_at: Option<DateTime<Utc>>,
    /// The first resolution, kept across reopenings.
    #[serde(default)]
    pub first_resolved_at: Option<DateTime<Utc>>,
    /// The mediation case it follows, or last followed.
    #[serde(default)]
    pub mediation: Option<MediationLink>,
    /// Waiting for a joint meeting.
    #[serde(default)]
    pub meeting_referral: Option<MeetingReferral>,
    /// The joint meetings it followed.
    #[serde(default)]
    pub meetings: Vec<MeetingMark>,
}

impl GrievanceState {
    /// The attachments not erased.
    pub fn live_attachments(&self) -> impl Iterator<Item = &HeldAttachment> {
        self.attachments.iter().filter(|a| a.erased_at.is_none())
    }

    /// A major matter whose urgent joint meeting is still to be convened
    /// (its urgent window runs).
    pub fn urgent_meeting_pending(&self) -> bool {
        self.meeting_referral
            .as_ref()
            .is_some_and(|r| r.due_at.is_some() && r.meeting.is_none())
    }

    /// The role that handles the grievance at its current tier: the party
    /// branch in the xiaoqu, the tier's own role above it.
    /// The stage whose clock runs or is paused.
    pub fn current_stage(&self) -> Option<Stage> {
        self.deadline
            .map(|d| d.stage)
            .or(self.paused.map(|p| p.stage))
    }

    pub(super) fn due(
        &self,
        services: &GrievanceServices,
        stage: Stage,
        from: DateTime<Utc>,
    ) -> DateTime<Utc> {
        services
            .policy
            .deadlines
            .due(self.xiaoqu, self.category, self.urgency, stage, from)
    }

    pub fn handler_role(&self) -> Role {
        Role::handler_of(self.tier)
    }
}
