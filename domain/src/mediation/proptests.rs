//! Random command sequences against the MediationCase aggregate: no panics,
//! the status only moves along the edges of the lifecycle, final cases never
//! change, and replaying the emitted events rebuilds exactly the same state.

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use cqrs_es::Aggregate;
use proptest::prelude::*;
use proptest_state_machine::{prop_state_machine, ReferenceStateMachine, StateMachineTest};
use uuid::Uuid;

use super::*;
use crate::actor::{Actor, Role};
use crate::services::FixedClock;
use crate::values::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Who {
    /// The party branch: mediates cases it opens.
    Mediator,
    /// The community: mediates only the cases it opens.
    OtherTier,
    Alice,
    Bob,
    Company,
    Committee,
    System,
    Stranger,
}

impl Who {
    fn actor(self) -> Actor {
        let (n, role) = match self {
            Who::Mediator => (1, Role::PartyBranch),
            Who::OtherTier => (2, Role::Community),
            Who::Alice => (3, Role::Resident),
            Who::Bob => (4, Role::Resident),
            Who::Company => (5, Role::PropertyCompany),
            Who::Committee => (6, Role::OwnersCommittee),
            Who::Stranger => (7, Role::Resident),
            Who::System => (0, Role::System),
        };
        Actor::new(AccountId(Uuid::from_u128(n)), role)
    }

    fn person(self) -> CaseParty {
        CaseParty::Person(self.actor().account)
    }

    fn speaking_for(party: CaseParty) -> Who {
        [Who::Alice, Who::Bob, Who::Company, Who::Committee]
            .into_iter()
            .find(|who| party.is_represented_by(who.actor()))
            .unwrap_or(Who::Stranger)
    }
}

/// Parties a command may name: the case's (in a full case), and two outsiders.
fn pool() -> [CaseParty; 6] {
    [
        Who::Alice.person(),
        Who::Bob.person(),
        CaseParty::Party(PartyRole::PropertyCompany),
        CaseParty::Party(PartyRole::OwnersCommittee),
        Who::Stranger.person(),
        CaseParty::Party(PartyRole::MicroOrganization),
    ]
}

fn pick(mask: u8) -> Vec<CaseParty> {
    pool()
        .into_iter()
        .enumerate()
        .filter(|(i, _)| mask & (1 << i) != 0)
        .map(|(_, p)| p)
        .collect()
}

#[derive(Clone, Debug)]
enum Act {
    /// `full`: Alice and Bob against the company and the owners' committee;
    /// otherwise Alice against the company.
    Open {
        full: bool,
    },
    Schedule {
        hours_ahead: i64,
        place: bool,
        meeting: bool,
    },
    Record {
        session: u32,
        attend: u8,
        speak: u8,
    },
    Propose {
        obligations: u8,
        due_hours: i64,
    },
    Accept(usize),
    Decline(usize),
    Fail(FailureOutcome),
    /// The n-th obligation of the latest agreement (or a made-up one).
    Fulfil(usize),
    MarkMissed(usize),
    DeadlinePassed(usize),
}

#[derive(Clone, Debug)]
struct Step {
    who: Who,
    act: Act,
    advance_hours: i64,
}

const ID: CaseId = CaseId(Uuid::from_u128(77));

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
        .single()
        .expect("valid time")
}

fn text() -> Statement {
    Statement::parse("x").expect("statement")
}
fn reason() -> Reason {
    Reason::parse("x").expect("reason")
}

/// The obligation an index names, with its due date; made up without an agreement.
fn nth_obligation(case: &MediationCase, n: usize) -> (ObligationId, DateTime<Utc>) {
    let obligations = case
        .state()
        .and_then(|s| s.agreement.as_ref())
        .map(|a| a.obligations.as_slice())
        .unwrap_or_default();
    match obligations.get(n % obligations.len().max(1)) {
        Some(o) => (o.id, o.due_at),
        None => (ObligationId(Uuid::from_u128(999)), start()),
    }
}

fn action(case: &MediationCase, now: DateTime<Utc>, act: &Act) -> MediationAction {
    match act {
        Act::Open { full } => {
            let (applicants, respondents) = if *full {
                (pool()[..2].to_vec(), pool()[2..4].to_vec())
            } else {
                (vec![pool()[0]], vec![pool()[2]])
            };
            MediationAction::OpenCase(OpenCase {
                case_id: ID,
                xiaoqu: XiaoquId(Uuid::from_u128(9)),
                matter: Title::parse("停车费").expect("title"),
                grievances: vec![GrievanceId(Uuid::from_u128(10))],
                applicants,
                respondents,
            })
        }
        Act::Schedule {
            hours_ahead,
            place,
            meeting,
        } => MediationAction::ScheduleSession {
            scheduled_for: now + TimeDelta::hours(*hours_ahead),
            place: place.then(|| Label::parse("活动室").expect("label")),
            meeting: meeting.then_some(MeetingId(Uuid::from_u128(11))),
        },
        Act::Record {
            session,
            attend,
            speak,
        } => MediationAction::RecordSession {
            session: *session,
            attendance: pick(*attend),
            statements: pick(*speak)
                .into_iter()
                .map(|party| PartyStatement {
                    party,
                    statement: text(),
                })
                .collect(),
        },
        Act::Propose {
            obligations,
            due_hours,
        } => {
            // Fresh ids per round, so that each agreement's obligations are its own.
            let round = u128::from(case.state().map_or(0, |s| s.rounds));
            let parties: Vec<CaseParty> = case
                .state()
                .map(|s| s.parties().copied().collect())
                .unwrap_or_default();
            // The first three fall on the case's parties, a fourth on an outsider.
            let party = |i: usize| match parties.get(i % parties.len().max(1)) {
                Some(party) if i < 3 => *party,
                _ => Who::Stranger.person(),
            };
            MediationAction::ProposeAgreement {
                terms: text(),
                obligations: (0..usize::from(*obligations))
                    .map(|i| ObligationDraft {
                        obligation_id: ObligationId(Uuid::from_u128(1000 + round * 10 + i as u128)),
                        party: party(i),
                        description: text(),
                        due_at: now + TimeDelta::hours(*due_hours + i as i64 * 24),
                    })
                    .collect(),
            }
        }
        Act::Accept(n) => MediationAction::AcceptProposal {
            party: pool()[n % 6],
        },
        Act::Decline(n) => MediationAction::DeclineProposal {
            party: pool()[n % 6],
            reason: reason(),
        },
        Act::Fail(outcome) => MediationAction::FailMediation {
            outcome: *outcome,
            reason: reason(),
        },
        Act::Fulfil(n) => MediationAction::FulfilObligation {
            obligation: nth_obligation(case, *n).0,
            note: None,
        },
        Act::MarkMissed(n) => MediationAction::MarkObligationMissed {
            obligation: nth_obligation(case, *n).0,
            note: None,
        },
        Act::DeadlinePassed(n) => {
            let (obligation, due_at) = nth_obligation(case, *n);
            MediationAction::ObligationDeadlinePassed { obligation, due_at }
        }
    }
}

/// The lifecycle, written out independently of the aggregate: the statuses
/// an accepted command may lead to from `from`.
fn edge(from: Option<CaseStatus>, act: &Act) -> &'static [CaseStatus] {
    use CaseStatus::*;
    match (from, act) {
        (None, Act::Open { .. }) => &[Open],
        (None, _) | (Some(_), Act::Open { .. }) => &[],
        (Some(s), act) => match (s, act) {
            (Open, Act::Schedule { .. } | Act::Record { .. }) => &[Open],
            (Proposed, Act::Schedule { .. } | Act::Record { .. }) => &[Proposed],
            (Open, Act::Propose { .. }) => &[Proposed],
            (Proposed, Act::Accept(_)) => &[Proposed, Agreed, Concluded],
            (Proposed, Act::Decline(_)) => &[Open],
            (Open | Proposed, Act::Fail(_)) => &[Failed],
            (Agreed, Act::Fulfil(_)) => &[Agreed, Concluded],
            (Agreed, Act::MarkMissed(_) | Act::DeadlinePassed(_)) => &[Open],
            // Obligations still owed after a reopening are kept or missed
            // without moving the case.
            (Open, Act::Fulfil(_) | Act::MarkMissed(_) | Act::DeadlinePassed(_)) => &[Open],
            (Proposed, Act::Fulfil(_) | Act::MarkMissed(_) | Act::DeadlinePassed(_)) => &[Proposed],
            _ => &[],
        },
    }
}

/// The status moves of the lifecycle, whatever the command.
fn allowed_move(from: CaseStatus, to: CaseStatus) -> bool {
    use CaseStatus::*;
    from == to
        || matches!(
            (from, to),
            (Open, Proposed)
                | (Proposed, Open)
                | (Proposed, Agreed)
                | (Proposed, Concluded)
                | (Agreed, Concluded)
                | (Agreed, Open)
                | (Open | Proposed, Failed)
        )
}

fn run(
    case: &MediationCase,
    now: DateTime<Utc>,
    step: &Step,
) -> Result<Vec<MediationEvent>, MediationError> {
    let services = MediationServices::new(Arc::new(FixedClock::at(now)));
    let action = action(case, now, &step.act);
    case.decide(MediationCommand::new(step.who.actor(), action), &services)
}

#[derive(Clone, Debug)]
struct Model {
    case: MediationCase,
    now: DateTime<Utc>,
}

struct MediationMachine;

fn any_outcome() -> impl Strategy<Value = FailureOutcome> {
    prop_oneof![
        Just(FailureOutcome::Escalate),
        Just(FailureOutcome::PeoplesMediationCommittee),
        Just(FailureOutcome::Litigation),
    ]
}

fn any_act() -> BoxedStrategy<Act> {
    prop_oneof![
        any::<bool>().prop_map(|full| Act::Open { full }),
        (-2i64..72, any::<bool>(), any::<bool>()).prop_map(|(hours_ahead, place, meeting)| {
            Act::Schedule {
                hours_ahead,
                place,
                meeting,
            }
        }),
        (0u32..4, 0u8..64, 0u8..64).prop_map(|(session, attend, speak)| Act::Record {
            session,
            attend,
            speak
        }),
        (0u8..5, -2i64..200).prop_map(|(obligations, due_hours)| Act::Propose {
            obligations,
            due_hours
        }),
        (0usize..6).prop_map(Act::Accept),
        (0usize..6).prop_map(Act::Decline),
        any_outcome().prop_map(Act::Fail),
        (0usize..4).prop_map(Act::Fulfil),
        (0usize..4).prop_map(Act::MarkMissed),
        (0usize..4).prop_map(Act::DeadlinePassed),
    ]
    .boxed()
}

fn representative_acts() -> Vec<Act> {
    vec![
        Act::Open { full: false },
        Act::Open { full: true },
        Act::Schedule {
            hours_ahead: 24,
            place: true,
            meeting: false,
        },
        Act::Record {
            session: 1,
            attend: 0b0101,
            speak: 0b0001,
        },
        Act::Record {
            session: 2,
            attend: 0b1111,
            speak: 0b0110,
        },
        Act::Propose {
            obligations: 0,
            due_hours: 48,
        },
        Act::Propose {
            obligations: 2,
            due_hours: 24,
        },
        Act::Propose {
            obligations: 3,
            due_hours: 120,
        },
        Act::Propose {
            obligations: 4,
            due_hours: 120,
        },
        // Acceptances are listed twice so that walks reach agreements.
        Act::Accept(0),
        Act::Accept(1),
        Act::Accept(2),
        Act::Accept(3),
        Act::Accept(0),
        Act::Accept(1),
        Act::Accept(2),
        Act::Accept(3),
        Act::Decline(2),
        Act::Fulfil(0),
        Act::Fulfil(1),
        Act::Fulfil(2),
        Act::MarkMissed(1),
        Act::DeadlinePassed(0),
        Act::DeadlinePassed(1),
    ]
}

fn any_who() -> impl Strategy<Value = Who> {
    prop_oneof![
        Just(Who::Mediator),
        Just(Who::OtherTier),
        Just(Who::Alice),
        Just(Who::Bob),
        Just(Who::Company),
        Just(Who::Committee),
        Just(Who::System),
        Just(Who::Stranger),
    ]
}

/// The actor most likely to be allowed to do `act`, so that sequences get deep.
fn fitting_actor(case: &MediationCase, act: &Act) -> Who {
    let mediator = match case.state().map(|s| s.handler_role()) {
        Some(Role::Community) => Who::OtherTier,
        _ => Who::Mediator,
    };
    match act {
        Act::Accept(n) | Act::Decline(n) => Who::speaking_for(pool()[n % 6]),
        Act::Fulfil(n) => {
            let (id, _) = nth_obligation(case, *n);
            case.state()
                .and_then(|s| s.obligation(id))
                .map_or(mediator, |o| Who::speaking_for(o.party))
        }
        Act::DeadlinePassed(_) => Who::System,
        Act::Open { .. }
        | Act::Schedule { .. }
        | Act::Record { .. }
        | Act::Propose { .. }
        | Act::Fail(_)
        | Act::MarkMissed(_) => mediator,
    }
}

impl ReferenceStateMachine for MediationMachine {
    type State = Model;
    type Transition = Step;

    fn init_state() -> BoxedStrategy<Model> {
        Just(Model {
            case: MediationCase::default(),
            now: start(),
        })
        .boxed()
    }

    fn transitions(state: &Model) -> BoxedStrategy<Step> {
        let case = state.case.clone();
        let mediator = fitting_actor(&case, &Act::Fail(FailureOutcome::Escalate));
        let hours = prop_oneof![4 => 0i64..48, 1 => 100i64..300];
        // Mostly acts that have an edge from the current status, so that walks get deep.
        let status = case.status();
        let candidates: Vec<Act> = representative_acts()
            .into_iter()
            .filter(|act| !edge(status, act).is_empty())
            .collect();
        let fitting_act = if candidates.is_empty() {
            any_act()
        } else {
            proptest::sample::select(candidates).boxed()
        };
        let fitting = (fitting_act, hours.clone()).prop_map(move |(act, advance_hours)| Step {
            who: fitting_actor(&case, &act),
            act,
            advance_hours,
        });
        // Failure ends a walk, so the mediator declares it only now and then.
        let failing = any_outcome().prop_map(move |outcome| Step {
            who: mediator,
            act: Act::Fail(outcome),
            advance_hours: 1,
        });
        let random = (any_who(), any_act(), hours).prop_map(|(who, act, advance_hours)| Step {
            who,
            act,
            advance_hours,
        });
        prop_oneof![40 => fitting, 1 => failing, 10 => random].boxed()
    }

    fn apply(mut state: Model, step: &Step) -> Model {
        state.now += TimeDelta::hours(step.advance_hours);
        if let Ok(events) = run(&state.case, state.now, step) {
            for event in events {
                state.case.apply(event);
            }
        }
        state
    }
}

struct Sut {
    case: MediationCase,
    events: Vec<MediationEvent>,
    now: DateTime<Utc>,
}

impl StateMachineTest for MediationMachine {
    type SystemUnderTest = Sut;
    type Reference = MediationMachine;

    fn init_test(_: &Model) -> Sut {
        Sut {
            case: MediationCase::default(),
            events: Vec::new(),
            now: start(),
        }
    }

    fn apply(mut sut: Sut, _: &Model, step: Step) -> Sut {
        sut.now += TimeDelta::hours(step.advance_hours);
        let before = sut.case.status();
        let state_before = sut.case.clone();
        match run(&sut.case, sut.now, &step) {
            Ok(events) => {
                assert!(
                    !before.is_some_and(CaseStatus::is_final),
                    "{:?} by {:?} was accepted by a {:?} case",
                    step.act,
                    step.who,
                    before
                );
                if events.is_empty() {
                    assert!(
                        matches!(step.act, Act::Accept(_)),
                        "only a repeated acceptance is a no-op"
                    );
                }
                for event in events {
                    sut.case.apply(event.clone());
                    sut.events.push(event);
                }
                let after = sut.case.status();
                assert!(
                    after.is_some_and(|a| edge(before, &step.act).contains(&a)),
                    "{:?} by {:?} moved {:?} to {:?}, which is not an edge of the lifecycle",
                    step.act,
                    step.who,
                    before,
                    after
                );
                if let (Some(from), Some(to)) = (before, after) {
                    assert!(allowed_move(from, to), "{from} → {to} is not allowed");
                }
            }
            Err(_) => {
                // A refused command changes nothing: `decide` cannot mutate.
                assert_eq!(sut.case, state_before);
            }
        }
        sut
    }

    fn check_invariants(sut: &Sut, model: &Model) {
        let mut replayed = MediationCase::default();
        for event in sut.events.iter().cloned() {
            replayed.apply(event);
        }
        assert_eq!(replayed, sut.case, "replay rebuilds the same state");
        assert_eq!(model.case, sut.case);
        let Some(state) = sut.case.state() else {
            assert!(sut.events.is_empty());
            return;
        };
        let count = |f: fn(&MediationEvent) -> bool| sut.events.iter().filter(|e| f(e)).count();
        assert_eq!(
            state.proposal.is_some(),
            state.status == CaseStatus::Proposed
        );
        assert_eq!(state.failure.is_some(), state.status == CaseStatus::Failed);
        let owed = state.open_obligations().next().is_some();
        assert!(
            !owed
                || matches!(
                    state.status,
                    CaseStatus::Agreed | CaseStatus::Open | CaseStatus::Proposed
                ),
            "obligations are owed only while the case lasts: {state:?}"
        );
        assert!(
            state.status != CaseStatus::Agreed || owed,
            "an agreed case owes something until it concludes: {state:?}"
        );
        assert_eq!(
            state.reopenings as usize,
            count(|e| matches!(e, MediationEvent::CaseReopened { .. }))
        );
        assert_eq!(
            state.rounds as usize,
            count(|e| matches!(e, MediationEvent::AgreementProposed { .. }))
        );
        for (i, session) in state.sessions.iter().enumerate() {
            assert_eq!(
                session.number as usize,
                i + 1,
                "sessions are numbered 1, 2, …"
            );
        }
        if let Some(proposal) = &state.proposal {
            assert_eq!(proposal.round, state.rounds);
            for (i, party) in proposal.accepted_by.iter().enumerate() {
                assert!(state.is_party(*party));
                assert!(!proposal.accepted_by[..i].contains(party));
            }
            assert!(
                state.parties().any(|p| !proposal.accepted_by.contains(p)),
                "a proposal every party accepted is an agreement"
            );
        }
    }
}

prop_state_machine! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]
    #[test]
    fn random_command_sequences_follow_the_lifecycle(sequential 1..50 => MediationMachine);
}

#[test]
fn the_reference_walk_agrees_reopens_and_concludes() {
    // Guards the generator: a fitting walk reaches the deep end of the lifecycle.
    let walk = [
        (Act::Open { full: false }, 0),
        (
            Act::Propose {
                obligations: 2,
                due_hours: 24,
            },
            1,
        ),
        (Act::Accept(0), 1),
        (Act::Accept(2), 1),
        (Act::Fulfil(1), 1),
        (Act::DeadlinePassed(0), 30),
        (
            Act::Propose {
                obligations: 0,
                due_hours: 24,
            },
            1,
        ),
        (Act::Accept(2), 1),
        (Act::Accept(0), 1),
    ];
    let mut model = Model {
        case: MediationCase::default(),
        now: start(),
    };
    let mut seen = Vec::new();
    for (act, advance_hours) in walk {
        let step = Step {
            who: fitting_actor(&model.case, &act),
            act,
            advance_hours,
        };
        let before = model.case.status();
        model = <MediationMachine as ReferenceStateMachine>::apply(model, &step);
        let after = model.case.status();
        assert!(
            after.is_some_and(|a| edge(before, &step.act).contains(&a)),
            "{:?} was refused, leaving the case {:?}",
            step.act,
            after
        );
        seen.extend(after);
    }
    assert_eq!(
        seen,
        [
            CaseStatus::Open,
            CaseStatus::Proposed,
            CaseStatus::Proposed,
            CaseStatus::Agreed,
            CaseStatus::Agreed,
            CaseStatus::Open,
            CaseStatus::Proposed,
            CaseStatus::Proposed,
            CaseStatus::Concluded,
        ]
    );
    assert_eq!(model.case.state().map(|s| s.reopenings), Some(1));
}
