//! The meeting service's wire types: what the JSON API and the pages send
//! and get back.

use chrono::{DateTime, Utc};
use lianxi_domain::meeting::InviteeCapacity;
use lianxi_domain::values::{MeetingKind, PartyRole, Stance};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::app::dto::{PartyDto, TierDto};

/// One of the five parties of a xiaoqu that sit at its joint meetings
/// (五方联动): what a meeting accepts as present, as taking a position and
/// as owning an action item. The tiers above (community, street,
/// district) may chair a meeting but are never one of its parties.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = MeetingParty)]
pub enum MeetingPartyDto {
    PartyBranch,
    OwnersCommittee,
    SupervisoryCommittee,
    PropertyCompany,
    MicroOrganization,
}

impl MeetingPartyDto {
    /// Every meeting party, in the order of `PartyRole::MEETING_PARTIES`.
    pub const ALL: [MeetingPartyDto; 5] = [
        MeetingPartyDto::PartyBranch,
        MeetingPartyDto::OwnersCommittee,
        MeetingPartyDto::SupervisoryCommittee,
        MeetingPartyDto::PropertyCompany,
        MeetingPartyDto::MicroOrganization,
    ];
}

impl From<MeetingPartyDto> for PartyRole {
    fn from(p: MeetingPartyDto) -> Self {
        match p {
            MeetingPartyDto::PartyBranch => PartyRole::PartyBranch,
            MeetingPartyDto::OwnersCommittee => PartyRole::OwnersCommittee,
            MeetingPartyDto::SupervisoryCommittee => PartyRole::SupervisoryCommittee,
            MeetingPartyDto::PropertyCompany => PartyRole::PropertyCompany,
            MeetingPartyDto::MicroOrganization => PartyRole::MicroOrganization,
        }
    }
}

/// Regular (小事定期议) or urgent (大事紧急议).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MeetingKindDto {
    Regular,
    Urgent,
}

impl From<MeetingKindDto> for MeetingKind {
    fn from(k: MeetingKindDto) -> Self {
        match k {
            MeetingKindDto::Regular => MeetingKind::Regular,
            MeetingKindDto::Urgent => MeetingKind::Urgent,
        }
    }
}

impl From<MeetingKind> for MeetingKindDto {
    fn from(k: MeetingKind) -> Self {
        match k {
            MeetingKind::Regular => MeetingKindDto::Regular,
            MeetingKind::Urgent => MeetingKindDto::Urgent,
        }
    }
}

/// A party's position on a decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StanceDto {
    Agree,
    Object,
    Abstain,
}

impl From<StanceDto> for Stance {
    fn from(s: StanceDto) -> Self {
        match s {
            StanceDto::Agree => Stance::Agree,
            StanceDto::Object => Stance::Object,
            StanceDto::Abstain => Stance::Abstain,
        }
    }
}

impl From<Stance> for StanceDto {
    fn from(s: Stance) -> Self {
        match s {
            Stance::Agree => StanceDto::Agree,
            Stance::Object => StanceDto::Object,
            Stance::Abstain => StanceDto::Abstain,
        }
    }
}

/// Why a person is invited.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CapacityDto {
    Filer,
    BuildingHead,
    Other,
}

impl From<CapacityDto> for InviteeCapacity {
    fn from(c: CapacityDto) -> Self {
        match c {
            CapacityDto::Filer => InviteeCapacity::Filer,
            CapacityDto::BuildingHead => InviteeCapacity::BuildingHead,
            CapacityDto::Other => InviteeCapacity::Other,
        }
    }
}

impl From<InviteeCapacity> for CapacityDto {
    fn from(c: InviteeCapacity) -> Self {
        match c {
            InviteeCapacity::Filer => CapacityDto::Filer,
            InviteeCapacity::BuildingHead => CapacityDto::BuildingHead,
            InviteeCapacity::Other => CapacityDto::Other,
        }
    }
}

/// What an agenda item is about: a grievance, a mediation case, an earlier
/// meeting's action item, or another matter (`id` left out).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubjectDto {
    /// `grievance`, `mediation_case`, `action_item` or `other`.
    #[schema(example = "grievance")]
    pub kind: String,
    pub id: Option<Uuid>,
}

/// A person invited besides the five parties.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InviteeDto {
    /// An account id (a pseudonym in views for readers other than the party branch).
    pub account: String,
    pub capacity: CapacityDto,
}

/// An agenda item to add.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgendaItemRequest {
    pub subject: SubjectDto,
    /// 1–120 characters; shown in the public minutes.
    #[schema(example = "地下车库停车位分配")]
    pub title: String,
}

/// Convening a meeting of the caller's xiaoqu (party branch).
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "kind": "regular",
    "scheduled_for": "2026-12-05T19:00:00+08:00",
    "place": "小区党群服务站",
    "agenda": [{"subject": {"kind": "grievance", "id": "0193a0c2-0000-7000-8000-000000000001"}, "title": "地下车库停车位分配"}]
}))]
pub struct ConveneRequest {
    /// The xiaoqu whose parties meet: a community, street or district names
    /// one its unit covers (and chairs the meeting); the party branch may
    /// leave it out (its own). Its id or its registered name.
    pub xiaoqu: Option<String>,
    pub kind: MeetingKindDto,
    pub scheduled_for: DateTime<Utc>,
    /// 1–64 characters.
    pub place: String,
    #[serde(default)]
    pub invited_people: Vec<InviteeDto>,
    #[serde(default)]
    pub agenda: Vec<AgendaItemRequest>,
}

/// Opening the meeting: who is present. The quorum is checked here.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenRequest {
    /// The meeting parties present, each once.
    pub present_parties: Vec<MeetingPartyDto>,
    #[serde(default)]
    pub present_people: Vec<Uuid>,
}

/// One present party's position.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PositionDto {
    pub party: PartyDto,
    pub stance: StanceDto,
}

/// One present party's position, as a decision states it.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PositionRequest {
    pub party: MeetingPartyDto,
    pub stance: StanceDto,
}

/// An action item (督办事项) to assign.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionItemRequest {
    /// The meeting party that carries it out.
    pub owner: MeetingPartyDto,
    /// 1–4,000 characters.
    pub description: String,
    pub due_at: DateTime<Utc>,
}

/// The decision on one agenda item.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionRequest {
    /// What was discussed, 1–4,000 characters.
    pub summary: String,
    /// The decision (决议), 1–4,000 characters.
    pub decision: String,
    /// Exactly one per present party.
    pub positions: Vec<PositionRequest>,
    #[serde(default)]
    pub action_items: Vec<ActionItemRequest>,
    /// A closed owners' vote of the xiaoqu the decision rests on.
    #[serde(default)]
    pub vote: Option<Uuid>,
}

/// A stated reason.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MeetingReasonRequest {
    pub reason: String,
}

/// Closing the meeting publishes its minutes.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseRequest {
    /// A summary for the public minutes; write no personal data in it.
    pub public_summary: Option<String>,
}

/// Marking an action item done.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompletionRequest {
    pub note: Option<String>,
}

/// An agenda item and what became of it.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct AgendaItemView {
    pub id: Uuid,
    pub subject: SubjectDto,
    pub title: String,
    /// `pending`, `decided` or `deferred`.
    pub outcome: String,
    pub summary: Option<String>,
    pub decision: Option<String>,
    pub positions: Vec<PositionDto>,
    pub deferral_reason: Option<String>,
    /// The owners' vote the decision rests on.
    pub vote: Option<Uuid>,
}

/// An action item.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ActionItemView {
    pub id: Uuid,
    pub meeting: Uuid,
    pub item: Option<Uuid>,
    pub owner: PartyDto,
    pub description: String,
    pub due_at: DateTime<Utc>,
    pub done_at: Option<DateTime<Utc>>,
    /// Not done and past its due time.
    pub overdue: bool,
}

/// A joint meeting as its parties, tiers and auditors see it.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct MeetingView {
    pub id: Uuid,
    pub version: u64,
    pub xiaoqu: Uuid,
    pub kind: MeetingKindDto,
    /// `convened`, `open`, `closed` or `cancelled`.
    pub status: String,
    pub scheduled_for: DateTime<Utc>,
    pub place: String,
    pub invited_parties: Vec<PartyDto>,
    pub invited_people: Vec<InviteeDto>,
    /// The tier that convened and chairs it: `xiaoqu` (the party branch), or
    /// the community, street or district holding an escalated matter.
    pub chair: TierDto,
    /// The quorum: the xiaoqu's party branch present, plus this many of the
    /// other four parties, whoever chairs (a chairing tier counts as none of
    /// the five).
    pub quorum_others_required: u8,
    pub present_parties: Vec<PartyDto>,
    /// Account ids, pseudonymised for readers other than the party branch.
    pub present_people: Vec<String>,
    pub quorum_met: bool,
    pub agenda: Vec<AgendaItemView>,
    pub action_items: Vec<ActionItemView>,
    pub public_summary: Option<String>,
    pub convened_at: DateTime<Utc>,
    pub opened_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
    /// In the answer to a command: the feed position of the change; pass it
    /// as `min_position` to a list or the agenda to read your own write.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<String>,
}

/// The public minutes of a closed meeting: parties, items, decisions,
/// positions and action items; no person is named in them.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct PublicMinutes {
    pub meeting: Uuid,
    pub xiaoqu: Uuid,
    pub kind: MeetingKindDto,
    pub scheduled_for: DateTime<Utc>,
    pub place: String,
    pub present_parties: Vec<PartyDto>,
    pub items: Vec<PublicItem>,
    pub action_items: Vec<PublicActionItem>,
    pub public_summary: Option<String>,
    pub closed_at: Option<DateTime<Utc>>,
}

/// One item of the public minutes.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct PublicItem {
    /// `grievance`, `mediation_case`, `action_item` or `other`; no ids.
    pub subject: String,
    pub title: String,
    pub outcome: String,
    pub summary: Option<String>,
    pub decision: Option<String>,
    pub positions: Vec<PositionDto>,
}

/// An action item in the public minutes.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct PublicActionItem {
    pub owner: PartyDto,
    pub description: String,
    pub due_at: DateTime<Utc>,
    pub done_at: Option<DateTime<Utc>>,
}

/// A meeting in a list.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct MeetingSummary {
    pub id: Uuid,
    pub kind: MeetingKindDto,
    pub status: String,
    pub scheduled_for: DateTime<Utc>,
    pub place: String,
    pub items: usize,
    pub open_action_items: usize,
}

/// The meetings of a xiaoqu.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct MeetingList {
    pub items: Vec<MeetingSummary>,
    /// The next page's `cursor`; absent on the last page.
    pub next_cursor: Option<String>,
    /// How far into the event feed the list is.
    pub position: String,
    /// False when `min_position` was not reached within the wait.
    pub caught_up: bool,
}

/// `GET /meetings`: which xiaoqu (default: the caller's own), which
/// status, and the page.
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct MeetingQuery {
    /// A xiaoqu, by its id or its registered name.
    pub xiaoqu: Option<String>,
    /// `convened`, `open`, `closed` or `cancelled`.
    #[param(pattern = "^(convened|open|closed|cancelled)$")]
    pub status: Option<String>,
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    #[serde(default, deserialize_with = "crate::app::whole::optional")]
    pub limit: Option<u32>,
    /// From a previous page's `next_cursor`.
    pub cursor: Option<String>,
    /// Wait (up to 2 s) until the list reflects this position (from a
    /// command's answer).
    pub min_position: Option<String>,
}

/// `GET /xiaoqu/{id}/agenda`: how current the agenda must be.
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AgendaQuery {
    /// Wait (up to 2 s) until the agenda reflects this position (from a
    /// command's answer).
    pub min_position: Option<String>,
}

/// A grievance waiting for a joint meeting.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct AwaitingGrievance {
    pub grievance: Uuid,
    pub title: String,
    pub category: String,
    pub matter_class: Option<String>,
    pub tier: TierDto,
    pub since: DateTime<Utc>,
    /// Urgent matters: the meeting must be convened by then.
    pub due_at: Option<DateTime<Utc>>,
    pub overdue: bool,
    /// The convened meeting that has it on its agenda, if any.
    pub meeting: Option<Uuid>,
}

/// An obligation of a mediation agreement still owed, as the agenda lists it.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct OwedObligation {
    /// The mediation case.
    pub case: Uuid,
    /// What the case is about.
    pub matter: String,
    pub obligation: crate::app::cases::ObligationView,
    /// Its due date has passed (the scheduler marks it missed shortly).
    pub overdue: bool,
}

/// The proposed agenda of a xiaoqu: what the next regular meeting should
/// discuss, and the major matters that need an urgent meeting.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ProposedAgenda {
    pub xiaoqu: Uuid,
    /// Major matters (大事): an urgent meeting within the urgent window.
    pub urgent: Vec<AwaitingGrievance>,
    /// Minor matters awaiting collective discussion (小事定期议).
    pub regular: Vec<AwaitingGrievance>,
    /// Action items of earlier meetings not done yet, soonest due first.
    pub open_action_items: Vec<ActionItemView>,
    /// Obligations of mediation agreements still owed (a case reopened on
    /// a missed one keeps the others open), soonest due first.
    #[serde(default)]
    pub open_obligations: Vec<OwedObligation>,
    /// How far into the event feed the agenda is.
    pub position: String,
    /// False when `min_position` was not reached within the wait.
    pub caught_up: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_meeting_party_is_exactly_one_of_the_five() {
        let parties: Vec<PartyRole> = MeetingPartyDto::ALL.into_iter().map(Into::into).collect();
        assert_eq!(parties, PartyRole::MEETING_PARTIES);
        for party in MeetingPartyDto::ALL {
            let wire = serde_json::to_value(party).expect("JSON");
            let role: PartyRole = serde_json::from_value(wire).expect("a party");
            assert_eq!(role, PartyRole::from(party));
        }
        for tier in ["community", "street", "district"] {
            assert!(serde_json::from_value::<MeetingPartyDto>(tier.into()).is_err());
        }
    }
}
