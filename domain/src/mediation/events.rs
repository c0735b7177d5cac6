use chrono::{DateTime, Utc};
use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};

use crate::values::{
    AccountId, CaseId, GrievanceId, Label, MeetingId, ObligationId, Reason, Statement, Tier, Title,
    XiaoquId,
};

use super::commands::{CaseParty, FailureOutcome, ObligationDraft, PartyStatement};

/// What happened to a mediation case. The actor, role, request id and reason
/// of each event are in its metadata; the payload carries what views need.
///
/// Payloads are a compatibility contract: a change bumps `event_version` and
/// adds an upcaster.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum MediationEvent {
    MediationCaseOpened {
        case_id: CaseId,
        xiaoqu: XiaoquId,
        matter: Title,
        grievances: Vec<GrievanceId>,
        applicants: Vec<CaseParty>,
        respondents: Vec<CaseParty>,
        mediator: AccountId,
        tier: Tier,
        opened_at: DateTime<Utc>,
    },
    /// Session number `session` (1, 2, …) is planned.
    SessionScheduled {
        session: u32,
        scheduled_for: DateTime<Utc>,
        place: Option<Label>,
        meeting: Option<MeetingId>,
        at: DateTime<Utc>,
    },
    SessionHeld {
        session: u32,
        attendance: Vec<CaseParty>,
        statements: Vec<PartyStatement>,
        at: DateTime<Utc>,
    },
    /// Round `proposal` (1, 2, …) is put to the parties.
    AgreementProposed {
        proposal: u32,
        terms: Statement,
        obligations: Vec<ObligationDraft>,
        at: DateTime<Utc>,
    },
    ProposalAccepted {
        proposal: u32,
        party: CaseParty,
        at: DateTime<Utc>,
    },
    ProposalDeclined {
        proposal: u32,
        party: CaseParty,
        reason: Reason,
        at: DateTime<Utc>,
    },
    /// Every party accepted round `proposal`: it is the agreement (调解协议).
    AgreementReached {
        proposal: u32,
        terms: Statement,
        obligations: Vec<ObligationDraft>,
        at: DateTime<Utc>,
    },
    MediationFailed {
        outcome: FailureOutcome,
        reason: Reason,
        at: DateTime<Utc>,
    },
    ObligationFulfilled {
        obligation: ObligationId,
        note: Option<Reason>,
        at: DateTime<Utc>,
    },
    /// `note` is the mediator's; a missed due date seen by the service has none.
    ObligationMissed {
        obligation: ObligationId,
        note: Option<Reason>,
        at: DateTime<Utc>,
    },
    /// The case is open again because `obligation` was missed. Version 2
    /// records `voids_open: false`: the agreement's other open obligations
    /// stay open and tracked. Version 1 payloads have no such field and
    /// voided them, as the rule then was; they replay as they were decided.
    CaseReopened {
        obligation: ObligationId,
        #[serde(default = "voided_before_version_2")]
        voids_open: bool,
        at: DateTime<Utc>,
    },
    /// The agreement is fully performed (or asked nothing of anyone).
    CaseConcluded { at: DateTime<Utc> },
}

impl MediationEvent {
    /// When the event happened, by the injected clock.
    pub fn at(&self) -> DateTime<Utc> {
        match self {
            MediationEvent::MediationCaseOpened { opened_at, .. } => *opened_at,
            MediationEvent::SessionScheduled { at, .. }
            | MediationEvent::SessionHeld { at, .. }
            | MediationEvent::AgreementProposed { at, .. }
            | MediationEvent::ProposalAccepted { at, .. }
            | MediationEvent::ProposalDeclined { at, .. }
            | MediationEvent::AgreementReached { at, .. }
            | MediationEvent::MediationFailed { at, .. }
            | MediationEvent::ObligationFulfilled { at, .. }
            | MediationEvent::ObligationMissed { at, .. }
            | MediationEvent::CaseReopened { at, .. }
            | MediationEvent::CaseConcluded { at } => *at,
        }
    }
}

impl DomainEvent for MediationEvent {
    fn event_type(&self) -> String {
        let name = match self {
            MediationEvent::MediationCaseOpened { .. } => "MediationCaseOpened",
            MediationEvent::SessionScheduled { .. } => "SessionScheduled",
            MediationEvent::SessionHeld { .. } => "SessionHeld",
            MediationEvent::AgreementProposed { .. } => "AgreementProposed",
            MediationEvent::ProposalAccepted { .. } => "ProposalAccepted",
            MediationEvent::ProposalDeclined { .. } => "ProposalDeclined",
            MediationEvent::AgreementReached { .. } => "AgreementReached",
            MediationEvent::MediationFailed { .. } => "MediationFailed",
            MediationEvent::ObligationFulfilled { .. } => "ObligationFulfilled",
            MediationEvent::ObligationMissed { .. } => "ObligationMissed",
            MediationEvent::CaseReopened { .. } => "CaseReopened",
            MediationEvent::CaseConcluded { .. } => "CaseConcluded",
        };
        name.to_owned()
    }

    fn event_version(&self) -> String {
        match self {
            // Version 2: whether the other obligations were voided is recorded.
            MediationEvent::CaseReopened { .. } => "2".to_owned(),
            _ => "1".to_owned(),
        }
    }
}

/// What a version 1 `CaseReopened` did to the other open obligations.
fn voided_before_version_2() -> bool {
    true
}
