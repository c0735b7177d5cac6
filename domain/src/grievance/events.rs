use chrono::{DateTime, Utc};
use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};

use crate::deadline::Stage;
use crate::values::{
    AccountId, Attachment, CaseId, Category, Channel, Comment, Description, EscalationReason,
    GrievanceId, Location, MatterClass, MeetingId, MeetingKind, PartyRole, Rating, Reason,
    Respondent, Sha256Hex, Statement, Tier, Title, Urgency, XiaoquId,
};

use super::commands::{CaseStep, MeetingStep};

/// Whether the stage that ended kept its deadline: decided once, by
/// `decide`, when the stage ends, and recorded in the event, so that a later
/// change of rules never rewrites past figures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Timeliness {
    OnTime,
    Late,
    /// No deadline ran for the stage.
    Untimed,
}

impl Timeliness {
    /// As the figures count it: unknown without a deadline.
    pub fn kept(self) -> Option<bool> {
        match self {
            Timeliness::OnTime => Some(true),
            Timeliness::Late => Some(false),
            Timeliness::Untimed => None,
        }
    }
}

/// What happened to a grievance. The actor, role, request id and reason of
/// each event are in its metadata; the payload carries what views need.
///
/// Payloads are a compatibility contract: a change bumps `event_version` and
/// adds an upcaster.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum GrievanceEvent {
    GrievanceFiled {
        grievance_id: GrievanceId,
        xiaoqu: XiaoquId,
        filer: AccountId,
        category: Category,
        title: Title,
        description: Description,
        location: Location,
        respondent: Respondent,
        urgency: Urgency,
        channel: Channel,
        attachments: Vec<Attachment>,
        filed_at: DateTime<Utc>,
    },
    /// Version 2 records whether the acceptance kept its deadline; version 1
    /// payloads lack `on_time` and are upcast on replay (see `upcast.rs`).
    GrievanceAccepted {
        at: DateTime<Utc>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        on_time: Option<Timeliness>,
    },
    /// Version 2 records whether the rejection kept the accept deadline, as
    /// for `GrievanceAccepted`.
    GrievanceRejected {
        reason: Reason,
        at: DateTime<Utc>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        on_time: Option<Timeliness>,
    },
    GrievanceTriaged {
        matter_class: MatterClass,
        tier: Tier,
        party: PartyRole,
        at: DateTime<Utc>,
    },
    GrievanceAssigned {
        party: PartyRole,
        note: Option<Reason>,
        at: DateTime<Utc>,
    },
    GrievanceResponded {
        party: PartyRole,
        response: Statement,
        at: DateTime<Utc>,
    },
    GrievanceEscalated {
        from: Tier,
        to: Tier,
        reason: EscalationReason,
        note: Option<Reason>,
        at: DateTime<Utc>,
    },
    GrievanceWithdrawn {
        reason: Option<Reason>,
        at: DateTime<Utc>,
    },
    GrievanceResolved {
        summary: Statement,
        at: DateTime<Utc>,
    },
    OutcomeRated {
        rating: Rating,
        comment: Option<Comment>,
        at: DateTime<Utc>,
    },
    /// A household whose filing was merged into this grievance rates the
    /// outcome (the primary's own filer rates with `OutcomeRated`).
    HouseholdRated {
        household: AccountId,
        rating: Rating,
        comment: Option<Comment>,
        at: DateTime<Utc>,
    },
    GrievanceReopened {
        reason: Reason,
        at: DateTime<Utc>,
    },
    GrievanceMerged {
        primary: GrievanceId,
        at: DateTime<Utc>,
    },
    DuplicateLinked {
        duplicate: GrievanceId,
        filer: AccountId,
        at: DateTime<Utc>,
    },
    /// Files attached after filing, by `by`; the files themselves are kept
    /// outside the log, known by their digests.
    AttachmentsAdded {
        attachments: Vec<Attachment>,
        by: AccountId,
        at: DateTime<Utc>,
    },
    /// The files `uploader` attached were erased with their personal data;
    /// the digests stay, so the log still verifies.
    AttachmentsErased {
        uploader: AccountId,
        sha256: Vec<Sha256Hex>,
        at: DateTime<Utc>,
    },
    /// A stage's clock starts (or restarts at a new tier): it falls due at `due_at`.
    DeadlineSet {
        stage: Stage,
        due_at: DateTime<Utc>,
        at: DateTime<Utc>,
    },
    DeadlinePaused {
        stage: Stage,
        remaining_seconds: i64,
        reason: Reason,
        at: DateTime<Utc>,
    },
    /// The filer's consent to reveal their identity to the respondent, given
    /// or withdrawn.
    IdentityConsentSet {
        reveal_to_respondent: bool,
        at: DateTime<Utc>,
    },
    /// The grievance awaits a joint meeting: the next regular one, or an
    /// urgent one by `due_at` (a major matter).
    MeetingRequested {
        kind: MeetingKind,
        note: Option<Reason>,
        due_at: Option<DateTime<Utc>>,
        at: DateTime<Utc>,
    },
    /// The grievance followed a step of its mediation case (event `sequence`
    /// of the case stream).
    CaseFollowed {
        case: CaseId,
        sequence: u64,
        step: CaseStep,
        at: DateTime<Utc>,
    },
    /// The grievance followed a step of a joint meeting (event `sequence` of
    /// the meeting stream).
    MeetingFollowed {
        meeting: MeetingId,
        sequence: u64,
        step: MeetingStep,
        at: DateTime<Utc>,
    },
}

impl GrievanceEvent {
    /// When the event happened, by the injected clock.
    pub fn at(&self) -> DateTime<Utc> {
        match self {
            GrievanceEvent::GrievanceFiled { filed_at, .. } => *filed_at,
            GrievanceEvent::GrievanceAccepted { at, .. }
            | GrievanceEvent::GrievanceRejected { at, .. }
            | GrievanceEvent::GrievanceTriaged { at, .. }
            | GrievanceEvent::GrievanceAssigned { at, .. }
            | GrievanceEvent::GrievanceResponded { at, .. }
            | GrievanceEvent::GrievanceEscalated { at, .. }
            | GrievanceEvent::GrievanceWithdrawn { at, .. }
            | GrievanceEvent::GrievanceResolved { at, .. }
            | GrievanceEvent::OutcomeRated { at, .. }
            | GrievanceEvent::HouseholdRated { at, .. }
            | GrievanceEvent::GrievanceReopened { at, .. }
            | GrievanceEvent::GrievanceMerged { at, .. }
            | GrievanceEvent::DuplicateLinked { at, .. }
            | GrievanceEvent::AttachmentsAdded { at, .. }
            | GrievanceEvent::AttachmentsErased { at, .. }
            | GrievanceEvent::DeadlineSet { at, .. }
            | GrievanceEvent::DeadlinePaused { at, .. }
            | GrievanceEvent::IdentityConsentSet { at, .. }
            | GrievanceEvent::MeetingRequested { at, .. }
            | GrievanceEvent::CaseFollowed { at, .. }
            | GrievanceEvent::MeetingFollowed { at, .. } => *at,
        }
    }
}

impl DomainEvent for GrievanceEvent {
    fn event_type(&self) -> String {
        let name = match self {
            GrievanceEvent::GrievanceFiled { .. } => "GrievanceFiled",
            GrievanceEvent::GrievanceAccepted { .. } => "GrievanceAccepted",
            GrievanceEvent::GrievanceRejected { .. } => "GrievanceRejected",
            GrievanceEvent::GrievanceTriaged { .. } => "GrievanceTriaged",
            GrievanceEvent::GrievanceAssigned { .. } => "GrievanceAssigned",
            GrievanceEvent::GrievanceResponded { .. } => "GrievanceResponded",
            GrievanceEvent::GrievanceEscalated { .. } => "GrievanceEscalated",
            GrievanceEvent::GrievanceWithdrawn { .. } => "GrievanceWithdrawn",
            GrievanceEvent::GrievanceResolved { .. } => "GrievanceResolved",
            GrievanceEvent::OutcomeRated { .. } => "OutcomeRated",
            GrievanceEvent::HouseholdRated { .. } => "HouseholdRated",
            GrievanceEvent::GrievanceReopened { .. } => "GrievanceReopened",
            GrievanceEvent::GrievanceMerged { .. } => "GrievanceMerged",
            GrievanceEvent::DuplicateLinked { .. } => "DuplicateLinked",
            GrievanceEvent::AttachmentsAdded { .. } => "AttachmentsAdded",
            GrievanceEvent::AttachmentsErased { .. } => "AttachmentsErased",
            GrievanceEvent::DeadlineSet { .. } => "DeadlineSet",
            GrievanceEvent::DeadlinePaused { .. } => "DeadlinePaused",
            GrievanceEvent::IdentityConsentSet { .. } => "IdentityConsentSet",
            GrievanceEvent::MeetingRequested { .. } => "MeetingRequested",
            GrievanceEvent::CaseFollowed { .. } => "CaseFollowed",
            GrievanceEvent::MeetingFollowed { .. } => "MeetingFollowed",
        };
        name.to_owned()
    }

    fn event_version(&self) -> String {
        match self {
            // Version 2: the deadline verdict is recorded, not judged on replay.
            GrievanceEvent::GrievanceAccepted { .. } | GrievanceEvent::GrievanceRejected { .. } => {
                "2".to_owned()
            }
            _ => "1".to_owned(),
        }
    }
}
