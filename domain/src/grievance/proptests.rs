//! Random command sequences against the Grievance aggregate: no panics, the
//! status only moves along the edges of DOMAIN.md, and replaying the emitted
//! events rebuilds exactly the same state.

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use cqrs_es::Aggregate;
use proptest::prelude::*;
use proptest_state_machine::{prop_state_machine, ReferenceStateMachine, StateMachineTest};
use uuid::Uuid;

use super::*;
use crate::actor::{Actor, Role};
use crate::deadline::{Deadline, Stage};
use crate::services::{FixedClock, GrievancePolicy, GrievanceServices};
use crate::values::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Who {
    Filer,
    Neighbour,
    Branch,
    Company,
    Committee,
    Community,
    Street,
    District,
    System,
}

impl Who {
    fn actor(self) -> Actor {
        let (n, role) = match self {
            Who::Filer => (1, Role::Resident),
            Who::Neighbour => (2, Role::Resident),
            Who::Branch => (3, Role::PartyBranch),
            Who::Company => (4, Role::PropertyCompany),
            Who::Committee => (5, Role::OwnersCommittee),
            Who::Community => (6, Role::Community),
            Who::Street => (7, Role::Street),
            Who::District => (8, Role::District),
            Who::System => (0, Role::System),
        };
        Actor::new(AccountId(Uuid::from_u128(n)), role)
    }

    fn for_role(role: Role) -> Who {
        match role {
            Role::PartyBranch => Who::Branch,
            Role::PropertyCompany => Who::Company,
            Role::OwnersCommittee => Who::Committee,
            Role::Community => Who::Community,
            Role::Street => Who::Street,
            Role::District => Who::District,
            _ => Who::Neighbour,
        }
    }
}

#[derive(Clone, Debug)]
enum Act {
    File,
    Accept,
    Reject,
    Triage(MatterClass, Tier, PartyRole),
    Assign(PartyRole),
    Respond,
    Escalate(EscalationReason),
    Withdraw,
    Resolve,
    Rate(Rating),
    Reopen,
    Merge {
        into_itself: bool,
    },
    Link,
    /// The scheduler, for the grievance's current deadline (or a made-up one).
    MissDeadline,
    Pause,
    Resume,
    ReferToMeeting,
    /// The mediation process manager, with a case event's sequence number.
    FollowCase(u64, CaseStepKind),
    /// The meeting process manager, with a meeting event's sequence number.
    FollowMeeting(u64, MeetingStepKind),
}

#[derive(Clone, Copy, Debug)]
enum CaseStepKind {
    Opened,
    Agreed,
    Reopened,
    Escalated,
    Referred,
}

#[derive(Clone, Copy, Debug)]
enum MeetingStepKind {
    Convened(MeetingKind),
    Decided,
    Deferred,
    Cancelled,
}

#[derive(Clone, Debug)]
struct Step {
    who: Who,
    act: Act,
    advance_hours: i64,
}

const ID: GrievanceId = GrievanceId(Uuid::from_u128(77));
const OTHER: GrievanceId = GrievanceId(Uuid::from_u128(78));
const XIAOQU: XiaoquId = XiaoquId(Uuid::from_u128(9));

fn action(act: &Act) -> GrievanceAction {
    let text = "x";
    match act {
        Act::File => GrievanceAction::FileGrievance(FileGrievance {
            grievance_id: ID,
            xiaoqu: XIAOQU,
            category: Category::Noise,
            title: Title::parse("噪音").expect("title"),
            description: Description::parse("").expect("description"),
            location: Location::new(None, None, Label::parse("花园").ok()).expect("location"),
            respondent: Respondent::Neighbour,
            urgency: Urgency::Normal,
            channel: Channel::Wechat,
            attachments: vec![],
        }),
        Act::Accept => GrievanceAction::AcceptGrievance,
        Act::Reject => GrievanceAction::RejectGrievance {
            reason: Reason::parse(text).expect("reason"),
        },
        Act::Triage(matter_class, tier, party) => GrievanceAction::TriageGrievance {
            matter_class: *matter_class,
            tier: Some(*tier),
            party: *party,
        },
        Act::Assign(party) => GrievanceAction::AssignGrievance {
            party: Some(*party),
            note: None,
        },
        Act::Respond => GrievanceAction::RespondToGrievance {
            response: Statement::parse(text).expect("statement"),
        },
        Act::Escalate(reason) => GrievanceAction::EscalateGrievance {
            reason: *reason,
            note: None,
        },
        Act::Withdraw => GrievanceAction::WithdrawGrievance { reason: None },
        Act::Resolve => GrievanceAction::ResolveGrievance {
            summary: Statement::parse(text).expect("statement"),
        },
        Act::Rate(rating) => GrievanceAction::RateOutcome {
            rating: *rating,
            comment: None,
        },
        Act::Reopen => GrievanceAction::ReopenGrievance {
            reason: Reason::parse(text).expect("reason"),
        },
        Act::Merge { into_itself } => GrievanceAction::MergeIntoPrimary {
            primary: PrimaryOfMerge {
                id: if *into_itself { ID } else { OTHER },
                xiaoqu: XIAOQU,
                status: Status::Filed,
            },
        },
        Act::Link => GrievanceAction::LinkDuplicates {
            duplicates: vec![DuplicateToLink {
                duplicate: OTHER,
                xiaoqu: XIAOQU,
                filer: Who::Neighbour.actor().account,
            }],
        },
        Act::MissDeadline => GrievanceAction::EscalateOnMissedDeadline {
            deadline: Deadline {
                stage: Stage::Respond,
                due_at: start(),
            },
        },
        Act::Pause => GrievanceAction::PauseDeadline {
            reason: Reason::parse(text).expect("reason"),
        },
        Act::Resume => GrievanceAction::ResumeDeadline,
        Act::ReferToMeeting => GrievanceAction::ReferToMeeting { note: None },
        Act::FollowCase(sequence, kind) => GrievanceAction::FollowCase {
            case: CaseId(Uuid::from_u128(5)),
            sequence: *sequence,
            step: match kind {
                CaseStepKind::Opened => CaseStep::Opened,
                CaseStepKind::Agreed => CaseStep::Agreed {
                    terms: Statement::parse(text).expect("statement"),
                },
                CaseStepKind::Reopened => CaseStep::Reopened,
                CaseStepKind::Escalated => CaseStep::Failed { escalate: true },
                CaseStepKind::Referred => CaseStep::Failed { escalate: false },
            },
        },
        Act::FollowMeeting(sequence, kind) => GrievanceAction::FollowMeeting {
            meeting: MeetingId(Uuid::from_u128(6)),
            sequence: *sequence,
            step: match kind {
                MeetingStepKind::Convened(kind) => MeetingStep::Convened { kind: *kind },
                MeetingStepKind::Decided => MeetingStep::Decided {
                    decision: Statement::parse(text).expect("statement"),
                },
                MeetingStepKind::Deferred => MeetingStep::Deferred,
                MeetingStepKind::Cancelled => MeetingStep::Cancelled,
            },
        },
    }
}

/// The lifecycle of DOMAIN.md, written out independently of the aggregate:
/// the status an accepted command leads to, or `None` if the edge does not exist.
fn edge(from: Option<Status>, act: &Act) -> Option<Status> {
    use Status::*;
    let in_progress = |s| matches!(s, Accepted | Triaged | Assigned | Responded | InMediation);
    let from_filed_or_in_progress = |s| s == Filed || in_progress(s);
    match (from, act) {
        (None, Act::File) => Some(Filed),
        (None, _) | (Some(_), Act::File) => None,
        (Some(s), act) => match act {
            Act::File => None,
            Act::Accept => (s == Filed).then_some(Accepted),
            Act::Reject => (s == Filed).then_some(Rejected),
            Act::Triage(..) => (s == Accepted).then_some(Triaged),
            Act::Assign(_) => matches!(s, Triaged | Assigned).then_some(Assigned),
            Act::Respond => (s == Assigned).then_some(Responded),
            Act::Escalate(_) => in_progress(s).then_some(s),
            Act::Withdraw => from_filed_or_in_progress(s).then_some(Withdrawn),
            Act::Resolve => (s == Responded).then_some(Resolved),
            Act::Rate(_) => (s == Resolved).then_some(Closed),
            Act::Reopen => matches!(s, Resolved | Closed).then_some(Assigned),
            Act::Merge { .. } => from_filed_or_in_progress(s).then_some(Merged),
            Act::Link => (!matches!(s, Rejected | Closed | Withdrawn | Merged)).then_some(s),
            Act::MissDeadline => from_filed_or_in_progress(s).then_some(s),
            Act::Pause | Act::Resume => from_filed_or_in_progress(s).then_some(s),
            Act::ReferToMeeting => in_progress(s).then_some(s),
            Act::FollowCase(_, kind) => match kind {
                CaseStepKind::Opened => {
                    matches!(s, Triaged | Assigned | Responded).then_some(InMediation)
                }
                CaseStepKind::Agreed => (s == InMediation).then_some(Resolved),
                CaseStepKind::Reopened => matches!(s, Resolved | Closed).then_some(InMediation),
                CaseStepKind::Escalated => (s == InMediation).then_some(Triaged),
                CaseStepKind::Referred => (s == InMediation).then_some(Referred),
            },
            Act::FollowMeeting(..) => Some(s),
        },
    }
}

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
        .single()
        .expect("valid time")
}

fn run(
    grievance: &Grievance,
    now: DateTime<Utc>,
    step: &Step,
) -> Result<Vec<GrievanceEvent>, GrievanceError> {
    let services =
        GrievanceServices::new(Arc::new(FixedClock::at(now)), GrievancePolicy::default());
    let action = match (&step.act, grievance.state().and_then(|s| s.deadline)) {
        (Act::MissDeadline, Some(deadline)) => {
            GrievanceAction::EscalateOnMissedDeadline { deadline }
        }
        (act, _) => action(act),
    };
    grievance.decide(GrievanceCommand::new(step.who.actor(), action), &services)
}

#[derive(Clone, Debug)]
struct Model {
    grievance: Grievance,
    now: DateTime<Utc>,
}

struct GrievanceMachine;

fn any_party() -> impl Strategy<Value = PartyRole> {
    prop_oneof![
        Just(PartyRole::PropertyCompany),
        Just(PartyRole::OwnersCommittee),
        Just(PartyRole::PartyBranch),
        Just(PartyRole::Community),
    ]
}

fn any_act() -> BoxedStrategy<Act> {
    let tier = prop_oneof![
        Just(Tier::Xiaoqu),
        Just(Tier::Community),
        Just(Tier::District)
    ];
    let class = prop_oneof![
        Just(MatterClass::Major),
        Just(MatterClass::Minor),
        Just(MatterClass::Private)
    ];
    let reason = prop_oneof![
        Just(EscalationReason::Manual),
        Just(EscalationReason::FilerRequest),
        Just(EscalationReason::DeadlineMissed),
        Just(EscalationReason::MediationFailed),
    ];
    let rating = prop_oneof![
        Just(Rating::Satisfied),
        Just(Rating::MostlySatisfied),
        Just(Rating::Unsatisfied)
    ];
    prop_oneof![
        Just(Act::File),
        Just(Act::Accept),
        Just(Act::Reject),
        (class, tier, any_party()).prop_map(|(c, t, p)| Act::Triage(c, t, p)),
        any_party().prop_map(Act::Assign),
        Just(Act::Respond),
        reason.prop_map(Act::Escalate),
        Just(Act::Withdraw),
        Just(Act::Resolve),
        rating.prop_map(Act::Rate),
        Just(Act::Reopen),
        any::<bool>().prop_map(|into_itself| Act::Merge { into_itself }),
        Just(Act::Link),
        Just(Act::MissDeadline),
        Just(Act::Pause),
        Just(Act::Resume),
        Just(Act::ReferToMeeting),
        (1u64..40, any_case_step()).prop_map(|(n, k)| Act::FollowCase(n, k)),
        (1u64..40, any_meeting_step()).prop_map(|(n, k)| Act::FollowMeeting(n, k)),
    ]
    .boxed()
}

fn any_case_step() -> impl Strategy<Value = CaseStepKind> {
    prop_oneof![
        Just(CaseStepKind::Opened),
        Just(CaseStepKind::Agreed),
        Just(CaseStepKind::Reopened),
        Just(CaseStepKind::Escalated),
        Just(CaseStepKind::Referred),
    ]
}

fn any_meeting_step() -> impl Strategy<Value = MeetingStepKind> {
    prop_oneof![
        Just(MeetingStepKind::Convened(MeetingKind::Urgent)),
        Just(MeetingStepKind::Convened(MeetingKind::Regular)),
        Just(MeetingStepKind::Decided),
        Just(MeetingStepKind::Deferred),
        Just(MeetingStepKind::Cancelled),
    ]
}

fn representative_acts() -> Vec<Act> {
    vec![
        Act::File,
        Act::Accept,
        Act::Reject,
        Act::Triage(MatterClass::Minor, Tier::Xiaoqu, PartyRole::PropertyCompany),
        Act::Triage(MatterClass::Major, Tier::Community, PartyRole::Community),
        Act::Assign(PartyRole::PropertyCompany),
        Act::Assign(PartyRole::OwnersCommittee),
        Act::Respond,
        Act::Escalate(EscalationReason::Manual),
        Act::Escalate(EscalationReason::FilerRequest),
        Act::Escalate(EscalationReason::DeadlineMissed),
        Act::Withdraw,
        Act::Resolve,
        Act::Rate(Rating::Satisfied),
        Act::Rate(Rating::Unsatisfied),
        Act::Reopen,
        Act::Merge { into_itself: false },
        Act::Link,
        Act::MissDeadline,
        Act::Pause,
        Act::Resume,
        Act::ReferToMeeting,
        Act::FollowCase(10, CaseStepKind::Opened),
        Act::FollowCase(20, CaseStepKind::Agreed),
        Act::FollowCase(30, CaseStepKind::Reopened),
        Act::FollowCase(35, CaseStepKind::Escalated),
        Act::FollowCase(36, CaseStepKind::Referred),
        Act::FollowMeeting(10, MeetingStepKind::Convened(MeetingKind::Urgent)),
        Act::FollowMeeting(20, MeetingStepKind::Decided),
    ]
}

fn any_who() -> impl Strategy<Value = Who> {
    prop_oneof![
        Just(Who::Filer),
        Just(Who::Neighbour),
        Just(Who::Branch),
        Just(Who::Company),
        Just(Who::Committee),
        Just(Who::Community),
        Just(Who::Street),
        Just(Who::District),
        Just(Who::System),
    ]
}

/// The actor most likely to be allowed to do `act`, so that sequences get deep.
fn fitting_actor(grievance: &Grievance, act: &Act) -> Who {
    let Some(state) = grievance.state() else {
        return Who::Filer;
    };
    let handler = Who::for_role(state.handler_role());
    match act {
        Act::File | Act::Withdraw | Act::Rate(_) | Act::Reopen => Who::Filer,
        Act::Escalate(EscalationReason::FilerRequest) => Who::Filer,
        Act::Escalate(EscalationReason::DeadlineMissed | EscalationReason::MediationFailed) => {
            Who::System
        }
        Act::MissDeadline | Act::FollowCase(..) | Act::FollowMeeting(..) => Who::System,
        Act::Pause | Act::Resume => handler,
        Act::Accept | Act::Reject => Who::Branch,
        Act::Respond => match state.assigned_party {
            Some(PartyRole::PropertyCompany) => Who::Company,
            Some(PartyRole::OwnersCommittee) => Who::Committee,
            Some(PartyRole::PartyBranch) => Who::Branch,
            Some(PartyRole::Community) => Who::Community,
            _ => Who::Neighbour,
        },
        Act::Triage(..)
        | Act::Assign(_)
        | Act::Escalate(_)
        | Act::Resolve
        | Act::Merge { .. }
        | Act::Link
        | Act::ReferToMeeting => handler,
    }
}

impl ReferenceStateMachine for GrievanceMachine {
    type State = Model;
    type Transition = Step;

    fn init_state() -> BoxedStrategy<Model> {
        Just(Model {
            grievance: Grievance::default(),
            now: start(),
        })
        .boxed()
    }

    fn transitions(state: &Model) -> BoxedStrategy<Step> {
        let grievance = state.grievance.clone();
        let hours = prop_oneof![4 => 0i64..48, 1 => 300i64..400];
        // Mostly acts that have an edge from the current status, so that walks get deep.
        let status = grievance.status();
        let candidates: Vec<Act> = representative_acts()
            .into_iter()
            .filter(|act| edge(status, act).is_some())
            .collect();
        let fitting_act = if candidates.is_empty() {
            any_act()
        } else {
            proptest::sample::select(candidates).boxed()
        };
        let fitting = (fitting_act, hours.clone()).prop_map(move |(act, advance_hours)| Step {
            who: fitting_actor(&grievance, &act),
            act,
            advance_hours,
        });
        let random = (any_who(), any_act(), hours).prop_map(|(who, act, advance_hours)| Step {
            who,
            act,
            advance_hours,
        });
        prop_oneof![6 => fitting, 1 => random].boxed()
    }

    fn apply(mut state: Model, step: &Step) -> Model {
        state.now += TimeDelta::hours(step.advance_hours);
        if let Ok(events) = run(&state.grievance, state.now, step) {
            for event in events {
                state.grievance.apply(event);
            }
        }
        state
    }
}

struct Sut {
    grievance: Grievance,
    events: Vec<GrievanceEvent>,
    now: DateTime<Utc>,
}

impl StateMachineTest for GrievanceMachine {
    type SystemUnderTest = Sut;
    type Reference = GrievanceMachine;

    fn init_test(_: &Model) -> Sut {
        Sut {
            grievance: Grievance::default(),
            events: Vec::new(),
            now: start(),
        }
    }

    fn apply(mut sut: Sut, _: &Model, step: Step) -> Sut {
        sut.now += TimeDelta::hours(step.advance_hours);
        let before = sut.grievance.status();
        let tier_before = sut.grievance.state().map(|s| s.tier);
        match run(&sut.grievance, sut.now, &step) {
            Ok(events) => {
                for event in events {
                    sut.grievance.apply(event.clone());
                    sut.events.push(event);
                }
                let after = sut.grievance.status();
                // Linking and following may be no-ops (repeats); the rest must move along an edge.
                let may_repeat = matches!(
                    step.act,
                    Act::Link | Act::FollowCase(..) | Act::FollowMeeting(..)
                );
                // A household whose duplicate was linked rates as its own:
                // the grievance stays where it is.
                let household_rating =
                    matches!(step.act, Act::Rate(_)) && !matches!(step.who, Who::Filer);
                let expected = if household_rating {
                    before
                } else {
                    edge(before, &step.act)
                };
                if after != before || !may_repeat {
                    assert_eq!(
                        expected, after,
                        "{:?} by {:?} moved {:?} to {:?}, which is not an edge of the lifecycle",
                        step.act, step.who, before, after
                    );
                }
                let tier_after = sut.grievance.state().map(|s| s.tier);
                assert!(tier_after >= tier_before, "tiers never go down");
            }
            Err(_) => {
                // A refused command changes nothing: `decide` cannot mutate.
                assert_eq!(sut.grievance.status(), before);
            }
        }
        sut
    }

    fn check_invariants(sut: &Sut, model: &Model) {
        let mut replayed = Grievance::default();
        for event in sut.events.iter().cloned() {
            replayed.apply(event);
        }
        assert_eq!(replayed, sut.grievance, "replay rebuilds the same state");
        assert_eq!(model.grievance, sut.grievance);
        if let Some(state) = sut.grievance.state() {
            assert_eq!(state.status == Status::Closed, state.rating.is_some());
            assert_eq!(
                matches!(state.status, Status::Resolved | Status::Closed),
                state.resolved_at.is_some()
            );
            assert_eq!(state.status == Status::Merged, state.merged_into.is_some());
            if state.status == Status::InMediation {
                assert!(
                    state.mediation.is_some(),
                    "a grievance in mediation knows its case"
                );
            }
            if state.status.is_final() {
                assert_eq!(state.deadline, None, "a final grievance has no clock");
            }
            let escalations = sut
                .events
                .iter()
                .filter(|e| matches!(e, GrievanceEvent::GrievanceEscalated { .. }))
                .count();
            assert_eq!(state.escalations as usize, escalations);
            let open = state.status == Status::Filed
                || matches!(
                    state.status,
                    Status::Accepted
                        | Status::Triaged
                        | Status::Assigned
                        | Status::Responded
                        | Status::InMediation
                );
            assert_eq!(
                open,
                state.deadline.is_some() ^ state.paused.is_some(),
                "an open grievance has exactly one clock, running or paused; a closed one none: {state:?}"
            );
        }
    }
}

prop_state_machine! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]
    #[test]
    fn random_command_sequences_follow_the_lifecycle(sequential 1..60 => GrievanceMachine);
}

#[test]
fn the_reference_lifecycle_reaches_every_status() {
    // Guards the generator: a fitting walk reaches the deep end of the lifecycle.
    let walk = [
        Act::File,
        Act::Accept,
        Act::Triage(MatterClass::Minor, Tier::Xiaoqu, PartyRole::PropertyCompany),
        Act::Assign(PartyRole::PropertyCompany),
        Act::Respond,
        Act::Resolve,
        Act::Rate(Rating::Unsatisfied),
        Act::Reopen,
    ];
    let mut model = Model {
        grievance: Grievance::default(),
        now: start(),
    };
    for act in walk {
        let step = Step {
            who: fitting_actor(&model.grievance, &act),
            act,
            advance_hours: 1,
        };
        let before = model.grievance.status();
        model = <GrievanceMachine as ReferenceStateMachine>::apply(model, &step);
        assert_eq!(edge(before, &step.act), model.grievance.status());
    }
    assert_eq!(model.grievance.status(), Some(Status::Assigned));
}
