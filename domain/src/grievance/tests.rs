//! Each rule once allowed and once refused, as given/when/then.

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use cqrs_es::test::TestFramework;
use cqrs_es::Aggregate;
use uuid::Uuid;

use super::*;
use crate::actor::{Actor, Role};
use crate::deadline::{Deadline, Stage};
use crate::services::{FixedClock, GrievancePolicy, GrievanceServices};
use crate::values::*;

type Framework = TestFramework<Grievance>;

pub(super) fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0)
        .single()
        .expect("valid time")
}

pub(super) fn services_at(now: DateTime<Utc>) -> GrievanceServices {
    GrievanceServices::new(Arc::new(FixedClock::at(now)), GrievancePolicy::default())
}

pub(super) fn framework() -> Framework {
    Framework::with(services_at(t0()))
}

pub(super) const GRIEVANCE: GrievanceId = GrievanceId(Uuid::from_u128(1));
pub(super) const OTHER: GrievanceId = GrievanceId(Uuid::from_u128(2));
pub(super) const XIAOQU: XiaoquId = XiaoquId(Uuid::from_u128(10));

pub(super) fn filer() -> Actor {
    Actor::new(AccountId(Uuid::from_u128(100)), Role::Resident)
}
pub(super) fn neighbour() -> Actor {
    Actor::new(AccountId(Uuid::from_u128(101)), Role::Resident)
}
pub(super) fn branch() -> Actor {
    Actor::new(AccountId(Uuid::from_u128(200)), Role::PartyBranch)
}
pub(super) fn company() -> Actor {
    Actor::new(AccountId(Uuid::from_u128(300)), Role::PropertyCompany)
}
pub(super) fn committee() -> Actor {
    Actor::new(AccountId(Uuid::from_u128(301)), Role::OwnersCommittee)
}
pub(super) fn community() -> Actor {
    Actor::new(AccountId(Uuid::from_u128(400)), Role::Community)
}
pub(super) fn system() -> Actor {
    Actor::new(AccountId(Uuid::nil()), Role::System)
}

pub(super) fn cmd(actor: Actor, action: GrievanceAction) -> GrievanceCommand {
    GrievanceCommand::new(actor, action)
}

pub(super) fn reason(s: &str) -> Reason {
    Reason::parse(s).expect("valid reason")
}
pub(super) fn statement(s: &str) -> Statement {
    Statement::parse(s).expect("valid statement")
}

pub(super) fn file_command() -> FileGrievance {
    FileGrievance {
        grievance_id: GRIEVANCE,
        xiaoqu: XIAOQU,
        category: Category::Repairs,
        title: Title::parse("3栋电梯停运三天").expect("title"),
        description: Description::parse("电梯从周一起停运,老人上下楼困难。").expect("description"),
        location: Location::new(Label::parse("3栋").ok(), None, None).expect("location"),
        respondent: Respondent::PropertyCompany,
        urgency: Urgency::Urgent,
        channel: Channel::Web,
        attachments: vec![],
    }
}

pub(super) fn filed() -> GrievanceEvent {
    let f = file_command();
    GrievanceEvent::GrievanceFiled {
        grievance_id: f.grievance_id,
        xiaoqu: f.xiaoqu,
        filer: filer().account,
        category: f.category,
        title: f.title,
        description: f.description,
        location: f.location,
        respondent: f.respondent,
        urgency: f.urgency,
        channel: f.channel,
        attachments: f.attachments,
        filed_at: t0(),
    }
}
pub(super) fn accepted() -> GrievanceEvent {
    GrievanceEvent::GrievanceAccepted {
        at: t0(),
        on_time: Some(Timeliness::Untimed),
    }
}
pub(super) fn triaged() -> GrievanceEvent {
    GrievanceEvent::GrievanceTriaged {
        matter_class: MatterClass::Minor,
        tier: Tier::Xiaoqu,
        party: PartyRole::PropertyCompany,
        at: t0(),
    }
}
pub(super) fn assigned() -> GrievanceEvent {
    GrievanceEvent::GrievanceAssigned {
        party: PartyRole::PropertyCompany,
        note: None,
        at: t0(),
    }
}
pub(super) fn responded() -> GrievanceEvent {
    GrievanceEvent::GrievanceResponded {
        party: PartyRole::PropertyCompany,
        response: statement("已联系维保单位,周五前修复。"),
        at: t0(),
    }
}
pub(super) fn resolved() -> GrievanceEvent {
    GrievanceEvent::GrievanceResolved {
        summary: statement("电梯已修复"),
        at: t0(),
    }
}
pub(super) fn rated(rating: Rating) -> GrievanceEvent {
    GrievanceEvent::OutcomeRated {
        rating,
        comment: None,
        at: t0(),
    }
}
pub(super) fn escalated_to_community() -> GrievanceEvent {
    GrievanceEvent::GrievanceEscalated {
        from: Tier::Xiaoqu,
        to: Tier::Community,
        reason: EscalationReason::Manual,
        note: None,
        at: t0(),
    }
}

pub(super) fn deadline(stage: Stage, due_at: DateTime<Utc>) -> GrievanceEvent {
    GrievanceEvent::DeadlineSet {
        stage,
        due_at,
        at: t0(),
    }
}

pub(super) fn up_to_responded() -> Vec<GrievanceEvent> {
    vec![filed(), accepted(), triaged(), assigned(), responded()]
}
pub(super) fn up_to_resolved() -> Vec<GrievanceEvent> {
    let mut events = up_to_responded();
    events.push(resolved());
    events
}

// --- file ---

#[test]
fn a_resident_files_a_grievance() {
    framework()
        .given_no_previous_events()
        .when(cmd(filer(), GrievanceAction::FileGrievance(file_command())))
        .then_expect_events(vec![
            filed(),
            deadline(Stage::Accept, t0() + TimeDelta::hours(2)),
        ]);
}

#[test]
fn a_property_company_cannot_file_a_grievance() {
    framework()
        .given_no_previous_events()
        .when(cmd(
            company(),
            GrievanceAction::FileGrievance(file_command()),
        ))
        .then_expect_error(GrievanceError::RoleNotAllowed {
            action: "file",
            role: Role::PropertyCompany,
        });
}

#[test]
fn the_supervisory_committee_files_on_behalf_of_owners() {
    let committee = Actor::new(AccountId(Uuid::from_u128(302)), Role::SupervisoryCommittee);
    let result = framework()
        .given_no_previous_events()
        .when(cmd(
            committee,
            GrievanceAction::FileGrievance(file_command()),
        ))
        .inspect_result();
    assert!(
        matches!(result.as_deref(), Ok([GrievanceEvent::GrievanceFiled { filer, .. }, GrievanceEvent::DeadlineSet { .. }]) if *filer == committee.account)
    );
}

#[test]
fn a_grievance_cannot_be_filed_twice_under_one_id() {
    framework()
        .given(vec![filed()])
        .when(cmd(filer(), GrievanceAction::FileGrievance(file_command())))
        .then_expect_error(GrievanceError::AlreadyFiled);
}

#[test]
fn no_command_but_filing_applies_to_an_unfiled_grievance() {
    framework()
        .given_no_previous_events()
        .when(cmd(branch(), GrievanceAction::AcceptGrievance))
        .then_expect_error(GrievanceError::NotFiled);
}

// --- accept / reject ---

#[test]
fn acceptance_records_whether_it_kept_the_accept_deadline() {
    let due = t0() + TimeDelta::hours(4);
    let accept = |now| {
        Framework::with(services_at(now))
            .given(vec![filed(), deadline(Stage::Accept, due)])
            .when(cmd(branch(), GrievanceAction::AcceptGrievance))
            .inspect_result()
            .expect("accepted")
            .into_iter()
            .find_map(|e| match e {
                GrievanceEvent::GrievanceAccepted { on_time, .. } => on_time,
                _ => None,
            })
    };
    assert_eq!(accept(due), Some(Timeliness::OnTime));
    assert_eq!(accept(due + TimeDelta::seconds(1)), Some(Timeliness::Late));
}

#[test]
fn a_recorded_verdict_stands_on_replay_whatever_the_clock_says() {
    let due = t0() + TimeDelta::hours(4);
    let mut grievance = Grievance::default();
    for event in [
        filed(),
        deadline(Stage::Accept, due),
        GrievanceEvent::GrievanceAccepted {
            at: due + TimeDelta::hours(1),
            on_time: Some(Timeliness::OnTime),
        },
    ] {
        grievance.apply(event);
    }
    assert_eq!(grievance.state().and_then(|s| s.accept_on_time), Some(true));
}

#[test]
fn version_1_acceptances_are_upcast_with_the_rule_they_were_written_under() {
    let due = t0() + TimeDelta::hours(4);
    let replay = |accepted_at: DateTime<Utc>, accepted: serde_json::Value| {
        let mut grievance = Grievance::default();
        grievance.apply(filed());
        grievance.apply(deadline(Stage::Accept, due));
        // As stored by version 1: no `on_time`.
        let payload = serde_json::json!({ accepted.as_str().unwrap_or("GrievanceAccepted"): {
            "at": accepted_at,
            "reason": "不属于本小区事务",
        }});
        let event: GrievanceEvent = serde_json::from_value(payload).expect("a version 1 payload");
        grievance.apply(event);
        grievance.state().and_then(|s| s.accept_on_time)
    };
    for kind in ["GrievanceAccepted", "GrievanceRejected"] {
        let kind = serde_json::json!(kind);
        assert_eq!(replay(due, kind.clone()), Some(true), "{kind}");
        assert_eq!(
            replay(due + TimeDelta::seconds(1), kind.clone()),
            Some(false),
            "{kind}"
        );
    }
}

#[test]
fn the_party_branch_accepts_a_filed_grievance() {
    framework()
        .given(vec![filed()])
        .when(cmd(branch(), GrievanceAction::AcceptGrievance))
        .then_expect_events(vec![
            accepted(),
            deadline(Stage::Respond, t0() + TimeDelta::hours(24)),
        ]);
}

#[test]
fn a_property_company_cannot_accept_a_grievance() {
    framework()
        .given(vec![filed()])
        .when(cmd(company(), GrievanceAction::AcceptGrievance))
        .then_expect_error(GrievanceError::NotTheHandler { action: "accept" });
}

#[test]
fn an_accepted_grievance_cannot_be_accepted_again() {
    framework()
        .given(vec![filed(), accepted()])
        .when(cmd(branch(), GrievanceAction::AcceptGrievance))
        .then_expect_error(GrievanceError::InvalidTransition {
            action: "accept",
            status: Status::Accepted,
        });
}

#[test]
fn the_party_branch_rejects_a_filed_grievance_with_a_reason() {
    framework()
        .given(vec![filed()])
        .when(cmd(
            branch(),
            GrievanceAction::RejectGrievance {
                reason: reason("不属于本小区事务"),
            },
        ))
        .then_expect_events(vec![GrievanceEvent::GrievanceRejected {
            reason: reason("不属于本小区事务"),
            at: t0(),
            on_time: Some(Timeliness::Untimed),
        }]);
}

#[test]
fn an_accepted_grievance_cannot_be_rejected() {
    framework()
        .given(vec![filed(), accepted()])
        .when(cmd(
            branch(),
            GrievanceAction::RejectGrievance {
                reason: reason("late"),
            },
        ))
        .then_expect_error(GrievanceError::InvalidTransition {
            action: "reject",
            status: Status::Accepted,
        });
}

#[test]
fn a_resident_cannot_reject_a_grievance() {
    framework()
        .given(vec![filed()])
        .when(cmd(
            neighbour(),
            GrievanceAction::RejectGrievance {
                reason: reason("no"),
            },
        ))
        .then_expect_error(GrievanceError::NotTheHandler { action: "reject" });
}

// --- triage ---

#[test]
fn the_party_branch_triages_an_accepted_grievance() {
    framework()
        .given(vec![filed(), accepted()])
        .when(cmd(
            branch(),
            GrievanceAction::TriageGrievance {
                matter_class: MatterClass::Minor,
                tier: Some(Tier::Xiaoqu),
                party: PartyRole::PropertyCompany,
            },
        ))
        .then_expect_events(vec![triaged()]);
}

#[test]
fn a_filed_grievance_cannot_be_triaged_before_acceptance() {
    framework()
        .given(vec![filed()])
        .when(cmd(
            branch(),
            GrievanceAction::TriageGrievance {
                matter_class: MatterClass::Minor,
                tier: Some(Tier::Xiaoqu),
                party: PartyRole::PropertyCompany,
            },
        ))
        .then_expect_error(GrievanceError::InvalidTransition {
            action: "triage",
            status: Status::Filed,
        });
}

#[test]
fn the_owners_committee_cannot_triage() {
    framework()
        .given(vec![filed(), accepted()])
        .when(cmd(
            committee(),
            GrievanceAction::TriageGrievance {
                matter_class: MatterClass::Major,
                tier: Some(Tier::Xiaoqu),
                party: PartyRole::OwnersCommittee,
            },
        ))
        .then_expect_error(GrievanceError::NotTheHandler { action: "triage" });
}

#[test]
fn a_major_matter_can_be_triaged_to_a_higher_tier_but_never_down() {
    framework()
        .given(vec![filed(), accepted()])
        .when(cmd(
            branch(),
            GrievanceAction::TriageGrievance {
                matter_class: MatterClass::Major,
                tier: Some(Tier::Community),
                party: PartyRole::Community,
            },
        ))
        .then_expect_events(vec![
            GrievanceEvent::GrievanceTriaged {
                matter_class: MatterClass::Major,
                tier: Tier::Community,
                party: PartyRole::Community,
                at: t0(),
            },
            GrievanceEvent::MeetingRequested {
                kind: MeetingKind::Urgent,
                note: None,
                due_at: Some(t0() + TimeDelta::hours(48)),
                at: t0(),
            },
            deadline(Stage::Convene, t0() + TimeDelta::hours(48)),
        ]);
    framework()
        .given(vec![filed(), accepted(), escalated_to_community()])
        .when(cmd(
            community(),
            GrievanceAction::TriageGrievance {
                matter_class: MatterClass::Minor,
                tier: Some(Tier::Xiaoqu),
                party: PartyRole::PropertyCompany,
            },
        ))
        .then_expect_error(GrievanceError::TierBelowCurrent {
            current: Tier::Community,
            requested: Tier::Xiaoqu,
        });
}

#[test]
fn triage_without_a_tier_keeps_the_grievance_at_its_tier() {
    framework()
        .given(vec![filed(), accepted(), escalated_to_community()])
        .when(cmd(
            community(),
            GrievanceAction::TriageGrievance {
                matter_class: MatterClass::Minor,
                tier: None,
                party: PartyRole::PropertyCompany,
            },
        ))
        .then_expect_events(vec![GrievanceEvent::GrievanceTriaged {
            matter_class: MatterClass::Minor,
            tier: Tier::Community,
            party: PartyRole::PropertyCompany,
            at: t0(),
        }]);
}

// --- assign ---

#[test]
fn assigning_without_a_party_asks_the_party_named_at_triage() {
    framework()
        .given(vec![filed(), accepted(), triaged()])
        .when(cmd(
            branch(),
            GrievanceAction::AssignGrievance {
                party: None,
                note: None,
            },
        ))
        .then_expect_events(vec![assigned()]);
}

#[test]
fn the_party_branch_assigns_a_triaged_grievance_and_may_reassign_it() {
    framework()
        .given(vec![filed(), accepted(), triaged()])
        .when(cmd(
            branch(),
            GrievanceAction::AssignGrievance {
                party: Some(PartyRole::PropertyCompany),
                note: None,
            },
        ))
        .then_expect_events(vec![assigned()]);
    framework()
        .given(vec![filed(), accepted(), triaged(), assigned()])
        .when(cmd(
            branch(),
            GrievanceAction::AssignGrievance {
                party: Some(PartyRole::OwnersCommittee),
                note: None,
            },
        ))
        .then_expect_events(vec![GrievanceEvent::GrievanceAssigned {
            party: PartyRole::OwnersCommittee,
            note: None,
            at: t0(),
        }]);
}

#[test]
fn an_untriaged_grievance_cannot_be_assigned() {
    framework()
        .given(vec![filed(), accepted()])
        .when(cmd(
            branch(),
            GrievanceAction::AssignGrievance {
                party: Some(PartyRole::PropertyCompany),
                note: None,
            },
        ))
        .then_expect_error(GrievanceError::InvalidTransition {
            action: "assign",
            status: Status::Accepted,
        });
}

// --- respond ---

#[test]
fn the_assigned_party_responds() {
    framework()
        .given(vec![filed(), accepted(), triaged(), assigned()])
        .when(cmd(
            company(),
            GrievanceAction::RespondToGrievance {
                response: statement("已联系维保单位,周五前修复。"),
            },
        ))
        .then_expect_events(vec![
            responded(),
            deadline(Stage::Resolve, t0() + TimeDelta::hours(72)),
        ]);
}

#[test]
fn a_party_that_was_not_assigned_cannot_respond() {
    framework()
        .given(vec![filed(), accepted(), triaged(), assigned()])
        .when(cmd(
            committee(),
            GrievanceAction::RespondToGrievance {
                response: statement("..."),
            },
        ))
        .then_expect_error(GrievanceError::NotTheAssignedParty);
}

#[test]
fn an_unassigned_grievance_cannot_be_responded_to() {
    framework()
        .given(vec![filed(), accepted(), triaged()])
        .when(cmd(
            company(),
            GrievanceAction::RespondToGrievance {
                response: statement("..."),
            },
        ))
        .then_expect_error(GrievanceError::InvalidTransition {
            action: "respond",
            status: Status::Triaged,
        });
}

// --- escalate ---

#[test]
fn the_party_branch_escalates_manually_one_tier_up() {
    framework()
        .given(vec![filed(), accepted()])
        .when(cmd(
            branch(),
            GrievanceAction::EscalateGrievance {
                reason: EscalationReason::Manual,
                note: None,
            },
        ))
        .then_expect_events(vec![escalated_to_community()]);
}

#[test]
fn after_escalation_the_tier_handles_the_grievance_and_the_branch_no_longer_does() {
    let given = vec![filed(), accepted(), escalated_to_community()];
    let triage = GrievanceAction::TriageGrievance {
        matter_class: MatterClass::Major,
        tier: Some(Tier::Community),
        party: PartyRole::Community,
    };
    let result = framework()
        .given(given.clone())
        .when(cmd(community(), triage.clone()))
        .inspect_result();
    assert!(result.is_ok());
    framework()
        .given(given)
        .when(cmd(branch(), triage))
        .then_expect_error(GrievanceError::NotTheHandler { action: "triage" });
}

#[test]
fn a_filed_grievance_cannot_be_escalated_before_acceptance() {
    framework()
        .given(vec![filed()])
        .when(cmd(
            branch(),
            GrievanceAction::EscalateGrievance {
                reason: EscalationReason::Manual,
                note: None,
            },
        ))
        .then_expect_error(GrievanceError::InvalidTransition {
            action: "escalate",
            status: Status::Filed,
        });
}

#[test]
fn the_filer_may_ask_for_escalation_but_not_claim_a_missed_deadline() {
    let result = framework()
        .given(vec![filed(), accepted()])
        .when(cmd(
            filer(),
            GrievanceAction::EscalateGrievance {
                reason: EscalationReason::FilerRequest,
                note: Some(reason("三天没人理")),
            },
        ))
        .inspect_result();
    assert!(result.is_ok());
    framework()
        .given(vec![filed(), accepted()])
        .when(cmd(
            filer(),
            GrievanceAction::EscalateGrievance {
                reason: EscalationReason::DeadlineMissed,
                note: None,
            },
        ))
        .then_expect_error(GrievanceError::EscalationReasonNotAllowed {
            reason: EscalationReason::DeadlineMissed,
            role: Role::Resident,
        });
}

#[test]
fn the_service_escalates_on_a_missed_deadline_with_a_fresh_deadline_at_the_next_tier() {
    let due = t0() + TimeDelta::hours(24);
    let missed = Deadline {
        stage: Stage::Respond,
        due_at: due,
    };
    Framework::with(services_at(due))
        .given(vec![filed(), accepted(), deadline(Stage::Respond, due)])
        .when(cmd(
            system(),
            GrievanceAction::EscalateOnMissedDeadline { deadline: missed },
        ))
        .then_expect_events(vec![
            GrievanceEvent::GrievanceEscalated {
                from: Tier::Xiaoqu,
                to: Tier::Community,
                reason: EscalationReason::DeadlineMissed,
                note: None,
                at: due,
            },
            GrievanceEvent::DeadlineSet {
                stage: Stage::Respond,
                due_at: due + TimeDelta::hours(24),
                at: due,
            },
        ]);
}

#[test]
fn a_deadline_escalation_before_the_due_time_is_refused() {
    let due = t0() + TimeDelta::hours(24);
    Framework::with(services_at(due - TimeDelta::seconds(1)))
        .given(vec![filed(), accepted(), deadline(Stage::Respond, due)])
        .when(cmd(
            system(),
            GrievanceAction::EscalateOnMissedDeadline {
                deadline: Deadline {
                    stage: Stage::Respond,
                    due_at: due,
                },
            },
        ))
        .then_expect_error(GrievanceError::DeadlineNotDue { due_at: due });
}

#[test]
fn a_second_escalation_for_the_same_missed_deadline_is_refused() {
    // After the first escalation the grievance has a fresh deadline, so the
    // old one no longer names its current deadline: a repeat does nothing.
    let due = t0() + TimeDelta::hours(24);
    let missed = Deadline {
        stage: Stage::Respond,
        due_at: due,
    };
    Framework::with(services_at(due + TimeDelta::hours(1)))
        .given(vec![
            filed(),
            accepted(),
            deadline(Stage::Respond, due),
            escalated_to_community(),
            deadline(Stage::Respond, due + TimeDelta::hours(24)),
        ])
        .when(cmd(
            system(),
            GrievanceAction::EscalateOnMissedDeadline { deadline: missed },
        ))
        .then_expect_error(GrievanceError::DeadlineNotCurrent);
}

#[test]
fn only_the_service_escalates_on_deadlines() {
    let due = t0();
    framework()
        .given(vec![filed(), deadline(Stage::Accept, due)])
        .when(cmd(
            branch(),
            GrievanceAction::EscalateOnMissedDeadline {
                deadline: Deadline {
                    stage: Stage::Accept,
                    due_at: due,
                },
            },
        ))
        .then_expect_error(GrievanceError::RoleNotAllowed {
            action: "escalate",
            role: Role::PartyBranch,
        });
}

#[test]
fn an_unaccepted_grievance_escalates_when_the_accept_deadline_passes_and_the_tier_accepts_it() {
    let due = t0() + TimeDelta::hours(2);
    let given = vec![
        filed(),
        deadline(Stage::Accept, due),
        GrievanceEvent::GrievanceEscalated {
            from: Tier::Xiaoqu,
            to: Tier::Community,
            reason: EscalationReason::DeadlineMissed,
            note: None,
            at: due,
        },
        GrievanceEvent::DeadlineSet {
            stage: Stage::Accept,
            due_at: due + TimeDelta::hours(2),
            at: due,
        },
    ];
    framework()
        .given(given.clone())
        .when(cmd(community(), GrievanceAction::AcceptGrievance))
        .then_expect_events(vec![
            // The missed accept deadline stays missed.
            GrievanceEvent::GrievanceAccepted {
                at: t0(),
                on_time: Some(Timeliness::Late),
            },
            deadline(Stage::Respond, t0() + TimeDelta::hours(24)),
        ]);
    framework()
        .given(given)
        .when(cmd(branch(), GrievanceAction::AcceptGrievance))
        .then_expect_error(GrievanceError::NotTheHandler { action: "accept" });
}

#[test]
fn the_handler_pauses_and_resumes_the_clock_with_the_time_that_was_left() {
    let due = t0() + TimeDelta::hours(24);
    let given = vec![filed(), accepted(), deadline(Stage::Respond, due)];
    let paused = GrievanceEvent::DeadlinePaused {
        stage: Stage::Respond,
        remaining_seconds: 24 * 3600,
        reason: reason("等待业主提供照片"),
        at: t0(),
    };
    framework()
        .given(given.clone())
        .when(cmd(
            branch(),
            GrievanceAction::PauseDeadline {
                reason: reason("等待业主提供照片"),
            },
        ))
        .then_expect_events(vec![paused.clone()]);
    let later = t0() + TimeDelta::days(3);
    let mut given_paused = given;
    given_paused.push(paused);
    Framework::with(services_at(later))
        .given(given_paused.clone())
        .when(cmd(branch(), GrievanceAction::ResumeDeadline))
        .then_expect_events(vec![GrievanceEvent::DeadlineSet {
            stage: Stage::Respond,
            due_at: later + TimeDelta::hours(24),
            at: later,
        }]);
    framework()
        .given(given_paused)
        .when(cmd(
            branch(),
            GrievanceAction::PauseDeadline {
                reason: reason("again"),
            },
        ))
        .then_expect_error(GrievanceError::AlreadyPaused);
}

#[test]
fn a_running_clock_cannot_be_resumed_and_only_the_handler_pauses() {
    let given = vec![filed(), accepted(), deadline(Stage::Respond, t0())];
    framework()
        .given(given.clone())
        .when(cmd(branch(), GrievanceAction::ResumeDeadline))
        .then_expect_error(GrievanceError::NotPaused);
    framework()
        .given(given)
        .when(cmd(
            company(),
            GrievanceAction::PauseDeadline {
                reason: reason("no"),
            },
        ))
        .then_expect_error(GrievanceError::NotTheHandler { action: "pause" });
    framework()
        .given(up_to_resolved())
        .when(cmd(
            branch(),
            GrievanceAction::PauseDeadline {
                reason: reason("no"),
            },
        ))
        .then_expect_error(GrievanceError::NoRunningDeadline);
}

#[test]
fn a_grievance_at_the_district_cannot_climb_further() {
    let district = Actor::new(AccountId(Uuid::from_u128(402)), Role::District);
    let to = |from, to| GrievanceEvent::GrievanceEscalated {
        from,
        to,
        reason: EscalationReason::Manual,
        note: None,
        at: t0(),
    };
    framework()
        .given(vec![
            filed(),
            accepted(),
            to(Tier::Xiaoqu, Tier::Community),
            to(Tier::Community, Tier::Street),
            to(Tier::Street, Tier::District),
        ])
        .when(cmd(
            district,
            GrievanceAction::EscalateGrievance {
                reason: EscalationReason::Manual,
                note: None,
            },
        ))
        .then_expect_error(GrievanceError::AlreadyAtTopTier);
}

// --- withdraw ---

#[test]
fn the_filer_withdraws_before_resolution() {
    framework()
        .given(up_to_responded())
        .when(cmd(
            filer(),
            GrievanceAction::WithdrawGrievance { reason: None },
        ))
        .then_expect_events(vec![GrievanceEvent::GrievanceWithdrawn {
            reason: None,
            at: t0(),
        }]);
}

#[test]
fn nobody_but_the_filer_withdraws() {
    framework()
        .given(vec![filed()])
        .when(cmd(
            neighbour(),
            GrievanceAction::WithdrawGrievance { reason: None },
        ))
        .then_expect_error(GrievanceError::NotTheFiler { action: "withdraw" });
}

#[test]
fn a_resolved_grievance_cannot_be_withdrawn() {
    framework()
        .given(up_to_resolved())
        .when(cmd(
            filer(),
            GrievanceAction::WithdrawGrievance { reason: None },
        ))
        .then_expect_error(GrievanceError::InvalidTransition {
            action: "withdraw",
            status: Status::Resolved,
        });
}

// --- resolve ---

#[test]
fn the_party_branch_resolves_a_responded_grievance() {
    framework()
        .given(up_to_responded())
        .when(cmd(
            branch(),
            GrievanceAction::ResolveGrievance {
                summary: statement("电梯已修复"),
            },
        ))
        .then_expect_events(vec![resolved()]);
}

#[test]
fn a_grievance_without_a_response_cannot_be_resolved() {
    framework()
        .given(vec![filed(), accepted(), triaged(), assigned()])
        .when(cmd(
            branch(),
            GrievanceAction::ResolveGrievance {
                summary: statement("done"),
            },
        ))
        .then_expect_error(GrievanceError::InvalidTransition {
            action: "resolve",
            status: Status::Assigned,
        });
}

// --- rate ---

#[test]
fn the_filer_rates_a_resolved_grievance_which_closes_it() {
    framework()
        .given(up_to_resolved())
        .when(cmd(
            filer(),
            GrievanceAction::RateOutcome {
                rating: Rating::Satisfied,
                comment: None,
            },
        ))
        .then_expect_events(vec![rated(Rating::Satisfied)]);
}

#[test]
fn a_resident_cannot_rate_an_unresolved_grievance() {
    framework()
        .given(up_to_responded())
        .when(cmd(
            filer(),
            GrievanceAction::RateOutcome {
                rating: Rating::Satisfied,
                comment: None,
            },
        ))
        .then_expect_error(GrievanceError::InvalidTransition {
            action: "rate",
            status: Status::Responded,
        });
}

#[test]
fn only_the_filer_rates() {
    framework()
        .given(up_to_resolved())
        .when(cmd(
            neighbour(),
            GrievanceAction::RateOutcome {
                rating: Rating::Unsatisfied,
                comment: None,
            },
        ))
        .then_expect_error(GrievanceError::NotTheFiler { action: "rate" });
}

// --- households of merged duplicates ---

/// A household two doors down, whose duplicate filing was merged in.
fn household() -> Actor {
    Actor::new(AccountId(Uuid::from_u128(102)), Role::Resident)
}

fn linked(filer: Actor) -> GrievanceEvent {
    GrievanceEvent::DuplicateLinked {
        duplicate: GrievanceId(Uuid::from_u128(7_002)),
        filer: filer.account,
        at: t0(),
    }
}

fn household_rated(rating: Rating) -> GrievanceEvent {
    GrievanceEvent::HouseholdRated {
        household: household().account,
        rating,
        comment: None,
        at: t0(),
    }
}

/// Filed, linked a duplicate of `household()`, resolved.
fn resolved_with_household() -> Vec<GrievanceEvent> {
    let mut events = up_to_responded();
    events.insert(1, linked(household()));
    events.push(resolved());
    events
}

fn rate(actor: Actor, rating: Rating) -> GrievanceCommand {
    cmd(
        actor,
        GrievanceAction::RateOutcome {
            rating,
            comment: None,
        },
    )
}

#[test]
fn a_household_whose_filing_was_merged_rates_as_its_own() {
    framework()
        .given(resolved_with_household())
        .when(rate(household(), Rating::MostlySatisfied))
        .then_expect_events(vec![household_rated(Rating::MostlySatisfied)]);
}

#[test]
fn a_household_rates_after_the_filer_closed_it_but_only_once() {
    let mut given = resolved_with_household();
    given.push(rated(Rating::Satisfied));
    framework()
        .given(given.clone())
        .when(rate(household(), Rating::Unsatisfied))
        .then_expect_events(vec![household_rated(Rating::Unsatisfied)]);
    given.push(household_rated(Rating::Unsatisfied));
    framework()
        .given(given)
        .when(rate(household(), Rating::Satisfied))
        .then_expect_error(GrievanceError::AlreadyRated);
}

#[test]
fn a_household_rates_only_within_the_window() {
    Framework::with(services_at(
        t0() + TimeDelta::days(15) + TimeDelta::seconds(1),
    ))
    .given(resolved_with_household())
    .when(rate(household(), Rating::Unsatisfied))
    .then_expect_error(GrievanceError::RatingWindowClosed {
        closed_at: t0() + TimeDelta::days(15),
    });
}

#[test]
fn a_resident_with_no_merged_filing_still_cannot_rate() {
    framework()
        .given(resolved_with_household())
        .when(rate(neighbour(), Rating::Unsatisfied))
        .then_expect_error(GrievanceError::NotTheFiler { action: "rate" });
}

#[test]
fn an_unsatisfied_household_reopens_though_the_filer_was_satisfied() {
    let mut given = resolved_with_household();
    given.push(rated(Rating::Satisfied));
    given.push(household_rated(Rating::Unsatisfied));
    framework()
        .given(given)
        .when(cmd(
            household(),
            GrievanceAction::ReopenGrievance {
                reason: reason("电梯还是坏的"),
            },
        ))
        .then_expect_events(vec![
            GrievanceEvent::GrievanceReopened {
                reason: reason("电梯还是坏的"),
                at: t0(),
            },
            GrievanceEvent::DeadlineSet {
                stage: Stage::Respond,
                due_at: t0() + TimeDelta::hours(24),
                at: t0(),
            },
        ]);
}

#[test]
fn a_household_that_was_satisfied_cannot_reopen() {
    let mut given = resolved_with_household();
    given.push(household_rated(Rating::Satisfied));
    framework()
        .given(given)
        .when(cmd(
            household(),
            GrievanceAction::ReopenGrievance {
                reason: reason("x"),
            },
        ))
        .then_expect_error(GrievanceError::RatedSatisfied);
}

#[test]
fn reopening_clears_every_rating_so_each_household_rates_the_new_outcome() {
    let mut state = Grievance::default();
    let mut given = resolved_with_household();
    given.push(household_rated(Rating::Unsatisfied));
    given.push(GrievanceEvent::GrievanceReopened {
        reason: reason("again"),
        at: t0(),
    });
    for e in given {
        state.apply(e);
    }
    let g = state.state().expect("filed");
    assert!(g.household_ratings.is_empty());
    assert_eq!(g.rating, None);
    state.apply(resolved());
    assert!(state.would_record(rate(household(), Rating::Satisfied), &services_at(t0())));
}

// --- reopen ---

#[test]
fn an_unsatisfied_filer_reopens_within_the_window() {
    let mut given = up_to_resolved();
    given.push(rated(Rating::Unsatisfied));
    Framework::with(services_at(t0() + TimeDelta::days(15)))
        .given(given)
        .when(cmd(
            filer(),
            GrievanceAction::ReopenGrievance {
                reason: reason("电梯又坏了"),
            },
        ))
        .then_expect_events(vec![
            GrievanceEvent::GrievanceReopened {
                reason: reason("电梯又坏了"),
                at: t0() + TimeDelta::days(15),
            },
            GrievanceEvent::DeadlineSet {
                stage: Stage::Respond,
                due_at: t0() + TimeDelta::days(15) + TimeDelta::hours(24),
                at: t0() + TimeDelta::days(15),
            },
        ]);
}

#[test]
fn reopening_after_the_window_is_refused() {
    Framework::with(services_at(
        t0() + TimeDelta::days(15) + TimeDelta::seconds(1),
    ))
    .given(up_to_resolved())
    .when(cmd(
        filer(),
        GrievanceAction::ReopenGrievance {
            reason: reason("still broken"),
        },
    ))
    .then_expect_error(GrievanceError::ReopenWindowClosed {
        closed_at: t0() + TimeDelta::days(15),
    });
}

#[test]
fn a_satisfied_filer_cannot_reopen() {
    let mut given = up_to_resolved();
    given.push(rated(Rating::Satisfied));
    framework()
        .given(given)
        .when(cmd(
            filer(),
            GrievanceAction::ReopenGrievance {
                reason: reason("changed my mind"),
            },
        ))
        .then_expect_error(GrievanceError::RatedSatisfied);
}

#[test]
fn an_open_grievance_cannot_be_reopened() {
    framework()
        .given(up_to_responded())
        .when(cmd(
            filer(),
            GrievanceAction::ReopenGrievance {
                reason: reason("x"),
            },
        ))
        .then_expect_error(GrievanceError::InvalidTransition {
            action: "reopen",
            status: Status::Responded,
        });
}

#[test]
fn a_reopened_grievance_goes_back_to_the_assigned_party() {
    let mut given = up_to_resolved();
    given.push(GrievanceEvent::GrievanceReopened {
        reason: reason("again"),
        at: t0(),
    });
    framework()
        .given(given)
        .when(cmd(
            company(),
            GrievanceAction::RespondToGrievance {
                response: statement("已联系维保单位,周五前修复。"),
            },
        ))
        .then_expect_events(vec![
            responded(),
            deadline(Stage::Resolve, t0() + TimeDelta::hours(72)),
        ]);
}

// --- merge ---

#[test]
fn the_party_branch_merges_a_duplicate_into_a_primary() {
    framework()
        .given(vec![filed()])
        .when(cmd(
            branch(),
            GrievanceAction::MergeIntoPrimary { primary: primary() },
        ))
        .then_expect_events(vec![GrievanceEvent::GrievanceMerged {
            primary: OTHER,
            at: t0(),
        }]);
}

/// The primary as the merge reads it: another open grievance of the xiaoqu.
fn primary() -> PrimaryOfMerge {
    PrimaryOfMerge {
        id: OTHER,
        xiaoqu: XIAOQU,
        status: Status::Accepted,
    }
}

#[test]
fn a_duplicate_cannot_join_a_primary_of_another_xiaoqu() {
    framework()
        .given(vec![filed()])
        .when(cmd(
            branch(),
            GrievanceAction::MergeIntoPrimary {
                primary: PrimaryOfMerge {
                    xiaoqu: XiaoquId(Uuid::from_u128(11)),
                    ..primary()
                },
            },
        ))
        .then_expect_error(GrievanceError::MergeAcrossXiaoqu);
}

#[test]
fn a_duplicate_cannot_join_a_primary_that_takes_no_duplicates() {
    framework()
        .given(vec![filed()])
        .when(cmd(
            branch(),
            GrievanceAction::MergeIntoPrimary {
                primary: PrimaryOfMerge {
                    status: Status::Withdrawn,
                    ..primary()
                },
            },
        ))
        .then_expect_error(GrievanceError::PrimaryTakesNoDuplicates {
            status: Status::Withdrawn,
        });
}

#[test]
fn a_primary_takes_no_duplicate_of_another_xiaoqu() {
    framework()
        .given(vec![filed()])
        .when(cmd(
            branch(),
            GrievanceAction::LinkDuplicates {
                duplicates: vec![DuplicateToLink {
                    duplicate: OTHER,
                    xiaoqu: XiaoquId(Uuid::from_u128(11)),
                    filer: neighbour().account,
                }],
            },
        ))
        .then_expect_error(GrievanceError::MergeAcrossXiaoqu);
}

#[test]
fn a_grievance_cannot_be_merged_into_itself() {
    framework()
        .given(vec![filed()])
        .when(cmd(
            branch(),
            GrievanceAction::MergeIntoPrimary {
                primary: PrimaryOfMerge {
                    id: GRIEVANCE,
                    ..primary()
                },
            },
        ))
        .then_expect_error(GrievanceError::CannotMergeIntoItself);
}

#[test]
fn a_closed_grievance_cannot_be_merged() {
    let mut given = up_to_resolved();
    given.push(rated(Rating::Satisfied));
    framework()
        .given(given)
        .when(cmd(
            branch(),
            GrievanceAction::MergeIntoPrimary { primary: primary() },
        ))
        .then_expect_error(GrievanceError::InvalidTransition {
            action: "merge",
            status: Status::Closed,
        });
}

#[test]
fn linking_a_duplicate_records_its_filer_once() {
    let link = GrievanceAction::LinkDuplicates {
        duplicates: vec![DuplicateToLink {
            duplicate: OTHER,
            xiaoqu: XIAOQU,
            filer: neighbour().account,
        }],
    };
    let linked = GrievanceEvent::DuplicateLinked {
        duplicate: OTHER,
        filer: neighbour().account,
        at: t0(),
    };
    framework()
        .given(vec![filed()])
        .when(cmd(branch(), link.clone()))
        .then_expect_events(vec![linked.clone()]);
    framework()
        .given(vec![filed(), linked])
        .when(cmd(branch(), link))
        .then_expect_events(vec![]);
}

#[test]
fn several_duplicates_are_linked_together_or_not_at_all() {
    let third = GrievanceId(Uuid::from_u128(7_003));
    let to_link = |duplicate, xiaoqu| DuplicateToLink {
        duplicate,
        xiaoqu,
        filer: neighbour().account,
    };
    let linked = |duplicate| GrievanceEvent::DuplicateLinked {
        duplicate,
        filer: neighbour().account,
        at: t0(),
    };
    // Each once, even when named twice.
    framework()
        .given(vec![filed()])
        .when(cmd(
            branch(),
            GrievanceAction::LinkDuplicates {
                duplicates: vec![
                    to_link(OTHER, XIAOQU),
                    to_link(third, XIAOQU),
                    to_link(OTHER, XIAOQU),
                ],
            },
        ))
        .then_expect_events(vec![linked(OTHER), linked(third)]);
    // One of another xiaoqu refuses them all.
    framework()
        .given(vec![filed()])
        .when(cmd(
            branch(),
            GrievanceAction::LinkDuplicates {
                duplicates: vec![
                    to_link(OTHER, XIAOQU),
                    to_link(third, XiaoquId(Uuid::from_u128(11))),
                ],
            },
        ))
        .then_expect_error(GrievanceError::MergeAcrossXiaoqu);
}

#[test]
fn a_resident_cannot_link_duplicates() {
    framework()
        .given(vec![filed()])
        .when(cmd(
            filer(),
            GrievanceAction::LinkDuplicates {
                duplicates: vec![DuplicateToLink {
                    duplicate: OTHER,
                    xiaoqu: XIAOQU,
                    filer: neighbour().account,
                }],
            },
        ))
        .then_expect_error(GrievanceError::NotTheHandler {
            action: "link_duplicate",
        });
}

#[test]
fn only_the_filer_sets_identity_consent_and_only_a_change_is_recorded() {
    let consent = |reveal_to_respondent| GrievanceAction::SetIdentityConsent {
        reveal_to_respondent,
    };
    let given_consent = GrievanceEvent::IdentityConsentSet {
        reveal_to_respondent: true,
        at: t0(),
    };
    framework()
        .given(vec![filed()])
        .when(cmd(filer(), consent(true)))
        .then_expect_events(vec![given_consent.clone()]);
    framework()
        .given(vec![filed()])
        .when(cmd(filer(), consent(false)))
        .then_expect_events(vec![]);
    framework()
        .given(vec![filed(), given_consent.clone()])
        .when(cmd(filer(), consent(true)))
        .then_expect_events(vec![]);
    framework()
        .given(vec![filed(), given_consent])
        .when(cmd(filer(), consent(false)))
        .then_expect_events(vec![GrievanceEvent::IdentityConsentSet {
            reveal_to_respondent: false,
            at: t0(),
        }]);
    for actor in [company(), branch(), neighbour()] {
        framework()
            .given(vec![filed()])
            .when(cmd(actor, consent(true)))
            .then_expect_error(GrievanceError::NotTheFiler {
                action: "identity_consent",
            });
    }
}

#[test]
fn the_filer_acting_in_another_role_does_not_speak_for_the_filing() {
    let mut as_committee = filer();
    as_committee.role = Role::OwnersCommittee;
    framework()
        .given(vec![filed()])
        .when(cmd(
            as_committee,
            GrievanceAction::WithdrawGrievance { reason: None },
        ))
        .then_expect_error(GrievanceError::NotTheFiler { action: "withdraw" });
}

// --- joint meetings (大事紧急议、小事定期议) ---

const MEETING: MeetingId = MeetingId(Uuid::from_u128(50));
const CASE: CaseId = CaseId(Uuid::from_u128(60));

fn urgent_referral() -> Vec<GrievanceEvent> {
    let due = t0() + TimeDelta::hours(48);
    vec![
        filed(),
        accepted(),
        GrievanceEvent::GrievanceTriaged {
            matter_class: MatterClass::Major,
            tier: Tier::Xiaoqu,
            party: PartyRole::PropertyCompany,
            at: t0(),
        },
        GrievanceEvent::MeetingRequested {
            kind: MeetingKind::Urgent,
            note: None,
            due_at: Some(due),
            at: t0(),
        },
        deadline(Stage::Convene, due),
    ]
}

fn follow_meeting(sequence: u64, step: MeetingStep) -> GrievanceCommand {
    cmd(
        system(),
        GrievanceAction::FollowMeeting {
            meeting: MEETING,
            sequence,
            step,
        },
    )
}

fn meeting_followed(sequence: u64, step: MeetingStep) -> GrievanceEvent {
    GrievanceEvent::MeetingFollowed {
        meeting: MEETING,
        sequence,
        step,
        at: t0(),
    }
}

#[test]
fn the_party_branch_refers_a_minor_matter_to_the_next_regular_meeting() {
    framework()
        .given(vec![filed(), accepted(), triaged()])
        .when(cmd(
            branch(),
            GrievanceAction::ReferToMeeting {
                note: Some(reason("需要业委会和物业共同商议")),
            },
        ))
        .then_expect_events(vec![GrievanceEvent::MeetingRequested {
            kind: MeetingKind::Regular,
            note: Some(reason("需要业委会和物业共同商议")),
            due_at: None,
            at: t0(),
        }]);
}

#[test]
fn a_respondent_cannot_refer_a_grievance_to_a_meeting_and_a_filed_one_cannot_be_referred() {
    framework()
        .given(vec![filed(), accepted(), triaged()])
        .when(cmd(
            company(),
            GrievanceAction::ReferToMeeting { note: None },
        ))
        .then_expect_error(GrievanceError::NotTheHandler {
            action: "refer_to_meeting",
        });
    framework()
        .given(vec![filed()])
        .when(cmd(
            branch(),
            GrievanceAction::ReferToMeeting { note: None },
        ))
        .then_expect_error(GrievanceError::InvalidTransition {
            action: "refer_to_meeting",
            status: Status::Filed,
        });
}

#[test]
fn a_grievance_already_waiting_for_a_meeting_is_not_referred_twice() {
    framework()
        .given(urgent_referral())
        .when(cmd(
            branch(),
            GrievanceAction::ReferToMeeting { note: None },
        ))
        .then_expect_events(vec![]);
}

#[test]
fn an_urgent_meeting_convened_in_the_window_stops_the_urgent_clock() {
    framework()
        .given(urgent_referral())
        .when(follow_meeting(
            1,
            MeetingStep::Convened {
                kind: MeetingKind::Urgent,
            },
        ))
        .then_expect_events(vec![
            meeting_followed(
                1,
                MeetingStep::Convened {
                    kind: MeetingKind::Urgent,
                },
            ),
            deadline(Stage::Respond, t0() + TimeDelta::hours(24)),
        ]);
}

#[test]
fn a_regular_meeting_does_not_answer_a_major_matter() {
    framework()
        .given(urgent_referral())
        .when(follow_meeting(
            1,
            MeetingStep::Convened {
                kind: MeetingKind::Regular,
            },
        ))
        .then_expect_events(vec![meeting_followed(
            1,
            MeetingStep::Convened {
                kind: MeetingKind::Regular,
            },
        )]);
}

#[test]
fn a_cancelled_urgent_meeting_restarts_the_urgent_clock_without_extending_it() {
    let mut given = urgent_referral();
    given.push(meeting_followed(
        1,
        MeetingStep::Convened {
            kind: MeetingKind::Urgent,
        },
    ));
    given.push(deadline(Stage::Respond, t0() + TimeDelta::hours(24)));
    framework()
        .given(given)
        .when(follow_meeting(5, MeetingStep::Cancelled))
        .then_expect_events(vec![
            meeting_followed(5, MeetingStep::Cancelled),
            deadline(Stage::Convene, t0() + TimeDelta::hours(48)),
        ]);
}

#[test]
fn a_meeting_step_followed_once_is_not_followed_again() {
    let mut given = urgent_referral();
    given.push(meeting_followed(
        3,
        MeetingStep::Decided {
            decision: statement("物业三日内更换消防栓"),
        },
    ));
    framework()
        .given(given)
        .when(follow_meeting(
            3,
            MeetingStep::Decided {
                decision: statement("物业三日内更换消防栓"),
            },
        ))
        .then_expect_events(vec![]);
}

#[test]
fn only_the_service_makes_a_grievance_follow_a_meeting_or_a_case() {
    framework()
        .given(urgent_referral())
        .when(cmd(
            branch(),
            GrievanceAction::FollowMeeting {
                meeting: MEETING,
                sequence: 1,
                step: MeetingStep::Deferred,
            },
        ))
        .then_expect_error(GrievanceError::RoleNotAllowed {
            action: "follow_meeting",
            role: Role::PartyBranch,
        });
    framework()
        .given(vec![filed(), accepted(), triaged()])
        .when(cmd(
            branch(),
            GrievanceAction::FollowCase {
                case: CASE,
                sequence: 1,
                step: CaseStep::Opened,
            },
        ))
        .then_expect_error(GrievanceError::RoleNotAllowed {
            action: "follow_case",
            role: Role::PartyBranch,
        });
}

#[test]
fn a_decided_meeting_item_ends_the_wait_for_a_meeting() {
    let mut grievance = Grievance::default();
    for event in urgent_referral() {
        grievance.apply(event);
    }
    assert!(grievance.state().and_then(|s| s.meeting_referral).is_some());
    grievance.apply(meeting_followed(
        2,
        MeetingStep::Decided {
            decision: statement("物业三日内更换消防栓"),
        },
    ));
    assert_eq!(grievance.state().and_then(|s| s.meeting_referral), None);
}

#[test]
fn an_unconvened_major_matter_escalates_once_when_the_urgent_window_passes() {
    let due = t0() + TimeDelta::hours(48);
    let late = due + TimeDelta::minutes(1);
    Framework::with(services_at(late))
        .given(urgent_referral())
        .when(cmd(
            system(),
            GrievanceAction::EscalateOnMissedDeadline {
                deadline: Deadline {
                    stage: Stage::Convene,
                    due_at: due,
                },
            },
        ))
        .then_expect_events(vec![
            GrievanceEvent::GrievanceEscalated {
                from: Tier::Xiaoqu,
                to: Tier::Community,
                reason: EscalationReason::DeadlineMissed,
                note: None,
                at: late,
            },
            GrievanceEvent::DeadlineSet {
                stage: Stage::Convene,
                due_at: late + TimeDelta::hours(48),
                at: late,
            },
        ]);
}

// --- mediation cases: the grievance follows its case ---

fn follow_case(sequence: u64, step: CaseStep) -> GrievanceCommand {
    cmd(
        system(),
        GrievanceAction::FollowCase {
            case: CASE,
            sequence,
            step,
        },
    )
}

fn case_followed(sequence: u64, step: CaseStep) -> GrievanceEvent {
    GrievanceEvent::CaseFollowed {
        case: CASE,
        sequence,
        step,
        at: t0(),
    }
}

fn in_mediation() -> Vec<GrievanceEvent> {
    let mut events = up_to_responded();
    events.push(case_followed(1, CaseStep::Opened));
    events
}

fn agreed() -> CaseStep {
    CaseStep::Agreed {
        terms: statement("物业每月清理一次地下车库"),
    }
}

#[test]
fn a_triaged_grievance_enters_mediation_with_a_fresh_resolve_clock() {
    framework()
        .given(vec![filed(), accepted(), triaged()])
        .when(follow_case(1, CaseStep::Opened))
        .then_expect_events(vec![
            case_followed(1, CaseStep::Opened),
            deadline(Stage::Resolve, t0() + TimeDelta::hours(72)),
        ]);
}

#[test]
fn an_unaccepted_grievance_cannot_enter_mediation() {
    framework()
        .given(vec![filed()])
        .when(follow_case(1, CaseStep::Opened))
        .then_expect_error(GrievanceError::InvalidTransition {
            action: "enter mediation",
            status: Status::Filed,
        });
}

#[test]
fn a_case_step_followed_once_is_not_followed_again() {
    framework()
        .given(in_mediation())
        .when(follow_case(1, CaseStep::Opened))
        .then_expect_events(vec![]);
}

#[test]
fn an_agreement_resolves_the_grievance() {
    framework()
        .given(in_mediation())
        .when(follow_case(4, agreed()))
        .then_expect_events(vec![case_followed(4, agreed())]);
    let mut grievance = Grievance::default();
    for event in in_mediation() {
        grievance.apply(event);
    }
    grievance.apply(case_followed(4, agreed()));
    assert_eq!(grievance.status(), Some(Status::Resolved));
    assert_eq!(grievance.state().and_then(|s| s.deadline), None);
}

#[test]
fn another_case_cannot_resolve_the_grievance() {
    framework()
        .given(in_mediation())
        .when(cmd(
            system(),
            GrievanceAction::FollowCase {
                case: CaseId(Uuid::from_u128(61)),
                sequence: 9,
                step: agreed(),
            },
        ))
        .then_expect_error(GrievanceError::NotInCase {
            case: CaseId(Uuid::from_u128(61)),
        });
}

#[test]
fn a_missed_obligation_reopens_the_grievance_with_its_case() {
    let mut given = in_mediation();
    given.push(case_followed(4, agreed()));
    framework()
        .given(given)
        .when(follow_case(6, CaseStep::Reopened))
        .then_expect_events(vec![
            case_followed(6, CaseStep::Reopened),
            deadline(Stage::Resolve, t0() + TimeDelta::hours(72)),
        ]);
    framework()
        .given(in_mediation())
        .when(follow_case(6, CaseStep::Reopened))
        .then_expect_error(GrievanceError::InvalidTransition {
            action: "reopen with its case",
            status: Status::InMediation,
        });
}

#[test]
fn by_configuration_a_missed_obligation_also_climbs_a_tier_at_once() {
    let mut given = in_mediation();
    given.push(case_followed(4, agreed()));
    let policy = GrievancePolicy {
        escalate_on_missed_obligation: true,
        ..GrievancePolicy::default()
    };
    let services = GrievanceServices::new(Arc::new(FixedClock::at(t0())), policy);
    Framework::with(services.clone())
        .given(given.clone())
        .when(follow_case(6, CaseStep::Reopened))
        .then_expect_events(vec![
            case_followed(6, CaseStep::Reopened),
            GrievanceEvent::GrievanceEscalated {
                from: Tier::Xiaoqu,
                to: Tier::Community,
                reason: EscalationReason::ObligationMissed,
                note: None,
                at: t0(),
            },
            deadline(Stage::Resolve, t0() + TimeDelta::hours(72)),
        ]);
    // Only the service escalates for that reason.
    given.push(case_followed(6, CaseStep::Reopened));
    Framework::with(services)
        .given(given)
        .when(cmd(
            branch(),
            GrievanceAction::EscalateGrievance {
                reason: EscalationReason::ObligationMissed,
                note: None,
            },
        ))
        .then_expect_error(GrievanceError::EscalationReasonNotAllowed {
            reason: EscalationReason::ObligationMissed,
            role: Role::PartyBranch,
        });
}

#[test]
fn a_failed_mediation_escalates_the_grievance_one_tier() {
    framework()
        .given(in_mediation())
        .when(follow_case(5, CaseStep::Failed { escalate: true }))
        .then_expect_events(vec![
            case_followed(5, CaseStep::Failed { escalate: true }),
            GrievanceEvent::GrievanceEscalated {
                from: Tier::Xiaoqu,
                to: Tier::Community,
                reason: EscalationReason::MediationFailed,
                note: None,
                at: t0(),
            },
            deadline(Stage::Resolve, t0() + TimeDelta::hours(72)),
        ]);
    framework()
        .given(up_to_responded())
        .when(follow_case(5, CaseStep::Failed { escalate: true }))
        .then_expect_error(GrievanceError::NotInCase { case: CASE });
}

#[test]
fn a_mediation_referred_out_ends_the_grievance_here() {
    let mut grievance = Grievance::default();
    for event in in_mediation() {
        grievance.apply(event);
    }
    grievance.apply(case_followed(5, CaseStep::Failed { escalate: false }));
    assert_eq!(grievance.status(), Some(Status::Referred));
    assert!(Status::Referred.is_final());
}

// --- what is offered ---

#[test]
fn each_person_is_offered_exactly_what_would_go_through() {
    let services = services_at(t0());
    let offered = |events: Vec<GrievanceEvent>, actor: Actor| {
        let mut grievance = Grievance::default();
        for event in events {
            grievance.apply(event);
        }
        grievance.offered_actions(actor, &services)
    };
    assert_eq!(
        offered(vec![filed()], branch()),
        ["accept", "reject", "attach"]
    );
    assert_eq!(offered(vec![filed()], filer()), ["withdraw", "attach"]);
    assert!(offered(vec![filed()], neighbour()).is_empty());
    assert_eq!(
        offered(vec![filed(), accepted(), triaged()], branch()),
        ["assign", "refer_to_meeting", "attach"]
    );
    let assigned_to_company = vec![filed(), accepted(), triaged(), assigned()];
    assert_eq!(
        offered(assigned_to_company.clone(), company()),
        ["respond", "attach"]
    );
    assert!(offered(assigned_to_company, committee()).is_empty());
    let mut resolved = up_to_resolved();
    assert_eq!(
        offered(resolved.clone(), filer()),
        ["rate", "reopen", "attach"]
    );
    // Rated satisfied: nothing is left to do, not even reopening.
    resolved.push(rated(Rating::Satisfied));
    assert!(offered(resolved, filer()).is_empty());
}
