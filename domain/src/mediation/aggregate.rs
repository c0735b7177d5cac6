use std::collections::HashSet;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};

use crate::actor::require;
use crate::actor::{Actor, Role};
use crate::services::Clock;
use crate::values::{
    AccountId, CaseId, GrievanceId, Label, MeetingId, ObligationId, Reason, Statement, Tier, Title,
    XiaoquId,
};

use super::commands::{
    CaseParty, FailureOutcome, MediationAction, MediationCommand, ObligationDraft, OpenCase,
    PartyStatement,
};
use super::error::MediationError;
use super::events::MediationEvent;

/// Everything `MediationCase::handle` may consult besides the command and state.
#[derive(Clone, Debug)]
pub struct MediationServices {
    pub clock: Arc<dyn Clock>,
}

impl MediationServices {
    /// Services reading time from `clock`.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self { clock }
    }
}

/// Where a mediation case stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseStatus {
    /// Being mediated; no proposal is pending.
    Open,
    /// A proposal awaits every party's acceptance.
    Proposed,
    /// Every party accepted; obligations are being performed.
    Agreed,
    /// The agreement is fully performed. Final.
    Concluded,
    /// Mediation failed (调解不成) and the matter went elsewhere. Final.
    Failed,
}

impl CaseStatus {
    /// The stable wire name (`open`, `proposed`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            CaseStatus::Open => "open",
            CaseStatus::Proposed => "proposed",
            CaseStatus::Agreed => "agreed",
            CaseStatus::Concluded => "concluded",
            CaseStatus::Failed => "failed",
        }
    }

    /// No command changes the case any more.
    pub fn is_final(self) -> bool {
        matches!(self, CaseStatus::Concluded | CaseStatus::Failed)
    }

    /// The parties are still negotiating: sessions may be scheduled and held.
    fn is_negotiating(self) -> bool {
        matches!(self, CaseStatus::Open | CaseStatus::Proposed)
    }
}

impl std::fmt::Display for CaseStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What happened at a session that took place.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldSession {
    pub attendance: Vec<CaseParty>,
    pub statements: Vec<PartyStatement>,
    pub at: DateTime<Utc>,
}

/// A mediation session: planned, and once recorded, held.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// 1, 2, … in the order scheduled.
    pub number: u32,
    pub scheduled_for: DateTime<Utc>,
    pub place: Option<Label>,
    pub meeting: Option<MeetingId>,
    pub held: Option<HeldSession>,
}

/// The proposal awaiting the parties' acceptance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proposal {
    /// 1, 2, … in the order proposed.
    pub round: u32,
    pub terms: Statement,
    pub obligations: Vec<ObligationDraft>,
    pub accepted_by: Vec<CaseParty>,
}

/// Where one obligation of an agreement stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ObligationStatus {
    Open,
    Fulfilled,
    Missed,
    /// Still open when another obligation was missed and the case reopened.
    Void,
}

/// One party's obligation under the agreement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Obligation {
    pub id: ObligationId,
    pub party: CaseParty,
    pub description: Statement,
    pub due_at: DateTime<Utc>,
    pub status: ObligationStatus,
    /// When it stopped being open.
    pub settled_at: Option<DateTime<Utc>>,
}

/// The agreement (调解协议) every party accepted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Agreement {
    /// The proposal round it came from.
    pub round: u32,
    pub terms: Statement,
    pub obligations: Vec<Obligation>,
    pub reached_at: DateTime<Utc>,
}

impl Agreement {
    /// The obligation with this id, if the agreement has it.
    pub fn obligation(&self, id: ObligationId) -> Option<&Obligation> {
        self.obligations.iter().find(|o| o.id == id)
    }
}

/// How and why the mediation failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    pub outcome: FailureOutcome,
    pub reason: Reason,
    pub at: DateTime<Utc>,
}

/// The state of an opened mediation case.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MediationCaseState {
    pub id: CaseId,
    pub xiaoqu: XiaoquId,
    pub matter: Title,
    pub grievances: Vec<GrievanceId>,
    pub applicants: Vec<CaseParty>,
    pub respondents: Vec<CaseParty>,
    /// The account that opened the case.
    pub mediator: AccountId,
    /// The tier that mediates; its handler role acts as mediator.
    pub tier: Tier,
    pub status: CaseStatus,
    pub sessions: Vec<Session>,
    /// The pending proposal, while the status is `Proposed`.
    pub proposal: Option<Proposal>,
    /// The latest agreement. After a missed obligation reopens the case it
    /// stays here, its open obligations void, until a new one is reached.
    pub agreement: Option<Agreement>,
    pub failure: Option<Failure>,
    /// How often a missed obligation reopened the case.
    pub reopenings: u32,
    /// How many proposals have been made.
    pub rounds: u32,
    pub opened_at: DateTime<Utc>,
    pub last_changed_at: DateTime<Utc>,
}

impl MediationCaseState {
    /// Every party to the case: the applicants, then the respondents.
    pub fn parties(&self) -> impl Iterator<Item = &CaseParty> {
        self.applicants.iter().chain(self.respondents.iter())
    }

    /// Whether `party` is an applicant or a respondent.
    pub fn is_party(&self, party: CaseParty) -> bool {
        self.parties().any(|p| *p == party)
    }

    /// The role that mediates at the case's tier: the party branch in the
    /// xiaoqu, the tier's own role above it.
    pub fn handler_role(&self) -> Role {
        Role::handler_of(self.tier)
    }

    /// The agreement's obligations still to be performed.
    pub fn open_obligations(&self) -> impl Iterator<Item = &Obligation> {
        self.agreement
            .iter()
            .flat_map(|a| a.obligations.iter())
            .filter(|o| o.status == ObligationStatus::Open)
    }

    /// The session with this number, if scheduled.
    pub fn session(&self, number: u32) -> Option<&Session> {
        self.sessions.iter().find(|s| s.number == number)
    }

    /// The obligation with this id in the latest agreement.
    pub fn obligation(&self, id: ObligationId) -> Option<&Obligation> {
        self.agreement.as_ref().and_then(|a| a.obligation(id))
    }

    fn next_session(&self) -> u32 {
        u32::try_from(self.sessions.len())
            .unwrap_or(u32::MAX)
            .saturating_add(1)
    }
}

/// The MediationCase aggregate (调解). Before `MediationCaseOpened` it holds nothing.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MediationCase {
    state: Option<MediationCaseState>,
}

impl MediationCase {
    /// Most grievances one case settles.
    pub const MAX_GRIEVANCES: usize = 20;
    /// Most applicants, and most respondents, of one case.
    pub const MAX_PARTIES: usize = 20;
    /// Most obligations in one proposal.
    pub const MAX_OBLIGATIONS: usize = 20;

    /// The case's state, once opened.
    pub fn state(&self) -> Option<&MediationCaseState> {
        self.state.as_ref()
    }

    /// The case's status, once opened.
    pub fn status(&self) -> Option<CaseStatus> {
        self.state.as_ref().map(|s| s.status)
    }

    /// Decides which events a command produces, without changing anything.
    pub fn decide(
        &self,
        command: MediationCommand,
        services: &MediationServices,
    ) -> Result<Vec<MediationEvent>, MediationError> {
        let MediationCommand { actor, action } = command;
        let now = services.clock.now();
        let name = action.name();
        let (state, action) = match (&self.state, action) {
            (None, MediationAction::OpenCase(open)) => return open_case(actor, open, now),
            (Some(_), MediationAction::OpenCase(_)) => return Err(MediationError::AlreadyOpened),
            (None, _) => return Err(MediationError::NotOpened),
            (Some(state), action) => (state, action),
        };
        let refuse = || MediationError::InvalidTransition {
            action: name,
            status: state.status,
        };
        require(!state.status.is_final(), refuse)?;
        match action {
            MediationAction::OpenCase(_) => Err(MediationError::AlreadyOpened),
            MediationAction::ScheduleSession {
                scheduled_for,
                place,
                meeting,
            } => {
                require_mediator(state, actor, name)?;
                require(state.status.is_negotiating(), refuse)?;
                require(place.is_some() || meeting.is_some(), || {
                    MediationError::NoPlaceOrMeeting
                })?;
                require(scheduled_for >= now, || MediationError::SessionInThePast)?;
                Ok(vec![MediationEvent::SessionScheduled {
                    session: state.next_session(),
                    scheduled_for,
                    place,
                    meeting,
                    at: now,
                }])
            }
            MediationAction::RecordSession {
                session,
                attendance,
                statements,
            } => {
                require_mediator(state, actor, name)?;
                require(state.status.is_negotiating(), refuse)?;
                let scheduled = state
                    .session(session)
                    .ok_or(MediationError::UnknownSession(session))?;
                require(scheduled.held.is_none(), || {
                    MediationError::SessionAlreadyRecorded(session)
                })?;
                let mut present = HashSet::new();
                for party in &attendance {
                    require(state.is_party(*party), || {
                        MediationError::NotACaseParty(*party)
                    })?;
                    require(present.insert(*party), || {
                        MediationError::DuplicateParty(*party)
                    })?;
                }
                let mut spoke = HashSet::new();
                for statement in &statements {
                    let party = statement.party;
                    require(present.contains(&party), || {
                        MediationError::StatementFromAbsentParty(party)
                    })?;
                    require(spoke.insert(party), || {
                        MediationError::DuplicateStatement(party)
                    })?;
                }
                Ok(vec![MediationEvent::SessionHeld {
                    session,
                    attendance,
                    statements,
                    at: now,
                }])
            }
            MediationAction::ProposeAgreement { terms, obligations } => {
                require_mediator(state, actor, name)?;
                // A pending proposal is accepted or declined before the next.
                require(state.status == CaseStatus::Open, refuse)?;
                require(obligations.len() <= MediationCase::MAX_OBLIGATIONS, || {
                    MediationError::TooManyObligations {
                        max: MediationCase::MAX_OBLIGATIONS,
                    }
                })?;
                let mut ids = HashSet::new();
                for obligation in &obligations {
                    let id = obligation.obligation_id;
                    require(ids.insert(id), || MediationError::DuplicateObligation(id))?;
                    require(state.obligation(id).is_none(), || {
                        MediationError::DuplicateObligation(id)
                    })?;
                    require(state.is_party(obligation.party), || {
                        MediationError::NotACaseParty(obligation.party)
                    })?;
                    require(obligation.due_at > now, || {
                        MediationError::DueDateNotInTheFuture
                    })?;
                }
                Ok(vec![MediationEvent::AgreementProposed {
                    proposal: state.rounds.saturating_add(1),
                    terms,
                    obligations,
                    at: now,
                }])
            }
            MediationAction::AcceptProposal { party } => {
                let proposal = pending_proposal(state).ok_or_else(refuse)?;
                require(state.is_party(party), || {
                    MediationError::NotACaseParty(party)
                })?;
                require_party_or_mediator(state, actor, party)?;
                if proposal.accepted_by.contains(&party) {
                    // Already signed: nothing to record, so retries are safe.
                    return Ok(Vec::new());
                }
                let mut events = vec![MediationEvent::ProposalAccepted {
                    proposal: proposal.round,
                    party,
                    at: now,
                }];
                let everyone = state
                    .parties()
                    .all(|p| *p == party || proposal.accepted_by.contains(p));
                if everyone {
                    events.push(MediationEvent::AgreementReached {
                        proposal: proposal.round,
                        terms: proposal.terms.clone(),
                        obligations: proposal.obligations.clone(),
                        at: now,
                    });
                    // Nothing asked, and nothing still owed from before.
                    if proposal.obligations.is_empty() && state.open_obligations().next().is_none()
                    {
                        events.push(MediationEvent::CaseConcluded { at: now });
                    }
                }
                Ok(events)
            }
            MediationAction::DeclineProposal { party, reason } => {
                let proposal = pending_proposal(state).ok_or_else(refuse)?;
                require(state.is_party(party), || {
                    MediationError::NotACaseParty(party)
                })?;
                require_party_or_mediator(state, actor, party)?;
                Ok(vec![MediationEvent::ProposalDeclined {
                    proposal: proposal.round,
                    party,
                    reason,
                    at: now,
                }])
            }
            MediationAction::FailMediation { outcome, reason } => {
                require_mediator(state, actor, name)?;
                require(state.status.is_negotiating(), refuse)?;
                Ok(vec![MediationEvent::MediationFailed {
                    outcome,
                    reason,
                    at: now,
                }])
            }
            MediationAction::FulfilObligation { obligation, note } => {
                let found = state
                    .obligation(obligation)
                    .ok_or(MediationError::UnknownObligation(obligation))?;
                require_party_or_mediator(state, actor, found.party)?;
                require_open(state, found, refuse)?;
                let mut events = vec![MediationEvent::ObligationFulfilled {
                    obligation,
                    note,
                    at: now,
                }];
                // A case reopened by a missed obligation concludes only by a
                // new agreement, however many of the others are kept.
                if state.status == CaseStatus::Agreed
                    && state.open_obligations().all(|o| o.id == obligation)
                {
                    events.push(MediationEvent::CaseConcluded { at: now });
                }
                Ok(events)
            }
            MediationAction::MarkObligationMissed { obligation, note } => {
                require_mediator(state, actor, name)?;
                let found = state
                    .obligation(obligation)
                    .ok_or(MediationError::UnknownObligation(obligation))?;
                require_open(state, found, refuse)?;
                Ok(missed(state, obligation, note, now))
            }
            MediationAction::ObligationDeadlinePassed { obligation, due_at } => {
                require(actor.role == Role::System, || {
                    MediationError::RoleNotAllowed {
                        action: name,
                        role: actor.role,
                    }
                })?;
                let found = state
                    .obligation(obligation)
                    .ok_or(MediationError::UnknownObligation(obligation))?;
                // A replay finds the obligation already missed: exactly once.
                require_open(state, found, refuse)?;
                require(found.due_at == due_at, || MediationError::DueDateChanged)?;
                require(now >= due_at, || MediationError::DeadlineNotDue { due_at })?;
                Ok(missed(state, obligation, None, now))
            }
        }
    }
}

fn open_case(
    actor: Actor,
    open: OpenCase,
    now: DateTime<Utc>,
) -> Result<Vec<MediationEvent>, MediationError> {
    // The party branch mediates in the xiaoqu; a tier at its own level.
    let tier = match actor.role {
        Role::PartyBranch => Tier::Xiaoqu,
        role => role.tier().ok_or(MediationError::RoleNotAllowed {
            action: "open",
            role,
        })?,
    };
    require(!open.grievances.is_empty(), || MediationError::NoGrievances)?;
    require(
        open.grievances.len() <= MediationCase::MAX_GRIEVANCES,
        || MediationError::TooManyGrievances {
            max: MediationCase::MAX_GRIEVANCES,
        },
    )?;
    let mut grievances = HashSet::new();
    for grievance in &open.grievances {
        require(grievances.insert(*grievance), || {
            MediationError::DuplicateGrievance(*grievance)
        })?;
    }
    require(!open.applicants.is_empty(), || MediationError::NoApplicants)?;
    require(!open.respondents.is_empty(), || {
        MediationError::NoRespondents
    })?;
    require(
        open.applicants.len() <= MediationCase::MAX_PARTIES
            && open.respondents.len() <= MediationCase::MAX_PARTIES,
        || MediationError::TooManyParties {
            max: MediationCase::MAX_PARTIES,
        },
    )?;
    let mut parties = HashSet::new();
    for party in open.applicants.iter().chain(open.respondents.iter()) {
        if let CaseParty::Party(role) = party {
            require(CaseParty::MEDIATABLE_PARTIES.contains(role), || {
                MediationError::PartyCannotBeMediated(*role)
            })?;
        }
        require(parties.insert(*party), || {
            MediationError::DuplicateParty(*party)
        })?;
    }
    Ok(vec![MediationEvent::MediationCaseOpened {
        case_id: open.case_id,
        xiaoqu: open.xiaoqu,
        matter: open.matter,
        grievances: open.grievances,
        applicants: open.applicants,
        respondents: open.respondents,
        mediator: actor.account,
        tier,
        opened_at: now,
    }])
}

/// DOMAIN: a missed obligation marks itself missed and, while the
/// agreement stood, reopens the case for a new proposal round. The other
/// obligations stay open: each is still owed, fulfilled or missed on its
/// own date, and carried into the next agreement.
fn missed(
    state: &MediationCaseState,
    obligation: ObligationId,
    note: Option<Reason>,
    now: DateTime<Utc>,
) -> Vec<MediationEvent> {
    let mut events = vec![MediationEvent::ObligationMissed {
        obligation,
        note,
        at: now,
    }];
    if state.status == CaseStatus::Agreed {
        events.push(MediationEvent::CaseReopened {
            obligation,
            voids_open: false,
            at: now,
        });
    }
    events
}

fn pending_proposal(state: &MediationCaseState) -> Option<&Proposal> {
    match state.status {
        CaseStatus::Proposed => state.proposal.as_ref(),
        _ => None,
    }
}

fn require_mediator(
    state: &MediationCaseState,
    actor: Actor,
    action: &'static str,
) -> Result<(), MediationError> {
    require(actor.role == state.handler_role(), || {
        MediationError::NotTheMediator { action }
    })
}

/// The party itself, or the mediator recording what the party said or did.
fn require_party_or_mediator(
    state: &MediationCaseState,
    actor: Actor,
    party: CaseParty,
) -> Result<(), MediationError> {
    require(
        party.is_represented_by(actor) || actor.role == state.handler_role(),
        || MediationError::NotThatParty,
    )
}

/// The obligation is still open, which it only is while the case is agreed.
fn require_open(
    state: &MediationCaseState,
    obligation: &Obligation,
    refuse: impl FnOnce() -> MediationError,
) -> Result<(), MediationError> {
    require(obligation.status == ObligationStatus::Open, || {
        MediationError::ObligationNotOpen(obligation.id)
    })?;
    // Owed while the agreement stands, and still after a missed one
    // reopened the case, until the case ends.
    require(
        matches!(
            state.status,
            CaseStatus::Agreed | CaseStatus::Open | CaseStatus::Proposed
        ),
        refuse,
    )
}

impl Aggregate for MediationCase {
    /// Never changes once data exists: it is stored with every event.
    const TYPE: &'static str = "mediation_case";
    type Command = MediationCommand;
    type Event = MediationEvent;
    type Error = MediationError;
    type Services = MediationServices;

    async fn handle(
        &mut self,
        command: Self::Command,
        services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        for event in self.decide(command, services)? {
            sink.write(event, self).await;
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        let at = event.at();
        let state = match (&mut self.state, event) {
            (
                None,
                MediationEvent::MediationCaseOpened {
                    case_id,
                    xiaoqu,
                    matter,
                    grievances,
                    applicants,
                    respondents,
                    mediator,
                    tier,
                    opened_at,
                },
            ) => {
                self.state = Some(MediationCaseState {
                    id: case_id,
                    xiaoqu,
                    matter,
                    grievances,
                    applicants,
                    respondents,
                    mediator,
                    tier,
                    status: CaseStatus::Open,
                    sessions: Vec::new(),
                    proposal: None,
                    agreement: None,
                    failure: None,
                    reopenings: 0,
                    rounds: 0,
                    opened_at,
                    last_changed_at: opened_at,
                });
                return;
            }
            // A stream is always opened by MediationCaseOpened; anything else before it is ignored.
            (None, _) | (Some(_), MediationEvent::MediationCaseOpened { .. }) => return,
            (Some(state), event) => {
                apply_to(state, event);
                state
            }
        };
        state.last_changed_at = at;
    }
}

fn apply_to(state: &mut MediationCaseState, event: MediationEvent) {
    match event {
        MediationEvent::MediationCaseOpened { .. } => {}
        MediationEvent::SessionScheduled {
            session,
            scheduled_for,
            place,
            meeting,
            ..
        } => state.sessions.push(Session {
            number: session,
            scheduled_for,
            place,
            meeting,
            held: None,
        }),
        MediationEvent::SessionHeld {
            session,
            attendance,
            statements,
            at,
        } => {
            if let Some(s) = state.sessions.iter_mut().find(|s| s.number == session) {
                s.held = Some(HeldSession {
                    attendance,
                    statements,
                    at,
                });
            }
        }
        MediationEvent::AgreementProposed {
            proposal,
            terms,
            obligations,
            ..
        } => {
            state.status = CaseStatus::Proposed;
            state.rounds = proposal;
            state.proposal = Some(Proposal {
                round: proposal,
                terms,
                obligations,
                accepted_by: Vec::new(),
            });
        }
        MediationEvent::ProposalAccepted { party, .. } => {
            if let Some(proposal) = state.proposal.as_mut() {
                if !proposal.accepted_by.contains(&party) {
                    proposal.accepted_by.push(party);
                }
            }
        }
        MediationEvent::ProposalDeclined { .. } => {
            // The proposal is dropped with its acceptances; the next round starts afresh.
            state.status = CaseStatus::Open;
            state.proposal = None;
        }
        MediationEvent::AgreementReached {
            proposal,
            terms,
            obligations,
            at,
        } => {
            state.status = CaseStatus::Agreed;
            state.proposal = None;
            // The obligations still owed under the agreement before (one was
            // missed, these were not) carry into this one.
            let owed: Vec<Obligation> = state.open_obligations().cloned().collect();
            state.agreement = Some(Agreement {
                round: proposal,
                terms,
                obligations: owed
                    .into_iter()
                    .chain(obligations.into_iter().map(|draft| Obligation {
                        id: draft.obligation_id,
                        party: draft.party,
                        description: draft.description,
                        due_at: draft.due_at,
                        status: ObligationStatus::Open,
                        settled_at: None,
                    }))
                    .collect(),
                reached_at: at,
            });
        }
        MediationEvent::MediationFailed {
            outcome,
            reason,
            at,
        } => {
            state.status = CaseStatus::Failed;
            state.proposal = None;
            // The matter goes elsewhere; nothing agreed before is owed here.
            void_open_obligations(state, at);
            state.failure = Some(Failure {
                outcome,
                reason,
                at,
            });
        }
        MediationEvent::ObligationFulfilled { obligation, at, .. } => {
            settle(state, obligation, ObligationStatus::Fulfilled, at);
        }
        MediationEvent::ObligationMissed { obligation, at, .. } => {
            settle(state, obligation, ObligationStatus::Missed, at);
        }
        MediationEvent::CaseReopened { voids_open, at, .. } => {
            state.status = CaseStatus::Open;
            state.reopenings = state.reopenings.saturating_add(1);
            if voids_open {
                void_open_obligations(state, at);
            }
        }
        MediationEvent::CaseConcluded { .. } => state.status = CaseStatus::Concluded,
    }
}

/// Ends every obligation still open: a version 1 reopening, or a case
/// that ends without its agreement performed.
fn void_open_obligations(state: &mut MediationCaseState, at: DateTime<Utc>) {
    if let Some(agreement) = state.agreement.as_mut() {
        for obligation in &mut agreement.obligations {
            if obligation.status == ObligationStatus::Open {
                obligation.status = ObligationStatus::Void;
                obligation.settled_at = Some(at);
            }
        }
    }
}

fn settle(
    state: &mut MediationCaseState,
    id: ObligationId,
    status: ObligationStatus,
    at: DateTime<Utc>,
) {
    let obligation = state
        .agreement
        .as_mut()
        .and_then(|a| a.obligations.iter_mut().find(|o| o.id == id));
    if let Some(obligation) = obligation {
        obligation.status = status;
        obligation.settled_at = Some(at);
    }
}
