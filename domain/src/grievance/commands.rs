use serde::{Deserialize, Serialize};

use crate::actor::Actor;
use crate::deadline::Deadline;
use crate::values::{
    AccountId, Attachment, CaseId, Category, Channel, Comment, Description, EscalationReason,
    GrievanceId, Location, MatterClass, MeetingId, MeetingKind, PartyRole, Rating, Reason,
    Respondent, Statement, Tier, Title, Urgency, XiaoquId,
};

/// A command on one grievance: who asks, and what.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GrievanceCommand {
    pub actor: Actor,
    pub action: GrievanceAction,
}

impl GrievanceCommand {
    pub fn new(actor: Actor, action: GrievanceAction) -> Self {
        Self { actor, action }
    }
}

/// Everything needed to file a grievance; the id comes from the caller's id
/// generator, never from the aggregate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FileGrievance {
    pub grievance_id: GrievanceId,
    pub xiaoqu: XiaoquId,
    pub category: Category,
    pub title: Title,
    pub description: Description,
    pub location: Location,
    pub respondent: Respondent,
    pub urgency: Urgency,
    pub channel: Channel,
    pub attachments: Vec<Attachment>,
}

/// A duplicate as read from its stream, to be linked to its primary.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DuplicateToLink {
    pub duplicate: GrievanceId,
    /// The duplicate's xiaoqu: a grievance takes duplicates of its own only.
    pub xiaoqu: XiaoquId,
    pub filer: AccountId,
}

/// The lifecycle commands of DOMAIN.md.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum GrievanceAction {
    FileGrievance(FileGrievance),
    AcceptGrievance,
    RejectGrievance {
        reason: Reason,
    },
    /// `tier` defaults to the grievance's current tier.
    TriageGrievance {
        matter_class: MatterClass,
        tier: Option<Tier>,
        party: PartyRole,
    },
    /// `party` defaults to the party made responsible at triage.
    AssignGrievance {
        party: Option<PartyRole>,
        note: Option<Reason>,
    },
    RespondToGrievance {
        response: Statement,
    },
    EscalateGrievance {
        reason: EscalationReason,
        note: Option<Reason>,
    },
    /// The service escalates because `deadline` passed; a no-op error if the
    /// grievance's current deadline is another one (it moved on meanwhile).
    EscalateOnMissedDeadline {
        deadline: Deadline,
    },
    /// Stop the deadline clock, e.g. while waiting for the filer.
    PauseDeadline {
        reason: Reason,
    },
    /// Restart the clock with the time that was left.
    ResumeDeadline,
    /// The filer allows (or no longer allows) the respondent to know who
    /// filed. Without it the respondent sees a pseudonym.
    SetIdentityConsent {
        reveal_to_respondent: bool,
    },
    WithdrawGrievance {
        reason: Option<Reason>,
    },
    ResolveGrievance {
        summary: Statement,
    },
    RateOutcome {
        rating: Rating,
        comment: Option<Comment>,
    },
    ReopenGrievance {
        reason: Reason,
    },
    /// This grievance is a duplicate and joins `primary`, as the primary's
    /// stream was just read.
    MergeIntoPrimary {
        primary: PrimaryOfMerge,
    },
    /// Recorded on the primary so that the duplicates' filers stay
    /// informed and speak as households: one or more duplicates, linked all
    /// together or not at all.
    LinkDuplicates {
        duplicates: Vec<DuplicateToLink>,
    },
    /// The filer, a merged household, the handler or the responsible party
    /// attaches files already stored: all of them or none.
    AddAttachments {
        attachments: Vec<Attachment>,
    },
    /// The files `uploader` attached are erased with their personal data
    /// (by the service or an admin); their digests stay in the log.
    EraseAttachmentsOf {
        uploader: AccountId,
    },
    /// The handler asks for collective discussion at the next regular joint
    /// meeting (小事定期议). Major matters are asked for an urgent meeting at
    /// triage already.
    ReferToMeeting {
        note: Option<Reason>,
    },
    /// The service makes the grievance follow its mediation case. `sequence`
    /// is the case event's number in the case stream: a step already
    /// followed is a no-op, so the process manager may repeat itself.
    FollowCase {
        case: CaseId,
        sequence: u64,
        step: CaseStep,
    },
    /// The service makes the grievance follow a joint meeting that has it on
    /// its agenda; `sequence` as for `FollowCase`.
    FollowMeeting {
        meeting: MeetingId,
        sequence: u64,
        step: MeetingStep,
    },
}

/// What a merge needs to know of its primary grievance, read from the
/// primary's stream just before the merge is decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrimaryOfMerge {
    pub id: GrievanceId,
    pub xiaoqu: XiaoquId,
    pub status: crate::grievance::Status,
}

/// What happened in a mediation case that its grievances follow.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "step")]
pub enum CaseStep {
    /// The case was opened for this grievance: it enters mediation.
    Opened,
    /// Every party accepted the agreement: the grievance is resolved by it.
    Agreed { terms: Statement },
    /// An obligation was missed: the case, and the grievance, reopen.
    Reopened,
    /// Mediation failed: the grievance climbs one tier (`escalate`) or is
    /// referred out of the service (people's mediation committee, court).
    Failed { escalate: bool },
}

/// What happened at a joint meeting that a grievance on its agenda follows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "step")]
pub enum MeetingStep {
    /// A meeting with the grievance on its agenda was convened.
    Convened { kind: MeetingKind },
    /// The meeting decided the grievance's item.
    Decided { decision: Statement },
    /// The meeting deferred the item to a later meeting.
    Deferred,
    /// The meeting was cancelled before it was held.
    Cancelled,
}

impl GrievanceAction {
    /// The action's name as used in errors and the API (`accept`, `triage`, …).
    pub fn name(&self) -> &'static str {
        match self {
            GrievanceAction::FileGrievance(_) => "file",
            GrievanceAction::AcceptGrievance => "accept",
            GrievanceAction::RejectGrievance { .. } => "reject",
            GrievanceAction::TriageGrievance { .. } => "triage",
            GrievanceAction::AssignGrievance { .. } => "assign",
            GrievanceAction::RespondToGrievance { .. } => "respond",
            GrievanceAction::EscalateGrievance { .. } => "escalate",
            GrievanceAction::EscalateOnMissedDeadline { .. } => "escalate",
            GrievanceAction::PauseDeadline { .. } => "pause",
            GrievanceAction::ResumeDeadline => "resume",
            GrievanceAction::SetIdentityConsent { .. } => "identity_consent",
            GrievanceAction::WithdrawGrievance { .. } => "withdraw",
            GrievanceAction::ResolveGrievance { .. } => "resolve",
            GrievanceAction::RateOutcome { .. } => "rate",
            GrievanceAction::ReopenGrievance { .. } => "reopen",
            GrievanceAction::MergeIntoPrimary { .. } => "merge",
            GrievanceAction::LinkDuplicates { .. } => "link_duplicate",
            GrievanceAction::AddAttachments { .. } => "attach",
            GrievanceAction::EraseAttachmentsOf { .. } => "erase_attachments",
            GrievanceAction::ReferToMeeting { .. } => "refer_to_meeting",
            GrievanceAction::FollowCase { .. } => "follow_case",
            GrievanceAction::FollowMeeting { .. } => "follow_meeting",
        }
    }
}
