use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::actor::{Actor, Role};
use crate::values::{
    AccountId, CaseId, GrievanceId, Label, MeetingId, ObligationId, PartyRole, Reason, Statement,
    Title, XiaoquId,
};

/// A party to a case: a person (an applicant filer, or a neighbour) or a
/// party of the xiaoqu. On the wire `{"kind":"person","id":"<uuid>"}` or
/// `{"kind":"party","id":"property_company"}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "id")]
pub enum CaseParty {
    Person(AccountId),
    Party(PartyRole),
}

impl CaseParty {
    /// The parties of a xiaoqu that can stand in a mediation. The party
    /// branch and the tiers mediate, so they are never a side.
    pub const MEDIATABLE_PARTIES: [PartyRole; 4] = [
        PartyRole::PropertyCompany,
        PartyRole::OwnersCommittee,
        PartyRole::SupervisoryCommittee,
        PartyRole::MicroOrganization,
    ];

    /// Whether `actor` speaks for this party: the person themselves, acting
    /// as a resident (or on the supervisory committee, which files for
    /// owners), or an operator of the party named.
    pub fn is_represented_by(self, actor: Actor) -> bool {
        match self {
            CaseParty::Person(account) => {
                actor.account == account
                    && matches!(actor.role, Role::Resident | Role::SupervisoryCommittee)
            }
            CaseParty::Party(party) => actor.role.party() == Some(party),
        }
    }
}

impl std::fmt::Display for CaseParty {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CaseParty::Person(account) => write!(f, "person {account}"),
            CaseParty::Party(party) => write!(f, "party {}", party_name(*party)),
        }
    }
}

/// The wire name of a party, for messages.
fn party_name(party: PartyRole) -> &'static str {
    match party {
        PartyRole::PartyBranch => "party_branch",
        PartyRole::PropertyCompany => "property_company",
        PartyRole::OwnersCommittee => "owners_committee",
        PartyRole::SupervisoryCommittee => "supervisory_committee",
        PartyRole::MicroOrganization => "micro_organization",
        PartyRole::Community => "community",
        PartyRole::Street => "street",
        PartyRole::District => "district",
    }
}

/// A command on one mediation case: who asks, and what.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MediationCommand {
    pub actor: Actor,
    pub action: MediationAction,
}

impl MediationCommand {
    /// `actor` asks for `action`.
    pub fn new(actor: Actor, action: MediationAction) -> Self {
        Self { actor, action }
    }
}

/// Everything needed to open a case; the id comes from the caller's id
/// generator. The mediator and the tier are the opening actor's.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OpenCase {
    pub case_id: CaseId,
    pub xiaoqu: XiaoquId,
    /// What the case is about, in one line.
    pub matter: Title,
    /// The grievances this case settles: 1–20, distinct.
    pub grievances: Vec<GrievanceId>,
    /// Who brought the matter: 1–20.
    pub applicants: Vec<CaseParty>,
    /// Whom it is brought against: 1–20, none of them an applicant too.
    pub respondents: Vec<CaseParty>,
}

/// One party's obligation as proposed: what it must do, by when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObligationDraft {
    pub obligation_id: ObligationId,
    pub party: CaseParty,
    pub description: Statement,
    pub due_at: DateTime<Utc>,
}

/// What a party said at a session.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartyStatement {
    pub party: CaseParty,
    pub statement: Statement,
}

/// Where a failed mediation (调解不成) sends the matter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureOutcome {
    /// Up to the next tier.
    Escalate,
    /// To the people's mediation committee (人民调解委员会).
    PeoplesMediationCommittee,
    /// To the courts (诉调对接).
    Litigation,
}

/// The lifecycle commands of a mediation case (DOMAIN.md).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum MediationAction {
    OpenCase(OpenCase),
    /// Plan a session at a place, or as an item of a joint meeting, or both.
    ScheduleSession {
        scheduled_for: DateTime<Utc>,
        place: Option<Label>,
        meeting: Option<MeetingId>,
    },
    /// Record who came to a scheduled session and what they said.
    RecordSession {
        session: u32,
        attendance: Vec<CaseParty>,
        statements: Vec<PartyStatement>,
    },
    /// Put terms and obligations to every party (调解协议 draft).
    ProposeAgreement {
        terms: Statement,
        obligations: Vec<ObligationDraft>,
    },
    /// A party (or the mediator recording its signature) accepts the pending proposal.
    AcceptProposal {
        party: CaseParty,
    },
    /// A party (or the mediator on its behalf) declines the pending proposal.
    DeclineProposal {
        party: CaseParty,
        reason: Reason,
    },
    /// The mediation failed (调解不成); the matter goes where `outcome` says.
    FailMediation {
        outcome: FailureOutcome,
        reason: Reason,
    },
    /// An obligation of the agreement was met.
    FulfilObligation {
        obligation: ObligationId,
        note: Option<Reason>,
    },
    /// The mediator finds an obligation missed; the case reopens.
    MarkObligationMissed {
        obligation: ObligationId,
        note: Option<Reason>,
    },
    /// The service (Role::System) acts on a passed due date; names the due
    /// date so a repeat is refused.
    ObligationDeadlinePassed {
        obligation: ObligationId,
        due_at: DateTime<Utc>,
    },
}

impl MediationAction {
    /// The action's name as used in errors and the API (`open`, `propose`, …).
    pub fn name(&self) -> &'static str {
        match self {
            MediationAction::OpenCase(_) => "open",
            MediationAction::ScheduleSession { .. } => "schedule_session",
            MediationAction::RecordSession { .. } => "record_session",
            MediationAction::ProposeAgreement { .. } => "propose",
            MediationAction::AcceptProposal { .. } => "accept_proposal",
            MediationAction::DeclineProposal { .. } => "decline_proposal",
            MediationAction::FailMediation { .. } => "fail",
            MediationAction::FulfilObligation { .. } => "fulfil_obligation",
            MediationAction::MarkObligationMissed { .. } => "mark_obligation_missed",
            MediationAction::ObligationDeadlinePassed { .. } => "obligation_deadline_passed",
        }
    }
}
