use chrono::{DateTime, TimeDelta, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};

use crate::actor::require;
use crate::actor::{Actor, Role};
use crate::deadline::{Deadline, PausedDeadline, Stage};
use crate::services::GrievanceServices;
use crate::values::{
    AccountId, Attachment, EscalationReason, MatterClass, MeetingKind, PartyRole, Rating, Tier,
};

use super::commands::{
    CaseStep, FileGrievance, GrievanceAction, GrievanceCommand, MeetingStep, PrimaryOfMerge,
};
use super::error::GrievanceError;
use super::events::{GrievanceEvent, Timeliness};
pub use super::state::{
    Duplicate, GrievanceState, HeldAttachment, HouseholdRating, MediationLink, MeetingMark,
    MeetingReferral, Status,
};
use super::steps::{follow_case, follow_meeting, satisfies};
use super::upcast::upcast;

/// The Grievance aggregate. Before `GrievanceFiled` it holds nothing.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Grievance {
    pub(super) state: Option<GrievanceState>,
}

impl Grievance {
    pub fn state(&self) -> Option<&GrievanceState> {
        self.state.as_ref()
    }

    pub fn status(&self) -> Option<Status> {
        self.state.as_ref().map(|s| s.status)
    }

    /// Decides which events a command produces, without changing anything.
    pub fn decide(
        &self,
        command: GrievanceCommand,
        services: &GrievanceServices,
    ) -> Result<Vec<GrievanceEvent>, GrievanceError> {
        let GrievanceCommand { actor, action } = command;
        let now = services.clock.now();
        let name = action.name();
        let state = match (&self.state, action) {
            (None, GrievanceAction::FileGrievance(file)) => {
                return file_grievance(actor, file, now, services)
            }
            (Some(_), GrievanceAction::FileGrievance(_)) => {
                return Err(GrievanceError::AlreadyFiled)
            }
            (None, _) => return Err(GrievanceError::NotFiled),
            (Some(state), action) => (state, action),
        };
        let (state, action) = state;
        let refuse = || GrievanceError::InvalidTransition {
            action: name,
            status: state.status,
        };
        let event = match action {
            GrievanceAction::FileGrievance(_) => return Err(GrievanceError::AlreadyFiled),
            GrievanceAction::AcceptGrievance => {
                require_handler(state, actor, name)?;
                require(state.status == Status::Filed, refuse)?;
                GrievanceEvent::GrievanceAccepted {
                    at: now,
                    on_time: Some(accept_timeliness(state, now)),
                }
            }
            GrievanceAction::RejectGrievance { reason } => {
                require_handler(state, actor, name)?;
                require(state.status == Status::Filed, refuse)?;
                GrievanceEvent::GrievanceRejected {
                    reason,
                    at: now,
                    on_time: Some(accept_timeliness(state, now)),
                }
            }
            GrievanceAction::TriageGrievance {
                matter_class,
                tier,
                party,
            } => {
                require_handler(state, actor, name)?;
                require(state.status == Status::Accepted, refuse)?;
                // Unless the handler names one, the matter stays at its tier.
                let tier = tier.unwrap_or(state.tier);
                if tier < state.tier {
                    return Err(GrievanceError::TierBelowCurrent {
                        current: state.tier,
                        requested: tier,
                    });
                }
                let triaged = GrievanceEvent::GrievanceTriaged {
                    matter_class,
                    tier,
                    party,
                    at: now,
                };
                if matter_class != MatterClass::Major {
                    triaged
                } else {
                    // 大事紧急议: a major matter needs an urgent joint meeting
                    // within the urgent window, or it climbs a tier.
                    let due_at = state.due(services, Stage::Convene, now);
                    return Ok(vec![
                        triaged,
                        GrievanceEvent::MeetingRequested {
                            kind: MeetingKind::Urgent,
                            note: None,
                            due_at: Some(due_at),
                            at: now,
                        },
                        GrievanceEvent::DeadlineSet {
                            stage: Stage::Convene,
                            due_at,
                            at: now,
                        },
                    ]);
                }
            }
            GrievanceAction::AssignGrievance { party, note } => {
                require_handler(state, actor, name)?;
                require(
                    matches!(state.status, Status::Triaged | Status::Assigned),
                    refuse,
                )?;
                // Unless the handler names one, the party made responsible at
                // triage answers.
                let party = party
                    .or(state.responsible_party)
                    .unwrap_or(PartyRole::PartyBranch);
                GrievanceEvent::GrievanceAssigned {
                    party,
                    note,
                    at: now,
                }
            }
            GrievanceAction::RespondToGrievance { response } => {
                require(state.status == Status::Assigned, refuse)?;
                let party = state.assigned_party.ok_or_else(refuse)?;
                if actor.role.party() != Some(party) {
                    return Err(GrievanceError::NotTheAssignedParty);
                }
                GrievanceEvent::GrievanceResponded {
                    party,
                    response,
                    at: now,
                }
            }
            GrievanceAction::EscalateGrievance { reason, note } => {
                match reason {
                    EscalationReason::Manual => require_handler(state, actor, name)?,
                    EscalationReason::FilerRequest => require_filer(state, actor, name)?,
                    // Missed deadlines escalate through EscalateOnMissedDeadline,
                    // which names the deadline so that a repeat is a no-op.
                    EscalationReason::DeadlineMissed => {
                        return Err(GrievanceError::EscalationReasonNotAllowed {
                            reason,
                            role: actor.role,
                        });
                    }
                    EscalationReason::MediationFailed | EscalationReason::ObligationMissed => {
                        if actor.role != Role::System {
                            return Err(GrievanceError::EscalationReasonNotAllowed {
                                reason,
                                role: actor.role,
                            });
                        }
                    }
                }
                require(state.status.is_in_progress(), refuse)?;
                let to = state.tier.next().ok_or(GrievanceError::AlreadyAtTopTier)?;
                GrievanceEvent::GrievanceEscalated {
                    from: state.tier,
                    to,
                    reason,
                    note,
                    at: now,
                }
            }
            GrievanceAction::EscalateOnMissedDeadline { deadline } => {
                require_role(actor, Role::System, name)?;
                require(
                    state.status == Status::Filed || state.status.is_in_progress(),
                    refuse,
                )?;
                if state.deadline != Some(deadline) {
                    return Err(GrievanceError::DeadlineNotCurrent);
                }
                if now < deadline.due_at {
                    return Err(GrievanceError::DeadlineNotDue {
                        due_at: deadline.due_at,
                    });
                }
                let to = state.tier.next().ok_or(GrievanceError::AlreadyAtTopTier)?;
                GrievanceEvent::GrievanceEscalated {
                    from: state.tier,
                    to,
                    reason: EscalationReason::DeadlineMissed,
                    note: None,
                    at: now,
                }
            }
            GrievanceAction::PauseDeadline { reason } => {
                require_handler(state, actor, name)?;
                if state.paused.is_some() {
                    return Err(GrievanceError::AlreadyPaused);
                }
                let deadline = state.deadline.ok_or(GrievanceError::NoRunningDeadline)?;
                GrievanceEvent::DeadlinePaused {
                    stage: deadline.stage,
                    remaining_seconds: (deadline.due_at - now).num_seconds().max(0),
                    reason,
                    at: now,
                }
            }
            GrievanceAction::ResumeDeadline => {
                require_handler(state, actor, name)?;
                let paused = state.paused.ok_or(GrievanceError::NotPaused)?;
                GrievanceEvent::DeadlineSet {
                    stage: paused.stage,
                    due_at: now + TimeDelta::seconds(paused.remaining_seconds),
                    at: now,
                }
            }
            GrievanceAction::SetIdentityConsent {
                reveal_to_respondent,
            } => {
                require_filer(state, actor, name)?;
                if state.identity_revealed == reveal_to_respondent {
                    // Already so: nothing to record.
                    return Ok(Vec::new());
                }
                GrievanceEvent::IdentityConsentSet {
                    reveal_to_respondent,
                    at: now,
                }
            }
            GrievanceAction::WithdrawGrievance { reason } => {
                require_filer(state, actor, name)?;
                require(
                    state.status == Status::Filed || state.status.is_in_progress(),
                    refuse,
                )?;
                GrievanceEvent::GrievanceWithdrawn { reason, at: now }
            }
            GrievanceAction::ResolveGrievance { summary } => {
                require_handler(state, actor, name)?;
                require(state.status == Status::Responded, refuse)?;
                GrievanceEvent::GrievanceResolved { summary, at: now }
            }
            GrievanceAction::RateOutcome { rating, comment } => {
                if let Some(household) = household_of_duplicate(state, actor) {
                    // DOMAIN: each household whose filing was merged in rates
                    // the outcome as its own, once, within the reopen window.
                    require(
                        matches!(state.status, Status::Resolved | Status::Closed),
                        refuse,
                    )?;
                    let closed_at = window_end(state, services).ok_or_else(refuse)?;
                    if now > closed_at {
                        return Err(GrievanceError::RatingWindowClosed { closed_at });
                    }
                    if state
                        .household_ratings
                        .iter()
                        .any(|r| r.household == household)
                    {
                        return Err(GrievanceError::AlreadyRated);
                    }
                    GrievanceEvent::HouseholdRated {
                        household,
                        rating,
                        comment,
                        at: now,
                    }
                } else {
                    require_filer(state, actor, name)?;
                    require(state.status == Status::Resolved, refuse)?;
                    GrievanceEvent::OutcomeRated {
                        rating,
                        comment,
                        at: now,
                    }
                }
            }
            GrievanceAction::ReopenGrievance { reason } => {
                // DOMAIN: the filer, or any household whose filing was
                // merged in, may ask to reopen within the window, unless
                // that household itself rated the outcome satisfied.
                let own_rating = match household_of_duplicate(state, actor) {
                    Some(household) => state
                        .household_ratings
                        .iter()
                        .find(|r| r.household == household)
                        .map(|r| r.rating),
                    None => {
                        require_filer(state, actor, name)?;
                        state.rating
                    }
                };
                require(
                    matches!(state.status, Status::Resolved | Status::Closed),
                    refuse,
                )?;
                if own_rating == Some(Rating::Satisfied) {
                    return Err(GrievanceError::RatedSatisfied);
                }
                let closed_at = window_end(state, services).ok_or_else(refuse)?;
                if now > closed_at {
                    return Err(GrievanceError::ReopenWindowClosed { closed_at });
                }
                GrievanceEvent::GrievanceReopened { reason, at: now }
            }
            GrievanceAction::AddAttachments { attachments } => {
                return add_attachments(state, actor, attachments, now, refuse)
            }
            GrievanceAction::EraseAttachmentsOf { uploader } => {
                require(matches!(actor.role, Role::System | Role::Admin), || {
                    GrievanceError::RoleNotAllowed {
                        action: name,
                        role: actor.role,
                    }
                })?;
                let sha256: Vec<_> = state
                    .live_attachments()
                    .filter(|a| a.uploader(state) == uploader)
                    .map(|a| a.file.sha256.clone())
                    .collect();
                if sha256.is_empty() {
                    return Ok(Vec::new());
                }
                GrievanceEvent::AttachmentsErased {
                    uploader,
                    sha256,
                    at: now,
                }
            }
            GrievanceAction::MergeIntoPrimary { primary } => {
                require_handler(state, actor, name)?;
                require(
                    state.status == Status::Filed || state.status.is_in_progress(),
                    refuse,
                )?;
                check_primary(state, primary)?;
                GrievanceEvent::GrievanceMerged {
                    primary: primary.id,
                    at: now,
                }
            }
            GrievanceAction::ReferToMeeting { note } => {
                require_handler(state, actor, name)?;
                require(state.status.is_in_progress(), refuse)?;
                if state.meeting_referral.is_some() {
                    // Already waiting for a meeting.
                    return Ok(Vec::new());
                }
                GrievanceEvent::MeetingRequested {
                    kind: MeetingKind::Regular,
                    note,
                    due_at: None,
                    at: now,
                }
            }
            GrievanceAction::FollowCase {
                case,
                sequence,
                step,
            } => {
                require_role(actor, Role::System, name)?;
                return follow_case(state, services, now, case, sequence, step);
            }
            GrievanceAction::FollowMeeting {
                meeting,
                sequence,
                step,
            } => {
                require_role(actor, Role::System, name)?;
                return Ok(follow_meeting(
                    state, services, now, meeting, sequence, step,
                ));
            }
            GrievanceAction::LinkDuplicates { duplicates } => {
                require_handler(state, actor, name)?;
                require(!state.status.is_final(), refuse)?;
                let mut linked: Vec<GrievanceEvent> = Vec::new();
                for d in duplicates {
                    if d.duplicate == state.id {
                        return Err(GrievanceError::CannotMergeIntoItself);
                    }
                    if d.xiaoqu != state.xiaoqu {
                        return Err(GrievanceError::MergeAcrossXiaoqu);
                    }
                    let known = state.duplicates.iter().any(|l| l.grievance == d.duplicate)
                        || linked.iter().any(|e| {
                            matches!(e, GrievanceEvent::DuplicateLinked { duplicate, .. } if *duplicate == d.duplicate)
                        });
                    // Already linked: linking again is a no-op, so retries are safe.
                    if !known {
                        linked.push(GrievanceEvent::DuplicateLinked {
                            duplicate: d.duplicate,
                            filer: d.filer,
                            at: now,
                        });
                    }
                }
                return Ok(linked);
            }
        };
        // Starting a stage, or a new tier, starts a fresh clock.
        let next_stage = match &event {
            GrievanceEvent::GrievanceAccepted { .. } => Some(Stage::Respond),
            GrievanceEvent::GrievanceResponded { .. } => Some(Stage::Resolve),
            GrievanceEvent::GrievanceReopened { .. } => Some(Stage::Respond),
            GrievanceEvent::GrievanceEscalated { .. } => state.current_stage(),
            _ => None,
        };
        let mut events = vec![event];
        if let Some(stage) = next_stage {
            events.push(GrievanceEvent::DeadlineSet {
                stage,
                due_at: state.due(services, stage, now),
                at: now,
            });
        }
        Ok(events)
    }
}

/// Whether a duplicate may join `primary`: another grievance of its own
/// xiaoqu that still takes duplicates.
fn check_primary(state: &GrievanceState, primary: PrimaryOfMerge) -> Result<(), GrievanceError> {
    if primary.id == state.id {
        return Err(GrievanceError::CannotMergeIntoItself);
    }
    if primary.xiaoqu != state.xiaoqu {
        return Err(GrievanceError::MergeAcrossXiaoqu);
    }
    if primary.status.is_final() {
        return Err(GrievanceError::PrimaryTakesNoDuplicates {
            status: primary.status,
        });
    }
    Ok(())
}

/// Whether the accept stage, ending `now`, kept its deadline.
fn accept_timeliness(state: &GrievanceState, now: DateTime<Utc>) -> Timeliness {
    // A missed accept deadline stays missed, whoever accepts later.
    if state.accept_on_time == Some(false) {
        return Timeliness::Late;
    }
    match (state.deadline, state.paused) {
        (Some(d), _) if d.stage == Stage::Accept && now <= d.due_at => Timeliness::OnTime,
        (Some(d), _) if d.stage == Stage::Accept => Timeliness::Late,
        // The clock was stopped before it ran out.
        (_, Some(p)) if p.stage == Stage::Accept => Timeliness::OnTime,
        _ => Timeliness::Untimed,
    }
}

fn file_grievance(
    actor: Actor,
    file: FileGrievance,
    now: DateTime<Utc>,
    services: &GrievanceServices,
) -> Result<Vec<GrievanceEvent>, GrievanceError> {
    // Residents file for themselves; the supervisory committee may file on behalf of owners.
    if !FILING_ROLES.contains(&actor.role) {
        return Err(GrievanceError::RoleNotAllowed {
            action: "file",
            role: actor.role,
        });
    }
    let deadline = GrievanceEvent::DeadlineSet {
        stage: Stage::Accept,
        due_at: services.policy.deadlines.due(
            file.xiaoqu,
            file.category,
            file.urgency,
            Stage::Accept,
            now,
        ),
        at: now,
    };
    let filed = GrievanceEvent::GrievanceFiled {
        grievance_id: file.grievance_id,
        xiaoqu: file.xiaoqu,
        filer: actor.account,
        category: file.category,
        title: file.title,
        description: file.description,
        location: file.location,
        respondent: file.respondent,
        urgency: file.urgency,
        channel: file.channel,
        attachments: file.attachments,
        filed_at: now,
    };
    Ok(vec![filed, deadline])
}

/// DOMAIN: the filer, a household merged in, the handler at the current
/// tier and the party made responsible or assigned may attach files while
/// the grievance is open or awaits its rating; at most
/// [`Attachment::MAX_COUNT`] stay attached, each file once.
fn add_attachments(
    state: &GrievanceState,
    actor: Actor,
    attachments: Vec<Attachment>,
    now: DateTime<Utc>,
    refuse: impl FnOnce() -> GrievanceError,
) -> Result<Vec<GrievanceEvent>, GrievanceError> {
    let party = actor.role.party();
    let may = (actor.account == state.filer && FILING_ROLES.contains(&actor.role))
        || household_of_duplicate(state, actor).is_some()
        || actor.role == state.handler_role()
        || (party.is_some() && (party == state.responsible_party || party == state.assigned_party));
    require(may, || GrievanceError::RoleNotAllowed {
        action: "attach",
        role: actor.role,
    })?;
    require(
        matches!(state.status, Status::Filed | Status::Resolved) || state.status.is_in_progress(),
        refuse,
    )?;
    require(!attachments.is_empty(), || GrievanceError::NothingToAttach)?;
    for (i, a) in attachments.iter().enumerate() {
        let again = attachments[..i].iter().any(|b| b.sha256 == a.sha256)
            || state.live_attachments().any(|b| b.file.sha256 == a.sha256);
        require(!again, || GrievanceError::AlreadyAttached {
            sha256: a.sha256.as_str().to_owned(),
        })?;
    }
    let max = Attachment::MAX_COUNT;
    require(
        state.live_attachments().count() + attachments.len() <= max,
        || GrievanceError::TooManyAttachments { max },
    )?;
    Ok(vec![GrievanceEvent::AttachmentsAdded {
        attachments,
        by: actor.account,
        at: now,
    }])
}

fn require_role(actor: Actor, role: Role, action: &'static str) -> Result<(), GrievanceError> {
    require(actor.role == role, || GrievanceError::RoleNotAllowed {
        action,
        role: actor.role,
    })
}

fn require_filer(
    state: &GrievanceState,
    actor: Actor,
    action: &'static str,
) -> Result<(), GrievanceError> {
    // The filer acts as a filer: the same person acting in another role
    // (say, on the owners' committee) does not speak for the filing.
    require(
        actor.account == state.filer && FILING_ROLES.contains(&actor.role),
        || GrievanceError::NotTheFiler { action },
    )
}

/// The household `actor` speaks for as the filer of a duplicate merged into
/// this grievance, acting in a filing role; `None` for the primary's own
/// filer (who rates as the filer) and for anyone else.
fn household_of_duplicate(state: &GrievanceState, actor: Actor) -> Option<AccountId> {
    (actor.account != state.filer
        && FILING_ROLES.contains(&actor.role)
        && state.duplicates.iter().any(|d| d.filer == actor.account))
    .then_some(actor.account)
}

/// When the outcome can no longer be rated by a household or reopened:
/// the reopen window after the last resolution.
fn window_end(state: &GrievanceState, services: &GrievanceServices) -> Option<DateTime<Utc>> {
    state
        .resolved_at
        .map(|resolved_at| resolved_at + services.policy.reopen_window)
}

/// The roles that file: residents, and the supervisory committee on owners'
/// behalf.
const FILING_ROLES: [Role; 2] = [Role::Resident, Role::SupervisoryCommittee];

/// Whether `role` files grievances (and so follows its own): the rule
/// `decide` applies, for interfaces that offer filing only to those roles.
pub fn files_grievances(role: Role) -> bool {
    FILING_ROLES.contains(&role)
}

fn require_handler(
    state: &GrievanceState,
    actor: Actor,
    action: &'static str,
) -> Result<(), GrievanceError> {
    require(actor.role == state.handler_role(), || {
        GrievanceError::NotTheHandler { action }
    })
}

impl Aggregate for Grievance {
    /// Never changes once data exists: it is stored with every event.
    const TYPE: &'static str = "grievance";
    type Command = GrievanceCommand;
    type Event = GrievanceEvent;
    type Error = GrievanceError;
    type Services = GrievanceServices;

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
        let event = upcast(self.state.as_ref(), event);
        let at = event.at();
        let state = match (&mut self.state, event) {
            (
                None,
                GrievanceEvent::GrievanceFiled {
                    grievance_id,
                    xiaoqu,
                    filer,
                    category,
                    title,
                    description,
                    location,
                    respondent,
                    urgency,
                    channel,
                    attachments,
                    filed_at,
                },
            ) => {
                self.state = Some(GrievanceState {
                    id: grievance_id,
                    xiaoqu,
                    filer,
                    category,
                    title,
                    description,
                    location,
                    respondent,
                    urgency,
                    channel,
                    attachments: attachments
                        .into_iter()
                        .map(|file| HeldAttachment {
                            file,
                            by: Some(filer),
                            erased_at: None,
                        })
                        .collect(),
                    filed_at,
                    status: Status::Filed,
                    tier: Tier::Xiaoqu,
                    matter_class: None,
                    responsible_party: None,
                    assigned_party: None,
                    accepted_at: None,
                    responded_at: None,
                    resolved_at: None,
                    rating: None,
                    escalations: 0,
                    reopenings: 0,
                    merged_into: None,
                    duplicates: Vec::new(),
                    household_ratings: Vec::new(),
                    last_changed_at: filed_at,
                    deadline: None,
                    identity_revealed: false,
                    paused: None,
                    accept_on_time: None,
                    first_responded_at: None,
                    first_resolved_at: None,
                    mediation: None,
                    meeting_referral: None,
                    meetings: Vec::new(),
                });
                return;
            }
            // A stream is always opened by GrievanceFiled; anything else before it is ignored.
            (None, _) | (Some(_), GrievanceEvent::GrievanceFiled { .. }) => return,
            (Some(state), event) => {
                apply_to(state, event);
                state
            }
        };
        state.last_changed_at = at;
    }
}

fn apply_to(state: &mut GrievanceState, event: GrievanceEvent) {
    match event {
        GrievanceEvent::GrievanceFiled { .. } => {}
        GrievanceEvent::GrievanceAccepted { at, on_time } => {
            state.status = Status::Accepted;
            state.accepted_at = Some(at);
            state.accept_on_time = on_time.and_then(Timeliness::kept);
        }
        GrievanceEvent::GrievanceRejected { on_time, .. } => {
            state.status = Status::Rejected;
            state.accept_on_time = on_time.and_then(Timeliness::kept);
            stop_clock(state);
        }
        GrievanceEvent::GrievanceTriaged {
            matter_class,
            tier,
            party,
            ..
        } => {
            state.status = Status::Triaged;
            state.matter_class = Some(matter_class);
            state.tier = tier;
            state.responsible_party = Some(party);
        }
        GrievanceEvent::GrievanceAssigned { party, .. } => {
            state.status = Status::Assigned;
            state.assigned_party = Some(party);
        }
        GrievanceEvent::GrievanceResponded { at, .. } => {
            state.status = Status::Responded;
            state.responded_at = Some(at);
            state.first_responded_at.get_or_insert(at);
        }
        GrievanceEvent::GrievanceEscalated { to, reason, .. } => {
            if reason == EscalationReason::DeadlineMissed
                && state.current_stage() == Some(Stage::Accept)
            {
                state.accept_on_time = Some(false);
            }
            state.tier = to;
            state.escalations += 1;
        }
        GrievanceEvent::GrievanceWithdrawn { .. } => {
            state.status = Status::Withdrawn;
            stop_clock(state);
        }
        GrievanceEvent::GrievanceResolved { at, .. } => {
            state.status = Status::Resolved;
            state.resolved_at = Some(at);
            state.first_resolved_at.get_or_insert(at);
            stop_clock(state);
        }
        GrievanceEvent::OutcomeRated { rating, .. } => {
            state.status = Status::Closed;
            state.rating = Some(rating);
        }
        GrievanceEvent::HouseholdRated {
            household, rating, ..
        } => state
            .household_ratings
            .push(HouseholdRating { household, rating }),
        GrievanceEvent::AttachmentsAdded {
            attachments, by, ..
        } => state
            .attachments
            .extend(attachments.into_iter().map(|file| HeldAttachment {
                file,
                by: Some(by),
                erased_at: None,
            })),
        GrievanceEvent::AttachmentsErased {
            uploader,
            sha256,
            at,
        } => {
            let filer = state.filer;
            for held in &mut state.attachments {
                if held.by.unwrap_or(filer) == uploader && sha256.contains(&held.file.sha256) {
                    held.erased_at.get_or_insert(at);
                }
            }
        }
        GrievanceEvent::GrievanceReopened { .. } => {
            // Back to the assigned party, which must respond again; every
            // rating was of the outcome now reopened.
            state.status = Status::Assigned;
            state.reopenings += 1;
            state.rating = None;
            state.household_ratings.clear();
            state.resolved_at = None;
            state.responded_at = None;
        }
        GrievanceEvent::GrievanceMerged { primary, .. } => {
            state.status = Status::Merged;
            state.merged_into = Some(primary);
            stop_clock(state);
        }
        GrievanceEvent::DuplicateLinked {
            duplicate, filer, ..
        } => state.duplicates.push(Duplicate {
            grievance: duplicate,
            filer,
        }),
        GrievanceEvent::DeadlineSet { stage, due_at, .. } => {
            state.deadline = Some(Deadline { stage, due_at });
            state.paused = None;
            if stage == Stage::Convene {
                // A new urgent window (a new tier, or a meeting that fell through).
                if let Some(r) = state.meeting_referral.as_mut() {
                    r.due_at = Some(due_at);
                    r.meeting = None;
                }
            }
        }
        GrievanceEvent::DeadlinePaused {
            stage,
            remaining_seconds,
            at,
            ..
        } => {
            state.deadline = None;
            state.paused = Some(PausedDeadline {
                stage,
                remaining_seconds,
                since: at,
            });
        }
        GrievanceEvent::IdentityConsentSet {
            reveal_to_respondent,
            ..
        } => state.identity_revealed = reveal_to_respondent,
        GrievanceEvent::MeetingRequested {
            kind, due_at, at, ..
        } => {
            state.meeting_referral = Some(MeetingReferral {
                kind,
                since: at,
                due_at,
                meeting: None,
            })
        }
        GrievanceEvent::CaseFollowed {
            case,
            sequence,
            step,
            at,
        } => {
            state.mediation = Some(MediationLink { case, sequence });
            match step {
                CaseStep::Opened => state.status = Status::InMediation,
                CaseStep::Agreed { .. } => {
                    state.status = Status::Resolved;
                    state.resolved_at = Some(at);
                    state.first_resolved_at.get_or_insert(at);
                    stop_clock(state);
                }
                CaseStep::Reopened => {
                    state.status = Status::InMediation;
                    state.reopenings += 1;
                    state.rating = None;
                    state.resolved_at = None;
                }
                CaseStep::Failed { escalate: true } => state.status = Status::Triaged,
                CaseStep::Failed { escalate: false } => {
                    state.status = Status::Referred;
                    stop_clock(state);
                }
            }
        }
        GrievanceEvent::MeetingFollowed {
            meeting,
            sequence,
            step,
            ..
        } => {
            match state.meetings.iter_mut().find(|m| m.meeting == meeting) {
                Some(mark) => mark.sequence = sequence,
                None => state.meetings.push(MeetingMark { meeting, sequence }),
            }
            match step {
                MeetingStep::Convened { kind } => {
                    if let Some(r) = state.meeting_referral.as_mut() {
                        if r.meeting.is_none() && satisfies(kind, r.kind) {
                            r.meeting = Some(meeting);
                        }
                    }
                }
                MeetingStep::Decided { .. } => state.meeting_referral = None,
                MeetingStep::Deferred | MeetingStep::Cancelled => {
                    if let Some(r) = state.meeting_referral.as_mut() {
                        if r.meeting == Some(meeting) {
                            r.meeting = None;
                        }
                    }
                }
            }
        }
    }
}

/// The lifecycle reached a point where no deadline runs.
fn stop_clock(state: &mut GrievanceState) {
    state.deadline = None;
    state.paused = None;
}
