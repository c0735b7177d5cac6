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

type Framework = TestFramework<JointMeeting>;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0)
        .single()
        .expect("valid time")
}

fn later() -> DateTime<Utc> {
    t0() + TimeDelta::days(3)
}

fn services_with(now: DateTime<Utc>, policy: MeetingPolicy) -> MeetingServices {
    MeetingServices::new(Arc::new(FixedClock::at(now)), policy)
}

fn framework() -> Framework {
    Framework::with(services_with(t0(), MeetingPolicy::default()))
}

const MEETING: MeetingId = MeetingId(Uuid::from_u128(1));
const XIAOQU: XiaoquId = XiaoquId(Uuid::from_u128(10));
const SMALL_XIAOQU: XiaoquId = XiaoquId(Uuid::from_u128(11));
const ITEM_1: AgendaItemId = AgendaItemId(Uuid::from_u128(21));
const ITEM_2: AgendaItemId = AgendaItemId(Uuid::from_u128(22));
const ITEM_3: AgendaItemId = AgendaItemId(Uuid::from_u128(23));
const ACTION_1: ActionItemId = ActionItemId(Uuid::from_u128(31));
const ACTION_2: ActionItemId = ActionItemId(Uuid::from_u128(32));
const GRIEVANCE: GrievanceId = GrievanceId(Uuid::from_u128(41));
const OTHER_GRIEVANCE: GrievanceId = GrievanceId(Uuid::from_u128(42));
const CASE: CaseId = CaseId(Uuid::from_u128(51));

use PartyRole::{
    MicroOrganization as Micro, OwnersCommittee as Committee, PartyBranch as Branch,
    PropertyCompany as Company, SupervisoryCommittee as Supervisory,
};

fn branch() -> Actor {
    Actor::new(AccountId(Uuid::from_u128(200)), Role::PartyBranch)
}
fn company() -> Actor {
    Actor::new(AccountId(Uuid::from_u128(300)), Role::PropertyCompany)
}
fn committee() -> Actor {
    Actor::new(AccountId(Uuid::from_u128(301)), Role::OwnersCommittee)
}
fn resident() -> Actor {
    Actor::new(AccountId(Uuid::from_u128(100)), Role::Resident)
}
fn filer() -> Invitee {
    Invitee {
        account: AccountId(Uuid::from_u128(101)),
        capacity: InviteeCapacity::Filer,
    }
}
fn building_head() -> Invitee {
    Invitee {
        account: AccountId(Uuid::from_u128(102)),
        capacity: InviteeCapacity::BuildingHead,
    }
}

fn cmd(actor: Actor, action: MeetingAction) -> MeetingCommand {
    MeetingCommand::new(actor, action)
}

fn title(s: &str) -> Title {
    Title::parse(s).expect("valid title")
}
fn reason(s: &str) -> Reason {
    Reason::parse(s).expect("valid reason")
}
fn statement(s: &str) -> Statement {
    Statement::parse(s).expect("valid statement")
}
fn place() -> Label {
    Label::parse("党群服务站").expect("valid label")
}

fn draft(item_id: AgendaItemId, subject: AgendaSubject) -> AgendaItemDraft {
    AgendaItemDraft {
        item_id,
        subject,
        title: title("3栋电梯停运"),
    }
}

fn agenda() -> Vec<AgendaItemDraft> {
    vec![
        draft(ITEM_1, AgendaSubject::Grievance(GRIEVANCE)),
        draft(ITEM_2, AgendaSubject::MediationCase(CASE)),
    ]
}

fn convene_command() -> ConveneMeeting {
    ConveneMeeting {
        meeting_id: MEETING,
        xiaoqu: XIAOQU,
        kind: MeetingKind::Regular,
        scheduled_for: later(),
        place: place(),
        invited_people: vec![filer(), building_head()],
        agenda: agenda(),
    }
}

fn convene(c: ConveneMeeting) -> MeetingAction {
    MeetingAction::ConveneMeeting(c)
}

fn convened_with(quorum: QuorumRule) -> MeetingEvent {
    let c = convene_command();
    MeetingEvent::MeetingConvened {
        meeting_id: c.meeting_id,
        xiaoqu: c.xiaoqu,
        kind: c.kind,
        scheduled_for: c.scheduled_for,
        place: c.place,
        invited_parties: PartyRole::MEETING_PARTIES.to_vec(),
        invited_people: c.invited_people,
        quorum,
        chair: Tier::Xiaoqu,
        convened_at: t0(),
    }
}
fn convened() -> MeetingEvent {
    convened_with(QuorumRule::default())
}
fn added(d: AgendaItemDraft) -> MeetingEvent {
    MeetingEvent::AgendaItemAdded {
        item_id: d.item_id,
        subject: d.subject,
        title: d.title,
        at: t0(),
    }
}
fn opened_with(parties: Vec<PartyRole>) -> MeetingEvent {
    MeetingEvent::MeetingOpened {
        present_parties: parties,
        present_people: vec![filer().account],
        at: t0(),
    }
}
/// Branch, owners' committee, property company and supervisory committee: a quorum.
fn four_parties() -> Vec<PartyRole> {
    vec![Branch, Committee, Company, Supervisory]
}
fn opened() -> MeetingEvent {
    opened_with(four_parties())
}
fn positions_of(parties: &[PartyRole]) -> Vec<PartyPosition> {
    parties
        .iter()
        .map(|&party| PartyPosition {
            party,
            stance: if party == Company {
                Stance::Object
            } else {
                Stance::Agree
            },
        })
        .collect()
}
fn decided(item: AgendaItemId) -> MeetingEvent {
    MeetingEvent::ItemDecided {
        item,
        summary: statement("电梯已停运三天"),
        decision: statement("物业周五前修复"),
        positions: positions_of(&four_parties()),
        vote: None,
        at: t0(),
    }
}
fn deferred(item: AgendaItemId) -> MeetingEvent {
    MeetingEvent::ItemDeferred {
        item,
        reason: reason("待调解结果"),
        at: t0(),
    }
}
fn action_draft(action_item_id: ActionItemId, owner: PartyRole) -> ActionItemDraft {
    ActionItemDraft {
        action_item_id,
        owner,
        description: statement("更换电梯控制板"),
        due_at: later(),
    }
}
fn assigned(action_item_id: ActionItemId, item: AgendaItemId, owner: PartyRole) -> MeetingEvent {
    let d = action_draft(action_item_id, owner);
    MeetingEvent::ActionItemAssigned {
        action_item_id,
        item,
        owner,
        description: d.description,
        due_at: d.due_at,
        at: t0(),
    }
}
fn closed() -> MeetingEvent {
    MeetingEvent::MeetingClosed {
        public_summary: None,
        at: t0(),
    }
}

fn up_to_convened() -> Vec<MeetingEvent> {
    let mut events = vec![convened()];
    events.extend(agenda().into_iter().map(added));
    events
}
fn up_to_open() -> Vec<MeetingEvent> {
    let mut events = up_to_convened();
    events.push(opened());
    events
}
/// Open, item 1 decided with one action item for the property company.
fn up_to_decided() -> Vec<MeetingEvent> {
    let mut events = up_to_open();
    events.push(decided(ITEM_1));
    events.push(assigned(ACTION_1, ITEM_1, Company));
    events
}
fn up_to_closed() -> Vec<MeetingEvent> {
    let mut events = up_to_decided();
    events.push(deferred(ITEM_2));
    events.push(closed());
    events
}

fn decide_action(
    item: AgendaItemId,
    positions: Vec<PartyPosition>,
    action_items: Vec<ActionItemDraft>,
) -> MeetingAction {
    MeetingAction::DecideItem {
        item,
        summary: statement("电梯已停运三天"),
        decision: statement("物业周五前修复"),
        positions,
        action_items,
        cited_vote: None,
    }
}
fn open_action(parties: Vec<PartyRole>, people: Vec<AccountId>) -> MeetingAction {
    MeetingAction::OpenMeeting {
        present_parties: parties,
        present_people: people,
    }
}
fn defer_action(item: AgendaItemId) -> MeetingAction {
    MeetingAction::DeferItem {
        item,
        reason: reason("待调解结果"),
    }
}
fn complete_action(action_item: ActionItemId) -> MeetingAction {
    MeetingAction::CompleteActionItem {
        action_item,
        note: Some(statement("控制板已更换")),
    }
}

// --- convene ---

#[test]
fn the_party_branch_convenes_a_regular_meeting_with_its_agenda() {
    framework()
        .given_no_previous_events()
        .when(cmd(branch(), convene(convene_command())))
        .then_expect_events(up_to_convened());
}

#[test]
fn a_property_company_cannot_convene_a_meeting() {
    framework()
        .given_no_previous_events()
        .when(cmd(company(), convene(convene_command())))
        .then_expect_error(MeetingError::RoleNotAllowed {
            action: "convene",
            role: Role::PropertyCompany,
        });
}

fn community() -> Actor {
    Actor::new(AccountId(Uuid::from_u128(500)), Role::Community)
}

#[test]
fn the_tier_holding_a_matter_convenes_and_chairs_a_meeting_of_the_xiaoqu() {
    let mut chaired = up_to_convened();
    if let MeetingEvent::MeetingConvened { chair, .. } = &mut chaired[0] {
        *chair = Tier::Community;
    }
    framework()
        .given_no_previous_events()
        .when(cmd(community(), convene(convene_command())))
        .then_expect_events(chaired.clone());
    // The community chairs: it opens the meeting; the branch, one of the
    // five parties, does not; the quorum still wants the branch present.
    framework()
        .given(chaired.clone())
        .when(cmd(
            branch(),
            MeetingAction::OpenMeeting {
                present_parties: PartyRole::MEETING_PARTIES.to_vec(),
                present_people: Vec::new(),
            },
        ))
        .then_expect_error(MeetingError::RoleNotAllowed {
            action: "open",
            role: Role::PartyBranch,
        });
    let without_branch: Vec<PartyRole> = PartyRole::MEETING_PARTIES
        .into_iter()
        .filter(|p| *p != PartyRole::PartyBranch)
        .collect();
    framework()
        .given(chaired)
        .when(cmd(
            community(),
            MeetingAction::OpenMeeting {
                present_parties: without_branch,
                present_people: Vec::new(),
            },
        ))
        .then_expect_error(MeetingError::QuorumNotMet {
            present: 4,
            required: 3,
            party_branch_present: false,
        });
}

#[test]
fn a_meeting_convened_before_the_chair_was_recorded_is_the_branchs() {
    let mut v1 = serde_json::to_value(convened()).expect("serialize");
    v1["MeetingConvened"]
        .as_object_mut()
        .expect("an object")
        .remove("chair");
    let event: MeetingEvent = serde_json::from_value(v1).expect("a version 1 payload");
    let mut meeting = JointMeeting::default();
    meeting.apply(event);
    let state = meeting.state().expect("convened");
    assert_eq!(state.chair, Tier::Xiaoqu);
    assert_eq!(state.chair_role(), Role::PartyBranch);
}

#[test]
fn a_meeting_cannot_be_convened_twice_under_one_id() {
    framework()
        .given(up_to_convened())
        .when(cmd(branch(), convene(convene_command())))
        .then_expect_error(MeetingError::AlreadyConvened);
}

#[test]
fn no_command_but_convening_applies_before_a_meeting_is_convened() {
    framework()
        .given_no_previous_events()
        .when(cmd(branch(), open_action(four_parties(), vec![])))
        .then_expect_error(MeetingError::NotConvened);
}

#[test]
fn a_meeting_may_be_scheduled_for_right_now() {
    let mut c = convene_command();
    c.scheduled_for = t0();
    let result = framework()
        .given_no_previous_events()
        .when(cmd(branch(), convene(c)))
        .inspect_result();
    assert!(matches!(
        result.as_deref(),
        Ok([MeetingEvent::MeetingConvened { scheduled_for, .. }, ..]) if *scheduled_for == t0()
    ));
}

#[test]
fn a_meeting_cannot_be_scheduled_in_the_past() {
    let mut c = convene_command();
    c.scheduled_for = t0() - TimeDelta::seconds(1);
    framework()
        .given_no_previous_events()
        .when(cmd(branch(), convene(c)))
        .then_expect_error(MeetingError::ScheduledInThePast);
}

#[test]
fn an_urgent_meeting_is_convened_with_its_one_item() {
    let mut c = convene_command();
    c.kind = MeetingKind::Urgent;
    c.agenda.truncate(1);
    let result = framework()
        .given_no_previous_events()
        .when(cmd(branch(), convene(c)))
        .inspect_result();
    assert!(matches!(
        result.as_deref(),
        Ok([
            MeetingEvent::MeetingConvened {
                kind: MeetingKind::Urgent,
                ..
            },
            MeetingEvent::AgendaItemAdded { item_id, .. }
        ]) if *item_id == ITEM_1
    ));
}

#[test]
fn an_urgent_meeting_needs_an_agenda_item() {
    let mut c = convene_command();
    c.kind = MeetingKind::Urgent;
    c.agenda.clear();
    framework()
        .given_no_previous_events()
        .when(cmd(branch(), convene(c)))
        .then_expect_error(MeetingError::UrgentMeetingNeedsAnItem);
}

#[test]
fn a_regular_meeting_may_be_convened_with_an_empty_agenda() {
    let mut c = convene_command();
    c.agenda.clear();
    framework()
        .given_no_previous_events()
        .when(cmd(branch(), convene(c)))
        .then_expect_events(vec![convened()]);
}

fn other_items(n: u128) -> Vec<AgendaItemDraft> {
    (0..n)
        .map(|i| {
            draft(
                AgendaItemId(Uuid::from_u128(1000 + i)),
                AgendaSubject::Other,
            )
        })
        .collect()
}

#[test]
fn an_agenda_may_hold_fifty_items() {
    let mut c = convene_command();
    c.agenda = other_items(50);
    let result = framework()
        .given_no_previous_events()
        .when(cmd(branch(), convene(c)))
        .inspect_result();
    assert_eq!(result.map(|events| events.len()), Ok(51));
}

#[test]
fn an_agenda_cannot_hold_fifty_one_items() {
    let mut c = convene_command();
    c.agenda = other_items(51);
    framework()
        .given_no_previous_events()
        .when(cmd(branch(), convene(c)))
        .then_expect_error(MeetingError::TooManyAgendaItems { max: 50 });
}

fn invitees(n: u128) -> Vec<Invitee> {
    (0..n)
        .map(|i| Invitee {
            account: AccountId(Uuid::from_u128(5000 + i)),
            capacity: InviteeCapacity::Other,
        })
        .collect()
}

#[test]
fn a_meeting_may_invite_a_hundred_people() {
    let mut c = convene_command();
    c.invited_people = invitees(100);
    let result = framework()
        .given_no_previous_events()
        .when(cmd(branch(), convene(c)))
        .inspect_result();
    assert!(matches!(
        result.as_deref(),
        Ok([MeetingEvent::MeetingConvened { invited_people, .. }, ..]) if invited_people.len() == 100
    ));
}

#[test]
fn a_meeting_cannot_invite_more_than_a_hundred_people() {
    let mut c = convene_command();
    c.invited_people = invitees(101);
    framework()
        .given_no_previous_events()
        .when(cmd(branch(), convene(c)))
        .then_expect_error(MeetingError::TooManyInvitees { max: 100 });
}

#[test]
fn an_agenda_cannot_list_one_item_id_twice() {
    let mut c = convene_command();
    c.agenda.push(draft(ITEM_1, AgendaSubject::Other));
    framework()
        .given_no_previous_events()
        .when(cmd(branch(), convene(c)))
        .then_expect_error(MeetingError::DuplicateItem(ITEM_1));
}

#[test]
fn an_agenda_cannot_list_one_grievance_twice() {
    let mut c = convene_command();
    c.agenda
        .push(draft(ITEM_3, AgendaSubject::Grievance(GRIEVANCE)));
    framework()
        .given_no_previous_events()
        .when(cmd(branch(), convene(c)))
        .then_expect_error(MeetingError::SubjectAlreadyOnAgenda(
            AgendaSubject::Grievance(GRIEVANCE),
        ));
}

#[test]
fn an_agenda_may_list_several_other_matters_and_distinct_grievances() {
    let mut c = convene_command();
    c.agenda = vec![
        draft(ITEM_1, AgendaSubject::Other),
        draft(ITEM_2, AgendaSubject::Other),
        draft(ITEM_3, AgendaSubject::Grievance(OTHER_GRIEVANCE)),
    ];
    let result = framework()
        .given_no_previous_events()
        .when(cmd(branch(), convene(c)))
        .inspect_result();
    assert_eq!(result.map(|events| events.len()), Ok(4));
}

#[test]
fn a_person_cannot_be_invited_twice() {
    let mut c = convene_command();
    let mut again = filer();
    again.capacity = InviteeCapacity::BuildingHead;
    c.invited_people.push(again);
    framework()
        .given_no_previous_events()
        .when(cmd(branch(), convene(c)))
        .then_expect_error(MeetingError::DuplicateInvitee(filer().account));
}

#[test]
fn convening_fixes_the_quorum_of_the_xiaoqu_policy() {
    let mut policy = MeetingPolicy::default();
    policy
        .quorum_by_xiaoqu
        .insert(SMALL_XIAOQU, QuorumRule { others_required: 2 });
    let mut c = convene_command();
    c.xiaoqu = SMALL_XIAOQU;
    c.agenda.clear();
    let result = Framework::with(services_with(t0(), policy))
        .given_no_previous_events()
        .when(cmd(branch(), convene(c)))
        .inspect_result();
    assert!(matches!(
        result.as_deref(),
        Ok([MeetingEvent::MeetingConvened { quorum, .. }]) if quorum.others_required == 2
    ));
}

#[test]
fn a_policy_change_after_convening_does_not_move_the_quorum() {
    let lenient = MeetingPolicy {
        default_quorum: QuorumRule { others_required: 1 },
        ..MeetingPolicy::default()
    };
    Framework::with(services_with(t0(), lenient))
        .given(up_to_convened())
        .when(cmd(branch(), open_action(vec![Branch, Company], vec![])))
        .then_expect_error(MeetingError::QuorumNotMet {
            present: 1,
            required: 3,
            party_branch_present: true,
        });
}

// --- add agenda item ---

#[test]
fn the_party_branch_adds_an_item_to_a_convened_meeting() {
    let d = draft(ITEM_3, AgendaSubject::ActionItem(ACTION_1));
    framework()
        .given(up_to_convened())
        .when(cmd(branch(), MeetingAction::AddAgendaItem(d.clone())))
        .then_expect_events(vec![added(d)]);
}

#[test]
fn the_party_branch_adds_an_item_during_the_meeting() {
    let d = draft(ITEM_3, AgendaSubject::Other);
    framework()
        .given(up_to_open())
        .when(cmd(branch(), MeetingAction::AddAgendaItem(d.clone())))
        .then_expect_events(vec![added(d)]);
}

#[test]
fn no_item_can_be_added_to_a_closed_meeting() {
    framework()
        .given(up_to_closed())
        .when(cmd(
            branch(),
            MeetingAction::AddAgendaItem(draft(ITEM_3, AgendaSubject::Other)),
        ))
        .then_expect_error(MeetingError::InvalidTransition {
            action: "add_agenda_item",
            status: MeetingStatus::Closed,
        });
}

#[test]
fn an_owners_committee_cannot_add_an_agenda_item() {
    framework()
        .given(up_to_convened())
        .when(cmd(
            committee(),
            MeetingAction::AddAgendaItem(draft(ITEM_3, AgendaSubject::Other)),
        ))
        .then_expect_error(MeetingError::RoleNotAllowed {
            action: "add_agenda_item",
            role: Role::OwnersCommittee,
        });
}

#[test]
fn an_added_item_cannot_reuse_an_item_id() {
    framework()
        .given(up_to_convened())
        .when(cmd(
            branch(),
            MeetingAction::AddAgendaItem(draft(ITEM_2, AgendaSubject::Other)),
        ))
        .then_expect_error(MeetingError::DuplicateItem(ITEM_2));
}

#[test]
fn an_added_item_cannot_repeat_a_subject_on_the_agenda() {
    framework()
        .given(up_to_convened())
        .when(cmd(
            branch(),
            MeetingAction::AddAgendaItem(draft(ITEM_3, AgendaSubject::MediationCase(CASE))),
        ))
        .then_expect_error(MeetingError::SubjectAlreadyOnAgenda(
            AgendaSubject::MediationCase(CASE),
        ));
}

#[test]
fn no_item_can_be_added_to_a_full_agenda() {
    let mut c = convene_command();
    c.agenda = other_items(50);
    let mut given = vec![convened()];
    given.extend(c.agenda.into_iter().map(added));
    framework()
        .given(given)
        .when(cmd(
            branch(),
            MeetingAction::AddAgendaItem(draft(ITEM_3, AgendaSubject::Other)),
        ))
        .then_expect_error(MeetingError::TooManyAgendaItems { max: 50 });
}

// --- open ---

#[test]
fn the_party_branch_opens_with_three_other_parties_and_an_invited_person() {
    framework()
        .given(up_to_convened())
        .when(cmd(
            branch(),
            open_action(four_parties(), vec![filer().account]),
        ))
        .then_expect_events(vec![opened()]);
}

#[test]
fn a_meeting_with_the_branch_and_two_other_parties_has_no_quorum() {
    framework()
        .given(up_to_convened())
        .when(cmd(
            branch(),
            open_action(vec![Branch, Committee, Micro], vec![]),
        ))
        .then_expect_error(MeetingError::QuorumNotMet {
            present: 2,
            required: 3,
            party_branch_present: true,
        });
}

#[test]
fn a_meeting_without_the_party_branch_has_no_quorum() {
    framework()
        .given(up_to_convened())
        .when(cmd(
            branch(),
            open_action(vec![Committee, Company, Supervisory, Micro], vec![]),
        ))
        .then_expect_error(MeetingError::QuorumNotMet {
            present: 4,
            required: 3,
            party_branch_present: false,
        });
}

#[test]
fn a_smaller_quorum_fixed_at_convening_opens_with_two_other_parties() {
    let mut given = vec![convened_with(QuorumRule { others_required: 2 })];
    given.extend(agenda().into_iter().map(added));
    framework()
        .given(given)
        .when(cmd(
            branch(),
            open_action(vec![Micro, Branch, Company], vec![]),
        ))
        .then_expect_events(vec![MeetingEvent::MeetingOpened {
            present_parties: vec![Micro, Branch, Company],
            present_people: vec![],
            at: t0(),
        }]);
}

#[test]
fn a_party_outside_the_five_cannot_be_present() {
    framework()
        .given(up_to_convened())
        .when(cmd(
            branch(),
            open_action(
                vec![Branch, Committee, Company, PartyRole::Community],
                vec![],
            ),
        ))
        .then_expect_error(MeetingError::NotAMeetingParty(PartyRole::Community));
}

#[test]
fn a_party_cannot_be_counted_present_twice() {
    framework()
        .given(up_to_convened())
        .when(cmd(
            branch(),
            open_action(vec![Branch, Committee, Company, Committee], vec![]),
        ))
        .then_expect_error(MeetingError::DuplicatePresentParty(Committee));
}

#[test]
fn a_person_who_was_not_invited_cannot_be_present() {
    framework()
        .given(up_to_convened())
        .when(cmd(
            branch(),
            open_action(four_parties(), vec![resident().account]),
        ))
        .then_expect_error(MeetingError::NotInvited(resident().account));
}

#[test]
fn a_person_cannot_be_counted_present_twice() {
    framework()
        .given(up_to_convened())
        .when(cmd(
            branch(),
            open_action(four_parties(), vec![filer().account, filer().account]),
        ))
        .then_expect_error(MeetingError::DuplicatePresentPerson(filer().account));
}

#[test]
fn an_open_meeting_cannot_be_opened_again() {
    framework()
        .given(up_to_open())
        .when(cmd(branch(), open_action(four_parties(), vec![])))
        .then_expect_error(MeetingError::InvalidTransition {
            action: "open",
            status: MeetingStatus::Open,
        });
}

#[test]
fn a_property_company_cannot_open_a_meeting() {
    framework()
        .given(up_to_convened())
        .when(cmd(company(), open_action(four_parties(), vec![])))
        .then_expect_error(MeetingError::RoleNotAllowed {
            action: "open",
            role: Role::PropertyCompany,
        });
}

// --- decide ---

#[test]
fn the_party_branch_records_a_decision_with_positions_and_action_items() {
    framework()
        .given(up_to_open())
        .when(cmd(
            branch(),
            decide_action(
                ITEM_1,
                positions_of(&four_parties()),
                vec![
                    action_draft(ACTION_1, Company),
                    action_draft(ACTION_2, Micro),
                ],
            ),
        ))
        .then_expect_events(vec![
            decided(ITEM_1),
            assigned(ACTION_1, ITEM_1, Company),
            assigned(ACTION_2, ITEM_1, Micro),
        ]);
}

#[test]
fn a_convened_meeting_cannot_decide_before_it_opens() {
    framework()
        .given(up_to_convened())
        .when(cmd(
            branch(),
            decide_action(ITEM_1, positions_of(&four_parties()), vec![]),
        ))
        .then_expect_error(MeetingError::InvalidTransition {
            action: "decide_item",
            status: MeetingStatus::Convened,
        });
}

#[test]
fn a_property_company_cannot_record_a_decision() {
    framework()
        .given(up_to_open())
        .when(cmd(
            company(),
            decide_action(ITEM_1, positions_of(&four_parties()), vec![]),
        ))
        .then_expect_error(MeetingError::RoleNotAllowed {
            action: "decide_item",
            role: Role::PropertyCompany,
        });
}

#[test]
fn an_item_not_on_the_agenda_cannot_be_decided() {
    framework()
        .given(up_to_open())
        .when(cmd(
            branch(),
            decide_action(ITEM_3, positions_of(&four_parties()), vec![]),
        ))
        .then_expect_error(MeetingError::UnknownItem(ITEM_3));
}

#[test]
fn a_decided_item_cannot_be_decided_again() {
    framework()
        .given(up_to_decided())
        .when(cmd(
            branch(),
            decide_action(ITEM_1, positions_of(&four_parties()), vec![]),
        ))
        .then_expect_error(MeetingError::ItemAlreadySettled(ITEM_1));
}

#[test]
fn a_deferred_item_cannot_be_decided_in_the_same_meeting() {
    let mut given = up_to_open();
    given.push(deferred(ITEM_2));
    framework()
        .given(given)
        .when(cmd(
            branch(),
            decide_action(ITEM_2, positions_of(&four_parties()), vec![]),
        ))
        .then_expect_error(MeetingError::ItemAlreadySettled(ITEM_2));
}

#[test]
fn every_present_party_must_state_a_position() {
    framework()
        .given(up_to_open())
        .when(cmd(
            branch(),
            decide_action(ITEM_1, positions_of(&[Branch, Committee, Company]), vec![]),
        ))
        .then_expect_error(MeetingError::PositionMissing(Supervisory));
}

#[test]
fn an_absent_party_cannot_state_a_position() {
    let mut parties = four_parties();
    parties.push(Micro);
    framework()
        .given(up_to_open())
        .when(cmd(
            branch(),
            decide_action(ITEM_1, positions_of(&parties), vec![]),
        ))
        .then_expect_error(MeetingError::PartyNotPresent(Micro));
}

#[test]
fn a_party_cannot_state_two_positions() {
    let mut positions = positions_of(&four_parties());
    positions.push(PartyPosition {
        party: Company,
        stance: Stance::Agree,
    });
    framework()
        .given(up_to_open())
        .when(cmd(branch(), decide_action(ITEM_1, positions, vec![])))
        .then_expect_error(MeetingError::DuplicatePosition(Company));
}

fn action_drafts(n: u128) -> Vec<ActionItemDraft> {
    (0..n)
        .map(|i| action_draft(ActionItemId(Uuid::from_u128(9000 + i)), Company))
        .collect()
}

#[test]
fn a_decision_may_assign_twenty_action_items() {
    let result = framework()
        .given(up_to_open())
        .when(cmd(
            branch(),
            decide_action(ITEM_1, positions_of(&four_parties()), action_drafts(20)),
        ))
        .inspect_result();
    assert_eq!(result.map(|events| events.len()), Ok(21));
}

#[test]
fn a_decision_cannot_assign_more_than_twenty_action_items() {
    framework()
        .given(up_to_open())
        .when(cmd(
            branch(),
            decide_action(ITEM_1, positions_of(&four_parties()), action_drafts(21)),
        ))
        .then_expect_error(MeetingError::TooManyActionItems { max: 20 });
}

#[test]
fn a_decision_cannot_assign_one_action_item_id_twice() {
    framework()
        .given(up_to_open())
        .when(cmd(
            branch(),
            decide_action(
                ITEM_1,
                positions_of(&four_parties()),
                vec![
                    action_draft(ACTION_1, Company),
                    action_draft(ACTION_1, Committee),
                ],
            ),
        ))
        .then_expect_error(MeetingError::DuplicateActionItem(ACTION_1));
}

#[test]
fn a_decision_cannot_reuse_an_action_item_id_of_an_earlier_decision() {
    framework()
        .given(up_to_decided())
        .when(cmd(
            branch(),
            decide_action(
                ITEM_2,
                positions_of(&four_parties()),
                vec![action_draft(ACTION_1, Committee)],
            ),
        ))
        .then_expect_error(MeetingError::DuplicateActionItem(ACTION_1));
}

#[test]
fn a_later_decision_assigns_new_action_items() {
    framework()
        .given(up_to_decided())
        .when(cmd(
            branch(),
            decide_action(
                ITEM_2,
                positions_of(&four_parties()),
                vec![action_draft(ACTION_2, Committee)],
            ),
        ))
        .then_expect_events(vec![decided(ITEM_2), assigned(ACTION_2, ITEM_2, Committee)]);
}

#[test]
fn an_action_item_cannot_be_owned_by_a_party_outside_the_five() {
    framework()
        .given(up_to_open())
        .when(cmd(
            branch(),
            decide_action(
                ITEM_1,
                positions_of(&four_parties()),
                vec![action_draft(ACTION_1, PartyRole::Street)],
            ),
        ))
        .then_expect_error(MeetingError::NotAMeetingParty(PartyRole::Street));
}

#[test]
fn an_action_item_owned_by_an_absent_meeting_party_is_allowed() {
    let result = framework()
        .given(up_to_open())
        .when(cmd(
            branch(),
            decide_action(
                ITEM_1,
                positions_of(&four_parties()),
                vec![action_draft(ACTION_1, Micro)],
            ),
        ))
        .inspect_result();
    assert!(matches!(
        result.as_deref(),
        Ok([_, MeetingEvent::ActionItemAssigned { owner: Micro, .. }])
    ));
}

#[test]
fn an_action_item_must_fall_due_after_now() {
    let mut due_now = action_draft(ACTION_1, Company);
    due_now.due_at = t0();
    framework()
        .given(up_to_open())
        .when(cmd(
            branch(),
            decide_action(ITEM_1, positions_of(&four_parties()), vec![due_now]),
        ))
        .then_expect_error(MeetingError::DueDateNotInTheFuture(ACTION_1));
}

#[test]
fn an_action_item_may_fall_due_a_second_from_now() {
    let mut soon = action_draft(ACTION_1, Company);
    soon.due_at = t0() + TimeDelta::seconds(1);
    let result = framework()
        .given(up_to_open())
        .when(cmd(
            branch(),
            decide_action(ITEM_1, positions_of(&four_parties()), vec![soon]),
        ))
        .inspect_result();
    assert_eq!(result.map(|events| events.len()), Ok(2));
}

// --- defer ---

#[test]
fn the_party_branch_defers_a_pending_item() {
    framework()
        .given(up_to_open())
        .when(cmd(branch(), defer_action(ITEM_2)))
        .then_expect_events(vec![deferred(ITEM_2)]);
}

#[test]
fn a_decided_item_cannot_be_deferred() {
    framework()
        .given(up_to_decided())
        .when(cmd(branch(), defer_action(ITEM_1)))
        .then_expect_error(MeetingError::ItemAlreadySettled(ITEM_1));
}

#[test]
fn an_item_not_on_the_agenda_cannot_be_deferred() {
    framework()
        .given(up_to_open())
        .when(cmd(branch(), defer_action(ITEM_3)))
        .then_expect_error(MeetingError::UnknownItem(ITEM_3));
}

#[test]
fn an_item_cannot_be_deferred_before_the_meeting_opens() {
    framework()
        .given(up_to_convened())
        .when(cmd(branch(), defer_action(ITEM_1)))
        .then_expect_error(MeetingError::InvalidTransition {
            action: "defer_item",
            status: MeetingStatus::Convened,
        });
}

#[test]
fn a_resident_cannot_defer_an_item() {
    framework()
        .given(up_to_open())
        .when(cmd(resident(), defer_action(ITEM_1)))
        .then_expect_error(MeetingError::RoleNotAllowed {
            action: "defer_item",
            role: Role::Resident,
        });
}

// --- close ---

#[test]
fn the_party_branch_closes_a_meeting_whose_items_are_all_settled() {
    let mut given = up_to_decided();
    given.push(deferred(ITEM_2));
    framework()
        .given(given)
        .when(cmd(
            branch(),
            MeetingAction::CloseMeeting {
                public_summary: Some(statement("议定电梯维修事项一项")),
            },
        ))
        .then_expect_events(vec![MeetingEvent::MeetingClosed {
            public_summary: Some(statement("议定电梯维修事项一项")),
            at: t0(),
        }]);
}

#[test]
fn a_meeting_with_pending_items_cannot_close() {
    framework()
        .given(up_to_decided())
        .when(cmd(
            branch(),
            MeetingAction::CloseMeeting {
                public_summary: None,
            },
        ))
        .then_expect_error(MeetingError::ItemsPending { count: 1 });
}

#[test]
fn a_meeting_that_never_opened_cannot_close() {
    framework()
        .given(up_to_convened())
        .when(cmd(
            branch(),
            MeetingAction::CloseMeeting {
                public_summary: None,
            },
        ))
        .then_expect_error(MeetingError::InvalidTransition {
            action: "close",
            status: MeetingStatus::Convened,
        });
}

#[test]
fn an_owners_committee_cannot_close_a_meeting() {
    let mut given = up_to_decided();
    given.push(deferred(ITEM_2));
    framework()
        .given(given)
        .when(cmd(
            committee(),
            MeetingAction::CloseMeeting {
                public_summary: None,
            },
        ))
        .then_expect_error(MeetingError::RoleNotAllowed {
            action: "close",
            role: Role::OwnersCommittee,
        });
}

// --- cancel ---

#[test]
fn the_party_branch_cancels_a_meeting_that_has_not_opened() {
    framework()
        .given(up_to_convened())
        .when(cmd(
            branch(),
            MeetingAction::CancelMeeting {
                reason: reason("台风预警"),
            },
        ))
        .then_expect_events(vec![MeetingEvent::MeetingCancelled {
            reason: reason("台风预警"),
            at: t0(),
        }]);
}

#[test]
fn an_open_meeting_cannot_be_cancelled() {
    framework()
        .given(up_to_open())
        .when(cmd(
            branch(),
            MeetingAction::CancelMeeting {
                reason: reason("台风预警"),
            },
        ))
        .then_expect_error(MeetingError::InvalidTransition {
            action: "cancel",
            status: MeetingStatus::Open,
        });
}

#[test]
fn a_property_company_cannot_cancel_a_meeting() {
    framework()
        .given(up_to_convened())
        .when(cmd(
            company(),
            MeetingAction::CancelMeeting {
                reason: reason("没空"),
            },
        ))
        .then_expect_error(MeetingError::RoleNotAllowed {
            action: "cancel",
            role: Role::PropertyCompany,
        });
}

#[test]
fn a_cancelled_meeting_cannot_be_opened() {
    let mut given = up_to_convened();
    given.push(MeetingEvent::MeetingCancelled {
        reason: reason("台风预警"),
        at: t0(),
    });
    framework()
        .given(given)
        .when(cmd(branch(), open_action(four_parties(), vec![])))
        .then_expect_error(MeetingError::InvalidTransition {
            action: "open",
            status: MeetingStatus::Cancelled,
        });
}

// --- complete action item ---

#[test]
fn the_owner_party_completes_its_action_item_after_the_meeting() {
    framework()
        .given(up_to_closed())
        .when(cmd(company(), complete_action(ACTION_1)))
        .then_expect_events(vec![MeetingEvent::ActionItemCompleted {
            action_item: ACTION_1,
            note: Some(statement("控制板已更换")),
            at: t0(),
        }]);
}

#[test]
fn the_party_branch_completes_an_action_item_during_the_meeting() {
    framework()
        .given(up_to_decided())
        .when(cmd(
            branch(),
            MeetingAction::CompleteActionItem {
                action_item: ACTION_1,
                note: None,
            },
        ))
        .then_expect_events(vec![MeetingEvent::ActionItemCompleted {
            action_item: ACTION_1,
            note: None,
            at: t0(),
        }]);
}

#[test]
fn another_party_cannot_complete_an_action_item_it_does_not_own() {
    framework()
        .given(up_to_closed())
        .when(cmd(committee(), complete_action(ACTION_1)))
        .then_expect_error(MeetingError::NotTheOwner);
}

#[test]
fn a_resident_cannot_complete_an_action_item() {
    framework()
        .given(up_to_closed())
        .when(cmd(resident(), complete_action(ACTION_1)))
        .then_expect_error(MeetingError::NotTheOwner);
}

#[test]
fn an_action_item_cannot_be_completed_twice() {
    let mut given = up_to_closed();
    given.push(MeetingEvent::ActionItemCompleted {
        action_item: ACTION_1,
        note: None,
        at: t0(),
    });
    framework()
        .given(given)
        .when(cmd(company(), complete_action(ACTION_1)))
        .then_expect_error(MeetingError::ActionItemAlreadyDone(ACTION_1));
}

#[test]
fn an_unknown_action_item_cannot_be_completed() {
    framework()
        .given(up_to_closed())
        .when(cmd(company(), complete_action(ACTION_2)))
        .then_expect_error(MeetingError::UnknownActionItem(ACTION_2));
}

#[test]
fn no_action_item_can_be_completed_before_the_meeting_opens() {
    framework()
        .given(up_to_convened())
        .when(cmd(branch(), complete_action(ACTION_1)))
        .then_expect_error(MeetingError::InvalidTransition {
            action: "complete_action_item",
            status: MeetingStatus::Convened,
        });
}

// --- state, wire format ---

fn replay(events: Vec<MeetingEvent>) -> JointMeeting {
    let mut meeting = JointMeeting::default();
    for event in events {
        meeting.apply(event);
    }
    meeting
}

#[test]
fn the_state_records_the_minutes_and_action_items() {
    let mut events = up_to_closed();
    let done_at = t0() + TimeDelta::hours(5);
    events.push(MeetingEvent::ActionItemCompleted {
        action_item: ACTION_1,
        note: None,
        at: done_at,
    });
    let meeting = replay(events);
    let state = meeting.state().expect("convened");
    assert_eq!(meeting.status(), Some(MeetingStatus::Closed));
    assert!(state.quorum_met());
    assert_eq!(state.present_parties, four_parties());
    assert_eq!(state.present_people, vec![filer().account]);
    assert_eq!(state.pending_count(), 0);
    assert!(matches!(
        &state.agenda[0].outcome,
        ItemOutcome::Decided { positions, .. } if positions.len() == 4
    ));
    assert!(matches!(
        state.agenda[1].outcome,
        ItemOutcome::Deferred { .. }
    ));
    let action = state.action_item(ACTION_1).expect("assigned");
    assert_eq!((action.item, action.owner), (ITEM_1, Company));
    assert_eq!(action.done_at, Some(done_at));
    assert_eq!(state.last_changed_at, done_at);
    assert_eq!(state.closed_at, Some(t0()));
}

#[test]
fn an_action_item_is_overdue_only_while_not_done_and_past_its_due_date() {
    let meeting = replay(up_to_decided());
    let action = meeting
        .state()
        .and_then(|s| s.action_item(ACTION_1))
        .expect("assigned")
        .clone();
    assert!(!action.is_overdue(action.due_at));
    assert!(action.is_overdue(action.due_at + TimeDelta::seconds(1)));
    let done = ActionItem {
        done_at: Some(t0()),
        ..action.clone()
    };
    assert!(!done.is_overdue(action.due_at + TimeDelta::days(30)));
}

#[test]
fn a_convened_meeting_has_no_quorum_until_it_opens() {
    let meeting = replay(up_to_convened());
    let state = meeting.state().expect("convened");
    assert!(!state.quorum_met());
    assert_eq!(state.invited_parties, PartyRole::MEETING_PARTIES.to_vec());
    assert_eq!(state.pending_count(), 2);
}

#[test]
fn the_default_quorum_is_the_branch_and_three_others() {
    let rule = QuorumRule::default();
    assert_eq!(rule.others_required, 3);
    assert!(rule.is_met(&[Branch, Committee, Company, Supervisory]));
    assert!(!rule.is_met(&[Branch, Committee, Company]));
    assert!(!rule.is_met(&[Committee, Company, Supervisory, Micro]));
    // A party listed twice, or a party outside the five, does not count.
    assert!(!rule.is_met(&[Branch, Committee, Committee, PartyRole::Street]));
}

#[test]
fn the_policy_falls_back_to_the_default_quorum() {
    let mut policy = MeetingPolicy::default();
    policy
        .quorum_by_xiaoqu
        .insert(SMALL_XIAOQU, QuorumRule { others_required: 2 });
    assert_eq!(policy.quorum(SMALL_XIAOQU).others_required, 2);
    assert_eq!(policy.quorum(XIAOQU), QuorumRule::default());
}

#[test]
fn the_aggregate_type_and_event_names_are_stable() {
    assert_eq!(JointMeeting::TYPE, "joint_meeting");
    let mut events = up_to_closed();
    events.push(MeetingEvent::MeetingCancelled {
        reason: reason("x"),
        at: t0(),
    });
    events.push(MeetingEvent::ActionItemCompleted {
        action_item: ACTION_1,
        note: None,
        at: t0(),
    });
    let names: Vec<String> = events.iter().map(DomainEvent::event_type).collect();
    assert_eq!(
        names,
        [
            "MeetingConvened",
            "AgendaItemAdded",
            "AgendaItemAdded",
            "MeetingOpened",
            "ItemDecided",
            "ActionItemAssigned",
            "ItemDeferred",
            "MeetingClosed",
            "MeetingCancelled",
            "ActionItemCompleted",
        ]
    );
    // Version 2: a convened meeting records its chair.
    assert!(events.iter().all(|e| {
        let v = if matches!(e, MeetingEvent::MeetingConvened { .. }) {
            "2"
        } else {
            "1"
        };
        e.event_version() == v
    }));
}

#[test]
fn subjects_outcomes_and_statuses_have_a_tagged_snake_case_wire_form() {
    let subject = serde_json::to_value(AgendaSubject::MediationCase(CASE)).expect("serialize");
    assert_eq!(
        subject,
        serde_json::json!({ "kind": "mediation_case", "id": CASE.to_string() })
    );
    let other = serde_json::to_value(AgendaSubject::Other).expect("serialize");
    assert_eq!(other, serde_json::json!({ "kind": "other" }));
    let pending = serde_json::to_value(ItemOutcome::Pending).expect("serialize");
    assert_eq!(pending, serde_json::json!({ "status": "pending" }));
    let status = serde_json::to_value(MeetingStatus::Cancelled).expect("serialize");
    assert_eq!(status, serde_json::json!("cancelled"));
    let capacity = serde_json::to_value(InviteeCapacity::BuildingHead).expect("serialize");
    assert_eq!(capacity, serde_json::json!("building_head"));
}

#[test]
fn events_and_state_survive_a_json_round_trip() {
    for event in up_to_closed() {
        let json = serde_json::to_string(&event).expect("serialize");
        let back: MeetingEvent = serde_json::from_str(&json).expect("deserialize");
        assert_eq!(back, event);
    }
    let meeting = replay(up_to_closed());
    let json = serde_json::to_string(&meeting).expect("serialize");
    let back: JointMeeting = serde_json::from_str(&json).expect("deserialize");
    assert_eq!(back, meeting);
}

#[test]
fn action_names_are_the_api_names() {
    let names = [
        convene(convene_command()),
        MeetingAction::AddAgendaItem(draft(ITEM_1, AgendaSubject::Other)),
        open_action(vec![], vec![]),
        decide_action(ITEM_1, vec![], vec![]),
        defer_action(ITEM_1),
        MeetingAction::CloseMeeting {
            public_summary: None,
        },
        MeetingAction::CancelMeeting {
            reason: reason("x"),
        },
        complete_action(ACTION_1),
    ]
    .map(|a| a.name());
    assert_eq!(
        names,
        [
            "convene",
            "add_agenda_item",
            "open",
            "decide_item",
            "defer_item",
            "close",
            "cancel",
            "complete_action_item"
        ]
    );
}

#[test]
fn a_decision_cites_only_a_closed_owners_vote_of_the_meetings_xiaoqu() {
    let vote = crate::values::VoteId(uuid::Uuid::from_u128(77));
    let citing = |of_this_xiaoqu, closed| {
        let mut action = decide_action(ITEM_1, positions_of(&four_parties()), vec![]);
        if let MeetingAction::DecideItem { cited_vote, .. } = &mut action {
            *cited_vote = Some(CitedVote {
                vote,
                of_this_xiaoqu,
                closed,
            });
        }
        action
    };
    for (of_this_xiaoqu, closed) in [(false, true), (true, false)] {
        framework()
            .given(up_to_open())
            .when(cmd(branch(), citing(of_this_xiaoqu, closed)))
            .then_expect_error(MeetingError::VoteNotCitable);
    }
    let MeetingEvent::ItemDecided {
        item,
        summary,
        decision,
        positions,
        at,
        ..
    } = decided(ITEM_1)
    else {
        unreachable!("decided() is an ItemDecided")
    };
    framework()
        .given(up_to_open())
        .when(cmd(branch(), citing(true, true)))
        .then_expect_events(vec![MeetingEvent::ItemDecided {
            item,
            summary,
            decision,
            positions,
            vote: Some(vote),
            at,
        }]);
}
