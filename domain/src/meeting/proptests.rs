//! Random command sequences against the JointMeeting aggregate: no panics,
//! the status only moves Convened → Open → Closed or Convened → Cancelled, an
//! opened meeting had its quorum, every decision has one position per present
//! party, and replaying the emitted events rebuilds exactly the same state.

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
    Branch,
    Company,
    Resident,
}

impl Who {
    fn actor(self) -> Actor {
        let (n, role) = match self {
            Who::Branch => (1, Role::PartyBranch),
            Who::Company => (2, Role::PropertyCompany),
            Who::Resident => (3, Role::Resident),
        };
        Actor::new(AccountId(Uuid::from_u128(n)), role)
    }
}

/// Who gives positions on a decision.
#[derive(Clone, Debug)]
enum Positions {
    /// Every present party, with these stances in turn.
    EveryPresentParty(Vec<Stance>),
    /// Whatever was drawn, fitting or not.
    Drawn(Vec<PartyPosition>),
}

#[derive(Clone, Debug)]
struct ActionPick {
    id: u8,
    owner: PartyRole,
    due_in_hours: i64,
}

#[derive(Clone, Debug)]
enum Act {
    Convene {
        kind: MeetingKind,
        small_xiaoqu: bool,
        scheduled_in_hours: i64,
        items: Vec<(u8, u8)>,
    },
    AddItem {
        item: u8,
        subject: u8,
    },
    Open {
        parties: Vec<PartyRole>,
        people: Vec<u8>,
    },
    Decide {
        item: u8,
        positions: Positions,
        action_items: Vec<ActionPick>,
    },
    Defer {
        item: u8,
    },
    Close,
    Cancel,
    Complete {
        action_item: u8,
    },
}

#[derive(Clone, Debug)]
struct Step {
    who: Who,
    act: Act,
    advance_hours: i64,
}

const ID: MeetingId = MeetingId(Uuid::from_u128(77));
const XIAOQU: XiaoquId = XiaoquId(Uuid::from_u128(9));
const SMALL_XIAOQU: XiaoquId = XiaoquId(Uuid::from_u128(8));
/// Invited: accounts 100 and 101; 102 is drawn but never invited.
const INVITED: [u128; 2] = [100, 101];

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
        .single()
        .expect("valid time")
}

fn policy() -> MeetingPolicy {
    let mut policy = MeetingPolicy::default();
    policy
        .quorum_by_xiaoqu
        .insert(SMALL_XIAOQU, QuorumRule { others_required: 2 });
    policy
}

fn item_id(n: u8) -> AgendaItemId {
    AgendaItemId(Uuid::from_u128(1000 + u128::from(n)))
}
fn action_item_id(n: u8) -> ActionItemId {
    ActionItemId(Uuid::from_u128(2000 + u128::from(n)))
}
fn person(n: u8) -> AccountId {
    AccountId(Uuid::from_u128(100 + u128::from(n)))
}

/// Few subjects, so that repeats happen: 0 and 1 are grievances, 2 a case,
/// 3 an action item, anything else `Other`.
fn subject(n: u8) -> AgendaSubject {
    match n {
        0 | 1 => AgendaSubject::Grievance(GrievanceId(Uuid::from_u128(u128::from(n)))),
        2 => AgendaSubject::MediationCase(CaseId(Uuid::from_u128(2))),
        3 => AgendaSubject::ActionItem(ActionItemId(Uuid::from_u128(3))),
        _ => AgendaSubject::Other,
    }
}

fn draft(item: u8, subject_n: u8) -> AgendaItemDraft {
    AgendaItemDraft {
        item_id: item_id(item),
        subject: subject(subject_n),
        title: Title::parse("议题").expect("title"),
    }
}

fn text() -> Statement {
    Statement::parse("x").expect("statement")
}

fn action(meeting: &JointMeeting, now: DateTime<Utc>, act: &Act) -> MeetingAction {
    match act {
        Act::Convene {
            kind,
            small_xiaoqu,
            scheduled_in_hours,
            items,
        } => MeetingAction::ConveneMeeting(ConveneMeeting {
            meeting_id: ID,
            xiaoqu: if *small_xiaoqu { SMALL_XIAOQU } else { XIAOQU },
            kind: *kind,
            scheduled_for: now + TimeDelta::hours(*scheduled_in_hours),
            place: Label::parse("活动室").expect("label"),
            invited_people: INVITED
                .iter()
                .map(|&n| Invitee {
                    account: AccountId(Uuid::from_u128(n)),
                    capacity: InviteeCapacity::Other,
                })
                .collect(),
            agenda: items.iter().map(|&(i, s)| draft(i, s)).collect(),
        }),
        Act::AddItem { item, subject } => MeetingAction::AddAgendaItem(draft(*item, *subject)),
        Act::Open { parties, people } => MeetingAction::OpenMeeting {
            present_parties: parties.clone(),
            present_people: people.iter().map(|&n| person(n)).collect(),
        },
        Act::Decide {
            item,
            positions,
            action_items,
        } => {
            let positions = match positions {
                Positions::EveryPresentParty(stances) => {
                    let present = meeting
                        .state()
                        .map(|s| s.present_parties.clone())
                        .unwrap_or_default();
                    present
                        .into_iter()
                        .zip(stances.iter().cycle())
                        .map(|(party, &stance)| PartyPosition { party, stance })
                        .collect()
                }
                Positions::Drawn(drawn) => drawn.clone(),
            };
            MeetingAction::DecideItem {
                item: item_id(*item),
                summary: text(),
                decision: text(),
                positions,
                action_items: action_items
                    .iter()
                    .map(|a| ActionItemDraft {
                        action_item_id: action_item_id(a.id),
                        owner: a.owner,
                        description: text(),
                        due_at: now + TimeDelta::hours(a.due_in_hours),
                    })
                    .collect(),
                cited_vote: None,
            }
        }
        Act::Defer { item } => MeetingAction::DeferItem {
            item: item_id(*item),
            reason: Reason::parse("x").expect("reason"),
        },
        Act::Close => MeetingAction::CloseMeeting {
            public_summary: None,
        },
        Act::Cancel => MeetingAction::CancelMeeting {
            reason: Reason::parse("x").expect("reason"),
        },
        Act::Complete { action_item } => MeetingAction::CompleteActionItem {
            action_item: action_item_id(*action_item),
            note: None,
        },
    }
}

/// The lifecycle, written out independently of the aggregate: the status an
/// accepted command leads to, or `None` if the edge does not exist.
fn edge(from: Option<MeetingStatus>, act: &Act) -> Option<MeetingStatus> {
    use MeetingStatus::*;
    match (from, act) {
        (None, Act::Convene { .. }) => Some(Convened),
        (None, _) | (Some(_), Act::Convene { .. }) => None,
        (Some(s), act) => match act {
            Act::Convene { .. } => None,
            Act::AddItem { .. } => matches!(s, Convened | Open).then_some(s),
            Act::Open { .. } => (s == Convened).then_some(Open),
            Act::Decide { .. } | Act::Defer { .. } => (s == Open).then_some(Open),
            Act::Close => (s == Open).then_some(Closed),
            Act::Cancel => (s == Convened).then_some(Cancelled),
            Act::Complete { .. } => matches!(s, Open | Closed).then_some(s),
        },
    }
}

fn run(
    meeting: &JointMeeting,
    now: DateTime<Utc>,
    step: &Step,
) -> Result<Vec<MeetingEvent>, MeetingError> {
    let services = MeetingServices::new(Arc::new(FixedClock::at(now)), policy());
    let command = MeetingCommand::new(step.who.actor(), action(meeting, now, &step.act));
    meeting.decide(command, &services)
}

fn any_meeting_party() -> impl Strategy<Value = PartyRole> {
    proptest::sample::select(PartyRole::MEETING_PARTIES.to_vec())
}

/// Mostly the five, sometimes a party that does not sit at joint meetings.
fn any_party() -> impl Strategy<Value = PartyRole> {
    prop_oneof![9 => any_meeting_party(), 1 => Just(PartyRole::Community)]
}

fn any_stance() -> impl Strategy<Value = Stance> {
    prop_oneof![
        Just(Stance::Agree),
        Just(Stance::Object),
        Just(Stance::Abstain)
    ]
}

/// Present parties: a random subset of the five in random order, or
/// anything at all (duplicates, outsiders).
fn any_present() -> impl Strategy<Value = Vec<PartyRole>> {
    prop_oneof![
        3 => proptest::sample::subsequence(PartyRole::MEETING_PARTIES.to_vec(), 0..=5)
            .prop_shuffle(),
        1 => proptest::collection::vec(any_party(), 0..6),
    ]
}

fn any_action_pick() -> impl Strategy<Value = ActionPick> {
    (
        0u8..6,
        any_party(),
        prop_oneof![9 => 1i64..500, 1 => -5i64..=0],
    )
        .prop_map(|(id, owner, due_in_hours)| ActionPick {
            id,
            owner,
            due_in_hours,
        })
}

fn any_act() -> BoxedStrategy<Act> {
    let kind = prop_oneof![Just(MeetingKind::Regular), Just(MeetingKind::Urgent)];
    let items = proptest::collection::vec((0u8..6, 0u8..6), 0..4);
    let positions = prop_oneof![
        3 => proptest::collection::vec(any_stance(), 1..4).prop_map(Positions::EveryPresentParty),
        1 => proptest::collection::vec(
            (any_party(), any_stance()).prop_map(|(party, stance)| PartyPosition { party, stance }),
            0..6,
        )
        .prop_map(Positions::Drawn),
    ];
    prop_oneof![
        (
            kind,
            any::<bool>(),
            prop_oneof![9 => 0i64..100, 1 => -3i64..0],
            items
        )
            .prop_map(
                |(kind, small_xiaoqu, scheduled_in_hours, items)| Act::Convene {
                    kind,
                    small_xiaoqu,
                    scheduled_in_hours,
                    items,
                }
            ),
        (0u8..6, 0u8..6).prop_map(|(item, subject)| Act::AddItem { item, subject }),
        (any_present(), proptest::collection::vec(0u8..3, 0..3))
            .prop_map(|(parties, people)| Act::Open { parties, people }),
        (
            0u8..6,
            positions,
            proptest::collection::vec(any_action_pick(), 0..3)
        )
            .prop_map(|(item, positions, action_items)| Act::Decide {
                item,
                positions,
                action_items,
            }),
        (0u8..6).prop_map(|item| Act::Defer { item }),
        Just(Act::Close),
        Just(Act::Cancel),
        (0u8..6).prop_map(|action_item| Act::Complete { action_item }),
    ]
    .boxed()
}

fn any_who() -> impl Strategy<Value = Who> {
    prop_oneof![
        6 => Just(Who::Branch),
        2 => Just(Who::Company),
        1 => Just(Who::Resident),
    ]
}

#[derive(Clone, Debug)]
struct Model {
    meeting: JointMeeting,
    now: DateTime<Utc>,
}

struct MeetingMachine;

impl ReferenceStateMachine for MeetingMachine {
    type State = Model;
    type Transition = Step;

    fn init_state() -> BoxedStrategy<Model> {
        Just(Model {
            meeting: JointMeeting::default(),
            now: start(),
        })
        .boxed()
    }

    fn transitions(state: &Model) -> BoxedStrategy<Step> {
        let hours = prop_oneof![4 => 0i64..4, 1 => 24i64..200];
        let random = (any_who(), any_act(), hours).prop_map(|(who, act, advance_hours)| Step {
            who,
            act,
            advance_hours,
        });
        // Close is rare among random acts; offer it more often once open, so
        // that walks reach the end of the lifecycle.
        if state.meeting.status() == Some(MeetingStatus::Open) {
            let close = Just(Step {
                who: Who::Branch,
                act: Act::Close,
                advance_hours: 1,
            });
            prop_oneof![5 => random, 1 => close].boxed()
        } else {
            random.boxed()
        }
    }

    fn apply(mut state: Model, step: &Step) -> Model {
        state.now += TimeDelta::hours(step.advance_hours);
        if let Ok(events) = run(&state.meeting, state.now, step) {
            for event in events {
                state.meeting.apply(event);
            }
        }
        state
    }
}

struct Sut {
    meeting: JointMeeting,
    events: Vec<MeetingEvent>,
    now: DateTime<Utc>,
}

impl StateMachineTest for MeetingMachine {
    type SystemUnderTest = Sut;
    type Reference = MeetingMachine;

    fn init_test(_: &Model) -> Sut {
        Sut {
            meeting: JointMeeting::default(),
            events: Vec::new(),
            now: start(),
        }
    }

    fn apply(mut sut: Sut, _: &Model, step: Step) -> Sut {
        sut.now += TimeDelta::hours(step.advance_hours);
        let before = sut.meeting.status();
        match run(&sut.meeting, sut.now, &step) {
            Ok(events) => {
                assert!(!events.is_empty(), "an accepted command records something");
                for event in events {
                    assert_eq!(event.at(), sut.now, "events are stamped by the clock");
                    sut.meeting.apply(event.clone());
                    sut.events.push(event);
                }
                let after = sut.meeting.status();
                assert_eq!(
                    edge(before, &step.act),
                    after,
                    "{:?} by {:?} moved {:?} to {:?}, which is not an edge of the lifecycle",
                    step.act,
                    step.who,
                    before,
                    after
                );
            }
            Err(_) => {
                // A refused command changes nothing: `decide` cannot mutate.
                assert_eq!(sut.meeting.status(), before);
            }
        }
        sut
    }

    fn check_invariants(sut: &Sut, model: &Model) {
        let mut replayed = JointMeeting::default();
        for event in sut.events.iter().cloned() {
            replayed.apply(event);
        }
        assert_eq!(replayed, sut.meeting, "replay rebuilds the same state");
        assert_eq!(model.meeting, sut.meeting);
        let Some(state) = sut.meeting.state() else {
            assert!(sut.events.is_empty());
            return;
        };
        let opened = matches!(state.status, MeetingStatus::Open | MeetingStatus::Closed);
        assert_eq!(opened, state.opened_at.is_some());
        if opened {
            // Quorum, computed here independently of `QuorumRule`.
            let present = &state.present_parties;
            let others = PartyRole::MEETING_PARTIES[1..]
                .iter()
                .filter(|p| present.contains(p))
                .count();
            assert!(present.contains(&PartyRole::PartyBranch));
            assert!(others >= usize::from(state.quorum.others_required));
            assert!(present
                .iter()
                .all(|p| PartyRole::MEETING_PARTIES.contains(p)));
            assert_eq!(
                present.len(),
                PartyRole::MEETING_PARTIES
                    .iter()
                    .filter(|p| present.contains(p))
                    .count(),
                "no party is present twice"
            );
            assert!(state.quorum_met());
        }
        assert_eq!(
            state.status == MeetingStatus::Closed,
            state.closed_at.is_some()
        );
        if state.status == MeetingStatus::Closed {
            assert_eq!(
                state.pending_count(),
                0,
                "a closed meeting left nothing pending"
            );
        }
        assert_eq!(
            state.status == MeetingStatus::Cancelled,
            state.cancelled_at.is_some()
        );
        for item in &state.agenda {
            if let ItemOutcome::Decided { positions, .. } = &item.outcome {
                assert_eq!(positions.len(), state.present_parties.len());
                for party in &state.present_parties {
                    assert_eq!(
                        positions.iter().filter(|p| p.party == *party).count(),
                        1,
                        "exactly one position per present party"
                    );
                }
            }
        }
        for (i, item) in state.agenda.iter().enumerate() {
            assert!(state.agenda[..i]
                .iter()
                .all(|earlier| earlier.id != item.id));
            if item.subject != AgendaSubject::Other {
                assert!(state.agenda[..i]
                    .iter()
                    .all(|earlier| earlier.subject != item.subject));
            }
        }
        assert!(state.agenda.len() <= JointMeeting::MAX_AGENDA_ITEMS);
        for (i, action) in state.action_items.iter().enumerate() {
            assert!(state.action_items[..i].iter().all(|a| a.id != action.id));
            assert!(PartyRole::MEETING_PARTIES.contains(&action.owner));
            assert!(matches!(
                state.item(action.item).map(|i| &i.outcome),
                Some(ItemOutcome::Decided { .. })
            ));
        }
    }
}

prop_state_machine! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]
    #[test]
    fn random_command_sequences_follow_the_meeting_lifecycle(sequential 1..40 => MeetingMachine);
}

#[test]
fn a_fitting_walk_reaches_a_closed_meeting_with_a_completed_action_item() {
    // Guards the generator's vocabulary: its acts can carry a meeting to the end.
    let walk = [
        (
            Who::Branch,
            Act::Convene {
                kind: MeetingKind::Urgent,
                small_xiaoqu: true,
                scheduled_in_hours: 1,
                items: vec![(0, 0), (1, 4)],
            },
        ),
        (
            Who::Branch,
            Act::Open {
                parties: vec![
                    PartyRole::PartyBranch,
                    PartyRole::PropertyCompany,
                    PartyRole::OwnersCommittee,
                ],
                people: vec![0],
            },
        ),
        (
            Who::Branch,
            Act::Decide {
                item: 0,
                positions: Positions::EveryPresentParty(vec![Stance::Agree, Stance::Object]),
                action_items: vec![ActionPick {
                    id: 0,
                    owner: PartyRole::PropertyCompany,
                    due_in_hours: 48,
                }],
            },
        ),
        (Who::Branch, Act::Defer { item: 1 }),
        (Who::Branch, Act::Close),
        (Who::Company, Act::Complete { action_item: 0 }),
    ];
    let mut model = Model {
        meeting: JointMeeting::default(),
        now: start(),
    };
    for (who, act) in walk {
        let step = Step {
            who,
            act,
            advance_hours: 1,
        };
        let before = model.meeting.status();
        assert!(
            run(&model.meeting, model.now + TimeDelta::hours(1), &step).is_ok(),
            "{step:?}"
        );
        model = <MeetingMachine as ReferenceStateMachine>::apply(model, &step);
        assert_eq!(edge(before, &step.act), model.meeting.status());
    }
    let state = model.meeting.state().expect("convened");
    assert_eq!(state.status, MeetingStatus::Closed);
    assert!(state.action_items.iter().all(|a| a.done_at.is_some()));
}
