//! Each rule once allowed and once refused, as given/when/then.

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use cqrs_es::test::TestFramework;
use cqrs_es::{Aggregate, DomainEvent};
use uuid::Uuid;

use super::*;
use crate::actor::{Actor, Role};
use crate::services::FixedClock;
use crate::values::*;

type Framework = TestFramework<MediationCase>;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0)
        .single()
        .expect("valid time")
}

fn services_at(now: DateTime<Utc>) -> MediationServices {
    MediationServices::new(Arc::new(FixedClock::at(now)))
}

fn framework() -> Framework {
    Framework::with(services_at(t0()))
}

fn framework_at(now: DateTime<Utc>) -> Framework {
    Framework::with(services_at(now))
}

const CASE: CaseId = CaseId(Uuid::from_u128(1));
const XIAOQU: XiaoquId = XiaoquId(Uuid::from_u128(10));
const G1: GrievanceId = GrievanceId(Uuid::from_u128(20));
const G2: GrievanceId = GrievanceId(Uuid::from_u128(21));
const OB1: ObligationId = ObligationId(Uuid::from_u128(30));
const OB2: ObligationId = ObligationId(Uuid::from_u128(31));
const UNKNOWN_OB: ObligationId = ObligationId(Uuid::from_u128(39));
const MEETING: MeetingId = MeetingId(Uuid::from_u128(40));

const COMPANY: CaseParty = CaseParty::Party(PartyRole::PropertyCompany);
const COMMITTEE: CaseParty = CaseParty::Party(PartyRole::OwnersCommittee);

/// Applicant.
fn alice() -> Actor {
    Actor::new(AccountId(Uuid::from_u128(100)), Role::Resident)
}
/// Applicant.
fn bob() -> Actor {
    Actor::new(AccountId(Uuid::from_u128(101)), Role::Resident)
}
/// Not a party.
fn carol() -> Actor {
    Actor::new(AccountId(Uuid::from_u128(102)), Role::Resident)
}
/// The mediator of a xiaoqu case.
fn branch() -> Actor {
    Actor::new(AccountId(Uuid::from_u128(200)), Role::PartyBranch)
}
/// Respondent.
fn company() -> Actor {
    Actor::new(AccountId(Uuid::from_u128(300)), Role::PropertyCompany)
}
/// Not a party of the default case.
fn committee() -> Actor {
    Actor::new(AccountId(Uuid::from_u128(301)), Role::OwnersCommittee)
}
fn community() -> Actor {
    Actor::new(AccountId(Uuid::from_u128(400)), Role::Community)
}
fn system() -> Actor {
    Actor::new(AccountId(Uuid::nil()), Role::System)
}

fn person(actor: Actor) -> CaseParty {
    CaseParty::Person(actor.account)
}

fn cmd(actor: Actor, action: MediationAction) -> MediationCommand {
    MediationCommand::new(actor, action)
}

fn reason(s: &str) -> Reason {
    Reason::parse(s).expect("valid reason")
}
fn statement(s: &str) -> Statement {
    Statement::parse(s).expect("valid statement")
}
fn label(s: &str) -> Label {
    Label::parse(s).expect("valid label")
}
fn day(n: i64) -> DateTime<Utc> {
    t0() + TimeDelta::days(n)
}

fn open_command() -> OpenCase {
    OpenCase {
        case_id: CASE,
        xiaoqu: XIAOQU,
        matter: Title::parse("地下车库停车费争议").expect("title"),
        grievances: vec![G1, G2],
        applicants: vec![person(alice()), person(bob())],
        respondents: vec![COMPANY],
    }
}

fn open(with: impl FnOnce(&mut OpenCase)) -> MediationAction {
    let mut open = open_command();
    with(&mut open);
    MediationAction::OpenCase(open)
}

fn opened_by(mediator: Actor, tier: Tier) -> MediationEvent {
    let o = open_command();
    MediationEvent::MediationCaseOpened {
        case_id: o.case_id,
        xiaoqu: o.xiaoqu,
        matter: o.matter,
        grievances: o.grievances,
        applicants: o.applicants,
        respondents: o.respondents,
        mediator: mediator.account,
        tier,
        opened_at: t0(),
    }
}
fn opened() -> MediationEvent {
    opened_by(branch(), Tier::Xiaoqu)
}

fn schedule(scheduled_for: DateTime<Utc>) -> MediationAction {
    MediationAction::ScheduleSession {
        scheduled_for,
        place: Some(label("社区活动室")),
        meeting: None,
    }
}
fn scheduled(session: u32) -> MediationEvent {
    MediationEvent::SessionScheduled {
        session,
        scheduled_for: day(1),
        place: Some(label("社区活动室")),
        meeting: None,
        at: t0(),
    }
}

fn said(party: CaseParty, s: &str) -> PartyStatement {
    PartyStatement {
        party,
        statement: statement(s),
    }
}
fn record(
    session: u32,
    attendance: Vec<CaseParty>,
    statements: Vec<PartyStatement>,
) -> MediationAction {
    MediationAction::RecordSession {
        session,
        attendance,
        statements,
    }
}
fn held(session: u32) -> MediationEvent {
    MediationEvent::SessionHeld {
        session,
        attendance: vec![person(alice()), COMPANY],
        statements: vec![],
        at: t0(),
    }
}

fn terms() -> Statement {
    statement("物业退还多收的停车费;业主清理楼道杂物。")
}
fn refund() -> ObligationDraft {
    ObligationDraft {
        obligation_id: OB1,
        party: COMPANY,
        description: statement("退还多收的停车费"),
        due_at: day(7),
    }
}
fn clear_corridor() -> ObligationDraft {
    ObligationDraft {
        obligation_id: OB2,
        party: person(bob()),
        description: statement("清理楼道杂物"),
        due_at: day(3),
    }
}
fn obligation(n: u128, party: CaseParty) -> ObligationDraft {
    ObligationDraft {
        obligation_id: ObligationId(Uuid::from_u128(1000 + n)),
        party,
        description: statement("按协议履行"),
        due_at: day(7),
    }
}

fn propose(obligations: Vec<ObligationDraft>) -> MediationAction {
    MediationAction::ProposeAgreement {
        terms: terms(),
        obligations,
    }
}
fn proposed(round: u32, obligations: Vec<ObligationDraft>) -> MediationEvent {
    MediationEvent::AgreementProposed {
        proposal: round,
        terms: terms(),
        obligations,
        at: t0(),
    }
}
fn accept(party: CaseParty) -> MediationAction {
    MediationAction::AcceptProposal { party }
}
fn accepted(round: u32, party: CaseParty) -> MediationEvent {
    MediationEvent::ProposalAccepted {
        proposal: round,
        party,
        at: t0(),
    }
}
fn decline(party: CaseParty) -> MediationAction {
    MediationAction::DeclineProposal {
        party,
        reason: reason("退费金额不足"),
    }
}
fn declined(round: u32, party: CaseParty) -> MediationEvent {
    MediationEvent::ProposalDeclined {
        proposal: round,
        party,
        reason: reason("退费金额不足"),
        at: t0(),
    }
}
fn reached(round: u32, obligations: Vec<ObligationDraft>) -> MediationEvent {
    MediationEvent::AgreementReached {
        proposal: round,
        terms: terms(),
        obligations,
        at: t0(),
    }
}
fn fail(outcome: FailureOutcome) -> MediationAction {
    MediationAction::FailMediation {
        outcome,
        reason: reason("双方分歧过大"),
    }
}
fn failed(outcome: FailureOutcome) -> MediationEvent {
    MediationEvent::MediationFailed {
        outcome,
        reason: reason("双方分歧过大"),
        at: t0(),
    }
}
fn fulfil(obligation: ObligationId) -> MediationAction {
    MediationAction::FulfilObligation {
        obligation,
        note: None,
    }
}
fn fulfilled(obligation: ObligationId) -> MediationEvent {
    MediationEvent::ObligationFulfilled {
        obligation,
        note: None,
        at: t0(),
    }
}
fn mark_missed(obligation: ObligationId) -> MediationAction {
    MediationAction::MarkObligationMissed {
        obligation,
        note: Some(reason("逾期未退费")),
    }
}
fn missed(obligation: ObligationId, note: Option<Reason>, at: DateTime<Utc>) -> MediationEvent {
    MediationEvent::ObligationMissed {
        obligation,
        note,
        at,
    }
}
fn reopened(obligation: ObligationId, at: DateTime<Utc>) -> MediationEvent {
    MediationEvent::CaseReopened {
        obligation,
        voids_open: false,
        at,
    }
}
fn deadline_passed(obligation: ObligationId, due_at: DateTime<Utc>) -> MediationAction {
    MediationAction::ObligationDeadlinePassed { obligation, due_at }
}
fn concluded() -> MediationEvent {
    MediationEvent::CaseConcluded { at: t0() }
}

fn both_obligations() -> Vec<ObligationDraft> {
    vec![refund(), clear_corridor()]
}
fn up_to_proposed() -> Vec<MediationEvent> {
    vec![opened(), proposed(1, both_obligations())]
}
fn up_to_agreed() -> Vec<MediationEvent> {
    let mut events = up_to_proposed();
    events.extend([
        accepted(1, person(alice())),
        accepted(1, person(bob())),
        accepted(1, COMPANY),
        reached(1, both_obligations()),
    ]);
    events
}
fn up_to_reopened() -> Vec<MediationEvent> {
    let mut events = up_to_agreed();
    events.extend([missed(OB2, None, day(3)), reopened(OB2, day(3))]);
    events
}
fn up_to_concluded() -> Vec<MediationEvent> {
    let mut events = up_to_agreed();
    events.extend([fulfilled(OB1), fulfilled(OB2), concluded()]);
    events
}
fn up_to_failed() -> Vec<MediationEvent> {
    vec![opened(), failed(FailureOutcome::Escalate)]
}

fn state_after(events: Vec<MediationEvent>) -> MediationCaseState {
    let mut case = MediationCase::default();
    for event in events {
        case.apply(event);
    }
    case.state().cloned().expect("an opened case")
}

// --- open ---

#[test]
fn the_party_branch_opens_a_case_and_mediates_it_at_the_xiaoqu_tier() {
    framework()
        .given_no_previous_events()
        .when(cmd(branch(), MediationAction::OpenCase(open_command())))
        .then_expect_events(vec![opened()]);
}

#[test]
fn a_community_opens_a_case_and_mediates_it_at_the_community_tier() {
    framework()
        .given_no_previous_events()
        .when(cmd(community(), MediationAction::OpenCase(open_command())))
        .then_expect_events(vec![opened_by(community(), Tier::Community)]);
    let street = Actor::new(AccountId(Uuid::from_u128(401)), Role::Street);
    framework()
        .given_no_previous_events()
        .when(cmd(street, MediationAction::OpenCase(open_command())))
        .then_expect_events(vec![opened_by(street, Tier::Street)]);
}

#[test]
fn only_the_party_branch_and_the_tiers_open_cases() {
    let refused = [
        Role::Resident,
        Role::PropertyCompany,
        Role::OwnersCommittee,
        Role::SupervisoryCommittee,
        Role::MicroOrganization,
        Role::Auditor,
        Role::Admin,
        Role::System,
    ];
    for role in refused {
        framework()
            .given_no_previous_events()
            .when(cmd(
                Actor::new(AccountId(Uuid::from_u128(9)), role),
                MediationAction::OpenCase(open_command()),
            ))
            .then_expect_error(MediationError::RoleNotAllowed {
                action: "open",
                role,
            });
    }
}

#[test]
fn a_case_cannot_be_opened_twice_under_one_id() {
    framework()
        .given(vec![opened()])
        .when(cmd(branch(), MediationAction::OpenCase(open_command())))
        .then_expect_error(MediationError::AlreadyOpened);
}

#[test]
fn no_command_but_opening_applies_to_an_unopened_case() {
    framework()
        .given_no_previous_events()
        .when(cmd(branch(), schedule(day(1))))
        .then_expect_error(MediationError::NotOpened);
}

#[test]
fn a_case_needs_a_grievance() {
    framework()
        .given_no_previous_events()
        .when(cmd(branch(), open(|o| o.grievances.clear())))
        .then_expect_error(MediationError::NoGrievances);
}

#[test]
fn a_case_settles_at_most_twenty_grievances() {
    let grievances = |n: u128| -> Vec<GrievanceId> {
        (0..n)
            .map(|i| GrievanceId(Uuid::from_u128(500 + i)))
            .collect()
    };
    let result = framework()
        .given_no_previous_events()
        .when(cmd(branch(), open(|o| o.grievances = grievances(20))))
        .inspect_result();
    assert!(
        matches!(result.as_deref(), Ok([MediationEvent::MediationCaseOpened { grievances, .. }]) if grievances.len() == 20)
    );
    framework()
        .given_no_previous_events()
        .when(cmd(branch(), open(|o| o.grievances = grievances(21))))
        .then_expect_error(MediationError::TooManyGrievances { max: 20 });
}

#[test]
fn a_grievance_is_listed_once() {
    framework()
        .given_no_previous_events()
        .when(cmd(branch(), open(|o| o.grievances = vec![G1, G2, G1])))
        .then_expect_error(MediationError::DuplicateGrievance(G1));
}

#[test]
fn a_case_needs_an_applicant_and_a_respondent() {
    framework()
        .given_no_previous_events()
        .when(cmd(branch(), open(|o| o.applicants.clear())))
        .then_expect_error(MediationError::NoApplicants);
    framework()
        .given_no_previous_events()
        .when(cmd(branch(), open(|o| o.respondents.clear())))
        .then_expect_error(MediationError::NoRespondents);
}

#[test]
fn a_case_lists_at_most_twenty_applicants_and_twenty_respondents() {
    let people = |n: u128| -> Vec<CaseParty> {
        (0..n)
            .map(|i| CaseParty::Person(AccountId(Uuid::from_u128(600 + i))))
            .collect()
    };
    let result = framework()
        .given_no_previous_events()
        .when(cmd(branch(), open(|o| o.applicants = people(20))))
        .inspect_result();
    assert!(
        matches!(result.as_deref(), Ok([MediationEvent::MediationCaseOpened { applicants, .. }]) if applicants.len() == 20)
    );
    framework()
        .given_no_previous_events()
        .when(cmd(branch(), open(|o| o.applicants = people(21))))
        .then_expect_error(MediationError::TooManyParties { max: 20 });
    framework()
        .given_no_previous_events()
        .when(cmd(branch(), open(|o| o.respondents = people(21))))
        .then_expect_error(MediationError::TooManyParties { max: 20 });
}

#[test]
fn nobody_is_listed_twice_nor_on_both_sides() {
    framework()
        .given_no_previous_events()
        .when(cmd(branch(), open(|o| o.respondents.push(person(alice())))))
        .then_expect_error(MediationError::DuplicateParty(person(alice())));
    framework()
        .given_no_previous_events()
        .when(cmd(branch(), open(|o| o.respondents.push(COMPANY))))
        .then_expect_error(MediationError::DuplicateParty(COMPANY));
}

#[test]
fn the_four_parties_of_a_xiaoqu_can_be_mediated() {
    let respondents: Vec<CaseParty> = CaseParty::MEDIATABLE_PARTIES
        .into_iter()
        .map(CaseParty::Party)
        .collect();
    let result = framework()
        .given_no_previous_events()
        .when(cmd(branch(), open(|o| o.respondents = respondents.clone())))
        .inspect_result();
    assert!(
        matches!(result.as_deref(), Ok([MediationEvent::MediationCaseOpened { respondents: r, .. }]) if *r == respondents)
    );
}

#[test]
fn the_party_branch_and_the_tiers_cannot_be_a_party() {
    for role in [
        PartyRole::PartyBranch,
        PartyRole::Community,
        PartyRole::Street,
        PartyRole::District,
    ] {
        framework()
            .given_no_previous_events()
            .when(cmd(
                branch(),
                open(|o| o.respondents = vec![CaseParty::Party(role)]),
            ))
            .then_expect_error(MediationError::PartyCannotBeMediated(role));
    }
}

// --- the mediator ---

#[test]
fn a_case_opened_by_the_community_is_mediated_by_the_community_not_the_party_branch() {
    let given = vec![opened_by(community(), Tier::Community)];
    framework()
        .given(given.clone())
        .when(cmd(community(), schedule(day(1))))
        .then_expect_events(vec![scheduled(1)]);
    framework()
        .given(given)
        .when(cmd(branch(), schedule(day(1))))
        .then_expect_error(MediationError::NotTheMediator {
            action: "schedule_session",
        });
}

#[test]
fn a_party_cannot_act_as_mediator() {
    framework()
        .given(vec![opened()])
        .when(cmd(company(), propose(vec![])))
        .then_expect_error(MediationError::NotTheMediator { action: "propose" });
}

// --- sessions ---

#[test]
fn the_mediator_schedules_sessions_numbered_in_order() {
    framework()
        .given(vec![opened()])
        .when(cmd(branch(), schedule(day(1))))
        .then_expect_events(vec![scheduled(1)]);
    framework()
        .given(vec![opened(), scheduled(1)])
        .when(cmd(branch(), schedule(day(1))))
        .then_expect_events(vec![scheduled(2)]);
}

#[test]
fn a_session_is_held_at_a_place_or_as_an_item_of_a_joint_meeting() {
    framework()
        .given(vec![opened()])
        .when(cmd(
            branch(),
            MediationAction::ScheduleSession {
                scheduled_for: day(2),
                place: None,
                meeting: Some(MEETING),
            },
        ))
        .then_expect_events(vec![MediationEvent::SessionScheduled {
            session: 1,
            scheduled_for: day(2),
            place: None,
            meeting: Some(MEETING),
            at: t0(),
        }]);
    framework()
        .given(vec![opened()])
        .when(cmd(
            branch(),
            MediationAction::ScheduleSession {
                scheduled_for: day(2),
                place: None,
                meeting: None,
            },
        ))
        .then_expect_error(MediationError::NoPlaceOrMeeting);
}

#[test]
fn a_session_cannot_be_scheduled_in_the_past() {
    let result = framework()
        .given(vec![opened()])
        .when(cmd(branch(), schedule(t0())))
        .inspect_result();
    assert!(matches!(
        result.as_deref(),
        Ok([MediationEvent::SessionScheduled { session: 1, .. }])
    ));
    framework()
        .given(vec![opened()])
        .when(cmd(branch(), schedule(t0() - TimeDelta::minutes(1))))
        .then_expect_error(MediationError::SessionInThePast);
}

#[test]
fn sessions_continue_while_a_proposal_is_pending_but_not_after_agreement() {
    let mut given = up_to_proposed();
    given.push(scheduled(1));
    framework()
        .given(given)
        .when(cmd(branch(), schedule(day(1))))
        .then_expect_events(vec![scheduled(2)]);
    framework()
        .given(up_to_agreed())
        .when(cmd(branch(), schedule(day(1))))
        .then_expect_error(MediationError::InvalidTransition {
            action: "schedule_session",
            status: CaseStatus::Agreed,
        });
}

#[test]
fn the_mediator_records_who_attended_a_session_and_what_they_said() {
    let statements = vec![
        said(person(alice()), "多收了三个月的停车费"),
        said(COMPANY, "同意核对收费记录"),
    ];
    framework()
        .given(vec![opened(), scheduled(1)])
        .when(cmd(
            branch(),
            record(1, vec![person(alice()), COMPANY], statements.clone()),
        ))
        .then_expect_events(vec![MediationEvent::SessionHeld {
            session: 1,
            attendance: vec![person(alice()), COMPANY],
            statements: statements.clone(),
            at: t0(),
        }]);
    let state = state_after(vec![
        opened(),
        scheduled(1),
        MediationEvent::SessionHeld {
            session: 1,
            attendance: vec![person(alice()), COMPANY],
            statements: statements.clone(),
            at: day(1),
        },
    ]);
    assert_eq!(
        state.session(1).and_then(|s| s.held.clone()),
        Some(HeldSession {
            attendance: vec![person(alice()), COMPANY],
            statements,
            at: day(1),
        })
    );
}

#[test]
fn a_session_that_was_not_scheduled_cannot_be_recorded() {
    framework()
        .given(vec![opened(), scheduled(1)])
        .when(cmd(branch(), record(2, vec![COMPANY], vec![])))
        .then_expect_error(MediationError::UnknownSession(2));
}

#[test]
fn a_session_is_recorded_once() {
    framework()
        .given(vec![opened(), scheduled(1), held(1)])
        .when(cmd(branch(), record(1, vec![COMPANY], vec![])))
        .then_expect_error(MediationError::SessionAlreadyRecorded(1));
}

#[test]
fn only_parties_to_the_case_attend_a_session() {
    framework()
        .given(vec![opened(), scheduled(1)])
        .when(cmd(branch(), record(1, vec![COMPANY, COMMITTEE], vec![])))
        .then_expect_error(MediationError::NotACaseParty(COMMITTEE));
}

#[test]
fn a_party_is_listed_once_in_the_attendance() {
    framework()
        .given(vec![opened(), scheduled(1)])
        .when(cmd(branch(), record(1, vec![COMPANY, COMPANY], vec![])))
        .then_expect_error(MediationError::DuplicateParty(COMPANY));
}

#[test]
fn a_statement_comes_from_a_party_in_attendance() {
    framework()
        .given(vec![opened(), scheduled(1)])
        .when(cmd(
            branch(),
            record(1, vec![COMPANY], vec![said(person(bob()), "我没来")]),
        ))
        .then_expect_error(MediationError::StatementFromAbsentParty(person(bob())));
}

#[test]
fn a_party_makes_one_statement_per_session() {
    framework()
        .given(vec![opened(), scheduled(1)])
        .when(cmd(
            branch(),
            record(
                1,
                vec![COMPANY],
                vec![said(COMPANY, "第一点"), said(COMPANY, "第二点")],
            ),
        ))
        .then_expect_error(MediationError::DuplicateStatement(COMPANY));
}

#[test]
fn an_agreed_case_records_no_more_sessions() {
    let mut given = up_to_agreed();
    given.insert(1, scheduled(1));
    framework()
        .given(given)
        .when(cmd(branch(), record(1, vec![COMPANY], vec![])))
        .then_expect_error(MediationError::InvalidTransition {
            action: "record_session",
            status: CaseStatus::Agreed,
        });
}

// --- proposals ---

#[test]
fn the_mediator_proposes_an_agreement_as_round_one() {
    framework()
        .given(vec![opened()])
        .when(cmd(branch(), propose(both_obligations())))
        .then_expect_events(vec![proposed(1, both_obligations())]);
}

#[test]
fn a_pending_proposal_is_answered_before_another_is_made() {
    framework()
        .given(up_to_proposed())
        .when(cmd(branch(), propose(vec![refund()])))
        .then_expect_error(MediationError::InvalidTransition {
            action: "propose",
            status: CaseStatus::Proposed,
        });
}

#[test]
fn a_declined_proposal_is_followed_by_round_two() {
    let mut given = up_to_proposed();
    given.push(declined(1, COMPANY));
    framework()
        .given(given)
        .when(cmd(branch(), propose(vec![refund()])))
        .then_expect_events(vec![proposed(2, vec![refund()])]);
}

#[test]
fn a_proposal_holds_at_most_twenty_obligations() {
    let many =
        |n: u128| -> Vec<ObligationDraft> { (0..n).map(|i| obligation(i, COMPANY)).collect() };
    framework()
        .given(vec![opened()])
        .when(cmd(branch(), propose(many(20))))
        .then_expect_events(vec![proposed(1, many(20))]);
    framework()
        .given(vec![opened()])
        .when(cmd(branch(), propose(many(21))))
        .then_expect_error(MediationError::TooManyObligations { max: 20 });
}

#[test]
fn an_obligation_is_listed_once_per_proposal() {
    let mut again = clear_corridor();
    again.obligation_id = OB1;
    framework()
        .given(vec![opened()])
        .when(cmd(branch(), propose(vec![refund(), again])))
        .then_expect_error(MediationError::DuplicateObligation(OB1));
}

#[test]
fn an_obligation_falls_on_a_party_to_the_case() {
    framework()
        .given(vec![opened()])
        .when(cmd(branch(), propose(vec![obligation(1, COMMITTEE)])))
        .then_expect_error(MediationError::NotACaseParty(COMMITTEE));
}

#[test]
fn an_obligation_falls_due_in_the_future() {
    let mut due_now = refund();
    due_now.due_at = t0();
    framework()
        .given(vec![opened()])
        .when(cmd(branch(), propose(vec![due_now])))
        .then_expect_error(MediationError::DueDateNotInTheFuture);
}

// --- accept ---

#[test]
fn a_party_accepts_the_pending_proposal() {
    framework()
        .given(up_to_proposed())
        .when(cmd(company(), accept(COMPANY)))
        .then_expect_events(vec![accepted(1, COMPANY)]);
}

#[test]
fn a_resident_accepts_for_themselves_only() {
    framework()
        .given(up_to_proposed())
        .when(cmd(alice(), accept(person(alice()))))
        .then_expect_events(vec![accepted(1, person(alice()))]);
    framework()
        .given(up_to_proposed())
        .when(cmd(alice(), accept(person(bob()))))
        .then_expect_error(MediationError::NotThatParty);
}

#[test]
fn a_person_acting_in_another_role_does_not_sign_as_that_person() {
    let alice_on_the_committee = Actor::new(alice().account, Role::OwnersCommittee);
    framework()
        .given(up_to_proposed())
        .when(cmd(alice_on_the_committee, accept(person(alice()))))
        .then_expect_error(MediationError::NotThatParty);
}

#[test]
fn the_mediator_records_a_signature_on_a_partys_behalf() {
    framework()
        .given(up_to_proposed())
        .when(cmd(branch(), accept(person(bob()))))
        .then_expect_events(vec![accepted(1, person(bob()))]);
}

#[test]
fn another_party_or_another_tier_cannot_sign_for_a_party() {
    framework()
        .given(up_to_proposed())
        .when(cmd(company(), accept(person(alice()))))
        .then_expect_error(MediationError::NotThatParty);
    framework()
        .given(up_to_proposed())
        .when(cmd(community(), accept(COMPANY)))
        .then_expect_error(MediationError::NotThatParty);
}

#[test]
fn accepting_twice_records_nothing_the_second_time() {
    let mut given = up_to_proposed();
    given.push(accepted(1, COMPANY));
    framework()
        .given(given)
        .when(cmd(company(), accept(COMPANY)))
        .then_expect_events(vec![]);
}

#[test]
fn only_a_party_to_the_case_accepts() {
    framework()
        .given(up_to_proposed())
        .when(cmd(committee(), accept(COMMITTEE)))
        .then_expect_error(MediationError::NotACaseParty(COMMITTEE));
}

#[test]
fn the_last_acceptance_reaches_the_agreement() {
    let mut given = up_to_proposed();
    given.extend([accepted(1, person(alice())), accepted(1, person(bob()))]);
    framework()
        .given(given.clone())
        .when(cmd(company(), accept(COMPANY)))
        .then_expect_events(vec![accepted(1, COMPANY), reached(1, both_obligations())]);
    given.extend([accepted(1, COMPANY), reached(1, both_obligations())]);
    let state = state_after(given);
    assert_eq!(state.status, CaseStatus::Agreed);
    assert_eq!(state.proposal, None);
    assert_eq!(state.open_obligations().count(), 2);
}

#[test]
fn an_agreement_without_obligations_concludes_the_case() {
    framework()
        .given(vec![
            opened(),
            proposed(1, vec![]),
            accepted(1, person(alice())),
            accepted(1, person(bob())),
        ])
        .when(cmd(company(), accept(COMPANY)))
        .then_expect_events(vec![accepted(1, COMPANY), reached(1, vec![]), concluded()]);
}

#[test]
fn there_is_nothing_to_accept_without_a_pending_proposal() {
    framework()
        .given(vec![opened()])
        .when(cmd(company(), accept(COMPANY)))
        .then_expect_error(MediationError::InvalidTransition {
            action: "accept_proposal",
            status: CaseStatus::Open,
        });
}

// --- decline ---

#[test]
fn a_party_declines_the_proposal_and_negotiation_resumes() {
    framework()
        .given(up_to_proposed())
        .when(cmd(company(), decline(COMPANY)))
        .then_expect_events(vec![declined(1, COMPANY)]);
    let mut events = up_to_proposed();
    events.push(declined(1, COMPANY));
    let state = state_after(events);
    assert_eq!(state.status, CaseStatus::Open);
    assert_eq!(state.proposal, None);
    assert_eq!(state.rounds, 1);
}

#[test]
fn acceptances_of_a_declined_proposal_are_forgotten() {
    framework()
        .given(vec![
            opened(),
            proposed(1, vec![]),
            accepted(1, person(alice())),
            accepted(1, person(bob())),
            declined(1, COMPANY),
            proposed(2, vec![]),
        ])
        .when(cmd(company(), accept(COMPANY)))
        .then_expect_events(vec![accepted(2, COMPANY)]);
}

#[test]
fn a_stranger_cannot_decline_for_a_party() {
    framework()
        .given(up_to_proposed())
        .when(cmd(carol(), decline(person(alice()))))
        .then_expect_error(MediationError::NotThatParty);
}

#[test]
fn there_is_nothing_to_decline_without_a_pending_proposal() {
    framework()
        .given(vec![opened()])
        .when(cmd(company(), decline(COMPANY)))
        .then_expect_error(MediationError::InvalidTransition {
            action: "decline_proposal",
            status: CaseStatus::Open,
        });
}

// --- failure ---

#[test]
fn the_mediator_records_that_mediation_failed_and_where_the_matter_goes() {
    framework()
        .given(vec![opened()])
        .when(cmd(
            branch(),
            fail(FailureOutcome::PeoplesMediationCommittee),
        ))
        .then_expect_events(vec![failed(FailureOutcome::PeoplesMediationCommittee)]);
    framework()
        .given(up_to_proposed())
        .when(cmd(branch(), fail(FailureOutcome::Litigation)))
        .then_expect_events(vec![failed(FailureOutcome::Litigation)]);
    let mut events = up_to_proposed();
    events.push(failed(FailureOutcome::Litigation));
    let state = state_after(events);
    assert_eq!(state.status, CaseStatus::Failed);
    assert_eq!(state.proposal, None);
    assert_eq!(
        state.failure.map(|f| f.outcome),
        Some(FailureOutcome::Litigation)
    );
}

#[test]
fn a_party_cannot_declare_mediation_failed() {
    framework()
        .given(vec![opened()])
        .when(cmd(company(), fail(FailureOutcome::Escalate)))
        .then_expect_error(MediationError::NotTheMediator { action: "fail" });
}

#[test]
fn an_agreed_case_cannot_fail() {
    framework()
        .given(up_to_agreed())
        .when(cmd(branch(), fail(FailureOutcome::Escalate)))
        .then_expect_error(MediationError::InvalidTransition {
            action: "fail",
            status: CaseStatus::Agreed,
        });
}

fn every_later_command() -> Vec<MediationCommand> {
    vec![
        cmd(branch(), schedule(day(1))),
        cmd(branch(), record(1, vec![], vec![])),
        cmd(branch(), propose(vec![refund()])),
        cmd(company(), accept(COMPANY)),
        cmd(company(), decline(COMPANY)),
        cmd(branch(), fail(FailureOutcome::Escalate)),
        cmd(company(), fulfil(OB1)),
        cmd(branch(), mark_missed(OB1)),
        cmd(system(), deadline_passed(OB1, day(7))),
    ]
}

#[test]
fn a_failed_case_refuses_every_later_command() {
    for command in every_later_command() {
        let action = command.action.name();
        framework()
            .given(up_to_failed())
            .when(command)
            .then_expect_error(MediationError::InvalidTransition {
                action,
                status: CaseStatus::Failed,
            });
    }
}

// --- obligations ---

#[test]
fn the_obligated_party_reports_its_obligation_fulfilled() {
    framework()
        .given(up_to_agreed())
        .when(cmd(
            company(),
            MediationAction::FulfilObligation {
                obligation: OB1,
                note: Some(reason("已退还至业主账户")),
            },
        ))
        .then_expect_events(vec![MediationEvent::ObligationFulfilled {
            obligation: OB1,
            note: Some(reason("已退还至业主账户")),
            at: t0(),
        }]);
}

#[test]
fn the_mediator_records_a_fulfilment() {
    framework()
        .given(up_to_agreed())
        .when(cmd(branch(), fulfil(OB2)))
        .then_expect_events(vec![fulfilled(OB2)]);
}

#[test]
fn another_party_cannot_report_an_obligation_fulfilled() {
    framework()
        .given(up_to_agreed())
        .when(cmd(bob(), fulfil(OB1)))
        .then_expect_error(MediationError::NotThatParty);
    framework()
        .given(up_to_agreed())
        .when(cmd(company(), fulfil(OB2)))
        .then_expect_error(MediationError::NotThatParty);
}

#[test]
fn only_an_obligation_of_the_agreement_can_be_settled() {
    framework()
        .given(up_to_agreed())
        .when(cmd(branch(), fulfil(UNKNOWN_OB)))
        .then_expect_error(MediationError::UnknownObligation(UNKNOWN_OB));
    framework()
        .given(up_to_proposed())
        .when(cmd(branch(), fulfil(OB1)))
        .then_expect_error(MediationError::UnknownObligation(OB1));
    framework()
        .given(up_to_agreed())
        .when(cmd(branch(), mark_missed(UNKNOWN_OB)))
        .then_expect_error(MediationError::UnknownObligation(UNKNOWN_OB));
}

#[test]
fn a_fulfilled_obligation_is_not_fulfilled_again() {
    let mut given = up_to_agreed();
    given.push(fulfilled(OB1));
    framework()
        .given(given)
        .when(cmd(company(), fulfil(OB1)))
        .then_expect_error(MediationError::ObligationNotOpen(OB1));
}

#[test]
fn the_last_fulfilment_concludes_the_case() {
    let mut given = up_to_agreed();
    given.push(fulfilled(OB1));
    framework()
        .given(given)
        .when(cmd(bob(), fulfil(OB2)))
        .then_expect_events(vec![fulfilled(OB2), concluded()]);
    let state = state_after(up_to_concluded());
    assert_eq!(state.status, CaseStatus::Concluded);
    assert_eq!(state.open_obligations().count(), 0);
}

#[test]
fn a_concluded_case_refuses_every_later_command() {
    for command in every_later_command() {
        let action = command.action.name();
        framework()
            .given(up_to_concluded())
            .when(command)
            .then_expect_error(MediationError::InvalidTransition {
                action,
                status: CaseStatus::Concluded,
            });
    }
}

#[test]
fn the_mediator_marks_an_obligation_missed_which_reopens_the_case() {
    framework()
        .given(up_to_agreed())
        .when(cmd(branch(), mark_missed(OB1)))
        .then_expect_events(vec![
            missed(OB1, Some(reason("逾期未退费")), t0()),
            reopened(OB1, t0()),
        ]);
    let mut events = up_to_agreed();
    events.extend([missed(OB1, None, day(8)), reopened(OB1, day(8))]);
    let state = state_after(events);
    assert_eq!(state.status, CaseStatus::Open);
    assert_eq!(state.reopenings, 1);
    let statuses: Vec<_> = state
        .agreement
        .iter()
        .flat_map(|a| a.obligations.iter())
        .map(|o| (o.id, o.status, o.settled_at))
        .collect();
    // The other obligation is still owed, and tracked.
    assert_eq!(
        statuses,
        vec![
            (OB1, ObligationStatus::Missed, Some(day(8))),
            (OB2, ObligationStatus::Open, None),
        ]
    );
}

#[test]
fn a_version_1_reopening_replays_as_it_was_decided_voiding_the_others() {
    let v1 = serde_json::json!({"CaseReopened": {
        "obligation": OB1.0.to_string(),
        "at": day(8),
    }});
    let event: MediationEvent = serde_json::from_value(v1).expect("a version 1 payload");
    let mut events = up_to_agreed();
    events.extend([missed(OB1, None, day(8)), event]);
    let state = state_after(events);
    let ob2 = state.obligation(OB2).expect("OB2");
    assert_eq!(
        (ob2.status, ob2.settled_at),
        (ObligationStatus::Void, Some(day(8)))
    );
}

#[test]
fn the_others_are_kept_after_a_reopening_and_carried_into_the_next_agreement() {
    // Bob still clears the corridor; that alone does not conclude a
    // reopened case.
    framework()
        .given(up_to_reopened_on_the_refund())
        .when(cmd(bob(), fulfil(OB2)))
        .then_expect_events(vec![fulfilled(OB2)]);
    // A second missed obligation is marked, without a second reopening.
    framework_at(day(10))
        .given(up_to_reopened_on_the_refund())
        .when(cmd(system(), deadline_passed(OB2, day(3))))
        .then_expect_events(vec![missed(OB2, None, day(10))]);
    // A new agreement keeps what is still owed beside its own.
    let new_refund = ObligationDraft {
        obligation_id: ObligationId(Uuid::from_u128(32)),
        ..refund()
    };
    let mut events = up_to_reopened_on_the_refund();
    events.extend([
        proposed(2, vec![new_refund.clone()]),
        accepted(2, person(alice())),
        accepted(2, person(bob())),
        accepted(2, COMPANY),
        reached(2, vec![new_refund.clone()]),
    ]);
    let state = state_after(events);
    let open: Vec<ObligationId> = state.open_obligations().map(|o| o.id).collect();
    assert_eq!(open, vec![OB2, new_refund.obligation_id]);
    // Its id cannot be reused by a proposal.
    framework()
        .given(up_to_reopened_on_the_refund())
        .when(cmd(
            branch(),
            propose(vec![ObligationDraft {
                obligation_id: OB2,
                ..refund()
            }]),
        ))
        .then_expect_error(MediationError::DuplicateObligation(OB2));
}

#[test]
fn an_agreement_asking_nothing_new_does_not_conclude_while_something_is_owed() {
    let mut given = up_to_reopened_on_the_refund();
    given.extend([
        proposed(2, vec![]),
        accepted(2, person(alice())),
        accepted(2, person(bob())),
    ]);
    framework()
        .given(given)
        .when(cmd(company(), accept(COMPANY)))
        .then_expect_events(vec![accepted(2, COMPANY), reached(2, vec![])]);
}

/// Agreed; the refund (OB1, due day 7) missed at day 8.
fn up_to_reopened_on_the_refund() -> Vec<MediationEvent> {
    let mut events = up_to_agreed();
    events.extend([missed(OB1, None, day(8)), reopened(OB1, day(8))]);
    events
}

#[test]
fn a_party_cannot_mark_an_obligation_missed() {
    framework()
        .given(up_to_agreed())
        .when(cmd(alice(), mark_missed(OB1)))
        .then_expect_error(MediationError::NotTheMediator {
            action: "mark_obligation_missed",
        });
}

#[test]
fn a_new_proposal_round_follows_a_reopening() {
    let fine = ObligationDraft {
        obligation_id: ObligationId(Uuid::from_u128(33)),
        ..clear_corridor()
    };
    framework()
        .given(up_to_reopened())
        .when(cmd(branch(), propose(vec![fine.clone()])))
        .then_expect_events(vec![proposed(2, vec![fine])]);
    // The refund was not missed: the company still owes it and pays it.
    framework()
        .given(up_to_reopened())
        .when(cmd(company(), fulfil(OB1)))
        .then_expect_events(vec![fulfilled(OB1)]);
}

#[test]
fn the_service_marks_an_obligation_missed_once_its_due_date_passed() {
    framework_at(day(3))
        .given(up_to_agreed())
        .when(cmd(system(), deadline_passed(OB2, day(3))))
        .then_expect_events(vec![missed(OB2, None, day(3)), reopened(OB2, day(3))]);
}

#[test]
fn the_service_waits_for_the_due_date() {
    framework_at(day(3) - TimeDelta::seconds(1))
        .given(up_to_agreed())
        .when(cmd(system(), deadline_passed(OB2, day(3))))
        .then_expect_error(MediationError::DeadlineNotDue { due_at: day(3) });
}

#[test]
fn the_service_names_the_due_date_it_acts_on() {
    framework_at(day(10))
        .given(up_to_agreed())
        .when(cmd(system(), deadline_passed(OB2, day(2))))
        .then_expect_error(MediationError::DueDateChanged);
}

#[test]
fn only_the_service_acts_on_a_passed_due_date() {
    framework_at(day(10))
        .given(up_to_agreed())
        .when(cmd(branch(), deadline_passed(OB2, day(3))))
        .then_expect_error(MediationError::RoleNotAllowed {
            action: "obligation_deadline_passed",
            role: Role::PartyBranch,
        });
}

#[test]
fn a_replayed_deadline_is_refused_so_the_scheduler_acts_exactly_once() {
    framework_at(day(10))
        .given(up_to_reopened())
        .when(cmd(system(), deadline_passed(OB2, day(3))))
        .then_expect_error(MediationError::ObligationNotOpen(OB2));
    // The one still owed fires on its own date, once, without reopening
    // the case a second time.
    framework_at(day(10))
        .given(up_to_reopened())
        .when(cmd(system(), deadline_passed(OB1, day(7))))
        .then_expect_events(vec![missed(OB1, None, day(10))]);
}

// --- names and wire formats ---

#[test]
fn the_aggregate_type_and_event_names_never_change() {
    assert_eq!(MediationCase::TYPE, "mediation_case");
    let mut events = up_to_agreed();
    events.extend([
        scheduled(1),
        held(1),
        declined(1, COMPANY),
        failed(FailureOutcome::Escalate),
        fulfilled(OB1),
        missed(OB1, None, t0()),
        reopened(OB1, t0()),
        concluded(),
    ]);
    let names: Vec<String> = events.iter().map(|e| e.event_type()).collect();
    assert_eq!(
        names,
        [
            "MediationCaseOpened",
            "AgreementProposed",
            "ProposalAccepted",
            "ProposalAccepted",
            "ProposalAccepted",
            "AgreementReached",
            "SessionScheduled",
            "SessionHeld",
            "ProposalDeclined",
            "MediationFailed",
            "ObligationFulfilled",
            "ObligationMissed",
            "CaseReopened",
            "CaseConcluded",
        ]
    );
    // Version 2: a reopening records whether it voided the others.
    assert!(events.iter().all(|e| {
        let v = if matches!(e, MediationEvent::CaseReopened { .. }) {
            "2"
        } else {
            "1"
        };
        e.event_version() == v
    }));
    assert!(events.iter().all(|e| e.at() == t0()));
}

#[test]
fn actions_are_named_for_errors_and_the_api() {
    let names: Vec<&str> =
        std::iter::once(cmd(branch(), MediationAction::OpenCase(open_command())))
            .chain(every_later_command())
            .map(|c| c.action.name())
            .collect();
    assert_eq!(
        names,
        [
            "open",
            "schedule_session",
            "record_session",
            "propose",
            "accept_proposal",
            "decline_proposal",
            "fail",
            "fulfil_obligation",
            "mark_obligation_missed",
            "obligation_deadline_passed",
        ]
    );
}

#[test]
fn case_parties_travel_as_a_kind_and_an_id() {
    let id = alice().account;
    assert_eq!(
        serde_json::to_value(person(alice())).expect("serialize"),
        serde_json::json!({ "kind": "person", "id": id.to_string() })
    );
    assert_eq!(
        serde_json::to_value(COMPANY).expect("serialize"),
        serde_json::json!({ "kind": "party", "id": "property_company" })
    );
    let back: CaseParty =
        serde_json::from_value(serde_json::json!({ "kind": "party", "id": "owners_committee" }))
            .expect("deserialize");
    assert_eq!(back, COMMITTEE);
    assert_eq!(COMPANY.to_string(), "party property_company");
}

#[test]
fn statuses_and_outcomes_use_snake_case_names() {
    for status in [
        CaseStatus::Open,
        CaseStatus::Proposed,
        CaseStatus::Agreed,
        CaseStatus::Concluded,
        CaseStatus::Failed,
    ] {
        assert_eq!(
            serde_json::to_value(status).expect("serialize"),
            serde_json::json!(status.as_str())
        );
    }
    assert_eq!(
        serde_json::to_value(FailureOutcome::PeoplesMediationCommittee).expect("serialize"),
        serde_json::json!("peoples_mediation_committee")
    );
}

#[test]
fn a_whole_case_survives_a_round_trip_through_json() {
    let mut events = up_to_reopened();
    events.extend([scheduled(1), held(1)]);
    let state = state_after(events.clone());
    let json = serde_json::to_string(&events).expect("serialize");
    let back: Vec<MediationEvent> = serde_json::from_str(&json).expect("deserialize");
    assert_eq!(back, events);
    assert_eq!(state_after(back), state);
    let state_json = serde_json::to_string(&state).expect("serialize");
    let state_back: MediationCaseState = serde_json::from_str(&state_json).expect("deserialize");
    assert_eq!(state_back, state);
}
